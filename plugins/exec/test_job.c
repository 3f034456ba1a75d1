/*
 * plugins/exec/test_job.c - unit test of job.c's pure parts: list items
 * with the configuration language's escapes (and the NUL a command cannot
 * take), KEY=VALUE forms, and `perfdata` mappings parsed (metrics.c).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "unit.h"

START_TEST(items_decode)
{
    const char *why = NULL;
    char *s = exec_decode_item("-q, select a\\x2c b", &why);

    ck_assert_str_eq(s, "-q, select a, b");
    free(s);
    s = exec_decode_item("^OK\\s+\\d", &why); /* a regular expression */
    ck_assert_str_eq(s, "^OK\\s+\\d");
    free(s);
    s = exec_decode_item("a\\tb\\\\x2c", &why);
    ck_assert_str_eq(s, "a\tb\\x2c");
    free(s);
    ck_assert_ptr_null(exec_decode_item("a\\x00b", &why));
    ck_assert_str_eq(why, "\\x00 cannot be passed to a command");
    ck_assert_ptr_null(exec_decode_item("a\\x0", &why));
    ck_assert_str_eq(why, "\\x needs two hex digits");
}
END_TEST

/* Decode and check one env item; the key length, or 0 with why set. */
static size_t key_len(const char *in, const char **why)
{
    size_t klen = 0;
    char *item = exec_env_item(in, &klen, why);

    free(item);
    return item ? klen : 0;
}

START_TEST(env_items)
{
    const char *why = NULL;

    ck_assert_uint_eq(key_len("PGPASSWORD=x", &why), 10);
    ck_assert_uint_eq(key_len("_A1=", &why), 3);
    ck_assert_uint_eq(key_len("K=a\\x2cb", &why), 1);
    ck_assert_uint_eq(key_len("1A=x", &why), 0);
    ck_assert_str_eq(why, "not KEY=VALUE with a key of [A-Za-z_][A-Za-z0-9_]*");
    ck_assert_uint_eq(key_len("A-B=x", &why), 0);
    ck_assert_uint_eq(key_len("NOVALUE", &why), 0);
    ck_assert_uint_eq(key_len("=x", &why), 0);
    ck_assert_uint_eq(key_len("K=\\x00", &why), 0);
    ck_assert_str_eq(why, "\\x00 cannot be passed to a command");
}
END_TEST

START_TEST(perfdata_maps)
{
    static const char *const good[] = {"time:time", "size:bytes2", "rta"};
    static const char *const twice[] = {"a:time", "b:time"};
    static const char *const unknown[] = {"a:nosuch"};
    static const char *const empty[] = {":time"};
    job j;
    char why[256];

    memset(&j, 0, sizeof j);
    ck_assert_int_eq(exec_parse_maps(good, 3, &j, why, sizeof why), 0);
    ck_assert_uint_eq(j.n_maps, 3);
    ck_assert_str_eq(j.maps[1].label, "size");
    ck_assert_str_eq(exec_metrics[j.maps[1].slot].name, "bytes2");
    ck_assert_int_eq(j.maps[2].slot, -1);
    exec_job_free(&j);

    memset(&j, 0, sizeof j);
    ck_assert_int_eq(exec_parse_maps(twice, 2, &j, why, sizeof why), -1);
    ck_assert_str_eq(why, "metric 'time' fed by two labels");
    exec_job_free(&j);
    memset(&j, 0, sizeof j);
    ck_assert_int_eq(exec_parse_maps(unknown, 1, &j, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "'nosuch' is not a metric of exec"));
    exec_job_free(&j);
    memset(&j, 0, sizeof j);
    ck_assert_int_eq(exec_parse_maps(empty, 1, &j, why, sizeof why), -1);
    ck_assert_str_eq(why, "item 1: empty label");
    exec_job_free(&j);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("exec_job");
    TCase *tc = tcase_create("job");

    tcase_add_test(tc, items_decode);
    tcase_add_test(tc, env_items);
    tcase_add_test(tc, perfdata_maps);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
