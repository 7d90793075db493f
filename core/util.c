/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Small string helpers, the one set of number parsers (what a user types:
 * counts, ids, sizes; and what the kernel writes), and the atomic file
 * write behind the run state.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "ublkit-private.h"
#include "ublkit/ublk.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Decimal digits at *@s, up to the first non-digit. */
static int parse_digits(const char **s, uint64_t *ret)
{
	uint64_t v = 0;

	if (!is_digit(**s))
		return -EINVAL;
	for (; is_digit(**s); (*s)++) {
		unsigned int d = (unsigned int)(**s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

UBLKIT_EXPORT int ublkit_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	uint64_t v;
	int r;

	if (!s || !ret)
		return -EINVAL;
	r = parse_digits(&s, &v);
	if (r < 0)
		return r;
	if (*s)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

static int hex_digit(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_hex(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	int d;

	if (hex_digit(*s) < 0)
		return -EINVAL;
	for (; (d = hex_digit(*s)) >= 0; s++) {
		if (v >> 60)
			return -ERANGE;
		v = v << 4 | (uint64_t)d;
	}
	if (*s)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Numbers the kernel writes in sysfs and /proc, and ublkit in its run
 * state: decimal, or hexadecimal after "0x". */
int ublkit_parse_u64(const char *s, uint64_t *ret)
{
	if (s && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return parse_hex(s + 2, ret);
	return ublkit_parse_uint(s, 0, UINT64_MAX, ret);
}

/*
 * The multiplier a size suffix stands for: K, M, G, T, P or E (either
 * case) alone or followed by "iB" is a power of 1024, followed by "B" a
 * power of 1000; no suffix is 1. 0: @s is not a suffix.
 */
static uint64_t size_multiplier(const char *s)
{
	static const char letters[] = "KMGTPE";
	char c = s[0] >= 'a' && s[0] <= 'z' ? (char)(s[0] - 'a' + 'A') : s[0];
	const char *l = c ? strchr(letters, c) : NULL;
	uint64_t m = 1, base;

	if (!*s)
		return 1;
	if (!l)
		return 0;
	if (!s[1] || !strcmp(s + 1, "iB"))
		base = 1024;
	else if (!strcmp(s + 1, "B"))
		base = 1000;
	else
		return 0;
	for (const char *x = letters; x <= l; x++)
		m *= base;
	return m;
}

#define FRACTION_DIGITS_MAX 19	/* 10^19 still fits a uint64_t */

/*
 * The digits after a decimal point, at *@s, without trailing zeros (they
 * change nothing): their value and their count.
 */
static int parse_fraction(const char **s, uint64_t *frac, unsigned int *n)
{
	const char *start = *s, *end;

	if (!is_digit(*start))
		return -EINVAL;
	for (end = start; is_digit(*end); end++)
		;
	*s = end;
	while (end > start && end[-1] == '0')
		end--;
	if (end - start > FRACTION_DIGITS_MAX)
		return -EDOM;
	*frac = 0;
	*n = (unsigned int)(end - start);
	for (const char *c = start; c < end; c++)
		*frac = *frac * 10 + (uint64_t)(*c - '0');
	return 0;
}

/* @frac / 10^@n of @mult, exactly; -EDOM when that is no whole number. */
static int scale_fraction(uint64_t frac, unsigned int n, uint64_t mult, uint64_t *ret)
{
	unsigned __int128 v = (unsigned __int128)frac * mult;
	uint64_t div = 1;

	while (n--)
		div *= 10;
	if (v % div)
		return -EDOM;
	*ret = (uint64_t)(v / div);
	return 0;
}

UBLKIT_EXPORT int ublkit_parse_size(const char *s, uint64_t *ret)
{
	uint64_t whole, frac = 0, mult, part = 0;
	unsigned int n = 0;
	int r;

	if (!s || !ret)
		return -EINVAL;
	r = parse_digits(&s, &whole);
	if (r < 0)
		return r;
	if (*s == '.') {
		s++;
		r = parse_fraction(&s, &frac, &n);
		if (r < 0)
			return r;
	}
	mult = size_multiplier(s);
	if (!mult)
		return -EINVAL;
	r = scale_fraction(frac, n, mult, &part);
	if (r < 0)
		return r;
	if (whole > UINT64_MAX / mult || whole * mult > UINT64_MAX - part)
		return -ERANGE;
	*ret = whole * mult + part;
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

UBLKIT_EXPORT int ublkit_parse_dev_id(const char *s, uint32_t *id)
{
	static const char *const prefixes[] = { "/dev/ublkb", "/dev/ublkc", "ublkb", "ublkc",
						"ublk" };
	uint64_t v;
	int r;

	if (!s || !id)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		size_t n = strlen(prefixes[i]);

		if (!strncmp(s, prefixes[i], n)) {
			s += n;
			break;
		}
	}
	r = ublkit_parse_uint(s, 0, UBLKIT_DEV_ID_MAX, &v);
	if (r < 0)
		return r;
	*id = (uint32_t)v;
	return 0;
}

/* Readers never see half a file: a temporary file, synced, renamed over @path. */
int write_file_atomic(const char *path, const char *data, size_t len)
{
	char tmp[4200];
	_cleanup_close_ int fd = -1;
	ssize_t w;
	int r;

	r = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (r < 0 || (size_t)r >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return neg_errno();
	w = write(fd, data, len);
	if (w >= 0 && (size_t)w < len)
		errno = ENOSPC;	/* a short write to a regular file: the file system is full */
	if (w != (ssize_t)len || fsync(fd) < 0 || rename(tmp, path) < 0) {
		r = neg_errno();
		unlink(tmp);
		return r;
	}
	return 0;
}
