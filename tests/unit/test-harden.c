/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hardening: profiles, reports judged from fake /proc trees, the preflight,
 * and ublkit_harden_apply() for real in child processes, as far as the
 * host's capabilities allow (each branch asserts what it sees).
 */
#include "config.h"

#include <dirent.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "ublkit/swap.h"
#include "swap-private.h"

#define PF_IO_FLUSHER 0x00180000ULL
#define _unused_ __attribute__((unused)) /* PF_MEMALLOC_NOIO | PF_LOCAL_THROTTLE */

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif

static struct ublkit_ctx *ctx_at(const char *root)
{
	struct ublkit_ctx *ctx = test_ctx();

	if (root)
		CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	return ctx;
}

static void fake_link(const char *root, const char *path, const char *target)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s%s", root, path);
	if (symlink(target, p) < 0) {
		perror(p);
		exit(EXIT_FAILURE);
	}
}

/* A stat line whose comm is @comm and whose flags field is @flags. */
static void fake_task(const char *root, int pid, int tid, const char *comm,
		      unsigned long long flags)
{
	char path[128], line[512];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	snprintf(line, sizeof(line),
		 "%d (%s) S 1 %d %d 0 -1 %llu 176 0 0 0 0 0 0 0 20 0 2 0 20829 2535424 587\n",
		 tid, comm, pid, pid, flags);
	fake_write(root, path, line);
}

static void fake_status(const char *root, int pid, unsigned long lck_kb, unsigned long rss_kb,
			unsigned long swap_kb)
{
	char path[64], buf[512];

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	snprintf(buf, sizeof(buf),
		 "Name:\tublkit-server\nState:\tS (sleeping)\nVmPeak:\t  200000 kB\n"
		 "VmLck:\t%8lu kB\nVmRSS:\t%8lu kB\nVmSwap:\t%8lu kB\nThreads:\t2\n"
		 "CapEff:\t000001ffffffffff\n",
		 lck_kb, rss_kb, swap_kb);
	fake_write(root, path, buf);
}

/* Process 4242 with two threads and every guarantee in place. */
static char *fake_safe_server(void)
{
	char *root = fake_root_linux();

	fake_status(root, 4242, 130000, 128000, 0);
	fake_task(root, 4242, 4242, "ublkit-server", 0x400140ULL | PF_IO_FLUSHER);
	fake_task(root, 4242, 4243, "ublk q0 (io)", 0x400040ULL | PF_IO_FLUSHER);
	fake_write(root, "/proc/4242/oom_score_adj", "-1000\n");
	fake_mkdir(root, "/proc/4242/ns");
	fake_mkdir(root, "/proc/1/ns");
	fake_link(root, "/proc/4242/ns/mnt", "mnt:[4026532500]");
	fake_link(root, "/proc/1/ns/mnt", "mnt:[4026531841]");
	fake_write(root, "/proc/4242/mountinfo",
		   "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
		   "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n");
	return root;
}

static struct ublkit_harden_report *inspect(const char *root, bool preallocated)
{
	struct ublkit_harden_profile *p = NULL;
	struct ublkit_harden_report *r = NULL;
	struct ublkit_ctx *ctx = ctx_at(root);

	CHECK_EQ(ublkit_harden_profile_new(&p, UBLKIT_HARDEN_REQUIRED), 0);
	ublkit_harden_profile_set_preallocated(p, preallocated);
	CHECK_EQ(ublkit_harden_inspect(ctx, 4242, p, &r), 0);
	ublkit_harden_profile_unref(p);
	ublkit_ctx_unref(ctx);
	return r;
}

static int state(const struct ublkit_harden_report *r, int g, const char **reason)
{
	const char *dummy;

	return ublkit_harden_report_get(r, g, reason ? reason : &dummy);
}

static int64_t value(const struct ublkit_harden_report *r, int v)
{
	int64_t x = -12345;

	CHECK_EQ(ublkit_harden_report_get_value(r, v, &x), 0);
	return x;
}

/* ---- profiles ------------------------------------------------------------ */

static void test_profile(void)
{
	struct ublkit_harden_profile *p = NULL;

	CHECK_EQ(ublkit_harden_profile_new(&p, 7), -EINVAL);
	CHECK_EQ(ublkit_harden_profile_new(&p, UBLKIT_HARDEN_BEST_EFFORT), 0);
	CHECK_EQ(ublkit_harden_profile_get(p, UBLKIT_HARDEN_MLOCK_CURRENT), UBLKIT_HARDEN_BEST_EFFORT);
	CHECK_EQ(ublkit_harden_profile_get(p, UBLKIT_HARDEN_MLOCK_FUTURE), UBLKIT_HARDEN_BEST_EFFORT);
	CHECK_EQ(ublkit_harden_profile_get(p, UBLKIT_HARDEN_MLOCK_ONFAULT), UBLKIT_HARDEN_OFF);
	CHECK_EQ(ublkit_harden_profile_get(p, UBLKIT_HARDEN_IO_FLUSHER), UBLKIT_HARDEN_BEST_EFFORT);
	CHECK_EQ(ublkit_harden_profile_get(p, UBLKIT_HARDEN_OOM_PROTECT), UBLKIT_HARDEN_BEST_EFFORT);
	CHECK_EQ(ublkit_harden_profile_get(p, UBLKIT_HARDEN_PRIVATE_MOUNTS),
		 UBLKIT_HARDEN_BEST_EFFORT);
	CHECK(!ublkit_harden_profile_get_preallocated(p));
	CHECK_EQ(ublkit_harden_profile_set(p, UBLKIT_HARDEN_IO_FLUSHER, UBLKIT_HARDEN_REQUIRED), 0);
	CHECK_EQ(ublkit_harden_profile_get(p, UBLKIT_HARDEN_IO_FLUSHER), UBLKIT_HARDEN_REQUIRED);
	CHECK_EQ(ublkit_harden_profile_set(p, 6, UBLKIT_HARDEN_REQUIRED), -EINVAL);
	CHECK_EQ(ublkit_harden_profile_set(p, -1, UBLKIT_HARDEN_REQUIRED), -EINVAL);
	CHECK_EQ(ublkit_harden_profile_set(p, UBLKIT_HARDEN_IO_FLUSHER, 3), -EINVAL);
	CHECK_EQ(ublkit_harden_profile_get(p, 6), -EINVAL);
	ublkit_harden_profile_set_preallocated(p, true);
	CHECK(ublkit_harden_profile_get_preallocated(p));
	CHECK(ublkit_harden_profile_ref(p) == p);
	CHECK(ublkit_harden_profile_unref(p) == NULL);
	CHECK(ublkit_harden_profile_unref(p) == NULL);
	CHECK(ublkit_harden_profile_unref(NULL) == NULL);

	CHECK_STREQ(ublkit_harden_item_name(UBLKIT_HARDEN_MLOCK_ONFAULT), "mlock-onfault");
	CHECK_STREQ(ublkit_harden_item_name(UBLKIT_HARDEN_PRIVATE_MOUNTS), "private-mounts");
	CHECK(ublkit_harden_item_name(6) == NULL);
	CHECK_EQ(ublkit_harden_mode_from_string("required"), UBLKIT_HARDEN_REQUIRED);
	CHECK_EQ(ublkit_harden_mode_from_string("best-effort"), UBLKIT_HARDEN_BEST_EFFORT);
	CHECK_EQ(ublkit_harden_mode_from_string("no"), UBLKIT_HARDEN_OFF);
	CHECK_EQ(ublkit_harden_mode_from_string("maybe"), -EINVAL);
	for (int m = 0; m <= 2; m++)
		CHECK_EQ(ublkit_harden_mode_from_string(ublkit_harden_mode_name(m)), m);
	CHECK(ublkit_harden_mode_name(3) == NULL);
	CHECK_STREQ(ublkit_guarantee_name(UBLKIT_GUARANTEE_PREALLOCATED), "preallocated");
	CHECK(ublkit_guarantee_name(5) == NULL);
	CHECK_STREQ(ublkit_guarantee_state_name(UBLKIT_GUARANTEE_HELD), "held");
	CHECK_STREQ(ublkit_guarantee_state_name(UBLKIT_GUARANTEE_NOT_HELD), "not-held");
}

/* ---- reports from fake /proc trees --------------------------------------- */

static void test_inspect_safe(void)
{
	char *root = fake_safe_server();
	struct ublkit_harden_report *r = inspect(root, true);
	const char *why = NULL;

	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_EQ(ublkit_harden_report_get_pid(r), 4242);
	CHECK(ublkit_harden_report_is_swap_safe(r, &why));
	CHECK_STREQ(why, "all guarantees hold");
	for (int g = 0; g <= UBLKIT_GUARANTEE_PREALLOCATED; g++)
		CHECK_EQ(state(r, g, NULL), UBLKIT_GUARANTEE_HELD);
	CHECK_EQ(state(r, 5, NULL), -EINVAL);
	CHECK_EQ(value(r, UBLKIT_HARDEN_VALUE_VM_LOCKED), 130000LL << 10);
	CHECK_EQ(value(r, UBLKIT_HARDEN_VALUE_VM_RSS), 128000LL << 10);
	CHECK_EQ(value(r, UBLKIT_HARDEN_VALUE_VM_SWAP), 0);
	CHECK_EQ(value(r, UBLKIT_HARDEN_VALUE_OOM_SCORE_ADJ), -1000);
	CHECK_EQ(value(r, UBLKIT_HARDEN_VALUE_THREADS), 2);
	CHECK_EQ(value(r, UBLKIT_HARDEN_VALUE_IO_FLUSHER_THREADS), 2);
	{
		int64_t x = 7;

		CHECK_EQ(ublkit_harden_report_get_value(r, 6, &x), -EINVAL);
		CHECK_EQ(ublkit_harden_report_get_value(r, -1, &x), -EINVAL);
		CHECK_EQ(x, 7);
	}
	state(r, UBLKIT_GUARANTEE_PRIVATE_MOUNTS, &why);
	CHECK(strstr(why, "4026532500") != NULL);
	ublkit_harden_report_unref(r);
	fake_root_free(root);
}

static void test_inspect_io_flusher_missing(void)
{
	char *root = fake_safe_server();
	struct ublkit_harden_report *r;
	const char *why = NULL;

	/* PR_SET_IO_FLUSHER sets both flags: one of them is not enough */
	fake_task(root, 4242, 4243, "ublk q0 (io)", 0x400040ULL | 0x00080000ULL);
	r = inspect(root, true);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_IO_FLUSHER, &why), UBLKIT_GUARANTEE_NOT_HELD);
	CHECK(strstr(why, "1 of 2 threads lack") != NULL);
	CHECK(strstr(why, "4243 (ublk q0 (io))") != NULL);
	CHECK(strstr(why, "4242") == NULL);
	CHECK_EQ(value(r, UBLKIT_HARDEN_VALUE_THREADS), 2);
	CHECK_EQ(value(r, UBLKIT_HARDEN_VALUE_IO_FLUSHER_THREADS), 1);
	CHECK(!ublkit_harden_report_is_swap_safe(r, &why));
	CHECK(strstr(why, "io-flusher:") != NULL);
	CHECK(strstr(why, "memory-locked") == NULL);
	ublkit_harden_report_unref(r);

	fake_task(root, 4242, 4243, "ublk q0 (io)", 0x400040ULL | 0x00100000ULL);
	r = inspect(root, true);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_IO_FLUSHER, NULL), UBLKIT_GUARANTEE_NOT_HELD);
	ublkit_harden_report_unref(r);
	fake_root_free(root);
}

static void test_inspect_memory(void)
{
	char *root = fake_safe_server();
	struct ublkit_harden_report *r;
	const char *why = NULL;

	/* some of the server sits in swap */
	fake_status(root, 4242, 130000, 128000, 4);
	r = inspect(root, true);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_MEMORY_LOCKED, &why), UBLKIT_GUARANTEE_NOT_HELD);
	CHECK(strstr(why, "4 KiB") && strstr(why, "swap"));
	CHECK(!ublkit_harden_report_is_swap_safe(r, NULL));
	ublkit_harden_report_unref(r);

	/* nothing locked */
	fake_status(root, 4242, 0, 128000, 0);
	r = inspect(root, true);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_MEMORY_LOCKED, &why), UBLKIT_GUARANTEE_NOT_HELD);
	CHECK(strstr(why, "mlockall") != NULL);
	ublkit_harden_report_unref(r);

	/* 128000 KiB resident: up to 1/32 (4000 KiB) may stay unlocked */
	fake_status(root, 4242, 128000 - 4000, 128000, 0);
	r = inspect(root, true);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_MEMORY_LOCKED, NULL), UBLKIT_GUARANTEE_HELD);
	ublkit_harden_report_unref(r);
	fake_status(root, 4242, 128000 - 4001, 128000, 0);
	r = inspect(root, true);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_MEMORY_LOCKED, &why), UBLKIT_GUARANTEE_NOT_HELD);
	CHECK(strstr(why, "123999 KiB of 128000 KiB") != NULL);
	ublkit_harden_report_unref(r);

	/* small processes get the 2 MiB floor */
	fake_status(root, 4242, 2000, 4048, 0);
	r = inspect(root, true);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_MEMORY_LOCKED, NULL), UBLKIT_GUARANTEE_HELD);
	ublkit_harden_report_unref(r);
	fake_status(root, 4242, 2000, 4049, 0);
	r = inspect(root, true);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_MEMORY_LOCKED, NULL), UBLKIT_GUARANTEE_NOT_HELD);
	ublkit_harden_report_unref(r);
	fake_root_free(root);
}

static void test_inspect_oom_and_prealloc(void)
{
	char *root = fake_safe_server();
	struct ublkit_harden_report *r;
	struct ublkit_ctx *ctx;
	const char *why = NULL;

	{
		char p[4096];
		int64_t x;

		snprintf(p, sizeof(p), "%s/proc/4242/oom_score_adj", root);
		unlink(p);
		r = inspect(root, true);
		CHECK_EQ(state(r, UBLKIT_GUARANTEE_OOM_PROTECTED, NULL),
			 UBLKIT_GUARANTEE_NOT_APPLICABLE);
		CHECK_EQ(ublkit_harden_report_get_value(r, UBLKIT_HARDEN_VALUE_OOM_SCORE_ADJ, &x),
			 -ENODATA);
		ublkit_harden_report_unref(r);
	}
	fake_write(root, "/proc/4242/oom_score_adj", "-999\n");
	r = inspect(root, true);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_OOM_PROTECTED, &why), UBLKIT_GUARANTEE_NOT_HELD);
	CHECK(strstr(why, "-999") != NULL);
	CHECK_EQ(value(r, UBLKIT_HARDEN_VALUE_OOM_SCORE_ADJ), -999);
	ublkit_harden_report_unref(r);

	/* a server that does not declare preallocation is not swap safe */
	fake_write(root, "/proc/4242/oom_score_adj", "-1000\n");
	r = inspect(root, false);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_PREALLOCATED, NULL), UBLKIT_GUARANTEE_NOT_HELD);
	CHECK(!ublkit_harden_report_is_swap_safe(r, NULL));
	ublkit_harden_report_unref(r);

	/* without its profile, the declaration cannot be judged */
	ctx = ctx_at(root);
	r = NULL;
	CHECK_EQ(ublkit_harden_inspect(ctx, 4242, NULL, &r), 0);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_PREALLOCATED, NULL), UBLKIT_GUARANTEE_NOT_APPLICABLE);
	CHECK(ublkit_harden_report_is_swap_safe(r, NULL));
	ublkit_harden_report_unref(r);
	CHECK_EQ(ublkit_harden_inspect(ctx, 4343, NULL, &r), -ESRCH);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

/*
 * A swap server's profile does not call itself preallocated: that is
 * unknown (not applicable) until someone says what the target found.
 */
static void test_prealloc_from_target(void)
{
	char *root = fake_safe_server();
	struct ublkit_ctx *ctx = ctx_at(root);
	struct ublkit_harden_profile *p = NULL;
	struct ublkit_harden_report *r = NULL;
	const char *why = NULL;

	CHECK_EQ(harden_profile_for_flags(0, &p), -ENODATA);
	CHECK_EQ(harden_profile_for_flags(UBLKIT_DEV_SWAP, &p), 0);
	CHECK(!ublkit_harden_profile_get_preallocated(p));
	CHECK_EQ(ublkit_harden_inspect(ctx, 4242, p, &r), 0);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_PREALLOCATED, &why), UBLKIT_GUARANTEE_NOT_APPLICABLE);
	CHECK(why && strstr(why, "not checked"));
	r = ublkit_harden_report_unref(r);

	/* the target found its backing preallocated */
	ublkit_harden_profile_set_preallocated(p, true);
	CHECK_EQ(ublkit_harden_inspect(ctx, 4242, p, &r), 0);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_PREALLOCATED, &why), UBLKIT_GUARANTEE_HELD);
	CHECK(why && strstr(why, "target checked"));
	CHECK(ublkit_harden_report_is_swap_safe(r, NULL));
	r = ublkit_harden_report_unref(r);

	/* it did not: not safe, and the report says what may allocate */
	ublkit_harden_profile_set_preallocated(p, false);
	CHECK_EQ(ublkit_harden_inspect(ctx, 4242, p, &r), 0);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_PREALLOCATED, &why), UBLKIT_GUARANTEE_NOT_HELD);
	CHECK(why && strstr(why, "holes"));
	CHECK(!ublkit_harden_report_is_swap_safe(r, &why));
	CHECK(why && strstr(why, "preallocated: "));
	ublkit_harden_report_unref(r);
	ublkit_harden_profile_unref(p);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static void test_inspect_mounts(void)
{
	char *root = fake_safe_server();
	struct ublkit_harden_report *r;
	char p[4096];
	const char *why = NULL;

	/* shared propagation reaches the process despite its own namespace */
	fake_write(root, "/proc/4242/mountinfo",
		   "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
		   "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n");
	r = inspect(root, true);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_PRIVATE_MOUNTS, &why), UBLKIT_GUARANTEE_NOT_HELD);
	CHECK(strstr(why, "1 mount still propagates events (first: /)") != NULL);
	ublkit_harden_report_unref(r);

	/* "shared:" after the separator is a super option, not propagation */
	fake_write(root, "/proc/4242/mountinfo",
		   "27 1 254:0 / / rw,relatime master:3 - ext4 /dev/vda rw,x shared:1\n");
	r = inspect(root, true);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_PRIVATE_MOUNTS, NULL), UBLKIT_GUARANTEE_HELD);
	ublkit_harden_report_unref(r);

	/* the same namespace as pid 1 */
	snprintf(p, sizeof(p), "%s/proc/4242/ns/mnt", root);
	unlink(p);
	fake_link(root, "/proc/4242/ns/mnt", "mnt:[4026531841]");
	r = inspect(root, true);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_PRIVATE_MOUNTS, &why), UBLKIT_GUARANTEE_NOT_HELD);
	CHECK(strstr(why, "pid 1") && strstr(why, "PrivateMounts=yes"));
	ublkit_harden_report_unref(r);

	/* a thread left behind in another namespace */
	snprintf(p, sizeof(p), "%s/proc/4242/ns/mnt", root);
	unlink(p);
	fake_link(root, "/proc/4242/ns/mnt", "mnt:[4026532500]");
	fake_mkdir(root, "/proc/4242/task/4242/ns");
	fake_mkdir(root, "/proc/4242/task/4243/ns");
	fake_link(root, "/proc/4242/task/4242/ns/mnt", "mnt:[4026532500]");
	fake_link(root, "/proc/4242/task/4243/ns/mnt", "mnt:[4026531841]");
	r = inspect(root, true);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_PRIVATE_MOUNTS, &why), UBLKIT_GUARANTEE_NOT_HELD);
	CHECK(strstr(why, "thread 4243") != NULL);
	ublkit_harden_report_unref(r);
	snprintf(p, sizeof(p), "%s/proc/4242/task/4243/ns/mnt", root);
	unlink(p);
	fake_link(root, "/proc/4242/task/4243/ns/mnt", "mnt:[4026532500]");
	r = inspect(root, true);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_PRIVATE_MOUNTS, NULL), UBLKIT_GUARANTEE_HELD);
	ublkit_harden_report_unref(r);

	/* pid 1's namespace unreadable: cannot be judged, unless mounts are shared */
	snprintf(p, sizeof(p), "%s/proc/1/ns/mnt", root);
	unlink(p);
	r = inspect(root, true);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_PRIVATE_MOUNTS, &why), UBLKIT_GUARANTEE_NOT_APPLICABLE);
	CHECK(strstr(why, "unknown") != NULL);
	ublkit_harden_report_unref(r);
	fake_write(root, "/proc/4242/mountinfo",
		   "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n");
	r = inspect(root, true);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_PRIVATE_MOUNTS, NULL), UBLKIT_GUARANTEE_NOT_HELD);
	ublkit_harden_report_unref(r);
	fake_root_free(root);
}

/* ---- the preflight -------------------------------------------------------- */

struct seen {
	int n;
	struct ublkit_check c[16];
};

static void collect(const struct ublkit_check *c, void *data)
{
	struct seen *s = data;

	if (s->n < 16)
		s->c[s->n++] = *c;
}

static const struct ublkit_check *find(const struct seen *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->c[i].name, name) == 0)
			return &s->c[i];
	return NULL;
}

static int preflight(const char *root, struct seen *s)
{
	struct ublkit_ctx *ctx = ctx_at(root);
	int r;

	memset(s, 0, sizeof(*s));
	r = ublkit_harden_preflight(ctx, collect, s);
	ublkit_ctx_unref(ctx);
	return r;
}

static void test_preflight_ok(void)
{
	char *root = fake_root_linux();
	struct seen s;

	CHECK_EQ(preflight(root, &s), UBLKIT_CHECK_OK);
	CHECK_EQ(s.n, 6);
	CHECK(find(&s, "swap-memlock") && find(&s, "swap-io-flusher") && find(&s, "swap-oom"));
	CHECK(find(&s, "swap-mounts") && find(&s, "swap-io-uring") && find(&s, "swap-support"));
	for (int i = 0; i < s.n; i++)
		CHECK_STREQ(s.c[i].fix, "");
	fake_root_free(root);
}

static void test_preflight_unprivileged(void)
{
	char *root = fake_root_linux();
	const struct ublkit_check *c;
	struct seen s;

	/* CAP_SYS_ADMIN only, an 8 MiB memlock limit, Linux 5.4, no swap, no io_uring */
	fake_write(root, "/proc/self/status", "Name:\tublkit\nCapEff:\t0000000000200000\n");
	fake_write(root, "/proc/self/limits",
		   "Limit                     Soft Limit           Hard Limit           Units\n"
		   "Max locked memory         8388608              8388608              bytes\n");
	fake_write(root, "/proc/sys/kernel/osrelease", "5.4.0-150-generic\n");
	fake_write(root, "/proc/sys/kernel/io_uring_disabled", "2\n");
	{
		char p[4096];

		snprintf(p, sizeof(p), "%s/proc/swaps", root);
		unlink(p);
	}
	CHECK_EQ(preflight(root, &s), UBLKIT_CHECK_FAIL);
	c = find(&s, "swap-memlock");
	CHECK(c && c->level == UBLKIT_CHECK_FAIL && strstr(c->message, "8192 KiB") &&
	      strstr(c->fix, "ulimit -l unlimited") && strstr(c->fix, "LimitMEMLOCK=infinity") &&
	      strstr(c->fix, "CAP_IPC_LOCK"));
	c = find(&s, "swap-io-flusher");
	CHECK(c && c->level == UBLKIT_CHECK_FAIL && strstr(c->fix, "5.6"));
	c = find(&s, "swap-oom");
	CHECK(c && c->level == UBLKIT_CHECK_FAIL &&
	      strstr(c->fix, "AmbientCapabilities=CAP_SYS_RESOURCE"));
	c = find(&s, "swap-mounts");
	CHECK(c && c->level == UBLKIT_CHECK_OK);
	c = find(&s, "swap-io-uring");
	CHECK(c && c->level == UBLKIT_CHECK_FAIL);
	c = find(&s, "swap-support");
	CHECK(c && c->level == UBLKIT_CHECK_FAIL);

	/* a new kernel: only CAP_SYS_RESOURCE is missing for IO_FLUSHER */
	fake_write(root, "/proc/sys/kernel/osrelease", "5.6.0\n");
	fake_write(root, "/proc/self/limits",
		   "Max locked memory         unlimited            unlimited            bytes\n");
	preflight(root, &s);
	c = find(&s, "swap-io-flusher");
	CHECK(c && c->level == UBLKIT_CHECK_FAIL && strstr(c->fix, "CAP_SYS_RESOURCE"));
	c = find(&s, "swap-memlock");
	CHECK(c && c->level == UBLKIT_CHECK_OK);
	fake_write(root, "/proc/sys/kernel/osrelease", "5.5.19\n");
	fake_write(root, "/proc/self/status", "CapEff:\t000001ffffffffff\n");
	preflight(root, &s);
	c = find(&s, "swap-io-flusher");
	CHECK(c && c->level == UBLKIT_CHECK_FAIL && strstr(c->fix, "5.6"));
	/* a release that does not start MAJOR.MINOR in digits is unknown, not a version */
	{
		static const char *const odd[] = { "+5.6\n", " 6.1\n", "-6.1\n", "6.-1\n",
						   "6. 1\n", "4294967302.1\n", "6.99999999999\n",
						   "6\n", "v6.1\n" };

		for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
			fake_write(root, "/proc/sys/kernel/osrelease", odd[i]);
			preflight(root, &s);
			c = find(&s, "swap-io-flusher");
			CHECK(c && c->level == UBLKIT_CHECK_WARN && strstr(c->message, "unknown"));
		}
	}
	fake_root_free(root);
}

static bool own_cap(int bit);

/* The running system: the kernel is asked, not its version string. */
static void test_preflight_real(void)
{
	const struct ublkit_check *c;
	struct seen s;

	CHECK(preflight(NULL, &s) >= UBLKIT_CHECK_OK);
	c = find(&s, "swap-io-flusher");
	CHECK(c != NULL);
	if (!c)
		return;
	/* Linux >= 5.6 runs these tests: only the capability can be missing */
	if (own_cap(24)) {
		CHECK_EQ(c->level, UBLKIT_CHECK_OK);
	} else {
		CHECK_EQ(c->level, UBLKIT_CHECK_FAIL);
		CHECK(strstr(c->fix, "CAP_SYS_RESOURCE") != NULL);
	}
	c = find(&s, "swap-oom");
	CHECK(c && c->level == (own_cap(24) ? UBLKIT_CHECK_OK : UBLKIT_CHECK_FAIL));
}

/* ---- applying for real, in children --------------------------------------- */

static uint64_t own_cap_eff(void)
{
	unsigned long long v = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static bool own_cap(int bit)
{
	return own_cap_eff() & (1ULL << bit);
}

#define CAP_IPC_LOCK_BIT 14
#define CAP_SYS_ADMIN_BIT 21
#define CAP_SYS_RESOURCE_BIT 24

/* Flags of every thread of this process, straight from /proc. */
static bool all_threads_io_flushers(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	bool all = d != NULL;

	while (d && (de = readdir(d))) {
		char p[300], line[1024];
		unsigned long long flags = 0;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/self/task/%s/stat", de->d_name);
		f = fopen(p, "re");
		if (!f || !fgets(line, sizeof(line), f) ||
		    sscanf(strrchr(line, ')') + 1, " %*c %*d %*d %*d %*d %*d %llu", &flags) != 1)
			all = false;
		if (f)
			fclose(f);
		if ((flags & PF_IO_FLUSHER) != PF_IO_FLUSHER)
			all = false;
	}
	if (d)
		closedir(d);
	return all;
}

static long own_oom_score_adj(void)
{
	long v = 0;
	FILE *f = fopen("/proc/self/oom_score_adj", "re");

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static void own_mnt_ns(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/ns/mnt", buf, size - 1);

	buf[n > 0 ? n : 0] = '\0';
}

/* Run @fn in a child; its CHECK failures fail the test. */
static void in_child(void (*fn)(void))
{
	int status = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		test_failures = 0;
		fn();
		fflush(NULL);
		_exit(test_failures ? 1 : 0);
	}
	CHECK(pid > 0);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void child_best_effort(void)
{
	struct ublkit_harden_profile *p = NULL;
	struct ublkit_harden_report *r = NULL;
	struct ublkit_ctx *ctx = ctx_at(NULL);
	char ns_before[64], ns_after[64];
	const char *why = "";
	bool resource = own_cap(CAP_SYS_RESOURCE_BIT);
	int s;

	own_mnt_ns(ns_before, sizeof(ns_before));
	CHECK_EQ(ublkit_harden_profile_new(&p, UBLKIT_HARDEN_BEST_EFFORT), 0);
	ublkit_harden_profile_set_preallocated(p, true);
#ifdef HAVE_ASAN
	ublkit_harden_profile_set(p, UBLKIT_HARDEN_MLOCK_CURRENT, UBLKIT_HARDEN_OFF);
	ublkit_harden_profile_set(p, UBLKIT_HARDEN_MLOCK_FUTURE, UBLKIT_HARDEN_OFF);
#endif
	CHECK_EQ(ublkit_harden_apply(ctx, p, &r), 0);
	CHECK(r != NULL);
	if (!r)
		_exit(1);
	CHECK_EQ(ublkit_harden_report_get_pid(r), getpid());

#ifndef HAVE_ASAN
	s = state(r, UBLKIT_GUARANTEE_MEMORY_LOCKED, &why);
	if (own_cap(CAP_IPC_LOCK_BIT)) {
		CHECK_EQ(s, UBLKIT_GUARANTEE_HELD);
		CHECK(value(r, UBLKIT_HARDEN_VALUE_VM_LOCKED) > 0);
	} else {
		printf("# no CAP_IPC_LOCK: memory-locked is %s: %s\n",
		       ublkit_guarantee_state_name(s), why);
	}
#endif
	/* what the report says agrees with the kernel's task flags */
	s = state(r, UBLKIT_GUARANTEE_IO_FLUSHER, &why);
	CHECK_EQ(all_threads_io_flushers(), s == UBLKIT_GUARANTEE_HELD);
	if (resource) {
		CHECK_EQ(s, UBLKIT_GUARANTEE_HELD);
	} else {
		CHECK_EQ(s, UBLKIT_GUARANTEE_NOT_HELD);
		CHECK(strstr(why, "CAP_SYS_RESOURCE") &&
		      strstr(why, "AmbientCapabilities=CAP_SYS_RESOURCE"));
		printf("# no CAP_SYS_RESOURCE here: IO_FLUSHER and OOM protection refused\n");
	}
	s = state(r, UBLKIT_GUARANTEE_OOM_PROTECTED, &why);
	CHECK_EQ(own_oom_score_adj() == -1000, s == UBLKIT_GUARANTEE_HELD);
	CHECK_EQ(s, resource ? UBLKIT_GUARANTEE_HELD : UBLKIT_GUARANTEE_NOT_HELD);
	if (!resource)
		CHECK(strstr(why, "OOMScoreAdjust=-1000") != NULL);

	own_mnt_ns(ns_after, sizeof(ns_after));
	s = state(r, UBLKIT_GUARANTEE_PRIVATE_MOUNTS, &why);
	if (own_cap(CAP_SYS_ADMIN_BIT)) {
		CHECK(strcmp(ns_before, ns_after) != 0);
		CHECK_EQ(s, UBLKIT_GUARANTEE_HELD);
	} else {
		CHECK_STREQ(ns_before, ns_after);
		CHECK_EQ(s, UBLKIT_GUARANTEE_NOT_HELD);
	}
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_PREALLOCATED, NULL), UBLKIT_GUARANTEE_HELD);
	CHECK_EQ(ublkit_harden_report_is_swap_safe(r, &why),
		 resource && own_cap(CAP_SYS_ADMIN_BIT) && own_cap(CAP_IPC_LOCK_BIT));
	ublkit_harden_report_unref(r);
	ublkit_harden_profile_unref(p);
	ublkit_ctx_unref(ctx);
}

static void test_apply_best_effort(void)
{
	in_child(child_best_effort);
}

static void child_required(void)
{
	struct ublkit_harden_report *r = NULL;
	struct ublkit_harden_profile *p = NULL;
	struct ublkit_ctx *ctx = ctx_at(NULL);
	const char *why = "";
	int ret;

	CHECK_EQ(ublkit_harden_profile_new(&p, UBLKIT_HARDEN_REQUIRED), 0);
#ifdef HAVE_ASAN
	ublkit_harden_profile_set(p, UBLKIT_HARDEN_MLOCK_CURRENT, UBLKIT_HARDEN_OFF);
	ublkit_harden_profile_set(p, UBLKIT_HARDEN_MLOCK_FUTURE, UBLKIT_HARDEN_OFF);
#endif
	ret = ublkit_harden_apply(ctx, p, &r);
	CHECK(r != NULL);
	if (!r)
		_exit(1);
	if (own_cap(CAP_SYS_RESOURCE_BIT) && own_cap(CAP_SYS_ADMIN_BIT) &&
	    own_cap(CAP_IPC_LOCK_BIT)) {
		CHECK_EQ(ret, 0);
		CHECK(all_threads_io_flushers());
		CHECK_EQ(own_oom_score_adj(), -1000);
	} else if (!own_cap(CAP_SYS_RESOURCE_BIT)) {
		CHECK_EQ(ret, -EPERM);
		CHECK(!ublkit_harden_report_is_swap_safe(r, &why));
		CHECK(strstr(why, "io-flusher: PR_SET_IO_FLUSHER needs CAP_SYS_RESOURCE") != NULL);
		CHECK(strstr(why, "oom-protected:") != NULL);
	} else {
		CHECK(ret < 0);
	}
	ublkit_harden_report_unref(r);
	ublkit_harden_profile_unref(p);
	ublkit_ctx_unref(ctx);
}

static void test_apply_required(void)
{
	in_child(child_required);
}

static int drop_cap(int bit)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	d[bit / 32].effective &= ~(1u << (bit % 32));
	d[bit / 32].permitted &= ~(1u << (bit % 32));
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

static struct ublkit_harden_profile *mlock_only(int mode)
{
	struct ublkit_harden_profile *p = NULL;

	CHECK_EQ(ublkit_harden_profile_new(&p, UBLKIT_HARDEN_OFF), 0);
	ublkit_harden_profile_set(p, UBLKIT_HARDEN_MLOCK_CURRENT, mode);
	ublkit_harden_profile_set(p, UBLKIT_HARDEN_MLOCK_FUTURE, mode);
	return p;
}

static _unused_ void child_memlock_limit(void)
{
	struct rlimit rl = { 64 << 10, 64 << 10 };
	struct ublkit_harden_report *r = NULL;
	struct ublkit_harden_profile *p;
	struct ublkit_ctx *ctx = ctx_at(NULL);
	const char *why = "";

	CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
	if (own_cap(CAP_IPC_LOCK_BIT) && drop_cap(CAP_IPC_LOCK_BIT) < 0) {
		printf("# cannot drop CAP_IPC_LOCK: skipped\n");
		return;
	}
	CHECK(!own_cap(CAP_IPC_LOCK_BIT));

	p = mlock_only(UBLKIT_HARDEN_REQUIRED);
	CHECK_EQ(ublkit_harden_apply(ctx, p, &r), -ENOMEM);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_MEMORY_LOCKED, &why), UBLKIT_GUARANTEE_NOT_HELD);
	CHECK(strstr(why, "RLIMIT_MEMLOCK is 64 KiB") && strstr(why, "ulimit -l unlimited") &&
	      strstr(why, "LimitMEMLOCK=infinity") &&
	      strstr(why, "AmbientCapabilities=CAP_IPC_LOCK"));
	r = ublkit_harden_report_unref(r);
	p = ublkit_harden_profile_unref(p);

	/* best effort goes on, and the report says it is not in force */
	p = mlock_only(UBLKIT_HARDEN_BEST_EFFORT);
	CHECK_EQ(ublkit_harden_apply(ctx, p, &r), 0);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_MEMORY_LOCKED, &why), UBLKIT_GUARANTEE_NOT_HELD);
	CHECK(strstr(why, "ulimit -l unlimited") != NULL);
	CHECK(!ublkit_harden_report_is_swap_safe(r, NULL));
	ublkit_harden_report_unref(r);
	ublkit_harden_profile_unref(p);

	/* no report asked for: the error alone */
	p = mlock_only(UBLKIT_HARDEN_REQUIRED);
	CHECK_EQ(ublkit_harden_apply(ctx, p, NULL), -ENOMEM);
	ublkit_harden_profile_unref(p);
	ublkit_ctx_unref(ctx);
}

static void test_apply_memlock_limit(void)
{
#ifdef HAVE_ASAN
	printf("# built with AddressSanitizer: mlockall skipped\n");
#else
	in_child(child_memlock_limit);
#endif
}

static void *sleeper(void *arg)
{
	pause();
	return NULL;
}

static void child_threads(void)
{
	struct ublkit_harden_report *r = NULL;
	struct ublkit_harden_profile *p = NULL;
	struct ublkit_ctx *ctx = ctx_at(NULL);
	char ns_before[64], ns_after[64];
	const char *why = "";
	pthread_t t;
	int ret;

	CHECK_EQ(pthread_create(&t, NULL, sleeper, NULL), 0);
	CHECK_EQ(ublkit_harden_profile_new(&p, UBLKIT_HARDEN_OFF), 0);
	ublkit_harden_profile_set(p, UBLKIT_HARDEN_PRIVATE_MOUNTS, UBLKIT_HARDEN_REQUIRED);
	own_mnt_ns(ns_before, sizeof(ns_before));
	/* unshare() would succeed, and move only this thread */
	ret = ublkit_harden_apply(ctx, p, &r);
	CHECK_EQ(ret, -EINVAL);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_PRIVATE_MOUNTS, &why), UBLKIT_GUARANTEE_NOT_HELD);
	CHECK(strstr(why, "2 threads") && strstr(why, "before starting threads"));
	own_mnt_ns(ns_after, sizeof(ns_after));
	CHECK_STREQ(ns_before, ns_after);
	ublkit_harden_report_unref(r);
	ublkit_harden_profile_unref(p);
	ublkit_ctx_unref(ctx);
	_exit(test_failures ? 1 : 0); /* the sleeper never returns */
}

static void test_apply_with_threads(void)
{
	in_child(child_threads);
}

static void *io_thread(void *arg)
{
	struct ublkit_ctx *ctx = arg;
	int *ret = malloc(sizeof(int));
	char line[1024];
	unsigned long long flags = 0;
	FILE *f;

	*ret = ublkit_harden_thread(ctx);
	f = fopen("/proc/thread-self/stat", "re");
	if (f && fgets(line, sizeof(line), f))
		sscanf(strrchr(line, ')') + 1, " %*c %*d %*d %*d %*d %*d %llu", &flags);
	if (f)
		fclose(f);
	/* the thread's own flags must match what the call returned */
	if ((*ret == 0) != ((flags & PF_IO_FLUSHER) == PF_IO_FLUSHER))
		*ret = -1000;
	return ret;
}

static void child_thread_call(void)
{
	struct ublkit_harden_report *r = NULL;
	struct ublkit_ctx *ctx = ctx_at(NULL);
	const char *why = "";
	pthread_t t;
	void *res = NULL;
	int ret;

	CHECK_EQ(pthread_create(&t, NULL, io_thread, ctx), 0);
	CHECK_EQ(pthread_join(t, &res), 0);
	ret = *(int *)res;
	free(res);
	CHECK(ret != -1000);
	if (own_cap(CAP_SYS_RESOURCE_BIT))
		CHECK_EQ(ret, 0);
	else
		CHECK_EQ(ret, -EPERM);
	/* the main thread was never made an IO_FLUSHER: the report names it */
	CHECK_EQ(ublkit_harden_inspect(ctx, 0, NULL, &r), 0);
	CHECK_EQ(state(r, UBLKIT_GUARANTEE_IO_FLUSHER, &why), UBLKIT_GUARANTEE_NOT_HELD);
	{
		char tid[32];

		snprintf(tid, sizeof(tid), "%d (", (int)getpid());
		CHECK(strstr(why, tid) != NULL);
	}
	ublkit_harden_report_unref(r);
	CHECK_EQ(ublkit_harden_thread(NULL), own_cap(CAP_SYS_RESOURCE_BIT) ? 0 : -EPERM);
	ublkit_ctx_unref(ctx);
}

static void test_harden_thread(void)
{
	in_child(child_thread_call);
}

static void test_apply_sysroot(void)
{
	char *root = fake_root_linux();
	struct ublkit_ctx *ctx = ctx_at(root);
	struct ublkit_harden_report *r = (void *)1;

	CHECK_EQ(ublkit_harden_apply(ctx, NULL, &r), -EXDEV);
	CHECK(r == NULL);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

int main(void)
{
	RUN(test_profile);
	RUN(test_inspect_safe);
	RUN(test_inspect_io_flusher_missing);
	RUN(test_inspect_memory);
	RUN(test_inspect_oom_and_prealloc);
	RUN(test_prealloc_from_target);
	RUN(test_inspect_mounts);
	RUN(test_preflight_ok);
	RUN(test_preflight_unprivileged);
	RUN(test_preflight_real);
	RUN(test_apply_sysroot);
	RUN(test_apply_best_effort);
	RUN(test_apply_required);
	RUN(test_apply_memlock_limit);
	RUN(test_apply_with_threads);
	RUN(test_harden_thread);
	return test_result();
}
