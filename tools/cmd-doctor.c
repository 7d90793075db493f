/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ublkit doctor: the preflight a user runs first. */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <unistd.h>

#include "tool.h"
#include "ublkit/doctor.h"
#include "ublkit/swap.h"

static const char usage[] =
	"Usage: ublkit doctor [--json]\n"
	"\n"
	"Check whether this system can run ublkit: the ublk driver and\n"
	"/dev/ublk-control, io_uring, the ublk features the kernel offers,\n"
	"capabilities and RLIMIT_MEMLOCK, swap, device-mapper and NVMe.\n"
	"Each line is ok, warn or fail, with how to fix what is not ok.\n"
	"A second list says whether a server here could be made safe to back\n"
	"swap (ublkit swap on): locked memory, I/O flusher threads, OOM\n"
	"protection, a private mount namespace.\n"
	"\n"
	"Exit status: 0 when ublkit can run here (warnings allowed; the swap\n"
	"checks do not count), 1 when a check failed.\n";

static void print_check(const struct ublkit_check *c, void *userdata)
{
	bool *color = userdata;
	static const char *const tag[] = { "  ok", "warn", "FAIL" };
	static const char *const col[] = { "\033[32m", "\033[33m", "\033[31m" };
	int l = c->level > 2 ? 2 : c->level;

	if (*color)
		printf("%s%s\033[0m  %-14s %s\n", col[l], tag[l], c->name, c->message);
	else
		printf("%s  %-14s %s\n", tag[l], c->name, c->message);
	if (c->fix[0])
		printf("      %-14s fix: %s\n", "", c->fix);
}

static void json_check(const struct ublkit_check *c, void *userdata)
{
	json_begin_object(NULL);
	json_string("name", c->name);
	json_string("status", ublkit_check_level_name(c->level));
	json_string("message", c->message);
	if (c->fix[0])
		json_string("fix", c->fix);
	else
		json_null("fix");
	json_end_object();
}

int cmd_doctor(struct tool *t, int argc, char **argv)
{
	bool color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	int r, worst, swap;

	r = tool_parse_common(t, argc, argv, usage);
	if (r < 0)
		r = tool_no_args(t, argc, argv);
	if (r >= 0)
		return r;
	if (t->json) {
		json_begin_object(NULL);
		json_begin_array("checks");
		worst = ublkit_doctor(t->ctx, json_check, NULL);
		json_end_array();
		json_begin_array("swap_checks");
		swap = ublkit_harden_preflight(t->ctx, json_check, NULL);
		json_end_array();
		json_string("result", worst < 0 ? "error" : ublkit_check_level_name(worst));
		json_bool("can_run", worst >= 0 && worst < UBLKIT_CHECK_FAIL);
		json_bool("can_back_swap", worst >= 0 && worst < UBLKIT_CHECK_FAIL && swap >= 0 &&
						   swap < UBLKIT_CHECK_FAIL);
		json_end_object();
		json_finish();
	} else {
		worst = ublkit_doctor(t->ctx, print_check, &color);
		printf("\nSwap-safe servers (ublkit swap on):\n");
		swap = ublkit_harden_preflight(t->ctx, print_check, &color);
		if (worst >= 0)
			printf("\n%s\n", worst < UBLKIT_CHECK_FAIL
						 ? "ublkit can run on this system."
						 : "ublkit cannot run on this system until the failures above are fixed.");
		if (worst >= 0 && worst < UBLKIT_CHECK_FAIL)
			printf("%s\n", swap >= 0 && swap < UBLKIT_CHECK_FAIL
						? "A server here can be made safe to back swap."
						: "A server here cannot be made safe to back swap until the "
						  "swap failures above are fixed.");
	}
	if (worst < 0)
		return tool_fail(worst, "checks could not run");
	return worst < UBLKIT_CHECK_FAIL ? EXIT_OK : EXIT_FAIL;
}
