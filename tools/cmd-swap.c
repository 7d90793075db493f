/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ublkit swap on / off / status: swap on ublk devices served by hardened servers. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "ublkit/swap.h"

static const char usage[] =
	"Usage: ublkit swap on --file PATH | --target T [OPTIONS]\n"
	"       ublkit swap off [--no-check] ID|DEVICE\n"
	"       ublkit swap status [--json]\n"
	"\n"
	"Swap on a ublk device whose server cannot deadlock under memory pressure:\n"
	"its memory is locked, its threads are I/O flushers, the OOM killer spares\n"
	"it and its buffers exist before the device starts. The server refuses to\n"
	"start when one of these cannot be put in force, and says how to fix it.\n"
	"\n"
	"swap on: create the device over PATH (a block device such as an NVMe\n"
	"namespace, or a preallocated file), write a swap signature and enable it.\n"
	"PATH must hold nothing: a file system, RAID, LVM, partition table or a\n"
	"foreign swap signature is refused unless --force; a device that is\n"
	"mounted, active swap or held by device-mapper is refused always. A file\n"
	"must be on a disk (not tmpfs or ramfs) and preallocated, without holes\n"
	"(fallocate -l SIZE PATH): writing a swapped-out page must take no memory.\n"
	"  -t, --target T         what serves the device: file (the default; null and\n"
	"                         mem cannot back swap)\n"
	"  -f, --file PATH        backing block device or file (required for file)\n"
	"  -s, --size SIZE        device size (default: all of PATH), no more than PATH\n"
	"                         holds; a PATH that does not exist is created as a\n"
	"                         file of SIZE, preallocated (mode 0600)\n"
	"  -p, --priority N       swap priority, 0-32767 (default: the kernel's)\n"
	"      --discard[=POLICY] discard freed pages: once (at swapon), pages, or both\n"
	"                         (default when given without a policy)\n"
	"  -L, --label LABEL      swap label, 1-16 bytes without '/' or control characters\n"
	"                         (default ublkit-swap)\n"
	"      --force            overwrite a signature on PATH\n"
	"  -r, --recovery         a crashed server can be replaced (ublkit recover)\n"
	"  -q, --queues N         queues, one server thread each, 1-64 (default 1)\n"
	"  -d, --depth N          queue depth, 1-4096 (default 128)\n"
	"      --best-effort      start even when a hardening measure fails (warning)\n"
	"      --root-storage     name the server '@ublkit-server' (spared at shutdown)\n"
	"  -j, --json             print the result as JSON\n"
	"\n"
	"swap off: swapoff, then stop the device. Before swapoff it checks that the\n"
	"pages in use fit back into memory (the kernel would OOM-kill processes\n"
	"otherwise); when they do not, nothing is changed. --no-check skips that.\n"
	"\n"
	"swap status: ublkit's swap devices, their use, priority and hardening.\n"
	"\n"
	"Examples:\n"
	"  ublkit swap on --file /dev/nvme0n2 --priority 100\n"
	"  ublkit swap on --file /var/swap/ublk.img --size 4G\n"
	"  ublkit swap status\n"
	"  ublkit swap off 0\n"
	"\n"
	"Exit status: 0 done, 1 failed (nothing changed), 2 usage, 3 the system\n"
	"lacks what is needed (ublk, swap, capabilities).\n";

enum { OPT_DISCARD = 0x100, OPT_FORCE, OPT_BEST, OPT_ROOT, OPT_NO_CHECK };

struct swap_on_opts {
	struct ublkit_dev_params p;
	const char *target;
	const char *file;
	const char *label;
	int priority;
	unsigned int flags;
};

static int parse_discard(struct tool *t, const char *arg, unsigned int *flags)
{
	if (!arg || !strcmp(arg, "both"))
		*flags |= UBLKIT_SWAP_DISCARD;
	else if (!strcmp(arg, "once"))
		*flags |= UBLKIT_SWAP_DISCARD_ONCE;
	else if (!strcmp(arg, "pages"))
		*flags |= UBLKIT_SWAP_DISCARD_PAGES;
	else {
		tool_usage(t, "--discard=%s: the policy is once, pages or both", tool_shown(arg));
		return -EINVAL;
	}
	return 0;
}

static int on_option(struct tool *t, struct swap_on_opts *o, int c, const char *arg)
{
	uint64_t v;

	switch (c) {
	case 't': o->target = arg; return 0;
	case 'f': o->file = arg; return 0;
	case 's': return tool_opt_size(t, "size", arg, 1, UINT64_MAX, &o->p.size);
	case 'p':
		if (tool_opt_uint(t, "priority", arg, 0, UBLKIT_SWAP_PRIORITY_MAX, &v) < 0)
			return -EINVAL;
		o->priority = (int)v;
		return 0;
	case OPT_DISCARD: return parse_discard(t, arg, &o->flags);
	case 'L':
		if (!*arg) {
			tool_usage(t, "--label needs 1 to %d bytes", UBLKIT_SWAP_LABEL_MAX);
			return -EINVAL;
		}
		o->label = arg;
		return 0;
	case OPT_FORCE: o->flags |= UBLKIT_SWAP_FORCE; return 0;
	case 'r': o->p.flags |= UBLKIT_DEV_RECOVERY; return 0;
	case 'q': return tool_opt_u16(t, "queues", arg, UBLKIT_MAX_QUEUES, &o->p.nr_queues);
	case 'd': return tool_opt_u16(t, "depth", arg, UBLKIT_MAX_QUEUE_DEPTH, &o->p.queue_depth);
	case OPT_BEST: o->p.flags |= UBLKIT_DEV_HARDEN_BEST_EFFORT; return 0;
	case OPT_ROOT: o->flags |= UBLKIT_SWAP_ROOT_STORAGE; return 0;
	default: return -ENOENT;
	}
}

/*
 * The device's parameters, as the library will check them. A target that
 * cannot back swap is refused for that, with the library's reason, even
 * when it lacks more (a size, say): giving that would not help.
 */
static int check_params(struct tool *t, struct swap_on_opts *o)
{
	struct ublkit_dev_params p = o->p;
	int tflags = ublkit_target_flags(o->target);
	const char *file = o->file;
	int saved, r;

	p.flags |= UBLKIT_DEV_SWAP;
	if (tflags >= 0 && !(tflags & UBLKIT_TARGET_MAY_BACK_SWAP)) {
		if (!p.size)
			p.size = 1ULL << 30;
		file = NULL;
	}
	saved = tool_checks_begin(t);
	r = ublkit_dev_params_check(t->ctx, &p, o->target, file);
	tool_checks_end(t, saved);
	return r < 0 ? tool_usage(t, NULL) : -1;
}

/* The target, the label and the device's parameters. */
static int check_on(struct tool *t, struct swap_on_opts *o)
{
	int tflags, r;

	if (!o->target)
		o->target = "file";
	tflags = ublkit_target_flags(o->target);
	if (tflags >= 0 && (tflags & UBLKIT_TARGET_MAY_BACK_SWAP)) {
		if ((tflags & UBLKIT_TARGET_NEEDS_PATH) && !o->file)
			return tool_usage(t, "swap on needs --file PATH (the block device or file "
					  "to swap on)");
		if (!(tflags & UBLKIT_TARGET_NEEDS_PATH) && o->file)
			return tool_usage(t, "--file is only for --target file");
	}
	r = tool_check_arg(t, ublkit_swap_label_check, o->label);
	if (r >= 0)
		return r;
	return check_params(t, o);
}

static int parse_on(struct tool *t, int argc, char **argv, struct swap_on_opts *o)
{
	static const struct option opts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "target", required_argument, NULL, 't' },
		{ "file", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 's' },
		{ "priority", required_argument, NULL, 'p' },
		{ "discard", optional_argument, NULL, OPT_DISCARD },
		{ "label", required_argument, NULL, 'L' },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "recovery", no_argument, NULL, 'r' },
		{ "queues", required_argument, NULL, 'q' },
		{ "depth", required_argument, NULL, 'd' },
		{ "best-effort", no_argument, NULL, OPT_BEST },
		{ "root-storage", no_argument, NULL, OPT_ROOT },
		{},
	};
	int c, r;

	ublkit_dev_params_init(&o->p);
	o->priority = UBLKIT_SWAP_PRIORITY_DEFAULT;
	while ((c = tool_getopt(t, argc, argv, "hjt:f:s:p:L:rq:d:", opts)) != -1) {
		r = on_option(t, o, c, optarg);
		if (r == -ENOENT) {
			r = tool_common_option(t, c, usage);
			if (r >= 0)
				return r;
		} else if (r < 0) {
			return EXIT_USAGE;
		}
	}
	r = tool_no_args(t, argc, argv);
	if (r >= 0)
		return r;
	return check_on(t, o);
}

static int swap_on_error(struct tool *t, int r)
{
	switch (r) {
	case -EEXIST:
		tool_error("swap on failed: the backing device holds data (see above); "
			   "use --force to overwrite it");
		return EXIT_FAIL;
	case -EBUSY:
		tool_error("swap on failed: the backing device is in use (see above)");
		return EXIT_FAIL;
	case -EPERM:
	case -EACCES:
	case -ENOMEM:
	case -ENOTRECOVERABLE:
		tool_error("swap on failed: the server cannot be made safe for swap (see above); "
			   "nothing was created");
		return EXIT_UNSUPPORTED;
	default: return tool_fail(r, "swap on failed; nothing was created");
	}
}

static int cmd_swap_on(struct tool *t, int argc, char **argv)
{
	struct ublkit_spawn_result res;
	struct swap_on_opts o = { 0 };
	char dev[32];
	int r;

	r = parse_on(t, argc, argv, &o);
	if (r >= 0)
		return r;
	/* before the preflight: its refusal is all the user would see */
	tool_show_library_errors(t);
	r = ublkit_ublk_preflight(t->ctx);
	if (r == -ENODEV || r == -EACCES)
		return EXIT_UNSUPPORTED;
	if (r < 0)
		return EXIT_FAIL;
	if (o.file && o.p.size)
		o.flags |= UBLKIT_SWAP_CREATE;
	r = ublkit_swap_ublk_on(t->ctx, &o.p, o.target, o.file, o.label, o.priority, o.flags,
				&res);
	if (r < 0)
		return swap_on_error(t, r);
	if (res.pidfd >= 0)
		close(res.pidfd);
	ublkit_ublk_block_path((uint32_t)res.id, dev, sizeof(dev));
	if (t->json) {
		json_begin_object(NULL);
		json_int("id", res.id);
		json_string("block_device", dev);
		json_string("target", o.target);
		json_string("backing", o.file);
		json_uint("size", res.params.size);
		json_int("priority", o.priority);
		json_int("server_pid", res.server_pid);
		json_end_object();
		json_finish();
	} else {
		printf("ublk%d %s\n", res.id, dev);
	}
	return EXIT_OK;
}

/* Whether ublk device @id is no active swap area (any more). */
static bool swap_is_off(struct tool *t, uint32_t id)
{
	char dev[32];

	ublkit_ublk_block_path(id, dev, sizeof(dev));
	return ublkit_swap_off_check(t->ctx, dev, NULL) == -ENOENT;
}

static int cmd_swap_off(struct tool *t, int argc, char **argv)
{
	static const struct option opts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "no-check", no_argument, NULL, OPT_NO_CHECK },
		{},
	};
	struct ublkit_swapoff_estimate e;
	unsigned int flags = 0;
	uint32_t id;
	int c, r;

	while ((c = tool_getopt(t, argc, argv, "hj", opts)) != -1) {
		if (c == OPT_NO_CHECK) {
			flags |= UBLKIT_SWAP_OFF_FORCE;
			continue;
		}
		c = tool_common_option(t, c, usage);
		if (c >= 0)
			return c;
	}
	r = tool_one_dev_id(t, argc, argv, &id);
	if (r >= 0)
		return r;
	tool_show_library_errors(t);
	ublkit_swapoff_estimate_init(&e);
	r = ublkit_swap_ublk_off(t->ctx, id, flags, &e);
	if (r == -ENOMEM) {
		tool_error("ublk%u: swap stays on: %s", id,
			   e.reason[0] ? e.reason : "its pages would not fit back into memory");
		return EXIT_FAIL;
	}
	if (r == -ENODEV) {
		tool_error("there is no ublk device %u (see 'ublkit swap status')", id);
		return EXIT_FAIL;
	}
	if (r < 0 && swap_is_off(t, id))
		return tool_fail(r, "ublk%u: swap is off, but the device was not removed (see "
				 "above); remove it with 'ublkit del %u'", id, id);
	if (r < 0)
		return tool_fail(r, "ublk%u: swap off failed; swap stays on and the device up", id);
	if (!t->json)
		printf("ublk%u: swap off, device removed\n", id);
	return EXIT_OK;
}

struct area {
	bool found;
	struct ublkit_swap_area a;
};

static int find_area(const struct ublkit_swap_area *a, void *userdata)
{
	struct area *want = userdata;

	if (strcmp(a->path, want->a.path) != 0)
		return 0;
	want->found = true;
	want->a.size = a->size;
	want->a.used = a->used;
	want->a.priority = a->priority;
	return 0;
}

static void status_one(struct tool *t, const struct ublkit_device *d)
{
	struct ublkit_harden_report *rep = NULL;
	const char *why = "server gone";
	const char *dev = ublkit_device_get_block_device(d);
	struct area area = { .a.path = dev ? dev : "" };
	bool safe = false;
	char a[32], b[32];

	if (dev)
		(void)ublkit_swap_list(t->ctx, find_area, &area);
	if (ublkit_device_inspect_hardening(t->ctx, d, &rep) == 0)
		safe = ublkit_harden_report_is_swap_safe(rep, &why);
	if (t->json) {
		json_begin_object(NULL);
		json_int("id", ublkit_device_get_id(d));
		json_string("block_device", dev);
		json_string("backing", ublkit_device_get_target_arg(d));
		json_bool("active", area.found);
		json_uint("size", area.found ? area.a.size : ublkit_device_get_size(d));
		json_uint("used", area.a.used);
		if (area.found)
			json_int("priority", area.a.priority);
		else
			json_null("priority");
		json_int("server_pid", ublkit_device_get_server_pid(d));
		json_bool("server_alive", ublkit_device_is_server_alive(d));
		json_bool("swap_safe", safe);
		json_string("hardening", why);
		json_uint("server_locked_bytes", ublkit_device_get_server_locked(d));
		json_uint("server_rss_bytes", ublkit_device_get_server_resident(d));
		json_uint("server_swap_bytes", ublkit_device_get_server_swapped(d));
		json_end_object();
	} else {
		printf("%-6u %-12s %-6s %10s %10s %5d %-8d %-4s %s\n", ublkit_device_get_id(d),
		       dev ? dev : "-", area.found ? "yes" : "no",
		       tool_format_size(area.found ? area.a.size : ublkit_device_get_size(d), a,
					sizeof(a)),
		       tool_format_size(area.a.used, b, sizeof(b)),
		       area.found ? area.a.priority : 0, ublkit_device_get_server_pid(d),
		       safe ? "yes" : "no", safe ? ublkit_device_get_target_arg(d) : why);
	}
	ublkit_harden_report_unref(rep);
}

static int cmd_swap_status(struct tool *t, int argc, char **argv)
{
	struct ublkit_device **v = NULL;
	int n, r, shown = 0;

	r = tool_parse_common(t, argc, argv, usage);
	if (r < 0)
		r = tool_no_args(t, argc, argv);
	if (r >= 0)
		return r;
	n = ublkit_devices_get(t->ctx, &v);
	if (n < 0)
		return tool_fail(n, "cannot list ublk devices");
	if (t->json)
		json_begin_array(NULL);
	else
		printf("%-6s %-12s %-6s %10s %10s %5s %-8s %-4s %s\n", "ID", "DEVICE", "ACTIVE",
		       "SIZE", "USED", "PRIO", "PID", "SAFE", "BACKING / WHY NOT SAFE");
	for (int i = 0; i < n; i++) {
		const struct ublkit_manifest *m = ublkit_device_get_manifest(v[i]);

		if (m && (m->params.flags & UBLKIT_DEV_SWAP)) {
			status_one(t, v[i]);
			shown++;
		}
		ublkit_device_unref(v[i]);
	}
	free(v);
	if (t->json) {
		json_end_array();
		json_finish();
	} else if (!shown) {
		printf("(no swap devices; create one with 'ublkit swap on --file PATH')\n");
	}
	return EXIT_OK;
}

int cmd_swap(struct tool *t, int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : NULL;

	t->usage = usage;
	if (!verb)
		return tool_usage(t, "swap needs a command: on, off or status");
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h")) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	tool_set_verb(t, verb);
	if (!strcmp(verb, "on"))
		return cmd_swap_on(t, argc - 1, argv + 1);
	if (!strcmp(verb, "off"))
		return cmd_swap_off(t, argc - 1, argv + 1);
	if (!strcmp(verb, "status"))
		return cmd_swap_status(t, argc - 1, argv + 1);
	tool_set_verb(t, NULL);
	return tool_usage(t, "unknown swap command '%s' (on, off, status)", tool_shown(verb));
}
