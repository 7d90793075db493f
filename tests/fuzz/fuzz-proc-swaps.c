/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A line of /proc/swaps: path (octal escapes, " (deleted)"), type, sizes. */
#include "config.h"

#include "ublkit-private.h"
#include "swap-private.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_string(data, size);
	size_t len = strlen(line);
	struct ublkit_swap_area a;

	if (swaps_parse_line(line, &a) == 0) {
		/* path and type are words of the line, in place */
		FUZZ_ASSERT(a.path >= line && a.path <= line + len);
		FUZZ_ASSERT(a.type > a.path && a.type <= line + len);
		FUZZ_ASSERT(*a.type && !strpbrk(a.type, " \t\n"));
		FUZZ_ASSERT(a.size % 1024 == 0 && a.used % 1024 == 0);
	}
	free(line);
	return 0;
}
