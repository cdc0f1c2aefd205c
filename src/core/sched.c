/* sched: worker threads, cross-thread posting, stop hooks, signals. */
#include "core/sched.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fiber.h"
#include "core/worker.h"
#include "core/xmalloc.h"

struct sched_hook {
    struct sched_hook *next;
    void (*fn)(void *arg);
    void *arg;
};

static pthread_mutex_t sched_mu = PTHREAD_MUTEX_INITIALIZER;
static struct worker *sched_workers[SCHED_MAX_WORKERS];
static int sched_n;
static struct sched_hook *sched_hooks, **sched_hooks_tail = &sched_hooks;
static _Atomic int64_t sched_grace = 2000;
static atomic_int sched_stop_req;
/* The workers' eventfds, for sched_stop from a signal handler (no locks there). */
static int sched_wake_fds[SCHED_MAX_WORKERS];
static atomic_int sched_wake_n;

int sched_stop_requests(void)
{
    return atomic_load(&sched_stop_req);
}

int64_t sched_grace_ms(void)
{
    return atomic_load(&sched_grace);
}

void sched_set_grace_ms(int64_t ms)
{
    atomic_store(&sched_grace, ms < 0 ? 0 : ms);
}

static int sched_default_workers(void)
{
    const char *env = getenv("GOST_WORKERS");
    if (env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == '\0' && v > 0)
            return (int)(v > SCHED_MAX_WORKERS ? SCHED_MAX_WORKERS : v);
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return (int)(n > SCHED_MAX_WORKERS ? SCHED_MAX_WORKERS : n);
}

int sched_init(int nworkers)
{
    if (sched_n)
        return -EBUSY;
    if (nworkers <= 0)
        nworkers = sched_default_workers();
    if (nworkers > SCHED_MAX_WORKERS)
        nworkers = SCHED_MAX_WORKERS;
    for (int i = 0; i < nworkers; i++) {
        sched_workers[i] = worker_new(i);
        if (!sched_workers[i]) {
            int e = errno;
            while (i-- > 0) {
                worker_free(sched_workers[i]);
                sched_workers[i] = NULL;
            }
            return -e;
        }
        sched_wake_fds[i] = sched_workers[i]->mbox->evfd;
    }
    atomic_store(&sched_stop_req, 0);
    sched_n = nworkers;
    atomic_store(&sched_wake_n, nworkers);
    return 0;
}

int sched_nworkers(void)
{
    return sched_n;
}

int sched_worker_id(void)
{
    return worker_cur ? worker_cur->id : -1;
}

/* ---- posting fibers to workers ---- */

struct sched_post_msg {
    struct mbox_msg m;
    void (*fn)(void *arg);
    void (*fn_each)(void *arg, int worker_id);
    void *arg;
};

static void sched_post_fiber(void *p)
{
    struct sched_post_msg *pm = p;
    if (pm->fn_each)
        pm->fn_each(pm->arg, sched_worker_id());
    else
        pm->fn(pm->arg);
    free(pm);
}

static void sched_post_run(struct mbox_msg *m)
{
    if (!fiber_spawn_on(worker_cur, sched_post_fiber, m))
        worker_panic("cannot map a fiber stack for a posted task");
}

static void sched_post_drop(struct mbox_msg *m)
{
    free(m);
}

static int sched_post_msg(int worker_id, void (*fn)(void *), void (*fn_each)(void *, int),
                          void *arg)
{
    if (worker_id < 0 || worker_id >= sched_n)
        return -EINVAL;
    struct sched_post_msg *pm = xcalloc(1, sizeof *pm);
    pm->m.run = sched_post_run;
    pm->m.drop = sched_post_drop;
    pm->fn = fn;
    pm->fn_each = fn_each;
    pm->arg = arg;
    int rc = mailbox_post(sched_workers[worker_id]->mbox, &pm->m);
    if (rc < 0)
        free(pm);
    return rc;
}

int sched_post(int worker_id, void (*fn)(void *arg), void *arg)
{
    return sched_post_msg(worker_id, fn, NULL, arg);
}

void sched_on_each_worker(void (*fn)(void *arg, int worker_id), void *arg)
{
    for (int i = 0; i < sched_n; i++)
        sched_post_msg(i, NULL, fn, arg);
}

/* ---- stop ---- */

void sched_on_stop(void (*fn)(void *arg), void *arg)
{
    struct sched_hook *h = xcalloc(1, sizeof *h);
    h->fn = fn;
    h->arg = arg;
    pthread_mutex_lock(&sched_mu);
    *sched_hooks_tail = h;
    sched_hooks_tail = &h->next;
    pthread_mutex_unlock(&sched_mu);
}

void sched_spawn_stop_hooks(struct worker *w)
{
    pthread_mutex_lock(&sched_mu);
    for (struct sched_hook *h = sched_hooks; h; h = h->next)
        if (!fiber_spawn_on(w, h->fn, h->arg))
            worker_panic("cannot map a fiber stack for a stop hook");
    pthread_mutex_unlock(&sched_mu);
}

void sched_stop(void)
{
    atomic_fetch_add(&sched_stop_req, 1);
    int n = atomic_load(&sched_wake_n);
    for (int i = 0; i < n; i++) {
        uint64_t one = 1;
        ssize_t rc = write(sched_wake_fds[i], &one, sizeof one);
        (void)rc;
    }
}

int sched_stopping(void)
{
    return atomic_load(&sched_stop_req) > 0;
}

static void sched_signal(int sig)
{
    int e = errno;
    sched_stop();
    errno = e;
}

/* ---- run ---- */

static void sched_teardown(void)
{
    atomic_store(&sched_wake_n, 0);
    for (int i = 0; i < sched_n; i++) {
        worker_free(sched_workers[i]);
        sched_workers[i] = NULL;
    }
    sched_n = 0;
    pthread_mutex_lock(&sched_mu);
    while (sched_hooks) {
        struct sched_hook *h = sched_hooks;
        sched_hooks = h->next;
        free(h);
    }
    sched_hooks_tail = &sched_hooks;
    pthread_mutex_unlock(&sched_mu);
    atomic_store(&sched_stop_req, 0);
}

int sched_run(void)
{
    if (!sched_n) {
        int rc = sched_init(0);
        if (rc < 0)
            return rc;
    }
    struct sigaction sa, old_int, old_term, old_pipe;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = sched_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, &old_pipe);

    /* Workers block every signal: SIGINT/SIGTERM are handled on this thread. */
    sigset_t all, old_mask;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old_mask);
    int started = 0, rc = 0;
    for (; started < sched_n; started++) {
        int e = pthread_create(&sched_workers[started]->thread, NULL, worker_main,
                               sched_workers[started]);
        if (e) {
            rc = -e;
            break;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    if (rc < 0)
        sched_stop();
    for (int i = 0; i < started; i++)
        pthread_join(sched_workers[i]->thread, NULL);

    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);
    sched_teardown();
    return rc;
}
