/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Starting a server process: the parameters reach the server as its
 * arguments, its report (live, or its error and message) reaches the
 * caller, and a server that dies without a word is an error. The server
 * here is tests/unit/fake-server.
 */
#include "config.h"

#include <unistd.h>

#include "test.h"
#include "swap-private.h"
#include "ublkit/ublk.h"

static int spawn_as(const char *mode, unsigned int flags, struct ublkit_spawn_result *res)
{
	struct ublkit_ctx *ctx = test_ctx();
	struct ublkit_dev_params p;
	int r;

	setenv("FAKE_SERVER", mode, 1);
	ublkit_dev_params_init(&p);
	p.size = 3 << 20;
	p.nr_queues = 2;
	p.flags = UBLKIT_DEV_RECOVERY;
	test_log_reset();
	r = ublkit_server_spawn(ctx, &p, "file", "/dev/fake0", -1, flags, res);
	ublkit_ctx_unref(ctx);
	return r;
}

static void test_live(void)
{
	struct ublkit_spawn_result res;

	CHECK_EQ(spawn_as("ok", UBLKIT_SPAWN_FOREGROUND, &res), 0);
	CHECK_EQ(res.id, 7);
	CHECK(res.server_pid > 0);
	CHECK_EQ(res.params.size, 3 << 20);
	CHECK_EQ(res.params.nr_queues, 2);
	CHECK_EQ(res.params.flags, UBLKIT_DEV_RECOVERY);
	CHECK_EQ(res.params.dev_id, -1);
	CHECK_EQ(res.pidfd, -1); /* the stand-in sends none */
	/* detached too (the stand-in does not fork: the library reaps it) */
	CHECK_EQ(spawn_as("ok", 0, &res), 0);
	CHECK_EQ(res.id, 7);
}

/* A server is an IO_FLUSHER from its first instruction when the starter
 * may make it one, and the starter's thread is left as it was. */
static void test_io_flusher(void)
{
	struct ublkit_spawn_result res;

	if (prctl(PR_SET_IO_FLUSHER, 0, 0, 0, 0) < 0)
		return; /* no CAP_SYS_RESOURCE or an old kernel: nothing to lend */
	CHECK_EQ(spawn_as("flusher", UBLKIT_SPAWN_FOREGROUND, &res), 0);
	CHECK_EQ(res.id, 7);
	CHECK_EQ(prctl(PR_GET_IO_FLUSHER, 0, 0, 0, 0), 0);
	/* a starter that already is one stays one */
	CHECK_EQ(prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0), 0);
	CHECK_EQ(spawn_as("flusher", UBLKIT_SPAWN_FOREGROUND, &res), 0);
	CHECK_EQ(prctl(PR_GET_IO_FLUSHER, 0, 0, 0, 0), 1);
	CHECK_EQ(prctl(PR_SET_IO_FLUSHER, 0, 0, 0, 0), 0);
}

static void test_errors(void)
{
	struct ublkit_spawn_result res;

	CHECK_EQ(spawn_as("fail", UBLKIT_SPAWN_FOREGROUND, &res), -EIO);
	CHECK_STREQ(test_last_error, "target file: it broke");
	CHECK_EQ(spawn_as("silent", UBLKIT_SPAWN_FOREGROUND, &res), -ECHILD);
	CHECK_EQ(spawn_as("ok", 1u << 7, &res), -EINVAL);
	setenv("UBLKIT_SERVER", "/nonexistent/ublkit-server", 1);
	CHECK_EQ(spawn_as("ok", 0, &res), -ENOENT);
}

int main(void)
{
	char self[4096], server[4200];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return EXIT_SKIP;
	self[n] = '\0';
	/* the stand-in is built next to this test */
	snprintf(server, sizeof(server), "%.*s/fake-server", (int)(strrchr(self, '/') - self), self);
	setenv("UBLKIT_SERVER", server, 1);
	RUN(test_live);
	RUN(test_errors);
	RUN(test_io_flusher);
	return test_result();
}
