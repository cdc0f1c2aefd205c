/* dgram_pool: per-thread free list of small datagram nodes (see dgram_pool.h). */
#include "core/dgram_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

_Static_assert(sizeof(struct dgram) == 16, "header size is part of DGRAM_SMALL");

struct dgram_pool {
    struct dgram *free;
    size_t idle, in_use;
    bool registered;
};

static _Thread_local struct dgram_pool dgram_tls;
static pthread_key_t dgram_key;
static pthread_once_t dgram_once = PTHREAD_ONCE_INIT;

static void dgram_free_idle(struct dgram_pool *p)
{
    while (p->free) {
        struct dgram *d = p->free;
        p->free = d->next;
        free(d);
    }
    p->idle = 0;
}

static void dgram_tsd_destroy(void *arg)
{
    dgram_free_idle(arg);
}

static void dgram_key_init(void)
{
    if (pthread_key_create(&dgram_key, dgram_tsd_destroy) != 0)
        abort();
}

static struct dgram_pool *dgram_self(void)
{
    struct dgram_pool *p = &dgram_tls;
    if (!p->registered) {
        pthread_once(&dgram_once, dgram_key_init);
        pthread_setspecific(dgram_key, p);
        p->registered = true;
    }
    return p;
}

struct dgram *dgram_new(const void *data, size_t len)
{
    struct dgram_pool *p = dgram_self();
    struct dgram *d;
    if (len <= DGRAM_SMALL && p->free) {
        d = p->free;
        p->free = d->next;
        p->idle--;
    } else {
        size_t cap = len <= DGRAM_SMALL ? DGRAM_SMALL : len;
        d = xmalloc(sizeof *d + cap);
        d->cap = (uint32_t)cap;
    }
    p->in_use++;
    d->next = NULL;
    d->len = (uint32_t)len;
    if (len)
        memcpy(d->data, data, len);
    return d;
}

void dgram_free(struct dgram *d)
{
    if (!d)
        return;
    struct dgram_pool *p = dgram_self();
    p->in_use--;
    if (d->cap == DGRAM_SMALL && p->idle < DGRAM_POOL_MAX_IDLE) {
        d->next = p->free;
        p->free = d;
        p->idle++;
        return;
    }
    free(d);
}

void dgram_pool_stats(struct dgram_pool_stats *st)
{
    struct dgram_pool *p = dgram_self();
    st->in_use = p->in_use;
    st->idle = p->idle;
}

void dgram_pool_drain(void)
{
    dgram_free_idle(dgram_self());
}
