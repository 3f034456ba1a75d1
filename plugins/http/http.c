/*
 * plugins/http/http.c - the `http` probe: does an HTTP(S) endpoint answer
 * a request with an expected status (and, optionally, body text)?
 *
 * One attempt reads top to bottom:
 *   1. read and check the options: the URL (credentials in it are
 *      refused: they belong in user/password, which stay secret), method
 *      and body, request headers, the list of expected statuses (codes
 *      like 301 and classes like 2xx: match.c, unit-tested beside it);
 *   2. one request with libcurl, bounded by the attempt's time left
 *      (CURLOPT_TIMEOUT_MS / CURLOPT_CONNECTTIMEOUT_MS, name resolution
 *      included with curl's threaded resolver, CURLOPT_NOSIGNAL), reading
 *      at most the first 64 KiB of the body (gpcheck/sdk_curl.h);
 *   3. judge the status and the body: expected status (and text): ready;
 *      refused, timed out, 5xx: transient; TLS verification failure,
 *      401/403, a body without the text, any other status: fatal.
 *
 * The plugin keeps no state: everything belongs to one check() call.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"
#include "gpcheck/sdk_curl.h"

#include "match.h"

/* How much of the body we read: enough for any health page's text; a
 * longer body ends the transfer there (the status has arrived by then). */
#define HTTP_MAX_BODY (64 * 1024)
/* How much body text, URL or expected text goes into a message. */
#define HTTP_SHOW 60
#define HTTP_SHOW_BUF (HTTP_SHOW * 4 + 8)
#define HTTP_URL_BUF 512
/* How much of the URL goes into a message. */
#define HTTP_SHOW_URL 120

static const gp_option http_options[] = {
    {.key = "url",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_REQUIRED,
     .help = "http:// or https:// URL to request (no credentials in it: use "
             "user and password)"},
    {.key = "method",
     .type = GP_TYPE_STRING,
     .def = "GET",
     .choices = "GET|HEAD|POST",
     .help = "request method"},
    {.key = "body",
     .type = GP_TYPE_STRING,
     .help = "request body, sent as is (method POST only)"},
    {.key = "header",
     .type = GP_TYPE_LIST,
     .help = "request headers, each `Name: value` (a value cannot hold a "
             "comma: the list splits there)"},
    {.key = "expect_status",
     .type = GP_TYPE_LIST,
     .def = "2xx",
     .help = "statuses that mean ready: codes (200, 301) and classes "
             "(2xx, 3xx)"},
    {.key = "expect_body",
     .type = GP_TYPE_STRING,
     .help = "text that must appear in the first 64 KiB of the body"},
    {.key = "follow_redirects",
     .type = GP_TYPE_BOOLEAN,
     .def = "false",
     .help = "follow up to 10 redirects and judge the last response"},
    {.key = "ca_file",
     .type = GP_TYPE_STRING,
     .help = "PEM file of CA certificates to verify the server with (instead "
             "of the system's)"},
    {.key = "cert_file",
     .type = GP_TYPE_STRING,
     .help = "PEM client certificate for TLS client authentication"},
    {.key = "key_file",
     .type = GP_TYPE_STRING,
     .help = "PEM private key of cert_file (unencrypted), when not in "
             "cert_file"},
    {.key = "insecure",
     .type = GP_TYPE_BOOLEAN,
     .def = "false",
     .help = "do not verify the server's certificate and name"},
    {.key = "user",
     .type = GP_TYPE_STRING,
     .help = "user name for HTTP Basic authentication"},
    {.key = "password",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_SECRET,
     .help = "password for HTTP Basic authentication (never printed)"},
    {.key = NULL},
};

static const gp_metric http_metrics[] = {
    {.name = "response_time",
     .unit = GP_UNIT_MS,
     .help = "from the start of the request to the last byte read "
             "(redirects included)"},
    {.name = "status", .unit = GP_UNIT_NONE, .help = "the HTTP status code"},
    {.name = "size",
     .unit = GP_UNIT_BYTES,
     .help = "body size: bytes received, or Content-Length when the body "
             "was cut at 64 KiB"},
    {.name = NULL},
};

/* One attempt's state; lives on check()'s stack. */
typedef struct probe {
    gp_ctx *ctx;
    const gp_api *api;
    CURL *curl;
    const char *url;
    char where[96]; /* "host:port", for connection-level messages */
    char shown_url[HTTP_URL_BUF]; /* the url, cut and made printable */
    char errbuf[CURL_ERROR_SIZE];
    char expected[HTTP_STATUSES]; /* [code] != 0: that status means ready */
    char expected_text[256];
    struct curl_slist *headers;
    struct curl_slist *pins; /* the url's host -> addresses, for curl */
    gp_curl_body body;       /* the first HTTP_MAX_BODY bytes */
} probe;

/* ------------------------------------------------------------------------ */
/* Options.                                                                  */

/* An http(s) URL without credentials: the url is printed by `gpcheck
 * list` and in reports; a password belongs in the secret option. */
static gp_outcome check_url(probe *p)
{
    char err[640];

    if (gp_curl_check_url("url", p->url, "use user and password instead", NULL,
                          p->where, sizeof p->where, err, sizeof err) < 0) {
        int e = errno;

        p->api->message(p->ctx, "%s", err);
        return e == ENOMEM ? GP_UNKNOWN : GP_FATAL;
    }
    gp_sdk_printable(p->url, strlen(p->url), HTTP_SHOW_URL, p->shown_url,
                     sizeof p->shown_url);
    return GP_READY;
}

/*
 * expect_status: "200", "301", "2xx" ... into p->expected. The schema
 * cannot express this (choices are fixed strings), so check() refuses a
 * bad entry as a fatal configuration error.
 */
static gp_outcome parse_expect_status(probe *p)
{
    const char *const *items = NULL;
    size_t n = p->api->opt_list(p->ctx, "expect_status", &items);
    const char *bad = NULL;

    if (http_expect_status(items, n, p->expected, p->expected_text,
                           sizeof p->expected_text, &bad) < 0) {
        char shown[HTTP_SHOW_BUF];

        gp_sdk_printable(bad, strlen(bad), HTTP_SHOW, shown, sizeof shown);
        p->api->message(p->ctx,
                        "bad option value: expect_status '%s' is neither a "
                        "status code (100-599) nor a class (1xx-5xx)",
                        shown);
        return GP_FATAL;
    }
    return GP_READY;
}

/* `header`: "Name: value" each, the name an HTTP token. */
static gp_outcome parse_headers(probe *p)
{
    const char *const *items = NULL;
    size_t n = p->api->opt_list(p->ctx, "header", &items);

    for (size_t i = 0; i < n; i++) {
        const char *h = items[i];

        if (!http_header_ok(h)) {
            char shown[HTTP_SHOW_BUF];

            /* Only the name part, as validate() shows it: the value may be
             * a credential. */
            gp_sdk_printable(h, http_header_shown_len(h), HTTP_SHOW, shown,
                             sizeof shown);
            p->api->message(p->ctx,
                            "bad option value: header '%s...' is not `Name: "
                            "value`",
                            shown);
            return GP_FATAL;
        }
        struct curl_slist *next = curl_slist_append(p->headers, h);
        if (!next) {
            p->api->message(p->ctx, "out of memory");
            return GP_UNKNOWN;
        }
        p->headers = next;
    }
    return GP_READY;
}

/* Options that only make sense together. */
static gp_outcome check_combinations(probe *p)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    const char *method = api->opt_string(ctx, "method");
    const char *user = api->opt_string(ctx, "user");
    const char *cert = api->opt_string(ctx, "cert_file");

    if (api->opt_isset(ctx, "body") && strcmp(method, "POST") != 0) {
        api->message(ctx, "option body needs method = POST (method is %s)",
                     method);
        return GP_FATAL;
    }
    if (api->opt_isset(ctx, "expect_body") && strcmp(method, "HEAD") == 0) {
        api->message(ctx, "option expect_body needs a body; HEAD has none");
        return GP_FATAL;
    }
    if (api->opt_isset(ctx, "key_file") && !(cert && *cert)) {
        api->message(ctx, "option key_file needs cert_file");
        return GP_FATAL;
    }
    if (api->opt_isset(ctx, "password") && !(user && *user)) {
        api->message(ctx, "option password needs user");
        return GP_FATAL;
    }
    return GP_READY;
}

/* ------------------------------------------------------------------------ */
/* libcurl.                                                                  */

static gp_outcome setup_curl(probe *p)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    const char *method = api->opt_string(ctx, "method");
    const char *opt;
    CURL *c = gp_curl_easy(p->errbuf, &p->body, "gpcheck-http/0.1.0");

    if (!c) {
        api->message(ctx, "cannot initialise libcurl");
        return GP_UNKNOWN;
    }
    p->curl = c;
    curl_easy_setopt(c, CURLOPT_URL, p->url);
    if (api->opt_boolean(ctx, "follow_redirects")) {
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    }
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "POST") == 0) {
        const char *body = api->opt_string(ctx, "body");

        body = body ? body : "";
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    if (p->headers)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, p->headers);

    if ((opt = api->opt_string(ctx, "user")) && *opt) {
        const char *password = api->opt_string(ctx, "password");

        /* Basic only; curl sends it to the URL's host, not to a host a
         * redirect leads to. */
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, opt);
        curl_easy_setopt(c, CURLOPT_PASSWORD, password ? password : "");
    }
    if ((opt = api->opt_string(ctx, "ca_file")) && *opt)
        curl_easy_setopt(c, CURLOPT_CAINFO, opt);
    if ((opt = api->opt_string(ctx, "cert_file")) && *opt)
        curl_easy_setopt(c, CURLOPT_SSLCERT, opt);
    if ((opt = api->opt_string(ctx, "key_file")) && *opt)
        curl_easy_setopt(c, CURLOPT_SSLKEY, opt);
    if (api->opt_boolean(ctx, "insecure")) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return GP_READY;
}

/* A failed transfer: refused, timed out, TLS, ... -> outcome and message.
 * A refused client certificate looks like any cut-short handshake to
 * curl; said as it is, it is fatal. */
static gp_outcome transport_outcome(probe *p, CURLcode rc)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    const char *text = p->errbuf[0] ? p->errbuf : curl_easy_strerror(rc);

    if (gp_curl_classify(rc) == GP_CURL_OTHER &&
        http_client_cert_refused(text)) {
        api->message(
            ctx, "%s refused the TLS client certificate%s: %s", p->where,
            api->opt_isset(ctx, "cert_file") ? "" : " (none was sent)", text);
        return GP_FATAL;
    }
    return gp_curl_outcome(ctx, api, p->curl, rc, p->errbuf, NULL, p->where);
}

/* ------------------------------------------------------------------------ */
/* Judging the response.                                                     */

/* A status outside expect_status -> outcome and message. */
static gp_outcome unexpected_status(probe *p, long status)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    const char *user = api->opt_string(ctx, "user");
    char *location = NULL;
    char shown[HTTP_URL_BUF];

    if (http_unexpected_outcome(status) == GP_TRANSIENT) {
        api->message(ctx, "HTTP %ld from %s (expected %s)", status,
                     p->shown_url, p->expected_text);
        return GP_TRANSIENT;
    }
    if (status == 401 || status == 403) {
        api->message(ctx, "HTTP %ld from %s: %s (expected %s)", status,
                     p->shown_url,
                     status == 403     ? "forbidden"
                     : (user && *user) ? "credentials refused"
                                       : "authentication required",
                     p->expected_text);
        return GP_FATAL;
    }
    if (status >= 300 && status < 400 &&
        curl_easy_getinfo(p->curl, CURLINFO_REDIRECT_URL, &location) ==
            CURLE_OK &&
        location) {
        gp_sdk_mask_url(location, shown, sizeof shown);
        api->message(ctx,
                     "HTTP %ld from %s, redirected to %s (expected %s; "
                     "follow_redirects is %s)",
                     status, p->shown_url, shown, p->expected_text,
                     api->opt_boolean(ctx, "follow_redirects") ? "on" : "off");
        return GP_FATAL;
    }
    api->message(ctx, "HTTP %ld from %s (expected %s)", status, p->shown_url,
                 p->expected_text);
    return GP_FATAL;
}

static void report_metrics(probe *p, long status, double *ms, double *size)
{
    curl_off_t length = -1;

    *ms = gp_curl_total_ms(p->curl);
    *size = (double)p->body.len;
    /* A body cut at the cap: the server's own figure, when it gave one. */
    if (p->body.truncated &&
        curl_easy_getinfo(p->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
                          &length) == CURLE_OK &&
        length >= 0)
        *size = (double)length;
    p->api->metric(p->ctx, "response_time", *ms);
    p->api->metric(p->ctx, "status", (double)status);
    p->api->metric(p->ctx, "size", *size);
}

static gp_outcome judge(probe *p)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    const char *expect_body = api->opt_string(ctx, "expect_body");
    long status = 0;
    double ms, size;

    curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &status);
    report_metrics(p, status, &ms, &size);
    if (status < 100 || status > 599 || !p->expected[status])
        return unexpected_status(p, status);

    if (!http_body_has(p->body.data, p->body.len, expect_body)) {
        char want[HTTP_SHOW_BUF], got[HTTP_SHOW_BUF];

        gp_sdk_printable(expect_body, strlen(expect_body), HTTP_SHOW, want,
                         sizeof want);
        gp_sdk_printable(p->body.data, p->body.len, HTTP_SHOW, got, sizeof got);
        api->message(ctx,
                     "HTTP %ld from %s, but \"%s\" is not in the %s%zu "
                     "bytes of the body (\"%s\")",
                     status, p->shown_url, want,
                     p->body.truncated ? "first " : "", p->body.len, got);
        /* In warmup the endpoint may still say "starting" with its 200:
         * wait for the text. After it, the answer is not what it should be. */
        return api->in_warmup(ctx) ? GP_TRANSIENT : GP_FATAL;
    }
    api->message(ctx, "HTTP %ld from %s in %.1f ms, %.0f bytes%s", status,
                 p->shown_url, ms, size,
                 expect_body && *expect_body ? ", expected text found" : "");
    return GP_READY;
}

static gp_outcome check(gp_ctx *ctx, const gp_api *api)
{
    probe p = {.ctx = ctx, .api = api, .url = api->opt_string(ctx, "url")};
    gp_outcome out;

    if (!p.url || !*p.url) {
        api->message(ctx, "option url is empty");
        return GP_FATAL;
    }
    /* Every attempt is a fresh process: initialise libcurl (and its TLS
     * library) here, not when the plugin is loaded before the fork. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        api->message(ctx, "cannot initialise libcurl");
        return GP_UNKNOWN;
    }
    if (gp_curl_body_init(&p.body, HTTP_MAX_BODY) < 0) {
        api->message(ctx, "out of memory");
        out = GP_UNKNOWN;
        goto done;
    }
    if ((out = check_url(&p)) != GP_READY ||
        (out = parse_expect_status(&p)) != GP_READY ||
        (out = parse_headers(&p)) != GP_READY ||
        (out = check_combinations(&p)) != GP_READY ||
        (out = setup_curl(&p)) != GP_READY)
        goto done;
    gp_curl_log_version(ctx, api);

    gp_sdk_connect_error why;
    char err[300];
    if (gp_curl_pin_host(p.curl, ctx, api, p.url, &p.pins, &why, err,
                         sizeof err) < 0) {
        out = gp_curl_pin_outcome(ctx, api, why, err, NULL);
        goto done;
    }
    if (gp_curl_set_deadline(p.curl, ctx, api) < 0) {
        api->message(ctx, "no time left for the request to %s", p.where);
        out = GP_TRANSIENT;
        goto done;
    }

    CURLcode rc = curl_easy_perform(p.curl);
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && p.body.truncated))
        out = transport_outcome(&p, rc);
    else
        out = judge(&p);
done:
    curl_slist_free_all(p.headers);
    if (p.curl)
        curl_easy_cleanup(p.curl);
    curl_slist_free_all(p.pins);
    gp_curl_body_free(&p.body);
    curl_global_cleanup();
    return out;
}

/* check_combinations()'s rules, reported at config time. */
static void validate_combinations(gp_ctx *ctx, const gp_api *api)
{
    const char *method = api->opt_string(ctx, "method");
    const char *user = api->opt_string(ctx, "user");
    const char *cert = api->opt_string(ctx, "cert_file");

    if (api->opt_isset(ctx, "body") && strcmp(method, "POST") != 0)
        api->invalid(ctx, "body", "needs method = POST (method is %s)", method);
    if (api->opt_isset(ctx, "expect_body") && strcmp(method, "HEAD") == 0)
        api->invalid(ctx, "expect_body", "needs a body; HEAD has none");
    if (api->opt_isset(ctx, "key_file") && !(cert && *cert))
        api->invalid(ctx, "key_file", "needs cert_file");
    if (api->opt_isset(ctx, "password") && !(user && *user))
        api->invalid(ctx, "password", "needs user");
}

/*
 * validate() (ABI 1.2): the url through libcurl's URL parser (CURLU: an
 * http or https URL without credentials), every expect_status item, every
 * header's `Name: value` form, and the options that need each other; so
 * `gpcheck validate` reports them at their FILE:LINE instead of the first
 * attempt failing. Values are shown through gp_sdk_printable(), the url
 * with its password masked.
 */
static void validate(gp_ctx *ctx, const gp_api *api)
{
    const char *url = api->opt_string(ctx, "url");
    const char *const *items;
    char err[640], where[96], shown[HTTP_SHOW_BUF];
    size_t n;

    if (url &&
        gp_curl_check_url("url", url, "use user and password instead", NULL,
                          where, sizeof where, err, sizeof err) < 0 &&
        errno != ENOMEM)
        api->invalid(ctx, "url", "%s",
                     strncmp(err, "option url ", 11) == 0 ? err + 11 : err);
    n = api->opt_list(ctx, "expect_status", &items);
    for (size_t i = 0; i < n; i++) {
        if (http_status_item(items[i], NULL) < 0) {
            gp_sdk_printable(items[i], strlen(items[i]), HTTP_SHOW, shown,
                             sizeof shown);
            api->invalid(ctx, "expect_status",
                         "'%s' is neither a status code (100-599) nor a "
                         "class (1xx-5xx)",
                         shown);
        }
    }
    n = api->opt_list(ctx, "header", &items);
    for (size_t i = 0; i < n; i++) {
        if (!http_header_ok(items[i])) {
            /* Only the name part: the value may be a credential. */
            gp_sdk_printable(items[i], http_header_shown_len(items[i]),
                             HTTP_SHOW, shown, sizeof shown);
            api->invalid(ctx, "header",
                         "item %zu ('%s...') is not `Name: value` (the name "
                         "an HTTP token)",
                         i + 1, shown);
        }
        /* A credential header's value is secret by the core's own rule
         * (core/secrets.c), which masks it after its scheme: "Bearer ***". */
    }
    validate_combinations(ctx, api);
}

/* gpcheck wait https://[USER:PASSWORD@]HOST/PATH: the URL without its
 * user info, which goes to user and password (Basic authentication). */
static const gp_url_map http_urls[] = {
    {.schemes = "http|https",
     .url = "url",
     .user = "user",
     .password = "password"},
    {.schemes = NULL},
};

static const gp_plugin http_plugin = {
    GP_PLUGIN_HEADER,
    .name = "http",
    .version = "0.1.0",
    .summary = "an HTTP(S) endpoint answers with an expected status and body",
    .options = http_options,
    .metrics = http_metrics,
    .check = check,
    .validate = validate,
    .urls = http_urls,
};

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    return &http_plugin;
}
