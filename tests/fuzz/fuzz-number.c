/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Numbers and sizes as users and sysfs write them: ublkit_parse_u64()
 * (sysfs attributes, the manifest, limits), the tool's tool_parse_uint()
 * (ids, counts), tool_parse_dev_id() ("3", "ublk3", "/dev/ublkb3") and
 * tool_parse_size() ("512M", "4KiB"; "1.5G" is refused).
 * Checks that what is accepted means what it says, and that the two
 * parsers of plain numbers agree.
 */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#include "ublkit-private.h"
#include "tool.h"
#include "fuzz.h"

static void check_u64(const char *s)
{
	uint64_t a = 0, b = 0;
	int ra = ublkit_parse_u64(s, &a);
	int rb = tool_parse_uint(s, UINT64_MAX, &b);
	char again[32];

	FUZZ_ASSERT((ra == 0) == (rb == 0));
	if (ra < 0)
		return;
	FUZZ_ASSERT(a == b);
	FUZZ_ASSERT(s[0] >= '0' && s[0] <= '9');
	/* what was accepted reads back the same in decimal */
	snprintf(again, sizeof(again), "%" PRIu64, a);
	FUZZ_ASSERT(ublkit_parse_u64(again, &b) == 0 && a == b);
}

static unsigned int suffix_shift(char c)
{
	switch (c) {
	case 'k': case 'K': return 10;
	case 'm': case 'M': return 20;
	case 'g': case 'G': return 30;
	case 't': case 'T': return 40;
	default: return 0;
	}
}

static void check_size(const char *s)
{
	uint64_t v = 0, bytes;
	unsigned long long digits;
	unsigned int shift;
	char *end;

	if (tool_parse_size(s, &v) < 0)
		return;
	FUZZ_ASSERT(s[0] >= '0' && s[0] <= '9');
	digits = strtoull(s, &end, 10);
	shift = suffix_shift(*end);
	FUZZ_ASSERT(*end == '\0' || shift);
	/* a size is its digits times its unit, exactly */
	FUZZ_ASSERT(shift == 0 || digits <= UINT64_MAX >> shift);
	bytes = (uint64_t)digits << shift;
	FUZZ_ASSERT(v == bytes);
	FUZZ_ASSERT(!end[0] || !end[1] || !strcmp(end + 1, "B") || !strcmp(end + 1, "iB"));
}

/* The tool says why an id is refused; not a million times. */
static int dev_id_quietly(const char *s, uint32_t *id)
{
	static int saved = -1, null = -1;
	int r;

	if (saved < 0) {
		saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
		null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		FUZZ_ASSERT(saved >= 0 && null >= 0);
	}
	dup2(null, STDERR_FILENO);
	r = tool_parse_dev_id(s, id);
	dup2(saved, STDERR_FILENO);
	return r;
}

static void check_dev_id(const char *s)
{
	uint32_t id;

	if (dev_id_quietly(s, &id) < 0)
		return;
	/* a device id the kernel can have */
	FUZZ_ASSERT(id <= INT32_MAX);
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
