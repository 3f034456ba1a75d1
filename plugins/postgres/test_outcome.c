/*
 * plugins/postgres/test_outcome.c - unit test of outcome.c: SQLSTATEs,
 * server and libpq texts, and libpq's (multi-host, verbose) error messages
 * mapped to the outcome they call for. The messages are libpq 15's and
 * PostgreSQL 15's own wording.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "outcome.h"
#include "unit.h"

START_TEST(sqlstate_classes)
{
    /* Transient: connection exceptions, insufficient resources, operator
     * intervention, transaction rollback, lock not available. */
    static const char *const transient[] = {
        "08000", "08006", "08001", "08P01", /* connection exceptions */
        "53000", "53100", "53200", "53300", /* resources, too many conns */
        "57000", "57014", "57P01", "57P02", "57P03", /* operator */
        "40001", "40P01",                            /* rollbacks */
        "55P03",                                     /* lock not available */
    };
    /* Fatal: what the server says on purpose will be said again. */
    static const char *const fatal[] = {
        "28P01", "28000", /* bad password, no such role / no hba entry */
        "3D000",          /* no such database */
        "42501", "42P01", "42601", /* permission, no such table, syntax */
        "57P04",                   /* database dropped */
        "55000", "22012", "XX000", "0A000",
    };

    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        ck_assert_msg(pg_sqlstate_outcome(transient[i]) == GP_TRANSIENT, "%s",
                      transient[i]);
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        ck_assert_msg(pg_sqlstate_outcome(fatal[i]) == GP_FATAL, "%s",
                      fatal[i]);
}
END_TEST

START_TEST(texts_without_sqlstate)
{
    static const char *const transient[] = {
        "the database system is starting up",
        "the database system is shutting down",
        "the database system is in recovery mode",
        "the database system is not yet accepting connections",
        "the database system is not accepting connections",
        "sorry, too many clients already",
        "too many connections for role \"app\"",
        "remaining connection slots are reserved for non-replication "
        "superuser connections",
        "connection to server at \"127.0.0.1\", port 1 failed: Connection "
        "refused",
        "server closed the connection unexpectedly",
        "", /* nothing said: may pass */
    };
    static const char *const fatal[] = {
        "password authentication failed for user \"app\"",
        "no pg_hba.conf entry for host \"127.0.0.1\", user \"app\"",
        "database \"nope\" does not exist",
        "role \"nobody\" does not exist",
        "permission denied for database \"app\"",
        "fe_sendauth: no password supplied",
        "server does not support SSL, but SSL was required",
        "SSL error: certificate verify failed",
        "server certificate for \"db\" does not match host name \"x\"",
        "authentication method 10 not supported",
    };

    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        ck_assert_msg(pg_text_outcome(transient[i]) == GP_TRANSIENT, "%s",
                      transient[i]);
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        ck_assert_msg(pg_text_outcome(fatal[i]) == GP_FATAL, "%s", fatal[i]);
}
END_TEST

START_TEST(verbose_message_gives_state_and_detail)
{
    pg_failure f;

    pg_pick_failure("connection to server at \"127.0.0.1\", port 5432 "
                    "failed: FATAL:  28P01: password authentication failed "
                    "for user \"app\"\n"
                    "LOCATION:  auth_failed, auth.c:323\n",
                    &f);
    ck_assert_str_eq(f.state, "28P01");
    ck_assert_int_eq(f.outcome, GP_FATAL);
    ck_assert_str_eq(f.text, "connection to server at \"127.0.0.1\", port "
                             "5432 failed: password authentication failed "
                             "for user \"app\"");

    pg_pick_failure("connection to server at \"127.0.0.1\", port 5432 "
                    "failed: FATAL:  57P03: the database system is starting "
                    "up\n"
                    "DETAIL:  Consistent recovery state has not been yet "
                    "reached.\n",
                    &f);
    ck_assert_str_eq(f.state, "57P03");
    ck_assert_int_eq(f.outcome, GP_TRANSIENT);
    ck_assert_ptr_nonnull(strstr(f.text, "starting up (Consistent recovery "
                                         "state has not been yet reached.)"));

    pg_pick_failure("connection to server at \"::1\", port 5432 failed: "
                    "FATAL:  53300: sorry, too many clients already\n",
                    &f);
    ck_assert_str_eq(f.state, "53300");
    ck_assert_int_eq(f.outcome, GP_TRANSIENT);

    pg_pick_failure("connection to server on socket \"/run/pg/.s.PGSQL."
                    "5432\" failed: FATAL:  3D000: database \"nope\" does not "
                    "exist\n",
                    &f);
    ck_assert_str_eq(f.state, "3D000");
    ck_assert_int_eq(f.outcome, GP_FATAL);
}
END_TEST

START_TEST(old_server_and_libpq_texts)
{
    pg_failure f;

    /* No SQLSTATE (a server before 9.x, a relayed message): the text. */
    pg_pick_failure("FATAL:  the database system is shutting down\n", &f);
    ck_assert_str_eq(f.state, "");
    ck_assert_int_eq(f.outcome, GP_TRANSIENT);
    ck_assert_str_eq(f.text, "the database system is shutting down");

    pg_pick_failure("connection to server at \"127.0.0.1\", port 1 failed: "
                    "Connection refused\n"
                    "\tIs the server running on that host and accepting "
                    "TCP/IP connections?\n",
                    &f);
    ck_assert_int_eq(f.outcome, GP_TRANSIENT);
    ck_assert_ptr_null(strstr(f.text, "Is the server running"));

    pg_pick_failure("fe_sendauth: no password supplied\n", &f);
    ck_assert_int_eq(f.outcome, GP_FATAL);

    pg_pick_failure("", &f);
    ck_assert_str_eq(f.text, "");
    ck_assert_int_eq(f.outcome, GP_TRANSIENT);
}
END_TEST

START_TEST(fatal_host_wins_over_transient_one)
{
    static const char refused[] =
        "connection to server at \"10.0.0.1\", port 5432 failed: "
        "Connection refused\n"
        "\tIs the server running on that host and accepting TCP/IP "
        "connections?\n";
    static const char badpw[] =
        "connection to server at \"10.0.0.2\", port 5432 failed: FATAL:  "
        "28P01: password authentication failed for user \"app\"\n";
    static const char starting[] =
        "connection to server at \"10.0.0.3\", port 5432 failed: FATAL:  "
        "57P03: the database system is starting up\n";
    char msg[1024];
    pg_failure f;

    /* Refused, then a bad password: the password decides. */
    snprintf(msg, sizeof msg, "%s%s", refused, badpw);
    pg_pick_failure(msg, &f);
    ck_assert_int_eq(f.outcome, GP_FATAL);
    ck_assert_str_eq(f.state, "28P01");
    /* A bad password first also decides, whatever follows. */
    snprintf(msg, sizeof msg, "%s%s", badpw, starting);
    pg_pick_failure(msg, &f);
    ck_assert_int_eq(f.outcome, GP_FATAL);
    ck_assert_str_eq(f.state, "28P01");
    /* All transient: the last one. */
    snprintf(msg, sizeof msg, "%s%s", refused, starting);
    pg_pick_failure(msg, &f);
    ck_assert_int_eq(f.outcome, GP_TRANSIENT);
    ck_assert_str_eq(f.state, "57P03");
    ck_assert_ptr_nonnull(strstr(f.text, "10.0.0.3"));
}
END_TEST

START_TEST(pgbouncer_refusals_are_fatal)
{
    pg_failure f;

    /* PgBouncer 1.18's words, with its SQLSTATE 08P01. */
    pg_pick_failure("connection to server at \"127.0.0.1\", port 6432 "
                    "failed: FATAL:  08P01: password authentication failed\n",
                    &f);
    ck_assert_str_eq(f.state, "08P01");
    ck_assert_int_eq(f.outcome, GP_FATAL);
    pg_pick_failure("connection to server at \"127.0.0.1\", port 6432 "
                    "failed: FATAL:  08P01: no such database: nope\n",
                    &f);
    ck_assert_int_eq(f.outcome, GP_FATAL);
    /* Its other 08P01s stay transient. */
    pg_pick_failure("connection to server at \"127.0.0.1\", port 6432 "
                    "failed: FATAL:  08P01: pgbouncer cannot connect to "
                    "server\n",
                    &f);
    ck_assert_int_eq(f.outcome, GP_TRANSIENT);
}
END_TEST

START_TEST(long_messages_are_cut_not_overflowed)
{
    char msg[4096];
    pg_failure f;

    memset(msg, 'x', sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
    memcpy(msg, "FATAL:  28P01: ", 15);
    pg_pick_failure(msg, &f);
    ck_assert_str_eq(f.state, "28P01");
    ck_assert_uint_eq(strlen(f.text), sizeof f.text - 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("postgres_outcome");
    TCase *tc = tcase_create("outcome");

    tcase_add_test(tc, sqlstate_classes);
    tcase_add_test(tc, texts_without_sqlstate);
    tcase_add_test(tc, verbose_message_gives_state_and_detail);
    tcase_add_test(tc, old_server_and_libpq_texts);
    tcase_add_test(tc, fatal_host_wins_over_transient_one);
    tcase_add_test(tc, long_messages_are_cut_not_overflowed);
    tcase_add_test(tc, pgbouncer_refusals_are_fatal);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
