/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * LD_PRELOAD shim for the VM tests: a ublk server that is about to send
 * START_DEV or END_USER_RECOVERY stops itself (SIGSTOP) first, with every
 * queue fetched, so a test can catch a server in the middle of setting up
 * its device. It wraps liburing's io_uring_submit() and looks at the
 * control commands queued on 128-byte-SQE rings (the ublk control ring).
 * Built by tests/vm/run; never part of ublkit.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <liburing.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

/* Command numbers of the ublk control plane (the kernel's UAPI). */
#define UBLK_CMD_START_DEV 0x06
#define UBLK_CMD_END_USER_RECOVERY 0x11

static int (*real_submit)(struct io_uring *);

static int is_start(const struct io_uring_sqe *sqe)
{
	unsigned int nr = sqe->cmd_op & 0xff; /* legacy or ioctl-encoded */

	return sqe->opcode == IORING_OP_URING_CMD &&
	       (nr == UBLK_CMD_START_DEV || nr == UBLK_CMD_END_USER_RECOVERY);
}

int io_uring_submit(struct io_uring *ring)
{
	if (!real_submit)
		real_submit = (int (*)(struct io_uring *))dlsym(RTLD_NEXT, "io_uring_submit");
	if (ring->flags & IORING_SETUP_SQE128) {
		for (unsigned int i = ring->sq.sqe_head; i != ring->sq.sqe_tail; i++) {
			const struct io_uring_sqe *sqe =
				&ring->sq.sqes[(i & *ring->sq.kring_mask) << 1];

			if (is_start(sqe)) {
				fprintf(stderr, "stop-before-start: pid %d stops\n", (int)getpid());
				raise(SIGSTOP);
			}
		}
	}
	return real_submit(ring);
}
