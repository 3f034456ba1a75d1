/*
 * plugins/postgres/pool.h - the postgres probe's pool metrics, pure: the
 * one statement that reads them (pg_pool_sql()) and the arithmetic that
 * turns its row into connections, the application's pool usage and the
 * slots a new client can still get (pg_pool_compute()), following the
 * checks PostgreSQL makes at login. No connection and no gp_api, so the
 * unit test beside it (test_pool.c) drives both with plain values.
 */
#ifndef GPCHECK_POSTGRES_POOL_H
#define GPCHECK_POSTGRES_POOL_H

#include <stddef.h>

/* What to read. The literals are SQL, already escaped by the caller
 * (PQescapeLiteral), or NULL when the option is not set. */
typedef struct pg_pool_spec {
    int version;       /* PQserverVersion(): 160000 and up have
                          reserved_connections */
    int app;           /* the application's counts */
    int free;          /* what a new client can get: the role's and the
                          database's limits */
    const char *names; /* app_name: "'a', 'b'", or NULL */
    const char *user;  /* app_user: "'app'", or NULL (the probe's role) */
    const char *db;    /* app_database: "'appdb'", or NULL (the probe's) */
} pg_pool_spec;

/* The columns of the statement, in order. */
enum {
    PG_POOL_MAX,           /* max_connections */
    PG_POOL_SU_RESERVED,   /* superuser_reserved_connections */
    PG_POOL_RESERVED,      /* reserved_connections (16+), else 0 */
    PG_POOL_SEEN,          /* the probe may see every session */
    PG_POOL_TOTAL,         /* client backends, the probe's own included */
    PG_POOL_APP,           /* the application's client backends */
    PG_POOL_IDLE_TX,       /* ... idle in transaction */
    PG_POOL_LOCK,          /* ... waiting for a lock */
    PG_POOL_HIDDEN,        /* sessions that may be the application's but
                              whose backend type the probe may not see */
    PG_POOL_ROLE_CONNS,    /* the role's client backends */
    PG_POOL_DB_CONNS,      /* the database's client backends */
    PG_POOL_ROLE_FOUND,    /* the role exists */
    PG_POOL_ROLSUPER,      /* it is a superuser */
    PG_POOL_ROLCANLOGIN,   /* it may log in */
    PG_POOL_ROLCONNLIMIT,  /* its CONNECTION LIMIT, -1 none */
    PG_POOL_USES_RESERVED, /* it has pg_use_reserved_connections (16+) */
    PG_POOL_DB_FOUND,      /* the database exists */
    PG_POOL_DATALLOWCONN,  /* it allows connections */
    PG_POOL_DATCONNLIMIT,  /* its CONNECTION LIMIT, -1 none */
    PG_POOL_CAN_CONNECT,   /* the role has CONNECT on it */
    PG_POOL_COLUMNS
};

/*
 * The one statement (one row, PG_POOL_COLUMNS columns) that reads the
 * pool from pg_stat_get_activity(NULL) - the function under the
 * pg_stat_activity view, without the view's joins to pg_database and
 * pg_authid - and, with spec->free, the role's and the database's rows.
 * It cannot fail on a missing role or database (those columns are then
 * NULL), so it can go in the same message as the user's query. Sessions
 * other than the probe's own are counted, except in PG_POOL_TOTAL.
 * Returns a malloc'd string, or NULL when out of memory.
 */
char *pg_pool_sql(const pg_pool_spec *spec);

/* One row of that statement: each column's text, NULL for SQL NULL. */
typedef struct pg_pool_row {
    const char *v[PG_POOL_COLUMNS];
} pg_pool_row;

/* What the row says. A `has_` flag is 0 when the value is unknown; `why`
 * then says why (a static or out-buffer string). */
typedef struct pg_pool {
    int has_max;
    double max_connections;
    int has_total, has_pool_usage;
    double connections, pool_usage; /* server-wide */
    int has_app;                    /* the application's counts */
    double app_connections, idle_in_transaction, waiting_on_lock;
    int has_app_usage;
    double app_pool_usage; /* percent of pool_size + max_overflow */
    int has_free;
    double free_slots;
    char free_bound[160]; /* what bounds free_slots, for messages */
    char why_app[160];    /* why has_app is 0 */
    char why_free[160];   /* why has_free is 0 */
} pg_pool;

/*
 * Turn a row into metrics. pool_size 0 means no application pool was
 * named (no app_pool_usage); filtered is 1 when app_name, app_user or
 * app_database is set (app_connections is reported only then; the
 * idle and lock counts cover every client backend otherwise). Returns 0,
 * or -1 when the row is not one pg_pool_sql() makes (a column that is
 * not a number where one must be).
 *
 * free_slots follows PostgreSQL's login checks, the probe's own session
 * left out (it is gone when the next client comes): max_connections minus
 * the others' client backends, minus superuser_reserved_connections for
 * a role that is not a superuser, minus reserved_connections (16+) for
 * one without pg_use_reserved_connections; for a role that is not a
 * superuser also at most its CONNECTION LIMIT minus its sessions, and the
 * database's minus its sessions; 0 when the role may not log in or
 * connect, or the database allows no connections; never below 0.
 */
int pg_pool_compute(const pg_pool_row *row, long long pool_size,
                    long long max_overflow, int filtered, pg_pool *out);

#endif
