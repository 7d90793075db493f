/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Swap provisioning: the swap signature, swapon/swapoff, /proc/swaps and
 * the check that keeps swapoff from turning into an OOM kill.
 */
#include "config.h"

#include <blkid.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/swap.h>

#include "ublkit-private.h"
#include "swap-private.h"

#ifndef SWAP_FLAG_PREFER
#define SWAP_FLAG_PREFER 0x8000
#define SWAP_FLAG_PRIO_MASK 0x7fff
#define SWAP_FLAG_PRIO_SHIFT 0
#endif
#ifndef SWAP_FLAG_DISCARD
#define SWAP_FLAG_DISCARD 0x10000
#endif
#ifndef SWAP_FLAG_DISCARD_ONCE
#define SWAP_FLAG_DISCARD_ONCE 0x20000
#endif
#ifndef SWAP_FLAG_DISCARD_PAGES
#define SWAP_FLAG_DISCARD_PAGES 0x40000
#endif

#define SWAP_MAGIC "SWAPSPACE2"
#define SWAP_MAGIC_LEN 10
#define SWAP_VERSION 1
/* mkswap's minimum: the header page and nine pages to swap to */
#define SWAP_MIN_PAGES 10

/* The first page of a swap area as mkswap(8) writes it (native endian). */
struct swap_header_v1 {
	char bootbits[1024];	/* room for a disk label; zeroed */
	uint32_t version;
	uint32_t last_page;
	uint32_t nr_badpages;
	uint8_t uuid[16];
	char volume_name[16];
	uint32_t padding[117];
	uint32_t badpages[1];
};

_Static_assert(offsetof(struct swap_header_v1, version) == 1024, "swap header layout");
_Static_assert(offsetof(struct swap_header_v1, uuid) == 1036, "swap header layout");
_Static_assert(offsetof(struct swap_header_v1, volume_name) == 1052, "swap header layout");

/* See ublkit_swap_off_check() in swap.h for why. */
#define SWAPOFF_MARGIN_MIN (64ULL << 20)
#define SWAPOFF_MARGIN_SHIFT 5


static int write_all(int fd, const void *buf, size_t len, off_t off);

int file_id_get(struct ublkit_ctx *ctx, const char *path, struct file_id *id)
{
	char p[4096];
	struct stat st;
	int r;

	r = ublkit_ctx_path(ctx, path, p, sizeof(p));
	if (r < 0)
		return r;
	if (stat(p, &st) < 0)
		return neg_errno();
	memset(id, 0, sizeof(*id));
	id->is_blk = S_ISBLK(st.st_mode);
	id->rdev = st.st_rdev;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return 0;
}

bool file_id_same(const struct file_id *a, const struct file_id *b)
{
	if (a->is_blk != b->is_blk)
		return false;
	if (a->is_blk)
		return a->rdev == b->rdev;
	return a->dev == b->dev && a->ino == b->ino;
}


/* ---- /proc/swaps ------------------------------------------------------ */

/* One line of /proc/swaps: "path type size used priority", sizes in KiB. */
int swaps_parse_line(char *line, struct ublkit_swap_area *a)
{
	char *path, *type, *save = NULL;
	unsigned long long size, used;
	int prio;

	path = strtok_r(line, " \t\n", &save);
	type = strtok_r(NULL, " \t\n", &save);
	/* a deleted swap file: the kernel appends " (deleted)" unescaped */
	if (path && type && strcmp(type, "(deleted)") == 0) {
		type[-1] = ' ';
		type = strtok_r(NULL, " \t\n", &save);
	}
	if (!path || !type || !save || sscanf(save, "%llu %llu %d", &size, &used, &prio) != 3)
		return -EINVAL;
	unescape_octal(path);
	a->path = path;
	a->type = type;
	a->size = (uint64_t)size << 10;
	a->used = (uint64_t)used << 10;
	a->priority = prio;
	return 0;
}

static int swaps_foreach(struct ublkit_ctx *ctx, ublkit_swap_area_fn fn, void *userdata)
{
	_cleanup_fclose_ FILE *f = NULL;
	char line[4096 + 128], p[4096];
	int r, n = 0;

	r = ublkit_ctx_path(ctx, "/proc/swaps", p, sizeof(p));
	if (r < 0)
		return r;
	f = fopen(p, "re");
	if (!f)
		return neg_errno();
	/* the header line */
	if (!fgets(line, sizeof(line), f))
		return 0;
	while (fgets(line, sizeof(line), f)) {
		struct ublkit_swap_area a;

		if (swaps_parse_line(line, &a) < 0) {
			log_debug(ctx, "skipping unparsable /proc/swaps line");
			continue;
		}
		n++;
		if (fn) {
			r = fn(&a, userdata);
			if (r != 0)
				return r;
		}
	}
	return n;
}

UBLKIT_EXPORT int ublkit_swap_list(struct ublkit_ctx *ctx, ublkit_swap_area_fn fn,
				   void *userdata)
{
	if (!ctx)
		return -EINVAL;
	return swaps_foreach(ctx, fn, userdata);
}

struct swaps_find {
	struct ublkit_ctx *ctx;
	const char *path;
	const struct file_id *id;
	struct ublkit_swap_area *area;
	char *buf;
	size_t size;
	bool found;
};

static bool swap_area_matches(struct swaps_find *sf, const struct ublkit_swap_area *a)
{
	struct file_id other;

	if (sf->path && strcmp(sf->path, a->path) == 0)
		return true;
	return sf->id && file_id_get(sf->ctx, a->path, &other) == 0 && file_id_same(sf->id, &other);
}

static int swaps_find_one(const struct ublkit_swap_area *a, void *userdata)
{
	struct swaps_find *sf = userdata;

	if (!swap_area_matches(sf, a))
		return 0;
	*sf->area = *a;
	snprintf(sf->buf, sf->size, "%s", a->path);
	sf->area->path = sf->buf;
	sf->area->type = strcmp(a->type, "partition") == 0 ? "partition" : "file";
	sf->found = true;
	return 1;
}

int swaps_find(struct ublkit_ctx *ctx, const char *path, const struct file_id *id,
	       struct ublkit_swap_area *area, char *buf, size_t size)
{
	struct swaps_find sf = { ctx, path, id, area, buf, size, false };
	int r = swaps_foreach(ctx, swaps_find_one, &sf);

	if (r < 0)
		return r;
	return sf.found ? 0 : -ENOENT;
}

/* ---- swapoff precheck --------------------------------------------------- */

UBLKIT_EXPORT void ublkit_swapoff_estimate_init(struct ublkit_swapoff_estimate *e)
{
	memset(e, 0, sizeof(*e));
	e->struct_size = sizeof(*e);
}

struct other_free {
	const struct ublkit_swap_area *self;
	uint64_t bytes;
};

static int add_other_free(const struct ublkit_swap_area *a, void *userdata)
{
	struct other_free *of = userdata;

	if (strcmp(a->path, of->self->path) != 0 && a->size > a->used)
		of->bytes += a->size - a->used;
	return 0;
}

static void estimate_copy_out(struct ublkit_swapoff_estimate *dst,
			      const struct ublkit_swapoff_estimate *src)
{
	size_t n;

	if (!dst || dst->struct_size < sizeof(uint32_t))
		return;
	n = dst->struct_size < sizeof(*src) ? dst->struct_size : sizeof(*src);
	memcpy((char *)dst + sizeof(uint32_t), (const char *)src + sizeof(uint32_t),
	       n - sizeof(uint32_t));
}

static int swap_off_estimate(struct ublkit_ctx *ctx, const char *dev,
			     struct ublkit_swapoff_estimate *e)
{
	struct ublkit_swap_area area;
	struct other_free of = { &area, 0 };
	struct file_id id;
	struct meminfo mi;
	char path[4096];
	int r;

	r = swaps_find(ctx, dev, file_id_get(ctx, dev, &id) == 0 ? &id : NULL, &area, path,
		       sizeof(path));
	if (r == -ENOENT) {
		snprintf(e->reason, sizeof(e->reason), "%s is not an active swap area", dev);
		return r;
	}
	if (r < 0) {
		snprintf(e->reason, sizeof(e->reason), "cannot read /proc/swaps: %s", strerror(-r));
		return r;
	}
	r = proc_meminfo_read(ctx, &mi);
	if (r < 0) {
		snprintf(e->reason, sizeof(e->reason), "cannot read /proc/meminfo: %s",
			 strerror(-r));
		return r;
	}
	r = swaps_foreach(ctx, add_other_free, &of);
	if (r < 0)
		return r;

	e->used = area.used;
	e->mem_available = mi.mem_available;
	e->other_swap_free = of.bytes;
	e->margin = SWAPOFF_MARGIN_MIN + (mi.mem_total >> SWAPOFF_MARGIN_SHIFT);
	e->fits = e->used == 0 ||
		  e->used + e->margin <= e->mem_available + e->other_swap_free;
	if (e->fits)
		snprintf(e->reason, sizeof(e->reason),
			 "%" PRIu64 " MiB in use fit into %" PRIu64 " MiB available memory and %"
			 PRIu64 " MiB free on other swap areas (keeping %" PRIu64 " MiB free)",
			 e->used >> 20, e->mem_available >> 20, e->other_swap_free >> 20,
			 e->margin >> 20);
	else
		snprintf(e->reason, sizeof(e->reason),
			 "%s holds %" PRIu64 " MiB, but only %" PRIu64 " MiB memory and %" PRIu64
			 " MiB other swap are free, and %" PRIu64 " MiB must stay free: swapoff "
			 "would make the kernel kill processes; free memory or add swap first",
			 dev, e->used >> 20, e->mem_available >> 20, e->other_swap_free >> 20,
			 e->margin >> 20);
	return e->fits ? 0 : -ENOMEM;
}

UBLKIT_EXPORT int ublkit_swap_off_check(struct ublkit_ctx *ctx, const char *dev,
					struct ublkit_swapoff_estimate *e)
{
	struct ublkit_swapoff_estimate est;
	int r;

	if (!ctx || !dev)
		return -EINVAL;
	ublkit_swapoff_estimate_init(&est);
	r = swap_off_estimate(ctx, dev, &est);
	if (r < 0)
		log_debug(ctx, "%s", est.reason);
	estimate_copy_out(e, &est);
	return r;
}

/* ---- swapon / swapoff --------------------------------------------------- */

static int swap_flags(int priority, unsigned int flags, int *ret)
{
	int f = 0;

	if (priority != UBLKIT_SWAP_PRIORITY_DEFAULT) {
		if (priority < 0 || priority > UBLKIT_SWAP_PRIORITY_MAX)
			return -EINVAL;
		f |= SWAP_FLAG_PREFER | ((priority << SWAP_FLAG_PRIO_SHIFT) & SWAP_FLAG_PRIO_MASK);
	}
	if (flags & ~(UBLKIT_SWAP_DISCARD | UBLKIT_SWAP_DISCARD_ONCE | UBLKIT_SWAP_DISCARD_PAGES))
		return -EINVAL;
	if (flags)
		f |= SWAP_FLAG_DISCARD;
	/* both policies are plain SWAP_FLAG_DISCARD */
	if ((flags & UBLKIT_SWAP_DISCARD_ONCE) && !(flags & UBLKIT_SWAP_DISCARD_PAGES))
		f |= SWAP_FLAG_DISCARD_ONCE;
	if ((flags & UBLKIT_SWAP_DISCARD_PAGES) && !(flags & UBLKIT_SWAP_DISCARD_ONCE))
		f |= SWAP_FLAG_DISCARD_PAGES;
	*ret = f;
	return 0;
}

UBLKIT_EXPORT int ublkit_swap_on(struct ublkit_ctx *ctx, const char *dev, int priority,
				 unsigned int flags)
{
	int sflags, r;

	if (!ctx || !dev)
		return -EINVAL;
	if (ublkit_ctx_is_sysroot(ctx))
		return -EXDEV;
	r = swap_flags(priority, flags, &sflags);
	if (r < 0)
		return log_ret(ctx, r, "swapon %s: priority %d or flags 0x%x out of range", dev,
			       priority, flags);
	if (swapon(dev, sflags) == 0) {
		log_info(ctx, "swap on %s (priority %d)", dev, priority);
		return 0;
	}
	r = neg_errno();
	switch (r) {
	case -EPERM:
		log_error(ctx, "swapon %s: needs CAP_SYS_ADMIN; run as root", dev);
		break;
	case -EINVAL:
		log_error(ctx, "swapon %s: no swap signature (or not a block device or regular "
			  "file): format it first", dev);
		break;
	case -EBUSY:
		log_error(ctx, "swapon %s: already an active swap area, or in use", dev);
		break;
	default:
		log_error(ctx, "swapon %s: %s", dev, strerror(-r));
	}
	return r;
}

/* swapoff(2) failed after the check (if any) let it go: say so in @e. */
static int swap_off_failed(struct ublkit_ctx *ctx, const char *dev, int r,
			   struct ublkit_swapoff_estimate *est, struct ublkit_swapoff_estimate *e)
{
	if (r == -EINVAL) {
		log_info(ctx, "%s is not an active swap area", dev);
		return -ENOENT;
	}
	snprintf(est->reason, sizeof(est->reason), "swapoff(2) failed: %s%s", strerror(-r),
		 r == -ENOMEM ? " (the kernel could not bring its pages back into memory)"
		 : r == -EINTR ? " (it was killed; the pages it had not brought back stay on swap)"
			       : "");
	estimate_copy_out(e, est);
	log_error(ctx, "swapoff %s: %s", dev, est->reason);
	return r;
}

UBLKIT_EXPORT int ublkit_swap_off(struct ublkit_ctx *ctx, const char *dev, unsigned int flags,
				  struct ublkit_swapoff_estimate *e)
{
	struct ublkit_swapoff_estimate est;
	int r;

	if (!ctx || !dev || (flags & ~UBLKIT_SWAP_OFF_FORCE))
		return -EINVAL;
	if (ublkit_ctx_is_sysroot(ctx))
		return -EXDEV;
	ublkit_swapoff_estimate_init(&est);
	if (!(flags & UBLKIT_SWAP_OFF_FORCE)) {
		r = swap_off_estimate(ctx, dev, &est);
		estimate_copy_out(e, &est);
		if (r == -ENOENT) {
			/* already off: nothing to refuse */
			log_info(ctx, "%s", est.reason);
			return r;
		}
		if (r < 0) {
			log_error(ctx, "swapoff %s refused: %s", dev, est.reason);
			return r;
		}
	}
	if (swapoff(dev) == 0) {
		log_info(ctx, "swap off %s", dev);
		return 0;
	}
	return swap_off_failed(ctx, dev, neg_errno(), &est, e);
}

/* ---- the first page: saved before a signature is written, and back ---- */

int swap_first_page_read(struct ublkit_ctx *ctx, const char *path, void *page, size_t size)
{
	_cleanup_close_ int fd = ublkit_open(ctx, path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return fd;
	do
		n = pread(fd, page, size, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return neg_errno();
	return (size_t)n == size ? 0 : -EIO;
}

int swap_first_page_write(struct ublkit_ctx *ctx, const char *path, const void *page,
			  size_t size)
{
	_cleanup_close_ int fd = ublkit_open(ctx, path, O_WRONLY);
	int r;

	if (fd < 0)
		return fd;
	r = write_all(fd, page, size, 0);
	if (r == 0 && fsync(fd) < 0)
		r = neg_errno();
	return r;
}

/* ---- the swap signature ------------------------------------------------ */

int fd_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return neg_errno();
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	return ioctl(fd, BLKGETSIZE64, size) < 0 ? neg_errno() : 0;
}

static int random_uuid(uint8_t uuid[16])
{
	size_t got = 0;

	while (got < 16) {
		ssize_t n = getrandom(uuid + got, 16 - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return neg_errno();
		}
		got += (size_t)n;
	}
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40); /* version 4 */
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	return 0;
}

static void uuid_unparse(const uint8_t u[16], char out[UBLKIT_UUID_STRING_MAX])
{
	snprintf(out, UBLKIT_UUID_STRING_MAX,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
		 u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
		 u[14], u[15]);
}

/* Erase every signature libblkid knows, as wipefs -a does. */
static int wipe_signatures(struct ublkit_ctx *ctx, int fd)
{
	blkid_probe pr = blkid_new_probe();
	int r = 0;

	if (!pr)
		return -ENOMEM;
	if (blkid_probe_set_device(pr, fd, 0, 0) != 0) {
		blkid_free_probe(pr);
		return -EIO;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_MAGIC | BLKID_SUBLKS_TYPE |
						      BLKID_SUBLKS_BADCSUM);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC | BLKID_PARTS_FORCE_GPT);
	/* each wipe steps back so that the next probe finds the next signature */
	for (int i = 0; i < 64 && blkid_do_probe(pr) == 0; i++) {
		const char *type = NULL;

		if (blkid_probe_lookup_value(pr, "TYPE", &type, NULL) != 0)
			(void)blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL);
		log_info(ctx, "wiping the %s signature", type ? type : "unknown");
		if (blkid_do_wipe(pr, 0) != 0) {
			r = -EIO;
			break;
		}
	}
	blkid_free_probe(pr);
	return r;
}

static int write_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return neg_errno();
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

UBLKIT_EXPORT int ublkit_swap_format_fd(struct ublkit_ctx *ctx, int fd, const char *label,
					char uuid[UBLKIT_UUID_STRING_MAX])
{
	_cleanup_free_ char *page = NULL;
	struct swap_header_v1 *h;
	long pagesize = sysconf(_SC_PAGESIZE);
	uint64_t size, pages;
	uint8_t id[16];
	int r;

	if (!ctx || fd < 0 || pagesize < (long)sizeof(*h))
		return -EINVAL;
	r = ublkit_swap_label_check(ctx, label);
	if (r < 0)
		return r;
	r = fd_size(fd, &size);
	if (r < 0)
		return log_ret(ctx, r, "cannot size the swap area");
	pages = size / (uint64_t)pagesize;
	if (pages < SWAP_MIN_PAGES) {
		log_error(ctx, "a swap area needs at least %d pages (%ld KiB); this one has %" PRIu64
			  " bytes", SWAP_MIN_PAGES, SWAP_MIN_PAGES * pagesize / 1024, size);
		return -ENOSPC;
	}
	r = random_uuid(id);
	if (r < 0)
		return log_ret(ctx, r, "getrandom");
	r = wipe_signatures(ctx, fd);
	if (r < 0)
		return log_ret(ctx, r, "cannot wipe the old signatures");

	/* page-aligned, so that a caller's O_DIRECT descriptor takes it */
	if (posix_memalign((void **)&page, (size_t)pagesize, (size_t)pagesize) != 0)
		return -ENOMEM;
	memset(page, 0, (size_t)pagesize);
	h = (struct swap_header_v1 *)(void *)page;
	h->version = SWAP_VERSION;
	/* the header holds a 32-bit page number; the kernel uses no more */
	h->last_page = pages - 1 > UINT32_MAX ? UINT32_MAX : (uint32_t)(pages - 1);
	h->nr_badpages = 0;
	memcpy(h->uuid, id, sizeof(id));
	if (label)
		memcpy(h->volume_name, label, strlen(label)); /* NUL-padded by the memset */
	memcpy(page + pagesize - SWAP_MAGIC_LEN, SWAP_MAGIC, SWAP_MAGIC_LEN);

	r = write_all(fd, page, (size_t)pagesize, 0);
	if (r < 0)
		return log_ret(ctx, r, "cannot write the swap header");
	if (fsync(fd) < 0)
		return log_ret(ctx, neg_errno(), "cannot flush the swap header");
	if (uuid)
		uuid_unparse(id, uuid);
	log_info(ctx, "swap area of %" PRIu64 " pages, label \"%s\"", pages - 1,
		 label ? label : "");
	return 0;
}

UBLKIT_EXPORT int ublkit_swap_format(struct ublkit_ctx *ctx, const char *path, const char *label,
				     unsigned int flags, char uuid[UBLKIT_UUID_STRING_MAX])
{
	struct ublkit_blockdev_usage u;
	_cleanup_close_ int fd = -1;
	char p[4096];
	struct stat st;
	int r;

	if (!ctx || !path)
		return -EINVAL;
	r = ublkit_swap_label_check(ctx, label);
	if (r < 0)
		return r;
	ublkit_blockdev_usage_init(&u);
	r = ublkit_blockdev_check(ctx, path, flags, &u);
	if (r < 0) {
		log_error(ctx, "refusing to format %s: %s", path, u.reason);
		return r;
	}
	if (u.found)
		log_notice(ctx, "formatting %s although %s", path, u.reason);
	r = ublkit_ctx_path(ctx, path, p, sizeof(p));
	if (r < 0)
		return r;
	if (stat(p, &st) < 0)
		return log_ret(ctx, neg_errno(), "%s", path);
	/* an exclusive open fails while anything mounts, swaps to or holds it */
	fd = open(p, O_RDWR | O_CLOEXEC | (S_ISBLK(st.st_mode) ? O_EXCL : 0));
	if (fd < 0)
		return log_ret(ctx, neg_errno(), "cannot open %s", path);
	return ublkit_swap_format_fd(ctx, fd, label, uuid);
}
