/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A stand-in for libnvme: NVMe topologies captured from test guests. */
#ifndef UBLKIT_FAKE_NVME_H
#define UBLKIT_FAKE_NVME_H

#include "ublkit/ublkit.h"

/*
 * The QEMU 7.2 guest of the VM tests: subsystem
 * nqn.2019-08.org.qemu:nqn.2024-01.org.ublkit:subsys0 with controller
 * nvme0 (serial ublkit0001) and two shared namespaces (nsid 1, 1 GiB,
 * probed second as nvme0n2; nsid 2, 512 MiB, as nvme0n1) reached through
 * paths nvme0c0n1/nvme0c0n2, no NGUID/EUI-64/UUID; plus an nvmet loop
 * subsystem (nvme1, nsid 1, 64 MiB, an NGUID) and a private PCIe
 * namespace (nvme2n1) whose EUI-64 only Identify Namespace reports.
 */
void fake_nvme_install(struct ublkit_ctx *ctx);
/* The health log nvme0 reports: what fake_nvme_install()'s source returns. */
extern const unsigned char fake_nvme_smart_log[512];
/* Make the next health read fail with @r (0: succeed again). */
void fake_nvme_fail_health(int r);

#endif
