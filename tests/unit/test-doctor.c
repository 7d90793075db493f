/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ublkit_doctor() against fake sysroots. */
#include "config.h"

#include <sys/resource.h>
#include <unistd.h>

#include "fake-ublk-ctrl.h"
#include "test.h"
#include "ublkit/doctor.h"

struct seen {
	int n;
	struct ublkit_check c[32];
};

static void collect(const struct ublkit_check *c, void *data)
{
	struct seen *s = data;

	if (s->n < 32)
		s->c[s->n++] = *c;
}

static const struct ublkit_check *find(const struct seen *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->c[i].name, name) == 0)
			return &s->c[i];
	return NULL;
}

static bool with_driver;

static int run_doctor(const char *root, struct seen *s)
{
	struct ublkit_ctx *ctx = test_ctx();
	int r;

	memset(s, 0, sizeof(*s));
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	if (with_driver)
		fake_install(ctx);
	r = ublkit_doctor(ctx, collect, s);
	ublkit_ctx_unref(ctx);
	return r;
}

static void test_module_loadable(void)
{
	char *root = fake_root_linux();
	const struct ublkit_check *c;
	struct seen s;

	CHECK_EQ(run_doctor(root, &s), UBLKIT_CHECK_WARN);
	c = find(&s, "ublk-driver");
	CHECK(c && c->level == UBLKIT_CHECK_OK && strstr(c->message, "available"));
	c = find(&s, "ublk-control");
	CHECK(c && c->level == UBLKIT_CHECK_WARN && strstr(c->fix, "ublkit modprobe"));
	CHECK(find(&s, "memlock") && find(&s, "swap") && find(&s, "nvme"));
	CHECK(find(&s, "device-mapper") && find(&s, "io-uring") && find(&s, "capabilities"));
	fake_root_free(root);
}

static void test_module_loaded(void)
{
	char *root = fake_root_linux();
	const struct ublkit_check *c;
	struct seen s;

	fake_write(root, "/sys/module/ublk_drv/initstate", "live\n");
	fake_write(root, "/dev/ublk-control", "");
	run_doctor(root, &s);
	c = find(&s, "ublk-driver");
	CHECK(c && c->level == UBLKIT_CHECK_OK && strstr(c->message, "loaded"));
	c = find(&s, "ublk-control");
	CHECK(c && c->level == UBLKIT_CHECK_OK);
	fake_root_free(root);
}

static void test_module_builtin(void)
{
	char *root = fake_root_linux();
	const struct ublkit_check *c;
	struct seen s;

	fake_write(root, "/lib/modules/6.12.0-test/modules.builtin",
		   "kernel/drivers/block/ublk_drv.ko\n");
	fake_write(root, "/lib/modules/6.12.0-test/modules.dep", "");
	fake_write(root, "/dev/ublk-control", "");
	run_doctor(root, &s);
	c = find(&s, "ublk-driver");
	CHECK(c && c->level == UBLKIT_CHECK_OK && strstr(c->message, "built into"));
	fake_root_free(root);
}

static void test_module_missing(void)
{
	char *root = fake_root_linux();
	const struct ublkit_check *c;
	struct seen s;

	fake_write(root, "/lib/modules/6.12.0-test/modules.dep", "kernel/drivers/md/dm-mod.ko.xz:\n");
	CHECK_EQ(run_doctor(root, &s), UBLKIT_CHECK_FAIL);
	c = find(&s, "ublk-driver");
	CHECK(c && c->level == UBLKIT_CHECK_FAIL && strstr(c->fix, "CONFIG_BLK_DEV_UBLK"));
	c = find(&s, "ublk-control");
	CHECK(c && c->level == UBLKIT_CHECK_FAIL);
	c = find(&s, "nvme");
	CHECK(c && c->level == UBLKIT_CHECK_WARN);
	fake_root_free(root);
}

static void test_io_uring_disabled(void)
{
	char *root = fake_root_linux();
	const struct ublkit_check *c;
	struct seen s;

	fake_write(root, "/proc/sys/kernel/io_uring_disabled", "2\n");
	CHECK_EQ(run_doctor(root, &s), UBLKIT_CHECK_FAIL);
	c = find(&s, "io-uring");
	CHECK(c && c->level == UBLKIT_CHECK_FAIL && strstr(c->fix, "io_uring_disabled=0"));

	fake_write(root, "/proc/sys/kernel/io_uring_disabled", "1\n");
	run_doctor(root, &s);
	c = find(&s, "io-uring");
	CHECK(c && c->level == UBLKIT_CHECK_WARN);
	fake_root_free(root);
}

static void test_blacklisted(void)
{
	char *root = fake_root_linux();
	const struct ublkit_check *c;
	struct seen s;

	fake_write(root, "/etc/modprobe.d/ublk.conf", "blacklist ublk_drv\n");
	CHECK_EQ(run_doctor(root, &s), UBLKIT_CHECK_FAIL);
	c = find(&s, "ublk-driver");
	CHECK(c && c->level == UBLKIT_CHECK_FAIL && strstr(c->message, "blacklisted"));
	fake_root_free(root);
}

static void test_no_caps_no_swap(void)
{
	char *root = fake_root_linux();
	const struct ublkit_check *c;
	struct seen s;

	fake_write(root, "/proc/self/status", "Name:\tx\nCapEff:\t0000000000000000\n");
	{
		char p[4096];

		snprintf(p, sizeof(p), "%s/proc/swaps", root);
		CHECK_EQ(remove(p), 0);
	}
	CHECK_EQ(run_doctor(root, &s), UBLKIT_CHECK_FAIL);
	c = find(&s, "capabilities");
	CHECK(c && c->level == UBLKIT_CHECK_FAIL && strstr(c->message, "CAP_SYS_ADMIN"));
	c = find(&s, "swap");
	CHECK(c && c->level == UBLKIT_CHECK_WARN);
	fake_root_free(root);
}

/* Every check reports once, in this order, with no fix when it passes. */
static void test_all_checks(void)
{
	static const char *const names[] = { "kernel", "ublk-driver", "ublk-control", "io-uring",
					     "ublk-features", "capabilities", "memlock", "swap",
					     "device-mapper", "nvme" };
	char *root = fake_root_linux();
	const struct ublkit_check *c;
	struct seen s;
	int worst = UBLKIT_CHECK_OK;

	fake_write(root, "/sys/module/ublk_drv/initstate", "live\n");
	fake_write(root, "/dev/ublk-control", "");
	CHECK_EQ(run_doctor(root, &s), UBLKIT_CHECK_OK);
	CHECK_EQ(s.n, 10);
	for (int i = 0; i < s.n && i < 10; i++) {
		CHECK_STREQ(s.c[i].name, names[i]);
		if (s.c[i].level == UBLKIT_CHECK_OK)
			CHECK_STREQ(s.c[i].fix, "");
		else
			CHECK(s.c[i].fix[0] != '\0');
		if (s.c[i].level > worst)
			worst = s.c[i].level;
	}
	CHECK_EQ(worst, UBLKIT_CHECK_OK);
	c = find(&s, "kernel");
	CHECK(c && strstr(c->message, "6.12.0-test"));
	c = find(&s, "ublk-features");
	CHECK(c && c->level == UBLKIT_CHECK_OK && strstr(c->message, "sysroot"));
	c = find(&s, "io-uring");
	CHECK(c && c->level == UBLKIT_CHECK_OK && strstr(c->message, "enabled"));
	c = find(&s, "capabilities");
	CHECK(c && c->level == UBLKIT_CHECK_OK && strstr(c->message, "CAP_IPC_LOCK"));
	c = find(&s, "swap");
	CHECK(c && c->level == UBLKIT_CHECK_OK && strstr(c->message, "0 active areas"));
	c = find(&s, "device-mapper");
	CHECK(c && c->level == UBLKIT_CHECK_OK && strstr(c->message, "available as a module") &&
	      !strstr(c->message, "control"));
	c = find(&s, "nvme");
	CHECK(c && c->level == UBLKIT_CHECK_OK && strstr(c->message, "0 controllers"));
	/* a NULL callback still gives the verdict */
	{
		struct ublkit_ctx *ctx = test_ctx();

		CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
		CHECK_EQ(ublkit_doctor(ctx, NULL, NULL), UBLKIT_CHECK_OK);
		ublkit_ctx_unref(ctx);
	}
	CHECK_STREQ(ublkit_check_level_name(UBLKIT_CHECK_OK), "ok");
	CHECK_STREQ(ublkit_check_level_name(UBLKIT_CHECK_WARN), "warn");
	CHECK_STREQ(ublkit_check_level_name(UBLKIT_CHECK_FAIL), "fail");
	CHECK_STREQ(ublkit_check_level_name(7), "fail");
	fake_root_free(root);
}

static void test_counts(void)
{
	char *root = fake_root_linux();
	const struct ublkit_check *c;
	struct seen s;

	fake_write(root, "/proc/swaps", "Filename Type Size Used Priority\n"
				       "/dev/zram0 partition 1024 0 100\n");
	fake_mkdir(root, "/sys/class/nvme/nvme0");
	fake_write(root, "/sys/module/dm_mod/initstate", "live\n");
	fake_write(root, "/dev/mapper/control", "");
	run_doctor(root, &s);
	c = find(&s, "swap");
	CHECK(c && strstr(c->message, "1 active area") && !strstr(c->message, "areas"));
	c = find(&s, "nvme");
	CHECK(c && strstr(c->message, "1 controller") && !strstr(c->message, "controllers"));
	CHECK(c && strstr(c->message, "available as a module"));
	c = find(&s, "device-mapper");
	CHECK(c && strstr(c->message, "loaded") && strstr(c->message, "/dev/mapper/control present"));

	fake_write(root, "/proc/swaps", "Filename Type Size Used Priority\n"
				       "/dev/zram0 partition 1024 0 100\n/swapfile file 8 0 -2\n");
	fake_mkdir(root, "/sys/class/nvme/nvme1");
	fake_mkdir(root, "/sys/class/nvme/.hidden");
	fake_write(root, "/lib/modules/6.12.0-test/modules.builtin",
		   "kernel/drivers/md/dm-mod.ko\nkernel/drivers/nvme/host/nvme.ko\n");
	run_doctor(root, &s);
	c = find(&s, "swap");
	CHECK(c && strstr(c->message, "2 active areas"));
	c = find(&s, "nvme");
	CHECK(c && strstr(c->message, "built in, 2 controllers"));
	fake_root_free(root);
}

static void test_capabilities(void)
{
	char *root = fake_root_linux();
	const struct ublkit_check *c;
	struct seen s;

	/* CAP_SYS_ADMIN only */
	fake_write(root, "/proc/self/status", "Name:\tx\nCapEff:\t0000000000200000\n");
	CHECK_EQ(run_doctor(root, &s), UBLKIT_CHECK_WARN);
	c = find(&s, "capabilities");
	CHECK(c && c->level == UBLKIT_CHECK_WARN &&
	      strstr(c->message, "missing: CAP_IPC_LOCK CAP_SYS_RESOURCE"));
	/* and CAP_IPC_LOCK */
	fake_write(root, "/proc/self/status", "CapEff:\t0000000000204000\n");
	run_doctor(root, &s);
	c = find(&s, "capabilities");
	CHECK(c && c->level == UBLKIT_CHECK_WARN && strstr(c->message, "missing: CAP_SYS_RESOURCE") &&
	      !strstr(c->message, "IPC_LOCK"));
	/* and CAP_SYS_RESOURCE instead */
	fake_write(root, "/proc/self/status", "CapEff:\t0000000001200000\n");
	run_doctor(root, &s);
	c = find(&s, "capabilities");
	CHECK(c && c->level == UBLKIT_CHECK_WARN && strstr(c->message, "missing: CAP_IPC_LOCK") &&
	      !strstr(c->message, "RESOURCE"));
	/* all three */
	fake_write(root, "/proc/self/status", "CapInh:\t0\nCapEff:\t0000000001204000\n");
	run_doctor(root, &s);
	c = find(&s, "capabilities");
	CHECK(c && c->level == UBLKIT_CHECK_OK);
	fake_write(root, "/proc/self/status", "CapEff:\t0000000001204000\n");
	run_doctor(root, &s);
	c = find(&s, "capabilities");
	CHECK(c && c->level == UBLKIT_CHECK_OK);
	/* only the effective set counts */
	fake_write(root, "/proc/self/status", "CapPrm:\t000001ffffffffff\nCapEff:\t0\n"
					      "CapBnd:\t000001ffffffffff\n");
	run_doctor(root, &s);
	c = find(&s, "capabilities");
	CHECK(c && c->level == UBLKIT_CHECK_FAIL);
	/* no capability line: unknown */
	fake_write(root, "/proc/self/status", "Name:\tx\n");
	run_doctor(root, &s);
	c = find(&s, "capabilities");
	CHECK(c && c->level == UBLKIT_CHECK_WARN && strstr(c->message, "unknown"));
	fake_root_free(root);
}

static void test_memlock(void)
{
	char *root = fake_root_linux();
	const struct ublkit_check *c;
	struct rlimit saved, rl;
	struct seen s;

	CHECK_EQ(getrlimit(RLIMIT_MEMLOCK, &saved), 0);
	if (saved.rlim_max == RLIM_INFINITY) {
		rl = (struct rlimit){ RLIM_INFINITY, RLIM_INFINITY };
		CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
		run_doctor(root, &s);
		c = find(&s, "memlock");
		CHECK(c && c->level == UBLKIT_CHECK_OK && strstr(c->message, "unlimited"));
	}
	/* small, but CAP_IPC_LOCK lifts it */
	rl = (struct rlimit){ 1 << 20, saved.rlim_max };
	CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
	run_doctor(root, &s);
	c = find(&s, "memlock");
	CHECK(c && c->level == UBLKIT_CHECK_OK && strstr(c->message, "1024 KiB; CAP_IPC_LOCK"));
	/* small, and no CAP_IPC_LOCK */
	fake_write(root, "/proc/self/status", "CapEff:\t0000000001200000\n");
	run_doctor(root, &s);
	c = find(&s, "memlock");
	CHECK(c && c->level == UBLKIT_CHECK_WARN && strstr(c->message, "1024 KiB: too small"));
	/* the smallest that will do (raising the hard limit needs privilege) */
	rl = (struct rlimit){ 64 << 20, 64 << 20 };
	if (setrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
		run_doctor(root, &s);
		c = find(&s, "memlock");
		CHECK(c && c->level == UBLKIT_CHECK_OK && strstr(c->message, "65536 KiB") &&
		      !strstr(c->message, "CAP"));
		rl.rlim_cur = (64 << 20) - 4096;
		CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
		run_doctor(root, &s);
		c = find(&s, "memlock");
		CHECK(c && c->level == UBLKIT_CHECK_WARN);
	} else {
		printf("# cannot raise RLIMIT_MEMLOCK to 64 MiB: not tested at the threshold\n");
	}
	CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &saved), 0);
	fake_root_free(root);
}

static void test_bare_root(void)
{
	char *root = fake_root_new();
	const struct ublkit_check *c;
	struct seen s;

	CHECK_EQ(run_doctor(root, &s), UBLKIT_CHECK_FAIL);
	c = find(&s, "kernel");
	CHECK(c && c->level == UBLKIT_CHECK_WARN && strstr(c->fix, "mount /proc"));
	c = find(&s, "io-uring");
	CHECK(c && c->level == UBLKIT_CHECK_OK && strstr(c->message, "no io_uring_disabled"));
	c = find(&s, "ublk-control");
	CHECK(c && c->level == UBLKIT_CHECK_FAIL && strstr(c->fix, "see ublk-driver"));
	c = find(&s, "device-mapper");
	CHECK(c && c->level == UBLKIT_CHECK_WARN);
	c = find(&s, "swap");
	CHECK(c && c->level == UBLKIT_CHECK_WARN && strstr(c->message, "/proc/swaps"));
	/* a captured tree is not asked, with or without a control node */
	c = find(&s, "ublk-features");
	CHECK(c && c->level == UBLKIT_CHECK_OK && strstr(c->message, "sysroot"));

	/* ublk built in, and yet no control node */
	fake_write(root, "/proc/sys/kernel/osrelease", "6.12.0-x\n");
	fake_write(root, "/lib/modules/6.12.0-x/modules.builtin", "kernel/drivers/block/ublk_drv.ko\n");
	run_doctor(root, &s);
	c = find(&s, "ublk-control");
	CHECK(c && c->level == UBLKIT_CHECK_FAIL && strstr(c->fix, "devtmpfs"));
	fake_root_free(root);
}

/* The feature query, answered by a fake driver. */
static void test_features(void)
{
	char *root = fake_root_linux();
	const struct ublkit_check *c;
	struct seen s;

	fake_write(root, "/sys/module/ublk_drv/initstate", "live\n");
	fake_write(root, "/dev/ublk-control", "");
	fake_reset(root);
	with_driver = true;
	CHECK_EQ(run_doctor(root, &s), UBLKIT_CHECK_OK);
	c = find(&s, "ublk-features");
	CHECK(c && c->level == UBLKIT_CHECK_OK);
	CHECK(c && strstr(c->message, "0x1fe (uring-cmd-comp-in-task need-get-data "
				      "user-recovery user-recovery-reissue unprivileged-dev "
				      "cmd-ioctl-encode user-copy zoned)"));
	CHECK_EQ(fake_count(UBLK_CMD_GET_FEATURES), 1);

	/* no user recovery: servers do not survive a crash */
	fake.features = UBLKIT_F_ZERO_COPY | UBLKIT_F_QUIESCE | (1ULL << 40);
	CHECK_EQ(run_doctor(root, &s), UBLKIT_CHECK_WARN);
	c = find(&s, "ublk-features");
	CHECK(c && c->level == UBLKIT_CHECK_WARN && strstr(c->fix, "UBLK_F_USER_RECOVERY"));
	CHECK(c && strstr(c->message, "0x10000001001 (zero-copy quiesce unknown); no user recovery"));

	/* a kernel before GET_FEATURES */
	fake.get_features_result = -EINVAL;
	CHECK_EQ(run_doctor(root, &s), UBLKIT_CHECK_WARN);
	c = find(&s, "ublk-features");
	CHECK(c && c->level == UBLKIT_CHECK_WARN && strstr(c->message, "predates"));

	/* not allowed to ask */
	fake.get_features_result = -EPERM;
	CHECK_EQ(run_doctor(root, &s), UBLKIT_CHECK_FAIL);
	c = find(&s, "ublk-features");
	CHECK(c && c->level == UBLKIT_CHECK_FAIL && strstr(c->message, "not permitted") &&
	      strstr(c->fix, "CAP_SYS_ADMIN"));
	with_driver = false;

	/* a captured tree, with or without the node: not asked */
	run_doctor(root, &s);
	c = find(&s, "ublk-features");
	CHECK(c && c->level == UBLKIT_CHECK_OK && strstr(c->message, "sysroot"));
	fake_root_free(root);

	/* this machine, when it has no ublk */
	if (access("/dev/ublk-control", F_OK) != 0) {
		struct ublkit_ctx *ctx = test_ctx();

		memset(&s, 0, sizeof(s));
		ublkit_doctor(ctx, collect, &s);
		c = find(&s, "ublk-features");
		CHECK(c && c->level == UBLKIT_CHECK_WARN && strstr(c->fix, "load ublk_drv"));
		ublkit_ctx_unref(ctx);
	}
}

int main(void)
{
	RUN(test_module_loadable);
	RUN(test_module_loaded);
	RUN(test_module_builtin);
	RUN(test_module_missing);
	RUN(test_io_uring_disabled);
	RUN(test_blacklisted);
	RUN(test_no_caps_no_swap);
	RUN(test_all_checks);
	RUN(test_counts);
	RUN(test_capabilities);
	RUN(test_memlock);
	RUN(test_bare_root);
	RUN(test_features);
	return test_result();
}
