/* plugins/exec/test_perfdata.c - the monitoring-plugins output parser
 * (perfdata.c): status text, long text, perfdata items and units, the
 * malformed and the odd, and label -> metric names. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perfdata.h"

static perf_output out;

static void parse(const char *s)
{
    ck_assert_int_eq(perf_parse(s, strlen(s), &out), 0);
}

static void teardown(void)
{
    perf_output_free(&out);
}

static const perf_item *item(const char *label)
{
    for (size_t i = 0; i < out.n; i++)
        if (strcmp(out.items[i].label, label) == 0)
            return &out.items[i];
    return NULL;
}

START_TEST(check_ping_line)
{
    parse("PING OK - Packet loss = 0%, RTA = 0.06 ms|rta=0.059000ms;100.000000;"
          "200.000000;0.000000 pl=0%;20;50;0;\n");
    ck_assert_str_eq(out.text, "PING OK - Packet loss = 0%, RTA = 0.06 ms");
    ck_assert_uint_eq(out.n, 2);
    ck_assert_int_eq(item("rta")->cls, PC_TIME);
    ck_assert_double_eq_tol(item("rta")->value, 0.059, 1e-9);
    ck_assert_int_eq(item("pl")->cls, PC_PERCENT);
    ck_assert_double_eq(item("pl")->value, 0.0);
}
END_TEST

START_TEST(units_convert)
{
    parse("OK | a=1.5s b=2500us c=3ns d=2KB e=1KiB f=3c g=7 h=1.5e3ms");
    ck_assert_double_eq_tol(item("a")->value, 1500.0, 1e-9);
    ck_assert_double_eq_tol(item("b")->value, 2.5, 1e-9);
    ck_assert_double_eq_tol(item("c")->value, 3e-6, 1e-15);
    ck_assert_int_eq(item("d")->cls, PC_BYTES);
    ck_assert_double_eq(item("d")->value, 2000.0);
    ck_assert_double_eq(item("e")->value, 1024.0);
    ck_assert_int_eq(item("f")->cls, PC_COUNT);
    ck_assert_int_eq(item("g")->cls, PC_VALUE);
    ck_assert_double_eq_tol(item("h")->value, 1500.0, 1e-9);
}
END_TEST

START_TEST(long_text_and_later_perfdata)
{
    parse("DISK OK | /=10MB\nline two\nline three | 'conn time'=5ms\n"
          "x=1 'it''s'=2\n");
    ck_assert_str_eq(out.text, "DISK OK");
    ck_assert_uint_eq(out.n_long, 2);
    ck_assert_str_eq(out.long_text[0], "line two");
    ck_assert_str_eq(out.long_text[1], "line three");
    ck_assert_ptr_nonnull(item("/"));
    ck_assert_ptr_nonnull(item("conn time"));
    ck_assert_ptr_nonnull(item("x"));
    ck_assert_ptr_nonnull(item("it's"));
}
END_TEST

START_TEST(malformed_items_are_skipped_and_noted)
{
    parse("WARN | x=abc y=1,5 noequals z=U 'open=1 w=inf q=2Q ok=1");
    ck_assert_ptr_null(item("x"));
    ck_assert_ptr_null(item("y"));
    ck_assert_ptr_null(item("z"));
    ck_assert_ptr_null(item("w"));
    ck_assert_ptr_nonnull(item("ok"));
    /* an unknown unit keeps the number, as a plain value */
    ck_assert_int_eq(item("q")->cls, PC_VALUE);
    ck_assert_double_eq(item("q")->value, 2.0);
    ck_assert_uint_ge(out.n_notes, 5);
}
END_TEST

/* Finite as printed, infinite in the class's unit: the core's JSON cannot
 * carry it (found by tests/fuzz/fuzz_exec_perfdata.c). */
START_TEST(values_out_of_range_in_their_unit_are_skipped)
{
    parse("OK | big=1e300PB huge=1e308PiB fine=1e300B t=1e306s");
    ck_assert_ptr_null(item("big"));
    ck_assert_ptr_null(item("huge"));
    ck_assert_ptr_null(item("t"));
    ck_assert_ptr_nonnull(item("fine"));
    ck_assert_uint_eq(out.n, 1);
    ck_assert_ptr_nonnull(strstr(out.notes[0], "out of range"));
}
END_TEST

START_TEST(nul_bytes_and_empty_output)
{
    static const char raw[] = "OK\0hidden | a=1";
    ck_assert_int_eq(perf_parse(raw, sizeof raw - 1, &out), 0);
    ck_assert_str_eq(out.text, "OK hidden");
    ck_assert_uint_eq(out.n, 1);
    perf_output_free(&out);
    parse("");
    ck_assert_str_eq(out.text, "");
    ck_assert_uint_eq(out.n, 0);
}
END_TEST

START_TEST(items_beyond_the_cap_are_counted)
{
    char buf[PERF_MAX_ITEMS * 16 + 64];
    size_t n = (size_t)snprintf(buf, sizeof buf, "OK |");
    for (int i = 0; i < PERF_MAX_ITEMS + 3; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, " m%d=%d", i, i);
    parse(buf);
    ck_assert_uint_eq(out.n, PERF_MAX_ITEMS);
    ck_assert_uint_eq(out.dropped, 3);
}
END_TEST

START_TEST(long_labels_are_cut)
{
    char buf[PERF_MAX_LABEL * 2 + 32];
    memset(buf, 'a', sizeof buf);
    memcpy(buf, "OK | ", 5);
    snprintf(buf + 5 + PERF_MAX_LABEL + 10, 8, "=1");
    parse(buf);
    ck_assert_uint_eq(out.n, 1);
    ck_assert_uint_eq(strlen(out.items[0].label), PERF_MAX_LABEL - 1);
}
END_TEST

START_TEST(metric_names_from_labels)
{
    char name[32];
    perf_metric_name("rta", name, sizeof name);
    ck_assert_str_eq(name, "rta");
    perf_metric_name("Time Used", name, sizeof name);
    ck_assert_str_eq(name, "time_used");
    perf_metric_name("/var/log", name, sizeof name);
    ck_assert_str_eq(name, "_var_log");
    perf_metric_name("a-very-long-label-that-does-not-fit", name, 8);
    ck_assert_str_eq(name, "a_very_");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("perfdata");
    TCase *tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, check_ping_line);
    tcase_add_test(tc, units_convert);
    tcase_add_test(tc, long_text_and_later_perfdata);
    tcase_add_test(tc, malformed_items_are_skipped_and_noted);
    tcase_add_test(tc, nul_bytes_and_empty_output);
    tcase_add_test(tc, items_beyond_the_cap_are_counted);
    tcase_add_test(tc, long_labels_are_cut);
    tcase_add_test(tc, metric_names_from_labels);
    tcase_add_test(tc, values_out_of_range_in_their_unit_are_skipped);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
