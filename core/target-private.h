/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The target interface: what serves the data behind a ublk device.
 *
 * A queue thread hands each request to ->queue_io(). A target either
 * completes it at once (returns bytes done or -errno) or submits SQEs on
 * the queue's ring and returns TARGET_QUEUED; the queue then passes each
 * of those CQEs to ->io_done(), which returns TARGET_QUEUED while more is
 * in flight, or the final result. Optional operations may be NULL: the
 * request then fails with -EOPNOTSUPP (and the device does not announce
 * discard/write-zeroes).
 */
#ifndef UBLKIT_TARGET_PRIVATE_H
#define UBLKIT_TARGET_PRIVATE_H

#include <liburing.h>
#include <string.h>

#include "ublk-private.h"

#define TARGET_QUEUED 1000000000

struct ublk_queue;
struct ublk_io;
struct target;

struct target_ops {
	const char *name;
	const char *summary;	/* one line for --help */
	unsigned int flags;	/* UBLKIT_TARGET_*: the registry's facts (target.c) */
	size_t priv_size;
	/* Open the target; fill in size / block size defaults in @p. */
	int (*open)(struct target *t, const char *arg, struct ublkit_dev_params *p);
	void (*close)(struct target *t);
	int (*read)(struct target *t, struct ublk_queue *q, struct ublk_io *io);
	int (*write)(struct target *t, struct ublk_queue *q, struct ublk_io *io);
	int (*flush)(struct target *t, struct ublk_queue *q, struct ublk_io *io);
	int (*discard)(struct target *t, struct ublk_queue *q, struct ublk_io *io);
	int (*write_zeroes)(struct target *t, struct ublk_queue *q, struct ublk_io *io);
	int (*io_done)(struct target *t, struct ublk_queue *q, struct ublk_io *io,
		       const struct io_uring_cqe *cqe);
};

struct target {
	const struct target_ops *ops;
	struct ublkit_ctx *ctx;
	int fd;			/* backing fd registered in every queue ring, or -1 */
	bool volatile_cache;	/* writes may sit in a cache: flush matters */
	/*
	 * The data lives in this process's memory, and read/write move it
	 * only through queue_copy_to/from_request(): the server can then use
	 * UBLK_F_USER_COPY, one copy between the store and the request's
	 * pages and no I/O buffers at all.
	 */
	bool user_copy_ok;
	/*
	 * The target checked that a write never allocates: the backing is a
	 * block device or a file with every block allocated, on a disk, and
	 * opened O_DIRECT. Set for swap devices (UBLKIT_DEV_SWAP) only.
	 */
	bool preallocated;
	void *priv;
};

extern const struct target_ops target_null_ops;
extern const struct target_ops target_mem_ops;
extern const struct target_ops target_file_ops;

/*
 * Does a write to the first @size bytes of @fd (a swap backing, @path for
 * messages) never need memory beyond the data? A block device: yes. A
 * regular file: when it is on a disk file system (not tmpfs or ramfs; on
 * btrfs without copy-on-write) and has every block allocated (fallocate()d
 * counts) and shared with no other file. 0: yes; -EINVAL: no, and @why
 * says why and the fix; another -errno: it cannot be told.
 */
int file_backing_check(int fd, const char *path, uint64_t size, char *why, size_t why_size);

/* The target registry (target.c). NULL: no such target. */
const struct target_ops *target_find(const char *name);

/* Fixed-file slots in each queue ring. */
#define QUEUE_FILE_CDEV 0
#define QUEUE_FILE_TARGET 1

/* One in-flight request (one per tag). */
struct ublk_io {
	uint16_t tag;
	uint8_t op;		/* UBLK_IO_OP_* */
	uint32_t flags;		/* UBLK_IO_F_* */
	uint64_t offset;	/* bytes */
	uint32_t len;		/* bytes */
	uint32_t done;		/* bytes finished (targets that split or retry) */
	void *buf;
	uint64_t start_ns;
	int result;		/* what the last command committed */
	unsigned int cmd_op;	/* the last command sent for this tag */
	bool cmd_in_flight;	/* a FETCH/COMMIT_AND_FETCH is with the kernel */
	bool target_in_flight;
};

/*
 * Copy request data: 8 bytes at a time with "rep movsq" on x86-64, the
 * way the kernel copies when it cannot count on fast "rep movsb". I/O
 * buffers are page aligned and sizes are multiples of 512, so the byte
 * tail is empty on the I/O path. This beats the library memcpy for the
 * 128 KiB-1 MiB blocks of sequential I/O wherever "rep movsb" or wide
 * vector moves are slow (older CPUs, emulators).
 */
static inline void data_copy(void *dst, const void *src, size_t n)
{
#if defined(__x86_64__)
	size_t q = n >> 3, r = n & 7;

	__asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(q) : : "memory");
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(r) : : "memory");
#else
	memcpy(dst, src, n);
#endif
}

static inline void data_zero(void *dst, size_t n)
{
#if defined(__x86_64__)
	size_t q = n >> 3, r = n & 7;

	__asm__ volatile("rep stosq" : "+D"(dst), "+c"(q) : "a"(0) : "memory");
	__asm__ volatile("rep stosb" : "+D"(dst), "+c"(r) : "a"(0) : "memory");
#else
	memset(dst, 0, n);
#endif
}

/* Target helpers (ublk-queue.c). */
/* An SQE whose completion comes back to ->io_done() for @io; io_uring_prep_*()
 * leaves its user_data alone. */
struct io_uring_sqe *queue_get_sqe(struct ublk_queue *q, struct ublk_io *io);
/* Fill a READ request with @len bytes from @src / take a WRITE request's
 * data into @dst: a copy into the I/O buffer, or UBLK_F_USER_COPY. */
int queue_copy_to_request(struct ublk_queue *q, struct ublk_io *io, const void *src, size_t len);
int queue_copy_from_request(struct ublk_queue *q, struct ublk_io *io, void *dst, size_t len);

#endif
