/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ublkit-server program (ublkit_server_main()): one process serving
 * one device. Started by ublkit_server_spawn() with the device's
 * parameters as key=value arguments and a report socket on fd 3. Unlike
 * the rest of the library this file owns its process: it sets the signal
 * mask, forks to detach, and logs on its own (to stderr when that is the
 * journal or a terminal, to syslog otherwise), each line tagged with the
 * device id.
 */
#include "config.h"

#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <syslog.h>

#include "ublkit-private.h"
#include "swap-private.h"
#include "server-private.h"
#include "spawn-private.h"
#include "ublkit/swap.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

struct server_log {
	int syslog_fd;		/* datagram socket on /dev/log, or -1 */
	bool to_stderr;
	bool journal;		/* stderr is the journal: "<N>" priority prefixes */
	int id;			/* the device id once known, else -1 */
	bool reported;		/* the report is sent: errors are only logged */
	char errors[SPAWN_ERRORS_MAX];	/* every error line until the report is sent */
};

static struct server_log slog = { .syslog_fd = -1, .id = -1 };

/*
 * A server that backs swap must never wait for its log: when memory runs
 * out, the journal may itself be waiting for pages in that swap. Lines go
 * out with MSG_DONTWAIT and are dropped when the reader is behind.
 */
static void syslog_open(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };

	slog.syslog_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (slog.syslog_fd >= 0 && connect(slog.syslog_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(slog.syslog_fd);
		slog.syslog_fd = -1;
	}
}

static void log_send(int fd, const char *line, size_t len)
{
	if (send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno == ENOTSOCK &&
	    write(fd, line, len) < 0)
		return; /* nowhere left to say it */
}

/* systemd tells a service that stderr is the journal through
 * JOURNAL_STREAM=DEV:INODE of that stream. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

static void server_log_fn(struct ublkit_ctx *ctx, int priority, const char *file, int line,
			  const char *fn, const char *format, va_list args, void *userdata)
{
	char msg[4096], tag[32] = "", out[4200];
	int len;

	vsnprintf(msg, sizeof(msg), format, args);
	/* all of them: the last one alone may lack the cause or the fix */
	if (priority <= UBLKIT_LOG_ERR && !slog.reported)
		spawn_errors_add(slog.errors, sizeof(slog.errors), msg);
	/* Tag with the device id, unless the message already names it. */
	if (slog.id >= 0) {
		snprintf(tag, sizeof(tag), "ublk%d", slog.id);
		if (strncmp(msg, tag, strlen(tag)) == 0 && msg[strlen(tag)] == ':')
			tag[0] = '\0';
		else
			strcat(tag, ": ");
	}
	if (slog.journal)
		len = snprintf(out, sizeof(out), "<%d>%s%s\n", priority & 7, tag, msg);
	else if (slog.to_stderr)
		len = snprintf(out, sizeof(out), "ublkit-server: %s%s\n", tag, msg);
	else
		len = snprintf(out, sizeof(out), "<%d>ublkit-server[%d]: %s%s",
			     LOG_DAEMON | (priority & 7), (int)getpid(), tag, msg);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(out))
		len = (int)sizeof(out) - 1;
	if (slog.to_stderr)
		log_send(STDERR_FILENO, out, (size_t)len);
	else if (slog.syslog_fd >= 0)
		log_send(slog.syslog_fd, out, (size_t)len);
}

static void log_setup(struct ublkit_ctx *ctx, bool foreground)
{
	slog.journal = stderr_is_journal();
	slog.to_stderr = foreground || slog.journal;
	/* Connected now: after switch_root /dev/log may not resolve. */
	if (!slog.to_stderr)
		syslog_open();
	ublkit_ctx_set_log_fn(ctx, server_log_fn, NULL);
	if (!secure_getenv("UBLKIT_LOG"))
		ublkit_ctx_set_log_priority(ctx, UBLKIT_LOG_INFO);
}

static int send_report(int fd, const struct spawn_report *rep, int pidfd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)rep, .iov_len = sizeof(*rep) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t n;

	if (pidfd >= 0) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pidfd, sizeof(int));
	}
	do
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(*rep) ? 0 : -EPIPE;
}

struct server_args {
	bool foreground;
	int recover_id;
	struct ublkit_manifest m;
};

static int parse_args(int argc, char **argv, struct server_args *a)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'F' },
		{ "recover", required_argument, NULL, 'R' },
		{},
	};
	uint64_t v;
	int c;

	memset(a, 0, sizeof(*a));
	a->recover_id = -1;
	manifest_init(&a->m);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'F': a->foreground = true; break;
		case 'R':
			if (ublkit_parse_uint(optarg, 0, UBLKIT_DEV_ID_MAX, &v) < 0)
				return -EINVAL;
			a->recover_id = (int)v;
			break;
		default: return -EINVAL;
		}
	}
	for (int i = optind; i < argc; i++)
		if (manifest_parse_kv(&a->m, argv[i]) < 0)
			return -EINVAL;
	return a->m.target[0] ? 0 : -EINVAL;
}

/* Leave the starter's session for good: its SIGHUP is not ours. */
static void detach_from_starter(void)
{
	pid_t pid = fork();

	if (pid > 0)
		_exit(0);
	/* pid < 0: serve from this process; the starter reaps it later. */
}

static void stdio_to_null(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	if (!slog.to_stderr)
		dup2(fd, STDERR_FILENO);
	close(fd);
}

/* Log what a report says is not held, as errors when it is required. */
static void log_report(struct ublkit_ctx *ctx, const struct ublkit_harden_report *rep,
		       bool required)
{
	const char *why = NULL;

	if (ublkit_harden_report_is_swap_safe(rep, &why))
		log_info(ctx, "hardened for swap: %s", why ? why : "every guarantee holds");
	else if (required)
		log_error(ctx, "not safe to back swap: %s", why ? why : "?");
	else
		log_warn(ctx, "not safe to back swap (best effort): %s", why ? why : "?");
}

/*
 * A server that backs swap hardens itself first, while it has one thread
 * (a new mount namespace holds only the calling thread; later threads
 * inherit IO_FLUSHER and the locked-memory setting).
 */
static int harden_before(struct ublkit_ctx *ctx, const struct server_args *a,
			 struct ublkit_harden_profile **profile)
{
	struct ublkit_harden_report *rep = NULL;
	uint32_t flags = a->m.params.flags;
	int r;

	if (!(flags & UBLKIT_DEV_SWAP))
		return 0;
	/* One malloc arena: per-thread arenas would each reserve (and, with
	 * locked memory, count against RLIMIT_MEMLOCK) for nothing. */
	mallopt(M_ARENA_MAX, 1);
	r = harden_profile_for_flags(flags, profile);
	if (r < 0)
		return r;
	r = ublkit_harden_apply(ctx, *profile, &rep);
	if (rep && r < 0)
		log_report(ctx, rep, true);
	else if (r < 0)
		log_error(ctx, "cannot harden the server: %s", strerror(-r));
	ublkit_harden_report_unref(rep);
	return r;
}

/* With every queue thread running: do the guarantees hold for all of them? */
static int harden_after(struct ublkit_ctx *ctx, const struct ublkit_harden_profile *profile,
			bool required)
{
	struct ublkit_harden_report *rep = NULL;
	bool safe;
	int r;

	if (!profile)
		return 0;
	r = ublkit_harden_inspect(ctx, 0, profile, &rep);
	if (r < 0)
		return log_ret(ctx, r, "cannot inspect the server's hardening");
	safe = ublkit_harden_report_is_swap_safe(rep, NULL);
	log_report(ctx, rep, required);
	ublkit_harden_report_unref(rep);
	return safe || !required ? 0 : -ENOTRECOVERABLE;
}

static int start_device(struct ublkit_ctx *ctx, const struct server_args *a,
			struct ublkit_server **ret)
{
	struct ublkit_harden_profile *profile = NULL;
	bool required = !(a->m.params.flags & UBLKIT_DEV_HARDEN_BEST_EFFORT);
	struct ublkit_server *s = NULL;
	int r, id;

	r = harden_before(ctx, a, &profile);
	if (r < 0 && required)
		goto out;
	r = ublkit_server_new(ctx, &a->m.params, a->m.target,
			      a->m.target_arg[0] ? a->m.target_arg : NULL, &s);
	if (r < 0)
		goto out;
	/* What the target found when it opened its backing; the queues
	 * allocate and touch their buffers before START_DEV. */
	if (profile)
		ublkit_harden_profile_set_preallocated(profile, s->target.preallocated);
	id = a->recover_id >= 0 ? ublkit_server_recover(s, (uint32_t)a->recover_id)
				: ublkit_server_start(s);
	r = id < 0 ? id : harden_after(ctx, profile, required);
	if (r < 0 && a->recover_id < 0)
		goto out; /* unref stops and deletes the new device */
	if (r < 0) {
		/* A recovered device stays, quiesced, for a later recovery: it
		 * has users. Exiting without STOP_DEV leaves it so. */
		s = NULL;
		goto out;
	}
	*ret = s;
	s = NULL;
	r = id;
out:
	ublkit_server_unref(s);
	ublkit_harden_profile_unref(profile);
	return r;
}

static int serve(struct ublkit_ctx *ctx, struct ublkit_server *s, const sigset_t *sigs)
{
	int r = ublkit_server_wait(s, sigs);

	if (r > 0)
		log_info(ctx, "signal %d, stopping", r);
	else if (r == 0)
		log_info(ctx, "the device was stopped");
	else
		log_error(ctx, "waiting for the device failed: %s", strerror(-r));
	r = ublkit_server_stop(s);
	if (r < 0)
		log_error(ctx, "stopping the device failed: %s", strerror(-r));
	return r;
}

UBLKIT_EXPORT int ublkit_server_main(int argc, char **argv)
{
	struct spawn_report rep = { 0 };
	struct ublkit_server *s = NULL;
	struct ublkit_ctx *ctx = NULL;
	struct server_args a;
	int pidfd = -1, r;
	sigset_t sigs;

	if (parse_args(argc, argv, &a) < 0) {
		fprintf(stderr, "ublkit-server: started by libublkit only (bad arguments)\n");
		return 2;
	}
	/* Blocked before the device exists, so a signal never leaves it behind. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	if (!a.foreground)
		detach_from_starter();
	if (chdir("/") < 0)
		return 1;
	r = ublkit_ctx_new(&ctx);
	if (r < 0)
		return 1;
	log_setup(ctx, a.foreground);
	/*
	 * Every server is in the writeback path of its device: a file system
	 * on it flushes dirty pages through it under memory pressure. As an
	 * IO_FLUSHER (inherited by every thread it starts) its allocations
	 * never recurse into I/O, which could wait for its own device or
	 * for bios that wait for it. A swap server requires it (and more);
	 * for the others it is best effort (it needs CAP_SYS_RESOURCE).
	 */
	if (!(a.m.params.flags & UBLKIT_DEV_SWAP) && ublkit_harden_thread(NULL) < 0)
		log_debug(ctx, "not an IO_FLUSHER (no CAP_SYS_RESOURCE)");
	rep.result = start_device(ctx, &a, &s);
	if (rep.result >= 0) {
		slog.id = rep.result;
		rep.server_pid = getpid();
		rep.params = *ublkit_server_get_params(s);
		pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	} else {
		memcpy(rep.error, slog.errors, sizeof(rep.error));
	}
	r = send_report(SPAWN_REPORT_FD, &rep, pidfd);
	slog.reported = true;
	close(SPAWN_REPORT_FD);
	if (pidfd >= 0)
		close(pidfd);
	if (rep.result < 0 || r < 0) {
		/* Nobody to serve for: the starter is gone or start-up failed. */
		ublkit_server_unref(s);
		ublkit_ctx_unref(ctx);
		return 1;
	}
	if (!a.foreground)
		stdio_to_null();
	r = serve(ctx, s, &sigs);
	ublkit_server_unref(s);
	ublkit_ctx_unref(ctx);
	return r < 0 ? 1 : 0;
}
