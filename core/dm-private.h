/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal interface of the device-mapper layer (dm.c, dm-table.c, dm-status.c, dm-event.c). */
#ifndef UBLKIT_DM_PRIVATE_H
#define UBLKIT_DM_PRIVATE_H

#include <sys/types.h>

#include "ublkit/dm.h"

#define DM_UUID_MAX 128		/* DM_UUID_LEN - 1 */
#define DM_KEY_BYTES 64		/* aes-xts-plain64 with two 256-bit keys */
#define DM_CRYPT_CIPHER "aes-xts-plain64"

/* One device a table uses, and the range of it. */
struct dm_slot {
	char role[8];		/* the part's suffix: tmeta, tdata, cmeta, cfast, corig */
	char path[256];		/* as the caller named it */
	dev_t devnum;
	uint64_t dev_sectors;	/* size of the whole device */
	uint64_t offset;	/* the range, sectors */
	uint64_t length;
	bool part;		/* not the whole device, and the kind needs one: a part */
	dev_t use;		/* what the table names (the part once it exists) */
	char ident[160];	/* WWID, DM UUID or "MAJ:MIN" */
};

struct ublkit_dm_table {
	int refcount;
	struct ublkit_ctx *ctx;
	int kind;
	uint64_t size;			/* sectors */
	struct dm_slot slot[UBLKIT_DM_MAX_STRIPES];
	unsigned int nslots;
	uint64_t chunk;			/* striped */
	uint64_t block;			/* thin-pool, cache */
	uint64_t low_water;		/* thin-pool */
	unsigned int pool_flags;
	int cache_mode;
	char pool[UBLKIT_DM_NAME_MAX + 1];	/* thin */
	dev_t pool_devnum;		/* thin, set at create */
	char pool_uuid[DM_UUID_MAX + 1];
	uint32_t thin_id;
	unsigned char *key;		/* crypt: DM_KEY_BYTES of locked memory, or NULL */
};

/* dm-table.c */
/* The kernel's target type of a kind ("thin-pool"); NULL for none. */
const char *dm_kind_target(int kind);
/* The kind of a target type ("linear" -> LINEAR); UNKNOWN otherwise. */
int dm_kind_of_target(const char *type);
/* The token of a kind in ublkit's UUIDs ("pool" for thin-pool). */
const char *dm_kind_uuid_token(int kind);
int dm_kind_from_uuid(const char *uuid);
/* Resolve "MAJ:MIN" or a path through the sysroot to a block device and its size. */
int dm_resolve_device(struct ublkit_ctx *ctx, const char *device, dev_t *devnum,
		      uint64_t *sectors);
/* The stable identity of a block device: WWID, DM UUID or "MAJ:MIN". */
void dm_device_ident(struct ublkit_ctx *ctx, dev_t devnum, char *buf, size_t size);
/* UBLKIT-<kind>-<16 hex>-<name> for @t's devices. -ENAMETOOLONG if it does not fit. */
int dm_table_uuid(const struct ublkit_dm_table *t, const char *name, char *buf, size_t size);
int dm_part_uuid(const struct dm_slot *s, const char *owner, char *buf, size_t size);
/*
 * The target's parameters for the kernel. @show_key false writes
 * "<random key>" for a crypt key. Returns the length or -ENOBUFS. The
 * caller wipes @buf when it may hold a key.
 */
int dm_table_params(const struct ublkit_dm_table *t, bool show_key, char *buf, size_t size);
void dm_table_wipe_key(struct ublkit_dm_table *t);
/* Mask the key of a crypt table line ("aes-xts-plain64 KEY 0 ...") in place. */
void dm_mask_crypt_params(char *params);
uint64_t dm_hash64(const char *s, uint64_t h);

/* dm-status.c */
struct ublkit_dm_status {
	int refcount;
	char name[128];
	int kind;
	int mode;
	bool failed;
	bool needs_check;
	uint64_t v[UBLKIT_DM_DIRTY_BLOCKS + 1];
	uint32_t have;		/* bit per value present */
};

/*
 * Parse the status line of one target (@status, as DM_DEVICE_STATUS
 * gives it) together with its table line (@table, may be NULL) into @st.
 * @type is the target type. -EBADMSG for a line that makes no sense.
 */
int dm_status_parse(struct ublkit_dm_status *st, const char *type, uint64_t length,
		    const char *status, const char *table);
struct ublkit_dm_status *dm_status_alloc(const char *name);
void dm_status_set(struct ublkit_dm_status *st, int value, uint64_t v);
/* The event type (enum ublkit_dm_event_type) a changed device's status
 * means, and a sentence for people in @msg. */
int dm_status_classify(const struct ublkit_dm_status *st, char *msg, size_t size);

/* dm.c */
struct dm_task;
/* Route libdevmapper's log to @ctx for the calling thread (NULL: drop it). */
void dm_log_enter(struct ublkit_ctx *ctx);
/* List every device: name, UUID, event number. */
struct dm_dev_entry {
	char name[128];
	char uuid[DM_UUID_MAX + 1];
	dev_t devnum;
	uint32_t event_nr;
	bool seen;
};
int dm_list_entries(struct ublkit_ctx *ctx, struct dm_dev_entry **ret);
/*
 * The pool (MAJ:MIN) and thin id of a thin device's table text, as
 * struct ublkit_dm_device keeps it ("0 LENGTH thin MAJ:MIN ID ..."):
 * 0, or -EINVAL when @table is no such line.
 */
int dm_thin_table_ref(const char *table, dev_t *pool, uint32_t *thin_id);

/* The kernel uses at most this much of a thin pool's metadata device (sectors). */
#define DM_THIN_META_MAX_SECTORS (255ull * (1u << 14) * 8)
/* What the superblock of a thin pool's metadata says about the pool. */
struct dm_thin_super {
	uint32_t data_block_sectors;	/* the pool's BlockSize */
	uint64_t metadata_sectors;	/* the metadata device it was made on */
};
/*
 * Does @path (through the sysroot) hold a thin pool's metadata at
 * @offset_sectors: the dm-thin superblock magic in its first block?
 * Returns 1 (and fills @ret, may be NULL), 0 not, or a negative errno.
 */
int dm_thin_super_read(struct ublkit_ctx *ctx, const char *path, uint64_t offset_sectors,
		       struct dm_thin_super *ret);

#endif
