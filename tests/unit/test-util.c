/* SPDX-License-Identifier: GPL-2.0-or-later */
/* String helpers (util.c) and the sysroot file helpers (path.c). */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "test.h"
#include "ublkit-private.h"

static void test_parse_u64(void)
{
	uint64_t v = 42;

	CHECK_EQ(ublkit_parse_u64("0", &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(ublkit_parse_u64("123", &v), 0);
	CHECK_EQ(v, 123);
	CHECK_EQ(ublkit_parse_u64("18446744073709551615", &v), 0);
	CHECK(v == UINT64_MAX);
	CHECK_EQ(ublkit_parse_u64("0x1f", &v), 0);
	CHECK_EQ(v, 31);
	CHECK_EQ(ublkit_parse_u64("9", &v), 0);
	CHECK_EQ(v, 9);

	v = 42;
	CHECK_EQ(ublkit_parse_u64("18446744073709551616", &v), -ERANGE);
	CHECK_EQ(ublkit_parse_u64("", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64(NULL, &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64("-1", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64(" 1", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64("+1", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64("12a", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64("12\n", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64("a12", &v), -EINVAL);
	CHECK_EQ(v, 42);
}

static void test_streq_module(void)
{
	CHECK(ublkit_streq_module("dm_mod", "dm_mod"));
	CHECK(ublkit_streq_module("dm-mod", "dm_mod"));
	CHECK(ublkit_streq_module("dm_mod", "dm-mod"));
	CHECK(ublkit_streq_module("a-b_c", "a_b-c"));
	CHECK(ublkit_streq_module("", ""));
	CHECK(!ublkit_streq_module("dm_mod", "dm_mo"));
	CHECK(!ublkit_streq_module("dm_mo", "dm_mod"));
	CHECK(!ublkit_streq_module("dm_mod", "dm.mod"));
	CHECK(!ublkit_streq_module("nvme", "nvmf"));
	CHECK(!ublkit_streq_module("", "x"));
	CHECK(!ublkit_streq_module("x", ""));
}

static struct ublkit_ctx *ctx_on(const char *root)
{
	struct ublkit_ctx *ctx = test_ctx();

	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	return ctx;
}

static void test_path_bounds(void)
{
	char *root = fake_root_new();
	struct ublkit_ctx *ctx = ctx_on(root);
	size_t rl = strlen(root);
	char buf[4096], big[5000];
	int n;

	/* the exact length fits with its NUL, one byte less does not */
	n = ublkit_ctx_path(ctx, "/dev/x", buf, rl + 7);
	CHECK_EQ(n, (int)rl + 6);
	CHECK_EQ(ublkit_ctx_path(ctx, "/dev/x", buf, rl + 6), -ENAMETOOLONG);
	CHECK_EQ(ublkit_ctx_path(ctx, NULL, buf, sizeof(buf)), -EINVAL);
	CHECK_EQ(ublkit_ctx_path(ctx, "", buf, sizeof(buf)), -EINVAL);

	n = ublkit_pathf(ctx, buf, sizeof(buf), "/sys/block/%s/%u", "ublkb", 7u);
	CHECK_EQ(n, (int)rl + 18);
	CHECK(strncmp(buf, root, rl) == 0);
	CHECK_STREQ(buf + rl, "/sys/block/ublkb/7");
	CHECK_EQ(ublkit_pathf(ctx, buf, sizeof(buf), "sys/%d", 1), -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ(ublkit_pathf(ctx, buf, sizeof(buf), "%s", big), -ENAMETOOLONG);
	big[4095] = '\0'; /* fits the relative buffer, not with the root in front */
	CHECK_EQ(ublkit_pathf(ctx, buf, sizeof(buf), "%s", big), -ENAMETOOLONG);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static void test_read_line(void)
{
	char *root = fake_root_new();
	struct ublkit_ctx *ctx = ctx_on(root);
	char buf[16];
	uint64_t v = 7;

	fake_write(root, "/a", "hello\n");
	fake_write(root, "/b", "one two  \n\n");
	fake_write(root, "/empty", "");
	fake_write(root, "/long", "0123456789abcdefghij\n");
	fake_write(root, "/num", "4096\n");
	fake_write(root, "/hex", "0x10");
	fake_write(root, "/bad", "12 pages\n");
	CHECK_EQ(ublkit_read_line(ctx, "/a", buf, sizeof(buf)), 5);
	CHECK_STREQ(buf, "hello");
	CHECK_EQ(ublkit_read_line(ctx, "/b", buf, sizeof(buf)), 7);
	CHECK_STREQ(buf, "one two");
	CHECK_EQ(ublkit_read_line(ctx, "/empty", buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "");
	CHECK_EQ(ublkit_read_line(ctx, "/long", buf, sizeof(buf)), 15);
	CHECK_STREQ(buf, "0123456789abcde");
	CHECK_EQ(ublkit_read_line(ctx, "/a", buf, 1), 0);
	CHECK_EQ(ublkit_read_line(ctx, "/a", buf, 0), -EINVAL);
	CHECK_EQ(ublkit_read_line(ctx, "/missing", buf, sizeof(buf)), -ENOENT);
	CHECK_EQ(ublkit_read_line(ctx, "/", buf, sizeof(buf)), -EISDIR);

	CHECK_EQ(ublkit_read_u64(ctx, "/num", &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(ublkit_read_u64(ctx, "/hex", &v), 0);
	CHECK_EQ(v, 16);
	CHECK_EQ(ublkit_read_u64(ctx, "/bad", &v), -EINVAL);
	CHECK_EQ(ublkit_read_u64(ctx, "/empty", &v), -EINVAL);
	CHECK_EQ(ublkit_read_u64(ctx, "/missing", &v), -ENOENT);
	CHECK_EQ(v, 16);

	CHECK(ublkit_exists(ctx, "/a"));
	CHECK(ublkit_exists(ctx, "/"));
	CHECK(!ublkit_exists(ctx, "/missing"));
	CHECK(!ublkit_exists(ctx, "a"));
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static void test_open(void)
{
	char *root = fake_root_new();
	struct ublkit_ctx *ctx = ctx_on(root);
	char buf[8] = "";
	int fd;

	fake_write(root, "/etc/x", "abc");
	fd = ublkit_open(ctx, "/etc/x", O_RDONLY);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_EQ(read(fd, buf, sizeof(buf)), 3);
		CHECK_STREQ(buf, "abc");
		CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		close(fd);
	}
	CHECK_EQ(ublkit_open(ctx, "/etc/y", O_RDONLY), -ENOENT);
	CHECK_EQ(ublkit_open(ctx, "etc/x", O_RDONLY), -EINVAL);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static void test_kernel_release(void)
{
	char *root = fake_root_new();
	struct ublkit_ctx *ctx = ctx_on(root);
	char rel[8];

	/* a captured tree without a release is not this machine's release */
	CHECK_EQ(ublkit_kernel_release(ctx, rel, sizeof(rel)), -ENOENT);
	fake_write(root, "/proc/sys/kernel/osrelease", "\n");
	CHECK_EQ(ublkit_kernel_release(ctx, rel, sizeof(rel)), -ENOENT);
	fake_write(root, "/proc/sys/kernel/osrelease", "6.1.0\n");
	CHECK_EQ(ublkit_kernel_release(ctx, rel, sizeof(rel)), 5);
	CHECK_STREQ(rel, "6.1.0");
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

int main(void)
{
	RUN(test_parse_u64);
	RUN(test_streq_module);
	RUN(test_path_bounds);
	RUN(test_read_line);
	RUN(test_open);
	RUN(test_kernel_release);
	return test_result();
}
