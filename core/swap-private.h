/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal interface of hardening, swap and block device usage. */
#ifndef UBLKIT_SWAP_PRIVATE_H
#define UBLKIT_SWAP_PRIVATE_H

#include <stdio.h>
#include <sys/prctl.h>
#include <sys/types.h>

#include "ublkit/swap.h"
#include "proc-private.h"

/* Capability numbers from linux/capability.h. */
#define CAP_BIT_IPC_LOCK 14
#define CAP_BIT_SYS_ADMIN 21
#define CAP_BIT_SYS_RESOURCE 24

/* Task flags (include/linux/sched.h) that PR_SET_IO_FLUSHER sets. */
#define TASK_PF_MEMALLOC_NOIO 0x00080000u
#define TASK_PF_LOCAL_THROTTLE 0x00100000u
#define TASK_PF_IO_FLUSHER (TASK_PF_MEMALLOC_NOIO | TASK_PF_LOCAL_THROTTLE)

/* prctl(2) options of Linux 5.6 that older headers lack. */
#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif
#ifndef PR_GET_IO_FLUSHER
#define PR_GET_IO_FLUSHER 58
#endif

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

/* One line of /proc/swaps, split in place: path (unescaped) and type
 * point into @line. -EINVAL: not such a line. */
int swaps_parse_line(char *line, struct ublkit_swap_area *a);

/*
 * The first @size bytes (a page) of @path, a device or file through the
 * sysroot: read before a swap signature is written over them, written
 * back (and flushed) when the swap area is not used after all.
 */
int swap_first_page_read(struct ublkit_ctx *ctx, const char *path, void *page, size_t size);
int swap_first_page_write(struct ublkit_ctx *ctx, const char *path, const void *page,
			  size_t size);

/* The size of a regular file or a block device (-ENOTBLK: neither). */
int fd_size(int fd, uint64_t *size);

/*
 * Whether @path may back a ublk swap area labelled @label (swap-ublk.c):
 * nothing of value on it (UBLKIT_SWAP_FORCE: a signature may go), never
 * anything mounted, active or held, and every block of its first @size
 * bytes allocated. A swap signature with @label is ublkit's own from an
 * earlier boot and is taken. 0 or -errno, logged.
 */
int swap_backing_check(struct ublkit_ctx *ctx, const char *path, const char *label,
		       uint64_t size, unsigned int flags);

/*
 * A new swap file @path of @size bytes with every block allocated, as
 * `mkswap --file --size` makes one (swap-ublk.c): mode 0600, on a disk
 * file system that can preallocate. 1: created; 0: @path exists (left
 * alone); -errno: refused, and nothing is left behind.
 */
int swap_file_create(struct ublkit_ctx *ctx, const char *path, uint64_t size);

/* block device usage (blockdev.c) */

/* A mount of device @maj:@min, or of source @path (may be NULL): true
 * and the mount point in @where. */
bool blockdev_mounted(struct ublkit_ctx *ctx, unsigned int maj, unsigned int min,
		      const char *path, char *where, size_t size);
/* The same over an open mountinfo file. */
bool mountinfo_find(FILE *f, unsigned int maj, unsigned int min, const char *path, char *where,
		    size_t size);
/* The first holder of @maj:@min (/sys/dev/block/M:m/holders), if any. */
bool blockdev_held(struct ublkit_ctx *ctx, unsigned int maj, unsigned int min, char *holder,
		   size_t size);

typedef int (*partition_fn)(struct ublkit_ctx *ctx, const char *name, unsigned int maj,
			    unsigned int min, void *userdata);
/* Call @fn for each partition of @maj:@min; returns how many, or what
 * @fn returned when it was not 0. */
int blockdev_partitions(struct ublkit_ctx *ctx, unsigned int maj, unsigned int min,
			partition_fn fn, void *userdata);

/* harden.c: the hardening profile of a server with these UBLKIT_DEV_*
 * flags; -ENODATA when the device does not back swap. Whether it is
 * preallocated stays unknown (not applicable) until
 * ublkit_harden_profile_set_preallocated() says what the target found. */
int harden_profile_for_flags(uint32_t dev_flags, struct ublkit_harden_profile **ret);
/* harden.c: how many mounts of a mountinfo file propagate ("shared:N"
 * before " - "), the first one's mount point in @first. */
int mountinfo_count_shared(FILE *f, char *first, size_t size);
/* harden.c: "MAJOR.MINOR..." of a kernel release (digits only, each
 * below 10^9); -EINVAL for anything else. */
int kernel_release_version(const char *rel, int *major, int *minor);

#endif
