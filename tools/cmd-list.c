/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ublkit list / ublkit info: what ublk devices exist and who serves them. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "ublkit/swap.h"
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

static const char *owner_of(const struct ublkit_device *d)
{
	return ublkit_device_is_ublkit(d) ? "ublkit" : "foreign";
}

static void json_dev(const struct ublkit_device *d)
{
	const struct ublkit_dev_info *info = ublkit_device_get_info(d);

	json_int("id", info->id);
	json_string("state", ublkit_dev_state_name(info->state));
	json_int("server_pid", ublkit_device_get_server_pid(d));
	json_bool("server_alive", ublkit_device_is_server_alive(d));
	json_uint("queues", info->nr_queues);
	json_uint("depth", info->queue_depth);
	json_uint("size", ublkit_device_get_size(d));
	json_string("target", ublkit_device_get_target(d));
	json_string("block_device", ublkit_device_get_block_device(d));
	json_string("owner", owner_of(d));
	json_bool("orphan", ublkit_device_get_orphan_reason(d) != UBLKIT_ORPHAN_NOT);
}

static int ctrl_error(int r)
{
	if (r == -ENODEV || r == -ENOENT) {
		tool_error("no /dev/ublk-control: ublk_drv is not loaded (ublkit modprobe)");
		return EXIT_UNSUPPORTED;
	}
	if (r == -EXDEV)
		return tool_not_in_sysroot("ublk devices");
	if (r == -EPERM || r == -EACCES)
		return tool_fail(r, "cannot query ublk devices (run as root)");
	return tool_fail(r, "cannot query ublk devices");
}

static void print_row(const struct ublkit_device *d)
{
	const struct ublkit_dev_info *info = ublkit_device_get_info(d);
	const char *target = ublkit_device_get_target(d);
	const char *blockdev = ublkit_device_get_block_device(d);
	char size[32];

	printf("%-4u %-9s %-8d %-5s %6u %5u %10s %-6s %-14s %s\n", info->id,
	       ublkit_dev_state_name(info->state), ublkit_device_get_server_pid(d),
	       ublkit_device_is_server_alive(d) ? "yes" : "no", info->nr_queues, info->queue_depth,
	       tool_format_size(ublkit_device_get_size(d), size, sizeof(size)),
	       target ? target : "-", blockdev ? blockdev : "-", owner_of(d));
}

int cmd_list(struct tool *t, int argc, char **argv)
{
	struct ublkit_device **v = NULL;
	int n, r;

	r = tool_parse_common(t, argc, argv, list_usage);
	if (r < 0)
		r = tool_no_args(t, argc, argv);
	if (r >= 0)
		return r;
	n = ublkit_devices_get(t->ctx, &v);
	if (n < 0)
		return ctrl_error(n);
	if (t->json)
		json_begin_array(NULL);
	else
		printf("%-4s %-9s %-8s %-5s %6s %5s %10s %-6s %-14s %s\n", "ID", "STATE", "PID",
		       "ALIVE", "QUEUES", "DEPTH", "SIZE", "TARGET", "BLOCKDEV", "OWNER");
	for (int i = 0; i < n; i++) {
		if (t->json) {
			json_begin_object(NULL);
			json_dev(v[i]);
			json_end_object();
		} else {
			print_row(v[i]);
		}
		ublkit_device_unref(v[i]);
	}
	free(v);
	if (t->json) {
		json_end_array();
		json_finish();
	}
	return EXIT_OK;
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

/* For a swap device: whether its server is safe to back swap, and why. */
static void print_hardening(struct tool *t, const struct ublkit_device *d)
{
	struct ublkit_harden_report *rep = NULL;
	const char *why = NULL;
	int r;

	r = ublkit_device_inspect_hardening(t->ctx, d, &rep);
	if (r == -ENODATA)
		return;
	if (r < 0) {
		printf("  swap-safe:      unknown (%s)\n", r == -ESRCH ? "server gone" : strerror(-r));
		return;
	}
	printf("  swap-safe:      %s\n", ublkit_harden_report_is_swap_safe(rep, &why) ? "yes" : "no");
	for (int g = 0; ublkit_guarantee_name(g); g++) {
		int st = ublkit_harden_report_get(rep, g, &why);

		printf("    %-15s %-8s %s\n", ublkit_guarantee_name(g),
		       ublkit_guarantee_state_name(st), why ? why : "");
	}
	ublkit_harden_report_unref(rep);
}

static void json_hardening(struct tool *t, const struct ublkit_device *d)
{
	struct ublkit_harden_report *rep = NULL;
	const char *why = NULL;
	int r;

	r = ublkit_device_inspect_hardening(t->ctx, d, &rep);
	json_bool("swap_device", r != -ENODATA);
	if (r < 0) {
		json_null("swap_safe");
		return;
	}
	json_bool("swap_safe", ublkit_harden_report_is_swap_safe(rep, &why));
	json_string("swap_safe_reason", why);
	json_begin_object("hardening");
	for (int g = 0; ublkit_guarantee_name(g); g++) {
		int st = ublkit_harden_report_get(rep, g, &why);

		json_begin_object(ublkit_guarantee_name(g));
		json_string("state", ublkit_guarantee_state_name(st));
		json_string("reason", why);
		json_end_object();
	}
	json_end_object();
	ublkit_harden_report_unref(rep);
}

static void print_info(const struct ublkit_device *d)
{
	const struct ublkit_dev_info *info = ublkit_device_get_info(d);
	const struct ublkit_dev_params *p = ublkit_device_get_params(d);
	const struct ublkit_manifest *m = ublkit_device_get_manifest(d);
	const char *blockdev = ublkit_device_get_block_device(d);
	bool alive = ublkit_device_is_server_alive(d);
	char a[32], b[32], c[32], flags[256];

	feature_names(info->flags, flags, sizeof(flags));
	printf("ublk%u\n", info->id);
	printf("  state:          %s\n", ublkit_dev_state_name(info->state));
	printf("  block device:   %s\n", blockdev ? blockdev : "-");
	printf("  size:           %s\n", tool_format_size(ublkit_device_get_size(d), a, sizeof(a)));
	printf("  queues:         %u x depth %u, max I/O %s\n", info->nr_queues, info->queue_depth,
	       tool_format_size(info->max_io_buf_bytes, a, sizeof(a)));
	printf("  flags:          %s\n", flags[0] ? flags : "-");
	printf("  owner:          %s\n", owner_of(d));
	printf("  server:         pid %d (%s)\n", ublkit_device_get_server_pid(d),
	       alive ? "alive" : "gone");
	if (alive)
		printf("  server memory:  %s resident, %s locked, %s swapped\n",
		       tool_format_size(ublkit_device_get_server_resident(d), a, sizeof(a)),
		       tool_format_size(ublkit_device_get_server_locked(d), b, sizeof(b)),
		       tool_format_size(ublkit_device_get_server_swapped(d), c, sizeof(c)));
	if (m) {
		printf("  target:         %s%s%s\n", m->target, m->target_arg[0] ? " " : "",
		       m->target_arg);
		printf("  scheduling:     %s\n", m->params.flags & UBLKIT_DEV_LOW_LATENCY
						      ? "low latency (SCHED_OTHER)"
						      : "batch (SCHED_BATCH)");
	}
	if (p) {
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

static void json_info(struct tool *t, const struct ublkit_device *d)
{
	const struct ublkit_dev_info *info = ublkit_device_get_info(d);
	const struct ublkit_dev_params *p = ublkit_device_get_params(d);
	const struct ublkit_manifest *m = ublkit_device_get_manifest(d);

	json_begin_object(NULL);
	json_dev(d);
	json_uint("flags", info->flags);
	json_uint("max_io_bytes", info->max_io_buf_bytes);
	json_uint("server_rss_bytes", ublkit_device_get_server_resident(d));
	json_uint("server_locked_bytes", ublkit_device_get_server_locked(d));
	json_uint("server_swap_bytes", ublkit_device_get_server_swapped(d));
	json_bool("recovery", info->flags & UBLKIT_F_USER_RECOVERY);
	if (m) {
		json_string("target_arg", m->target_arg);
		json_bool("low_latency", m->params.flags & UBLKIT_DEV_LOW_LATENCY);
	}
	if (p) {
		json_uint("logical_block_size", p->logical_block_size);
		json_uint("physical_block_size", p->physical_block_size);
		json_bool("read_only", p->flags & UBLKIT_DEV_READ_ONLY);
		json_bool("discard", !(p->flags & UBLKIT_DEV_NO_DISCARD));
	}
	json_hardening(t, d);
	json_end_object();
	json_finish();
}

int cmd_info(struct tool *t, int argc, char **argv)
{
	struct ublkit_device *d = NULL;
	uint32_t id;
	int r;

	r = tool_parse_common(t, argc, argv, info_usage);
	if (r < 0)
		r = tool_one_dev_id(t, argc, argv, &id);
	if (r >= 0)
		return r;
	r = ublkit_device_new(t->ctx, id, &d);
	if (r == -ENODEV) {
		tool_error("there is no ublk device %u (see 'ublkit list')", id);
		return EXIT_FAIL;
	}
	if (r < 0)
		return ctrl_error(r);
	if (t->json) {
		json_info(t, d);
	} else {
		print_info(d);
		print_hardening(t, d);
	}
	ublkit_device_unref(d);
	return EXIT_OK;
}
