/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef UBLKIT_FAKE_UBLK_CTRL_H
#define UBLKIT_FAKE_UBLK_CTRL_H

#include <stdbool.h>

#include "ublkit/ublk.h"

#define FAKE_MAX_DEVS 16

struct fake_dev {
	bool present;
	struct ublkit_dev_info info;
};

extern struct fake_dev fake_devs[FAKE_MAX_DEVS];
extern int fake_nr_devs;
/* How many STOP_DEV, DEL_DEV and recovering spawns the code under test sent. */
extern int fake_stops, fake_dels, fake_spawns;

struct fake_dev *fake_add(uint32_t id, int state, int32_t pid, uint64_t flags, bool ublkit);
void fake_reset(void);

#endif
