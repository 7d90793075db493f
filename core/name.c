/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Names that reach the kernel or the file system: module names, device-
 * mapper names and UUIDs, swap labels, paths a user gives. Each is
 * checked here, once, against what the kernel (or ublkit) allows, before
 * a path, a table or a file is built from it. A name that is refused is
 * never printed raw: its control characters could drive a terminal.
 */
#include "config.h"

#include <limits.h>

#include "ublkit-private.h"
#include "name-private.h"
#include "ublkit/dm.h"
#include "ublkit/swap.h"

/* include/linux/module.h: MODULE_NAME_LEN is 64 - sizeof(unsigned long). */
#define KERNEL_MODULE_NAME_LEN (64 - sizeof(unsigned long))
/* include/uapi/linux/dm-ioctl.h */
#define KERNEL_DM_NAME_LEN 128
#define KERNEL_DM_UUID_LEN 129

static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

bool name_has_control(const char *s)
{
	for (; *s; s++)
		if (is_control((unsigned char)*s))
			return true;
	return false;
}

/* Length of the UTF-8 sequence of a printable character at @s (past
 * ASCII), or 0: not UTF-8, or a C1 control such as CSI (U+009B). */
static size_t printable_seq(const unsigned char *s)
{
	size_t n;
	uint32_t cp, min;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, min = 0xa0, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, min = 0x800, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, min = 0x10000, cp = s[0] & 0x07u;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* U+0080 to U+009F in UTF-8: C1 controls (CSI is U+009B). */
static bool is_c1(const unsigned char *s)
{
	return s[0] == 0xc2 && s[1] >= 0x80 && s[1] < 0xa0;
}

const char *name_printable(const char *s, char *buf, size_t size)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n, seq;

	if (!size)
		return "";
	for (; u && *u; u += n) {
		seq = *u >= 0x80 ? printable_seq(u) : !is_control(*u);
		/* what is not shown is one '?': a C1 control, or a byte */
		n = seq ? seq : is_c1(u) ? 2 : 1;
		if (i + (seq ? seq : 1) >= size)
			break;
		if (seq)
			memcpy(buf + i, u, seq);
		else
			buf[i] = '?';
		i += seq ? seq : 1;
	}
	buf[i] = '\0';
	return buf;
}

int name_check_component(struct ublkit_ctx *ctx, const char *what, const char *name,
			 size_t max)
{
	char shown[80];
	size_t len = name ? strlen(name) : 0;

	if (!len) {
		log_error(ctx, "%s: empty; give 1 to %zu bytes", what, max);
		return -EINVAL;
	}
	name_printable(name, shown, sizeof(shown));
	if (len > max) {
		log_error(ctx, "%s '%s%s': %zu bytes; at most %zu fit", what, shown,
			  len >= sizeof(shown) ? "..." : "", len, max);
		return -EINVAL;
	}
	if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
	    name_has_control(name)) {
		log_error(ctx, "%s '%s': may not contain '/' or control characters, nor be "
			  "'.' or '..'", what, shown);
		return -EINVAL;
	}
	return 0;
}

int name_check_path(struct ublkit_ctx *ctx, const char *what, const char *path)
{
	char shown[80];

	if (!path || !*path) {
		log_error(ctx, "%s: empty; give a path", what);
		return -EINVAL;
	}
	name_printable(path, shown, sizeof(shown));
	if (strlen(path) >= PATH_MAX) {
		log_error(ctx, "%s '%s...': longer than a path may be (%d bytes)", what, shown,
			  PATH_MAX - 1);
		return -ENAMETOOLONG;
	}
	if (name_has_control(path)) {
		log_error(ctx, "%s '%s': a path with control characters is not supported", what,
			  shown);
		return -EINVAL;
	}
	return 0;
}

int name_check_dm_uuid(struct ublkit_ctx *ctx, const char *uuid)
{
	char shown[80];
	size_t len = uuid ? strlen(uuid) : 0;

	if (len && len < KERNEL_DM_UUID_LEN && !name_has_control(uuid))
		return 0;
	log_error(ctx, "device-mapper UUID '%s': 1 to %d bytes without control characters",
		  name_printable(uuid, shown, sizeof(shown)), KERNEL_DM_UUID_LEN - 1);
	return -EINVAL;
}

static bool is_module_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

UBLKIT_EXPORT int ublkit_kmod_name_check(struct ublkit_ctx *ctx, const char *name)
{
	char shown[80];
	size_t len = name ? strlen(name) : 0;
	/* a leading '-' would read as an option to modprobe(8) and friends */
	bool ok = len > 0 && len <= UBLKIT_KMOD_NAME_MAX && name[0] != '-';

	for (size_t i = 0; ok && i < len; i++)
		ok = is_module_char(name[i]);
	if (ok)
		return 0;
	log_error(ctx, "'%s%s' is not a module name: 1 to %d letters, digits, '_' and '-', "
		  "not starting with '-' (such as ublk_drv or dm-crypt)",
		  name_printable(name, shown, sizeof(shown)), len >= sizeof(shown) ? "..." : "",
		  UBLKIT_KMOD_NAME_MAX);
	return -EINVAL;
}

/* A name ublkit gives: its part devices (NAME-tmeta, ...) and UUIDs fit. */
static bool dm_name_ublkit(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > UBLKIT_DM_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (const char *c = name; *c; c++)
		if (!(is_module_char(*c) || *c == '.' || *c == '+'))
			return false;
	return true;
}

UBLKIT_EXPORT int ublkit_dm_name_check(struct ublkit_ctx *ctx, const char *name,
				       unsigned int flags)
{
	char shown[80];
	int r;

	if (flags & ~UBLKIT_DM_NAME_CREATE)
		return -EINVAL;
	/* the kernel's rule (dm-ioctl.c): shorter than DM_NAME_LEN, no '/'; and
	 * "control" is the control node's name in /dev/mapper */
	r = name_check_component(ctx, "device-mapper name", name, KERNEL_DM_NAME_LEN - 1);
	if (r < 0)
		return r;
	if (!strcmp(name, "control")) {
		log_error(ctx, "device-mapper name 'control': taken by /dev/mapper/control");
		return -EINVAL;
	}
	if ((flags & UBLKIT_DM_NAME_CREATE) && !dm_name_ublkit(name)) {
		log_error(ctx, "device-mapper name '%s': a device ublkit creates has a name of 1 "
			  "to %d letters, digits and _.+- that starts with a letter, digit, "
			  "'_' or '+'", name_printable(name, shown, sizeof(shown)),
			  UBLKIT_DM_NAME_MAX);
		return -EINVAL;
	}
	return 0;
}

UBLKIT_EXPORT int ublkit_swap_label_check(struct ublkit_ctx *ctx, const char *label)
{
	if (!label || !*label)
		return 0;
	return name_check_component(ctx, "swap label", label, UBLKIT_SWAP_LABEL_MAX);
}
