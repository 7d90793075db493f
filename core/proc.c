/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Facts about processes: alive, start time, memory. */
#include "config.h"

#include "ublkit-private.h"
#include "proc-private.h"
#include "ublkit/ublk.h"

/* The text of /proc/PID/stat after the command name, which may hold
 * anything, including ") ". */
static int stat_fields(struct ublkit_ctx *ctx, int32_t pid, char *buf, size_t size,
		       const char **fields)
{
	char p[64], *rp;
	int r;

	if (pid <= 0)
		return -ESRCH;
	snprintf(p, sizeof(p), "/proc/%d/stat", pid);
	r = ublkit_read_line(ctx, p, buf, size);
	if (r < 0)
		return r;
	rp = strrchr(buf, ')');
	if (!rp || rp[1] != ' ' || !rp[2])
		return -EBADMSG;
	*fields = rp + 2;
	return 0;
}

char proc_state(struct ublkit_ctx *ctx, int32_t pid)
{
	const char *f;
	char buf[1024];

	return stat_fields(ctx, pid, buf, sizeof(buf), &f) < 0 ? 0 : f[0];
}

UBLKIT_EXPORT bool ublkit_pid_alive(struct ublkit_ctx *ctx, int32_t pid)
{
	char s = proc_state(ctx, pid);

	return s && s != 'Z' && s != 'X';
}

uint64_t proc_start_time(struct ublkit_ctx *ctx, int32_t pid)
{
	unsigned long long start = 0;
	const char *f;
	char buf[1024];

	if (stat_fields(ctx, pid, buf, sizeof(buf), &f) < 0)
		return 0;
	/* state(3) ... starttime(22): the 20th field from here */
	if (sscanf(f, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
		      "%*d %*d %*d %*d %llu", &start) != 1)
		return 0;
	return start;
}

int proc_memory(struct ublkit_ctx *ctx, int32_t pid, struct proc_memory *m)
{
	_cleanup_fclose_ FILE *f = NULL;
	unsigned long long kb;
	char p[4096], line[256];
	int r;

	memset(m, 0, sizeof(*m));
	if (pid <= 0)
		return -ESRCH;
	r = ublkit_pathf(ctx, p, sizeof(p), "/proc/%d/status", pid);
	if (r < 0)
		return r;
	f = fopen(p, "re");
	if (!f)
		return neg_errno();
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			m->rss = kb << 10;
		else if (sscanf(line, "VmLck: %llu kB", &kb) == 1)
			m->locked = kb << 10;
		else if (sscanf(line, "VmSwap: %llu kB", &kb) == 1)
			m->swapped = kb << 10;
	}
	return 0;
}
