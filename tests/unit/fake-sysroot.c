/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Builders for captured-looking root trees that the library reads through --sysroot. */
#include "config.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

char *fake_root_new(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;

	if (asprintf(&dir, "%s/ublkit-test.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 ||
	    !mkdtemp(dir)) {
		perror("mkdtemp");
		exit(EXIT_FAILURE);
	}
	return dir;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void fake_root_free(char *root)
{
	if (!root)
		return;
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(root);
}

static void mkdir_p(char *path)
{
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
	mkdir(path, 0755);
}

void fake_mkdir(const char *root, const char *path)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s%s", root, path);
	mkdir_p(p);
}

void fake_write(const char *root, const char *path, const char *content)
{
	char p[4096], *slash;
	FILE *f;

	snprintf(p, sizeof(p), "%s%s", root, path);
	slash = strrchr(p, '/');
	*slash = '\0';
	mkdir_p(p);
	*slash = '/';
	f = fopen(p, "w");
	if (!f) {
		perror(p);
		exit(EXIT_FAILURE);
	}
	fputs(content, f);
	fclose(f);
}

char *fake_root_linux(void)
{
	char *root = fake_root_new();

	fake_write(root, "/proc/sys/kernel/osrelease", "6.12.0-test\n");
	fake_write(root, "/proc/sys/kernel/io_uring_disabled", "0\n");
	fake_write(root, "/proc/self/status",
		   "Name:\tublkit\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\n"
		   "CapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n");
	fake_write(root, "/proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
	fake_write(root, "/lib/modules/6.12.0-test/modules.dep",
		   "kernel/drivers/block/ublk_drv.ko.xz:\n"
		   "kernel/drivers/md/dm-mod.ko.xz:\n"
		   "kernel/drivers/md/dm-crypt.ko.xz: kernel/drivers/md/dm-mod.ko.xz\n"
		   "kernel/drivers/nvme/host/nvme.ko.xz: kernel/drivers/nvme/host/nvme-core.ko.xz\n"
		   "kernel/drivers/nvme/host/nvme-core.ko.xz:\n");
	fake_write(root, "/lib/modules/6.12.0-test/modules.builtin",
		   "kernel/fs/ext4/ext4.ko\nkernel/block/loop.ko\n");
	fake_mkdir(root, "/sys/module");
	fake_mkdir(root, "/sys/class");
	fake_mkdir(root, "/dev");
	fake_mkdir(root, "/etc/modprobe.d");
	return root;
}
