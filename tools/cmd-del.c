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
	"Exit status: 0 all deleted, 1 a device could not be deleted or does not exist.\n";

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
	while ((c = getopt_long(argc, argv, "hja", opts, NULL)) != -1) {
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
		if (n < 0)
			return tool_fail(n, "cannot list ublk devices");
	} else {
		n = argc - optind;
		ids = calloc((size_t)n, sizeof(*ids));
		if (!ids)
			return tool_fail(-ENOMEM, "del");
		for (int i = 0; i < n; i++)
			if (tool_dev_id(t, argv[optind + i], &ids[i]) < 0) {
				free(ids);
				return EXIT_USAGE;
			}
	}
	if (t->json)
		json_begin_array(NULL);
	for (int i = 0; i < n; i++) {
		r = ublkit_ublk_remove(t->ctx, ids[i], timeout_ms);
		if (t->json) {
			json_begin_object(NULL);
			json_int("id", ids[i]);
			json_bool("deleted", r == 0);
			if (r < 0)
				json_string("error", r == -ENODEV ? "no such device" : strerror(-r));
			json_end_object();
		} else if (r == 0) {
			printf("ublk%u: deleted\n", ids[i]);
		} else if (r == -ENODEV) {
			tool_error("there is no ublk device %u (see 'ublkit list')", ids[i]);
		} else {
			tool_fail(r, "ublk%u: cannot delete", ids[i]);
		}
		if (r < 0)
			rc = EXIT_FAIL;
	}
	if (t->json) {
		json_end_array();
		json_finish();
	}
	free(ids);
	return rc;
}
