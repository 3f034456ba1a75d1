/*
 * plugins/http/test_http.c - unit test of the http probe's pure parts
 * (match.c: expect_status lists, header forms, statuses, body text, TLS
 * alert texts), and of check()'s option refusals through the SDK harness
 * (gpcheck/testing.h), which stop before any request.
 */
#include <check.h>
#include <string.h>

#include "gpcheck/testing.h"
#include "match.h"
#include "unit.h"

const gp_plugin *gpcheck_plugin(void);

START_TEST(status_items)
{
    char e[HTTP_STATUSES];

    memset(e, 0, sizeof e);
    ck_assert_int_eq(http_status_item("200", e), 0);
    ck_assert(e[200] && !e[201] && !e[199]);
    ck_assert_int_eq(http_status_item("3xx", e), 0);
    ck_assert(e[300] && e[301] && e[399] && !e[400]);
    ck_assert_int_eq(http_status_item("5XX", e), 0);
    ck_assert(e[599]);
    ck_assert_int_eq(http_status_item("100", NULL), 0);
    ck_assert_int_eq(http_status_item("599", NULL), 0);

    static const char *const bad[] = {"600", "099", "6xx", "2x",  "2xxx",
                                      "20",  "2x0", "abc", "",    " 200",
                                      "0xx", "x00", "1e2", "-20", "200 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(http_status_item(bad[i], e) < 0, "'%s'", bad[i]);
}
END_TEST

START_TEST(expect_status_lists)
{
    static const char *const list[] = {"2xx", "301", "404"};
    static const char *const broken[] = {"200", "2xy", "301"};
    char e[HTTP_STATUSES], text[16];
    const char *bad = NULL;

    memset(e, 0, sizeof e);
    ck_assert_int_eq(http_expect_status(list, 3, e, text, sizeof text, &bad),
                     0);
    ck_assert(e[204] && e[301] && e[404] && !e[302] && !e[500]);
    ck_assert_str_eq(text, "2xx, 301, 404");
    /* No items: the default, 2xx. */
    memset(e, 0, sizeof e);
    ck_assert_int_eq(http_expect_status(NULL, 0, e, text, sizeof text, &bad),
                     0);
    ck_assert(e[200] && e[299] && !e[300]);
    ck_assert_str_eq(text, "2xx");
    /* The first bad item is named. */
    ck_assert_int_eq(http_expect_status(broken, 3, e, text, sizeof text, &bad),
                     -1);
    ck_assert_str_eq(bad, "2xy");
    /* A text that does not fit is cut at a whole item. */
    static const char *const many[] = {"200", "201", "202", "203", "204"};
    ck_assert_int_eq(http_expect_status(many, 5, e, text, sizeof text, &bad),
                     0);
    ck_assert_str_eq(text, "200, 201, 202");
}
END_TEST

START_TEST(header_forms)
{
    ck_assert(http_header_ok("Accept: application/json"));
    ck_assert(http_header_ok("X-Api_Key.v2: x"));
    ck_assert(http_header_ok("X-Empty:"));
    ck_assert(!http_header_ok(": value"));
    ck_assert(!http_header_ok("no colon"));
    ck_assert(!http_header_ok("X Bad: v"));
    ck_assert(!http_header_ok("X-Inject: a\r\nHost: evil"));
    ck_assert(!http_header_ok("X-Inject: a\nb"));
    ck_assert(!http_header_ok("X(y): v"));
    ck_assert_uint_eq(http_header_shown_len("X Bad: s3cret"), 5);
    ck_assert_uint_eq(http_header_shown_len("nocolon"), 7);
}
END_TEST

START_TEST(statuses_and_bodies)
{
    static const long transient[] = {500, 502, 503, 504, 599, 429, 408};
    static const long fatal[] = {400, 401, 403, 404, 301, 302, 304, 204, 418};

    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        ck_assert_int_eq(http_unexpected_outcome(transient[i]), GP_TRANSIENT);
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        ck_assert_int_eq(http_unexpected_outcome(fatal[i]), GP_FATAL);

    ck_assert(http_body_has("{\"status\":\"UP\"}", 15, "\"UP\""));
    ck_assert(!http_body_has("{\"status\":\"DOWN\"}", 17, "\"UP\""));
    /* The body is bytes: a NUL before the text does not hide it. */
    ck_assert(http_body_has("a\0ok", 4, "ok"));
    ck_assert(!http_body_has("ok", 1, "ok")); /* only len bytes count */
    ck_assert(http_body_has("", 0, NULL));
    ck_assert(http_body_has("", 0, ""));

    ck_assert(http_client_cert_refused(
        "OpenSSL SSL_read: error:0A00045C:SSL routines::tlsv13 alert "
        "certificate required, errno 0"));
    ck_assert(http_client_cert_refused("sslv3 alert bad certificate"));
    ck_assert(!http_client_cert_refused("Connection reset by peer"));
}
END_TEST

/* check() refuses a bad header before any request; the message shows its
 * name only, as validate() does, since the value may be a credential. */
START_TEST(bad_header_value_not_shown)
{
    gp_test *t = gp_test_new(gpcheck_plugin());

    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(gp_test_set(t, "url", "http://127.0.0.1:9/"), 0);
    ck_assert_int_eq(gp_test_set(t, "header", "X Api: tok-8f3a1c"), 0);
    ck_assert_int_eq(gp_test_run(t), GP_FATAL);
    ck_assert_ptr_nonnull(strstr(gp_test_message(t), "X Api"));
    ck_assert_msg(!strstr(gp_test_message(t), "tok-8f3a1c"), "%s",
                  gp_test_message(t));
    gp_test_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("match");
    TCase *opts = tcase_create("options");

    tcase_add_test(tc, status_items);
    tcase_add_test(tc, expect_status_lists);
    tcase_add_test(tc, header_forms);
    tcase_add_test(tc, statuses_and_bodies);
    suite_add_tcase(s, tc);
    tcase_add_test(opts, bad_header_value_not_shown);
    suite_add_tcase(s, opts);
    return unit_run(s);
}
