/*
 * plugins/postgres/stats.c - the postgres probe's pool metrics: which of
 * them somebody wants (gp_api.metric_wanted), the statement that reads
 * them (pool.c) sent in the same message as the user's query, and what
 * its row says, expect_free included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpcheck/sdk.h"
#include "pool.h"
#include "probe.h"

static int wanted(pg_probe *p, const char *const *names)
{
    for (; *names; names++)
        if (p->api->metric_wanted(p->ctx, *names))
            return 1;
    return 0;
}

/* A literal for SQL, escaped for this connection; NULL for an unset
 * option; *oom on failure. The caller frees it with PQfreemem(). */
static char *literal(PGconn *conn, const char *s, int *oom)
{
    char *lit;

    if (!s)
        return NULL;
    lit = PQescapeLiteral(conn, s, strlen(s));
    if (!lit)
        *oom = 1;
    return lit;
}

/* app_name's items as "'a', 'b'" (malloc'd), NULL when unset. */
static char *name_list(pg_probe *p, PGconn *conn, int *oom)
{
    const char *const *items;
    size_t n = p->api->opt_list(p->ctx, "app_name", &items);
    char *out = NULL;
    size_t len = 0;
    FILE *f;

    if (n == 0)
        return NULL;
    f = open_memstream(&out, &len);
    if (!f) {
        *oom = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char *lit = literal(conn, items[i], oom);

        if (lit)
            fprintf(f, "%s%s", i ? ", " : "", lit);
        PQfreemem(lit);
    }
    if (fclose(f) != 0)
        *oom = 1;
    return out;
}

gp_outcome pg_stats_plan(pg_probe *p, PGconn *conn, pg_stats *st)
{
    static const char *const base[] = {"connections", "max_connections",
                                       "pool_usage", NULL};
    static const char *const app[] = {"app_connections", "app_pool_usage",
                                      "idle_in_transaction", "waiting_on_lock",
                                      NULL};
    const gp_api *api = p->api;
    pg_pool_spec spec = {.version = PQserverVersion(conn)};
    int oom = 0;
    char *names, *user, *db;

    memset(st, 0, sizeof *st);
    st->expect_free = api->opt_isset(p->ctx, "expect_free")
                          ? api->opt_integer(p->ctx, "expect_free")
                          : 0;
    st->pool_size = api->opt_integer(p->ctx, "pool_size");
    st->max_overflow = api->opt_integer(p->ctx, "max_overflow");
    st->filtered = api->opt_list(p->ctx, "app_name", NULL) > 0 ||
                   api->opt_string(p->ctx, "app_user") ||
                   api->opt_string(p->ctx, "app_database");
    spec.app = wanted(p, app);
    spec.free = st->expect_free > 0 || api->metric_wanted(p->ctx, "free_slots");
    if (!spec.app && !spec.free && !wanted(p, base))
        return GP_READY; /* nobody reads them: not one byte more */
    if (spec.version < 100000) {
        /* No backend_type before PostgreSQL 10. */
        if (st->expect_free > 0)
            return pg_say(p, GP_FATAL,
                          "expect_free needs PostgreSQL 10 or later (dsn %s)",
                          p->shown);
        pg_note(p, GP_LOG_DEBUG,
                "pool metrics skipped: the server is older than 10");
        return GP_READY;
    }
    names = name_list(p, conn, &oom);
    user = literal(conn, api->opt_string(p->ctx, "app_user"), &oom);
    db = literal(conn, api->opt_string(p->ctx, "app_database"), &oom);
    spec.names = names;
    spec.user = user;
    spec.db = db;
    st->free = spec.free;
    if (!oom)
        st->sql = pg_pool_sql(&spec);
    free(names);
    PQfreemem(user);
    PQfreemem(db);
    if (!st->sql)
        return pg_say(p, GP_UNKNOWN, "out of memory");
    return GP_READY;
}

void pg_stats_free(pg_stats *st)
{
    free(st->sql);
    st->sql = NULL;
}

/* The role and database free_slots is about, for messages. */
static void whose(pg_probe *p, PGconn *conn, char *out, size_t cap)
{
    const char *user = p->api->opt_string(p->ctx, "app_user");
    const char *db = p->api->opt_string(p->ctx, "app_database");

    snprintf(out, cap, "role \"%s\" in database \"%s\"",
             user ? user : PQuser(conn), db ? db : PQdb(conn));
}

/* expect_free = N: transient in the warmup (sessions of the job before
 * are still leaving), fatal after it (the suite starts now, and would not
 * get its connections). Fatal at once when the number cannot be known: a
 * missing grant or role does not appear by waiting. */
static gp_outcome check_free(pg_probe *p, PGconn *conn, const pg_stats *st,
                             const pg_pool *pool)
{
    char who[300];

    whose(p, conn, who, sizeof who);
    if (!pool->has_free)
        return pg_say(p, GP_FATAL,
                      "expect_free = %lld cannot be checked for %s: %s (dsn "
                      "%s)",
                      st->expect_free, who,
                      pool->why_free[0] ? pool->why_free : "no answer",
                      p->shown);
    if (pool->free_slots >= (double)st->expect_free)
        return GP_READY;
    return pg_say(p, p->api->in_warmup(p->ctx) ? GP_TRANSIENT : GP_FATAL,
                  "%.0f connection slots free for %s, expect_free = %lld "
                  "(%s; dsn %s)",
                  pool->free_slots, who, st->expect_free, pool->free_bound,
                  p->shown);
}

/*
 * Report the pool metrics from the statement's result (NULL or an error
 * when it failed: they are skipped, logged), then check expect_free.
 * GP_READY, or expect_free's outcome with the message said.
 */
gp_outcome pg_stats_report(pg_probe *p, PGconn *conn, const pg_stats *st,
                           const PGresult *r)
{
    const gp_api *api = p->api;
    pg_pool_row row = {{0}};
    pg_pool pool;

    if (!r || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
        PQnfields(r) != PG_POOL_COLUMNS) {
        const char *why =
            r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

        pg_note(p, GP_LOG_INFO, "pool metrics skipped: %s",
                why ? why : "no result");
        return st->expect_free > 0
                   ? pg_say(p, GP_FATAL,
                            "expect_free cannot be checked: the pool "
                            "statement failed: %s (dsn %s)",
                            why ? why : "no result", p->shown)
                   : GP_READY;
    }
    for (int i = 0; i < PG_POOL_COLUMNS; i++)
        row.v[i] = PQgetisnull(r, 0, i) ? NULL : PQgetvalue(r, 0, i);
    if (pg_pool_compute(&row, st->pool_size, st->max_overflow, st->filtered,
                        &pool) < 0)
        return pg_say(p, GP_UNKNOWN,
                      "the pool statement gave a row the probe "
                      "does not understand");
    if (pool.has_max)
        api->metric(p->ctx, "max_connections", pool.max_connections);
    if (pool.has_total)
        api->metric(p->ctx, "connections", pool.connections);
    if (pool.has_pool_usage)
        api->metric(p->ctx, "pool_usage", pool.pool_usage);
    if (!pool.has_total)
        pg_note(p, GP_LOG_DEBUG,
                "connections and pool_usage skipped: the role may not see "
                "other sessions (grant pg_read_all_stats)");
    if (pool.has_app) {
        if (st->filtered)
            api->metric(p->ctx, "app_connections", pool.app_connections);
        api->metric(p->ctx, "idle_in_transaction", pool.idle_in_transaction);
        api->metric(p->ctx, "waiting_on_lock", pool.waiting_on_lock);
    }
    if (pool.has_app_usage)
        api->metric(p->ctx, "app_pool_usage", pool.app_pool_usage);
    if (pool.why_app[0])
        pg_note(p, GP_LOG_DEBUG, "%s", pool.why_app);
    if (pool.has_free)
        api->metric(p->ctx, "free_slots", pool.free_slots);
    else if (st->free)
        pg_note(p, GP_LOG_DEBUG, "free_slots skipped: %s", pool.why_free);
    return st->expect_free > 0 ? check_free(p, conn, st, &pool) : GP_READY;
}
