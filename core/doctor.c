/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Preflight checks. Everything is read through the sysroot; the ublk
 * feature query is the one check that needs the running kernel, and the
 * control plane refuses it when a sysroot is set.
 */
#include "config.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/resource.h>

#include "ublkit-private.h"
#include "check-private.h"
#include "ublkit/doctor.h"
#include "ublkit/ublk.h"

/* Capability numbers from linux/capability.h. */
#define CAP_IPC_LOCK_BIT 14
#define CAP_SYS_ADMIN_BIT 21
#define CAP_SYS_RESOURCE_BIT 24

/* A memlock limit below this cannot hold a swap server's buffers. */
#define MEMLOCK_MIN_BYTES (64ULL << 20)

struct doctor {
	struct ublkit_ctx *ctx;
	struct check_sink sink;
	int ublk_state;
	uint64_t cap_eff;
	bool cap_known;
};


#define report(d, ...) check_emit(&(d)->sink, __VA_ARGS__)

UBLKIT_EXPORT const char *ublkit_check_level_name(int level)
{
	switch (level) {
	case UBLKIT_CHECK_OK: return "ok";
	case UBLKIT_CHECK_WARN: return "warn";
	default: return "fail";
	}
}

static void check_kernel(struct doctor *d)
{
	char rel[256];

	if (ublkit_kernel_release(d->ctx, rel, sizeof(rel)) < 0)
		report(d, "kernel", UBLKIT_CHECK_WARN, "mount /proc",
		       "kernel release unknown (no /proc/sys/kernel/osrelease)");
	else
		report(d, "kernel", UBLKIT_CHECK_OK, NULL, "Linux %s", rel);
}

static void check_ublk_driver(struct doctor *d)
{
	int s = ublkit_kmod_state(d->ctx, "ublk_drv");

	d->ublk_state = s;
	switch (s) {
	case UBLKIT_KMOD_LOADED:
		report(d, "ublk-driver", UBLKIT_CHECK_OK, NULL, "ublk_drv is loaded");
		break;
	case UBLKIT_KMOD_BUILTIN:
		report(d, "ublk-driver", UBLKIT_CHECK_OK, NULL, "ublk is built into the kernel");
		break;
	case UBLKIT_KMOD_AVAILABLE:
		if (ublkit_kmod_is_blacklisted(d->ctx, "ublk_drv"))
			report(d, "ublk-driver", UBLKIT_CHECK_FAIL,
			       "remove the blacklist/install line for ublk_drv from modprobe.d",
			       "ublk_drv is available but blacklisted");
		else
			report(d, "ublk-driver", UBLKIT_CHECK_OK, NULL,
			       "ublk_drv is available as a module (not loaded yet)");
		break;
	default:
		report(d, "ublk-driver", UBLKIT_CHECK_FAIL,
		       "boot a kernel built with CONFIG_BLK_DEV_UBLK (Linux >= 6.0), "
		       "or run ublkit in its test VM",
		       "the kernel has no ublk driver (not built in, no ublk_drv module)");
	}
}

static void check_ublk_control(struct doctor *d)
{
	bool present = ublkit_exists(d->ctx, "/dev/ublk-control");

	if (present)
		report(d, "ublk-control", UBLKIT_CHECK_OK, NULL, "/dev/ublk-control is present");
	else if (d->ublk_state == UBLKIT_KMOD_AVAILABLE)
		report(d, "ublk-control", UBLKIT_CHECK_WARN, "run: ublkit modprobe ublk_drv",
		       "/dev/ublk-control appears once ublk_drv is loaded");
	else if (d->ublk_state == UBLKIT_KMOD_LOADED || d->ublk_state == UBLKIT_KMOD_BUILTIN)
		report(d, "ublk-control", UBLKIT_CHECK_FAIL,
		       "mount devtmpfs on /dev, or check that udev runs",
		       "ublk is loaded but /dev/ublk-control is missing");
	else
		report(d, "ublk-control", UBLKIT_CHECK_FAIL,
		       "needs a kernel with ublk (see ublk-driver)", "/dev/ublk-control is missing");
}

static void check_io_uring(struct doctor *d)
{
	uint64_t v;

	if (ublkit_read_u64(d->ctx, "/proc/sys/kernel/io_uring_disabled", &v) < 0)
		report(d, "io-uring", UBLKIT_CHECK_OK, NULL,
		       "io_uring is enabled (kernel has no io_uring_disabled knob)");
	else if (v == 0)
		report(d, "io-uring", UBLKIT_CHECK_OK, NULL, "io_uring is enabled");
	else if (v == 1)
		report(d, "io-uring", UBLKIT_CHECK_WARN,
		       "run ublkit as root, or add its user to kernel.io_uring_group",
		       "io_uring is limited to privileged users (kernel.io_uring_disabled=1)");
	else
		report(d, "io-uring", UBLKIT_CHECK_FAIL,
		       "run: sysctl -w kernel.io_uring_disabled=0 (and persist it in /etc/sysctl.d)",
		       "io_uring is disabled (kernel.io_uring_disabled=%" PRIu64 ")", v);
}

static void feature_list(uint64_t f, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < 64 && off < size; i++) {
		const char *n = ublkit_feature_name(1ULL << i);

		if (!(f & (1ULL << i)))
			continue;
		off += (size_t)snprintf(buf + off, size - off, "%s%s", off ? " " : "",
					n ? n : "unknown");
	}
}

static void check_ublk_features(struct doctor *d)
{
	char names[200];
	uint64_t f;
	int r;

	if (!ublkit_exists(d->ctx, "/dev/ublk-control") && !ublkit_ctx_is_sysroot(d->ctx)) {
		report(d, "ublk-features", UBLKIT_CHECK_WARN, "load ublk_drv first",
		       "not queried: no /dev/ublk-control");
		return;
	}
	/* A captured tree has no driver to ask: the control plane says -EXDEV. */
	r = ublkit_ublk_get_features(d->ctx, &f);
	if (r == -EXDEV) {
		report(d, "ublk-features", UBLKIT_CHECK_OK, NULL,
		       "not queried: a sysroot is in use");
		return;
	}
	if (r == -EOPNOTSUPP) {
		report(d, "ublk-features", UBLKIT_CHECK_WARN, "use Linux >= 6.5 for crash recovery",
		       "the kernel predates GET_FEATURES; features are probed at ADD_DEV");
		return;
	}
	if (r < 0) {
		report(d, "ublk-features", UBLKIT_CHECK_FAIL,
		       "run as root (CAP_SYS_ADMIN) and check kernel.io_uring_disabled",
		       "cannot query /dev/ublk-control: %s", strerror(-r));
		return;
	}
	feature_list(f, names, sizeof(names));
	if (!(f & UBLKIT_F_USER_RECOVERY))
		report(d, "ublk-features", UBLKIT_CHECK_WARN,
		       "use a kernel with UBLK_F_USER_RECOVERY for servers that survive a crash",
		       "0x%" PRIx64 " (%s); no user recovery", f, names);
	else
		report(d, "ublk-features", UBLKIT_CHECK_OK, NULL, "0x%" PRIx64 " (%s)", f, names);
}

static void read_caps(struct doctor *d)
{
	_cleanup_fclose_ FILE *f = NULL;
	char line[256], p[4096];

	if (ublkit_ctx_path(d->ctx, "/proc/self/status", p, sizeof(p)) < 0)
		return;
	f = fopen(p, "re");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "CapEff: %llx", &v) == 1) {
			d->cap_eff = v;
			d->cap_known = true;
		}
	}
}

static bool has_cap(const struct doctor *d, int bit)
{
	return d->cap_known && (d->cap_eff & (1ULL << bit));
}

static void check_capabilities(struct doctor *d)
{
	char missing[128] = "";

	read_caps(d);
	if (!d->cap_known) {
		report(d, "capabilities", UBLKIT_CHECK_WARN, "mount /proc",
		       "capabilities unknown (no /proc/self/status)");
		return;
	}
	if (!has_cap(d, CAP_SYS_ADMIN_BIT)) {
		report(d, "capabilities", UBLKIT_CHECK_FAIL,
		       "run as root, or grant CAP_SYS_ADMIN (AmbientCapabilities= in the unit)",
		       "CAP_SYS_ADMIN is missing: ublk devices cannot be created");
		return;
	}
	if (!has_cap(d, CAP_IPC_LOCK_BIT))
		strcat(missing, " CAP_IPC_LOCK");
	if (!has_cap(d, CAP_SYS_RESOURCE_BIT))
		strcat(missing, " CAP_SYS_RESOURCE");
	if (missing[0])
		report(d, "capabilities", UBLKIT_CHECK_WARN,
		       "grant them (AmbientCapabilities=) for servers that back swap",
		       "CAP_SYS_ADMIN present; missing:%s", missing);
	else
		report(d, "capabilities", UBLKIT_CHECK_OK, NULL,
		       "CAP_SYS_ADMIN, CAP_IPC_LOCK and CAP_SYS_RESOURCE present");
}

static void check_memlock(struct doctor *d)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0) {
		report(d, "memlock", UBLKIT_CHECK_WARN, NULL, "cannot read RLIMIT_MEMLOCK");
		return;
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		report(d, "memlock", UBLKIT_CHECK_OK, NULL, "RLIMIT_MEMLOCK is unlimited");
	else if (has_cap(d, CAP_IPC_LOCK_BIT))
		report(d, "memlock", UBLKIT_CHECK_OK, NULL,
		       "RLIMIT_MEMLOCK is %llu KiB; CAP_IPC_LOCK lifts it",
		       (unsigned long long)rl.rlim_cur >> 10);
	else if (rl.rlim_cur < MEMLOCK_MIN_BYTES)
		report(d, "memlock", UBLKIT_CHECK_WARN,
		       "run: ulimit -l unlimited, or LimitMEMLOCK=infinity in the unit",
		       "RLIMIT_MEMLOCK is %llu KiB: too small to lock a swap server",
		       (unsigned long long)rl.rlim_cur >> 10);
	else
		report(d, "memlock", UBLKIT_CHECK_OK, NULL, "RLIMIT_MEMLOCK is %llu KiB",
		       (unsigned long long)rl.rlim_cur >> 10);
}

static int count_swaps(struct doctor *d)
{
	_cleanup_fclose_ FILE *f = NULL;
	char line[512], p[4096];
	int n = -1;

	if (ublkit_ctx_path(d->ctx, "/proc/swaps", p, sizeof(p)) < 0)
		return -1;
	f = fopen(p, "re");
	while (f && fgets(line, sizeof(line), f))
		n++;
	return f ? n : -1;
}

static void check_swap(struct doctor *d)
{
	int n = count_swaps(d);

	if (n < 0)
		report(d, "swap", UBLKIT_CHECK_WARN,
		       "boot a kernel with CONFIG_SWAP to put swap on ublk devices",
		       "no swap support (/proc/swaps is missing)");
	else
		report(d, "swap", UBLKIT_CHECK_OK, NULL, "swap supported, %d active area%s", n,
		       n == 1 ? "" : "s");
}

static const char *kmod_state_text(int s)
{
	switch (s) {
	case UBLKIT_KMOD_LOADED: return "loaded";
	case UBLKIT_KMOD_BUILTIN: return "built in";
	case UBLKIT_KMOD_AVAILABLE: return "available as a module";
	default: return "missing";
	}
}

static void check_device_mapper(struct doctor *d)
{
	int s = ublkit_kmod_state(d->ctx, "dm_mod");

	if (s == UBLKIT_KMOD_MISSING)
		report(d, "device-mapper", UBLKIT_CHECK_WARN,
		       "boot a kernel with CONFIG_BLK_DEV_DM for dm provisioning",
		       "device-mapper is missing");
	else
		report(d, "device-mapper", UBLKIT_CHECK_OK, NULL, "device-mapper %s%s",
		       kmod_state_text(s),
		       ublkit_exists(d->ctx, "/dev/mapper/control") ? ", /dev/mapper/control present"
								    : "");
}

static int count_dir(struct doctor *d, const char *path)
{
	char p[4096];
	struct dirent *de;
	int n = 0;
	DIR *dir;

	if (ublkit_ctx_path(d->ctx, path, p, sizeof(p)) < 0)
		return 0;
	dir = opendir(p);
	if (!dir)
		return 0;
	while ((de = readdir(dir)))
		n += de->d_name[0] != '.';
	closedir(dir);
	return n;
}

static void check_nvme(struct doctor *d)
{
	int s = ublkit_kmod_state(d->ctx, "nvme");

	if (s == UBLKIT_KMOD_MISSING)
		report(d, "nvme", UBLKIT_CHECK_WARN,
		       "boot a kernel with CONFIG_BLK_DEV_NVME for NVMe provisioning",
		       "the NVMe driver is missing");
	else
		report(d, "nvme", UBLKIT_CHECK_OK, NULL, "NVMe driver %s, %d controller%s",
		       kmod_state_text(s), count_dir(d, "/sys/class/nvme"),
		       count_dir(d, "/sys/class/nvme") == 1 ? "" : "s");
}

UBLKIT_EXPORT int ublkit_doctor(struct ublkit_ctx *ctx, ublkit_check_fn fn, void *userdata)
{
	struct doctor d = { .ctx = ctx, .sink = { .fn = fn, .userdata = userdata } };

	check_kernel(&d);
	check_ublk_driver(&d);
	check_ublk_control(&d);
	check_io_uring(&d);
	check_ublk_features(&d);
	check_capabilities(&d);
	check_memlock(&d);
	check_swap(&d);
	check_device_mapper(&d);
	check_nvme(&d);
	return d.sink.worst;
}
