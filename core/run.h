/*
 * core/run.h - what a run produces: per-probe state and history, and the
 * event stream the report sinks consume.
 *
 * The runner owns every object here; sinks read them during an event and
 * must copy what they keep.
 */
#ifndef GP_CORE_RUN_H
#define GP_CORE_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "probe.h"
#include "threshold.h"
#include "verdict.h"

struct bypass;

/* How one attempt ended, as the core saw it: the plugin's gp_outcome, with
 * the same values (so a result converts by a cast), or one of the two
 * endings only the supervisor sees. */
typedef enum attempt_res {
    RES_READY = GP_READY,
    RES_TRANSIENT = GP_TRANSIENT,
    RES_FATAL = GP_FATAL,
    RES_DEGRADED = GP_DEGRADED,
    RES_UNKNOWN = GP_UNKNOWN, /* the plugin said it could not tell */
    RES_TIMEOUT,              /* killed at the attempt's deadline */
    RES_ERROR, /* crashed, no result, garbage, plugin bug, fork failed */
} attempt_res;

/* The name of an ending in the reports: a gp_outcome's name, "timeout",
 * "error", or "?" for a value outside the enum. */
const char *attempt_res_name(attempt_res r);

typedef struct metric_val {
    const gp_metric *decl; /* owned by the plugin */
    double value;
} metric_val;

typedef struct attempt_rec {
    unsigned number; /* 1-based within its phase */
    int warmup;      /* started inside the warmup window */
    attempt_res res;
    char *message;       /* owned; secrets masked; "" when none */
    metric_val *metrics; /* owned */
    size_t n_metrics;
    int64_t start_ns, end_ns; /* monotonic */
    th_level breach; /* a ready attempt whose metrics broke a threshold */
} attempt_rec;

typedef enum probe_state {
    PS_WAITING = 0, /* on `after` dependencies */
    PS_SCHEDULED,   /* next attempt at next_ns */
    PS_RUNNING,     /* an attempt in flight */
    PS_DONE,
} probe_state;

typedef struct probe_run {
    const probe_def *def;
    probe_state state;
    probe_status status;  /* valid when PS_DONE */
    char *message;        /* owned; the final message */
    attempt_rec *history; /* owned */
    size_t n_history, cap_history;
    unsigned counted; /* attempts made after warmup */
    unsigned consecutive_ok;
    int64_t start_ns; /* dependencies satisfied; 0: not started */
    int64_t warmup_end_ns;
    int64_t next_ns; /* PS_SCHEDULED: when */
    int64_t end_ns;
    int cut_by_deadline; /* the run deadline ended it */
    th_eval *evals;      /* owned; def->n_conds evaluations on the last ready
                            attempt; n_evals is 0 until one was evaluated */
    size_t n_evals;
} probe_run;

/* The last attempt that reported metrics, or NULL. */
const attempt_rec *probe_run_metrics(const probe_run *p);

/* A unit of the verdict: a probe outside any group, or a group. */
typedef struct unit_result {
    const char *name; /* the probe's or group's, owned by the probe_set */
    int is_group;
    size_t index; /* into run_result.probes or probe_set.groups */
    severity sev;
    probe_status status;
    size_t ok, up, need; /* groups: members ok, ok or warn, needed */
    int in_scope;        /* inside the bypass's scope */
    int overridden;      /* a failure the active bypass overrode */
} unit_result;

/* How the gate decided, for the reports and --explain. */
typedef struct decision {
    unit_result *units; /* owned */
    size_t n_units;
    verdict without_bypass;
    char *rule;        /* owned; the rule that produced the verdict */
    char *audit_error; /* owned; why the audit line could not be written */
} decision;

typedef struct run_result {
    const char *env;   /* owned by the config */
    probe_run *probes; /* owned, one per probe_set entry, same order */
    size_t n;
    int64_t started_wall_ms;
    int64_t start_ns, end_ns;
    int64_t deadline_ms; /* 0: none */
    verdict verdict;
    int exit_code;
    int deadline_hit;
    int signo; /* interrupting signal, 0 when none */
    unsigned jobs;
    const probe_set *set;        /* what ran; owned by the caller */
    const struct bypass *bypass; /* owned by the caller; may be NULL */
    decision dec;
} run_result;

typedef enum event_kind {
    EV_RUN_START = 0,
    EV_PROBE_WAIT,  /* waiting on its `after` probes */
    EV_PROBE_START, /* dependencies ready; warmup begins */
    EV_ATTEMPT_START,
    EV_ATTEMPT_END, /* next_ns set when a retry is scheduled */
    EV_LOG,         /* a plugin's log line (level, text) */
    EV_PROBE_END,
    EV_RUN_END,
    EV_TICK, /* every runner_opts.tick_ms while probes run (live views) */
} event_kind;

typedef struct event {
    event_kind kind;
    int64_t t_ns; /* monotonic */
    const run_result *run;
    const probe_run *probe;     /* all but RUN_START / RUN_END */
    const attempt_rec *attempt; /* ATTEMPT_START / ATTEMPT_END */
    int64_t next_ns;            /* ATTEMPT_END: the next attempt, or 0 */
    int log_level;              /* EV_LOG */
    const char *text;           /* EV_LOG */
} event;

#endif
