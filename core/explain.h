/*
 * core/explain.h - `--explain`: the decision trace, for people who need to
 * know why the gate said what it said.
 *
 * explain_config() covers what is known before probing: the files read,
 * the environment and where it came from, every probe's keys with the
 * FILE:LINE (and overlay) that set them, the effective policy, thresholds,
 * groups and the bypass. explain_run() adds what the run found: each
 * attempt's outcome and timing, each threshold evaluation, the group
 * arithmetic, the bypass decision and the rule behind the verdict.
 * Secrets are printed as ***.
 */
#ifndef GP_CORE_EXPLAIN_H
#define GP_CORE_EXPLAIN_H

#include <stdint.h>
#include <stdio.h>

#include "bypass.h"
#include "config.h"
#include "run.h"

void explain_config(FILE *out, const config *cfg, const probe_set *ps,
                    const bypass *b, int64_t now_ms);
void explain_run(FILE *out, const run_result *rr);

/*
 * Where the ${VAR}s in the value of key (a key of p's section in cfg) came
 * from, one line each after `indent`: "${DB_TIMEOUT} = 600 from
 * .env.staging:7", "... from the environment", "... is not set". A value
 * is shown masked with p's secrets, and not at all for a secret option.
 * Prints nothing when the value interpolates nothing.
 */
void explain_var_sources(FILE *out, const config *cfg, const probe_def *p,
                         const char *key, const char *indent);

#endif
