/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ublkit modprobe: load kernel modules through libublkit (libkmod). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "tool.h"

static const char usage[] =
	"Usage: ublkit modprobe [--ignore-blacklist] [--json] [MODULE...]\n"
	"\n"
	"Load kernel modules and their dependencies, honouring modprobe.d.\n"
	"Without MODULE, loads ublk_drv. Built-in and already-loaded modules\n"
	"are reported as such; nothing is unloaded.\n"
	"\n"
	"      --ignore-blacklist  load a module even if modprobe.d blacklists it\n"
	"  -j, --json              machine-readable output\n"
	"\n"
	"A module name is 1 to 55 letters, digits, '_' and '-', not starting with '-'.\n"
	"\n"
	"Exit status: 0 all loaded, 1 a module failed to load, 2 usage (such as\n"
	"a name that cannot be a module's: nothing is loaded then), 3 a module\n"
	"does not exist in this kernel.\n";

static const char *load_hint(int r)
{
	switch (r) {
	case -ENOENT: return "the running kernel has no such module; check the name, or install the kernel's modules package";
	case -ECANCELED: return "modprobe.d blacklists or disables it; remove that line or pass --ignore-blacklist";
	case -EPERM: return "loading modules needs root (CAP_SYS_MODULE) and kernel.modules_disabled=0";
	case -EXDEV: return "modules cannot be loaded into a --sysroot";
	default: return "see 'dmesg' for the kernel's reason";
	}
}

static const char *result_name(int r)
{
	switch (r) {
	case UBLKIT_KMOD_LOADED: return "loaded";
	case UBLKIT_KMOD_BUILTIN: return "builtin";
	case -ENOENT: return "missing";
	case -ECANCELED: return "blacklisted";
	case -EPERM: return "not-permitted";
	default: return "error";
	}
}

int cmd_modprobe(struct tool *t, int argc, char **argv)
{
	enum { OPT_IGNORE_BL = 0x100 };
	static const struct option opts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "ignore-blacklist", no_argument, NULL, OPT_IGNORE_BL },
		{},
	};
	static char *defaults[] = { (char *)"ublk_drv" };
	unsigned int flags = 0;
	int c, r, rc = EXIT_OK;
	char **mods;
	int n;

	t->usage = usage;
	while ((c = tool_getopt(t, argc, argv, "hj", opts)) != -1) {
		if (c == OPT_IGNORE_BL) {
			flags |= UBLKIT_KMOD_IGNORE_BLACKLIST;
			continue;
		}
		r = tool_common_option(t, c, usage);
		if (r >= 0)
			return r;
	}
	mods = optind < argc ? argv + optind : defaults;
	n = optind < argc ? argc - optind : 1;
	/* every name, before any module is looked for */
	for (int i = 0; i < n; i++) {
		r = tool_check_arg(t, ublkit_kmod_name_check, mods[i]);
		if (r >= 0)
			return r;
	}
	if (t->json)
		json_begin_array(NULL);
	for (int i = 0; i < n; i++) {
		int was = ublkit_kmod_state(t->ctx, mods[i]);

		r = ublkit_kmod_load(t->ctx, mods[i], flags);
		if (t->json) {
			json_begin_object(NULL);
			json_string("module", mods[i]);
			json_string("result", result_name(r));
			json_bool("already", was == r && r >= 0);
			if (r < 0)
				json_string("error", strerror(-r));
			json_end_object();
		} else if (r >= 0) {
			printf("%s: %s\n", mods[i],
			       r == UBLKIT_KMOD_BUILTIN ? "built into the kernel"
			       : was == UBLKIT_KMOD_LOADED ? "already loaded"
							    : "loaded");
		} else {
			tool_error("%s: %s: %s", mods[i], strerror(-r), load_hint(r));
		}
		if (r < 0 && rc != EXIT_FAIL)
			rc = r == -ENOENT ? EXIT_UNSUPPORTED : EXIT_FAIL;
	}
	if (t->json) {
		json_end_array();
		json_finish();
	}
	return rc;
}
