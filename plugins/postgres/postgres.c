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
 *      libpq's own parser, which also says which fields are secret;
 *   2. resolve every host name with gp_sdk_resolve() (a helper process
 *      killed when the time is up), each within its share of the time
 *      left, and give libpq numeric `hostaddr`s, so that libpq never blocks
 *      in the resolver;
 *   3. connect with PQconnectStartParams / PQconnectPoll, poll()ing the
 *      socket; with several hosts one at a time, each within its share of
 *      the time left (libpq's rule for connect_timeout), so a dead first
 *      host cannot hide a live second one;
 *   4. refuse a hot standby unless allow_recovery; run `query` with
 *      PQsendQuery in the same kind of loop and compare with `expect`;
 *   5. read the connection metrics with a second, short query, skipped
 *      quietly when the role may not see them.
 *
 * Outcomes follow the SQLSTATE libpq shows in verbose error messages (for
 * server errors during the login too), then the text of the errors libpq
 * makes itself (refused, closed, no password). The core runs attempts in
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
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"

#define PG_MAX_TARGETS 16    /* host entries handed to libpq, at most */
#define PG_MAX_ADDRS 4       /* addresses kept per host name */
#define PG_ADDR_LEN 64       /* a numeric IPv6 address with a scope id */
#define PG_HOST_LEN 256      /* a host name or a socket directory */
#define PG_PORT_LEN 16       /* a port entry */
#define PG_MAX_SECRETS 8     /* values scrubbed from what we send */
#define PG_MAX_KNOWN 64      /* the dsn's public values, for the masker */
#define PG_MAX_PASSWORD 4096 /* bytes read from password_file, at most */
#define PG_MSG_LEN 2048      /* one message or log line */
#define PG_SHOW_BYTES 80     /* bytes of a query's value in a message */
#define PG_STATS_MS 2000     /* the metrics query gets this much, at most */
#define PG_CANCEL_MS 50      /* a cancel request after the deadline */

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
    {.name = NULL},
};

/* Everything one attempt shares between its steps. */
typedef struct pg_probe {
    gp_ctx *ctx;
    const gp_api *api;
    int64_t deadline;                    /* CLOCK_MONOTONIC ms */
    const char *secrets[PG_MAX_SECRETS]; /* scrubbed from what we send */
    size_t n_secrets;
    /* the dsn's other values (user, dbname, ...): a secret equal to one
     * cannot be masked without telling it (gp_sdk_mask_text) */
    const char *known[PG_MAX_KNOWN];
    size_t n_known;
    char shown[1024];      /* the dsn with its secret fields masked */
    char said[PG_MSG_LEN]; /* the message set last, masked */
} pg_probe;

/* One host entry for libpq: a name (or socket directory), the numeric
 * address we resolved for it ("" for a socket) and its port ("" for the
 * default). */
typedef struct pg_target {
    char host[PG_HOST_LEN];
    char addr[PG_ADDR_LEN];
    char port[PG_PORT_LEN];
} pg_target;

/* What a query left us. */
typedef struct pg_query {
    PGresult *rows;  /* the first result with rows, or NULL */
    PGresult *error; /* the first error result, or NULL */
    int timed_out;   /* the time ran out first */
    int lost;        /* the connection broke: PQerrorMessage says why */
    int copy;        /* the query started a COPY we do not speak */
    double ms;
} pg_query;

/* ------------------------------------------------------------------------ */
/* Time                                                                      */

/* poll()'s timeout until `end` (CLOCK_MONOTONIC ms, like the core's
 * deadline): never negative, never more than an hour. Not
 * gp_sdk_poll_ms(): the metrics query and the cancel request have ends of
 * their own. */
static int ms_until(int64_t end)
{
    int64_t left = end - (int64_t)gp_sdk_now_ms();

    if (left <= 0)
        return 0;
    return left > 3600 * 1000 ? 3600 * 1000 : (int)left;
}

/* ------------------------------------------------------------------------ */
/* Text that leaves the plugin: always scrubbed                              */

/* A bounded string builder: appends what fits, never overflows. */
typedef struct pg_buf {
    char *s;
    size_t cap, len;
} pg_buf;

static void buf_addn(pg_buf *b, const char *s, size_t n)
{
    if (b->len + 1 >= b->cap)
        return;
    if (n > b->cap - b->len - 1)
        n = b->cap - b->len - 1;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void buf_add(pg_buf *b, const char *s)
{
    buf_addn(b, s, strlen(s));
}

static void vsay(pg_probe *p, int is_log, gp_log_level level, const char *fmt,
                 va_list ap)
{
    char *raw = NULL, clean[PG_MSG_LEN];

    /* Whole, so that no secret is cut before it is masked. */
    if (vasprintf(&raw, fmt, ap) < 0)
        raw = NULL;
    gp_sdk_mask_text(raw ? raw : "out of memory", p->secrets, p->n_secrets,
                     p->known, p->n_known, clean, sizeof(clean));
    free(raw);
    if (is_log)
        p->api->log(p->ctx, level, "%s", clean);
    else {
        p->api->message(p->ctx, "%s", clean);
        memcpy(p->said, clean, sizeof(clean));
    }
}

/* Set the attempt's message and return `outcome`, for `return say(...)`. */
static gp_outcome say(pg_probe *p, gp_outcome outcome, const char *fmt, ...)
    GP_PRINTF(3, 4);
static gp_outcome say(pg_probe *p, gp_outcome outcome, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsay(p, 0, GP_LOG_INFO, fmt, ap);
    va_end(ap);
    return outcome;
}

static void note(pg_probe *p, gp_log_level level, const char *fmt, ...)
    GP_PRINTF(3, 4);
static void note(pg_probe *p, gp_log_level level, const char *fmt, ...)
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

/* Server notices (a query's RAISE NOTICE, warnings) would go to stderr by
 * default; they belong in the log. */
static void on_notice(void *arg, const char *text)
{
    size_t n = strlen(text);

    while (n > 0 && text[n - 1] == '\n')
        n--;
    note(arg, GP_LOG_DEBUG, "server notice: %.*s", (int)n, text);
}

/* ------------------------------------------------------------------------ */
/* The dsn                                                                   */

static int is_secret(const PQconninfoOption *o)
{
    return o->dispchar && strchr(o->dispchar, '*') != NULL;
}

static const char *dsn_value(const PQconninfoOption *opts, const char *key)
{
    for (const PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, key) == 0)
            return o->val;
    return NULL;
}

/* The dsn as key=value pairs in libpq's order, secret fields as ***:
 * what messages show instead of the string the user wrote. */
static void render_dsn(const PQconninfoOption *opts, char *out, size_t cap)
{
    pg_buf b = {.s = out, .cap = cap};

    out[0] = '\0';
    for (const PQconninfoOption *o = opts; o->keyword; o++) {
        const char *v = o->val;
        int quote = 0;

        if (!v)
            continue;
        if (b.len)
            buf_add(&b, " ");
        buf_add(&b, o->keyword);
        buf_add(&b, "=");
        if (is_secret(o)) {
            buf_add(&b, "***");
            continue;
        }
        quote = *v == '\0';
        for (const char *c = v; *c && !quote; c++)
            quote = isspace((unsigned char)*c) || *c == '\'' || *c == '\\';
        if (!quote) {
            buf_add(&b, v);
            continue;
        }
        buf_add(&b, "'");
        for (const char *c = v; *c; c++) {
            if (*c == '\'' || *c == '\\')
                buf_add(&b, "\\");
            buf_addn(&b, c, 1);
        }
        buf_add(&b, "'");
    }
}

/*
 * libpq's parse errors quote the piece of the string they choke on, which
 * may be (part of) a password: keep the words, hide every quoted piece
 * longer than one character ("=", ":" or "/" say what was expected and are
 * kept).
 */
static void redact_quoted(const char *in, char *out, size_t cap)
{
    pg_buf b = {.s = out, .cap = cap};

    out[0] = '\0';
    while (*in && *in != '\n') {
        const char *close = *in == '"' ? strchr(in + 1, '"') : NULL;

        if (*in != '"') {
            buf_addn(&b, in++, 1);
        } else if (close && close - in <= 2) {
            buf_addn(&b, in, (size_t)(close - in + 1));
            in = close + 1;
        } else {
            buf_add(&b, "\"...\"");
            if (!close)
                break;
            in = close + 1;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Cancel requests                                                           */

static void write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* In a helper process (gp_sdk_run_bounded()): PQcancel() connects with no
 * timeout of its own. */
static void cancel_child(int fd, void *arg)
{
    char err[256];

    if (!PQcancel(arg, err, sizeof(err)))
        write_all(fd, err, strlen(err));
}

/* Ask the server to stop our query. Called after the deadline, so it gets
 * a few milliseconds of the core's grace period in a child we can kill. */
static void cancel_query(pg_probe *p, PGconn *conn)
{
    PGcancel *cancel = PQgetCancel(conn);
    char out[256];
    size_t got = 0;
    int rc;

    if (!cancel)
        return;
    rc = gp_sdk_run_bounded(cancel_child, cancel, PG_CANCEL_MS, out,
                            sizeof(out), &got);
    PQfreeCancel(cancel);
    if (rc != 0)
        note(p, GP_LOG_DEBUG, "cancel request: no answer in %d ms",
             PG_CANCEL_MS);
    else if (got)
        note(p, GP_LOG_DEBUG, "cancel request failed: %s", out);
}

/* ------------------------------------------------------------------------ */
/* Where to connect: resolve within the time left, hand libpq addresses      */

/* Split a copy of a comma-separated libpq list. Returns the number of items
 * (pointers into *copy, which the caller frees), -1 on more than max. */
static int split_list(const char *s, char **copy, char **items, int max)
{
    int n = 0;
    char *rest;

    *copy = strdup(s ? s : "");
    if (!*copy)
        return -1;
    if (!s)
        return 0;
    rest = *copy;
    for (char *item; (item = strsep(&rest, ",")) != NULL;) {
        if (n == max)
            return -1;
        items[n++] = item;
    }
    return n;
}

static int add_target(pg_target *t, int *n, const char *host, const char *addr,
                      const char *port)
{
    if (*n >= PG_MAX_TARGETS || strlen(host) >= PG_HOST_LEN ||
        strlen(port) >= PG_PORT_LEN)
        return -1;
    snprintf(t[*n].host, PG_HOST_LEN, "%s", host);
    snprintf(t[*n].addr, PG_ADDR_LEN, "%s", addr);
    snprintf(t[*n].port, PG_PORT_LEN, "%s", port);
    (*n)++;
    return 0;
}

/* A socket directory, an abstract socket, or empty for libpq's default
 * socket: no address to resolve. */
static int is_socket(const char *host)
{
    return !host[0] || host[0] == '/' || host[0] == '@';
}

/*
 * Fill targets in host order with the addresses gp_sdk_resolve() finds
 * (numeric ones as they are, names in its helper process): one entry per
 * address, so that libpq still tries every address of a name as it would
 * have itself. Each name gets its share of the time left, as each host
 * gets its share of the connection time (connect_hosts()), so a resolver
 * that hangs on one name cannot use up the time of the others. A name that
 * does not resolve is skipped while another host is left; with none left,
 * the attempt is fatal only when every name is known not to exist.
 */
static gp_outcome plan_targets(pg_probe *p, char **hosts, int nh, char **ports,
                               int np, pg_target *t, int *nt)
{
    char why[300] = "";
    gp_outcome fail = GP_FATAL;

    *nt = 0;
    for (int i = 0; i < nh; i++) {
        const char *port = np == 0 ? "" : np == 1 ? ports[0] : ports[i];
        gp_sdk_addr addrs[PG_MAX_ADDRS];
        gp_sdk_connect_error how;
        int n;

        if (is_socket(hosts[i])) {
            if (add_target(t, nt, hosts[i], "", port) < 0)
                return say(p, GP_FATAL, "dsn: too many hosts (at most %d)",
                           PG_MAX_TARGETS);
            continue;
        }
        n = gp_sdk_resolve(p->ctx, p->api, hosts[i], 0,
                           p->api->time_left_ms(p->ctx) / (nh - i), addrs,
                           PG_MAX_ADDRS, &how, why, sizeof(why));
        /* Past PG_MAX_TARGETS entries a name's further addresses are left
         * out; a name with none left in is too many. */
        for (int k = 0; k < n; k++)
            if (add_target(t, nt, hosts[i], addrs[k].text, port) < 0 && k == 0)
                return say(p, GP_FATAL, "dsn: too many hosts (at most %d)",
                           PG_MAX_TARGETS);
        if (n < 0) {
            note(p, GP_LOG_INFO, "%s", why);
            if (how != GP_SDK_NO_SUCH_HOST)
                fail = GP_TRANSIENT; /* the resolver failed, not the name */
        }
    }
    if (*nt == 0)
        return say(p, fail, "%s (dsn %s)", why, p->shown);
    return GP_READY;
}

/* Join one field of the targets into a libpq list. */
static void join_targets(const pg_target *t, int nt, size_t field, char *out,
                         size_t cap)
{
    pg_buf b = {.s = out, .cap = cap};

    out[0] = '\0';
    for (int i = 0; i < nt; i++) {
        if (i)
            buf_add(&b, ",");
        buf_add(&b, (const char *)&t[i] + field);
    }
}

/* ------------------------------------------------------------------------ */
/* Outcomes from errors                                                      */

/* Classes of errors that pass by themselves: connection exceptions (08),
 * insufficient resources (53: too many connections, out of memory, disk
 * full), operator intervention (57: starting up, shutting down, in
 * recovery, terminated by an administrator, cancelled) and transaction
 * rollbacks (40: serialization failure, deadlock). Anything else the
 * server says on purpose - bad password (28P01), no such role (28000),
 * no such database (3D000), permission denied (42501), a query's own
 * error - will be said again. */
static gp_outcome sqlstate_outcome(const char *state)
{
    if (strcmp(state, "57P04") == 0) /* database dropped */
        return GP_FATAL;
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 ||
        strncmp(state, "57", 2) == 0 || strncmp(state, "40", 2) == 0 ||
        strcmp(state, "55P03") == 0) /* lock not available */
        return GP_TRANSIENT;
    return GP_FATAL;
}

/* Errors without a SQLSTATE: the server's texts (an old server, or a
 * message relayed without one) and libpq's own. Refused, reset, closed
 * and the like are transient by default. */
static const struct {
    const char *text;
    gp_outcome outcome;
} known_texts[] = {
    {"the database system is starting up", GP_TRANSIENT},
    {"the database system is shutting down", GP_TRANSIENT},
    {"the database system is in recovery mode", GP_TRANSIENT},
    {"the database system is not yet accepting connections", GP_TRANSIENT},
    {"the database system is not accepting connections", GP_TRANSIENT},
    {"too many clients", GP_TRANSIENT},
    {"too many connections", GP_TRANSIENT},
    {"remaining connection slots are reserved", GP_TRANSIENT},
    {"password authentication failed", GP_FATAL},
    {"no pg_hba.conf entry", GP_FATAL},
    {"does not exist", GP_FATAL},
    {"permission denied", GP_FATAL},
    {"no password supplied", GP_FATAL},
    {"server does not support SSL", GP_FATAL},
    {"certificate verify failed", GP_FATAL},
    {"does not match host name", GP_FATAL},
    {"authentication method", GP_FATAL}, /* ... not supported */
};

static gp_outcome text_outcome(const char *text)
{
    for (size_t i = 0; i < sizeof(known_texts) / sizeof(known_texts[0]); i++)
        if (strstr(text, known_texts[i].text))
            return known_texts[i].outcome;
    return GP_TRANSIENT;
}

/* One failure out of libpq's message: the head line (cleaned of severity
 * and SQLSTATE), its DETAIL, and the outcome it calls for. */
typedef struct pg_failure {
    char text[768];
    char state[6];
    gp_outcome outcome;
} pg_failure;

/* "28P01: " at s: five digits or capitals, a colon, a space. */
static int is_sqlstate(const char *s, size_t len)
{
    if (len < 7 || s[5] != ':' || s[6] != ' ')
        return 0;
    for (int k = 0; k < 5; k++)
        if (!isdigit((unsigned char)s[k]) && !isupper((unsigned char)s[k]))
            return 0;
    return 1;
}

/* A server error inside libpq's line reads "FATAL:  28P01: message" with
 * verbose errors: keep libpq's prefix and the message, take the SQLSTATE
 * out. Without a SQLSTATE the text decides. */
static void parse_head(const char *line, size_t len, pg_failure *f)
{
    static const char *const levels[] = {"FATAL:  ", "ERROR:  ", "PANIC:  "};
    pg_buf b = {.s = f->text, .cap = sizeof(f->text)};
    const char *end = line + len, *lv = NULL, *rest = line;

    f->text[0] = '\0';
    f->state[0] = '\0';
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]) && !lv; i++) {
        lv = memmem(line, len, levels[i], strlen(levels[i]));
        rest = lv ? lv + strlen(levels[i]) : line;
    }
    if (lv && is_sqlstate(rest, (size_t)(end - rest))) {
        memcpy(f->state, rest, 5);
        f->state[5] = '\0';
        rest += 7;
    }
    if (lv)
        buf_addn(&b, line, (size_t)(lv - line));
    buf_addn(&b, rest, (size_t)(end - rest));
    f->outcome =
        f->state[0] ? sqlstate_outcome(f->state) : text_outcome(f->text);
}

/* A head line starts a host's failure; the lines after it belong to it. */
static int is_head(const char *line, size_t len)
{
    static const char *const tails[] = {
        "DETAIL:", "HINT:", "LOCATION:", "CONTEXT:", "\t"};

    if (len == 0)
        return 0;
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++)
        if (strncmp(line, tails[i], strlen(tails[i])) == 0)
            return 0;
    return 1;
}

/*
 * Pick the failure that decides the attempt from libpq's error message,
 * which holds one head line per host tried ("connection to server at ...
 * failed: ..."), each followed by DETAIL / HINT / LOCATION lines or
 * libpq's tab-indented hints. The DETAIL goes into the text (the hints are
 * too long for one line). A reason that will not pass (a bad password)
 * wins over one that will (another host refused): the first fatal
 * failure, else the last one.
 */
static void pick_failure(const char *msg, pg_failure *pick)
{
    pg_failure cur;
    int have = 0;

    memset(pick, 0, sizeof(*pick));
    pick->outcome = GP_TRANSIENT;
    while (*msg) {
        const char *nl = strchr(msg, '\n');
        size_t len = nl ? (size_t)(nl - msg) : strlen(msg);

        if (is_head(msg, len)) {
            if (have) {
                *pick = cur;
                if (cur.outcome == GP_FATAL)
                    return;
            }
            parse_head(msg, len, &cur);
            have = 1;
        } else if (have && strncmp(msg, "DETAIL:  ", 9) == 0) {
            pg_buf b = {.s = cur.text, .cap = sizeof(cur.text)};

            b.len = strlen(cur.text);
            buf_add(&b, " (");
            buf_addn(&b, msg + 9, len - 9);
            buf_add(&b, ")");
        }
        msg += nl ? len + 1 : len;
    }
    if (have)
        *pick = cur;
}

/* The connection failed: say why, and whether waiting may help. */
static gp_outcome connect_failure(pg_probe *p, PGconn *conn, int at_start)
{
    const char *err = PQerrorMessage(conn);
    pg_failure f;

    if (PQconnectionNeedsPassword(conn))
        return say(p, GP_FATAL,
                   "the server asks for a password and none was given: set "
                   "password or password_file (dsn %s)",
                   p->shown);
    pick_failure(err, &f);
    /* Failing before any connection was tried means libpq refused the
     * parameters themselves (a bad sslmode, a port that is not a number):
     * a configuration error. */
    if (at_start && strncmp(f.text, "connection to server", 20) != 0)
        f.outcome = GP_FATAL;
    if (f.state[0])
        return say(p, f.outcome, "%s (SQLSTATE %s; dsn %s)", f.text, f.state,
                   p->shown);
    return say(p, f.outcome, "%s (dsn %s)", f.text[0] ? f.text : "failed",
               p->shown);
}

/* ------------------------------------------------------------------------ */
/* Talking to the server                                                     */

/* Wait until conn's socket is ready for `events` or `end` passes: 1 ready,
 * 0 out of time, -1 no socket or poll() failed. */
static int wait_socket(PGconn *conn, short events, int64_t end)
{
    for (;;) {
        struct pollfd pfd = {.fd = PQsocket(conn), .events = events};
        int budget = ms_until(end);
        int rc;

        if (pfd.fd < 0)
            return -1;
        if (budget <= 0)
            return 0;
        rc = poll(&pfd, 1, budget);
        if (rc > 0)
            return 1;
        if (rc == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/* What libpq was waiting for, for a timeout message. */
static const char *connect_stage(PGconn *conn)
{
    switch (PQstatus(conn)) {
    case CONNECTION_STARTED: return "waiting for the TCP connection";
    case CONNECTION_MADE: return "sending the startup packet";
    case CONNECTION_SSL_STARTUP: return "waiting for the SSL handshake";
    case CONNECTION_GSS_STARTUP: return "waiting for the GSS handshake";
    case CONNECTION_AWAITING_RESPONSE: return "waiting for the login answer";
    case CONNECTION_AUTH_OK: return "waiting for the backend to start";
    default: return "waiting for the server";
    }
}

/* The server in a timeout message: host, the address we gave for it, and
 * the port, as libpq names them in its own messages. */
static void where(PGconn *conn, char *out, size_t cap)
{
    const char *host = PQhost(conn), *addr = PQhostaddr(conn);
    const char *port = PQport(conn);

    if (host && addr && *addr && strcmp(host, addr) != 0)
        snprintf(out, cap, "\"%s\" (%s), port %s", host, addr,
                 port ? port : "?");
    else
        snprintf(out, cap, "\"%s\", port %s", host ? host : "?",
                 port ? port : "?");
}

/* Connect before `end` (at the latest the deadline). On success *out is the
 * connection. */
static gp_outcome connect_db(pg_probe *p, const char *const *keys,
                             const char *const *values, int64_t end,
                             PGconn **out, double *took)
{
    double t0 = gp_sdk_now_ms();
    PGconn *conn = PQconnectStartParams(keys, values, 0);
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    gp_outcome o;

    if (!conn)
        return say(p, GP_UNKNOWN, "out of memory");
    /* Verbose errors carry the SQLSTATE, also for login errors. */
    PQsetErrorVerbosity(conn, PQERRORS_VERBOSE);
    PQsetNoticeProcessor(conn, on_notice, p);
    if (PQstatus(conn) == CONNECTION_BAD) {
        o = connect_failure(p, conn, 1);
        PQfinish(conn);
        return o;
    }
    while (st != PGRES_POLLING_OK) {
        int w;

        if (st == PGRES_POLLING_FAILED) {
            o = connect_failure(p, conn, 0);
            PQfinish(conn);
            return o;
        }
        w = wait_socket(conn, st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                        end);
        if (w == 0) {
            char at[PG_HOST_LEN + PG_ADDR_LEN + 32];

            where(conn, at, sizeof(at));
            o = say(p, GP_TRANSIENT,
                    "no answer from %s within %.0f ms (%s; dsn %s)", at,
                    gp_sdk_now_ms() - t0, connect_stage(conn), p->shown);
            PQfinish(conn);
            return o;
        }
        if (w < 0) {
            o = say(p, GP_UNKNOWN, "cannot wait for the server: %s (dsn %s)",
                    PQsocket(conn) < 0 ? "no socket" : strerror(errno),
                    p->shown);
            PQfinish(conn);
            return o;
        }
        st = PQconnectPoll(conn);
    }
    *took = gp_sdk_now_ms() - t0;
    *out = conn;
    return GP_READY;
}

/* Send sql and collect its results until `end`. See pg_query. */
static void query_results(PGconn *conn, const char *sql, int64_t end,
                          pg_query *q)
{
    int f, w;

    if (!PQsendQuery(conn, sql)) {
        q->lost = 1;
        return;
    }
    /* The connection is non-blocking: push the query out, reading what
     * the server sends meanwhile, as libpq's documentation asks. */
    while ((f = PQflush(conn)) == 1) {
        w = wait_socket(conn, POLLOUT | POLLIN, end);
        if (w <= 0 || !PQconsumeInput(conn)) {
            q->timed_out = w == 0;
            q->lost = w != 0;
            return;
        }
    }
    if (f < 0) {
        q->lost = 1;
        return;
    }
    for (;;) {
        PGresult *r;

        while (PQisBusy(conn)) {
            w = wait_socket(conn, POLLIN, end);
            if (w <= 0 || !PQconsumeInput(conn)) {
                q->timed_out = w == 0;
                q->lost = w != 0;
                return;
            }
        }
        r = PQgetResult(conn);
        if (!r)
            return;
        switch (PQresultStatus(r)) {
        case PGRES_TUPLES_OK:
            if (!q->rows) {
                q->rows = r;
                r = NULL;
            }
            break;
        case PGRES_FATAL_ERROR:
            if (!q->error) {
                q->error = r;
                r = NULL;
            }
            break;
        case PGRES_COPY_IN:
        case PGRES_COPY_OUT:
        case PGRES_COPY_BOTH:
            PQclear(r);
            q->copy = 1;
            return;
        default: break;
        }
        PQclear(r);
    }
}

static void run_query(PGconn *conn, const char *sql, int64_t end, pg_query *q)
{
    double t0 = gp_sdk_now_ms();

    memset(q, 0, sizeof(*q));
    query_results(conn, sql, end, q);
    q->ms = gp_sdk_now_ms() - t0;
}

static void query_clear(pg_query *q)
{
    PQclear(q->rows);
    PQclear(q->error);
    q->rows = q->error = NULL;
}

/* The query did not give an answer we can use: say why. */
static gp_outcome query_failure(pg_probe *p, PGconn *conn, pg_query *q)
{
    if (q->timed_out) {
        cancel_query(p, conn);
        return say(
            p, GP_TRANSIENT,
            "query did not finish within %.0f ms (cancel requested; dsn %s)",
            q->ms, p->shown);
    }
    if (q->copy)
        return say(p, GP_FATAL,
                   "query started a COPY, which the probe does not read; use "
                   "a plain query (dsn %s)",
                   p->shown);
    if (q->error && PQresultErrorField(q->error, PG_DIAG_SQLSTATE)) {
        const char *state = PQresultErrorField(q->error, PG_DIAG_SQLSTATE);
        const char *text =
            PQresultErrorField(q->error, PG_DIAG_MESSAGE_PRIMARY);

        return say(p, sqlstate_outcome(state),
                   "query failed: %s (SQLSTATE %s; dsn %s)",
                   text ? text : "(no message)", state, p->shown);
    }
    /* No SQLSTATE: libpq lost the connection (a server restart, a
     * crash). */
    {
        pg_failure f;

        pick_failure(q->error ? PQresultErrorMessage(q->error)
                              : PQerrorMessage(conn),
                     &f);
        return say(p, GP_TRANSIENT,
                   "connection lost during the query: %s (dsn %s)",
                   f.text[0] ? f.text : "no reason given", p->shown);
    }
}

/* 1 when the server is a hot standby, 0 when not, -1 when unknown. */
static int in_recovery(pg_probe *p, PGconn *conn)
{
    const char *hs = PQparameterStatus(conn, "in_hot_standby");
    pg_query q;
    int yes = -1;

    if (hs)
        return strcmp(hs, "on") == 0;
    /* Servers before 14 do not report in_hot_standby: ask. */
    run_query(conn, "SELECT pg_catalog.pg_is_in_recovery()", p->deadline, &q);
    if (q.rows && PQntuples(q.rows) == 1 && !PQgetisnull(q.rows, 0, 0))
        yes = strcmp(PQgetvalue(q.rows, 0, 0), "t") == 0;
    query_clear(&q);
    return yes;
}

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
static void read_stats(pg_probe *p, PGconn *conn)
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

    run_query(conn, sql, end < p->deadline ? end : p->deadline, &q);
    if (!q.rows || PQntuples(q.rows) != 1 || PQnfields(q.rows) != 3) {
        const char *why =
            q.error ? PQresultErrorField(q.error, PG_DIAG_MESSAGE_PRIMARY)
                    : NULL;

        note(p, GP_LOG_DEBUG, "connection metrics skipped: %s",
             q.timed_out ? "no answer in time"
             : why       ? why
                         : "no result");
        query_clear(&q);
        return;
    }
    max = parse_count(PQgetvalue(q.rows, 0, 0));
    reserved = parse_count(PQgetvalue(q.rows, 0, 1));
    conns =
        PQgetisnull(q.rows, 0, 2) ? -1 : parse_count(PQgetvalue(q.rows, 0, 2));
    query_clear(&q);
    if (max > 0)
        p->api->metric(p->ctx, "max_connections", (double)max);
    if (conns < 0) {
        note(p, GP_LOG_DEBUG,
             "connections and pool_usage skipped: the role may not see "
             "other sessions (grant pg_read_all_stats)");
        return;
    }
    p->api->metric(p->ctx, "connections", (double)conns);
    if (max > 0 && reserved >= 0 && max > reserved)
        p->api->metric(p->ctx, "pool_usage",
                       100.0 * (double)conns / (double)(max - reserved));
}

/* Does the query's answer match `expect`? Fatal after the warmup only: a
 * readiness query (a migration version, a row count) may still be
 * catching up while the service starts. */
static gp_outcome check_expect(pg_probe *p, const PGresult *rows,
                               const char *expect)
{
    char got[PG_SHOW_BYTES * 4 + 8], want[PG_SHOW_BYTES * 4 + 8];
    gp_outcome o = p->api->in_warmup(p->ctx) ? GP_TRANSIENT : GP_FATAL;

    gp_sdk_printable(expect, strlen(expect), PG_SHOW_BYTES, want, sizeof(want));
    if (!rows || PQntuples(rows) == 0 || PQnfields(rows) == 0)
        return say(p, o, "query returned no rows, expected \"%s\" (dsn %s)",
                   want, p->shown);
    if (PQgetisnull(rows, 0, 0))
        return say(p, o, "query returned NULL, expected \"%s\" (dsn %s)", want,
                   p->shown);
    if (strcmp(PQgetvalue(rows, 0, 0), expect) != 0) {
        gp_sdk_printable(PQgetvalue(rows, 0, 0),
                         (size_t)PQgetlength(rows, 0, 0), PG_SHOW_BYTES, got,
                         sizeof(got));
        return say(p, o, "query returned \"%s\", expected \"%s\" (dsn %s)", got,
                   want, p->shown);
    }
    return GP_READY;
}

/* ------------------------------------------------------------------------ */
/* One attempt                                                               */

/*
 * Where libpq connects: the host entries we resolved, joined into the
 * libpq lists host / hostaddr / port. `planned` is 0 when libpq needs no
 * help (see plan_connection()) and gets the dsn's own fields.
 */
typedef struct pg_plan {
    int planned;
    pg_target targets[PG_MAX_TARGETS];
    int nt;
    char hosts[PG_MAX_TARGETS * (PG_HOST_LEN + 1)];
    char addrs[PG_MAX_TARGETS * (PG_ADDR_LEN + 1)];
    char ports[PG_MAX_TARGETS * (PG_PORT_LEN + 1)];
} pg_plan;

/*
 * Plan the connection: the dsn's host and port, else libpq's defaults
 * (PGHOST, PGPORT, a PGSERVICE's entry), resolved. Nothing to plan when
 * hostaddr is given (in the dsn or PGHOSTADDR: numeric, no resolver), when
 * the dsn names a service but no host (libpq reads the service file and
 * resolves its host itself, without our deadline), or when there is no
 * host at all (libpq's default unix socket).
 */
static gp_outcome plan_connection(pg_probe *p, const PQconninfoOption *opts,
                                  pg_plan *plan)
{
    PQconninfoOption *defs = PQconndefaults();
    const char *host = dsn_value(opts, "host");
    const char *port = dsn_value(opts, "port");
    char *hcopy = NULL, *pcopy = NULL;
    char *hosts[PG_MAX_TARGETS], *ports[PG_MAX_TARGETS];
    int nh, np;
    gp_outcome o;

    plan->planned = 0;
    if (!defs)
        return say(p, GP_UNKNOWN, "out of memory");
    if (!host && !dsn_value(opts, "service"))
        host = dsn_value(defs, "host");
    if (!port)
        port = dsn_value(defs, "port");
    if (dsn_value(opts, "hostaddr") || dsn_value(defs, "hostaddr") || !host ||
        !*host) {
        PQconninfoFree(defs);
        return GP_READY;
    }
    nh = split_list(host, &hcopy, hosts, PG_MAX_TARGETS);
    np = split_list(port, &pcopy, ports, PG_MAX_TARGETS);
    if (nh < 0 || np < 0)
        o = say(p, GP_FATAL, "dsn: too many hosts or ports (at most %d)",
                PG_MAX_TARGETS);
    else if (np > 1 && np != nh)
        o = say(p, GP_FATAL, "dsn: %d hosts but %d ports (dsn %s)", nh, np,
                p->shown);
    else
        o = plan_targets(p, hosts, nh, ports, np, plan->targets, &plan->nt);
    free(hcopy);
    free(pcopy);
    PQconninfoFree(defs);
    if (o != GP_READY)
        return o;

    plan->planned = 1;
    join_targets(plan->targets, plan->nt, offsetof(pg_target, host),
                 plan->hosts, sizeof(plan->hosts));
    join_targets(plan->targets, plan->nt, offsetof(pg_target, addr),
                 plan->addrs, sizeof(plan->addrs));
    join_targets(plan->targets, plan->nt, offsetof(pg_target, port),
                 plan->ports, sizeof(plan->ports));
    note(p, GP_LOG_DEBUG, "connecting to host=%s hostaddr=%s port=%s",
         plan->hosts, plan->addrs, plan->ports);
    return GP_READY;
}

/* Keyword/value arrays for PQconnectStartParams, NULL-terminated. */
typedef struct pg_params {
    const char **keys, **values;
    size_t n;
} pg_params;

static void add_param(pg_params *pp, const char *key, const char *value)
{
    pp->keys[pp->n] = key;
    pp->values[pp->n] = value;
    pp->n++;
    pp->keys[pp->n] = pp->values[pp->n] = NULL;
}

/*
 * Every field the dsn sets, with host / hostaddr / port replaced by the
 * plan (when there is one), the password by the option or file (when
 * given), and application_name defaulting to gpcheck. The caller frees
 * pp->keys and pp->values; the strings stay owned by opts and plan.
 */
static gp_outcome build_params(pg_probe *p, const PQconninfoOption *opts,
                               const pg_plan *plan, const char *password,
                               pg_params *pp)
{
    size_t n_opts = 0;

    for (const PQconninfoOption *o = opts; o->keyword; o++)
        n_opts++;
    /* The dsn's fields, 5 of ours and the terminator. */
    pp->keys = calloc(n_opts + 6, sizeof(*pp->keys));
    pp->values = calloc(n_opts + 6, sizeof(*pp->values));
    if (!pp->keys || !pp->values)
        return say(p, GP_UNKNOWN, "out of memory");
    for (const PQconninfoOption *o = opts; o->keyword; o++) {
        int placed = strcmp(o->keyword, "host") == 0 ||
                     strcmp(o->keyword, "hostaddr") == 0 ||
                     strcmp(o->keyword, "port") == 0;

        if (!o->val || (plan->planned && placed) ||
            (password && strcmp(o->keyword, "password") == 0))
            continue;
        add_param(pp, o->keyword, o->val);
    }
    if (plan->planned) {
        add_param(pp, "host", plan->hosts);
        add_param(pp, "hostaddr", plan->addrs);
        add_param(pp, "port", plan->ports);
    }
    if (password)
        add_param(pp, "password", password);
    if (!dsn_value(opts, "application_name"))
        add_param(pp, "application_name", "gpcheck");
    return GP_READY;
}

/*
 * Connect to the planned hosts one at a time, each within its share of the
 * time left: libpq's rule for several hosts (connect_timeout applies to
 * each host and address in turn), which its asynchronous API leaves to the
 * caller. A host that cannot be reached, times out or is not ready yet (a
 * transient failure) hands over to the next one, so a dead first host
 * cannot hide a live second one; a reason that will not pass (a bad
 * password) ends the attempt, as libpq stops after a failed login. Without
 * a plan (hostaddr given, a service, the default socket) libpq gets its own
 * lists and the whole time.
 */
static gp_outcome connect_hosts(pg_probe *p, pg_plan *plan, const pg_params *pp,
                                PGconn **conn, double *took)
{
    gp_outcome o = GP_TRANSIENT;

    if (!plan->planned || plan->nt < 2)
        return connect_db(p, pp->keys, pp->values, p->deadline, conn, took);
    for (int i = 0; i < plan->nt; i++) {
        const pg_target *t = &plan->targets[i];
        int64_t now = (int64_t)gp_sdk_now_ms();
        int64_t end = now + (p->deadline - now) / (plan->nt - i);

        /* build_params() pointed host / hostaddr / port at these. */
        snprintf(plan->hosts, sizeof(plan->hosts), "%s", t->host);
        snprintf(plan->addrs, sizeof(plan->addrs), "%s", t->addr);
        snprintf(plan->ports, sizeof(plan->ports), "%s", t->port);
        o = connect_db(p, pp->keys, pp->values, end, conn, took);
        if (o != GP_TRANSIENT)
            return o;
        if (i + 1 < plan->nt)
            note(p, GP_LOG_INFO, "host %d of %d: %s; trying the next one",
                 i + 1, plan->nt, p->said);
    }
    return o;
}

/* 150018 is 15.18; before 10 the numbers had three parts: 90624 is
 * 9.6.24. */
static void format_version(int v, char *out, size_t cap)
{
    if (v >= 100000)
        snprintf(out, cap, "%d.%d", v / 10000, v % 10000);
    else if (v > 0)
        snprintf(out, cap, "%d.%d.%d", v / 10000, v / 100 % 100, v % 100);
    else
        snprintf(out, cap, "unknown version");
}

/* Connected: is it the server we want, does it answer? */
static gp_outcome probe_server(pg_probe *p, PGconn *conn, double t_connect)
{
    const char *query = p->api->opt_string(p->ctx, "query");
    const char *expect = p->api->opt_string(p->ctx, "expect");
    int version = PQserverVersion(conn);
    char vtext[32];
    gp_outcome o;
    pg_query q;

    p->api->metric(p->ctx, "connect_time", t_connect);
    if (version > 0)
        p->api->metric(p->ctx, "server_version", version);
    if (PQsetnonblocking(conn, 1) != 0)
        return say(p, GP_UNKNOWN, "cannot make the connection non-blocking");

    if (!p->api->opt_boolean(p->ctx, "allow_recovery") &&
        in_recovery(p, conn) == 1)
        return say(p, GP_TRANSIENT,
                   "server is in recovery (a hot standby, read-only); set "
                   "allow_recovery = true to accept it (dsn %s)",
                   p->shown);

    run_query(conn, query ? query : "SELECT 1", p->deadline, &q);
    if (q.timed_out || q.lost || q.copy || q.error) {
        o = query_failure(p, conn, &q);
        query_clear(&q);
        return o;
    }
    p->api->metric(p->ctx, "query_time", q.ms);
    o = expect ? check_expect(p, q.rows, expect) : GP_READY;
    query_clear(&q);
    if (o != GP_READY)
        return o;

    read_stats(p, conn);
    format_version(version, vtext, sizeof(vtext));
    return say(p, GP_READY,
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
                      PG_MAX_PASSWORD, password, err, sizeof(err)) < 0) {
        int e = errno;

        return say(p, e == ENOMEM ? GP_UNKNOWN : GP_FATAL, "%s", err);
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
            return say(p, GP_UNKNOWN, "out of memory");
        redact_quoted(err, why, sizeof(why));
        PQfreemem(err);
        return say(p, GP_FATAL, "dsn: %s", why);
    }
    for (const PQconninfoOption *o = opts; o->keyword; o++)
        if (is_secret(o))
            add_secret(p, o->val);
        else if (o->val && *o->val && p->n_known < PG_MAX_KNOWN)
            p->known[p->n_known++] = o->val;
    render_dsn(opts, p->shown, sizeof(p->shown));
    *out = opts;
    return GP_READY;
}

static gp_outcome check(gp_ctx *ctx, const gp_api *api)
{
    pg_probe p = {.ctx = ctx, .api = api, .deadline = api->deadline_ms(ctx)};
    const char *dsn = api->opt_string(ctx, "dsn");
    char *password = NULL;
    PQconninfoOption *opts = NULL;
    pg_plan *plan = calloc(1, sizeof(*plan));
    pg_params pp = {0};
    PGconn *conn = NULL;
    double t_connect = 0;
    gp_outcome o;

    snprintf(p.shown, sizeof(p.shown), "not parsed");
    o = plan ? load_password(&p, &password)
             : say(&p, GP_UNKNOWN, "out of memory");
    if (o == GP_READY)
        o = parse_dsn(&p, dsn ? dsn : "", &opts);
    if (o == GP_READY)
        o = plan_connection(&p, opts, plan);
    if (o == GP_READY)
        o = build_params(&p, opts, plan, password, &pp);
    if (o == GP_READY)
        o = connect_hosts(&p, plan, &pp, &conn, &t_connect);
    if (o == GP_READY) {
        o = probe_server(&p, conn, t_connect);
        PQfinish(conn);
    }

    free(pp.keys);
    free(pp.values);
    free(plan);
    PQconninfoFree(opts);
    gp_sdk_free_secret(password);
    return o;
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
            snprintf(why, sizeof(why), "%.*s", (int)strcspn(err, "\n"), err);
        else
            redact_quoted(err, why, sizeof(why));
        PQfreemem(err);
        api->invalid(ctx, "dsn", "%s", why);
        return;
    }
    for (const PQconninfoOption *o = opts; o->keyword; o++)
        if (is_secret(o) && o->val && *o->val)
            api->secret(ctx, o->val);
    PQconninfoFree(opts);
}

static const gp_plugin pg_plugin = {
    GP_PLUGIN_HEADER,
    .name = "postgres",
    .version = "0.1.0",
    .summary = "PostgreSQL accepts the login and answers a query",
    .options = pg_options,
    .metrics = pg_metrics,
    .check = check,
    .validate = validate,
};

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    return &pg_plugin;
}
