/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ublkit nvme list / info: NVMe namespaces, their identity, health and holders. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "ublkit/nvme.h"

static const char usage[] =
	"Usage: ublkit nvme list [--json]\n"
	"       ublkit nvme info DEVICE [--json]\n"
	"\n"
	"NVMe namespaces as libnvme (and nvme-cli) see them, and whether ublkit may\n"
	"take them.\n"
	"\n"
	"list: one line per namespace: block device, model, serial, nsid, size, the\n"
	"identity ublkit matches and names things by (from the NGUID, else the\n"
	"EUI-64, else the UUID, else the subsystem NQN and nsid), and its holder:\n"
	"  free             nothing on it: ublkit may take it\n"
	"  mounted:DIR      it or a partition is mounted\n"
	"  swap             it or a partition is active swap\n"
	"  held:NAME        device-mapper, md or an exclusive opener (such as a\n"
	"                   ublk server) uses it\n"
	"  signature:TYPE   it holds data libblkid recognises (ext4, swap, LVM2_member...)\n"
	"  partitions       it has a partition table\n"
	"  gone             it went away while it was looked at\n"
	"\n"
	"info: one namespace (DEVICE is /dev/nvme0n1, nvme0n1, a /dev/disk/by-id link,\n"
	"/dev/ng0n1 or an identity): its controller and subsystem, identifiers,\n"
	"multipath paths, the controller's SMART / health log and what holds it.\n"
	"\n"
	"  -j, --json     machine-readable output\n"
	"  -h, --help     this help\n"
	"\n"
	"Exit status: 0 done, 1 failed (no such namespace), 2 usage, 3 the system\n"
	"lacks what is needed (--sysroot: libnvme reads the running system only).\n";

/* ---- holders --------------------------------------------------------------- */

struct holder {
	int r;
	struct ublkit_blockdev_usage u;
	char word[160];
};

static void holder_check(struct tool *t, const struct ublkit_nvme_ns *ns, struct holder *h)
{
	ublkit_blockdev_usage_init(&h->u);
	h->r = ublkit_nvme_ns_check(t->ctx, ns, 0, &h->u);
	if (h->r == 0)
		snprintf(h->word, sizeof(h->word), "free");
	else if (h->r == -ENODEV)
		snprintf(h->word, sizeof(h->word), "gone");
	else if (h->u.found & UBLKIT_BLOCKDEV_MOUNTED)
		snprintf(h->word, sizeof(h->word), "mounted:%s", h->u.holder);
	else if (h->u.found & UBLKIT_BLOCKDEV_ACTIVE_SWAP)
		snprintf(h->word, sizeof(h->word), "swap");
	else if (h->u.found & UBLKIT_BLOCKDEV_HELD)
		snprintf(h->word, sizeof(h->word), "held:%s",
			 h->u.holder[0] ? h->u.holder : "exclusive");
	else if (h->u.found & UBLKIT_BLOCKDEV_PARTITIONS)
		snprintf(h->word, sizeof(h->word), "partitions");
	else if ((h->u.found & UBLKIT_BLOCKDEV_SIGNATURE) && h->u.type[0])
		snprintf(h->word, sizeof(h->word), "signature:%s", h->u.type);
	else
		snprintf(h->word, sizeof(h->word), "error:%s", strerror(-h->r));
}

static void json_holder(const struct holder *h)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} found[] = {
		{ UBLKIT_BLOCKDEV_SIGNATURE, "signature" },
		{ UBLKIT_BLOCKDEV_PARTITIONS, "partitions" },
		{ UBLKIT_BLOCKDEV_MOUNTED, "mounted" },
		{ UBLKIT_BLOCKDEV_ACTIVE_SWAP, "active-swap" },
		{ UBLKIT_BLOCKDEV_HELD, "held" },
	};

	json_string("holder", h->word);
	json_bool("free", h->r == 0);
	json_begin_object("usage");
	json_begin_array("found");
	for (size_t i = 0; i < sizeof(found) / sizeof(found[0]); i++)
		if (h->u.found & found[i].bit)
			json_string(NULL, found[i].name);
	json_end_array();
	json_string("type", h->u.type[0] ? h->u.type : NULL);
	json_string("usage", h->u.usage[0] ? h->u.usage : NULL);
	json_string("label", h->u.label[0] ? h->u.label : NULL);
	json_string("uuid", h->u.uuid[0] ? h->u.uuid : NULL);
	json_string("by", h->u.holder[0] ? h->u.holder : NULL);
	json_string("reason", h->u.reason);
	json_end_object();
}

/* ---- namespaces ------------------------------------------------------------ */

static void json_ns_fields(const struct ublkit_nvme_ns *ns)
{
	const struct ublkit_nvme_ctrl *c = ublkit_nvme_ns_get_ctrl(ns);
	const struct ublkit_nvme_subsys *s = ublkit_nvme_ns_get_subsys(ns);

	json_string("device", ublkit_nvme_ns_get_block_device(ns));
	json_string("name", ublkit_nvme_ns_get_name(ns));
	json_string("generic_device", ublkit_nvme_ns_get_generic_device(ns));
	json_uint("nsid", ublkit_nvme_ns_get_nsid(ns));
	json_uint("size", ublkit_nvme_ns_get_size(ns));
	json_uint("sector_size", ublkit_nvme_ns_get_lba_size(ns));
	json_uint("lba_count", ublkit_nvme_ns_get_lba_count(ns));
	json_uint("lba_used", ublkit_nvme_ns_get_lba_used(ns));
	json_string("model", ublkit_nvme_ns_get_model(ns));
	json_string("serial", ublkit_nvme_ns_get_serial(ns));
	json_string("firmware", ublkit_nvme_ns_get_firmware(ns));
	json_string("controller", ublkit_nvme_ctrl_get_name(c));
	json_string("transport", ublkit_nvme_ctrl_get_transport(c));
	json_string("subsystem", ublkit_nvme_subsys_get_name(s));
	json_string("subsystem_nqn", s ? ublkit_nvme_subsys_get_nqn(s)
				       : ublkit_nvme_ctrl_get_subsysnqn(c));
	json_string("nguid", ublkit_nvme_ns_get_nguid(ns));
	json_string("eui64", ublkit_nvme_ns_get_eui64(ns));
	json_string("uuid", ublkit_nvme_ns_get_uuid(ns));
	json_string("identity", ublkit_nvme_ns_get_identity(ns));
	json_string("identity_kind", ublkit_nvme_id_kind_name(ublkit_nvme_ns_get_identity_kind(ns)));
	json_begin_array("paths");
	for (size_t i = 0; i < ublkit_nvme_ns_get_path_count(ns); i++) {
		const struct ublkit_nvme_path *p = ublkit_nvme_ns_get_path(ns, i);

		json_begin_object(NULL);
		json_string("name", ublkit_nvme_path_get_name(p));
		json_string("controller", ublkit_nvme_ctrl_get_name(ublkit_nvme_path_get_ctrl(p)));
		json_string("ana_state", ublkit_nvme_path_get_ana_state(p));
		json_end_object();
	}
	json_end_array();
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static int scan(struct tool *t, struct ublkit_nvme **n)
{
	int r = ublkit_nvme_scan(t->ctx, 0, n);

	if (r == -EXDEV) {
		tool_error("nvme: libnvme reads the running system's /sys and /dev; "
			   "it cannot look at a --sysroot");
		return EXIT_UNSUPPORTED;
	}
	if (r < 0)
		return tool_fail(r, "cannot scan NVMe devices");
	return -1;
}

static int cmd_nvme_list(struct tool *t, int argc, char **argv)
{
	struct ublkit_nvme *n = NULL;
	int r, idw = (int)strlen("IDENTITY");
	size_t count;

	r = tool_parse_common(t, argc, argv, usage);
	if (r < 0)
		r = tool_no_args(t, argc, argv);
	if (r >= 0)
		return r;
	r = scan(t, &n);
	if (r >= 0)
		return r;
	count = ublkit_nvme_get_ns_count(n);
	for (size_t i = 0; i < count; i++) {
		int w = (int)strlen(ublkit_nvme_ns_get_identity(ublkit_nvme_get_ns(n, i)));

		idw = w > idw ? w : idw;
	}
	if (t->json)
		json_begin_array(NULL);
	else if (count)
		printf("%-14s %-24s %-20s %5s %10s %-*s %s\n", "DEVICE", "MODEL", "SERIAL", "NSID",
		       "SIZE", idw, "IDENTITY", "HOLDER");
	for (size_t i = 0; i < count; i++) {
		const struct ublkit_nvme_ns *ns = ublkit_nvme_get_ns(n, i);
		struct holder h;
		char size[32];

		holder_check(t, ns, &h);
		if (t->json) {
			json_begin_object(NULL);
			json_ns_fields(ns);
			json_holder(&h);
			json_end_object();
			continue;
		}
		printf("%-14s %-24s %-20s %5u %10s %-*s %s\n", ublkit_nvme_ns_get_block_device(ns),
		       or_dash(ublkit_nvme_ns_get_model(ns)), or_dash(ublkit_nvme_ns_get_serial(ns)),
		       ublkit_nvme_ns_get_nsid(ns),
		       tool_format_size(ublkit_nvme_ns_get_size(ns), size, sizeof(size)),
		       idw, ublkit_nvme_ns_get_identity(ns), h.word);
	}
	if (t->json) {
		json_end_array();
		json_finish();
	} else if (!count) {
		printf("(no NVMe namespaces)\n");
	}
	ublkit_nvme_unref(n);
	return EXIT_OK;
}

/* ---- info -------------------------------------------------------------------- */

static void json_ctrl(const struct ublkit_nvme_ctrl *c)
{
	if (!c) {
		json_null("controller");
		return;
	}
	json_begin_object("controller");
	json_string("name", ublkit_nvme_ctrl_get_name(c));
	json_string("model", ublkit_nvme_ctrl_get_model(c));
	json_string("serial", ublkit_nvme_ctrl_get_serial(c));
	json_string("firmware", ublkit_nvme_ctrl_get_firmware(c));
	json_string("transport", ublkit_nvme_ctrl_get_transport(c));
	json_string("address", ublkit_nvme_ctrl_get_address(c));
	json_string("state", ublkit_nvme_ctrl_get_state(c));
	json_string("subsystem_nqn", ublkit_nvme_ctrl_get_subsysnqn(c));
	json_end_object();
}

static void json_health(int r, const struct ublkit_nvme_health *h)
{
	char why[256];
	bool ok;

	if (r < 0) {
		json_null("health");
		json_string("health_error", strerror(-r));
		return;
	}
	ok = ublkit_nvme_health_ok(h, 255, why, sizeof(why));
	json_begin_object("health");
	json_uint("critical_warning", h->critical_warning);
	json_begin_array("critical_warnings");
	for (unsigned int bit = 1; bit < 256; bit <<= 1)
		if (h->critical_warning & bit)
			json_string(NULL, ublkit_nvme_warning_name(bit) ? ublkit_nvme_warning_name(bit)
									: "unknown");
	json_end_array();
	json_uint("temperature_kelvin", h->temperature);
	if (h->temperature)
		json_int("temperature_celsius", (long long)h->temperature - 273);
	else
		json_null("temperature_celsius");
	json_uint("available_spare", h->available_spare);
	json_uint("available_spare_threshold", h->available_spare_threshold);
	json_uint("percentage_used", h->percentage_used);
	json_uint("endurance_group_warning", h->endurance_group_warning);
	json_uint("data_units_read", h->data_units_read);
	json_uint("data_units_written", h->data_units_written);
	json_uint("host_read_commands", h->host_read_commands);
	json_uint("host_write_commands", h->host_write_commands);
	json_uint("controller_busy_time", h->controller_busy_time);
	json_uint("power_cycles", h->power_cycles);
	json_uint("power_on_hours", h->power_on_hours);
	json_uint("unsafe_shutdowns", h->unsafe_shutdowns);
	json_uint("media_errors", h->media_errors);
	json_uint("error_log_entries", h->error_log_entries);
	json_uint("warning_temperature_time", h->warning_temperature_time);
	json_uint("critical_temperature_time", h->critical_temperature_time);
	json_bool("ok", ok);
	json_string("verdict", why);
	json_end_object();
}

static void print_health(int r, const struct ublkit_nvme_health *h)
{
	char why[256];

	if (r < 0) {
		printf("Health:           unavailable (%s)\n", strerror(-r));
		return;
	}
	ublkit_nvme_health_ok(h, 255, why, sizeof(why));
	printf("Health:           %s\n", why);
	printf("  critical warning:  0x%02x", h->critical_warning);
	for (unsigned int bit = 1; bit < 256; bit <<= 1)
		if (h->critical_warning & bit)
			printf(" %s", ublkit_nvme_warning_name(bit) ? ublkit_nvme_warning_name(bit)
								    : "unknown");
	printf("\n");
	if (h->temperature)
		printf("  temperature:       %d C (%u K)\n", (int)h->temperature - 273, h->temperature);
	printf("  available spare:   %u%% (threshold %u%%)\n", h->available_spare,
	       h->available_spare_threshold);
	printf("  percentage used:   %u%%\n", h->percentage_used);
	printf("  media errors:      %" PRIu64 "\n", h->media_errors);
	printf("  unsafe shutdowns:  %" PRIu64 "\n", h->unsafe_shutdowns);
	printf("  power-on hours:    %" PRIu64 "\n", h->power_on_hours);
	printf("  power cycles:      %" PRIu64 "\n", h->power_cycles);
	printf("  data read/written: %" PRIu64 " / %" PRIu64 " (1000 x 512 bytes)\n",
	       h->data_units_read, h->data_units_written);
}

static void print_info(const struct ublkit_nvme_ns *ns, const struct holder *hold, int hr,
		       const struct ublkit_nvme_health *h)
{
	const struct ublkit_nvme_ctrl *c = ublkit_nvme_ns_get_ctrl(ns);
	const struct ublkit_nvme_subsys *s = ublkit_nvme_ns_get_subsys(ns);
	char size[32];

	printf("Namespace:        %s (nsid %u)\n", ublkit_nvme_ns_get_block_device(ns),
	       ublkit_nvme_ns_get_nsid(ns));
	printf("Size:             %s (%" PRIu64 " blocks of %u bytes)\n",
	       tool_format_size(ublkit_nvme_ns_get_size(ns), size, sizeof(size)),
	       ublkit_nvme_ns_get_lba_count(ns), ublkit_nvme_ns_get_lba_size(ns));
	printf("Identity:         %s (from %s)\n", ublkit_nvme_ns_get_identity(ns),
	       ublkit_nvme_id_kind_name(ublkit_nvme_ns_get_identity_kind(ns)));
	printf("NGUID:            %s\n", or_dash(ublkit_nvme_ns_get_nguid(ns)));
	printf("EUI-64:           %s\n", or_dash(ublkit_nvme_ns_get_eui64(ns)));
	printf("UUID:             %s\n", or_dash(ublkit_nvme_ns_get_uuid(ns)));
	printf("Subsystem:        %s %s\n", or_dash(ublkit_nvme_subsys_get_name(s)),
	       or_dash(ublkit_nvme_subsys_get_nqn(s)));
	printf("Controller:       %s (%s, %s)\n", or_dash(ublkit_nvme_ctrl_get_name(c)),
	       or_dash(ublkit_nvme_ctrl_get_transport(c)), or_dash(ublkit_nvme_ctrl_get_state(c)));
	printf("  model:          %s\n", or_dash(ublkit_nvme_ctrl_get_model(c)));
	printf("  serial:         %s\n", or_dash(ublkit_nvme_ctrl_get_serial(c)));
	printf("  firmware:       %s\n", or_dash(ublkit_nvme_ctrl_get_firmware(c)));
	printf("  address:        %s\n", or_dash(ublkit_nvme_ctrl_get_address(c)));
	for (size_t i = 0; i < ublkit_nvme_ns_get_path_count(ns); i++) {
		const struct ublkit_nvme_path *p = ublkit_nvme_ns_get_path(ns, i);

		printf("Path:             %s via %s (%s)\n", ublkit_nvme_path_get_name(p),
		       or_dash(ublkit_nvme_ctrl_get_name(ublkit_nvme_path_get_ctrl(p))),
		       or_dash(ublkit_nvme_path_get_ana_state(p)));
	}
	print_health(hr, h);
	printf("Holder:           %s\n", hold->word);
	printf("  %s\n", hold->u.reason);
}

static int cmd_nvme_info(struct tool *t, int argc, char **argv)
{
	struct ublkit_nvme_health h;
	struct ublkit_nvme *n = NULL;
	const struct ublkit_nvme_ns *ns;
	struct holder hold;
	const char *dev = NULL;
	int r, hr;

	r = tool_parse_common(t, argc, argv, usage);
	if (r < 0)
		r = tool_one_arg(t, argc, argv, "DEVICE (such as /dev/nvme0n1)", &dev);
	if (r >= 0)
		return r;
	if (!*dev)
		return tool_usage(t, "nvme info: the DEVICE is empty");
	r = scan(t, &n);
	if (r >= 0)
		return r;
	ns = ublkit_nvme_find_ns(n, dev);
	if (!ns) {
		tool_error("%s is no NVMe namespace here (see 'ublkit nvme list')", tool_shown(dev));
		ublkit_nvme_unref(n);
		return EXIT_FAIL;
	}
	memset(&h, 0, sizeof(h));
	hr = ublkit_nvme_ns_get_ctrl(ns)
		     ? ublkit_nvme_ctrl_read_health(t->ctx, ublkit_nvme_ns_get_ctrl(ns), &h)
		     : -ENODEV;
	holder_check(t, ns, &hold);
	if (t->json) {
		json_begin_object(NULL);
		json_begin_object("namespace");
		json_ns_fields(ns);
		json_holder(&hold);
		json_end_object();
		json_ctrl(ublkit_nvme_ns_get_ctrl(ns));
		json_health(hr, &h);
		json_end_object();
		json_finish();
	} else {
		print_info(ns, &hold, hr, &h);
	}
	ublkit_nvme_unref(n);
	return EXIT_OK;
}

int cmd_nvme(struct tool *t, int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : NULL;

	t->usage = usage;
	if (!verb)
		return tool_usage(t, "nvme needs a command: list or info");
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h")) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	tool_set_verb(t, verb);
	if (!strcmp(verb, "list"))
		return cmd_nvme_list(t, argc - 1, argv + 1);
	if (!strcmp(verb, "info"))
		return cmd_nvme_info(t, argc - 1, argv + 1);
	tool_set_verb(t, NULL);
	return tool_usage(t, "unknown nvme command '%s' (list, info)", tool_shown(verb));
}
