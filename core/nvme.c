/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The NVMe view: a snapshot of libnvme's tree (host -> subsystems ->
 * controllers -> namespaces, multipath paths included), each namespace's
 * identity, the controller's health log, and who holds a namespace.
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stddef.h>

#include "ublkit-private.h"
#include "ctx-private.h"
#include "nvme-private.h"

/* ---- building a snapshot ------------------------------------------------ */

/* A copy without trailing blanks (Identify strings are space padded);
 * NULL for NULL or a blank string. */
static char *dup_or_null(const char *s)
{
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\n'))
		n--;
	return n ? strndup(s, n) : NULL;
}

/* strdup() that tells a NULL input from a failed allocation. */
static bool dup_field(char **dst, const char *s)
{
	*dst = dup_or_null(s);
	return *dst || !s || strspn(s, " \n") == strlen(s);
}

static bool grow(void *arrayp, size_t n, size_t elem)
{
	void **array = arrayp;
	void *p;

	/* grow in steps of 8 */
	if (n % 8)
		return true;
	p = realloc(*array, (n + 8) * elem);
	if (!p)
		return false;
	*array = p;
	return true;
}

struct ublkit_nvme *nvme_topo_new(void)
{
	struct ublkit_nvme *t = calloc(1, sizeof(*t));

	if (t)
		t->refcount = 1;
	return t;
}

int nvme_topo_set_host(struct ublkit_nvme *t, const char *hostnqn, const char *hostid)
{
	free(t->hostnqn);
	free(t->hostid);
	if (!dup_field(&t->hostnqn, hostnqn) || !dup_field(&t->hostid, hostid))
		return -ENOMEM;
	return 0;
}

static void subsys_free(struct ublkit_nvme_subsys *s)
{
	free(s->name);
	free(s->nqn);
	free(s->type);
	free(s);
}

struct ublkit_nvme_subsys *nvme_topo_add_subsys(struct ublkit_nvme *t, const char *name,
						const char *nqn, const char *type)
{
	struct ublkit_nvme_subsys *s;

	for (size_t i = 0; i < t->n_subsys; i++)
		if (name && t->subsys[i]->name && strcmp(t->subsys[i]->name, name) == 0)
			return t->subsys[i];
	if (!grow(&t->subsys, t->n_subsys, sizeof(*t->subsys)))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (!dup_field(&s->name, name) || !dup_field(&s->nqn, nqn) ||
	    !dup_field(&s->type, type)) {
		subsys_free(s);
		return NULL;
	}
	t->subsys[t->n_subsys++] = s;
	return s;
}

static void ctrl_free(struct ublkit_nvme_ctrl *c)
{
	free(c->name);
	free(c->model);
	free(c->serial);
	free(c->firmware);
	free(c->transport);
	free(c->address);
	free(c->state);
	free(c->subsysnqn);
	free(c);
}

struct ublkit_nvme_ctrl *nvme_topo_add_ctrl(struct ublkit_nvme *t, struct ublkit_nvme_subsys *s,
					    const struct nvme_ctrl_facts *f)
{
	struct ublkit_nvme_ctrl *c;

	if (!f->name)
		return NULL;
	for (size_t i = 0; i < t->n_ctrls; i++)
		if (strcmp(t->ctrls[i]->name, f->name) == 0)
			return t->ctrls[i];
	if (!grow(&t->ctrls, t->n_ctrls, sizeof(*t->ctrls)))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	/* a kernel name, not a padded Identify string: kept as it is, never NULL */
	c->name = strdup(f->name);
	if (!c->name || !dup_field(&c->model, f->model) ||
	    !dup_field(&c->serial, f->serial) || !dup_field(&c->firmware, f->firmware) ||
	    !dup_field(&c->transport, f->transport) || !dup_field(&c->address, f->address) ||
	    !dup_field(&c->state, f->state) ||
	    !dup_field(&c->subsysnqn, f->subsysnqn ? f->subsysnqn : s ? s->nqn : NULL)) {
		ctrl_free(c);
		return NULL;
	}
	c->subsys = s;
	t->ctrls[t->n_ctrls++] = c;
	return c;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void hex(char *buf, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = digits[p[i] >> 4];
		buf[2 * i + 1] = digits[p[i] & 15];
	}
	buf[2 * n] = '\0';
}

/* Offsets of NGUID and EUI64 in Identify Namespace data (NVMe base spec). */
#define ID_NS_NGUID_OFFSET 104
#define ID_NS_EUI64_OFFSET 120

/*
 * libnvme 1.3 fills its identifiers from the descriptor list only
 * (Identify CNS 03h, NVMe >= 1.3); a device older than that reports
 * NGUID and EUI64 in Identify Namespace alone, so fall back to it.
 */
static void ns_identifiers(struct ublkit_nvme_ns *ns, const struct nvme_ns_facts *f)
{
	const uint8_t *id = f->id_ns;
	const uint8_t *nguid = f->nguid, *eui64 = f->eui64;

	if ((!nguid || all_zero(nguid, NVME_NGUID_BYTES)) && id)
		nguid = id + ID_NS_NGUID_OFFSET;
	if ((!eui64 || all_zero(eui64, NVME_EUI64_BYTES)) && id)
		eui64 = id + ID_NS_EUI64_OFFSET;
	if (nguid && !all_zero(nguid, NVME_NGUID_BYTES))
		hex(ns->nguid, nguid, NVME_NGUID_BYTES);
	if (eui64 && !all_zero(eui64, NVME_EUI64_BYTES))
		hex(ns->eui64, eui64, NVME_EUI64_BYTES);
	if (f->uuid && !all_zero(f->uuid, NVME_UUID_BYTES)) {
		const uint8_t *u = f->uuid;

		snprintf(ns->uuid, sizeof(ns->uuid),
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
			 u[12], u[13], u[14], u[15]);
	}
}

static void ns_free(struct ublkit_nvme_ns *ns)
{
	free(ns->name);
	free(ns->block_device);
	free(ns->generic_device);
	free(ns->paths);	/* the paths themselves are the snapshot's */
	free(ns);
}

static struct ublkit_nvme_ns *find_ns_by_name(const struct ublkit_nvme *t, const char *name)
{
	for (size_t i = 0; i < t->n_ns; i++)
		if (strcmp(t->ns[i]->name, name) == 0)
			return t->ns[i];
	return NULL;
}

struct ublkit_nvme_ns *nvme_topo_add_ns(struct ublkit_nvme *t, struct ublkit_nvme_subsys *s,
					struct ublkit_nvme_ctrl *c, const struct nvme_ns_facts *f)
{
	struct ublkit_nvme_ns *ns;
	char dev[PATH_MAX];

	if (!f->name)
		return NULL;
	ns = find_ns_by_name(t, f->name);
	if (ns) {
		if (!ns->ctrl)
			ns->ctrl = c;
		return ns;
	}
	if (!grow(&t->ns, t->n_ns, sizeof(*t->ns)))
		return NULL;
	ns = calloc(1, sizeof(*ns));
	if (!ns)
		return NULL;
	snprintf(dev, sizeof(dev), "/dev/%s", f->name);
	ns->name = strdup(f->name);
	ns->block_device = strdup(dev);
	if (f->generic_name) {
		snprintf(dev, sizeof(dev), "/dev/%s", f->generic_name);
		ns->generic_device = strdup(dev);
	}
	if (!ns->name || !ns->block_device || (f->generic_name && !ns->generic_device)) {
		ns_free(ns);
		return NULL;
	}
	ns->nsid = f->nsid;
	ns->lba_size = f->lba_size;
	ns->lba_count = f->lba_count;
	ns->lba_used = f->lba_used;
	ns->subsys = s;
	ns->ctrl = c;
	ns_identifiers(ns, f);
	t->ns[t->n_ns++] = ns;
	return ns;
}

int nvme_topo_add_path(struct ublkit_nvme *t, struct ublkit_nvme_ctrl *c, const char *name,
		       const char *ana_state)
{
	struct ublkit_nvme_path *p;

	if (!name)
		return -EINVAL;
	for (size_t i = 0; i < t->n_paths; i++)
		if (strcmp(t->paths[i]->name, name) == 0)
			return 0;
	if (!grow(&t->paths, t->n_paths, sizeof(*t->paths)))
		return -ENOMEM;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->name = strdup(name);
	p->ana_state = dup_or_null(ana_state);
	if (!p->name || (ana_state && *ana_state && !p->ana_state)) {
		free(p->name);
		free(p->ana_state);
		free(p);
		return -ENOMEM;
	}
	p->ctrl = c;
	t->paths[t->n_paths++] = p;
	return 0;
}

/* "nvme0c1n2" belongs to "nvme0n2". */
static bool path_of_ns(const char *path, const char *ns)
{
	unsigned int a, b, c, x, y;
	char tail;

	if (sscanf(path, "nvme%uc%un%u%c", &a, &b, &c, &tail) != 3)
		return false;
	if (sscanf(ns, "nvme%un%u%c", &x, &y, &tail) != 2)
		return false;
	return a == x && c == y;
}

static int attach_paths(struct ublkit_nvme *t)
{
	for (size_t i = 0; i < t->n_paths; i++) {
		for (size_t j = 0; j < t->n_ns; j++) {
			struct ublkit_nvme_ns *ns = t->ns[j];

			if (!path_of_ns(t->paths[i]->name, ns->name))
				continue;
			if (!grow(&ns->paths, ns->n_paths, sizeof(*ns->paths)))
				return -ENOMEM;
			ns->paths[ns->n_paths++] = t->paths[i];
			break;
		}
	}
	return 0;
}

static bool ctrl_live(const struct ublkit_nvme_ctrl *c)
{
	return c && c->state && strcmp(c->state, "live") == 0;
}

static void choose_ctrl(struct ublkit_nvme_ns *ns)
{
	if (ns->ctrl || ns->n_paths == 0)
		return;
	for (size_t i = 0; i < ns->n_paths; i++)
		if (ctrl_live(ns->paths[i]->ctrl)) {
			ns->ctrl = ns->paths[i]->ctrl;
			return;
		}
	ns->ctrl = ns->paths[0]->ctrl;
}

/* ---- identity ------------------------------------------------------------ */

/* Keep [A-Za-z0-9.:_-]; anything else (NQNs may hold spaces) becomes '_'. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(".:_-", *s))
			*s = '_';
}

int nvme_identity(const struct ublkit_nvme_ns *ns, bool nguid_unique, bool eui64_unique,
		  bool uuid_unique, char *buf, size_t size)
{
	int kind;

	if (ns->nguid[0] && nguid_unique) {
		snprintf(buf, size, "nguid.%s", ns->nguid);
		kind = UBLKIT_NVME_ID_NGUID;
	} else if (ns->eui64[0] && eui64_unique) {
		snprintf(buf, size, "eui64.%s", ns->eui64);
		kind = UBLKIT_NVME_ID_EUI64;
	} else if (ns->uuid[0] && uuid_unique) {
		snprintf(buf, size, "uuid.%s", ns->uuid);
		kind = UBLKIT_NVME_ID_UUID;
	} else {
		const char *nqn = ns->subsys && ns->subsys->nqn	 ? ns->subsys->nqn
				  : ns->ctrl && ns->ctrl->subsysnqn ? ns->ctrl->subsysnqn
								    : "unknown";

		snprintf(buf, size, "nsid.%u.%s", ns->nsid, nqn);
		kind = UBLKIT_NVME_ID_NQN_NSID;
	}
	sanitize(buf);
	return kind;
}

/* Another namespace (not a path of the same one) with the same value. */
static bool unique_in(const struct ublkit_nvme *t, const struct ublkit_nvme_ns *ns, size_t off)
{
	const char *v = (const char *)ns + off;

	if (!*v)
		return true;
	for (size_t i = 0; i < t->n_ns; i++)
		if (t->ns[i] != ns && strcmp((const char *)t->ns[i] + off, v) == 0)
			return false;
	return true;
}

static void choose_identity(const struct ublkit_nvme *t, struct ublkit_nvme_ns *ns)
{
	ns->identity_kind =
		nvme_identity(ns, unique_in(t, ns, offsetof(struct ublkit_nvme_ns, nguid)),
			      unique_in(t, ns, offsetof(struct ublkit_nvme_ns, eui64)),
			      unique_in(t, ns, offsetof(struct ublkit_nvme_ns, uuid)), ns->identity,
			      sizeof(ns->identity));
}

/* ---- order ---------------------------------------------------------------- */

/* "nvme10" after "nvme9": compare the digits as numbers. */
static int cmp_name(const char *a, const char *b)
{
	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			unsigned long x = strtoul(a, (char **)&a, 10);
			unsigned long y = strtoul(b, (char **)&b, 10);

			if (x != y)
				return x < y ? -1 : 1;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

static int cmp_ns(const void *x, const void *y)
{
	const struct ublkit_nvme_ns *a = *(struct ublkit_nvme_ns *const *)x;
	const struct ublkit_nvme_ns *b = *(struct ublkit_nvme_ns *const *)y;
	int r = cmp_name(a->subsys && a->subsys->name ? a->subsys->name : "",
			 b->subsys && b->subsys->name ? b->subsys->name : "");

	if (r)
		return r;
	if (a->nsid != b->nsid)
		return a->nsid < b->nsid ? -1 : 1;
	return cmp_name(a->name, b->name);
}

static int cmp_ctrl(const void *x, const void *y)
{
	return cmp_name((*(struct ublkit_nvme_ctrl *const *)x)->name,
			(*(struct ublkit_nvme_ctrl *const *)y)->name);
}

static int cmp_path(const void *x, const void *y)
{
	return cmp_name((*(struct ublkit_nvme_path *const *)x)->name,
			(*(struct ublkit_nvme_path *const *)y)->name);
}

int nvme_topo_finish(struct ublkit_nvme *t)
{
	int r = attach_paths(t);

	if (r < 0)
		return r;
	for (size_t i = 0; i < t->n_ns; i++) {
		struct ublkit_nvme_ns *ns = t->ns[i];

		if (ns->n_paths > 1)
			qsort(ns->paths, ns->n_paths, sizeof(*ns->paths), cmp_path);
		choose_ctrl(ns);
		if (!ns->subsys && ns->ctrl)
			ns->subsys = ns->ctrl->subsys;
	}
	for (size_t i = 0; i < t->n_ns; i++)
		choose_identity(t, t->ns[i]);
	if (t->n_ns > 1)
		qsort(t->ns, t->n_ns, sizeof(*t->ns), cmp_ns);
	if (t->n_ctrls > 1)
		qsort(t->ctrls, t->n_ctrls, sizeof(*t->ctrls), cmp_ctrl);
	return 0;
}

/* ---- the snapshot's life ------------------------------------------------- */

void nvme_topo_free(struct ublkit_nvme *t)
{
	for (size_t i = 0; i < t->n_paths; i++) {
		free(t->paths[i]->name);
		free(t->paths[i]->ana_state);
		free(t->paths[i]);
	}
	free(t->paths);
	for (size_t i = 0; i < t->n_ns; i++)
		ns_free(t->ns[i]);
	for (size_t i = 0; i < t->n_ctrls; i++)
		ctrl_free(t->ctrls[i]);
	for (size_t i = 0; i < t->n_subsys; i++)
		subsys_free(t->subsys[i]);
	free(t->ns);
	free(t->ctrls);
	free(t->subsys);
	free(t->hostnqn);
	free(t->hostid);
	free(t);
}

UBLKIT_EXPORT struct ublkit_nvme *ublkit_nvme_ref(struct ublkit_nvme *n)
{
	if (n)
		__atomic_add_fetch(&n->refcount, 1, __ATOMIC_RELAXED);
	return n;
}

UBLKIT_EXPORT struct ublkit_nvme *ublkit_nvme_unref(struct ublkit_nvme *n)
{
	if (n && __atomic_sub_fetch(&n->refcount, 1, __ATOMIC_ACQ_REL) == 0)
		nvme_topo_free(n);
	return NULL;
}

void nvme_set_source(struct ublkit_ctx *ctx, const struct nvme_source *src)
{
	ctx->nvme_source = src;
}

extern const struct nvme_source nvme_libnvme_source;

static const struct nvme_source *source_of(const struct ublkit_ctx *ctx)
{
	return ctx->nvme_source ? ctx->nvme_source : &nvme_libnvme_source;
}

UBLKIT_EXPORT int ublkit_nvme_scan(struct ublkit_ctx *ctx, unsigned int flags,
				   struct ublkit_nvme **ret)
{
	struct ublkit_nvme *t;
	int r;

	if (!ctx || !ret || flags)
		return -EINVAL;
	*ret = NULL;
	if (!ctx->nvme_source && ublkit_ctx_is_sysroot(ctx)) {
		log_debug(ctx, "NVMe: libnvme reads the running system; not with a sysroot");
		return -EXDEV;
	}
	t = nvme_topo_new();
	if (!t)
		return -ENOMEM;
	r = source_of(ctx)->scan(ctx, t);
	if (r >= 0)
		r = nvme_topo_finish(t);
	if (r < 0) {
		nvme_topo_free(t);
		return r;
	}
	log_debug(ctx, "NVMe: %zu subsystems, %zu controllers, %zu namespaces", t->n_subsys,
		  t->n_ctrls, t->n_ns);
	*ret = t;
	return 0;
}

/* ---- getters --------------------------------------------------------------- */

UBLKIT_EXPORT const char *ublkit_nvme_get_hostnqn(const struct ublkit_nvme *n)
{
	return n ? n->hostnqn : NULL;
}

UBLKIT_EXPORT const char *ublkit_nvme_get_hostid(const struct ublkit_nvme *n)
{
	return n ? n->hostid : NULL;
}

UBLKIT_EXPORT size_t ublkit_nvme_get_subsys_count(const struct ublkit_nvme *n)
{
	return n ? n->n_subsys : 0;
}

UBLKIT_EXPORT struct ublkit_nvme_subsys *ublkit_nvme_get_subsys(const struct ublkit_nvme *n,
								size_t i)
{
	return n && i < n->n_subsys ? n->subsys[i] : NULL;
}

UBLKIT_EXPORT size_t ublkit_nvme_get_ctrl_count(const struct ublkit_nvme *n)
{
	return n ? n->n_ctrls : 0;
}

UBLKIT_EXPORT struct ublkit_nvme_ctrl *ublkit_nvme_get_ctrl(const struct ublkit_nvme *n, size_t i)
{
	return n && i < n->n_ctrls ? n->ctrls[i] : NULL;
}

UBLKIT_EXPORT size_t ublkit_nvme_get_ns_count(const struct ublkit_nvme *n)
{
	return n ? n->n_ns : 0;
}

UBLKIT_EXPORT struct ublkit_nvme_ns *ublkit_nvme_get_ns(const struct ublkit_nvme *n, size_t i)
{
	return n && i < n->n_ns ? n->ns[i] : NULL;
}

static const char *basename_of(const char *s)
{
	const char *slash = strrchr(s, '/');

	return slash ? slash + 1 : s;
}

UBLKIT_EXPORT struct ublkit_nvme_ns *ublkit_nvme_find_ns(const struct ublkit_nvme *n,
							 const char *what)
{
	_cleanup_free_ char *resolved = NULL;
	const char *name;

	if (!n || !what || !*what)
		return NULL;
	for (size_t i = 0; i < n->n_ns; i++) {
		struct ublkit_nvme_ns *ns = n->ns[i];

		if (strcmp(ns->identity, what) == 0 || strcmp(ns->block_device, what) == 0 ||
		    strcmp(ns->name, what) == 0 ||
		    (ns->generic_device && (strcmp(ns->generic_device, what) == 0 ||
					    strcmp(ns->generic_device + 5, what) == 0)))
			return ns;
	}
	/* a symlink such as /dev/disk/by-id/nvme-...: the running system's */
	if (what[0] != '/')
		return NULL;
	resolved = realpath(what, NULL);
	if (!resolved || strncmp(resolved, "/dev/", 5) != 0)
		return NULL;
	name = basename_of(resolved);
	return strcmp(name, basename_of(what)) ? ublkit_nvme_find_ns(n, name) : NULL;
}

UBLKIT_EXPORT const char *ublkit_nvme_subsys_get_name(const struct ublkit_nvme_subsys *s)
{
	return s ? s->name : NULL;
}

UBLKIT_EXPORT const char *ublkit_nvme_subsys_get_nqn(const struct ublkit_nvme_subsys *s)
{
	return s ? s->nqn : NULL;
}

UBLKIT_EXPORT const char *ublkit_nvme_subsys_get_type(const struct ublkit_nvme_subsys *s)
{
	return s ? s->type : NULL;
}

#define CTRL_GETTER(field)                                                                     \
	UBLKIT_EXPORT const char *ublkit_nvme_ctrl_get_##field(const struct ublkit_nvme_ctrl *c) \
	{                                                                                      \
		return c ? c->field : NULL;                                                    \
	}

CTRL_GETTER(name)
CTRL_GETTER(model)
CTRL_GETTER(serial)
CTRL_GETTER(firmware)
CTRL_GETTER(transport)
CTRL_GETTER(address)
CTRL_GETTER(state)
CTRL_GETTER(subsysnqn)

UBLKIT_EXPORT struct ublkit_nvme_subsys *ublkit_nvme_ctrl_get_subsys(const struct ublkit_nvme_ctrl *c)
{
	return c ? c->subsys : NULL;
}

UBLKIT_EXPORT const char *ublkit_nvme_ns_get_name(const struct ublkit_nvme_ns *ns)
{
	return ns ? ns->name : NULL;
}

UBLKIT_EXPORT const char *ublkit_nvme_ns_get_block_device(const struct ublkit_nvme_ns *ns)
{
	return ns ? ns->block_device : NULL;
}

UBLKIT_EXPORT const char *ublkit_nvme_ns_get_generic_device(const struct ublkit_nvme_ns *ns)
{
	return ns ? ns->generic_device : NULL;
}

UBLKIT_EXPORT uint32_t ublkit_nvme_ns_get_nsid(const struct ublkit_nvme_ns *ns)
{
	return ns ? ns->nsid : 0;
}

UBLKIT_EXPORT uint64_t ublkit_nvme_ns_get_size(const struct ublkit_nvme_ns *ns)
{
	return ns ? ns->lba_count * ns->lba_size : 0;
}

UBLKIT_EXPORT uint32_t ublkit_nvme_ns_get_lba_size(const struct ublkit_nvme_ns *ns)
{
	return ns ? ns->lba_size : 0;
}

UBLKIT_EXPORT uint64_t ublkit_nvme_ns_get_lba_count(const struct ublkit_nvme_ns *ns)
{
	return ns ? ns->lba_count : 0;
}

UBLKIT_EXPORT uint64_t ublkit_nvme_ns_get_lba_used(const struct ublkit_nvme_ns *ns)
{
	return ns ? ns->lba_used : 0;
}

static const char *or_null(const char *s)
{
	return s[0] ? s : NULL;
}

UBLKIT_EXPORT const char *ublkit_nvme_ns_get_nguid(const struct ublkit_nvme_ns *ns)
{
	return ns ? or_null(ns->nguid) : NULL;
}

UBLKIT_EXPORT const char *ublkit_nvme_ns_get_eui64(const struct ublkit_nvme_ns *ns)
{
	return ns ? or_null(ns->eui64) : NULL;
}

UBLKIT_EXPORT const char *ublkit_nvme_ns_get_uuid(const struct ublkit_nvme_ns *ns)
{
	return ns ? or_null(ns->uuid) : NULL;
}

UBLKIT_EXPORT const char *ublkit_nvme_ns_get_identity(const struct ublkit_nvme_ns *ns)
{
	return ns ? ns->identity : NULL;
}

UBLKIT_EXPORT int ublkit_nvme_ns_get_identity_kind(const struct ublkit_nvme_ns *ns)
{
	return ns ? ns->identity_kind : -EINVAL;
}

UBLKIT_EXPORT const char *ublkit_nvme_id_kind_name(int kind)
{
	static const char *const names[] = {
		[UBLKIT_NVME_ID_NGUID] = "nguid",
		[UBLKIT_NVME_ID_EUI64] = "eui64",
		[UBLKIT_NVME_ID_UUID] = "uuid",
		[UBLKIT_NVME_ID_NQN_NSID] = "nqn-nsid",
	};

	return kind >= 0 && (size_t)kind < ARRAY_SIZE(names) ? names[kind] : NULL;
}

UBLKIT_EXPORT struct ublkit_nvme_subsys *ublkit_nvme_ns_get_subsys(const struct ublkit_nvme_ns *ns)
{
	return ns ? ns->subsys : NULL;
}

UBLKIT_EXPORT struct ublkit_nvme_ctrl *ublkit_nvme_ns_get_ctrl(const struct ublkit_nvme_ns *ns)
{
	return ns ? ns->ctrl : NULL;
}

UBLKIT_EXPORT const char *ublkit_nvme_ns_get_model(const struct ublkit_nvme_ns *ns)
{
	return ns && ns->ctrl ? ns->ctrl->model : NULL;
}

UBLKIT_EXPORT const char *ublkit_nvme_ns_get_serial(const struct ublkit_nvme_ns *ns)
{
	return ns && ns->ctrl ? ns->ctrl->serial : NULL;
}

UBLKIT_EXPORT const char *ublkit_nvme_ns_get_firmware(const struct ublkit_nvme_ns *ns)
{
	return ns && ns->ctrl ? ns->ctrl->firmware : NULL;
}

UBLKIT_EXPORT size_t ublkit_nvme_ns_get_path_count(const struct ublkit_nvme_ns *ns)
{
	return ns ? ns->n_paths : 0;
}

UBLKIT_EXPORT struct ublkit_nvme_path *ublkit_nvme_ns_get_path(const struct ublkit_nvme_ns *ns,
							       size_t i)
{
	return ns && i < ns->n_paths ? ns->paths[i] : NULL;
}

UBLKIT_EXPORT const char *ublkit_nvme_path_get_name(const struct ublkit_nvme_path *p)
{
	return p ? p->name : NULL;
}

UBLKIT_EXPORT const char *ublkit_nvme_path_get_ana_state(const struct ublkit_nvme_path *p)
{
	return p ? p->ana_state : NULL;
}

UBLKIT_EXPORT struct ublkit_nvme_ctrl *ublkit_nvme_path_get_ctrl(const struct ublkit_nvme_path *p)
{
	return p ? p->ctrl : NULL;
}

/* ---- who holds a namespace ---------------------------------------------- */

/*
 * Is /dev/NAME still this namespace? libnvme 1.3 offers no way to look
 * at one device again without a whole scan, so read the two sysfs
 * attributes that name it: nsid, and the NQN of the subsystem (a
 * multipath head's "device" is its subsystem, a private namespace's its
 * controller; both have subsysnqn).
 */
static int ns_still_there(struct ublkit_ctx *ctx, const struct ublkit_nvme_ns *ns)
{
	char p[PATH_MAX], v[512];
	uint64_t nsid;
	const char *nqn = ns->subsys && ns->subsys->nqn	   ? ns->subsys->nqn
			  : ns->ctrl && ns->ctrl->subsysnqn ? ns->ctrl->subsysnqn
							    : NULL;

	snprintf(p, sizeof(p), "/sys/block/%s/nsid", ns->name);
	if (ublkit_read_u64(ctx, p, &nsid) < 0 || nsid != ns->nsid)
		return -ENODEV;
	snprintf(p, sizeof(p), "/sys/block/%s/device/subsysnqn", ns->name);
	if (nqn && ublkit_read_line(ctx, p, v, sizeof(v)) >= 0 && strcmp(v, nqn) != 0)
		return -ENODEV;
	return 0;
}

UBLKIT_EXPORT int ublkit_nvme_ns_check(struct ublkit_ctx *ctx, const struct ublkit_nvme_ns *ns,
				       unsigned int flags, struct ublkit_blockdev_usage *u)
{
	int r;

	if (!ctx || !ns)
		return -EINVAL;
	r = ns_still_there(ctx, ns);
	if (r < 0) {
		if (u && u->struct_size >= sizeof(uint32_t)) {
			struct ublkit_blockdev_usage gone;

			ublkit_blockdev_usage_init(&gone);
			snprintf(gone.reason, sizeof(gone.reason),
				 "%s (nsid %u) is gone or is another namespace now: scan again",
				 ns->block_device, ns->nsid);
			struct_out((char *)u + sizeof(uint32_t), u->struct_size - sizeof(uint32_t),
				   (char *)&gone + sizeof(uint32_t), sizeof(gone) - sizeof(uint32_t));
		}
		log_debug(ctx, "%s: gone or renumbered", ns->name);
		return r;
	}
	r = ublkit_blockdev_check(ctx, ns->block_device, flags, u);
	/* vanished between the two looks */
	if (r == -ENOENT || r == -ENXIO || r == -ENODEV)
		return -ENODEV;
	return r;
}

/* ---- health ---------------------------------------------------------------- */

UBLKIT_EXPORT const char *ublkit_nvme_warning_name(unsigned int bit)
{
	switch (bit) {
	case UBLKIT_NVME_WARN_SPARE: return "spare";
	case UBLKIT_NVME_WARN_TEMPERATURE: return "temperature";
	case UBLKIT_NVME_WARN_DEGRADED: return "degraded";
	case UBLKIT_NVME_WARN_READ_ONLY: return "read-only";
	case UBLKIT_NVME_WARN_VOLATILE_BACKUP: return "volatile-backup";
	case UBLKIT_NVME_WARN_PMR_READ_ONLY: return "pmr-read-only";
	default: return NULL;
	}
}

static uint64_t le128_sat(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 8; i < 16; i++)
		if (p[i])
			return UINT64_MAX;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Byte offsets of log page 02h (NVMe base specification, SMART / Health). */
void nvme_health_decode(const void *smart_log, struct ublkit_nvme_health *h)
{
	const uint8_t *p = smart_log;

	h->critical_warning = p[0];
	h->temperature = le16(p + 1);
	h->available_spare = p[3];
	h->available_spare_threshold = p[4];
	h->percentage_used = p[5];
	h->endurance_group_warning = p[6];
	h->data_units_read = le128_sat(p + 32);
	h->data_units_written = le128_sat(p + 48);
	h->host_read_commands = le128_sat(p + 64);
	h->host_write_commands = le128_sat(p + 80);
	h->controller_busy_time = le128_sat(p + 96);
	h->power_cycles = le128_sat(p + 112);
	h->power_on_hours = le128_sat(p + 128);
	h->unsafe_shutdowns = le128_sat(p + 144);
	h->media_errors = le128_sat(p + 160);
	h->error_log_entries = le128_sat(p + 176);
	h->warning_temperature_time = le32(p + 192);
	h->critical_temperature_time = le32(p + 196);
	for (int i = 0; i < 8; i++)
		h->temperature_sensor[i] = le16(p + 200 + 2 * i);
}

UBLKIT_EXPORT int ublkit_nvme_ctrl_read_health_sz(struct ublkit_ctx *ctx,
						  const struct ublkit_nvme_ctrl *c,
						  struct ublkit_nvme_health *h, size_t size)
{
	struct ublkit_nvme_health out;
	uint8_t log[512];
	int r;

	if (!ctx || !c || !h)
		return -EINVAL;
	if (!ctx->nvme_source && ublkit_ctx_is_sysroot(ctx))
		return -EXDEV;
	r = source_of(ctx)->smart_log(ctx, c, log);
	if (r < 0)
		return r;
	nvme_health_decode(log, &out);
	struct_out(h, size, &out, sizeof(out));
	return 0;
}

UBLKIT_EXPORT bool ublkit_nvme_health_ok_sz(const struct ublkit_nvme_health *h, size_t size,
					    unsigned int max_percent_used, char *reason,
					    size_t reason_size)
{
	struct ublkit_nvme_health v = { 0 };
	char buf[256] = "";
	size_t n = 0;

	if (!h)
		return false;
	memcpy(&v, h, size < sizeof(v) ? size : sizeof(v));
	for (unsigned int bit = 1; bit < 256; bit <<= 1) {
		if (!(v.critical_warning & bit))
			continue;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%scritical warning: %s",
				      n ? "; " : "",
				      ublkit_nvme_warning_name(bit) ? ublkit_nvme_warning_name(bit)
								    : "unknown bit");
		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;
	}
	if (v.available_spare < v.available_spare_threshold && n < sizeof(buf) - 1) {
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "%savailable spare %u%% is below its threshold %u%%",
				      n ? "; " : "", v.available_spare, v.available_spare_threshold);
		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;
	}
	if (max_percent_used < 255 && v.percentage_used > max_percent_used && n < sizeof(buf) - 1)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "%s%u%% of its endurance is used (at most %u%% allowed)",
				      n ? "; " : "", v.percentage_used, max_percent_used);
	if (reason && reason_size) {
		if (buf[0])
			snprintf(reason, reason_size, "%s", buf);
		else
			snprintf(reason, reason_size,
				 "healthy: no critical warning, spare %u%% (threshold %u%%), %u%% used",
				 v.available_spare, v.available_spare_threshold, v.percentage_used);
	}
	return buf[0] == '\0';
}
