/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ublkit nvme list/info output over a captured topology: the command's
 * own code (tools/cmd-nvme.c) with the library's NVMe view fed by the
 * fake source, on a fake root. The JSON is compared with the files in
 * tests/unit/data/ byte for byte.
 */
#include "config.h"

#include <fcntl.h>
#include <getopt.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "fake-nvme.h"
#include "../../tools/tool.h"

#define QEMU_NQN "nqn.2019-08.org.qemu:nqn.2024-01.org.ublkit:subsys0"

static char *root;

/* Run `ublkit nvme ARGS...` with stdout into @out (malloc'ed); returns the exit code. */
static int run_nvme(char **out, int argc, char **argv)
{
	struct tool t = { .prog = "nvme" };
	char path[] = "/tmp/ublkit-nvme-cli.XXXXXX";
	int fd = mkstemp(path), saved, r;
	struct stat st;

	CHECK(fd >= 0);
	t.ctx = test_ctx();
	CHECK_EQ(ublkit_ctx_set_sysroot(t.ctx, root), 0);
	fake_nvme_install(t.ctx);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	optind = 0;
	r = cmd_nvme(&t, argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	fstat(fd, &st);
	*out = calloc(1, (size_t)st.st_size + 1);
	if (*out && pread(fd, *out, (size_t)st.st_size, 0) != st.st_size)
		(*out)[0] = '\0';
	close(fd);
	unlink(path);
	ublkit_ctx_unref(t.ctx);
	return r;
}

static char *slurp(const char *name)
{
	char p[4096];
	struct stat st;
	char *buf;
	int fd;

	snprintf(p, sizeof(p), "%s/tests/unit/data/%s", getenv("top_srcdir") ? getenv("top_srcdir") : ".",
		 name);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "%s: %m\n", p);
		exit(EXIT_FAILURE);
	}
	buf = calloc(1, (size_t)st.st_size + 1);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size)
		exit(EXIT_FAILURE);
	close(fd);
	return buf;
}

/* UBLKIT_UPDATE_GOLDEN=1 rewrites the files instead (review the diff). */
static void check_golden(const char *got, const char *name)
{
	char *want;

	if (getenv("UBLKIT_UPDATE_GOLDEN")) {
		char p[4096];
		FILE *f;

		snprintf(p, sizeof(p), "%s/tests/unit/data/%s",
			 getenv("top_srcdir") ? getenv("top_srcdir") : ".", name);
		f = fopen(p, "we");
		CHECK(f != NULL);
		if (f) {
			fputs(got, f);
			fclose(f);
		}
		return;
	}
	want = slurp(name);

	if (strcmp(got, want) != 0) {
		fprintf(stderr, "output differs from tests/unit/data/%s; got:\n%s", name, got);
		test_failures++;
	}
	free(want);
}

/* The python3 json module, when there is one, must accept it. */
static void check_valid_json(const char *s)
{
	FILE *p;

	if (system("command -v python3 >/dev/null 2>&1") != 0)
		return;
	p = popen("python3 -c 'import json,sys; json.load(sys.stdin)'", "w");
	CHECK(p != NULL);
	if (!p)
		return;
	fputs(s, p);
	CHECK_EQ(pclose(p), 0);
}

static void setup_root(void)
{
	char p[4200];

	root = fake_root_linux();
	fake_mkdir(root, "/dev");
	fake_write(root, "/proc/self/mountinfo",
		   "27 1 254:0 / / rw - ext4 /dev/vda rw\n");
	/* nvme0n2 (nsid 1) clean, nvme0n1 (nsid 2) active swap, nvme1n1 an
	 * ext4 signature, nvme2n1 gone since the scan */
	fake_write(root, "/sys/block/nvme0n2/nsid", "1\n");
	fake_write(root, "/sys/block/nvme0n2/device/subsysnqn", QEMU_NQN "\n");
	fake_write(root, "/sys/block/nvme0n1/nsid", "2\n");
	fake_write(root, "/sys/block/nvme0n1/device/subsysnqn", QEMU_NQN "\n");
	fake_write(root, "/sys/block/nvme1n1/nsid", "1\n");
	fake_write(root, "/sys/block/nvme1n1/device/subsysnqn",
		   "nqn.2024-01.org.ublkit:loop-test\n");
	fake_write(root, "/proc/swaps",
		   "Filename Type Size Used Priority\n/dev/nvme0n1 partition 524284 0 -2\n");
	snprintf(p, sizeof(p), "truncate -s 16M '%s/dev/nvme0n2' '%s/dev/nvme0n1' '%s/dev/nvme1n1'",
		 root, root, root);
	CHECK_EQ(system(p), 0);
	/* a fixed UUID and label keep the output the same from run to run */
	snprintf(p, sizeof(p), "mkfs.ext4 -q -F -L data -U 6c3c1d5e-0f0a-4c9e-9d1b-2f5b3a7c8e90 "
			       "'%s/dev/nvme1n1' >/dev/null 2>&1",
		 root);
	if (system(p) != 0) {
		printf("# mkfs.ext4 missing: nvme1n1 gets a swap signature instead\n");
		snprintf(p, sizeof(p), "mkswap -L data -U 6c3c1d5e-0f0a-4c9e-9d1b-2f5b3a7c8e90 "
				       "'%s/dev/nvme1n1' >/dev/null 2>&1",
			 root);
		CHECK_EQ(system(p), 0);
	}
}

static void test_list_json(void)
{
	char *args[] = { (char *)"nvme", (char *)"list", (char *)"--json", NULL };
	char *out = NULL;

	CHECK_EQ(run_nvme(&out, 3, args), EXIT_OK);
	check_valid_json(out);
	check_golden(out, "nvme-list.json");
	free(out);
}

static void test_list_text(void)
{
	char *args[] = { (char *)"nvme", (char *)"list", NULL };
	char *out = NULL;

	CHECK_EQ(run_nvme(&out, 2, args), EXIT_OK);
	check_golden(out, "nvme-list.txt");
	free(out);
}

static void test_info_json(void)
{
	char *args[] = { (char *)"nvme", (char *)"info", (char *)"/dev/nvme0n2", (char *)"--json",
			 NULL };
	char *out = NULL;

	CHECK_EQ(run_nvme(&out, 4, args), EXIT_OK);
	check_valid_json(out);
	check_golden(out, "nvme-info.json");
	free(out);

	/* a health log that cannot be read leaves the rest */
	fake_nvme_fail_health(-ENODEV);
	CHECK_EQ(run_nvme(&out, 4, args), EXIT_OK);
	check_valid_json(out);
	CHECK(strstr(out, "\"health\": null") != NULL);
	CHECK(strstr(out, "\"health_error\": \"No such device\"") != NULL);
	fake_nvme_fail_health(0);
	free(out);
}

static void test_usage(void)
{
	char *none[] = { (char *)"nvme", (char *)"info", NULL };
	char *bad[] = { (char *)"nvme", (char *)"info", (char *)"/dev/sda", NULL };
	char *verb[] = { (char *)"nvme", (char *)"frob", NULL };
	char *extra[] = { (char *)"nvme", (char *)"list", (char *)"x", NULL };
	char *help[] = { (char *)"nvme", (char *)"--help", NULL };
	char *out = NULL;

	CHECK_EQ(run_nvme(&out, 2, none), EXIT_USAGE);
	free(out);
	CHECK_EQ(run_nvme(&out, 3, bad), EXIT_FAIL);
	free(out);
	CHECK_EQ(run_nvme(&out, 2, verb), EXIT_USAGE);
	free(out);
	CHECK_EQ(run_nvme(&out, 3, extra), EXIT_USAGE);
	free(out);
	CHECK_EQ(run_nvme(&out, 2, help), EXIT_OK);
	CHECK(strstr(out, "Usage: ublkit nvme list") != NULL);
	free(out);
}

static char *escaped(const char *s)
{
	char *json = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&json, &len);

	CHECK(f != NULL);
	json_escape_to(f, s);
	fclose(f);
	return json;
}

/*
 * Model and serial strings come from the drive and may hold any byte;
 * --json must stay valid JSON, which is UTF-8: a byte that is not part of
 * a valid UTF-8 sequence (a lone 0xff, an overlong 0xc0 0x80, an encoded
 * surrogate, a cut sequence) becomes U+FFFD (found by
 * tests/fuzz/fuzz-json-string).
 */
static void test_json_strings(void)
{
	char *j;

	j = escaped("a\"b\\c\n\t\001\177");
	CHECK_STREQ(j, "\"a\\\"b\\\\c\\n\\t\\u0001\177\"");
	free(j);
	j = escaped("caf\303\251 \342\202\254 \360\237\222\276");
	CHECK_STREQ(j, "\"caf\303\251 \342\202\254 \360\237\222\276\"");
	free(j);
	j = escaped("S/N \377x");
	CHECK_STREQ(j, "\"S/N \\ufffdx\"");
	free(j);
	j = escaped("\300\200|\355\240\200|\364\220\200\200|\342\202");
	CHECK_STREQ(j, "\"\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|"
		       "\\ufffd\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\"");
	free(j);
}

int main(void)
{
	setup_root();
	RUN(test_list_json);
	RUN(test_list_text);
	RUN(test_info_json);
	RUN(test_usage);
	RUN(test_json_strings);
	fake_root_free(root);
	return test_result();
}
