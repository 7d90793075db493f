/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The library context: reference counting, log settings, sysroot. */
#include "config.h"

#include <limits.h>
#include <sys/stat.h>

#include "ublkit-private.h"
#include "ctx-private.h"
#include "ublk-private.h"

static int ctx_read_env(struct ublkit_ctx *ctx)
{
	const char *s;

	s = secure_getenv("UBLKIT_LOG");
	if (s) {
		int prio = ublkit_log_priority_from_string(s);

		if (prio >= 0)
			ctx->log_priority = prio;
	}
	/* A sysroot that cannot be used must not turn into the host's root. */
	s = secure_getenv("UBLKIT_SYSROOT");
	if (s && *s)
		return ublkit_ctx_set_sysroot(ctx, s);
	return 0;
}

static void ctx_init_lock(struct ublkit_ctx *ctx)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&ctx->ctrl_lock, &a);
	pthread_mutexattr_destroy(&a);
}

UBLKIT_EXPORT int ublkit_ctx_new(struct ublkit_ctx **ret)
{
	struct ublkit_ctx *ctx;
	int r;

	if (!ret)
		return -EINVAL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->refcount = 1;
	ctx->log_priority = UBLKIT_LOG_ERR;
	ctx_init_lock(ctx);
	ctx->ctrl_timeout_ms = UBLKIT_DEFAULT_CTRL_TIMEOUT_MS;
	r = ctx_read_env(ctx);
	if (r < 0) {
		ublkit_ctx_unref(ctx);
		return r;
	}
	*ret = ctx;
	return 0;
}

UBLKIT_EXPORT struct ublkit_ctx *ublkit_ctx_ref(struct ublkit_ctx *ctx)
{
	if (ctx)
		__atomic_add_fetch(&ctx->refcount, 1, __ATOMIC_RELAXED);
	return ctx;
}

UBLKIT_EXPORT struct ublkit_ctx *ublkit_ctx_unref(struct ublkit_ctx *ctx)
{
	if (!ctx || __atomic_sub_fetch(&ctx->refcount, 1, __ATOMIC_ACQ_REL) > 0)
		return NULL;
	ublk_ctrl_free(ctx->ctrl);
	pthread_mutex_destroy(&ctx->ctrl_lock);
	free(ctx->sysroot);
	free(ctx);
	return NULL;
}

UBLKIT_EXPORT void ublkit_ctx_set_log_fn(struct ublkit_ctx *ctx, ublkit_log_fn fn, void *userdata)
{
	ctx->log_fn = fn;
	ctx->log_data = userdata;
}

UBLKIT_EXPORT int ublkit_ctx_get_log_priority(const struct ublkit_ctx *ctx)
{
	return ctx->log_priority;
}

UBLKIT_EXPORT void ublkit_ctx_set_log_priority(struct ublkit_ctx *ctx, int priority)
{
	ctx->log_priority = priority;
}

UBLKIT_EXPORT int ublkit_ctx_set_sysroot(struct ublkit_ctx *ctx, const char *dir)
{
	char resolved[PATH_MAX];
	struct stat st;
	char *copy;

	if (!dir || !*dir || strcmp(dir, "/") == 0) {
		free(ctx->sysroot);
		ctx->sysroot = NULL;
		return 0;
	}
	if (!realpath(dir, resolved))
		return neg_errno();
	if (stat(resolved, &st) < 0)
		return neg_errno();
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (strcmp(resolved, "/") == 0)
		return ublkit_ctx_set_sysroot(ctx, NULL);
	copy = strdup(resolved);
	if (!copy)
		return -ENOMEM;
	free(ctx->sysroot);
	ctx->sysroot = copy;
	return 0;
}

UBLKIT_EXPORT const char *ublkit_ctx_get_sysroot(const struct ublkit_ctx *ctx)
{
	return ctx->sysroot;
}

UBLKIT_EXPORT bool ublkit_ctx_is_sysroot(const struct ublkit_ctx *ctx)
{
	return ctx->sysroot != NULL;
}

UBLKIT_EXPORT const char *ublkit_version(void)
{
	return PACKAGE_VERSION;
}
