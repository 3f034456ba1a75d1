/* core/policy.c - retry delay and warmup cadence; see policy.h. */
#include "policy.h"

#include <stdio.h>

#include "util.h"

int64_t policy_retry_delay_ms(const policy *p, unsigned k, double u)
{
    double base = (double)p->delay_ms;
    if (p->backoff == BACKOFF_EXPONENTIAL) {
        /* Stop doubling once past the cap: no overflow for large k. */
        for (unsigned i = 1; i < k && base < (double)p->max_delay_ms; i++)
            base *= 2.0;
    }
    if (base > (double)p->max_delay_ms)
        base = (double)p->max_delay_ms;
    double d = base * (1.0 + p->jitter * (2.0 * u - 1.0));
    if (d > (double)p->max_delay_ms)
        d = (double)p->max_delay_ms;
    if (d < 0)
        d = 0;
    return (int64_t)(d + 0.5);
}

int64_t policy_next_warmup_ns(const policy *p, int64_t last_start_ns,
                              int64_t now, int64_t warmup_end_ns)
{
    int64_t next = last_start_ns + p->warmup_interval_ms * NS_PER_MS;
    if (next < now)
        next = now;
    if (next > warmup_end_ns)
        next = warmup_end_ns;
    return next;
}

char *policy_describe(const policy *p)
{
    char t[32], w[32], wi[32], d[32], md[32];
    fmt_duration(t, sizeof t, p->timeout_ms);
    fmt_duration(w, sizeof w, p->warmup_ms);
    fmt_duration(wi, sizeof wi, p->warmup_interval_ms);
    fmt_duration(d, sizeof d, p->delay_ms);
    fmt_duration(md, sizeof md, p->max_delay_ms);
    char warm[80] = "no warmup";
    if (p->warmup_ms > 0)
        snprintf(warm, sizeof warm, "warmup %s every %s", w, wi);
    return xasprintf("%s, timeout %s, %s, attempts %u, delay %s %s up to %s, "
                     "jitter %g%%, success_threshold %u",
                     p->severity == SEV_REQUIRED ? "required" : "optional", t,
                     warm, p->attempts, d,
                     p->backoff == BACKOFF_EXPONENTIAL ? "exponential"
                                                       : "fixed",
                     md, p->jitter * 100.0, p->success_threshold);
}
