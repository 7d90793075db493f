/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ublk control plane (ublk-ctrl.c) over a fake driver: how commands
 * are encoded and filled in, the feature probe, and how the kernel's
 * answers map onto the library's structures.
 */
#include "config.h"

#include <sys/ioctl.h>

#include "fake-ublk-ctrl.h"
#include "test.h"

static char *root;

static struct ublkit_ctx *setup(uint64_t features)
{
	struct ublkit_ctx *ctx = test_ctx();

	fake_root_free(root);
	root = fake_root_linux();
	fake_mkdir(root, "/sys/class/ublk-char");
	fake_reset(root);
	fake.features = features;
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	fake_install(ctx);
	test_log_reset();
	return ctx;
}

static const struct {
	unsigned int nr, encoded;
} cmd_codes[] = {
	{ UBLK_CMD_GET_DEV_INFO, UBLK_U_CMD_GET_DEV_INFO },
	{ UBLK_CMD_GET_DEV_INFO2, UBLK_U_CMD_GET_DEV_INFO2 },
	{ UBLK_CMD_ADD_DEV, UBLK_U_CMD_ADD_DEV },
	{ UBLK_CMD_DEL_DEV, UBLK_U_CMD_DEL_DEV },
	{ UBLK_CMD_START_DEV, UBLK_U_CMD_START_DEV },
	{ UBLK_CMD_STOP_DEV, UBLK_U_CMD_STOP_DEV },
	{ UBLK_CMD_SET_PARAMS, UBLK_U_CMD_SET_PARAMS },
	{ UBLK_CMD_GET_PARAMS, UBLK_U_CMD_GET_PARAMS },
	{ UBLK_CMD_START_USER_RECOVERY, UBLK_U_CMD_START_USER_RECOVERY },
	{ UBLK_CMD_END_USER_RECOVERY, UBLK_U_CMD_END_USER_RECOVERY },
};

/* With UBLK_F_CMD_IOCTL_ENCODE every command goes out as the kernel's _IOR/_IOWR. */
static void test_opcodes_encoded(void)
{
	struct ublkit_ctx *ctx = setup(0x1fe);

	for (size_t i = 0; i < sizeof(cmd_codes) / sizeof(cmd_codes[0]); i++) {
		const struct fake_cmd *c;

		fake.nr_cmds = 0;
		ublk_ctrl_cmd(ctx, cmd_codes[i].nr, 77, NULL, 0, 0);
		c = fake_last(cmd_codes[i].nr);
		CHECK(c != NULL);
		if (!c)
			continue;
		CHECK(c->encoded);
		CHECK_EQ(c->op, cmd_codes[i].encoded);
		CHECK_EQ(_IOC_SIZE(c->op), sizeof(struct ublksrv_ctrl_cmd));
	}
	/* the features were asked for once, not before every command */
	CHECK_EQ(fake_count(UBLK_CMD_GET_FEATURES), 0);
	ublkit_ctx_unref(ctx);
}

/* Without it the legacy numbers are sent, except GET_FEATURES. */
static void test_opcodes_legacy(void)
{
	struct ublkit_ctx *ctx = setup(0x1fe & ~UBLKIT_F_CMD_IOCTL_ENCODE);
	const struct fake_cmd *c;

	for (size_t i = 0; i < sizeof(cmd_codes) / sizeof(cmd_codes[0]); i++) {
		ublk_ctrl_cmd(ctx, cmd_codes[i].nr, 77, NULL, 0, 0);
		c = fake_last(cmd_codes[i].nr);
		CHECK(c && !c->encoded && c->op == cmd_codes[i].nr);
	}
	c = fake_last(UBLK_CMD_GET_FEATURES);
	CHECK(c && c->encoded && c->op == UBLK_U_CMD_GET_FEATURES);
	CHECK_EQ(fake_count(UBLK_CMD_GET_FEATURES), 1);
	ublkit_ctx_unref(ctx);
}

/* The command block: device, "no queue", payload, data[0], timeout. */
static void test_cmd_fields(void)
{
	struct ublkit_ctx *ctx = setup(0x1fe);
	const struct fake_cmd *c;
	char payload[40];

	CHECK_EQ(ublk_ctrl_cmd(ctx, UBLK_CMD_START_USER_RECOVERY, 5, payload, sizeof(payload),
			       0x1234567890ULL), -ENODEV);
	c = fake_last(UBLK_CMD_START_USER_RECOVERY);
	CHECK(c != NULL);
	if (c) {
		CHECK_EQ(c->cmd.dev_id, 5);
		CHECK_EQ(c->cmd.queue_id, 0xffff);
		CHECK_EQ(c->cmd.len, sizeof(payload));
		CHECK(c->cmd.addr == (uintptr_t)payload);
		CHECK_EQ(c->cmd.data[0], 0x1234567890ULL);
		CHECK_EQ(c->timeout_ms, 30000);
	}
	ublkit_ctx_set_ctrl_timeout(ctx, 1500);
	ublkit_ublk_stop(ctx, 5);
	c = fake_last(UBLK_CMD_STOP_DEV);
	CHECK(c && c->timeout_ms == 1500 && c->cmd.len == 0 && c->cmd.addr == 0);
	ublkit_ctx_set_ctrl_timeout(ctx, 0);
	ublkit_ublk_del(ctx, 6);
	c = fake_last(UBLK_CMD_DEL_DEV);
	CHECK(c && c->timeout_ms == 30000 && c->cmd.dev_id == 6);
	ublkit_ctx_unref(ctx);
}

static void test_features(void)
{
	struct ublkit_ctx *ctx = setup(0x1fe);
	const struct fake_cmd *c;
	uint64_t f = 0;

	CHECK_EQ(ublk_ctrl_features(ctx), 0x1fe);
	CHECK_EQ(ublkit_ublk_get_features(ctx, &f), 0);
	CHECK_EQ(f, 0x1fe);
	c = fake_last(UBLK_CMD_GET_FEATURES);
	CHECK(c && c->cmd.len == sizeof(uint64_t) && c->cmd.dev_id == (uint32_t)-1);
	/* cached: no second question, also not from other commands */
	f = 0;
	fake.features = 0x2;
	CHECK_EQ(ublkit_ublk_get_features(ctx, &f), 0);
	CHECK_EQ(f, 0x1fe);
	ublkit_ublk_stop(ctx, 1);
	CHECK_EQ(fake_count(UBLK_CMD_GET_FEATURES), 1);
	/* a new transport asks again, and this kernel has no ioctl encoding */
	fake_install(ctx);
	CHECK_EQ(ublkit_ublk_get_features(ctx, &f), 0);
	CHECK_EQ(f, 0x2);
	CHECK_EQ(fake_count(UBLK_CMD_GET_FEATURES), 2);
	ublkit_ublk_stop(ctx, 1);
	CHECK(!fake_last(UBLK_CMD_STOP_DEV)->encoded);
	/* so does a forked child, which forgets its parent's ring */
	ublk_ctrl_reset(ctx);
	fake.features = 0x1fe;
	ublkit_ublk_stop(ctx, 1);
	CHECK_EQ(fake_count(UBLK_CMD_GET_FEATURES), 3);
	CHECK(fake_last(UBLK_CMD_STOP_DEV)->encoded);
	ublkit_ctx_unref(ctx);
}

/* Linux < 6.5 has no GET_FEATURES: asked once, then legacy opcodes. */
static void test_features_old_kernel(void)
{
	static const int refusals[] = { -EINVAL, -EOPNOTSUPP, -ENOTTY };

	for (size_t i = 0; i < 3; i++) {
		struct ublkit_ctx *ctx = setup(0);
		struct ublkit_dev_info info;
		uint64_t f = 77;

		fake.get_features_result = refusals[i];
		fake_add(3, UBLKIT_DEV_LIVE, 100, 0, true);
		CHECK_EQ(ublk_ctrl_features(ctx), 0);
		CHECK_EQ(ublkit_ublk_get_features(ctx, &f), -EOPNOTSUPP);
		CHECK_EQ(ublkit_ublk_get_features(ctx, &f), -EOPNOTSUPP);
		CHECK_EQ(f, 77);
		CHECK_EQ(ublkit_ublk_get_info(ctx, 3, &info), 0);
		CHECK_EQ(info.id, 3);
		CHECK_EQ(fake_last(UBLK_CMD_GET_DEV_INFO)->op, UBLK_CMD_GET_DEV_INFO);
		CHECK_EQ(fake_count(UBLK_CMD_GET_FEATURES), 1);
		ublkit_ctx_unref(ctx);
	}
}

/* Other errors are not "an old kernel": they are returned and asked again. */
static void test_features_error(void)
{
	struct ublkit_ctx *ctx = setup(0x1fe);
	uint64_t f = 77;

	fake.get_features_result = -EPERM;
	CHECK_EQ(ublkit_ublk_get_features(ctx, &f), -EPERM);
	CHECK_EQ(f, 77);
	fake.get_features_result = 0;
	CHECK_EQ(ublkit_ublk_get_features(ctx, &f), 0);
	CHECK_EQ(f, 0x1fe);
	CHECK_EQ(fake_count(UBLK_CMD_GET_FEATURES), 2);
	ublkit_ctx_unref(ctx);
}

static void test_get_info(void)
{
	struct ublkit_ctx *ctx = setup(0x1fe);
	struct ublkit_dev_info info;
	struct fake_dev *d;
	const struct fake_cmd *c;

	d = fake_add(9, UBLKIT_DEV_QUIESCED, 4321, UBLKIT_F_USER_RECOVERY | UBLKIT_F_USER_COPY,
		     true);
	d->info.nr_queues = 3;
	d->info.queue_depth = 77;
	d->info.max_io_buf_bytes = 512 << 10;
	d->info.owner_uid = 1000;
	d->info.owner_gid = 1001;
	d->info.server_flags |= 0x5;
	memset(&info, 0xff, sizeof(info));
	CHECK_EQ(ublkit_ublk_get_info(ctx, 9, &info), 0);
	CHECK_EQ(info.id, 9);
	CHECK_EQ(info.state, UBLKIT_DEV_QUIESCED);
	CHECK_EQ(info.nr_queues, 3);
	CHECK_EQ(info.queue_depth, 77);
	CHECK_EQ(info.max_io_buf_bytes, 512 << 10);
	CHECK_EQ(info.server_pid, 4321);
	CHECK_EQ(info.flags, UBLKIT_F_USER_RECOVERY | UBLKIT_F_USER_COPY);
	CHECK_EQ(info.server_flags, UBLKIT_OWNER_MARK | 0x5);
	CHECK_EQ(info.owner_uid, 1000);
	CHECK_EQ(info.owner_gid, 1001);
	CHECK(ublkit_dev_info_is_ublkit(&info));
	c = fake_last(UBLK_CMD_GET_DEV_INFO);
	CHECK(c && c->cmd.dev_id == 9 && c->cmd.len == sizeof(struct ublkit_uapi_dev_info));

	memset(&info, 0, sizeof(info));
	CHECK_EQ(ublkit_ublk_get_info(ctx, 10, &info), -ENODEV);
	CHECK_EQ(info.id, 0);
	ublkit_ctx_unref(ctx);
}

static struct ublk_params kernel_params(void)
{
	struct ublk_params up = { .len = sizeof(up), .types = UBLK_PARAM_TYPE_BASIC };

	up.basic.dev_sectors = 2048;
	up.basic.logical_bs_shift = 12;
	up.basic.physical_bs_shift = 13;
	up.basic.max_sectors = 256;
	return up;
}

static void test_get_params(void)
{
	struct ublkit_ctx *ctx = setup(0x1fe);
	struct ublkit_dev_params p;
	struct fake_dev *d = fake_add(4, UBLKIT_DEV_LIVE, 1, 0, true);
	const struct fake_cmd *c;

	d->has_params = true;
	d->params = kernel_params();
	d->params.types |= UBLK_PARAM_TYPE_DISCARD;
	d->params.basic.attrs = UBLK_ATTR_ROTATIONAL | UBLK_ATTR_FUA;
	d->params.discard.discard_granularity = 8192;
	d->params.discard.max_discard_sectors = 4096;
	CHECK_EQ(ublkit_ublk_get_params(ctx, 4, &p), 0);
	CHECK_EQ(p.dev_id, 4);
	CHECK_EQ(p.size, 1 << 20);
	CHECK_EQ(p.logical_block_size, 4096);
	CHECK_EQ(p.physical_block_size, 8192);
	CHECK_EQ(p.max_io_bytes, 128 << 10);
	CHECK_EQ(p.flags, UBLKIT_DEV_ROTATIONAL | UBLKIT_DEV_FUA);
	CHECK_EQ(p.discard_granularity, 8192);
	CHECK_EQ(p.max_discard_bytes, 2 << 20);
	c = fake_last(UBLK_CMD_GET_PARAMS);
	CHECK(c && c->cmd.len == sizeof(struct ublk_params) && c->cmd.dev_id == 4);

	/* each attribute maps to its flag; no discard parameters: no discard */
	d->params = kernel_params();
	d->params.basic.attrs = UBLK_ATTR_READ_ONLY;
	CHECK_EQ(ublkit_ublk_get_params(ctx, 4, &p), 0);
	CHECK_EQ(p.flags, UBLKIT_DEV_READ_ONLY | UBLKIT_DEV_NO_DISCARD);
	CHECK_EQ(p.discard_granularity, 0);
	CHECK_EQ(p.max_discard_bytes, 0);
	d->params.basic.attrs = UBLK_ATTR_VOLATILE_CACHE;
	CHECK_EQ(ublkit_ublk_get_params(ctx, 4, &p), 0);
	CHECK_EQ(p.flags, UBLKIT_DEV_VOLATILE_CACHE | UBLKIT_DEV_NO_DISCARD);
	d->params.basic.attrs = UBLK_ATTR_ROTATIONAL;
	CHECK_EQ(ublkit_ublk_get_params(ctx, 4, &p), 0);
	CHECK_EQ(p.flags, UBLKIT_DEV_ROTATIONAL | UBLKIT_DEV_NO_DISCARD);
	d->params.basic.attrs = UBLK_ATTR_FUA;
	d->params.basic.logical_bs_shift = 9;
	d->params.basic.physical_bs_shift = 9;
	CHECK_EQ(ublkit_ublk_get_params(ctx, 4, &p), 0);
	CHECK_EQ(p.flags, UBLKIT_DEV_FUA | UBLKIT_DEV_NO_DISCARD);
	CHECK_EQ(p.logical_block_size, 512);
	CHECK_EQ(p.physical_block_size, 512);

	/* sizes past 4 GiB survive the sector shift */
	d->params.basic.dev_sectors = 1ULL << 33;
	CHECK_EQ(ublkit_ublk_get_params(ctx, 4, &p), 0);
	CHECK_EQ(p.size, 1ULL << 42);

	/* without basic parameters, only the defaults */
	d->params.types = UBLK_PARAM_TYPE_DISCARD;
	CHECK_EQ(ublkit_ublk_get_params(ctx, 4, &p), 0);
	CHECK_EQ(p.size, 0);
	CHECK_EQ(p.flags, 0);
	CHECK_EQ(p.nr_queues, 1);
	CHECK_EQ(p.max_io_bytes, UBLKIT_DEFAULT_MAX_IO_BYTES);

	CHECK_EQ(ublkit_ublk_get_params(ctx, 5, &p), -ENODEV);
	ublkit_ctx_unref(ctx);
}

static void test_timeout_and_errors(void)
{
	struct ublkit_ctx *ctx = setup(0x1fe);

	fake_add(2, UBLKIT_DEV_LIVE, 1, 0, true);
	fake.stuck_nr = UBLK_CMD_STOP_DEV;
	ublkit_ctx_set_ctrl_timeout(ctx, 250);
	CHECK_EQ(ublkit_ublk_stop(ctx, 2), -ETIMEDOUT);
	CHECK(strstr(test_last_error, "STOP_DEV") && strstr(test_last_error, "250 ms"));
	/* the driver's own errors pass through unchanged */
	test_log_reset();
	fake.stuck_nr = 0;
	fake.fail_nr = UBLK_CMD_DEL_DEV;
	fake.fail_result = -EBUSY;
	CHECK_EQ(ublkit_ublk_del(ctx, 2), -EBUSY);
	fake.fail_nr = 0;
	CHECK_EQ(ublkit_ublk_stop(ctx, 2), 0);
	CHECK_EQ(fake_find(2)->info.state, UBLKIT_DEV_DEAD);
	CHECK_EQ(ublkit_ublk_del(ctx, 2), 0);
	CHECK(fake_find(2) == NULL);
	CHECK_EQ(ublkit_ublk_del(ctx, 2), -ENODEV);
	CHECK_EQ(test_logged[UBLKIT_LOG_ERR], 0);
	ublkit_ctx_unref(ctx);
}

/* No fake: a captured tree has no driver to talk to. */
static void test_no_kernel(void)
{
	struct ublkit_ctx *ctx = test_ctx();
	struct ublkit_dev_info info;
	char *r = fake_root_linux();
	uint64_t f;

	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, r), 0);
	fake_write(r, "/dev/ublk-control", "");
	CHECK_EQ(ublkit_ublk_get_info(ctx, 0, &info), -EXDEV);
	CHECK_EQ(ublkit_ublk_get_features(ctx, &f), -EXDEV);
	/* the real root of this machine, when it has no ublk */
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, NULL), 0);
	if (access("/dev/ublk-control", F_OK) != 0)
		CHECK_EQ(ublkit_ublk_stop(ctx, 0), -ENODEV);
	ublkit_ctx_unref(ctx);
	fake_root_free(r);
}

static void test_list(void)
{
	struct ublkit_ctx *ctx = setup(0x1fe);
	uint32_t *ids = (uint32_t *)&ids;
	char *r;

	CHECK_EQ(ublkit_ublk_list(ctx, &ids), 0);
	CHECK(ids == NULL);
	fake_mkdir(root, "/sys/class/ublk-char/ublkc10");
	fake_mkdir(root, "/sys/class/ublk-char/ublkc3");
	fake_mkdir(root, "/sys/class/ublk-char/ublkc0");
	fake_mkdir(root, "/sys/class/ublk-char/ublkc7x");
	fake_mkdir(root, "/sys/class/ublk-char/ublkb4");
	fake_mkdir(root, "/sys/class/ublk-char/other");
	for (int i = 20; i < 31; i++) {
		char p[64];

		snprintf(p, sizeof(p), "/sys/class/ublk-char/ublkc%d", 50 - i);
		fake_mkdir(root, p);
	}
	CHECK_EQ(ublkit_ublk_list(ctx, &ids), 14);
	if (ids) {
		CHECK_EQ(ids[0], 0);
		CHECK_EQ(ids[1], 3);
		CHECK_EQ(ids[2], 10);
		CHECK_EQ(ids[3], 20);
		for (int i = 3; i < 13; i++)
			CHECK(ids[i] < ids[i + 1]);
		CHECK_EQ(ids[13], 30);
	}
	free(ids);
	ublkit_ctx_unref(ctx);

	/* no ublk-char class at all: no devices, not an error */
	ctx = test_ctx();
	r = fake_root_new();
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, r), 0);
	ids = (uint32_t *)&ids;
	CHECK_EQ(ublkit_ublk_list(ctx, &ids), 0);
	CHECK(ids == NULL);
	/* a file where the directory should be is an error */
	fake_write(r, "/sys/class/ublk-char", "");
	CHECK_EQ(ublkit_ublk_list(ctx, &ids), -ENOTDIR);
	ublkit_ctx_unref(ctx);
	fake_root_free(r);
}

static void test_names(void)
{
	static const char *const features[] = {
		"zero-copy", "uring-cmd-comp-in-task", "need-get-data", "user-recovery",
		"user-recovery-reissue", "unprivileged-dev", "cmd-ioctl-encode", "user-copy",
		"zoned", "user-recovery-fail-io", "update-size", "auto-buf-reg", "quiesce",
		"per-io-daemon",
	};
	struct ublkit_dev_info info = { 0 };

	CHECK_STREQ(ublkit_dev_state_name(UBLKIT_DEV_DEAD), "dead");
	CHECK_STREQ(ublkit_dev_state_name(UBLKIT_DEV_LIVE), "live");
	CHECK_STREQ(ublkit_dev_state_name(UBLKIT_DEV_QUIESCED), "quiesced");
	CHECK_STREQ(ublkit_dev_state_name(UBLKIT_DEV_FAIL_IO), "fail-io");
	CHECK_STREQ(ublkit_dev_state_name(4), "unknown");
	CHECK_STREQ(ublkit_dev_state_name(-1), "unknown");
	for (int i = 0; i < 14; i++)
		CHECK_STREQ(ublkit_feature_name(1ULL << i), features[i]);
	CHECK_STREQ(ublkit_feature_name(UBLKIT_F_USER_RECOVERY), "user-recovery");
	CHECK(ublkit_feature_name(1ULL << 14) == NULL);
	CHECK(ublkit_feature_name(1ULL << 63) == NULL);
	CHECK(ublkit_feature_name(0) == NULL);
	CHECK(ublkit_feature_name(3) == NULL);

	CHECK(!ublkit_dev_info_is_ublkit(&info));
	info.server_flags = UBLKIT_OWNER_MARK;
	CHECK(ublkit_dev_info_is_ublkit(&info));
	info.server_flags = UBLKIT_OWNER_MARK | 0xffffffffULL;
	CHECK(ublkit_dev_info_is_ublkit(&info));
	info.server_flags = UBLKIT_OWNER_MARK | (1ULL << 63);
	CHECK(!ublkit_dev_info_is_ublkit(&info));
	info.server_flags = UBLKIT_OWNER_MAGIC;
	CHECK(!ublkit_dev_info_is_ublkit(&info));
}

int main(void)
{
	RUN(test_opcodes_encoded);
	RUN(test_opcodes_legacy);
	RUN(test_cmd_fields);
	RUN(test_features);
	RUN(test_features_old_kernel);
	RUN(test_features_error);
	RUN(test_get_info);
	RUN(test_get_params);
	RUN(test_timeout_and_errors);
	RUN(test_no_kernel);
	RUN(test_list);
	RUN(test_names);
	fake_root_free(root);
	return test_result();
}
