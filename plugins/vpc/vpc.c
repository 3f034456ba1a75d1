/*
 * plugins/vpc/vpc.c - the `vpc` probe: can traffic reach the private
 * endpoints behind a Serverless VPC Access connector, and is the connector
 * itself healthy and sized as intended?
 *
 * Two modes, either or both in one probe:
 *
 *   reachability  connect to every `targets` host:port `samples` times,
 *                 all at once (one poll() loop over non-blocking sockets,
 *                 bounded by the time left), and require `min_reachable`
 *                 percent of the connects to succeed. A connector under
 *                 load drops and slows connections; a single connect that
 *                 happens to get through proves little.
 *
 *   connector     GET {api_url}/v1/{connector} from the Serverless VPC
 *                 Access API (libcurl, bounded by the time left) with a
 *                 Bearer token from `token`, `token_file` or a GCE metadata
 *                 server, parse the Connector resource (jansson) and map
 *                 its state: READY is ready, CREATING and UPDATING are
 *                 transient, ERROR, DELETING and a missing connector are
 *                 fatal. Its sizing becomes metrics, so thresholds catch a
 *                 connector that drifted from the intended capacity.
 *
 * The connector is asked first (its fatal states end the probe at once),
 * then the targets are probed; with both modes both must be ready.
 *
 * The token is a secret in every form: `token` is masked by the core, but
 * one read from a file or fetched from the metadata server is ours to
 * keep out of messages and logs, so every text that goes out is scrubbed.
 *
 * The plugin keeps no state: everything belongs to one check() call.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"
#include "gpcheck/sdk_curl.h"

/* Response bodies we accept (a Connector is well under 4 KiB). */
#define VPC_MAX_BODY (64 * 1024)
/* A token file larger than this is not a token. */
#define VPC_MAX_TOKEN (16 * 1024)
/* targets x samples: each is a socket open at the same time. */
#define VPC_MAX_SAMPLES 512
/* How much of an API error text goes into a message. */
#define VPC_SHOW_TEXT 200

#define VPC_DEFAULT_API "https://vpcaccess.googleapis.com"

static const gp_option vpc_options[] = {
    {.key = "targets",
     .type = GP_TYPE_LIST,
     .help = "reachability: endpoints behind the connector, host:port each "
             "(IPv6 as [addr]:port)"},
    {.key = "samples",
     .type = GP_TYPE_INTEGER,
     .def = "3",
     .min = 1,
     .max = 100,
     .help = "reachability: concurrent connects per target"},
    {.key = "min_reachable",
     .type = GP_TYPE_PERCENTAGE,
     .def = "100%",
     .min = 0,
     .max = 100,
     .help = "reachability: share of all connects that must succeed"},
    {.key = "connect_timeout",
     .type = GP_TYPE_DURATION,
     .min = 1,
     .max = 3600 * 1000,
     .help = "reachability: limit for one connect (default: the time left "
             "in the attempt)"},
    {.key = "connector",
     .type = GP_TYPE_STRING,
     .help = "connector mode: projects/PROJECT/locations/REGION/connectors/"
             "NAME"},
    {.key = "api_url",
     .type = GP_TYPE_STRING,
     .def = VPC_DEFAULT_API,
     .help = "connector mode: the Serverless VPC Access API endpoint"},
    {.key = "token",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_SECRET,
     .help = "connector mode: OAuth 2 access token (Bearer)"},
    {.key = "token_file",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_FILE,
     .help = "connector mode: file holding the access token (mode 0600 or "
             "stricter)"},
    {.key = "metadata_url",
     .type = GP_TYPE_STRING,
     .help = "connector mode: GCE metadata token endpoint to get the token "
             "from (http://metadata.google.internal/computeMetadata/v1/"
             "instance/service-accounts/default/token)"},
    {.key = "expect_machine_type",
     .type = GP_TYPE_STRING,
     .help = "connector mode: the connector's machineType must be this "
             "(e.g. e2-micro)"},
    {.key = "ca_file",
     .type = GP_TYPE_STRING,
     .help = "connector mode: CA bundle to verify api_url and metadata_url "
             "with (default: the system's)"},
    {.key = NULL},
};

static const gp_metric vpc_metrics[] = {
    {.name = "reachable",
     .unit = GP_UNIT_PERCENT,
     .help = "share of the connects to targets that succeeded"},
    {.name = "connect_time_p50",
     .unit = GP_UNIT_MS,
     .help = "median time of the successful connects"},
    {.name = "connect_time_max",
     .unit = GP_UNIT_MS,
     .help = "slowest successful connect"},
    {.name = "targets", .unit = GP_UNIT_COUNT, .help = "targets probed"},
    {.name = "api_time",
     .unit = GP_UNIT_MS,
     .help = "time of the connector GET (token fetch excluded)"},
    {.name = "min_instances",
     .unit = GP_UNIT_COUNT,
     .help = "connector's minInstances"},
    {.name = "max_instances",
     .unit = GP_UNIT_COUNT,
     .help = "connector's maxInstances"},
    {.name = "min_throughput",
     .unit = GP_UNIT_NONE,
     .help = "connector's minThroughput, in Mbps"},
    {.name = "max_throughput",
     .unit = GP_UNIT_NONE,
     .help = "connector's maxThroughput, in Mbps"},
    {.name = NULL},
};

/* One part's result: the outcome and its piece of the message. */
typedef struct part {
    gp_outcome outcome;
    char text[1024];
} part;

static void part_set(part *p, gp_outcome o, const char *fmt, ...)
    GP_PRINTF(3, 4);

static void part_set(part *p, gp_outcome o, const char *fmt, ...)
{
    va_list ap;

    p->outcome = o;
    va_start(ap, fmt);
    vsnprintf(p->text, sizeof(p->text), fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------------ */
/* Reachability                                                              */

typedef struct target {
    const char *spec; /* as configured, for messages */
    char host[256];
    char port[8];
    gp_sdk_addr addrs[GP_SDK_MAX_ADDRS];
    int naddrs;
    char resolve_error[300]; /* the samples fail with this, when set */
    unsigned ok, refused, timed_out, other;
    int other_errno;
} target;

typedef struct sample {
    target *t;
    int ai; /* index of the address being tried in t->addrs */
    int fd;
    int done, connected;
    double start, t_connect;
    double give_up; /* connect_timeout, on the monotonic clock */
} sample;

/*
 * "host:port", "[v6addr]:port". A bare IPv6 address is refused rather
 * than guessed at: "::1:80" could be either. Returns NULL or a reason.
 */
static const char *parse_target(const char *spec, target *t)
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
    if (hlen == 0 || hlen >= sizeof(t->host))
        return "bad host";
    const char *p = colon + 1;
    long port = 0;

    if (!*p || strlen(p) > 5)
        return "bad port";
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return "bad port";
        port = port * 10 + (*p - '0');
    }
    if (port < 1 || port > 65535)
        return "port out of range (1-65535)";
    memcpy(t->host, host, hlen);
    t->host[hlen] = '\0';
    snprintf(t->port, sizeof(t->port), "%ld", port);
    t->spec = spec;
    return NULL;
}

/*
 * gp_sdk_resolve(): numeric addresses as they are, names in a helper
 * process killed after `max_ms`. A name that does not exist is fatal
 * (asking again gives the same answer); a resolver in trouble or out of
 * time fails that target's samples, with the reason.
 */
static int resolve(target *t, gp_ctx *ctx, const gp_api *api, int64_t max_ms,
                   part *res)
{
    gp_sdk_connect_error why;
    char err[sizeof(t->resolve_error)];
    int n = gp_sdk_resolve(ctx, api, t->host,
                           (unsigned)strtoul(t->port, NULL, 10), max_ms,
                           t->addrs, GP_SDK_MAX_ADDRS, &why, err, sizeof(err));

    if (n > 0) {
        t->naddrs = n;
        return 0;
    }
    if (why == GP_SDK_NO_SUCH_HOST) {
        part_set(res, GP_FATAL, "target %s: %s", t->spec, err);
        return -1;
    }
    snprintf(t->resolve_error, sizeof(t->resolve_error), "%s", err);
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
    socklen_t len = sizeof(err);

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
static void describe_failures(const target *t, size_t n, unsigned samples,
                              char *out, size_t outlen)
{
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n && o + 1 < outlen; i++) {
        const target *x = &t[i];
        char why[320];

        if (x->ok == samples)
            continue;
        if (x->resolve_error[0])
            snprintf(why, sizeof(why), "%s", x->resolve_error);
        else if (x->refused && !x->timed_out && !x->other)
            snprintf(why, sizeof(why), "refused %u/%u", x->refused, samples);
        else if (x->timed_out && !x->refused && !x->other)
            snprintf(why, sizeof(why), "timed out %u/%u", x->timed_out,
                     samples);
        else
            snprintf(why, sizeof(why),
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
static void report_reachability(gp_ctx *ctx, const gp_api *api, part *res,
                                const target *t, size_t n, unsigned samples,
                                size_t ok, const double *times, double need)
{
    size_t total = n * samples;
    double pct = 100.0 * (double)ok / (double)total;
    char failed[600];

    api->metric(ctx, "reachable", pct);
    api->metric(ctx, "targets", (double)n);
    describe_failures(t, n, samples, failed, sizeof(failed));
    if (ok == 0 && pct + 1e-9 < need) {
        part_set(res, GP_TRANSIENT, "no target reachable (0/%zu connects): %s",
                 total, failed);
        return;
    }
    /* Nearest-rank median: a value that was really measured. */
    double p50 = ok ? times[(ok + 1) / 2 - 1] : 0, max = ok ? times[ok - 1] : 0;
    if (ok) {
        api->metric(ctx, "connect_time_p50", p50);
        api->metric(ctx, "connect_time_max", max);
    }
    if (pct + 1e-9 < need) {
        part_set(res, GP_TRANSIENT,
                 "reachable %.4g%% < %.4g%% (%zu/%zu connects): %s", pct, need,
                 ok, total, failed);
        return;
    }
    part_set(res, GP_READY,
             "%zu target%s: %zu/%zu connects (%.4g%%), p50 %.1f ms, max %.1f "
             "ms%s%s",
             n, n == 1 ? "" : "s", ok, total, pct, p50, max,
             failed[0] ? "; failed: " : "", failed);
}

static void reachability(gp_ctx *ctx, const gp_api *api, part *res)
{
    const char *const *specs;
    size_t n = api->opt_list(ctx, "targets", &specs);
    unsigned samples = (unsigned)api->opt_integer(ctx, "samples");
    double need = api->opt_percentage(ctx, "min_reachable");
    int64_t per_connect = api->opt_duration_ms(ctx, "connect_timeout");
    size_t total = n * samples;
    target *t = NULL;
    sample *s = NULL;
    struct pollfd *pfd = NULL;
    size_t *idx = NULL;
    double *times = NULL;
    size_t ok = 0;

    /* Each sample is a socket open at the same time. */
    if (total > VPC_MAX_SAMPLES) {
        part_set(res, GP_FATAL,
                 "%zu targets x %u samples is over %d connects at once", n,
                 samples, VPC_MAX_SAMPLES);
        return;
    }
    t = calloc(n, sizeof(target));
    s = calloc(total, sizeof(sample));
    pfd = calloc(total, sizeof(struct pollfd));
    idx = calloc(total, sizeof(size_t));
    times = calloc(total, sizeof(double));
    if (!t || !s || !pfd || !idx || !times) {
        part_set(res, GP_UNKNOWN, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < total; i++)
        s[i].fd = -1;
    for (size_t i = 0; i < n; i++) {
        const char *why = parse_target(specs[i], &t[i]);

        if (why) {
            part_set(res, GP_FATAL, "option targets: '%s': %s", specs[i], why);
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

/* ------------------------------------------------------------------------ */
/* Secrets                                                                   */

/* Replace every occurrence of secret in buf (a C string in cap bytes) by
 * "***". The token may come from a file or the metadata server, which the
 * core knows nothing about, so every text we send out passes here. */
static void scrub(char *buf, size_t cap, const char *secret)
{
    char *tmp;

    if (!secret || !*secret || !strstr(buf, secret))
        return;
    tmp = malloc(cap);
    if (!tmp) {
        snprintf(buf, cap, "(message withheld: it contained the token)");
        return;
    }
    gp_sdk_mask_secrets(buf, &secret, 1, tmp, cap);
    memcpy(buf, tmp, strlen(tmp) + 1);
    free(tmp);
}

/* An access token is one printable word: anything else would let a file
 * inject headers, and is not a token anyway. */
static int token_ok(const char *t)
{
    if (!*t)
        return 0;
    for (; *t; t++)
        if (*t <= ' ' || *t >= 0x7f)
            return 0;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* HTTP                                                                      */

typedef struct http_resp {
    long status;
    gp_curl_body body; /* the first VPC_MAX_BODY bytes */
    CURLcode rc;
    char err[CURL_ERROR_SIZE];
    int resolve_failed;               /* gp_curl_pin_host() failed: err says */
    gp_sdk_connect_error resolve_why; /* ... why */
    double ms;
} http_resp;

/*
 * One GET, bounded by the time left (gp_curl_pin_host() resolves the host
 * within it, gp_curl_set_deadline() bounds the rest), redirects not
 * followed, only http(s) spoken, the body capped.
 */
static void http_get(gp_ctx *ctx, const gp_api *api, const char *url,
                     struct curl_slist *headers, http_resp *r)
{
    const char *ca_file = api->opt_string(ctx, "ca_file");
    CURL *c;
    struct curl_slist *pins = NULL; /* must outlive c */
    double t0 = gp_sdk_now_ms();

    gp_curl_body_reset(&r->body);
    r->status = 0;
    r->resolve_failed = 0;
    r->err[0] = '\0';
    c = gp_curl_easy(r->err, &r->body, "gpcheck-vpc/0.1");
    if (!c) {
        r->rc = CURLE_FAILED_INIT;
        return;
    }
    if (gp_curl_pin_host(c, ctx, api, url, &pins, &r->resolve_why, r->err,
                         sizeof(r->err)) < 0) {
        curl_easy_cleanup(c);
        r->rc = CURLE_COULDNT_RESOLVE_HOST;
        r->resolve_failed = 1;
        r->ms = gp_sdk_now_ms() - t0;
        return;
    }
    if (gp_curl_set_deadline(c, ctx, api) < 0) {
        curl_easy_cleanup(c);
        curl_slist_free_all(pins);
        r->rc = CURLE_OPERATION_TIMEDOUT;
        return;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    if (ca_file && *ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
    r->rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(pins);
    r->ms = gp_sdk_now_ms() - t0;
}

/* A request that got no HTTP answer: refused, timed out, TLS, ... */
static void transport_failure(part *res, const char *what, const http_resp *r)
{
    const char *detail = r->err[0] ? r->err : curl_easy_strerror(r->rc);

    if (r->rc == CURLE_WRITE_ERROR && r->body.truncated) {
        part_set(res, GP_FATAL, "%s: answer larger than %d KiB", what,
                 VPC_MAX_BODY / 1024);
        return;
    }
    if (r->resolve_failed) {
        part_set(res,
                 r->resolve_why == GP_SDK_NO_SUCH_HOST ? GP_FATAL
                 : r->resolve_why == GP_SDK_OTHER      ? GP_UNKNOWN
                                                       : GP_TRANSIENT,
                 "%s: %s", what, r->err);
        return;
    }
    switch (gp_curl_classify(r->rc)) {
    case GP_CURL_TIMEOUT:
        part_set(res, GP_TRANSIENT, "%s: timed out after %.0f ms", what, r->ms);
        return;
    case GP_CURL_TLS_VERIFY:
    case GP_CURL_SETUP: part_set(res, GP_FATAL, "%s: %s", what, detail); return;
    case GP_CURL_LOCAL:
        part_set(res, GP_UNKNOWN, "%s: %s", what, detail);
        return;
    case GP_CURL_CONNECT:
    case GP_CURL_RESOLVE:
    case GP_CURL_OTHER: break;
    }
    /* Refused, unresolvable (curl cannot tell NXDOMAIN from a resolver in
     * trouble), reset, empty reply: the network may come back. */
    part_set(res, GP_TRANSIENT, "%s: %s", what, detail);
}

/* "PERMISSION_DENIED: Permission denied on resource" from a Google API
 * error body, or the start of whatever else the body is. */
static void api_error_text(const http_resp *r, char *out, size_t outlen)
{
    json_t *root = json_loadb(r->body.data, r->body.len, 0, NULL);
    json_t *e = root ? json_object_get(root, "error") : NULL;
    const char *status = json_string_value(json_object_get(e, "status"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    size_t o = 0;

    if (msg)
        snprintf(out, outlen, "%s%s%.*s", status ? status : "",
                 status ? ": " : "", VPC_SHOW_TEXT, msg);
    else
        snprintf(out, outlen, "%.*s", VPC_SHOW_TEXT, r->body.data);
    json_decref(root);
    /* One line of printable text. */
    for (char *p = out; *p; p++)
        out[o++] = (*p < ' ' || *p == 0x7f) ? ' ' : *p;
    out[o] = '\0';
}

/* ------------------------------------------------------------------------ */
/* Connector                                                                 */

/* projects/P/locations/L/connectors/C, each part URL-safe, since it goes
 * into the request path as it is. */
static int connector_name_ok(const char *name)
{
    static const char *const fixed[] = {"projects", "locations", "connectors"};
    const char *p = name;

    for (int i = 0; i < 3; i++) {
        size_t fl = strlen(fixed[i]), n = 0;

        if (strncmp(p, fixed[i], fl) != 0 || p[fl] != '/')
            return 0;
        p += fl + 1;
        while (p[n] && (isalnum((unsigned char)p[n]) || strchr("-._~", p[n])))
            n++;
        if (n == 0 || (p[n] != '/' && i < 2) || (p[n] != '\0' && i == 2))
            return 0;
        p += n + (i < 2);
    }
    return 1;
}

/*
 * The access token from the GCE metadata server. The Metadata-Flavor
 * header is what the server demands (it protects against requests forged
 * through a proxy); redirects are not followed for the same reason.
 */
static char *fetch_token(gp_ctx *ctx, const gp_api *api, const char *url,
                         http_resp *r, part *res)
{
    struct curl_slist *h = curl_slist_append(NULL, "Metadata-Flavor: Google");
    char text[VPC_SHOW_TEXT + 64];
    char *token = NULL;

    if (!h) {
        part_set(res, GP_UNKNOWN, "out of memory");
        return NULL;
    }
    http_get(ctx, api, url, h, r);
    curl_slist_free_all(h);
    if (r->rc != CURLE_OK) {
        transport_failure(res, "metadata server", r);
        return NULL;
    }
    if (r->status != 200) {
        api_error_text(r, text, sizeof(text));
        part_set(res,
                 r->status >= 500 || r->status == 429 ? GP_TRANSIENT : GP_FATAL,
                 "metadata server answered %ld: %s", r->status, text);
        return NULL;
    }

    json_t *root = json_loadb(r->body.data, r->body.len, 0, NULL);
    const char *t = json_string_value(json_object_get(root, "access_token"));

    if (!t || !token_ok(t))
        part_set(res, GP_FATAL,
                 "metadata server: the answer has no usable access_token");
    else if (!(token = strdup(t)))
        part_set(res, GP_UNKNOWN, "out of memory");
    /* The body held the token: wipe it and jansson's copy (a plain heap
     * string it owns until json_decref; wiping it changes nothing else). */
    if (t)
        explicit_bzero((char *)t, strlen(t));
    json_decref(root);
    explicit_bzero(r->body.data, r->body.len);
    return token;
}

/*
 * The token from one of its three sources. token_file is a GP_OPT_FILE:
 * the core refuses, at config time, one that is not a regular file or
 * that group or others may read, and masks its content; the SDK checks
 * again on the descriptor it reads from (the file may have changed since).
 */
static char *get_token(gp_ctx *ctx, const gp_api *api, http_resp *r, part *res)
{
    const char *token = api->opt_string(ctx, "token");
    const char *file = api->opt_string(ctx, "token_file");
    const char *meta = api->opt_string(ctx, "metadata_url");
    int n = (token && *token) + (file && *file) + (meta && *meta);
    char *t = NULL, err[640];

    if (n == 0) {
        part_set(res, GP_FATAL,
                 "connector mode needs one of token, token_file or "
                 "metadata_url");
        return NULL;
    }
    if (n > 1) {
        part_set(res, GP_FATAL,
                 "set only one of token, token_file and metadata_url");
        return NULL;
    }
    if (meta && *meta)
        return fetch_token(ctx, api, meta, r, res);
    if (gp_sdk_secret(ctx, api, "token", "token_file", VPC_MAX_TOKEN, &t, err,
                      sizeof(err)) < 0) {
        part_set(res, errno == ENOMEM ? GP_UNKNOWN : GP_FATAL, "%s", err);
        return NULL;
    }
    if (!token_ok(t)) {
        if (file && *file)
            part_set(res, GP_FATAL,
                     "token_file %s has blanks or control characters in it",
                     file);
        else
            part_set(res, GP_FATAL,
                     "option token has blanks or control characters in it");
        gp_sdk_free_secret(t);
        return NULL;
    }
    return t;
}

/* An int32 field of the Connector: a JSON number, or (proto3 JSON allows
 * it) a string of digits. Reported as a metric when present. */
static int report_number(gp_ctx *ctx, const gp_api *api, json_t *obj,
                         const char *field, const char *metric, long *out)
{
    json_t *v = json_object_get(obj, field);
    double d;

    if (json_is_number(v)) {
        d = json_number_value(v);
    } else if (json_is_string(v)) {
        char *end = NULL;
        const char *s = json_string_value(v);

        errno = 0;
        d = strtod(s, &end);
        if (end == s || *end || errno)
            return 0;
    } else {
        return 0;
    }
    api->metric(ctx, metric, d);
    *out = (long)d;
    return 1;
}

/* What a person wants to see of a connector, one line:
 * "network default, 10.8.0.0/28, e2-micro, 2-10 instances, 200-1000 Mbps" */
static void connector_details(gp_ctx *ctx, const gp_api *api, json_t *root,
                              char *out, size_t outlen)
{
    const char *net = json_string_value(json_object_get(root, "network"));
    const char *cidr = json_string_value(json_object_get(root, "ipCidrRange"));
    const char *mt = json_string_value(json_object_get(root, "machineType"));
    long imin = 0, imax = 0, tmin = 0, tmax = 0;
    /* '&', not '&&': each field is reported as a metric on its own. */
    int has_i =
        report_number(ctx, api, root, "minInstances", "min_instances", &imin) &
        report_number(ctx, api, root, "maxInstances", "max_instances", &imax);
    int has_t =
        report_number(ctx, api, root, "minThroughput", "min_throughput",
                      &tmin) &
        report_number(ctx, api, root, "maxThroughput", "max_throughput", &tmax);
    size_t o = 0;
    int w;

#define VPC_ADD(...)                                                           \
    do {                                                                       \
        w = snprintf(out + o, outlen - o, __VA_ARGS__);                        \
        if (w > 0 && (size_t)w < outlen - o)                                   \
            o += (size_t)w;                                                    \
    } while (0)
    out[0] = '\0';
    if (net)
        VPC_ADD("%snetwork %.60s", o ? ", " : "", net);
    if (cidr)
        VPC_ADD("%s%.40s", o ? ", " : "", cidr);
    if (mt)
        VPC_ADD("%s%.40s", o ? ", " : "", mt);
    if (has_i)
        VPC_ADD("%s%ld-%ld instances", o ? ", " : "", imin, imax);
    if (has_t)
        VPC_ADD("%s%ld-%ld Mbps", o ? ", " : "", tmin, tmax);
#undef VPC_ADD
}

/* The Connector resource of a 200 answer: its state and sizing. */
static void judge_connector(gp_ctx *ctx, const gp_api *api, const char *name,
                            const http_resp *r, part *res)
{
    json_error_t jerr;
    json_t *root = json_loadb(r->body.data, r->body.len, 0, &jerr);
    const char *state = json_string_value(json_object_get(root, "state"));
    const char *expect = api->opt_string(ctx, "expect_machine_type");
    const char *mt;
    char details[400];

    if (!json_is_object(root) || !state) {
        char shown[VPC_SHOW_TEXT + 64];

        api_error_text(r, shown, sizeof(shown));
        part_set(res, GP_FATAL,
                 "connector API: the answer is not a Connector (%s): %s",
                 root ? "no state" : jerr.text, shown);
        json_decref(root);
        return;
    }
    mt = json_string_value(json_object_get(root, "machineType"));
    connector_details(ctx, api, root, details, sizeof(details));

    if (strcmp(state, "READY") == 0) {
        if (expect && *expect && (!mt || strcmp(mt, expect) != 0))
            part_set(res, GP_FATAL,
                     "connector %s is READY but its machine type is %.60s, "
                     "expected %s",
                     name, mt ? mt : "not given", expect);
        else
            part_set(res, GP_READY, "connector %s READY (%s)", name, details);
    } else if (strcmp(state, "CREATING") == 0 ||
               strcmp(state, "UPDATING") == 0) {
        part_set(res, GP_TRANSIENT, "connector %s is %s (%s)", name, state,
                 details);
    } else if (strcmp(state, "ERROR") == 0) {
        part_set(res, GP_FATAL,
                 "connector %s is in state ERROR (Google recommends deleting "
                 "it) (%s)",
                 name, details);
    } else if (strcmp(state, "DELETING") == 0) {
        part_set(res, GP_FATAL, "connector %s is being deleted (%s)", name,
                 details);
    } else {
        part_set(res, GP_UNKNOWN,
                 "connector %s has state '%.40s', unknown to "
                 "this probe",
                 name, state);
    }
    json_decref(root);
}

/* The answer to GET /v1/{connector}, by HTTP status. */
static void judge_answer(gp_ctx *ctx, const gp_api *api, const char *name,
                         const http_resp *r, part *res)
{
    char text[VPC_SHOW_TEXT + 64];

    if (r->status == 200) {
        judge_connector(ctx, api, name, r, res);
        return;
    }
    api_error_text(r, text, sizeof(text));
    if (r->status == 404)
        part_set(res, GP_FATAL, "connector %s not found (404): %s", name, text);
    else if (r->status == 401 || r->status == 403)
        part_set(res, GP_FATAL, "connector API refused the token (%ld): %s",
                 r->status, text);
    else if (r->status == 429 || r->status >= 500)
        part_set(res, GP_TRANSIENT, "connector API answered %ld: %s", r->status,
                 text);
    else
        part_set(res, GP_FATAL, "connector API answered %ld: %s", r->status,
                 text);
}

static void connector_check(gp_ctx *ctx, const gp_api *api, const char *name,
                            part *res, char **token_out)
{
    const char *base = api->opt_string(ctx, "api_url");
    http_resp r;
    char *url = NULL, *auth = NULL;
    struct curl_slist *h = NULL;
    size_t blen;

    memset(&r, 0, sizeof(r));
    if (!connector_name_ok(name)) {
        part_set(res, GP_FATAL,
                 "option connector: '%s' is not projects/PROJECT/locations/"
                 "REGION/connectors/NAME",
                 name);
        return;
    }
    if (!base ||
        (strncmp(base, "http://", 7) && strncmp(base, "https://", 8))) {
        part_set(res, GP_FATAL,
                 "option api_url: not an http:// or https:// URL");
        return;
    }
    if (gp_curl_body_init(&r.body, VPC_MAX_BODY) < 0) {
        part_set(res, GP_UNKNOWN, "out of memory");
        return;
    }
    *token_out = get_token(ctx, api, &r, res);
    if (!*token_out)
        goto out;

    blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    size_t ulen = blen + strlen("/v1/") + strlen(name) + 1;
    size_t alen = strlen("Authorization: Bearer ") + strlen(*token_out) + 1;
    url = malloc(ulen);
    auth = malloc(alen);
    if (!url || !auth) {
        part_set(res, GP_UNKNOWN, "out of memory");
        goto out;
    }
    snprintf(url, ulen, "%.*s/v1/%s", (int)blen, base, name);
    snprintf(auth, alen, "Authorization: Bearer %s", *token_out);
    h = curl_slist_append(NULL, auth);
    if (h)
        h = curl_slist_append(h, "Accept: application/json");
    if (!h) {
        part_set(res, GP_UNKNOWN, "out of memory");
        goto out;
    }
    http_get(ctx, api, url, h, &r);
    if (r.rc != CURLE_OK) {
        transport_failure(res, "connector API", &r);
        goto out;
    }
    api->metric(ctx, "api_time", r.ms);
    /* Before anything of the body is cut to fit a message: a token cut in
     * two would no longer be recognised. */
    scrub(r.body.data, r.body.cap + 1, *token_out);
    r.body.len = strlen(r.body.data);
    judge_answer(ctx, api, name, &r, res);
out:
    curl_slist_free_all(h);
    free(url);
    gp_sdk_free_secret(auth);
    gp_curl_body_free(&r.body);
}

/* ------------------------------------------------------------------------ */

static int rank(gp_outcome o)
{
    switch (o) {
    case GP_READY: return 0;
    case GP_DEGRADED: return 1;
    case GP_TRANSIENT: return 2;
    case GP_UNKNOWN: return 3;
    case GP_FATAL: return 4;
    }
    return 3;
}

static gp_outcome check(gp_ctx *ctx, const gp_api *api)
{
    const char *connector = api->opt_string(ctx, "connector");
    int with_conn = connector && *connector;
    int with_targets = api->opt_list(ctx, "targets", NULL) > 0;
    part conn = {GP_READY, ""}, reach = {GP_READY, ""};
    char *token = NULL;
    char msg[2200];

    if (!with_conn && !with_targets) {
        api->message(ctx, "nothing to check: set targets (reachability), "
                          "connector (connector state), or both");
        return GP_FATAL;
    }
    if (with_conn) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            api->message(ctx, "cannot initialise libcurl");
            return GP_UNKNOWN;
        }
        gp_curl_log_version(ctx, api);
        connector_check(ctx, api, connector, &conn, &token);
        curl_global_cleanup();
        /* ABI 1.2: a token fetched at run time is masked by the core. */
        if (token)
            api->secret(ctx, token);
    }
    /* A fatal connector needs no reachability numbers to be understood;
     * an API that used up the attempt leaves no time to measure them. */
    if (with_targets && rank(conn.outcome) >= rank(GP_UNKNOWN))
        with_targets = 0;
    else if (with_targets && api->time_left_ms(ctx) <= 0)
        part_set(&reach, GP_TRANSIENT, "targets not tried: no time left");
    else if (with_targets)
        reachability(ctx, api, &reach);

    /* The part that is not ready comes first; both when both are set. */
    const part *first = &conn, *second = &reach;
    if (!with_conn || rank(reach.outcome) > rank(conn.outcome)) {
        first = &reach;
        second = &conn;
    }
    if (with_conn && with_targets)
        snprintf(msg, sizeof(msg), "%s; %s", first->text, second->text);
    else
        snprintf(msg, sizeof(msg), "%s", first->text);
    scrub(msg, sizeof(msg), token);
    api->message(ctx, "%s", msg);
    gp_sdk_free_secret(token);
    return rank(conn.outcome) >= rank(reach.outcome) ? conn.outcome
                                                     : reach.outcome;
}

/* An http(s) URL option, through libcurl's URL parser (CURLU). */
static void validate_url(gp_ctx *ctx, const gp_api *api, const char *key)
{
    const char *url = api->opt_string(ctx, key);
    char err[640], where[96];

    if (url && *url &&
        gp_curl_check_url(key, url, NULL, NULL, where, sizeof(where), err,
                          sizeof(err)) < 0 &&
        errno != ENOMEM) {
        size_t skip = strlen("option ") + strlen(key) + 1;
        api->invalid(ctx, key, "%s", strlen(err) > skip ? err + skip : err);
    }
}

/*
 * validate() (ABI 1.2): what check() would refuse before any connect or
 * request: something to check at all, each target's host:port form, the
 * connector's resource name, the URLs, one token source, a usable token.
 */
static void validate(gp_ctx *ctx, const gp_api *api)
{
    const char *const *specs;
    size_t n = api->opt_list(ctx, "targets", &specs);
    const char *connector = api->opt_string(ctx, "connector");
    const char *token = api->opt_string(ctx, "token");
    const char *file = api->opt_string(ctx, "token_file");
    const char *meta = api->opt_string(ctx, "metadata_url");
    int with_conn = connector && *connector;

    if (!with_conn && n == 0)
        api->invalid(ctx, "targets",
                     "nothing to check: set targets (reachability), "
                     "connector (connector state), or both");
    for (size_t i = 0; i < n; i++) {
        target t;
        const char *why;

        memset(&t, 0, sizeof(t));
        if ((why = parse_target(specs[i], &t)) != NULL)
            api->invalid(ctx, "targets", "'%s': %s", specs[i], why);
    }
    if (!with_conn)
        return;
    if (!connector_name_ok(connector))
        api->invalid(ctx, "connector",
                     "'%s' is not projects/PROJECT/locations/REGION/"
                     "connectors/NAME",
                     connector);
    validate_url(ctx, api, "api_url");
    validate_url(ctx, api, "metadata_url");
    int sources = (token && *token) + (file && *file) + (meta && *meta);
    if (sources == 0)
        api->invalid(ctx, "connector",
                     "connector mode needs one of token, token_file or "
                     "metadata_url");
    else if (sources > 1)
        api->invalid(ctx, "token",
                     "set only one of token, token_file and metadata_url");
    if (token && *token && !token_ok(token))
        api->invalid(ctx, "token", "is not one printable word");
}

static const gp_plugin vpc_plugin = {
    GP_PLUGIN_HEADER,
    .name = "vpc",
    .version = "0.1.0",
    .summary = "private endpoints reachable through a VPC connector, and the "
               "connector READY (Serverless VPC Access API)",
    .options = vpc_options,
    .metrics = vpc_metrics,
    .check = check,
    .validate = validate,
};

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    return &vpc_plugin;
}
