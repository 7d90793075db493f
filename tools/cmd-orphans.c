/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ublkit orphans / cleanup / recover: devices whose server is gone. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "ublkit/ublk.h"

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
	"Usage: ublkit recover [--json] ID\n"
	"\n"
	"Start a new server for a quiesced device whose server died (a device\n"
	"created with --recovery). Outstanding I/O completes; the block device\n"
	"stays in place for its users.\n";

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
	if (r >= 0)
		return r;
	if (optind < argc) {
		tool_error("orphans takes no arguments");
		return EXIT_USAGE;
	}
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

	while ((c = getopt_long(argc, argv, "hjn", opts, NULL)) != -1) {
		switch (c) {
		case 'n': cs.flags |= UBLKIT_CLEANUP_DRY_RUN; break;
		case OPT_NO_RECOVER: cs.flags |= UBLKIT_CLEANUP_NO_RECOVER; break;
		case OPT_FORCE: cs.flags |= UBLKIT_CLEANUP_FORCE; break;
		default:
			c = tool_common_option(t, c == 'j' ? 'J' : c, cleanup_usage);
			if (c >= 0)
				return c;
		}
	}
	if (optind < argc) {
		tool_error("cleanup takes no arguments");
		return EXIT_USAGE;
	}
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

int cmd_recover(struct tool *t, int argc, char **argv)
{
	struct ublkit_spawn_result res;
	char dev[32];
	uint32_t id;
	int r;

	r = tool_parse_common(t, argc, argv, recover_usage);
	if (r >= 0)
		return r;
	r = tool_one_dev_id(argc, argv, "recover", &id);
	if (r >= 0)
		return r;
	if (ublkit_ctx_get_log_priority(t->ctx) < 3)
		ublkit_ctx_set_log_priority(t->ctx, 3);
	r = ublkit_recover(t->ctx, id, 0, &res);
	if (r == 0 && res.pidfd >= 0)
		close(res.pidfd);
	if (r == -ENODEV) {
		tool_error("there is no ublk device %u (see 'ublkit list')", id);
		return EXIT_FAIL;
	}
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
