/*
 * plugins/mysql/outcome.h - what the mysql probe makes of what a server
 * says: an error number (the server's ER_* and libmariadb's CR_*) mapped
 * to the outcome it calls for, the thread count out of mysql_stat()'s
 * line, and a replica's SHOW REPLICA STATUS judged against the expected
 * lag. Pure (no connection, no gp_api), so that the unit test beside it
 * (test_outcome.c) drives it with numbers and strings.
 */
#ifndef GPCHECK_MYSQL_OUTCOME_H
#define GPCHECK_MYSQL_OUTCOME_H

#include <stddef.h>

#include "gpcheck/plugin.h"

/* The outcome error number `code` calls for. Numbers it does not know are
 * fatal: a server that answers with an error on purpose will say it again;
 * the not-ready states (starting, shutting down, too many connections,
 * lost connections, lock waits) are listed as transient. */
gp_outcome my_error_outcome(unsigned code);

/* A hint where the server's own words do not say what to do, or "". */
const char *my_error_hint(unsigned code);

/* The N of "Threads: N" in mysql_stat()'s line ("Uptime: 5  Threads: 1
 * Questions: 3 ..."), or -1 when it is not there. */
double my_stat_threads(const char *stat);

/* A replica's state out of SHOW REPLICA STATUS (or SHOW SLAVE STATUS). */
typedef struct my_replica {
    int found;       /* 0: no row, the server replicates from nothing */
    char io[16];     /* Slave_IO_Running / Replica_IO_Running: Yes ... */
    char sql[16];    /* Slave_SQL_Running / Replica_SQL_Running */
    long long lag;   /* Seconds_Behind_Master / _Source; -1 for NULL */
    char error[256]; /* Last_IO_Error, else Last_SQL_Error, or "" */
} my_replica;

/* An empty state: no row seen, lag unknown. */
void my_replica_init(my_replica *r);

/* Fill r from one SHOW REPLICA STATUS column (name, value; value NULL for
 * SQL NULL). Column names of MariaDB and of MySQL before and after 8.0.22
 * are all known. */
void my_replica_column(my_replica *r, const char *name, const char *value);

/*
 * Judge a replica: GP_READY when both threads run and the lag is known
 * and at most max_lag_ms (max_lag_ms < 0: any lag), else GP_TRANSIENT
 * (replication may catch up, be restarted) with why set. A server with no
 * replication at all (found 0) is GP_FATAL here; the caller softens that
 * during warmup, as for any role mismatch.
 */
gp_outcome my_replica_judge(const my_replica *r, long long max_lag_ms,
                            char *why, size_t whylen);

#endif /* GPCHECK_MYSQL_OUTCOME_H */
