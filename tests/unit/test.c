/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <dirent.h>
#include <stdarg.h>

#include "test.h"

int test_failures;
static int test_count;

void test_run(const char *name, void (*fn)(void))
{
	int before = test_failures;

	fn();
	test_count++;
	printf("%s %d - %s\n", test_failures == before ? "ok" : "not ok", test_count, name);
	fflush(stdout);
}

int test_result(void)
{
	printf("1..%d\n", test_count);
	return test_failures ? EXIT_FAILURE : EXIT_SUCCESS;
}

int test_logged[8];
char test_last_error[512];
char test_last[8][512];

void test_log_reset(void)
{
	memset(test_logged, 0, sizeof(test_logged));
	memset(test_last, 0, sizeof(test_last));
	test_last_error[0] = '\0';
}

static void log_stderr(struct ublkit_ctx *ctx, int prio, const char *file, int line,
		       const char *fn, const char *fmt, va_list ap, void *data)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "lib[%d] %s: %s\n", prio, fn, msg);
	if (prio >= 0 && prio < 8) {
		__atomic_fetch_add(&test_logged[prio], 1, __ATOMIC_RELAXED); /* queue threads log too */
		snprintf(test_last[prio], sizeof(test_last[prio]), "%s", msg);
	}
	if (prio <= UBLKIT_LOG_ERR)
		snprintf(test_last_error, sizeof(test_last_error), "%s", msg);
}

struct ublkit_ctx *test_ctx(void)
{
	struct ublkit_ctx *ctx = NULL;

	if (ublkit_ctx_new(&ctx) < 0) {
		fprintf(stderr, "cannot create a context\n");
		exit(EXIT_FAILURE);
	}
	ublkit_ctx_set_log_fn(ctx, log_stderr, NULL);
	ublkit_ctx_set_log_priority(ctx, UBLKIT_LOG_DEBUG);
	return ctx;
}

int test_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n - 1; /* the directory's own */
}

int test_mappings(const char *prefix)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4352];
	int n = 0;

	while (f && fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/');

		n += path && strncmp(path, prefix, strlen(prefix)) == 0;
	}
	if (f)
		fclose(f);
	return n;
}
