/*
 * core/progress.h - live progress on a terminal: one line per probe,
 * redrawn in place at most ten times a second, with a spinner, the probe,
 * its phase (waiting on `after`, warmup with time left, attempt k of n,
 * backing off for N s), the last error in short and the elapsed time;
 * finished probes show their status, in colour unless NO_COLOR is set.
 *
 * Used by the text sink when stderr is a terminal (and not -q or
 * --no-progress); the final frame stays on screen above the summary.
 */
#ifndef GP_CORE_PROGRESS_H
#define GP_CORE_PROGRESS_H

#include <stdio.h>

#include "run.h"

typedef struct progress progress;

/* out must be a terminal; color: use ANSI colours. Owned by the caller. */
progress *progress_new(FILE *out, int color);
/* Feed every event; draws when due (EV_TICK) or when a probe ends. */
void progress_event(progress *p, const event *ev);
/* Print a line above the live region (a log line), then redraw. */
void progress_print_above(progress *p, const char *line);
/* Draw the final frame and leave it on screen. */
void progress_finish(progress *p);
void progress_free(progress *p);

/* ANSI colour of a status ("" when colour is off). */
const char *progress_color(probe_status st, int color);

#endif
