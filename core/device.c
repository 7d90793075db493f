/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device view: everything ublkit knows about one ublk device, looked
 * up once (kernel state and parameters, manifest, server, memory). This is
 * what `ublkit list` and `ublkit info` print, and what orphan handling
 * decides on: a device is an orphan when its server is gone, decided from
 * the kernel's state and the recorded server, never from device nodes
 * alone (a server between ADD_DEV and START_DEV has a char node and no
 * block node, and is not an orphan).
 */
#include "config.h"

#include <dirent.h>

#include "ublkit-private.h"
#include "proc-private.h"
#include "server-private.h"

struct ublkit_device {
	int refcount;
	struct ublkit_dev_info info;
	struct ublkit_manifest manifest;
	struct ublkit_dev_params params;
	struct proc_status mem;
	bool has_manifest;
	bool has_params;
	bool alive;
	bool recoverable;
	bool in_use;
	int reason;
	int32_t server_pid;
	uint64_t size;
	char blockdev[32];
};

UBLKIT_EXPORT const char *ublkit_orphan_reason_name(int reason)
{
	switch (reason) {
	case UBLKIT_ORPHAN_DEAD: return "dead";
	case UBLKIT_ORPHAN_SERVER_GONE: return "server-gone";
	default: return "none";
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

static void device_classify(struct ublkit_ctx *ctx, struct ublkit_device *d)
{
	const struct ublkit_manifest *m = d->has_manifest ? &d->manifest : NULL;
	uint32_t id = d->info.id;

	d->server_pid = d->info.server_pid;
	if (d->server_pid <= 0 && m)
		d->server_pid = m->server_pid;
	if (d->server_pid <= 0)
		d->server_pid = cdev_holder(ctx, id);
	d->alive = server_alive(ctx, d->server_pid, m);
	if (d->alive) {
		char pid[16];

		snprintf(pid, sizeof(pid), "%d", d->server_pid);
		(void)proc_status_read(ctx, pid, &d->mem);
		return;
	}
	d->reason = d->info.state == UBLKIT_DEV_DEAD ? UBLKIT_ORPHAN_DEAD
						     : UBLKIT_ORPHAN_SERVER_GONE;
	d->recoverable = d->info.state == UBLKIT_DEV_QUIESCED &&
			 (d->info.flags & UBLKIT_F_USER_RECOVERY) && m &&
			 (ublkit_target_flags(m->target) & UBLKIT_TARGET_SURVIVES_SERVER);
	if (d->info.state != UBLKIT_DEV_DEAD)
		d->in_use = disk_in_use(ctx, id);
}

/* Only what is needed to classify (orphan handling), without GET_PARAMS. */
int device_load(struct ublkit_ctx *ctx, uint32_t id, bool full, struct ublkit_device **ret)
{
	struct ublkit_device *d;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->refcount = 1;
	r = ublkit_ublk_get_info(ctx, id, &d->info);
	if (r < 0) {
		free(d);
		return r;
	}
	d->has_manifest = ublkit_manifest_read(ctx, id, &d->manifest) == 0;
	device_classify(ctx, d);
	if (full) {
		d->has_params = ublkit_ublk_get_params(ctx, id, &d->params) == 0;
		(void)ublkit_ublk_disk_size(ctx, id, &d->size);
		if (d->size)
			ublkit_ublk_block_path(id, d->blockdev, sizeof(d->blockdev));
		else if (d->has_params)
			d->size = d->params.size;
		else if (d->has_manifest)
			d->size = d->manifest.params.size;
	}
	*ret = d;
	return 0;
}

UBLKIT_EXPORT int ublkit_device_new(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_device **ret)
{
	if (!ctx || !ret)
		return -EINVAL;
	return device_load(ctx, id, true, ret);
}

UBLKIT_EXPORT struct ublkit_device *ublkit_device_ref(struct ublkit_device *d)
{
	if (d)
		d->refcount++;
	return d;
}

UBLKIT_EXPORT struct ublkit_device *ublkit_device_unref(struct ublkit_device *d)
{
	if (d && --d->refcount == 0)
		free(d);
	return NULL;
}

int devices_get(struct ublkit_ctx *ctx, bool full, bool orphans_only,
		struct ublkit_device ***ret)
{
	_cleanup_free_ uint32_t *ids = NULL;
	struct ublkit_device **v;
	int n, k = 0;

	*ret = NULL;
	n = ublkit_ublk_list(ctx, &ids);
	if (n <= 0)
		return n;
	v = calloc((size_t)n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		int r = device_load(ctx, ids[i], full, &v[k]);

		if (r == -ENODEV)
			continue; /* went away while we looked */
		if (r < 0) {
			while (k > 0)
				ublkit_device_unref(v[--k]);
			free(v);
			return r;
		}
		if (orphans_only && v[k]->reason == UBLKIT_ORPHAN_NOT)
			v[k] = ublkit_device_unref(v[k]);
		else
			k++;
	}
	*ret = v;
	return k;
}

UBLKIT_EXPORT int ublkit_devices_get(struct ublkit_ctx *ctx, struct ublkit_device ***ret)
{
	return devices_get(ctx, true, false, ret);
}

UBLKIT_EXPORT uint32_t ublkit_device_get_id(const struct ublkit_device *d)
{
	return d->info.id;
}

UBLKIT_EXPORT const struct ublkit_dev_info *ublkit_device_get_info(const struct ublkit_device *d)
{
	return &d->info;
}

UBLKIT_EXPORT int ublkit_device_get_state(const struct ublkit_device *d)
{
	return d->info.state;
}

UBLKIT_EXPORT bool ublkit_device_is_ublkit(const struct ublkit_device *d)
{
	return ublkit_dev_info_is_ublkit(&d->info);
}

UBLKIT_EXPORT int32_t ublkit_device_get_server_pid(const struct ublkit_device *d)
{
	return d->server_pid > 0 ? d->server_pid : 0;
}

UBLKIT_EXPORT bool ublkit_device_is_server_alive(const struct ublkit_device *d)
{
	return d->alive;
}

UBLKIT_EXPORT int ublkit_device_get_orphan_reason(const struct ublkit_device *d)
{
	return d->reason;
}

UBLKIT_EXPORT bool ublkit_device_is_recoverable(const struct ublkit_device *d)
{
	return d->recoverable;
}

UBLKIT_EXPORT bool ublkit_device_is_in_use(const struct ublkit_device *d)
{
	return d->in_use;
}

UBLKIT_EXPORT const struct ublkit_manifest *ublkit_device_get_manifest(const struct ublkit_device *d)
{
	return d->has_manifest ? &d->manifest : NULL;
}

UBLKIT_EXPORT const char *ublkit_device_get_target(const struct ublkit_device *d)
{
	return d->has_manifest ? d->manifest.target : NULL;
}

UBLKIT_EXPORT const char *ublkit_device_get_target_arg(const struct ublkit_device *d)
{
	return d->has_manifest && d->manifest.target_arg[0] ? d->manifest.target_arg : NULL;
}

UBLKIT_EXPORT const struct ublkit_dev_params *ublkit_device_get_params(const struct ublkit_device *d)
{
	return d->has_params ? &d->params : NULL;
}

UBLKIT_EXPORT uint64_t ublkit_device_get_size(const struct ublkit_device *d)
{
	return d->size;
}

UBLKIT_EXPORT const char *ublkit_device_get_block_device(const struct ublkit_device *d)
{
	return d->blockdev[0] ? d->blockdev : NULL;
}

UBLKIT_EXPORT uint64_t ublkit_device_get_server_resident(const struct ublkit_device *d)
{
	return d->mem.vm_rss;
}

UBLKIT_EXPORT uint64_t ublkit_device_get_server_locked(const struct ublkit_device *d)
{
	return d->mem.vm_lck;
}

UBLKIT_EXPORT uint64_t ublkit_device_get_server_swapped(const struct ublkit_device *d)
{
	return d->mem.vm_swap;
}
