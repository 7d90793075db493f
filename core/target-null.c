/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The null target: completes every request at once, stores nothing. */
#include "config.h"

#include "ublkit-private.h"
#include "target-private.h"

static int null_open(struct target *t, const char *arg, struct ublkit_dev_params *p)
{
	if (arg && *arg) {
		log_error(t->ctx, "target null takes no path (got '%s')", arg);
		return -EINVAL;
	}
	if (!p->size) {
		log_error(t->ctx, "target null needs a size");
		return -EINVAL;
	}
	t->user_copy_ok = true; /* it moves no data at all */
	return 0;
}

static int null_rw(struct target *t, struct ublk_queue *q, struct ublk_io *io)
{
	return (int)io->len;
}

static int null_other(struct target *t, struct ublk_queue *q, struct ublk_io *io)
{
	return 0;
}

const struct target_ops target_null_ops = {
	.name = "null",
	.summary = "completes every request, stores nothing",
	.flags = UBLKIT_TARGET_NEEDS_SIZE | UBLKIT_TARGET_SURVIVES_SERVER |
		 UBLKIT_TARGET_USER_COPY,
	.open = null_open,
	.read = null_rw,
	.write = null_rw,
	.discard = null_other,
	.write_zeroes = null_other,
};
