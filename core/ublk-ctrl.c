/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ublk control plane: URING_CMDs on /dev/ublk-control through a
 * 128-byte-SQE io_uring owned by the context. The kernel punts control
 * commands to io-wq, so submission returns at once and every command can
 * be waited for with a timeout and cancelled when stuck. The commands are
 * built here whatever carries them: a context may be given another
 * transport (the unit tests' fake kernel).
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <liburing.h>
#include <time.h>

#include "ublkit-private.h"
#include "ctx-private.h"
#include "ublk-private.h"

struct ublk_ctrl {
	int fd;
	struct io_uring ring;
	bool ring_ready;
	uint64_t seq;
	uint64_t features;
	bool features_known;
	bool no_get_features;	/* the kernel predates GET_FEATURES */
	bool broken;		/* a command never completed: rebuild before reuse */
};

void ublk_ctrl_free(struct ublk_ctrl *ctrl)
{
	if (!ctrl)
		return;
	if (ctrl->ring_ready)
		io_uring_queue_exit(&ctrl->ring);
	if (ctrl->fd >= 0)
		close(ctrl->fd);
	free(ctrl);
}

void ublk_ctrl_reset(struct ublkit_ctx *ctx)
{
	ublk_ctrl_free(ctx->ctrl);
	ctx->ctrl = NULL;
}

void ublk_ctrl_set_transport(struct ublkit_ctx *ctx, const struct ublk_ctrl_transport *t)
{
	ublk_ctrl_reset(ctx);
	ctx->ctrl_transport = t;
}

static int ctrl_open_ring(struct ublkit_ctx *ctx, struct ublk_ctrl *c)
{
	int r;

	if (ublkit_ctx_is_sysroot(ctx))
		return -EXDEV;
	c->fd = ublkit_open(ctx, "/dev/ublk-control", O_RDWR);
	if (c->fd < 0)
		return c->fd == -ENOENT ? -ENODEV : c->fd;
	r = io_uring_queue_init(4, &c->ring, IORING_SETUP_SQE128);
	if (r < 0)
		return r;
	c->ring_ready = true;
	return 0;
}

static int ctrl_open(struct ublkit_ctx *ctx, struct ublk_ctrl **ret)
{
	struct ublk_ctrl *c;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	if (!ctx->ctrl_transport) {
		r = ctrl_open_ring(ctx, c);
		if (r < 0) {
			ublk_ctrl_free(c);
			return r;
		}
	}
	*ret = c;
	return 0;
}

static int ctrl_get(struct ublkit_ctx *ctx, struct ublk_ctrl **ret)
{
	int r;

	if (ctx->ctrl && ctx->ctrl->broken) {
		ublk_ctrl_free(ctx->ctrl);
		ctx->ctrl = NULL;
	}
	if (!ctx->ctrl) {
		r = ctrl_open(ctx, &ctx->ctrl);
		if (r < 0)
			return r;
	}
	*ret = ctx->ctrl;
	return 0;
}

static unsigned int ctrl_opcode(const struct ublk_ctrl *c, unsigned int nr)
{
	bool rw = nr == UBLK_CMD_ADD_DEV || nr == UBLK_CMD_DEL_DEV || nr == UBLK_CMD_START_DEV ||
		  nr == UBLK_CMD_STOP_DEV || nr == UBLK_CMD_SET_PARAMS ||
		  nr == UBLK_CMD_START_USER_RECOVERY || nr == UBLK_CMD_END_USER_RECOVERY;

	/* GET_FEATURES exists only in the ioctl encoding's era; always encode it. */
	if (nr != UBLK_CMD_GET_FEATURES && !(c->features & UBLKIT_F_CMD_IOCTL_ENCODE))
		return nr;
	return rw ? _IOWR('u', nr, struct ublksrv_ctrl_cmd) : _IOR('u', nr, struct ublksrv_ctrl_cmd);
}

static int ring_wait(struct ublk_ctrl *c, uint64_t seq, unsigned int ms)
{
	struct __kernel_timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	struct io_uring_cqe *cqe;
	int r;

	for (;;) {
		r = io_uring_wait_cqe_timeout(&c->ring, &cqe, &ts);
		if (r == -EINTR)
			continue;
		if (r < 0)
			return r;
		if (cqe->user_data == seq) {
			r = cqe->res;
			io_uring_cqe_seen(&c->ring, cqe);
			return r;
		}
		/* a late completion of an earlier, cancelled command */
		io_uring_cqe_seen(&c->ring, cqe);
	}
}

static void ring_cancel(struct ublk_ctrl *c, uint64_t seq)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ring);

	if (sqe) {
		io_uring_prep_cancel64(sqe, seq, 0);
		sqe->user_data = 0;
		io_uring_submit(&c->ring);
	}
	/* Give the cancelled command a moment to complete; else the ring is lost. */
	if (ring_wait(c, seq, 1000) == -ETIME)
		c->broken = true;
}

/* The kernel's transport: one URING_CMD on the control ring. */
static int ring_cmd(struct ublkit_ctx *ctx, void *data, unsigned int op,
		    const struct ublksrv_ctrl_cmd *cmd, unsigned int timeout_ms)
{
	struct ublk_ctrl *c = ctx->ctrl;
	struct io_uring_sqe *sqe;
	uint64_t seq;
	int r;

	sqe = io_uring_get_sqe(&c->ring);
	if (!sqe)
		return -EBUSY;
	memset(sqe, 0, 2 * sizeof(*sqe));
	seq = ++c->seq;
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = c->fd;
	sqe->cmd_op = op;
	sqe->user_data = seq;
	memcpy(sqe->cmd, cmd, sizeof(*cmd));
	r = io_uring_submit(&c->ring);
	if (r < 0)
		return log_ret(ctx, r, "ublk control command 0x%x: submit", op);
	r = ring_wait(c, seq, timeout_ms);
	if (r == -ETIME)
		ring_cancel(c, seq);
	return r;
}

static const struct ublk_ctrl_transport ring_transport = { .cmd = ring_cmd };

static const char *ctrl_cmd_name(unsigned int nr)
{
	switch (nr) {
	case UBLK_CMD_GET_DEV_INFO: return "GET_DEV_INFO";
	case UBLK_CMD_GET_DEV_INFO2: return "GET_DEV_INFO2";
	case UBLK_CMD_ADD_DEV: return "ADD_DEV";
	case UBLK_CMD_DEL_DEV: return "DEL_DEV";
	case UBLK_CMD_START_DEV: return "START_DEV";
	case UBLK_CMD_STOP_DEV: return "STOP_DEV";
	case UBLK_CMD_SET_PARAMS: return "SET_PARAMS";
	case UBLK_CMD_GET_PARAMS: return "GET_PARAMS";
	case UBLK_CMD_START_USER_RECOVERY: return "START_USER_RECOVERY";
	case UBLK_CMD_END_USER_RECOVERY: return "END_USER_RECOVERY";
	case UBLK_CMD_GET_FEATURES: return "GET_FEATURES";
	default: return "?";
	}
}

static int ctrl_cmd_locked(struct ublkit_ctx *ctx, unsigned int nr, uint32_t dev_id, void *buf,
			   uint16_t len, uint64_t data0);

/* One command at a time per context: the ring and its sequence are shared. */
int ublk_ctrl_cmd(struct ublkit_ctx *ctx, unsigned int nr, uint32_t dev_id, void *buf,
		  uint16_t len, uint64_t data0)
{
	int r;

	pthread_mutex_lock(&ctx->ctrl_lock);
	r = ctrl_cmd_locked(ctx, nr, dev_id, buf, len, data0);
	pthread_mutex_unlock(&ctx->ctrl_lock);
	return r;
}

static int ctrl_cmd_locked(struct ublkit_ctx *ctx, unsigned int nr, uint32_t dev_id, void *buf,
			   uint16_t len, uint64_t data0)
{
	const struct ublk_ctrl_transport *t = ctx->ctrl_transport ? ctx->ctrl_transport
								   : &ring_transport;
	const struct ublksrv_ctrl_cmd cmd = {
		.dev_id = dev_id,
		.queue_id = (uint16_t)-1,
		.len = len,
		.addr = (uint64_t)(uintptr_t)buf,
		.data = { data0 },
	};
	struct ublk_ctrl *c;
	int r;

	if (nr != UBLK_CMD_GET_FEATURES)
		(void)ublk_ctrl_features(ctx);
	r = ctrl_get(ctx, &c);
	if (r < 0)
		return r;
	r = t->cmd(ctx, t->data, ctrl_opcode(c, nr), &cmd, ctx->ctrl_timeout_ms);
	if (r == -ETIME) {
		log_error(ctx, "ublk %s dev %u: no answer from the kernel in %u ms, cancelled",
			  ctrl_cmd_name(nr), dev_id, ctx->ctrl_timeout_ms);
		return -ETIMEDOUT;
	}
	log_debug(ctx, "ublk %s dev %u: %d", ctrl_cmd_name(nr), dev_id, r);
	return r;
}

uint64_t ublk_ctrl_features(struct ublkit_ctx *ctx)
{
	uint64_t f = 0;

	if (ctx->ctrl && ctx->ctrl->features_known)
		return ctx->ctrl->features;
	if (ublkit_ublk_get_features(ctx, &f) < 0)
		return 0;
	return f;
}

static int get_features_locked(struct ublkit_ctx *ctx, uint64_t *features);

UBLKIT_EXPORT int ublkit_ublk_get_features(struct ublkit_ctx *ctx, uint64_t *features)
{
	int r;

	pthread_mutex_lock(&ctx->ctrl_lock);
	r = get_features_locked(ctx, features);
	pthread_mutex_unlock(&ctx->ctrl_lock);
	return r;
}

static int get_features_locked(struct ublkit_ctx *ctx, uint64_t *features)
{
	uint64_t f = 0;
	int r;

	if (ctx->ctrl && ctx->ctrl->features_known) {
		*features = ctx->ctrl->features;
		return 0;
	}
	if (ctx->ctrl && ctx->ctrl->no_get_features)
		return -EOPNOTSUPP;
	r = ublk_ctrl_cmd(ctx, UBLK_CMD_GET_FEATURES, (uint32_t)-1, &f, sizeof(f), 0);
	if (r < 0 && !ctx->ctrl)
		return r; /* the control ring could not be opened */
	if (r == -EINVAL || r == -EOPNOTSUPP || r == -ENOTTY) {
		/* Linux < 6.5: ask once, use the legacy opcodes from then on. */
		ctx->ctrl->no_get_features = true;
		return -EOPNOTSUPP;
	}
	if (r < 0)
		return r;
	ctx->ctrl->features = f;
	ctx->ctrl->features_known = true;
	*features = f;
	return 0;
}

UBLKIT_EXPORT void ublkit_ctx_set_ctrl_timeout(struct ublkit_ctx *ctx, unsigned int ms)
{
	ctx->ctrl_timeout_ms = ms ? ms : UBLKIT_DEFAULT_CTRL_TIMEOUT_MS;
}

static int get_info(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_dev_info *info);

UBLKIT_EXPORT int ublkit_ublk_get_info_sz(struct ublkit_ctx *ctx, uint32_t id,
					  struct ublkit_dev_info *out, size_t size)
{
	struct ublkit_dev_info info;
	int r = get_info(ctx, id, &info);

	if (r >= 0)
		struct_out(out, size, &info, sizeof(info));
	return r;
}

static int get_info(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_dev_info *info)
{
	struct ublkit_uapi_dev_info di = { 0 };
	int r;

	r = ublk_ctrl_cmd(ctx, UBLK_CMD_GET_DEV_INFO, id, &di, sizeof(di), 0);
	if (r < 0)
		return r;
	*info = (struct ublkit_dev_info){
		.id = di.dev_id,
		.state = di.state,
		.nr_queues = di.nr_hw_queues,
		.queue_depth = di.queue_depth,
		.max_io_buf_bytes = di.max_io_buf_bytes,
		.server_pid = di.ublksrv_pid,
		.flags = di.flags,
		.server_flags = di.ublksrv_flags,
		.owner_uid = di.owner_uid,
		.owner_gid = di.owner_gid,
	};
	return 0;
}

static uint32_t attrs_to_flags(uint32_t attrs)
{
	uint32_t f = 0;

	if (attrs & UBLK_ATTR_READ_ONLY)
		f |= UBLKIT_DEV_READ_ONLY;
	if (attrs & UBLK_ATTR_ROTATIONAL)
		f |= UBLKIT_DEV_ROTATIONAL;
	if (attrs & UBLK_ATTR_VOLATILE_CACHE)
		f |= UBLKIT_DEV_VOLATILE_CACHE;
	if (attrs & UBLK_ATTR_FUA)
		f |= UBLKIT_DEV_FUA;
	return f;
}

static int get_params(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_dev_params *p);

UBLKIT_EXPORT int ublkit_ublk_get_params_sz(struct ublkit_ctx *ctx, uint32_t id,
					    struct ublkit_dev_params *out, size_t size)
{
	struct ublkit_dev_params p;
	int r = get_params(ctx, id, &p);

	if (r >= 0)
		struct_out(out, size, &p, sizeof(p));
	return r;
}

static int get_params(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_dev_params *p)
{
	struct ublk_params up = { .len = sizeof(up) };
	int r;

	r = ublk_ctrl_cmd(ctx, UBLK_CMD_GET_PARAMS, id, &up, sizeof(up), 0);
	if (r < 0)
		return r;
	ublkit_dev_params_init(p);
	p->dev_id = (int32_t)id;
	if (up.types & UBLK_PARAM_TYPE_BASIC) {
		p->size = up.basic.dev_sectors << 9;
		p->logical_block_size = 1u << up.basic.logical_bs_shift;
		p->physical_block_size = 1u << up.basic.physical_bs_shift;
		p->max_io_bytes = up.basic.max_sectors << 9;
		p->flags = attrs_to_flags(up.basic.attrs);
	}
	if (up.types & UBLK_PARAM_TYPE_DISCARD) {
		p->discard_granularity = up.discard.discard_granularity;
		p->max_discard_bytes = up.discard.max_discard_sectors << 9;
	} else {
		p->flags |= UBLKIT_DEV_NO_DISCARD;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

UBLKIT_EXPORT int ublkit_ublk_list(struct ublkit_ctx *ctx, uint32_t **ids)
{
	char p[4096];
	uint32_t *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int r;

	r = ublkit_ctx_path(ctx, "/sys/class/ublk-char", p, sizeof(p));
	if (r < 0)
		return r;
	*ids = NULL;
	d = opendir(p);
	if (!d)
		return errno == ENOENT ? 0 : neg_errno();
	while ((de = readdir(d))) {
		unsigned int id;
		char tail;

		if (sscanf(de->d_name, "ublkc%u%c", &id, &tail) != 1)
			continue;
		if (n == cap) {
			uint32_t *nv = realloc(v, (cap = cap ? 2 * cap : 8) * sizeof(*v));

			if (!nv) {
				closedir(d);
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = id;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_u32);
	*ids = v;
	return (int)n;
}

UBLKIT_EXPORT int ublkit_ublk_stop(struct ublkit_ctx *ctx, uint32_t id)
{
	return ublk_ctrl_cmd(ctx, UBLK_CMD_STOP_DEV, id, NULL, 0, 0);
}

UBLKIT_EXPORT int ublkit_ublk_del(struct ublkit_ctx *ctx, uint32_t id)
{
	return ublk_ctrl_cmd(ctx, UBLK_CMD_DEL_DEV, id, NULL, 0, 0);
}

UBLKIT_EXPORT const char *ublkit_dev_state_name(int state)
{
	switch (state) {
	case UBLKIT_DEV_DEAD: return "dead";
	case UBLKIT_DEV_LIVE: return "live";
	case UBLKIT_DEV_QUIESCED: return "quiesced";
	case UBLKIT_DEV_FAIL_IO: return "fail-io";
	default: return "unknown";
	}
}

UBLKIT_EXPORT const char *ublkit_feature_name(uint64_t bit)
{
	static const char *const names[] = {
		"zero-copy", "uring-cmd-comp-in-task", "need-get-data", "user-recovery",
		"user-recovery-reissue", "unprivileged-dev", "cmd-ioctl-encode", "user-copy",
		"zoned", "user-recovery-fail-io", "update-size", "auto-buf-reg", "quiesce",
		"per-io-daemon",
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (bit == 1ULL << i)
			return names[i];
	return NULL;
}

UBLKIT_EXPORT int ublkit_dev_info_is_ublkit(const struct ublkit_dev_info *info)
{
	return (info->server_flags & 0xffffffff00000000ULL) == UBLKIT_OWNER_MARK;
}
