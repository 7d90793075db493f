/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The targets in process: each request a queue would hand them, against
 * memory, a tmpfs file and a file on disk, on a real io_uring with the
 * fixed files a queue registers. The targets are compiled in (white-box)
 * so their private state can be checked: what is mapped, what is resident.
 */
#include "config.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include "server-private.h"
#include "test.h"

#include "target-null.c"
#include "target-mem.c"
#include "target-file.c"

#define BUF_BYTES (1u << 20)
#define PAGE 4096u

/* One queue with one request slot, the way ublk-queue.c sets them up. */
struct rig {
	struct ublkit_server s;
	struct ublk_queue q;
	struct ublk_io io;
	struct stats_queue st;
	bool ring;
};

static struct ublkit_ctx *ctx;

static int rig_open(struct rig *r, const struct target_ops *ops, const char *arg,
		    struct ublkit_dev_params *p)
{
	memset(r, 0, sizeof(*r));
	r->s.ctx = ctx;
	r->s.target.ops = ops;
	r->s.target.ctx = ctx;
	r->s.target.fd = -1;
	r->s.target.priv = ops->priv_size ? calloc(1, ops->priv_size) : NULL;
	r->s.cdev_fd = -1;
	r->s.params.max_io_bytes = BUF_BYTES;
	r->q.s = &r->s;
	r->q.depth = 1;
	r->q.st = &r->st;
	r->q.wake_fd = -1;
	r->io.tag = 0;
	r->io.buf = aligned_alloc(PAGE, BUF_BYTES);
	memset(r->io.buf, 0, BUF_BYTES);
	return ops->open(&r->s.target, arg, p);
}

/* The queue's ring: fixed file 0 the char device, 1 the target's file. */
static void rig_ring(struct rig *r, unsigned int flags)
{
	int fds[2];

	if (r->s.cdev_fd < 0)
		r->s.cdev_fd = memfd_create("ublkc", MFD_CLOEXEC);
	fds[0] = r->s.cdev_fd;
	fds[1] = r->s.target.fd;
	CHECK_EQ(io_uring_queue_init(4, &r->q.ring, flags), 0);
	CHECK_EQ(io_uring_register_files(&r->q.ring, fds, fds[1] >= 0 ? 2 : 1), 0);
	r->ring = true;
}

static void rig_close(struct rig *r)
{
	if (r->s.target.ops->close)
		r->s.target.ops->close(&r->s.target);
	if (r->ring)
		io_uring_queue_exit(&r->q.ring);
	if (r->s.cdev_fd >= 0)
		close(r->s.cdev_fd);
	free(r->s.target.priv);
	free(r->io.buf);
}

/* Complete what the target queued, as the queue thread would. */
static int rig_complete(struct rig *r, int res)
{
	while (res == TARGET_QUEUED) {
		struct io_uring_cqe *cqe;

		CHECK(r->ring);
		if (!r->ring || io_uring_submit_and_wait(&r->q.ring, 1) < 0 ||
		    io_uring_peek_cqe(&r->q.ring, &cqe) < 0)
			return -EPROTO;
		/* the completion comes back tagged for this request's target I/O */
		CHECK_EQ(cqe->user_data, (2ULL << 32) | r->io.tag);
		res = r->s.target.ops->io_done(&r->s.target, &r->q, &r->io, cqe);
		io_uring_cqe_seen(&r->q.ring, cqe);
	}
	return res;
}

static int rig_do(struct rig *r, uint8_t op, uint64_t off, uint32_t len, uint32_t flags)
{
	const struct target_ops *ops = r->s.target.ops;
	int (*fn)(struct target *, struct ublk_queue *, struct ublk_io *) = NULL;

	r->io.op = op;
	r->io.flags = flags;
	r->io.offset = off;
	r->io.len = len;
	r->io.done = 0;
	switch (op) {
	case UBLK_IO_OP_READ: fn = ops->read; break;
	case UBLK_IO_OP_WRITE: fn = ops->write; break;
	case UBLK_IO_OP_FLUSH: fn = ops->flush; break;
	case UBLK_IO_OP_DISCARD: fn = ops->discard; break;
	case UBLK_IO_OP_WRITE_ZEROES: fn = ops->write_zeroes; break;
	}
	if (!fn)
		return -EOPNOTSUPP;
	return rig_complete(r, fn(&r->s.target, &r->q, &r->io));
}

static void fill(void *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		((unsigned char *)p)[i] = (unsigned char)(seed + i * 7 + i / 4096);
}

static bool all_bytes(const void *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (((const unsigned char *)p)[i] != v)
			return false;
	return true;
}

static struct ublkit_dev_params params(uint64_t size)
{
	struct ublkit_dev_params p;

	ublkit_dev_params_init(&p);
	p.size = size;
	p.max_io_bytes = 0;
	return p;
}

/* Resident pages of [p, p + n). */
static size_t resident(const void *p, size_t n)
{
	unsigned char vec[1024];
	size_t pages = n / PAGE, count = 0;

	if (pages > sizeof(vec) || mincore((void *)p, n, vec) < 0)
		return (size_t)-1;
	for (size_t i = 0; i < pages; i++)
		count += vec[i] & 1;
	return count;
}

/* ---- null ------------------------------------------------------------- */

static void test_null(void)
{
	struct ublkit_dev_params p = params(1 << 20);
	struct rig r;

	CHECK_EQ(rig_open(&r, &target_null_ops, "/some/path", &p), -EINVAL);
	CHECK(strstr(test_last_error, "no path"));
	rig_close(&r);
	p.size = 0;
	CHECK_EQ(rig_open(&r, &target_null_ops, NULL, &p), -EINVAL);
	rig_close(&r);
	p.size = 1 << 20;
	CHECK_EQ(rig_open(&r, &target_null_ops, "", &p), 0);
	CHECK(r.s.target.user_copy_ok);
	CHECK(!r.s.target.volatile_cache);
	CHECK_EQ(p.size, 1 << 20);
	/* reads and writes complete in full without touching the buffer */
	memset(r.io.buf, 0xa5, 8192);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_READ, 4096, 8192, 0), 8192);
	CHECK(all_bytes(r.io.buf, 8192, 0xa5));
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_WRITE, 0, 4096, 0), 4096);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_DISCARD, 0, 1 << 20, 0), 0);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_WRITE_ZEROES, 0, 1 << 20, 0), 0);
	/* no cache: no flush */
	CHECK(target_null_ops.flush == NULL);
	CHECK(target_null_ops.io_done == NULL);
	rig_close(&r);
}

/* ---- mem -------------------------------------------------------------- */

/* Does the mapping holding @addr carry VmFlags @flag ("dd": not dumped)? */
static bool vma_flag(const void *addr, const char *flag)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512], want[8];
	unsigned long lo, hi;
	bool in = false, found = false;

	snprintf(want, sizeof(want), " %s", flag);
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
		else if (in && strncmp(line, "VmFlags:", 8) == 0) {
			found = strstr(line, want) != NULL;
			break;
		}
	}
	if (f)
		fclose(f);
	return found;
}

static void test_mem_open(void)
{
	struct ublkit_dev_params p = params(0);
	unsigned char v;
	struct rig r;
	struct mem *m;
	void *base;

	CHECK_EQ(rig_open(&r, &target_mem_ops, NULL, &p), -EINVAL);
	CHECK(strstr(test_last_error, "needs a size"));
	rig_close(&r);
	p.size = 1 << 20;
	CHECK_EQ(rig_open(&r, &target_mem_ops, "/x", &p), -EINVAL);
	rig_close(&r);
	p.size = (uint64_t)SIZE_MAX / 2 + 1;
	CHECK_EQ(rig_open(&r, &target_mem_ops, NULL, &p), -EFBIG);
	rig_close(&r);
	/* an enormous store is only reserved, never backed */
	p.size = 1ULL << 40;
	CHECK_EQ(rig_open(&r, &target_mem_ops, NULL, &p), 0);
	m = r.s.target.priv;
	CHECK(m->base != NULL);
	CHECK(m->size == 1ULL << 40);
	CHECK_EQ(m->page, (size_t)sysconf(_SC_PAGESIZE));
	CHECK(r.s.target.user_copy_ok);
	CHECK(!r.s.target.volatile_cache);
	CHECK_EQ(resident(m->base, 1 << 20), 0);
	/* kept out of core dumps */
	CHECK(vma_flag(m->base, "dd"));
	base = m->base;
	rig_close(&r);
	/* the store is gone with the target */
	CHECK(mincore(base, PAGE, &v) < 0 && errno == ENOMEM);
}

static void test_mem_rw(void)
{
	struct ublkit_dev_params p = params(1 << 20);
	unsigned char *pat = malloc(65536);
	struct rig r;
	struct mem *m;

	CHECK_EQ(rig_open(&r, &target_mem_ops, NULL, &p), 0);
	m = r.s.target.priv;
	fill(pat, 65536, 3);
	memcpy(r.io.buf, pat, 65536);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_WRITE, 65536, 65536, 0), 65536);
	/* only what was written is backed */
	CHECK_EQ(resident(m->base, 1 << 20), 16);
	CHECK(memcmp(m->base + 65536, pat, 65536) == 0);
	memset(r.io.buf, 0xee, BUF_BYTES);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_READ, 65536 + 512, 4096, 0), 4096);
	CHECK(memcmp(r.io.buf, pat + 512, 4096) == 0);
	CHECK(all_bytes((char *)r.io.buf + 4096, 4096, 0xee));
	/* never written: zeroes */
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_READ, 0, 8192, 0), 8192);
	CHECK(all_bytes(r.io.buf, 8192, 0));

	/* the last sector is in range, one past it is not */
	memcpy(r.io.buf, pat, 512);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_WRITE, (1 << 20) - 512, 512, 0), 512);
	CHECK(memcmp(m->base + (1 << 20) - 512, pat, 512) == 0);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_READ, (1 << 20) - 512, 1024, 0), -EIO);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_WRITE, (1 << 20) - 512, 1024, 0), -EIO);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_READ, 1 << 20, 512, 0), -EIO);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_READ, (1 << 20) + 512, 0, 0), -EIO);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_READ, 1 << 20, 0, 0), 0);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_WRITE, UINT64_MAX - 511, 512, 0), -EIO);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_DISCARD, (1 << 20) - 4096, 8192, 0), -EIO);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_WRITE_ZEROES, 1 << 21, 4096, 0), -EIO);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_FLUSH, 0, 0, 0), -EOPNOTSUPP);
	CHECK(target_mem_ops.flush == NULL);
	rig_close(&r);
	free(pat);
}

/* Discard and write-zeroes: exactly the range reads zero, whole pages are freed. */
static void test_mem_zero(void)
{
	static const struct {
		uint64_t off;
		uint32_t len;
		uint8_t op;
	} cases[] = {
		{ 512, 1024, UBLK_IO_OP_DISCARD },		/* inside one page */
		{ 3584, 4608, UBLK_IO_OP_WRITE_ZEROES },	/* a head, one page */
		{ 8192, 4608, UBLK_IO_OP_DISCARD },		/* one page, a tail */
		{ 12800, 20480, UBLK_IO_OP_WRITE_ZEROES },	/* head, pages, tail */
		{ 0, 1 << 20, UBLK_IO_OP_DISCARD },		/* everything */
		{ (1 << 20) - 512, 512, UBLK_IO_OP_DISCARD },	/* the last sector */
	};
	struct ublkit_dev_params p = params(1 << 20);
	unsigned char *pat = malloc(1 << 20);
	struct rig r;
	struct mem *m;

	CHECK_EQ(rig_open(&r, &target_mem_ops, NULL, &p), 0);
	m = r.s.target.priv;
	fill(pat, 1 << 20, 11);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t off = cases[i].off, end = off + cases[i].len;
		uint64_t first = (off + PAGE - 1) / PAGE, last = end / PAGE;

		memcpy(m->base, pat, 1 << 20);
		CHECK_EQ(resident(m->base, 1 << 20), 256);
		CHECK_EQ(rig_do(&r, cases[i].op, off, cases[i].len, 0), 0);
		/* the whole pages inside were given back, nothing else (checked
		 * before reading: reading maps the zero page in) */
		if (last > first)
			CHECK_EQ(resident(m->base + first * PAGE, (last - first) * PAGE), 0);
		CHECK_EQ(resident(m->base, 1 << 20), 256 - (last > first ? last - first : 0));
		CHECK(memcmp(m->base, pat, off) == 0);
		CHECK(all_bytes(m->base + off, cases[i].len, 0));
		CHECK(memcmp(m->base + end, pat + end, (1 << 20) - end) == 0);
	}
	rig_close(&r);
	free(pat);
}

/* With UBLK_F_USER_COPY the data moves through the char device at the request's offset. */
static void test_mem_user_copy(void)
{
	struct ublkit_dev_params p = params(1 << 20);
	unsigned char pat[8192], got[8192];
	off_t pos;
	struct rig r;
	struct mem *m;

	CHECK_EQ(rig_open(&r, &target_mem_ops, NULL, &p), 0);
	m = r.s.target.priv;
	r.s.cdev_fd = memfd_create("ublkc", MFD_CLOEXEC);
	r.q.user_copy = true;
	r.q.id = 1;
	r.io.tag = 3;
	pos = (off_t)(0x80000000ULL + (1ULL << 41) + (3ULL << 25));
	fill(pat, sizeof(pat), 5);
	CHECK_EQ(pwrite(r.s.cdev_fd, pat, sizeof(pat), pos), (ssize_t)sizeof(pat));
	memset(r.io.buf, 0, 8192);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_WRITE, 4096, 8192, 0), 8192);
	CHECK(memcmp(m->base + 4096, pat, sizeof(pat)) == 0);
	CHECK(all_bytes(r.io.buf, 8192, 0)); /* the I/O buffer is not used */

	memset(m->base + 65536, 0x3c, 4096);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_READ, 65536, 4096, 0), 4096);
	CHECK_EQ(pread(r.s.cdev_fd, got, 4096, pos), 4096);
	CHECK(all_bytes(got, 4096, 0x3c));
	/* a request whose data the device does not have: an error, not garbage */
	r.io.tag = 200;
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_WRITE, 0, 4096, 0), -EIO);
	rig_close(&r);
}

/* ---- file ------------------------------------------------------------- */

static bool on_tmpfs(const char *dir)
{
	struct statfs sf;

	return statfs(dir, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
}

/* A file of @size bytes filled with a pattern, in @dir. */
static char *make_file(const char *dir, size_t size, unsigned int seed)
{
	char *path;
	unsigned char *buf = malloc(size);
	int fd;

	if (asprintf(&path, "%s/ublkit-target.XXXXXX", dir) < 0)
		exit(EXIT_FAILURE);
	fd = mkstemp(path);
	if (fd < 0) {
		free(path);
		free(buf);
		return NULL;
	}
	fill(buf, size, seed);
	CHECK_EQ(write(fd, buf, size), (ssize_t)size);
	close(fd);
	free(buf);
	return path;
}

static void file_pread(const char *path, void *buf, size_t n, off_t off)
{
	int fd = open(path, O_RDONLY);

	CHECK_EQ(pread(fd, buf, n, off), (ssize_t)n);
	close(fd);
}

static off_t file_blocks(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_blocks : -1;
}

static void test_file_open(void)
{
	struct ublkit_dev_params p = params(0);
	char *path = make_file("/dev/shm", 1 << 20, 1);
	struct rig r;

	CHECK_EQ(rig_open(&r, &target_file_ops, NULL, &p), -EINVAL);
	CHECK(strstr(test_last_error, "needs a path"));
	rig_close(&r);
	CHECK_EQ(rig_open(&r, &target_file_ops, "", &p), -EINVAL);
	rig_close(&r);
	CHECK_EQ(rig_open(&r, &target_file_ops, "/nonexistent/ublkit.img", &p), -ENOENT);
	CHECK(strstr(test_last_error, "/nonexistent/ublkit.img"));
	rig_close(&r);
	/* a directory or a character device is no store */
	CHECK_EQ(rig_open(&r, &target_file_ops, "/dev/shm", &p), -EISDIR);
	rig_close(&r);
	p.flags = UBLKIT_DEV_READ_ONLY;
	CHECK_EQ(rig_open(&r, &target_file_ops, "/dev/shm", &p), -EINVAL);
	CHECK(strstr(test_last_error, "neither"));
	rig_close(&r);
	CHECK_EQ(rig_open(&r, &target_file_ops, "/dev/null", &p), -EINVAL);
	rig_close(&r);

	/* the size defaults to the file's; more than the file holds is refused */
	p = params(0);
	CHECK_EQ(rig_open(&r, &target_file_ops, path, &p), 0);
	CHECK_EQ(p.size, 1 << 20);
	rig_close(&r);
	p = params((1 << 20) + 4096);
	CHECK_EQ(rig_open(&r, &target_file_ops, path, &p), -EINVAL);
	CHECK(strstr(test_last_error, "less than"));
	rig_close(&r);
	p = params(1 << 20);
	CHECK_EQ(rig_open(&r, &target_file_ops, path, &p), 0);
	rig_close(&r);
	p = params(65536);
	CHECK_EQ(rig_open(&r, &target_file_ops, path, &p), 0);
	CHECK_EQ(p.size, 65536);
	rig_close(&r);
	/* an empty file: no size to default to */
	CHECK_EQ(truncate(path, 0), 0);
	p = params(0);
	CHECK_EQ(rig_open(&r, &target_file_ops, path, &p), 0);
	CHECK_EQ(p.size, 0);
	CHECK(!r.s.target.user_copy_ok);
	rig_close(&r);
	unlink(path);
	free(path);
}

static void test_file_tmpfs(void)
{
	struct ublkit_dev_params p = params(0);
	char *path;
	unsigned char *pat = malloc(1 << 20), *got = malloc(1 << 20);
	struct rig r;
	struct file *f;
	off_t blocks;
	unsigned char v;
	void *map;
	int fd;

	if (!on_tmpfs("/dev/shm")) {
		printf("# /dev/shm is not tmpfs: in-memory file I/O not tested\n");
		free(pat);
		free(got);
		return;
	}
	path = make_file("/dev/shm", 1 << 20, 2);
	fill(pat, 1 << 20, 2);
	CHECK_EQ(rig_open(&r, &target_file_ops, path, &p), 0);
	rig_ring(&r, 0);
	f = r.s.target.priv;
	/* a copy, never a wait: served inline, through a shared mapping */
	CHECK(f->in_memory);
	CHECK(!f->direct);
	CHECK(!f->blockdev);
	CHECK(f->map != NULL);
	CHECK_EQ(f->map_len, 1 << 20);
	CHECK(r.s.target.user_copy_ok);
	CHECK(!r.s.target.volatile_cache);
	CHECK_EQ(p.logical_block_size, 0);
	CHECK(r.s.target.fd >= 0 && (fcntl(r.s.target.fd, F_GETFD) & FD_CLOEXEC));
	CHECK_EQ(fcntl(r.s.target.fd, F_GETFL) & O_ACCMODE, O_RDWR);

	CHECK_EQ(rig_do(&r, UBLK_IO_OP_READ, 12288, 8192, 0), 8192);
	CHECK(memcmp(r.io.buf, pat + 12288, 8192) == 0);
	fill(r.io.buf, 16384, 77);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_WRITE, 65536, 16384, 0), 16384);
	file_pread(path, got, 16384, 65536);
	CHECK(memcmp(got, r.io.buf, 16384) == 0);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_READ, (1 << 20) - 4096, 8192, 0), -EIO);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_WRITE, 1 << 20, 512, 0), -EIO);
	/* the last block is in range */
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_READ, (1 << 20) - 4096, 4096, 0), 4096);
	CHECK(memcmp(r.io.buf, pat + (1 << 20) - 4096, 4096) == 0);
	/* flush goes to the ring and completes there */
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_FLUSH, 0, 0, 0), 0);

	/* discard punches a hole: zeroes, and the pages are freed */
	blocks = file_blocks(path);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_DISCARD, 131072, 65536, 0), 0);
	file_pread(path, got, 65536 + 8192, 131072 - 4096);
	CHECK(memcmp(got, pat + 131072 - 4096, 4096) == 0);
	CHECK(all_bytes(got + 4096, 65536, 0));
	CHECK(memcmp(got + 4096 + 65536, pat + 131072 + 65536, 4096) == 0);
	CHECK_EQ(file_blocks(path), blocks - 128);
	/* write-zeroes: unmapped unless the request says not to */
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_WRITE_ZEROES, 262144, 16384, 0), 0);
	CHECK_EQ(file_blocks(path), blocks - 160);
	/* tmpfs cannot zero in place: a hole there too */
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_WRITE_ZEROES, 524288, 16384, UBLK_IO_F_NOUNMAP), 0);
	CHECK_EQ(file_blocks(path), blocks - 192);
	file_pread(path, got, 16384, 524288);
	CHECK(all_bytes(got, 16384, 0));
	file_pread(path, got, 16384, 262144);
	CHECK(all_bytes(got, 16384, 0));
	/* and the mapping sees what the file holds */
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_READ, 131072 - 512, 1024, 0), 1024);
	CHECK(memcmp(r.io.buf, pat + 131072 - 512, 512) == 0);
	CHECK(all_bytes((char *)r.io.buf + 512, 512, 0));
	fd = r.s.target.fd;
	map = f->map;
	rig_close(&r);
	CHECK_EQ(fcntl(fd, F_GETFD), -1);
	CHECK_EQ(r.s.target.fd, -1);
	CHECK(mincore(map, PAGE, &v) < 0 && errno == ENOMEM);

	/* read-only: opened and mapped without write access */
	p = params(0);
	p.flags = UBLKIT_DEV_READ_ONLY;
	CHECK_EQ(rig_open(&r, &target_file_ops, path, &p), 0);
	CHECK_EQ(fcntl(r.s.target.fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	f = r.s.target.priv;
	CHECK(f->map && !vma_flag(f->map, "wr") && vma_flag(f->map, "rd"));
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_READ, 0, 4096, 0), 4096);
	CHECK(memcmp(r.io.buf, pat, 4096) == 0);
	/* the file system's refusal is the request's error, also for discard */
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_DISCARD, 0, 4096, 0), -EBADF);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_WRITE_ZEROES, 0, 4096, UBLK_IO_F_NOUNMAP), -EBADF);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_WRITE_ZEROES, 0, 4096, 0), -EBADF);
	rig_close(&r);
	unlink(path);
	free(path);
	free(pat);
	free(got);
}

/* Inline I/O without a mapping: pread/pwrite, and a file that shrank reads zeroes. */
static void test_file_tmpfs_unmapped(void)
{
	struct ublkit_dev_params p = params(0);
	char *path = make_file("/dev/shm", 65536, 4);
	unsigned char pat[65536], got[8192];
	struct rig r;
	struct file *f;

	fill(pat, sizeof(pat), 4);
	CHECK_EQ(rig_open(&r, &target_file_ops, path, &p), 0);
	f = r.s.target.priv;
	munmap(f->map, f->map_len);
	f->map = NULL;
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_READ, 4096, 8192, 0), 8192);
	CHECK(memcmp(r.io.buf, pat + 4096, 8192) == 0);
	CHECK_EQ(r.io.done, 8192);
	fill(r.io.buf, 8192, 9);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_WRITE, 16384, 8192, 0), 8192);
	file_pread(path, got, 8192, 16384);
	CHECK(memcmp(got, r.io.buf, 8192) == 0);
	CHECK_EQ(truncate(path, 32768 + 4096), 0);
	memset(r.io.buf, 0xff, 8192);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_READ, 32768, 8192, 0), 8192);
	CHECK(memcmp(r.io.buf, pat + 32768, 4096) == 0);
	CHECK(all_bytes((char *)r.io.buf + 4096, 4096, 0));
	rig_close(&r);
	unlink(path);
	free(path);
}

/* A directory for a file on a real (non-memory) file system, or NULL. */
static const char *disk_dir(void)
{
	static const char *const dirs[] = { ".", "/var/tmp", "/tmp" };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		struct statfs sf;

		if (statfs(dirs[i], &sf) == 0 && sf.f_type != TMPFS_MAGIC &&
		    sf.f_type != RAMFS_MAGIC && access(dirs[i], W_OK) == 0)
			return dirs[i];
	}
	return NULL;
}

static void test_file_disk(void)
{
	const char *dir = disk_dir();
	struct ublkit_dev_params p = params(0);
	unsigned char *pat = malloc(1 << 20), *got = malloc(1 << 20);
	struct rig r;
	struct file *f;
	off_t blocks;
	char *path;

	if (!dir) {
		printf("# no disk file system to test the file target on\n");
		goto out;
	}
	path = make_file(dir, 1 << 20, 6);
	CHECK(path != NULL);
	if (!path)
		goto out;
	fill(pat, 1 << 20, 6);
	CHECK_EQ(rig_open(&r, &target_file_ops, path, &p), 0);
	rig_ring(&r, 0);
	f = r.s.target.priv;
	CHECK(!f->in_memory);
	CHECK(f->map == NULL);
	CHECK(!r.s.target.user_copy_ok);
	CHECK(r.s.target.volatile_cache);
	CHECK_EQ(f->size, 1 << 20);
	/* O_DIRECT where the file system has it, and then 4 KiB blocks */
	CHECK_EQ(p.logical_block_size, f->direct ? 4096 : 0);
	CHECK_EQ(!!(fcntl(r.s.target.fd, F_GETFL) & O_DIRECT), f->direct);

	/* every request goes through the ring */
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_READ, 8192, 16384, 0), 16384);
	CHECK(memcmp(r.io.buf, pat + 8192, 16384) == 0);
	fill(r.io.buf, 32768, 99);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_WRITE, 65536, 32768, 0), 32768);
	CHECK_EQ(r.io.done, 32768);
	file_pread(path, got, 32768, 65536);
	CHECK(memcmp(got, r.io.buf, 32768) == 0);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_FLUSH, 0, 0, 0), 0);
	CHECK_EQ(fsync(r.s.target.fd), 0);
	blocks = file_blocks(path);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_DISCARD, 131072, 65536, 0), 0);
	file_pread(path, got, 65536 + 8192, 131072 - 4096);
	CHECK(memcmp(got, pat + 131072 - 4096, 4096) == 0);
	CHECK(all_bytes(got + 4096, 65536, 0));
	CHECK(memcmp(got + 4096 + 65536, pat + 131072 + 65536, 4096) == 0);
	CHECK(file_blocks(path) < blocks);
	blocks = file_blocks(path);
	/* NOUNMAP: zeroes that keep their blocks */
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_WRITE_ZEROES, 262144, 8192, UBLK_IO_F_NOUNMAP), 0);
	file_pread(path, got, 8192 + 4096, 262144);
	CHECK(all_bytes(got, 8192, 0));
	CHECK(memcmp(got + 8192, pat + 262144 + 8192, 4096) == 0);
	CHECK_EQ(file_blocks(path), blocks);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_WRITE_ZEROES, 393216, 65536, 0), 0);
	file_pread(path, got, 65536, 393216);
	CHECK(all_bytes(got, 65536, 0));
	CHECK(file_blocks(path) < blocks);

	/* the file shrank under the device: reading past its end gives zeroes */
	CHECK_EQ(truncate(path, 524288), 0);
	memset(r.io.buf, 0xff, 16384);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_READ, 524288, 16384, 0), 16384);
	CHECK(all_bytes(r.io.buf, 16384, 0));
	rig_close(&r);
	unlink(path);
	free(path);
out:
	free(pat);
	free(got);
}

/* A file of @size bytes in @dir: @data bytes written, the rest a hole. */
static char *make_sparse(const char *dir, off_t size, size_t data)
{
	char *path = make_file(dir, data, 7);

	CHECK(path != NULL);
	if (path)
		CHECK_EQ(truncate(path, size), 0);
	return path;
}

/* A swap device's backing: preallocated, on a disk, O_DIRECT; refused otherwise. */
static void test_file_swap(void)
{
	const char *dir = disk_dir();
	struct ublkit_dev_params p;
	char *path, *shm;
	struct rig r;
	struct file *f;
	off_t blocks;
	int fd;

	/* tmpfs: writing a swapped-out page there takes memory */
	shm = make_file("/dev/shm", 1 << 20, 3);
	CHECK(shm != NULL);
	p = params(0);
	p.flags = UBLKIT_DEV_SWAP;
	CHECK_EQ(rig_open(&r, &target_file_ops, shm, &p), -EINVAL);
	CHECK(strstr(test_last_error, "tmpfs"));
	CHECK(!r.s.target.preallocated);
	rig_close(&r);
	unlink(shm);
	free(shm);
	if (!dir) {
		printf("# no disk file system to test swap backings on\n");
		return;
	}

	/* a hole is refused with where it is and the fix */
	path = make_sparse(dir, 1 << 20, 1 << 19);
	if (!path)
		return;
	p = params(0);
	p.flags = UBLKIT_DEV_SWAP;
	CHECK_EQ(rig_open(&r, &target_file_ops, path, &p), -EINVAL);
	CHECK(strstr(test_last_error, "hole at byte 524288"));
	CHECK(strstr(test_last_error, "fallocate -l 1048576"));
	rig_close(&r);
	/* ... but only within the device: the written half is fine */
	p = params(1 << 19);
	p.flags = UBLKIT_DEV_SWAP;
	CHECK_EQ(rig_open(&r, &target_file_ops, path, &p), 0);
	CHECK(r.s.target.preallocated);
	rig_close(&r);
	/* a device that is not swap takes the sparse file as before */
	p = params(0);
	CHECK_EQ(rig_open(&r, &target_file_ops, path, &p), 0);
	CHECK(!r.s.target.preallocated);
	rig_close(&r);

	/* fallocate()d blocks count, although SEEK_HOLE calls them holes */
	fd = open(path, O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0);
	if (fd < 0 || fallocate(fd, 0, 0, 1 << 20) < 0) {
		printf("# %s cannot preallocate: %m\n", dir);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	p = params(0);
	p.flags = UBLKIT_DEV_SWAP;
	CHECK_EQ(rig_open(&r, &target_file_ops, path, &p), 0);
	f = r.s.target.priv;
	CHECK(r.s.target.preallocated);
	CHECK(f->direct);
	CHECK(f->keep_blocks);
	CHECK_EQ(!!(fcntl(r.s.target.fd, F_GETFL) & O_DIRECT), 1);
	/* discards and zeroes keep the swap file's blocks */
	rig_ring(&r, 0);
	blocks = file_blocks(path);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_DISCARD, 0, 65536, 0), 0);
	CHECK_EQ(rig_do(&r, UBLK_IO_OP_WRITE_ZEROES, 65536, 65536, 0), 0);
	CHECK_EQ(fsync(r.s.target.fd), 0);
	CHECK_EQ(file_blocks(path), blocks);
	rig_close(&r);
out:
	unlink(path);
	free(path);
}

static struct io_uring_cqe cqe_of(int res)
{
	return (struct io_uring_cqe){ .user_data = 2ULL << 32, .res = res };
}

/* What the queue makes of each completion of the file target's I/O. */
static void test_file_completions(void)
{
	struct ublkit_dev_params p = params(0);
	char *path = make_file("/dev/shm", 65536, 8);
	unsigned char pat[65536];
	struct io_uring_cqe c;
	struct rig r;
	int res;

	fill(pat, sizeof(pat), 8);
	CHECK_EQ(rig_open(&r, &target_file_ops, path, &p), 0);
	rig_ring(&r, 0);
	r.io.op = UBLK_IO_OP_READ;
	r.io.offset = 4096;
	r.io.len = 16384;
	r.io.done = 0;
	/* interrupted: the rest is sent again */
	c = cqe_of(-EAGAIN);
	res = file_io_done(&r.s.target, &r.q, &r.io, &c);
	CHECK_EQ(res, TARGET_QUEUED);
	CHECK_EQ(rig_complete(&r, res), 16384);
	CHECK(memcmp(r.io.buf, pat + 4096, 16384) == 0);
	/* short: the remainder is read at the right place into the right spot */
	memset(r.io.buf, 0, 16384);
	r.io.done = 0;
	c = cqe_of(4096);
	res = file_io_done(&r.s.target, &r.q, &r.io, &c);
	CHECK_EQ(res, TARGET_QUEUED);
	CHECK_EQ(r.io.done, 4096);
	CHECK_EQ(rig_complete(&r, res), 16384);
	CHECK(all_bytes(r.io.buf, 4096, 0));
	CHECK(memcmp((char *)r.io.buf + 4096, pat + 8192, 12288) == 0);
	/* complete */
	r.io.done = 12288;
	c = cqe_of(4096);
	CHECK_EQ(file_io_done(&r.s.target, &r.q, &r.io, &c), 16384);
	/* nothing read at the end of the file: the rest is zeroes */
	memset(r.io.buf, 0xff, 16384);
	r.io.done = 8192;
	c = cqe_of(0);
	CHECK_EQ(file_io_done(&r.s.target, &r.q, &r.io, &c), 16384);
	CHECK(all_bytes(r.io.buf, 8192, 0xff));
	CHECK(all_bytes((char *)r.io.buf + 8192, 8192, 0));
	/* a write that makes no progress fails, or reports what it did */
	r.io.op = UBLK_IO_OP_WRITE;
	r.io.done = 0;
	c = cqe_of(0);
	CHECK_EQ(file_io_done(&r.s.target, &r.q, &r.io, &c), -EIO);
	r.io.done = 4096;
	CHECK_EQ(file_io_done(&r.s.target, &r.q, &r.io, &c), 4096);
	c = cqe_of(-ENOSPC);
	CHECK_EQ(file_io_done(&r.s.target, &r.q, &r.io, &c), -ENOSPC);
	/* the other operations report 0 or their error, never resend */
	r.io.op = UBLK_IO_OP_FLUSH;
	c = cqe_of(-EAGAIN);
	CHECK_EQ(file_io_done(&r.s.target, &r.q, &r.io, &c), -EAGAIN);
	c = cqe_of(5);
	CHECK_EQ(file_io_done(&r.s.target, &r.q, &r.io, &c), 0);
	c = cqe_of(-EIO);
	CHECK_EQ(file_io_done(&r.s.target, &r.q, &r.io, &c), -EIO);
	/* discard is a hint: a device without it is fine; write-zeroes is not */
	r.io.op = UBLK_IO_OP_DISCARD;
	c = cqe_of(-EOPNOTSUPP);
	CHECK_EQ(file_io_done(&r.s.target, &r.q, &r.io, &c), 0);
	c = cqe_of(-EINTR);
	CHECK_EQ(file_io_done(&r.s.target, &r.q, &r.io, &c), -EINTR);
	r.io.op = UBLK_IO_OP_WRITE_ZEROES;
	c = cqe_of(-EOPNOTSUPP);
	CHECK_EQ(file_io_done(&r.s.target, &r.q, &r.io, &c), -EOPNOTSUPP);
	CHECK_EQ(io_uring_sq_ready(&r.q.ring), 0);
	rig_close(&r);
	unlink(path);
	free(path);
}

/* With no room on the ring the request fails -EBUSY instead of going nowhere. */
static void test_file_ring_full(void)
{
	static const uint8_t ops[] = { UBLK_IO_OP_READ, UBLK_IO_OP_WRITE, UBLK_IO_OP_FLUSH,
				       UBLK_IO_OP_DISCARD, UBLK_IO_OP_WRITE_ZEROES };
	const char *dir = disk_dir();
	struct ublkit_dev_params p = params(0);
	struct rig r;
	char *path;

	path = make_file(dir ? dir : "/dev/shm", 65536, 1);
	CHECK_EQ(rig_open(&r, &target_file_ops, path, &p), 0);
	((struct file *)r.s.target.priv)->in_memory = false;
	/* a ring that cannot submit (not enabled yet) and is full */
	rig_ring(&r, IORING_SETUP_R_DISABLED);
	while (io_uring_get_sqe(&r.q.ring))
		;
	for (size_t i = 0; i < sizeof(ops); i++)
		CHECK_EQ(rig_do(&r, ops[i], 0, 4096, 0), -EBUSY);
	rig_close(&r);
	unlink(path);
	free(path);
}

int main(void)
{
	ctx = test_ctx();
	RUN(test_null);
	RUN(test_mem_open);
	RUN(test_mem_rw);
	RUN(test_mem_zero);
	RUN(test_mem_user_copy);
	RUN(test_file_open);
	RUN(test_file_tmpfs);
	RUN(test_file_tmpfs_unmapped);
	RUN(test_file_disk);
	RUN(test_file_swap);
	RUN(test_file_completions);
	RUN(test_file_ring_full);
	ublkit_ctx_unref(ctx);
	return test_result();
}
