/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A /proc/PID/stat line (or a task's): the state, the flags that show
 * PR_SET_IO_FLUSHER and the start time that tells a server from a
 * process that reused its pid. The command name may hold anything.
 */
#include "config.h"

#include "ublkit-private.h"
#include "proc-private.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_string(data, size);
	const char *fields = NULL;
	uint64_t flags;

	(void)proc_stat_flags(line, &flags);
	if (proc_stat_fields(line, &fields) == 0) {
		/* the fields lie after the last ')' of the line, inside it */
		FUZZ_ASSERT(fields > line && fields <= line + strlen(line));
		FUZZ_ASSERT(fields[-2] == ')' && !strchr(fields, ')'));
		(void)proc_stat_start_time(fields);
	}
	free(line);
	return 0;
}
