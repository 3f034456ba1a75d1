/* tests/unit/test_loader.c - core/loader.c's loader_depends_on() and
 * loader_warm(), on the shipped plugins of this build: which of them need
 * OpenSSL or libcurl, and which set-up the run does once, before attempts
 * fork, for a set of them. */
#include <check.h>
#include <stdio.h>

#include "loader.h"
#include "unit.h"

/* The plugin NAME of this build, loaded by path (the loader's own checks
 * run); the test fails when it cannot be loaded. */
static const plugin *shipped(loader *l, const char *name)
{
    char path[4096], err[512] = "";
    snprintf(path, sizeof path, "%s/plugins/%s.so", GP_BUILD_DIR, name);
    const plugin *p = loader_get_path(l, path, err, sizeof err);
    ck_assert_msg(p != NULL, "%s", err);
    return p;
}

START_TEST(openssl_through_libraries)
{
    loader l = {0};
    /* postgres.so -> libpq -> libssl -> libcrypto; clickhouse.so and
     * http.so -> libcurl -> libssl -> libcrypto: never directly. */
    ck_assert_int_eq(loader_depends_on(shipped(&l, "postgres"), "libcrypto.so"),
                     1);
    ck_assert_int_eq(
        loader_depends_on(shipped(&l, "clickhouse"), "libcrypto.so"), 1);
    ck_assert_int_eq(loader_depends_on(shipped(&l, "http"), "libcrypto.so"), 1);
    ck_assert_int_eq(loader_depends_on(shipped(&l, "postgres"), "libpq.so"), 1);
    loader_free(&l, 1);
}
END_TEST

START_TEST(not_for_plugins_without_it)
{
    loader l = {0};
    const plugin *tcp = shipped(&l, "tcp");
    ck_assert_int_eq(loader_depends_on(tcp, "libcrypto.so"), 0);
    ck_assert_int_eq(loader_depends_on(tcp, "libpq.so"), 0);
    /* libc is there, so the walk itself works */
    ck_assert_int_eq(loader_depends_on(tcp, "libc.so"), 1);
    ck_assert_int_eq(loader_depends_on(shipped(&l, "dns"), "libpq.so"), 0);
    /* a built-in fake has no handle */
    plugin fake = {0};
    ck_assert_int_eq(loader_depends_on(&fake, "libc.so"), 0);
    loader_free(&l, 1);
}
END_TEST

START_TEST(warm_what_the_plugins_need)
{
    loader l = {0};
    const plugin *tcp = shipped(&l, "tcp"), *dns = shipped(&l, "dns");
    const plugin *redis = shipped(&l, "redis");
    const plugin *pg = shipped(&l, "postgres"), *http = shipped(&l, "http");
    plugin fake = {0};
    /* tcp, dns, redis: nothing to set up */
    const plugin *plain[] = {tcp, dns, redis, tcp, &fake, NULL};
    ck_assert_uint_eq(loader_warm(plain, 6), 0);
    ck_assert_uint_eq(loader_warm(NULL, 0), 0);
    /* postgres: libpq -> libssl, so OpenSSL's own set-up */
    const plugin *db[] = {tcp, pg, pg};
    ck_assert_uint_eq(loader_warm(db, 3), LOADER_WARM_SSL);
    /* http's libcurl: curl_global_init, which sets OpenSSL up as well,
     * wherever in the set the plugin comes */
    const plugin *web[] = {pg, tcp, http};
    ck_assert_uint_eq(loader_warm(web, 3), LOADER_WARM_CURL);
    const plugin *web1[] = {http};
    ck_assert_uint_eq(loader_warm(web1, 1), LOADER_WARM_CURL);
    loader_free(&l, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loader");
    TCase *tc = tcase_create("depends_on");
    tcase_add_test(tc, openssl_through_libraries);
    tcase_add_test(tc, not_for_plugins_without_it);
    tcase_add_test(tc, warm_what_the_plugins_need);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
