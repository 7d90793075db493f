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
	int r;

	r = tool_parse_common(t, argc, argv, usage);
	if (r < 0)
		r = tool_no_args(t, argc, argv);
	if (r >= 0)
		return r;
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
