/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mem target: a RAM disk. The store is an anonymous mapping reserved
 * for the whole size but only backed where written, so it is sparse;
 * discard and write-zeroes give whole pages back to the kernel.
 */
#include "config.h"

#include <sys/mman.h>

#include "ublkit-private.h"
#include "target-private.h"

struct mem {
	char *base;
	uint64_t size;
	size_t page;
};

static int mem_open(struct target *t, const char *arg, struct ublkit_dev_params *p)
{
	struct mem *m = t->priv;

	if (arg && *arg) {
		log_error(t->ctx, "target mem takes no path (got '%s')", arg);
		return -EINVAL;
	}
	if (!p->size) {
		log_error(t->ctx, "target mem needs a size");
		return -EINVAL;
	}
	if (p->size > SIZE_MAX / 2)
		return -EFBIG;
	m->size = p->size;
	m->page = (size_t)sysconf(_SC_PAGESIZE);
	m->base = mmap(NULL, (size_t)p->size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->base == MAP_FAILED) {
		m->base = NULL;
		return log_ret(t->ctx, neg_errno(), "target mem: cannot reserve %llu bytes",
			       (unsigned long long)p->size);
	}
	/* Keep the store out of core dumps of a crashed server. */
	madvise(m->base, (size_t)p->size, MADV_DONTDUMP);
	t->user_copy_ok = true;
	return 0;
}

static void mem_close(struct target *t)
{
	struct mem *m = t->priv;

	if (m->base)
		munmap(m->base, (size_t)m->size);
}

static bool mem_in_range(const struct mem *m, const struct ublk_io *io)
{
	return io->offset <= m->size && io->len <= m->size - io->offset;
}

static int mem_read(struct target *t, struct ublk_queue *q, struct ublk_io *io)
{
	struct mem *m = t->priv;

	if (!mem_in_range(m, io))
		return -EIO;
	return queue_copy_to_request(q, io, m->base + io->offset, io->len);
}

static int mem_write(struct target *t, struct ublk_queue *q, struct ublk_io *io)
{
	struct mem *m = t->priv;

	if (!mem_in_range(m, io))
		return -EIO;
	return queue_copy_from_request(q, io, m->base + io->offset, io->len);
}

/* Zero a range: whole pages are dropped (they read back as zeroes). */
static int mem_zero(struct target *t, struct ublk_queue *q, struct ublk_io *io)
{
	struct mem *m = t->priv;
	uint64_t start = io->offset, end = io->offset + io->len;
	uint64_t pstart = (start + m->page - 1) & ~(uint64_t)(m->page - 1);
	uint64_t pend = end & ~(uint64_t)(m->page - 1);

	if (!mem_in_range(m, io))
		return -EIO;
	if (pstart >= pend) {
		data_zero(m->base + start, io->len);
		return 0;
	}
	data_zero(m->base + start, pstart - start);
	data_zero(m->base + pend, end - pend);
	/* Locked memory cannot be dropped: zero it instead. */
	if (madvise(m->base + pstart, pend - pstart, MADV_DONTNEED) < 0)
		data_zero(m->base + pstart, pend - pstart);
	return 0;
}

const struct target_ops target_mem_ops = {
	.name = "mem",
	.summary = "RAM disk, sparse: memory is used only where written",
	/* Allocates on the I/O path: never swap. */
	.flags = UBLKIT_TARGET_NEEDS_SIZE | UBLKIT_TARGET_USER_COPY,
	.priv_size = sizeof(struct mem),
	.open = mem_open,
	.close = mem_close,
	.read = mem_read,
	.write = mem_write,
	.discard = mem_zero,
	.write_zeroes = mem_zero,
};
