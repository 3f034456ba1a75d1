/*
 * plugins/prometheus/answer.c - Prometheus' instant query answer judged
 * (jansson); see answer.h.
 */
#include "answer.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_text(prom_answer *a, const char *fmt, ...) GP_PRINTF(2, 3);

/* a->text, made one printable line: a server's text may hold anything. */
/* Control characters (a label value may hold any) as spaces. */
static void printable(char *text)
{
    for (unsigned char *p = (unsigned char *)text; *p; p++)
        if (*p < ' ' || *p == 0x7f)
            *p = ' ';
}

static void set_text(prom_answer *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->text, sizeof a->text, fmt, ap);
    va_end(ap);
    printable(a->text);
}

/* The start of a body that is not the envelope, for the message. */
static void garbage(prom_answer *a, const char *body, size_t len,
                    const char *why)
{
    a->kind = PROM_GARBAGE;
    size_t n = len < PROM_SHOW_TEXT ? len : PROM_SHOW_TEXT;
    char shown[PROM_SHOW_TEXT + 1];
    for (size_t i = 0; i < n; i++)
        shown[i] = body[i] ? body[i] : ' ';
    shown[n] = '\0';
    set_text(a, "%s: %s%s", why, shown, len > n ? "..." : "");
}

/* One sample value, [TIME, "NUMBER"]: 0 and *v, or -1. */
static int sample_value(json_t *pair, double *v)
{
    const char *s = json_string_value(json_array_get(pair, 1));
    char *end;
    if (!json_is_array(pair) || json_array_size(pair) != 2 || !s || !*s)
        return -1;
    /* Go's strconv.FormatFloat texts: "1.5", "1e+06", "NaN", "+Inf". */
    errno = 0;
    *v = strtod(s, &end);
    if (*end || (errno == ERANGE && isfinite(*v) && *v != 0))
        return -1;
    return 0;
}

/* {__name__ LABEL="VALUE", ...} of one series, into out. */
static void labels_text(json_t *metric, char *out, size_t outlen)
{
    const char *key;
    json_t *val;
    size_t o = 0;
    const char *name = json_string_value(json_object_get(metric, "__name__"));
    int w = snprintf(out, outlen, "%s{", name ? name : "");
    o = w > 0 && (size_t)w < outlen ? (size_t)w : 0;
    int first = 1;
    json_object_foreach (metric, key, val) {
        if (strcmp(key, "__name__") == 0 || o >= outlen)
            continue;
        const char *v = json_string_value(val);
        w = snprintf(out + o, outlen - o, "%s%s=\"%s\"", first ? "" : ", ", key,
                     v ? v : "");
        if (w < 0 || (size_t)w >= outlen - o) {
            o = outlen;
            break;
        }
        o += (size_t)w;
        first = 0;
    }
    if (o < outlen - 1) {
        out[o] = '}';
        out[o + 1] = '\0';
    } else if (outlen > 4) {
        memcpy(out + outlen - 4, "...", 4);
    }
}

static void one_value(prom_answer *a, double v)
{
    a->value = v;
    if (isnan(v))
        a->kind = PROM_NAN;
    else if (isinf(v))
        a->kind = PROM_INF;
    else
        a->kind = PROM_VALUE;
}

static void judge_vector(prom_answer *a, json_t *result)
{
    size_t n = json_array_size(result);
    double v;
    a->n_series = n;
    if (n == 0) {
        a->kind = PROM_EMPTY;
        return;
    }
    if (n > 1) {
        char l1[PROM_SHOW_TEXT], l2[PROM_SHOW_TEXT];
        labels_text(json_object_get(json_array_get(result, 0), "metric"), l1,
                    sizeof l1);
        labels_text(json_object_get(json_array_get(result, 1), "metric"), l2,
                    sizeof l2);
        a->kind = PROM_MANY;
        set_text(a, "%s, %s%s", l1, l2, n > 2 ? ", ..." : "");
        return;
    }
    json_t *s = json_array_get(result, 0);
    if (!json_is_object(s) ||
        sample_value(json_object_get(s, "value"), &v) < 0) {
        a->kind = PROM_GARBAGE;
        set_text(a, "a vector sample without a [time, \"value\"] pair");
        return;
    }
    one_value(a, v);
    labels_text(json_object_get(s, "metric"), a->text, sizeof a->text);
    printable(a->text);
}

static void judge_success(prom_answer *a, json_t *root, const char *body,
                          size_t len)
{
    json_t *data = json_object_get(root, "data");
    const char *type = json_string_value(json_object_get(data, "resultType"));
    json_t *result = json_object_get(data, "result");
    double v;
    if (!type) {
        garbage(a, body, len, "no data.resultType in the answer");
    } else if (strcmp(type, "vector") == 0 && json_is_array(result)) {
        judge_vector(a, result);
    } else if (strcmp(type, "scalar") == 0) {
        if (sample_value(result, &v) < 0)
            garbage(a, body, len, "a scalar without a [time, \"value\"] pair");
        else
            one_value(a, v);
    } else if (strcmp(type, "matrix") == 0 || strcmp(type, "string") == 0) {
        a->kind = PROM_BAD_TYPE;
        set_text(a,
                 "the result is a %s, not one number (a range selector "
                 "such as [5m] needs a function around it: rate(), "
                 "max_over_time() ...)",
                 strcmp(type, "matrix") == 0 ? "range vector" : "string");
    } else {
        garbage(a, body, len, "an unknown resultType");
    }
}

void prom_judge(long status, const char *body, size_t len, prom_answer *a)
{
    memset(a, 0, sizeof *a);
    a->status = status;
    json_error_t jerr;
    json_t *root = body ? json_loadb(body, len, 0, &jerr) : NULL;
    const char *st = json_string_value(json_object_get(root, "status"));
    const char *etype = json_string_value(json_object_get(root, "errorType"));
    const char *etext = json_string_value(json_object_get(root, "error"));
    /* Google's error body, from Cloud Monitoring (or a proxy of it):
     * {"error": {"code", "message", "status"}} */
    json_t *gerr = json_object_get(root, "error");
    if (!etext && json_is_object(gerr)) {
        etext = json_string_value(json_object_get(gerr, "message"));
        etype = json_string_value(json_object_get(gerr, "status"));
    }

    if (status == 401 || status == 403) {
        a->kind = PROM_AUTH;
        if (etext)
            set_text(a, "%s%s%.*s", etype ? etype : "", etype ? ": " : "",
                     PROM_SHOW_TEXT, etext);
        else
            garbage(a, body ? body : "", body ? len : 0, "refused");
        a->kind = PROM_AUTH;
    } else if (status == 404) {
        a->kind = PROM_NOT_FOUND;
    } else if (status == 429 || status >= 500) {
        a->kind = PROM_BUSY;
        set_text(a, "%s%s%.*s", etype ? etype : "", etype ? ": " : "",
                 PROM_SHOW_TEXT, etext ? etext : "");
    } else if (st && strcmp(st, "error") == 0) {
        a->kind = PROM_QUERY_ERROR;
        set_text(a, "%s%s%.*s", etype ? etype : "", etype ? ": " : "",
                 PROM_SHOW_TEXT, etext ? etext : "(no error text)");
    } else if (status != 200) {
        a->kind = PROM_OTHER;
    } else if (!json_is_object(root)) {
        garbage(a, body ? body : "", body ? len : 0, "not JSON");
    } else if (!st || strcmp(st, "success") != 0) {
        garbage(a, body, len, "no \"status\": \"success\" in the answer");
    } else {
        judge_success(a, root, body, len);
    }
    json_decref(root);
}

int prom_parse_on_empty(const char *s, prom_on_empty *out)
{
    if (!s || !*s)
        *out = PROM_EMPTY_WARMUP;
    else if (strcmp(s, "transient") == 0)
        *out = PROM_EMPTY_TRANSIENT;
    else if (strcmp(s, "fatal") == 0)
        *out = PROM_EMPTY_FATAL;
    else if (strcmp(s, "zero") == 0)
        *out = PROM_EMPTY_ZERO;
    else
        return -1;
    return 0;
}

gp_outcome prom_outcome(const prom_answer *a, prom_on_empty on_empty,
                        int in_warmup, double *value)
{
    switch (a->kind) {
    case PROM_VALUE: *value = a->value; return GP_READY;
    case PROM_EMPTY:
    case PROM_NAN:
        switch (on_empty) {
        case PROM_EMPTY_ZERO: *value = 0; return GP_READY;
        case PROM_EMPTY_TRANSIENT: return GP_TRANSIENT;
        case PROM_EMPTY_FATAL: return GP_FATAL;
        case PROM_EMPTY_WARMUP: return in_warmup ? GP_TRANSIENT : GP_FATAL;
        }
        return GP_FATAL;
    case PROM_BUSY: return GP_TRANSIENT;
    case PROM_INF:
    case PROM_MANY:
    case PROM_BAD_TYPE:
    case PROM_QUERY_ERROR:
    case PROM_AUTH:
    case PROM_NOT_FOUND:
    case PROM_GARBAGE:
    case PROM_OTHER: return GP_FATAL;
    }
    return GP_UNKNOWN;
}
