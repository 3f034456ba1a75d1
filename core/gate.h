/*
 * core/gate.h - the decision: thresholds on metrics, groups (n of m), the
 * emergency bypass, and the verdict with the rule that produced it.
 *
 * The runner runs probes to statuses; the gate turns statuses into the
 * verdict. Plugins never decide: they report outcomes and metrics, and
 * everything here works the same for every plugin.
 */
#ifndef GP_CORE_GATE_H
#define GP_CORE_GATE_H

#include "bypass.h"
#include "run.h"

/*
 * Evaluate the warn_if / fail_if conditions of pr's probe on an attempt's
 * metrics, and on what the core measured of it (ready_after: rec's end
 * since pr->start_ns; attempts: pr->n_history, rec included; duration:
 * rec's own time), into out[0 .. n_conds). A condition whose metric the
 * attempt did not report does not fire. Returns the highest level that
 * fired.
 */
th_level gate_thresholds(const probe_run *pr, const attempt_rec *rec,
                         th_eval *out);

/* 1 when a fired condition among ev[0 .. n) may heal on another attempt:
 * any but those on ready_after and attempts, which only grow, so that
 * retry_on_threshold does not spend the attempts on them. */
int gate_breach_retryable(const th_eval *ev, size_t n);
/* 1 when a breach of t alone may heal on another attempt (see above). */
int gate_cond_retryable(const threshold *t);

/* "fail_if pool_usage >= 90%: pool_usage is 92.3%" for the first
 * condition of `level` that fired; newly allocated, or NULL. */
char *gate_breach_text(const th_eval *ev, size_t n, th_level level);

/*
 * Decide rr's verdict from its probes' statuses, the groups of rr->set and
 * the bypass rr->bypass; fill rr->dec, rr->verdict and rr->exit_code. When
 * the verdict is `bypassed` and the bypass has an audit_log, append the
 * audit line; if that fails the verdict becomes `fail` (never a silent
 * bypass). `now_ms` is the wall clock, `user` and `host` go to the audit.
 */
void gate_decide(run_result *rr, int64_t now_ms, const char *user,
                 const char *host);

/* The unit a probe belongs to in rr->dec (its group's, or its own). */
const unit_result *gate_unit_of(const run_result *rr, size_t probe);

void decision_free(decision *d);

#endif
