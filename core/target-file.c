/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The file target: a regular file or a block device (an NVMe namespace,
 * say), served asynchronously on the queue's own io_uring. O_DIRECT is
 * used where the file system allows it; discard and write-zeroes become
 * fallocate() and reach the device below.
 */
#include "config.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "ublkit-private.h"
#include "target-private.h"

struct file {
	bool direct;
	bool in_memory;		/* tmpfs/ramfs: a copy, never a wait; done inline */
	char *map;		/* in_memory: the file mapped shared, or NULL */
	size_t map_len;
	bool blockdev;
	/* A regular file that backs swap: discards never punch holes in it. */
	bool keep_blocks;
	uint64_t size;
};

#define TMPFS_MAGIC_ 0x01021994
#define RAMFS_MAGIC_ 0x858458f6
#define BTRFS_MAGIC_ 0x9123683e
#define FIEMAP_BATCH 32

static bool file_in_memory(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return false;
	return sf.f_type == TMPFS_MAGIC_ || sf.f_type == RAMFS_MAGIC_;
}

/*
 * Where the first block of @fd's first @size bytes is that is not
 * allocated to it alone (a hole, or a block shared with another file):
 * 1 and *@at, 0 when there is none, -EOPNOTSUPP when the file system
 * cannot tell (no FIEMAP). SEEK_HOLE cannot be used: it reports
 * fallocate()d blocks that were never written as holes.
 */
static int file_find_gap(int fd, uint64_t size, uint64_t *at, bool *shared)
{
	union {
		struct fiemap fm;
		char buf[sizeof(struct fiemap) + FIEMAP_BATCH * sizeof(struct fiemap_extent)];
	} u;
	uint64_t pos = 0, was;
	bool last = false;

	*shared = false;
	while (pos < size && !last) {
		memset(&u, 0, sizeof(u));
		u.fm.fm_start = pos;
		u.fm.fm_length = size - pos;
		u.fm.fm_flags = FIEMAP_FLAG_SYNC;
		u.fm.fm_extent_count = FIEMAP_BATCH;
		if (ioctl(fd, FS_IOC_FIEMAP, &u.fm) < 0)
			return errno == ENOTTY || errno == EOPNOTSUPP ? -EOPNOTSUPP : neg_errno();
		was = pos;
		for (unsigned int i = 0; i < u.fm.fm_mapped_extents; i++) {
			const struct fiemap_extent *e = &u.fm.fm_extents[i];

			if (e->fe_logical > pos)
				break; /* a hole at pos */
			if (e->fe_flags & FIEMAP_EXTENT_SHARED) {
				*shared = true;
				break;
			}
			if (e->fe_logical + e->fe_length > pos)
				pos = e->fe_logical + e->fe_length;
			last = e->fe_flags & FIEMAP_EXTENT_LAST;
		}
		if (*shared || pos == was)
			break; /* a hole (or nothing mapped) at pos */
	}
	*at = pos;
	return pos < size || *shared;
}

int file_backing_check(int fd, const char *path, uint64_t size, char *why, size_t why_size)
{
	struct statfs sf;
	struct stat st;
	uint64_t at = 0;
	bool shared = false;
	int flags = 0, r;

	if (fstat(fd, &st) < 0 || fstatfs(fd, &sf) < 0)
		return neg_errno();
	if (S_ISBLK(st.st_mode))
		return 0;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (sf.f_type == TMPFS_MAGIC_ || sf.f_type == RAMFS_MAGIC_) {
		snprintf(why, why_size,
			 "%s is on %s, in memory: writing swapped-out pages to it takes the memory "
			 "swap is meant to free; put the file on a disk file system, or use a block "
			 "device",
			 path, sf.f_type == TMPFS_MAGIC_ ? "tmpfs" : "ramfs");
		return -EINVAL;
	}
	if (sf.f_type == BTRFS_MAGIC_ &&
	    (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0 || !(flags & FS_NOCOW_FL))) {
		snprintf(why, why_size,
			 "%s is a copy-on-write file on btrfs: every write allocates new blocks; "
			 "create it empty, run 'chattr +C %s', then preallocate it",
			 path, path);
		return -EINVAL;
	}
	r = file_find_gap(fd, size, &at, &shared);
	if (r == -EOPNOTSUPP) /* no FIEMAP: count its blocks */
		r = (uint64_t)st.st_blocks * 512 < size;
	if (r <= 0)
		return r;
	if (shared)
		snprintf(why, why_size,
			 "%s shares blocks with another file (a reflink copy or a snapshot) from "
			 "byte %llu: writing them allocates new ones; use a plain copy "
			 "(cp --reflink=never) or a new file",
			 path, (unsigned long long)at);
	else
		snprintf(why, why_size,
			 "%s is not preallocated (a hole at byte %llu): writing there allocates "
			 "blocks, which takes memory when swap is short of it; preallocate it with "
			 "'fallocate -l %llu %s', or let 'ublkit swap on --size' create it",
			 path, (unsigned long long)at, (unsigned long long)size, path);
	return -EINVAL;
}

/*
 * O_DIRECT where it means something. tmpfs accepts O_DIRECT (6.6+) but
 * it is only a copy there, so in-memory files are opened buffered.
 */
static int file_open_fd(const char *path, bool ro, bool *direct)
{
	int flags = (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct stat st;
	bool blockdev = stat(path, &st) == 0 && S_ISBLK(st.st_mode);
	int fd;

	/* A block device is ours alone while we serve it: the kernel then
	 * refuses to mount it, swap on it or hand it to device-mapper. */
	if (blockdev)
		flags |= O_EXCL;
	fd = open(path, flags | O_DIRECT);
	*direct = fd >= 0;
	/* A device node's file system is /dev's (devtmpfs, a tmpfs): that
	 * says nothing about where the device keeps its data. */
	if (fd >= 0 && !blockdev && file_in_memory(fd)) {
		close(fd);
		fd = -1;
		*direct = false;
		errno = EINVAL;
	}
	if (fd < 0 && errno == EINVAL)
		fd = open(path, flags);
	return fd < 0 ? neg_errno() : fd;
}

static int file_probe_blockdev(struct target *t, struct file *f, struct ublkit_dev_params *p)
{
	uint64_t size;
	int lbs = 0;
	unsigned int pbs = 0;

	if (ioctl(t->fd, BLKGETSIZE64, &size) < 0)
		return neg_errno();
	f->size = size;
	if (ioctl(t->fd, BLKSSZGET, &lbs) == 0 && !p->logical_block_size)
		p->logical_block_size = (uint32_t)lbs;
	if (ioctl(t->fd, BLKPBSZGET, &pbs) == 0 && !p->physical_block_size)
		p->physical_block_size = pbs;
	return 0;
}

/*
 * A swap device's backing must take every write without allocating: a
 * block device or a preallocated file on a disk, opened O_DIRECT so that
 * swapped-out pages never wait in the page cache.
 */
static int file_check_swap(struct target *t, struct file *f, const char *path, uint64_t size)
{
	char why[512];
	int r = file_backing_check(t->fd, path, size, why, sizeof(why));

	if (r == -EINVAL) {
		log_error(t->ctx, "target file: %s", why);
		return r;
	}
	if (r < 0)
		return log_ret(t->ctx, r, "target file: cannot tell whether %s is preallocated",
			       path);
	if (!f->direct) {
		log_error(t->ctx, "target file: %s cannot be opened with O_DIRECT: swapped-out "
				  "pages would go through the page cache, which takes the memory "
				  "swap is meant to free; use ext4 or xfs, or a block device", path);
		return -EINVAL;
	}
	f->keep_blocks = !f->blockdev;
	t->preallocated = true;
	return 0;
}

static int file_open(struct target *t, const char *path, struct ublkit_dev_params *p)
{
	struct file *f = t->priv;
	struct stat st;
	int r;

	if (!path || !*path) {
		log_error(t->ctx, "target file needs a path (--file)");
		return -EINVAL;
	}
	t->fd = file_open_fd(path, p->flags & UBLKIT_DEV_READ_ONLY, &f->direct);
	if (t->fd == -EBUSY)
		log_error(t->ctx, "target file: %s is in use (mounted, active swap, or held by "
				  "another device or program)", path);
	if (t->fd < 0)
		return t->fd == -EBUSY ? -EBUSY
				       : log_ret(t->ctx, t->fd, "target file: cannot open %s", path);
	if (fstat(t->fd, &st) < 0)
		return neg_errno();
	if (S_ISBLK(st.st_mode)) {
		f->blockdev = true;
		r = file_probe_blockdev(t, f, p);
		if (r < 0)
			return log_ret(t->ctx, r, "target file: cannot size %s", path);
	} else if (S_ISREG(st.st_mode)) {
		f->size = (uint64_t)st.st_size;
		if (f->direct && !p->logical_block_size)
			p->logical_block_size = 4096;
	} else {
		log_error(t->ctx, "target file: %s is neither a regular file nor a block device",
			  path);
		return -EINVAL;
	}
	if (!p->size)
		p->size = f->size;
	if (p->size > f->size) {
		log_error(t->ctx, "target file: %s holds %llu bytes, less than the %llu asked for",
			  path, (unsigned long long)f->size, (unsigned long long)p->size);
		return -EINVAL;
	}
	if (p->flags & UBLKIT_DEV_SWAP) {
		r = file_check_swap(t, f, path, p->size);
		if (r < 0)
			return r;
	}
	/*
	 * On tmpfs every read and write is a memory copy that never waits
	 * for a device; handing it to io_uring would only bounce it through
	 * a worker thread, so it is done inline on the queue thread.
	 */
	f->in_memory = !f->blockdev && !f->direct && file_in_memory(t->fd);
	t->volatile_cache = !f->in_memory;
	if (f->in_memory && p->size) {
		/* Its pages are the page cache: copy to and from them directly. */
		f->map = mmap(NULL, (size_t)p->size,
			      PROT_READ | ((p->flags & UBLKIT_DEV_READ_ONLY) ? 0 : PROT_WRITE),
			      MAP_SHARED, t->fd, 0);
		if (f->map == MAP_FAILED)
			f->map = NULL;
		else
			f->map_len = (size_t)p->size;
		t->user_copy_ok = f->map != NULL;
	}
	log_debug(t->ctx, "target file: %s, %llu bytes, %s I/O", path,
		  (unsigned long long)f->size,
		  f->direct ? "direct" : f->in_memory ? "in-memory" : "buffered");
	return 0;
}

static void file_close(struct target *t)
{
	struct file *f = t->priv;

	if (f->map)
		munmap(f->map, f->map_len);
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

static int file_submit_rw(struct ublk_queue *q, struct ublk_io *io)
{
	struct io_uring_sqe *sqe = queue_get_sqe(q, io);
	if (!sqe)
		return -EBUSY;
	if (io->op == UBLK_IO_OP_READ)
		io_uring_prep_read(sqe, QUEUE_FILE_TARGET, (char *)io->buf + io->done,
				   io->len - io->done, io->offset + io->done);
	else
		io_uring_prep_write(sqe, QUEUE_FILE_TARGET, (char *)io->buf + io->done,
				    io->len - io->done, io->offset + io->done);
	sqe->flags |= IOSQE_FIXED_FILE;
	return TARGET_QUEUED;
}

static int file_rw_inline(struct target *t, struct ublk_queue *q, struct ublk_io *io)
{
	const struct file *f = t->priv;

	if (f->map) {
		if (io->offset + io->len > f->map_len)
			return -EIO;
		if (io->op == UBLK_IO_OP_READ)
			return queue_copy_to_request(q, io, f->map + io->offset, io->len);
		return queue_copy_from_request(q, io, f->map + io->offset, io->len);
	}
	while (io->done < io->len) {
		char *p = (char *)io->buf + io->done;
		size_t n = io->len - io->done;
		off_t off = (off_t)(io->offset + io->done);
		ssize_t r = io->op == UBLK_IO_OP_READ ? pread(t->fd, p, n, off)
						      : pwrite(t->fd, p, n, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return neg_errno();
		if (r == 0) {
			if (io->op == UBLK_IO_OP_WRITE)
				return -EIO;
			memset(p, 0, n);
			r = (ssize_t)n;
		}
		io->done += (uint32_t)r;
	}
	return (int)io->len;
}

static int file_rw(struct target *t, struct ublk_queue *q, struct ublk_io *io)
{
	const struct file *f = t->priv;

	if (f->in_memory)
		return file_rw_inline(t, q, io);
	return file_submit_rw(q, io);
}

static int file_flush(struct target *t, struct ublk_queue *q, struct ublk_io *io)
{
	struct io_uring_sqe *sqe = queue_get_sqe(q, io);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_fsync(sqe, QUEUE_FILE_TARGET, IORING_FSYNC_DATASYNC);
	sqe->flags |= IOSQE_FIXED_FILE;
	return TARGET_QUEUED;
}

static int file_fallocate(struct ublk_queue *q, struct ublk_io *io, int mode)
{
	struct io_uring_sqe *sqe = queue_get_sqe(q, io);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_fallocate(sqe, QUEUE_FILE_TARGET, mode, io->offset, io->len);
	sqe->flags |= IOSQE_FIXED_FILE;
	return TARGET_QUEUED;
}

static int file_zero(struct target *t, struct ublk_queue *q, struct ublk_io *io, int mode)
{
	const struct file *f = t->priv;

	if (!f->in_memory)
		return file_fallocate(q, io, mode);
	if (fallocate(t->fd, mode, (off_t)io->offset, (off_t)io->len) == 0)
		return 0;
	/* tmpfs cannot zero a range in place; a hole reads back as zeroes all the same */
	if (errno == EOPNOTSUPP && (mode & FALLOC_FL_ZERO_RANGE))
		return file_zero(t, q, io, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
	return errno == EOPNOTSUPP && io->op == UBLK_IO_OP_DISCARD ? 0 : neg_errno();
}

static int file_discard(struct target *t, struct ublk_queue *q, struct ublk_io *io)
{
	const struct file *f = t->priv;

	/* A hint; a hole punched into a swap file would have to be allocated again. */
	if (f->keep_blocks)
		return 0;
	return file_zero(t, q, io, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
}

static int file_write_zeroes(struct target *t, struct ublk_queue *q, struct ublk_io *io)
{
	const struct file *f = t->priv;

	if ((io->flags & UBLK_IO_F_NOUNMAP) || f->keep_blocks)
		return file_zero(t, q, io, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE);
	return file_zero(t, q, io, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
}

static int file_io_done(struct target *t, struct ublk_queue *q, struct ublk_io *io,
			const struct io_uring_cqe *cqe)
{
	int res = cqe->res;

	if (res == -EAGAIN || res == -EINTR)
		return io->op <= UBLK_IO_OP_WRITE ? file_submit_rw(q, io) : res;
	if (io->op == UBLK_IO_OP_DISCARD && res == -EOPNOTSUPP)
		return 0; /* discard is a hint; the device below does not take it */
	if (res < 0)
		return res;
	if (io->op > UBLK_IO_OP_WRITE)
		return 0;
	if (res == 0) {
		if (io->op == UBLK_IO_OP_WRITE)
			return io->done ? (int)io->done : -EIO;
		/* reading past the end of a file that shrank: zeroes */
		memset((char *)io->buf + io->done, 0, io->len - io->done);
		return (int)io->len;
	}
	io->done += (uint32_t)res;
	if (io->done < io->len)
		return file_submit_rw(q, io);
	return (int)io->len;
}

const struct target_ops target_file_ops = {
	.name = "file",
	.summary = "a regular file or block device",
	.flags = UBLKIT_TARGET_NEEDS_PATH | UBLKIT_TARGET_SURVIVES_SERVER |
		 UBLKIT_TARGET_MAY_BACK_SWAP,
	.priv_size = sizeof(struct file),
	.open = file_open,
	.close = file_close,
	.read = file_rw,
	.write = file_rw,
	.flush = file_flush,
	.discard = file_discard,
	.write_zeroes = file_write_zeroes,
	.io_done = file_io_done,
};
