/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Orphan classification and cleanup decisions, against a fake ublk driver
 * behind the control transport and a fake /proc, /run and /sys.
 */
#include "config.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake-ublk-ctrl.h"
#include "test.h"
#include "ublkit/swap.h"

static char *root;

/* Recovery would start a server process: here it only takes the device over. */
int ublkit_server_spawn_sz(struct ublkit_ctx *ctx, const struct ublkit_dev_params *params,
			   size_t params_size, const char *target, const char *target_arg,
			   int recover_id, unsigned int flags, struct ublkit_spawn_result *res,
			   size_t res_size)
{
	struct fake_dev *d = fake_find((uint32_t)recover_id);

	fake.spawns++;
	if (!d)
		return -ENODEV;
	CHECK_EQ(params->dev_id, recover_id);
	d->info.state = UBLKIT_DEV_LIVE;
	d->info.server_pid = 1; /* alive in every fake root */
	return 0;
}

/* A process in the fake /proc: STATE is R, S, T (stopped) or Z. */
static void fake_proc(int pid, char state, unsigned long long start)
{
	char p[64], stat[256];

	snprintf(p, sizeof(p), "/proc/%d/stat", pid);
	snprintf(stat, sizeof(stat),
		 "%d (ublkit) %c 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 3 0 %llu 0 0\n", pid, state,
		 start);
	fake_write(root, p, stat);
}

static void fake_manifest(uint32_t id, const char *target, int pid, unsigned long long start)
{
	char p[128], m[512];

	snprintf(p, sizeof(p), "/run/ublkit/devices/%u/manifest", id);
	snprintf(m, sizeof(m),
		 "id=%u\ntarget=%s\ntarget_arg=/dev/nvme0n1\nsize=1048576\nnr_queues=1\n"
		 "queue_depth=64\nflags=1\nserver_pid=%d\nserver_start=%llu\n",
		 id, target, pid, start);
	fake_write(root, p, m);
}

static struct ublkit_ctx *setup(void)
{
	struct ublkit_ctx *ctx = test_ctx();

	fake_root_free(root);
	root = fake_root_linux();
	fake_reset(root);
	fake_proc(1, 'S', 1);
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	fake_install(ctx);
	return ctx;
}

/* The device view of @id, kept in *o (the previous one is dropped). */
static int classify(struct ublkit_ctx *ctx, uint32_t id, struct ublkit_device **o)
{
	int r;

	*o = ublkit_device_unref(*o);
	r = ublkit_device_new(ctx, id, o);
	CHECK_EQ(r, 0);
	return r < 0 ? r : ublkit_device_get_orphan_reason(*o);
}

static void test_live_and_dead_servers(void)
{
	struct ublkit_ctx *ctx = setup();
	struct ublkit_device *o = NULL;

	fake_proc(100, 'S', 5000);
	fake_proc(101, 'T', 5000); /* SIGSTOPped */
	fake_proc(102, 'Z', 5000); /* zombie: gone */
	fake_add(0, UBLKIT_DEV_LIVE, 100, 0, true);
	fake_add(1, UBLKIT_DEV_LIVE, 101, 0, true);
	fake_add(2, UBLKIT_DEV_LIVE, 102, 0, true);
	fake_add(3, UBLKIT_DEV_LIVE, 4242, 0, false);
	fake_add(4, UBLKIT_DEV_DEAD, 4243, 0, true);
	CHECK_EQ(classify(ctx, 0, &o), UBLKIT_ORPHAN_NOT);
	CHECK_EQ(classify(ctx, 1, &o), UBLKIT_ORPHAN_NOT);
	CHECK_EQ(classify(ctx, 2, &o), UBLKIT_ORPHAN_SERVER_GONE);
	CHECK_EQ(classify(ctx, 3, &o), UBLKIT_ORPHAN_SERVER_GONE);
	CHECK(!ublkit_device_is_ublkit(o));
	CHECK_EQ(classify(ctx, 4, &o), UBLKIT_ORPHAN_DEAD);
	o = ublkit_device_unref(o);
	CHECK_EQ(ublkit_device_new(ctx, 9, &o), -ENODEV);
	ublkit_device_unref(o);
	ublkit_ctx_unref(ctx);
}

static void test_setting_up(void)
{
	struct ublkit_ctx *ctx = setup();
	struct ublkit_device *o = NULL;

	/* Between ADD_DEV and START_DEV the kernel reports pid -1. */
	fake_proc(200, 'S', 7000);
	fake_add(5, UBLKIT_DEV_DEAD, -1, 0, true);
	fake_manifest(5, "null", 200, 7000);
	CHECK_EQ(classify(ctx, 5, &o), UBLKIT_ORPHAN_NOT);
	CHECK_EQ(ublkit_device_get_server_pid(o), 200);
	/* ... and when that server died before START_DEV, it is an orphan */
	fake_add(6, UBLKIT_DEV_DEAD, -1, 0, true);
	fake_manifest(6, "null", 201, 7000);
	CHECK_EQ(classify(ctx, 6, &o), UBLKIT_ORPHAN_DEAD);
	/* a foreign device with no server recorded and no holder of its node */
	fake_add(7, UBLKIT_DEV_DEAD, -1, 0, false);
	CHECK_EQ(classify(ctx, 7, &o), UBLKIT_ORPHAN_DEAD);
	ublkit_device_unref(o);
	ublkit_ctx_unref(ctx);
}

static void fake_fd(int pid, int fd, const char *target)
{
	char dir[64], p[4096];

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	fake_mkdir(root, dir);
	snprintf(p, sizeof(p), "%s%s/%d", root, dir, fd);
	CHECK_EQ(symlink(target, p), 0);
}

/* Neither the kernel nor a manifest names the server: whoever holds /dev/ublkcN. */
static void test_cdev_holder(void)
{
	struct ublkit_ctx *ctx = setup();
	struct ublkit_device *o = NULL;

	fake_proc(150, 'S', 10);
	fake_fd(150, 0, "/dev/null");
	fake_fd(150, 3, "/dev/ublkc8");
	fake_proc(950, 'S', 10);
	fake_fd(950, 4, "/dev/ublkc80");
	fake_fd(950, 5, "/dev/ublkb9");
	fake_fd(950, 6, "/dev/ublkc10");
	fake_mkdir(root, "/proc/self/fd");
	fake_add(8, UBLKIT_DEV_DEAD, -1, 0, false);
	fake_add(9, UBLKIT_DEV_DEAD, 0, 0, false);
	fake_add(10, UBLKIT_DEV_DEAD, 0, 0, false);
	CHECK_EQ(classify(ctx, 8, &o), UBLKIT_ORPHAN_NOT);
	CHECK_EQ(ublkit_device_get_server_pid(o), 150);
	CHECK_EQ(classify(ctx, 9, &o), UBLKIT_ORPHAN_DEAD);
	CHECK_EQ(ublkit_device_get_server_pid(o), 0);
	CHECK_EQ(classify(ctx, 10, &o), UBLKIT_ORPHAN_NOT);
	CHECK_EQ(ublkit_device_get_server_pid(o), 950);
	/* a holder that died is no server */
	fake_proc(150, 'Z', 10);
	CHECK_EQ(classify(ctx, 8, &o), UBLKIT_ORPHAN_DEAD);
	ublkit_device_unref(o);
	ublkit_ctx_unref(ctx);
}

static void test_pid_reuse(void)
{
	struct ublkit_ctx *ctx = setup();
	struct ublkit_device *o = NULL;

	/* pid 300 exists, but started later than the server ublkit recorded */
	fake_proc(300, 'S', 9999);
	fake_add(8, UBLKIT_DEV_LIVE, 300, 0, true);
	fake_manifest(8, "file", 300, 1234);
	CHECK_EQ(classify(ctx, 8, &o), UBLKIT_ORPHAN_SERVER_GONE);
	ublkit_device_unref(o);
	ublkit_ctx_unref(ctx);
}

static void test_recoverable_and_in_use(void)
{
	struct ublkit_ctx *ctx = setup();
	struct ublkit_device *o = NULL;

	fake_add(10, UBLKIT_DEV_QUIESCED, 400, UBLKIT_F_USER_RECOVERY, true);
	fake_manifest(10, "file", 400, 1);
	fake_add(11, UBLKIT_DEV_QUIESCED, 401, UBLKIT_F_USER_RECOVERY, true);
	fake_manifest(11, "mem", 401, 1);
	fake_add(12, UBLKIT_DEV_QUIESCED, 402, UBLKIT_F_USER_RECOVERY, true);
	fake_add(13, UBLKIT_DEV_QUIESCED, 403, 0, true);
	fake_manifest(13, "file", 403, 1);
	fake_write(root, "/proc/swaps",
		   "Filename Type Size Used Priority\n/dev/ublkb13 partition 1024 0 -2\n");
	/* device-mapper on top of one, an empty holders directory on another */
	fake_add(14, UBLKIT_DEV_QUIESCED, 404, 0, true);
	fake_mkdir(root, "/sys/block/ublkb14/holders/dm-0");
	fake_mkdir(root, "/sys/block/ublkb10/holders");
	CHECK_EQ(classify(ctx, 10, &o), UBLKIT_ORPHAN_SERVER_GONE);
	CHECK(ublkit_device_is_recoverable(o) && !ublkit_device_is_in_use(o));
	CHECK_EQ(classify(ctx, 11, &o), UBLKIT_ORPHAN_SERVER_GONE);
	CHECK(!ublkit_device_is_recoverable(o)); /* mem's data died with its server */
	CHECK_EQ(classify(ctx, 12, &o), UBLKIT_ORPHAN_SERVER_GONE);
	CHECK(!ublkit_device_is_recoverable(o)); /* no manifest: nothing to restart from */
	CHECK_EQ(classify(ctx, 13, &o), UBLKIT_ORPHAN_SERVER_GONE);
	CHECK(!ublkit_device_is_recoverable(o) && ublkit_device_is_in_use(o));
	CHECK_EQ(classify(ctx, 14, &o), UBLKIT_ORPHAN_SERVER_GONE);
	CHECK(ublkit_device_is_in_use(o));
	ublkit_device_unref(o);
	ublkit_ctx_unref(ctx);
}

/* Recovery from a view taken while the server ran: only the kernel's state
 * is asked again, the manifest comes from the view. */
static void test_recover_from_view(void)
{
	struct ublkit_ctx *ctx = setup();
	struct ublkit_spawn_result res;
	struct ublkit_device *d[5] = { NULL };

	fake_add(20, UBLKIT_DEV_QUIESCED, 900, UBLKIT_F_USER_RECOVERY, true);
	fake_manifest(20, "file", 900, 1);
	fake_add(21, UBLKIT_DEV_QUIESCED, 901, UBLKIT_F_USER_RECOVERY, true);
	fake_manifest(21, "mem", 901, 1);
	fake_add(22, UBLKIT_DEV_QUIESCED, 902, 0, true);
	fake_manifest(22, "file", 902, 1);
	fake_add(23, UBLKIT_DEV_QUIESCED, 903, UBLKIT_F_USER_RECOVERY, true);
	fake_add(24, UBLKIT_DEV_QUIESCED, 904, UBLKIT_F_USER_RECOVERY, true);
	fake_manifest(24, "file", 904, 1);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(ublkit_device_new(ctx, 20 + (uint32_t)i, &d[i]), 0);
	/* the manifests go away: the views still know them */
	for (int i = 0; i < 5; i++) {
		char p[4096];

		if (i == 3)
			continue; /* it never had one */
		snprintf(p, sizeof(p), "%s/run/ublkit/devices/%d/manifest", root, 20 + i);
		CHECK_EQ(unlink(p), 0);
	}
	CHECK_EQ(ublkit_device_recover(ctx, d[1], 0, &res), -EOPNOTSUPP); /* mem */
	CHECK_EQ(ublkit_device_recover(ctx, d[2], 0, &res), -EOPNOTSUPP); /* no recovery */
	CHECK_EQ(ublkit_device_recover(ctx, d[3], 0, &res), -ENOENT);     /* no manifest */
	fake_find(24)->info.state = UBLKIT_DEV_LIVE;                        /* not quiesced now */
	CHECK_EQ(ublkit_device_recover(ctx, d[4], 0, &res), -EBUSY);
	CHECK_EQ(fake.spawns, 0);
	CHECK_EQ(ublkit_device_recover(ctx, d[0], 0, &res), 0);
	CHECK_EQ(fake.spawns, 1);
	CHECK_EQ(fake_find(20)->info.state, UBLKIT_DEV_LIVE);
	for (int i = 0; i < 5; i++)
		ublkit_device_unref(d[i]);
	ublkit_ctx_unref(ctx);
}

/* swap off only for ublkit's swap devices; nothing else is touched */
static void test_swap_off_refusals(void)
{
	struct ublkit_ctx *ctx = setup();

	fake_proc(950, 'S', 1);
	fake_add(30, UBLKIT_DEV_LIVE, 950, 0, true);
	fake_manifest(30, "file", 950, 1);
	CHECK_EQ(ublkit_swap_ublk_off(ctx, 30, 0, NULL), -EINVAL);
	CHECK_EQ(ublkit_swap_ublk_off(ctx, 31, 0, NULL), -ENODEV);
	CHECK_EQ(fake_count(UBLK_CMD_STOP_DEV) + fake_count(UBLK_CMD_DEL_DEV), 0);
	CHECK(fake_find(30) != NULL);
	ublkit_ctx_unref(ctx);
}

struct tally {
	int deleted, recovered, skipped, failed;
};

static void count(struct ublkit_device *o, int action, int error, void *data)
{
	struct tally *t = data;

	t->deleted += action == UBLKIT_CLEANUP_DELETED;
	t->recovered += action == UBLKIT_CLEANUP_RECOVERED;
	t->skipped += action == UBLKIT_CLEANUP_SKIPPED;
	t->failed += action == UBLKIT_CLEANUP_FAILED;
}

static void test_cleanup(void)
{
	struct ublkit_ctx *ctx = setup();
	struct tally t = { 0 };
	int fds = test_open_fds();

	fake_proc(500, 'S', 1);
	fake_add(0, UBLKIT_DEV_LIVE, 500, 0, true);                        /* live: untouched */
	fake_add(1, UBLKIT_DEV_DEAD, 501, 0, true);                        /* delete */
	fake_add(2, UBLKIT_DEV_QUIESCED, 502, UBLKIT_F_USER_RECOVERY, true); /* recover */
	fake_manifest(2, "file", 502, 1);
	fake_add(3, UBLKIT_DEV_LIVE, 503, 0, false);                       /* mounted: skip */
	fake_write(root, "/proc/mounts", "/dev/ublkb3 /mnt ext4 rw 0 0\n");

	CHECK_EQ(ublkit_orphans_cleanup(ctx, UBLKIT_CLEANUP_DRY_RUN, count, &t), 3);
	CHECK_EQ(t.deleted, 1);
	CHECK_EQ(t.recovered, 1);
	CHECK_EQ(t.skipped, 1);
	/* a dry run sends nothing */
	CHECK_EQ(fake_count(UBLK_CMD_STOP_DEV) + fake_count(UBLK_CMD_DEL_DEV) + fake.spawns, 0);

	memset(&t, 0, sizeof(t));
	CHECK_EQ(ublkit_orphans_cleanup(ctx, 0, count, &t), 3);
	CHECK_EQ(t.deleted, 1);
	CHECK_EQ(t.recovered, 1);
	CHECK_EQ(t.skipped, 1);
	CHECK_EQ(fake_count(UBLK_CMD_DEL_DEV), 1);
	CHECK_EQ(fake.spawns, 1);

	/* Idempotent: what is left is the live device and the skipped one. */
	memset(&t, 0, sizeof(t));
	CHECK_EQ(ublkit_orphans_cleanup(ctx, 0, count, &t), 1);
	CHECK_EQ(t.skipped, 1);
	CHECK_EQ(fake_count(UBLK_CMD_DEL_DEV), 1);

	/* --force deletes the mounted one too */
	memset(&t, 0, sizeof(t));
	CHECK_EQ(ublkit_orphans_cleanup(ctx, UBLKIT_CLEANUP_FORCE, count, &t), 1);
	CHECK_EQ(t.deleted, 1);
	CHECK_EQ(ublkit_orphans_cleanup(ctx, 0, count, &t), 0);
	CHECK_EQ(test_open_fds(), fds);
	ublkit_ctx_unref(ctx);
}

static bool dev_dir_exists(uint32_t id)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/run/ublkit/devices/%u", root, id);
	return access(p, F_OK) == 0;
}

static char *gone_path;

/* A server told to stop: its device goes away, then it does. */
static void server_exit(int sig)
{
	_exit(rmdir(gone_path) == 0 ? 0 : 2);
}

/*
 * Removal signals a live server: the fake servers here have pids above
 * any the kernel hands out (PID_MAX_LIMIT is 4194304), so a bug can
 * never signal a real process.
 */
static void test_remove(void)
{
	struct ublkit_ctx *ctx = setup();
	int status, fds = test_open_fds();
	sigset_t term, old;
	pid_t child;

	/* a dead server's device: STOP_DEV, DEL_DEV, its record gone */
	fake_add(1, UBLKIT_DEV_LIVE, 5000000, 0, true);
	fake_manifest(1, "file", 5000000, 1);
	test_log_reset();
	CHECK_EQ(ublkit_ublk_remove(ctx, 1, 100), 0);
	CHECK_EQ(test_logged[UBLKIT_LOG_WARNING], 0); /* no server was asked to stop */
	CHECK_EQ(fake_count(UBLK_CMD_STOP_DEV), 1);
	CHECK_EQ(fake_count(UBLK_CMD_DEL_DEV), 1);
	CHECK(fake_last(UBLK_CMD_STOP_DEV)->cmd.dev_id == 1);
	CHECK(fake_find(1) == NULL);
	CHECK(!dev_dir_exists(1));
	CHECK_EQ(ublkit_ublk_remove(ctx, 1, 100), -ENODEV);
	/* already stopped is fine; a refused delete is not */
	fake_add(2, UBLKIT_DEV_DEAD, 0, 0, false);
	fake.fail_nr = UBLK_CMD_STOP_DEV;
	fake.fail_result = -ENODEV;
	CHECK_EQ(ublkit_ublk_remove(ctx, 2, 100), 0);
	CHECK(fake_find(2) == NULL);
	fake_add(3, UBLKIT_DEV_DEAD, 0, 0, true);
	fake_manifest(3, "null", 5000001, 1);
	fake.fail_nr = UBLK_CMD_DEL_DEV;
	fake.fail_result = -EBUSY;
	CHECK_EQ(ublkit_ublk_remove(ctx, 3, 100), -EBUSY);
	CHECK(fake_find(3) != NULL);
	CHECK(dev_dir_exists(3));
	fake.fail_nr = 0;

	/* our own live server is asked to stop, then deleted when it does not */
	child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	fake_proc(child, 'S', 55);
	fake_add(4, UBLKIT_DEV_LIVE, child, 0, true);
	fake_manifest(4, "file", child, 55);
	fake.nr_cmds = 0;
	test_log_reset();
	CHECK_EQ(ublkit_ublk_remove(ctx, 4, 60), 0);
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	CHECK_EQ(fake_count(UBLK_CMD_DEL_DEV), 1);
	CHECK_EQ(test_logged[UBLKIT_LOG_WARNING], 1);
	/* ... and left alone when it deletes its device itself */
	gone_path = NULL;
	if (asprintf(&gone_path, "%s/sys/class/ublk-char/ublkc6", root) < 0)
		return;
	fake_add(6, UBLKIT_DEV_LIVE, 0, 0, true);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old);
	child = fork();
	if (child == 0) {
		signal(SIGTERM, server_exit);
		sigsuspend(&old);
		_exit(1);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	fake_proc(child, 'S', 56);
	fake_find(6)->info.server_pid = child;
	fake_manifest(6, "file", child, 56);
	fake.nr_cmds = 0;
	test_log_reset();
	CHECK_EQ(ublkit_ublk_remove(ctx, 6, 5000), 0);
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_EQ(fake_count(UBLK_CMD_DEL_DEV), 0);
	CHECK_EQ(test_logged[UBLKIT_LOG_WARNING], 0);
	free(gone_path);
	/* a live server that is not ublkit's record: deleted directly */
	fake_proc(5000100, 'S', 1);
	fake_add(5, UBLKIT_DEV_LIVE, 5000100, 0, false);
	test_log_reset();
	CHECK_EQ(ublkit_ublk_remove(ctx, 5, 1000), 0);
	CHECK_EQ(test_logged[UBLKIT_LOG_WARNING], 0);
	CHECK_EQ(fake_count(UBLK_CMD_DEL_DEV), 1);
	CHECK(fake_find(5) == NULL);
	CHECK_EQ(test_open_fds(), fds);
	ublkit_ctx_unref(ctx);
}

int main(void)
{
	RUN(test_live_and_dead_servers);
	RUN(test_setting_up);
	RUN(test_cdev_holder);
	RUN(test_pid_reuse);
	RUN(test_recoverable_and_in_use);
	RUN(test_recover_from_view);
	RUN(test_swap_off_refusals);
	RUN(test_cleanup);
	RUN(test_remove);
	fake_root_free(root);
	return test_result();
}
