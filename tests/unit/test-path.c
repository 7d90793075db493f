/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The sysroot path layer. */
#include "config.h"

#include "test.h"

static void test_no_sysroot(void)
{
	struct ublkit_ctx *ctx = test_ctx();
	char buf[64];

	CHECK(!ublkit_ctx_is_sysroot(ctx));
	CHECK_EQ(ublkit_ctx_path(ctx, "/sys/class", buf, sizeof(buf)), 10);
	CHECK_STREQ(buf, "/sys/class");
	CHECK_EQ(ublkit_ctx_path(ctx, "relative", buf, sizeof(buf)), -EINVAL);
	ublkit_ctx_unref(ctx);
}

static void test_sysroot(void)
{
	struct ublkit_ctx *ctx = test_ctx();
	char *root = fake_root_new();
	char buf[4096], expect[4096];

	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	CHECK_STREQ(ublkit_ctx_get_sysroot(ctx), root);
	snprintf(expect, sizeof(expect), "%s/dev/ublk-control", root);
	CHECK(ublkit_ctx_path(ctx, "/dev/ublk-control", buf, sizeof(buf)) > 0);
	CHECK_STREQ(buf, expect);
	CHECK_EQ(ublkit_ctx_path(ctx, "/dev/ublk-control", buf, 8), -ENAMETOOLONG);

	/* "/" and NULL both mean the real root again */
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, "/"), 0);
	CHECK(!ublkit_ctx_is_sysroot(ctx));
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, NULL), 0);
	CHECK(ublkit_ctx_get_sysroot(ctx) == NULL);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static void test_bad_sysroot(void)
{
	struct ublkit_ctx *ctx = test_ctx();
	char *root = fake_root_new();
	char file[4096];

	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, "/nonexistent/ublkit"), -ENOENT);
	fake_write(root, "/afile", "x");
	snprintf(file, sizeof(file), "%s/afile", root);
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, file), -ENOTDIR);
	CHECK(!ublkit_ctx_is_sysroot(ctx));
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static void test_release_through_sysroot(void)
{
	struct ublkit_ctx *ctx = test_ctx();
	char *root = fake_root_linux();
	char rel[64];

	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	CHECK_EQ(ublkit_kernel_release(ctx, rel, sizeof(rel)), 11);
	CHECK_STREQ(rel, "6.12.0-test");
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

int main(void)
{
	RUN(test_no_sysroot);
	RUN(test_sysroot);
	RUN(test_bad_sysroot);
	RUN(test_release_through_sysroot);
	return test_result();
}
