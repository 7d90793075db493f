/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Diagnostics, argument checks and a small JSON writer for the ublkit tool. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "ublkit/ublk.h"

void tool_error(const char *fmt, ...)
{
	va_list ap;

	fputs("ublkit: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int tool_not_in_sysroot(const char *what)
{
	tool_error("%s: needs the running kernel, which a --sysroot does not reach", what);
	return EXIT_UNSUPPORTED;
}

int tool_fail(int r, const char *fmt, ...)
{
	va_list ap;

	fputs("ublkit: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (r < 0)
		fprintf(stderr, ": %s", strerror(-r));
	fputc('\n', stderr);
	return EXIT_FAIL;
}

/* The synopsis of t->usage: its lines up to the first empty one. */
static void print_synopsis(const struct tool *t)
{
	const char *u = t->usage, *end;
	size_t n;

	if (u) {
		end = strstr(u, "\n\n");
		n = end ? (size_t)(end - u) : strlen(u);
		if (n && u[n - 1] == '\n')
			n--;
		fprintf(stderr, "%.*s\n", (int)n, u);
	}
	if (strcmp(t->prog, "ublkit"))
		fprintf(stderr, "Try 'ublkit %s --help'.\n", t->prog);
	else
		fputs("Try 'ublkit --help'.\n", stderr);
}

int tool_getopt(struct tool *t, int argc, char **argv, const char *shortopts,
		const struct option *longopts)
{
	char *saved = argv[0];
	int c;

	/* getopt prefixes its messages with argv[0], which is the caller's */
	snprintf(t->argv0, sizeof(t->argv0), "ublkit %s", t->prog);
	argv[0] = t->argv0;
	c = getopt_long(argc, argv, shortopts, longopts, NULL);
	argv[0] = saved;
	return c;
}

void tool_set_verb(struct tool *t, const char *verb)
{
	if (!verb) {
		t->sub[strcspn(t->sub, " ")] = '\0';
		return;
	}
	snprintf(t->sub, sizeof(t->sub), "%s %s", t->prog, verb);
	t->prog = t->sub;
}

int tool_usage(struct tool *t, const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fputs("ublkit: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	print_synopsis(t);
	return EXIT_USAGE;
}

int tool_common_option(struct tool *t, int c, const char *usage)
{
	t->usage = usage;
	switch (c) {
	case 'h':
		fputs(usage, stdout);
		return EXIT_OK;
	case 'j':
	case 'J':
		t->json = true;
		return -1;
	default:
		/* getopt said which option is unknown or lacks its value */
		return tool_usage(t, NULL);
	}
}

int tool_parse_common(struct tool *t, int argc, char **argv, const char *usage)
{
	static const struct option opts[] = { TOOL_COMMON_LONGOPTS, {} };
	int c, r;

	t->usage = usage;
	while ((c = tool_getopt(t, argc, argv, "hj", opts)) != -1) {
		r = tool_common_option(t, c, usage);
		if (r >= 0)
			return r;
	}
	return -1;
}

int tool_no_args(struct tool *t, int argc, char **argv)
{
	if (optind < argc)
		return tool_usage(t, "unexpected argument '%s'", tool_shown(argv[optind]));
	return -1;
}

int tool_one_arg(struct tool *t, int argc, char **argv, const char *what, const char **ret)
{
	if (optind >= argc)
		return tool_usage(t, "%s needs %s", t->prog, what);
	if (optind + 1 < argc)
		return tool_usage(t, "unexpected argument '%s': %s takes one %s",
				  tool_shown(argv[optind + 1]), t->prog, what);
	*ret = argv[optind];
	return -1;
}

int tool_one_dev_id(struct tool *t, int argc, char **argv, uint32_t *id)
{
	const char *s = NULL;
	int r = tool_one_arg(t, argc, argv, "device id", &s);

	if (r >= 0)
		return r;
	return tool_dev_id(t, s, id) < 0 ? EXIT_USAGE : -1;
}

int tool_checks_begin(struct tool *t)
{
	int saved = ublkit_ctx_get_log_priority(t->ctx);

	if (saved < UBLKIT_LOG_ERR)
		ublkit_ctx_set_log_priority(t->ctx, UBLKIT_LOG_ERR);
	return saved;
}

void tool_checks_end(struct tool *t, int saved)
{
	ublkit_ctx_set_log_priority(t->ctx, saved);
}

int tool_check_arg(struct tool *t, int (*check)(struct ublkit_ctx *ctx, const char *arg),
		   const char *arg)
{
	int saved = tool_checks_begin(t);
	int r = check(t->ctx, arg);

	tool_checks_end(t, saved);
	return r < 0 ? tool_usage(t, NULL) : -1;
}

int tool_opt_u16(struct tool *t, const char *opt, const char *arg, uint16_t max, uint16_t *ret)
{
	uint64_t v;

	if (tool_opt_uint(t, opt, arg, 1, max, &v) < 0)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

int tool_opt_uint(struct tool *t, const char *opt, const char *arg, uint64_t min, uint64_t max,
		  uint64_t *ret)
{
	int r = ublkit_parse_uint(arg, min, max, ret);

	if (r == -ERANGE)
		tool_usage(t, "--%s %s: out of range; give %llu to %llu", opt, tool_shown(arg),
			   (unsigned long long)min, (unsigned long long)max);
	else if (r < 0)
		tool_usage(t, "--%s '%s': not a number; give %llu to %llu (decimal digits)", opt,
			   tool_shown(arg), (unsigned long long)min, (unsigned long long)max);
	return r < 0 ? -EINVAL : 0;
}

int tool_opt_size(struct tool *t, const char *opt, const char *arg, uint64_t min, uint64_t max,
		  uint64_t *ret)
{
	char a[32], b[32];
	uint64_t v;
	int r = ublkit_parse_size(arg, &v);

	if (r == -EDOM)
		tool_usage(t, "--%s %s: not a whole number of bytes", opt, tool_shown(arg));
	else if (r == -ERANGE || (r == 0 && (v < min || v > max)))
		tool_usage(t, "--%s %s: out of range; give %s to %s", opt, tool_shown(arg),
			   tool_format_size(min, a, sizeof(a)), tool_format_size(max, b, sizeof(b)));
	else if (r < 0)
		tool_usage(t, "--%s '%s': not a size; give bytes or a number with K, M, G, T, P "
			   "or E (powers of 1024; KB, MB... are powers of 1000), such as 512M "
			   "or 1.5G", opt, tool_shown(arg));
	if (r < 0 || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

int tool_check_path(struct tool *t, const char *opt, const char *arg)
{
	if (!*arg)
		tool_usage(t, "--%s: empty; give a path", opt);
	else if (strlen(arg) >= PATH_MAX)
		tool_usage(t, "--%s '%s': longer than a path may be (%d bytes)", opt,
			   tool_shown(arg), PATH_MAX - 1);
	else if (has_control(arg))
		tool_usage(t, "--%s '%s': a path with control characters is not supported", opt,
			   tool_shown(arg));
	else
		return 0;
	return -EINVAL;
}

int tool_dev_id(struct tool *t, const char *s, uint32_t *id)
{
	int r = ublkit_parse_dev_id(s, id);

	if (r == -ERANGE)
		tool_usage(t, "device id '%s': out of range; ids go from 0 to %u", tool_shown(s),
			   UBLKIT_DEV_ID_MAX);
	else if (r < 0)
		tool_usage(t, "'%s' is not a device id (a number N, ublkN, ublkbN, /dev/ublkbN, "
			   "or ublkcN, /dev/ublkcN: the same device's control node)", tool_shown(s));
	return r < 0 ? -EINVAL : 0;
}

const char *tool_format_size(uint64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%" PRIu64 " B", bytes);
	else
		snprintf(buf, size, "%.1f %s", v, units[u]);
	return buf;
}

/* ---- JSON ------------------------------------------------------------- */

static int json_depth;
static bool json_need_comma[64];

static void json_indent(void)
{
	for (int i = 0; i < json_depth; i++)
		fputs("  ", stdout);
}

/* Length of the valid UTF-8 sequence of a non-ASCII character at @s, or 0. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned int n, min;
	uint32_t cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, min = 0x80, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, min = 0x800, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, min = 0x10000, cp = s[0] & 0x07;
	else
		return 0;
	for (unsigned int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and what lies past Unicode are not UTF-8 */
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A C1 control character (U+0080 to U+009F: CSI is U+009B) in UTF-8. */
static bool is_c1(const unsigned char *s, size_t n)
{
	return n == 2 && s[0] == 0xc2 && s[1] < 0xa0;
}

const char *tool_shown(const char *s)
{
	static char ring[4][TOOL_SHOWN_MAX + sizeof("...")];
	static unsigned int next;
	char *buf = ring[next++ % 4];
	size_t o = 0, n;

	if (!s)
		return "(none)";
	for (; *s; s += n) {
		const unsigned char *u = (const unsigned char *)s;
		bool bad;

		n = u[0] >= 0x80 ? utf8_seq(u) : 1;
		bad = n == 0 || u[0] < 0x20 || u[0] == 0x7f || is_c1(u, n);
		if (o + (bad ? 1 : n) > TOOL_SHOWN_MAX)
			break;
		if (bad) {
			buf[o++] = '?';
			n = n ? n : 1;
		} else {
			memcpy(buf + o, s, n);
			o += n;
		}
	}
	memcpy(buf + o, *s ? "..." : "", *s ? sizeof("...") : 1);
	return buf;
}

/*
 * JSON text is UTF-8. Strings from drives, file names and device names
 * may hold any byte: a byte that is not part of a valid sequence is
 * written as U+FFFD, so the document stays valid.
 */
void json_escape_to(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x80) {
			size_t n = utf8_seq((const unsigned char *)s);

			if (n) {
				fwrite(s, 1, n, f);
				s += n - 1;
			} else {
				fputs("\\ufffd", f);
			}
			continue;
		}
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_escape(const char *s)
{
	json_escape_to(stdout, s);
}

static void json_key(const char *key)
{
	if (json_need_comma[json_depth])
		putchar(',');
	if (json_depth > 0)
		putchar('\n');
	json_need_comma[json_depth] = true;
	json_indent();
	if (key) {
		json_escape(key);
		fputs(": ", stdout);
	}
}

static void json_open(const char *key, char c)
{
	json_key(key);
	putchar(c);
	if (json_depth < 63)
		json_depth++;
	json_need_comma[json_depth] = false;
}

static void json_close(char c)
{
	bool had = json_need_comma[json_depth];

	json_depth--;
	if (had) {
		putchar('\n');
		json_indent();
	}
	putchar(c);
}

void json_begin_object(const char *key)
{
	json_open(key, '{');
}

void json_end_object(void)
{
	json_close('}');
}

void json_begin_array(const char *key)
{
	json_open(key, '[');
}

void json_end_array(void)
{
	json_close(']');
}

void json_string(const char *key, const char *value)
{
	json_key(key);
	if (value)
		json_escape(value);
	else
		fputs("null", stdout);
}

void json_int(const char *key, long long value)
{
	json_key(key);
	printf("%lld", value);
}

void json_uint(const char *key, unsigned long long value)
{
	json_key(key);
	printf("%llu", value);
}

void json_bool(const char *key, bool value)
{
	json_key(key);
	fputs(value ? "true" : "false", stdout);
}

void json_null(const char *key)
{
	json_key(key);
	fputs("null", stdout);
}

void json_finish(void)
{
	putchar('\n');
	json_depth = 0;
	json_need_comma[0] = false;
	fflush(stdout);
}

void tool_show_library_errors(struct tool *t)
{
	if (ublkit_ctx_get_log_priority(t->ctx) < UBLKIT_LOG_ERR)
		ublkit_ctx_set_log_priority(t->ctx, UBLKIT_LOG_ERR);
}
