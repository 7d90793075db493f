/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libublkit: NVMe namespaces as libnvme (the library behind nvme-cli)
 * sees them: topology, identity, health, and who holds what.
 *
 * ublkit_nvme_scan() takes one snapshot of the topology (host ->
 * subsystems -> controllers -> namespaces, with the per-controller paths
 * of multipath namespaces) and copies what it needs out of libnvme, so a
 * snapshot holds no device open. Controllers, namespaces and paths are
 * owned by their snapshot: the pointers the getters return stay valid
 * until the snapshot's last reference is dropped. Strings a device does
 * not report are NULL, never "".
 *
 * A namespace that goes away while it is scanned (hot removal) is left
 * out of the snapshot; one that goes away later makes the calls that need
 * it fail with -ENODEV. Nothing here waits for a device that is gone.
 *
 * Every function that can fail returns 0 (or a documented value >= 0) on
 * success and a negative errno on failure.
 */
#ifndef UBLKIT_NVME_H
#define UBLKIT_NVME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ublkit/ublkit.h"
#include "ublkit/swap.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ublkit_nvme;
struct ublkit_nvme_subsys;
struct ublkit_nvme_ctrl;
struct ublkit_nvme_ns;
struct ublkit_nvme_path;

/* ---- the snapshot --------------------------------------------------- */

/*
 * Scan the running system's NVMe topology through libnvme. @flags: 0.
 * Namespaces come sorted by subsystem (nvme-subsys0, nvme-subsys1, ...),
 * then nsid; controllers by name.
 * Returns 0 (an empty snapshot when there is no NVMe device or the nvme
 * driver is not loaded), -EXDEV when the context has a sysroot (libnvme
 * reads /sys and /dev of the running system itself), -ENOMEM.
 */
int ublkit_nvme_scan(struct ublkit_ctx *ctx, unsigned int flags, struct ublkit_nvme **ret);
struct ublkit_nvme *ublkit_nvme_ref(struct ublkit_nvme *n);
/* Takes NULL; always returns NULL. */
struct ublkit_nvme *ublkit_nvme_unref(struct ublkit_nvme *n);

/* The host: its NQN and host ID as libnvme reads them; either may be NULL. */
const char *ublkit_nvme_get_hostnqn(const struct ublkit_nvme *n);
const char *ublkit_nvme_get_hostid(const struct ublkit_nvme *n);

size_t ublkit_nvme_get_subsys_count(const struct ublkit_nvme *n);
/* NULL past the last. */
struct ublkit_nvme_subsys *ublkit_nvme_get_subsys(const struct ublkit_nvme *n, size_t i);
size_t ublkit_nvme_get_ctrl_count(const struct ublkit_nvme *n);
struct ublkit_nvme_ctrl *ublkit_nvme_get_ctrl(const struct ublkit_nvme *n, size_t i);
size_t ublkit_nvme_get_ns_count(const struct ublkit_nvme *n);
struct ublkit_nvme_ns *ublkit_nvme_get_ns(const struct ublkit_nvme *n, size_t i);

/*
 * The namespace @what names: its block device ("/dev/nvme0n1" or
 * "nvme0n1"), a symlink to it (/dev/disk/by-id/..., resolved on the
 * running system), its generic character device ("/dev/ng0n1"), or its
 * identity string. NULL when none matches.
 */
struct ublkit_nvme_ns *ublkit_nvme_find_ns(const struct ublkit_nvme *n, const char *what);

/* ---- subsystems ----------------------------------------------------- */

const char *ublkit_nvme_subsys_get_name(const struct ublkit_nvme_subsys *s);	/* nvme-subsys0 */
const char *ublkit_nvme_subsys_get_nqn(const struct ublkit_nvme_subsys *s);
/* "nvm" or "discovery". */
const char *ublkit_nvme_subsys_get_type(const struct ublkit_nvme_subsys *s);

/* ---- controllers ---------------------------------------------------- */

const char *ublkit_nvme_ctrl_get_name(const struct ublkit_nvme_ctrl *c);	/* nvme0 */
const char *ublkit_nvme_ctrl_get_model(const struct ublkit_nvme_ctrl *c);
const char *ublkit_nvme_ctrl_get_serial(const struct ublkit_nvme_ctrl *c);
const char *ublkit_nvme_ctrl_get_firmware(const struct ublkit_nvme_ctrl *c);
/* "pcie", "tcp", "rdma", "fc", "loop". */
const char *ublkit_nvme_ctrl_get_transport(const struct ublkit_nvme_ctrl *c);
/* The kernel's address string: a PCI address ("0000:00:04.0") for pcie,
 * "traddr=...,trsvcid=..." for fabrics; NULL for loop. */
const char *ublkit_nvme_ctrl_get_address(const struct ublkit_nvme_ctrl *c);
/* "live", "connecting", "resetting", "deleting", "dead", ... */
const char *ublkit_nvme_ctrl_get_state(const struct ublkit_nvme_ctrl *c);
const char *ublkit_nvme_ctrl_get_subsysnqn(const struct ublkit_nvme_ctrl *c);
struct ublkit_nvme_subsys *ublkit_nvme_ctrl_get_subsys(const struct ublkit_nvme_ctrl *c);

/* ---- namespaces ----------------------------------------------------- */

/* How the identity string of a namespace was made, best first. */
enum ublkit_nvme_id_kind {
	UBLKIT_NVME_ID_NGUID = 0,	/* "nguid.<32 hex digits>" */
	UBLKIT_NVME_ID_EUI64 = 1,	/* "eui64.<16 hex digits>" */
	UBLKIT_NVME_ID_UUID = 2,	/* "uuid.<8-4-4-4-12>" */
	UBLKIT_NVME_ID_NQN_NSID = 3,	/* "nsid.<N>.<subsystem NQN>" */
};

const char *ublkit_nvme_ns_get_name(const struct ublkit_nvme_ns *ns);	/* nvme0n1 */
const char *ublkit_nvme_ns_get_block_device(const struct ublkit_nvme_ns *ns);	/* /dev/nvme0n1 */
/* The generic character device (/dev/ng0n1), or NULL. */
const char *ublkit_nvme_ns_get_generic_device(const struct ublkit_nvme_ns *ns);
uint32_t ublkit_nvme_ns_get_nsid(const struct ublkit_nvme_ns *ns);
uint64_t ublkit_nvme_ns_get_size(const struct ublkit_nvme_ns *ns);		/* bytes */
uint32_t ublkit_nvme_ns_get_lba_size(const struct ublkit_nvme_ns *ns);	/* bytes */
uint64_t ublkit_nvme_ns_get_lba_count(const struct ublkit_nvme_ns *ns);
/* Logical blocks in use (NUSE); as large as the lba count on most drives. */
uint64_t ublkit_nvme_ns_get_lba_used(const struct ublkit_nvme_ns *ns);
/* The identifiers, as lower-case hex ("0123...") or a UUID string; NULL
 * when the namespace has none (all zeroes). */
const char *ublkit_nvme_ns_get_nguid(const struct ublkit_nvme_ns *ns);
const char *ublkit_nvme_ns_get_eui64(const struct ublkit_nvme_ns *ns);
const char *ublkit_nvme_ns_get_uuid(const struct ublkit_nvme_ns *ns);
/*
 * A stable identity for matching and for naming what ublkit creates on
 * the namespace: from its NGUID, else its EUI-64, else its UUID, else
 * its subsystem's NQN and its nsid (see enum ublkit_nvme_id_kind). It
 * names no controller or device node, so it survives reboots and
 * renumbering. An identifier that two namespaces of the snapshot share
 * (firmware that hands out one EUI-64 to every drive) is not used.
 * Characters: [A-Za-z0-9.:_-].
 */
const char *ublkit_nvme_ns_get_identity(const struct ublkit_nvme_ns *ns);
int ublkit_nvme_ns_get_identity_kind(const struct ublkit_nvme_ns *ns);
/* "nguid", "eui64", "uuid", "nqn-nsid"; NULL for an unknown kind. */
const char *ublkit_nvme_id_kind_name(int kind);

struct ublkit_nvme_subsys *ublkit_nvme_ns_get_subsys(const struct ublkit_nvme_ns *ns);
/*
 * The controller the namespace is reached through: for a multipath
 * namespace the controller of its first live path (of its first path
 * when none is live), else the one it hangs off. NULL when it has none.
 */
struct ublkit_nvme_ctrl *ublkit_nvme_ns_get_ctrl(const struct ublkit_nvme_ns *ns);
/* Model, serial and firmware of that controller (NULL without one). */
const char *ublkit_nvme_ns_get_model(const struct ublkit_nvme_ns *ns);
const char *ublkit_nvme_ns_get_serial(const struct ublkit_nvme_ns *ns);
const char *ublkit_nvme_ns_get_firmware(const struct ublkit_nvme_ns *ns);

/* Multipath: the per-controller paths (nvme0c0n1); none for a namespace
 * that is not shared. */
size_t ublkit_nvme_ns_get_path_count(const struct ublkit_nvme_ns *ns);
struct ublkit_nvme_path *ublkit_nvme_ns_get_path(const struct ublkit_nvme_ns *ns, size_t i);
const char *ublkit_nvme_path_get_name(const struct ublkit_nvme_path *p);
/* "optimized", "non-optimized", "inaccessible", ... */
const char *ublkit_nvme_path_get_ana_state(const struct ublkit_nvme_path *p);
struct ublkit_nvme_ctrl *ublkit_nvme_path_get_ctrl(const struct ublkit_nvme_path *p);

/* ---- may ublkit take this namespace? -------------------------------- */

/*
 * Who holds @ns now: ublkit_blockdev_check() on its block device (mounted
 * directly or through a partition, active swap, dm/md holders, an
 * exclusive opener such as a ublk server, partitions, a file system /
 * RAID / LVM / crypto / swap signature found by libblkid). Returns 0 when
 * ublkit may take it, -EBUSY in use, -EEXIST it holds data (@flags as
 * for ublkit_blockdev_check(): UBLKIT_BLOCKDEV_FORCE,
 * UBLKIT_BLOCKDEV_ALLOW_SWAP), -ENODEV when its block device is gone or
 * now is another namespace (renumbered since the scan). @u (may be NULL)
 * gets what was found and a reason that says why not and what to do.
 */
int ublkit_nvme_ns_check(struct ublkit_ctx *ctx, const struct ublkit_nvme_ns *ns,
			 unsigned int flags, struct ublkit_blockdev_usage *u);

/* ---- health --------------------------------------------------------- */

/* Critical warning bits of the SMART / health log (NVMe base spec). */
#define UBLKIT_NVME_WARN_SPARE (1u << 0)	/* available spare below its threshold */
#define UBLKIT_NVME_WARN_TEMPERATURE (1u << 1)	/* over or under a temperature threshold */
#define UBLKIT_NVME_WARN_DEGRADED (1u << 2)	/* reliability degraded by media errors */
#define UBLKIT_NVME_WARN_READ_ONLY (1u << 3)	/* media placed in read-only mode */
#define UBLKIT_NVME_WARN_VOLATILE_BACKUP (1u << 4)	/* volatile memory backup failed */
#define UBLKIT_NVME_WARN_PMR_READ_ONLY (1u << 5)	/* persistent memory region read-only */

/* "spare", "temperature", "degraded", "read-only", "volatile-backup",
 * "pmr-read-only" for one bit; NULL for anything else. */
const char *ublkit_nvme_warning_name(unsigned int bit);

/* The controller's SMART / health log (log page 02h, all namespaces). */
struct ublkit_nvme_health {
	uint8_t critical_warning;	/* UBLKIT_NVME_WARN_* */
	uint16_t temperature;		/* composite, Kelvin (0: not reported) */
	uint8_t available_spare;	/* percent */
	uint8_t available_spare_threshold;	/* percent */
	uint8_t percentage_used;	/* may exceed 100 */
	uint8_t endurance_group_warning;	/* summary of endurance group warnings */
	/* The log's counters are 128 bits wide; these saturate at UINT64_MAX. */
	uint64_t data_units_read;	/* thousands of 512-byte units */
	uint64_t data_units_written;
	uint64_t host_read_commands;
	uint64_t host_write_commands;
	uint64_t controller_busy_time;	/* minutes */
	uint64_t power_cycles;
	uint64_t power_on_hours;
	uint64_t unsafe_shutdowns;
	uint64_t media_errors;
	uint64_t error_log_entries;
	uint32_t warning_temperature_time;	/* minutes */
	uint32_t critical_temperature_time;	/* minutes */
	uint16_t temperature_sensor[8];	/* Kelvin, 0: no such sensor */
};

/*
 * Read the health log of @c through libnvme. The controller is opened
 * by name and its Identify Controller must still show the serial and
 * model of the snapshot, else -ENODEV (gone, or the name now belongs to
 * another controller). -EXDEV with a sysroot, -EPERM/-EACCES without the
 * right to open it, -EIO when the controller fails the command.
 * @h is filled up to @size bytes (the caller's sizeof, see the macro).
 */
int ublkit_nvme_ctrl_read_health_sz(struct ublkit_ctx *ctx, const struct ublkit_nvme_ctrl *c,
				    struct ublkit_nvme_health *h, size_t size);
#define ublkit_nvme_ctrl_read_health(ctx, c, h) \
	ublkit_nvme_ctrl_read_health_sz((ctx), (c), (h), sizeof(*(h)))

/*
 * Is this drive healthy enough to provision on? False when a critical
 * warning is set, the available spare is below its threshold, or the
 * percentage used is above @max_percent_used (0-255; 255 accepts any
 * wear). @reason (may be NULL, @reason_size bytes) gets a sentence either
 * way.
 */
bool ublkit_nvme_health_ok_sz(const struct ublkit_nvme_health *h, size_t size,
			      unsigned int max_percent_used, char *reason, size_t reason_size);
#define ublkit_nvme_health_ok(h, max_percent_used, reason, reason_size) \
	ublkit_nvme_health_ok_sz((h), sizeof(*(h)), (max_percent_used), (reason), (reason_size))

#ifdef __cplusplus
}
#endif
#endif
