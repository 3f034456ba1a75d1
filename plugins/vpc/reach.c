/*
 * plugins/vpc/reach.c - the vpc probe's reachability half: every `targets`
 * host:port connected `samples` times, all at once (one poll() loop over
 * non-blocking sockets, bounded by the time left and connect_timeout),
 * names resolved first with gp_sdk_resolve(), each within its share of the
 * time left; then the share that connected against min_reachable.
 */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vpc.h"

typedef struct sample {
    vpc_target *t; /* borrowed: the sample's target */
    int ai;        /* index of the address being tried in t->addrs */
    int fd;
    int done, connected;
    double start, t_connect;
    double give_up; /* connect_timeout, on the monotonic clock */
} sample;

/*
 * "host:port", "[v6addr]:port". A bare IPv6 address is refused rather
 * than guessed at: "::1:80" could be either. Returns NULL or a reason.
 */
const char *vpc_parse_target(const char *spec, vpc_target *t)
{
    const char *colon, *host = spec;
    size_t hlen;

    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');

        if (!close || close[1] != ':')
            return "IPv6 addresses are written [addr]:port";
        host = spec + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(spec, ':');
        if (!colon)
            return "no :port";
        if (memchr(spec, ':', (size_t)(colon - spec)))
            return "IPv6 addresses are written [addr]:port";
        hlen = (size_t)(colon - spec);
    }
    if (hlen == 0 || hlen >= sizeof t->host)
        return "bad host";
    unsigned port;
    const char *why = gp_sdk_port_problem(colon + 1, &port);

    if (why)
        return why;
    memcpy(t->host, host, hlen);
    t->host[hlen] = '\0';
    snprintf(t->port, sizeof t->port, "%u", port);
    t->spec = spec;
    return NULL;
}

/*
 * gp_sdk_resolve(): numeric addresses as they are, names in a helper
 * process killed after `max_ms`. A name that does not exist is fatal
 * (asking again gives the same answer); a resolver in trouble or out of
 * time fails that target's samples, with the reason.
 */
static int resolve(vpc_target *t, gp_ctx *ctx, const gp_api *api,
                   int64_t max_ms, vpc_part *res)
{
    gp_sdk_connect_error why;
    char err[sizeof t->resolve_error];
    int n = gp_sdk_resolve(ctx, api, t->host,
                           (unsigned)strtoul(t->port, NULL, 10), max_ms,
                           t->addrs, GP_SDK_MAX_ADDRS, &why, err, sizeof err);

    if (n > 0) {
        t->naddrs = n;
        return 0;
    }
    if (why == GP_SDK_NO_SUCH_HOST) {
        vpc_part_set(res, GP_FATAL, "target %s: %s", t->spec, err);
        return -1;
    }
    snprintf(t->resolve_error, sizeof t->resolve_error, "%s", err);
    api->log(ctx, GP_LOG_INFO, "target %s: %s", t->spec, err);
    return 0;
}

static void sample_close(sample *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

static void sample_fail(sample *s, int err)
{
    sample_close(s);
    s->done = 1;
    if (err == ECONNREFUSED) {
        s->t->refused++;
    } else if (err == ETIMEDOUT) {
        s->t->timed_out++;
    } else {
        s->t->other++;
        s->t->other_errno = err;
    }
}

static void sample_ok(sample *s)
{
    s->t_connect = gp_sdk_now_ms() - s->start;
    s->t->ok++;
    s->done = s->connected = 1;
    sample_close(s);
}

/*
 * Start a non-blocking connect to the sample's current address, moving on
 * to the next address of the name when one fails at once. Leaves the
 * sample either connecting (fd >= 0), connected, or failed.
 */
static void sample_start(sample *s)
{
    int err = 0;

    for (; s->ai < s->t->naddrs; s->ai++) {
        const gp_sdk_addr *a = &s->t->addrs[s->ai];

        s->fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                       IPPROTO_TCP);
        if (s->fd < 0) {
            err = errno;
            continue;
        }
        if (connect(s->fd, (const struct sockaddr *)&a->sa, a->len) == 0) {
            sample_ok(s);
            return;
        }
        if (errno == EINPROGRESS)
            return;
        err = errno;
        sample_close(s);
    }
    sample_fail(s, err ? err : EHOSTUNREACH);
}

/* The socket of a connecting sample became writable (or failed). */
static void sample_finish(sample *s)
{
    int err = 0;
    socklen_t len = sizeof err;

    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err == 0) {
        sample_ok(s);
        return;
    }
    sample_close(s);
    if (s->ai + 1 < s->t->naddrs) {
        s->ai++;
        sample_start(s);
        return;
    }
    sample_fail(s, err);
}

/* One poll() loop over every connecting sample, until all are done, the
 * attempt's time is up, or each one's connect_timeout passes. */
static void connect_all(gp_ctx *ctx, const gp_api *api, sample *s, size_t n,
                        struct pollfd *pfd, size_t *idx)
{
    for (;;) {
        size_t k = 0;
        double now = gp_sdk_now_ms(), next = 0;

        for (size_t i = 0; i < n; i++) {
            if (s[i].done)
                continue;
            if (s[i].give_up > 0 && now >= s[i].give_up) {
                sample_fail(&s[i], ETIMEDOUT);
                continue;
            }
            if (s[i].give_up > 0 && (next == 0 || s[i].give_up < next))
                next = s[i].give_up;
            pfd[k] = (struct pollfd){.fd = s[i].fd, .events = POLLOUT};
            idx[k++] = i;
        }
        if (k == 0)
            return;

        int wait = gp_sdk_poll_ms(ctx, api);
        if (wait <= 0) {
            for (size_t i = 0; i < n; i++)
                if (!s[i].done)
                    sample_fail(&s[i], ETIMEDOUT);
            return;
        }
        if (next > 0 && next - now < wait)
            wait = (int)(next - now) + 1;

        int rc = poll(pfd, (nfds_t)k, wait);
        if (rc < 0 && errno != EINTR) {
            int err = errno;
            for (size_t i = 0; i < n; i++)
                if (!s[i].done)
                    sample_fail(&s[i], err);
            return;
        }
        for (size_t j = 0; rc > 0 && j < k; j++)
            if (pfd[j].revents)
                sample_finish(&s[idx[j]]);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* "10.0.0.5:6379 refused 3/3, 10.0.0.6:5432 timed out 1/3" */
void vpc_describe_failures(const vpc_target *t, size_t n, unsigned samples,
                           char *out, size_t outlen)
{
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n && o + 1 < outlen; i++) {
        const vpc_target *x = &t[i];
        char why[320];

        if (x->ok == samples)
            continue;
        if (x->resolve_error[0])
            snprintf(why, sizeof why, "%s", x->resolve_error);
        else if (x->refused && !x->timed_out && !x->other)
            snprintf(why, sizeof why, "refused %u/%u", x->refused, samples);
        else if (x->timed_out && !x->refused && !x->other)
            snprintf(why, sizeof why, "timed out %u/%u", x->timed_out, samples);
        else
            snprintf(why, sizeof why,
                     "%u/%u failed (refused %u, timed out "
                     "%u, %s %u)",
                     samples - x->ok, samples, x->refused, x->timed_out,
                     x->other ? strerror(x->other_errno) : "other", x->other);
        int w = snprintf(out + o, outlen - o, "%s%s %s", o ? ", " : "", x->spec,
                         why);
        if (w < 0)
            break;
        o += (size_t)w;
    }
    if (o >= outlen && outlen > 4)
        memcpy(out + outlen - 4, "...", 4);
}

/* Metrics and the verdict of the reachability part. times[] holds the ok
 * successful connect times, sorted. */
static void report_reachability(gp_ctx *ctx, const gp_api *api, vpc_part *res,
                                const vpc_target *t, size_t n, unsigned samples,
                                size_t ok, const double *times, double need)
{
    size_t total = n * samples;
    double pct = 100.0 * (double)ok / (double)total;
    char failed[600];

    api->metric(ctx, "reachable", pct);
    api->metric(ctx, "targets", (double)n);
    vpc_describe_failures(t, n, samples, failed, sizeof failed);
    if (ok == 0 && pct + 1e-9 < need) {
        vpc_part_set(res, GP_TRANSIENT,
                     "no target reachable (0/%zu connects): %s", total, failed);
        return;
    }
    /* Nearest-rank median: a value that was really measured. */
    double p50 = ok ? times[(ok + 1) / 2 - 1] : 0, max = ok ? times[ok - 1] : 0;
    if (ok) {
        api->metric(ctx, "connect_time_p50", p50);
        api->metric(ctx, "connect_time_max", max);
    }
    if (pct + 1e-9 < need) {
        vpc_part_set(res, GP_TRANSIENT,
                     "reachable %.4g%% < %.4g%% (%zu/%zu connects): %s", pct,
                     need, ok, total, failed);
        return;
    }
    vpc_part_set(
        res, GP_READY,
        "%zu target%s: %zu/%zu connects (%.4g%%), p50 %.1f ms, max %.1f "
        "ms%s%s",
        n, n == 1 ? "" : "s", ok, total, pct, p50, max,
        failed[0] ? "; failed: " : "", failed);
}

void vpc_reachability(gp_ctx *ctx, const gp_api *api, vpc_part *res)
{
    const char *const *specs;
    size_t n = api->opt_list(ctx, "targets", &specs);
    unsigned samples = (unsigned)api->opt_integer(ctx, "samples");
    double need = api->opt_percentage(ctx, "min_reachable");
    int64_t per_connect = api->opt_duration_ms(ctx, "connect_timeout");
    size_t total = n * samples;
    vpc_target *t = NULL;
    sample *s = NULL;
    struct pollfd *pfd = NULL;
    size_t *idx = NULL;
    double *times = NULL;
    size_t ok = 0;

    /* Each sample is a socket open at the same time. */
    if (total > VPC_MAX_SAMPLES) {
        vpc_part_set(res, GP_FATAL,
                     "%zu targets x %u samples is over %d connects at once", n,
                     samples, VPC_MAX_SAMPLES);
        return;
    }
    t = calloc(n, sizeof(vpc_target));
    s = calloc(total, sizeof(sample));
    pfd = calloc(total, sizeof(struct pollfd));
    idx = calloc(total, sizeof(size_t));
    times = calloc(total, sizeof(double));
    if (!t || !s || !pfd || !idx || !times) {
        vpc_part_set(res, GP_UNKNOWN, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < total; i++)
        s[i].fd = -1;
    for (size_t i = 0; i < n; i++) {
        const char *why = vpc_parse_target(specs[i], &t[i]);

        if (why) {
            vpc_part_set(res, GP_FATAL, "option targets: '%s': %s", specs[i],
                         why);
            goto out;
        }
    }
    /* Each name gets its share of the time left, and the connects one
     * share too: a resolver that hangs on one name leaves time to resolve
     * the others and to say what their connects did. */
    for (size_t i = 0; i < n; i++)
        if (resolve(&t[i], ctx, api,
                    api->time_left_ms(ctx) / (int64_t)(n - i + 1), res) < 0)
            goto out;

    /* Every sample starts now, so they measure the connector under the
     * burst a pool of clients warming up would give it. */
    double start = gp_sdk_now_ms();
    for (size_t i = 0; i < total; i++) {
        sample *x = &s[i];

        x->t = &t[i / samples];
        x->ai = 0;
        x->start = start;
        x->give_up = per_connect > 0 ? start + (double)per_connect : 0;
        if (x->t->resolve_error[0]) {
            x->done = 1;
            continue;
        }
        sample_start(x);
    }
    connect_all(ctx, api, s, total, pfd, idx);

    for (size_t i = 0; i < total; i++)
        if (s[i].connected)
            times[ok++] = s[i].t_connect;
    qsort(times, ok, sizeof(double), cmp_double);
    report_reachability(ctx, api, res, t, n, samples, ok, times, need);
out:
    for (size_t i = 0; s && i < total; i++)
        sample_close(&s[i]);
    free(t);
    free(s);
    free(pfd);
    free(idx);
    free(times);
}
