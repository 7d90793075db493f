/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Status lines of the targets ublkit builds, parsed into numbers and
 * modes. The formats are the kernel's (Documentation/admin-guide/
 * device-mapper/{thin-provisioning,cache,dm-crypt,striped}.rst); later
 * kernels append fields, so fields past the ones known are ignored.
 */
#include "config.h"

#include <inttypes.h>

#include "ublkit-private.h"
#include "dm-private.h"

static const char *const value_names[] = {
	[UBLKIT_DM_SIZE_SECTORS] = "size_sectors",
	[UBLKIT_DM_OFFSET_SECTORS] = "offset_sectors",
	[UBLKIT_DM_STRIPES] = "stripes",
	[UBLKIT_DM_CHUNK_SECTORS] = "chunk_sectors",
	[UBLKIT_DM_STRIPES_FAILED] = "stripes_failed",
	[UBLKIT_DM_TRANSACTION_ID] = "transaction_id",
	[UBLKIT_DM_DATA_BLOCK_SECTORS] = "data_block_sectors",
	[UBLKIT_DM_DATA_USED_BLOCKS] = "data_used_blocks",
	[UBLKIT_DM_DATA_TOTAL_BLOCKS] = "data_total_blocks",
	[UBLKIT_DM_METADATA_BLOCK_SECTORS] = "metadata_block_sectors",
	[UBLKIT_DM_METADATA_USED_BLOCKS] = "metadata_used_blocks",
	[UBLKIT_DM_METADATA_TOTAL_BLOCKS] = "metadata_total_blocks",
	[UBLKIT_DM_LOW_WATER_BLOCKS] = "low_water_blocks",
	[UBLKIT_DM_MAPPED_SECTORS] = "mapped_sectors",
	[UBLKIT_DM_HIGHEST_MAPPED_SECTOR] = "highest_mapped_sector",
	[UBLKIT_DM_THIN_ID] = "thin_id",
	[UBLKIT_DM_READ_HITS] = "read_hits",
	[UBLKIT_DM_READ_MISSES] = "read_misses",
	[UBLKIT_DM_WRITE_HITS] = "write_hits",
	[UBLKIT_DM_WRITE_MISSES] = "write_misses",
	[UBLKIT_DM_DEMOTIONS] = "demotions",
	[UBLKIT_DM_PROMOTIONS] = "promotions",
	[UBLKIT_DM_DIRTY_BLOCKS] = "dirty_blocks",
};

static const char *const mode_names[] = {
	[UBLKIT_DM_MODE_NONE] = "none",
	[UBLKIT_DM_MODE_OK] = "ok",
	[UBLKIT_DM_MODE_OUT_OF_DATA_SPACE] = "out-of-data-space",
	[UBLKIT_DM_MODE_READ_ONLY] = "read-only",
	[UBLKIT_DM_MODE_FAILED] = "failed",
	[UBLKIT_DM_MODE_WRITETHROUGH] = "writethrough",
	[UBLKIT_DM_MODE_WRITEBACK] = "writeback",
	[UBLKIT_DM_MODE_PASSTHROUGH] = "passthrough",
};

UBLKIT_EXPORT const char *ublkit_dm_value_name(int value)
{
	return value >= 0 && (size_t)value < ARRAY_SIZE(value_names) ? value_names[value] : NULL;
}

UBLKIT_EXPORT const char *ublkit_dm_mode_name(int mode)
{
	return mode >= 0 && (size_t)mode < ARRAY_SIZE(mode_names) ? mode_names[mode] : NULL;
}

struct ublkit_dm_status *dm_status_alloc(const char *name)
{
	struct ublkit_dm_status *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->refcount = 1;
	snprintf(st->name, sizeof(st->name), "%s", name ? name : "");
	return st;
}

void dm_status_set(struct ublkit_dm_status *st, int value, uint64_t v)
{
	st->v[value] = v;
	st->have |= 1u << value;
}

/* Split @line (copied into @buf) into at most @max words. */
static int split(const char *line, char *buf, size_t size, char **w, int max)
{
	int n = 0;
	char *save = NULL, *tok;

	snprintf(buf, size, "%s", line ? line : "");
	for (tok = strtok_r(buf, " \t\n", &save); tok && n < max; tok = strtok_r(NULL, " \t\n", &save))
		w[n++] = tok;
	return n;
}

/* Decimal only: the kernel never writes octal or hex here. */
static int u64(const char *s, uint64_t *v)
{
	uint64_t x = 0;

	if (!s || !*s)
		return -EBADMSG;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || x > (UINT64_MAX - 9) / 10)
			return -EBADMSG;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*v = x;
	return 0;
}

/* "USED/TOTAL" */
static int ratio(struct ublkit_dm_status *st, const char *s, int used, int total)
{
	unsigned long long a, b;
	char extra;

	if (sscanf(s, "%llu/%llu%c", &a, &b, &extra) != 2 || a > b)
		return -EBADMSG;
	dm_status_set(st, used, a);
	dm_status_set(st, total, b);
	return 0;
}

static int set_u64(struct ublkit_dm_status *st, int value, const char *s)
{
	uint64_t v;

	if (!s || u64(s, &v) < 0)
		return -EBADMSG;
	dm_status_set(st, value, v);
	return 0;
}

static bool failed_line(struct ublkit_dm_status *st, int n, char **w)
{
	if (n >= 1 && (!strcmp(w[0], "Fail") || !strcmp(w[0], "Error"))) {
		st->failed = true;
		st->mode = UBLKIT_DM_MODE_FAILED;
		return true;
	}
	return false;
}

static int parse_pool(struct ublkit_dm_status *st, const char *status, const char *table)
{
	char buf[512], *w[16];
	int n, r;

	n = split(table, buf, sizeof(buf), w, 16);
	if (n >= 4) {
		if (set_u64(st, UBLKIT_DM_DATA_BLOCK_SECTORS, w[2]) < 0 ||
		    set_u64(st, UBLKIT_DM_LOW_WATER_BLOCKS, w[3]) < 0)
			return -EBADMSG;
	}
	n = split(status, buf, sizeof(buf), w, 16);
	if (failed_line(st, n, w))
		return 0;
	if (n < 5)
		return -EBADMSG;
	dm_status_set(st, UBLKIT_DM_METADATA_BLOCK_SECTORS, 8);
	r = set_u64(st, UBLKIT_DM_TRANSACTION_ID, w[0]);
	if (r >= 0)
		r = ratio(st, w[1], UBLKIT_DM_METADATA_USED_BLOCKS, UBLKIT_DM_METADATA_TOTAL_BLOCKS);
	if (r >= 0)
		r = ratio(st, w[2], UBLKIT_DM_DATA_USED_BLOCKS, UBLKIT_DM_DATA_TOTAL_BLOCKS);
	if (r < 0)
		return r;
	if (!strcmp(w[4], "rw"))
		st->mode = UBLKIT_DM_MODE_OK;
	else if (!strcmp(w[4], "out_of_data_space"))
		st->mode = UBLKIT_DM_MODE_OUT_OF_DATA_SPACE;
	else if (!strcmp(w[4], "ro"))
		st->mode = UBLKIT_DM_MODE_READ_ONLY;
	else
		return -EBADMSG;
	st->needs_check = n > 7 && !strcmp(w[7], "needs_check");
	return 0;
}

static int parse_thin(struct ublkit_dm_status *st, const char *status, const char *table)
{
	char buf[256], *w[8];
	int n;

	n = split(table, buf, sizeof(buf), w, 8);
	if (n >= 2 && set_u64(st, UBLKIT_DM_THIN_ID, w[1]) < 0)
		return -EBADMSG;
	n = split(status, buf, sizeof(buf), w, 8);
	if (failed_line(st, n, w))
		return 0;
	if (n < 2 || set_u64(st, UBLKIT_DM_MAPPED_SECTORS, w[0]) < 0)
		return -EBADMSG;
	if (strcmp(w[1], "-") && set_u64(st, UBLKIT_DM_HIGHEST_MAPPED_SECTOR, w[1]) < 0)
		return -EBADMSG;
	return 0;
}

/* Skip a group "<#args> <args>..." starting at w[*i]. */
static int skip_group(char **w, int n, int *i, char **first)
{
	uint64_t count;

	if (*i >= n || u64(w[*i], &count) < 0 || count > (uint64_t)(n - *i - 1))
		return -EBADMSG;
	if (first)
		*first = count ? w[*i + 1] : NULL;
	*i += 1 + (int)count;
	return 0;
}

static int parse_cache(struct ublkit_dm_status *st, const char *status, const char *table)
{
	static const int counters[] = { UBLKIT_DM_READ_HITS, UBLKIT_DM_READ_MISSES,
					UBLKIT_DM_WRITE_HITS, UBLKIT_DM_WRITE_MISSES,
					UBLKIT_DM_DEMOTIONS, UBLKIT_DM_PROMOTIONS,
					UBLKIT_DM_DIRTY_BLOCKS };
	char buf[1024], *w[64];
	int n, r, i, features_at;

	(void)table;
	n = split(status, buf, sizeof(buf), w, 64);
	if (failed_line(st, n, w))
		return 0;
	if (n < 12)
		return -EBADMSG;
	r = set_u64(st, UBLKIT_DM_METADATA_BLOCK_SECTORS, w[0]);
	if (r >= 0)
		r = ratio(st, w[1], UBLKIT_DM_METADATA_USED_BLOCKS, UBLKIT_DM_METADATA_TOTAL_BLOCKS);
	if (r >= 0)
		r = set_u64(st, UBLKIT_DM_DATA_BLOCK_SECTORS, w[2]);
	if (r >= 0)
		r = ratio(st, w[3], UBLKIT_DM_DATA_USED_BLOCKS, UBLKIT_DM_DATA_TOTAL_BLOCKS);
	for (size_t k = 0; r >= 0 && k < ARRAY_SIZE(counters); k++)
		r = set_u64(st, counters[k], w[4 + k]);
	if (r < 0)
		return r;
	/* Without a mode among the features the cache writes back. */
	st->mode = UBLKIT_DM_MODE_WRITEBACK;
	i = features_at = 11;
	if (skip_group(w, n, &i, NULL) < 0)
		return -EBADMSG;
	for (int k = features_at + 1; k < i; k++) {
		if (!strcmp(w[k], "writethrough"))
			st->mode = UBLKIT_DM_MODE_WRITETHROUGH;
		else if (!strcmp(w[k], "passthrough"))
			st->mode = UBLKIT_DM_MODE_PASSTHROUGH;
	}
	/* core args, policy name, policy args, then the metadata mode and needs_check */
	if (skip_group(w, n, &i, NULL) < 0 || i >= n)
		return -EBADMSG;
	i++;
	if (skip_group(w, n, &i, NULL) < 0)
		return -EBADMSG;
	if (i < n && !strcmp(w[i], "ro")) {
		st->mode = UBLKIT_DM_MODE_READ_ONLY;
	} else if (i < n && !strcmp(w[i], "Fail")) {
		st->failed = true;
		st->mode = UBLKIT_DM_MODE_FAILED;
	}
	st->needs_check = i + 1 < n && !strcmp(w[i + 1], "needs_check");
	return 0;
}

static int parse_striped(struct ublkit_dm_status *st, const char *status, const char *table)
{
	char buf[1024], *w[2 * UBLKIT_DM_MAX_STRIPES + 8];
	uint64_t stripes, dead = 0;
	const char *health;
	int n;

	n = split(table, buf, sizeof(buf), w, (int)ARRAY_SIZE(w));
	if (n >= 2 && (set_u64(st, UBLKIT_DM_STRIPES, w[0]) < 0 ||
		       set_u64(st, UBLKIT_DM_CHUNK_SECTORS, w[1]) < 0))
		return -EBADMSG;
	n = split(status, buf, sizeof(buf), w, (int)ARRAY_SIZE(w));
	if (failed_line(st, n, w))
		return 0;
	if (n < 2 || u64(w[0], &stripes) < 0 || stripes == 0 || (uint64_t)n < stripes + 2)
		return -EBADMSG;
	dm_status_set(st, UBLKIT_DM_STRIPES, stripes);
	/* "<#stripes> <dev>... 1 <A|D per stripe>"; kernels before 4.x lacked the "1" */
	health = w[stripes + 1];
	if (!strcmp(health, "1") && (uint64_t)n >= stripes + 3)
		health = w[stripes + 2];
	if (strlen(health) != stripes)
		return -EBADMSG;
	for (const char *c = health; *c; c++)
		if (*c == 'D')
			dead++;
		else if (*c != 'A')
			return -EBADMSG;
	dm_status_set(st, UBLKIT_DM_STRIPES_FAILED, dead);
	if (dead) {
		st->failed = true;
		st->mode = UBLKIT_DM_MODE_FAILED;
	}
	return 0;
}

/* linear: "<dev> <offset>"; crypt: "<cipher> <key> <iv offset> <dev> <offset> ..." */
static int parse_geometry(struct ublkit_dm_status *st, const char *status, const char *table,
			  int offset_word)
{
	char buf[1024], *w[8];
	int n;

	n = split(status, buf, sizeof(buf), w, 8);
	if (failed_line(st, n, w))
		return 0;
	n = split(table, buf, sizeof(buf), w, 8);
	if (n > offset_word && set_u64(st, UBLKIT_DM_OFFSET_SECTORS, w[offset_word]) < 0)
		return -EBADMSG;
	return 0;
}

int dm_status_parse(struct ublkit_dm_status *st, const char *type, uint64_t length,
		    const char *status, const char *table)
{
	int kind = dm_kind_of_target(type);
	int r;

	if (!st->kind || st->kind == UBLKIT_DM_UNKNOWN)
		st->kind = kind;
	dm_status_set(st, UBLKIT_DM_SIZE_SECTORS, length);
	switch (kind) {
	case UBLKIT_DM_THIN_POOL: r = parse_pool(st, status, table); break;
	case UBLKIT_DM_THIN: r = parse_thin(st, status, table); break;
	case UBLKIT_DM_CACHE: r = parse_cache(st, status, table); break;
	case UBLKIT_DM_STRIPED: r = parse_striped(st, status, table); break;
	case UBLKIT_DM_LINEAR: r = parse_geometry(st, status, table, 1); break;
	case UBLKIT_DM_CRYPT: r = parse_geometry(st, status, table, 4); break;
	default:
		/* error, flakey, ...: only a failure is understood */
		r = parse_geometry(st, status, NULL, 0);
		break;
	}
	return r;
}

/* ---- the status object ------------------------------------------------ */

UBLKIT_EXPORT struct ublkit_dm_status *ublkit_dm_status_ref(struct ublkit_dm_status *st)
{
	if (st)
		__atomic_add_fetch(&st->refcount, 1, __ATOMIC_RELAXED);
	return st;
}

UBLKIT_EXPORT struct ublkit_dm_status *ublkit_dm_status_unref(struct ublkit_dm_status *st)
{
	if (st && __atomic_sub_fetch(&st->refcount, 1, __ATOMIC_ACQ_REL) == 0)
		free(st);
	return NULL;
}

UBLKIT_EXPORT const char *ublkit_dm_status_get_name(const struct ublkit_dm_status *st)
{
	return st->name;
}

UBLKIT_EXPORT int ublkit_dm_status_get_kind(const struct ublkit_dm_status *st)
{
	return st->kind;
}

UBLKIT_EXPORT int ublkit_dm_status_get_mode(const struct ublkit_dm_status *st)
{
	return st->mode;
}

UBLKIT_EXPORT bool ublkit_dm_status_is_failed(const struct ublkit_dm_status *st)
{
	return st->failed;
}

UBLKIT_EXPORT bool ublkit_dm_status_needs_check(const struct ublkit_dm_status *st)
{
	return st->needs_check;
}

UBLKIT_EXPORT bool ublkit_dm_status_below_low_water(const struct ublkit_dm_status *st)
{
	const uint32_t need = 1u << UBLKIT_DM_DATA_USED_BLOCKS | 1u << UBLKIT_DM_DATA_TOTAL_BLOCKS |
			      1u << UBLKIT_DM_LOW_WATER_BLOCKS;

	if (st->kind != UBLKIT_DM_THIN_POOL || (st->have & need) != need ||
	    !st->v[UBLKIT_DM_LOW_WATER_BLOCKS])
		return false;
	return st->v[UBLKIT_DM_DATA_TOTAL_BLOCKS] - st->v[UBLKIT_DM_DATA_USED_BLOCKS] <=
	       st->v[UBLKIT_DM_LOW_WATER_BLOCKS];
}

UBLKIT_EXPORT int ublkit_dm_status_get_value(const struct ublkit_dm_status *st, int value,
					     uint64_t *ret)
{
	if (value < 0 || (size_t)value >= ARRAY_SIZE(value_names))
		return -EINVAL;
	if (!(st->have & (1u << value)))
		return -ENODATA;
	*ret = st->v[value];
	return 0;
}

/* ---- events ---------------------------------------------------------- */

static uint64_t value(const struct ublkit_dm_status *st, int v)
{
	uint64_t x = 0;

	(void)ublkit_dm_status_get_value(st, v, &x);
	return x;
}

/* What a changed device's status says happened, and a sentence for people. */
int dm_status_classify(const struct ublkit_dm_status *st, char *msg, size_t size)
{
	const char *name = ublkit_dm_status_get_name(st);
	int mode = ublkit_dm_status_get_mode(st);
	uint64_t used = value(st, UBLKIT_DM_DATA_USED_BLOCKS);
	uint64_t total = value(st, UBLKIT_DM_DATA_TOTAL_BLOCKS);

	if (ublkit_dm_status_is_failed(st)) {
		snprintf(msg, size, "%s: the %s target failed", name,
			 ublkit_dm_kind_name(ublkit_dm_status_get_kind(st)));
		return UBLKIT_DM_EVENT_FAILED;
	}
	if (ublkit_dm_status_get_kind(st) != UBLKIT_DM_THIN_POOL) {
		snprintf(msg, size, "%s: the target signalled an event", name);
		return UBLKIT_DM_EVENT_CHANGED;
	}
	if (mode == UBLKIT_DM_MODE_READ_ONLY) {
		snprintf(msg, size, "%s: the pool went read-only (metadata trouble%s)", name,
			 ublkit_dm_status_needs_check(st) ? ", needs thin_check" : "");
		return UBLKIT_DM_EVENT_FAILED;
	}
	if (mode == UBLKIT_DM_MODE_OUT_OF_DATA_SPACE) {
		snprintf(msg, size, "%s: the pool is out of data space (%" PRIu64 " of %" PRIu64
			 " blocks used): writes to new blocks wait, then fail", name, used, total);
		return UBLKIT_DM_EVENT_OUT_OF_SPACE;
	}
	if (ublkit_dm_status_below_low_water(st)) {
		snprintf(msg, size, "%s: %" PRIu64 " of %" PRIu64 " data blocks used, at or below "
			 "the low-water mark of %" PRIu64 " free blocks", name, used, total,
			 value(st, UBLKIT_DM_LOW_WATER_BLOCKS));
		return UBLKIT_DM_EVENT_LOW_WATER;
	}
	snprintf(msg, size, "%s: the pool signalled an event (%" PRIu64 " of %" PRIu64
		 " data blocks used)", name, used, total);
	return UBLKIT_DM_EVENT_CHANGED;
}
