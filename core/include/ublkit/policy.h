/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libublkit: the provisioning policy.
 *
 * A policy says which NVMe namespace becomes what. It is read from
 * systemd-style configuration files, through the context's sysroot:
 *
 *   /etc/ublkit/ublkit.conf           the administrator's file
 *   /run/ublkit/ublkit.conf           runtime override
 *   /usr/lib/ublkit/ublkit.conf       vendor defaults
 *   {/etc,/run,/usr/lib}/ublkit/ublkit.conf.d/ *.conf   drop-ins
 *
 * The main file is the first of the three that exists (/etc, then /run,
 * then /usr/lib). Drop-ins are collected from all three directories; a
 * drop-in masks one of the same name in a directory of lower precedence
 * (a symlink to /dev/null or an empty file masks it to nothing), and the
 * survivors are read after the main file in lexical order of their names.
 *
 * The format is INI: "[Global]", "[Rule NAME]" per rule, "Key=Value"
 * lines (blanks around '=' and at the ends are dropped; keys are
 * case-sensitive), '#' and ';' start comments as the first character of a
 * line that is not a blank; a comment never follows a value. Lines are at
 * most 4096 bytes, files at most 1 MiB. Each file starts outside any
 * section. A later file may set keys of [Global] or of a rule an earlier
 * one started (same NAME): the later value wins, "Key=" with no value
 * takes a value back (the default applies), the rule keeps its first
 * position. Rules are tried in that order; the first whose Match* keys
 * all match a namespace claims it (see ublkit_policy_match() for two
 * rules that match).
 *
 * Reading never stops at the first problem: every problem is kept with
 * its file and line (see ublkit_policy_get_problem()), so `ublkit
 * check-config` can list them all, and a policy with problems is never
 * applied.
 *
 * Every function that can fail returns 0 (or a documented value >= 0) on
 * success and a negative errno on failure.
 */
#ifndef UBLKIT_POLICY_H
#define UBLKIT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ublkit/ublkit.h"
#include "ublkit/nvme.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ublkit_policy;
struct ublkit_policy_rule;

/* ---- reading ---------------------------------------------------------- */

/*
 * Read the policy. @path NULL: the system's files as described above
 * (none at all is an empty, valid policy). @path set: that file alone and
 * the drop-ins in "@path.d/" (no sysroot applied to @path). @flags: 0.
 * Returns 0 with a policy that may carry problems; a negative errno only
 * when a file exists but cannot be read (-EACCES, -EIO, ...), -ENOMEM,
 * and for @path: -ENOENT when it does not exist, -EISDIR for a directory.
 */
int ublkit_policy_load(struct ublkit_ctx *ctx, const char *path, unsigned int flags,
		       struct ublkit_policy **ret);
/*
 * Parse @len bytes of one file's text as if read from @filename (used for
 * problem locations; drop-in semantics do not apply). For tools that read
 * stdin and for fuzzing.
 */
int ublkit_policy_load_buffer(struct ublkit_ctx *ctx, const char *filename, const char *text,
			      size_t len, unsigned int flags, struct ublkit_policy **ret);
struct ublkit_policy *ublkit_policy_ref(struct ublkit_policy *p);
/* Takes NULL; always returns NULL. */
struct ublkit_policy *ublkit_policy_unref(struct ublkit_policy *p);

/* The files that were read, in the order they were applied (masks are
 * not read; a file too large to read is not listed, it is a problem). */
size_t ublkit_policy_get_file_count(const struct ublkit_policy *p);
const char *ublkit_policy_get_file(const struct ublkit_policy *p, size_t i);

/* ---- problems ----------------------------------------------------------- */

/* In order of files read, then lines. */
struct ublkit_policy_problem {
	const char *file;	/* as read (without the sysroot); NULL: the policy as a whole */
	unsigned int line;	/* 1-based; 0: the file as a whole */
	const char *section;	/* "Global", "Rule NAME", or NULL */
	const char *key;	/* NULL when not about one key */
	const char *message;	/* what is wrong and what would be right */
};

size_t ublkit_policy_get_problem_count(const struct ublkit_policy *p);
/* NULL past the last. Owned by the policy. */
const struct ublkit_policy_problem *ublkit_policy_get_problem(const struct ublkit_policy *p,
							      size_t i);

/* ---- global settings ---------------------------------------------------- */

/*
 * [Global]
 *   Hardening=required|best-effort     (default required)
 *   Queues=N                           (default 1; 1..UBLKIT_MAX_QUEUES)
 *   QueueDepth=N                       (default 128)
 *   Priority=N                         (swap priority, -1..32767; default -1: kernel's)
 *   AllowTakingData=no|yes             (default no)
 */
/* UBLKIT_HARDEN_REQUIRED or UBLKIT_HARDEN_BEST_EFFORT (swap.h). */
int ublkit_policy_get_hardening(const struct ublkit_policy *p);
unsigned int ublkit_policy_get_queues(const struct ublkit_policy *p);
unsigned int ublkit_policy_get_queue_depth(const struct ublkit_policy *p);
int ublkit_policy_get_priority(const struct ublkit_policy *p);
bool ublkit_policy_get_allow_taking_data(const struct ublkit_policy *p);

/* ---- rules ---------------------------------------------------------------- */

/* What a rule makes of the namespaces it claims. */
enum ublkit_policy_create {
	UBLKIT_POLICY_IGNORE = 0,	/* claim it and leave it alone */
	UBLKIT_POLICY_UBLK = 1,		/* a ublk device, no swap */
	UBLKIT_POLICY_UBLK_SWAP = 2,	/* a hardened ublk device as swap */
	UBLKIT_POLICY_DM_LINEAR = 3,	/* a dm linear device over the namespace */
	UBLKIT_POLICY_DM_STRIPED = 4,	/* one striped device over Members= namespaces */
	UBLKIT_POLICY_DM_CRYPT_SWAP = 5,	/* dm-crypt with a random key, as swap */
	UBLKIT_POLICY_DM_THIN_POOL = 6,	/* a thin pool: metadata and data from the namespace */
};
/* "ignore", "ublk", "ublk-swap", "dm-linear", "dm-striped", "dm-crypt-swap",
 * "dm-thin-pool"; NULL for anything else. */
const char *ublkit_policy_create_name(int create);
/* The enum value, or -EINVAL. */
int ublkit_policy_create_from_string(const char *s);

size_t ublkit_policy_get_rule_count(const struct ublkit_policy *p);
/* NULL past the last. Owned by the policy. */
const struct ublkit_policy_rule *ublkit_policy_get_rule(const struct ublkit_policy *p, size_t i);
const struct ublkit_policy_rule *ublkit_policy_find_rule(const struct ublkit_policy *p,
							 const char *name);

/*
 * [Rule NAME]  NAME: [A-Za-z0-9_-], 1..32 characters (it names dm devices
 * and /dev/disk/by-ublkit/ links).
 *
 * Matching (all given keys must match; none given matches every
 * namespace). Globs are fnmatch(3) patterns; Identify strings are
 * compared without their padding blanks:
 *   MatchModel=GLOB  MatchSerial=GLOB  MatchController=GLOB (nvme0)
 *   MatchIdentity=GLOB (ublkit_nvme_ns_get_identity(), or the NGUID,
 *                       EUI-64 or UUID alone)
 *   MatchNSID=N[,N...]  MatchTransport=pcie|tcp|rdma|fc|loop[,...]
 *   MatchMinSize=SIZE  MatchMaxSize=SIZE
 * Health (read from the controller's SMART log; a namespace whose log
 * cannot be read fails a rule that sets either):
 *   AllowCriticalWarning=no|yes (default no when MaxPercentUsed is set)
 *   MaxPercentUsed=N   (0..255)
 * What it makes:
 *   Create=ignore|ublk|ublk-swap|dm-linear|dm-striped|dm-crypt-swap|dm-thin-pool
 *   Target=file (ublk, ublk-swap)         Queues=N  QueueDepth=N
 *   Priority=N  Discard=no|yes|once|pages  Label=TEXT   (the swap kinds)
 *   Hardening=required|best-effort        (ublk-swap; default: [Global])
 *   Members=N  Chunk=SIZE                 (dm-striped; N >= 2)
 *   MetadataSize=SIZE BlockSize=SIZE LowWater=SIZE (dm-thin-pool)
 */
const char *ublkit_policy_rule_get_name(const struct ublkit_policy_rule *r);
/* enum ublkit_policy_create; -EINVAL when Create= is missing or wrong
 * (only in a policy with problems). */
int ublkit_policy_rule_get_create(const struct ublkit_policy_rule *r);
/* Where the rule's [Rule] line is. */
const char *ublkit_policy_rule_get_file(const struct ublkit_policy_rule *r);
unsigned int ublkit_policy_rule_get_line(const struct ublkit_policy_rule *r);
/*
 * The value of one key as written after all files were read ("Priority"
 * -> "100"), or NULL when not set. Typed getters for what apply needs.
 */
const char *ublkit_policy_rule_get_value(const struct ublkit_policy_rule *r, const char *key);
/*
 * The parsed value of a key that is not text: numbers, sizes in bytes
 * ("Chunk", "MetadataSize", "BlockSize", "LowWater", "MatchMinSize"),
 * booleans as 0/1, "Create" as enum ublkit_policy_create, "Hardening" as
 * UBLKIT_HARDEN_*, "Discard" as its UBLKIT_SWAP_DISCARD* flag (0 for
 * no). Returns 0, -ENOENT when the rule does not set it (no fallback to
 * [Global]), -EINVAL for a text key (globs, lists, Label, Target), an
 * unknown key or a value that has a problem.
 */
int ublkit_policy_rule_get_number(const struct ublkit_policy_rule *r, const char *key,
				  int64_t *ret);
/* The rule's value, else [Global]'s, else the default. */
unsigned int ublkit_policy_rule_get_queues(const struct ublkit_policy_rule *r);
unsigned int ublkit_policy_rule_get_queue_depth(const struct ublkit_policy_rule *r);
int ublkit_policy_rule_get_priority(const struct ublkit_policy_rule *r);
int ublkit_policy_rule_get_hardening(const struct ublkit_policy_rule *r);
/* Members= of a striped rule (0 when missing: a problem); 1 for every other kind. */
unsigned int ublkit_policy_rule_get_members(const struct ublkit_policy_rule *r);

/* ---- matching ------------------------------------------------------------ */

/*
 * Does @r claim @ns? @health: the controller's health log, or NULL when
 * it could not be read. Returns 1 (claims), 0 (does not; @why, when not
 * NULL, gets the first key that failed and why: "MatchModel: 'QEMU NVMe
 * Ctrl' does not match 'Samsung*'"), or a negative errno.
 */
int ublkit_policy_rule_match(const struct ublkit_policy_rule *r, const struct ublkit_nvme_ns *ns,
			     const struct ublkit_nvme_health *health, char *why, size_t why_size);

/*
 * The rule that claims @ns: the first that matches. Returns 0 and sets
 * *@ret (NULL when no rule matches), -ENOTUNIQ when a second rule matches
 * too (@why names both; *@ret is the first), -EINVAL when the policy has
 * problems. A matching Create=ignore rule that comes first ends the search:
 * exceptions go before the rules they make an exception of.
 */
int ublkit_policy_match(const struct ublkit_policy *p, const struct ublkit_nvme_ns *ns,
			const struct ublkit_nvme_health *health,
			const struct ublkit_policy_rule **ret, char *why, size_t why_size);

/* ---- the kernel command line switch -------------------------------------- */

/*
 * Is ublkit switched off on the kernel command line ("ublkit=0", or in
 * the initramfs also "rd.ublkit=0"; "=no", "=false", "=off" alike; the
 * last occurrence wins; "=1", "=yes", "=true", "=on" or a bare "ublkit"
 * switch it back on; other values are ignored)? Parameters are split as
 * the kernel splits them: at blanks outside double quotes, quotes
 * removed. Reads /proc/cmdline through the sysroot (none there: on).
 * @initrd: also honour rd.ublkit=. Returns 1 off, 0 on, negative errno.
 */
int ublkit_policy_disabled_by_cmdline(struct ublkit_ctx *ctx, bool initrd);
/* The same for a command line given as text. */
int ublkit_policy_cmdline_disables(const char *cmdline, bool initrd);
/*
 * Is ublkit switched off here? ublkit_policy_disabled_by_cmdline() with
 * rd.ublkit= honoured when this is the initramfs (/etc/initrd-release
 * exists in the sysroot, as systemd decides it). For a tool to ask before
 * it reads anything else, as ublkit_plan_new() does. Returns 1 off, 0 on
 * (also without a /proc/cmdline), or a negative errno.
 */
int ublkit_policy_switched_off(struct ublkit_ctx *ctx);

/* ---- applying -------------------------------------------------------------- */

/*
 * A plan: for each namespace present (or the one asked for), the rule
 * that claims it and what applying does about it. Run state, one file
 * per instance under /run/ublkit/policy/, records what was made, so that
 * a second apply sees it and `down` can undo it in reverse order.
 *
 * An instance is what one rule makes once: for a per-namespace rule one
 * per namespace it claims, named NAME for the first and NAME-2, NAME-3,
 * ... for further ones (in the order namespaces are sorted: subsystem,
 * then nsid; a name once given is kept in the run state); for a striped
 * rule one over all its members, named NAME.
 */
struct ublkit_plan;

enum ublkit_plan_action {
	UBLKIT_PLAN_NOTHING = 0,	/* no rule claims it / ignore: left alone */
	UBLKIT_PLAN_CREATE = 1,		/* will be made */
	UBLKIT_PLAN_PRESENT = 2,	/* already made and healthy: nothing to do */
	UBLKIT_PLAN_WAIT = 3,		/* striped: not all members present yet */
	UBLKIT_PLAN_REFUSE = 4,		/* claimed but may not be taken (data, health, busy) */
	UBLKIT_PLAN_CONFLICT = 5,	/* two rules claim it */
};
/* "nothing", "create", "present", "wait", "refuse", "conflict". */
const char *ublkit_plan_action_name(int action);

/* Flags of ublkit_plan_new() / ublkit_plan_execute(). */
#define UBLKIT_PLAN_FORCE (1u << 0)	/* take a namespace with data if AllowTakingData=yes */
/* Decide even when the kernel command line switched ublkit off (to show
 * what would happen, as `ublkit status` does); never with execute. */
#define UBLKIT_PLAN_IGNORE_CMDLINE (1u << 1)

/*
 * Decide. @nvme: a snapshot (ublkit_nvme_scan()). @only: a namespace as
 * ublkit_nvme_find_ns() takes it, or NULL for all. Returns -EINVAL when
 * the policy has problems, -ENODEV when @only names no namespace,
 * -ECANCELED when the kernel command line switched ublkit off.
 *
 * A plan to carry out (without UBLKIT_PLAN_IGNORE_CMDLINE) holds the
 * policy's lock, /run/ublkit/policy.lock, from here until it is unref'ed,
 * so that applies and downs that run at once (udev runs one per
 * namespace) take turns: each sees what the one before made. It waits up
 * to 90 s for another to finish, then returns -ETIMEDOUT (logged with
 * the holder's pid).
 *
 * A namespace that holds a thin pool's metadata (which blkid does not
 * see) is data for every rule but a thin-pool rule, for which the pool
 * is opened again as it is, its volumes kept (refused when the rule's
 * BlockSize= or MetadataSize= no longer say what it was made with).
 */
int ublkit_plan_new(struct ublkit_ctx *ctx, struct ublkit_policy *p, struct ublkit_nvme *nvme,
		    const char *only, unsigned int flags, struct ublkit_plan **ret);
struct ublkit_plan *ublkit_plan_unref(struct ublkit_plan *plan);

size_t ublkit_plan_get_step_count(const struct ublkit_plan *plan);
/* One step per namespace, and per striped instance. */
struct ublkit_plan_step_info {
	int action;			/* enum ublkit_plan_action */
	const char *ns;			/* "nvme0n1", NULL for a striped instance */
	const char *identity;		/* the namespace's identity */
	const char *rule;		/* the claiming rule, or NULL */
	const char *instance;		/* the instance name, or NULL */
	int create;			/* enum ublkit_policy_create */
	const char *text;		/* the plan in words, as apply reports it */
};
int ublkit_plan_get_step(const struct ublkit_plan *plan, size_t i,
			 struct ublkit_plan_step_info *info);

/*
 * Carry the plan out, step by step. A failing step undoes what it made
 * and the others still run. @fn (may be NULL) hears each step's result:
 * @err 0 done, negative errno failed, @text says what was done or why
 * not. Returns 0 when every step succeeded, -EREMOTEIO when some failed.
 */
typedef void (*ublkit_plan_result_fn)(const struct ublkit_plan_step_info *step, int err,
				      const char *text, void *userdata);
int ublkit_plan_execute(struct ublkit_plan *plan, unsigned int flags, ublkit_plan_result_fn fn,
			void *userdata);

/*
 * Can @name be an instance's name: a rule's name ([A-Za-z0-9_-], 1 to 32
 * characters), maybe with "-N" after it (a rule's further instances)?
 * Returns 0, or -EINVAL after logging what a name may be.
 */
int ublkit_policy_instance_name_check(struct ublkit_ctx *ctx, const char *name);

/*
 * Tear down instance @name (NULL: all, the last made first), each in
 * reverse order of making: swapoff first (refused when memory cannot take
 * the pages back, which stops that instance's teardown), then dm devices,
 * then the ublk device, then its run state; with no instance left,
 * /run/ublkit/policy itself goes. Every other instance still goes down.
 * Holds the policy's lock as a plan does. The kernel command line switch
 * does not apply: taking down is always possible. Returns 0, -EINVAL when
 * @name cannot be an instance's name, -ENOENT when it is no instance,
 * -EREMOTEIO when some failed, -ETIMEDOUT when another apply or down
 * held the lock too long.
 */
int ublkit_policy_down(struct ublkit_ctx *ctx, const char *name, unsigned int flags,
		       ublkit_plan_result_fn fn, void *userdata);

/* ---- status ------------------------------------------------------------------ */

/*
 * What the run state records, with a fresh look at each instance: is its
 * ublk server alive and (for swap) still hardened, is its swap area
 * active, are its dm devices there, live and not failed.
 */
struct ublkit_policy_status;

/* @flags: 0. An empty status when nothing was applied. */
int ublkit_policy_status_new(struct ublkit_ctx *ctx, unsigned int flags,
			     struct ublkit_policy_status **ret);
/* Takes NULL; always returns NULL. */
struct ublkit_policy_status *ublkit_policy_status_unref(struct ublkit_policy_status *st);
size_t ublkit_policy_status_get_count(const struct ublkit_policy_status *st);

/* One instance; strings are owned by the status. */
struct ublkit_instance_status {
	uint32_t struct_size;		/* set by ublkit_instance_status_init() */
	const char *name;		/* the instance */
	const char *rule;		/* the rule that made it */
	int create;			/* enum ublkit_policy_create */
	const char *device;		/* what it offers: "/dev/ublkb3", "/dev/mapper/NAME" */
	unsigned int member_count;	/* namespaces under it (ublkit_policy_status_get_member) */
	int ublk_id;			/* its ublk device, -1 when none */
	int32_t server_pid;		/* that device's server, 0 when unknown */
	int server_alive;		/* 1, 0, or -1 when it has no ublk device */
	int hardening;			/* swap servers: 1 every guarantee held, 0 not; else -1 */
	const char *swap;		/* its swap area's device, NULL when it has none */
	int swap_active;		/* 1, 0, or -1 when it has no swap area */
	uint64_t swap_size;		/* bytes, from /proc/swaps, when active */
	uint64_t swap_used;
	const char *dm_devices;		/* its dm devices, space separated, "" when none */
	const char *dm_state;		/* "ok", "failed", "out-of-data-space", "read-only",
					 * "suspended", "missing"; NULL when it has none */
	bool healthy;			/* everything it made is there and working */
	const char *problem;		/* the first thing wrong, NULL when healthy */
};

void ublkit_instance_status_init(struct ublkit_instance_status *s);
/* -ERANGE past the last instance. */
int ublkit_policy_status_get_sz(const struct ublkit_policy_status *st, size_t i,
				struct ublkit_instance_status *s, size_t size);
#define ublkit_policy_status_get(st, i, s) ublkit_policy_status_get_sz((st), (i), (s), sizeof(*(s)))
/*
 * Namespace @j under instance @i: its block device when the instance was
 * made, and (@identity, may be NULL) its identity. NULL past the last.
 */
const char *ublkit_policy_status_get_member(const struct ublkit_policy_status *st, size_t i,
					    size_t j, const char **identity);

#ifdef __cplusplus
}
#endif

#endif /* UBLKIT_POLICY_H */
