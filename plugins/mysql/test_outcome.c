/*
 * plugins/mysql/test_outcome.c - unit test of outcome.c: error numbers to
 * outcomes, the thread count of mysql_stat()'s line (MariaDB 10.11's and
 * MySQL 8.0's wording), and replica states judged against max_lag.
 */
#include <check.h>
#include <errmsg.h>
#include <mysqld_error.h>
#include <string.h>

#include "outcome.h"
#include "unit.h"

START_TEST(error_numbers)
{
    static const unsigned transient[] = {
        ER_CON_COUNT_ERROR,
        ER_TOO_MANY_USER_CONNECTIONS,
        ER_SERVER_SHUTDOWN,
        ER_NORMAL_SHUTDOWN,
        ER_CONNECTION_KILLED,
        ER_LOCK_WAIT_TIMEOUT,
        ER_LOCK_DEADLOCK,
        ER_STATEMENT_TIMEOUT,
        ER_QUERY_INTERRUPTED,
        CR_CONNECTION_ERROR,
        CR_CONN_HOST_ERROR,
        CR_SERVER_GONE_ERROR,
        CR_SERVER_LOST,
        3032 /* MySQL offline_mode */,
        3024 /* MySQL max_execution_time */,
    };
    static const unsigned fatal[] = {
        ER_ACCESS_DENIED_ERROR,
        ER_DBACCESS_DENIED_ERROR,
        ER_BAD_DB_ERROR,
        ER_HOST_NOT_PRIVILEGED,
        ER_HOST_IS_BLOCKED,
        ER_PARSE_ERROR,
        ER_NO_SUCH_TABLE,
        ER_SPECIFIC_ACCESS_DENIED_ERROR,
        ER_MUST_CHANGE_PASSWORD_LOGIN,
        ER_ACCOUNT_HAS_BEEN_LOCKED,
        CR_UNKNOWN_HOST,
        CR_SSL_CONNECTION_ERROR,
        CR_MALFORMED_PACKET,
        CR_AUTH_PLUGIN_CANNOT_LOAD,
        0,
        99999,
    };

    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        ck_assert_msg(my_error_outcome(transient[i]) == GP_TRANSIENT, "%u",
                      transient[i]);
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        ck_assert_msg(my_error_outcome(fatal[i]) == GP_FATAL, "%u", fatal[i]);
    ck_assert_ptr_nonnull(
        strstr(my_error_hint(ER_HOST_IS_BLOCKED), "FLUSH HOSTS"));
    ck_assert_str_eq(my_error_hint(ER_ACCESS_DENIED_ERROR), "");
}
END_TEST

START_TEST(stat_threads)
{
    /* MariaDB 10.11 and MySQL 8.0 write the same fields. */
    ck_assert_double_eq(
        my_stat_threads("Uptime: 12  Threads: 3  Questions: 7  Slow queries: "
                        "0  Opens: 17  Open tables: 10  Queries per second "
                        "avg: 0.583"),
        3);
    ck_assert_double_eq(my_stat_threads("Uptime: 1  Threads: 151  Ques"), 151);
    ck_assert_double_eq(my_stat_threads("Uptime: 1"), -1);
    ck_assert_double_eq(my_stat_threads("Threads: x"), -1);
    ck_assert_double_eq(my_stat_threads(""), -1);
    ck_assert_double_eq(my_stat_threads(NULL), -1);
}
END_TEST

/* A row as SHOW SLAVE STATUS (MariaDB) or SHOW REPLICA STATUS (MySQL
 * 8.0.22+) gives it. */
static void row(my_replica *r, int mysql8, const char *io, const char *sql,
                const char *lag, const char *io_err)
{
    my_replica_init(r);
    my_replica_column(r, "Master_Host", "10.0.0.1");
    my_replica_column(r, mysql8 ? "Replica_IO_Running" : "Slave_IO_Running",
                      io);
    my_replica_column(r, mysql8 ? "Replica_SQL_Running" : "Slave_SQL_Running",
                      sql);
    my_replica_column(r, "Last_IO_Error", io_err);
    my_replica_column(r, "Last_SQL_Error", "");
    my_replica_column(
        r, mysql8 ? "Seconds_Behind_Source" : "Seconds_Behind_Master", lag);
}

START_TEST(replica_states)
{
    my_replica r;
    char why[400];

    my_replica_init(&r);
    ck_assert_int_eq(my_replica_judge(&r, -1, why, sizeof why), GP_FATAL);
    ck_assert_ptr_nonnull(strstr(why, "not a replica"));

    row(&r, 0, "Yes", "Yes", "0", "");
    ck_assert_int_eq(my_replica_judge(&r, -1, why, sizeof why), GP_READY);
    row(&r, 1, "Yes", "Yes", "4", "");
    ck_assert_int_eq(r.lag, 4);
    ck_assert_int_eq(my_replica_judge(&r, 5000, why, sizeof why), GP_READY);
    ck_assert_int_eq(my_replica_judge(&r, 4000, why, sizeof why), GP_READY);
    ck_assert_int_eq(my_replica_judge(&r, 3999, why, sizeof why), GP_TRANSIENT);
    ck_assert_ptr_nonnull(strstr(why, "4 s behind"));

    row(&r, 0, "Connecting", "Yes", NULL, "error connecting to master");
    ck_assert_int_eq(my_replica_judge(&r, -1, why, sizeof why), GP_TRANSIENT);
    ck_assert_ptr_nonnull(strstr(why, "IO thread: Connecting"));
    ck_assert_ptr_nonnull(strstr(why, "error connecting to master"));

    row(&r, 0, "Yes", "No", NULL, "");
    ck_assert_int_eq(my_replica_judge(&r, -1, why, sizeof why), GP_TRANSIENT);
    ck_assert_ptr_nonnull(strstr(why, "SQL thread: No"));

    /* Running, but the lag is NULL (just restarted): not known yet. */
    row(&r, 0, "Yes", "Yes", NULL, "");
    ck_assert_int_eq(my_replica_judge(&r, -1, why, sizeof why), GP_TRANSIENT);
    row(&r, 0, "Yes", "Yes", "12x", "");
    ck_assert_int_eq(r.lag, -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mysql_outcome");
    TCase *tc = tcase_create("outcome");

    tcase_add_test(tc, error_numbers);
    tcase_add_test(tc, stat_threads);
    tcase_add_test(tc, replica_states);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
