/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One ublk queue: a thread with its own io_uring. Every tag keeps one
 * FETCH_REQ / COMMIT_AND_FETCH_REQ with the kernel; the request it brings
 * back is handed to the target, and its result goes back with the next
 * COMMIT_AND_FETCH_REQ. Target I/O shares the same ring.
 */
#include "config.h"

#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "ublkit-private.h"
#include "server-private.h"

#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif

enum { UD_CMD = 1, UD_TARGET = 2, UD_WAKE = 3 };

static inline uint64_t ud(unsigned int kind, unsigned int tag)
{
	return (uint64_t)kind << 32 | tag;
}

static inline unsigned int ud_kind(uint64_t u)
{
	return (unsigned int)(u >> 32);
}

static inline unsigned int ud_tag(uint64_t u)
{
	return (unsigned int)(u & 0xffff);
}

static size_t page_round(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (n + pg - 1) & ~(pg - 1);
}

/* Map the descriptors and allocate the buffers: everything before the
 * thread runs, so the I/O path never allocates. */
/*
 * Write to every page of a buffer, so that each is allocated now, before
 * the device starts: MAP_POPULATE does not say whether it succeeded, and
 * without locked memory (best effort) nothing else faults them in. A
 * swap server must not take a page fault that allocates on its I/O path.
 */
static void queue_touch(void *buf, size_t len)
{
	volatile char *p = buf;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	for (size_t off = 0; off < len; off += page)
		p[off] = 0;
}

int queue_prepare(struct ublk_queue *q)
{
	struct ublkit_server *s = q->s;
	size_t buf_bytes = s->params.max_io_bytes;
	off_t off;

	q->iods_len = page_round(UBLKIT_IOD_BYTES(q->depth));
	off = UBLKSRV_CMD_BUF_OFFSET +
	      (off_t)q->id * (off_t)page_round(UBLKIT_IOD_BYTES(UBLK_MAX_QUEUE_DEPTH));
	q->iods = mmap(NULL, q->iods_len, PROT_READ, MAP_SHARED | MAP_POPULATE, s->cdev_fd, off);
	if (q->iods == MAP_FAILED) {
		q->iods = NULL;
		return log_ret(s->ctx, neg_errno(), "queue %u: mmap descriptors", q->id);
	}
	q->ios = calloc(q->depth, sizeof(*q->ios));
	if (!q->ios)
		return -ENOMEM;
	for (unsigned int t = 0; t < q->depth; t++)
		q->ios[t].tag = (uint16_t)t;
	q->user_copy = s->dev_flags & UBLK_F_USER_COPY;
	if (!q->user_copy) {
		/* The kernel copies each request to and from these. */
		q->bufs_len = (size_t)q->depth * buf_bytes;
		q->bufs = mmap(NULL, q->bufs_len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (q->bufs == MAP_FAILED) {
			q->bufs = NULL;
			return -ENOMEM;
		}
		queue_touch(q->bufs, q->bufs_len);
		for (unsigned int t = 0; t < q->depth; t++)
			q->ios[t].buf = (char *)q->bufs + (size_t)t * buf_bytes;
	}
	q->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (q->wake_fd < 0)
		return neg_errno();
	q->cmd_fetch = UBLK_IO_FETCH_REQ;
	q->cmd_commit = UBLK_IO_COMMIT_AND_FETCH_REQ;
	if (s->dev_flags & UBLK_F_CMD_IOCTL_ENCODE) {
		q->cmd_fetch = UBLK_U_IO_FETCH_REQ;
		q->cmd_commit = UBLK_U_IO_COMMIT_AND_FETCH_REQ;
	}
	return 0;
}

void queue_release(struct ublk_queue *q)
{
	if (q->iods)
		munmap(q->iods, q->iods_len);
	if (q->bufs)
		munmap(q->bufs, q->bufs_len);
	if (q->wake_fd >= 0)
		close(q->wake_fd);
	free(q->ios);
	q->iods = NULL;
	q->bufs = NULL;
	q->ios = NULL;
	q->wake_fd = -1;
}

static struct io_uring_sqe *queue_sqe(struct ublk_queue *q)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);

	if (_unlikely_(!sqe)) {
		io_uring_submit(&q->ring);
		sqe = io_uring_get_sqe(&q->ring);
	}
	return sqe;
}

struct io_uring_sqe *queue_get_sqe(struct ublk_queue *q, struct ublk_io *io)
{
	struct io_uring_sqe *sqe = queue_sqe(q);

	if (sqe)
		io_uring_sqe_set_data64(sqe, ud(UD_TARGET, io->tag));
	return sqe;
}

/* Where request @io's data appears in /dev/ublkcN under UBLK_F_USER_COPY. */
static off_t user_copy_pos(const struct ublk_queue *q, const struct ublk_io *io)
{
	return (off_t)(UBLKSRV_IO_BUF_OFFSET + ((uint64_t)q->id << UBLK_QID_OFF) +
		       ((uint64_t)io->tag << UBLK_TAG_OFF));
}

static int user_copy(struct ublk_queue *q, struct ublk_io *io, void *mem, size_t len,
		     bool to_request)
{
	int fd = q->s->cdev_fd;
	off_t pos = user_copy_pos(q, io);
	size_t done = 0;

	while (done < len) {
		ssize_t n = to_request ? pwrite(fd, (char *)mem + done, len - done, pos + (off_t)done)
				       : pread(fd, (char *)mem + done, len - done, pos + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? neg_errno() : -EIO;
		done += (size_t)n;
	}
	return (int)len;
}

int queue_copy_to_request(struct ublk_queue *q, struct ublk_io *io, const void *src, size_t len)
{
	if (q->user_copy)
		return user_copy(q, io, (void *)src, len, true);
	data_copy(io->buf, src, len);
	return (int)len;
}

int queue_copy_from_request(struct ublk_queue *q, struct ublk_io *io, void *dst, size_t len)
{
	if (q->user_copy)
		return user_copy(q, io, dst, len, false);
	data_copy(dst, io->buf, len);
	return (int)len;
}

static int queue_send_cmd(struct ublk_queue *q, struct ublk_io *io, unsigned int op, int result)
{
	struct io_uring_sqe *sqe = queue_sqe(q);
	struct ublksrv_io_cmd *cmd;

	if (!sqe)
		return -EBUSY;
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = QUEUE_FILE_CDEV;
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->cmd_op = op;
	sqe->user_data = ud(UD_CMD, io->tag);
	cmd = (struct ublksrv_io_cmd *)sqe->cmd;
	cmd->q_id = q->id;
	cmd->tag = io->tag;
	cmd->result = result;
	cmd->addr = (uint64_t)(uintptr_t)io->buf;
	io->cmd_op = op;
	io->result = result;
	io->cmd_in_flight = true;
	q->cmds_in_flight++;
	return 0;
}

static int stat_op(uint8_t op)
{
	switch (op) {
	case UBLK_IO_OP_READ: return UBLKIT_OP_READ;
	case UBLK_IO_OP_WRITE: return UBLKIT_OP_WRITE;
	case UBLK_IO_OP_FLUSH: return UBLKIT_OP_FLUSH;
	case UBLK_IO_OP_DISCARD: return UBLKIT_OP_DISCARD;
	default: return UBLKIT_OP_WRITE_ZEROES;
	}
}

static void queue_commit(struct ublk_queue *q, struct ublk_io *io, int result)
{
	stats_record(q->st, stat_op(io->op), result, io->len, now_ns() - io->start_ns);
	if (q->aborted)
		return;
	if (queue_send_cmd(q, io, q->cmd_commit, result) < 0)
		log_error(q->s->ctx, "queue %u tag %u: no SQE for the commit", q->id, io->tag);
}

static int queue_dispatch(struct ublk_queue *q, struct ublk_io *io)
{
	const struct target_ops *ops = q->s->target.ops;
	struct target *t = &q->s->target;
	int (*fn)(struct target *, struct ublk_queue *, struct ublk_io *) = NULL;

	switch (io->op) {
	case UBLK_IO_OP_READ: fn = ops->read; break;
	case UBLK_IO_OP_WRITE: fn = ops->write; break;
	case UBLK_IO_OP_FLUSH:
		if (!ops->flush)
			return 0;
		fn = ops->flush;
		break;
	case UBLK_IO_OP_DISCARD: fn = ops->discard; break;
	case UBLK_IO_OP_WRITE_ZEROES: fn = ops->write_zeroes; break;
	default: break;
	}
	if (!fn)
		return -EOPNOTSUPP;
	if (io->len > q->s->params.max_io_bytes && io->op <= UBLK_IO_OP_WRITE)
		return -EIO;
	return fn(t, q, io);
}

static void queue_new_request(struct ublk_queue *q, struct ublk_io *io)
{
	const struct ublksrv_io_desc *iod = &q->iods[io->tag];
	int r;

	io->op = ublksrv_get_op(iod);
	io->flags = ublksrv_get_flags(iod);
	io->offset = iod->start_sector << 9;
	io->len = iod->nr_sectors << 9;
	io->done = 0;
	io->start_ns = now_ns();
	r = queue_dispatch(q, io);
	if (r == TARGET_QUEUED) {
		io->target_in_flight = true;
		q->target_in_flight++;
		return;
	}
	queue_commit(q, io, r);
}

static void queue_cmd_done(struct ublk_queue *q, struct ublk_io *io, int res)
{
	io->cmd_in_flight = false;
	q->cmds_in_flight--;
	if (_likely_(res == UBLK_IO_RES_OK)) {
		queue_new_request(q, io);
		return;
	}
	/* Interrupted before the kernel took it: send the same command again. */
	if ((res == -EINTR || res == -EAGAIN) && !q->aborted &&
	    queue_send_cmd(q, io, io->cmd_op, io->result) == 0)
		return;
	if (res != UBLK_IO_RES_ABORT)
		log_error(q->s->ctx, "queue %u tag %u: kernel returned %d", q->id, io->tag, res);
	q->aborted = true;
}

static void queue_target_done(struct ublk_queue *q, struct ublk_io *io,
			      const struct io_uring_cqe *cqe)
{
	const struct target_ops *ops = q->s->target.ops;
	int r = ops->io_done ? ops->io_done(&q->s->target, q, io, cqe) : cqe->res;

	if (r == TARGET_QUEUED)
		return;
	io->target_in_flight = false;
	q->target_in_flight--;
	queue_commit(q, io, r);
}

static void queue_arm_wake(struct ublk_queue *q)
{
	struct io_uring_sqe *sqe = queue_sqe(q);

	if (!sqe)
		return;
	io_uring_prep_read(sqe, q->wake_fd, &q->wake_buf, sizeof(q->wake_buf), 0);
	io_uring_sqe_set_data64(sqe, ud(UD_WAKE, 0));
}

static void queue_handle_cqe(struct ublk_queue *q, const struct io_uring_cqe *cqe)
{
	unsigned int kind = ud_kind(cqe->user_data), tag = ud_tag(cqe->user_data);

	if (kind == UD_WAKE) {
		q->abandon = true;
		return;
	}
	if (_unlikely_(tag >= q->depth))
		return;
	if (kind == UD_CMD)
		queue_cmd_done(q, &q->ios[tag], cqe->res);
	else if (kind == UD_TARGET)
		queue_target_done(q, &q->ios[tag], cqe);
}

static int queue_ring_init(struct ublk_queue *q)
{
	unsigned int entries = 2u * q->depth + 2;
	struct io_uring_params p = { 0 };
	int fds[2] = { q->s->cdev_fd, q->s->target.fd };
	int r;

	/* Fastest first: task work runs only when this thread waits (6.1+). */
	static const unsigned int setups[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
		0,
	};

	r = -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(setups) && r == -EINVAL; i++) {
		memset(&p, 0, sizeof(p));
		p.flags = setups[i];
		r = io_uring_queue_init_params(entries, &q->ring, &p);
	}
	if (r < 0)
		return r;
	q->ring_ready = true;
	return io_uring_register_files(&q->ring, fds, fds[1] >= 0 ? 2 : 1);
}

static void queue_signal_ready(struct ublk_queue *q, int result)
{
	struct ublkit_server *s = q->s;

	pthread_mutex_lock(&s->lock);
	q->init_result = result;
	s->nr_ready++;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static int queue_start(struct ublk_queue *q)
{
	int r = queue_ring_init(q);

	if (r < 0)
		return r;
	for (unsigned int t = 0; t < q->depth; t++) {
		r = queue_send_cmd(q, &q->ios[t], q->cmd_fetch, -1);
		if (r < 0)
			return r;
	}
	queue_arm_wake(q);
	r = io_uring_submit(&q->ring);
	return r < 0 ? r : 0;
}

static void queue_loop(struct ublk_queue *q)
{
	while (!q->abandon && (q->cmds_in_flight || q->target_in_flight)) {
		struct io_uring_cqe *cqe;
		unsigned int head, n = 0;
		int r;

		r = io_uring_submit_and_wait(&q->ring, 1);
		if (r < 0 && r != -EINTR && r != -EBUSY && r != -EAGAIN) {
			log_error(q->s->ctx, "queue %u: io_uring: %s", q->id, strerror(-r));
			break;
		}
		io_uring_for_each_cqe(&q->ring, head, cqe) {
			queue_handle_cqe(q, cqe);
			n++;
		}
		io_uring_cq_advance(&q->ring, n);
		__atomic_store_n(&q->st->in_flight, q->target_in_flight, __ATOMIC_RELAXED);
	}
}

/*
 * By default a queue thread runs SCHED_BATCH: a request arriving does not
 * preempt the task that submitted it, so the submitter goes on queueing
 * until it waits, and the thread then takes the whole batch in one
 * wake-up. On busy CPUs that cuts context switches per request several-fold;
 * the price is up to a scheduler slice of added latency when the CPU is
 * busy with something else. UBLKIT_DEV_LOW_LATENCY keeps SCHED_OTHER, and
 * a policy the server was started with (chrt -f, say) is left alone.
 */
static void queue_set_sched(struct ublk_queue *q)
{
	struct sched_param sp = { 0 };

	if ((q->s->params.flags & UBLKIT_DEV_LOW_LATENCY) || sched_getscheduler(0) != SCHED_OTHER)
		return;
	if (sched_setscheduler(0, SCHED_BATCH, &sp) < 0)
		log_debug(q->s->ctx, "queue %u: SCHED_BATCH: %m", q->id);
}

void *queue_thread(void *arg)
{
	struct ublk_queue *q = arg;
	uint64_t one = 1;
	char name[16];
	int r;

	q->tid = (pid_t)syscall(SYS_gettid);
	snprintf(name, sizeof(name), "ublkit-q%u", q->id);
	prctl(PR_SET_NAME, name);
	queue_set_sched(q);
	r = queue_start(q);
	queue_signal_ready(q, r);
	if (r == 0)
		queue_loop(q);
	else
		log_error(q->s->ctx, "queue %u: cannot start: %s", q->id, strerror(-r));
	/* Closing the ring cancels whatever the kernel still holds. */
	if (q->ring_ready) {
		io_uring_queue_exit(&q->ring);
		q->ring_ready = false;
	}
	if (write(q->s->exit_fd, &one, sizeof(one)) < 0)
		log_debug(q->s->ctx, "queue %u: exit notification: %m", q->id);
	return NULL;
}
