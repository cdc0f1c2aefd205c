/* pool: helper threads running blocking jobs; completion goes back through the worker mailbox. */
#include "core/pool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/fiber.h"
#include "core/worker.h"
#include "core/xmalloc.h"

#define POOL_DEFAULT_THREADS 4
#define POOL_MAX_THREADS     64

enum { POOL_JOB_PENDING, POOL_JOB_DONE, POOL_JOB_ABANDONED };

struct pool_job {
    struct mbox_msg msg; /* completion, delivered to the caller's worker */
    struct pool_job *next;
    void (*fn)(void *arg);
    void *arg;
    struct mailbox *mb;   /* caller's worker (referenced) */
    struct fiber *waiter; /* worker side: NULL once the caller left */
    atomic_int state;
    bool delivered; /* worker side */
};

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cv = PTHREAD_COND_INITIALIZER;
static struct pool_job *pool_head, *pool_tail;
static int pool_threads, pool_idle, pool_max;

static void pool_job_free(struct pool_job *j)
{
    mailbox_unref(j->mb);
    free(j);
}

static void *pool_thread(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&pool_mu);
    for (;;) {
        while (!pool_head) {
            pool_idle++;
            pthread_cond_wait(&pool_cv, &pool_mu);
            pool_idle--;
        }
        struct pool_job *j = pool_head;
        pool_head = j->next;
        if (!pool_head)
            pool_tail = NULL;
        pthread_mutex_unlock(&pool_mu);

        j->fn(j->arg);
        int expect = POOL_JOB_PENDING;
        if (atomic_compare_exchange_strong(&j->state, &expect, POOL_JOB_DONE)) {
            if (mailbox_post(j->mb, &j->msg) < 0)
                pool_job_free(j); /* the worker is gone, and with it the caller */
        } else {
            pool_job_free(j); /* abandoned by the caller */
        }
        pthread_mutex_lock(&pool_mu);
    }
    return NULL;
}

static int pool_limit(void)
{
    const char *env = getenv("GOST_POOL_THREADS");
    if (env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == '\0' && v > 0)
            return v > POOL_MAX_THREADS ? POOL_MAX_THREADS : (int)v;
    }
    return POOL_DEFAULT_THREADS;
}

/* Called with pool_mu held. 0 or -errno. */
static int pool_start_thread(void)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    int e = pthread_create(&t, &attr, pool_thread, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (e)
        return -e;
    pool_threads++;
    return 0;
}

static int pool_submit(struct pool_job *j)
{
    pthread_mutex_lock(&pool_mu);
    if (!pool_max)
        pool_max = pool_limit();
    if (pool_idle == 0 && pool_threads < pool_max) {
        int rc = pool_start_thread();
        if (rc < 0 && pool_threads == 0) {
            pthread_mutex_unlock(&pool_mu);
            return rc;
        }
    }
    j->next = NULL;
    if (pool_tail)
        pool_tail->next = j;
    else
        pool_head = j;
    pool_tail = j;
    pthread_cond_signal(&pool_cv);
    pthread_mutex_unlock(&pool_mu);
    return 0;
}

static void pool_job_delivered(struct mbox_msg *m)
{
    struct pool_job *j = (struct pool_job *)m;
    j->delivered = true;
    if (j->waiter)
        fiber_wake_rc(j->waiter, 0);
    else
        pool_job_free(j); /* the caller left after fn had returned */
}

static void pool_job_dropped(struct mbox_msg *m)
{
    pool_job_free((struct pool_job *)m);
}

int pool_call_deadline(void (*fn)(void *arg), void *arg, int64_t deadline)
{
    struct fiber *self = fiber_self();
    if (!self)
        worker_panic("pool_call called outside a fiber");
    if (fiber_cancelled())
        return -ECANCELED;
    if (deadline != DEADLINE_NONE && deadline <= clock_now_ms())
        return -ETIMEDOUT;
    struct pool_job *j = xcalloc(1, sizeof *j);
    j->msg.run = pool_job_delivered;
    j->msg.drop = pool_job_dropped;
    j->fn = fn;
    j->arg = arg;
    j->mb = worker_cur->mbox;
    mailbox_ref(j->mb);
    j->waiter = self;
    atomic_init(&j->state, POOL_JOB_PENDING);
    int rc = pool_submit(j);
    if (rc < 0) {
        pool_job_free(j);
        return rc;
    }
    while (!j->delivered) {
        rc = fiber_park(deadline);
        if (j->delivered)
            break;
        if (rc < 0) {
            int expect = POOL_JOB_PENDING;
            if (atomic_compare_exchange_strong(&j->state, &expect, POOL_JOB_ABANDONED))
                return rc; /* the helper frees j after fn */
            /* fn has returned; its completion is on the way: the worker frees j. */
            j->waiter = NULL;
            return 0;
        }
    }
    pool_job_free(j);
    return 0;
}

int pool_call(void (*fn)(void *arg), void *arg)
{
    return pool_call_deadline(fn, arg, DEADLINE_NONE);
}

int pool_nthreads(void)
{
    pthread_mutex_lock(&pool_mu);
    int n = pool_threads;
    pthread_mutex_unlock(&pool_mu);
    return n;
}
