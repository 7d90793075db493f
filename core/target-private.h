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

#include "ublk-private.h"

#define TARGET_QUEUED 1000000000

struct ublk_queue;
struct ublk_io;
struct target;

struct target_ops {
	const char *name;
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
	void *priv;
};

extern const struct target_ops target_null_ops;
extern const struct target_ops target_mem_ops;
extern const struct target_ops target_file_ops;

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
	int result;
	bool cmd_in_flight;	/* a FETCH/COMMIT_AND_FETCH is with the kernel */
	bool target_in_flight;
};

/* Target helpers for async I/O on the queue ring (ublk-queue.c). */
struct io_uring_sqe *queue_get_sqe(struct ublk_queue *q, struct ublk_io *io);

#endif
