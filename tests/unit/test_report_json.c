/* tests/unit/test_report_json.c - the shape of the -o json document, built
 * from a run result assembled by hand (no runner, no fork). */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"
#include "unit.h"
#include "util.h"

static gp_outcome never(gp_ctx *ctx, const gp_api *api)
{
    (void)ctx;
    (void)api;
    return GP_READY;
}

static const gp_metric metrics[] = {
    {.name = "connect_time", .unit = GP_UNIT_MS, .help = "x"},
    {.name = NULL},
};
static const gp_plugin desc = {GP_PLUGIN_HEADER,   .name = "fake",
                               .version = "1",     .summary = "s",
                               .metrics = metrics, .check = never};
static const plugin fake = {
    .name = "fake", .path = "fake.so", .desc = &desc, .n_metrics = 1};

static json_t *render(run_result *rr)
{
    char path[] = "/tmp/gpcheck-json-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    report_opts ro = {0};
    char err[256];
    char *spec = xasprintf("json:%s", path);
    sink *s = sink_open(spec, &ro, err, sizeof err);
    free(spec);
    ck_assert_ptr_nonnull(s);
    event ev = {.kind = EV_RUN_END, .run = rr};
    s->ops->event(s, &ev);
    ck_assert_int_eq(s->ops->close(s, err, sizeof err), 0);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    unlink(path);
    ck_assert_msg(doc != NULL, "invalid JSON: %s", jerr.text);
    return doc;
}

START_TEST(test_shape)
{
    probe_def defs[2] = {{.name = "db", .plugin = &fake},
                         {.name = "cache", .plugin = &fake}};
    defs[1].pol.severity = SEV_OPTIONAL;
    metric_val mv = {.decl = &metrics[0], .value = 1.5};
    attempt_rec hist[2] = {
        {.number = 1,
         .warmup = 1,
         .res = RES_TRANSIENT,
         .message = "connection refused",
         .start_ns = 0,
         .end_ns = 2000000},
        {.number = 1,
         .warmup = 0,
         .res = RES_READY,
         .message = "connected",
         .metrics = &mv,
         .n_metrics = 1,
         .start_ns = 250000000,
         .end_ns = 251000000},
    };
    probe_run probes[2] = {
        {.def = &defs[0],
         .state = PS_DONE,
         .status = ST_OK,
         .message = "connected",
         .history = hist,
         .n_history = 2,
         .start_ns = 1,
         .end_ns = 251000001},
        {.def = &defs[1],
         .state = PS_DONE,
         .status = ST_SKIPPED,
         .message = "after 'x', which is fail"},
    };
    run_result rr = {.env = "staging",
                     .probes = probes,
                     .n = 2,
                     .started_wall_ms = 1758000000123,
                     .start_ns = 0,
                     .end_ns = 300000000,
                     .verdict = V_DEGRADED,
                     .exit_code = 0};
    json_t *doc = render(&rr);

    ck_assert_str_eq(json_string_value(json_object_get(doc, "env")), "staging");
    ck_assert_str_eq(json_string_value(json_object_get(doc, "verdict")),
                     "degraded");
    ck_assert_ptr_nonnull(json_string_value(json_object_get(doc, "gpcheck")));
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "exit_code")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "started_at")),
                     "2025-09-16T05:20:00.123Z");
    ck_assert_double_eq_tol(
        json_number_value(json_object_get(doc, "duration_ms")), 300.0, 1e-6);

    json_t *ps = json_object_get(doc, "probes");
    ck_assert_int_eq(json_array_size(ps), 2);
    json_t *p0 = json_array_get(ps, 0);
    const char *keys[] = {"name",        "plugin",  "severity",
                          "status",      "message", "attempts",
                          "duration_ms", "metrics", "history"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        ck_assert_msg(json_object_get(p0, keys[i]) != NULL, "missing %s",
                      keys[i]);
    ck_assert_str_eq(json_string_value(json_object_get(p0, "plugin")), "fake");
    ck_assert_str_eq(json_string_value(json_object_get(p0, "severity")),
                     "required");
    ck_assert_int_eq(json_integer_value(json_object_get(p0, "attempts")), 2);
    ck_assert_double_eq_tol(
        json_number_value(
            json_object_get(json_object_get(p0, "metrics"), "connect_time")),
        1.5, 1e-9);
    json_t *h = json_object_get(p0, "history");
    ck_assert_int_eq(json_array_size(h), 2);
    json_t *h0 = json_array_get(h, 0);
    ck_assert_str_eq(json_string_value(json_object_get(h0, "phase")), "warmup");
    ck_assert_str_eq(json_string_value(json_object_get(h0, "outcome")),
                     "transient");
    ck_assert_str_eq(json_string_value(json_object_get(h0, "message")),
                     "connection refused");
    ck_assert_double_eq_tol(
        json_number_value(json_object_get(h0, "duration_ms")), 2.0, 1e-9);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(h, 1), "phase")),
        "retry");

    json_t *p1 = json_array_get(ps, 1);
    ck_assert_str_eq(json_string_value(json_object_get(p1, "status")),
                     "skipped");
    ck_assert_str_eq(json_string_value(json_object_get(p1, "severity")),
                     "optional");
    ck_assert_int_eq(json_object_size(json_object_get(p1, "metrics")), 0);
    json_decref(doc);
}
END_TEST

/* The attempt line of the JUnit report and of --explain (report_attempt). */
START_TEST(test_history_lines)
{
    attempt_rec hist[2] = {
        {.number = 1,
         .warmup = 1,
         .res = RES_TRANSIENT,
         .message = "connection refused",
         .start_ns = 0,
         .end_ns = 2000000},
        {.number = 2, .res = RES_TIMEOUT, .start_ns = 0, .end_ns = 12500000},
    };
    probe_run pr = {.history = hist, .n_history = 2};
    strbuf sb = {0};
    report_history(&sb, &pr);
    ck_assert_str_eq(sb_str(&sb),
                     "warmup 1: transient after 2.0 ms: connection refused\n"
                     "attempt 2: timeout after 12.5 ms: \n");
    sb_free(&sb);
}
END_TEST

START_TEST(test_unknown_format)
{
    report_opts ro = {0};
    char err[256] = "";
    ck_assert_ptr_null(sink_open("xml:/tmp/x", &ro, err, sizeof err));
    ck_assert_str_eq(err,
                     "-o xml: unknown format (known: text, json, jsonl, "
                     "junit, tap, prometheus, nagios, pushgateway, github)");
    ck_assert_ptr_null(sink_open("json:", &ro, err, sizeof err));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("report_json");
    TCase *tc = tcase_create("shape");
    tcase_add_test(tc, test_shape);
    tcase_add_test(tc, test_unknown_format);
    tcase_add_test(tc, test_history_lines);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
