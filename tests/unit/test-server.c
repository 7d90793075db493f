/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A server's life over the fake ublk driver, in a fake root: what it asks
 * the kernel for (ADD_DEV, SET_PARAMS, START_DEV, ...), what it records
 * under /run/ublkit, and what it leaves behind when something fails. The
 * queue threads run for real; their FETCH commands go to a plain file in
 * place of /dev/ublkcN, which refuses them, so no I/O is served.
 */
#include "config.h"

#include <signal.h>
#include <unistd.h>

#include "fake-ublk-ctrl.h"
#include "server-private.h"
#include "test.h"

static char *root;

static struct ublkit_ctx *setup(void)
{
	struct ublkit_ctx *ctx = test_ctx();
	char p[64], stat[256];

	fake_root_free(root);
	root = fake_root_linux();
	fake_mkdir(root, "/run");
	fake_mkdir(root, "/sys/class/ublk-char");
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)getpid());
	snprintf(stat, sizeof(stat),
		 "%d (test-server) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 3 0 777 0 0\n",
		 (int)getpid());
	fake_write(root, p, stat);
	fake_reset(root);
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	fake_install(ctx);
	test_log_reset();
	return ctx;
}

static bool dev_dir_exists(int id)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/run/ublkit/devices/%d", root, id);
	return access(p, F_OK) == 0;
}

static struct ublkit_dev_params base(void)
{
	struct ublkit_dev_params p;

	ublkit_dev_params_init(&p);
	p.size = 64 << 20;
	p.queue_depth = 4;
	return p;
}

static struct ublkit_server *new_server(struct ublkit_ctx *ctx, const struct ublkit_dev_params *p,
					const char *target)
{
	struct ublkit_server *s = NULL;

	CHECK_EQ(ublkit_server_new(ctx, p, target, NULL, &s), 0);
	return s;
}

static void test_start_stop(void)
{
	struct ublkit_ctx *ctx = setup();
	struct ublkit_dev_params p = base();
	const struct fake_cmd *c;
	struct ublkit_manifest m;
	struct ublkit_stats st;
	struct ublkit_server *s;
	int id, fds = test_open_fds();

	p.nr_queues = 2;
	p.flags = UBLKIT_DEV_ROTATIONAL | UBLKIT_DEV_FUA;
	fake_add(0, UBLKIT_DEV_LIVE, 1, 0, false); /* id 0 is taken */
	s = new_server(ctx, &p, "mem");
	CHECK_EQ(ublkit_server_get_id(s), -1);
	CHECK_EQ(fake.nr_cmds, 0); /* nothing reaches the kernel before start */
	test_log_reset();
	id = ublkit_server_start(s);
	CHECK_EQ(id, 1);

	CHECK_EQ(ublkit_server_get_id(s), 1);
	CHECK_EQ(ublkit_server_start(s), -EALREADY);

	/* ADD_DEV: what the server asked for, and the mark it leaves */
	c = fake_last(UBLK_CMD_ADD_DEV);
	CHECK(c != NULL);
	if (c) {
		CHECK(c->encoded);
		CHECK_EQ(c->cmd.dev_id, (uint32_t)-1);
		CHECK_EQ(c->in.info.dev_id, (uint32_t)-1);
		CHECK_EQ(c->in.info.nr_hw_queues, 2);
		CHECK_EQ(c->in.info.queue_depth, 4);
		CHECK_EQ(c->in.info.max_io_buf_bytes, UBLKIT_DEFAULT_MAX_IO_BYTES);
		CHECK_EQ(c->in.info.ublksrv_pid, getpid());
		CHECK_EQ(c->in.info.ublksrv_flags, UBLKIT_OWNER_MARK);
		/* mem moves data itself: user copy, and the encoding, as offered */
		CHECK_EQ(c->in.info.flags, UBLKIT_F_URING_CMD_COMP_IN_TASK |
					   UBLKIT_F_CMD_IOCTL_ENCODE | UBLKIT_F_USER_COPY);
	}
	/* SET_PARAMS: sizes as shifts and sectors, attributes, discard */
	c = fake_last(UBLK_CMD_SET_PARAMS);
	CHECK(c != NULL);
	if (c) {
		const struct ublk_params *up = &c->in.params;

		CHECK_EQ(c->cmd.dev_id, 1);
		CHECK_EQ(c->cmd.len, sizeof(*up));
		CHECK_EQ(up->len, sizeof(*up));
		CHECK_EQ(up->types, UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_DISCARD);
		CHECK_EQ(up->basic.attrs, UBLK_ATTR_ROTATIONAL | UBLK_ATTR_FUA);
		CHECK_EQ(up->basic.logical_bs_shift, 9);
		CHECK_EQ(up->basic.physical_bs_shift, 9);
		CHECK_EQ(up->basic.io_min_shift, 9);
		CHECK_EQ(up->basic.io_opt_shift, 9);
		CHECK_EQ(up->basic.max_sectors, UBLKIT_DEFAULT_MAX_IO_BYTES >> 9);
		CHECK_EQ(up->basic.dev_sectors, (64 << 20) >> 9);
		CHECK_EQ(up->discard.discard_granularity, 512);
		CHECK_EQ(up->discard.max_discard_sectors, (1u << 30) >> 9);
		CHECK_EQ(up->discard.max_write_zeroes_sectors, (1u << 30) >> 9);
		CHECK_EQ(up->discard.max_discard_segments, 1);
	}
	c = fake_last(UBLK_CMD_START_DEV);
	CHECK(c && c->cmd.dev_id == 1 && c->cmd.data[0] == (uint64_t)getpid());
	CHECK_EQ(fake_find(1)->info.state, UBLKIT_DEV_LIVE);
	/* the order: features, add, parameters, start */
	CHECK_EQ(fake.cmds[0].nr, UBLK_CMD_GET_FEATURES);
	CHECK_EQ(fake.cmds[1].nr, UBLK_CMD_ADD_DEV);
	CHECK_EQ(fake.cmds[2].nr, UBLK_CMD_SET_PARAMS);
	CHECK_EQ(fake.cmds[3].nr, UBLK_CMD_START_DEV);
	CHECK_EQ(fake.nr_cmds, 4);

	/* recorded for other processes */
	CHECK_EQ(ublkit_manifest_read(ctx, 1, &m), 0);
	CHECK_STREQ(m.target, "mem");
	CHECK_EQ(m.server_pid, getpid());
	CHECK_EQ(m.server_start, 777);
	CHECK_EQ(m.params.nr_queues, 2);
	CHECK_EQ(m.params.size, 64 << 20);
	CHECK_EQ(m.params.flags, UBLKIT_DEV_ROTATIONAL | UBLKIT_DEV_FUA);
	CHECK_EQ(ublkit_stats_read(ctx, 1, &st), 0);
	CHECK_EQ(st.lat_count, 0);
	/* the stats file and both queues' descriptors are mapped */
	CHECK_EQ(test_mappings(root), 3);

	/* stopped: STOP_DEV, DEL_DEV, and nothing left behind */
	CHECK_EQ(ublkit_server_stop(s), 0);
	/* the only complaints: each tag's FETCH, refused by the stand-in node */
	CHECK_EQ(test_logged[UBLKIT_LOG_ERR], 2 * 4);
	CHECK_EQ(test_logged[UBLKIT_LOG_WARNING], 0);
	CHECK_EQ(fake_count(UBLK_CMD_STOP_DEV), 1);
	CHECK_EQ(fake_count(UBLK_CMD_DEL_DEV), 1);
	CHECK(fake_last(UBLK_CMD_STOP_DEV)->cmd.dev_id == 1);
	CHECK(fake_find(1) == NULL);
	CHECK(!dev_dir_exists(1));
	CHECK_EQ(ublkit_stats_read(ctx, 1, &st), -ENOENT);
	/* idempotent */
	CHECK_EQ(ublkit_server_stop(s), 0);
	CHECK_EQ(fake_count(UBLK_CMD_DEL_DEV), 1);
	CHECK(s->queues == NULL);
	CHECK_EQ(s->cdev_fd, -1);
	CHECK_EQ(s->exit_fd, -1);
	CHECK(s->stats == NULL);
	CHECK_EQ(test_mappings(root), 0);
	ublkit_server_unref(s);
	CHECK_EQ(test_open_fds(), fds);
	/* a reference keeps it */
	s = new_server(ctx, &p, "mem");
	CHECK(ublkit_server_ref(s) == s);
	CHECK(ublkit_server_unref(s) == NULL);
	CHECK_EQ(ublkit_server_start(s), 1);
	CHECK_EQ(fake_count(UBLK_CMD_DEL_DEV), 1);
	CHECK(ublkit_server_unref(s) == NULL);
	CHECK_EQ(fake_count(UBLK_CMD_DEL_DEV), 2);
	CHECK(ublkit_server_ref(NULL) == NULL);
	CHECK(ublkit_server_unref(NULL) == NULL);
	ublkit_ctx_unref(ctx);
}

/* The kernel's answer to ADD_DEV wins: queue depth and count, the id. */
static void test_kernel_adjusts(void)
{
	struct ublkit_ctx *ctx = setup();
	struct ublkit_dev_params p = base();
	const struct fake_cmd *c;
	struct ublkit_server *s;

	p.dev_id = 7;
	p.flags = UBLKIT_DEV_READ_ONLY | UBLKIT_DEV_RECOVERY;
	p.logical_block_size = 4096;
	p.physical_block_size = 16384;
	fake.features = 0x1fe & ~UBLKIT_F_CMD_IOCTL_ENCODE;
	s = new_server(ctx, &p, "null");
	CHECK_EQ(ublkit_server_start(s), 7);
	c = fake_last(UBLK_CMD_ADD_DEV);
	CHECK(c && !c->encoded && c->op == UBLK_CMD_ADD_DEV);
	CHECK(c && c->cmd.dev_id == 7 && c->in.info.dev_id == 7);
	/* recovery, with reissue since it is offered */
	CHECK(c && c->in.info.flags == (UBLKIT_F_URING_CMD_COMP_IN_TASK | UBLKIT_F_USER_COPY |
					UBLKIT_F_USER_RECOVERY | UBLKIT_F_USER_RECOVERY_REISSUE));
	c = fake_last(UBLK_CMD_SET_PARAMS);
	CHECK(c && !c->encoded);
	if (c) {
		/* read-only: no discard; null has no cache */
		CHECK_EQ(c->in.params.types, UBLK_PARAM_TYPE_BASIC);
		CHECK_EQ(c->in.params.basic.attrs, UBLK_ATTR_READ_ONLY);
		CHECK_EQ(c->in.params.basic.logical_bs_shift, 12);
		CHECK_EQ(c->in.params.basic.physical_bs_shift, 14);
		CHECK_EQ(c->in.params.basic.io_min_shift, 12);
		CHECK_EQ(c->in.params.basic.io_opt_shift, 14);
	}
	ublkit_server_unref(s);
	CHECK(fake_find(7) == NULL);
	ublkit_ctx_unref(ctx);

	/* an id that is taken */
	ctx = setup();
	fake_add(7, UBLKIT_DEV_LIVE, 1, 0, false);
	s = new_server(ctx, &p, "null");
	CHECK_EQ(ublkit_server_start(s), -EEXIST);
	CHECK_EQ(fake_count(UBLK_CMD_DEL_DEV), 0);
	CHECK(fake_find(7) != NULL);
	ublkit_server_unref(s);
	ublkit_ctx_unref(ctx);
}

static void test_no_discard_volatile(void)
{
	struct ublkit_ctx *ctx = setup();
	struct ublkit_dev_params p = base();
	const struct fake_cmd *c;
	struct ublkit_server *s;

	/* id 0 is an id like any other */
	p.dev_id = 0;
	s = new_server(ctx, &p, "null");
	CHECK_EQ(ublkit_server_start(s), 0);
	c = fake_last(UBLK_CMD_ADD_DEV);
	CHECK(c && c->cmd.dev_id == 0 && c->in.info.dev_id == 0);
	ublkit_server_unref(s);
	p.dev_id = -1;

	p.flags = UBLKIT_DEV_NO_DISCARD | UBLKIT_DEV_VOLATILE_CACHE;
	p.discard_granularity = 4096;
	s = new_server(ctx, &p, "mem");
	CHECK_EQ(ublkit_server_start(s), 0);
	c = fake_last(UBLK_CMD_SET_PARAMS);
	CHECK(c && c->in.params.types == UBLK_PARAM_TYPE_BASIC);
	CHECK(c && c->in.params.basic.attrs == UBLK_ATTR_VOLATILE_CACHE);
	ublkit_server_unref(s);
	ublkit_ctx_unref(ctx);
}

/* Whatever fails, a device that was added is deleted again. */
static void test_failed_steps(void)
{
	static const unsigned int steps[] = { UBLK_CMD_ADD_DEV, UBLK_CMD_SET_PARAMS,
					      UBLK_CMD_START_DEV };

	for (size_t i = 0; i < 3; i++) {
		struct ublkit_ctx *ctx = setup();
		struct ublkit_dev_params p = base();
		int fds = test_open_fds();
		struct ublkit_server *s = new_server(ctx, &p, "mem");

		fake.fail_nr = steps[i];
		fake.fail_result = -EPERM;
		CHECK_EQ(ublkit_server_start(s), -EPERM);
		CHECK_EQ(fake_count(UBLK_CMD_DEL_DEV), i > 0);
		CHECK_EQ(fake_count(UBLK_CMD_STOP_DEV), 0);
		CHECK_EQ(fake_count(UBLK_CMD_START_DEV), i == 2);
		CHECK(fake_find(0) == NULL);
		CHECK(!dev_dir_exists(0));
		CHECK_EQ(ublkit_server_stop(s), 0);
		CHECK_EQ(fake_count(UBLK_CMD_DEL_DEV), i > 0);
		CHECK(s->queues == NULL);
		CHECK_EQ(s->exit_fd, -1);
		ublkit_server_unref(s);
		CHECK_EQ(test_open_fds(), fds);
		ublkit_ctx_unref(ctx);
	}
}

static void test_refused_features(void)
{
	struct ublkit_ctx *ctx = setup();
	struct ublkit_dev_params p = base();
	struct ublkit_server *s;

	/* the kernel keeps quiet about a flag it dropped */
	fake.drop_flags = UBLKIT_F_USER_COPY;
	s = new_server(ctx, &p, "mem");
	CHECK_EQ(ublkit_server_start(s), -EOPNOTSUPP);
	CHECK(strstr(test_last_error, "refused flags 0x80"));
	CHECK_EQ(fake_count(UBLK_CMD_DEL_DEV), 1);
	CHECK_EQ(fake_count(UBLK_CMD_SET_PARAMS), 0);
	ublkit_server_unref(s);
	ublkit_ctx_unref(ctx);

	/* ... but may drop COMP_IN_TASK, which newer kernels no longer know */
	ctx = setup();
	fake.drop_flags = UBLKIT_F_URING_CMD_COMP_IN_TASK;
	s = new_server(ctx, &p, "mem");
	CHECK_EQ(ublkit_server_start(s), 0);
	ublkit_server_unref(s);
	ublkit_ctx_unref(ctx);

	/* recovery the kernel does not offer: nothing is added */
	ctx = setup();
	fake.features = 0x1fe & ~UBLKIT_F_USER_RECOVERY;
	p.flags = UBLKIT_DEV_RECOVERY;
	s = new_server(ctx, &p, "mem");
	CHECK_EQ(ublkit_server_start(s), -EOPNOTSUPP);
	CHECK_EQ(fake_count(UBLK_CMD_ADD_DEV), 0);
	ublkit_server_unref(s);
	ublkit_ctx_unref(ctx);

	/* a kernel without GET_FEATURES: recovery is tried, nothing else offered */
	ctx = setup();
	fake.features = 0;
	fake.get_features_result = -EINVAL;
	s = new_server(ctx, &p, "mem");
	CHECK_EQ(ublkit_server_start(s), 0);
	CHECK(fake_last(UBLK_CMD_ADD_DEV)->in.info.flags ==
	      (UBLKIT_F_URING_CMD_COMP_IN_TASK | UBLKIT_F_USER_RECOVERY));
	ublkit_server_unref(s);
	/* other errors from GET_FEATURES stop the start */
	fake_reset(root);
	fake.get_features_result = -EPERM;
	fake_install(ctx);
	s = new_server(ctx, &p, "mem");
	CHECK_EQ(ublkit_server_start(s), -EPERM);
	CHECK_EQ(fake_count(UBLK_CMD_ADD_DEV), 0);
	ublkit_server_unref(s);
	ublkit_ctx_unref(ctx);
}

static void test_wait(void)
{
	struct ublkit_ctx *ctx = setup();
	struct ublkit_dev_params p = base();
	struct ublkit_server *s = new_server(ctx, &p, "null");
	sigset_t sigs, old;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGUSR1);
	CHECK_EQ(ublkit_server_start(s), 0);
	/* a signal the caller waits for */
	sigprocmask(SIG_BLOCK, &sigs, &old);
	raise(SIGUSR1);
	CHECK_EQ(ublkit_server_wait(s, &sigs), SIGUSR1);
	/* the queues are gone (their commands were refused): the device went away */
	CHECK_EQ(ublkit_server_wait(s, &sigs), 0);
	sigprocmask(SIG_SETMASK, &old, NULL);
	/* then stopping deletes the device; the caller's signal mask is untouched */
	CHECK_EQ(ublkit_server_stop(s), 0);
	{
		sigset_t now;

		sigprocmask(SIG_SETMASK, NULL, &now);
		CHECK_EQ(sigismember(&now, SIGTERM), sigismember(&old, SIGTERM));
	}
	CHECK_EQ(fake_count(UBLK_CMD_STOP_DEV), 1);
	CHECK_EQ(fake_count(UBLK_CMD_DEL_DEV), 1);
	CHECK(fake_find(0) == NULL);
	ublkit_server_unref(s);
	CHECK_EQ(fake_count(UBLK_CMD_DEL_DEV), 1);
	ublkit_ctx_unref(ctx);
}

static void test_recover(void)
{
	struct ublkit_ctx *ctx = setup();
	struct ublkit_dev_params p = base();
	struct ublkit_manifest m;
	struct ublkit_server *s;
	struct fake_dev *d;

	d = fake_add(3, UBLKIT_DEV_QUIESCED, 999, UBLKIT_F_USER_RECOVERY | UBLKIT_F_USER_COPY,
		     true);
	d->info.nr_queues = 2;
	d->info.queue_depth = 8;
	d->info.max_io_buf_bytes = 256 << 10;
	s = new_server(ctx, &p, "null");
	test_log_reset();
	CHECK_EQ(ublkit_server_recover(s, 3), 3);
	CHECK_EQ(test_logged[UBLKIT_LOG_WARNING], 0);
	CHECK(strstr(test_last[UBLKIT_LOG_ERR], "kernel returned")); /* FETCH refused */
	CHECK_EQ(ublkit_server_get_id(s), 3);
	CHECK_EQ(ublkit_server_get_params(s)->nr_queues, 2);
	CHECK_EQ(ublkit_server_get_params(s)->queue_depth, 8);
	CHECK_EQ(ublkit_server_get_params(s)->max_io_bytes, 256 << 10);
	CHECK_EQ(fake_count(UBLK_CMD_START_USER_RECOVERY), 1);
	CHECK(fake_last(UBLK_CMD_END_USER_RECOVERY)->cmd.data[0] == (uint64_t)getpid());
	CHECK_EQ(fake_count(UBLK_CMD_ADD_DEV), 0);
	CHECK_EQ(d->info.state, UBLKIT_DEV_LIVE);
	CHECK_EQ(ublkit_manifest_read(ctx, 3, &m), 0);
	CHECK_EQ(m.server_pid, getpid());
	CHECK_EQ(m.params.queue_depth, 8);
	CHECK_EQ(ublkit_server_recover(s, 3), -EALREADY);
	ublkit_server_unref(s);
	CHECK_EQ(fake_count(UBLK_CMD_DEL_DEV), 1);
	ublkit_ctx_unref(ctx);

	/* what cannot be taken over */
	ctx = setup();
	fake_add(4, UBLKIT_DEV_QUIESCED, 999, 0, true);
	fake_add(5, UBLKIT_DEV_LIVE, 999, UBLKIT_F_USER_RECOVERY, true);
	fake_add(6, UBLKIT_DEV_QUIESCED, 999, UBLKIT_F_USER_RECOVERY | UBLKIT_F_USER_COPY, true);
	{
		char path[] = "/tmp/ublkit-recover.XXXXXX";
		int fd = mkstemp(path);

		CHECK_EQ(ftruncate(fd, 64 << 20), 0);
		close(fd);
		p.size = 0;
		CHECK_EQ(ublkit_server_new(ctx, &p, "file", path, &s), 0);
		unlink(path);
	}
	CHECK_EQ(ublkit_server_recover(s, 4), -EOPNOTSUPP);
	CHECK_EQ(ublkit_server_recover(s, 5), -EBUSY);
	CHECK_EQ(ublkit_server_recover(s, 6), -EOPNOTSUPP); /* a file on disk has no user copy */
	CHECK_EQ(ublkit_server_recover(s, 9), -ENODEV);
	CHECK_EQ(fake_count(UBLK_CMD_START_USER_RECOVERY), 0);
	/* a refused recovery does not delete the device */
	fake.fail_nr = UBLK_CMD_END_USER_RECOVERY;
	fake.fail_result = -EINVAL;
	fake_find(6)->info.flags = UBLKIT_F_USER_RECOVERY;
	CHECK_EQ(ublkit_server_recover(s, 6), -EINVAL);
	CHECK(fake_find(6) != NULL);
	CHECK(s->queues == NULL);
	CHECK_EQ(s->cdev_fd, -1);
	CHECK(!s->added);
	ublkit_server_unref(s);
	CHECK_EQ(fake_count(UBLK_CMD_DEL_DEV), 0);
	ublkit_ctx_unref(ctx);
}

static void test_disk_size(void)
{
	struct ublkit_ctx *ctx = setup();
	char path[64];
	uint64_t bytes = 1;

	CHECK_EQ(ublkit_ublk_disk_size(ctx, 3, &bytes), 0);
	CHECK_EQ(bytes, 0);
	fake_write(root, "/sys/block/ublkb3/size", "2097152\n");
	CHECK_EQ(ublkit_ublk_disk_size(ctx, 3, &bytes), 0);
	CHECK(bytes == 1ULL << 30);
	fake_write(root, "/sys/block/ublkb3/size", "lots\n");
	CHECK_EQ(ublkit_ublk_disk_size(ctx, 3, &bytes), -EINVAL);
	CHECK_EQ(ublkit_ublk_block_path(12, path, sizeof(path)), 0);
	CHECK_STREQ(path, "/dev/ublkb12");
	CHECK_EQ(ublkit_ublk_block_path(12, path, 12), -ENAMETOOLONG);
	CHECK_EQ(ublkit_ublk_block_path(12, path, 13), 0);
	ublkit_ctx_unref(ctx);
}

int main(void)
{
	RUN(test_start_stop);
	RUN(test_kernel_adjusts);
	RUN(test_no_discard_volatile);
	RUN(test_failed_steps);
	RUN(test_refused_features);
	RUN(test_wait);
	RUN(test_recover);
	RUN(test_disk_size);
	fake_root_free(root);
	return test_result();
}
