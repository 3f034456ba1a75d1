/*
 * plugins/postgres/test_pool.c - unit test of pool.c: the pool statement
 * asks only for what is wanted, from pg_stat_get_activity(NULL), and its
 * row gives the metrics PostgreSQL's login checks imply (reserved slots,
 * reserved_connections on 16+, role and database connection limits).
 * The same statement runs against a real PostgreSQL 15 in
 * tests/integration/test_postgres.py.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "unit.h"

static int has(const char *sql, const char *part)
{
    return strstr(sql, part) != NULL;
}

START_TEST(statement_reads_only_what_is_wanted)
{
    pg_pool_spec spec = {.version = 150004};
    char *sql = pg_pool_sql(&spec);

    ck_assert_ptr_nonnull(sql);
    ck_assert(has(sql, "pg_catalog.pg_stat_get_activity(NULL)"));
    ck_assert(!has(sql, "pg_stat_activity "));
    ck_assert(!has(sql, "pg_roles"));
    ck_assert(!has(sql, "pg_database"));
    ck_assert(!has(sql, "('reserved_connections')")); /* 15: none */
    ck_assert(!has(sql, ";"));                        /* one statement */
    free(sql);

    spec.app = 1;
    spec.names = "'web', 'worker'";
    spec.user = "'app'";
    sql = pg_pool_sql(&spec);
    ck_assert(has(sql, "s.application_name IN ('web', 'worker')"));
    ck_assert(has(sql, "to_regrole(pg_catalog.quote_ident('app'))"));
    ck_assert(has(sql, "idle in transaction%"));
    ck_assert(has(sql, "wait_event_type = 'Lock'"));
    ck_assert(!has(sql, "LEFT JOIN"));
    free(sql);

    spec = (pg_pool_spec){.version = 160001, .free = 1};
    sql = pg_pool_sql(&spec);
    ck_assert(has(sql, "current_setting('reserved_connections')"));
    ck_assert(has(sql, "pg_use_reserved_connections"));
    ck_assert(has(sql, "SESSION_USER::name"));
    ck_assert(has(sql, "pg_catalog.current_database()::name"));
    free(sql);
}
END_TEST

/* A row as PostgreSQL 15 sends it for the probe's role `app` in `appdb`:
 * max_connections 20, 3 reserved, the probe and 4 others connected. */
static pg_pool_row row15(void)
{
    pg_pool_row r = {{NULL}};

    r.v[PG_POOL_MAX] = "20";
    r.v[PG_POOL_SU_RESERVED] = "3";
    r.v[PG_POOL_RESERVED] = "0";
    r.v[PG_POOL_SEEN] = "t";
    r.v[PG_POOL_TOTAL] = "5";
    r.v[PG_POOL_APP] = "3";
    r.v[PG_POOL_IDLE_TX] = "1";
    r.v[PG_POOL_LOCK] = "0";
    r.v[PG_POOL_HIDDEN] = "0";
    r.v[PG_POOL_ROLE_CONNS] = "3";
    r.v[PG_POOL_DB_CONNS] = "4";
    r.v[PG_POOL_ROLE_FOUND] = "t";
    r.v[PG_POOL_ROLSUPER] = "f";
    r.v[PG_POOL_ROLCANLOGIN] = "t";
    r.v[PG_POOL_ROLCONNLIMIT] = "-1";
    r.v[PG_POOL_USES_RESERVED] = "f";
    r.v[PG_POOL_DB_FOUND] = "t";
    r.v[PG_POOL_DATALLOWCONN] = "t";
    r.v[PG_POOL_DATCONNLIMIT] = "-1";
    r.v[PG_POOL_CAN_CONNECT] = "t";
    return r;
}

START_TEST(server_wide_and_application_counts)
{
    pg_pool_row r = row15();
    pg_pool p;

    ck_assert_int_eq(pg_pool_compute(&r, 50, 50, 1, &p), 0);
    ck_assert(p.has_max && p.has_total && p.has_pool_usage);
    ck_assert_double_eq(p.connections, 5);
    ck_assert_double_eq_tol(p.pool_usage, 100.0 * 5 / 17, 1e-9);
    ck_assert(p.has_app && p.has_app_usage);
    ck_assert_double_eq(p.app_connections, 3);
    ck_assert_double_eq(p.app_pool_usage, 3.0); /* 3 of 100 */
    ck_assert_double_eq(p.idle_in_transaction, 1);
    ck_assert_double_eq(p.waiting_on_lock, 0);

    /* Without a filter: no app_connections or app_pool_usage, but the
     * idle and lock counts (of every client backend). */
    ck_assert_int_eq(pg_pool_compute(&r, 50, 0, 0, &p), 0);
    ck_assert(p.has_app && !p.has_app_usage);
    ck_assert_ptr_nonnull(strstr(p.why_app, "needs app_name"));

    /* Sessions the role may not see could be the application's. */
    r.v[PG_POOL_HIDDEN] = "2";
    ck_assert_int_eq(pg_pool_compute(&r, 50, 50, 1, &p), 0);
    ck_assert(!p.has_app && !p.has_app_usage);
    ck_assert_ptr_nonnull(strstr(p.why_app, "pg_read_all_stats"));
}
END_TEST

START_TEST(free_slots_follow_the_login_checks)
{
    pg_pool_row r = row15();
    pg_pool p;

    /* 20 - 4 others - 3 reserved for superusers. */
    ck_assert_int_eq(pg_pool_compute(&r, 0, 0, 0, &p), 0);
    ck_assert(p.has_free);
    ck_assert_double_eq(p.free_slots, 13);
    ck_assert_str_eq(p.free_bound, "max_connections 20, 4 in use, 3 reserved");

    /* A superuser gets the reserved slots and ignores the limits. */
    r.v[PG_POOL_ROLSUPER] = "t";
    r.v[PG_POOL_ROLCONNLIMIT] = "1";
    ck_assert_int_eq(pg_pool_compute(&r, 0, 0, 0, &p), 0);
    ck_assert_double_eq(p.free_slots, 16);

    /* The role's CONNECTION LIMIT 5 with 3 of its sessions: 2. */
    r.v[PG_POOL_ROLSUPER] = "f";
    r.v[PG_POOL_ROLCONNLIMIT] = "5";
    ck_assert_int_eq(pg_pool_compute(&r, 0, 0, 0, &p), 0);
    ck_assert_double_eq(p.free_slots, 2);
    ck_assert_str_eq(p.free_bound, "the role's CONNECTION LIMIT 5, 3 in use");

    /* The database's limit, reached: 0, never negative. */
    r.v[PG_POOL_DATCONNLIMIT] = "3";
    ck_assert_int_eq(pg_pool_compute(&r, 0, 0, 0, &p), 0);
    ck_assert_double_eq(p.free_slots, 0);
    ck_assert_str_eq(p.free_bound,
                     "the database's CONNECTION LIMIT 3, 4 in use");

    /* No login, no CONNECT, no connections allowed: 0. */
    r = row15();
    r.v[PG_POOL_ROLCANLOGIN] = "f";
    ck_assert_int_eq(pg_pool_compute(&r, 0, 0, 0, &p), 0);
    ck_assert_double_eq(p.free_slots, 0);
    r = row15();
    r.v[PG_POOL_CAN_CONNECT] = "f";
    ck_assert_int_eq(pg_pool_compute(&r, 0, 0, 0, &p), 0);
    ck_assert_double_eq(p.free_slots, 0);
    ck_assert_ptr_nonnull(strstr(p.free_bound, "CONNECT privilege"));
}
END_TEST

START_TEST(reserved_connections_on_16)
{
    pg_pool_row r = row15();
    pg_pool p;

    r.v[PG_POOL_RESERVED] = "2";
    ck_assert_int_eq(pg_pool_compute(&r, 0, 0, 0, &p), 0);
    ck_assert_double_eq(p.free_slots, 20 - 4 - 3 - 2);
    r.v[PG_POOL_USES_RESERVED] = "t"; /* pg_use_reserved_connections */
    ck_assert_int_eq(pg_pool_compute(&r, 0, 0, 0, &p), 0);
    ck_assert_double_eq(p.free_slots, 20 - 4 - 3);
}
END_TEST

START_TEST(unknown_and_bad_rows)
{
    pg_pool_row r = row15();
    pg_pool p;

    /* A role without pg_read_all_stats: max_connections only. */
    r.v[PG_POOL_SEEN] = "f";
    ck_assert_int_eq(pg_pool_compute(&r, 0, 0, 0, &p), 0);
    ck_assert(p.has_max && !p.has_total && !p.has_free);
    ck_assert_ptr_nonnull(strstr(p.why_free, "pg_read_all_stats"));

    /* app_user names no role. */
    r = row15();
    r.v[PG_POOL_ROLE_FOUND] = "f";
    r.v[PG_POOL_ROLSUPER] = NULL;
    ck_assert_int_eq(pg_pool_compute(&r, 0, 0, 0, &p), 0);
    ck_assert(!p.has_free);
    ck_assert_str_eq(p.why_free, "the role does not exist");

    /* Parts not asked for (NULL columns) are no error. */
    r = row15();
    for (int i = PG_POOL_APP; i < PG_POOL_COLUMNS; i++)
        r.v[i] = NULL;
    ck_assert_int_eq(pg_pool_compute(&r, 0, 0, 0, &p), 0);
    ck_assert(p.has_total && !p.has_app && !p.has_free);
    ck_assert_str_eq(p.why_free, "");

    r = row15();
    r.v[PG_POOL_TOTAL] = "five";
    ck_assert_int_eq(pg_pool_compute(&r, 0, 0, 0, &p), -1);
    r = row15();
    r.v[PG_POOL_ROLSUPER] = "yes";
    ck_assert_int_eq(pg_pool_compute(&r, 0, 0, 0, &p), -1);
    r = row15();
    r.v[PG_POOL_MAX] = NULL;
    ck_assert_int_eq(pg_pool_compute(&r, 0, 0, 0, &p), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("postgres_pool");
    TCase *tc = tcase_create("pool");

    tcase_add_test(tc, statement_reads_only_what_is_wanted);
    tcase_add_test(tc, server_wide_and_application_counts);
    tcase_add_test(tc, free_slots_follow_the_login_checks);
    tcase_add_test(tc, reserved_connections_on_16);
    tcase_add_test(tc, unknown_and_bad_rows);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
