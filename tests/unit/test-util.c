/* SPDX-License-Identifier: GPL-2.0-or-later */
/* String helpers (util.c) and the sysroot file helpers (path.c). */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "test.h"
#include "ublkit-private.h"
#include "ublkit/ublk.h"

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
	CHECK_EQ(ublkit_parse_u64("0XfFfFfFfFfFfFfFfF", &v), 0);
	CHECK(v == UINT64_MAX);
	CHECK_EQ(ublkit_parse_u64("9", &v), 0);
	CHECK_EQ(v, 9);
	/* every hex digit, both cases, and the ends of each range */
	CHECK_EQ(ublkit_parse_u64("0xaAbBcCdDeEfF", &v), 0);
	CHECK(v == 0xaabbccddeeffULL);
	CHECK_EQ(ublkit_parse_u64("0x0123456789", &v), 0);
	CHECK(v == 0x0123456789ULL);
	CHECK_EQ(ublkit_parse_u64("0xfffffffffffffff", &v), 0);
	CHECK(v == 0xfffffffffffffffULL);
	/* no octal: a leading zero is a decimal zero */
	CHECK_EQ(ublkit_parse_u64("010", &v), 0);
	CHECK_EQ(v, 10);

	v = 42;
	CHECK_EQ(ublkit_parse_u64("18446744073709551616", &v), -ERANGE);
	CHECK_EQ(ublkit_parse_u64("0x10000000000000000", &v), -ERANGE);
	CHECK_EQ(ublkit_parse_u64("", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64(NULL, &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64("-1", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64(" 1", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64("+1", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64("12a", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64("12\n", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64("a12", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64("0x", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64("0xg", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64("0x1g", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64("0x@", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64("0x`", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64("0xG", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64("0x:", &v), -EINVAL);
	CHECK_EQ(ublkit_parse_u64("0x/", &v), -EINVAL);
	CHECK_EQ(v, 42);
}

static void test_parse_uint(void)
{
	static const char *const bad[] = { "", " 1", "+1", "-1", "1 ", "0x10", "1.0", "1e3",
					   "1K", "١", "1\n", "\t1", "-0", "0b1" };
	uint64_t v = 42;

	CHECK_EQ(ublkit_parse_uint("0", 0, 10, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(ublkit_parse_uint("10", 0, 10, &v), 0);
	CHECK_EQ(v, 10);
	CHECK_EQ(ublkit_parse_uint("007", 0, 10, &v), 0);
	CHECK_EQ(v, 7);
	CHECK_EQ(ublkit_parse_uint("18446744073709551615", 0, UINT64_MAX, &v), 0);
	CHECK(v == UINT64_MAX);

	v = 42;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ublkit_parse_uint(bad[i], 0, UINT64_MAX, &v) != -EINVAL) {
			fprintf(stderr, "'%s' was not refused\n", bad[i]);
			CHECK(false);
		}
	}
	CHECK_EQ(ublkit_parse_uint(NULL, 0, 1, &v), -EINVAL);
	CHECK_EQ(ublkit_parse_uint("1", 0, 1, NULL), -EINVAL);
	CHECK_EQ(ublkit_parse_uint("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	CHECK_EQ(ublkit_parse_uint("99999999999999999999999", 0, UINT64_MAX, &v), -ERANGE);
	CHECK_EQ(ublkit_parse_uint("11", 0, 10, &v), -ERANGE);
	CHECK_EQ(ublkit_parse_uint("0", 1, 10, &v), -ERANGE);
	CHECK_EQ(ublkit_parse_uint("65", 1, 64, &v), -ERANGE);
	CHECK_EQ(v, 42);
}

static void check_size(const char *s, int want, uint64_t value)
{
	uint64_t v = 12345;
	int r = ublkit_parse_size(s, &v);

	if (r != want || (want == 0 && v != value) || (want < 0 && v != 12345)) {
		fprintf(stderr, "ublkit_parse_size(\"%s\") = %d, %llu; want %d, %llu\n", s, r,
			(unsigned long long)v, want, (unsigned long long)value);
		CHECK(false);
	}
}

static void test_parse_size(void)
{
	check_size("0", 0, 0);
	check_size("4096", 0, 4096);
	check_size("010", 0, 10);
	check_size("1K", 0, 1024);
	check_size("1k", 0, 1024);
	check_size("1KiB", 0, 1024);
	check_size("1kiB", 0, 1024);
	check_size("1KB", 0, 1000);
	check_size("1kB", 0, 1000);
	check_size("512M", 0, 512ULL << 20);
	check_size("1G", 0, 1ULL << 30);
	check_size("1GiB", 0, 1ULL << 30);
	check_size("1GB", 0, 1000000000ULL);
	check_size("2T", 0, 2ULL << 40);
	check_size("3P", 0, 3ULL << 50);
	check_size("15E", 0, 15ULL << 60);
	check_size("18EB", 0, 18000000000000000000ULL);
	check_size("1.5G", 0, 3ULL << 29);
	check_size("1.5GiB", 0, 3ULL << 29);
	check_size("1.5GB", 0, 1500000000ULL);
	check_size("0.5K", 0, 512);
	check_size("1.50K", 0, 1536);
	check_size("1.000K", 0, 1024);
	check_size("2.25M", 0, 9ULL << 18);
	check_size("1.0", 0, 1);
	check_size("0.0009765625M", 0, 1024);
	check_size("1.0000000000000000000000K", 0, 1024);
	check_size("18446744073709551615", 0, UINT64_MAX);
	check_size("15.9999999999999999999E", -EDOM, 0);
	check_size("0.0000000000000000001E", -EDOM, 0);
	check_size("0.000000000000000001E", -EDOM, 0);
	check_size("0.000000000000000001EB", 0, 1);
	check_size("15.5E", 0, 31ULL << 59);
	/* 19 digits after the point still count when the bytes are whole: 5^19 / 10^19 E */
	check_size("0.0000019073486328125E", 0, 1ULL << 41);
	check_size("0.00000190734863281250E", 0, 1ULL << 41);

	/* no whole number of bytes: refused, never rounded */
	check_size("1.5", -EDOM, 0);
	check_size("1.1K", -EDOM, 0);
	check_size("1.0000000001K", -EDOM, 0);
	check_size("0.1", -EDOM, 0);

	/* beyond 2^64 - 1 */
	check_size("18446744073709551616", -ERANGE, 0);
	check_size("16E", -ERANGE, 0);
	check_size("16EiB", -ERANGE, 0);
	check_size("17179869184G", -ERANGE, 0);
	check_size("16.5E", -ERANGE, 0);
	check_size("18446744073709551615.5K", -ERANGE, 0);
	check_size("19EB", -ERANGE, 0);
	check_size("99999999999999999999999K", -ERANGE, 0);

	check_size("", -EINVAL, 0);
	check_size(" 1", -EINVAL, 0);
	check_size("1 ", -EINVAL, 0);
	check_size("1 G", -EINVAL, 0);
	check_size("+1", -EINVAL, 0);
	check_size("-1", -EINVAL, 0);
	check_size("0x10", -EINVAL, 0);
	check_size(".5K", -EINVAL, 0);
	check_size("1.K", -EINVAL, 0);
	check_size("1.", -EINVAL, 0);
	check_size("1..5K", -EINVAL, 0);
	check_size("1,5G", -EINVAL, 0);
	check_size("1Q", -EINVAL, 0);
	check_size("1Z", -EINVAL, 0);
	check_size("1B", -EINVAL, 0);
	check_size("1Ki", -EINVAL, 0);
	check_size("1KIB", -EINVAL, 0);
	check_size("1KiBx", -EINVAL, 0);
	check_size("1Kb", -EINVAL, 0);
	check_size("1GG", -EINVAL, 0);
	check_size("1e3", -EINVAL, 0);
	check_size("K", -EINVAL, 0);
	check_size("1K\n", -EINVAL, 0);
	CHECK_EQ(ublkit_parse_size(NULL, &(uint64_t){ 0 }), -EINVAL);
	CHECK_EQ(ublkit_parse_size("1", NULL), -EINVAL);
}

static void test_parse_dev_id(void)
{
	static const char *const good[] = { "3", "ublk3", "ublkb3", "ublkc3", "/dev/ublkb3",
					    "/dev/ublkc3", "03" };
	static const char *const bad[] = { "", "ublk", "/dev/ublkb", "-1", "+3", " 3", "3 ",
					   "ublk 3", "ublkb-3", "0x3", "/dev/ublkb3/..",
					   "../ublkb3", "dev/ublkb3", "ublkbb3", "nvme0n1" };
	uint32_t id = 7;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		id = 7;
		CHECK_EQ(ublkit_parse_dev_id(good[i], &id), 0);
		CHECK_EQ(id, 3);
	}
	id = 7;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ublkit_parse_dev_id(bad[i], &id) != -EINVAL) {
			fprintf(stderr, "'%s' was not refused\n", bad[i]);
			CHECK(false);
		}
	CHECK_EQ(ublkit_parse_dev_id("0", &id), 0);
	CHECK_EQ(id, 0);
	CHECK_EQ(ublkit_parse_dev_id("1048575", &id), 0);
	CHECK_EQ(id, UBLKIT_DEV_ID_MAX);
	CHECK_EQ(ublkit_parse_dev_id("1048576", &id), -ERANGE);
	CHECK_EQ(ublkit_parse_dev_id("4294967295", &id), -ERANGE);
	CHECK_EQ(ublkit_parse_dev_id("ublkb99999999999999999999", &id), -ERANGE);
	CHECK_EQ(ublkit_parse_dev_id(NULL, &id), -EINVAL);
	CHECK_EQ(id, UBLKIT_DEV_ID_MAX);
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

static void test_unescape_octal(void)
{
	/* each digit at both ends of its range (0-3, then 0-7 twice), and escapes that are none */
	char s[] = "\\011\\040\\060\\067\\101\\170\\377|\\400\\180\\068\\08\\8|\\04";
	char plain[] = "0123 a\\\\b 777";
	char *tail;

	unescape_octal(s);
	CHECK_STREQ(s, "\t 07Ax\377|\\400\\180\\068\\08\\8|\\04");
	unescape_octal(plain);
	CHECK_STREQ(plain, "0123 a\\\\b 777");
	/* an escape cut short by the end of the string is kept as it is */
	tail = strdup("x\\0");
	unescape_octal(tail);
	CHECK_STREQ(tail, "x\\0");
	free(tail);
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
	RUN(test_parse_uint);
	RUN(test_parse_size);
	RUN(test_parse_dev_id);
	RUN(test_streq_module);
	RUN(test_unescape_octal);
	RUN(test_path_bounds);
	RUN(test_read_line);
	RUN(test_open);
	RUN(test_kernel_release);
	return test_result();
}
