/* plugins/prometheus/test_answer.c - Prometheus answers judged
 * (answer.c): one number from a vector or a scalar, empty, NaN and Inf,
 * several series with their labels, range vectors, query errors as
 * Prometheus 2.42 writes them, refusals, busy servers, garbage; and the
 * outcome of each, with on_empty and the warmup. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "answer.h"

static prom_answer a;

static void judge(long status, const char *body)
{
    prom_judge(status, body, body ? strlen(body) : 0, &a);
}

START_TEST(one_number)
{
    judge(200, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
               "\"result\":[{\"metric\":{\"connector_name\":\"staging\"},"
               "\"value\":[1764590000.123,\"42.5\"]}]}}");
    ck_assert_int_eq(a.kind, PROM_VALUE);
    ck_assert_double_eq(a.value, 42.5);
    ck_assert_str_eq(a.text, "{connector_name=\"staging\"}");
    /* a label with control characters is shown as one printable line
     * (found by tests/fuzz/fuzz_prometheus_answer.c) */
    judge(200, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
               "\"result\":[{\"metric\":{\"a\\u007fb\":\"x\\ny\"},"
               "\"value\":[1,\"2.5\"]}]}}");
    ck_assert_int_eq(a.kind, PROM_VALUE);
    ck_assert_str_eq(a.text, "{a b=\"x y\"}");
    judge(200, "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
               "\"result\":[1764590000,\"1e+02\"]}}");
    ck_assert_int_eq(a.kind, PROM_VALUE);
    ck_assert_double_eq(a.value, 100);
    double v = -1;
    ck_assert_int_eq(prom_outcome(&a, PROM_EMPTY_WARMUP, 0, &v), GP_READY);
    ck_assert_double_eq(v, 100);
}
END_TEST

START_TEST(empty_nan_inf)
{
    double v = -1;
    judge(200, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
               "\"result\":[]}}");
    ck_assert_int_eq(a.kind, PROM_EMPTY);
    ck_assert_int_eq(prom_outcome(&a, PROM_EMPTY_WARMUP, 1, &v), GP_TRANSIENT);
    ck_assert_int_eq(prom_outcome(&a, PROM_EMPTY_WARMUP, 0, &v), GP_FATAL);
    ck_assert_int_eq(prom_outcome(&a, PROM_EMPTY_TRANSIENT, 0, &v),
                     GP_TRANSIENT);
    ck_assert_int_eq(prom_outcome(&a, PROM_EMPTY_FATAL, 1, &v), GP_FATAL);
    ck_assert_int_eq(prom_outcome(&a, PROM_EMPTY_ZERO, 0, &v), GP_READY);
    ck_assert_double_eq(v, 0);
    judge(200, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
               "\"result\":[{\"metric\":{},\"value\":[1,\"NaN\"]}]}}");
    ck_assert_int_eq(a.kind, PROM_NAN);
    ck_assert_int_eq(prom_outcome(&a, PROM_EMPTY_WARMUP, 0, &v), GP_FATAL);
    ck_assert_int_eq(prom_outcome(&a, PROM_EMPTY_WARMUP, 1, &v), GP_TRANSIENT);
    judge(200, "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
               "\"result\":[1,\"+Inf\"]}}");
    ck_assert_int_eq(a.kind, PROM_INF);
    ck_assert(isinf(a.value) && a.value > 0);
    ck_assert_int_eq(prom_outcome(&a, PROM_EMPTY_ZERO, 1, &v), GP_FATAL);
}
END_TEST

START_TEST(several_series_say_which)
{
    judge(200, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
               "\"result\":[{\"metric\":{\"__name__\":\"up\",\"job\":\"a\"},"
               "\"value\":[1,\"1\"]},{\"metric\":{\"__name__\":\"up\","
               "\"job\":\"b\",\"instance\":\"x:1\"},\"value\":[1,\"0\"]},"
               "{\"metric\":{},\"value\":[1,\"0\"]}]}}");
    ck_assert_int_eq(a.kind, PROM_MANY);
    ck_assert_uint_eq(a.n_series, 3);
    ck_assert_str_eq(a.text,
                     "up{job=\"a\"}, up{job=\"b\", instance=\"x:1\"}, ...");
    double v;
    ck_assert_int_eq(prom_outcome(&a, PROM_EMPTY_WARMUP, 1, &v), GP_FATAL);
}
END_TEST

START_TEST(errors_refusals_and_garbage)
{
    double v;
    /* Prometheus 2.42 on a parse error */
    judge(400, "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":"
               "\"invalid parameter \\\"query\\\": 1:5: parse error: "
               "unexpected \\\"(\\\"\"}");
    ck_assert_int_eq(a.kind, PROM_QUERY_ERROR);
    ck_assert_str_eq(a.text, "bad_data: invalid parameter \"query\": 1:5: "
                             "parse error: unexpected \"(\"");
    ck_assert_int_eq(prom_outcome(&a, PROM_EMPTY_WARMUP, 1, &v), GP_FATAL);
    judge(422, "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":"
               "\"many-to-many matching not allowed\"}");
    ck_assert_int_eq(a.kind, PROM_QUERY_ERROR);
    judge(503, "{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":"
               "\"query timed out in expression evaluation\"}");
    ck_assert_int_eq(a.kind, PROM_BUSY);
    ck_assert_int_eq(prom_outcome(&a, PROM_EMPTY_WARMUP, 0, &v), GP_TRANSIENT);
    judge(502, "<html>bad gateway</html>");
    ck_assert_int_eq(a.kind, PROM_BUSY);
    judge(401, "Unauthorized\n");
    ck_assert_int_eq(a.kind, PROM_AUTH);
    ck_assert_ptr_nonnull(strstr(a.text, "Unauthorized"));
    ck_assert_int_eq(prom_outcome(&a, PROM_EMPTY_WARMUP, 1, &v), GP_FATAL);
    judge(403, "{\"error\":{\"code\":403,\"message\":\"Permission "
               "monitoring.timeSeries.list denied\",\"status\":"
               "\"PERMISSION_DENIED\"}}");
    ck_assert_int_eq(a.kind, PROM_AUTH);
    ck_assert_str_eq(a.text, "PERMISSION_DENIED: Permission "
                             "monitoring.timeSeries.list denied");
    judge(404, "404 page not found");
    ck_assert_int_eq(a.kind, PROM_NOT_FOUND);
    judge(200, "<html>\x01oops");
    ck_assert_int_eq(a.kind, PROM_GARBAGE);
    ck_assert_str_eq(a.text, "not JSON: <html> oops");
    judge(200, "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\","
               "\"result\":[]}}");
    ck_assert_int_eq(a.kind, PROM_BAD_TYPE);
    ck_assert_ptr_nonnull(strstr(a.text, "range vector"));
    judge(200, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
               "\"result\":[{\"value\":[1,\"12abc\"]}]}}");
    ck_assert_int_eq(a.kind, PROM_GARBAGE);
    judge(200, NULL);
    ck_assert_int_eq(a.kind, PROM_GARBAGE);
    judge(302, "");
    ck_assert_int_eq(a.kind, PROM_OTHER);
    ck_assert_int_eq(prom_outcome(&a, PROM_EMPTY_WARMUP, 1, &v), GP_FATAL);
}
END_TEST

START_TEST(on_empty_values)
{
    prom_on_empty e;
    ck_assert_int_eq(prom_parse_on_empty(NULL, &e), 0);
    ck_assert_int_eq(e, PROM_EMPTY_WARMUP);
    ck_assert_int_eq(prom_parse_on_empty("zero", &e), 0);
    ck_assert_int_eq(e, PROM_EMPTY_ZERO);
    ck_assert_int_eq(prom_parse_on_empty("Zero", &e), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("prometheus_answer");
    TCase *tc = tcase_create("answer");
    tcase_add_test(tc, one_number);
    tcase_add_test(tc, empty_nan_inf);
    tcase_add_test(tc, several_series_say_which);
    tcase_add_test(tc, errors_refusals_and_garbage);
    tcase_add_test(tc, on_empty_values);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
