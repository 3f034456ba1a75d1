/*
 * core/report.h - report sinks fed by the run's event stream.
 *
 * Each output format is one sink: a vtable behind sink_open(). Adding a
 * format is one file with a sink_ops and one line in the table in
 * report.c. Sinks never decide anything; they render what the runner and
 * verdict already decided.
 */
#ifndef GP_CORE_REPORT_H
#define GP_CORE_REPORT_H

#include <stdio.h>

#include "run.h"

typedef struct report_opts {
    int quiet;   /* -q: the text sink prints only the verdict line */
    int verbose; /* -v: plugin log lines too */
} report_opts;

typedef struct sink sink;

typedef struct sink_ops {
    const char *format; /* "text", "json", ... */
    /* Create the sink writing to `path` (NULL: the format's default
     * stream). Returns NULL with a reason in err. */
    sink *(*open)(const char *path, const report_opts *o, char *err,
                  size_t errlen);
    void (*event)(sink *s, const event *ev);
    /* Flush and release; returns 0, or -1 with a reason in err (a report
     * that could not be written fails the run's report, loudly). */
    int (*close)(sink *s, char *err, size_t errlen);
} sink_ops;

struct sink {
    const sink_ops *ops;
};

/* Open "FORMAT" or "FORMAT:PATH". */
sink *sink_open(const char *spec, const report_opts *o, char *err,
                size_t errlen);
/* Formats, for --help. */
const char *report_formats(void);

typedef struct sinks {
    sink **v;
    size_t n, cap;
} sinks;

void sinks_add(sinks *ss, sink *s);
void sinks_emit(sinks *ss, const event *ev);
/* Close all; returns 0 or -1 after printing each failure to stderr. */
int sinks_close(sinks *ss);

extern const sink_ops sink_text_ops;
extern const sink_ops sink_json_ops;

/* Helpers for sinks. */
double ns_to_ms(int64_t ns);

#endif
