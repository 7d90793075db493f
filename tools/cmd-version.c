/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ublkit version */
#include "config.h"

#include <getopt.h>

#include "tool.h"

static const char usage[] = "Usage: ublkit version [--json]\n"
			    "\n"
			    "Print the version of the ublkit tool and of libublkit.\n";

int cmd_version(struct tool *t, int argc, char **argv)
{
	static const struct option opts[] = { TOOL_COMMON_LONGOPTS, {} };
	int c, r;

	while ((c = getopt_long(argc, argv, "hj", opts, NULL)) != -1) {
		r = tool_common_option(t, c == 'j' ? 'J' : c, usage);
		if (r >= 0)
			return r;
	}
	if (t->json) {
		json_begin_object(NULL);
		json_string("tool", PACKAGE_VERSION);
		json_string("library", ublkit_version());
		json_end_object();
		json_finish();
	} else {
		printf("ublkit %s (libublkit %s)\n", PACKAGE_VERSION, ublkit_version());
	}
	return EXIT_OK;
}
