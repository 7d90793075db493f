/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where doctor-style checks go (doctor.c, and the swap preflight in harden.c). */
#ifndef UBLKIT_CHECK_PRIVATE_H
#define UBLKIT_CHECK_PRIVATE_H

#include "ublkit/doctor.h"

struct check_sink {
	ublkit_check_fn fn;
	void *userdata;
	int worst;		/* the worst level reported so far */
};

/* Report one check: its message, and @fix when the level is not OK. */
void check_emit(struct check_sink *s, const char *name, int level, const char *fix,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
