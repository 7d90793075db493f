/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Applying the policy: a plan says, for each namespace, what its rule
 * makes of it and whether that is to be done; executing it makes the
 * stacks (ublk server, dm devices, swap) and records each piece in the
 * run state as soon as it exists, so that `down` (or the undo of a stack
 * that failed halfway) removes exactly what was made, in reverse order.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "ublkit-private.h"
#include "apply-private.h"
#include "dm-private.h"
#include "name-private.h"
#include "ublkit/dm.h"
#include "ublkit/nvme.h"
#include "ublkit/policy.h"
#include "ublkit/swap.h"
#include "ublkit/ublk.h"

#define SWAP_LABEL_DEFAULT "ublkit-swap"
#define UBLK_REMOVE_TIMEOUT_MS 10000
#define MIB_SECTORS UINT64_C(2048)
#define LOCK_POLL_MS 50

/* udev gives a RUN program 180 s: a second apply waits well within that */
unsigned int apply_lock_timeout_ms = 90000;

/* ---- run state ---------------------------------------------------------- */

const char *made_kind_name(int kind)
{
	switch (kind) {
	case MADE_UBLK: return "ublk";
	case MADE_DM: return "dm";
	case MADE_SWAP: return "swap";
	default: return NULL;
	}
}

static int made_kind_from_string(const char *s)
{
	for (int k = MADE_UBLK; k <= MADE_SWAP; k++)
		if (strcmp(made_kind_name(k), s) == 0)
			return k;
	return -EINVAL;
}

static bool name_ok(const char *s)
{
	if (!*s || strlen(s) >= RUN_STATE_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	return true;
}

/* A word of a run-state line: no whitespace, no newline. */
static bool word_ok(const char *s)
{
	return *s && !strpbrk(s, " \t\n");
}

int run_state_format(const struct run_state *s, char *buf, size_t size)
{
	const char *create = ublkit_policy_create_name(s->create);
	size_t off = 0;
	int n;

	if (!name_ok(s->name) || !name_ok(s->rule) || !create)
		return -EINVAL;
#define APPEND(...)                                                                            \
	do {                                                                                   \
		n = snprintf(buf + off, size - off, __VA_ARGS__);                              \
		if (n < 0 || (size_t)n >= size - off)                                          \
			return -ENOBUFS;                                                       \
		off += (size_t)n;                                                              \
	} while (0)
	APPEND("name=%s\nrule=%s\ncreate=%s\nseq=%u\n", s->name, s->rule, create, s->seq);
	for (unsigned int i = 0; i < s->n_members; i++) {
		if (!word_ok(s->member[i].identity) || !word_ok(s->member[i].dev))
			return -EINVAL;
		APPEND("member=%s %s\n", s->member[i].identity, s->member[i].dev);
	}
	for (unsigned int i = 0; i < s->n_made; i++) {
		if (!made_kind_name(s->made[i].kind) || !word_ok(s->made[i].what))
			return -EINVAL;
		APPEND("made=%s %s\n", made_kind_name(s->made[i].kind), s->made[i].what);
	}
#undef APPEND
	return (int)off;
}

static int copy_word(char *dst, size_t size, const char *src)
{
	if (!word_ok(src) || strlen(src) >= size)
		return -EINVAL;
	strcpy(dst, src);
	return 0;
}

static int parse_member(struct run_state *s, char *v)
{
	char *sp = strchr(v, ' ');

	if (!sp || s->n_members >= RUN_STATE_MAX_MEMBERS)
		return -EINVAL;
	*sp = '\0';
	if (copy_word(s->member[s->n_members].identity, sizeof(s->member[0].identity), v) < 0 ||
	    copy_word(s->member[s->n_members].dev, sizeof(s->member[0].dev), sp + 1) < 0)
		return -EINVAL;
	s->n_members++;
	return 0;
}

static int parse_made(struct run_state *s, char *v)
{
	char *sp = strchr(v, ' ');
	int kind;

	if (!sp || s->n_made >= RUN_STATE_MAX_MADE)
		return -EINVAL;
	*sp = '\0';
	kind = made_kind_from_string(v);
	if (kind < 0 || copy_word(s->made[s->n_made].what, sizeof(s->made[0].what), sp + 1) < 0)
		return -EINVAL;
	s->made[s->n_made++].kind = kind;
	return 0;
}

static int parse_line(struct run_state *s, char *line)
{
	char *eq = strchr(line, '=');
	int r;

	if (!eq)
		return -EINVAL;
	*eq = '\0';
	if (strcmp(line, "name") == 0)
		return name_ok(eq + 1) ? copy_word(s->name, sizeof(s->name), eq + 1) : -EINVAL;
	if (strcmp(line, "rule") == 0)
		return name_ok(eq + 1) ? copy_word(s->rule, sizeof(s->rule), eq + 1) : -EINVAL;
	if (strcmp(line, "create") == 0) {
		r = ublkit_policy_create_from_string(eq + 1);
		if (r < 0)
			return r;
		s->create = r;
		return 0;
	}
	if (strcmp(line, "seq") == 0) {
		uint64_t v;

		if (ublkit_parse_u64(eq + 1, &v) < 0 || v > UINT32_MAX)
			return -EINVAL;
		s->seq = (unsigned int)v;
		return 0;
	}
	if (strcmp(line, "member") == 0)
		return parse_member(s, eq + 1);
	if (strcmp(line, "made") == 0)
		return parse_made(s, eq + 1);
	return 0;	/* a key of a later version */
}

int run_state_parse(char *text, struct run_state *s)
{
	char *save = NULL;
	int r;

	memset(s, 0, sizeof(*s));
	s->create = -1;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		r = parse_line(s, line);
		if (r < 0)
			return -EINVAL;
	}
	if (!s->name[0] || !s->rule[0] || s->create < 0)
		return -EINVAL;
	return 0;
}

static int state_path(struct ublkit_ctx *ctx, const char *name, char *buf, size_t size)
{
	if (name)
		return ublkit_pathf(ctx, buf, size, RUN_STATE_DIR "/%s", name);
	return ublkit_ctx_path(ctx, RUN_STATE_DIR, buf, size);
}

/* /run, /run/ublkit and, with @state, /run/ublkit/policy. */
static int mkdir_run(struct ublkit_ctx *ctx, bool state)
{
	static const char *const dirs[] = { "/run", "/run/ublkit", RUN_STATE_DIR };
	char p[4096];
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(dirs) - !state; i++) {
		r = ublkit_ctx_path(ctx, dirs[i], p, sizeof(p));
		if (r < 0)
			return r;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return neg_errno();
	}
	return 0;
}

int run_state_write(struct ublkit_ctx *ctx, const struct run_state *s)
{
	char path[4096], text[8192];
	int r, n;

	n = run_state_format(s, text, sizeof(text));
	if (n < 0)
		return n;
	r = mkdir_run(ctx, true);
	if (r < 0)
		return r;
	r = state_path(ctx, s->name, path, sizeof(path));
	if (r < 0)
		return r;
	return write_file_atomic(path, text, (size_t)n);
}

int run_state_read(struct ublkit_ctx *ctx, const char *name, struct run_state *s)
{
	char path[4096], text[8192];
	_cleanup_close_ int fd = -1;
	ssize_t n;
	int r;

	if (!name_ok(name))
		return -ENOENT;
	r = state_path(ctx, name, path, sizeof(path));
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	n = read(fd, text, sizeof(text) - 1);
	if (n < 0)
		return neg_errno();
	text[n] = '\0';
	r = run_state_parse(text, s);
	if (r < 0)
		return r;
	/* the file's name is the instance's: a copy under another name is not it */
	return strcmp(s->name, name) == 0 ? 0 : -EINVAL;
}

int run_state_remove(struct ublkit_ctx *ctx, const char *name)
{
	char path[4096];
	int r;

	r = state_path(ctx, name, path, sizeof(path));
	if (r < 0)
		return r;
	/* a record never written is no failure, even where nothing can be written */
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	if (unlink(path) < 0 && errno != ENOENT)
		return neg_errno();
	return 0;
}

/* No instance left: no run state at all. */
static void run_state_dir_remove_empty(struct ublkit_ctx *ctx)
{
	char path[4096];

	if (state_path(ctx, NULL, path, sizeof(path)) >= 0 && rmdir(path) < 0 &&
	    errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST)
		log_debug(ctx, "%s: %s", path, strerror(errno));
}

/* ---- the lock ------------------------------------------------------------------------ */

static void lock_holder(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

static int lock_open(struct ublkit_ctx *ctx, char *path, size_t size)
{
	int fd, r;

	r = mkdir_run(ctx, false);
	if (r >= 0)
		r = ublkit_ctx_path(ctx, POLICY_LOCK, path, size);
	if (r < 0)
		return r == -EACCES || r == -EPERM ? -EROFS : r;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && (errno == EROFS || errno == EACCES || errno == EPERM))
		return -EROFS;
	return fd < 0 ? neg_errno() : fd;
}

int policy_lock(struct ublkit_ctx *ctx)
{
	char path[4096], holder[32];
	unsigned int waited = 0;
	int fd;

	fd = lock_open(ctx, path, sizeof(path));
	if (fd < 0) {
		if (fd == -EROFS)
			log_debug(ctx, "%s cannot be made: going on without the lock", path);
		return fd;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int r = neg_errno();

			close(fd);
			return log_ret(ctx, r, "cannot lock %s", path);
		}
		lock_holder(fd, holder, sizeof(holder));
		if (waited == 0)
			log_notice(ctx, "waiting for another ublkit apply or down (pid %s)",
				   holder[0] ? holder : "unknown");
		if (waited >= apply_lock_timeout_ms) {
			log_error(ctx, "another ublkit apply or down (pid %s) holds %s and did not "
				  "finish within %u s: nothing was done",
				  holder[0] ? holder : "unknown", path,
				  apply_lock_timeout_ms / 1000);
			close(fd);
			return -ETIMEDOUT;
		}
		nanosleep(&(struct timespec){ .tv_nsec = LOCK_POLL_MS * 1000000L }, NULL);
		waited += LOCK_POLL_MS;
	}
	/* who holds it, for whoever waits */
	snprintf(holder, sizeof(holder), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, holder, strlen(holder), 0) < 0)
		log_debug(ctx, "%s: cannot write the pid: %s", path, strerror(errno));
	return fd;
}

/* Take the lock for a caller that goes on without it where /run is read-only. */
static int lock_or_fail(struct ublkit_ctx *ctx, int *fd)
{
	int r = policy_lock(ctx);

	*fd = -1;
	if (r == -EROFS)
		return 0;
	if (r < 0)
		return r;
	*fd = r;
	return 0;
}

static int cmp_state(const void *a, const void *b)
{
	return strcmp(((const struct run_state *)a)->name, ((const struct run_state *)b)->name);
}

int run_state_load_all(struct ublkit_ctx *ctx, struct run_state **ret)
{
	struct run_state *all = NULL, *grown;
	char path[4096];
	size_t n = 0;
	struct dirent *de;
	DIR *d;
	int r;

	*ret = NULL;
	r = state_path(ctx, NULL, path, sizeof(path));
	if (r < 0)
		return r;
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : neg_errno();
	while ((de = readdir(d))) {
		if (!name_ok(de->d_name))
			continue;	/* ".", "..", temporary files */
		grown = realloc(all, (n + 1) * sizeof(*all));
		if (!grown) {
			closedir(d);
			free(all);
			return -ENOMEM;
		}
		all = grown;
		r = run_state_read(ctx, de->d_name, &all[n]);
		if (r < 0) {
			log_warn(ctx, "%s/%s: unreadable run state, ignored: %s", path, de->d_name,
				 strerror(-r));
			continue;
		}
		n++;
	}
	closedir(d);
	if (n)
		qsort(all, n, sizeof(*all), cmp_state);
	*ret = all;
	return (int)n;
}

/* One more than the last instance's: records of an older version have 0. */
static unsigned int next_seq(const struct run_state *all, size_t n)
{
	unsigned int max = 0;

	for (size_t i = 0; i < n; i++)
		if (all[i].seq > max)
			max = all[i].seq;
	return max + 1;
}

/* The last made first; among records without an order, by name backwards. */
static int cmp_down(const void *a, const void *b)
{
	const struct run_state *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? 1 : -1;
	return -strcmp(x->name, y->name);
}

static struct run_state *find_state(struct run_state *all, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i].name, name) == 0)
			return &all[i];
	return NULL;
}

/* The instance that has a namespace of this identity as a member. */
static struct run_state *find_state_of(struct run_state *all, size_t n, const char *identity)
{
	for (size_t i = 0; i < n; i++)
		for (unsigned int j = 0; j < all[i].n_members; j++)
			if (strcmp(all[i].member[j].identity, identity) == 0)
				return &all[i];
	return NULL;
}

/* ---- looking at what was made -------------------------------------------- */

struct swap_find {
	const char *dev;
	uint64_t size, used;
	bool found;
};

static int swap_find_fn(const struct ublkit_swap_area *a, void *userdata)
{
	struct swap_find *f = userdata;
	char real[4096];
	const char *want = f->dev;

	/* /proc/swaps names a dm device /dev/dm-N */
	if (strcmp(a->path, want) == 0 ||
	    (realpath(want, real) && strcmp(a->path, real) == 0)) {
		f->found = true;
		f->size = a->size;
		f->used = a->used;
	}
	return 0;
}

static int swap_lookup(struct ublkit_ctx *ctx, const char *dev, struct swap_find *f)
{
	int r;

	*f = (struct swap_find){ .dev = dev };
	r = ublkit_swap_list(ctx, swap_find_fn, f);
	if (r < 0 && r != -ENOENT)
		return r;
	return f->found ? 1 : 0;
}

static int probe_ublk(struct ublkit_ctx *ctx, const char *what, char *why, size_t why_size)
{
	struct ublkit_device *d = NULL;
	uint64_t id;
	int r;

	if (ublkit_parse_u64(what, &id) < 0 || id > INT32_MAX)
		return -EINVAL;
	r = ublkit_device_new(ctx, (uint32_t)id, &d);
	if (r < 0) {
		snprintf(why, why_size, "ublk device %" PRIu64 " is gone", id);
		return r;
	}
	if (!ublkit_device_is_server_alive(d)) {
		snprintf(why, why_size, "the server of ublk device %" PRIu64 " is gone", id);
		r = -ESRCH;
	} else if (!ublkit_device_get_block_device(d)) {
		snprintf(why, why_size, "ublk device %" PRIu64 " has no block device", id);
		r = -ENODEV;
	}
	ublkit_device_unref(d);
	return r;
}

static int probe_dm(struct ublkit_ctx *ctx, const char *name, char *why, size_t why_size)
{
	struct ublkit_dm_device *d = NULL;
	struct ublkit_dm_status *st = NULL;
	int r;

	r = ublkit_dm_device_new(ctx, name, &d);
	if (r < 0) {
		snprintf(why, why_size, "dm device %s is gone", name);
		return r;
	}
	if (!ublkit_dm_device_has_live_table(d)) {
		snprintf(why, why_size, "dm device %s has no table", name);
		r = -ENXIO;
	} else if (ublkit_dm_device_is_suspended(d)) {
		snprintf(why, why_size, "dm device %s is suspended", name);
		r = -EAGAIN;
	} else if (ublkit_dm_status_get(ctx, name, &st) >= 0 && ublkit_dm_status_is_failed(st)) {
		snprintf(why, why_size, "dm device %s failed", name);
		r = -EIO;
	}
	ublkit_dm_status_unref(st);
	ublkit_dm_device_unref(d);
	return r;
}

static int probe_swap(struct ublkit_ctx *ctx, const char *dev, char *why, size_t why_size)
{
	struct swap_find f;
	int r = swap_lookup(ctx, dev, &f);

	if (r < 0)
		return r;
	if (r == 0) {
		snprintf(why, why_size, "%s is no active swap area", dev);
		return -ENOENT;
	}
	return 0;
}

static int probe_made(struct ublkit_ctx *ctx, const struct made *m, char *why, size_t why_size)
{
	switch (m->kind) {
	case MADE_UBLK: return probe_ublk(ctx, m->what, why, why_size);
	case MADE_DM: return probe_dm(ctx, m->what, why, why_size);
	case MADE_SWAP: return probe_swap(ctx, m->what, why, why_size);
	default: return -EINVAL;
	}
}

apply_probe_fn apply_probe = probe_made;

/* Everything the instance made is there: 0, else the first problem in @why. */
static int state_check(struct ublkit_ctx *ctx, const struct run_state *s, char *why,
		       size_t why_size)
{
	int r;

	if (s->n_made == 0) {
		snprintf(why, why_size, "nothing was made (an interrupted apply)");
		return -ENOENT;
	}
	for (unsigned int i = 0; i < s->n_made; i++) {
		r = apply_probe(ctx, &s->made[i], why, why_size);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- undoing -------------------------------------------------------------- */

static int undo_one(struct ublkit_ctx *ctx, const struct made *m, char *why, size_t why_size)
{
	struct ublkit_swapoff_estimate e;
	uint64_t id;
	int r;

	switch (m->kind) {
	case MADE_SWAP:
		ublkit_swapoff_estimate_init(&e);
		r = ublkit_swap_off(ctx, m->what, 0, &e);
		if (r == -ENOENT)
			return 0;	/* not active (any more) */
		if (r < 0)
			snprintf(why, why_size, "swapoff %s: %s", m->what,
				 e.reason[0] ? e.reason : strerror(-r));
		return r;
	case MADE_DM: {
		char holder[256] = "";

		/* ublkit_dm_remove() itself waits out udev's probe after a swapoff */
		r = ublkit_dm_remove(ctx, m->what, 0);
		if (r == -ENODEV)
			return 0;
		if (r == -EBUSY)
			ublkit_dm_get_holder(ctx, m->what, holder, sizeof(holder));
		if (r < 0)
			snprintf(why, why_size, "removing dm device %s: %s%s%s", m->what,
				 strerror(-r), holder[0] ? ": " : "", holder);
		return r;
	}
	case MADE_UBLK:
		if (ublkit_parse_u64(m->what, &id) < 0 || id > INT32_MAX)
			return -EINVAL;
		r = ublkit_ublk_remove(ctx, (uint32_t)id, UBLK_REMOVE_TIMEOUT_MS);
		if (r == -ENODEV)
			return 0;
		if (r < 0)
			snprintf(why, why_size, "removing ublk device %s: %s", m->what, strerror(-r));
		return r;
	default:
		return -EINVAL;
	}
}

/*
 * Take down what @s made, last first, rewriting the run state after each
 * piece so that an interrupted teardown can be finished later. Stops at
 * the first failure: what lies below a piece still in use stays. The
 * record is rewritten or removed only when it is this process's (read
 * from its file, or written by this step): a step that failed before it
 * wrote anything leaves a record of the same name alone.
 */
static int state_teardown(struct ublkit_ctx *ctx, struct run_state *s, char *done,
			  size_t done_size, char *why, size_t why_size)
{
	size_t off = strlen(done);
	int r;

	while (s->n_made > 0) {
		const struct made *m = &s->made[s->n_made - 1];

		r = undo_one(ctx, m, why, why_size);
		if (r < 0) {
			log_error(ctx, "%s: %s", s->name, why);
			return r;
		}
		if (off < done_size) {
			int n = snprintf(done + off, done_size - off, "%s%s %s", off ? ", " : "",
					 m->kind == MADE_SWAP ? "swapoff" : "removed",
					 m->kind == MADE_UBLK ? "ublk" : m->what);
			if (m->kind == MADE_UBLK && n > 0 && off + (size_t)n < done_size)
				n += snprintf(done + off + n, done_size - off - n, " %s", m->what);
			off += n > 0 ? (size_t)n : 0;
		}
		s->n_made--;
		if (s->n_made > 0 && s->written)
			run_state_write(ctx, s);
	}
	return s->written ? run_state_remove(ctx, s->name) : 0;
}

/* ---- the plan ------------------------------------------------------------- */

struct plan_step {
	struct ublkit_plan_step_info info;
	char ns[64];
	char identity[256];
	char instance[RUN_STATE_NAME_MAX];
	char text[768];
	const struct ublkit_policy_rule *rule;
	/* the namespaces the instance is made of (one, or a striped set) */
	const struct ublkit_nvme_ns *members[RUN_STATE_MAX_MEMBERS];
	unsigned int n_members;
	bool take_data;			/* AllowTakingData + force: overwrite what it holds */
	bool executes;			/* the step that makes the instance */
};

struct ublkit_plan {
	struct ublkit_ctx *ctx;
	struct ublkit_policy *policy;
	struct ublkit_nvme *nvme;
	unsigned int flags;
	struct plan_step *steps;
	size_t n_steps;
	struct run_state *states;
	size_t n_states;
	int lock_fd;			/* the policy's lock, held until the plan goes */
	unsigned int next_seq;		/* of the next instance made */
};

/* What a namespace's match found. */
struct claim {
	const struct ublkit_nvme_ns *ns;
	const struct ublkit_policy_rule *rule;	/* NULL: none, or a conflict */
	bool conflict;
	char why[512];
	char instance[RUN_STATE_NAME_MAX];
};

UBLKIT_EXPORT const char *ublkit_plan_action_name(int action)
{
	switch (action) {
	case UBLKIT_PLAN_NOTHING: return "nothing";
	case UBLKIT_PLAN_CREATE: return "create";
	case UBLKIT_PLAN_PRESENT: return "present";
	case UBLKIT_PLAN_WAIT: return "wait";
	case UBLKIT_PLAN_REFUSE: return "refuse";
	case UBLKIT_PLAN_CONFLICT: return "conflict";
	default: return NULL;
	}
}

static bool is_per_namespace(int create)
{
	return create != UBLKIT_POLICY_IGNORE && create != UBLKIT_POLICY_DM_STRIPED;
}

static bool is_swap_kind(int create)
{
	return create == UBLKIT_POLICY_UBLK_SWAP || create == UBLKIT_POLICY_DM_CRYPT_SWAP;
}

static const char *rule_label(const struct ublkit_policy_rule *r)
{
	const char *l = ublkit_policy_rule_get_value(r, "Label");

	return l && *l ? l : SWAP_LABEL_DEFAULT;
}

static bool initrd(struct ublkit_ctx *ctx)
{
	return ublkit_exists(ctx, "/etc/initrd-release");
}

UBLKIT_EXPORT int ublkit_policy_switched_off(struct ublkit_ctx *ctx)
{
	int r;

	if (!ctx)
		return -EINVAL;
	r = ublkit_policy_disabled_by_cmdline(ctx, initrd(ctx));
	return r == -ENOENT ? 0 : r;	/* no /proc: nothing switches it off */
}

static int cmdline_check(struct ublkit_ctx *ctx)
{
	int r = ublkit_policy_switched_off(ctx);

	if (r < 0)
		return r;
	if (r > 0) {
		log_notice(ctx, "ublkit is switched off on the kernel command line (%s=0)",
			   initrd(ctx) ? "rd.ublkit or ublkit" : "ublkit");
		return -ECANCELED;
	}
	return 0;
}

/* One health log per controller. */
struct health_cache {
	const struct ublkit_nvme_ctrl *ctrl;
	struct ublkit_nvme_health h;
	bool ok;
};

static const struct ublkit_nvme_health *health_of(struct ublkit_ctx *ctx,
						  const struct ublkit_nvme_ns *ns,
						  struct health_cache *cache, size_t *n)
{
	const struct ublkit_nvme_ctrl *c = ublkit_nvme_ns_get_ctrl(ns);
	struct health_cache *e;

	if (!c)
		return NULL;
	for (size_t i = 0; i < *n; i++)
		if (cache[i].ctrl == c)
			return cache[i].ok ? &cache[i].h : NULL;
	e = &cache[(*n)++];
	e->ctrl = c;
	e->ok = ublkit_nvme_ctrl_read_health(ctx, c, &e->h) >= 0;
	if (!e->ok)
		log_debug(ctx, "%s: health log unreadable", ublkit_nvme_ctrl_get_name(c));
	return e->ok ? &e->h : NULL;
}

/* A key of the health a rule asks for: what a worn drive fails. */
static bool is_health_why(const char *why)
{
	return strncmp(why, "MaxPercentUsed:", 15) == 0 ||
	       strncmp(why, "AllowCriticalWarning:", 21) == 0;
}

/*
 * No rule claims @c's namespace: did one pass it over for its health
 * alone? Then @c->why says which and why ("" otherwise).
 */
static void health_why(const struct ublkit_policy *p, struct claim *c,
		       const struct ublkit_nvme_health *h)
{
	char why[256];

	c->why[0] = '\0';
	for (size_t i = 0; i < ublkit_policy_get_rule_count(p); i++) {
		const struct ublkit_policy_rule *r = ublkit_policy_get_rule(p, i);

		if (ublkit_policy_rule_match(r, c->ns, h, why, sizeof(why)) == 0 &&
		    is_health_why(why)) {
			snprintf(c->why, sizeof(c->why),
				 "rule %s would, but not with this health: %s",
				 ublkit_policy_rule_get_name(r), why);
			return;
		}
	}
}

static int claims_new(struct ublkit_plan *plan, struct claim **ret, size_t *n_ret)
{
	size_t n = ublkit_nvme_get_ns_count(plan->nvme), n_cache = 0;
	_cleanup_free_ struct health_cache *cache = calloc(n ? n : 1, sizeof(*cache));
	struct claim *c = calloc(n ? n : 1, sizeof(*c));
	int r;

	if (!c || !cache) {
		free(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ublkit_nvme_ns *ns = ublkit_nvme_get_ns(plan->nvme, i);
		const struct ublkit_nvme_health *h = health_of(plan->ctx, ns, cache, &n_cache);

		c[i].ns = ns;
		r = ublkit_policy_match(plan->policy, ns, h, &c[i].rule, c[i].why, sizeof(c[i].why));
		if (r == -ENOTUNIQ) {
			c[i].conflict = true;
			c[i].rule = NULL;
		} else if (r < 0) {
			free(c);
			return r;
		} else if (!c[i].rule) {
			health_why(plan->policy, &c[i], h);
		}
	}
	*ret = c;
	*n_ret = n;
	return 0;
}

static bool name_taken(const struct ublkit_plan *plan, const struct claim *c, size_t n,
		       const char *name)
{
	if (find_state(plan->states, plan->n_states, name))
		return true;
	for (size_t i = 0; i < n; i++)
		if (strcmp(c[i].instance, name) == 0)
			return true;
	return false;
}

/*
 * Instance names of a per-namespace rule: the one the run state recorded
 * for the namespace, else the first free of NAME, NAME-2, NAME-3, ... in
 * the order of the namespaces.
 */
static void name_instances(const struct ublkit_plan *plan, struct claim *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct run_state *s;

		if (!c[i].rule)
			continue;
		s = find_state_of(plan->states, plan->n_states,
				  ublkit_nvme_ns_get_identity(c[i].ns));
		if (s && strcmp(s->rule, ublkit_policy_rule_get_name(c[i].rule)) == 0)
			snprintf(c[i].instance, sizeof(c[i].instance), "%s", s->name);
		else if (ublkit_policy_rule_get_create(c[i].rule) == UBLKIT_POLICY_DM_STRIPED)
			snprintf(c[i].instance, sizeof(c[i].instance), "%s",
				 ublkit_policy_rule_get_name(c[i].rule));
	}
	for (size_t i = 0; i < n; i++) {
		const char *rule;
		char name[RUN_STATE_NAME_MAX];

		if (!c[i].rule || c[i].instance[0] ||
		    !is_per_namespace(ublkit_policy_rule_get_create(c[i].rule)))
			continue;
		rule = ublkit_policy_rule_get_name(c[i].rule);
		snprintf(name, sizeof(name), "%s", rule);
		for (unsigned int k = 2; name_taken(plan, c, n, name); k++)
			snprintf(name, sizeof(name), "%s-%u", rule, k);
		snprintf(c[i].instance, sizeof(c[i].instance), "%s", name);
	}
}

static struct plan_step *step_add(struct ublkit_plan *plan)
{
	struct plan_step *grown = realloc(plan->steps, (plan->n_steps + 1) * sizeof(*grown));

	if (!grown)
		return NULL;
	plan->steps = grown;
	grown = &plan->steps[plan->n_steps++];
	memset(grown, 0, sizeof(*grown));
	grown->info.create = UBLKIT_POLICY_IGNORE;
	return grown;
}

static void step_set_ns(struct plan_step *st, const struct ublkit_nvme_ns *ns)
{
	snprintf(st->ns, sizeof(st->ns), "%s", ublkit_nvme_ns_get_name(ns));
	snprintf(st->identity, sizeof(st->identity), "%s", ublkit_nvme_ns_get_identity(ns));
}

/* "ublk-swap 'swap' (rule swap)": the words every message about an instance starts with */
static void instance_words(const struct plan_step *st, char *buf, size_t size)
{
	snprintf(buf, size, "%s '%s' (rule %s)",
		 ublkit_policy_create_name(ublkit_policy_rule_get_create(st->rule)), st->instance,
		 ublkit_policy_rule_get_name(st->rule));
}

static uint64_t thin_metadata_sectors(const struct ublkit_policy_rule *r, uint64_t ns_sectors);
static uint64_t rule_sectors(const struct ublkit_policy_rule *r, const char *key);

/* What making the instance will do, in words. */
static void describe_create(const struct plan_step *st, char *buf, size_t size)
{
	const struct ublkit_policy_rule *r = st->rule;
	const char *dev = ublkit_nvme_ns_get_block_device(st->members[0]);
	uint64_t sectors = ublkit_nvme_ns_get_size(st->members[0]) / 512;
	char members[256] = "";

	switch (ublkit_policy_rule_get_create(r)) {
	case UBLKIT_POLICY_UBLK:
		snprintf(buf, size, "a ublk device served from %s", dev);
		break;
	case UBLKIT_POLICY_UBLK_SWAP:
		snprintf(buf, size, "a hardened ublk device served from %s, as swap (priority %d)",
			 dev, ublkit_policy_rule_get_priority(r));
		break;
	case UBLKIT_POLICY_DM_LINEAR:
		snprintf(buf, size, "/dev/mapper/%s, linear over %s", st->instance, dev);
		break;
	case UBLKIT_POLICY_DM_CRYPT_SWAP:
		snprintf(buf, size,
			 "/dev/mapper/%s, dm-crypt with a random key over %s, as swap (priority %d)",
			 st->instance, dev, ublkit_policy_rule_get_priority(r));
		break;
	case UBLKIT_POLICY_DM_THIN_POOL:
		snprintf(buf, size,
			 "thin pool /dev/mapper/%s over %s (metadata %s-tmeta: %" PRIu64
			 " MiB, data %s-tdata: the rest)",
			 st->instance, dev, st->instance,
			 (uint64_t)(thin_metadata_sectors(r, sectors) / MIB_SECTORS), st->instance);
		break;
	case UBLKIT_POLICY_DM_STRIPED:
		for (unsigned int i = 0; i < st->n_members; i++) {
			size_t off = strlen(members);

			snprintf(members + off, sizeof(members) - off, "%s%s", i ? " " : "",
				 ublkit_nvme_ns_get_block_device(st->members[i]));
		}
		snprintf(buf, size, "/dev/mapper/%s, striped over %s", st->instance, members);
		break;
	default:
		snprintf(buf, size, "nothing");
	}
}

/* "nvme0n1: ublk-swap 'swap' (rule swap): VERB DETAIL" */
static void step_finish_text(struct plan_step *st, const char *verb, const char *detail)
{
	char words[256];
	const char *who = st->ns[0] ? st->ns : st->instance;

	instance_words(st, words, sizeof(words));
	snprintf(st->text, sizeof(st->text), "%s: %s: %s%s", who, words, verb, detail);
}

/*
 * A thin pool's metadata at the start of @ns, which blkid does not see:
 * 1 (with @sb), 0 none, negative errno when it cannot be read.
 */
static int thin_pool_on(struct ublkit_ctx *ctx, const struct ublkit_nvme_ns *ns,
			struct dm_thin_super *sb)
{
	return dm_thin_super_read(ctx, ublkit_nvme_ns_get_block_device(ns), 0, sb);
}

/*
 * A thin-pool rule over a namespace that holds a pool: it is opened again
 * as it is, when the rule still says what it was made with. 0 it fits,
 * else -EEXIST with the reason in @why.
 */
static int thin_pool_fits(const struct plan_step *st, const struct dm_thin_super *sb, char *why,
			  size_t why_size)
{
	uint64_t sectors = ublkit_nvme_ns_get_size(st->members[0]) / 512;
	uint64_t bs = rule_sectors(st->rule, "BlockSize");
	uint64_t meta = thin_metadata_sectors(st->rule, sectors);
	const char *name = ublkit_nvme_ns_get_name(st->members[0]);

	if (!bs)
		bs = UBLKIT_DM_POOL_BLOCK_DEFAULT;
	if (sb->data_block_sectors != bs)
		snprintf(why, why_size, "%s holds a thin pool with blocks of %u KiB, not the "
			 "BlockSize= of rule %s (%" PRIu64 " KiB)", name,
			 sb->data_block_sectors / 2, ublkit_policy_rule_get_name(st->rule), bs / 2);
	else if (sb->metadata_sectors && meta < DM_THIN_META_MAX_SECTORS &&
		 sb->metadata_sectors != meta)
		snprintf(why, why_size, "%s holds a thin pool with %" PRIu64 " MiB of metadata, "
			 "not the MetadataSize= of rule %s (%" PRIu64 " MiB)", name,
			 sb->metadata_sectors / MIB_SECTORS, ublkit_policy_rule_get_name(st->rule),
			 meta / MIB_SECTORS);
	else
		return 0;
	strncat(why, "; its volumes would be lost: it is neither opened nor formatted over "
		"(set the rule back, or clear the pool's metadata to start afresh)",
		why_size - strlen(why) - 1);
	return -EEXIST;
}

/*
 * A thin pool on a member of @st: for a thin-pool rule it is kept (@data
 * says so in the plan); for anything else it is data, taken only when
 * @take. Returns 0, or -EEXIST with the reason in @what.
 */
static int decide_thin_pool(struct ublkit_plan *plan, struct plan_step *st,
			    const struct ublkit_nvme_ns *ns, bool take, char *what,
			    size_t what_size, char *data, size_t data_size)
{
	bool allow = ublkit_policy_get_allow_taking_data(plan->policy);
	struct dm_thin_super sb;
	int r = thin_pool_on(plan->ctx, ns, &sb);

	if (r <= 0)
		return 0;	/* unreadable: blkid's look decided already */
	if (ublkit_policy_rule_get_create(st->rule) == UBLKIT_POLICY_DM_THIN_POOL) {
		r = thin_pool_fits(st, &sb, what, what_size);
		if (r == 0)
			snprintf(data, data_size, "; %s holds this pool already: opened as it is, "
				 "its thin volumes kept", ublkit_nvme_ns_get_name(ns));
		return r;
	}
	if (!take) {
		snprintf(what, what_size,
			 "%s holds data (a thin pool's metadata); it is never taken unless "
			 "[Global] AllowTakingData=yes%s and the command is run with --force",
			 ublkit_nvme_ns_get_name(ns), allow ? " (set)" : " (not set)");
		return -EEXIST;
	}
	st->take_data = true;
	snprintf(data, data_size, "; taking %s, which holds a thin pool's metadata",
		 ublkit_nvme_ns_get_name(ns));
	return 0;
}

/*
 * May the namespaces of @st be taken? Fills the step in: CREATE, or
 * REFUSE with the reason and what would allow it.
 */
static void decide_take(struct ublkit_plan *plan, struct plan_step *st)
{
	bool allow = ublkit_policy_get_allow_taking_data(plan->policy);
	bool force = plan->flags & UBLKIT_PLAN_FORCE;
	int create = ublkit_policy_rule_get_create(st->rule);
	char what[1024], data[256] = "";

	for (unsigned int i = 0; i < st->n_members; i++) {
		const struct ublkit_nvme_ns *ns = st->members[i];
		struct ublkit_blockdev_usage u;
		unsigned int bflags = allow && force ? UBLKIT_BLOCKDEV_FORCE : 0;
		int r;

		ublkit_blockdev_usage_init(&u);
		r = ublkit_nvme_ns_check(plan->ctx, ns, bflags, &u);
		/* ublkit's own swap signature from an earlier run holds nothing */
		if (r == -EEXIST && is_swap_kind(create) && strcmp(u.type, "swap") == 0 &&
		    strcmp(u.label, rule_label(st->rule)) == 0 && u.found == UBLKIT_BLOCKDEV_SIGNATURE)
			r = 0;
		else if (r == 0 && (u.found & (UBLKIT_BLOCKDEV_SIGNATURE | UBLKIT_BLOCKDEV_PARTITIONS))) {
			st->take_data = true;
			snprintf(data, sizeof(data), "; taking %s, which holds %s%s",
				 ublkit_nvme_ns_get_name(ns), u.type[0] ? "TYPE=" : "data",
				 u.type);
		}
		if (r == -EEXIST) {
			snprintf(what, sizeof(what), "%s holds data (%s%s); it is never taken unless "
				 "[Global] AllowTakingData=yes%s and the command is run with --force",
				 ublkit_nvme_ns_get_name(ns), u.type[0] ? "TYPE=" : "",
				 u.type[0] ? u.type : "partitions",
				 allow ? " (set)" : " (not set)");
		} else if (r == -EBUSY) {
			snprintf(what, sizeof(what), "%s is in use: %s", ublkit_nvme_ns_get_name(ns),
				 u.reason[0] ? u.reason : "held");
		} else if (r < 0) {
			snprintf(what, sizeof(what), "%s cannot be checked: %s",
				 ublkit_nvme_ns_get_name(ns), u.reason[0] ? u.reason : strerror(-r));
		} else {
			r = decide_thin_pool(plan, st, ns, allow && force, what, sizeof(what), data,
					     sizeof(data));
		}
		if (r < 0) {
			st->info.action = UBLKIT_PLAN_REFUSE;
			step_finish_text(st, "refused: ", what);
			return;
		}
	}
	describe_create(st, what, sizeof(what));
	strncat(what, data, sizeof(what) - strlen(what) - 1);
	st->info.action = UBLKIT_PLAN_CREATE;
	st->executes = true;
	step_finish_text(st, "create ", what);
}

static bool members_match(const struct run_state *s, const struct plan_step *st)
{
	if (s->n_members != st->n_members)
		return false;
	for (unsigned int i = 0; i < s->n_members; i++)
		if (!find_state_of((struct run_state *)s, 1,
				   ublkit_nvme_ns_get_identity(st->members[i])))
			return false;
	return true;
}

/* The instance of @st: present, broken, in the way of another, or to be made. */
static void decide_instance(struct ublkit_plan *plan, struct plan_step *st)
{
	const struct run_state *s = find_state(plan->states, plan->n_states, st->instance);
	char why[512] = "";

	if (s) {
		if (strcmp(s->rule, ublkit_policy_rule_get_name(st->rule)) != 0 ||
		    s->create != ublkit_policy_rule_get_create(st->rule) || !members_match(s, st)) {
			snprintf(why, sizeof(why),
				 "instance %s was made by rule %s (%s) from other namespaces; "
				 "'ublkit down %s' first",
				 s->name, s->rule, ublkit_policy_create_name(s->create), s->name);
			st->info.action = UBLKIT_PLAN_REFUSE;
			step_finish_text(st, "refused: ", why);
		} else if (state_check(plan->ctx, s, why, sizeof(why)) < 0) {
			char fix[640];

			snprintf(fix, sizeof(fix), "it is broken (%s); 'ublkit down %s' clears it",
				 why, s->name);
			st->info.action = UBLKIT_PLAN_REFUSE;
			step_finish_text(st, "refused: ", fix);
		} else {
			st->info.action = UBLKIT_PLAN_PRESENT;
			step_finish_text(st, "present, nothing to do", "");
		}
		return;
	}
	for (unsigned int i = 0; i < st->n_members; i++) {
		const char *id = ublkit_nvme_ns_get_identity(st->members[i]);

		s = find_state_of(plan->states, plan->n_states, id);
		if (s) {
			snprintf(why, sizeof(why), "%s is used by instance %s (rule %s); "
				 "'ublkit down %s' first", ublkit_nvme_ns_get_name(st->members[i]),
				 s->name, s->rule, s->name);
			st->info.action = UBLKIT_PLAN_REFUSE;
			step_finish_text(st, "refused: ", why);
			return;
		}
	}
	decide_take(plan, st);
}

static int plan_namespace(struct ublkit_plan *plan, const struct claim *c)
{
	struct plan_step *st = step_add(plan);
	const char *name;
	int create;

	if (!st)
		return -ENOMEM;
	step_set_ns(st, c->ns);
	name = st->ns;
	if (c->conflict) {
		st->info.action = UBLKIT_PLAN_CONFLICT;
		snprintf(st->text, sizeof(st->text), "%s: conflict: %s; nothing is done with it",
			 name, c->why);
		return 0;
	}
	if (!c->rule) {
		st->info.action = UBLKIT_PLAN_NOTHING;
		snprintf(st->text, sizeof(st->text), "%s: no rule claims it%s%s, left alone", name,
			 c->why[0] ? ": " : "", c->why);
		return 0;
	}
	st->rule = c->rule;
	create = ublkit_policy_rule_get_create(c->rule);
	st->info.create = create;
	if (create == UBLKIT_POLICY_IGNORE) {
		st->info.action = UBLKIT_PLAN_NOTHING;
		snprintf(st->text, sizeof(st->text), "%s: rule %s says ignore, left alone", name,
			 ublkit_policy_rule_get_name(c->rule));
		return 0;
	}
	snprintf(st->instance, sizeof(st->instance), "%s", c->instance);
	st->members[0] = c->ns;
	st->n_members = 1;
	if (create == UBLKIT_POLICY_DM_STRIPED)
		return 0;	/* decided with its instance */
	decide_instance(plan, st);
	return 0;
}

/*
 * A striped rule: one instance over its first Members= namespaces, and
 * each member's step says the same as the instance's.
 */
static int plan_striped(struct ublkit_plan *plan, const struct ublkit_policy_rule *r,
			const struct claim *c, size_t n, size_t first_step)
{
	unsigned int want = ublkit_policy_rule_get_members(r);
	struct plan_step *inst;
	size_t idx;

	inst = step_add(plan);
	if (!inst)
		return -ENOMEM;
	inst->rule = r;
	inst->info.create = UBLKIT_POLICY_DM_STRIPED;
	snprintf(inst->instance, sizeof(inst->instance), "%s", ublkit_policy_rule_get_name(r));
	for (size_t i = 0; i < n && inst->n_members < RUN_STATE_MAX_MEMBERS; i++)
		if (c[i].rule == r && inst->n_members < want)
			inst->members[inst->n_members++] = c[i].ns;
	if (inst->n_members < want) {
		char why[128];

		snprintf(why, sizeof(why), "waiting for %u more namespace%s (has %u of Members=%u)",
			 want - inst->n_members, want - inst->n_members == 1 ? "" : "s",
			 inst->n_members, want);
		inst->info.action = UBLKIT_PLAN_WAIT;
		step_finish_text(inst, "", why);
	} else {
		decide_instance(plan, inst);
	}
	idx = inst - plan->steps;
	/* the members' own steps follow the instance */
	for (size_t i = first_step; i < idx; i++) {
		struct plan_step *m = &plan->steps[i];
		bool member = false;

		if (m->rule != r)
			continue;
		for (unsigned int k = 0; k < plan->steps[idx].n_members; k++)
			member |= strcmp(ublkit_nvme_ns_get_identity(plan->steps[idx].members[k]),
					 m->identity) == 0;
		if (member) {
			m->info.action = plan->steps[idx].info.action;
			snprintf(m->text, sizeof(m->text), "%s: member of striped '%s' (%s)", m->ns,
				 plan->steps[idx].instance,
				 ublkit_plan_action_name(m->info.action));
		} else {
			m->info.action = UBLKIT_PLAN_REFUSE;
			snprintf(m->text, sizeof(m->text),
				 "%s: refused: rule %s has its %u members already", m->ns,
				 ublkit_policy_rule_get_name(r), want);
		}
	}
	return 0;
}

static bool claims_include(const struct claim *c, size_t n, const struct ublkit_policy_rule *r,
			   const struct ublkit_nvme_ns *only)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].rule == r && (!only || c[i].ns == only))
			return true;
	return false;
}

static void plan_link_info(struct ublkit_plan *plan)
{
	for (size_t i = 0; i < plan->n_steps; i++) {
		struct plan_step *st = &plan->steps[i];

		st->info.ns = st->ns[0] ? st->ns : NULL;
		st->info.identity = st->identity[0] ? st->identity : NULL;
		st->info.rule = st->rule ? ublkit_policy_rule_get_name(st->rule) : NULL;
		st->info.instance = st->instance[0] ? st->instance : NULL;
		st->info.text = st->text;
	}
}

static int plan_build(struct ublkit_plan *plan, const struct ublkit_nvme_ns *only)
{
	_cleanup_free_ struct claim *c = NULL;
	size_t n = 0;
	int r;

	r = claims_new(plan, &c, &n);
	if (r < 0)
		return r;
	name_instances(plan, c, n);
	for (size_t i = 0; i < n; i++) {
		if (only && c[i].ns != only)
			continue;
		r = plan_namespace(plan, &c[i]);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ublkit_policy_get_rule_count(plan->policy); i++) {
		const struct ublkit_policy_rule *rule = ublkit_policy_get_rule(plan->policy, i);

		if (ublkit_policy_rule_get_create(rule) != UBLKIT_POLICY_DM_STRIPED ||
		    !claims_include(c, n, rule, only))
			continue;
		r = plan_striped(plan, rule, c, n, 0);
		if (r < 0)
			return r;
	}
	plan_link_info(plan);
	return 0;
}

UBLKIT_EXPORT int ublkit_plan_new(struct ublkit_ctx *ctx, struct ublkit_policy *p,
				  struct ublkit_nvme *nvme, const char *only, unsigned int flags,
				  struct ublkit_plan **ret)
{
	const struct ublkit_nvme_ns *only_ns = NULL;
	struct ublkit_plan *plan;
	char shown[80];
	int r;

	if (!ctx || !p || !nvme || !ret)
		return -EINVAL;
	*ret = NULL;
	if (ublkit_policy_get_problem_count(p) > 0) {
		log_error(ctx, "the policy has problems ('ublkit check-config' lists them): "
			       "nothing is applied");
		return -EINVAL;
	}
	if (!(flags & UBLKIT_PLAN_IGNORE_CMDLINE)) {
		r = cmdline_check(ctx);
		if (r < 0)
			return r;
	}
	if (only) {
		only_ns = ublkit_nvme_find_ns(nvme, only);
		if (!only_ns) {
			log_error(ctx, "%s%s: no such NVMe namespace",
				  name_printable(only, shown, sizeof(shown)),
				  strlen(only) >= sizeof(shown) ? "..." : "");
			return -ENODEV;
		}
	}
	plan = calloc(1, sizeof(*plan));
	if (!plan)
		return -ENOMEM;
	plan->ctx = ublkit_ctx_ref(ctx);
	plan->policy = ublkit_policy_ref(p);
	plan->nvme = ublkit_nvme_ref(nvme);
	plan->flags = flags;
	plan->lock_fd = -1;
	/* a plan to carry out sees the run state as no other apply or down changes it */
	r = flags & UBLKIT_PLAN_IGNORE_CMDLINE ? 0 : lock_or_fail(ctx, &plan->lock_fd);
	if (r >= 0)
		r = run_state_load_all(ctx, &plan->states);
	if (r >= 0) {
		plan->n_states = (size_t)r;
		plan->next_seq = next_seq(plan->states, plan->n_states);
		r = plan_build(plan, only_ns);
	}
	if (r < 0) {
		ublkit_plan_unref(plan);
		return r;
	}
	*ret = plan;
	return 0;
}

UBLKIT_EXPORT struct ublkit_plan *ublkit_plan_unref(struct ublkit_plan *plan)
{
	if (!plan)
		return NULL;
	ublkit_nvme_unref(plan->nvme);
	ublkit_policy_unref(plan->policy);
	ublkit_ctx_unref(plan->ctx);
	if (plan->lock_fd >= 0)
		close(plan->lock_fd);
	free(plan->steps);
	free(plan->states);
	free(plan);
	return NULL;
}

UBLKIT_EXPORT size_t ublkit_plan_get_step_count(const struct ublkit_plan *plan)
{
	return plan ? plan->n_steps : 0;
}

UBLKIT_EXPORT int ublkit_plan_get_step(const struct ublkit_plan *plan, size_t i,
				       struct ublkit_plan_step_info *info)
{
	if (!plan || !info)
		return -EINVAL;
	if (i >= plan->n_steps)
		return -ERANGE;
	*info = plan->steps[i].info;
	return 0;
}

/* ---- making ---------------------------------------------------------------- */

/* Record what was just made, before anything else happens. */
static int record(struct ublkit_ctx *ctx, struct run_state *s, int kind, const char *what)
{
	struct made *m;
	int r;

	if (s->n_made >= RUN_STATE_MAX_MADE)
		return -E2BIG;
	m = &s->made[s->n_made++];
	m->kind = kind;
	snprintf(m->what, sizeof(m->what), "%s", what);
	r = run_state_write(ctx, s);
	if (r >= 0)
		s->written = true;
	return r;
}

static void ublk_params(const struct ublkit_policy_rule *r, struct ublkit_dev_params *p)
{
	ublkit_dev_params_init(p);
	p->nr_queues = (uint16_t)ublkit_policy_rule_get_queues(r);
	p->queue_depth = (uint16_t)ublkit_policy_rule_get_queue_depth(r);
}

static unsigned int discard_flags(const struct ublkit_policy_rule *r)
{
	int64_t v;

	return ublkit_policy_rule_get_number(r, "Discard", &v) == 0 && v > 0 ? (unsigned int)v : 0;
}

/* A size key (Chunk=, MetadataSize=, ...) in sectors; 0 when not set. */
static uint64_t rule_sectors(const struct ublkit_policy_rule *r, const char *key)
{
	int64_t v;

	if (ublkit_policy_rule_get_number(r, key, &v) < 0 || v < 0)
		return 0;
	return (uint64_t)v / 512;
}

/* MetadataSize=, else a thousandth of the namespace but at least 2 MiB, in whole MiB. */
static uint64_t thin_metadata_sectors(const struct ublkit_policy_rule *r, uint64_t ns_sectors)
{
	uint64_t s = rule_sectors(r, "MetadataSize");

	if (!s) {
		s = ns_sectors / 1000;
		if (s < 2 * MIB_SECTORS)
			s = 2 * MIB_SECTORS;
	}
	return (s + MIB_SECTORS - 1) / MIB_SECTORS * MIB_SECTORS;
}

static int make_ublk(struct ublkit_ctx *ctx, const struct plan_step *st, struct run_state *s,
		     char *res, size_t res_size)
{
	const char *dev = ublkit_nvme_ns_get_block_device(st->members[0]);
	struct ublkit_spawn_result out;
	struct ublkit_dev_params p;
	bool swap = st->info.create == UBLKIT_POLICY_UBLK_SWAP;
	char id[16], bdev[32];
	int r;

	r = ublkit_ublk_preflight(ctx);
	if (r < 0) {
		snprintf(res, res_size, "the kernel cannot serve ublk devices: %s", strerror(-r));
		return r;
	}
	ublk_params(st->rule, &p);
	if (swap) {
		if (ublkit_policy_rule_get_hardening(st->rule) == UBLKIT_HARDEN_BEST_EFFORT)
			p.flags |= UBLKIT_DEV_HARDEN_BEST_EFFORT;
		r = ublkit_swap_ublk_on(ctx, &p, "file", dev, rule_label(st->rule),
					ublkit_policy_rule_get_priority(st->rule),
					discard_flags(st->rule) |
						(st->take_data ? UBLKIT_SWAP_FORCE : 0),
					&out);
	} else {
		r = ublkit_server_spawn(ctx, &p, "file", dev, -1, 0, &out);
	}
	if (r < 0) {
		snprintf(res, res_size, "%s: %s (see the log)",
			 swap ? "swap on a hardened ublk server failed" : "starting the server failed",
			 strerror(-r));
		return r;
	}
	if (out.pidfd >= 0)
		close(out.pidfd);
	snprintf(id, sizeof(id), "%d", out.id);
	ublkit_ublk_block_path((uint32_t)out.id, bdev, sizeof(bdev));
	r = record(ctx, s, MADE_UBLK, id);
	if (r >= 0 && swap)
		r = record(ctx, s, MADE_SWAP, bdev);
	if (r < 0) {
		snprintf(res, res_size, "cannot write the run state: %s", strerror(-r));
		return r;
	}
	snprintf(res, res_size, "%s%s (server %d)", bdev, swap ? " is swap" : "",
		 out.server_pid);
	return 0;
}

static int make_table(struct ublkit_ctx *ctx, const struct plan_step *st,
		      struct ublkit_dm_table **t)
{
	const struct ublkit_policy_rule *r = st->rule;
	struct ublkit_dm_range whole = { .device = ublkit_nvme_ns_get_block_device(st->members[0]) };
	const char *devs[RUN_STATE_MAX_MEMBERS];
	uint64_t meta, bs;

	switch (st->info.create) {
	case UBLKIT_POLICY_DM_LINEAR:
		return ublkit_dm_table_linear(ctx, &whole, t);
	case UBLKIT_POLICY_DM_CRYPT_SWAP:
		return ublkit_dm_table_crypt(ctx, &whole, t);
	case UBLKIT_POLICY_DM_STRIPED:
		for (unsigned int i = 0; i < st->n_members; i++)
			devs[i] = ublkit_nvme_ns_get_block_device(st->members[i]);
		return ublkit_dm_table_striped(ctx, devs, st->n_members, rule_sectors(r, "Chunk"),
					       0, t);
	case UBLKIT_POLICY_DM_THIN_POOL: {
		struct ublkit_dm_range md = whole, data = whole;

		meta = thin_metadata_sectors(r, ublkit_nvme_ns_get_size(st->members[0]) / 512);
		md.length_sectors = meta;
		data.offset_sectors = meta;
		bs = rule_sectors(r, "BlockSize");
		return ublkit_dm_table_thin_pool(ctx, &md, &data, bs,
						 rule_sectors(r, "LowWater") /
							 (bs ? bs : UBLKIT_DM_POOL_BLOCK_DEFAULT),
						 0, t);
	}
	default:
		return -EINVAL;
	}
}

static int make_dm(struct ublkit_ctx *ctx, const struct plan_step *st, struct run_state *s,
		   char *res, size_t res_size)
{
	struct ublkit_dm_table *t = NULL;
	char mapper[UBLKIT_DM_NAME_MAX + 16];
	int r;

	r = make_table(ctx, st, &t);
	if (r < 0) {
		snprintf(res, res_size, "cannot build the %s table: %s",
			 ublkit_policy_create_name(st->info.create), strerror(-r));
		return r;
	}
	r = ublkit_dm_create(ctx, st->instance, t, 0);
	ublkit_dm_table_unref(t);
	if (r < 0) {
		snprintf(res, res_size, "creating dm device %s failed: %s%s", st->instance,
			 strerror(-r),
			 r == -ENOENT ? " (the kernel lacks the target's module)" : "");
		return r;
	}
	r = record(ctx, s, MADE_DM, st->instance);
	if (r < 0) {
		snprintf(res, res_size, "cannot write the run state: %s", strerror(-r));
		return r;
	}
	snprintf(mapper, sizeof(mapper), "/dev/mapper/%s", st->instance);
	if (st->info.create != UBLKIT_POLICY_DM_CRYPT_SWAP) {
		snprintf(res, res_size, "%s", mapper);
		return 0;
	}
	/* a fresh key: what blkid might see there is noise */
	r = ublkit_swap_format(ctx, mapper, rule_label(st->rule), UBLKIT_BLOCKDEV_FORCE, NULL);
	if (r < 0) {
		snprintf(res, res_size, "writing a swap signature on %s failed: %s", mapper,
			 strerror(-r));
		return r;
	}
	r = ublkit_swap_on(ctx, mapper, ublkit_policy_rule_get_priority(st->rule),
			   discard_flags(st->rule));
	if (r < 0) {
		snprintf(res, res_size, "swapon %s failed: %s", mapper, strerror(-r));
		return r;
	}
	r = record(ctx, s, MADE_SWAP, mapper);
	if (r < 0) {
		snprintf(res, res_size, "cannot write the run state: %s", strerror(-r));
		return r;
	}
	snprintf(res, res_size, "%s is swap", mapper);
	return 0;
}

static void state_init(struct run_state *s, const struct plan_step *st, unsigned int seq)
{
	memset(s, 0, sizeof(*s));
	s->seq = seq;
	snprintf(s->name, sizeof(s->name), "%s", st->instance);
	snprintf(s->rule, sizeof(s->rule), "%s", ublkit_policy_rule_get_name(st->rule));
	s->create = st->info.create;
	for (unsigned int i = 0; i < st->n_members; i++) {
		snprintf(s->member[i].identity, sizeof(s->member[i].identity), "%s",
			 ublkit_nvme_ns_get_identity(st->members[i]));
		snprintf(s->member[i].dev, sizeof(s->member[i].dev), "%s",
			 ublkit_nvme_ns_get_block_device(st->members[i]));
	}
	s->n_members = st->n_members;
}

/* Make one instance; on failure, undo what was made of it. */
static int make_instance(struct ublkit_plan *plan, const struct plan_step *st, char *res,
			 size_t res_size)
{
	struct run_state s;
	char why[512] = "", done[512] = "";
	size_t len;
	int r, u;

	state_init(&s, st, plan->next_seq++);
	if (st->info.create == UBLKIT_POLICY_UBLK || st->info.create == UBLKIT_POLICY_UBLK_SWAP)
		r = make_ublk(plan->ctx, st, &s, res, res_size);
	else
		r = make_dm(plan->ctx, st, &s, res, res_size);
	if (r >= 0)
		return 0;
	log_error(plan->ctx, "%s: %s", st->instance, res);
	u = state_teardown(plan->ctx, &s, done, sizeof(done), why, sizeof(why));
	len = strlen(res);
	if (u < 0)
		snprintf(res + len, res_size - len, "; undoing it failed: %s", why);
	else if (done[0])
		snprintf(res + len, res_size - len, "; undone (%s)", done);
	else
		snprintf(res + len, res_size - len, "; nothing was left");
	return r;
}

UBLKIT_EXPORT int ublkit_plan_execute(struct ublkit_plan *plan, unsigned int flags,
				      ublkit_plan_result_fn fn, void *userdata)
{
	bool failed = false;

	(void)flags;	/* the plan decided with its own flags */
	if (!plan)
		return -EINVAL;
	if (plan->flags & UBLKIT_PLAN_IGNORE_CMDLINE)
		return -EINVAL;	/* a plan to look at, not to carry out */
	for (size_t i = 0; i < plan->n_steps; i++) {
		const struct plan_step *st = &plan->steps[i];
		char res[1024] = "";
		int r;

		if (st->info.action != UBLKIT_PLAN_CREATE || !st->executes)
			continue;
		r = make_instance(plan, st, res, sizeof(res));
		failed |= r < 0;
		if (fn)
			fn(&st->info, r, res, userdata);
	}
	return failed ? -EREMOTEIO : 0;
}

/* ---- down ------------------------------------------------------------------ */

static const char *dev_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static int down_one(struct ublkit_ctx *ctx, struct run_state *s, ublkit_plan_result_fn fn,
		    void *userdata)
{
	struct ublkit_plan_step_info info = {
		.action = UBLKIT_PLAN_NOTHING,
		.ns = s->n_members ? dev_name(s->member[0].dev) : NULL,
		.identity = s->n_members ? s->member[0].identity : NULL,
		.rule = s->rule,
		.instance = s->name,
		.create = s->create,
	};
	char text[256], why[512] = "", done[512] = "", res[1200];
	int r;

	s->written = true;	/* read from its file */
	snprintf(text, sizeof(text), "down %s '%s' (rule %s)", ublkit_policy_create_name(s->create),
		 s->name, s->rule);
	info.text = text;
	r = state_teardown(ctx, s, done, sizeof(done), why, sizeof(why));
	if (r < 0)
		snprintf(res, sizeof(res), "%s%s%s; its teardown stopped there", why,
			 done[0] ? "; done before: " : "", done);
	else
		snprintf(res, sizeof(res), "%s", done[0] ? done : "nothing was left to remove");
	if (fn)
		fn(&info, r, res, userdata);
	return r;
}

UBLKIT_EXPORT int ublkit_policy_down(struct ublkit_ctx *ctx, const char *name, unsigned int flags,
				     ublkit_plan_result_fn fn, void *userdata)
{
	_cleanup_free_ struct run_state *all = NULL;
	_cleanup_close_ int lock = -1;
	bool failed = false, found = false;
	int n, r;

	(void)flags;
	if (!ctx || (name && ublkit_policy_instance_name_check(ctx, name) < 0))
		return -EINVAL;
	r = lock_or_fail(ctx, &lock);
	if (r < 0)
		return r;
	n = run_state_load_all(ctx, &all);
	if (n < 0)
		return n;
	if (n > 1)
		qsort(all, (size_t)n, sizeof(*all), cmp_down);
	for (int i = 0; i < n; i++) {
		if (name && strcmp(all[i].name, name) != 0)
			continue;
		found = true;
		failed |= down_one(ctx, &all[i], fn, userdata) < 0;
	}
	if (name && !found) {
		log_error(ctx, "%s: no such instance", name);
		return -ENOENT;
	}
	run_state_dir_remove_empty(ctx);
	return failed ? -EREMOTEIO : 0;
}

/* ---- status ---------------------------------------------------------------- */

struct instance_entry {
	struct run_state s;
	struct ublkit_instance_status st;
	char device[UBLKIT_DM_NAME_MAX + 16];
	char swap[UBLKIT_DM_NAME_MAX + 16];
	char dm_devices[512];
	char problem[512];
};

struct ublkit_policy_status {
	struct instance_entry *e;
	size_t n;
};

UBLKIT_EXPORT void ublkit_instance_status_init(struct ublkit_instance_status *s)
{
	if (!s)
		return;
	memset(s, 0, sizeof(*s));
	s->struct_size = sizeof(*s);
	s->ublk_id = -1;
	s->server_alive = -1;
	s->hardening = -1;
	s->swap_active = -1;
}

static void status_ublk(struct ublkit_ctx *ctx, struct instance_entry *e, uint32_t id)
{
	struct ublkit_device *d = NULL;
	struct ublkit_harden_report *rep = NULL;

	e->st.ublk_id = (int)id;
	ublkit_ublk_block_path(id, e->device, sizeof(e->device));
	e->st.server_alive = 0;
	if (ublkit_device_new(ctx, id, &d) < 0)
		return;
	e->st.server_pid = ublkit_device_get_server_pid(d);
	e->st.server_alive = ublkit_device_is_server_alive(d);
	if (e->s.create == UBLKIT_POLICY_UBLK_SWAP && e->st.server_alive) {
		e->st.hardening = ublkit_device_inspect_hardening(ctx, d, &rep) >= 0 &&
				  ublkit_harden_report_is_swap_safe(rep, NULL);
		ublkit_harden_report_unref(rep);
	}
	ublkit_device_unref(d);
}

static void status_dm(struct ublkit_ctx *ctx, struct instance_entry *e, const char *name)
{
	struct ublkit_dm_device *d = NULL;
	struct ublkit_dm_status *st = NULL;
	size_t off = strlen(e->dm_devices);
	const char *state = "ok";

	snprintf(e->dm_devices + off, sizeof(e->dm_devices) - off, "%s%s", off ? " " : "", name);
	snprintf(e->device, sizeof(e->device), "/dev/mapper/%s", name);
	if (ublkit_dm_device_new(ctx, name, &d) < 0) {
		state = "missing";
	} else if (ublkit_dm_device_is_suspended(d)) {
		state = "suspended";
	} else if (ublkit_dm_status_get(ctx, name, &st) >= 0) {
		int mode = ublkit_dm_status_get_mode(st);

		if (ublkit_dm_status_is_failed(st))
			state = "failed";
		else if (mode == UBLKIT_DM_MODE_OUT_OF_DATA_SPACE || mode == UBLKIT_DM_MODE_READ_ONLY)
			state = ublkit_dm_mode_name(mode);
	}
	/* the worst of the instance's devices */
	if (!e->st.dm_state || strcmp(e->st.dm_state, "ok") == 0)
		e->st.dm_state = state;
	ublkit_dm_status_unref(st);
	ublkit_dm_device_unref(d);
}

static void status_swap(struct ublkit_ctx *ctx, struct instance_entry *e, const char *dev)
{
	struct swap_find f;

	snprintf(e->swap, sizeof(e->swap), "%s", dev);
	e->st.swap = e->swap;
	e->st.swap_active = swap_lookup(ctx, dev, &f) > 0;
	e->st.swap_size = f.size;
	e->st.swap_used = f.used;
}

static void status_fill(struct ublkit_ctx *ctx, struct instance_entry *e)
{
	uint64_t id;

	ublkit_instance_status_init(&e->st);
	for (unsigned int i = 0; i < e->s.n_made; i++) {
		const struct made *m = &e->s.made[i];

		if (m->kind == MADE_UBLK && ublkit_parse_u64(m->what, &id) == 0 && id <= INT32_MAX)
			status_ublk(ctx, e, (uint32_t)id);
		else if (m->kind == MADE_DM)
			status_dm(ctx, e, m->what);
		else if (m->kind == MADE_SWAP)
			status_swap(ctx, e, m->what);
	}
	e->st.healthy = state_check(ctx, &e->s, e->problem, sizeof(e->problem)) == 0;
	if (e->st.healthy && e->st.hardening == 0) {
		e->st.healthy = false;
		snprintf(e->problem, sizeof(e->problem),
			 "the swap server no longer holds its hardening ('ublkit info %d')",
			 e->st.ublk_id);
	}
	e->st.name = e->s.name;
	e->st.rule = e->s.rule;
	e->st.create = e->s.create;
	e->st.device = e->device[0] ? e->device : NULL;
	e->st.member_count = e->s.n_members;
	e->st.dm_devices = e->dm_devices;
	e->st.problem = e->st.healthy ? NULL : e->problem;
}

UBLKIT_EXPORT int ublkit_policy_status_new(struct ublkit_ctx *ctx, unsigned int flags,
					   struct ublkit_policy_status **ret)
{
	_cleanup_free_ struct run_state *all = NULL;
	struct ublkit_policy_status *st;
	int n;

	(void)flags;
	if (!ctx || !ret)
		return -EINVAL;
	n = run_state_load_all(ctx, &all);
	if (n < 0)
		return n;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->e = calloc(n ? (size_t)n : 1, sizeof(*st->e));
	if (!st->e) {
		free(st);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		st->e[i].s = all[i];
		status_fill(ctx, &st->e[i]);
	}
	st->n = (size_t)n;
	*ret = st;
	return 0;
}

UBLKIT_EXPORT struct ublkit_policy_status *
ublkit_policy_status_unref(struct ublkit_policy_status *st)
{
	if (st) {
		free(st->e);
		free(st);
	}
	return NULL;
}

UBLKIT_EXPORT size_t ublkit_policy_status_get_count(const struct ublkit_policy_status *st)
{
	return st ? st->n : 0;
}

UBLKIT_EXPORT int ublkit_policy_status_get_sz(const struct ublkit_policy_status *st, size_t i,
					      struct ublkit_instance_status *s, size_t size)
{
	if (!st || !s || size < sizeof(uint32_t))
		return -EINVAL;
	if (i >= st->n)
		return -ERANGE;
	struct_out((char *)s + sizeof(uint32_t), size - sizeof(uint32_t),
		   (const char *)&st->e[i].st + sizeof(uint32_t),
		   sizeof(st->e[i].st) - sizeof(uint32_t));
	return 0;
}

UBLKIT_EXPORT const char *ublkit_policy_status_get_member(const struct ublkit_policy_status *st,
							  size_t i, size_t j,
							  const char **identity)
{
	if (!st || i >= st->n || j >= st->e[i].s.n_members)
		return NULL;
	if (identity)
		*identity = st->e[i].s.member[j].identity;
	return st->e[i].s.member[j].dev;
}
