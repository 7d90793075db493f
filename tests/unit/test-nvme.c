/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NVMe view over captured topologies: identity choice, the
 * controller and paths of a namespace, order, lookup, the health log and
 * who holds a namespace. White-box: snapshots are built through the
 * internal builders that the libnvme walk uses.
 */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "test.h"
#include "fake-nvme.h"
#include "ublkit/nvme.h"
#include "ublkit-private.h"
#include "nvme-private.h"

#define QEMU_NQN "nqn.2019-08.org.qemu:nqn.2024-01.org.ublkit:subsys0"

static struct ublkit_nvme *scan_fake(struct ublkit_ctx *ctx)
{
	struct ublkit_nvme *n = NULL;

	fake_nvme_install(ctx);
	CHECK_EQ(ublkit_nvme_scan(ctx, 0, &n), 0);
	if (!n) {
		fprintf(stderr, "no snapshot\n");
		exit(EXIT_FAILURE);
	}
	return n;
}

/* ---- identity ------------------------------------------------------------- */

static const uint8_t nguid_a[16] = { 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t eui_a[8] = { 0x00, 0x25, 0x38, 0x5b, 0x01, 0x02, 0x03, 0x04 };
static const uint8_t uuid_a[16] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
				    0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0 };
static const uint8_t zero16[16];

static struct ublkit_nvme_ns *one_ns(struct ublkit_nvme *t, const char *nqn,
				     const struct nvme_ns_facts *f)
{
	char sname[64];
	struct ublkit_nvme_subsys *s;

	snprintf(sname, sizeof(sname), "nvme-subsys%zu", t->n_subsys);
	s = nvme_topo_add_subsys(t, sname, nqn, "nvm");
	CHECK(s != NULL);
	return nvme_topo_add_ns(t, s, NULL, f);
}

static void test_identity_preference(void)
{
	struct ublkit_nvme *t = nvme_topo_new();
	struct nvme_ns_facts all = { .name = "nvme0n1", .nsid = 1, .lba_size = 512, .lba_count = 8,
				     .nguid = nguid_a, .eui64 = eui_a, .uuid = uuid_a };
	struct nvme_ns_facts eu = { .name = "nvme1n1", .nsid = 1, .eui64 = eui_a + 0, .uuid = uuid_a,
				    .nguid = zero16 };
	struct nvme_ns_facts uu = { .name = "nvme2n1", .nsid = 1, .uuid = uuid_a };
	struct nvme_ns_facts none = { .name = "nvme3n7", .nsid = 7, .uuid = zero16 };
	struct ublkit_nvme_ns *a, *b, *c, *d;
	static const uint8_t eui_b[8] = { 0x00, 0x25, 0x38, 0x5b, 0x01, 0x02, 0x03, 0x05 };
	static const uint8_t uuid_b[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

	eu.eui64 = eui_b;
	uu.uuid = uuid_b;
	a = one_ns(t, "nqn.a", &all);
	b = one_ns(t, "nqn.b", &eu);
	c = one_ns(t, "nqn.c", &uu);
	d = one_ns(t, "nqn.2014-08.org.nvmexpress:uuid:x y", &none);
	CHECK(a && b && c && d);
	CHECK_EQ(nvme_topo_finish(t), 0);
	CHECK_STREQ(ublkit_nvme_ns_get_identity(a), "nguid.deadbeef000000000000000000000001");
	CHECK_EQ(ublkit_nvme_ns_get_identity_kind(a), UBLKIT_NVME_ID_NGUID);
	CHECK_STREQ(ublkit_nvme_ns_get_nguid(a), "deadbeef000000000000000000000001");
	CHECK_STREQ(ublkit_nvme_ns_get_eui64(a), "0025385b01020304");
	CHECK_STREQ(ublkit_nvme_ns_get_uuid(a), "12345678-9abc-def0-1234-56789abcdef0");
	CHECK_STREQ(ublkit_nvme_ns_get_identity(b), "eui64.0025385b01020305");
	CHECK_EQ(ublkit_nvme_ns_get_identity_kind(b), UBLKIT_NVME_ID_EUI64);
	CHECK(ublkit_nvme_ns_get_nguid(b) == NULL);	/* all zeroes is none */
	CHECK_STREQ(ublkit_nvme_ns_get_identity(c), "uuid.01020304-0506-0708-090a-0b0c0d0e0f10");
	CHECK_EQ(ublkit_nvme_ns_get_identity_kind(c), UBLKIT_NVME_ID_UUID);
	/* no identifier: NQN and nsid; a blank in the NQN is not kept */
	CHECK_STREQ(ublkit_nvme_ns_get_identity(d), "nsid.7.nqn.2014-08.org.nvmexpress:uuid:x_y");
	CHECK_EQ(ublkit_nvme_ns_get_identity_kind(d), UBLKIT_NVME_ID_NQN_NSID);
	CHECK(ublkit_nvme_ns_get_uuid(d) == NULL && ublkit_nvme_ns_get_eui64(d) == NULL);
	CHECK_STREQ(ublkit_nvme_id_kind_name(UBLKIT_NVME_ID_NQN_NSID), "nqn-nsid");
	CHECK_STREQ(ublkit_nvme_id_kind_name(UBLKIT_NVME_ID_NGUID), "nguid");
	CHECK(ublkit_nvme_id_kind_name(4) == NULL && ublkit_nvme_id_kind_name(-1) == NULL);
	ublkit_nvme_unref(t);
}

/* Firmware that gives every drive the same EUI-64: it identifies nothing. */
static void test_identity_duplicates(void)
{
	struct ublkit_nvme *t = nvme_topo_new();
	struct nvme_ns_facts x = { .name = "nvme0n1", .nsid = 1, .eui64 = eui_a };
	struct nvme_ns_facts y = { .name = "nvme1n1", .nsid = 1, .eui64 = eui_a, .uuid = uuid_a };
	struct ublkit_nvme_ns *a, *b;

	a = one_ns(t, "nqn.x", &x);
	b = one_ns(t, "nqn.y", &y);
	CHECK_EQ(nvme_topo_finish(t), 0);
	CHECK_STREQ(ublkit_nvme_ns_get_identity(a), "nsid.1.nqn.x");
	CHECK_STREQ(ublkit_nvme_ns_get_identity(b), "uuid.12345678-9abc-def0-1234-56789abcdef0");
	/* the identifier itself is still reported */
	CHECK_STREQ(ublkit_nvme_ns_get_eui64(a), "0025385b01020304");
	ublkit_nvme_unref(t);
}

/* Identify Namespace stands in for a descriptor list the drive lacks. */
static void test_identity_from_identify(void)
{
	static uint8_t id[NVME_PAGE_BYTES];
	struct ublkit_nvme *t = nvme_topo_new();
	struct nvme_ns_facts f = { .name = "nvme0n1", .nsid = 3, .nguid = zero16, .id_ns = id };
	struct nvme_ns_facts g = { .name = "nvme1n1", .nsid = 3, .nguid = nguid_a, .id_ns = id };
	struct ublkit_nvme_ns *a, *b;

	memset(id, 0, sizeof(id));
	memcpy(id + 104, uuid_a, 16);	/* NGUID */
	memcpy(id + 120, eui_a, 8);	/* EUI64 */
	a = one_ns(t, "nqn.f", &f);
	b = one_ns(t, "nqn.g", &g);
	CHECK_EQ(nvme_topo_finish(t), 0);
	CHECK_STREQ(ublkit_nvme_ns_get_nguid(a), "123456789abcdef0123456789abcdef0");
	CHECK_STREQ(ublkit_nvme_ns_get_identity(a), "nguid.123456789abcdef0123456789abcdef0");
	/* a descriptor wins over Identify Namespace */
	CHECK_STREQ(ublkit_nvme_ns_get_nguid(b), "deadbeef000000000000000000000001");
	/* the shared EUI-64 (from the same Identify data) is in both */
	CHECK_STREQ(ublkit_nvme_ns_get_eui64(b), "0025385b01020304");
	ublkit_nvme_unref(t);
}

/* ---- topology --------------------------------------------------------------- */

static void test_topology(void)
{
	struct ublkit_ctx *ctx = test_ctx();
	struct ublkit_nvme *n = scan_fake(ctx);
	struct ublkit_nvme_ns *ns;
	struct ublkit_nvme_ctrl *c;

	CHECK_EQ(ublkit_nvme_get_subsys_count(n), 3);
	CHECK_EQ(ublkit_nvme_get_ctrl_count(n), 3);
	CHECK_EQ(ublkit_nvme_get_ns_count(n), 4);
	CHECK(ublkit_nvme_get_ns(n, 4) == NULL && ublkit_nvme_get_ctrl(n, 3) == NULL);
	CHECK(ublkit_nvme_get_subsys(n, 3) == NULL);
	CHECK(ublkit_nvme_get_hostnqn(n) != NULL && ublkit_nvme_get_hostid(n) == NULL);

	/* by subsystem, then nsid: the probe order does not matter */
	ns = ublkit_nvme_get_ns(n, 2);
	CHECK_STREQ(ublkit_nvme_ns_get_name(ns), "nvme1n1");
	ns = ublkit_nvme_get_ns(n, 0);
	CHECK_STREQ(ublkit_nvme_ns_get_name(ns), "nvme0n2");
	CHECK_EQ(ublkit_nvme_ns_get_nsid(ns), 1);
	CHECK_EQ(ublkit_nvme_ns_get_size(ns), 1ull << 30);
	CHECK_EQ(ublkit_nvme_ns_get_lba_size(ns), 512);
	CHECK_STREQ(ublkit_nvme_ns_get_block_device(ns), "/dev/nvme0n2");
	CHECK_STREQ(ublkit_nvme_ns_get_generic_device(ns), "/dev/ng0n2");
	CHECK_STREQ(ublkit_nvme_ns_get_identity(ns), "nsid.1." QEMU_NQN);
	/* multipath: the controller comes from the path */
	CHECK_EQ(ublkit_nvme_ns_get_path_count(ns), 1);
	CHECK_STREQ(ublkit_nvme_path_get_name(ublkit_nvme_ns_get_path(ns, 0)), "nvme0c0n2");
	CHECK_STREQ(ublkit_nvme_path_get_ana_state(ublkit_nvme_ns_get_path(ns, 0)), "optimized");
	CHECK(ublkit_nvme_ns_get_path(ns, 1) == NULL);
	c = ublkit_nvme_ns_get_ctrl(ns);
	CHECK_STREQ(ublkit_nvme_ctrl_get_name(c), "nvme0");
	CHECK(ublkit_nvme_path_get_ctrl(ublkit_nvme_ns_get_path(ns, 0)) == c);
	CHECK_STREQ(ublkit_nvme_ns_get_model(ns), "QEMU NVMe Ctrl");
	CHECK_STREQ(ublkit_nvme_ns_get_serial(ns), "ublkit0001");
	CHECK_STREQ(ublkit_nvme_ns_get_firmware(ns), "7.2.22");
	CHECK_STREQ(ublkit_nvme_subsys_get_nqn(ublkit_nvme_ns_get_subsys(ns)), QEMU_NQN);
	CHECK_STREQ(ublkit_nvme_subsys_get_name(ublkit_nvme_ns_get_subsys(ns)), "nvme-subsys0");
	CHECK_STREQ(ublkit_nvme_subsys_get_type(ublkit_nvme_ns_get_subsys(ns)), "nvm");
	CHECK_STREQ(ublkit_nvme_ctrl_get_subsysnqn(c), QEMU_NQN);
	CHECK(ublkit_nvme_ctrl_get_subsys(c) == ublkit_nvme_ns_get_subsys(ns));
	CHECK_STREQ(ublkit_nvme_ctrl_get_address(c), "0000:00:04.0");
	CHECK_STREQ(ublkit_nvme_ctrl_get_state(c), "live");
	CHECK_STREQ(ublkit_nvme_ctrl_get_transport(c), "pcie");

	/* the fabrics namespace */
	ns = ublkit_nvme_get_ns(n, 2);
	CHECK_STREQ(ublkit_nvme_ctrl_get_transport(ublkit_nvme_ns_get_ctrl(ns)), "loop");
	CHECK(ublkit_nvme_ctrl_get_address(ublkit_nvme_ns_get_ctrl(ns)) == NULL);
	CHECK_STREQ(ublkit_nvme_ns_get_identity(ns), "nguid.0123456789abcdef0123456789abcdef");

	/* a private namespace keeps its controller; padded strings are trimmed */
	ns = ublkit_nvme_find_ns(n, "nvme2n1");
	CHECK(ns != NULL);
	CHECK_EQ(ublkit_nvme_ns_get_path_count(ns), 0);
	CHECK_STREQ(ublkit_nvme_ns_get_model(ns), "Samsung SSD 980 1TB");
	CHECK_STREQ(ublkit_nvme_ns_get_serial(ns), "S64ANS0T123456");
	CHECK_STREQ(ublkit_nvme_ns_get_identity(ns), "eui64.0025385b11223344");
	CHECK_EQ(ublkit_nvme_ns_get_size(ns), 244190646ull * 4096);
	CHECK_EQ(ublkit_nvme_ns_get_lba_used(ns), 12345678);

	/* controllers by name */
	CHECK_STREQ(ublkit_nvme_ctrl_get_name(ublkit_nvme_get_ctrl(n, 0)), "nvme0");
	CHECK_STREQ(ublkit_nvme_ctrl_get_name(ublkit_nvme_get_ctrl(n, 2)), "nvme2");

	/* getters take NULL */
	CHECK(ublkit_nvme_ns_get_name(NULL) == NULL && ublkit_nvme_ctrl_get_model(NULL) == NULL);
	CHECK(ublkit_nvme_ns_get_model(NULL) == NULL && ublkit_nvme_get_ns_count(NULL) == 0);
	CHECK_EQ(ublkit_nvme_ns_get_identity_kind(NULL), -EINVAL);

	/* references */
	CHECK(ublkit_nvme_ref(n) == n);
	CHECK(ublkit_nvme_unref(n) == NULL);
	CHECK_STREQ(ublkit_nvme_ns_get_name(ublkit_nvme_get_ns(n, 1)), "nvme0n1");
	CHECK(ublkit_nvme_unref(n) == NULL);
	CHECK(ublkit_nvme_unref(NULL) == NULL);
	CHECK(ublkit_nvme_ref(NULL) == NULL);
	ublkit_ctx_unref(ctx);
}

/* Two controllers, the first not live: the namespace goes through the second. */
static void test_multipath(void)
{
	struct ublkit_nvme *t = nvme_topo_new();
	struct nvme_ctrl_facts fa = { .name = "nvme10", .state = "connecting", .serial = "A" };
	struct nvme_ctrl_facts fb = { .name = "nvme9", .state = "live", .serial = "B" };
	struct nvme_ns_facts f = { .name = "nvme3n4", .nsid = 4 };
	struct ublkit_nvme_subsys *s = nvme_topo_add_subsys(t, "nvme-subsys3", "nqn.m", "nvm");
	struct ublkit_nvme_ctrl *a = nvme_topo_add_ctrl(t, s, &fa);
	struct ublkit_nvme_ctrl *b = nvme_topo_add_ctrl(t, s, &fb);
	struct ublkit_nvme_ns *ns;

	CHECK(nvme_topo_add_ctrl(t, s, &fa) == a);	/* once */
	CHECK(nvme_topo_add_subsys(t, "nvme-subsys3", "nqn.m", "nvm") == s);
	CHECK_EQ(nvme_topo_add_path(t, a, "nvme3c10n4", "optimized"), 0);
	CHECK_EQ(nvme_topo_add_path(t, b, "nvme3c9n4", "non-optimized"), 0);
	CHECK_EQ(nvme_topo_add_path(t, b, "nvme3c9n4", "non-optimized"), 0);
	/* a path of another namespace, and one of no namespace */
	CHECK_EQ(nvme_topo_add_path(t, b, "nvme3c9n5", "optimized"), 0);
	CHECK_EQ(nvme_topo_add_path(t, b, "nvme30c9n4", "optimized"), 0);
	ns = nvme_topo_add_ns(t, s, NULL, &f);
	CHECK(nvme_topo_add_ns(t, s, NULL, &f) == ns);
	CHECK_EQ(nvme_topo_finish(t), 0);
	CHECK_EQ(t->n_ns, 1);
	CHECK_EQ(ublkit_nvme_ns_get_path_count(ns), 2);
	/* paths in name order, numbers as numbers */
	CHECK_STREQ(ublkit_nvme_path_get_name(ublkit_nvme_ns_get_path(ns, 0)), "nvme3c9n4");
	CHECK_STREQ(ublkit_nvme_path_get_name(ublkit_nvme_ns_get_path(ns, 1)), "nvme3c10n4");
	CHECK(ublkit_nvme_ns_get_ctrl(ns) == b);
	CHECK_STREQ(ublkit_nvme_ns_get_serial(ns), "B");
	CHECK_STREQ(ublkit_nvme_ctrl_get_name(ublkit_nvme_get_ctrl(t, 0)), "nvme9");
	CHECK(ublkit_nvme_ctrl_get_subsysnqn(a) != NULL);
	ublkit_nvme_unref(t);

	/* a namespace nothing is known about sorts first and still has an identity */
	t = nvme_topo_new();
	s = nvme_topo_add_subsys(t, "nvme-subsys3", "nqn.m", "nvm");
	a = nvme_topo_add_ctrl(t, s, &fa);
	ns = nvme_topo_add_ns(t, s, a, &f);
	{
		struct nvme_ns_facts orphan = { .name = "nvme7n1", .nsid = 1 };
		struct nvme_ns_facts via_ctrl = { .name = "nvme3n1", .nsid = 1 };
		struct ublkit_nvme_ns *o = nvme_topo_add_ns(t, NULL, NULL, &orphan);
		struct ublkit_nvme_ns *v = nvme_topo_add_ns(t, NULL, a, &via_ctrl);

		CHECK_EQ(nvme_topo_finish(t), 0);
		CHECK(ublkit_nvme_get_ns(t, 0) == o);
		CHECK(ublkit_nvme_get_ns(t, 1) == v);
		CHECK(ublkit_nvme_get_ns(t, 2) == ns);
		CHECK_STREQ(ublkit_nvme_ns_get_identity(o), "nsid.1.unknown");
		CHECK(ublkit_nvme_ns_get_subsys(o) == NULL && ublkit_nvme_ns_get_ctrl(o) == NULL);
		/* the subsystem of its controller */
		CHECK(ublkit_nvme_ns_get_subsys(v) == s);
		CHECK_STREQ(ublkit_nvme_ns_get_identity(v), "nsid.1.nqn.m");
	}
	ublkit_nvme_unref(t);

	/* no live path: the first one */
	t = nvme_topo_new();
	s = nvme_topo_add_subsys(t, "nvme-subsys3", "nqn.m", "nvm");
	a = nvme_topo_add_ctrl(t, s, &fa);
	CHECK_EQ(nvme_topo_add_path(t, a, "nvme3c10n4", "inaccessible"), 0);
	ns = nvme_topo_add_ns(t, s, NULL, &f);
	CHECK_EQ(nvme_topo_finish(t), 0);
	CHECK(ublkit_nvme_ns_get_ctrl(ns) == a);
	ublkit_nvme_unref(t);
}

/*
 * A controller whose name is empty or blanks (the name is whatever the
 * source read) keeps it as it is: trimmed to nothing it was NULL, and
 * sorting or adding a second controller dereferenced it (found by
 * tests/fuzz/fuzz-nvme-identify).
 */
static void test_blank_ctrl_name(void)
{
	struct ublkit_nvme *t = nvme_topo_new();
	struct nvme_ctrl_facts blank = { .name = " ", .model = "M " };
	struct nvme_ctrl_facts empty = { .name = "" };
	struct nvme_ctrl_facts named = { .name = "nvme0" };
	struct ublkit_nvme_ctrl *a, *b, *c;

	a = nvme_topo_add_ctrl(t, NULL, &blank);
	b = nvme_topo_add_ctrl(t, NULL, &empty);
	c = nvme_topo_add_ctrl(t, NULL, &named);
	CHECK(a && b && c);
	CHECK(nvme_topo_add_ctrl(t, NULL, &blank) == a);
	CHECK_EQ(nvme_topo_finish(t), 0);
	CHECK_EQ(ublkit_nvme_get_ctrl_count(t), 3);
	CHECK_STREQ(ublkit_nvme_ctrl_get_name(a), " ");
	CHECK_STREQ(ublkit_nvme_ctrl_get_name(b), "");
	CHECK_STREQ(ublkit_nvme_ctrl_get_model(a), "M");
	CHECK(ublkit_nvme_get_ctrl(t, 2) == c);
	ublkit_nvme_unref(t);
}

static void test_find(void)
{
	struct ublkit_ctx *ctx = test_ctx();
	struct ublkit_nvme *n = scan_fake(ctx);
	struct ublkit_nvme_ns *ns = ublkit_nvme_get_ns(n, 0);	/* nvme0n2 */

	CHECK(ublkit_nvme_find_ns(n, "/dev/nvme0n2") == ns);
	CHECK(ublkit_nvme_find_ns(n, "nvme0n2") == ns);
	CHECK(ublkit_nvme_find_ns(n, "/dev/ng0n2") == ns);
	CHECK(ublkit_nvme_find_ns(n, "ng0n2") == ns);
	CHECK(ublkit_nvme_find_ns(n, "nsid.1." QEMU_NQN) == ns);
	CHECK(ublkit_nvme_find_ns(n, "nsid.2." QEMU_NQN) == ublkit_nvme_get_ns(n, 1));
	CHECK(ublkit_nvme_find_ns(n, "/dev/nvme0n3") == NULL);
	CHECK(ublkit_nvme_find_ns(n, "nvme0c0n2") == NULL);
	CHECK(ublkit_nvme_find_ns(n, "") == NULL);
	CHECK(ublkit_nvme_find_ns(n, NULL) == NULL);
	CHECK(ublkit_nvme_find_ns(NULL, "nvme0n2") == NULL);
	ublkit_nvme_unref(n);
	ublkit_ctx_unref(ctx);
}

static void test_scan_args(void)
{
	struct ublkit_ctx *ctx = test_ctx();
	struct ublkit_nvme *n = (void *)1;
	char *root = fake_root_new();

	CHECK_EQ(ublkit_nvme_scan(NULL, 0, &n), -EINVAL);
	CHECK_EQ(ublkit_nvme_scan(ctx, 1, &n), -EINVAL);
	CHECK_EQ(ublkit_nvme_scan(ctx, 0, NULL), -EINVAL);
	/* libnvme cannot look at a sysroot */
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	CHECK_EQ(ublkit_nvme_scan(ctx, 0, &n), -EXDEV);
	CHECK(n == NULL);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

/* ---- health ------------------------------------------------------------------ */

static void test_health_decode(void)
{
	struct ublkit_ctx *ctx = test_ctx();
	struct ublkit_nvme *n = scan_fake(ctx);
	struct ublkit_nvme_ctrl *c = ublkit_nvme_get_ctrl(n, 0);
	struct ublkit_nvme_health h;
	uint8_t log[512];
	char why[256];

	memset(&h, 0xff, sizeof(h));
	CHECK_EQ(ublkit_nvme_ctrl_read_health(ctx, c, &h), 0);
	CHECK_EQ(h.critical_warning, 0);
	CHECK_EQ(h.temperature, 323);
	CHECK_EQ(h.available_spare, 100);
	CHECK_EQ(h.available_spare_threshold, 10);
	CHECK_EQ(h.percentage_used, 0);
	CHECK_EQ(h.data_units_read, 42);
	CHECK_EQ(h.data_units_written, 7);
	CHECK_EQ(h.host_read_commands, 10000);
	CHECK_EQ(h.host_write_commands, 1000);
	CHECK_EQ(h.power_cycles, 1);
	CHECK_EQ(h.power_on_hours, 0);
	CHECK_EQ(h.temperature_sensor[0], 0);
	CHECK(ublkit_nvme_health_ok(&h, 80, why, sizeof(why)));
	CHECK(strstr(why, "healthy") != NULL);

	/* libnvme cannot look at a sysroot */
	{
		char *root = fake_root_new();

		nvme_set_source(ctx, NULL);
		CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
		CHECK_EQ(ublkit_nvme_ctrl_read_health(ctx, c, &h), -EXDEV);
		CHECK_EQ(ublkit_ctx_set_sysroot(ctx, NULL), 0);
		fake_nvme_install(ctx);
		fake_root_free(root);
	}

	/* failures pass through */
	fake_nvme_fail_health(-ENODEV);
	CHECK_EQ(ublkit_nvme_ctrl_read_health(ctx, c, &h), -ENODEV);
	fake_nvme_fail_health(0);
	CHECK_EQ(ublkit_nvme_ctrl_read_health(ctx, NULL, &h), -EINVAL);

	/* every field at its offset, little endian, 128-bit counters saturate */
	memset(log, 0, sizeof(log));
	log[0] = UBLKIT_NVME_WARN_SPARE | UBLKIT_NVME_WARN_READ_ONLY;
	log[1] = 0x5a;
	log[2] = 0x01;
	log[3] = 5;
	log[4] = 10;
	log[5] = 120;
	log[6] = 1;
	for (int i = 0; i < 10; i++)
		log[32 + 16 * i] = (uint8_t)(i + 1), log[32 + 16 * i + 1] = 0x01;
	log[32 + 16 * 9 + 8] = 1;	/* error log entries >= 2^64 */
	log[192] = 0x78, log[193] = 0x56, log[194] = 0x34, log[195] = 0x12;
	log[196] = 3;
	log[200 + 14] = 0x2c, log[200 + 15] = 0x01;
	nvme_health_decode(log, &h);
	CHECK_EQ(h.critical_warning, 0x09);
	CHECK_EQ(h.temperature, 346);
	CHECK_EQ(h.available_spare, 5);
	CHECK_EQ(h.available_spare_threshold, 10);
	CHECK_EQ(h.percentage_used, 120);
	CHECK_EQ(h.endurance_group_warning, 1);
	CHECK_EQ(h.data_units_read, 0x101);
	CHECK_EQ(h.data_units_written, 0x102);
	CHECK_EQ(h.host_read_commands, 0x103);
	CHECK_EQ(h.host_write_commands, 0x104);
	CHECK_EQ(h.controller_busy_time, 0x105);
	CHECK_EQ(h.power_cycles, 0x106);
	CHECK_EQ(h.power_on_hours, 0x107);
	CHECK_EQ(h.unsafe_shutdowns, 0x108);
	CHECK_EQ(h.media_errors, 0x109);
	CHECK(h.error_log_entries == UINT64_MAX);
	CHECK_EQ(h.warning_temperature_time, 0x12345678);
	CHECK_EQ(h.critical_temperature_time, 3);
	CHECK_EQ(h.temperature_sensor[7], 300);
	CHECK(!ublkit_nvme_health_ok(&h, 255, why, sizeof(why)));
	CHECK(strstr(why, "critical warning: spare") != NULL);
	CHECK(strstr(why, "critical warning: read-only") != NULL);
	CHECK(strstr(why, "available spare 5% is below its threshold 10%") != NULL);
	CHECK(strstr(why, "endurance") == NULL);	/* 255: any wear */

	/* wear alone */
	memset(log, 0, sizeof(log));
	log[3] = 100;
	log[4] = 10;
	log[5] = 81;
	nvme_health_decode(log, &h);
	CHECK(!ublkit_nvme_health_ok(&h, 80, why, sizeof(why)));
	CHECK(strstr(why, "81% of its endurance is used (at most 80% allowed)") != NULL);
	CHECK(ublkit_nvme_health_ok(&h, 81, NULL, 0));
	/* spare at its threshold is not below it */
	log[3] = 10;
	nvme_health_decode(log, &h);
	CHECK(ublkit_nvme_health_ok(&h, 100, why, sizeof(why)));
	CHECK(!ublkit_nvme_health_ok_sz(NULL, sizeof(h), 100, why, sizeof(why)));

	CHECK_STREQ(ublkit_nvme_warning_name(UBLKIT_NVME_WARN_TEMPERATURE), "temperature");
	CHECK_STREQ(ublkit_nvme_warning_name(UBLKIT_NVME_WARN_PMR_READ_ONLY), "pmr-read-only");
	CHECK(ublkit_nvme_warning_name(1u << 6) == NULL);
	CHECK(ublkit_nvme_warning_name(3) == NULL);
	ublkit_nvme_unref(n);
	ublkit_ctx_unref(ctx);
}

/* A caller built against an older, smaller struct gets only what it knows. */
static void test_health_struct_size(void)
{
	struct ublkit_ctx *ctx = test_ctx();
	struct ublkit_nvme *n = scan_fake(ctx);
	struct ublkit_nvme_health h;
	size_t small = offsetof(struct ublkit_nvme_health, data_units_read);

	memset(&h, 0xee, sizeof(h));
	CHECK_EQ(ublkit_nvme_ctrl_read_health_sz(ctx, ublkit_nvme_get_ctrl(n, 0), &h, small), 0);
	CHECK_EQ(h.temperature, 323);
	CHECK(h.data_units_read == 0xeeeeeeeeeeeeeeeeull);
	/* health_ok reads only @size bytes: the rest counts as zero */
	h.critical_warning = 0;
	CHECK(ublkit_nvme_health_ok_sz(&h, small, 50, NULL, 0));
	ublkit_nvme_unref(n);
	ublkit_ctx_unref(ctx);
}

/* ---- who holds a namespace ----------------------------------------------------- */

/* /sys/block/NAME as the kernel shows a multipath head. */
static void fake_ns_sysfs(const char *root, const char *name, const char *nsid, const char *nqn)
{
	char p[256], v[256];

	snprintf(p, sizeof(p), "/sys/block/%s/nsid", name);
	snprintf(v, sizeof(v), "%s\n", nsid);
	fake_write(root, p, v);
	snprintf(p, sizeof(p), "/sys/block/%s/device/subsysnqn", name);
	snprintf(v, sizeof(v), "%s\n", nqn);
	fake_write(root, p, v);
}

static void make_file(const char *root, const char *path, off_t size)
{
	char p[4200];
	int fd;

	snprintf(p, sizeof(p), "%s%s", root, path);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, size) == 0);
	if (fd >= 0)
		close(fd);
}

static void test_holders(void)
{
	char *root = fake_root_linux();
	struct ublkit_ctx *ctx = test_ctx();
	struct ublkit_nvme *n;
	struct ublkit_nvme_ns *ns;
	struct ublkit_blockdev_usage u;
	char p[4200], uuid[UBLKIT_UUID_STRING_MAX];

	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	n = scan_fake(ctx);	/* a fake source works with a sysroot */
	ns = ublkit_nvme_find_ns(n, "/dev/nvme0n2");
	fake_mkdir(root, "/dev");
	fake_write(root, "/proc/self/mountinfo", "27 1 254:0 / / rw - ext4 /dev/vda rw\n");
	fake_ns_sysfs(root, "nvme0n2", "1", QEMU_NQN);
	/* a clean namespace (a file stands in for it: no mknod needed) */
	make_file(root, "/dev/nvme0n2", 16 << 20);
	ublkit_blockdev_usage_init(&u);
	CHECK_EQ(ublkit_nvme_ns_check(ctx, ns, 0, &u), 0);
	CHECK(u.may_format);
	CHECK_EQ(u.found, 0);

	/* a swap signature: data, unless the caller takes swap as free */
	snprintf(p, sizeof(p), "%s/dev/nvme0n2", root);
	CHECK_EQ(ublkit_swap_format(ctx, "/dev/nvme0n2", "old", UBLKIT_BLOCKDEV_FORCE, uuid), 0);
	CHECK_EQ(ublkit_nvme_ns_check(ctx, ns, 0, &u), -EEXIST);
	CHECK_STREQ(u.type, "swap");
	CHECK_STREQ(u.label, "old");
	CHECK(u.found == UBLKIT_BLOCKDEV_SIGNATURE);
	CHECK(strstr(u.reason, "holds data: TYPE=swap") != NULL);
	CHECK_EQ(ublkit_nvme_ns_check(ctx, ns, UBLKIT_BLOCKDEV_ALLOW_SWAP, &u), 0);
	/* an active swap area */
	fake_write(root, "/proc/swaps",
		   "Filename Type Size Used Priority\n/dev/nvme0n2 partition 16380 0 -2\n");
	CHECK_EQ(ublkit_nvme_ns_check(ctx, ns, UBLKIT_BLOCKDEV_FORCE, &u), -EBUSY);
	CHECK(u.found & UBLKIT_BLOCKDEV_ACTIVE_SWAP);
	fake_write(root, "/proc/swaps", "Filename Type Size Used Priority\n");

	/* renumbered since the scan: nvme0n2 is another namespace now */
	fake_ns_sysfs(root, "nvme0n2", "2", QEMU_NQN);
	ublkit_blockdev_usage_init(&u);
	CHECK_EQ(ublkit_nvme_ns_check(ctx, ns, 0, &u), -ENODEV);
	CHECK(strstr(u.reason, "gone or is another namespace") != NULL);
	CHECK(!u.may_format);
	fake_ns_sysfs(root, "nvme0n2", "1", "nqn.other");
	CHECK_EQ(ublkit_nvme_ns_check(ctx, ns, 0, &u), -ENODEV);
	/* gone: no sysfs directory */
	snprintf(p, sizeof(p), "rm -rf '%s/sys/block/nvme0n2'", root);
	CHECK_EQ(system(p), 0);
	CHECK_EQ(ublkit_nvme_ns_check(ctx, ns, 0, &u), -ENODEV);
	/* sysfs says it is there, its node is gone */
	fake_ns_sysfs(root, "nvme0n2", "1", QEMU_NQN);
	snprintf(p, sizeof(p), "%s/dev/nvme0n2", root);
	CHECK_EQ(unlink(p), 0);
	CHECK_EQ(ublkit_nvme_ns_check(ctx, ns, 0, &u), -ENODEV);
	CHECK_EQ(ublkit_nvme_ns_check(ctx, NULL, 0, &u), -EINVAL);
	/* a caller's old, smaller struct is not overrun */
	{
		struct ublkit_blockdev_usage small;

		memset(&small, 0x5a, sizeof(small));
		small.struct_size = offsetof(struct ublkit_blockdev_usage, type);
		CHECK_EQ(ublkit_nvme_ns_check(ctx, ns, 0, &small), -ENODEV);
		CHECK(!small.may_format);
		CHECK_EQ((unsigned char)small.type[0], 0x5a);
	}

	/* block devices in use: mounted, held by dm (needs mknod: root) */
	snprintf(p, sizeof(p), "%s/dev/nvme0n2", root);
	if (mknod(p, S_IFBLK | 0600, makedev(259, 7)) == 0) {
		fake_write(root, "/sys/dev/block/259:7/size", "2097152\n");
		fake_write(root, "/proc/self/mountinfo",
			   "40 27 259:7 / /srv/data rw - ext4 /dev/nvme0n2 rw\n");
		CHECK_EQ(ublkit_nvme_ns_check(ctx, ns, UBLKIT_BLOCKDEV_FORCE, &u), -EBUSY);
		CHECK_EQ(u.found, UBLKIT_BLOCKDEV_MOUNTED);
		CHECK_STREQ(u.holder, "/srv/data");
		fake_write(root, "/proc/self/mountinfo", "27 1 254:0 / / rw - ext4 /dev/vda rw\n");
		fake_mkdir(root, "/sys/dev/block/259:7/holders/dm-0");
		CHECK_EQ(ublkit_nvme_ns_check(ctx, ns, UBLKIT_BLOCKDEV_FORCE, &u), -EBUSY);
		CHECK_EQ(u.found, UBLKIT_BLOCKDEV_HELD);
		CHECK_STREQ(u.holder, "dm-0");
		snprintf(p, sizeof(p), "%s/sys/dev/block/259:7/holders/dm-0", root);
		rmdir(p);
		/* a partition of it is mounted */
		fake_write(root, "/sys/dev/block/259:7/nvme0n2p1/partition", "1\n");
		fake_write(root, "/sys/dev/block/259:7/nvme0n2p1/dev", "259:8\n");
		fake_write(root, "/proc/self/mountinfo",
			   "40 27 259:8 / /boot rw - vfat /dev/nvme0n2p1 rw\n");
		CHECK_EQ(ublkit_nvme_ns_check(ctx, ns, UBLKIT_BLOCKDEV_FORCE, &u), -EBUSY);
		CHECK(strstr(u.reason, "nvme0n2p1 is mounted on /boot") != NULL);
	} else {
		printf("# mknod not allowed: the block device cases are skipped\n");
	}
	ublkit_nvme_unref(n);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

int main(void)
{
	RUN(test_identity_preference);
	RUN(test_identity_duplicates);
	RUN(test_identity_from_identify);
	RUN(test_topology);
	RUN(test_multipath);
	RUN(test_blank_ctrl_name);
	RUN(test_find);
	RUN(test_scan_args);
	RUN(test_health_decode);
	RUN(test_health_struct_size);
	RUN(test_holders);
	return test_result();
}
