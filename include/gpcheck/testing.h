/*
 * gpcheck/testing.h - an in-process harness for a probe's unit tests.
 *
 * Calls a plugin's check() (and, since ABI 1.2, its validate()) directly,
 * in the test's own process (no runner, no fork), with the options you
 * give, parsed and validated exactly as gpcheck does (types, ranges,
 * choices, required options, defaults, GP_OPT_METRICS names), and lets
 * the test assert on the outcome, the message, the metrics, the log and
 * the invalid() reports. Works with any test framework; the template in
 * sdk/template/ uses Check.
 *
 * Link with libgpcheck-testing.a (pkg-config gpcheck-testing, or the CMake
 * target gpcheck::testing). It exports only the gp_test_* functions.
 *
 *     gp_test *t = gp_test_new(gpcheck_plugin());
 *     gp_test_set(t, "host", "127.0.0.1");
 *     gp_test_set(t, "port", "6379");
 *     ck_assert_int_eq(gp_test_run(t), GP_READY);
 *     ck_assert_str_eq(gp_test_message(t), "PONG");
 *     double ms;
 *     ck_assert(gp_test_metric(t, "ping_time", &ms));
 *     gp_test_set(t, "host", "not a host");
 *     ck_assert_int_eq(gp_test_validate(t), 1);
 *     gp_test_free(t);
 *
 * Ownership: a gp_test owns every string it returns; they live until the
 * next gp_test_run() or gp_test_free(). The plugin descriptor is the
 * plugin's and must outlive the gp_test.
 */
#ifndef GPCHECK_TESTING_H
#define GPCHECK_TESTING_H

#include <stddef.h>
#include <stdint.h>

#include "gpcheck/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gp_test gp_test;

/* A harness for one plugin. Returns NULL when the descriptor is not one
 * gpcheck would load: the harness runs the loader's own schema check (ABI
 * version and size, name, check(), option keys against the reserved keys
 * and each other, types, flags per type, metric names and units), so a
 * descriptor gpcheck refuses never passes a unit test. Then
 * gp_test_error(NULL) says why (the same line goes to stderr). */
gp_test *gp_test_new(const gp_plugin *plugin);

/* Set an option as a config file would ("2s", "90%", "a, b"). Returns 0,
 * or -1 when the plugin does not declare the key or the value does not
 * parse (see gp_test_error). */
int gp_test_set(gp_test *t, const char *key, const char *value);

/* The attempt's time limit (default 5000 ms), the warmup flag the plugin
 * sees (default 0) and the attempt number (default 1). */
void gp_test_timeout_ms(gp_test *t, int64_t ms);
void gp_test_warmup(gp_test *t, int in_warmup);
void gp_test_attempt(gp_test *t, unsigned number);

/*
 * Run check() once. Before calling it, checks required options like
 * gpcheck does; a missing one returns GP_UNKNOWN without calling check()
 * (see gp_test_error). A plugin that misuses the API (an undeclared option
 * or metric, a wrong getter type) gets GP_UNKNOWN too, with the reason.
 */
gp_outcome gp_test_run(gp_test *t);

/*
 * Run validate() once (ABI 1.2), after the same required-option check as
 * gp_test_run(). Returns the number of invalid() calls (0 also for a
 * plugin without validate()), or -1 when an option is missing or the
 * plugin misused the API (see gp_test_error).
 */
int gp_test_validate(gp_test *t);
/* The last gp_test_validate()'s reports, "KEY: MESSAGE", in call order;
 * returns their count. */
size_t gp_test_invalid(const gp_test *t, const char *const **lines);
/* Every text secret() declared (in validate() or check()) since
 * gp_test_new(), each once; returns their count. */
size_t gp_test_secrets(const gp_test *t, const char *const **texts);

/* metric_wanted() (ABI 1.3) answers 1 for every metric the probe may
 * report, as in a run with a JSON report, and 0 in validate(). */

/* The last run's message ("" when none). */
const char *gp_test_message(const gp_test *t);
/* 1 and *value when the last run reported the metric, else 0. */
int gp_test_metric(const gp_test *t, const char *name, double *value);
/* The last run's log lines, in order; returns their count. */
size_t gp_test_logs(const gp_test *t, const char *const **lines);
/* Why gp_test_set(), gp_test_run() or gp_test_validate() failed, or NULL.
 * With t NULL: why the last gp_test_new() of this thread returned NULL. */
const char *gp_test_error(const gp_test *t);
/* How long the last check() took, in ms. */
double gp_test_duration_ms(const gp_test *t);

const char *gp_test_outcome_name(gp_outcome o);

void gp_test_free(gp_test *t);

#ifdef __cplusplus
}
#endif

#endif /* GPCHECK_TESTING_H */
