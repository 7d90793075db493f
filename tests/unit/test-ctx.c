/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Context lifetime, log priority parsing and the log callback. */
#include "config.h"

#include <stdarg.h>

#include "test.h"

static void test_ref_unref(void)
{
	struct ublkit_ctx *ctx = NULL;

	CHECK_EQ(ublkit_ctx_new(&ctx), 0);
	CHECK(ctx != NULL);
	CHECK(ublkit_ctx_ref(ctx) == ctx);
	CHECK(ublkit_ctx_unref(ctx) == NULL);
	CHECK(ublkit_ctx_unref(ctx) == NULL);
	CHECK(ublkit_ctx_unref(NULL) == NULL);
	CHECK(ublkit_ctx_ref(NULL) == NULL);
	CHECK_EQ(ublkit_ctx_new(NULL), -EINVAL);
}

static void test_priority_strings(void)
{
	CHECK_EQ(ublkit_log_priority_from_string("debug"), UBLKIT_LOG_DEBUG);
	CHECK_EQ(ublkit_log_priority_from_string("INFO"), UBLKIT_LOG_INFO);
	CHECK_EQ(ublkit_log_priority_from_string("err"), UBLKIT_LOG_ERR);
	CHECK_EQ(ublkit_log_priority_from_string("error"), UBLKIT_LOG_ERR);
	CHECK_EQ(ublkit_log_priority_from_string("warn"), UBLKIT_LOG_WARNING);
	CHECK_EQ(ublkit_log_priority_from_string("5"), 5);
	CHECK_EQ(ublkit_log_priority_from_string("8"), -ERANGE);
	CHECK_EQ(ublkit_log_priority_from_string("loud"), -EINVAL);
	CHECK_EQ(ublkit_log_priority_from_string(""), -EINVAL);
	CHECK_EQ(ublkit_log_priority_from_string(NULL), -EINVAL);
	CHECK_EQ(ublkit_log_priority_from_string("emerg"), 0);
	CHECK_EQ(ublkit_log_priority_from_string("alert"), 1);
	CHECK_EQ(ublkit_log_priority_from_string("crit"), 2);
	CHECK_EQ(ublkit_log_priority_from_string("Warning"), UBLKIT_LOG_WARNING);
	CHECK_EQ(ublkit_log_priority_from_string("notice"), UBLKIT_LOG_NOTICE);
	CHECK_EQ(ublkit_log_priority_from_string("0"), 0);
	CHECK_EQ(ublkit_log_priority_from_string("7"), 7);
	CHECK_EQ(ublkit_log_priority_from_string("-1"), -EINVAL);
	CHECK_EQ(ublkit_log_priority_from_string("debugging"), -EINVAL);
	CHECK_EQ(ublkit_log_priority_from_string("errors"), -EINVAL);
}

static void test_env(void)
{
	struct ublkit_ctx *ctx = NULL;
	char *root = fake_root_new();

	setenv("UBLKIT_LOG", "debug", 1);
	setenv("UBLKIT_SYSROOT", root, 1);
	CHECK_EQ(ublkit_ctx_new(&ctx), 0);
	CHECK_EQ(ublkit_ctx_get_log_priority(ctx), UBLKIT_LOG_DEBUG);
	CHECK_STREQ(ublkit_ctx_get_sysroot(ctx), root);
	CHECK(ublkit_ctx_is_sysroot(ctx));
	ublkit_ctx_unref(ctx);

	/* the lowest priority is a priority too */
	setenv("UBLKIT_LOG", "emerg", 1);
	unsetenv("UBLKIT_SYSROOT");
	CHECK_EQ(ublkit_ctx_new(&ctx), 0);
	CHECK_EQ(ublkit_ctx_get_log_priority(ctx), 0);
	ublkit_ctx_unref(ctx);
	setenv("UBLKIT_SYSROOT", "", 1);
	CHECK_EQ(ublkit_ctx_new(&ctx), 0);
	CHECK(!ublkit_ctx_is_sysroot(ctx));
	ublkit_ctx_unref(ctx);

	setenv("UBLKIT_LOG", "nonsense", 1);
	unsetenv("UBLKIT_SYSROOT");
	CHECK_EQ(ublkit_ctx_new(&ctx), 0);
	CHECK_EQ(ublkit_ctx_get_log_priority(ctx), UBLKIT_LOG_ERR);
	CHECK(!ublkit_ctx_is_sysroot(ctx));
	ublkit_ctx_unref(ctx);
	unsetenv("UBLKIT_LOG");

	/* An unusable sysroot is an error, never the host's root. */
	ctx = NULL;
	setenv("UBLKIT_SYSROOT", "/nonexistent/ublkit-sysroot", 1);
	CHECK_EQ(ublkit_ctx_new(&ctx), -ENOENT);
	CHECK(ctx == NULL);
	setenv("UBLKIT_SYSROOT", "/dev/null", 1);
	CHECK_EQ(ublkit_ctx_new(&ctx), -ENOTDIR);
	unsetenv("UBLKIT_SYSROOT");
	fake_root_free(root);
}

struct captured {
	int count;
	int last_prio;
	char last[256];
};

static void capture(struct ublkit_ctx *ctx, int prio, const char *file, int line, const char *fn,
		    const char *fmt, va_list ap, void *data)
{
	struct captured *c = data;

	c->count++;
	c->last_prio = prio;
	vsnprintf(c->last, sizeof(c->last), fmt, ap);
}

static void test_log_callback(void)
{
	struct captured cap = { 0 };
	struct ublkit_ctx *ctx = NULL;
	char *root = fake_root_linux();

	CHECK_EQ(ublkit_ctx_new(&ctx), 0);
	ublkit_ctx_set_log_fn(ctx, capture, &cap);
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	/* A missing module logs at error priority, which is the default. */
	CHECK_EQ(ublkit_kmod_load(ctx, "no_such_module", 0), -ENOENT);
	CHECK(cap.count >= 1);
	CHECK_EQ(cap.last_prio, UBLKIT_LOG_ERR);
	CHECK(strstr(cap.last, "no_such_module") != NULL);

	/* Below the threshold nothing reaches the callback. */
	cap.count = 0;
	ublkit_ctx_set_log_priority(ctx, 0);
	CHECK_EQ(ublkit_kmod_load(ctx, "no_such_module", 0), -ENOENT);
	CHECK_EQ(cap.count, 0);
	CHECK_EQ(ublkit_ctx_get_log_priority(ctx), 0);

	/* no log function: nothing is called */
	ublkit_ctx_set_log_priority(ctx, UBLKIT_LOG_DEBUG);
	ublkit_ctx_set_log_fn(ctx, NULL, &cap);
	CHECK_EQ(ublkit_kmod_load(ctx, "no_such_module", 0), -ENOENT);
	CHECK_EQ(cap.count, 0);
	ublkit_ctx_unref(ctx);
	fake_root_free(root);
}

static void test_sysroot_paths(void)
{
	struct ublkit_ctx *ctx = NULL;
	char *root = fake_root_new(), *dotdot, *resolved;

	CHECK_EQ(ublkit_ctx_new(&ctx), 0);
	/* kept resolved, and "/" by any other name is the real root */
	CHECK(asprintf(&dotdot, "%s/sub/..", root) > 0);
	fake_mkdir(root, "/sub");
	resolved = realpath(root, NULL);
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, dotdot), 0);
	CHECK_STREQ(ublkit_ctx_get_sysroot(ctx), resolved);
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, "/tmp/.."), 0);
	CHECK(!ublkit_ctx_is_sysroot(ctx));
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, ""), 0);
	CHECK(!ublkit_ctx_is_sysroot(ctx));
	/* a failed change keeps the old root */
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, root), 0);
	CHECK_EQ(ublkit_ctx_set_sysroot(ctx, "/nonexistent/x"), -ENOENT);
	CHECK_STREQ(ublkit_ctx_get_sysroot(ctx), resolved);
	ublkit_ctx_unref(ctx);
	free(dotdot);
	free(resolved);
	fake_root_free(root);
}

static void test_version(void)
{
	CHECK_STREQ(ublkit_version(), PACKAGE_VERSION);
}

int main(void)
{
	RUN(test_ref_unref);
	RUN(test_priority_strings);
	RUN(test_env);
	RUN(test_log_callback);
	RUN(test_sysroot_paths);
	RUN(test_version);
	return test_result();
}
