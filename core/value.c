/*
 * core/value.c - the typed values of the config language (durations,
 * percentages, booleans, integers, lists) and ${VAR} interpolation.
 *
 * The parsers are strict on purpose: a health gate that silently reads
 * "5x" as 5 seconds, or "1,,2" as two items, hides configuration mistakes
 * until the day the gate is needed.
 *
 * Shared code: compiled into the core and into the SDK's test harness
 * (libgpcheck-testing.a, sdk/CMakeLists.txt). It may use only libc, the
 * public headers and the other shared files (util, value, option, optapi,
 * schema);
 * never the loader, the config reader, the runner or the reports.
 */
#include "value.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* ${...} nesting deeper than this is a mistake, not a config. */
#define MAX_NESTING 16

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    UTIL_PRINTF(3, 4);

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* A copy of s without leading and trailing blanks. */
static char *trim_dup(const char *s)
{
    return str_trim(xstrdup(s));
}

/* s without its surrounding blanks, for a parser that only reads it: s
 * itself when it has none (most values; *own NULL), else a trimmed copy
 * that *own owns. */
static const char *trimmed(const char *s, char **own)
{
    size_t n = strlen(s);
    *own = NULL;
    if (n && (isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1])))
        return *own = trim_dup(s);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Durations                                                                 */

static int64_t unit_ms(const char *u, size_t n)
{
    if (n == 2 && memcmp(u, "ms", 2) == 0)
        return 1;
    if (n == 1 && u[0] == 's')
        return 1000;
    if (n == 1 && u[0] == 'm')
        return 60 * 1000;
    if (n == 1 && u[0] == 'h')
        return 60 * 60 * 1000;
    return 0;
}

/* Every duration error says what would have been right. */
#define DURATION_HINT " (units: ms, s, m, h; e.g. 250ms, 45s, 1m30s)"

/*
 * One "<number><unit>" component starting at t[*i]. Integer arithmetic
 * throughout, so that "0.1s" is exactly 100ms. Fractions finer than a
 * millisecond are dropped.
 */
static int duration_part(const char *t, size_t *i, int only, int64_t *out,
                         char *err, size_t errlen)
{
    int64_t ip = 0, frac = 0, scale = 1;
    size_t p = *i;

    if (!isdigit((unsigned char)t[p])) {
        set_err(err, errlen, "invalid duration '%s'" DURATION_HINT, t);
        return -1;
    }
    while (isdigit((unsigned char)t[p])) {
        if (__builtin_mul_overflow(ip, 10, &ip) ||
            __builtin_add_overflow(ip, t[p] - '0', &ip))
            goto overflow;
        p++;
    }
    if (t[p] == '.') {
        p++;
        if (!isdigit((unsigned char)t[p])) {
            set_err(err, errlen, "invalid duration '%s'" DURATION_HINT, t);
            return -1;
        }
        for (; isdigit((unsigned char)t[p]); p++) {
            if (scale < 1000000000) {
                frac = frac * 10 + (t[p] - '0');
                scale *= 10;
            }
        }
    }

    size_t u = p;
    while (isalpha((unsigned char)t[p]))
        p++;
    int64_t mult;
    if (p == u) {
        /* A bare number is seconds, but only on its own: "1m30" is more
         * likely a typo than 1m30s. */
        if (!only || t[p] != '\0') {
            set_err(err, errlen,
                    "missing unit after '%.*s' in '%s'" DURATION_HINT,
                    (int)(p - *i), t + *i, t);
            return -1;
        }
        mult = 1000;
    } else if (!(mult = unit_ms(t + u, p - u))) {
        set_err(err, errlen, "unknown unit '%.*s' in '%s'" DURATION_HINT,
                (int)(p - u), t + u, t);
        return -1;
    }

    int64_t v;
    if (__builtin_mul_overflow(ip, mult, &v) ||
        __builtin_add_overflow(v, frac * mult / scale, &v))
        goto overflow;
    *out = v;
    *i = p;
    return 0;

overflow:
    set_err(err, errlen, "duration too large '%s'", t);
    return -1;
}

int value_duration(const char *s, int64_t *ms, char *err, size_t errlen)
{
    char *own;
    const char *t = trimmed(s, &own);
    int rc = -1;
    int64_t total = 0;

    if (!*t) {
        set_err(err, errlen, "empty duration");
        goto out;
    }
    if (t[0] == '-') {
        set_err(err, errlen, "negative duration '%s'", t);
        goto out;
    }
    for (size_t i = 0; t[i];) {
        int64_t part;
        if (duration_part(t, &i, i == 0, &part, err, errlen) < 0)
            goto out;
        if (__builtin_add_overflow(total, part, &total)) {
            set_err(err, errlen, "duration too large '%s'", t);
            goto out;
        }
    }
    *ms = total;
    rc = 0;
out:
    free(own);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Percentages, booleans, integers                                           */

/* digits, optionally '.' digits: what strtod may then read safely (no
 * "inf", "nan", hex or exponents). */
static int plain_decimal(const char *t)
{
    size_t i = 0;
    if (!isdigit((unsigned char)t[i]))
        return 0;
    while (isdigit((unsigned char)t[i]))
        i++;
    if (t[i] == '.') {
        i++;
        if (!isdigit((unsigned char)t[i]))
            return 0;
        while (isdigit((unsigned char)t[i]))
            i++;
    }
    return t[i] == '\0';
}

int value_percentage(const char *s, double *pct, char *err, size_t errlen)
{
    char *t = trim_dup(s);
    int rc = -1;
    size_t n = strlen(t);
    char *num = xstrndup(t, n && t[n - 1] == '%' ? n - 1 : n);

    if (!*t) {
        set_err(err, errlen, "empty percentage");
    } else if (num[0] == '-' && plain_decimal(num + 1)) {
        set_err(err, errlen, "percentage out of range (0..100) '%s'", t);
    } else if (!plain_decimal(num)) {
        set_err(err, errlen, "invalid percentage '%s'", t);
    } else {
        double v = strtod(num, NULL);
        if (v > 100.0) {
            set_err(err, errlen, "percentage out of range (0..100) '%s'", t);
        } else {
            *pct = v;
            rc = 0;
        }
    }
    free(num);
    free(t);
    return rc;
}

int value_boolean(const char *s, int *b, char *err, size_t errlen)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    char *own;
    const char *t = trimmed(s, &own);
    int rc = -1;

    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        if (strcasecmp(t, yes[i]) == 0) {
            *b = 1;
            rc = 0;
        } else if (strcasecmp(t, no[i]) == 0) {
            *b = 0;
            rc = 0;
        }
    }
    if (rc < 0)
        set_err(err, errlen,
                "invalid boolean '%s' (use true/false, yes/no, on/off, 1/0)",
                t);
    free(own);
    return rc;
}

int value_integer(const char *s, int64_t *v, char *err, size_t errlen)
{
    char *own;
    const char *t = trimmed(s, &own);
    int rc = -1;
    char *end = NULL;
    const char *digits = t + (t[0] == '-' || t[0] == '+');

    /* strtoll alone would accept blanks after the sign and report 0 for
     * no digits at all. */
    if (!*t) {
        set_err(err, errlen, "empty integer");
        goto out;
    }
    if (!isdigit((unsigned char)*digits)) {
        set_err(err, errlen, "invalid integer '%s'", t);
        goto out;
    }
    errno = 0;
    long long x = strtoll(t, &end, 10);
    if (*end != '\0') {
        set_err(err, errlen, "invalid integer '%s'", t);
    } else if (errno == ERANGE) {
        set_err(err, errlen, "integer out of range '%s'", t);
    } else {
        *v = (int64_t)x;
        rc = 0;
    }
out:
    free(own);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Lists                                                                     */

int value_list(const char *s, char ***items, size_t *n, char *err,
               size_t errlen)
{
    char *t = trim_dup(s);
    char **v = xcalloc(1, sizeof *v);
    size_t len = 0, cap = 1;

    if (*t) {
        for (char *p = t;;) {
            char *comma = strchr(p, ',');
            char *item = xstrndup(p, comma ? (size_t)(comma - p) : strlen(p));
            if (!*str_trim(item)) {
                free(item);
                set_err(err, errlen, "empty item in list '%s'", t);
                strv_free(v, len);
                free(t);
                return -1;
            }
            xgrow(&v, &cap, len + 2, sizeof *v);
            v[len++] = item;
            v[len] = NULL;
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    free(t);
    *items = v;
    *n = len;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Interpolation                                                             */

typedef struct interp {
    const char *in;
    size_t pos;
    value_lookup_fn lookup;
    void *ud;
    char *err;
    size_t errlen;
    const value_escape *esc; /* NULL: values go in as they are */
    int whole;               /* the input is one ${...} */
} interp;

static int expand(interp *st, strbuf *out, int depth, int eval);

static void put(strbuf *out, const char *s, size_t n)
{
    if (out)
        sb_appendn(out, s, n);
}

/* A variable's value: through the escape hook when there is one. Only the
 * outermost ${...} can be the whole input: one inside a default is not. */
static int put_value(interp *st, strbuf *out, const char *name, const char *val,
                     int depth)
{
    if (!out)
        return 0;
    if (!st->esc) {
        sb_append(out, val);
        return 0;
    }
    return st->esc->fn(st->esc->ud, out, name, val, st->whole && depth == 0,
                       st->err, st->errlen);
}

int value_is_one_expansion(const char *in)
{
    size_t depth = 0;
    if (in[0] != '$' || in[1] != '{')
        return 0;
    for (size_t i = 0; in[i]; i++) {
        if (in[i] == '$' && in[i + 1] == '$') {
            i++;
        } else if (in[i] == '$' && in[i + 1] == '{') {
            depth++;
            i++;
        } else if (in[i] == '}' && depth > 0 && --depth == 0) {
            return in[i + 1] == '\0';
        }
    }
    return 0;
}

/* The value of a variable, copied: the lookup's result only lives until
 * its next call, and a default may look up more variables. */
static char *lookup_dup(interp *st, const char *name)
{
    const char *v = st->lookup ? st->lookup(st->ud, name) : NULL;
    return v ? xstrdup(v) : NULL;
}

/*
 * After "${NAME:-" or "${NAME:?": the word up to the matching '}'. It is
 * always parsed (so syntax errors show whether or not it is used) but only
 * evaluated when `eval`.
 */
static int expand_word(interp *st, strbuf *word, int depth, int eval,
                       size_t open)
{
    if (expand(st, word, depth + 1, eval) < 0)
        return -1;
    if (st->in[st->pos] != '}') {
        set_err(st->err, st->errlen, "unterminated '${' at column %zu",
                open + 1);
        return -1;
    }
    st->pos++;
    return 0;
}

/* After "${" (st->pos on the name); `open` is the offset of the '$'. */
static int expand_var(interp *st, strbuf *out, int depth, int eval, size_t open)
{
    const char *in = st->in;
    size_t start = st->pos, p = start;

    if (depth >= MAX_NESTING) {
        set_err(st->err, st->errlen, "'${' nested too deeply at column %zu",
                open + 1);
        return -1;
    }
    if (isalpha((unsigned char)in[p]) || in[p] == '_')
        while (isalnum((unsigned char)in[p]) || in[p] == '_')
            p++;
    if (in[p] == '\0') {
        set_err(st->err, st->errlen, "unterminated '${' at column %zu",
                open + 1);
        return -1;
    }
    if (p == start) {
        set_err(st->err, st->errlen, "invalid variable name at column %zu",
                start + 1);
        return -1;
    }

    char *name = xstrndup(in + start, p - start);
    char *val = eval ? lookup_dup(st, name) : NULL;
    int empty = !val || !*val;
    int rc = 0;

    if (in[p] == '}') {
        st->pos = p + 1;
        if (eval)
            rc = put_value(st, out, name, val ? val : "", depth);
    } else if (in[p] == ':' && in[p + 1] == '-') {
        st->pos = p + 2;
        int use_def = eval && empty;
        rc = expand_word(st, use_def ? out : NULL, depth, use_def, open);
        if (rc == 0 && !empty)
            rc = put_value(st, out, name, val, depth);
    } else if (in[p] == ':' && in[p + 1] == '?') {
        strbuf msg = {0};
        int fail = eval && empty;
        st->pos = p + 2;
        rc = expand_word(st, fail ? &msg : NULL, depth, fail, open);
        if (rc == 0 && fail) {
            set_err(st->err, st->errlen, "%s: %s", name,
                    msg.len ? sb_str(&msg) : "not set");
            rc = -1;
        } else if (rc == 0 && val) {
            rc = put_value(st, out, name, val, depth);
        }
        sb_free(&msg);
    } else {
        set_err(st->err, st->errlen,
                "unsupported expansion at column %zu (use ${VAR}, "
                "${VAR:-default} or ${VAR:?message})",
                p + 1);
        rc = -1;
    }
    free(val);
    free(name);
    return rc;
}

/*
 * Expand from st->pos to the end of the input or, inside a ${...} word
 * (depth > 0), to the first '}' that closes it. Appends to `out` unless
 * it is NULL (a default that is not used).
 */
static int expand(interp *st, strbuf *out, int depth, int eval)
{
    const char *in = st->in;

    while (in[st->pos]) {
        size_t p = st->pos;
        if (in[p] == '}' && depth > 0)
            return 0;
        if (in[p] != '$') {
            size_t n = strcspn(in + p, depth > 0 ? "$}" : "$");
            put(out, in + p, n);
            st->pos += n;
            continue;
        }
        if (in[p + 1] == '$') {
            put(out, "$", 1);
            st->pos += 2;
            continue;
        }
        if (in[p + 1] != '{') {
            set_err(st->err, st->errlen,
                    "lone '$' at column %zu (write '$$' for a literal '$')",
                    p + 1);
            return -1;
        }
        st->pos += 2;
        if (expand_var(st, out, depth, eval, p) < 0)
            return -1;
    }
    return 0;
}

int value_interpolate(const char *in, value_lookup_fn lookup, void *ud,
                      const value_escape *esc, char **out, char *err,
                      size_t errlen)
{
    interp st = {in,  0,      lookup, ud,
                 err, errlen, esc,    value_is_one_expansion(in)};
    strbuf sb = {0};

    if (expand(&st, &sb, 0, 1) < 0) {
        sb_free(&sb);
        return -1;
    }
    *out = sb_take(&sb);
    return 0;
}
