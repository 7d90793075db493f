/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device-mapper devices through libdevmapper: the one place that calls it.
 *
 * libdevmapper returns 1/0 and keeps the ioctl's errno in the task; here
 * that becomes a negative errno. Every task that makes udev act (create,
 * resume, remove) carries a udev cookie that is waited for whether the
 * task worked or not: libdevmapper decrements the cookie's semaphore itself
 * when the ioctl failed, and dm_udev_wait() destroys it, so no semaphore
 * is left behind (`dmsetup udevcookies` stays empty).
 */
#include "config.h"

#include <dirent.h>
#include <endian.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "ublkit-private.h"
#include "ctx-private.h"
#include "dm-private.h"
#include "name-private.h"
/* mountinfo, /proc/swaps and sysfs holders: facts about block devices */
#include "swap-private.h"

/* ---- libdevmapper's log ----------------------------------------------- */

static __thread struct ublkit_ctx *dm_log_ctx;
static pthread_once_t dm_log_once = PTHREAD_ONCE_INIT;

static void dm_log_to_ctx(int level, const char *file, int line, int dm_errno_or_class,
		      const char *f, ...) _printf_(5, 6);

/*
 * libdevmapper's errors become warnings: ublkit logs its own error with
 * the device and the errno, and some of libdevmapper's "errors" are part
 * of normal work (a busy device on the first try of a remove).
 */
static void dm_log_to_ctx(int level, const char *file, int line, int dm_errno_or_class,
		      const char *f, ...)
{
	struct ublkit_ctx *ctx = dm_log_ctx;
	int prio = (level & 7) <= 4 ? UBLKIT_LOG_WARNING : UBLKIT_LOG_DEBUG;
	char msg[1024];
	va_list ap;

	if (!ctx || ublkit_ctx_get_log_priority(ctx) < prio)
		return;
	va_start(ap, f);
	vsnprintf(msg, sizeof(msg), f, ap);
	va_end(ap);
	if (!strcmp(msg, "<backtrace>"))
		return;
	ublkit_log(ctx, prio, file, line, "libdevmapper", "libdevmapper: %s", msg);
}

static void dm_log_install(void)
{
	dm_log_with_errno_init(dm_log_to_ctx);
}

void dm_log_enter(struct ublkit_ctx *ctx)
{
	pthread_once(&dm_log_once, dm_log_install);
	dm_log_ctx = ctx;
}

/* ---- tasks -------------------------------------------------------------- */

static void taskp(struct dm_task **t)
{
	if (*t)
		dm_task_destroy(*t);
}
#define _cleanup_task_ _cleanup_(taskp)

static struct dm_task *task_new(struct ublkit_ctx *ctx, int type, const char *name)
{
	struct dm_task *dmt;

	dm_log_enter(ctx);
	dmt = dm_task_create(type);
	if (!dmt)
		return NULL;
	if (name && !dm_task_set_name(dmt, name)) {
		dm_task_destroy(dmt);
		return NULL;
	}
	return dmt;
}

static int task_errno(struct dm_task *dmt)
{
	int e = dm_task_get_errno(dmt);

	return e > 0 ? -e : -EIO;
}

static int task_run(struct dm_task *dmt)
{
	return dm_task_run(dmt) ? 0 : task_errno(dmt);
}

/* Run a task that makes udev act, and wait for udev whatever happened. */
static int task_run_udev_flags(struct ublkit_ctx *ctx, struct dm_task *dmt, uint16_t flags)
{
	uint32_t cookie = 0;
	int r;

	if (!dm_task_set_cookie(dmt, &cookie, flags))
		return log_ret(ctx, -EIO, "cannot set up a udev cookie");
	r = task_run(dmt);
	if (!dm_udev_wait(cookie))
		log_warn(ctx, "waiting for udev (cookie 0x%x) failed", cookie);
	return r;
}

static int task_run_udev(struct ublkit_ctx *ctx, struct dm_task *dmt)
{
	return task_run_udev_flags(ctx, dmt, 0);
}

struct look {
	struct dm_info info;
	char uuid[DM_UUID_MAX + 1];
};

/* DM_DEVICE_INFO of @name; -ENODEV when there is no such device. */
static int dev_look(struct ublkit_ctx *ctx, const char *name, struct look *l)
{
	_cleanup_task_ struct dm_task *dmt = task_new(ctx, DM_DEVICE_INFO, name);
	const char *uuid;
	int r;

	if (!dmt)
		return -ENOMEM;
	r = task_run(dmt);
	if (r < 0)
		return r;
	if (!dm_task_get_info(dmt, &l->info))
		return -EIO;
	if (!l->info.exists)
		return -ENODEV;
	uuid = dm_task_get_uuid(dmt);
	snprintf(l->uuid, sizeof(l->uuid), "%s", uuid ? uuid : "");
	return 0;
}

/* The name of the dm device @devnum. */
static int dev_name_of(struct ublkit_ctx *ctx, dev_t devnum, char *buf, size_t size)
{
	_cleanup_task_ struct dm_task *dmt = task_new(ctx, DM_DEVICE_INFO, NULL);
	struct dm_info info;
	const char *name;
	int r;

	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_major(dmt, (int)major(devnum)) || !dm_task_set_minor(dmt, (int)minor(devnum)))
		return -EINVAL;
	r = task_run(dmt);
	if (r < 0)
		return r;
	if (!dm_task_get_info(dmt, &info) || !info.exists)
		return -ENODEV;
	name = dm_task_get_name(dmt);
	snprintf(buf, size, "%s", name ? name : "");
	return 0;
}

static int message(struct ublkit_ctx *ctx, const char *name, const char *msg)
{
	_cleanup_task_ struct dm_task *dmt = task_new(ctx, DM_DEVICE_TARGET_MSG, name);

	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_sector(dmt, 0) || !dm_task_set_message(dmt, msg))
		return -ENOMEM;
	return task_run(dmt);
}

/*
 * device-mapper is there: dm_mod loaded (or built in) and its control
 * device present. -ENOENT (logged) when not: nothing here can work then.
 */
static int dm_ready(struct ublkit_ctx *ctx)
{
	int r;

	if (ublkit_ctx_is_sysroot(ctx))
		return -EXDEV;
	r = ublkit_kmod_load(ctx, "dm_mod", 0);
	if (ublkit_exists(ctx, "/dev/mapper/control")) {
		struct dm_task *dmt = task_new(ctx, DM_DEVICE_VERSION, NULL);
		bool ok = dmt && dm_task_run(dmt);

		if (dmt)
			dm_task_destroy(dmt);
		if (ok)
			return 0;
	}
	log_error(ctx, "device-mapper is not available: %s",
		  r == -ENOENT	 ? "this kernel has no dm_mod module"
		  : r == -EPERM ? "dm_mod is not loaded and this process may not load modules"
				 : "there is no /dev/mapper/control (is dm_mod loaded?)");
	return -ENOENT;
}

/* ---- devices ------------------------------------------------------------ */

struct ublkit_dm_device {
	int refcount;
	char name[128];
	char uuid[DM_UUID_MAX + 1];
	char type[32];
	char blockdev[32];
	char owner[128];
	int kind;
	dev_t devnum;
	uint64_t size;
	struct dm_info info;
	char *table;
};

UBLKIT_EXPORT struct ublkit_dm_device *ublkit_dm_device_ref(struct ublkit_dm_device *d)
{
	if (d)
		__atomic_add_fetch(&d->refcount, 1, __ATOMIC_RELAXED);
	return d;
}

UBLKIT_EXPORT struct ublkit_dm_device *ublkit_dm_device_unref(struct ublkit_dm_device *d)
{
	if (!d || __atomic_sub_fetch(&d->refcount, 1, __ATOMIC_ACQ_REL) > 0)
		return NULL;
	free(d->table);
	free(d);
	return NULL;
}

static void devicep(struct ublkit_dm_device **d)
{
	ublkit_dm_device_unref(*d);
}
#define _cleanup_device_ _cleanup_(devicep)

/* Append "START LENGTH TYPE PARAMS\n" to the device's table text, keys masked. */
static int table_append(struct ublkit_dm_device *d, uint64_t start, uint64_t length,
			const char *type, const char *params)
{
	size_t old = d->table ? strlen(d->table) : 0;
	size_t add = strlen(type) + strlen(params ? params : "") + 64;
	char *n = realloc(d->table, old + add);
	char *p;
	int prefix;

	if (!n)
		return -ENOMEM;
	d->table = n;
	p = n + old;
	prefix = snprintf(p, add, "%s%" PRIu64 " %" PRIu64 " %s ", old ? "\n" : "", start, length,
			  type);
	snprintf(p + prefix, add - (size_t)prefix, "%s", params ? params : "");
	if (!strcmp(type, "crypt"))
		dm_mask_crypt_params(p + prefix);
	return 0;
}

/* The owner of a part: its name without "-ROLE". */
static void part_owner(struct ublkit_dm_device *d)
{
	const char *dash = strrchr(d->name, '-');

	if (d->kind == UBLKIT_DM_PART && dash)
		snprintf(d->owner, sizeof(d->owner), "%.*s", (int)(dash - d->name), d->name);
}

static int device_fill(struct ublkit_ctx *ctx, struct ublkit_dm_device *d)
{
	_cleanup_task_ struct dm_task *dmt = task_new(ctx, DM_DEVICE_TABLE, d->name);
	uint64_t start, length;
	char *type, *params;
	const char *uuid;
	void *next = NULL;
	int r;

	if (!dmt)
		return -ENOMEM;
	/* crypt tables come back with their key: have libdevmapper wipe its buffers */
	dm_task_secure_data(dmt);
	r = task_run(dmt);
	if (r < 0)
		return r == -ENXIO ? -ENODEV : r;
	if (!dm_task_get_info(dmt, &d->info))
		return -EIO;
	if (!d->info.exists)
		return -ENODEV;
	uuid = dm_task_get_uuid(dmt);
	snprintf(d->uuid, sizeof(d->uuid), "%s", uuid ? uuid : "");
	d->devnum = makedev((unsigned int)d->info.major, (unsigned int)d->info.minor);
	snprintf(d->blockdev, sizeof(d->blockdev), "/dev/dm-%u", (unsigned int)d->info.minor);
	d->table = strdup("");
	if (!d->table)
		return -ENOMEM;
	do {
		next = dm_get_next_target(dmt, next, &start, &length, &type, &params);
		if (!type)
			break;
		if (!d->type[0])
			snprintf(d->type, sizeof(d->type), "%s", type);
		d->size += length;
		r = table_append(d, start, length, type, params);
		if (r < 0)
			return r;
	} while (next);
	d->kind = ublkit_dm_uuid_is_ublkit(d->uuid) ? dm_kind_from_uuid(d->uuid)
						     : dm_kind_of_target(d->type);
	part_owner(d);
	return 0;
}

static int device_new(struct ublkit_ctx *ctx, const char *name, struct ublkit_dm_device **ret)
{
	_cleanup_device_ struct ublkit_dm_device *d = NULL;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->refcount = 1;
	snprintf(d->name, sizeof(d->name), "%s", name);
	r = device_fill(ctx, d);
	dm_log_enter(NULL);
	if (r < 0)
		return r;
	*ret = d;
	d = NULL;
	return 0;
}

UBLKIT_EXPORT int ublkit_dm_device_new(struct ublkit_ctx *ctx, const char *name,
				       struct ublkit_dm_device **ret)
{
	int r;

	if (!ctx || !ret)
		return -EINVAL;
	r = ublkit_dm_name_check(ctx, name, 0);
	if (r < 0)
		return r;
	r = dm_ready(ctx);
	return r < 0 ? r : device_new(ctx, name, ret);
}

UBLKIT_EXPORT const char *ublkit_dm_device_get_name(const struct ublkit_dm_device *d)
{
	return d->name;
}

UBLKIT_EXPORT const char *ublkit_dm_device_get_uuid(const struct ublkit_dm_device *d)
{
	return d->uuid;
}

UBLKIT_EXPORT int ublkit_dm_device_get_kind(const struct ublkit_dm_device *d)
{
	return d->kind;
}

UBLKIT_EXPORT bool ublkit_dm_device_is_ublkit(const struct ublkit_dm_device *d)
{
	return ublkit_dm_uuid_is_ublkit(d->uuid);
}

UBLKIT_EXPORT const char *ublkit_dm_device_get_target_type(const struct ublkit_dm_device *d)
{
	return d->type;
}

UBLKIT_EXPORT dev_t ublkit_dm_device_get_devnum(const struct ublkit_dm_device *d)
{
	return d->devnum;
}

UBLKIT_EXPORT const char *ublkit_dm_device_get_block_device(const struct ublkit_dm_device *d)
{
	return d->blockdev;
}

UBLKIT_EXPORT uint64_t ublkit_dm_device_get_size(const struct ublkit_dm_device *d)
{
	return d->size;
}

UBLKIT_EXPORT bool ublkit_dm_device_is_suspended(const struct ublkit_dm_device *d)
{
	return d->info.suspended;
}

UBLKIT_EXPORT bool ublkit_dm_device_is_read_only(const struct ublkit_dm_device *d)
{
	return d->info.read_only;
}

UBLKIT_EXPORT bool ublkit_dm_device_has_live_table(const struct ublkit_dm_device *d)
{
	return d->info.live_table;
}

UBLKIT_EXPORT bool ublkit_dm_device_has_inactive_table(const struct ublkit_dm_device *d)
{
	return d->info.inactive_table;
}

UBLKIT_EXPORT int ublkit_dm_device_get_open_count(const struct ublkit_dm_device *d)
{
	return d->info.open_count;
}

UBLKIT_EXPORT uint32_t ublkit_dm_device_get_event_nr(const struct ublkit_dm_device *d)
{
	return d->info.event_nr;
}

UBLKIT_EXPORT const char *ublkit_dm_device_get_owner(const struct ublkit_dm_device *d)
{
	return d->owner[0] ? d->owner : NULL;
}

UBLKIT_EXPORT const char *ublkit_dm_device_get_table(const struct ublkit_dm_device *d)
{
	return d->table ? d->table : "";
}

/* Every device's name and device number (DM_DEVICE_LIST). */
static int list_names(struct ublkit_ctx *ctx, struct dm_dev_entry **ret)
{
	_cleanup_task_ struct dm_task *dmt = task_new(ctx, DM_DEVICE_LIST, NULL);
	struct dm_dev_entry *v = NULL;
	struct dm_names *names;
	unsigned int next = 0;
	int n = 0, r;

	if (!dmt)
		return -ENOMEM;
	r = task_run(dmt);
	if (r < 0)
		return r;
	names = dm_task_get_names(dmt);
	if (names && names->dev) {
		do {
			struct dm_dev_entry *nv;

			names = (struct dm_names *)((char *)names + next);
			nv = realloc(v, sizeof(*v) * (size_t)(n + 1));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			memset(&v[n], 0, sizeof(v[n]));
			snprintf(v[n].name, sizeof(v[n].name), "%s", names->name);
			v[n].devnum = (dev_t)names->dev;
			n++;
			next = names->next;
		} while (next);
	}
	*ret = v;
	return n;
}

int dm_list_entries(struct ublkit_ctx *ctx, struct dm_dev_entry **ret)
{
	struct dm_dev_entry *v = NULL;
	int n;

	n = list_names(ctx, &v);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		struct look l;

		/* gone since the list: leave its uuid empty and its counter at 0 */
		if (dev_look(ctx, v[i].name, &l) < 0)
			continue;
		snprintf(v[i].uuid, sizeof(v[i].uuid), "%s", l.uuid);
		v[i].event_nr = l.info.event_nr;
	}
	*ret = v;
	return n;
}

static int by_name(const void *a, const void *b)
{
	const struct ublkit_dm_device *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

UBLKIT_EXPORT int ublkit_dm_list(struct ublkit_ctx *ctx, unsigned int flags,
				 struct ublkit_dm_device ***ret)
{
	_cleanup_free_ struct dm_dev_entry *names = NULL;
	struct ublkit_dm_device **v;
	int n, count = 0;

	if (!ctx || !ret)
		return -EINVAL;
	n = dm_ready(ctx);
	if (n < 0)
		return n;
	n = list_names(ctx, &names);
	dm_log_enter(NULL);
	if (n < 0)
		return log_ret(ctx, n, "cannot list device-mapper devices");
	v = calloc((size_t)n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		struct ublkit_dm_device *d;
		bool ours;

		if (device_new(ctx, names[i].name, &d) < 0)
			continue;	/* removed in between */
		ours = ublkit_dm_device_is_ublkit(d);
		if ((!ours && !(flags & UBLKIT_DM_LIST_ALL)) ||
		    (d->kind == UBLKIT_DM_PART && ours && !(flags & UBLKIT_DM_LIST_PARTS))) {
			ublkit_dm_device_unref(d);
			continue;
		}
		v[count++] = d;
	}
	qsort(v, (size_t)count, sizeof(*v), by_name);
	*ret = v;
	return count;
}

/* ---- status ------------------------------------------------------------- */

UBLKIT_EXPORT int ublkit_dm_status_get(struct ublkit_ctx *ctx, const char *name,
				       struct ublkit_dm_status **ret)
{
	_cleanup_device_ struct ublkit_dm_device *d = NULL;
	_cleanup_task_ struct dm_task *dmt = NULL;
	struct ublkit_dm_status *st;
	uint64_t start, length;
	char *type, *params;
	struct dm_info info;
	const char *table;
	int r;

	if (!ret)
		return -EINVAL;
	r = ublkit_dm_device_new(ctx, name, &d);
	if (r < 0)
		return r;
	dmt = task_new(ctx, DM_DEVICE_STATUS, name);
	if (!dmt)
		return -ENOMEM;
	r = task_run(dmt);
	dm_log_enter(NULL);
	if (r < 0)
		return log_ret(ctx, r, "%s: cannot read the status", name);
	if (!dm_task_get_info(dmt, &info) || !info.exists)
		return -ENODEV;
	st = dm_status_alloc(name);
	if (!st)
		return -ENOMEM;
	st->kind = d->kind;
	/* The first target tells the kind; a table of several is a foreign one. */
	dm_get_next_target(dmt, NULL, &start, &length, &type, &params);
	table = d->table ? d->table : "";
	/* skip "START LENGTH TYPE " of the first table line */
	for (int i = 0; i < 3 && *table; i++)
		table += strcspn(table, " ") + (table[strcspn(table, " ")] ? 1 : 0);
	if (type) {
		char first[1024];

		snprintf(first, sizeof(first), "%.*s", (int)strcspn(table, "\n"), table);
		r = dm_status_parse(st, type, d->size, params, first);
		if (r < 0) {
			log_error(ctx, "%s: cannot make sense of the %s status '%s'", name, type,
				  params ? params : "");
			ublkit_dm_status_unref(st);
			return r;
		}
	} else {
		dm_status_set(st, UBLKIT_DM_SIZE_SECTORS, 0);
	}
	*ret = st;
	return 0;
}

/* ---- who holds a device ------------------------------------------------- */

/* A process (not this one) with @devnum open: "open in process PID (COMM)". */
static bool process_holding(struct ublkit_ctx *ctx, dev_t devnum, char *buf, size_t size)
{
	char proc[4096];
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (ublkit_ctx_path(ctx, "/proc", proc, sizeof(proc)) < 0)
		return false;
	d = opendir(proc);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		char fddir[4200], comm[64] = "?", rel[64];
		int pid = atoi(de->d_name);
		struct dirent *fe;
		DIR *fds;

		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(fddir, sizeof(fddir), "%.4096s/%d/fd", proc, pid);
		fds = opendir(fddir);
		if (!fds)
			continue;
		while (!found && (fe = readdir(fds))) {
			char p[4400];
			struct stat st;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%d", fddir, atoi(fe->d_name));
			if (stat(p, &st) < 0)
				continue;
			found = S_ISBLK(st.st_mode) && st.st_rdev == devnum;
		}
		closedir(fds);
		if (found) {
			snprintf(rel, sizeof(rel), "/proc/%d/comm", pid);
			(void)ublkit_read_line(ctx, rel, comm, sizeof(comm));
			snprintf(buf, size, "open in process %d (%s)", pid, comm);
		}
	}
	closedir(d);
	return found;
}

static int holder_of(struct ublkit_ctx *ctx, const char *name, dev_t devnum, int open_count,
		     char *buf, size_t size)
{
	struct file_id id = { .is_blk = true, .rdev = devnum };
	unsigned int maj = major(devnum), min = minor(devnum);
	char what[256], mapper[256], p[4096];
	struct ublkit_swap_area area;

	buf[0] = '\0';
	if (blockdev_held(ctx, maj, min, what, sizeof(what))) {
		char holder[128] = "", rel[300];

		snprintf(rel, sizeof(rel), "/sys/block/%s/dm/name", what);
		(void)ublkit_read_line(ctx, rel, holder, sizeof(holder));
		snprintf(buf, size, "held by %s%s%s%s", what, holder[0] ? " (" : "", holder,
			 holder[0] ? ")" : "");
		return 1;
	}
	snprintf(mapper, sizeof(mapper), "/dev/mapper/%s", name);
	if (blockdev_mounted(ctx, maj, min, mapper, what, sizeof(what))) {
		snprintf(buf, size, "mounted on %s", what);
		return 1;
	}
	if (swaps_find(ctx, NULL, &id, &area, p, sizeof(p)) == 0) {
		snprintf(buf, size, "active swap (%s)", area.path);
		return 1;
	}
	if (open_count <= 0)
		return 0;
	if (!process_holding(ctx, devnum, buf, size))
		snprintf(buf, size, "open %d time%s (by the kernel, or a process out of sight)",
			 open_count, open_count == 1 ? "" : "s");
	return 1;
}

UBLKIT_EXPORT int ublkit_dm_get_holder(struct ublkit_ctx *ctx, const char *name, char *buf,
				       size_t size)
{
	struct look l;
	int r;

	if (!ctx || !buf || !size)
		return -EINVAL;
	r = ublkit_dm_name_check(ctx, name, 0);
	if (r < 0)
		return r;
	r = dm_ready(ctx);
	if (r < 0)
		return r;
	r = dev_look(ctx, name, &l);
	dm_log_enter(NULL);
	if (r < 0)
		return r;
	return holder_of(ctx, name, makedev((unsigned int)l.info.major, (unsigned int)l.info.minor),
			 l.info.open_count, buf, size);
}

/* ---- lifecycle ---------------------------------------------------------- */

/* @name exists and is ublkit's: 0; else -ENODEV or -EPERM, logged. */
static int check_ours(struct ublkit_ctx *ctx, const char *name, const char *what, struct look *l)
{
	int r = ublkit_dm_name_check(ctx, name, 0);

	if (r < 0)
		return r;
	r = dm_ready(ctx);
	if (r < 0)
		return r;
	r = dev_look(ctx, name, l);

	if (r == -ENODEV) {
		log_error(ctx, "there is no device-mapper device '%s'", name);
		return r;
	}
	if (r < 0)
		return log_ret(ctx, r, "%s", name);
	if (!ublkit_dm_uuid_is_ublkit(l->uuid)) {
		log_error(ctx, "%s was not created by ublkit (its DM UUID '%s' lacks the %s prefix): "
			  "ublkit does not %s it; use dmsetup if that is what you mean", name,
			  l->uuid, UBLKIT_DM_UUID_PREFIX, what);
		return -EPERM;
	}
	return 0;
}

static int remove_one(struct ublkit_ctx *ctx, const char *name, bool retry)
{
	_cleanup_task_ struct dm_task *dmt = task_new(ctx, DM_DEVICE_REMOVE, name);

	if (!dmt)
		return -ENOMEM;
	/* udev's rules open a device for a moment after each change: retry through that */
	if (retry)
		dm_task_retry_remove(dmt);
	return task_run_udev(ctx, dmt);
}

static int resume_one(struct ublkit_ctx *ctx, const char *name)
{
	_cleanup_task_ struct dm_task *dmt = task_new(ctx, DM_DEVICE_RESUME, name);

	if (!dmt)
		return -ENOMEM;
	return task_run_udev(ctx, dmt);
}

static int suspend_one(struct ublkit_ctx *ctx, const char *name, unsigned int flags)
{
	_cleanup_task_ struct dm_task *dmt = task_new(ctx, DM_DEVICE_SUSPEND, name);

	if (!dmt)
		return -ENOMEM;
	if ((flags & UBLKIT_DM_NOFLUSH) && !dm_task_no_flush(dmt))
		return -ENOMEM;
	return task_run(dmt);
}

static int clear_inactive(struct ublkit_ctx *ctx, const char *name)
{
	_cleanup_task_ struct dm_task *dmt = task_new(ctx, DM_DEVICE_CLEAR, name);

	if (!dmt)
		return -ENOMEM;
	return task_run(dmt);
}

static const char *kind_module(int kind)
{
	switch (kind) {
	case UBLKIT_DM_STRIPED: return "dm_mod";
	case UBLKIT_DM_CRYPT: return "dm_crypt";
	case UBLKIT_DM_THIN_POOL:
	case UBLKIT_DM_THIN: return "dm_thin_pool";
	case UBLKIT_DM_CACHE: return "dm_cache_smq";	/* pulls in dm_cache */
	default: return "dm_mod";
	}
}

static int load_modules(struct ublkit_ctx *ctx, int kind)
{
	const char *mods[] = { "dm_mod", kind_module(kind) };

	for (size_t i = 0; i < ARRAY_SIZE(mods); i++) {
		int r = ublkit_kmod_load(ctx, mods[i], 0);

		if (r == -ENOENT || r == -ECANCELED) {
			log_error(ctx, "the %s target needs the kernel module %s, which %s",
				  ublkit_dm_kind_name(kind), mods[i],
				  r == -ENOENT ? "this kernel does not have"
					       : "modprobe configuration disables");
			return -ENOENT;
		}
		/* not allowed to load modules (a container): the kernel may have them anyway */
		if (r < 0 && r != -EPERM)
			return log_ret(ctx, r, "cannot load %s", mods[i]);
	}
	return 0;
}

/* Create and activate @name with one target; the key of @params is wiped by the caller. */
static int create_one(struct ublkit_ctx *ctx, const char *name, const char *uuid, uint64_t size,
		      const char *type, const char *params, bool read_only, bool hidden)
{
	/* a part is its owner's business: no blkid probe, no by-id links, as lvm's sub-volumes */
	uint16_t flags = hidden ? DM_UDEV_DISABLE_DISK_RULES_FLAG | DM_UDEV_DISABLE_OTHER_RULES_FLAG
				: 0;
	_cleanup_task_ struct dm_task *dmt = NULL;

	if (name_check_dm_uuid(ctx, uuid) < 0)
		return -EINVAL;
	dmt = task_new(ctx, DM_DEVICE_CREATE, name);
	if (!dmt)
		return -ENOMEM;
	dm_task_secure_data(dmt);
	if (!dm_task_set_uuid(dmt, uuid) || !dm_task_add_target(dmt, 0, size, type, params))
		return -ENOMEM;
	if (read_only && !dm_task_set_ro(dmt))
		return -ENOMEM;
	return task_run_udev_flags(ctx, dmt, flags);
}

static int load_one(struct ublkit_ctx *ctx, const char *name, uint64_t size, const char *type,
		    const char *params)
{
	_cleanup_task_ struct dm_task *dmt = task_new(ctx, DM_DEVICE_RELOAD, name);

	if (!dmt)
		return -ENOMEM;
	dm_task_secure_data(dmt);
	if (!dm_task_add_target(dmt, 0, size, type, params))
		return -ENOMEM;
	return task_run(dmt);
}

static int part_name(const char *owner, const struct dm_slot *s, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s-%s", owner, s->role);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Remove the parts of @owner that exist and are ublkit's parts of it. */
static void remove_parts(struct ublkit_ctx *ctx, const char *owner)
{
	static const char *const roles[] = { "tmeta", "tdata", "cmeta", "cfast", "corig" };

	for (size_t i = 0; i < ARRAY_SIZE(roles); i++) {
		char name[256], tail[300];
		struct look l;
		int r;

		snprintf(name, sizeof(name), "%s-%s", owner, roles[i]);
		snprintf(tail, sizeof(tail), "-%s", name);
		if (dev_look(ctx, name, &l) < 0 || dm_kind_from_uuid(l.uuid) != UBLKIT_DM_PART ||
		    strlen(l.uuid) < strlen(tail) ||
		    strcmp(l.uuid + strlen(l.uuid) - strlen(tail), tail) != 0)
			continue;
		r = remove_one(ctx, name, true);
		if (r < 0)
			log_error(ctx, "cannot remove %s, a part of %s: %s", name, owner,
				  strerror(-r));
	}
}

static int create_parts(struct ublkit_ctx *ctx, const char *owner, struct ublkit_dm_table *t)
{
	for (unsigned int i = 0; i < t->nslots; i++) {
		struct dm_slot *s = &t->slot[i];
		char name[256], uuid[DM_UUID_MAX + 1], params[128];
		struct look l;
		int r;

		if (!s->part)
			continue;
		r = part_name(owner, s, name, sizeof(name));
		if (r >= 0)
			r = dm_part_uuid(s, owner, uuid, sizeof(uuid));
		if (r < 0)
			return log_ret(ctx, r, "%s: the name is too long for its parts", owner);
		snprintf(params, sizeof(params), "%u:%u %" PRIu64, major(s->devnum), minor(s->devnum),
			 s->offset);
		r = create_one(ctx, name, uuid, s->length, "linear", params, false, true);
		if (r == -EBUSY)
			log_error(ctx, "cannot create %s: a device with that name or UUID exists",
				  name);
		else if (r < 0)
			log_error(ctx, "cannot create %s (%s of %s): %s", name, s->role, owner,
				  strerror(-r));
		if (r < 0)
			return r;
		r = dev_look(ctx, name, &l);
		if (r < 0)
			return r;
		s->use = makedev((unsigned int)l.info.major, (unsigned int)l.info.minor);
	}
	return 0;
}

/* The pool and thin id of a "thin" table line's parameters ("MAJ:MIN ID ..."). */
static int thin_params_ref(const char *params, dev_t *pool, uint32_t *thin_id)
{
	unsigned int maj, min;
	unsigned long long id;

	if (sscanf(params, "%u:%u %llu", &maj, &min, &id) != 3 || id > UINT32_MAX)
		return -EINVAL;
	*pool = makedev(maj, min);
	*thin_id = (uint32_t)id;
	return 0;
}

/* The thin id of a "thin" table line's parameters on pool @pool, or -1. */
static long long thin_id_of(const char *params, dev_t pool)
{
	dev_t on;
	uint32_t id;

	if (thin_params_ref(params, &on, &id) < 0 || on != pool)
		return -1;
	return id;
}

int dm_thin_table_ref(const char *table, dev_t *pool, uint32_t *thin_id)
{
	const char *line = table;

	/* start, length, type: a device created but never loaded has no table ("") */
	for (int k = 0; k < 3; k++) {
		line += strcspn(line, " ");
		if (!*line)
			return -EINVAL;
		line++;
	}
	return thin_params_ref(line, pool, thin_id);
}

/* One more than the highest id of the thin volumes of ublkit's on @pool. */
static uint32_t next_thin_id(struct ublkit_ctx *ctx, dev_t pool)
{
	struct ublkit_dm_device **v = NULL;
	long long max = -1;
	int n = ublkit_dm_list(ctx, 0, &v);

	for (int i = 0; i < n; i++) {
		dev_t on;
		uint32_t id;

		if (!strcmp(v[i]->type, "thin") && v[i]->table &&
		    dm_thin_table_ref(v[i]->table, &on, &id) == 0 && on == pool && id > max)
			max = id;
		ublkit_dm_device_unref(v[i]);
	}
	free(v);
	return (uint32_t)(max + 1);
}

/* Is thin id @id of @pool the volume of an active device of ublkit's? */
static bool thin_id_active(struct ublkit_ctx *ctx, dev_t pool, uint32_t id)
{
	struct ublkit_dm_device **v = NULL;
	bool found = false;
	int n = ublkit_dm_list(ctx, 0, &v);

	for (int i = 0; i < n; i++) {
		const char *line = v[i]->table;

		if (!strcmp(v[i]->type, "thin") && line) {
			for (int k = 0; k < 3; k++)
				line += strcspn(line, " ") + 1;
			found |= thin_id_of(line, pool) == (long long)id;
		}
		ublkit_dm_device_unref(v[i]);
	}
	free(v);
	return found;
}

/*
 * The pool has a volume of the id asked for (a pool opened again after a
 * reboot keeps its volumes): activate it as it is, unless a device maps
 * it already. Returns 1: nothing was created in the pool.
 */
static int thin_reuse(struct ublkit_ctx *ctx, const struct ublkit_dm_table *t)
{
	if (thin_id_active(ctx, t->pool_devnum, t->thin_id)) {
		log_error(ctx, "%s: thin id %u is in the pool and a device maps it already",
			  t->pool, t->thin_id);
		return -EEXIST;
	}
	log_notice(ctx, "%s: thin id %u is in the pool already: activating it with its data",
		   t->pool, t->thin_id);
	return 1;
}

/*
 * Resolve the pool of a thin table and create the volume in it. Returns 0
 * (created), 1 (an explicit id the pool had: activated as it is).
 */
static int thin_prepare(struct ublkit_ctx *ctx, struct ublkit_dm_table *t, bool create)
{
	struct look l;
	char msg[64];
	int r;

	r = check_ours(ctx, t->pool, "add thin volumes to", &l);
	if (r < 0)
		return r;
	if (dm_kind_from_uuid(l.uuid) != UBLKIT_DM_THIN_POOL) {
		log_error(ctx, "%s is not a thin pool", t->pool);
		return -EINVAL;
	}
	t->pool_devnum = makedev((unsigned int)l.info.major, (unsigned int)l.info.minor);
	snprintf(t->pool_uuid, sizeof(t->pool_uuid), "%s", l.uuid);
	if (!create)
		return 0;
	if (t->thin_id != UBLKIT_DM_THIN_ID_AUTO) {
		snprintf(msg, sizeof(msg), "create_thin %u", t->thin_id);
		r = message(ctx, t->pool, msg);
		if (r == -EEXIST)
			return thin_reuse(ctx, t);
		if (r < 0)
			log_error(ctx, "%s: cannot create thin id %u in the pool: %s", t->pool,
				  t->thin_id, strerror(-r));
		return r;
	}
	/* ids that ublkit's volumes do not show may still be taken in the pool */
	t->thin_id = next_thin_id(ctx, t->pool_devnum);
	for (int tries = 0; tries < 64; tries++, t->thin_id++) {
		snprintf(msg, sizeof(msg), "create_thin %u", t->thin_id);
		r = message(ctx, t->pool, msg);
		if (r != -EEXIST)
			break;
	}
	if (r < 0) {
		log_error(ctx, "%s: cannot create a thin volume in the pool: %s", t->pool,
			  strerror(-r));
		t->thin_id = UBLKIT_DM_THIN_ID_AUTO;
	}
	return r;
}

static void thin_delete(struct ublkit_ctx *ctx, const char *pool, uint32_t id)
{
	char msg[64];
	int r;

	snprintf(msg, sizeof(msg), "delete %u", id);
	r = message(ctx, pool, msg);
	if (r < 0)
		log_warn(ctx, "%s: cannot delete thin id %u from the pool: %s", pool, id,
			 strerror(-r));
}

/* struct thin_disk_superblock of the kernel's dm-thin-metadata.c, little endian */
#define THIN_SUPER_MAGIC 27022010ull
#define THIN_SUPER_OFF_MAGIC 32
#define THIN_SUPER_OFF_DATA_BLOCK 336
#define THIN_SUPER_OFF_META_BLOCK 340
#define THIN_SUPER_OFF_META_BLOCKS 344

static int read_block(struct ublkit_ctx *ctx, const char *path, uint64_t offset, void *buf)
{
	ssize_t n;
	int fd;

	/* past the page cache: what a dm device wrote under it is there */
	fd = ublkit_open(ctx, path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd == -EINVAL)	/* a file system without O_DIRECT (a fake root) */
		fd = ublkit_open(ctx, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fd;
	n = pread(fd, buf, 4096, (off_t)offset);
	if (n < 0)
		n = neg_errno();
	close(fd);
	if (n < 0)
		return (int)n;
	return n == 4096 ? 1 : 0;
}

int dm_thin_super_read(struct ublkit_ctx *ctx, const char *path, uint64_t offset_sectors,
		       struct dm_thin_super *ret)
{
	unsigned char *b = NULL;
	uint64_t magic, nr;
	uint32_t data, meta;
	int r;

	if (posix_memalign((void **)&b, 4096, 4096))
		return -ENOMEM;
	r = read_block(ctx, path, offset_sectors * 512, b);
	if (r <= 0) {
		free(b);
		return r;
	}
	memcpy(&magic, b + THIN_SUPER_OFF_MAGIC, sizeof(magic));
	memcpy(&data, b + THIN_SUPER_OFF_DATA_BLOCK, sizeof(data));
	memcpy(&meta, b + THIN_SUPER_OFF_META_BLOCK, sizeof(meta));
	memcpy(&nr, b + THIN_SUPER_OFF_META_BLOCKS, sizeof(nr));
	free(b);
	if (le64toh(magic) != THIN_SUPER_MAGIC)
		return 0;
	if (ret) {
		ret->data_block_sectors = le32toh(data);
		ret->metadata_sectors = le64toh(nr) * le32toh(meta);
	}
	return 1;
}

/* How to make a new pool where an old one's metadata is: zero its first 4 KiB. */
static const char *fix_old_pool(const struct dm_slot *s, char *buf, size_t size)
{
	snprintf(buf, size, "to make a new pool there, losing the old one's volumes, zero its "
		 "first 4 KiB (dd if=/dev/zero of=%s bs=512 seek=%" PRIu64 " count=8 "
		 "oflag=direct conv=notrunc)", s->path, s->offset);
	return buf;
}

/*
 * Does a thin pool's metadata found on @s fit the pool @t makes? The
 * kernel refuses another block size; another metadata size would move
 * the data under the volumes. 0 it fits, -EEXIST (logged) it does not.
 */
static int thin_super_fits(struct ublkit_ctx *ctx, const char *name, const struct dm_slot *s,
			   const struct ublkit_dm_table *t, const struct dm_thin_super *sb)
{
	char fix[512];
	uint64_t meta = s->length;

	if (meta > DM_THIN_META_MAX_SECTORS)
		meta = DM_THIN_META_MAX_SECTORS;
	if (sb->data_block_sectors != t->block) {
		log_error(ctx, "%s: %s holds a thin pool with blocks of %u sectors, not %" PRIu64
			  ": it is neither opened nor formatted over; %s", name, s->path,
			  sb->data_block_sectors, t->block, fix_old_pool(s, fix, sizeof(fix)));
		return -EEXIST;
	}
	if (sb->metadata_sectors && sb->metadata_sectors != meta / 8 * 8) {
		log_error(ctx, "%s: %s holds a thin pool whose metadata took %" PRIu64
			  " sectors, not %" PRIu64 ": it is neither opened nor formatted over; %s",
			  name, s->path, sb->metadata_sectors, meta, fix_old_pool(s, fix, sizeof(fix)));
		return -EEXIST;
	}
	return 0;
}

/*
 * A new pool or cache formats its metadata only when the superblock is
 * all zeroes; anything else is taken for existing metadata (and fails its
 * checksum). Zero it, as lvm does, through an exclusive open: a device
 * that is mounted or held is refused by the kernel, not overwritten.
 */
static int wipe_metadata(struct ublkit_ctx *ctx, const char *name, const struct dm_slot *s)
{
	char path[64];
	void *zero = NULL;
	int fd, r = 0;

	snprintf(path, sizeof(path), "/dev/block/%u:%u", major(s->use), minor(s->use));
	fd = ublkit_open(ctx, path, O_WRONLY | O_EXCL | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		log_error(ctx, "%s: cannot open its metadata device %s: %s", name, s->path,
			  strerror(-fd));
		return fd;
	}
	if (posix_memalign(&zero, 4096, 4096)) {
		close(fd);
		return -ENOMEM;
	}
	memset(zero, 0, 4096);
	if (pwrite(fd, zero, 4096, 0) != 4096 || fsync(fd) < 0)
		r = log_ret(ctx, neg_errno(), "%s: cannot clear its metadata on %s", name, s->path);
	free(zero);
	close(fd);
	return r;
}

/*
 * The metadata of a new pool or cache. A cache's is always fresh. A thin
 * pool's metadata device that holds a thin pool already (after a reboot,
 * say) is kept: the kernel opens it with every volume in it. Formatting
 * it over would lose them all; whoever wants a fresh pool clears it first.
 */
static int prepare_metadata(struct ublkit_ctx *ctx, const char *name, struct ublkit_dm_table *t)
{
	const struct dm_slot *s = &t->slot[0];
	struct dm_thin_super sb;
	char path[64];
	int r;

	if (t->kind == UBLKIT_DM_CACHE)
		return wipe_metadata(ctx, name, s);
	if (t->kind != UBLKIT_DM_THIN_POOL)
		return 0;
	snprintf(path, sizeof(path), "/dev/block/%u:%u", major(s->use), minor(s->use));
	r = dm_thin_super_read(ctx, path, 0, &sb);
	if (r < 0)
		return log_ret(ctx, r, "%s: cannot read its metadata device %s", name, s->path);
	if (r == 0)
		return wipe_metadata(ctx, name, s);
	r = thin_super_fits(ctx, name, s, t, &sb);
	if (r < 0)
		return r;
	log_notice(ctx, "%s: %s holds a thin pool already: it is opened as it is, with its "
		   "thin volumes", name, s->path);
	return 0;
}

static int create_main(struct ublkit_ctx *ctx, const char *name, struct ublkit_dm_table *t,
		       unsigned int flags)
{
	char uuid[DM_UUID_MAX + 1], params[1024];
	int r;

	r = dm_table_uuid(t, name, uuid, sizeof(uuid));
	if (r < 0)
		return log_ret(ctx, r, "%s: the name is too long for a DM UUID", name);
	r = dm_table_params(t, true, params, sizeof(params));
	if (r < 0)
		return log_ret(ctx, r, "%s: the table does not fit", name);
	r = create_one(ctx, name, uuid, t->size, dm_kind_target(t->kind), params,
		       flags & UBLKIT_DM_READ_ONLY, false);
	explicit_bzero(params, sizeof(params));
	if (r == -EBUSY)
		log_error(ctx, "cannot create %s: a device with that name or UUID exists", name);
	else if (r < 0)
		log_error(ctx, "cannot create %s: the kernel refused its %s table (%s; dmesg has "
			  "its reason)", name, dm_kind_target(t->kind), strerror(-r));
	return r;
}

static int create_all(struct ublkit_ctx *ctx, const char *name, struct ublkit_dm_table *t,
		      unsigned int flags)
{
	bool made_thin = false;
	struct look l;
	int r;

	r = ublkit_dm_name_check(ctx, name, UBLKIT_DM_NAME_CREATE);
	if (r < 0)
		return r;
	if (flags & ~UBLKIT_DM_READ_ONLY)
		return -EINVAL;
	r = dm_ready(ctx);
	if (r < 0)
		return r;
	r = load_modules(ctx, t->kind);
	if (r < 0)
		return r;
	r = dev_look(ctx, name, &l);
	if (r == 0) {
		log_error(ctx, "a device-mapper device named %s exists (%s)", name,
			  ublkit_dm_uuid_is_ublkit(l.uuid) ? "ublkit's" : "not ublkit's");
		return -EEXIST;
	}
	if (r != -ENODEV)
		return log_ret(ctx, r, "cannot reach device-mapper");
	if (t->kind == UBLKIT_DM_THIN) {
		r = thin_prepare(ctx, t, true);
		if (r < 0)
			return r;
		made_thin = r == 0;	/* 1: a volume the pool had already */
	}
	r = create_parts(ctx, name, t);
	if (r >= 0)
		r = prepare_metadata(ctx, name, t);
	if (r >= 0)
		r = create_main(ctx, name, t, flags);
	if (r < 0) {
		remove_parts(ctx, name);
		if (t->kind == UBLKIT_DM_THIN && made_thin)
			thin_delete(ctx, t->pool, t->thin_id);
	}
	return r;
}

UBLKIT_EXPORT int ublkit_dm_create(struct ublkit_ctx *ctx, const char *name,
				   struct ublkit_dm_table *t, unsigned int flags)
{
	int r;

	if (!ctx || !t)
		return -EINVAL;
	r = create_all(ctx, name, t, flags);
	dm_table_wipe_key(t);
	dm_log_enter(NULL);
	return r;
}

UBLKIT_EXPORT int ublkit_dm_suspend(struct ublkit_ctx *ctx, const char *name, unsigned int flags)
{
	struct look l;
	int r;

	if (!ctx)
		return -EINVAL;
	r = check_ours(ctx, name, "suspend", &l);
	if (r >= 0) {
		r = suspend_one(ctx, name, flags);
		if (r < 0)
			log_error(ctx, "cannot suspend %s: %s", name, strerror(-r));
	}
	dm_log_enter(NULL);
	return r;
}

UBLKIT_EXPORT int ublkit_dm_resume(struct ublkit_ctx *ctx, const char *name)
{
	struct look l;
	int r;

	if (!ctx)
		return -EINVAL;
	r = check_ours(ctx, name, "resume", &l);
	if (r >= 0) {
		r = resume_one(ctx, name);
		if (r < 0)
			log_error(ctx, "cannot resume %s: %s", name, strerror(-r));
	}
	dm_log_enter(NULL);
	return r;
}

/* The live table of @name, one target (keys included: the caller wipes it). */
struct saved {
	uint64_t size;
	char type[32];
	char params[1024];
};

static int save_table(struct ublkit_ctx *ctx, const char *name, struct saved *s)
{
	_cleanup_task_ struct dm_task *dmt = task_new(ctx, DM_DEVICE_TABLE, name);
	uint64_t start, length;
	char *type, *params;
	void *next;
	int r;

	if (!dmt)
		return -ENOMEM;
	dm_task_secure_data(dmt);
	r = task_run(dmt);
	if (r < 0)
		return r;
	next = dm_get_next_target(dmt, NULL, &start, &length, &type, &params);
	if (!type || next || strlen(params) >= sizeof(s->params))
		return -EOPNOTSUPP;	/* not one target: not a table ublkit made */
	s->size = length;
	snprintf(s->type, sizeof(s->type), "%s", type);
	snprintf(s->params, sizeof(s->params), "%s", params);
	return 0;
}

static bool is_suspended(struct ublkit_ctx *ctx, const char *name)
{
	struct look l;

	return dev_look(ctx, name, &l) == 0 && l.info.suspended;
}

/*
 * The new table was refused at resume: the device is suspended. Put the
 * old table back; else an error table, so that I/O fails instead of
 * hanging; else remove the device.
 */
static void unsuspend(struct ublkit_ctx *ctx, const char *name, const struct saved *old)
{
	int r;

	r = load_one(ctx, name, old->size, old->type, old->params);
	if (r >= 0)
		r = resume_one(ctx, name);
	if (r >= 0 && !is_suspended(ctx, name)) {
		log_error(ctx, "%s: the kernel refused the new table when resuming; the old table "
			  "is back and the device active (dmesg has the reason)", name);
		return;
	}
	(void)clear_inactive(ctx, name);
	r = load_one(ctx, name, old->size, "error", "");
	if (r >= 0)
		r = resume_one(ctx, name);
	if (r >= 0 && !is_suspended(ctx, name)) {
		log_error(ctx, "%s: neither the new nor the old table could be resumed; the device "
			  "now fails all I/O (error target) instead of hanging it", name);
		return;
	}
	r = remove_one(ctx, name, true);
	log_error(ctx, "%s: no table could be resumed; %s", name,
		  r >= 0 ? "the device was removed" : "the device is left suspended, remove it "
						       "with 'dmsetup remove --force'");
}

static int reload_all(struct ublkit_ctx *ctx, const char *name, struct ublkit_dm_table *t)
{
	_cleanup_device_ struct ublkit_dm_device *d = NULL;
	char params[1024];
	struct saved old;
	struct look l;
	int r;

	r = check_ours(ctx, name, "reload", &l);
	if (r < 0)
		return r;
	if (dm_kind_from_uuid(l.uuid) != t->kind) {
		log_error(ctx, "%s is a %s device; the new table is %s", name,
			  ublkit_dm_kind_name(dm_kind_from_uuid(l.uuid)), ublkit_dm_kind_name(t->kind));
		return -EINVAL;
	}
	for (unsigned int i = 0; i < t->nslots; i++)
		if (t->slot[i].part) {
			log_error(ctx, "%s: a reload takes whole devices (%s is a range)", name,
				  t->slot[i].path);
			return -EINVAL;
		}
	r = load_modules(ctx, t->kind);
	if (r < 0)
		return r;
	r = save_table(ctx, name, &old);
	if (r < 0)
		return log_ret(ctx, r, "%s: cannot read its table", name);
	if (t->kind == UBLKIT_DM_THIN) {
		r = thin_prepare(ctx, t, false);
		if (r >= 0 && t->thin_id == UBLKIT_DM_THIN_ID_AUTO) {
			long long id = thin_id_of(old.params, t->pool_devnum);

			if (id < 0) {
				log_error(ctx, "%s: the new table names another pool", name);
				r = -EINVAL;
			}
			t->thin_id = (uint32_t)id;
		}
		if (r < 0)
			goto out;
	}
	r = dm_table_params(t, true, params, sizeof(params));
	if (r >= 0)
		r = load_one(ctx, name, t->size, dm_kind_target(t->kind), params);
	explicit_bzero(params, sizeof(params));
	if (r < 0) {
		log_error(ctx, "%s: the kernel refused the new table (%s); nothing changed", name,
			  strerror(-r));
		goto out;
	}
	r = suspend_one(ctx, name, 0);
	if (r < 0) {
		log_error(ctx, "%s: cannot suspend it (%s); the old table stays", name,
			  strerror(-r));
		(void)clear_inactive(ctx, name);
		if (is_suspended(ctx, name))
			(void)resume_one(ctx, name);
		goto out;
	}
	r = resume_one(ctx, name);
	if (r < 0 || is_suspended(ctx, name)) {
		if (r >= 0)
			r = -EIO;
		unsuspend(ctx, name, &old);
	}
out:
	explicit_bzero(&old, sizeof(old));
	(void)d;
	return r;
}

UBLKIT_EXPORT int ublkit_dm_reload(struct ublkit_ctx *ctx, const char *name,
				   struct ublkit_dm_table *t)
{
	int r;

	if (!ctx || !t)
		return -EINVAL;
	r = ublkit_dm_name_check(ctx, name, 0);
	if (r == 0)
		r = ublkit_ctx_is_sysroot(ctx) ? -EXDEV : reload_all(ctx, name, t);
	dm_table_wipe_key(t);
	dm_log_enter(NULL);
	return r;
}

static int remove_all(struct ublkit_ctx *ctx, const char *name)
{
	_cleanup_device_ struct ublkit_dm_device *d = NULL;
	char why[512], pool[128] = "";
	long long thin_id = -1;
	int r;

	r = check_ours(ctx, name, "remove", &(struct look){ 0 });
	if (r < 0)
		return r;
	r = ublkit_dm_device_new(ctx, name, &d);
	if (r < 0)
		return r;
	/*
	 * Refuse at once only for what stays: a stacked device, a mount, swap.
	 * An open alone may be udev's probe after a change (swapoff, say),
	 * which the retrying remove below waits out; an opener still there
	 * after it is named then.
	 */
	r = holder_of(ctx, name, d->devnum, 0, why, sizeof(why));
	if (r > 0) {
		log_error(ctx, "%s is in use: %s", name, why);
		return -EBUSY;
	}
	if (d->kind == UBLKIT_DM_THIN) {
		dev_t on;
		uint32_t id;

		if (dm_thin_table_ref(d->table, &on, &id) == 0 &&
		    dev_name_of(ctx, on, pool, sizeof(pool)) >= 0)
			thin_id = id;
	}
	r = remove_one(ctx, name, true);
	if (r == -EBUSY && holder_of(ctx, name, d->devnum, 1, why, sizeof(why)) > 0) {
		log_error(ctx, "%s is in use: %s", name, why);
		return r;
	}
	if (r < 0)
		return log_ret(ctx, r, "cannot remove %s", name);
	if (thin_id >= 0)
		thin_delete(ctx, pool, (uint32_t)thin_id);
	remove_parts(ctx, name);
	return 0;
}

UBLKIT_EXPORT int ublkit_dm_remove(struct ublkit_ctx *ctx, const char *name, unsigned int flags)
{
	int r;

	if (!ctx || flags)
		return -EINVAL;
	r = ublkit_dm_name_check(ctx, name, 0);
	if (r == 0)
		r = ublkit_ctx_is_sysroot(ctx) ? -EXDEV : remove_all(ctx, name);
	dm_log_enter(NULL);
	return r;
}
