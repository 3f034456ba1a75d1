/*
 * plugins/postgres/probe.h - what the postgres probe's files share, and
 * nothing outside the plugin sees: one attempt's state (pg_probe), the
 * message and log helpers that scrub its secrets (postgres.c), where to
 * connect (plan.c), talking to the server (conn.c) and the pool metrics
 * (stats.c, pool.c). postgres.c tells the attempt's story with these.
 */
#ifndef GPCHECK_POSTGRES_PROBE_H
#define GPCHECK_POSTGRES_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "gpcheck/plugin.h"

#define PG_MAX_TARGETS 16 /* host entries handed to libpq, at most */
#define PG_MAX_ADDRS 4    /* addresses kept per host name */
#define PG_ADDR_LEN 64    /* a numeric IPv6 address with a scope id */
#define PG_HOST_LEN 256   /* a host name or a socket directory */
#define PG_PORT_LEN 16    /* a port entry */
#define PG_MAX_SECRETS 8  /* values scrubbed from what we send */
#define PG_MAX_KNOWN 64   /* the dsn's public values, for the masker */
#define PG_MSG_LEN 2048   /* one message or log line */
#define PG_CANCEL_MS 50   /* a cancel request after the deadline */

/* Everything one attempt shares between its steps. */
typedef struct pg_probe {
    gp_ctx *ctx;
    const gp_api *api;
    int64_t deadline; /* CLOCK_MONOTONIC ms */
    /* scrubbed from what we send; borrowed from the dsn's parse and the
     * password, which outlive the attempt's messages */
    const char *secrets[PG_MAX_SECRETS];
    size_t n_secrets;
    /* the dsn's other values (user, dbname, ...): a secret equal to one
     * cannot be masked without telling it (gp_sdk_mask_text) */
    const char *known[PG_MAX_KNOWN]; /* borrowed, like secrets */
    size_t n_known;
    char shown[1024];      /* the dsn with its secret fields masked */
    char said[PG_MSG_LEN]; /* the message set last, masked */
    /* pgbouncer_dsn's parse, whose secret values are in secrets; owned,
     * freed when the attempt ends */
    PQconninfoOption *admin_opts;
} pg_probe;

/* One host entry for libpq: a name (or socket directory), the numeric
 * address we resolved for it ("" for a socket) and its port ("" for the
 * default). */
typedef struct pg_target {
    char host[PG_HOST_LEN];
    char addr[PG_ADDR_LEN];
    char port[PG_PORT_LEN];
} pg_target;

/* What a query left us; pg_query_clear() frees its results. */
typedef struct pg_query {
    /* with pg_run_query(..., head = 1): the first result, whatever its
     * status (the pool statement sent before the user's query); owned */
    PGresult *head;
    PGresult *rows;  /* the first result with rows, or NULL; owned */
    PGresult *error; /* the first error result, or NULL; owned */
    int timed_out;   /* the time ran out first */
    int lost;        /* the connection broke: PQerrorMessage says why */
    int copy;        /* the query started a COPY we do not speak */
    double ms;
} pg_query;

/*
 * Where libpq connects: the host entries we resolved, joined into the
 * libpq lists host / hostaddr / port. `planned` is 0 when libpq needs no
 * help (see pg_plan_connection()) and gets the dsn's own fields.
 */
typedef struct pg_plan {
    int planned;
    pg_target targets[PG_MAX_TARGETS];
    int nt;
    char hosts[PG_MAX_TARGETS * (PG_HOST_LEN + 1)];
    char addrs[PG_MAX_TARGETS * (PG_ADDR_LEN + 1)];
    char ports[PG_MAX_TARGETS * (PG_PORT_LEN + 1)];
} pg_plan;

/* Keyword/value arrays for PQconnectStartParams, NULL-terminated. The
 * arrays are heap (the caller frees them); the strings are borrowed from
 * the dsn's parse, the plan and the password. */
typedef struct pg_params {
    const char **keys, **values;
    size_t n;
} pg_params;

/* ---- postgres.c: messages and log lines, always scrubbed ---------------- */

/* Set the attempt's message (masked, also kept in p->said) and return
 * `outcome`, for `return pg_say(...)`. */
gp_outcome pg_say(pg_probe *p, gp_outcome outcome, const char *fmt, ...)
    GP_PRINTF(3, 4);
/* A log line, masked. */
void pg_note(pg_probe *p, gp_log_level level, const char *fmt, ...)
    GP_PRINTF(3, 4);

/* ---- plan.c: where to connect -------------------------------------------- */

/*
 * Plan the connection from the parsed dsn: its hosts resolved within the
 * time left, each name within its share (gp_sdk_resolve()), into numeric
 * host / hostaddr / port lists for libpq; plan->planned 0 when libpq needs
 * no help. GP_READY, or the outcome with the message said.
 */
gp_outcome pg_plan_connection(pg_probe *p, const PQconninfoOption *opts,
                              pg_plan *plan);
/* The keyword/value arrays for libpq from the dsn, the plan and the
 * password (may be NULL). The caller frees pp->keys and pp->values; the
 * strings stay owned by opts, plan and password. */
gp_outcome pg_build_params(pg_probe *p, const PQconninfoOption *opts,
                           const pg_plan *plan, const char *password,
                           pg_params *pp);
/* Connect to the planned hosts one at a time, each within its share of the
 * time left (failing over on a transient failure). On GP_READY *conn is
 * the caller's to PQfinish() and *took the connection time in ms. */
gp_outcome pg_connect_hosts(pg_probe *p, pg_plan *plan, const pg_params *pp,
                            PGconn **conn, double *took);

/* ---- conn.c: talking to the server --------------------------------------- */

/* Connect before `end` (CLOCK_MONOTONIC ms, at the latest the deadline).
 * On GP_READY *out is the caller's to PQfinish(). */
gp_outcome pg_connect_db(pg_probe *p, const char *const *keys,
                         const char *const *values, int64_t end, PGconn **out,
                         double *took);
/* Send sql (one simple-query message) and collect its results until `end`
 * into q (see pg_query); with head, the first result goes to q->head.
 * Free them with pg_query_clear(). */
void pg_run_query(PGconn *conn, const char *sql, int head, int64_t end,
                  pg_query *q);
void pg_query_clear(pg_query *q);
/* The query gave no answer we can use: say why (a timed-out query is
 * cancelled first). */
gp_outcome pg_query_failure(pg_probe *p, PGconn *conn, pg_query *q);

/* ---- stats.c: the pool metrics ------------------------------------------- */

/* The pool statement an attempt sends, and what it needs to read its row. */
typedef struct pg_stats {
    char *sql;    /* owned; NULL: no pool metric is wanted (or can be read) */
    int free;     /* it reads free_slots */
    int filtered; /* app_name, app_user or app_database is set */
    long long pool_size, max_overflow, expect_free; /* 0 when unset */
} pg_stats;

/* Which pool metrics somebody wants (gp_api.metric_wanted, expect_free)
 * and the statement that reads them (pool.c), escaped for conn; st->sql
 * stays NULL when none is. GP_READY, or the outcome with the message
 * said. Free it with pg_stats_free(). */
gp_outcome pg_stats_plan(pg_probe *p, PGconn *conn, pg_stats *st);
void pg_stats_free(pg_stats *st);
/* Report the metrics from the statement's result r (NULL or an error:
 * skipped, logged), then check expect_free: GP_READY, or its outcome with
 * the message said. */
gp_outcome pg_stats_report(pg_probe *p, PGconn *conn, const pg_stats *st,
                           const PGresult *r);

/* ---- admin.c: in front of PgBouncer (pgbouncer_dsn) ---------------------- */

/* The time kept back from the dsn's login and query for the admin
 * console, so that a pooler whose clients wait can still be asked why:
 * a third of the time left, at most 2 s; 0 without pgbouncer_dsn. */
int64_t pg_bouncer_reserve(pg_probe *p);
/* After the attempt through the pooler ended with o: read pool db/user
 * from the admin console when a PgBouncer metric is wanted or o is not
 * ready, report its metrics and add what it says to the message (on a
 * failure: the database behind the pooler is down, or the pool is
 * saturated). Returns the attempt's outcome. */
gp_outcome pg_bouncer_check(pg_probe *p, const char *db, const char *user,
                            gp_outcome o);

#endif
