/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small string helpers. */
#include "config.h"

#include <ctype.h>

#include "ublkit-private.h"

int ublkit_parse_u64(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -errno;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Module names compare with '-' and '_' as the same character. */
bool ublkit_streq_module(const char *a, const char *b)
{
	for (;; a++, b++) {
		char x = *a == '-' ? '_' : *a;
		char y = *b == '-' ? '_' : *b;

		if (x != y)
			return false;
		if (!x)
			return true;
	}
}
