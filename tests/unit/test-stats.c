/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The latency histogram behind ublkit stats: buckets and percentiles. */
#include "config.h"

#include "test.h"
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
	RUN(test_percentiles);
	return test_result();
}
