/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The start-up protocol between ublkit_server_spawn() (spawn.c) and the
 * ublkit-server program (server-main.c). Both are built from this tree,
 * so the report is a plain struct on a SOCK_SEQPACKET socket: one
 * message, with the server's pidfd attached (SCM_RIGHTS) on success.
 */
#ifndef UBLKIT_SPAWN_PRIVATE_H
#define UBLKIT_SPAWN_PRIVATE_H

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
/* Log each line of @errors (spawn_errors_add()'s) as an error of @ctx. */
void spawn_errors_log(struct ublkit_ctx *ctx, const char *errors);

#endif
