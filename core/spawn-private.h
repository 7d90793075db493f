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

struct spawn_report {
	int result;			/* device id, or -errno */
	int32_t server_pid;
	struct ublkit_dev_params params;	/* as the server completed them */
	char error[512];		/* the server's last error message, if any */
};

#endif
