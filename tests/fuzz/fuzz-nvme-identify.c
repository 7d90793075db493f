/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An NVMe snapshot built from what sysfs and Identify say: subsystem,
 * controller and namespace names, NQNs, model and serial strings,
 * namespace identifiers and Identify Namespace data, multipath path
 * names. The input is a little program: each step takes a byte that
 * says what to add, then newline-terminated strings and raw bytes.
 * After nvme_topo_finish(), every namespace has a sane identity by
 * which it is found again, and paths hang off the namespace they name.
 */
#include "config.h"

#include <ctype.h>

#include "ublkit-private.h"
#include "nvme-private.h"
#include "fuzz.h"

struct cursor {
	const uint8_t *p;
	size_t n;
};

static uint8_t byte(struct cursor *c)
{
	uint8_t b = 0;

	if (c->n) {
		b = *c->p++;
		c->n--;
	}
	return b;
}

static uint64_t number(struct cursor *c, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v = v << 8 | byte(c);
	return v;
}

/* A string up to a newline; NULL when it is "\x01" (an absent attribute). */
static const char *string(struct cursor *c, char *buf, size_t size)
{
	size_t i = 0;

	while (c->n && *c->p != '\n') {
		if (i + 1 < size)
			buf[i++] = (char)*c->p;
		c->p++;
		c->n--;
	}
	byte(c);
	buf[i] = '\0';
	return strcmp(buf, "\x01") ? buf : NULL;
}

static void bytes(struct cursor *c, uint8_t *buf, size_t size)
{
	memset(buf, 0, size);
	for (size_t i = 0; i < size && c->n; i++)
		buf[i] = byte(c);
}

struct state {
	struct ublkit_nvme *t;
	struct ublkit_nvme_subsys *subsys;
	struct ublkit_nvme_ctrl *ctrl;
	uint8_t id_ns[NVME_PAGE_BYTES];
	uint8_t nguid[NVME_NGUID_BYTES], eui64[NVME_EUI64_BYTES], uuid[NVME_UUID_BYTES];
};

static void add_subsys(struct state *s, struct cursor *c)
{
	char name[64], nqn[300], type[32];
	const char *a = string(c, name, sizeof(name));
	const char *b = string(c, nqn, sizeof(nqn));

	s->subsys = nvme_topo_add_subsys(s->t, a, b, string(c, type, sizeof(type)));
}

static void add_ctrl(struct state *s, struct cursor *c)
{
	char v[8][256];
	struct nvme_ctrl_facts f = {
		.name = string(c, v[0], sizeof(v[0])),
		.model = string(c, v[1], sizeof(v[1])),
		.serial = string(c, v[2], sizeof(v[2])),
		.firmware = string(c, v[3], sizeof(v[3])),
		.transport = string(c, v[4], sizeof(v[4])),
		.address = string(c, v[5], sizeof(v[5])),
		.state = string(c, v[6], sizeof(v[6])),
		.subsysnqn = string(c, v[7], sizeof(v[7])),
	};

	s->ctrl = nvme_topo_add_ctrl(s->t, byte(c) & 1 ? s->subsys : NULL, &f);
}

static void add_ns(struct state *s, struct cursor *c)
{
	char name[64], generic[64];
	struct nvme_ns_facts f = {
		.name = string(c, name, sizeof(name)),
		.generic_name = string(c, generic, sizeof(generic)),
	};
	uint8_t which = byte(c);

	f.nsid = (uint32_t)number(c, 4);
	f.lba_size = (uint32_t)number(c, 4);
	f.lba_count = number(c, 8);
	f.lba_used = number(c, 8);
	if (which & 1) {
		bytes(c, s->nguid, sizeof(s->nguid));
		f.nguid = s->nguid;
	}
	if (which & 2) {
		bytes(c, s->eui64, sizeof(s->eui64));
		f.eui64 = s->eui64;
	}
	if (which & 4) {
		bytes(c, s->uuid, sizeof(s->uuid));
		f.uuid = s->uuid;
	}
	if (which & 8) {
		/* Identify Namespace: the bytes up to the EUI64 field, the rest zero */
		bytes(c, s->id_ns, 128);
		memset(s->id_ns + 128, 0, sizeof(s->id_ns) - 128);
		f.id_ns = s->id_ns;
	}
	nvme_topo_add_ns(s->t, which & 16 ? s->subsys : NULL, which & 32 ? s->ctrl : NULL, &f);
}

static void add_path(struct state *s, struct cursor *c)
{
	char name[64], ana[32];
	const char *n = string(c, name, sizeof(name));

	(void)nvme_topo_add_path(s->t, s->ctrl, n, string(c, ana, sizeof(ana)));
}

static bool hex_or_empty(const char *s, size_t len)
{
	if (!*s)
		return true;
	if (strlen(s) != len)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s) && (*s < 'a' || *s > 'f'))
			return false;
	return true;
}

static void check_ns(const struct ublkit_nvme *t, const struct ublkit_nvme_ns *ns)
{
	const char *id = ublkit_nvme_ns_get_identity(ns);

	FUZZ_ASSERT(id && *id);
	for (const char *p = id; *p; p++)
		FUZZ_ASSERT(isalnum((unsigned char)*p) || strchr(".:_-", *p));
	FUZZ_ASSERT(ublkit_nvme_id_kind_name(ublkit_nvme_ns_get_identity_kind(ns)));
	FUZZ_ASSERT(ublkit_nvme_find_ns(t, id));
	/* "" is never looked up */
	FUZZ_ASSERT(!*ns->name || ublkit_nvme_find_ns(t, ublkit_nvme_ns_get_name(ns)));
	FUZZ_ASSERT(hex_or_empty(ns->nguid, 2 * NVME_NGUID_BYTES));
	FUZZ_ASSERT(hex_or_empty(ns->eui64, 2 * NVME_EUI64_BYTES));
	FUZZ_ASSERT(!ns->uuid[0] || strlen(ns->uuid) == 36);
	(void)ublkit_nvme_ns_get_size(ns);
	(void)ublkit_nvme_ns_get_model(ns);
	for (size_t i = 0; i < ublkit_nvme_ns_get_path_count(ns); i++) {
		const char *p = ublkit_nvme_path_get_name(ublkit_nvme_ns_get_path(ns, i));

		/* nvmeXcYnZ belongs to nvmeXnZ */
		FUZZ_ASSERT(p && !strncmp(p, "nvme", 4));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = { data, size };
	struct state *s = calloc(1, sizeof(*s));
	char nqn[256], id[64];

	FUZZ_ASSERT(s);
	s->t = nvme_topo_new();
	FUZZ_ASSERT(s->t);
	(void)nvme_topo_set_host(s->t, string(&c, nqn, sizeof(nqn)), string(&c, id, sizeof(id)));
	for (int steps = 0; c.n && steps < 32; steps++) {
		switch (byte(&c) % 4) {
		case 0: add_subsys(s, &c); break;
		case 1: add_ctrl(s, &c); break;
		case 2: add_ns(s, &c); break;
		default: add_path(s, &c); break;
		}
	}
	FUZZ_ASSERT(nvme_topo_finish(s->t) == 0);
	for (size_t i = 0; i < ublkit_nvme_get_ns_count(s->t); i++)
		check_ns(s->t, ublkit_nvme_get_ns(s->t, i));
	nvme_topo_free(s->t);
	free(s);
	return 0;
}
