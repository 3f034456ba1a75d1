/*
 * core/verdict.h - the result vocabulary: probe statuses, the run verdict,
 * and the exit status they map to. Few words, each exact.
 */
#ifndef GP_CORE_VERDICT_H
#define GP_CORE_VERDICT_H

#include <stddef.h>

#include "probe.h"

typedef enum probe_status {
    ST_OK = 0,
    ST_WARN,    /* ready but degraded */
    ST_FAIL,    /* not ready: fatal, or retries exhausted */
    ST_TIMEOUT, /* the last attempt or the run deadline cut it */
    ST_ERROR,   /* the probe itself broke: crash, garbage, plugin bug */
    ST_SKIPPED, /* not run: a dependency was not ready, or interrupted */
} probe_status;

typedef enum verdict {
    V_PASS = 0, /* every required probe ok */
    V_DEGRADED, /* required probes ok or warn, or only optional ones not ok */
    V_FAIL,     /* a required probe fail / timeout / error / skipped */
    V_BYPASSED, /* reserved for the emergency bypass */
} verdict;

/* Exit statuses of gpcheck. */
enum {
    EXIT_PASS = 0,
    EXIT_FAIL = 1,
    EXIT_USAGE = 2,
    EXIT_DEADLINE = 124,
    EXIT_SIGINT = 130,
    EXIT_SIGTERM = 143,
};

const char *status_name(probe_status s);
const char *verdict_name(verdict v);

/*
 * The one rule that turns the units of a run (probes, and groups in place
 * of their members) into its verdict; core/gate.c folds it over the units.
 * What one unit contributes:
 *
 *     ok                                      -> pass
 *     warn, required or optional              -> degraded
 *     fail, timeout, error, skipped: optional -> degraded
 *                                    required -> fail
 *
 * and contributions combine as the worst of them, in the order
 *
 *     pass < degraded < fail
 *
 * (no unit: pass). `bypassed` is never a contribution: the gate turns a
 * fail into it when every unit that fails lies inside an active bypass.
 */
verdict verdict_of_unit(severity sev, probe_status st);
/* The worse of a and b in the order above; neither may be V_BYPASSED. */
verdict verdict_worst(verdict a, verdict b);

/*
 * Exit status: EXIT_PASS for pass / degraded / bypassed, EXIT_FAIL for
 * fail, but EXIT_DEADLINE when the run deadline cut a required probe
 * before its result was known (`required_cut`), and 128 + signal when the
 * run was interrupted (`signo` > 0).
 */
int verdict_exit_code(verdict v, int required_cut, int signo);

#endif
