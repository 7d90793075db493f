/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A ublk server: validates parameters, adds the device, runs one thread
 * per queue, starts the device from the calling thread (never from an I/O
 * thread: START_DEV reads the partition table through the queues), and
 * takes everything down again in order.
 */
#include "config.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <time.h>

#include "ublkit-private.h"
#include "ctx-private.h"
#include "server-private.h"
#include "proc-private.h"
#include "name-private.h"

#define MAX_IO_BYTES_LIMIT (1u << 20)
#define DEFAULT_MAX_DISCARD_BYTES (1u << 30)
#define READY_TIMEOUT_S 30
#define QUEUE_STACK_BYTES (256u << 10)

UBLKIT_EXPORT void ublkit_dev_params_init_sz(struct ublkit_dev_params *out, size_t size)
{
	struct ublkit_dev_params p = {
		.dev_id = -1,
		.nr_queues = 1,
		.queue_depth = UBLKIT_DEFAULT_QUEUE_DEPTH,
		.max_io_bytes = UBLKIT_DEFAULT_MAX_IO_BYTES,
	};

	memset(out, 0, size);
	struct_out(out, size, &p, sizeof(p));
}

UBLKIT_EXPORT int ublkit_ublk_block_path(uint32_t id, char *buf, size_t size)
{
	int n = snprintf(buf, size, "/dev/ublkb%u", id);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

UBLKIT_EXPORT int ublkit_ublk_disk_size(struct ublkit_ctx *ctx, uint32_t id, uint64_t *bytes)
{
	char p[64];
	uint64_t sectors;
	int r;

	snprintf(p, sizeof(p), "/sys/block/ublkb%u/size", id);
	r = ublkit_read_u64(ctx, p, &sectors);
	if (r == -ENOENT) {
		*bytes = 0;
		return 0;
	}
	if (r < 0)
		return r;
	*bytes = sectors << 9;
	return 0;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static int ilog2_u32(uint32_t v)
{
	return 31 - __builtin_clz(v);
}

#define INVALID(ctx, ...) (log_error(ctx, __VA_ARGS__), -EINVAL)

/* Block sizes, the queues and the id: 0 keeps a default. */
static int params_check_geometry(struct ublkit_ctx *ctx, const struct ublkit_dev_params *p)
{
	uint32_t lbs = p->logical_block_size ? p->logical_block_size : 512;

	if (p->logical_block_size &&
	    (!is_pow2(p->logical_block_size) || p->logical_block_size < 512 ||
	     p->logical_block_size > 4096))
		return INVALID(ctx, "logical block size %u: must be a power of two from 512 to 4096",
			       p->logical_block_size);
	if (p->physical_block_size &&
	    (!is_pow2(p->physical_block_size) || p->physical_block_size < lbs ||
	     p->physical_block_size > (1u << 16)))
		return INVALID(ctx, "physical block size %u: must be a power of two from the "
			       "logical block size (%u) to 65536",
			       p->physical_block_size, lbs);
	if (p->size % lbs)
		return INVALID(ctx, "size %llu is not a multiple of the logical block size %u",
			       (unsigned long long)p->size, lbs);
	if (p->nr_queues > UBLKIT_MAX_QUEUES)
		return INVALID(ctx, "%u queues: must be 1 to %u", p->nr_queues, UBLKIT_MAX_QUEUES);
	if (p->queue_depth > UBLK_MAX_QUEUE_DEPTH)
		return INVALID(ctx, "queue depth %u: must be 1 to %u (the kernel's maximum)",
			       p->queue_depth, UBLK_MAX_QUEUE_DEPTH);
	if (p->max_io_bytes && (p->max_io_bytes < 4096 || p->max_io_bytes > MAX_IO_BYTES_LIMIT ||
				p->max_io_bytes % 4096 || p->max_io_bytes < lbs))
		return INVALID(ctx, "max I/O size %u: must be a multiple of 4096 from 4096 to %u",
			       p->max_io_bytes, MAX_IO_BYTES_LIMIT);
	if (p->discard_granularity &&
	    (!is_pow2(p->discard_granularity) || p->discard_granularity < lbs))
		return INVALID(ctx, "discard granularity %u: must be a power of two of at least "
			       "the logical block size", p->discard_granularity);
	if (p->dev_id < -1 || p->dev_id > (int32_t)UBLKIT_DEV_ID_MAX)
		return INVALID(ctx, "device id %d: must be 0 to %u", p->dev_id, UBLKIT_DEV_ID_MAX);
	return 0;
}

/* What @target needs of the parameters and its argument. */
static int params_check_target(struct ublkit_ctx *ctx, const struct ublkit_dev_params *p,
			       const struct target_ops *ops, const char *target_arg)
{
	if ((ops->flags & UBLKIT_TARGET_NEEDS_SIZE) && !p->size)
		return INVALID(ctx, "target %s needs a size", ops->name);
	if ((ops->flags & UBLKIT_TARGET_NEEDS_PATH) && !target_arg)
		return INVALID(ctx, "target %s needs a file or block device", ops->name);
	if (!(ops->flags & UBLKIT_TARGET_NEEDS_PATH) && target_arg && *target_arg)
		return INVALID(ctx, "target %s takes no file", ops->name);
	if (target_arg && name_check_path(ctx, "backing file", target_arg) < 0)
		return -EINVAL;
	if ((p->flags & UBLKIT_DEV_SWAP) && !(ops->flags & UBLKIT_TARGET_MAY_BACK_SWAP))
		return INVALID(ctx, "target %s cannot back swap: it allocates memory while "
			       "serving I/O (use the file target)", ops->name);
	return 0;
}

static int params_check(struct ublkit_ctx *ctx, const struct ublkit_dev_params *p,
			const char *target, const char *target_arg)
{
	const struct target_ops *ops = target ? target_find(target) : NULL;
	char shown[40];
	int r;

	if (target && !ops)
		return INVALID(ctx, "unknown target '%s' (one of null, mem, file)",
			       name_printable(target, shown, sizeof(shown)));
	r = params_check_geometry(ctx, p);
	if (r < 0 || !ops)
		return r;
	return params_check_target(ctx, p, ops, target_arg);
}

UBLKIT_EXPORT int ublkit_dev_params_check_sz(struct ublkit_ctx *ctx,
					     const struct ublkit_dev_params *params,
					     size_t params_size, const char *target,
					     const char *target_arg)
{
	struct ublkit_dev_params p;
	int r;

	if (!params)
		return -EINVAL;
	ublkit_dev_params_init(&p);
	r = struct_in(&p, sizeof(p), params, params_size);
	if (r < 0)
		return log_ret(ctx, r, "the device parameters hold fields this libublkit does not know");
	return params_check(ctx, &p, target, target_arg);
}

/* Fill in defaults and check every limit the kernel would reject. */
static int params_validate(struct ublkit_ctx *ctx, struct ublkit_dev_params *p)
{
	if (!p->logical_block_size)
		p->logical_block_size = 512;
	if (!p->physical_block_size)
		p->physical_block_size = p->logical_block_size;
	if (!p->discard_granularity)
		p->discard_granularity = p->logical_block_size;
	if (!p->max_discard_bytes)
		p->max_discard_bytes = DEFAULT_MAX_DISCARD_BYTES;
	if (!p->size)
		return INVALID(ctx, "size is 0: give a size");
	if (!p->nr_queues)
		return INVALID(ctx, "0 queues: must be 1 to %u", UBLKIT_MAX_QUEUES);
	if (!p->queue_depth)
		return INVALID(ctx, "queue depth 0: must be 1 to %u (the kernel's maximum)",
			       UBLK_MAX_QUEUE_DEPTH);
	if (!p->max_io_bytes)
		return INVALID(ctx, "max I/O size 0: must be a multiple of 4096 from 4096 to %u",
			       MAX_IO_BYTES_LIMIT);
	return params_check_geometry(ctx, p);
}

UBLKIT_EXPORT int ublkit_server_new_sz(struct ublkit_ctx *ctx,
				       const struct ublkit_dev_params *params, size_t params_size,
				       const char *target, const char *target_arg,
				       struct ublkit_server **ret)
{
	const struct target_ops *ops = target_find(target);
	struct ublkit_dev_params p;
	struct ublkit_server *s;
	int r;

	ublkit_dev_params_init(&p);
	r = struct_in(&p, sizeof(p), params, params_size);
	if (r < 0)
		return log_ret(ctx, r, "the device parameters hold fields this libublkit does not know");
	r = params_check(ctx, &p, target ? target : "", target_arg);
	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->refcount = 1;
	s->ctx = ublkit_ctx_ref(ctx);
	s->params = p;
	s->id = -1;
	s->cdev_fd = -1;
	s->exit_fd = -1;
	s->target.ops = ops;
	s->target.ctx = ctx;
	s->target.fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	snprintf(s->target_name, sizeof(s->target_name), "%s", ops->name);
	s->target_arg = target_arg ? strdup(target_arg) : NULL;
	if (ops->priv_size && !(s->target.priv = calloc(1, ops->priv_size))) {
		ublkit_server_unref(s);
		return -ENOMEM;
	}
	r = ops->open(&s->target, target_arg, &s->params);
	if (r == 0)
		r = params_validate(ctx, &s->params);
	if (r < 0) {
		ublkit_server_unref(s);
		return r;
	}
	*ret = s;
	return 0;
}

UBLKIT_EXPORT struct ublkit_server *ublkit_server_ref(struct ublkit_server *s)
{
	if (s)
		s->refcount++;
	return s;
}

UBLKIT_EXPORT struct ublkit_server *ublkit_server_unref(struct ublkit_server *s)
{
	if (!s || --s->refcount > 0)
		return NULL;
	ublkit_server_stop(s);
	if (s->target.ops->close)
		s->target.ops->close(&s->target);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s->target.priv);
	free(s->target_arg);
	ublkit_ctx_unref(s->ctx);
	free(s);
	return NULL;
}

UBLKIT_EXPORT const struct ublkit_dev_params *ublkit_server_get_params(const struct ublkit_server *s)
{
	return &s->params;
}

UBLKIT_EXPORT int ublkit_server_get_id(const struct ublkit_server *s)
{
	return s->id;
}

static uint64_t wanted_flags(struct ublkit_server *s, uint64_t offered)
{
	uint64_t f = UBLK_F_URING_CMD_COMP_IN_TASK;

	f |= offered & UBLK_F_CMD_IOCTL_ENCODE;
	if (s->target.user_copy_ok)
		f |= offered & UBLK_F_USER_COPY;
	if (s->params.flags & UBLKIT_DEV_RECOVERY)
		f |= UBLK_F_USER_RECOVERY | (offered & UBLK_F_USER_RECOVERY_REISSUE);
	return f;
}

int server_manifest_write(struct ublkit_server *s)
{
	struct ublkit_manifest m;

	manifest_init(&m);
	m.id = (uint32_t)s->id;
	m.params = s->params;
	m.server_pid = (int32_t)getpid();
	m.server_start = proc_start_time(s->ctx, getpid());
	snprintf(m.target, sizeof(m.target), "%s", s->target_name);
	snprintf(m.target_arg, sizeof(m.target_arg), "%s", s->target_arg ? s->target_arg : "");
	return manifest_write(s->ctx, &m);
}

static int server_add(struct ublkit_server *s)
{
	struct ublkit_uapi_dev_info di = {
		.nr_hw_queues = s->params.nr_queues,
		.queue_depth = s->params.queue_depth,
		.max_io_buf_bytes = s->params.max_io_bytes,
		.dev_id = s->params.dev_id < 0 ? (uint32_t)-1 : (uint32_t)s->params.dev_id,
		.ublksrv_pid = getpid(),
		.ublksrv_flags = UBLKIT_OWNER_MARK,
	};
	uint64_t offered = 0, want;
	int r;

	r = ublkit_ublk_get_features(s->ctx, &offered);
	if (r < 0 && r != -EOPNOTSUPP)
		return r;
	if ((s->params.flags & UBLKIT_DEV_RECOVERY) && r == 0 &&
	    !(offered & UBLK_F_USER_RECOVERY)) {
		log_error(s->ctx, "the kernel does not offer user recovery (UBLK_F_USER_RECOVERY)");
		return -EOPNOTSUPP;
	}
	want = wanted_flags(s, offered);
	di.flags = want;
	r = ublk_ctrl_cmd(s->ctx, UBLK_CMD_ADD_DEV, di.dev_id, &di, sizeof(di), 0);
	if (r < 0)
		return r;
	s->id = (int)di.dev_id;
	s->added = true;
	s->dev_flags = di.flags;
	/* A kernel drops flags it does not know: check what it kept. */
	if ((want & ~UBLK_F_URING_CMD_COMP_IN_TASK) & ~di.flags) {
		log_error(s->ctx, "ublk%d: the kernel refused flags 0x%llx", s->id,
			  (unsigned long long)(want & ~di.flags));
		return -EOPNOTSUPP;
	}
	if (di.nr_hw_queues != s->params.nr_queues) {
		log_notice(s->ctx, "ublk%d: the kernel allows %u queues (asked for %u)", s->id,
			   di.nr_hw_queues, s->params.nr_queues);
		s->params.nr_queues = di.nr_hw_queues;
	}
	s->params.queue_depth = di.queue_depth;
	/* Written now, so the server is known before START_DEV (the kernel
	 * reports no server pid until then). */
	r = server_manifest_write(s);
	if (r < 0)
		return log_ret(s->ctx, r, "ublk%d: cannot write the manifest", s->id);
	return 0;
}

static int server_set_params(struct ublkit_server *s)
{
	const struct ublkit_dev_params *p = &s->params;
	const struct target_ops *ops = s->target.ops;
	struct ublk_params up = { .len = sizeof(up), .types = UBLK_PARAM_TYPE_BASIC };
	uint32_t attrs = 0;

	if (p->flags & UBLKIT_DEV_READ_ONLY)
		attrs |= UBLK_ATTR_READ_ONLY;
	if (p->flags & UBLKIT_DEV_ROTATIONAL)
		attrs |= UBLK_ATTR_ROTATIONAL;
	if ((p->flags & UBLKIT_DEV_VOLATILE_CACHE) || s->target.volatile_cache)
		attrs |= UBLK_ATTR_VOLATILE_CACHE;
	if (p->flags & UBLKIT_DEV_FUA)
		attrs |= UBLK_ATTR_FUA;
	up.basic = (struct ublk_param_basic){
		.attrs = attrs,
		.logical_bs_shift = (uint8_t)ilog2_u32(p->logical_block_size),
		.physical_bs_shift = (uint8_t)ilog2_u32(p->physical_block_size),
		.io_opt_shift = (uint8_t)ilog2_u32(p->physical_block_size),
		.io_min_shift = (uint8_t)ilog2_u32(p->logical_block_size),
		.max_sectors = p->max_io_bytes >> 9,
		.dev_sectors = p->size >> 9,
	};
	if (ops->discard && !(p->flags & (UBLKIT_DEV_NO_DISCARD | UBLKIT_DEV_READ_ONLY))) {
		up.types |= UBLK_PARAM_TYPE_DISCARD;
		up.discard = (struct ublk_param_discard){
			.discard_granularity = p->discard_granularity,
			.max_discard_sectors = p->max_discard_bytes >> 9,
			.max_write_zeroes_sectors = ops->write_zeroes ? p->max_discard_bytes >> 9 : 0,
			.max_discard_segments = 1,
		};
	}
	return ublk_ctrl_cmd(s->ctx, UBLK_CMD_SET_PARAMS, (uint32_t)s->id, &up, sizeof(up), 0);
}

/* devtmpfs creates the node at once; give udev a moment where it does not. */
static int server_open_cdev(struct ublkit_server *s)
{
	char p[64];

	snprintf(p, sizeof(p), "/dev/ublkc%d", s->id);
	for (int i = 0; i < 100; i++) {
		s->cdev_fd = ublkit_open(s->ctx, p, O_RDWR);
		if (s->cdev_fd >= 0)
			return 0;
		if (s->cdev_fd != -ENOENT)
			break;
		usleep(20000);
	}
	return log_ret(s->ctx, s->cdev_fd, "cannot open %s", p);
}

static int server_spawn_queues(struct ublkit_server *s)
{
	unsigned int n = s->params.nr_queues;
	pthread_attr_t attr;
	sigset_t all;
	int r;

	s->exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->exit_fd < 0)
		return neg_errno();
	r = stats_create(s->ctx, (uint32_t)s->id, n, &s->stats, &s->stats_len);
	if (r < 0)
		return log_ret(s->ctx, r, "ublk%d: cannot create the stats file", s->id);
	s->queues = calloc(n, sizeof(*s->queues));
	if (!s->queues)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		struct ublk_queue *q = &s->queues[i];

		q->s = s;
		q->id = (uint16_t)i;
		q->depth = s->params.queue_depth;
		q->wake_fd = -1;
		q->st = &s->stats->q[i];
		r = queue_prepare(q);
		if (r < 0)
			return r;
	}
	/* I/O threads take no signals: the caller handles them. Set through
	 * the attribute, so the caller's own mask is never touched. */
	sigfillset(&all);
	r = -pthread_attr_init(&attr);
	if (r == 0)
		r = -pthread_attr_setsigmask_np(&attr, &all);
	/* A queue thread needs little stack; a server that locks its memory
	 * would otherwise lock 8 MiB per queue. */
	if (r == 0)
		r = -pthread_attr_setstacksize(&attr, QUEUE_STACK_BYTES);
	for (unsigned int i = 0; i < n && r == 0; i++) {
		r = -pthread_create(&s->queues[i].thread, &attr, queue_thread, &s->queues[i]);
		s->queues[i].thread_started = r == 0;
	}
	pthread_attr_destroy(&attr);
	return r;
}

/* Wait until every started queue has fetched (or failed to). */
static int server_wait_ready(struct ublkit_server *s)
{
	struct timespec dl;
	unsigned int started = 0;
	int r = 0;

	for (unsigned int i = 0; i < s->params.nr_queues; i++)
		started += s->queues[i].thread_started;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += READY_TIMEOUT_S;
	pthread_mutex_lock(&s->lock);
	while (s->nr_ready < started && r == 0)
		r = -pthread_cond_timedwait(&s->cond, &s->lock, &dl);
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		return log_ret(s->ctx, -ETIMEDOUT, "ublk%d: queues did not start", s->id);
	for (unsigned int i = 0; i < s->params.nr_queues; i++)
		if (s->queues[i].init_result < 0)
			return s->queues[i].init_result;
	return started == s->params.nr_queues ? 0 : -EAGAIN;
}

static void server_join_queues(struct ublkit_server *s, bool abandon)
{
	uint64_t one = 1;

	if (!s->queues)
		return;
	for (unsigned int i = 0; i < s->params.nr_queues; i++) {
		struct ublk_queue *q = &s->queues[i];

		if (abandon && q->thread_started && q->wake_fd >= 0 &&
		    write(q->wake_fd, &one, sizeof(one)) < 0)
			log_debug(s->ctx, "queue %u: wake: %m", i);
	}
	for (unsigned int i = 0; i < s->params.nr_queues; i++) {
		struct ublk_queue *q = &s->queues[i];

		if (q->thread_started)
			pthread_join(q->thread, NULL);
		q->thread_started = false;
		queue_release(q);
	}
	free(s->queues);
	s->queues = NULL;
}

/* Returns the first error; the teardown goes on after one. */
static int server_teardown(struct ublkit_server *s, bool abandon)
{
	int r, ret = 0;

	if (s->started) {
		r = ublkit_ublk_stop(s->ctx, (uint32_t)s->id);
		if (r < 0 && r != -ENODEV) {
			log_warn(s->ctx, "ublk%d: STOP_DEV: %s", s->id, strerror(-r));
			ret = r;
		}
	}
	server_join_queues(s, abandon || !s->started);
	if (s->cdev_fd >= 0)
		close(s->cdev_fd);
	s->cdev_fd = -1;
	if (s->added) {
		r = ublkit_ublk_del(s->ctx, (uint32_t)s->id);
		if (r < 0 && r != -ENODEV) {
			log_warn(s->ctx, "ublk%d: DEL_DEV: %s", s->id, strerror(-r));
			ret = ret ? ret : r;
		}
		manifest_remove(s->ctx, (uint32_t)s->id);
	}
	if (s->stats)
		munmap(s->stats, s->stats_len);
	s->stats = NULL;
	if (s->exit_fd >= 0)
		close(s->exit_fd);
	s->exit_fd = -1;
	s->nr_ready = 0;
	s->added = s->started = false;
	return ret;
}

static int server_serve(struct ublkit_server *s)
{
	int r;

	r = server_open_cdev(s);
	if (r < 0)
		return r;
	r = server_spawn_queues(s);
	if (r < 0)
		return r;
	return server_wait_ready(s);
}

UBLKIT_EXPORT int ublkit_server_start(struct ublkit_server *s)
{
	int r;

	if (s->added)
		return -EALREADY;
	r = server_add(s);
	if (r == 0)
		r = server_set_params(s);
	if (r == 0)
		r = server_serve(s);
	if (r == 0) {
		r = ublk_ctrl_cmd(s->ctx, UBLK_CMD_START_DEV, (uint32_t)s->id, NULL, 0,
				  (uint64_t)getpid());
		s->started = r >= 0;
	}
	if (r < 0) {
		server_teardown(s, true);
		return r;
	}
	log_info(s->ctx, "ublk%d: live, %u queue(s) of depth %u, target %s", s->id,
		 s->params.nr_queues, s->params.queue_depth, s->target_name);
	return s->id;
}

static int server_start_recovery(struct ublkit_server *s, uint32_t id)
{
	int r = -EBUSY;

	/* The dead server's files may take a moment to be released. */
	for (int i = 0; i < 100 && r == -EBUSY; i++) {
		r = ublk_ctrl_cmd(s->ctx, UBLK_CMD_START_USER_RECOVERY, id, NULL, 0, 0);
		if (r == -EBUSY)
			usleep(50000);
	}
	return r;
}

UBLKIT_EXPORT int ublkit_server_recover(struct ublkit_server *s, uint32_t id)
{
	struct ublkit_dev_info info;
	int r;

	if (s->added)
		return -EALREADY;
	r = ublkit_ublk_get_info(s->ctx, id, &info);
	if (r < 0)
		return r;
	if (!(info.flags & UBLK_F_USER_RECOVERY)) {
		log_error(s->ctx, "ublk%u was created without user recovery", id);
		return -EOPNOTSUPP;
	}
	if (info.state != UBLKIT_DEV_QUIESCED) {
		log_error(s->ctx, "ublk%u is %s, not quiesced", id, ublkit_dev_state_name(info.state));
		return -EBUSY;
	}
	if ((info.flags & UBLK_F_USER_COPY) && !s->target.user_copy_ok) {
		log_error(s->ctx, "ublk%u uses user copy, which its target cannot serve now", id);
		return -EOPNOTSUPP;
	}
	s->id = (int)id;
	s->dev_flags = info.flags;
	s->params.nr_queues = info.nr_queues;
	s->params.queue_depth = info.queue_depth;
	s->params.max_io_bytes = info.max_io_buf_bytes;
	r = server_start_recovery(s, id);
	if (r < 0)
		return log_ret(s->ctx, r, "ublk%u: START_USER_RECOVERY", id);
	/* From here on the device is ours: a failure must not delete it. */
	r = server_serve(s);
	if (r == 0)
		r = ublk_ctrl_cmd(s->ctx, UBLK_CMD_END_USER_RECOVERY, id, NULL, 0,
				  (uint64_t)getpid());
	if (r < 0) {
		server_join_queues(s, true);
		if (s->cdev_fd >= 0)
			close(s->cdev_fd);
		s->cdev_fd = -1;
		return log_ret(s->ctx, r, "ublk%u: recovery failed", id);
	}
	s->added = s->started = true;
	r = server_manifest_write(s);
	if (r < 0)
		log_warn(s->ctx, "ublk%u: cannot update the manifest: %s", id, strerror(-r));
	return (int)id;
}

UBLKIT_EXPORT int ublkit_server_wait(struct ublkit_server *s, const sigset_t *sigs)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[2];
	int sfd, r;

	sfd = signalfd(-1, sigs, SFD_CLOEXEC);
	if (sfd < 0)
		return neg_errno();
	pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = s->exit_fd, .events = POLLIN };
	for (;;) {
		r = poll(pfd, 2, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = neg_errno();
			break;
		}
		if (pfd[0].revents & POLLIN) {
			r = read(sfd, &si, sizeof(si)) == sizeof(si) ? (int)si.ssi_signo : -EIO;
			break;
		}
		if (pfd[1].revents) {
			r = 0;
			break;
		}
	}
	close(sfd);
	return r;
}

UBLKIT_EXPORT int ublkit_server_stop(struct ublkit_server *s)
{
	if (!s->added && !s->queues)
		return 0;
	return server_teardown(s, false);
}
