/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The policy's layout, for the files that work with it (apply.c) and the
 * unit tests. Values are kept as written, with where they were written,
 * and as parsed once all files are read.
 */
#ifndef UBLKIT_POLICY_PRIVATE_H
#define UBLKIT_POLICY_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "ublkit/policy.h"

#define POLICY_RULE_NAME_MAX 32

/* Every key of [Global] and [Rule NAME]. */
enum policy_key {
	POLICY_HARDENING,
	POLICY_QUEUES,
	POLICY_QUEUE_DEPTH,
	POLICY_PRIORITY,
	POLICY_ALLOW_TAKING_DATA,
	POLICY_MATCH_MODEL,
	POLICY_MATCH_SERIAL,
	POLICY_MATCH_CONTROLLER,
	POLICY_MATCH_IDENTITY,
	POLICY_MATCH_NSID,
	POLICY_MATCH_TRANSPORT,
	POLICY_MATCH_MIN_SIZE,
	POLICY_MATCH_MAX_SIZE,
	POLICY_ALLOW_CRITICAL_WARNING,
	POLICY_MAX_PERCENT_USED,
	POLICY_CREATE,
	POLICY_TARGET,
	POLICY_DISCARD,
	POLICY_LABEL,
	POLICY_MEMBERS,
	POLICY_CHUNK,
	POLICY_METADATA_SIZE,
	POLICY_BLOCK_SIZE,
	POLICY_LOW_WATER,
	POLICY_KEY_COUNT
};

struct policy_setting {
	char *value;		/* as written; NULL: not set */
	const char *file;	/* where it was set last */
	unsigned int line;
	bool ok;		/* @value was understood: @num holds it */
	int64_t num;		/* numbers, sizes in bytes, booleans, enums, flags */
};

struct ublkit_policy_rule {
	const struct ublkit_policy *policy;
	char *name;
	char *section;		/* "Rule NAME" */
	const char *file;	/* where its first [Rule NAME] line is */
	unsigned int line;
	int create;		/* enum ublkit_policy_create, or -EINVAL */
	struct policy_setting set[POLICY_KEY_COUNT];
};

struct ublkit_policy {
	int refcount;
	struct ublkit_ctx *ctx;
	char **names;		/* every file name a location points at, in reading order */
	size_t n_names;
	const char **files;	/* the files that were read (into @names) */
	size_t n_files;
	struct ublkit_policy_problem *problems;
	size_t n_problems;
	struct policy_setting global[POLICY_KEY_COUNT];
	struct ublkit_policy_rule **rules;
	size_t n_rules;
};

/* enum policy_key of "MatchModel", ..., or -ENOENT. */
int policy_key_from_name(const char *name);
const char *policy_key_name(int key);
/* [A-Za-z0-9_-]{1,32} */
bool policy_rule_name_valid(const char *name);

#endif
