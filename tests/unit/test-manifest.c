/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The device manifest under /run/ublkit: written, read back, removed. */
#include "config.h"

#include <sys/stat.h>
#include <unistd.h>

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
	/* this process as the server, started at tick 4242 */
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)getpid());
	snprintf(stat, sizeof(stat),
		 "%d (test manifest) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 3 0 4242 0 0\n",
		 (int)getpid());
	fake_write(root, p, stat);
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	return ctx;
}

static bool exists(const char *path)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s%s", root, path);
	return access(p, F_OK) == 0;
}

static void server_init(struct ublkit_server *s, struct ublkit_ctx *ctx, int id)
{
	memset(s, 0, sizeof(*s));
	s->ctx = ctx;
	s->id = id;
	snprintf(s->target_name, sizeof(s->target_name), "file");
	s->target_arg = (char *)"/srv/disk=1.img";
	s->params = (struct ublkit_dev_params){
		.size = 5ULL << 32,
		.logical_block_size = 4096,
		.physical_block_size = 8192,
		.max_io_bytes = 512 << 10,
		.nr_queues = 3,
		.queue_depth = 77,
		.dev_id = id,
		.flags = UBLKIT_DEV_RECOVERY | UBLKIT_DEV_FUA,
		.discard_granularity = 16384,
		.max_discard_bytes = 1 << 30,
	};
}

static void test_round_trip(void)
{
	struct ublkit_ctx *ctx = setup();
	struct ublkit_manifest m;
	struct ublkit_server s;

	server_init(&s, ctx, 12);
	CHECK(!exists("/run/ublkit"));
	CHECK_EQ(server_manifest_write(&s), 0);
	CHECK(exists("/run/ublkit/devices/12/manifest"));
	CHECK(!exists("/run/ublkit/devices/12/manifest.tmp"));
	memset(&m, 0xaa, sizeof(m));
	CHECK_EQ(ublkit_manifest_read(ctx, 12, &m), 0);
	CHECK_EQ(m.id, 12);
	CHECK_STREQ(m.target, "file");
	CHECK_STREQ(m.target_arg, "/srv/disk=1.img");
	CHECK(m.params.size == 5ULL << 32);
	CHECK_EQ(m.params.logical_block_size, 4096);
	CHECK_EQ(m.params.physical_block_size, 8192);
	CHECK_EQ(m.params.max_io_bytes, 512 << 10);
	CHECK_EQ(m.params.nr_queues, 3);
	CHECK_EQ(m.params.queue_depth, 77);
	CHECK_EQ(m.params.flags, UBLKIT_DEV_RECOVERY | UBLKIT_DEV_FUA);
	CHECK_EQ(m.params.discard_granularity, 16384);
	CHECK_EQ(m.params.max_discard_bytes, 1 << 30);
	CHECK_EQ(m.server_pid, getpid());
	CHECK_EQ(m.server_start, 4242);

	/* written again over the old one (a recovered server) */
	s.params.size = 1 << 20;
	s.target_arg = NULL;
	CHECK_EQ(server_manifest_write(&s), 0);
	CHECK_EQ(ublkit_manifest_read(ctx, 12, &m), 0);
	CHECK(m.params.size == 1 << 20);
	CHECK_STREQ(m.target_arg, "");
	CHECK_STREQ(m.target, "file");

	/* a second device beside it */
	server_init(&s, ctx, 3);
	snprintf(s.target_name, sizeof(s.target_name), "null");
	CHECK_EQ(server_manifest_write(&s), 0);
	CHECK_EQ(ublkit_manifest_read(ctx, 3, &m), 0);
	CHECK_STREQ(m.target, "null");
	CHECK_EQ(ublkit_manifest_read(ctx, 12, &m), 0);
	CHECK_STREQ(m.target, "file");
	ublkit_ctx_unref(ctx);
}

static void test_remove(void)
{
	struct ublkit_ctx *ctx = setup();
	struct ublkit_manifest m;
	struct ublkit_server s;

	server_init(&s, ctx, 4);
	CHECK_EQ(server_manifest_write(&s), 0);
	fake_write(root, "/run/ublkit/devices/4/stats", "x");
	server_init(&s, ctx, 5);
	CHECK_EQ(server_manifest_write(&s), 0);
	manifest_remove(ctx, 4);
	CHECK(!exists("/run/ublkit/devices/4/manifest"));
	CHECK(!exists("/run/ublkit/devices/4/stats"));
	CHECK(!exists("/run/ublkit/devices/4"));
	CHECK(exists("/run/ublkit/devices/5/manifest"));
	CHECK_EQ(ublkit_manifest_read(ctx, 4, &m), -ENOENT);
	CHECK_EQ(ublkit_manifest_read(ctx, 5, &m), 0);
	/* nothing to remove is fine */
	manifest_remove(ctx, 4);
	manifest_remove(ctx, 99);
	CHECK(exists("/run/ublkit/devices/5/manifest"));
	ublkit_ctx_unref(ctx);
}

/* The key=value text a server gets as its arguments, and its limits. */
static void test_format(void)
{
	struct ublkit_manifest m, back;
	char text[8192], small[64], *line, *save = NULL;

	manifest_init(&m);
	m.id = 3;
	m.params.dev_id = -1;
	m.params.size = 1 << 30;
	m.params.flags = UBLKIT_DEV_SWAP | UBLKIT_DEV_RECOVERY;
	snprintf(m.target, sizeof(m.target), "file");
	snprintf(m.target_arg, sizeof(m.target_arg), "/dev/nvme0n2");
	CHECK(manifest_format(&m, text, sizeof(text)) > 0);
	manifest_init(&back);
	back.params.dev_id = 77;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		CHECK_EQ(manifest_parse_kv(&back, line), 0);
	CHECK_EQ(back.params.dev_id, -1);
	CHECK_EQ(back.params.size, 1 << 30);
	CHECK_EQ(back.params.flags, UBLKIT_DEV_SWAP | UBLKIT_DEV_RECOVERY);
	CHECK_STREQ(back.target_arg, "/dev/nvme0n2");
	CHECK_EQ(manifest_format(&m, small, sizeof(small)), -ENAMETOOLONG);
	snprintf(m.target_arg, sizeof(m.target_arg), "/tmp/a\nb");
	CHECK_EQ(manifest_format(&m, text, sizeof(text)), -EINVAL);
	CHECK_EQ(manifest_parse_kv(&back, (char[]){ "=x" }), -EINVAL);
	CHECK_EQ(manifest_parse_kv(&back, (char[]){ "novalue" }), -EINVAL);
}

static void test_parse(void)
{
	struct ublkit_ctx *ctx = setup();
	struct ublkit_manifest m;

	/* unknown keys, junk lines and bad numbers are skipped; the rest holds */
	fake_write(root, "/run/ublkit/devices/7/manifest",
		   "# written by a newer ublkit\n"
		   "colour=blue\n"
		   "no equals sign here\n"
		   "target=mem\n"
		   "size=lots\n"
		   "nr_queues=4\n"
		   "queue_depth=0x20\n"
		   "max_io_bytes=-1\n"
		   "server_pid=321\n"
		   "target_arg=a=b\n"
		   "server_start=99");
	memset(&m, 0x55, sizeof(m));
	CHECK_EQ(ublkit_manifest_read(ctx, 7, &m), 0);
	CHECK_EQ(m.id, 7);
	CHECK_STREQ(m.target, "mem");
	CHECK_STREQ(m.target_arg, "a=b");
	CHECK_EQ(m.params.size, 0);
	CHECK_EQ(m.params.nr_queues, 4);
	CHECK_EQ(m.params.queue_depth, 32);
	CHECK_EQ(m.params.max_io_bytes, UBLKIT_DEFAULT_MAX_IO_BYTES);
	CHECK_EQ(m.params.dev_id, -1);
	CHECK_EQ(m.params.flags, 0);
	CHECK_EQ(m.params.logical_block_size, 0);
	CHECK_EQ(m.server_pid, 321);
	CHECK_EQ(m.server_start, 99);

	/* the id recorded inside wins over the directory's */
	fake_write(root, "/run/ublkit/devices/8/manifest", "id=80\ntarget=null\n");
	CHECK_EQ(ublkit_manifest_read(ctx, 8, &m), 0);
	CHECK_EQ(m.id, 80);

	/* without a target there is nothing to restart */
	fake_write(root, "/run/ublkit/devices/9/manifest", "id=9\nsize=4096\ntarget=\n");
	CHECK_EQ(ublkit_manifest_read(ctx, 9, &m), -EBADMSG);
	fake_write(root, "/run/ublkit/devices/10/manifest", "");
	CHECK_EQ(ublkit_manifest_read(ctx, 10, &m), -EBADMSG);
	CHECK_EQ(ublkit_manifest_read(ctx, 11, &m), -ENOENT);
	ublkit_ctx_unref(ctx);
}

static void test_write_errors(void)
{
	struct ublkit_ctx *ctx = setup();
	struct ublkit_server s;
	char p[4096];

	server_init(&s, ctx, 1);
	/* /run/ublkit is a file: no directory for the device */
	fake_write(root, "/run/ublkit", "");
	CHECK_EQ(server_manifest_write(&s), -ENOTDIR);
	CHECK_EQ(manifest_mkdir(ctx, 1), -ENOTDIR);
	snprintf(p, sizeof(p), "%s/run/ublkit", root);
	unlink(p);
	/* .../devices is a file */
	fake_write(root, "/run/ublkit/devices", "");
	CHECK_EQ(server_manifest_write(&s), -ENOTDIR);
	snprintf(p, sizeof(p), "%s/run/ublkit/devices", root);
	unlink(p);
	/* no /run at all */
	snprintf(p, sizeof(p), "%s/run/ublkit", root);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/run", root);
	CHECK_EQ(rmdir(p), 0);
	CHECK_EQ(server_manifest_write(&s), -ENOENT);
	/* each level is created once and found again afterwards */
	fake_mkdir(root, "/run");
	CHECK_EQ(manifest_mkdir(ctx, 1), 0);
	CHECK_EQ(manifest_mkdir(ctx, 1), 0);
	CHECK_EQ(manifest_mkdir(ctx, 2), 0);
	CHECK(exists("/run/ublkit/devices/2"));
	CHECK_EQ(server_manifest_write(&s), 0);
	CHECK_EQ(server_manifest_write(&s), 0);
	ublkit_ctx_unref(ctx);
}

/*
 * A value too wide for its field is refused, not cut: server_pid=
 * 4294967297 would otherwise name pid 1, and 2147483648 a process group
 * (found by tests/fuzz/fuzz-manifest).
 */
static void test_parse_range(void)
{
	struct ublkit_ctx *ctx = setup();
	struct ublkit_manifest m;

	fake_write(root, "/run/ublkit/devices/9/manifest",
		   "target=file\n"
		   "server_pid=4294967297\n"
		   "id=4294967305\n"
		   "nr_queues=65537\n"
		   "queue_depth=65536\n"
		   "logical_block_size=4294971392\n"
		   "physical_block_size=4294967296\n"
		   "max_io_bytes=4295491584\n"
		   "flags=4294967297\n"
		   "discard_granularity=4294967296\n"
		   "max_discard_bytes=8589934592\n");
	CHECK_EQ(ublkit_manifest_read(ctx, 9, &m), 0);
	CHECK_EQ(m.server_pid, 0);
	CHECK_EQ(m.id, 9);
	CHECK_EQ(m.params.nr_queues, 1);
	CHECK_EQ(m.params.queue_depth, UBLKIT_DEFAULT_QUEUE_DEPTH);
	CHECK_EQ(m.params.logical_block_size, 0);
	CHECK_EQ(m.params.physical_block_size, 0);
	CHECK_EQ(m.params.max_io_bytes, UBLKIT_DEFAULT_MAX_IO_BYTES);
	CHECK_EQ(m.params.flags, 0);
	CHECK_EQ(m.params.discard_granularity, 0);
	CHECK_EQ(m.params.max_discard_bytes, 0);

	fake_write(root, "/run/ublkit/devices/9/manifest",
		   "target=file\nserver_pid=2147483648\n");
	CHECK_EQ(ublkit_manifest_read(ctx, 9, &m), 0);
	CHECK_EQ(m.server_pid, 0);
	/* the widest values that fit are kept */
	fake_write(root, "/run/ublkit/devices/9/manifest",
		   "target=file\nserver_pid=2147483647\nnr_queues=65535\nflags=4294967295\n");
	CHECK_EQ(ublkit_manifest_read(ctx, 9, &m), 0);
	CHECK_EQ(m.server_pid, 2147483647);
	CHECK_EQ(m.params.nr_queues, 65535);
	CHECK(m.params.flags == 4294967295u);
	ublkit_ctx_unref(ctx);
}

int main(void)
{
	RUN(test_round_trip);
	RUN(test_remove);
	RUN(test_format);
	RUN(test_parse);
	RUN(test_parse_range);
	RUN(test_write_errors);
	fake_root_free(root);
	return test_result();
}
