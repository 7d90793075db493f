/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hardening of a server that backs swap: apply a profile to the calling
 * process, and judge any process from what /proc says about it.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "ublkit-private.h"
#include "ublkit/ublk.h"
#include "check-private.h"
#include "swap-private.h"

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

#define HARDEN_ITEMS 6
#define GUARANTEES 5
#define VALUES 6

/*
 * Mappings the kernel owns (vdso, io_uring rings) count in VmRSS but
 * cannot be mlocked; they cannot be swapped out either. This much
 * resident memory may stay unlocked before memory counts as not locked.
 */
#define UNLOCKED_SLACK_MIN (2ULL << 20)
#define UNLOCKED_SLACK_SHIFT 5 /* 1/32 of VmRSS */

#define REASON_MAX 512

struct ublkit_harden_profile {
	int refcount;
	int mode[HARDEN_ITEMS];
	bool preallocated;
	/* harden_profile_for_flags(): not known until the target has checked */
	bool preallocated_unknown;
};

struct guarantee {
	int state;
	char reason[REASON_MAX];
};

struct ublkit_harden_report {
	int refcount;
	pid_t pid;
	bool swap_safe;
	char reason[GUARANTEES * (REASON_MAX + 32)];
	struct guarantee g[GUARANTEES];
	int64_t value[VALUES];
	bool have_value[VALUES];
};

static const char *const item_names[HARDEN_ITEMS] = {
	[UBLKIT_HARDEN_MLOCK_CURRENT] = "mlock-current",
	[UBLKIT_HARDEN_MLOCK_FUTURE] = "mlock-future",
	[UBLKIT_HARDEN_MLOCK_ONFAULT] = "mlock-onfault",
	[UBLKIT_HARDEN_IO_FLUSHER] = "io-flusher",
	[UBLKIT_HARDEN_OOM_PROTECT] = "oom-protect",
	[UBLKIT_HARDEN_PRIVATE_MOUNTS] = "private-mounts",
};

static const char *const guarantee_names[GUARANTEES] = {
	[UBLKIT_GUARANTEE_MEMORY_LOCKED] = "memory-locked",
	[UBLKIT_GUARANTEE_IO_FLUSHER] = "io-flusher",
	[UBLKIT_GUARANTEE_OOM_PROTECTED] = "oom-protected",
	[UBLKIT_GUARANTEE_PRIVATE_MOUNTS] = "private-mounts",
	[UBLKIT_GUARANTEE_PREALLOCATED] = "preallocated",
};

/* ---- fixes, shared by apply and preflight ------------------------------ */

#define FIX_MEMLOCK                                                                            \
	"run `ulimit -l unlimited`, set LimitMEMLOCK=infinity in the unit, or grant "          \
	"CAP_IPC_LOCK (AmbientCapabilities=CAP_IPC_LOCK, or setcap cap_ipc_lock+ep on the "    \
	"server)"
#define FIX_SYS_RESOURCE                                                                       \
	"grant CAP_SYS_RESOURCE (AmbientCapabilities=CAP_SYS_RESOURCE in the unit, or setcap " \
	"cap_sys_resource+ep on the server)"
#define FIX_OOM FIX_SYS_RESOURCE ", or set OOMScoreAdjust=-1000 in the unit"
#define FIX_SYS_ADMIN                                                                          \
	"grant CAP_SYS_ADMIN (AmbientCapabilities=CAP_SYS_ADMIN), or set PrivateMounts=yes in " \
	"the unit"
#define FIX_KERNEL_IO_FLUSHER "boot Linux >= 5.6, the first with PR_SET_IO_FLUSHER"

/* ---- profile -------------------------------------------------------- */

static bool mode_valid(int mode)
{
	return mode >= UBLKIT_HARDEN_OFF && mode <= UBLKIT_HARDEN_REQUIRED;
}

static bool item_valid(int item)
{
	return item >= 0 && item < HARDEN_ITEMS;
}

UBLKIT_EXPORT int ublkit_harden_profile_new(struct ublkit_harden_profile **ret, int mode)
{
	struct ublkit_harden_profile *p;

	if (!ret || !mode_valid(mode))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->refcount = 1;
	for (int i = 0; i < HARDEN_ITEMS; i++)
		p->mode[i] = mode;
	p->mode[UBLKIT_HARDEN_MLOCK_ONFAULT] = UBLKIT_HARDEN_OFF;
	*ret = p;
	return 0;
}

UBLKIT_EXPORT struct ublkit_harden_profile *
ublkit_harden_profile_ref(struct ublkit_harden_profile *p)
{
	if (p)
		p->refcount++;
	return p;
}

UBLKIT_EXPORT struct ublkit_harden_profile *
ublkit_harden_profile_unref(struct ublkit_harden_profile *p)
{
	if (p && --p->refcount == 0)
		free(p);
	return NULL;
}

static void profile_unrefp(struct ublkit_harden_profile **p)
{
	ublkit_harden_profile_unref(*p);
}

UBLKIT_EXPORT int ublkit_harden_profile_set(struct ublkit_harden_profile *p, int item, int mode)
{
	if (!p || !item_valid(item) || !mode_valid(mode))
		return -EINVAL;
	p->mode[item] = mode;
	return 0;
}

UBLKIT_EXPORT int ublkit_harden_profile_get(const struct ublkit_harden_profile *p, int item)
{
	if (!p || !item_valid(item))
		return -EINVAL;
	return p->mode[item];
}

UBLKIT_EXPORT void ublkit_harden_profile_set_preallocated(struct ublkit_harden_profile *p,
							  bool preallocated)
{
	if (p) {
		p->preallocated = preallocated;
		p->preallocated_unknown = false;
	}
}

UBLKIT_EXPORT bool ublkit_harden_profile_get_preallocated(const struct ublkit_harden_profile *p)
{
	return p && p->preallocated;
}

UBLKIT_EXPORT const char *ublkit_harden_item_name(int item)
{
	return item_valid(item) ? item_names[item] : NULL;
}

UBLKIT_EXPORT const char *ublkit_harden_mode_name(int mode)
{
	switch (mode) {
	case UBLKIT_HARDEN_OFF: return "off";
	case UBLKIT_HARDEN_BEST_EFFORT: return "best-effort";
	case UBLKIT_HARDEN_REQUIRED: return "required";
	default: return NULL;
	}
}

UBLKIT_EXPORT int ublkit_harden_mode_from_string(const char *s)
{
	if (!s)
		return -EINVAL;
	if (strcasecmp(s, "off") == 0 || strcasecmp(s, "no") == 0)
		return UBLKIT_HARDEN_OFF;
	if (strcasecmp(s, "best-effort") == 0)
		return UBLKIT_HARDEN_BEST_EFFORT;
	if (strcasecmp(s, "required") == 0 || strcasecmp(s, "yes") == 0)
		return UBLKIT_HARDEN_REQUIRED;
	return -EINVAL;
}

/* ---- report ----------------------------------------------------------- */

static struct ublkit_harden_report *report_new(pid_t pid)
{
	struct ublkit_harden_report *r = calloc(1, sizeof(*r));

	if (r) {
		r->refcount = 1;
		r->pid = pid;
	}
	return r;
}

static void set_guarantee(struct ublkit_harden_report *r, int g, int state, const char *fmt, ...)
	_printf_(4, 5);

static void set_guarantee(struct ublkit_harden_report *r, int g, int state, const char *fmt, ...)
{
	va_list ap;

	r->g[g].state = state;
	va_start(ap, fmt);
	vsnprintf(r->g[g].reason, sizeof(r->g[g].reason), fmt, ap);
	va_end(ap);
}

static void set_value(struct ublkit_harden_report *r, int v, int64_t value)
{
	r->value[v] = value;
	r->have_value[v] = true;
}

UBLKIT_EXPORT struct ublkit_harden_report *ublkit_harden_report_ref(struct ublkit_harden_report *r)
{
	if (r)
		r->refcount++;
	return r;
}

UBLKIT_EXPORT struct ublkit_harden_report *
ublkit_harden_report_unref(struct ublkit_harden_report *r)
{
	if (r && --r->refcount == 0)
		free(r);
	return NULL;
}

UBLKIT_EXPORT pid_t ublkit_harden_report_get_pid(const struct ublkit_harden_report *r)
{
	return r ? r->pid : 0;
}

UBLKIT_EXPORT bool ublkit_harden_report_is_swap_safe(const struct ublkit_harden_report *r,
						     const char **reason)
{
	if (reason)
		*reason = r ? r->reason : "no report";
	return r && r->swap_safe;
}

UBLKIT_EXPORT int ublkit_harden_report_get(const struct ublkit_harden_report *r, int guarantee,
					   const char **reason)
{
	if (!r || guarantee < 0 || guarantee >= GUARANTEES)
		return -EINVAL;
	if (reason)
		*reason = r->g[guarantee].reason;
	return r->g[guarantee].state;
}

UBLKIT_EXPORT int ublkit_harden_report_get_value(const struct ublkit_harden_report *r, int value,
						 int64_t *ret)
{
	if (!r || !ret || value < 0 || value >= VALUES)
		return -EINVAL;
	if (!r->have_value[value])
		return -ENODATA;
	*ret = r->value[value];
	return 0;
}

UBLKIT_EXPORT const char *ublkit_guarantee_name(int guarantee)
{
	return guarantee >= 0 && guarantee < GUARANTEES ? guarantee_names[guarantee] : NULL;
}

UBLKIT_EXPORT const char *ublkit_guarantee_state_name(int state)
{
	switch (state) {
	case UBLKIT_GUARANTEE_NOT_HELD: return "not-held";
	case UBLKIT_GUARANTEE_HELD: return "held";
	case UBLKIT_GUARANTEE_NOT_APPLICABLE: return "n/a";
	default: return NULL;
	}
}

/* ---- inspection ------------------------------------------------------- */

static void judge_memory(struct ublkit_harden_report *r, const struct proc_status *st)
{
	const int g = UBLKIT_GUARANTEE_MEMORY_LOCKED;
	uint64_t slack;

	if (!st->have_vm) {
		set_guarantee(r, g, UBLKIT_GUARANTEE_NOT_APPLICABLE,
			      "the process has no memory (exiting, or a kernel thread)");
		return;
	}
	set_value(r, UBLKIT_HARDEN_VALUE_VM_LOCKED, (int64_t)st->vm_lck);
	set_value(r, UBLKIT_HARDEN_VALUE_VM_RSS, (int64_t)st->vm_rss);
	set_value(r, UBLKIT_HARDEN_VALUE_VM_SWAP, (int64_t)st->vm_swap);
	slack = st->vm_rss >> UNLOCKED_SLACK_SHIFT;
	if (slack < UNLOCKED_SLACK_MIN)
		slack = UNLOCKED_SLACK_MIN;
	if (st->vm_swap > 0)
		set_guarantee(r, g, UBLKIT_GUARANTEE_NOT_HELD,
			      "%" PRIu64 " KiB of the process are in swap (VmSwap): its memory is "
			      "not locked; mlockall(MCL_CURRENT|MCL_FUTURE) before serving",
			      st->vm_swap >> 10);
	else if (st->vm_lck == 0)
		set_guarantee(r, g, UBLKIT_GUARANTEE_NOT_HELD,
			      "no memory is locked (VmLck 0 KiB of VmRSS %" PRIu64
			      " KiB): mlockall is not in force",
			      st->vm_rss >> 10);
	else if (st->vm_lck + slack < st->vm_rss)
		set_guarantee(r, g, UBLKIT_GUARANTEE_NOT_HELD,
			      "only %" PRIu64 " KiB of %" PRIu64 " KiB resident are locked: "
			      "memory mapped since was not locked (MCL_FUTURE missing?)",
			      st->vm_lck >> 10, st->vm_rss >> 10);
	else
		set_guarantee(r, g, UBLKIT_GUARANTEE_HELD,
			      "%" PRIu64 " KiB locked, %" PRIu64 " KiB resident, none in swap",
			      st->vm_lck >> 10, st->vm_rss >> 10);
}

static int read_task_flags(struct ublkit_ctx *ctx, const char *pid, const char *tid,
			   uint64_t *flags, char *comm, size_t comm_size)
{
	char path[300], line[1024];
	const char *open_paren, *close_paren;
	int r;

	snprintf(path, sizeof(path), "/proc/%s/task/%s/stat", pid, tid);
	r = ublkit_read_line(ctx, path, line, sizeof(line));
	if (r < 0)
		return r;
	open_paren = strchr(line, '(');
	close_paren = strrchr(line, ')');
	if (open_paren && close_paren && close_paren > open_paren)
		snprintf(comm, comm_size, "%.*s", (int)(close_paren - open_paren - 1),
			 open_paren + 1);
	else
		snprintf(comm, comm_size, "?");
	return proc_stat_flags(line, flags);
}

static void judge_io_flusher(struct ublkit_ctx *ctx, struct ublkit_harden_report *r,
			     const char *pid)
{
	const int g = UBLKIT_GUARANTEE_IO_FLUSHER;
	char p[4096], missing[REASON_MAX / 2] = "";
	int threads = 0, flushers = 0, r2;
	struct dirent *de;
	size_t off = 0;
	DIR *dir;

	r2 = ublkit_pathf(ctx, p, sizeof(p), "/proc/%s/task", pid);
	dir = r2 < 0 ? NULL : opendir(p);
	if (!dir) {
		set_guarantee(r, g, UBLKIT_GUARANTEE_NOT_APPLICABLE,
			      "cannot list the threads (/proc/%s/task): %s", pid,
			      strerror(r2 < 0 ? -r2 : errno));
		return;
	}
	while ((de = readdir(dir))) {
		char comm[64];
		uint64_t flags;

		if (de->d_name[0] == '.')
			continue;
		if (read_task_flags(ctx, pid, de->d_name, &flags, comm, sizeof(comm)) < 0)
			continue; /* the thread exited meanwhile */
		threads++;
		if ((flags & TASK_PF_IO_FLUSHER) == TASK_PF_IO_FLUSHER) {
			flushers++;
			continue;
		}
		if (off < sizeof(missing))
			off += (size_t)snprintf(missing + off, sizeof(missing) - off, "%s%s (%s)",
						off ? ", " : "", de->d_name, comm);
	}
	closedir(dir);
	set_value(r, UBLKIT_HARDEN_VALUE_THREADS, threads);
	set_value(r, UBLKIT_HARDEN_VALUE_IO_FLUSHER_THREADS, flushers);
	if (threads == 0)
		set_guarantee(r, g, UBLKIT_GUARANTEE_NOT_APPLICABLE, "no threads found");
	else if (flushers == threads)
		set_guarantee(r, g, UBLKIT_GUARANTEE_HELD, "all %d thread%s are IO_FLUSHERs",
			      threads, threads == 1 ? "" : "s");
	else
		set_guarantee(r, g, UBLKIT_GUARANTEE_NOT_HELD,
			      "%d of %d threads lack PF_MEMALLOC_NOIO|PF_LOCAL_THROTTLE: %s; "
			      "apply hardening before starting threads or call "
			      "ublkit_harden_thread() in each",
			      threads - flushers, threads, missing);
}

static void judge_oom(struct ublkit_ctx *ctx, struct ublkit_harden_report *r, const char *pid)
{
	const int g = UBLKIT_GUARANTEE_OOM_PROTECTED;
	char path[64], buf[32];
	long v;
	int r2;

	snprintf(path, sizeof(path), "/proc/%s/oom_score_adj", pid);
	r2 = ublkit_read_line(ctx, path, buf, sizeof(buf));
	if (r2 < 0 || sscanf(buf, "%ld", &v) != 1) {
		set_guarantee(r, g, UBLKIT_GUARANTEE_NOT_APPLICABLE, "cannot read %s: %s", path,
			      strerror(r2 < 0 ? -r2 : EINVAL));
		return;
	}
	set_value(r, UBLKIT_HARDEN_VALUE_OOM_SCORE_ADJ, v);
	if (v == -1000)
		set_guarantee(r, g, UBLKIT_GUARANTEE_HELD, "oom_score_adj is -1000");
	else
		set_guarantee(r, g, UBLKIT_GUARANTEE_NOT_HELD,
			      "oom_score_adj is %ld, not -1000: the OOM killer may kill the "
			      "server while the kernel waits for it",
			      v);
}

static int read_link(struct ublkit_ctx *ctx, const char *rel, char *buf, size_t size)
{
	char p[4096];
	ssize_t n;
	int r;

	r = ublkit_ctx_path(ctx, rel, p, sizeof(p));
	if (r < 0)
		return r;
	n = readlink(p, buf, size - 1);
	if (n < 0)
		return neg_errno();
	buf[n] = '\0';
	return 0;
}

static int read_ns(struct ublkit_ctx *ctx, const char *pid, char *buf, size_t size)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "/proc/%s/ns/mnt", pid);
	return read_link(ctx, rel, buf, size);
}

/*
 * unshare(CLONE_NEWNS) moves only the calling thread: a thread started
 * before it stays in the old namespace. The first such thread, if any.
 */
static bool thread_in_other_ns(struct ublkit_ctx *ctx, const char *pid, const char *ns,
			       char *tid, size_t size)
{
	char p[4096];
	struct dirent *de;
	bool found = false;
	DIR *dir;

	if (ublkit_pathf(ctx, p, sizeof(p), "/proc/%s/task", pid) < 0)
		return false;
	dir = opendir(p);
	while (dir && !found && (de = readdir(dir))) {
		char rel[300], other[64];

		if (de->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof(rel), "/proc/%s/task/%s/ns/mnt", pid, de->d_name);
		if (read_link(ctx, rel, other, sizeof(other)) < 0 || strcmp(other, ns) == 0)
			continue;
		snprintf(tid, size, "%.31s", de->d_name);
		found = true;
	}
	if (dir)
		closedir(dir);
	return found;
}

static int count_threads(struct ublkit_ctx *ctx, const char *pid)
{
	char p[4096];
	struct dirent *de;
	int n = 0;
	DIR *dir;

	if (ublkit_pathf(ctx, p, sizeof(p), "/proc/%s/task", pid) < 0)
		return -ENAMETOOLONG;
	dir = opendir(p);
	if (!dir)
		return neg_errno();
	while ((de = readdir(dir)))
		n += de->d_name[0] != '.';
	closedir(dir);
	return n;
}

int mountinfo_count_shared(FILE *f, char *first, size_t size)
{
	char line[4096];
	int n = 0;

	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		char *shared = strstr(line, " shared:");
		char mnt[1024];

		if (!shared || (sep && shared > sep))
			continue;
		if (n++ == 0 && sscanf(line, "%*s %*s %*s %*s %1023s", mnt) == 1) {
			unescape_octal(mnt);
			snprintf(first, size, "%.200s", mnt);
		}
	}
	return n;
}

/* Mount points that share propagation events ("shared:N" in mountinfo). */
static int count_shared_mounts(struct ublkit_ctx *ctx, const char *pid, char *first,
			       size_t size)
{
	_cleanup_fclose_ FILE *f = NULL;
	char p[4096];
	int r;

	r = ublkit_pathf(ctx, p, sizeof(p), "/proc/%s/mountinfo", pid);
	if (r < 0)
		return r;
	f = fopen(p, "re");
	if (!f)
		return neg_errno();
	return mountinfo_count_shared(f, first, size);
}

static void judge_mounts(struct ublkit_ctx *ctx, struct ublkit_harden_report *r, const char *pid)
{
	const int g = UBLKIT_GUARANTEE_PRIVATE_MOUNTS;
	char own[64], init[64], shared_mnt[256] = "", tid[32];
	int r_own, r_init, shared;

	if (strcmp(pid, "1") == 0) {
		set_guarantee(r, g, UBLKIT_GUARANTEE_NOT_APPLICABLE,
			      "pid 1 defines the namespace others are compared with");
		return;
	}
	r_own = read_ns(ctx, pid, own, sizeof(own));
	if (r_own < 0) {
		set_guarantee(r, g, UBLKIT_GUARANTEE_NOT_APPLICABLE,
			      "cannot read /proc/%s/ns/mnt: %s", pid, strerror(-r_own));
		return;
	}
	r_init = read_ns(ctx, "1", init, sizeof(init));
	if (r_init == 0 && strcmp(own, init) == 0) {
		set_guarantee(r, g, UBLKIT_GUARANTEE_NOT_HELD,
			      "the process shares pid 1's mount namespace (%s): unmounts and "
			      "switch_root reach it; " FIX_SYS_ADMIN,
			      own);
		return;
	}
	if (thread_in_other_ns(ctx, pid, own, tid, sizeof(tid))) {
		set_guarantee(r, g, UBLKIT_GUARANTEE_NOT_HELD,
			      "thread %s is in another mount namespace than the process (%s): "
			      "it was started before unshare; apply hardening before starting "
			      "threads",
			      tid, own);
		return;
	}
	shared = count_shared_mounts(ctx, pid, shared_mnt, sizeof(shared_mnt));
	if (shared > 0) {
		set_guarantee(r, g, UBLKIT_GUARANTEE_NOT_HELD,
			      "%d mount%s still propagate%s events (first: %s): make / rprivate "
			      "(mount --make-rprivate /)",
			      shared, shared == 1 ? "" : "s", shared == 1 ? "s" : "", shared_mnt);
		return;
	}
	if (r_init == 0)
		set_guarantee(r, g, UBLKIT_GUARANTEE_HELD,
			      "own mount namespace %s (pid 1: %s), no shared mounts", own, init);
	else
		/* pid 1 hides its namespace from a process with fewer capabilities */
		set_guarantee(r, g, UBLKIT_GUARANTEE_NOT_APPLICABLE,
			      "mount namespace %s has no shared mounts; whether it is pid 1's is "
			      "unknown (/proc/1/ns/mnt: %s)",
			      own, strerror(-r_init));
}

static void judge_preallocated(struct ublkit_harden_report *r,
			       const struct ublkit_harden_profile *declared)
{
	const int g = UBLKIT_GUARANTEE_PREALLOCATED;

	if (!declared)
		set_guarantee(r, g, UBLKIT_GUARANTEE_NOT_APPLICABLE,
			      "declared by the server; not observable from /proc");
	else if (declared->preallocated_unknown)
		set_guarantee(r, g, UBLKIT_GUARANTEE_NOT_APPLICABLE,
			      "not checked: the target has not opened its backing yet, or it "
			      "cannot be read from here");
	else if (declared->preallocated)
		set_guarantee(r, g, UBLKIT_GUARANTEE_HELD,
			      "I/O buffers allocated before start, and the target checked that "
			      "writes to its backing never allocate");
	else
		set_guarantee(r, g, UBLKIT_GUARANTEE_NOT_HELD,
			      "writes may allocate: the server's target did not find its buffers "
			      "and its backing preallocated (a file with holes, in memory or "
			      "without O_DIRECT)");
}

static void judge_swap_safe(struct ublkit_harden_report *r)
{
	size_t off = 0;

	r->swap_safe = true;
	r->reason[0] = '\0';
	for (int g = 0; g < GUARANTEES; g++) {
		if (r->g[g].state != UBLKIT_GUARANTEE_NOT_HELD)
			continue;
		r->swap_safe = false;
		if (off < sizeof(r->reason))
			off += (size_t)snprintf(r->reason + off, sizeof(r->reason) - off,
						"%s%s: %s", off ? "; " : "", guarantee_names[g],
						r->g[g].reason);
	}
	if (r->swap_safe)
		snprintf(r->reason, sizeof(r->reason), "all guarantees hold");
}

static int inspect(struct ublkit_ctx *ctx, pid_t pid, const char *pidstr,
		   const struct ublkit_harden_profile *declared, struct ublkit_harden_report **ret)
{
	struct ublkit_harden_report *r;
	struct proc_status st;
	int err;

	err = proc_status_read(ctx, pidstr, &st);
	if (err < 0)
		return err;
	r = report_new(pid);
	if (!r)
		return -ENOMEM;
	judge_memory(r, &st);
	judge_io_flusher(ctx, r, pidstr);
	judge_oom(ctx, r, pidstr);
	judge_mounts(ctx, r, pidstr);
	judge_preallocated(r, declared);
	judge_swap_safe(r);
	*ret = r;
	return 0;
}

UBLKIT_EXPORT int ublkit_harden_inspect(struct ublkit_ctx *ctx, pid_t pid,
					const struct ublkit_harden_profile *declared,
					struct ublkit_harden_report **ret)
{
	char pidstr[16];

	if (!ctx || !ret || pid < 0)
		return -EINVAL;
	if (pid == 0)
		snprintf(pidstr, sizeof(pidstr), "self");
	else
		snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
	return inspect(ctx, pid ? pid : getpid(), pidstr, declared, ret);
}

/* ---- applying a profile --------------------------------------------- */

/* What applying one guarantee's measures did. */
struct outcome {
	int err;		/* 0 or the -errno of the failed measure */
	bool required;		/* a REQUIRED measure failed */
	char reason[REASON_MAX];
};

struct apply {
	struct ublkit_ctx *ctx;
	const struct ublkit_harden_profile *p;
	struct proc_status self;
	char ns_before[64];	/* the mount namespace before unshare, "" if none */
	struct outcome out[GUARANTEES];
};

static void fail(struct apply *a, int g, int item, int err, const char *fmt, ...) _printf_(5, 6);

static void fail(struct apply *a, int g, int item, int err, const char *fmt, ...)
{
	struct outcome *o = &a->out[g];
	bool required = a->p->mode[item] == UBLKIT_HARDEN_REQUIRED;
	va_list ap;

	o->err = err;
	o->required |= required;
	va_start(ap, fmt);
	vsnprintf(o->reason, sizeof(o->reason), fmt, ap);
	va_end(ap);
	if (required)
		log_error(a->ctx, "%s", o->reason);
	else
		log_warn(a->ctx, "%s (best effort: going on)", o->reason);
}

static bool wanted(const struct apply *a, int item)
{
	return a->p->mode[item] != UBLKIT_HARDEN_OFF;
}

static void apply_private_mounts(struct apply *a)
{
	const int g = UBLKIT_GUARANTEE_PRIVATE_MOUNTS, item = UBLKIT_HARDEN_PRIVATE_MOUNTS;
	int threads;

	if (!wanted(a, item))
		return;
	/* unshare() would move the calling thread only, and leave the others behind */
	threads = count_threads(a->ctx, "self");
	if (threads > 1) {
		fail(a, g, item, -EINVAL,
		     "the process has %d threads; a private mount namespace would hold only the "
		     "calling one: apply hardening before starting threads",
		     threads);
		return;
	}
	if (read_ns(a->ctx, "self", a->ns_before, sizeof(a->ns_before)) < 0)
		a->ns_before[0] = '\0';
	if (unshare(CLONE_NEWNS) < 0) {
		int err = neg_errno();

		a->ns_before[0] = '\0';
		fail(a, g, item, err, "unshare(CLONE_NEWNS) failed: %s; " FIX_SYS_ADMIN,
		     strerror(-err));
		return;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail(a, g, item, neg_errno(), "making / rprivate in the new mount namespace "
		     "failed: %s", strerror(errno));
}

static void apply_oom(struct apply *a)
{
	const int g = UBLKIT_GUARANTEE_OOM_PROTECTED, item = UBLKIT_HARDEN_OOM_PROTECT;
	_cleanup_close_ int fd = -1;

	if (!wanted(a, item))
		return;
	fd = ublkit_open(a->ctx, "/proc/self/oom_score_adj", O_WRONLY);
	if (fd < 0) {
		fail(a, g, item, fd, "cannot open /proc/self/oom_score_adj: %s", strerror(-fd));
		return;
	}
	if (write(fd, "-1000", 5) != 5) {
		int err = neg_errno();

		if (err == -EACCES || err == -EPERM)
			fail(a, g, item, -EPERM,
			     "setting oom_score_adj to -1000 needs CAP_SYS_RESOURCE%s: " FIX_OOM,
			     caps_have(&a->self, CAP_BIT_SYS_RESOURCE) ? "" : ", which is missing");
		else
			fail(a, g, item, err, "setting oom_score_adj to -1000 failed: %s",
			     strerror(-err));
	}
}

static int set_io_flusher(void)
{
	return prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) < 0 ? neg_errno() : 0;
}

static void io_flusher_error(int err, char *buf, size_t size)
{
	if (err == -EPERM)
		snprintf(buf, size, "PR_SET_IO_FLUSHER needs CAP_SYS_RESOURCE: " FIX_SYS_RESOURCE);
	else if (err == -EINVAL)
		snprintf(buf, size, "the kernel has no PR_SET_IO_FLUSHER: " FIX_KERNEL_IO_FLUSHER);
	else
		snprintf(buf, size, "PR_SET_IO_FLUSHER failed: %s", strerror(-err));
}

static void apply_io_flusher(struct apply *a)
{
	const int g = UBLKIT_GUARANTEE_IO_FLUSHER, item = UBLKIT_HARDEN_IO_FLUSHER;
	char why[REASON_MAX - 32];
	int err;

	if (!wanted(a, item))
		return;
	err = set_io_flusher();
	if (err < 0) {
		io_flusher_error(err, why, sizeof(why));
		fail(a, g, item, err, "%s", why);
	}
}

static void memlock_error(struct apply *a, int flags, int err, char *buf, size_t size)
{
	uint64_t limit = 0;
	char lim[48];

	if (proc_memlock_limit(a->ctx, &limit) < 0)
		snprintf(lim, sizeof(lim), "unknown");
	else if (limit == UINT64_MAX)
		snprintf(lim, sizeof(lim), "unlimited");
	else
		snprintf(lim, sizeof(lim), "%" PRIu64 " KiB", limit >> 10);

	if ((err == -ENOMEM || err == -EPERM) && !caps_have(&a->self, CAP_BIT_IPC_LOCK))
		snprintf(buf, size,
			 "mlockall(%s%s%s) failed: %s; RLIMIT_MEMLOCK is %s and CAP_IPC_LOCK is "
			 "missing: " FIX_MEMLOCK,
			 flags & MCL_CURRENT ? "MCL_CURRENT" : "",
			 flags & MCL_FUTURE ? (flags & MCL_CURRENT ? "|MCL_FUTURE" : "MCL_FUTURE") : "",
			 flags & MCL_ONFAULT ? "|MCL_ONFAULT" : "", strerror(-err), lim);
	else if (err == -ENOMEM)
		snprintf(buf, size,
			 "mlockall failed: %s; the system has not enough free memory to lock "
			 "the server's %" PRIu64 " KiB",
			 strerror(-err), a->self.vm_rss >> 10);
	else
		snprintf(buf, size, "mlockall failed: %s", strerror(-err));
}

static void apply_mlock(struct apply *a)
{
	const int g = UBLKIT_GUARANTEE_MEMORY_LOCKED;
	int flags = 0, item = UBLKIT_HARDEN_MLOCK_CURRENT;
	char why[REASON_MAX - 32];
	int err;

	if (wanted(a, UBLKIT_HARDEN_MLOCK_CURRENT))
		flags |= MCL_CURRENT;
	if (wanted(a, UBLKIT_HARDEN_MLOCK_FUTURE))
		flags |= MCL_FUTURE;
	if (!flags)
		return;
	/* the more demanding mode decides whether a failure is fatal */
	if (!(flags & MCL_CURRENT) ||
	    a->p->mode[UBLKIT_HARDEN_MLOCK_FUTURE] > a->p->mode[UBLKIT_HARDEN_MLOCK_CURRENT])
		item = UBLKIT_HARDEN_MLOCK_FUTURE;
	if (wanted(a, UBLKIT_HARDEN_MLOCK_ONFAULT))
		flags |= MCL_ONFAULT;

	err = mlockall(flags) < 0 ? neg_errno() : 0;
	if (err == -EINVAL && (flags & MCL_ONFAULT)) {
		if (a->p->mode[UBLKIT_HARDEN_MLOCK_ONFAULT] == UBLKIT_HARDEN_REQUIRED) {
			fail(a, g, UBLKIT_HARDEN_MLOCK_ONFAULT, err,
			     "the kernel has no MCL_ONFAULT: boot Linux >= 4.4");
			return;
		}
		/* locking everything at once is stronger than on fault */
		log_warn(a->ctx, "the kernel has no MCL_ONFAULT: locking all memory now");
		flags &= ~MCL_ONFAULT;
		err = mlockall(flags) < 0 ? neg_errno() : 0;
	}
	if (err < 0) {
		memlock_error(a, flags, err, why, sizeof(why));
		fail(a, g, item, err, "%s", why);
	}
}

/*
 * When pid 1's namespace cannot be read, the process itself is the
 * witness: its namespace changed under unshare().
 */
static void judge_own_unshare(struct apply *a, struct ublkit_harden_report *r)
{
	const int g = UBLKIT_GUARANTEE_PRIVATE_MOUNTS;
	char now[64];

	if (r->g[g].state != UBLKIT_GUARANTEE_NOT_APPLICABLE || !a->ns_before[0] ||
	    a->out[g].err < 0 || read_ns(a->ctx, "self", now, sizeof(now)) < 0 ||
	    strcmp(now, a->ns_before) == 0)
		return;
	set_guarantee(r, g, UBLKIT_GUARANTEE_HELD,
		      "own mount namespace %s (was %s before hardening), no shared mounts", now,
		      a->ns_before);
}

/* Required measures whose failure went unnoticed still fail when the
 * process does not have the guarantee afterwards. */
static int verdict(struct apply *a, struct ublkit_harden_report *r)
{
	static const int needs[GUARANTEES] = {
		[UBLKIT_GUARANTEE_MEMORY_LOCKED] = UBLKIT_HARDEN_MLOCK_CURRENT,
		[UBLKIT_GUARANTEE_IO_FLUSHER] = UBLKIT_HARDEN_IO_FLUSHER,
		[UBLKIT_GUARANTEE_OOM_PROTECTED] = UBLKIT_HARDEN_OOM_PROTECT,
		[UBLKIT_GUARANTEE_PRIVATE_MOUNTS] = UBLKIT_HARDEN_PRIVATE_MOUNTS,
		[UBLKIT_GUARANTEE_PREALLOCATED] = -1,
	};
	int first = 0;

	for (int g = 0; g < GUARANTEES; g++) {
		struct outcome *o = &a->out[g];
		bool required = needs[g] >= 0 && a->p->mode[needs[g]] == UBLKIT_HARDEN_REQUIRED;

		if (o->err < 0 && r->g[g].state != UBLKIT_GUARANTEE_HELD) {
			/* the measure's own error says more than what /proc shows */
			set_guarantee(r, g, UBLKIT_GUARANTEE_NOT_HELD, "%s", o->reason);
			if (o->required && !first)
				first = o->err;
		} else if (required && r->g[g].state == UBLKIT_GUARANTEE_NOT_HELD && !first) {
			log_error(a->ctx, "%s is required but not in force: %s", guarantee_names[g],
				  r->g[g].reason);
			first = -ENOTRECOVERABLE;
		}
	}
	judge_swap_safe(r);
	return first;
}

UBLKIT_EXPORT int ublkit_harden_apply(struct ublkit_ctx *ctx,
				      const struct ublkit_harden_profile *profile,
				      struct ublkit_harden_report **ret)
{
	_cleanup_(profile_unrefp) struct ublkit_harden_profile *def = NULL;
	struct ublkit_harden_report *r = NULL;
	struct apply a = { .ctx = ctx, .p = profile };
	int err;

	if (ret)
		*ret = NULL;
	if (!ctx)
		return -EINVAL;
	if (ublkit_ctx_is_sysroot(ctx))
		return -EXDEV;
	if (!profile) {
		err = ublkit_harden_profile_new(&def, UBLKIT_HARDEN_REQUIRED);
		if (err < 0)
			return err;
		a.p = def;
	}
	(void)proc_status_read(ctx, "self", &a.self);

	/* unshare first: it fails once the process has threads */
	apply_private_mounts(&a);
	apply_oom(&a);
	apply_io_flusher(&a);
	/* last, so that it locks whatever the other measures mapped */
	apply_mlock(&a);

	err = inspect(ctx, getpid(), "self", a.p, &r);
	if (err < 0)
		return log_ret(ctx, err, "cannot read /proc/self after hardening");
	judge_own_unshare(&a, r);
	err = verdict(&a, r);
	if (ret)
		*ret = r;
	else
		ublkit_harden_report_unref(r);
	return err;
}

UBLKIT_EXPORT int ublkit_harden_thread(struct ublkit_ctx *ctx)
{
	char why[REASON_MAX];
	int err = set_io_flusher();

	if (err < 0 && ctx) {
		io_flusher_error(err, why, sizeof(why));
		log_error(ctx, "%s", why);
	}
	return err;
}

/* ---- preflight ------------------------------------------------------ */

struct preflight {
	struct ublkit_ctx *ctx;
	struct check_sink sink;
	struct proc_status self;
};

#define check(pf, ...) check_emit(&(pf)->sink, __VA_ARGS__)

static bool cap(const struct preflight *pf, int bit)
{
	return caps_have(&pf->self, bit);
}

static void preflight_memlock(struct preflight *pf)
{
	uint64_t limit;
	int r = proc_memlock_limit(pf->ctx, &limit);

	if (cap(pf, CAP_BIT_IPC_LOCK))
		check(pf, "swap-memlock", UBLKIT_CHECK_OK, NULL,
		      "CAP_IPC_LOCK present: mlockall is not limited");
	else if (r < 0)
		check(pf, "swap-memlock", UBLKIT_CHECK_WARN, FIX_MEMLOCK,
		      "CAP_IPC_LOCK missing and RLIMIT_MEMLOCK unknown (%s)", strerror(-r));
	else if (limit == UINT64_MAX)
		check(pf, "swap-memlock", UBLKIT_CHECK_OK, NULL, "RLIMIT_MEMLOCK is unlimited");
	else
		/* MCL_CURRENT is checked against the whole address space, which
		 * thread stacks and malloc arenas make large */
		check(pf, "swap-memlock", UBLKIT_CHECK_FAIL, FIX_MEMLOCK,
		      "RLIMIT_MEMLOCK is %" PRIu64 " KiB and CAP_IPC_LOCK is missing: "
		      "mlockall of a whole server would fail",
		      limit >> 10);
}

/* Digits at *@s, at most 9 of them (no sign, no blanks): the number, @s moved past. */
static int version_number(const char **s)
{
	int n = 0, k = 0;

	for (; **s >= '0' && **s <= '9'; (*s)++, k++) {
		if (k == 9)
			return -EINVAL;
		n = n * 10 + (**s - '0');
	}
	return k ? n : -EINVAL;
}

int kernel_release_version(const char *rel, int *major, int *minor)
{
	const char *s = rel;
	int ma, mi;

	ma = version_number(&s);
	if (ma < 0 || *s++ != '.')
		return -EINVAL;
	mi = version_number(&s);
	if (mi < 0)
		return -EINVAL;
	*major = ma;
	*minor = mi;
	return 0;
}

static int kernel_version(struct ublkit_ctx *ctx, int *major, int *minor)
{
	char rel[128];
	int r = ublkit_kernel_release(ctx, rel, sizeof(rel));

	if (r < 0)
		return r;
	return kernel_release_version(rel, major, minor);
}

/* 1: the kernel knows PR_SET_IO_FLUSHER, 0: it does not, <0: unknown. */
static int kernel_has_io_flusher(struct preflight *pf)
{
	int major, minor;

	if (!ublkit_ctx_is_sysroot(pf->ctx)) {
		/* PR_GET_IO_FLUSHER is as old as PR_SET_IO_FLUSHER */
		if (prctl(PR_GET_IO_FLUSHER, 0, 0, 0, 0) >= 0 || errno == EPERM)
			return 1;
		return errno == EINVAL ? 0 : neg_errno();
	}
	if (kernel_version(pf->ctx, &major, &minor) < 0)
		return -ENODATA;
	return major > 5 || (major == 5 && minor >= 6);
}

static void preflight_io_flusher(struct preflight *pf)
{
	int k = kernel_has_io_flusher(pf);

	if (k == 0)
		check(pf, "swap-io-flusher", UBLKIT_CHECK_FAIL, FIX_KERNEL_IO_FLUSHER,
		      "the kernel has no PR_SET_IO_FLUSHER");
	else if (!cap(pf, CAP_BIT_SYS_RESOURCE))
		check(pf, "swap-io-flusher", UBLKIT_CHECK_FAIL, FIX_SYS_RESOURCE,
		      "CAP_SYS_RESOURCE is missing: I/O threads cannot become IO_FLUSHERs");
	else if (k < 0)
		check(pf, "swap-io-flusher", UBLKIT_CHECK_WARN, FIX_KERNEL_IO_FLUSHER,
		      "kernel support for PR_SET_IO_FLUSHER unknown");
	else
		check(pf, "swap-io-flusher", UBLKIT_CHECK_OK, NULL,
		      "PR_SET_IO_FLUSHER supported, CAP_SYS_RESOURCE present");
}

static void preflight_oom(struct preflight *pf)
{
	if (cap(pf, CAP_BIT_SYS_RESOURCE))
		check(pf, "swap-oom", UBLKIT_CHECK_OK, NULL,
		      "CAP_SYS_RESOURCE present: oom_score_adj -1000 allowed");
	else
		check(pf, "swap-oom", UBLKIT_CHECK_FAIL, FIX_OOM,
		      "CAP_SYS_RESOURCE is missing: oom_score_adj cannot go to -1000");
}

static void preflight_mounts(struct preflight *pf)
{
	if (cap(pf, CAP_BIT_SYS_ADMIN))
		check(pf, "swap-mounts", UBLKIT_CHECK_OK, NULL,
		      "CAP_SYS_ADMIN present: a private mount namespace is allowed");
	else
		check(pf, "swap-mounts", UBLKIT_CHECK_FAIL, FIX_SYS_ADMIN,
		      "CAP_SYS_ADMIN is missing: no private mount namespace");
}

static void preflight_io_uring(struct preflight *pf)
{
	uint64_t v;

	if (ublkit_read_u64(pf->ctx, "/proc/sys/kernel/io_uring_disabled", &v) < 0 || v == 0)
		check(pf, "swap-io-uring", UBLKIT_CHECK_OK, NULL, "io_uring is enabled");
	else if (v == 1 && cap(pf, CAP_BIT_SYS_ADMIN))
		check(pf, "swap-io-uring", UBLKIT_CHECK_OK, NULL,
		      "io_uring is limited to privileged users, and this one is");
	else
		check(pf, "swap-io-uring", UBLKIT_CHECK_FAIL,
		      "run: sysctl -w kernel.io_uring_disabled=0 (and persist it in /etc/sysctl.d)",
		      "io_uring is disabled for this process (kernel.io_uring_disabled=%" PRIu64
		      ")",
		      v);
}

static void preflight_swap(struct preflight *pf)
{
	if (ublkit_exists(pf->ctx, "/proc/swaps"))
		check(pf, "swap-support", UBLKIT_CHECK_OK, NULL, "the kernel supports swap");
	else
		check(pf, "swap-support", UBLKIT_CHECK_FAIL, "boot a kernel built with CONFIG_SWAP",
		      "the kernel has no swap support (no /proc/swaps)");
}

UBLKIT_EXPORT int ublkit_harden_preflight(struct ublkit_ctx *ctx, ublkit_check_fn fn,
					  void *userdata)
{
	struct preflight pf = { .ctx = ctx, .sink = { .fn = fn, .userdata = userdata } };

	if (!ctx)
		return -EINVAL;
	(void)proc_status_read(ctx, "self", &pf.self);
	preflight_memlock(&pf);
	preflight_io_flusher(&pf);
	preflight_oom(&pf);
	preflight_mounts(&pf);
	preflight_io_uring(&pf);
	preflight_swap(&pf);
	return pf.sink.worst;
}

/* The profile of a server whose device has these UBLKIT_DEV_* flags. */
int harden_profile_for_flags(uint32_t dev_flags, struct ublkit_harden_profile **ret)
{
	int mode = (dev_flags & UBLKIT_DEV_HARDEN_BEST_EFFORT) ? UBLKIT_HARDEN_BEST_EFFORT
							       : UBLKIT_HARDEN_REQUIRED;
	int r;

	if (!(dev_flags & UBLKIT_DEV_SWAP))
		return -ENODATA;
	r = ublkit_harden_profile_new(ret, mode);
	if (r < 0)
		return r;
	/* What the target found when it opened its backing: set by whoever knows. */
	(*ret)->preallocated_unknown = true;
	return 0;
}
