/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Module state detection and the distinct errors of ublkit_kmod_load(). */
#include "config.h"

#include <unistd.h>

#include "test.h"

static struct ublkit_ctx *ctx_on(const char *root)
{
	struct ublkit_ctx *ctx = test_ctx();

	if (ublkit_ctx_set_sysroot(ctx, root) < 0)
		exit(EXIT_FAILURE);
	return ctx;
}

static void unlink_in(const char *root, const char *path)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s%s", root, path);
	CHECK_EQ(unlink(p), 0);
}

static void test_states(void)
{
	char *root = fake_root_linux();
	struct ublkit_ctx *ctx;

	fake_write(root, "/sys/module/dm_mod/initstate", "live\n");
	fake_mkdir(root, "/sys/module/nvme_core/parameters"); /* built in, has params */
	ctx = ctx_on(root);
	CHECK_EQ(ublkit_kmod_state(ctx, "ublk_drv"), UBLKIT_KMOD_AVAILABLE);
	CHECK_EQ(ublkit_kmod_state(ctx, "dm_mod"), UBLKIT_KMOD_LOADED);
	CHECK_EQ(ublkit_kmod_state(ctx, "dm-mod"), UBLKIT_KMOD_LOADED);
	CHECK_EQ(ublkit_kmod_state(ctx, "dm_crypt"), UBLKIT_KMOD_AVAILABLE);
	CHECK_EQ(ublkit_kmod_state(ctx, "ext4"), UBLKIT_KMOD_BUILTIN);
	CHECK_EQ(ublkit_kmod_state(ctx, "nvme_core"), UBLKIT_KMOD_BUILTIN);
	CHECK_EQ(ublkit_kmod_state(ctx, "zram"), UBLKIT_KMOD_MISSING);
	/* a prefix of a real name is not that module */
	CHECK_EQ(ublkit_kmod_state(ctx, "ublk"), UBLKIT_KMOD_MISSING);
	CHECK_EQ(ublkit_kmod_state(ctx, ""), -EINVAL);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static void test_load_errors(void)
{
	char *root = fake_root_linux();
	struct ublkit_ctx *ctx;

	fake_write(root, "/sys/module/dm_mod/initstate", "live\n");
	ctx = ctx_on(root);
	CHECK_EQ(ublkit_kmod_load(ctx, "zram", 0), -ENOENT);
	/* Loaded and built-in modules need nothing, even in a sysroot. */
	CHECK_EQ(ublkit_kmod_load(ctx, "dm_mod", 0), UBLKIT_KMOD_LOADED);
	CHECK_EQ(ublkit_kmod_load(ctx, "loop", 0), UBLKIT_KMOD_BUILTIN);
	/* A loadable module cannot be inserted into a captured tree. */
	CHECK_EQ(ublkit_kmod_load(ctx, "ublk_drv", 0), -EXDEV);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static void test_blacklist(void)
{
	char *root = fake_root_linux();
	struct ublkit_ctx *ctx;

	fake_write(root, "/etc/modprobe.d/no-ublk.conf", "# site policy\nblacklist ublk_drv\n");
	fake_write(root, "/etc/modprobe.d/no-dm.conf", "install dm_crypt /bin/false\n");
	ctx = ctx_on(root);
	CHECK(ublkit_kmod_is_blacklisted(ctx, "ublk_drv"));
	CHECK(ublkit_kmod_is_blacklisted(ctx, "dm-crypt"));
	CHECK(!ublkit_kmod_is_blacklisted(ctx, "nvme"));
	CHECK_EQ(ublkit_kmod_load(ctx, "ublk_drv", 0), -ECANCELED);
	CHECK_EQ(ublkit_kmod_load(ctx, "dm_crypt", 0), -ECANCELED);
	/* Overriding the blacklist gets past it, to the sysroot refusal. */
	CHECK_EQ(ublkit_kmod_load(ctx, "ublk_drv", UBLKIT_KMOD_IGNORE_BLACKLIST), -EXDEV);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static void test_no_module_tree(void)
{
	char *root = fake_root_new();
	struct ublkit_ctx *ctx;

	fake_write(root, "/proc/sys/kernel/osrelease", "6.12.0-bare\n");
	ctx = ctx_on(root);
	CHECK_EQ(ublkit_kmod_state(ctx, "ublk_drv"), UBLKIT_KMOD_MISSING);
	CHECK_EQ(ublkit_kmod_load(ctx, "ublk_drv", 0), -ENOENT);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

/* Only "NAME.ko" (compressed or not) in the index names a module. */
static void test_index_names(void)
{
	char *root = fake_root_linux();
	struct ublkit_ctx *ctx;

	fake_write(root, "/lib/modules/6.12.0-test/modules.dep",
		   "kernel/drivers/block/zram/zram.txt:\n"
		   "kernel/drivers/block/null_blk/null_blk.ko:\n"
		   "kernel/fs/ko/squashfs:\n"
		   "kernel/drivers/block/brd.ko.zst: kernel/lib/zram.ko\n"
		   "extra/loop-extra.ko.gz:\n");
	fake_write(root, "/lib/modules/6.12.0-test/modules.builtin", "kernel/fs/ext4/ext4.ko\n");
	ctx = ctx_on(root);
	CHECK_EQ(ublkit_kmod_state(ctx, "zram"), UBLKIT_KMOD_MISSING);
	CHECK_EQ(ublkit_kmod_state(ctx, "null_blk"), UBLKIT_KMOD_AVAILABLE);
	CHECK_EQ(ublkit_kmod_state(ctx, "null-blk"), UBLKIT_KMOD_AVAILABLE);
	CHECK_EQ(ublkit_kmod_state(ctx, "squashfs"), UBLKIT_KMOD_MISSING);
	CHECK_EQ(ublkit_kmod_state(ctx, "ko"), UBLKIT_KMOD_MISSING);
	CHECK_EQ(ublkit_kmod_state(ctx, "brd"), UBLKIT_KMOD_AVAILABLE);
	CHECK_EQ(ublkit_kmod_state(ctx, "loop_extra"), UBLKIT_KMOD_AVAILABLE);
	CHECK_EQ(ublkit_kmod_state(ctx, "kernel"), UBLKIT_KMOD_MISSING);
	CHECK_EQ(ublkit_kmod_state(ctx, NULL), -EINVAL);
	/* loaded beats everything; its sysfs name has underscores */
	fake_write(root, "/sys/module/null_blk/initstate", "live\n");
	CHECK_EQ(ublkit_kmod_state(ctx, "null-blk"), UBLKIT_KMOD_LOADED);
	/* built in, listed: no sysfs entry needed */
	CHECK_EQ(ublkit_kmod_state(ctx, "ext4"), UBLKIT_KMOD_BUILTIN);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static void test_install_commands(void)
{
	char *root = fake_root_linux();
	struct ublkit_ctx *ctx;

	fake_write(root, "/lib/modules/6.12.0-test/modules.dep",
		   "kernel/a/nvme.ko.xz:\nkernel/a/zram.ko.xz:\nkernel/a/brd.ko.xz:\n"
		   "kernel/a/loop.ko.xz:\nkernel/a/null_blk.ko.xz:\nkernel/a/dm-mod.ko.xz:\n"
		   "kernel/a/dm-crypt.ko.xz:\nkernel/a/ublk_drv.ko.xz:\n");
	fake_write(root, "/lib/modules/6.12.0-test/modules.builtin", "");
	fake_write(root, "/etc/modprobe.d/site.conf",
		   "install nvme /sbin/modprobe --ignore-install nvme\n"
		   "install zram /bin/true\n"
		   "install brd /bin/falsehood\n"
		   "install loop /usr/bin/false --quiet\n"
		   "install null_blk true\n"
		   "install dm_mod /usr/bin/true;echo\n"
		   "options dm_crypt foo=1\n"
		   "blacklist dm-cryptx\n");
	ctx = ctx_on(root);
	CHECK(!ublkit_kmod_is_blacklisted(ctx, "nvme"));
	CHECK(ublkit_kmod_is_blacklisted(ctx, "zram"));
	CHECK(!ublkit_kmod_is_blacklisted(ctx, "brd"));
	CHECK(ublkit_kmod_is_blacklisted(ctx, "loop"));
	CHECK(ublkit_kmod_is_blacklisted(ctx, "null-blk"));
	CHECK(ublkit_kmod_is_blacklisted(ctx, "dm_mod"));
	CHECK(!ublkit_kmod_is_blacklisted(ctx, "dm_crypt"));
	CHECK(!ublkit_kmod_is_blacklisted(ctx, "ublk_drv"));
	CHECK_EQ(ublkit_kmod_load(ctx, "zram", 0), -ECANCELED);
	CHECK(strstr(test_last_error, "blacklisted or disabled"));
	CHECK_EQ(ublkit_kmod_load(ctx, "nvme", 0), -EXDEV);
	ublkit_ctx_unref(ctx);

	/* a line libkmod does not understand spoils nothing else */
	fake_write(root, "/etc/modprobe.d/bad.conf", "frobnicate zram now\n");
	ctx = ctx_on(root);
	CHECK(ublkit_kmod_is_blacklisted(ctx, "zram"));
	CHECK(!ublkit_kmod_is_blacklisted(ctx, "nvme"));
	ublkit_ctx_unref(ctx);
	unlink_in(root, "/etc/modprobe.d/bad.conf");

	/* also read from /usr/lib/modprobe.d and /run/modprobe.d */
	fake_write(root, "/usr/lib/modprobe.d/vendor.conf", "blacklist brd\n");
	fake_write(root, "/run/modprobe.d/runtime.conf", "blacklist ublk_drv\n");
	ctx = ctx_on(root);
	CHECK(ublkit_kmod_is_blacklisted(ctx, "brd"));
	CHECK(ublkit_kmod_is_blacklisted(ctx, "ublk_drv"));
	ublkit_ctx_unref(ctx);

	/* without a kernel release there is no module tree to judge */
	fake_write(root, "/proc/sys/kernel/osrelease", "");
	ctx = ctx_on(root);
	CHECK(!ublkit_kmod_is_blacklisted(ctx, "zram"));
	CHECK_EQ(ublkit_kmod_state(ctx, "zram"), UBLKIT_KMOD_MISSING);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

int main(void)
{
	RUN(test_states);
	RUN(test_load_errors);
	RUN(test_blacklist);
	RUN(test_no_module_tree);
	RUN(test_index_names);
	RUN(test_install_commands);
	return test_result();
}
