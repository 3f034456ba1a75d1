/*
 * core/due.h - the runner's queue of scheduled probes: which probe's next
 * attempt comes first, without looking at every probe.
 *
 * An indexed binary min-heap over probe indices, keyed by (time, index):
 * the earliest time first and, at equal times, the probe defined first,
 * which is the order the runner has always started attempts in. A probe is
 * in the queue at most once; due_set() queues it or moves it, and every
 * operation is O(log n) in the probes queued.
 */
#ifndef GP_CORE_DUE_H
#define GP_CORE_DUE_H

#include <stddef.h>
#include <stdint.h>

typedef struct due_queue {
    size_t *heap; /* owned; n queued probe indices, in heap order */
    size_t *pos;  /* owned; pos[probe]: its place in heap, or DUE_NONE */
    int64_t *at;  /* owned; at[probe]: its time while it is queued */
    size_t n;     /* probes queued */
    size_t cap;   /* probes there are (indices 0 .. cap-1) */
} due_queue;

#define DUE_NONE ((size_t)-1)

/* An empty queue for the probes 0 .. n_probes-1; free with due_free(). */
void due_init(due_queue *q, size_t n_probes);
void due_free(due_queue *q);

/* Queue probe at time at, or move it there when it is queued already. */
void due_set(due_queue *q, size_t probe, int64_t at);

/* Take probe out of the queue; nothing when it is not in it. */
void due_remove(due_queue *q, size_t probe);

/* The first probe: returns 1 and sets *probe and *at, or returns 0 when
 * the queue is empty (then neither is written). */
int due_first(const due_queue *q, size_t *probe, int64_t *at);

#endif
