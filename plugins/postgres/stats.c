/*
 * plugins/postgres/stats.c - the postgres probe's connection metrics,
 * read with a short query of our own after the user's.
 */
#include <errno.h>
#include <stdlib.h>

#include "gpcheck/sdk.h"
#include "probe.h"

/* A whole decimal number, or -1. */
static long long parse_count(const char *s)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0)
        return -1;
    return v;
}

/*
 * Connection metrics, read with a short query of our own after the
 * user's. pg_stat_activity shows other sessions' backend_type only to
 * roles with pg_read_all_stats (or superusers); for others we report
 * max_connections alone rather than a wrong count.
 */
void pg_read_stats(pg_probe *p, PGconn *conn)
{
    static const char sql[] =
        "SELECT pg_catalog.current_setting('max_connections'), "
        "pg_catalog.current_setting('superuser_reserved_connections'), "
        "CASE WHEN pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE') "
        "THEN (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity "
        "WHERE backend_type = 'client backend') END";
    int64_t end = (int64_t)gp_sdk_now_ms() + PG_STATS_MS;
    long long max, reserved, conns;
    pg_query q;

    pg_run_query(conn, sql, end < p->deadline ? end : p->deadline, &q);
    if (!q.rows || PQntuples(q.rows) != 1 || PQnfields(q.rows) != 3) {
        const char *why =
            q.error ? PQresultErrorField(q.error, PG_DIAG_MESSAGE_PRIMARY)
                    : NULL;

        pg_note(p, GP_LOG_DEBUG, "connection metrics skipped: %s",
                q.timed_out ? "no answer in time"
                : why       ? why
                            : "no result");
        pg_query_clear(&q);
        return;
    }
    max = parse_count(PQgetvalue(q.rows, 0, 0));
    reserved = parse_count(PQgetvalue(q.rows, 0, 1));
    conns =
        PQgetisnull(q.rows, 0, 2) ? -1 : parse_count(PQgetvalue(q.rows, 0, 2));
    pg_query_clear(&q);
    if (max > 0)
        p->api->metric(p->ctx, "max_connections", (double)max);
    if (conns < 0) {
        pg_note(p, GP_LOG_DEBUG,
                "connections and pool_usage skipped: the role may not see "
                "other sessions (grant pg_read_all_stats)");
        return;
    }
    p->api->metric(p->ctx, "connections", (double)conns);
    if (max > 0 && reserved >= 0 && max > reserved)
        p->api->metric(p->ctx, "pool_usage",
                       100.0 * (double)conns / (double)(max - reserved));
}
