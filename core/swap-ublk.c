/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Swap on a ublk device: a hardened server for a device over a backing
 * file or block device, a swap signature on the new device, swapon; and
 * the way back, swapoff first and the device only after it succeeded.
 * What `ublkit swap`, the policy and the daemon all do.
 */
#include "config.h"

#include "ublkit-private.h"
#include "swap-private.h"
#include "server-private.h"
#include "ublkit/swap.h"

#define SWAP_DEFAULT_LABEL "ublkit-swap"
#define REMOVE_TIMEOUT_MS 10000


UBLKIT_EXPORT int ublkit_device_inspect_hardening(struct ublkit_ctx *ctx,
						  const struct ublkit_device *d,
						  struct ublkit_harden_report **ret)
{
	const struct ublkit_manifest *m = ublkit_device_get_manifest(d);
	struct ublkit_harden_profile *p = NULL;
	int r;

	if (!m || !(m->params.flags & UBLKIT_DEV_SWAP))
		return -ENODATA;
	if (!ublkit_device_is_server_alive(d))
		return -ESRCH;
	r = harden_profile_for_flags(m->params.flags, &p);
	if (r < 0)
		return r;
	r = ublkit_harden_inspect(ctx, ublkit_device_get_server_pid(d), p, ret);
	ublkit_harden_profile_unref(p);
	return r;
}

/*
 * The backing device must hold nothing of value: no file system, RAID,
 * LVM or partitions unless forced, never anything mounted, active or held.
 * A swap signature with the label this swap area will get is ublkit's own
 * from an earlier boot: its contents died with that boot.
 */
static int backing_check(struct ublkit_ctx *ctx, const char *path, const char *label,
			 unsigned int flags)
{
	struct ublkit_blockdev_usage u;
	int r;

	ublkit_blockdev_usage_init(&u);
	r = ublkit_blockdev_check(ctx, path, (flags & UBLKIT_SWAP_FORCE) ? UBLKIT_BLOCKDEV_FORCE : 0,
				  &u);
	if (r == -EEXIST && strcmp(u.type, "swap") == 0 && strcmp(u.label, label) == 0 &&
	    u.found == UBLKIT_BLOCKDEV_SIGNATURE)
		return 0;
	if (r < 0)
		log_error(ctx, "%s: %s", path, u.reason[0] ? u.reason : strerror(-r));
	return r;
}

static int swap_enable(struct ublkit_ctx *ctx, uint32_t id, const char *label, int priority,
		       unsigned int flags)
{
	char dev[32];
	int r;

	ublkit_ublk_block_path(id, dev, sizeof(dev));
	r = ublkit_swap_format(ctx, dev, label, UBLKIT_BLOCKDEV_FORCE, NULL);
	if (r < 0)
		return log_ret(ctx, r, "%s: cannot write a swap signature", dev);
	r = ublkit_swap_on(ctx, dev, priority,
			   flags & (UBLKIT_SWAP_DISCARD | UBLKIT_SWAP_DISCARD_ONCE |
				    UBLKIT_SWAP_DISCARD_PAGES));
	if (r < 0)
		return log_ret(ctx, r, "%s: swapon", dev);
	return 0;
}

UBLKIT_EXPORT int ublkit_swap_ublk_on_sz(struct ublkit_ctx *ctx,
					 const struct ublkit_dev_params *params,
					 size_t params_size, const char *target,
					 const char *target_arg, const char *label, int priority,
					 unsigned int flags, struct ublkit_spawn_result *res,
					 size_t res_size)
{
	struct ublkit_spawn_result out = { .pidfd = -1 };
	struct ublkit_dev_params p;
	int tflags, r;

	ublkit_dev_params_init(&p);
	r = struct_in(&p, sizeof(p), params, params_size);
	if (r < 0)
		return r;
	if (!label || !*label)
		label = SWAP_DEFAULT_LABEL;
	r = ublkit_swap_label_check(ctx, label);
	if (r < 0)
		return r;
	p.flags |= UBLKIT_DEV_SWAP;
	r = ublkit_dev_params_check(ctx, &p, target, target_arg);
	if (r < 0)
		return r;
	tflags = ublkit_target_flags(target);
	if (tflags < 0 || !(tflags & UBLKIT_TARGET_MAY_BACK_SWAP)) {
		log_error(ctx, "target %s cannot back swap (use the file target)",
			  target ? target : "(none)");
		return -EINVAL;
	}
	if (tflags & UBLKIT_TARGET_NEEDS_PATH) {
		r = backing_check(ctx, target_arg, label, flags);
		if (r < 0)
			return r;
	}
	r = ublkit_server_spawn(ctx, &p, target, target_arg, -1,
				(flags & UBLKIT_SWAP_ROOT_STORAGE) ? UBLKIT_SPAWN_ROOT_STORAGE : 0,
				&out);
	if (r < 0)
		return r;
	r = swap_enable(ctx, (uint32_t)out.id, label, priority, flags);
	if (r < 0) {
		/* Nothing half-made: the device goes with its server. */
		if (ublkit_ublk_remove(ctx, (uint32_t)out.id, REMOVE_TIMEOUT_MS) < 0)
			log_error(ctx, "ublk%d: could not be removed after the failure", out.id);
		if (out.pidfd >= 0)
			close(out.pidfd);
		return r;
	}
	if (res)
		struct_out(res, res_size, &out, sizeof(out));
	else if (out.pidfd >= 0)
		close(out.pidfd);
	return 0;
}

UBLKIT_EXPORT int ublkit_swap_ublk_off(struct ublkit_ctx *ctx, uint32_t id, unsigned int flags,
				       struct ublkit_swapoff_estimate *e)
{
	const struct ublkit_manifest *m;
	struct ublkit_device *d = NULL;
	bool swap;
	char dev[32];
	int r;

	r = ublkit_device_new(ctx, id, &d);
	if (r < 0)
		return r;
	m = ublkit_device_get_manifest(d);
	swap = m && (m->params.flags & UBLKIT_DEV_SWAP);
	ublkit_device_unref(d);
	if (!swap) {
		log_error(ctx, "ublk%u is not a swap device of ublkit's (see 'ublkit swap status')",
			  id);
		return -EINVAL;
	}
	ublkit_ublk_block_path(id, dev, sizeof(dev));
	r = ublkit_swap_off(ctx, dev, (flags & UBLKIT_SWAP_OFF_FORCE) ? UBLKIT_SWAP_OFF_FORCE : 0,
			    e);
	if (r == -ENOENT)
		log_info(ctx, "%s is not an active swap area", dev);
	else if (r < 0)
		return r; /* swap stays on, the device stays up */
	return ublkit_ublk_remove(ctx, id, REMOVE_TIMEOUT_MS);
}
