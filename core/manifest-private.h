/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Run state: /run/ublkit/devices/ID/ (manifest.c). */
#ifndef UBLKIT_MANIFEST_PRIVATE_H
#define UBLKIT_MANIFEST_PRIVATE_H

#include <stdio.h>

#include "ublkit/ublk.h"

/* Write m->id's manifest atomically (creating its directory). */
int manifest_write(struct ublkit_ctx *ctx, const struct ublkit_manifest *m);
/* Remove the manifest, the stats file and the directory of @id. */
void manifest_remove(struct ublkit_ctx *ctx, uint32_t id);
int manifest_mkdir(const struct ublkit_ctx *ctx, uint32_t id);
int manifest_dir(const struct ublkit_ctx *ctx, uint32_t id, const char *file, char *buf,
		 size_t size);
/* Defaults: params from ublkit_dev_params_init(), everything else 0. */
void manifest_init(struct ublkit_manifest *m);
/* "key=value\n" lines, the manifest file's format (and the server's argv).
 * Returns the length, -EINVAL for a value holding a newline. */
int manifest_format(const struct ublkit_manifest *m, char *buf, size_t size);
/* Take one "key=value" line into @m; unknown keys are ignored. */
int manifest_parse_kv(struct ublkit_manifest *m, char *line);
/* Every line of @f into @m (initialised by the caller). -EBADMSG: no target. */
int manifest_parse(struct ublkit_manifest *m, FILE *f);

#endif
