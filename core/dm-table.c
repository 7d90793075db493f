/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Typed table builders. Each resolves the devices it is given, checks the
 * ranges against their sizes and the kind's own rules, and keeps what the
 * kernel needs in structured form; the parameter string is written only
 * when the table is loaded (dm.c), so that a crypt key exists in text for
 * as short a time as possible, and parts get their device numbers first.
 */
#include "config.h"

#include <inttypes.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "ublkit-private.h"
#include "dm-private.h"
#include "name-private.h"

static const struct {
	const char *name;
	const char *target;
	const char *token;
} kinds[] = {
	[UBLKIT_DM_UNKNOWN] = { "unknown", NULL, NULL },
	[UBLKIT_DM_LINEAR] = { "linear", "linear", "linear" },
	[UBLKIT_DM_STRIPED] = { "striped", "striped", "striped" },
	[UBLKIT_DM_CRYPT] = { "crypt", "crypt", "crypt" },
	[UBLKIT_DM_THIN_POOL] = { "thin-pool", "thin-pool", "pool" },
	[UBLKIT_DM_THIN] = { "thin", "thin", "thin" },
	[UBLKIT_DM_CACHE] = { "cache", "cache", "cache" },
	[UBLKIT_DM_PART] = { "part", "linear", "part" },
};

UBLKIT_EXPORT const char *ublkit_dm_kind_name(int kind)
{
	return kind >= 0 && (size_t)kind < ARRAY_SIZE(kinds) ? kinds[kind].name : NULL;
}

UBLKIT_EXPORT int ublkit_dm_kind_from_string(const char *s)
{
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "thinpool") || !strcmp(s, "pool"))
		return UBLKIT_DM_THIN_POOL;
	for (size_t i = 1; i < ARRAY_SIZE(kinds); i++)
		if (!strcmp(s, kinds[i].name))
			return (int)i;
	return -EINVAL;
}

const char *dm_kind_target(int kind)
{
	return kind >= 0 && (size_t)kind < ARRAY_SIZE(kinds) ? kinds[kind].target : NULL;
}

int dm_kind_of_target(const char *type)
{
	for (size_t i = 1; i < ARRAY_SIZE(kinds) - 1; i++)
		if (type && !strcmp(type, kinds[i].target))
			return (int)i;
	return UBLKIT_DM_UNKNOWN;
}

const char *dm_kind_uuid_token(int kind)
{
	return kind >= 0 && (size_t)kind < ARRAY_SIZE(kinds) ? kinds[kind].token : NULL;
}

UBLKIT_EXPORT bool ublkit_dm_uuid_is_ublkit(const char *uuid)
{
	return uuid && !strncmp(uuid, UBLKIT_DM_UUID_PREFIX, strlen(UBLKIT_DM_UUID_PREFIX));
}

int dm_kind_from_uuid(const char *uuid)
{
	const char *tok;
	size_t len;

	if (!ublkit_dm_uuid_is_ublkit(uuid))
		return UBLKIT_DM_UNKNOWN;
	tok = uuid + strlen(UBLKIT_DM_UUID_PREFIX);
	len = strcspn(tok, "-");
	for (size_t i = 1; i < ARRAY_SIZE(kinds); i++)
		if (strlen(kinds[i].token) == len && !strncmp(tok, kinds[i].token, len))
			return (int)i;
	return UBLKIT_DM_UNKNOWN;
}

/* FNV-1a, 64 bits: a short, stable name for what a device sits on. */
uint64_t dm_hash64(const char *s, uint64_t h)
{
	if (!h)
		h = 0xcbf29ce484222325ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

int dm_resolve_device(struct ublkit_ctx *ctx, const char *device, dev_t *devnum,
		      uint64_t *sectors)
{
	unsigned int maj, min;
	char sys[64], p[4096], extra;
	struct stat st;
	int r;

	r = name_check_path(ctx, "device", device);
	if (r < 0)
		return r;
	if (sscanf(device, "%u:%u%c", &maj, &min, &extra) == 2) {
		*devnum = makedev(maj, min);
	} else {
		r = ublkit_ctx_path(ctx, device, p, sizeof(p));
		if (r < 0)
			return r;
		if (stat(p, &st) < 0)
			return log_ret(ctx, neg_errno(), "%s", device);
		if (!S_ISBLK(st.st_mode)) {
			log_error(ctx, "%s is not a block device", device);
			return -ENOTBLK;
		}
		*devnum = st.st_rdev;
	}
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/size", major(*devnum), minor(*devnum));
	r = ublkit_read_u64(ctx, sys, sectors);
	if (r < 0) {
		log_error(ctx, "%s: no block device %u:%u in sysfs", device, major(*devnum),
			  minor(*devnum));
		return r == -ENOENT ? -ENODEV : r;
	}
	return 0;
}

void dm_device_ident(struct ublkit_ctx *ctx, dev_t devnum, char *buf, size_t size)
{
	static const char *const files[] = { "wwid", "device/wwid", "dm/uuid" };
	char p[96];

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/%s", major(devnum), minor(devnum),
			 files[i]);
		if (ublkit_read_line(ctx, p, buf, size) > 0)
			return;
	}
	snprintf(buf, size, "%u:%u", major(devnum), minor(devnum));
}

static int uuid_format(int kind, uint64_t hash, const char *name, const char *suffix, char *buf,
		       size_t size)
{
	int n = snprintf(buf, size, "%s%s-%016" PRIx64 "-%s%s%s", UBLKIT_DM_UUID_PREFIX,
			 dm_kind_uuid_token(kind), hash, name, suffix ? "-" : "",
			 suffix ? suffix : "");

	return n < 0 || (size_t)n >= size || n > DM_UUID_MAX ? -ENAMETOOLONG : 0;
}

int dm_table_uuid(const struct ublkit_dm_table *t, const char *name, char *buf, size_t size)
{
	uint64_t h = 0;

	if (t->kind == UBLKIT_DM_THIN)
		h = dm_hash64(t->pool_uuid[0] ? t->pool_uuid : t->pool, 0);
	for (unsigned int i = 0; i < t->nslots; i++) {
		h = dm_hash64(t->slot[i].ident, h);
		h = dm_hash64("\n", h);
	}
	return uuid_format(t->kind, h, name, NULL, buf, size);
}

int dm_part_uuid(const struct dm_slot *s, const char *owner, char *buf, size_t size)
{
	return uuid_format(UBLKIT_DM_PART, dm_hash64(s->ident, 0), owner, s->role, buf, size);
}

/* ---- the table object ------------------------------------------------- */

static int table_new(struct ublkit_ctx *ctx, int kind, struct ublkit_dm_table **ret)
{
	struct ublkit_dm_table *t;

	if (!ctx || !ret)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->refcount = 1;
	t->ctx = ublkit_ctx_ref(ctx);
	t->kind = kind;
	*ret = t;
	return 0;
}

void dm_table_wipe_key(struct ublkit_dm_table *t)
{
	if (!t->key)
		return;
	explicit_bzero(t->key, DM_KEY_BYTES);
	munlock(t->key, DM_KEY_BYTES);
	free(t->key);
	t->key = NULL;
}

UBLKIT_EXPORT struct ublkit_dm_table *ublkit_dm_table_ref(struct ublkit_dm_table *t)
{
	if (t)
		__atomic_add_fetch(&t->refcount, 1, __ATOMIC_RELAXED);
	return t;
}

UBLKIT_EXPORT struct ublkit_dm_table *ublkit_dm_table_unref(struct ublkit_dm_table *t)
{
	if (!t || __atomic_sub_fetch(&t->refcount, 1, __ATOMIC_ACQ_REL) > 0)
		return NULL;
	dm_table_wipe_key(t);
	ublkit_ctx_unref(t->ctx);
	free(t);
	return NULL;
}

UBLKIT_EXPORT int ublkit_dm_table_get_kind(const struct ublkit_dm_table *t)
{
	return t->kind;
}

UBLKIT_EXPORT uint64_t ublkit_dm_table_get_size(const struct ublkit_dm_table *t)
{
	return t->size;
}

static void table_freep(struct ublkit_dm_table **t)
{
	ublkit_dm_table_unref(*t);
}
#define _cleanup_table_ _cleanup_(table_freep)

/* Resolve @range into slot @i and check it against the device. */
static int add_slot(struct ublkit_dm_table *t, const struct ublkit_dm_range *range,
		    const char *role, const char *what)
{
	struct dm_slot *s = &t->slot[t->nslots];
	int r;

	if (!range || !range->device) {
		log_error(t->ctx, "%s: no device given", what);
		return -EINVAL;
	}
	if (t->nslots >= ARRAY_SIZE(t->slot))
		return -E2BIG;
	r = dm_resolve_device(t->ctx, range->device, &s->devnum, &s->dev_sectors);
	if (r < 0)
		return r;
	snprintf(s->path, sizeof(s->path), "%s", range->device);
	snprintf(s->role, sizeof(s->role), "%s", role ? role : "");
	if (range->offset_sectors >= s->dev_sectors) {
		log_error(t->ctx, "%s: offset %" PRIu64 " is past the end of %s (%" PRIu64
			  " sectors)", what, range->offset_sectors, range->device, s->dev_sectors);
		return -ERANGE;
	}
	s->offset = range->offset_sectors;
	s->length = range->length_sectors ? range->length_sectors : s->dev_sectors - s->offset;
	if (s->length > s->dev_sectors - s->offset) {
		log_error(t->ctx, "%s: %" PRIu64 " sectors from %" PRIu64 " do not fit in %s (%"
			  PRIu64 " sectors)", what, s->length, s->offset, range->device,
			  s->dev_sectors);
		return -ERANGE;
	}
	s->use = s->devnum;
	dm_device_ident(t->ctx, s->devnum, s->ident, sizeof(s->ident));
	t->nslots++;
	return 0;
}

/* Two ranges of one device that overlap would write over each other. */
static int check_overlap(struct ublkit_dm_table *t)
{
	for (unsigned int i = 0; i < t->nslots; i++)
		for (unsigned int j = i + 1; j < t->nslots; j++) {
			const struct dm_slot *a = &t->slot[i], *b = &t->slot[j];

			if (a->devnum != b->devnum)
				continue;
			if (a->offset < b->offset + b->length && b->offset < a->offset + a->length) {
				log_error(t->ctx, "%s: the ranges of %s and %s overlap", a->path,
					  a->role[0] ? a->role : "one device",
					  b->role[0] ? b->role : "another");
				return -EINVAL;
			}
		}
	return 0;
}

/*
 * A range short of the whole device becomes a part for kinds that take
 * whole devices. Slot @bounded (-1: none) is one whose use the table's
 * length bounds (a pool's data, a cache's origin): a range of it from
 * the start needs no part.
 */
static void mark_parts(struct ublkit_dm_table *t, int bounded)
{
	for (unsigned int i = 0; i < t->nslots; i++) {
		struct dm_slot *s = &t->slot[i];

		s->part = s->offset != 0 || s->length != s->dev_sectors;
		if ((int)i == bounded && s->offset == 0)
			s->part = false;
		if (s->part)
			s->use = 0;
	}
}

UBLKIT_EXPORT int ublkit_dm_table_linear(struct ublkit_ctx *ctx,
					 const struct ublkit_dm_range *range,
					 struct ublkit_dm_table **ret)
{
	_cleanup_table_ struct ublkit_dm_table *t = NULL;
	int r;

	r = table_new(ctx, UBLKIT_DM_LINEAR, &t);
	if (r < 0)
		return r;
	r = add_slot(t, range, NULL, "linear");
	if (r < 0)
		return r;
	t->size = t->slot[0].length;
	*ret = t;
	t = NULL;
	return 0;
}

static bool power_of_two(uint64_t v)
{
	return v && !(v & (v - 1));
}

UBLKIT_EXPORT int ublkit_dm_table_striped(struct ublkit_ctx *ctx, const char *const *devices,
					  unsigned int n, uint64_t chunk_sectors,
					  uint64_t length_sectors, struct ublkit_dm_table **ret)
{
	_cleanup_table_ struct ublkit_dm_table *t = NULL;
	uint64_t per = UINT64_MAX;
	int r;

	if (!devices || n < 2 || n > UBLKIT_DM_MAX_STRIPES) {
		log_error(ctx, "striped: between 2 and %d devices, not %u", UBLKIT_DM_MAX_STRIPES, n);
		return -EINVAL;
	}
	if (!chunk_sectors)
		chunk_sectors = UBLKIT_DM_STRIPE_CHUNK_DEFAULT;
	if (!power_of_two(chunk_sectors) || chunk_sectors < UBLKIT_DM_STRIPE_CHUNK_MIN) {
		log_error(ctx, "striped: the chunk (%" PRIu64 " sectors) must be a power of two "
			  "of at least 8 sectors (4 KiB)", chunk_sectors);
		return -EINVAL;
	}
	r = table_new(ctx, UBLKIT_DM_STRIPED, &t);
	if (r < 0)
		return r;
	t->chunk = chunk_sectors;
	for (unsigned int i = 0; i < n; i++) {
		struct ublkit_dm_range range = { .device = devices[i] };

		r = add_slot(t, &range, NULL, "striped");
		if (r < 0)
			return r;
		if (t->slot[i].dev_sectors < per)
			per = t->slot[i].dev_sectors;
		for (unsigned int j = 0; j < i; j++)
			if (t->slot[j].devnum == t->slot[i].devnum) {
				log_error(ctx, "striped: %s is named twice", devices[i]);
				return -EINVAL;
			}
	}
	per -= per % chunk_sectors;
	if (!per) {
		log_error(ctx, "striped: the smallest device is shorter than one chunk");
		return -ERANGE;
	}
	if (length_sectors) {
		if (length_sectors % (n * chunk_sectors)) {
			log_error(ctx, "striped: the length (%" PRIu64 " sectors) must be a multiple "
				  "of %u chunks of %" PRIu64 " sectors", length_sectors, n,
				  chunk_sectors);
			return -EINVAL;
		}
		if (length_sectors > per * n) {
			log_error(ctx, "striped: %" PRIu64 " sectors do not fit; at most %" PRIu64,
				  length_sectors, per * n);
			return -ERANGE;
		}
		per = length_sectors / n;
	}
	for (unsigned int i = 0; i < n; i++)
		t->slot[i].length = per;
	t->size = per * n;
	*ret = t;
	t = NULL;
	return 0;
}

static int key_new(struct ublkit_dm_table *t)
{
	size_t got = 0;

	if (posix_memalign((void **)&t->key, 4096, DM_KEY_BYTES))
		return -ENOMEM;
	/* Best effort: the key should not reach swap (it is for swap, after all) or a core dump. */
	(void)mlock(t->key, DM_KEY_BYTES);
	(void)madvise(t->key, 4096, MADV_DONTDUMP);
	while (got < DM_KEY_BYTES) {
		ssize_t n = getrandom(t->key + got, DM_KEY_BYTES - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int r = n < 0 ? neg_errno() : -EIO;

			dm_table_wipe_key(t);
			return log_ret(t->ctx, r, "getrandom");
		}
		got += (size_t)n;
	}
	return 0;
}

UBLKIT_EXPORT int ublkit_dm_table_crypt(struct ublkit_ctx *ctx,
					const struct ublkit_dm_range *range,
					struct ublkit_dm_table **ret)
{
	_cleanup_table_ struct ublkit_dm_table *t = NULL;
	int r;

	r = table_new(ctx, UBLKIT_DM_CRYPT, &t);
	if (r < 0)
		return r;
	r = add_slot(t, range, NULL, "crypt");
	if (r < 0)
		return r;
	t->size = t->slot[0].length;
	r = key_new(t);
	if (r < 0)
		return r;
	*ret = t;
	t = NULL;
	return 0;
}

/* Smallest metadata area a pool or a cache gets: 2 MiB. */
#define DM_METADATA_MIN 4096

static int check_block(struct ublkit_ctx *ctx, const char *what, uint64_t block, uint64_t unit)
{
	if (block < unit || block > UBLKIT_DM_BLOCK_MAX || block % unit) {
		log_error(ctx, "%s: the block size (%" PRIu64 " sectors) must be a multiple of %"
			  PRIu64 " sectors from %" PRIu64 " to %u (1 GiB)", what, block, unit,
			  unit, UBLKIT_DM_BLOCK_MAX);
		return -EINVAL;
	}
	return 0;
}

static int check_metadata(struct ublkit_dm_table *t, const char *what)
{
	if (t->slot[0].length < DM_METADATA_MIN) {
		log_error(t->ctx, "%s: the metadata area (%" PRIu64 " sectors) is smaller than 2 MiB",
			  what, t->slot[0].length);
		return -ERANGE;
	}
	return 0;
}

UBLKIT_EXPORT int ublkit_dm_table_thin_pool(struct ublkit_ctx *ctx,
					    const struct ublkit_dm_range *metadata,
					    const struct ublkit_dm_range *data,
					    uint64_t block_sectors, uint64_t low_water_blocks,
					    unsigned int flags, struct ublkit_dm_table **ret)
{
	_cleanup_table_ struct ublkit_dm_table *t = NULL;
	uint64_t blocks;
	int r;

	if (!block_sectors)
		block_sectors = UBLKIT_DM_POOL_BLOCK_DEFAULT;
	if (flags & ~UBLKIT_DM_POOL_ERROR_IF_NO_SPACE)
		return -EINVAL;
	r = check_block(ctx, "thin-pool", block_sectors, UBLKIT_DM_POOL_BLOCK_UNIT);
	if (r < 0)
		return r;
	r = table_new(ctx, UBLKIT_DM_THIN_POOL, &t);
	if (r < 0)
		return r;
	r = add_slot(t, metadata, "tmeta", "thin-pool metadata");
	if (r >= 0)
		r = add_slot(t, data, "tdata", "thin-pool data");
	if (r >= 0)
		r = check_overlap(t);
	if (r >= 0)
		r = check_metadata(t, "thin-pool");
	if (r < 0)
		return r;
	blocks = t->slot[1].length / block_sectors;
	if (!blocks) {
		log_error(ctx, "thin-pool: the data area is smaller than one block");
		return -ERANGE;
	}
	if (low_water_blocks >= blocks) {
		log_error(ctx, "thin-pool: the low-water mark (%" PRIu64 " blocks) must be below the "
			  "pool's %" PRIu64 " blocks", low_water_blocks, blocks);
		return -ERANGE;
	}
	t->slot[1].length = blocks * block_sectors;
	mark_parts(t, 1);
	t->block = block_sectors;
	t->low_water = low_water_blocks;
	t->pool_flags = flags;
	t->size = t->slot[1].length;
	*ret = t;
	t = NULL;
	return 0;
}

UBLKIT_EXPORT int ublkit_dm_table_thin(struct ublkit_ctx *ctx, const char *pool, uint32_t thin_id,
				       uint64_t length_sectors, struct ublkit_dm_table **ret)
{
	_cleanup_table_ struct ublkit_dm_table *t = NULL;
	int r;

	/* a pool ublkit made has a name ublkit gives */
	r = ublkit_dm_name_check(ctx, pool, UBLKIT_DM_NAME_CREATE);
	if (r < 0)
		return r;
	if (!length_sectors) {
		log_error(ctx, "thin: a thin volume needs a size");
		return -EINVAL;
	}
	if (thin_id != UBLKIT_DM_THIN_ID_AUTO && thin_id >= (1u << 24)) {
		log_error(ctx, "thin: ids are below 2^24, not %u", thin_id);
		return -ERANGE;
	}
	r = table_new(ctx, UBLKIT_DM_THIN, &t);
	if (r < 0)
		return r;
	snprintf(t->pool, sizeof(t->pool), "%s", pool);
	t->thin_id = thin_id;
	t->size = length_sectors;
	*ret = t;
	t = NULL;
	return 0;
}

UBLKIT_EXPORT int ublkit_dm_table_cache(struct ublkit_ctx *ctx,
					const struct ublkit_dm_range *metadata,
					const struct ublkit_dm_range *fast,
					const struct ublkit_dm_range *slow, uint64_t block_sectors,
					int mode, struct ublkit_dm_table **ret)
{
	_cleanup_table_ struct ublkit_dm_table *t = NULL;
	int r;

	if (!block_sectors)
		block_sectors = UBLKIT_DM_CACHE_BLOCK_DEFAULT;
	if (mode < UBLKIT_DM_CACHE_WRITETHROUGH || mode > UBLKIT_DM_CACHE_PASSTHROUGH)
		return -EINVAL;
	r = check_block(ctx, "cache", block_sectors, UBLKIT_DM_CACHE_BLOCK_UNIT);
	if (r < 0)
		return r;
	r = table_new(ctx, UBLKIT_DM_CACHE, &t);
	if (r < 0)
		return r;
	r = add_slot(t, metadata, "cmeta", "cache metadata");
	if (r >= 0)
		r = add_slot(t, fast, "cfast", "cache fast device");
	if (r >= 0)
		r = add_slot(t, slow, "corig", "cache slow device");
	if (r >= 0)
		r = check_overlap(t);
	if (r >= 0)
		r = check_metadata(t, "cache");
	if (r < 0)
		return r;
	if (t->slot[1].length < block_sectors) {
		log_error(ctx, "cache: the fast device is smaller than one cache block");
		return -ERANGE;
	}
	mark_parts(t, 2);
	t->block = block_sectors;
	t->cache_mode = mode;
	t->size = t->slot[2].length;
	*ret = t;
	t = NULL;
	return 0;
}

/* ---- parameter strings ------------------------------------------------ */

struct out {
	char *buf;
	size_t size, len;
	bool overflow;
};

static void put(struct out *o, const char *fmt, ...) _printf_(2, 3);

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->len < o->size ? o->size - o->len : 0, fmt, ap);
	va_end(ap);
	if (n < 0 || o->len + (size_t)n >= o->size)
		o->overflow = true;
	else
		o->len += (size_t)n;
}

static void put_dev(struct out *o, const struct dm_slot *s)
{
	if (s->use)
		put(o, "%u:%u", major(s->use), minor(s->use));
	else
		put(o, "<%s>", s->role);
}

static void put_key(struct out *o, const unsigned char *key, bool show)
{
	static const char hex[] = "0123456789abcdef";

	if (!show || !key) {
		put(o, "<random key>");
		return;
	}
	if (o->len + 2 * DM_KEY_BYTES >= o->size) {
		o->overflow = true;
		return;
	}
	for (size_t i = 0; i < DM_KEY_BYTES; i++) {
		o->buf[o->len++] = hex[key[i] >> 4];
		o->buf[o->len++] = hex[key[i] & 15];
	}
	o->buf[o->len] = '\0';
}

static const char *cache_mode_arg(int mode)
{
	switch (mode) {
	case UBLKIT_DM_CACHE_WRITEBACK: return "writeback";
	case UBLKIT_DM_CACHE_PASSTHROUGH: return "passthrough";
	default: return "writethrough";
	}
}

int dm_table_params(const struct ublkit_dm_table *t, bool show_key, char *buf, size_t size)
{
	struct out o = { .buf = buf, .size = size };
	const struct dm_slot *s = t->slot;

	if (!size)
		return -ENOBUFS;
	buf[0] = '\0';
	switch (t->kind) {
	case UBLKIT_DM_LINEAR:
		put_dev(&o, &s[0]);
		put(&o, " %" PRIu64, s[0].offset);
		break;
	case UBLKIT_DM_CRYPT:
		put(&o, DM_CRYPT_CIPHER " ");
		put_key(&o, t->key, show_key);
		put(&o, " 0 ");
		put_dev(&o, &s[0]);
		put(&o, " %" PRIu64, s[0].offset);
		break;
	case UBLKIT_DM_STRIPED:
		put(&o, "%u %" PRIu64, t->nslots, t->chunk);
		for (unsigned int i = 0; i < t->nslots; i++) {
			put(&o, " ");
			put_dev(&o, &s[i]);
			put(&o, " 0");
		}
		break;
	case UBLKIT_DM_THIN_POOL:
		put_dev(&o, &s[0]);
		put(&o, " ");
		put_dev(&o, &s[1]);
		put(&o, " %" PRIu64 " %" PRIu64, t->block, t->low_water);
		if (t->pool_flags & UBLKIT_DM_POOL_ERROR_IF_NO_SPACE)
			put(&o, " 1 error_if_no_space");
		else
			put(&o, " 0");
		break;
	case UBLKIT_DM_THIN:
		if (t->pool_devnum)
			put(&o, "%u:%u", major(t->pool_devnum), minor(t->pool_devnum));
		else
			put(&o, "<%s>", t->pool);
		if (t->thin_id == UBLKIT_DM_THIN_ID_AUTO)
			put(&o, " <next id>");
		else
			put(&o, " %u", t->thin_id);
		break;
	case UBLKIT_DM_CACHE:
		for (unsigned int i = 0; i < 3; i++) {
			put_dev(&o, &s[i]);
			put(&o, " ");
		}
		put(&o, "%" PRIu64 " 1 %s smq 0", t->block, cache_mode_arg(t->cache_mode));
		break;
	default:
		return -EINVAL;
	}
	if (o.overflow) {
		explicit_bzero(buf, size);
		return -ENOBUFS;
	}
	return (int)o.len;
}

UBLKIT_EXPORT int ublkit_dm_table_format(const struct ublkit_dm_table *t, char *buf, size_t size)
{
	char params[1024];
	int r, n;

	r = dm_table_params(t, false, params, sizeof(params));
	if (r < 0)
		return r;
	n = snprintf(buf, size, "0 %" PRIu64 " %s %s", t->size, dm_kind_target(t->kind), params);
	return n < 0 || (size_t)n >= size ? -ENOBUFS : n;
}

void dm_mask_crypt_params(char *params)
{
	char *key = strchr(params, ' '), *end;

	if (!key)
		return;
	key++;
	end = key + strcspn(key, " ");
	/* A key in the kernel keyring (":32:logon:desc") names no secret. */
	if (*key == ':')
		return;
	memset(key, '-', (size_t)(end - key));
}
