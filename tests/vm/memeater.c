/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memeater: put a machine under memory pressure and check that every byte
 * comes back. Used by the VM tests for swap (tests/vm/3?-swap-*.sh) and
 * by tests/vm/bench-swap.sh; built by tests/vm/run on the host and run in
 * the guest.
 *
 *   memeater [OPTIONS] PERCENT
 *
 * allocates PERCENT of MemTotal (e.g. 175: more than the machine has, so
 * that the rest goes to swap) as anonymous memory and writes a pattern
 * into every page that depends on the page's index and on the pass. Each
 * later pass visits all pages in a different scrambled order (a
 * permutation), verifies what the previous pass wrote and writes its own
 * pattern. When the time is up, one last sweep verifies every page. A
 * mismatch prints the page, word, expected and found value and exits 1.
 *
 * A separate thread appends a heartbeat line to a file (-H) every
 * interval (-i, default 200 ms): a system that stalls under memory
 * pressure shows as a gap between heartbeats. The largest gap is printed
 * at the end as well.
 *
 * With --seq the passes go over the pages in address order and with
 * --passes N the run ends after N passes instead of after a time: that is
 * the throughput mode of the benchmark.
 *
 * MEMEATER_CORRUPT=PAGE in the environment flips a bit of that page after
 * the fill, to show that the check catches it.
 *
 * Exit status: 0 every page verified, 1 a mismatch, 2 usage or setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static size_t page_size;
static size_t npages;
static unsigned char *mem;
static uint32_t *gen;		/* pass that last wrote each page */

static atomic_uint_fast64_t pages_done;	/* pages verified (and rewritten) */
static atomic_uint pass_now;
static atomic_bool stop_heartbeat;
static const char *hb_path;
static unsigned hb_interval_ms = 200;
static double hb_max_gap;	/* seconds, written by the heartbeat thread */
static uint64_t hb_count;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("memeater: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static double now(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t mix(uint64_t x)
{
	/* splitmix64 finalizer: every input bit moves every output bit */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* Word w of page p as written by pass g. */
static inline uint64_t pattern(uint64_t seed, size_t w)
{
	return seed + w * 0x9e3779b97f4a7c15ULL;
}

static uint64_t page_seed(size_t p, uint32_t g)
{
	return mix(((uint64_t)g << 40) ^ p ^ 0x6d656d6561746572ULL);
}

static void fill(size_t p, uint32_t g)
{
	uint64_t *w = (uint64_t *)(mem + p * page_size), seed = page_seed(p, g);
	size_t i, n = page_size / sizeof(*w);

	for (i = 0; i < n; i++)
		w[i] = pattern(seed, i);
	gen[p] = g;
}

static void check(size_t p)
{
	uint64_t *w = (uint64_t *)(mem + p * page_size), seed = page_seed(p, gen[p]);
	size_t i, n = page_size / sizeof(*w);

	for (i = 0; i < n; i++) {
		if (w[i] == pattern(seed, i))
			continue;
		printf("MISMATCH page %zu (address %p) word %zu: expected 0x%016" PRIx64
		       " (pass %" PRIu32 "), found 0x%016" PRIx64 "\n",
		       p, (void *)w, i, pattern(seed, i), gen[p], w[i]);
		/* Which pass wrote what is there, if any recent one did? */
		for (uint32_t g = gen[p] + 1; g-- > 0 && gen[p] - g < 64;) {
			if (w[i] == pattern(page_seed(p, g), i)) {
				printf("MISMATCH the page holds what pass %" PRIu32 " wrote (stale)\n", g);
				break;
			}
		}
		fflush(stdout);
		exit(1);
	}
	atomic_fetch_add_explicit(&pages_done, 1, memory_order_relaxed);
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/*
 * Pass g visits page (i * stride + offset) mod npages for i = 0..npages-1:
 * with stride coprime to npages that is a permutation, a different one
 * each pass, and far from address order (swap readahead does not help).
 */
struct order {
	uint64_t stride, offset;
};

static struct order pass_order(uint32_t g, bool seq)
{
	struct order o = { 1, 0 };

	if (seq || npages < 3)
		return o;
	o.stride = mix(g * 2 + 1) % npages;
	while (o.stride < 2 || gcd(o.stride, npages) != 1)
		o.stride = (o.stride + 1) % npages;
	o.offset = mix(g * 2 + 2) % npages;
	return o;
}

static void *heartbeat(void *arg)
{
	FILE *f;
	struct timespec next;
	double start = now(CLOCK_MONOTONIC), last = start;

	(void)arg;
	f = fopen(hb_path, "a");
	if (!f) {
		fprintf(stderr, "memeater: %s: %s\n", hb_path, strerror(errno));
		exit(2);
	}
	setvbuf(f, NULL, _IOLBF, 0);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		double t = now(CLOCK_MONOTONIC);

		if (t - last > hb_max_gap)
			hb_max_gap = t - last;
		last = t;
		hb_count++;
		/* monotonic seconds since start, wall clock, progress */
		fprintf(f, "hb %.3f %.3f pass=%u pages=%" PRIuFAST64 "\n", t - start,
			now(CLOCK_REALTIME), atomic_load(&pass_now), atomic_load(&pages_done));
		if (atomic_load(&stop_heartbeat))
			break;
		next.tv_nsec += (long)hb_interval_ms * 1000000L;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		/* After a stall, do not burst to catch up: resume from now. */
		if (now(CLOCK_MONOTONIC) > next.tv_sec + next.tv_nsec / 1e9)
			clock_gettime(CLOCK_MONOTONIC, &next);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
	}
	fclose(f);
	return NULL;
}

static size_t mem_total(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	unsigned long long kb = 0;

	if (!f)
		die("/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			break;
	fclose(f);
	if (!kb)
		die("no MemTotal in /proc/meminfo");
	return (size_t)kb * 1024;
}

static void usage(FILE *out)
{
	fputs("Usage: memeater [OPTIONS] PERCENT\n"
	      "\n"
	      "Allocate PERCENT of MemTotal, write a pattern into every page, then verify\n"
	      "and rewrite all pages pass after pass until the time is up.\n"
	      "\n"
	      "  -t, --time SECONDS       run this long (default 60), then verify every page once more\n"
	      "  -n, --passes N           run N passes after the first fill instead of a time\n"
	      "      --seq                visit pages in address order (default: scrambled)\n"
	      "  -H, --heartbeat FILE     append a heartbeat line to FILE every interval\n"
	      "  -i, --interval MS        heartbeat interval in milliseconds (default 200)\n"
	      "  -q, --quiet              no per-pass progress lines\n"
	      "\n"
	      "Exit status: 0 all pages verified, 1 a page did not verify, 2 usage or setup error.\n",
	      out);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "time", required_argument, NULL, 't' },
		{ "passes", required_argument, NULL, 'n' },
		{ "seq", no_argument, NULL, 'S' },
		{ "heartbeat", required_argument, NULL, 'H' },
		{ "interval", required_argument, NULL, 'i' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	double duration = 60, pct, t0, t_fill, t_end, deadline;
	long passes = -1;
	bool seq = false, quiet = false;
	size_t bytes, i, p;
	uint32_t g, cut_short = 0;
	pthread_t hb;
	char *end;
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "t:n:H:i:qh", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			duration = strtod(optarg, &end);
			if (*end || duration < 0)
				die("--time '%s': not a number of seconds", optarg);
			break;
		case 'n':
			passes = strtol(optarg, &end, 10);
			if (*end || passes < 0)
				die("--passes '%s': not a count", optarg);
			break;
		case 'S':
			seq = true;
			break;
		case 'H':
			hb_path = optarg;
			break;
		case 'i':
			hb_interval_ms = (unsigned)strtoul(optarg, &end, 10);
			if (*end || hb_interval_ms < 1 || hb_interval_ms > 1000)
				die("--interval '%s': milliseconds from 1 to 1000", optarg);
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	pct = strtod(argv[optind], &end);
	if (*end || pct <= 0 || pct > 1000)
		die("'%s': not a percentage of memory (1 to 1000)", argv[optind]);

	page_size = (size_t)sysconf(_SC_PAGESIZE);
	bytes = (size_t)(mem_total() * (pct / 100.0)) / page_size * page_size;
	npages = bytes / page_size;
	if (!npages)
		die("nothing to allocate");
	/* MAP_NORESERVE: more than RAM is the point; swap backs the rest. */
	mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (mem == MAP_FAILED)
		die("cannot map %zu bytes: %s", bytes, strerror(errno));
	/* Keep huge pages out: swap of 4K pages is what is measured. */
	madvise(mem, bytes, MADV_NOHUGEPAGE);
	gen = calloc(npages, sizeof(*gen));
	if (!gen)
		die("out of memory for the page table");

	printf("memeater: %zu MiB (%.0f%% of MemTotal), %zu pages of %zu bytes, %s order, %s\n",
	       bytes >> 20, pct, npages, page_size, seq ? "address" : "scrambled",
	       passes >= 0 ? "fixed passes" : "timed");
	if (hb_path) {
		int r = pthread_create(&hb, NULL, heartbeat, NULL);

		if (r)
			die("cannot start the heartbeat thread: %s", strerror(r));
	}

	t0 = now(CLOCK_MONOTONIC);
	deadline = t0 + duration;
	for (p = 0; p < npages; p++)
		fill(p, 0);
	t_fill = now(CLOCK_MONOTONIC);
	/* Self-test of the checker: MEMEATER_CORRUPT=PAGE flips a bit there. */
	if (getenv("MEMEATER_CORRUPT")) {
		p = strtoull(getenv("MEMEATER_CORRUPT"), NULL, 0) % npages;
		mem[p * page_size + 100] ^= 0x10;
	}
	if (!quiet)
		printf("memeater: pass 0 (fill) took %.1f s\n", t_fill - t0);

	for (g = 1;; g++) {
		struct order o = pass_order(g, seq);
		double ts = now(CLOCK_MONOTONIC);
		bool cut = false;

		if (passes >= 0 ? g > (uint32_t)passes : ts >= deadline)
			break;
		atomic_store(&pass_now, g);
		for (i = 0; i < npages; i++) {
			p = (size_t)((i * o.stride + o.offset) % npages);
			check(p);
			fill(p, g);
			/* A timed run stops mid-pass; the final sweep checks all. */
			if (passes < 0 && (i & 1023) == 1023 && now(CLOCK_MONOTONIC) >= deadline) {
				cut = true;
				break;
			}
		}
		if (!quiet)
			printf("memeater: pass %u %s in %.1f s, %" PRIuFAST64 " pages verified so far\n",
			       g, cut ? "cut short" : "done", now(CLOCK_MONOTONIC) - ts,
			       atomic_load(&pages_done));
		if (cut) {
			cut_short = 1;
			g++;
			break;
		}
	}
	/* Final sweep: every page, in address order, against its last pass. */
	atomic_store(&pass_now, g);
	for (p = 0; p < npages; p++)
		check(p);
	t_end = now(CLOCK_MONOTONIC);

	if (hb_path) {
		atomic_store(&stop_heartbeat, true);
		pthread_join(hb, NULL);
	}
	printf("memeater: bytes=%zu passes=%u%s pages_verified=%" PRIuFAST64
	       " runtime=%.2f fill=%.2f touched_mib_s=%.1f",
	       bytes, g - 1 - cut_short, cut_short ? "+1 cut short" : "", atomic_load(&pages_done),
	       t_end - t0, t_fill - t0,
	       /* each verified page was read, and all but the final sweep rewritten */
	       (double)(atomic_load(&pages_done) + npages) * page_size / (1 << 20) / (t_end - t0));
	if (hb_path)
		printf(" heartbeats=%" PRIu64 " max_gap=%.3f", hb_count, hb_max_gap);
	printf("\nmemeater: OK, every page verified\n");
	return 0;
}
