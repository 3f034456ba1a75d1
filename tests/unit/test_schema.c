/* tests/unit/test_schema.c - the one schema check (core/schema.c) the
 * loader, the config resolver and the SDK harness share: ABI version and
 * descriptor size per minor, names, option keys against the reserved keys
 * and each other, flags per type, metrics, and GP_OPT_METRICS items. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "unit.h"

static gp_outcome ok_check(gp_ctx *ctx, const gp_api *api)
{
    (void)ctx;
    (void)api;
    return GP_READY;
}

static gp_option opts[4];
static gp_metric mets[3];
static gp_plugin desc;
static char err[256];
static size_t n_opts, n_mets;

static void setup(void)
{
    memset(opts, 0, sizeof opts);
    memset(mets, 0, sizeof mets);
    opts[0] = (gp_option){.key = "host", .type = GP_TYPE_STRING};
    mets[0] = (gp_metric){.name = "connect_time", .unit = GP_UNIT_MS};
    desc = (gp_plugin){GP_PLUGIN_HEADER, .name = "demo", .options = opts,
                       .metrics = mets, .check = ok_check};
    err[0] = '\0';
}

static int check_desc(void)
{
    return schema_check_desc(&desc, NULL, &n_opts, &n_mets, err, sizeof err);
}

START_TEST(a_good_descriptor)
{
    ck_assert_int_eq(check_desc(), 0);
    ck_assert_uint_eq(n_opts, 1);
    ck_assert_uint_eq(n_mets, 1);
}
END_TEST

START_TEST(reserved_keys_are_refused)
{
    opts[1] = (gp_option){.key = "timeout", .type = GP_TYPE_DURATION};
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(strstr(err, "'timeout' clashes with a key"));
    ck_assert_int_eq(schema_reserved_since("timeout"), 0);
    ck_assert_int_eq(schema_reserved_since("warn_if"), 0);
    ck_assert_int_eq(schema_reserved_since("host"), -1);
}
END_TEST

START_TEST(invalid_and_duplicate_keys)
{
    opts[1] = (gp_option){.key = "Bad-Key", .type = GP_TYPE_STRING};
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(strstr(err, "invalid key 'Bad-Key'"));
    opts[1] = (gp_option){.key = "host", .type = GP_TYPE_INTEGER};
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(strstr(err, "'host' declared twice"));
}
END_TEST

START_TEST(flags_per_type)
{
    opts[1] = (gp_option){
        .key = "port", .type = GP_TYPE_INTEGER, .flags = GP_OPT_FILE};
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(strstr(err, "GP_OPT_FILE needs a string"));
    opts[1].flags = GP_OPT_CONNINFO;
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(strstr(err, "GP_OPT_CONNINFO needs a string"));
    opts[1] = (gp_option){
        .key = "names", .type = GP_TYPE_STRING, .flags = GP_OPT_METRICS};
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(strstr(err, "GP_OPT_METRICS needs a list"));
    opts[1] = (gp_option){.key = "names",
                          .type = GP_TYPE_LIST,
                          .flags = GP_OPT_METRICS | GP_OPT_REQUIRED};
    ck_assert_int_eq(check_desc(), 0);
    opts[2] = (gp_option){
        .key = "more", .type = GP_TYPE_LIST, .flags = GP_OPT_METRICS};
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(strstr(err, "both carry GP_OPT_METRICS"));
    opts[2] = (gp_option){.key = "more", .type = GP_TYPE_LIST, .flags = 0x40u};
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(strstr(err, "unknown flags 0x40"));
    opts[2] = (gp_option){.key = "more", .type = (gp_type)9};
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(strstr(err, "invalid type 9"));
}
END_TEST

START_TEST(metrics)
{
    mets[1] = (gp_metric){.name = "connect_time", .unit = GP_UNIT_COUNT};
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(strstr(err, "'connect_time' declared twice"));
    mets[1] = (gp_metric){.name = "9lives", .unit = GP_UNIT_COUNT};
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(strstr(err, "invalid name '9lives'"));
    mets[1] = (gp_metric){.name = "lives", .unit = (gp_unit)7};
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(strstr(err, "invalid unit 7"));
}
END_TEST

/* ABI 1.3: a family is a string, with no default and no flag but
 * GP_OPT_REQUIRED. */
START_TEST(family_flag)
{
    opts[1] = (gp_option){
        .key = "query", .type = GP_TYPE_STRING, .flags = GP_OPT_FAMILY};
    ck_assert_int_eq(check_desc(), 0);
    opts[1].flags |= GP_OPT_REQUIRED;
    ck_assert_int_eq(check_desc(), 0);
    opts[1].type = GP_TYPE_LIST;
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(strstr(err, "GP_OPT_FAMILY needs a string"));
    opts[1].type = GP_TYPE_STRING;
    opts[1].flags = GP_OPT_FAMILY | GP_OPT_SECRET;
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(strstr(err, "combines with GP_OPT_REQUIRED only"));
    opts[1].flags = GP_OPT_FAMILY;
    opts[1].def = "up";
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(strstr(err, "has no default"));
}
END_TEST

/* ABI 1.3 reserves the core's metric names for plugins of 1.3 and later;
 * an older plugin declaring one still loads. */
START_TEST(core_metric_names)
{
    mets[1] = (gp_metric){.name = "duration", .unit = GP_UNIT_MS};
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(
        strstr(err, "'duration' clashes with a metric the core measures"));
    desc.abi_minor = 2;
    desc.size = (uint32_t)schema_desc_size(2);
    ck_assert_int_eq(check_desc(), 0);
    ck_assert_int_eq(schema_core_metric_since("ready_after"), 3);
    ck_assert_int_eq(schema_core_metric_since("connect_time"), -1);
}
END_TEST

START_TEST(abi_names_and_check)
{
    desc.abi_minor = GP_ABI_MINOR + 1;
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(strstr(err, "not supported"));
    setup();
    desc.abi_major = GP_ABI_MAJOR + 1;
    ck_assert_int_eq(check_desc(), -1);
    setup();
    desc.name = "Demo!";
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(strstr(err, "invalid plugin name"));
    setup();
    ck_assert_int_eq(
        schema_check_desc(&desc, "other", &n_opts, &n_mets, err, sizeof err),
        -1);
    ck_assert_ptr_nonnull(strstr(err, "expected 'other'"));
    setup();
    desc.check = NULL;
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(strstr(err, "no check function"));
    ck_assert_int_eq(
        schema_check_desc(NULL, NULL, &n_opts, &n_mets, err, sizeof err), -1);
}
END_TEST

static void a_validate(gp_ctx *ctx, const gp_api *api)
{
    (void)ctx;
    (void)api;
}

START_TEST(size_per_minor)
{
    /* 1.2 grew validate at the end, 1.3 urls; a 1.1 descriptor is the
     * shorter one, and its validate slot, past its end, is never read. */
    ck_assert_uint_eq(schema_desc_size(3), sizeof(gp_plugin));
    ck_assert_uint_eq(schema_desc_size(2), offsetof(gp_plugin, urls));
    ck_assert_uint_eq(schema_desc_size(1), offsetof(gp_plugin, validate));
    ck_assert_uint_eq(schema_desc_size(0), schema_desc_size(1));
    desc.validate = a_validate;
    ck_assert_ptr_eq((void *)schema_validate_fn(&desc), (void *)a_validate);
    desc.abi_minor = 1;
    desc.size = (uint32_t)schema_desc_size(1);
    ck_assert_int_eq(check_desc(), 0);
    ck_assert_ptr_null((void *)schema_validate_fn(&desc));
    desc.abi_minor = 2;
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(strstr(err, "smaller than ABI 1.2"));
}
END_TEST

/* A 1.2 descriptor has no urls field: the loader never reads past it. */
START_TEST(url_maps_need_1_3)
{
    static const gp_url_map maps[] = {{.schemes = "demo", .host = "host"},
                                      {.schemes = NULL}};
    desc.urls = maps;
    ck_assert_ptr_eq(schema_url_maps(&desc), maps);
    ck_assert_int_eq(check_desc(), 0);
    desc.abi_minor = 2;
    desc.size = (uint32_t)schema_desc_size(2);
    ck_assert_ptr_null(schema_url_maps(&desc));
    ck_assert_int_eq(check_desc(), 0);
}
END_TEST

/* The map is checked against the schema when the plugin loads. */
START_TEST(url_maps_against_the_schema)
{
    static const struct {
        gp_url_map map;
        const char *why; /* NULL: accepted */
    } cases[] = {
        {{.schemes = "demo|demo+tls",
          .host = "host",
          .port = "port",
          .password = "password",
          .path = "db",
          .flags = GP_URL_QUERY_OPTIONS},
         NULL},
        {{.schemes = "demo", .host = "server", .port = "server"}, NULL},
        {{.schemes = "demo", .url = "nope"},
         "url goes to undeclared option 'nope'"},
        {{.schemes = "demo", .host = "port"},
         "host cannot go to option 'port' (wrong type)"},
        {{.schemes = "demo", .host = "host", .password = "host"},
         "a password needs a GP_OPT_SECRET string"},
        {{.schemes = "demo", .host = "host", .port = "db"}, NULL},
        {{.schemes = "demo", .host = "host", .user = "port"},
         "user cannot go to option 'port'"},
        {{.schemes = "Demo", .host = "host"}, "invalid scheme list 'Demo'"},
        {{.schemes = "demo|", .host = "host"}, "invalid scheme list"},
        {{.schemes = "demo|x|demo", .host = "host"},
         "URL scheme 'demo' mapped twice"},
        {{.schemes = "demo", .port = "port"}, "neither url nor host"},
        {{.schemes = "demo", .host = "host", .flags = 0x8},
         "unknown flags 0x8"},
    };
    static gp_option o[6];
    o[0] = (gp_option){.key = "host", .type = GP_TYPE_STRING};
    o[1] = (gp_option){.key = "port", .type = GP_TYPE_INTEGER};
    o[2] = (gp_option){
        .key = "password", .type = GP_TYPE_STRING, .flags = GP_OPT_SECRET};
    o[3] = (gp_option){.key = "db", .type = GP_TYPE_INTEGER};
    o[4] = (gp_option){.key = "server", .type = GP_TYPE_LIST};
    desc.options = o;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gp_url_map maps[3] = {cases[i].map, {.schemes = NULL}};
        desc.urls = maps;
        err[0] = '\0';
        if (!cases[i].why) {
            ck_assert_msg(check_desc() == 0, "case %zu: %s", i, err);
            continue;
        }
        ck_assert_int_eq(check_desc(), -1);
        ck_assert_msg(strstr(err, cases[i].why), "case %zu: %s", i, err);
    }
    /* A scheme in two maps of one plugin. */
    gp_url_map two[] = {{.schemes = "a|b", .host = "host"},
                        {.schemes = "c|b", .host = "host"},
                        {.schemes = NULL}};
    desc.urls = two;
    ck_assert_int_eq(check_desc(), -1);
    ck_assert_ptr_nonnull(strstr(err, "URL scheme 'b' mapped twice"));
}
END_TEST

START_TEST(metric_items)
{
    char *name = NULL;
    gp_unit unit;
    ck_assert_int_eq(
        schema_metric_item(" rta : ms ", &name, &unit, err, sizeof err), 0);
    ck_assert_str_eq(name, "rta");
    ck_assert_int_eq(unit, GP_UNIT_MS);
    free(name);
    ck_assert_int_eq(schema_metric_item("pl:%", &name, &unit, err, sizeof err),
                     0);
    ck_assert_int_eq(unit, GP_UNIT_PERCENT);
    free(name);
    ck_assert_int_eq(schema_metric_item("load1", &name, &unit, err, sizeof err),
                     0);
    ck_assert_int_eq(unit, GP_UNIT_NONE);
    free(name);
    ck_assert_int_eq(
        schema_metric_item("Time Used:ms", &name, &unit, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "invalid metric name 'Time Used'"));
    ck_assert_int_eq(
        schema_metric_item("x:seconds", &name, &unit, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "unknown unit 'seconds'"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("schema");
    TCase *tc = tcase_create("schema");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, a_good_descriptor);
    tcase_add_test(tc, reserved_keys_are_refused);
    tcase_add_test(tc, invalid_and_duplicate_keys);
    tcase_add_test(tc, flags_per_type);
    tcase_add_test(tc, metrics);
    tcase_add_test(tc, family_flag);
    tcase_add_test(tc, core_metric_names);
    tcase_add_test(tc, abi_names_and_check);
    tcase_add_test(tc, size_per_minor);
    tcase_add_test(tc, url_maps_need_1_3);
    tcase_add_test(tc, url_maps_against_the_schema);
    tcase_add_test(tc, metric_items);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
