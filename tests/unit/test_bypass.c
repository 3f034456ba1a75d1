/* tests/unit/test_bypass.c - the emergency bypass: expiry parsing (dates,
 * date-times, zones), enforcement against a clock set by the test,
 * max_days, required fields, scope, and the command line. */
#include <check.h>
#include <string.h>

#include "bypass.h"
#include "unit.h"
#include "util.h"

/* 2025-09-17 12:00:00 UTC, the day before the seed's expiry. */
#define NOON_0917 INT64_C(1758110400000)
#define HOUR INT64_C(3600000)
#define DAY (24 * HOUR)

static int64_t expiry(const char *when)
{
    int64_t ms = -1;
    char err[256];
    ck_assert_msg(bypass_parse_expiry(when, &ms, err, sizeof err) == 0,
                  "'%s': %s", when, err);
    return ms;
}

START_TEST(dates_mean_the_end_of_that_day_utc)
{
    /* 2025-09-18 ends at 2025-09-19T00:00:00Z */
    ck_assert_int_eq(expiry("2025-09-18"), NOON_0917 + 36 * HOUR);
    ck_assert_int_eq(expiry(" 2025-09-18 "), NOON_0917 + 36 * HOUR);
    ck_assert_int_eq(expiry("2024-02-29"), expiry("2024-03-01") - DAY);
    ck_assert_int_eq(expiry("1970-01-01"), DAY);
}
END_TEST

START_TEST(date_times_with_zones)
{
    int64_t end0918 = NOON_0917 + 36 * HOUR; /* 2025-09-19T00:00Z */
    ck_assert_int_eq(expiry("2025-09-19T00:00:00Z"), end0918);
    ck_assert_int_eq(expiry("2025-09-19T00:00Z"), end0918);
    ck_assert_int_eq(expiry("2025-09-19T02:00:00+02:00"), end0918);
    ck_assert_int_eq(expiry("2025-09-19T02:00:00+0200"), end0918);
    ck_assert_int_eq(expiry("2025-09-18T19:00:00-05:00"), end0918);
    ck_assert_int_eq(expiry("2025-09-18 19:30:00-04:30"), end0918);
}
END_TEST

START_TEST(bad_expiries)
{
    const char *bad[] = {"2025-9-18",
                         "2025-09-31",
                         "2025-02-29",
                         "18.09.2025",
                         "2025-09-18T17:00",
                         "2025-09-18T25:00Z",
                         "2025-09-18T17:00+2",
                         "2025-09-18 garbage",
                         "",
                         "tomorrow"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t ms;
        char err[256];
        ck_assert_msg(bypass_parse_expiry(bad[i], &ms, err, sizeof err) == -1,
                      "accepted '%s'", bad[i]);
    }
    char err[256];
    int64_t ms;
    bypass_parse_expiry("2025-09-18T17:00", &ms, err, sizeof err);
    ck_assert_ptr_nonnull(strstr(err, "no time zone"));
}
END_TEST

/* A [bypass] section built in memory, as config_load leaves it. */
static cfg_section sec;
static cfg_entry entries[8];

static void section(const char *const *kv)
{
    memset(&sec, 0, sizeof sec);
    memset(entries, 0, sizeof entries);
    sec.name = "bypass";
    sec.at = (origin){"gpcheck.ini", 10};
    sec.entries = entries;
    for (size_t i = 0; kv[2 * i]; i++) {
        entries[i].key = (char *)kv[2 * i];
        entries[i].value = (char *)kv[2 * i + 1];
        entries[i].at = (origin){"gpcheck.ini", 11 + (int)i};
        sec.n++;
    }
}

static char *diags(const diag *d)
{
    strbuf sb = {0};
    for (size_t i = 0; i < d->n; i++)
        sb_appendf(&sb, "%s:%d: %s\n",
                   d->items[i].file ? d->items[i].file : "-", d->items[i].line,
                   d->items[i].msg);
    return sb_take(&sb);
}

START_TEST(seed_bypass_expired)
{
    const char *kv[] = {"enabled", "true",          "expires", "2025-09-18",
                        "reason",  "incident 1278", NULL};
    section(kv);
    bypass b;
    diag d = {0};
    /* The day after the expiry: loaded, but not applied. */
    ck_assert_int_eq(bypass_load(&b, &sec, NULL, NOON_0917 + 2 * DAY, &d), 0);
    ck_assert_int_eq(d.n, 0);
    ck_assert(b.enabled);
    ck_assert(b.expired);
    ck_assert(!b.active);
    bypass_free(&b);
    /* The last minute of the 18th: still active. */
    ck_assert_int_eq(
        bypass_load(&b, &sec, NULL, NOON_0917 + 36 * HOUR - 60000, &d), 0);
    ck_assert(b.active);
    ck_assert(!b.expired);
    ck_assert(b.scope_all);
    ck_assert_str_eq(b.reason, "incident 1278");
    bypass_free(&b);
    /* Midnight UTC: expired. */
    ck_assert_int_eq(bypass_load(&b, &sec, NULL, NOON_0917 + 36 * HOUR, &d), 0);
    ck_assert(b.expired);
    bypass_free(&b);
    diag_free(&d);
}
END_TEST

START_TEST(max_days)
{
    const char *kv[] = {"enabled", "yes", "expires", "2025-09-25",
                        "reason",  "x",   NULL};
    section(kv);
    bypass b;
    diag d = {0};
    /* 2025-09-17 noon + 7 days = 09-24 noon; the 25th ends 8.5 days later */
    ck_assert_int_eq(bypass_load(&b, &sec, NULL, NOON_0917, &d), -1);
    char *all = diags(&d);
    ck_assert_str_eq(all, "gpcheck.ini:12: [bypass]: expires: 2025-09-25 is "
                          "more than max_days (7) ahead: an emergency bypass "
                          "is short-lived by design\n");
    free(all);
    bypass_free(&b);
    diag_free(&d);

    const char *kv2[] = {"enabled",    "yes",    "expires",
                         "2025-09-25", "reason", "x",
                         "max_days",   "9",      NULL};
    section(kv2);
    ck_assert_int_eq(bypass_load(&b, &sec, NULL, NOON_0917, &d), 0);
    ck_assert(b.active);
    ck_assert_int_eq(b.max_days, 9);
    bypass_free(&b);
    diag_free(&d);
}
END_TEST

START_TEST(required_fields)
{
    const char *kv[] = {"enabled", "true",      "expires", "",    "reason", " ",
                        "scope",   "db, cache", "colour",  "red", NULL};
    section(kv);
    bypass b;
    diag d = {0};
    ck_assert_int_eq(bypass_load(&b, &sec, NULL, NOON_0917, &d), -1);
    char *all = diags(&d);
    ck_assert_str_eq(all, "gpcheck.ini:15: unknown key 'colour' in [bypass]\n");
    free(all);
    bypass_free(&b);
    diag_free(&d);

    const char *kv2[] = {"enabled", "true", "expires", "", "reason", " ", NULL};
    section(kv2);
    ck_assert_int_eq(bypass_load(&b, &sec, NULL, NOON_0917, &d), -1);
    all = diags(&d);
    ck_assert_str_eq(all, "gpcheck.ini:10: the emergency bypass is enabled "
                          "without a reason\n"
                          "gpcheck.ini:10: the emergency bypass is enabled "
                          "without an expiry (expires = YYYY-MM-DD)\n");
    free(all);
    bypass_free(&b);
    diag_free(&d);
}
END_TEST

START_TEST(disabled_needs_nothing)
{
    /* The shipped example: ${EMERGENCY_DEVELOPMENT_MODE:-false} etc. */
    const char *kv[] = {"enabled", "false", "expires", "", "reason", "", NULL};
    section(kv);
    bypass b;
    diag d = {0};
    ck_assert_int_eq(bypass_load(&b, &sec, NULL, NOON_0917, &d), 0);
    ck_assert(b.configured);
    ck_assert(!b.enabled);
    ck_assert(!b.active);
    bypass_free(&b);
    ck_assert_int_eq(bypass_load(&b, NULL, NULL, NOON_0917, &d), 0);
    ck_assert(!b.configured);
    bypass_free(&b);
    diag_free(&d);
}
END_TEST

START_TEST(scope_by_tags)
{
    const char *kv[] = {"enabled",    "on",           "expires",
                        "2025-09-18", "reason",       "r",
                        "scope",      "db, capacity", NULL};
    section(kv);
    bypass b;
    diag d = {0};
    ck_assert_int_eq(bypass_load(&b, &sec, NULL, NOON_0917, &d), 0);
    ck_assert(!b.scope_all);
    char *t1[] = {"web", "capacity"};
    char *t2[] = {"web"};
    ck_assert(bypass_in_scope(&b, t1, 2));
    ck_assert(!bypass_in_scope(&b, t2, 1));
    ck_assert(!bypass_in_scope(&b, NULL, 0));
    bypass_free(&b);
    diag_free(&d);
}
END_TEST

START_TEST(command_line)
{
    bypass b;
    diag d = {0};
    bypass_cli cli = {.reason = "INC-7 VPC connector", .expires = "2025-09-18"};
    ck_assert_int_eq(bypass_load(&b, NULL, &cli, NOON_0917, &d), 0);
    ck_assert(b.active);
    ck_assert(b.from_cli);
    bypass_free(&b);
    /* the command line overrides a disabled [bypass] but keeps its scope */
    const char *kv[] = {"enabled", "false", "scope", "db", NULL};
    section(kv);
    ck_assert_int_eq(bypass_load(&b, &sec, &cli, NOON_0917, &d), 0);
    ck_assert(b.active);
    ck_assert(!b.scope_all);
    bypass_free(&b);
    bypass_cli half = {.reason = "x"};
    ck_assert_int_eq(bypass_load(&b, NULL, &half, NOON_0917, &d), -1);
    ck_assert_ptr_nonnull(strstr(d.items[0].msg, "go together"));
    bypass_free(&b);
    diag_free(&d);
}
END_TEST

START_TEST(format_time)
{
    char buf[64];
    bypass_format_time(expiry("2025-09-18"), buf, sizeof buf);
    ck_assert_str_eq(buf, "2025-09-18 23:59:59 UTC");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bypass");
    TCase *tc = tcase_create("expiry");
    tcase_add_test(tc, dates_mean_the_end_of_that_day_utc);
    tcase_add_test(tc, date_times_with_zones);
    tcase_add_test(tc, bad_expiries);
    tcase_add_test(tc, seed_bypass_expired);
    tcase_add_test(tc, max_days);
    tcase_add_test(tc, required_fields);
    tcase_add_test(tc, disabled_needs_nothing);
    tcase_add_test(tc, scope_by_tags);
    tcase_add_test(tc, command_line);
    tcase_add_test(tc, format_time);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
