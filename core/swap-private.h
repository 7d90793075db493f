/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal interface of hardening, swap and block device usage. */
#ifndef UBLKIT_SWAP_PRIVATE_H
#define UBLKIT_SWAP_PRIVATE_H

#include <sys/types.h>

#include "ublkit/swap.h"

/* Capability numbers from linux/capability.h. */
#define CAP_BIT_IPC_LOCK 14
#define CAP_BIT_SYS_ADMIN 21
#define CAP_BIT_SYS_RESOURCE 24

/* Task flags (include/linux/sched.h) that PR_SET_IO_FLUSHER sets. */
#define TASK_PF_MEMALLOC_NOIO 0x00080000u
#define TASK_PF_LOCAL_THROTTLE 0x00100000u
#define TASK_PF_IO_FLUSHER (TASK_PF_MEMALLOC_NOIO | TASK_PF_LOCAL_THROTTLE)

/* The fields of /proc/PID/status that hardening looks at. */
struct proc_status {
	bool have_vm;		/* VmRSS present (not for a zombie) */
	uint64_t vm_lck;	/* bytes */
	uint64_t vm_rss;
	uint64_t vm_swap;
	bool have_cap;
	uint64_t cap_eff;
};

/* @pid: "self" or a number. */
int proc_status_read(struct ublkit_ctx *ctx, const char *pid, struct proc_status *st);
bool caps_have(const struct proc_status *st, int bit);
/* The flags field (9) of a /proc/PID/stat line. */
int proc_stat_flags(const char *line, uint64_t *flags);
/* RLIMIT_MEMLOCK soft limit of /proc/self/limits; UINT64_MAX: unlimited. */
int proc_memlock_limit(struct ublkit_ctx *ctx, uint64_t *bytes);

struct meminfo {
	uint64_t mem_total;	/* bytes */
	uint64_t mem_available;
};

int proc_meminfo_read(struct ublkit_ctx *ctx, struct meminfo *m);

/* Undo the octal escapes (\040) of /proc/swaps and mountinfo, in place. */
void unescape_octal(char *s);

/*
 * The identity of a path through the sysroot: for a block device its
 * device number (*@is_blk true), for anything else st_dev/st_ino.
 */
struct file_id {
	bool is_blk;
	dev_t rdev;
	dev_t dev;
	ino_t ino;
};

int file_id_get(struct ublkit_ctx *ctx, const char *path, struct file_id *id);
bool file_id_same(const struct file_id *a, const struct file_id *b);

/* The active swap area that is @path or has identity @id (either may be
 * NULL). Fills @area (path points into @buf). 0, or -ENOENT. */
int swaps_find(struct ublkit_ctx *ctx, const char *path, const struct file_id *id,
	       struct ublkit_swap_area *area, char *buf, size_t size);

/* block device usage (blockdev.c) */

/* A mount of device @maj:@min, or of source @path (may be NULL): true
 * and the mount point in @where. */
bool blockdev_mounted(struct ublkit_ctx *ctx, unsigned int maj, unsigned int min,
		      const char *path, char *where, size_t size);
/* The first holder of @maj:@min (/sys/dev/block/M:m/holders), if any. */
bool blockdev_held(struct ublkit_ctx *ctx, unsigned int maj, unsigned int min, char *holder,
		   size_t size);

typedef int (*partition_fn)(struct ublkit_ctx *ctx, const char *name, unsigned int maj,
			    unsigned int min, void *userdata);
/* Call @fn for each partition of @maj:@min; returns how many, or what
 * @fn returned when it was not 0. */
int blockdev_partitions(struct ublkit_ctx *ctx, unsigned int maj, unsigned int min,
			partition_fn fn, void *userdata);

#endif
