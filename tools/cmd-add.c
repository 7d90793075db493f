/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ublkit add: start a server process for a new device and return once
 * the device is live. The server (the ublkit-server program) detaches, or
 * with --foreground stays this command's child, and serves until
 * SIGTERM/SIGINT, then stops, drains and deletes its device.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "tool.h"
#include "ublkit/ublk.h"

static const char usage[] =
	"Usage: ublkit add --target null|mem|file [OPTIONS]\n"
	"\n"
	"Create a ublk device served by a new ublkit server process and print\n"
	"its id and block device once the device is live.\n"
	"\n"
	"Targets:\n"
	"  null   completes every request, stores nothing (needs --size)\n"
	"  mem    RAM disk, sparse: memory is used only where written (needs --size)\n"
	"  file   a regular file or block device (--file); size defaults to its size\n"
	"\n"
	"Options:\n"
	"  -t, --target NAME          target type (required)\n"
	"  -f, --file PATH            backing file or block device for 'file'\n"
	"  -s, --size SIZE            device size: bytes or with K, M, G, T suffix\n"
	"  -q, --queues N             hardware queues, one server thread each (default 1)\n"
	"  -d, --depth N              queue depth, 1-4096 (default 128)\n"
	"  -i, --id N                 device id (default: the kernel picks)\n"
	"  -b, --block-size N         logical block size, 512-4096 (default 512, or the file's)\n"
	"      --physical-block-size N\n"
	"      --max-io SIZE          largest request, multiple of 4K (default 128K)\n"
	"  -r, --recovery             survive a server crash (user recovery)\n"
	"      --read-only            export the device read-only\n"
	"      --rotational           mark the device rotational\n"
	"      --no-discard           do not announce discard / write-zeroes\n"
	"      --low-latency          queue threads preempt the submitter (SCHED_OTHER)\n"
	"                             instead of taking requests in batches (SCHED_BATCH)\n"
	"  -F, --foreground           stay attached: the server logs to stderr and\n"
	"                             stops on SIGTERM/SIGINT to this command\n"
	"      --root-storage         name the server '@ublkit-server', so that\n"
	"                             systemd's shutdown and the initramfs leave it\n"
	"                             running (for devices that hold the root or swap)\n"
	"  -j, --json                 print the result as JSON\n"
	"\n"
	"Server memory: queues x depth x max-io of I/O buffers (default 16 MiB)\n"
	"plus about 4 MiB; 'mem' adds the data written.\n"
	"\n"
	"Exit status: 0 device live, 1 failed (nothing left behind), 2 usage,\n"
	"3 the kernel lacks ublk.\n";

struct add_opts {
	struct ublkit_dev_params p;
	const char *target;
	const char *file;
	unsigned int spawn_flags;
	bool foreground;
};

static int parse_u16_opt(const char *name, const char *arg, uint16_t *ret)
{
	uint64_t v;

	if (tool_parse_uint(arg, 65535, &v) < 0) {
		tool_error("--%s '%s': not a number from 0 to 65535", name, arg);
		return -EINVAL;
	}
	*ret = (uint16_t)v;
	return 0;
}

static int parse_u32_size(const char *name, const char *arg, uint32_t *ret)
{
	uint64_t v;

	if (tool_parse_size(arg, &v) < 0 || v > UINT32_MAX) {
		tool_error("--%s '%s': not a size", name, arg);
		return -EINVAL;
	}
	*ret = (uint32_t)v;
	return 0;
}

static int parse_args(struct tool *t, int argc, char **argv, struct add_opts *o)
{
	enum { OPT_PBS = 0x100, OPT_MAXIO, OPT_RO, OPT_ROT, OPT_NODISCARD, OPT_LOWLAT,
	       OPT_ROOT };
	static const struct option opts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "target", required_argument, NULL, 't' },
		{ "file", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 's' },
		{ "queues", required_argument, NULL, 'q' },
		{ "depth", required_argument, NULL, 'd' },
		{ "id", required_argument, NULL, 'i' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "physical-block-size", required_argument, NULL, OPT_PBS },
		{ "max-io", required_argument, NULL, OPT_MAXIO },
		{ "recovery", no_argument, NULL, 'r' },
		{ "read-only", no_argument, NULL, OPT_RO },
		{ "rotational", no_argument, NULL, OPT_ROT },
		{ "no-discard", no_argument, NULL, OPT_NODISCARD },
		{ "low-latency", no_argument, NULL, OPT_LOWLAT },
		{ "foreground", no_argument, NULL, 'F' },
		{ "root-storage", no_argument, NULL, OPT_ROOT },
		{},
	};
	uint64_t v;
	int c, r = 0, tflags;

	ublkit_dev_params_init(&o->p);
	while (r == 0 && (c = getopt_long(argc, argv, "hjt:f:s:q:d:i:b:rF", opts, NULL)) != -1) {
		switch (c) {
		case 't': o->target = optarg; break;
		case 'f': o->file = optarg; break;
		case 's':
			if (tool_parse_size(optarg, &o->p.size) < 0) {
				tool_error("--size '%s': not a size (try 1G, 512M, 4096)", optarg);
				r = -EINVAL;
			}
			break;
		case 'q': r = parse_u16_opt("queues", optarg, &o->p.nr_queues); break;
		case 'd': r = parse_u16_opt("depth", optarg, &o->p.queue_depth); break;
		case 'i':
			if (tool_parse_uint(optarg, INT32_MAX, &v) < 0) {
				tool_error("--id '%s': not a device id", optarg);
				r = -EINVAL;
			}
			o->p.dev_id = (int32_t)v;
			break;
		case 'b': r = parse_u32_size("block-size", optarg, &o->p.logical_block_size); break;
		case OPT_PBS:
			r = parse_u32_size("physical-block-size", optarg, &o->p.physical_block_size);
			break;
		case OPT_MAXIO: r = parse_u32_size("max-io", optarg, &o->p.max_io_bytes); break;
		case 'r': o->p.flags |= UBLKIT_DEV_RECOVERY; break;
		case OPT_RO: o->p.flags |= UBLKIT_DEV_READ_ONLY; break;
		case OPT_ROT: o->p.flags |= UBLKIT_DEV_ROTATIONAL; break;
		case OPT_NODISCARD: o->p.flags |= UBLKIT_DEV_NO_DISCARD; break;
		case OPT_LOWLAT: o->p.flags |= UBLKIT_DEV_LOW_LATENCY; break;
		case 'F':
			o->foreground = true;
			o->spawn_flags |= UBLKIT_SPAWN_FOREGROUND;
			break;
		case OPT_ROOT: o->spawn_flags |= UBLKIT_SPAWN_ROOT_STORAGE; break;
		default:
			c = tool_common_option(t, c == 'j' ? 'J' : c, usage);
			if (c >= 0)
				return c;
		}
	}
	if (r < 0)
		return EXIT_USAGE;
	if (optind < argc) {
		tool_error("unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (!o->target) {
		tool_error("--target is required (null, mem or file); see 'ublkit add --help'");
		return EXIT_USAGE;
	}
	tflags = ublkit_target_flags(o->target);
	if (tflags < 0) {
		tool_error("unknown target '%s'; see 'ublkit add --help'", o->target);
		return EXIT_USAGE;
	}
	if ((o->p.flags & UBLKIT_DEV_RECOVERY) && !(tflags & UBLKIT_TARGET_SURVIVES_SERVER)) {
		tool_error("--recovery does not fit --target %s: its data lives in the server "
			   "and dies with it; use --target file", o->target);
		return EXIT_USAGE;
	}
	if (!(tflags & UBLKIT_TARGET_NEEDS_PATH) != !o->file) {
		tool_error(o->file ? "--file is only for --target file"
				   : "--target %s needs --file PATH", o->target);
		return EXIT_USAGE;
	}
	if ((tflags & UBLKIT_TARGET_NEEDS_SIZE) && !o->p.size) {
		tool_error("--target %s needs --size (e.g. --size 1G)", o->target);
		return EXIT_USAGE;
	}
	return -1;
}

/* Before anything is created: the driver, and the id if one was asked for. */
static int preflight(struct tool *t, const struct add_opts *o)
{
	struct ublkit_device *d = NULL;
	int32_t pid;
	int r;

	r = ublkit_ublk_preflight(t->ctx);
	if (r == -ENODEV || r == -EACCES)
		return EXIT_UNSUPPORTED;
	if (r < 0)
		return EXIT_FAIL;
	if (o->p.dev_id < 0)
		return -1;
	r = ublkit_device_new(t->ctx, (uint32_t)o->p.dev_id, &d);
	if (r == -ENODEV)
		return -1;
	if (r == -EPERM || r == -EACCES)
		return tool_fail(r, "no permission for /dev/ublk-control (run as root)");
	if (r < 0)
		return tool_fail(r, "cannot query ublk%d", o->p.dev_id);
	pid = ublkit_device_get_server_pid(d);
	if (ublkit_device_get_orphan_reason(d) != UBLKIT_ORPHAN_NOT)
		tool_error("id %d is held by an orphaned device (server pid %d is gone); "
			   "run 'ublkit cleanup' to remove it", o->p.dev_id, pid);
	else if (ublkit_device_get_state(d) == UBLKIT_DEV_DEAD)
		tool_error("id %d is in use by a device that server pid %d is setting up; "
			   "pick another id", o->p.dev_id, pid);
	else
		tool_error("id %d is in use by a live device (server pid %d); pick another id "
			   "or leave --id out", o->p.dev_id, pid);
	ublkit_device_unref(d);
	return EXIT_FAIL;
}

static void print_result(struct tool *t, const struct add_opts *o,
			 const struct ublkit_spawn_result *res)
{
	char dev[64], size[32];

	ublkit_ublk_block_path((uint32_t)res->id, dev, sizeof(dev));
	if (t->json) {
		json_begin_object(NULL);
		json_int("id", res->id);
		json_string("block_device", dev);
		json_string("target", o->target);
		json_uint("size", res->params.size);
		json_uint("queues", res->params.nr_queues);
		json_uint("depth", res->params.queue_depth);
		json_bool("recovery", res->params.flags & UBLKIT_DEV_RECOVERY);
		json_int("server_pid", res->server_pid);
		json_end_object();
		json_finish();
		return;
	}
	printf("ublk%d %s\n", res->id, dev);
	if (t->verbose)
		fprintf(stderr, "ublkit: ublk%d: %s target, %s, %u queue(s) x %u, server pid %d\n",
			res->id, o->target, tool_format_size(res->params.size, size, sizeof(size)),
			res->params.nr_queues, res->params.queue_depth, res->server_pid);
}

static int explain(struct tool *t, int r)
{
	if ((r == -EPERM || r == -EACCES) && ublkit_io_uring_disabled(t->ctx) > 0) {
		tool_error("add failed: io_uring is disabled (kernel.io_uring_disabled); "
			   "run: sysctl -w kernel.io_uring_disabled=0");
		return EXIT_UNSUPPORTED;
	}
	switch (r) {
	case -EEXIST: tool_error("add failed: the id is already in use"); return EXIT_FAIL;
	case -EPERM:
	case -EACCES: tool_error("add failed: permission denied; run as root"); return EXIT_FAIL;
	case -EOPNOTSUPP:
		tool_error("add failed: the kernel does not support what was asked (see above)");
		return EXIT_UNSUPPORTED;
	default: return tool_fail(r, "add failed");
	}
}

/* Wait for a foreground server, passing it the stop signals this
 * process gets; its exit status becomes ours. */
static int wait_foreground(const struct ublkit_spawn_result *res, const sigset_t *sigs)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[2];
	int sfd, status = 0;

	sfd = signalfd(-1, sigs, SFD_CLOEXEC);
	pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = res->pidfd, .events = POLLIN };
	while (sfd >= 0 && res->pidfd >= 0) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if ((pfd[0].revents & POLLIN) && read(sfd, &si, sizeof(si)) == sizeof(si))
			kill(res->server_pid, (int)si.ssi_signo);
	}
	if (sfd >= 0)
		close(sfd);
	while (waitpid(res->server_pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? EXIT_OK : EXIT_FAIL;
}

int cmd_add(struct tool *t, int argc, char **argv)
{
	struct ublkit_spawn_result res;
	struct add_opts o = { 0 };
	sigset_t sigs;
	int r;

	r = parse_args(t, argc, argv, &o);
	if (r >= 0)
		return r;
	r = preflight(t, &o);
	if (r >= 0)
		return r;
	/* Let the library say why a parameter is wrong. */
	tool_show_library_errors(t);
	if (o.foreground) {
		/* Ours until the server has them: a Ctrl-C during start-up
		 * reaches the server through us once it is up. */
		sigemptyset(&sigs);
		sigaddset(&sigs, SIGTERM);
		sigaddset(&sigs, SIGINT);
		sigaddset(&sigs, SIGHUP);
		sigprocmask(SIG_BLOCK, &sigs, NULL);
	}
	r = ublkit_server_spawn(t->ctx, &o.p, o.target, o.file, -1, o.spawn_flags, &res);
	if (r < 0)
		return explain(t, r);
	print_result(t, &o, &res);
	if (!o.foreground) {
		if (res.pidfd >= 0)
			close(res.pidfd);
		return EXIT_OK;
	}
	fflush(stdout);
	return wait_foreground(&res, &sigs);
}
