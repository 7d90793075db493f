/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fake ublk control transport for white-box unit tests: the control
 * commands answer from a table the test fills in, instead of from
 * /dev/ublk-control. Linked in place of ublk-ctrl.c and ublk-server.c.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake-ublk-ctrl.h"
#include "ublk-private.h"

struct fake_dev fake_devs[FAKE_MAX_DEVS];
int fake_nr_devs;
int fake_stops, fake_dels, fake_spawns;

static struct fake_dev *find(uint32_t id)
{
	for (int i = 0; i < fake_nr_devs; i++)
		if (fake_devs[i].present && fake_devs[i].info.id == id)
			return &fake_devs[i];
	return NULL;
}

struct fake_dev *fake_add(uint32_t id, int state, int32_t pid, uint64_t flags, bool ublkit)
{
	struct fake_dev *d = &fake_devs[fake_nr_devs++];

	memset(d, 0, sizeof(*d));
	d->present = true;
	d->info.id = id;
	d->info.state = state;
	d->info.server_pid = pid;
	d->info.flags = flags;
	d->info.nr_queues = 1;
	d->info.queue_depth = 64;
	d->info.server_flags = ublkit ? UBLKIT_OWNER_MARK : 0;
	return d;
}

void fake_reset(void)
{
	memset(fake_devs, 0, sizeof(fake_devs));
	fake_nr_devs = fake_stops = fake_dels = fake_spawns = 0;
}

int ublkit_ublk_get_info_sz(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_dev_info *info,
			    size_t size)
{
	struct fake_dev *d = find(id);

	if (!d)
		return -ENODEV;
	*info = d->info;
	return 0;
}

int ublkit_ublk_list(struct ublkit_ctx *ctx, uint32_t **ids)
{
	uint32_t *v = calloc(FAKE_MAX_DEVS, sizeof(*v));
	int n = 0;

	for (int i = 0; i < fake_nr_devs; i++)
		if (fake_devs[i].present)
			v[n++] = fake_devs[i].info.id;
	*ids = v;
	return n;
}

int ublkit_ublk_stop(struct ublkit_ctx *ctx, uint32_t id)
{
	fake_stops++;
	return find(id) ? 0 : -ENODEV;
}

int ublkit_ublk_del(struct ublkit_ctx *ctx, uint32_t id)
{
	struct fake_dev *d = find(id);

	fake_dels++;
	if (!d)
		return -ENODEV;
	d->present = false;
	return 0;
}

int ublkit_server_spawn_sz(struct ublkit_ctx *ctx, const struct ublkit_dev_params *params,
			   size_t params_size, const char *target, const char *target_arg,
			   int recover_id, unsigned int flags, struct ublkit_spawn_result *res,
			   size_t res_size)
{
	struct fake_dev *d = find((uint32_t)recover_id);

	fake_spawns++;
	if (!d)
		return -ENODEV;
	d->info.state = UBLKIT_DEV_LIVE;
	d->info.server_pid = 1; /* alive in every fake root */
	return 0;
}

void ublk_ctrl_free(struct ublk_ctrl *ctrl)
{
}

int ublkit_ublk_block_path(uint32_t id, char *buf, size_t size)
{
	snprintf(buf, size, "/dev/ublkb%u", id);
	return 0;
}

void ublkit_dev_params_init_sz(struct ublkit_dev_params *p, size_t size)
{
	memset(p, 0, sizeof(*p));
	p->dev_id = -1;
}

int ublkit_dev_info_is_ublkit(const struct ublkit_dev_info *info)
{
	return (info->server_flags >> 32) == UBLKIT_OWNER_MAGIC;
}

const char *ublkit_dev_state_name(int state)
{
	return state == UBLKIT_DEV_LIVE ? "live" : state == UBLKIT_DEV_DEAD ? "dead" : "quiesced";
}

int ublkit_ublk_get_params_sz(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_dev_params *p,
			      size_t size)
{
	return find(id) ? -ENODATA : -ENODEV; /* no parameters set yet */
}

int ublkit_ublk_disk_size(struct ublkit_ctx *ctx, uint32_t id, uint64_t *bytes)
{
	*bytes = 0; /* no disk */
	return 0;
}
