/*
 * plugins/exec/perfdata.h - the monitoring-plugins (Nagios) output format:
 * the status text, the long text and the performance data a command
 * prints, parsed into a struct. Pure: bytes in, struct out, no gp_api and
 * no I/O, so it is unit-tested (test_perfdata.c) and fuzzed on its own.
 *
 *     TEXT | 'label'=value[UOM];[warn];[crit];[min];[max] label2=...
 *     LONG TEXT LINE 2
 *     LONG TEXT LINE 3 | more perfdata
 *     more perfdata on every following line
 */
#ifndef EXEC_PERFDATA_H
#define EXEC_PERFDATA_H

#include <stddef.h>

/* How many perfdata items are kept, how long a label may be, how many
 * long-text lines and notes are kept. */
#define PERF_MAX_ITEMS 64
#define PERF_MAX_LABEL 128
#define PERF_MAX_LONG 5
#define PERF_MAX_NOTES 8

/* The unit class of a value: what gpcheck converts it into. */
enum perf_class {
    PC_TIME,    /* ms */
    PC_PERCENT, /* % */
    PC_BYTES,   /* bytes */
    PC_COUNT,   /* a counter ("c") */
    PC_VALUE,   /* no unit, or one exec does not know */
    PC_N
};

typedef struct perf_item {
    char label[PERF_MAX_LABEL]; /* unquoted; cut at PERF_MAX_LABEL - 1 */
    char uom[16];
    double raw;   /* as printed */
    double value; /* in the class's unit (ms, %, bytes, count) */
    enum perf_class cls;
} perf_item;

typedef struct perf_output {
    char *buf;  /* owned: a copy of the input, split in place */
    char *text; /* into buf: the first line before '|', trimmed ("" when
                   the command printed nothing) */
    char *long_text[PERF_MAX_LONG]; /* into buf: non-blank later lines */
    size_t n_long;
    perf_item items[PERF_MAX_ITEMS];
    size_t n;
    size_t dropped; /* well-formed items beyond PERF_MAX_ITEMS */
    /* What was skipped and why ("skipped malformed item x=abc", "'x' is
     * undetermined (U)", "'x' has unit 'Q' unknown to exec"), for the
     * debug log; notes beyond PERF_MAX_NOTES are only counted. */
    char notes[PERF_MAX_NOTES][160];
    size_t n_notes, notes_dropped;
} perf_output;

/*
 * Parse len bytes of a command's stdout (NUL bytes read as blanks; any
 * bytes accepted) into *out, which the caller zeroes or reuses after
 * perf_output_free(). Returns 0, or -1 when out of memory (then *out holds
 * nothing to free).
 */
int perf_parse(const char *buf, size_t len, perf_output *out);

void perf_output_free(perf_output *out);

/* Trim ASCII blanks at both ends of s, in place; returns the start. */
char *perf_trim(char *s);

/* The metric name a label maps to: lower-cased, every byte not
 * [a-z0-9_] replaced by '_' ("Time Used" -> "time_used"); cut to cap. */
void perf_metric_name(const char *label, char *name, size_t cap);

#endif
