/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The SMART / Health log page a drive returns (512 bytes, zero-filled
 * when the input is shorter), decoded and judged. Byte 512 of the input,
 * when there, is the policy's MaxPercentUsed.
 */
#include "config.h"

#include "ublkit-private.h"
#include "nvme-private.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t log[512] = { 0 };
	struct ublkit_nvme_health h;
	unsigned int max = size > sizeof(log) ? data[sizeof(log)] : 255;
	char reason[300], tiny[8];
	bool ok;

	memcpy(log, data, size < sizeof(log) ? size : sizeof(log));
	nvme_health_decode(log, &h);
	FUZZ_ASSERT(h.critical_warning == log[0] && h.percentage_used == log[5]);
	FUZZ_ASSERT(h.temperature == (log[1] | log[2] << 8));
	ok = ublkit_nvme_health_ok(&h, max, reason, sizeof(reason));
	FUZZ_ASSERT(memchr(reason, '\0', sizeof(reason)) && reason[0]);
	/* a warning bit, worn spare or too much wear is never healthy */
	if (h.critical_warning || h.available_spare < h.available_spare_threshold ||
	    (max < 255 && h.percentage_used > max))
		FUZZ_ASSERT(!ok);
	else
		FUZZ_ASSERT(ok);
	FUZZ_ASSERT(ublkit_nvme_health_ok(&h, max, tiny, sizeof(tiny)) == ok);
	FUZZ_ASSERT(memchr(tiny, '\0', sizeof(tiny)));
	return 0;
}
