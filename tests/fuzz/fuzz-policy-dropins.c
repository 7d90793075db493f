/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy as the system's files make it: a main file and drop-ins
 * with precedence and masking (ublkit_policy_load() with no path, through
 * a sysroot). The input is split into the files of a fake root at lines
 * "%%MODE" (MODE: empty for a file, "null" for a symlink to /dev/null,
 * "none" for no file, "dir" for a directory); the text before the first
 * such line is the first file. The files, in order:
 *
 *   /etc/ublkit/ublkit.conf            /etc/ublkit/ublkit.conf.d/50-site.conf
 *   /run/ublkit/ublkit.conf            /usr/lib/ublkit/ublkit.conf.d/50-site.conf
 *   /usr/lib/ublkit/ublkit.conf        /run/ublkit/ublkit.conf.d/10-run.conf
 *                                      /usr/lib/ublkit/ublkit.conf.d/90-vendor.conf
 *                                      /etc/ublkit/ublkit.conf.d/00-early.conf
 *
 * Those not named do not exist. The files read must be exactly those the
 * precedence and masking rules give (policy.h), in their order; every
 * problem is in one of them, on one of its lines; a main file alone gives
 * what ublkit_policy_load_buffer() gives for its text. The tree is made
 * once per process and its files rewritten per input.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ublkit/policy.h"
#include "fuzz.h"

enum mode { NONE, FILE_, NULL_, DIR_ };

static const struct slot {
	const char *name;
	int group;	/* -1: a main file; else the drop-in's base name, below */
} slots[] = {
	{ "/etc/ublkit/ublkit.conf", -1 },
	{ "/run/ublkit/ublkit.conf", -1 },
	{ "/usr/lib/ublkit/ublkit.conf", -1 },
	{ "/etc/ublkit/ublkit.conf.d/50-site.conf", 2 },
	{ "/usr/lib/ublkit/ublkit.conf.d/50-site.conf", 2 },
	{ "/run/ublkit/ublkit.conf.d/10-run.conf", 1 },
	{ "/usr/lib/ublkit/ublkit.conf.d/90-vendor.conf", 3 },
	{ "/etc/ublkit/ublkit.conf.d/00-early.conf", 0 },
};
#define NSLOTS (sizeof(slots) / sizeof(slots[0]))
#define NGROUPS 4

struct part {
	enum mode mode;
	const uint8_t *text;
	size_t len;
};

static struct ublkit_ctx *ctx;
static char root[4096];

static void mkdirs(const char *rel)
{
	char p[4200];

	snprintf(p, sizeof(p), "%s%s", root, rel);
	for (char *s = p + strlen(root) + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

static void setup(void)
{
	snprintf(root, sizeof(root), "%s", fuzz_root());
	if (ublkit_ctx_new(&ctx) < 0 || ublkit_ctx_set_sysroot(ctx, root) < 0)
		abort();
	mkdirs("/etc/ublkit/ublkit.conf.d");
	mkdirs("/run/ublkit/ublkit.conf.d");
	mkdirs("/usr/lib/ublkit/ublkit.conf.d");
}

static enum mode mode_of(const uint8_t *word, size_t len)
{
	if (len == 4 && !memcmp(word, "null", 4))
		return NULL_;
	if (len == 4 && !memcmp(word, "none", 4))
		return NONE;
	if (len == 3 && !memcmp(word, "dir", 3))
		return DIR_;
	return FILE_;
}

/* A "%%MODE\n" line at @p: its mode, and where the next part starts. */
static const uint8_t *header(const uint8_t *p, const uint8_t *end, enum mode *mode)
{
	const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
	const uint8_t *stop = nl ? nl : end;

	*mode = mode_of(p + 2, (size_t)(stop - p - 2));
	return nl ? nl + 1 : end;
}

static bool is_header(const uint8_t *p, const uint8_t *end)
{
	return end - p >= 2 && p[0] == '%' && p[1] == '%';
}

/* The first "%%" at the start of a line from @p on (@p starts a line). */
static const uint8_t *next_header(const uint8_t *p, const uint8_t *end)
{
	for (const uint8_t *q = p; q < end; q++)
		if ((q == p || q[-1] == '\n') && is_header(q, end))
			return q;
	return end;
}

static void split(const uint8_t *data, size_t size, struct part *parts)
{
	const uint8_t *p = data, *end = data + size;
	enum mode mode = FILE_;

	for (size_t i = 0; i < NSLOTS; i++)
		parts[i] = (struct part){ .mode = NONE };
	if (is_header(p, end))
		p = header(p, end, &mode);
	for (size_t i = 0; i < NSLOTS; i++) {
		const uint8_t *q = next_header(p, end);

		parts[i] = (struct part){ .mode = mode, .text = p, .len = (size_t)(q - p) };
		if (q >= end)
			break;
		p = header(q, end, &mode);
	}
}

static void write_slot(const struct slot *s, const struct part *pt)
{
	char p[4200];
	int fd;

	snprintf(p, sizeof(p), "%s%s", root, s->name);
	if (unlink(p) < 0 && errno != ENOENT)
		rmdir(p);
	if (pt->mode == NULL_) {
		if (symlink("/dev/null", p) < 0)
			abort();
	} else if (pt->mode == DIR_) {
		if (mkdir(p, 0755) < 0)
			abort();
	} else if (pt->mode == FILE_) {
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, pt->text, pt->len) != (ssize_t)pt->len)
			abort();
		close(fd);
	}
}

/* What the rules of policy.h say is read, in order; returns how many. */
static size_t expected(const struct part *parts, const char **names)
{
	size_t n = 0;

	for (size_t i = 0; i < NSLOTS; i++) {
		if (slots[i].group != -1 || parts[i].mode == NONE)
			continue;
		/* the first main file that exists; empty or /dev/null masks it */
		if (parts[i].mode == FILE_ && parts[i].len)
			names[n++] = slots[i].name;
		break;
	}
	for (int g = 0; g < NGROUPS; g++) {
		/* slots are listed /etc, /run, /usr/lib within a name; a directory is no drop-in */
		for (size_t i = 0; i < NSLOTS; i++) {
			if (slots[i].group != g || parts[i].mode == NONE || parts[i].mode == DIR_)
				continue;
			if (parts[i].mode == FILE_ && parts[i].len)
				names[n++] = slots[i].name;
			break;
		}
	}
	return n;
}

static unsigned int lines_of(const struct part *parts, const char *file)
{
	unsigned int n = 1;

	for (size_t i = 0; i < NSLOTS; i++) {
		if (strcmp(slots[i].name, file))
			continue;
		for (size_t k = 0; k < parts[i].len; k++)
			n += parts[i].text[k] == '\n';
		return n;
	}
	FUZZ_ASSERT(!"a problem in a file that is none of the policy's");
	return 0;
}

static void check(const struct ublkit_policy *p, const struct part *parts)
{
	const char *names[NSLOTS];
	size_t n = expected(parts, names);

	FUZZ_ASSERT(ublkit_policy_get_file_count(p) == n);
	for (size_t i = 0; i < n; i++)
		FUZZ_ASSERT(strcmp(ublkit_policy_get_file(p, i), names[i]) == 0);
	for (size_t i = 0; i < ublkit_policy_get_problem_count(p); i++) {
		const struct ublkit_policy_problem *pr = ublkit_policy_get_problem(p, i);

		FUZZ_ASSERT(pr && pr->message && *pr->message);
		if (pr->file)
			FUZZ_ASSERT(pr->line <= lines_of(parts, pr->file));
	}
	for (size_t i = 0; i < ublkit_policy_get_rule_count(p); i++) {
		const struct ublkit_policy_rule *r = ublkit_policy_get_rule(p, i);

		FUZZ_ASSERT(ublkit_policy_find_rule(p, ublkit_policy_rule_get_name(r)) == r);
	}
}

/* Only /etc/ublkit/ublkit.conf: the same as its text read alone. */
static void check_alone(const struct ublkit_policy *p, const struct part *parts)
{
	struct ublkit_policy *b = NULL;

	if (parts[0].mode != FILE_ || !parts[0].len)
		return;
	for (size_t i = 1; i < NSLOTS; i++)
		if (parts[i].mode != NONE && parts[i].mode != DIR_)
			return;
	FUZZ_ASSERT(ublkit_policy_load_buffer(ctx, slots[0].name, (const char *)parts[0].text,
					      parts[0].len, 0, &b) == 0);
	FUZZ_ASSERT(ublkit_policy_get_problem_count(b) == ublkit_policy_get_problem_count(p));
	FUZZ_ASSERT(ublkit_policy_get_rule_count(b) == ublkit_policy_get_rule_count(p));
	ublkit_policy_unref(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct part parts[NSLOTS];
	struct ublkit_policy *p = NULL;
	int r;

	if (!ctx)
		setup();
	split(data, size, parts);
	for (size_t i = 0; i < NSLOTS; i++)
		write_slot(&slots[i], &parts[i]);
	r = ublkit_policy_load(ctx, NULL, 0, &p);
	FUZZ_ASSERT(r == 0 || r == -ENOMEM);
	if (r < 0)
		return 0;
	check(p, parts);
	check_alone(p, parts);
	ublkit_policy_unref(p);
	return 0;
}
