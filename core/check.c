/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Doctor-style checks, reported one at a time (check-private.h). */
#include "config.h"

#include <stdarg.h>

#include "ublkit-private.h"
#include "check-private.h"

void check_emit(struct check_sink *s, const char *name, int level, const char *fix,
		const char *fmt, ...)
{
	struct ublkit_check c = { .name = name, .level = level };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c.message, sizeof(c.message), fmt, ap);
	va_end(ap);
	if (fix && level != UBLKIT_CHECK_OK)
		snprintf(c.fix, sizeof(c.fix), "%s", fix);
	if (level > s->worst)
		s->worst = level;
	if (s->fn)
		s->fn(&c, s->userdata);
}
