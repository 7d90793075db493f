/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libublkit: swap on ublk devices.
 *
 * A ublk server that backs swap must make progress while the kernel is
 * short of memory and is waiting for that very server to write pages out.
 * Hardening makes that hold: its memory is locked (it never faults on
 * swap), its threads are IO_FLUSHERs (their allocations never recurse
 * into I/O, and they are not throttled behind the writeback they serve),
 * the OOM killer leaves it alone, mount events elsewhere do not reach it,
 * and its buffers exist before the device starts.
 *
 * The rest of this header provisions swap: a swap signature, swapon and
 * swapoff, /proc/swaps, and the "may this device be formatted?" check.
 *
 * Every function returns 0 (or a documented value >= 0) on success and a
 * negative errno on failure. Reason strings name the problem and the fix;
 * tools print them as they are.
 */
#ifndef UBLKIT_SWAP_H
#define UBLKIT_SWAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ublkit/ublkit.h"
#include "ublkit/ublk.h"
#include "ublkit/doctor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- hardening profile ----------------------------------------------- */

/* How hard to insist on one measure. */
enum ublkit_harden_mode {
	UBLKIT_HARDEN_OFF = 0,		/* not attempted */
	UBLKIT_HARDEN_BEST_EFFORT = 1,	/* attempted; a failure is a warning */
	UBLKIT_HARDEN_REQUIRED = 2,	/* attempted; a failure is fatal */
};

/* The measures a profile configures. */
enum ublkit_harden_item {
	UBLKIT_HARDEN_MLOCK_CURRENT = 0,	/* mlockall(MCL_CURRENT) */
	UBLKIT_HARDEN_MLOCK_FUTURE = 1,		/* mlockall(MCL_FUTURE) */
	/*
	 * mlockall(MCL_ONFAULT): lock pages when they are first touched
	 * instead of populating every mapping at once. Saves memory for
	 * sparse mappings; a server that uses it must touch its buffers
	 * before the device starts (see ublkit_harden_profile_set_preallocated).
	 */
	UBLKIT_HARDEN_MLOCK_ONFAULT = 2,
	UBLKIT_HARDEN_IO_FLUSHER = 3,		/* prctl(PR_SET_IO_FLUSHER, 1) */
	UBLKIT_HARDEN_OOM_PROTECT = 4,		/* oom_score_adj = -1000 */
	UBLKIT_HARDEN_PRIVATE_MOUNTS = 5,	/* unshare(CLONE_NEWNS), / rprivate */
};

struct ublkit_harden_profile;

/*
 * A profile with every measure a swap server needs (mlock current and
 * future, IO_FLUSHER, OOM protection, private mounts) set to @mode, and
 * MLOCK_ONFAULT off. Buffers are not declared preallocated.
 */
int ublkit_harden_profile_new(struct ublkit_harden_profile **ret, int mode);
struct ublkit_harden_profile *ublkit_harden_profile_ref(struct ublkit_harden_profile *p);
/* Takes NULL; always returns NULL. */
struct ublkit_harden_profile *ublkit_harden_profile_unref(struct ublkit_harden_profile *p);
/* Set one measure. -EINVAL for an unknown item or mode. */
int ublkit_harden_profile_set(struct ublkit_harden_profile *p, int item, int mode);
/* The mode of one measure, or -EINVAL. */
int ublkit_harden_profile_get(const struct ublkit_harden_profile *p, int item);
/*
 * The server declares that its I/O buffers, rings and descriptor maps
 * are allocated (and touched) before the device starts and that nothing
 * is allocated on its I/O path, its backing's blocks included. Not
 * observable from /proc: the report shows what the server declared.
 * ublkit's own servers declare what their target found when it opened
 * its backing (a block device, or a preallocated file on a disk, opened
 * O_DIRECT); ublkit_device_inspect_hardening() checks the backing again.
 */
void ublkit_harden_profile_set_preallocated(struct ublkit_harden_profile *p, bool preallocated);
bool ublkit_harden_profile_get_preallocated(const struct ublkit_harden_profile *p);

/* "mlock-current", "mlock-future", "mlock-onfault", "io-flusher",
 * "oom-protect", "private-mounts"; NULL past the last item. */
const char *ublkit_harden_item_name(int item);
/* "off", "best-effort", "required"; NULL for an unknown mode. */
const char *ublkit_harden_mode_name(int mode);
/* Parses the names above (also "yes"/"no"); -EINVAL otherwise. */
int ublkit_harden_mode_from_string(const char *s);

/* ---- hardening report ------------------------------------------------ */

/* What a report judges, each from the process's entries in /proc. */
enum ublkit_guarantee {
	/* VmLck covers VmRSS and nothing is in swap (/proc/PID/status) */
	UBLKIT_GUARANTEE_MEMORY_LOCKED = 0,
	/* every thread has PF_MEMALLOC_NOIO and PF_LOCAL_THROTTLE
	 * (/proc/PID/task/TID/stat, field 9) */
	UBLKIT_GUARANTEE_IO_FLUSHER = 1,
	/* /proc/PID/oom_score_adj is -1000 */
	UBLKIT_GUARANTEE_OOM_PROTECTED = 2,
	/* a mount namespace of its own (/proc/PID/ns/mnt differs from
	 * /proc/1/ns/mnt), shared by all its threads, in which no mount
	 * propagates events ("shared:" in /proc/PID/mountinfo) */
	UBLKIT_GUARANTEE_PRIVATE_MOUNTS = 3,
	/* buffers and backing preallocated, as the server declared in its
	 * profile (for ublkit's servers: what the target checked) */
	UBLKIT_GUARANTEE_PREALLOCATED = 4,
};

enum ublkit_guarantee_state {
	UBLKIT_GUARANTEE_NOT_HELD = 0,
	UBLKIT_GUARANTEE_HELD = 1,
	UBLKIT_GUARANTEE_NOT_APPLICABLE = 2,	/* cannot be judged here; the reason says why */
};

/* Numbers a report carries (ublkit_harden_report_get_value). */
enum ublkit_harden_value {
	UBLKIT_HARDEN_VALUE_VM_LOCKED = 0,	/* bytes, VmLck */
	UBLKIT_HARDEN_VALUE_VM_RSS = 1,		/* bytes, VmRSS */
	UBLKIT_HARDEN_VALUE_VM_SWAP = 2,	/* bytes, VmSwap */
	UBLKIT_HARDEN_VALUE_OOM_SCORE_ADJ = 3,
	UBLKIT_HARDEN_VALUE_THREADS = 4,	/* threads seen */
	UBLKIT_HARDEN_VALUE_IO_FLUSHER_THREADS = 5,	/* of which IO_FLUSHERs */
};

struct ublkit_harden_report;

struct ublkit_harden_report *ublkit_harden_report_ref(struct ublkit_harden_report *r);
/* Takes NULL; always returns NULL. */
struct ublkit_harden_report *ublkit_harden_report_unref(struct ublkit_harden_report *r);
pid_t ublkit_harden_report_get_pid(const struct ublkit_harden_report *r);
/*
 * True when every guarantee is held (or not applicable). @reason (may be
 * NULL) receives a sentence that lists what is missing and how to fix it,
 * or says that all guarantees hold; valid as long as the report.
 */
bool ublkit_harden_report_is_swap_safe(const struct ublkit_harden_report *r,
				       const char **reason);
/* State of one guarantee (enum ublkit_guarantee_state) or -EINVAL.
 * @reason (may be NULL) receives what was seen and, if not held, the fix. */
int ublkit_harden_report_get(const struct ublkit_harden_report *r, int guarantee,
			     const char **reason);
/* One number; -ENODATA when it could not be read, -EINVAL when unknown. */
int ublkit_harden_report_get_value(const struct ublkit_harden_report *r, int value,
				   int64_t *ret);
/* "memory-locked", "io-flusher", "oom-protected", "private-mounts",
 * "preallocated"; NULL past the last guarantee. */
const char *ublkit_guarantee_name(int guarantee);
/* "held", "not-held", "n/a"; NULL for an unknown state. */
const char *ublkit_guarantee_state_name(int state);

/*
 * Harden the calling process as @profile says (NULL: every measure
 * required). For the server process that backs swap: call it once, early,
 * before creating threads or io_uring instances (a new mount namespace
 * would hold only the calling thread, so PRIVATE_MOUNTS fails with -EINVAL
 * in a process with threads); threads created later inherit IO_FLUSHER
 * and the namespace, and MCL_FUTURE locks what is mapped later. Then
 * allocate and touch the buffers, then START_DEV.
 *
 * Returns 0 when every REQUIRED measure is in force (BEST_EFFORT ones
 * that failed are logged as warnings and reported not held), -EXDEV when
 * the context has a sysroot, otherwise the -errno of the first REQUIRED
 * measure that failed (-EPERM missing capability, -ENOMEM memlock limit,
 * -EINVAL unsupported by the kernel or the process has threads,
 * -ENOTRECOVERABLE the measure succeeded but /proc shows it not held).
 * On success and on a failed measure, *@ret (if @ret is not NULL) holds
 * the report of the process afterwards, whose reasons say what failed and
 * how to fix it; the caller unrefs it.
 */
int ublkit_harden_apply(struct ublkit_ctx *ctx, const struct ublkit_harden_profile *profile,
			struct ublkit_harden_report **ret);

/*
 * Make the calling thread an IO_FLUSHER (prctl(PR_SET_IO_FLUSHER, 1)).
 * For threads that existed before ublkit_harden_apply(); later ones
 * inherit it. @ctx may be NULL (nothing is logged then). Returns 0,
 * -EPERM without CAP_SYS_RESOURCE, -EINVAL on kernels before 5.6.
 */
int ublkit_harden_thread(struct ublkit_ctx *ctx);

/*
 * Judge process @pid (0: the caller) from /proc, through the sysroot.
 * @declared is the profile the server ran with, if known (for the
 * preallocation it declared); NULL leaves PREALLOCATED not applicable.
 * -ESRCH when the process does not exist.
 */
int ublkit_harden_inspect(struct ublkit_ctx *ctx, pid_t pid,
			  const struct ublkit_harden_profile *declared,
			  struct ublkit_harden_report **ret);

/*
 * Could this system run a swap-safe server? Reports, like ublkit_doctor(),
 * the checks "swap-memlock" (CAP_IPC_LOCK or RLIMIT_MEMLOCK),
 * "swap-io-flusher" (kernel >= 5.6 and CAP_SYS_RESOURCE), "swap-oom"
 * (CAP_SYS_RESOURCE), "swap-mounts" (CAP_SYS_ADMIN), "swap-io-uring"
 * (kernel.io_uring_disabled) and "swap-support" (/proc/swaps). FAIL means
 * a profile that requires the measure would fail. The capabilities and
 * limits are the calling process's: a server started by a unit gets the
 * unit's. Returns the worst level, or -errno.
 */
int ublkit_harden_preflight(struct ublkit_ctx *ctx, ublkit_check_fn fn, void *userdata);

/* ---- may this device be formatted? ----------------------------------- */

/* Flags of ublkit_blockdev_check() and ublkit_swap_format(). */
#define UBLKIT_BLOCKDEV_FORCE (1u << 0)		/* overwrite a signature or partitions */
#define UBLKIT_BLOCKDEV_ALLOW_SWAP (1u << 1)	/* an inactive swap signature is no data */

/* What ublkit_blockdev_check() found (struct ublkit_blockdev_usage.found). */
#define UBLKIT_BLOCKDEV_SIGNATURE (1u << 0)	/* a file system, RAID, LVM, crypto, swap... */
#define UBLKIT_BLOCKDEV_PARTITIONS (1u << 1)	/* a partition table or partitions */
#define UBLKIT_BLOCKDEV_MOUNTED (1u << 2)	/* it or one of its partitions */
#define UBLKIT_BLOCKDEV_ACTIVE_SWAP (1u << 3)	/* it or one of its partitions */
#define UBLKIT_BLOCKDEV_HELD (1u << 4)		/* dm/md holders, loop, exclusive opener */

struct ublkit_blockdev_usage {
	uint32_t struct_size;	/* set by ublkit_blockdev_usage_init() */
	bool may_format;
	uint32_t found;		/* UBLKIT_BLOCKDEV_* */
	char type[32];		/* blkid TYPE or PTTYPE of the signature, "" if none */
	char usage[32];		/* blkid USAGE: filesystem, raid, crypto, other */
	char label[128];	/* LABEL of the signature, "" if none */
	char uuid[64];		/* UUID of the signature, "" if none */
	char holder[64];	/* mount point, holder or partition that is in use */
	char reason[512];	/* why it may not be formatted, or what force overrides */
};

void ublkit_blockdev_usage_init(struct ublkit_blockdev_usage *u);

/*
 * May ublkit format @path (a block device or a regular file, as on the
 * running system; mapped through the sysroot)? Returns 0 when it may,
 * -EBUSY when it is in use (mounted, active swap, held by dm/md/loop or
 * opened exclusively; no flag overrides that), -EEXIST when it carries a
 * signature or partitions and @flags lacks UBLKIT_BLOCKDEV_FORCE, or
 * another -errno (-ENOENT, -EINVAL: neither block device nor file).
 * @u (may be NULL; initialised with ublkit_blockdev_usage_init()) is
 * filled in every case; with FORCE, its reason names what will be lost.
 */
int ublkit_blockdev_check(struct ublkit_ctx *ctx, const char *path, unsigned int flags,
			  struct ublkit_blockdev_usage *u);

/* ---- swap signature -------------------------------------------------- */

#define UBLKIT_SWAP_LABEL_MAX 16	/* bytes, without a terminating NUL */
#define UBLKIT_UUID_STRING_MAX 37	/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" + NUL */

/*
 * Whether @label can be a swap label: NULL or "" (none), or 1 to
 * UBLKIT_SWAP_LABEL_MAX bytes without '/' or control characters, and not
 * "." or ".." (udev makes it a name in /dev/disk/by-label). 0, or -EINVAL
 * with a logged message that says what is allowed.
 */
int ublkit_swap_label_check(struct ublkit_ctx *ctx, const char *label);

/*
 * Write a swap area signature as mkswap(8) does (v1 header in the first
 * page of sysconf(_SC_PAGESIZE) bytes, "SWAPSPACE2", a random version 4
 * UUID, no bad pages) over the whole of @fd (a block device or regular
 * file opened read-write), after wiping every signature libblkid finds
 * and zeroing the rest of the first page. @label: NULL or "" for none, at
 * ublkit_swap_label_check() is what is allowed (-EINVAL).
 * -ENOSPC when smaller than 10 pages. @uuid (may be NULL) receives the
 * UUID. Does not check what the device holds: see ublkit_swap_format().
 */
int ublkit_swap_format_fd(struct ublkit_ctx *ctx, int fd, const char *label,
			  char uuid[UBLKIT_UUID_STRING_MAX]);

/*
 * ublkit_blockdev_check(@path, @flags) and, when it allows it, open
 * @path (exclusively if a block device) and ublkit_swap_format_fd().
 */
int ublkit_swap_format(struct ublkit_ctx *ctx, const char *path, const char *label,
		       unsigned int flags, char uuid[UBLKIT_UUID_STRING_MAX]);

/* ---- swapon, swapoff, /proc/swaps ------------------------------------ */

#define UBLKIT_SWAP_PRIORITY_DEFAULT (-1)	/* let the kernel choose */
#define UBLKIT_SWAP_PRIORITY_MAX 32767

/* Flags of ublkit_swap_on(). */
#define UBLKIT_SWAP_DISCARD (1u << 0)		/* discard at swapon and freed pages */
#define UBLKIT_SWAP_DISCARD_ONCE (1u << 1)	/* discard the whole area at swapon only */
#define UBLKIT_SWAP_DISCARD_PAGES (1u << 2)	/* discard freed pages only */

/*
 * swapon(2) @dev (a path on the running system) with @priority 0..32767
 * or UBLKIT_SWAP_PRIORITY_DEFAULT. -EXDEV with a sysroot, -EPERM without
 * CAP_SYS_ADMIN, -EINVAL when @dev holds no swap signature, -EBUSY when
 * it is active already.
 */
int ublkit_swap_on(struct ublkit_ctx *ctx, const char *dev, int priority, unsigned int flags);

struct ublkit_swapoff_estimate {
	uint32_t struct_size;		/* set by ublkit_swapoff_estimate_init() */
	bool fits;			/* swapoff can bring the pages back */
	uint64_t used;			/* bytes of the area in use */
	uint64_t mem_available;		/* MemAvailable */
	uint64_t other_swap_free;	/* free bytes on the other active areas */
	uint64_t margin;		/* kept free on top of @used */
	char reason[256];
};

void ublkit_swapoff_estimate_init(struct ublkit_swapoff_estimate *e);

/*
 * Can the pages on active swap area @dev go back into memory? They fit
 * when used + margin <= MemAvailable + free swap on the other areas. The
 * margin is 64 MiB plus 1/32 of MemTotal: MemAvailable is an estimate
 * (not all page cache it counts is reclaimable), swapoff allocates page
 * tables and swap cache of its own, and the system keeps allocating while
 * it runs. An area with nothing in use always fits.
 * Returns 0 when it fits, -ENOMEM when not, -ENOENT when @dev is not an
 * active swap area. @e (may be NULL) receives the numbers and a reason.
 */
int ublkit_swap_off_check(struct ublkit_ctx *ctx, const char *dev,
			  struct ublkit_swapoff_estimate *e);

#define UBLKIT_SWAP_OFF_FORCE (1u << 0)	/* skip ublkit_swap_off_check() */

/*
 * swapoff(2) @dev, after ublkit_swap_off_check() unless @flags has
 * UBLKIT_SWAP_OFF_FORCE: a swapoff whose pages do not fit makes the kernel
 * OOM-kill processes instead of failing. -ENOMEM (refused, or swapoff(2)
 * itself ran out of memory), -ENOENT not an active area (off already: no
 * error is logged), -EXDEV with a sysroot, -EPERM. When swapoff(2) fails,
 * @e->reason says so (with its error) instead of what the check found.
 */
int ublkit_swap_off(struct ublkit_ctx *ctx, const char *dev, unsigned int flags,
		    struct ublkit_swapoff_estimate *e);

/* One active swap area, as /proc/swaps lists it. */
struct ublkit_swap_area {
	const char *path;	/* unescaped; " (deleted)" kept as the kernel writes it */
	const char *type;	/* "partition" or "file" */
	uint64_t size;		/* bytes */
	uint64_t used;		/* bytes */
	int priority;
};

/* Return 0 to go on, or a negative errno to stop the walk with that value. */
typedef int (*ublkit_swap_area_fn)(const struct ublkit_swap_area *area, void *userdata);

/*
 * Call @fn (may be NULL) for every active swap area. Returns the number
 * of areas, what @fn returned when it stopped the walk, -ENOENT when the
 * kernel has no swap support (no /proc/swaps), or another -errno.
 */
int ublkit_swap_list(struct ublkit_ctx *ctx, ublkit_swap_area_fn fn, void *userdata);

/* ---- swap on ublk devices --------------------------------------------- */

/* Flags of ublkit_swap_ublk_on(), with the UBLKIT_SWAP_DISCARD* ones. */
#define UBLKIT_SWAP_FORCE (1u << 8)		/* overwrite a signature on the backing device */
#define UBLKIT_SWAP_ROOT_STORAGE (1u << 9)	/* the server is root storage ('@' argv[0]) */
/*
 * A backing file that does not exist is created (mode 0600) with
 * params.size bytes, all of them allocated (fallocate), and removed again
 * when swap cannot be turned on. A file system that cannot preallocate
 * (or keeps files in memory) is refused.
 */
#define UBLKIT_SWAP_CREATE (1u << 10)

/*
 * Swap on a new ublk device: check that the backing file or device
 * (@target_arg) holds nothing of value (ublkit_blockdev_check(); a swap
 * signature with the same @label counts as nothing; UBLKIT_SWAP_FORCE
 * overwrites other signatures but never touches a device in use), start
 * a hardened server (@params with UBLKIT_DEV_SWAP added; the server
 * refuses to start when a required measure fails, with the fix in the
 * log), write a swap signature (@label, default "ublkit-swap") and
 * swapon with @priority. A regular file must be on a disk file system
 * (not tmpfs or ramfs) and preallocated (no holes, no blocks shared with
 * another file), and the server opens it O_DIRECT: writing a swapped-out
 * page must never need memory. params.size (0: all of it) may not exceed
 * the backing. Returns 0 with @res filled in; on failure nothing is
 * left: no device, no server, no swap, no swap signature (the first page
 * is written back as it was), no file it created.
 */
int ublkit_swap_ublk_on_sz(struct ublkit_ctx *ctx, const struct ublkit_dev_params *params,
			   size_t params_size, const char *target, const char *target_arg,
			   const char *label, int priority, unsigned int flags,
			   struct ublkit_spawn_result *res, size_t res_size);
#define ublkit_swap_ublk_on(ctx, params, target, target_arg, label, priority, flags, res)       \
	ublkit_swap_ublk_on_sz((ctx), (params), sizeof(*(params)), (target), (target_arg),       \
			       (label), (priority), (flags), (res), sizeof(*(res)))

/*
 * swapoff the swap area on ublk device @id (a swap device of ublkit's,
 * else -EINVAL), then remove the device (also when swap was off already).
 * When swapoff is refused (-ENOMEM: its pages would not fit back into
 * memory, @e says how much) or fails (@e says how), nothing is torn down.
 * When swap went off but the device could not be removed, the error of
 * the removal is returned and logged with what to do; swap stays off.
 * @flags: UBLKIT_SWAP_OFF_FORCE.
 */
int ublkit_swap_ublk_off(struct ublkit_ctx *ctx, uint32_t id, unsigned int flags,
			 struct ublkit_swapoff_estimate *e);

/*
 * The hardening report of the live server of swap device @d (a fresh look
 * at /proc, and at its backing: PREALLOCATED is held when it is a block
 * device or a file with every block allocated, on a disk; not applicable
 * when it cannot be read). -ENODATA: not a swap device; -ESRCH: its
 * server is gone.
 */
int ublkit_device_inspect_hardening(struct ublkit_ctx *ctx, const struct ublkit_device *d,
				    struct ublkit_harden_report **ret);

#ifdef __cplusplus
}
#endif
#endif
