/*
 * plugins/mysql/mysql.c - the `mysql` probe: does a MySQL or MariaDB
 * server take this login, into this database, answer a query, and play
 * the role the tests expect (a writable primary, or a replica that is
 * replicating and not too far behind)?
 *
 * An open port is not a ready server: at its connection limit it answers
 * 1040 "Too many connections", while it shuts down 1053, a wrong password
 * 1045 and a missing database 1049 only show once you log in, and a
 * replica whose SQL thread stopped still answers SELECT 1.
 *
 * One attempt reads top to bottom:
 *   1. read the options and the password (inline or from a private file);
 *   2. resolve the host with the SDK (bounded, in a helper process), then
 *      connect with libmariadb to each address in turn (or to the unix
 *      socket);
 *   3. mysql_stat() for the thread count, SELECT @@max_connections,
 *      @@read_only, the user's query and its expected value, and SHOW
 *      REPLICA STATUS when role = replica.
 *
 * Every libmariadb call goes through its non-blocking API (MYSQL_OPT_NONBLOCK,
 * mysql_*_start / _cont) and waits in poll() for at most the time left:
 * libmariadb's own timeouts are whole seconds (MYSQL_OPT_CONNECT_TIMEOUT,
 * READ, WRITE), which would overshoot a 500 ms deadline by up to a second
 * and let the core kill the attempt before it says why. They are still set,
 * rounded up, as a backstop. A call left unfinished at the deadline is
 * abandoned: its socket is shut down so that mysql_close() cannot wait on
 * it.
 *
 * Error numbers map to outcomes in outcome.c (1040, 1053, refused, lost:
 * transient; 1045, 1049, query errors: fatal). 1049 unknown database and
 * a role other than the expected one are transient during warmup (the
 * database may still be being created, a failover may be under way) and
 * fatal after; a replica that is stopped or behind max_lag is
 * transient.
 *
 * The password never goes into a message or a log line: the core masks the
 * `password` option and the content of `password_file` (GP_OPT_FILE).
 * The plugin keeps no state: everything belongs to one check() call.
 */
#include <errmsg.h>
#include <errno.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"
#include "outcome.h"

#define MY_MAX_PASSWORD 4096
/* How much of a value the server sent goes into a message. */
#define MY_SHOW 200

static const gp_option my_options[] = {
    {.key = "host",
     .type = GP_TYPE_STRING,
     .def = "127.0.0.1",
     .help = "host name or address of the server"},
    {.key = "port",
     .type = GP_TYPE_INTEGER,
     .def = "3306",
     .help = "TCP port",
     .min = 1,
     .max = 65535},
    {.key = "socket",
     .type = GP_TYPE_STRING,
     .help = "unix socket path; when set, host and port are not used"},
    {.key = "user",
     .type = GP_TYPE_STRING,
     .help = "user name (unset: libmariadb's default, the login name)"},
    {.key = "password",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_SECRET,
     .help = "password (never printed)"},
    {.key = "password_file",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_FILE,
     .help = "file holding the password (one trailing newline is ignored); "
             "refused when group- or world-accessible"},
    {.key = "database",
     .type = GP_TYPE_STRING,
     .help = "database to log into (must exist)"},
    {.key = "query",
     .type = GP_TYPE_STRING,
     .help = "SQL to run; its first value is compared with expect"},
    {.key = "expect",
     .type = GP_TYPE_STRING,
     .help = "the first column of the first row query must return"},
    {.key = "tls",
     .type = GP_TYPE_STRING,
     .def = "disabled",
     .help = "disabled, required (TLS, any certificate) or verify (the "
             "certificate and host name checked against tls_ca)",
     .choices = "disabled|required|verify"},
    {.key = "tls_ca",
     .type = GP_TYPE_STRING,
     .help = "CA certificate file (PEM) for tls = verify"},
    {.key = "wait_for_user",
     .type = GP_TYPE_BOOLEAN,
     .def = "no",
     .help = "the user, its password or its grants are set up after the "
             "server starts (by provisioning): access denied (1045, 1044) "
             "is transient in the warmup, fatal after it"},
    {.key = "role",
     .type = GP_TYPE_STRING,
     .help = "expected role: primary (read_only off) or replica "
             "(replicating; unset: any)",
     .choices = "primary|replica"},
    {.key = "max_lag",
     .type = GP_TYPE_DURATION,
     .help = "with role = replica: the most Seconds_Behind_Master allowed "
             "(unset: any)",
     .min = 0,
     .max = 86400000LL * 365},
    {.key = NULL},
};

static const gp_metric my_metrics[] = {
    {.name = "connect_time", .unit = GP_UNIT_MS, .help = "connect and login"},
    {.name = "query_time",
     .unit = GP_UNIT_MS,
     .help = "the query option's round trip (or SELECT @@max_connections)"},
    {.name = "threads_connected",
     .unit = GP_UNIT_COUNT,
     .help = "client connections (mysql_stat's Threads)"},
    {.name = "max_connections",
     .unit = GP_UNIT_COUNT,
     .help = "the server's connection limit"},
    {.name = "connections_usage",
     .unit = GP_UNIT_PERCENT,
     .help = "threads_connected as a percentage of max_connections"},
    {.name = "replica_lag_seconds",
     .unit = GP_UNIT_NONE,
     .help = "Seconds_Behind_Master, with role = replica"},
    {.name = "server_version",
     .unit = GP_UNIT_NONE,
     .help = "major*10000 + minor*100 + patch (10.11.6: 101106)"},
    {.name = NULL},
};

/* Everything one attempt carries around. */
typedef struct probe {
    gp_ctx *ctx;
    const gp_api *api;
    MYSQL *m;       /* owned; closed by close_handle() */
    int abandoned;  /* a non-blocking call was left unfinished on m */
    char addr[160]; /* "127.0.0.1:3306", "[::1]:3306" or "unix:/path" */
    char *password; /* NULL when none; owned, wiped on free */
} probe;

/* ------------------------------------------------------------------------ */
/* Waiting for libmariadb, bounded by the time left.                         */

/* Wait for what a _start/_cont call asked for (MYSQL_WAIT_*), at most the
 * time left; returns the events to pass to _cont, or -1 when the attempt's
 * time is up. */
static int await(probe *p, int status)
{
    for (;;) {
        int left = gp_sdk_poll_ms(p->ctx, p->api), ms = left, lib = 0;

        if (left <= 0)
            return -1;
        if (status & MYSQL_WAIT_TIMEOUT) {
            unsigned t = mysql_get_timeout_value_ms(p->m);

            if (t < (unsigned)left) {
                ms = (int)t;
                lib = 1;
            }
        }
        struct pollfd pfd = {.fd = (int)mysql_get_socket(p->m)};

        if (status & MYSQL_WAIT_READ)
            pfd.events |= POLLIN;
        if (status & MYSQL_WAIT_WRITE)
            pfd.events |= POLLOUT;
        if (status & MYSQL_WAIT_EXCEPT)
            pfd.events |= POLLPRI;
        int n = poll(&pfd, 1, ms);

        if (n > 0) {
            int ev = 0;

            if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
                ev |= MYSQL_WAIT_READ;
            if (pfd.revents & (POLLOUT | POLLHUP | POLLERR))
                ev |= MYSQL_WAIT_WRITE;
            if (pfd.revents & POLLPRI)
                ev |= MYSQL_WAIT_EXCEPT;
            /* POLLNVAL and the like: let libmariadb find the error. */
            return ev ? ev : (status & ~MYSQL_WAIT_TIMEOUT);
        }
        if (n == 0 && lib)
            return MYSQL_WAIT_TIMEOUT;
        if (n < 0 && errno != EINTR)
            return status & ~MYSQL_WAIT_TIMEOUT;
    }
}

/* Drive one non-blocking call to its end or to the deadline: `start` is
 * the mysql_X_start(...) call, `cont` the matching mysql_X_cont, `ret` its
 * result pointer. p->abandoned is set when the time ran out. */
#define MY_RUN(p, ret, start, cont)                                            \
    do {                                                                       \
        int st_ = (start);                                                     \
        while (st_) {                                                          \
            int ev_ = await(p, st_);                                           \
            if (ev_ < 0) {                                                     \
                (p)->abandoned = 1;                                            \
                break;                                                         \
            }                                                                  \
            st_ = cont(ret, (p)->m, ev_);                                      \
        }                                                                      \
    } while (0)

static void close_handle(probe *p)
{
    if (!p->m)
        return;
    /* An abandoned call may be mid-packet: shut the socket so that
     * mysql_close()'s COM_QUIT fails at once instead of waiting. */
    if (p->abandoned && mysql_get_socket(p->m) >= 0)
        shutdown((int)mysql_get_socket(p->m), SHUT_RDWR);
    mysql_close(p->m);
    p->m = NULL;
    p->abandoned = 0;
}

/* The outcome of a failed call on p->m, with the message set. */
static gp_outcome failed(probe *p, const char *what, double started)
{
    unsigned code = mysql_errno(p->m);

    if (p->abandoned) {
        p->api->message(p->ctx, "%s: no answer from %s within %.0f ms", what,
                        p->addr, gp_sdk_now_ms() - started);
        return GP_TRANSIENT;
    }
    p->api->message(p->ctx, "%s: %s (error %u)%s", what, mysql_error(p->m),
                    code, my_error_hint(code));
    /* No such database: in the warmup, provisioning (an entrypoint, a
     * migration job) may still be creating it, as the postgres probe's
     * 3D000; after it, the tests would get the same error. */
    if (code == ER_BAD_DB_ERROR && p->api->in_warmup(p->ctx))
        return GP_TRANSIENT;
    /* Access denied is fatal at once by default: a typo waited for would
     * only be found when the warmup runs out. With wait_for_user the user
     * says provisioning creates the account or grants it after the server
     * starts (as the postgres probe's wait_for_role). */
    if ((code == ER_ACCESS_DENIED_ERROR || code == ER_DBACCESS_DENIED_ERROR) &&
        p->api->in_warmup(p->ctx) &&
        p->api->opt_boolean(p->ctx, "wait_for_user"))
        return GP_TRANSIENT;
    return my_error_outcome(code);
}

/* ------------------------------------------------------------------------ */
/* Connecting.                                                               */

/* A handle with the options every connection of the attempt uses. */
static gp_outcome new_handle(probe *p, int tcp)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    const char *tls = api->opt_string(ctx, "tls");
    const char *ca = api->opt_string(ctx, "tls_ca");
    /* Whole seconds, rounded up: only a backstop behind await(). */
    unsigned secs = (unsigned)gp_sdk_seconds(ctx, api);
    unsigned proto = tcp ? MYSQL_PROTOCOL_TCP : MYSQL_PROTOCOL_SOCKET;
    my_bool on = 1;

    if (!(p->m = mysql_init(NULL)) ||
        mysql_options(p->m, MYSQL_OPT_NONBLOCK, 0) != 0) {
        api->message(ctx, "cannot set up libmariadb (out of memory?)");
        return GP_UNKNOWN;
    }
    mysql_options(p->m, MYSQL_OPT_PROTOCOL, &proto);
    mysql_options(p->m, MYSQL_OPT_CONNECT_TIMEOUT, &secs);
    mysql_options(p->m, MYSQL_OPT_READ_TIMEOUT, &secs);
    mysql_options(p->m, MYSQL_OPT_WRITE_TIMEOUT, &secs);
    if (tls && strcmp(tls, "disabled") != 0) {
        mysql_options(p->m, MYSQL_OPT_SSL_ENFORCE, &on);
        if (strcmp(tls, "verify") == 0) {
            mysql_options(p->m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
            if (ca && *ca)
                mysql_options(p->m, MYSQL_OPT_SSL_CA, ca);
        }
    }
    return GP_READY;
}

/* One login on a fresh handle: host is an address or the name (tls =
 * verify checks the certificate against the name), or NULL with sock. */
static gp_outcome login(probe *p, const char *host, unsigned port,
                        const char *sock)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    const char *db = api->opt_string(ctx, "database");
    MYSQL *ret = NULL;
    double started = gp_sdk_now_ms();
    gp_outcome o = new_handle(p, sock == NULL);

    if (o != GP_READY)
        return o;
    MY_RUN(p, &ret,
           mysql_real_connect_start(&ret, p->m, sock ? "localhost" : host,
                                    api->opt_string(ctx, "user"), p->password,
                                    db && *db ? db : NULL, port, sock, 0),
           mysql_real_connect_cont);
    if (!ret) {
        char what[200];

        snprintf(what, sizeof what, "connect to %s", p->addr);
        return failed(p, what, started);
    }
    api->metric(ctx, "connect_time", gp_sdk_now_ms() - started);
    /* libmariadb 3.3 goes on in clear text when the server offers no TLS
     * (have_ssl = DISABLED), MYSQL_OPT_SSL_ENFORCE or not: check. */
    const char *tls = api->opt_string(ctx, "tls");

    if (tls && strcmp(tls, "disabled") != 0 && !mysql_get_ssl_cipher(p->m)) {
        api->message(ctx, "%s does not offer TLS (tls = %s)", p->addr, tls);
        return GP_FATAL;
    }
    return GP_READY;
}

static gp_outcome connect_unix(probe *p, const char *path)
{
    snprintf(p->addr, sizeof p->addr, "unix:%s", path);
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        p->api->message(p->ctx, "socket path is longer than %zu bytes",
                        sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        return GP_FATAL;
    }
    return login(p, NULL, 0, path);
}

/* The SDK resolves the name within the time left (libmariadb would block
 * in getaddrinfo()); each address is tried in turn while it refuses. */
static gp_outcome connect_tcp(probe *p, const char *host, unsigned port)
{
    gp_sdk_addr addrs[GP_SDK_MAX_ADDRS];
    gp_sdk_connect_error why;
    char err[256];
    const char *tls = p->api->opt_string(p->ctx, "tls");
    int by_name = tls && strcmp(tls, "verify") == 0;
    int n = gp_sdk_resolve(p->ctx, p->api, host, port, 0, addrs,
                           GP_SDK_MAX_ADDRS, &why, err, sizeof err);
    gp_outcome o = GP_TRANSIENT;

    if (n < 0) {
        p->api->message(p->ctx, "%s", err);
        return why == GP_SDK_NO_SUCH_HOST ? GP_FATAL : GP_TRANSIENT;
    }
    for (int i = 0; i < (by_name ? 1 : n); i++) {
        const char *a = addrs[i].text;

        close_handle(p);
        if (addrs[i].family == AF_INET6)
            snprintf(p->addr, sizeof p->addr, "[%s]:%u", a, port);
        else
            snprintf(p->addr, sizeof p->addr, "%s:%u", a, port);
        o = login(p, by_name ? host : a, port, NULL);
        /* libmariadb 3.3 says 2002 for a refused TCP connect too. */
        if (o != GP_TRANSIENT || p->abandoned ||
            (mysql_errno(p->m) != CR_CONN_HOST_ERROR &&
             mysql_errno(p->m) != CR_CONNECTION_ERROR))
            break;
    }
    return o;
}

/* ------------------------------------------------------------------------ */
/* Queries.                                                                  */

/* Run sql and store its result (*res, NULL for a statement without one).
 * *ms receives the round trip. */
static gp_outcome query(probe *p, const char *sql, MYSQL_RES **res, double *ms)
{
    int rc = 1;
    double started = gp_sdk_now_ms();
    char what[MY_SHOW + 40];

    *res = NULL;
    snprintf(what, sizeof what, "query '%.*s'", MY_SHOW, sql);
    MY_RUN(p, &rc, mysql_real_query_start(&rc, p->m, sql, strlen(sql)),
           mysql_real_query_cont);
    if (rc != 0)
        return failed(p, what, started);
    MY_RUN(p, res, mysql_store_result_start(res, p->m),
           mysql_store_result_cont);
    if (!*res && (p->abandoned || mysql_errno(p->m)))
        return failed(p, what, started);
    if (ms)
        *ms = gp_sdk_now_ms() - started;
    return GP_READY;
}

/* The first value of the first row, NULL for none or SQL NULL. */
static const char *first_value(MYSQL_RES *res)
{
    MYSQL_ROW row = res && mysql_num_fields(res) ? mysql_fetch_row(res) : NULL;

    return row ? row[0] : NULL;
}

/* The threads from mysql_stat(), which every user may run. */
static gp_outcome stats(probe *p, double *threads)
{
    const char *s = NULL;
    double started = gp_sdk_now_ms();

    MY_RUN(p, &s, mysql_stat_start(&s, p->m), mysql_stat_cont);
    if (!s || p->abandoned)
        return failed(p, "mysql_stat", started);
    *threads = my_stat_threads(s);
    if (*threads >= 0)
        p->api->metric(p->ctx, "threads_connected", *threads);
    return GP_READY;
}

/* The user's query and its expected value (a mismatch is fatal after
 * warmup, as in the postgres probe). */
static gp_outcome user_query(probe *p, const char *sql, double *ms)
{
    const char *want = p->api->opt_string(p->ctx, "expect");
    MYSQL_RES *res;
    gp_outcome o = query(p, sql, &res, ms);

    if (o != GP_READY)
        return o;
    if (want && *want) {
        const char *got = first_value(res);
        char show[MY_SHOW * 4 + 8] = "NULL";

        if (!got || strcmp(got, want) != 0) {
            if (got)
                gp_sdk_printable(got, strlen(got), MY_SHOW, show, sizeof show);
            p->api->message(p->ctx, "query returned '%s', expected '%s'", show,
                            want);
            /* The data may still be loading during warmup; after it, the
             * answer is what the tests would see. */
            o = p->api->in_warmup(p->ctx) ? GP_TRANSIENT : GP_FATAL;
        }
    }
    mysql_free_result(res);
    return o;
}

/* SHOW REPLICA STATUS (MariaDB 10.5+, MySQL 8.0.22+), else SHOW SLAVE
 * STATUS (older servers answer the first with a syntax error). */
static gp_outcome replica_status(probe *p, my_replica *r)
{
    MYSQL_RES *res;
    gp_outcome o = query(p, "SHOW REPLICA STATUS", &res, NULL);

    if (o == GP_FATAL && mysql_errno(p->m) == ER_PARSE_ERROR)
        o = query(p, "SHOW SLAVE STATUS", &res, NULL);
    if (o != GP_READY)
        return o;
    my_replica_init(r);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;

    if (row) {
        MYSQL_FIELD *f = mysql_fetch_fields(res);

        for (unsigned i = 0; i < mysql_num_fields(res); i++)
            my_replica_column(r, f[i].name, row[i]);
    }
    if (res)
        mysql_free_result(res);
    return GP_READY;
}

/* The role against the expected one; *detail describes it for the
 * message. */
static gp_outcome check_role(probe *p, int read_only, char *detail, size_t len)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    const char *want = api->opt_string(ctx, "role");
    char why[400];
    my_replica r;

    snprintf(detail, len, "%s", read_only ? "read-only" : "writable");
    if (!want || !*want)
        return GP_READY;
    if (strcmp(want, "primary") == 0) {
        if (!read_only)
            return GP_READY;
        api->message(ctx,
                     "%s is read-only (read_only = ON), expected a "
                     "primary",
                     p->addr);
        return api->in_warmup(ctx) ? GP_TRANSIENT : GP_FATAL;
    }
    gp_outcome o = replica_status(p, &r);

    if (o != GP_READY)
        return o;
    if (r.lag >= 0)
        api->metric(ctx, "replica_lag_seconds", (double)r.lag);
    o = my_replica_judge(&r,
                         api->opt_isset(ctx, "max_lag")
                             ? api->opt_duration_ms(ctx, "max_lag")
                             : -1,
                         why, sizeof why);
    if (o != GP_READY) {
        api->message(ctx, "%s: %s", p->addr, why);
        return o == GP_FATAL && api->in_warmup(ctx) ? GP_TRANSIENT : o;
    }
    snprintf(detail, len, "%s", why);
    return GP_READY;
}

/* ------------------------------------------------------------------------ */

static gp_outcome probe_mysql(probe *p)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    const char *sock = api->opt_string(ctx, "socket");
    const char *sql = api->opt_string(ctx, "query");
    char err[640], role[400];
    double threads = -1, ms = 0;
    MYSQL_RES *res;
    gp_outcome o;

    if (gp_sdk_secret(ctx, api, "password", "password_file", MY_MAX_PASSWORD,
                      &p->password, err, sizeof err) < 0) {
        int e = errno;

        api->message(ctx, "%s", err);
        return e == ENOMEM ? GP_UNKNOWN : GP_FATAL;
    }
    if (sock && *sock)
        o = connect_unix(p, sock);
    else
        o = connect_tcp(p, api->opt_string(ctx, "host"),
                        (unsigned)api->opt_integer(ctx, "port"));
    if (o != GP_READY)
        return o;
    api->metric(ctx, "server_version", (double)mysql_get_server_version(p->m));
    if ((o = stats(p, &threads)) != GP_READY)
        return o;
    /* Every user may read these two. */
    if ((o = query(p, "SELECT @@max_connections, @@read_only", &res, &ms)) !=
        GP_READY)
        return o;
    MYSQL_ROW row =
        res && mysql_num_fields(res) >= 2 ? mysql_fetch_row(res) : NULL;
    double maxconn = row && row[0] ? strtod(row[0], NULL) : -1;
    int read_only = row && row[1] && strcmp(row[1], "0") != 0;

    mysql_free_result(res);
    if (maxconn >= 0)
        api->metric(ctx, "max_connections", maxconn);
    if (maxconn > 0 && threads >= 0)
        api->metric(ctx, "connections_usage", threads * 100.0 / maxconn);
    if (sql && *sql && (o = user_query(p, sql, &ms)) != GP_READY)
        return o;
    api->metric(ctx, "query_time", ms);
    if ((o = check_role(p, read_only, role, sizeof role)) != GP_READY)
        return o;
    api->message(ctx,
                 "%s at %s answered in %.2f ms (%s, %.0f/%.0f connections%s%s)",
                 mysql_get_server_info(p->m), p->addr, ms, role, threads,
                 maxconn, mysql_get_ssl_cipher(p->m) ? ", TLS " : "",
                 mysql_get_ssl_cipher(p->m) ? mysql_get_ssl_cipher(p->m) : "");
    return GP_READY;
}

static gp_outcome check(gp_ctx *ctx, const gp_api *api)
{
    probe p = {.ctx = ctx, .api = api};
    gp_outcome o = probe_mysql(&p);

    close_handle(&p);
    gp_sdk_free_secret(p.password);
    return o;
}

/* validate() (ABI 1.2): the host's form (unless a socket is used), and
 * options that only mean something with another one. */
static void validate(gp_ctx *ctx, const gp_api *api)
{
    const char *sock = api->opt_string(ctx, "socket");
    const char *role = api->opt_string(ctx, "role");
    const char *tls = api->opt_string(ctx, "tls");
    const char *why;

    if (!(sock && *sock) &&
        (why = gp_sdk_host_problem(api->opt_string(ctx, "host"))) != NULL)
        api->invalid(ctx, "host", "%s", why);
    if (api->opt_isset(ctx, "expect") && !api->opt_isset(ctx, "query"))
        api->invalid(ctx, "expect", "needs query");
    if (api->opt_isset(ctx, "max_lag") && !(role && !strcmp(role, "replica")))
        api->invalid(ctx, "max_lag", "needs role = replica");
    if (api->opt_isset(ctx, "tls_ca") && !(tls && !strcmp(tls, "verify")))
        api->invalid(ctx, "tls_ca", "needs tls = verify");
    if (sock && *sock && tls && strcmp(tls, "disabled") != 0)
        api->invalid(ctx, "tls",
                     "a unix socket is not encrypted: use host "
                     "and port");
}

static const gp_plugin my_plugin = {
    GP_PLUGIN_HEADER,
    .name = "mysql",
    .version = "0.1.0",
    .summary = "MySQL/MariaDB takes the login, answers a query (not 1040, "
               "not shutting down) in the expected role and lag",
    .options = my_options,
    .metrics = my_metrics,
    .check = check,
    .validate = validate,
};

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    return &my_plugin;
}
