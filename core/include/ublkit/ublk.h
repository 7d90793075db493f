/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libublkit: the ublk control plane (/dev/ublk-control).
 *
 * Control commands are io_uring URING_CMDs on a control ring kept by the
 * context. Each runs under the context's control timeout; a command that
 * does not complete in time is cancelled and reported as -ETIMEDOUT.
 */
#ifndef UBLKIT_UBLK_H
#define UBLKIT_UBLK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ublkit/ublkit.h"

/*
 * Structs that the caller allocates (struct ublkit_dev_params and friends)
 * may grow at their end in later versions. The functions that take them
 * are macros that pass the caller's sizeof() along, so a program built
 * against this header keeps working with a newer libublkit. Structs the
 * library hands out by pointer are the library's.
 */

#ifdef __cplusplus
extern "C" {
#endif

/* Kernel device states (UBLK_S_DEV_*). */
enum ublkit_dev_state {
	UBLKIT_DEV_DEAD = 0,
	UBLKIT_DEV_LIVE = 1,
	UBLKIT_DEV_QUIESCED = 2,
	UBLKIT_DEV_FAIL_IO = 3,
};

/* Kernel feature bits (UBLK_F_*), as GET_FEATURES and ADD_DEV report them. */
#define UBLKIT_F_ZERO_COPY (1ULL << 0)
#define UBLKIT_F_URING_CMD_COMP_IN_TASK (1ULL << 1)
#define UBLKIT_F_NEED_GET_DATA (1ULL << 2)
#define UBLKIT_F_USER_RECOVERY (1ULL << 3)
#define UBLKIT_F_USER_RECOVERY_REISSUE (1ULL << 4)
#define UBLKIT_F_UNPRIVILEGED_DEV (1ULL << 5)
#define UBLKIT_F_CMD_IOCTL_ENCODE (1ULL << 6)
#define UBLKIT_F_USER_COPY (1ULL << 7)
#define UBLKIT_F_ZONED (1ULL << 8)
#define UBLKIT_F_USER_RECOVERY_FAIL_IO (1ULL << 9)
#define UBLKIT_F_UPDATE_SIZE (1ULL << 10)
#define UBLKIT_F_AUTO_BUF_REG (1ULL << 11)
#define UBLKIT_F_QUIESCE (1ULL << 12)
#define UBLKIT_F_PER_IO_DAEMON (1ULL << 13)

/*
 * ublkit marks the devices it creates in the ublksrv_flags word the kernel
 * stores for the server: the high 32 bits hold this magic.
 */
#define UBLKIT_OWNER_MAGIC 0x75626b74ULL /* "ubkt" */
#define UBLKIT_OWNER_MARK (UBLKIT_OWNER_MAGIC << 32)

struct ublkit_dev_info {
	uint32_t id;
	int state;			/* enum ublkit_dev_state */
	uint16_t nr_queues;
	uint16_t queue_depth;
	uint32_t max_io_buf_bytes;
	int32_t server_pid;		/* ublksrv_pid: 0 before START_DEV */
	uint64_t flags;			/* UBLKIT_F_* the device was created with */
	uint64_t server_flags;		/* ublksrv_flags, holds the owner mark */
	uint32_t owner_uid;
	uint32_t owner_gid;
};

/* "dead", "live", "quiesced", "fail-io" or "unknown". */
const char *ublkit_dev_state_name(int state);
/* Name of one UBLKIT_F_* bit ("user-recovery", ...), or NULL. */
const char *ublkit_feature_name(uint64_t bit);
/* True when the device carries ublkit's owner mark. */
int ublkit_dev_info_is_ublkit(const struct ublkit_dev_info *info);

/*
 * Before creating a device: io_uring is allowed and the ublk driver is
 * there, loaded through libkmod when it is a module. 0, or -ENODEV (the
 * kernel has no ublk), -EACCES (io_uring disabled), or ublkit_kmod_load()'s
 * error; the reason and its fix are logged.
 */
int ublkit_ublk_preflight(struct ublkit_ctx *ctx);
/* kernel.io_uring_disabled: 0 allowed, 1 privileged users only, 2 off. */
int ublkit_io_uring_disabled(struct ublkit_ctx *ctx);

/* Control-command timeout in milliseconds (default 30000). */
void ublkit_ctx_set_ctrl_timeout(struct ublkit_ctx *ctx, unsigned int ms);

/*
 * The ublk features the running kernel offers. -ENODEV when ublk_drv is
 * not loaded (no /dev/ublk-control), -EOPNOTSUPP when the kernel predates
 * GET_FEATURES (Linux < 6.5).
 */
int ublkit_ublk_get_features(struct ublkit_ctx *ctx, uint64_t *features);

/* GET_DEV_INFO (GET_DEV_INFO2 when the kernel has it). -ENODEV: no such id. */
int ublkit_ublk_get_info_sz(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_dev_info *info,
			    size_t size);
#define ublkit_ublk_get_info(ctx, id, info) \
	ublkit_ublk_get_info_sz((ctx), (id), (info), sizeof(*(info)))

/*
 * GET_PARAMS: the parameters the kernel holds for device @id (any server's):
 * size, block sizes, max I/O, attributes (UBLKIT_DEV_READ_ONLY and friends),
 * discard limits. Queue count and depth come from ublkit_ublk_get_info().
 */
struct ublkit_dev_params;
int ublkit_ublk_get_params_sz(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_dev_params *p,
			      size_t size);
#define ublkit_ublk_get_params(ctx, id, p) \
	ublkit_ublk_get_params_sz((ctx), (id), (p), sizeof(*(p)))

/*
 * The ids of all ublk devices, from /sys/class/ublk-char, ascending.
 * *ids is malloc'ed (free it); returns the count.
 */
int ublkit_ublk_list(struct ublkit_ctx *ctx, uint32_t **ids);

/* STOP_DEV / DEL_DEV of one device. DEL waits until the kernel freed it. */
int ublkit_ublk_stop(struct ublkit_ctx *ctx, uint32_t id);
int ublkit_ublk_del(struct ublkit_ctx *ctx, uint32_t id);

/* ---- devices and their servers ----------------------------------------- */

/* Device flags for struct ublkit_dev_params.flags. */
#define UBLKIT_DEV_RECOVERY (1u << 0)		/* UBLK_F_USER_RECOVERY (+REISSUE if offered) */
#define UBLKIT_DEV_READ_ONLY (1u << 1)
#define UBLKIT_DEV_ROTATIONAL (1u << 2)
#define UBLKIT_DEV_VOLATILE_CACHE (1u << 3)	/* the target has a cache: FLUSH is sent */
#define UBLKIT_DEV_FUA (1u << 4)
#define UBLKIT_DEV_NO_DISCARD (1u << 5)		/* hide discard even if the target has it */
/* Queue threads preempt the submitter (SCHED_OTHER) instead of batching
 * requests (SCHED_BATCH): lower latency on a busy CPU, fewer IOPS. */
#define UBLKIT_DEV_LOW_LATENCY (1u << 6)
/*
 * The device backs swap. Its server hardens itself before it starts the
 * device (swap.h: memory locked, IO_FLUSHER threads, OOM protection,
 * private mounts, buffers preallocated) and refuses to start when a
 * measure fails. Only for targets with UBLKIT_TARGET_MAY_BACK_SWAP.
 */
#define UBLKIT_DEV_SWAP (1u << 7)
/* With UBLKIT_DEV_SWAP: a measure that fails is a warning, and the device
 * starts without it (ublkit info says what is not in force). */
#define UBLKIT_DEV_HARDEN_BEST_EFFORT (1u << 8)

#define UBLKIT_DEFAULT_QUEUE_DEPTH 128
#define UBLKIT_DEFAULT_MAX_IO_BYTES (128u << 10)
#define UBLKIT_MAX_QUEUES 64
/* The kernel's limit on a queue's depth (UBLK_MAX_QUEUE_DEPTH). */
#define UBLKIT_MAX_QUEUE_DEPTH 4096
/* The highest device id the kernel gives (UBLK_MAX_UBLKS - 1). */
#define UBLKIT_DEV_ID_MAX ((1u << 20) - 1)

struct ublkit_dev_params {
	uint64_t size;			/* bytes; 0: the target's size (file) */
	uint32_t logical_block_size;	/* 512..4096, power of two; 0: 512 or the file's */
	uint32_t physical_block_size;	/* >= logical; 0: logical */
	uint32_t max_io_bytes;		/* per request; multiple of 4096; 0: default */
	uint16_t nr_queues;		/* 1..UBLKIT_MAX_QUEUES; 0: 1 */
	uint16_t queue_depth;		/* 1..4096 (kernel limit); 0: default */
	int32_t dev_id;			/* -1: the kernel picks */
	uint32_t flags;			/* UBLKIT_DEV_* */
	uint32_t discard_granularity;	/* bytes; 0: logical block size */
	uint32_t max_discard_bytes;	/* 0: max_io_bytes */
};

/* Defaults: dev_id -1, everything else 0 (filled in at validation). */
void ublkit_dev_params_init_sz(struct ublkit_dev_params *p, size_t size);
#define ublkit_dev_params_init(p) ublkit_dev_params_init_sz((p), sizeof(*(p)))

/*
 * Check @params for a device served by @target (NULL: any target) with
 * @target_arg, without touching the system: every value is in the
 * kernel's and ublkit's range (0 keeps a default), the target exists and
 * gets the size, path and flags it needs (a file's size and block size
 * are only known once it is opened). 0, or -EINVAL with a logged message
 * that names the parameter and its range. ublkit_server_spawn() and
 * ublkit_server_new() check the same way before they do anything.
 */
int ublkit_dev_params_check_sz(struct ublkit_ctx *ctx, const struct ublkit_dev_params *params,
			       size_t params_size, const char *target, const char *target_arg);
#define ublkit_dev_params_check(ctx, params, target, target_arg)                              \
	ublkit_dev_params_check_sz((ctx), (params), sizeof(*(params)), (target), (target_arg))

/*
 * A device id as a user gives it: "3", "ublk3", "ublkb3", "ublkc3",
 * "/dev/ublkb3" or "/dev/ublkc3", from 0 to UBLKIT_DEV_ID_MAX. -EINVAL or
 * -ERANGE as ublkit_parse_uint() returns them. Nothing is logged.
 */
int ublkit_parse_dev_id(const char *s, uint32_t *id);

/* The built-in targets: "null", "mem" (sparse RAM), "file" (file or block device). */
const char *const *ublkit_target_names(void);

/* What a target is (ublkit_target_flags()). */
#define UBLKIT_TARGET_NEEDS_SIZE (1u << 0)	/* the device needs params.size */
#define UBLKIT_TARGET_NEEDS_PATH (1u << 1)	/* target_arg is a file or block device */
#define UBLKIT_TARGET_SURVIVES_SERVER (1u << 2)	/* its data outlives the server: recoverable */
#define UBLKIT_TARGET_MAY_BACK_SWAP (1u << 3)	/* no allocation on the I/O path */
#define UBLKIT_TARGET_USER_COPY (1u << 4)	/* data in the server's memory: user copy */

/* UBLKIT_TARGET_* of target @name, or -EINVAL for an unknown target. */
int ublkit_target_flags(const char *name);
/* A one-line description of target @name, or NULL. */
const char *ublkit_target_summary(const char *name);

struct ublkit_server;

/*
 * Create a server for a new device served by @target (@target_arg: the
 * path for "file"). Opens the target and validates @params against it
 * and the kernel; -EINVAL with a logged reason when they do not fit. The
 * completed parameters can be read back with ublkit_server_get_params().
 */
int ublkit_server_new_sz(struct ublkit_ctx *ctx, const struct ublkit_dev_params *params,
			 size_t params_size, const char *target, const char *target_arg,
			 struct ublkit_server **ret);
#define ublkit_server_new(ctx, params, target, target_arg, ret) \
	ublkit_server_new_sz((ctx), (params), sizeof(*(params)), (target), (target_arg), (ret))
struct ublkit_server *ublkit_server_ref(struct ublkit_server *s);
struct ublkit_server *ublkit_server_unref(struct ublkit_server *s);
const struct ublkit_dev_params *ublkit_server_get_params(const struct ublkit_server *s);

/*
 * ADD_DEV + SET_PARAMS, then start one I/O thread per queue, wait until
 * every queue has fetched, and START_DEV from the calling thread. Returns
 * the device id once the device is LIVE. On failure nothing is left
 * behind: a device that was added is deleted again. -EEXIST: the id is
 * taken.
 */
int ublkit_server_start(struct ublkit_server *s);

/*
 * Take over device @id left QUIESCED by a dead server (user recovery):
 * START_USER_RECOVERY, serve, END_USER_RECOVERY. Returns the id once LIVE.
 */
int ublkit_server_recover(struct ublkit_server *s, uint32_t id);

/*
 * Serve until one of @sigs arrives (they must be blocked by the caller)
 * or the device is stopped from elsewhere. Returns the signal number, or
 * 0 when the device went away.
 */
int ublkit_server_wait(struct ublkit_server *s, const sigset_t *sigs);

/* STOP_DEV, drain and join the I/O threads, DEL_DEV. Idempotent. Returns
 * the first error of the teardown (it goes on after one). */
int ublkit_server_stop(struct ublkit_server *s);

int ublkit_server_get_id(const struct ublkit_server *s);

/* ---- statistics -------------------------------------------------------- */

enum ublkit_stat_op {
	UBLKIT_OP_READ,
	UBLKIT_OP_WRITE,
	UBLKIT_OP_FLUSH,
	UBLKIT_OP_DISCARD,
	UBLKIT_OP_WRITE_ZEROES,
	UBLKIT_OP_COUNT
};

struct ublkit_op_stats {
	uint64_t ops;
	uint64_t bytes;
	uint64_t errors;
};

struct ublkit_stats {
	struct ublkit_op_stats op[UBLKIT_OP_COUNT];
	uint64_t in_flight;
	uint64_t lat_count;
	uint64_t lat_p50_ns;
	uint64_t lat_p99_ns;
	uint64_t lat_p999_ns;
	uint64_t lat_max_ns;
};

/* "read", "write", "flush", "discard", "write-zeroes". */
const char *ublkit_stat_op_name(int op);

/* Statistics of a running server, read from its shared stats file. */
int ublkit_stats_read_sz(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_stats *st, size_t size);
#define ublkit_stats_read(ctx, id, st) ublkit_stats_read_sz((ctx), (id), (st), sizeof(*(st)))

/* ---- what ublkit knows about a device ---------------------------------- */

/*
 * The manifest ublkit keeps for each device it serves, under
 * /run/ublkit/devices/ID/: enough to restart its server.
 */
struct ublkit_manifest {
	uint32_t id;
	char target[16];
	char target_arg[4096];
	struct ublkit_dev_params params;
	int32_t server_pid;
	uint64_t server_start;		/* the server's start time (clock ticks since boot) */
};

/* -ENOENT: ublkit has no manifest for @id (a foreign device or none). */
int ublkit_manifest_read_sz(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_manifest *m,
			    size_t size);
#define ublkit_manifest_read(ctx, id, m) ublkit_manifest_read_sz((ctx), (id), (m), sizeof(*(m)))

/* The block device node of @id: "/dev/ublkbN". */
int ublkit_ublk_block_path(uint32_t id, char *buf, size_t size);
/* Sizes from sysfs: size in bytes of /dev/ublkbN, 0 when there is no disk. */
int ublkit_ublk_disk_size(struct ublkit_ctx *ctx, uint32_t id, uint64_t *bytes);

/* True when process @pid exists (a zombie counts as gone). */
bool ublkit_pid_alive(struct ublkit_ctx *ctx, int32_t pid);

/*
 * Remove device @id for good. A live ublkit server is asked to stop
 * (SIGTERM) so it drains and deletes its own device; when there is none,
 * or it does not finish within @timeout_ms, STOP_DEV and DEL_DEV are sent
 * directly. Returns 0, or -ENODEV when there is no such device.
 */
int ublkit_ublk_remove(struct ublkit_ctx *ctx, uint32_t id, unsigned int timeout_ms);

/* ---- server processes ---------------------------------------------------- */

/* Stay in the caller's session with its stdout and stderr, and do not
 * detach: the server is the caller's child and logs to stderr. */
#define UBLKIT_SPAWN_FOREGROUND (1u << 0)
/* argv[0] starts with '@': the server is root storage, which systemd's
 * shutdown and the initramfs leave running. */
#define UBLKIT_SPAWN_ROOT_STORAGE (1u << 1)

struct ublkit_spawn_result {
	int id;				/* the device's id */
	int32_t server_pid;		/* the server process */
	int pidfd;			/* the server's pidfd (the caller closes it), or -1
					 * on kernels without pidfd_open (< 5.3) */
	struct ublkit_dev_params params;	/* as the server completed them */
};

/*
 * Start a server process (the ublkit-server program, by posix_spawn()) for
 * a new device, or with @recover_id >= 0 to take over quiesced device
 * @recover_id. Returns 0 once the device is LIVE, or the server's -errno
 * (its error message is logged through @ctx); on failure no process and
 * no device is left.
 *
 * Unless UBLKIT_SPAWN_FOREGROUND is given the server detaches: it runs in
 * a session of its own, is not the caller's child (nothing to reap), and
 * logs to syslog, or to stderr when that is the journal. Wait for its end
 * by polling res->pidfd. The caller's signal mask and dispositions are
 * not inherited. Thread-safe with respect to other contexts.
 */
int ublkit_server_spawn_sz(struct ublkit_ctx *ctx, const struct ublkit_dev_params *params,
			   size_t params_size, const char *target, const char *target_arg,
			   int recover_id, unsigned int flags, struct ublkit_spawn_result *res,
			   size_t res_size);
#define ublkit_server_spawn(ctx, params, target, target_arg, recover_id, flags, res)        \
	ublkit_server_spawn_sz((ctx), (params), sizeof(*(params)), (target), (target_arg),  \
			       (recover_id), (flags), (res), sizeof(*(res)))

/*
 * The main function of the ublkit-server program in
 * $(libexecdir)/ublkit/. It owns its process (signal mask, fork, stdio,
 * syslog): never call it from any other program.
 */
int ublkit_server_main(int argc, char **argv);

/* ---- the device view: everything known about one device ---------------- */

enum ublkit_orphan_reason {
	UBLKIT_ORPHAN_NOT = 0,		/* its server is alive (or still setting up) */
	UBLKIT_ORPHAN_DEAD,		/* state DEAD and its server is gone */
	UBLKIT_ORPHAN_SERVER_GONE,	/* LIVE or QUIESCED, recorded server gone */
};

/* "dead", "server-gone" (or "none"). */
const char *ublkit_orphan_reason_name(int reason);

struct ublkit_device;

/*
 * Look at device @id once: the kernel's state and parameters, ublkit's
 * manifest, the server (the kernel's pid, else the manifest's, else the
 * process holding /dev/ublkcN), whether it is alive (and still the process
 * that started the device), whether the device is an orphan, recoverable,
 * in use (mounted, active swap, held by dm/md), and the server's memory.
 * A snapshot: create a new one to see changes. -ENODEV: no such device.
 */
int ublkit_device_new(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_device **ret);
struct ublkit_device *ublkit_device_ref(struct ublkit_device *d);
struct ublkit_device *ublkit_device_unref(struct ublkit_device *d);

uint32_t ublkit_device_get_id(const struct ublkit_device *d);
/* GET_DEV_INFO as the kernel answered it (state, queues, depth, flags). */
const struct ublkit_dev_info *ublkit_device_get_info(const struct ublkit_device *d);
int ublkit_device_get_state(const struct ublkit_device *d);
/* Carries ublkit's owner mark. */
bool ublkit_device_is_ublkit(const struct ublkit_device *d);
/* The server as far as known; 0 when none is known. */
int32_t ublkit_device_get_server_pid(const struct ublkit_device *d);
bool ublkit_device_is_server_alive(const struct ublkit_device *d);
int ublkit_device_get_orphan_reason(const struct ublkit_device *d);
/* An orphan that ublkit can give a new server (QUIESCED, user recovery,
 * a manifest, a target whose data outlives its server). */
bool ublkit_device_is_recoverable(const struct ublkit_device *d);
/* Its block device is mounted, active swap, or held by dm/md. */
bool ublkit_device_is_in_use(const struct ublkit_device *d);
/* ublkit's manifest, NULL for a device ublkit does not serve. */
const struct ublkit_manifest *ublkit_device_get_manifest(const struct ublkit_device *d);
/* The manifest's target name and argument (NULL without a manifest or argument). */
const char *ublkit_device_get_target(const struct ublkit_device *d);
const char *ublkit_device_get_target_arg(const struct ublkit_device *d);
/* GET_PARAMS: the kernel's parameters, NULL when it has none yet. */
const struct ublkit_dev_params *ublkit_device_get_params(const struct ublkit_device *d);
/* Size in bytes: the disk's, else the parameters'. */
uint64_t ublkit_device_get_size(const struct ublkit_device *d);
/* "/dev/ublkbN", NULL while the device has no disk. */
const char *ublkit_device_get_block_device(const struct ublkit_device *d);
/* The live server's VmRSS, VmLck and VmSwap in bytes (0 when unknown). */
uint64_t ublkit_device_get_server_resident(const struct ublkit_device *d);
uint64_t ublkit_device_get_server_locked(const struct ublkit_device *d);
uint64_t ublkit_device_get_server_swapped(const struct ublkit_device *d);

/*
 * Every ublk device, ascending by id (devices removed while looking are
 * left out). *ret is a malloc'ed array of references: unref each, free
 * the array. Returns the count.
 */
int ublkit_devices_get(struct ublkit_ctx *ctx, struct ublkit_device ***ret);

/* ---- orphans and crash recovery ----------------------------------------- */

/* All orphans, ascending by id, as ublkit_devices_get() returns devices. */
int ublkit_orphans_detect(struct ublkit_ctx *ctx, struct ublkit_device ***ret);

#define UBLKIT_CLEANUP_DRY_RUN (1u << 0)	/* report what would be done */
#define UBLKIT_CLEANUP_NO_RECOVER (1u << 1)	/* delete even recoverable devices */
#define UBLKIT_CLEANUP_FORCE (1u << 2)		/* also devices that are mounted or swap */

enum ublkit_cleanup_action {
	UBLKIT_CLEANUP_DELETED = 1,
	UBLKIT_CLEANUP_RECOVERED,
	UBLKIT_CLEANUP_SKIPPED,		/* in use; needs UBLKIT_CLEANUP_FORCE */
	UBLKIT_CLEANUP_FAILED,
};

/* "deleted", "recovered", "skipped", "failed". */
const char *ublkit_cleanup_action_name(int action);

typedef void (*ublkit_cleanup_fn)(struct ublkit_device *orphan, int action, int error,
				  void *userdata);

/*
 * Clean up every orphan: recover ublkit devices created with recovery
 * (unless UBLKIT_CLEANUP_NO_RECOVER), delete the others. Never touches a
 * device whose server is alive, nor (without UBLKIT_CLEANUP_FORCE) one
 * that is mounted or an active swap area. Idempotent. Reports each
 * orphan through @fn; returns the number of orphans found, or -errno.
 */
int ublkit_orphans_cleanup(struct ublkit_ctx *ctx, unsigned int flags, ublkit_cleanup_fn fn,
			   void *userdata);

/*
 * Restart the server of quiesced device @id from ublkit's manifest, in a
 * new server process (@flags: UBLKIT_SPAWN_*). -ENOENT: no manifest (not
 * ublkit's); -EBUSY: not quiesced; -EOPNOTSUPP: created without recovery.
 */
int ublkit_recover_sz(struct ublkit_ctx *ctx, uint32_t id, unsigned int flags,
		      struct ublkit_spawn_result *res, size_t res_size);
#define ublkit_recover(ctx, id, flags, res) \
	ublkit_recover_sz((ctx), (id), (flags), (res), sizeof(*(res)))

/*
 * The same, from a view of the device taken earlier (while its server
 * still ran): only the kernel's state is read again. For a supervisor of a
 * swap device, whose run state under /run (tmpfs) may sit in the very swap
 * that waits for the new server.
 */
int ublkit_device_recover_sz(struct ublkit_ctx *ctx, const struct ublkit_device *d,
			     unsigned int flags, struct ublkit_spawn_result *res, size_t res_size);
#define ublkit_device_recover(ctx, d, flags, res) \
	ublkit_device_recover_sz((ctx), (d), (flags), (res), sizeof(*(res)))

#ifdef __cplusplus
}
#endif
#endif
