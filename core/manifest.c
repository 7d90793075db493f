/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What ublkit records about each device it serves, under
 * /run/ublkit/devices/ID/: "manifest" (key=value lines: the target and
 * parameters, enough for a new server to take the device over) and
 * "stats" (see stats.c). Written atomically; removed with the device.
 */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "ublkit-private.h"
#include "manifest-private.h"

#define RUN_DIR "/run/ublkit"

int manifest_dir(const struct ublkit_ctx *ctx, uint32_t id, const char *file, char *buf,
		 size_t size)
{
	if (file)
		return ublkit_pathf(ctx, buf, size, RUN_DIR "/devices/%u/%s", id, file);
	return ublkit_pathf(ctx, buf, size, RUN_DIR "/devices/%u", id);
}

int manifest_mkdir(const struct ublkit_ctx *ctx, uint32_t id)
{
	char p[4096];
	int r;

	r = ublkit_ctx_path(ctx, RUN_DIR, p, sizeof(p));
	if (r < 0)
		return r;
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return neg_errno();
	strncat(p, "/devices", sizeof(p) - strlen(p) - 1);
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return neg_errno();
	r = manifest_dir(ctx, id, NULL, p, sizeof(p));
	if (r < 0)
		return r;
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return neg_errno();
	return 0;
}

int manifest_format(const struct ublkit_manifest *m, char *buf, size_t size)
{
	const struct ublkit_dev_params *p = &m->params;
	int n;

	if (strchr(m->target, '\n') || strchr(m->target_arg, '\n'))
		return -EINVAL;
	n = snprintf(buf, size,
		     "id=%u\ndev_id=%d\ntarget=%s\ntarget_arg=%s\nsize=%" PRIu64 "\n"
		     "logical_block_size=%u\n"
		     "physical_block_size=%u\nmax_io_bytes=%u\nnr_queues=%u\nqueue_depth=%u\n"
		     "flags=%u\ndiscard_granularity=%u\nmax_discard_bytes=%u\nserver_pid=%d\n"
		     "server_start=%" PRIu64 "\n",
		     m->id, p->dev_id, m->target, m->target_arg, p->size, p->logical_block_size,
		     p->physical_block_size, p->max_io_bytes, p->nr_queues, p->queue_depth, p->flags,
		     p->discard_granularity, p->max_discard_bytes, m->server_pid, m->server_start);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

int manifest_write(struct ublkit_ctx *ctx, const struct ublkit_manifest *m)
{
	char path[4096], text[8192];
	int r, n;

	n = manifest_format(m, text, sizeof(text));
	if (n < 0)
		return n;
	r = manifest_mkdir(ctx, m->id);
	if (r < 0)
		return r;
	r = manifest_dir(ctx, m->id, "manifest", path, sizeof(path));
	if (r < 0)
		return r;
	return write_file_atomic(path, text, (size_t)n);
}

void manifest_remove(struct ublkit_ctx *ctx, uint32_t id)
{
	char p[4096];

	if (manifest_dir(ctx, id, "manifest", p, sizeof(p)) >= 0)
		unlink(p);
	if (manifest_dir(ctx, id, "stats", p, sizeof(p)) >= 0)
		unlink(p);
	if (manifest_dir(ctx, id, NULL, p, sizeof(p)) >= 0)
		rmdir(p);
}

/* A value that does not fit its field is ignored like a non-number: cut
 * to size, server_pid=4294967297 would name pid 1. */
static void manifest_set(struct ublkit_manifest *m, const char *key, const char *val)
{
	struct ublkit_dev_params *p = &m->params;
	uint64_t v = 0;
	bool num = ublkit_parse_u64(val, &v) == 0;

	if (strcmp(key, "target") == 0)
		snprintf(m->target, sizeof(m->target), "%s", val);
	else if (strcmp(key, "target_arg") == 0)
		snprintf(m->target_arg, sizeof(m->target_arg), "%s", val);
	else if (strcmp(key, "dev_id") == 0)
		p->dev_id = strcmp(val, "-1") == 0 ? -1 : num && v <= INT32_MAX ? (int32_t)v : -1;
	else if (!num)
		return;
	else if (strcmp(key, "size") == 0)
		p->size = v;
	else if (strcmp(key, "server_start") == 0)
		m->server_start = v;
	else if (strcmp(key, "server_pid") == 0)
		m->server_pid = v <= INT32_MAX ? (int32_t)v : m->server_pid;
	else if (v <= UINT16_MAX && strcmp(key, "nr_queues") == 0)
		p->nr_queues = (uint16_t)v;
	else if (v <= UINT16_MAX && strcmp(key, "queue_depth") == 0)
		p->queue_depth = (uint16_t)v;
	else if (v > UINT32_MAX)
		return;
	else if (strcmp(key, "id") == 0)
		m->id = (uint32_t)v;
	else if (strcmp(key, "logical_block_size") == 0)
		p->logical_block_size = (uint32_t)v;
	else if (strcmp(key, "physical_block_size") == 0)
		p->physical_block_size = (uint32_t)v;
	else if (strcmp(key, "max_io_bytes") == 0)
		p->max_io_bytes = (uint32_t)v;
	else if (strcmp(key, "flags") == 0)
		p->flags = (uint32_t)v;
	else if (strcmp(key, "discard_granularity") == 0)
		p->discard_granularity = (uint32_t)v;
	else if (strcmp(key, "max_discard_bytes") == 0)
		p->max_discard_bytes = (uint32_t)v;
}

int manifest_parse_kv(struct ublkit_manifest *m, char *line)
{
	char *eq = strchr(line, '=');

	line[strcspn(line, "\n")] = '\0';
	if (!eq || eq == line)
		return -EINVAL;
	*eq = '\0';
	manifest_set(m, line, eq + 1);
	*eq = '=';
	return 0;
}

void manifest_init(struct ublkit_manifest *m)
{
	memset(m, 0, sizeof(*m));
	ublkit_dev_params_init(&m->params);
}

static int manifest_read(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_manifest *m);

UBLKIT_EXPORT int ublkit_manifest_read_sz(struct ublkit_ctx *ctx, uint32_t id,
					  struct ublkit_manifest *m, size_t size)
{
	struct ublkit_manifest full;
	int r = manifest_read(ctx, id, &full);

	if (r >= 0)
		struct_out(m, size, &full, sizeof(full));
	return r;
}

static int manifest_read(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_manifest *m)
{
	_cleanup_fclose_ FILE *f = NULL;
	char p[4096];
	int r;

	r = manifest_dir(ctx, id, "manifest", p, sizeof(p));
	if (r < 0)
		return r;
	f = fopen(p, "re");
	if (!f)
		return neg_errno();
	manifest_init(m);
	m->id = id;
	return manifest_parse(m, f);
}

int manifest_parse(struct ublkit_manifest *m, FILE *f)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	while (getline(&line, &cap, f) > 0)
		(void)manifest_parse_kv(m, line);
	if (!m->target[0])
		return -EBADMSG;
	return 0;
}
