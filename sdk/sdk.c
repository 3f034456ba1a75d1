/*
 * sdk/sdk.c - the probe author's helpers declared in gpcheck/sdk.h:
 * deadline-bounded sockets, the time left in the forms libraries want,
 * secret files and masking. Built as the static, position-independent
 * libgpcheck-sdk.a that plugins link in (hidden: nothing here is exported
 * from a plugin).
 */
#include "gpcheck/sdk.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int gp_sdk_poll_ms(gp_ctx *ctx, const gp_api *api)
{
    int64_t left = api->time_left_ms(ctx);
    if (left <= 0)
        return 0;
    return left > 3600 * 1000 ? 3600 * 1000 : (int)left;
}

struct timeval gp_sdk_timeval(gp_ctx *ctx, const gp_api *api)
{
    int64_t left = api->time_left_ms(ctx);
    if (left < 1)
        left = 1;
    struct timeval tv = {.tv_sec = (time_t)(left / 1000),
                         .tv_usec = (suseconds_t)(left % 1000) * 1000};
    return tv;
}

long gp_sdk_seconds(gp_ctx *ctx, const gp_api *api)
{
    int64_t left = api->time_left_ms(ctx);
    long s = (long)((left + 999) / 1000);
    return s < 1 ? 1 : s;
}

double gp_sdk_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int gp_sdk_wait(gp_ctx *ctx, const gp_api *api, int fd, short events)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int budget = gp_sdk_poll_ms(ctx, api);
        int rc = budget > 0 ? poll(&p, 1, budget) : 0;
        if (rc < 0 && errno == EINTR)
            continue; /* the budget is re-read: it only shrinks */
        return rc < 0 ? -1 : rc > 0;
    }
}

/* "127.0.0.1:80" or "[::1]:80". */
static void format_addr(const struct addrinfo *ai, unsigned port, char *out,
                        size_t outlen)
{
    char host[NI_MAXHOST];
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, NULL, 0,
                    NI_NUMERICHOST) != 0)
        snprintf(host, sizeof host, "?");
    snprintf(out, outlen, ai->ai_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host,
             port);
}

/* One non-blocking connect bounded by the time left; fd or -1 (errno). */
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
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    int rc = gp_sdk_wait(ctx, api, fd, POLLOUT);
    int err = 0;
    socklen_t len = sizeof err;
    if (rc == 0)
        err = ETIMEDOUT;
    else if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

int gp_sdk_tcp_connect(gp_ctx *ctx, const gp_api *api, const char *host,
                       unsigned port, gp_sdk_connect_error *why, char *addr,
                       size_t addrlen, char *err, size_t errlen)
{
    char service[16], last[NI_MAXHOST + 16] = "";
    snprintf(service, sizeof service, "%u", port);
    /* No AI_ADDRCONFIG: it would hide 127.0.0.1 and ::1 on a host whose
     * only interface is loopback. */
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_protocol = IPPROTO_TCP,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, service, &hints, &res);
    if (gai != 0) {
        int nohost = gai == EAI_NONAME
#ifdef EAI_NODATA
                     || gai == EAI_NODATA
#endif
            ;
        *why = nohost ? GP_SDK_NO_SUCH_HOST : GP_SDK_RESOLVER;
        snprintf(err, errlen, "cannot resolve %s: %s", host,
                 gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
        errno = nohost ? ENOENT : EAGAIN;
        return -1;
    }
    int fd = -1, last_err = 0;
    for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        if (api->time_left_ms(ctx) <= 0 && last[0]) {
            last_err = ETIMEDOUT;
            break;
        }
        format_addr(ai, port, last, sizeof last);
        fd = connect_one(ctx, api, ai);
        if (fd < 0) {
            last_err = errno;
            api->log(ctx, GP_LOG_DEBUG, "connect to %s: %s", last,
                     strerror(last_err));
        }
    }
    freeaddrinfo(res);
    if (addr)
        snprintf(addr, addrlen, "%s", last);
    if (fd >= 0) {
        *why = GP_SDK_OK;
        return fd;
    }
    if (last_err == ECONNREFUSED) {
        *why = GP_SDK_REFUSED;
        snprintf(err, errlen, "connection refused by %s", last);
    } else if (last_err == ETIMEDOUT) {
        *why = GP_SDK_TIMEOUT;
        snprintf(err, errlen, "connect to %s timed out", last);
    } else {
        *why = GP_SDK_OTHER;
        snprintf(err, errlen, "connect to %s failed: %s", last,
                 strerror(last_err));
    }
    errno = last_err;
    return -1;
}

int gp_sdk_send_all(gp_ctx *ctx, const gp_api *api, int fd, const void *buf,
                    size_t len)
{
    const char *p = buf;
    while (len > 0) {
        /* MSG_NOSIGNAL: a peer that closed gives EPIPE, not SIGPIPE. */
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = gp_sdk_wait(ctx, api, fd, POLLOUT);
            if (rc <= 0) {
                if (rc == 0)
                    errno = ETIMEDOUT;
                return -1;
            }
        } else if (n < 0 && errno != EINTR) {
            return -1;
        }
    }
    return 0;
}

ssize_t gp_sdk_recv(gp_ctx *ctx, const gp_api *api, int fd, void *buf,
                    size_t len)
{
    for (;;) {
        ssize_t n = recv(fd, buf, len, 0);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        int rc = gp_sdk_wait(ctx, api, fd, POLLIN);
        if (rc <= 0) {
            if (rc == 0)
                errno = ETIMEDOUT;
            return -1;
        }
    }
}

ssize_t gp_sdk_read_secret(const char *path, char *buf, size_t buflen,
                           char *err, size_t errlen)
{
    /* O_NONBLOCK: a FIFO must not hang gpcheck while it reads its config. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    const char *why = NULL;
    if (fstat(fd, &st) < 0)
        why = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        why = "not a regular file";
    else if (st.st_mode & (S_IRWXG | S_IRWXO))
        why = "readable or writable by group or others (chmod 600 it)";
    else if ((size_t)st.st_size >= buflen)
        why = "too long";
    ssize_t n = -1;
    if (!why) {
        n = read(fd, buf, buflen - 1);
        if (n < 0)
            why = strerror(errno);
    }
    close(fd);
    if (why) {
        snprintf(err, errlen, "%s: refusing to use it: %s", path, why);
        errno = EPERM;
        return -1;
    }
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return n;
}

/* Longest secret gp_sdk_secret() accepts, whatever `max` says: more is a
 * mistake (the wrong file), not a password. */
#define SDK_MAX_SECRET (1024 * 1024)

int gp_sdk_secret(gp_ctx *ctx, const gp_api *api, const char *key,
                  const char *file_key, size_t max, char **secret, char *err,
                  size_t errlen)
{
    const char *value = key ? api->opt_string(ctx, key) : NULL;
    const char *path = file_key ? api->opt_string(ctx, file_key) : NULL;
    char why[512];
    int e = EINVAL;

    *secret = NULL;
    if (errlen)
        err[0] = '\0';
    if (value && *value && path && *path) {
        snprintf(err, errlen, "set %s or %s, not both", key, file_key);
        errno = EINVAL;
        return -1;
    }
    if (!(path && *path)) {
        if (!(value && *value))
            return 0;
        if (!(*secret = strdup(value))) {
            snprintf(err, errlen, "out of memory");
            errno = ENOMEM;
            return -1;
        }
        return 1;
    }
    if (max > SDK_MAX_SECRET)
        max = SDK_MAX_SECRET;
    /* Room for the longest secret, a "\r\n" and the terminator. */
    char *buf = malloc(max + 3);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        errno = ENOMEM;
        return -1;
    }
    ssize_t n = gp_sdk_read_secret(path, buf, max + 3, why, sizeof why);
    if (n < 0) {
        e = errno;
        snprintf(err, errlen, "%s %s", file_key, why);
    } else if ((size_t)n > max) {
        snprintf(err, errlen, "%s %s: longer than %zu bytes", file_key, path,
                 max);
    } else if (n == 0) {
        snprintf(err, errlen, "%s %s is empty", file_key, path);
    } else if (memchr(buf, '\0', (size_t)n)) {
        snprintf(err, errlen, "%s %s holds a NUL byte", file_key, path);
    } else {
        *secret = buf;
        return 1;
    }
    explicit_bzero(buf, max + 3);
    free(buf);
    errno = e;
    return -1;
}

void gp_sdk_free_secret(char *secret)
{
    if (secret) {
        explicit_bzero(secret, strlen(secret));
        free(secret);
    }
}

char *gp_sdk_mask_url(const char *url, char *out, size_t outlen)
{
    const char *scheme = strstr(url, "://");
    const char *start = scheme ? scheme + 3 : url;
    const char *end = start + strcspn(start, "/?#"), *at = NULL;
    /* The last '@' of the authority ends the user info: with the first,
     * "user:p@ss@host" would show "ss". */
    for (const char *q = start; q < end; q++)
        if (*q == '@')
            at = q;
    const char *colon = at ? memchr(start, ':', (size_t)(at - start)) : NULL;
    if (!colon) {
        snprintf(out, outlen, "%s", url);
        return out;
    }
    snprintf(out, outlen, "%.*s:***%s", (int)(colon - url), url, at);
    return out;
}

char *gp_sdk_mask_secrets(const char *in, const char *const *secrets, size_t n,
                          char *out, size_t outlen)
{
    size_t o = 0;

    if (!outlen)
        return out;
    while (*in) {
        size_t skip = 0;
        /* The longest secret that starts here: a shorter one that starts
         * the same way would leave the longer one's tail. */
        for (size_t i = 0; i < n; i++) {
            size_t sl = secrets[i] ? strlen(secrets[i]) : 0;
            if (sl > skip && strncmp(in, secrets[i], sl) == 0)
                skip = sl;
        }
        /* Stop before what does not fit whole: a cut "***" reads as text. */
        size_t take = skip ? 3 : 1;
        if (o + take >= outlen)
            break;
        memcpy(out + o, skip ? "***" : in, take);
        o += take;
        in += skip ? skip : 1;
    }
    out[o] = '\0';
    return out;
}

static int masked_key(const char *key, size_t n, const char *const *keys)
{
    for (size_t i = 0; keys[i]; i++)
        if (strlen(keys[i]) == n && strncmp(key, keys[i], n) == 0)
            return 1;
    return 0;
}

char *gp_sdk_mask_kv(const char *s, const char *const *keys, char *out,
                     size_t outlen)
{
    size_t o = 0;
#define PUT(c)                                                                 \
    do {                                                                       \
        if (o + 1 < outlen)                                                    \
            out[o++] = (c);                                                    \
    } while (0)
    const char *p = s;
    while (*p) {
        /* copy blanks, then a key up to '=' */
        while (*p == ' ' || *p == '\t')
            PUT(*p++);
        const char *key = p;
        while (*p && *p != '=' && *p != ' ' && *p != '\t')
            PUT(*p++);
        size_t klen = (size_t)(p - key);
        while (*p == ' ')
            PUT(*p++);
        if (*p != '=')
            continue;
        PUT(*p++);
        while (*p == ' ')
            PUT(*p++);
        int mask = masked_key(key, klen, keys);
        if (mask) {
            PUT('*');
            PUT('*');
            PUT('*');
        }
        if (*p == '\'') {
            /* a quoted value: up to the closing quote, \' escaped */
            if (!mask)
                PUT(*p);
            for (p++; *p && *p != '\''; p++) {
                if (*p == '\\' && p[1]) {
                    if (!mask)
                        PUT(*p);
                    p++;
                }
                if (!mask)
                    PUT(*p);
            }
            if (*p)
                p++;
            if (!mask)
                PUT('\'');
        } else {
            for (; *p && *p != ' ' && *p != '\t'; p++)
                if (!mask)
                    PUT(*p);
        }
    }
#undef PUT
    if (outlen)
        out[o < outlen ? o : outlen - 1] = '\0';
    return out;
}

char *gp_sdk_printable(const void *buf, size_t len, size_t max, char *out,
                       size_t outlen)
{
    const unsigned char *b = buf;
    size_t shown = len < max ? len : max;
    size_t o = 0;
    if (!outlen)
        return out;
    for (size_t i = 0; i < shown && o + 5 < outlen; i++) {
        if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\\' && b[i] != '"') {
            out[o++] = (char)b[i];
        } else {
            snprintf(out + o, outlen - o, "\\x%02x", b[i]);
            o += 4;
        }
    }
    if (shown < len && o + 4 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

const char *gp_sdk_host_problem(const char *host)
{
    unsigned char bin[sizeof(struct in6_addr)];
    size_t len = host ? strlen(host) : 0, label = 0;

    if (len == 0)
        return "empty";
    if (strstr(host, "://"))
        return "a URL, not a host name";
    if (inet_pton(AF_INET, host, bin) == 1 ||
        inet_pton(AF_INET6, host, bin) == 1)
        return NULL;
    if (host[0] == '[')
        return "an IPv6 address is written without brackets here";
    if (strchr(host, ':'))
        return strchr(strchr(host, ':') + 1, ':')
                   ? "not an IPv6 address"
                   : "no ':PORT' here: the port is an option of its own";
    if (host[len - 1] == '.')
        len--;
    if (len == 0 || len > 253)
        return "not a host name (1-253 bytes)";
    for (size_t i = 0; i <= len; i++) {
        if (i == len || host[i] == '.') {
            if (label == 0 || label > 63)
                return "not a host name (a label is 1-63 bytes)";
            label = 0;
        } else if (isalnum((unsigned char)host[i]) || host[i] == '-' ||
                   host[i] == '_') {
            label++;
        } else {
            return "not a host name (letters, digits, '-', '_' and dots)";
        }
    }
    return NULL;
}
