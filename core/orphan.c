/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Orphans: ublk devices whose server is gone. The kernel keeps such a
 * device (its id stays taken, its users hang or fail) until someone
 * deletes it, or, for a device created with user recovery, until a new
 * server takes it over. Decided from the kernel's state and the recorded
 * server pid, never from device nodes alone: a server between ADD_DEV and
 * START_DEV has a char node and no block node, and is not an orphan.
 */
#include "config.h"

#include <dirent.h>

#include "ublkit-private.h"
#include "server-private.h"

UBLKIT_EXPORT const char *ublkit_orphan_reason_name(int reason)
{
	switch (reason) {
	case UBLKIT_ORPHAN_DEAD: return "dead";
	case UBLKIT_ORPHAN_SERVER_GONE: return "server-gone";
	default: return "none";
	}
}

UBLKIT_EXPORT const char *ublkit_cleanup_action_name(int action)
{
	switch (action) {
	case UBLKIT_CLEANUP_DELETED: return "deleted";
	case UBLKIT_CLEANUP_RECOVERED: return "recovered";
	case UBLKIT_CLEANUP_SKIPPED: return "skipped";
	default: return "failed";
	}
}

/* Is the recorded server still the process that started the device? A
 * pid can be reused; ublkit records its servers' start times. */
static bool server_alive(struct ublkit_ctx *ctx, int32_t pid, const struct ublkit_manifest *m)
{
	if (!ublkit_pid_alive(ctx, pid))
		return false;
	if (m && m->server_pid == pid && m->server_start &&
	    proc_start_time(ctx, pid) != m->server_start)
		return false;
	return true;
}

/* Does any process hold /dev/ublkcN open? A server does from before
 * START_DEV on; used when neither the kernel nor a manifest names it. */
static int32_t cdev_holder(struct ublkit_ctx *ctx, uint32_t id)
{
	char want[32], p[4096], fdp[4400], link[64];
	struct dirent *pe, *fe;
	int32_t holder = 0;
	DIR *proc, *fds;

	snprintf(want, sizeof(want), "/dev/ublkc%u", id);
	if (ublkit_ctx_path(ctx, "/proc", p, sizeof(p)) < 0 || !(proc = opendir(p)))
		return 0;
	while (!holder && (pe = readdir(proc))) {
		if (pe->d_name[0] < '1' || pe->d_name[0] > '9')
			continue;
		snprintf(fdp, sizeof(fdp), "%s/%s/fd", p, pe->d_name);
		fds = opendir(fdp);
		while (fds && !holder && (fe = readdir(fds))) {
			char f[4700];
			ssize_t n;

			snprintf(f, sizeof(f), "%s/%s", fdp, fe->d_name);
			n = readlink(f, link, sizeof(link) - 1);
			if (n > 0 && (link[n] = '\0', strcmp(link, want) == 0))
				holder = (int32_t)atoi(pe->d_name);
		}
		if (fds)
			closedir(fds);
	}
	closedir(proc);
	return holder;
}

/* A line of @file (as on the running system) that names @dev as a whole word. */
static bool file_mentions(struct ublkit_ctx *ctx, const char *file, const char *dev)
{
	_cleanup_fclose_ FILE *f = NULL;
	char line[1024], p[4096];
	size_t len = strlen(dev);

	if (ublkit_ctx_path(ctx, file, p, sizeof(p)) < 0)
		return false;
	f = fopen(p, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *hit = strstr(line, dev);

		if (hit && (hit[len] == ' ' || hit[len] == '\t' || hit[len] == '\n'))
			return true;
	}
	return false;
}

static bool disk_in_use(struct ublkit_ctx *ctx, uint32_t id)
{
	char dev[32], holders[64], p[4096];
	bool held = false;
	DIR *d;

	ublkit_ublk_block_path(id, dev, sizeof(dev));
	if (file_mentions(ctx, "/proc/swaps", dev) || file_mentions(ctx, "/proc/mounts", dev))
		return true;
	/* device-mapper or md stacked on top */
	snprintf(holders, sizeof(holders), "/sys/block/ublkb%u/holders", id);
	if (ublkit_ctx_path(ctx, holders, p, sizeof(p)) < 0)
		return false;
	d = opendir(p);
	if (d) {
		struct dirent *de;

		while ((de = readdir(d)))
			held |= de->d_name[0] != '.';
		closedir(d);
	}
	return held;
}

int orphan_check(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_orphan *o,
		 struct ublkit_manifest *m)
{
	int r;

	memset(o, 0, sizeof(*o));
	r = ublkit_ublk_get_info(ctx, id, &o->info);
	if (r < 0)
		return r;
	o->ublkit_owned = ublkit_dev_info_is_ublkit(&o->info);
	o->has_manifest = ublkit_manifest_read(ctx, id, m) == 0;
	o->server_pid = o->info.server_pid;
	if (o->server_pid <= 0 && o->has_manifest)
		o->server_pid = m->server_pid;
	if (o->server_pid <= 0)
		o->server_pid = cdev_holder(ctx, id);
	if (server_alive(ctx, o->server_pid, o->has_manifest ? m : NULL))
		return 0;
	o->reason = o->info.state == UBLKIT_DEV_DEAD ? UBLKIT_ORPHAN_DEAD
						     : UBLKIT_ORPHAN_SERVER_GONE;
	o->recoverable = o->info.state == UBLKIT_DEV_QUIESCED &&
			 (o->info.flags & UBLKIT_F_USER_RECOVERY) && o->has_manifest &&
			 target_survives_server(m->target);
	if (o->info.state != UBLKIT_DEV_DEAD)
		o->in_use = disk_in_use(ctx, id);
	return 0;
}

UBLKIT_EXPORT int ublkit_orphan_check(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_orphan *o)
{
	struct ublkit_manifest m;

	return orphan_check(ctx, id, o, &m);
}

UBLKIT_EXPORT int ublkit_orphans_detect(struct ublkit_ctx *ctx, struct ublkit_orphan **ret)
{
	_cleanup_free_ uint32_t *ids = NULL;
	struct ublkit_orphan *v;
	int n, k = 0;

	*ret = NULL;
	n = ublkit_ublk_list(ctx, &ids);
	if (n <= 0)
		return n;
	v = calloc((size_t)n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		int r = ublkit_orphan_check(ctx, ids[i], &v[k]);

		if (r == -ENODEV)
			continue; /* went away while we looked */
		if (r < 0) {
			free(v);
			return r;
		}
		if (v[k].reason != UBLKIT_ORPHAN_NOT)
			k++;
	}
	*ret = v;
	return k;
}

static int cleanup_one(struct ublkit_ctx *ctx, const struct ublkit_orphan *o, unsigned int flags,
		       int *error)
{
	bool recover = o->recoverable && !(flags & UBLKIT_CLEANUP_NO_RECOVER);

	*error = 0;
	/* Recovery keeps the block device; deleting a used one loses data. */
	if (!recover && o->in_use && !(flags & UBLKIT_CLEANUP_FORCE))
		return UBLKIT_CLEANUP_SKIPPED;
	if (flags & UBLKIT_CLEANUP_DRY_RUN)
		return recover ? UBLKIT_CLEANUP_RECOVERED : UBLKIT_CLEANUP_DELETED;
	*error = recover ? ublkit_recover(ctx, o->info.id, 0, NULL) : ublk_stop_delete(ctx, o->info.id);
	if (*error < 0) {
		log_error(ctx, "ublk%u: %s failed: %s", o->info.id, recover ? "recovery" : "delete",
			  strerror(-*error));
		return UBLKIT_CLEANUP_FAILED;
	}
	return recover ? UBLKIT_CLEANUP_RECOVERED : UBLKIT_CLEANUP_DELETED;
}

UBLKIT_EXPORT int ublkit_orphans_cleanup(struct ublkit_ctx *ctx, unsigned int flags,
					 ublkit_cleanup_fn fn, void *userdata)
{
	_cleanup_free_ struct ublkit_orphan *v = NULL;
	int n, error, action;

	n = ublkit_orphans_detect(ctx, &v);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		action = cleanup_one(ctx, &v[i], flags, &error);
		if (fn)
			fn(&v[i], action, error, userdata);
	}
	return n;
}

UBLKIT_EXPORT int ublkit_recover(struct ublkit_ctx *ctx, uint32_t id, unsigned int flags,
				 struct ublkit_spawn_result *res)
{
	struct ublkit_manifest m;
	struct ublkit_orphan o;
	int r;

	r = orphan_check(ctx, id, &o, &m);
	if (r < 0)
		return r;
	if (!o.has_manifest) {
		log_error(ctx, "ublk%u: ublkit has no manifest for it (not created by ublkit here)", id);
		return -ENOENT;
	}
	if (!(o.info.flags & UBLKIT_F_USER_RECOVERY)) {
		log_error(ctx, "ublk%u was created without --recovery", id);
		return -EOPNOTSUPP;
	}
	if (!target_survives_server(m.target)) {
		log_error(ctx, "ublk%u: its %s store died with its server", id, m.target);
		return -EOPNOTSUPP;
	}
	if (o.reason == UBLKIT_ORPHAN_NOT) {
		log_error(ctx, "ublk%u: its server (pid %d) is alive", id, o.info.server_pid);
		return -EBUSY;
	}
	if (o.info.state != UBLKIT_DEV_QUIESCED) {
		log_error(ctx, "ublk%u is %s, not quiesced: it cannot be recovered", id,
			  ublkit_dev_state_name(o.info.state));
		return -EBUSY;
	}
	m.params.dev_id = (int32_t)id;
	return ublkit_server_spawn(ctx, &m.params, m.target, m.target_arg, (int)id, flags, res);
}
