/*
 * plugins/vpc/monitoring.c - the vpc probe's utilisation half: the
 * connector's load from Cloud Monitoring's projects.timeSeries.list (GET
 * {monitoring_url}/v3/projects/P/timeSeries, the connector's own series
 * of the last 10 minutes, one request), as shares of the capacity the
 * Connector resource declares: instances over maxInstances, sent +
 * received throughput over maxThroughput, and the instances' CPU. The
 * answer's judging is pure (vpc_judge_series()), so test_vpc.c drives it
 * with bodies in the documented ListTimeSeriesResponse format.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpcheck/sdk_curl.h"
#include "vpc.h"

/* Cloud Monitoring samples these every 60 s and shows them up to ~3 min
 * later: a window of 10 minutes always holds the newest point. */
#define VPC_WINDOW_S 600
#define VPC_METRIC_PREFIX "vpcaccess.googleapis.com/connector/"

/* "2026-12-01T12:00:00.000000Z" (RFC 3339, UTC, any fraction) in seconds
 * since the epoch; -1 when it is not that. */
static double rfc3339_seconds(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    double frac = 0;
    if (!end)
        return -1;
    if (*end == '.') {
        char *e2;
        frac = strtod(end, &e2);
        end = e2;
    }
    if (strcmp(end, "Z") != 0)
        return -1;
    return (double)timegm(&tm) + frac;
}

/* The newest point of a series: the greatest interval.endTime (the API
 * lists them newest first, but says so only in prose). */
static json_t *newest_point(json_t *series, double *start, double *end)
{
    json_t *points = json_object_get(series, "points"), *p, *best = NULL;
    size_t i;
    double best_end = -1;
    json_array_foreach (points, i, p) {
        json_t *iv = json_object_get(p, "interval");
        double e =
            rfc3339_seconds(json_string_value(json_object_get(iv, "endTime")));
        if (e > best_end || !best) {
            best = p;
            best_end = e;
            *start = rfc3339_seconds(
                json_string_value(json_object_get(iv, "startTime")));
        }
    }
    *end = best_end;
    return best;
}

/* A TypedValue as a number: int64Value (a decimal string in JSON),
 * doubleValue, or a distribution's mean. 0 and *v, or -1. */
static int typed_number(json_t *value, double *v)
{
    json_t *x;
    if ((x = json_object_get(value, "int64Value"))) {
        const char *s = json_string_value(x);
        char *end;
        if (json_is_integer(x)) {
            *v = (double)json_integer_value(x);
            return 0;
        }
        if (!s || !*s)
            return -1;
        *v = strtod(s, &end);
        return *end ? -1 : 0;
    }
    if ((x = json_object_get(value, "doubleValue")) && json_is_number(x)) {
        *v = json_number_value(x);
        return 0;
    }
    x = json_object_get(json_object_get(value, "distributionValue"), "mean");
    if (json_is_number(x)) {
        *v = json_number_value(x);
        return 0;
    }
    return -1;
}

/* One series of the answer into u, by its metric type. */
static void read_series(json_t *series, vpc_usage *u)
{
    const char *type = json_string_value(
        json_object_get(json_object_get(series, "metric"), "type"));
    double start = -1, end = -1, v;
    json_t *p = newest_point(series, &start, &end);
    if (!type || strncmp(type, VPC_METRIC_PREFIX, strlen(VPC_METRIC_PREFIX)) ||
        !p || typed_number(json_object_get(p, "value"), &v) < 0)
        return;
    type += strlen(VPC_METRIC_PREFIX);
    if (strcmp(type, "instances") == 0) {
        /* one series per connector; the largest if a filter let more in */
        if (!u->has_instances || v > u->instances)
            u->instances = v;
        u->has_instances = 1;
    } else if (strcmp(type, "cpu/utilizations") == 0) {
        if (!u->has_cpu || v > u->cpu)
            u->cpu = v;
        u->has_cpu = 1;
    } else if (strcmp(type, "sent_bytes_count") == 0 ||
               strcmp(type, "received_bytes_count") == 0) {
        /* DELTA: bytes over the point's interval (60 s when it does not
         * say) */
        double secs = start >= 0 && end > start ? end - start : 60.0;
        u->mbps += v * 8.0 / secs / 1e6;
        u->has_throughput = 1;
    }
}

void vpc_judge_series(long status, const char *body, size_t len, vpc_usage *u,
                      vpc_part *res)
{
    char text[VPC_SHOW_TEXT + 64];
    memset(u, 0, sizeof *u);
    if (status != 200) {
        gcp_error_text(body, len, text, sizeof text);
        if (status == 401 || status == 403)
            vpc_part_set(res, GP_FATAL,
                         "Cloud Monitoring refused the token (%ld; the "
                         "utilisation needs roles/monitoring.viewer): %s",
                         status, text);
        else if (status == 429 || status >= 500)
            vpc_part_set(res, GP_TRANSIENT, "Cloud Monitoring answered %ld: %s",
                         status, text);
        else
            vpc_part_set(res, GP_FATAL, "Cloud Monitoring answered %ld: %s",
                         status, text);
        return;
    }
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr), *s;
    json_t *list = json_object_get(root, "timeSeries");
    size_t i;
    if (!json_is_object(root) || (list && !json_is_array(list))) {
        gcp_error_text(body, len, text, sizeof text);
        vpc_part_set(res, GP_FATAL,
                     "Cloud Monitoring: the answer is not a "
                     "ListTimeSeriesResponse (%s): %s",
                     root ? "timeSeries is no list" : jerr.text, text);
        json_decref(root);
        return;
    }
    json_array_foreach (list, i, s)
        read_series(s, u);
    json_decref(root);
    vpc_part_set(res, GP_READY, "utilisation read");
}

/* The utilisation shares, as metrics, and the message's piece. */
static void report(gp_ctx *ctx, const gp_api *api, const vpc_usage *u,
                   const vpc_sizing *sz, vpc_part *res)
{
    char parts[3][80];
    int n = 0;
    if (u->has_instances && sz->has[1] && sz->value[1] > 0) {
        double pct = u->instances / sz->value[1] * 100.0;
        api->metric(ctx, "instances_usage", pct);
        snprintf(parts[n++], sizeof parts[0], "instances %.0f of %.0f (%.0f%%)",
                 u->instances, sz->value[1], pct);
    }
    if (u->has_throughput && sz->has[3] && sz->value[3] > 0) {
        double pct = u->mbps / sz->value[3] * 100.0;
        api->metric(ctx, "throughput_usage", pct);
        snprintf(parts[n++], sizeof parts[0],
                 "throughput %.0f of %.0f Mbps (%.0f%%)", u->mbps, sz->value[3],
                 pct);
    }
    if (u->has_cpu) {
        api->metric(ctx, "cpu_utilisation", u->cpu * 100.0);
        snprintf(parts[n++], sizeof parts[0], "CPU %.0f%%", u->cpu * 100.0);
    }
    if (n == 0) {
        /* a new connector, or Cloud Monitoring's delay: expected in warmup;
         * after it, a gate that cannot see the load must not pass */
        vpc_part_set(res, api->in_warmup(ctx) ? GP_TRANSIENT : GP_FATAL,
                     "Cloud Monitoring has no utilisation of the connector "
                     "in the last %d minutes (metrics appear up to ~3 "
                     "minutes after they are sampled)",
                     VPC_WINDOW_S / 60);
        return;
    }
    vpc_part_set(res, GP_READY, "utilisation: %s%s%s%s%s", parts[0],
                 n > 1 ? ", " : "", n > 1 ? parts[1] : "", n > 2 ? ", " : "",
                 n > 2 ? parts[2] : "");
}

/* {base}/v3/projects/P/timeSeries?filter=...&interval...; curl_free(). */
static char *series_url(const char *base, const char *name)
{
    char project[256], location[256], conn[256];
    if (sscanf(name, "projects/%255[^/]/locations/%255[^/]/connectors/%255s",
               project, location, conn) != 3)
        return NULL;
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    char url[1024], q[1024], t0[40], t1[40];
    time_t now = time(NULL), from = now - VPC_WINDOW_S;
    struct tm tm;
    strftime(t1, sizeof t1, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    strftime(t0, sizeof t0, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&from, &tm));
    snprintf(url, sizeof url, "%.*s/v3/projects/%s/timeSeries", (int)blen, base,
             project);
    CURLU *u = curl_url();
    char *out = NULL;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto done;
    snprintf(q, sizeof q,
             "filter=metric.type = starts_with(\"" VPC_METRIC_PREFIX "\") AND "
             "resource.type = \"vpc_access_connector\" AND "
             "resource.labels.location = \"%s\" AND "
             "resource.labels.connector_name = \"%s\"",
             location, conn);
    char a[64], b[64];
    snprintf(a, sizeof a, "interval.startTime=%s", t0);
    snprintf(b, sizeof b, "interval.endTime=%s", t1);
    if (curl_url_set(u, CURLUPART_QUERY, q,
                     CURLU_APPENDQUERY | CURLU_URLENCODE) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_QUERY, a,
                     CURLU_APPENDQUERY | CURLU_URLENCODE) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_QUERY, b,
                     CURLU_APPENDQUERY | CURLU_URLENCODE) == CURLUE_OK)
        curl_url_get(u, CURLUPART_URL, &out, 0);
done:
    curl_url_cleanup(u);
    return out;
}

void vpc_utilisation_check(gp_ctx *ctx, const gp_api *api, const char *name,
                           const vpc_sizing *sz, const char *token,
                           vpc_part *res)
{
    const char *base = api->opt_string(ctx, "monitoring_url");
    char *url = base ? series_url(base, name) : NULL;
    char *auth = NULL;
    struct curl_slist *h = NULL;
    gcp_resp r;
    vpc_usage u;

    memset(&r, 0, sizeof r);
    if (!url) {
        vpc_part_set(res, GP_FATAL,
                     "option monitoring_url: not a URL, or connector not "
                     "projects/P/locations/L/connectors/C");
        return;
    }
    size_t alen = strlen("Authorization: Bearer ") + strlen(token) + 1;
    if (gp_curl_body_init(&r.body, VPC_MAX_SERIES_BODY) < 0 ||
        !(auth = malloc(alen))) {
        vpc_part_set(res, GP_UNKNOWN, "out of memory");
        goto out;
    }
    snprintf(auth, alen, "Authorization: Bearer %s", token);
    h = curl_slist_append(NULL, auth);
    struct curl_slist *h2 =
        h ? curl_slist_append(h, "Accept: application/json") : NULL;
    if (!h2) {
        vpc_part_set(res, GP_UNKNOWN, "out of memory");
        goto out;
    }
    h = h2;
    gcp_http_get(ctx, api, url, h, "gpcheck-vpc/0.1", &r);
    if (r.rc != CURLE_OK) {
        gcp_transport_failure(res, "Cloud Monitoring", &r);
        goto out;
    }
    gcp_scrub(r.body.data, r.body.cap + 1, token);
    r.body.len = strlen(r.body.data);
    vpc_judge_series(r.status, r.body.data, r.body.len, &u, res);
    if (res->outcome == GP_READY)
        report(ctx, api, &u, sz, res);
out:
    curl_slist_free_all(h);
    curl_free(url);
    gp_sdk_free_secret(auth);
    gp_curl_body_free(&r.body);
}
