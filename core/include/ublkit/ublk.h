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

#include <stdint.h>
#include <sys/types.h>

#include "ublkit/ublkit.h"

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

/* Control-command timeout in milliseconds (default 30000). */
void ublkit_ctx_set_ctrl_timeout(struct ublkit_ctx *ctx, unsigned int ms);

/*
 * The ublk features the running kernel offers. -ENODEV when ublk_drv is
 * not loaded (no /dev/ublk-control), -EOPNOTSUPP when the kernel predates
 * GET_FEATURES (Linux < 6.5).
 */
int ublkit_ublk_get_features(struct ublkit_ctx *ctx, uint64_t *features);

/* GET_DEV_INFO (GET_DEV_INFO2 when the kernel has it). -ENODEV: no such id. */
int ublkit_ublk_get_info(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_dev_info *info);

/*
 * The ids of all ublk devices, from /sys/class/ublk-char, ascending.
 * *ids is malloc'ed (free it); returns the count.
 */
int ublkit_ublk_list(struct ublkit_ctx *ctx, uint32_t **ids);

/* STOP_DEV / DEL_DEV of one device. DEL waits until the kernel freed it. */
int ublkit_ublk_stop(struct ublkit_ctx *ctx, uint32_t id);
int ublkit_ublk_del(struct ublkit_ctx *ctx, uint32_t id);

#ifdef __cplusplus
}
#endif
#endif
