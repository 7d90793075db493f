/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the hardening report reads of /proc: the mounts of a mountinfo
 * file that still propagate ("shared:N" among the optional fields,
 * mountinfo_count_shared()), and the kernel release's version
 * (kernel_release_version(), on the input's first line as
 * /proc/sys/kernel/osrelease would give it).
 */
#include "config.h"

#include "ublkit-private.h"
#include "swap-private.h"
#include "fuzz.h"

static size_t count_shared(const uint8_t *data, size_t size)
{
	static const char tag[] = " shared:";
	size_t n = 0;

	for (size_t i = 0; i + sizeof(tag) - 1 <= size; i++)
		n += memcmp(data + i, tag, sizeof(tag) - 1) == 0;
	return n;
}

static void check_release(const uint8_t *data, size_t size)
{
	/* ublkit_read_line() into 128 bytes: 127 at most, trailing newlines and blanks dropped */
	char *rel = fuzz_string(data, size < 127 ? size : 127);
	size_t len = strlen(rel);
	int major, minor;

	while (len && (rel[len - 1] == '\n' || rel[len - 1] == ' '))
		rel[--len] = '\0';
	if (kernel_release_version(rel, &major, &minor) == 0) {
		char *end;

		/* "6.12.0-test": the release's first two numbers, as written, in range */
		FUZZ_ASSERT(rel[0] >= '0' && rel[0] <= '9');
		FUZZ_ASSERT(strtol(rel, &end, 10) == major && *end == '.');
		FUZZ_ASSERT(end[1] >= '0' && end[1] <= '9');
		FUZZ_ASSERT(strtol(end + 1, NULL, 10) == minor);
	}
	free(rel);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char first[256];
	struct fuzz_file ff;
	int n;

	memset(first, 'x', sizeof(first));
	first[0] = '\0';
	n = mountinfo_count_shared(fuzz_open(&ff, data, size), first, sizeof(first));
	fuzz_close(&ff);
	FUZZ_ASSERT(n >= 0 && (size_t)n <= count_shared(data, size));
	FUZZ_ASSERT(strnlen(first, sizeof(first)) <= 200);
	check_release(data, size);
	return 0;
}
