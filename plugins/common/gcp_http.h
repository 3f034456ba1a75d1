/*
 * plugins/common/gcp_http.h - what the vpc and prometheus probes share to
 * speak to Google's APIs (or anything that takes a Bearer token): one
 * bounded GET, a transfer failure told transient or fatal, a Google error
 * body shown as one line, and the access token from `token`, `token_file`
 * (GP_OPT_FILE) or a GCE metadata server.
 *
 * Not a plugin and not the SDK (it links libcurl and jansson, which the
 * SDK must not): a source file each of the two plugins compiles in, so the
 * token code exists once. The options it reads (token, token_file,
 * metadata_url, ca_file) must be declared by the plugin with those names.
 */
#ifndef GPCHECK_GCP_HTTP_H
#define GPCHECK_GCP_HTTP_H

#include <curl/curl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"
#include "gpcheck/sdk_curl.h"

/* A token file larger than this is not a token. */
#define GCP_MAX_TOKEN (16 * 1024)
/* How much of an API's error text goes into a message. */
#define GCP_SHOW_TEXT 200

/* One part's result: the outcome and its piece of the message. */
typedef struct gcp_part {
    gp_outcome outcome;
    char text[1024];
} gcp_part;

static inline void gcp_part_set(gcp_part *p, gp_outcome o, const char *fmt, ...)
    GP_PRINTF(3, 4);
static inline void gcp_part_set(gcp_part *p, gp_outcome o, const char *fmt, ...)
{
    va_list ap;

    p->outcome = o;
    va_start(ap, fmt);
    vsnprintf(p->text, sizeof p->text, fmt, ap);
    va_end(ap);
}

/* One answer. body is the caller's (gp_curl_body_init() before the first
 * request, gp_curl_body_free() after the last). */
typedef struct gcp_resp {
    long status;
    gp_curl_body body;
    CURLcode rc;
    char err[CURL_ERROR_SIZE];
    int resolve_failed;               /* gp_curl_pin_host() failed: err says */
    gp_sdk_connect_error resolve_why; /* ... why */
    double ms;
} gcp_resp;

/* One GET of url with headers (may be NULL), bounded by the time left,
 * redirects not followed, the body capped, `ca_file` honoured. */
void gcp_http_get(gp_ctx *ctx, const gp_api *api, const char *url,
                  struct curl_slist *headers, const char *user_agent,
                  gcp_resp *r);

/* A request that got no HTTP answer (r->rc != CURLE_OK), judged into res:
 * refused, reset or timed out transient; TLS verification, a bad option or
 * a name that does not exist fatal; an answer over the body cap fatal. */
void gcp_transport_failure(gcp_part *res, const char *what, const gcp_resp *r);

/* "PERMISSION_DENIED: Permission denied on resource" from a Google API
 * error body, or the start of whatever else the body is; one printable
 * line of at most GCP_SHOW_TEXT bytes of the server's text. */
void gcp_error_text(const char *body, size_t len, char *out, size_t outlen);

/* Whether t is one printable word (a token with blanks or control
 * characters would let a file inject headers): 1 or 0. */
int gcp_token_ok(const char *t);

/* Mask secret in buf (a C string in cap bytes) in place by the masker's
 * rule (gp_sdk_mask_secrets(): as is and in every form a server may echo
 * it in); NULL or empty secret: nothing. */
void gcp_scrub(char *buf, size_t cap, const char *secret);

/*
 * The access token from the one of `token`, `token_file` and
 * `metadata_url` that is set, using r for the metadata request. Returns
 * the token (heap; free it with gp_sdk_free_secret()), or NULL with res
 * set. When none is set: NULL with res GP_FATAL saying `needed_by` needs
 * one, or, when needed_by is NULL, NULL with res->outcome GP_READY (no
 * token: the caller sends no Authorization header).
 */
char *gcp_get_token(gp_ctx *ctx, const gp_api *api, gcp_resp *r,
                    const char *needed_by, gcp_part *res);

/* READY < DEGRADED < TRANSIENT < UNKNOWN < FATAL: of two parts' outcomes
 * (a token and a request, a connector and its targets), the higher one
 * decides. */
int gcp_outcome_rank(gp_outcome o);

/* From validate(): the http(s) URL in option key, through libcurl's URL
 * parser (CURLU); a bad one is reported with api->invalid(). Unset or
 * empty: nothing to check. */
void gcp_validate_url(gp_ctx *ctx, const gp_api *api, const char *key);

#endif
