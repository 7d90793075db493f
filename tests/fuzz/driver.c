/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main() for a fuzz target when libFuzzer is not there (a gcc build): run
 * LLVMFuzzerTestOneInput() once on each file named, or on each file of a
 * directory named, so that `make check` replays the corpus everywhere.
 * Arguments starting with '-' are libFuzzer's options and are ignored,
 * so the same command line works for both.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

static int run_file(const char *path)
{
	struct stat st;
	uint8_t *data;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	/* exactly the file's size, so that a read past the end is one */
	data = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!data)
		abort();
	n = read(fd, data, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		fprintf(stderr, "%s: short read\n", path);
		free(data);
		return -1;
	}
	LLVMFuzzerTestOneInput(data, (size_t)n);
	free(data);
	return 1;
}

static int run_dir(const char *dir)
{
	struct dirent **names;
	int n, runs = 0;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char p[4096];
		struct stat st;

		snprintf(p, sizeof(p), "%s/%s", dir, names[i]->d_name);
		if (names[i]->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
			int r = run_file(p);

			if (r < 0)
				runs = -1;
			else if (runs >= 0)
				runs++;
		}
		free(names[i]);
	}
	free(names);
	return runs;
}

int main(int argc, char **argv)
{
	int total = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		int r;

		if (argv[i][0] == '-')
			continue;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		r = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]);
		if (r < 0)
			return 1;
		total += r;
	}
	printf("%s: %d inputs\n", argv[0], total);
	return 0;
}
