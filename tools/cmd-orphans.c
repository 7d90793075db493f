/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ublkit orphans / cleanup / recover: devices whose server is gone. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "ublkit/ublk.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

static const char orphans_usage[] =
	"Usage: ublkit orphans [--json]\n"
	"\n"
	"List ublk devices whose server is gone: kernel state DEAD, or LIVE /\n"
	"QUIESCED with a recorded server pid that no longer exists. A device\n"
	"whose server is still setting it up, or is stopped (SIGSTOP), is not\n"
	"an orphan. Exit status 0 whether or not there are orphans.\n";

static const char cleanup_usage[] =
	"Usage: ublkit cleanup [--dry-run] [--no-recover] [--force] [--json]\n"
	"\n"
	"Deal with every orphan: devices ublkit created with --recovery get a\n"
	"new server (their block device never goes away); all others are\n"
	"stopped and deleted, which frees their ids. Devices with a live server\n"
	"are never touched. Running it twice does nothing the second time.\n"
	"\n"
	"  -n, --dry-run     say what would be done, do nothing\n"
	"      --no-recover  delete recoverable devices too\n"
	"      --force       also delete devices that are mounted or active swap\n"
	"\n"
	"Exit status: 0 every orphan handled, 1 something failed or was skipped.\n";

static const char recover_usage[] =
	"Usage: ublkit recover [--wait [--timeout SECS]] [--json] ID\n"
	"\n"
	"Start a new server for a quiesced device whose server died (a device\n"
	"created with --recovery). Outstanding I/O completes; the block device\n"
	"stays in place for its users.\n"
	"\n"
	"  -w, --wait          wait until the device's server dies, then recover it.\n"
	"                      This command locks its memory first: when the device\n"
	"                      backs swap, everything that was swapped out waits for\n"
	"                      the new server, so whoever starts it must not need\n"
	"                      any of it.\n"
	"      --timeout SECS  give up waiting after SECS (default: wait forever)\n";

static const char *why(const struct ublkit_device *o)
{
	switch (ublkit_device_get_orphan_reason(o)) {
	case UBLKIT_ORPHAN_DEAD: return "kernel state dead, server gone";
	case UBLKIT_ORPHAN_SERVER_GONE:
		return ublkit_device_get_state(o) == UBLKIT_DEV_QUIESCED ? "quiesced, server gone"
									  : "live, server gone";
	default: return "-";
	}
}

static void json_orphan(const struct ublkit_device *o)
{
	json_int("id", ublkit_device_get_id(o));
	json_string("state", ublkit_dev_state_name(ublkit_device_get_state(o)));
	json_string("reason", ublkit_orphan_reason_name(ublkit_device_get_orphan_reason(o)));
	json_int("server_pid", ublkit_device_get_server_pid(o));
	json_string("owner", ublkit_device_is_ublkit(o) ? "ublkit" : "foreign");
	json_bool("recoverable", ublkit_device_is_recoverable(o));
	json_bool("in_use", ublkit_device_is_in_use(o));
}

int cmd_orphans(struct tool *t, int argc, char **argv)
{
	struct ublkit_device **v = NULL;
	int n, r;

	r = tool_parse_common(t, argc, argv, orphans_usage);
	if (r < 0)
		r = tool_no_args(t, argc, argv);
	if (r >= 0)
		return r;
	n = ublkit_orphans_detect(t->ctx, &v);
	if (n < 0)
		return tool_fail(n, "cannot inspect ublk devices");
	if (t->json)
		json_begin_array(NULL);
	else if (n == 0)
		printf("no orphaned ublk devices\n");
	else
		printf("%-4s %-9s %-8s %-8s %-11s %s\n", "ID", "STATE", "PID", "OWNER", "RECOVERABLE",
		       "WHY");
	for (int i = 0; i < n; i++) {
		struct ublkit_device *o = v[i];

		if (t->json) {
			json_begin_object(NULL);
			json_orphan(o);
			json_end_object();
		} else {
			printf("%-4u %-9s %-8d %-8s %-11s %s%s\n", ublkit_device_get_id(o),
			       ublkit_dev_state_name(ublkit_device_get_state(o)),
			       ublkit_device_get_server_pid(o),
			       ublkit_device_is_ublkit(o) ? "ublkit" : "foreign",
			       ublkit_device_is_recoverable(o) ? "yes" : "no", why(o),
			       ublkit_device_is_in_use(o) ? " (in use: mounted, swap or held)" : "");
		}
		ublkit_device_unref(o);
	}
	if (t->json) {
		json_end_array();
		json_finish();
	}
	free(v);
	return EXIT_OK;
}

struct cleanup_state {
	struct tool *t;
	unsigned int flags;
	int failed;
};

static void report(struct ublkit_device *o, int action, int error, void *data)
{
	struct cleanup_state *cs = data;
	bool dry = cs->flags & UBLKIT_CLEANUP_DRY_RUN;
	uint32_t id = ublkit_device_get_id(o);

	if (action == UBLKIT_CLEANUP_FAILED || action == UBLKIT_CLEANUP_SKIPPED)
		cs->failed++;
	if (cs->t->json) {
		json_begin_object(NULL);
		json_orphan(o);
		json_string("action", ublkit_cleanup_action_name(action));
		json_bool("dry_run", dry);
		if (error < 0)
			json_string("error", strerror(-error));
		json_end_object();
		return;
	}
	switch (action) {
	case UBLKIT_CLEANUP_DELETED:
		printf("ublk%u: %s (%s)\n", id, dry ? "would delete" : "deleted", why(o));
		break;
	case UBLKIT_CLEANUP_RECOVERED:
		printf("ublk%u: %s (%s)\n", id,
		       dry ? "would recover with a new server" : "recovered by a new server", why(o));
		break;
	case UBLKIT_CLEANUP_SKIPPED:
		printf("ublk%u: skipped: mounted, active swap or held by another device; "
		       "unmount/swapoff it or use --force\n", id);
		break;
	default:
		tool_error("ublk%u: cleanup failed: %s", id, strerror(-error));
	}
}

int cmd_cleanup(struct tool *t, int argc, char **argv)
{
	enum { OPT_NO_RECOVER = 0x100, OPT_FORCE };
	static const struct option opts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "dry-run", no_argument, NULL, 'n' },
		{ "no-recover", no_argument, NULL, OPT_NO_RECOVER },
		{ "force", no_argument, NULL, OPT_FORCE },
		{},
	};
	struct cleanup_state cs = { .t = t };
	int c, n;

	t->usage = cleanup_usage;
	while ((c = tool_getopt(t, argc, argv, "hjn", opts)) != -1) {
		switch (c) {
		case 'n': cs.flags |= UBLKIT_CLEANUP_DRY_RUN; break;
		case OPT_NO_RECOVER: cs.flags |= UBLKIT_CLEANUP_NO_RECOVER; break;
		case OPT_FORCE: cs.flags |= UBLKIT_CLEANUP_FORCE; break;
		default:
			c = tool_common_option(t, c, cleanup_usage);
			if (c >= 0)
				return c;
		}
	}
	c = tool_no_args(t, argc, argv);
	if (c >= 0)
		return c;
	if (t->json)
		json_begin_array(NULL);
	n = ublkit_orphans_cleanup(t->ctx, cs.flags, report, &cs);
	if (t->json) {
		json_end_array();
		json_finish();
	} else if (n == 0) {
		printf("no orphaned ublk devices\n");
	}
	if (n < 0)
		return tool_fail(n, "cannot inspect ublk devices");
	return cs.failed ? EXIT_FAIL : EXIT_OK;
}

/*
 * Until device @id needs a new server: its server is gone and it can be
 * recovered. 0, -ENODEV (gone), -ETIMEDOUT, or -EOPNOTSUPP (an orphan
 * that cannot be recovered).
 */
/* Sleep until process @pid ends (or @timeout_s passes), allocating nothing:
 * under memory pressure every allocation of a locked process must wait
 * for reclaim. */
static int wait_for_exit(int32_t pid, uint64_t timeout_s)
{
	struct pollfd p = { .events = POLLIN };
	int r;

	p.fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (p.fd < 0)
		return errno == ESRCH ? 0 : -errno;
	do
		r = poll(&p, 1, timeout_s ? (int)(timeout_s * 1000) : -1);
	while (r < 0 && errno == EINTR);
	close(p.fd);
	return r == 0 ? -ETIMEDOUT : 0;
}

/*
 * Look at device @id now, while its server runs, then sleep until the
 * server is gone and the kernel has quiesced the device. *@ret keeps the
 * view: recovery starts from it and reads nothing under /run again (a
 * tmpfs, whose pages may be in the very swap that waits for the server).
 */
static int wait_for_quiesced(struct tool *t, uint32_t id, uint64_t timeout_s,
			     struct ublkit_device **ret)
{
	const struct timespec tick = { .tv_nsec = 100 * 1000 * 1000 };
	struct ublkit_device *d = NULL;
	struct ublkit_dev_info info;
	int r;

	r = ublkit_device_new(t->ctx, id, &d);
	if (r < 0)
		return r;
	if (ublkit_device_get_orphan_reason(d) == UBLKIT_ORPHAN_NOT) {
		r = wait_for_exit(ublkit_device_get_server_pid(d), timeout_s);
		if (r < 0)
			goto fail;
	}
	/* The kernel quiesces the device once the dead server's files close. */
	for (int i = 0; i < 600; i++) {
		r = ublkit_ublk_get_info(t->ctx, id, &info);
		if (r < 0)
			goto fail;
		if (info.state == UBLKIT_DEV_QUIESCED) {
			*ret = d;
			return 0;
		}
		if (info.state != UBLKIT_DEV_LIVE) {
			r = -EOPNOTSUPP;
			goto fail;
		}
		nanosleep(&tick, NULL);
	}
	r = -ETIMEDOUT;
fail:
	ublkit_device_unref(d);
	return r;
}

int cmd_recover(struct tool *t, int argc, char **argv)
{
	enum { OPT_TIMEOUT = 0x100 };
	static const struct option opts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "wait", no_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{},
	};
	struct ublkit_spawn_result res;
	struct ublkit_device *d = NULL;
	uint64_t timeout_s = 0;
	bool wait = false;
	char dev[32];
	uint32_t id;
	int c, r;

	t->usage = recover_usage;
	while ((c = tool_getopt(t, argc, argv, "hjw", opts)) != -1) {
		switch (c) {
		case 'w': wait = true; break;
		case OPT_TIMEOUT:
			/* poll() takes milliseconds in an int */
			if (tool_opt_uint(t, "timeout", optarg, 1, INT32_MAX / 1000, &timeout_s) < 0)
				return EXIT_USAGE;
			break;
		default:
			c = tool_common_option(t, c, recover_usage);
			if (c >= 0)
				return c;
		}
	}
	r = tool_one_dev_id(t, argc, argv, &id);
	if (r >= 0)
		return r;
	if (timeout_s && !wait)
		return tool_usage(t, "--timeout is for --wait");
	tool_show_library_errors(t);
	/* The device may back swap and wait for the server this command
	 * starts: reclaim in this command must not write to it. */
	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) < 0 && wait)
		tool_error("warning: cannot mark this command an IO flusher (%s); if ublk%u backs "
			   "swap, recovery may wait for it", strerror(errno), id);
	if (wait) {
		/* MCL_ONFAULT: what this command has touched, not every page of
		 * every library it maps. */
		if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0)
			tool_error("warning: cannot lock this command's memory (%s); if ublk%u backs "
				   "swap, recovery may wait for it", strerror(errno), id);
		r = wait_for_quiesced(t, id, timeout_s, &d);
		if (r == -ETIMEDOUT) {
			tool_error("ublk%u: no server died to recover from in time", id);
			return EXIT_FAIL;
		}
		if (r == -EOPNOTSUPP) {
			tool_error("ublk%u: its server is gone, but it cannot be recovered "
				   "(see 'ublkit orphans')", id);
			return EXIT_FAIL;
		}
		if (r == -EXDEV)
			return tool_not_in_sysroot("recover");
		if (r < 0 && r != -ENODEV)
			return tool_fail(r, "ublk%u: cannot watch it", id);
	}
	if (d) {
		r = ublkit_device_recover(t->ctx, d, 0, &res);
		ublkit_device_unref(d);
	} else {
		r = ublkit_recover(t->ctx, id, 0, &res);
	}
	if (r == 0 && res.pidfd >= 0)
		close(res.pidfd);
	if (r == -ENODEV) {
		tool_error("there is no ublk device %u (see 'ublkit list')", id);
		return EXIT_FAIL;
	}
	if (r == -EXDEV)
		return tool_not_in_sysroot("recover");
	if (r < 0)
		return tool_fail(r, "ublk%u: cannot recover", id);
	ublkit_ublk_block_path(id, dev, sizeof(dev));
	if (t->json) {
		json_begin_object(NULL);
		json_int("id", id);
		json_string("block_device", dev);
		json_int("server_pid", res.server_pid);
		json_string("state", "live");
		json_end_object();
		json_finish();
	} else {
		printf("ublk%u %s recovered, server pid %d\n", id, dev, res.server_pid);
	}
	return EXIT_OK;
}
