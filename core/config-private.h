/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Configuration files, systemd style: which files make up the policy
 * (a main file and drop-ins, with precedence and masking) and a small INI
 * parser that hands sections and assignments to its caller. No meaning is
 * given to any section or key here: that is policy.c's.
 */
#ifndef UBLKIT_CONFIG_PRIVATE_H
#define UBLKIT_CONFIG_PRIVATE_H

#include <stddef.h>

#include "ublkit/ublkit.h"

/* A longer line is a problem, not a buffer to grow. */
#define CONF_LINE_MAX 4096
/* A larger file is a problem and is not read. */
#define CONF_FILE_MAX (1024 * 1024)

struct conf_file {
	char *name;	/* as the user knows it: without the sysroot */
	char *path;	/* what is opened: with the sysroot */
};

struct conf_files {
	struct conf_file *v;
	size_t n;
};

/*
 * The system's files, through the sysroot: the first of
 * {/etc,/run,/usr/lib}/ublkit/ublkit.conf that exists, then the drop-ins
 * ublkit.conf.d/ *.conf of all three directories, one per name (the
 * directory of highest precedence wins), in lexical order of their
 * names. A file that is empty or a symlink to /dev/null masks its name
 * and is left out. Returns 0 or a negative errno (-ENOMEM, a directory
 * that exists but cannot be read).
 */
int conf_files_system(struct ublkit_ctx *ctx, struct conf_files *ret);
/*
 * @path (not under the sysroot) and the drop-ins of "@path.d/". -ENOENT
 * when @path does not exist, -EISDIR when it is a directory.
 */
int conf_files_explicit(const char *path, struct conf_files *ret);
void conf_files_free(struct conf_files *f);

/*
 * Read the whole of @path. Returns 0 (*@ret NUL-terminated, *@len without
 * the NUL), -EFBIG when it is larger than CONF_FILE_MAX, or a negative
 * errno.
 */
int conf_read(const char *path, char **ret, size_t *len);

/* What the parser found; a callback returning a negative errno stops it. */
struct conf_ops {
	/* "[TEXT]": @text trimmed, never NULL. */
	int (*section)(void *userdata, unsigned int line, const char *text);
	/* "Key=Value": both trimmed; @value may be "". */
	int (*assign)(void *userdata, unsigned int line, const char *key, const char *value);
	/* A line that is not INI, with a message that says why. */
	int (*problem)(void *userdata, unsigned int line, const char *message);
	/* A "[" line that is no section header: what follows belongs to no
	 * section the caller knows. */
	int (*bad_section)(void *userdata, unsigned int line, const char *message);
};

/*
 * Parse @len bytes of @text (need not be NUL-terminated). Comments start
 * with '#' or ';' as the first character that is not a blank. Lines are
 * at most CONF_LINE_MAX bytes; a longer line, one with a NUL byte, an
 * unterminated "[", text after "]", a line without '=' and an empty key
 * are each one problem, and parsing goes on with the next line. Returns
 * 0 or what a callback returned.
 */
int conf_parse(const char *text, size_t len, const struct conf_ops *ops, void *userdata);

#endif
