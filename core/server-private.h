/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A ublk server: the device, its queues and their threads. */
#ifndef UBLKIT_SERVER_PRIVATE_H
#define UBLKIT_SERVER_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>

#include "target-private.h"
#include "stats-private.h"

struct ublkit_server;

struct ublk_queue {
	struct ublkit_server *s;
	uint16_t id;
	uint16_t depth;
	pthread_t thread;
	bool thread_started;
	pid_t tid;
	struct io_uring ring;
	bool ring_ready;
	int wake_fd;			/* eventfd: tells the thread to abandon the queue */
	uint64_t wake_buf;
	struct ublksrv_io_desc *iods;	/* mmapped from /dev/ublkcN, read only */
	size_t iods_len;
	struct ublk_io *ios;		/* one per tag */
	void *bufs;			/* depth * max_io_bytes, one buffer per tag */
	size_t bufs_len;
	unsigned int cmds_in_flight;
	unsigned int target_in_flight;
	bool aborted;			/* the kernel said the queue is going away */
	bool abandon;			/* leave without waiting for the kernel */
	bool user_copy;			/* UBLK_F_USER_COPY: no buffers, pread/pwrite */
	unsigned int cmd_fetch;		/* opcode of FETCH_REQ (legacy or encoded) */
	unsigned int cmd_commit;	/* opcode of COMMIT_AND_FETCH_REQ */
	struct stats_queue *st;
	int init_result;
};

struct ublkit_server {
	int refcount;
	struct ublkit_ctx *ctx;
	struct ublkit_dev_params params;
	struct target target;
	char target_name[16];
	char *target_arg;
	int id;				/* -1 until ADD_DEV */
	int cdev_fd;
	uint64_t dev_flags;		/* UBLK_F_* the kernel accepted */
	struct ublk_queue *queues;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int nr_ready;		/* queues that fetched (or failed) */
	int exit_fd;			/* eventfd: a queue thread ended */
	struct stats_shm *stats;
	size_t stats_len;
	bool added;
	bool started;
};

/* ublk-queue.c */
int queue_prepare(struct ublk_queue *q);
void *queue_thread(void *arg);
void queue_release(struct ublk_queue *q);

/* manifest.c: /run/ublkit/devices/ID/ */
int manifest_write(struct ublkit_server *s);
void manifest_remove(struct ublkit_ctx *ctx, uint32_t id);
int manifest_mkdir(const struct ublkit_ctx *ctx, uint32_t id);
int manifest_dir(const struct ublkit_ctx *ctx, uint32_t id, const char *file, char *buf,
		 size_t size);
/* Defaults: params from ublkit_dev_params_init(), everything else 0. */
void manifest_init(struct ublkit_manifest *m);
/* "key=value\n" lines, the manifest file's format (and the server's argv).
 * Returns the length, -EINVAL for a value holding a newline. */
int manifest_format(const struct ublkit_manifest *m, char *buf, size_t size);
/* Take one "key=value" line into @m; unknown keys are ignored. */
int manifest_parse_kv(struct ublkit_manifest *m, char *line);


/* device.c */
/* orphan.c: ublkit_orphan_check() that also hands back the manifest it
 * read (valid when o->has_manifest). */
int orphan_check(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_orphan *o,
		 struct ublkit_manifest *m);
/* STOP_DEV (if needed) and DEL_DEV, and forget the manifest. */
int ublk_stop_delete(struct ublkit_ctx *ctx, uint32_t id);
uint64_t proc_start_time(struct ublkit_ctx *ctx, int32_t pid);
/* Whether a target's data outlives its server process (mem's does not). */
bool target_survives_server(const char *target);

#endif
