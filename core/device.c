/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whole-device operations built on the control plane: liveness, removal. */
#include "config.h"

#include <signal.h>
#include <time.h>

#include "ublkit-private.h"
#include "server-private.h"

UBLKIT_EXPORT bool ublkit_pid_alive(struct ublkit_ctx *ctx, int32_t pid)
{
	char p[64], buf[512], *rp;

	if (pid <= 0)
		return false;
	snprintf(p, sizeof(p), "/proc/%d/stat", pid);
	if (ublkit_read_line(ctx, p, buf, sizeof(buf)) < 0)
		return false;
	/* state follows the last ')' (comm may contain anything) */
	rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

/* Start time of a process in clock ticks since boot (field 22 of stat), 0 if unknown. */
uint64_t proc_start_time(struct ublkit_ctx *ctx, int32_t pid)
{
	char p[64], buf[1024], *rp;
	unsigned long long start = 0;

	snprintf(p, sizeof(p), "/proc/%d/stat", pid);
	if (ublkit_read_line(ctx, p, buf, sizeof(buf)) < 0)
		return 0;
	rp = strrchr(buf, ')');
	/* after ") ": state(3) ... starttime is the 20th field from there */
	if (!rp || sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
				 "%*d %*d %*d %*d %llu", &start) != 1)
		return 0;
	return start;
}

bool target_survives_server(const char *target)
{
	return strcmp(target, "mem") != 0;
}

static bool dev_exists(struct ublkit_ctx *ctx, uint32_t id)
{
	char p[64];

	snprintf(p, sizeof(p), "/sys/class/ublk-char/ublkc%u", id);
	return ublkit_exists(ctx, p);
}

static bool wait_gone(struct ublkit_ctx *ctx, uint32_t id, unsigned int timeout_ms)
{
	for (unsigned int waited = 0; waited <= timeout_ms; waited += 20) {
		if (!dev_exists(ctx, id))
			return true;
		usleep(20000);
	}
	return false;
}

int ublk_stop_delete(struct ublkit_ctx *ctx, uint32_t id)
{
	int r;

	r = ublkit_ublk_stop(ctx, id);
	if (r < 0 && r != -ENODEV)
		log_debug(ctx, "ublk%u: STOP_DEV: %s", id, strerror(-r));
	r = ublkit_ublk_del(ctx, id);
	if (r < 0 && r != -ENODEV)
		return log_ret(ctx, r, "ublk%u: DEL_DEV", id);
	manifest_remove(ctx, id);
	return 0;
}

UBLKIT_EXPORT int ublkit_ublk_remove(struct ublkit_ctx *ctx, uint32_t id, unsigned int timeout_ms)
{
	struct ublkit_manifest m;
	struct ublkit_orphan o;
	int r;

	r = orphan_check(ctx, id, &o, &m);
	if (r < 0)
		return r;
	/* Our own server, alive: let it drain and delete its device itself. */
	if (o.reason == UBLKIT_ORPHAN_NOT && o.has_manifest && m.server_pid == o.server_pid) {
		log_debug(ctx, "ublk%u: asking server %d to stop", id, o.server_pid);
		/* A stopped (SIGSTOP) server must run to drain: continue it. */
		if (kill(o.server_pid, SIGTERM) == 0 && kill(o.server_pid, SIGCONT) == 0 &&
		    wait_gone(ctx, id, timeout_ms))
			return 0;
		log_warn(ctx, "ublk%u: server %d did not stop in %u ms; deleting directly", id,
			 o.server_pid, timeout_ms);
	}
	return ublk_stop_delete(ctx, id);
}
