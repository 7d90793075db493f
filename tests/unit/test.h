/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A minimal test harness: CHECK() records failures, main() returns the verdict. */
#ifndef UBLKIT_TEST_H
#define UBLKIT_TEST_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ublkit/ublkit.h"

#define EXIT_SKIP 77

extern int test_failures;

#define CHECK(cond)                                                                            \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,       \
				#cond);                                                        \
			test_failures++;                                                       \
		}                                                                              \
	} while (0)

#define CHECK_EQ(a, b)                                                                         \
	do {                                                                                   \
		long long _a = (long long)(a), _b = (long long)(b);                            \
		if (_a != _b) {                                                                \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n",      \
				__FILE__, __LINE__, #a, #b, _a, _b);                           \
			test_failures++;                                                       \
		}                                                                              \
	} while (0)

#define CHECK_STREQ(a, b)                                                                      \
	do {                                                                                   \
		const char *_a = (a), *_b = (b);                                               \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                                       \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n",  \
				__FILE__, __LINE__, #a, #b, _a ? _a : "(null)",                \
				_b ? _b : "(null)");                                           \
			test_failures++;                                                       \
		}                                                                              \
	} while (0)

/* Run a named test case; prints "ok"/"not ok" in TAP style. */
#define RUN(fn) test_run(#fn, fn)
void test_run(const char *name, void (*fn)(void));
int test_result(void);

/*
 * A context whose log goes to stderr at debug level (visible in the .log).
 * Its messages are also counted by priority, and the last one at error
 * priority or worse is kept, so tests can check what was (not) logged.
 */
struct ublkit_ctx *test_ctx(void);
extern int test_logged[8];
extern char test_last_error[512];
extern char test_last[8][512];	/* the last message at each priority */
void test_log_reset(void);
/* File descriptors this process has open: equal before and after shows no leak. */
int test_open_fds(void);
/* Mappings of files whose path starts with @prefix (a fake root): 0 when all unmapped. */
int test_mappings(const char *prefix);

/* ---- fake sysroots (fake-sysroot.c) ----------------------------------- */

/* A new empty temporary directory; removed by fake_root_free(). */
char *fake_root_new(void);
void fake_root_free(char *root);
/* Write @content to ROOT/@path, creating parent directories. */
void fake_write(const char *root, const char *path, const char *content);
void fake_mkdir(const char *root, const char *path);
/*
 * A plausible Linux root: osrelease "6.12.0-test", /proc/self/status with
 * all capabilities, /proc/swaps, a module tree with ublk_drv, dm_mod and
 * nvme as loadable modules, /sys/class present.
 */
char *fake_root_linux(void);

#endif
