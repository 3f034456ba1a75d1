/*
 * plugins/postgres/test_dsn.c - unit test of dsn.c: dsn strings through
 * libpq's own parser (no server), shown with their secrets as ***, and
 * libpq's parse errors with their quoted pieces hidden.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "dsn.h"
#include "unit.h"

static PQconninfoOption *parse(const char *dsn)
{
    char *err = NULL;
    PQconninfoOption *o = PQconninfoParse(dsn, &err);

    ck_assert_msg(o != NULL, "%s", err ? err : "out of memory");
    return o;
}

START_TEST(render_masks_secret_fields)
{
    PQconninfoOption *o = parse("host=db.test port=5433 user=app "
                                "password=s3cretpw dbname='my db'");
    char out[512];

    ck_assert_str_eq(pg_dsn_value(o, "host"), "db.test");
    ck_assert_ptr_null(pg_dsn_value(o, "hostaddr"));
    pg_dsn_render(o, out, sizeof out);
    ck_assert_ptr_null(strstr(out, "s3cretpw"));
    ck_assert_ptr_nonnull(strstr(out, "password=***"));
    ck_assert_ptr_nonnull(strstr(out, "host=db.test"));
    ck_assert_ptr_nonnull(strstr(out, "dbname='my db'"));
    PQconninfoFree(o);

    /* A URI's password too; quotes and backslashes are escaped. */
    o = parse("postgresql://app:p%40ss@db.test/it%27s");
    pg_dsn_render(o, out, sizeof out);
    ck_assert_ptr_null(strstr(out, "p@ss"));
    ck_assert_ptr_nonnull(strstr(out, "dbname='it\\'s'"));
    for (const PQconninfoOption *f = o; f->keyword; f++)
        if (strcmp(f->keyword, "password") == 0)
            ck_assert(pg_dsn_is_secret(f));
        else if (strcmp(f->keyword, "user") == 0)
            ck_assert(!pg_dsn_is_secret(f));
    PQconninfoFree(o);
}
END_TEST

START_TEST(render_cuts_to_fit)
{
    PQconninfoOption *o = parse("host=db.test user=app");
    char out[8];

    pg_dsn_render(o, out, sizeof out);
    ck_assert_uint_eq(strlen(out), sizeof out - 1);
    PQconninfoFree(o);
}
END_TEST

START_TEST(redact_hides_quoted_pieces)
{
    char *err = NULL;
    char out[256];

    /* libpq quotes the piece it chokes on: here part of a password. */
    ck_assert_ptr_null(PQconninfoParse("host=db password='hunter22", &err));
    ck_assert_ptr_nonnull(err);
    pg_dsn_redact(err, out, sizeof out);
    PQfreemem(err);
    ck_assert_ptr_null(strstr(out, "hunter22"));

    pg_dsn_redact("missing \"=\" after \"s3cret\" in connection info string"
                  "\nsecond line",
                  out, sizeof out);
    ck_assert_str_eq(out, "missing \"=\" after \"...\" in connection info "
                          "string");
    pg_dsn_redact("unterminated \"abc", out, sizeof out);
    ck_assert_str_eq(out, "unterminated \"...\"");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("postgres_dsn");
    TCase *tc = tcase_create("dsn");

    tcase_add_test(tc, render_masks_secret_fields);
    tcase_add_test(tc, render_cuts_to_fit);
    tcase_add_test(tc, redact_hides_quoted_pieces);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
