/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy file (/etc/ublkit/ublkit.conf and its drop-ins) through
 * ublkit_policy_load_buffer(): any text gives a policy, possibly with
 * problems, never a crash; every problem has a message and a line within
 * the text; every rule has a valid name and its line, and in a policy
 * without problems a known Create= and Members=.
 */
#include "config.h"

#include <errno.h>

#include "ublkit/policy.h"
#include "fuzz.h"

static struct ublkit_ctx *ctx;

static unsigned int count_lines(const uint8_t *data, size_t size)
{
	unsigned int n = 1;

	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n;
}

static void check_rule(const struct ublkit_policy *p, const struct ublkit_policy_rule *r,
		       unsigned int lines)
{
	const char *name = ublkit_policy_rule_get_name(r);
	size_t len;

	FUZZ_ASSERT(name);
	len = strlen(name);
	FUZZ_ASSERT(len >= 1 && len <= 32 && strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
						      "abcdefghijklmnopqrstuvwxyz"
						      "0123456789_-") == len);
	FUZZ_ASSERT(ublkit_policy_find_rule(p, name) == r);
	FUZZ_ASSERT(ublkit_policy_rule_get_line(r) >= 1 && ublkit_policy_rule_get_line(r) <= lines);
	/* without problems: a known Create= and a usable Members= (>= 2 for dm-striped) */
	if (!ublkit_policy_get_problem_count(p)) {
		FUZZ_ASSERT(ublkit_policy_create_name(ublkit_policy_rule_get_create(r)));
		FUZZ_ASSERT(ublkit_policy_rule_get_members(r) >=
			    (ublkit_policy_rule_get_create(r) == UBLKIT_POLICY_DM_STRIPED ? 2u : 1u));
	}
	(void)ublkit_policy_rule_get_queues(r);
	(void)ublkit_policy_rule_get_priority(r);
	(void)ublkit_policy_rule_get_value(r, "MatchModel");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int lines = count_lines(data, size);
	struct ublkit_policy *p = NULL;
	int r;

	if (!ctx && ublkit_ctx_new(&ctx) < 0)
		abort();
	/* not NUL-terminated on purpose: the parser takes a length */
	r = ublkit_policy_load_buffer(ctx, "fuzz.conf", (const char *)data, size, 0, &p);
	FUZZ_ASSERT(r == 0 || r == -ENOMEM);
	if (r < 0)
		return 0;
	FUZZ_ASSERT(p);
	for (size_t i = 0; i < ublkit_policy_get_problem_count(p); i++) {
		const struct ublkit_policy_problem *pr = ublkit_policy_get_problem(p, i);

		FUZZ_ASSERT(pr && pr->message && *pr->message);
		FUZZ_ASSERT(pr->line <= lines);
	}
	FUZZ_ASSERT(!ublkit_policy_get_problem(p, ublkit_policy_get_problem_count(p)));
	for (size_t i = 0; i < ublkit_policy_get_rule_count(p); i++)
		check_rule(p, ublkit_policy_get_rule(p, i), lines);
	FUZZ_ASSERT(ublkit_policy_get_hardening(p) >= 0);
	ublkit_policy_unref(p);
	return 0;
}
