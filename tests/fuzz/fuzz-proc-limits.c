/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /proc/self/limits: the locked-memory limit a swap server needs. */
#include "config.h"

#include "ublkit-private.h"
#include "proc-private.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_file ff;
	uint64_t bytes = 0;
	int r;

	r = proc_limits_memlock(fuzz_open(&ff, data, size), &bytes);
	fuzz_close(&ff);
	FUZZ_ASSERT(r <= 0);
	return 0;
}
