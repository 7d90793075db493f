/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Numbers and sizes as users and sysfs write them: ublkit_parse_u64()
 * (sysfs attributes, the manifest, limits), ublkit_parse_uint() (ids and
 * counts a user types), ublkit_parse_dev_id() ("3", "ublk3",
 * "/dev/ublkb3") and ublkit_parse_size() ("512M", "4KiB", "1.5G", "8GB").
 * Checks that what is accepted means what it says, computed here a second
 * way, and that the parsers of plain numbers agree.
 */
#include "config.h"

#include <inttypes.h>

#include "ublkit-private.h"
#include "ublkit/ublk.h"
#include "fuzz.h"

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static void check_u64(const char *s)
{
	uint64_t a = 0, b = 0;
	int ra = ublkit_parse_u64(s, &a);
	int rb = ublkit_parse_uint(s, 0, UINT64_MAX, &b);
	char again[32];

	/* what a user may type is digits only, and means the same to both */
	FUZZ_ASSERT(rb < 0 || all_digits(s));
	if (rb == 0)
		FUZZ_ASSERT(ra == 0 && a == b);
	if (ra < 0)
		return;
	snprintf(again, sizeof(again), "%" PRIu64, a);
	FUZZ_ASSERT(ublkit_parse_uint(again, 0, UINT64_MAX, &b) == 0 && a == b);
	/* a range is a range */
	if (a < UINT64_MAX)
		FUZZ_ASSERT(rb < 0 || ublkit_parse_uint(s, a + 1, UINT64_MAX, &b) == -ERANGE);
}

/* The unit of a size suffix, as util-linux reads it; 0 for no suffix. */
static unsigned __int128 unit_of(const char *u)
{
	static const char letters[] = "KMGTPE";
	const char *l = *u ? strchr(letters, *u >= 'a' ? *u - 'a' + 'A' : *u) : NULL;
	unsigned __int128 m = 1;
	unsigned int base;

	if (!*u)
		return 1;
	if (!l)
		return 0;
	if (!u[1] || !strcmp(u + 1, "iB"))
		base = 1024;
	else if (!strcmp(u + 1, "B"))
		base = 1000;
	else
		return 0;
	for (const char *x = letters; x <= l; x++)
		m *= base;
	return m;
}

static void check_size(const char *s)
{
	unsigned __int128 whole = 0, frac = 0, den = 1, unit, num;
	const char *p = s;
	uint64_t v = 0;
	int r = ublkit_parse_size(s, &v);

	if (r < 0)
		return;
	/* digits, maybe a fraction with digits on both sides, maybe a unit */
	FUZZ_ASSERT(*p >= '0' && *p <= '9');
	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (unsigned)(*p - '0');
		FUZZ_ASSERT(whole <= UINT64_MAX);
	}
	if (*p == '.') {
		p++;
		FUZZ_ASSERT(*p >= '0' && *p <= '9');
		for (; *p >= '0' && *p <= '9'; p++) {
			if (den > UINT64_MAX) {
				FUZZ_ASSERT(*p == '0');	/* past 19 digits only zeros */
				continue;
			}
			frac = frac * 10 + (unsigned)(*p - '0');
			den *= 10;
		}
	}
	unit = unit_of(p);
	FUZZ_ASSERT(unit);
	/* exactly (whole + frac / den) * unit bytes, a whole number */
	num = frac * unit;
	FUZZ_ASSERT(num % den == 0);
	FUZZ_ASSERT((unsigned __int128)v == whole * unit + num / den);
}

static void check_dev_id(const char *s)
{
	uint32_t id;
	char tail[16];
	size_t n, len = strlen(s);

	if (ublkit_parse_dev_id(s, &id) < 0)
		return;
	FUZZ_ASSERT(id <= UBLKIT_DEV_ID_MAX);
	/* the id is the decimal number the name ends with */
	n = (size_t)snprintf(tail, sizeof(tail), "%" PRIu32, id);
	FUZZ_ASSERT(len >= n);
	if (strcmp(s + len - n, tail)) {
		uint64_t again;

		FUZZ_ASSERT(ublkit_parse_uint(s + len - n, 0, UINT64_MAX, &again) == 0 && again == id);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size);
	uint64_t v;

	check_u64(s);
	check_size(s);
	check_dev_id(s);
	/* a value of a sysfs attribute ends at its newline */
	s[strcspn(s, "\n")] = '\0';
	(void)ublkit_parse_u64(s, &v);
	free(s);
	return 0;
}
