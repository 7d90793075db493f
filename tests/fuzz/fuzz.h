/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers of the fuzz targets. Every target defines LLVMFuzzerTestOneInput();
 * it runs under libFuzzer (./configure --enable-fuzzing) or under
 * driver.c, which feeds it the files of its corpus (make check).
 */
#ifndef UBLKIT_FUZZ_H
#define UBLKIT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property of the parser does not hold: report it as a crash. */
#define FUZZ_ASSERT(cond)                                                                      \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			fprintf(stderr, "%s:%d: FUZZ_ASSERT failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                        \
			abort();                                                               \
		}                                                                              \
	} while (0)

/* The input as a NUL-terminated string (it ends at its first NUL byte). */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* The input as a file to read; close with fuzz_close(). */
struct fuzz_file {
	char *buf;
	FILE *f;
};

static inline FILE *fuzz_open(struct fuzz_file *ff, const uint8_t *data, size_t size)
{
	/* fmemopen() of zero bytes fails: give it one byte it never reads */
	ff->buf = fuzz_string(data, size);
	ff->f = fmemopen(ff->buf, size ? size : 1, "r");
	if (!ff->f)
		abort();
	if (!size)
		(void)fgetc(ff->f);
	return ff->f;
}

static inline void fuzz_close(struct fuzz_file *ff)
{
	fclose(ff->f);
	free(ff->buf);
}

#endif
