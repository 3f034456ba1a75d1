/* tests/unit/test_verdict.c - the verdict rule gate_decide() folds over a
 * run's units (verdict_of_unit, verdict_worst), and exit statuses. */
#include <check.h>
#include <stdlib.h>

#include "unit.h"
#include "verdict.h"

#define R SEV_REQUIRED
#define O SEV_OPTIONAL

/* The fold core/gate.c makes over a run's units. */
static verdict of(const severity *sev, const probe_status *st, size_t n)
{
    verdict v = V_PASS;
    for (size_t i = 0; i < n; i++)
        v = verdict_worst(v, verdict_of_unit(sev[i], st[i]));
    return v;
}

START_TEST(test_all_ok_is_pass)
{
    severity sev[] = {R, R, O};
    probe_status st[] = {ST_OK, ST_OK, ST_OK};
    ck_assert_int_eq(of(sev, st, 3), V_PASS);
    ck_assert_int_eq(of(sev, st, 0), V_PASS);
}
END_TEST

START_TEST(test_required_warn_is_degraded)
{
    severity sev[] = {R, R};
    probe_status st[] = {ST_OK, ST_WARN};
    ck_assert_int_eq(of(sev, st, 2), V_DEGRADED);
}
END_TEST

START_TEST(test_optional_failures_degrade)
{
    probe_status bad[] = {ST_WARN, ST_FAIL, ST_TIMEOUT, ST_ERROR, ST_SKIPPED};
    for (size_t i = 0; i < 5; i++) {
        severity sev[] = {R, O};
        probe_status st[] = {ST_OK, bad[i]};
        ck_assert_int_eq(of(sev, st, 2), V_DEGRADED);
    }
}
END_TEST

START_TEST(test_required_failures_fail)
{
    probe_status bad[] = {ST_FAIL, ST_TIMEOUT, ST_ERROR, ST_SKIPPED};
    for (size_t i = 0; i < 4; i++) {
        severity sev[] = {O, R, R};
        probe_status st[] = {ST_OK, ST_WARN, bad[i]};
        ck_assert_int_eq(of(sev, st, 3), V_FAIL);
    }
}
END_TEST

/* The combining order, pass < degraded < fail, whatever the order of the
 * units. */
START_TEST(test_worst_is_order_free)
{
    verdict all[] = {V_PASS, V_DEGRADED, V_FAIL};
    for (size_t a = 0; a < 3; a++)
        for (size_t b = 0; b < 3; b++) {
            verdict w = verdict_worst(all[a], all[b]);
            ck_assert_int_eq(w, verdict_worst(all[b], all[a]));
            ck_assert_int_eq(w, all[a > b ? a : b]);
        }
}
END_TEST

START_TEST(test_exit_codes)
{
    ck_assert_int_eq(verdict_exit_code(V_PASS, 0, 0), 0);
    ck_assert_int_eq(verdict_exit_code(V_DEGRADED, 0, 0), 0);
    ck_assert_int_eq(verdict_exit_code(V_BYPASSED, 0, 0), 0);
    ck_assert_int_eq(verdict_exit_code(V_FAIL, 0, 0), 1);
    ck_assert_int_eq(verdict_exit_code(V_FAIL, 1, 0), 124);
    /* a deadline that cut only optional probes leaves the verdict known */
    ck_assert_int_eq(verdict_exit_code(V_DEGRADED, 0, 0), 0);
    ck_assert_int_eq(verdict_exit_code(V_FAIL, 1, 2), 130);
    ck_assert_int_eq(verdict_exit_code(V_PASS, 0, 15), 143);
}
END_TEST

START_TEST(test_names)
{
    ck_assert_str_eq(status_name(ST_OK), "ok");
    ck_assert_str_eq(status_name(ST_WARN), "warn");
    ck_assert_str_eq(status_name(ST_FAIL), "fail");
    ck_assert_str_eq(status_name(ST_TIMEOUT), "timeout");
    ck_assert_str_eq(status_name(ST_ERROR), "error");
    ck_assert_str_eq(status_name(ST_SKIPPED), "skipped");
    ck_assert_str_eq(verdict_name(V_PASS), "pass");
    ck_assert_str_eq(verdict_name(V_DEGRADED), "degraded");
    ck_assert_str_eq(verdict_name(V_FAIL), "fail");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("verdict");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, test_all_ok_is_pass);
    tcase_add_test(tc, test_required_warn_is_degraded);
    tcase_add_test(tc, test_optional_failures_degrade);
    tcase_add_test(tc, test_required_failures_fail);
    tcase_add_test(tc, test_worst_is_order_free);
    tcase_add_test(tc, test_exit_codes);
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
