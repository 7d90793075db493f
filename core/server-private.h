/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A ublk server: the device, its queues and their threads. */
#ifndef UBLKIT_SERVER_PRIVATE_H
#define UBLKIT_SERVER_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>

#include "target-private.h"
#include "stats-private.h"
#include "manifest-private.h"

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

/* ublk-server.c: record what a new server needs to take the device over,
 * with who serves it now (this process). */
int server_manifest_write(struct ublkit_server *s);


/* device.c: a device view; @full adds GET_PARAMS and the disk size. */
int device_load(struct ublkit_ctx *ctx, uint32_t id, bool full, struct ublkit_device **ret);
int devices_get(struct ublkit_ctx *ctx, bool full, bool orphans_only,
		struct ublkit_device ***ret);
/* orphan.c: STOP_DEV (if needed) and DEL_DEV, and forget the manifest. */
int ublk_stop_delete(struct ublkit_ctx *ctx, uint32_t id);

#endif
