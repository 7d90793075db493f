/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ublkit apply, down, status: the provisioning policy put into effect. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "ublkit/nvme.h"
#include "ublkit/policy.h"

static const char apply_usage[] =
	"Usage: ublkit apply [--dry-run] [--force] [--config PATH] [--json] [NAMESPACE]\n"
	"\n"
	"Apply the provisioning policy (/etc/ublkit/ublkit.conf and its drop-ins)\n"
	"to every NVMe namespace present, or to NAMESPACE alone (nvme0n1,\n"
	"/dev/nvme0n1, a /dev/disk/by-id link or its identity): make what the\n"
	"rule that claims it says (ublk, ublk-swap, dm-linear, dm-striped,\n"
	"dm-crypt-swap, dm-thin-pool), once. What is there already is left as\n"
	"it is; a second run changes nothing. A stack that fails halfway is\n"
	"undone; the others are still made.\n"
	"\n"
	"A namespace that holds data (a file system, partitions, any signature)\n"
	"is never taken unless [Global] AllowTakingData=yes and --force is given.\n"
	"'ublkit=0' on the kernel command line ('rd.ublkit=0' in the initramfs,\n"
	"where /etc/initrd-release exists) turns apply into a no-op: it is asked\n"
	"first, before the policy is read or the namespaces are looked at.\n"
	"Applies and downs that run at once take turns (/run/ublkit/policy.lock):\n"
	"one waits up to 90 s for the other, then fails.\n"
	"\n"
	"  -n, --dry-run        print the plan, change nothing\n"
	"  -f, --force          take namespaces with data (needs AllowTakingData=yes)\n"
	"  -c, --config PATH    read PATH (and PATH.d/) instead of the system's files\n"
	"\n"
	"Exit status: 0 every claimed namespace is in place or waits for its striped\n"
	"set (or nothing to do, or switched off); 4 partial: something was refused\n"
	"(data, in use, broken), in conflict or failed while other instances are in\n"
	"place; 1 something was refused, in conflict or failed and no instance is\n"
	"in place, or nothing could be done (the policy has problems, another apply\n"
	"held the lock); 2 usage error. A dry run exits as the apply would if\n"
	"every step it plans succeeded.\n";

static const char down_usage[] =
	"Usage: ublkit down [--json] NAME\n"
	"       ublkit down [--json] --all\n"
	"\n"
	"Take down what 'ublkit apply' made for instance NAME (or for all), in\n"
	"reverse order: swapoff first, then dm devices, then the ublk device,\n"
	"then its run state under /run/ublkit/policy. A swapoff that memory\n"
	"cannot take back, or any other step that fails, stops that instance's\n"
	"teardown; every other instance still goes down.\n"
	"\n"
	"  -a, --all            every instance\n"
	"\n"
	"Instances go down the last made first. The kernel command line switch\n"
	"(ublkit=0) does not stop down.\n"
	"\n"
	"Exit status: 0 all down, 1 failure or no such instance, 2 usage error,\n"
	"4 partial failure (some instances went down, others did not).\n";

static const char status_usage[] =
	"Usage: ublkit status [--config PATH] [--json]\n"
	"\n"
	"Whether the kernel command line switched ublkit off (rd.ublkit=0 counts\n"
	"in the initramfs), the policy's rules and the namespaces each claims,\n"
	"what apply would do with each, and every instance apply made: what sits\n"
	"on which namespace (ublk device, dm devices, swap) and its health (server\n"
	"alive, hardening held, swap active, dm state).\n"
	"\n"
	"  -c, --config PATH    read PATH (and PATH.d/) instead of the system's files\n"
	"\n"
	"Exit status: 0 every instance is healthy, 1 one is not, or the run state\n"
	"or the policy cannot be read, 2 usage error.\n";

/* ---- the policy ------------------------------------------------------------ */

static void print_problems(const struct ublkit_policy *p)
{
	for (size_t i = 0; i < ublkit_policy_get_problem_count(p); i++)
		tool_policy_print_problem(stderr, ublkit_policy_get_problem(p, i));
}

/* The policy without problems, or an exit code (its problems printed). */
static int load_policy(struct tool *t, const char *path, struct ublkit_policy **ret)
{
	struct ublkit_policy *p = NULL;
	int r;

	r = ublkit_policy_load(t->ctx, path, 0, &p);
	if (r < 0)
		return tool_fail(r, "cannot read the policy%s%s", path ? " " : "", path ? path : "");
	if (ublkit_policy_get_problem_count(p) > 0) {
		print_problems(p);
		tool_error("the policy has %zu problem%s (see above): nothing was applied",
			   ublkit_policy_get_problem_count(p),
			   ublkit_policy_get_problem_count(p) == 1 ? "" : "s");
		ublkit_policy_unref(p);
		return EXIT_FAIL;
	}
	*ret = p;
	return -1;
}

/* ---- apply ------------------------------------------------------------------ */

struct apply_ctx {
	struct tool *t;
	unsigned int done, failed;	/* results of steps carried out */
	unsigned int present, refused;	/* the plan: in place, refused or in conflict */
};

static void json_step(const struct ublkit_plan_step_info *s)
{
	json_string("action", ublkit_plan_action_name(s->action));
	if (s->ns)
		json_string("namespace", s->ns);
	else
		json_null("namespace");
	if (s->identity)
		json_string("identity", s->identity);
	if (s->rule)
		json_string("rule", s->rule);
	if (s->instance)
		json_string("instance", s->instance);
	if (s->rule)
		json_string("create", ublkit_policy_create_name(s->create));
	json_string("plan", s->text);
}

static void on_result(const struct ublkit_plan_step_info *s, int err, const char *text,
		      void *userdata)
{
	struct apply_ctx *a = userdata;

	if (err < 0)
		a->failed++;
	else
		a->done++;
	if (a->t->json) {
		json_begin_object(NULL);
		json_step(s);
		json_bool("ok", err >= 0);
		json_string("result", text);
		json_end_object();
		return;
	}
	if (err < 0)
		printf("%s: FAILED: %s\n", s->text, text);
	else
		printf("%s: done: %s\n", s->text, text);
	fflush(stdout);
}

/* Steps that are not carried out are reported in the plan's words. */
static unsigned int print_plan(struct tool *t, const struct ublkit_plan *plan, bool all)
{
	struct ublkit_plan_step_info s;
	unsigned int creates = 0;

	for (size_t i = 0; ublkit_plan_get_step(plan, i, &s) == 0; i++) {
		bool create = s.action == UBLKIT_PLAN_CREATE;

		creates += create && (s.ns == NULL || s.create != UBLKIT_POLICY_DM_STRIPED);
		if (create && !all)
			continue;
		if (t->json) {
			json_begin_object(NULL);
			json_step(&s);
			json_end_object();
		} else {
			printf("%s\n", s.text);
		}
	}
	return creates;
}

static int parse_apply(struct tool *t, int argc, char **argv, bool *dry, unsigned int *flags,
		       const char **config, const char **only)
{
	static const struct option opts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{},
	};
	int c, r;

	t->usage = apply_usage;
	while ((c = tool_getopt(t, argc, argv, "hjnfc:", opts)) != -1) {
		switch (c) {
		case 'n': *dry = true; break;
		case 'f': *flags |= UBLKIT_PLAN_FORCE; break;
		case 'c':
			if (!*optarg)
				return tool_usage(t, "--config needs a path, not ''");
			*config = optarg;
			break;
		default:
			r = tool_common_option(t, c == 'j' ? 'J' : c, apply_usage);
			if (r >= 0)
				return r;
		}
	}
	if (argc - optind > 1)
		return tool_usage(t, "apply takes at most one namespace, not '%s'",
				  tool_shown(argv[optind + 1]));
	*only = optind < argc ? argv[optind] : NULL;
	if (*only && !**only)
		return tool_usage(t, "a namespace is a name, not ''");
	return -1;
}

/* Under --json, stdout stays JSON whatever happens: an empty list of steps. */
static void json_no_steps(const struct tool *t)
{
	if (!t->json)
		return;
	json_begin_array(NULL);
	json_end_array();
	json_finish();
}

static int switched_off(struct tool *t)
{
	static const char msg[] = "ublkit is switched off on the kernel command line "
				  "(ublkit=0 or rd.ublkit=0): nothing applied";

	if (t->json) {
		json_no_steps(t);
		fprintf(stderr, "ublkit: %s\n", msg);
	} else {
		printf("%s\n", msg);
	}
	return EXIT_OK;
}

static int plan_error(struct tool *t, int r, const char *only)
{
	if (r == -ECANCELED)
		return switched_off(t);	/* switched off since the first look */
	json_no_steps(t);
	switch (r) {
	case -ETIMEDOUT:
		tool_error("another ublkit apply or down is still running: nothing was applied");
		return EXIT_FAIL;
	case -ENODEV:
		tool_error("%s is no NVMe namespace (see 'ublkit nvme list')", tool_shown(only));
		return EXIT_FAIL;
	default:
		return tool_fail(r, "cannot make a plan");
	}
}

/*
 * 0 nothing went wrong; 4 something was refused, in conflict or failed
 * while some instance is in place; 1 the same with none in place.
 */
static int apply_exit(const struct apply_ctx *a)
{
	if (!a->failed && !a->refused)
		return EXIT_OK;
	return a->done || a->present ? EXIT_PARTIAL : EXIT_FAIL;
}

/* The plan's steps that are no failure of a step carried out; per instance. */
static void count_plan(const struct ublkit_plan *plan, struct apply_ctx *a, bool dry)
{
	struct ublkit_plan_step_info s;

	for (size_t i = 0; ublkit_plan_get_step(plan, i, &s) == 0; i++) {
		/* a striped set's member says what its instance's step says */
		if (s.ns && s.create == UBLKIT_POLICY_DM_STRIPED &&
		    s.action != UBLKIT_PLAN_CONFLICT)
			continue;
		if (s.action == UBLKIT_PLAN_PRESENT || (dry && s.action == UBLKIT_PLAN_CREATE))
			a->present++;
		else if (s.action == UBLKIT_PLAN_REFUSE || s.action == UBLKIT_PLAN_CONFLICT)
			a->refused++;
	}
}

int cmd_apply(struct tool *t, int argc, char **argv)
{
	struct ublkit_policy *p = NULL;
	struct ublkit_nvme *nvme = NULL;
	struct ublkit_plan *plan = NULL;
	struct apply_ctx a = { .t = t };
	const char *config = NULL, *only = NULL;
	unsigned int flags = 0, creates;
	bool dry = false;
	int r;

	r = parse_apply(t, argc, argv, &dry, &flags, &config, &only);
	if (r >= 0)
		return r;
	/* the escape hatch works whatever the policy or the hardware */
	r = ublkit_policy_switched_off(t->ctx);
	if (r > 0)
		return switched_off(t);
	if (r < 0) {
		json_no_steps(t);
		return tool_fail(r, "cannot read the kernel command line");
	}
	r = load_policy(t, config, &p);
	if (r >= 0) {
		json_no_steps(t);
		return r;
	}
	tool_show_library_errors(t);
	r = ublkit_nvme_scan(t->ctx, 0, &nvme);
	if (r < 0) {
		ublkit_policy_unref(p);
		json_no_steps(t);
		return tool_fail(r, "cannot scan NVMe namespaces");
	}
	r = ublkit_plan_new(t->ctx, p, nvme, only, flags, &plan);
	ublkit_nvme_unref(nvme);
	ublkit_policy_unref(p);
	if (r < 0)
		return plan_error(t, r, only);
	if (t->json)
		json_begin_array(NULL);
	creates = print_plan(t, plan, dry);
	count_plan(plan, &a, dry);
	if (!dry && creates)
		ublkit_plan_execute(plan, flags, on_result, &a);
	if (t->json) {
		json_end_array();
		json_finish();
	} else if (dry) {
		printf("dry run: %s\n", creates ? "nothing was changed" : "nothing to do");
	} else if (!creates) {
		printf("nothing to do: nothing was changed\n");
	} else {
		printf("%u made, %u failed\n", a.done, a.failed);
	}
	ublkit_plan_unref(plan);
	return apply_exit(&a);
}

/* ---- down ------------------------------------------------------------------- */

static void on_down(const struct ublkit_plan_step_info *s, int err, const char *text,
		    void *userdata)
{
	struct apply_ctx *a = userdata;

	if (err < 0)
		a->failed++;
	else
		a->done++;
	if (a->t->json) {
		json_begin_object(NULL);
		json_string("instance", s->instance);
		json_string("rule", s->rule);
		json_string("create", ublkit_policy_create_name(s->create));
		json_bool("ok", err >= 0);
		json_string("result", text);
		json_end_object();
		return;
	}
	printf("%s: %s%s\n", s->text, err < 0 ? "FAILED: " : "", text);
	fflush(stdout);
}

int cmd_down(struct tool *t, int argc, char **argv)
{
	static const struct option opts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "all", no_argument, NULL, 'a' },
		{},
	};
	struct apply_ctx a = { .t = t };
	bool all = false;
	const char *name;
	int c, r;

	t->usage = down_usage;
	while ((c = tool_getopt(t, argc, argv, "hja", opts)) != -1) {
		if (c == 'a') {
			all = true;
			continue;
		}
		r = tool_common_option(t, c == 'j' ? 'J' : c, down_usage);
		if (r >= 0)
			return r;
	}
	if (all == (optind < argc) || argc - optind > 1)
		return tool_usage(t, "give one instance name or --all (see 'ublkit status')");
	name = all ? NULL : argv[optind];
	if (name) {
		r = tool_check_arg(t, ublkit_policy_instance_name_check, name);
		if (r >= 0)
			return r;
	}
	tool_show_library_errors(t);
	if (t->json)
		json_begin_array(NULL);
	r = ublkit_policy_down(t->ctx, name, 0, on_down, &a);
	if (t->json) {
		json_end_array();
		json_finish();
	}
	if (r == -ENOENT) {
		tool_error("there is no instance %s (see 'ublkit status')", name);
		return EXIT_FAIL;
	}
	if (r == -ETIMEDOUT) {
		tool_error("another ublkit apply or down is still running: nothing was taken down");
		return EXIT_FAIL;
	}
	if (r < 0 && r != -EREMOTEIO)
		return tool_fail(r, "down");
	if (!t->json && !a.done && !a.failed)
		printf("nothing to take down\n");
	return apply_exit(&a);
}

/* ---- status ----------------------------------------------------------------- */

static void status_rules_text(const struct ublkit_policy *p, const struct ublkit_plan *plan)
{
	struct ublkit_plan_step_info s;

	printf("Rules:\n");
	if (ublkit_policy_get_rule_count(p) == 0)
		printf("  (none)\n");
	for (size_t i = 0; i < ublkit_policy_get_rule_count(p); i++) {
		const struct ublkit_policy_rule *r = ublkit_policy_get_rule(p, i);
		const char *name = ublkit_policy_rule_get_name(r);
		bool any = false;

		printf("  %-16s %-14s", name,
		       ublkit_policy_create_name(ublkit_policy_rule_get_create(r)));
		for (size_t k = 0; plan && ublkit_plan_get_step(plan, k, &s) == 0; k++)
			if (s.ns && s.rule && strcmp(s.rule, name) == 0) {
				printf("%s%s", any ? " " : " claims ", s.ns);
				any = true;
			}
		printf("%s\n", any ? "" : " claims no namespace");
	}
	printf("\nNamespaces:\n");
	for (size_t k = 0; plan && ublkit_plan_get_step(plan, k, &s) == 0; k++)
		printf("  %-8s %s\n", ublkit_plan_action_name(s.action), s.text);
}

static void status_rules_json(const struct ublkit_policy *p, const struct ublkit_plan *plan)
{
	struct ublkit_plan_step_info s;

	json_begin_array("rules");
	for (size_t i = 0; i < ublkit_policy_get_rule_count(p); i++) {
		const struct ublkit_policy_rule *r = ublkit_policy_get_rule(p, i);
		const char *name = ublkit_policy_rule_get_name(r);

		json_begin_object(NULL);
		json_string("name", name);
		json_string("create", ublkit_policy_create_name(ublkit_policy_rule_get_create(r)));
		json_begin_array("namespaces");
		for (size_t k = 0; plan && ublkit_plan_get_step(plan, k, &s) == 0; k++)
			if (s.ns && s.rule && strcmp(s.rule, name) == 0)
				json_string(NULL, s.ns);
		json_end_array();
		json_end_object();
	}
	json_end_array();
	json_begin_array("plan");
	for (size_t k = 0; plan && ublkit_plan_get_step(plan, k, &s) == 0; k++) {
		json_begin_object(NULL);
		json_step(&s);
		json_end_object();
	}
	json_end_array();
}

static void instance_json(const struct ublkit_policy_status *st, size_t i,
			  const struct ublkit_instance_status *s)
{
	const char *dev, *id;

	json_begin_object(NULL);
	json_string("name", s->name);
	json_string("rule", s->rule);
	json_string("create", ublkit_policy_create_name(s->create));
	json_begin_array("namespaces");
	for (size_t j = 0; (dev = ublkit_policy_status_get_member(st, i, j, &id)); j++) {
		json_begin_object(NULL);
		json_string("device", dev);
		json_string("identity", id);
		json_end_object();
	}
	json_end_array();
	if (s->device)
		json_string("device", s->device);
	if (s->ublk_id >= 0) {
		json_int("ublk_id", s->ublk_id);
		json_int("server_pid", s->server_pid);
		json_bool("server_alive", s->server_alive > 0);
	}
	if (s->hardening >= 0)
		json_bool("hardening_held", s->hardening > 0);
	if (s->swap) {
		json_string("swap", s->swap);
		json_bool("swap_active", s->swap_active > 0);
		json_uint("swap_size", s->swap_size);
		json_uint("swap_used", s->swap_used);
	}
	if (s->dm_devices[0]) {
		json_string("dm_devices", s->dm_devices);
		json_string("dm_state", s->dm_state);
	}
	json_bool("healthy", s->healthy);
	if (s->problem)
		json_string("problem", s->problem);
	json_end_object();
}

static void instance_text(const struct ublkit_policy_status *st, size_t i,
			  const struct ublkit_instance_status *s)
{
	char a[32], b[32];
	const char *dev;

	printf("  %s (rule %s, %s): %s\n", s->name, s->rule, ublkit_policy_create_name(s->create),
	       s->healthy ? "healthy" : s->problem);
	printf("    on:");
	for (size_t j = 0; (dev = ublkit_policy_status_get_member(st, i, j, NULL)); j++)
		printf(" %s", dev);
	printf("\n");
	if (s->ublk_id >= 0)
		printf("    ublk%d %s, server %d %s%s\n", s->ublk_id, s->device ? s->device : "",
		       s->server_pid, s->server_alive > 0 ? "alive" : "gone",
		       s->hardening < 0 ? "" : s->hardening ? ", hardening held"
							       : ", hardening NOT held");
	if (s->dm_devices[0])
		printf("    dm %s: %s\n", s->dm_devices, s->dm_state);
	if (s->swap)
		printf("    swap %s: %s\n", s->swap,
		       s->swap_active > 0 ? "active" : "not active");
	if (s->swap_active > 0)
		printf("      %s used of %s\n", tool_format_size(s->swap_used, a, sizeof(a)),
		       tool_format_size(s->swap_size, b, sizeof(b)));
}

static int show_instances(struct tool *t, const struct ublkit_policy_status *st)
{
	struct ublkit_instance_status s;
	int rc = EXIT_OK;

	if (t->json)
		json_begin_array("instances");
	else
		printf("\nInstances:\n%s", ublkit_policy_status_get_count(st) ? "" : "  (none)\n");
	for (size_t i = 0; i < ublkit_policy_status_get_count(st); i++) {
		ublkit_instance_status_init(&s);
		if (ublkit_policy_status_get(st, i, &s) < 0)
			continue;
		if (!s.healthy)
			rc = EXIT_FAIL;
		if (t->json)
			instance_json(st, i, &s);
		else
			instance_text(st, i, &s);
	}
	if (t->json)
		json_end_array();
	return rc;
}

int cmd_status(struct tool *t, int argc, char **argv)
{
	static const struct option opts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "config", required_argument, NULL, 'c' },
		{},
	};
	struct ublkit_policy *p = NULL;
	struct ublkit_nvme *nvme = NULL;
	struct ublkit_plan *plan = NULL;
	struct ublkit_policy_status *st = NULL;
	const char *config = NULL;
	int c, r, off, rc;

	t->usage = status_usage;
	while ((c = tool_getopt(t, argc, argv, "hjc:", opts)) != -1) {
		if (c == 'c') {
			if (!*optarg)
				return tool_usage(t, "--config needs a path, not ''");
			config = optarg;
			continue;
		}
		r = tool_common_option(t, c == 'j' ? 'J' : c, status_usage);
		if (r >= 0)
			return r;
	}
	r = tool_no_args(t, argc, argv);
	if (r >= 0)
		return r;
	r = ublkit_policy_load(t->ctx, config, 0, &p);
	if (r < 0)
		return tool_fail(r, "cannot read the policy%s%s", config ? " " : "",
				 config ? config : "");
	r = ublkit_policy_status_new(t->ctx, 0, &st);
	if (r < 0) {
		ublkit_policy_unref(p);
		return tool_fail(r, "cannot read the run state under /run/ublkit/policy");
	}
	off = ublkit_policy_switched_off(t->ctx);
	if (ublkit_policy_get_problem_count(p) == 0 && ublkit_nvme_scan(t->ctx, 0, &nvme) >= 0)
		ublkit_plan_new(t->ctx, p, nvme, NULL, UBLKIT_PLAN_IGNORE_CMDLINE, &plan);
	if (t->json) {
		json_begin_object(NULL);
		json_bool("disabled_by_cmdline", off > 0);
		json_bool("policy_ok", p && ublkit_policy_get_problem_count(p) == 0);
		if (p)
			status_rules_json(p, plan);
	} else {
		printf("Switch: %s\n", off > 0 ? "off on the kernel command line (ublkit=0 or, "
					       "in the initramfs, rd.ublkit=0): apply does nothing"
					     : "on");
		if (p && ublkit_policy_get_problem_count(p) > 0)
			printf("The policy has problems: see 'ublkit check-config'\n");
		else if (p)
			status_rules_text(p, plan);
	}
	rc = show_instances(t, st);
	if (t->json) {
		json_end_object();
		json_finish();
	}
	ublkit_plan_unref(plan);
	ublkit_nvme_unref(nvme);
	ublkit_policy_unref(p);
	ublkit_policy_status_unref(st);
	return rc;
}
