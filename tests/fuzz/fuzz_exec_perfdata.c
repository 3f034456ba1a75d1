/*
 * tests/fuzz/fuzz_exec_perfdata.c - a command's stdout as exec reads it
 * (plugins/exec/perfdata.c): any bytes through perf_parse(), checked against
 * what perfdata.h promises (the caps hold, the status text and long-text
 * lines are trimmed single lines inside the owned copy, labels are non-empty
 * and cut to fit, values are finite and in a known class), and every item
 * kept round-trips: printed back as 'label'=RAWuom it parses to the same
 * label, number, unit and class. A value is finite in its class's unit too:
 * the core's JSON has no infinity.
 */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "perfdata.h"

/* s is a trimmed line: no newline, no blank at either end. */
static void check_line(const perf_output *o, const char *s)
{
    size_t n = strlen(s);
    (void)o;
    FUZZ_CHECK(strchr(s, '\n') == NULL);
    FUZZ_CHECK(n == 0 || (!isspace((unsigned char)s[0]) &&
                          !isspace((unsigned char)s[n - 1])));
}

/* 'label'=RAWuom, the label quoted with '' for each quote. */
static void round_trip(const perf_item *it)
{
    char line[2 * PERF_MAX_LABEL + 64];
    size_t n = 0;
    perf_output again;

    line[n++] = '|';
    line[n++] = '\'';
    for (const char *c = it->label; *c; c++) {
        if (*c == '\'')
            line[n++] = '\'';
        line[n++] = *c;
    }
    line[n++] = '\'';
    snprintf(line + n, sizeof(line) - n, "=%.17g%s", it->raw, it->uom);
    if (perf_parse(line, strlen(line), &again) < 0)
        return; /* out of memory: nothing to compare */
    FUZZ_CHECK(again.n == 1);
    FUZZ_CHECK(strcmp(again.items[0].label, it->label) == 0);
    FUZZ_CHECK(again.items[0].raw == it->raw);
    FUZZ_CHECK(strcmp(again.items[0].uom, it->uom) == 0);
    FUZZ_CHECK(again.items[0].cls == it->cls);
    perf_output_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    perf_output o;
    char name[64];

    if (perf_parse((const char *)data, size, &o) < 0)
        return 0;
    FUZZ_CHECK(o.buf != NULL && o.text != NULL);
    FUZZ_CHECK(strlen(o.buf) <= size);
    FUZZ_CHECK(o.n <= PERF_MAX_ITEMS);
    FUZZ_CHECK(o.n_long <= PERF_MAX_LONG);
    FUZZ_CHECK(o.n_notes <= PERF_MAX_NOTES);
    FUZZ_CHECK(o.dropped == 0 || o.n == PERF_MAX_ITEMS);
    check_line(&o, o.text);
    FUZZ_CHECK(strchr(o.text, '|') == NULL);
    for (size_t i = 0; i < o.n_long; i++) {
        check_line(&o, o.long_text[i]);
        FUZZ_CHECK(o.long_text[i][0] != '\0');
    }
    for (size_t i = 0; i < o.n_notes; i++)
        FUZZ_CHECK(memchr(o.notes[i], '\0', sizeof(o.notes[i])) != NULL);
    for (size_t i = 0; i < o.n; i++) {
        const perf_item *it = &o.items[i];
        size_t ll = strnlen(it->label, sizeof(it->label));
        FUZZ_CHECK(ll > 0 && ll < sizeof(it->label));
        FUZZ_CHECK(memchr(it->uom, '\0', sizeof(it->uom)) != NULL);
        FUZZ_CHECK(strchr(it->label, '\n') == NULL);
        FUZZ_CHECK(isfinite(it->raw) && isfinite(it->value));
        FUZZ_CHECK(it->cls < PC_N);
        FUZZ_CHECK(it->cls != PC_VALUE || it->value == it->raw);
        perf_metric_name(it->label, name, sizeof(name));
        FUZZ_CHECK(strlen(name) < sizeof(name));
        for (const char *c = name; *c; c++)
            FUZZ_CHECK(islower((unsigned char)*c) ||
                       isdigit((unsigned char)*c) || *c == '_');
        round_trip(it);
    }
    perf_output_free(&o);
    return 0;
}
