/*
 * sdk/sdk.c - the probe author's helpers declared in gpcheck/sdk.h:
 * deadline-bounded name resolution (a killable helper process),
 * sockets and helper processes, the time left in the forms libraries want,
 * secret files, the configuration language's escapes, a bounded text
 * builder. Built, with mask.c (the masker), as the static,
 * position-independent libgpcheck-sdk.a that plugins link in (hidden:
 * nothing here is exported from a plugin).
 */
#include "gpcheck/sdk.h"
#include "sdk_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

/* ---- helper processes and names ----------------------------------------- */

static int64_t ms_since(double t0)
{
    return (int64_t)(gp_sdk_now_ms() - t0);
}

int gp_sdk_run_bounded(void (*fn)(int fd, void *arg), void *arg,
                       int64_t timeout_ms, char *out, size_t cap, size_t *got)
{
    int fds[2], rc = 0;
    size_t n = 0;
    double t0 = gp_sdk_now_ms();

    *got = 0;
    if (cap)
        out[0] = '\0';
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        /* A probe killed at its hard deadline takes its helpers along. */
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
        close(fds[0]);
        fn(fds[1], arg);
        _exit(0);
    }
    close(fds[1]);
    for (;;) {
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        int64_t left = timeout_ms - ms_since(t0);
        int pr =
            left > 0 ? poll(&p, 1, left > 3600000 ? 3600000 : (int)left) : 0;
        char chunk[512];

        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0) {
            rc = pr == 0 ? 1 : -1;
            break;
        }
        ssize_t r = read(fds[0], chunk, sizeof chunk);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0) {
            rc = r == 0 ? 0 : -1;
            break;
        }
        if (n + 1 < cap) {
            size_t take = (size_t)r < cap - 1 - n ? (size_t)r : cap - 1 - n;
            memcpy(out + n, chunk, take);
            n += take;
        }
    }
    int e = errno;
    close(fds[0]);
    /* Not reaped yet, so the pid cannot name anyone else. */
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    if (cap)
        out[n] = '\0';
    *got = n;
    errno = e;
    return rc;
}

/* What the resolver child writes: its getaddrinfo() result, then up to
 * GP_SDK_MAX_ADDRS addresses. One write() of less than PIPE_BUF bytes, so
 * the parent reads all of it or nothing. */
typedef struct resolve_answer {
    int gai, err, n; /* getaddrinfo()'s code, errno for EAI_SYSTEM, addrs */
    struct {
        socklen_t len;
        struct sockaddr_storage sa;
    } addr[GP_SDK_MAX_ADDRS];
} resolve_answer;
_Static_assert(sizeof(resolve_answer) < PIPE_BUF,
               "the resolver's answer must fit one atomic pipe write");

static void resolve_child(int fd, void *arg)
{
    /* No AI_ADDRCONFIG: it would hide 127.0.0.1 and ::1 on a host whose
     * only interface is loopback. */
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_protocol = IPPROTO_TCP};
    struct addrinfo *res = NULL;
    resolve_answer a = {0};

    a.gai = getaddrinfo(arg, NULL, &hints, &res);
    a.err = a.gai == EAI_SYSTEM ? errno : 0;
    for (const struct addrinfo *ai = res; ai && a.n < GP_SDK_MAX_ADDRS;
         ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof a.addr[0].sa)
            continue;
        a.addr[a.n].len = ai->ai_addrlen;
        memcpy(&a.addr[a.n].sa, ai->ai_addr, ai->ai_addrlen);
        a.n++;
    }
    if (res)
        freeaddrinfo(res);
    /* One write, shorter than PIPE_BUF: whole or not at all. If it fails
     * the parent has stopped listening and there is no one to tell. */
    (void)!write(fd, &a, sizeof a);
}

/* Fill one gp_sdk_addr from a socket address; 0 or -1 (not IP). */
static int set_addr(gp_sdk_addr *out, const struct sockaddr *sa, socklen_t len,
                    unsigned port)
{
    if ((sa->sa_family != AF_INET && sa->sa_family != AF_INET6) ||
        len > sizeof out->sa)
        return -1;
    memset(out, 0, sizeof *out);
    memcpy(&out->sa, sa, len);
    out->len = len;
    out->family = sa->sa_family;
    if (out->family == AF_INET)
        ((struct sockaddr_in *)&out->sa)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)&out->sa)->sin6_port = htons((uint16_t)port);
    if (getnameinfo((struct sockaddr *)&out->sa, len, out->text,
                    sizeof out->text, NULL, 0, NI_NUMERICHOST) != 0)
        snprintf(out->text, sizeof out->text, "?");
    return 0;
}

/* A literal address, converted without a resolver: 1, or 0 for a name. */
static int resolve_literal(const char *host, unsigned port, gp_sdk_addr *out)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST};
    struct addrinfo *res = NULL;

    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return 0;
    int ok = set_addr(out, res->ai_addr, res->ai_addrlen, port) == 0;
    freeaddrinfo(res);
    return ok;
}

int gp_sdk_resolve(gp_ctx *ctx, const gp_api *api, const char *host,
                   unsigned port, int64_t max_ms, gp_sdk_addr *addrs,
                   size_t max, gp_sdk_connect_error *why, char *err,
                   size_t errlen)
{
    int64_t left = api->time_left_ms(ctx);
    resolve_answer a;
    size_t got = 0;
    double t0 = gp_sdk_now_ms();

    if (max == 0) {
        *why = GP_SDK_OTHER;
        snprintf(err, errlen, "no room for an address");
        errno = EINVAL;
        return -1;
    }
    if (resolve_literal(host, port, &addrs[0]))
        return 1;
    if (max_ms > 0 && max_ms < left)
        left = max_ms;
    if (left <= 0) {
        /* No helper for no time: the answer could not be used. */
        *why = GP_SDK_RESOLVE_TIMEOUT;
        snprintf(err, errlen, "resolving %s timed out after 0.0s", host);
        errno = ETIMEDOUT;
        return -1;
    }
    /* +1: room for the terminator gp_sdk_run_bounded() adds. */
    char *buf = malloc(sizeof a + 1);
    if (!buf) {
        *why = GP_SDK_RESOLVER;
        snprintf(err, errlen, "cannot resolve %s: out of memory", host);
        errno = ENOMEM;
        return -1;
    }
    int rc = gp_sdk_run_bounded(resolve_child, (void *)host, left, buf,
                                sizeof a + 1, &got);
    int e = errno;
    if (got == sizeof a)
        memcpy(&a, buf, sizeof a);
    free(buf);
    if (rc < 0) {
        *why = GP_SDK_RESOLVER;
        snprintf(err, errlen,
                 "cannot resolve %s: cannot start the resolver: %s", host,
                 strerror(e));
        errno = EAGAIN;
        return -1;
    }
    if (rc > 0 || got != sizeof a) {
        /* Cut off, or (got short) the child died: both are the time or the
         * resolver running out; the probe may ask again. */
        *why = rc > 0 ? GP_SDK_RESOLVE_TIMEOUT : GP_SDK_RESOLVER;
        if (rc > 0)
            snprintf(err, errlen, "resolving %s timed out after %.1fs", host,
                     (gp_sdk_now_ms() - t0) / 1000.0);
        else
            snprintf(err, errlen, "cannot resolve %s: the resolver died", host);
        errno = rc > 0 ? ETIMEDOUT : EAGAIN;
        return -1;
    }
    if (a.gai != 0) {
        int nohost = a.gai == EAI_NONAME
#ifdef EAI_NODATA
                     || a.gai == EAI_NODATA
#endif
            ;
        *why = nohost ? GP_SDK_NO_SUCH_HOST : GP_SDK_RESOLVER;
        snprintf(err, errlen, "cannot resolve %s: %s", host,
                 a.gai == EAI_SYSTEM ? strerror(a.err) : gai_strerror(a.gai));
        errno = nohost ? ENOENT : EAGAIN;
        return -1;
    }
    size_t n = 0;
    for (int i = 0; i < a.n && i < GP_SDK_MAX_ADDRS && n < max; i++)
        if (set_addr(&addrs[n], (struct sockaddr *)&a.addr[i].sa, a.addr[i].len,
                     port) == 0)
            n++;
    api->log(ctx, GP_LOG_DEBUG, "resolved %s to %zu address%s in %.1f ms", host,
             n, n == 1 ? "" : "es", gp_sdk_now_ms() - t0);
    if (n == 0) {
        *why = GP_SDK_NO_SUCH_HOST;
        snprintf(err, errlen, "cannot resolve %s: no IPv4 or IPv6 address",
                 host);
        errno = ENOENT;
        return -1;
    }
    return (int)n;
}

/* ---- sockets ------------------------------------------------------------- */

/* "127.0.0.1:80" or "[::1]:80". */
static void format_addr(const gp_sdk_addr *a, unsigned port, char *out,
                        size_t outlen)
{
    snprintf(out, outlen, a->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a->text,
             port);
}

/* In the warmup, a connect not done after this long is joined by a fresh
 * one (a new SYN), up to CONNECT_FRESH_MAX in flight (the oldest closed
 * for the next). A listener whose accept queue is full drops a SYN, and
 * the kernel sends it again only after 1 s, then 3 s: a service that has
 * started accepting meanwhile answers a fresh SYN at once, while the
 * connect in flight still waits for its resend. 50 ms: 20 SYNs a second
 * at most, against a service that is not accepting anyway. */
#define CONNECT_FRESH_MS 50
#define CONNECT_FRESH_MAX 8

static int open_connect(const gp_sdk_addr *a, int *done)
{
    int fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    IPPROTO_TCP);
    if (fd < 0)
        return -1;
    *done = connect(fd, (const struct sockaddr *)&a->sa, a->len) == 0;
    if (*done || errno == EINPROGRESS)
        return fd;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

static void close_all(const struct pollfd *p, int n)
{
    for (int i = 0; i < n; i++)
        if (p[i].fd >= 0)
            close(p[i].fd);
}

/* One connect to a, bounded by the time left (with fresh ones beside it in
 * the warmup, see CONNECT_FRESH_MS): the connected fd, or -1 with errno.
 * A refusal (or any error) of one of them ends it: a SYN that reached the
 * service was answered no, and the others would hear the same. */
static int connect_one(gp_ctx *ctx, const gp_api *api, const gp_sdk_addr *a)
{
    struct pollfd p[CONNECT_FRESH_MAX];
    int n = 0, done = 0, err = 0, fd;
    const int fresh = api->in_warmup(ctx);

    if ((fd = open_connect(a, &done)) < 0 || done)
        return fd;
    p[n++] = (struct pollfd){.fd = fd, .events = POLLOUT};
    double next = gp_sdk_now_ms() + CONNECT_FRESH_MS;
    for (;;) {
        int budget = gp_sdk_poll_ms(ctx, api);
        if (budget <= 0) {
            err = ETIMEDOUT;
            break;
        }
        if (fresh) {
            double until = next - gp_sdk_now_ms();
            if (until < budget)
                budget = until < 1 ? 1 : (int)until;
        }
        int rc = poll(p, (nfds_t)n, budget);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0) {
            err = errno;
            break;
        }
        for (int i = 0; i < n && rc > 0 && !err; i++) {
            if (!p[i].revents)
                continue;
            socklen_t len = sizeof err;
            if (getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                err = errno;
            if (!err) {
                fd = p[i].fd; /* connected: the others are closed */
                p[i].fd = -1;
                close_all(p, n);
                return fd;
            }
        }
        if (err)
            break;
        if (fresh && gp_sdk_now_ms() >= next) {
            next = gp_sdk_now_ms() + CONNECT_FRESH_MS;
            if (n == CONNECT_FRESH_MAX) { /* the oldest makes room */
                close(p[0].fd);
                memmove(p, p + 1, sizeof *p * (size_t)(n - 1));
                n--;
            }
            if ((fd = open_connect(a, &done)) >= 0 && done) {
                close_all(p, n);
                return fd;
            }
            if (fd >= 0)
                p[n++] = (struct pollfd){.fd = fd, .events = POLLOUT};
        }
    }
    close_all(p, n);
    errno = err;
    return -1;
}

int gp_sdk_tcp_connect(gp_ctx *ctx, const gp_api *api, const char *host,
                       unsigned port, gp_sdk_connect_error *why, char *addr,
                       size_t addrlen, char *err, size_t errlen)
{
    gp_sdk_addr addrs[GP_SDK_MAX_ADDRS];
    char last[sizeof addrs[0].text + 16] = "";
    int n = gp_sdk_resolve(ctx, api, host, port, 0, addrs, GP_SDK_MAX_ADDRS,
                           why, err, errlen);

    if (addr && addrlen)
        addr[0] = '\0';
    if (n < 0)
        return -1;
    int fd = -1, last_err = 0;
    for (int i = 0; i < n && fd < 0; i++) {
        if (api->time_left_ms(ctx) <= 0 && last[0]) {
            last_err = ETIMEDOUT;
            break;
        }
        format_addr(&addrs[i], port, last, sizeof last);
        fd = connect_one(ctx, api, &addrs[i]);
        if (fd < 0) {
            last_err = errno;
            api->log(ctx, GP_LOG_DEBUG, "connect to %s: %s", last,
                     strerror(last_err));
        }
    }
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
    char owner[96];
    if (fstat(fd, &st) < 0) {
        why = strerror(errno);
    } else if (!S_ISREG(st.st_mode)) {
        why = "not a regular file";
    } else if (st.st_uid != geteuid() && st.st_uid != 0) {
        /* Another user's file, even mode 0600, is theirs to swap. */
        snprintf(owner, sizeof owner,
                 "owned by uid %u, not by the running user (uid %u) or root",
                 (unsigned)st.st_uid, (unsigned)geteuid());
        why = owner;
    } else if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        why = "readable or writable by group or others (chmod 600 it)";
    } else if ((size_t)st.st_size >= buflen) {
        why = "too long";
    }
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

/* ---- configuration text ------------------------------------------------- */

long gp_sdk_unescape(const char *in, char *out, size_t outlen, const char **why)
{
    size_t n = 0;

    for (const char *p = in; *p; p++) {
        char c = *p;

        if (c == '\\') {
            switch (p[1]) {
            case 'r':
                c = '\r';
                p++;
                break;
            case 'n':
                c = '\n';
                p++;
                break;
            case 't':
                c = '\t';
                p++;
                break;
            case '\\': p++; break;
            case 'x': {
                int hi = sdk_hexval(p[2]);
                int lo = hi < 0 ? -1 : sdk_hexval(p[3]);

                if (lo < 0) {
                    *why = "\\x needs two hex digits";
                    return -1;
                }
                c = (char)(hi * 16 + lo);
                p += 3;
                break;
            }
            default: break; /* kept as it is */
            }
        }
        if (n + 1 >= outlen) {
            *why = "too long";
            return -1;
        }
        out[n++] = c;
    }
    if (outlen)
        out[n] = '\0';
    return (long)n;
}

void gp_sdk_buf_init(gp_sdk_buf *b, char *out, size_t cap)
{
    b->s = out;
    b->cap = cap;
    b->len = 0;
    if (cap)
        out[0] = '\0';
}

void gp_sdk_buf_resume(gp_sdk_buf *b, char *out, size_t cap)
{
    b->s = out;
    b->cap = cap;
    b->len = cap ? strnlen(out, cap - 1) : 0;
    if (cap)
        out[b->len] = '\0';
}

void gp_sdk_buf_addn(gp_sdk_buf *b, const char *s, size_t n)
{
    if (b->len + 1 >= b->cap)
        return;
    if (n > b->cap - b->len - 1)
        n = b->cap - b->len - 1;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void gp_sdk_buf_add(gp_sdk_buf *b, const char *s)
{
    gp_sdk_buf_addn(b, s, strlen(s));
}

const char *gp_sdk_port_problem(const char *s, unsigned *port)
{
    unsigned v = 0;

    if (!*s || strlen(s) > 5)
        return "bad port";
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return "bad port";
        v = v * 10 + (unsigned)(*s - '0');
    }
    if (v < 1 || v > 65535)
        return "port out of range (1-65535)";
    if (port)
        *port = v;
    return NULL;
}
