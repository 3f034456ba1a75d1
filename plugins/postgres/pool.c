/*
 * plugins/postgres/pool.c - see pool.h: the pool statement and the
 * arithmetic of PostgreSQL's login checks.
 */
#include "pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The application's sessions among pg_stat_get_activity(NULL)'s rows `s`,
 * by the columns every role may see (application_name, usesysid, datid),
 * the probe's own left out. */
static void app_filter(FILE *f, const pg_pool_spec *spec)
{
    fputs("s.pid <> pg_catalog.pg_backend_pid()", f);
    if (spec->names)
        fprintf(f, " AND s.application_name IN (%s)", spec->names);
    /* to_regrole() (a syscache lookup, NULL for no such role), not the
     * pg_roles view: on a fresh backend the view's catalogs cost ~1 ms. */
    if (spec->user)
        fprintf(f,
                " AND s.usesysid = pg_catalog.to_regrole("
                "pg_catalog.quote_ident(%s))",
                spec->user);
    if (spec->db)
        fprintf(f,
                " AND s.datid = (SELECT oid FROM pg_catalog.pg_database "
                "WHERE datname = %s)",
                spec->db);
}

/* count(*) of the client backends among s that also match `also`. */
static void count_clients(FILE *f, const pg_pool_spec *spec, const char *also)
{
    fputs(", pg_catalog.count(*) FILTER (WHERE s.backend_type = 'client "
          "backend' AND ",
          f);
    app_filter(f, spec);
    fprintf(f, "%s)", also);
}

char *pg_pool_sql(const pg_pool_spec *spec)
{
    int v16 = spec->version >= 160000;
    char *sql = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&sql, &len);

    if (!f)
        return NULL;
    fprintf(f,
            "SELECT pg_catalog.current_setting('max_connections'), "
            "pg_catalog.current_setting('superuser_reserved_connections'), "
            "%s, pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'), "
            "a.*, ",
            v16 ? "pg_catalog.current_setting('reserved_connections')" : "'0'");
    if (spec->free)
        fprintf(f,
                "r.oid IS NOT NULL, r.rolsuper, r.rolcanlogin, "
                "r.rolconnlimit, %s, d.oid IS NOT NULL, d.datallowconn, "
                "d.datconnlimit, pg_catalog.has_database_privilege(r.oid, "
                "d.oid, 'CONNECT') "
                "FROM (SELECT %s::name AS rolname, %s::name AS datname) AS t "
                "LEFT JOIN pg_catalog.pg_roles AS r ON r.rolname = t.rolname "
                "LEFT JOIN pg_catalog.pg_database AS d "
                "ON d.datname = t.datname CROSS JOIN LATERAL ",
                v16 ? "pg_catalog.pg_has_role(r.oid, "
                      "'pg_use_reserved_connections', 'USAGE')"
                    : "false",
                spec->user ? spec->user : "SESSION_USER",
                spec->db ? spec->db : "pg_catalog.current_database()");
    else
        fputs("NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM ", f);

    fputs("(SELECT pg_catalog.count(*) FILTER (WHERE s.backend_type = "
          "'client backend')",
          f);
    if (spec->app) {
        count_clients(f, spec, "");
        count_clients(f, spec, " AND s.state LIKE 'idle in transaction%'");
        count_clients(f, spec, " AND s.wait_event_type = 'Lock'");
        fputs(", pg_catalog.count(*) FILTER (WHERE s.backend_type IS NULL "
              "AND ",
              f);
        app_filter(f, spec);
        fputs(")", f);
    } else {
        fputs(", NULL, NULL, NULL, NULL", f);
    }
    if (spec->free)
        fputs(", pg_catalog.count(*) FILTER (WHERE s.backend_type = 'client "
              "backend' AND s.pid <> pg_catalog.pg_backend_pid() AND "
              "s.usesysid = r.oid), pg_catalog.count(*) FILTER (WHERE "
              "s.backend_type = 'client backend' AND s.pid <> "
              "pg_catalog.pg_backend_pid() AND s.datid = d.oid)",
              f);
    else
        fputs(", NULL, NULL", f);
    fputs(" FROM pg_catalog.pg_stat_get_activity(NULL) AS s) AS a", f);
    if (fclose(f) != 0) {
        free(sql);
        return NULL;
    }
    return sql;
}

/* ------------------------------------------------------------------------ */
/* The row                                                                   */

/* A whole number, or -1 with *bad set when the text is none. -2 for NULL
 * (SQL NULL is not an error: the part was not asked for). */
static long long number(const char *s, int *bad)
{
    char *end;
    long long v;

    if (!s)
        return -2;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end) {
        *bad = 1;
        return -1;
    }
    return v;
}

/* 1 for "t", 0 for "f", -1 for NULL; *bad for anything else. */
static int boolean(const char *s, int *bad)
{
    if (!s)
        return -1;
    if (strcmp(s, "t") == 0)
        return 1;
    if (strcmp(s, "f") != 0)
        *bad = 1;
    return 0;
}

static void app_counts(const pg_pool_row *row, long long pool_size,
                       long long max_overflow, int filtered, int *bad,
                       pg_pool *out)
{
    long long app = number(row->v[PG_POOL_APP], bad);
    long long idle = number(row->v[PG_POOL_IDLE_TX], bad);
    long long lock = number(row->v[PG_POOL_LOCK], bad);
    long long hidden = number(row->v[PG_POOL_HIDDEN], bad);

    if (app < 0 || idle < 0 || lock < 0 || hidden < 0)
        return;
    if (hidden > 0) {
        snprintf(out->why_app, sizeof out->why_app,
                 "%lld session(s) that may be the application's are hidden "
                 "from the probe's role (grant pg_read_all_stats)",
                 hidden);
        return;
    }
    out->has_app = 1;
    out->app_connections = (double)app;
    out->idle_in_transaction = (double)idle;
    out->waiting_on_lock = (double)lock;
    if (!filtered)
        snprintf(out->why_app, sizeof out->why_app,
                 "app_connections needs app_name, app_user or app_database");
    if (pool_size > 0) {
        out->has_app_usage = filtered;
        out->app_pool_usage =
            100.0 * (double)app / (double)(pool_size + max_overflow);
    }
}

/* The lower of *slots and limit - used, naming the bound when it wins. */
static void bound(long long *slots, long long limit, long long used,
                  const char *what, pg_pool *out)
{
    long long left = limit - used;

    if (left < *slots) {
        *slots = left;
        snprintf(out->free_bound, sizeof out->free_bound,
                 "%s %lld, %lld in use", what, limit, used);
    }
}

static void free_slots(const pg_pool_row *row, long long max, long long total,
                       int *bad, pg_pool *out)
{
    long long su_res = number(row->v[PG_POOL_SU_RESERVED], bad);
    long long res = number(row->v[PG_POOL_RESERVED], bad);
    long long role_conns = number(row->v[PG_POOL_ROLE_CONNS], bad);
    long long db_conns = number(row->v[PG_POOL_DB_CONNS], bad);
    long long rol_limit = number(row->v[PG_POOL_ROLCONNLIMIT], bad);
    long long dat_limit = number(row->v[PG_POOL_DATCONNLIMIT], bad);
    int su = boolean(row->v[PG_POOL_ROLSUPER], bad) == 1;
    int uses_res = boolean(row->v[PG_POOL_USES_RESERVED], bad) == 1;
    long long others = total - 1, slots, reserved;

    if (boolean(row->v[PG_POOL_ROLE_FOUND], bad) != 1) {
        snprintf(out->why_free, sizeof out->why_free,
                 "the role does not exist");
        return;
    }
    if (boolean(row->v[PG_POOL_DB_FOUND], bad) != 1) {
        snprintf(out->why_free, sizeof out->why_free,
                 "the database does not exist");
        return;
    }
    if (su_res < 0 || res < 0 || role_conns < 0 || db_conns < 0)
        return;
    /* Superusers skip the reserved slots and both connection limits. */
    reserved = su ? 0 : uses_res ? su_res : su_res + res;
    slots = max - others - reserved;
    if (slots < max)
        snprintf(out->free_bound, sizeof out->free_bound,
                 "max_connections %lld, %lld in use, %lld reserved", max,
                 others, reserved);
    if (!su && rol_limit >= 0)
        bound(&slots, rol_limit, role_conns, "the role's CONNECTION LIMIT",
              out);
    if (!su && dat_limit >= 0)
        bound(&slots, dat_limit, db_conns, "the database's CONNECTION LIMIT",
              out);
    if (boolean(row->v[PG_POOL_ROLCANLOGIN], bad) == 0 && !*bad) {
        slots = 0;
        snprintf(out->free_bound, sizeof out->free_bound,
                 "the role may not log in (NOLOGIN)");
    } else if (boolean(row->v[PG_POOL_DATALLOWCONN], bad) == 0 && !*bad) {
        slots = 0;
        snprintf(out->free_bound, sizeof out->free_bound,
                 "the database allows no connections");
    } else if (boolean(row->v[PG_POOL_CAN_CONNECT], bad) == 0 && !*bad) {
        slots = 0;
        snprintf(out->free_bound, sizeof out->free_bound,
                 "the role has no CONNECT privilege on the database");
    }
    out->has_free = 1;
    out->free_slots = slots > 0 ? (double)slots : 0;
}

int pg_pool_compute(const pg_pool_row *row, long long pool_size,
                    long long max_overflow, int filtered, pg_pool *out)
{
    int bad = 0, seen = boolean(row->v[PG_POOL_SEEN], &bad);
    long long max = number(row->v[PG_POOL_MAX], &bad);
    long long su_res = number(row->v[PG_POOL_SU_RESERVED], &bad);
    long long total = number(row->v[PG_POOL_TOTAL], &bad);

    memset(out, 0, sizeof *out);
    if (bad || max <= 0 || su_res < 0 || total < 1)
        return -1;
    out->has_max = 1;
    out->max_connections = (double)max;
    if (seen == 1) {
        out->has_total = 1;
        out->connections = (double)total;
        out->has_pool_usage = max > su_res;
        if (max > su_res)
            out->pool_usage = 100.0 * (double)total / (double)(max - su_res);
    }
    app_counts(row, pool_size, max_overflow, filtered, &bad, out);
    if (!row->v[PG_POOL_ROLE_FOUND])
        ; /* the free part was not asked for */
    else if (seen == 1)
        free_slots(row, max, total, &bad, out);
    else
        snprintf(out->why_free, sizeof out->why_free,
                 "the role may not see other sessions (grant "
                 "pg_read_all_stats)");
    return bad ? -1 : 0;
}
