/*
 * core/due.c - the runner's queue of scheduled probes (due.h): an indexed
 * binary min-heap, so that starting the next attempt costs O(log n) rather
 * than a scan of every probe (which made a run of n probes O(n^2)).
 */
#include "due.h"

#include <stdlib.h>

#include "util.h"

void due_init(due_queue *q, size_t n_probes)
{
    q->cap = n_probes;
    q->n = 0;
    q->heap = xcalloc(n_probes + 1, sizeof *q->heap);
    q->pos = xcalloc(n_probes + 1, sizeof *q->pos);
    q->at = xcalloc(n_probes + 1, sizeof *q->at);
    for (size_t i = 0; i < n_probes; i++)
        q->pos[i] = DUE_NONE;
}

void due_free(due_queue *q)
{
    free(q->heap);
    free(q->pos);
    free(q->at);
    *q = (due_queue){0};
}

/* Probe a comes before probe b: earlier, or as early and defined first. */
static int before(const due_queue *q, size_t a, size_t b)
{
    return q->at[a] < q->at[b] || (q->at[a] == q->at[b] && a < b);
}

static void place(due_queue *q, size_t k, size_t probe)
{
    q->heap[k] = probe;
    q->pos[probe] = k;
}

static void sift_up(due_queue *q, size_t k)
{
    size_t p = q->heap[k];
    while (k > 0 && before(q, p, q->heap[(k - 1) / 2])) {
        place(q, k, q->heap[(k - 1) / 2]);
        k = (k - 1) / 2;
    }
    place(q, k, p);
}

static void sift_down(due_queue *q, size_t k)
{
    size_t p = q->heap[k];
    for (;;) {
        size_t c = 2 * k + 1;
        if (c >= q->n)
            break;
        if (c + 1 < q->n && before(q, q->heap[c + 1], q->heap[c]))
            c++;
        if (!before(q, q->heap[c], p))
            break;
        place(q, k, q->heap[c]);
        k = c;
    }
    place(q, k, p);
}

void due_set(due_queue *q, size_t probe, int64_t at)
{
    if (probe >= q->cap)
        return;
    size_t k = q->pos[probe];
    q->at[probe] = at;
    if (k == DUE_NONE) {
        k = q->n++;
        place(q, k, probe);
    }
    sift_up(q, k);
    sift_down(q, q->pos[probe]);
}

void due_remove(due_queue *q, size_t probe)
{
    if (probe >= q->cap || q->pos[probe] == DUE_NONE)
        return;
    size_t k = q->pos[probe];
    q->pos[probe] = DUE_NONE;
    size_t last = q->heap[--q->n];
    if (k == q->n)
        return; /* it was the last: nothing to move into its place */
    place(q, k, last);
    sift_up(q, k);
    sift_down(q, q->pos[last]);
}

int due_first(const due_queue *q, size_t *probe, int64_t *at)
{
    if (q->n == 0)
        return 0;
    *probe = q->heap[0];
    *at = q->at[q->heap[0]];
    return 1;
}
