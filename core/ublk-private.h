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
/* Features offered by the kernel, cached; 0 when unknown. */
uint64_t ublk_ctrl_features(struct ublkit_ctx *ctx);

#endif
