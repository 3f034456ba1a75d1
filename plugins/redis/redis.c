/*
 * plugins/redis/redis.c - the `redis` probe: does Redis answer PING with
 * PONG, as the user the tests will use, in the database they will use, in
 * the role they expect?
 *
 * An open port is not a ready Redis: while it loads its dataset it accepts
 * connections and answers -LOADING to everything (`redis-cli ping` counts
 * that as up), a busy script makes it answer -BUSY, a replica whose master
 * is gone may answer -MASTERDOWN, and a wrong password or database index
 * only shows once you log in and select.
 *
 * One attempt reads top to bottom:
 *   1. read the options and the password (inline or from a private file);
 *   2. connect (TCP, trying each address of the host, or a unix socket)
 *      within the time left, the host name resolved by the SDK in a helper
 *      process killed when the time is up; hiredis then talks over that
 *      connection;
 *   3. AUTH, SELECT (when db is not 0), PING, INFO: every write and read is
 *      bounded by the time left, re-armed (redisSetTimeout) before each
 *      socket call, so a server that accepts and never answers cannot hold
 *      the attempt past its deadline; every reply is bounded in size and
 *      element count before hiredis allocates it (reply.c), so a server
 *      that answers "*2147483647" is refused at once;
 *   4. report INFO's clients, memory and replication figures as metrics and
 *      compare the role with the expected one.
 *
 * Replies that clear up by themselves (LOADING, BUSY, MASTERDOWN, too many
 * clients, refused, timed out, closed) are transient; replies that will be
 * the same next time (NOAUTH, WRONGPASS, NOPERM, a bad db index, anything
 * else the server rejects) are fatal. A role other than the expected one is
 * transient during warmup (a failover may be under way) and fatal after.
 *
 * The password never goes into a message or a log line: the core masks the
 * `password` option and the content of `password_file` (a GP_OPT_FILE,
 * which it also refuses, with the config, when others may read it).
 *
 * The plugin keeps no state: everything belongs to one check() call.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"
#include "reply.h"

/* Longest password we read from password_file. */
#define REDIS_MAX_PASSWORD 4096
/* How much of a server error goes into a message, and its room once made
 * printable (a byte may become \xHH). */
#define REDIS_SHOW_ERROR 200
#define REDIS_SHOW_BUF (REDIS_SHOW_ERROR * 4 + 8)

static const gp_option redis_options[] = {
    {.key = "host",
     .type = GP_TYPE_STRING,
     .def = "127.0.0.1",
     .help = "host name or address of the Redis server"},
    {.key = "port",
     .type = GP_TYPE_INTEGER,
     .def = "6379",
     .help = "TCP port",
     .min = 1,
     .max = 65535},
    {.key = "socket",
     .type = GP_TYPE_STRING,
     .help = "unix socket path; when set, host and port are not used"},
    {.key = "username",
     .type = GP_TYPE_STRING,
     .help = "ACL user name (Redis 6+); needs password or password_file"},
    {.key = "password",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_SECRET,
     .help = "password (never printed)"},
    {.key = "password_file",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_FILE,
     .help = "file holding the password (one trailing newline is ignored); "
             "refused when group- or world-accessible"},
    {.key = "db",
     .type = GP_TYPE_INTEGER,
     .def = "0",
     .help = "database index to SELECT",
     .min = 0,
     .max = 2147483647},
    {.key = "role",
     .type = GP_TYPE_STRING,
     .help = "expected replication role (unset: any)",
     .choices = "master|replica"},
    {.key = NULL},
};

static const gp_metric redis_metrics[] = {
    {.name = "ping_time", .unit = GP_UNIT_MS, .help = "PING round trip"},
    {.name = "connected_clients",
     .unit = GP_UNIT_COUNT,
     .help = "client connections (INFO clients)"},
    {.name = "maxclients",
     .unit = GP_UNIT_COUNT,
     .help = "the server's connection limit"},
    {.name = "clients_usage",
     .unit = GP_UNIT_PERCENT,
     .help = "connected_clients as a percentage of maxclients"},
    {.name = "used_memory",
     .unit = GP_UNIT_BYTES,
     .help = "memory allocated by Redis (INFO memory)"},
    {.name = "maxmemory",
     .unit = GP_UNIT_BYTES,
     .help = "the server's memory limit (0: none)"},
    {.name = "memory_usage",
     .unit = GP_UNIT_PERCENT,
     .help = "used_memory as a percentage of maxmemory, when maxmemory is set"},
    {.name = NULL},
};

/* Everything one attempt carries around. */
typedef struct probe {
    gp_ctx *ctx;
    const gp_api *api;
    redisContext *c;
    reply_guard guard; /* c's reader's limits, installed once connected */
    char addr[160];    /* "127.0.0.1:6379", "[::1]:6379" or "unix:/path" */
    char *password;    /* NULL when none; owned, wiped on free */
} probe;

/* ------------------------------------------------------------------------ */
/* The password.                                                             */

/* From `password` or `password_file` (gpcheck refused, with the config, a
 * file others may read; the SDK checks the opened file again). */
static gp_outcome load_password(probe *p)
{
    const char *user = p->api->opt_string(p->ctx, "username");
    char err[640];

    if (gp_sdk_secret(p->ctx, p->api, "password", "password_file",
                      REDIS_MAX_PASSWORD, &p->password, err, sizeof err) < 0) {
        int e = errno;

        p->api->message(p->ctx, "%s", err);
        return e == ENOMEM ? GP_UNKNOWN : GP_FATAL;
    }
    if (user && *user && !p->password) {
        p->api->message(p->ctx, "username '%s' needs password or password_file",
                        user);
        return GP_FATAL;
    }
    return GP_READY;
}

/* ------------------------------------------------------------------------ */
/* Connecting.                                                               */

static gp_outcome connect_failed(probe *p, int err, double started)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    const char *why = p->c ? p->c->errstr : strerror(err);

    if (err == ECONNREFUSED) {
        api->message(ctx, "connection refused by %s", p->addr);
        return GP_TRANSIENT;
    }
    if (err == ETIMEDOUT || err == EINPROGRESS || api->time_left_ms(ctx) <= 0) {
        api->message(ctx, "connect to %s timed out after %.0f ms", p->addr,
                     gp_sdk_now_ms() - started);
        return GP_TRANSIENT;
    }
    if (err == EACCES || err == EPERM) {
        api->message(ctx, "connect to %s: %s", p->addr, why);
        return GP_FATAL;
    }
    /* ENOENT for a socket not created yet, resets, unreachable ...: the
     * server may still be coming up. */
    api->message(ctx, "connect to %s failed: %s", p->addr, why);
    return GP_TRANSIENT;
}

static gp_outcome connect_unix(probe *p, const char *path)
{
    double started = gp_sdk_now_ms();

    snprintf(p->addr, sizeof p->addr, "unix:%s", path);
    /* hiredis would silently cut a longer path and connect elsewhere. */
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        p->api->message(p->ctx, "socket path is longer than %zu bytes",
                        sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        return GP_FATAL;
    }
    errno = 0;
    p->c = redisConnectUnixWithTimeout(path, gp_sdk_timeval(p->ctx, p->api));
    int err = errno;

    if (!p->c) {
        p->api->message(p->ctx, "out of memory");
        return GP_UNKNOWN;
    }
    return p->c->err ? connect_failed(p, err, started) : GP_READY;
}

/*
 * The SDK resolves the host and tries every address in turn within the
 * time left (hiredis gives up after the first); a name that does not exist
 * is fatal. hiredis then talks over the connected socket, made blocking
 * again so that the timeouts arm_timeout() sets apply.
 */
static gp_outcome connect_tcp(probe *p, const char *host, unsigned port)
{
    char err[256];
    gp_sdk_connect_error why;
    double started = gp_sdk_now_ms();
    int fd = gp_sdk_tcp_connect(p->ctx, p->api, host, port, &why, p->addr,
                                sizeof p->addr, err, sizeof err);

    if (fd < 0 && (why == GP_SDK_NO_SUCH_HOST || why == GP_SDK_RESOLVER ||
                   why == GP_SDK_RESOLVE_TIMEOUT)) {
        p->api->message(p->ctx, "%s", err);
        return why == GP_SDK_NO_SUCH_HOST ? GP_FATAL : GP_TRANSIENT;
    }
    if (fd < 0)
        return connect_failed(p, errno, started);
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ||
        !(p->c = redisConnectFd(fd))) {
        p->api->message(p->ctx, "cannot hand %s to hiredis: %s", p->addr,
                        strerror(errno));
        close(fd);
        return GP_UNKNOWN;
    }
    return GP_READY;
}

/* ------------------------------------------------------------------------ */
/* Commands.                                                                 */

/* Arm the socket's send and receive timeouts with the time left (at least
 * 1 ms: hiredis reads a zero timeout as "wait forever"). */
static int arm_timeout(probe *p)
{
    return redisSetTimeout(p->c, gp_sdk_timeval(p->ctx, p->api)) == REDIS_OK;
}

/*
 * Send a command and wait for its reply, every socket call bounded by the
 * time left. Returns the reply (free it), or NULL with *why set, and
 * *not_redis set when the peer does not speak the Redis protocol. hiredis'
 * blocking redisCommand() would arm the timeout once for the whole exchange; we
 * re-arm it before each read and write, so the total never exceeds the
 * deadline.
 */
static redisReply *command(probe *p, int argc, const char **argv, char *why,
                           size_t whylen, int *not_redis)
{
    redisContext *c = p->c;
    void *reply = NULL;
    int done = 0;
    double started = gp_sdk_now_ms();

    if (redisAppendCommandArgv(c, argc, argv, NULL) != REDIS_OK)
        goto failed;
    while (!done) {
        if (!arm_timeout(p))
            goto timeout;
        if (redisBufferWrite(c, &done) != REDIS_OK)
            goto failed;
    }
    reply_guard_start(&p->guard);
    if (redisGetReplyFromReader(c, &reply) != REDIS_OK)
        goto failed;
    while (!reply) {
        if (!arm_timeout(p))
            goto timeout;
        if (redisBufferRead(c) != REDIS_OK)
            goto failed;
        if (!reply_guard_ok(&p->guard, c->reader))
            goto too_large;
        if (redisGetReplyFromReader(c, &reply) != REDIS_OK)
            goto failed;
    }
    return reply;

too_large:
    snprintf(why, whylen,
             "%s sent a reply too large for %s (over %d MiB or %d elements): "
             "not Redis answering a health check",
             p->addr, argv[0], REPLY_MAX_BYTES / (1024 * 1024),
             REPLY_MAX_ELEMENTS);
    *not_redis = 1;
    return NULL;

failed:
    if (p->guard.too_large)
        goto too_large;
    /* SO_RCVTIMEO/SO_SNDTIMEO expiring shows as EAGAIN. */
    if ((c->err == REDIS_ERR_IO &&
         (errno == EAGAIN || errno == EWOULDBLOCK || errno == ETIMEDOUT)) ||
        COMPAT_TIMED_OUT(c))
        goto timeout;
    if (c->err == REDIS_ERR_EOF) {
        snprintf(why, whylen, "%s closed the connection", p->addr);
    } else if (c->err == REDIS_ERR_IO &&
               (errno == ECONNRESET || errno == EPIPE)) {
        /* A close that raced with our write: the same thing. */
        snprintf(why, whylen, "%s closed the connection (%s)", p->addr,
                 c->errstr);
    } else if (c->err == REDIS_ERR_PROTOCOL) {
        snprintf(why, whylen, "%s does not speak Redis: %s", p->addr,
                 c->errstr);
        *not_redis = 1;
    } else {
        snprintf(why, whylen, "%s: %s", p->addr, c->errstr);
    }
    return NULL;

timeout:
    snprintf(why, whylen, "no reply to %s from %s within %.0f ms", argv[0],
             p->addr, gp_sdk_now_ms() - started);
    return NULL;
}

/*
 * Run one command that must not fail. On a transport failure or an error
 * reply, sets the message and returns the outcome; on success returns
 * GP_READY with *out set to the reply.
 */
static gp_outcome run(probe *p, const char *what, int argc, const char **argv,
                      redisReply **out)
{
    char why[512];
    int not_redis = 0;
    redisReply *r = command(p, argc, argv, why, sizeof why, &not_redis);

    *out = NULL;
    if (!r) {
        p->api->message(p->ctx, "%s", why);
        /* Something else listens on the port: waiting will not make it
         * Redis. Everything else (timeouts, resets, closes) may pass. */
        return not_redis ? GP_FATAL : GP_TRANSIENT;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        char err[REDIS_SHOW_BUF];

        gp_sdk_printable(r->str, r->len, REDIS_SHOW_ERROR, err, sizeof err);
        p->api->message(p->ctx, "%s refused by %s: %s%s", what, p->addr, err,
                        reply_error_hint(err));
        gp_outcome o = reply_error_is_transient(err) ? GP_TRANSIENT : GP_FATAL;

        freeReplyObject(r);
        return o;
    }
    *out = r;
    return GP_READY;
}

static gp_outcome authenticate(probe *p)
{
    const char *user = p->api->opt_string(p->ctx, "username");
    const char *argv[3] = {"AUTH"};
    int argc = 1;
    char what[300];
    redisReply *r;

    if (!p->password)
        return GP_READY;
    if (user && *user) {
        argv[argc++] = user;
        snprintf(what, sizeof what, "AUTH as '%s'", user);
    } else {
        snprintf(what, sizeof what, "AUTH");
    }
    argv[argc++] = p->password;

    gp_outcome o = run(p, what, argc, argv, &r);

    if (r)
        freeReplyObject(r);
    return o;
}

static gp_outcome select_db(probe *p)
{
    int64_t db = p->api->opt_integer(p->ctx, "db");
    char num[24], what[40];
    const char *argv[2] = {"SELECT", num};
    redisReply *r;

    if (db == 0)
        return GP_READY;
    snprintf(num, sizeof num, "%lld", (long long)db);
    snprintf(what, sizeof what, "SELECT %s", num);

    gp_outcome o = run(p, what, 2, argv, &r);

    if (r)
        freeReplyObject(r);
    return o;
}

static gp_outcome ping(probe *p, double *ms)
{
    const char *argv[1] = {"PING"};
    redisReply *r;
    double t0 = gp_sdk_now_ms();
    gp_outcome o = run(p, "PING", 1, argv, &r);

    *ms = gp_sdk_now_ms() - t0;
    if (o != GP_READY)
        return o;
    if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "PONG") != 0) {
        char got[REDIS_SHOW_BUF] = "";

        if (r->str)
            gp_sdk_printable(r->str, r->len, REDIS_SHOW_ERROR, got, sizeof got);
        p->api->message(p->ctx, "%s answered PING with '%s', not PONG", p->addr,
                        got);
        o = GP_FATAL;
    }
    freeReplyObject(r);
    return o;
}

/* ------------------------------------------------------------------------ */
/* INFO.                                                                     */

static void report_metrics(probe *p, const char *info)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    double clients = reply_info_number(info, "connected_clients");
    double maxclients = reply_info_number(info, "maxclients");
    double used = reply_info_number(info, "used_memory");
    double maxmemory = reply_info_number(info, "maxmemory");

    if (clients >= 0)
        api->metric(ctx, "connected_clients", clients);
    if (maxclients >= 0)
        api->metric(ctx, "maxclients", maxclients);
    if (clients >= 0 && maxclients > 0)
        api->metric(ctx, "clients_usage", clients * 100.0 / maxclients);
    if (used >= 0)
        api->metric(ctx, "used_memory", used);
    if (maxmemory >= 0)
        api->metric(ctx, "maxmemory", maxmemory);
    if (used >= 0 && maxmemory > 0)
        api->metric(ctx, "memory_usage", used * 100.0 / maxmemory);
}

/*
 * INFO for the metrics and the role. A user not allowed to run INFO still
 * gets a ready Redis (PONG said so) unless a role was asked for, which we
 * then cannot verify.
 */
static gp_outcome info(probe *p, double ping_ms)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    const char *want = api->opt_string(ctx, "role");
    const char *argv[1] = {"INFO"};
    redisReply *r;
    gp_outcome o = run(p, "INFO", 1, argv, &r);

    if (o != GP_READY) {
        if (o == GP_FATAL && !(want && *want)) {
            api->log(ctx, GP_LOG_WARNING, "INFO refused: no metrics");
            api->message(ctx,
                         "PONG from %s in %.2f ms (INFO refused: no "
                         "metrics)",
                         p->addr, ping_ms);
            return GP_READY;
        }
        return o;
    }
    if (r->type != REDIS_REPLY_STRING) {
        api->message(ctx, "%s answered INFO with a reply of type %d", p->addr,
                     r->type);
        freeReplyObject(r);
        return GP_TRANSIENT;
    }

    const char *text = r->str;
    char version[32] = "?", role[16] = "?", role_text[128];

    reply_info_field(text, "redis_version", version, sizeof version);
    reply_info_field(text, "role", role, sizeof role);
    reply_describe_role(text, role, role_text, sizeof role_text);
    report_metrics(p, text);

    double clients = reply_info_number(text, "connected_clients");
    double maxclients = reply_info_number(text, "maxclients");

    if (want && *want) {
        /* INFO says "slave"; the option says "replica". */
        const char *expected = strcmp(want, "replica") == 0 ? "slave" : want;

        if (strcmp(role, expected) != 0) {
            api->message(ctx, "%s is %s, expected %s", p->addr, role_text,
                         want);
            freeReplyObject(r);
            return api->in_warmup(ctx) ? GP_TRANSIENT : GP_FATAL;
        }
    }
    char clients_text[64] = "";

    if (clients >= 0 && maxclients > 0)
        snprintf(clients_text, sizeof clients_text, ", %.0f/%.0f clients",
                 clients, maxclients);
    else if (clients >= 0)
        snprintf(clients_text, sizeof clients_text, ", %.0f clients", clients);
    api->message(ctx, "PONG from %s in %.2f ms (Redis %s, %s%s)", p->addr,
                 ping_ms, version, role_text, clients_text);
    freeReplyObject(r);
    return GP_READY;
}

/* ------------------------------------------------------------------------ */

static gp_outcome probe_redis(probe *p)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    const char *sock = api->opt_string(ctx, "socket");
    gp_outcome o;
    double ping_ms = 0;

    o = load_password(p);
    if (o != GP_READY)
        return o;
    if (sock && *sock) {
        o = connect_unix(p, sock);
    } else {
        const char *host = api->opt_string(ctx, "host");

        if (!host || !*host) {
            api->message(ctx, "option host is empty");
            return GP_FATAL;
        }
        o = connect_tcp(p, host, (unsigned)api->opt_integer(ctx, "port"));
    }
    if (o != GP_READY)
        return o;
    reply_guard_init(&p->guard, p->c->reader, REPLY_MAX_BYTES,
                     REPLY_MAX_ELEMENTS);
    o = authenticate(p);
    if (o != GP_READY)
        return o;
    o = select_db(p);
    if (o != GP_READY)
        return o;
    o = ping(p, &ping_ms);
    if (o != GP_READY)
        return o;
    api->metric(ctx, "ping_time", ping_ms);
    return info(p, ping_ms);
}

static gp_outcome check(gp_ctx *ctx, const gp_api *api)
{
    probe p = {.ctx = ctx, .api = api};
    gp_outcome o = probe_redis(&p);

    if (p.c)
        redisFree(p.c);
    gp_sdk_free_secret(p.password);
    return o;
}

/* validate() (ABI 1.2): the host's form (unless a socket is used), and a
 * username without a password, at config time. */
static void validate(gp_ctx *ctx, const gp_api *api)
{
    const char *sock = api->opt_string(ctx, "socket");
    const char *user = api->opt_string(ctx, "username");
    const char *why;

    if (!(sock && *sock) &&
        (why = gp_sdk_host_problem(api->opt_string(ctx, "host"))) != NULL)
        api->invalid(ctx, "host", "%s", why);
    if (user && *user && !api->opt_isset(ctx, "password") &&
        !api->opt_isset(ctx, "password_file"))
        api->invalid(ctx, "username", "needs password or password_file");
}

/* gpcheck wait redis://[USER:PASSWORD@]HOST[:PORT][/DB] (no rediss://:
 * this probe does not speak TLS). */
static const gp_url_map redis_urls[] = {
    {.schemes = "redis",
     .host = "host",
     .port = "port",
     .user = "username",
     .password = "password",
     .path = "db"},
    {.schemes = NULL},
};

static const gp_plugin redis_plugin = {
    GP_PLUGIN_HEADER,
    .name = "redis",
    .version = "0.1.0",
    .summary = "Redis answers PING with PONG (not LOADING), as this user, in "
               "this db and role",
    .options = redis_options,
    .metrics = redis_metrics,
    .check = check,
    .validate = validate,
    .urls = redis_urls,
};

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    return &redis_plugin;
}
