/*
 * core/wait.c - `gpcheck wait URL...` (see wait.h): URLs into probes by
 * the plugins' URL maps, and the one-line-per-target sink. libcurl's URL
 * parser is loaded when wait starts (core/dl.h): sym_curl_*.
 */
#include "wait.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl.h"
#include "gpcheck/sdk.h"
#include "option.h"
#include "schema.h"
#include "secrets.h"
#include "util.h"
#include "verdict.h"

/* Every scheme the plugins on the search path serve, and by what. */
typedef struct schemes {
    char **name; /* owned */
    const plugin **p;
    const gp_url_map **map;
    size_t n, cap_name, cap_p, cap_map;
} schemes;

static void schemes_add(schemes *s, const char *name, size_t len,
                        const plugin *p, const gp_url_map *m)
{
    for (size_t i = 0; i < s->n; i++)
        if (strlen(s->name[i]) == len && strncmp(s->name[i], name, len) == 0)
            return; /* the first plugin by name serves it */
    xgrow(&s->name, &s->cap_name, s->n + 1, sizeof *s->name);
    xgrow(&s->p, &s->cap_p, s->n + 1, sizeof *s->p);
    xgrow(&s->map, &s->cap_map, s->n + 1, sizeof *s->map);
    s->name[s->n] = xstrndup(name, len);
    s->p[s->n] = p;
    s->map[s->n++] = m;
}

/* Load every plugin of the search path (those that fail to load serve
 * nothing) and collect the schemes their maps name. */
static void schemes_load(schemes *s, loader *l)
{
    char **names, err[512];
    size_t n = loader_list(l, &names);
    for (size_t i = 0; i < n; i++) {
        const plugin *p = loader_get(l, names[i], err, sizeof err);
        const gp_url_map *m = p ? schema_url_maps(p->desc) : NULL;
        for (; m && m->schemes; m++)
            for (const char *c = m->schemes; *c;) {
                size_t len = strcspn(c, "|");
                schemes_add(s, c, len, p, m);
                c += len + (c[len] == '|');
            }
    }
    strv_free(names, n);
}

static void schemes_free(schemes *s)
{
    strv_free(s->name, s->n);
    free(s->p);
    free(s->map);
}

/* One URL on its way to a probe. */
typedef struct target {
    size_t number; /* 1-based, for messages */
    const char *shown;
    const plugin *p;
    char **kv; /* owned "KEY=VALUE" items */
    size_t n_kv, cap_kv;
    diag *d;
    int bad;
} target;

static void bad(target *t, const char *fmt, ...) UTIL_PRINTF(2, 3);
static void bad(target *t, const char *fmt, ...)
{
    strbuf what = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vappendf(&what, fmt, ap);
    va_end(ap);
    diag_add(t->d, NULL, 0, "URL %zu (%s): %s", t->number, t->shown,
             sb_str(&what));
    sb_free(&what);
    t->bad = 1;
}

static const gp_option *decl_of(const plugin *p, const char *key)
{
    for (size_t i = 0; i < p->n_options; i++)
        if (strcmp(p->desc->options[i].key, key) == 0)
            return &p->desc->options[i];
    return NULL;
}

/* Option key of the plugin gets value, checked against its schema. */
static void set(target *t, const char *key, const char *value)
{
    const gp_option *decl = decl_of(t->p, key);
    size_t klen = strlen(key);
    for (size_t i = 0; i < t->n_kv; i++)
        if (strncmp(t->kv[i], key, klen) == 0 && t->kv[i][klen] == '=') {
            bad(t, "%s is given twice", key);
            return;
        }
    opt_value ov = {0};
    char err[256];
    if (option_parse(decl, value, &ov, err, sizeof err) < 0) {
        bad(t, "%s: %s", key, err);
        return;
    }
    strv_free(ov.items, ov.n_items);
    xgrow(&t->kv, &t->cap_kv, t->n_kv + 1, sizeof *t->kv);
    t->kv[t->n_kv++] = xasprintf("%s=%s", key, value);
}

/* A part of h, newly allocated, or NULL when the URL has none (or an
 * empty one). */
static char *part(CURLU *h, CURLUPart what, unsigned flags)
{
    char *v = NULL;
    if (sym_curl_url_get(h, what, &v, flags) != CURLUE_OK || !v)
        return NULL;
    char *copy = *v ? xstrdup(v) : NULL;
    sym_curl_free(v);
    return copy;
}

/* The query's KEY=VALUE parameters (split at '&' and the first '=', each
 * side percent-decoded by libcurl), each an option of the plugin. */
static void query_options(target *t, const char *query)
{
    for (const char *q = query; *q;) {
        size_t n = strcspn(q, "&");
        char *item = xstrndup(q, n);
        char *eq = strchr(item, '=');
        if (eq)
            *eq = '\0';
        char *key = sym_curl_easy_unescape(NULL, item, 0, NULL);
        char *value = eq ? sym_curl_easy_unescape(NULL, eq + 1, 0, NULL) : NULL;
        if (!key || !value) {
            bad(t, "query parameter '%s' is not KEY=VALUE", item);
        } else if (!decl_of(t->p, key)) {
            const char *keys[64];
            size_t nk = 0;
            for (; nk < t->p->n_options && nk < ARRAY_LEN(keys); nk++)
                keys[nk] = t->p->desc->options[nk].key;
            const char *near = config_did_you_mean(key, keys, nk);
            char *hint =
                near ? xasprintf(" (did you mean '%s'?)", near) : xstrdup("");
            bad(t, "query parameter: %s has no option '%s'%s", t->p->name, key,
                hint);
            free(hint);
        } else {
            set(t, key, value);
        }
        sym_curl_free(key);
        sym_curl_free(value);
        free(item);
        q += n + (q[n] == '&');
    }
}

/* host, or "host:port" when the map sends both to one option. */
static void host_port(target *t, const gp_url_map *m, const char *host,
                      const char *port)
{
    /* libcurl keeps an IPv6 address in brackets. */
    char *bare = host && host[0] == '[' ? xstrndup(host + 1, strlen(host) - 2)
                 : host                 ? xstrdup(host)
                                        : NULL;
    if (m->port && m->host && strcmp(m->port, m->host) == 0) {
        if (host && port) {
            char *hp = xasprintf("%s:%s", host, port);
            set(t, m->host, hp);
            free(hp);
        } else if (host) {
            set(t, m->host, bare);
        } else if (port) {
            bad(t, "a port (%s) needs a host", port);
        }
    } else {
        if (bare && m->host)
            set(t, m->host, bare);
        if (port && m->port)
            set(t, m->port, port);
        else if (port && !m->url)
            bad(t, "%s takes no port in a URL", t->p->name);
    }
    free(bare);
}

/* The URL for the map's url option: as given, or without its user info
 * when that goes to options of its own. */
static char *whole_url(CURLU *h, const gp_url_map *m, const char *given)
{
    if (!m->user && !m->password)
        return xstrdup(given);
    CURLU *copy = sym_curl_url_dup(h);
    sym_curl_url_set(copy, CURLUPART_USER, NULL, 0);
    sym_curl_url_set(copy, CURLUPART_PASSWORD, NULL, 0);
    char *u = part(copy, CURLUPART_URL, 0);
    sym_curl_url_cleanup(copy);
    return u ? u : xstrdup(given);
}

/* Each part of the URL into its option, or an error for a part that goes
 * nowhere. */
static void map_parts(target *t, CURLU *h, const gp_url_map *m,
                      const char *given)
{
    char *host = part(h, CURLUPART_HOST, 0);
    char *port = part(h, CURLUPART_PORT, 0);
    char *user = part(h, CURLUPART_USER, CURLU_URLDECODE);
    char *password = part(h, CURLUPART_PASSWORD, CURLU_URLDECODE);
    char *path = part(h, CURLUPART_PATH, CURLU_URLDECODE);
    char *query = part(h, CURLUPART_QUERY, 0);
    char *fragment = part(h, CURLUPART_FRAGMENT, 0);
    const char *rel = path ? path + (path[0] == '/') : NULL;
    const char *name = t->p->name;

    if (m->url) {
        char *u = whole_url(h, m, given);
        set(t, m->url, u);
        free(u);
    }
    host_port(t, m, host, port);
    if (user && m->user)
        set(t, m->user, user);
    else if (user && !m->url)
        bad(t, "%s takes no user name in a URL", name);
    if (password && m->password)
        set(t, m->password, password);
    else if (password && !m->url)
        bad(t, "%s takes no password in a URL", name);
    if (rel && *rel && m->path)
        set(t, m->path, rel);
    else if (rel && *rel && !m->url)
        bad(t, "%s takes no path in a URL ('/%s')", name, rel);
    if (query && (m->flags & GP_URL_QUERY_OPTIONS))
        query_options(t, query);
    else if (query && !m->url)
        bad(t, "%s takes no query in a URL ('?%s')", name, query);
    if (fragment && !m->url)
        bad(t, "%s takes no fragment in a URL ('#%s')", name, fragment);
    free(host);
    free(port);
    free(user);
    if (password) {
        memset(password, 0, strlen(password));
        free(password);
    }
    free(path);
    free(query);
    free(fragment);
}

/* The plugin's required options the URL left unset. */
static void check_required(target *t)
{
    for (size_t i = 0; i < t->p->n_options; i++) {
        const gp_option *o = &t->p->desc->options[i];
        size_t k = strlen(o->key), j = 0;
        if (!(o->flags & GP_OPT_REQUIRED))
            continue;
        while (j < t->n_kv &&
               !(strncmp(t->kv[j], o->key, k) == 0 && t->kv[j][k] == '='))
            j++;
        if (j == t->n_kv)
            bad(t, "%s needs %s, which the URL does not give", t->p->name,
                o->key);
    }
}

/* "unknown scheme 'X' (did you mean 'Y'?); schemes: a, b, c" */
static void unknown_scheme(target *t, const char *scheme, const schemes *s)
{
    strbuf all = {0};
    for (size_t i = 0; i < s->n; i++)
        sb_appendf(&all, "%s%s", i ? ", " : "", s->name[i]);
    const char *near =
        config_did_you_mean(scheme, (const char *const *)s->name, s->n);
    char *hint = near ? xasprintf(" (did you mean '%s'?)", near) : xstrdup("");
    bad(t, "unknown scheme '%s'%s; schemes: %s", scheme, hint,
        s->n ? sb_str(&all) : "none (no plugin serves URLs)");
    free(hint);
    sb_free(&all);
}

static void one_url(target *t, const char *url, const schemes *s, config *cfg,
                    char *const *pol, size_t n_pol, wait_target *out)
{
    CURLU *h = sym_curl_url();
    CURLUcode rc =
        h ? sym_curl_url_set(h, CURLUPART_URL, url,
                             CURLU_NON_SUPPORT_SCHEME | CURLU_NO_AUTHORITY)
          : CURLUE_OUT_OF_MEMORY;
    if (rc != CURLUE_OK) {
        bad(t, "not a URL: %s", sym_curl_url_strerror(rc));
        sym_curl_url_cleanup(h);
        return;
    }
    char *scheme = part(h, CURLUPART_SCHEME, 0);
    const gp_url_map *m = NULL;
    for (size_t i = 0; scheme && i < s->n && !m; i++)
        if (strcmp(s->name[i], scheme) == 0) {
            t->p = s->p[i];
            m = s->map[i];
        }
    if (!m) {
        unknown_scheme(t, scheme ? scheme : "", s);
    } else {
        out->probe = xasprintf("%s-%zu", t->p->name, t->number);
        map_parts(t, h, m, url);
        check_required(t);
    }
    for (size_t i = 0; m && !t->bad && i < n_pol; i++) {
        xgrow(&t->kv, &t->cap_kv, t->n_kv + 1, sizeof *t->kv);
        t->kv[t->n_kv++] = xstrdup(pol[i]);
    }
    if (m && !t->bad &&
        config_add_cli_probe(cfg, out->probe, t->p->name, t->kv, t->n_kv,
                             t->d) < 0)
        t->bad = 1;
    free(scheme);
    sym_curl_url_cleanup(h);
}

int wait_add_probes(config *cfg, loader *l, char *const *urls, size_t n,
                    char *const *pol, size_t n_pol, wait_target **out, diag *d)
{
    char err[512];
    if (dl_curl("gpcheck wait", err, sizeof err) < 0) {
        diag_add(d, NULL, 0, "%s", err);
        *out = xcalloc(n ? n : 1, sizeof **out);
        return -1;
    }
    schemes s = {0};
    schemes_load(&s, l);
    wait_target *w = xcalloc(n ? n : 1, sizeof *w);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char shown[4096];
        w[i].shown = xstrdup(gp_sdk_mask_url(urls[i], shown, sizeof shown));
        target t = {.number = i + 1, .shown = w[i].shown, .d = d};
        one_url(&t, urls[i], &s, cfg, pol, n_pol, &w[i]);
        for (size_t k = 0; k < t.n_kv; k++) /* may hold a password */
            memset(t.kv[k], 0, strlen(t.kv[k]));
        strv_free(t.kv, t.n_kv);
        rc |= t.bad ? -1 : 0;
    }
    schemes_free(&s);
    *out = w;
    return rc;
}

void wait_targets_free(wait_target *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++) {
        free(t[i].shown);
        free(t[i].probe);
    }
    free(t);
}

/* ------------------------------------------------------------------------ */
/* The sink                                                                  */

typedef struct wait_sink {
    sink base;
    const wait_target *t; /* not owned */
    size_t n;
} wait_sink;

static void wait_event(sink *s, const event *ev)
{
    const wait_sink *w = (const wait_sink *)s;
    if (ev->kind != EV_PROBE_END)
        return;
    const probe_run *pr = ev->probe;
    const char *url = pr->def->name;
    for (size_t i = 0; i < w->n; i++)
        if (w->t[i].probe && strcmp(w->t[i].probe, pr->def->name) == 0)
            url = w->t[i].shown;
    char took[32];
    fmt_duration(took, sizeof took,
                 pr->start_ns ? (pr->end_ns - pr->start_ns) / NS_PER_MS : 0);
    char *masked = secrets_mask(pr->def, url);
    fprintf(stderr, "%-7s %s  %s (%zu attempt%s, %s)\n",
            status_name(pr->status), masked, pr->message, pr->n_history,
            pr->n_history == 1 ? "" : "s", took);
    fflush(stderr);
    free(masked);
}

static int wait_close(sink *s, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    free(s);
    return 0;
}

static const sink_ops wait_ops = {
    .format = "wait", .event = wait_event, .close = wait_close};

sink *wait_sink_new(const wait_target *t, size_t n)
{
    wait_sink *w = xcalloc(1, sizeof *w);
    w->base.ops = &wait_ops;
    w->t = t;
    w->n = n;
    return &w->base;
}
