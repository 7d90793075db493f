/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Status lines of device-mapper targets, as DM_DEVICE_STATUS gives them,
 * with the table line they go with. Input: "TYPE [LENGTH]\nSTATUS\nTABLE"
 * (no third line: no table). The thin pool, thin, cache, striped,
 * linear and crypt parsers, the event classification and the masking of
 * a crypt key in a table line all see it.
 */
#include "config.h"

#include "ublkit-private.h"
#include "dm-private.h"
#include "fuzz.h"

static char *next_line(char **s)
{
	char *line = *s, *nl;

	if (!line)
		return NULL;
	nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		*s = nl + 1;
	} else {
		*s = NULL;
	}
	return line;
}

static uint64_t value(const struct ublkit_dm_status *st, int v, bool *have)
{
	uint64_t x = 0;

	*have = ublkit_dm_status_get_value(st, v, &x) == 0;
	return x;
}

static void check(const struct ublkit_dm_status *st, uint64_t length)
{
	uint64_t used, total, stripes, failed;
	bool h1, h2;
	char msg[64];
	int ev;

	FUZZ_ASSERT(value(st, UBLKIT_DM_SIZE_SECTORS, &h1) == length && h1);
	FUZZ_ASSERT(ublkit_dm_mode_name(ublkit_dm_status_get_mode(st)));
	FUZZ_ASSERT(ublkit_dm_kind_name(ublkit_dm_status_get_kind(st)));
	used = value(st, UBLKIT_DM_DATA_USED_BLOCKS, &h1);
	total = value(st, UBLKIT_DM_DATA_TOTAL_BLOCKS, &h2);
	FUZZ_ASSERT(h1 == h2 && used <= total);
	used = value(st, UBLKIT_DM_METADATA_USED_BLOCKS, &h1);
	total = value(st, UBLKIT_DM_METADATA_TOTAL_BLOCKS, &h2);
	FUZZ_ASSERT(h1 == h2 && used <= total);
	stripes = value(st, UBLKIT_DM_STRIPES, &h1);
	failed = value(st, UBLKIT_DM_STRIPES_FAILED, &h2);
	FUZZ_ASSERT(!h2 || (h1 && failed <= stripes));
	FUZZ_ASSERT(!ublkit_dm_status_below_low_water(st) ||
		    ublkit_dm_status_get_kind(st) == UBLKIT_DM_THIN_POOL);
	/* a small buffer: the sentence is cut, still terminated */
	ev = dm_status_classify(st, msg, sizeof(msg));
	FUZZ_ASSERT(ev >= UBLKIT_DM_EVENT_CHANGED && ev <= UBLKIT_DM_EVENT_FAILED);
	FUZZ_ASSERT(memchr(msg, '\0', sizeof(msg)));
}

/* After masking, the key (the second word) is dashes or a keyring reference. */
static void check_mask(const char *table)
{
	char *p = strdup(table), *key;

	FUZZ_ASSERT(p);
	dm_mask_crypt_params(p);
	FUZZ_ASSERT(strlen(p) == strlen(table));
	key = strchr(p, ' ');
	if (key && key[1] != ':')
		for (key++; *key && *key != ' '; key++)
			FUZZ_ASSERT(*key == '-');
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size), *rest = text;
	char *head = next_line(&rest), *status = next_line(&rest), *table = next_line(&rest);
	struct ublkit_dm_status *st;
	char type[32] = "";
	unsigned long long length = 0;
	int r;

	if (sscanf(head, "%31s %llu", type, &length) < 1) {
		free(text);
		return 0;
	}
	st = dm_status_alloc("fuzz");
	FUZZ_ASSERT(st);
	r = dm_status_parse(st, type, length, status ? status : "", table);
	FUZZ_ASSERT(r == 0 || r == -EBADMSG);
	if (r == 0)
		check(st, length);
	ublkit_dm_status_unref(st);
	if (table)
		check_mask(table);
	free(text);
	return 0;
}
