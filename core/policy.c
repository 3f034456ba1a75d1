/*
 * core/policy.c - a probe's policy: its keys, their defaults and parsing,
 * the keys the core reserves in a probe section, and the timing math
 * (retry delay, warmup cadence); see policy.h.
 */
#include "policy.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "value.h"

typedef enum pkind {
    PK_MS,       /* duration, >= 0 */
    PK_MS_POS,   /* duration, > 0 */
    PK_MS_AUTO,  /* duration > 0, or "auto" (stored as 0) */
    PK_COUNT,    /* integer, >= 1 */
    PK_FRACTION, /* percentage stored as a fraction */
    PK_BACKOFF,
    PK_SEVERITY,
} pkind;

static const struct pkey {
    const char *key;
    pkind kind;
    size_t off;
} pkeys[] = {
    {"timeout", PK_MS_POS, offsetof(policy, timeout_ms)},
    {"warmup", PK_MS, offsetof(policy, warmup_ms)},
    {"warmup_interval", PK_MS_AUTO, offsetof(policy, warmup_interval_ms)},
    {"attempts", PK_COUNT, offsetof(policy, attempts)},
    {"delay", PK_MS, offsetof(policy, delay_ms)},
    {"backoff", PK_BACKOFF, offsetof(policy, backoff)},
    {"max_delay", PK_MS, offsetof(policy, max_delay_ms)},
    {"jitter", PK_FRACTION, offsetof(policy, jitter)},
    {"success_threshold", PK_COUNT, offsetof(policy, success_threshold)},
    {"severity", PK_SEVERITY, offsetof(policy, severity)},
    {"warmup_max", PK_MS_POS, offsetof(policy, warmup_max_ms)},
    {"interval", PK_MS_POS, offsetof(policy, interval_ms)},
    {"max_age", PK_MS_POS, offsetof(policy, max_age_ms)},
};

/* Every key the core reserves in a probe section: plugin.h's list, the one
 * list the loader's schema check also reads (core/schema.c). */
static const char *const reserved_keys[] = {
#define POLICY_RESERVED_KEY(key, minor) key,
    GP_RESERVED_KEYS(POLICY_RESERVED_KEY)
#undef POLICY_RESERVED_KEY
};

/* The one place each built-in default is written. */
void policy_init(policy *p)
{
    p->timeout_ms = 5000;
    p->warmup_ms = 0;
    p->warmup_interval_ms = 0; /* auto: WARMUP_AUTO_* below */
    p->attempts = 3;
    p->delay_ms = 1000;
    p->backoff = BACKOFF_EXPONENTIAL;
    p->max_delay_ms = 30000;
    p->jitter = 0.10;
    p->success_threshold = 1;
    p->severity = SEV_REQUIRED;
    p->warmup_auto = 0;
    p->warmup_max_ms = 120000;
    p->auto_samples = 0;
    p->auto_p99_ms = 0;
    p->interval_ms = 30000;
    p->max_age_ms = 0; /* 3 x interval, whatever interval becomes */
}

void policy_auto_warmup(policy *p, size_t n, double p99_ms)
{
    if (!p->warmup_auto)
        return;
    p->auto_samples = n;
    p->auto_p99_ms = p99_ms;
    double want = ceil(p99_ms * POLICY_AUTO_FACTOR);
    if (n < POLICY_AUTO_MIN_SAMPLES || !(want >= 0) ||
        want > (double)p->warmup_max_ms)
        p->warmup_ms = p->warmup_max_ms;
    else
        p->warmup_ms = (int64_t)want;
}

/* Asked for every key of every probe: the first byte rules out most
 * reserved keys without a call. */
int policy_is_reserved(const char *key)
{
    for (size_t i = 0; i < ARRAY_LEN(reserved_keys); i++)
        if (key[0] == reserved_keys[i][0] && strcmp(key, reserved_keys[i]) == 0)
            return 1;
    return 0;
}

const char *const *policy_reserved_keys(size_t *n)
{
    *n = ARRAY_LEN(reserved_keys);
    return reserved_keys;
}

static int set_word(int *dst, const char *value, const char *a, int va,
                    const char *b, int vb, char *err, size_t errlen)
{
    char *t = str_trim(xstrdup(value));
    int rc = 1;
    if (strcmp(t, a) == 0)
        *dst = va;
    else if (strcmp(t, b) == 0)
        *dst = vb;
    else {
        snprintf(err, errlen, "invalid value '%s' (expected %s or %s)", t, a,
                 b);
        rc = -1;
    }
    free(t);
    return rc;
}

static int set_policy(policy *p, const struct pkey *k, const char *value,
                      char *err, size_t errlen)
{
    char *field = (char *)p + k->off;
    int64_t v;
    double pct;
    int w;

    if (strcmp(k->key, "warmup") == 0) {
        char *t = str_trim(xstrdup(value));
        p->warmup_auto = strcmp(t, "auto") == 0;
        free(t);
        if (p->warmup_auto) {
            p->warmup_ms = p->warmup_max_ms; /* until the history says */
            return 1;
        }
    }
    if (k->kind == PK_MS_AUTO) {
        char *t = str_trim(xstrdup(value));
        int is_auto = strcmp(t, "auto") == 0;
        free(t);
        if (is_auto) {
            *(int64_t *)(void *)field = 0;
            return 1;
        }
    }
    switch (k->kind) {
    case PK_MS:
    case PK_MS_POS:
    case PK_MS_AUTO:
        if (value_duration(value, &v, err, errlen) < 0)
            return -1;
        if (k->kind != PK_MS && v <= 0) {
            snprintf(err, errlen, "must be greater than 0%s",
                     k->kind == PK_MS_AUTO ? " (or auto)" : "");
            return -1;
        }
        *(int64_t *)(void *)field = v;
        return 1;
    case PK_COUNT:
        if (value_integer(value, &v, err, errlen) < 0)
            return -1;
        if (v < 1 || v > UINT_MAX) {
            snprintf(err, errlen, "must be between 1 and %u", UINT_MAX);
            return -1;
        }
        *(unsigned *)(void *)field = (unsigned)v;
        return 1;
    case PK_FRACTION:
        if (value_percentage(value, &pct, err, errlen) < 0)
            return -1;
        *(double *)(void *)field = pct / 100.0;
        return 1;
    case PK_BACKOFF:
        if (set_word(&w, value, "fixed", BACKOFF_FIXED, "exponential",
                     BACKOFF_EXPONENTIAL, err, errlen) < 0)
            return -1;
        p->backoff = (backoff_kind)w;
        return 1;
    case PK_SEVERITY:
        if (set_word(&w, value, "required", SEV_REQUIRED, "optional",
                     SEV_OPTIONAL, err, errlen) < 0)
            return -1;
        p->severity = (severity)w;
        return 1;
    }
    return 0;
}

static const struct pkey *find_pkey(const char *key)
{
    for (size_t i = 0; i < ARRAY_LEN(pkeys); i++)
        if (strcmp(key, pkeys[i].key) == 0)
            return &pkeys[i];
    return NULL;
}

int policy_is_set_key(const char *key)
{
    return find_pkey(key) != NULL;
}

const char *const *policy_set_keys(size_t *n)
{
    static const char *names[ARRAY_LEN(pkeys)];
    if (!names[0])
        for (size_t i = 0; i < ARRAY_LEN(pkeys); i++)
            names[i] = pkeys[i].key;
    *n = ARRAY_LEN(pkeys);
    return names;
}

int policy_set(policy *p, const char *key, const char *value, char *err,
               size_t errlen)
{
    const struct pkey *k = find_pkey(key);
    return k ? set_policy(p, k, value, err, errlen) : 0;
}

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

/*
 * warmup_interval = auto (the default): the first attempts follow each
 * other closely, so that a service that is nearly up is seen within tens
 * of milliseconds, and the spacing grows by half each attempt to a cap, so
 * that one that keeps refusing gets a steady 1000/75 = 13.3 attempts a
 * second (the fixed 250 ms of earlier versions gave 4). The cap bounds the
 * detection lag: a service that becomes ready at a random moment is seen
 * at the next attempt, at most 75 ms later plus one attempt's own time.
 */
#define WARMUP_AUTO_FIRST_MS 10.0
#define WARMUP_AUTO_GROWTH 1.5
#define WARMUP_AUTO_MAX_MS 75.0

int64_t policy_warmup_interval_ms(const policy *p, unsigned k)
{
    if (p->warmup_interval_ms > 0)
        return p->warmup_interval_ms;
    double ms = WARMUP_AUTO_FIRST_MS;
    for (unsigned i = 1; i < k && ms < WARMUP_AUTO_MAX_MS; i++)
        ms *= WARMUP_AUTO_GROWTH;
    if (ms > WARMUP_AUTO_MAX_MS)
        ms = WARMUP_AUTO_MAX_MS;
    return (int64_t)(ms + 0.5);
}

int64_t policy_next_warmup_ns(const policy *p, int64_t last_start_ns,
                              unsigned k, int64_t now, int64_t warmup_end_ns)
{
    int64_t next = last_start_ns + policy_warmup_interval_ms(p, k) * NS_PER_MS;
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
    if (p->warmup_interval_ms > 0)
        fmt_duration(wi, sizeof wi, p->warmup_interval_ms);
    else
        snprintf(wi, sizeof wi, "%.0fms growing to %.0fms",
                 WARMUP_AUTO_FIRST_MS, WARMUP_AUTO_MAX_MS);
    fmt_duration(d, sizeof d, p->delay_ms);
    fmt_duration(md, sizeof md, p->max_delay_ms);
    char warm[320] = "no warmup", mx[32], p99[32];
    fmt_duration(mx, sizeof mx, p->warmup_max_ms);
    fmt_duration(p99, sizeof p99, (int64_t)ceil(p->auto_p99_ms));
    if (p->warmup_auto && p->auto_samples >= POLICY_AUTO_MIN_SAMPLES &&
        p->warmup_ms < p->warmup_max_ms)
        snprintf(warm, sizeof warm,
                 "warmup auto %s (p99 %s x %.1f of %zu recent times to "
                 "ready; warmup_max %s) every %s",
                 w, p99, POLICY_AUTO_FACTOR, p->auto_samples, mx, wi);
    else if (p->warmup_auto && p->auto_samples >= POLICY_AUTO_MIN_SAMPLES)
        snprintf(warm, sizeof warm,
                 "warmup auto %s (warmup_max: p99 %s x %.1f of %zu recent "
                 "times to ready is more) every %s",
                 w, p99, POLICY_AUTO_FACTOR, p->auto_samples, wi);
    else if (p->warmup_auto)
        snprintf(warm, sizeof warm,
                 "warmup auto %s (warmup_max: %zu recent times to ready in "
                 "the history, %d needed) every %s",
                 w, p->auto_samples, POLICY_AUTO_MIN_SAMPLES, wi);
    else if (p->warmup_ms > 0)
        snprintf(warm, sizeof warm, "warmup %s every %s", w, wi);
    return xasprintf("%s, timeout %s, %s, attempts %u, delay %s %s up to %s, "
                     "jitter %g%%, success_threshold %u",
                     p->severity == SEV_REQUIRED ? "required" : "optional", t,
                     warm, p->attempts, d,
                     p->backoff == BACKOFF_EXPONENTIAL ? "exponential"
                                                       : "fixed",
                     md, p->jitter * 100.0, p->success_threshold);
}
