/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Facts about processes: alive, start time, memory. */
#include "config.h"

#include "ublkit-private.h"
#include "proc-private.h"
#include "ublkit/ublk.h"

/* The text of /proc/PID/stat after the command name, which may hold
 * anything, including ") ". */
int proc_stat_fields(const char *line, const char **fields)
{
	const char *rp = strrchr(line, ')');

	if (!rp || rp[1] != ' ' || !rp[2])
		return -EBADMSG;
	*fields = rp + 2;
	return 0;
}

static int stat_fields(struct ublkit_ctx *ctx, int32_t pid, char *buf, size_t size,
		       const char **fields)
{
	char p[64];
	int r;

	if (pid <= 0)
		return -ESRCH;
	snprintf(p, sizeof(p), "/proc/%d/stat", pid);
	r = ublkit_read_line(ctx, p, buf, size);
	if (r < 0)
		return r;
	return proc_stat_fields(buf, fields);
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

uint64_t proc_stat_start_time(const char *fields)
{
	unsigned long long start = 0;

	/* state(3) ... starttime(22): the 20th field from here */
	if (sscanf(fields, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
			   "%*d %*d %*d %*d %llu", &start) != 1)
		return 0;
	return start;
}

uint64_t proc_start_time(struct ublkit_ctx *ctx, int32_t pid)
{
	const char *f;
	char buf[1024];

	if (stat_fields(ctx, pid, buf, sizeof(buf), &f) < 0)
		return 0;
	return proc_stat_start_time(f);
}

static bool status_kb(const char *line, const char *key, uint64_t *bytes)
{
	size_t n = strlen(key);
	unsigned long long v;

	if (strncmp(line, key, n) != 0 || line[n] != ':')
		return false;
	if (sscanf(line + n + 1, " %llu", &v) != 1)
		return false;
	*bytes = (uint64_t)v << 10;
	return true;
}

int proc_status_read(struct ublkit_ctx *ctx, const char *pid, struct proc_status *st)
{
	_cleanup_fclose_ FILE *f = NULL;
	int r;

	memset(st, 0, sizeof(*st));
	r = ublkit_fopenf(ctx, &f, "/proc/%s/status", pid);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	proc_status_parse(f, st);
	return 0;
}

void proc_status_parse(FILE *f, struct proc_status *st)
{
	char line[256];

	memset(st, 0, sizeof(*st));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long cap;

		if (status_kb(line, "VmRSS", &st->vm_rss))
			st->have_vm = true;
		else if (status_kb(line, "VmLck", &st->vm_lck) ||
			 status_kb(line, "VmSwap", &st->vm_swap))
			continue;
		else if (sscanf(line, "CapEff: %llx", &cap) == 1) {
			st->cap_eff = cap;
			st->have_cap = true;
		}
	}
}

bool caps_have(const struct proc_status *st, int bit)
{
	return st->have_cap && (st->cap_eff & (1ULL << bit));
}

int proc_stat_flags(const char *line, uint64_t *flags)
{
	/* comm may hold spaces and parentheses: fields restart after the last ')' */
	const char *s = strrchr(line, ')');
	unsigned long long v;

	if (!s)
		return -EINVAL;
	/* after ')': state(3) ppid pgrp session tty_nr tpgid flags(9) */
	if (sscanf(s + 1, " %*c %*d %*d %*d %*d %*d %llu", &v) != 1)
		return -EINVAL;
	*flags = v;
	return 0;
}

int proc_memlock_limit(struct ublkit_ctx *ctx, uint64_t *bytes)
{
	_cleanup_fclose_ FILE *f = NULL;
	int r;

	r = ublkit_fopen(ctx, "/proc/self/limits", &f);
	if (r < 0)
		return r;
	return proc_limits_memlock(f, bytes);
}

int proc_limits_memlock(FILE *f, uint64_t *bytes)
{
	char line[256];

	while (fgets(line, sizeof(line), f)) {
		char soft[32];

		if (strncmp(line, "Max locked memory", 17) != 0)
			continue;
		if (sscanf(line + 17, " %31s", soft) != 1)
			return -EINVAL;
		if (strcmp(soft, "unlimited") == 0) {
			*bytes = UINT64_MAX;
			return 0;
		}
		return ublkit_parse_u64(soft, bytes);
	}
	return -ENODATA;
}

int proc_meminfo_read(struct ublkit_ctx *ctx, struct meminfo *m)
{
	_cleanup_fclose_ FILE *f = NULL;
	int r;

	memset(m, 0, sizeof(*m));
	r = ublkit_fopen(ctx, "/proc/meminfo", &f);
	if (r < 0)
		return r;
	return proc_meminfo_parse(f, m);
}

int proc_meminfo_parse(FILE *f, struct meminfo *m)
{
	uint64_t free_kb = 0, cached_kb = 0, buffers_kb = 0;
	bool have_avail = false, have_total = false;
	char line[256];

	memset(m, 0, sizeof(*m));
	while (fgets(line, sizeof(line), f)) {
		char key[64];
		unsigned long long v;

		if (sscanf(line, "%63[^:]: %llu", key, &v) != 2)
			continue;
		if (strcmp(key, "MemTotal") == 0) {
			m->mem_total = (uint64_t)v << 10;
			have_total = true;
		} else if (strcmp(key, "MemAvailable") == 0) {
			m->mem_available = (uint64_t)v << 10;
			have_avail = true;
		} else if (strcmp(key, "MemFree") == 0) {
			free_kb = v;
		} else if (strcmp(key, "Cached") == 0) {
			cached_kb = v;
		} else if (strcmp(key, "Buffers") == 0) {
			buffers_kb = v;
		}
	}
	if (!have_total)
		return -ENODATA;
	/* kernels before 3.14 have no MemAvailable */
	if (!have_avail)
		m->mem_available = (free_kb + cached_kb + buffers_kb) << 10;
	return 0;
}
