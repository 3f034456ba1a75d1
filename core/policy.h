/*
 * core/policy.h - a probe's policy: the keys that set it, their built-in
 * defaults, the keys the core reserves in a probe section, and the timing
 * math of warmup, retries and backoff.
 *
 * Pure functions, so the schedule can be unit-tested without a clock.
 *
 * A probe starts (when its `after` dependencies are ready) and enters its
 * warmup window [start, start + warmup). Inside it, not-ready results are
 * expected: attempts start every warmup_interval (start to start; by
 * default `auto`, 10 ms growing to 75 ms) and do not count. After the window,
 * up to `attempts` attempts run; the first at once, the next after delay,
 * delay*2, delay*4 ... (exponential) or delay (fixed), capped at max_delay,
 * each varied by +-jitter.
 */
#ifndef GP_CORE_POLICY_H
#define GP_CORE_POLICY_H

#include <stdint.h>

#include "probe.h"

/* Set p to the built-in defaults (policy.c is the one place they are
 * written; README.md and man/gpcheck.ini.5.scd document them). */
void policy_init(policy *p);

/*
 * Set one of the scalar policy keys (timeout ... severity) in p from its
 * config text. Returns 1 when set, 0 when key is not one of them, -1 with
 * a reason in err when the value is invalid.
 */
int policy_set(policy *p, const char *key, const char *value, char *err,
               size_t errlen);

/* 1 when policy_set() knows key; the keys it knows (static, *n receives
 * the count), for "did you mean" in [defaults]. */
int policy_is_set_key(const char *key);
const char *const *policy_set_keys(size_t *n);

/*
 * 1 for every key the core reserves in a probe section (GP_RESERVED_KEYS
 * in gpcheck/plugin.h: plugin, the policy keys, tags, after, envs, group
 * and the threshold keys); a plugin may not declare an option with such a
 * name. policy_reserved_keys: the same keys (static, *n the count).
 */
int policy_is_reserved(const char *key);
const char *const *policy_reserved_keys(size_t *n);

/* warmup = auto needs this many recent times to ready, else it is
 * warmup_max. */
#define POLICY_AUTO_MIN_SAMPLES 10
/* The margin over the p99 of the recent times to ready. */
#define POLICY_AUTO_FACTOR 1.5

/*
 * warmup = auto: set p->warmup_ms from n recent times to ready of the
 * probe whose p99 is p99_ms: p99 x 1.5 rounded up to the millisecond, at
 * most warmup_max; warmup_max itself with fewer than
 * POLICY_AUTO_MIN_SAMPLES. Nothing changes without warmup_auto.
 */
void policy_auto_warmup(policy *p, size_t n, double p99_ms);

/*
 * Delay in ms before the retry that follows the k-th counted attempt
 * (k >= 1). u is a uniform random number in [0, 1) that drives the jitter:
 * the result is base * (1 + jitter * (2u - 1)), then capped at max_delay
 * and never negative.
 */
int64_t policy_retry_delay_ms(const policy *p, unsigned k, double u);

/*
 * When the next warmup attempt should start, in ns on the same clock as
 * the arguments, given when the last one (the k-th) started and now; returns
 * warmup_end_ns when that comes first (the counted attempts begin there).
 */
int64_t policy_next_warmup_ns(const policy *p, int64_t last_start_ns,
                              unsigned k, int64_t now_ns,
                              int64_t warmup_end_ns);

/* The spacing (start to start) after the k-th warmup attempt (k >= 1):
 * warmup_interval when set, else the adaptive cadence of `auto`. */
int64_t policy_warmup_interval_ms(const policy *p, unsigned k);

/*
 * One line describing the policy for people (`list`, `--explain`):
 * "required, timeout 5s, warmup 45s every 250ms, attempts 3, delay 1s
 * exponential up to 30s, jitter 10%, success_threshold 1". Newly
 * allocated.
 */
char *policy_describe(const policy *p);

#endif
