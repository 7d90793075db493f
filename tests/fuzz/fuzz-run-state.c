/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The run state of a policy instance (/run/ublkit/policy/NAME) through
 * run_state_parse(): a file that parses has a valid name, rule and
 * Create=, known kinds of what was made, and writes back
 * (run_state_format()) to a text that parses to the same state.
 */
#include "config.h"

#include "ublkit-private.h"
#include "apply-private.h"
#include "fuzz.h"

static void check_word(const char *w, size_t size)
{
	size_t len = strnlen(w, size);

	FUZZ_ASSERT(len > 0 && len < size && !strpbrk(w, " \t\n"));
}

static void check_state(const struct run_state *s)
{
	check_word(s->name, sizeof(s->name));
	check_word(s->rule, sizeof(s->rule));
	FUZZ_ASSERT(ublkit_policy_create_name(s->create));
	FUZZ_ASSERT(s->n_members <= RUN_STATE_MAX_MEMBERS && s->n_made <= RUN_STATE_MAX_MADE);
	for (unsigned int i = 0; i < s->n_members; i++) {
		check_word(s->member[i].identity, sizeof(s->member[i].identity));
		check_word(s->member[i].dev, sizeof(s->member[i].dev));
	}
	for (unsigned int i = 0; i < s->n_made; i++) {
		FUZZ_ASSERT(made_kind_name(s->made[i].kind));
		check_word(s->made[i].what, sizeof(s->made[i].what));
	}
}

/* The same state (the bytes after a string's end may differ). */
static void check_same(const struct run_state *a, const struct run_state *b)
{
	FUZZ_ASSERT(!strcmp(a->name, b->name) && !strcmp(a->rule, b->rule));
	FUZZ_ASSERT(a->create == b->create && a->n_members == b->n_members &&
		    a->n_made == b->n_made);
	for (unsigned int i = 0; i < a->n_members; i++)
		FUZZ_ASSERT(!strcmp(a->member[i].identity, b->member[i].identity) &&
			    !strcmp(a->member[i].dev, b->member[i].dev));
	for (unsigned int i = 0; i < a->n_made; i++)
		FUZZ_ASSERT(a->made[i].kind == b->made[i].kind &&
			    !strcmp(a->made[i].what, b->made[i].what));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run_state s, again;
	/* run_state_read() reads at most 8191 bytes */
	char *text = fuzz_string(data, size < 8191 ? size : 8191);
	static char out[65536];
	int n;

	if (run_state_parse(text, &s) == 0) {
		check_state(&s);
		n = run_state_format(&s, out, sizeof(out));
		FUZZ_ASSERT(n > 0 && (size_t)n == strlen(out));
		FUZZ_ASSERT(run_state_parse(out, &again) == 0);
		check_same(&s, &again);
	}
	free(text);
	return 0;
}
