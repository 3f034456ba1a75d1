/*
 * plugins/tcp/tcp.c - the `tcp` probe: can we open a TCP connection to
 * host:port, and (optionally) does the peer say what we expect?
 *
 * One attempt reads top to bottom:
 *   1. read and decode the options (send/expect take C-style escapes);
 *   2. resolve host with getaddrinfo;
 *   3. try each address in turn with a non-blocking connect bounded by the
 *      attempt's time left;
 *   4. if `send` is set, send it; if `expect` is set, read until the text
 *      appears, the peer closes, 64 KiB arrive or the time is up.
 *
 * Everything that may clear up by itself (refused, timed out, reset, wrong
 * or missing banner, DNS server trouble) is GP_TRANSIENT; a name that does
 * not exist or an option that cannot be decoded is GP_FATAL, since asking
 * again gives the same answer.
 *
 * The plugin keeps no state: everything belongs to one check() call.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "gpcheck/plugin.h"

/* Upper bound for `send` and `expect` after decoding, and for how much we
 * read while looking for `expect`. */
#define TCP_MAX_TEXT 4096
#define TCP_MAX_READ (64 * 1024)
/* How much of what the peer sent goes into a message. */
#define TCP_SHOW_BYTES 60

static const gp_option tcp_options[] = {
    {.key = "host",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_REQUIRED,
     .help = "host name or address to connect to (IPv4, IPv6 or DNS name)"},
    {.key = "port",
     .type = GP_TYPE_INTEGER,
     .flags = GP_OPT_REQUIRED,
     .help = "TCP port to connect to",
     .min = 1,
     .max = 65535},
    {.key = "send",
     .type = GP_TYPE_STRING,
     .help = "bytes to send once connected; escapes \\r \\n \\t \\\\ \\xHH"},
    {.key = "expect",
     .type = GP_TYPE_STRING,
     .help = "text that must appear in the first 64 KiB the peer sends; "
             "same escapes as send"},
    {.key = NULL},
};

static const gp_metric tcp_metrics[] = {
    {.name = "connect_time",
     .unit = GP_UNIT_MS,
     .help = "time to establish the TCP connection"},
    {.name = "response_time",
     .unit = GP_UNIT_MS,
     .help = "time from connected (send included) to the expected text, "
             "when expect is set"},
    {.name = NULL},
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* poll() takes an int; the deadline is the core's, so re-read it each time
 * rather than keeping our own clock. */
static int poll_budget(gp_ctx *ctx, const gp_api *api)
{
    int64_t left = api->time_left_ms(ctx);

    if (left <= 0)
        return 0;
    return left > 60 * 60 * 1000 ? 60 * 60 * 1000 : (int)left;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Decode C-style escapes so that an ini value like `PING\r\n` means the
 * bytes a protocol wants. Returns the decoded length, or -1 with a reason.
 */
static long decode_escapes(const char *in, char *out, size_t outlen,
                           const char **why)
{
    size_t n = 0;

    for (const char *p = in; *p; p++) {
        char c = *p;

        if (c == '\\') {
            p++;
            switch (*p) {
            case 'r': c = '\r'; break;
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case '\\': c = '\\'; break;
            case 'x': {
                int hi = hex_value(p[1]);
                int lo = hi < 0 ? -1 : hex_value(p[2]);

                if (lo < 0) {
                    *why = "\\x needs two hex digits";
                    return -1;
                }
                c = (char)(hi * 16 + lo);
                p += 2;
                break;
            }
            case '\0': *why = "trailing backslash"; return -1;
            default:
                *why = "unknown escape (use \\r \\n \\t \\\\ \\xHH)";
                return -1;
            }
        }
        if (n >= outlen) {
            *why = "too long";
            return -1;
        }
        out[n++] = c;
    }
    return (long)n;
}

/* Make received bytes safe for a one-line message: printable ASCII as is,
 * everything else as \xHH, cut at TCP_SHOW_BYTES input bytes. */
static void sanitize(const char *buf, size_t len, char *out, size_t outlen)
{
    size_t shown = len < TCP_SHOW_BYTES ? len : TCP_SHOW_BYTES;
    size_t o = 0;

    for (size_t i = 0; i < shown && o + 5 < outlen; i++) {
        unsigned char c = (unsigned char)buf[i];

        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
            out[o++] = (char)c;
        } else {
            snprintf(out + o, outlen - o, "\\x%02x", c);
            o += 4;
        }
    }
    if (shown < len && o + 4 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* "127.0.0.1:80" or "[::1]:80", for messages. */
static void format_addr(const struct addrinfo *ai, const char *port, char *out,
                        size_t outlen)
{
    char host[NI_MAXHOST];

    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), NULL, 0,
                    NI_NUMERICHOST) != 0)
        snprintf(host, sizeof(host), "?");
    if (ai->ai_family == AF_INET6)
        snprintf(out, outlen, "[%s]:%s", host, port);
    else
        snprintf(out, outlen, "%s:%s", host, port);
}

/*
 * One non-blocking connect bounded by the time left. Returns the connected
 * socket, or -1 with errno set (ETIMEDOUT when the time ran out).
 */
static int connect_one(gp_ctx *ctx, const gp_api *api,
                       const struct addrinfo *ai)
{
    int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
               ai->ai_protocol);
    if (fd < 0)
        return -1;

    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }

    /* Bounded: poll() waits at most the time left, and EINTR retries
     * re-read a budget that only shrinks until it reaches 0. */
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int budget = poll_budget(ctx, api);
        int rc = budget > 0 ? poll(&pfd, 1, budget) : 0;
        int err = 0;
        socklen_t errlen = sizeof(err);

        if (rc < 0 && errno == EINTR)
            continue;
        if (rc == 0) {
            close(fd);
            errno = ETIMEDOUT;
            return -1;
        }
        if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
            err = errno;
        if (err != 0) {
            close(fd);
            errno = err;
            return -1;
        }
        return fd;
    }
}

/* Send all of buf within the time left. Returns 0, or -1 with errno. */
static int send_all(gp_ctx *ctx, const gp_api *api, int fd, const char *buf,
                    size_t len)
{
    size_t off = 0;

    while (off < len) {
        /* MSG_NOSIGNAL: a peer that already closed must give us EPIPE,
         * not kill the attempt with SIGPIPE. */
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);

        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            int budget = poll_budget(ctx, api);

            int rc = budget > 0 ? poll(&pfd, 1, budget) : 0;

            if (rc == 0) {
                errno = ETIMEDOUT;
                return -1;
            }
            if (rc < 0 && errno != EINTR)
                return -1;
            continue;
        }
        return -1;
    }
    return 0;
}

static gp_outcome check(gp_ctx *ctx, const gp_api *api)
{
    const char *host = api->opt_string(ctx, "host");
    int64_t port_num = api->opt_integer(ctx, "port");
    const char *send_opt = api->opt_string(ctx, "send");
    const char *expect_opt = api->opt_string(ctx, "expect");
    char port[8];
    char send_buf[TCP_MAX_TEXT], expect_buf[TCP_MAX_TEXT];
    long send_len = 0, expect_len = 0;
    const char *why = NULL;

    if (!host || !*host) {
        api->message(ctx, "option host is empty");
        return GP_FATAL;
    }
    /* The core has validated the schema, but the escapes are ours to
     * check; a value that cannot be decoded will not decode next time. */
    if (send_opt && *send_opt) {
        send_len = decode_escapes(send_opt, send_buf, sizeof(send_buf), &why);
        if (send_len < 0) {
            api->message(ctx, "option send: %s", why);
            return GP_FATAL;
        }
    }
    if (expect_opt && *expect_opt) {
        expect_len =
            decode_escapes(expect_opt, expect_buf, sizeof(expect_buf), &why);
        if (expect_len < 0) {
            api->message(ctx, "option expect: %s", why);
            return GP_FATAL;
        }
    }
    snprintf(port, sizeof(port), "%d", (int)port_num);

    /*
     * getaddrinfo() cannot be bounded by our deadline and may block on a
     * slow DNS server; that is acceptable because the core kills the whole
     * attempt at its timeout anyway. No AI_ADDRCONFIG: it would hide ::1
     * and 127.0.0.1 on a host whose only interface is loopback.
     */
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_protocol = IPPROTO_TCP,
        .ai_flags = AI_NUMERICSERV,
    };
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);

    if (gai != 0) {
        const char *text =
            gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai);

        api->message(ctx, "cannot resolve %s: %s", host, text);
        switch (gai) {
        case EAI_NONAME:
#ifdef EAI_NODATA
        case EAI_NODATA:
#endif
            return GP_FATAL; /* the name does not exist: asking again won't
                                help */
        case EAI_AGAIN:
        case EAI_FAIL:
        case EAI_SYSTEM:
        case EAI_MEMORY:
            return GP_TRANSIENT;    /* the resolver, not the name, failed */
        default: return GP_UNKNOWN; /* our hints are wrong: a plugin bug */
        }
    }

    /* Try each address in turn; each gets whatever time is left, so a
     * blackholed first address can use up the attempt. The message names
     * the last failure, the log has all of them. */
    char addr[NI_MAXHOST + 16] = "";
    int fd = -1;
    int last_err = 0;
    double start = now_ms(), t_connect = 0;

    for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        /* Out of time: the message keeps naming the address tried last. */
        if (api->time_left_ms(ctx) <= 0 && addr[0]) {
            last_err = ETIMEDOUT;
            break;
        }
        format_addr(ai, port, addr, sizeof(addr));
        double t0 = now_ms();
        fd = connect_one(ctx, api, ai);
        if (fd >= 0) {
            t_connect = now_ms() - t0;
            break;
        }
        last_err = errno;
        api->log(ctx, GP_LOG_DEBUG, "connect to %s: %s", addr,
                 strerror(last_err));
    }
    freeaddrinfo(res);

    if (fd < 0) {
        if (last_err == ECONNREFUSED)
            api->message(ctx, "connection refused by %s", addr);
        else if (last_err == ETIMEDOUT)
            api->message(ctx, "connect to %s timed out after %.0f ms", addr,
                         now_ms() - start);
        else
            api->message(ctx, "connect to %s failed: %s", addr,
                         strerror(last_err));
        return GP_TRANSIENT;
    }
    api->metric(ctx, "connect_time", t_connect);

    /* response_time runs from here: it covers the request and the reply. */
    double t_sent = now_ms();

    if (send_len > 0 && send_all(ctx, api, fd, send_buf, (size_t)send_len)) {
        int err = errno;

        close(fd);
        if (err == ETIMEDOUT)
            api->message(ctx, "send to %s timed out", addr);
        else
            api->message(ctx, "send to %s failed: %s", addr, strerror(err));
        return GP_TRANSIENT;
    }

    if (expect_len == 0) {
        close(fd);
        api->message(ctx, "connected to %s in %.1f ms", addr, t_connect);
        return GP_READY;
    }

    /* Read until the text shows up. Bounded by TCP_MAX_READ bytes and by
     * the deadline; a peer that closes or resets ends it too. Heap, not
     * stack: 64 KiB is too much to put on a stack we don't own. */
    char *buf = malloc(TCP_MAX_READ);
    size_t got = 0;
    const char *problem = NULL;
    int found = 0;

    if (!buf) {
        close(fd);
        api->message(ctx, "out of memory");
        return GP_UNKNOWN;
    }
    while (!found && !problem) {
        ssize_t n = recv(fd, buf + got, TCP_MAX_READ - got, 0);

        if (n > 0) {
            got += (size_t)n;
            found = memmem(buf, got, expect_buf, (size_t)expect_len) != NULL;
            if (!found && got == TCP_MAX_READ)
                problem = "expected text not in the first 64 KiB";
        } else if (n == 0) {
            problem = "peer closed before sending the expected text";
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            int budget = poll_budget(ctx, api);

            int rc = budget > 0 ? poll(&pfd, 1, budget) : 0;

            if (rc == 0)
                problem = "timed out waiting for the expected text";
            else if (rc < 0 && errno != EINTR)
                problem = strerror(errno);
        } else if (errno != EINTR) {
            problem = strerror(errno);
        }
    }
    close(fd);

    char shown[TCP_SHOW_BYTES * 4 + 8];
    sanitize(buf, got, shown, sizeof(shown));
    free(buf);

    if (!found && got == 0) {
        api->message(ctx, "%s: %s (nothing received)", addr, problem);
        return GP_TRANSIENT;
    }
    if (!found) {
        api->message(ctx, "%s: %s (received %zu bytes: \"%s\")", addr, problem,
                     got, shown);
        return GP_TRANSIENT;
    }
    double t_response = now_ms() - t_sent;
    api->metric(ctx, "response_time", t_response);
    api->message(ctx, "connected to %s in %.1f ms, expected text after %.1f ms",
                 addr, t_connect, t_response);
    return GP_READY;
}

static const gp_plugin tcp_plugin = {
    GP_PLUGIN_HEADER,
    .name = "tcp",
    .version = "0.1.0",
    .summary = "TCP connect, optionally send a request and expect a reply",
    .options = tcp_options,
    .metrics = tcp_metrics,
    .check = check,
};

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    return &tcp_plugin;
}
