/*
 * plugins/postgres/conn.c - the postgres probe talking to the server
 * through libpq's asynchronous API, every wait bounded: connecting
 * (PQconnectStartParams / PQconnectPoll), running a query (PQsendQuery,
 * PQconsumeInput), cancelling one that ran out of time (in a helper process
 * we can kill), and saying why a connection or a query failed (outcome.c
 * decides whether waiting may help).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gpcheck/sdk.h"
#include "outcome.h"
#include "probe.h"

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

/* Server notices (a query's RAISE NOTICE, warnings) would go to stderr by
 * default; they belong in the log. */
static void on_notice(void *arg, const char *text)
{
    size_t n = strlen(text);

    while (n > 0 && text[n - 1] == '\n')
        n--;
    pg_note(arg, GP_LOG_DEBUG, "server notice: %.*s", (int)n, text);
}

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

    if (!PQcancel(arg, err, sizeof err))
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
    rc = gp_sdk_run_bounded(cancel_child, cancel, PG_CANCEL_MS, out, sizeof out,
                            &got);
    PQfreeCancel(cancel);
    if (rc != 0)
        pg_note(p, GP_LOG_DEBUG, "cancel request: no answer in %d ms",
                PG_CANCEL_MS);
    else if (got)
        pg_note(p, GP_LOG_DEBUG, "cancel request failed: %s", out);
}

/* The connection failed: say why, and whether waiting may help. */
static gp_outcome connect_failure(pg_probe *p, PGconn *conn, int at_start)
{
    const char *err = PQerrorMessage(conn);
    pg_failure f;

    if (PQconnectionNeedsPassword(conn))
        return pg_say(p, GP_FATAL,
                      "the server asks for a password and none was given: set "
                      "password or password_file (dsn %s)",
                      p->shown);
    pg_pick_failure(err, &f);
    /* Failing before any connection was tried means libpq refused the
     * parameters themselves (a bad sslmode, a port that is not a number):
     * a configuration error. */
    if (at_start && strncmp(f.text, "connection to server", 20) != 0)
        f.outcome = GP_FATAL;
    /* No such database: in the warmup, provisioning or the first migration
     * may not have created it yet (the conformance suite's "database
     * created late"); after it, it will not appear by itself. */
    if (strcmp(f.state, "3D000") == 0 && p->api->in_warmup(p->ctx))
        f.outcome = GP_TRANSIENT;
    /* A refused login (bad password 28P01, no such role or no pg_hba.conf
     * entry 28000) is fatal at once by default: a typo waited for would
     * only be found when the warmup runs out. With wait_for_role the user
     * says provisioning sets the role up after the server starts, so in
     * the warmup it may still come; after it, it is fatal again. */
    if ((strcmp(f.state, "28P01") == 0 || strcmp(f.state, "28000") == 0) &&
        p->api->in_warmup(p->ctx) &&
        p->api->opt_boolean(p->ctx, "wait_for_role"))
        f.outcome = GP_TRANSIENT;
    if (f.state[0])
        return pg_say(p, f.outcome, "%s (SQLSTATE %s; dsn %s)", f.text, f.state,
                      p->shown);
    return pg_say(p, f.outcome, "%s (dsn %s)", f.text[0] ? f.text : "failed",
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
gp_outcome pg_connect_db(pg_probe *p, const char *const *keys,
                         const char *const *values, int64_t end, PGconn **out,
                         double *took)
{
    double t0 = gp_sdk_now_ms();
    PGconn *conn = PQconnectStartParams(keys, values, 0);
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    gp_outcome o;

    if (!conn)
        return pg_say(p, GP_UNKNOWN, "out of memory");
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

            where(conn, at, sizeof at);
            o = pg_say(p, GP_TRANSIENT,
                       "no answer from %s within %.0f ms (%s; dsn %s)", at,
                       gp_sdk_now_ms() - t0, connect_stage(conn), p->shown);
            PQfinish(conn);
            return o;
        }
        if (w < 0) {
            o = pg_say(p, GP_UNKNOWN, "cannot wait for the server: %s (dsn %s)",
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
static void query_results(PGconn *conn, const char *sql, int head, int64_t end,
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
        if (head && !q->head) {
            /* The pool statement's, sent first: never the user's. */
            q->head = r;
            continue;
        }
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

void pg_run_query(PGconn *conn, const char *sql, int head, int64_t end,
                  pg_query *q)
{
    double t0 = gp_sdk_now_ms();

    memset(q, 0, sizeof *q);
    query_results(conn, sql, head, end, q);
    q->ms = gp_sdk_now_ms() - t0;
}

void pg_query_clear(pg_query *q)
{
    PQclear(q->head);
    PQclear(q->rows);
    PQclear(q->error);
    q->head = q->rows = q->error = NULL;
}

/* The query did not give an answer we can use: say why. */
gp_outcome pg_query_failure(pg_probe *p, PGconn *conn, pg_query *q)
{
    if (q->timed_out) {
        cancel_query(p, conn);
        return pg_say(
            p, GP_TRANSIENT,
            "query did not finish within %.0f ms (cancel requested; dsn %s)",
            q->ms, p->shown);
    }
    if (q->copy)
        return pg_say(
            p, GP_FATAL,
            "query started a COPY, which the probe does not read; use "
            "a plain query (dsn %s)",
            p->shown);
    if (q->error && PQresultErrorField(q->error, PG_DIAG_SQLSTATE)) {
        const char *state = PQresultErrorField(q->error, PG_DIAG_SQLSTATE);
        const char *text =
            PQresultErrorField(q->error, PG_DIAG_MESSAGE_PRIMARY);

        return pg_say(p, pg_sqlstate_outcome(state),
                      "query failed: %s (SQLSTATE %s; dsn %s)",
                      text ? text : "(no message)", state, p->shown);
    }
    /* No SQLSTATE: libpq lost the connection (a server restart, a
     * crash). */
    {
        pg_failure f;

        pg_pick_failure(q->error ? PQresultErrorMessage(q->error)
                                 : PQerrorMessage(conn),
                        &f);
        return pg_say(p, GP_TRANSIENT,
                      "connection lost during the query: %s (dsn %s)",
                      f.text[0] ? f.text : "no reason given", p->shown);
    }
}

/* 1 when the server is a hot standby, 0 when not, -1 when unknown. */
