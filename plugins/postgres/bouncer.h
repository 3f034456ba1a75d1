/*
 * plugins/postgres/bouncer.h - what the postgres probe makes of
 * PgBouncer's admin console (`pgbouncer_dsn`), pure: one pool's numbers
 * from SHOW POOLS / SHOW DATABASES / SHOW STATS rows given as column names
 * and texts, and the sentence that says what a failure through the pooler
 * means (a saturated pool, or a pooler with no server connection: the
 * database behind it is down). No connection and no gp_api, so the unit
 * test beside it (test_bouncer.c) drives it with plain strings.
 */
#ifndef GPCHECK_POSTGRES_BOUNCER_H
#define GPCHECK_POSTGRES_BOUNCER_H

#include <stddef.h>

/* One pool (database and user) as the admin console shows it. */
typedef struct pg_bouncer_pool {
    int found; /* SHOW POOLS had its row (PgBouncer makes it on the first
                  client; before that every count is 0) */
    long long cl_active, cl_waiting;
    long long sv_active, sv_idle, sv_used, sv_tested, sv_login;
    double maxwait_ms;   /* the oldest waiting client's wait */
    long long pool_size; /* SHOW DATABASES; 0 when unknown */
    int has_avg_wait;
    double avg_wait_ms; /* SHOW STATS avg_wait_time, per client */
} pg_bouncer_pool;

/* One row of an admin console result: n column names and their texts
 * (NULL for SQL NULL). */
typedef struct pg_bouncer_row {
    const char *const *names;
    const char *const *values;
    int n;
} pg_bouncer_row;

/* The text of column `name` in row, or NULL when there is none. */
const char *pg_bouncer_col(const pg_bouncer_row *row, const char *name);

/* Fill the SHOW POOLS part of *bp from its row. Returns 0, or -1 when a
 * count is missing or not a number (a PgBouncer the probe does not
 * know). */
int pg_bouncer_pools_row(const pg_bouncer_row *row, pg_bouncer_pool *bp);
/* pool_size from the database's SHOW DATABASES row: 0 or -1 as above. */
int pg_bouncer_databases_row(const pg_bouncer_row *row, pg_bouncer_pool *bp);
/* avg_wait_time (microseconds) from the database's SHOW STATS row; a row
 * without it leaves has_avg_wait 0. */
void pg_bouncer_stats_row(const pg_bouncer_row *row, pg_bouncer_pool *bp);

/* Server connections the pool holds, in any state. */
long long pg_bouncer_servers(const pg_bouncer_pool *bp);

/*
 * What a failed or timed-out login or query through the pooler means,
 * given the pool as the admin console shows it right after, as one
 * clause for the message:
 *   - no server connection at all: the database behind PgBouncer is down
 *     or refuses PgBouncer's login (the trap: the pooler itself answers);
 *   - every server connection of pool_size busy and clients waiting: the
 *     pool is saturated;
 *   - else the pool's numbers.
 * `pool` names it ("appdb/app").
 */
void pg_bouncer_explain(const pg_bouncer_pool *bp, const char *pool, char *out,
                        size_t cap);

/* The pool's numbers in one clause, for a ready message. */
void pg_bouncer_summary(const pg_bouncer_pool *bp, const char *pool, char *out,
                        size_t cap);

#endif
