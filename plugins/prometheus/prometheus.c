/*
 * plugins/prometheus/prometheus.c - the `prometheus` probe: named PromQL
 * instant queries over the Prometheus HTTP API, each result a metric of
 * the probe, so that warn_if / fail_if judge them:
 *
 *     query.vpc_utilisation = max(vpcaccess_googleapis_com:connector_instances)
 * / 100 * 100 units = vpc_utilisation:% fail_if = vpc_utilisation >= 80%
 *
 * The same probe reads any Prometheus and Google Cloud Monitoring's PromQL
 * endpoint (https://monitoring.googleapis.com/v1/projects/P/location/
 * global/prometheus), where Google's metrics live under PromQL names
 * (vpcaccess.googleapis.com/connector/instances is
 * vpcaccess_googleapis_com:connector_instances), with a Bearer token from
 * `token`, `token_file` or the GCE metadata server (the code the vpc probe
 * uses, plugins/common/gcp_http.c).
 *
 * One attempt reads top to bottom (check()):
 *   1. the token, when one is configured (a metadata server's failure is
 *      the attempt's outcome);
 *   2. each query.NAME in turn: GET {url}/api/v1/query?query=..&timeout=..
 *      (bounded by the time left; Prometheus is told the time left too,
 *      so it stops evaluating when we stop waiting), the answer judged
 *      (prom_judge(), answer.c) and turned into an outcome (prom_outcome():
 *      one number ready, an empty result by `on_empty`, a bad query or a
 *      refused token fatal, 5xx transient), the number reported as metric
 *      NAME; a fatal query ends the attempt;
 *   3. the worst outcome, and a message with every query's piece.
 *
 * The plugin keeps no state: everything belongs to one check() call.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "gcp_http.h"
#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"
#include "gpcheck/sdk_curl.h"

/* Answers we read: one number needs little; many series are cut here and
 * the attempt says so. */
#define PROM_MAX_BODY (256 * 1024)
/* How much of a query's text a message repeats. */
#define PROM_SHOW_QUERY 80

static const gp_option prom_options[] = {
    {.key = "url",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_REQUIRED,
     .help = "base of the Prometheus HTTP API (http://host:9090, or "
             "https://monitoring.googleapis.com/v1/projects/PROJECT/location/"
             "global/prometheus); /api/v1/query is appended"},
    {.key = "query",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_FAMILY | GP_OPT_REQUIRED,
     .help = "query.NAME = PROMQL: an instant query giving one number, "
             "reported as metric NAME"},
    {.key = "units",
     .type = GP_TYPE_LIST,
     .flags = GP_OPT_METRICS,
     .help = "NAME:UNIT for a query's metric (ms, %, count, bytes; none when "
             "not listed), so thresholds take 80% or 500ms"},
    {.key = "on_empty",
     .type = GP_TYPE_STRING,
     .choices = "transient|fatal|zero",
     .help = "an empty result or NaN: transient, fatal, or the number 0 "
             "(default: transient in warmup, fatal after)"},
    {.key = "token",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_SECRET,
     .help = "Bearer token (OAuth 2 access token for Cloud Monitoring)"},
    {.key = "token_file",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_FILE,
     .help = "file holding the Bearer token (mode 0600 or stricter)"},
    {.key = "metadata_url",
     .type = GP_TYPE_STRING,
     .help = "GCE metadata token endpoint to get the token from "
             "(http://metadata.google.internal/computeMetadata/v1/instance/"
             "service-accounts/default/token)"},
    {.key = "ca_file",
     .type = GP_TYPE_STRING,
     .help = "CA bundle to verify url and metadata_url with (default: the "
             "system's)"},
    {.key = NULL},
};

static const gp_metric prom_metrics[] = {
    {.name = "query_time",
     .unit = GP_UNIT_MS,
     .help = "time of all the queries of the attempt (token fetch "
             "excluded); each query.NAME is a metric NAME too"},
    {.name = NULL},
};

/* ------------------------------------------------------------------------ */

/* {url}/api/v1/query?query=EXPR&timeout=SECONDS, encoded by curl's URL
 * API; NULL when out of memory or url is not a URL (validate() says so). */
static char *query_url(const char *base, const char *expr, int64_t left_ms)
{
    CURLU *u = curl_url();
    char *path = NULL, *out = NULL, *part = NULL;
    size_t n;
    if (!u || curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
        goto done;
    n = strlen(path);
    while (n > 0 && path[n - 1] == '/')
        n--;
    size_t plen = n + sizeof "/api/v1/query";
    size_t qlen = strlen(expr) + sizeof "query=";
    part = malloc(plen > qlen ? plen : qlen);
    if (!part)
        goto done;
    snprintf(part, plen, "%.*s/api/v1/query", (int)n, path);
    if (curl_url_set(u, CURLUPART_PATH, part, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_QUERY, NULL, 0) != CURLUE_OK)
        goto done;
    snprintf(part, qlen, "query=%s", expr);
    char timeout[48];
    snprintf(timeout, sizeof timeout, "timeout=%.3f",
             (double)(left_ms > 1 ? left_ms : 1) / 1000.0);
    if (curl_url_set(u, CURLUPART_QUERY, part,
                     CURLU_APPENDQUERY | CURLU_URLENCODE) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_QUERY, timeout, CURLU_APPENDQUERY) !=
            CURLUE_OK)
        goto done;
    curl_url_get(u, CURLUPART_URL, &out, 0);
done:
    free(part);
    curl_free(path);
    curl_url_cleanup(u);
    return out; /* curl_free() */
}

/* The message's piece for one query's answer that gave no number. */
static void describe(const char *name, const char *expr, const prom_answer *a,
                     gp_outcome o, int in_warmup, int with_token, gcp_part *res)
{
    char q[PROM_SHOW_QUERY + 4];
    snprintf(q, sizeof q, "%.*s%s", PROM_SHOW_QUERY, expr,
             strlen(expr) > PROM_SHOW_QUERY ? "..." : "");
    switch (a->kind) {
    case PROM_VALUE: gcp_part_set(res, o, "%s %g", name, a->value); return;
    case PROM_EMPTY:
        gcp_part_set(
            res, o,
            "%s: empty result (no series matched, or its target is "
            "stale)%s: %s",
            name, o == GP_TRANSIENT && in_warmup ? ", still in warmup" : "", q);
        return;
    case PROM_NAN:
        gcp_part_set(res, o,
                     "%s: the result is NaN (0/0, or a NaN sample) %s: %s",
                     name, a->text, q);
        return;
    case PROM_INF:
        gcp_part_set(res, o,
                     "%s: the result is %s (a division by zero?) %s: %s", name,
                     a->value > 0 ? "+Inf" : "-Inf", a->text, q);
        return;
    case PROM_MANY:
        gcp_part_set(res, o,
                     "%s: %zu series where one number was expected "
                     "(aggregate them: max(), sum() ...): %s",
                     name, a->n_series, a->text);
        return;
    case PROM_BAD_TYPE:
        gcp_part_set(res, o, "%s: %s: %s", name, a->text, q);
        return;
    case PROM_QUERY_ERROR:
        gcp_part_set(res, o, "%s: Prometheus refused the query (%ld): %s", name,
                     a->status, a->text);
        return;
    case PROM_AUTH:
        gcp_part_set(res, o, "Prometheus refused %s (%ld): %s",
                     with_token ? "the token" : "the request without a token",
                     a->status, a->text);
        return;
    case PROM_NOT_FOUND:
        gcp_part_set(res, o,
                     "%s: 404: no Prometheus API under url (it is the base, "
                     "without /api/v1)",
                     name);
        return;
    case PROM_BUSY:
        gcp_part_set(res, o, "%s: Prometheus answered %ld%s%s", name, a->status,
                     a->text[0] ? ": " : "", a->text);
        return;
    case PROM_GARBAGE:
        gcp_part_set(res, o, "%s: not a Prometheus answer (%ld): %s", name,
                     a->status, a->text);
        return;
    case PROM_OTHER:
        gcp_part_set(res, o, "%s: Prometheus answered %ld", name, a->status);
        return;
    }
}

/* One query: the GET, the answer judged, its metric reported. */
static gp_outcome one_query(gp_ctx *ctx, const gp_api *api, const char *name,
                            const char *expr, struct curl_slist *headers,
                            const char *token, prom_on_empty on_empty,
                            gcp_resp *r, double *ms, gcp_part *res)
{
    const char *base = api->opt_string(ctx, "url");
    char *url = query_url(base, expr, api->time_left_ms(ctx));
    prom_answer a;
    double value = 0;
    if (!url) {
        gcp_part_set(res, GP_FATAL, "%s: option url is not a URL", name);
        return GP_FATAL;
    }
    gcp_http_get(ctx, api, url, headers, "gpcheck-prometheus/0.1", r);
    curl_free(url);
    *ms += r->ms;
    if (r->rc != CURLE_OK) {
        char what[128];
        snprintf(what, sizeof what, "%s: Prometheus", name);
        gcp_transport_failure(res, what, r);
        return res->outcome;
    }
    /* Before anything of the body is cut to fit a message. */
    gcp_scrub(r->body.data, r->body.cap + 1, token);
    prom_judge(r->status, r->body.data, strlen(r->body.data), &a);
    gp_outcome o = prom_outcome(&a, on_empty, api->in_warmup(ctx), &value);
    if (o == GP_READY) {
        api->metric(ctx, name, value);
        gcp_part_set(res, o, "%s %g", name, value);
    } else {
        describe(name, expr, &a, o, api->in_warmup(ctx), token != NULL, res);
    }
    return o;
}

static void append(char *msg, size_t cap, const char *piece)
{
    size_t n = strlen(msg);
    if (n < cap)
        snprintf(msg + n, cap - n, "%s%s", n ? "; " : "", piece);
}

static gp_outcome check(gp_ctx *ctx, const gp_api *api)
{
    const char *const *names, *const *exprs;
    size_t n = api->opt_family(ctx, "query", &names, &exprs);
    prom_on_empty on_empty;
    gcp_resp r;
    gcp_part part = {GP_READY, ""};
    gp_outcome worst = GP_READY;
    struct curl_slist *h = NULL;
    char *token = NULL, *auth = NULL, msg[3000] = "";
    double ms = 0;
    size_t done = 0;

    if (prom_parse_on_empty(api->opt_string(ctx, "on_empty"), &on_empty) < 0) {
        api->message(ctx, "option on_empty: not transient, fatal or zero");
        return GP_FATAL;
    }
    memset(&r, 0, sizeof r);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
        gp_curl_body_init(&r.body, PROM_MAX_BODY) < 0) {
        api->message(ctx, "cannot initialise libcurl");
        curl_global_cleanup();
        return GP_UNKNOWN;
    }
    gp_curl_log_version(ctx, api);
    /* 1. the token, if any */
    token = gcp_get_token(ctx, api, &r, NULL, &part);
    if (!token && part.outcome != GP_READY) {
        worst = part.outcome;
        append(msg, sizeof msg, part.text);
        goto out;
    }
    api->secret(ctx, token); /* ABI 1.2: fetched at run time, masked */
    if (token) {
        size_t alen = strlen("Authorization: Bearer ") + strlen(token) + 1;
        auth = malloc(alen);
        if (auth) {
            snprintf(auth, alen, "Authorization: Bearer %s", token);
            h = curl_slist_append(NULL, auth);
        }
    }
    struct curl_slist *h2 = curl_slist_append(h, "Accept: application/json");
    if (!h2 || (token && !h)) {
        worst = GP_UNKNOWN;
        append(msg, sizeof msg, "out of memory");
        goto out;
    }
    h = h2;
    /* 2. each query in turn; a fatal one ends the attempt */
    for (size_t i = 0;
         i < n && gcp_outcome_rank(worst) < gcp_outcome_rank(GP_UNKNOWN); i++) {
        if (api->time_left_ms(ctx) <= 0) {
            gcp_part_set(&part, GP_TRANSIENT, "%s: not asked, no time left",
                         names[i]);
            worst = gcp_outcome_rank(GP_TRANSIENT) > gcp_outcome_rank(worst)
                        ? GP_TRANSIENT
                        : worst;
            append(msg, sizeof msg, part.text);
            continue;
        }
        gp_outcome o = one_query(ctx, api, names[i], exprs[i], h, token,
                                 on_empty, &r, &ms, &part);
        if (gcp_outcome_rank(o) > gcp_outcome_rank(worst))
            worst = o;
        append(msg, sizeof msg, part.text);
        done++;
    }
    api->metric(ctx, "query_time", ms);
    /* 3. every query's piece, and how long they took */
    {
        char tail[64];
        snprintf(tail, sizeof tail, " (%zu quer%s in %.0f ms)", done,
                 done == 1 ? "y" : "ies", ms);
        size_t len = strlen(msg);
        if (len + strlen(tail) < sizeof msg)
            memcpy(msg + len, tail, strlen(tail) + 1);
    }
out:
    gcp_scrub(msg, sizeof msg, token);
    api->message(ctx, "%s", msg);
    curl_slist_free_all(h);
    gp_sdk_free_secret(auth);
    gp_sdk_free_secret(token);
    gp_curl_body_free(&r.body);
    curl_global_cleanup();
    return worst;
}

/*
 * validate() (ABI 1.2): the URLs, one token source at most, a usable
 * token, a query in every query.NAME, and `units` naming queries only.
 */
static void validate(gp_ctx *ctx, const gp_api *api)
{
    const char *const *names, *const *exprs, *const *units;
    size_t n = api->opt_family(ctx, "query", &names, &exprs);
    size_t nu = api->opt_list(ctx, "units", &units);
    const char *token = api->opt_string(ctx, "token");
    const char *file = api->opt_string(ctx, "token_file");
    const char *meta = api->opt_string(ctx, "metadata_url");

    gcp_validate_url(ctx, api, "url");
    gcp_validate_url(ctx, api, "metadata_url");
    if ((token && *token) + (file && *file) + (meta && *meta) > 1)
        api->invalid(ctx, "token",
                     "set only one of token, token_file and metadata_url");
    if (token && *token && !gcp_token_ok(token))
        api->invalid(ctx, "token", "is not one printable word");
    for (size_t i = 0; i < n; i++) {
        const char *e = exprs[i];
        while (*e == ' ' || *e == '\t')
            e++;
        if (!*e)
            api->invalid(ctx, "query", "query.%s is empty", names[i]);
    }
    for (size_t k = 0; k < nu; k++) {
        size_t len = strcspn(units[k], ":");
        while (len > 0 && units[k][len - 1] == ' ')
            len--;
        int found = 0;
        for (size_t i = 0; i < n; i++)
            found |= strlen(names[i]) == len &&
                     strncmp(names[i], units[k], len) == 0;
        if (!found)
            api->invalid(ctx, "units", "'%.*s' names no query.%.*s", (int)len,
                         units[k], (int)len, units[k]);
    }
}

static const gp_plugin prom_plugin = {
    GP_PLUGIN_HEADER,
    .name = "prometheus",
    .version = "0.1.0",
    .summary = "PromQL instant queries (Prometheus, Cloud Monitoring), each "
               "result a metric for warn_if / fail_if",
    .options = prom_options,
    .metrics = prom_metrics,
    .check = check,
    .validate = validate,
};

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    return &prom_plugin;
}
