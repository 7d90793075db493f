/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Device parameters are validated before anything reaches the kernel:
 * ublkit_server_new() opens the target and checks, it sends no command.
 */
#include "config.h"

#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "ublkit/ublk.h"

static int try_new(const char *target, const char *arg, const struct ublkit_dev_params *p,
		   struct ublkit_dev_params *out)
{
	struct ublkit_ctx *ctx = test_ctx();
	struct ublkit_server *s = NULL;
	int r;

	r = ublkit_server_new(ctx, p, target, arg, &s);
	if (r == 0 && out)
		*out = *ublkit_server_get_params(s);
	ublkit_server_unref(s);
	ublkit_ctx_unref(ctx);
	return r;
}

static struct ublkit_dev_params base(void)
{
	struct ublkit_dev_params p;

	ublkit_dev_params_init(&p);
	p.size = 64 << 20;
	return p;
}

static void test_defaults(void)
{
	struct ublkit_dev_params p = base(), out;

	CHECK_EQ(p.dev_id, -1);
	CHECK_EQ(p.nr_queues, 1);
	CHECK_EQ(p.queue_depth, UBLKIT_DEFAULT_QUEUE_DEPTH);
	CHECK_EQ(try_new("mem", NULL, &p, &out), 0);
	CHECK_EQ(out.logical_block_size, 512);
	CHECK_EQ(out.physical_block_size, 512);
	CHECK_EQ(out.max_io_bytes, UBLKIT_DEFAULT_MAX_IO_BYTES);
	CHECK_EQ(out.discard_granularity, 512);
	CHECK_EQ(out.max_discard_bytes, 1u << 30);
	CHECK_EQ(try_new("null", NULL, &p, NULL), 0);
	/* the logical block size carries over to those left at 0 */
	p.logical_block_size = 4096;
	CHECK_EQ(try_new("mem", NULL, &p, &out), 0);
	CHECK_EQ(out.physical_block_size, 4096);
	CHECK_EQ(out.discard_granularity, 4096);
	p.max_discard_bytes = 8192;
	CHECK_EQ(try_new("mem", NULL, &p, &out), 0);
	CHECK_EQ(out.max_discard_bytes, 8192);
}

static void test_invalid(void)
{
	struct ublkit_dev_params p;

	p = base(); p.queue_depth = 0;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), -EINVAL);
	p = base(); p.queue_depth = 4097;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), -EINVAL);
	p = base(); p.queue_depth = 4096;
	CHECK_EQ(try_new("null", NULL, &p, NULL), 0);
	p = base(); p.nr_queues = 0;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), -EINVAL);
	p = base(); p.nr_queues = UBLKIT_MAX_QUEUES + 1;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), -EINVAL);
	p = base(); p.size = 1000;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), -EINVAL);
	p = base(); p.size = 0;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), -EINVAL);
	p = base(); p.logical_block_size = 1000;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), -EINVAL);
	p = base(); p.logical_block_size = 8192;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), -EINVAL);
	p = base(); p.logical_block_size = 4096; p.physical_block_size = 512;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), -EINVAL);
	p = base(); p.logical_block_size = 4096; p.size = (64 << 20) + 512;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), -EINVAL);
	p = base(); p.max_io_bytes = 5000;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), -EINVAL);
	p = base(); p.max_io_bytes = 2 << 20;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), -EINVAL);
	p = base(); p.physical_block_size = 65536;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), 0);
	p = base(); p.physical_block_size = 131072;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), -EINVAL);
	p = base(); p.physical_block_size = 3072;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), -EINVAL);
	p = base(); p.logical_block_size = 4096;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), 0);
	p = base(); p.logical_block_size = 256;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), -EINVAL);
	p = base(); p.max_io_bytes = 1 << 20;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), 0);
	p = base(); p.max_io_bytes = 4096;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), 0);
	p = base(); p.max_io_bytes = 0;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), -EINVAL);
	p = base(); p.nr_queues = UBLKIT_MAX_QUEUES;
	CHECK_EQ(try_new("null", NULL, &p, NULL), 0);
	p = base(); p.queue_depth = 1;
	CHECK_EQ(try_new("null", NULL, &p, NULL), 0);
	p = base(); p.discard_granularity = 3 << 10;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), -EINVAL);
	p = base(); p.logical_block_size = 4096; p.discard_granularity = 2048;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), -EINVAL);
	p = base(); p.discard_granularity = 1 << 20;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), 0);
	p = base(); p.dev_id = 0;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), 0);
	p = base(); p.dev_id = -5;
	CHECK_EQ(try_new("mem", NULL, &p, NULL), -EINVAL);
	p = base();
	CHECK_EQ(try_new("floppy", NULL, &p, NULL), -EINVAL);
	CHECK_EQ(try_new("mem", "/some/path", &p, NULL), -EINVAL);
	CHECK_EQ(try_new("file", NULL, &p, NULL), -EINVAL);
	CHECK_EQ(try_new("file", "/nonexistent/ublkit", &p, NULL), -ENOENT);
}

static void test_file_target_size(void)
{
	char path[] = "/tmp/ublkit-file.XXXXXX";
	struct ublkit_dev_params p, out;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, 8 << 20), 0);
	close(fd);
	ublkit_dev_params_init(&p);
	CHECK_EQ(try_new("file", path, &p, &out), 0);
	CHECK_EQ(out.size, 8 << 20);
	/* larger than the file: refused */
	p.size = 16 << 20;
	CHECK_EQ(try_new("file", path, &p, NULL), -EINVAL);
	/* smaller: allowed */
	p.size = 4 << 20;
	CHECK_EQ(try_new("file", path, &p, &out), 0);
	CHECK_EQ(out.size, 4 << 20);
	unlink(path);
}

static void test_target_names(void)
{
	const char *const *n = ublkit_target_names();

	CHECK_STREQ(n[0], "null");
	CHECK_STREQ(n[1], "mem");
	CHECK_STREQ(n[2], "file");
	CHECK(n[3] == NULL);
}

static void test_target_registry(void)
{
	CHECK_EQ(ublkit_target_flags("mem"), UBLKIT_TARGET_NEEDS_SIZE | UBLKIT_TARGET_USER_COPY);
	CHECK_EQ(ublkit_target_flags("null"), UBLKIT_TARGET_NEEDS_SIZE |
						  UBLKIT_TARGET_SURVIVES_SERVER |
						  UBLKIT_TARGET_USER_COPY);
	CHECK_EQ(ublkit_target_flags("file"), UBLKIT_TARGET_NEEDS_PATH |
						  UBLKIT_TARGET_SURVIVES_SERVER |
						  UBLKIT_TARGET_MAY_BACK_SWAP);
	CHECK_EQ(ublkit_target_flags("nope"), -EINVAL);
	CHECK_EQ(ublkit_target_flags(NULL), -EINVAL);
	CHECK(ublkit_target_summary("file") != NULL);
	CHECK(ublkit_target_summary("nope") == NULL);
}

/* A caller built against an older, smaller struct, and one built against a
 * newer, larger one. */
static void test_struct_sizes(void)
{
	struct {
		struct ublkit_dev_params p;
		uint64_t newer_field;
	} big;
	unsigned char small[sizeof(struct ublkit_dev_params)];
	size_t old_size = offsetof(struct ublkit_dev_params, flags);
	struct ublkit_ctx *ctx = test_ctx();
	struct ublkit_server *s = NULL;

	/* init writes only what the old caller has */
	memset(small, 0xa5, sizeof(small));
	ublkit_dev_params_init_sz((struct ublkit_dev_params *)small, old_size);
	CHECK_EQ(((struct ublkit_dev_params *)small)->dev_id, -1);
	CHECK_EQ(small[old_size], 0xa5);
	CHECK_EQ(small[sizeof(small) - 1], 0xa5);

	/* an old caller's struct is completed with defaults */
	memset(small, 0, sizeof(small));
	ublkit_dev_params_init_sz((struct ublkit_dev_params *)small, old_size);
	((struct ublkit_dev_params *)small)->size = 1 << 20;
	CHECK_EQ(ublkit_server_new_sz(ctx, (struct ublkit_dev_params *)small, old_size, "null",
				      NULL, &s), 0);
	CHECK_EQ(ublkit_server_get_params(s)->flags, 0);
	CHECK_EQ(ublkit_server_get_params(s)->size, 1 << 20);
	s = ublkit_server_unref(s);

	/* fields this library does not know must be zero */
	memset(&big, 0, sizeof(big));
	ublkit_dev_params_init(&big.p);
	big.p.size = 1 << 20;
	CHECK_EQ(ublkit_server_new_sz(ctx, &big.p, sizeof(big), "null", NULL, &s), 0);
	s = ublkit_server_unref(s);
	big.newer_field = 1;
	CHECK_EQ(ublkit_server_new_sz(ctx, &big.p, sizeof(big), "null", NULL, &s), -E2BIG);
	CHECK(s == NULL);
	ublkit_ctx_unref(ctx);
}

int main(void)
{
	RUN(test_target_registry);
	RUN(test_struct_sizes);
	RUN(test_defaults);
	RUN(test_invalid);
	RUN(test_file_target_size);
	RUN(test_target_names);
	return test_result();
}
