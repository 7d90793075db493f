/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Libraries loaded when first needed. libkmod pulls in libcrypto, zstd and
 * lzma (about 1.7 MiB resident); a ublk server, which locks all of its
 * memory and never loads a module, should not carry them. Code that uses
 * such a library calls it through pointers that dl_load() fills in.
 */
#ifndef UBLKIT_DLOPEN_PRIVATE_H
#define UBLKIT_DLOPEN_PRIVATE_H

#include <pthread.h>
#include <stddef.h>

#include "ublkit/ublkit.h"

struct dl_sym {
	const char *name;
	void **fn;
};

struct dl_lib {
	const char *soname;		/* "libkmod.so.2" */
	const struct dl_sym *syms;
	size_t nr_syms;
	pthread_mutex_t lock;
	int state;			/* 0 not tried, 1 loaded, -errno failed */
};

#define DL_LIB(soname_, syms_)                                                                 \
	{ .soname = (soname_), .syms = (syms_), .nr_syms = sizeof(syms_) / sizeof((syms_)[0]),  \
	  .lock = PTHREAD_MUTEX_INITIALIZER }

/* Load the library and resolve every symbol, once per process. 0, or
 * -EOPNOTSUPP when it is not installed or lacks a symbol (logged). */
int dl_load(struct ublkit_ctx *ctx, struct dl_lib *lib);

#endif
