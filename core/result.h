/*
 * core/result.h - the attempt result protocol as the supervisor reads it:
 * one JSON object per line on the result pipe (fd 3 of the attempt), as
 * core/child.c writes them:
 *
 *   {"log": {"level": 2, "text": "..."}}
 *   {"secret": "..."}                   (ABI 1.2 secret() from check())
 *   {"result": {"outcome": "ready", "message": "...",
 *               "metrics": {"connect_time": 0.3}, "bug": "..."}}
 *
 * outcome is ready, degraded, transient, fatal or unknown; metrics must be
 * numbers the plugin declares; bug is optional. The child is a fork of
 * the core running third-party plugin code, so every line is outside
 * input: this is pure parsing (no masking, no events, no I/O), kept apart
 * from the runner so that it can be unit-tested and fuzzed.
 */
#ifndef GP_CORE_RESULT_H
#define GP_CORE_RESULT_H

#include <stddef.h>

#include "gpcheck/plugin.h"
#include "run.h"

typedef enum result_kind {
    RESULT_GARBAGE = 0, /* not a line of the protocol */
    RESULT_LOG,         /* {"log": ...} */
    RESULT_DONE,        /* {"result": ...} */
    RESULT_SECRET,      /* {"secret": "..."} */
} result_kind;

typedef struct result_line {
    result_kind kind;
    const char *why;     /* static; RESULT_GARBAGE: the reason, for messages */
    int log_level;       /* RESULT_LOG */
    char *text;          /* owned; RESULT_LOG: control characters blanked;
                            RESULT_SECRET: the secret as the plugin gave it */
    attempt_res res;     /* RESULT_DONE: RES_READY .. RES_UNKNOWN */
    char *msg;           /* owned; RESULT_DONE; control characters blanked */
    char *bug;           /* owned; RESULT_DONE; NULL when none */
    metric_val *metrics; /* owned; RESULT_DONE; decl points into `metrics` */
    size_t n_metrics;
} result_line;

/*
 * Parse one line (len bytes, no '\n', need not be NUL-terminated) against
 * the n_metrics metrics the plugin declares. Fills *out (free it with
 * result_line_free() whatever the kind) and returns out->kind.
 */
result_kind result_parse_line(const char *line, size_t len,
                              const gp_metric *metrics, size_t n_metrics,
                              result_line *out);

void result_line_free(result_line *r);

#endif
