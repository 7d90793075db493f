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

/* Fractions of a unit: "1.5G". More digits than this add nothing measurable. */
#define SIZE_FRACTION_DIGITS 12

static unsigned int size_shift(char unit)
{
	switch (unit) {
	case 'k': case 'K': return 10;
	case 'm': case 'M': return 20;
	case 'g': case 'G': return 30;
	case 't': case 'T': return 40;
	case 'p': case 'P': return 50;
	default: return 0;
	}
}

int ublkit_parse_size(const char *s, uint64_t *ret)
{
	uint64_t whole = 0, frac = 0, scale = 1, part;
	unsigned int shift = 0, digits = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		if (whole > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		whole = whole * 10 + (uint64_t)(*s - '0');
	}
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		for (; isdigit((unsigned char)*s); s++, digits++) {
			if (digits >= SIZE_FRACTION_DIGITS)
				continue;
			frac = frac * 10 + (uint64_t)(*s - '0');
			scale *= 10;
		}
	}
	if (*s) {
		shift = size_shift(*s);
		if (!shift)
			return -EINVAL;
		s++;
		if (*s && strcmp(s, "iB") != 0 && strcmp(s, "B") != 0)
			return -EINVAL;
	}
	/* a fraction of a byte is a typo, not a size */
	if (scale > 1 && !shift)
		return -EINVAL;
	if (whole > (UINT64_MAX >> shift))
		return -ERANGE;
	part = (uint64_t)(((unsigned __int128)frac << shift) / scale);
	if ((whole << shift) > UINT64_MAX - part)
		return -ERANGE;
	*ret = (whole << shift) + part;
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

/* Undo the octal escapes (\\040 for a space) of /proc/mounts, mountinfo
 * and /proc/swaps, in place. */
void unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}
