/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ublkit: one binary, one command per verb, dispatched from a table. */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "tool.h"

static const struct tool_cmd commands[] = {
	{ "add", cmd_add, "create a device served by a new server process" },
	{ "list", cmd_list, "list ublk devices, their state and servers" },
	{ "info", cmd_info, "show one device in detail" },
	{ "stats", cmd_stats, "I/O statistics and latency of a device" },
	{ "del", cmd_del, "stop and delete devices" },
	{ "orphans", cmd_orphans, "list devices whose server is gone" },
	{ "cleanup", cmd_cleanup, "recover or delete orphaned devices" },
	{ "recover", cmd_recover, "restart the server of a quiesced device" },
	{ "swap", cmd_swap, "swap on a ublk device with a hardened server: on, off, status" },
	{ "nvme", cmd_nvme, "NVMe namespaces: identity, health, holders (list, info)" },
	{ "dm", cmd_dm, "device-mapper devices: linear, striped, crypt, thin, cache" },
	{ "check-config", cmd_check_config, "read the provisioning policy and list its problems" },
	{ "apply", cmd_apply, "apply the provisioning policy to the NVMe namespaces present" },
	{ "down", cmd_down, "take down what apply made, in reverse order" },
	{ "status", cmd_status, "the policy's rules, namespaces, instances and their health" },
	{ "doctor", cmd_doctor, "check whether this system can run ublkit, and how to fix it" },
	{ "modprobe", cmd_modprobe, "load ublk_drv (or the named modules) with dependencies" },
	{ "version", cmd_version, "print the version of the tool and the library" },
};

#define SYNOPSIS "Usage: ublkit [OPTIONS] COMMAND [ARGS...]\n"

static void usage(FILE *f)
{
	fputs(SYNOPSIS
	      "\n"
	      "Serve and manage Linux ublk block devices.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-12s  %s\n", commands[i].name, commands[i].summary);
	fputs("\n"
	      "Options:\n"
	      "  -j, --json           machine-readable output (every command)\n"
	      "  -v, --verbose        more log output (repeat for debug)\n"
	      "      --sysroot DIR    read /sys, /proc, /dev, /etc, /lib/modules under DIR\n"
	      "  -V, --version        print the version\n"
	      "  -h, --help           this help; 'ublkit COMMAND --help' for a command\n"
	      "\n"
	      "Environment:\n"
	      "  UBLKIT_LOG=LEVEL     library log level: err, warning, info, debug\n"
	      "  UBLKIT_SYSROOT=DIR   same as --sysroot\n"
	      "\n"
	      "Files:\n"
	      "  /etc/ublkit/ublkit.conf   the provisioning policy, see ublkit.conf(5)\n"
	      "\n"
	      "Exit status: 0 success, 1 failure, 2 usage error, 3 not supported here,\n"
	      "4 partial failure (apply, down: some of the work failed, the rest was done).\n",
	      f);
}

/* A detached server's stderr is /dev/null: its messages go to syslog. */
static bool stderr_is_null(void)
{
	struct stat st, null;

	return fstat(STDERR_FILENO, &st) == 0 && stat("/dev/null", &null) == 0 &&
	       S_ISCHR(st.st_mode) && st.st_rdev == null.st_rdev;
}

static void log_to_stderr(struct ublkit_ctx *ctx, int priority, const char *file, int line,
			  const char *fn, const char *format, va_list args, void *userdata)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error",
					     "warning", "notice", "info", "debug" };

	if (stderr_is_null()) {
		openlog("ublkit", LOG_PID, LOG_DAEMON);
		vsyslog(priority, format, args);
		return;
	}

	fprintf(stderr, "ublkit: %s: ", names[priority & 7]);
	if (priority >= LOG_DEBUG)
		fprintf(stderr, "%s: ", fn);
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
}

static const struct tool_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* The library context, with the sysroot of UBLKIT_SYSROOT or --sysroot. */
static int context_new(struct tool *t, const char *sysroot)
{
	const char *env = getenv("UBLKIT_SYSROOT");
	int r = ublkit_ctx_new(&t->ctx);

	if (r < 0 && env)
		return tool_usage(t, "UBLKIT_SYSROOT=%s: %s; give a directory, or unset it",
				  tool_shown(env), strerror(-r));
	if (r < 0)
		return tool_fail(r, "cannot create a library context");
	ublkit_ctx_set_log_fn(t->ctx, log_to_stderr, NULL);
	/* The tool explains failures itself; library detail on request. */
	if (t->verbose)
		ublkit_ctx_set_log_priority(t->ctx, t->verbose > 1 ? LOG_DEBUG : LOG_INFO);
	else if (!getenv("UBLKIT_LOG"))
		ublkit_ctx_set_log_priority(t->ctx, LOG_CRIT);
	if (!sysroot)
		return -1;
	r = ublkit_ctx_set_sysroot(t->ctx, sysroot);
	if (r < 0)
		return tool_usage(t, "--sysroot %s: %s; give a directory", tool_shown(sysroot),
				  strerror(-r));
	return -1;
}

int main(int argc, char **argv)
{
	enum { OPT_SYSROOT = 0x100 };
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "sysroot", required_argument, NULL, OPT_SYSROOT },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct tool t = { .prog = "ublkit", .usage = SYNOPSIS };
	const char *sysroot = NULL;
	const struct tool_cmd *cmd;
	int c, r;

	/* getopt's messages name the program, not the path it was run by */
	argv[0] = (char *)"ublkit";
	while ((c = getopt_long(argc, argv, "+jvVh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': t.json = true; break;
		case 'v': t.verbose++; break;
		case OPT_SYSROOT: sysroot = optarg; break;
		case 'V': argv[optind - 1] = (char *)"version"; optind--; goto dispatch;
		case 'h': usage(stdout); return EXIT_OK;
		default: return tool_usage(&t, NULL);
		}
	}
dispatch:
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (sysroot && !*sysroot)
		return tool_usage(&t, "--sysroot: empty; give a directory");
	cmd = find_command(argv[optind]);
	if (!cmd)
		return tool_usage(&t, "unknown command '%s'; see 'ublkit --help'",
				  tool_shown(argv[optind]));
	r = context_new(&t, sysroot);
	if (r >= 0) {
		ublkit_ctx_unref(t.ctx);
		return r;
	}
	t.prog = cmd->name;
	t.usage = NULL;
	argv += optind;
	argc -= optind;
	optind = 0;
	r = cmd->run(&t, argc, argv);
	ublkit_ctx_unref(t.ctx);
	return r;
}
