/* tests/unit/test_policy.c - retry delays, backoff caps, jitter bounds and
 * warmup cadence, with the random input fixed so results are exact. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "unit.h"

/* Built-in defaults (checked in test_config.c): 1s doubling up to 30s,
 * 10% jitter, the auto warmup cadence (10ms growing to 75ms). */
static policy base(void)
{
    policy p;
    policy_init(&p);
    return p;
}

START_TEST(test_exponential_without_jitter)
{
    policy p = base();
    p.jitter = 0;
    /* u = 0.5 is the jitter's midpoint: no change. */
    ck_assert_int_eq(policy_retry_delay_ms(&p, 1, 0.5), 1000);
    ck_assert_int_eq(policy_retry_delay_ms(&p, 2, 0.5), 2000);
    ck_assert_int_eq(policy_retry_delay_ms(&p, 3, 0.5), 4000);
    ck_assert_int_eq(policy_retry_delay_ms(&p, 5, 0.5), 16000);
    ck_assert_int_eq(policy_retry_delay_ms(&p, 6, 0.5), 30000); /* capped */
    ck_assert_int_eq(policy_retry_delay_ms(&p, 1000, 0.5), 30000);
}
END_TEST

START_TEST(test_fixed)
{
    policy p = base();
    p.backoff = BACKOFF_FIXED;
    p.jitter = 0;
    p.delay_ms = 1500;
    for (unsigned k = 1; k < 10; k++)
        ck_assert_int_eq(policy_retry_delay_ms(&p, k, 0.9), 1500);
    p.delay_ms = 60000; /* a fixed delay above max_delay is capped too */
    ck_assert_int_eq(policy_retry_delay_ms(&p, 1, 0.5), 30000);
}
END_TEST

START_TEST(test_jitter_bounds)
{
    policy p = base(); /* 10% */
    ck_assert_int_eq(policy_retry_delay_ms(&p, 1, 0.0), 900);
    ck_assert_int_eq(policy_retry_delay_ms(&p, 1, 0.5), 1000);
    ck_assert_int_eq(policy_retry_delay_ms(&p, 2, 0.0), 1800);
    /* u just below 1: at most +10% */
    ck_assert_int_le(policy_retry_delay_ms(&p, 1, 0.999999), 1100);
    ck_assert_int_ge(policy_retry_delay_ms(&p, 1, 0.999999), 1099);
    /* jitter never pushes past max_delay */
    ck_assert_int_eq(policy_retry_delay_ms(&p, 10, 0.999), 30000);
    p.jitter = 1.0; /* 100%: never negative */
    ck_assert_int_eq(policy_retry_delay_ms(&p, 1, 0.0), 0);
}
END_TEST

/* Every key policy_set() knows is reserved, so no plugin may declare an
 * option of that name; a key that is not one of them is left alone. */
START_TEST(test_set_keys_are_reserved)
{
    size_t n;
    const char *const *keys = policy_set_keys(&n);
    ck_assert_uint_eq(n, 13);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(policy_is_reserved(keys[i]), "%s", keys[i]);
        ck_assert(policy_is_set_key(keys[i]));
    }
    policy p;
    char err[128] = "";
    policy_init(&p);
    ck_assert_int_eq(policy_set(&p, "tags", "a", err, sizeof err), 0);
    ck_assert_int_eq(policy_set(&p, "host", "a", err, sizeof err), 0);
    ck_assert_int_eq(policy_set(&p, "timeout", "2s", err, sizeof err), 1);
    ck_assert_int_eq(p.timeout_ms, 2000);
    ck_assert_int_eq(policy_set(&p, "timeout", "0s", err, sizeof err), -1);
    ck_assert_str_eq(err, "must be greater than 0");
    ck_assert_int_eq(p.timeout_ms, 2000);
    /* gpcheck serve's schedule (ABI 1.3): 30s, and max_age 3 x interval. */
    ck_assert_int_eq(p.interval_ms, 30000);
    ck_assert_int_eq(p.max_age_ms, 0);
    ck_assert_int_eq(policy_set(&p, "interval", "5s", err, sizeof err), 1);
    ck_assert_int_eq(p.interval_ms, 5000);
    ck_assert_int_eq(policy_set(&p, "max_age", "0s", err, sizeof err), -1);
    ck_assert_int_eq(policy_set(&p, "max_age", "1m", err, sizeof err), 1);
    ck_assert_int_eq(p.max_age_ms, 60000);
}
END_TEST

START_TEST(test_warmup_cadence)
{
    policy p = base();
    char err[128];
    const int64_t ms = 1000000;
    ck_assert_int_eq(
        policy_set(&p, "warmup_interval", "250ms", err, sizeof err), 1);
    /* start to start: an attempt that took 100 ms waits 150 ms more */
    ck_assert_int_eq(policy_next_warmup_ns(&p, 0, 1, 100 * ms, 10000 * ms),
                     250 * ms);
    /* a set interval does not grow */
    ck_assert_int_eq(policy_next_warmup_ns(&p, 0, 40, 100 * ms, 10000 * ms),
                     250 * ms);
    /* an attempt longer than the interval: next one at once */
    ck_assert_int_eq(policy_next_warmup_ns(&p, 0, 1, 400 * ms, 10000 * ms),
                     400 * ms);
    /* never past the end of the window */
    ck_assert_int_eq(
        policy_next_warmup_ns(&p, 9900 * ms, 1, 9950 * ms, 10000 * ms),
        10000 * ms);
}
END_TEST

/* The default cadence: 10 ms, growing by half each attempt, capped at
 * 75 ms, so a service that comes up is seen within 75 ms of the next
 * attempt and one that keeps refusing gets 13.3 attempts a second. */
START_TEST(test_warmup_auto_cadence)
{
    policy p = base();
    char err[128];
    const int64_t ms = 1000000;
    const int64_t want[] = {10, 15, 23, 34, 51, 75, 75, 75};
    for (unsigned k = 1; k <= 8; k++)
        ck_assert_int_eq(policy_warmup_interval_ms(&p, k), want[k - 1]);
    ck_assert_int_eq(policy_warmup_interval_ms(&p, 100000), 75);
    ck_assert_int_eq(policy_next_warmup_ns(&p, 0, 2, 1 * ms, 10000 * ms),
                     15 * ms);
    /* over a long warmup the load stays bounded: at most 1000/75 + the
     * first six a second */
    int64_t t = 0;
    unsigned k = 0;
    while (t < 10000 * ms && k < 10000)
        t = policy_next_warmup_ns(&p, t, ++k, t, 10000 * ms);
    ck_assert_uint_le(k, 6 + 10000 / 75 + 1);
    ck_assert_uint_ge(k, 10000 / 75);

    ck_assert_int_eq(
        policy_set(&p, "warmup_interval", "100ms", err, sizeof err), 1);
    ck_assert_int_eq(
        policy_set(&p, "warmup_interval", " auto ", err, sizeof err), 1);
    ck_assert_int_eq(policy_warmup_interval_ms(&p, 1), 10);
    ck_assert_int_eq(policy_set(&p, "warmup_interval", "0", err, sizeof err),
                     -1);
    ck_assert_str_eq(err, "must be greater than 0 (or auto)");
    ck_assert_int_eq(
        policy_set(&p, "warmup_interval", "often", err, sizeof err), -1);
    char *d = policy_describe(&(policy){.warmup_ms = 1000});
    ck_assert_ptr_nonnull(strstr(d, "every 10ms growing to 75ms"));
    free(d);
}
END_TEST

START_TEST(test_warmup_auto)
{
    char err[128];
    policy p = base();
    ck_assert_int_eq(policy_set(&p, "warmup", "auto", err, sizeof err), 1);
    ck_assert_int_eq(p.warmup_auto, 1);
    ck_assert_int_eq(p.warmup_ms, 120000); /* warmup_max until it knows */
    ck_assert_int_eq(policy_set(&p, "warmup_max", "30s", err, sizeof err), 1);
    /* p99 x 1.5, rounded up to the millisecond */
    policy_auto_warmup(&p, 57, 4200.2);
    ck_assert_int_eq(p.warmup_ms, 6301);
    char *d = policy_describe(&p);
    ck_assert_ptr_nonnull(strstr(d, "warmup auto 6.3s (p99 4.2s x 1.5 of 57 "
                                    "recent times to ready; warmup_max 30s)"));
    free(d);
    /* bounded by warmup_max */
    policy_auto_warmup(&p, 57, 25000);
    ck_assert_int_eq(p.warmup_ms, 30000);
    /* too little history: warmup_max */
    policy_auto_warmup(&p, POLICY_AUTO_MIN_SAMPLES - 1, 100);
    ck_assert_int_eq(p.warmup_ms, 30000);
    policy_auto_warmup(&p, POLICY_AUTO_MIN_SAMPLES, 100);
    ck_assert_int_eq(p.warmup_ms, 150);
    /* a fixed warmup is left alone */
    ck_assert_int_eq(policy_set(&p, "warmup", "5s", err, sizeof err), 1);
    ck_assert_int_eq(p.warmup_auto, 0);
    policy_auto_warmup(&p, 57, 100);
    ck_assert_int_eq(p.warmup_ms, 5000);
    ck_assert_int_eq(policy_set(&p, "warmup_max", "0s", err, sizeof err), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("math");
    tcase_add_test(tc, test_exponential_without_jitter);
    tcase_add_test(tc, test_fixed);
    tcase_add_test(tc, test_jitter_bounds);
    tcase_add_test(tc, test_warmup_cadence);
    tcase_add_test(tc, test_warmup_auto_cadence);
    tcase_add_test(tc, test_set_keys_are_reserved);
    tcase_add_test(tc, test_warmup_auto);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
