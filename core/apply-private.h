/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Applying the policy: run state under /run/ublkit/policy/ (apply.c). */
#ifndef UBLKIT_APPLY_PRIVATE_H
#define UBLKIT_APPLY_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "ublkit/dm.h"
#include "ublkit/policy.h"

#define RUN_STATE_DIR "/run/ublkit/policy"
/* Held (flock, exclusive) by apply from its plan to its end, and by down. */
#define POLICY_LOCK "/run/ublkit/policy.lock"
#define RUN_STATE_MAX_MEMBERS UBLKIT_DM_MAX_STRIPES
#define RUN_STATE_MAX_MADE 8
#define RUN_STATE_NAME_MAX 48	/* a rule name (32) and "-NNN" fit */

/* One thing an instance made; torn down in reverse order of making. */
enum made_kind {
	MADE_UBLK = 0,	/* a ublk device and its server: what = the id */
	MADE_DM = 1,	/* a dm device of ublkit's (with its parts): what = its name */
	MADE_SWAP = 2,	/* an active swap area: what = its device */
};

struct made {
	int kind;
	char what[UBLKIT_DM_NAME_MAX + 16];
};

struct run_member {
	char identity[256];	/* the namespace's identity */
	char dev[64];		/* its block device when it was made ("/dev/nvme0n1") */
};

/* What one instance made: /run/ublkit/policy/NAME, "key=value" lines. */
struct run_state {
	char name[RUN_STATE_NAME_MAX];
	char rule[RUN_STATE_NAME_MAX];
	int create;			/* enum ublkit_policy_create */
	unsigned int n_members;
	struct run_member member[RUN_STATE_MAX_MEMBERS];
	unsigned int n_made;
	struct made made[RUN_STATE_MAX_MADE];
	unsigned int seq;		/* order of making among instances: down goes backwards */
	bool written;			/* not in the file: this process wrote (or read) it */
};

/* The text of the file; returns its length, -ENOBUFS, -EINVAL. */
int run_state_format(const struct run_state *s, char *buf, size_t size);
/* Parse a file's text (modified in place); -EINVAL for a malformed one. */
int run_state_parse(char *text, struct run_state *s);
/* Write atomically (temporary file, then rename), creating the directory. */
int run_state_write(struct ublkit_ctx *ctx, const struct run_state *s);
/* -ENOENT when there is no instance @name. */
int run_state_read(struct ublkit_ctx *ctx, const char *name, struct run_state *s);
int run_state_remove(struct ublkit_ctx *ctx, const char *name);
/* Every instance, sorted by name, in *@ret (malloc'ed); returns how many. */
int run_state_load_all(struct ublkit_ctx *ctx, struct run_state **ret);
/*
 * Take the policy's lock: wait up to apply_lock_timeout_ms for another
 * apply or down to finish. Returns the lock's fd (close it to let go),
 * or -ETIMEDOUT (logged with the holder's pid) or another negative errno.
 * A lock file that cannot be made where nothing can be written (a
 * read-only /run, no permission) gives -EROFS: go on without the lock.
 */
int policy_lock(struct ublkit_ctx *ctx);
extern unsigned int apply_lock_timeout_ms;
/* "ublk", "dm", "swap". */
const char *made_kind_name(int kind);

/*
 * Is what @m made still there and working? 0 yes, else a negative errno
 * with a sentence in @why. A seam: unit tests replace it, as they have no
 * devices to look at.
 */
typedef int (*apply_probe_fn)(struct ublkit_ctx *ctx, const struct made *m, char *why,
			      size_t why_size);
extern apply_probe_fn apply_probe;

#endif
