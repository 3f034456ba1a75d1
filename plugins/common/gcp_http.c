/*
 * plugins/common/gcp_http.c - the Bearer token, one bounded GET and its
 * failures, and the check of a URL option, shared by the vpc and
 * prometheus probes; see gcp_http.h.
 */
#include "gcp_http.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The token may come from a file or the metadata server; the core learns
 * it (api->secret()) only once the request is done, so the answer is
 * masked here before any of it is cut to fit a message. */
void gcp_scrub(char *buf, size_t cap, const char *secret)
{
    char *tmp;

    /* No strstr() shortcut: the masker also finds the token in the forms
     * a server may echo it in (%XX, base64, JSON escapes). */
    if (!secret || !*secret)
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
int gcp_token_ok(const char *t)
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

/*
 * One GET, bounded by the time left (gp_curl_pin_host() resolves the host
 * within it, gp_curl_set_deadline() bounds the rest), redirects not
 * followed, only http(s) spoken, the body capped.
 */
void gcp_http_get(gp_ctx *ctx, const gp_api *api, const char *url,
                  struct curl_slist *headers, const char *user_agent,
                  gcp_resp *r)
{
    const char *ca_file = api->opt_string(ctx, "ca_file");
    CURL *c;
    struct curl_slist *pins = NULL; /* must outlive c */
    double t0 = gp_sdk_now_ms();

    gp_curl_body_reset(&r->body);
    r->status = 0;
    r->resolve_failed = 0;
    r->err[0] = '\0';
    c = gp_curl_easy(r->err, &r->body, user_agent);
    if (!c) {
        r->rc = CURLE_FAILED_INIT;
        return;
    }
    if (gp_curl_pin_host(c, ctx, api, url, &pins, &r->resolve_why, r->err,
                         sizeof r->err) < 0) {
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
void gcp_transport_failure(gcp_part *res, const char *what, const gcp_resp *r)
{
    const char *detail = r->err[0] ? r->err : curl_easy_strerror(r->rc);

    if (r->rc == CURLE_WRITE_ERROR && r->body.truncated) {
        gcp_part_set(res, GP_FATAL, "%s: answer larger than %d KiB", what,
                     (int)(r->body.cap / 1024));
        return;
    }
    if (r->resolve_failed) {
        gcp_part_set(res,
                     r->resolve_why == GP_SDK_NO_SUCH_HOST ? GP_FATAL
                     : r->resolve_why == GP_SDK_OTHER      ? GP_UNKNOWN
                                                           : GP_TRANSIENT,
                     "%s: %s", what, r->err);
        return;
    }
    switch (gp_curl_classify(r->rc)) {
    case GP_CURL_TIMEOUT:
        gcp_part_set(res, GP_TRANSIENT, "%s: timed out after %.0f ms", what,
                     r->ms);
        return;
    case GP_CURL_TLS_VERIFY:
    case GP_CURL_SETUP:
        gcp_part_set(res, GP_FATAL, "%s: %s", what, detail);
        return;
    case GP_CURL_LOCAL:
        gcp_part_set(res, GP_UNKNOWN, "%s: %s", what, detail);
        return;
    case GP_CURL_CONNECT:
    case GP_CURL_RESOLVE:
    case GP_CURL_OTHER: break;
    }
    /* Refused, unresolvable (curl cannot tell NXDOMAIN from a resolver in
     * trouble), reset, empty reply: the network may come back. */
    gcp_part_set(res, GP_TRANSIENT, "%s: %s", what, detail);
}

/* "PERMISSION_DENIED: Permission denied on resource" from a Google API
 * error body, or the start of whatever else the body is. */
void gcp_error_text(const char *body, size_t len, char *out, size_t outlen)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    json_t *e = root ? json_object_get(root, "error") : NULL;
    const char *status = json_string_value(json_object_get(e, "status"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    size_t o = 0;

    if (msg)
        snprintf(out, outlen, "%s%s%.*s", status ? status : "",
                 status ? ": " : "", GCP_SHOW_TEXT, msg);
    else
        snprintf(out, outlen, "%.*s", GCP_SHOW_TEXT, body);
    json_decref(root);
    /* One line of printable text. */
    for (char *p = out; *p; p++)
        out[o++] = (*p < ' ' || *p == 0x7f) ? ' ' : *p;
    out[o] = '\0';
}

/* ------------------------------------------------------------------------ */
/* The token                                                                 */

/*
 * The access token from the GCE metadata server. The Metadata-Flavor
 * header is what the server demands (it protects against requests forged
 * through a proxy); redirects are not followed for the same reason.
 */
static char *fetch_token(gp_ctx *ctx, const gp_api *api, const char *url,
                         gcp_resp *r, gcp_part *res)
{
    struct curl_slist *h = curl_slist_append(NULL, "Metadata-Flavor: Google");
    char text[GCP_SHOW_TEXT + 64];
    char *token = NULL;

    if (!h) {
        gcp_part_set(res, GP_UNKNOWN, "out of memory");
        return NULL;
    }
    gcp_http_get(ctx, api, url, h, "gpcheck/0.1", r);
    curl_slist_free_all(h);
    if (r->rc != CURLE_OK) {
        gcp_transport_failure(res, "metadata server", r);
        return NULL;
    }
    if (r->status != 200) {
        gcp_error_text(r->body.data, r->body.len, text, sizeof text);
        gcp_part_set(
            res, r->status >= 500 || r->status == 429 ? GP_TRANSIENT : GP_FATAL,
            "metadata server answered %ld: %s", r->status, text);
        return NULL;
    }

    json_t *root = json_loadb(r->body.data, r->body.len, 0, NULL);
    const char *t = json_string_value(json_object_get(root, "access_token"));

    if (!t || !gcp_token_ok(t))
        gcp_part_set(res, GP_FATAL,
                     "metadata server: the answer has no usable access_token");
    else if (!(token = strdup(t)))
        gcp_part_set(res, GP_UNKNOWN, "out of memory");
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
char *gcp_get_token(gp_ctx *ctx, const gp_api *api, gcp_resp *r,
                    const char *needed_by, gcp_part *res)
{
    const char *token = api->opt_string(ctx, "token");
    const char *file = api->opt_string(ctx, "token_file");
    const char *meta = api->opt_string(ctx, "metadata_url");
    int n = (token && *token) + (file && *file) + (meta && *meta);
    char *t = NULL, err[640];

    if (n == 0 && !needed_by) {
        gcp_part_set(res, GP_READY, "no token");
        return NULL;
    }
    if (n == 0) {
        gcp_part_set(res, GP_FATAL,
                     "%s needs one of token, token_file or metadata_url",
                     needed_by);
        return NULL;
    }
    if (n > 1) {
        gcp_part_set(res, GP_FATAL,
                     "set only one of token, token_file and metadata_url");
        return NULL;
    }
    if (meta && *meta)
        return fetch_token(ctx, api, meta, r, res);
    if (gp_sdk_secret(ctx, api, "token", "token_file", GCP_MAX_TOKEN, &t, err,
                      sizeof err) < 0) {
        gcp_part_set(res, errno == ENOMEM ? GP_UNKNOWN : GP_FATAL, "%s", err);
        return NULL;
    }
    if (!gcp_token_ok(t)) {
        if (file && *file)
            gcp_part_set(res, GP_FATAL,
                         "token_file %s has blanks or control characters in it",
                         file);
        else
            gcp_part_set(res, GP_FATAL,
                         "option token has blanks or control characters in it");
        gp_sdk_free_secret(t);
        return NULL;
    }
    return t;
}

void gcp_validate_url(gp_ctx *ctx, const gp_api *api, const char *key)
{
    const char *url = api->opt_string(ctx, key);
    char err[640], where[96];

    if (url && *url &&
        gp_curl_check_url(key, url, NULL, NULL, where, sizeof where, err,
                          sizeof err) < 0 &&
        errno != ENOMEM) {
        size_t skip = strlen("option ") + strlen(key) + 1;
        api->invalid(ctx, key, "%s", strlen(err) > skip ? err + skip : err);
    }
}

int gcp_outcome_rank(gp_outcome o)
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
