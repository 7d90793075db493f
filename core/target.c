/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The target registry: every target ublkit can serve, with the facts the
 * rest of ublkit asks about it (needs a size or a path, survives its
 * server, may back swap, uses user copy). Nothing else compares target
 * names.
 */
#include "config.h"

#include "ublkit-private.h"
#include "target-private.h"

static const struct target_ops *const targets[] = {
	&target_null_ops,
	&target_mem_ops,
	&target_file_ops,
};

const struct target_ops *target_find(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(targets); i++)
		if (strcmp(targets[i]->name, name) == 0)
			return targets[i];
	return NULL;
}

UBLKIT_EXPORT const char *const *ublkit_target_names(void)
{
	static const char *names[ARRAY_SIZE(targets) + 1];

	/* Filled from the registry once; the same values every time. */
	for (size_t i = 0; i < ARRAY_SIZE(targets); i++)
		names[i] = targets[i]->name;
	return names;
}

UBLKIT_EXPORT int ublkit_target_flags(const char *name)
{
	const struct target_ops *t = target_find(name);

	return t ? (int)t->flags : -EINVAL;
}

UBLKIT_EXPORT const char *ublkit_target_summary(const char *name)
{
	const struct target_ops *t = target_find(name);

	return t ? t->summary : NULL;
}
