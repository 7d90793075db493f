/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Module state detection and the distinct errors of ublkit_kmod_load(). */
#include "config.h"

#include "test.h"

static struct ublkit_ctx *ctx_on(const char *root)
{
	struct ublkit_ctx *ctx = test_ctx();

	if (ublkit_ctx_set_sysroot(ctx, root) < 0)
		exit(EXIT_FAILURE);
	return ctx;
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

int main(void)
{
	RUN(test_states);
	RUN(test_load_errors);
	RUN(test_blacklist);
	RUN(test_no_module_tree);
	return test_result();
}
