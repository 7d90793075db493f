/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ublkit list / ublkit info: what ublk devices exist and who serves them. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "ublkit/ublk.h"

static const char list_usage[] =
	"Usage: ublkit list [--json]\n"
	"\n"
	"List every ublk device, ublkit's own and foreign ones: id, kernel state,\n"
	"server pid and whether it is alive, queues, depth, size, target, block\n"
	"device and owner.\n";

static const char info_usage[] =
	"Usage: ublkit info [--json] ID\n"
	"\n"
	"Show one device: kernel state and flags, parameters, its server and\n"
	"the server's resident and locked memory.\n";

struct dev_view {
	struct ublkit_orphan o;
	struct ublkit_dev_info info;
	struct ublkit_manifest m;
	bool has_manifest;
	struct ublkit_dev_params params;	/* the kernel's (GET_PARAMS) */
	bool has_params;
	bool alive;
	uint64_t size;
	char blockdev[32];
};

static int dev_view_load(struct tool *t, uint32_t id, struct dev_view *v)
{
	int r;

	memset(v, 0, sizeof(*v));
	r = ublkit_orphan_check(t->ctx, id, &v->o);
	if (r < 0)
		return r;
	v->info = v->o.info;
	v->info.server_pid = v->o.server_pid;
	v->has_manifest = ublkit_manifest_read(t->ctx, id, &v->m) == 0;
	v->alive = v->o.reason == UBLKIT_ORPHAN_NOT;
	v->has_params = ublkit_ublk_get_params(t->ctx, id, &v->params) == 0;
	ublkit_ublk_disk_size(t->ctx, id, &v->size);
	if (v->size)
		ublkit_ublk_block_path(id, v->blockdev, sizeof(v->blockdev));
	return 0;
}

static const char *owner_of(const struct dev_view *v)
{
	return ublkit_dev_info_is_ublkit(&v->info) ? "ublkit" : "foreign";
}

static void json_dev(const struct dev_view *v)
{
	json_int("id", v->info.id);
	json_string("state", ublkit_dev_state_name(v->info.state));
	json_int("server_pid", v->info.server_pid);
	json_bool("server_alive", v->alive);
	json_uint("queues", v->info.nr_queues);
	json_uint("depth", v->info.queue_depth);
	json_uint("size", v->size ? v->size : v->m.params.size);
	json_string("target", v->has_manifest ? v->m.target : NULL);
	json_string("block_device", v->blockdev[0] ? v->blockdev : NULL);
	json_string("owner", owner_of(v));
	json_bool("orphan", v->o.reason != UBLKIT_ORPHAN_NOT);
}

static int ctrl_error(int r)
{
	if (r == -ENODEV || r == -ENOENT) {
		tool_error("no /dev/ublk-control: ublk_drv is not loaded (ublkit modprobe)");
		return EXIT_UNSUPPORTED;
	}
	if (r == -EPERM || r == -EACCES)
		return tool_fail(r, "cannot query ublk devices (run as root)");
	return tool_fail(r, "cannot query ublk devices");
}

int cmd_list(struct tool *t, int argc, char **argv)
{
	uint32_t *ids = NULL;
	char size[32];
	int n, r;

	r = tool_parse_common(t, argc, argv, list_usage);
	if (r >= 0)
		return r;
	n = ublkit_ublk_list(t->ctx, &ids);
	if (n < 0)
		return ctrl_error(n);
	if (t->json)
		json_begin_array(NULL);
	else
		printf("%-4s %-9s %-8s %-5s %6s %5s %10s %-6s %-14s %s\n", "ID", "STATE", "PID",
		       "ALIVE", "QUEUES", "DEPTH", "SIZE", "TARGET", "BLOCKDEV", "OWNER");
	for (int i = 0; i < n; i++) {
		struct dev_view v;

		r = dev_view_load(t, ids[i], &v);
		if (r == -ENODEV)
			continue; /* removed while we looked */
		if (r < 0) {
			free(ids);
			if (t->json)
				json_end_array();
			return ctrl_error(r);
		}
		if (t->json) {
			json_begin_object(NULL);
			json_dev(&v);
			json_end_object();
			continue;
		}
		printf("%-4u %-9s %-8d %-5s %6u %5u %10s %-6s %-14s %s\n", v.info.id,
		       ublkit_dev_state_name(v.info.state), v.info.server_pid,
		       v.alive ? "yes" : "no", v.info.nr_queues, v.info.queue_depth,
		       tool_format_size(v.size, size, sizeof(size)),
		       v.has_manifest ? v.m.target : "-", v.blockdev[0] ? v.blockdev : "-",
		       owner_of(&v));
	}
	if (t->json) {
		json_end_array();
		json_finish();
	}
	free(ids);
	return EXIT_OK;
}

int tool_parse_dev_id(const char *s, uint32_t *id)
{
	uint64_t v;

	if (!strncmp(s, "/dev/ublkb", 10))
		s += 10;
	else if (!strncmp(s, "ublkb", 5))
		s += 5;
	else if (!strncmp(s, "ublk", 4))
		s += 4;
	if (tool_parse_uint(s, INT32_MAX, &v) < 0) {
		tool_error("'%s' is not a device id (a number, ublkN or /dev/ublkbN)", s);
		return -EINVAL;
	}
	*id = (uint32_t)v;
	return 0;
}

/* VmRSS / VmLck of a process, in bytes; 0 when unknown. */
static void proc_memory(int32_t pid, uint64_t *rss, uint64_t *locked)
{
	char p[64], line[256];
	unsigned long long kb;
	FILE *f;

	*rss = *locked = 0;
	snprintf(p, sizeof(p), "/proc/%d/status", pid);
	f = pid > 0 ? fopen(p, "re") : NULL;
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			*rss = kb << 10;
		else if (sscanf(line, "VmLck: %llu kB", &kb) == 1)
			*locked = kb << 10;
	}
	if (f)
		fclose(f);
}

static void feature_names(uint64_t flags, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < 64; i++) {
		const char *n = ublkit_feature_name(1ULL << i);

		if ((flags & (1ULL << i)) && n && off < size)
			off += (size_t)snprintf(buf + off, size - off, "%s%s", off ? "," : "", n);
	}
}

static void print_info(const struct dev_view *v, uint64_t rss, uint64_t locked)
{
	const struct ublkit_dev_params *p = &v->params;
	char a[32], b[32], flags[256];

	feature_names(v->info.flags, flags, sizeof(flags));
	printf("ublk%u\n", v->info.id);
	printf("  state:          %s\n", ublkit_dev_state_name(v->info.state));
	printf("  block device:   %s\n", v->blockdev[0] ? v->blockdev : "-");
	printf("  size:           %s\n", tool_format_size(v->size, a, sizeof(a)));
	printf("  queues:         %u x depth %u, max I/O %s\n", v->info.nr_queues,
	       v->info.queue_depth, tool_format_size(v->info.max_io_buf_bytes, a, sizeof(a)));
	printf("  flags:          %s\n", flags[0] ? flags : "-");
	printf("  owner:          %s\n", owner_of(v));
	printf("  server:         pid %d (%s)\n", v->info.server_pid,
	       v->alive ? "alive" : "gone");
	if (v->alive)
		printf("  server memory:  %s resident, %s locked\n",
		       tool_format_size(rss, a, sizeof(a)), tool_format_size(locked, b, sizeof(b)));
	if (v->has_manifest) {
		printf("  target:         %s%s%s\n", v->m.target, v->m.target_arg[0] ? " " : "",
		       v->m.target_arg);
		printf("  scheduling:     %s\n", v->m.params.flags & UBLKIT_DEV_LOW_LATENCY
						      ? "low latency (SCHED_OTHER)"
						      : "batch (SCHED_BATCH)");
	}
	if (v->has_params) {
		printf("  block size:     %u logical, %u physical\n", p->logical_block_size,
		       p->physical_block_size);
		printf("  attributes:     %s%s%s%s%s\n",
		       p->flags & UBLKIT_DEV_READ_ONLY ? "read-only " : "",
		       p->flags & UBLKIT_DEV_ROTATIONAL ? "rotational " : "",
		       p->flags & UBLKIT_DEV_VOLATILE_CACHE ? "volatile-cache " : "",
		       p->flags & UBLKIT_DEV_FUA ? "fua " : "",
		       p->flags & UBLKIT_DEV_NO_DISCARD ? "no-discard" : "discard");
	}
}

int cmd_info(struct tool *t, int argc, char **argv)
{
	uint64_t rss = 0, locked = 0;
	struct dev_view v;
	uint32_t id;
	int r;

	r = tool_parse_common(t, argc, argv, info_usage);
	if (r >= 0)
		return r;
	r = tool_one_dev_id(argc, argv, "info", &id);
	if (r >= 0)
		return r;
	r = dev_view_load(t, id, &v);
	if (r == -ENODEV) {
		tool_error("there is no ublk device %u (see 'ublkit list')", id);
		return EXIT_FAIL;
	}
	if (r < 0)
		return ctrl_error(r);
	if (v.alive)
		proc_memory(v.info.server_pid, &rss, &locked);
	if (!t->json) {
		print_info(&v, rss, locked);
		return EXIT_OK;
	}
	json_begin_object(NULL);
	json_dev(&v);
	json_uint("flags", v.info.flags);
	json_uint("max_io_bytes", v.info.max_io_buf_bytes);
	json_uint("server_rss_bytes", rss);
	json_uint("server_locked_bytes", locked);
	json_bool("recovery", v.info.flags & UBLKIT_F_USER_RECOVERY);
	if (v.has_manifest) {
		json_string("target_arg", v.m.target_arg);
		json_bool("low_latency", v.m.params.flags & UBLKIT_DEV_LOW_LATENCY);
	}
	if (v.has_params) {
		json_uint("logical_block_size", v.params.logical_block_size);
		json_uint("physical_block_size", v.params.physical_block_size);
		json_bool("read_only", v.params.flags & UBLKIT_DEV_READ_ONLY);
		json_bool("discard", !(v.params.flags & UBLKIT_DEV_NO_DISCARD));
	}
	json_end_object();
	json_finish();
	return EXIT_OK;
}
