/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Libraries loaded when first needed (see dlopen-private.h). */
#include "config.h"

#include <dlfcn.h>

#include "ublkit-private.h"
#include "dlopen-private.h"

static int dl_resolve(struct ublkit_ctx *ctx, struct dl_lib *lib)
{
	void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);

	if (!h) {
		log_error(ctx, "%s is not installed: %s", lib->soname, dlerror());
		return -EOPNOTSUPP;
	}
	for (size_t i = 0; i < lib->nr_syms; i++) {
		*lib->syms[i].fn = dlsym(h, lib->syms[i].name);
		if (!*lib->syms[i].fn) {
			log_error(ctx, "%s has no %s", lib->soname, lib->syms[i].name);
			return -EOPNOTSUPP;
		}
	}
	return 1;
}

int dl_load(struct ublkit_ctx *ctx, struct dl_lib *lib)
{
	int r;

	pthread_mutex_lock(&lib->lock);
	if (lib->state == 0)
		lib->state = dl_resolve(ctx, lib);
	r = lib->state;
	pthread_mutex_unlock(&lib->lock);
	return r < 0 ? r : 0;
}
