/*
 * plugins/clickhouse/clickhouse.c - the `clickhouse` probe: does ClickHouse
 * answer a query over its HTTP interface, with the configured credentials,
 * and (optionally) with the expected value?
 *
 * One attempt reads top to bottom:
 *   1. read the options: the base url (credentials in it are refused), the
 *      password from `password` or `password_file`;
 *   2. GET <url>/ping, which a ready server answers "Ok.";
 *   3. POST the query to <url>/ on the same connection, with the user and
 *      password in X-ClickHouse-User / X-ClickHouse-Key (never in the URL),
 *      `database` and `max_execution_time` (from the time left) as URL
 *      parameters;
 *   4. read the answer: an exception (X-ClickHouse-Exception-Code, or
 *      "Code: NNN ... DB::Exception" in the body, also in a 200 body) is
 *      classified by its code; a single value is compared with `expect`
 *      and, when it is a number, reported as the metric `value` (answer.c,
 *      unit-tested beside it, classifies what came back).
 *
 * The url's host is resolved once within the time left (gp_curl_pin_host(),
 * a helper process killed at the deadline) and every request gets
 * CURLOPT_TIMEOUT_MS and CURLOPT_CONNECTTIMEOUT_MS from the time left and
 * CURLOPT_NOSIGNAL; the body is capped at 64 KiB (all from
 * gpcheck/sdk_curl.h, which the http and vpc probes share). Credentials
 * travel only in headers. password_file is a GP_OPT_FILE: the core refuses
 * a file others may read when it reads the config, and masks its content
 * in messages as it masks `password`.
 *
 * The plugin keeps no state: everything belongs to one check() call.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"
#include "gpcheck/sdk_curl.h"

#include "answer.h"

/* A health-check query answers a few bytes; more is a mistake, not data. */
#define CH_MAX_BODY (64 * 1024)
/* Longest password read from password_file. */
#define CH_MAX_PASSWORD 4096
/* How much query text or value goes into a message (CH_SHOW_TEXT,
 * answer.h, is for server text). */
#define CH_SHOW_SHORT 60

static const gp_option ch_options[] = {
    {.key = "url",
     .type = GP_TYPE_STRING,
     .def = "http://127.0.0.1:8123",
     .help = "base URL of the HTTP interface (http or https, no credentials "
             "in it); /ping and the query go below it"},
    {.key = "user",
     .type = GP_TYPE_STRING,
     .help = "user name, sent as X-ClickHouse-User (the server's `default` "
             "when unset)"},
    {.key = "password",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_SECRET,
     .help = "password, sent as X-ClickHouse-Key (never printed)"},
    {.key = "password_file",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_FILE,
     .help = "file holding the password (one trailing newline is ignored); "
             "refused when group- or world-accessible"},
    {.key = "query",
     .type = GP_TYPE_STRING,
     .def = "SELECT 1",
     .help = "query to run; its single value becomes the metric `value` "
             "when it is a number"},
    {.key = "expect",
     .type = GP_TYPE_STRING,
     .help = "the single value the query must return (compared as text)"},
    {.key = "database",
     .type = GP_TYPE_STRING,
     .help = "database the query runs in (the user's default when unset)"},
    {.key = "ca_file",
     .type = GP_TYPE_STRING,
     .help = "PEM file of CA certificates to verify an https server with"},
    {.key = "insecure",
     .type = GP_TYPE_BOOLEAN,
     .def = "false",
     .help = "do not verify the https server's certificate and name"},
    {.key = NULL},
};

static const gp_metric ch_metrics[] = {
    {.name = "ping_time",
     .unit = GP_UNIT_MS,
     .help = "GET /ping, connect included"},
    {.name = "query_time",
     .unit = GP_UNIT_MS,
     .help = "the query's request, from sending it to the last byte"},
    {.name = "value",
     .unit = GP_UNIT_NONE,
     .help = "the query's single value, when it is a number"},
    {.name = NULL},
};

/* One attempt's state; lives on check()'s stack. */
typedef struct probe {
    gp_ctx *ctx;
    const gp_api *api;
    CURL *curl;
    CURLU *base;    /* the parsed `url` option */
    char where[96]; /* "host:port", for messages */
    char errbuf[CURL_ERROR_SIZE];
    char *password; /* from `password` or `password_file`, or NULL */
    struct curl_slist *headers;
    struct curl_slist *pins; /* the url's host -> addresses, for curl */
    gp_curl_body body;       /* the first CH_MAX_BODY bytes */
    long exception_code;     /* X-ClickHouse-Exception-Code, or -1 */
    long status;             /* HTTP status of the last response */
    double elapsed;          /* ms, of the last request */
} probe;

/* ------------------------------------------------------------------------ */
/* The password.                                                             */

/* From `password` or `password_file` (gpcheck refused, with the config, a
 * file others may read; the SDK checks the opened file again). */
static gp_outcome load_password(probe *p)
{
    char err[640];

    if (gp_sdk_secret(p->ctx, p->api, "password", "password_file",
                      CH_MAX_PASSWORD, &p->password, err, sizeof err) < 0) {
        int e = errno;

        p->api->message(p->ctx, "%s", err);
        return e == ENOMEM ? GP_UNKNOWN : GP_FATAL;
    }
    /* A header value cannot hold a line break: it would split the request. */
    if (p->password && strpbrk(p->password, "\r\n")) {
        p->api->message(p->ctx, "the password (password or password_file) "
                                "has a line break");
        return GP_FATAL;
    }
    return GP_READY;
}

/* ------------------------------------------------------------------------ */
/* The base URL.                                                             */

/* An http(s) URL without credentials: ours go in headers. */
static gp_outcome parse_url(probe *p, const char *url)
{
    char err[640];

    if (gp_curl_check_url(
            "url", url, "use user and password (or password_file) instead",
            &p->base, p->where, sizeof p->where, err, sizeof err) < 0) {
        int e = errno;

        p->api->message(p->ctx, "%s", err);
        return e == ENOMEM ? GP_UNKNOWN : GP_FATAL;
    }
    return GP_READY;
}

/*
 * The URL of one request: the base path with a trailing slash, then `leaf`
 * ("ping" or ""), and the extra query parameters (each "key=value", the
 * value URL-encoded by curl). Returns a curl_free() string or NULL.
 */
static char *request_url(const probe *p, const char *leaf,
                         const char *const *params, size_t nparams)
{
    CURLU *u = curl_url_dup(p->base);
    char *path = NULL, *url = NULL;
    char buf[2048];

    if (!u)
        return NULL;
    if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
        size_t n = strlen(path);
        int slash = n > 0 && path[n - 1] == '/';

        snprintf(buf, sizeof buf, "%s%s%s", path, slash ? "" : "/", leaf);
        curl_free(path);
        if (curl_url_set(u, CURLUPART_PATH, buf, 0) != CURLUE_OK)
            goto out;
    }
    for (size_t i = 0; i < nparams; i++)
        if (curl_url_set(u, CURLUPART_QUERY, params[i],
                         CURLU_APPENDQUERY | CURLU_URLENCODE) != CURLUE_OK)
            goto out;
    curl_url_get(u, CURLUPART_URL, &url, 0);
out:
    curl_url_cleanup(u);
    return url;
}

/* ------------------------------------------------------------------------ */
/* libcurl.                                                                  */

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    probe *p = userdata;
    size_t n = size * nmemb;
    static const char name[] = "X-ClickHouse-Exception-Code:";

    if (n > sizeof name - 1 && !strncasecmp(data, name, sizeof name - 1)) {
        char value[32];
        size_t vlen = n - (sizeof name - 1);
        char *end = NULL;

        if (vlen >= sizeof value)
            vlen = sizeof value - 1;
        memcpy(value, data + sizeof name - 1, vlen);
        value[vlen] = '\0';
        long code = strtol(value, &end, 10);
        if (end != value && code >= 0)
            p->exception_code = code;
    }
    return n;
}

static gp_outcome setup_curl(probe *p)
{
    const char *ca_file = p->api->opt_string(p->ctx, "ca_file");
    int insecure = p->api->opt_boolean(p->ctx, "insecure");
    CURL *c = gp_curl_easy(p->errbuf, &p->body, "gpcheck-clickhouse/0.1.0");

    if (!c) {
        p->api->message(p->ctx, "cannot initialise libcurl");
        return GP_UNKNOWN;
    }
    p->curl = c;
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, p);
    if (ca_file && *ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
    if (insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return GP_READY;
}

/*
 * One request bounded by the time left. `post` NULL means GET. Fills
 * p->status, p->body, p->exception_code and p->elapsed; returns curl's
 * result (CURLE_WRITE_ERROR with body.truncated set when the cap was hit).
 */
static CURLcode perform(probe *p, const char *url, const char *post)
{
    CURL *c = p->curl;

    p->status = 0;
    gp_curl_body_reset(&p->body);
    p->exception_code = -1;
    p->errbuf[0] = '\0';
    p->elapsed = 0;
    if (gp_curl_set_deadline(c, p->ctx, p->api) < 0) {
        snprintf(p->errbuf, sizeof p->errbuf, "no time left");
        return CURLE_OPERATION_TIMEDOUT;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (post) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, p->headers);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    }

    CURLcode rc = curl_easy_perform(c);

    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &p->status);
    p->elapsed = gp_curl_total_ms(c);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* ClickHouse's answers.                                                     */

/* An exception from the query -> outcome and message. */
static gp_outcome exception_outcome(const probe *p, long code, const char *text)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;

    switch (ch_exception_kind_of(code)) {
    case CH_EXC_AUTH:
        api->message(ctx, "authentication failed at %s: %s", p->where, text);
        return GP_FATAL;
    /* The schema is not made yet: in the warmup an init script or the
     * first migration may be about to create it (a database and its table
     * are made one after the other); after it, a configuration error. */
    case CH_EXC_DATABASE:
        api->message(ctx, "unknown database at %s: %s", p->where, text);
        return api->in_warmup(ctx) ? GP_TRANSIENT : GP_FATAL;
    case CH_EXC_TABLE:
        api->message(ctx, "unknown table at %s: %s", p->where, text);
        return api->in_warmup(ctx) ? GP_TRANSIENT : GP_FATAL;
    case CH_EXC_SYNTAX:
        api->message(ctx, "syntax error in the query: %s", text);
        return GP_FATAL;
    case CH_EXC_TRANSIENT:
        api->message(ctx, "%s (HTTP %ld): %s", p->where, p->status, text);
        return GP_TRANSIENT;
    case CH_EXC_OTHER: break;
    }
    api->message(ctx, "the query failed at %s (HTTP %ld): %s", p->where,
                 p->status, text);
    return GP_FATAL;
}

/* An HTTP error status without a ClickHouse exception (a proxy, a server
 * shutting down, something that is not ClickHouse). */
static gp_outcome status_outcome(probe *p, const char *what)
{
    char shown[CH_SHOW_SHORT * 4 + 8];
    size_t len = ch_trim_right(p->body.data, p->body.len);

    gp_sdk_printable(p->body.data, len, CH_SHOW_SHORT, shown, sizeof shown);
    p->api->message(p->ctx, "%s: HTTP %ld from %s: \"%s\"", what, p->status,
                    p->where, shown);
    return ch_status_outcome(p->status);
}

/* Step 2: GET /ping must answer "Ok.". */
static gp_outcome ping(probe *p)
{
    char *url = request_url(p, "ping", NULL, 0);

    if (!url) {
        p->api->message(p->ctx, "cannot build the /ping URL");
        return GP_UNKNOWN;
    }
    CURLcode rc = perform(p, url, NULL);
    curl_free(url);

    if (rc != CURLE_OK && !p->body.truncated)
        return gp_curl_outcome(p->ctx, p->api, p->curl, rc, p->errbuf,
                               "GET /ping", p->where);
    p->api->metric(p->ctx, "ping_time", p->elapsed);
    if (p->status != 200)
        return status_outcome(p, "GET /ping");
    size_t len = ch_trim_right(p->body.data, p->body.len);
    if (p->body.truncated || strcmp(p->body.data, "Ok.") != 0) {
        char shown[CH_SHOW_SHORT * 4 + 8];

        gp_sdk_printable(p->body.data, len, CH_SHOW_SHORT, shown, sizeof shown);
        p->api->message(p->ctx,
                        "GET /ping at %s answered \"%s\", not \"Ok.\": not a "
                        "ClickHouse HTTP interface?",
                        p->where, shown);
        return GP_FATAL;
    }
    return GP_READY;
}

/* POST the query with max_execution_time from the time left, or without
 * it (`limit` 0). */
static CURLcode post_query(probe *p, const char *query, int limit)
{
    const char *database = p->api->opt_string(p->ctx, "database");
    const char *params[2];
    size_t n = 0;
    char db_param[512], time_param[64];

    if (database && *database) {
        /* ?database=, not X-ClickHouse-Database: 18.x ignores the header. */
        snprintf(db_param, sizeof db_param, "database=%s", database);
        params[n++] = db_param;
    }
    if (limit) {
        /* Whole seconds, rounded down so that the server gives up before
         * we do, but at least 1 (0 would mean no limit). */
        int64_t secs = p->api->time_left_ms(p->ctx) / 1000;

        snprintf(time_param, sizeof time_param, "max_execution_time=%lld",
                 (long long)(secs < 1 ? 1 : secs));
        params[n++] = time_param;
    }
    char *url = request_url(p, "", params, n);
    if (!url) {
        snprintf(p->errbuf, sizeof p->errbuf, "cannot build the query URL");
        return CURLE_URL_MALFORMAT;
    }
    CURLcode rc = perform(p, url, query);
    curl_free(url);
    return rc;
}

/* Step 3: the query, with credentials in headers. */
static gp_outcome run_query(probe *p)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    const char *query = api->opt_string(ctx, "query");
    char text[CH_TEXT_BUF];

    CURLcode rc = post_query(p, query, 1);
    long code = rc == CURLE_OK ? ch_find_exception(p->body.data, p->body.len,
                                                   p->status, text, sizeof text)
                               : -1;

    /* A readonly=1 user may not change any setting, max_execution_time
     * included (code 164, READONLY); curl's timeout still bounds us. */
    if (code == 164 && strstr(text, "max_execution_time")) {
        api->log(ctx, GP_LOG_DEBUG,
                 "the user is readonly: querying without max_execution_time");
        rc = post_query(p, query, 0);
        code = rc == CURLE_OK ? ch_find_exception(p->body.data, p->body.len,
                                                  p->status, text, sizeof text)
                              : -1;
    }
    if (rc != CURLE_OK && !p->body.truncated)
        return gp_curl_outcome(p->ctx, p->api, p->curl, rc, p->errbuf,
                               "the query", p->where);
    api->metric(ctx, "query_time", p->elapsed);
    if (p->body.truncated) {
        api->message(ctx,
                     "the query returned more than %d KiB; a health-check "
                     "query should return one value",
                     CH_MAX_BODY / 1024);
        return GP_FATAL;
    }
    if (p->status == 503)
        return status_outcome(p, "the query"); /* unavailable: try again */
    if (p->exception_code >= 0 && code < 0)
        snprintf(text, sizeof text, "exception code %ld", p->exception_code);
    if (p->exception_code >= 0)
        code = p->exception_code;
    if (code >= 0)
        return exception_outcome(p, code, text);
    if (p->status != 200)
        return status_outcome(p, "the query");
    return GP_READY;
}

/* Step 4: the value against `expect`, and the metric `value`. */
static gp_outcome judge_value(probe *p, double ping_ms)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    const char *query = api->opt_string(ctx, "query");
    const char *expect = api->opt_string(ctx, "expect");
    char *value = p->body.data;
    /* One trailing newline ends the last row; it is not part of the value. */
    size_t len = p->body.len;
    char shown_q[CH_SHOW_SHORT * 4 + 8], shown_v[CH_SHOW_SHORT * 4 + 8];
    double number;

    int single = ch_single_value(value, &len);

    if (single && ch_parse_double(value, &number) == 0)
        api->metric(ctx, "value", number);

    gp_sdk_printable(query, strlen(query), CH_SHOW_SHORT, shown_q,
                     sizeof shown_q);
    gp_sdk_printable(value, len, CH_SHOW_SHORT, shown_v, sizeof shown_v);
    if (expect && *expect && (!single || strcmp(value, expect) != 0)) {
        char shown_e[CH_SHOW_SHORT * 4 + 8];

        gp_sdk_printable(expect, strlen(expect), CH_SHOW_SHORT, shown_e,
                         sizeof shown_e);
        /* The server answers; the data is not there yet (a migration, a
         * replica catching up): worth asking again. */
        if (len == 0)
            api->message(ctx, "\"%s\" returned no rows, expected \"%s\"",
                         shown_q, shown_e);
        else if (!single)
            api->message(ctx,
                         "\"%s\" returned more than one value (\"%s\"), "
                         "expected \"%s\"",
                         shown_q, shown_v, shown_e);
        else
            api->message(ctx, "\"%s\" returned \"%s\", expected \"%s\"",
                         shown_q, shown_v, shown_e);
        return GP_TRANSIENT;
    }
    api->message(ctx, "%s: \"%s\" returned \"%s\" in %.1f ms (ping %.1f ms)",
                 p->where, shown_q, shown_v, p->elapsed, ping_ms);
    return GP_READY;
}

static gp_outcome add_credentials(probe *p)
{
    const char *user = p->api->opt_string(p->ctx, "user");
    struct curl_slist *h = NULL, *next;
    char line[CH_MAX_PASSWORD + 64];

    if (user && *user) {
        if (strpbrk(user, "\r\n")) {
            p->api->message(p->ctx, "option user has a line break");
            return GP_FATAL;
        }
        snprintf(line, sizeof line, "X-ClickHouse-User: %s", user);
        if (!(next = curl_slist_append(h, line)))
            goto oom;
        h = next;
    }
    if (p->password) {
        snprintf(line, sizeof line, "X-ClickHouse-Key: %s", p->password);
        next = curl_slist_append(h, line);
        /* The copy on the stack goes; curl's copy goes in cleanup(). */
        volatile char *v = line;
        for (size_t i = 0; i < sizeof line; i++)
            v[i] = 0;
        if (!next)
            goto oom;
        h = next;
    }
    /* No "Expect: 100-continue" round trip for long queries. */
    if (!(next = curl_slist_append(h, "Expect:")))
        goto oom;
    p->headers = next;
    return GP_READY;
oom:
    curl_slist_free_all(h);
    p->api->message(p->ctx, "out of memory");
    return GP_UNKNOWN;
}

static void cleanup(probe *p)
{
    /* curl_slist_free_all does not wipe: do it for the key's line. */
    for (struct curl_slist *h = p->headers; h; h = h->next)
        if (!strncmp(h->data, "X-ClickHouse-Key:", 17)) {
            volatile char *v = h->data;
            for (size_t i = 0; h->data[i]; i++)
                v[i] = 0;
        }
    curl_slist_free_all(p->headers);
    if (p->curl)
        curl_easy_cleanup(p->curl);
    curl_slist_free_all(p->pins);
    if (p->base)
        curl_url_cleanup(p->base);
    gp_curl_body_free(&p->body);
    gp_sdk_free_secret(p->password);
    curl_global_cleanup();
}

static gp_outcome check(gp_ctx *ctx, const gp_api *api)
{
    probe p = {.ctx = ctx, .api = api, .exception_code = -1};
    const char *url = api->opt_string(ctx, "url");
    const char *query = api->opt_string(ctx, "query");
    gp_outcome out;

    if (!query || !*query) {
        api->message(ctx, "option query is empty");
        return GP_FATAL;
    }
    /* Every attempt is a fresh process: initialise libcurl (and its TLS
     * library) here, not when the plugin is loaded before the fork. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        api->message(ctx, "cannot initialise libcurl");
        return GP_UNKNOWN;
    }
    if (gp_curl_body_init(&p.body, CH_MAX_BODY) < 0) {
        api->message(ctx, "out of memory");
        out = GP_UNKNOWN;
        goto done;
    }
    if ((out = parse_url(&p, url ? url : "")) != GP_READY ||
        (out = load_password(&p)) != GP_READY ||
        (out = add_credentials(&p)) != GP_READY ||
        (out = setup_curl(&p)) != GP_READY)
        goto done;
    gp_curl_log_version(ctx, api);

    /* Once: both requests go to the url's host. */
    gp_sdk_connect_error why;
    char err[300];
    if (gp_curl_pin_host(p.curl, ctx, api, url, &p.pins, &why, err,
                         sizeof err) < 0) {
        out = gp_curl_pin_outcome(ctx, api, why, err, "GET /ping");
        goto done;
    }
    if ((out = ping(&p)) != GP_READY)
        goto done;
    double ping_ms = p.elapsed;
    if ((out = run_query(&p)) != GP_READY)
        goto done;
    out = judge_value(&p, ping_ms);
done:
    cleanup(&p);
    return out;
}

/*
 * validate() (ABI 1.2): the base url through libcurl's URL parser (CURLU:
 * http or https, no credentials in it), and a password that could not go
 * in a header (a line break), at config time.
 */
static void validate(gp_ctx *ctx, const gp_api *api)
{
    const char *url = api->opt_string(ctx, "url");
    const char *password = api->opt_string(ctx, "password");
    char err[640], where[96];

    if (url &&
        gp_curl_check_url("url", url,
                          "use user and password (or password_file) instead",
                          NULL, where, sizeof where, err, sizeof err) < 0 &&
        errno != ENOMEM)
        api->invalid(ctx, "url", "%s",
                     strncmp(err, "option url ", 11) == 0 ? err + 11 : err);
    if (password && strpbrk(password, "\r\n"))
        api->invalid(ctx, "password", "has a line break");
}

static const gp_plugin ch_plugin = {
    GP_PLUGIN_HEADER,
    .name = "clickhouse",
    .version = "0.1.0",
    .summary = "ClickHouse answers /ping and a query over its HTTP interface",
    .options = ch_options,
    .metrics = ch_metrics,
    .check = check,
    .validate = validate,
};

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    return &ch_plugin;
}
