/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sysroot-aware file access. Every /sys, /dev, /proc, /etc, /run and
 * /lib/modules path the library touches goes through here, so the unit
 * tests can run against captured trees without root.
 */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "ublkit-private.h"
#include "ctx-private.h"

UBLKIT_EXPORT int ublkit_ctx_path(const struct ublkit_ctx *ctx, const char *path, char *buf,
				  size_t size)
{
	int n;

	if (!path || path[0] != '/')
		return -EINVAL;
	n = snprintf(buf, size, "%s%s", ctx->sysroot ? ctx->sysroot : "", path);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return n;
}

int ublkit_pathf(const struct ublkit_ctx *ctx, char *buf, size_t size, const char *fmt, ...)
{
	char rel[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(rel))
		return -ENAMETOOLONG;
	return ublkit_ctx_path(ctx, rel, buf, size);
}

int ublkit_open(const struct ublkit_ctx *ctx, const char *path, int flags)
{
	char p[4096];
	int r, fd;

	r = ublkit_ctx_path(ctx, path, p, sizeof(p));
	if (r < 0)
		return r;
	fd = open(p, flags | O_CLOEXEC);
	return fd < 0 ? neg_errno() : fd;
}

int ublkit_fopen(const struct ublkit_ctx *ctx, const char *path, FILE **ret)
{
	char p[4096];
	int r;

	r = ublkit_ctx_path(ctx, path, p, sizeof(p));
	if (r < 0)
		return r;
	*ret = fopen(p, "re");
	return *ret ? 0 : neg_errno();
}

int ublkit_fopenf(const struct ublkit_ctx *ctx, FILE **ret, const char *fmt, ...)
{
	char rel[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(rel))
		return -ENAMETOOLONG;
	return ublkit_fopen(ctx, rel, ret);
}

bool ublkit_exists(const struct ublkit_ctx *ctx, const char *path)
{
	char p[4096];

	if (ublkit_ctx_path(ctx, path, p, sizeof(p)) < 0)
		return false;
	return access(p, F_OK) == 0;
}

int ublkit_read_line(const struct ublkit_ctx *ctx, const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = -1;
	ssize_t n;

	if (size == 0)
		return -EINVAL;
	fd = ublkit_open(ctx, path, O_RDONLY);
	if (fd < 0)
		return fd;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return neg_errno();
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return (int)n;
}

int ublkit_read_u64(const struct ublkit_ctx *ctx, const char *path, uint64_t *ret)
{
	char buf[64];
	int r;

	r = ublkit_read_line(ctx, path, buf, sizeof(buf));
	if (r < 0)
		return r;
	return ublkit_parse_u64(buf, ret);
}
