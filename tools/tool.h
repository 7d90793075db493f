/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared pieces of the ublkit command-line tool. */
#ifndef UBLKIT_TOOL_H
#define UBLKIT_TOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ublkit/ublkit.h"

struct option;

/* Exit codes, documented in ublkit --help. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,		/* the operation failed */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_UNSUPPORTED = 3,	/* the kernel or system lacks what is needed */
	EXIT_PARTIAL = 4,	/* apply, down: some of the work failed, the rest was done */
};

struct tool {
	struct ublkit_ctx *ctx;
	bool json;
	int verbose;
	const char *prog;
	const char *usage;	/* the running command's --help text */
	char sub[32];		/* "dm create": a command with a verb */
	char argv0[48];		/* "ublkit dm create": getopt's name for the command */
};

/* From here on the command is "PROG VERB" (in messages and hints); NULL:
 * PROG again. */
void tool_set_verb(struct tool *t, const char *verb);

struct tool_cmd {
	const char *name;
	int (*run)(struct tool *t, int argc, char **argv);
	const char *summary;
};

/* Commands (tools/cmd-*.c). */
int cmd_version(struct tool *t, int argc, char **argv);
int cmd_doctor(struct tool *t, int argc, char **argv);
int cmd_modprobe(struct tool *t, int argc, char **argv);
int cmd_add(struct tool *t, int argc, char **argv);
int cmd_list(struct tool *t, int argc, char **argv);
int cmd_info(struct tool *t, int argc, char **argv);
int cmd_stats(struct tool *t, int argc, char **argv);
int cmd_del(struct tool *t, int argc, char **argv);
int cmd_orphans(struct tool *t, int argc, char **argv);
int cmd_cleanup(struct tool *t, int argc, char **argv);
int cmd_recover(struct tool *t, int argc, char **argv);
int cmd_swap(struct tool *t, int argc, char **argv);
int cmd_nvme(struct tool *t, int argc, char **argv);
int cmd_dm(struct tool *t, int argc, char **argv);
int cmd_check_config(struct tool *t, int argc, char **argv);
int cmd_apply(struct tool *t, int argc, char **argv);
int cmd_down(struct tool *t, int argc, char **argv);
int cmd_status(struct tool *t, int argc, char **argv);

/* From here on the library's error messages reach stderr (they say why
 * and how to fix it); the tool adds its own summary. */
void tool_show_library_errors(struct tool *t);

/*
 * getopt_long() for a command: its own messages (an unknown option, a
 * missing value) name the command as "ublkit PROG", not only the verb.
 */
int tool_getopt(struct tool *t, int argc, char **argv, const char *shortopts,
		const struct option *longopts);

/*
 * @s as it may be shown in a message: what a user typed can hold escape
 * sequences that would drive the terminal, or be pages long. Control
 * characters (C0, DEL, C1) and bytes that are not UTF-8 become '?', and
 * more than TOOL_SHOWN_MAX bytes end in "...". The result lives until the
 * fourth call after this one.
 */
#define TOOL_SHOWN_MAX 64
const char *tool_shown(const char *s);

/* Diagnostics to stderr, prefixed with the program name. */
void tool_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print an error for @r (a negative errno) and return an exit code. */
int tool_fail(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* @what needs the running kernel, which a --sysroot does not reach:
 * says so and returns EXIT_UNSUPPORTED. */
int tool_not_in_sysroot(const char *what);

/*
 * Usage errors. Every command checks all of its arguments before it
 * touches the system; a bad one is reported by tool_usage(): the problem,
 * the command's synopsis (the "Usage:" lines of its --help) and where to
 * read more. Returns EXIT_USAGE.
 */
int tool_usage(struct tool *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Options every command takes: --help, --json. Call from a command's
 * getopt loop for options it does not know (getopt's '?' for an unknown
 * option or a missing value is a usage error). Returns -1 when the option
 * was handled and parsing goes on, or an exit code. Sets t->usage.
 */
int tool_common_option(struct tool *t, int c, const char *usage);
#define TOOL_COMMON_LONGOPTS { "help", no_argument, NULL, 'h' }, { "json", no_argument, NULL, 'J' }

/*
 * The helpers below return -1 to go on, or an exit code after they have
 * said what is wrong.
 */
/* Parse a command that takes only --help/--json. */
int tool_parse_common(struct tool *t, int argc, char **argv, const char *usage);
/* No argument is left after the options. */
int tool_no_args(struct tool *t, int argc, char **argv);
/* Exactly one argument is left: a device id (ublkit_parse_dev_id()). */
int tool_one_dev_id(struct tool *t, int argc, char **argv, uint32_t *id);
/* Exactly one argument is left: *@ret points to it. */
int tool_one_arg(struct tool *t, int argc, char **argv, const char *what, const char **ret);
/*
 * @arg passes a check of the library's (ublkit_kmod_name_check(), ...),
 * whose message says what is allowed; failing it is a usage error.
 */
int tool_check_arg(struct tool *t, int (*check)(struct ublkit_ctx *ctx, const char *arg),
		   const char *arg);
/* Library checks that log run with their messages shown. */
int tool_checks_begin(struct tool *t);
void tool_checks_end(struct tool *t, int saved);

/*
 * Option values: 0, or -EINVAL once tool_usage() has said what @opt takes.
 * Counts and ids are decimal, from @min to @max; sizes as
 * ublkit_parse_size() takes them ("512M", "1.5G", "4KiB", "1000KB").
 */
int tool_opt_uint(struct tool *t, const char *opt, const char *arg, uint64_t min, uint64_t max,
		  uint64_t *ret);
/* A count from 1 to @max into a 16-bit field (queues, depth). */
int tool_opt_u16(struct tool *t, const char *opt, const char *arg, uint16_t max, uint16_t *ret);
int tool_opt_size(struct tool *t, const char *opt, const char *arg, uint64_t min, uint64_t max,
		  uint64_t *ret);
/* The value of --@opt is a path: not empty, shorter than PATH_MAX, no
 * control character. 0 or -EINVAL, said. */
int tool_check_path(struct tool *t, const char *opt, const char *arg);
/* A device id ("3", "ublk3", "ublkb3", "/dev/ublkb3", and "ublkc3",
 * "/dev/ublkc3": the same device's control node): 0 or -EINVAL, said. */
int tool_dev_id(struct tool *t, const char *s, uint32_t *id);

/* "1.5 GiB" style. */
const char *tool_format_size(uint64_t bytes, char *buf, size_t size);

/* The provisioning policy (tools/cmd-policy.c). */
struct ublkit_policy;
struct ublkit_policy_problem;
/* Read the system's policy (@path NULL), a file and its PATH.d/ drop-ins,
 * or stdin ("-"). Returns EXIT_OK or prints why not and returns EXIT_FAIL. */
int tool_policy_load(struct tool *t, const char *path, struct ublkit_policy **ret);
/* "FILE:LINE: [SECTION] KEY: message", leaving out what the problem lacks. */
void tool_policy_print_problem(FILE *f, const struct ublkit_policy_problem *pr);
/* "problems": [{file, line, section, key, message}, ...] */
void tool_policy_json_problems(const struct ublkit_policy *p);

/* A small streaming JSON writer on stdout. */
void json_begin_object(const char *key);
void json_end_object(void);
void json_begin_array(const char *key);
void json_end_array(void);
void json_string(const char *key, const char *value);
void json_int(const char *key, long long value);
void json_uint(const char *key, unsigned long long value);
void json_bool(const char *key, bool value);
void json_null(const char *key);
void json_finish(void);
/* @s as a quoted JSON string on @f (what the writer above prints). */
void json_escape_to(FILE *f, const char *s);

#endif
