/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Names before they reach a path (name.c): modules, dm names and UUIDs,
 * swap labels, paths, and the device parameters' ranges. */
#include "config.h"

#include <limits.h>

#include "test.h"
#include "ublkit-private.h"
#include "name-private.h"
#include "ublkit/dm.h"
#include "ublkit/swap.h"
#include "ublkit/ublk.h"

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* @r is -EINVAL and something was logged at error priority. */
static void check_refused(int r, const char *what)
{
	if (r != -EINVAL || !test_logged[UBLKIT_LOG_ERR]) {
		fprintf(stderr, "'%s': %d, %d error(s) logged\n", what, r,
			test_logged[UBLKIT_LOG_ERR]);
		CHECK(false);
	}
	test_log_reset();
}

static void test_module_names(void)
{
	static const char *const good[] = { "ublk_drv", "dm-mod", "dm_crypt", "nvme", "X9",
					    "a", "_", "a-", "azAZ09" };
	/* the characters right outside a-z, A-Z and 0-9 */
	static const char *const bad[] = { "", "../../etc/passwd", "a/b", ".", "..", "ublk drv",
					   "ublk_drv\n", "ublk\tdrv", "dm.crypt", "pci:v*",
					   "ublk_drv ", " ublk_drv", "mod\x7f", "\xc3\xa9t\xc3\xa9",
					   "a;b", "$(x)", "a`", "a{", "a@", "a[", "a/", "a:",
					   "-", "-x", "--help" };
	struct ublkit_ctx *ctx = test_ctx();

	char *s;

	test_log_reset();
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK_EQ(ublkit_kmod_name_check(ctx, good[i]), 0);
	CHECK_EQ(test_logged[UBLKIT_LOG_ERR], 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_refused(ublkit_kmod_name_check(ctx, bad[i]), bad[i]);
	check_refused(ublkit_kmod_name_check(ctx, NULL), "NULL");
	s = repeat('m', UBLKIT_KMOD_NAME_MAX);
	CHECK_EQ(ublkit_kmod_name_check(ctx, s), 0);
	free(s);
	s = repeat('m', UBLKIT_KMOD_NAME_MAX + 1);
	check_refused(ublkit_kmod_name_check(ctx, s), "56 characters");
	free(s);
	/* a name that does not fit the message is cut, and says so */
	s = repeat('m', 79);
	ublkit_kmod_name_check(ctx, s);
	CHECK(strncmp(test_last_error + 1, s, 79) == 0);
	CHECK(strncmp(test_last_error + 80, "' is not", 8) == 0);
	free(s);
	s = repeat('m', 80);
	ublkit_kmod_name_check(ctx, s);
	CHECK(strncmp(test_last_error + 80, "...' is not", 11) == 0);
	free(s);
	test_log_reset();
	/* the message names what is allowed, and never echoes a control character */
	ublkit_kmod_name_check(ctx, "a\033[2Jb");
	CHECK(strstr(test_last_error, "letters, digits"));
	CHECK(!strchr(test_last_error, '\033'));
	CHECK(strstr(test_last_error, "a?[2Jb"));
	CHECK_STREQ(test_last_error, "'a?[2Jb' is not a module name: 1 to 55 letters, digits, "
		    "'_' and '-', not starting with '-' (such as ublk_drv or dm-crypt)");
	ublkit_ctx_unref(ctx);
}

static void test_kmod_refuses_paths(void)
{
	char *root = fake_root_linux();
	struct ublkit_ctx *ctx = test_ctx();

	test_log_reset();

	/* once, "/sys/module/../../etc/passwd" existed: a built-in module */
	fake_write(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
	fake_write(root, "/sys/module/ublk_drv/initstate", "live\n");
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	CHECK_EQ(ublkit_kmod_state(ctx, "ublk_drv"), UBLKIT_KMOD_LOADED);
	CHECK_EQ(ublkit_kmod_state(ctx, "ublk-drv"), UBLKIT_KMOD_LOADED);
	check_refused(ublkit_kmod_state(ctx, "../../etc/passwd"), "state of a path");
	check_refused(ublkit_kmod_state(ctx, ""), "state of ''");
	check_refused(ublkit_kmod_load(ctx, "../../etc/passwd", 0), "load of a path");
	check_refused(ublkit_kmod_load(ctx, "", 0), "load of ''");
	CHECK(!ublkit_kmod_is_blacklisted(ctx, "../x"));
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static void test_dm_names(void)
{
	static const char *const both[] = { "pool0", "pool0_meta.1+x-y", "swap0", "+x", "_x",
					    "azAZ09", "x-", "x." };
	/* foreign devices may have names ublkit does not give */
	static const char *const kernel_only[] = { "-x", ".x", "vg-lv with space", "a:b",
						   "\xc3\xa9" };
	static const char *const bad[] = { "", ".", "..", "a/b", "/", "../../etc/passwd",
					   "control", "a\nb", "a\tb", "\x7f" };
	struct ublkit_ctx *ctx = test_ctx();

	char *s;

	test_log_reset();
	for (size_t i = 0; i < sizeof(both) / sizeof(both[0]); i++) {
		CHECK_EQ(ublkit_dm_name_check(ctx, both[i], 0), 0);
		CHECK_EQ(ublkit_dm_name_check(ctx, both[i], UBLKIT_DM_NAME_CREATE), 0);
	}
	CHECK_EQ(test_logged[UBLKIT_LOG_ERR], 0);
	for (size_t i = 0; i < sizeof(kernel_only) / sizeof(kernel_only[0]); i++) {
		CHECK_EQ(ublkit_dm_name_check(ctx, kernel_only[i], 0), 0);
		check_refused(ublkit_dm_name_check(ctx, kernel_only[i], UBLKIT_DM_NAME_CREATE),
			      kernel_only[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		check_refused(ublkit_dm_name_check(ctx, bad[i], 0), bad[i]);
		check_refused(ublkit_dm_name_check(ctx, bad[i], UBLKIT_DM_NAME_CREATE), bad[i]);
	}
	check_refused(ublkit_dm_name_check(ctx, NULL, 0), "NULL");
	CHECK_EQ(ublkit_dm_name_check(ctx, "x", 1u << 5), -EINVAL);

	s = repeat('x', UBLKIT_DM_NAME_MAX);
	CHECK_EQ(ublkit_dm_name_check(ctx, s, UBLKIT_DM_NAME_CREATE), 0);
	free(s);
	s = repeat('x', UBLKIT_DM_NAME_MAX + 1);
	CHECK_EQ(ublkit_dm_name_check(ctx, s, 0), 0);
	check_refused(ublkit_dm_name_check(ctx, s, UBLKIT_DM_NAME_CREATE), "97 bytes");
	free(s);
	s = repeat('x', 127);
	CHECK_EQ(ublkit_dm_name_check(ctx, s, 0), 0);
	free(s);
	s = repeat('x', 128);
	check_refused(ublkit_dm_name_check(ctx, s, 0), "128 bytes");
	ublkit_dm_name_check(ctx, s, 0);
	CHECK(strncmp(test_last_error, "device-mapper name '", 20) == 0);
	CHECK(strncmp(test_last_error + 20, s, 79) == 0);
	CHECK_STREQ(test_last_error + 99, "...': 128 bytes; at most 127 fit");
	test_log_reset();
	free(s);

	CHECK_EQ(name_check_dm_uuid(ctx, "UBLKIT-linear-0123456789abcdef-x"), 0);
	s = repeat('u', 128);
	CHECK_EQ(name_check_dm_uuid(ctx, s), 0);
	free(s);
	s = repeat('u', 129);
	check_refused(name_check_dm_uuid(ctx, s), "uuid of 129 bytes");
	free(s);
	check_refused(name_check_dm_uuid(ctx, ""), "empty uuid");
	check_refused(name_check_dm_uuid(ctx, "a\nb"), "uuid with a newline");
	name_check_dm_uuid(ctx, "a\nb");
	CHECK_STREQ(test_last_error,
		    "device-mapper UUID 'a?b': 1 to 128 bytes without control characters");
	test_log_reset();
	ublkit_ctx_unref(ctx);
}

static void test_dm_refuses_before_the_kernel(void)
{
	struct ublkit_dm_device *d = NULL;
	struct ublkit_dm_status *st = NULL;
	struct ublkit_ctx *ctx = test_ctx();

	char buf[64];

	test_log_reset();
	/* these fail on the name, whether or not device-mapper is there */
	check_refused(ublkit_dm_device_new(ctx, "../x", &d), "device_new");
	check_refused(ublkit_dm_status_get(ctx, "a/b", &st), "status_get");
	check_refused(ublkit_dm_get_holder(ctx, "..", buf, sizeof(buf)), "get_holder");
	check_refused(ublkit_dm_remove(ctx, "control", 0), "remove");
	check_refused(ublkit_dm_suspend(ctx, "", 0), "suspend");
	check_refused(ublkit_dm_resume(ctx, "x\ny"), "resume");
	CHECK(!d && !st);
	ublkit_ctx_unref(ctx);
}

static void test_swap_labels(void)
{
	static const char *const good[] = { "ublkit-swap", "swap 1", "x", "0123456789abcdef",
					    "\xc3\xa9t\xc3\xa9", ".x" };
	static const char *const bad[] = { "a/b", ".", "..", "a\nb", "0123456789abcdefg",
					   "\x1b", "tab\there" };
	struct ublkit_ctx *ctx = test_ctx();

	test_log_reset();

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK_EQ(ublkit_swap_label_check(ctx, good[i]), 0);
	CHECK_EQ(ublkit_swap_label_check(ctx, NULL), 0);
	CHECK_EQ(ublkit_swap_label_check(ctx, ""), 0);
	CHECK_EQ(test_logged[UBLKIT_LOG_ERR], 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_refused(ublkit_swap_label_check(ctx, bad[i]), bad[i]);
	ublkit_swap_label_check(ctx, "0123456789abcdefg");
	CHECK_STREQ(test_last_error, "swap label '0123456789abcdefg': 17 bytes; at most 16 fit");
	/* what is refused is shown without its control characters */
	ublkit_swap_label_check(ctx, "a\nb");
	CHECK_STREQ(test_last_error, "swap label 'a?b': may not contain '/' or control "
		    "characters, nor be '.' or '..'");
	ublkit_ctx_unref(ctx);
}

static void test_paths(void)
{
	struct ublkit_ctx *ctx = test_ctx();

	char *s;

	test_log_reset();
	CHECK_EQ(name_check_path(ctx, "file", "/dev/nvme0n1"), 0);
	CHECK_EQ(name_check_path(ctx, "file", "relative/file name"), 0);
	check_refused(name_check_path(ctx, "file", ""), "empty path");
	check_refused(name_check_path(ctx, "file", NULL), "NULL path");
	check_refused(name_check_path(ctx, "file", "/tmp/a\nb"), "newline");
	s = repeat('p', PATH_MAX);
	CHECK_EQ(name_check_path(ctx, "file", s), -ENAMETOOLONG);
	free(s);
	test_log_reset();
	ublkit_ctx_unref(ctx);
}

static void test_printable(void)
{
	char buf[8];

	CHECK_STREQ(name_printable("abc", buf, sizeof(buf)), "abc");
	CHECK_STREQ(name_printable("a\nb\x7f", buf, sizeof(buf)), "a?b?");
	CHECK_STREQ(name_printable("0123456789", buf, sizeof(buf)), "0123456");
	CHECK_STREQ(name_printable(NULL, buf, sizeof(buf)), "");
	CHECK_STREQ(name_printable("x", buf, 0), "");
	/* C1 controls (CSI), stray bytes and overlong forms are not shown; a
	 * character that does not fit is left out whole */
	CHECK_STREQ(name_printable("a\xc2\x9b" "2J", buf, sizeof(buf)), "a?2J");
	CHECK_STREQ(name_printable("\x9b\xff\xc0\xaf", buf, sizeof(buf)), "????");
	CHECK_STREQ(name_printable("\xc3\xa9t\xc3\xa9", buf, sizeof(buf)), "\xc3\xa9t\xc3\xa9");
	CHECK_STREQ(name_printable("abcdef\xc3\xa9", buf, sizeof(buf)), "abcdef");
	CHECK(name_has_control("a\x01"));
	CHECK(!name_has_control("a b\xc3\xa9"));
}

static struct ublkit_dev_params params(void)
{
	struct ublkit_dev_params p;

	ublkit_dev_params_init(&p);
	p.size = 1ULL << 30;
	return p;
}

#define CHECK_PARAMS(field, value, want)                                                       \
	do {                                                                                   \
		struct ublkit_dev_params _p = params();                                        \
		_p.field = (value);                                                            \
		CHECK_EQ(ublkit_dev_params_check(ctx, &_p, "null", NULL), (want));             \
		test_log_reset();                                                              \
	} while (0)

static void test_params_ranges(void)
{
	struct ublkit_ctx *ctx = test_ctx();

	struct ublkit_dev_params p = params();

	test_log_reset();
	CHECK_EQ(ublkit_dev_params_check(ctx, &p, "null", NULL), 0);
	CHECK_EQ(ublkit_dev_params_check(ctx, &p, NULL, NULL), 0);
	CHECK_PARAMS(nr_queues, 1, 0);
	CHECK_PARAMS(nr_queues, UBLKIT_MAX_QUEUES, 0);
	CHECK_PARAMS(nr_queues, UBLKIT_MAX_QUEUES + 1, -EINVAL);
	CHECK_PARAMS(queue_depth, 4096, 0);
	CHECK_PARAMS(queue_depth, 4097, -EINVAL);
	CHECK_PARAMS(logical_block_size, 0, 0);
	CHECK_PARAMS(logical_block_size, 512, 0);
	CHECK_PARAMS(logical_block_size, 4096, 0);
	CHECK_PARAMS(logical_block_size, 256, -EINVAL);
	CHECK_PARAMS(logical_block_size, 1000, -EINVAL);
	CHECK_PARAMS(logical_block_size, 8192, -EINVAL);
	CHECK_PARAMS(physical_block_size, 65536, 0);
	CHECK_PARAMS(physical_block_size, 256, -EINVAL);
	CHECK_PARAMS(physical_block_size, 3000, -EINVAL);
	CHECK_PARAMS(physical_block_size, 1u << 17, -EINVAL);
	CHECK_PARAMS(max_io_bytes, 4096, 0);
	CHECK_PARAMS(max_io_bytes, 1u << 20, 0);
	CHECK_PARAMS(max_io_bytes, 1, -EINVAL);
	CHECK_PARAMS(max_io_bytes, 6000, -EINVAL);
	CHECK_PARAMS(max_io_bytes, (1u << 20) + 4096, -EINVAL);
	CHECK_PARAMS(size, 1000, -EINVAL);
	CHECK_PARAMS(size, 0, -EINVAL);		/* null needs a size */
	CHECK_PARAMS(dev_id, -1, 0);
	CHECK_PARAMS(dev_id, 0, 0);
	CHECK_PARAMS(dev_id, (int32_t)UBLKIT_DEV_ID_MAX, 0);
	CHECK_PARAMS(dev_id, (int32_t)UBLKIT_DEV_ID_MAX + 1, -EINVAL);
	CHECK_PARAMS(dev_id, -2, -EINVAL);
	CHECK_PARAMS(flags, UBLKIT_DEV_SWAP, -EINVAL);
	CHECK_PARAMS(discard_granularity, 100, -EINVAL);

	p = params();
	p.logical_block_size = 4096;
	p.max_io_bytes = 4096;
	p.physical_block_size = 4096;
	CHECK_EQ(ublkit_dev_params_check(ctx, &p, "mem", NULL), 0);
	p.physical_block_size = 2048;
	check_refused(ublkit_dev_params_check(ctx, &p, "mem", NULL), "physical < logical");

	/* targets and their arguments */
	p = params();
	check_refused(ublkit_dev_params_check(ctx, &p, "nope", NULL), "unknown target");
	check_refused(ublkit_dev_params_check(ctx, &p, "", NULL), "empty target");
	check_refused(ublkit_dev_params_check(ctx, &p, "file", NULL), "file without a path");
	check_refused(ublkit_dev_params_check(ctx, &p, "null", "/x"), "null with a path");
	check_refused(ublkit_dev_params_check(ctx, &p, "file", "/tmp/a\nid=7"), "path, newline");
	p.size = 0;
	p.flags = UBLKIT_DEV_RECOVERY | UBLKIT_DEV_SWAP;
	CHECK_EQ(ublkit_dev_params_check(ctx, &p, "file", "/dev/nvme0n1"), 0);
	CHECK_EQ(ublkit_dev_params_check(ctx, (struct ublkit_dev_params *)NULL, "file", "/x"), -EINVAL);
	ublkit_ctx_unref(ctx);
}

int main(void)
{
	RUN(test_module_names);
	RUN(test_kmod_refuses_paths);
	RUN(test_dm_names);
	RUN(test_dm_refuses_before_the_kernel);
	RUN(test_swap_labels);
	RUN(test_paths);
	RUN(test_printable);
	RUN(test_params_ranges);
	return test_result();
}
