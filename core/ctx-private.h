/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The layout of struct ublkit_ctx, for the files that need its fields. */
#ifndef UBLKIT_CTX_PRIVATE_H
#define UBLKIT_CTX_PRIVATE_H

#include <pthread.h>

#include "ublkit/ublkit.h"

struct ublk_ctrl;
struct ublk_ctrl_transport;
struct nvme_source;

#define UBLKIT_DEFAULT_CTRL_TIMEOUT_MS 30000

struct ublkit_ctx {
	int refcount;
	int log_priority;
	ublkit_log_fn log_fn;
	void *log_data;
	char *sysroot;		/* NULL: the real root */
	unsigned int ctrl_timeout_ms;
	/* Serializes the control ring between threads (recursive: a command
	 * may ask for the kernel's features first). */
	pthread_mutex_t ctrl_lock;
	struct ublk_ctrl *ctrl;	/* control ring, opened on first use */
	const struct ublk_ctrl_transport *ctrl_transport;	/* NULL: the kernel's */
	const struct nvme_source *nvme_source;	/* NULL: libnvme */
};

#endif
