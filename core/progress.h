/*
 * core/progress.h - live progress on a terminal: one line per probe,
 * redrawn in place at most ten times a second, with a spinner, the probe,
 * its phase (waiting on `after`, warmup with time left, attempt k of n,
 * backing off for N s), the last error in short and the elapsed time;
 * finished probes show their status, in colour unless NO_COLOR is set.
 *
 * Above the probes: the run's line (elapsed, deadline left, probes done)
 * and a header row. Each line fits the terminal: a text too long is cut by
 * progress_fit(), which keeps the end of a message ("...refused by
 * 127.0.0.1:18080"), the part that names what failed.
 *
 * Used by the text sink when stderr is a terminal (and not -q or
 * --no-progress); the final frame stays on screen above the summary.
 */
#ifndef GP_CORE_PROGRESS_H
#define GP_CORE_PROGRESS_H

#include <stdio.h>

#include "run.h"
#include "util.h"

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
/* ANSI colour of a verdict ("" when colour is off). */
const char *progress_verdict_color(verdict v, int color);

/* The columns of the terminal out is (80 when it is not one). */
size_t progress_columns(FILE *out);

/*
 * Append s to sb in at most `cols` columns (a UTF-8 character is one
 * column). When s is longer, its middle goes: a short head, "...", and
 * the tail, each cut at a word boundary when one is near, so that
 * "connection refused by 127.0.0.1:18080" in 30 columns is
 * "connection...by 127.0.0.1:18080". With pad, spaces fill to cols.
 * The one cutting rule of the live view and the final table.
 */
void progress_fit(strbuf *sb, const char *s, size_t cols, int pad);

#endif
