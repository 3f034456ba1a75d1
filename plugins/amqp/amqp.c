/*
 * plugins/amqp/amqp.c - the `amqp` probe: does an AMQP 0-9-1 broker
 * (RabbitMQ) take this login into this vhost, and does the queue the tests
 * use exist?
 *
 * An open port is not a ready broker: a RabbitMQ node accepts TCP once
 * its listener is up, a wrong password is only refused after the
 * handshake (403 ACCESS_REFUSED), a vhost that does not exist (or that
 * the user may not use) at connection.open (530 NOT_ALLOWED), a missing
 * queue at a passive queue.declare (404 NOT_FOUND), and a node shutting
 * down closes connections with 320 CONNECTION_FORCED.
 *
 * One attempt reads top to bottom:
 *   1. read the options and the password (inline or from a private file);
 *   2. connect: plain TCP through the SDK (the name resolved in a helper
 *      process, each address tried in turn, all bounded by the time left),
 *      the socket then handed to librabbitmq; TLS through librabbitmq's
 *      OpenSSL socket, opened with the time left as its timeout;
 *   3. log in (amqp_login, bounded by the handshake timeout set from the
 *      time left), open a channel and, when `queue` is set, declare it
 *      passively (every RPC bounded by the RPC timeout, re-armed from the
 *      time left before each);
 *   4. with publish = yes, publish a message that routes nowhere and
 *      read frames until the broker answers a basic.qos behind it, or
 *      says connection.blocked (a resource alarm blocks publishers);
 *   5. report the queue's message and consumer counts, close politely
 *      within a short bound (the verdict is already known).
 * 530 (a vhost missing or not granted yet) and 404 (a queue not declared
 * yet) are transient during warmup, where provisioning may be under way.
 *
 * Reply codes and library statuses map to outcomes in reply.c.
 *
 * The password never goes into a message or a log line: the core masks the
 * `password` option and the content of `password_file` (GP_OPT_FILE).
 * The plugin keeps no state: everything belongs to one check() call.
 */
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"
#include "reply.h"

#define MQ_MAX_PASSWORD 4096
/* How much of a broker's text goes into a message, and its room once made
 * printable. */
#define MQ_SHOW 300
#define MQ_SHOW_BUF (MQ_SHOW * 4 + 8)
/* The largest frame we accept (librabbitmq's default). */
#define MQ_FRAME_MAX 131072
/* The heartbeat asked for with publish = yes (see login()). */
#define MQ_HEARTBEAT_S 1
/* The most the closing handshake may take once the verdict is known. */
#define MQ_CLOSE_MS 200

static const gp_option mq_options[] = {
    {.key = "url",
     .type = GP_TYPE_STRING,
     .help = "amqp://user:password@host:port/vhost or amqps://...; instead "
             "of host, port, vhost, user (and password, when it holds one)"},
    {.key = "host",
     .type = GP_TYPE_STRING,
     .def = "127.0.0.1",
     .help = "host name or address of the broker"},
    {.key = "port",
     .type = GP_TYPE_INTEGER,
     .def = "5672",
     .help = "TCP port (RabbitMQ: 5672, 5671 for TLS)",
     .min = 1,
     .max = 65535},
    {.key = "vhost",
     .type = GP_TYPE_STRING,
     .def = "/",
     .help = "virtual host to open"},
    {.key = "user",
     .type = GP_TYPE_STRING,
     .def = "guest",
     .help = "user name (SASL PLAIN)"},
    {.key = "password",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_SECRET,
     .help = "password (never printed; unset: empty)"},
    {.key = "password_file",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_FILE,
     .help = "file holding the password (one trailing newline is ignored); "
             "refused when group- or world-accessible"},
    {.key = "queue",
     .type = GP_TYPE_STRING,
     .help = "queue that must exist (passive queue.declare)"},
    {.key = "publish",
     .type = GP_TYPE_BOOLEAN,
     .def = "no",
     .help = "also publish one message that routes nowhere (default "
             "exchange, empty routing key): transient while the broker "
             "blocks publishers (a memory or disk alarm); needs write "
             "permission on amq.default"},
    {.key = "tls",
     .type = GP_TYPE_STRING,
     .def = "disabled",
     .help = "disabled, required (TLS, any certificate) or verify (the "
             "certificate and host name checked against tls_ca)",
     .choices = "disabled|required|verify"},
    {.key = "tls_ca",
     .type = GP_TYPE_STRING,
     .help = "CA certificate file (PEM) for tls = verify"},
    {.key = NULL},
};

static const gp_metric mq_metrics[] = {
    {.name = "connect_time",
     .unit = GP_UNIT_MS,
     .help = "connect, handshake, login and connection.open"},
    {.name = "queue_messages",
     .unit = GP_UNIT_COUNT,
     .help = "messages ready in the queue"},
    {.name = "queue_consumers",
     .unit = GP_UNIT_COUNT,
     .help = "consumers of the queue"},
    {.name = NULL},
};

/* Where and as whom to log in: from the options, or from `url`. */
typedef struct target {
    const char *host, *vhost, *user; /* the core's, or into url */
    unsigned port;
    int tls;                  /* 0 disabled, 1 required, 2 verify */
    char *url;                /* owned copy amqp_parse_url() cut up; wiped */
    const char *url_password; /* into url; NULL when the url has none */
} target;

/* Everything one attempt carries around. */
typedef struct probe {
    gp_ctx *ctx;
    const gp_api *api;
    target t;
    amqp_connection_state_t conn; /* owned; destroyed by check() */
    int logged_in;                /* connection.open done, not closed */
    int channel_open;             /* channel 1 open, not closed */
    char addr[160];               /* "127.0.0.1:5672" */
    char *password;               /* NULL when none; owned, wiped */
} probe;

/* Does the url's authority hold "user:password@"? (librabbitmq fills in
 * "guest" when it does not, which must not count as a password.) */
static int url_has_password(const char *url)
{
    const char *a = strstr(url, "://");
    const char *end, *at = NULL;

    if (!a)
        return 0;
    a += 3;
    end = a + strcspn(a, "/?#");
    for (const char *s = a; s < end; s++)
        if (*s == '@')
            at = s;
    return at && memchr(a, ':', (size_t)(at - a)) != NULL;
}

static void target_free(target *t)
{
    if (t->url) {
        memset(t->url, 0, strlen(t->url));
        free(t->url);
    }
}

/* Fill t from the options; 0, or -1 with *why (a reason naming `url`). */
static int target_read(gp_ctx *ctx, const gp_api *api, target *t,
                       const char **why)
{
    const char *url = api->opt_string(ctx, "url");
    const char *tls = api->opt_string(ctx, "tls");
    struct amqp_connection_info ci;

    memset(t, 0, sizeof *t);
    t->tls = !strcmp(tls, "verify") ? 2 : !strcmp(tls, "required") ? 1 : 0;
    if (!url || !*url) {
        t->host = api->opt_string(ctx, "host");
        t->port = (unsigned)api->opt_integer(ctx, "port");
        t->vhost = api->opt_string(ctx, "vhost");
        t->user = api->opt_string(ctx, "user");
        return 0;
    }
    if (!(t->url = strdup(url))) {
        *why = "out of memory";
        return -1;
    }
    if (amqp_parse_url(t->url, &ci) != AMQP_STATUS_OK) {
        *why = "not an AMQP URL (amqp://user:password@host:port/vhost, "
               "amqps://...)";
        return -1;
    }
    t->host = ci.host;
    t->port = (unsigned)ci.port;
    t->vhost = ci.vhost;
    t->user = ci.user;
    t->url_password = url_has_password(url) ? ci.password : NULL;
    if (ci.ssl && t->tls == 0 && api->opt_isset(ctx, "tls")) {
        *why = "amqps:// with tls = disabled";
        return -1;
    }
    if (!ci.ssl && t->tls > 0) {
        *why = "tls needs an amqps:// url";
        return -1;
    }
    if (ci.ssl && t->tls == 0)
        t->tls = 1;
    return 0;
}

/* Re-arm librabbitmq's RPC timeout with the time left. */
static void arm(probe *p)
{
    struct timeval tv = gp_sdk_timeval(p->ctx, p->api);

    amqp_set_rpc_timeout(p->conn, &tv);
}

/* The outcome of a failed RPC (or login), with the message set. */
static gp_outcome rpc_failed(probe *p, const char *what, amqp_rpc_reply_t r,
                             double started)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;

    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION) {
        unsigned code = 0;
        amqp_bytes_t text = {0, NULL};
        char shown[MQ_SHOW_BUF] = "";

        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_connection_close_t *m = r.reply.decoded;

            code = m->reply_code;
            text = m->reply_text;
            p->logged_in = p->channel_open = 0;
        } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_t *m = r.reply.decoded;

            code = m->reply_code;
            text = m->reply_text;
            p->channel_open = 0;
        }
        if (text.len)
            gp_sdk_printable(text.bytes, text.len, MQ_SHOW, shown,
                             sizeof shown);
        else
            snprintf(shown, sizeof shown, "%s", mq_reply_name(code));
        api->message(ctx, "%s refused by %s: %u %s%s", what, p->addr, code,
                     shown, mq_reply_hint(code));
        /* Not provisioned yet: a vhost is created, then its permissions
         * granted (530 in between, "not found" then "refused"), then the
         * queues declared (404). In the warmup that may still be under
         * way; after it, the tests would get the same refusal. 403 (the
         * credentials) stays fatal at once. */
        if ((code == AMQP_NOT_ALLOWED || code == AMQP_NOT_FOUND) &&
            api->in_warmup(ctx))
            return GP_TRANSIENT;
        return mq_reply_outcome(code);
    }
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
        int st = r.library_error;

        p->logged_in = p->channel_open = 0;
        if (st == AMQP_STATUS_TIMEOUT)
            api->message(ctx, "%s: no answer from %s within %.0f ms", what,
                         p->addr, gp_sdk_now_ms() - started);
        else if (st == AMQP_STATUS_CONNECTION_CLOSED ||
                 st == AMQP_STATUS_SOCKET_CLOSED)
            api->message(ctx, "%s: %s closed the connection", what, p->addr);
        else
            api->message(ctx, "%s with %s failed: %s", what, p->addr,
                         amqp_error_string2(st));
        return mq_status_outcome(st);
    }
    api->message(ctx, "%s: no reply from %s", what, p->addr);
    return GP_TRANSIENT;
}

/* ------------------------------------------------------------------------ */
/* Connecting.                                                               */

/* Plain TCP: the SDK connects (each address in turn, within the time
 * left) and librabbitmq talks over the socket. */
static gp_outcome connect_tcp(probe *p, const char *host, unsigned port)
{
    char err[256];
    gp_sdk_connect_error why;
    amqp_socket_t *s = amqp_tcp_socket_new(p->conn); /* owned by conn */
    int fd;

    if (!s) {
        p->api->message(p->ctx, "out of memory");
        return GP_UNKNOWN;
    }
    fd = gp_sdk_tcp_connect(p->ctx, p->api, host, port, &why, p->addr,
                            sizeof p->addr, err, sizeof err);
    if (fd < 0) {
        p->api->message(p->ctx, "%s", err);
        return why == GP_SDK_NO_SUCH_HOST ? GP_FATAL : GP_TRANSIENT;
    }
    /* librabbitmq sets TCP_NODELAY only on sockets it opens itself: without
     * it every handshake step that follows a small write waits out the
     * peer's delayed ACK (40 ms each on Linux). */
    int one = 1;

    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    amqp_tcp_socket_set_sockfd(s, fd); /* conn closes it */
    return GP_READY;
}

/*
 * TLS: librabbitmq's OpenSSL socket connects and shakes hands within the
 * timeout given. The SDK resolves the name first (bounded; a name that
 * does not exist is fatal); with tls = verify librabbitmq is given the
 * name, so that the certificate is checked against it, else the address.
 */
static gp_outcome connect_tls(probe *p, const char *host, unsigned port)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    int verify = p->t.tls == 2;
    const char *ca = api->opt_string(ctx, "tls_ca");
    gp_sdk_addr addr;
    gp_sdk_connect_error why;
    char err[256];
    struct timeval tv;

    if (gp_sdk_resolve(ctx, api, host, port, 0, &addr, 1, &why, err,
                       sizeof err) < 0) {
        api->message(ctx, "%s", err);
        return why == GP_SDK_NO_SUCH_HOST ? GP_FATAL : GP_TRANSIENT;
    }
    snprintf(p->addr, sizeof p->addr,
             addr.family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr.text, port);

    amqp_socket_t *s = amqp_ssl_socket_new(p->conn); /* owned by conn */

    if (!s) {
        api->message(ctx, "cannot set up TLS (out of memory?)");
        return GP_UNKNOWN;
    }
    amqp_ssl_socket_set_verify_peer(s, verify);
    amqp_ssl_socket_set_verify_hostname(s, verify);
    if (verify && ca && *ca && amqp_ssl_socket_set_cacert(s, ca) != 0) {
        api->message(ctx, "cannot read tls_ca %s", ca);
        return GP_FATAL;
    }
    tv = gp_sdk_timeval(ctx, api);

    int st =
        amqp_socket_open_noblock(s, verify ? host : addr.text, (int)port, &tv);

    if (st == AMQP_STATUS_OK)
        return GP_READY;
    if (st == AMQP_STATUS_SOCKET_ERROR && errno == ECONNREFUSED)
        api->message(ctx, "connection refused by %s", p->addr);
    else
        api->message(ctx, "TLS connect to %s failed: %s", p->addr,
                     amqp_error_string2(st));
    return mq_status_outcome(st);
}

/* ------------------------------------------------------------------------ */
/* The AMQP conversation.                                                    */

static gp_outcome login(probe *p)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    const char *vhost = p->t.vhost;
    const char *user = p->t.user;
    struct timeval tv = gp_sdk_timeval(ctx, api);
    double started = gp_sdk_now_ms();
    char what[300];

    snprintf(what, sizeof what, "login as '%s' to vhost '%s'", user, vhost);
    amqp_set_handshake_timeout(p->conn, &tv);
    arm(p);

    /* connection.blocked announced: a broker that blocks this connection
     * for a resource alarm says so (see check_publish()). librabbitmq
     * merges it with its own capabilities. */
    amqp_table_entry_t cap = {
        .key = amqp_cstring_bytes("connection.blocked"),
        .value = {.kind = AMQP_FIELD_KIND_BOOLEAN, .value = {.boolean = 1}}};
    amqp_table_entry_t prop = {
        .key = amqp_cstring_bytes("capabilities"),
        .value = {.kind = AMQP_FIELD_KIND_TABLE,
                  .value = {.table = {.num_entries = 1, .entries = &cap}}}};
    amqp_table_t props = {.num_entries = 1, .entries = &prop};
    /* With publish: a 1 s heartbeat. A broker that blocks the connection
     * stops reading it, so it would not see the probe hang up until the
     * alarm clears, and every attempt would leave a connection behind on
     * a broker already short of memory (200 within 3 s at 10 ms). Its
     * heartbeat sender keeps writing, and fails on the closed socket. */
    int heartbeat = api->opt_boolean(ctx, "publish") ? MQ_HEARTBEAT_S : 0;
    amqp_rpc_reply_t r = amqp_login_with_properties(
        p->conn, vhost, 0, MQ_FRAME_MAX, heartbeat, &props,
        AMQP_SASL_METHOD_PLAIN, user, p->password ? p->password : "");

    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return rpc_failed(p, what, r, started);
    p->logged_in = 1;
    arm(p);
    amqp_channel_open(p->conn, 1);
    r = amqp_get_rpc_reply(p->conn);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return rpc_failed(p, "channel.open", r, started);
    p->channel_open = 1;
    return GP_READY;
}

/* The broker's product and version from its server properties, as
 * "RabbitMQ 3.10.8", or "". */
static void describe_server(probe *p, char *out, size_t len)
{
    const amqp_table_t *t = amqp_get_server_properties(p->conn);
    char product[64] = "", version[64] = "";

    for (int i = 0; t && i < t->num_entries; i++) {
        const amqp_table_entry_t *e = &t->entries[i];
        char *dst = NULL;
        size_t cap = 0;

        if (e->value.kind != AMQP_FIELD_KIND_UTF8 &&
            e->value.kind != AMQP_FIELD_KIND_BYTES)
            continue;
        if (e->key.len == 7 && !memcmp(e->key.bytes, "product", 7))
            dst = product, cap = sizeof product;
        else if (e->key.len == 7 && !memcmp(e->key.bytes, "version", 7))
            dst = version, cap = sizeof version;
        if (dst)
            gp_sdk_printable(e->value.value.bytes.bytes,
                             e->value.value.bytes.len, 40, dst, cap);
    }
    snprintf(out, len, "%s%s%s", product, *product && *version ? " " : "",
             version);
}

static gp_outcome declare_queue(probe *p, const char *queue, char *detail,
                                size_t len)
{
    double started = gp_sdk_now_ms();
    char what[300];

    snprintf(what, sizeof what, "queue.declare '%s' (passive)", queue);
    arm(p);

    amqp_queue_declare_ok_t *ok = amqp_queue_declare(
        p->conn, 1, amqp_cstring_bytes(queue), 1, 0, 0, 0, amqp_empty_table);

    if (!ok)
        return rpc_failed(p, what, amqp_get_rpc_reply(p->conn), started);
    p->api->metric(p->ctx, "queue_messages", ok->message_count);
    p->api->metric(p->ctx, "queue_consumers", ok->consumer_count);
    snprintf(detail, len, "; queue '%s': %u messages, %u consumers", queue,
             (unsigned)ok->message_count, (unsigned)ok->consumer_count);
    return GP_READY;
}

/*
 * publish = yes: publish one message to the default exchange with an empty
 * routing key (no queue has that name: the broker drops it), then a
 * basic.qos round trip. A broker under a memory or disk alarm takes
 * logins and passive declares but blocks a connection at its first
 * publish: it sends connection.blocked (announced at login) and stops
 * reading, so the qos-ok never comes. librabbitmq's RPC calls would queue
 * that notice and wait for the reply to the deadline, hence the frames
 * are read here one by one within the time left.
 */
static gp_outcome check_publish(probe *p)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    double started = gp_sdk_now_ms();
    amqp_basic_qos_t qos = {0};
    int st = amqp_basic_publish(p->conn, 1, amqp_empty_bytes, amqp_empty_bytes,
                                0, 0, NULL, amqp_cstring_bytes("gpcheck"));

    if (st == AMQP_STATUS_OK)
        st = amqp_send_method(p->conn, 1, AMQP_BASIC_QOS_METHOD, &qos);
    if (st != AMQP_STATUS_OK) {
        api->message(ctx, "publish to %s failed: %s", p->addr,
                     amqp_error_string2(st));
        p->logged_in = p->channel_open = 0;
        return mq_status_outcome(st);
    }
    for (;;) {
        struct timeval tv = gp_sdk_timeval(ctx, api);
        amqp_frame_t f;

        st = amqp_simple_wait_frame_noblock(p->conn, &f, &tv);
        if (st != AMQP_STATUS_OK) {
            amqp_rpc_reply_t r = {.reply_type = AMQP_RESPONSE_LIBRARY_EXCEPTION,
                                  .library_error = st};

            return rpc_failed(p, "publish", r, started);
        }
        if (f.frame_type != AMQP_FRAME_METHOD)
            continue;
        amqp_method_number_t id = f.payload.method.id;

        if (f.channel == 0 && id == AMQP_CONNECTION_BLOCKED_METHOD) {
            amqp_connection_blocked_t *b = f.payload.method.decoded;
            char why[MQ_SHOW_BUF] = "";

            if (b && b->reason.len)
                gp_sdk_printable(b->reason.bytes, b->reason.len, MQ_SHOW, why,
                                 sizeof why);
            api->message(ctx, "%s blocks publishers: %s", p->addr,
                         *why ? why : "(no reason given)");
            /* It no longer reads this connection: no polite close, and a
             * reset, so that the broker's next heartbeat fails at once. */
            struct linger reset = {.l_onoff = 1, .l_linger = 0};

            (void)setsockopt(amqp_get_sockfd(p->conn), SOL_SOCKET, SO_LINGER,
                             &reset, sizeof reset);
            p->logged_in = p->channel_open = 0;
            return GP_TRANSIENT;
        }
        if (f.channel == 1 && id == AMQP_BASIC_QOS_OK_METHOD)
            return GP_READY;
        if (id == AMQP_CHANNEL_CLOSE_METHOD ||
            id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_rpc_reply_t r = {.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION,
                                  .reply = f.payload.method};

            return rpc_failed(p, "publish", r, started);
        }
    }
}

/* Close what is open, each step bounded by MQ_CLOSE_MS at most: the
 * verdict is known, a slow close must not turn it into a timeout. */
static void close_politely(probe *p)
{
    int64_t left = p->api->time_left_ms(p->ctx);
    int64_t ms = left < MQ_CLOSE_MS ? left : MQ_CLOSE_MS;
    struct timeval tv = {.tv_sec = 0, .tv_usec = (ms > 0 ? ms : 1) * 1000};

    if (!p->logged_in || left <= 0)
        return;
    amqp_set_rpc_timeout(p->conn, &tv);
    if (p->channel_open)
        amqp_channel_close(p->conn, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(p->conn, AMQP_REPLY_SUCCESS);
}

/* ------------------------------------------------------------------------ */

static gp_outcome probe_amqp(probe *p)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    const char *queue = api->opt_string(ctx, "queue");
    const char *why;
    char err[640], server[160], detail[400] = "";
    double started = gp_sdk_now_ms();
    gp_outcome o;

    if (target_read(ctx, api, &p->t, &why) < 0) {
        api->message(ctx, "url: %s", why);
        return GP_FATAL;
    }
    /* Declared before any message that may carry it (validate() did so
     * for the configuration's own output). */
    api->secret(ctx, p->t.url_password);
    if (p->t.url_password) {
        if (!(p->password = strdup(p->t.url_password))) {
            api->message(ctx, "out of memory");
            return GP_UNKNOWN;
        }
    } else if (gp_sdk_secret(ctx, api, "password", "password_file",
                             MQ_MAX_PASSWORD, &p->password, err,
                             sizeof err) < 0) {
        int e = errno;

        api->message(ctx, "%s", err);
        return e == ENOMEM ? GP_UNKNOWN : GP_FATAL;
    }
    if (!(p->conn = amqp_new_connection())) {
        api->message(ctx, "out of memory");
        return GP_UNKNOWN;
    }
    o = p->t.tls ? connect_tls(p, p->t.host, p->t.port)
                 : connect_tcp(p, p->t.host, p->t.port);
    if (o != GP_READY)
        return o;
    if ((o = login(p)) != GP_READY)
        return o;
    double connect_ms = gp_sdk_now_ms() - started;

    api->metric(ctx, "connect_time", connect_ms);
    if (queue && *queue &&
        (o = declare_queue(p, queue, detail, sizeof detail)) != GP_READY)
        return o;
    if (api->opt_boolean(ctx, "publish") && (o = check_publish(p)) != GP_READY)
        return o;
    describe_server(p, server, sizeof server);
    api->message(ctx, "%s%sat %s: vhost '%s' open as '%s' in %.2f ms%s", server,
                 *server ? " " : "", p->addr, p->t.vhost, p->t.user, connect_ms,
                 detail);
    close_politely(p);
    return GP_READY;
}

static gp_outcome check(gp_ctx *ctx, const gp_api *api)
{
    probe p = {.ctx = ctx, .api = api};
    gp_outcome o = probe_amqp(&p);

    if (p.conn)
        amqp_destroy_connection(p.conn);
    gp_sdk_free_secret(p.password);
    target_free(&p.t);
    return o;
}

/* An IPv4 or IPv6 literal. */
static int is_address(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, buf) == 1 ||
           inet_pton(AF_INET6, host, buf) == 1;
}

/* validate() (ABI 1.2): the url, or the host's form (a name with tls =
 * verify), tls_ca only with tls = verify, a vhost. */
static void validate(gp_ctx *ctx, const gp_api *api)
{
    static const char *const parts[] = {"host", "port", "vhost", "user"};
    int by_url = api->opt_isset(ctx, "url");
    const char *key = by_url ? "url" : "host";
    const char *why = NULL;
    target t;

    for (size_t i = 0; by_url && i < sizeof parts / sizeof parts[0]; i++)
        if (api->opt_isset(ctx, parts[i]))
            api->invalid(ctx, parts[i],
                         "is part of url: set one or the "
                         "other");
    if (target_read(ctx, api, &t, &why) < 0) {
        api->invalid(ctx, "url", "%s", why);
        target_free(&t);
        return;
    }
    api->secret(ctx, t.url_password);
    if (t.url_password && (api->opt_isset(ctx, "password") ||
                           api->opt_isset(ctx, "password_file")))
        api->invalid(ctx, "url",
                     "holds a password: leave password and "
                     "password_file unset");
    if ((why = gp_sdk_host_problem(t.host)) != NULL)
        api->invalid(ctx, key, "%s", why);
    else if (t.tls == 2 && is_address(t.host))
        api->invalid(ctx, key,
                     "tls = verify needs the host name the certificate "
                     "names: librabbitmq checks names, not IP addresses");
    if (api->opt_isset(ctx, "tls_ca") && t.tls != 2)
        api->invalid(ctx, "tls_ca", "needs tls = verify");
    if (!*t.vhost)
        api->invalid(ctx, by_url ? "url" : "vhost",
                     "the vhost is empty (RabbitMQ's default is /, %s)",
                     by_url ? "%2f in a url, or no path" : "the default");
    target_free(&t);
}

static const gp_plugin mq_plugin = {
    GP_PLUGIN_HEADER,
    .name = "amqp",
    .version = "0.1.0",
    .summary = "an AMQP 0-9-1 broker (RabbitMQ) takes the login into the "
               "vhost; the queue exists",
    .options = mq_options,
    .metrics = mq_metrics,
    .check = check,
    .validate = validate,
};

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    return &mq_plugin;
}
