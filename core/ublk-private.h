/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal interface of the ublk control plane. */
#ifndef UBLKIT_UBLK_PRIVATE_H
#define UBLKIT_UBLK_PRIVATE_H

#include "ublkit/ublk.h"
#include "ublk-uapi.h"

struct ublk_ctrl;

/*
 * One control command. @nr is the legacy command number (UBLK_CMD_*); the
 * ioctl encoding is used when the kernel offers it. @buf/@len is the
 * command's payload (cmd.addr/len), @data0 goes in cmd.data[0].
 * Returns the command's result (>= 0) or -errno.
 */
int ublk_ctrl_cmd(struct ublkit_ctx *ctx, unsigned int nr, uint32_t dev_id, void *buf,
		  uint16_t len, uint64_t data0);
void ublk_ctrl_free(struct ublk_ctrl *ctrl);

/*
 * What carries control commands to the kernel: the io_uring on
 * /dev/ublk-control unless a context is given another. ->cmd() sends
 * @cmd with opcode @op (the legacy number or its ioctl encoding, as the
 * kernel's features ask) and returns the command's result (>= 0) or
 * -errno; -ETIME when no answer came within @timeout_ms (the command is
 * then cancelled, and the caller sees -ETIMEDOUT).
 */
struct ublk_ctrl_transport {
	int (*cmd)(struct ublkit_ctx *ctx, void *data, unsigned int op,
		   const struct ublksrv_ctrl_cmd *cmd, unsigned int timeout_ms);
	void *data;
};
/*
 * Send @ctx's control commands through @t (NULL: the kernel again), also
 * under a sysroot. Forgets what was learnt from the previous transport
 * (features). @t must outlive its use. For the unit tests' fake kernel.
 */
void ublk_ctrl_set_transport(struct ublkit_ctx *ctx, const struct ublk_ctrl_transport *t);
/* Forget the control ring and what was learnt through it. */
void ublk_ctrl_reset(struct ublkit_ctx *ctx);
/* Features offered by the kernel, cached; 0 when unknown. */
uint64_t ublk_ctrl_features(struct ublkit_ctx *ctx);

#endif
