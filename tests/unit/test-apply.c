/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Plans over captured NVMe topologies in a fake root: instance names,
 * striped sets that wait for their members, namespaces that hold data,
 * two rules that claim one namespace, instances the run state records,
 * the kernel command line switch, the run state's own format, a thin
 * pool's metadata that is kept, health that keeps a rule off, the lock
 * between applies and downs, and the order down goes in.
 * White-box: the run state's reader and writer and the probe that looks
 * at made devices are internal.
 */
#include "config.h"

#include <endian.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "fake-nvme.h"
#include "ublkit/nvme.h"
#include "ublkit/policy.h"
#include "ublkit/swap.h"
#include "ublkit-private.h"
#include "apply-private.h"
#include "dm-private.h"

#define QEMU_NQN "nqn.2019-08.org.qemu:nqn.2024-01.org.ublkit:subsys0"
#define LOOP_NQN "nqn.2024-01.org.ublkit:loop-test"
#define ID_NS1 "nsid.1." QEMU_NQN	/* nvme0n2, 1 GiB */
#define ID_NS2 "nsid.2." QEMU_NQN	/* nvme0n1, 512 MiB */

/* ---- a fake system ------------------------------------------------------------ */

static int probe_result;
static apply_probe_fn probe_real;	/* what the stand-in probe says about every made piece */

static int fake_probe(struct ublkit_ctx *ctx, const struct made *m, char *why, size_t why_size)
{
	(void)ctx;
	if (probe_result < 0)
		snprintf(why, why_size, "%s %s is gone", made_kind_name(m->kind), m->what);
	return probe_result;
}

static void ns_file(const char *root, const char *name, const char *nsid, const char *nqn,
		    off_t size)
{
	char p[4200], v[256];
	int fd;

	snprintf(p, sizeof(p), "/sys/block/%s/nsid", name);
	snprintf(v, sizeof(v), "%s\n", nsid);
	fake_write(root, p, v);
	snprintf(p, sizeof(p), "/sys/block/%s/device/subsysnqn", name);
	snprintf(v, sizeof(v), "%s\n", nqn);
	fake_write(root, p, v);
	/* a file stands in for the namespace: no mknod needed */
	snprintf(p, sizeof(p), "%s/dev/%s", root, name);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, size) == 0);
	if (fd >= 0)
		close(fd);
}

struct sys {
	char *root;
	struct ublkit_ctx *ctx;
	struct ublkit_nvme *nvme;
};

static void sys_new(struct sys *s)
{
	s->root = fake_root_linux();
	s->ctx = test_ctx();
	CHECK_EQ(ublkit_ctx_set_sysroot(s->ctx, s->root), 0);
	fake_mkdir(s->root, "/dev");
	fake_mkdir(s->root, "/run");
	fake_write(s->root, "/proc/self/mountinfo", "27 1 254:0 / / rw - ext4 /dev/vda rw\n");
	fake_write(s->root, "/proc/cmdline", "root=/dev/vda rw quiet\n");
	ns_file(s->root, "nvme0n2", "1", QEMU_NQN, 16 << 20);
	ns_file(s->root, "nvme0n1", "2", QEMU_NQN, 16 << 20);
	ns_file(s->root, "nvme1n1", "1", LOOP_NQN, 16 << 20);
	ns_file(s->root, "nvme2n1", "1", "nqn.2014.08.org.nvmexpress:144d144dS64ANS0T123456     "
					 "Samsung SSD 980 1TB", 16 << 20);
	fake_nvme_install(s->ctx);
	s->nvme = NULL;
	CHECK_EQ(ublkit_nvme_scan(s->ctx, 0, &s->nvme), 0);
	if (!s->nvme) {
		fprintf(stderr, "no snapshot\n");
		exit(EXIT_FAILURE);
	}
	probe_result = 0;
	if (!probe_real)
		probe_real = apply_probe;
	apply_probe = fake_probe;
}

static void sys_free(struct sys *s)
{
	ublkit_nvme_unref(s->nvme);
	ublkit_ctx_unref(s->ctx);
	fake_root_free(s->root);
}

static struct ublkit_policy *policy(struct sys *s, const char *text)
{
	struct ublkit_policy *p = NULL;

	CHECK_EQ(ublkit_policy_load_buffer(s->ctx, "/etc/ublkit/ublkit.conf", text, strlen(text), 0,
					   &p),
		 0);
	if (!p) {
		fprintf(stderr, "no policy\n");
		exit(EXIT_FAILURE);
	}
	for (size_t i = 0; i < ublkit_policy_get_problem_count(p); i++)
		fprintf(stderr, "policy problem: %s\n", ublkit_policy_get_problem(p, i)->message);
	return p;
}

static struct ublkit_plan *plan_of(struct sys *s, const char *text, const char *only,
				   unsigned int flags)
{
	struct ublkit_policy *p = policy(s, text);
	struct ublkit_plan *plan = NULL;

	CHECK_EQ(ublkit_plan_new(s->ctx, p, s->nvme, only, flags, &plan), 0);
	ublkit_policy_unref(p);
	if (!plan) {
		fprintf(stderr, "no plan\n");
		exit(EXIT_FAILURE);
	}
	return plan;
}

/* The step of namespace @ns (NULL: the striped instance @instance). */
static struct ublkit_plan_step_info step_of(const struct ublkit_plan *plan, const char *ns,
					    const char *instance)
{
	struct ublkit_plan_step_info s, none = { .action = -1, .text = "" };

	for (size_t i = 0; ublkit_plan_get_step(plan, i, &s) == 0; i++) {
		if (ns && s.ns && strcmp(s.ns, ns) == 0)
			return s;
		if (!ns && !s.ns && s.instance && strcmp(s.instance, instance) == 0)
			return s;
	}
	fprintf(stderr, "no step for %s\n", ns ? ns : instance);
	test_failures++;
	return none;
}

static void record_state(struct sys *s, const char *name, const char *rule, int create,
			 const char *identity, const char *dev)
{
	struct run_state st = { .create = create, .n_members = 1, .n_made = 1 };

	snprintf(st.name, sizeof(st.name), "%s", name);
	snprintf(st.rule, sizeof(st.rule), "%s", rule);
	snprintf(st.member[0].identity, sizeof(st.member[0].identity), "%s", identity);
	snprintf(st.member[0].dev, sizeof(st.member[0].dev), "%s", dev);
	st.made[0].kind = MADE_UBLK;
	snprintf(st.made[0].what, sizeof(st.made[0].what), "7");
	CHECK_EQ(run_state_write(s->ctx, &st), 0);
}

#define QEMU_SWAP "[Rule qemu]\nMatchModel=QEMU*\nCreate=ublk-swap\n" \
		  "[Rule other]\nMatchModel=Linux\nCreate=ignore\n"

/* ---- naming ---------------------------------------------------------------------- */

static void test_naming(void)
{
	struct sys s;
	struct ublkit_plan *plan;
	struct ublkit_plan_step_info a, b, c;

	sys_new(&s);
	plan = plan_of(&s, QEMU_SWAP, NULL, 0);
	CHECK_EQ(ublkit_plan_get_step_count(plan), 4);
	/* namespaces in snapshot order: nsid 1 (nvme0n2) first */
	a = step_of(plan, "nvme0n2", NULL);
	b = step_of(plan, "nvme0n1", NULL);
	c = step_of(plan, "nvme1n1", NULL);
	CHECK_EQ(a.action, UBLKIT_PLAN_CREATE);
	CHECK_STREQ(a.instance, "qemu");
	CHECK_STREQ(a.rule, "qemu");
	CHECK_STREQ(a.identity, ID_NS1);
	CHECK_EQ(a.create, UBLKIT_POLICY_UBLK_SWAP);
	CHECK(strstr(a.text, "nvme0n2: ublk-swap 'qemu' (rule qemu): create ") == a.text);
	CHECK(strstr(a.text, "taking") == NULL);	/* a blank namespace loses nothing */
	CHECK_EQ(b.action, UBLKIT_PLAN_CREATE);
	CHECK_STREQ(b.instance, "qemu-2");
	CHECK_EQ(c.action, UBLKIT_PLAN_NOTHING);
	CHECK(c.instance == NULL);
	CHECK(strstr(c.text, "ignore") != NULL);
	CHECK_EQ(ublkit_plan_get_step(plan, 4, &c), -ERANGE);
	ublkit_plan_unref(plan);

	/* a name once given is kept: nsid 2 was "qemu" in an earlier run */
	record_state(&s, "qemu", "qemu", UBLKIT_POLICY_UBLK_SWAP, ID_NS2, "/dev/nvme0n1");
	plan = plan_of(&s, QEMU_SWAP, NULL, 0);
	a = step_of(plan, "nvme0n2", NULL);
	b = step_of(plan, "nvme0n1", NULL);
	CHECK_STREQ(b.instance, "qemu");
	CHECK_EQ(b.action, UBLKIT_PLAN_PRESENT);
	CHECK_STREQ(a.instance, "qemu-2");
	CHECK_EQ(a.action, UBLKIT_PLAN_CREATE);
	ublkit_plan_unref(plan);

	/* one namespace alone: the same names */
	plan = plan_of(&s, QEMU_SWAP, "/dev/nvme0n2", 0);
	CHECK_EQ(ublkit_plan_get_step_count(plan), 1);
	a = step_of(plan, "nvme0n2", NULL);
	CHECK_STREQ(a.instance, "qemu-2");
	ublkit_plan_unref(plan);
	sys_free(&s);
}

/* ---- striped ------------------------------------------------------------------------ */

static void test_striped_wait(void)
{
	struct sys s;
	struct ublkit_plan *plan;
	struct ublkit_plan_step_info a, inst;

	sys_new(&s);
	plan = plan_of(&s, "[Rule st]\nMatchModel=QEMU*\nCreate=dm-striped\nMembers=3\n", NULL, 0);
	/* four namespaces and one instance */
	CHECK_EQ(ublkit_plan_get_step_count(plan), 5);
	inst = step_of(plan, NULL, "st");
	CHECK_EQ(inst.action, UBLKIT_PLAN_WAIT);
	CHECK_EQ(inst.create, UBLKIT_POLICY_DM_STRIPED);
	CHECK(strstr(inst.text, "waiting for 1 more namespace (has 2 of Members=3)") != NULL);
	a = step_of(plan, "nvme0n1", NULL);
	CHECK_EQ(a.action, UBLKIT_PLAN_WAIT);
	CHECK_STREQ(a.instance, "st");
	CHECK_EQ(ublkit_plan_execute(plan, 0, NULL, NULL), 0);	/* nothing to make */
	ublkit_plan_unref(plan);

	plan = plan_of(&s, "[Rule st]\nMatchModel=QEMU*\nCreate=dm-striped\nMembers=2\n", NULL, 0);
	inst = step_of(plan, NULL, "st");
	CHECK_EQ(inst.action, UBLKIT_PLAN_CREATE);
	CHECK(strstr(inst.text, "striped over /dev/nvme0n2 /dev/nvme0n1") != NULL);
	a = step_of(plan, "nvme0n2", NULL);
	CHECK_EQ(a.action, UBLKIT_PLAN_CREATE);
	ublkit_plan_unref(plan);

	/* one member asked for: its step and the instance's */
	plan = plan_of(&s, "[Rule st]\nMatchModel=QEMU*\nCreate=dm-striped\nMembers=2\n", "nvme0n1",
		       0);
	CHECK_EQ(ublkit_plan_get_step_count(plan), 2);
	CHECK_EQ(step_of(plan, NULL, "st").action, UBLKIT_PLAN_CREATE);
	ublkit_plan_unref(plan);
	sys_free(&s);
}

/* ---- data -------------------------------------------------------------------------- */

static void test_refuse_data(void)
{
	static const char allow[] = "[Global]\nAllowTakingData=yes\n"
				    "[Rule lin]\nMatchNSID=2\nMatchModel=QEMU*\nCreate=dm-linear\n";
	struct sys s;
	struct ublkit_plan *plan;
	struct ublkit_plan_step_info a;

	sys_new(&s);
	/* nvme0n1 holds a swap area someone else made */
	CHECK_EQ(ublkit_swap_format(s.ctx, "/dev/nvme0n1", "theirs", UBLKIT_BLOCKDEV_FORCE, NULL), 0);
	plan = plan_of(&s, "[Rule lin]\nMatchNSID=2\nMatchModel=QEMU*\nCreate=dm-linear\n", NULL,
		       UBLKIT_PLAN_FORCE);
	a = step_of(plan, "nvme0n1", NULL);
	CHECK_EQ(a.action, UBLKIT_PLAN_REFUSE);
	CHECK(strstr(a.text, "holds data (TYPE=swap)") != NULL);
	CHECK(strstr(a.text, "AllowTakingData=yes (not set)") != NULL);
	/* the other namespaces: no rule */
	CHECK_EQ(step_of(plan, "nvme0n2", NULL).action, UBLKIT_PLAN_NOTHING);
	ublkit_plan_unref(plan);

	/* allowed, but not forced */
	plan = plan_of(&s, allow, NULL, 0);
	a = step_of(plan, "nvme0n1", NULL);
	CHECK_EQ(a.action, UBLKIT_PLAN_REFUSE);
	CHECK(strstr(a.text, "--force") != NULL);
	ublkit_plan_unref(plan);

	/* allowed and forced: taken, and the plan says what is lost */
	plan = plan_of(&s, allow, NULL, UBLKIT_PLAN_FORCE);
	a = step_of(plan, "nvme0n1", NULL);
	CHECK_EQ(a.action, UBLKIT_PLAN_CREATE);
	CHECK(strstr(a.text, "taking nvme0n1, which holds TYPE=swap") != NULL);
	ublkit_plan_unref(plan);

	/* ublkit's own swap signature (same label) holds nothing for a swap rule ... */
	CHECK_EQ(ublkit_swap_format(s.ctx, "/dev/nvme0n1", "ublkit-swap", UBLKIT_BLOCKDEV_FORCE,
				    NULL),
		 0);
	plan = plan_of(&s, "[Rule sw]\nMatchNSID=2\nMatchModel=QEMU*\nCreate=ublk-swap\n", NULL, 0);
	CHECK_EQ(step_of(plan, "nvme0n1", NULL).action, UBLKIT_PLAN_CREATE);
	ublkit_plan_unref(plan);
	/* ... but it is data for anything else */
	plan = plan_of(&s, "[Rule lin]\nMatchNSID=2\nMatchModel=QEMU*\nCreate=dm-linear\n", NULL, 0);
	CHECK_EQ(step_of(plan, "nvme0n1", NULL).action, UBLKIT_PLAN_REFUSE);
	ublkit_plan_unref(plan);

	/* in use (active swap): refused whatever the flags */
	fake_write(s.root, "/proc/swaps",
		   "Filename Type Size Used Priority\n/dev/nvme0n1 partition 16380 0 -2\n");
	plan = plan_of(&s, allow, NULL, UBLKIT_PLAN_FORCE);
	a = step_of(plan, "nvme0n1", NULL);
	CHECK_EQ(a.action, UBLKIT_PLAN_REFUSE);
	CHECK(strstr(a.text, "in use") != NULL);
	ublkit_plan_unref(plan);
	sys_free(&s);
}

/* ---- conflicts ------------------------------------------------------------------------ */

static void test_conflict(void)
{
	struct sys s;
	struct ublkit_plan *plan;
	struct ublkit_plan_step_info a;

	sys_new(&s);
	plan = plan_of(&s,
		       "[Rule a]\nMatchNSID=1\nCreate=ublk\n"
		       "[Rule b]\nMatchModel=QEMU*\nCreate=dm-linear\n",
		       NULL, 0);
	a = step_of(plan, "nvme0n2", NULL);
	CHECK_EQ(a.action, UBLKIT_PLAN_CONFLICT);
	CHECK(a.rule == NULL && a.instance == NULL);
	CHECK(strstr(a.text, "conflict") != NULL);
	/* nsid 2 matches rule b alone */
	a = step_of(plan, "nvme0n1", NULL);
	CHECK_EQ(a.action, UBLKIT_PLAN_CREATE);
	CHECK_STREQ(a.instance, "b");
	ublkit_plan_unref(plan);
	sys_free(&s);
}

/* ---- the run state says it is there ------------------------------------------------ */

static void test_present(void)
{
	struct sys s;
	struct ublkit_plan *plan;
	struct ublkit_plan_step_info a;

	sys_new(&s);
	record_state(&s, "qemu", "qemu", UBLKIT_POLICY_UBLK_SWAP, ID_NS1, "/dev/nvme0n2");
	plan = plan_of(&s, QEMU_SWAP, NULL, 0);
	a = step_of(plan, "nvme0n2", NULL);
	CHECK_EQ(a.action, UBLKIT_PLAN_PRESENT);
	CHECK(strstr(a.text, "present, nothing to do") != NULL);
	ublkit_plan_unref(plan);

	/* what it made is gone: refused until it is taken down */
	probe_result = -ENODEV;
	plan = plan_of(&s, QEMU_SWAP, NULL, 0);
	a = step_of(plan, "nvme0n2", NULL);
	CHECK_EQ(a.action, UBLKIT_PLAN_REFUSE);
	CHECK(strstr(a.text, "broken (ublk 7 is gone)") != NULL);
	CHECK(strstr(a.text, "'ublkit down qemu'") != NULL);
	ublkit_plan_unref(plan);
	probe_result = 0;

	/* a rule of another kind now claims it: the old instance is in the way */
	plan = plan_of(&s, "[Rule lin]\nMatchModel=QEMU*\nCreate=dm-linear\n", NULL, 0);
	a = step_of(plan, "nvme0n2", NULL);
	CHECK_EQ(a.action, UBLKIT_PLAN_REFUSE);
	CHECK(strstr(a.text, "used by instance qemu") != NULL);
	ublkit_plan_unref(plan);

	/* status sees the recorded instance */
	{
		struct ublkit_policy_status *st = NULL;
		struct ublkit_instance_status is;
		const char *id = NULL;

		CHECK_EQ(ublkit_policy_status_new(s.ctx, 0, &st), 0);
		CHECK_EQ(ublkit_policy_status_get_count(st), 1);
		ublkit_instance_status_init(&is);
		CHECK_EQ(ublkit_policy_status_get(st, 0, &is), 0);
		CHECK_STREQ(is.name, "qemu");
		CHECK_STREQ(is.rule, "qemu");
		CHECK_EQ(is.create, UBLKIT_POLICY_UBLK_SWAP);
		CHECK_EQ(is.ublk_id, 7);
		CHECK_STREQ(is.device, "/dev/ublkb7");
		CHECK_EQ(is.member_count, 1);
		CHECK_STREQ(ublkit_policy_status_get_member(st, 0, 0, &id), "/dev/nvme0n2");
		CHECK_STREQ(id, ID_NS1);
		CHECK(ublkit_policy_status_get_member(st, 0, 1, NULL) == NULL);
		CHECK_EQ(ublkit_policy_status_get(st, 1, &is), -ERANGE);
		CHECK_EQ(ublkit_policy_status_get(NULL, 0, &is), -EINVAL);
		CHECK_EQ(ublkit_policy_status_get_sz(st, 0, &is, 2), -EINVAL);
		CHECK(ublkit_policy_status_get_member(NULL, 0, 0, NULL) == NULL);
		ublkit_policy_status_unref(st);
	}
	/* down: what it made cannot be reached here, the record stays */
	CHECK_EQ(ublkit_policy_down(s.ctx, "nope", 0, NULL, NULL), -ENOENT);
	/* a name that can be no instance's is refused before the state is read */
	CHECK_EQ(ublkit_policy_down(s.ctx, "../nope", 0, NULL, NULL), -EINVAL);
	CHECK_EQ(ublkit_policy_instance_name_check(s.ctx, "swap-2"), 0);
	CHECK_EQ(ublkit_policy_instance_name_check(s.ctx, "a_b-C9"), 0);
	CHECK_EQ(ublkit_policy_instance_name_check(s.ctx, "r012345678901234567890123456789a-4294967295"), 0);
	CHECK_EQ(ublkit_policy_instance_name_check(s.ctx, "r012345678901234567890123456789a-42949672950"), -EINVAL);
	CHECK_EQ(ublkit_policy_instance_name_check(s.ctx, ""), -EINVAL);
	CHECK_EQ(ublkit_policy_instance_name_check(s.ctx, NULL), -EINVAL);
	CHECK_EQ(ublkit_policy_instance_name_check(s.ctx, "a/b"), -EINVAL);
	CHECK_EQ(ublkit_policy_instance_name_check(s.ctx, "a.b"), -EINVAL);
	CHECK_EQ(ublkit_policy_instance_name_check(s.ctx, "a\nb"), -EINVAL);
	sys_free(&s);
}

/* ---- records that say less than they should ------------------------------------------ */

struct down_seen {
	int calls, err;
	char ns[32], instance[48], text[256];
};

static void on_down(const struct ublkit_plan_step_info *step, int err, const char *text,
		    void *userdata)
{
	struct down_seen *d = userdata;

	d->calls++;
	d->err = err;
	snprintf(d->ns, sizeof(d->ns), "%s", step->ns ? step->ns : "(null)");
	snprintf(d->instance, sizeof(d->instance), "%s", step->instance);
	snprintf(d->text, sizeof(d->text), "%s: %s", step->text, text);
}

static void test_interrupted_and_status(void)
{
	struct run_state st = { .create = UBLKIT_POLICY_DM_CRYPT_SWAP, .n_members = 1 };
	struct ublkit_policy_status *status = NULL;
	struct ublkit_instance_status is;
	struct ublkit_plan *plan;
	struct ublkit_plan_step_info a;
	struct down_seen seen = { 0 };
	struct sys s;

	sys_new(&s);
	/* an apply that stopped before it made anything */
	strcpy(st.name, "cs");
	strcpy(st.rule, "cs");
	strcpy(st.member[0].identity, ID_NS1);
	strcpy(st.member[0].dev, "/dev/nvme0n2");
	CHECK_EQ(run_state_write(s.ctx, &st), 0);
	plan = plan_of(&s, "[Rule cs]\nMatchNSID=1\nMatchModel=QEMU*\nCreate=dm-crypt-swap\n", NULL, 0);
	a = step_of(plan, "nvme0n2", NULL);
	CHECK_EQ(a.action, UBLKIT_PLAN_REFUSE);
	CHECK(strstr(a.text, "an interrupted apply") != NULL);
	ublkit_plan_unref(plan);

	/* status: the swap area is active (a real probe of /proc/swaps) */
	st.n_made = 1;
	st.made[0].kind = MADE_SWAP;
	strcpy(st.made[0].what, "/dev/mapper/cs");
	CHECK_EQ(run_state_write(s.ctx, &st), 0);
	fake_write(s.root, "/proc/swaps", "Filename Type Size Used Priority\n"
					  "/dev/zram0 partition 1024 0 100\n"
					  "/dev/mapper/cs partition 16380 4 -2\n");
	CHECK_EQ(ublkit_policy_status_new(s.ctx, 0, &status), 0);
	ublkit_instance_status_init(&is);
	CHECK_EQ(ublkit_policy_status_get(status, 0, &is), 0);
	CHECK_STREQ(is.swap, "/dev/mapper/cs");
	CHECK_EQ(is.swap_active, 1);
	CHECK_EQ(is.swap_size, 16380ull << 10);
	CHECK_EQ(is.swap_used, 4ull << 10);
	CHECK_EQ(is.ublk_id, -1);
	CHECK_EQ(is.server_alive, -1);
	status = ublkit_policy_status_unref(status);
	fake_write(s.root, "/proc/swaps", "Filename Type Size Used Priority\n");
	apply_probe = probe_real;
	CHECK_EQ(ublkit_policy_status_new(s.ctx, 0, &status), 0);
	CHECK_EQ(ublkit_policy_status_get(status, 0, &is), 0);
	CHECK_EQ(is.swap_active, 0);
	CHECK(!is.healthy);
	CHECK(is.problem && strstr(is.problem, "/dev/mapper/cs is no active swap area"));
	ublkit_policy_status_unref(status);
	apply_probe = fake_probe;

	/* down: swapoff cannot work in a sysroot; the record stays, and says so */
	CHECK_EQ(ublkit_policy_down(s.ctx, NULL, 0, on_down, &seen), -EREMOTEIO);
	CHECK_EQ(seen.calls, 1);
	CHECK(seen.err < 0);
	CHECK_STREQ(seen.ns, "nvme0n2");
	CHECK_STREQ(seen.instance, "cs");
	CHECK(strstr(seen.text, "down dm-crypt-swap 'cs' (rule cs): swapoff /dev/mapper/cs") != NULL);
	CHECK_EQ(run_state_read(s.ctx, "cs", &st), 0);
	CHECK_EQ(st.n_made, 1);

	/* arguments */
	CHECK_EQ(ublkit_plan_new(s.ctx, NULL, s.nvme, NULL, 0, &plan), -EINVAL);
	CHECK_EQ(ublkit_plan_new(s.ctx, (struct ublkit_policy *)1, NULL, NULL, 0, &plan), -EINVAL);
	CHECK_EQ(ublkit_plan_new(NULL, (struct ublkit_policy *)1, s.nvme, NULL, 0, &plan), -EINVAL);
	CHECK_EQ(ublkit_policy_down(NULL, NULL, 0, NULL, NULL), -EINVAL);
	sys_free(&s);
}

/* ---- the kernel command line ---------------------------------------------------------- */

static void test_cmdline(void)
{
	struct sys s;
	struct ublkit_policy *p;
	struct ublkit_plan *plan = NULL;

	sys_new(&s);
	p = policy(&s, QEMU_SWAP);
	fake_write(s.root, "/proc/cmdline", "root=/dev/vda ublkit=0\n");
	CHECK_EQ(ublkit_plan_new(s.ctx, p, s.nvme, NULL, 0, &plan), -ECANCELED);
	CHECK(plan == NULL);
	/* status still shows what would be done */
	CHECK_EQ(ublkit_plan_new(s.ctx, p, s.nvme, NULL, UBLKIT_PLAN_IGNORE_CMDLINE, &plan), 0);
	CHECK_EQ(ublkit_plan_execute(plan, 0, NULL, NULL), -EINVAL);
	plan = ublkit_plan_unref(plan);

	/* rd.ublkit=0 counts in the initramfs only */
	fake_write(s.root, "/proc/cmdline", "root=/dev/vda rd.ublkit=0\n");
	CHECK_EQ(ublkit_plan_new(s.ctx, p, s.nvme, NULL, 0, &plan), 0);
	plan = ublkit_plan_unref(plan);
	fake_write(s.root, "/etc/initrd-release", "NAME=initramfs\n");
	CHECK_EQ(ublkit_plan_new(s.ctx, p, s.nvme, NULL, 0, &plan), -ECANCELED);

	/* no such namespace; a policy with problems is never applied */
	fake_write(s.root, "/proc/cmdline", "root=/dev/vda\n");
	CHECK_EQ(ublkit_plan_new(s.ctx, p, s.nvme, "nvme9n9", 0, &plan), -ENODEV);
	ublkit_policy_unref(p);
	p = NULL;
	CHECK_EQ(ublkit_policy_load_buffer(s.ctx, "x.conf", "[Rule]\nCreate=bogus\n", 20, 0, &p), 0);
	CHECK(ublkit_policy_get_problem_count(p) > 0);
	CHECK_EQ(ublkit_plan_new(s.ctx, p, s.nvme, NULL, 0, &plan), -EINVAL);
	ublkit_policy_unref(p);
	sys_free(&s);
}

/* ---- run state ------------------------------------------------------------------------ */

static void test_run_state(void)
{
	struct run_state a = { .create = UBLKIT_POLICY_DM_CRYPT_SWAP, .n_members = 2, .n_made = 2,
			       .seq = 3 };
	struct run_state b, *all = NULL;
	char text[4096], copy[4096], p[4200];
	struct sys s;
	int n;

	strcpy(a.name, "cs-2");
	strcpy(a.rule, "cs");
	strcpy(a.member[0].identity, ID_NS1);
	strcpy(a.member[0].dev, "/dev/nvme0n2");
	strcpy(a.member[1].identity, "nguid.0123");
	strcpy(a.member[1].dev, "/dev/nvme1n1");
	a.made[0].kind = MADE_DM;
	strcpy(a.made[0].what, "cs-2");
	a.made[1].kind = MADE_SWAP;
	strcpy(a.made[1].what, "/dev/mapper/cs-2");
	n = run_state_format(&a, text, sizeof(text));
	CHECK(n > 0);
	CHECK_STREQ(text, "name=cs-2\nrule=cs\ncreate=dm-crypt-swap\nseq=3\n"
			  "member=" ID_NS1 " /dev/nvme0n2\nmember=nguid.0123 /dev/nvme1n1\n"
			  "made=dm cs-2\nmade=swap /dev/mapper/cs-2\n");
	strcpy(copy, text);
	CHECK_EQ(run_state_parse(copy, &b), 0);
	CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	CHECK_EQ(run_state_format(&a, text, 20), -ENOBUFS);

	/* malformed files */
	strcpy(copy, "name=x\nrule=x\n");
	CHECK_EQ(run_state_parse(copy, &b), -EINVAL);	/* no create= */
	strcpy(copy, "name=x\nrule=x\ncreate=ublk\nmade=disk 3\n");
	CHECK_EQ(run_state_parse(copy, &b), -EINVAL);
	strcpy(copy, "name=x/y\nrule=x\ncreate=ublk\n");
	CHECK_EQ(run_state_parse(copy, &b), -EINVAL);
	strcpy(copy, "name=x\nrule=x\ncreate=ublk\nmember=only-one-word\n");
	CHECK_EQ(run_state_parse(copy, &b), -EINVAL);
	strcpy(copy, "name=x\nrule=x\ncreate=ublk\nfuture=1\n");
	CHECK_EQ(run_state_parse(copy, &b), 0);	/* keys of later versions are skipped */
	strcpy(a.made[1].what, "has space");
	CHECK_EQ(run_state_format(&a, text, sizeof(text)), -EINVAL);
	strcpy(a.made[1].what, "/dev/mapper/cs-2");

	/* through the sysroot */
	sys_new(&s);
	CHECK_EQ(run_state_load_all(s.ctx, &all), 0);	/* no directory yet */
	free(all);
	CHECK_EQ(run_state_write(s.ctx, &a), 0);
	strcpy(b.name, "aa");
	strcpy(b.rule, "aa");
	b.create = UBLKIT_POLICY_UBLK;
	b.n_members = 0;
	b.n_made = 0;
	CHECK_EQ(run_state_write(s.ctx, &b), 0);
	snprintf(p, sizeof(p), "%s/run/ublkit/policy/cs-2.tmp", s.root);
	CHECK(access(p, F_OK) != 0);	/* renamed into place */
	fake_write(s.root, "/run/ublkit/policy/junk", "not a run state\n");
	memset(&b, 0, sizeof(b));
	CHECK_EQ(run_state_read(s.ctx, "cs-2", &b), 0);
	CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	CHECK_EQ(run_state_read(s.ctx, "../etc", &b), -ENOENT);
	CHECK_EQ(run_state_read(s.ctx, "zz", &b), -ENOENT);
	n = run_state_load_all(s.ctx, &all);
	CHECK_EQ(n, 2);	/* junk skipped, sorted by name */
	if (n == 2) {
		CHECK_STREQ(all[0].name, "aa");
		CHECK_STREQ(all[1].name, "cs-2");
	}
	free(all);
	/* down of an instance that made nothing: its record goes */
	CHECK_EQ(ublkit_policy_down(s.ctx, "aa", 0, NULL, NULL), 0);
	CHECK_EQ(run_state_read(s.ctx, "aa", &b), -ENOENT);
	CHECK_EQ(run_state_remove(s.ctx, "cs-2"), 0);
	CHECK_EQ(run_state_remove(s.ctx, "cs-2"), 0);
	CHECK_EQ(run_state_read(s.ctx, "cs-2", &b), -ENOENT);
	sys_free(&s);
}

/* ---- a thin pool's metadata, which blkid does not see --------------------------------- */

/* A dm-thin superblock at the start of @dev: blocks of @block sectors, metadata of @meta. */
static void thin_super(struct sys *s, const char *dev, uint32_t block, uint64_t meta_sectors)
{
	unsigned char b[4096] = { 0 };
	uint64_t magic = htole64(27022010), nr = htole64(meta_sectors / 8);
	uint32_t bs = htole32(block), mbs = htole32(8);
	char p[4200];
	int fd;

	memcpy(b + 32, &magic, sizeof(magic));
	memcpy(b + 336, &bs, sizeof(bs));
	memcpy(b + 340, &mbs, sizeof(mbs));
	memcpy(b + 344, &nr, sizeof(nr));
	snprintf(p, sizeof(p), "%s%s", s->root, dev);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	CHECK(fd >= 0 && pwrite(fd, b, sizeof(b), 0) == (ssize_t)sizeof(b));
	if (fd >= 0)
		close(fd);
}

static void test_thin_pool_kept(void)
{
	static const char pool[] = "[Rule tp]\nMatchNSID=2\nMatchModel=QEMU*\n"
				   "Create=dm-thin-pool\n";
	static const char lin[] = "[Global]\nAllowTakingData=yes\n"
				  "[Rule lin]\nMatchNSID=2\nMatchModel=QEMU*\nCreate=dm-linear\n";
	struct dm_thin_super sb;
	struct ublkit_plan *plan;
	struct ublkit_plan_step_info a;
	struct sys s;
	char text[512];

	sys_new(&s);
	CHECK_EQ(dm_thin_super_read(s.ctx, "/dev/nvme0n1", 0, &sb), 0);
	/* 16 MiB: the default metadata is 2 MiB */
	thin_super(&s, "/dev/nvme0n1", 128, 4096);
	CHECK_EQ(dm_thin_super_read(s.ctx, "/dev/nvme0n1", 0, &sb), 1);
	CHECK_EQ(sb.data_block_sectors, 128);
	CHECK_EQ(sb.metadata_sectors, 4096);

	/* the same rule: the pool is opened as it is */
	plan = plan_of(&s, pool, NULL, 0);
	a = step_of(plan, "nvme0n1", NULL);
	CHECK_EQ(a.action, UBLKIT_PLAN_CREATE);
	CHECK(strstr(a.text, "nvme0n1 holds this pool already: opened as it is, its thin volumes "
			     "kept") != NULL);
	ublkit_plan_unref(plan);

	/* another block size or metadata size: refused, whatever the flags */
	plan = plan_of(&s, "[Global]\nAllowTakingData=yes\n[Rule tp]\nMatchNSID=2\n"
			   "MatchModel=QEMU*\nCreate=dm-thin-pool\nBlockSize=128K\n",
		       NULL, UBLKIT_PLAN_FORCE);
	a = step_of(plan, "nvme0n1", NULL);
	CHECK_EQ(a.action, UBLKIT_PLAN_REFUSE);
	snprintf(text, sizeof(text), "%s", a.text);
	CHECK(strstr(text, "blocks of 64 KiB, not the BlockSize= of rule tp (128 KiB)") != NULL);
	CHECK(strstr(text, "neither opened nor formatted over") != NULL);
	ublkit_plan_unref(plan);
	plan = plan_of(&s, "[Rule tp]\nMatchNSID=2\nMatchModel=QEMU*\nCreate=dm-thin-pool\n"
			   "MetadataSize=4M\n",
		       NULL, 0);
	a = step_of(plan, "nvme0n1", NULL);
	CHECK_EQ(a.action, UBLKIT_PLAN_REFUSE);
	CHECK(strstr(a.text, "2 MiB of metadata, not the MetadataSize= of rule tp (4 MiB)"));
	ublkit_plan_unref(plan);

	/* for any other rule the pool is data */
	plan = plan_of(&s, "[Rule lin]\nMatchNSID=2\nMatchModel=QEMU*\nCreate=dm-linear\n", NULL,
		       UBLKIT_PLAN_FORCE);
	a = step_of(plan, "nvme0n1", NULL);
	CHECK_EQ(a.action, UBLKIT_PLAN_REFUSE);
	CHECK(strstr(a.text, "holds data (a thin pool's metadata); it is never taken unless "
			     "[Global] AllowTakingData=yes (not set)") != NULL);
	ublkit_plan_unref(plan);
	plan = plan_of(&s, lin, NULL, 0);
	CHECK_EQ(step_of(plan, "nvme0n1", NULL).action, UBLKIT_PLAN_REFUSE);
	ublkit_plan_unref(plan);
	plan = plan_of(&s, lin, NULL, UBLKIT_PLAN_FORCE);
	a = step_of(plan, "nvme0n1", NULL);
	CHECK_EQ(a.action, UBLKIT_PLAN_CREATE);
	CHECK(strstr(a.text, "taking nvme0n1, which holds a thin pool's metadata") != NULL);
	ublkit_plan_unref(plan);
	sys_free(&s);
}

/* ---- health ------------------------------------------------------------------------------ */

static void test_health_reason(void)
{
	struct ublkit_plan *plan;
	struct ublkit_plan_step_info a;
	struct sys s;

	sys_new(&s);
	fake_nvme_fail_health(-EIO);
	plan = plan_of(&s, "[Rule worn]\nMatchModel=QEMU*\nMaxPercentUsed=80\nCreate=ublk\n", NULL,
		       0);
	fake_nvme_fail_health(0);
	a = step_of(plan, "nvme0n2", NULL);
	CHECK_EQ(a.action, UBLKIT_PLAN_NOTHING);
	CHECK(strstr(a.text, "nvme0n2: no rule claims it: rule worn would, but not with this "
			     "health: MaxPercentUsed: ") == a.text);
	CHECK(strstr(a.text, "left alone") != NULL);
	/* a rule that does not match for other reasons is not named */
	a = step_of(plan, "nvme2n1", NULL);
	CHECK_STREQ(a.text, "nvme2n1: no rule claims it, left alone");
	ublkit_plan_unref(plan);
	sys_free(&s);
}

/* ---- the lock, and whose record an undo removes ------------------------------------------- */

static void test_lock(void)
{
	struct ublkit_plan *plan, *other = NULL;
	struct ublkit_ctx *ctx2;
	struct ublkit_policy *p;
	unsigned int saved = apply_lock_timeout_ms;
	char text[64] = "", path[4200];
	struct sys s;
	int fd;

	sys_new(&s);
	ctx2 = test_ctx();
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx2, s.root), 0);
	apply_lock_timeout_ms = 150;
	p = policy(&s, QEMU_SWAP);
	/* a plan to carry out holds the lock until it goes */
	plan = plan_of(&s, QEMU_SWAP, NULL, 0);
	snprintf(path, sizeof(path), "%s" POLICY_LOCK, s.root);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(read(fd, text, sizeof(text) - 1) > 0);
		CHECK_EQ(atoi(text), (int)getpid());
		close(fd);
	}
	CHECK_EQ(ublkit_plan_new(ctx2, p, s.nvme, NULL, 0, &other), -ETIMEDOUT);
	CHECK(other == NULL);
	CHECK_EQ(ublkit_policy_down(ctx2, NULL, 0, NULL, NULL), -ETIMEDOUT);
	CHECK_EQ(policy_lock(ctx2), -ETIMEDOUT);
	/* a plan only to look at (status) neither takes nor waits for it */
	CHECK_EQ(ublkit_plan_new(ctx2, p, s.nvme, NULL, UBLKIT_PLAN_IGNORE_CMDLINE, &other), 0);
	other = ublkit_plan_unref(other);
	ublkit_plan_unref(plan);
	CHECK_EQ(ublkit_plan_new(ctx2, p, s.nvme, NULL, 0, &other), 0);
	ublkit_plan_unref(other);
	CHECK_EQ(ublkit_policy_down(ctx2, NULL, 0, NULL, NULL), 0);
	fd = policy_lock(ctx2);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	apply_lock_timeout_ms = saved;
	ublkit_policy_unref(p);
	ublkit_ctx_unref(ctx2);
	sys_free(&s);
}

struct results {
	int calls, failed;
	char text[512];
};

static void on_result(const struct ublkit_plan_step_info *step, int err, const char *text,
		      void *userdata)
{
	struct results *r = userdata;

	(void)step;
	r->calls++;
	r->failed += err < 0;
	snprintf(r->text, sizeof(r->text), "%s", text);
}

static void test_failed_step_keeps_others_record(void)
{
	struct results res = { 0 };
	struct ublkit_plan *plan;
	struct run_state st;
	struct sys s;

	sys_new(&s);
	plan = plan_of(&s, "[Rule lin]\nMatchNSID=2\nMatchModel=QEMU*\nCreate=dm-linear\n", NULL, 0);
	CHECK_EQ(step_of(plan, "nvme0n1", NULL).action, UBLKIT_PLAN_CREATE);
	/* a record of that name appears that this step did not write */
	record_state(&s, "lin", "lin", UBLKIT_POLICY_DM_LINEAR, ID_NS2, "/dev/nvme0n1");
	/* no device-mapper in a fake root: the step fails before it makes anything */
	CHECK_EQ(ublkit_plan_execute(plan, 0, on_result, &res), -EREMOTEIO);
	CHECK_EQ(res.calls, 1);
	CHECK_EQ(res.failed, 1);
	CHECK(strstr(res.text, "; nothing was left") != NULL);
	CHECK_EQ(run_state_read(s.ctx, "lin", &st), 0);
	ublkit_plan_unref(plan);
	sys_free(&s);
}

/* ---- down: the last made first ---------------------------------------------------------- */

static void on_down_order(const struct ublkit_plan_step_info *step, int err, const char *text,
			  void *userdata)
{
	char *order = userdata;

	(void)text;
	CHECK_EQ(err, 0);
	strcat(order, step->instance);
	strcat(order, " ");
}

static void test_down_order(void)
{
	static const char *const names[] = { "b", "a", "c-2", "c" };
	char order[64] = "", p[4200];
	struct run_state st;
	struct sys s;

	sys_new(&s);
	/* made in this order: b, a, c-2, c; and an older record without an order */
	for (unsigned int i = 0; i < ARRAY_SIZE(names); i++) {
		memset(&st, 0, sizeof(st));
		snprintf(st.name, sizeof(st.name), "%s", names[i]);
		snprintf(st.rule, sizeof(st.rule), "%c", names[i][0]);
		st.create = UBLKIT_POLICY_UBLK;
		st.seq = i + 1;
		CHECK_EQ(run_state_write(s.ctx, &st), 0);
	}
	memset(&st, 0, sizeof(st));
	strcpy(st.name, "old");
	strcpy(st.rule, "old");
	st.create = UBLKIT_POLICY_UBLK;
	CHECK_EQ(run_state_write(s.ctx, &st), 0);
	CHECK_EQ(ublkit_policy_down(s.ctx, NULL, 0, on_down_order, order), 0);
	CHECK_STREQ(order, "c c-2 a b old ");
	/* nothing left: no run state directory either */
	snprintf(p, sizeof(p), "%s" RUN_STATE_DIR, s.root);
	CHECK(access(p, F_OK) < 0 && errno == ENOENT);
	sys_free(&s);
}

static void test_names(void)
{
	CHECK_STREQ(ublkit_plan_action_name(UBLKIT_PLAN_NOTHING), "nothing");
	CHECK_STREQ(ublkit_plan_action_name(UBLKIT_PLAN_CREATE), "create");
	CHECK_STREQ(ublkit_plan_action_name(UBLKIT_PLAN_PRESENT), "present");
	CHECK_STREQ(ublkit_plan_action_name(UBLKIT_PLAN_WAIT), "wait");
	CHECK_STREQ(ublkit_plan_action_name(UBLKIT_PLAN_REFUSE), "refuse");
	CHECK_STREQ(ublkit_plan_action_name(UBLKIT_PLAN_CONFLICT), "conflict");
	CHECK(ublkit_plan_action_name(6) == NULL);
	CHECK(ublkit_plan_unref(NULL) == NULL);
	CHECK(ublkit_policy_status_unref(NULL) == NULL);
	CHECK_EQ(ublkit_plan_get_step_count(NULL), 0);
}

int main(void)
{
	RUN(test_names);
	RUN(test_run_state);
	RUN(test_naming);
	RUN(test_striped_wait);
	RUN(test_refuse_data);
	RUN(test_conflict);
	RUN(test_present);
	RUN(test_interrupted_and_status);
	RUN(test_cmdline);
	RUN(test_thin_pool_kept);
	RUN(test_health_reason);
	RUN(test_lock);
	RUN(test_failed_step_keeps_others_record);
	RUN(test_down_order);
	return test_result();
}
