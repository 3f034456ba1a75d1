/* tests/unit/test_threshold.c - warn_if / fail_if: parsing against a
 * metric schema (units that fit, units that don't, malformed conditions)
 * and evaluation. */
#include <check.h>
#include <string.h>

#include "threshold.h"
#include "unit.h"
#include "util.h"

static const gp_metric metrics[] = {
    {.name = "connect_time", .unit = GP_UNIT_MS},
    {.name = "pool_usage", .unit = GP_UNIT_PERCENT},
    {.name = "used_memory", .unit = GP_UNIT_BYTES},
    {.name = "answers", .unit = GP_UNIT_COUNT},
    {.name = "server_version", .unit = GP_UNIT_NONE},
};
#define N_METRICS (sizeof metrics / sizeof *metrics)

static threshold *v;
static size_t n;
static char err[256];

static void setup(void)
{
    v = NULL;
    n = 0;
    err[0] = '\0';
}

static void teardown(void)
{
    threshold_free(v, n);
}

static int parse(const char *text, th_level level)
{
    return threshold_parse(text, level, metrics, N_METRICS, &v, &n, err,
                           sizeof err);
}

START_TEST(units_that_fit)
{
    ck_assert_int_eq(parse("connect_time > 500ms, connect_time >= 2s, "
                           "connect_time < 1m30s, connect_time <= 250",
                           TH_FAIL),
                     0);
    ck_assert_uint_eq(n, 4);
    ck_assert_double_eq(v[0].value, 500);
    ck_assert_int_eq(v[0].op, TH_GT);
    ck_assert_double_eq(v[1].value, 2000);
    ck_assert_int_eq(v[1].op, TH_GE);
    ck_assert_double_eq(v[2].value, 90000);
    ck_assert_int_eq(v[2].op, TH_LT);
    ck_assert_double_eq(v[3].value, 250); /* bare number: ms */
    ck_assert_int_eq(v[3].op, TH_LE);
    ck_assert_int_eq(v[0].level, TH_FAIL);
    ck_assert_ptr_eq(v[0].metric, &metrics[0]);

    ck_assert_int_eq(parse("pool_usage >= 90%, pool_usage != 12.5", TH_WARN),
                     0);
    ck_assert_double_eq(v[4].value, 90);
    ck_assert_int_eq(v[5].op, TH_NE);
    ck_assert_double_eq(v[5].value, 12.5);
    ck_assert_str_eq(v[4].text, "pool_usage >= 90%");

    ck_assert_int_eq(parse("used_memory > 512MB, used_memory > 1GiB, "
                           "used_memory>=10 KB, used_memory == 7",
                           TH_WARN),
                     0);
    ck_assert_double_eq(v[6].value, 512e6);
    ck_assert_double_eq(v[7].value, 1073741824.0);
    ck_assert_double_eq(v[8].value, 10e3);
    ck_assert_int_eq(v[9].op, TH_EQ);

    ck_assert_int_eq(parse("answers < 1, server_version < 150000", TH_FAIL), 0);
    ck_assert_uint_eq(n, 12);
}
END_TEST

START_TEST(units_that_do_not_fit)
{
    ck_assert_int_eq(parse("answers > 2s", TH_WARN), -1);
    ck_assert_ptr_nonnull(strstr(err, "does not fit metric 'answers'"));
    ck_assert_int_eq(parse("pool_usage > 2s", TH_WARN), -1);
    ck_assert_ptr_nonnull(strstr(err, "percent"));
    ck_assert_int_eq(parse("connect_time > 90%", TH_WARN), -1);
    ck_assert_ptr_nonnull(strstr(err, "(ms)"));
    ck_assert_int_eq(parse("used_memory > 5s", TH_WARN), -1);
    ck_assert_ptr_nonnull(strstr(err, "bytes"));
    ck_assert_int_eq(parse("connect_time > 5parsecs", TH_WARN), -1);
    ck_assert_uint_eq(n, 0); /* nothing appended on error */
}
END_TEST

START_TEST(malformed_and_unknown)
{
    const char *bad[] = {
        "pool_usage",      "pool_usage 90%",   "> 5", "pool_usage >",
        "pool_usage => 5", "pool_usage > abc", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(parse(bad[i], TH_FAIL) == -1, "accepted '%s'", bad[i]);
        ck_assert_uint_eq(n, 0);
    }
    ck_assert_int_eq(parse("pool_usge > 5%", TH_FAIL), -1);
    ck_assert_str_eq(err, "unknown metric 'pool_usge' (did you mean "
                          "'pool_usage'?)");
    ck_assert_int_eq(parse("latency > 5ms", TH_FAIL), -1);
    ck_assert_ptr_nonnull(strstr(err, "the plugin reports: connect_time"));
    /* one bad condition spoils the list */
    ck_assert_int_eq(parse("pool_usage > 5%, nope > 1", TH_FAIL), -1);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(evaluation)
{
    ck_assert_int_eq(parse("pool_usage > 80%, pool_usage >= 90%, "
                           "pool_usage < 10%, pool_usage <= 10%, "
                           "pool_usage == 50%, pool_usage != 50%",
                           TH_FAIL),
                     0);
    ck_assert(!threshold_holds(&v[0], 80));
    ck_assert(threshold_holds(&v[0], 80.01));
    ck_assert(threshold_holds(&v[1], 90));
    ck_assert(!threshold_holds(&v[1], 89.99));
    ck_assert(threshold_holds(&v[2], 9.9));
    ck_assert(!threshold_holds(&v[2], 10));
    ck_assert(threshold_holds(&v[3], 10));
    ck_assert(threshold_holds(&v[4], 50));
    ck_assert(!threshold_holds(&v[4], 50.5));
    ck_assert(threshold_holds(&v[5], 50.5));
    ck_assert(!threshold_holds(&v[5], 50));
}
END_TEST

/* The core's metrics parse for any probe, durations with units; a
 * plugin's own metric of the same name (an ABI 1.2 plugin's) wins. */
START_TEST(core_metrics)
{
    ck_assert_int_eq(
        parse("ready_after > 30s, attempts > 3, duration >= 2s", TH_WARN), 0);
    ck_assert_ptr_eq(v[0].metric, threshold_core_metric("ready_after"));
    ck_assert(threshold_is_core(v[0].metric));
    ck_assert_double_eq(v[0].value, 30000);
    ck_assert_double_eq(v[1].value, 3);
    ck_assert_double_eq(v[2].value, 2000);
    ck_assert_int_eq(parse("attempts > 3s", TH_WARN), -1);
    ck_assert_ptr_nonnull(strstr(err, "does not fit metric 'attempts'"));
    ck_assert_int_eq(parse("ready_afer > 30s", TH_WARN), -1);
    ck_assert_ptr_nonnull(strstr(err, "did you mean 'ready_after'"));
    ck_assert_int_eq(parse("nothing_like_it > 1", TH_WARN), -1);
    ck_assert_ptr_nonnull(
        strstr(err, "the core measures: ready_after, attempts, duration"));
    static const gp_metric own[] = {
        {.name = "duration", .unit = GP_UNIT_COUNT}};
    threshold *w = NULL;
    size_t nw = 0;
    ck_assert_int_eq(threshold_parse("duration > 5", TH_FAIL, own, 1, &w, &nw,
                                     err, sizeof err),
                     0);
    ck_assert_ptr_eq(w[0].metric, &own[0]);
    ck_assert(!threshold_is_core(w[0].metric));
    threshold_free(w, nw);
}
END_TEST

START_TEST(formatting)
{
    char buf[64];
    threshold_format(&metrics[0], 1234.5, buf, sizeof buf);
    ck_assert_str_eq(buf, "1.23s");
    threshold_format(&metrics[0], 12.5, buf, sizeof buf);
    ck_assert_str_eq(buf, "12.5ms");
    threshold_format(&metrics[1], 92.34, buf, sizeof buf);
    ck_assert_str_eq(buf, "92.3%");
    threshold_format(&metrics[3], 3, buf, sizeof buf);
    ck_assert_str_eq(buf, "3");
    ck_assert_str_eq(th_level_name(TH_WARN), "warn_if");
    ck_assert_str_eq(th_level_name(TH_FAIL), "fail_if");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("threshold");
    TCase *tc = tcase_create("conditions");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, units_that_fit);
    tcase_add_test(tc, units_that_do_not_fit);
    tcase_add_test(tc, malformed_and_unknown);
    tcase_add_test(tc, evaluation);
    tcase_add_test(tc, formatting);
    tcase_add_test(tc, core_metrics);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
