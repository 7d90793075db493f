/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The device-mapper layer without a kernel: typed table builders on a
 * fake sysfs, the parameters and UUIDs they make, crypt key handling, and
 * the status parsers over status lines captured from Linux 6.12.
 * White-box: parameters, UUIDs and parsers are internal.
 */
#include "config.h"

#include <inttypes.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "test.h"
#include "ublkit/dm.h"
#include "ublkit-private.h"
#include "dm-private.h"

struct ublk_ctrl;
void ublk_ctrl_free(struct ublk_ctrl *ctrl);

/* ctx.c frees a control ring; no test here opens one. */
void ublk_ctrl_free(struct ublk_ctrl *ctrl)
{
}

static char *root;

/* Two NVMe namespaces (1 GiB and 512 MiB) and a dm device, in a fake sysfs. */
static struct ublkit_ctx *ctx_fake(void)
{
	struct ublkit_ctx *ctx = test_ctx();

	if (!root) {
		root = fake_root_new();
		fake_write(root, "/sys/dev/block/259:1/size", "2097152\n");
		fake_write(root, "/sys/dev/block/259:1/wwid", "nvme.1b36-ns1\n");
		fake_write(root, "/sys/dev/block/259:2/size", "1048576\n");
		fake_write(root, "/sys/dev/block/259:2/wwid", "nvme.1b36-ns2\n");
		fake_write(root, "/sys/dev/block/253:4/size", "4096\n");
		fake_write(root, "/sys/dev/block/7:0/size", "100\n");
		fake_write(root, "/sys/dev/block/253:4/dm/uuid", "LVM-abc\n");
		fake_write(root, "/dev/nvme0n1", "not a device\n");
	}
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	return ctx;
}

static const char *params(const struct ublkit_dm_table *t, bool key)
{
	static char buf[1024];

	CHECK(dm_table_params(t, key, buf, sizeof(buf)) > 0);
	return buf;
}

static void test_kinds(void)
{
	for (int k = UBLKIT_DM_LINEAR; k <= UBLKIT_DM_PART; k++)
		CHECK_EQ(ublkit_dm_kind_from_string(ublkit_dm_kind_name(k)), k);
	CHECK_EQ(ublkit_dm_kind_from_string("thinpool"), UBLKIT_DM_THIN_POOL);
	CHECK_EQ(ublkit_dm_kind_from_string("mirror"), -EINVAL);
	CHECK(ublkit_dm_kind_name(99) == NULL);
	CHECK(ublkit_dm_kind_name(UBLKIT_DM_PART + 1) == NULL);
	CHECK(ublkit_dm_kind_name(-1) == NULL);
	CHECK_STREQ(ublkit_dm_kind_name(UBLKIT_DM_UNKNOWN), "unknown");
	CHECK(ublkit_dm_uuid_is_ublkit("UBLKIT-linear-0123456789abcdef-x"));
	CHECK(!ublkit_dm_uuid_is_ublkit("LVM-xyz"));
	CHECK(!ublkit_dm_uuid_is_ublkit(""));
	CHECK(!ublkit_dm_uuid_is_ublkit(NULL));
	CHECK_EQ(dm_kind_from_uuid("UBLKIT-pool-0123456789abcdef-p"), UBLKIT_DM_THIN_POOL);
	CHECK_EQ(dm_kind_from_uuid("UBLKIT-part-0123456789abcdef-p-tmeta"), UBLKIT_DM_PART);
	CHECK_EQ(dm_kind_from_uuid("UBLKIT-thin-0123456789abcdef-v"), UBLKIT_DM_THIN);
	CHECK_EQ(dm_kind_from_uuid("UBLKIT-thinx-0123456789abcdef-v"), UBLKIT_DM_UNKNOWN);
	CHECK_EQ(dm_kind_from_uuid("CRYPT-LUKS2-x"), UBLKIT_DM_UNKNOWN);
	CHECK_EQ(dm_kind_of_target("thin-pool"), UBLKIT_DM_THIN_POOL);
	CHECK_EQ(dm_kind_of_target("flakey"), UBLKIT_DM_UNKNOWN);
}

static void test_linear(void)
{
	struct ublkit_ctx *ctx = ctx_fake();
	struct ublkit_dm_range r = { .device = "259:1", .offset_sectors = 131072,
				     .length_sectors = 524288 };
	struct ublkit_dm_table *t = NULL;
	char buf[256];

	CHECK_EQ(ublkit_dm_table_linear(ctx, &r, &t), 0);
	CHECK_EQ(ublkit_dm_table_get_kind(t), UBLKIT_DM_LINEAR);
	CHECK_EQ(ublkit_dm_table_get_size(t), 524288);
	CHECK_STREQ(params(t, false), "259:1 131072");
	CHECK(ublkit_dm_table_format(t, buf, sizeof(buf)) > 0);
	CHECK_STREQ(buf, "0 524288 linear 259:1 131072");
	CHECK_EQ(ublkit_dm_table_format(t, buf, 10), -ENOBUFS);
	/* "259:1 131072" is 12 bytes: it fits 13, not 12, and a short buffer is wiped */
	CHECK_EQ(dm_table_params(t, false, buf, 13), 12);
	CHECK_STREQ(buf, "259:1 131072");
	CHECK_EQ(dm_table_params(t, false, buf, 12), -ENOBUFS);
	CHECK_EQ(buf[0], 0);
	CHECK_EQ(dm_table_params(t, false, buf, 6), -ENOBUFS);
	CHECK_EQ(dm_table_params(t, false, buf, 0), -ENOBUFS);
	t = ublkit_dm_table_unref(t);
	CHECK(t == NULL);

	/* length 0: to the end */
	r.length_sectors = 0;
	CHECK_EQ(ublkit_dm_table_linear(ctx, &r, &t), 0);
	CHECK_EQ(ublkit_dm_table_get_size(t), 2097152 - 131072);
	t = ublkit_dm_table_unref(t);
	/* one sector too many, an offset past the end */
	r.length_sectors = 2097152 - 131072 + 1;
	CHECK_EQ(ublkit_dm_table_linear(ctx, &r, &t), -ERANGE);
	CHECK(t == NULL);
	r.offset_sectors = 2097152;
	r.length_sectors = 8;
	CHECK_EQ(ublkit_dm_table_linear(ctx, &r, &t), -ERANGE);
	r.offset_sectors = 0;
	r.length_sectors = 2097152;
	CHECK_EQ(ublkit_dm_table_linear(ctx, &r, &t), 0);
	t = ublkit_dm_table_unref(t);
	/* not a device: a missing one, a regular file */
	r.device = "259:9";
	CHECK_EQ(ublkit_dm_table_linear(ctx, &r, &t), -ENODEV);
	r.device = "/dev/nvme0n1";
	CHECK_EQ(ublkit_dm_table_linear(ctx, &r, &t), -ENOTBLK);
	r.device = NULL;
	CHECK_EQ(ublkit_dm_table_linear(ctx, &r, &t), -EINVAL);
	CHECK(t == NULL);
	ublkit_ctx_unref(ctx);
}

static void test_striped(void)
{
	struct ublkit_ctx *ctx = ctx_fake();
	const char *two[] = { "259:1", "259:2" };
	const char *same[] = { "259:1", "259:1" };
	const char *tiny[] = { "259:1", "7:0" };
	struct ublkit_dm_table *t = NULL;

	CHECK_EQ(ublkit_dm_table_striped(ctx, two, 2, 0, 0, &t), 0);
	/* the smaller device bounds each stripe */
	CHECK_EQ(ublkit_dm_table_get_size(t), 2 * 1048576);
	CHECK_STREQ(params(t, false), "2 128 259:1 0 259:2 0");
	t = ublkit_dm_table_unref(t);
	CHECK_EQ(ublkit_dm_table_striped(ctx, two, 2, 256, 4096, &t), 0);
	CHECK_EQ(ublkit_dm_table_get_size(t), 4096);
	CHECK_STREQ(params(t, false), "2 256 259:1 0 259:2 0");
	t = ublkit_dm_table_unref(t);
	CHECK_EQ(ublkit_dm_table_striped(ctx, two, 2, 96, 0, &t), -EINVAL);	/* not 2^n */
	CHECK_EQ(ublkit_dm_table_striped(ctx, two, 2, 4, 0, &t), -EINVAL);	/* < 4 KiB */
	CHECK_EQ(ublkit_dm_table_striped(ctx, two, 1, 0, 0, &t), -EINVAL);
	CHECK_EQ(ublkit_dm_table_striped(ctx, two, 2, 128, 4096 + 128, &t), -EINVAL);
	CHECK_EQ(ublkit_dm_table_striped(ctx, two, 2, 128, 2 * 1048576 + 256, &t), -ERANGE);
	CHECK_EQ(ublkit_dm_table_striped(ctx, two, 2, 128, 2 * 1048576, &t), 0);
	CHECK_EQ(ublkit_dm_table_get_size(t), 2 * 1048576);
	t = ublkit_dm_table_unref(t);
	CHECK_EQ(ublkit_dm_table_striped(ctx, same, 2, 0, 0, &t), -EINVAL);
	/* a device of 100 sectors holds no chunk of 128 */
	CHECK_EQ(ublkit_dm_table_striped(ctx, tiny, 2, 128, 0, &t), -ERANGE);
	CHECK_EQ(ublkit_dm_table_striped(ctx, tiny, 2, 64, 0, &t), 0);
	CHECK_EQ(ublkit_dm_table_get_size(t), 128);
	t = ublkit_dm_table_unref(t);
	CHECK(t == NULL);
	ublkit_ctx_unref(ctx);
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

static void test_crypt(void)
{
	struct ublkit_ctx *ctx = ctx_fake();
	struct ublkit_dm_range r = { .device = "259:2", .offset_sectors = 2048 };
	struct ublkit_dm_table *a = NULL, *b = NULL;
	char ka[1024], kb[1024], buf[1024];

	CHECK_EQ(ublkit_dm_table_crypt(ctx, &r, &a), 0);
	CHECK_EQ(ublkit_dm_table_crypt(ctx, &r, &b), 0);
	CHECK_EQ(ublkit_dm_table_get_size(a), 1048576 - 2048);
	CHECK_STREQ(params(a, false), "aes-xts-plain64 <random key> 0 259:2 2048");
	CHECK(ublkit_dm_table_format(a, buf, sizeof(buf)) > 0);
	CHECK(strstr(buf, "<random key>") != NULL);
	snprintf(ka, sizeof(ka), "%s", params(a, true));
	snprintf(kb, sizeof(kb), "%s", params(b, true));
	/* 512 bits of key, in hex, and a fresh one for each table */
	CHECK(!strncmp(ka, "aes-xts-plain64 ", 16));
	CHECK(all_hex(ka + 16, 128));
	CHECK_STREQ(ka + 16 + 128, " 0 259:2 2048");
	CHECK(strcmp(ka, kb) != 0);
	/* the key fits to the byte, or the buffer is refused (and wiped) */
	CHECK_EQ(dm_table_params(a, true, buf, strlen(ka) + 1), (int)strlen(ka));
	CHECK_EQ(dm_table_params(a, true, buf, 16 + 128 + 1), -ENOBUFS);
	CHECK_EQ(dm_table_params(a, true, buf, 16 + 128), -ENOBUFS);
	CHECK_EQ(buf[0], 0);
	/* a failed create (a sysroot) still wipes the key */
	CHECK(a->key != NULL);
	CHECK_EQ(ublkit_dm_create(ctx, "swap0", a, 0), -EXDEV);
	CHECK(a->key == NULL);
	CHECK_STREQ(params(a, true), "aes-xts-plain64 <random key> 0 259:2 2048");
	/* masking a table line read back from the kernel */
	snprintf(buf, sizeof(buf), "%s", kb);
	dm_mask_crypt_params(buf);
	CHECK(strstr(buf, "aes-xts-plain64 ----") == buf);
	CHECK(!all_hex(buf + 16, 1));
	CHECK_STREQ(buf + 16 + 128, " 0 259:2 2048");
	snprintf(buf, sizeof(buf), "aes-xts-plain64 :64:logon:cryptsetup:x 0 259:2 0");
	dm_mask_crypt_params(buf);
	CHECK_STREQ(buf, "aes-xts-plain64 :64:logon:cryptsetup:x 0 259:2 0");
	explicit_bzero(ka, sizeof(ka));
	explicit_bzero(kb, sizeof(kb));
	ublkit_dm_table_unref(a);
	ublkit_dm_table_unref(b);
	ublkit_ctx_unref(ctx);
}

static void test_thin_pool(void)
{
	struct ublkit_ctx *ctx = ctx_fake();
	struct ublkit_dm_range meta = { .device = "259:2", .length_sectors = 32768 };
	struct ublkit_dm_range data = { .device = "259:1" };
	struct ublkit_dm_range data2 = { .device = "259:2", .offset_sectors = 32768,
					 .length_sectors = 65536 + 100 };
	struct ublkit_dm_table *t = NULL;

	CHECK_EQ(ublkit_dm_table_thin_pool(ctx, &meta, &data, 0, 512, 0, &t), 0);
	CHECK_EQ(ublkit_dm_table_get_kind(t), UBLKIT_DM_THIN_POOL);
	CHECK_EQ(ublkit_dm_table_get_size(t), 2097152);
	/* a range of a device becomes a part; the whole device is named as it is */
	CHECK(t->slot[0].part);
	CHECK(!t->slot[1].part);
	CHECK_STREQ(params(t, false), "<tmeta> 259:1 128 512 0");
	t->slot[0].use = makedev(253, 7);
	CHECK_STREQ(params(t, false), "253:7 259:1 128 512 0");
	t = ublkit_dm_table_unref(t);

	/* the pool's length bounds its data: a range from the start needs no part */
	data.length_sectors = 1048576;
	CHECK_EQ(ublkit_dm_table_thin_pool(ctx, &meta, &data, 0, 0, 0, &t), 0);
	CHECK(!t->slot[1].part);
	CHECK_EQ(ublkit_dm_table_get_size(t), 1048576);
	CHECK_STREQ(params(t, false), "<tmeta> 259:1 128 0 0");
	t = ublkit_dm_table_unref(t);
	data.length_sectors = 0;

	/* data rounded down to whole blocks; failing when full on request */
	CHECK_EQ(ublkit_dm_table_thin_pool(ctx, &meta, &data2, 256, 0,
					   UBLKIT_DM_POOL_ERROR_IF_NO_SPACE, &t), 0);
	CHECK_EQ(ublkit_dm_table_get_size(t), 65536);
	CHECK_STREQ(params(t, false), "<tmeta> <tdata> 256 0 1 error_if_no_space");
	t = ublkit_dm_table_unref(t);

	/* the low-water mark must lie below the pool's size */
	CHECK_EQ(ublkit_dm_table_thin_pool(ctx, &meta, &data, 0, 2097152 / 128, 0, &t), -ERANGE);
	/* block sizes: multiples of 64 KiB up to 1 GiB */
	CHECK_EQ(ublkit_dm_table_thin_pool(ctx, &meta, &data, 192, 0, 0, &t), -EINVAL);
	CHECK_EQ(ublkit_dm_table_thin_pool(ctx, &meta, &data, 64, 0, 0, &t), -EINVAL);
	CHECK_EQ(ublkit_dm_table_thin_pool(ctx, &meta, &data, 4194304, 0, 0, &t), -EINVAL);
	/* metadata of less than 2 MiB */
	meta.length_sectors = 2048;
	CHECK_EQ(ublkit_dm_table_thin_pool(ctx, &meta, &data, 0, 0, 0, &t), -ERANGE);
	/* ranges of one device that overlap */
	meta.length_sectors = 32769;
	CHECK_EQ(ublkit_dm_table_thin_pool(ctx, &meta, &data2, 0, 0, 0, &t), -EINVAL);
	meta.length_sectors = 32768;
	CHECK_EQ(ublkit_dm_table_thin_pool(ctx, &meta, &data2, 0, 0, 1u << 7, &t), -EINVAL);
	CHECK(t == NULL);
	ublkit_ctx_unref(ctx);
}

static void test_thin(void)
{
	struct ublkit_ctx *ctx = ctx_fake();
	struct ublkit_dm_table *t = NULL;

	CHECK_EQ(ublkit_dm_table_thin(ctx, "pool0", UBLKIT_DM_THIN_ID_AUTO, 8388608, &t), 0);
	CHECK_EQ(ublkit_dm_table_get_size(t), 8388608);
	CHECK_STREQ(params(t, false), "<pool0> <next id>");
	t->pool_devnum = makedev(253, 3);
	t->thin_id = 7;
	CHECK_STREQ(params(t, false), "253:3 7");
	t = ublkit_dm_table_unref(t);
	CHECK_EQ(ublkit_dm_table_thin(ctx, "pool/0", 0, 8, &t), -EINVAL);
	CHECK_EQ(ublkit_dm_table_thin(ctx, "pool0", 0, 0, &t), -EINVAL);
	CHECK_EQ(ublkit_dm_table_thin(ctx, "pool0", 1u << 24, 8, &t), -ERANGE);
	CHECK(t == NULL);
	ublkit_ctx_unref(ctx);
}

static void test_cache(void)
{
	struct ublkit_ctx *ctx = ctx_fake();
	struct ublkit_dm_range meta = { .device = "259:2", .length_sectors = 16384 };
	struct ublkit_dm_range fast = { .device = "259:2", .offset_sectors = 16384 };
	struct ublkit_dm_range slow = { .device = "259:1" };
	struct ublkit_dm_table *t = NULL;

	CHECK_EQ(ublkit_dm_table_cache(ctx, &meta, &fast, &slow, 0, UBLKIT_DM_CACHE_WRITETHROUGH,
				       &t), 0);
	CHECK_EQ(ublkit_dm_table_get_size(t), 2097152);
	CHECK_STREQ(params(t, false), "<cmeta> <cfast> 259:1 128 1 writethrough smq 0");
	t = ublkit_dm_table_unref(t);
	CHECK_EQ(ublkit_dm_table_cache(ctx, &meta, &fast, &slow, 64, UBLKIT_DM_CACHE_WRITEBACK,
				       &t), 0);
	CHECK_STREQ(params(t, false), "<cmeta> <cfast> 259:1 64 1 writeback smq 0");
	t = ublkit_dm_table_unref(t);
	CHECK_EQ(ublkit_dm_table_cache(ctx, &meta, &fast, &slow, 96, 0, &t), -EINVAL);
	CHECK_EQ(ublkit_dm_table_cache(ctx, &meta, &fast, &slow, 0, 3, &t), -EINVAL);
	meta.length_sectors = 2048;
	CHECK_EQ(ublkit_dm_table_cache(ctx, &meta, &fast, &slow, 0, 0, &t), -ERANGE);
	meta.length_sectors = 16384;
	fast.offset_sectors = 8192;
	CHECK_EQ(ublkit_dm_table_cache(ctx, &meta, &fast, &slow, 0, 0, &t), -EINVAL);
	CHECK(t == NULL);
	ublkit_ctx_unref(ctx);
}

static void test_uuid(void)
{
	struct ublkit_ctx *ctx = ctx_fake();
	struct ublkit_dm_range r1 = { .device = "259:1" }, r2 = { .device = "259:2" };
	struct ublkit_dm_range r3 = { .device = "259:1", .offset_sectors = 8 };
	struct ublkit_dm_table *a = NULL, *b = NULL, *c = NULL;
	char ua[DM_UUID_MAX + 1], ub[DM_UUID_MAX + 1], uc[DM_UUID_MAX + 1], name[120];
	unsigned long long h;

	CHECK_EQ(ublkit_dm_table_linear(ctx, &r1, &a), 0);
	CHECK_EQ(ublkit_dm_table_linear(ctx, &r2, &b), 0);
	CHECK_EQ(ublkit_dm_table_linear(ctx, &r3, &c), 0);
	CHECK_EQ(dm_table_uuid(a, "lin0", ua, sizeof(ua)), 0);
	CHECK_EQ(dm_table_uuid(b, "lin0", ub, sizeof(ub)), 0);
	CHECK_EQ(dm_table_uuid(c, "lin1", uc, sizeof(uc)), 0);
	CHECK_EQ(sscanf(ua, "UBLKIT-linear-%16llx-lin0", &h), 1);
	CHECK_EQ(strlen(ua), strlen("UBLKIT-linear-0123456789abcdef-lin0"));
	CHECK_EQ(dm_kind_from_uuid(ua), UBLKIT_DM_LINEAR);
	/* the identity is what it sits on: another device, another hash */
	CHECK(strcmp(ua, ub) != 0);
	CHECK(!strncmp(ua, uc, strlen("UBLKIT-linear-0123456789abcdef-")));
	/* parts name their owner and role */
	snprintf(a->slot[0].role, sizeof(a->slot[0].role), "tmeta");
	CHECK_EQ(dm_part_uuid(&a->slot[0], "pool0", ua, sizeof(ua)), 0);
	CHECK(!strncmp(ua, "UBLKIT-part-", 12));
	CHECK_STREQ(ua + strlen(ua) - strlen("-pool0-tmeta"), "-pool0-tmeta");
	CHECK_EQ(dm_kind_from_uuid(ua), UBLKIT_DM_PART);
	memset(name, 'n', UBLKIT_DM_NAME_MAX);
	name[UBLKIT_DM_NAME_MAX] = '\0';
	CHECK_EQ(dm_table_uuid(a, name, ua, sizeof(ua)), 0);
	CHECK(strlen(ua) <= DM_UUID_MAX);
	/* the identity of a dm device is its DM UUID */
	dm_device_ident(ctx, makedev(253, 4), name, sizeof(name));
	CHECK_STREQ(name, "LVM-abc");
	dm_device_ident(ctx, makedev(259, 1), name, sizeof(name));
	CHECK_STREQ(name, "nvme.1b36-ns1");
	dm_device_ident(ctx, makedev(8, 0), name, sizeof(name));
	CHECK_STREQ(name, "8:0");
	ublkit_dm_table_unref(a);
	ublkit_dm_table_unref(b);
	ublkit_dm_table_unref(c);

	/* a thin volume sits on its pool: the pool's UUID is its identity */
	CHECK_EQ(ublkit_dm_table_thin(ctx, "pool0", 0, 8, &a), 0);
	CHECK_EQ(ublkit_dm_table_thin(ctx, "pool0", 0, 8, &b), 0);
	snprintf(a->pool_uuid, sizeof(a->pool_uuid), "UBLKIT-pool-0000000000000001-pool0");
	snprintf(b->pool_uuid, sizeof(b->pool_uuid), "UBLKIT-pool-0000000000000002-pool0");
	CHECK_EQ(dm_table_uuid(a, "v", ua, sizeof(ua)), 0);
	CHECK_EQ(dm_table_uuid(b, "v", ub, sizeof(ub)), 0);
	CHECK(!strncmp(ua, "UBLKIT-thin-", 12));
	CHECK(strcmp(ua, ub) != 0);
	snprintf(b->pool_uuid, sizeof(b->pool_uuid), "%s", a->pool_uuid);
	CHECK_EQ(dm_table_uuid(b, "v", ub, sizeof(ub)), 0);
	CHECK_STREQ(ua, ub);
	/* other kinds do not look at a pool */
	CHECK_EQ(ublkit_dm_table_linear(ctx, &r1, &c), 0);
	CHECK_EQ(dm_table_uuid(c, "v", uc, sizeof(uc)), 0);
	snprintf(c->pool_uuid, sizeof(c->pool_uuid), "x");
	CHECK_EQ(dm_table_uuid(c, "v", ua, sizeof(ua)), 0);
	CHECK_STREQ(ua, uc);
	ublkit_dm_table_unref(a);
	ublkit_dm_table_unref(b);
	ublkit_dm_table_unref(c);
	ublkit_ctx_unref(ctx);
}

static uint64_t val(const struct ublkit_dm_status *st, int v)
{
	uint64_t x = UINT64_MAX;

	CHECK_EQ(ublkit_dm_status_get_value(st, v, &x), 0);
	return x;
}

static bool has(const struct ublkit_dm_status *st, int v)
{
	uint64_t x;

	return ublkit_dm_status_get_value(st, v, &x) == 0;
}

static struct ublkit_dm_status *parse(const char *type, uint64_t len, const char *status,
				      const char *table, int expect)
{
	struct ublkit_dm_status *st = dm_status_alloc("dev0");

	CHECK(st != NULL);
	CHECK_EQ(dm_status_parse(st, type, len, status, table), expect);
	return st;
}

/* Lines as Linux 6.12's dm-thin shows them (dmsetup status / table). */
static void test_status_pool(void)
{
	const char *table = "253:1 253:2 128 512 0";
	struct ublkit_dm_status *st;
	char msg[256];

	st = parse("thin-pool", 786432, "0 11/4096 0/6144 - rw discard_passdown "
		   "queue_if_no_space - 1024", table, 0);
	CHECK_EQ(ublkit_dm_status_get_kind(st), UBLKIT_DM_THIN_POOL);
	CHECK_EQ(ublkit_dm_status_get_mode(st), UBLKIT_DM_MODE_OK);
	CHECK_EQ(val(st, UBLKIT_DM_SIZE_SECTORS), 786432);
	CHECK_EQ(val(st, UBLKIT_DM_TRANSACTION_ID), 0);
	CHECK_EQ(val(st, UBLKIT_DM_METADATA_USED_BLOCKS), 11);
	CHECK_EQ(val(st, UBLKIT_DM_METADATA_TOTAL_BLOCKS), 4096);
	CHECK_EQ(val(st, UBLKIT_DM_METADATA_BLOCK_SECTORS), 8);
	CHECK_EQ(val(st, UBLKIT_DM_DATA_USED_BLOCKS), 0);
	CHECK_EQ(val(st, UBLKIT_DM_DATA_TOTAL_BLOCKS), 6144);
	CHECK_EQ(val(st, UBLKIT_DM_DATA_BLOCK_SECTORS), 128);
	CHECK_EQ(val(st, UBLKIT_DM_LOW_WATER_BLOCKS), 512);
	CHECK(!has(st, UBLKIT_DM_READ_HITS));
	CHECK(!ublkit_dm_status_is_failed(st));
	CHECK(!ublkit_dm_status_needs_check(st));
	CHECK(!ublkit_dm_status_below_low_water(st));
	CHECK_EQ(dm_status_classify(st, msg, sizeof(msg)), UBLKIT_DM_EVENT_CHANGED);
	ublkit_dm_status_unref(st);

	/* 5633 of 6144 used: 511 free, at or below 512 */
	st = parse("thin-pool", 786432, "1 90/4096 5633/6144 - rw discard_passdown "
		   "queue_if_no_space - 1024", table, 0);
	CHECK(ublkit_dm_status_below_low_water(st));
	CHECK_EQ(dm_status_classify(st, msg, sizeof(msg)), UBLKIT_DM_EVENT_LOW_WATER);
	CHECK(strstr(msg, "5633 of 6144") != NULL);
	ublkit_dm_status_unref(st);
	st = parse("thin-pool", 786432, "1 90/4096 5631/6144 - rw discard_passdown "
		   "queue_if_no_space - 1024", table, 0);
	CHECK(!ublkit_dm_status_below_low_water(st));
	ublkit_dm_status_unref(st);

	st = parse("thin-pool", 786432, "1 101/4096 6144/6144 - out_of_data_space "
		   "discard_passdown queue_if_no_space - 1024", table, 0);
	CHECK_EQ(ublkit_dm_status_get_mode(st), UBLKIT_DM_MODE_OUT_OF_DATA_SPACE);
	CHECK_STREQ(ublkit_dm_mode_name(ublkit_dm_status_get_mode(st)), "out-of-data-space");
	CHECK_EQ(dm_status_classify(st, msg, sizeof(msg)), UBLKIT_DM_EVENT_OUT_OF_SPACE);
	ublkit_dm_status_unref(st);

	st = parse("thin-pool", 786432, "1 101/4096 17/6144 - ro discard_passdown "
		   "error_if_no_space needs_check 1024", table, 0);
	CHECK_EQ(ublkit_dm_status_get_mode(st), UBLKIT_DM_MODE_READ_ONLY);
	CHECK(ublkit_dm_status_needs_check(st));
	CHECK_EQ(dm_status_classify(st, msg, sizeof(msg)), UBLKIT_DM_EVENT_FAILED);
	ublkit_dm_status_unref(st);

	/* a pool without a low-water mark is never below it */
	st = parse("thin-pool", 786432, "1 101/4096 6144/6144 - rw discard_passdown "
		   "queue_if_no_space - 1024", "253:1 253:2 128 0 0", 0);
	CHECK(!ublkit_dm_status_below_low_water(st));
	ublkit_dm_status_unref(st);

	st = parse("thin-pool", 786432, "Fail", table, 0);
	CHECK(ublkit_dm_status_is_failed(st));
	CHECK_EQ(ublkit_dm_status_get_mode(st), UBLKIT_DM_MODE_FAILED);
	CHECK_EQ(dm_status_classify(st, msg, sizeof(msg)), UBLKIT_DM_EVENT_FAILED);
	ublkit_dm_status_unref(st);

	ublkit_dm_status_unref(parse("thin-pool", 8, "0 11/4096 0/6144 -", table, -EBADMSG));
	ublkit_dm_status_unref(parse("thin-pool", 8, "0 11/4096 7/6 - rw", table, -EBADMSG));
	ublkit_dm_status_unref(parse("thin-pool", 8, "0 11-4096 0/6 - rw", table, -EBADMSG));
	ublkit_dm_status_unref(parse("thin-pool", 8, "0 1/2 0/6 - frozen", table, -EBADMSG));
	ublkit_dm_status_unref(parse("thin-pool", 8, "x 1/2 0/6 - rw", table, -EBADMSG));
}

static void test_status_thin(void)
{
	struct ublkit_dm_status *st;

	st = parse("thin", 2097152, "131072 2097151", "253:3 0", 0);
	CHECK_EQ(ublkit_dm_status_get_kind(st), UBLKIT_DM_THIN);
	CHECK_EQ(val(st, UBLKIT_DM_MAPPED_SECTORS), 131072);
	CHECK_EQ(val(st, UBLKIT_DM_HIGHEST_MAPPED_SECTOR), 2097151);
	CHECK_EQ(val(st, UBLKIT_DM_THIN_ID), 0);
	CHECK_EQ(ublkit_dm_status_get_mode(st), UBLKIT_DM_MODE_NONE);
	ublkit_dm_status_unref(st);
	st = parse("thin", 2097152, "0 -", "253:3 5", 0);
	CHECK_EQ(val(st, UBLKIT_DM_MAPPED_SECTORS), 0);
	CHECK(!has(st, UBLKIT_DM_HIGHEST_MAPPED_SECTOR));
	CHECK_EQ(val(st, UBLKIT_DM_THIN_ID), 5);
	ublkit_dm_status_unref(st);
	st = parse("thin", 2097152, "Fail", "253:3 5", 0);
	CHECK(ublkit_dm_status_is_failed(st));
	ublkit_dm_status_unref(st);
	ublkit_dm_status_unref(parse("thin", 8, "12", NULL, -EBADMSG));
	ublkit_dm_status_unref(parse("thin", 8, "12 x", NULL, -EBADMSG));
	ublkit_dm_status_unref(parse("thin", 8, "x 12", NULL, -EBADMSG));
	ublkit_dm_status_unref(parse("thin", 8, "12 4", "253:3 x", -EBADMSG));
}

static void test_status_cache(void)
{
	struct ublkit_dm_status *st;
	char msg[256];

	st = parse("cache", 2097152, "8 27/2048 128 512/2048 88 1201 4096 0 0 512 0 1 writethrough "
		   "2 migration_threshold 2048 smq 0 rw -", NULL, 0);
	CHECK_EQ(ublkit_dm_status_get_kind(st), UBLKIT_DM_CACHE);
	CHECK_EQ(ublkit_dm_status_get_mode(st), UBLKIT_DM_MODE_WRITETHROUGH);
	CHECK_EQ(val(st, UBLKIT_DM_METADATA_BLOCK_SECTORS), 8);
	CHECK_EQ(val(st, UBLKIT_DM_METADATA_USED_BLOCKS), 27);
	CHECK_EQ(val(st, UBLKIT_DM_METADATA_TOTAL_BLOCKS), 2048);
	CHECK_EQ(val(st, UBLKIT_DM_DATA_BLOCK_SECTORS), 128);
	CHECK_EQ(val(st, UBLKIT_DM_DATA_USED_BLOCKS), 512);
	CHECK_EQ(val(st, UBLKIT_DM_DATA_TOTAL_BLOCKS), 2048);
	CHECK_EQ(val(st, UBLKIT_DM_READ_HITS), 88);
	CHECK_EQ(val(st, UBLKIT_DM_READ_MISSES), 1201);
	CHECK_EQ(val(st, UBLKIT_DM_WRITE_HITS), 4096);
	CHECK_EQ(val(st, UBLKIT_DM_WRITE_MISSES), 0);
	CHECK_EQ(val(st, UBLKIT_DM_DEMOTIONS), 0);
	CHECK_EQ(val(st, UBLKIT_DM_PROMOTIONS), 512);
	CHECK_EQ(val(st, UBLKIT_DM_DIRTY_BLOCKS), 0);
	CHECK(!ublkit_dm_status_needs_check(st));
	CHECK(!ublkit_dm_status_below_low_water(st));
	CHECK_EQ(dm_status_classify(st, msg, sizeof(msg)), UBLKIT_DM_EVENT_CHANGED);
	ublkit_dm_status_unref(st);

	/* no mode among the features: the kernel's default, writeback */
	st = parse("cache", 2097152, "8 27/2048 128 10/2048 5 45 6 7 1 2 3 1 metadata2 "
		   "2 migration_threshold 2048 smq 0 rw -", NULL, 0);
	CHECK_EQ(ublkit_dm_status_get_mode(st), UBLKIT_DM_MODE_WRITEBACK);
	CHECK_EQ(val(st, UBLKIT_DM_DIRTY_BLOCKS), 3);
	ublkit_dm_status_unref(st);
	st = parse("cache", 2097152, "8 27/2048 128 10/2048 5 45 6 7 1 2 3 2 passthrough "
		   "metadata2 2 migration_threshold 2048 smq 0 ro needs_check", NULL, 0);
	CHECK_EQ(ublkit_dm_status_get_mode(st), UBLKIT_DM_MODE_READ_ONLY);
	CHECK(ublkit_dm_status_needs_check(st));
	ublkit_dm_status_unref(st);
	st = parse("cache", 2097152, "8 27/2048 128 10/2048 5 45 6 7 1 2 3 1 passthrough "
		   "2 migration_threshold 2048 smq 0 rw -", NULL, 0);
	CHECK_EQ(ublkit_dm_status_get_mode(st), UBLKIT_DM_MODE_PASSTHROUGH);
	ublkit_dm_status_unref(st);
	st = parse("cache", 2097152, "Fail", NULL, 0);
	CHECK(ublkit_dm_status_is_failed(st));
	ublkit_dm_status_unref(st);
	/* a feature count that runs past the end of the line */
	ublkit_dm_status_unref(parse("cache", 8, "8 27/2048 128 10/2048 5 45 6 7 1 2 3 9 "
				     "writethrough", NULL, -EBADMSG));
	ublkit_dm_status_unref(parse("cache", 8, "8 27/2048 128", NULL, -EBADMSG));
}

static void test_status_geometry(void)
{
	struct ublkit_dm_status *st;

	/* as Linux 6.12 shows it */
	st = parse("striped", 2097152, "2 259:1 259:3 1 AA", "2 128 259:1 0 259:3 0", 0);
	CHECK_EQ(val(st, UBLKIT_DM_STRIPES), 2);
	CHECK_EQ(val(st, UBLKIT_DM_CHUNK_SECTORS), 128);
	CHECK_EQ(val(st, UBLKIT_DM_STRIPES_FAILED), 0);
	CHECK(!ublkit_dm_status_is_failed(st));
	ublkit_dm_status_unref(st);
	st = parse("striped", 2097152, "2 259:1 259:3 1 AD", "2 128 259:1 0 259:3 0", 0);
	CHECK_EQ(val(st, UBLKIT_DM_STRIPES_FAILED), 1);
	CHECK(ublkit_dm_status_is_failed(st));
	ublkit_dm_status_unref(st);
	/* a field a later kernel may append is ignored */
	st = parse("striped", 2097152, "2 259:1 259:3 AD 7", NULL, 0);
	CHECK_EQ(val(st, UBLKIT_DM_STRIPES_FAILED), 1);
	ublkit_dm_status_unref(st);
	/* without the count, as older kernels wrote it */
	st = parse("striped", 2097152, "2 259:1 259:3 DA", NULL, 0);
	CHECK_EQ(val(st, UBLKIT_DM_STRIPES_FAILED), 1);
	ublkit_dm_status_unref(st);
	ublkit_dm_status_unref(parse("striped", 8, "2 259:1 259:2 1 AX", NULL, -EBADMSG));
	ublkit_dm_status_unref(parse("striped", 8, "2 259:1 259:2 1 AAA", NULL, -EBADMSG));
	ublkit_dm_status_unref(parse("striped", 8, "3 259:1 259:2", NULL, -EBADMSG));

	st = parse("linear", 524288, "", "259:1 131072", 0);
	CHECK_EQ(ublkit_dm_status_get_kind(st), UBLKIT_DM_LINEAR);
	CHECK_EQ(val(st, UBLKIT_DM_SIZE_SECTORS), 524288);
	CHECK_EQ(val(st, UBLKIT_DM_OFFSET_SECTORS), 131072);
	CHECK_EQ(ublkit_dm_status_get_mode(st), UBLKIT_DM_MODE_NONE);
	ublkit_dm_status_unref(st);
	st = parse("crypt", 1046528, "", "aes-xts-plain64 ------ 0 259:2 2048", 0);
	CHECK_EQ(ublkit_dm_status_get_kind(st), UBLKIT_DM_CRYPT);
	CHECK_EQ(val(st, UBLKIT_DM_OFFSET_SECTORS), 2048);
	CHECK(!has(st, UBLKIT_DM_STRIPES));
	ublkit_dm_status_unref(st);
	/* a foreign target: only its size and a failure are understood */
	st = parse("flakey", 4096, "", "259:2 0 0 3600", 0);
	CHECK_EQ(ublkit_dm_status_get_kind(st), UBLKIT_DM_UNKNOWN);
	CHECK_EQ(val(st, UBLKIT_DM_SIZE_SECTORS), 4096);
	ublkit_dm_status_unref(st);
}

static void test_names(void)
{
	uint64_t v;
	struct ublkit_dm_status *st = dm_status_alloc("x");

	for (int i = 0; i <= UBLKIT_DM_DIRTY_BLOCKS; i++)
		CHECK(ublkit_dm_value_name(i) != NULL);
	CHECK(ublkit_dm_value_name(UBLKIT_DM_DIRTY_BLOCKS + 1) == NULL);
	CHECK_STREQ(ublkit_dm_value_name(UBLKIT_DM_DATA_USED_BLOCKS), "data_used_blocks");
	for (int i = 0; i <= UBLKIT_DM_MODE_PASSTHROUGH; i++)
		CHECK(ublkit_dm_mode_name(i) != NULL);
	CHECK(ublkit_dm_mode_name(-1) == NULL);
	for (int i = 0; i <= UBLKIT_DM_EVENT_FAILED; i++)
		CHECK(ublkit_dm_event_type_name(i) != NULL);
	CHECK_STREQ(ublkit_dm_event_type_name(UBLKIT_DM_EVENT_LOW_WATER), "low-water");
	CHECK(ublkit_dm_event_type_name(6) == NULL);
	CHECK_EQ(ublkit_dm_status_get_value(st, UBLKIT_DM_READ_HITS, &v), -ENODATA);
	CHECK_EQ(ublkit_dm_status_get_value(st, 99, &v), -EINVAL);
	CHECK_EQ(ublkit_dm_status_get_value(st, -1, &v), -EINVAL);
	CHECK(ublkit_dm_status_ref(st) == st);
	ublkit_dm_status_unref(st);
	ublkit_dm_status_unref(st);
	CHECK(ublkit_dm_status_unref(NULL) == NULL);
	CHECK(ublkit_dm_table_unref(NULL) == NULL);
	CHECK(ublkit_dm_device_unref(NULL) == NULL);
	CHECK(ublkit_dm_monitor_unref(NULL) == NULL);
}

/* Everything that needs the kernel refuses a sysroot instead of touching the host. */
static void test_sysroot(void)
{
	struct ublkit_ctx *ctx = ctx_fake();
	struct ublkit_dm_device **v = NULL, *d = NULL;
	struct ublkit_dm_monitor *m = NULL;
	struct ublkit_dm_range r = { .device = "259:1" };
	struct ublkit_dm_table *t = NULL;
	char buf[64];

	CHECK_EQ(ublkit_dm_list(ctx, 0, &v), -EXDEV);
	CHECK_EQ(ublkit_dm_device_new(ctx, "x", &d), -EXDEV);
	CHECK_EQ(ublkit_dm_remove(ctx, "x", 0), -EXDEV);
	CHECK_EQ(ublkit_dm_suspend(ctx, "x", 0), -EXDEV);
	CHECK_EQ(ublkit_dm_get_holder(ctx, "x", buf, sizeof(buf)), -EXDEV);
	CHECK_EQ(ublkit_dm_monitor_new(ctx, 0, &m), -EXDEV);
	CHECK_EQ(ublkit_dm_table_linear(ctx, &r, &t), 0);
	CHECK_EQ(ublkit_dm_reload(ctx, "x", t), -EXDEV);
	/* names are checked before anything else */
	CHECK_EQ(ublkit_dm_create(ctx, "a/b", t, 0), -EINVAL);
	CHECK_EQ(ublkit_dm_create(ctx, "ok", t, 1u << 5), -EINVAL);
	CHECK_EQ(ublkit_dm_create(ctx, "ok", t, 0), -EXDEV);
	CHECK_EQ(ublkit_dm_remove(ctx, "x", 1), -EINVAL);
	ublkit_dm_table_unref(t);
	ublkit_ctx_unref(ctx);
}

/* A thin device's table: its pool and thin id (what remove and the next id read). */
static void test_thin_table_ref(void)
{
	static const char *const bad[] = {
		"",				/* no table: created, never loaded */
		"0",
		"0 2048",
		"0 2048 thin",
		"0 2048 thin ",
		"0 2048 thin 253:3",
		"0 2048 thin 253:3 x",
		"0 2048 thin 253:3 4294967296",
	};
	dev_t pool;
	uint32_t id;

	CHECK_EQ(dm_thin_table_ref("0 2048 thin 253:3 7", &pool, &id), 0);
	CHECK_EQ(major(pool), 253u);
	CHECK_EQ(minor(pool), 3u);
	CHECK_EQ(id, 7u);
	CHECK_EQ(dm_thin_table_ref("0 2048 thin 253:3 0 252:9", &pool, &id), 0);
	CHECK_EQ(id, 0u);
	/* exactly as long as the text, as the device's table is */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *t = strdup(bad[i]);

		CHECK(t);
		CHECK_EQ(dm_thin_table_ref(t, &pool, &id), -EINVAL);
		free(t);
	}
}

int main(void)
{
	RUN(test_kinds);
	RUN(test_linear);
	RUN(test_striped);
	RUN(test_crypt);
	RUN(test_thin_pool);
	RUN(test_thin);
	RUN(test_cache);
	RUN(test_uuid);
	RUN(test_status_pool);
	RUN(test_status_thin);
	RUN(test_status_cache);
	RUN(test_status_geometry);
	RUN(test_names);
	RUN(test_thin_table_ref);
	RUN(test_sysroot);
	if (root)
		fake_root_free(root);
	return test_result();
}
