/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ublkit check-config: read the provisioning policy and list its problems. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"
#include "ublkit/policy.h"

static const char usage_check_config[] =
	"Usage: ublkit check-config [PATH] [--json]\n"
	"\n"
	"Read the provisioning policy as ublkitd would and list every problem, one\n"
	"per line: FILE:LINE: [SECTION] KEY: what is wrong and what would be right.\n"
	"A policy with problems is never applied.\n"
	"\n"
	"Without PATH: the first of /etc/ublkit/ublkit.conf, /run/ublkit/ublkit.conf\n"
	"and /usr/lib/ublkit/ublkit.conf, then the drop-ins ublkit.conf.d/*.conf of\n"
	"all three directories (under --sysroot when given). With PATH: that file and\n"
	"the drop-ins in PATH.d/; '-' reads standard input. See ublkit.conf(5).\n"
	"\n"
	"  -j, --json     machine-readable output\n"
	"  -h, --help     this help\n"
	"\n"
	"Exit status: 0 no problems, 1 problems (or a file that cannot be read),\n"
	"2 usage.\n";

/* ---- helpers the policy commands share ------------------------------------ */

/* Policies are small: a larger input is the library's problem to report. */
#define STDIN_MAX (2u << 20)

static int policy_load_stdin(struct tool *t, struct ublkit_policy **ret)
{
	char *buf = malloc(STDIN_MAX);
	size_t n = 0;
	ssize_t k;
	int r;

	if (!buf)
		return -ENOMEM;
	while (n < STDIN_MAX) {
		k = read(STDIN_FILENO, buf + n, STDIN_MAX - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = k < 0 ? -errno : 0;
			if (r < 0) {
				free(buf);
				return r;
			}
			break;
		}
		n += (size_t)k;
	}
	r = ublkit_policy_load_buffer(t->ctx, "-", buf, n, 0, ret);
	free(buf);
	return r;
}

int tool_policy_load(struct tool *t, const char *path, struct ublkit_policy **ret)
{
	int r;

	if (path && strcmp(path, "-") == 0)
		r = policy_load_stdin(t, ret);
	else
		r = ublkit_policy_load(t->ctx, path, 0, ret);
	if (r < 0)
		return tool_fail(r, "cannot read the policy%s%s", path ? " " : "", path ? tool_shown(path) : "");
	return EXIT_OK;
}

void tool_policy_print_problem(FILE *f, const struct ublkit_policy_problem *pr)
{
	if (pr->file && pr->line)
		fprintf(f, "%s:%u: ", pr->file, pr->line);
	else if (pr->file)
		fprintf(f, "%s: ", pr->file);
	if (pr->section)
		fprintf(f, "[%s] ", pr->section);
	if (pr->key)
		fprintf(f, "%s: ", pr->key);
	fprintf(f, "%s\n", pr->message);
}

void tool_policy_json_problems(const struct ublkit_policy *p)
{
	json_begin_array("problems");
	for (size_t i = 0; i < ublkit_policy_get_problem_count(p); i++) {
		const struct ublkit_policy_problem *pr = ublkit_policy_get_problem(p, i);

		json_begin_object(NULL);
		json_string("file", pr->file);
		if (pr->line)
			json_uint("line", pr->line);
		else
			json_null("line");
		json_string("section", pr->section);
		json_string("key", pr->key);
		json_string("message", pr->message);
		json_end_object();
	}
	json_end_array();
}

static void json_files(const struct ublkit_policy *p)
{
	json_begin_array("files");
	for (size_t i = 0; i < ublkit_policy_get_file_count(p); i++)
		json_string(NULL, ublkit_policy_get_file(p, i));
	json_end_array();
}

static void json_rules(const struct ublkit_policy *p)
{
	json_begin_array("rules");
	for (size_t i = 0; i < ublkit_policy_get_rule_count(p); i++) {
		const struct ublkit_policy_rule *r = ublkit_policy_get_rule(p, i);

		json_begin_object(NULL);
		json_string("name", ublkit_policy_rule_get_name(r));
		json_string("create", ublkit_policy_create_name(ublkit_policy_rule_get_create(r)));
		json_string("file", ublkit_policy_rule_get_file(r));
		json_uint("line", ublkit_policy_rule_get_line(r));
		json_end_object();
	}
	json_end_array();
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* ---- check-config ------------------------------------------------------------ */

static void check_config_text(const struct ublkit_policy *p)
{
	size_t files = ublkit_policy_get_file_count(p), rules = ublkit_policy_get_rule_count(p);
	size_t problems = ublkit_policy_get_problem_count(p);

	for (size_t i = 0; i < problems; i++)
		tool_policy_print_problem(stdout, ublkit_policy_get_problem(p, i));
	if (problems)
		fprintf(stderr, "ublkit: %zu %s; the policy is not applied until they are fixed\n",
			problems, plural(problems, "problem", "problems"));
	else
		printf("%zu %s, %zu %s, no problems\n", files, plural(files, "file", "files"), rules,
		       plural(rules, "rule", "rules"));
}

static void check_config_json(const struct ublkit_policy *p)
{
	json_begin_object(NULL);
	json_bool("ok", ublkit_policy_get_problem_count(p) == 0);
	json_files(p);
	json_rules(p);
	tool_policy_json_problems(p);
	json_end_object();
	json_finish();
}

int cmd_check_config(struct tool *t, int argc, char **argv)
{
	struct ublkit_policy *p = NULL;
	const char *path = NULL;
	int r;

	r = tool_parse_common(t, argc, argv, usage_check_config);
	if (r >= 0)
		return r;
	if (argc - optind > 1)
		return tool_usage(t, "check-config takes at most one PATH, not '%s'", argv[optind + 1]);
	if (optind < argc)
		path = argv[optind];
	if (path && !*path)
		return tool_usage(t, "the PATH is empty; give a policy file, '-' for standard input, "
				  "or no PATH for the installed policy");
	r = tool_policy_load(t, path, &p);
	if (r != EXIT_OK)
		return r;
	if (t->json)
		check_config_json(p);
	else
		check_config_text(p);
	r = ublkit_policy_get_problem_count(p) ? EXIT_FAIL : EXIT_OK;
	ublkit_policy_unref(p);
	return r;
}
