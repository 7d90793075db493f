/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fake ublk driver for white-box unit tests, behind the library's
 * control transport: ublk-ctrl.c builds and encodes every command for
 * real, this answers them the way ublk_drv does.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fake-ublk-ctrl.h"
#include "test.h"

struct fake_kernel fake;

/* A device node big enough to map every queue's descriptors from. */
#define FAKE_CDEV_BYTES (64u << 20)

static void nodes_create(uint32_t id)
{
	char rel[128], p[4096];
	int fd;

	if (!fake.root)
		return;
	snprintf(rel, sizeof(rel), "/sys/class/ublk-char/ublkc%u", id);
	fake_mkdir(fake.root, rel);
	fake_mkdir(fake.root, "/dev");
	snprintf(p, sizeof(p), "%s/dev/ublkc%u", fake.root, id);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		if (ftruncate(fd, FAKE_CDEV_BYTES) < 0)
			perror("ftruncate");
		close(fd);
	}
}

static void nodes_remove(uint32_t id)
{
	char p[4096];

	if (!fake.root)
		return;
	snprintf(p, sizeof(p), "%s/sys/class/ublk-char/ublkc%u", fake.root, id);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/dev/ublkc%u", fake.root, id);
	unlink(p);
}

struct fake_dev *fake_find(uint32_t id)
{
	for (int i = 0; i < fake.nr_devs; i++)
		if (fake.devs[i].present && fake.devs[i].info.id == id)
			return &fake.devs[i];
	return NULL;
}

static struct fake_dev *dev_new(uint32_t id)
{
	struct fake_dev *d = NULL;

	for (int i = 0; i < fake.nr_devs && !d; i++)
		if (!fake.devs[i].present)
			d = &fake.devs[i];
	if (!d) {
		if (fake.nr_devs == FAKE_MAX_DEVS) {
			fprintf(stderr, "fake ublk: too many devices\n");
			exit(EXIT_FAILURE);
		}
		d = &fake.devs[fake.nr_devs++];
	}
	memset(d, 0, sizeof(*d));
	d->present = true;
	d->info.id = id;
	nodes_create(id);
	return d;
}

struct fake_dev *fake_add(uint32_t id, int state, int32_t pid, uint64_t flags, bool ublkit)
{
	struct fake_dev *d = dev_new(id);

	d->info.state = state;
	d->info.server_pid = pid;
	d->info.flags = flags;
	d->info.nr_queues = 1;
	d->info.queue_depth = 64;
	d->info.max_io_buf_bytes = 128 << 10;
	d->info.server_flags = ublkit ? UBLKIT_OWNER_MARK : 0;
	return d;
}

void fake_reset(const char *root)
{
	memset(&fake, 0, sizeof(fake));
	fake.root = root;
	fake.features = 0x1fe;
}

int fake_count(unsigned int nr)
{
	int n = 0;

	for (int i = 0; i < fake.nr_cmds; i++)
		n += fake.cmds[i].nr == nr;
	return n;
}

const struct fake_cmd *fake_last(unsigned int nr)
{
	for (int i = fake.nr_cmds - 1; i >= 0; i--)
		if (fake.cmds[i].nr == nr)
			return &fake.cmds[i];
	return NULL;
}

static bool buf_ok(const struct ublksrv_ctrl_cmd *cmd, size_t want)
{
	return cmd->addr && cmd->len >= want;
}

static int do_get_info(const struct ublksrv_ctrl_cmd *cmd)
{
	struct fake_dev *d = fake_find(cmd->dev_id);
	struct ublkit_uapi_dev_info di = { 0 };

	if (!d)
		return -ENODEV;
	if (!buf_ok(cmd, sizeof(di)))
		return -EINVAL;
	di.dev_id = d->info.id;
	di.state = (uint16_t)d->info.state;
	di.nr_hw_queues = d->info.nr_queues;
	di.queue_depth = d->info.queue_depth;
	di.max_io_buf_bytes = d->info.max_io_buf_bytes;
	di.ublksrv_pid = d->info.server_pid;
	di.flags = d->info.flags;
	di.ublksrv_flags = d->info.server_flags;
	di.owner_uid = d->info.owner_uid;
	di.owner_gid = d->info.owner_gid;
	memcpy((void *)(uintptr_t)cmd->addr, &di, sizeof(di));
	return 0;
}

static int do_add(const struct ublksrv_ctrl_cmd *cmd, struct fake_cmd *rec)
{
	struct ublkit_uapi_dev_info *di = (void *)(uintptr_t)cmd->addr;
	struct fake_dev *d;
	uint32_t id;

	if (!buf_ok(cmd, sizeof(*di)))
		return -EINVAL;
	rec->in.info = *di;
	if (di->dev_id != cmd->dev_id)
		return -EINVAL;
	if (!di->nr_hw_queues || !di->queue_depth)
		return -EINVAL;
	id = di->dev_id;
	if (id == (uint32_t)-1)
		for (id = 0; fake_find(id); id++)
			;
	else if (fake_find(id))
		return -EEXIST;
	d = dev_new(id);
	di->dev_id = id;
	di->flags &= ~fake.drop_flags;
	di->state = UBLKIT_DEV_DEAD;
	d->info.state = UBLKIT_DEV_DEAD;
	d->info.nr_queues = di->nr_hw_queues;
	d->info.queue_depth = di->queue_depth;
	d->info.max_io_buf_bytes = di->max_io_buf_bytes;
	d->info.server_pid = di->ublksrv_pid;
	d->info.flags = di->flags;
	d->info.server_flags = di->ublksrv_flags;
	return 0;
}

static int do_params(const struct ublksrv_ctrl_cmd *cmd, struct fake_cmd *rec, bool set)
{
	struct fake_dev *d = fake_find(cmd->dev_id);
	struct ublk_params *p = (void *)(uintptr_t)cmd->addr;

	if (!d)
		return -ENODEV;
	if (!buf_ok(cmd, sizeof(*p)) || p->len < sizeof(*p))
		return -EINVAL;
	if (set) {
		rec->in.params = *p;
		if (d->info.state == UBLKIT_DEV_LIVE)
			return -EACCES;
		d->params = *p;
		d->has_params = true;
		return 0;
	}
	if (!d->has_params)
		return -ENODEV;
	*p = d->params;
	return 0;
}

static int do_cmd(unsigned int nr, const struct ublksrv_ctrl_cmd *cmd, struct fake_cmd *rec)
{
	struct fake_dev *d = fake_find(cmd->dev_id);

	switch (nr) {
	case UBLK_CMD_GET_FEATURES:
		if (fake.get_features_result)
			return fake.get_features_result;
		if (!buf_ok(cmd, sizeof(uint64_t)))
			return -EINVAL;
		memcpy((void *)(uintptr_t)cmd->addr, &fake.features, sizeof(uint64_t));
		return 0;
	case UBLK_CMD_GET_DEV_INFO:
	case UBLK_CMD_GET_DEV_INFO2:
		return do_get_info(cmd);
	case UBLK_CMD_ADD_DEV:
		return do_add(cmd, rec);
	case UBLK_CMD_SET_PARAMS:
		return do_params(cmd, rec, true);
	case UBLK_CMD_GET_PARAMS:
		return do_params(cmd, rec, false);
	case UBLK_CMD_START_DEV:
		if (!d)
			return -ENODEV;
		d->info.state = UBLKIT_DEV_LIVE;
		d->info.server_pid = (int32_t)cmd->data[0];
		return 0;
	case UBLK_CMD_STOP_DEV:
		if (!d)
			return -ENODEV;
		d->info.state = UBLKIT_DEV_DEAD;
		return 0;
	case UBLK_CMD_DEL_DEV:
		if (!d)
			return -ENODEV;
		d->present = false;
		nodes_remove(cmd->dev_id);
		return 0;
	case UBLK_CMD_START_USER_RECOVERY:
		if (!d)
			return -ENODEV;
		return d->info.state == UBLKIT_DEV_QUIESCED ? 0 : -EBUSY;
	case UBLK_CMD_END_USER_RECOVERY:
		if (!d)
			return -ENODEV;
		d->info.state = UBLKIT_DEV_LIVE;
		d->info.server_pid = (int32_t)cmd->data[0];
		return 0;
	default:
		return -EINVAL;
	}
}

static int fake_transport_cmd(struct ublkit_ctx *ctx, void *data, unsigned int op,
			      const struct ublksrv_ctrl_cmd *cmd, unsigned int timeout_ms)
{
	struct fake_cmd scratch, *rec = fake.nr_cmds < FAKE_MAX_CMDS ? &fake.cmds[fake.nr_cmds++]
								     : &scratch;
	bool encoded = op > 0xff;

	memset(rec, 0, sizeof(*rec));
	rec->op = op;
	rec->encoded = encoded;
	rec->nr = encoded ? _IOC_NR(op) : op;
	rec->cmd = *cmd;
	rec->timeout_ms = timeout_ms;
	if (encoded && (_IOC_TYPE(op) != 'u' || _IOC_SIZE(op) != sizeof(*cmd)))
		rec->result = -ENOTTY;
	else if (encoded && rec->nr != UBLK_CMD_GET_FEATURES &&
		 !(fake.features & UBLK_F_CMD_IOCTL_ENCODE))
		rec->result = -EINVAL; /* a kernel that predates the encoding */
	else if (cmd->queue_id != (uint16_t)-1)
		rec->result = -EINVAL;
	else if (rec->nr == fake.stuck_nr)
		rec->result = -ETIME;
	else if (rec->nr == fake.fail_nr)
		rec->result = fake.fail_result;
	else
		rec->result = do_cmd(rec->nr, cmd, rec);
	return rec->result;
}

static const struct ublk_ctrl_transport fake_transport = { .cmd = fake_transport_cmd };

void fake_install(struct ublkit_ctx *ctx)
{
	ublk_ctrl_set_transport(ctx, &fake_transport);
}
