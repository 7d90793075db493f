/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ublkit_doctor() against fake sysroots. */
#include "config.h"

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

static int run_doctor(const char *root, struct seen *s)
{
	struct ublkit_ctx *ctx = test_ctx();
	int r;

	memset(s, 0, sizeof(*s));
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
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

int main(void)
{
	RUN(test_module_loadable);
	RUN(test_module_loaded);
	RUN(test_module_builtin);
	RUN(test_module_missing);
	RUN(test_io_uring_disabled);
	RUN(test_blacklisted);
	RUN(test_no_caps_no_swap);
	return test_result();
}
