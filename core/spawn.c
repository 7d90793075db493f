/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Starting server processes. A server is its own program, ublkit-server,
 * started with posix_spawn(): nothing of the caller's heap, threads,
 * locks or log function ends up in a process that locks its memory and
 * lives for months. The caller waits on a socket for the server's report
 * (the device is live, or the exact error) and gets the server's pidfd
 * with it. A detached server forks once more at start, so it is never a
 * child its starter has to reap.
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "ublkit-private.h"
#include "server-private.h"
#include "spawn-private.h"
#include "swap-private.h"

extern char **environ;

#define SPAWN_MAX_ARGS 32

struct spawn_argv {
	char *argv[SPAWN_MAX_ARGS];
	int argc;
	char text[8192];	/* the key=value lines, split in place */
	char recover[32];
};

static const char *server_path(void)
{
	const char *p = secure_getenv("UBLKIT_SERVER");

	return p && *p ? p : SPAWN_SERVER_PATH;
}

/* argv: [@]ublkit-server [--foreground] [--recover=ID] -- key=value... */
static int spawn_argv_build(struct spawn_argv *a, const struct ublkit_dev_params *params,
			    const char *target, const char *target_arg, int recover_id,
			    unsigned int flags)
{
	struct ublkit_manifest m;
	char *line, *save = NULL;
	int n;

	manifest_init(&m);
	m.params = *params;
	n = snprintf(m.target, sizeof(m.target), "%s", target ? target : "");
	if (n < 0 || (size_t)n >= sizeof(m.target))
		return -EINVAL;
	n = snprintf(m.target_arg, sizeof(m.target_arg), "%s", target_arg ? target_arg : "");
	if (n < 0 || (size_t)n >= sizeof(m.target_arg))
		return -ENAMETOOLONG;
	n = manifest_format(&m, a->text, sizeof(a->text));
	if (n < 0)
		return n;
	a->argc = 0;
	a->argv[a->argc++] = (char *)((flags & UBLKIT_SPAWN_ROOT_STORAGE) ? "@ublkit-server"
									 : "ublkit-server");
	if (flags & UBLKIT_SPAWN_FOREGROUND)
		a->argv[a->argc++] = (char *)"--foreground";
	if (recover_id >= 0) {
		snprintf(a->recover, sizeof(a->recover), "--recover=%d", recover_id);
		a->argv[a->argc++] = a->recover;
	}
	a->argv[a->argc++] = (char *)"--";
	for (line = strtok_r(a->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (a->argc >= SPAWN_MAX_ARGS - 1)
			return -E2BIG;
		a->argv[a->argc++] = line;
	}
	a->argv[a->argc] = NULL;
	return 0;
}

/* The server's report socket must not be fd 0-3 in the caller, or the
 * dup2() to SPAWN_REPORT_FD would not clear its close-on-exec flag. */
static int move_above_stdio(int fd)
{
	int nfd;

	if (fd > SPAWN_REPORT_FD)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, SPAWN_REPORT_FD + 1);
	close(fd);
	return nfd < 0 ? neg_errno() : nfd;
}

/*
 * A server must never wait for the I/O it serves, not even before it has
 * hardened itself: a server started to recover a device that backs swap
 * would otherwise page out to that very device, which waits for it, from
 * its first allocation. The IO_FLUSHER flags are inherited at clone and
 * kept across execve, so the starting thread carries them for the spawn
 * and drops them again unless it had them. Best effort: without
 * CAP_SYS_RESOURCE the server sets them itself once it runs.
 * Returns whether the caller's thread must drop them afterwards.
 */
static bool io_flusher_lend(void)
{
	if (prctl(PR_GET_IO_FLUSHER, 0, 0, 0, 0) != 0)
		return false;
	return prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) == 0;
}

static void io_flusher_return(bool lent)
{
	if (lent)
		(void)prctl(PR_SET_IO_FLUSHER, 0, 0, 0, 0);
}

static int spawn_process(struct ublkit_ctx *ctx, char **argv, int report_fd, unsigned int flags,
			 pid_t *pid)
{
	bool lent;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	short aflags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	int r;

	/* A clean start whatever the caller blocked or ignored. */
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGCHLD);
	if (!(flags & UBLKIT_SPAWN_FOREGROUND))
		aflags |= POSIX_SPAWN_SETSID;
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, aflags);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (!(flags & UBLKIT_SPAWN_FOREGROUND))
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, report_fd, SPAWN_REPORT_FD);
	lent = io_flusher_lend();
	r = -posix_spawn(pid, server_path(), &fa, &attr, argv, environ);
	io_flusher_return(lent);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r < 0)
		log_error(ctx, "cannot start %s: %s", server_path(), strerror(-r));
	return r;
}

#define SPAWN_ERRORS_CUT "...\n"

void spawn_errors_add(char *buf, size_t size, const char *line)
{
	size_t used = strnlen(buf, size), n = strlen(line), room;
	const size_t cut = sizeof(SPAWN_ERRORS_CUT) - 1;

	if (size < cut + 2 || used >= size - 1)
		return;
	if (used >= cut && strcmp(buf + used - cut, SPAWN_ERRORS_CUT) == 0)
		return; /* already full */
	room = size - 1 - used;
	if (n + 1 + cut <= room) {
		memcpy(buf + used, line, n);
		buf[used + n] = '\n';
		buf[used + n + 1] = '\0';
		return;
	}
	/* keep the room to say that something is missing */
	if (room < cut)
		used = size - 1 - cut;
	else if (room > cut) {
		n = room - cut;
		memcpy(buf + used, line, n);
		used += n;
	}
	memcpy(buf + used, SPAWN_ERRORS_CUT, cut + 1);
}

void spawn_errors_log(struct ublkit_ctx *ctx, const char *errors)
{
	const char *p = errors, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		if (!nl) {
			log_error(ctx, "%s", p);
			return;
		}
		if (nl > p)
			log_error(ctx, "%.*s", (int)(nl - p), p);
		p = nl + 1;
	}
}

/* One report message; *pidfd gets the descriptor sent with it, or -1. */
static ssize_t recv_report(int fd, struct spawn_report *rep, int *pidfd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = rep, .iov_len = sizeof(*rep) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	ssize_t n;

	*pidfd = -1;
	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	for (c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(pidfd, CMSG_DATA(c), sizeof(int));
	return n;
}

static void reap(pid_t pid)
{
	/* ECHILD: a caller's SIGCHLD handler got there first. */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

UBLKIT_EXPORT int ublkit_server_spawn_sz(struct ublkit_ctx *ctx,
					 const struct ublkit_dev_params *params, size_t params_size,
					 const char *target, const char *target_arg, int recover_id,
					 unsigned int flags, struct ublkit_spawn_result *res,
					 size_t res_size)
{
	struct spawn_report rep = { .result = -EPIPE };
	struct ublkit_spawn_result out;
	struct ublkit_dev_params p;
	struct spawn_argv a;
	char abs[PATH_MAX];
	int sv[2], pidfd, r;
	pid_t pid;
	ssize_t n;

	if (!params || (flags & ~(UBLKIT_SPAWN_FOREGROUND | UBLKIT_SPAWN_ROOT_STORAGE)))
		return -EINVAL;
	ublkit_dev_params_init(&p);
	r = struct_in(&p, sizeof(p), params, params_size);
	if (r < 0)
		return r;
	/* what the server would refuse is refused before it is started */
	r = ublkit_dev_params_check(ctx, &p, target ? target : "", target_arg);
	if (r < 0)
		return r;
	if (target_arg && *target_arg) {
		r = spawn_path_absolute(target_arg, abs, sizeof(abs));
		if (r < 0)
			return log_ret(ctx, r, "%s: cannot make the path absolute", target_arg);
		target_arg = abs;
	}
	r = spawn_argv_build(&a, &p, target, target_arg, recover_id, flags);
	if (r < 0)
		return log_ret(ctx, r, "cannot pass the device's parameters to its server");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return neg_errno();
	sv[1] = move_above_stdio(sv[1]);
	if (sv[1] < 0) {
		close(sv[0]);
		return sv[1];
	}
	r = spawn_process(ctx, a.argv, sv[1], flags, &pid);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return r;
	}
	/* A detached server forks at once: this reaps the first process. */
	if (!(flags & UBLKIT_SPAWN_FOREGROUND))
		reap(pid);
	n = recv_report(sv[0], &rep, &pidfd);
	close(sv[0]);
	if (n != (ssize_t)sizeof(rep) || rep.result < 0) {
		if (pidfd >= 0)
			close(pidfd);
		if (flags & UBLKIT_SPAWN_FOREGROUND)
			reap(pid);
		if (n != (ssize_t)sizeof(rep))
			return log_ret(ctx, -ECHILD, "the server exited during start-up");
		rep.error[sizeof(rep.error) - 1] = '\0';
		spawn_errors_log(ctx, rep.error);
		return rep.result;
	}
	if (res) {
		out.id = rep.result;
		out.server_pid = rep.server_pid;
		out.params = rep.params;
		out.pidfd = pidfd;
		struct_out(res, res_size, &out, sizeof(out));
	} else if (pidfd >= 0) {
		close(pidfd);
	}
	return 0;
}
