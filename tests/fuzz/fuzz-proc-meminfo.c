/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /proc/meminfo: what a safe swapoff compares a device's used swap with. */
#include "config.h"

#include "ublkit-private.h"
#include "proc-private.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_file ff;
	struct meminfo m;
	int r;

	r = proc_meminfo_parse(fuzz_open(&ff, data, size), &m);
	fuzz_close(&ff);
	FUZZ_ASSERT(r == 0 || r == -ENODATA);
	if (r < 0)
		return 0;
	FUZZ_ASSERT(m.mem_total % 1024 == 0 && m.mem_available % 1024 == 0);
	return 0;
}
