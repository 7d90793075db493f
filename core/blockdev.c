/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who holds a block device, and may ublkit format it? In use (mounted,
 * active swap, held by dm/md/loop, opened exclusively) is never
 * overridden; data (a signature libblkid recognises, partitions) only
 * with force.
 */
#include "config.h"

#include <blkid.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "ublkit-private.h"
#include "swap-private.h"

/* ---- sysfs and mountinfo -------------------------------------------------- */

bool blockdev_mounted(struct ublkit_ctx *ctx, unsigned int maj, unsigned int min,
		      const char *path, char *where, size_t size)
{
	_cleanup_fclose_ FILE *f = NULL;
	char p[4096];

	if (ublkit_ctx_path(ctx, "/proc/self/mountinfo", p, sizeof(p)) < 0)
		return false;
	f = fopen(p, "re");
	return f && mountinfo_find(f, maj, min, path, where, size);
}

bool mountinfo_find(FILE *f, unsigned int maj, unsigned int min, const char *path, char *where,
		    size_t size)
{
	char line[4096 + 256];

	while (fgets(line, sizeof(line), f)) {
		char mnt[2048], src[2048] = "";
		unsigned int ma, mi;
		const char *sep;

		if (sscanf(line, "%*s %*s %u:%u %*s %2047s", &ma, &mi, mnt) != 3)
			continue;
		sep = strstr(line, " - ");
		if (sep && sscanf(sep + 3, "%*s %2047s", src) == 1)
			unescape_octal(src);
		/* btrfs and friends report an anonymous device number: match the source too */
		if ((ma == maj && mi == min && maj != 0) || (path && strcmp(src, path) == 0)) {
			unescape_octal(mnt);
			snprintf(where, size, "%s", mnt);
			return true;
		}
	}
	return false;
}

static bool first_entry(struct ublkit_ctx *ctx, const char *dir, char *name, size_t size)
{
	char p[4096];
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (ublkit_ctx_path(ctx, dir, p, sizeof(p)) < 0)
		return false;
	d = opendir(p);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(name, size, "%s", de->d_name);
		found = true;
	}
	closedir(d);
	return found;
}

bool blockdev_held(struct ublkit_ctx *ctx, unsigned int maj, unsigned int min, char *holder,
		   size_t size)
{
	char dir[64];

	snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u/holders", maj, min);
	return first_entry(ctx, dir, holder, size);
}

int blockdev_partitions(struct ublkit_ctx *ctx, unsigned int maj, unsigned int min,
			partition_fn fn, void *userdata)
{
	char dir[64], p[4096];
	struct dirent *de;
	int n = 0, r = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u", maj, min);
	if (ublkit_ctx_path(ctx, dir, p, sizeof(p)) < 0)
		return 0;
	d = opendir(p);
	if (!d)
		return 0;
	while (r == 0 && (de = readdir(d))) {
		char rel[4096], devnum[32];
		unsigned int pma, pmi;

		if (de->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof(rel), "%s/%s/partition", dir, de->d_name);
		if (!ublkit_exists(ctx, rel))
			continue;
		snprintf(rel, sizeof(rel), "%s/%s/dev", dir, de->d_name);
		if (ublkit_read_line(ctx, rel, devnum, sizeof(devnum)) < 0 ||
		    sscanf(devnum, "%u:%u", &pma, &pmi) != 2)
			continue;
		n++;
		if (fn)
			r = fn(ctx, de->d_name, pma, pmi, userdata);
	}
	closedir(d);
	return r ? r : n;
}

/* ---- the check ---------------------------------------------------------- */

struct check {
	struct ublkit_ctx *ctx;
	const char *path;
	unsigned int flags;
	struct file_id id;
	struct ublkit_blockdev_usage u;
	char parts[256];	/* names of the partitions, for the reason */
};

static void why(struct check *c, const char *fmt, ...) _printf_(2, 3);

static void why(struct check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->u.reason, sizeof(c->u.reason), fmt, ap);
	va_end(ap);
}

/* Mounted, active swap or held: @name is the device or one of its partitions. */
static int devnum_in_use(struct check *c, const char *name, unsigned int maj, unsigned int min)
{
	struct file_id id = { .is_blk = true, .rdev = makedev(maj, min) };
	struct ublkit_swap_area area;
	char buf[4096];

	if (blockdev_mounted(c->ctx, maj, min, name == c->path ? c->path : NULL, c->u.holder,
			     sizeof(c->u.holder))) {
		c->u.found |= UBLKIT_BLOCKDEV_MOUNTED;
		why(c, "%s is mounted on %s: unmount it first", name, c->u.holder);
		return -EBUSY;
	}
	if (swaps_find(c->ctx, NULL, &id, &area, buf, sizeof(buf)) == 0) {
		c->u.found |= UBLKIT_BLOCKDEV_ACTIVE_SWAP;
		snprintf(c->u.holder, sizeof(c->u.holder), "%s", area.path);
		why(c, "%s is an active swap area (%s): swapoff it first", name, area.path);
		return -EBUSY;
	}
	if (blockdev_held(c->ctx, maj, min, c->u.holder, sizeof(c->u.holder))) {
		c->u.found |= UBLKIT_BLOCKDEV_HELD;
		why(c, "%s is held by %s (device-mapper, md or bcache on top of it): remove %s first",
		    name, c->u.holder, c->u.holder);
		return -EBUSY;
	}
	return 0;
}

static int partition_in_use(struct ublkit_ctx *ctx, const char *name, unsigned int maj,
			    unsigned int min, void *userdata)
{
	struct check *c = userdata;
	size_t off = strlen(c->parts);

	if (off < sizeof(c->parts))
		snprintf(c->parts + off, sizeof(c->parts) - off, "%s%s", off ? ", " : "", name);
	return devnum_in_use(c, name, maj, min);
}

/* Another program has it open with O_EXCL: the kernel's own answer. */
static int opened_exclusively(struct check *c)
{
	char p[4096];
	int fd;

	if (ublkit_ctx_is_sysroot(c->ctx) || ublkit_ctx_path(c->ctx, c->path, p, sizeof(p)) < 0)
		return 0;
	fd = open(p, O_RDONLY | O_EXCL | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno != EBUSY)
		return 0;
	c->u.found |= UBLKIT_BLOCKDEV_HELD;
	why(c, "%s is opened exclusively by another program (a mount, swap, device-mapper, md "
	    "or a running mkfs)", c->path);
	return -EBUSY;
}

static int blk_in_use(struct check *c)
{
	unsigned int maj = major(c->id.rdev), min = minor(c->id.rdev);
	int r;

	r = devnum_in_use(c, c->path, maj, min);
	if (r < 0)
		return r;
	r = blockdev_partitions(c->ctx, maj, min, partition_in_use, c);
	if (r < 0)
		return r;
	if (r > 0)
		c->u.found |= UBLKIT_BLOCKDEV_PARTITIONS;
	return opened_exclusively(c);
}

/* A loop device whose backing file is this file. */
static int loop_backed(struct check *c)
{
	char p[4096];
	struct dirent *de;
	int r = 0;
	DIR *d;

	if (ublkit_ctx_path(c->ctx, "/sys/block", p, sizeof(p)) < 0)
		return 0;
	d = opendir(p);
	if (!d)
		return 0;
	while (r == 0 && (de = readdir(d))) {
		char rel[512], backing[4096];
		struct file_id other;

		if (strncmp(de->d_name, "loop", 4) != 0)
			continue;
		snprintf(rel, sizeof(rel), "/sys/block/%s/loop/backing_file", de->d_name);
		if (ublkit_read_line(c->ctx, rel, backing, sizeof(backing)) <= 0)
			continue;
		if (strcmp(backing, c->path) != 0 &&
		    (file_id_get(c->ctx, backing, &other) < 0 || !file_id_same(&c->id, &other)))
			continue;
		c->u.found |= UBLKIT_BLOCKDEV_HELD;
		snprintf(c->u.holder, sizeof(c->u.holder), "%.63s", de->d_name);
		why(c, "%s backs /dev/%s: detach it first (losetup -d /dev/%s)", c->path,
		    de->d_name, de->d_name);
		r = -EBUSY;
	}
	closedir(d);
	return r;
}

static int file_in_use(struct check *c)
{
	struct ublkit_swap_area area;
	char buf[4096];

	if (swaps_find(c->ctx, c->path, &c->id, &area, buf, sizeof(buf)) == 0) {
		c->u.found |= UBLKIT_BLOCKDEV_ACTIVE_SWAP;
		snprintf(c->u.holder, sizeof(c->u.holder), "%s", area.path);
		why(c, "%s is an active swap file: swapoff it first", c->path);
		return -EBUSY;
	}
	return loop_backed(c);
}

static void copy_value(blkid_probe pr, const char *name, char *buf, size_t size)
{
	const char *v = NULL;

	if (blkid_probe_lookup_value(pr, name, &v, NULL) == 0 && v)
		snprintf(buf, size, "%s", v);
}

/* 1: a signature was found, 0: none, <0: error. */
static int probe_signature(struct check *c)
{
	blkid_probe pr;
	char p[4096];
	int r;

	r = ublkit_ctx_path(c->ctx, c->path, p, sizeof(p));
	if (r < 0)
		return r;
	pr = blkid_new_probe_from_filename(p);
	if (!pr)
		return errno > 0 ? -errno : -EIO;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL |
						      BLKID_SUBLKS_UUID | BLKID_SUBLKS_USAGE);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_FORCE_GPT);
	r = blkid_do_safeprobe(pr);
	if (r == 0) {
		copy_value(pr, "TYPE", c->u.type, sizeof(c->u.type));
		if (!c->u.type[0]) {
			copy_value(pr, "PTTYPE", c->u.type, sizeof(c->u.type));
			if (c->u.type[0])
				c->u.found |= UBLKIT_BLOCKDEV_PARTITIONS;
		}
		copy_value(pr, "USAGE", c->u.usage, sizeof(c->u.usage));
		copy_value(pr, "LABEL", c->u.label, sizeof(c->u.label));
		copy_value(pr, "UUID", c->u.uuid, sizeof(c->u.uuid));
		r = 1;
	} else if (r == -2) {
		snprintf(c->u.type, sizeof(c->u.type), "ambivalent");
		r = 1;
	} else {
		r = r == 1 ? 0 : -EIO;
	}
	blkid_free_probe(pr);
	if (r > 0)
		c->u.found |= UBLKIT_BLOCKDEV_SIGNATURE;
	return r;
}

static void describe_data(struct check *c)
{
	char label[160] = "";

	if (c->u.label[0])
		snprintf(label, sizeof(label), ", LABEL=\"%s\"", c->u.label);
	if (strcmp(c->u.type, "ambivalent") == 0)
		why(c, "%s carries several signatures (libblkid cannot tell which is valid)",
		    c->path);
	else if (c->u.type[0] && (c->u.found & UBLKIT_BLOCKDEV_SIGNATURE))
		why(c, "%s holds data: TYPE=%s%s%s%s%s", c->path, c->u.type,
		    c->u.usage[0] ? " (" : "", c->u.usage, c->u.usage[0] ? ")" : "", label);
	else
		why(c, "%s has partitions (%s)", c->path, c->parts[0] ? c->parts : "a partition table");
}

static void append_reason(struct check *c, const char *s)
{
	size_t n = strlen(c->u.reason);

	snprintf(c->u.reason + n, sizeof(c->u.reason) - n, "%s", s);
}

/* An inactive swap signature and nothing else: no data to lose. */
static bool only_swap(const struct check *c)
{
	return (c->flags & UBLKIT_BLOCKDEV_ALLOW_SWAP) && c->u.found == UBLKIT_BLOCKDEV_SIGNATURE &&
	       strcmp(c->u.type, "swap") == 0;
}

static int run_check(struct check *c)
{
	char p[4096];
	struct stat st;
	int r;

	r = ublkit_ctx_path(c->ctx, c->path, p, sizeof(p));
	if (r < 0)
		return r;
	if (stat(p, &st) < 0) {
		r = neg_errno();
		why(c, "%s: %s", c->path, strerror(-r));
		return r;
	}
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode)) {
		why(c, "%s is neither a block device nor a regular file", c->path);
		return -EINVAL;
	}
	r = file_id_get(c->ctx, c->path, &c->id);
	if (r < 0)
		return r;

	r = c->id.is_blk ? blk_in_use(c) : file_in_use(c);
	if (r < 0)
		return r;
	r = probe_signature(c);
	if (r < 0) {
		why(c, "cannot probe %s for signatures: %s", c->path, strerror(-r));
		return r;
	}
	if (!c->u.found) {
		why(c, "%s holds no signature and is not in use", c->path);
		return 0;
	}
	describe_data(c);
	if (only_swap(c))
		return 0;
	if (c->flags & UBLKIT_BLOCKDEV_FORCE) {
		append_reason(c, "; forced: it will be overwritten");
		return 0;
	}
	append_reason(c, "; refusing to overwrite it without force");
	return -EEXIST;
}

UBLKIT_EXPORT void ublkit_blockdev_usage_init(struct ublkit_blockdev_usage *u)
{
	memset(u, 0, sizeof(*u));
	u->struct_size = sizeof(*u);
}

UBLKIT_EXPORT int ublkit_blockdev_check(struct ublkit_ctx *ctx, const char *path,
					unsigned int flags, struct ublkit_blockdev_usage *u)
{
	struct check c = { .ctx = ctx, .path = path, .flags = flags };
	int r;

	if (!ctx || !path || (flags & ~(UBLKIT_BLOCKDEV_FORCE | UBLKIT_BLOCKDEV_ALLOW_SWAP)))
		return -EINVAL;
	ublkit_blockdev_usage_init(&c.u);
	r = run_check(&c);
	c.u.may_format = r == 0;
	log_debug(ctx, "%s: %s", path, c.u.reason);
	if (u && u->struct_size >= sizeof(uint32_t)) {
		size_t n = u->struct_size < sizeof(c.u) ? u->struct_size : sizeof(c.u);

		memcpy((char *)u + sizeof(uint32_t), (char *)&c.u + sizeof(uint32_t),
		       n - sizeof(uint32_t));
	}
	return r;
}
