/*
 * core/run.c - the functions of the run model (run.h) that the runner,
 * the gate and the report sinks share: sinks depend on the model, never on
 * the supervisor.
 */
#include "run.h"

#include <stddef.h>

#include "optapi.h"

const char *attempt_res_name(attempt_res r)
{
    switch (r) {
    case RES_TIMEOUT: return "timeout";
    case RES_ERROR: return "error";
    default: break;
    }
    const char *name = optapi_outcome_name((gp_outcome)r);
    return name ? name : "?";
}

const attempt_rec *probe_run_metrics(const probe_run *p)
{
    for (size_t i = p->n_history; i-- > 0;) {
        if (p->history[i].n_metrics)
            return &p->history[i];
    }
    return NULL;
}
