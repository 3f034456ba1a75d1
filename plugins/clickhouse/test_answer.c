/*
 * plugins/clickhouse/test_answer.c - unit test of answer.c: ClickHouse's
 * HTTP answers as bodies (18.x and newer exception texts, exceptions glued
 * to an interrupted row, results that merely mention an exception), error
 * codes and statuses classified, single values read.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "answer.h"
#include "unit.h"

static char text[CH_TEXT_BUF];

static long find(const char *body, long status)
{
    text[0] = '\0';
    return ch_find_exception(body, strlen(body), status, text, sizeof text);
}

START_TEST(exceptions_in_error_bodies)
{
    /* Newer servers. */
    ck_assert_int_eq(find("Code: 516. DB::Exception: default: Authentication "
                          "failed: password is incorrect. (AUTHENTICATION_"
                          "FAILED) (version 23.8.2.7 (official build))\n",
                          401),
                     516);
    ck_assert_ptr_nonnull(strstr(text, "Code: 516. DB::Exception: default"));
    ck_assert_ptr_null(strchr(text, '\n'));
    /* 18.x: its decoration is taken off. */
    ck_assert_int_eq(find("Code: 81, e.displayText() = DB::Exception: "
                          "Database nope doesn't exist, e.what() = "
                          "DB::Exception\n",
                          404),
                     81);
    ck_assert_str_eq(text,
                     "Code: 81, DB::Exception: Database nope doesn't exist");
    /* An error status: any line naming DB::Exception, code or not. */
    ck_assert_int_eq(find("oops\nsomething DB::Exception: broke\n", 500), 0);
    ck_assert_str_eq(text, "something DB::Exception: broke");
    /* No exception at all. */
    ck_assert_int_eq(find("Bad Gateway\n", 502), -1);
    ck_assert_str_eq(text, "");
}
END_TEST

START_TEST(exceptions_in_200_bodies)
{
    /* Glued to the row it interrupted, after rows were sent. */
    ck_assert_int_eq(find("1\n2\n3Code: 395. DB::Exception: Value passed to "
                          "'throwIf' function is non-zero: while executing "
                          "'FUNCTION throwIf()'. (FUNCTION_THROW_IF_VALUE_IS_"
                          "NON_ZERO) (version 23.8.2.7)\n",
                          200),
                     395);
    ck_assert(strncmp(text, "Code: 395. DB::Exception", 24) == 0);
    /* A result that mentions an exception is a result. */
    ck_assert_int_eq(find("DB::Exception is a class name\n", 200), -1);
    ck_assert_int_eq(find("Code: none, Exception\n", 200), -1);
    /* Only the tail counts: an old text far before the end is data. */
    {
        static char big[8192];

        memcpy(big, "Code: 1. DB::Exception: old\n", 28);
        memset(big + 28, 'x', sizeof big - 30);
        big[sizeof big - 2] = '\n';
        big[sizeof big - 1] = '\0';
        ck_assert_int_eq(find(big, 200), -1);
    }
    /* Of several, the last one. */
    ck_assert_int_eq(find("Code: 1. DB::Exception: a\nCode: 2. "
                          "DB::Exception: b\n",
                          200),
                     2);
}
END_TEST

START_TEST(codes_and_statuses)
{
    static const long auth[] = {516, 192, 193, 194, 195};
    static const long transient[] = {159, 160, 202, 203, 209, 210,
                                     241, 242, 279, 394, 999};
    static const long other[] = {0, 1, 164, 395, 1000};

    for (size_t i = 0; i < sizeof auth / sizeof auth[0]; i++)
        ck_assert_int_eq(ch_exception_kind_of(auth[i]), CH_EXC_AUTH);
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        ck_assert_int_eq(ch_exception_kind_of(transient[i]), CH_EXC_TRANSIENT);
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        ck_assert_int_eq(ch_exception_kind_of(other[i]), CH_EXC_OTHER);
    ck_assert_int_eq(ch_exception_kind_of(81), CH_EXC_DATABASE);
    ck_assert_int_eq(ch_exception_kind_of(60), CH_EXC_TABLE);
    ck_assert_int_eq(ch_exception_kind_of(62), CH_EXC_SYNTAX);

    ck_assert_int_eq(ch_status_outcome(503), GP_TRANSIENT);
    ck_assert_int_eq(ch_status_outcome(502), GP_TRANSIENT);
    ck_assert_int_eq(ch_status_outcome(500), GP_TRANSIENT);
    ck_assert_int_eq(ch_status_outcome(404), GP_FATAL);
    ck_assert_int_eq(ch_status_outcome(403), GP_FATAL);
    ck_assert_int_eq(ch_status_outcome(301), GP_FATAL);
}
END_TEST

START_TEST(single_values)
{
    char v[32];
    size_t len;
    double d;

    snprintf(v, sizeof v, "42\n");
    len = strlen(v);
    ck_assert_int_eq(ch_single_value(v, &len), 1);
    ck_assert_str_eq(v, "42");
    ck_assert_int_eq(ch_parse_double(v, &d), 0);
    ck_assert_double_eq(d, 42);

    snprintf(v, sizeof v, "1\n2\n");
    len = strlen(v);
    ck_assert_int_eq(ch_single_value(v, &len), 0);
    snprintf(v, sizeof v, "a\tb\n");
    len = strlen(v);
    ck_assert_int_eq(ch_single_value(v, &len), 0);
    snprintf(v, sizeof v, "\n");
    len = strlen(v);
    ck_assert_int_eq(ch_single_value(v, &len), 0);
    ck_assert_uint_eq(len, 0);

    ck_assert_int_eq(ch_parse_double("-1.5e3", &d), 0);
    ck_assert_double_eq(d, -1500);
    ck_assert_int_eq(ch_parse_double(" 1", &d), -1);
    ck_assert_int_eq(ch_parse_double("1 ", &d), -1);
    ck_assert_int_eq(ch_parse_double("", &d), -1);
    ck_assert_int_eq(ch_parse_double("nan", &d), -1);
    ck_assert_int_eq(ch_parse_double("inf", &d), -1);
    ck_assert_int_eq(ch_parse_double("1e999", &d), -1);
    ck_assert_int_eq(ch_parse_double("abc", &d), -1);

    snprintf(v, sizeof v, "Ok.\r\n \t");
    ck_assert_uint_eq(ch_trim_right(v, strlen(v)), 3);
    ck_assert_str_eq(v, "Ok.");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("clickhouse_answer");
    TCase *tc = tcase_create("answer");

    tcase_add_test(tc, exceptions_in_error_bodies);
    tcase_add_test(tc, exceptions_in_200_bodies);
    tcase_add_test(tc, codes_and_statuses);
    tcase_add_test(tc, single_values);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
