/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A stand-in for libnvme: NVMe topologies captured from test guests. */
#include "config.h"

#include <string.h>

#include "ublkit-private.h"
#include "nvme-private.h"
#include "fake-nvme.h"

#define QEMU_NQN "nqn.2019-08.org.qemu:nqn.2024-01.org.ublkit:subsys0"
#define LOOP_NQN "nqn.2024-01.org.ublkit:loop-test"

/* A health log (page 02h) of a healthy drive: 323 K as QEMU 7.2 reports,
 * spare 100% (threshold 10%; QEMU reports 0 and 0), 0% used. */
const unsigned char fake_nvme_smart_log[512] = {
	[0] = 0x00,		/* critical warning */
	[1] = 0x43, [2] = 0x01,	/* 323 K */
	[3] = 100, [4] = 10, [5] = 0,
	[32] = 0x2a,		/* data units read: 42 */
	[48] = 0x07,		/* data units written: 7 */
	[64] = 0x10, [65] = 0x27,	/* host reads: 10000 */
	[80] = 0xe8, [81] = 0x03,	/* host writes: 1000 */
	[112] = 1,		/* power cycles */
	[128] = 0,		/* power-on hours */
	[144] = 0,		/* unsafe shutdowns */
	[160] = 0,		/* media errors */
};

static int health_error;

void fake_nvme_fail_health(int r)
{
	health_error = r;
}

static int fake_scan(struct ublkit_ctx *ctx, struct ublkit_nvme *t)
{
	static const uint8_t loop_nguid[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
						0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	static const uint8_t loop_uuid[16] = { 0x5b, 0x72, 0x2b, 0x05, 0xe9, 0xc8, 0x4f, 0x2a,
					       0x8f, 0x0e, 0x0e, 0x3d, 0x1f, 0x33, 0x54, 0x56 };
	static uint8_t id_ns[NVME_PAGE_BYTES];
	struct ublkit_nvme_subsys *qemu, *loop, *pci;
	struct ublkit_nvme_ctrl *c0, *c1, *c2;
	struct nvme_ctrl_facts f0 = {
		.name = "nvme0", .model = "QEMU NVMe Ctrl", .serial = "ublkit0001",
		.firmware = "7.2.22", .transport = "pcie", .address = "0000:00:04.0",
		.state = "live",
	};
	struct nvme_ctrl_facts f1 = {
		.name = "nvme1", .model = "Linux", .serial = "8b3c7d8a5e0c4f6e",
		.firmware = "6.12.117", .transport = "loop", .state = "live",
	};
	/* Identify strings come space padded */
	struct nvme_ctrl_facts f2 = {
		.name = "nvme2", .model = "Samsung SSD 980 1TB     ", .serial = "S64ANS0T123456 ",
		.firmware = "1B4QFXO7", .transport = "pcie", .address = "0000:01:00.0",
		.state = "live",
	};
	/* probe order: nsid 2 became nvme0n1 */
	struct nvme_ns_facts n1 = { .name = "nvme0n2", .generic_name = "ng0n2", .nsid = 1,
				    .lba_size = 512, .lba_count = 2097152, .lba_used = 2097152 };
	struct nvme_ns_facts n2 = { .name = "nvme0n1", .generic_name = "ng0n1", .nsid = 2,
				    .lba_size = 512, .lba_count = 1048576, .lba_used = 1048576 };
	struct nvme_ns_facts n3 = { .name = "nvme1n1", .generic_name = "ng1n1", .nsid = 1,
				    .lba_size = 512, .lba_count = 131072, .lba_used = 131072,
				    .nguid = loop_nguid, .uuid = loop_uuid };
	struct nvme_ns_facts n4 = { .name = "nvme2n1", .generic_name = "ng2n1", .nsid = 1,
				    .lba_size = 4096, .lba_count = 244190646,
				    .lba_used = 12345678, .id_ns = id_ns };

	/* an NVMe 1.2 drive: EUI64 in Identify Namespace, no descriptor list */
	memcpy(id_ns + 120, "\x00\x25\x38\x5b\x11\x22\x33\x44", 8);

	if (nvme_topo_set_host(t, "nqn.2014-08.org.nvmexpress:uuid:0f6b4f1e-6c4e-4a38-9d4a-1f0c2a9d3e11",
			       NULL) < 0)
		return -ENOMEM;
	/* libnvme's order: controllers, then the subsystem's namespaces */
	qemu = nvme_topo_add_subsys(t, "nvme-subsys0", QEMU_NQN, "nvm");
	loop = nvme_topo_add_subsys(t, "nvme-subsys1", LOOP_NQN, "nvm");
	pci = nvme_topo_add_subsys(t, "nvme-subsys2",
				   "nqn.2014.08.org.nvmexpress:144d144dS64ANS0T123456     Samsung SSD 980 1TB",
				   "nvm");
	if (!qemu || !loop || !pci)
		return -ENOMEM;
	c0 = nvme_topo_add_ctrl(t, qemu, &f0);
	c1 = nvme_topo_add_ctrl(t, loop, &f1);
	c2 = nvme_topo_add_ctrl(t, pci, &f2);
	if (!c0 || !c1 || !c2)
		return -ENOMEM;
	if (nvme_topo_add_path(t, c0, "nvme0c0n1", "optimized") < 0 ||
	    nvme_topo_add_path(t, c0, "nvme0c0n2", "optimized") < 0 ||
	    nvme_topo_add_path(t, c1, "nvme1c1n1", "optimized") < 0)
		return -ENOMEM;
	if (!nvme_topo_add_ns(t, qemu, NULL, &n1) || !nvme_topo_add_ns(t, qemu, NULL, &n2) ||
	    !nvme_topo_add_ns(t, loop, NULL, &n3) || !nvme_topo_add_ns(t, pci, c2, &n4))
		return -ENOMEM;
	return 0;
}

static int fake_smart_log(struct ublkit_ctx *ctx, const struct ublkit_nvme_ctrl *c, void *log)
{
	if (health_error)
		return health_error;
	memcpy(log, fake_nvme_smart_log, sizeof(fake_nvme_smart_log));
	return 0;
}

static const struct nvme_source fake_source = {
	.scan = fake_scan,
	.smart_log = fake_smart_log,
};

void fake_nvme_install(struct ublkit_ctx *ctx)
{
	nvme_set_source(ctx, &fake_source);
}
