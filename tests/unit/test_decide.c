/* tests/unit/test_decide.c - the gate's decision from hand-made statuses:
 * group arithmetic, units, the bypass (scope, audit line, audit failure),
 * the rule, exit statuses, and threshold evaluation on an attempt. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gate.h"
#include "unit.h"
#include "util.h"

#define NOON_0917 INT64_C(1758110400000)

static probe_def defs[4];
static probe_run runs[4];
static group_def groups[1];
static size_t members[3] = {0, 1, 2};
static probe_set set;
static run_result rr;

static char *tags_db[] = {"db"};

/* Three probes r1..r3 in group "replicas", and one standalone "db". */
static void setup(void)
{
    memset(defs, 0, sizeof defs);
    memset(runs, 0, sizeof runs);
    memset(&rr, 0, sizeof rr);
    const char *names[] = {"r1", "r2", "r3", "db"};
    for (size_t i = 0; i < 4; i++) {
        defs[i].name = (char *)names[i];
        defs[i].group = i < 3 ? 0 : PROBE_NO_GROUP;
        defs[i].pol.severity = SEV_REQUIRED;
        runs[i].def = &defs[i];
        runs[i].status = ST_OK;
    }
    defs[3].tags = tags_db;
    defs[3].n_tags = 1;
    groups[0] = (group_def){.name = "replicas",
                            .need = NEED_COUNT,
                            .need_value = 2,
                            .sev = SEV_REQUIRED,
                            .members = members,
                            .n_members = 3};
    set = (probe_set){.probes = defs, .n = 4, .groups = groups, .n_groups = 1};
    rr = (run_result){.env = "staging", .probes = runs, .n = 4, .set = &set};
}

static void teardown(void)
{
    decision_free(&rr.dec);
}

static const unit_result *unit(const char *name)
{
    for (size_t i = 0; i < rr.dec.n_units; i++)
        if (strcmp(rr.dec.units[i].name, name) == 0)
            return &rr.dec.units[i];
    ck_abort_msg("no unit %s", name);
    return NULL;
}

START_TEST(group_need_arithmetic)
{
    group_def g = {.n_members = 3};
    g.need = NEED_ALL;
    ck_assert_uint_eq(group_need(&g), 3);
    g.need = NEED_COUNT;
    g.need_value = 2;
    ck_assert_uint_eq(group_need(&g), 2);
    g.need = NEED_PERCENT;
    g.need_value = 50; /* 1.5 rounds up */
    ck_assert_uint_eq(group_need(&g), 2);
    g.need_value = 66.7;
    ck_assert_uint_eq(group_need(&g), 3);
    g.need_value = 100.0 / 3; /* exactly one member, despite rounding */
    ck_assert_uint_eq(group_need(&g), 1);
    g.need = NEED_COUNT;
    g.need_value = 5; /* more than the members in this run: all of them */
    ck_assert_uint_eq(group_need(&g), 3);
}
END_TEST

START_TEST(two_of_three)
{
    runs[2].status = ST_FAIL;
    gate_decide(&rr, NOON_0917, "u", "h");
    ck_assert_uint_eq(rr.dec.n_units, 2); /* db and the group */
    const unit_result *g = unit("replicas");
    ck_assert(g->is_group);
    ck_assert_uint_eq(g->ok, 2);
    ck_assert_uint_eq(g->need, 2);
    ck_assert_int_eq(g->status, ST_OK);
    ck_assert_int_eq(rr.verdict, V_PASS);
    ck_assert_int_eq(rr.exit_code, 0);
    ck_assert_str_eq(rr.dec.rule, "pass: all 2 units ok");
}
END_TEST

START_TEST(group_fails_below_need)
{
    runs[1].status = ST_TIMEOUT;
    runs[2].status = ST_FAIL;
    gate_decide(&rr, NOON_0917, "u", "h");
    ck_assert_int_eq(unit("replicas")->status, ST_FAIL);
    ck_assert_int_eq(rr.verdict, V_FAIL);
    ck_assert_int_eq(rr.exit_code, 1);
    ck_assert_str_eq(rr.dec.rule, "fail: required group 'replicas' is fail "
                                  "(1 of 2 needed ok)");
}
END_TEST

START_TEST(group_warn_and_optional)
{
    runs[0].status = ST_WARN;
    runs[2].status = ST_FAIL;
    gate_decide(&rr, NOON_0917, "u", "h");
    ck_assert_int_eq(unit("replicas")->status, ST_WARN);
    ck_assert_int_eq(rr.verdict, V_DEGRADED);
    decision_free(&rr.dec);

    /* members' own severities do not count: an optional member failing
     * does not degrade a group that has its need */
    defs[2].pol.severity = SEV_OPTIONAL;
    runs[0].status = ST_OK;
    gate_decide(&rr, NOON_0917, "u", "h");
    ck_assert_int_eq(rr.verdict, V_PASS);
    decision_free(&rr.dec);

    /* an optional group below its need only degrades */
    groups[0].sev = SEV_OPTIONAL;
    runs[1].status = ST_FAIL;
    gate_decide(&rr, NOON_0917, "u", "h");
    ck_assert_int_eq(rr.verdict, V_DEGRADED);
    ck_assert_ptr_nonnull(strstr(rr.dec.rule, "optional group 'replicas'"));
}
END_TEST

static bypass active_bypass(int all)
{
    bypass b = {.configured = 1,
                .enabled = 1,
                .active = 1,
                .expires_ms = NOON_0917 + 3600000,
                .scope_all = all,
                .reason = "INC-1278",
                .expires_text = "2025-09-17"};
    if (!all) {
        b.scope_tags = tags_db;
        b.n_scope_tags = 1;
    }
    return b;
}

START_TEST(bypass_overrides_in_scope)
{
    bypass b = active_bypass(0);
    rr.bypass = &b;
    runs[3].status = ST_FAIL; /* db, tagged db: in scope */
    gate_decide(&rr, NOON_0917, "u", "h");
    ck_assert_int_eq(rr.dec.without_bypass, V_FAIL);
    ck_assert_int_eq(rr.verdict, V_BYPASSED);
    ck_assert_int_eq(rr.exit_code, 0);
    ck_assert(unit("db")->overridden);
    ck_assert(!unit("replicas")->in_scope);
    decision_free(&rr.dec);

    /* a failure outside the scope still fails the gate */
    runs[0].status = runs[1].status = ST_FAIL;
    gate_decide(&rr, NOON_0917, "u", "h");
    ck_assert_int_eq(rr.verdict, V_FAIL);
    ck_assert(unit("db")->overridden);
    ck_assert(!unit("replicas")->overridden);
    decision_free(&rr.dec);

    /* scope = all overrides the group too */
    bypass all = active_bypass(1);
    rr.bypass = &all;
    gate_decide(&rr, NOON_0917, "u", "h");
    ck_assert_int_eq(rr.verdict, V_BYPASSED);
    ck_assert_str_eq(rr.dec.rule, "bypassed: would be fail; the emergency "
                                  "bypass overrode 2 failing units");
}
END_TEST

START_TEST(inactive_bypass_changes_nothing)
{
    bypass b = active_bypass(1);
    b.active = 0;
    b.expired = 1;
    rr.bypass = &b;
    runs[3].status = ST_FAIL;
    gate_decide(&rr, NOON_0917, "u", "h");
    ck_assert_int_eq(rr.verdict, V_FAIL);
    ck_assert(!unit("db")->overridden);
}
END_TEST

START_TEST(audit_line)
{
    char path[] = "/tmp/gpcheck-audit-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    bypass b = active_bypass(1);
    b.audit_log = path;
    rr.bypass = &b;
    runs[3].status = ST_FAIL;
    gate_decide(&rr, NOON_0917, "alice", "ci-7");
    ck_assert_int_eq(rr.verdict, V_BYPASSED);
    json_error_t jerr;
    json_t *line = json_load_file(path, JSON_DISABLE_EOF_CHECK, &jerr);
    ck_assert_msg(line != NULL, "%s", jerr.text);
    ck_assert_str_eq(json_string_value(json_object_get(line, "time")),
                     "2025-09-17T12:00:00Z");
    ck_assert_str_eq(json_string_value(json_object_get(line, "env")),
                     "staging");
    ck_assert_str_eq(json_string_value(json_object_get(line, "reason")),
                     "INC-1278");
    ck_assert_str_eq(json_string_value(json_object_get(line, "user")), "alice");
    ck_assert_str_eq(json_string_value(json_object_get(line, "host")), "ci-7");
    ck_assert_str_eq(json_string_value(json_array_get(
                         json_object_get(line, "overridden"), 0)),
                     "db");
    json_decref(line);
    unlink(path);
}
END_TEST

START_TEST(audit_failure_fails_the_run)
{
    bypass b = active_bypass(1);
    b.audit_log = "/nonexistent-dir/audit.log";
    rr.bypass = &b;
    runs[3].status = ST_FAIL;
    gate_decide(&rr, NOON_0917, "u", "h");
    ck_assert_int_eq(rr.verdict, V_FAIL);
    ck_assert_int_eq(rr.exit_code, 1);
    ck_assert_ptr_nonnull(rr.dec.audit_error);
    ck_assert_ptr_nonnull(strstr(rr.dec.rule, "never silent"));
}
END_TEST

START_TEST(deadline_exit_code)
{
    runs[3].status = ST_TIMEOUT;
    runs[3].cut_by_deadline = 1;
    gate_decide(&rr, NOON_0917, "u", "h");
    ck_assert_int_eq(rr.exit_code, 124);
    decision_free(&rr.dec);
    /* cut, but inside a group that still has its need: verdict known */
    runs[3].status = ST_OK;
    runs[3].cut_by_deadline = 0;
    runs[0].status = ST_TIMEOUT;
    runs[0].cut_by_deadline = 1;
    gate_decide(&rr, NOON_0917, "u", "h");
    ck_assert_int_eq(rr.exit_code, 0);
}
END_TEST

START_TEST(thresholds_on_an_attempt)
{
    static const gp_metric m[] = {
        {.name = "pool_usage", .unit = GP_UNIT_PERCENT},
        {.name = "connections", .unit = GP_UNIT_COUNT}};
    probe_def d = {.name = "pg"};
    char err[128];
    ck_assert_int_eq(threshold_parse("pool_usage > 80%", TH_WARN, m, 2,
                                     &d.conds, &d.n_conds, err, sizeof err),
                     0);
    ck_assert_int_eq(threshold_parse("pool_usage >= 90%, connections > 100",
                                     TH_FAIL, m, 2, &d.conds, &d.n_conds, err,
                                     sizeof err),
                     0);
    metric_val mv[] = {{.decl = &m[0], .value = 85}};
    attempt_rec rec = {.metrics = mv, .n_metrics = 1};
    probe_run pr = {.def = &d, .history = &rec, .n_history = 1};
    th_eval ev[3];
    ck_assert_int_eq(gate_thresholds(&pr, &rec, ev), TH_WARN);
    ck_assert(ev[0].fired && ev[0].reported);
    ck_assert(!ev[1].fired);
    ck_assert(!ev[2].reported); /* connections not reported: not fired */
    char *t = gate_breach_text(ev, 3, TH_WARN);
    ck_assert_str_eq(t, "warn_if pool_usage > 80%: pool_usage is 85%");
    free(t);
    mv[0].value = 90;
    ck_assert_int_eq(gate_thresholds(&pr, &rec, ev), TH_FAIL);
    mv[0].value = 10;
    ck_assert_int_eq(gate_thresholds(&pr, &rec, ev), TH_NONE);
    ck_assert_ptr_null(gate_breach_text(ev, 3, TH_WARN));
    threshold_free(d.conds, d.n_conds);
}
END_TEST

/* ready_after, attempts and duration: measured by the core for any probe,
 * from the probe's start and the attempt's own times, plugin metrics or
 * not. */
START_TEST(thresholds_on_core_metrics)
{
    probe_def d = {.name = "vpc"};
    char err[128];
    ck_assert_int_eq(threshold_parse("ready_after > 30s, attempts >= 4, "
                                     "duration > 500ms",
                                     TH_WARN, NULL, 0, &d.conds, &d.n_conds,
                                     err, sizeof err),
                     0);
    ck_assert_double_eq(d.conds[0].value, 30000);
    attempt_rec hist[3] = {0};
    attempt_rec *rec = &hist[2];
    /* probe started at 1 s; the ready attempt ran from 31.2 s to 31.5 s */
    rec->start_ns = 31200 * NS_PER_MS;
    rec->end_ns = 31500 * NS_PER_MS;
    probe_run pr = {.def = &d,
                    .history = hist,
                    .n_history = 3,
                    .start_ns = 1000 * NS_PER_MS};
    th_eval ev[3];
    ck_assert_int_eq(gate_thresholds(&pr, rec, ev), TH_WARN);
    ck_assert(ev[0].reported && ev[0].fired);
    ck_assert_double_eq_tol(ev[0].value, 30500, 1e-6);
    ck_assert(ev[1].reported && !ev[1].fired);
    ck_assert_double_eq(ev[1].value, 3);
    ck_assert(ev[2].reported && !ev[2].fired);
    ck_assert_double_eq_tol(ev[2].value, 300, 1e-6);
    char *t = gate_breach_text(ev, 3, TH_WARN);
    ck_assert_str_eq(t, "warn_if ready_after > 30s: ready_after is 30.5s");
    free(t);
    /* ready_after fired alone: another attempt cannot heal it */
    ck_assert(!gate_breach_retryable(ev, 3));
    ev[2].fired = 1; /* a duration breach may heal */
    ck_assert(gate_breach_retryable(ev, 3));
    pr.start_ns = 10000 * NS_PER_MS; /* ready 21.5 s after its start */
    ck_assert_int_eq(gate_thresholds(&pr, rec, ev), TH_NONE);
    threshold_free(d.conds, d.n_conds);
}
END_TEST

/* Every name of GP_CORE_METRICS has a value in gate.c: a name added to the
 * list without its measurement would never fire. */
START_TEST(core_metrics_all_measured)
{
    size_t n;
    const gp_metric *cm = threshold_core_metrics(&n);
    ck_assert_uint_eq(n, 3);
    for (size_t i = 0; i < n; i++) {
        probe_def d = {.name = "p"};
        char err[128], text[64];
        snprintf(text, sizeof text, "%s >= 0", cm[i].name);
        ck_assert_int_eq(threshold_parse(text, TH_FAIL, NULL, 0, &d.conds,
                                         &d.n_conds, err, sizeof err),
                         0);
        attempt_rec rec = {.start_ns = 1, .end_ns = 2};
        probe_run pr = {.def = &d, .history = &rec, .n_history = 1};
        th_eval ev[1];
        gate_thresholds(&pr, &rec, ev);
        ck_assert_msg(ev[0].reported, "core metric %s not measured",
                      cm[i].name);
        threshold_free(d.conds, d.n_conds);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("decide");
    TCase *tc = tcase_create("gate");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, group_need_arithmetic);
    tcase_add_test(tc, two_of_three);
    tcase_add_test(tc, group_fails_below_need);
    tcase_add_test(tc, group_warn_and_optional);
    tcase_add_test(tc, bypass_overrides_in_scope);
    tcase_add_test(tc, inactive_bypass_changes_nothing);
    tcase_add_test(tc, audit_line);
    tcase_add_test(tc, audit_failure_fails_the_run);
    tcase_add_test(tc, deadline_exit_code);
    tcase_add_test(tc, thresholds_on_an_attempt);
    tcase_add_test(tc, thresholds_on_core_metrics);
    tcase_add_test(tc, core_metrics_all_measured);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
