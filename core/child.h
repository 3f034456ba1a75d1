/*
 * core/child.h - the child side of one attempt: the gp_api the plugin
 * calls, and the result protocol back to the parent.
 *
 * Protocol: the child writes JSON objects, one per line, to the result
 * pipe: zero or more {"log": {"level": N, "text": S}}, then exactly one
 * {"result": {"outcome": S, "message": S, "metrics": {NAME: NUMBER},
 * "bug": S}} ("bug" only when the plugin misused the API). Anything else
 * on the pipe is garbage and makes the attempt an error.
 */
#ifndef GP_CORE_CHILD_H
#define GP_CORE_CHILD_H

#include <stdint.h>

#include "probe.h"

typedef struct child_attempt {
    const probe_def *def;
    const probe_set *set; /* the run's probes, whose secrets leave the
                             attempt's environment; NULL: only def's */
    int64_t deadline_ms;  /* CLOCK_MONOTONIC */
    int warmup;
    unsigned number;
    int fd; /* result pipe */
} child_attempt;

/* Run the plugin's check() and write the result; never returns. */
_Noreturn void child_run(const child_attempt *a);

/* Maximum log lines one attempt sends; later ones are counted only. */
#define CHILD_MAX_LOGS 20

#endif
