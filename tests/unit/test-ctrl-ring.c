/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel's control transport (ublk-ctrl.c's io_uring) without the
 * kernel's driver: a memfd stands in for /dev/ublk-control and fails each
 * URING_CMD at once, which is enough to see commands go out and their
 * completions come back to the right caller. White-box: the ring's static
 * functions are compiled in.
 */
#include "config.h"

#include <sys/mman.h>

#include "test.h"

#include "ublk-ctrl.c"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A context whose control ring talks to a memfd. */
static struct ublkit_ctx *ring_ctx(void)
{
	struct ublkit_ctx *ctx = test_ctx();
	struct ublk_ctrl *c = calloc(1, sizeof(*c));

	c->fd = memfd_create("ublk-control", MFD_CLOEXEC);
	CHECK(c->fd >= 0);
	CHECK_EQ(io_uring_queue_init(4, &c->ring, IORING_SETUP_SQE128), 0);
	c->ring_ready = true;
	ctx->ctrl = c;
	return ctx;
}

static void test_commands(void)
{
	struct ublkit_ctx *ctx = ring_ctx();
	struct ublk_ctrl *c = ctx->ctrl;
	struct ublkit_dev_info info;
	uint64_t f = 5;
	int fds = test_open_fds();

	/* GET_FEATURES went out and came back refused: an old kernel */
	CHECK_EQ(ublkit_ublk_get_features(ctx, &f), -EOPNOTSUPP);
	CHECK(c->no_get_features);
	CHECK_EQ(c->seq, 1);
	CHECK_EQ(ublkit_ublk_get_features(ctx, &f), -EOPNOTSUPP);
	CHECK_EQ(c->seq, 1);
	CHECK_EQ(f, 5);
	/* every command gets its own completion */
	for (int i = 0; i < 10; i++)
		CHECK_EQ(ublkit_ublk_get_info(ctx, 1, &info), -EOPNOTSUPP);
	CHECK_EQ(c->seq, 11);
	CHECK_EQ(ublkit_ublk_stop(ctx, 1), -EOPNOTSUPP);
	CHECK_EQ(io_uring_cq_ready(&c->ring), 0);
	CHECK(!c->broken);
	CHECK(ctx->ctrl == c);
	/* freed with the context: ring and descriptor */
	ublkit_ctx_unref(ctx);
	CHECK_EQ(test_open_fds(), fds - 2);
}

/* A ring with no room for the command: -EBUSY, and nothing sent. */
static void test_ring_full(void)
{
	struct ublkit_ctx *ctx = ring_ctx();
	struct ublk_ctrl *c = ctx->ctrl;

	c->no_get_features = true;
	while (io_uring_get_sqe(&c->ring))
		;
	CHECK_EQ(ublkit_ublk_stop(ctx, 0), -EBUSY);
	CHECK_EQ(c->seq, 0);
	ublkit_ctx_unref(ctx);
}

/* A completion of an earlier command is passed over, not taken as this one's. */
static void test_late_completion(void)
{
	struct ublkit_ctx *ctx = ring_ctx();
	struct ublk_ctrl *c = ctx->ctrl;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ring);
	struct ublkit_dev_info info;

	io_uring_prep_nop(sqe);
	sqe->user_data = 1;
	c->seq = 1;
	CHECK_EQ(io_uring_submit(&c->ring), 1);
	CHECK_EQ(ublkit_ublk_get_info(ctx, 0, &info), -EOPNOTSUPP);
	CHECK_EQ(io_uring_cq_ready(&c->ring), 0);
	ublkit_ctx_unref(ctx);
}

/* No answer in time: -ETIME, a cancellation, and a ring given up on. */
static void test_timeout(void)
{
	struct ublkit_ctx *ctx = ring_ctx();
	struct ublk_ctrl *c = ctx->ctrl;
	uint64_t t0 = now_ms();
	int r;

	CHECK_EQ(ring_wait(c, 7, 30), -ETIME);
	CHECK(now_ms() - t0 >= 25);
	/* the cancellation finds nothing; the command never answers: broken */
	ring_cancel(c, 7);
	CHECK(c->broken);
	CHECK_EQ(io_uring_sq_ready(&c->ring), 0); /* the cancellation went out */
	CHECK(now_ms() - t0 >= 900);
	/* a broken ring is rebuilt before the next command: on this machine,
	 * the real /dev/ublk-control */
	r = ublkit_ublk_stop(ctx, 0);
	CHECK(ctx->ctrl != c);
	if (access("/dev/ublk-control", F_OK) != 0)
		CHECK_EQ(r, -ENODEV);
	ublkit_ctx_unref(ctx);
}

int main(void)
{
	RUN(test_commands);
	RUN(test_ring_full);
	RUN(test_late_completion);
	RUN(test_timeout);
	return test_result();
}
