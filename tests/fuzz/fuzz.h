/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers of the fuzz targets. Every target defines LLVMFuzzerTestOneInput();
 * it runs under libFuzzer (./configure --enable-fuzzing) or under
 * driver.c, which feeds it the files of its corpus (make check).
 */
#ifndef UBLKIT_FUZZ_H
#define UBLKIT_FUZZ_H

#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/*
 * A directory for a fake root, made on the first call and removed at
 * exit: under $TMPDIR, else /dev/shm (a target that rewrites files per
 * input runs ten times faster on tmpfs than on a disk), else /tmp.
 */
static char fuzz_root_dir[4096];

static inline int fuzz_rm_one(const char *path, const struct stat *st, int flag,
			      struct FTW *ftw)
{
	return remove(path);
}

/* Remove @dir and everything under it. */
static inline void fuzz_rm_tree(const char *dir)
{
	nftw(dir, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void fuzz_root_remove(void)
{
	fuzz_rm_tree(fuzz_root_dir);
}

static inline const char *fuzz_root(void)
{
	const char *tmp = getenv("TMPDIR");

	if (fuzz_root_dir[0])
		return fuzz_root_dir;
	if (!tmp || !*tmp)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(fuzz_root_dir, sizeof(fuzz_root_dir), "%s/ublkit-fuzz.XXXXXX", tmp);
	if (!mkdtemp(fuzz_root_dir))
		abort();
	atexit(fuzz_root_remove);
	return fuzz_root_dir;
}

#endif
