/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy: which files are read (precedence, drop-ins, masks), the INI
 * reader against malformed and hostile text, every problem with its file
 * and line, the getters, matching against captured NVMe namespaces and
 * their health, and the kernel command line switch.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "fake-nvme.h"
#include "ublkit/nvme.h"
#include "ublkit/policy.h"
#include "ublkit/swap.h"
#include "ublkit-private.h"
#include "policy-private.h"
#include "nvme-private.h"

static struct ublkit_policy *load(const char *text)
{
	struct ublkit_ctx *ctx = test_ctx();
	struct ublkit_policy *p = NULL;

	CHECK_EQ(ublkit_policy_load_buffer(ctx, "test.conf", text, strlen(text), 0, &p), 0);
	ublkit_ctx_unref(ctx);
	if (!p) {
		fprintf(stderr, "no policy\n");
		exit(EXIT_FAILURE);
	}
	return p;
}

static void dump_problems(const struct ublkit_policy *p)
{
	for (size_t i = 0; i < ublkit_policy_get_problem_count(p); i++) {
		const struct ublkit_policy_problem *pr = ublkit_policy_get_problem(p, i);

		fprintf(stderr, "  problem: %s:%u: [%s] %s: %s\n", pr->file ? pr->file : "-",
			pr->line, pr->section ? pr->section : "", pr->key ? pr->key : "",
			pr->message);
	}
}

/* The one problem of @p at @file:@line about @key (NULL: none) says @needle. */
static bool has_problem(const struct ublkit_policy *p, const char *file, unsigned int line,
			const char *key, const char *needle)
{
	for (size_t i = 0; i < ublkit_policy_get_problem_count(p); i++) {
		const struct ublkit_policy_problem *pr = ublkit_policy_get_problem(p, i);

		if (pr->line != line || !pr->file || strcmp(pr->file, file) != 0)
			continue;
		if (key ? !pr->key || strcmp(pr->key, key) != 0 : pr->key != NULL)
			continue;
		if (strstr(pr->message, needle))
			return true;
	}
	fprintf(stderr, "no problem at %s:%u about %s saying '%s'; the policy has:\n", file, line,
		key ? key : "(no key)", needle);
	dump_problems(p);
	return false;
}

/* @text has exactly one problem, at test.conf:@line, about @key, saying @needle. */
static void one_problem(const char *text, unsigned int line, const char *key, const char *needle)
{
	struct ublkit_policy *p = load(text);

	CHECK_EQ(ublkit_policy_get_problem_count(p), 1);
	CHECK(has_problem(p, "test.conf", line, key, needle));
	ublkit_policy_unref(p);
}

static void no_problems(const struct ublkit_policy *p)
{
	CHECK_EQ(ublkit_policy_get_problem_count(p), 0);
	if (ublkit_policy_get_problem_count(p))
		dump_problems(p);
}

/* ---- sizes ------------------------------------------------------------------ */

static void test_parse_size(void)
{
	uint64_t v = 0;

	CHECK_EQ(ublkit_parse_size("4096", &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(ublkit_parse_size("4k", &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(ublkit_parse_size("512M", &v), 0);
	CHECK_EQ(v, 512ull << 20);
	CHECK_EQ(ublkit_parse_size("1.5G", &v), 0);
	CHECK_EQ(v, 3ull << 29);
	CHECK_EQ(ublkit_parse_size("2TiB", &v), 0);
	CHECK_EQ(v, 2ull << 40);
	CHECK_EQ(ublkit_parse_size("8GB", &v), 0);
	CHECK_EQ(v, 8000000000ull);
	CHECK_EQ(ublkit_parse_size("0.25K", &v), 0);
	CHECK_EQ(v, 256);
	v = 7;
	CHECK_EQ(ublkit_parse_size("1.5", &v), -EDOM);
	CHECK_EQ(ublkit_parse_size("8X", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_size("8Gx", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_size("-1G", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_size(" 1G", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_size("1.G", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_size("", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_size("16384P", &v), -ERANGE);
	CHECK_EQ(ublkit_parse_size("99999999999999999999", &v), -ERANGE);
	CHECK_EQ(v, 7);
	CHECK_EQ(ublkit_parse_size("16383P", &v), 0);
	CHECK_EQ(v, 16383ull << 50);
}

/* ---- reading one text --------------------------------------------------------- */

static const char full[] =
	"# the administrator's policy\n"
	"[Global]\n"
	"Hardening = best-effort\n"
	"Queues=2\n"
	"QueueDepth=64\n"
	"Priority=5\n"
	"AllowTakingData=yes\n"
	"\n"
	"; exceptions first\n"
	"[Rule keep]\n"
	"MatchSerial=S64ANS0T123456\n"
	"Create=ignore\n"
	"\n"
	"[Rule fast]\n"
	"  MatchModel  =  QEMU NVMe*  \n"
	"MatchMinSize=8M\n"
	"MaxPercentUsed=80\n"
	"Create=ublk-swap\n"
	"Priority=100\n"
	"Queues=4\n"
	"Discard=once\n"
	"Label=fast-swap\n"
	"Hardening=required\n"
	"Target=file\n"
	"\n"
	"[Rule stripe]\n"
	"MatchTransport=loop\n"
	"Create=dm-striped\n"
	"Members=3\n"
	"Chunk=128K\n"
	"\n"
	"[Rule pool]\n"
	"MatchNSID=7\n"
	"Create=dm-thin-pool\n"
	"MetadataSize=64M\n"
	"BlockSize=1M\n"
	"LowWater=1G\n";

static void test_read_full(void)
{
	struct ublkit_policy *p = load(full);
	const struct ublkit_policy_rule *r;
	int64_t v = 0;

	no_problems(p);
	CHECK_EQ(ublkit_policy_get_file_count(p), 1);
	CHECK_STREQ(ublkit_policy_get_file(p, 0), "test.conf");
	CHECK(ublkit_policy_get_file(p, 1) == NULL);
	CHECK_EQ(ublkit_policy_get_hardening(p), UBLKIT_HARDEN_BEST_EFFORT);
	CHECK_EQ(ublkit_policy_get_queues(p), 2);
	CHECK_EQ(ublkit_policy_get_queue_depth(p), 64);
	CHECK_EQ(ublkit_policy_get_priority(p), 5);
	CHECK(ublkit_policy_get_allow_taking_data(p));
	CHECK_EQ(ublkit_policy_get_rule_count(p), 4);
	CHECK(ublkit_policy_get_rule(p, 4) == NULL);

	r = ublkit_policy_get_rule(p, 0);
	CHECK_STREQ(ublkit_policy_rule_get_name(r), "keep");
	CHECK_EQ(ublkit_policy_rule_get_create(r), UBLKIT_POLICY_IGNORE);
	CHECK_EQ(ublkit_policy_rule_get_line(r), 10);

	r = ublkit_policy_find_rule(p, "fast");
	CHECK(r == ublkit_policy_get_rule(p, 1));
	CHECK_STREQ(ublkit_policy_rule_get_file(r), "test.conf");
	CHECK_EQ(ublkit_policy_rule_get_line(r), 14);
	CHECK_EQ(ublkit_policy_rule_get_create(r), UBLKIT_POLICY_UBLK_SWAP);
	/* blanks around '=' and at both ends are dropped, inside kept */
	CHECK_STREQ(ublkit_policy_rule_get_value(r, "MatchModel"), "QEMU NVMe*");
	CHECK_STREQ(ublkit_policy_rule_get_value(r, "Label"), "fast-swap");
	CHECK(ublkit_policy_rule_get_value(r, "MatchSerial") == NULL);
	CHECK(ublkit_policy_rule_get_value(r, "matchmodel") == NULL);
	CHECK(ublkit_policy_rule_get_value(r, "NoSuchKey") == NULL);
	CHECK_EQ(ublkit_policy_rule_get_queues(r), 4);
	CHECK_EQ(ublkit_policy_rule_get_queue_depth(r), 64);	/* from [Global] */
	CHECK_EQ(ublkit_policy_rule_get_priority(r), 100);
	CHECK_EQ(ublkit_policy_rule_get_hardening(r), UBLKIT_HARDEN_REQUIRED);
	CHECK_EQ(ublkit_policy_rule_get_members(r), 1);
	CHECK_EQ(ublkit_policy_rule_get_number(r, "Discard", &v), 0);
	CHECK_EQ(v, UBLKIT_SWAP_DISCARD_ONCE);
	CHECK_EQ(ublkit_policy_rule_get_number(r, "MatchMinSize", &v), 0);
	CHECK_EQ(v, 8 << 20);
	CHECK_EQ(ublkit_policy_rule_get_number(r, "MaxPercentUsed", &v), 0);
	CHECK_EQ(v, 80);
	v = -5;
	CHECK_EQ(ublkit_policy_rule_get_number(r, "Hardening", &v), 0);
	CHECK_EQ(v, UBLKIT_HARDEN_REQUIRED);
	CHECK_EQ(ublkit_policy_rule_get_number(r, "Label", &v), -EINVAL);
	CHECK_EQ(ublkit_policy_rule_get_number(r, "Chunk", &v), -ENOENT);
	CHECK_EQ(ublkit_policy_rule_get_number(r, "Nope", &v), -EINVAL);

	r = ublkit_policy_find_rule(p, "stripe");
	CHECK_EQ(ublkit_policy_rule_get_members(r), 3);
	CHECK_EQ(ublkit_policy_rule_get_number(r, "Chunk", &v), 0);
	CHECK_EQ(v, 128 << 10);
	/* not a swap kind: Priority falls back to [Global] */
	CHECK_EQ(ublkit_policy_rule_get_priority(r), 5);
	CHECK_EQ(ublkit_policy_rule_get_hardening(r), UBLKIT_HARDEN_BEST_EFFORT);

	r = ublkit_policy_find_rule(p, "pool");
	CHECK_EQ(ublkit_policy_rule_get_number(r, "MetadataSize", &v), 0);
	CHECK_EQ(v, 64 << 20);
	CHECK_EQ(ublkit_policy_rule_get_number(r, "BlockSize", &v), 0);
	CHECK_EQ(v, 1 << 20);
	CHECK_EQ(ublkit_policy_rule_get_number(r, "LowWater", &v), 0);
	CHECK_EQ(v, 1 << 30);
	CHECK(ublkit_policy_find_rule(p, "nope") == NULL);

	CHECK(ublkit_policy_ref(p) == p);
	CHECK(ublkit_policy_unref(p) == NULL);
	CHECK(ublkit_policy_unref(p) == NULL);
	CHECK(ublkit_policy_unref(NULL) == NULL);
}

/* Blanks are space, tab, CR (files written with CRLF), form feed and vertical tab. */
static void test_blanks(void)
{
	struct ublkit_policy *p;

	p = load("[Global]\r\nQueues=2\r\n\r\n[Rule a]\r\nCreate=ublk-swap\r\n"
		 "\tPriority\t=\t7\t\n\fQueueDepth\f=\f64\f\n\vLabel\v=\vx y\v\n");
	no_problems(p);
	CHECK_EQ(ublkit_policy_get_queues(p), 2);
	CHECK_EQ(ublkit_policy_rule_get_priority(ublkit_policy_get_rule(p, 0)), 7);
	CHECK_EQ(ublkit_policy_rule_get_queue_depth(ublkit_policy_get_rule(p, 0)), 64);
	CHECK_STREQ(ublkit_policy_rule_get_value(ublkit_policy_get_rule(p, 0), "Label"), "x y");
	ublkit_policy_unref(p);
}

static void test_defaults(void)
{
	struct ublkit_policy *p = load("");

	no_problems(p);
	CHECK_EQ(ublkit_policy_get_rule_count(p), 0);
	CHECK_EQ(ublkit_policy_get_hardening(p), UBLKIT_HARDEN_REQUIRED);
	CHECK_EQ(ublkit_policy_get_queues(p), 1);
	CHECK_EQ(ublkit_policy_get_queue_depth(p), 128);
	CHECK_EQ(ublkit_policy_get_priority(p), -1);
	CHECK(!ublkit_policy_get_allow_taking_data(p));
	ublkit_policy_unref(p);

	/* a rule's -1 is the kernel's choice, even when [Global] has another */
	p = load("[Global]\nPriority=5\n[Rule a]\nCreate=ublk-swap\nPriority=-1\n");
	no_problems(p);
	CHECK_EQ(ublkit_policy_get_priority(p), 5);
	CHECK_EQ(ublkit_policy_rule_get_priority(ublkit_policy_get_rule(p, 0)), -1);
	ublkit_policy_unref(p);

	p = load("[Rule a]\nCreate=ublk-swap\n");
	no_problems(p);
	CHECK_EQ(ublkit_policy_rule_get_queues(ublkit_policy_get_rule(p, 0)), 1);
	CHECK_EQ(ublkit_policy_rule_get_queue_depth(ublkit_policy_get_rule(p, 0)), 128);
	CHECK_EQ(ublkit_policy_rule_get_priority(ublkit_policy_get_rule(p, 0)), -1);
	CHECK_EQ(ublkit_policy_rule_get_hardening(ublkit_policy_get_rule(p, 0)),
		 UBLKIT_HARDEN_REQUIRED);
	ublkit_policy_unref(p);
}

static void test_create_names(void)
{
	static const char *const names[] = { "ignore", "ublk", "ublk-swap", "dm-linear",
					     "dm-striped", "dm-crypt-swap", "dm-thin-pool" };

	for (int i = 0; i < 7; i++) {
		CHECK_STREQ(ublkit_policy_create_name(i), names[i]);
		CHECK_EQ(ublkit_policy_create_from_string(names[i]), i);
	}
	CHECK(ublkit_policy_create_name(7) == NULL);
	CHECK(ublkit_policy_create_name(-1) == NULL);
	CHECK_EQ(ublkit_policy_create_from_string("swap"), -EINVAL);
	CHECK_EQ(ublkit_policy_create_from_string("Ublk"), -EINVAL);
	CHECK_EQ(ublkit_policy_create_from_string(NULL), -EINVAL);
}

/* Every key has a name, and the name leads back to it. */
static void test_key_names(void)
{
	for (int k = 0; k < POLICY_KEY_COUNT; k++) {
		const char *name = policy_key_name(k);

		CHECK(name != NULL);
		if (name)
			CHECK_EQ(policy_key_from_name(name), k);
	}
	CHECK_STREQ(policy_key_name(POLICY_HARDENING), "Hardening");
	CHECK_STREQ(policy_key_name(POLICY_LOW_WATER), "LowWater");
	CHECK(policy_key_name(POLICY_KEY_COUNT) == NULL);
	CHECK(policy_key_name(-1) == NULL);
	CHECK_EQ(policy_key_from_name("hardening"), -ENOENT);
	CHECK_EQ(policy_key_from_name(""), -ENOENT);
}

static void test_args(void)
{
	struct ublkit_ctx *ctx = test_ctx();
	struct ublkit_policy *p = NULL;

	CHECK_EQ(ublkit_policy_load_buffer(ctx, "x", "", 0, 1, &p), -EINVAL);
	CHECK_EQ(ublkit_policy_load_buffer(ctx, "x", NULL, 3, 0, &p), -EINVAL);
	CHECK_EQ(ublkit_policy_load(ctx, NULL, 2, &p), -EINVAL);
	CHECK(p == NULL);
	CHECK_EQ(ublkit_policy_load(ctx, "/nonexistent/ublkit.conf", 0, &p), -ENOENT);
	CHECK_EQ(ublkit_policy_load(ctx, "/", 0, &p), -EISDIR);
	CHECK(p == NULL);
	CHECK_EQ(ublkit_policy_get_problem_count(NULL), 0);
	CHECK(ublkit_policy_get_problem(NULL, 0) == NULL);
	ublkit_ctx_unref(ctx);
}

/* ---- files: precedence, drop-ins, masks ------------------------------------------- */

static struct ublkit_policy *load_root(const char *root)
{
	struct ublkit_ctx *ctx = test_ctx();
	struct ublkit_policy *p = NULL;

	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	CHECK_EQ(ublkit_policy_load(ctx, NULL, 0, &p), 0);
	ublkit_ctx_unref(ctx);
	if (!p) {
		fprintf(stderr, "no policy\n");
		exit(EXIT_FAILURE);
	}
	return p;
}

static void fake_symlink(const char *root, const char *target, const char *path)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s%s", root, path);
	CHECK_EQ(symlink(target, p), 0);
}

static void test_no_files(void)
{
	char *root = fake_root_new();
	struct ublkit_policy *p = load_root(root);

	no_problems(p);
	CHECK_EQ(ublkit_policy_get_file_count(p), 0);
	CHECK_EQ(ublkit_policy_get_rule_count(p), 0);
	ublkit_policy_unref(p);
	fake_root_free(root);
}

static void test_precedence(void)
{
	char *root = fake_root_new();
	struct ublkit_policy *p;

	fake_write(root, "/usr/lib/ublkit/ublkit.conf", "[Rule vendor]\nCreate=ublk\n");
	fake_write(root, "/run/ublkit/ublkit.conf",
		   "[Rule runtime]\nMatchNSID=8\nCreate=ublk\n");
	/* same name in /run and /usr/lib: /run's wins */
	fake_write(root, "/usr/lib/ublkit/ublkit.conf.d/10-a.conf",
		   "[Rule lib-a]\nMatchNSID=1\nCreate=ublk\n");
	fake_write(root, "/run/ublkit/ublkit.conf.d/10-a.conf",
		   "[Rule run-a]\nMatchNSID=2\nCreate=ublk\n");
	/* a symlink to /dev/null in /etc masks /usr/lib's */
	fake_write(root, "/usr/lib/ublkit/ublkit.conf.d/20-b.conf",
		   "[Rule lib-b]\nMatchNSID=3\nCreate=ublk\n");
	fake_mkdir(root, "/etc/ublkit/ublkit.conf.d");
	fake_symlink(root, "/dev/null", "/etc/ublkit/ublkit.conf.d/20-b.conf");
	/* an empty file masks too */
	fake_write(root, "/run/ublkit/ublkit.conf.d/30-c.conf",
		   "[Rule run-c]\nMatchNSID=4\nCreate=ublk\n");
	fake_write(root, "/etc/ublkit/ublkit.conf.d/30-c.conf", "");
	/* lexical order across directories; no .conf, no drop-in */
	fake_write(root, "/usr/lib/ublkit/ublkit.conf.d/05-first.conf",
		   "[Rule first]\nMatchNSID=5\nCreate=ublk\n");
	fake_write(root, "/etc/ublkit/ublkit.conf.d/40-last.conf",
		   "[Rule last]\nMatchNSID=6\nCreate=ublk\n");
	fake_write(root, "/etc/ublkit/ublkit.conf.d/50-x.conf.disabled", "garbage\n");
	fake_write(root, "/etc/ublkit/ublkit.conf.d/.hidden.conf", "garbage\n");
	fake_mkdir(root, "/etc/ublkit/ublkit.conf.d/60-dir.conf");

	p = load_root(root);
	no_problems(p);
	CHECK_EQ(ublkit_policy_get_file_count(p), 4);
	CHECK_STREQ(ublkit_policy_get_file(p, 0), "/run/ublkit/ublkit.conf");
	CHECK_STREQ(ublkit_policy_get_file(p, 1), "/usr/lib/ublkit/ublkit.conf.d/05-first.conf");
	CHECK_STREQ(ublkit_policy_get_file(p, 2), "/run/ublkit/ublkit.conf.d/10-a.conf");
	CHECK_STREQ(ublkit_policy_get_file(p, 3), "/etc/ublkit/ublkit.conf.d/40-last.conf");
	CHECK_EQ(ublkit_policy_get_rule_count(p), 4);
	CHECK_STREQ(ublkit_policy_rule_get_name(ublkit_policy_get_rule(p, 0)), "runtime");
	CHECK_STREQ(ublkit_policy_rule_get_name(ublkit_policy_get_rule(p, 1)), "first");
	CHECK_STREQ(ublkit_policy_rule_get_name(ublkit_policy_get_rule(p, 2)), "run-a");
	CHECK_STREQ(ublkit_policy_rule_get_name(ublkit_policy_get_rule(p, 3)), "last");
	CHECK(ublkit_policy_find_rule(p, "vendor") == NULL);
	CHECK(ublkit_policy_find_rule(p, "lib-b") == NULL);
	ublkit_policy_unref(p);

	/* /etc beats /run for the main file */
	fake_write(root, "/etc/ublkit/ublkit.conf", "[Rule admin]\nCreate=ublk\n");
	p = load_root(root);
	CHECK_STREQ(ublkit_policy_get_file(p, 0), "/etc/ublkit/ublkit.conf");
	CHECK(ublkit_policy_find_rule(p, "admin") != NULL);
	CHECK(ublkit_policy_find_rule(p, "runtime") == NULL);
	ublkit_policy_unref(p);
	fake_root_free(root);
}

/* A symlink to nothing is no drop-in, and masks nothing: the next directory's file counts. */
static void test_dangling_dropin(void)
{
	char *root = fake_root_new();
	struct ublkit_policy *p;

	fake_write(root, "/usr/lib/ublkit/ublkit.conf.d/10-a.conf", "[Rule lib]\nCreate=ublk\n");
	fake_mkdir(root, "/etc/ublkit/ublkit.conf.d");
	fake_symlink(root, "/nonexistent/10-a.conf", "/etc/ublkit/ublkit.conf.d/10-a.conf");
	fake_symlink(root, "/nonexistent/20-b.conf", "/etc/ublkit/ublkit.conf.d/20-b.conf");
	p = load_root(root);
	no_problems(p);
	CHECK_EQ(ublkit_policy_get_file_count(p), 1);
	CHECK_STREQ(ublkit_policy_get_file(p, 0), "/usr/lib/ublkit/ublkit.conf.d/10-a.conf");
	CHECK(ublkit_policy_find_rule(p, "lib") != NULL);
	ublkit_policy_unref(p);
	fake_root_free(root);
}

static void test_main_masked(void)
{
	char *root = fake_root_new();
	struct ublkit_policy *p;

	fake_write(root, "/usr/lib/ublkit/ublkit.conf", "[Rule vendor]\nCreate=ublk\n");
	fake_mkdir(root, "/etc/ublkit");
	fake_symlink(root, "/dev/null", "/etc/ublkit/ublkit.conf");
	fake_write(root, "/usr/lib/ublkit/ublkit.conf.d/10-a.conf", "[Rule a]\nCreate=ublk\n");
	p = load_root(root);
	no_problems(p);
	CHECK_EQ(ublkit_policy_get_file_count(p), 1);
	CHECK_STREQ(ublkit_policy_get_file(p, 0), "/usr/lib/ublkit/ublkit.conf.d/10-a.conf");
	CHECK(ublkit_policy_find_rule(p, "vendor") == NULL);
	ublkit_policy_unref(p);
	fake_root_free(root);
}

static void test_dropin_override(void)
{
	char *root = fake_root_new();
	const struct ublkit_policy_rule *r;
	struct ublkit_policy *p;

	fake_write(root, "/etc/ublkit/ublkit.conf",
		   "[Global]\nQueues=2\n\n"
		   "[Rule a]\nMatchNSID=1\nCreate=ublk-swap\nPriority=10\nLabel=old\n\n"
		   "[Rule b]\nMatchNSID=2\nCreate=ublk\n");
	fake_write(root, "/etc/ublkit/ublkit.conf.d/50-tune.conf",
		   "[Rule a]\nPriority=20\nLabel=\n\n[Global]\nQueues=3\n");
	fake_write(root, "/usr/lib/ublkit/ublkit.conf.d/60-bad.conf",
		   "[Rule b]\nQueues=99\n");
	p = load_root(root);
	/* a's keys changed, the rule stays first */
	r = ublkit_policy_get_rule(p, 0);
	CHECK_STREQ(ublkit_policy_rule_get_name(r), "a");
	CHECK_STREQ(ublkit_policy_rule_get_file(r), "/etc/ublkit/ublkit.conf");
	CHECK_EQ(ublkit_policy_rule_get_line(r), 4);
	CHECK_EQ(ublkit_policy_rule_get_priority(r), 20);
	CHECK(ublkit_policy_rule_get_value(r, "Label") == NULL);	/* taken back */
	CHECK_STREQ(ublkit_policy_rule_get_value(r, "MatchNSID"), "1");
	CHECK_EQ(ublkit_policy_get_queues(p), 3);
	CHECK_EQ(ublkit_policy_rule_get_queues(r), 3);
	/* the bad value is reported where it was written: the drop-in */
	CHECK_EQ(ublkit_policy_get_problem_count(p), 1);
	CHECK(has_problem(p, "/usr/lib/ublkit/ublkit.conf.d/60-bad.conf", 2, "Queues",
			  "99 is out of range; expected 1..64"));
	CHECK_STREQ(ublkit_policy_get_problem(p, 0)->section, "Rule b");
	ublkit_policy_unref(p);
	fake_root_free(root);
}

static void test_explicit_path(void)
{
	char *root = fake_root_new();
	struct ublkit_ctx *ctx = test_ctx();
	struct ublkit_policy *p = NULL;
	char path[4096];

	fake_write(root, "/my.conf", "[Rule a]\nCreate=ublk\n");
	fake_write(root, "/my.conf.d/10-b.conf", "[Rule b]\nMatchNSID=2\nCreate=ublk\nBad=1\n");
	fake_write(root, "/my.conf.d/20-c.conf", "");
	/* the system's files are not read */
	fake_write(root, "/etc/ublkit/ublkit.conf", "[Rule sys]\nCreate=ublk\n");
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	snprintf(path, sizeof(path), "%s/my.conf", root);
	CHECK_EQ(ublkit_policy_load(ctx, path, 0, &p), 0);
	CHECK_EQ(ublkit_policy_get_file_count(p), 2);
	CHECK_STREQ(ublkit_policy_get_file(p, 0), path);
	CHECK(strstr(ublkit_policy_get_file(p, 1), "/my.conf.d/10-b.conf") != NULL);
	CHECK_EQ(ublkit_policy_get_rule_count(p), 2);
	CHECK(ublkit_policy_find_rule(p, "sys") == NULL);
	CHECK(has_problem(p, ublkit_policy_get_file(p, 1), 4, "Bad", "unknown key"));
	ublkit_policy_unref(p);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static void test_unreadable(void)
{
	char *root;
	struct ublkit_ctx *ctx;
	struct ublkit_policy *p = NULL;
	char path[4096];

	if (geteuid() == 0)
		return;	/* root reads everything */
	root = fake_root_new();
	ctx = test_ctx();
	fake_write(root, "/etc/ublkit/ublkit.conf", "[Rule a]\nCreate=ublk\n");
	snprintf(path, sizeof(path), "%s/etc/ublkit/ublkit.conf", root);
	CHECK_EQ(chmod(path, 0), 0);
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	CHECK_EQ(ublkit_policy_load(ctx, NULL, 0, &p), -EACCES);
	CHECK(p == NULL);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

/* ---- malformed text: each is one problem with its line ------------------------------- */

static void test_malformed(void)
{
	static const struct {
		const char *text;
		unsigned int line;
		const char *key;
		const char *needle;
	} cases[] = {
		{ "[Global]\nQueues=2\n[Rule a\nCreate=ublk\n", 3, NULL, "'[' without ']'" },
		{ "[Global] x\n", 1, NULL, "text after ']'" },
		{ "[Global]\n\nQueues 2\n", 3, NULL, "not Key=Value" },
		{ "[Global]\n=2\n", 2, NULL, "'=' without a key" },
		{ "Queues=2\n[Global]\n", 1, "Queues", "before any section" },
		{ "[Globals]\nQueues=2\n", 1, NULL, "unknown section [Globals]" },
		{ "[global]\n", 1, NULL, "unknown section [global]" },
		{ "[Rule]\nCreate=ublk\n", 1, NULL, "a rule needs a name" },
		{ "[Rule a b]\nCreate=ublk\n", 1, NULL, "'a b' is no rule name" },
		{ "[Rule a/b]\nCreate=ublk\n", 1, NULL, "is no rule name" },
		{ "[Rule abcdefghijklmnopqrstuvwxyz0123456]\nCreate=ublk\n", 1, NULL,
		  "is no rule name" },
		{ "[Rule [a]]\n", 1, NULL, "text after ']'" },
		{ "[Global]\nqueues=2\n", 2, "queues", "keys are case-sensitive: Queues" },
		{ "[Global]\nFrobnicate=2\n", 2, "Frobnicate", "unknown key" },
		{ "[Global]\nMatchModel=x\n", 2, "MatchModel", "belongs in a [Rule NAME]" },
		{ "[Rule a]\nCreate=ublk\nAllowTakingData=yes\n", 3, "AllowTakingData",
		  "belongs in [Global]" },
		{ "[Global]\nHardening=required   # or best-effort\n", 2, "Hardening",
		  "a comment must be on a line of its own" },
		{ "[Global]\nQueues=2\n\x01\x02\x03\n", 3, NULL, "not Key=Value" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		fprintf(stderr, "# case %zu\n", i);
		one_problem(cases[i].text, cases[i].line, cases[i].key, cases[i].needle);
	}
}

static void test_hostile(void)
{
	struct ublkit_ctx *ctx = test_ctx();
	struct ublkit_policy *p = NULL;
	static const char nul[] = "[Global]\nQueues=2\nQue\0ues=3\n[Rule a]\nCreate=ublk\n";
	char *big;
	size_t n;

	/* a NUL byte is a problem of its line, the rest is read */
	CHECK_EQ(ublkit_policy_load_buffer(ctx, "nul.conf", nul, sizeof(nul) - 1, 0, &p), 0);
	CHECK_EQ(ublkit_policy_get_problem_count(p), 1);
	CHECK(has_problem(p, "nul.conf", 3, NULL, "NUL byte"));
	CHECK_EQ(ublkit_policy_get_queues(p), 2);
	CHECK_EQ(ublkit_policy_get_rule_count(p), 1);
	p = ublkit_policy_unref(p);

	/* a line of 5000 bytes */
	big = malloc(6000);
	memcpy(big, "[Global]\nLabel=", 15);
	memset(big + 15, 'x', 5000);
	memcpy(big + 5015, "\nQueues=3\n", 11);
	CHECK_EQ(ublkit_policy_load_buffer(ctx, "long.conf", big, strlen(big), 0, &p), 0);
	CHECK_EQ(ublkit_policy_get_problem_count(p), 1);
	CHECK(has_problem(p, "long.conf", 2, NULL, "line longer than 4096 bytes"));
	CHECK_EQ(ublkit_policy_get_queues(p), 3);
	p = ublkit_policy_unref(p);
	/* exactly 4096 is fine */
	memcpy(big, "[Rule a]\nCreate=dm-crypt-swap\nLabel=", 36);
	memset(big + 36, 'y', 4096 - 6);
	strcpy(big + 36 + 4090, "\n");
	CHECK_EQ(ublkit_policy_load_buffer(ctx, "edge.conf", big, strlen(big), 0, &p), 0);
	CHECK_EQ(ublkit_policy_get_problem_count(p), 1);
	CHECK(has_problem(p, "edge.conf", 3, "Label", "a swap label has at most 16"));
	p = ublkit_policy_unref(p);
	free(big);

	/* too large */
	n = 2u << 20;
	big = malloc(n);
	memset(big, '\n', n);
	CHECK_EQ(ublkit_policy_load_buffer(ctx, "huge.conf", big, n, 0, &p), 0);
	CHECK_EQ(ublkit_policy_get_problem_count(p), 1);
	CHECK(has_problem(p, "huge.conf", 0, NULL, "larger than"));
	CHECK_EQ(ublkit_policy_get_file_count(p), 0);
	p = ublkit_policy_unref(p);

	/* thousands of rules and problems: bounded */
	n = 0;
	for (int i = 0; i < 20000 && n + 64 < (2u << 20); i++)
		n += (size_t)sprintf(big + n, "[Rule r%d]\nX=%d\n", i, i);
	CHECK_EQ(ublkit_policy_load_buffer(ctx, "many.conf", big, n, 0, &p), 0);
	CHECK_EQ(ublkit_policy_get_rule_count(p), 256);
	CHECK_EQ(ublkit_policy_get_problem_count(p), 501);
	CHECK(strstr(ublkit_policy_get_problem(p, 500)->message, "more problems") != NULL);
	p = ublkit_policy_unref(p);

	/* random bytes: problems, never a crash */
	srand(42);
	for (int round = 0; round < 200; round++) {
		static const char alphabet[] = "[]=#;\n \t\r\"\\*?!^:RuleGlobalCreate0123456789\0";
		size_t len = (size_t)(rand() % 400);

		for (size_t i = 0; i < len; i++)
			big[i] = rand() % 4 ? alphabet[rand() % (sizeof(alphabet))]
					    : (char)(rand() % 256);
		CHECK_EQ(ublkit_policy_load_buffer(ctx, "rand.conf", big, len, 0, &p), 0);
		p = ublkit_policy_unref(p);
	}
	free(big);
	ublkit_ctx_unref(ctx);
}

/* ---- problems of meaning --------------------------------------------------------------- */

static void test_values(void)
{
	static const struct {
		const char *text;
		unsigned int line;
		const char *key;
		const char *needle;
	} cases[] = {
		{ "[Global]\nHardening=off\n", 2, "Hardening", "expected required or best-effort" },
		{ "[Global]\nQueues=two\n", 2, "Queues", "'two' is not a number; expected 1..64" },
		{ "[Global]\nQueues=0\n", 2, "Queues", "0 is out of range; expected 1..64" },
		{ "[Global]\nQueueDepth=5000\n", 2, "QueueDepth", "expected 1..4096" },
		{ "[Global]\nPriority=-2\n", 2, "Priority", "-2 is out of range; expected -1..32767" },
		{ "[Global]\nPriority=1-\n", 2, "Priority", "'1-' is not a number" },
		{ "[Global]\nPriority=--1\n", 2, "Priority", "'--1' is not a number" },
		{ "[Global]\nPriority=99999999999999999999\n", 2, "Priority", "out of range" },
		{ "[Global]\nAllowTakingData=maybe\n", 2, "AllowTakingData", "expected yes or no" },
		{ "[Rule a]\nCreate=swap\n", 2, "Create", "'swap' is not a kind" },
		{ "[Rule a]\nCreate=ublk\nMatchMinSize=8X\n", 3, "MatchMinSize",
		  "'8X' is not a size" },
		{ "[Rule a]\nCreate=ublk\nMatchMinSize=1.5\n", 3, "MatchMinSize",
		  "not a whole number of bytes" },
		{ "[Rule a]\nCreate=ublk\nMatchMaxSize=99999999P\n", 3, "MatchMaxSize",
		  "too large" },
		{ "[Rule a]\nCreate=ublk\nMatchNSID=0\n", 3, "MatchNSID",
		  "namespace id 0 can never match" },
		{ "[Rule a]\nCreate=ublk\nMatchNSID=1,x\n", 3, "MatchNSID",
		  "'x' is not a namespace id" },
		{ "[Rule a]\nCreate=ublk\nMatchNSID=1,,2\n", 3, "MatchNSID",
		  "'' is not a namespace id" },
		{ "[Rule a]\nCreate=ublk\nMatchNSID=1, \t ,2\n", 3, "MatchNSID",
		  "'' is not a namespace id" },
		{ "[Rule a]\nCreate=ublk\nMatchNSID=1 # the first\n", 3, "MatchNSID",
		  "'1 # the first' is not a namespace id; expected numbers from 1 separated by "
		  "commas (1,3) (a comment must be on a line of its own, starting with '#')" },
		{ "[Rule a]\nCreate=ublk\nMatchNSID=4294967295\n", 3, "MatchNSID", "out of range" },
		{ "[Rule a]\nCreate=ublk\nMatchNSID=0x10\n", 3, "MatchNSID",
		  "'0x10' is not a namespace id" },
		{ "[Rule a]\nCreate=ublk\nMatchNSID=99999999999999999999\n", 3, "MatchNSID",
		  "out of range" },
		{ "[Rule a]\nCreate=ublk\nMatchTransport=pcie,usb\n", 3, "MatchTransport",
		  "'usb' is no transport, so it can never match" },
		{ "[Rule a]\nCreate=ublk\nMatchModel=Samsung [SSD\n", 3, "MatchModel",
		  "has '[' without ']'" },
		{ "[Rule a]\nCreate=ublk\nMatchSerial=abc\\\n", 3, "MatchSerial",
		  "ends in a lone '\\'" },
		{ "[Rule a]\nCreate=ublk\nMatchIdentity=[[:alpha:]\n", 3, "MatchIdentity",
		  "it can never match" },
		/* a collating symbol or an equivalence class holds a ']' of its own */
		{ "[Rule a]\nCreate=ublk\nMatchModel=[[.a.]\n", 3, "MatchModel",
		  "'[[.a.]' has '[' without ']'" },
		{ "[Rule a]\nCreate=ublk\nMatchModel=[[=a=]\n", 3, "MatchModel",
		  "'[[=a=]' has '[' without ']'" },
		/* globs of the right syntax that no namespace can match */
		{ "[Rule a]\nCreate=ublk\nMatchSerial=S64ANS0T123456789ABCD\n", 3, "MatchSerial",
		  "'S64ANS0T123456789ABCD' can never match: it needs at least 21 characters and a "
		  "serial number has at most 20" },
		{ "[Rule a]\nCreate=ublk\nMatchSerial=*????[0-9]????????????????\n", 3,
		  "MatchSerial", "it needs at least 21 characters" },
		{ "[Rule a]\nCreate=ublk\nMatchModel=Samsung SSD 980 PRO with Heatsink 2TB NVM*\n", 3,
		  "MatchModel", "it needs at least 41 characters and a model has at most 40" },
		{ "[Rule a]\nCreate=ublk\nMatchController=sda\n", 3, "MatchController",
		  "'sda' can never match: controllers are named nvme and a number" },
		{ "[Rule a]\nCreate=ublk\nMatchController=nvme0n1\n", 3, "MatchController",
		  "'nvme0n1' can never match" },
		{ "[Rule a]\nCreate=ublk\nMatchController=nvme\n", 3, "MatchController",
		  "'nvme' can never match" },
		{ "[Rule a]\nCreate=ublk\nMatchController=NVMe*\n", 3, "MatchController",
		  "can never match" },
		{ "[Rule a]\nCreate=ublk\nMatchController=nvme0c*\n", 3, "MatchController",
		  "can never match" },
		{ "[Rule a]\nCreate=ublk\nMatchIdentity=eui.0025385b11223344\n", 3, "MatchIdentity",
		  "'eui.0025385b11223344' can never match: an identity is nguid.HEX" },
		{ "[Rule a]\nCreate=ublk\nMatchIdentity=eui64.0025385B11223344\n", 3,
		  "MatchIdentity", "hex digits are lowercase" },
		{ "[Rule a]\nCreate=ublk\nMatchIdentity=eui64.0025385b1122334\n", 3, "MatchIdentity",
		  "can never match" },
		{ "[Rule a]\nCreate=ublk\nMatchIdentity=eui64.0025385b112233445*\n", 3,
		  "MatchIdentity", "can never match" },
		{ "[Rule a]\nCreate=ublk\nMatchIdentity=nguid.0123456789abcdef\n", 3,
		  "MatchIdentity", "can never match" },
		{ "[Rule a]\nCreate=ublk\nMatchIdentity=uuid.5b722b05-e9c8-4f2a-8f0e0e3d1f335456\n",
		  3, "MatchIdentity", "can never match" },
		{ "[Rule a]\nCreate=ublk\nMatchIdentity=5b722b05-e9c8f*\n", 3, "MatchIdentity",
		  "can never match" },
		{ "[Rule a]\nCreate=ublk\nMatchIdentity=nsid.x*\n", 3, "MatchIdentity",
		  "can never match" },
		{ "[Rule a]\nCreate=ublk\nMatchIdentity=nsid.1\n", 3, "MatchIdentity",
		  "can never match" },
		{ "[Rule a]\nCreate=ublk\nMatchIdentity=nsid.1.nqn 2014\n", 3, "MatchIdentity",
		  "can never match" },
		{ "[Rule a]\nCreate=ublk\nMatchIdentity=/dev/nvme0n1\n", 3, "MatchIdentity",
		  "can never match" },
		{ "[Rule a]\nCreate=ublk\nMatchNSID=2,4294967295\n", 3, "MatchNSID",
		  "4294967295 is out of range: namespace ids are 1..4294967294" },
		{ "[Rule a]\nCreate=ublk\nMatchTransport=nvme\n", 3, "MatchTransport",
		  "'nvme' is no transport, so it can never match; expected pcie, tcp, rdma, fc or loop" },
		/* a stripe that can never have its members */
		{ "[Rule a]\nMatchIdentity=eui64.0025385b11223344\nCreate=dm-striped\nMembers=2\n", 4,
		  "Members", "2 members, but MatchIdentity=eui64.0025385b11223344 matches at most 1 "
		  "namespace: the stripe would wait forever" },
		{ "[Rule a]\nMatchSerial=S1\nMatchNSID=1\nCreate=dm-striped\nMembers=2\n", 5,
		  "Members", "MatchSerial=S1 with MatchNSID=1 matches at most 1 namespace" },
		{ "[Rule a]\nMatchSerial=S1\nMatchNSID=1, 2\nCreate=dm-striped\nMembers=3\n", 5,
		  "Members", "3 members, but MatchSerial=S1 with MatchNSID=1, 2 matches at most 2 "
		  "namespaces" },
		{ "[Rule a]\nMatchController=nvme0\nMatchNSID=7\nCreate=dm-striped\nMembers=2\n", 5,
		  "Members", "MatchController=nvme0 with MatchNSID=7 matches at most 1 namespace" },
		{ "[Rule a]\nCreate=ublk\nMatchMinSize=8G\nMatchMaxSize=4G\n", 3, "MatchMinSize",
		  "larger than MatchMaxSize=4G" },
		{ "[Rule a]\nCreate=ublk\nMaxPercentUsed=256\n", 3, "MaxPercentUsed",
		  "expected 0..255" },
		{ "[Rule a]\nCreate=ublk\nAllowCriticalWarning=2\n", 3, "AllowCriticalWarning",
		  "not a boolean" },
		{ "[Rule a]\nCreate=ublk-swap\nDiscard=always\n", 3, "Discard",
		  "expected no, yes, once or pages" },
		{ "[Rule a]\nCreate=ublk-swap\nLabel=this-label-is-too-long\n", 3, "Label",
		  "has 22 bytes; a swap label has at most 16" },
		{ "[Rule a]\nCreate=ublk\nTarget=null\n", 3, "Target", "expected file" },
		{ "[Rule a]\nCreate=ublk\nTarget=nope\n", 3, "Target", "expected file" },
		{ "[Rule a]\nMatchNSID=1\n", 1, "Create", "a rule needs Create=" },
		{ "[Rule a]\nCreate=dm-striped\n", 1, "Members", "needs Members=N" },
		{ "[Rule a]\nCreate=dm-striped\nMembers=1\n", 3, "Members",
		  "1 is out of range; expected 2..16" },
		{ "[Rule a]\nCreate=dm-striped\nMembers=2\nChunk=96K\n", 4, "Chunk",
		  "not a power of two" },
		{ "[Rule a]\nCreate=dm-striped\nMembers=2\nChunk=1K\n", 4, "Chunk",
		  "expected 4K to 1G" },
		{ "[Rule a]\nCreate=dm-thin-pool\nBlockSize=100K\n", 3, "BlockSize",
		  "not a multiple of 64K" },
		{ "[Rule a]\nCreate=dm-thin-pool\nMetadataSize=1M\n", 3, "MetadataSize",
		  "expected 2M to 16G" },
		{ "[Rule a]\nCreate=ublk\nMembers=2\n", 3, "Members",
		  "does not apply to a ublk rule; it is for dm-striped" },
		{ "[Rule a]\nCreate=dm-linear\nPriority=3\n", 3, "Priority",
		  "it is for ublk-swap, dm-crypt-swap" },
		{ "[Rule a]\nCreate=ignore\nQueues=2\n", 3, "Queues", "it is for ublk, ublk-swap" },
		{ "[Rule a]\nCreate=ublk\nHardening=required\n", 3, "Hardening",
		  "it is for ublk-swap" },
		{ "[Rule a]\nCreate=dm-crypt-swap\nBlockSize=64K\n", 3, "BlockSize",
		  "it is for dm-thin-pool" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		fprintf(stderr, "# case %zu\n", i);
		one_problem(cases[i].text, cases[i].line, cases[i].key, cases[i].needle);
	}
}

/* Globs at the edge of what can match, and stripes that can gather their members: fine. */
static void test_values_good(void)
{
	static const char *const texts[] = {
		"MatchSerial=S64ANS0T123456789ABC\n",
		"MatchSerial=*ublkit*\n",
		"MatchModel=Samsung SSD 980 PRO with Heatsink 2TB NV*\n",
		"MatchModel=????????????????????????????????????????\n",
		"MatchController=nvme12\n",
		"MatchController=nvme1*\n",
		"MatchController=nvme[0-3]\n",
		"MatchController=nv*\n",
		"MatchController=*1\n",
		"MatchIdentity=eui64.0025385b11223344\n",
		"MatchIdentity=0025385b11223344\n",
		"MatchIdentity=eui64.0025385b*\n",
		"MatchIdentity=nguid.0123456789abcdef0123456789abcdef\n",
		"MatchIdentity=0123456789abcdef0123456789abcdef\n",
		"MatchIdentity=uuid.5b722b05-e9c8-4f2a-8f0e-0e3d1f335456\n",
		"MatchIdentity=5b722b05-e9c8-4f2a-8f0e-0e3d1f335456\n",
		"MatchIdentity=5b722b05-e9c8*\n",
		"MatchIdentity=nsid.2.nqn.2019-08.org.qemu:*\n",
		"MatchIdentity=nsid.12.nqn.2014-08.org.nvmexpress:uuid:abc_def\n",
		"MatchIdentity=nsid.*\n",
		"MatchIdentity=*\n",
		"MatchIdentity=[en]*\n",
		"Create=dm-striped\nMatchSerial=S1\nMatchNSID=1,2\nMembers=2\n",
		"Create=dm-striped\nMatchSerial=S1*\nMatchNSID=1\nMembers=2\n",
		"Create=dm-striped\nMatchIdentity=eui64.*\nMembers=4\n",
		"Create=dm-striped\nMatchNSID=1\nMembers=4\n",
	};

	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		char text[512];
		struct ublkit_policy *p;

		fprintf(stderr, "# case %zu\n", i);
		snprintf(text, sizeof(text), "[Rule a]\n%s%s", texts[i],
			 strstr(texts[i], "Create=") ? "" : "Create=ublk\n");
		p = load(text);
		no_problems(p);
		ublkit_policy_unref(p);
	}
}

/* @text has no problems (@line 0), or one at test.conf:@line saying @needle. */
static void pair_case(const char *text, unsigned int line, const char *needle)
{
	struct ublkit_policy *p;

	if (line) {
		one_problem(text, line, NULL, needle);
		return;
	}
	p = load(text);
	no_problems(p);
	ublkit_policy_unref(p);
}

/*
 * One rule inside another, key by key: when the first is not an ignore
 * rule, apply finds every namespace of the narrower claimed twice.
 */
static void test_rule_cover(void)
{
	static const char twice[] = "is matched by [Rule a] (test.conf:1) too";
	static const char wider[] = "matches every namespace that [Rule a] (test.conf:1) matches";
	static const struct {
		const char *a, *b;
		unsigned int line;	/* of the problem in b; 0: none */
		const char *needle;
	} cases[] = {
		/* no keys in a: everything */
		{ "", "MatchNSID=1", 3, twice },
		{ "MatchNSID=1", "", 4, wider },
		/* globs: a literal the glob matches, a longer literal start, "*" */
		{ "MatchModel=QEMU*", "MatchModel=QEMU NVMe Ctrl", 4, twice },
		{ "MatchModel=QEMU*", "MatchModel=QEMU NVMe*\nMatchNSID=2", 4, twice },
		{ "MatchModel=QEMU NVMe*", "MatchModel=QEMU*", 4, wider },
		{ "MatchModel=QEMU*", "MatchModel=Samsung*", 0, NULL },
		{ "MatchModel=QEMU*", "MatchModel=*NVMe*", 0, NULL },
		{ "MatchModel=QEMU", "MatchModel=QEMU*", 4, wider },
		{ "MatchSerial=S64*", "MatchSerial=S64ANS0T123456\nMatchNSID=1", 4, twice },
		{ "MatchSerial=S64*", "MatchSerial=S65ANS0T123456", 0, NULL },
		{ "MatchController=nvme*", "MatchController=nvme0\nMatchNSID=1", 4, twice },
		/* a multipath namespace has several controllers: nvme0 and nvme1 may share one */
		{ "MatchController=nvme0\nMatchNSID=1", "MatchController=nvme1\nMatchNSID=1", 0,
		  NULL },
		{ "MatchIdentity=*", "MatchNSID=1", 4, twice },
		{ "MatchIdentity=eui64.*", "MatchIdentity=eui64.0025385b11223344", 4, twice },
		/* every namespace has an identity, not every one a model */
		{ "MatchModel=*", "MatchNSID=1", 0, NULL },
		/* lists: a part of the other */
		{ "MatchNSID=1,2,3", "MatchNSID=2", 4, twice },
		{ "MatchNSID=1,2", "MatchNSID=2,4", 0, NULL },
		{ "MatchTransport=pcie, tcp", "MatchTransport=tcp", 4, twice },
		{ "MatchTransport=pcie", "MatchTransport=tcp", 0, NULL },
		/* sizes: a range inside the other */
		{ "MatchMinSize=1G\nMatchMaxSize=1T", "MatchMinSize=2G\nMatchMaxSize=500G", 5,
		  twice },
		{ "MatchMinSize=1G\nMatchMaxSize=1T", "MatchMinSize=512M\nMatchMaxSize=2G", 0, NULL },
		{ "MatchMinSize=1G", "MatchMaxSize=2G", 0, NULL },
		/* health: limits no stricter than the other's */
		{ "MaxPercentUsed=90", "MaxPercentUsed=80\nMatchNSID=1", 4, twice },
		{ "MaxPercentUsed=80", "MaxPercentUsed=90\nMatchNSID=1", 0, NULL },
		{ "AllowCriticalWarning=yes", "MaxPercentUsed=50\nMatchNSID=1", 4, twice },
		{ "MaxPercentUsed=50", "AllowCriticalWarning=yes\nMatchNSID=1", 0, NULL },
		/* a rule without limits matches when the health log cannot be read */
		{ "MaxPercentUsed=90", "MatchNSID=1", 0, NULL },
		{ "AllowCriticalWarning=no", "MatchNSID=1", 0, NULL },
		/* every key at once */
		{ "MatchModel=QEMU*\nMatchTransport=pcie\nMatchMinSize=1G",
		  "MatchModel=QEMU NVMe Ctrl\nMatchTransport=pcie\nMatchMinSize=2G\nMatchNSID=2", 6,
		  twice },
		{ "MatchModel=QEMU*\nMatchTransport=pcie\nMatchMinSize=1G",
		  "MatchModel=QEMU NVMe Ctrl\nMatchTransport=tcp\nMatchMinSize=2G\nMatchNSID=2", 0,
		  NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char text[1024];

		fprintf(stderr, "# case %zu\n", i);
		snprintf(text, sizeof(text), "[Rule a]\n%s%sCreate=ublk\n[Rule b]\n%s%sCreate=ublk\n",
			 cases[i].a, *cases[i].a ? "\n" : "", cases[i].b, *cases[i].b ? "\n" : "");
		pair_case(text, cases[i].line, cases[i].needle);
	}
}

/* What apply does with two rules that match one namespace depends on their kinds and order. */
static void test_rule_order(void)
{
	struct ublkit_policy *p;

	/* a catch-all first: the exception after it and a narrower rule are claimed twice */
	p = load("[Rule all]\nCreate=ublk-swap\n"
		 "[Rule keep]\nMatchNSID=1\nCreate=ignore\n"
		 "[Rule c]\nMatchModel=QEMU*\nCreate=ublk\n");
	CHECK_EQ(ublkit_policy_get_problem_count(p), 2);
	CHECK(has_problem(p, "test.conf", 3, NULL,
			  "is matched by [Rule all] (test.conf:1) too: apply finds each claimed "
			  "twice and makes nothing of it; an ignore rule goes before the rules it "
			  "makes an exception to"));
	CHECK(has_problem(p, "test.conf", 6, NULL, "is matched by [Rule all] (test.conf:1) too"));
	ublkit_policy_unref(p);
	/* the exception first: fine */
	pair_case("[Rule keep]\nMatchNSID=1\nCreate=ignore\n[Rule all]\nCreate=ublk-swap\n", 0,
		  NULL);
	/* an ignore rule first that takes all a later rule matches: that one never claims */
	pair_case("[Rule keep]\nMatchModel=QEMU*\nCreate=ignore\n"
		  "[Rule q]\nMatchModel=QEMU NVMe*\nMatchNSID=2\nCreate=ublk\n", 4,
		  "never claims a namespace: [Rule keep] (test.conf:1) comes first and ignores "
		  "every namespace this rule matches");
	/* an ignore rule before both takes the namespaces: it is named, not the other */
	p = load("[Rule keep]\nMatchNSID=1\nCreate=ignore\n"
		 "[Rule all]\nMatchNSID=1,2\nCreate=ublk-swap\n"
		 "[Rule one]\nMatchNSID=1\nMatchModel=QEMU*\nCreate=ublk\n");
	CHECK_EQ(ublkit_policy_get_problem_count(p), 1);
	CHECK(has_problem(p, "test.conf", 7, NULL, "never claims a namespace: [Rule keep]"));
	ublkit_policy_unref(p);
	/* what the ignore rule takes never reaches the later two: no conflict between them */
	p = load("[Rule keep]\nMatchNSID=1\nCreate=ignore\n"
		 "[Rule one]\nMatchNSID=1\nMatchModel=QEMU*\nCreate=ublk\n"
		 "[Rule all]\nCreate=ublk-swap\n");
	CHECK_EQ(ublkit_policy_get_problem_count(p), 1);
	CHECK(has_problem(p, "test.conf", 4, NULL, "never claims a namespace: [Rule keep]"));
	ublkit_policy_unref(p);
	/* one problem per rule, naming the first rule it collides with */
	p = load("[Rule a]\nCreate=ublk\n[Rule b]\nMatchNSID=1,2\nCreate=ublk\n"
		 "[Rule c]\nMatchNSID=2\nCreate=ublk\n");
	CHECK_EQ(ublkit_policy_get_problem_count(p), 2);
	CHECK(has_problem(p, "test.conf", 3, NULL, "[Rule a] (test.conf:1)"));
	CHECK(has_problem(p, "test.conf", 6, NULL, "[Rule a] (test.conf:1)"));
	ublkit_policy_unref(p);
	/* a rule with a bad value is not compared: its own problem is enough */
	p = load("[Rule a]\nCreate=ublk\nMatchMinSize=lots\n[Rule b]\nMatchNSID=1\nCreate=ublk\n");
	CHECK_EQ(ublkit_policy_get_problem_count(p), 1);
	ublkit_policy_unref(p);
	p = load("[Rule a]\nCreate=frob\n[Rule b]\nMatchNSID=1\nCreate=ublk\n");
	CHECK_EQ(ublkit_policy_get_problem_count(p), 1);
	ublkit_policy_unref(p);
}

static void test_rule_pairs(void)
{
	struct ublkit_policy *p;

	/* identical Match keys */
	one_problem("[Rule a]\nMatchModel=X*\nCreate=ublk\n\n[Rule b]\nMatchModel=X*\n"
		    "Create=ignore\n",
		    5, NULL, "same Match keys as [Rule a] (test.conf:1)");
	/* no Match keys at all: both claim everything */
	one_problem("[Rule a]\nCreate=ublk\n[Rule b]\nCreate=ublk-swap\n", 3, NULL,
		    "same Match keys as [Rule a]");
	/* the same namespace by identity, each rule with a limit of its own */
	one_problem("[Rule a]\nMatchIdentity=eui64.0025385b11223344\nMaxPercentUsed=80\n"
		    "Create=ublk\n"
		    "[Rule b]\nMatchIdentity=eui64.0025385b11223344\nMatchMinSize=1G\n"
		    "Create=ublk\n",
		    5, NULL, "same namespace as [Rule a] (test.conf:1) by MatchIdentity=");
	/* ... unless the limits exclude each other */
	p = load("[Rule a]\nMatchIdentity=eui64.0025385b11223344\nMatchMaxSize=100G\n"
		 "Create=ublk\n"
		 "[Rule b]\nMatchIdentity=eui64.0025385b11223344\nMatchMinSize=200G\n"
		 "Create=ublk\n");
	no_problems(p);
	ublkit_policy_unref(p);
	/* ranges that meet in one size both take a namespace of that size */
	one_problem("[Rule a]\nMatchIdentity=eui64.0025385b11223344\nMatchMaxSize=1G\n"
		    "Create=ublk\n"
		    "[Rule b]\nMatchIdentity=eui64.0025385b11223344\nMatchMinSize=1G\n"
		    "Create=ublk\n",
		    5, NULL, "same namespace as [Rule a] (test.conf:1) by MatchIdentity=");
	/* ... or the first ignores it in some cases: an exception */
	p = load("[Rule a]\nMatchIdentity=eui64.0025385b11223344\nMatchMinSize=1T\n"
		 "Create=ignore\n"
		 "[Rule b]\nMatchIdentity=eui64.0025385b11223344\nMaxPercentUsed=80\n"
		 "Create=ublk\n");
	no_problems(p);
	ublkit_policy_unref(p);
	/* the same namespace by serial and nsid */
	one_problem("[Rule a]\nMatchSerial=S1\nMatchNSID=1,2\nCreate=ublk\n"
		    "[Rule b]\nMatchSerial=S1\nMatchNSID=3, 2\nCreate=ublk\n",
		    5, NULL, "by MatchSerial=S1 with a MatchNSID in common");
	/* different nsids: fine */
	p = load("[Rule a]\nMatchSerial=S1\nMatchNSID=1\nCreate=ublk\n"
		 "[Rule b]\nMatchSerial=S1\nMatchNSID=2\nCreate=ublk\n"
		 "[Rule c]\nMatchIdentity=eui64.*\nMatchNSID=3\nCreate=ublk\n"
		 "[Rule d]\nMatchIdentity=nguid.*\nMatchNSID=3\nCreate=ublk\n");
	no_problems(p);
	ublkit_policy_unref(p);
	/* a glob and the same glob with one more key: the second is inside the first */
	p = load("[Rule a]\nMatchSerial=S1\nMatchNSID=1\nCreate=ublk\n"
		 "[Rule c]\nMatchIdentity=eui64.*\nCreate=ublk\n"
		 "[Rule d]\nMatchIdentity=eui64.*\nMatchNSID=4\nCreate=ublk\n");
	CHECK_EQ(ublkit_policy_get_problem_count(p), 1);
	CHECK(has_problem(p, "test.conf", 8, NULL,
			  "every namespace this rule matches is matched by [Rule c] (test.conf:5) too"));
	ublkit_policy_unref(p);
	/* a drop-in that makes two rules alike is caught after all files */
	p = load("[Rule a]\nMatchNSID=1\nCreate=ublk\n[Rule b]\nMatchNSID=2\nCreate=ublk\n"
		 "[Rule b]\nMatchNSID=1\n");
	CHECK_EQ(ublkit_policy_get_problem_count(p), 1);
	CHECK(has_problem(p, "test.conf", 4, NULL, "same Match keys as [Rule a]"));
	ublkit_policy_unref(p);
}

/* Problems come in order of lines, with sections and keys. */
static void test_problem_order(void)
{
	struct ublkit_policy *p = load("[Rule a]\nQueues=x\n[Global]\nQueues=0\nFoo\n");
	const struct ublkit_policy_problem *pr;

	CHECK_EQ(ublkit_policy_get_problem_count(p), 4);
	pr = ublkit_policy_get_problem(p, 0);
	CHECK_EQ(pr->line, 1);
	CHECK_STREQ(pr->key, "Create");
	CHECK_STREQ(pr->section, "Rule a");
	pr = ublkit_policy_get_problem(p, 1);
	CHECK_EQ(pr->line, 2);
	CHECK_STREQ(pr->key, "Queues");
	CHECK_STREQ(pr->section, "Rule a");
	pr = ublkit_policy_get_problem(p, 2);
	CHECK_EQ(pr->line, 4);
	CHECK_STREQ(pr->section, "Global");
	pr = ublkit_policy_get_problem(p, 3);
	CHECK_EQ(pr->line, 5);
	CHECK(pr->section == NULL && pr->key == NULL);
	CHECK(ublkit_policy_get_problem(p, 4) == NULL);
	ublkit_policy_unref(p);

	/* problems of one line keep the order they were found in */
	p = load("[Rule a]\nCreate=ublk\n[Rule b]\n");
	CHECK_EQ(ublkit_policy_get_problem_count(p), 2);
	pr = ublkit_policy_get_problem(p, 0);
	CHECK_EQ(pr->line, 3);
	CHECK_STREQ(pr->key, "Create");
	pr = ublkit_policy_get_problem(p, 1);
	CHECK_EQ(pr->line, 3);
	CHECK(pr->key == NULL);
	CHECK(strstr(pr->message, "same Match keys as [Rule a]") != NULL);
	ublkit_policy_unref(p);
}

/* ---- matching ----------------------------------------------------------------------- */

struct fixture {
	struct ublkit_ctx *ctx;
	struct ublkit_nvme *nvme;
	const struct ublkit_nvme_ns *qemu1;	/* nvme0n2: nsid 1, 1 GiB, QEMU, pcie */
	const struct ublkit_nvme_ns *qemu2;	/* nvme0n1: nsid 2, 512 MiB */
	const struct ublkit_nvme_ns *loop;	/* nvme1n1: loop, 64 MiB, an NGUID */
	const struct ublkit_nvme_ns *samsung;	/* nvme2n1: padded model, EUI-64 */
	struct ublkit_nvme_health healthy;
};

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->ctx = test_ctx();
	fake_nvme_install(f->ctx);
	CHECK_EQ(ublkit_nvme_scan(f->ctx, 0, &f->nvme), 0);
	if (!f->nvme)
		exit(EXIT_FAILURE);
	f->qemu1 = ublkit_nvme_find_ns(f->nvme, "nvme0n2");
	f->qemu2 = ublkit_nvme_find_ns(f->nvme, "nvme0n1");
	f->loop = ublkit_nvme_find_ns(f->nvme, "nvme1n1");
	f->samsung = ublkit_nvme_find_ns(f->nvme, "nvme2n1");
	CHECK(f->qemu1 && f->qemu2 && f->loop && f->samsung);
	CHECK_EQ(ublkit_nvme_ctrl_read_health(f->ctx, ublkit_nvme_ns_get_ctrl(f->qemu1),
					      &f->healthy), 0);
}

static void fixture_fini(struct fixture *f)
{
	ublkit_nvme_unref(f->nvme);
	ublkit_ctx_unref(f->ctx);
}

/* The rule made of @keys (+ Create=ublk) against @ns: 1, 0 (with @why), or an error. */
static int match_one(const char *keys, const struct ublkit_nvme_ns *ns,
		     const struct ublkit_nvme_health *h, const char *why_needle)
{
	char text[1024], why[256] = "unset";
	struct ublkit_policy *p;
	int r;

	snprintf(text, sizeof(text), "[Rule t]\nCreate=ublk\n%s\n", keys);
	p = load(text);
	no_problems(p);
	r = ublkit_policy_rule_match(ublkit_policy_get_rule(p, 0), ns, h, why, sizeof(why));
	if (r == 1)
		CHECK_STREQ(why, "");
	if (why_needle && !strstr(why, why_needle)) {
		fprintf(stderr, "why: '%s', want '%s'\n", why, why_needle);
		CHECK(!"why says why");
	}
	ublkit_policy_unref(p);
	return r;
}

static void test_match_keys(void)
{
	struct fixture f;

	fixture_init(&f);
	/* nothing set: everything */
	CHECK_EQ(match_one("", f.qemu1, NULL, NULL), 1);
	CHECK_EQ(match_one("", f.loop, NULL, NULL), 1);

	CHECK_EQ(match_one("MatchModel=QEMU*", f.qemu1, NULL, NULL), 1);
	CHECK_EQ(match_one("MatchModel=Samsung*", f.qemu1, NULL,
			   "MatchModel: 'QEMU NVMe Ctrl' does not match 'Samsung*'"), 0);
	/* padding blanks are not part of the model */
	CHECK_EQ(match_one("MatchModel=Samsung SSD 980 1TB", f.samsung, NULL, NULL), 1);
	CHECK_EQ(match_one("MatchModel=*1TB", f.samsung, NULL, NULL), 1);
	CHECK_EQ(match_one("MatchModel=samsung*", f.samsung, NULL, NULL), 0);
	/* bracket expressions with classes, collating symbols, equivalence classes */
	CHECK_EQ(match_one("MatchModel=[[:upper:]]EMU*", f.qemu1, NULL, NULL), 1);
	CHECK_EQ(match_one("MatchModel=[[.Q.]]EMU*", f.qemu1, NULL, NULL), 1);
	CHECK_EQ(match_one("MatchModel=[[=Q=]]EMU*", f.qemu1, NULL, NULL), 1);
	CHECK_EQ(match_one("MatchModel=[![:lower:]]EMU*", f.qemu1, NULL, NULL), 1);
	CHECK_EQ(match_one("MatchModel=[]Q]EMU*", f.qemu1, NULL, NULL), 1);

	CHECK_EQ(match_one("MatchSerial=S64ANS0T123456", f.samsung, NULL, NULL), 1);
	CHECK_EQ(match_one("MatchSerial=ublkit000[1-3]", f.qemu2, NULL, NULL), 1);
	CHECK_EQ(match_one("MatchSerial=ublkit000[2-3]", f.qemu2, NULL,
			   "MatchSerial: 'ublkit0001' does not match"), 0);

	CHECK_EQ(match_one("MatchController=nvme2", f.samsung, NULL, NULL), 1);
	CHECK_EQ(match_one("MatchController=nvme0", f.qemu1, NULL, NULL), 1);
	CHECK_EQ(match_one("MatchController=nvme[01]", f.samsung, NULL,
			   "MatchController: 'nvme2' does not match 'nvme[01]'"), 0);

	CHECK_EQ(match_one("MatchIdentity=eui64.0025385b11223344", f.samsung, NULL, NULL), 1);
	/* the identifier alone */
	CHECK_EQ(match_one("MatchIdentity=0025385b11223344", f.samsung, NULL, NULL), 1);
	CHECK_EQ(match_one("MatchIdentity=0123456789abcdef0123456789abcdef", f.loop, NULL, NULL),
		 1);
	CHECK_EQ(match_one("MatchIdentity=5b722b05-e9c8-4f2a-8f0e-0e3d1f335456", f.loop, NULL,
			   NULL), 1);
	CHECK_EQ(match_one("MatchIdentity=nguid.*", f.samsung, NULL,
			   "MatchIdentity: 'eui64.0025385b11223344' does not match 'nguid.*'"),
		 0);
	CHECK_EQ(match_one("MatchIdentity=nsid.2.nqn.2019-08.org.qemu:*", f.qemu2, NULL, NULL),
		 1);

	CHECK_EQ(match_one("MatchNSID=1", f.qemu1, NULL, NULL), 1);
	CHECK_EQ(match_one("MatchNSID=3, 2", f.qemu2, NULL, NULL), 1);
	CHECK_EQ(match_one("MatchNSID=1,3", f.qemu2, NULL, "MatchNSID: nsid 2 is not in 1,3"),
		 0);

	CHECK_EQ(match_one("MatchTransport=loop", f.loop, NULL, NULL), 1);
	CHECK_EQ(match_one("MatchTransport=tcp,pcie", f.samsung, NULL, NULL), 1);
	CHECK_EQ(match_one("MatchTransport=pcie", f.loop, NULL,
			   "MatchTransport: 'loop' is not in pcie"), 0);

	CHECK_EQ(match_one("MatchMinSize=1G", f.qemu1, NULL, NULL), 1);
	CHECK_EQ(match_one("MatchMinSize=1G", f.qemu2, NULL,
			   "MatchMinSize: 512M is smaller than 1G"), 0);
	CHECK_EQ(match_one("MatchMaxSize=512M", f.qemu2, NULL, NULL), 1);
	CHECK_EQ(match_one("MatchMaxSize=512M", f.qemu1, NULL,
			   "MatchMaxSize: 1G is larger than 512M"), 0);
	CHECK_EQ(match_one("MatchMinSize=100M\nMatchMaxSize=600M", f.qemu2, NULL, NULL), 1);

	/* all keys must match: the first that does not is named */
	CHECK_EQ(match_one("MatchModel=QEMU*\nMatchNSID=2\nMatchTransport=pcie", f.qemu2, NULL,
			   NULL), 1);
	CHECK_EQ(match_one("MatchModel=QEMU*\nMatchNSID=2\nMatchTransport=loop", f.qemu2, NULL,
			   "MatchTransport"), 0);
	fixture_fini(&f);
}

/* A namespace of @lba_count blocks of 512 bytes, alone on its controller. */
static struct ublkit_nvme *sized_ns(uint64_t lba_count, const struct ublkit_nvme_ns **ns)
{
	struct nvme_ctrl_facts fc = { .name = "nvme5", .model = "Odd", .serial = "odd0001",
				      .transport = "pcie", .state = "live" };
	struct nvme_ns_facts fn = { .name = "nvme5n1", .nsid = 1, .lba_size = 512,
				    .lba_count = lba_count, .lba_used = lba_count };
	struct ublkit_nvme *t = nvme_topo_new();
	struct ublkit_nvme_subsys *s = t ? nvme_topo_add_subsys(t, "nvme-subsys5",
								 "nqn.2024-01.org.ublkit:odd", "nvm")
					 : NULL;
	struct ublkit_nvme_ctrl *c = s ? nvme_topo_add_ctrl(t, s, &fc) : NULL;

	if (!c || !nvme_topo_add_ns(t, s, c, &fn) || nvme_topo_finish(t) < 0) {
		fprintf(stderr, "cannot build a topology\n");
		exit(EXIT_FAILURE);
	}
	*ns = ublkit_nvme_find_ns(t, "nvme5n1");
	CHECK(*ns != NULL);
	CHECK_EQ(ublkit_nvme_ns_get_size(*ns), lba_count * 512);
	return t;
}

/* Sizes in a reason are in the largest unit that divides them, else in bytes. */
static void test_match_size_text(void)
{
	const struct ublkit_nvme_ns *ns;
	struct ublkit_nvme *t;

	t = sized_ns(2049, &ns);	/* 1049088 bytes: 1M and a half K */
	CHECK_EQ(match_one("MatchMinSize=2M", ns, NULL, "MatchMinSize: 1049088 is smaller than 2M"),
		 0);
	ublkit_nvme_unref(t);
	t = sized_ns(0, &ns);
	CHECK_EQ(match_one("MatchMinSize=1M", ns, NULL, "MatchMinSize: 0 is smaller than 1M"), 0);
	ublkit_nvme_unref(t);
	t = sized_ns(3, &ns);
	CHECK_EQ(match_one("MatchMinSize=2K", ns, NULL, "MatchMinSize: 1536 is smaller than 2K"),
		 0);
	ublkit_nvme_unref(t);
	t = sized_ns(2, &ns);
	CHECK_EQ(match_one("MatchMaxSize=512", ns, NULL, "MatchMaxSize: 1K is larger than 512"),
		 0);
	ublkit_nvme_unref(t);
	t = sized_ns(3ull << 41, &ns);	/* 3 PiB: P is the largest unit */
	CHECK_EQ(match_one("MatchMaxSize=1P", ns, NULL, "MatchMaxSize: 3P is larger than 1P"), 0);
	ublkit_nvme_unref(t);
	t = sized_ns(1ull << 51, &ns);	/* 1 EiB, shown in P */
	CHECK_EQ(match_one("MatchMaxSize=1P", ns, NULL, "MatchMaxSize: 1024P is larger than 1P"),
		 0);
	ublkit_nvme_unref(t);
}

/* A reason is cut to the buffer it is given, never written past it. */
static void test_match_why_size(void)
{
	struct ublkit_policy *p;
	const struct ublkit_policy_rule *r;
	struct fixture f;
	char why[32];

	fixture_init(&f);
	p = load("[Rule t]\nCreate=ublk\nMatchNSID=7\n");
	r = ublkit_policy_get_rule(p, 0);
	for (size_t size = 1; size <= 16; size++) {
		memset(why, 'Z', sizeof(why));
		CHECK_EQ(ublkit_policy_rule_match(r, f.qemu1, NULL, why, size), 0);
		CHECK(strlen(why) == size - 1);
		CHECK(strncmp(why, "MatchNSID: nsid 1 is not in 7", size - 1) == 0);
		for (size_t i = size; i < sizeof(why); i++)
			CHECK(why[i] == 'Z');
	}
	memset(why, 'Z', sizeof(why));
	CHECK_EQ(ublkit_policy_rule_match(r, f.qemu1, NULL, why, 0), 0);
	CHECK(why[0] == 'Z');
	ublkit_policy_unref(p);
	fixture_fini(&f);
}

static void test_match_health(void)
{
	struct ublkit_nvme_health h;
	struct fixture f;

	fixture_init(&f);
	CHECK_EQ(f.healthy.critical_warning, 0);
	CHECK_EQ(f.healthy.percentage_used, 0);
	/* no health key: the log does not matter */
	CHECK_EQ(match_one("MatchNSID=1", f.qemu1, NULL, NULL), 1);
	/* a health key and no log */
	CHECK_EQ(match_one("MaxPercentUsed=80", f.qemu1, NULL,
			   "MaxPercentUsed: the controller's health log could not be read"), 0);
	CHECK_EQ(match_one("AllowCriticalWarning=yes", f.qemu1, NULL, "could not be read"), 0);
	CHECK_EQ(match_one("MaxPercentUsed=80", f.qemu1, &f.healthy, NULL), 1);

	h = f.healthy;
	h.percentage_used = 81;
	CHECK_EQ(match_one("MaxPercentUsed=80", f.qemu1, &h,
			   "MaxPercentUsed: 81% used is more than 80%"), 0);
	h.percentage_used = 80;
	CHECK_EQ(match_one("MaxPercentUsed=80", f.qemu1, &h, NULL), 1);

	h = f.healthy;
	h.critical_warning = UBLKIT_NVME_WARN_SPARE | UBLKIT_NVME_WARN_READ_ONLY;
	CHECK_EQ(match_one("MaxPercentUsed=80", f.qemu1, &h,
			   "AllowCriticalWarning: the controller reports a critical warning "
			   "(spare, read-only)"), 0);
	CHECK_EQ(match_one("AllowCriticalWarning=no", f.qemu1, &h, "critical warning"), 0);
	CHECK_EQ(match_one("MaxPercentUsed=80\nAllowCriticalWarning=yes", f.qemu1, &h, NULL), 1);
	/* without a health key a warning does not matter */
	CHECK_EQ(match_one("", f.qemu1, &h, NULL), 1);
	fixture_fini(&f);
}

static void test_policy_match(void)
{
	const struct ublkit_policy_rule *r = (void *)1;
	struct ublkit_policy *p;
	struct fixture f;
	char why[256];

	fixture_init(&f);
	p = load("[Rule keep]\nMatchSerial=S64*\nCreate=ignore\n"
		 "[Rule small]\nMatchMaxSize=600M\nCreate=ublk-swap\n"
		 "[Rule qemu]\nMatchModel=QEMU*\nCreate=dm-linear\n"
		 "[Rule any]\nMatchTransport=pcie\nCreate=ublk\n");
	no_problems(p);
	/* only one rule claims it */
	CHECK_EQ(ublkit_policy_match(p, f.qemu1, NULL, &r, why, sizeof(why)), -ENOTUNIQ);
	CHECK_STREQ(ublkit_policy_rule_get_name(r), "qemu");
	CHECK_STREQ(why, "rules 'qemu' (test.conf:7) and 'any' (test.conf:10) both claim nvme0n2");
	/* an ignore rule that comes first ends the search */
	CHECK_EQ(ublkit_policy_match(p, f.samsung, NULL, &r, why, sizeof(why)), 0);
	CHECK_STREQ(ublkit_policy_rule_get_name(r), "keep");
	/* loop: 64M matches small only */
	CHECK_EQ(ublkit_policy_match(p, f.loop, NULL, &r, why, sizeof(why)), 0);
	CHECK_STREQ(ublkit_policy_rule_get_name(r), "small");
	ublkit_policy_unref(p);

	p = load("[Rule a]\nMatchTransport=tcp\nCreate=ublk\n");
	CHECK_EQ(ublkit_policy_match(p, f.qemu1, NULL, &r, why, sizeof(why)), 0);
	CHECK(r == NULL);
	CHECK_STREQ(why, "no rule claims nvme0n2");
	ublkit_policy_unref(p);

	/* a policy with problems matches nothing */
	p = load("[Rule a]\nCreate=ublk\nQueues=x\n");
	r = (void *)1;
	CHECK_EQ(ublkit_policy_match(p, f.qemu1, NULL, &r, NULL, 0), -EINVAL);
	CHECK(r == NULL);
	CHECK_EQ(ublkit_policy_rule_match(ublkit_policy_get_rule(p, 0), f.qemu1, NULL, NULL, 0),
		 -EINVAL);
	ublkit_policy_unref(p);
	fixture_fini(&f);
}

/* ---- the kernel command line ----------------------------------------------------------- */

static void test_cmdline(void)
{
	CHECK_EQ(ublkit_policy_cmdline_disables("", false), 0);
	CHECK_EQ(ublkit_policy_cmdline_disables("root=/dev/vda rw quiet", false), 0);
	CHECK_EQ(ublkit_policy_cmdline_disables("root=/dev/vda ublkit=0 rw", false), 1);
	CHECK_EQ(ublkit_policy_cmdline_disables("ublkit=no", false), 1);
	CHECK_EQ(ublkit_policy_cmdline_disables("ublkit=false", false), 1);
	CHECK_EQ(ublkit_policy_cmdline_disables("ublkit=off\n", false), 1);
	CHECK_EQ(ublkit_policy_cmdline_disables("ublkit=OFF", false), 1);
	/* the last one wins */
	CHECK_EQ(ublkit_policy_cmdline_disables("ublkit=0 ublkit=1", false), 0);
	CHECK_EQ(ublkit_policy_cmdline_disables("ublkit=1 ublkit=0", false), 1);
	CHECK_EQ(ublkit_policy_cmdline_disables("ublkit=0 ublkit", false), 0);
	CHECK_EQ(ublkit_policy_cmdline_disables("ublkit=0 ublkit=maybe", false), 1);
	/* rd.ublkit only in the initramfs */
	CHECK_EQ(ublkit_policy_cmdline_disables("rd.ublkit=0", false), 0);
	CHECK_EQ(ublkit_policy_cmdline_disables("rd.ublkit=0", true), 1);
	CHECK_EQ(ublkit_policy_cmdline_disables("ublkit=0", true), 1);
	CHECK_EQ(ublkit_policy_cmdline_disables("ublkit=0 rd.ublkit=1", true), 0);
	CHECK_EQ(ublkit_policy_cmdline_disables("rd.ublkit=0 ublkit=yes", true), 0);
	/* other names are not ours */
	CHECK_EQ(ublkit_policy_cmdline_disables("xublkit=0 ublkit.x=0 ublkit_=0", true), 0);
	CHECK_EQ(ublkit_policy_cmdline_disables("UBLKIT=0", false), 0);
	/* quotes as the kernel takes them */
	CHECK_EQ(ublkit_policy_cmdline_disables("ublkit=\"0\"", false), 1);
	CHECK_EQ(ublkit_policy_cmdline_disables("\"ublkit=off\"", false), 1);
	/* a quote that is not closed at the end stays open, its last character kept */
	CHECK_EQ(ublkit_policy_cmdline_disables("\"ublkit=off", false), 1);
	CHECK_EQ(ublkit_policy_cmdline_disables("ublkit=\"no", false), 1);
	/* a '"' that opened nothing closes nothing: "0\"" is no boolean */
	CHECK_EQ(ublkit_policy_cmdline_disables("ublkit=0\"", false), 0);
	CHECK_EQ(ublkit_policy_cmdline_disables("opt=\"a ublkit=0 b\" rw", false), 0);
	CHECK_EQ(ublkit_policy_cmdline_disables("opt=\"a b\" ublkit=0", false), 1);
	CHECK_EQ(ublkit_policy_cmdline_disables("opt=\"unterminated ublkit=0", false), 0);
	CHECK_EQ(ublkit_policy_cmdline_disables("\tublkit=0\t", false), 1);
	CHECK_EQ(ublkit_policy_cmdline_disables(NULL, false), -EINVAL);
}

static void test_cmdline_file(void)
{
	char *root = fake_root_new();
	struct ublkit_ctx *ctx = test_ctx();
	int saved;

	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	/* no /proc/cmdline: nothing switches it off */
	CHECK_EQ(ublkit_policy_disabled_by_cmdline(ctx, false), 0);
	fake_write(root, "/proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/vda rd.ublkit=no\n");
	CHECK_EQ(ublkit_policy_disabled_by_cmdline(ctx, false), 0);
	CHECK_EQ(ublkit_policy_disabled_by_cmdline(ctx, true), 1);
	fake_write(root, "/proc/cmdline", "ublkit=off quiet\n");
	CHECK_EQ(ublkit_policy_disabled_by_cmdline(ctx, false), 1);
	/* a process started without stdin opens the file as descriptor 0 */
	saved = dup(STDIN_FILENO);
	CHECK(saved > STDIN_FILENO);
	close(STDIN_FILENO);
	CHECK_EQ(ublkit_policy_disabled_by_cmdline(ctx, false), 1);
	CHECK_EQ(fcntl(STDIN_FILENO, F_GETFD), -1);	/* and closes it again */
	CHECK_EQ(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
	CHECK_EQ(ublkit_policy_disabled_by_cmdline(NULL, false), -EINVAL);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

/* ---- the shipped examples ------------------------------------------------------------------ */

static void test_examples(void)
{
	const char *srcdir = getenv("top_srcdir");
	struct ublkit_ctx *ctx;
	struct dirent *de;
	char dir[4096];
	int seen = 0;
	DIR *d;

	if (!srcdir)
		srcdir = ".";
	snprintf(dir, sizeof(dir), "%s/examples", srcdir);
	d = opendir(dir);
	CHECK(d != NULL);
	if (!d)
		return;
	ctx = test_ctx();
	while ((de = readdir(d))) {
		struct ublkit_policy *p = NULL;
		char path[8192];
		size_t n = strlen(de->d_name);

		if (n < 6 || strcmp(de->d_name + n - 5, ".conf") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fprintf(stderr, "# %s\n", path);
		CHECK_EQ(ublkit_policy_load(ctx, path, 0, &p), 0);
		if (!p)
			continue;
		no_problems(p);
		CHECK(ublkit_policy_get_rule_count(p) >= 1);
		seen |= 1 << ublkit_policy_rule_get_create(ublkit_policy_get_rule(p, 0));
		ublkit_policy_unref(p);
	}
	closedir(d);
	/* one example per kind */
	CHECK_EQ(seen, 0x7f);
	ublkit_ctx_unref(ctx);
}

int main(void)
{
	RUN(test_parse_size);
	RUN(test_read_full);
	RUN(test_blanks);
	RUN(test_defaults);
	RUN(test_create_names);
	RUN(test_key_names);
	RUN(test_args);
	RUN(test_no_files);
	RUN(test_precedence);
	RUN(test_dangling_dropin);
	RUN(test_main_masked);
	RUN(test_dropin_override);
	RUN(test_explicit_path);
	RUN(test_unreadable);
	RUN(test_malformed);
	RUN(test_hostile);
	RUN(test_values);
	RUN(test_values_good);
	RUN(test_rule_pairs);
	RUN(test_rule_cover);
	RUN(test_rule_order);
	RUN(test_problem_order);
	RUN(test_match_keys);
	RUN(test_match_size_text);
	RUN(test_match_why_size);
	RUN(test_match_health);
	RUN(test_policy_match);
	RUN(test_cmdline);
	RUN(test_cmdline_file);
	RUN(test_examples);
	return test_result();
}
