/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ublkit dm: device-mapper devices of ublkit's (linear, striped, crypt, thin, cache). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "tool.h"
#include "ublkit/dm.h"

static const char usage[] =
	"Usage: ublkit dm create KIND NAME [OPTIONS]\n"
	"       ublkit dm reload KIND NAME [OPTIONS]\n"
	"       ublkit dm remove NAME...\n"
	"       ublkit dm list [--all] [--json]\n"
	"       ublkit dm status NAME [--json]\n"
	"       ublkit dm watch [--all] [--count N] [--timeout SECONDS] [--json]\n"
	"       ublkit dm suspend NAME | resume NAME\n"
	"\n"
	"Device-mapper devices over block devices such as NVMe namespaces. What ublkit\n"
	"creates has a DM UUID that starts with UBLKIT-; any other device is left alone\n"
	"by every command here, remove included. Sizes are bytes or take K, M, G, T\n"
	"suffixes (KiB... powers of 1024, KB... of 1000, fractions such as 1.5G) and\n"
	"must be whole 512-byte sectors. A NAME ublkit creates is 1 to 96 letters,\n"
	"digits and _.+-, not starting with '.' or '-'.\n"
	"\n"
	"Kinds and their options:\n"
	"  linear     --device DEV [--offset SIZE] [--length SIZE]\n"
	"  striped    --device DEV --device DEV... [--chunk SIZE (64K)] [--length SIZE]\n"
	"  crypt      --device DEV [--offset SIZE] [--length SIZE]\n"
	"             aes-xts-plain64 with a fresh random key that is never stored:\n"
	"             the contents are gone once the device is; for swap and scratch\n"
	"  thin-pool  --metadata DEV --data DEV [--block-size SIZE (64K)]\n"
	"             [--low-water SIZE] [--error-if-no-space]\n"
	"  thin       --pool POOL --size SIZE [--id N]\n"
	"  cache      --metadata DEV --fast DEV --slow DEV [--block-size SIZE (64K)]\n"
	"             [--mode writethrough|writeback|passthrough] (writethrough)\n"
	"  An option that is not listed for the kind is refused. --chunk is a power of\n"
	"  two from 4K; --block-size a multiple of 64K (thin-pool) or of 32K (cache)\n"
	"  up to 1G.\n"
	"  --metadata, --data, --fast and --slow take a range of a device with\n"
	"  --metadata-offset SIZE --metadata-length SIZE (likewise data-, fast-, slow-);\n"
	"  a range becomes a part device NAME-tmeta, NAME-tdata, NAME-cmeta, ... that\n"
	"  is removed with NAME.\n"
	"  --read-only   create the device read-only (create only)\n"
	"\n"
	"thin --id N: an id the pool already has is activated with its data; without\n"
	"--id a new volume gets an id that is free in the pool.\n"
	"remove: refused while the device is mounted, swap, held by another device or\n"
	"open in a process, which it names. A thin volume is deleted from its pool.\n"
	"reload: replace the table (whole devices only); when the kernel refuses the\n"
	"new table the old one is put back, and the device is never left suspended.\n"
	"list: ublkit's devices (--all: every device-mapper device).\n"
	"status: size, mode (thin pool: ok, out-of-data-space, read-only, failed;\n"
	"cache: writethrough, writeback, passthrough) and the target's counters.\n"
	"watch: print events as they come: a thin pool at its low-water mark or out of\n"
	"space, a failed target, devices that come and go.\n"
	"\n"
	"Examples:\n"
	"  ublkit dm create linear fast0 --device /dev/nvme0n1 --offset 1G --length 10G\n"
	"  ublkit dm create striped wide0 --device /dev/nvme0n1 --device /dev/nvme1n1 --chunk 128K\n"
	"  ublkit dm create crypt swap0 --device /dev/nvme0n2 && mkswap /dev/mapper/swap0\n"
	"  ublkit dm create thin-pool pool0 --metadata /dev/nvme0n1 --metadata-length 64M \\\n"
	"         --data /dev/nvme0n1 --data-offset 64M --low-water 1G\n"
	"  ublkit dm create thin vol0 --pool pool0 --size 100G\n"
	"  ublkit dm create cache cached0 --metadata /dev/nvme0n1 --metadata-length 32M \\\n"
	"         --fast /dev/nvme0n1 --fast-offset 32M --slow /dev/sda --mode writethrough\n"
	"  ublkit dm status pool0 --json\n"
	"  ublkit dm watch --json\n"
	"  ublkit dm remove vol0 pool0\n"
	"\n"
	"Exit status: 0 done, 1 failed (nothing created or changed), 2 usage, 3 the\n"
	"kernel lacks device-mapper or the target's module.\n";

enum role { ROLE_DEVICE, ROLE_METADATA, ROLE_DATA, ROLE_FAST, ROLE_SLOW, ROLE_MAX };
static const char *const role_names[] = { "device", "metadata", "data", "fast", "slow" };

struct create_opts {
	int kind;
	const char *name;
	struct ublkit_dm_range range[ROLE_MAX];
	const char *stripes[UBLKIT_DM_MAX_STRIPES];
	unsigned int nstripes;
	const char *pool;
	uint64_t length, chunk, block, low_water_bytes, size;
	uint32_t thin_id;
	int cache_mode;
	unsigned int pool_flags, flags;
};

static int parse_sectors(struct tool *t, const char *opt, const char *arg, uint64_t *ret)
{
	uint64_t bytes;

	if (tool_opt_size(t, opt, arg, 0, UINT64_MAX, &bytes) < 0)
		return -EINVAL;
	if (bytes % 512) {
		tool_usage(t, "--%s %s: not a whole number of 512-byte sectors", opt, tool_shown(arg));
		return -EINVAL;
	}
	*ret = bytes / 512;
	return 0;
}

enum {
	OPT_OFFSET = 0x100,	/* + role */
	OPT_LENGTH = 0x110,	/* + role */
	OPT_DEV = 0x120,	/* + role */
	OPT_CHUNK = 0x130, OPT_BLOCK, OPT_LOW_WATER, OPT_ERROR_NO_SPACE, OPT_POOL, OPT_SIZE,
	OPT_ID, OPT_MODE, OPT_RO, OPT_STRIPE_LENGTH,
};

static int parse_mode(struct tool *t, const char *arg, int *mode)
{
	if (!strcmp(arg, "writethrough"))
		*mode = UBLKIT_DM_CACHE_WRITETHROUGH;
	else if (!strcmp(arg, "writeback"))
		*mode = UBLKIT_DM_CACHE_WRITEBACK;
	else if (!strcmp(arg, "passthrough"))
		*mode = UBLKIT_DM_CACHE_PASSTHROUGH;
	else {
		tool_usage(t, "--mode %s: writethrough, writeback or passthrough", tool_shown(arg));
		return -EINVAL;
	}
	return 0;
}

/* "--offset" for the device, "--metadata-offset" for the metadata, ... */
static const char *role_option(enum role role, const char *what, char *buf, size_t size)
{
	if (role == ROLE_DEVICE)
		return what;
	snprintf(buf, size, "%s-%s", role_names[role], what);
	return buf;
}

static int device_option(struct tool *t, struct create_opts *o, enum role role, const char *arg)
{
	if (tool_check_path(t, role_names[role], arg) < 0)
		return -EINVAL;
	if (role == ROLE_DEVICE && o->kind == UBLKIT_DM_STRIPED) {
		if (o->nstripes >= UBLKIT_DM_MAX_STRIPES) {
			tool_usage(t, "striped: at most %d devices", UBLKIT_DM_MAX_STRIPES);
			return -EINVAL;
		}
		o->stripes[o->nstripes++] = arg;
	} else if (o->range[role].device) {
		tool_usage(t, "--%s is given twice ('%s' and '%s'); %s takes one", role_names[role],
			   tool_shown(o->range[role].device), tool_shown(arg),
			   ublkit_dm_kind_name(o->kind));
		return -EINVAL;
	}
	o->range[role].device = arg;
	return 0;
}


static int chunk_option(struct tool *t, struct create_opts *o, const char *arg)
{
	if (parse_sectors(t, "chunk", arg, &o->chunk) < 0)
		return -EINVAL;
	if (o->chunk >= UBLKIT_DM_STRIPE_CHUNK_MIN && !(o->chunk & (o->chunk - 1)))
		return 0;
	tool_usage(t, "--chunk %s: give a power of two of at least %uK, such as 64K or 1M",
		   tool_shown(arg), UBLKIT_DM_STRIPE_CHUNK_MIN / 2);
	return -EINVAL;
}

static int block_option(struct tool *t, struct create_opts *o, const char *arg)
{
	uint64_t unit = o->kind == UBLKIT_DM_THIN_POOL ? UBLKIT_DM_POOL_BLOCK_UNIT
						       : UBLKIT_DM_CACHE_BLOCK_UNIT;

	if (parse_sectors(t, "block-size", arg, &o->block) < 0)
		return -EINVAL;
	if (o->block >= unit && o->block <= UBLKIT_DM_BLOCK_MAX && o->block % unit == 0)
		return 0;
	tool_usage(t, "--block-size %s: a %s takes a multiple of %lluK from %lluK to %lluG",
		   tool_shown(arg), ublkit_dm_kind_name(o->kind), (unsigned long long)unit / 2,
		   (unsigned long long)unit / 2, UBLKIT_DM_BLOCK_MAX / 2 / 1024 / 1024ull);
	return -EINVAL;
}

static int create_option(struct tool *t, struct create_opts *o, int c, const char *arg)
{
	char name[32];
	uint64_t v;

	if (c >= OPT_DEV && c < OPT_DEV + ROLE_MAX)
		return device_option(t, o, (enum role)(c - OPT_DEV), arg);
	if (c >= OPT_OFFSET && c < OPT_OFFSET + ROLE_MAX)
		return parse_sectors(t, role_option((enum role)(c - OPT_OFFSET), "offset", name,
						    sizeof(name)),
				     arg, &o->range[c - OPT_OFFSET].offset_sectors);
	if (c >= OPT_LENGTH && c < OPT_LENGTH + ROLE_MAX) {
		if (c == OPT_LENGTH + ROLE_DEVICE && o->kind == UBLKIT_DM_STRIPED)
			return parse_sectors(t, "length", arg, &o->length);
		return parse_sectors(t, role_option((enum role)(c - OPT_LENGTH), "length", name,
						    sizeof(name)),
				     arg, &o->range[c - OPT_LENGTH].length_sectors);
	}
	switch (c) {
	case OPT_CHUNK: return chunk_option(t, o, arg);
	case OPT_BLOCK: return block_option(t, o, arg);
	case OPT_LOW_WATER:
		return tool_opt_size(t, "low-water", arg, 0, UINT64_MAX, &o->low_water_bytes);
	case OPT_ERROR_NO_SPACE: o->pool_flags |= UBLKIT_DM_POOL_ERROR_IF_NO_SPACE; return 0;
	case OPT_POOL: o->pool = arg; return 0;
	case OPT_SIZE: return parse_sectors(t, "size", arg, &o->size);
	case OPT_ID:
		if (tool_opt_uint(t, "id", arg, 0, (1u << 24) - 1, &v) < 0)
			return -EINVAL;
		o->thin_id = (uint32_t)v;
		return 0;
	case OPT_MODE: return parse_mode(t, arg, &o->cache_mode);
	case OPT_RO: o->flags |= UBLKIT_DM_READ_ONLY; return 0;
	default: return -ENOENT;
	}
}

static const struct option create_longopts[] = {
	TOOL_COMMON_LONGOPTS,
	{ "device", required_argument, NULL, OPT_DEV + ROLE_DEVICE },
	{ "metadata", required_argument, NULL, OPT_DEV + ROLE_METADATA },
	{ "data", required_argument, NULL, OPT_DEV + ROLE_DATA },
	{ "fast", required_argument, NULL, OPT_DEV + ROLE_FAST },
	{ "slow", required_argument, NULL, OPT_DEV + ROLE_SLOW },
	{ "offset", required_argument, NULL, OPT_OFFSET + ROLE_DEVICE },
	{ "metadata-offset", required_argument, NULL, OPT_OFFSET + ROLE_METADATA },
	{ "data-offset", required_argument, NULL, OPT_OFFSET + ROLE_DATA },
	{ "fast-offset", required_argument, NULL, OPT_OFFSET + ROLE_FAST },
	{ "slow-offset", required_argument, NULL, OPT_OFFSET + ROLE_SLOW },
	{ "length", required_argument, NULL, OPT_LENGTH + ROLE_DEVICE },
	{ "metadata-length", required_argument, NULL, OPT_LENGTH + ROLE_METADATA },
	{ "data-length", required_argument, NULL, OPT_LENGTH + ROLE_DATA },
	{ "fast-length", required_argument, NULL, OPT_LENGTH + ROLE_FAST },
	{ "slow-length", required_argument, NULL, OPT_LENGTH + ROLE_SLOW },
	{ "chunk", required_argument, NULL, OPT_CHUNK },
	{ "block-size", required_argument, NULL, OPT_BLOCK },
	{ "low-water", required_argument, NULL, OPT_LOW_WATER },
	{ "error-if-no-space", no_argument, NULL, OPT_ERROR_NO_SPACE },
	{ "pool", required_argument, NULL, OPT_POOL },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "id", required_argument, NULL, OPT_ID },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "read-only", no_argument, NULL, OPT_RO },
	{},
};

/* Which device options a kind takes. */
static bool kind_takes(int kind, enum role role)
{
	switch (kind) {
	case UBLKIT_DM_LINEAR:
	case UBLKIT_DM_CRYPT:
	case UBLKIT_DM_STRIPED: return role == ROLE_DEVICE;
	case UBLKIT_DM_THIN_POOL: return role == ROLE_METADATA || role == ROLE_DATA;
	case UBLKIT_DM_CACHE: return role == ROLE_METADATA || role == ROLE_FAST || role == ROLE_SLOW;
	default: return false;
	}
}

#define KIND(k) (1u << UBLKIT_DM_##k)

/* The kinds an option is for; ~0: every kind. */
static unsigned int option_kinds(int c)
{
	static const struct {
		int opt;
		unsigned int kinds;
	} table[] = {
		{ OPT_DEV + ROLE_DEVICE, KIND(LINEAR) | KIND(STRIPED) | KIND(CRYPT) },
		{ OPT_OFFSET + ROLE_DEVICE, KIND(LINEAR) | KIND(CRYPT) },
		{ OPT_LENGTH + ROLE_DEVICE, KIND(LINEAR) | KIND(STRIPED) | KIND(CRYPT) },
		{ OPT_CHUNK, KIND(STRIPED) },
		{ OPT_BLOCK, KIND(THIN_POOL) | KIND(CACHE) },
		{ OPT_LOW_WATER, KIND(THIN_POOL) },
		{ OPT_ERROR_NO_SPACE, KIND(THIN_POOL) },
		{ OPT_POOL, KIND(THIN) },
		{ OPT_SIZE, KIND(THIN) },
		{ OPT_ID, KIND(THIN) },
		{ OPT_MODE, KIND(CACHE) },
	};
	unsigned int kinds = 0;

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].opt == c)
			return table[i].kinds;
	/* --metadata, --data-offset, ...: the kinds that take the role */
	if (c < OPT_OFFSET || c >= OPT_DEV + ROLE_MAX || (c & 0xf) >= ROLE_MAX)
		return ~0u;
	for (int k = UBLKIT_DM_LINEAR; k <= UBLKIT_DM_CACHE; k++)
		if (kind_takes(k, (enum role)(c & 0xf)))
			kinds |= 1u << k;
	return kinds;
}

/* An option that is not for @kind is a usage error that names its kinds. */
static int check_option_kind(struct tool *t, int kind, int c)
{
	unsigned int kinds = option_kinds(c);
	const char *opt = "?";
	char list[128] = "";
	size_t len = 0;
	int n = 0, i = 0;

	if (kinds & (1u << kind))
		return 0;
	for (const struct option *lo = create_longopts; lo->name; lo++)
		if (lo->val == c)
			opt = lo->name;
	for (int k = UBLKIT_DM_LINEAR; k <= UBLKIT_DM_CACHE; k++)
		n += !!(kinds & (1u << k));
	for (int k = UBLKIT_DM_LINEAR; k <= UBLKIT_DM_CACHE && len < sizeof(list); k++)
		if (kinds & (1u << k))
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
						i++ == 0 ? "" : i == n ? " and " : ", ",
						ublkit_dm_kind_name(k));
	tool_usage(t, "%s %s: --%s does not apply; it is for %s", t->prog,
		   ublkit_dm_kind_name(kind), opt, list);
	return -EINVAL;
}

/* A name passes the library's check (its message says what is allowed). */
static int check_dm_name(struct tool *t, const char *name, unsigned int flags)
{
	int saved = tool_checks_begin(t);
	int r = ublkit_dm_name_check(t->ctx, name, flags);

	tool_checks_end(t, saved);
	return r < 0 ? tool_usage(t, NULL) : -1;
}

/* What the options say together; each fits the kind (check_option_kind()). */
static int check_create(struct tool *t, const char *verb, struct create_opts *o)
{
	const char *kind = ublkit_dm_kind_name(o->kind);

	for (int r = 0; r < ROLE_MAX; r++)
		if (kind_takes(o->kind, (enum role)r) && !o->range[r].device)
			return tool_usage(t, "%s %s needs --%s DEV", verb, kind, role_names[r]);
	if (o->kind == UBLKIT_DM_STRIPED && o->nstripes < 2)
		return tool_usage(t, "%s striped needs --device at least twice", verb);
	if (o->kind == UBLKIT_DM_THIN && (!o->pool || !o->size))
		return tool_usage(t, "%s thin needs --pool POOL and --size SIZE", verb);
	if ((o->flags & UBLKIT_DM_READ_ONLY) && strcmp(verb, "create"))
		return tool_usage(t, "--read-only is for create: a reload keeps the device's mode");
	if (o->pool)
		return check_dm_name(t, o->pool, UBLKIT_DM_NAME_CREATE);
	return -1;
}

static int parse_create(struct tool *t, const char *verb, int argc, char **argv,
			struct create_opts *o)
{
	int c, r;

	o->thin_id = UBLKIT_DM_THIN_ID_AUTO;
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			fputs(usage, stdout);
			return EXIT_OK;
		}
		return tool_usage(t, "%s needs a kind: linear, striped, crypt, thin-pool, thin or "
				  "cache", verb);
	}
	o->kind = ublkit_dm_kind_from_string(argv[1]);
	if (o->kind < 0 || o->kind == UBLKIT_DM_PART)
		return tool_usage(t, "unknown kind '%s': linear, striped, crypt, thin-pool, thin "
				  "or cache", tool_shown(argv[1]));
	argc--;
	argv++;
	optind = 0;
	while ((c = tool_getopt(t, argc, argv, "hj", create_longopts)) != -1) {
		r = check_option_kind(t, o->kind, c);
		if (r == 0)
			r = create_option(t, o, c, optarg);
		if (r == -ENOENT) {
			r = tool_common_option(t, c, usage);
			if (r >= 0)
				return r;
		} else if (r < 0) {
			return EXIT_USAGE;
		}
	}
	r = tool_one_arg(t, argc, argv, "NAME", &o->name);
	if (r < 0)
		r = check_dm_name(t, o->name, strcmp(verb, "create") ? 0 : UBLKIT_DM_NAME_CREATE);
	if (r < 0)
		r = check_create(t, verb, o);
	return r;
}

static int build_table(struct tool *t, struct create_opts *o, struct ublkit_dm_table **tab)
{
	uint64_t block;

	switch (o->kind) {
	case UBLKIT_DM_LINEAR: return ublkit_dm_table_linear(t->ctx, &o->range[ROLE_DEVICE], tab);
	case UBLKIT_DM_CRYPT: return ublkit_dm_table_crypt(t->ctx, &o->range[ROLE_DEVICE], tab);
	case UBLKIT_DM_STRIPED:
		return ublkit_dm_table_striped(t->ctx, o->stripes, o->nstripes, o->chunk, o->length,
					       tab);
	case UBLKIT_DM_THIN_POOL:
		block = o->block ? o->block : UBLKIT_DM_POOL_BLOCK_DEFAULT;
		return ublkit_dm_table_thin_pool(t->ctx, &o->range[ROLE_METADATA],
						 &o->range[ROLE_DATA], o->block,
						 o->low_water_bytes / (block * 512), o->pool_flags,
						 tab);
	case UBLKIT_DM_THIN:
		return ublkit_dm_table_thin(t->ctx, o->pool, o->thin_id, o->size, tab);
	case UBLKIT_DM_CACHE:
		return ublkit_dm_table_cache(t->ctx, &o->range[ROLE_METADATA], &o->range[ROLE_FAST],
					     &o->range[ROLE_SLOW], o->block, o->cache_mode, tab);
	default: return -EINVAL;
	}
}

static int explain(struct tool *t, int r, const char *what, const char *name)
{
	char why[512];

	/* @name passed ublkit_dm_name_check(): it prints as it is */
	switch (r) {
	case -EXDEV: return tool_not_in_sysroot("dm");
	case -ENOENT:
		tool_error("%s %s: the system lacks what is needed (see above)", what, name);
		return EXIT_UNSUPPORTED;
	case -EBUSY:
		if (strcmp(what, "remove") != 0)
			return tool_fail(r, "%s %s failed (see above)", what, name);
		if (ublkit_dm_get_holder(t->ctx, name, why, sizeof(why)) > 0)
			tool_error("%s %s: refused, the device is in use (%s)", what, name, why);
		else
			tool_error("%s %s failed: the device was busy", what, name);
		return EXIT_FAIL;
	case -EPERM:
		tool_error("%s %s: refused, the device is not ublkit's", what, name);
		return EXIT_FAIL;
	case -ENODEV:
		if (strcmp(what, "create") && strcmp(what, "reload")) {
			tool_error("%s %s: no such device (see 'ublkit dm list')", what, name);
			return EXIT_FAIL;
		}
		return tool_fail(r, "%s %s failed", what, name);
	default:
		return tool_fail(r, "%s %s failed", what, name);
	}
}

static void print_device(struct tool *t, const struct ublkit_dm_device *d)
{
	char size[32], mapper[256];
	dev_t dev = ublkit_dm_device_get_devnum(d);

	snprintf(mapper, sizeof(mapper), "/dev/mapper/%s", ublkit_dm_device_get_name(d));
	if (!t->json) {
		printf("%s %s %s %s\n", ublkit_dm_device_get_name(d), mapper,
		       ublkit_dm_device_get_block_device(d),
		       tool_format_size(ublkit_dm_device_get_size(d) * 512, size, sizeof(size)));
		return;
	}
	json_string("name", ublkit_dm_device_get_name(d));
	json_string("kind", ublkit_dm_kind_name(ublkit_dm_device_get_kind(d)));
	json_string("uuid", ublkit_dm_device_get_uuid(d));
	json_bool("ublkit", ublkit_dm_device_is_ublkit(d));
	json_string("owner", ublkit_dm_device_get_owner(d));
	json_string("target", ublkit_dm_device_get_target_type(d));
	json_string("path", mapper);
	json_string("block_device", ublkit_dm_device_get_block_device(d));
	json_uint("major", major(dev));
	json_uint("minor", minor(dev));
	json_uint("size", ublkit_dm_device_get_size(d) * 512);
	json_uint("size_sectors", ublkit_dm_device_get_size(d));
	json_string("state", ublkit_dm_device_is_suspended(d) ? "suspended" : "active");
	json_bool("read_only", ublkit_dm_device_is_read_only(d));
	json_bool("live_table", ublkit_dm_device_has_live_table(d));
	json_bool("inactive_table", ublkit_dm_device_has_inactive_table(d));
	json_int("open_count", ublkit_dm_device_get_open_count(d));
	json_uint("event_nr", ublkit_dm_device_get_event_nr(d));
	json_string("table", ublkit_dm_device_get_table(d));
}

static int show_created(struct tool *t, const char *name)
{
	struct ublkit_dm_device *d = NULL;
	int r = ublkit_dm_device_new(t->ctx, name, &d);

	if (r < 0)
		return tool_fail(r, "%s was created, but cannot be read back", name);
	if (t->json)
		json_begin_object(NULL);
	print_device(t, d);
	if (t->json) {
		json_end_object();
		json_finish();
	}
	ublkit_dm_device_unref(d);
	return EXIT_OK;
}

static int cmd_dm_create(struct tool *t, const char *verb, int argc, char **argv)
{
	struct create_opts o = { 0 };
	struct ublkit_dm_table *tab = NULL;
	bool reload = !strcmp(verb, "reload");
	int r;

	r = parse_create(t, verb, argc, argv, &o);
	if (r >= 0)
		return r;
	tool_show_library_errors(t);
	r = build_table(t, &o, &tab);
	if (r < 0)
		return explain(t, r, reload ? "reload" : "create", o.name);
	if (reload)
		r = ublkit_dm_reload(t->ctx, o.name, tab);
	else
		r = ublkit_dm_create(t->ctx, o.name, tab, o.flags);
	ublkit_dm_table_unref(tab);
	if (r == -EEXIST) {
		tool_error("create %s: the name is taken; nothing was created", o.name);
		return EXIT_FAIL;
	}
	if (r < 0)
		return explain(t, r, reload ? "reload" : "create", o.name);
	return show_created(t, o.name);
}

static int cmd_dm_remove(struct tool *t, int argc, char **argv)
{
	int r, rc = EXIT_OK;

	r = tool_parse_common(t, argc, argv, usage);
	if (r < 0 && optind >= argc)
		r = tool_usage(t, "dm remove needs a NAME");
	/* every name, before any device is removed */
	for (int i = optind; r < 0 && i < argc; i++)
		r = check_dm_name(t, argv[i], 0);
	if (r >= 0)
		return r;
	tool_show_library_errors(t);
	for (int i = optind; i < argc; i++) {
		r = ublkit_dm_remove(t->ctx, argv[i], 0);
		if (r < 0) {
			int e = explain(t, r, "remove", argv[i]);

			if (rc == EXIT_OK)
				rc = e;
		} else if (!t->json) {
			printf("%s removed\n", argv[i]);
		}
	}
	return rc;
}

/* The one NAME of dm status, suspend and resume. */
static int one_name(struct tool *t, int argc, char **argv, const char **name)
{
	int r = tool_parse_common(t, argc, argv, usage);

	if (r < 0)
		r = tool_one_arg(t, argc, argv, "NAME", name);
	if (r < 0)
		r = check_dm_name(t, *name, 0);
	return r;
}

static int cmd_dm_suspend_resume(struct tool *t, const char *verb, int argc, char **argv)
{
	const char *name = NULL;
	int r;

	r = one_name(t, argc, argv, &name);
	if (r >= 0)
		return r;
	tool_show_library_errors(t);
	if (!strcmp(verb, "suspend"))
		r = ublkit_dm_suspend(t->ctx, name, 0);
	else
		r = ublkit_dm_resume(t->ctx, name);
	return r < 0 ? explain(t, r, verb, name) : EXIT_OK;
}

static int cmd_dm_list(struct tool *t, int argc, char **argv)
{
	static const struct option opts[] = {
		TOOL_COMMON_LONGOPTS, { "all", no_argument, NULL, 'a' }, {},
	};
	struct ublkit_dm_device **v = NULL;
	unsigned int flags = 0;
	int c, n, r;

	while ((c = tool_getopt(t, argc, argv, "hja", opts)) != -1) {
		if (c == 'a') {
			flags |= UBLKIT_DM_LIST_ALL | UBLKIT_DM_LIST_PARTS;
			continue;
		}
		r = tool_common_option(t, c, usage);
		if (r >= 0)
			return r;
	}
	r = tool_no_args(t, argc, argv);
	if (r >= 0)
		return r;
	tool_show_library_errors(t);
	n = ublkit_dm_list(t->ctx, flags, &v);
	if (n == -EXDEV || n == -ENOENT)
		return explain(t, n, "list", "devices");
	if (n < 0)
		return tool_fail(n, "cannot list device-mapper devices");
	if (t->json)
		json_begin_array(NULL);
	else
		printf("%-24s %-10s %10s %-10s %-9s %4s %s\n", "NAME", "KIND", "SIZE", "DEVICE",
		       "STATE", "OPEN", "OWNER");
	for (int i = 0; i < n; i++) {
		const struct ublkit_dm_device *d = v[i];
		char size[32];

		if (t->json) {
			json_begin_object(NULL);
			print_device(t, d);
			json_end_object();
		} else {
			printf("%-24s %-10s %10s %-10s %-9s %4d %s\n", ublkit_dm_device_get_name(d),
			       ublkit_dm_device_is_ublkit(d)
				       ? ublkit_dm_kind_name(ublkit_dm_device_get_kind(d))
				       : ublkit_dm_device_get_target_type(d),
			       tool_format_size(ublkit_dm_device_get_size(d) * 512, size,
						sizeof(size)),
			       ublkit_dm_device_get_block_device(d) + strlen("/dev/"),
			       ublkit_dm_device_is_suspended(d) ? "suspended" : "active",
			       ublkit_dm_device_get_open_count(d),
			       ublkit_dm_device_is_ublkit(d) ? "ublkit" : "foreign");
		}
		ublkit_dm_device_unref(v[i]);
	}
	free(v);
	if (t->json) {
		json_end_array();
		json_finish();
	} else if (n == 0) {
		printf("(no devices of ublkit's%s)\n", flags ? " or others" : "");
	}
	return EXIT_OK;
}

static void print_status(struct tool *t, const struct ublkit_dm_status *st)
{
	uint64_t v;

	if (t->json) {
		json_string("mode", ublkit_dm_mode_name(ublkit_dm_status_get_mode(st)));
		json_bool("failed", ublkit_dm_status_is_failed(st));
		json_bool("needs_check", ublkit_dm_status_needs_check(st));
		json_bool("below_low_water", ublkit_dm_status_below_low_water(st));
		for (int i = 0; ublkit_dm_value_name(i); i++)
			if (ublkit_dm_status_get_value(st, i, &v) == 0)
				json_uint(ublkit_dm_value_name(i), v);
		return;
	}
	printf("%-24s %s\n", "mode:", ublkit_dm_mode_name(ublkit_dm_status_get_mode(st)));
	printf("%-24s %s\n", "failed:", ublkit_dm_status_is_failed(st) ? "yes" : "no");
	if (ublkit_dm_status_needs_check(st))
		printf("%-24s yes\n", "needs check:");
	if (ublkit_dm_status_get_kind(st) == UBLKIT_DM_THIN_POOL)
		printf("%-24s %s\n", "below low water:",
		       ublkit_dm_status_below_low_water(st) ? "yes" : "no");
	for (int i = 0; ublkit_dm_value_name(i); i++)
		if (ublkit_dm_status_get_value(st, i, &v) == 0) {
			char key[64];

			snprintf(key, sizeof(key), "%s:", ublkit_dm_value_name(i));
			printf("%-24s %" PRIu64 "\n", key, v);
		}
}

static int cmd_dm_status(struct tool *t, int argc, char **argv)
{
	struct ublkit_dm_device *d = NULL;
	struct ublkit_dm_status *st = NULL;
	const char *name = NULL;
	int r;

	r = one_name(t, argc, argv, &name);
	if (r >= 0)
		return r;
	tool_show_library_errors(t);
	r = ublkit_dm_device_new(t->ctx, name, &d);
	if (r >= 0)
		r = ublkit_dm_status_get(t->ctx, name, &st);
	if (r < 0) {
		ublkit_dm_device_unref(d);
		return explain(t, r, "status", name);
	}
	if (t->json) {
		json_begin_object(NULL);
		print_device(t, d);
		json_begin_object("status");
		print_status(t, st);
		json_end_object();
		json_end_object();
		json_finish();
	} else {
		char size[32];

		printf("%-24s %s\n", "name:", ublkit_dm_device_get_name(d));
		printf("%-24s %s%s\n", "kind:", ublkit_dm_kind_name(ublkit_dm_device_get_kind(d)),
		       ublkit_dm_device_is_ublkit(d) ? "" : " (not ublkit's)");
		printf("%-24s %s\n", "uuid:", ublkit_dm_device_get_uuid(d));
		printf("%-24s %s\n", "device:", ublkit_dm_device_get_block_device(d));
		printf("%-24s %s\n", "size:",
		       tool_format_size(ublkit_dm_device_get_size(d) * 512, size, sizeof(size)));
		printf("%-24s %s\n", "state:",
		       ublkit_dm_device_is_suspended(d) ? "suspended" : "active");
		printf("%-24s %d\n", "open:", ublkit_dm_device_get_open_count(d));
		printf("%-24s %s\n", "table:", ublkit_dm_device_get_table(d));
		print_status(t, st);
	}
	ublkit_dm_status_unref(st);
	ublkit_dm_device_unref(d);
	return EXIT_OK;
}

struct watch {
	struct tool *t;
	long count;
};

static int print_event(const struct ublkit_dm_event *e, void *userdata)
{
	struct watch *w = userdata;
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", localtime_r(&now, &tm));
	if (w->t->json) {
		json_begin_object(NULL);
		json_string("time", when);
		json_string("event", ublkit_dm_event_type_name(e->type));
		json_string("name", e->name);
		json_string("kind", ublkit_dm_kind_name(e->kind));
		json_string("uuid", e->uuid);
		json_uint("event_nr", e->event_nr);
		json_string("message", e->message);
		if (e->status) {
			json_begin_object("status");
			print_status(w->t, e->status);
			json_end_object();
		}
		json_end_object();
		json_finish();
	} else {
		printf("%s %-12s %s\n", when, ublkit_dm_event_type_name(e->type), e->message);
		fflush(stdout);
	}
	if (w->count > 0 && --w->count == 0)
		return -ECANCELED;
	return 0;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int cmd_dm_watch(struct tool *t, int argc, char **argv)
{
	static const struct option opts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "all", no_argument, NULL, 'a' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{},
	};
	struct ublkit_dm_monitor *m = NULL;
	struct watch w = { .t = t };
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned int flags = 0;
	uint64_t v, timeout = 0;
	time_t deadline = 0;
	int c, r;

	while ((c = tool_getopt(t, argc, argv, "hjan:t:", opts)) != -1) {
		switch (c) {
		case 'a': flags |= UBLKIT_DM_MONITOR_ALL; break;
		case 'n':
			if (tool_opt_uint(t, "count", optarg, 1, 1000000, &v) < 0)
				return EXIT_USAGE;
			w.count = (long)v;
			break;
		case 't':
			if (tool_opt_uint(t, "timeout", optarg, 0, 86400 * 365, &timeout) < 0)
				return EXIT_USAGE;
			break;
		default:
			r = tool_common_option(t, c, usage);
			if (r >= 0)
				return r;
		}
	}
	r = tool_no_args(t, argc, argv);
	if (r >= 0)
		return r;
	tool_show_library_errors(t);
	r = ublkit_dm_monitor_new(t->ctx, flags, &m);
	if (r == -ENOENT || r == -ENOTSUP) {
		tool_error("watch: the system lacks what is needed (see above)");
		return EXIT_UNSUPPORTED;
	}
	if (r == -EXDEV)
		return tool_not_in_sysroot("dm watch");
	if (r < 0)
		return tool_fail(r, "cannot watch device-mapper events");
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (timeout)
		deadline = time(NULL) + (time_t)timeout;
	r = 0;
	while (!stop) {
		struct pollfd p = { .fd = ublkit_dm_monitor_get_fd(m), .events = POLLIN };
		int wait = 1000;

		if (deadline && time(NULL) >= deadline)
			break;
		if (poll(&p, 1, wait) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (!(p.revents & POLLIN))
			continue;
		r = ublkit_dm_monitor_process(m, print_event, &w);
		if (r < 0)
			break;
	}
	ublkit_dm_monitor_unref(m);
	if (r == -ECANCELED)
		return EXIT_OK;
	if (r < 0)
		return tool_fail(r, "watching device-mapper events failed");
	/* a deadline reached before --count events is a failure for a script waiting on them */
	return w.count > 0 && deadline ? EXIT_FAIL : EXIT_OK;
}

int cmd_dm(struct tool *t, int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : NULL;

	t->usage = usage;
	if (!verb)
		return tool_usage(t, "dm needs a command: create, reload, remove, list, status, "
				  "watch, suspend or resume");
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h")) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	tool_set_verb(t, verb);
	if (!strcmp(verb, "create") || !strcmp(verb, "reload"))
		return cmd_dm_create(t, verb, argc - 1, argv + 1);
	if (!strcmp(verb, "remove"))
		return cmd_dm_remove(t, argc - 1, argv + 1);
	if (!strcmp(verb, "list"))
		return cmd_dm_list(t, argc - 1, argv + 1);
	if (!strcmp(verb, "status"))
		return cmd_dm_status(t, argc - 1, argv + 1);
	if (!strcmp(verb, "watch"))
		return cmd_dm_watch(t, argc - 1, argv + 1);
	if (!strcmp(verb, "suspend") || !strcmp(verb, "resume"))
		return cmd_dm_suspend_resume(t, verb, argc - 1, argv + 1);
	tool_set_verb(t, NULL);
	return tool_usage(t, "unknown dm command '%s' (create, reload, remove, list, status, "
			  "watch, suspend, resume)", tool_shown(verb));
}
