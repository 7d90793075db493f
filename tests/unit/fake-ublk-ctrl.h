/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fake ublk driver behind the control transport: the library builds its
 * real control commands, and this answers them from a table of devices
 * the test fills in, recording every command as the kernel would see it.
 */
#ifndef UBLKIT_FAKE_UBLK_CTRL_H
#define UBLKIT_FAKE_UBLK_CTRL_H

#include <stdbool.h>

#include "ublkit/ublk.h"
#include "ublk-private.h"

#define FAKE_MAX_DEVS 16
#define FAKE_MAX_CMDS 256

struct fake_dev {
	bool present;
	struct ublkit_dev_info info;
	bool has_params;
	struct ublk_params params;	/* what SET_PARAMS stored, GET_PARAMS answers */
};

/* One control command as it reached the fake driver. */
struct fake_cmd {
	unsigned int op;		/* as sent: legacy number or ioctl encoding */
	unsigned int nr;		/* the command number (UBLK_CMD_*) */
	bool encoded;
	struct ublksrv_ctrl_cmd cmd;
	unsigned int timeout_ms;
	int result;
	union {				/* the payload as sent, for ADD_DEV and SET_PARAMS */
		struct ublkit_uapi_dev_info info;
		struct ublk_params params;
	} in;
};

struct fake_kernel {
	const char *root;		/* sysroot: /sys/class/ublk-char and /dev nodes live here */
	uint64_t features;		/* what GET_FEATURES answers */
	int get_features_result;	/* != 0: GET_FEATURES fails so (-EINVAL: Linux < 6.5) */
	uint64_t drop_flags;		/* ADD_DEV silently clears these flags */
	unsigned int fail_nr;		/* a command that fails with fail_result ... */
	int fail_result;
	unsigned int stuck_nr;		/* ... or never completes (-ETIME) */
	struct fake_dev devs[FAKE_MAX_DEVS];
	int nr_devs;
	struct fake_cmd cmds[FAKE_MAX_CMDS];
	int nr_cmds;
	int spawns;			/* recovering server spawns (ublkit_server_spawn) */
};

extern struct fake_kernel fake;

/* Forget every device and command; features as on Debian's 6.12 kernel. */
void fake_reset(const char *root);
/* Send @ctx's control commands to the fake driver. */
void fake_install(struct ublkit_ctx *ctx);
/* A device as the driver would report it (with its sysfs and /dev nodes). */
struct fake_dev *fake_add(uint32_t id, int state, int32_t pid, uint64_t flags, bool ublkit);
struct fake_dev *fake_find(uint32_t id);
/* How many commands number @nr were sent; the last one, or NULL. */
int fake_count(unsigned int nr);
const struct fake_cmd *fake_last(unsigned int nr);

#endif
