/*
 * plugins/prometheus/answer.h - one answer of Prometheus' instant query
 * API (GET /api/v1/query), judged: the one number it holds, or why there
 * is none. Pure (an HTTP status and a body in, a prom_answer out), so
 * test_answer.c and tests/fuzz/fuzz_prometheus_answer.c drive it with
 * bodies.
 *
 * The body is Prometheus' documented envelope, parsed with jansson:
 *   {"status": "success", "data": {"resultType": "vector" | "scalar" |
 *    "matrix" | "string", "result": ...}, "warnings": [...]}
 *   {"status": "error", "errorType": "bad_data" | "execution" | ...,
 *    "error": "..."}
 * A vector sample is {"metric": {LABEL: VALUE}, "value": [TIME, "NUMBER"]},
 * a scalar [TIME, "NUMBER"], NUMBER a Go float text ("1.5", "NaN",
 * "+Inf", "-Inf").
 */
#ifndef GPCHECK_PROM_ANSWER_H
#define GPCHECK_PROM_ANSWER_H

#include <stddef.h>

#include "gpcheck/plugin.h"

/* How much of a server's text goes into a message. */
#define PROM_SHOW_TEXT 200

typedef enum prom_kind {
    PROM_VALUE = 0,   /* one finite number: value */
    PROM_EMPTY,       /* an empty vector: no series matched (or all stale) */
    PROM_NAN,         /* the one sample is NaN (0/0, or no data in it) */
    PROM_INF,         /* the one sample is +Inf or -Inf (x/0): value */
    PROM_MANY,        /* more than one series: n_series, text has labels */
    PROM_BAD_TYPE,    /* a range vector or a string: text says which */
    PROM_QUERY_ERROR, /* 400 / 422 (or 200) with status "error": text */
    PROM_AUTH,        /* 401 / 403: text */
    PROM_NOT_FOUND,   /* 404: the URL is not a Prometheus API */
    PROM_BUSY,        /* 429, 5xx (503: Prometheus' own query timeout) */
    PROM_GARBAGE,     /* not the envelope: text has the start of the body */
    PROM_OTHER,       /* any other HTTP status */
} prom_kind;

typedef struct prom_answer {
    prom_kind kind;
    double value;
    size_t n_series;
    long status;
    /* The detail for a message: the error text, the labels of the first
     * two series ("{connector_name="a"}, {connector_name="b"}"), ... One
     * printable line. */
    char text[2 * PROM_SHOW_TEXT + 64];
} prom_answer;

/* Judge one answer (HTTP status, body of len bytes, need not be
 * NUL-terminated) into *a. Never fails: anything unexpected is
 * PROM_GARBAGE or PROM_OTHER. */
void prom_judge(long status, const char *body, size_t len, prom_answer *a);

/* What an empty result (and a NaN) becomes, from `on_empty`. */
typedef enum prom_on_empty {
    PROM_EMPTY_WARMUP = 0, /* unset: transient in warmup, fatal after */
    PROM_EMPTY_TRANSIENT,
    PROM_EMPTY_FATAL,
    PROM_EMPTY_ZERO, /* the metric is 0, the query ready */
} prom_on_empty;

/* "transient" / "fatal" / "zero" / NULL or "" -> *out; -1 for another. */
int prom_parse_on_empty(const char *s, prom_on_empty *out);

/*
 * The outcome of one query's answer: PROM_VALUE ready; PROM_EMPTY and
 * PROM_NAN by on_empty (PROM_EMPTY_ZERO: ready, and *value 0); PROM_BUSY
 * transient; PROM_INF, PROM_MANY, PROM_BAD_TYPE, PROM_QUERY_ERROR,
 * PROM_AUTH, PROM_NOT_FOUND, PROM_GARBAGE, PROM_OTHER fatal. *value gets
 * the number to report when the outcome is ready.
 */
gp_outcome prom_outcome(const prom_answer *a, prom_on_empty on_empty,
                        int in_warmup, double *value);

#endif
