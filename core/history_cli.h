/*
 * core/history_cli.h - what `gpcheck history` and `gpcheck stats` print:
 * the JSON history.c answers, as text for people or as JSON for tools,
 * and stats' --fail-below check.
 */
#ifndef GP_CORE_HISTORY_CLI_H
#define GP_CORE_HISTORY_CLI_H

#include <stdio.h>

#include "history.h"

/* The runs history_runs() finds, to out. Returns the exit status: 0, or 1
 * when the history could not be read (said on stderr). */
int history_cli_runs(history *h, const history_filter *f, int json, FILE *out);

/*
 * The aggregates history_stats() computes, to out. With fail_below >= 0
 * (a fraction), exit 1 when an env's gated-suite success rate is below it,
 * or its pass rate when it has no supervised runs, or when no run matched
 * at all (a check that sees nothing does not pass); each such env is named
 * on stderr. Returns the exit status: 0, or 1.
 */
int history_cli_stats(history *h, const history_filter *f, int json,
                      double fail_below, FILE *out);

/*
 * The stats as one self-contained HTML page at path (history_html.c): per
 * env the daily pass rate, per probe the time to ready, as SVG, with the
 * figures of history_stats(). Returns the exit status: 0, 1 when it could
 * not be read or written, 2 when path cannot be a report file.
 */
int history_cli_html(history *h, const history_filter *f, const char *path);

#endif
