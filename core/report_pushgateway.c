/*
 * core/report_pushgateway.c - `-o pushgateway:URL`: the run's metrics (the
 * prometheus report's text) PUT to a Prometheus Pushgateway when the run
 * ends, into the group
 *
 *     URL/metrics/job/gpcheck/env/ENV/pipeline/PIPELINE
 *
 * PUT replaces every metric of the group at once, so a probe dropped from
 * the configuration disappears with the next push instead of lingering.
 * The grouping key is job, env and pipeline only: PIPELINE names the
 * pipeline (a workflow or a project), never a runner, host, job or run id,
 * each of which would leave one more group behind on every push and grow
 * the Pushgateway's series without bound. It is $GPCHECK_PIPELINE, else
 * $GITHUB_WORKFLOW, else $CI_PROJECT_PATH (GitLab), else "none". A value
 * outside [A-Za-z0-9_.-] goes as the Pushgateway's label@base64 form.
 *
 * A failed push fails the report as any report does (a report asked for
 * and not delivered is an error, loudly); the URL's password, if any, is
 * never printed. libcurl is loaded when the sink opens (core/dl.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl.h"
#include "report.h"
#include "util.h"

/* The whole PUT, connection included, ends within this. */
#define PUSH_TIMEOUT_MS 10000
#define PUSH_CONNECT_TIMEOUT_MS 5000

typedef struct push_sink {
    sink base;
    char *url;   /* owned; the base URL, without a trailing '/' */
    char *shown; /* owned; the URL without its password, for messages */
    char *body;  /* owned; the exposition text, once the run ended */
    char *env;   /* owned; the run's env */
} push_sink;

static int safe_value(const char *s)
{
    return *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
                           "VWXYZ0123456789_.-") == strlen(s);
}

/* "/NAME/VALUE", or "/NAME@base64/B64" (URL-safe alphabet) when VALUE
 * holds a character a path segment cannot carry as is. */
static void group_part(strbuf *sb, const char *name, const char *value)
{
    if (safe_value(value)) {
        sb_appendf(sb, "/%s/%s", name, value);
        return;
    }
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    sb_appendf(sb, "/%s@base64/", name);
    const unsigned char *p = (const unsigned char *)value;
    size_t n = strlen(value);
    if (n == 0)
        sb_append(sb, "="); /* the Pushgateway's empty value */
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char out[5] = {b64[(v >> 18) & 63], b64[(v >> 12) & 63],
                       i + 1 < n ? b64[(v >> 6) & 63] : '=',
                       i + 2 < n ? b64[v & 63] : '=', '\0'};
        sb_append(sb, out);
    }
}

static const char *pipeline_name(void)
{
    static const char *const vars[] = {"GPCHECK_PIPELINE", "GITHUB_WORKFLOW",
                                       "CI_PROJECT_PATH"};
    for (size_t i = 0; i < ARRAY_LEN(vars); i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return v;
    }
    return "none";
}

static sink *push_open(const char *path, const report_opts *o, char *err,
                       size_t errlen)
{
    (void)o;
    if (!path) {
        snprintf(err, errlen,
                 "-o pushgateway needs the Pushgateway's URL: "
                 "-o pushgateway:http://HOST:9091");
        return NULL;
    }
    if (dl_curl("-o pushgateway", err, errlen) < 0)
        return NULL;
    sym_curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLU *u = sym_curl_url();
    char *scheme = NULL, *host = NULL, *shown = NULL;
    int ok = u && sym_curl_url_set(u, CURLUPART_URL, path, 0) == CURLUE_OK &&
             sym_curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
             sym_curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
             (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
    if (ok) {
        sym_curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
        ok = sym_curl_url_get(u, CURLUPART_URL, &shown, 0) == CURLUE_OK;
    }
    sym_curl_free(scheme);
    sym_curl_free(host);
    sym_curl_url_cleanup(u);
    if (!ok) {
        sym_curl_free(shown);
        snprintf(err, errlen,
                 "-o pushgateway: expected an http:// or https:// URL such as "
                 "http://HOST:9091");
        return NULL;
    }
    push_sink *s = xcalloc(1, sizeof *s);
    s->base.ops = &sink_pushgateway_ops;
    s->url = xstrdup(path);
    size_t n = strlen(s->url);
    while (n > 0 && s->url[n - 1] == '/')
        s->url[--n] = '\0';
    s->shown = xstrdup(shown);
    sym_curl_free(shown);
    return &s->base;
}

static void push_event(sink *base, const event *ev)
{
    push_sink *s = (push_sink *)base;
    if (ev->kind != EV_RUN_END)
        return;
    free(s->body);
    free(s->env);
    s->body = sink_prometheus_ops.render(ev->run);
    s->env = xstrdup(ev->run->env ? ev->run->env : "default");
}

static size_t keep_reply(char *data, size_t size, size_t n, void *ud)
{
    strbuf *sb = ud;
    if (sb->len < 512)
        sb_appendn(sb, data, size * n < 512 ? size * n : 512);
    return size * n;
}

/* PUT the body to the group; 0, or -1 with the reason in err. */
static int put(push_sink *s, char *err, size_t errlen)
{
    strbuf url = {0}, reply = {0};
    sb_appendf(&url, "%s/metrics/job/gpcheck", s->url);
    group_part(&url, "env", s->env);
    group_part(&url, "pipeline", pipeline_name());
    CURL *c = sym_curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "-o pushgateway: cannot start libcurl");
        sb_free(&url);
        return -1;
    }
    struct curl_slist *hdr =
        sym_curl_slist_append(NULL, "Content-Type: text/plain; version=0.0.4");
    sym_curl_easy_setopt(c, CURLOPT_URL, sb_str(&url));
    sym_curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
    sym_curl_easy_setopt(c, CURLOPT_POSTFIELDS, s->body);
    sym_curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    sym_curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    sym_curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)PUSH_TIMEOUT_MS);
    sym_curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                         (long)PUSH_CONNECT_TIMEOUT_MS);
    sym_curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    sym_curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_reply);
    sym_curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
    CURLcode rc = sym_curl_easy_perform(c);
    long code = 0;
    sym_curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    int ret = 0;
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "-o pushgateway:%s: cannot push: %s", s->shown,
                 sym_curl_easy_strerror(rc));
        ret = -1;
    } else if (code < 200 || code > 299) {
        char *why = str_sanitize(sb_str(&reply));
        snprintf(err, errlen,
                 "-o pushgateway:%s: the Pushgateway answered %ld%s%s",
                 s->shown, code, *why ? ": " : "", why);
        free(why);
        ret = -1;
    }
    sym_curl_slist_free_all(hdr);
    sym_curl_easy_cleanup(c);
    sb_free(&url);
    sb_free(&reply);
    return ret;
}

static int push_close(sink *base, char *err, size_t errlen)
{
    push_sink *s = (push_sink *)base;
    int rc = 0;
    if (s->env && !s->body) {
        snprintf(err, errlen, "-o pushgateway: cannot encode the metrics");
        rc = -1;
    } else if (s->body) {
        rc = put(s, err, errlen);
    }
    free(s->url);
    free(s->shown);
    free(s->body);
    free(s->env);
    free(s);
    return rc;
}

const sink_ops sink_pushgateway_ops = {
    .format = "pushgateway",
    .open = push_open,
    .event = push_event,
    .close = push_close,
};
