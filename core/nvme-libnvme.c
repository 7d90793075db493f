/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The NVMe view's source on a running system: libnvme's tree and its
 * identify and log page commands. libnvme reports failures as -1 with
 * errno, or as a positive NVMe status; both become a negative errno here.
 */
#include "config.h"

#include <libnvme.h>
#include <pthread.h>
#include <syslog.h>

#include "ublkit-private.h"
#include "nvme-private.h"

/* libnvme logs to a FILE; collect its lines and pass them on at debug level. */
static void forward_log(struct ublkit_ctx *ctx, char *text)
{
	char *save = NULL;

	if (!text)
		return;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		log_debug(ctx, "libnvme: %s", line);
}

static int to_errno(int r)
{
	if (r < 0)
		return neg_errno();
	return r > 0 ? -EIO : 0;	/* an NVMe status */
}

static void add_ns(struct ublkit_ctx *ctx, struct ublkit_nvme *t, struct ublkit_nvme_subsys *s,
		   struct ublkit_nvme_ctrl *c, nvme_ns_t n)
{
	struct nvme_id_ns id;
	unsigned char uuid[NVME_UUID_LEN];
	struct nvme_ns_facts f = {
		.name = nvme_ns_get_name(n),
		.generic_name = nvme_ns_get_generic_name(n),
		.nsid = (uint32_t)nvme_ns_get_nsid(n),
		.lba_size = (uint32_t)nvme_ns_get_lba_size(n),
		.lba_count = nvme_ns_get_lba_count(n),
		.lba_used = nvme_ns_get_lba_util(n),
		.nguid = nvme_ns_get_nguid(n),
		.eui64 = nvme_ns_get_eui64(n),
	};

	nvme_ns_get_uuid(n, uuid);
	f.uuid = uuid;
	/* libnvme keeps the descriptors only; Identify Namespace has the rest.
	 * A namespace that vanished since the scan fails here: it has no
	 * fallback, that is all. */
	if (nvme_ns_identify(n, &id) == 0)
		f.id_ns = &id;
	if (!nvme_topo_add_ns(t, s, c, &f))
		log_debug(ctx, "NVMe: %s left out (out of memory)", f.name ? f.name : "?");
}

static struct ublkit_nvme_ctrl *add_ctrl(struct ublkit_nvme *t, struct ublkit_nvme_subsys *s,
					 nvme_ctrl_t c)
{
	struct nvme_ctrl_facts f = {
		.name = nvme_ctrl_get_name(c),
		.model = nvme_ctrl_get_model(c),
		.serial = nvme_ctrl_get_serial(c),
		.firmware = nvme_ctrl_get_firmware(c),
		.transport = nvme_ctrl_get_transport(c),
		.address = nvme_ctrl_get_address(c),
		.state = nvme_ctrl_get_state(c),
		.subsysnqn = nvme_ctrl_get_subsysnqn(c),
	};

	return nvme_topo_add_ctrl(t, s, &f);
}

static int walk_subsys(struct ublkit_ctx *ctx, struct ublkit_nvme *t, nvme_subsystem_t ls)
{
	struct ublkit_nvme_subsys *s;
	nvme_ctrl_t lc;
	nvme_ns_t ln;

	s = nvme_topo_add_subsys(t, nvme_subsystem_get_name(ls), nvme_subsystem_get_nqn(ls),
				 nvme_subsystem_get_type(ls));
	if (!s)
		return -ENOMEM;
	nvme_subsystem_for_each_ctrl(ls, lc) {
		struct ublkit_nvme_ctrl *c = add_ctrl(t, s, lc);
		nvme_path_t lp;

		if (!c)
			return -ENOMEM;
		/* namespaces that are not shared hang off their controller */
		nvme_ctrl_for_each_ns(lc, ln)
			add_ns(ctx, t, s, c, ln);
		nvme_ctrl_for_each_path(lc, lp)
			if (nvme_topo_add_path(t, c, nvme_path_get_name(lp),
					       nvme_path_get_ana_state(lp)) < 0)
				return -ENOMEM;
	}
	/* multipath namespaces (heads) hang off the subsystem */
	nvme_subsystem_for_each_ns(ls, ln)
		add_ns(ctx, t, s, NULL, ln);
	return 0;
}

/* libnvme 1.3 keeps a process-wide default host that every scan sets:
 * one scan at a time. */
static pthread_mutex_t scan_lock = PTHREAD_MUTEX_INITIALIZER;

static int libnvme_scan_locked(struct ublkit_ctx *ctx, struct ublkit_nvme *t)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *logf;
	nvme_root_t root;
	nvme_host_t h;
	int r = 0;

	logf = open_memstream(&text, &len);
	if (!logf)
		return -ENOMEM;
	root = nvme_create_root(logf, ublkit_ctx_get_log_priority(ctx) >= UBLKIT_LOG_DEBUG
					      ? LOG_DEBUG
					      : LOG_WARNING);
	if (!root) {
		fclose(logf);
		return -ENOMEM;
	}
	/* No NVMe driver or device: an empty tree, not an error. */
	if (nvme_scan_topology(root, NULL, NULL) < 0)
		log_debug(ctx, "NVMe: libnvme found no topology: %m");
	nvme_for_each_host(root, h) {
		nvme_subsystem_t s;

		if (!t->hostnqn && nvme_host_get_hostnqn(h)) {
			r = nvme_topo_set_host(t, nvme_host_get_hostnqn(h), nvme_host_get_hostid(h));
			if (r < 0)
				break;
		}
		nvme_for_each_subsystem(h, s) {
			r = walk_subsys(ctx, t, s);
			if (r < 0)
				break;
		}
		if (r < 0)
			break;
	}
	/* closes every namespace libnvme opened */
	nvme_free_tree(root);
	fclose(logf);
	forward_log(ctx, text);
	return r;
}

static int libnvme_scan(struct ublkit_ctx *ctx, struct ublkit_nvme *t)
{
	int r;

	pthread_mutex_lock(&scan_lock);
	r = libnvme_scan_locked(ctx, t);
	pthread_mutex_unlock(&scan_lock);
	return r;
}

/* Identify Controller strings are space padded. */
static bool same_id_string(const char *id, size_t n, const char *want)
{
	size_t len = strnlen(id, n);
	size_t wlen;

	while (len && (id[len - 1] == ' ' || id[len - 1] == '\0'))
		len--;
	wlen = want ? strlen(want) : 0;
	while (wlen && want[wlen - 1] == ' ')
		wlen--;
	return wlen == len && (len == 0 || memcmp(id, want, len) == 0);
}

static int libnvme_smart_log(struct ublkit_ctx *ctx, const struct ublkit_nvme_ctrl *c, void *log)
{
	_cleanup_close_ int fd = -1;
	struct nvme_id_ctrl id;
	int r;

	fd = nvme_open(c->name);
	if (fd < 0) {
		r = neg_errno();
		log_debug(ctx, "NVMe: cannot open %s: %s", c->name, strerror(-r));
		return r == -ENOENT || r == -ENXIO ? -ENODEV : r;
	}
	r = to_errno(nvme_identify_ctrl(fd, &id));
	if (r < 0) {
		log_debug(ctx, "NVMe: %s: Identify Controller failed: %s", c->name, strerror(-r));
		return r == -EIO ? r : -ENODEV;
	}
	if (!same_id_string(id.sn, sizeof(id.sn), c->serial) ||
	    !same_id_string(id.mn, sizeof(id.mn), c->model)) {
		log_debug(ctx, "NVMe: %s is another controller now (serial %.20s)", c->name, id.sn);
		return -ENODEV;
	}
	r = to_errno(nvme_get_log_smart(fd, NVME_NSID_ALL, false, log));
	if (r < 0)
		log_debug(ctx, "NVMe: %s: SMART / health log: %s", c->name, strerror(-r));
	return r;
}

const struct nvme_source nvme_libnvme_source = {
	.scan = libnvme_scan,
	.smart_log = libnvme_smart_log,
};
