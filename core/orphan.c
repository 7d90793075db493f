/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Orphans: ublk devices whose server is gone. The kernel keeps such a
 * device (its id stays taken, its users hang or fail) until someone
 * deletes it, or, for a device created with user recovery, until a new
 * server takes it over. The device view (device.c) classifies; this file
 * acts: cleanup, recovery, and removing a device for good.
 */
#include "config.h"

#include <signal.h>

#include "ublkit-private.h"
#include "server-private.h"

UBLKIT_EXPORT const char *ublkit_cleanup_action_name(int action)
{
	switch (action) {
	case UBLKIT_CLEANUP_DELETED: return "deleted";
	case UBLKIT_CLEANUP_RECOVERED: return "recovered";
	case UBLKIT_CLEANUP_SKIPPED: return "skipped";
	default: return "failed";
	}
}

UBLKIT_EXPORT int ublkit_orphans_detect(struct ublkit_ctx *ctx, struct ublkit_device ***ret)
{
	return devices_get(ctx, false, true, ret);
}

int ublk_stop_delete(struct ublkit_ctx *ctx, uint32_t id)
{
	int r;

	r = ublkit_ublk_stop(ctx, id);
	if (r < 0 && r != -ENODEV)
		log_debug(ctx, "ublk%u: STOP_DEV: %s", id, strerror(-r));
	r = ublkit_ublk_del(ctx, id);
	if (r < 0 && r != -ENODEV)
		return log_ret(ctx, r, "ublk%u: DEL_DEV", id);
	manifest_remove(ctx, id);
	return 0;
}

/* Why device @d cannot be recovered now, or 0. */
static int recover_check(struct ublkit_ctx *ctx, const struct ublkit_device *d)
{
	const struct ublkit_manifest *m = ublkit_device_get_manifest(d);
	const struct ublkit_dev_info *info = ublkit_device_get_info(d);
	uint32_t id = info->id;

	if (!m) {
		log_error(ctx, "ublk%u: ublkit has no manifest for it (not created by ublkit here)", id);
		return -ENOENT;
	}
	if (!(info->flags & UBLKIT_F_USER_RECOVERY)) {
		log_error(ctx, "ublk%u was created without --recovery", id);
		return -EOPNOTSUPP;
	}
	if (!(ublkit_target_flags(m->target) & UBLKIT_TARGET_SURVIVES_SERVER)) {
		log_error(ctx, "ublk%u: its %s store died with its server", id, m->target);
		return -EOPNOTSUPP;
	}
	if (ublkit_device_get_orphan_reason(d) == UBLKIT_ORPHAN_NOT) {
		log_error(ctx, "ublk%u: its server (pid %d) is alive", id,
			  ublkit_device_get_server_pid(d));
		return -EBUSY;
	}
	if (info->state != UBLKIT_DEV_QUIESCED) {
		log_error(ctx, "ublk%u is %s, not quiesced: it cannot be recovered", id,
			  ublkit_dev_state_name(info->state));
		return -EBUSY;
	}
	return 0;
}

static int cleanup_one(struct ublkit_ctx *ctx, const struct ublkit_device *o, unsigned int flags,
		       int *error)
{
	bool recover = ublkit_device_is_recoverable(o) && !(flags & UBLKIT_CLEANUP_NO_RECOVER);
	uint32_t id = ublkit_device_get_id(o);

	*error = 0;
	/* Recovery keeps the block device; deleting a used one loses data. */
	if (!recover && ublkit_device_is_in_use(o) && !(flags & UBLKIT_CLEANUP_FORCE))
		return UBLKIT_CLEANUP_SKIPPED;
	if (flags & UBLKIT_CLEANUP_DRY_RUN)
		return recover ? UBLKIT_CLEANUP_RECOVERED : UBLKIT_CLEANUP_DELETED;
	*error = recover ? ublkit_recover_sz(ctx, id, 0, NULL, 0) : ublk_stop_delete(ctx, id);
	if (*error < 0) {
		log_error(ctx, "ublk%u: %s failed: %s", id, recover ? "recovery" : "delete",
			  strerror(-*error));
		return UBLKIT_CLEANUP_FAILED;
	}
	return recover ? UBLKIT_CLEANUP_RECOVERED : UBLKIT_CLEANUP_DELETED;
}

UBLKIT_EXPORT int ublkit_orphans_cleanup(struct ublkit_ctx *ctx, unsigned int flags,
					 ublkit_cleanup_fn fn, void *userdata)
{
	_cleanup_free_ struct ublkit_device **v = NULL;
	int n, error, action;

	n = ublkit_orphans_detect(ctx, &v);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		action = cleanup_one(ctx, v[i], flags, &error);
		if (fn)
			fn(v[i], action, error, userdata);
		ublkit_device_unref(v[i]);
	}
	return n;
}

UBLKIT_EXPORT int ublkit_recover_sz(struct ublkit_ctx *ctx, uint32_t id, unsigned int flags,
				    struct ublkit_spawn_result *res, size_t res_size)
{
	struct ublkit_device *d = NULL;
	struct ublkit_manifest m;
	int r;

	r = device_load(ctx, id, false, &d);
	if (r < 0)
		return r;
	r = recover_check(ctx, d);
	if (r == 0) {
		m = *ublkit_device_get_manifest(d);
		m.params.dev_id = (int32_t)id;
	}
	ublkit_device_unref(d);
	if (r < 0)
		return r;
	return ublkit_server_spawn_sz(ctx, &m.params, sizeof(m.params), m.target, m.target_arg,
				      (int)id, flags, res, res_size);
}

UBLKIT_EXPORT int ublkit_device_recover_sz(struct ublkit_ctx *ctx, const struct ublkit_device *d,
					   unsigned int flags, struct ublkit_spawn_result *res,
					   size_t res_size)
{
	const struct ublkit_manifest *m = ublkit_device_get_manifest(d);
	uint32_t id = ublkit_device_get_id(d);
	struct ublkit_dev_info info;
	struct ublkit_manifest mm;
	int r;

	if (!m) {
		log_error(ctx, "ublk%u: ublkit has no manifest for it (not created by ublkit here)", id);
		return -ENOENT;
	}
	if (!(ublkit_target_flags(m->target) & UBLKIT_TARGET_SURVIVES_SERVER)) {
		log_error(ctx, "ublk%u: its %s store died with its server", id, m->target);
		return -EOPNOTSUPP;
	}
	/* The kernel's state now; nothing else is read again. */
	r = ublkit_ublk_get_info(ctx, id, &info);
	if (r < 0)
		return r;
	if (!(info.flags & UBLKIT_F_USER_RECOVERY)) {
		log_error(ctx, "ublk%u was created without --recovery", id);
		return -EOPNOTSUPP;
	}
	if (info.state != UBLKIT_DEV_QUIESCED) {
		log_error(ctx, "ublk%u is %s, not quiesced: it cannot be recovered now", id,
			  ublkit_dev_state_name(info.state));
		return -EBUSY;
	}
	mm = *m;
	mm.params.dev_id = (int32_t)id;
	return ublkit_server_spawn_sz(ctx, &mm.params, sizeof(mm.params), mm.target,
				      mm.target_arg, (int)id, flags, res, res_size);
}

static bool wait_gone(struct ublkit_ctx *ctx, uint32_t id, unsigned int timeout_ms)
{
	char p[64];

	snprintf(p, sizeof(p), "/sys/class/ublk-char/ublkc%u", id);
	for (unsigned int waited = 0; waited <= timeout_ms; waited += 20) {
		if (!ublkit_exists(ctx, p))
			return true;
		usleep(20000);
	}
	return false;
}

UBLKIT_EXPORT int ublkit_ublk_remove(struct ublkit_ctx *ctx, uint32_t id, unsigned int timeout_ms)
{
	const struct ublkit_manifest *m;
	struct ublkit_device *d = NULL;
	int32_t pid;
	bool ours;
	int r;

	r = device_load(ctx, id, false, &d);
	if (r < 0)
		return r;
	m = ublkit_device_get_manifest(d);
	pid = ublkit_device_get_server_pid(d);
	ours = ublkit_device_is_server_alive(d) && m && m->server_pid == pid;
	ublkit_device_unref(d);
	/* Our own server, alive: let it drain and delete its device itself. */
	if (ours) {
		log_debug(ctx, "ublk%u: asking server %d to stop", id, pid);
		/* A stopped (SIGSTOP) server must run to drain: continue it. */
		if (kill(pid, SIGTERM) == 0 && kill(pid, SIGCONT) == 0 &&
		    wait_gone(ctx, id, timeout_ms))
			return 0;
		log_warn(ctx, "ublk%u: server %d did not stop in %u ms; deleting directly", id, pid,
			 timeout_ms);
	}
	return ublk_stop_delete(ctx, id);
}
