/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * depmod's text indexes (/lib/modules/RELEASE/modules.builtin and
 * modules.dep) through module_index_find(). The input's first line is
 * the module looked for, the rest the index. A module found is named by
 * a line: its path's last component is NAME.ko... ('-' and '_' alike).
 */
#include "config.h"

#include "ublkit-private.h"
#include "fuzz.h"

static void underscores(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '-')
			s[i] = '_';
}

/* Some line's module path (before ':') ends in "/NAME.ko..." or is "NAME.ko...". */
static bool index_names(char *text, size_t len, const char *name)
{
	size_t nlen = strlen(name);
	char *line = text, *end = text + len;

	underscores(text, len);
	while (line < end) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		char *stop = nl ? nl : end, *colon = memchr(line, ':', (size_t)(stop - line));
		char *nul = memchr(line, '\0', (size_t)(stop - line));
		char *path_end = colon ? colon : stop, *base = line;

		if (nul && nul < path_end)
			path_end = nul;
		for (char *c = line; c < path_end; c++)
			if (*c == '/')
				base = c + 1;
		if ((size_t)(path_end - base) >= nlen + 3 && memcmp(base, name, nlen) == 0 &&
		    memcmp(base + nlen, ".ko", 3) == 0 && !memmem(base, nlen, ".ko", 3))
			return true;
		line = stop + 1;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t nlen = nl ? (size_t)(nl - data) : size, rest;
	char *name, *text;
	struct fuzz_file ff;
	int r;

	if (!nl || nlen == 0 || nlen > 64 || memchr(data, '\0', nlen))
		return 0;
	name = fuzz_string(data, nlen);
	rest = size - nlen - 1;
	r = module_index_find(fuzz_open(&ff, nl + 1, rest), name);
	fuzz_close(&ff);
	FUZZ_ASSERT(r == 0 || r == 1);
	text = fuzz_string(nl + 1, rest);
	underscores(name, nlen);
	if (r == 1)
		FUZZ_ASSERT(index_names(text, rest, name));
	free(text);
	free(name);
	return 0;
}
