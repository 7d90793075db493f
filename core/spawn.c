/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Server processes: one detached process per device. The parent waits on
 * a pipe for the child's report, so it returns only once the device is
 * live (or the child failed and left nothing behind).
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "ublkit-private.h"
#include "server-private.h"

/* Blocked before the device exists, so a signal never leaves it behind. */
static void block_stop_signals(sigset_t *sigs)
{
	sigemptyset(sigs);
	sigaddset(sigs, SIGTERM);
	sigaddset(sigs, SIGINT);
	sigaddset(sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, sigs, NULL);
}

UBLKIT_EXPORT int ublkit_server_serve(struct ublkit_server *s)
{
	sigset_t sigs;
	int r;

	block_stop_signals(&sigs);
	r = ublkit_server_wait(s, &sigs);
	if (r > 0)
		log_info(s->ctx, "ublk%d: signal %d, stopping", s->id, r);
	else if (r == 0)
		log_info(s->ctx, "ublk%d: the device was stopped", s->id);
	ublkit_server_stop(s);
	return 0;
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

struct spawn_report {
	int result;
	struct ublkit_spawn_result res;
};

static int child_start(struct ublkit_ctx *ctx, const struct ublkit_dev_params *params,
		       const char *target, const char *target_arg, int recover_id,
		       struct ublkit_server **ret)
{
	struct ublkit_server *s = NULL;
	int r;

	r = ublkit_server_new(ctx, params, target, target_arg, &s);
	if (r < 0)
		return r;
	r = recover_id >= 0 ? ublkit_server_recover(s, (uint32_t)recover_id)
			    : ublkit_server_start(s);
	if (r < 0) {
		ublkit_server_unref(s);
		return r;
	}
	*ret = s;
	return r;
}

static _Noreturn void child_main(struct ublkit_ctx *ctx, int fd,
				 const struct ublkit_dev_params *params, const char *target,
				 const char *target_arg, int recover_id)
{
	struct spawn_report rep = { 0 };
	struct ublkit_server *s = NULL;
	sigset_t sigs;
	ssize_t n;

	block_stop_signals(&sigs);
	setsid();
	if (chdir("/") < 0)
		_exit(1);
	/* The parent's control ring belongs to the parent. */
	ublk_ctrl_reset(ctx);
	rep.result = child_start(ctx, params, target, target_arg, recover_id, &s);
	if (rep.result >= 0) {
		rep.res.id = rep.result;
		rep.res.server_pid = getpid();
		rep.res.params = *ublkit_server_get_params(s);
	}
	n = write(fd, &rep, sizeof(rep));
	close(fd);
	if (rep.result < 0 || n != (ssize_t)sizeof(rep)) {
		ublkit_server_unref(s);
		_exit(1);
	}
	detach_stdio();
	ublkit_server_serve(s);
	ublkit_server_unref(s);
	_exit(0);
}

UBLKIT_EXPORT int ublkit_server_spawn(struct ublkit_ctx *ctx, const struct ublkit_dev_params *params,
				      const char *target, const char *target_arg, int recover_id,
				      struct ublkit_spawn_result *res)
{
	struct spawn_report rep = { .result = -EPIPE };
	int pfd[2], status;
	pid_t pid;
	ssize_t n;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return neg_errno();
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return neg_errno();
	}
	if (pid == 0) {
		close(pfd[0]);
		child_main(ctx, pfd[1], params, target, target_arg, recover_id);
	}
	close(pfd[1]);
	do
		n = read(pfd[0], &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n != (ssize_t)sizeof(rep) || rep.result < 0) {
		waitpid(pid, &status, 0);
		if (n != (ssize_t)sizeof(rep))
			return log_ret(ctx, -ECHILD, "the server exited during start-up");
		return rep.result;
	}
	if (res)
		*res = rep.res;
	return 0;
}
