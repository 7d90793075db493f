/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libublkit: device-mapper devices, through libdevmapper.
 *
 * ublkit turns block devices (NVMe namespaces, mostly) into dm devices of
 * a few kinds: linear, striped, crypt (a fresh random key, for swap),
 * thin-pool and thin, and cache. A table is built by a typed builder that
 * checks every size against the devices; nobody pastes table strings.
 *
 * What ublkit creates carries a DM UUID that begins with
 * UBLKIT_DM_UUID_PREFIX:
 *
 *   UBLKIT-<kind>-<ident>-<name>
 *
 * <kind> is linear, striped, crypt, pool, thin, cache or part; <ident> is
 * 16 hex digits that identify what the device sits on (a hash of the
 * underlying devices' WWIDs, DM UUIDs, or device numbers when they have
 * neither). A device without the prefix is foreign: it is listed and its
 * status is read, but no function here modifies, suspends or removes it
 * (-EPERM), whatever it is asked.
 *
 * A pool or a cache may use a range of a device for its metadata, data or
 * fast device; such a range (where the target would use the whole device)
 * becomes a linear "part", named
 * <name>-<role> (tmeta, tdata, cmeta, cfast, corig), created with its
 * owner and removed with it.
 *
 * Every operation that makes udev act (create, resume, remove) waits for
 * udev through a udev cookie, on success and on failure, so no cookie is
 * left behind. A failure between suspend and resume never leaves a device
 * suspended: the old table is put back, or else an error table of the same
 * size (I/O fails instead of hanging), or else the device is removed.
 *
 * libdevmapper logs through a process-wide function. The first use of
 * this API installs one that hands libdevmapper's messages to the log of
 * the context that made the call (as debug or warning lines) and keeps
 * them off stderr; a program that installs its own with
 * dm_log_with_errno_init() afterwards takes them over. libdevmapper's
 * state (its control fd, udev cookies) is process-wide: call this API
 * from one thread at a time.
 *
 * Sizes are in 512-byte sectors, named so. Every function returns 0 (or
 * a documented value >= 0) on success and a negative errno on failure:
 * -ENODEV no such device, -EEXIST the name is taken, -EPERM a foreign
 * device, -EBUSY in use (ublkit_dm_get_holder() says by whom), -ENOENT
 * the kernel lacks the target's module, -ERANGE a size does not fit.
 */
#ifndef UBLKIT_DM_H
#define UBLKIT_DM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ublkit/ublkit.h"

#ifdef __cplusplus
extern "C" {
#endif

#define UBLKIT_DM_UUID_PREFIX "UBLKIT-"
/* Longest name ublkit gives a device (the UUID must hold it, and a part's suffix). */
#define UBLKIT_DM_NAME_MAX 96
/* ublkit_dm_name_check(): the name is for a device to be created. */
#define UBLKIT_DM_NAME_CREATE (1u << 0)

/*
 * Whether @name can name a device-mapper device: what the kernel takes
 * (1 to 127 bytes, no '/', not ".", ".." or "control") without control
 * characters; with UBLKIT_DM_NAME_CREATE, what ublkit gives a device it
 * creates (1 to UBLKIT_DM_NAME_MAX letters, digits and _.+-, not starting
 * with '.' or '-'). 0, or -EINVAL with a logged message that says what
 * is allowed. Every function here that takes a name checks it this way
 * before it asks the kernel.
 */
int ublkit_dm_name_check(struct ublkit_ctx *ctx, const char *name, unsigned int flags);

/* Most devices a striped table spans. */
#define UBLKIT_DM_MAX_STRIPES 16

enum ublkit_dm_kind {
	UBLKIT_DM_UNKNOWN = 0,		/* foreign, or a target ublkit does not build */
	UBLKIT_DM_LINEAR = 1,
	UBLKIT_DM_STRIPED = 2,
	UBLKIT_DM_CRYPT = 3,
	UBLKIT_DM_THIN_POOL = 4,
	UBLKIT_DM_THIN = 5,
	UBLKIT_DM_CACHE = 6,
	UBLKIT_DM_PART = 7,		/* a range used by a pool or a cache (linear) */
};

/* "linear", "striped", "crypt", "thin-pool", "thin", "cache", "part", "unknown";
 * NULL for a number out of range. */
const char *ublkit_dm_kind_name(int kind);
/* The names above (also "thinpool", "pool"); -EINVAL otherwise. */
int ublkit_dm_kind_from_string(const char *s);

/* True when @uuid (may be NULL) is one that ublkit gave. */
bool ublkit_dm_uuid_is_ublkit(const char *uuid);

/* ---- tables ----------------------------------------------------------- */

/*
 * A range of a block device. @device is a path ("/dev/nvme0n1",
 * "/dev/mapper/x") or "MAJOR:MINOR"; @length_sectors 0 means up to the end
 * of the device. This struct is complete and never grows.
 */
struct ublkit_dm_range {
	const char *device;
	uint64_t offset_sectors;
	uint64_t length_sectors;
};

enum ublkit_dm_cache_mode {
	UBLKIT_DM_CACHE_WRITETHROUGH = 0,	/* the default */
	UBLKIT_DM_CACHE_WRITEBACK = 1,
	UBLKIT_DM_CACHE_PASSTHROUGH = 2,
};

/* Defaults of the builders (0 in their arguments picks them). */
#define UBLKIT_DM_STRIPE_CHUNK_DEFAULT 128		/* 64 KiB */
#define UBLKIT_DM_POOL_BLOCK_DEFAULT 128		/* 64 KiB */
#define UBLKIT_DM_CACHE_BLOCK_DEFAULT 128		/* 64 KiB */

/* What the builders accept, in sectors: a stripe chunk is a power of two
 * of at least UBLKIT_DM_STRIPE_CHUNK_MIN; a block is a multiple of its
 * unit up to UBLKIT_DM_BLOCK_MAX. */
#define UBLKIT_DM_STRIPE_CHUNK_MIN 8			/* 4 KiB */
#define UBLKIT_DM_POOL_BLOCK_UNIT 128			/* 64 KiB */
#define UBLKIT_DM_CACHE_BLOCK_UNIT 64			/* 32 KiB */
#define UBLKIT_DM_BLOCK_MAX 2097152			/* 1 GiB */

/* A table: one target of one kind, the devices it uses resolved and sized. */
struct ublkit_dm_table;

struct ublkit_dm_table *ublkit_dm_table_ref(struct ublkit_dm_table *t);
/* Wipes a crypt key it still holds. Takes NULL; always returns NULL. */
struct ublkit_dm_table *ublkit_dm_table_unref(struct ublkit_dm_table *t);
int ublkit_dm_table_get_kind(const struct ublkit_dm_table *t);
/* Size of the device the table makes, in sectors. */
uint64_t ublkit_dm_table_get_size(const struct ublkit_dm_table *t);
/*
 * The table as dmsetup shows it ("0 2097152 linear 259:1 0"), a crypt key
 * as "<random key>", a part by its future name. Returns the length or
 * -ENOBUFS.
 */
int ublkit_dm_table_format(const struct ublkit_dm_table *t, char *buf, size_t size);

/* @range of one device. */
int ublkit_dm_table_linear(struct ublkit_ctx *ctx, const struct ublkit_dm_range *range,
			   struct ublkit_dm_table **ret);

/*
 * Across @n whole devices (2 to UBLKIT_DM_MAX_STRIPES), in chunks of
 * @chunk_sectors (a power of two, at least 8; 0: 64 KiB). @length_sectors
 * 0 takes what the smallest device allows (rounded down to whole chunks on
 * every device); otherwise it must be a multiple of @n chunks that fits.
 */
int ublkit_dm_table_striped(struct ublkit_ctx *ctx, const char *const *devices, unsigned int n,
			    uint64_t chunk_sectors, uint64_t length_sectors,
			    struct ublkit_dm_table **ret);

/*
 * dm-crypt (aes-xts-plain64) over @range with a fresh 512-bit key from
 * getrandom(2). The key lives only in the table's locked memory and in
 * the kernel: it is never written to a file or logged, and it is wiped
 * once the table is loaded (ublkit_dm_create() or ublkit_dm_reload(),
 * successful or not) or the table is freed. What is on the device is
 * unreadable after its removal: this is for swap and scratch space.
 */
int ublkit_dm_table_crypt(struct ublkit_ctx *ctx, const struct ublkit_dm_range *range,
			  struct ublkit_dm_table **ret);

/* Flags of ublkit_dm_table_thin_pool(). */
#define UBLKIT_DM_POOL_ERROR_IF_NO_SPACE (1u << 0)	/* fail writes at once when full */

/*
 * A thin pool: metadata on @metadata, data on @data, in blocks of
 * @block_sectors (a multiple of 128 from 128 to 2097152; 0: 64 KiB). The
 * pool signals an event when its free data blocks fall to
 * @low_water_blocks (0: none). The metadata takes its whole device, so a
 * range of one becomes a part; the pool's length bounds its data, so only
 * a data range that does not start at 0 does. The data is rounded down to
 * whole blocks. Without UBLKIT_DM_POOL_ERROR_IF_NO_SPACE, writes to a full pool
 * wait up to the kernel's no_space_timeout (dm_thin_pool module
 * parameter, 60 s) before they fail.
 */
int ublkit_dm_table_thin_pool(struct ublkit_ctx *ctx, const struct ublkit_dm_range *metadata,
			      const struct ublkit_dm_range *data, uint64_t block_sectors,
			      uint64_t low_water_blocks, unsigned int flags,
			      struct ublkit_dm_table **ret);

/*
 * A thin volume of @length_sectors in the pool named @pool (one of
 * ublkit's). ublkit_dm_create() creates the volume in the pool under
 * @thin_id, or under the next free id when @thin_id is
 * UBLKIT_DM_THIN_ID_AUTO; a @thin_id the pool has already (and no device
 * maps) is activated with its data. ublkit_dm_remove() deletes it from
 * the pool.
 */
#define UBLKIT_DM_THIN_ID_AUTO UINT32_MAX
int ublkit_dm_table_thin(struct ublkit_ctx *ctx, const char *pool, uint32_t thin_id,
			 uint64_t length_sectors, struct ublkit_dm_table **ret);

/*
 * dm-cache (smq policy): @fast caches @slow, its metadata on @metadata,
 * in blocks of @block_sectors (a multiple of 64 from 64 to 2097152; 0:
 * 64 KiB), in @mode (enum ublkit_dm_cache_mode). The device has the size
 * of @slow. Ranges of @metadata and @fast become parts, and a range of
 * @slow that does not start at 0.
 */
int ublkit_dm_table_cache(struct ublkit_ctx *ctx, const struct ublkit_dm_range *metadata,
			  const struct ublkit_dm_range *fast, const struct ublkit_dm_range *slow,
			  uint64_t block_sectors, int mode, struct ublkit_dm_table **ret);

/* ---- lifecycle -------------------------------------------------------- */

/* Flags of ublkit_dm_create(). */
#define UBLKIT_DM_READ_ONLY (1u << 0)

/*
 * Create device @name (letters, digits and "_.+-", at most
 * UBLKIT_DM_NAME_MAX bytes) with table @t and activate it: the target's
 * module is loaded, parts are created first, a thin volume is created in
 * its pool. A cache gets fresh metadata: the first 4 KiB of its metadata
 * device are zeroed (opened exclusively: a device in use is refused, not
 * overwritten). So does a thin pool, unless its metadata device holds a
 * thin pool already: that one is opened as it is, with its volumes (-EEXIST
 * when its block size or metadata size differ from @t's; it is never
 * formatted over). Returns 0 once udev has processed the
 * device (/dev/mapper/NAME exists). On failure nothing is left: no
 * device, no part, no thin volume in the pool.
 */
int ublkit_dm_create(struct ublkit_ctx *ctx, const char *name, struct ublkit_dm_table *t,
		     unsigned int flags);

/*
 * Replace the table of ublkit's device @name with @t (same kind): load it,
 * suspend, resume. When the kernel refuses the new table at resume, the
 * old one is put back and the device resumed; the error is returned.
 * Parts are not created here: @t must use whole devices.
 */
int ublkit_dm_reload(struct ublkit_ctx *ctx, const char *name, struct ublkit_dm_table *t);

/* Flags of ublkit_dm_suspend(). */
#define UBLKIT_DM_NOFLUSH (1u << 0)	/* queue I/O instead of flushing it */

/* Suspend (I/O sent to it waits) and resume ublkit's device @name. */
int ublkit_dm_suspend(struct ublkit_ctx *ctx, const char *name, unsigned int flags);
int ublkit_dm_resume(struct ublkit_ctx *ctx, const char *name);

/*
 * Remove ublkit's device @name, then its parts; a thin volume is deleted
 * from its pool. Refused with -EBUSY, before anything is touched, when the
 * device is mounted, active swap, held by another device or open in a
 * process (the log and ublkit_dm_get_holder() say which); an open that
 * udev holds for a moment is waited out.
 */
int ublkit_dm_remove(struct ublkit_ctx *ctx, const char *name, unsigned int flags);

/*
 * Who uses device @name: a sentence in @buf ("mounted on /mnt", "held by
 * dm-4 (pool0)", "open in process 812 (fio)", "active swap"). Returns 1
 * when it is in use, 0 when not (@buf empty), or -errno.
 */
int ublkit_dm_get_holder(struct ublkit_ctx *ctx, const char *name, char *buf, size_t size);

/* ---- devices ---------------------------------------------------------- */

/* One look at a dm device (any device, foreign ones included). */
struct ublkit_dm_device;

/* -ENODEV when there is no device @name. */
int ublkit_dm_device_new(struct ublkit_ctx *ctx, const char *name, struct ublkit_dm_device **ret);
struct ublkit_dm_device *ublkit_dm_device_ref(struct ublkit_dm_device *d);
/* Takes NULL; always returns NULL. */
struct ublkit_dm_device *ublkit_dm_device_unref(struct ublkit_dm_device *d);

/* Flags of ublkit_dm_list(). */
#define UBLKIT_DM_LIST_ALL (1u << 0)	/* foreign devices too */
#define UBLKIT_DM_LIST_PARTS (1u << 1)	/* ublkit's parts too */

/*
 * ublkit's devices (without parts, unless asked), sorted by name, in
 * *@ret (a malloc'ed array the caller frees after unref'ing each entry).
 * Returns how many.
 */
int ublkit_dm_list(struct ublkit_ctx *ctx, unsigned int flags, struct ublkit_dm_device ***ret);

const char *ublkit_dm_device_get_name(const struct ublkit_dm_device *d);
/* The DM UUID, "" when it has none. */
const char *ublkit_dm_device_get_uuid(const struct ublkit_dm_device *d);
/* The kind from the UUID for ublkit's devices, from the target otherwise. */
int ublkit_dm_device_get_kind(const struct ublkit_dm_device *d);
bool ublkit_dm_device_is_ublkit(const struct ublkit_dm_device *d);
/* The target type of the live table ("linear", "thin-pool", ...), "" when none. */
const char *ublkit_dm_device_get_target_type(const struct ublkit_dm_device *d);
dev_t ublkit_dm_device_get_devnum(const struct ublkit_dm_device *d);
/* "/dev/dm-N". */
const char *ublkit_dm_device_get_block_device(const struct ublkit_dm_device *d);
/* Size of the live table, in sectors. */
uint64_t ublkit_dm_device_get_size(const struct ublkit_dm_device *d);
bool ublkit_dm_device_is_suspended(const struct ublkit_dm_device *d);
bool ublkit_dm_device_is_read_only(const struct ublkit_dm_device *d);
bool ublkit_dm_device_has_live_table(const struct ublkit_dm_device *d);
bool ublkit_dm_device_has_inactive_table(const struct ublkit_dm_device *d);
int ublkit_dm_device_get_open_count(const struct ublkit_dm_device *d);
uint32_t ublkit_dm_device_get_event_nr(const struct ublkit_dm_device *d);
/* For a part: the name of the device that owns it; NULL otherwise. */
const char *ublkit_dm_device_get_owner(const struct ublkit_dm_device *d);
/* The live table as dmsetup shows it, crypt keys masked; "" when none. */
const char *ublkit_dm_device_get_table(const struct ublkit_dm_device *d);

/* ---- status ----------------------------------------------------------- */

/* The state of a device's target, parsed. */
struct ublkit_dm_status;

/* Status of device @name (any device). -ENODEV when there is none. */
int ublkit_dm_status_get(struct ublkit_ctx *ctx, const char *name, struct ublkit_dm_status **ret);
struct ublkit_dm_status *ublkit_dm_status_ref(struct ublkit_dm_status *st);
/* Takes NULL; always returns NULL. */
struct ublkit_dm_status *ublkit_dm_status_unref(struct ublkit_dm_status *st);

enum ublkit_dm_mode {
	UBLKIT_DM_MODE_NONE = 0,		/* the kind has no mode */
	/* thin pools */
	UBLKIT_DM_MODE_OK = 1,			/* read-write */
	UBLKIT_DM_MODE_OUT_OF_DATA_SPACE = 2,	/* writes to new blocks wait or fail */
	UBLKIT_DM_MODE_READ_ONLY = 3,		/* metadata trouble: needs a check */
	UBLKIT_DM_MODE_FAILED = 4,		/* the target failed (any kind) */
	/* caches */
	UBLKIT_DM_MODE_WRITETHROUGH = 5,
	UBLKIT_DM_MODE_WRITEBACK = 6,
	UBLKIT_DM_MODE_PASSTHROUGH = 7,
};

/* "none", "ok", "out-of-data-space", "read-only", "failed", "writethrough",
 * "writeback", "passthrough"; NULL out of range. */
const char *ublkit_dm_mode_name(int mode);

/* Numbers a status carries (ublkit_dm_status_get_value). */
enum ublkit_dm_value {
	UBLKIT_DM_SIZE_SECTORS = 0,		/* every kind */
	UBLKIT_DM_OFFSET_SECTORS = 1,		/* linear, crypt, part */
	UBLKIT_DM_STRIPES = 2,			/* striped */
	UBLKIT_DM_CHUNK_SECTORS = 3,		/* striped */
	UBLKIT_DM_STRIPES_FAILED = 4,		/* striped: devices marked dead */
	UBLKIT_DM_TRANSACTION_ID = 5,		/* thin-pool */
	UBLKIT_DM_DATA_BLOCK_SECTORS = 6,	/* thin-pool, cache (cache block) */
	UBLKIT_DM_DATA_USED_BLOCKS = 7,		/* thin-pool, cache */
	UBLKIT_DM_DATA_TOTAL_BLOCKS = 8,	/* thin-pool, cache */
	UBLKIT_DM_METADATA_BLOCK_SECTORS = 9,	/* thin-pool (always 8), cache */
	UBLKIT_DM_METADATA_USED_BLOCKS = 10,	/* thin-pool, cache */
	UBLKIT_DM_METADATA_TOTAL_BLOCKS = 11,	/* thin-pool, cache */
	UBLKIT_DM_LOW_WATER_BLOCKS = 12,	/* thin-pool */
	UBLKIT_DM_MAPPED_SECTORS = 13,		/* thin */
	UBLKIT_DM_HIGHEST_MAPPED_SECTOR = 14,	/* thin; absent while nothing is mapped */
	UBLKIT_DM_THIN_ID = 15,			/* thin */
	UBLKIT_DM_READ_HITS = 16,		/* cache */
	UBLKIT_DM_READ_MISSES = 17,
	UBLKIT_DM_WRITE_HITS = 18,
	UBLKIT_DM_WRITE_MISSES = 19,
	UBLKIT_DM_DEMOTIONS = 20,
	UBLKIT_DM_PROMOTIONS = 21,
	UBLKIT_DM_DIRTY_BLOCKS = 22,
};

/* "size_sectors", "data_used_blocks", ... (the enum's names in lower case
 * without the prefix); NULL past the last value. */
const char *ublkit_dm_value_name(int value);

const char *ublkit_dm_status_get_name(const struct ublkit_dm_status *st);
int ublkit_dm_status_get_kind(const struct ublkit_dm_status *st);
/* enum ublkit_dm_mode. */
int ublkit_dm_status_get_mode(const struct ublkit_dm_status *st);
/* The target reports a failure ("Fail", "Error", a failed cache or pool). */
bool ublkit_dm_status_is_failed(const struct ublkit_dm_status *st);
/* The metadata asks for thin_check / cache_check. */
bool ublkit_dm_status_needs_check(const struct ublkit_dm_status *st);
/* A thin pool's free data blocks are at or below its low-water mark. */
bool ublkit_dm_status_below_low_water(const struct ublkit_dm_status *st);
/* One number; -ENODATA when the kind does not have it, -EINVAL when unknown. */
int ublkit_dm_status_get_value(const struct ublkit_dm_status *st, int value, uint64_t *ret);

/* ---- events ----------------------------------------------------------- */

enum ublkit_dm_event_type {
	UBLKIT_DM_EVENT_ADDED = 0,		/* a device appeared */
	UBLKIT_DM_EVENT_REMOVED = 1,		/* a device went away */
	UBLKIT_DM_EVENT_CHANGED = 2,		/* its target signalled; nothing alarming seen */
	UBLKIT_DM_EVENT_LOW_WATER = 3,		/* a thin pool crossed its low-water mark */
	UBLKIT_DM_EVENT_OUT_OF_SPACE = 4,	/* a thin pool ran out of data space */
	UBLKIT_DM_EVENT_FAILED = 5,		/* the target failed, or its pool went read-only */
};

/* "added", "removed", "changed", "low-water", "out-of-space", "failed"; NULL out of range. */
const char *ublkit_dm_event_type_name(int type);

/* What a monitor hands its callback; valid during the call only. */
struct ublkit_dm_event {
	int type;			/* enum ublkit_dm_event_type */
	const char *name;
	const char *uuid;		/* "" when none */
	int kind;			/* enum ublkit_dm_kind */
	uint32_t event_nr;		/* the device's event counter */
	const struct ublkit_dm_status *status;	/* NULL for REMOVED or when unreadable */
	const char *message;		/* one sentence for people */
};

/* Return 0 to go on, or a negative errno to stop with that value. */
typedef int (*ublkit_dm_event_fn)(const struct ublkit_dm_event *e, void *userdata);

/* Follows dm events on its own file descriptor of the dm control device. */
struct ublkit_dm_monitor;

/* Flags of ublkit_dm_monitor_new(). */
#define UBLKIT_DM_MONITOR_ALL (1u << 0)	/* foreign devices too */

/*
 * Open the control device, arm it and take the event counter of every
 * device. -EXDEV with a sysroot; -ENOTSUP when the kernel's dm lacks
 * event polling (driver before 4.37).
 */
int ublkit_dm_monitor_new(struct ublkit_ctx *ctx, unsigned int flags,
			  struct ublkit_dm_monitor **ret);
struct ublkit_dm_monitor *ublkit_dm_monitor_ref(struct ublkit_dm_monitor *m);
/* Takes NULL; always returns NULL. */
struct ublkit_dm_monitor *ublkit_dm_monitor_unref(struct ublkit_dm_monitor *m);
/* Poll it for POLLIN; then call ublkit_dm_monitor_process(). */
int ublkit_dm_monitor_get_fd(const struct ublkit_dm_monitor *m);
/*
 * Re-arm, then compare every device's event counter with the last one
 * seen and call @fn for each device that changed, appeared or went away.
 * Never blocks. Returns the number of events, or what @fn returned when
 * it stopped, or -errno.
 */
int ublkit_dm_monitor_process(struct ublkit_dm_monitor *m, ublkit_dm_event_fn fn,
			      void *userdata);

#ifdef __cplusplus
}
#endif
#endif
