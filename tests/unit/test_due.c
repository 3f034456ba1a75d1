/* tests/unit/test_due.c - the runner's queue of scheduled probes (due.h):
 * it must pick exactly what a scan of every probe picked (the earliest
 * time, at equal times the probe defined first), whatever the order of
 * queueing, moving and removing. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "due.h"
#include "unit.h"

START_TEST(test_empty_and_single)
{
    due_queue q;
    size_t p = 99;
    int64_t at = 99;
    due_init(&q, 3);
    ck_assert_int_eq(due_first(&q, &p, &at), 0);
    ck_assert_uint_eq(p, 99); /* untouched when empty */
    due_remove(&q, 1);        /* not queued: nothing */
    due_remove(&q, 7);        /* not a probe: nothing */
    due_set(&q, 2, 50);
    ck_assert_int_eq(due_first(&q, &p, &at), 1);
    ck_assert_uint_eq(p, 2);
    ck_assert_int_eq(at, 50);
    due_remove(&q, 2);
    ck_assert_int_eq(due_first(&q, &p, &at), 0);
    due_free(&q);
}
END_TEST

START_TEST(test_ties_go_to_the_first_defined)
{
    due_queue q;
    size_t p;
    int64_t at;
    due_init(&q, 5);
    for (size_t i = 5; i-- > 0;)
        due_set(&q, i, 10);
    for (size_t want = 0; want < 5; want++) {
        ck_assert_int_eq(due_first(&q, &p, &at), 1);
        ck_assert_uint_eq(p, want);
        due_remove(&q, p);
    }
    due_free(&q);
}
END_TEST

START_TEST(test_move_earlier_and_later)
{
    due_queue q;
    size_t p;
    int64_t at;
    due_init(&q, 4);
    due_set(&q, 0, 10);
    due_set(&q, 1, 20);
    due_set(&q, 2, 30);
    due_set(&q, 2, 5); /* moved to the front */
    due_first(&q, &p, &at);
    ck_assert_uint_eq(p, 2);
    due_set(&q, 2, 25); /* and back behind 1 */
    due_set(&q, 0, 40); /* 0 to the end */
    due_first(&q, &p, &at);
    ck_assert_uint_eq(p, 1);
    ck_assert_int_eq(at, 20);
    ck_assert_uint_eq(q.n, 3); /* moving never queues twice */
    due_free(&q);
}
END_TEST

/* The reference: the scan the runner made before the queue. */
static int scan_first(const int *queued, const int64_t *at, size_t n,
                      size_t *probe)
{
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        if (queued[i] && (!found || at[i] < at[*probe])) {
            *probe = i;
            found = 1;
        }
    }
    return found;
}

START_TEST(test_matches_a_scan)
{
    enum { N = 97, OPS = 20000 };
    int queued[N] = {0};
    int64_t ref_at[N] = {0};
    due_queue q;
    due_init(&q, N);
    srand(12345);
    for (int op = 0; op < OPS; op++) {
        size_t i = (size_t)rand() % N;
        if (rand() % 3 == 0) {
            due_remove(&q, i);
            queued[i] = 0;
        } else {
            /* Few distinct times, so that ties are common. */
            int64_t t = rand() % 16;
            due_set(&q, i, t);
            queued[i] = 1;
            ref_at[i] = t;
        }
        size_t want = 0, got = 0;
        int64_t at = -1;
        int have = scan_first(queued, ref_at, N, &want);
        ck_assert_int_eq(due_first(&q, &got, &at), have);
        if (have) {
            ck_assert_uint_eq(got, want);
            ck_assert_int_eq(at, ref_at[want]);
        }
    }
    /* Draining gives every queued probe once, in the scan's order. */
    for (;;) {
        size_t want = 0, got = 0;
        int64_t at;
        int have = scan_first(queued, ref_at, N, &want);
        ck_assert_int_eq(due_first(&q, &got, &at), have);
        if (!have)
            break;
        ck_assert_uint_eq(got, want);
        due_remove(&q, got);
        queued[got] = 0;
    }
    ck_assert_uint_eq(q.n, 0);
    due_free(&q);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("due");
    TCase *tc = tcase_create("queue");
    tcase_add_test(tc, test_empty_and_single);
    tcase_add_test(tc, test_ties_go_to_the_first_defined);
    tcase_add_test(tc, test_move_earlier_and_later);
    tcase_add_test(tc, test_matches_a_scan);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
