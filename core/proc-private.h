/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Facts about processes, from /proc (through the sysroot). */
#ifndef UBLKIT_PROC_PRIVATE_H
#define UBLKIT_PROC_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ublkit/ublkit.h"


/* The fields of a /proc/PID/stat line after the command name (which may
 * hold anything, including ") "). -EBADMSG: no such fields. */
int proc_stat_fields(const char *line, const char **fields);
/* starttime (field 22) from proc_stat_fields()' result, 0 if unknown. */
uint64_t proc_stat_start_time(const char *fields);
/* Start time of a process in clock ticks since boot (field 22 of stat), 0 if unknown. */
uint64_t proc_start_time(struct ublkit_ctx *ctx, int32_t pid);
/* The state letter of a process (field 3 of stat: R, S, T, Z, ...), or 0. */
char proc_state(struct ublkit_ctx *ctx, int32_t pid);
struct proc_status {
	bool have_vm;		/* VmRSS present (not for a zombie) */
	uint64_t vm_lck;	/* bytes */
	uint64_t vm_rss;
	uint64_t vm_swap;
	bool have_cap;
	uint64_t cap_eff;
};

/* /proc/PID/status: memory and effective capabilities. @pid: "self" or a
 * number. -ESRCH: no such process. */
int proc_status_read(struct ublkit_ctx *ctx, const char *pid, struct proc_status *st);
/* The same from an open status file. */
void proc_status_parse(FILE *f, struct proc_status *st);
bool caps_have(const struct proc_status *st, int bit);
/* The flags field (9) of a /proc/PID/stat line. */
int proc_stat_flags(const char *line, uint64_t *flags);
/* RLIMIT_MEMLOCK soft limit of /proc/self/limits; UINT64_MAX: unlimited. */
int proc_memlock_limit(struct ublkit_ctx *ctx, uint64_t *bytes);
/* The same from an open limits file. -ENODATA: no such line. */
int proc_limits_memlock(FILE *f, uint64_t *bytes);

struct meminfo {
	uint64_t mem_total;	/* bytes */
	uint64_t mem_available;
};

/* MemTotal and MemAvailable (estimated on kernels without it). */
int proc_meminfo_read(struct ublkit_ctx *ctx, struct meminfo *m);
/* The same from an open meminfo file. -ENODATA: no MemTotal. */
int proc_meminfo_parse(FILE *f, struct meminfo *m);

#endif
