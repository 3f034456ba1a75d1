/*
 * plugins/grpc/test_codec.c - unit test of codec.c: Health Check request
 * and reply frames (protobuf-c underneath), serving statuses and gRPC
 * status codes to outcomes, the HTTP-to-gRPC mapping, grpc-status values,
 * grpc-message decoding, metadata items and targets.
 */
#include <check.h>
#include <string.h>

#include "codec.h"
#include "unit.h"

START_TEST(request_frames)
{
    unsigned char out[GRPC_REQUEST_MAX];
    static const unsigned char svc[] = {0, 0, 0, 0, 5, 0x0a, 3, 's', 'v', 'c'};
    char big[GRPC_MAX_SERVICE + 2];

    /* proto3 leaves an empty string out: an empty message. */
    ck_assert_int_eq(grpc_health_request("", out, sizeof out), 5);
    ck_assert_mem_eq(out, "\0\0\0\0\0", 5);
    ck_assert_int_eq(grpc_health_request(NULL, out, sizeof out), 5);
    ck_assert_int_eq(grpc_health_request("svc", out, sizeof out), 10);
    ck_assert_mem_eq(out, svc, sizeof svc);
    ck_assert_int_eq(grpc_health_request("svc", out, 9), -1);
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(grpc_health_request(big, out, sizeof out), -1);
    big[GRPC_MAX_SERVICE] = '\0'; /* the longest allowed fits */
    ck_assert_int_eq(grpc_health_request(big, out, sizeof out),
                     5 + 1 + 2 + GRPC_MAX_SERVICE);
}
END_TEST

static int reply(const char *bytes, size_t len, int *status, const char **why)
{
    return grpc_health_reply((const unsigned char *)bytes, len, status, why);
}

START_TEST(reply_frames)
{
    int status = -1;
    const char *why = NULL;

    ck_assert_int_eq(reply("\0\0\0\0\2\x08\x01", 7, &status, &why), 0);
    ck_assert_int_eq(status, GRPC_HEALTH_SERVING);
    ck_assert_int_eq(reply("\0\0\0\0\2\x08\x02", 7, &status, &why), 0);
    ck_assert_int_eq(status, GRPC_HEALTH_NOT_SERVING);
    /* An empty message is status 0, UNKNOWN. */
    ck_assert_int_eq(reply("\0\0\0\0\0", 5, &status, &why), 0);
    ck_assert_int_eq(status, GRPC_HEALTH_UNKNOWN);
    /* proto3 enums are open: a value health.proto lacks is kept. */
    ck_assert_int_eq(reply("\0\0\0\0\2\x08\x07", 7, &status, &why), 0);
    ck_assert_int_eq(status, 7);
    /* An unknown field is skipped, as protobuf says. */
    ck_assert_int_eq(reply("\0\0\0\0\4\x10\x05\x08\x01", 9, &status, &why), 0);
    ck_assert_int_eq(status, GRPC_HEALTH_SERVING);

    ck_assert_int_eq(reply("", 0, &status, &why), -1);
    ck_assert_str_eq(why, "no message");
    ck_assert_int_eq(reply("\0\0\0", 3, &status, &why), -1);
    ck_assert_str_eq(why, "a message cut short");
    ck_assert_int_eq(reply("\0\0\0\0\3\x08\x01", 7, &status, &why), -1);
    ck_assert_str_eq(why, "a message cut short");
    ck_assert_int_eq(reply("\0\xff\xff\xff\xff\x08\x01", 7, &status, &why), -1);
    ck_assert_str_eq(why, "a message cut short");
    ck_assert_int_eq(reply("\1\0\0\0\2\x08\x01", 7, &status, &why), -1);
    ck_assert_str_eq(why, "a compressed message");
    ck_assert_int_eq(reply("<html>", 6, &status, &why), -1);
    ck_assert_str_eq(why, "not a gRPC message");
    ck_assert_int_eq(reply("\0\0\0\0\2\x08\x01\0\0\0\0\0", 12, &status, &why),
                     -1);
    ck_assert_str_eq(why, "more than one message");
    ck_assert_int_eq(reply("\0\0\0\0\2\x08\xff", 7, &status, &why), -1);
    ck_assert_str_eq(why, "not a HealthCheckResponse");
}
END_TEST

START_TEST(serving_statuses)
{
    ck_assert_int_eq(grpc_serving_outcome(GRPC_HEALTH_SERVING), GP_READY);
    ck_assert_int_eq(grpc_serving_outcome(GRPC_HEALTH_NOT_SERVING),
                     GP_TRANSIENT);
    ck_assert_int_eq(grpc_serving_outcome(GRPC_HEALTH_UNKNOWN), GP_TRANSIENT);
    ck_assert_int_eq(grpc_serving_outcome(GRPC_HEALTH_SERVICE_UNKNOWN),
                     GP_FATAL);
    ck_assert_int_eq(grpc_serving_outcome(7), GP_TRANSIENT);
    ck_assert_str_eq(grpc_serving_name(1), "SERVING");
    ck_assert_str_eq(grpc_serving_name(3), "SERVICE_UNKNOWN");
    ck_assert_ptr_null(grpc_serving_name(4));
    ck_assert_ptr_null(grpc_serving_name(-1));
}
END_TEST

START_TEST(status_codes)
{
    /* grpc/doc/statuscodes.md, 0 to 16, and what each means here. */
    static const gp_outcome want[] = {
        GP_READY, GP_TRANSIENT, GP_TRANSIENT, GP_FATAL, GP_TRANSIENT, GP_FATAL,
        GP_FATAL, GP_FATAL,     GP_TRANSIENT, GP_FATAL, GP_TRANSIENT, GP_FATAL,
        GP_FATAL, GP_FATAL,     GP_TRANSIENT, GP_FATAL, GP_FATAL};

    for (long c = 0; c < 17; c++) {
        ck_assert_int_eq(grpc_code_outcome(c), want[c]);
        ck_assert_ptr_nonnull(grpc_code_name(c));
    }
    ck_assert_str_eq(grpc_code_name(12), "UNIMPLEMENTED");
    ck_assert_str_eq(grpc_code_name(14), "UNAVAILABLE");
    ck_assert_str_eq(grpc_code_name(16), "UNAUTHENTICATED");
    ck_assert_ptr_null(grpc_code_name(17));
    ck_assert_ptr_null(grpc_code_name(-1));
    /* An unknown code is read as UNKNOWN. */
    ck_assert_int_eq(grpc_code_outcome(17), GP_TRANSIENT);
}
END_TEST

START_TEST(http_mapping)
{
    ck_assert_int_eq(grpc_code_from_http(400), 13);
    ck_assert_int_eq(grpc_code_from_http(401), 16);
    ck_assert_int_eq(grpc_code_from_http(403), 7);
    ck_assert_int_eq(grpc_code_from_http(404), 12);
    ck_assert_int_eq(grpc_code_from_http(429), 14);
    ck_assert_int_eq(grpc_code_from_http(502), 14);
    ck_assert_int_eq(grpc_code_from_http(503), 14);
    ck_assert_int_eq(grpc_code_from_http(504), 14);
    ck_assert_int_eq(grpc_code_from_http(500), 2);
    ck_assert_int_eq(grpc_code_from_http(302), 2);
}
END_TEST

START_TEST(status_values)
{
    ck_assert_int_eq(grpc_parse_code("14", 2), 14);
    ck_assert_int_eq(grpc_parse_code("0", 1), 0);
    ck_assert_int_eq(grpc_parse_code("", 0), -1);
    ck_assert_int_eq(grpc_parse_code("1x", 2), -1);
    ck_assert_int_eq(grpc_parse_code("-1", 2), -1);
    ck_assert_int_eq(grpc_parse_code("9999999999", 10), -1);
}
END_TEST

START_TEST(message_decoding)
{
    char out[16];
    const char *in = "a%20b%zz%4";

    ck_assert_uint_eq(grpc_message_decode(in, strlen(in), out, sizeof out), 8);
    ck_assert_str_eq(out, "a b%zz%4");
    ck_assert_uint_eq(grpc_message_decode("%E2%9C%93", 9, out, sizeof out), 3);
    ck_assert_str_eq(out, "\xe2\x9c\x93");
    /* Cut to fit, always terminated. */
    ck_assert_uint_eq(grpc_message_decode("abcdef", 6, out, 4), 3);
    ck_assert_str_eq(out, "abc");
    ck_assert_uint_eq(grpc_message_decode("%41", 2, out, sizeof out), 2);
    ck_assert_str_eq(out, "%4");
}
END_TEST

START_TEST(metadata_items)
{
    size_t n = 0;
    const char *v = NULL;

    ck_assert(grpc_metadata_ok("authorization: Bearer t0k3n", &n, &v));
    ck_assert_uint_eq(n, 13);
    ck_assert_str_eq(v, "Bearer t0k3n");
    ck_assert(grpc_metadata_ok("x-tenant.id_2:acme", &n, &v));
    ck_assert_str_eq(v, "acme");
    ck_assert(!grpc_metadata_ok("Authorization: x", &n, &v)); /* upper case */
    ck_assert(!grpc_metadata_ok("no colon", &n, &v));
    ck_assert(!grpc_metadata_ok(": x", &n, &v));
    ck_assert(!grpc_metadata_ok(":authority: x", &n, &v));
    ck_assert(!grpc_metadata_ok("grpc-timeout: 1S", &n, &v));
    ck_assert(!grpc_metadata_ok("trace-bin: AAEC", &n, &v));
    ck_assert(!grpc_metadata_ok("te: gzip", &n, &v));
    ck_assert(!grpc_metadata_ok("content-type: text/plain", &n, &v));
    ck_assert(!grpc_metadata_ok("x-a: b\rc", &n, &v));
}
END_TEST

START_TEST(targets)
{
    char host[64];
    unsigned port = 0;

    ck_assert_ptr_null(
        grpc_parse_target("127.0.0.1:50051", host, sizeof host, &port));
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_uint_eq(port, 50051);
    ck_assert_ptr_null(
        grpc_parse_target("[::1]:443", host, sizeof host, &port));
    ck_assert_str_eq(host, "::1");
    ck_assert_uint_eq(port, 443);
    ck_assert_ptr_null(
        grpc_parse_target("api.internal:8443", host, sizeof host, &port));
    ck_assert_str_eq(host, "api.internal");
    ck_assert_ptr_nonnull(
        grpc_parse_target("api.internal", host, sizeof host, &port));
    ck_assert_ptr_nonnull(
        grpc_parse_target("::1:443", host, sizeof host, &port));
    ck_assert_ptr_nonnull(grpc_parse_target("[::1]", host, sizeof host, &port));
    ck_assert_ptr_nonnull(
        grpc_parse_target("http://h:80", host, sizeof host, &port));
    ck_assert_ptr_nonnull(grpc_parse_target(":80", host, sizeof host, &port));
    ck_assert_ptr_nonnull(grpc_parse_target("h:0", host, sizeof host, &port));
    ck_assert_ptr_nonnull(grpc_parse_target("h:x", host, sizeof host, &port));
    ck_assert_ptr_nonnull(grpc_parse_target("", host, sizeof host, &port));
    ck_assert_ptr_nonnull(
        grpc_parse_target("a b:80", host, sizeof host, &port));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("grpc_codec");
    TCase *tc = tcase_create("codec");

    tcase_add_test(tc, request_frames);
    tcase_add_test(tc, reply_frames);
    tcase_add_test(tc, serving_statuses);
    tcase_add_test(tc, status_codes);
    tcase_add_test(tc, http_mapping);
    tcase_add_test(tc, status_values);
    tcase_add_test(tc, message_decoding);
    tcase_add_test(tc, metadata_items);
    tcase_add_test(tc, targets);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
