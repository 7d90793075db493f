/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Swap on a ublk device: a hardened server for a device over a backing
 * file or block device, a swap signature on the new device, swapon; and
 * the way back, swapoff first and the device only after it succeeded.
 * What `ublkit swap`, the policy and the daemon all do.
 */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "ublkit-private.h"
#include "swap-private.h"
#include "server-private.h"
#include "spawn-private.h"
#include "ublkit/swap.h"

#define SWAP_DEFAULT_LABEL "ublkit-swap"
#define REMOVE_TIMEOUT_MS 10000


/*
 * The server checked its backing when it opened it, and refuses to serve
 * swap from one that is not preallocated; from outside, the backing is
 * checked again as it is now (a file may have been truncated or punched
 * since). Left unknown when it cannot be read from this process.
 */
static void declare_preallocated(struct ublkit_ctx *ctx, const struct ublkit_device *d,
				 struct ublkit_harden_profile *p)
{
	const char *path = ublkit_device_get_target_arg(d);
	_cleanup_close_ int fd = -1;
	char why[512];
	int r;

	if (ublkit_ctx_is_sysroot(ctx) || !path || !*path)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return;
	r = file_backing_check(fd, path, ublkit_device_get_size(d), why, sizeof(why));
	if (r == -EINVAL)
		log_debug(ctx, "%s", why);
	if (r == 0 || r == -EINVAL)
		ublkit_harden_profile_set_preallocated(p, r == 0);
}

UBLKIT_EXPORT int ublkit_device_inspect_hardening(struct ublkit_ctx *ctx,
						  const struct ublkit_device *d,
						  struct ublkit_harden_report **ret)
{
	const struct ublkit_manifest *m = ublkit_device_get_manifest(d);
	struct ublkit_harden_profile *p = NULL;
	int r;

	if (!m || !(m->params.flags & UBLKIT_DEV_SWAP))
		return -ENODATA;
	if (!ublkit_device_is_server_alive(d))
		return -ESRCH;
	r = harden_profile_for_flags(m->params.flags, &p);
	if (r < 0)
		return r;
	declare_preallocated(ctx, d, p);
	r = ublkit_harden_inspect(ctx, ublkit_device_get_server_pid(d), p, ret);
	ublkit_harden_profile_unref(p);
	return r;
}

int swap_file_create(struct ublkit_ctx *ctx, const char *path, uint64_t size)
{
	_cleanup_close_ int fd = -1;
	char why[512];
	int r;

	if (!path || !size)
		return -EINVAL;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST)
		return 0;
	if (fd < 0)
		return log_ret(ctx, neg_errno(), "cannot create the swap file %s", path);
	/* the file system first: a file in memory is refused before it takes any */
	r = file_backing_check(fd, path, 0, why, sizeof(why));
	if (r == -EINVAL)
		log_error(ctx, "%s", why);
	if (r == 0 && fallocate(fd, 0, 0, (off_t)size) < 0) {
		r = neg_errno();
		if (r == -EOPNOTSUPP)
			log_error(ctx, "%s: the file system cannot preallocate a file (no "
				  "fallocate); a swap file must be, so that writing it needs no "
				  "memory: create it on ext4 or xfs, or use a block device", path);
		else
			log_error(ctx, "cannot preallocate %llu bytes for %s: %s",
				  (unsigned long long)size, path, strerror(-r));
	}
	if (r == 0 && fsync(fd) < 0)
		r = log_ret(ctx, neg_errno(), "cannot flush the new swap file %s", path);
	if (r < 0) {
		unlink(path);
		return r;
	}
	log_info(ctx, "created %s: %llu bytes, preallocated", path, (unsigned long long)size);
	return 1;
}

/*
 * What the server checks again when it opens the backing, checked here
 * first so that nothing is started for it: it holds @size bytes (0: all
 * of it), and a file has every block allocated, on a disk.
 */
static int backing_check_blocks(struct ublkit_ctx *ctx, const char *path, uint64_t size)
{
	_cleanup_close_ int fd = -1;
	uint64_t have = 0;
	char p[4096], why[512];
	int r;

	r = ublkit_ctx_path(ctx, path, p, sizeof(p));
	if (r < 0)
		return r;
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return log_ret(ctx, neg_errno(), "cannot open %s", path);
	r = fd_size(fd, &have);
	if (r < 0)
		return log_ret(ctx, r, "cannot size %s", path);
	if (size > have) {
		log_error(ctx, "%s holds %llu bytes, less than the %llu asked for", path,
			  (unsigned long long)have, (unsigned long long)size);
		return -EINVAL;
	}
	r = file_backing_check(fd, path, size ? size : have, why, sizeof(why));
	if (r == -EINVAL)
		log_error(ctx, "not a swap backing: %s", why);
	else if (r < 0)
		log_error(ctx, "cannot tell whether %s is preallocated: %s", path, strerror(-r));
	return r;
}

/*
 * The backing device must hold nothing of value: no file system, RAID,
 * LVM or partitions unless forced, never anything mounted, active or held.
 * A swap signature with the label this swap area will get is ublkit's own
 * from an earlier boot: its contents died with that boot.
 */
int swap_backing_check(struct ublkit_ctx *ctx, const char *path, const char *label,
		       uint64_t size, unsigned int flags)
{
	struct ublkit_blockdev_usage u;
	int r;

	ublkit_blockdev_usage_init(&u);
	r = ublkit_blockdev_check(ctx, path, (flags & UBLKIT_SWAP_FORCE) ? UBLKIT_BLOCKDEV_FORCE : 0,
				  &u);
	if (r == -EEXIST && strcmp(u.type, "swap") == 0 && strcmp(u.label, label) == 0 &&
	    u.found == UBLKIT_BLOCKDEV_SIGNATURE)
		r = 0;
	if (r == -ENOENT)
		log_error(ctx, "%s does not exist (a new swap file needs a size: ublkit swap on "
			  "--size SIZE)", path);
	else if (r < 0)
		log_error(ctx, "%s: %s", path, u.reason[0] ? u.reason : strerror(-r));
	if (r < 0)
		return r;
	return backing_check_blocks(ctx, path, size);
}

/* Undo the swap signature: the first page as it was, or zeroes. */
static void swap_unformat(struct ublkit_ctx *ctx, const char *dev, char *page, size_t size,
			  bool saved)
{
	int r;

	if (!saved)
		memset(page, 0, size);
	r = swap_first_page_write(ctx, dev, page, size);
	if (r < 0)
		log_error(ctx, "%s: cannot wipe the swap signature written to it: %s", dev,
			  strerror(-r));
	else
		log_info(ctx, "%s: swap signature wiped, the first page is as it was", dev);
}

static int swap_enable(struct ublkit_ctx *ctx, uint32_t id, const char *label, int priority,
		       unsigned int flags)
{
	size_t psize = (size_t)sysconf(_SC_PAGESIZE);
	_cleanup_free_ char *page = calloc(1, psize);
	bool saved;
	char dev[32];
	int r;

	if (!page)
		return -ENOMEM;
	ublkit_ublk_block_path(id, dev, sizeof(dev));
	saved = swap_first_page_read(ctx, dev, page, psize) == 0;
	r = ublkit_swap_format(ctx, dev, label, UBLKIT_BLOCKDEV_FORCE, NULL);
	if (r < 0) {
		swap_unformat(ctx, dev, page, psize, saved);
		return log_ret(ctx, r, "%s: cannot write a swap signature", dev);
	}
	r = ublkit_swap_on(ctx, dev, priority,
			   flags & (UBLKIT_SWAP_DISCARD | UBLKIT_SWAP_DISCARD_ONCE |
				    UBLKIT_SWAP_DISCARD_PAGES));
	if (r < 0) {
		/* no signature is left behind for a later swapon to find */
		swap_unformat(ctx, dev, page, psize, saved);
		return log_ret(ctx, r, "%s: swapon", dev);
	}
	return 0;
}

UBLKIT_EXPORT int ublkit_swap_ublk_on_sz(struct ublkit_ctx *ctx,
					 const struct ublkit_dev_params *params,
					 size_t params_size, const char *target,
					 const char *target_arg, const char *label, int priority,
					 unsigned int flags, struct ublkit_spawn_result *res,
					 size_t res_size)
{
	struct ublkit_spawn_result out = { .pidfd = -1 };
	struct ublkit_dev_params p;
	char abs[PATH_MAX];
	int tflags, created = 0, r;

	ublkit_dev_params_init(&p);
	r = struct_in(&p, sizeof(p), params, params_size);
	if (r < 0)
		return r;
	if (!label || !*label)
		label = SWAP_DEFAULT_LABEL;
	r = ublkit_swap_label_check(ctx, label);
	if (r < 0)
		return r;
	p.flags |= UBLKIT_DEV_SWAP;
	r = ublkit_dev_params_check(ctx, &p, target, target_arg);
	if (r < 0)
		return r;
	tflags = ublkit_target_flags(target);
	if (tflags < 0 || !(tflags & UBLKIT_TARGET_MAY_BACK_SWAP)) {
		log_error(ctx, "target %s cannot back swap (use the file target)",
			  target ? target : "(none)");
		return -EINVAL;
	}
	if (tflags & UBLKIT_TARGET_NEEDS_PATH) {
		/* what is checked and created here is what the server opens */
		r = spawn_path_absolute(target_arg, abs, sizeof(abs));
		if (r < 0)
			return log_ret(ctx, r, "%s: cannot make the path absolute", target_arg);
		target_arg = abs;
	}
	if ((flags & UBLKIT_SWAP_CREATE) && (!(tflags & UBLKIT_TARGET_NEEDS_PATH) || !p.size)) {
		log_error(ctx, "a new swap file needs a path and a size");
		return -EINVAL;
	}
	if (flags & UBLKIT_SWAP_CREATE) {
		created = swap_file_create(ctx, target_arg, p.size);
		if (created < 0)
			return created;
	}
	if (tflags & UBLKIT_TARGET_NEEDS_PATH) {
		r = swap_backing_check(ctx, target_arg, label, p.size, flags);
		if (r < 0)
			goto fail;
	}
	r = ublkit_server_spawn(ctx, &p, target, target_arg, -1,
				(flags & UBLKIT_SWAP_ROOT_STORAGE) ? UBLKIT_SPAWN_ROOT_STORAGE : 0,
				&out);
	if (r < 0)
		goto fail;
	r = swap_enable(ctx, (uint32_t)out.id, label, priority, flags);
	if (r < 0) {
		/* Nothing half-made: the device goes with its server. */
		if (ublkit_ublk_remove(ctx, (uint32_t)out.id, REMOVE_TIMEOUT_MS) < 0)
			log_error(ctx, "ublk%d: could not be removed after the failure", out.id);
		if (out.pidfd >= 0)
			close(out.pidfd);
		goto fail;
	}
	if (res)
		struct_out(res, res_size, &out, sizeof(out));
	else if (out.pidfd >= 0)
		close(out.pidfd);
	return 0;
fail:
	if (created > 0 && unlink(target_arg) == 0)
		log_info(ctx, "removed the swap file %s made for it", target_arg);
	return r;
}

UBLKIT_EXPORT int ublkit_swap_ublk_off(struct ublkit_ctx *ctx, uint32_t id, unsigned int flags,
				       struct ublkit_swapoff_estimate *e)
{
	const struct ublkit_manifest *m;
	struct ublkit_device *d = NULL;
	bool swap;
	char dev[32];
	int r;

	r = ublkit_device_new(ctx, id, &d);
	if (r < 0)
		return r;
	m = ublkit_device_get_manifest(d);
	swap = m && (m->params.flags & UBLKIT_DEV_SWAP);
	ublkit_device_unref(d);
	if (!swap) {
		log_error(ctx, "ublk%u is not a swap device of ublkit's (see 'ublkit swap status')",
			  id);
		return -EINVAL;
	}
	ublkit_ublk_block_path(id, dev, sizeof(dev));
	r = ublkit_swap_off(ctx, dev, (flags & UBLKIT_SWAP_OFF_FORCE) ? UBLKIT_SWAP_OFF_FORCE : 0,
			    e);
	if (r < 0 && r != -ENOENT) /* -ENOENT: off already */
		return r; /* swap stays on, the device stays up */
	r = ublkit_ublk_remove(ctx, id, REMOVE_TIMEOUT_MS);
	if (r < 0)
		log_error(ctx, "ublk%u: swap is off, but the device could not be removed: %s; "
			  "remove it with 'ublkit del %u'", id, strerror(-r), id);
	return r;
}
