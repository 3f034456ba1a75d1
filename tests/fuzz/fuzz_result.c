/*
 * tests/fuzz/fuzz_result.c - the attempt result protocol the supervisor
 * reads from a child's result pipe (core/result.c): the input is what a
 * child wrote, cut into lines at '\n' as the runner's drain() cuts it, each
 * line parsed against a plugin's metric schema. What parses keeps the
 * promises of result.h: a known outcome, metrics of the schema, and text
 * with no control characters left to drive a terminal.
 */
#include <string.h>

#include "fuzz.h"
#include "result.h"
#include "util.h"

static const gp_metric metrics[] = {
    {.name = "connect_time", .unit = GP_UNIT_MS},
    {.name = "pool_usage", .unit = GP_UNIT_PERCENT},
    {.name = "clients", .unit = GP_UNIT_COUNT},
};

static void check_text(const char *s)
{
    FUZZ_CHECK(s != NULL);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        FUZZ_CHECK(*p >= 0x20 && *p != 0x7F);
}

static void check_line(const result_line *rl, result_kind kind)
{
    FUZZ_CHECK(rl->kind == kind);
    switch (kind) {
    case RESULT_GARBAGE: FUZZ_CHECK(rl->why && rl->why[0]); break;
    case RESULT_LOG: check_text(rl->text); break;
    case RESULT_SECRET: FUZZ_CHECK(rl->text != NULL); break;
    case RESULT_DONE:
        FUZZ_CHECK(rl->res >= RES_READY && rl->res <= RES_UNKNOWN);
        check_text(rl->msg);
        if (rl->bug)
            check_text(rl->bug);
        FUZZ_CHECK(rl->n_metrics <= ARRAY_LEN(metrics));
        for (size_t i = 0; i < rl->n_metrics; i++)
            FUZZ_CHECK(rl->metrics[i].decl >= metrics &&
                       rl->metrics[i].decl < metrics + ARRAY_LEN(metrics));
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly each line's bytes, so that reading past a line is
     * an ASan error (the runner's lines sit inside a larger buffer). */
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *line = malloc(len ? len : 1);
        if (!line)
            abort();
        memcpy(line, p, len);
        result_line rl;
        result_kind kind =
            result_parse_line(line, len, metrics, ARRAY_LEN(metrics), &rl);
        check_line(&rl, kind);
        result_line_free(&rl);
        free(line);
        p += len + 1;
    }
    return 0;
}
