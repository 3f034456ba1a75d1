/*
 * core/gate_client.c - `gpcheck run --gate URL`: ask a shared `gpcheck
 * serve` for the verdict instead of probing (see gate_client.h).
 *
 * One long-poll of URL/v1/wait within the deadline, then the documents
 * the -o options ask for from URL/v1/verdict?format=, rendered by the
 * server with the same renderers as a local run. libcurl does the HTTP
 * and the URL handling (CURLU): the URL's user:password never reaches a
 * message. libcurl is loaded when --gate is used (core/dl.h): sym_curl_*.
 */
#include "gate_client.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl.h"
#include "util.h"

typedef struct reply {
    long code;
    strbuf body;
    char err[CURL_ERROR_SIZE];
} reply;

#define MAX_BODY (16 * 1024 * 1024)

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    strbuf *sb = ud;
    if (sb->len + size * n > MAX_BODY)
        return 0; /* not a gate's answer: fail the transfer */
    sb_appendn(sb, p, size * n);
    return size * n;
}

/* The URL for messages: no user, no password, no query. */
static char *shown_url(const char *url)
{
    CURLU *u = sym_curl_url();
    char *out = NULL, *t = NULL;
    if (u && sym_curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        sym_curl_url_set(u, CURLUPART_USER, NULL, 0);
        sym_curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
        sym_curl_url_set(u, CURLUPART_QUERY, NULL, 0);
        if (sym_curl_url_get(u, CURLUPART_URL, &t, 0) == CURLUE_OK)
            out = xstrdup(t);
    }
    sym_curl_free(t);
    sym_curl_url_cleanup(u);
    return out ? out : xstrdup("(the --gate URL)");
}

/* base + path + ?query, through CURLU; NULL when base is not a URL. */
static char *endpoint(const char *base, const char *path, const char *query)
{
    CURLU *u = sym_curl_url();
    char *t = NULL, *out = NULL, *bp = NULL;
    if (!u || sym_curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK)
        goto done;
    sym_curl_url_get(u, CURLUPART_PATH, &bp, 0);
    size_t bl = bp ? strlen(bp) : 0;
    while (bl && bp[bl - 1] == '/')
        bl--;
    char *full = xasprintf("%.*s%s", (int)bl, bp ? bp : "", path);
    sym_curl_url_set(u, CURLUPART_PATH, full, 0);
    free(full);
    sym_curl_url_set(u, CURLUPART_QUERY, query, 0);
    if (sym_curl_url_get(u, CURLUPART_URL, &t, 0) == CURLUE_OK)
        out = xstrdup(t);
done:
    sym_curl_free(bp);
    sym_curl_free(t);
    sym_curl_url_cleanup(u);
    return out;
}

/* GET; 0 with r filled (any HTTP status), -1 when no answer came. */
static int get(const char *url, const char *auth, int64_t timeout_ms, reply *r)
{
    CURL *h = sym_curl_easy_init();
    if (!h) {
        snprintf(r->err, sizeof r->err, "cannot set up libcurl");
        return -1;
    }
    struct curl_slist *hdr = NULL;
    if (auth)
        hdr = sym_curl_slist_append(hdr, auth);
    sym_curl_easy_setopt(h, CURLOPT_URL, url);
    sym_curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    sym_curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    sym_curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
    sym_curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->err);
    sym_curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    sym_curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    sym_curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                         (long)(timeout_ms < 10000 ? timeout_ms : 10000));
    sym_curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    sym_curl_easy_setopt(h, CURLOPT_USERAGENT, "gpcheck-run-gate");
    CURLcode rc = sym_curl_easy_perform(h);
    if (rc == CURLE_OK)
        sym_curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->code);
    else if (!r->err[0])
        snprintf(r->err, sizeof r->err, "%s", sym_curl_easy_strerror(rc));
    sym_curl_slist_free_all(hdr);
    sym_curl_easy_cleanup(h);
    return rc == CURLE_OK ? 0 : -1;
}

static char *read_token(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "--gate-token-file %s: %s", path,
                 strerror(errno));
        return NULL;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    return xasprintf("Authorization: Bearer %s", buf);
}

int gate_client_run(const gate_client_opts *o, char **verdict_out)
{
    *verdict_out = NULL;
    char err[512];
    char *auth = NULL;
    if (dl_curl("--gate", err, sizeof err) < 0) {
        fprintf(stderr, "gpcheck: %s\n", err);
        return GATE_CLIENT_USAGE;
    }
    if (o->token_file && !(auth = read_token(o->token_file, err, sizeof err))) {
        fprintf(stderr, "gpcheck: %s\n", err);
        return GATE_CLIENT_USAGE;
    }
    char *shown = shown_url(o->url);
    int64_t wait_ms = o->deadline_ms > 0 ? o->deadline_ms : 60000;
    char *q = xasprintf("timeout=%lldms&format=json", (long long)wait_ms);
    char *url = endpoint(o->url, "/v1/wait", q);
    free(q);
    int rc = GATE_CLIENT_UNREACHABLE;
    reply r = {0};
    json_t *doc = NULL;
    if (!url) {
        fprintf(stderr, "gpcheck: --gate %s: not a URL\n", shown);
        rc = GATE_CLIENT_USAGE;
        goto out;
    }
    sym_curl_global_init(CURL_GLOBAL_DEFAULT);
    /* The server answers at the wait's end; allow it time to. */
    if (get(url, auth, wait_ms + 5000, &r) < 0) {
        fprintf(stderr, "gpcheck: the gate %s cannot be reached: %s\n", shown,
                r.err);
        goto out;
    }
    if (r.code == 401) {
        fprintf(stderr,
                "gpcheck: the gate %s refused the request (401): give the "
                "token with --gate-token-file\n",
                shown);
        rc = 1;
        goto out;
    }
    doc = json_loads(sb_str(&r.body), 0, NULL);
    const char *v =
        doc ? json_string_value(json_object_get(doc, "verdict")) : NULL;
    json_t *ec = doc ? json_object_get(doc, "exit_code") : NULL;
    if ((r.code != 200 && r.code != 503) || !v || !json_is_integer(ec)) {
        fprintf(stderr,
                "gpcheck: the gate %s did not answer with a verdict (HTTP "
                "%ld)\n",
                shown, r.code);
        goto out;
    }
    *verdict_out = xstrdup(v);
    fprintf(stderr, "gpcheck: the gate %s says: %s\n", shown, v);
    /* pending when our deadline passed: the deadline's status, as a
     * local run whose deadline cut a required probe. */
    rc = strcmp(v, "pending") == 0 ? 124 : (int)json_integer_value(ec);
    for (size_t i = 0; i < o->n_outputs; i++) {
        const char *spec = o->outputs[i];
        size_t fl = strcspn(spec, ":");
        const char *path = spec[fl] ? spec + fl + 1 : NULL;
        char fmt[32];
        snprintf(fmt, sizeof fmt, "%.*s", (int)fl, spec);
        char *text = NULL;
        if (strcmp(fmt, "json") == 0) {
            text = xstrdup(sb_str(&r.body));
        } else {
            char *fq = xasprintf("format=%s", fmt);
            char *fu = endpoint(o->url, "/v1/verdict", fq);
            free(fq);
            reply fr = {0};
            if (fu && get(fu, auth, 30000, &fr) == 0 &&
                (fr.code == 200 || fr.code == 503))
                text = sb_take(&fr.body);
            else
                fprintf(stderr,
                        "gpcheck: -o %s: the gate did not send it%s%s\n", fmt,
                        fr.err[0] ? ": " : "", fr.err);
            sb_free(&fr.body);
            free(fu);
        }
        if (!text) {
            rc = rc == 0 ? 1 : rc;
            continue;
        }
        if (o->write(fmt, path, text, err, sizeof err) < 0) {
            fprintf(stderr, "gpcheck: %s\n", err);
            rc = rc == 0 ? 1 : rc;
        }
        free(text);
    }
out:
    json_decref(doc);
    sb_free(&r.body);
    free(url);
    free(shown);
    free(auth);
    return rc;
}
