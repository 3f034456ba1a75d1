/*
 * core/policy.h - the timing math of warmup, retries and backoff.
 *
 * Pure functions, so the schedule can be unit-tested without a clock.
 *
 * A probe starts (when its `after` dependencies are ready) and enters its
 * warmup window [start, start + warmup). Inside it, not-ready results are
 * expected: attempts start every warmup_interval (start to start) and do
 * not count. After the window, up to `attempts` attempts run; the first at
 * once, the next after delay, delay*2, delay*4 ... (exponential) or delay
 * (fixed), capped at max_delay, each varied by +-jitter.
 */
#ifndef GP_CORE_POLICY_H
#define GP_CORE_POLICY_H

#include <stdint.h>

#include "probe.h"

/*
 * Delay in ms before the retry that follows the k-th counted attempt
 * (k >= 1). u is a uniform random number in [0, 1) that drives the jitter:
 * the result is base * (1 + jitter * (2u - 1)), then capped at max_delay
 * and never negative.
 */
int64_t policy_retry_delay_ms(const policy *p, unsigned k, double u);

/*
 * When the next warmup attempt should start, in ns on the same clock as
 * the arguments, given when the last one started and now; returns
 * warmup_end_ns when that comes first (the counted attempts begin there).
 */
int64_t policy_next_warmup_ns(const policy *p, int64_t last_start_ns,
                              int64_t now_ns, int64_t warmup_end_ns);

/*
 * One line describing the policy for people (`list`, `--explain`):
 * "required, timeout 5s, warmup 45s every 250ms, attempts 3, delay 1s
 * exponential up to 30s, jitter 10%, success_threshold 1". Newly
 * allocated.
 */
char *policy_describe(const policy *p);

#endif
