/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The manifest under /run/ublkit/devices/ID/ (also the server's argv):
 * any text is read without harm, and what was read is written back and
 * read again to the same device.
 */
#include "config.h"

#include "ublkit-private.h"
#include "manifest-private.h"
#include "fuzz.h"

static void same(const struct ublkit_manifest *a, const struct ublkit_manifest *b)
{
	FUZZ_ASSERT(a->id == b->id);
	FUZZ_ASSERT(!strcmp(a->target, b->target));
	FUZZ_ASSERT(!strcmp(a->target_arg, b->target_arg));
	FUZZ_ASSERT(a->server_pid == b->server_pid);
	FUZZ_ASSERT(a->server_start == b->server_start);
	FUZZ_ASSERT(a->params.dev_id == b->params.dev_id);
	FUZZ_ASSERT(a->params.size == b->params.size);
	FUZZ_ASSERT(a->params.logical_block_size == b->params.logical_block_size);
	FUZZ_ASSERT(a->params.physical_block_size == b->params.physical_block_size);
	FUZZ_ASSERT(a->params.max_io_bytes == b->params.max_io_bytes);
	FUZZ_ASSERT(a->params.nr_queues == b->params.nr_queues);
	FUZZ_ASSERT(a->params.queue_depth == b->params.queue_depth);
	FUZZ_ASSERT(a->params.flags == b->params.flags);
	FUZZ_ASSERT(a->params.discard_granularity == b->params.discard_granularity);
	FUZZ_ASSERT(a->params.max_discard_bytes == b->params.max_discard_bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ublkit_manifest m, again;
	struct fuzz_file ff;
	char text[8192];
	FILE *f;
	int n, r;

	manifest_init(&m);
	r = manifest_parse(&m, fuzz_open(&ff, data, size));
	fuzz_close(&ff);
	FUZZ_ASSERT(r == 0 || r == -EBADMSG);
	FUZZ_ASSERT(r < 0 || m.target[0]);
	/* a server pid is a pid: never a process group, never "all" */
	FUZZ_ASSERT(m.server_pid >= 0);
	FUZZ_ASSERT(m.params.dev_id >= -1);
	if (r < 0)
		return 0;

	n = manifest_format(&m, text, sizeof(text));
	if (n < 0)
		return 0;
	f = fmemopen(text, (size_t)n, "r");
	FUZZ_ASSERT(f);
	manifest_init(&again);
	FUZZ_ASSERT(manifest_parse(&again, f) == 0);
	fclose(f);
	same(&m, &again);
	return 0;
}
