/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Who holds a block device and which partitions it has, as sysfs tells
 * (blockdev_held(), blockdev_partitions(): what `ublkit` asks before it
 * formats an NVMe namespace). The input is a little program that builds
 * /sys/dev/block/259:0 in a fake root, one command a line:
 *
 *   h NAME        an entry NAME in 259:0/holders
 *   p NAME DEV    a partition: 259:0/NAME/partition and 259:0/NAME/dev = DEV
 *   d NAME DEV    a directory with a dev file that is no partition
 *   H DIR NAME    an entry NAME in /sys/dev/block/DIR/holders ("259:1")
 *
 * The tree is made once per process and rewritten per input. A holder
 * found is an entry of the holders directory; a partition reported is a
 * directory with a partition file; the count is the number reported.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ublkit-private.h"
#include "swap-private.h"
#include "fuzz.h"

#define MAX_COMMANDS 32

static struct ublkit_ctx *ctx;
static char root[4096];
static char block[4200];	/* ROOT/sys/dev/block */

static void setup(void)
{
	char p[4300];

	snprintf(root, sizeof(root), "%s", fuzz_root());
	if (ublkit_ctx_new(&ctx) < 0 || ublkit_ctx_set_sysroot(ctx, root) < 0)
		abort();
	snprintf(p, sizeof(p), "%s/sys", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/sys/dev", root);
	mkdir(p, 0755);
	snprintf(block, sizeof(block), "%s/sys/dev/block", root);
}

/* A file name from the input: no '/', at most 200 bytes; false for none. */
static bool file_name(const char *s, size_t len, char *buf)
{
	if (len > 200)
		len = 200;
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '/')
			buf[i] = '_';
	return len && strcmp(buf, ".") && strcmp(buf, "..");
}

static bool touch(const char *path, const char *content, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, content, len) == (ssize_t)len;
	close(fd);
	return ok;
}

struct tree {
	bool holder;	/* 259:0/holders has an entry not starting with '.' */
};

/* "NAME REST": the name (a file name) and what follows the blank. */
static bool split(const char *arg, size_t len, char *name, const char **rest, size_t *rest_len)
{
	const char *sp = memchr(arg, ' ', len);
	size_t n = sp ? (size_t)(sp - arg) : len;

	*rest = sp ? sp + 1 : arg + len;
	*rest_len = sp ? len - n - 1 : 0;
	return file_name(arg, n, name);
}

static void command(struct tree *t, char op, const char *arg, size_t len)
{
	char name[256], name2[256], p[4800];
	const char *rest;
	size_t rest_len;

	if (!split(arg, len, name, &rest, &rest_len))
		return;
	if (op == 'h') {
		snprintf(p, sizeof(p), "%s/259:0/holders/%s", block, name);
		if (touch(p, "", 0) && name[0] != '.')
			t->holder = true;
	} else if (op == 'p' || op == 'd') {
		snprintf(p, sizeof(p), "%s/259:0/%s", block, name);
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/259:0/%s/dev", block, name);
		/* "holders" is the directory of holders: its dev file is one */
		if (touch(p, rest, rest_len) && strcmp(name, "holders") == 0)
			t->holder = true;
		if (op == 'p') {
			snprintf(p, sizeof(p), "%s/259:0/%s/partition", block, name);
			(void)touch(p, "1\n", 2);
		}
	} else if (op == 'H' && split(rest, rest_len, name2, &rest, &rest_len)) {
		snprintf(p, sizeof(p), "%s/%s", block, name);
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/%s/holders", block, name);
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/%s/holders/%s", block, name, name2);
		if (touch(p, "", 0) && strcmp(name, "259:0") == 0 && name2[0] != '.')
			t->holder = true;
	}
}

static void build(struct tree *t, const char *text, size_t size)
{
	const char *line = text, *end = text + size;
	char p[4300];

	fuzz_rm_tree(block);
	mkdir(block, 0755);
	snprintf(p, sizeof(p), "%s/259:0", block);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/259:0/holders", block);
	mkdir(p, 0755);
	for (int n = 0; line < end && n < MAX_COMMANDS; n++) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t len = (size_t)((nl ? nl : end) - line);

		if (len >= 2 && line[1] == ' ')
			command(t, line[0], line + 2, len - 2);
		line += len + 1;
	}
}

/* ROOT/sys/dev/block/@dir/@name exists. */
static bool exists(const char *dir, const char *name)
{
	char p[5000];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s/%s", block, dir, name);
	return lstat(p, &st) == 0;
}

static void check_holder(const char *dev, const char *holder)
{
	char rel[300];

	FUZZ_ASSERT(holder[0] && holder[0] != '.');
	snprintf(rel, sizeof(rel), "holders/%s", holder);
	FUZZ_ASSERT(exists(dev, rel));
}

struct walk {
	int calls;
	int stop_at;		/* return -EBUSY at this call (1-based), 0: never */
	char parts[256];	/* the names, as the usage check lists them */
};

static int on_partition(struct ublkit_ctx *c, const char *name, unsigned int maj,
			unsigned int min, void *userdata)
{
	struct walk *w = userdata;
	size_t off = strlen(w->parts);
	char holder[256], dev[32], rel[300];

	snprintf(rel, sizeof(rel), "%s/partition", name);
	FUZZ_ASSERT(name[0] != '.' && exists("259:0", rel));
	if (off < sizeof(w->parts))
		snprintf(w->parts + off, sizeof(w->parts) - off, "%s%s", off ? ", " : "", name);
	/* a partition's own holders, as the usage check looks at them */
	snprintf(dev, sizeof(dev), "%u:%u", maj, min);
	if (blockdev_held(c, maj, min, holder, sizeof(holder)))
		check_holder(dev, holder);
	w->calls++;
	return w->calls == w->stop_at ? -EBUSY : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tree t = { .holder = false };
	struct walk w = { .calls = 0 };
	char holder[256], small[8];
	int n;

	if (!ctx)
		setup();
	build(&t, (const char *)data, size);
	FUZZ_ASSERT(blockdev_held(ctx, 259, 0, holder, sizeof(holder)) == t.holder);
	if (t.holder)
		check_holder("259:0", holder);
	memset(small, 'x', sizeof(small));
	FUZZ_ASSERT(blockdev_held(ctx, 259, 0, small, sizeof(small)) == t.holder);
	if (t.holder)
		FUZZ_ASSERT(memchr(small, '\0', sizeof(small)) && strncmp(small, holder, 7) == 0);
	n = blockdev_partitions(ctx, 259, 0, on_partition, &w);
	FUZZ_ASSERT(n == w.calls && strlen(w.parts) < sizeof(w.parts));
	FUZZ_ASSERT(blockdev_partitions(ctx, 259, 0, NULL, NULL) == n);
	if (n > 0) {
		struct walk stop = { .stop_at = 1 };

		FUZZ_ASSERT(blockdev_partitions(ctx, 259, 0, on_partition, &stop) == -EBUSY);
		FUZZ_ASSERT(stop.calls == 1);
	}
	return 0;
}
