/* plugins/exec/perfdata.c - monitoring-plugins output; see perfdata.h. */
#include "perfdata.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Units of measurement: the Nagios plugin guidelines' s, ms, us, %, B, KB,
 * MB, TB and c, plus what Icinga also normalises (ns, GB, PB, the binary
 * KiB..). Decimal prefixes are powers of 1000 and binary ones of 1024, as
 * in Icinga and in gpcheck's own threshold syntax. */
static const struct {
    const char *uom;
    enum perf_class cls;
    double factor; /* to ms, %, bytes, counts */
} perf_units[] = {
    {"s", PC_TIME, 1000.0},
    {"ms", PC_TIME, 1.0},
    {"us", PC_TIME, 1e-3},
    {"ns", PC_TIME, 1e-6},
    {"%", PC_PERCENT, 1.0},
    {"B", PC_BYTES, 1.0},
    {"KB", PC_BYTES, 1e3},
    {"kB", PC_BYTES, 1e3},
    {"MB", PC_BYTES, 1e6},
    {"GB", PC_BYTES, 1e9},
    {"TB", PC_BYTES, 1e12},
    {"PB", PC_BYTES, 1e15},
    {"KiB", PC_BYTES, 1024.0},
    {"MiB", PC_BYTES, 1048576.0},
    {"GiB", PC_BYTES, 1073741824.0},
    {"TiB", PC_BYTES, 1099511627776.0},
    {"PiB", PC_BYTES, 1125899906842624.0},
    {"c", PC_COUNT, 1.0},
    {"", PC_VALUE, 1.0},
};

static void note(perf_output *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(perf_output *o, const char *fmt, ...)
{
    va_list ap;

    if (o->n_notes == PERF_MAX_NOTES) {
        o->notes_dropped++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(o->notes[o->n_notes++], sizeof o->notes[0], fmt, ap);
    va_end(ap);
}

/* A label, quoted ('it''s here') or bare, up to its '='. Returns the
 * position after the '=', or NULL when the item is malformed. */
static const char *parse_label(const char *p, char *label, size_t cap)
{
    size_t n = 0;

    if (*p == '\'') {
        int closed = 0;

        for (p++; *p && !closed; p++) {
            if (*p == '\'' && p[1] == '\'') {
                p++;
            } else if (*p == '\'') {
                closed = 1;
                break;
            }
            if (n + 1 < cap)
                label[n++] = *p;
        }
        if (!closed)
            return NULL;
        p++;
    } else {
        while (*p && *p != '=' && !isspace((unsigned char)*p)) {
            if (n + 1 < cap)
                label[n++] = *p;
            p++;
        }
    }
    label[n] = '\0';
    if (*p != '=' || n == 0)
        return NULL;
    return p + 1;
}

/*
 * "0.0123s", "-5", "1.5e3ms", "U": a number in the C locale (no inf, nan
 * or hex) followed by letters or '%'. Returns 1 with the number and the
 * unit, 0 for "U" (undetermined), -1 when malformed.
 */
static int parse_value(const char *tok, double *value, char *uom, size_t cap)
{
    size_t i = 0, digits = 0;
    char num[64];

    if (strcmp(tok, "U") == 0)
        return 0;
    if (tok[i] == '-' || tok[i] == '+')
        i++;
    while (isdigit((unsigned char)tok[i]) || tok[i] == '.') {
        digits += tok[i] != '.';
        i++;
    }
    if (digits == 0)
        return -1;
    if ((tok[i] == 'e' || tok[i] == 'E') &&
        (isdigit((unsigned char)tok[i + 1]) ||
         ((tok[i + 1] == '-' || tok[i + 1] == '+') &&
          isdigit((unsigned char)tok[i + 2])))) {
        i += 2;
        while (isdigit((unsigned char)tok[i]))
            i++;
    }
    if (i >= sizeof num || strlen(tok + i) >= cap)
        return -1;
    memcpy(num, tok, i);
    num[i] = '\0';
    for (const char *u = tok + i; *u; u++)
        if (!isalpha((unsigned char)*u) && *u != '%')
            return -1;

    char *end = NULL;
    errno = 0;
    *value = strtod(num, &end);
    if (end != num + i || errno == ERANGE || !isfinite(*value))
        return -1;
    snprintf(uom, cap, "%s", tok + i);
    return 1;
}

/* Known units convert into their class; any other unit keeps the number
 * as printed in the `value` class (noted, so it is not a surprise).
 * Returns 0, or -1 (noted) when the converted value is out of range: 1e300PB
 * is finite as printed but infinite in bytes, and the core's JSON has no
 * infinity. */
static int classify(perf_output *o, perf_item *it)
{
    for (size_t i = 0; i < sizeof perf_units / sizeof perf_units[0]; i++) {
        if (strcmp(perf_units[i].uom, it->uom) == 0) {
            it->cls = perf_units[i].cls;
            it->value = it->raw * perf_units[i].factor;
            if (!isfinite(it->value)) {
                note(o, "skipped '%.60s': %g%s is out of range", it->label,
                     it->raw, it->uom);
                return -1;
            }
            return 0;
        }
    }
    it->cls = PC_VALUE;
    it->value = it->raw;
    note(o,
         "'%.60s' has unit '%s' unknown to exec; reported as a plain "
         "number",
         it->label, it->uom);
    return 0;
}

/*
 * Perfdata items, separated by blanks: 'label'=value[UOM];[warn];[crit];
 * [min];[max]. Only label, value and unit matter here: the plugin already
 * applied its own warn and crit to its exit status. A malformed item is
 * skipped (and noted), as Nagios and Icinga do.
 */
static void parse_items(perf_output *o, const char *s)
{
    const char *p = s;

    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            return;

        const char *start = p;
        perf_item it;
        char tok[96];
        size_t n = 0;
        int rc = -1;

        memset(&it, 0, sizeof it);
        p = parse_label(p, it.label, sizeof it.label);
        if (p) {
            while (*p && *p != ';' && !isspace((unsigned char)*p)) {
                if (n + 1 < sizeof tok)
                    tok[n++] = *p;
                p++;
            }
            tok[n] = '\0';
            rc = parse_value(tok, &it.raw, it.uom, sizeof it.uom);
        } else {
            p = start;
        }
        /* warn;crit;min;max, or the rest of a malformed item */
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (rc < 0) {
            note(o, "skipped malformed item %.*s",
                 (int)(p - start > 80 ? 80 : p - start), start);
            continue;
        }
        if (rc == 0) {
            note(o, "'%.60s' is undetermined (U)", it.label);
            continue;
        }
        if (classify(o, &it) < 0)
            continue;
        if (o->n == PERF_MAX_ITEMS) {
            o->dropped++;
            continue;
        }
        o->items[o->n++] = it;
    }
}

char *perf_trim(char *s)
{
    size_t n;

    while (isspace((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

int perf_parse(const char *buf, size_t len, perf_output *o)
{
    char *first = NULL;
    int in_perf = 0;

    memset(o, 0, sizeof *o);
    o->buf = malloc(len + 1);
    if (!o->buf)
        return -1;
    for (size_t i = 0; i < len; i++)
        o->buf[i] = buf[i] ? buf[i] : ' ';
    o->buf[len] = '\0';
    for (char *line = o->buf; line;) {
        char *nl = strchr(line, '\n');
        char *bar;

        if (nl)
            *nl = '\0';
        if (in_perf) {
            parse_items(o, line);
        } else {
            bar = strchr(line, '|');
            if (bar) {
                *bar = '\0';
                parse_items(o, bar + 1);
                in_perf = first != NULL; /* later lines are all perfdata */
            }
            if (!first) {
                first = perf_trim(line);
            } else if (*perf_trim(line) && o->n_long < PERF_MAX_LONG) {
                o->long_text[o->n_long++] = perf_trim(line);
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    o->text = first ? first : o->buf;
    return 0;
}

void perf_output_free(perf_output *o)
{
    free(o->buf);
    o->buf = o->text = NULL;
}

void perf_metric_name(const char *label, char *name, size_t cap)
{
    size_t n = 0;

    if (cap == 0)
        return;
    for (; *label && n + 1 < cap; label++) {
        unsigned char c = (unsigned char)tolower((unsigned char)*label);
        name[n++] =
            (isdigit(c) || (c >= 'a' && c <= 'z') || c == '_') ? (char)c : '_';
    }
    name[n] = '\0';
}
