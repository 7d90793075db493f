/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ublkit del: stop and delete devices. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "ublkit/ublk.h"

static const char usage[] =
	"Usage: ublkit del [--json] [--timeout SECONDS] ID...\n"
	"       ublkit del --all\n"
	"\n"
	"Stop and delete ublk devices. A device served by a live ublkit server\n"
	"is stopped by its server, which drains outstanding I/O first; other\n"
	"devices are stopped and deleted directly.\n"
	"\n"
	"  -a, --all            every ublk device on the system\n"
	"      --timeout SECS   how long a server may take to drain (default 30)\n"
	"\n"
	"An ID is a number N, ublkN, ublkbN or /dev/ublkbN (ublkcN and /dev/ublkcN,\n"
	"the control node, name the same device); each may be given once.\n"
	"\n"
	"Exit status: 0 all deleted, 1 a device could not be deleted or does not exist,\n"
	"2 usage, 3 the kernel is out of reach (--sysroot).\n";

/* The ids of the command line, each once, into *@ret; -1 or an exit code. */
static int parse_ids(struct tool *t, int argc, char **argv, uint32_t **ret)
{
	int n = argc - optind;
	uint32_t *ids = calloc((size_t)n, sizeof(*ids));

	if (!ids)
		return tool_fail(-ENOMEM, "del");
	for (int i = 0; i < n; i++) {
		if (tool_dev_id(t, argv[optind + i], &ids[i]) < 0) {
			free(ids);
			return EXIT_USAGE;
		}
		for (int j = 0; j < i; j++)
			if (ids[j] == ids[i]) {
				uint32_t twice = ids[i];

				free(ids);
				return tool_usage(t, "device id %u is given twice ('%s' and '%s')",
						  twice, tool_shown(argv[optind + j]),
						  tool_shown(argv[optind + i]));
			}
	}
	*ret = ids;
	return -1;
}

static int report(struct tool *t, uint32_t id, int r)
{
	if (t->json) {
		json_begin_object(NULL);
		json_int("id", id);
		json_bool("deleted", r == 0);
		if (r < 0)
			json_string("error", r == -ENODEV ? "no such device" : strerror(-r));
		json_end_object();
	} else if (r == 0) {
		printf("ublk%u: deleted\n", id);
	} else if (r == -ENODEV) {
		tool_error("there is no ublk device %u (see 'ublkit list')", id);
	} else if (r == -EXDEV) {
		return tool_not_in_sysroot("del");
	} else {
		tool_fail(r, "ublk%u: cannot delete", id);
	}
	return r == -EXDEV ? EXIT_UNSUPPORTED : r < 0 ? EXIT_FAIL : EXIT_OK;
}

int cmd_del(struct tool *t, int argc, char **argv)
{
	enum { OPT_TIMEOUT = 0x100 };
	static const struct option opts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "all", no_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{},
	};
	unsigned int timeout_ms = 30000;
	uint32_t *ids = NULL;
	int c, r, n = 0, rc = EXIT_OK;
	bool all = false;
	uint64_t v;

	t->usage = usage;
	while ((c = tool_getopt(t, argc, argv, "hja", opts)) != -1) {
		if (c == 'a') {
			all = true;
			continue;
		}
		if (c == OPT_TIMEOUT) {
			if (tool_opt_uint(t, "timeout", optarg, 0, 3600, &v) < 0)
				return EXIT_USAGE;
			timeout_ms = (unsigned int)v * 1000;
			continue;
		}
		r = tool_common_option(t, c, usage);
		if (r >= 0)
			return r;
	}
	if (all == (optind < argc))
		return tool_usage(t, all ? "give device ids or --all, not both"
					 : "give device ids or --all");
	if (all) {
		n = ublkit_ublk_list(t->ctx, &ids);
		if (n == -EXDEV)
			return tool_not_in_sysroot("del --all");
		if (n < 0)
			return tool_fail(n, "cannot list ublk devices");
	} else {
		r = parse_ids(t, argc, argv, &ids);
		if (r >= 0)
			return r;
		n = argc - optind;
	}
	if (t->json)
		json_begin_array(NULL);
	for (int i = 0; i < n; i++) {
		r = report(t, ids[i], ublkit_ublk_remove(t->ctx, ids[i], timeout_ms));
		if (r != EXIT_OK && rc == EXIT_OK)
			rc = r;
	}
	if (t->json) {
		json_end_array();
		json_finish();
	}
	free(ids);
	return rc;
}
