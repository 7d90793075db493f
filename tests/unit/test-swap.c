/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Swap signature, /proc/swaps, the swapoff precheck and block device usage.
 * White-box: the mountinfo and sysfs readers are internal.
 */
#include "config.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "ublkit/swap.h"
#include "ublkit-private.h"
#include "swap-private.h"
#include "spawn-private.h"

static struct ublkit_ctx *ctx_at(const char *root)
{
	struct ublkit_ctx *ctx = test_ctx();

	if (root)
		CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	return ctx;
}

/* A file of @size bytes (sparse) at @path. */
static void make_file(const char *path, off_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || ftruncate(fd, size) < 0) {
		perror(path);
		exit(EXIT_FAILURE);
	}
	close(fd);
}

static bool have_program(const char *name)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* The value of KEY in `blkid -p -o export FILE`, "" when absent. */
static void blkid_value(const char *file, const char *key, char *buf, size_t size)
{
	char cmd[4200], line[512];
	size_t klen = strlen(key);
	FILE *p;

	buf[0] = '\0';
	snprintf(cmd, sizeof(cmd), "blkid -p -o export '%s' 2>/dev/null", file);
	p = popen(cmd, "r");
	if (!p)
		return;
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, key, klen) == 0 && line[klen] == '=')
			snprintf(buf, size, "%s", line + klen + 1);
	}
	pclose(p);
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- the signature -------------------------------------------------------- */

static void test_format_header(void)
{
	char *dir = fake_root_new(), file[4200], uuid[UBLKIT_UUID_STRING_MAX] = "";
	struct ublkit_ctx *ctx = ctx_at(NULL);
	long ps = sysconf(_SC_PAGESIZE);
	unsigned char *page = malloc((size_t)ps);
	uint32_t version, last_page, badpages;
	int fd;

	snprintf(file, sizeof(file), "%s/swap.img", dir);
	make_file(file, 8 << 20);
	/* a non-zero first page must come out zeroed outside the header */
	fd = open(file, O_RDWR | O_CLOEXEC);
	memset(page, 0xa5, (size_t)ps);
	CHECK_EQ(pwrite(fd, page, (size_t)ps, 0), ps);
	close(fd);

	CHECK_EQ(ublkit_swap_format(ctx, file, "ublkit-swap", 0, uuid), 0);
	CHECK_EQ(strlen(uuid), 36);
	CHECK(uuid[14] == '4'); /* version 4 */
	CHECK(strchr("89ab", uuid[19]) != NULL);

	fd = open(file, O_RDONLY | O_CLOEXEC);
	CHECK_EQ(pread(fd, page, (size_t)ps, 0), ps);
	close(fd);
	for (int i = 0; i < 1024; i++)
		if (page[i]) {
			CHECK(!"bootbits are zero");
			break;
		}
	memcpy(&version, page + 1024, 4);
	memcpy(&last_page, page + 1028, 4);
	memcpy(&badpages, page + 1032, 4);
	CHECK_EQ(version, 1);
	CHECK_EQ(last_page, (8 << 20) / ps - 1);
	CHECK_EQ(badpages, 0);
	CHECK(memcmp(page + 1052, "ublkit-swap\0\0\0\0\0", 16) == 0);
	CHECK(memcmp(page + ps - 10, "SWAPSPACE2", 10) == 0);
	for (long i = 1068; i < ps - 10; i++)
		if (page[i]) {
			CHECK(!"the rest of the first page is zero");
			break;
		}

	if (have_program("blkid")) {
		char v[128];

		blkid_value(file, "TYPE", v, sizeof(v));
		CHECK_STREQ(v, "swap");
		blkid_value(file, "LABEL", v, sizeof(v));
		CHECK_STREQ(v, "ublkit-swap");
		blkid_value(file, "UUID", v, sizeof(v));
		CHECK_STREQ(v, uuid);
		blkid_value(file, "VERSION", v, sizeof(v));
		CHECK_STREQ(v, "1");
	} else {
		printf("# blkid missing: the signature is checked byte by byte only\n");
	}
	free(page);
	ublkit_ctx_unref(ctx);
	fake_root_free(dir);
}

static void test_format_label(void)
{
	char *dir = fake_root_new(), file[4200], uuid[UBLKIT_UUID_STRING_MAX] = "x";
	struct ublkit_ctx *ctx = ctx_at(NULL);
	char v[64];

	snprintf(file, sizeof(file), "%s/swap.img", dir);
	make_file(file, 1 << 20);
	CHECK_EQ(ublkit_swap_format(ctx, file, "seventeen-bytes-x", 0, uuid), -EINVAL);
	CHECK_STREQ(uuid, "x");
	CHECK_EQ(ublkit_swap_format(ctx, file, "tab\there", 0, NULL), -EINVAL);
	blkid_value(file, "TYPE", v, sizeof(v));
	CHECK_STREQ(v, ""); /* nothing was written */

	/* exactly 16 bytes fit, without a terminating NUL */
	CHECK_EQ(ublkit_swap_format(ctx, file, "sixteen-bytes-ok", 0, uuid), 0);
	if (have_program("blkid")) {
		blkid_value(file, "LABEL", v, sizeof(v));
		CHECK_STREQ(v, "sixteen-bytes-ok");
	}
	/* no label at all */
	CHECK_EQ(ublkit_swap_format(ctx, file, NULL, UBLKIT_BLOCKDEV_ALLOW_SWAP, uuid), 0);
	if (have_program("blkid")) {
		blkid_value(file, "LABEL", v, sizeof(v));
		CHECK_STREQ(v, "");
		blkid_value(file, "TYPE", v, sizeof(v));
		CHECK_STREQ(v, "swap");
	}
	ublkit_ctx_unref(ctx);
	fake_root_free(dir);
}

static void test_format_too_small(void)
{
	char *dir = fake_root_new(), file[4200];
	struct ublkit_ctx *ctx = ctx_at(NULL);
	long ps = sysconf(_SC_PAGESIZE);

	snprintf(file, sizeof(file), "%s/tiny.img", dir);
	make_file(file, 9 * ps);
	CHECK_EQ(ublkit_swap_format(ctx, file, NULL, 0, NULL), -ENOSPC);
	make_file(file, 10 * ps);
	CHECK_EQ(ublkit_swap_format(ctx, file, NULL, 0, NULL), 0);
	ublkit_ctx_unref(ctx);
	fake_root_free(dir);
}

static void test_refuse_ext4(void)
{
	char *dir = fake_root_new(), file[4200], cmd[4300], v[64];
	struct ublkit_blockdev_usage u;
	struct ublkit_ctx *ctx = ctx_at(NULL);

	if (!have_program("mkfs.ext4") || !have_program("blkid")) {
		printf("# mkfs.ext4 or blkid missing: skipped\n");
		fake_root_free(dir);
		ublkit_ctx_unref(ctx);
		return;
	}
	snprintf(file, sizeof(file), "%s/ext4.img", dir);
	make_file(file, 4 << 20);
	snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F -L precious '%s' >/dev/null 2>&1", file);
	CHECK_EQ(run(cmd), 0);

	ublkit_blockdev_usage_init(&u);
	CHECK_EQ(ublkit_blockdev_check(ctx, file, 0, &u), -EEXIST);
	CHECK(!u.may_format);
	CHECK_EQ(u.found, UBLKIT_BLOCKDEV_SIGNATURE);
	CHECK_STREQ(u.type, "ext4");
	CHECK_STREQ(u.usage, "filesystem");
	CHECK_STREQ(u.label, "precious");
	CHECK(strstr(u.reason, "TYPE=ext4") && strstr(u.reason, "precious") &&
	      strstr(u.reason, "without force"));

	CHECK_EQ(ublkit_swap_format(ctx, file, NULL, 0, NULL), -EEXIST);
	CHECK_EQ(ublkit_swap_format(ctx, file, NULL, UBLKIT_BLOCKDEV_ALLOW_SWAP, NULL), -EEXIST);
	blkid_value(file, "TYPE", v, sizeof(v));
	CHECK_STREQ(v, "ext4"); /* untouched */

	ublkit_blockdev_usage_init(&u);
	CHECK_EQ(ublkit_blockdev_check(ctx, file, UBLKIT_BLOCKDEV_FORCE, &u), 0);
	CHECK(u.may_format);
	CHECK(strstr(u.reason, "overwritten") != NULL);

	CHECK_EQ(ublkit_swap_format(ctx, file, "was-ext4", UBLKIT_BLOCKDEV_FORCE, NULL), 0);
	blkid_value(file, "TYPE", v, sizeof(v));
	CHECK_STREQ(v, "swap");
	/* and the ext4 superblock is gone, not just shadowed */
	snprintf(cmd, sizeof(cmd), "blkid -p -n ext4,ext3,ext2 '%s' >/dev/null 2>&1", file);
	CHECK(run(cmd) != 0);

	/* a swap signature is data too, unless the caller says swap is fine */
	ublkit_blockdev_usage_init(&u);
	CHECK_EQ(ublkit_blockdev_check(ctx, file, 0, &u), -EEXIST);
	CHECK_STREQ(u.type, "swap");
	CHECK_STREQ(u.label, "was-ext4");
	CHECK_EQ(ublkit_blockdev_check(ctx, file, UBLKIT_BLOCKDEV_ALLOW_SWAP, &u), 0);
	ublkit_ctx_unref(ctx);
	fake_root_free(dir);
}

/* A signature beyond the first page (iso9660 at 32 KiB) is wiped, not left behind. */
static void test_format_wipes_beyond_first_page(void)
{
	char *dir = fake_root_new(), file[4200], v[64];
	struct ublkit_blockdev_usage u;
	struct ublkit_ctx *ctx = ctx_at(NULL);
	char magic[8] = "";
	int fd;

	snprintf(file, sizeof(file), "%s/iso.img", dir);
	make_file(file, 4 << 20);
	fd = open(file, O_RDWR | O_CLOEXEC);
	CHECK_EQ(pwrite(fd, "\001CD001\001", 7, 32768), 7);
	CHECK_EQ(pwrite(fd, "\377CD001\001", 7, 34816), 7);
	close(fd);
	ublkit_blockdev_usage_init(&u);
	CHECK_EQ(ublkit_blockdev_check(ctx, file, 0, &u), -EEXIST);
	CHECK_STREQ(u.type, "iso9660");

	CHECK_EQ(ublkit_swap_format(ctx, file, NULL, UBLKIT_BLOCKDEV_FORCE, NULL), 0);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	CHECK_EQ(pread(fd, magic, 5, 32769), 5);
	close(fd);
	CHECK(memcmp(magic, "CD001", 5) != 0);
	ublkit_blockdev_usage_init(&u);
	CHECK_EQ(ublkit_blockdev_check(ctx, file, 0, &u), -EEXIST);
	CHECK_STREQ(u.type, "swap"); /* alone: no ambivalent result */
	if (have_program("blkid")) {
		blkid_value(file, "TYPE", v, sizeof(v));
		CHECK_STREQ(v, "swap");
	}
	ublkit_ctx_unref(ctx);
	fake_root_free(dir);
}

static void test_check_empty_and_missing(void)
{
	char *dir = fake_root_new(), file[4200];
	struct ublkit_blockdev_usage u;
	struct ublkit_ctx *ctx = ctx_at(NULL);

	snprintf(file, sizeof(file), "%s/empty.img", dir);
	make_file(file, 4 << 20);
	ublkit_blockdev_usage_init(&u);
	CHECK_EQ(ublkit_blockdev_check(ctx, file, 0, &u), 0);
	CHECK(u.may_format);
	CHECK_EQ(u.found, 0);
	CHECK_STREQ(u.type, "");

	snprintf(file, sizeof(file), "%s/missing.img", dir);
	CHECK_EQ(ublkit_blockdev_check(ctx, file, 0, &u), -ENOENT);
	CHECK(!u.may_format);
	CHECK_EQ(ublkit_blockdev_check(ctx, dir, 0, &u), -EINVAL);
	CHECK_EQ(ublkit_blockdev_check(ctx, file, 1u << 7, &u), -EINVAL);
	ublkit_ctx_unref(ctx);
	fake_root_free(dir);
}

/* An old caller's smaller struct is written only as far as it reaches. */
static void test_check_old_struct(void)
{
	char *dir = fake_root_new(), file[4200];
	struct ublkit_ctx *ctx = ctx_at(NULL);
	struct ublkit_blockdev_usage u;

	snprintf(file, sizeof(file), "%s/empty.img", dir);
	make_file(file, 1 << 20);
	memset(&u, 0x5a, sizeof(u));
	u.struct_size = offsetof(struct ublkit_blockdev_usage, type);
	CHECK_EQ(ublkit_blockdev_check(ctx, file, 0, &u), 0);
	CHECK(u.may_format);
	CHECK_EQ((unsigned char)u.type[0], 0x5a);
	CHECK_EQ((unsigned char)u.reason[0], 0x5a);
	ublkit_ctx_unref(ctx);
	fake_root_free(dir);
}

/* ---- in use, over a fake sysroot ------------------------------------------ */

static void test_active_swap_file(void)
{
	char *root = fake_root_linux();
	struct ublkit_ctx *ctx = ctx_at(root);
	struct ublkit_blockdev_usage u;

	fake_write(root, "/var/swapfile", "");
	fake_write(root, "/proc/swaps",
		   "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
		   "/var/swapfile                           file\t\t1048572\t\t0\t\t-2\n");
	ublkit_blockdev_usage_init(&u);
	CHECK_EQ(ublkit_blockdev_check(ctx, "/var/swapfile", 0, &u), -EBUSY);
	CHECK_EQ(u.found, UBLKIT_BLOCKDEV_ACTIVE_SWAP);
	CHECK(strstr(u.reason, "swapoff") != NULL);
	/* force never overrides use */
	CHECK_EQ(ublkit_blockdev_check(ctx, "/var/swapfile", UBLKIT_BLOCKDEV_FORCE, &u), -EBUSY);
	CHECK(!u.may_format);
	CHECK_EQ(ublkit_swap_format(ctx, "/var/swapfile", NULL, UBLKIT_BLOCKDEV_FORCE, NULL),
		 -EBUSY);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static void test_loop_backing_file(void)
{
	char *root = fake_root_linux();
	struct ublkit_ctx *ctx = ctx_at(root);
	struct ublkit_blockdev_usage u;

	fake_write(root, "/var/lib/disk.img", "");
	fake_write(root, "/var/lib/other.img", "");
	fake_write(root, "/sys/block/loop3/loop/backing_file", "/var/lib/disk.img\n");
	ublkit_blockdev_usage_init(&u);
	CHECK_EQ(ublkit_blockdev_check(ctx, "/var/lib/disk.img", UBLKIT_BLOCKDEV_FORCE, &u),
		 -EBUSY);
	CHECK_EQ(u.found, UBLKIT_BLOCKDEV_HELD);
	CHECK_STREQ(u.holder, "loop3");
	CHECK(strstr(u.reason, "losetup -d /dev/loop3") != NULL);
	CHECK_EQ(ublkit_blockdev_check(ctx, "/var/lib/other.img", 0, &u), 0);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static void test_mountinfo(void)
{
	char *root = fake_root_linux();
	struct ublkit_ctx *ctx = ctx_at(root);
	char where[256] = "";

	fake_write(root, "/proc/self/mountinfo",
		   "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
		   "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
		   "40 27 259:3 / /mnt/my\\040data rw,relatime shared:5 - xfs /dev/nvme0n1p3 rw\n"
		   "41 27 0:45 / /srv rw - btrfs /dev/nvme1n1 rw\n");
	CHECK(blockdev_mounted(ctx, 259, 3, NULL, where, sizeof(where)));
	CHECK_STREQ(where, "/mnt/my data");
	CHECK(blockdev_mounted(ctx, 254, 0, NULL, where, sizeof(where)));
	CHECK_STREQ(where, "/");
	CHECK(!blockdev_mounted(ctx, 259, 4, NULL, where, sizeof(where)));
	CHECK(!blockdev_mounted(ctx, 0, 21, NULL, where, sizeof(where)));
	/* btrfs shows an anonymous device number: the source names the device */
	CHECK(!blockdev_mounted(ctx, 259, 9, "/dev/nvme2n1", where, sizeof(where)));
	CHECK(blockdev_mounted(ctx, 259, 9, "/dev/nvme1n1", where, sizeof(where)));
	CHECK_STREQ(where, "/srv");
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static int collect_part(struct ublkit_ctx *ctx, const char *name, unsigned int maj,
			unsigned int min, void *userdata)
{
	char *seen = userdata;
	size_t n = strlen(seen);

	snprintf(seen + n, 256 - n, "%s=%u:%u ", name, maj, min);
	return 0;
}

static void test_sysfs_holders_partitions(void)
{
	char *root = fake_root_linux();
	struct ublkit_ctx *ctx = ctx_at(root);
	char holder[64] = "", seen[256] = "";

	fake_mkdir(root, "/sys/dev/block/259:0/holders");
	fake_write(root, "/sys/dev/block/259:0/nvme0n1p1/partition", "1\n");
	fake_write(root, "/sys/dev/block/259:0/nvme0n1p1/dev", "259:1\n");
	fake_write(root, "/sys/dev/block/259:0/queue/dev", "nope\n"); /* no partition file */
	fake_mkdir(root, "/sys/dev/block/259:1/holders/dm-2");
	fake_mkdir(root, "/sys/dev/block/259:5/holders");

	CHECK(!blockdev_held(ctx, 259, 0, holder, sizeof(holder)));
	CHECK(blockdev_held(ctx, 259, 1, holder, sizeof(holder)));
	CHECK_STREQ(holder, "dm-2");
	CHECK(!blockdev_held(ctx, 259, 5, holder, sizeof(holder)));
	CHECK(!blockdev_held(ctx, 259, 77, holder, sizeof(holder)));

	CHECK_EQ(blockdev_partitions(ctx, 259, 0, collect_part, seen), 1);
	CHECK_STREQ(seen, "nvme0n1p1=259:1 ");
	CHECK_EQ(blockdev_partitions(ctx, 259, 5, NULL, NULL), 0);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

#define SWAPS_HEADER_ "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"

/* A block device node in a fake root; false when not allowed (not root). */
static bool fake_blockdev(const char *root, const char *path, unsigned int maj, unsigned int min)
{
	char p[4200];

	snprintf(p, sizeof(p), "%s%s", root, path);
	fake_mkdir(root, "/dev");
	return mknod(p, S_IFBLK | 0600, makedev(maj, min)) == 0;
}

/* Block devices in use: the checks that come before anything is opened. */
static void test_blockdev_in_use(void)
{
	char *root = fake_root_linux();
	struct ublkit_ctx *ctx = ctx_at(root);
	struct ublkit_blockdev_usage u;

	if (!fake_blockdev(root, "/dev/fakeblk", 7, 200) ||
	    !fake_blockdev(root, "/dev/fakeblk1", 7, 201)) {
		printf("# mknod not allowed: skipped\n");
		goto out;
	}
	fake_write(root, "/proc/self/mountinfo",
		   "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n");
	fake_write(root, "/sys/dev/block/7:200/size", "8192\n");
	fake_write(root, "/sys/dev/block/7:201/size", "4096\n");

	/* mounted by device number */
	fake_write(root, "/proc/self/mountinfo", "40 27 7:200 / /mnt rw - xfs /dev/x rw\n");
	ublkit_blockdev_usage_init(&u);
	CHECK_EQ(ublkit_blockdev_check(ctx, "/dev/fakeblk", UBLKIT_BLOCKDEV_FORCE, &u), -EBUSY);
	CHECK_EQ(u.found, UBLKIT_BLOCKDEV_MOUNTED);
	CHECK_STREQ(u.holder, "/mnt");
	/* mounted by name, with an anonymous device number (btrfs) */
	fake_write(root, "/proc/self/mountinfo",
		   "40 27 0:45 / /srv rw - btrfs /dev/fakeblk rw\n");
	CHECK_EQ(ublkit_blockdev_check(ctx, "/dev/fakeblk", 0, &u), -EBUSY);
	CHECK_STREQ(u.holder, "/srv");
	/* another device's source does not count */
	CHECK_EQ(ublkit_blockdev_check(ctx, "/dev/fakeblk1", 0, &u) == -EBUSY, 0);
	fake_write(root, "/proc/self/mountinfo", "27 1 254:0 / / rw - ext4 /dev/vda rw\n");

	/* held by device-mapper */
	fake_mkdir(root, "/sys/dev/block/7:200/holders/dm-3");
	CHECK_EQ(ublkit_blockdev_check(ctx, "/dev/fakeblk", UBLKIT_BLOCKDEV_FORCE, &u), -EBUSY);
	CHECK_EQ(u.found, UBLKIT_BLOCKDEV_HELD);
	CHECK_STREQ(u.holder, "dm-3");
	CHECK(strstr(u.reason, "remove dm-3 first") != NULL);
	{
		char p[4200];

		snprintf(p, sizeof(p), "%s/sys/dev/block/7:200/holders/dm-3", root);
		rmdir(p);
	}

	/* a partition is active swap under its own name */
	fake_write(root, "/sys/dev/block/7:200/fakeblk1/partition", "1\n");
	fake_write(root, "/sys/dev/block/7:200/fakeblk1/dev", "7:201\n");
	fake_write(root, "/proc/swaps", SWAPS_HEADER_ "/dev/fakeblk1 partition 2044 0 -2\n");
	CHECK_EQ(ublkit_blockdev_check(ctx, "/dev/fakeblk", UBLKIT_BLOCKDEV_FORCE, &u), -EBUSY);
	CHECK_EQ(u.found, UBLKIT_BLOCKDEV_ACTIVE_SWAP);
	CHECK(strstr(u.reason, "fakeblk1 is an active swap area") != NULL);
	fake_write(root, "/proc/swaps", SWAPS_HEADER_);

	/* a partition is mounted */
	fake_write(root, "/proc/self/mountinfo", "40 27 7:201 / /boot rw - vfat /dev/x rw\n");
	CHECK_EQ(ublkit_blockdev_check(ctx, "/dev/fakeblk", UBLKIT_BLOCKDEV_FORCE, &u), -EBUSY);
	CHECK_EQ(u.found, UBLKIT_BLOCKDEV_MOUNTED);
	CHECK(strstr(u.reason, "fakeblk1 is mounted on /boot") != NULL);
	/* and the partition itself alone */
	CHECK_EQ(ublkit_blockdev_check(ctx, "/dev/fakeblk1", 0, &u), -EBUSY);
out:
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static bool losetup(const char *file, char *dev, size_t size)
{
	char cmd[4300];
	FILE *p;
	bool ok;

	snprintf(cmd, sizeof(cmd), "losetup -f --show '%s' 2>/dev/null", file);
	p = popen(cmd, "r");
	ok = p && fgets(dev, (int)size, p) && strncmp(dev, "/dev/loop", 9) == 0;
	if (p)
		pclose(p);
	if (ok)
		dev[strcspn(dev, "\n")] = '\0';
	return ok;
}

/* A real block device, where the host lets us attach a loop device. */
static void test_loop_device(void)
{
	char *dir = fake_root_new(), file[4200], dev[64], cmd[200], v[64];
	char uuid[UBLKIT_UUID_STRING_MAX];
	struct ublkit_ctx *ctx = ctx_at(NULL);
	struct ublkit_blockdev_usage u;
	int fd;

	snprintf(file, sizeof(file), "%s/loop.img", dir);
	make_file(file, 8 << 20);
	if (!have_program("losetup") || !have_program("blkid") || !losetup(file, dev, sizeof(dev))) {
		printf("# no loop device here: skipped\n");
		goto out;
	}
	/* the backing file is held by the loop device */
	ublkit_blockdev_usage_init(&u);
	CHECK_EQ(ublkit_blockdev_check(ctx, file, UBLKIT_BLOCKDEV_FORCE, &u), -EBUSY);
	CHECK_EQ(u.found, UBLKIT_BLOCKDEV_HELD);
	CHECK_STREQ(u.holder, dev + 5);

	CHECK_EQ(ublkit_blockdev_check(ctx, dev, 0, &u), 0);
	CHECK_EQ(ublkit_swap_format(ctx, dev, "on-loop", 0, uuid), 0);
	blkid_value(dev, "TYPE", v, sizeof(v));
	CHECK_STREQ(v, "swap");
	blkid_value(dev, "UUID", v, sizeof(v));
	CHECK_STREQ(v, uuid);
	CHECK_EQ(ublkit_blockdev_check(ctx, dev, 0, &u), -EEXIST);
	CHECK_EQ(ublkit_blockdev_check(ctx, dev, UBLKIT_BLOCKDEV_ALLOW_SWAP, &u), 0);

	/* a descriptor the caller opened for direct I/O */
	fd = open(dev, O_RDWR | O_DIRECT | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(ublkit_swap_format_fd(ctx, fd, "direct", NULL), 0);
	if (fd >= 0)
		close(fd);
	blkid_value(dev, "LABEL", v, sizeof(v));
	CHECK_STREQ(v, "direct");

	/* an exclusive opener is what the kernel says about mounts and holders */
	fd = open(dev, O_RDONLY | O_EXCL | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(ublkit_blockdev_check(ctx, dev, UBLKIT_BLOCKDEV_FORCE, &u), -EBUSY);
	CHECK_EQ(u.found & UBLKIT_BLOCKDEV_HELD, UBLKIT_BLOCKDEV_HELD);
	CHECK(strstr(u.reason, "exclusively") != NULL);
	CHECK_EQ(ublkit_swap_format(ctx, dev, NULL, UBLKIT_BLOCKDEV_FORCE, NULL), -EBUSY);
	if (fd >= 0)
		close(fd);

	snprintf(cmd, sizeof(cmd), "losetup -d %s", dev);
	CHECK_EQ(run(cmd), 0);
out:
	ublkit_ctx_unref(ctx);
	fake_root_free(dir);
}

/* ---- /proc/swaps and the swapoff precheck --------------------------------- */

struct areas {
	int n;
	struct {
		char path[256], type[16];
		uint64_t size, used;
		int prio;
	} a[8];
};

static int collect_area(const struct ublkit_swap_area *a, void *userdata)
{
	struct areas *s = userdata;

	if (s->n < 8) {
		snprintf(s->a[s->n].path, sizeof(s->a[0].path), "%s", a->path);
		snprintf(s->a[s->n].type, sizeof(s->a[0].type), "%s", a->type);
		s->a[s->n].size = a->size;
		s->a[s->n].used = a->used;
		s->a[s->n].prio = a->priority;
		s->n++;
	}
	return 0;
}

static int stop_at_second(const struct ublkit_swap_area *a, void *userdata)
{
	int *n = userdata;

	return ++*n == 2 ? -ECANCELED : 0;
}

#define SWAPS_HEADER "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"

static void test_proc_swaps(void)
{
	char *root = fake_root_linux();
	struct ublkit_ctx *ctx = ctx_at(root);
	struct areas s = { 0 };
	int n = 0;

	fake_write(root, "/proc/swaps",
		   SWAPS_HEADER
		   "/dev/ublkb0                             partition\t1048572\t\t524288\t\t100\n"
		   "/var/swap\\040file                       file\t\t65532\t\t0\t\t-2\n"
		   "/dev/zram0                              partition\t262140\t\t1024\t\t32767\n"
		   "/old\\040swap (deleted)                 file\t\t8188\t\t4\t\t-3\n");
	CHECK_EQ(ublkit_swap_list(ctx, collect_area, &s), 4);
	CHECK_EQ(s.n, 4);
	CHECK_STREQ(s.a[3].path, "/old swap (deleted)");
	CHECK_STREQ(s.a[3].type, "file");
	CHECK_EQ(s.a[3].used, 4096);
	CHECK_EQ(s.a[3].prio, -3);
	CHECK_STREQ(s.a[0].path, "/dev/ublkb0");
	CHECK_STREQ(s.a[0].type, "partition");
	CHECK_EQ(s.a[0].size, 1048572ULL << 10);
	CHECK_EQ(s.a[0].used, 524288ULL << 10);
	CHECK_EQ(s.a[0].prio, 100);
	CHECK_STREQ(s.a[1].path, "/var/swap file");
	CHECK_STREQ(s.a[1].type, "file");
	CHECK_EQ(s.a[1].prio, -2);
	CHECK_EQ(s.a[2].prio, 32767);
	CHECK_EQ(ublkit_swap_list(ctx, NULL, NULL), 4);
	CHECK_EQ(ublkit_swap_list(ctx, stop_at_second, &n), -ECANCELED);

	fake_write(root, "/proc/swaps", SWAPS_HEADER);
	CHECK_EQ(ublkit_swap_list(ctx, NULL, NULL), 0);
	fake_root_free(root);
	root = fake_root_new();
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	CHECK_EQ(ublkit_swap_list(ctx, NULL, NULL), -ENOENT);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

/* MemTotal 512000 KiB: the margin is 64 MiB + 16000 KiB = 81536 KiB. */
#define MARGIN_KB (65536 + 512000 / 32)

static void write_meminfo(const char *root, unsigned long avail_kb)
{
	char buf[256];

	snprintf(buf, sizeof(buf),
		 "MemTotal:         512000 kB\nMemFree:           10000 kB\n"
		 "MemAvailable:   %8lu kB\nBuffers:            1000 kB\n",
		 avail_kb);
	fake_write(root, "/proc/meminfo", buf);
}

static void write_swaps(const char *root, unsigned long used_kb, unsigned long zram_used_kb)
{
	char buf[512];

	snprintf(buf, sizeof(buf),
		 SWAPS_HEADER "/dev/ublkb0 partition 4194300 %lu 100\n"
			      "/dev/zram0 partition 262144 %lu 50\n",
		 used_kb, zram_used_kb);
	fake_write(root, "/proc/swaps", buf);
}

static void test_swapoff_precheck(void)
{
	char *root = fake_root_linux();
	struct ublkit_ctx *ctx = ctx_at(root);
	struct ublkit_swapoff_estimate e;

	/* 600000 KiB used; 300000 available + 262144 free on zram */
	write_meminfo(root, 300000);
	write_swaps(root, 600000, 0);
	ublkit_swapoff_estimate_init(&e);
	CHECK_EQ(ublkit_swap_off_check(ctx, "/dev/ublkb0", &e), -ENOMEM);
	CHECK(!e.fits);
	CHECK_EQ(e.used, 600000ULL << 10);
	CHECK_EQ(e.mem_available, 300000ULL << 10);
	/* the area's own free space does not count */
	CHECK_EQ(e.other_swap_free, 262144ULL << 10);
	CHECK_EQ(e.margin, (uint64_t)MARGIN_KB << 10);
	CHECK(strstr(e.reason, "kill") != NULL);

	write_swaps(root, 100000, 0);
	CHECK_EQ(ublkit_swap_off_check(ctx, "/dev/ublkb0", &e), 0);
	CHECK(e.fits);

	/* the boundary: used + margin == available + other free fits, 1 KiB more does not */
	write_swaps(root, 300000 + 262144 - MARGIN_KB, 0);
	CHECK_EQ(ublkit_swap_off_check(ctx, "/dev/ublkb0", &e), 0);
	write_swaps(root, 300000 + 262144 - MARGIN_KB + 1, 0);
	CHECK_EQ(ublkit_swap_off_check(ctx, "/dev/ublkb0", &e), -ENOMEM);
	/* other swap that is itself used offers less */
	write_swaps(root, 300000 + 262144 - MARGIN_KB, 1);
	CHECK_EQ(ublkit_swap_off_check(ctx, "/dev/ublkb0", &e), -ENOMEM);
	CHECK_EQ(e.other_swap_free, 262143ULL << 10);

	/* nothing in use always fits, even with no memory to spare */
	write_meminfo(root, 0);
	write_swaps(root, 0, 262144);
	CHECK_EQ(ublkit_swap_off_check(ctx, "/dev/ublkb0", &e), 0);
	/* the smallest use does not */
	write_swaps(root, 4, 262144);
	CHECK_EQ(ublkit_swap_off_check(ctx, "/dev/ublkb0", &e), -ENOMEM);

	/* kernels before 3.14 have no MemAvailable: free + cached + buffers */
	fake_write(root, "/proc/meminfo",
		   "MemTotal:         512000 kB\nMemFree:           10000 kB\n"
		   "Buffers:            1000 kB\nCached:           200000 kB\n");
	write_swaps(root, 100, 0);
	CHECK_EQ(ublkit_swap_off_check(ctx, "/dev/ublkb0", &e), 0);
	CHECK_EQ(e.mem_available, 211000ULL << 10);
	fake_write(root, "/proc/meminfo", "MemFree: 10000 kB\n");
	CHECK_EQ(ublkit_swap_off_check(ctx, "/dev/ublkb0", &e), -ENODATA);
	write_meminfo(root, 0);
	write_swaps(root, 4, 262144);

	CHECK_EQ(ublkit_swap_off_check(ctx, "/dev/ublkb9", &e), -ENOENT);
	CHECK(strstr(e.reason, "not an active swap area") != NULL);
	CHECK_EQ(ublkit_swap_off_check(ctx, "/dev/ublkb0", NULL), -ENOMEM);
	/* the kernel is never asked while a sysroot is set */
	CHECK_EQ(ublkit_swap_off(ctx, "/dev/ublkb0", 0, &e), -EXDEV);
	CHECK_EQ(ublkit_swap_on(ctx, "/dev/ublkb0", 5, 0), -EXDEV);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static void test_swapoff_precheck_by_identity(void)
{
	char *root = fake_root_linux();
	struct ublkit_ctx *ctx = ctx_at(root);
	struct ublkit_swapoff_estimate e;

	/* the caller names a file by another path than /proc/swaps does */
	fake_write(root, "/var/swapfile", "");
	fake_mkdir(root, "/srv");
	{
		char link[4200];

		snprintf(link, sizeof(link), "%s/srv/swap", root);
		CHECK_EQ(symlink("../var/swapfile", link), 0);
	}
	write_meminfo(root, 100000);
	fake_write(root, "/proc/swaps", SWAPS_HEADER "/var/swapfile file 1048572 2048 -2\n");
	ublkit_swapoff_estimate_init(&e);
	CHECK_EQ(ublkit_swap_off_check(ctx, "/srv/swap", &e), 0);
	CHECK_EQ(e.used, 2048ULL << 10);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static void test_swap_on_arguments(void)
{
	struct ublkit_ctx *ctx = ctx_at(NULL);

	/* refused before the kernel is asked */
	CHECK_EQ(ublkit_swap_on(ctx, "/nonexistent", UBLKIT_SWAP_PRIORITY_MAX + 1, 0), -EINVAL);
	CHECK_EQ(ublkit_swap_on(ctx, "/nonexistent", -2, 0), -EINVAL);
	CHECK_EQ(ublkit_swap_on(ctx, "/nonexistent", 0, 1u << 9), -EINVAL);
	CHECK_EQ(ublkit_swap_off(ctx, "/nonexistent", 1u << 9, NULL), -EINVAL);
	CHECK_EQ(ublkit_swap_off(ctx, "/nonexistent", 0, NULL), -ENOENT);
	{
		struct ublkit_swapoff_estimate e;

		ublkit_swapoff_estimate_init(&e);
		CHECK_EQ(ublkit_swap_off(ctx, "/nonexistent", 0, &e), -ENOENT);
		CHECK(strstr(e.reason, "/nonexistent is not an active swap area") != NULL);
	}
	ublkit_ctx_unref(ctx);
}

/* ---- swap on ublk: its swap file, its undo, its server's refusal ------- */

/* A new directory on a disk file system (the build tree), or NULL. */
static char *disk_tmpdir(void)
{
	char *d = strdup("./ublkit-swap.XXXXXX");
	struct statfs sf;

	if (!d || !mkdtemp(d) || statfs(d, &sf) < 0 || sf.f_type == 0x01021994) {
		if (d)
			rmdir(d);
		free(d);
		return NULL;
	}
	return d;
}

static void test_swap_file_create(void)
{
	struct ublkit_ctx *ctx = ctx_at(NULL);
	char *dir = disk_tmpdir();
	char path[4096], shm[64];
	struct stat st;

	/* in memory: refused before it takes any, and nothing is left */
	snprintf(shm, sizeof(shm), "/dev/shm/ublkit-swap-test.%d", (int)getpid());
	CHECK_EQ(swap_file_create(ctx, shm, 1 << 20), -EINVAL);
	CHECK(strstr(test_last_error, "tmpfs") != NULL);
	CHECK(access(shm, F_OK) < 0);
	CHECK_EQ(swap_file_create(ctx, "/nonexistent/dir/swap.img", 1 << 20), -ENOENT);
	CHECK_EQ(swap_file_create(ctx, shm, 0), -EINVAL);
	if (!dir) {
		printf("# no disk file system here\n");
		ublkit_ctx_unref(ctx);
		return;
	}
	snprintf(path, sizeof(path), "%s/swap.img", dir);
	test_log_reset();
	CHECK_EQ(swap_file_create(ctx, path, 4 << 20), 1);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_size, 4 << 20);
	CHECK_EQ(st.st_mode & 07777, 0600);
	/* every block allocated: no hole a swapped-out page would have to fill */
	CHECK((uint64_t)st.st_blocks * 512 >= 4 << 20);
	/* one that exists is left alone */
	CHECK_EQ(swap_file_create(ctx, path, 8 << 20), 0);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_size, 4 << 20);
	unlink(path);
	rmdir(dir);
	free(dir);
	ublkit_ctx_unref(ctx);
}

/* A swap area of ublkit's own label is taken again; anyone else's is not. */
static void test_backing_own_swap(void)
{
	struct ublkit_ctx *ctx = ctx_at(NULL);
	char *dir = disk_tmpdir();
	char path[4096];

	if (!dir) {
		printf("# no disk file system here\n");
		ublkit_ctx_unref(ctx);
		return;
	}
	/* the checks take absolute paths, as the command line makes them */
	if (!realpath(dir, path)) {
		CHECK(false);
		return;
	}
	strcat(path, "/swap.img");
	CHECK_EQ(swap_file_create(ctx, path, 4 << 20), 1);
	CHECK_EQ(swap_backing_check(ctx, path, "mine", 0, 0), 0);
	CHECK_EQ(ublkit_swap_format(ctx, path, "mine", 0, NULL), 0);
	CHECK_EQ(swap_backing_check(ctx, path, "mine", 0, 0), 0);
	test_log_reset();
	CHECK_EQ(swap_backing_check(ctx, path, "theirs", 0, 0), -EEXIST);
	CHECK(strstr(test_last_error, "swap") != NULL);
	CHECK_EQ(swap_backing_check(ctx, path, "theirs", 0, UBLKIT_SWAP_FORCE), 0);
	/* more than the file holds */
	CHECK(swap_backing_check(ctx, path, "mine", 8 << 20, 0) < 0);
	unlink(path);
	rmdir(dir);
	free(dir);
	ublkit_ctx_unref(ctx);
}

/* A signature written over the first page is undone: the page as it was. */
static void test_first_page_restore(void)
{
	char *root = fake_root_new();
	struct ublkit_ctx *ctx = ctx_at(root);
	long psize = sysconf(_SC_PAGESIZE);
	char *page = malloc((size_t)psize), *was = malloc((size_t)psize);
	char path[4096], type[64];
	int fd;

	snprintf(path, sizeof(path), "%s/dev/ublkb0", root);
	fake_mkdir(root, "/dev");
	make_file(path, 1 << 20);
	fd = open(path, O_RDWR | O_CLOEXEC);
	for (long i = 0; i < psize; i++)
		was[i] = (char)(i * 7 + 1);
	CHECK_EQ(pwrite(fd, was, (size_t)psize, 0), psize);
	CHECK_EQ(swap_first_page_read(ctx, "/dev/ublkb0", page, (size_t)psize), 0);
	CHECK(memcmp(page, was, (size_t)psize) == 0);
	CHECK_EQ(ublkit_swap_format_fd(ctx, fd, "ublkit-swap", NULL), 0);
	if (have_program("blkid")) {
		blkid_value(path, "TYPE", type, sizeof(type));
		CHECK_STREQ(type, "swap");
	}
	CHECK_EQ(swap_first_page_write(ctx, "/dev/ublkb0", page, (size_t)psize), 0);
	CHECK_EQ(pread(fd, page, (size_t)psize, 0), psize);
	CHECK(memcmp(page, was, (size_t)psize) == 0);
	if (have_program("blkid")) {
		blkid_value(path, "TYPE", type, sizeof(type));
		CHECK_STREQ(type, "");
	}
	CHECK_EQ(swap_first_page_read(ctx, "/dev/ublkb9", page, (size_t)psize), -ENOENT);
	close(fd);
	free(page);
	free(was);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static char logged[SPAWN_ERRORS_MAX * 2];
static int logged_lines;

static void collect(struct ublkit_ctx *ctx, int priority, const char *file, int line,
		    const char *fn, const char *format, va_list args, void *userdata)
{
	size_t n = strlen(logged);

	if (priority > UBLKIT_LOG_ERR)
		return;
	vsnprintf(logged + n, sizeof(logged) - n, format, args);
	n = strlen(logged);
	if (n + 1 < sizeof(logged))
		strcpy(logged + n, "|");
	logged_lines++;
}

/* A refusing server's error lines reach its starter, every one and whole. */
static void test_server_refusal_whole(void)
{
	struct ublkit_ctx *ctx = ctx_at(NULL);
	char errors[SPAWN_ERRORS_MAX] = "", line[1100];
	char refusal[800];
	size_t n;

	/* the refusal of a server without CAP_IPC_LOCK and a 64 KiB memlock limit */
	snprintf(refusal, sizeof(refusal),
		 "not safe to back swap: memory-locked: mlockall(MCL_CURRENT|MCL_FUTURE) failed: "
		 "Cannot allocate memory (RLIMIT_MEMLOCK 64 KiB); run `ulimit -l unlimited`, set "
		 "LimitMEMLOCK=infinity in the unit, or grant CAP_IPC_LOCK; io-flusher: "
		 "PR_SET_IO_FLUSHER: Operation not permitted; grant CAP_SYS_RESOURCE "
		 "(AmbientCapabilities=CAP_SYS_RESOURCE in the unit, or setcap cap_sys_resource+ep "
		 "on the server); oom-protected: oom_score_adj is 0; grant CAP_SYS_RESOURCE "
		 "(AmbientCapabilities=CAP_SYS_RESOURCE in the unit, or setcap cap_sys_resource+ep "
		 "on the server), or set OOMScoreAdjust=-1000 in the unit");
	CHECK(strlen(refusal) > 512);
	spawn_errors_add(errors, sizeof(errors), "mlock-current is required but not in force");
	spawn_errors_add(errors, sizeof(errors), refusal);
	ublkit_ctx_set_log_fn(ctx, collect, NULL);
	logged[0] = '\0';
	logged_lines = 0;
	spawn_errors_log(ctx, errors);
	CHECK_EQ(logged_lines, 2);
	CHECK(strstr(logged, "mlock-current is required but not in force|") == logged);
	CHECK(strstr(logged, "or set OOMScoreAdjust=-1000 in the unit|") != NULL);

	/* bounded: the first lines stay whole, and the cut is marked */
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	for (int i = 0; i < 20; i++)
		spawn_errors_add(errors, sizeof(errors), line);
	n = strlen(errors);
	CHECK(n < sizeof(errors));
	CHECK(n >= 4 && strcmp(errors + n - 4, "...\n") == 0);
	CHECK(strstr(errors, refusal) != NULL);
	spawn_errors_add(errors, sizeof(errors), "later");
	CHECK(strstr(errors, "later") == NULL);
	/* a last line without its newline is logged too */
	logged[0] = '\0';
	logged_lines = 0;
	spawn_errors_log(ctx, "one\ntwo");
	CHECK_STREQ(logged, "one|two|");
	ublkit_ctx_unref(ctx);
}

/* A server works in /: the backing's path it gets is absolute. */
static void test_backing_path_absolute(void)
{
	char cwd[4096], buf[4096], want[4200];
	volatile size_t tiny_size = 8; /* not known when compiled: no truncation warning */
	char tiny[8];

	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK_EQ(spawn_path_absolute("/dev/nvme0n2", buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "/dev/nvme0n2");
	CHECK_EQ(spawn_path_absolute("swap.img", buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%s/swap.img", cwd);
	CHECK_STREQ(buf, want);
	CHECK_EQ(spawn_path_absolute("/dev/nvme0n2", tiny, tiny_size), -ENAMETOOLONG);
	CHECK_EQ(spawn_path_absolute("swap.img", tiny, tiny_size), -ENAMETOOLONG);
}

static void test_unescape(void)
{
	char s[] = "/a\\040b\\011c\\134d\\0x";

	unescape_octal(s);
	CHECK_STREQ(s, "/a b\tc\\d\\0x");
}

int main(void)
{
	RUN(test_format_header);
	RUN(test_format_label);
	RUN(test_format_too_small);
	RUN(test_refuse_ext4);
	RUN(test_format_wipes_beyond_first_page);
	RUN(test_check_empty_and_missing);
	RUN(test_check_old_struct);
	RUN(test_active_swap_file);
	RUN(test_loop_backing_file);
	RUN(test_mountinfo);
	RUN(test_sysfs_holders_partitions);
	RUN(test_blockdev_in_use);
	RUN(test_loop_device);
	RUN(test_proc_swaps);
	RUN(test_swapoff_precheck);
	RUN(test_swapoff_precheck_by_identity);
	RUN(test_swap_on_arguments);
	RUN(test_unescape);
	RUN(test_swap_file_create);
	RUN(test_backing_own_swap);
	RUN(test_first_page_restore);
	RUN(test_server_refusal_whole);
	RUN(test_backing_path_absolute);
	return test_result();
}
