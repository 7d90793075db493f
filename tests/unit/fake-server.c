/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A stand-in for ublkit-server in the spawn tests: it answers on the
 * report socket the way the real one does, as FAKE_SERVER tells it:
 * "ok" (device 7 is live, the parameters it was given), "fail" (-EIO and
 * a message), "silent" (exits without a word) or "flusher" (like "ok"
 * when it started as an IO_FLUSHER, else -EPERM).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "manifest-private.h"
#include "spawn-private.h"
#include "swap-private.h"

int main(int argc, char **argv)
{
	const char *mode = getenv("FAKE_SERVER");
	struct spawn_report rep = { 0 };
	struct ublkit_manifest m;
	int i;

	manifest_init(&m);
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		;
	for (i++; i < argc; i++)
		manifest_parse_kv(&m, argv[i]);
	if (!mode || strcmp(mode, "silent") == 0)
		return 1;
	if (strcmp(mode, "fail") == 0) {
		rep.result = -EIO;
		snprintf(rep.error, sizeof(rep.error), "target %s: it broke", m.target);
	} else if (strcmp(mode, "flusher") == 0 && prctl(PR_GET_IO_FLUSHER, 0, 0, 0, 0) != 1) {
		rep.result = -EPERM;
		snprintf(rep.error, sizeof(rep.error), "not an IO_FLUSHER at start");
	} else {
		rep.result = 7;
		rep.server_pid = getpid();
		rep.params = m.params;
	}
	if (send(SPAWN_REPORT_FD, &rep, sizeof(rep), MSG_NOSIGNAL) != (ssize_t)sizeof(rep))
		return 1;
	return 0;
}
