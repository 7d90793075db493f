/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A device's table text as ublkit keeps it ("START LENGTH TYPE PARAMS",
 * one line per target) through dm_thin_table_ref(), which remove and the
 * next free thin id use: the text may be anything the kernel lists,
 * including "" for a device that has no table. What is found must be
 * what the text says, and writes back to the same pool and id.
 */
#include "config.h"

#include <inttypes.h>
#include <sys/sysmacros.h>

#include "ublkit-private.h"
#include "dm-private.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *table = fuzz_string(data, size);
	char line[128];
	const char *sp;
	uint32_t id, id2;
	dev_t pool, pool2;

	if (dm_thin_table_ref(table, &pool, &id) == 0) {
		/* three words before the parameters */
		sp = table;
		for (int k = 0; k < 3; k++) {
			sp = strchr(sp, ' ');
			FUZZ_ASSERT(sp);
			sp++;
		}
		snprintf(line, sizeof(line), "0 8 thin %u:%u %" PRIu32, major(pool), minor(pool), id);
		FUZZ_ASSERT(dm_thin_table_ref(line, &pool2, &id2) == 0);
		FUZZ_ASSERT(pool2 == pool && id2 == id);
	}
	free(table);
	return 0;
}
