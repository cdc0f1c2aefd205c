/* pipe_pool: per-worker pool of non-blocking pipes (see pipe_pool.h). */
#include "core/pipe_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/xmalloc.h"

static atomic_size_t pipe_pool_size = PIPE_POOL_DEFAULT_SIZE;
static atomic_size_t pipe_pool_max_idle = PIPE_POOL_DEFAULT_MAX_IDLE;

struct pipe_pool {
    struct pipe_pair *idle; /* stack of empty pipes */
    size_t n, cap;
    size_t in_use;
    uint64_t created, closed;
    bool registered; /* TSD destructor armed for this thread */
};

static _Thread_local struct pipe_pool pipe_pool_tls;
static pthread_key_t pipe_pool_key;
static pthread_once_t pipe_pool_once = PTHREAD_ONCE_INIT;

static void pipe_pool_close_pair(struct pipe_pool *pp, struct pipe_pair *p)
{
    close(p->rd);
    close(p->wr);
    p->rd = p->wr = -1;
    pp->closed++;
}

static void pipe_pool_free_idle(struct pipe_pool *pp)
{
    while (pp->n > 0)
        pipe_pool_close_pair(pp, &pp->idle[--pp->n]);
    free(pp->idle);
    pp->idle = NULL;
    pp->cap = 0;
}

/* Thread exit: close the idle pipes. `arg` is the thread's pool (its TLS is still valid here). */
static void pipe_pool_tsd_destroy(void *arg)
{
    pipe_pool_free_idle(arg);
}

static void pipe_pool_key_init(void)
{
    if (pthread_key_create(&pipe_pool_key, pipe_pool_tsd_destroy) != 0)
        abort();
}

static struct pipe_pool *pipe_pool_self(void)
{
    struct pipe_pool *pp = &pipe_pool_tls;
    if (!pp->registered) {
        pthread_once(&pipe_pool_once, pipe_pool_key_init);
        pthread_setspecific(pipe_pool_key, pp);
        pp->registered = true;
    }
    return pp;
}

void pipe_pool_set_size(size_t bytes)
{
    atomic_store_explicit(&pipe_pool_size, bytes, memory_order_relaxed);
}

size_t pipe_pool_get_size(void)
{
    return atomic_load_explicit(&pipe_pool_size, memory_order_relaxed);
}

void pipe_pool_set_max_idle(size_t n)
{
    atomic_store_explicit(&pipe_pool_max_idle, n, memory_order_relaxed);
}

int pipe_pool_get(struct pipe_pair *out)
{
    struct pipe_pool *pp = pipe_pool_self();
    if (pp->n > 0) {
        *out = pp->idle[--pp->n];
        pp->in_use++;
        return 0;
    }
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
        out->rd = out->wr = -1;
        return -errno;
    }
    size_t sz = pipe_pool_get_size();
    if (sz > 0 && sz <= INT32_MAX)
        (void)fcntl(fds[1], F_SETPIPE_SZ, (int)sz); /* best effort, see header */
    out->rd = fds[0];
    out->wr = fds[1];
    pp->created++;
    pp->in_use++;
    return 0;
}

void pipe_pool_put(struct pipe_pair *p)
{
    if (p->rd < 0)
        return;
    struct pipe_pool *pp = pipe_pool_self();
    pp->in_use--;
    size_t max = atomic_load_explicit(&pipe_pool_max_idle, memory_order_relaxed);
    if (pp->n >= max) {
        pipe_pool_close_pair(pp, p);
        return;
    }
    if (pp->n == pp->cap) {
        pp->cap = pp->cap ? pp->cap * 2 : 16;
        pp->idle = xrealloc(pp->idle, pp->cap * sizeof *pp->idle);
    }
    pp->idle[pp->n++] = *p;
    p->rd = p->wr = -1;
}

void pipe_pool_discard(struct pipe_pair *p)
{
    if (p->rd < 0)
        return;
    struct pipe_pool *pp = pipe_pool_self();
    pp->in_use--;
    pipe_pool_close_pair(pp, p);
}

void pipe_pool_stats(struct pipe_pool_stats *st)
{
    struct pipe_pool *pp = pipe_pool_self();
    st->in_use = pp->in_use;
    st->idle = pp->n;
    st->created = pp->created;
    st->closed = pp->closed;
}

void pipe_pool_drain(void)
{
    pipe_pool_free_idle(pipe_pool_self());
}
