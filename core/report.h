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

#include "diag.h"
#include "run.h"
#include "util.h"

typedef struct report_opts {
    int quiet;    /* -q: the text sink prints only the verdict line */
    int verbose;  /* -v: plugin log lines too */
    int progress; /* the text sink on stderr draws a live region (a tty) */
    int color;    /* ANSI colours (--color, FORCE_COLOR, NO_COLOR) */
    /* Plain lines (no live region): a "still waiting" line per probe that
     * printed nothing for this long (--heartbeat, default 10 s); 0: none.
     * The runner must tick (runner_opts.tick_ms) at least this often. */
    int64_t heartbeat_ms;
} report_opts;

typedef struct sink sink;

typedef struct sink_ops {
    const char *format; /* "text", "json", ... */
    /* A format that writes one document when the run ends sets only this:
     * it returns the document (newly allocated, or NULL when it cannot be
     * encoded); report.c keeps it and writes it at close, to stdout or
     * atomically to PATH. */
    char *(*render)(const run_result *rr);
    /* The document when no run happened because of the configuration:
     * `run` with errors (exit 2) or `validate`. d holds every error and
     * warning (d->n == 0: the configuration is valid); env may be NULL.
     * Any format may set it; report_diagnostics() writes it where the
     * run's report would have gone. */
    char *(*render_diag)(const diag *d, const char *env);
    /* A Markdown summary appended to $GITHUB_STEP_SUMMARY when that is
     * set (github): of the run (rr) or else of the diagnostics (d). */
    char *(*step_summary)(const run_result *rr, const diag *d);
    /* A streaming format sets these three instead. */
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

/* 1 when the report "FORMAT[:PATH]" prints every metric a probe reports
 * (json, tap, prometheus, nagios), else 0. */
int report_shows_metrics(const char *spec);

/* Open "FORMAT" or "FORMAT:PATH". */
sink *sink_open(const char *spec, const report_opts *o, char *err,
                size_t errlen);

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
extern const sink_ops sink_jsonl_ops;
extern const sink_ops sink_junit_ops;
extern const sink_ops sink_tap_ops;
extern const sink_ops sink_prometheus_ops;
extern const sink_ops sink_nagios_ops;
extern const sink_ops sink_pushgateway_ops;
extern const sink_ops sink_github_ops;

/*
 * Write every -o report of specs[0..n) as its format's render_diag()
 * document (and the github step summary), for a configuration that
 * stopped the run (or for `validate`): the PR check shows why. A format
 * without render_diag and text to stderr write nothing (stderr has the
 * diagnostics already). Returns 0, or -1 after printing each failure.
 */
int report_diagnostics(const char *const *specs, size_t n, const diag *d,
                       const char *env);

/* The diagnostics as a JSON array of {"file", "line", "message",
 * "severity"} (report_json.c; json and jsonl use it). */
struct json_t *report_diag_json(const diag *d);
/* Nagios' exit status for a run: 0 OK (pass), 1 WARNING (degraded,
 * bypassed), 2 CRITICAL (fail), 3 UNKNOWN (interrupted). */
int nagios_exit_code(const run_result *rr);

/* The documents of a finished run without a sink (gpcheck serve renders
 * them into its snapshots): the text report's header and summary (what
 * the text sink prints at the end), newly allocated or NULL; one probe's
 * object of the JSON report (a new reference). */
char *report_text_render(const run_result *rr);
struct json_t *report_json_probe(const run_result *rr, const probe_run *pr);

/* Write a finished document as the document formats' sinks do: to
 * stdout when path is NULL, else atomically to PATH (the same rules as
 * -o FORMAT:PATH). Returns 0, or -1 with "-o FORMAT:PATH: reason" in err. */
int report_write(const char *format, const char *path, const char *text,
                 char *err, size_t errlen);

/* Helpers for sinks. */
double ns_to_ms(int64_t ns);

/* A descriptor to stream a report to PATH (jsonl, text): a device or FIFO
 * in place, else a new file renamed into place at once, so readers see it
 * grow. Returns the descriptor (close-on-exec), or -1 with the reason in
 * err. */
int report_open_stream(const char *format, const char *path, char *err,
                       size_t errlen);

/* Append s to sb with XML's five special characters escaped and control
 * characters dropped (XML 1.0 cannot carry them). */
void sb_append_xml(strbuf *sb, const char *s);

/* One attempt as reports and --explain print it, without a newline:
 * "attempt 2: transient after 12.5 ms: MESSAGE". */
void report_attempt(strbuf *sb, const attempt_rec *a);
/* The attempt history of a probe, one report_attempt() line per attempt. */
void report_history(strbuf *sb, const probe_run *pr);

#endif
