/* bufpool: per-worker pools of fixed-size byte buffers (see bufpool.h). */
#include "core/bufpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/xmalloc.h"

/* Classes 4 KiB (2^12) .. 256 KiB (2^18). */
#define BUFPOOL_SHIFT_MIN 12
#define BUFPOOL_NCLASS    7

static atomic_size_t bufpool_max_idle_bytes = (size_t)1 << 20;

struct bufpool_block {
    struct bufpool_block *next;
};

struct bufpool_class {
    struct bufpool_block *head;
    size_t n;
};

struct bufpool {
    struct bufpool_class cls[BUFPOOL_NCLASS];
    size_t in_use;
    bool registered;
};

static _Thread_local struct bufpool bufpool_tls;
static pthread_key_t bufpool_key;
static pthread_once_t bufpool_once = PTHREAD_ONCE_INIT;

static void bufpool_free_idle(struct bufpool *bp)
{
    for (int i = 0; i < BUFPOOL_NCLASS; i++) {
        struct bufpool_class *c = &bp->cls[i];
        while (c->head) {
            struct bufpool_block *b = c->head;
            c->head = b->next;
            free(b);
        }
        c->n = 0;
    }
}

static void bufpool_tsd_destroy(void *arg)
{
    bufpool_free_idle(arg);
}

static void bufpool_key_init(void)
{
    if (pthread_key_create(&bufpool_key, bufpool_tsd_destroy) != 0)
        abort();
}

static struct bufpool *bufpool_self(void)
{
    struct bufpool *bp = &bufpool_tls;
    if (!bp->registered) {
        pthread_once(&bufpool_once, bufpool_key_init);
        pthread_setspecific(bufpool_key, bp);
        bp->registered = true;
    }
    return bp;
}

/* Class index of size (<= BUFPOOL_MAX), or -1 above. */
static int bufpool_class_of(size_t size)
{
    if (size > BUFPOOL_MAX)
        return -1;
    int i = 0;
    while (((size_t)1 << (BUFPOOL_SHIFT_MIN + i)) < size)
        i++;
    return i;
}

size_t bufpool_class_size(size_t size)
{
    int i = bufpool_class_of(size);
    return i < 0 ? size : (size_t)1 << (BUFPOOL_SHIFT_MIN + i);
}

void *bufpool_get(size_t size)
{
    struct bufpool *bp = bufpool_self();
    int i = bufpool_class_of(size);
    bp->in_use++;
    if (i < 0)
        return xmalloc(size);
    struct bufpool_class *c = &bp->cls[i];
    if (c->head) {
        struct bufpool_block *b = c->head;
        c->head = b->next;
        c->n--;
        return b;
    }
    return xmalloc((size_t)1 << (BUFPOOL_SHIFT_MIN + i));
}

void bufpool_put(void *buf, size_t size)
{
    if (!buf)
        return;
    struct bufpool *bp = bufpool_self();
    bp->in_use--;
    int i = bufpool_class_of(size);
    if (i < 0) {
        free(buf);
        return;
    }
    size_t csize = (size_t)1 << (BUFPOOL_SHIFT_MIN + i);
    size_t max = atomic_load_explicit(&bufpool_max_idle_bytes, memory_order_relaxed) / csize;
    if (max < 4)
        max = 4;
    struct bufpool_class *c = &bp->cls[i];
    if (c->n >= max) {
        free(buf);
        return;
    }
    struct bufpool_block *b = buf;
    b->next = c->head;
    c->head = b;
    c->n++;
}

void bufpool_set_max_idle_bytes(size_t bytes)
{
    atomic_store_explicit(&bufpool_max_idle_bytes, bytes, memory_order_relaxed);
}

void bufpool_stats(struct bufpool_stats *st)
{
    struct bufpool *bp = bufpool_self();
    st->in_use = bp->in_use;
    st->idle = 0;
    st->idle_bytes = 0;
    for (int i = 0; i < BUFPOOL_NCLASS; i++) {
        st->idle += bp->cls[i].n;
        st->idle_bytes += bp->cls[i].n << (BUFPOOL_SHIFT_MIN + i);
    }
}

void bufpool_drain(void)
{
    bufpool_free_idle(bufpool_self());
}
