/*
 * plugins/postgres/postgres.c - the `postgres` probe: does PostgreSQL let
 * us log in and answer a query?
 *
 * An open port is not a ready database. A server that is starting up,
 * shutting down, recovering or out of connection slots accepts the TCP
 * connection and then refuses the login; a wrong password or a missing
 * database never gets better by waiting. One attempt reads top to bottom:
 *
 *   1. read the password (option or private file) and parse `dsn` with
 *      libpq's own parser, which also says which fields are secret
 *      (dsn.c renders it with them masked);
 *   2. resolve every host name with gp_sdk_resolve() (a helper process
 *      killed when the time is up), each within its share of the time
 *      left, and give libpq numeric `hostaddr`s, so that libpq never blocks
 *      in the resolver (plan.c);
 *   3. connect with PQconnectStartParams / PQconnectPoll, poll()ing the
 *      socket; with several hosts one at a time, each within its share of
 *      the time left (libpq's rule for connect_timeout), so a dead first
 *      host cannot hide a live second one (plan.c, conn.c);
 *   4. refuse a hot standby unless allow_recovery; run `query` with
 *      PQsendQuery in the same kind of loop and compare with `expect`;
 *   5. the pool metrics (stats.c, pool.c) only when somebody wants them
 *      (a threshold names one, a report shows them, expect_free): one
 *      statement on pg_stat_get_activity(NULL) sent in the same message
 *      as `query`, so they cost no round trip of their own; skipped
 *      quietly when the role may not see them.
 *
 * Outcomes follow the SQLSTATE libpq shows in verbose error messages (for
 * server errors during the login too), then the text of the errors libpq
 * makes itself (refused, closed, no password): outcome.c, unit-tested
 * beside it (test_outcome.c). The core runs attempts in
 * the "C" locale, so libpq's own messages are in English.
 *
 * Secrets - every field libpq marks with the '*' display flag, the
 * password option, the password file's content - are scrubbed from every
 * message and log line we send, on top of the core's own masking. The dsn
 * is shown re-rendered from libpq's parse with those fields as ***.
 *
 * The plugin keeps no state: everything belongs to one check() call, and
 * the helper processes it forks are killed and reaped before it returns.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"

#include "dsn.h"
#include "outcome.h"
#include "probe.h"

#define PG_MAX_PASSWORD 4096 /* bytes read from password_file, at most */
#define PG_SHOW_BYTES 80     /* bytes of a query's value in a message */

static const gp_option pg_options[] = {
    {.key = "dsn",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_REQUIRED | GP_OPT_CONNINFO,
     .help = "libpq connection string ('host=... port=... dbname=... "
             "user=...') or postgresql:// URI; its password is never "
             "printed"},
    {.key = "password",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_SECRET,
     .help = "password (overrides one in dsn)"},
    {.key = "password_file",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_FILE,
     .help = "file holding the password; refused when group or others have any "
             "access (chmod 600); one trailing newline is stripped"},
    {.key = "query",
     .type = GP_TYPE_STRING,
     .def = "SELECT 1",
     .help = "query that must succeed once connected"},
    {.key = "expect",
     .type = GP_TYPE_STRING,
     .help = "text the first column of the query's first row must equal"},
    {.key = "allow_recovery",
     .type = GP_TYPE_BOOLEAN,
     .def = "false",
     .help = "count a hot standby (in recovery, read-only) as ready"},
    {.key = "wait_for_role",
     .type = GP_TYPE_BOOLEAN,
     .def = "false",
     .help = "the role or its password is set up after the server starts "
             "(provisioning): a refused login (28P01, 28000) is transient "
             "in warmup, fatal after"},
    {.key = "app_name",
     .type = GP_TYPE_LIST,
     .help = "the application's sessions have one of these "
             "application_names (for the app_* metrics)"},
    {.key = "app_user",
     .type = GP_TYPE_STRING,
     .help = "the application's role: its sessions for the app_* metrics, "
             "and the role free_slots is for (default: the dsn's)"},
    {.key = "app_database",
     .type = GP_TYPE_STRING,
     .help = "the application's database: its sessions for the app_* "
             "metrics, and the database free_slots is for (default: the "
             "dsn's)"},
    {.key = "pool_size",
     .type = GP_TYPE_INTEGER,
     .min = 1,
     .max = 1000000,
     .help = "the application's pool size (all its processes together): "
             "app_pool_usage is its sessions over pool_size + max_overflow"},
    {.key = "max_overflow",
     .type = GP_TYPE_INTEGER,
     .def = "0",
     .min = 0,
     .max = 1000000,
     .help = "connections the pool may open beyond pool_size"},
    {.key = "expect_free",
     .type = GP_TYPE_INTEGER,
     .min = 1,
     .max = 1000000,
     .help = "at least this many connection slots must be free for a new "
             "client of app_user / app_database (transient in warmup, "
             "fatal after)"},
    {.key = "pgbouncer_dsn",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_CONNINFO,
     .help = "PgBouncer's admin console (dbname=pgbouncer) when dsn goes "
             "through PgBouncer: its pool's numbers, and which of the two "
             "fails"},
    {.key = NULL},
};

static const gp_metric pg_metrics[] = {
    {.name = "connect_time",
     .unit = GP_UNIT_MS,
     .help = "connection and login, name resolution excluded"},
    {.name = "query_time",
     .unit = GP_UNIT_MS,
     .help = "the query, from sending it to its last result"},
    {.name = "connections",
     .unit = GP_UNIT_COUNT,
     .help = "client backends in pg_stat_activity, the probe's own included "
             "(needs pg_read_all_stats or superuser)"},
    {.name = "max_connections",
     .unit = GP_UNIT_COUNT,
     .help = "the server's max_connections"},
    {.name = "pool_usage",
     .unit = GP_UNIT_PERCENT,
     .help = "connections as a percentage of max_connections minus "
             "superuser_reserved_connections"},
    {.name = "server_version",
     .unit = GP_UNIT_NONE,
     .help = "server version as a number (150020 for 15.20)"},
    {.name = "app_connections",
     .unit = GP_UNIT_COUNT,
     .help = "the application's client backends (app_name, app_user, "
             "app_database), the probe's own left out"},
    {.name = "app_pool_usage",
     .unit = GP_UNIT_PERCENT,
     .help = "app_connections as a percentage of pool_size + max_overflow"},
    {.name = "free_slots",
     .unit = GP_UNIT_COUNT,
     .help = "connections a new client of app_user / app_database can still "
             "open (reserved slots and connection limits honoured)"},
    {.name = "idle_in_transaction",
     .unit = GP_UNIT_COUNT,
     .help = "the application's sessions idle in a transaction (every "
             "client backend's without app_*)"},
    {.name = "waiting_on_lock",
     .unit = GP_UNIT_COUNT,
     .help = "the application's sessions waiting for a lock (every client "
             "backend's without app_*)"},
    {.name = "cl_active",
     .unit = GP_UNIT_COUNT,
     .help = "PgBouncer (pgbouncer_dsn): clients of the dsn's pool linked to "
             "a server connection"},
    {.name = "cl_waiting",
     .unit = GP_UNIT_COUNT,
     .help = "PgBouncer: clients of the pool waiting for a server connection"},
    {.name = "sv_active",
     .unit = GP_UNIT_COUNT,
     .help = "PgBouncer: the pool's server connections in use by a client"},
    {.name = "sv_idle",
     .unit = GP_UNIT_COUNT,
     .help = "PgBouncer: the pool's server connections free for a client"},
    {.name = "maxwait",
     .unit = GP_UNIT_MS,
     .help = "PgBouncer: how long the pool's oldest waiting client has waited"},
    {.name = "avg_wait_time",
     .unit = GP_UNIT_MS,
     .help = "PgBouncer: average wait of the database's clients (SHOW STATS)"},
    {.name = "pgbouncer_pool_usage",
     .unit = GP_UNIT_PERCENT,
     .help = "PgBouncer: sv_active as a percentage of the database's "
             "pool_size"},
    {.name = NULL},
};

/* ------------------------------------------------------------------------ */
/* Text that leaves the plugin: always scrubbed                              */

static void vsay(pg_probe *p, int is_log, gp_log_level level, const char *fmt,
                 va_list ap)
{
    char *raw = NULL, clean[PG_MSG_LEN];

    /* Whole, so that no secret is cut before it is masked. */
    if (vasprintf(&raw, fmt, ap) < 0)
        raw = NULL;
    gp_sdk_mask_text(raw ? raw : "out of memory", p->secrets, p->n_secrets,
                     p->known, p->n_known, clean, sizeof clean);
    free(raw);
    if (is_log)
        p->api->log(p->ctx, level, "%s", clean);
    else {
        p->api->message(p->ctx, "%s", clean);
        memcpy(p->said, clean, sizeof clean);
    }
}

/* Set the attempt's message and return `outcome`, for `return pg_say(...)`. */
gp_outcome pg_say(pg_probe *p, gp_outcome outcome, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsay(p, 0, GP_LOG_INFO, fmt, ap);
    va_end(ap);
    return outcome;
}

void pg_note(pg_probe *p, gp_log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsay(p, 1, level, fmt, ap);
    va_end(ap);
}

static void add_secret(pg_probe *p, const char *value)
{
    if (value && *value && p->n_secrets < PG_MAX_SECRETS)
        p->secrets[p->n_secrets++] = value;
}

static int in_recovery(pg_probe *p, PGconn *conn)
{
    const char *hs = PQparameterStatus(conn, "in_hot_standby");
    pg_query q;
    int yes = -1;

    if (hs)
        return strcmp(hs, "on") == 0;
    /* Servers before 14 do not report in_hot_standby: ask. */
    pg_run_query(conn, "SELECT pg_catalog.pg_is_in_recovery()", 0, p->deadline,
                 &q);
    if (q.rows && PQntuples(q.rows) == 1 && !PQgetisnull(q.rows, 0, 0))
        yes = strcmp(PQgetvalue(q.rows, 0, 0), "t") == 0;
    pg_query_clear(&q);
    return yes;
}

/* Does the query's answer match `expect`? Fatal after the warmup only: a
 * readiness query (a migration version, a row count) may still be
 * catching up while the service starts. */
static gp_outcome check_expect(pg_probe *p, const PGresult *rows,
                               const char *expect)
{
    char got[PG_SHOW_BYTES * 4 + 8], want[PG_SHOW_BYTES * 4 + 8];
    gp_outcome o = p->api->in_warmup(p->ctx) ? GP_TRANSIENT : GP_FATAL;

    gp_sdk_printable(expect, strlen(expect), PG_SHOW_BYTES, want, sizeof want);
    if (!rows || PQntuples(rows) == 0 || PQnfields(rows) == 0)
        return pg_say(p, o, "query returned no rows, expected \"%s\" (dsn %s)",
                      want, p->shown);
    if (PQgetisnull(rows, 0, 0))
        return pg_say(p, o, "query returned NULL, expected \"%s\" (dsn %s)",
                      want, p->shown);
    if (strcmp(PQgetvalue(rows, 0, 0), expect) != 0) {
        gp_sdk_printable(PQgetvalue(rows, 0, 0),
                         (size_t)PQgetlength(rows, 0, 0), PG_SHOW_BYTES, got,
                         sizeof got);
        return pg_say(p, o, "query returned \"%s\", expected \"%s\" (dsn %s)",
                      got, want, p->shown);
    }
    return GP_READY;
}

/* ------------------------------------------------------------------------ */
/* One attempt                                                               */

static void format_version(int v, char *out, size_t cap)
{
    if (v >= 100000)
        snprintf(out, cap, "%d.%d", v / 10000, v % 10000);
    else if (v > 0)
        snprintf(out, cap, "%d.%d.%d", v / 10000, v / 100 % 100, v % 100);
    else
        snprintf(out, cap, "unknown version");
}

/*
 * The user's query, after the pool statement in the same simple-query
 * message when one is wanted: one round trip for both, the pool's result
 * first (*pool, the caller's to PQclear). When the pool statement failed
 * (the query did not run then), or the query may not run in a
 * multi-statement message (VACUUM, CREATE DATABASE ...: SQLSTATE 25001),
 * the query goes again alone.
 */
static void run_query(pg_probe *p, PGconn *conn, const char *query,
                      const pg_stats *st, pg_query *q, PGresult **pool)
{
    char *both = NULL;
    const char *state;

    *pool = NULL;
    if (st->sql && asprintf(&both, "%s;\n%s", st->sql, query) < 0)
        both = NULL;
    if (!both) {
        pg_run_query(conn, query, 0, p->deadline, q);
        return;
    }
    pg_run_query(conn, both, 1, p->deadline, q);
    free(both);
    *pool = q->head;
    q->head = NULL;
    if (q->timed_out || q->lost || q->copy)
        return;
    state = q->error ? PQresultErrorField(q->error, PG_DIAG_SQLSTATE) : NULL;
    if (!*pool || PQresultStatus(*pool) != PGRES_TUPLES_OK ||
        (state && strcmp(state, "25001") == 0)) {
        pg_note(p, GP_LOG_DEBUG,
                "query sent again without the pool "
                "statement");
        pg_query_clear(q);
        pg_run_query(conn, query, 0, p->deadline, q);
    }
}

/* Connected: is it the server we want, does it answer? */
static gp_outcome probe_server(pg_probe *p, PGconn *conn, double t_connect)
{
    const char *query = p->api->opt_string(p->ctx, "query");
    const char *expect = p->api->opt_string(p->ctx, "expect");
    int version = PQserverVersion(conn);
    char vtext[32];
    PGresult *pool = NULL;
    pg_stats st;
    gp_outcome o;
    pg_query q;

    p->api->metric(p->ctx, "connect_time", t_connect);
    if (version > 0)
        p->api->metric(p->ctx, "server_version", version);
    if (PQsetnonblocking(conn, 1) != 0)
        return pg_say(p, GP_UNKNOWN, "cannot make the connection non-blocking");

    if (!p->api->opt_boolean(p->ctx, "allow_recovery") &&
        in_recovery(p, conn) == 1)
        return pg_say(p, GP_TRANSIENT,
                      "server is in recovery (a hot standby, read-only); set "
                      "allow_recovery = true to accept it (dsn %s)",
                      p->shown);

    o = pg_stats_plan(p, conn, &st);
    if (o != GP_READY)
        return o;
    run_query(p, conn, query ? query : "SELECT 1", &st, &q, &pool);
    if (q.timed_out || q.lost || q.copy || q.error)
        o = pg_query_failure(p, conn, &q);
    else {
        p->api->metric(p->ctx, "query_time", q.ms);
        o = expect ? check_expect(p, q.rows, expect) : GP_READY;
    }
    pg_query_clear(&q);
    if (o == GP_READY && st.sql)
        o = pg_stats_report(p, conn, &st, pool);
    PQclear(pool);
    pg_stats_free(&st);
    if (o != GP_READY)
        return o;

    format_version(version, vtext, sizeof vtext);
    return pg_say(
        p, GP_READY,
        "connected to %s in %.1f ms (PostgreSQL %s), query in %.1f ms",
        p->shown, t_connect, vtext, q.ms);
}

/*
 * The password to send, if any: the option, or the content of
 * password_file (gpcheck refused, with the config, a file others may read;
 * the SDK checks the opened file again, since it may have changed since).
 * *password is the caller's to free; either way it is a secret to scrub.
 */
static gp_outcome load_password(pg_probe *p, char **password)
{
    char err[640];

    if (gp_sdk_secret(p->ctx, p->api, "password", "password_file",
                      PG_MAX_PASSWORD, password, err, sizeof err) < 0) {
        int e = errno;

        return pg_say(p, e == ENOMEM ? GP_UNKNOWN : GP_FATAL, "%s", err);
    }
    add_secret(p, *password);
    return GP_READY;
}

/*
 * Parse dsn with libpq's own parser, collect the values of the fields it
 * marks secret, and render what messages show for it. On success the
 * caller frees *out with PQconninfoFree().
 */
static gp_outcome parse_dsn(pg_probe *p, const char *dsn,
                            PQconninfoOption **out)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &err);

    if (!opts) {
        char why[512];

        if (!err)
            return pg_say(p, GP_UNKNOWN, "out of memory");
        pg_dsn_redact(err, why, sizeof why);
        PQfreemem(err);
        return pg_say(p, GP_FATAL, "dsn: %s", why);
    }
    for (const PQconninfoOption *o = opts; o->keyword; o++)
        if (pg_dsn_is_secret(o))
            add_secret(p, o->val);
        else if (o->val && *o->val && p->n_known < PG_MAX_KNOWN)
            p->known[p->n_known++] = o->val;
    pg_dsn_render(opts, p->shown, sizeof p->shown);
    *out = opts;
    return GP_READY;
}

/* The dsn's dbname or user as libpq will use them (PGDATABASE, PGUSER,
 * the OS user; dbname defaults to the user), for PgBouncer's pool name;
 * borrowed from opts or from libpq's defaults (*defs, read once, the
 * caller's to PQconninfoFree()). */
static const char *dsn_or_default(const PQconninfoOption *opts,
                                  PQconninfoOption **defs, const char *key)
{
    const char *v = opts ? pg_dsn_value(opts, key) : NULL;

    if (v && *v)
        return v;
    if (!*defs)
        *defs = PQconndefaults();
    v = *defs ? pg_dsn_value(*defs, key) : NULL;
    if ((!v || !*v) && strcmp(key, "dbname") == 0)
        return dsn_or_default(opts, defs, "user");
    return v;
}

static gp_outcome check(gp_ctx *ctx, const gp_api *api)
{
    pg_probe p = {.ctx = ctx, .api = api, .deadline = api->deadline_ms(ctx)};
    const char *dsn = api->opt_string(ctx, "dsn");
    char *password = NULL;
    PQconninfoOption *opts = NULL;
    pg_plan *plan = calloc(1, sizeof *plan);
    pg_params pp = {0};
    PGconn *conn = NULL;
    double t_connect = 0;
    PQconninfoOption *defaults = NULL;
    int64_t reserve;
    gp_outcome o;

    snprintf(p.shown, sizeof p.shown, "not parsed");
    o = plan ? load_password(&p, &password)
             : pg_say(&p, GP_UNKNOWN, "out of memory");
    if (o == GP_READY)
        o = parse_dsn(&p, dsn ? dsn : "", &opts);
    if (o == GP_READY)
        o = pg_plan_connection(&p, opts, plan);
    if (o == GP_READY)
        o = pg_build_params(&p, opts, plan, password, &pp);
    /* In front of PgBouncer the admin console gets the end of the time. */
    reserve = o == GP_READY ? pg_bouncer_reserve(&p) : 0;
    p.deadline -= reserve;
    if (o == GP_READY)
        o = pg_connect_hosts(&p, plan, &pp, &conn, &t_connect);
    if (o == GP_READY) {
        o = probe_server(&p, conn, t_connect);
        PQfinish(conn);
    }
    p.deadline += reserve;
    if (reserve > 0)
        o = pg_bouncer_check(&p, dsn_or_default(opts, &defaults, "dbname"),
                             dsn_or_default(opts, &defaults, "user"), o);

    free(pp.keys);
    free(pp.values);
    free(plan);
    PQconninfoFree(opts);
    PQconninfoFree(p.admin_opts);
    PQconninfoFree(defaults);
    gp_sdk_free_secret(password);
    return o;
}

/* pgbouncer_dsn through libpq's parser too; its secret fields declared. */
static void validate_admin(gp_ctx *ctx, const gp_api *api)
{
    const char *dsn = api->opt_string(ctx, "pgbouncer_dsn");
    char *err = NULL, why[512];
    PQconninfoOption *opts;

    if (!dsn)
        return;
    opts = PQconninfoParse(dsn, &err);
    if (!opts) {
        if (!err)
            return;
        pg_dsn_redact(err, why, sizeof why);
        PQfreemem(err);
        api->invalid(ctx, "pgbouncer_dsn", "%s", why);
        return;
    }
    for (const PQconninfoOption *o = opts; o->keyword; o++)
        if (pg_dsn_is_secret(o) && o->val && *o->val)
            api->secret(ctx, o->val);
    PQconninfoFree(opts);
}

/* The application's pool needs a filter saying whose sessions it holds,
 * and a threshold on app_pool_usage needs the pool's size. */
static void validate_pool(gp_ctx *ctx, const gp_api *api)
{
    int filtered = api->opt_list(ctx, "app_name", NULL) > 0 ||
                   api->opt_string(ctx, "app_user") ||
                   api->opt_string(ctx, "app_database");

    if (api->opt_isset(ctx, "pool_size") && !filtered)
        api->invalid(ctx, "pool_size",
                     "needs app_name, app_user or app_database to say whose "
                     "connections fill the pool");
    if (api->opt_isset(ctx, "max_overflow") &&
        !api->opt_isset(ctx, "pool_size"))
        api->invalid(ctx, "max_overflow", "needs pool_size");
    if (api->metric_wanted(ctx, "app_pool_usage") &&
        !api->opt_isset(ctx, "pool_size"))
        api->invalid(ctx, "pool_size",
                     "is needed by a threshold on app_pool_usage");
    if (api->metric_wanted(ctx, "app_connections") && !filtered)
        api->invalid(ctx, "app_name",
                     "a threshold on app_connections needs app_name, "
                     "app_user or app_database");
}

/*
 * validate() (ABI 1.2): the dsn through libpq's own parser, before any
 * connection. libpq's "invalid connection option" names a key, never a
 * value, so it is shown as is (the user must see the typo `hots`); other
 * parse errors quote pieces of the string, which may be a password, and
 * are redacted. The fields libpq marks secret (dispchar "*") are declared
 * to the core, which masks them wherever the probe is shown.
 */
static void validate(gp_ctx *ctx, const gp_api *api)
{
    const char *dsn = api->opt_string(ctx, "dsn");
    char *err = NULL;
    PQconninfoOption *opts;

    if (!dsn)
        return;
    opts = PQconninfoParse(dsn, &err);
    if (!opts) {
        char why[512];

        if (!err)
            return; /* out of memory: check() will say so */
        if (strncmp(err, "invalid connection option \"", 27) == 0)
            snprintf(why, sizeof why, "%.*s", (int)strcspn(err, "\n"), err);
        else
            pg_dsn_redact(err, why, sizeof why);
        PQfreemem(err);
        api->invalid(ctx, "dsn", "%s", why);
        return;
    }
    for (const PQconninfoOption *o = opts; o->keyword; o++)
        if (pg_dsn_is_secret(o) && o->val && *o->val)
            api->secret(ctx, o->val);
    PQconninfoFree(opts);
    validate_pool(ctx, api);
    validate_admin(ctx, api);
}

/* gpcheck wait postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=...: libpq
 * reads the URI itself (its password is masked as dsn's). */
static const gp_url_map postgres_urls[] = {
    {.schemes = "postgres|postgresql", .url = "dsn"},
    {.schemes = NULL},
};

static const gp_plugin pg_plugin = {
    GP_PLUGIN_HEADER,
    .name = "postgres",
    .version = "0.1.0",
    .summary = "PostgreSQL accepts the login and answers a query",
    .options = pg_options,
    .metrics = pg_metrics,
    .check = check,
    .validate = validate,
    .urls = postgres_urls,
};

/* libpq's SCRAM login calls OpenSSL (its random nonce, SHA-256, HMAC),
 * and OpenSSL's first call in a process loads its configuration, its
 * default provider and seeds its random generator: ~1.5 ms of CPU every
 * forked attempt paid again. Done here, in the supervisor that loads the
 * plugin, each attempt inherits it (OpenSSL reseeds its generator in a
 * forked child by itself). */
static void warm_crypto(void)
{
    unsigned char nonce[18];

    OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
    (void)RAND_bytes(nonce, sizeof nonce);
    EVP_MD_free(EVP_MD_fetch(NULL, "SHA256", NULL));
}

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    static int warmed;

    if (!warmed) {
        warmed = 1;
        warm_crypto();
    }
    return &pg_plugin;
}
