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
	"  -s, --size SIZE            device size: bytes, or with a K, M, G, T suffix\n"
	"                             (KiB, MiB..., powers of 1024; KB, MB... of 1000),\n"
	"                             fractions too: 1.5G\n"
	"  -q, --queues N             hardware queues, one server thread each, 1-64 (default 1)\n"
	"  -d, --depth N              queue depth, 1-4096 (default 128)\n"
	"  -i, --id N                 device id, 0-1048575 (default: the kernel picks)\n"
	"  -b, --block-size N         logical block size, 512-4096 (default 512, or the file's)\n"
	"      --physical-block-size N  power of two, block size-64K (default: block size)\n"
	"      --max-io SIZE          largest request, multiple of 4K up to 1M (default 128K)\n"
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
	"Every argument is checked before the system is: a bad one is a usage\n"
	"error even where ublk is missing.\n"
	"\n"
	"Exit status: 0 device live, 1 failed (nothing left behind), 2 usage,\n"
	"3 the kernel lacks ublk.\n";

enum { OPT_PBS = 0x100, OPT_MAXIO, OPT_RO, OPT_ROT, OPT_NODISCARD, OPT_LOWLAT, OPT_ROOT };

struct add_opts {
	struct ublkit_dev_params p;
	const char *target;
	const char *file;
	unsigned int spawn_flags;
	bool foreground;
};

/*
 * A size in a 32-bit field. 0 and what does not fit are refused here with
 * @rule; the library's check says what is wrong with any other value.
 */
static int opt_u32_size(struct tool *t, const char *opt, const char *arg, const char *rule,
			uint32_t *ret)
{
	uint64_t v;
	int r = ublkit_parse_size(arg, &v);

	if (r == 0 && v && v <= UINT32_MAX) {
		*ret = (uint32_t)v;
		return 0;
	}
	if (r == 0 || r == -ERANGE)
		tool_usage(t, "--%s %s: out of range; give %s", opt, tool_shown(arg), rule);
	else
		tool_usage(t, "--%s '%s': not a size; give %s", opt, tool_shown(arg), rule);
	return -EINVAL;
}

static int add_option(struct tool *t, struct add_opts *o, int c, const char *arg)
{
	uint64_t v;

	switch (c) {
	case 't': o->target = arg; return 0;
	case 'f': o->file = arg; return 0;
	case 's': return tool_opt_size(t, "size", arg, 1, UINT64_MAX, &o->p.size);
	case 'q': return tool_opt_u16(t, "queues", arg, UBLKIT_MAX_QUEUES, &o->p.nr_queues);
	case 'd': return tool_opt_u16(t, "depth", arg, UBLKIT_MAX_QUEUE_DEPTH, &o->p.queue_depth);
	case 'i':
		if (tool_opt_uint(t, "id", arg, 0, UBLKIT_DEV_ID_MAX, &v) < 0)
			return -EINVAL;
		o->p.dev_id = (int32_t)v;
		return 0;
	case 'b':
		return opt_u32_size(t, "block-size", arg, "a power of two from 512 to 4096",
				    &o->p.logical_block_size);
	case OPT_PBS:
		return opt_u32_size(t, "physical-block-size", arg,
				    "a power of two from the block size to 64K",
				    &o->p.physical_block_size);
	case OPT_MAXIO:
		return opt_u32_size(t, "max-io", arg, "a multiple of 4K from 4K to 1M",
				    &o->p.max_io_bytes);
	case 'r': o->p.flags |= UBLKIT_DEV_RECOVERY; return 0;
	case OPT_RO: o->p.flags |= UBLKIT_DEV_READ_ONLY; return 0;
	case OPT_ROT: o->p.flags |= UBLKIT_DEV_ROTATIONAL; return 0;
	case OPT_NODISCARD: o->p.flags |= UBLKIT_DEV_NO_DISCARD; return 0;
	case OPT_LOWLAT: o->p.flags |= UBLKIT_DEV_LOW_LATENCY; return 0;
	case 'F':
		o->foreground = true;
		o->spawn_flags |= UBLKIT_SPAWN_FOREGROUND;
		return 0;
	case OPT_ROOT: o->spawn_flags |= UBLKIT_SPAWN_ROOT_STORAGE; return 0;
	default: return -ENOENT;
	}
}

/* What the options say together, and the library's check of the parameters. */
static int check_args(struct tool *t, const struct add_opts *o)
{
	int tflags, saved, r;

	if (!o->target)
		return tool_usage(t, "--target is required (null, mem or file)");
	tflags = ublkit_target_flags(o->target);
	if (tflags < 0)
		return tool_usage(t, "unknown target '%s' (null, mem or file)",
				  tool_shown(o->target));
	if ((o->p.flags & UBLKIT_DEV_RECOVERY) && !(tflags & UBLKIT_TARGET_SURVIVES_SERVER))
		return tool_usage(t, "--recovery does not fit --target %s: its data lives in the "
				  "server and dies with it; use --target file", o->target);
	if (!(tflags & UBLKIT_TARGET_NEEDS_PATH) != !o->file)
		return o->file ? tool_usage(t, "--file is only for --target file")
			       : tool_usage(t, "--target %s needs --file PATH", o->target);
	if ((tflags & UBLKIT_TARGET_NEEDS_SIZE) && !o->p.size)
		return tool_usage(t, "--target %s needs --size (e.g. --size 1G)", o->target);
	saved = tool_checks_begin(t);
	r = ublkit_dev_params_check(t->ctx, &o->p, o->target, o->file);
	tool_checks_end(t, saved);
	return r < 0 ? tool_usage(t, NULL) : -1;
}

static int parse_args(struct tool *t, int argc, char **argv, struct add_opts *o)
{
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
	int c, r;

	t->usage = usage;
	ublkit_dev_params_init(&o->p);
	while ((c = tool_getopt(t, argc, argv, "hjt:f:s:q:d:i:b:rF", opts)) != -1) {
		r = add_option(t, o, c, optarg);
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
	return check_args(t, o);
}

/* Before anything is created: the driver, and the id if one was asked for. */
static int preflight(struct tool *t, const struct add_opts *o)
{
	struct ublkit_device *d = NULL;
	int32_t pid;
	int r;

	r = ublkit_ublk_preflight(t->ctx);
	if (r == -ENODEV || r == -EACCES || r == -EXDEV)
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
	/* Let the library say what the system lacks, or why a parameter is wrong. */
	tool_show_library_errors(t);
	r = preflight(t, &o);
	if (r >= 0)
		return r;
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
