/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Facts about processes, from /proc (through the sysroot). */
#ifndef UBLKIT_PROC_PRIVATE_H
#define UBLKIT_PROC_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "ublkit/ublkit.h"

struct proc_memory {
	uint64_t rss;		/* VmRSS, bytes */
	uint64_t locked;	/* VmLck */
	uint64_t swapped;	/* VmSwap */
};

/* Start time of a process in clock ticks since boot (field 22 of stat), 0 if unknown. */
uint64_t proc_start_time(struct ublkit_ctx *ctx, int32_t pid);
/* The state letter of a process (field 3 of stat: R, S, T, Z, ...), or 0. */
char proc_state(struct ublkit_ctx *ctx, int32_t pid);
/* VmRSS, VmLck, VmSwap from /proc/PID/status. -ENOENT: no such process. */
int proc_memory(struct ublkit_ctx *ctx, int32_t pid, struct proc_memory *m);

#endif
