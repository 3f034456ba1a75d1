/*
 * gpcheck/sdk_curl.h - optional helpers for probes that speak HTTP with
 * libcurl: what the shipped clickhouse, http and vpc probes would
 * otherwise each write again.
 *
 * Header only (static inline functions): include it where you use curl and
 * link with libcurl and libgpcheck-sdk.a, nothing else. It does not call
 * curl_global_init(): do that in check(), in the attempt's own process.
 *
 * A request made with these is bounded by the attempt's time left: call
 * gp_curl_pin_host() once per handle and host, and gp_curl_set_deadline()
 * before every curl_easy_perform(). gp_curl_pin_host() resolves the URL's
 * host with gp_sdk_resolve() (bounded, and killed when the time is up) and
 * hands curl the addresses, so that curl's own resolver is not asked:
 * Debian's libcurl 7.88 resolves in a thread that curl_easy_cleanup() would
 * wait for, however long the resolver hangs. What curl still resolves
 * itself (a redirect to another host, a proxy from the environment) is cut
 * by its timeouts, and CURLOPT_QUICK_EXIT keeps cleanup from waiting.
 *
 * Return conventions, as in gpcheck/sdk.h: 0 on success; -1 on failure
 * with errno set and, where there is an `err` buffer, a one-line reason in
 * it (always NUL-terminated). Strings written into caller buffers are
 * truncated to fit, never overflowed. Nothing here keeps state.
 */
#ifndef GPCHECK_SDK_CURL_H
#define GPCHECK_SDK_CURL_H

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the response body, capped ---------------------------------------- */

/*
 * The first `cap` bytes of a response body, NUL-terminated. A health check
 * reads a few bytes; a longer body is kept up to the cap, `truncated` is
 * set and the transfer stops there with CURLE_WRITE_ERROR (check
 * `truncated` before taking that for a failure). `data` belongs to the body
 * (gp_curl_body_free()).
 */
typedef struct gp_curl_body {
    char *data;    /* cap + 1 bytes, always NUL-terminated */
    size_t len;    /* bytes kept, at most cap */
    size_t cap;    /* the most that is kept */
    int truncated; /* more arrived: the transfer stopped at the cap */
} gp_curl_body;

/* Allocate room for `cap` bytes. Returns 0, or -1 with errno ENOMEM. */
static inline int gp_curl_body_init(gp_curl_body *b, size_t cap)
{
    b->data = (char *)malloc(cap + 1);
    b->len = 0;
    b->cap = b->data ? cap : 0;
    b->truncated = 0;
    if (!b->data) {
        errno = ENOMEM;
        return -1;
    }
    b->data[0] = '\0';
    return 0;
}

/* Empty the body for the next request on the same buffer. */
static inline void gp_curl_body_reset(gp_curl_body *b)
{
    b->len = 0;
    b->truncated = 0;
    if (b->data)
        b->data[0] = '\0';
}

/* Wipe and free the buffer (a body may have held a token). A zeroed body,
 * never initialised, is fine. */
static inline void gp_curl_body_free(gp_curl_body *b)
{
    volatile char *v = b->data;

    for (size_t i = 0; v && i <= b->cap; i++)
        v[i] = 0;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* CURLOPT_WRITEFUNCTION for a gp_curl_body (CURLOPT_WRITEDATA). */
static inline size_t gp_curl_body_write(char *data, size_t size, size_t nmemb,
                                        void *userdata)
{
    gp_curl_body *b = (gp_curl_body *)userdata;
    size_t n = size * nmemb;
    size_t room = b->cap - b->len;
    size_t keep = n > room ? room : n;

    memcpy(b->data + b->len, data, keep);
    b->len += keep;
    b->data[b->len] = '\0';
    if (keep < n) {
        /* Less than n makes curl stop with CURLE_WRITE_ERROR. */
        b->truncated = 1;
        return 0;
    }
    return n;
}

/* ---- the handle and the deadline -------------------------------------- */

/*
 * A new easy handle set up as every probe wants it: no signals (a timed-out
 * resolve must not longjmp out of check()), curl's error text into errbuf
 * (CURL_ERROR_SIZE bytes), the body into `body` (never to stdout), the
 * given User-Agent, and http and https only, redirects included (curl
 * follows none unless told). errbuf and body stay the caller's and must
 * outlive the handle. Returns the handle (curl_easy_cleanup() it), or NULL
 * when libcurl cannot make one.
 */
static inline CURL *gp_curl_easy(char *errbuf, gp_curl_body *body,
                                 const char *user_agent)
{
    CURL *c = curl_easy_init();

    if (!c)
        return NULL;
    errbuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gp_curl_body_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_USERAGENT, user_agent);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
#if LIBCURL_VERSION_NUM >= 0x075700
    /* A resolver thread curl started (see gp_curl_pin_host()) that has not
     * finished by the timeout is left behind, not waited for: it ends with
     * the attempt's process. */
    curl_easy_setopt(c, CURLOPT_QUICK_EXIT, 1L);
#endif
    return c;
}

/* ---- the name, resolved within the deadline ---------------------------- */

/* Is a proxy set in the environment? Then curl resolves the proxy, not the
 * URL's host, which may not even resolve here. */
static inline int gp_curl_env_proxy(void)
{
    static const char *const names[] = {
        "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = getenv(names[i]);

        if (v && *v)
            return 1;
    }
    return 0;
}

/*
 * Resolve the host of `url` with gp_sdk_resolve() (at most the time left;
 * the message on failure names the host: "resolving db.test timed out
 * after 1.0s") and pin handle c to the addresses found (CURLOPT_RESOLVE),
 * so that curl does not resolve it again. *pins receives the list that
 * CURLOPT_RESOLVE reads: keep it until curl_easy_cleanup(c), then free it
 * with curl_slist_free_all(). Nothing is pinned (*pins NULL, returns 0) for
 * a literal address, or with a proxy in the environment (curl resolves the
 * proxy itself, bounded by its timeouts and CURLOPT_QUICK_EXIT).
 *
 * Returns 0, or -1 with *why, errno and err as gp_sdk_resolve() sets them
 * (GP_SDK_NO_SUCH_HOST: the name does not exist; GP_SDK_RESOLVER and
 * GP_SDK_RESOLVE_TIMEOUT: the resolver failed or ran out of time), or
 * errno ENOMEM or EINVAL (a URL curl cannot parse) with *why GP_SDK_OTHER.
 */
static inline int gp_curl_pin_host(CURL *c, gp_ctx *ctx, const gp_api *api,
                                   const char *url, struct curl_slist **pins,
                                   gp_sdk_connect_error *why, char *err,
                                   size_t errlen)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL;
    gp_sdk_addr addrs[GP_SDK_MAX_ADDRS];
    char entry[512];
    int n, rc = -1;

    *pins = NULL;
    *why = GP_SDK_OTHER;
    err[0] = '\0';
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
            CURLUE_OK) {
        snprintf(err, errlen, "cannot read the host of the URL");
        errno = u ? EINVAL : ENOMEM;
        goto out;
    }
    if (host[0] == '[' || gp_curl_env_proxy()) {
        rc = 0; /* a literal IPv6 address, or the proxy's business */
        goto out;
    }
    n = gp_sdk_resolve(ctx, api, host, (unsigned)strtoul(port, NULL, 10), 0,
                       addrs, GP_SDK_MAX_ADDRS, why, err, errlen);
    if (n < 0)
        goto out;
    /* "host:port:addr[,addr]...", IPv6 addresses in brackets. */
    size_t len = (size_t)snprintf(entry, sizeof(entry), "%s:%s:", host, port);
    for (int i = 0; i < n && len < sizeof(entry); i++)
        len += (size_t)snprintf(entry + len, sizeof(entry) - len,
                                addrs[i].family == AF_INET6 ? "%s[%s]" : "%s%s",
                                i ? "," : "", addrs[i].text);
    if (len >= sizeof(entry) || !(*pins = curl_slist_append(NULL, entry))) {
        snprintf(err, errlen, "cannot pin %s to its addresses", host);
        *why = GP_SDK_OTHER;
        errno = len >= sizeof(entry) ? EINVAL : ENOMEM;
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_RESOLVE, *pins);
    rc = 0;
out:
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

/*
 * A failed gp_curl_pin_host() -> outcome, with the message set: prefixed
 * with "<what>: " (what may be NULL). A name that does not exist is
 * GP_TRANSIENT during warmup (a new service's record may appear) and
 * GP_FATAL after it, as in gp_curl_outcome(); a resolver in trouble or out
 * of time is GP_TRANSIENT; anything else (out of memory, a URL curl cannot
 * read) is the probe's trouble, GP_UNKNOWN.
 */
static inline gp_outcome gp_curl_pin_outcome(gp_ctx *ctx, const gp_api *api,
                                             gp_sdk_connect_error why,
                                             const char *err, const char *what)
{
    api->message(ctx, "%s%s%s", what ? what : "", what ? ": " : "", err);
    switch (why) {
    case GP_SDK_NO_SUCH_HOST:
        return api->in_warmup(ctx) ? GP_TRANSIENT : GP_FATAL;
    case GP_SDK_RESOLVER:
    case GP_SDK_RESOLVE_TIMEOUT: return GP_TRANSIENT;
    default: return GP_UNKNOWN;
    }
}

/*
 * Bound the next request by the time left: CURLOPT_TIMEOUT_MS and
 * CURLOPT_CONNECTTIMEOUT_MS (which covers name resolution) from
 * api->time_left_ms, and CURLOPT_NOSIGNAL. Call it before every
 * curl_easy_perform(): the time left shrinks. Returns 0, or -1 with errno
 * ETIMEDOUT when no time is left (then do not perform).
 */
static inline int gp_curl_set_deadline(CURL *c, gp_ctx *ctx, const gp_api *api)
{
    int64_t left = api->time_left_ms(ctx);

    if (left <= 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    if (left > LONG_MAX)
        left = LONG_MAX;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)left);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)left);
    return 0;
}

/* The last transfer's time in ms (redirects included), 0 when unknown. */
static inline double gp_curl_total_ms(CURL *c)
{
    curl_off_t us = 0;

    if (curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &us) != CURLE_OK)
        return 0;
    return (double)us / 1000.0;
}

/* Log (GP_LOG_DEBUG) libcurl's version, TLS library and resolver, so that
 * -v tells whether a slow DNS server can hold a request past the deadline:
 * with a "blocking" resolver curl's timeouts do not cover resolution. */
static inline void gp_curl_log_version(gp_ctx *ctx, const gp_api *api)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

    api->log(ctx, GP_LOG_DEBUG, "libcurl %s (%s), %s resolver", v->version,
             v->ssl_version ? v->ssl_version : "no TLS",
             v->ares                                  ? "c-ares"
             : (v->features & CURL_VERSION_ASYNCHDNS) ? "threaded"
                                                      : "blocking");
}

/* ---- the URL ---------------------------------------------------------- */

/*
 * Check `url`, the value of the option `key`: an http or https URL without
 * user info (credentials in a URL end up in reports, `gpcheck list` and
 * process lists; they belong in secret options). On success returns 0,
 * writes "host:port" (the scheme's port when none is given) into where
 * and, when u is not NULL, stores the parsed URL in *u (the caller frees
 * it with curl_url_cleanup()). Returns -1 with errno ENOMEM (the probe's
 * trouble: GP_UNKNOWN) or EINVAL (a configuration error: GP_FATAL) and a
 * message in err that shows the URL with its password masked: "option url
 * 'ftp://h/': the scheme must be http or https", "option url
 * 'http://u:***@h/' holds credentials; <hint>" (`hint` says where they go
 * instead, "use user and password instead"; NULL for none).
 */
static inline int gp_curl_check_url(const char *key, const char *url,
                                    const char *hint, CURLU **u, char *where,
                                    size_t wherelen, char *err, size_t errlen)
{
    char shown[512];
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL;
    CURLU *parsed = curl_url();
    CURLUcode uc;
    int rc = -1;

    err[0] = '\0';
    if (u)
        *u = NULL;
    if (!parsed) {
        snprintf(err, errlen, "out of memory");
        errno = ENOMEM;
        return -1;
    }
    gp_sdk_mask_url(url, shown, sizeof(shown));
    uc = curl_url_set(parsed, CURLUPART_URL, url, 0);
    if (uc != CURLUE_OK) {
        snprintf(err, errlen, "option %s '%s': %s", key, shown,
                 curl_url_strerror(uc));
        curl_url_cleanup(parsed);
        errno = uc == CURLUE_OUT_OF_MEMORY ? ENOMEM : EINVAL;
        return -1;
    }
    curl_url_get(parsed, CURLUPART_SCHEME, &scheme, 0);
    curl_url_get(parsed, CURLUPART_HOST, &host, 0);
    curl_url_get(parsed, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
    curl_url_get(parsed, CURLUPART_USER, &user, 0);
    if (!scheme || (strcmp(scheme, "http") && strcmp(scheme, "https"))) {
        snprintf(err, errlen,
                 "option %s '%s': the scheme must be http or https", key,
                 shown);
    } else if (user) {
        snprintf(err, errlen, "option %s '%s' holds credentials%s%s", key,
                 shown, hint ? "; " : "", hint ? hint : "");
    } else {
        snprintf(where, wherelen, "%s:%s", host ? host : "?",
                 port ? port : "?");
        rc = 0;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    if (rc == 0 && u)
        *u = parsed;
    else
        curl_url_cleanup(parsed);
    if (rc < 0)
        errno = EINVAL;
    return rc;
}

/* ---- a failed transfer ------------------------------------------------ */

/* What a CURLcode says about the server (gp_curl_classify()). */
typedef enum gp_curl_failure {
    /* could not connect (refused, unreachable): transient */
    GP_CURL_CONNECT,
    /* the time ran out: transient */
    GP_CURL_TIMEOUT,
    /* the name did not resolve; curl cannot tell a missing name from a
     * resolver in trouble, so the probe decides */
    GP_CURL_RESOLVE,
    /* the server's certificate or name failed verification: fatal */
    GP_CURL_TLS_VERIFY,
    /* our side: CA or client certificate files, TLS set-up, protocol, URL,
     * redirects; asking again gives the same answer: fatal */
    GP_CURL_SETUP,
    /* out of memory, curl could not start: the probe's trouble, unknown */
    GP_CURL_LOCAL,
    /* resets, empty replies, handshakes cut short: what a server starting
     * or restarting does: transient */
    GP_CURL_OTHER,
} gp_curl_failure;

/* The kind of failure rc (not CURLE_OK) is. CURLE_WRITE_ERROR is
 * GP_CURL_OTHER: tell a gp_curl_body that stopped at its cap first. */
static inline gp_curl_failure gp_curl_classify(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT: return GP_CURL_CONNECT;
    case CURLE_OPERATION_TIMEDOUT: return GP_CURL_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST: return GP_CURL_RESOLVE;
    case CURLE_PEER_FAILED_VERIFICATION: return GP_CURL_TLS_VERIFY;
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_TOO_MANY_REDIRECTS: return GP_CURL_SETUP;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_FAILED_INIT: return GP_CURL_LOCAL;
    default: return GP_CURL_OTHER;
    }
}

/*
 * A failed transfer (rc not CURLE_OK) on handle c -> outcome, with the
 * message set (api->message): prefixed with "<what>: " (what may be NULL),
 * naming the server as `where` ("host:port", from gp_curl_check_url()),
 * with curl's text from errbuf (the handle's CURLOPT_ERRORBUFFER; NULL or
 * empty for curl's generic text). As gp_curl_classify() says, except that
 * a name that does not resolve is GP_TRANSIENT during warmup (a new
 * service's record may appear) and GP_FATAL after it. A probe that judges
 * some kind otherwise checks gp_curl_classify() before calling this.
 */
static inline gp_outcome gp_curl_outcome(gp_ctx *ctx, const gp_api *api,
                                         CURL *c, CURLcode rc,
                                         const char *errbuf, const char *what,
                                         const char *where)
{
    const char *pre = what ? what : "", *sep = what ? ": " : "";
    int own = errbuf && errbuf[0];
    const char *text = own ? errbuf : curl_easy_strerror(rc);
    long oserr = 0;

    switch (gp_curl_classify(rc)) {
    case GP_CURL_CONNECT:
        curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &oserr);
        if (oserr == ECONNREFUSED)
            api->message(ctx, "%s%sconnection refused by %s", pre, sep, where);
        else
            api->message(ctx, "%s%scannot connect to %s: %s", pre, sep, where,
                         text);
        return GP_TRANSIENT;
    case GP_CURL_TIMEOUT:
        api->message(ctx, "%s%sno answer from %s in time (%s)", pre, sep, where,
                     text);
        return GP_TRANSIENT;
    case GP_CURL_RESOLVE:
        api->message(ctx, "%s%scannot resolve %s: %s", pre, sep, where, text);
        return api->in_warmup(ctx) ? GP_TRANSIENT : GP_FATAL;
    case GP_CURL_TLS_VERIFY:
        api->message(ctx, "%s%sTLS verification of %s failed: %s", pre, sep,
                     where, text);
        return GP_FATAL;
    case GP_CURL_SETUP:
        api->message(ctx, "%s%s%s: %s", pre, sep, where, text);
        return GP_FATAL;
    case GP_CURL_LOCAL:
        api->message(ctx, "%s%s%s", pre, sep,
                     rc == CURLE_OUT_OF_MEMORY ? "out of memory" : text);
        return GP_UNKNOWN;
    case GP_CURL_OTHER: break;
    }
    if (own)
        api->message(ctx, "%s%s%s: %s (%s)", pre, sep, where,
                     curl_easy_strerror(rc), errbuf);
    else
        api->message(ctx, "%s%s%s: %s", pre, sep, where, text);
    return GP_TRANSIENT;
}

#ifdef __cplusplus
}
#endif

#endif /* GPCHECK_SDK_CURL_H */
