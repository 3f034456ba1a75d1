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

/* ------------------------------------------------------------------------ */
/* HTTP                                                                      */

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

        gcp_error_text(body, len, shown, sizeof shown);
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
    gcp_error_text(body, len, text, sizeof text);
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
                         vpc_part *res, char **token_out, vpc_sizing *szp)
{
    const char *base = api->opt_string(ctx, "api_url");
    gcp_resp r;
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
    *token_out = gcp_get_token(ctx, api, &r, "connector mode", res);
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
    gcp_http_get(ctx, api, url, h, "gpcheck-vpc/0.1", &r);
    if (r.rc != CURLE_OK) {
        gcp_transport_failure(res, "connector API", &r);
        goto out;
    }
    api->metric(ctx, "api_time", r.ms);
    /* Before anything of the body is cut to fit a message: a token cut in
     * two would no longer be recognised. */
    gcp_scrub(r.body.data, r.body.cap + 1, *token_out);
    r.body.len = strlen(r.body.data);
    vpc_judge_answer(r.status, r.body.data, r.body.len, name,
                     api->opt_string(ctx, "expect_machine_type"), &sz, res);
    for (int i = 0; i < VPC_SIZING_FIELDS; i++)
        if (sz.has[i])
            api->metric(ctx, vpc_sizing_metric[i], sz.value[i]);
    *szp = sz;
out:
    curl_slist_free_all(h);
    free(url);
    gp_sdk_free_secret(auth);
    gp_curl_body_free(&r.body);
}
