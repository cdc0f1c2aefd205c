/* sched: worker threads, one epoll loop each (DESIGN §2).
 *
 * Life cycle (main thread):
 *     sched_init(0);                        // workers = GOST_WORKERS env, else one per core
 *     sched_on_stop(service_stop_hook, s);  // optional, any number
 *     sched_on_each_worker(start_listeners, cfg);
 *     sched_run();                          // blocks until stopped, then tears down
 *
 * Each worker has its own epoll fd, timer heap (timer.h), run queue and stack pool; fibers and
 * everything they open stay on their worker. sched_init/sched_run may be repeated after
 * sched_run returned (tests do).
 *
 * Stopping: sched_stop() (async-signal-safe; sched_run's SIGINT/SIGTERM handlers call it) starts
 * a graceful stop on every worker:
 *   1. every registered stop hook runs once on EVERY worker, each in its own fresh fiber, in
 *      registration order of spawning (use sched_worker_id() to find that worker's objects:
 *      close its listeners, fiber_cancel its sessions);
 *   2. the worker's loop exits as soon as no fiber is left on it;
 *   3. after the grace period (default 2000 ms, sched_set_grace_ms) every remaining fiber on the
 *      worker is fiber_cancel()led; 500 ms later the loop exits regardless. Fibers still alive
 *      then are dropped without unwinding (their stacks are unmapped; what they owned leaks).
 * A second sched_stop() (second Ctrl-C) skips the grace period: cancel everything now.
 */
#ifndef GOST_CORE_SCHED_H
#define GOST_CORE_SCHED_H

#include <stdint.h>

#include "core/timer.h"

#define SCHED_MAX_WORKERS 256

/* Create the workers (not started). nworkers <= 0: env GOST_WORKERS if set, else the number of
 * online CPUs. 0 or -errno (-EBUSY if already initialised). */
int sched_init(int nworkers);

/* Number of workers (0 before sched_init). */
int sched_nworkers(void);

/* This thread's worker id in [0, nworkers), or -1 off-worker. */
int sched_worker_id(void);

/* Run fn(arg, worker_id) in a fresh fiber on every worker. Thread-safe; callable before
 * sched_run (runs when the workers start) or while running (from any thread). `arg` is shared by
 * all workers (borrowed; must outlive every call). */
void sched_on_each_worker(void (*fn)(void *arg, int worker_id), void *arg);

/* Run fn(arg) in a fresh fiber on worker `worker_id`. Thread-safe, like sched_on_each_worker.
 * 0, or -EINVAL for a bad id. */
int sched_post(int worker_id, void (*fn)(void *arg), void *arg);

/* Register a stop hook (see above). Thread-safe; typically called before sched_run. Hooks stay
 * registered until sched_run returns. */
void sched_on_stop(void (*fn)(void *arg), void *arg);

/* Grace period of a graceful stop in ms (default 2000). */
void sched_set_grace_ms(int64_t ms);

/* Start the workers, block until every worker loop has exited after sched_stop(), then free the
 * workers (sched_init may be called again). Installs SIGINT/SIGTERM handlers that call
 * sched_stop() and ignores SIGPIPE for its duration (previous handlers are restored on return).
 * 0 or -errno. */
int sched_run(void);

/* Request a stop (see above). Async-signal-safe, callable from any thread or fiber. */
void sched_stop(void);

/* True once a stop was requested (workers may still be draining). */
int sched_stopping(void);

#endif
