/*
 * plugins/postgres/admin.c - the postgres probe in front of PgBouncer
 * (`pgbouncer_dsn`): the admin console read over libpq (simple query
 * protocol only: one SHOW per message, so one round trip each), and the
 * pooler's view added to the attempt's result. The dsn itself goes through
 * the pooler to the real database, so a pooler that answers while the
 * database behind it is down cannot pass; the admin console says which of
 * the two failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bouncer.h"
#include "dsn.h"
#include "gpcheck/sdk.h"
#include "probe.h"

#define PG_BOUNCER_RESERVE_MS 2000 /* kept for the admin console, at most */

static const char *const bouncer_metrics[] = {
    "cl_active",     "cl_waiting",           "sv_active", "sv_idle", "maxwait",
    "avg_wait_time", "pgbouncer_pool_usage", NULL};

int64_t pg_bouncer_reserve(pg_probe *p)
{
    int64_t left = p->api->time_left_ms(p->ctx) / 3;

    if (!p->api->opt_string(p->ctx, "pgbouncer_dsn"))
        return 0;
    return left < PG_BOUNCER_RESERVE_MS ? left : PG_BOUNCER_RESERVE_MS;
}

/* Run one admin command and hand each row to fn; -1 with why on failure. */
static int admin_rows(pg_probe *p, PGconn *conn, const char *cmd, int64_t end,
                      void (*fn)(const pg_bouncer_row *, void *), void *arg,
                      char *why, size_t cap)
{
    pg_query q;
    int n;
    const char **names, **values;

    pg_run_query(conn, cmd, 0, end, &q);
    if (!q.rows) {
        const char *e =
            q.error ? PQresultErrorField(q.error, PG_DIAG_MESSAGE_PRIMARY)
                    : NULL;

        snprintf(why, cap, "%s: %s", cmd,
                 q.timed_out ? "no answer in time"
                 : e         ? e
                             : PQerrorMessage(conn));
        pg_query_clear(&q);
        return -1;
    }
    n = PQnfields(q.rows);
    names = calloc((size_t)n + 1, sizeof *names);
    values = calloc((size_t)n + 1, sizeof *values);
    if (!names || !values) {
        free(names);
        free(values);
        pg_query_clear(&q);
        snprintf(why, cap, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++)
        names[i] = PQfname(q.rows, i);
    for (int r = 0; r < PQntuples(q.rows); r++) {
        pg_bouncer_row row = {.names = names, .values = values, .n = n};

        for (int i = 0; i < n; i++)
            values[i] =
                PQgetisnull(q.rows, r, i) ? NULL : PQgetvalue(q.rows, r, i);
        fn(&row, arg);
    }
    free(names);
    free(values);
    pg_query_clear(&q);
    (void)p;
    return 0;
}

/* What the row callbacks fill. */
typedef struct bouncer_read {
    const char *db, *user;
    pg_bouncer_pool pool;
    int bad; /* a row of ours the probe does not understand */
} bouncer_read;

static int is(const pg_bouncer_row *row, const char *col, const char *want)
{
    const char *v = pg_bouncer_col(row, col);

    return v && want && strcmp(v, want) == 0;
}

static void on_pool(const pg_bouncer_row *row, void *arg)
{
    bouncer_read *br = arg;

    if (is(row, "database", br->db) && is(row, "user", br->user) &&
        pg_bouncer_pools_row(row, &br->pool) < 0)
        br->bad = 1;
}

static void on_database(const pg_bouncer_row *row, void *arg)
{
    bouncer_read *br = arg;

    if (is(row, "name", br->db) && pg_bouncer_databases_row(row, &br->pool) < 0)
        br->bad = 1;
}

static void on_stats(const pg_bouncer_row *row, void *arg)
{
    bouncer_read *br = arg;

    if (is(row, "database", br->db))
        pg_bouncer_stats_row(row, &br->pool);
}

/* Log in to the admin console before `end`; *conn the caller's. */
static gp_outcome admin_connect(pg_probe *p, const char *dsn, PGconn **conn,
                                char *why, size_t cap)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &err);
    pg_plan *plan = calloc(1, sizeof *plan);
    pg_params pp = {0};
    double took;
    gp_outcome o = GP_UNKNOWN;

    PQfreemem(err); /* validate() reported it at config time */
    if (opts && plan) {
        for (const PQconninfoOption *k = opts; k->keyword; k++)
            if (pg_dsn_is_secret(k) && k->val && *k->val &&
                p->n_secrets < PG_MAX_SECRETS)
                p->secrets[p->n_secrets++] = k->val;
        pg_dsn_render(opts, p->shown, sizeof p->shown);
        o = pg_plan_connection(p, opts, plan);
        if (o == GP_READY)
            o = pg_build_params(p, opts, plan, NULL, &pp);
        if (o == GP_READY)
            o = pg_connect_hosts(p, plan, &pp, conn, &took);
        if (o == GP_READY && PQsetnonblocking(*conn, 1) != 0)
            o = pg_say(p, GP_UNKNOWN,
                       "cannot make the connection "
                       "non-blocking");
        if (o != GP_READY)
            snprintf(why, cap, "%s", p->said);
    } else {
        snprintf(why, cap, "%s", opts ? "out of memory" : "bad pgbouncer_dsn");
    }
    free(pp.keys);
    free(pp.values);
    free(plan);
    /* The secrets stay in p->secrets until the attempt ends: the opts
     * that hold them are freed with the attempt (never: kept, as the
     * messages after may still quote a libpq error). */
    p->admin_opts = opts;
    return o;
}

/* Read pool db/user from the admin console. GP_READY, or the outcome with
 * why set. */
static gp_outcome read_pool(pg_probe *p, const char *db, const char *user,
                            pg_bouncer_pool *bp, char *why, size_t cap)
{
    const char *dsn = p->api->opt_string(p->ctx, "pgbouncer_dsn");
    bouncer_read br = {.db = db, .user = user};
    PGconn *conn = NULL;
    char shown[sizeof p->shown];
    gp_outcome o;

    memcpy(shown, p->shown, sizeof shown);
    o = admin_connect(p, dsn, &conn, why, cap);
    if (o == GP_READY && (admin_rows(p, conn, "SHOW POOLS", p->deadline,
                                     on_pool, &br, why, cap) < 0 ||
                          admin_rows(p, conn, "SHOW DATABASES", p->deadline,
                                     on_database, &br, why, cap) < 0))
        o = GP_TRANSIENT;
    if (o == GP_READY && p->api->metric_wanted(p->ctx, "avg_wait_time") &&
        admin_rows(p, conn, "SHOW STATS", p->deadline, on_stats, &br, why,
                   cap) < 0)
        o = GP_TRANSIENT;
    if (o == GP_READY && br.bad) {
        snprintf(why, cap, "SHOW POOLS: a row the probe does not understand");
        o = GP_UNKNOWN;
    }
    PQfinish(conn);
    memcpy(p->shown, shown, sizeof shown);
    *bp = br.pool;
    return o;
}

static void report(pg_probe *p, const pg_bouncer_pool *bp)
{
    const gp_api *api = p->api;

    api->metric(p->ctx, "cl_active", (double)bp->cl_active);
    api->metric(p->ctx, "cl_waiting", (double)bp->cl_waiting);
    api->metric(p->ctx, "sv_active", (double)bp->sv_active);
    api->metric(p->ctx, "sv_idle", (double)bp->sv_idle);
    api->metric(p->ctx, "maxwait", bp->maxwait_ms);
    if (bp->has_avg_wait)
        api->metric(p->ctx, "avg_wait_time", bp->avg_wait_ms);
    if (bp->pool_size > 0)
        api->metric(p->ctx, "pgbouncer_pool_usage",
                    100.0 * (double)bp->sv_active / (double)bp->pool_size);
}

gp_outcome pg_bouncer_check(pg_probe *p, const char *db, const char *user,
                            gp_outcome o)
{
    char said[PG_MSG_LEN], why[PG_MSG_LEN], pool[300], text[600];
    int wanted = 0;
    pg_bouncer_pool bp;
    gp_outcome ao;

    for (const char *const *m = bouncer_metrics; *m; m++)
        wanted |= p->api->metric_wanted(p->ctx, *m);
    /* Ready through the pooler and nobody reads its numbers: done. */
    if (o == GP_READY && !wanted)
        return o;
    memcpy(said, p->said, sizeof said);
    snprintf(pool, sizeof pool, "%s/%s", db ? db : "?", user ? user : "?");
    ao = read_pool(p, db, user, &bp, why, sizeof why);
    if (ao != GP_READY) {
        if (o == GP_READY)
            return pg_say(p, ao, "%s; PgBouncer's admin console: %s", said,
                          why);
        return pg_say(p, o, "%s (PgBouncer's admin console: %s)", said, why);
    }
    report(p, &bp);
    if (o == GP_READY)
        pg_bouncer_summary(&bp, pool, text, sizeof text);
    else
        pg_bouncer_explain(&bp, pool, text, sizeof text);
    return pg_say(p, o, "%s; %s", said, text);
}
