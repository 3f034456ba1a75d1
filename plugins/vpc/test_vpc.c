/*
 * plugins/vpc/test_vpc.c - unit test of the vpc probe's pure parts:
 * `targets` entries parsed, failed targets summed up in one line,
 * connector names and tokens judged, and Serverless VPC Access API answers
 * (HTTP status and body) mapped to an outcome, a message and the sizing
 * metrics; Cloud Monitoring's projects.timeSeries.list answers read into
 * the connector's load. Bodies are the APIs' own JSON forms (Connector
 * resources, ListTimeSeriesResponse, Google API errors).
 */
#include <check.h>
#include <string.h>

#include "unit.h"
#include "vpc.h"

static const char *NAME = "projects/p/locations/europe-west1/connectors/c";

START_TEST(targets_parse)
{
    vpc_target t;

    memset(&t, 0, sizeof t);
    ck_assert_ptr_null(vpc_parse_target("10.0.0.5:6379", &t));
    ck_assert_str_eq(t.host, "10.0.0.5");
    ck_assert_str_eq(t.port, "6379");
    ck_assert_str_eq(t.spec, "10.0.0.5:6379");
    ck_assert_ptr_null(vpc_parse_target("[fd00::5]:443", &t));
    ck_assert_str_eq(t.host, "fd00::5");
    ck_assert_str_eq(t.port, "443");
    ck_assert_ptr_null(vpc_parse_target("redis.internal:00080", &t));
    ck_assert_str_eq(t.port, "80");

    ck_assert_str_eq(vpc_parse_target("fd00::5:443", &t),
                     "IPv6 addresses are written [addr]:port");
    ck_assert_str_eq(vpc_parse_target("[fd00::5]443", &t),
                     "IPv6 addresses are written [addr]:port");
    ck_assert_str_eq(vpc_parse_target("db", &t), "no :port");
    ck_assert_str_eq(vpc_parse_target(":80", &t), "bad host");
    ck_assert_str_eq(vpc_parse_target("db:", &t), "bad port");
    ck_assert_str_eq(vpc_parse_target("db:8x", &t), "bad port");
    ck_assert_str_eq(vpc_parse_target("db:123456", &t), "bad port");
    ck_assert_str_eq(vpc_parse_target("db:0", &t),
                     "port out of range (1-65535)");
    ck_assert_str_eq(vpc_parse_target("db:65536", &t),
                     "port out of range (1-65535)");
}
END_TEST

START_TEST(failures_summed_up)
{
    vpc_target t[4];
    char out[200];

    memset(t, 0, sizeof t);
    t[0].spec = "10.0.0.5:6379", t[0].refused = 3;
    t[1].spec = "10.0.0.6:5432", t[1].ok = 2, t[1].timed_out = 1;
    t[2].spec = "10.0.0.7:80", t[2].ok = 3;
    t[3].spec = "db.internal:5432";
    snprintf(t[3].resolve_error, sizeof t[3].resolve_error,
             "resolving db.internal timed out after 1.0s");
    vpc_describe_failures(t, 4, 3, out, sizeof out);
    ck_assert_str_eq(out, "10.0.0.5:6379 refused 3/3, 10.0.0.6:5432 timed "
                          "out 1/3, db.internal:5432 resolving db.internal "
                          "timed out after 1.0s");

    memset(t, 0, sizeof t);
    t[0].spec = "10.0.0.5:1", t[0].refused = 1, t[0].timed_out = 1;
    t[0].other = 1, t[0].other_errno = 113; /* EHOSTUNREACH */
    vpc_describe_failures(t, 1, 3, out, sizeof out);
    ck_assert_str_eq(out, "10.0.0.5:1 3/3 failed (refused 1, timed out 1, "
                          "No route to host 1)");

    /* All fine: nothing to say. Too much to say: cut, with "...". */
    t[0] = (vpc_target){.spec = "a:1", .ok = 3};
    vpc_describe_failures(t, 1, 3, out, sizeof out);
    ck_assert_str_eq(out, "");
    for (int i = 0; i < 4; i++)
        t[i] = (vpc_target){.spec = "a-rather-long-target-name.internal:5432",
                            .refused = 3};
    vpc_describe_failures(t, 4, 3, out, 64);
    ck_assert_uint_eq(strlen(out), 63);
    ck_assert_str_eq(out + 60, "...");
}
END_TEST

START_TEST(connector_names_and_tokens)
{
    ck_assert(vpc_connector_name_ok(NAME));
    ck_assert(vpc_connector_name_ok("projects/my-proj_1/locations/us-c1/"
                                    "connectors/a.b~c"));
    ck_assert(!vpc_connector_name_ok("projects/p/locations/l/connectors/"));
    ck_assert(!vpc_connector_name_ok("projects/p/locations/l/connectors/c/x"));
    ck_assert(!vpc_connector_name_ok("projects/p/locations/l/connector/c"));
    ck_assert(!vpc_connector_name_ok("projects/p/x/../connectors/c"));
    ck_assert(!vpc_connector_name_ok("projects/p?x/locations/l/connectors/c"));
    ck_assert(!vpc_connector_name_ok(""));

    ck_assert(gcp_token_ok("ya29.a0AfH6SMB-x_y"));
    ck_assert(!gcp_token_ok(""));
    ck_assert(!gcp_token_ok("two words"));
    ck_assert(!gcp_token_ok("tok\r\nX-Injected: 1"));
    ck_assert(!gcp_token_ok("caf\xc3\xa9"));
}
END_TEST

/* Judge a 200 answer with this body. */
static gp_outcome judge(const char *body, const char *expect_mt, vpc_sizing *sz,
                        vpc_part *res)
{
    vpc_judge_answer(200, body, strlen(body), NAME, expect_mt, sz, res);
    return res->outcome;
}

START_TEST(connector_states)
{
    static const char ready[] =
        "{\"name\": \"projects/p/locations/europe-west1/connectors/c\", "
        "\"network\": \"default\", \"ipCidrRange\": \"10.8.0.0/28\", "
        "\"state\": \"READY\", \"minThroughput\": 200, "
        "\"maxThroughput\": 1000, \"machineType\": \"e2-micro\", "
        "\"minInstances\": 2, \"maxInstances\": \"10\"}";
    static const struct {
        const char *state;
        gp_outcome outcome;
        const char *text;
    } states[] = {
        {"CREATING", GP_TRANSIENT, "is CREATING"},
        {"UPDATING", GP_TRANSIENT, "is UPDATING"},
        {"ERROR", GP_FATAL, "in state ERROR"},
        {"DELETING", GP_FATAL, "being deleted"},
        {"STATE_UNSPECIFIED", GP_UNKNOWN, "unknown to this probe"},
    };
    vpc_sizing sz;
    vpc_part res;
    char body[256];

    ck_assert_int_eq(judge(ready, NULL, &sz, &res), GP_READY);
    ck_assert_str_eq(res.text, "connector projects/p/locations/europe-west1/"
                               "connectors/c READY (network default, "
                               "10.8.0.0/28, e2-micro, 2-10 instances, "
                               "200-1000 Mbps)");
    /* Numbers, and proto3 JSON's strings of digits, become metrics. */
    for (int i = 0; i < VPC_SIZING_FIELDS; i++)
        ck_assert(sz.has[i]);
    ck_assert_double_eq(sz.value[0], 2);
    ck_assert_double_eq(sz.value[1], 10);
    ck_assert_double_eq(sz.value[3], 1000);
    ck_assert_str_eq(vpc_sizing_metric[1], "max_instances");

    ck_assert_int_eq(judge(ready, "e2-micro", &sz, &res), GP_READY);
    ck_assert_int_eq(judge(ready, "e2-standard-4", &sz, &res), GP_FATAL);
    ck_assert_ptr_nonnull(strstr(res.text, "machine type is e2-micro, "
                                           "expected e2-standard-4"));

    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        snprintf(body, sizeof body, "{\"state\": \"%s\"}", states[i].state);
        ck_assert_int_eq(judge(body, NULL, &sz, &res), states[i].outcome);
        ck_assert_msg(strstr(res.text, states[i].text), "%s", res.text);
        for (int k = 0; k < VPC_SIZING_FIELDS; k++)
            ck_assert(!sz.has[k]);
    }
    /* A sizing field that is no number is left out, not read as 0. */
    ck_assert_int_eq(judge("{\"state\": \"READY\", \"minInstances\": \"2x\", "
                           "\"maxInstances\": 3}",
                           NULL, &sz, &res),
                     GP_READY);
    ck_assert(!sz.has[0]);
    ck_assert(sz.has[1]);
    ck_assert_ptr_null(strstr(res.text, "instances"));
}
END_TEST

START_TEST(answers_that_are_no_connector)
{
    vpc_sizing sz;
    vpc_part res;

    ck_assert_int_eq(judge("{\"name\": \"x\"}", NULL, &sz, &res), GP_FATAL);
    ck_assert_ptr_nonnull(strstr(res.text, "not a Connector (no state)"));
    ck_assert_int_eq(judge("<html>captive portal</html>", NULL, &sz, &res),
                     GP_FATAL);
    ck_assert_ptr_nonnull(strstr(res.text, "not a Connector"));
    ck_assert_ptr_nonnull(strstr(res.text, "<html>captive portal</html>"));
    ck_assert_int_eq(judge("[1, 2]", NULL, &sz, &res), GP_FATAL);
}
END_TEST

START_TEST(api_errors_by_status)
{
    static const char err[] =
        "{\"error\": {\"code\": 403, \"message\": \"Permission denied on\\n"
        "resource\", \"status\": \"PERMISSION_DENIED\"}}";
    static const struct {
        long status;
        gp_outcome outcome;
        const char *text;
    } cases[] = {
        {404, GP_FATAL, "not found (404)"},
        {401, GP_FATAL, "refused the token (401)"},
        {403, GP_FATAL, "refused the token (403)"},
        {429, GP_TRANSIENT, "answered 429"},
        {500, GP_TRANSIENT, "answered 500"},
        {503, GP_TRANSIENT, "answered 503"},
        {400, GP_FATAL, "answered 400"},
        {302, GP_FATAL, "answered 302"},
    };
    vpc_sizing sz;
    vpc_part res;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vpc_judge_answer(cases[i].status, err, strlen(err), NAME, NULL, &sz,
                         &res);
        ck_assert_int_eq(res.outcome, cases[i].outcome);
        ck_assert_msg(strstr(res.text, cases[i].text), "%s", res.text);
        /* Google's error, on one line. */
        ck_assert_msg(strstr(res.text, "PERMISSION_DENIED: Permission "
                                       "denied on resource"),
                      "%s", res.text);
    }
    /* A body that is no Google error: its start, on one line. */
    vpc_judge_answer(502, "Bad\tGateway\n", 12, NAME, NULL, &sz, &res);
    ck_assert_int_eq(res.outcome, GP_TRANSIENT);
    ck_assert_ptr_nonnull(strstr(res.text, "answered 502: Bad Gateway "));
}
END_TEST

START_TEST(scrub_masks_the_token)
{
    char buf[128] = "Bearer ya29.secret-token rejected: ya29.secret-token";

    gcp_scrub(buf, sizeof buf, "ya29.secret-token");
    ck_assert_ptr_null(strstr(buf, "secret"));
    ck_assert_ptr_nonnull(strstr(buf, "***"));
    gcp_scrub(buf, sizeof buf, NULL);
    gcp_scrub(buf, sizeof buf, "");
    ck_assert_ptr_nonnull(strstr(buf, "Bearer ***"));

    /* Echoed in another form only (a server that base64s or escapes what
     * it got): masked by the masker's rule all the same. */
    snprintf(buf, sizeof buf, "bad credentials eWEyOS5zZWNyZXQtdG9rZW4=");
    gcp_scrub(buf, sizeof buf, "ya29.secret-token");
    ck_assert_msg(!strstr(buf, "eWEyOS5zZWNyZXQtdG9rZW4"), "%s", buf);
    snprintf(buf, sizeof buf, "token ya29.secret%%2Dtoken refused");
    gcp_scrub(buf, sizeof buf, "ya29.secret-token");
    ck_assert_msg(!strstr(buf, "secret"), "%s", buf);
}
END_TEST

/* A ListTimeSeriesResponse as the API documents it: int64Value as a
 * string, a distribution's mean, DELTA byte counts over their interval,
 * points newest first (the older ones must not be read). */
START_TEST(time_series_read)
{
    static const char body[] =
        "{\"timeSeries\": ["
        "{\"metric\": {\"type\": \"vpcaccess.googleapis.com/connector/"
        "instances\"}, \"resource\": {\"type\": \"vpc_access_connector\"},"
        " \"metricKind\": \"GAUGE\", \"valueType\": \"INT64\", \"points\": ["
        "{\"interval\": {\"startTime\": \"2026-12-01T11:59:00Z\", "
        "\"endTime\": \"2026-12-01T11:59:00Z\"}, \"value\": {\"int64Value\": "
        "\"2\"}},"
        "{\"interval\": {\"startTime\": \"2026-12-01T12:00:00.000000Z\", "
        "\"endTime\": \"2026-12-01T12:00:00.000000Z\"}, \"value\": "
        "{\"int64Value\": \"8\"}}]},"
        "{\"metric\": {\"type\": \"vpcaccess.googleapis.com/connector/cpu/"
        "utilizations\"}, \"valueType\": \"DISTRIBUTION\", \"points\": ["
        "{\"interval\": {\"endTime\": \"2026-12-01T12:00:00Z\"}, \"value\": "
        "{\"distributionValue\": {\"count\": \"3\", \"mean\": 0.31}}}]},"
        "{\"metric\": {\"type\": \"vpcaccess.googleapis.com/connector/"
        "sent_bytes_count\"}, \"metricKind\": \"DELTA\", \"points\": ["
        "{\"interval\": {\"startTime\": \"2026-12-01T11:59:00Z\", "
        "\"endTime\": \"2026-12-01T12:00:00Z\"}, \"value\": {\"int64Value\": "
        "\"1500000000\"}}]},"
        "{\"metric\": {\"type\": \"vpcaccess.googleapis.com/connector/"
        "received_bytes_count\"}, \"metricKind\": \"DELTA\", \"points\": ["
        "{\"interval\": {\"startTime\": \"2026-12-01T11:58:00Z\", "
        "\"endTime\": \"2026-12-01T12:00:00Z\"}, \"value\": {\"int64Value\": "
        "\"6000000000\"}}]},"
        "{\"metric\": {\"type\": \"compute.googleapis.com/instance/cpu/"
        "utilization\"}, \"points\": [{\"value\": {\"doubleValue\": 0.99}}]}"
        "], \"unit\": \"1\"}";
    vpc_usage u;
    vpc_part res;
    vpc_judge_series(200, body, strlen(body), &u, &res);
    ck_assert_int_eq(res.outcome, GP_READY);
    ck_assert(u.has_instances && u.has_cpu && u.has_throughput);
    ck_assert_double_eq(u.instances, 8); /* the newest point */
    ck_assert_double_eq(u.cpu, 0.31);
    /* 1.5e9 B in 60 s + 6e9 B in 120 s: 200 + 400 Mbit/s */
    ck_assert_double_eq_tol(u.mbps, 600, 1e-9);

    vpc_judge_series(200, "{}", 2, &u, &res); /* no data: nothing read */
    ck_assert_int_eq(res.outcome, GP_READY);
    ck_assert(!u.has_instances && !u.has_cpu && !u.has_throughput);
}
END_TEST

START_TEST(time_series_errors)
{
    static const char denied[] =
        "{\"error\": {\"code\": 403, \"message\": \"Permission "
        "monitoring.timeSeries.list denied\", \"status\": "
        "\"PERMISSION_DENIED\"}}";
    vpc_usage u;
    vpc_part res;
    vpc_judge_series(403, denied, strlen(denied), &u, &res);
    ck_assert_int_eq(res.outcome, GP_FATAL);
    ck_assert_msg(strstr(res.text, "roles/monitoring.viewer") &&
                      strstr(res.text, "PERMISSION_DENIED: Permission "
                                       "monitoring.timeSeries.list denied"),
                  "%s", res.text);
    vpc_judge_series(503, denied, strlen(denied), &u, &res);
    ck_assert_int_eq(res.outcome, GP_TRANSIENT);
    vpc_judge_series(429, denied, strlen(denied), &u, &res);
    ck_assert_int_eq(res.outcome, GP_TRANSIENT);
    vpc_judge_series(400, denied, strlen(denied), &u, &res);
    ck_assert_int_eq(res.outcome, GP_FATAL);
    vpc_judge_series(200, "<html>", 6, &u, &res);
    ck_assert_int_eq(res.outcome, GP_FATAL);
    ck_assert_ptr_nonnull(strstr(res.text, "not a ListTimeSeriesResponse"));
    vpc_judge_series(200, "{\"timeSeries\": 3}", 17, &u, &res);
    ck_assert_int_eq(res.outcome, GP_FATAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vpc");
    TCase *reach = tcase_create("reach");
    TCase *conn = tcase_create("connector");

    tcase_add_test(reach, targets_parse);
    tcase_add_test(reach, failures_summed_up);
    suite_add_tcase(s, reach);
    tcase_add_test(conn, connector_names_and_tokens);
    tcase_add_test(conn, connector_states);
    tcase_add_test(conn, answers_that_are_no_connector);
    tcase_add_test(conn, api_errors_by_status);
    tcase_add_test(conn, scrub_masks_the_token);
    tcase_add_test(conn, time_series_read);
    tcase_add_test(conn, time_series_errors);
    suite_add_tcase(s, conn);
    return unit_run(s);
}
