/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Per-device statistics, kept in a file under /run/ublkit that the server
 * maps shared: each queue thread is the only writer of its block, readers
 * (ublkit stats, ublkitd) map it read-only and sum. Counters are updated
 * with relaxed atomic stores, so keeping them on costs a few cycles per I/O.
 */
#ifndef UBLKIT_STATS_PRIVATE_H
#define UBLKIT_STATS_PRIVATE_H

#include <stdint.h>

#include "ublkit/ublk.h"

#define STATS_MAGIC 0x7461747374626b75ULL /* "ubktstat" */
#define STATS_VERSION 1
/* Latency histogram: 16 linear buckets, then 8 per power of two (~12% wide). */
#define STATS_BUCKETS 320

struct stats_queue {
	uint64_t ops[UBLKIT_OP_COUNT];
	uint64_t bytes[UBLKIT_OP_COUNT];
	uint64_t errors[UBLKIT_OP_COUNT];
	uint64_t in_flight;
	uint64_t lat_max_ns;
	uint64_t lat[STATS_BUCKETS];
} __attribute__((aligned(64)));

struct stats_shm {
	uint64_t magic;
	uint32_t version;
	uint32_t nr_queues;
	struct stats_queue q[];
};

static inline void stat_add(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

unsigned int stats_bucket(uint64_t ns);
uint64_t stats_bucket_value(unsigned int bucket);
void stats_record(struct stats_queue *st, int op, int result, uint32_t len, uint64_t ns);
int stats_create(struct ublkit_ctx *ctx, uint32_t id, unsigned int nr_queues,
		 struct stats_shm **ret, size_t *len);
void stats_sum(const struct stats_shm *shm, struct ublkit_stats *out);
uint64_t now_ns(void);

#endif
