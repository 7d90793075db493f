/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A ublk queue (ublk-queue.c) driven by hand: the test plays the kernel,
 * writing request descriptors and completing FETCH commands, and checks
 * what the queue sends back. The char device is a memfd, which maps like
 * /dev/ublkcN and fails every URING_CMD at once. White-box: the queue's
 * static functions are compiled in.
 */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>

#include "test.h"

#include "ublk-queue.c"

#define DEPTH 4

_Static_assert(sizeof(struct ublksrv_io_desc) == 24, "ublksrv_io_desc layout");
#define IO_BYTES (64u << 10)

static struct ublkit_ctx *ctx;

/* A server around one queue, its target already open. */
struct rig {
	struct ublkit_server s;
	struct ublk_queue q;
	struct stats_queue st;
	struct ublksrv_io_desc *iods;	/* the kernel's side of the descriptors */
};

static int null_open(struct target *t, const char *arg, struct ublkit_dev_params *p)
{
	return 0;
}

static int calls;

static int fake_rw(struct target *t, struct ublk_queue *q, struct ublk_io *io)
{
	calls++;
	return (int)io->len - 512;
}

static int fake_queued(struct target *t, struct ublk_queue *q, struct ublk_io *io)
{
	calls++;
	return TARGET_QUEUED;
}

static int fake_done(struct target *t, struct ublk_queue *q, struct ublk_io *io,
		     const struct io_uring_cqe *cqe)
{
	return cqe->res == 1 ? TARGET_QUEUED : cqe->res * 2;
}

/* A target with read and write only; writes stay in flight. */
static const struct target_ops bare_ops = {
	.name = "bare", .open = null_open, .read = fake_rw, .write = fake_queued,
};
static const struct target_ops done_ops = {
	.name = "done", .open = null_open, .read = fake_rw, .write = fake_queued,
	.io_done = fake_done,
};

static void rig_init(struct rig *r, const struct target_ops *ops, uint16_t id, uint64_t dev_flags)
{
	/* the kernel's layout: each queue's 4096 descriptors of 24 bytes, page aligned */
	off_t off = (off_t)id * 4096 * 24;

	memset(r, 0, sizeof(*r));
	r->s.ctx = ctx;
	r->s.target.ops = ops;
	r->s.target.ctx = ctx;
	r->s.target.fd = -1;
	r->s.params.max_io_bytes = IO_BYTES;
	r->s.dev_flags = dev_flags;
	r->s.cdev_fd = memfd_create("ublkc", MFD_CLOEXEC);
	r->s.exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&r->s.lock, NULL);
	pthread_cond_init(&r->s.cond, NULL);
	CHECK_EQ(ftruncate(r->s.cdev_fd, 4 << 20), 0);
	r->iods = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_SHARED, r->s.cdev_fd, off);
	CHECK(r->iods != MAP_FAILED);
	r->q.s = &r->s;
	r->q.id = id;
	r->q.depth = DEPTH;
	r->q.wake_fd = -1;
	r->q.st = &r->st;
}

static void rig_ring(struct rig *r)
{
	int fds[1] = { r->s.cdev_fd };

	CHECK_EQ(io_uring_queue_init(16, &r->q.ring, 0), 0);
	CHECK_EQ(io_uring_register_files(&r->q.ring, fds, 1), 0);
	r->q.ring_ready = true;
}

static void rig_free(struct rig *r)
{
	queue_release(&r->q);
	if (r->q.ring_ready)
		io_uring_queue_exit(&r->q.ring);
	munmap(r->iods, 4096);
	close(r->s.cdev_fd);
	close(r->s.exit_fd);
	pthread_mutex_destroy(&r->s.lock);
	pthread_cond_destroy(&r->s.cond);
}

/* The kernel hands tag @tag a request. */
static void kernel_request(struct rig *r, unsigned int tag, uint8_t op, uint32_t flags,
			   uint64_t sector, uint32_t sectors, int res)
{
	struct io_uring_cqe cqe = { .user_data = ud(UD_CMD, tag), .res = res };
	struct ublk_io *io = &r->q.ios[tag];

	/* the kernel holds a FETCH (or COMMIT_AND_FETCH) of this tag */
	if (!io->cmd_in_flight) {
		io->cmd_in_flight = true;
		r->q.cmds_in_flight++;
	}
	r->iods[tag] = (struct ublksrv_io_desc){
		.op_flags = op | (flags << 8),
		.nr_sectors = sectors,
		.start_sector = sector,
	};
	queue_handle_cqe(&r->q, &cqe);
}

/* The SQE queued last on the ring (not yet submitted). */
static struct io_uring_sqe *last_sqe(struct rig *r)
{
	struct io_uring_sq *sq = &r->q.ring.sq;

	if (sq->sqe_tail == *sq->khead)
		return NULL;
	return &sq->sqes[(sq->sqe_tail - 1) & *sq->kring_mask];
}

static void test_prepare(void)
{
	void *iods, *bufs;
	unsigned char v;
	struct rig r;
	int wake;

	rig_init(&r, &bare_ops, 1, 0);
	r.iods[2].start_sector = 0x1234;
	CHECK_EQ(queue_prepare(&r.q), 0);
	/* queue 1's descriptors, shared with the kernel */
	CHECK(r.q.iods != NULL);
	CHECK_EQ(r.q.iods_len, 4096);
	CHECK_EQ(r.q.iods[2].start_sector, 0x1234);
	r.iods[3].nr_sectors = 99;
	CHECK_EQ(r.q.iods[3].nr_sectors, 99);
	for (unsigned int t = 0; t < DEPTH; t++) {
		CHECK_EQ(r.q.ios[t].tag, t);
		CHECK(r.q.ios[t].buf == (char *)r.q.bufs + t * IO_BYTES);
	}
	CHECK_EQ(r.q.bufs_len, DEPTH * IO_BYTES);
	memset(r.q.ios[DEPTH - 1].buf, 1, IO_BYTES);
	CHECK(!r.q.user_copy);
	CHECK(r.q.wake_fd >= 0);
	CHECK_EQ(r.q.cmd_fetch, UBLK_IO_FETCH_REQ);
	CHECK_EQ(r.q.cmd_commit, UBLK_IO_COMMIT_AND_FETCH_REQ);
	wake = r.q.wake_fd;
	iods = r.q.iods;
	bufs = r.q.bufs;
	queue_release(&r.q);
	CHECK(mincore(iods, 4096, &v) < 0 && errno == ENOMEM);
	CHECK(mincore(bufs, 4096, &v) < 0 && errno == ENOMEM);
	CHECK(r.q.iods == NULL && r.q.bufs == NULL && r.q.ios == NULL);
	CHECK_EQ(r.q.wake_fd, -1);
	CHECK_EQ(fcntl(wake, F_GETFD), -1);
	rig_free(&r);

	/* user copy: no buffers; the ioctl encoding when the kernel has it */
	rig_init(&r, &bare_ops, 0, UBLK_F_USER_COPY | UBLK_F_CMD_IOCTL_ENCODE);
	CHECK_EQ(queue_prepare(&r.q), 0);
	CHECK(r.q.user_copy);
	CHECK(r.q.bufs == NULL);
	CHECK(r.q.ios[1].buf == NULL);
	CHECK_EQ(r.q.cmd_fetch, UBLK_U_IO_FETCH_REQ);
	CHECK_EQ(r.q.cmd_commit, UBLK_U_IO_COMMIT_AND_FETCH_REQ);
	rig_free(&r);

	/* descriptors that fill whole pages take no more */
	rig_init(&r, &bare_ops, 0, 0);
	r.q.depth = 512;
	CHECK_EQ(queue_prepare(&r.q), 0);
	CHECK_EQ(r.q.iods_len, 512 * 24);
	CHECK_EQ(r.q.bufs_len, 512 * IO_BYTES);
	rig_free(&r);

	/* no descriptors to map */
	rig_init(&r, &bare_ops, 0, 0);
	close(r.s.cdev_fd);
	r.s.cdev_fd = open("/dev/null", O_RDWR);
	CHECK_EQ(queue_prepare(&r.q), -ENODEV);
	CHECK(r.q.iods == NULL);
	rig_free(&r);
}

static void test_request(void)
{
	struct io_uring_sqe *sqe;
	struct ublksrv_io_cmd *cmd;
	struct ublk_io *io;
	struct rig r;

	rig_init(&r, &bare_ops, 2, 0);
	CHECK_EQ(queue_prepare(&r.q), 0);
	rig_ring(&r);
	/* SQEs are reused: whatever the last one left must not leak into a command */
	memset(r.q.ring.sq.sqes, 0xff, 16 * sizeof(struct io_uring_sqe));
	calls = 0;
	test_log_reset();
	kernel_request(&r, 1, UBLK_IO_OP_READ, UBLK_IO_F_FUA, 1ULL << 33, 16, UBLK_IO_RES_OK);
	io = &r.q.ios[1];
	CHECK_EQ(calls, 1);
	CHECK_EQ(io->op, UBLK_IO_OP_READ);
	CHECK_EQ(io->flags, UBLK_IO_F_FUA);
	CHECK(io->offset == 1ULL << 42);
	CHECK_EQ(io->len, 8192);
	CHECK_EQ(io->done, 0);
	CHECK(io->start_ns > 0 && io->start_ns <= now_ns());
	/* the result goes back with the next fetch */
	CHECK_EQ(io->result, 8192 - 512);
	CHECK_EQ(io->cmd_op, UBLK_IO_COMMIT_AND_FETCH_REQ);
	CHECK(io->cmd_in_flight);
	CHECK_EQ(r.q.cmds_in_flight, 1);
	CHECK_EQ(r.q.target_in_flight, 0);
	sqe = last_sqe(&r);
	CHECK(sqe != NULL);
	if (sqe) {
		cmd = (struct ublksrv_io_cmd *)sqe->cmd;
		CHECK_EQ(sqe->opcode, IORING_OP_URING_CMD);
		CHECK_EQ(sqe->fd, QUEUE_FILE_CDEV);
		CHECK(sqe->flags & IOSQE_FIXED_FILE);
		CHECK_EQ(sqe->cmd_op, UBLK_IO_COMMIT_AND_FETCH_REQ);
		CHECK_EQ(sqe->user_data, (1ULL << 32) | 1);
		CHECK_EQ(cmd->q_id, 2);
		CHECK_EQ(cmd->tag, 1);
		CHECK_EQ(cmd->result, 8192 - 512);
		CHECK(cmd->addr == (uintptr_t)io->buf);
		CHECK_EQ(sqe->ioprio, 0);
		CHECK_EQ(sqe->len, 0);
		CHECK_EQ(sqe->rw_flags, 0);
		CHECK_EQ(sqe->personality, 0);
	}
	/* counted */
	CHECK_EQ(r.st.ops[UBLKIT_OP_READ], 1);
	CHECK_EQ(r.st.bytes[UBLKIT_OP_READ], 8192 - 512);
	CHECK_EQ(test_logged[UBLKIT_LOG_ERR], 0);

	/* a write the target keeps in flight: no commit until its I/O is done */
	kernel_request(&r, 2, UBLK_IO_OP_WRITE, 0, 8, 8, UBLK_IO_RES_OK);
	CHECK(r.q.ios[2].target_in_flight);
	CHECK_EQ(r.q.target_in_flight, 1);
	CHECK_EQ(r.q.cmds_in_flight, 1);
	CHECK(!r.q.ios[2].cmd_in_flight);
	/* no io_done: the completion's result is the request's */
	{
		struct io_uring_cqe cqe = { .user_data = ud(UD_TARGET, 2), .res = 4096 };

		queue_handle_cqe(&r.q, &cqe);
	}
	CHECK(!r.q.ios[2].target_in_flight);
	CHECK_EQ(r.q.target_in_flight, 0);
	CHECK_EQ(r.q.cmds_in_flight, 2);
	CHECK_EQ(r.q.ios[2].result, 4096);
	CHECK_EQ(r.st.ops[UBLKIT_OP_WRITE], 1);
	CHECK_EQ(r.st.bytes[UBLKIT_OP_WRITE], 4096);

	/* what the target does not have fails, and is counted as an error */
	kernel_request(&r, 0, UBLK_IO_OP_FLUSH, 0, 0, 0, UBLK_IO_RES_OK);
	CHECK_EQ(r.q.ios[0].result, 0); /* no cache: nothing to flush */
	kernel_request(&r, 3, UBLK_IO_OP_DISCARD, 0, 0, 8, UBLK_IO_RES_OK);
	CHECK_EQ(r.q.ios[3].result, -EOPNOTSUPP);
	CHECK_EQ(r.st.errors[UBLKIT_OP_DISCARD], 1);
	CHECK_EQ(r.st.ops[UBLKIT_OP_FLUSH], 1);
	CHECK_EQ(r.st.errors[UBLKIT_OP_FLUSH], 0);
	CHECK_EQ(r.q.cmds_in_flight, 4);
	rig_free(&r);
}

static void test_dispatch(void)
{
	struct rig r;

	rig_init(&r, &bare_ops, 0, 0);
	CHECK_EQ(queue_prepare(&r.q), 0);
	rig_ring(&r);
	calls = 0;
	kernel_request(&r, 0, UBLK_IO_OP_WRITE_ZEROES, 0, 0, 8, UBLK_IO_RES_OK);
	CHECK_EQ(r.q.ios[0].result, -EOPNOTSUPP);
	CHECK_EQ(r.st.ops[UBLKIT_OP_WRITE_ZEROES], 1);
	kernel_request(&r, 1, UBLK_IO_OP_WRITE_SAME, 0, 0, 8, UBLK_IO_RES_OK);
	CHECK_EQ(r.q.ios[1].result, -EOPNOTSUPP);
	kernel_request(&r, 2, 7, 0, 0, 8, UBLK_IO_RES_OK);
	CHECK_EQ(r.q.ios[2].result, -EOPNOTSUPP);
	CHECK_EQ(calls, 0);
	/* larger than the buffer: refused before the target sees it */
	kernel_request(&r, 3, UBLK_IO_OP_READ, 0, 0, IO_BYTES / 512 + 1, UBLK_IO_RES_OK);
	CHECK_EQ(r.q.ios[3].result, -EIO);
	CHECK_EQ(calls, 0);
	kernel_request(&r, 3, UBLK_IO_OP_READ, 0, 0, IO_BYTES / 512, UBLK_IO_RES_OK);
	CHECK_EQ(r.q.ios[3].result, (int)IO_BYTES - 512);
	CHECK_EQ(calls, 1);
	rig_free(&r);

	/* discard has no buffer: any length reaches the target */
	rig_init(&r, &target_mem_ops, 0, 0);
	r.s.target.priv = calloc(1, target_mem_ops.priv_size);
	r.s.params.size = 4 << 20;
	CHECK_EQ(target_mem_ops.open(&r.s.target, NULL, &r.s.params), 0);
	CHECK_EQ(queue_prepare(&r.q), 0);
	rig_ring(&r);
	kernel_request(&r, 0, UBLK_IO_OP_DISCARD, 0, 0, (2 << 20) / 512, UBLK_IO_RES_OK);
	CHECK_EQ(r.q.ios[0].result, 0);
	CHECK_EQ(r.st.bytes[UBLKIT_OP_DISCARD], 2 << 20);
	target_mem_ops.close(&r.s.target);
	free(r.s.target.priv);
	rig_free(&r);
}

static void test_cmd_completions(void)
{
	struct io_uring_cqe cqe;
	struct rig r;

	rig_init(&r, &bare_ops, 0, UBLK_F_CMD_IOCTL_ENCODE);
	CHECK_EQ(queue_prepare(&r.q), 0);
	rig_ring(&r);
	for (unsigned int t = 0; t < DEPTH; t++)
		CHECK_EQ(queue_send_cmd(&r.q, &r.q.ios[t], r.q.cmd_fetch, -1), 0);
	CHECK_EQ(r.q.cmds_in_flight, DEPTH);
	CHECK_EQ(r.q.ios[3].cmd_op, UBLK_U_IO_FETCH_REQ);

	/* interrupted before the kernel took it: the same command again */
	test_log_reset();
	cqe = (struct io_uring_cqe){ .user_data = ud(UD_CMD, 1), .res = -EINTR };
	queue_handle_cqe(&r.q, &cqe);
	CHECK_EQ(r.q.cmds_in_flight, DEPTH);
	CHECK(r.q.ios[1].cmd_in_flight);
	CHECK_EQ(last_sqe(&r)->cmd_op, UBLK_U_IO_FETCH_REQ);
	CHECK_EQ(((struct ublksrv_io_cmd *)last_sqe(&r)->cmd)->result, -1);
	cqe.res = -EAGAIN;
	queue_handle_cqe(&r.q, &cqe);
	CHECK_EQ(r.q.cmds_in_flight, DEPTH);
	CHECK(!r.q.aborted);
	CHECK_EQ(test_logged[UBLKIT_LOG_ERR], 0);
	/* tags beyond the queue are not ours */
	cqe = (struct io_uring_cqe){ .user_data = ud(UD_CMD, DEPTH), .res = 0 };
	queue_handle_cqe(&r.q, &cqe);
	CHECK_EQ(r.q.cmds_in_flight, DEPTH);
	/* the queue is going away: quietly */
	cqe = (struct io_uring_cqe){ .user_data = ud(UD_CMD, 0), .res = UBLK_IO_RES_ABORT };
	queue_handle_cqe(&r.q, &cqe);
	CHECK(r.q.aborted);
	CHECK_EQ(r.q.cmds_in_flight, DEPTH - 1);
	CHECK_EQ(test_logged[UBLKIT_LOG_ERR], 0);
	/* once aborted, nothing is sent again, and a commit only counts */
	cqe = (struct io_uring_cqe){ .user_data = ud(UD_CMD, 1), .res = -EINTR };
	queue_handle_cqe(&r.q, &cqe);
	CHECK_EQ(r.q.cmds_in_flight, DEPTH - 2);
	CHECK(!r.q.ios[1].cmd_in_flight);
	CHECK_EQ(test_logged[UBLKIT_LOG_ERR], 1);
	kernel_request(&r, 2, UBLK_IO_OP_READ, 0, 0, 8, UBLK_IO_RES_OK);
	CHECK_EQ(r.q.cmds_in_flight, DEPTH - 3);
	CHECK(!r.q.ios[2].cmd_in_flight);
	CHECK_EQ(r.st.ops[UBLKIT_OP_READ], 1);
	/* any other error is the kernel's complaint: logged */
	cqe = (struct io_uring_cqe){ .user_data = ud(UD_CMD, 3), .res = -EINVAL };
	queue_handle_cqe(&r.q, &cqe);
	CHECK_EQ(r.q.cmds_in_flight, 0);
	CHECK_EQ(test_logged[UBLKIT_LOG_ERR], 2);
	CHECK(strstr(test_last_error, "tag 3") && strstr(test_last_error, "-22"));
	/* the wake-up is armed on the ring, tagged as such */
	queue_arm_wake(&r.q);
	CHECK_EQ(last_sqe(&r)->user_data, ud(UD_WAKE, 0));
	CHECK_EQ(last_sqe(&r)->opcode, IORING_OP_READ);
	CHECK_EQ(last_sqe(&r)->fd, r.q.wake_fd);
	CHECK_EQ(last_sqe(&r)->len, sizeof(uint64_t));
	/* the wake-up: leave without waiting */
	CHECK(!r.q.abandon);
	cqe = (struct io_uring_cqe){ .user_data = ud(UD_WAKE, 0), .res = 8 };
	queue_handle_cqe(&r.q, &cqe);
	CHECK(r.q.abandon);
	rig_free(&r);
}

static void test_target_completions(void)
{
	struct io_uring_cqe cqe;
	struct rig r;

	rig_init(&r, &done_ops, 0, 0);
	CHECK_EQ(queue_prepare(&r.q), 0);
	rig_ring(&r);
	kernel_request(&r, 2, UBLK_IO_OP_WRITE, 0, 0, 8, UBLK_IO_RES_OK);
	CHECK_EQ(r.q.target_in_flight, 1);
	/* io_done wants more */
	cqe = (struct io_uring_cqe){ .user_data = ud(UD_TARGET, 2), .res = 1 };
	queue_handle_cqe(&r.q, &cqe);
	CHECK_EQ(r.q.target_in_flight, 1);
	CHECK(r.q.ios[2].target_in_flight);
	CHECK_EQ(r.q.cmds_in_flight, 0);
	/* io_done's result is committed */
	cqe.res = 2048;
	queue_handle_cqe(&r.q, &cqe);
	CHECK_EQ(r.q.target_in_flight, 0);
	CHECK_EQ(r.q.ios[2].result, 4096);
	CHECK_EQ(r.q.cmds_in_flight, 1);
	CHECK_EQ(r.st.bytes[UBLKIT_OP_WRITE], 4096);
	rig_free(&r);
}

static void test_user_copy(void)
{
	unsigned char in[4096], out[4096];
	struct ublk_io *io;
	struct rig r;
	off_t pos;

	rig_init(&r, &bare_ops, 3, UBLK_F_USER_COPY);
	CHECK_EQ(queue_prepare(&r.q), 0);
	io = &r.q.ios[2];
	pos = (off_t)(UBLKSRV_IO_BUF_OFFSET + (3ULL << UBLK_QID_OFF) + (2ULL << UBLK_TAG_OFF));
	CHECK_EQ(user_copy_pos(&r.q, io), pos);
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 13);
	CHECK_EQ(queue_copy_to_request(&r.q, io, in, sizeof(in)), 4096);
	CHECK_EQ(pread(r.s.cdev_fd, out, sizeof(out), pos), 4096);
	CHECK(memcmp(in, out, sizeof(in)) == 0);
	memset(out, 0, sizeof(out));
	CHECK_EQ(queue_copy_from_request(&r.q, io, out, sizeof(out)), 4096);
	CHECK(memcmp(in, out, sizeof(in)) == 0);
	/* a short device: the rest never comes */
	CHECK_EQ(ftruncate(r.s.cdev_fd, pos + 1000), 0);
	CHECK_EQ(queue_copy_from_request(&r.q, io, out, sizeof(out)), -EIO);
	CHECK_EQ(ftruncate(r.s.cdev_fd, pos - 1), 0);
	CHECK_EQ(queue_copy_from_request(&r.q, io, out, sizeof(out)), -EIO);
	/* a device that refuses the copy: its error */
	{
		int fd = r.s.cdev_fd;

		r.s.cdev_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		CHECK_EQ(queue_copy_from_request(&r.q, io, out, sizeof(out)), -EBADF);
		close(r.s.cdev_fd);
		r.s.cdev_fd = fd;
	}
	rig_free(&r);

	/* without it, a copy through the I/O buffer */
	rig_init(&r, &bare_ops, 0, 0);
	CHECK_EQ(queue_prepare(&r.q), 0);
	io = &r.q.ios[1];
	CHECK_EQ(queue_copy_to_request(&r.q, io, in, 1000), 1000);
	CHECK(memcmp(io->buf, in, 1000) == 0);
	CHECK_EQ(((unsigned char *)io->buf)[1000], 0);
	memset(out, 0, sizeof(out));
	CHECK_EQ(queue_copy_from_request(&r.q, io, out, 999), 999);
	CHECK(memcmp(out, in, 999) == 0);
	CHECK_EQ(out[999], 0);
	rig_free(&r);
}

/* The loop on a real ring: a read through the mem target, its commit refused. */
static void test_loop(void)
{
	struct rig r;

	rig_init(&r, &target_mem_ops, 0, 0);
	r.s.target.priv = calloc(1, target_mem_ops.priv_size);
	r.s.params.size = 1 << 20;
	CHECK_EQ(target_mem_ops.open(&r.s.target, NULL, &r.s.params), 0);
	CHECK_EQ(queue_prepare(&r.q), 0);
	rig_ring(&r);
	test_log_reset();
	memset(r.q.ios[0].buf, 0x77, 4096);
	kernel_request(&r, 0, UBLK_IO_OP_WRITE, 0, 8, 8, UBLK_IO_RES_OK);
	CHECK_EQ(r.q.ios[0].result, 4096);
	kernel_request(&r, 1, UBLK_IO_OP_READ, 0, 8, 8, UBLK_IO_RES_OK);
	CHECK_EQ(r.q.ios[1].result, 4096);
	CHECK_EQ(((unsigned char *)r.q.ios[1].buf)[4095], 0x77);
	CHECK_EQ(r.q.cmds_in_flight, 2);
	queue_loop(&r.q);
	/* the memfd refused both commits: the queue ends */
	CHECK(r.q.aborted);
	CHECK_EQ(r.q.cmds_in_flight, 0);
	CHECK_EQ(test_logged[UBLKIT_LOG_ERR], 2);
	CHECK(strstr(test_last_error, "kernel returned"));
	CHECK_EQ(r.st.in_flight, 0);
	target_mem_ops.close(&r.s.target);
	free(r.s.target.priv);
	rig_free(&r);
}

struct sched_probe {
	struct ublk_queue *q;
	int before;
	int after;
};

static void *probe_sched(void *arg)
{
	struct sched_probe *p = arg;
	struct sched_param sp = { 0 };
	int debug;

	if (p->before != SCHED_OTHER)
		sched_setscheduler(0, p->before, &sp);
	debug = test_logged[UBLKIT_LOG_DEBUG];
	queue_set_sched(p->q);
	CHECK_EQ(test_logged[UBLKIT_LOG_DEBUG], debug); /* it worked: nothing to say */
	p->after = sched_getscheduler(0);
	return NULL;
}

static int sched_after(struct ublk_queue *q, int before)
{
	struct sched_probe p = { .q = q, .before = before };
	pthread_t t;

	pthread_create(&t, NULL, probe_sched, &p);
	pthread_join(t, NULL);
	return p.after;
}

static void test_sched(void)
{
	struct rig r;

	rig_init(&r, &bare_ops, 0, 0);
	CHECK_EQ(sched_after(&r.q, SCHED_OTHER), SCHED_BATCH);
	/* a policy the server was started under stays */
	CHECK_EQ(sched_after(&r.q, SCHED_IDLE), SCHED_IDLE);
	r.s.params.flags = UBLKIT_DEV_LOW_LATENCY;
	CHECK_EQ(sched_after(&r.q, SCHED_OTHER), SCHED_OTHER);
	rig_free(&r);
}

/* The whole thread: rings up, every tag fetched, refused, gone, reported. */
static void test_thread(void)
{
	uint64_t v = 0;
	pthread_t t;
	struct rig r;

	rig_init(&r, &bare_ops, 0, 0);
	CHECK_EQ(queue_prepare(&r.q), 0);
	test_log_reset();
	pthread_create(&t, NULL, queue_thread, &r.q);
	pthread_join(t, NULL);
	CHECK_EQ(r.s.nr_ready, 1);
	CHECK_EQ(r.q.init_result, 0);
	CHECK(r.q.tid > 0 && r.q.tid != getpid());
	CHECK(!r.q.ring_ready);
	CHECK_EQ(r.q.cmds_in_flight, 0);
	CHECK(r.q.aborted);
	/* the FETCH of every tag went out, and came back refused */
	CHECK_EQ(test_logged[UBLKIT_LOG_ERR], DEPTH);
	CHECK_EQ(read(r.s.exit_fd, &v, sizeof(v)), (ssize_t)sizeof(v));
	CHECK_EQ(v, 1);
	rig_free(&r);

	/* a ring that cannot take the target's file: the start fails, and says so */
	rig_init(&r, &bare_ops, 0, 0);
	CHECK_EQ(queue_prepare(&r.q), 0);
	r.s.target.fd = 12345;
	test_log_reset();
	pthread_create(&t, NULL, queue_thread, &r.q);
	pthread_join(t, NULL);
	CHECK_EQ(r.s.nr_ready, 1);
	CHECK_EQ(r.q.init_result, -EBADF);
	CHECK(strstr(test_last_error, "cannot start"));
	CHECK_EQ(read(r.s.exit_fd, &v, sizeof(v)), (ssize_t)sizeof(v));
	rig_free(&r);
}

int main(void)
{
	ctx = test_ctx();
	RUN(test_prepare);
	RUN(test_request);
	RUN(test_dispatch);
	RUN(test_cmd_completions);
	RUN(test_target_completions);
	RUN(test_user_copy);
	RUN(test_loop);
	RUN(test_sched);
	RUN(test_thread);
	ublkit_ctx_unref(ctx);
	return test_result();
}
