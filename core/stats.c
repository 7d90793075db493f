/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Per-device statistics: recording on the I/O path, summing for readers. */
#include "config.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "ublkit-private.h"
#include "stats-private.h"
#include "manifest-private.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

unsigned int stats_bucket(uint64_t ns)
{
	unsigned int msb, b;

	if (ns < 16)
		return (unsigned int)ns;
	msb = 63u - (unsigned int)__builtin_clzll(ns);
	b = 16 + (msb - 4) * 8 + (unsigned int)((ns >> (msb - 3)) & 7);
	return b < STATS_BUCKETS ? b : STATS_BUCKETS - 1;
}

/* The middle of a bucket's range. */
uint64_t stats_bucket_value(unsigned int b)
{
	unsigned int msb, sub;
	uint64_t lo;

	if (b < 16)
		return b;
	msb = (b - 16) / 8 + 4;
	sub = (b - 16) % 8;
	lo = (uint64_t)(8 + sub) << (msb - 3);
	return lo + ((1ULL << (msb - 3)) >> 1);
}

void stats_record(struct stats_queue *st, int op, int result, uint32_t len, uint64_t ns)
{
	stat_add(&st->ops[op], 1);
	if (result < 0)
		stat_add(&st->errors[op], 1);
	else
		stat_add(&st->bytes[op], op <= UBLKIT_OP_WRITE ? (uint64_t)result : len);
	stat_add(&st->lat[stats_bucket(ns)], 1);
	if (ns > st->lat_max_ns)
		__atomic_store_n(&st->lat_max_ns, ns, __ATOMIC_RELAXED);
}

int stats_create(struct ublkit_ctx *ctx, uint32_t id, unsigned int nr_queues,
		 struct stats_shm **ret, size_t *len)
{
	size_t n = sizeof(struct stats_shm) + nr_queues * sizeof(struct stats_queue);
	char p[4096];
	void *m;
	int fd, r;

	r = manifest_mkdir(ctx, id);
	if (r < 0)
		return r;
	r = manifest_dir(ctx, id, "stats", p, sizeof(p));
	if (r < 0)
		return r;
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return neg_errno();
	if (ftruncate(fd, (off_t)n) < 0) {
		r = neg_errno();
		close(fd);
		return r;
	}
	m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	r = neg_errno();
	close(fd);
	if (m == MAP_FAILED)
		return r;
	*ret = m;
	*len = n;
	(*ret)->nr_queues = nr_queues;
	(*ret)->version = STATS_VERSION;
	__atomic_store_n(&(*ret)->magic, STATS_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

static uint64_t hist_quantile(const uint64_t *hist, uint64_t total, double q)
{
	uint64_t want = (uint64_t)((double)total * q), seen = 0;

	if (!total)
		return 0;
	if (want >= total)
		want = total - 1;
	for (unsigned int b = 0; b < STATS_BUCKETS; b++) {
		seen += hist[b];
		if (seen > want)
			return stats_bucket_value(b);
	}
	return stats_bucket_value(STATS_BUCKETS - 1);
}

void stats_sum(const struct stats_shm *shm, struct ublkit_stats *out)
{
	uint64_t hist[STATS_BUCKETS] = { 0 };

	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < shm->nr_queues; i++) {
		const struct stats_queue *q = &shm->q[i];
		uint64_t max = __atomic_load_n(&q->lat_max_ns, __ATOMIC_RELAXED);

		for (int op = 0; op < UBLKIT_OP_COUNT; op++) {
			out->op[op].ops += __atomic_load_n(&q->ops[op], __ATOMIC_RELAXED);
			out->op[op].bytes += __atomic_load_n(&q->bytes[op], __ATOMIC_RELAXED);
			out->op[op].errors += __atomic_load_n(&q->errors[op], __ATOMIC_RELAXED);
		}
		out->in_flight += __atomic_load_n(&q->in_flight, __ATOMIC_RELAXED);
		for (unsigned int b = 0; b < STATS_BUCKETS; b++) {
			hist[b] += __atomic_load_n(&q->lat[b], __ATOMIC_RELAXED);
			out->lat_count += __atomic_load_n(&q->lat[b], __ATOMIC_RELAXED);
		}
		if (max > out->lat_max_ns)
			out->lat_max_ns = max;
	}
	out->lat_p50_ns = hist_quantile(hist, out->lat_count, 0.50);
	out->lat_p99_ns = hist_quantile(hist, out->lat_count, 0.99);
	out->lat_p999_ns = hist_quantile(hist, out->lat_count, 0.999);
}

static int stats_read(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_stats *st);

UBLKIT_EXPORT int ublkit_stats_read_sz(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_stats *st,
				       size_t size)
{
	struct ublkit_stats full;
	int r = stats_read(ctx, id, &full);

	if (r >= 0)
		struct_out(st, size, &full, sizeof(full));
	return r;
}

static int stats_read(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_stats *st)
{
	struct stats_shm *shm;
	struct stat sb;
	char p[4096];
	int fd, r;

	r = manifest_dir(ctx, id, "stats", p, sizeof(p));
	if (r < 0)
		return r;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	if (fstat(fd, &sb) < 0 || (size_t)sb.st_size < sizeof(*shm)) {
		close(fd);
		return -EBADMSG;
	}
	shm = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (shm == MAP_FAILED)
		return neg_errno();
	if (__atomic_load_n(&shm->magic, __ATOMIC_ACQUIRE) != STATS_MAGIC ||
	    sizeof(*shm) + shm->nr_queues * sizeof(struct stats_queue) > (size_t)sb.st_size) {
		munmap(shm, (size_t)sb.st_size);
		return -EBADMSG;
	}
	stats_sum(shm, st);
	munmap(shm, (size_t)sb.st_size);
	return 0;
}

UBLKIT_EXPORT const char *ublkit_stat_op_name(int op)
{
	static const char *const names[] = { "read", "write", "flush", "discard", "write-zeroes" };

	return op >= 0 && op < UBLKIT_OP_COUNT ? names[op] : "unknown";
}
