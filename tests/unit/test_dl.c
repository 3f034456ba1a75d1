/* tests/unit/test_dl.c - core/dl.c: libcurl, SQLite and libmicrohttpd
 * loaded on first use through the same dlopen() path the executable takes
 * (this test links none of them: gpcheck_core carries only their headers),
 * the sym_ functions working, and a missing or wrong library refused with
 * a message naming it and the feature. Each test runs in its own fork, so
 * each starts with nothing loaded. */
#include <check.h>
#include <dlfcn.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dl.h"
#include "unit.h"

/* Is SONAME in this process (loaded, or linked)? */
static int mapped(const char *soname)
{
    void *h = dlopen(soname, RTLD_LAZY | RTLD_NOLOAD);
    if (h)
        dlclose(h); /* the reference RTLD_NOLOAD took */
    return h != NULL;
}

START_TEST(sqlite_loaded_on_first_use)
{
    char err[512] = "";
    ck_assert_int_eq(mapped(DL_SQLITE_SONAME), 0);
    ck_assert_ptr_null(sym_sqlite3_open_v2);
    ck_assert_int_eq(dl_sqlite("the test", err, sizeof err), 0);
    ck_assert_int_eq(mapped(DL_SQLITE_SONAME), 1);
    sqlite3 *db = NULL;
    ck_assert_int_eq(
        sym_sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, NULL),
        SQLITE_OK);
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sym_sqlite3_prepare_v2(db, "SELECT 6 * 7", -1, &st, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sym_sqlite3_step(st), SQLITE_ROW);
    ck_assert_int_eq(sym_sqlite3_column_int64(st, 0), 42);
    sym_sqlite3_finalize(st);
    sym_sqlite3_close(db);
    /* once loaded, later calls do nothing more */
    void *step = (void *)sym_sqlite3_step;
    ck_assert_int_eq(dl_sqlite("the test", err, sizeof err), 0);
    ck_assert_ptr_eq((void *)sym_sqlite3_step, step);
}
END_TEST

START_TEST(curl_loaded_on_first_use)
{
    char err[512] = "";
    ck_assert_int_eq(mapped(DL_CURL_SONAME), 0);
    ck_assert_int_eq(dl_curl("the test", err, sizeof err), 0);
    ck_assert_int_eq(mapped(DL_CURL_SONAME), 1);
    CURLU *u = sym_curl_url();
    ck_assert_ptr_nonnull(u);
    ck_assert_int_eq(
        sym_curl_url_set(u, CURLUPART_URL, "http://db.test:5432/x", 0),
        CURLUE_OK);
    char *host = NULL;
    ck_assert_int_eq(sym_curl_url_get(u, CURLUPART_HOST, &host, 0), CURLUE_OK);
    ck_assert_str_eq(host, "db.test");
    sym_curl_free(host);
    sym_curl_url_cleanup(u);
    ck_assert_str_eq(sym_curl_url_strerror(CURLUE_OK), "No error");
}
END_TEST

START_TEST(mhd_loaded_on_first_use)
{
    char err[512] = "";
    ck_assert_int_eq(mapped(DL_MHD_SONAME), 0);
    ck_assert_int_eq(dl_mhd("the test", err, sizeof err), 0);
    ck_assert_int_eq(mapped(DL_MHD_SONAME), 1);
    /* Debian's libmicrohttpd logs messages; a call through the table */
    ck_assert_int_eq(sym_MHD_is_feature_supported(MHD_FEATURE_MESSAGES),
                     MHD_YES);
}
END_TEST

START_TEST(missing_library_named_with_the_feature)
{
    char err[512] = "";
    setenv(DL_TEST_DIR_ENV, "/nonexistent-gpcheck-dl", 1);
    ck_assert_int_eq(dl_sqlite("--history", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "/nonexistent-gpcheck-dl/libsqlite3.so.0: "
                              "cannot open shared object file") != NULL,
                  "%s", err);
    ck_assert_msg(strstr(err, "(needed by --history)") != NULL, "%s", err);
    ck_assert_ptr_null(sym_sqlite3_step);
    ck_assert_int_eq(mapped(DL_SQLITE_SONAME), 0);
    ck_assert_int_eq(dl_curl("--gate", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "libcurl.so.4") && strstr(err, "(needed by "
                                                             "--gate)"),
                  "%s", err);
    ck_assert_int_eq(dl_mhd("gpcheck serve", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "libmicrohttpd.so.12") &&
                      strstr(err, "(needed by gpcheck serve)"),
                  "%s", err);
    /* a failure is not remembered: the library found later is loaded */
    unsetenv(DL_TEST_DIR_ENV);
    ck_assert_int_eq(dl_sqlite("--history", err, sizeof err), 0);
    ck_assert_ptr_nonnull(sym_sqlite3_step);
}
END_TEST

START_TEST(wrong_library_refused)
{
    /* A folder where libmicrohttpd.so.12 is jansson: it loads, but has
     * none of the functions. */
    char dir[] = "/tmp/gpcheck-dl-XXXXXX", link[PATH_MAX], err[512] = "";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    Dl_info info;
    ck_assert_int_ne(dladdr((void *)json_loads, &info), 0);
    snprintf(link, sizeof link, "%s/%s", dir, DL_MHD_SONAME);
    ck_assert_int_eq(symlink(info.dli_fname, link), 0);
    setenv(DL_TEST_DIR_ENV, dir, 1);
    int rc = dl_mhd("gpcheck serve", err, sizeof err);
    unlink(link);
    rmdir(dir);
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(err, "libmicrohttpd.so.12 has no "
                              "MHD_add_response_header(): not the library") &&
                      strstr(err, "(needed by gpcheck serve)"),
                  "%s", err);
    ck_assert_ptr_null(sym_MHD_add_response_header);
    ck_assert_ptr_null(sym_MHD_start_daemon);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dl");
    TCase *tc = tcase_create("load");
    tcase_add_test(tc, sqlite_loaded_on_first_use);
    tcase_add_test(tc, curl_loaded_on_first_use);
    tcase_add_test(tc, mhd_loaded_on_first_use);
    tcase_add_test(tc, missing_library_named_with_the_feature);
    tcase_add_test(tc, wrong_library_refused);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
