/*
 * core/credentials.c - the rules that say which parts of a configured
 * value are credentials, even when its option is not declared
 * GP_OPT_SECRET, and the escaping of ${VAR} into a connection string; see
 * credentials.h. core/secrets.c builds a probe's secret set and its shown
 * values on what these scanners find.
 *
 * Three structures carry credentials, each read by one small scanner that
 * reports the secret parts of a text (as spans) and its public fields:
 * - HTTP headers, `Name: value`, whose name is in secret_headers[];
 * - URLs: the user info's password, or the whole user info when it has
 *   no ':' (https://TOKEN@host/) and the scheme is not in login_schemes[];
 *   and query parameters whose name is in secret_params[];
 * - libpq connection strings (GP_OPT_CONNINFO): the values of the keys in
 *   conninfo_secret_keys[], in both the key=value and the URI form.
 */
#include "credentials.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Header names (fnmatch patterns, any case) whose value is a credential:
 * the whole value, or for Authorization the part after the scheme, or for
 * Cookie each cookie's value. */
static const char *const secret_headers[] = {
    "authorization", "proxy-authorization",
    "cookie",        "set-cookie",
    "x-*-token",     "x-token",
    "x-*-key",       "x-key",
    "api-key",       "apikey",
    "x-*-secret",    "x-*-password",
    "*-signature",   "private-token",
};

/* URL query parameters (fnmatch patterns, any case) whose value is a
 * credential. */
static const char *const secret_params[] = {
    "token",       "*_token",  "*-token", "key",        "*_key",
    "*-key",       "apikey",   "sig",     "signature",  "*-signature",
    "password",    "passwd",   "pwd",     "pass",       "secret",
    "*_secret",    "*-secret", "auth",    "credential", "*-credential",
    "sslpassword",
};

/* URL schemes (fnmatch patterns, any case) whose user info without a
 * password is a login name, as in ssh://deploy@host; in any other URL it
 * is a credential (https://TOKEN@github.com/, as git and GitHub use it).
 * A libpq URI's user is read as libpq reads it, a user name. */
static const char *const login_schemes[] = {
    "ssh", "sftp", "scp", "git+ssh", "ssh+git", "postgres", "postgresql",
};

/*
 * libpq's own notion of a secret field: the keywords whose dispchar in
 * PQconndefaults() is "*" ("Password field - hide value"), which for
 * libpq 15 are exactly these (PostgreSQL 15 documentation, 34.1
 * "Database Connection Control Functions", PQconndefaults, and 34.1.2
 * "Parameter Key Words"). tests/unit/test_secrets.c checks this list
 * against the libpq it is built with.
 */
static const char *const conninfo_secret_keys[] = {"password", "sslpassword"};

static int matches(const char *const *pats, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (fnmatch(pats[i], s, FNM_CASEFOLD) == 0)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* What a scanner finds                                                      */

static void strs_add(char ***v, size_t *n, size_t *cap, char *s)
{
    if (!*s) {
        free(s);
        return;
    }
    xgrow(v, cap, *n + 1, sizeof **v);
    (*v)[(*n)++] = s;
}

static void add_secret(cred_scan *sc, char *s)
{
    strs_add(&sc->secrets, &sc->n_secrets, &sc->cap_secrets, s);
}

void cred_add_known(cred_scan *sc, char *s)
{
    strs_add(&sc->known, &sc->n_known, &sc->cap_known, s);
}

static char *pct_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            out[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

/* The secret part [off, off + len) of t; `decoded` (owned, or NULL) is
 * what it stands for when that differs from how it is written. */
static void add_span(cred_scan *sc, const char *t, size_t off, size_t len,
                     char *decoded)
{
    while (len > 0 && isspace((unsigned char)t[off + len - 1]))
        len--;
    if (len == 0) {
        free(decoded);
        return;
    }
    xgrow(&sc->spans, &sc->cap_spans, sc->n_spans + 1, sizeof *sc->spans);
    sc->spans[sc->n_spans++] = (cred_span){off, len};
    add_secret(sc, xstrndup(t + off, len));
    if (decoded)
        add_secret(sc, decoded);
}

void cred_scan_free(cred_scan *sc)
{
    for (size_t i = 0; i < sc->n_secrets; i++) {
        explicit_bzero(sc->secrets[i], strlen(sc->secrets[i]));
        free(sc->secrets[i]);
    }
    strv_free(sc->known, sc->n_known);
    free(sc->secrets);
    free(sc->spans);
}

/* ------------------------------------------------------------------------ */
/* Headers                                                                   */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Basic credentials: base64 of "user:password"; NULL when not base64. */
static char *b64_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    size_t o = 0;
    unsigned long acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        const char *c = strchr(b64_alphabet, s[i]);
        if (!c || !s[i]) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned long)(c - b64_alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    return out;
}

/* The value [v, end) of a secret header `name`. */
static void header_value(cred_scan *sc, const char *t, const char *name,
                         size_t v, size_t end)
{
    if (strcasecmp(name, "cookie") == 0 ||
        strcasecmp(name, "set-cookie") == 0) {
        /* a=1; b=2: each cookie's value */
        while (v < end) {
            size_t semi = v;
            while (semi < end && t[semi] != ';')
                semi++;
            const char *eq = memchr(t + v, '=', semi - v);
            if (eq)
                add_span(sc, t, (size_t)(eq + 1 - t),
                         semi - (size_t)(eq + 1 - t), NULL);
            v = semi + 1;
            while (v < end && (t[v] == ' ' || t[v] == '\t'))
                v++;
        }
        return;
    }
    if (strcasecmp(name, "authorization") == 0 ||
        strcasecmp(name, "proxy-authorization") == 0) {
        /* "Bearer TOKEN", "Basic BASE64": the scheme is not secret */
        size_t s = v;
        while (s < end && isalpha((unsigned char)t[s]))
            s++;
        if (s > v && s < end && t[s] == ' ') {
            int basic = s - v == 5 && strncasecmp(t + v, "basic", 5) == 0;
            while (s < end && t[s] == ' ')
                s++;
            char *plain = basic ? b64_decode(t + s, end - s) : NULL;
            if (plain) {
                /* a server may echo the decoded form, or the password */
                char *colon = strchr(plain, ':');
                if (colon && colon[1])
                    add_secret(sc, xstrdup(colon + 1));
                if (colon)
                    cred_add_known(sc,
                                   xstrndup(plain, (size_t)(colon - plain)));
            }
            add_span(sc, t, s, end - s, plain);
            return;
        }
    }
    add_span(sc, t, v, end - v, NULL);
}

static int name_byte(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_';
}

/* `Name: value` anywhere in t, a name starting t or after a blank, a
 * quote, a comma or a semicolon; the value ends at the end of the line, at
 * the quote the header began after, or (in a list) at a comma. */
static void scan_headers(cred_scan *sc, const char *t, size_t len, int list)
{
    for (size_t i = 0; i < len; i++) {
        char before = i ? t[i - 1] : ' ';
        if (!name_byte(t[i]) || !strchr(" \t\r\n'\",;", before))
            continue;
        size_t j = i;
        while (j < len && name_byte(t[j]))
            j++;
        if (j >= len || t[j] != ':' || (j + 1 < len && t[j + 1] == '/')) {
            i = j;
            continue;
        }
        char *name = xstrndup(t + i, j - i);
        if (!matches(secret_headers, ARRAY_LEN(secret_headers), name)) {
            free(name);
            i = j;
            continue;
        }
        size_t v = j + 1, end = v;
        while (v < len && (t[v] == ' ' || t[v] == '\t'))
            v++;
        int quote = before == '\'' || before == '"' ? before : 0;
        for (end = v; end < len; end++)
            if (t[end] == '\n' || t[end] == '\r' || t[end] == quote ||
                (list && t[end] == ','))
                break;
        header_value(sc, t, name, v, end);
        free(name);
        i = end;
    }
}

/* ------------------------------------------------------------------------ */
/* URLs                                                                      */

/* Where a URL (or its authority) ends in free text. */
static int url_end(char c, int list)
{
    return isspace((unsigned char)c) || c == '"' || c == '\'' || c == '<' ||
           c == '>' || (list && c == ',');
}

/* Query parameters of [q, end) (after the '?'). extra: more secret keys
 * (libpq's, for a postgresql:// URI). */
static void scan_query(cred_scan *sc, const char *t, size_t q, size_t end,
                       int conninfo)
{
    while (q < end) {
        size_t amp = q;
        while (amp < end && t[amp] != '&' && t[amp] != ';' && t[amp] != '#')
            amp++;
        const char *eq = memchr(t + q, '=', amp - q);
        if (eq) {
            char *key = pct_decode(t + q, (size_t)(eq - t) - q);
            size_t v = (size_t)(eq + 1 - t);
            int secret =
                matches(secret_params, ARRAY_LEN(secret_params), key) ||
                (conninfo && matches(conninfo_secret_keys,
                                     ARRAY_LEN(conninfo_secret_keys), key));
            if (secret)
                add_span(sc, t, v, amp - v, pct_decode(t + v, amp - v));
            else if (conninfo)
                cred_add_known(sc, pct_decode(t + v, amp - v));
            free(key);
        }
        if (amp < end && t[amp] == '#')
            break;
        q = amp + 1;
    }
}

/* 1 when the scheme that ends at t + sep (at its "://") is one whose user
 * info without a ':' is a login name (ssh://deploy@host), not a token. */
static int login_scheme(const char *t, size_t sep)
{
    size_t s = sep;
    while (s > 0 && (isalnum((unsigned char)t[s - 1]) || t[s - 1] == '+' ||
                     t[s - 1] == '-' || t[s - 1] == '.'))
        s--;
    char *scheme = xstrndup(t + s, sep - s);
    int login = matches(login_schemes, ARRAY_LEN(login_schemes), scheme);
    free(scheme);
    return login;
}

/* The URL whose "://" is at t + sep. */
static size_t scan_url(cred_scan *sc, const char *t, size_t len, size_t sep,
                       int list, int conninfo)
{
    size_t a = sep + 3, end = a, at = (size_t)-1;
    while (end < len && !url_end(t[end], list) && !strchr("/?#", t[end])) {
        if (t[end] == '@')
            at = end; /* the last '@': a password may hold one */
        end++;
    }
    if (at != (size_t)-1) {
        const char *colon = memchr(t + a, ':', at - a);
        size_t user_end = colon ? (size_t)(colon - t) : at;
        if (colon) {
            cred_add_known(sc, pct_decode(t + a, user_end - a));
            add_span(sc, t, user_end + 1, at - user_end - 1,
                     pct_decode(t + user_end + 1, at - user_end - 1));
        } else if (conninfo || login_scheme(t, sep)) {
            cred_add_known(sc, pct_decode(t + a, at - a));
        } else {
            /* https://TOKEN@host/: a token, not a user name */
            add_span(sc, t, a, at - a, pct_decode(t + a, at - a));
        }
    }
    if (conninfo) {
        size_t h = at != (size_t)-1 ? at + 1 : a;
        cred_add_known(sc, pct_decode(t + h, end - h));
    }
    size_t stop = end;
    while (stop < len && !url_end(t[stop], list))
        stop++;
    const char *q = memchr(t + end, '?', stop - end);
    const char *hash = memchr(t + end, '#', stop - end);
    if (q && (!hash || q < hash))
        scan_query(sc, t, (size_t)(q + 1 - t), stop, conninfo);
    return stop;
}

static void scan_urls(cred_scan *sc, const char *t, size_t len, int list,
                      int conninfo)
{
    for (size_t i = 0; i + 3 <= len; i++)
        if (memcmp(t + i, "://", 3) == 0 && i > 0 &&
            isalpha((unsigned char)t[i - 1]))
            i = scan_url(sc, t, len, i, list, conninfo);
}

/* ------------------------------------------------------------------------ */
/* libpq connection strings                                                  */

static int is_uri(const char *t)
{
    return strncmp(t, "postgresql://", 13) == 0 ||
           strncmp(t, "postgres://", 11) == 0;
}

/*
 * key=value pairs as libpq's conninfo_parse() reads them (PostgreSQL 15
 * documentation, 34.1.1.1 "Keyword/Value Connection Strings"): blanks
 * around '=' allowed; a value is 'single-quoted' (\' and \\ escaped) or
 * runs to the next blank (a backslash escapes the next byte).
 */
static void scan_conninfo_kv(cred_scan *sc, const char *t, size_t len)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && isspace((unsigned char)t[i]))
            i++;
        size_t k = i;
        while (i < len && t[i] != '=' && !isspace((unsigned char)t[i]))
            i++;
        char *key = xstrndup(t + k, i - k);
        while (i < len && isspace((unsigned char)t[i]))
            i++;
        if (i >= len || t[i] != '=') {
            free(key); /* malformed: libpq refuses it; nothing to find */
            return;
        }
        i++;
        while (i < len && isspace((unsigned char)t[i]))
            i++;
        size_t v = i;
        strbuf val = {0};
        int quoted = i < len && t[i] == '\'';
        for (i += quoted; i < len; i++) {
            if (t[i] == '\\' && i + 1 < len) {
                sb_appendn(&val, t + ++i, 1);
                continue;
            }
            if (quoted ? t[i] == '\'' : isspace((unsigned char)t[i]))
                break;
            sb_appendn(&val, t + i, 1);
        }
        i += quoted && i < len;
        if (matches(conninfo_secret_keys, ARRAY_LEN(conninfo_secret_keys), key))
            add_span(sc, t, v, i - v, xstrdup(sb_str(&val)));
        else
            cred_add_known(sc, xstrdup(sb_str(&val)));
        if (val.len)
            explicit_bzero(val.buf, val.len);
        sb_free(&val);
        free(key);
    }
}

/* Every secret part of text, a value of an option with these flags. */
void cred_scan_value(cred_scan *sc, const gp_option *decl, const char *text)
{
    size_t len = strlen(text);
    int list = decl && decl->type == GP_TYPE_LIST;
    if (decl && (decl->flags & GP_OPT_CONNINFO)) {
        if (is_uri(text))
            scan_urls(sc, text, len, 0, 1);
        else
            scan_conninfo_kv(sc, text, len);
        return;
    }
    scan_headers(sc, text, len, list);
    scan_urls(sc, text, len, list, 0);
}

static int span_cmp(const void *a, const void *b)
{
    const cred_span *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* text with each span as "***"; newly allocated. */
char *cred_mask_spans(const char *text, cred_scan *sc)
{
    strbuf sb = {0};
    size_t pos = 0;
    if (sc->n_spans)
        qsort(sc->spans, sc->n_spans, sizeof *sc->spans, span_cmp);
    for (size_t i = 0; i < sc->n_spans; i++) {
        const cred_span *s = &sc->spans[i];
        if (s->off + s->len <= pos)
            continue;
        if (s->off >= pos) {
            sb_appendn(&sb, text + pos, s->off - pos);
            sb_append(&sb, "***");
        }
        pos = s->off + s->len; /* overlapping spans: one "***" */
    }
    sb_append(&sb, text + pos);
    return sb_take(&sb);
}

/* ------------------------------------------------------------------------ */
/* ${VAR} in a connection string                                             */

typedef enum ci_state {
    CI_KEY,   /* before or inside a key, or between a key and its '=' */
    CI_VALUE, /* after '=', before the value's first byte */
    CI_BARE,  /* inside an unquoted value */
    CI_QUOTED /* inside a 'quoted' value */
} ci_state;

/* Where the next byte of s would land, read as libpq reads it. */
static ci_state ci_where(const char *s, int *escaped)
{
    ci_state st = CI_KEY;
    *escaped = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (*escaped) {
            *escaped = 0;
            continue;
        }
        switch (st) {
        case CI_KEY:
            if (c == '=')
                st = CI_VALUE;
            break;
        case CI_VALUE:
            if (c == '\'')
                st = CI_QUOTED;
            else if (!isspace(c))
                st = CI_BARE;
            *escaped = c == '\\';
            break;
        case CI_BARE:
            if (c == '\\')
                *escaped = 1;
            else if (isspace(c))
                st = CI_KEY;
            break;
        case CI_QUOTED:
            if (c == '\\')
                *escaped = 1;
            else if (c == '\'')
                st = CI_KEY;
            break;
        }
    }
    return st;
}

int cred_conninfo_escape(void *ud, strbuf *out, const char *name,
                         const char *value, int whole, char *err, size_t errlen)
{
    const char *so_far = sb_str(out);
    int escaped;
    (void)ud;

    if (whole) {
        sb_append(out, value); /* dsn = ${DSN}: the user's whole string */
        return 0;
    }
    if (is_uri(so_far)) {
        /* RFC 3986 percent-encoding, which libpq decodes in every part of
         * a URI (PostgreSQL 15 documentation, 34.1.1.2 "Connection URIs") */
        for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
            if (isalnum(*c) || strchr("-._~", *c))
                sb_appendn(out, (const char *)c, 1);
            else
                sb_appendf(out, "%%%02X", *c);
        }
        return 0;
    }
    ci_state st = ci_where(so_far, &escaped);
    if (escaped) {
        snprintf(err, errlen,
                 "a backslash stands before ${%s}: write the escape in the "
                 "variable, or drop it",
                 name);
        return -1;
    }
    if (st == CI_KEY) {
        snprintf(err, errlen,
                 "${%s} stands where a key is expected; interpolate values "
                 "only (key=${%s}), or give the whole connection string as "
                 "dsn = ${%s} alone",
                 name, name, name);
        return -1;
    }
    if (st == CI_VALUE && !*value) {
        sb_append(out, "''"); /* else libpq reads the next pair as it */
        return 0;
    }
    for (const char *c = value; *c; c++) {
        int special = *c == '\\' || *c == '\'' ||
                      (st != CI_QUOTED && isspace((unsigned char)*c));
        if (special)
            sb_append(out, "\\");
        sb_appendn(out, c, 1);
    }
    return 0;
}
