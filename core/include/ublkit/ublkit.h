/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libublkit: context, logging, sysroot and kernel modules.
 *
 * Every function that can fail returns 0 (or a positive value where
 * documented) on success and a negative errno on failure. errno itself is
 * never part of the API. The library never prints: it logs through the
 * context's log function.
 */
#ifndef UBLKIT_UBLKIT_H
#define UBLKIT_UBLKIT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ublkit_ctx;

/* Log priorities, the same numbers as syslog(3). */
enum ublkit_log_priority {
	UBLKIT_LOG_ERR = 3,
	UBLKIT_LOG_WARNING = 4,
	UBLKIT_LOG_NOTICE = 5,
	UBLKIT_LOG_INFO = 6,
	UBLKIT_LOG_DEBUG = 7,
};

typedef void (*ublkit_log_fn)(struct ublkit_ctx *ctx, int priority, const char *file, int line,
			      const char *fn, const char *format, va_list args, void *userdata);

/*
 * Contexts and threads: a context may be shared by threads. Its reference
 * count is atomic and its control commands (ublk.h) go to the kernel one
 * at a time, each under the control timeout, so a thread may wait for
 * another's slow command; a program that wants several in flight at once
 * (a daemon watching udev while it starts servers) uses one context per
 * thread. The log function may be called from any thread that uses the
 * context. Objects made from a context (servers, device views, reports)
 * belong to one thread at a time.
 *
 * Create a context. The environment is read here, once:
 *   UBLKIT_LOG      err|warning|notice|info|debug or a number (default: err)
 *   UBLKIT_SYSROOT  directory that stands in for "/" for /sys, /dev, /proc,
 *                   /etc, /run and /lib/modules (default: none)
 * A new context logs nowhere until ublkit_ctx_set_log_fn() is called.
 * Fails (-ENOENT, -ENOTDIR, ...) when UBLKIT_SYSROOT names a directory
 * that cannot be used: it never falls back to the real root.
 */
int ublkit_ctx_new(struct ublkit_ctx **ret);
struct ublkit_ctx *ublkit_ctx_ref(struct ublkit_ctx *ctx);
/* Drops a reference; takes NULL; always returns NULL. */
struct ublkit_ctx *ublkit_ctx_unref(struct ublkit_ctx *ctx);

void ublkit_ctx_set_log_fn(struct ublkit_ctx *ctx, ublkit_log_fn fn, void *userdata);
int ublkit_ctx_get_log_priority(const struct ublkit_ctx *ctx);
void ublkit_ctx_set_log_priority(struct ublkit_ctx *ctx, int priority);
/* Parses "err", "warning", "info", "debug", ... or a number 0-7. */
int ublkit_log_priority_from_string(const char *s);

/* NULL or "/" means the real root. The directory must exist. */
int ublkit_ctx_set_sysroot(struct ublkit_ctx *ctx, const char *dir);
/* The sysroot, or NULL when the real root is used. */
const char *ublkit_ctx_get_sysroot(const struct ublkit_ctx *ctx);
/* True when a sysroot is set: functions that need the running kernel
 * (io_uring, module insertion) then refuse with -EXDEV. */
bool ublkit_ctx_is_sysroot(const struct ublkit_ctx *ctx);

/*
 * Write the path of @path (absolute, as on the running system) under the
 * context's sysroot into @buf. Returns the length, or -ENAMETOOLONG.
 */
int ublkit_ctx_path(const struct ublkit_ctx *ctx, const char *path, char *buf, size_t size);

const char *ublkit_version(void);

/* ---- what a user types --------------------------------------------------- */

/*
 * A count or an id: decimal digits only (no sign, no space, no "0x"), from
 * @min to @max. -EINVAL for anything else, -ERANGE beyond UINT64_MAX or
 * outside @min..@max. Nothing is logged; *@ret is set only on success.
 */
int ublkit_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/*
 * A size in bytes, as util-linux takes it: decimal digits, optionally a
 * fraction after a '.', optionally a suffix: K, M, G, T, P, E (either
 * case) alone or with "iB" are powers of 1024 ("1.5G", "4KiB"), with "B"
 * powers of 1000 ("1KB" is 1000). No suffix is bytes. The arithmetic is
 * exact; a value that is no whole number of bytes ("1.5", "1.1K") is
 * refused with -EDOM rather than rounded, as is a fraction with more than
 * 19 significant digits. -ERANGE beyond UINT64_MAX; -EINVAL for anything
 * else: a sign, a space, "0x", ".5K" or "1.K" (a digit on both sides of
 * the point), an unknown suffix. Nothing is logged.
 */
int ublkit_parse_size(const char *s, uint64_t *ret);

/* ---- kernel modules (through libkmod) ------------------------------- */

enum ublkit_kmod_state {
	UBLKIT_KMOD_MISSING = 0,	/* not built in, not in the module tree */
	UBLKIT_KMOD_AVAILABLE = 1,	/* in the module tree, not loaded */
	UBLKIT_KMOD_LOADED = 2,		/* loaded as a module */
	UBLKIT_KMOD_BUILTIN = 3,	/* compiled into the kernel */
};

/* Kernel release as seen through the sysroot (/proc/sys/kernel/osrelease). */
int ublkit_kernel_release(struct ublkit_ctx *ctx, char *buf, size_t size);

/* The longest module name the kernel takes (MODULE_NAME_LEN - 1). */
#define UBLKIT_KMOD_NAME_MAX 55

/*
 * Whether @name can be a module name: 1 to UBLKIT_KMOD_NAME_MAX letters,
 * digits, '_' and '-' (the two are the same to the kernel), not starting
 * with '-' (it would read as an option to modprobe). 0, or -EINVAL
 * with a logged message that says what is allowed. Every ublkit_kmod_*()
 * function checks its name this way before it looks for the module.
 */
int ublkit_kmod_name_check(struct ublkit_ctx *ctx, const char *name);

/* State of one module; @name may use '-' or '_'. Returns a state or -errno. */
int ublkit_kmod_state(struct ublkit_ctx *ctx, const char *name);
/* True when modprobe configuration blacklists @name or disables it with
 * "install NAME /bin/false" (or /bin/true). */
bool ublkit_kmod_is_blacklisted(struct ublkit_ctx *ctx, const char *name);

/* Do not refuse a blacklisted module. */
#define UBLKIT_KMOD_IGNORE_BLACKLIST (1u << 0)

/*
 * Load @name and its dependencies. Returns:
 *   UBLKIT_KMOD_LOADED   it is loaded now (by this call or before)
 *   UBLKIT_KMOD_BUILTIN  nothing to load
 *   -ENOENT              the kernel has no such module
 *   -ECANCELED           modprobe configuration blacklists or disables it
 *   -EPERM               not allowed to load modules (CAP_SYS_MODULE,
 *                        kernel.modules_disabled, a container)
 *   -EXDEV               a sysroot is set
 *   other -errno         insertion failed (see the log)
 */
int ublkit_kmod_load(struct ublkit_ctx *ctx, const char *name, unsigned int flags);

#ifdef __cplusplus
}
#endif
#endif
