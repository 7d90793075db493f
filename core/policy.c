/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The provisioning policy: what the keys of [Global] and [Rule NAME]
 * mean, which values they take, and which rule claims a namespace.
 * config.c finds the files and splits them into sections and keys; here
 * every value is checked once all files are read (a drop-in may still
 * change it), and every problem is kept with the file and line it comes
 * from.
 */
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <strings.h>

#include "name-private.h"
#include "ublkit-private.h"
#include "ublkit/policy.h"
#include "ublkit/swap.h"
#include "ublkit/ublk.h"
#include "ublkit/dm.h"
#include "ublk-uapi.h"
#include "config-private.h"
#include "policy-private.h"

/* Bounds that keep a hostile file from costing more than a glance. */
#define POLICY_RULES_MAX 256
#define POLICY_PROBLEMS_MAX 500

#define KIB 1024ull
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

/* ---- keys ------------------------------------------------------------------ */

enum key_where {
	IN_GLOBAL = 1 << 0,
	IN_RULE = 1 << 1,
};

enum value_type {
	V_GLOB,
	V_NSIDS,
	V_TRANSPORTS,
	V_SIZE,
	V_NUMBER,
	V_BOOL,
	V_HARDENING,
	V_CREATE,
	V_DISCARD,
	V_LABEL,
	V_TARGET,
};

#define KIND(k) (1u << (k))
#define ALL_KINDS 0x7fu
#define SWAP_KINDS (KIND(UBLKIT_POLICY_UBLK_SWAP) | KIND(UBLKIT_POLICY_DM_CRYPT_SWAP))
#define UBLK_KINDS (KIND(UBLKIT_POLICY_UBLK) | KIND(UBLKIT_POLICY_UBLK_SWAP))

struct key_def {
	const char *name;
	unsigned int where;
	unsigned int kinds;	/* the rule kinds it applies to */
	enum value_type type;
	bool match;		/* decides which namespaces a rule claims */
	int64_t min, max;	/* V_NUMBER, V_SIZE */
};

static const struct key_def keys[POLICY_KEY_COUNT] = {
	[POLICY_HARDENING] = { "Hardening", IN_GLOBAL | IN_RULE, KIND(UBLKIT_POLICY_UBLK_SWAP),
			       V_HARDENING },
	[POLICY_QUEUES] = { "Queues", IN_GLOBAL | IN_RULE, UBLK_KINDS, V_NUMBER, false, 1,
			    UBLKIT_MAX_QUEUES },
	[POLICY_QUEUE_DEPTH] = { "QueueDepth", IN_GLOBAL | IN_RULE, UBLK_KINDS, V_NUMBER, false, 1,
				 UBLK_MAX_QUEUE_DEPTH },
	[POLICY_PRIORITY] = { "Priority", IN_GLOBAL | IN_RULE, SWAP_KINDS, V_NUMBER, false, -1,
			      32767 },
	[POLICY_ALLOW_TAKING_DATA] = { "AllowTakingData", IN_GLOBAL, 0, V_BOOL },
	[POLICY_MATCH_MODEL] = { "MatchModel", IN_RULE, ALL_KINDS, V_GLOB, true },
	[POLICY_MATCH_SERIAL] = { "MatchSerial", IN_RULE, ALL_KINDS, V_GLOB, true },
	[POLICY_MATCH_CONTROLLER] = { "MatchController", IN_RULE, ALL_KINDS, V_GLOB, true },
	[POLICY_MATCH_IDENTITY] = { "MatchIdentity", IN_RULE, ALL_KINDS, V_GLOB, true },
	[POLICY_MATCH_NSID] = { "MatchNSID", IN_RULE, ALL_KINDS, V_NSIDS, true },
	[POLICY_MATCH_TRANSPORT] = { "MatchTransport", IN_RULE, ALL_KINDS, V_TRANSPORTS, true },
	[POLICY_MATCH_MIN_SIZE] = { "MatchMinSize", IN_RULE, ALL_KINDS, V_SIZE, true, 0,
				    INT64_MAX },
	[POLICY_MATCH_MAX_SIZE] = { "MatchMaxSize", IN_RULE, ALL_KINDS, V_SIZE, true, 0,
				    INT64_MAX },
	[POLICY_ALLOW_CRITICAL_WARNING] = { "AllowCriticalWarning", IN_RULE, ALL_KINDS, V_BOOL },
	[POLICY_MAX_PERCENT_USED] = { "MaxPercentUsed", IN_RULE, ALL_KINDS, V_NUMBER, false, 0,
				      255 },
	[POLICY_CREATE] = { "Create", IN_RULE, ALL_KINDS, V_CREATE },
	[POLICY_TARGET] = { "Target", IN_RULE, UBLK_KINDS, V_TARGET },
	[POLICY_DISCARD] = { "Discard", IN_RULE, SWAP_KINDS, V_DISCARD },
	[POLICY_LABEL] = { "Label", IN_RULE, SWAP_KINDS, V_LABEL },
	[POLICY_MEMBERS] = { "Members", IN_RULE, KIND(UBLKIT_POLICY_DM_STRIPED), V_NUMBER, false,
			     2, UBLKIT_DM_MAX_STRIPES },
	[POLICY_CHUNK] = { "Chunk", IN_RULE, KIND(UBLKIT_POLICY_DM_STRIPED), V_SIZE, false,
			   4 * KIB, 1 * GIB },
	[POLICY_METADATA_SIZE] = { "MetadataSize", IN_RULE, KIND(UBLKIT_POLICY_DM_THIN_POOL),
				   V_SIZE, false, 2 * MIB, 16 * GIB },
	[POLICY_BLOCK_SIZE] = { "BlockSize", IN_RULE, KIND(UBLKIT_POLICY_DM_THIN_POOL), V_SIZE,
				false, 64 * KIB, 1 * GIB },
	[POLICY_LOW_WATER] = { "LowWater", IN_RULE, KIND(UBLKIT_POLICY_DM_THIN_POOL), V_SIZE,
			       false, 0, INT64_MAX },
};

static const char *const create_names[] = {
	[UBLKIT_POLICY_IGNORE] = "ignore",
	[UBLKIT_POLICY_UBLK] = "ublk",
	[UBLKIT_POLICY_UBLK_SWAP] = "ublk-swap",
	[UBLKIT_POLICY_DM_LINEAR] = "dm-linear",
	[UBLKIT_POLICY_DM_STRIPED] = "dm-striped",
	[UBLKIT_POLICY_DM_CRYPT_SWAP] = "dm-crypt-swap",
	[UBLKIT_POLICY_DM_THIN_POOL] = "dm-thin-pool",
};

static const char *const transports[] = { "pcie", "tcp", "rdma", "fc", "loop" };

/* Discard= values, as the UBLKIT_SWAP_DISCARD* flags they stand for. */
static const struct {
	const char *name;
	unsigned int flags;
} discards[] = {
	{ "no", 0 },
	{ "yes", UBLKIT_SWAP_DISCARD },
	{ "once", UBLKIT_SWAP_DISCARD_ONCE },
	{ "pages", UBLKIT_SWAP_DISCARD_PAGES },
};

int policy_key_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].name, name) == 0)
			return (int)i;
	return -ENOENT;
}

const char *policy_key_name(int key)
{
	return key >= 0 && key < POLICY_KEY_COUNT ? keys[key].name : NULL;
}

UBLKIT_EXPORT const char *ublkit_policy_create_name(int create)
{
	if (create < 0 || (size_t)create >= ARRAY_SIZE(create_names))
		return NULL;
	return create_names[create];
}

UBLKIT_EXPORT int ublkit_policy_create_from_string(const char *s)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(create_names); i++)
		if (strcmp(create_names[i], s) == 0)
			return (int)i;
	return -EINVAL;
}

/* ---- the object ------------------------------------------------------------ */

static void settings_free(struct policy_setting *s)
{
	for (size_t i = 0; i < POLICY_KEY_COUNT; i++)
		free(s[i].value);
}

static void rule_free(struct ublkit_policy_rule *r)
{
	if (!r)
		return;
	settings_free(r->set);
	free(r->name);
	free(r->section);
	free(r);
}

static void problem_free(struct ublkit_policy_problem *pr)
{
	free((char *)pr->section);
	free((char *)pr->key);
	free((char *)pr->message);
}

static struct ublkit_policy *policy_new(struct ublkit_ctx *ctx)
{
	struct ublkit_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->refcount = 1;
	p->ctx = ublkit_ctx_ref(ctx);
	return p;
}

UBLKIT_EXPORT struct ublkit_policy *ublkit_policy_ref(struct ublkit_policy *p)
{
	if (p)
		p->refcount++;
	return p;
}

UBLKIT_EXPORT struct ublkit_policy *ublkit_policy_unref(struct ublkit_policy *p)
{
	if (!p || --p->refcount > 0)
		return NULL;
	for (size_t i = 0; i < p->n_rules; i++)
		rule_free(p->rules[i]);
	free(p->rules);
	for (size_t i = 0; i < p->n_problems; i++)
		problem_free(&p->problems[i]);
	free(p->problems);
	settings_free(p->global);
	for (size_t i = 0; i < p->n_names; i++)
		free(p->names[i]);
	free(p->names);
	free(p->files);
	ublkit_ctx_unref(p->ctx);
	free(p);
	return NULL;
}

static void policy_unrefp(struct ublkit_policy **p)
{
	ublkit_policy_unref(*p);
}
#define _cleanup_policy_ _cleanup_(policy_unrefp)

/* Keep @name for the policy's lifetime: problems and rules point at it. */
static const char *policy_add_name(struct ublkit_policy *p, const char *name)
{
	char **v = realloc(p->names, (p->n_names + 1) * sizeof(*v));

	if (!v)
		return NULL;
	p->names = v;
	v[p->n_names] = strdup(name);
	if (!v[p->n_names])
		return NULL;
	return v[p->n_names++];
}

static int policy_add_file(struct ublkit_policy *p, const char *name)
{
	const char **v = realloc(p->files, (p->n_files + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	p->files = v;
	v[p->n_files++] = name;
	return 0;
}

/* ---- problems ---------------------------------------------------------------- */

static char *strdup_or_null(const char *s, bool *failed)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*failed = true;
	return d;
}

static int problem_addv(struct ublkit_policy *p, const char *file, unsigned int line,
			const char *section, const char *key, const char *fmt, va_list ap)
{
	struct ublkit_policy_problem *v, *pr;
	bool failed = false;
	char *msg;

	if (p->n_problems > POLICY_PROBLEMS_MAX)
		return 0;
	v = realloc(p->problems, (p->n_problems + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->problems = v;
	if (p->n_problems == POLICY_PROBLEMS_MAX) {
		file = NULL;
		line = 0;
		section = key = NULL;
		msg = strdup("more problems than these; fix them and check again");
	} else if (vasprintf(&msg, fmt, ap) < 0) {
		msg = NULL;
	}
	if (!msg)
		return -ENOMEM;
	pr = &v[p->n_problems];
	*pr = (struct ublkit_policy_problem){ .file = file, .line = line, .message = msg };
	pr->section = strdup_or_null(section, &failed);
	pr->key = strdup_or_null(key, &failed);
	p->n_problems++;
	log_debug(p->ctx, "%s:%u: %s", file ? file : "-", line, msg);
	return failed ? -ENOMEM : 0;
}

static int problem_add(struct ublkit_policy *p, const char *file, unsigned int line,
		       const char *section, const char *key, const char *fmt, ...)
	_printf_(6, 7);

static int problem_add(struct ublkit_policy *p, const char *file, unsigned int line,
		       const char *section, const char *key, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = problem_addv(p, file, line, section, key, fmt, ap);
	va_end(ap);
	return r;
}

/* A problem about a value: where it was set, in its section. */
static int problem_at(struct ublkit_policy *p, const char *section, int key,
		      const struct policy_setting *s, const char *fmt, ...) _printf_(5, 6);

static int problem_at(struct ublkit_policy *p, const char *section, int key,
		      const struct policy_setting *s, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = problem_addv(p, s->file, s->line, section, keys[key].name, fmt, ap);
	va_end(ap);
	return r;
}

static size_t name_index(const struct ublkit_policy *p, const char *file)
{
	for (size_t i = 0; i < p->n_names; i++)
		if (p->names[i] == file)
			return i;
	return SIZE_MAX;
}

/* By file (in reading order), then line; stable. */
static void problems_sort(struct ublkit_policy *p)
{
	for (size_t i = 1; i < p->n_problems; i++) {
		struct ublkit_policy_problem x = p->problems[i];
		size_t fx = name_index(p, x.file), j = i;

		while (j > 0) {
			const struct ublkit_policy_problem *y = &p->problems[j - 1];
			size_t fy = name_index(p, y->file);

			if (fy < fx || (fy == fx && y->line <= x.line))
				break;
			p->problems[j] = *y;
			j--;
		}
		p->problems[j] = x;
	}
}

UBLKIT_EXPORT size_t ublkit_policy_get_problem_count(const struct ublkit_policy *p)
{
	return p ? p->n_problems : 0;
}

UBLKIT_EXPORT const struct ublkit_policy_problem *
ublkit_policy_get_problem(const struct ublkit_policy *p, size_t i)
{
	return p && i < p->n_problems ? &p->problems[i] : NULL;
}

UBLKIT_EXPORT size_t ublkit_policy_get_file_count(const struct ublkit_policy *p)
{
	return p ? p->n_files : 0;
}

UBLKIT_EXPORT const char *ublkit_policy_get_file(const struct ublkit_policy *p, size_t i)
{
	return p && i < p->n_files ? p->files[i] : NULL;
}

/* ---- reading: sections and keys --------------------------------------------- */

enum section_kind {
	SECTION_NONE,		/* before the first section of a file */
	SECTION_GLOBAL,
	SECTION_RULE,
	SECTION_SKIPPED,	/* a section with a problem: its keys are not looked at */
};

struct reader {
	struct ublkit_policy *p;
	const char *file;
	enum section_kind kind;
	struct ublkit_policy_rule *rule;
};

bool policy_rule_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n < 1 || n > POLICY_RULE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
			return false;
	return true;
}

/* Up to "-" and ten digits after a rule's name. */
#define POLICY_INSTANCE_NAME_MAX (POLICY_RULE_NAME_MAX + 11)

UBLKIT_EXPORT int ublkit_policy_instance_name_check(struct ublkit_ctx *ctx, const char *name)
{
	size_t n = name ? strlen(name) : 0;
	bool ok = n >= 1 && n <= POLICY_INSTANCE_NAME_MAX;
	char shown[64];

	for (size_t i = 0; ok && i < n; i++)
		ok = isalnum((unsigned char)name[i]) || name[i] == '_' || name[i] == '-';
	if (ok)
		return 0;
	log_error(ctx, "'%s%s' is no instance name: a rule's name (1 to %d letters, digits, '_' "
		  "and '-'), maybe with -N after it", name_printable(name, shown, sizeof(shown)),
		  n >= sizeof(shown) ? "..." : "", POLICY_RULE_NAME_MAX);
	return -EINVAL;
}

static struct ublkit_policy_rule *rule_find(const struct ublkit_policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_rules; i++)
		if (strcmp(p->rules[i]->name, name) == 0)
			return p->rules[i];
	return NULL;
}

static int rule_add(struct reader *rd, const char *name, unsigned int line,
		    struct ublkit_policy_rule **ret)
{
	struct ublkit_policy *p = rd->p;
	struct ublkit_policy_rule *r, **v;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->policy = p;
	r->name = strdup(name);
	r->file = rd->file;
	r->line = line;
	r->create = -EINVAL;
	if (!r->name || asprintf(&r->section, "Rule %s", name) < 0) {
		r->section = NULL;
		rule_free(r);
		return -ENOMEM;
	}
	v = realloc(p->rules, (p->n_rules + 1) * sizeof(*v));
	if (!v) {
		rule_free(r);
		return -ENOMEM;
	}
	p->rules = v;
	v[p->n_rules++] = r;
	*ret = r;
	return 0;
}

static int reader_rule(struct reader *rd, unsigned int line, const char *name)
{
	struct ublkit_policy *p = rd->p;
	struct ublkit_policy_rule *r;
	int e;

	rd->kind = SECTION_SKIPPED;
	if (!*name)
		return problem_add(p, rd->file, line, NULL, NULL,
				   "a rule needs a name: [Rule NAME]");
	if (!policy_rule_name_valid(name))
		return problem_add(p, rd->file, line, NULL, NULL,
				   "'%.64s' is no rule name: a name is 1 to %d letters, digits, "
				   "'-' or '_' (it names devices)",
				   name, POLICY_RULE_NAME_MAX);
	r = rule_find(p, name);
	if (!r) {
		if (p->n_rules >= POLICY_RULES_MAX)
			return problem_add(p, rd->file, line, NULL, NULL,
					   "more than %d rules; this one and those after it are "
					   "not read", POLICY_RULES_MAX);
		e = rule_add(rd, name, line, &r);
		if (e < 0)
			return e;
	}
	rd->kind = SECTION_RULE;
	rd->rule = r;
	return 0;
}

static int reader_section(void *userdata, unsigned int line, const char *text)
{
	struct reader *rd = userdata;

	if (strcmp(text, "Global") == 0) {
		rd->kind = SECTION_GLOBAL;
		return 0;
	}
	if (strncmp(text, "Rule", 4) == 0 && (text[4] == '\0' || isblank((unsigned char)text[4]))) {
		const char *name = text + 4;

		while (isblank((unsigned char)*name))
			name++;
		return reader_rule(rd, line, name);
	}
	rd->kind = SECTION_SKIPPED;
	return problem_add(rd->p, rd->file, line, NULL, NULL,
			   "unknown section [%.64s]; the sections are [Global] and [Rule NAME]",
			   text);
}

static int key_unknown(struct reader *rd, unsigned int line, const char *section,
		       const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcasecmp(keys[i].name, key) == 0)
			return problem_add(rd->p, rd->file, line, section, key,
					   "unknown key; keys are case-sensitive: %s",
					   keys[i].name);
	return problem_add(rd->p, rd->file, line, section, key,
			   "unknown key; ublkit.conf(5) lists the keys of [Global] and [Rule]");
}

static int reader_assign(void *userdata, unsigned int line, const char *key, const char *value)
{
	struct reader *rd = userdata;
	struct policy_setting *s;
	const char *section;
	int k;

	if (rd->kind == SECTION_SKIPPED)
		return 0;
	if (rd->kind == SECTION_NONE)
		return problem_add(rd->p, rd->file, line, NULL, key,
				   "a key before any section; put it under [Global] or "
				   "[Rule NAME]");
	section = rd->kind == SECTION_GLOBAL ? "Global" : rd->rule->section;
	k = policy_key_from_name(key);
	if (k < 0)
		return key_unknown(rd, line, section, key);
	if (rd->kind == SECTION_GLOBAL && !(keys[k].where & IN_GLOBAL))
		return problem_add(rd->p, rd->file, line, section, key,
				   "belongs in a [Rule NAME] section, not in [Global]");
	if (rd->kind == SECTION_RULE && !(keys[k].where & IN_RULE))
		return problem_add(rd->p, rd->file, line, section, key,
				   "belongs in [Global], not in a rule");
	s = rd->kind == SECTION_GLOBAL ? &rd->p->global[k] : &rd->rule->set[k];
	free(s->value);
	/* "Key=" resets the key, so a drop-in can take back a value */
	*s = (struct policy_setting){};
	if (!*value)
		return 0;
	s->value = strdup(value);
	if (!s->value)
		return -ENOMEM;
	s->file = rd->file;
	s->line = line;
	return 0;
}

static int reader_problem(void *userdata, unsigned int line, const char *message)
{
	struct reader *rd = userdata;

	return problem_add(rd->p, rd->file, line, NULL, NULL, "%s", message);
}

static int reader_bad_section(void *userdata, unsigned int line, const char *message)
{
	struct reader *rd = userdata;

	rd->kind = SECTION_SKIPPED;
	return reader_problem(userdata, line, message);
}

static const struct conf_ops reader_ops = {
	.section = reader_section,
	.assign = reader_assign,
	.problem = reader_problem,
	.bad_section = reader_bad_section,
};

static int policy_read_text(struct ublkit_policy *p, const char *file, const char *text,
			    size_t len)
{
	struct reader rd = { .p = p, .file = file, .kind = SECTION_NONE };

	return conf_parse(text, len, &reader_ops, &rd);
}

/* ---- values ------------------------------------------------------------------ */

/* Whether @s ends in a comment, so a problem can say that comments stand alone. */
static const char *comment_hint(const char *s)
{
	for (size_t i = 1; s[0] && s[i]; i++)
		if ((s[i] == '#' || s[i] == ';') && isblank((unsigned char)s[i - 1]))
			return " (a comment must be on a line of its own, starting with '#')";
	return "";
}

static bool glob_is_literal(const char *g)
{
	return !strpbrk(g, "*?[\\");
}

/* Past the ']' that closes the bracket expression at @s, or NULL. */
static const char *bracket_end(const char *s)
{
	const char *c = s + 1;

	if (*c == '!' || *c == '^')
		c++;
	if (*c == ']')
		c++;
	for (; *c && *c != ']'; c++) {
		/* "[:alpha:]", "[.a.]", "[=a=]" hold a ']' of their own */
		if (c[0] == '[' && (c[1] == ':' || c[1] == '.' || c[1] == '=')) {
			const char *end = strchr(c + 2, c[1]);

			if (!end || end[1] != ']')
				return NULL;
			c = end + 1;
		}
	}
	return *c ? c : NULL;
}

/* NULL when @g is a glob fnmatch() can match something with, else why not. */
static const char *glob_problem(const char *g)
{
	for (const char *s = g; *s; s++) {
		if (*s == '\\') {
			if (!s[1])
				return "ends in a lone '\\'";
			s++;
			continue;
		}
		if (*s != '[')
			continue;
		s = bracket_end(s);
		if (!s)
			return "has '[' without ']'; write '\\[' for a literal '['";
	}
	return NULL;
}

/*
 * The literal text every match of @g starts with, unescaped, into @buf
 * (cut to fit). Returns what follows it in @g: "" when @g is all literal.
 */
static const char *glob_prefix(const char *g, char *buf, size_t size)
{
	size_t n = 0;
	const char *s = g;

	for (; *s && !strchr("*?[", *s); s++) {
		if (*s == '\\' && s[1])
			s++;
		if (n + 1 < size)
			buf[n++] = *s;
	}
	buf[n] = '\0';
	return s;
}

/* @g matches exactly one text: into @buf, unescaped. */
static bool glob_literal(const char *g, char *buf, size_t size)
{
	return !*glob_prefix(g, buf, size) && strlen(g) < size;
}

/* The fewest characters a text @g matches has: a literal, '?' or bracket each. */
static size_t glob_min_length(const char *g)
{
	size_t n = 0;

	for (const char *s = g; *s; s++) {
		if (*s == '*')
			continue;
		if (*s == '\\' && s[1])
			s++;
		else if (*s == '[' && bracket_end(s))
			s = bracket_end(s);
		n++;
	}
	return n;
}

/* ---- what a glob can match: the shapes of NVMe names and fields ---------------- */

/* Identify Controller's field widths: what is left of a padded field at most. */
#define NVME_SERIAL_MAX 20
#define NVME_MODEL_MAX 40

/*
 * The texts MatchIdentity is compared with, '#' standing for a lowercase
 * hex digit: the identity (nguid., eui64., uuid.) and the NGUID, EUI-64
 * and UUID alone. "nsid.N.NQN" has a shape of its own (identity_nsid_fits).
 */
static const char *const identity_shapes[] = {
	"nguid.################################",
	"eui64.################",
	"uuid.########-####-####-####-############",
	"################################",
	"################",
	"########-####-####-####-############",
};

static bool shape_char_fits(char c, char shape)
{
	if (shape == '#')
		return isdigit((unsigned char)c) || (c >= 'a' && c <= 'f');
	return c == shape;
}

/* @text is the start of a text of @shape, or (@whole) all of it. */
static bool shape_fits(const char *text, const char *shape, bool whole)
{
	size_t n = strlen(text);

	if (n > strlen(shape) || (whole && n != strlen(shape)))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!shape_char_fits(text[i], shape[i]))
			return false;
	return true;
}

/* "nsid." digits "." and an NQN made of [A-Za-z0-9.:_-]. */
static bool identity_nsid_fits(const char *text, bool whole)
{
	size_t n = strlen(text), digits;
	const char *s;

	if (strncmp(text, "nsid.", n < 5 ? n : 5) != 0)
		return false;
	if (n <= 5)
		return !whole;
	s = text + 5;
	digits = strspn(s, "0123456789");
	if (!s[digits])
		return !whole;
	if (digits == 0 || s[digits] != '.')
		return false;
	s += digits + 1;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(".:_-", *s))
			return false;
	return !whole || s > text + 5 + digits + 1;
}

static bool identity_fits(const char *text, bool whole)
{
	for (size_t i = 0; i < ARRAY_SIZE(identity_shapes); i++)
		if (shape_fits(text, identity_shapes[i], whole))
			return true;
	return identity_nsid_fits(text, whole);
}

/* "nvme" and a number. */
static bool controller_fits(const char *text, bool whole)
{
	size_t n = strlen(text);

	if (strncmp(text, "nvme", n < 4 ? n : 4) != 0)
		return false;
	if (n <= 4)
		return !whole;
	return strspn(text + 4, "0123456789") == n - 4;
}

/* NULL when @g of key @k can match a text the namespace reports, else why not. */
static const char *glob_shape_problem(int k, const char *g, char *buf, size_t size)
{
	char prefix[512];
	bool whole = !*glob_prefix(g, prefix, sizeof(prefix)) && strlen(g) < sizeof(prefix);
	size_t min = glob_min_length(g);

	switch (k) {
	case POLICY_MATCH_MODEL:
	case POLICY_MATCH_SERIAL: {
		int max = k == POLICY_MATCH_MODEL ? NVME_MODEL_MAX : NVME_SERIAL_MAX;

		if (min <= (size_t)max)
			return NULL;
		snprintf(buf, size, "it needs at least %zu characters and a %s has at most %d",
			 min, k == POLICY_MATCH_MODEL ? "model" : "serial number", max);
		return buf;
	}
	case POLICY_MATCH_CONTROLLER:
		if (controller_fits(prefix, whole))
			return NULL;
		return "controllers are named nvme and a number (nvme0, nvme1*); a namespace "
		       "(nvme0n1) or a disk (sda) is no controller";
	case POLICY_MATCH_IDENTITY:
		if (identity_fits(prefix, whole))
			return NULL;
		return "an identity is nguid.HEX (32 hex digits), eui64.HEX (16), uuid.UUID or "
		       "nsid.N.NQN, or the NGUID, EUI-64 or UUID alone; hex digits are lowercase";
	}
	return NULL;
}

/* Calls @fn with each comma-separated item of @list, trimmed; stops at its first non-zero. */
static int list_each(const char *list, int (*fn)(const char *item, void *userdata),
		     void *userdata)
{
	char item[64];

	for (const char *s = list;;) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		const char *b = s, *e = s + n;
		int r;

		while (b < e && isblank((unsigned char)*b))
			b++;
		while (e > b && isblank((unsigned char)e[-1]))
			e--;
		if ((size_t)(e - b) >= sizeof(item))
			return -E2BIG;
		memcpy(item, b, (size_t)(e - b));
		item[e - b] = '\0';
		r = fn(item, userdata);
		if (r)
			return r;
		if (!comma)
			return 0;
		s = comma + 1;
	}
}

static int nsid_parse(const char *item, uint32_t *ret)
{
	uint64_t v;

	int r = ublkit_parse_uint(item, 1, 0xfffffffe, &v);

	if (r < 0)
		return r;
	*ret = (uint32_t)v;
	return 0;
}

struct list_check {
	char bad[64];
	int r;
};

static int nsid_check_one(const char *item, void *userdata)
{
	struct list_check *c = userdata;
	uint32_t v;

	c->r = nsid_parse(item, &v);
	if (c->r < 0)
		snprintf(c->bad, sizeof(c->bad), "%s", item);
	return c->r;
}

static int transport_index(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(transports); i++)
		if (strcmp(transports[i], name) == 0)
			return (int)i;
	return -EINVAL;
}

static int transport_check_one(const char *item, void *userdata)
{
	struct list_check *c = userdata;

	c->r = transport_index(item);
	if (c->r < 0)
		snprintf(c->bad, sizeof(c->bad), "%s", item);
	return c->r < 0 ? c->r : 0;
}

static int bool_parse(const char *s)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -EINVAL;
}

static int number_parse(const char *s, int64_t *ret)
{
	bool neg = *s == '-';
	uint64_t v;

	if (!isdigit((unsigned char)s[neg]))
		return -EINVAL;
	/* decimal only: "010" is ten, not eight */
	for (const char *c = s + neg; *c; c++)
		if (!isdigit((unsigned char)*c))
			return -EINVAL;
	errno = 0;
	v = strtoull(s + neg, NULL, 10);
	if (errno || v > (uint64_t)INT64_MAX)
		return -ERANGE;
	*ret = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

static const char *size_text(uint64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = { "K", "M", "G", "T", "P" };
	size_t u = 0;

	if (bytes == 0 || bytes % KIB) {
		snprintf(buf, size, "%" PRIu64, bytes);
		return buf;
	}
	bytes /= KIB;
	while (u + 1 < ARRAY_SIZE(units) && bytes % KIB == 0) {
		bytes /= KIB;
		u++;
	}
	snprintf(buf, size, "%" PRIu64 "%s", bytes, units[u]);
	return buf;
}

static int check_number(struct ublkit_policy *p, const char *section, int k,
			struct policy_setting *s)
{
	const struct key_def *d = &keys[k];
	int r = number_parse(s->value, &s->num);

	if (r == -EINVAL)
		return problem_at(p, section, k, s, "'%s' is not a number; expected %" PRId64
				  "..%" PRId64 "%s", s->value, d->min, d->max,
				  comment_hint(s->value));
	if (r < 0 || s->num < d->min || s->num > d->max)
		return problem_at(p, section, k, s, "%s is out of range; expected %" PRId64
				  "..%" PRId64, s->value, d->min, d->max);
	s->ok = true;
	return 0;
}

static int check_size(struct ublkit_policy *p, const char *section, int k,
		      struct policy_setting *s)
{
	const struct key_def *d = &keys[k];
	char lo[32], hi[32];
	uint64_t v;
	int r;

	r = ublkit_parse_size(s->value, &v);
	if (r == -EINVAL)
		return problem_at(p, section, k, s,
				  "'%s' is not a size; expected bytes or a number with K, M, G or "
				  "T (512M, 1.5G)%s", s->value, comment_hint(s->value));
	if (r == -EDOM)
		return problem_at(p, section, k, s,
				  "%s is not a whole number of bytes; give a unit with a fraction "
				  "(1.5G) or whole bytes", s->value);
	if (r < 0 || v < (uint64_t)d->min || v > (uint64_t)d->max) {
		if (d->max == INT64_MAX)
			return problem_at(p, section, k, s, "%s is too large", s->value);
		return problem_at(p, section, k, s, "%s is out of range; expected %s to %s",
				  s->value, size_text((uint64_t)d->min, lo, sizeof(lo)),
				  size_text((uint64_t)d->max, hi, sizeof(hi)));
	}
	s->num = (int64_t)v;
	s->ok = true;
	return 0;
}

static int check_glob(struct ublkit_policy *p, const char *section, int k,
		      struct policy_setting *s)
{
	const char *why = glob_problem(s->value);
	char buf[160];

	if (why)
		return problem_at(p, section, k, s, "'%s' %s: it can never match", s->value, why);
	why = glob_shape_problem(k, s->value, buf, sizeof(buf));
	if (why)
		return problem_at(p, section, k, s, "'%s' can never match: %s", s->value, why);
	s->ok = true;
	return 0;
}

static int check_nsids(struct ublkit_policy *p, const char *section, int k,
		       struct policy_setting *s)
{
	struct list_check c = {};
	int r = list_each(s->value, nsid_check_one, &c);

	if (r == -ERANGE && strspn(c.bad, "0") == strlen(c.bad))
		return problem_at(p, section, k, s,
				  "namespace id 0 can never match: ids start at 1");
	if (r == -ERANGE)
		return problem_at(p, section, k, s,
				  "%s is out of range: namespace ids are 1..4294967294", c.bad);
	if (r < 0)
		return problem_at(p, section, k, s,
				  "'%s' is not a namespace id; expected numbers from 1 separated "
				  "by commas (1,3)%s", r == -E2BIG ? s->value : c.bad,
				  comment_hint(s->value));
	s->ok = true;
	return 0;
}

static int check_transports(struct ublkit_policy *p, const char *section, int k,
			    struct policy_setting *s)
{
	struct list_check c = {};

	if (list_each(s->value, transport_check_one, &c) < 0)
		return problem_at(p, section, k, s,
				  "'%s' is no transport, so it can never match; expected pcie, "
				  "tcp, rdma, fc or loop, separated by commas%s",
				  c.bad[0] ? c.bad : s->value, comment_hint(s->value));
	s->ok = true;
	return 0;
}

static int check_bool(struct ublkit_policy *p, const char *section, int k,
		      struct policy_setting *s)
{
	int r = bool_parse(s->value);

	if (r < 0)
		return problem_at(p, section, k, s, "'%s' is not a boolean; expected yes or no%s",
				  s->value, comment_hint(s->value));
	s->num = r;
	s->ok = true;
	return 0;
}

static int check_hardening(struct ublkit_policy *p, const char *section, int k,
			   struct policy_setting *s)
{
	if (strcmp(s->value, "required") == 0)
		s->num = UBLKIT_HARDEN_REQUIRED;
	else if (strcmp(s->value, "best-effort") == 0)
		s->num = UBLKIT_HARDEN_BEST_EFFORT;
	else
		return problem_at(p, section, k, s,
				  "'%s' is not a hardening mode; expected required or "
				  "best-effort%s", s->value, comment_hint(s->value));
	s->ok = true;
	return 0;
}

static int check_create(struct ublkit_policy *p, const char *section, int k,
			struct policy_setting *s)
{
	int c = ublkit_policy_create_from_string(s->value);

	if (c < 0)
		return problem_at(p, section, k, s,
				  "'%s' is not a kind; expected ignore, ublk, ublk-swap, "
				  "dm-linear, dm-striped, dm-crypt-swap or dm-thin-pool%s",
				  s->value, comment_hint(s->value));
	s->num = c;
	s->ok = true;
	return 0;
}

static int check_discard(struct ublkit_policy *p, const char *section, int k,
			 struct policy_setting *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(discards); i++) {
		if (strcmp(s->value, discards[i].name) == 0) {
			s->num = discards[i].flags;
			s->ok = true;
			return 0;
		}
	}
	return problem_at(p, section, k, s,
			  "'%s' is not a discard policy; expected no, yes, once or pages%s",
			  s->value, comment_hint(s->value));
}

static int check_label(struct ublkit_policy *p, const char *section, int k,
		       struct policy_setting *s)
{
	size_t n = strlen(s->value);

	if (n > UBLKIT_SWAP_LABEL_MAX)
		return problem_at(p, section, k, s, "'%s' has %zu bytes; a swap label has at most %d",
				  s->value, n, UBLKIT_SWAP_LABEL_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s->value[i] < 0x20 || s->value[i] == 0x7f)
			return problem_at(p, section, k, s, "a label has no control characters");
	s->ok = true;
	return 0;
}

static int check_target(struct ublkit_policy *p, const char *section, int k,
			struct policy_setting *s)
{
	int f = ublkit_target_flags(s->value);

	if (f < 0 || !(f & UBLKIT_TARGET_NEEDS_PATH))
		return problem_at(p, section, k, s,
				  "'%s' is not a target that serves a namespace; expected file",
				  s->value);
	s->ok = true;
	return 0;
}

static int check_value(struct ublkit_policy *p, const char *section, int k,
		       struct policy_setting *s)
{
	switch (keys[k].type) {
	case V_GLOB: return check_glob(p, section, k, s);
	case V_NSIDS: return check_nsids(p, section, k, s);
	case V_TRANSPORTS: return check_transports(p, section, k, s);
	case V_SIZE: return check_size(p, section, k, s);
	case V_NUMBER: return check_number(p, section, k, s);
	case V_BOOL: return check_bool(p, section, k, s);
	case V_HARDENING: return check_hardening(p, section, k, s);
	case V_CREATE: return check_create(p, section, k, s);
	case V_DISCARD: return check_discard(p, section, k, s);
	case V_LABEL: return check_label(p, section, k, s);
	case V_TARGET: return check_target(p, section, k, s);
	}
	return -EINVAL;
}

static int check_settings(struct ublkit_policy *p, const char *section, struct policy_setting *set)
{
	for (int k = 0; k < POLICY_KEY_COUNT; k++) {
		int r;

		if (!set[k].value)
			continue;
		r = check_value(p, section, k, &set[k]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- rules as a whole ------------------------------------------------------ */

static void kinds_text(unsigned int kinds, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(create_names); i++) {
		if (!(kinds & KIND(i)))
			continue;
		n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? ", " : "",
				      create_names[i]);
	}
}

static int check_kind_keys(struct ublkit_policy *p, struct ublkit_policy_rule *r)
{
	char list[128];

	for (int k = 0; k < POLICY_KEY_COUNT; k++) {
		int e;

		if (!r->set[k].value || (keys[k].kinds & KIND(r->create)))
			continue;
		kinds_text(keys[k].kinds, list, sizeof(list));
		e = problem_at(p, r->section, k, &r->set[k],
			       "does not apply to a %s rule; it is for %s", create_names[r->create],
			       list);
		if (e < 0)
			return e;
	}
	return 0;
}

static bool rule_has(const struct ublkit_policy_rule *r, int k)
{
	return r->set[k].value && r->set[k].ok;
}

static int count_one(const char *item, void *userdata)
{
	size_t *n = userdata;

	(void)item;
	(*n)++;
	return 0;
}

static bool rule_literal(const struct ublkit_policy_rule *r, int k)
{
	char buf[512];

	return rule_has(r, k) && glob_literal(r->set[k].value, buf, sizeof(buf));
}

/*
 * How many namespaces @r can match at most, with what it names them in
 * @what; SIZE_MAX when its keys do not bound it. An identity names one
 * namespace; a controller's serial number, or the controller itself,
 * with namespace ids one namespace per id.
 */
static size_t rule_max_namespaces(const struct ublkit_policy_rule *r, char *what, size_t size)
{
	size_t n = 0;

	if (rule_literal(r, POLICY_MATCH_IDENTITY)) {
		snprintf(what, size, "MatchIdentity=%s", r->set[POLICY_MATCH_IDENTITY].value);
		return 1;
	}
	if (!rule_has(r, POLICY_MATCH_NSID))
		return SIZE_MAX;
	list_each(r->set[POLICY_MATCH_NSID].value, count_one, &n);
	if (rule_literal(r, POLICY_MATCH_SERIAL))
		snprintf(what, size, "MatchSerial=%s with MatchNSID=%s",
			 r->set[POLICY_MATCH_SERIAL].value, r->set[POLICY_MATCH_NSID].value);
	else if (rule_literal(r, POLICY_MATCH_CONTROLLER))
		snprintf(what, size, "MatchController=%s with MatchNSID=%s",
			 r->set[POLICY_MATCH_CONTROLLER].value, r->set[POLICY_MATCH_NSID].value);
	else
		return SIZE_MAX;
	return n;
}

/* A stripe waits until it has all its members: can the rule ever match that many? */
static int check_members_reachable(struct ublkit_policy *p, struct ublkit_policy_rule *r)
{
	const struct policy_setting *m = &r->set[POLICY_MEMBERS];
	char what[600];
	size_t n;

	if (!rule_has(r, POLICY_MEMBERS))
		return 0;
	n = rule_max_namespaces(r, what, sizeof(what));
	if (n >= (size_t)m->num)
		return 0;
	return problem_at(p, r->section, POLICY_MEMBERS, m,
			  "%s members, but %.200s matches at most %zu namespace%s: the stripe "
			  "would wait forever for the others; widen the Match keys or lower "
			  "Members", m->value, what, n, n == 1 ? "" : "s");
}

static int check_striped(struct ublkit_policy *p, struct ublkit_policy_rule *r)
{
	const struct policy_setting *chunk = &r->set[POLICY_CHUNK];
	int e;

	if (!r->set[POLICY_MEMBERS].value)
		return problem_add(p, r->file, r->line, r->section, "Members",
				   "a dm-striped rule needs Members=N (2..%d): how many "
				   "namespaces to stripe over", UBLKIT_DM_MAX_STRIPES);
	e = check_members_reachable(p, r);
	if (e < 0)
		return e;
	if (rule_has(r, POLICY_CHUNK) && (chunk->num & (chunk->num - 1)))
		return problem_at(p, r->section, POLICY_CHUNK, chunk,
				  "%s is not a power of two (64K, 128K, 1M)", chunk->value);
	return 0;
}

static int check_thin_pool(struct ublkit_policy *p, struct ublkit_policy_rule *r)
{
	const struct policy_setting *b = &r->set[POLICY_BLOCK_SIZE];
	const struct policy_setting *m = &r->set[POLICY_METADATA_SIZE];

	if (rule_has(r, POLICY_BLOCK_SIZE) && b->num % (int64_t)(64 * KIB))
		return problem_at(p, r->section, POLICY_BLOCK_SIZE, b,
				  "%s is not a multiple of 64K", b->value);
	if (rule_has(r, POLICY_METADATA_SIZE) && m->num % 512)
		return problem_at(p, r->section, POLICY_METADATA_SIZE, m,
				  "%s is not a multiple of 512 bytes", m->value);
	return 0;
}

static int check_sizes(struct ublkit_policy *p, struct ublkit_policy_rule *r)
{
	const struct policy_setting *lo = &r->set[POLICY_MATCH_MIN_SIZE];
	const struct policy_setting *hi = &r->set[POLICY_MATCH_MAX_SIZE];

	if (rule_has(r, POLICY_MATCH_MIN_SIZE) && rule_has(r, POLICY_MATCH_MAX_SIZE) &&
	    lo->num > hi->num)
		return problem_at(p, r->section, POLICY_MATCH_MIN_SIZE, lo,
				  "%s is larger than MatchMaxSize=%s: no namespace can match; "
				  "swap the two", lo->value, hi->value);
	return 0;
}

static int check_rule(struct ublkit_policy *p, struct ublkit_policy_rule *r)
{
	int e;

	e = check_settings(p, r->section, r->set);
	if (e < 0)
		return e;
	if (!r->set[POLICY_CREATE].value)
		return problem_add(p, r->file, r->line, r->section, "Create",
				   "a rule needs Create= to say what it makes: ignore, ublk, "
				   "ublk-swap, dm-linear, dm-striped, dm-crypt-swap or "
				   "dm-thin-pool");
	e = check_sizes(p, r);
	if (e < 0 || !rule_has(r, POLICY_CREATE))
		return e;
	r->create = (int)r->set[POLICY_CREATE].num;
	e = check_kind_keys(p, r);
	if (e >= 0 && r->create == UBLKIT_POLICY_DM_STRIPED)
		e = check_striped(p, r);
	if (e >= 0 && r->create == UBLKIT_POLICY_DM_THIN_POOL)
		e = check_thin_pool(p, r);
	return e;
}

static bool setting_same(const struct policy_setting *a, const struct policy_setting *b)
{
	if (!a->value || !b->value)
		return !a->value && !b->value;
	return strcmp(a->value, b->value) == 0;
}

static bool match_keys_same(const struct ublkit_policy_rule *a, const struct ublkit_policy_rule *b)
{
	for (int k = 0; k < POLICY_KEY_COUNT; k++)
		if (keys[k].match && !setting_same(&a->set[k], &b->set[k]))
			return false;
	return true;
}

struct nsid_seek {
	uint32_t nsid;
	const char *other;
};

static int nsid_in_other(const char *item, void *userdata);

static int nsid_equal(const char *item, void *userdata)
{
	uint32_t *want = userdata, v;

	return nsid_parse(item, &v) == 0 && v == *want;
}

static int nsid_in_other(const char *item, void *userdata)
{
	const char *other = userdata;
	uint32_t v;

	if (nsid_parse(item, &v) < 0)
		return 0;
	return list_each(other, nsid_equal, &v) > 0;
}

static bool nsids_overlap(const char *a, const char *b)
{
	return list_each(a, nsid_in_other, (void *)b) > 0;
}

static bool literal_same(const struct ublkit_policy_rule *a, const struct ublkit_policy_rule *b,
			 int k)
{
	return rule_has(a, k) && rule_has(b, k) && glob_is_literal(a->set[k].value) &&
	       strcmp(a->set[k].value, b->set[k].value) == 0;
}

/* Which namespace @a and @b both name outright, if any: "MatchIdentity=..." */
static bool rules_pin_same(const struct ublkit_policy_rule *a, const struct ublkit_policy_rule *b,
			   char *what, size_t size)
{
	if (literal_same(a, b, POLICY_MATCH_IDENTITY)) {
		snprintf(what, size, "MatchIdentity=%s", a->set[POLICY_MATCH_IDENTITY].value);
		return true;
	}
	if (literal_same(a, b, POLICY_MATCH_SERIAL) && rule_has(a, POLICY_MATCH_NSID) &&
	    rule_has(b, POLICY_MATCH_NSID) &&
	    nsids_overlap(a->set[POLICY_MATCH_NSID].value, b->set[POLICY_MATCH_NSID].value)) {
		snprintf(what, size, "MatchSerial=%s with a MatchNSID in common",
			 a->set[POLICY_MATCH_SERIAL].value);
		return true;
	}
	return false;
}

/* ---- two rules: does one match every namespace the other does? ------------------ */

/*
 * These compare what two rules can match from their keys alone. "Covers"
 * is decided only when it is certain (every namespace @b matches, @a
 * matches too), "disjoint" only when no namespace can match both; what
 * lies between is left to apply, which sees the namespaces.
 */

/* Every text @b matches, @a matches: the same glob, "*", @a matching @b's one text, or a prefix. */
static bool glob_covers(const char *a, const char *b)
{
	char lit[512], pa[512], pb[512];
	const char *rest;

	if (strcmp(a, b) == 0)
		return true;
	if (glob_literal(b, lit, sizeof(lit)))
		return fnmatch(a, lit, 0) == 0;
	rest = glob_prefix(a, pa, sizeof(pa));
	if (strspn(rest, "*") != strlen(rest) || !*rest)
		return false;
	/* @a is "TEXT*": every text @b matches starts with @b's literal start */
	glob_prefix(b, pb, sizeof(pb));
	return strlen(pa) < sizeof(pa) - 1 && strncmp(pa, pb, strlen(pa)) == 0;
}

/* No text matches both: their one texts or literal starts disagree. */
static bool globs_disjoint(const char *a, const char *b)
{
	char pa[512], pb[512];
	size_t n;

	if (glob_literal(a, pa, sizeof(pa)))
		return fnmatch(b, pa, 0) != 0;
	if (glob_literal(b, pb, sizeof(pb)))
		return fnmatch(a, pb, 0) != 0;
	glob_prefix(a, pa, sizeof(pa));
	glob_prefix(b, pb, sizeof(pb));
	n = strlen(pa) < strlen(pb) ? strlen(pa) : strlen(pb);
	return strncmp(pa, pb, n) != 0;
}

static int item_equal(const char *item, void *userdata)
{
	return strcmp(item, userdata) == 0;
}

static int item_missing(const char *item, void *userdata)
{
	const char *list = userdata;

	return list_each(list, item_equal, (void *)item) <= 0;
}

static int nsid_missing(const char *item, void *userdata)
{
	uint32_t v;

	if (nsid_parse(item, &v) < 0)
		return 1;
	return list_each(userdata, nsid_equal, &v) <= 0;
}

static int item_shared(const char *item, void *userdata)
{
	return list_each(userdata, item_equal, (void *)item) > 0;
}

/* Every item of list @b is in list @a. */
static bool list_covers(int k, const char *a, const char *b)
{
	if (k == POLICY_MATCH_NSID)
		return list_each(b, nsid_missing, (void *)a) == 0;
	return list_each(b, item_missing, (void *)a) == 0;
}

static bool lists_disjoint(int k, const char *a, const char *b)
{
	if (k == POLICY_MATCH_NSID)
		return !nsids_overlap(a, b);
	return list_each(a, item_shared, (void *)b) <= 0;
}

static void size_range(const struct ublkit_policy_rule *r, uint64_t *lo, uint64_t *hi)
{
	*lo = rule_has(r, POLICY_MATCH_MIN_SIZE) ? (uint64_t)r->set[POLICY_MATCH_MIN_SIZE].num : 0;
	*hi = rule_has(r, POLICY_MATCH_MAX_SIZE) ? (uint64_t)r->set[POLICY_MATCH_MAX_SIZE].num
						 : UINT64_MAX;
}

static bool reads_health(const struct ublkit_policy_rule *r)
{
	return rule_has(r, POLICY_MAX_PERCENT_USED) || rule_has(r, POLICY_ALLOW_CRITICAL_WARNING);
}

static bool allows_critical_warning(const struct ublkit_policy_rule *r)
{
	return rule_has(r, POLICY_ALLOW_CRITICAL_WARNING) &&
	       r->set[POLICY_ALLOW_CRITICAL_WARNING].num;
}

/* @a's health limits let through every controller @b's do. */
static bool health_covers(const struct ublkit_policy_rule *a, const struct ublkit_policy_rule *b)
{
	if (!reads_health(a))
		return true;
	/* a rule without limits matches even when the health log cannot be read */
	if (!reads_health(b))
		return false;
	if (allows_critical_warning(b) && !allows_critical_warning(a))
		return false;
	if (!rule_has(a, POLICY_MAX_PERCENT_USED))
		return true;
	return rule_has(b, POLICY_MAX_PERCENT_USED) &&
	       b->set[POLICY_MAX_PERCENT_USED].num <= a->set[POLICY_MAX_PERCENT_USED].num;
}

/* Key @k of @a lets through every namespace key @k of @b does. */
static bool key_covers(const struct ublkit_policy_rule *a, const struct ublkit_policy_rule *b,
		       int k)
{
	const char *va = a->set[k].value, *vb = b->set[k].value;

	if (!va)
		return true;
	if (!vb)
		/* every namespace has an identity; a model, serial or controller may be missing */
		return k == POLICY_MATCH_IDENTITY && strspn(va, "*") == strlen(va);
	if (keys[k].type == V_GLOB)
		return glob_covers(va, vb);
	return list_covers(k, va, vb);
}

static bool rule_covers(const struct ublkit_policy_rule *a, const struct ublkit_policy_rule *b)
{
	static const int globs_and_lists[] = {
		POLICY_MATCH_MODEL, POLICY_MATCH_SERIAL, POLICY_MATCH_CONTROLLER,
		POLICY_MATCH_IDENTITY, POLICY_MATCH_NSID, POLICY_MATCH_TRANSPORT,
	};
	uint64_t alo, ahi, blo, bhi;

	for (size_t i = 0; i < ARRAY_SIZE(globs_and_lists); i++)
		if (!key_covers(a, b, globs_and_lists[i]))
			return false;
	size_range(a, &alo, &ahi);
	size_range(b, &blo, &bhi);
	return alo <= blo && bhi <= ahi && health_covers(a, b);
}

/*
 * No namespace matches both. A controller is not compared (a multipath
 * namespace has several), nor an identity (a namespace answers to up to
 * four texts), nor health (limits never exclude each other).
 */
static bool rules_disjoint(const struct ublkit_policy_rule *a, const struct ublkit_policy_rule *b)
{
	static const int globs[] = { POLICY_MATCH_MODEL, POLICY_MATCH_SERIAL };
	static const int lists[] = { POLICY_MATCH_NSID, POLICY_MATCH_TRANSPORT };
	uint64_t alo, ahi, blo, bhi;

	for (size_t i = 0; i < ARRAY_SIZE(globs); i++)
		if (rule_has(a, globs[i]) && rule_has(b, globs[i]) &&
		    globs_disjoint(a->set[globs[i]].value, b->set[globs[i]].value))
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
		if (rule_has(a, lists[i]) && rule_has(b, lists[i]) &&
		    lists_disjoint(lists[i], a->set[lists[i]].value, b->set[lists[i]].value))
			return true;
	size_range(a, &alo, &ahi);
	size_range(b, &blo, &bhi);
	return ahi < blo || bhi < alo;
}

/* Every value understood and a kind: what is compared is what apply will match with. */
static bool rule_comparable(const struct ublkit_policy_rule *r)
{
	for (int k = 0; k < POLICY_KEY_COUNT; k++)
		if (r->set[k].value && !r->set[k].ok)
			return false;
	return r->create >= 0;
}

/*
 * An ignore rule before @before takes every namespace @r matches: apply
 * never gets as far as @r (nor any rule after the ignore rule) for them.
 */
static bool ignored_before(const struct ublkit_policy *p, size_t before,
			   const struct ublkit_policy_rule *r)
{
	for (size_t i = 0; i < before; i++)
		if (p->rules[i]->create == UBLKIT_POLICY_IGNORE && rule_comparable(p->rules[i]) &&
		    rule_covers(p->rules[i], r))
			return true;
	return false;
}

enum collision {
	COLLIDE_NONE,
	COLLIDE_SAME_KEYS,	/* the same Match keys */
	COLLIDE_IGNORED,	/* @a ignores all @b matches */
	COLLIDE_INSIDE,		/* @a matches all @b matches */
	COLLIDE_AROUND,		/* @b matches all @a matches */
	COLLIDE_PINNED,		/* both name one namespace outright */
};

/*
 * How rule @a, which comes first, and rule @b collide. Apply tries rules
 * in order: an ignore rule that matches first takes the namespace; any
 * other rule that matches first, and a later one that matches too, are
 * a conflict.
 */
static enum collision rules_collide(const struct ublkit_policy_rule *a,
				    const struct ublkit_policy_rule *b, char *what, size_t size)
{
	if (match_keys_same(a, b))
		return COLLIDE_SAME_KEYS;
	if (!rule_comparable(a) || !rule_comparable(b))
		return COLLIDE_NONE;
	if (a->create == UBLKIT_POLICY_IGNORE)
		return rule_covers(a, b) ? COLLIDE_IGNORED : COLLIDE_NONE;
	if (rule_covers(a, b))
		return COLLIDE_INSIDE;
	if (rule_covers(b, a))
		return COLLIDE_AROUND;
	if (rules_pin_same(a, b, what, size) && !rules_disjoint(a, b))
		return COLLIDE_PINNED;
	return COLLIDE_NONE;
}

/* Rule @a (index @ia) comes before rule @b. Returns 1 when a problem was added at @b. */
static int check_rule_pair(struct ublkit_policy *p, size_t ia, const struct ublkit_policy_rule *a,
			   const struct ublkit_policy_rule *b)
{
	char what[160];
	enum collision c = rules_collide(a, b, what, sizeof(what));
	int e;

	if (c == COLLIDE_NONE)
		return 0;
	/* what an ignore rule before both takes reaches neither */
	if (c != COLLIDE_SAME_KEYS && (ignored_before(p, ia, a) || ignored_before(p, ia, b)))
		return 0;
	switch (c) {
	case COLLIDE_SAME_KEYS:
		e = problem_add(p, b->file, b->line, b->section, NULL,
				"has the same Match keys as [Rule %s] (%s:%u), which comes "
				"first and claims every namespace this one would; change the "
				"Match keys or merge the two rules", a->name, a->file, a->line);
		break;
	case COLLIDE_IGNORED:
		e = problem_add(p, b->file, b->line, b->section, NULL,
				"never claims a namespace: [Rule %s] (%s:%u) comes first and "
				"ignores every namespace this rule matches; remove this rule or "
				"narrow that one", a->name, a->file, a->line);
		break;
	case COLLIDE_INSIDE:
		e = problem_add(p, b->file, b->line, b->section, NULL,
				"every namespace this rule matches is matched by [Rule %s] (%s:%u) "
				"too: apply finds each claimed twice and makes nothing of it; %s",
				a->name, a->file, a->line,
				b->create == UBLKIT_POLICY_IGNORE
					? "an ignore rule goes before the rules it makes an "
					  "exception to"
					: "narrow one of the two rules");
		break;
	case COLLIDE_AROUND:
		e = problem_add(p, b->file, b->line, b->section, NULL,
				"matches every namespace that [Rule %s] (%s:%u) matches: apply "
				"finds each claimed twice and makes nothing of it; a rule is no "
				"'otherwise': narrow this rule so that it leaves them out",
				a->name, a->file, a->line);
		break;
	default:
		e = problem_add(p, b->file, b->line, b->section, NULL,
				"names the same namespace as [Rule %s] (%s:%u) by %s; one "
				"namespace is claimed by one rule", a->name, a->file, a->line,
				what);
		break;
	}
	return e < 0 ? e : 1;
}

static int policy_check(struct ublkit_policy *p)
{
	int r;

	r = check_settings(p, "Global", p->global);
	for (size_t i = 0; r >= 0 && i < p->n_rules; i++)
		r = check_rule(p, p->rules[i]);
	/* one problem per rule: the first earlier rule it collides with */
	for (size_t j = 1; r >= 0 && j < p->n_rules; j++) {
		r = 0;
		for (size_t i = 0; r == 0 && i < j; i++)
			r = check_rule_pair(p, i, p->rules[i], p->rules[j]);
	}
	if (r < 0)
		return r;
	problems_sort(p);
	return 0;
}

/* ---- loading ------------------------------------------------------------------- */

static int policy_read_file(struct ublkit_policy *p, const struct conf_file *f)
{
	_cleanup_free_ char *text = NULL;
	const char *name;
	size_t len = 0;
	int r;

	name = policy_add_name(p, f->name);
	if (!name)
		return -ENOMEM;
	r = conf_read(f->path, &text, &len);
	if (r == -EFBIG)
		return problem_add(p, name, 0, NULL, NULL,
				   "larger than %d bytes: not read; a policy is a few lines",
				   CONF_FILE_MAX);
	if (r < 0)
		return log_ret(p->ctx, r, "cannot read %s", f->name);
	log_debug(p->ctx, "reading %s", f->name);
	r = policy_add_file(p, name);
	if (r < 0)
		return r;
	return policy_read_text(p, name, text, len);
}

UBLKIT_EXPORT int ublkit_policy_load(struct ublkit_ctx *ctx, const char *path, unsigned int flags,
				     struct ublkit_policy **ret)
{
	_cleanup_policy_ struct ublkit_policy *p = NULL;
	struct conf_files files = {};
	int r;

	if (!ctx || !ret || flags)
		return -EINVAL;
	r = path ? conf_files_explicit(path, &files) : conf_files_system(ctx, &files);
	if (r < 0)
		return log_ret(ctx, r, "cannot list the policy files%s%s", path ? " of " : "",
			       path ? path : "");
	p = policy_new(ctx);
	if (!p)
		r = -ENOMEM;
	for (size_t i = 0; r >= 0 && i < files.n; i++)
		r = policy_read_file(p, &files.v[i]);
	conf_files_free(&files);
	if (r >= 0)
		r = policy_check(p);
	if (r < 0)
		return r;
	*ret = p;
	p = NULL;
	return 0;
}

UBLKIT_EXPORT int ublkit_policy_load_buffer(struct ublkit_ctx *ctx, const char *filename,
					    const char *text, size_t len, unsigned int flags,
					    struct ublkit_policy **ret)
{
	_cleanup_policy_ struct ublkit_policy *p = NULL;
	const char *name;
	int r;

	if (!ctx || !ret || flags || (!text && len))
		return -EINVAL;
	p = policy_new(ctx);
	if (!p)
		return -ENOMEM;
	name = policy_add_name(p, filename ? filename : "-");
	if (!name)
		return -ENOMEM;
	if (len > CONF_FILE_MAX)
		r = problem_add(p, name, 0, NULL, NULL,
				"larger than %d bytes: not read; a policy is a few lines",
				CONF_FILE_MAX);
	else {
		r = policy_add_file(p, name);
		if (r >= 0 && len)
			r = policy_read_text(p, name, text, len);
	}
	if (r >= 0)
		r = policy_check(p);
	if (r < 0)
		return r;
	*ret = p;
	p = NULL;
	return 0;
}

/* ---- global settings ------------------------------------------------------------ */

static bool global_has(const struct ublkit_policy *p, int k)
{
	return p->global[k].value && p->global[k].ok;
}

UBLKIT_EXPORT int ublkit_policy_get_hardening(const struct ublkit_policy *p)
{
	return global_has(p, POLICY_HARDENING) ? (int)p->global[POLICY_HARDENING].num
					       : UBLKIT_HARDEN_REQUIRED;
}

UBLKIT_EXPORT unsigned int ublkit_policy_get_queues(const struct ublkit_policy *p)
{
	return global_has(p, POLICY_QUEUES) ? (unsigned int)p->global[POLICY_QUEUES].num : 1;
}

UBLKIT_EXPORT unsigned int ublkit_policy_get_queue_depth(const struct ublkit_policy *p)
{
	return global_has(p, POLICY_QUEUE_DEPTH) ? (unsigned int)p->global[POLICY_QUEUE_DEPTH].num
						 : UBLKIT_DEFAULT_QUEUE_DEPTH;
}

UBLKIT_EXPORT int ublkit_policy_get_priority(const struct ublkit_policy *p)
{
	return global_has(p, POLICY_PRIORITY) ? (int)p->global[POLICY_PRIORITY].num : -1;
}

UBLKIT_EXPORT bool ublkit_policy_get_allow_taking_data(const struct ublkit_policy *p)
{
	return global_has(p, POLICY_ALLOW_TAKING_DATA) &&
	       p->global[POLICY_ALLOW_TAKING_DATA].num;
}

/* ---- rules ------------------------------------------------------------------------ */

UBLKIT_EXPORT size_t ublkit_policy_get_rule_count(const struct ublkit_policy *p)
{
	return p ? p->n_rules : 0;
}

UBLKIT_EXPORT const struct ublkit_policy_rule *ublkit_policy_get_rule(const struct ublkit_policy *p,
								      size_t i)
{
	return p && i < p->n_rules ? p->rules[i] : NULL;
}

UBLKIT_EXPORT const struct ublkit_policy_rule *ublkit_policy_find_rule(const struct ublkit_policy *p,
								       const char *name)
{
	return p && name ? rule_find(p, name) : NULL;
}

UBLKIT_EXPORT const char *ublkit_policy_rule_get_name(const struct ublkit_policy_rule *r)
{
	return r->name;
}

UBLKIT_EXPORT int ublkit_policy_rule_get_create(const struct ublkit_policy_rule *r)
{
	return r->create;
}

UBLKIT_EXPORT const char *ublkit_policy_rule_get_file(const struct ublkit_policy_rule *r)
{
	return r->file;
}

UBLKIT_EXPORT unsigned int ublkit_policy_rule_get_line(const struct ublkit_policy_rule *r)
{
	return r->line;
}

UBLKIT_EXPORT const char *ublkit_policy_rule_get_value(const struct ublkit_policy_rule *r,
						       const char *key)
{
	int k = key ? policy_key_from_name(key) : -EINVAL;

	return k < 0 ? NULL : r->set[k].value;
}

UBLKIT_EXPORT int ublkit_policy_rule_get_number(const struct ublkit_policy_rule *r,
						const char *key, int64_t *ret)
{
	int k = key ? policy_key_from_name(key) : -EINVAL;

	if (k < 0)
		return -EINVAL;
	switch (keys[k].type) {
	case V_GLOB: case V_NSIDS: case V_TRANSPORTS: case V_LABEL: case V_TARGET:
		return -EINVAL;
	default:
		break;
	}
	if (!r->set[k].value)
		return -ENOENT;
	if (!r->set[k].ok)
		return -EINVAL;
	*ret = r->set[k].num;
	return 0;
}

/* The rule's value of @k, else [Global]'s, else @def. */
static int64_t rule_or_global(const struct ublkit_policy_rule *r, int k, int64_t def)
{
	if (rule_has(r, k))
		return r->set[k].num;
	if (global_has(r->policy, k))
		return r->policy->global[k].num;
	return def;
}

UBLKIT_EXPORT unsigned int ublkit_policy_rule_get_queues(const struct ublkit_policy_rule *r)
{
	return (unsigned int)rule_or_global(r, POLICY_QUEUES, 1);
}

UBLKIT_EXPORT unsigned int ublkit_policy_rule_get_queue_depth(const struct ublkit_policy_rule *r)
{
	return (unsigned int)rule_or_global(r, POLICY_QUEUE_DEPTH, UBLKIT_DEFAULT_QUEUE_DEPTH);
}

UBLKIT_EXPORT int ublkit_policy_rule_get_priority(const struct ublkit_policy_rule *r)
{
	return (int)rule_or_global(r, POLICY_PRIORITY, -1);
}

UBLKIT_EXPORT int ublkit_policy_rule_get_hardening(const struct ublkit_policy_rule *r)
{
	return (int)rule_or_global(r, POLICY_HARDENING, UBLKIT_HARDEN_REQUIRED);
}

UBLKIT_EXPORT unsigned int ublkit_policy_rule_get_members(const struct ublkit_policy_rule *r)
{
	if (r->create != UBLKIT_POLICY_DM_STRIPED)
		return 1;
	return rule_has(r, POLICY_MEMBERS) ? (unsigned int)r->set[POLICY_MEMBERS].num : 0;
}

/* ---- matching ---------------------------------------------------------------------- */

struct why {
	char *buf;
	size_t size;
};

static int why_not(struct why *w, int k, const char *fmt, ...) _printf_(3, 4);

/* Say why a rule does not claim a namespace; returns 0 (no match). */
static int why_not(struct why *w, int k, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!w->buf || !w->size)
		return 0;
	n = snprintf(w->buf, w->size, "%s: ", keys[k].name);
	if (n < 0 || (size_t)n >= w->size)
		return 0;
	va_start(ap, fmt);
	vsnprintf(w->buf + n, w->size - (size_t)n, fmt, ap);
	va_end(ap);
	return 0;
}

/* Identify strings come padded with blanks. */
static const char *unpadded(const char *s, char *buf, size_t size)
{
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	while (n > 0 && s[n - 1] == ' ')
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

static int match_glob(const struct ublkit_policy_rule *r, int k, const char *what,
		      const char *value, struct why *w)
{
	const char *g = r->set[k].value;
	char buf[256];

	if (!value)
		return why_not(w, k, "the namespace reports no %s", what);
	value = unpadded(value, buf, sizeof(buf));
	if (fnmatch(g, value, 0) == 0)
		return 1;
	return why_not(w, k, "'%s' does not match '%s'", value, g);
}

static bool glob_matches(const char *g, const char *s)
{
	return s && fnmatch(g, s, 0) == 0;
}

static int match_identity(const struct ublkit_policy_rule *r, const struct ublkit_nvme_ns *ns,
			  struct why *w)
{
	const char *g = r->set[POLICY_MATCH_IDENTITY].value;

	if (glob_matches(g, ublkit_nvme_ns_get_identity(ns)) ||
	    glob_matches(g, ublkit_nvme_ns_get_nguid(ns)) ||
	    glob_matches(g, ublkit_nvme_ns_get_eui64(ns)) ||
	    glob_matches(g, ublkit_nvme_ns_get_uuid(ns)))
		return 1;
	return why_not(w, POLICY_MATCH_IDENTITY, "'%s' does not match '%s'",
		       ublkit_nvme_ns_get_identity(ns) ? ublkit_nvme_ns_get_identity(ns) : "",
		       g);
}

/* The namespace's controller, or for a multipath one any of its paths' controllers. */
static int match_controller(const struct ublkit_policy_rule *r, const struct ublkit_nvme_ns *ns,
			    struct why *w)
{
	const char *g = r->set[POLICY_MATCH_CONTROLLER].value;
	const struct ublkit_nvme_ctrl *c = ublkit_nvme_ns_get_ctrl(ns);

	if (c && glob_matches(g, ublkit_nvme_ctrl_get_name(c)))
		return 1;
	for (size_t i = 0; i < ublkit_nvme_ns_get_path_count(ns); i++) {
		const struct ublkit_nvme_path *path = ublkit_nvme_ns_get_path(ns, i);
		const struct ublkit_nvme_ctrl *pc = ublkit_nvme_path_get_ctrl(path);

		if (pc && glob_matches(g, ublkit_nvme_ctrl_get_name(pc)))
			return 1;
	}
	if (!c)
		return why_not(w, POLICY_MATCH_CONTROLLER, "the namespace has no controller");
	return why_not(w, POLICY_MATCH_CONTROLLER, "'%s' does not match '%s'",
		       ublkit_nvme_ctrl_get_name(c), g);
}

static int match_nsid(const struct ublkit_policy_rule *r, const struct ublkit_nvme_ns *ns,
		      struct why *w)
{
	uint32_t nsid = ublkit_nvme_ns_get_nsid(ns);

	if (list_each(r->set[POLICY_MATCH_NSID].value, nsid_equal, &nsid) > 0)
		return 1;
	return why_not(w, POLICY_MATCH_NSID, "nsid %" PRIu32 " is not in %s", nsid,
		       r->set[POLICY_MATCH_NSID].value);
}

static int transport_equal(const char *item, void *userdata)
{
	return strcmp(item, userdata) == 0;
}

static int match_transport(const struct ublkit_policy_rule *r, const struct ublkit_nvme_ns *ns,
			   struct why *w)
{
	const struct ublkit_nvme_ctrl *c = ublkit_nvme_ns_get_ctrl(ns);
	const char *t = c ? ublkit_nvme_ctrl_get_transport(c) : NULL;

	if (!t)
		return why_not(w, POLICY_MATCH_TRANSPORT, "the namespace reports no transport");
	if (list_each(r->set[POLICY_MATCH_TRANSPORT].value, transport_equal, (void *)t) > 0)
		return 1;
	return why_not(w, POLICY_MATCH_TRANSPORT, "'%s' is not in %s", t,
		       r->set[POLICY_MATCH_TRANSPORT].value);
}

static int match_size(const struct ublkit_policy_rule *r, const struct ublkit_nvme_ns *ns,
		      struct why *w)
{
	uint64_t size = ublkit_nvme_ns_get_size(ns);
	char have[32];

	if (rule_has(r, POLICY_MATCH_MIN_SIZE) &&
	    size < (uint64_t)r->set[POLICY_MATCH_MIN_SIZE].num)
		return why_not(w, POLICY_MATCH_MIN_SIZE, "%s is smaller than %s",
			       size_text(size, have, sizeof(have)),
			       r->set[POLICY_MATCH_MIN_SIZE].value);
	if (rule_has(r, POLICY_MATCH_MAX_SIZE) &&
	    size > (uint64_t)r->set[POLICY_MATCH_MAX_SIZE].num)
		return why_not(w, POLICY_MATCH_MAX_SIZE, "%s is larger than %s",
			       size_text(size, have, sizeof(have)),
			       r->set[POLICY_MATCH_MAX_SIZE].value);
	return 1;
}

static void warnings_text(unsigned int bits, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int b = 1; b && b <= 0x80; b <<= 1) {
		const char *name = ublkit_nvme_warning_name(b);

		if (!(bits & b))
			continue;
		n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? ", " : "",
				      name ? name : "unknown");
	}
}

static int match_health(const struct ublkit_policy_rule *r,
			const struct ublkit_nvme_health *h, struct why *w)
{
	bool has_mpu = rule_has(r, POLICY_MAX_PERCENT_USED);
	bool has_acw = rule_has(r, POLICY_ALLOW_CRITICAL_WARNING);
	int k = has_mpu ? POLICY_MAX_PERCENT_USED : POLICY_ALLOW_CRITICAL_WARNING;
	char list[128];

	if (!has_mpu && !has_acw)
		return 1;
	if (!h)
		return why_not(w, k, "the controller's health log could not be read");
	if (h->critical_warning && !(has_acw && r->set[POLICY_ALLOW_CRITICAL_WARNING].num)) {
		warnings_text(h->critical_warning, list, sizeof(list));
		return why_not(w, POLICY_ALLOW_CRITICAL_WARNING,
			       "the controller reports a critical warning (%s)", list);
	}
	if (has_mpu && h->percentage_used > r->set[POLICY_MAX_PERCENT_USED].num)
		return why_not(w, POLICY_MAX_PERCENT_USED, "%u%% used is more than %s%%",
			       h->percentage_used, r->set[POLICY_MAX_PERCENT_USED].value);
	return 1;
}

/* Every key that was set must have a value that was understood. */
static bool rule_usable(const struct ublkit_policy_rule *r)
{
	for (int k = 0; k < POLICY_KEY_COUNT; k++)
		if (r->set[k].value && !r->set[k].ok)
			return false;
	return r->create >= 0;
}

UBLKIT_EXPORT int ublkit_policy_rule_match(const struct ublkit_policy_rule *r,
					   const struct ublkit_nvme_ns *ns,
					   const struct ublkit_nvme_health *health, char *why,
					   size_t why_size)
{
	struct why w = { why, why_size };
	int m = 1;

	if (!r || !ns)
		return -EINVAL;
	if (why && why_size)
		why[0] = '\0';
	if (!rule_usable(r))
		return -EINVAL;
	if (m && r->set[POLICY_MATCH_MODEL].value)
		m = match_glob(r, POLICY_MATCH_MODEL, "model", ublkit_nvme_ns_get_model(ns), &w);
	if (m && r->set[POLICY_MATCH_SERIAL].value)
		m = match_glob(r, POLICY_MATCH_SERIAL, "serial", ublkit_nvme_ns_get_serial(ns),
			       &w);
	if (m && r->set[POLICY_MATCH_CONTROLLER].value)
		m = match_controller(r, ns, &w);
	if (m && r->set[POLICY_MATCH_IDENTITY].value)
		m = match_identity(r, ns, &w);
	if (m && r->set[POLICY_MATCH_NSID].value)
		m = match_nsid(r, ns, &w);
	if (m && r->set[POLICY_MATCH_TRANSPORT].value)
		m = match_transport(r, ns, &w);
	if (m)
		m = match_size(r, ns, &w);
	if (m)
		m = match_health(r, health, &w);
	return m;
}

UBLKIT_EXPORT int ublkit_policy_match(const struct ublkit_policy *p,
				      const struct ublkit_nvme_ns *ns,
				      const struct ublkit_nvme_health *health,
				      const struct ublkit_policy_rule **ret, char *why,
				      size_t why_size)
{
	const struct ublkit_policy_rule *first = NULL;

	if (!p || !ns || !ret)
		return -EINVAL;
	*ret = NULL;
	if (why && why_size)
		why[0] = '\0';
	if (p->n_problems)
		return -EINVAL;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct ublkit_policy_rule *r = p->rules[i];
		int m = ublkit_policy_rule_match(r, ns, health, NULL, 0);

		if (m < 0)
			return m;
		if (!m)
			continue;
		if (!first) {
			first = *ret = r;
			/* an ignore rule is an exception: it ends the search */
			if (r->create == UBLKIT_POLICY_IGNORE)
				return 0;
			continue;
		}
		if (why && why_size)
			snprintf(why, why_size, "rules '%s' (%s:%u) and '%s' (%s:%u) both claim %s",
				 first->name, first->file, first->line, r->name, r->file, r->line,
				 ublkit_nvme_ns_get_name(ns));
		return -ENOTUNIQ;
	}
	if (!first && why && why_size)
		snprintf(why, why_size, "no rule claims %s", ublkit_nvme_ns_get_name(ns));
	return 0;
}

/* ---- the kernel command line ------------------------------------------------------- */

#define CMDLINE_MAX (64 * 1024)

/* 1: off, 0: on, -EINVAL: not a value that says either. */
static int switch_value(const char *v)
{
	if (!v)
		return 0;	/* a bare "ublkit" switches it on, as for any boolean */
	return bool_parse(v) < 0 ? -EINVAL : !bool_parse(v);
}

/*
 * One parameter as the kernel's next_arg() takes it: a '"' at its start
 * or right after '=' opens a quote that a '"' at its end closes.
 */
static int cmdline_param(char *word, bool initrd)
{
	size_t n = strlen(word);
	bool quoted = false;
	char *eq, *val = NULL;

	if (word[0] == '"') {
		word++;
		n--;
		quoted = true;
	}
	eq = strchr(word, '=');
	if (eq) {
		*eq = '\0';
		val = eq + 1;
		if (*val == '"') {
			val++;
			quoted = true;
		}
	}
	if (quoted && n > 0 && word[n - 1] == '"' && word + n - 1 >= (val ? val : word))
		word[n - 1] = '\0';
	if (strcmp(word, "ublkit") == 0 || (initrd && strcmp(word, "rd.ublkit") == 0))
		return switch_value(val);
	return -EINVAL;
}

UBLKIT_EXPORT int ublkit_policy_cmdline_disables(const char *cmdline, bool initrd)
{
	char word[CONF_LINE_MAX];
	int off = 0;

	if (!cmdline)
		return -EINVAL;
	for (const char *s = cmdline; *s;) {
		bool in_quote = false, fits = true;
		size_t n = 0;
		int r;

		while (*s && isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		for (; *s && (in_quote || !isspace((unsigned char)*s)); s++) {
			if (*s == '"')
				in_quote = !in_quote;
			if (n + 1 < sizeof(word))
				word[n++] = *s;
			else
				fits = false;
		}
		word[n] = '\0';
		if (!fits)
			continue;
		r = cmdline_param(word, initrd);
		if (r >= 0)
			off = r;	/* the last one wins */
	}
	return off;
}

UBLKIT_EXPORT int ublkit_policy_disabled_by_cmdline(struct ublkit_ctx *ctx, bool initrd)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t n = 0;
	ssize_t k;

	if (!ctx)
		return -EINVAL;
	fd = ublkit_open(ctx, "/proc/cmdline", O_RDONLY);
	if (fd == -ENOENT)
		return 0;	/* no command line says anything */
	if (fd < 0)
		return log_ret(ctx, fd, "cannot open /proc/cmdline");
	buf = malloc(CMDLINE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	while (n < CMDLINE_MAX) {
		k = read(fd, buf + n, CMDLINE_MAX - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return log_ret(ctx, neg_errno(), "cannot read /proc/cmdline");
		if (k == 0)
			break;
		n += (size_t)k;
	}
	buf[n] = '\0';
	/* a NUL byte ends what is read, as it would end the kernel's string */
	return ublkit_policy_cmdline_disables(buf, initrd);
}
