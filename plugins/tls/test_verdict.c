/*
 * plugins/tls/test_verdict.c - unit test of verdict.c: OpenSSL verify
 * results to kinds, reasons and outcomes; certificate times to days left;
 * protocol versions to numbers; PostgreSQL's and SMTP's STARTTLS replies.
 */
#include <check.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <string.h>

#include "unit.h"
#include "verdict.h"

START_TEST(verify_results_have_distinct_reasons)
{
    static const struct {
        long v;
        tls_failure f;
    } cases[] = {
        {X509_V_OK, TLS_OK},
        {X509_V_ERR_CERT_HAS_EXPIRED, TLS_EXPIRED},
        {X509_V_ERR_CERT_NOT_YET_VALID, TLS_NOT_YET_VALID},
        {X509_V_ERR_HOSTNAME_MISMATCH, TLS_HOSTNAME},
        {X509_V_ERR_IP_ADDRESS_MISMATCH, TLS_HOSTNAME},
        {X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, TLS_UNTRUSTED},
        {X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, TLS_UNTRUSTED},
        {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, TLS_UNTRUSTED},
        {X509_V_ERR_CERT_SIGNATURE_FAILURE, TLS_VERIFY},
        {X509_V_ERR_INVALID_CA, TLS_VERIFY},
    };
    const char *seen[6] = {0};

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tls_failure f = tls_classify(cases[i].v);

        ck_assert_int_eq(f, cases[i].f);
        ck_assert_int_eq(tls_failure_outcome(f),
                         f == TLS_OK ? GP_READY : GP_FATAL);
        seen[f] = tls_failure_reason(f);
    }
    for (int a = 0; a < 6; a++)
        for (int b = a + 1; b < 6; b++)
            ck_assert_str_ne(seen[a], seen[b]);
    ck_assert_str_eq(tls_failure_reason(TLS_EXPIRED), "certificate expired");
    ck_assert_str_eq(tls_failure_reason(TLS_HOSTNAME), "hostname mismatch");
}
END_TEST

START_TEST(days_until_is_negative_once_passed)
{
    ASN1_TIME *t = ASN1_TIME_new();
    time_t now = 1700000000; /* 2023-11-14T22:13:20Z */
    int ok = 0;

    ck_assert(ASN1_TIME_set_string(t, "20231117221320Z"));
    ck_assert_double_eq_tol(tls_days_until(t, now, &ok), 3.0, 1e-9);
    ck_assert_int_eq(ok, 1);
    ck_assert(ASN1_TIME_set_string(t, "20231113101320Z"));
    ck_assert_double_eq_tol(tls_days_until(t, now, &ok), -1.5, 1e-9);
    ck_assert_int_eq(ok, 1);
    ck_assert_double_eq(tls_days_until(NULL, now, &ok), 0);
    ck_assert_int_eq(ok, 0);
    ASN1_TIME_free(t);
}
END_TEST

START_TEST(protocol_numbers_and_min_versions)
{
    ck_assert_double_eq(tls_protocol_number(TLS1_2_VERSION), 1.2);
    ck_assert_double_eq(tls_protocol_number(TLS1_3_VERSION), 1.3);
    ck_assert_double_eq(tls_protocol_number(0x0300), 0);
    ck_assert_int_eq(tls_min_version("TLSv1.2"), TLS1_2_VERSION);
    ck_assert_int_eq(tls_min_version("TLSv1.3"), TLS1_3_VERSION);
    ck_assert_int_eq(tls_min_version("tlsv1.3"), 0);
    ck_assert_int_eq(tls_min_version(NULL), 0);
}
END_TEST

START_TEST(postgres_sslrequest_answers)
{
    const char *why = "x";

    ck_assert_int_eq(tls_pg_answer('S', &why), GP_READY);
    ck_assert_ptr_null(why);
    ck_assert_int_eq(tls_pg_answer('N', &why), GP_FATAL);
    ck_assert_ptr_nonnull(strstr(why, "ssl = off"));
    ck_assert_int_eq(tls_pg_answer('E', &why), GP_FATAL);
    ck_assert_int_eq(tls_pg_answer('H', &why), GP_FATAL); /* HTTP/1.1 ... */
    ck_assert_ptr_nonnull(strstr(why, "not a PostgreSQL"));
}
END_TEST

static int reply(const char *s, int *bad)
{
    return tls_smtp_reply(s, strlen(s), bad);
}

START_TEST(smtp_replies)
{
    int bad;

    ck_assert_int_eq(reply("220 mx.test ESMTP\r\n", &bad), 220);
    ck_assert_int_eq(
        reply("250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n", &bad), 250);
    ck_assert_int_eq(reply("250\r\n", &bad), 250);
    ck_assert_int_eq(reply("421 busy\n", &bad), 421); /* a bare LF too */
    /* Not yet complete: more to read. */
    ck_assert_int_eq(reply("", &bad), -1);
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(reply("250-mx.test\r\n250-SIZE", &bad), -1);
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(reply("250-mx.test\r\n", &bad), -1);
    ck_assert_int_eq(bad, 0);
    /* Not SMTP. */
    ck_assert_int_eq(reply("HTTP/1.1 400 Bad Request\r\n", &bad), -1);
    ck_assert_int_eq(bad, 1);
    ck_assert_int_eq(reply("250-a\r\n220 b\r\n", &bad), -1);
    ck_assert_int_eq(bad, 1);
    ck_assert_int_eq(reply("2500 x\r\n", &bad), -1);
    ck_assert_int_eq(bad, 1);
    /* Bytes after the reply (a STARTTLS injection) are refused. */
    ck_assert_int_eq(reply("220 go ahead\r\nXYZ", &bad), -1);
    ck_assert_int_eq(bad, 1);
}
END_TEST

START_TEST(smtp_starttls_offer)
{
    const char *yes = "250-mx.test\r\n250-starttls\r\n250 SIZE 100\r\n";
    const char *last = "250-mx.test\r\n250 STARTTLS\r\n";
    const char *no = "250-mx.test\r\n250-STARTTLSX\r\n250 AUTH STARTTLS\r\n";

    ck_assert(tls_smtp_offers_starttls(yes, strlen(yes)));
    ck_assert(tls_smtp_offers_starttls(last, strlen(last)));
    ck_assert(!tls_smtp_offers_starttls(no, strlen(no)));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tls_verdict");
    TCase *tc = tcase_create("verdict");

    tcase_add_test(tc, verify_results_have_distinct_reasons);
    tcase_add_test(tc, days_until_is_negative_once_passed);
    tcase_add_test(tc, protocol_numbers_and_min_versions);
    tcase_add_test(tc, postgres_sslrequest_answers);
    tcase_add_test(tc, smtp_replies);
    tcase_add_test(tc, smtp_starttls_offer);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
