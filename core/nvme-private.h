/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal interface of the NVMe view. A snapshot is built by a source
 * through the nvme_topo_*() builders: the real one walks libnvme's tree,
 * the unit tests' feeds captured data. Everything after the walk
 * (identifiers, identity, the controller of a namespace, multipath
 * paths, the decoding of the health log, the holder check) is the same
 * code for both.
 */
#ifndef UBLKIT_NVME_PRIVATE_H
#define UBLKIT_NVME_PRIVATE_H

#include <sys/types.h>

#include "ublkit/nvme.h"

#define NVME_NGUID_BYTES 16
#define NVME_EUI64_BYTES 8
#define NVME_UUID_BYTES 16
/* Identify data and log pages are this large. */
#define NVME_PAGE_BYTES 4096

struct ublkit_nvme_subsys {
	char *name;
	char *nqn;
	char *type;
};

struct ublkit_nvme_ctrl {
	char *name;
	char *model;
	char *serial;
	char *firmware;
	char *transport;
	char *address;
	char *state;
	char *subsysnqn;
	struct ublkit_nvme_subsys *subsys;
};

struct ublkit_nvme_path {
	char *name;
	char *ana_state;
	struct ublkit_nvme_ctrl *ctrl;
};

struct ublkit_nvme_ns {
	char *name;
	char *block_device;
	char *generic_device;
	uint32_t nsid;
	uint32_t lba_size;
	uint64_t lba_count;
	uint64_t lba_used;
	char nguid[2 * NVME_NGUID_BYTES + 1];	/* "" when absent */
	char eui64[2 * NVME_EUI64_BYTES + 1];
	char uuid[37];
	char identity[300];
	int identity_kind;
	struct ublkit_nvme_subsys *subsys;
	struct ublkit_nvme_ctrl *ctrl;		/* set by the source for a private namespace */
	struct ublkit_nvme_path **paths;
	size_t n_paths;
};

struct ublkit_nvme {
	int refcount;
	char *hostnqn;
	char *hostid;
	struct ublkit_nvme_subsys **subsys;
	size_t n_subsys;
	struct ublkit_nvme_ctrl **ctrls;
	size_t n_ctrls;
	struct ublkit_nvme_ns **ns;
	size_t n_ns;
	struct ublkit_nvme_path **paths;	/* every path; namespaces point at them */
	size_t n_paths;
};

/* What a source knows about a controller; NULL strings are absent. */
struct nvme_ctrl_facts {
	const char *name;
	const char *model;
	const char *serial;
	const char *firmware;
	const char *transport;
	const char *address;
	const char *state;
	const char *subsysnqn;
};

/* What a source knows about a namespace. */
struct nvme_ns_facts {
	const char *name;		/* nvme0n1 */
	const char *generic_name;	/* ng0n1, or NULL */
	uint32_t nsid;
	uint32_t lba_size;
	uint64_t lba_count;
	uint64_t lba_used;
	/* From the Namespace Identification Descriptor list (libnvme's
	 * accessors); NULL or all zeroes when absent. */
	const uint8_t *nguid;
	const uint8_t *eui64;
	const uint8_t *uuid;
	/* Identify Namespace data (4096 bytes), or NULL: its NGUID and
	 * EUI64 fields stand in for descriptors a device does not report. */
	const void *id_ns;
};

struct ublkit_nvme *nvme_topo_new(void);
void nvme_topo_free(struct ublkit_nvme *t);
int nvme_topo_set_host(struct ublkit_nvme *t, const char *hostnqn, const char *hostid);
/* The subsystem named @name, added if new. NULL: out of memory. */
struct ublkit_nvme_subsys *nvme_topo_add_subsys(struct ublkit_nvme *t, const char *name,
						const char *nqn, const char *type);
struct ublkit_nvme_ctrl *nvme_topo_add_ctrl(struct ublkit_nvme *t, struct ublkit_nvme_subsys *s,
					    const struct nvme_ctrl_facts *f);
/* @c: the controller of a namespace that is not shared (NULL for a
 * multipath one, whose controllers come from its paths). A namespace
 * already in the snapshot under the same name is kept, not added twice:
 * returns it. */
struct ublkit_nvme_ns *nvme_topo_add_ns(struct ublkit_nvme *t, struct ublkit_nvme_subsys *s,
					struct ublkit_nvme_ctrl *c, const struct nvme_ns_facts *f);
/* A multipath path "nvmeXcYnZ" of controller @c; attached to namespace
 * "nvmeXnZ" by nvme_topo_finish(). */
int nvme_topo_add_path(struct ublkit_nvme *t, struct ublkit_nvme_ctrl *c, const char *name,
		       const char *ana_state);
/* Attach paths, choose each namespace's controller and identity, sort. */
int nvme_topo_finish(struct ublkit_nvme *t);

/* The identity of @ns from its identifiers; @unique_* false when another
 * namespace shares that identifier. Returns the kind. */
int nvme_identity(const struct ublkit_nvme_ns *ns, bool nguid_unique, bool eui64_unique,
		  bool uuid_unique, char *buf, size_t size);

/* Decode log page 02h (512 bytes) into @h. */
void nvme_health_decode(const void *smart_log, struct ublkit_nvme_health *h);

/* Where snapshots come from. The library's own reads libnvme; a context
 * may carry another (the unit tests' captured data). */
struct nvme_source {
	int (*scan)(struct ublkit_ctx *ctx, struct ublkit_nvme *t);
	/* Log page 02h of @c into @log (512 bytes), after checking that
	 * the controller is still the one of the snapshot. */
	int (*smart_log)(struct ublkit_ctx *ctx, const struct ublkit_nvme_ctrl *c, void *log);
};

void nvme_set_source(struct ublkit_ctx *ctx, const struct nvme_source *src);

#endif
