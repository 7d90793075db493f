/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /proc/PID/status: the memory and capability lines hardening judges by. */
#include "config.h"

#include "ublkit-private.h"
#include "proc-private.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proc_status st;
	struct fuzz_file ff;

	memset(&st, 0xa5, sizeof(st));
	proc_status_parse(fuzz_open(&ff, data, size), &st);
	fuzz_close(&ff);
	/* kB lines are whole KiB */
	FUZZ_ASSERT(st.vm_rss % 1024 == 0 && st.vm_lck % 1024 == 0 && st.vm_swap % 1024 == 0);
	FUZZ_ASSERT(st.have_cap || st.cap_eff == 0);
	FUZZ_ASSERT(st.have_vm || st.vm_rss == 0);
	if (!st.have_cap)
		FUZZ_ASSERT(!caps_have(&st, 14));
	return 0;
}
