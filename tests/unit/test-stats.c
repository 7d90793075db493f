/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The latency histogram behind ublkit stats: buckets and percentiles. */
#include "config.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "server-private.h"
#include "stats-private.h"

static void test_buckets_monotonic(void)
{
	unsigned int prev = 0;

	for (uint64_t ns = 0; ns < (1ULL << 40); ns = ns < 64 ? ns + 1 : ns + ns / 7) {
		unsigned int b = stats_bucket(ns);

		CHECK(b >= prev);
		CHECK(b < STATS_BUCKETS);
		prev = b;
	}
	CHECK_EQ(stats_bucket(UINT64_MAX), STATS_BUCKETS - 1);
}

static void test_bucket_precision(void)
{
	/* A bucket's value is within 1/8 of anything that lands in it. */
	for (uint64_t ns = 16; ns < (1ULL << 36); ns = ns * 3 / 2 + 1) {
		uint64_t v = stats_bucket_value(stats_bucket(ns));
		uint64_t d = v > ns ? v - ns : ns - v;

		CHECK(d * 8 <= ns);
	}
	CHECK_EQ(stats_bucket_value(stats_bucket(5)), 5);
}

static void test_bucket_values(void)
{
	static const struct {
		uint64_t ns;
		unsigned int bucket;
		uint64_t value;
	} v[] = {
		{ 0, 0, 0 },		{ 15, 15, 15 },		{ 16, 16, 17 },
		{ 17, 16, 17 },		{ 18, 17, 19 },		{ 31, 23, 31 },
		{ 32, 24, 34 },		{ 1000, 63, 992 },	{ 10000, 89, 9728 },
		{ 5000000, 161, 4980736 },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CHECK_EQ(stats_bucket(v[i].ns), v[i].bucket);
		CHECK_EQ(stats_bucket_value(v[i].bucket), v[i].value);
	}
	CHECK_EQ(stats_bucket(1ULL << 62), STATS_BUCKETS - 1);
	CHECK_EQ(stats_bucket_value(STATS_BUCKETS - 1), 4260607557632ULL);
}

static void test_record(void)
{
	struct stats_queue q;

	memset(&q, 0, sizeof(q));
	/* reads and writes count the bytes done, the others the bytes asked */
	stats_record(&q, UBLKIT_OP_WRITE, 2048, 4096, 300);
	stats_record(&q, UBLKIT_OP_READ, 4096, 4096, 100);
	stats_record(&q, UBLKIT_OP_DISCARD, 0, 1 << 20, 50);
	stats_record(&q, UBLKIT_OP_WRITE_ZEROES, 0, 8192, 50);
	stats_record(&q, UBLKIT_OP_FLUSH, 0, 0, 10);
	stats_record(&q, UBLKIT_OP_READ, -EIO, 4096, 20);
	CHECK_EQ(q.ops[UBLKIT_OP_WRITE], 1);
	CHECK_EQ(q.bytes[UBLKIT_OP_WRITE], 2048);
	CHECK_EQ(q.ops[UBLKIT_OP_READ], 2);
	CHECK_EQ(q.bytes[UBLKIT_OP_READ], 4096);
	CHECK_EQ(q.errors[UBLKIT_OP_READ], 1);
	CHECK_EQ(q.errors[UBLKIT_OP_WRITE], 0);
	CHECK_EQ(q.bytes[UBLKIT_OP_DISCARD], 1 << 20);
	CHECK_EQ(q.bytes[UBLKIT_OP_WRITE_ZEROES], 8192);
	CHECK_EQ(q.ops[UBLKIT_OP_FLUSH], 1);
	CHECK_EQ(q.bytes[UBLKIT_OP_FLUSH], 0);
	CHECK_EQ(q.lat[stats_bucket(50)], 2);
	CHECK_EQ(q.lat[stats_bucket(300)], 1);
	CHECK_EQ(q.lat[10], 1);
	/* the maximum only grows */
	CHECK_EQ(q.lat_max_ns, 300);
	stats_record(&q, UBLKIT_OP_READ, 512, 512, 299);
	CHECK_EQ(q.lat_max_ns, 300);
	stats_record(&q, UBLKIT_OP_READ, 512, 512, 301);
	CHECK_EQ(q.lat_max_ns, 301);
}

/* A percentile is the first bucket past that share of the requests. */
static void test_quantile_edges(void)
{
	struct stats_shm *shm = calloc(1, sizeof(*shm) + 2 * sizeof(struct stats_queue));
	struct ublkit_stats st;

	shm->nr_queues = 2;
	stats_sum(shm, &st);
	CHECK_EQ(st.lat_count, 0);
	CHECK_EQ(st.lat_p50_ns, 0);
	CHECK_EQ(st.lat_p999_ns, 0);
	/* half fast, half slow: the median is the slow half's first */
	for (int i = 0; i < 50; i++)
		stats_record(&shm->q[1], UBLKIT_OP_READ, 512, 512, 100);
	for (int i = 0; i < 50; i++)
		stats_record(&shm->q[0], UBLKIT_OP_READ, 512, 512, 1000000);
	shm->q[0].in_flight = 3;
	shm->q[1].in_flight = 4;
	stats_sum(shm, &st);
	CHECK_EQ(st.lat_count, 100);
	CHECK_EQ(st.lat_p50_ns, stats_bucket_value(stats_bucket(1000000)));
	CHECK_EQ(st.lat_p99_ns, stats_bucket_value(stats_bucket(1000000)));
	CHECK_EQ(st.in_flight, 7);
	CHECK_EQ(st.lat_max_ns, 1000000);
	CHECK_EQ(st.op[UBLKIT_OP_READ].ops, 100);
	/* one more fast one and the median moves to it */
	stats_record(&shm->q[1], UBLKIT_OP_READ, 512, 512, 100);
	stats_sum(shm, &st);
	CHECK_EQ(st.lat_p50_ns, stats_bucket_value(stats_bucket(100)));
	/* only queues that exist are summed */
	shm->nr_queues = 1;
	stats_sum(shm, &st);
	CHECK_EQ(st.lat_count, 50);
	CHECK_EQ(st.in_flight, 3);
	CHECK_EQ(st.lat_p50_ns, stats_bucket_value(stats_bucket(1000000)));
	/* a single sample is every percentile */
	memset(shm->q, 0, sizeof(shm->q[0]));
	stats_record(&shm->q[0], UBLKIT_OP_WRITE, 512, 512, 7);
	stats_sum(shm, &st);
	CHECK_EQ(st.lat_p50_ns, 7);
	CHECK_EQ(st.lat_p999_ns, 7);
	CHECK_EQ(st.lat_max_ns, 7);
	free(shm);
}

static void test_names(void)
{
	CHECK_STREQ(ublkit_stat_op_name(UBLKIT_OP_READ), "read");
	CHECK_STREQ(ublkit_stat_op_name(UBLKIT_OP_WRITE), "write");
	CHECK_STREQ(ublkit_stat_op_name(UBLKIT_OP_FLUSH), "flush");
	CHECK_STREQ(ublkit_stat_op_name(UBLKIT_OP_DISCARD), "discard");
	CHECK_STREQ(ublkit_stat_op_name(UBLKIT_OP_WRITE_ZEROES), "write-zeroes");
	CHECK_STREQ(ublkit_stat_op_name(UBLKIT_OP_COUNT), "unknown");
	CHECK_STREQ(ublkit_stat_op_name(-1), "unknown");
}

static void truncate_stats(const char *root, off_t size)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/run/ublkit/devices/5/stats", root);
	CHECK_EQ(truncate(p, size), 0);
}

/* The shared file: created by the server, read by anyone. */
static void test_file(void)
{
	char *root = fake_root_linux();
	struct ublkit_ctx *ctx = test_ctx();
	struct stats_shm *shm = NULL;
	struct ublkit_stats st;
	size_t len = 0;
	char p[4096];
	struct stat sb;

	fake_mkdir(root, "/run");
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	CHECK_EQ(ublkit_stats_read(ctx, 5, &st), -ENOENT);
	CHECK_EQ(stats_create(ctx, 5, 3, &shm, &len), 0);
	CHECK(shm != NULL);
	if (!shm)
		goto out;
	CHECK_EQ(len, sizeof(*shm) + 3 * sizeof(struct stats_queue));
	snprintf(p, sizeof(p), "%s/run/ublkit/devices/5/stats", root);
	CHECK_EQ(stat(p, &sb), 0);
	CHECK_EQ(sb.st_size, len);
	CHECK(shm->magic == STATS_MAGIC);
	CHECK_EQ(shm->version, STATS_VERSION);
	CHECK_EQ(shm->nr_queues, 3);
	stats_record(&shm->q[2], UBLKIT_OP_WRITE, 4096, 4096, 1000);
	stats_record(&shm->q[0], UBLKIT_OP_READ, 8192, 8192, 1000);
	CHECK_EQ(ublkit_stats_read(ctx, 5, &st), 0);
	CHECK_EQ(st.op[UBLKIT_OP_WRITE].bytes, 4096);
	CHECK_EQ(st.op[UBLKIT_OP_READ].bytes, 8192);
	CHECK_EQ(st.lat_count, 2);
	/* written by a server that died half way: refused */
	shm->magic = 0;
	CHECK_EQ(ublkit_stats_read(ctx, 5, &st), -EBADMSG);
	shm->magic = STATS_MAGIC;
	shm->nr_queues = 4;
	CHECK_EQ(ublkit_stats_read(ctx, 5, &st), -EBADMSG);
	shm->nr_queues = 0;
	CHECK_EQ(ublkit_stats_read(ctx, 5, &st), 0);
	CHECK_EQ(st.lat_count, 0);
	munmap(shm, len);
	CHECK_EQ(test_mappings(root), 0); /* reading maps nothing for good, valid or not */
	truncate_stats(root, sizeof(*shm));
	CHECK_EQ(ublkit_stats_read(ctx, 5, &st), 0);
	truncate_stats(root, sizeof(*shm) - 1);
	CHECK_EQ(ublkit_stats_read(ctx, 5, &st), -EBADMSG);
	truncate_stats(root, 0);
	CHECK_EQ(ublkit_stats_read(ctx, 5, &st), -EBADMSG);
	CHECK_EQ(test_mappings(root), 0);

	/* created again over an old one */
	CHECK_EQ(stats_create(ctx, 5, 1, &shm, &len), 0);
	CHECK_EQ(len, sizeof(*shm) + sizeof(struct stats_queue));
	CHECK_EQ(ublkit_stats_read(ctx, 5, &st), 0);
	munmap(shm, len);
	/* no place for it */
	fake_write(root, "/run/ublkit/devices/6", "");
	CHECK(stats_create(ctx, 6, 1, &shm, &len) < 0);
	snprintf(p, sizeof(p), "%s/run/ublkit/devices/7/stats", root);
	fake_mkdir(root, "/run/ublkit/devices/7/stats");
	CHECK_EQ(stats_create(ctx, 7, 1, &shm, &len), -EISDIR);
out:
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static void test_percentiles(void)
{
	struct stats_shm *shm = calloc(1, sizeof(*shm) + 2 * sizeof(struct stats_queue));
	struct ublkit_stats st;

	shm->magic = STATS_MAGIC;
	shm->nr_queues = 2;
	/* 990 fast requests (10 us) and 10 slow ones (5 ms), on two queues */
	for (int i = 0; i < 990; i++)
		stats_record(&shm->q[i % 2], UBLKIT_OP_READ, 4096, 4096, 10000);
	for (int i = 0; i < 10; i++)
		stats_record(&shm->q[1], UBLKIT_OP_WRITE, -5, 4096, 5000000);
	stats_sum(shm, &st);
	CHECK_EQ(st.op[UBLKIT_OP_READ].ops, 990);
	CHECK_EQ(st.op[UBLKIT_OP_READ].bytes, 990 * 4096);
	CHECK_EQ(st.op[UBLKIT_OP_WRITE].ops, 10);
	CHECK_EQ(st.op[UBLKIT_OP_WRITE].errors, 10);
	CHECK_EQ(st.op[UBLKIT_OP_WRITE].bytes, 0);
	CHECK_EQ(st.lat_count, 1000);
	CHECK(st.lat_p50_ns > 9000 && st.lat_p50_ns < 11000);
	CHECK(st.lat_p99_ns > 4500000 && st.lat_p99_ns < 5500000);
	CHECK(st.lat_p999_ns > 4500000);
	CHECK_EQ(st.lat_max_ns, 5000000);
	free(shm);
}

int main(void)
{
	RUN(test_buckets_monotonic);
	RUN(test_bucket_precision);
	RUN(test_bucket_values);
	RUN(test_record);
	RUN(test_quantile_edges);
	RUN(test_names);
	RUN(test_file);
	RUN(test_percentiles);
	return test_result();
}
