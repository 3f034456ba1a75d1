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

void explain_config(FILE *out, const gp_config *cfg, const probe_set *ps,
                    const bypass *b, int64_t now_ms);
void explain_run(FILE *out, const run_result *rr);

#endif
