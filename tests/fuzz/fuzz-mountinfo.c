/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * /proc/self/mountinfo: is a block device mounted, and where. The first
 * two bytes of the input choose the device number looked for.
 */
#include "config.h"

#include "ublkit-private.h"
#include "swap-private.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char where[64], big[4096];
	struct fuzz_file ff;
	unsigned int maj, min;

	if (size < 2)
		return 0;
	maj = data[0];
	min = data[1];
	data += 2;
	size -= 2;
	memset(where, 'x', sizeof(where));
	/* a small buffer: a long mount point is cut, still terminated */
	if (mountinfo_find(fuzz_open(&ff, data, size), maj, min, "/dev/vda", where,
			   sizeof(where)))
		FUZZ_ASSERT(memchr(where, '\0', sizeof(where)));
	fuzz_close(&ff);
	if (mountinfo_find(fuzz_open(&ff, data, size), maj, min, NULL, big, sizeof(big)))
		FUZZ_ASSERT(maj != 0 && strlen(big) < sizeof(big));
	fuzz_close(&ff);
	return 0;
}
