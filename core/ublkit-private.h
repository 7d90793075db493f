/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal helpers shared by every file of libublkit. Not installed. */
#ifndef UBLKIT_PRIVATE_H
#define UBLKIT_PRIVATE_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ublkit/ublkit.h"

#define UBLKIT_EXPORT __attribute__((visibility("default")))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* errno as a negative value, never 0 (for calls that forgot to set it). */
static inline int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/*
 * Public structs that callers allocate grow at their end. Each function
 * that takes one gets the caller's sizeof() through a macro in the public
 * header: a caller built against an older libublkit passes a smaller size
 * and gets only the fields it knows; one built against a newer libublkit
 * may pass fields this one does not know only when they are zero.
 */
static inline void struct_out(void *dst, size_t dst_size, const void *src, size_t src_size)
{
	memcpy(dst, src, dst_size < src_size ? dst_size : src_size);
}

static inline int struct_in(void *dst, size_t dst_size, const void *src, size_t src_size)
{
	for (size_t i = dst_size; i < src_size; i++)
		if (((const unsigned char *)src)[i])
			return -E2BIG;
	memcpy(dst, src, dst_size < src_size ? dst_size : src_size);
	return 0;
}

/* logging */
void ublkit_log(struct ublkit_ctx *ctx, int priority, const char *file, int line, const char *fn,
		const char *format, ...) _printf_(6, 7);

#define ublkit_log_cond(ctx, prio, ...)                                                        \
	((void)(ublkit_ctx_get_log_priority(ctx) >= (prio)                                     \
			? ublkit_log(ctx, prio, __FILE__, __LINE__, __func__, __VA_ARGS__)     \
			: (void)0))

#define log_debug(ctx, ...) ublkit_log_cond(ctx, UBLKIT_LOG_DEBUG, __VA_ARGS__)
#define log_info(ctx, ...) ublkit_log_cond(ctx, UBLKIT_LOG_INFO, __VA_ARGS__)
#define log_notice(ctx, ...) ublkit_log_cond(ctx, UBLKIT_LOG_NOTICE, __VA_ARGS__)
#define log_warn(ctx, ...) ublkit_log_cond(ctx, UBLKIT_LOG_WARNING, __VA_ARGS__)
#define log_error(ctx, ...) ublkit_log_cond(ctx, UBLKIT_LOG_ERR, __VA_ARGS__)

/* Log @r (a negative errno) at error priority and return it. */
#define log_ret(ctx, r, fmt, ...)                                                              \
	({                                                                                     \
		int _r = (r);                                                                  \
		log_error(ctx, fmt ": %s", ##__VA_ARGS__, strerror(-_r));                            \
		_r;                                                                            \
	})

/* sysroot-aware file helpers (path.c); @path is as on the running system */
int ublkit_pathf(const struct ublkit_ctx *ctx, char *buf, size_t size, const char *fmt, ...)
	_printf_(4, 5);
int ublkit_open(const struct ublkit_ctx *ctx, const char *path, int flags);
bool ublkit_exists(const struct ublkit_ctx *ctx, const char *path);
/* fopen(path, "re") under the sysroot; -errno on failure. */
int ublkit_fopen(const struct ublkit_ctx *ctx, const char *path, FILE **ret);
int ublkit_fopenf(const struct ublkit_ctx *ctx, FILE **ret, const char *fmt, ...) _printf_(3, 4);
/* Reads a small file, strips the trailing newline. Returns length or -errno. */
int ublkit_read_line(const struct ublkit_ctx *ctx, const char *path, char *buf, size_t size);
int ublkit_read_u64(const struct ublkit_ctx *ctx, const char *path, uint64_t *ret);

/* string helpers (util.c) */
/* Numbers the kernel writes (sysfs, /proc) and the run state: decimal, or
 * hexadecimal after "0x". What a user types goes through ublkit_parse_uint()
 * and ublkit_parse_size() (ublkit.h). */
int ublkit_parse_u64(const char *s, uint64_t *ret);
bool ublkit_streq_module(const char *a, const char *b);
/* Replace @path with @len bytes of @data at once (temporary file + rename). */
int write_file_atomic(const char *path, const char *data, size_t len);
/* Undo the octal escapes (\\040) of /proc/mounts, mountinfo and /proc/swaps, in place. */
void unescape_octal(char *s);

/* kernel modules (kmod.c) */
/* Does a depmod text index (modules.builtin, modules.dep: a module path
 * per line, "kernel/drivers/block/ublk_drv.ko[.xz][: deps]") name module
 * @name ('-' and '_' alike)? 1 yes, 0 no. */
int module_index_find(FILE *f, const char *name);

#endif
