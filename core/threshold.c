/* core/threshold.c - parsing and evaluating warn_if / fail_if. */
#include "threshold.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "value.h"

static const char *const op_text[] = {">", ">=", "<", "<=", "==", "!="};

/* GP_CORE_METRICS of plugin.h as metrics, the one table the core uses. */
static const gp_metric core_metrics[] = {
#define TH_CORE_METRIC(name, unit, minor, help) {name, unit, help},
    GP_CORE_METRICS(TH_CORE_METRIC)
#undef TH_CORE_METRIC
};

const gp_metric *threshold_core_metrics(size_t *n)
{
    *n = ARRAY_LEN(core_metrics);
    return core_metrics;
}

const gp_metric *threshold_core_metric(const char *name)
{
    for (size_t i = 0; name && i < ARRAY_LEN(core_metrics); i++)
        if (strcmp(core_metrics[i].name, name) == 0)
            return &core_metrics[i];
    return NULL;
}

int threshold_is_core(const gp_metric *m)
{
    return m >= core_metrics && m < core_metrics + ARRAY_LEN(core_metrics);
}

const char *unit_name(gp_unit u)
{
    switch (u) {
    case GP_UNIT_MS: return "ms";
    case GP_UNIT_PERCENT: return "percent";
    case GP_UNIT_COUNT: return "count";
    case GP_UNIT_BYTES: return "bytes";
    case GP_UNIT_NONE: return "none";
    }
    return "?";
}

/* The operator at *p; advances p. -1 when there is none. */
static int parse_op(const char **p)
{
    /* Two-character operators first, so ">=" is not read as ">". */
    static const th_op order[] = {TH_GE, TH_LE, TH_EQ, TH_NE, TH_GT, TH_LT};
    for (size_t i = 0; i < ARRAY_LEN(order); i++) {
        size_t n = strlen(op_text[order[i]]);
        if (strncmp(*p, op_text[order[i]], n) == 0) {
            *p += n;
            return (int)order[i];
        }
    }
    return -1;
}

/* Multiplier of a bytes unit ("" is bytes); -1 when unknown. */
static double bytes_unit(const char *unit)
{
    static const struct {
        const char *name;
        double mult;
    } units[] = {
        {"", 1},
        {"B", 1},
        {"KB", 1e3},
        {"MB", 1e6},
        {"GB", 1e9},
        {"TB", 1e12},
        {"KiB", 1024.0},
        {"MiB", 1048576.0},
        {"GiB", 1073741824.0},
        {"TiB", 1099511627776.0},
    };
    for (size_t i = 0; i < ARRAY_LEN(units); i++)
        if (strcmp(unit, units[i].name) == 0)
            return units[i].mult;
    return -1;
}

/* VALUE in the metric's unit. */
static int parse_value(const gp_metric *m, const char *text, double *out,
                       char *err, size_t errlen)
{
    char *end;
    double num = strtod(text, &end);
    if (end == text || !isfinite(num)) {
        snprintf(err, errlen, "invalid value '%s'", text);
        return -1;
    }
    const char *unit = end;
    while (*unit == ' ')
        unit++;
    switch (m->unit) {
    case GP_UNIT_MS: {
        if (!*unit) {
            *out = num;
            return 0;
        }
        int64_t ms;
        char why[128];
        if (!isalpha((unsigned char)*unit) ||
            value_duration(text, &ms, why, sizeof why) < 0) {
            snprintf(err, errlen,
                     "'%s' does not fit metric '%s' (ms): use a duration such "
                     "as 500ms or 2s",
                     text, m->name);
            return -1;
        }
        *out = (double)ms;
        return 0;
    }
    case GP_UNIT_PERCENT:
        if (*unit && strcmp(unit, "%") != 0) {
            snprintf(err, errlen,
                     "'%s' does not fit metric '%s' (percent): use a "
                     "percentage such as 90%%",
                     text, m->name);
            return -1;
        }
        *out = num;
        return 0;
    case GP_UNIT_BYTES: {
        double mult = bytes_unit(unit);
        if (mult < 0) {
            snprintf(err, errlen,
                     "'%s' does not fit metric '%s' (bytes): units are B, KB, "
                     "MB, GB, TB (1000) and KiB, MiB, GiB, TiB (1024)",
                     text, m->name);
            return -1;
        }
        *out = num * mult;
        return 0;
    }
    case GP_UNIT_COUNT:
    case GP_UNIT_NONE:
        if (*unit) {
            snprintf(err, errlen,
                     "'%s' does not fit metric '%s' (%s): use a "
                     "plain number",
                     text, m->name, unit_name(m->unit));
            return -1;
        }
        *out = num;
        return 0;
    }
    snprintf(err, errlen, "metric '%s' has an unknown unit", m->name);
    return -1;
}

/* The probe's own metric first: an older plugin's `duration` keeps its
 * meaning (plugin.h, GP_CORE_METRICS); then the core's. */
static const gp_metric *find_metric(const char *name, const gp_metric *metrics,
                                    size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(metrics[i].name, name) == 0)
            return &metrics[i];
    return threshold_core_metric(name);
}

static void unknown_metric(const char *name, const gp_metric *metrics, size_t n,
                           char *err, size_t errlen)
{
    const char *best = NULL;
    size_t best_d = 3;
    strbuf known = {0};
    for (size_t i = 0; i < n; i++) {
        size_t d = str_distance(name, metrics[i].name, 3);
        if (d < best_d) {
            best_d = d;
            best = metrics[i].name;
        }
        sb_appendf(&known, "%s%s", i ? ", " : "", metrics[i].name);
    }
    for (size_t i = 0; i < ARRAY_LEN(core_metrics); i++) {
        size_t d = str_distance(name, core_metrics[i].name, 3);
        if (d < best_d) {
            best_d = d;
            best = core_metrics[i].name;
        }
    }
    strbuf core = {0};
    for (size_t i = 0; i < ARRAY_LEN(core_metrics); i++)
        sb_appendf(&core, "%s%s", i ? ", " : "", core_metrics[i].name);
    if (best)
        snprintf(err, errlen, "unknown metric '%s' (did you mean '%s'?)", name,
                 best);
    else
        snprintf(err, errlen,
                 "unknown metric '%s' (the plugin reports: %s; the core "
                 "measures: %s)",
                 name, n ? sb_str(&known) : "no metrics", sb_str(&core));
    sb_free(&known);
    sb_free(&core);
}

/* One "METRIC OP VALUE". */
static int parse_one(const char *cond, th_level level, const gp_metric *metrics,
                     size_t n_metrics, threshold *t, char *err, size_t errlen)
{
    const char *p = cond;
    const char *name = p;
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    char *metric = xstrndup(name, (size_t)(p - name));
    while (*p == ' ' || *p == '\t')
        p++;
    int op = parse_op(&p);
    while (*p == ' ' || *p == '\t')
        p++;
    int rc = -1;
    if (!*metric || op < 0 || !*p) {
        snprintf(err, errlen,
                 "malformed condition '%s' (expected METRIC OP VALUE, OP one "
                 "of > >= < <= == !=)",
                 cond);
    } else if (!(t->metric = find_metric(metric, metrics, n_metrics))) {
        unknown_metric(metric, metrics, n_metrics, err, errlen);
    } else if (parse_value(t->metric, p, &t->value, err, errlen) == 0) {
        t->level = level;
        t->op = (th_op)op;
        t->text = xasprintf("%s %s %s", metric, op_text[op], p);
        rc = 0;
    }
    free(metric);
    return rc;
}

int threshold_parse(const char *list, th_level level, const gp_metric *metrics,
                    size_t n_metrics, threshold **v, size_t *n_v, char *err,
                    size_t errlen)
{
    char **items;
    size_t n;
    if (value_list(list, &items, &n, err, errlen) < 0)
        return -1;
    if (n == 0) {
        snprintf(err, errlen, "empty list of conditions");
        strv_free(items, n);
        return -1;
    }
    threshold *out = xcalloc(n, sizeof *out);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = parse_one(items[i], level, metrics, n_metrics, &out[i], err,
                       errlen);
    if (rc == 0) {
        *v = xrealloc(*v, (*n_v + n) * sizeof **v);
        memcpy(*v + *n_v, out, n * sizeof *out);
        *n_v += n;
    } else {
        for (size_t i = 0; i < n; i++)
            free(out[i].text);
    }
    free(out);
    strv_free(items, n);
    return rc;
}

int threshold_holds(const threshold *t, double v)
{
    switch (t->op) {
    case TH_GT: return v > t->value;
    case TH_GE: return v >= t->value;
    case TH_LT: return v < t->value;
    case TH_LE: return v <= t->value;
    case TH_EQ: return v == t->value;
    case TH_NE: return v != t->value;
    }
    return 0;
}

void threshold_format(const gp_metric *m, double v, char *buf, size_t n)
{
    switch (m->unit) {
    case GP_UNIT_MS:
        if (v >= 1000)
            snprintf(buf, n, "%.3gs", v / 1000.0);
        else
            snprintf(buf, n, "%.3gms", v);
        return;
    case GP_UNIT_PERCENT: snprintf(buf, n, "%.3g%%", v); return;
    case GP_UNIT_BYTES: snprintf(buf, n, "%.0f bytes", v); return;
    case GP_UNIT_COUNT:
    case GP_UNIT_NONE: snprintf(buf, n, "%.15g", v); return;
    }
    snprintf(buf, n, "%g", v);
}

const char *th_level_name(th_level l)
{
    return l == TH_FAIL ? "fail_if" : l == TH_WARN ? "warn_if" : "none";
}

void threshold_free(threshold *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].text);
    free(v);
}
