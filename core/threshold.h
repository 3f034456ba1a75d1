/*
 * core/threshold.h - `warn_if` / `fail_if` conditions on plugin metrics.
 *
 * A condition is METRIC OP VALUE, OP among > >= < <= == !=, VALUE a number
 * with an optional unit that must fit the metric's declared unit:
 *   ms      ms, s, m, h (durations: "500ms", "2s"); a bare number is ms
 *   percent "90%"; a bare number is a percentage
 *   bytes   B, KB, MB, GB, TB (powers of 1000), KiB, MiB, GiB, TiB (1024)
 *   count, none  a bare number
 * Conditions are parsed once, against the plugin's metric schema and the
 * metrics the core measures for every probe (GP_CORE_METRICS in plugin.h:
 * ready_after, attempts, duration), into a typed struct, then evaluated:
 * parse, don't re-read.
 */
#ifndef GP_CORE_THRESHOLD_H
#define GP_CORE_THRESHOLD_H

#include <stddef.h>

#include "gpcheck/plugin.h"

typedef enum th_op { TH_GT, TH_GE, TH_LT, TH_LE, TH_EQ, TH_NE } th_op;

typedef enum th_level { TH_NONE = 0, TH_WARN = 1, TH_FAIL = 2 } th_level;

typedef struct threshold {
    th_level level;          /* warn_if or fail_if */
    const gp_metric *metric; /* owned by the plugin */
    th_op op;
    double value; /* in the metric's unit (ms, percent, bytes) */
    char *text;   /* owned; normalised: "pool_usage >= 90%" */
} threshold;

/* One condition evaluated on one attempt's metrics. */
typedef struct th_eval {
    const threshold *cond; /* owned by the probe_def */
    int reported;          /* the attempt reported the metric */
    double value;          /* the value seen, when reported */
    int fired;
} th_eval;

/*
 * Parse a comma-separated list of conditions of one level against the
 * metrics (n of them) a plugin declares, appending to *v (count *n_v).
 * Returns 0, or -1 with a reason in err (the first bad condition); nothing
 * is appended then.
 */
int threshold_parse(const char *list, th_level level, const gp_metric *metrics,
                    size_t n_metrics, threshold **v, size_t *n_v, char *err,
                    size_t errlen);

/* The core's own metrics (GP_CORE_METRICS), a static table: *n receives
 * the count. threshold_core_metric: the one named `name`, or NULL.
 * threshold_is_core: 1 when m points into that table. */
const gp_metric *threshold_core_metrics(size_t *n);
const gp_metric *threshold_core_metric(const char *name);
int threshold_is_core(const gp_metric *m);

/* 1 when the condition holds for value v. */
int threshold_holds(const threshold *t, double v);

/* "92.3%", "1.2s", "512 MB", "17": a value in the metric's unit, for
 * messages. */
void threshold_format(const gp_metric *m, double v, char *buf, size_t n);

const char *th_level_name(th_level l); /* "warn_if" / "fail_if" */

/* A metric unit's name: "ms", "percent", "count", "bytes", "none". */
const char *unit_name(gp_unit u);

void threshold_free(threshold *v, size_t n);

#endif
