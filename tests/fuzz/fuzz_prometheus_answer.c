/*
 * tests/fuzz/fuzz_prometheus_answer.c - any bytes as the body of a
 * Prometheus instant query answer (plugins/prometheus/answer.c). Byte 0
 * picks the HTTP status, byte 1 on_empty and the warmup, the rest is the
 * body. Checked against answer.h: the kind is one of prom_kind, the text
 * one printable NUL-terminated line, a PROM_VALUE finite, PROM_INF
 * infinite, PROM_MANY more than one series, and the outcome ready only
 * for one number (or nothing with on_empty = zero), with 0 as the number
 * then.
 */
#include <math.h>
#include <string.h>

#include "answer.h"
#include "fuzz.h"

static const long statuses[] = {200, 400, 401, 403, 404,
                                422, 429, 500, 503, 302};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 300000)
        return 0;
    long status = statuses[data[0] % (sizeof statuses / sizeof *statuses)];
    prom_on_empty on_empty = (prom_on_empty)(data[1] % 4);
    int warmup = (data[1] >> 2) & 1;
    prom_answer a;
    prom_judge(status, (const char *)data + 2, size - 2, &a);
    FUZZ_CHECK(a.kind >= PROM_VALUE && a.kind <= PROM_OTHER);
    FUZZ_CHECK(a.status == status);
    size_t n = strnlen(a.text, sizeof a.text);
    FUZZ_CHECK(n < sizeof a.text);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK((unsigned char)a.text[i] >= ' ' &&
                   (unsigned char)a.text[i] != 0x7f);
    if (a.kind == PROM_VALUE)
        FUZZ_CHECK(isfinite(a.value));
    if (a.kind == PROM_INF)
        FUZZ_CHECK(isinf(a.value));
    if (a.kind == PROM_MANY)
        FUZZ_CHECK(a.n_series > 1);
    double v = -1;
    gp_outcome o = prom_outcome(&a, on_empty, warmup, &v);
    if (o == GP_READY) {
        FUZZ_CHECK(a.kind == PROM_VALUE ||
                   ((a.kind == PROM_EMPTY || a.kind == PROM_NAN) &&
                    on_empty == PROM_EMPTY_ZERO));
        FUZZ_CHECK(a.kind == PROM_VALUE ? v == a.value : v == 0);
    }
    FUZZ_CHECK(o == GP_READY || o == GP_TRANSIENT || o == GP_FATAL);
    return 0;
}
