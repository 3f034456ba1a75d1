/* tests/unit/test_history.c - core/history.c on a real SQLite file in a
 * temporary folder: what history_parse_keep/age accept, the aggregates of
 * history_stats() (nearest-rank percentiles, flakiness, the suite's
 * rate) on runs whose numbers the test chose, and retention by count. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history.h"
#include "unit.h"
#include "util.h"

START_TEST(test_parse_keep_and_age)
{
    char err[256];
    history_keep k;
    ck_assert_int_eq(history_parse_keep("90d", &k, err, sizeof err), 0);
    ck_assert_int_eq(k.age_ms, INT64_C(90) * 86400000);
    ck_assert_int_eq(k.runs, 0);
    ck_assert_int_eq(history_parse_keep("2w", &k, err, sizeof err), 0);
    ck_assert_int_eq(k.age_ms, INT64_C(14) * 86400000);
    ck_assert_int_eq(history_parse_keep("12h", &k, err, sizeof err), 0);
    ck_assert_int_eq(k.age_ms, INT64_C(12) * 3600000);
    ck_assert_int_eq(history_parse_keep("50000 runs", &k, err, sizeof err), 0);
    ck_assert_int_eq(k.runs, 50000);
    ck_assert_int_eq(k.age_ms, 0);
    ck_assert_int_eq(history_parse_keep("0 runs", &k, err, sizeof err), -1);
    ck_assert_int_eq(history_parse_keep("forever", &k, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "'forever'"));
    ck_assert_int_eq(history_parse_keep("0s", &k, err, sizeof err), -1);
    int64_t ms;
    ck_assert_int_eq(history_parse_age("1.5d", &ms, err, sizeof err), 0);
    ck_assert_int_eq(ms, INT64_C(36) * 3600000);
    ck_assert_int_eq(history_parse_age("-3d", &ms, err, sizeof err), -1);
    ck_assert_int_eq(history_parse_age("40000d", &ms, err, sizeof err), -1);
}
END_TEST

static char dir[] = "/tmp/gpcheck-test-history-XXXXXX";
static int64_t t0;

/* One probe "db" of a run: status st, ready after ready_ms. */
static void record(history *h, probe_status st, double ready_ms,
                   const history_cmd *cmd, const history_keep *keep)
{
    static plugin plug = {.name = "exec"};
    probe_def d = {.name = "db", .plugin = &plug};
    probe_run pr = {.def = &d,
                    .status = st,
                    .message = "m",
                    .start_ns = 1000,
                    .end_ns = 1000 + (int64_t)(ready_ms * 1e6)};
    run_result rr = {.env = "staging",
                     .probes = &pr,
                     .n = 1,
                     /* one millisecond for all: parallel runs */
                     .started_wall_ms = t0,
                     .verdict = st == ST_OK ? V_PASS : V_FAIL,
                     .exit_code = st == ST_OK ? 0 : 1};
    rr.dec.rule = "rule";
    char err[512];
    ck_assert_msg(history_record(h, &rr, cmd, keep, "host", err, sizeof err) ==
                      0,
                  "%s", err);
}

static double num(json_t *o, const char *path)
{
    /* "a.b.c": objects by key */
    char *p = xstrdup(path), *save = NULL;
    for (char *k = strtok_r(p, ".", &save); k; k = strtok_r(NULL, ".", &save))
        o = json_object_get(o, k);
    free(p);
    return json_number_value(o);
}

START_TEST(test_stats_numbers)
{
    char err[512];
    char *path = xasprintf("%s/a/h.db", dir);
    history *h = history_open(path, 1, err, sizeof err);
    ck_assert_msg(h != NULL, "%s", err);
    t0 = wall_ms();
    /* 20 ready runs of 10, 20, ... 200 ms; 2 failed ones between. */
    history_cmd ok = {.known = 1, .exit_code = 0, .duration_ms = 5};
    history_cmd bad = {.known = 1, .exit_code = 1, .label = "tests"};
    for (int i = 1; i <= 20; i++) {
        record(h, ST_OK, 10.0 * i, i % 4 ? &ok : &bad, NULL);
        if (i == 5 || i == 6)
            record(h, ST_FAIL, 0, NULL, NULL);
    }
    history_filter f = {0};
    json_t *doc = history_stats(h, &f, err, sizeof err);
    ck_assert_msg(doc != NULL, "%s", err);
    json_t *e = json_array_get(json_object_get(doc, "envs"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(e, "env")), "staging");
    ck_assert_int_eq((int)num(e, "runs"), 22);
    ck_assert_int_eq((int)num(e, "passed"), 20);
    ck_assert_int_eq((int)num(e, "suite.runs"), 20);
    ck_assert_int_eq((int)num(e, "suite.passed"), 15);
    ck_assert_int_eq((int)num(e, "suite.tests"), 5);
    ck_assert_double_eq_tol(num(e, "suite.success_rate"), 0.75, 1e-9);
    json_t *p = json_array_get(json_object_get(e, "probes"), 0);
    ck_assert_int_eq((int)num(p, "ready.n"), 20);
    /* nearest rank: p50 the 10th value, p95 the 19th, p99 the 20th */
    ck_assert_double_eq_tol(num(p, "ready.p50_ms"), 100, 1e-6);
    ck_assert_double_eq_tol(num(p, "ready.p95_ms"), 190, 1e-6);
    ck_assert_double_eq_tol(num(p, "ready.p99_ms"), 200, 1e-6);
    ck_assert_double_eq_tol(num(p, "ready.max_ms"), 200, 1e-6);
    /* ok x5, FAIL, ok, FAIL, ok ...: four changes over 21 steps, in the
     * order written although all runs share a millisecond */
    ck_assert_int_eq((int)num(p, "status_changes"), 4);
    ck_assert_double_eq_tol(num(p, "flakiness"), 4.0 / 21.0, 1e-9);
    json_decref(doc);

    /* The newest 5 runs only, from the next write on. */
    history_keep keep = {.runs = 5};
    record(h, ST_OK, 1, NULL, &keep);
    json_t *runs = history_runs(h, &f, err, sizeof err);
    ck_assert_int_eq((int)json_array_size(runs), 5);
    ck_assert_int_eq(
        (int)json_integer_value(json_object_get(json_array_get(runs, 0), "id")),
        23);
    json_decref(runs);
    history_close(h);
    /* Read back without create: fine; a missing file is not created. */
    h = history_open(path, 0, err, sizeof err);
    ck_assert_ptr_nonnull(h);
    history_close(h);
    char *missing = xasprintf("%s/none.db", dir);
    ck_assert_ptr_null(history_open(missing, 0, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "no history there yet"));
    ck_assert_int_ne(access(missing, F_OK), 0);
    free(missing);
    free(path);
}
END_TEST

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    Suite *s = suite_create("history");
    TCase *tc = tcase_create("history");
    tcase_add_test(tc, test_parse_keep_and_age);
    tcase_add_test(tc, test_stats_numbers);
    suite_add_tcase(s, tc);
    int rc = unit_run(s);
    char *cmd = xasprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        rc = EXIT_FAILURE;
    free(cmd);
    return rc;
}
