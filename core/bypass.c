/* core/bypass.c - reading and checking the emergency bypass; see bypass.h. */
#include "bypass.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "value.h"

#define DAY_MS (INT64_C(86400) * 1000)

static const char *const bypass_keys[] = {
    "enabled", "expires", "reason", "scope", "max_days", "audit_log",
};

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian); -1 when invalid. */
static int64_t days_from_civil(int y, int m, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 ||
        d > mdays[m - 1] + (m == 2 && leap))
        return -1;
    /* Howard Hinnant's algorithm, valid for any Gregorian date. */
    y -= m <= 2;
    int64_t era = y / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Parse exactly `n` digits at *p. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int bypass_parse_expiry(const char *when, int64_t *end_ms, char *err,
                        size_t errlen)
{
    const char *p = when;
    int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
    while (isspace((unsigned char)*p))
        p++;
    if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 ||
        *p++ != '-' || digits(&p, 2, &d) < 0)
        goto bad;
    int64_t days = days_from_civil(y, mo, d);
    if (days < 0) {
        snprintf(err, errlen, "'%s' is not a valid date", when);
        return -1;
    }
    const char *rest = p;
    while (isspace((unsigned char)*rest))
        rest++;
    if (*rest == '\0') {
        /* A date alone means the whole of that day, UTC. */
        *end_ms = (days + 1) * DAY_MS;
        goto trailing;
    }
    if (*p != 'T' && *p != 't' && *p != ' ')
        goto bad;
    p++;
    if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0)
        goto bad;
    if (*p == ':') {
        p++;
        if (digits(&p, 2, &sec) < 0)
            goto bad;
    }
    if (h > 23 || mi > 59 || sec > 59)
        goto bad;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (digits(&p, 2, &oh) < 0)
            goto bad;
        if (*p == ':')
            p++;
        if (digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
            goto bad;
    } else {
        snprintf(err, errlen,
                 "'%s' has no time zone (add Z or an offset such as +02:00)",
                 when);
        return -1;
    }
    *end_ms = ((days * 86400 + h * 3600 + mi * 60 + sec) -
               sign * (oh * 3600 + om * 60)) *
              1000;
trailing:
    while (isspace((unsigned char)*p))
        p++;
    if (*p)
        goto bad;
    return 0;
bad:
    snprintf(err, errlen,
             "invalid expiry '%s' (expected a date such as 2025-09-18, or a "
             "date-time with a zone such as 2025-09-18T17:00:00+02:00)",
             when);
    return -1;
}

void bypass_format_time(int64_t end_ms, char *buf, size_t n)
{
    time_t t = (time_t)((end_ms - 1) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

int bypass_in_scope(const bypass *b, char *const *tags, size_t n_tags)
{
    if (b->scope_all)
        return 1;
    for (size_t i = 0; i < n_tags; i++)
        for (size_t k = 0; k < b->n_scope_tags; k++)
            if (strcmp(tags[i], b->scope_tags[k]) == 0)
                return 1;
    return 0;
}

static const cfg_entry *get(const cfg_section *s, const char *key)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (strcmp(s->entries[i].key, key) == 0)
            return &s->entries[i];
    return NULL;
}

/* The trimmed value of key, or NULL when absent, empty or not expanded. */
static char *text_of(const cfg_section *s, const char *key)
{
    const cfg_entry *e = get(s, key);
    if (!e || !e->value)
        return NULL;
    char *t = str_trim(xstrdup(e->value));
    if (!*t) {
        free(t);
        return NULL;
    }
    return t;
}

static void check_keys(const cfg_section *s, diag *d)
{
    for (size_t i = 0; s && i < s->n; i++) {
        const cfg_entry *e = &s->entries[i];
        int known = 0;
        for (size_t k = 0; k < ARRAY_LEN(bypass_keys); k++)
            known |= strcmp(e->key, bypass_keys[k]) == 0;
        if (known)
            continue;
        const char *hint =
            config_did_you_mean(e->key, bypass_keys, ARRAY_LEN(bypass_keys));
        diag_add(d, e->at.file, e->at.line,
                 "unknown key '%s' in [bypass]%s%s%s", e->key,
                 hint ? " (did you mean '" : "", hint ? hint : "",
                 hint ? "'?)" : "");
    }
}

/* Typed keys of [bypass]: enabled, scope, max_days, audit_log. */
static void read_section(bypass *b, const cfg_section *s, diag *d)
{
    char err[256];
    const cfg_entry *e;
    int64_t v;
    if ((e = get(s, "enabled")) && e->value &&
        value_boolean(e->value, &b->enabled, err, sizeof err) < 0)
        diag_add(d, e->at.file, e->at.line, "[bypass]: enabled: %s", err);
    if ((e = get(s, "max_days")) && e->value) {
        if (value_integer(e->value, &v, err, sizeof err) < 0 || v < 1 ||
            v > 366)
            diag_add(d, e->at.file, e->at.line,
                     "[bypass]: max_days: expected a number of days from 1 "
                     "to 366");
        else
            b->max_days = v;
    }
    if ((e = get(s, "scope")) && e->value) {
        char **items;
        size_t n;
        if (value_list(e->value, &items, &n, err, sizeof err) < 0) {
            diag_add(d, e->at.file, e->at.line, "[bypass]: scope: %s", err);
        } else if (n == 0 || (n == 1 && strcmp(items[0], "all") == 0)) {
            strv_free(items, n);
        } else {
            b->scope_all = 0;
            b->scope_tags = items;
            b->n_scope_tags = n;
        }
    }
    b->audit_log = text_of(s, "audit_log");
    b->reason = text_of(s, "reason");
    b->expires_text = text_of(s, "expires");
}

int bypass_load(bypass *b, const cfg_section *s, const bypass_cli *cli,
                int64_t now_ms, diag *d)
{
    size_t n0 = d->n;
    memset(b, 0, sizeof *b);
    b->scope_all = 1;
    b->max_days = 7;
    if (s && !s->name)
        s = NULL;
    if (s) {
        b->configured = 1;
        b->at = s->at;
        check_keys(s, d);
        read_section(b, s, d);
    }
    if (cli && (cli->reason || cli->expires)) {
        if (!cli->reason || !cli->expires) {
            diag_add(d, NULL, 0,
                     "--bypass-reason and --bypass-expires go together");
            return -1;
        }
        b->configured = b->enabled = b->from_cli = 1;
        b->at = (origin){NULL, 0};
        free(b->reason);
        free(b->expires_text);
        b->reason = str_trim(xstrdup(cli->reason));
        b->expires_text = str_trim(xstrdup(cli->expires));
    }
    if (!b->enabled || d->n > n0)
        return d->n > n0 ? -1 : 0;

    /* Enabled: it must say why and until when, and not for long. */
    const char *where = b->from_cli ? NULL : b->at.file;
    int line = b->from_cli ? 0 : b->at.line;
    const char *what = b->from_cli ? "--bypass-expires" : "[bypass]: expires";
    char err[256];
    if (!b->reason || !*b->reason)
        diag_add(d, where, line,
                 "the emergency bypass is enabled without a reason");
    if (!b->expires_text || !*b->expires_text) {
        diag_add(d, where, line,
                 "the emergency bypass is enabled without an expiry "
                 "(expires = YYYY-MM-DD)");
    } else if (bypass_parse_expiry(b->expires_text, &b->expires_ms, err,
                                   sizeof err) < 0) {
        const cfg_entry *e = b->from_cli ? NULL : get(s, "expires");
        diag_add(d, e ? e->at.file : NULL, e ? e->at.line : 0, "%s: %s", what,
                 err);
    } else if (b->expires_ms - now_ms > b->max_days * DAY_MS) {
        const cfg_entry *e = b->from_cli ? NULL : get(s, "expires");
        diag_add(d, e ? e->at.file : NULL, e ? e->at.line : 0,
                 "%s: %s is more than max_days (%lld) ahead: an emergency "
                 "bypass is short-lived by design",
                 what, b->expires_text, (long long)b->max_days);
    }
    if (d->n > n0)
        return -1;
    b->expired = now_ms >= b->expires_ms;
    b->active = !b->expired;
    return 0;
}

void bypass_free(bypass *b)
{
    free(b->expires_text);
    free(b->reason);
    strv_free(b->scope_tags, b->n_scope_tags);
    free(b->audit_log);
    memset(b, 0, sizeof *b);
}
