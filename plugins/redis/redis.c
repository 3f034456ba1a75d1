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
 *      within the time left;
 *   3. AUTH, SELECT (when db is not 0), PING, INFO: every write and read is
 *      bounded by the time left, re-armed (redisSetTimeout) before each
 *      socket call, so a server that accepts and never answers cannot hold
 *      the attempt past its deadline;
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
 * `password` option, and we scrub whatever the server says of a password
 * read from `password_file` (which the core cannot know).
 *
 * The plugin keeps no state: everything belongs to one check() call.
 */
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "gpcheck/plugin.h"

/* Longest password we read from password_file. */
#define REDIS_MAX_PASSWORD 4096
/* How much of a server error goes into a message. */
#define REDIS_SHOW_ERROR 200

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
    char addr[160];         /* "127.0.0.1:6379", "[::1]:6379" or "unix:/path" */
    char *password;         /* NULL when none; owned, wiped on free */
    size_t password_size;   /* bytes of it to wipe */
    int password_from_file; /* the core cannot mask it: we must */
} probe;

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------------------ */
/* The password.                                                             */

static void password_free(probe *p)
{
    if (p->password) {
        /* volatile: the wipe must not be optimised away before free(). */
        volatile char *v = p->password;

        for (size_t i = 0; i < p->password_size; i++)
            v[i] = 0;
        free(p->password);
        p->password = NULL;
    }
}

/*
 * Read password_file. The file must be a regular file that only its owner
 * may access (checked on the opened descriptor, so nothing can swap it in
 * between). O_NONBLOCK: opening a FIFO must not hang the attempt; it is
 * then refused as not a regular file.
 */
static gp_outcome read_password_file(probe *p, const char *path)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

    if (fd < 0) {
        api->message(ctx, "password_file %s: %s", path, strerror(errno));
        return GP_FATAL;
    }
    if (fstat(fd, &st) < 0) {
        api->message(ctx, "password_file %s: %s", path, strerror(errno));
        close(fd);
        return GP_FATAL;
    }
    if (!S_ISREG(st.st_mode)) {
        api->message(ctx, "password_file %s is not a regular file", path);
        close(fd);
        return GP_FATAL;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        api->message(ctx,
                     "password_file %s is accessible by group or others "
                     "(mode %04o); refusing it (chmod 600)",
                     path, (unsigned)(st.st_mode & 07777));
        close(fd);
        return GP_FATAL;
    }

    p->password = calloc(1, REDIS_MAX_PASSWORD + 1);
    if (!p->password) {
        close(fd);
        api->message(ctx, "out of memory");
        return GP_UNKNOWN;
    }
    p->password_size = REDIS_MAX_PASSWORD + 1;
    size_t len = 0;

    for (;;) {
        ssize_t n = read(fd, p->password + len, REDIS_MAX_PASSWORD + 1 - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            api->message(ctx, "password_file %s: %s", path, strerror(errno));
            close(fd);
            return GP_FATAL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > REDIS_MAX_PASSWORD) {
            api->message(ctx, "password_file %s: longer than %d bytes", path,
                         REDIS_MAX_PASSWORD);
            close(fd);
            return GP_FATAL;
        }
    }
    close(fd);

    /* One trailing newline is the editor's, not the password's. */
    if (len > 0 && p->password[len - 1] == '\n')
        p->password[--len] = '\0';
    if (len > 0 && p->password[len - 1] == '\r')
        p->password[--len] = '\0';
    if (len == 0) {
        api->message(ctx, "password_file %s is empty", path);
        return GP_FATAL;
    }
    p->password_from_file = 1;
    return GP_READY;
}

static gp_outcome load_password(probe *p)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    const char *inline_pw = api->opt_string(ctx, "password");
    const char *file = api->opt_string(ctx, "password_file");
    const char *user = api->opt_string(ctx, "username");

    if (inline_pw && *inline_pw && file && *file) {
        api->message(ctx, "set password or password_file, not both");
        return GP_FATAL;
    }
    if (file && *file)
        return read_password_file(p, file);
    if (inline_pw && *inline_pw) {
        p->password_size = strlen(inline_pw);
        p->password = strdup(inline_pw);
        if (!p->password) {
            api->message(ctx, "out of memory");
            return GP_UNKNOWN;
        }
        return GP_READY;
    }
    if (user && *user) {
        api->message(ctx, "username '%s' needs password or password_file",
                     user);
        return GP_FATAL;
    }
    return GP_READY;
}

/*
 * Copy server text into a message-safe buffer: cut to REDIS_SHOW_ERROR,
 * control characters dropped, and any occurrence of a password the core
 * does not know about replaced by "***".
 */
static void scrub(const probe *p, const char *in, size_t len, char *out,
                  size_t outlen)
{
    const char *pw = p->password_from_file ? p->password : NULL;
    size_t pwlen = pw ? strlen(pw) : 0;
    size_t o = 0;

    if (len > REDIS_SHOW_ERROR)
        len = REDIS_SHOW_ERROR;
    for (size_t i = 0; i < len && o + 4 < outlen;) {
        if (pwlen && i + pwlen <= len && memcmp(in + i, pw, pwlen) == 0) {
            memcpy(out + o, "***", 3);
            o += 3;
            i += pwlen;
            continue;
        }
        unsigned char ch = (unsigned char)in[i++];

        out[o++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
    }
    out[o] = '\0';
}

/* ------------------------------------------------------------------------ */
/* Time.                                                                     */

/* The time left as a timeval, or 0 when there is none left: hiredis would
 * read a zero timeout as "wait forever". */
static int time_left_tv(const probe *p, struct timeval *tv)
{
    int64_t left = p->api->time_left_ms(p->ctx);

    if (left <= 0)
        return 0;
    tv->tv_sec = (time_t)(left / 1000);
    tv->tv_usec = (suseconds_t)(left % 1000) * 1000;
    return 1;
}

/* Arm the socket's send and receive timeouts with the time left. */
static int arm_timeout(probe *p)
{
    struct timeval tv;

    if (!time_left_tv(p, &tv))
        return 0;
    return redisSetTimeout(p->c, tv) == REDIS_OK;
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
                     now_ms() - started);
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
    struct timeval tv;
    double started = now_ms();

    snprintf(p->addr, sizeof(p->addr), "unix:%s", path);
    /* hiredis would silently cut a longer path and connect elsewhere. */
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        p->api->message(p->ctx, "socket path is longer than %zu bytes",
                        sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        return GP_FATAL;
    }
    if (!time_left_tv(p, &tv))
        return connect_failed(p, ETIMEDOUT, started);
    errno = 0;
    p->c = redisConnectUnixWithTimeout(path, tv);
    int err = errno;

    if (!p->c) {
        p->api->message(p->ctx, "out of memory");
        return GP_UNKNOWN;
    }
    return p->c->err ? connect_failed(p, err, started) : GP_READY;
}

/*
 * Resolve the host ourselves so that every address is tried in turn (hiredis
 * gives up after the first) and a name that does not exist is fatal.
 * getaddrinfo() cannot be bounded by our deadline; the core's kill at the
 * deadline is the backstop, as for the tcp probe.
 */
static gp_outcome connect_tcp(probe *p, const char *host, int port)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, NULL, &hints, &res);

    if (gai != 0) {
        api->message(ctx, "cannot resolve %s: %s", host,
                     gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
        return gai == EAI_NONAME ? GP_FATAL : GP_TRANSIENT;
    }

    gp_outcome out = GP_TRANSIENT;
    double started = now_ms();

    api->message(ctx, "%s has no usable address", host);

    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        char ip[64]; /* numeric, with an IPv6 scope: fits */
        struct timeval tv;

        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, ip, sizeof(ip), NULL, 0,
                        NI_NUMERICHOST) != 0)
            continue;
        snprintf(p->addr, sizeof(p->addr),
                 ai->ai_family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip, port);
        if (!time_left_tv(p, &tv)) {
            out = connect_failed(p, ETIMEDOUT, started);
            break;
        }
        if (p->c)
            redisFree(p->c);
        errno = 0;
        p->c = redisConnectWithTimeout(ip, port, tv);
        int err = errno;

        if (!p->c) {
            api->message(ctx, "out of memory");
            out = GP_UNKNOWN;
            break;
        }
        if (!p->c->err) {
            out = GP_READY;
            break;
        }
        api->log(ctx, GP_LOG_DEBUG, "connect to %s: %s", p->addr, p->c->errstr);
        out = connect_failed(p, err, started);
    }
    freeaddrinfo(res);
    return out;
}

/* ------------------------------------------------------------------------ */
/* Commands.                                                                 */

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
    double started = now_ms();

    if (redisAppendCommandArgv(c, argc, argv, NULL) != REDIS_OK)
        goto failed;
    while (!done) {
        if (!arm_timeout(p))
            goto timeout;
        if (redisBufferWrite(c, &done) != REDIS_OK)
            goto failed;
    }
    if (redisGetReplyFromReader(c, &reply) != REDIS_OK)
        goto failed;
    while (!reply) {
        if (!arm_timeout(p))
            goto timeout;
        if (redisBufferRead(c) != REDIS_OK)
            goto failed;
        if (redisGetReplyFromReader(c, &reply) != REDIS_OK)
            goto failed;
    }
    return reply;

failed:
    /* SO_RCVTIMEO/SO_SNDTIMEO expiring shows as EAGAIN. */
    if (c->err == REDIS_ERR_IO &&
        (errno == EAGAIN || errno == EWOULDBLOCK || errno == ETIMEDOUT))
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
             p->addr, now_ms() - started);
    return NULL;
}

/* Error replies that clear up by themselves. */
static int error_is_transient(const char *err)
{
    static const char *const codes[] = {"LOADING ", "BUSY ", "MASTERDOWN ",
                                        "TRYAGAIN ", "CLUSTERDOWN "};

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (strncmp(err, codes[i], strlen(codes[i])) == 0)
            return 1;
    }
    /* Sent on connect when maxclients is reached. */
    return strstr(err, "max number of clients reached") != NULL;
}

/* A hint where Redis' own words do not say what to do. */
static const char *error_hint(const char *err)
{
    if (strncmp(err, "NOAUTH ", 7) == 0)
        return " (set password or password_file)";
    return "";
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
    redisReply *r = command(p, argc, argv, why, sizeof(why), &not_redis);

    *out = NULL;
    if (!r) {
        char safe[512];

        scrub(p, why, strlen(why), safe, sizeof(safe));
        p->api->message(p->ctx, "%s", safe);
        /* Something else listens on the port: waiting will not make it
         * Redis. Everything else (timeouts, resets, closes) may pass. */
        return not_redis ? GP_FATAL : GP_TRANSIENT;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        char err[REDIS_SHOW_ERROR + 16];

        scrub(p, r->str, r->len, err, sizeof(err));
        p->api->message(p->ctx, "%s refused by %s: %s%s", what, p->addr, err,
                        error_hint(err));
        gp_outcome o = error_is_transient(err) ? GP_TRANSIENT : GP_FATAL;

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
        snprintf(what, sizeof(what), "AUTH as '%s'", user);
    } else {
        snprintf(what, sizeof(what), "AUTH");
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
    snprintf(num, sizeof(num), "%lld", (long long)db);
    snprintf(what, sizeof(what), "SELECT %s", num);

    gp_outcome o = run(p, what, 2, argv, &r);

    if (r)
        freeReplyObject(r);
    return o;
}

static gp_outcome ping(probe *p, double *ms)
{
    const char *argv[1] = {"PING"};
    redisReply *r;
    double t0 = now_ms();
    gp_outcome o = run(p, "PING", 1, argv, &r);

    *ms = now_ms() - t0;
    if (o != GP_READY)
        return o;
    if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "PONG") != 0) {
        char got[REDIS_SHOW_ERROR + 16] = "";

        if (r->str)
            scrub(p, r->str, r->len, got, sizeof(got));
        p->api->message(p->ctx, "%s answered PING with '%s', not PONG", p->addr,
                        got);
        o = GP_FATAL;
    }
    freeReplyObject(r);
    return o;
}

/* ------------------------------------------------------------------------ */
/* INFO.                                                                     */

/* Copy the value of "key:value" from INFO text; 1 when found. */
static int info_field(const char *info, const char *key, char *out,
                      size_t outlen)
{
    size_t klen = strlen(key);

    for (const char *line = info; line && *line;) {
        const char *end = strpbrk(line, "\r\n");
        size_t len = end ? (size_t)(end - line) : strlen(line);

        if (len > klen && line[klen] == ':' && strncmp(line, key, klen) == 0) {
            size_t vlen = len - klen - 1;

            if (vlen >= outlen)
                vlen = outlen - 1;
            memcpy(out, line + klen + 1, vlen);
            out[vlen] = '\0';
            return 1;
        }
        line = end ? end + strspn(end, "\r\n") : NULL;
    }
    return 0;
}

/* A non-negative integer field of INFO, or -1. */
static double info_number(const char *info, const char *key)
{
    char text[64], *end;

    if (!info_field(info, key, text, sizeof(text)))
        return -1;
    errno = 0;
    long long v = strtoll(text, &end, 10);

    if (errno || end == text || *end || v < 0)
        return -1;
    return (double)v;
}

static void report_metrics(probe *p, const char *info)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    double clients = info_number(info, "connected_clients");
    double maxclients = info_number(info, "maxclients");
    double used = info_number(info, "used_memory");
    double maxmemory = info_number(info, "maxmemory");

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

/* "master" or "replica of HOST:PORT, link up" for messages. */
static void describe_role(const char *info, const char *role, char *out,
                          size_t outlen)
{
    char host[64], port[16], link[16];

    if (strcmp(role, "slave") != 0) {
        snprintf(out, outlen, "%s", role);
        return;
    }
    if (info_field(info, "master_host", host, sizeof(host)) &&
        info_field(info, "master_port", port, sizeof(port)) &&
        info_field(info, "master_link_status", link, sizeof(link)))
        snprintf(out, outlen, "replica of %s:%s, link %s", host, port, link);
    else
        snprintf(out, outlen, "replica");
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

    info_field(text, "redis_version", version, sizeof(version));
    info_field(text, "role", role, sizeof(role));
    describe_role(text, role, role_text, sizeof(role_text));
    report_metrics(p, text);

    double clients = info_number(text, "connected_clients");
    double maxclients = info_number(text, "maxclients");

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
        snprintf(clients_text, sizeof(clients_text), ", %.0f/%.0f clients",
                 clients, maxclients);
    else if (clients >= 0)
        snprintf(clients_text, sizeof(clients_text), ", %.0f clients", clients);
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
        o = connect_tcp(p, host, (int)api->opt_integer(ctx, "port"));
    }
    if (o != GP_READY)
        return o;
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
    password_free(&p);
    return o;
}

static const gp_plugin redis_plugin = {
    GP_PLUGIN_HEADER,
    .name = "redis",
    .version = "0.1.0",
    .summary = "Redis answers PING with PONG (not LOADING), as this user, in "
               "this db and role",
    .options = redis_options,
    .metrics = redis_metrics,
    .check = check,
};

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    return &redis_plugin;
}
