/*
 * core/history.h - the run history: one SQLite file where every run, its
 * probes and the gated command's outcome are kept, and the queries that
 * `gpcheck history` and `gpcheck stats` (and `serve`) answer from it.
 *
 * A write never decides the verdict: history_record() returns -1 with a
 * reason and the caller says so on stderr (the verdict changes only when
 * the configuration says history_required = true). The database is in WAL
 * mode with a busy timeout, so parallel runs on one machine each add their
 * row; one run is one transaction, so a crash leaves either the whole run
 * or nothing of it. The schema is versioned with PRAGMA user_version and
 * migrated by the steps in history.c's table.
 *
 * What is stored has already been masked: probe messages and the rule
 * carry no secret (the runner masks them), and no option value is stored.
 */
#ifndef GP_CORE_HISTORY_H
#define GP_CORE_HISTORY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "run.h"

/* Retention, enforced on every write; 0: no bound of that kind. */
typedef struct history_keep {
    int64_t age_ms; /* rows older than this go */
    int64_t runs;   /* only the newest this many runs stay */
} history_keep;

/* The default retention: 90 days. */
#define HISTORY_KEEP_DEFAULT_MS (INT64_C(90) * 24 * 3600 * 1000)

/* What `--history` / `history =` said, parsed; path NULL: no history. */
typedef struct history_cfg {
    char *path; /* owned; NULL: history off */
    history_keep keep;
    int required; /* a failed write fails the run */
} history_cfg;

/* The gated command's outcome, when gpcheck supervised it. */
typedef struct history_cmd {
    int known;          /* 0: no command ran under gpcheck's eye */
    int exit_code;      /* as a shell reports it: 128+N when killed by N */
    int signo;          /* the signal that killed it, or 0 */
    double duration_ms; /* from start to its exit */
    const char *label;  /* "infrastructure", "tests" (after --recheck), or
                           NULL; static */
} history_cmd;

typedef struct history history; /* an open history file */

/*
 * The per-user history file: $XDG_STATE_HOME/gpcheck/history.db, or
 * ~/.local/state/gpcheck/history.db. Newly allocated, or NULL with the
 * reason in err (no home folder).
 */
char *history_default_path(char *err, size_t errlen);

/*
 * "90d", "2w", "12h" (a duration, days and weeks allowed) into *ms, or
 * "50000 runs" into *runs (the other is set to 0). Returns 0 or -1 with
 * a reason in err.
 */
int history_parse_keep(const char *s, history_keep *k, char *err,
                       size_t errlen);

/* "30d", "2w", "12h", "90m": a duration with days and weeks; 0 or -1. */
int history_parse_age(const char *s, int64_t *ms, char *err, size_t errlen);

/*
 * Open the history at path. With `create`, a missing file is created mode
 * 0600 (its folders 0700), and refused when its folder is not the user's
 * (owned by the running user, or by root and writable by nobody else), or
 * when path is a symlink that is not the user's or root's, or not a
 * regular file: the rules report files follow. Without `create`, a
 * missing file is an error. Brings the schema up to date. Loads SQLite
 * first (dl_sqlite). Returns the handle (close with history_close), or
 * NULL with the reason in err.
 */
history *history_open(const char *path, int create, char *err, size_t errlen);

void history_close(history *h);

/*
 * Add one run: its row, one row per probe, and cmd's outcome (may be
 * NULL), then drop what keep no longer allows, in one transaction. host
 * may be NULL. Returns 0, or -1 with the reason in err (nothing of the run
 * was written).
 */
int history_record(history *h, const run_result *rr, const history_cmd *cmd,
                   const history_keep *keep, const char *host, char *err,
                   size_t errlen);

/* Which runs a query looks at; NULL / 0: no bound. */
typedef struct history_filter {
    const char *env;
    const char *probe;
    int64_t since_ms; /* wall clock: runs started at or after */
    size_t limit;     /* history_runs: the newest this many */
} history_filter;

/*
 * The newest runs matching f, newest first: a JSON array of objects
 * {"id", "time", "started_ms", "env", "verdict", "rule", "exit_code",
 * "duration_ms", "bypass", "host", "ci": {...}, "command": {"exit_code",
 * "signal", "duration_ms", "label"} or null, "probes": [{"name",
 * "plugin", "status", "attempts", "ready_ms" (null: never ready),
 * "message", "metrics": {}}]}; with f->probe, only runs of that probe, and
 * only its row. New reference, or NULL with the reason in err.
 */
json_t *history_runs(history *h, const history_filter *f, char *err,
                     size_t errlen);

/*
 * Aggregates over the runs matching f: {"since_ms", "envs": [{"env",
 * "runs", "passed", "pass_rate", "bypassed", "suite": {"runs", "passed",
 * "success_rate" (null: none), "infrastructure", "tests"}, "daily":
 * [{"day" (YYYY-MM-DD, UTC), "runs", "passed", "pass_rate"}], "probes":
 * [{"name", "runs", "ok", "pass_rate", "ready": {"n", "p50_ms",
 * "p95_ms", "p99_ms", "max_ms"} (null values when never ready),
 * "attempts": {"mean", "max"}, "status_changes", "flakiness"}]}]}.
 * pass_rate and success_rate are fractions (0..1). New reference, or NULL
 * with the reason in err.
 */
json_t *history_stats(history *h, const history_filter *f, char *err,
                      size_t errlen);

/*
 * The time-to-ready series of one probe in one env since since_ms, oldest
 * first: *t_ms (wall clock) and *ready_ms, n values (free both). For the
 * HTML page. Returns 0 or -1 with the reason in err.
 */
int history_ready_series(history *h, const char *env, const char *probe,
                         int64_t since_ms, int64_t **t_ms, double **ready_ms,
                         size_t *n, char *err, size_t errlen);

#endif
