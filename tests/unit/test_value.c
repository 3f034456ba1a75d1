/*
 * tests/unit/test_value.c - unit tests of core/value.c: the typed values
 * of the config language and ${VAR} interpolation.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "util.h"
#include "value.h"

/* ------------------------------------------------------------------------ */
/* helpers                                                                   */

static int64_t dur_ok(const char *s)
{
    int64_t ms = -12345;
    char err[128] = "";
    ck_assert_msg(value_duration(s, &ms, err, sizeof err) == 0,
                  "'%s' rejected: %s", s, err);
    return ms;
}

static const char *dur_err(const char *s)
{
    static char err[128];
    int64_t ms = -12345;
    err[0] = '\0';
    ck_assert_msg(value_duration(s, &ms, err, sizeof err) == -1,
                  "'%s' accepted as %lld", s, (long long)ms);
    ck_assert_int_eq(ms, -12345); /* untouched on error */
    ck_assert_msg(err[0] != '\0', "no reason for '%s'", s);
    return err;
}

static double pct_ok(const char *s)
{
    double v = -1;
    char err[128] = "";
    ck_assert_msg(value_percentage(s, &v, err, sizeof err) == 0,
                  "'%s' rejected: %s", s, err);
    return v;
}

static const char *pct_err(const char *s)
{
    static char err[128];
    double v = -1;
    err[0] = '\0';
    ck_assert_msg(value_percentage(s, &v, err, sizeof err) == -1,
                  "'%s' accepted as %f", s, v);
    return err;
}

/* A lookup over a fixed table: NAME=VALUE strings. */
static const char *const vars[] = {
    "HOST=db.local", "PORT=5432", "EMPTY=", "B=bee", "DOLLAR=$x", NULL,
};

static const char *lookup(void *ud, const char *name)
{
    size_t n = strlen(name);
    int *calls = ud;
    if (calls)
        (*calls)++;
    for (size_t i = 0; vars[i]; i++)
        if (strncmp(vars[i], name, n) == 0 && vars[i][n] == '=')
            return vars[i] + n + 1;
    return NULL;
}

/* Expands s; returns a static copy of the result for comparison. */
static const char *interp_ok(const char *s)
{
    static char buf[256];
    char *out = NULL;
    char err[128] = "";
    ck_assert_msg(
        value_interpolate(s, lookup, NULL, NULL, &out, err, sizeof err) == 0,
        "'%s' failed: %s", s, err);
    ck_assert_ptr_nonnull(out);
    snprintf(buf, sizeof buf, "%s", out);
    free(out);
    return buf;
}

static const char *interp_err(const char *s)
{
    static char err[128];
    char *out = (char *)"untouched";
    err[0] = '\0';
    ck_assert_msg(
        value_interpolate(s, lookup, NULL, NULL, &out, err, sizeof err) == -1,
        "'%s' expanded to '%s'", s, out);
    ck_assert_str_eq(out, "untouched");
    return err;
}

/* ------------------------------------------------------------------------ */
/* durations                                                                 */

START_TEST(duration_units)
{
    ck_assert_int_eq(dur_ok("250ms"), 250);
    ck_assert_int_eq(dur_ok("45s"), 45000);
    ck_assert_int_eq(dur_ok("2m"), 120000);
    ck_assert_int_eq(dur_ok("1h"), 3600000);
    ck_assert_int_eq(dur_ok("0s"), 0);
    ck_assert_int_eq(dur_ok("0"), 0);
}
END_TEST

START_TEST(duration_combos_and_bare)
{
    ck_assert_int_eq(dur_ok("1m30s"), 90000);
    ck_assert_int_eq(dur_ok("1h2m3s4ms"), 3723004);
    ck_assert_int_eq(dur_ok("7"), 7000);
    ck_assert_int_eq(dur_ok("  45s \t"), 45000);
}
END_TEST

START_TEST(duration_decimals)
{
    ck_assert_int_eq(dur_ok("1.5s"), 1500);
    ck_assert_int_eq(dur_ok("0.1s"), 100);
    ck_assert_int_eq(dur_ok("2.5"), 2500);
    ck_assert_int_eq(dur_ok("1.25m"), 75000);
    ck_assert_int_eq(dur_ok("0.5h"), 1800000);
}
END_TEST

START_TEST(duration_errors)
{
    ck_assert_str_eq(dur_err(""), "empty duration");
    ck_assert_str_eq(dur_err("   "), "empty duration");
    ck_assert_str_eq(dur_err("-5s"), "negative duration '-5s'");
    ck_assert_str_eq(dur_err("5x"), "unknown unit 'x' in '5x' (units: ms, s, "
                                    "m, h; e.g. 250ms, 45s, 1m30s)");
    ck_assert_str_eq(dur_err("5sec"), "unknown unit 'sec' in '5sec' (units: "
                                      "ms, s, m, h; e.g. 250ms, 45s, 1m30s)");
    ck_assert_str_eq(dur_err("1m30"),
                     "missing unit after '30' in '1m30' (units: ms, s, m, h; "
                     "e.g. 250ms, 45s, 1m30s)");
    ck_assert_str_eq(
        dur_err("5s!"),
        "invalid duration '5s!' (units: ms, s, m, h; e.g. 250ms, 45s, 1m30s)");
    ck_assert_str_eq(dur_err("5 s"), "missing unit after '5' in '5 s' (units: "
                                     "ms, s, m, h; e.g. 250ms, 45s, 1m30s)");
    ck_assert_str_eq(
        dur_err("s"),
        "invalid duration 's' (units: ms, s, m, h; e.g. 250ms, 45s, 1m30s)");
    ck_assert_str_eq(
        dur_err("1.s"),
        "invalid duration '1.s' (units: ms, s, m, h; e.g. 250ms, 45s, 1m30s)");
    ck_assert_str_eq(
        dur_err(".5s"),
        "invalid duration '.5s' (units: ms, s, m, h; e.g. 250ms, 45s, 1m30s)");
    ck_assert_str_eq(dur_err("1e3s"), "unknown unit 'e' in '1e3s' (units: ms, "
                                      "s, m, h; e.g. 250ms, 45s, 1m30s)");
}
END_TEST

START_TEST(duration_overflow)
{
    /* INT64_MAX ms fits; one more does not, nor does it in hours. */
    ck_assert_int_eq(dur_ok("9223372036854775807ms"), INT64_MAX);
    ck_assert_str_eq(dur_err("9223372036854775808ms"),
                     "duration too large '9223372036854775808ms'");
    ck_assert_str_eq(dur_err("9223372036854775h"),
                     "duration too large '9223372036854775h'");
    ck_assert_str_eq(dur_err("9223372036854775807ms1ms"),
                     "duration too large '9223372036854775807ms1ms'");
    ck_assert_str_eq(dur_err("99999999999999999999999s"),
                     "duration too large '99999999999999999999999s'");
}
END_TEST

START_TEST(duration_err_truncated)
{
    /* err is always NUL-terminated within errlen. */
    char err[8];
    int64_t ms;
    memset(err, 'z', sizeof err);
    ck_assert_int_eq(value_duration("5xyz", &ms, err, sizeof err), -1);
    ck_assert_int_eq(strlen(err), 7);
    ck_assert_str_eq(err, "unknown");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* percentages, booleans, integers                                           */

START_TEST(percentages)
{
    ck_assert_double_eq(pct_ok("90%"), 90.0);
    ck_assert_double_eq(pct_ok("12.5%"), 12.5);
    ck_assert_double_eq(pct_ok("33"), 33.0);
    ck_assert_double_eq(pct_ok("0%"), 0.0);
    ck_assert_double_eq(pct_ok(" 100% "), 100.0);
    ck_assert_str_eq(pct_err("101%"), "percentage out of range (0..100) "
                                      "'101%'");
    ck_assert_str_eq(pct_err("100.5"), "percentage out of range (0..100) "
                                       "'100.5'");
    ck_assert_str_eq(pct_err("-1%"), "percentage out of range (0..100) "
                                     "'-1%'");
    ck_assert_str_eq(pct_err("ten%"), "invalid percentage 'ten%'");
    ck_assert_str_eq(pct_err("5%%"), "invalid percentage '5%%'");
    ck_assert_str_eq(pct_err("%"), "invalid percentage '%'");
    ck_assert_str_eq(pct_err("nan"), "invalid percentage 'nan'");
    ck_assert_str_eq(pct_err("1e1"), "invalid percentage '1e1'");
    ck_assert_str_eq(pct_err(""), "empty percentage");
}
END_TEST

START_TEST(booleans)
{
    static const char *const t[] = {"true", "TRUE", "Yes", "on", "1", " On "};
    static const char *const f[] = {"false", "False", "NO", "off", "0"};
    char err[128];
    int b;

    for (size_t i = 0; i < ARRAY_LEN(t); i++) {
        b = -1;
        ck_assert_int_eq(value_boolean(t[i], &b, err, sizeof err), 0);
        ck_assert_int_eq(b, 1);
    }
    for (size_t i = 0; i < ARRAY_LEN(f); i++) {
        b = -1;
        ck_assert_int_eq(value_boolean(f[i], &b, err, sizeof err), 0);
        ck_assert_int_eq(b, 0);
    }
    b = -1;
    ck_assert_int_eq(value_boolean("maybe", &b, err, sizeof err), -1);
    ck_assert_int_eq(b, -1);
    ck_assert_str_eq(err, "invalid boolean 'maybe' (use true/false, yes/no, "
                          "on/off, 1/0)");
    ck_assert_int_eq(value_boolean("", &b, err, sizeof err), -1);
    ck_assert_int_eq(value_boolean("2", &b, err, sizeof err), -1);
    ck_assert_int_eq(value_boolean("truee", &b, err, sizeof err), -1);
}
END_TEST

START_TEST(integers)
{
    char err[128];
    int64_t v;

    ck_assert_int_eq(value_integer("42", &v, err, sizeof err), 0);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(value_integer(" -17 ", &v, err, sizeof err), 0);
    ck_assert_int_eq(v, -17);
    ck_assert_int_eq(value_integer("+8", &v, err, sizeof err), 0);
    ck_assert_int_eq(v, 8);
    ck_assert_int_eq(value_integer("9223372036854775807", &v, err, sizeof err),
                     0);
    ck_assert_int_eq(v, INT64_MAX);
    ck_assert_int_eq(value_integer("-9223372036854775808", &v, err, sizeof err),
                     0);
    ck_assert_int_eq(v, INT64_MIN);

    v = 99;
    ck_assert_int_eq(value_integer("9223372036854775808", &v, err, sizeof err),
                     -1);
    ck_assert_str_eq(err, "integer out of range '9223372036854775808'");
    ck_assert_int_eq(v, 99);
    ck_assert_int_eq(value_integer("12abc", &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "invalid integer '12abc'");
    ck_assert_int_eq(value_integer("0x10", &v, err, sizeof err), -1);
    ck_assert_int_eq(value_integer("1.5", &v, err, sizeof err), -1);
    ck_assert_int_eq(value_integer("- 5", &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "invalid integer '- 5'");
    ck_assert_int_eq(value_integer("", &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "empty integer");
    ck_assert_int_eq(v, 99);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* lists                                                                     */

START_TEST(lists)
{
    char err[128];
    char **items = NULL;
    size_t n = 99;

    ck_assert_int_eq(value_list(" a , b,c ", &items, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(items[0], "a");
    ck_assert_str_eq(items[1], "b");
    ck_assert_str_eq(items[2], "c");
    ck_assert_ptr_null(items[3]);
    strv_free(items, n);

    ck_assert_int_eq(value_list("one word", &items, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(items[0], "one word");
    strv_free(items, n);

    ck_assert_int_eq(value_list("   ", &items, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 0);
    strv_free(items, n);
}
END_TEST

START_TEST(list_empty_items)
{
    static const char *const bad[] = {"a,,b", "a,", ",a", "a, ,b", ","};
    char err[128];

    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        char **items = (char **)1;
        size_t n = 99;
        ck_assert_int_eq(value_list(bad[i], &items, &n, err, sizeof err), -1);
        ck_assert_ptr_eq(items, (char **)1);
        ck_assert_uint_eq(n, 99);
        ck_assert_msg(strncmp(err, "empty item in list", 18) == 0, "%s", err);
    }
    ck_assert_int_eq(
        value_list("a,,b", &(char **){NULL}, &(size_t){0}, err, sizeof err),
        -1);
    ck_assert_str_eq(err, "empty item in list 'a,,b'");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* interpolation                                                             */

START_TEST(interp_plain)
{
    ck_assert_str_eq(interp_ok(""), "");
    ck_assert_str_eq(interp_ok("no vars {here}"), "no vars {here}");
    ck_assert_str_eq(interp_ok("${HOST}:${PORT}"), "db.local:5432");
    ck_assert_str_eq(interp_ok("x${UNSET}y"), "xy");
    ck_assert_str_eq(interp_ok("a}b"), "a}b");
    /* a value is not expanded again */
    ck_assert_str_eq(interp_ok("${DOLLAR}"), "$x");
}
END_TEST

START_TEST(interp_default)
{
    ck_assert_str_eq(interp_ok("${UNSET:-fallback}"), "fallback");
    ck_assert_str_eq(interp_ok("${EMPTY:-fallback}"), "fallback");
    ck_assert_str_eq(interp_ok("${HOST:-fallback}"), "db.local");
    ck_assert_str_eq(interp_ok("${UNSET:-}"), "");
    ck_assert_str_eq(interp_ok("${UNSET:-a b:c}"), "a b:c");
    /* nested: the default is expanded itself */
    ck_assert_str_eq(interp_ok("${UNSET:-${B}}"), "bee");
    ck_assert_str_eq(interp_ok("${UNSET:-<${NOPE:-${B}}>}!"), "<bee>!");
    ck_assert_str_eq(interp_ok("${HOST:-${B}}"), "db.local");
    /* an unused default is not evaluated: its :? does not fire */
    ck_assert_str_eq(interp_ok("${HOST:-${NOPE:?boom}}"), "db.local");
}
END_TEST

START_TEST(interp_default_lookups)
{
    /* the unused default is not looked up at all */
    int calls = 0;
    char *out = NULL;
    char err[64];
    ck_assert_int_eq(value_interpolate("${HOST:-${B}}", lookup, &calls, NULL,
                                       &out, err, sizeof err),
                     0);
    ck_assert_str_eq(out, "db.local");
    ck_assert_int_eq(calls, 1);
    free(out);
}
END_TEST

START_TEST(interp_required)
{
    ck_assert_str_eq(interp_ok("${HOST:?need a host}"), "db.local");
    ck_assert_str_eq(interp_err("${UNSET:?need a host}"), "UNSET: need a host");
    ck_assert_str_eq(interp_err("${EMPTY:?set it}"), "EMPTY: set it");
    ck_assert_str_eq(interp_err("x${UNSET:?}"), "UNSET: not set");
    ck_assert_str_eq(interp_err("${UNSET:?no ${B}}"), "UNSET: no bee");
}
END_TEST

START_TEST(interp_dollar)
{
    ck_assert_str_eq(interp_ok("$$"), "$");
    ck_assert_str_eq(interp_ok("cost: $$5"), "cost: $5");
    ck_assert_str_eq(interp_ok("$${HOST}"), "${HOST}");
    ck_assert_str_eq(interp_ok("$$$${HOST}"), "$${HOST}");
    ck_assert_str_eq(interp_ok("$$${HOST}"), "$db.local");
}
END_TEST

START_TEST(interp_errors)
{
    ck_assert_str_eq(interp_err("a$b"),
                     "lone '$' at column 2 (write '$$' for a literal '$')");
    ck_assert_str_eq(interp_err("end$"),
                     "lone '$' at column 4 (write '$$' for a literal '$')");
    ck_assert_str_eq(interp_err("x${HOST"), "unterminated '${' at column 2");
    ck_assert_str_eq(interp_err("${"), "unterminated '${' at column 1");
    ck_assert_str_eq(interp_err("${A:-x"), "unterminated '${' at column 1");
    ck_assert_str_eq(interp_err("${A:-${B}"), "unterminated '${' at column 1");
    ck_assert_str_eq(interp_err("${1X}"), "invalid variable name at column 3");
    ck_assert_str_eq(interp_err("${}"), "invalid variable name at column 3");
    ck_assert_str_eq(interp_err("${-x}"), "invalid variable name at column 3");
    ck_assert_str_eq(interp_err("${A-x}"),
                     "unsupported expansion at column 4 (use ${VAR}, "
                     "${VAR:-default} or ${VAR:?message})");
    ck_assert_str_eq(interp_err("${A B}"),
                     "unsupported expansion at column 4 (use ${VAR}, "
                     "${VAR:-default} or ${VAR:?message})");
    /* syntax errors in an unused default still count */
    ck_assert_str_eq(interp_err("${HOST:-$oops}"),
                     "lone '$' at column 9 (write '$$' for a literal '$')");
}
END_TEST

START_TEST(interp_no_secret_in_errors)
{
    /* Errors never quote the value: it may be a password. */
    const char *e = interp_err("hunter2$hunter2");
    ck_assert_ptr_null(strstr(e, "hunter2"));
}
END_TEST

START_TEST(interp_nesting_limit)
{
    strbuf sb = {0};
    for (int i = 0; i < 40; i++)
        sb_append(&sb, "${U:-");
    sb_append(&sb, "x");
    for (int i = 0; i < 40; i++)
        sb_append(&sb, "}");
    ck_assert_msg(strstr(interp_err(sb_str(&sb)), "nested too deeply"), "%s",
                  interp_err(sb_str(&sb)));
    sb_free(&sb);
}
END_TEST

static Suite *value_suite(void)
{
    Suite *s = suite_create("value");
    TCase *tc = tcase_create("durations");
    tcase_add_test(tc, duration_units);
    tcase_add_test(tc, duration_combos_and_bare);
    tcase_add_test(tc, duration_decimals);
    tcase_add_test(tc, duration_errors);
    tcase_add_test(tc, duration_overflow);
    tcase_add_test(tc, duration_err_truncated);
    suite_add_tcase(s, tc);

    tc = tcase_create("scalars");
    tcase_add_test(tc, percentages);
    tcase_add_test(tc, booleans);
    tcase_add_test(tc, integers);
    suite_add_tcase(s, tc);

    tc = tcase_create("lists");
    tcase_add_test(tc, lists);
    tcase_add_test(tc, list_empty_items);
    suite_add_tcase(s, tc);

    tc = tcase_create("interpolation");
    tcase_add_test(tc, interp_plain);
    tcase_add_test(tc, interp_default);
    tcase_add_test(tc, interp_default_lookups);
    tcase_add_test(tc, interp_required);
    tcase_add_test(tc, interp_dollar);
    tcase_add_test(tc, interp_errors);
    tcase_add_test(tc, interp_no_secret_in_errors);
    tcase_add_test(tc, interp_nesting_limit);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_run(value_suite());
}
