/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a command checks before it creates anything: the ublk driver is
 * there (loaded through libkmod when it is a module) and io_uring is
 * allowed. The one answer every tool and the daemon share.
 */
#include "config.h"

#include "ublkit-private.h"
#include "ublkit/ublk.h"

UBLKIT_EXPORT int ublkit_io_uring_disabled(struct ublkit_ctx *ctx)
{
	uint64_t v;
	int r;

	r = ublkit_read_u64(ctx, "/proc/sys/kernel/io_uring_disabled", &v);
	if (r == -ENOENT)
		return 0; /* older kernels have no switch */
	if (r < 0)
		return r;
	return v > 2 ? 2 : (int)v;
}

UBLKIT_EXPORT int ublkit_ublk_preflight(struct ublkit_ctx *ctx)
{
	int r;

	if (ublkit_io_uring_disabled(ctx) == 2) {
		log_error(ctx, "io_uring is disabled (kernel.io_uring_disabled=2); "
			       "run: sysctl -w kernel.io_uring_disabled=0");
		return -EACCES;
	}
	if (!ublkit_ctx_is_sysroot(ctx) && ublkit_exists(ctx, "/dev/ublk-control"))
		return 0;
	r = ublkit_kmod_load(ctx, "ublk_drv", 0);
	switch (r) {
	case UBLKIT_KMOD_LOADED:
	case UBLKIT_KMOD_BUILTIN:
		return 0;
	case -ENOENT:
		log_error(ctx, "this kernel has no ublk driver (CONFIG_BLK_DEV_UBLK); "
			       "run 'ublkit doctor'");
		return -ENODEV;
	default:
		return log_ret(ctx, r, "cannot load ublk_drv (run 'ublkit doctor')");
	}
}
