/*
 * plugins/dns/dns.c - the `dns` probe: do these names resolve, to what we
 * expect, on the servers the tests will use?
 *
 * One attempt reads top to bottom:
 *   1. read the options (their forms: forms.c) and set up one c-ares
 *      channel (the given servers, or the system resolver configuration;
 *      TCP when asked);
 *   2. send a query for every name at once on that channel;
 *   3. drive the channel ourselves, non-blocking, with poll() bounded by
 *      the attempt's time left: c-ares' own tries and timeouts never decide
 *      how long we wait, so a silent server cannot hold the probe past its
 *      deadline;
 *   4. parse each answer with c-ares' parsers into printable values, and
 *      check that every expected value is among them (answer.c).
 *
 * A truncated UDP answer (TC bit) is asked again over TCP by c-ares; when
 * that fails, the message says the answer was truncated and why the TCP
 * retry failed, not just "connection refused".
 *
 * A name that does not exist (NXDOMAIN) or has no record of the type is
 * expected while a zone is still being provisioned, so it is transient in
 * warmup and fatal after it. Server trouble (SERVFAIL, REFUSED, timeouts,
 * refused connections) is transient. An answer that lacks an expected value
 * is fatal: the record exists and says something else.
 *
 * The plugin keeps no state: everything belongs to one check() call.
 */
#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "answer.h"
#include "forms.h"
#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"

/* How many answers per name a message shows, and how long it may get. */
#define DNS_SHOW_ANSWERS 8
#define DNS_MSG_MAX 1024

static const gp_option dns_options[] = {
    {.key = "name",
     .type = GP_TYPE_LIST,
     .flags = GP_OPT_REQUIRED,
     .help = "names to resolve; every one must resolve (a trailing dot "
             "skips the resolver's search domains)"},
    {.key = "type",
     .type = GP_TYPE_STRING,
     .def = "A",
     .help = "record type to ask for",
     .choices = "A|AAAA|CNAME|MX|TXT|SRV|NS"},
    {.key = "server",
     .type = GP_TYPE_LIST,
     .help = "DNS servers as IP or IP:PORT ([::1]:53 for IPv6); default: "
             "the system resolver configuration"},
    {.key = "expect",
     .type = GP_TYPE_LIST,
     .help = "values that must all be among the answers (addresses, names, "
             "\"PRIO HOST\" or HOST for MX, HOST or HOST:PORT for SRV, the "
             "text for TXT)"},
    {.key = "tcp",
     .type = GP_TYPE_BOOLEAN,
     .def = "false",
     .help = "query over TCP instead of UDP"},
    {.key = NULL},
};

static const gp_metric dns_metrics[] = {
    {.name = "resolve_time",
     .unit = GP_UNIT_MS,
     .help = "from sending the queries to the last answer"},
    {.name = "answers",
     .unit = GP_UNIT_COUNT,
     .help = "answers of the asked type, over all names"},
    {.name = NULL},
};

/* ------------------------------------------------------------------------ */
/* A bounded message buffer.                                                 */

/* A fixed buffer that truncates with "..." instead of failing. */
typedef struct msgbuf {
    char text[DNS_MSG_MAX];
    size_t len;
} msgbuf;

static void msg_add(msgbuf *m, const char *fmt, ...) GP_PRINTF(2, 3);

static void msg_add(msgbuf *m, const char *fmt, ...)
{
    va_list ap;
    size_t room = sizeof m->text - m->len;
    int n;

    if (room <= 1)
        return;
    va_start(ap, fmt);
    n = vsnprintf(m->text + m->len, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= room) {
        m->len = sizeof m->text - 1;
        memcpy(m->text + m->len - 3, "...", 3);
    } else {
        m->len += (size_t)n;
    }
}

/* ------------------------------------------------------------------------ */
/* Queries and the event loop.                                               */

typedef struct query {
    const char *name;
    const answer_type *type;
    int done;
    int status; /* ARES_* once done */
    answer_list answers;
} query;

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf,
                      int alen)
{
    query *q = arg;

    (void)timeouts;
    /* Cancellation at our deadline and the final destroy call back too;
     * the first result is the one that counts. */
    if (q->done)
        return;
    q->done = 1;
    q->status = status;
    if (status == ARES_SUCCESS)
        q->status = q->type->parse(abuf, alen, &q->answers);
}

/* Is there still anything to wait for? A fatal-looking result does not
 * stop the loop: the other names' results make the message better, and
 * they come from the same servers within the same deadline. */
static size_t pending(const query *qs, size_t n)
{
    size_t left = 0;

    for (size_t i = 0; i < n; i++)
        left += !qs[i].done;
    return left;
}

/* ------------------------------------------------------------------------ */
/* Sending unanswered UDP queries again in warmup.                           */

/*
 * c-ares waits a whole try (a seventh of the time left: 714 ms of a 5 s
 * attempt, then twice that) before it sends a query again. A query lost
 * while the server could not answer it is then answered that late, though
 * the server is ready: a dnsmasq forwarder whose upstream was down even
 * forwards a pending question again only when its client retries it (same
 * id, same source), and a new query waits with the pending one. So in
 * warmup, where noticing readiness quickly is the point, every UDP query
 * still unanswered is sent again every DNS_RESEND_MS: the bytes c-ares
 * sent, on its socket, so an answer to any copy is the answer c-ares
 * waits for, and its own tries and timeouts are unchanged (a slow server
 * is waited for as long as before). We see those bytes through c-ares'
 * socket functions (ares_set_socket_functions, c-ares 1.13+), which
 * otherwise do what c-ares does.
 */
#define DNS_RESEND_MS 50
#define DNS_RESEND_MAX 32    /* queries remembered; more are not resent */
#define DNS_RESEND_BYTES 512 /* a UDP query without EDNS fits */

typedef struct sent_query {
    ares_socket_t fd;
    size_t len;
    unsigned char buf[DNS_RESEND_BYTES];
} sent_query;

typedef struct resender {
    sent_query q[DNS_RESEND_MAX];
    size_t n;
    double next_ms; /* when to send them again */
} resender;

static unsigned query_id(const unsigned char *buf)
{
    return (unsigned)buf[0] << 8 | buf[1];
}

static void forget(resender *rs, ares_socket_t fd, int by_id, unsigned id)
{
    for (size_t i = 0; i < rs->n;) {
        if (rs->q[i].fd == fd && (!by_id || query_id(rs->q[i].buf) == id))
            rs->q[i] = rs->q[--rs->n];
        else
            i++;
    }
}

static int is_udp(ares_socket_t fd)
{
    int type = 0;
    socklen_t len = sizeof type;

    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
           type == SOCK_DGRAM;
}

static ares_socket_t rs_socket(int domain, int type, int protocol, void *arg)
{
    (void)arg;
    return socket(domain, type, protocol);
}

static int rs_close(ares_socket_t fd, void *arg)
{
    forget(arg, fd, 0, 0);
    return close(fd);
}

static int rs_connect(ares_socket_t fd, const struct sockaddr *sa,
                      ares_socklen_t len, void *arg)
{
    (void)arg;
    return connect(fd, sa, len);
}

/* An answer (to any copy) ends the resending of its query. */
static ares_ssize_t rs_recvfrom(ares_socket_t fd, void *buf, size_t len,
                                int flags, struct sockaddr *from,
                                ares_socklen_t *from_len, void *arg)
{
    ares_ssize_t got = recvfrom(fd, buf, len, flags, from, from_len);

    if (got >= 2)
        forget(arg, fd, 1, query_id(buf));
    return got;
}

/* Sends as c-ares would, and remembers a UDP query (c-ares sends one in
 * one piece): a try of c-ares' own replaces the copy of the same id. */
static ares_ssize_t rs_sendv(ares_socket_t fd, const struct iovec *iov,
                             int iovcnt, void *arg)
{
    resender *rs = arg;
    ares_ssize_t sent = writev(fd, iov, iovcnt);

    if (sent >= 12 && iovcnt == 1 && (size_t)sent == iov[0].iov_len &&
        iov[0].iov_len <= DNS_RESEND_BYTES && is_udp(fd)) {
        unsigned id = query_id(iov[0].iov_base);

        for (size_t i = 0; i < rs->n; i++)
            if (query_id(rs->q[i].buf) == id)
                rs->q[i] = rs->q[--rs->n];
        if (rs->n < DNS_RESEND_MAX) {
            sent_query *q = &rs->q[rs->n++];

            q->fd = fd;
            q->len = iov[0].iov_len;
            memcpy(q->buf, iov[0].iov_base, q->len);
        }
    }
    return sent;
}

static const struct ares_socket_functions resend_functions = {
    .asocket = rs_socket,
    .aclose = rs_close,
    .aconnect = rs_connect,
    .arecvfrom = rs_recvfrom,
    .asendv = rs_sendv,
};

/* Time for the copies: send each once more. A failed send is left to
 * c-ares' own tries (a refused port shows on its next read). */
static void resend_due(resender *rs)
{
    double now = gp_sdk_now_ms();

    if (now < rs->next_ms)
        return;
    for (size_t i = 0; i < rs->n; i++)
        (void)send(rs->q[i].fd, rs->q[i].buf, rs->q[i].len,
                   MSG_DONTWAIT | MSG_NOSIGNAL);
    rs->next_ms = now + DNS_RESEND_MS;
}

/*
 * Drive the channel until every query is done or the time is up. c-ares'
 * timeout (for its retries) is capped by our own time left, so the wait is
 * always bounded by the attempt's deadline.
 */
static void run_channel(gp_ctx *ctx, const gp_api *api, ares_channel ch,
                        query *qs, size_t n, resender *rs)
{
    while (pending(qs, n) > 0) {
        int64_t left = api->time_left_ms(ctx);

        if (left <= 0)
            break;

        ares_socket_t socks[ARES_GETSOCK_MAXNUM];
        struct pollfd pfds[ARES_GETSOCK_MAXNUM];
        /* The bitmask as ARES_GETSOCK_READABLE/WRITABLE define it, read
         * unsigned: the macros shift a signed 1 into the sign bit for the
         * last socket, which UBSan rightly rejects. */
        unsigned bits = (unsigned)ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
        nfds_t nfds = 0;

        for (unsigned i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
            short events = 0;

            if (bits & (1u << i))
                events |= POLLIN;
            if (bits & (1u << (i + ARES_GETSOCK_MAXNUM)))
                events |= POLLOUT;
            if (!events)
                continue;
            pfds[nfds].fd = socks[i];
            pfds[nfds].events = events;
            pfds[nfds].revents = 0;
            nfds++;
        }

        struct timeval maxtv = gp_sdk_timeval(ctx, api), tv;
        struct timeval *tvp = ares_timeout(ch, &maxtv, &tv);
        int64_t wait = (int64_t)tvp->tv_sec * 1000 + tvp->tv_usec / 1000;

        /* Round sub-millisecond waits up so that we do not spin. */
        if (wait == 0 && tvp->tv_usec > 0)
            wait = 1;
        if (rs && rs->n > 0) {
            int64_t due = (int64_t)(rs->next_ms - gp_sdk_now_ms()) + 1;

            if (due < wait)
                wait = due < 0 ? 0 : due;
        }
        int rc = poll(pfds, nfds, (int)(wait < left ? wait : left));

        if (rc <= 0) {
            /* Timeout (or EINTR): let c-ares retry or expire queries. */
            ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
            if (rs)
                resend_due(rs);
            continue;
        }
        for (nfds_t i = 0; i < nfds; i++) {
            short re = pfds[i].revents;

            if (!re)
                continue;
            /* Errors and hang-ups are read events: the read reports them. */
            ares_process_fd(ch,
                            re & (POLLIN | POLLERR | POLLHUP) ? pfds[i].fd
                                                              : ARES_SOCKET_BAD,
                            re & POLLOUT ? pfds[i].fd : ARES_SOCKET_BAD);
        }
        if (rs)
            resend_due(rs);
    }
}

/* ------------------------------------------------------------------------ */
/* Setting up the channel.                                                   */

/*
 * Per-try timeout for c-ares: a seventh of the time left. With one server
 * its four tries wait t, 2t, 4t and 8t: three fit in the budget (7t) and
 * the fourth outlasts it, so a silent server is cut by our loop at the
 * deadline (the core then counts a timeout) rather than given up on early
 * by c-ares. More servers only add tries.
 */
static int try_timeout_ms(int64_t left)
{
    int64_t t = left / 7;

    if (t < 20)
        t = 20;
    if (t > 5000)
        t = 5000;
    return (int)t;
}

/* "127.0.0.1:5353, [::1]:53" for messages: the servers c-ares really uses. */
static void describe_servers(ares_channel ch, char *out, size_t outlen)
{
    struct ares_addr_port_node *servers = NULL;
    size_t len = 0;

    out[0] = '\0';
    if (ares_get_servers_ports(ch, &servers) != ARES_SUCCESS)
        return;
    for (struct ares_addr_port_node *s = servers; s && len + 1 < outlen;
         s = s->next) {
        char ip[INET6_ADDRSTRLEN] = "?";
        int port = s->udp_port ? s->udp_port : 53;
        int w;

        inet_ntop(s->family, &s->addr, ip, sizeof ip);
        if (s->family == AF_INET6)
            w = snprintf(out + len, outlen - len, "%s[%s]:%d", len ? ", " : "",
                         ip, port);
        else
            w = snprintf(out + len, outlen - len, "%s%s:%d", len ? ", " : "",
                         ip, port);
        if (w < 0 || (size_t)w >= outlen - len)
            break;
        len += (size_t)w;
    }
    ares_free_data(servers);
}

/*
 * With explicit servers, ask them about exactly the names given: the
 * host's search domains belong to the host's resolver, not to the server
 * under test. With the system configuration, resolve like the system does.
 */
static int open_channel(gp_ctx *ctx, const gp_api *api, ares_channel *ch,
                        char *servers_text, size_t servers_len)
{
    const char *const *servers = NULL;
    size_t nservers = api->opt_list(ctx, "server", &servers);
    struct ares_options opts;
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    int rc;

    /*
     * ARES_FLAG_NOCHECKRESP: the first server that answers decides, and a
     * SERVFAIL or REFUSED from it is reported as such. Without it, c-ares
     * 1.18 retries the other servers (good) but then reports every such
     * failure as "connection refused" (useless for a diagnosis). Servers
     * that do not answer, or refuse the connection, are still skipped.
     */
    memset(&opts, 0, sizeof opts);
    opts.flags = ARES_FLAG_NOCHECKRESP;
    if (api->opt_boolean(ctx, "tcp"))
        opts.flags |= ARES_FLAG_USEVC;
    if (nservers > 0)
        opts.flags |= ARES_FLAG_NOSEARCH;
    opts.timeout = try_timeout_ms(api->time_left_ms(ctx));
    opts.tries = 4;

    rc = ares_init_options(ch, &opts, mask);
    if (rc != ARES_SUCCESS) {
        api->message(ctx, "cannot set up the resolver: %s", ares_strerror(rc));
        return rc == ARES_ENOMEM ? GP_UNKNOWN : GP_FATAL;
    }
    if (nservers > 0) {
        char csv[4096];

        if (dns_join_servers(servers, nservers, csv, sizeof csv)) {
            api->message(ctx, "option server: too many servers");
            return GP_FATAL;
        }
        rc = ares_set_servers_ports_csv(*ch, csv);
        if (rc != ARES_SUCCESS) {
            api->message(ctx,
                         "option server: '%s' is not a list of IP or IP:PORT "
                         "([IPv6]:PORT) addresses (%s)",
                         csv, ares_strerror(rc));
            return GP_FATAL;
        }
    }
    describe_servers(*ch, servers_text, servers_len);
    if (!servers_text[0]) {
        api->message(ctx, "no DNS server configured");
        return GP_FATAL;
    }
    return GP_READY;
}

/* ------------------------------------------------------------------------ */
/* Turning results into an outcome.                                          */

static void add_answers(msgbuf *m, const query *q)
{
    if (q->answers.n == 0) {
        msg_add(m, "(none)");
        return;
    }
    for (size_t i = 0; i < q->answers.n && i < DNS_SHOW_ANSWERS; i++)
        msg_add(m, "%s%s", i ? ", " : "", q->answers.items[i]);
    if (q->answers.n > DNS_SHOW_ANSWERS)
        msg_add(m, " (+%zu more)", q->answers.n - DNS_SHOW_ANSWERS);
}

/* c-ares opens a TCP socket on a UDP channel only to retry a truncated
 * answer (TC bit): note that it did, so that a failure says so. */
static int on_socket(ares_socket_t fd, int type, void *arg)
{
    (void)fd;
    if (type == SOCK_STREAM)
        *(int *)arg = 1;
    return 0;
}

/* Outcome of one name's query, with a message when it is not ready.
 * `tc_retry`: c-ares retried a truncated UDP answer over TCP. */
static gp_outcome judge_query(gp_ctx *ctx, const gp_api *api, const query *q,
                              const char *servers, int64_t waited, int tc_retry,
                              msgbuf *m)
{
    const char *t = q->type->name;

    if (tc_retry && q->done && q->status != ARES_SUCCESS &&
        q->status != ARES_ENOTFOUND && q->status != ARES_ENODATA) {
        msg_add(m, "answer for %s %s truncated (TC) and the TCP retry failed: ",
                q->name, t);
        if (q->status == ARES_ECONNREFUSED) {
            msg_add(m, "connection refused or closed by %s", servers);
            return GP_TRANSIENT;
        }
    } else if (tc_retry && !q->done) {
        msg_add(m, "answer for %s %s truncated (TC) and the TCP retry failed: ",
                q->name, t);
    }

    if (!q->done) {
        msg_add(m, "no answer for %s %s from %s within %lld ms", q->name, t,
                servers, (long long)waited);
        return GP_TRANSIENT;
    }
    switch (q->status) {
    case ARES_SUCCESS: return GP_READY;
    case ARES_ENOTFOUND:
        msg_add(m, "NXDOMAIN: %s does not exist (asked %s)", q->name, servers);
        return api->in_warmup(ctx) ? GP_TRANSIENT : GP_FATAL;
    case ARES_ENODATA:
        msg_add(m, "no data: %s has no %s record (asked %s)", q->name, t,
                servers);
        return api->in_warmup(ctx) ? GP_TRANSIENT : GP_FATAL;
    case ARES_ESERVFAIL:
        msg_add(m, "SERVFAIL for %s %s from %s", q->name, t, servers);
        return GP_TRANSIENT;
    case ARES_EREFUSED:
        msg_add(m, "REFUSED: %s would not answer %s %s", servers, q->name, t);
        return GP_TRANSIENT;
    case ARES_ETIMEOUT:
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
        msg_add(m, "no answer for %s %s from %s within %lld ms", q->name, t,
                servers, (long long)waited);
        return GP_TRANSIENT;
    case ARES_ECONNREFUSED:
        /* Over TCP c-ares also reports a connection the server closed
         * without answering this way. */
        msg_add(m, "connection refused%s by %s (asking %s %s)",
                api->opt_boolean(ctx, "tcp") ? " or closed" : "", servers,
                q->name, t);
        return GP_TRANSIENT;
    case ARES_EBADNAME:
        msg_add(m, "'%s' is not a valid DNS name", q->name);
        return GP_FATAL;
    case ARES_ENOTIMP:
    case ARES_EFORMERR:
        /* The server says it cannot handle this question at all: asking
         * it again the same way gets the same answer. */
        msg_add(m, "%s rejected the %s %s query: %s", servers, q->name, t,
                ares_strerror(q->status));
        return GP_FATAL;
    case ARES_ENOMEM: msg_add(m, "out of memory"); return GP_UNKNOWN;
    default:
        /* Bad responses, EOF on TCP, server hiccups: ask again. */
        msg_add(m, "%s %s via %s: %s", q->name, t, servers,
                ares_strerror(q->status));
        return GP_TRANSIENT;
    }
}

static int rank(gp_outcome o)
{
    switch (o) {
    case GP_READY: return 0;
    case GP_TRANSIENT: return 1;
    case GP_FATAL: return 2;
    default: return 3;
    }
}

/* Every expected value must be among the answers of some name. */
static gp_outcome check_expect(gp_ctx *ctx, const gp_api *api, const query *qs,
                               size_t n, msgbuf *m)
{
    const char *const *expect = NULL;
    size_t nexpect = api->opt_list(ctx, "expect", &expect);

    for (size_t e = 0; e < nexpect; e++) {
        int found = 0;

        for (size_t i = 0; i < n && !found; i++) {
            for (size_t a = 0; a < qs[i].answers.n && !found; a++)
                found = answer_matches(qs[i].type, expect[e],
                                       qs[i].answers.items[a]);
        }
        if (found)
            continue;
        msg_add(m, "expected %s not among the %s answers: ", expect[e],
                qs[0].type->name);
        for (size_t i = 0; i < n; i++) {
            msg_add(m, "%s%s ", i ? "; " : "", qs[i].name);
            add_answers(m, &qs[i]);
        }
        return GP_FATAL;
    }
    return GP_READY;
}

static void ready_message(const query *qs, size_t n, const char *servers,
                          double ms, msgbuf *m)
{
    for (size_t i = 0; i < n; i++) {
        msg_add(m, "%s%s %s ", i ? "; " : "", qs[i].name, qs[i].type->name);
        add_answers(m, &qs[i]);
    }
    msg_add(m, " (from %s in %.1f ms)", servers, ms);
}

static gp_outcome check(gp_ctx *ctx, const gp_api *api)
{
    const char *const *names = NULL;
    size_t n = api->opt_list(ctx, "name", &names);
    const char *type_name = api->opt_string(ctx, "type");
    const answer_type *type = answer_type_find(type_name ? type_name : "A");
    char servers[512];
    ares_channel ch = NULL;
    msgbuf m = {.len = 0};
    gp_outcome out;

    if (n == 0) {
        api->message(ctx, "option name is empty");
        return GP_FATAL;
    }
    if (!type) {
        api->message(ctx, "option type: unsupported record type '%s'",
                     type_name);
        return GP_FATAL;
    }
    query *qs = calloc(n, sizeof *qs);

    if (!qs) {
        api->message(ctx, "out of memory");
        return GP_UNKNOWN;
    }
    if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
        free(qs);
        api->message(ctx, "cannot initialise c-ares");
        return GP_UNKNOWN;
    }

    out = open_channel(ctx, api, &ch, servers, sizeof servers);
    double start = gp_sdk_now_ms(), took = 0;
    int tc_retry = 0;
    /* Ours (heap, 17 KiB), freed after ares_destroy(): the channel's
     * sockets are closed through rs_close. Set up before the queries; in
     * warmup over UDP only. Out of memory: c-ares' own tries only. */
    resender *rs = NULL;

    if (out == GP_READY) {
        if (!api->opt_boolean(ctx, "tcp")) {
            ares_set_socket_callback(ch, on_socket, &tc_retry);
            if (api->in_warmup(ctx) && (rs = calloc(1, sizeof *rs)) != NULL) {
                rs->next_ms = start + DNS_RESEND_MS;
                ares_set_socket_functions(ch, &resend_functions, rs);
            }
        }
        for (size_t i = 0; i < n; i++) {
            qs[i].name = names[i];
            qs[i].type = type;
            ares_search(ch, names[i], ns_c_in, type->type, on_answer, &qs[i]);
        }
        run_channel(ctx, api, ch, qs, n, rs);
        took = gp_sdk_now_ms() - start;

        /* The worst name decides; the first one that is that bad speaks. */
        msgbuf why = {.len = 0};
        size_t answers = 0;

        for (size_t i = 0; i < n; i++) {
            msgbuf one = {.len = 0};
            gp_outcome o = judge_query(ctx, api, &qs[i], servers, (int64_t)took,
                                       tc_retry, &one);

            answers += qs[i].answers.n;
            if (rank(o) > rank(out)) {
                out = o;
                why = one;
            }
        }
        if (out == GP_READY) {
            api->metric(ctx, "resolve_time", took);
            api->metric(ctx, "answers", (double)answers);
            out = check_expect(ctx, api, qs, n, &m);
            if (out == GP_READY)
                ready_message(qs, n, servers, took, &m);
        } else {
            m = why;
        }
        api->message(ctx, "%s", m.text);
    }

    /* Destroying the channel calls back every query still pending; qs must
     * outlive it. */
    if (ch)
        ares_destroy(ch);
    free(rs);
    ares_library_cleanup();
    for (size_t i = 0; i < n; i++)
        answer_list_free(&qs[i].answers);
    free(qs);
    return out;
}

/* validate() (ABI 1.2): server addresses and name forms, at config time. */
static void validate(gp_ctx *ctx, const gp_api *api)
{
    const char *const *items;
    size_t n = api->opt_list(ctx, "server", &items);
    const char *why;

    for (size_t i = 0; i < n; i++)
        if ((why = dns_server_problem(items[i])) != NULL)
            api->invalid(ctx, "server", "'%s': %s", items[i], why);
    n = api->opt_list(ctx, "name", &items);
    for (size_t i = 0; i < n; i++)
        if ((why = dns_name_problem(items[i])) != NULL)
            api->invalid(ctx, "name", "'%s': %s", items[i], why);
}

/* gpcheck wait dns://[SERVER[:PORT]]/NAME?type=AAAA&expect=...: no
 * server, the system resolver. */
static const gp_url_map dns_urls[] = {
    {.schemes = "dns",
     .host = "server",
     .port = "server",
     .path = "name",
     .flags = GP_URL_QUERY_OPTIONS},
    {.schemes = NULL},
};

static const gp_plugin dns_plugin = {
    GP_PLUGIN_HEADER,
    .name = "dns",
    .version = "0.1.0",
    .summary = "names resolve (A, AAAA, CNAME, MX, TXT, SRV, NS) to the "
               "expected values, via c-ares within the deadline",
    .options = dns_options,
    .metrics = dns_metrics,
    .check = check,
    .validate = validate,
    .urls = dns_urls,
};

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    return &dns_plugin;
}
