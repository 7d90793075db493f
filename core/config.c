/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which configuration files there are (systemd's precedence and masking
 * rules) and an INI parser that is small enough to trust with hostile
 * input: no recursion, no allocation per line, bounded lines.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "ublkit-private.h"
#include "config-private.h"

/* Highest precedence first. */
static const char *const conf_dirs[] = { "/etc/ublkit", "/run/ublkit", "/usr/lib/ublkit" };

#define CONF_MAIN "ublkit.conf"
#define CONF_DROPINS "ublkit.conf.d"

/* ---- the file set -------------------------------------------------------- */

void conf_files_free(struct conf_files *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].name);
		free(f->v[i].path);
	}
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

static int conf_files_add(struct conf_files *f, const char *name, const char *path)
{
	struct conf_file *v;

	v = realloc(f->v, (f->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	f->v = v;
	v[f->n].name = strdup(name);
	v[f->n].path = strdup(path);
	if (!v[f->n].name || !v[f->n].path) {
		free(v[f->n].name);
		free(v[f->n].path);
		return -ENOMEM;
	}
	f->n++;
	return 0;
}

/* An empty file or a symlink to /dev/null: the name is taken, nothing is read. */
static bool conf_is_mask(const char *path)
{
	char target[16];
	struct stat st;
	ssize_t n;

	if (lstat(path, &st) < 0)
		return false;
	if (S_ISLNK(st.st_mode)) {
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			if (strcmp(target, "/dev/null") == 0)
				return true;
		}
		if (stat(path, &st) < 0)
			return false;
	}
	return S_ISCHR(st.st_mode) || (S_ISREG(st.st_mode) && st.st_size == 0);
}

static bool conf_is_regular(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool dropin_name_ok(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".conf") == 0;
}

static bool conf_files_has_base(const struct conf_files *f, size_t from, const char *base)
{
	for (size_t i = from; i < f->n; i++) {
		const char *slash = strrchr(f->v[i].name, '/');

		if (strcmp(slash ? slash + 1 : f->v[i].name, base) == 0)
			return true;
	}
	return false;
}

/*
 * Add the drop-ins of @dir (shown as @shown) whose names no directory of
 * higher precedence has given yet (those are in @f from @from on).
 */
static int conf_dropins_scan(struct conf_files *f, size_t from, const char *dir, const char *shown)
{
	DIR *d;
	struct dirent *de;
	int r = 0;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : neg_errno();
	while (r >= 0 && (de = readdir(d))) {
		char path[PATH_MAX], name[PATH_MAX];

		if (!dropin_name_ok(de->d_name) || conf_files_has_base(f, from, de->d_name))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path) ||
		    snprintf(name, sizeof(name), "%s/%s", shown, de->d_name) >= (int)sizeof(name))
			continue;
		/* a directory or a device named *.conf is not a drop-in */
		if (!conf_is_mask(path) && !conf_is_regular(path))
			continue;
		r = conf_files_add(f, name, path);
	}
	closedir(d);
	return r;
}

static const char *base_name(const char *p)
{
	const char *slash = strrchr(p, '/');

	return slash ? slash + 1 : p;
}

static int conf_file_cmp(const void *a, const void *b)
{
	const struct conf_file *x = a, *y = b;

	return strcmp(base_name(x->name), base_name(y->name));
}

/* Sort the drop-ins from @from on by name and drop the masks. */
static void conf_dropins_finish(struct conf_files *f, size_t from)
{
	size_t w = from;

	if (f->n <= from)
		return;
	qsort(f->v + from, f->n - from, sizeof(*f->v), conf_file_cmp);
	for (size_t i = from; i < f->n; i++) {
		if (conf_is_mask(f->v[i].path)) {
			free(f->v[i].name);
			free(f->v[i].path);
			continue;
		}
		f->v[w++] = f->v[i];
	}
	f->n = w;
}

int conf_files_system(struct ublkit_ctx *ctx, struct conf_files *ret)
{
	struct conf_files f = {};
	char shown[PATH_MAX], path[PATH_MAX];
	size_t from;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(conf_dirs); i++) {
		struct stat st;

		snprintf(shown, sizeof(shown), "%s/%s", conf_dirs[i], CONF_MAIN);
		r = ublkit_ctx_path(ctx, shown, path, sizeof(path));
		if (r < 0)
			goto fail;
		if (lstat(path, &st) < 0)
			continue;
		/* the first that exists is the main file, even when it masks */
		if (!conf_is_mask(path) && conf_is_regular(path)) {
			r = conf_files_add(&f, shown, path);
			if (r < 0)
				goto fail;
		}
		break;
	}
	from = f.n;
	for (size_t i = 0; i < ARRAY_SIZE(conf_dirs); i++) {
		snprintf(shown, sizeof(shown), "%s/%s", conf_dirs[i], CONF_DROPINS);
		r = ublkit_ctx_path(ctx, shown, path, sizeof(path));
		if (r >= 0)
			r = conf_dropins_scan(&f, from, path, shown);
		if (r < 0)
			goto fail;
	}
	conf_dropins_finish(&f, from);
	*ret = f;
	return 0;
fail:
	conf_files_free(&f);
	return r;
}

int conf_files_explicit(const char *path, struct conf_files *ret)
{
	struct conf_files f = {};
	char dir[PATH_MAX];
	struct stat st;
	size_t from;
	int r;

	if (!path || !*path)
		return -EINVAL;
	if (stat(path, &st) < 0)
		return neg_errno();
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (snprintf(dir, sizeof(dir), "%s.d", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	r = conf_is_mask(path) ? 0 : conf_files_add(&f, path, path);
	from = f.n;
	if (r >= 0)
		r = conf_dropins_scan(&f, from, dir, dir);
	if (r < 0) {
		conf_files_free(&f);
		return r;
	}
	conf_dropins_finish(&f, from);
	*ret = f;
	return 0;
}

int conf_read(const char *path, char **ret, size_t *len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t n = 0;
	ssize_t k;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return neg_errno();
	buf = malloc(CONF_FILE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	/* one byte more than allowed tells a file that is too large */
	while (n < CONF_FILE_MAX + 1) {
		k = read(fd, buf + n, CONF_FILE_MAX + 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return neg_errno();
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (n > CONF_FILE_MAX)
		return -EFBIG;
	buf[n] = '\0';
	*len = n;
	*ret = buf;
	buf = NULL;
	return 0;
}

/* ---- the parser ------------------------------------------------------------ */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Trim blanks at both ends of @s, in place. */
static char *trim(char *s)
{
	char *e;

	while (is_blank(*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_blank(e[-1]))
		*--e = '\0';
	return s;
}

static int conf_section_line(char *s, unsigned int line, const struct conf_ops *ops,
			     void *userdata)
{
	char *close = strchr(s, ']');

	if (!close)
		return ops->bad_section(userdata, line,
					"'[' without ']': a section header is [Global] or "
					"[Rule NAME]");
	if (*trim(close + 1))
		return ops->bad_section(userdata, line,
					"text after ']': a section header stands on a line of "
					"its own");
	*close = '\0';
	if (strchr(s + 1, '['))
		return ops->bad_section(userdata, line, "'[' inside a section header");
	return ops->section(userdata, line, trim(s + 1));
}

static int conf_assign_line(char *s, unsigned int line, const struct conf_ops *ops,
			    void *userdata)
{
	char *eq = strchr(s, '=');
	char *key;

	if (!eq)
		return ops->problem(userdata, line,
				    "not Key=Value, a [section] or a comment ('#' or ';')");
	*eq = '\0';
	key = trim(s);
	if (!*key)
		return ops->problem(userdata, line, "'=' without a key before it");
	return ops->assign(userdata, line, key, trim(eq + 1));
}

static int conf_line(char *s, unsigned int line, const struct conf_ops *ops, void *userdata)
{
	s = trim(s);
	if (!*s || *s == '#' || *s == ';')
		return 0;
	if (*s == '[')
		return conf_section_line(s, line, ops, userdata);
	return conf_assign_line(s, line, ops, userdata);
}

int conf_parse(const char *text, size_t len, const struct conf_ops *ops, void *userdata)
{
	char buf[CONF_LINE_MAX + 1];
	unsigned int line = 0;
	size_t pos = 0;
	int r = 0;

	while (r >= 0 && pos < len) {
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;

		pos += n + (nl ? 1 : 0);
		if (line == UINT_MAX)
			break;
		line++;
		if (n > CONF_LINE_MAX)
			r = ops->problem(userdata, line,
					 "line longer than 4096 bytes; lines are at most that long");
		else if (memchr(start, '\0', n))
			r = ops->problem(userdata, line,
					 "NUL byte in the line; a configuration file is text");
		else {
			memcpy(buf, start, n);
			buf[n] = '\0';
			r = conf_line(buf, line, ops, userdata);
		}
	}
	return r;
}
