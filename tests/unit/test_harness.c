/* tests/unit/test_harness.c - the SDK's in-process harness
 * (gpcheck/testing.h, libgpcheck-testing.a as installed): gp_test_new()
 * refuses exactly what the loader refuses, and says why; gp_test_validate()
 * runs an ABI 1.2 validate(); GP_OPT_METRICS names are metrics there, and
 * the members of an ABI 1.3 GP_OPT_FAMILY too. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "gpcheck/testing.h"
#include "unit.h"

static gp_outcome report(gp_ctx *ctx, const gp_api *api)
{
    const char *const *items;
    size_t n = api->opt_list(ctx, "names", &items);
    for (size_t i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(items[i], ":"),
                 items[i]);
        api->metric(ctx, name, 1.5);
    }
    api->secret(ctx, "run-time-token");
    return GP_READY;
}

static void judge(gp_ctx *ctx, const gp_api *api)
{
    const char *host = api->opt_string(ctx, "host");
    if (host && strchr(host, ' '))
        api->invalid(ctx, "host", "'%s' has a blank", host);
    if (api->opt_integer(ctx, "port") == 7)
        api->invalid(ctx, "port", "7 is for echo");
    if (host && strncmp(host, "secret:", 7) == 0)
        api->secret(ctx, host + 7);
}

static gp_option opts[5];
static gp_plugin desc;

static void setup(void)
{
    memset(opts, 0, sizeof opts);
    opts[0] = (gp_option){
        .key = "host", .type = GP_TYPE_STRING, .flags = GP_OPT_REQUIRED};
    opts[1] = (gp_option){.key = "port", .type = GP_TYPE_INTEGER, .def = "1"};
    opts[2] = (gp_option){
        .key = "names", .type = GP_TYPE_LIST, .flags = GP_OPT_METRICS};
    desc = (gp_plugin){GP_PLUGIN_HEADER, .name = "harnessed", .options = opts,
                       .check = report, .validate = judge};
}

/* gp_test_new() refuses, and gp_test_error(NULL) names the problem. */
static void refused(const char *why)
{
    gp_test *t = gp_test_new(&desc);
    ck_assert_ptr_null(t);
    ck_assert_ptr_nonnull(gp_test_error(NULL));
    ck_assert_msg(strstr(gp_test_error(NULL), why), "%s", gp_test_error(NULL));
}

START_TEST(refuses_what_the_loader_refuses)
{
    opts[3] = (gp_option){.key = "timeout", .type = GP_TYPE_DURATION};
    refused("'timeout' clashes with a key the core reserves");
    opts[3] = (gp_option){.key = "Port", .type = GP_TYPE_INTEGER};
    refused("invalid key 'Port'");
    opts[3] = (gp_option){.key = "port", .type = GP_TYPE_INTEGER};
    refused("'port' declared twice");
    opts[3] = (gp_option){
        .key = "retries", .type = GP_TYPE_INTEGER, .flags = GP_OPT_FILE};
    refused("GP_OPT_FILE needs a string");
    opts[3] = (gp_option){.key = "x", .type = GP_TYPE_STRING, .flags = 0x80u};
    refused("unknown flags");
    opts[3] = (gp_option){.key = NULL};
    desc.check = NULL;
    refused("no check function");
    setup();
    gp_test *t = gp_test_new(&desc);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_null(gp_test_error(NULL));
    gp_test_free(t);
}
END_TEST

START_TEST(validate_reports_every_bad_value)
{
    gp_test *t = gp_test_new(&desc);
    const char *const *lines;
    ck_assert_int_eq(gp_test_validate(t), -1); /* host is required */
    ck_assert_ptr_nonnull(strstr(gp_test_error(t), "missing required"));
    ck_assert_int_eq(gp_test_set(t, "host", "db.example"), 0);
    ck_assert_int_eq(gp_test_validate(t), 0);
    ck_assert_int_eq(gp_test_set(t, "host", "db example"), 0);
    ck_assert_int_eq(gp_test_set(t, "port", "7"), 0);
    ck_assert_int_eq(gp_test_validate(t), 2);
    ck_assert_uint_eq(gp_test_invalid(t, &lines), 2);
    ck_assert_str_eq(lines[0], "host: 'db example' has a blank");
    ck_assert_str_eq(lines[1], "port: 7 is for echo");
    ck_assert_int_eq(gp_test_set(t, "host", ""), 0);
    ck_assert_int_eq(gp_test_validate(t), -1); /* required, but empty */
    gp_test_free(t);
}
END_TEST

START_TEST(secrets_and_named_metrics)
{
    gp_test *t = gp_test_new(&desc);
    const char *const *texts;
    double v;
    gp_test_set(t, "host", "secret:hunter2");
    ck_assert_int_eq(gp_test_validate(t), 0);
    ck_assert_uint_eq(gp_test_secrets(t, &texts), 1);
    ck_assert_str_eq(texts[0], "hunter2");
    gp_test_set(t, "names", "rta:ms, pl:%");
    ck_assert_int_eq(gp_test_run(t), GP_READY);
    ck_assert(gp_test_metric(t, "rta", &v));
    ck_assert(v == 1.5);
    ck_assert(gp_test_metric(t, "pl", NULL));
    ck_assert_uint_eq(gp_test_secrets(t, &texts), 2);
    ck_assert_str_eq(texts[1], "run-time-token");
    gp_test_set(t, "names", "Bad Name");
    ck_assert_int_eq(gp_test_run(t), GP_UNKNOWN);
    ck_assert_ptr_nonnull(strstr(gp_test_error(t), "invalid metric name"));
    gp_test_free(t);
}
END_TEST

static gp_outcome misuse(gp_ctx *ctx, const gp_api *api)
{
    api->invalid(ctx, "host", "invalid() belongs in validate()");
    return GP_READY;
}

/* check() of a family: every member read back, each reported as the
 * metric of its NAME. */
static gp_outcome family_check(gp_ctx *ctx, const gp_api *api)
{
    const char *const *names, *const *values;
    size_t n = api->opt_family(ctx, "query", &names, &values);
    for (size_t i = 0; i < n; i++)
        api->metric(ctx, names[i], (double)strlen(values[i]));
    api->message(ctx, "%zu members", n);
    return GP_READY;
}

START_TEST(family_members_are_metrics)
{
    opts[3] = (gp_option){
        .key = "query", .type = GP_TYPE_STRING, .flags = GP_OPT_FAMILY};
    desc.check = family_check;
    gp_test *t = gp_test_new(&desc);
    ck_assert_ptr_nonnull(t);
    gp_test_set(t, "host", "h");
    ck_assert_int_eq(gp_test_set(t, "query.cpu", "up"), 0);
    ck_assert_int_eq(gp_test_set(t, "query.ram", "mem"), 0);
    ck_assert_int_eq(gp_test_set(t, "query.cpu", "max(up)"), 0); /* replaced */
    ck_assert_int_eq(gp_test_set(t, "names", "cpu:%"), 0);       /* its unit */
    ck_assert_int_eq(gp_test_run(t), GP_READY);
    ck_assert_str_eq(gp_test_message(t), "2 members");
    double v;
    ck_assert(gp_test_metric(t, "cpu", &v));
    ck_assert_double_eq(v, 7);
    ck_assert(gp_test_metric(t, "ram", &v));
    ck_assert_double_eq(v, 3);
    ck_assert_int_eq(gp_test_set(t, "query", "x"), -1);
    ck_assert_int_eq(gp_test_set(t, "query.Bad", "x"), -1);
    gp_test_free(t);
}
END_TEST

START_TEST(invalid_from_check_is_a_bug)
{
    desc.check = misuse;
    gp_test *t = gp_test_new(&desc);
    gp_test_set(t, "host", "h");
    ck_assert_int_eq(gp_test_run(t), GP_UNKNOWN);
    ck_assert_ptr_nonnull(strstr(gp_test_error(t), "from check()"));
    gp_test_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("harness");
    TCase *tc = tcase_create("harness");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, refuses_what_the_loader_refuses);
    tcase_add_test(tc, validate_reports_every_bad_value);
    tcase_add_test(tc, secrets_and_named_metrics);
    tcase_add_test(tc, invalid_from_check_is_a_bug);
    tcase_add_test(tc, family_members_are_metrics);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
