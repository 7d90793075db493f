/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One context shared by threads, as a daemon uses it: control commands
 * from several threads reach the kernel one at a time, each with its own
 * answer, and references taken and dropped concurrently keep the context
 * alive until the last one goes.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "test.h"
#include "ublk-private.h"
#include "ublkit/ublk.h"

#define THREADS 6
#define CALLS 40

static atomic_int inside, most_inside, calls;

/* A control transport that notices two commands in flight at once. */
static int slow_cmd(struct ublkit_ctx *ctx, void *data, unsigned int op,
		    const struct ublksrv_ctrl_cmd *cmd, unsigned int timeout_ms)
{
	unsigned int nr = op > 0xff ? _IOC_NR(op) : op;
	int now = atomic_fetch_add(&inside, 1) + 1;
	int r = 0;

	if (now > atomic_load(&most_inside))
		atomic_store(&most_inside, now);
	atomic_fetch_add(&calls, 1);
	usleep(300); /* long enough for another thread to come in, were it let */
	if (nr == UBLK_CMD_GET_FEATURES) {
		*(uint64_t *)(uintptr_t)cmd->addr = 0x1fe;
	} else if (nr == UBLK_CMD_GET_DEV_INFO) {
		struct ublkit_uapi_dev_info *di = (void *)(uintptr_t)cmd->addr;

		memset(di, 0, sizeof(*di));
		di->dev_id = cmd->dev_id;
		di->state = UBLKIT_DEV_LIVE;
		di->nr_hw_queues = (uint16_t)(cmd->dev_id % 7 + 1);
		di->queue_depth = 64;
	} else {
		r = -EINVAL;
	}
	atomic_fetch_sub(&inside, 1);
	return r;
}

static const struct ublk_ctrl_transport slow_transport = { .cmd = slow_cmd };

struct worker {
	struct ublkit_ctx *ctx;
	uint32_t first_id;
	int wrong;
};

static void *work(void *arg)
{
	struct worker *w = arg;

	for (uint32_t i = 0; i < CALLS; i++) {
		struct ublkit_dev_info info;
		uint32_t id = w->first_id + i;
		struct ublkit_ctx *mine = ublkit_ctx_ref(w->ctx);

		if (ublkit_ublk_get_info(mine, id, &info) != 0 || info.id != id ||
		    info.nr_queues != id % 7 + 1 || info.state != UBLKIT_DEV_LIVE)
			w->wrong++;
		ublkit_ctx_unref(mine);
	}
	return NULL;
}

static void test_shared_context(void)
{
	struct worker w[THREADS];
	pthread_t t[THREADS];
	struct ublkit_ctx *ctx = test_ctx();

	ublk_ctrl_set_transport(ctx, &slow_transport);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .ctx = ctx, .first_id = (uint32_t)i * 1000 };
		CHECK_EQ(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ(w[i].wrong, 0);
	}
	CHECK_EQ(atomic_load(&most_inside), 1);
	/* every GET_DEV_INFO, and GET_FEATURES asked once for all threads */
	CHECK_EQ(atomic_load(&calls), THREADS * CALLS + 1);
	/* the threads' references are all gone; ours still holds it */
	CHECK(ublkit_ctx_ref(ctx) == ctx);
	CHECK(ublkit_ctx_unref(ctx) == NULL);
	ublkit_ctx_unref(ctx);
}

int main(void)
{
	RUN(test_shared_context);
	return test_result();
}
