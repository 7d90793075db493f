/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel command line switch (ublkit=0, rd.ublkit=0 in the
 * initramfs): any /proc/cmdline gives on (0) or off (1). Outside the
 * initramfs rd.ublkit= is not heeded, so a line that switches ublkit off
 * there also does so in the initramfs unless rd.ublkit= turns it back
 * on; and appending "ublkit=0 rd.ublkit=0" to a line whose quotes are
 * closed always switches it off in both.
 */
#include "config.h"

#include "ublkit/policy.h"
#include "fuzz.h"

static bool quotes_closed(const char *s)
{
	bool open = false;

	for (; *s; s++)
		open ^= *s == '"';
	return !open;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_string(data, size), *off;
	int a = ublkit_policy_cmdline_disables(line, false);
	int b = ublkit_policy_cmdline_disables(line, true);
	size_t len = strlen(line);

	FUZZ_ASSERT(a == 0 || a == 1);
	FUZZ_ASSERT(b == 0 || b == 1);
	if (!strstr(line, "rd.ublkit"))
		FUZZ_ASSERT(a == b);
	if (!quotes_closed(line)) {
		free(line);
		return 0;
	}
	off = malloc(len + sizeof(" ublkit=0 rd.ublkit=0"));
	FUZZ_ASSERT(off);
	memcpy(off, line, len);
	/* the last occurrence wins */
	strcpy(off + len, " ublkit=0 rd.ublkit=0");
	FUZZ_ASSERT(ublkit_policy_cmdline_disables(off, false) == 1);
	FUZZ_ASSERT(ublkit_policy_cmdline_disables(off, true) == 1);
	free(off);
	free(line);
	return 0;
}
