/*
 * plugins/tcp/test_expect.c - unit test of expect.c: the send / expect
 * options as bytes (the configuration language's escapes, their limits)
 * and the expected text found in what arrived, read by read.
 */
#include <check.h>
#include <string.h>

#include "expect.h"
#include "unit.h"

static char out[TCP_MAX_TEXT + 1];

START_TEST(options_decode_to_bytes)
{
    const char *why = NULL;

    ck_assert_int_eq(tcp_decode(NULL, out, &why), 0);
    ck_assert_int_eq(tcp_decode("", out, &why), 0);
    ck_assert_int_eq(tcp_decode("PING\\r\\n", out, &why), 6);
    ck_assert_mem_eq(out, "PING\r\n", 6);
    /* Binary protocols: \x00 is a byte of the request. */
    ck_assert_int_eq(tcp_decode("\\x00\\x01\\xff", out, &why), 3);
    ck_assert_mem_eq(out, "\x00\x01\xff", 3);
    ck_assert_int_eq(tcp_decode("+OK\\\\", out, &why), 4);
    ck_assert_str_eq(out, "+OK\\");
    /* A backslash before anything else is kept, as in every option. */
    ck_assert_int_eq(tcp_decode("a\\qb\\", out, &why), 5);
    ck_assert_str_eq(out, "a\\qb\\");
}
END_TEST

START_TEST(options_that_cannot_decode)
{
    static char big[TCP_MAX_TEXT + 2];
    const char *why = NULL;

    ck_assert_int_eq(tcp_decode("\\x4", out, &why), -1);
    ck_assert_str_eq(why, "\\x needs two hex digits");
    memset(big, 'a', TCP_MAX_TEXT);
    big[TCP_MAX_TEXT] = '\0';
    ck_assert_int_eq(tcp_decode(big, out, &why), TCP_MAX_TEXT);
    big[TCP_MAX_TEXT] = 'a';
    why = NULL;
    ck_assert_int_eq(tcp_decode(big, out, &why), -1);
    ck_assert_str_eq(why, "too long");
    /* An escape shortens the text: 4096 bytes written as \x41 fit. */
    for (size_t i = 0; i + 4 <= sizeof big - 1; i += 4)
        memcpy(big + i, "\\x41", 4);
    big[sizeof big - 1] = '\0';
    ck_assert_int_gt(tcp_decode(big, out, &why), 0);
}
END_TEST

START_TEST(expect_found_in_one_read)
{
    const char *buf = "SSH-2.0-OpenSSH_9.2\r\n";

    ck_assert_int_eq(tcp_expect_seen(buf, 0, strlen(buf), "SSH-2.0", 7), 1);
    ck_assert_int_eq(tcp_expect_seen(buf, 0, strlen(buf), "SSH-1.9", 7), 0);
    /* Fewer bytes than the text: not yet. */
    ck_assert_int_eq(tcp_expect_seen(buf, 0, 3, "SSH-2.0", 7), 0);
}
END_TEST

START_TEST(expect_split_across_reads)
{
    const char buf[] = "220 mail.test ESMTP ready";
    size_t n = sizeof buf - 1;

    /* "ESMTP" arrives as "ES" then "MTP ready". */
    ck_assert_int_eq(tcp_expect_seen(buf, 0, 16, "ESMTP", 5), 0);
    ck_assert_int_eq(tcp_expect_seen(buf, 16, n, "ESMTP", 5), 1);
    /* A first read of every length, then one byte a read: "ready" (the
     * last five bytes) is seen when its last byte arrives, never before. */
    for (size_t cut = 1; cut <= n; cut++) {
        size_t seen_at = tcp_expect_seen(buf, 0, cut, "ready", 5) ? cut : 0;

        for (size_t got = cut + 1; got <= n && !seen_at; got++)
            if (tcp_expect_seen(buf, got - 1, got, "ready", 5))
                seen_at = got;
        ck_assert_uint_eq(seen_at, n);
    }
    /* Seen before the last read: the last read alone does not repeat it
     * (the caller stops at the first sighting). */
    ck_assert_int_eq(tcp_expect_seen(buf, 9, n, "220", 3), 0);
    ck_assert_int_eq(tcp_expect_seen(buf, 0, n, "220", 3), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tcp_expect");
    TCase *tc = tcase_create("expect");

    tcase_add_test(tc, options_decode_to_bytes);
    tcase_add_test(tc, options_that_cannot_decode);
    tcase_add_test(tc, expect_found_in_one_read);
    tcase_add_test(tc, expect_split_across_reads);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
