/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel modules. The state of a module is read from sysfs and from the
 * text indexes depmod writes (modules.dep, modules.builtin), both through
 * the sysroot, so doctor can judge a captured tree. Loading goes through
 * libkmod, which resolves dependencies and honours modprobe.d.
 */
#include "config.h"

#include <libkmod.h>
#include <sys/utsname.h>

#include "ublkit-private.h"
#include "ctx-private.h"
#include "dlopen-private.h"

/* libkmod is loaded on first use (dlopen-private.h says why). */
static __typeof__(kmod_new) *sym_kmod_new;
static __typeof__(kmod_unref) *sym_kmod_unref;
static __typeof__(kmod_set_log_fn) *sym_kmod_set_log_fn;
static __typeof__(kmod_set_log_priority) *sym_kmod_set_log_priority;
static __typeof__(kmod_module_new_from_lookup) *sym_kmod_module_new_from_lookup;
static __typeof__(kmod_module_get_module) *sym_kmod_module_get_module;
static __typeof__(kmod_module_unref_list) *sym_kmod_module_unref_list;
static __typeof__(kmod_module_unref) *sym_kmod_module_unref;
static __typeof__(kmod_module_probe_insert_module) *sym_kmod_module_probe_insert_module;
static __typeof__(kmod_list_next) *sym_kmod_list_next;
static __typeof__(kmod_config_get_blacklists) *sym_kmod_config_get_blacklists;
static __typeof__(kmod_config_get_install_commands) *sym_kmod_config_get_install_commands;
static __typeof__(kmod_config_iter_get_key) *sym_kmod_config_iter_get_key;
static __typeof__(kmod_config_iter_get_value) *sym_kmod_config_iter_get_value;
static __typeof__(kmod_config_iter_next) *sym_kmod_config_iter_next;
static __typeof__(kmod_config_iter_free_iter) *sym_kmod_config_iter_free_iter;

static const struct dl_sym kmod_syms[] = {
	{ "kmod_new", (void **)&sym_kmod_new },
	{ "kmod_unref", (void **)&sym_kmod_unref },
	{ "kmod_set_log_fn", (void **)&sym_kmod_set_log_fn },
	{ "kmod_set_log_priority", (void **)&sym_kmod_set_log_priority },
	{ "kmod_module_new_from_lookup", (void **)&sym_kmod_module_new_from_lookup },
	{ "kmod_module_get_module", (void **)&sym_kmod_module_get_module },
	{ "kmod_module_unref_list", (void **)&sym_kmod_module_unref_list },
	{ "kmod_module_unref", (void **)&sym_kmod_module_unref },
	{ "kmod_module_probe_insert_module", (void **)&sym_kmod_module_probe_insert_module },
	{ "kmod_list_next", (void **)&sym_kmod_list_next },
	{ "kmod_config_get_blacklists", (void **)&sym_kmod_config_get_blacklists },
	{ "kmod_config_get_install_commands", (void **)&sym_kmod_config_get_install_commands },
	{ "kmod_config_iter_get_key", (void **)&sym_kmod_config_iter_get_key },
	{ "kmod_config_iter_get_value", (void **)&sym_kmod_config_iter_get_value },
	{ "kmod_config_iter_next", (void **)&sym_kmod_config_iter_next },
	{ "kmod_config_iter_free_iter", (void **)&sym_kmod_config_iter_free_iter },
};

static struct dl_lib libkmod = DL_LIB("libkmod.so.2", kmod_syms);

/* From here on, calls into libkmod go through the pointers. */
#define kmod_new sym_kmod_new
#define kmod_unref sym_kmod_unref
#define kmod_set_log_fn sym_kmod_set_log_fn
#define kmod_set_log_priority sym_kmod_set_log_priority
#define kmod_module_new_from_lookup sym_kmod_module_new_from_lookup
#define kmod_module_get_module sym_kmod_module_get_module
#define kmod_module_unref_list sym_kmod_module_unref_list
#define kmod_module_unref sym_kmod_module_unref
#define kmod_module_probe_insert_module sym_kmod_module_probe_insert_module
#define kmod_list_next sym_kmod_list_next
#define kmod_config_get_blacklists sym_kmod_config_get_blacklists
#define kmod_config_get_install_commands sym_kmod_config_get_install_commands
#define kmod_config_iter_get_key sym_kmod_config_iter_get_key
#define kmod_config_iter_get_value sym_kmod_config_iter_get_value
#define kmod_config_iter_next sym_kmod_config_iter_next
#define kmod_config_iter_free_iter sym_kmod_config_iter_free_iter

UBLKIT_EXPORT int ublkit_kernel_release(struct ublkit_ctx *ctx, char *buf, size_t size)
{
	struct utsname u;
	int r;

	r = ublkit_read_line(ctx, "/proc/sys/kernel/osrelease", buf, size);
	if (r > 0 || ublkit_ctx_is_sysroot(ctx))
		return r == 0 ? -ENOENT : r;
	if (uname(&u) < 0)
		return neg_errno();
	if (strlen(u.release) >= size)
		return -ENAMETOOLONG;
	strcpy(buf, u.release);
	return (int)strlen(buf);
}

/* Does the module path @p (as in modules.dep, "kernel/x/y/name.ko.xz")
 * name module @name? */
static bool module_path_is(const char *p, size_t len, const char *name)
{
	const char *base = p, *dot;
	char stem[256];

	for (const char *c = p; c < p + len; c++)
		if (*c == '/')
			base = c + 1;
	dot = memmem(base, (size_t)(p + len - base), ".ko", 3);
	if (!dot || (size_t)(dot - base) >= sizeof(stem))
		return false;
	memcpy(stem, base, (size_t)(dot - base));
	stem[dot - base] = '\0';
	return ublkit_streq_module(stem, name);
}

int module_index_find(FILE *f, const char *name)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, f)) > 0) {
		size_t len = strcspn(line, ":\n");

		if (module_path_is(line, len, name))
			return 1;
	}
	return 0;
}

/* Search a depmod text index under /lib/modules/RELEASE for @name. */
static int module_index_has(struct ublkit_ctx *ctx, const char *index, const char *name)
{
	_cleanup_fclose_ FILE *f = NULL;
	char rel[256], p[4096];
	int r;

	r = ublkit_kernel_release(ctx, rel, sizeof(rel));
	if (r < 0)
		return r;
	r = ublkit_pathf(ctx, p, sizeof(p), "/lib/modules/%s/%s", rel, index);
	if (r < 0)
		return r;
	f = fopen(p, "re");
	if (!f)
		return neg_errno();
	return module_index_find(f, name);
}

static void module_sysfs_name(const char *name, char *buf, size_t size)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < size; i++)
		buf[i] = name[i] == '-' ? '_' : name[i];
	buf[i] = '\0';
}

UBLKIT_EXPORT int ublkit_kmod_state(struct ublkit_ctx *ctx, const char *name)
{
	char mod[256], p[512];
	int r;

	r = ublkit_kmod_name_check(ctx, name);
	if (r < 0)
		return r;
	module_sysfs_name(name, mod, sizeof(mod));
	snprintf(p, sizeof(p), "/sys/module/%s/initstate", mod);
	if (ublkit_exists(ctx, p))
		return UBLKIT_KMOD_LOADED;
	if (module_index_has(ctx, "modules.builtin", name) > 0)
		return UBLKIT_KMOD_BUILTIN;
	/* Built-in modules with parameters show up in sysfs without initstate. */
	snprintf(p, sizeof(p), "/sys/module/%s", mod);
	if (ublkit_exists(ctx, p))
		return UBLKIT_KMOD_BUILTIN;
	r = module_index_has(ctx, "modules.dep", name);
	if (r < 0 && r != -ENOENT)
		log_debug(ctx, "cannot read modules.dep: %s", strerror(-r));
	return r > 0 ? UBLKIT_KMOD_AVAILABLE : UBLKIT_KMOD_MISSING;
}

static void kmod_log_bridge(void *data, int priority, const char *file, int line, const char *fn,
			    const char *format, va_list args)
{
	struct ublkit_ctx *ctx = data;
	char msg[512];

	if (priority > ublkit_ctx_get_log_priority(ctx))
		return;
	vsnprintf(msg, sizeof(msg), format, args);
	msg[strcspn(msg, "\n")] = '\0';
	ublkit_log(ctx, priority, file, line, fn, "libkmod: %s", msg);
}

/* A libkmod context that reads the sysroot's module tree and modprobe.d. */
static struct kmod_ctx *kmod_ctx_for(struct ublkit_ctx *ctx)
{
	static const char *const conf[] = { "/etc/modprobe.d", "/run/modprobe.d",
					    "/usr/local/lib/modprobe.d", "/usr/lib/modprobe.d",
					    "/lib/modprobe.d" };
	char paths[ARRAY_SIZE(conf)][4096], dir[4096], rel[256];
	const char *ptrs[ARRAY_SIZE(conf) + 1];
	struct kmod_ctx *k;

	if (dl_load(ctx, &libkmod) < 0)
		return NULL;
	if (ublkit_kernel_release(ctx, rel, sizeof(rel)) < 0)
		return NULL;
	if (ublkit_pathf(ctx, dir, sizeof(dir), "/lib/modules/%s", rel) < 0)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(conf); i++) {
		if (ublkit_ctx_path(ctx, conf[i], paths[i], sizeof(paths[i])) < 0)
			return NULL;
		ptrs[i] = paths[i];
	}
	ptrs[ARRAY_SIZE(conf)] = NULL;
	k = kmod_new(dir, ptrs);
	if (!k)
		return NULL;
	kmod_set_log_fn(k, kmod_log_bridge, ctx);
	kmod_set_log_priority(k, ublkit_ctx_get_log_priority(ctx));
	return k;
}

static bool install_cmd_disables(const char *cmd)
{
	static const char *const off[] = { "/bin/false", "/bin/true", "/usr/bin/false",
					   "/usr/bin/true", "false", "true" };

	while (*cmd == ' ' || *cmd == '\t')
		cmd++;
	for (size_t i = 0; i < ARRAY_SIZE(off); i++) {
		size_t n = strlen(off[i]);

		if (strncmp(cmd, off[i], n) == 0 && (cmd[n] == '\0' || cmd[n] == ' ' || cmd[n] == ';'))
			return true;
	}
	return false;
}

static bool kmod_config_matches(struct kmod_config_iter *it, const char *name, bool install)
{
	bool hit = false;

	while (it && !hit && kmod_config_iter_next(it)) {
		const char *key = kmod_config_iter_get_key(it);

		if (!key || !ublkit_streq_module(key, name))
			continue;
		hit = !install || install_cmd_disables(kmod_config_iter_get_value(it));
	}
	kmod_config_iter_free_iter(it);
	return hit;
}

UBLKIT_EXPORT bool ublkit_kmod_is_blacklisted(struct ublkit_ctx *ctx, const char *name)
{
	struct kmod_ctx *k;
	bool hit;

	if (ublkit_kmod_name_check(ctx, name) < 0)
		return false;
	k = kmod_ctx_for(ctx);
	if (!k)
		return false;
	hit = kmod_config_matches(kmod_config_get_blacklists(k), name, false) ||
	      kmod_config_matches(kmod_config_get_install_commands(k), name, true);
	kmod_unref(k);
	return hit;
}

static int kmod_insert(struct ublkit_ctx *ctx, const char *name)
{
	struct kmod_list *list = NULL, *it;
	struct kmod_ctx *k;
	int r;

	k = kmod_ctx_for(ctx);
	if (!k)
		return -ENOMEM;
	r = kmod_module_new_from_lookup(k, name, &list);
	if (r < 0 || !list) {
		kmod_unref(k);
		return r < 0 ? r : -ENOENT;
	}
	kmod_list_foreach(it, list) {
		struct kmod_module *mod = kmod_module_get_module(it);

		r = kmod_module_probe_insert_module(mod, 0, NULL, NULL, NULL, NULL);
		kmod_module_unref(mod);
		if (r != 0)
			break;
	}
	kmod_module_unref_list(list);
	kmod_unref(k);
	if (r > 0)
		return -ECANCELED;
	return r;
}

UBLKIT_EXPORT int ublkit_kmod_load(struct ublkit_ctx *ctx, const char *name, unsigned int flags)
{
	uint64_t disabled = 0;
	int state, r;

	state = ublkit_kmod_state(ctx, name);
	if (state < 0)
		return state;
	if (state == UBLKIT_KMOD_LOADED || state == UBLKIT_KMOD_BUILTIN)
		return state;
	if (state == UBLKIT_KMOD_MISSING) {
		log_error(ctx, "module %s: not found in the kernel's module tree", name);
		return -ENOENT;
	}
	if (!(flags & UBLKIT_KMOD_IGNORE_BLACKLIST) && ublkit_kmod_is_blacklisted(ctx, name)) {
		log_error(ctx, "module %s: blacklisted or disabled in modprobe.d", name);
		return -ECANCELED;
	}
	if (ublkit_ctx_is_sysroot(ctx))
		return -EXDEV;
	if (ublkit_read_u64(ctx, "/proc/sys/kernel/modules_disabled", &disabled) == 0 && disabled)
		return log_ret(ctx, -EPERM, "module %s: kernel.modules_disabled is set", name);
	r = kmod_insert(ctx, name);
	if (r == -EACCES)
		r = -EPERM;
	if (r < 0)
		return log_ret(ctx, r, "module %s: cannot load", name);
	log_info(ctx, "module %s: loaded", name);
	return UBLKIT_KMOD_LOADED;
}
