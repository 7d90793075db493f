/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libublkit: preflight checks of the running system (or of a sysroot).
 * Each check reports a level, what it found, and a one-line fix.
 */
#ifndef UBLKIT_DOCTOR_H
#define UBLKIT_DOCTOR_H

#include "ublkit/ublkit.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ublkit_check_level {
	UBLKIT_CHECK_OK = 0,
	UBLKIT_CHECK_WARN = 1,	/* ublkit runs, something is degraded */
	UBLKIT_CHECK_FAIL = 2,	/* ublkit cannot run until this is fixed */
};

struct ublkit_check {
	const char *name;	/* stable identifier: "ublk-driver", "memlock", ... */
	int level;		/* enum ublkit_check_level */
	char message[256];	/* what was found */
	char fix[256];		/* how to fix it; empty when level is OK */
};

typedef void (*ublkit_check_fn)(const struct ublkit_check *check, void *userdata);

/* "ok", "warn" or "fail". */
const char *ublkit_check_level_name(int level);

/*
 * Run every check, in a fixed order, calling @fn for each. Returns the
 * worst level seen (>= 0) or a negative errno when the checks could not run.
 */
int ublkit_doctor(struct ublkit_ctx *ctx, ublkit_check_fn fn, void *userdata);

#ifdef __cplusplus
}
#endif
#endif
