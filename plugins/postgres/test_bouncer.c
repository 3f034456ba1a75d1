/*
 * plugins/postgres/test_bouncer.c - unit test of bouncer.c: PgBouncer
 * 1.18's SHOW POOLS / SHOW DATABASES / SHOW STATS rows (column names as
 * it sends them) to one pool's numbers, and the clause that says what a
 * failure through the pooler means. The real PgBouncer runs in
 * tests/integration/test_postgres_pool.py.
 */
#include <check.h>
#include <string.h>

#include "bouncer.h"
#include "unit.h"

static const char *const pools_cols[] = {"database",
                                         "user",
                                         "cl_active",
                                         "cl_waiting",
                                         "cl_active_cancel_req",
                                         "cl_waiting_cancel_req",
                                         "sv_active",
                                         "sv_active_cancel",
                                         "sv_being_canceled",
                                         "sv_idle",
                                         "sv_used",
                                         "sv_tested",
                                         "sv_login",
                                         "maxwait",
                                         "maxwait_us",
                                         "pool_mode"};

static pg_bouncer_row pools(const char *const *values)
{
    return (pg_bouncer_row){.names = pools_cols,
                            .values = values,
                            .n = sizeof pools_cols / sizeof pools_cols[0]};
}

START_TEST(saturated_pool)
{
    static const char *const v[] = {"appdb",  "app",    "1", "2", "0", "0", "1",
                                    "0",      "0",      "0", "0", "0", "0", "3",
                                    "250000", "session"};
    static const char *const dbcols[] = {"name", "pool_size", "reserve_pool"};
    static const char *const dbv[] = {"appdb", "1", "0"};
    pg_bouncer_row db = {.names = dbcols, .values = dbv, .n = 3};
    pg_bouncer_row row = pools(v);
    pg_bouncer_pool bp = {0};
    char out[400];

    ck_assert_str_eq(pg_bouncer_col(&row, "pool_mode"), "session");
    ck_assert_ptr_null(pg_bouncer_col(&row, "nope"));
    ck_assert_int_eq(pg_bouncer_pools_row(&row, &bp), 0);
    ck_assert_int_eq(pg_bouncer_databases_row(&db, &bp), 0);
    ck_assert(bp.found);
    ck_assert_int_eq(bp.cl_waiting, 2);
    ck_assert_int_eq(bp.sv_active, 1);
    ck_assert_double_eq(bp.maxwait_ms, 3250.0);
    ck_assert_int_eq(bp.pool_size, 1);
    pg_bouncer_explain(&bp, "appdb/app", out, sizeof out);
    ck_assert_str_eq(out, "the pool is saturated: PgBouncer pool appdb/app: 1 "
                          "clients active, 2 waiting (maxwait 3.2 s), 1 of 1 "
                          "server connections busy, 0 idle");
}
END_TEST

START_TEST(no_server_connection_means_the_database_is_down)
{
    static const char *const v[] = {"appdb", "app", "0", "1",      "0", "0",
                                    "0",     "0",   "0", "0",      "0", "0",
                                    "1",     "0",   "0", "session"};
    pg_bouncer_row row = pools(v);
    pg_bouncer_pool bp = {0};
    char out[400];

    ck_assert_int_eq(pg_bouncer_pools_row(&row, &bp), 0);
    ck_assert_int_eq(pg_bouncer_servers(&bp), 1); /* one logging in */
    pg_bouncer_explain(&bp, "appdb/app", out, sizeof out);
    ck_assert_ptr_nonnull(strstr(out, "holds no server connection for pool "
                                      "appdb/app (1 logging in, 1 clients "
                                      "waiting): the database behind it is "
                                      "down"));
    /* No row yet (no client so far): all zeros, the same answer. */
    memset(&bp, 0, sizeof bp);
    pg_bouncer_explain(&bp, "appdb/app", out, sizeof out);
    ck_assert_ptr_nonnull(strstr(out, "holds no server connection"));
}
END_TEST

START_TEST(stats_and_bad_rows)
{
    static const char *const scols[] = {"database", "total_wait_time",
                                        "avg_wait_time"};
    static const char *const sv[] = {"appdb", "9000", "1500"};
    static const char *const bad[] = {"appdb", "app", "x", "1",      "0", "0",
                                      "0",     "0",   "0", "0",      "0", "0",
                                      "0",     "0",   "0", "session"};
    pg_bouncer_row stats = {.names = scols, .values = sv, .n = 3};
    pg_bouncer_row row = pools(bad);
    pg_bouncer_row short_row = {.names = pools_cols, .values = bad, .n = 5};
    pg_bouncer_pool bp = {0};

    pg_bouncer_stats_row(&stats, &bp);
    ck_assert(bp.has_avg_wait);
    ck_assert_double_eq(bp.avg_wait_ms, 1.5);
    ck_assert_int_eq(pg_bouncer_pools_row(&row, &bp), -1);
    ck_assert_int_eq(pg_bouncer_pools_row(&short_row, &bp), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("postgres_bouncer");
    TCase *tc = tcase_create("bouncer");

    tcase_add_test(tc, saturated_pool);
    tcase_add_test(tc, no_server_connection_means_the_database_is_down);
    tcase_add_test(tc, stats_and_bad_rows);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
