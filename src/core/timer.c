/* timer: per-worker binary min-heap of absolute deadlines. */
#include "core/timer.h"

#include <stdlib.h>

#include "core/clock.h"
#include "core/worker.h"
#include "core/xmalloc.h"

void timer_init(struct timer *t)
{
    t->when = 0;
    t->cb = NULL;
    t->idx = 0;
    t->data = NULL;
}

static void timer_place(struct timer **heap, unsigned i, struct timer *t)
{
    heap[i] = t;
    t->idx = i;
}

static void timer_sift_up(struct timer **heap, unsigned i)
{
    struct timer *t = heap[i];
    while (i > 1 && heap[i / 2]->when > t->when) {
        timer_place(heap, i, heap[i / 2]);
        i /= 2;
    }
    timer_place(heap, i, t);
}

static void timer_sift_down(struct timer **heap, unsigned len, unsigned i)
{
    struct timer *t = heap[i];
    for (;;) {
        unsigned c = 2 * i;
        if (c > len)
            break;
        if (c + 1 <= len && heap[c + 1]->when < heap[c]->when)
            c++;
        if (heap[c]->when >= t->when)
            break;
        timer_place(heap, i, heap[c]);
        i = c;
    }
    timer_place(heap, i, t);
}

static void timer_remove(struct worker *w, struct timer *t)
{
    unsigned i = t->idx;
    struct timer *last = w->heap[w->heap_len--];
    t->idx = 0;
    if (last == t)
        return;
    w->heap[i] = last;
    last->idx = i;
    if (i > 1 && w->heap[i / 2]->when > last->when)
        timer_sift_up(w->heap, i);
    else
        timer_sift_down(w->heap, w->heap_len, i);
}

void timer_start(struct timer *t, int64_t when_ms, void (*cb)(struct timer *t))
{
    struct worker *w = worker_cur;
    if (!w)
        worker_panic("timer_start off a worker thread");
    t->cb = cb;
    if (t->idx) {
        int64_t old = t->when;
        t->when = when_ms;
        if (when_ms < old)
            timer_sift_up(w->heap, t->idx);
        else
            timer_sift_down(w->heap, w->heap_len, t->idx);
        return;
    }
    t->when = when_ms;
    if (w->heap_len + 1 >= w->heap_cap) {
        w->heap_cap = w->heap_cap ? w->heap_cap * 2 : 64;
        w->heap = xrealloc(w->heap, w->heap_cap * sizeof *w->heap);
    }
    w->heap[++w->heap_len] = t;
    t->idx = w->heap_len;
    timer_sift_up(w->heap, w->heap_len);
}

void timer_stop(struct timer *t)
{
    if (!t->idx)
        return;
    struct worker *w = worker_cur;
    if (!w)
        worker_panic("timer_stop off a worker thread");
    timer_remove(w, t);
}

int64_t timer_next(struct worker *w)
{
    return w->heap_len ? w->heap[1]->when : DEADLINE_NONE;
}

void timer_run_due(struct worker *w, int64_t now)
{
    /* Bounded by the heap size at entry, so a callback that re-arms itself in the past cannot
     * keep this loop going: it fires again on the next iteration. */
    unsigned budget = w->heap_len;
    while (budget-- && w->heap_len && w->heap[1]->when <= now) {
        struct timer *t = w->heap[1];
        timer_remove(w, t);
        t->cb(t);
    }
}

void timer_heap_free(struct worker *w)
{
    /* Timers still armed here belong to fibers or objects abandoned at exit: not touched. */
    free(w->heap);
    w->heap = NULL;
    w->heap_len = w->heap_cap = 0;
}
