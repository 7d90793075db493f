/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a name may be before it goes into a path, a table or a file
 * (name.c). Every check returns 0 or -EINVAL, and logs what is allowed.
 * Not installed.
 */
#ifndef UBLKIT_NAME_PRIVATE_H
#define UBLKIT_NAME_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "ublkit/ublkit.h"

/* A control character (0x01-0x1f, 0x7f) in @s? */
bool name_has_control(const char *s);

/*
 * @name may become one component of a path: 1 to @max bytes, no '/', not
 * "." or "..", no control character. @what names it in the message
 * ("swap label", "device-mapper name").
 */
int name_check_component(struct ublkit_ctx *ctx, const char *what, const char *name,
			 size_t max);

/* @path is a path a user gave: not empty, shorter than PATH_MAX, no
 * control character (they cannot be recorded in ublkit's run state). */
int name_check_path(struct ublkit_ctx *ctx, const char *what, const char *path);

/* A DM UUID: 1 to DM_UUID_LEN - 1 bytes, no control character. */
int name_check_dm_uuid(struct ublkit_ctx *ctx, const char *uuid);

/* @s for a message: at most @size - 1 bytes (whole characters), control
 * characters (C0, DEL, C1) and bytes that are not UTF-8 as '?'. */
const char *name_printable(const char *s, char *buf, size_t size);

#endif
