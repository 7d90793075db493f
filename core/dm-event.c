/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dm events the way the kernel offers them (driver 4.37, Linux 4.14):
 * an fd of the control device that DM_DEV_ARM_POLL armed polls readable
 * once any device has signalled an event since; each device's event
 * counter then tells which. Re-arm before looking, so that an event that
 * comes during the look wakes the next poll.
 *
 * The monitor has a control fd of its own (libdevmapper's is private and
 * shared), and the ioctl is the kernel's ABI from linux/dm-ioctl.h.
 */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <linux/dm-ioctl.h>
#include <sys/ioctl.h>

#include "ublkit-private.h"
#include "dm-private.h"

struct ublkit_dm_monitor {
	int refcount;
	struct ublkit_ctx *ctx;
	unsigned int flags;
	int fd;
	struct dm_dev_entry *seen;
	int nseen;
};

static int arm(struct ublkit_dm_monitor *m)
{
	struct dm_ioctl dmi = {
		.version = { DM_VERSION_MAJOR, 37, 0 },
		.data_size = sizeof(dmi),
		.data_start = sizeof(dmi),
	};

	if (ioctl(m->fd, DM_DEV_ARM_POLL, &dmi) < 0)
		return errno == EINVAL || errno == ENOTTY ? -ENOTSUP : neg_errno();
	return 0;
}

static bool wanted(const struct ublkit_dm_monitor *m, const struct dm_dev_entry *e)
{
	if (m->flags & UBLKIT_DM_MONITOR_ALL)
		return true;
	return ublkit_dm_uuid_is_ublkit(e->uuid) && dm_kind_from_uuid(e->uuid) != UBLKIT_DM_PART;
}

UBLKIT_EXPORT int ublkit_dm_monitor_new(struct ublkit_ctx *ctx, unsigned int flags,
					struct ublkit_dm_monitor **ret)
{
	struct ublkit_dm_monitor *m;
	int r;

	if (!ctx || !ret || (flags & ~UBLKIT_DM_MONITOR_ALL))
		return -EINVAL;
	if (ublkit_ctx_is_sysroot(ctx))
		return -EXDEV;
	r = ublkit_kmod_load(ctx, "dm_mod", 0);
	if (r < 0 && r != -EPERM)
		return log_ret(ctx, r, "cannot load dm_mod");
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->refcount = 1;
	m->ctx = ublkit_ctx_ref(ctx);
	m->flags = flags;
	m->fd = ublkit_open(ctx, "/dev/mapper/control", O_RDWR | O_CLOEXEC);
	if (m->fd < 0) {
		r = log_ret(ctx, m->fd, "cannot open /dev/mapper/control");
		ublkit_dm_monitor_unref(m);
		return r;
	}
	r = arm(m);
	if (r >= 0) {
		r = dm_list_entries(ctx, &m->seen);
		if (r >= 0)
			m->nseen = r;
	}
	dm_log_enter(NULL);
	if (r < 0) {
		log_error(ctx, "cannot follow device-mapper events: %s%s", strerror(-r),
			  r == -ENOTSUP ? " (the kernel's device-mapper predates event polling)" : "");
		ublkit_dm_monitor_unref(m);
		return r;
	}
	*ret = m;
	return 0;
}

UBLKIT_EXPORT struct ublkit_dm_monitor *ublkit_dm_monitor_ref(struct ublkit_dm_monitor *m)
{
	if (m)
		__atomic_add_fetch(&m->refcount, 1, __ATOMIC_RELAXED);
	return m;
}

UBLKIT_EXPORT struct ublkit_dm_monitor *ublkit_dm_monitor_unref(struct ublkit_dm_monitor *m)
{
	if (!m || __atomic_sub_fetch(&m->refcount, 1, __ATOMIC_ACQ_REL) > 0)
		return NULL;
	if (m->fd >= 0)
		close(m->fd);
	free(m->seen);
	ublkit_ctx_unref(m->ctx);
	free(m);
	return NULL;
}

UBLKIT_EXPORT int ublkit_dm_monitor_get_fd(const struct ublkit_dm_monitor *m)
{
	return m->fd;
}

static const char *const event_names[] = {
	[UBLKIT_DM_EVENT_ADDED] = "added",
	[UBLKIT_DM_EVENT_REMOVED] = "removed",
	[UBLKIT_DM_EVENT_CHANGED] = "changed",
	[UBLKIT_DM_EVENT_LOW_WATER] = "low-water",
	[UBLKIT_DM_EVENT_OUT_OF_SPACE] = "out-of-space",
	[UBLKIT_DM_EVENT_FAILED] = "failed",
};

UBLKIT_EXPORT const char *ublkit_dm_event_type_name(int type)
{
	return type >= 0 && (size_t)type < ARRAY_SIZE(event_names) ? event_names[type] : NULL;
}

static int emit(struct ublkit_dm_monitor *m, const struct dm_dev_entry *e, int type,
		ublkit_dm_event_fn fn, void *userdata)
{
	struct ublkit_dm_status *st = NULL;
	struct ublkit_dm_event ev = {
		.type = type,
		.name = e->name,
		.uuid = e->uuid,
		.kind = ublkit_dm_uuid_is_ublkit(e->uuid) ? dm_kind_from_uuid(e->uuid)
							  : UBLKIT_DM_UNKNOWN,
		.event_nr = e->event_nr,
	};
	char msg[512];
	int r;

	if (type != UBLKIT_DM_EVENT_REMOVED && ublkit_dm_status_get(m->ctx, e->name, &st) == 0) {
		ev.status = st;
		ev.kind = ublkit_dm_status_get_kind(st);
	}
	if (type == UBLKIT_DM_EVENT_CHANGED && st)
		ev.type = dm_status_classify(st, msg, sizeof(msg));
	else
		snprintf(msg, sizeof(msg), "%s: %s", e->name,
			 type == UBLKIT_DM_EVENT_ADDED	 ? "the device appeared"
			 : type == UBLKIT_DM_EVENT_REMOVED ? "the device went away"
							   : "the device signalled an event");
	ev.message = msg;
	r = fn ? fn(&ev, userdata) : 0;
	ublkit_dm_status_unref(st);
	return r;
}

static const struct dm_dev_entry *find(const struct dm_dev_entry *v, int n,
				       const struct dm_dev_entry *e)
{
	for (int i = 0; i < n; i++)
		if (v[i].devnum == e->devnum && !strcmp(v[i].name, e->name))
			return &v[i];
	return NULL;
}

static int compare(struct ublkit_dm_monitor *m, struct dm_dev_entry *now, int n,
		   ublkit_dm_event_fn fn, void *userdata)
{
	int events = 0, r;

	for (int i = 0; i < n; i++) {
		const struct dm_dev_entry *was = find(m->seen, m->nseen, &now[i]);
		int type;

		if (!wanted(m, &now[i]))
			continue;
		if (!was)
			type = UBLKIT_DM_EVENT_ADDED;
		else if (was->event_nr != now[i].event_nr)
			type = UBLKIT_DM_EVENT_CHANGED;
		else
			continue;
		events++;
		r = emit(m, &now[i], type, fn, userdata);
		if (r < 0)
			return r;
	}
	for (int i = 0; i < m->nseen; i++) {
		if (find(now, n, &m->seen[i]) || !wanted(m, &m->seen[i]))
			continue;
		events++;
		r = emit(m, &m->seen[i], UBLKIT_DM_EVENT_REMOVED, fn, userdata);
		if (r < 0)
			return r;
	}
	return events;
}

UBLKIT_EXPORT int ublkit_dm_monitor_process(struct ublkit_dm_monitor *m, ublkit_dm_event_fn fn,
					    void *userdata)
{
	struct dm_dev_entry *now = NULL;
	int n, r;

	if (!m)
		return -EINVAL;
	r = arm(m);
	if (r < 0)
		return log_ret(m->ctx, r, "cannot re-arm device-mapper events");
	n = dm_list_entries(m->ctx, &now);
	if (n < 0) {
		dm_log_enter(NULL);
		return log_ret(m->ctx, n, "cannot list device-mapper devices");
	}
	r = compare(m, now, n, fn, userdata);
	dm_log_enter(NULL);
	/* the new picture is the one to compare with next time, even after a stop */
	free(m->seen);
	m->seen = now;
	m->nseen = n;
	return r;
}
