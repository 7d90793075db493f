/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The start-up protocol between ublkit_server_spawn() (spawn.c) and the
 * ublkit-server program (server-main.c). Both are built from this tree,
 * so the report is a plain struct on a SOCK_SEQPACKET socket: one
 * message, with the server's pidfd attached (SCM_RIGHTS) on success.
 */
#ifndef UBLKIT_SPAWN_PRIVATE_H
#define UBLKIT_SPAWN_PRIVATE_H

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ublkit/ublk.h"

/* The report socket's descriptor number in the server. */
#define SPAWN_REPORT_FD 3

/* The server program's path; UBLKIT_SERVER overrides it (tests). */
#define SPAWN_SERVER_PATH LIBEXECDIR "/ublkit/ublkit-server"

/* Room for every error line a refusing server logs: a hardening refusal
 * alone names each guarantee that is not held, with its fix. */
#define SPAWN_ERRORS_MAX 8192

struct spawn_report {
	int result;			/* device id, or -errno */
	int32_t server_pid;
	struct ublkit_dev_params params;	/* as the server completed them */
	char error[SPAWN_ERRORS_MAX];	/* the server's error lines, in order, '\n' after each */
};

/*
 * Add @line (one error message) to the lines in @buf (@size bytes, a
 * string). Lines that no longer fit are dropped, and the last one that
 * fits says so ("..."): what comes first is the cause.
 */
void spawn_errors_add(char *buf, size_t size, const char *line);
/*
 * @path as the server will see it: a server works in /, so a relative
 * path becomes absolute against the caller's working directory. Written
 * to @buf; -ENAMETOOLONG when it does not fit, or getcwd()'s error.
 */
static inline int spawn_path_absolute(const char *path, char *buf, size_t size)
{
	char cwd[PATH_MAX];
	int n;

	if (path[0] == '/')
		n = snprintf(buf, size, "%s", path);
	else if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	else
		n = snprintf(buf, size, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", path);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Log each line of @errors (spawn_errors_add()'s) as an error of @ctx. */
void spawn_errors_log(struct ublkit_ctx *ctx, const char *errors);

#endif
