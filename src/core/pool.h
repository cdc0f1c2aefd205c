/* pool: helper threads for blocking calls (getaddrinfo, file loads) so workers never block.
 *
 * Helper threads are process-wide, started on demand (at most env GOST_POOL_THREADS, default 4)
 * and kept for the life of the process. Jobs run in FIFO order.
 *
 * Cancellation and deadlines: the calling fiber may stop waiting (-ECANCELED / -ETIMEDOUT) while
 * the job runs; the job is NOT interrupted and still calls fn(arg) later. So after a non-zero
 * return the caller must not free or touch `arg`. Safe pattern: a heap job with two references,
 * one for fn and one for the caller; whoever drops the last frees it:
 *
 *     struct job { atomic_int refs; ...inputs...; ...outputs...; };
 *     static void job_put(struct job *j) { if (atomic_fetch_sub(&j->refs, 1) == 1) free(j); }
 *     static void job_fn(void *a) { struct job *j = a; ...work...; job_put(j); }
 *     ...
 *     j->refs = 2;
 *     int rc = pool_call(job_fn, j);
 *     if (rc == 0) use(j->outputs);        // fn has returned: outputs are complete
 *     job_put(j);
 *
 * fn runs on a helper thread: it must not call fiber_*, iofd_*, timer_* or conn_* functions.
 */
#ifndef GOST_CORE_POOL_H
#define GOST_CORE_POOL_H

#include <stdint.h>

/* Run fn(arg) on a helper thread and park the calling fiber until it has returned: 0 (fn has
 * returned, even if the fiber was cancelled in the meantime), or -ECANCELED (the job goes on; see
 * above). Must be called in a fiber. If the fiber is already cancelled the job is not queued and
 * -ECANCELED is returned. -EAGAIN if no helper thread can be started. */
int pool_call(void (*fn)(void *arg), void *arg);

/* Same with a deadline: additionally -ETIMEDOUT (the job goes on). */
int pool_call_deadline(void (*fn)(void *arg), void *arg, int64_t deadline);

/* Helper threads started so far (for tests and stats). */
int pool_nthreads(void);

#endif
