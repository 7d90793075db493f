/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Logging: the library hands messages to the caller's log function. */
#include "config.h"

#include <strings.h>

#include "ublkit-private.h"
#include "ctx-private.h"

static const char *const prio_names[] = {
	[0] = "emerg", [1] = "alert", [2] = "crit", [3] = "err",
	[4] = "warning", [5] = "notice", [6] = "info", [7] = "debug",
};

UBLKIT_EXPORT int ublkit_log_priority_from_string(const char *s)
{
	uint64_t v;
	int r;

	if (!s || !*s)
		return -EINVAL;
	r = ublkit_parse_uint(s, 0, 7, &v);
	if (r != -EINVAL)
		return r < 0 ? r : (int)v;
	for (size_t i = 0; i < ARRAY_SIZE(prio_names); i++)
		if (strcasecmp(s, prio_names[i]) == 0)
			return (int)i;
	if (strcasecmp(s, "error") == 0)
		return UBLKIT_LOG_ERR;
	if (strcasecmp(s, "warn") == 0)
		return UBLKIT_LOG_WARNING;
	return -EINVAL;
}

void ublkit_log(struct ublkit_ctx *ctx, int priority, const char *file, int line, const char *fn,
		const char *format, ...)
{
	va_list args;

	if (!ctx->log_fn)
		return;
	va_start(args, format);
	ctx->log_fn(ctx, priority, file, line, fn, format, args, ctx->log_data);
	va_end(args);
}
