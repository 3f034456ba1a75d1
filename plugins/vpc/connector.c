/*
 * plugins/vpc/connector.c - the vpc probe's connector half: a Bearer token
 * from `token`, `token_file` or a GCE metadata server, GET
 * {api_url}/v1/{connector} from the Serverless VPC Access API (libcurl,
 * bounded by the time left), and the answer judged (jansson): the
 * Connector's state and sizing, or the API's error. The judging is pure
 * (vpc_judge_answer()), so test_vpc.c drives it with bodies.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpcheck/sdk_curl.h"
#include "vpc.h"

/* The token may come from a file or the metadata server; the core learns
 * it (api->secret()) only once the request is done, so the answer is
 * masked here before any of it is cut to fit a message. */
void vpc_scrub(char *buf, size_t cap, const char *secret)
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
int vpc_token_ok(const char *t)
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
static void transport_failure(vpc_part *res, const char *what,
                              const http_resp *r)
{
    const char *detail = r->err[0] ? r->err : curl_easy_strerror(r->rc);

    if (r->rc == CURLE_WRITE_ERROR && r->body.truncated) {
        vpc_part_set(res, GP_FATAL, "%s: answer larger than %d KiB", what,
                     VPC_MAX_BODY / 1024);
        return;
    }
    if (r->resolve_failed) {
        vpc_part_set(res,
                     r->resolve_why == GP_SDK_NO_SUCH_HOST ? GP_FATAL
                     : r->resolve_why == GP_SDK_OTHER      ? GP_UNKNOWN
                                                           : GP_TRANSIENT,
                     "%s: %s", what, r->err);
        return;
    }
    switch (gp_curl_classify(r->rc)) {
    case GP_CURL_TIMEOUT:
        vpc_part_set(res, GP_TRANSIENT, "%s: timed out after %.0f ms", what,
                     r->ms);
        return;
    case GP_CURL_TLS_VERIFY:
    case GP_CURL_SETUP:
        vpc_part_set(res, GP_FATAL, "%s: %s", what, detail);
        return;
    case GP_CURL_LOCAL:
        vpc_part_set(res, GP_UNKNOWN, "%s: %s", what, detail);
        return;
    case GP_CURL_CONNECT:
    case GP_CURL_RESOLVE:
    case GP_CURL_OTHER: break;
    }
    /* Refused, unresolvable (curl cannot tell NXDOMAIN from a resolver in
     * trouble), reset, empty reply: the network may come back. */
    vpc_part_set(res, GP_TRANSIENT, "%s: %s", what, detail);
}

/* "PERMISSION_DENIED: Permission denied on resource" from a Google API
 * error body, or the start of whatever else the body is. */
static void api_error_text(const char *body, size_t len, char *out,
                           size_t outlen)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    json_t *e = root ? json_object_get(root, "error") : NULL;
    const char *status = json_string_value(json_object_get(e, "status"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    size_t o = 0;

    if (msg)
        snprintf(out, outlen, "%s%s%.*s", status ? status : "",
                 status ? ": " : "", VPC_SHOW_TEXT, msg);
    else
        snprintf(out, outlen, "%.*s", VPC_SHOW_TEXT, body);
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
int vpc_connector_name_ok(const char *name)
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
                         http_resp *r, vpc_part *res)
{
    struct curl_slist *h = curl_slist_append(NULL, "Metadata-Flavor: Google");
    char text[VPC_SHOW_TEXT + 64];
    char *token = NULL;

    if (!h) {
        vpc_part_set(res, GP_UNKNOWN, "out of memory");
        return NULL;
    }
    http_get(ctx, api, url, h, r);
    curl_slist_free_all(h);
    if (r->rc != CURLE_OK) {
        transport_failure(res, "metadata server", r);
        return NULL;
    }
    if (r->status != 200) {
        api_error_text(r->body.data, r->body.len, text, sizeof text);
        vpc_part_set(
            res, r->status >= 500 || r->status == 429 ? GP_TRANSIENT : GP_FATAL,
            "metadata server answered %ld: %s", r->status, text);
        return NULL;
    }

    json_t *root = json_loadb(r->body.data, r->body.len, 0, NULL);
    const char *t = json_string_value(json_object_get(root, "access_token"));

    if (!t || !vpc_token_ok(t))
        vpc_part_set(res, GP_FATAL,
                     "metadata server: the answer has no usable access_token");
    else if (!(token = strdup(t)))
        vpc_part_set(res, GP_UNKNOWN, "out of memory");
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
static char *get_token(gp_ctx *ctx, const gp_api *api, http_resp *r,
                       vpc_part *res)
{
    const char *token = api->opt_string(ctx, "token");
    const char *file = api->opt_string(ctx, "token_file");
    const char *meta = api->opt_string(ctx, "metadata_url");
    int n = (token && *token) + (file && *file) + (meta && *meta);
    char *t = NULL, err[640];

    if (n == 0) {
        vpc_part_set(res, GP_FATAL,
                     "connector mode needs one of token, token_file or "
                     "metadata_url");
        return NULL;
    }
    if (n > 1) {
        vpc_part_set(res, GP_FATAL,
                     "set only one of token, token_file and metadata_url");
        return NULL;
    }
    if (meta && *meta)
        return fetch_token(ctx, api, meta, r, res);
    if (gp_sdk_secret(ctx, api, "token", "token_file", VPC_MAX_TOKEN, &t, err,
                      sizeof err) < 0) {
        vpc_part_set(res, errno == ENOMEM ? GP_UNKNOWN : GP_FATAL, "%s", err);
        return NULL;
    }
    if (!vpc_token_ok(t)) {
        if (file && *file)
            vpc_part_set(res, GP_FATAL,
                         "token_file %s has blanks or control characters in it",
                         file);
        else
            vpc_part_set(res, GP_FATAL,
                         "option token has blanks or control characters in it");
        gp_sdk_free_secret(t);
        return NULL;
    }
    return t;
}

const char *const vpc_sizing_metric[VPC_SIZING_FIELDS] = {
    "min_instances", "max_instances", "min_throughput", "max_throughput"};
static const char *const sizing_field[VPC_SIZING_FIELDS] = {
    "minInstances", "maxInstances", "minThroughput", "maxThroughput"};

/* An int32 field of the Connector: a JSON number, or (proto3 JSON allows
 * it) a string of digits. */
static void read_sizing(json_t *obj, vpc_sizing *sz)
{
    for (int i = 0; i < VPC_SIZING_FIELDS; i++) {
        json_t *v = json_object_get(obj, sizing_field[i]);

        if (json_is_number(v)) {
            sz->value[i] = json_number_value(v);
            sz->has[i] = 1;
        } else if (json_is_string(v)) {
            char *end = NULL;
            const char *s = json_string_value(v);

            errno = 0;
            sz->value[i] = strtod(s, &end);
            sz->has[i] = end != s && !*end && !errno;
        }
    }
}

/* What a person wants to see of a connector, one line:
 * "network default, 10.8.0.0/28, e2-micro, 2-10 instances, 200-1000 Mbps" */
static void connector_details(json_t *root, const vpc_sizing *sz, char *out,
                              size_t outlen)
{
    const char *net = json_string_value(json_object_get(root, "network"));
    const char *cidr = json_string_value(json_object_get(root, "ipCidrRange"));
    const char *mt = json_string_value(json_object_get(root, "machineType"));
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
    if (sz->has[0] && sz->has[1])
        VPC_ADD("%s%ld-%ld instances", o ? ", " : "", (long)sz->value[0],
                (long)sz->value[1]);
    if (sz->has[2] && sz->has[3])
        VPC_ADD("%s%ld-%ld Mbps", o ? ", " : "", (long)sz->value[2],
                (long)sz->value[3]);
#undef VPC_ADD
}

/* The Connector resource of a 200 answer: its state and sizing. */
static void judge_connector(const char *body, size_t len, const char *name,
                            const char *expect, vpc_sizing *sz, vpc_part *res)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    const char *state = json_string_value(json_object_get(root, "state"));
    const char *mt;
    char details[400];

    if (!json_is_object(root) || !state) {
        char shown[VPC_SHOW_TEXT + 64];

        api_error_text(body, len, shown, sizeof shown);
        vpc_part_set(res, GP_FATAL,
                     "connector API: the answer is not a Connector (%s): %s",
                     root ? "no state" : jerr.text, shown);
        json_decref(root);
        return;
    }
    mt = json_string_value(json_object_get(root, "machineType"));
    read_sizing(root, sz);
    connector_details(root, sz, details, sizeof details);

    if (strcmp(state, "READY") == 0) {
        if (expect && *expect && (!mt || strcmp(mt, expect) != 0))
            vpc_part_set(res, GP_FATAL,
                         "connector %s is READY but its machine type is "
                         "%.60s, expected %s",
                         name, mt ? mt : "not given", expect);
        else
            vpc_part_set(res, GP_READY, "connector %s READY (%s)", name,
                         details);
    } else if (strcmp(state, "CREATING") == 0 ||
               strcmp(state, "UPDATING") == 0) {
        vpc_part_set(res, GP_TRANSIENT, "connector %s is %s (%s)", name, state,
                     details);
    } else if (strcmp(state, "ERROR") == 0) {
        vpc_part_set(res, GP_FATAL,
                     "connector %s is in state ERROR (Google recommends "
                     "deleting it) (%s)",
                     name, details);
    } else if (strcmp(state, "DELETING") == 0) {
        vpc_part_set(res, GP_FATAL, "connector %s is being deleted (%s)", name,
                     details);
    } else {
        vpc_part_set(res, GP_UNKNOWN,
                     "connector %s has state '%.40s', unknown to "
                     "this probe",
                     name, state);
    }
    json_decref(root);
}

void vpc_judge_answer(long status, const char *body, size_t len,
                      const char *name, const char *expect_mt, vpc_sizing *sz,
                      vpc_part *res)
{
    char text[VPC_SHOW_TEXT + 64];

    memset(sz, 0, sizeof *sz);
    if (status == 200) {
        judge_connector(body, len, name, expect_mt, sz, res);
        return;
    }
    api_error_text(body, len, text, sizeof text);
    if (status == 404)
        vpc_part_set(res, GP_FATAL, "connector %s not found (404): %s", name,
                     text);
    else if (status == 401 || status == 403)
        vpc_part_set(res, GP_FATAL, "connector API refused the token (%ld): %s",
                     status, text);
    else if (status == 429 || status >= 500)
        vpc_part_set(res, GP_TRANSIENT, "connector API answered %ld: %s",
                     status, text);
    else
        vpc_part_set(res, GP_FATAL, "connector API answered %ld: %s", status,
                     text);
}

void vpc_connector_check(gp_ctx *ctx, const gp_api *api, const char *name,
                         vpc_part *res, char **token_out)
{
    const char *base = api->opt_string(ctx, "api_url");
    http_resp r;
    vpc_sizing sz;
    char *url = NULL, *auth = NULL;
    struct curl_slist *h = NULL;
    size_t blen;

    memset(&r, 0, sizeof r);
    if (!vpc_connector_name_ok(name)) {
        vpc_part_set(res, GP_FATAL,
                     "option connector: '%s' is not projects/PROJECT/locations/"
                     "REGION/connectors/NAME",
                     name);
        return;
    }
    if (!base ||
        (strncmp(base, "http://", 7) && strncmp(base, "https://", 8))) {
        vpc_part_set(res, GP_FATAL,
                     "option api_url: not an http:// or https:// URL");
        return;
    }
    if (gp_curl_body_init(&r.body, VPC_MAX_BODY) < 0) {
        vpc_part_set(res, GP_UNKNOWN, "out of memory");
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
        vpc_part_set(res, GP_UNKNOWN, "out of memory");
        goto out;
    }
    snprintf(url, ulen, "%.*s/v1/%s", (int)blen, base, name);
    snprintf(auth, alen, "Authorization: Bearer %s", *token_out);
    h = curl_slist_append(NULL, auth);
    if (h)
        h = curl_slist_append(h, "Accept: application/json");
    if (!h) {
        vpc_part_set(res, GP_UNKNOWN, "out of memory");
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
    vpc_scrub(r.body.data, r.body.cap + 1, *token_out);
    r.body.len = strlen(r.body.data);
    vpc_judge_answer(r.status, r.body.data, r.body.len, name,
                     api->opt_string(ctx, "expect_machine_type"), &sz, res);
    for (int i = 0; i < VPC_SIZING_FIELDS; i++)
        if (sz.has[i])
            api->metric(ctx, vpc_sizing_metric[i], sz.value[i]);
out:
    curl_slist_free_all(h);
    free(url);
    gp_sdk_free_secret(auth);
    gp_curl_body_free(&r.body);
}
