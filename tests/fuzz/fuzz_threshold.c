/*
 * tests/fuzz/fuzz_threshold.c - warn_if / fail_if conditions
 * (core/threshold.c) against a schema with a metric of every unit: parse
 * the input as both levels, then evaluate and format every condition
 * parsed. A condition that parses has a metric of the schema (or one the
 * core measures), a known operator and a normalised text; a list that
 * fails appends nothing.
 */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "threshold.h"
#include "util.h"

static const gp_metric metrics[] = {
    {.name = "connect_time", .unit = GP_UNIT_MS},
    {.name = "pool_usage", .unit = GP_UNIT_PERCENT},
    {.name = "clients", .unit = GP_UNIT_COUNT},
    {.name = "used_memory", .unit = GP_UNIT_BYTES},
    {.name = "ratio", .unit = GP_UNIT_NONE},
};

static const double probes[] = {0.0, 1.0, -1.0, 99.5, 1e9, INFINITY};

static void parse(const char *s, th_level level, threshold **v, size_t *n)
{
    char err[256];
    size_t before = *n;
    if (threshold_parse(s, level, metrics, ARRAY_LEN(metrics), v, n, err,
                        sizeof err) < 0) {
        FUZZ_CHECK(*n == before);
        FUZZ_CHECK(memchr(err, '\0', sizeof err) && err[0]);
    } else {
        FUZZ_CHECK(*n > before);
    }
}

/* The normalised text (for messages and --explain) says the same. */
static void reparse(const threshold *t)
{
    threshold *again = NULL;
    size_t n = 0;
    char err[256];
    FUZZ_CHECK(threshold_parse(t->text, t->level, metrics, ARRAY_LEN(metrics),
                               &again, &n, err, sizeof err) == 0);
    FUZZ_CHECK(n == 1 && again[0].metric == t->metric && again[0].op == t->op);
    FUZZ_CHECK(again[0].value == t->value ||
               (isinf(again[0].value) && isinf(t->value)));
    FUZZ_CHECK(strcmp(again[0].text, t->text) == 0);
    threshold_free(again, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    threshold *v = NULL;
    size_t n = 0;
    char buf[64];

    parse(s, TH_WARN, &v, &n);
    parse(s, TH_FAIL, &v, &n);
    for (size_t i = 0; i < n; i++) {
        const threshold *t = &v[i];
        /* a metric of the schema, or one the core measures (ready_after,
         * attempts, duration: GP_CORE_METRICS) */
        size_t n_core;
        const gp_metric *core = threshold_core_metrics(&n_core);
        FUZZ_CHECK((t->metric >= metrics &&
                    t->metric < metrics + ARRAY_LEN(metrics)) ||
                   (t->metric >= core && t->metric < core + n_core));
        FUZZ_CHECK(t->op >= TH_GT && t->op <= TH_NE);
        FUZZ_CHECK(t->text && strncmp(t->text, t->metric->name,
                                      strlen(t->metric->name)) == 0);
        FUZZ_CHECK(!isnan(t->value));
        for (size_t k = 0; k < ARRAY_LEN(probes); k++)
            (void)threshold_holds(t, probes[k]);
        threshold_format(t->metric, t->value, buf, sizeof buf);
        FUZZ_CHECK(buf[0] != '\0');
        reparse(t);
    }
    threshold_free(v, n);
    free(s);
    return 0;
}
