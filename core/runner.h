/*
 * core/runner.h - the supervisor: runs every probe's attempts in forked
 * children, in parallel, under the probes' policies and the run deadline.
 *
 * Single-threaded: one poll() loop over the attempts' result pipes and a
 * signalfd (SIGCHLD, SIGINT, SIGTERM, SIGHUP), with timers from
 * CLOCK_MONOTONIC. Each attempt is a child in its own process group; at its
 * deadline the whole group is killed. gpcheck is a child subreaper, so whatever
 * an attempt leaves behind is reparented to it and killed and reaped before
 * runner_run() returns: no zombie or orphan outlives a run.
 */
#ifndef GP_CORE_RUNNER_H
#define GP_CORE_RUNNER_H

#include <stdint.h>

#include "probe.h"
#include "report.h"
#include "run.h"

struct bypass;

/*
 * A run that does not end when every probe has (gpcheck serve): each probe
 * is started again when its restart_at[] time comes. The caller owns the
 * array (one entry per probe, monotonic ns, 0: not again) and may change
 * it from the hooks, which the runner calls from its own loop.
 */
typedef struct runner_loop {
    void *ud;
    int64_t *restart_at;
    /* A probe reached PS_DONE (EV_PROBE_END emitted): copy what you keep
     * of *pr, and set restart_at[probe]. Not called for what the end of
     * the run (a signal, tick()'s stop) cut short. */
    void (*done)(void *ud, size_t probe, const probe_run *pr);
    /* Polled beside the attempts (-1: none); tick() runs when it is
     * readable and at the time tick() last returned. Returns the next time
     * it wants to run (0: only on fd), or -1 to end the run. */
    int fd;
    int64_t (*tick)(void *ud, int64_t now);
} runner_loop;

typedef struct runner_opts {
    unsigned jobs;       /* attempts in flight at most (>= 1) */
    int64_t deadline_ms; /* whole run; 0: none */
    int child_stderr;    /* let plugins write to gpcheck's stderr (-v) */
    int64_t tick_ms;     /* emit EV_TICK this often; 0: never */
    const char *env;     /* for the report */
    const struct bypass *bypass; /* may be NULL */
    const char *user, *host;     /* for the bypass audit line */
    int all_metrics; /* a report shows every metric: all are wanted */
    /* NULL: SIGHUP stops the run like SIGTERM. Else SIGHUP does not stop
     * it and sets *hup_seen (gpcheck serve: a reload request). */
    int *hup_seen;
    const runner_loop *loop; /* NULL: the run ends when every probe has */
    /* Forks the attempts (core/spawner.h); NULL or not usable: the
     * supervisor forks them itself. Not owned; it outlives the run. */
    struct spawner *spawner;
} runner_opts;

/*
 * Run every probe of ps to a status, emitting events to ss, and fill *out
 * (free with run_result_free). Computes the verdict and exit code.
 * Returns 0, or -1 when the supervisor itself could not work (signalfd
 * failed): then nothing was run and a reason was printed.
 */
int runner_run(const probe_set *ps, const runner_opts *o, sinks *ss,
               run_result *out);

void run_result_free(run_result *r);

#endif
