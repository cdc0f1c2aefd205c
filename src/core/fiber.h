/* fiber: stackful coroutines scheduled cooperatively on one worker thread (DESIGN §2).
 *
 * A fiber belongs to the worker that spawned it and never migrates; all fiber_* calls on a fiber
 * must be made on that worker's thread (from a fiber or from a loop callback: timer, iofd
 * callback). There is no preemption: a fiber runs until it blocks (park, sleep, I/O wait,
 * cond wait, pool_call) or yields.
 *
 * Lifetime: the fiber ends when its fn returns; its stack (and the struct fiber, which lives at
 * the top of the stack mapping) goes back to the worker's pool at once. A `struct fiber *` is
 * therefore valid only while the fiber runs: code that keeps one (to wake or cancel it) must
 * forget it before fn returns (e.g. a session unlinks itself from its service's list as its last
 * step). There is no join.
 *
 * Blocking calls return 0 or a negative errno: -ETIMEDOUT when the deadline (absolute, see
 * clock.h) passes, -ECANCELED when the fiber is cancelled. Cancellation is sticky: once
 * fiber_cancel(f) was called, every later blocking call in f returns -ECANCELED at once, so a
 * cancelled session unwinds through its normal error paths. Non-blocking work (close, free) keeps
 * working in a cancelled fiber.
 *
 * Stacks: mmap'd with a PROT_NONE guard page below, pooled per worker. Size: env
 * GOST_FIBER_STACK in KiB (default 64; 256 under AddressSanitizer; minimum 16).
 */
#ifndef GOST_CORE_FIBER_H
#define GOST_CORE_FIBER_H

#include <stdbool.h>
#include <stdint.h>

struct fiber;

/* Create a fiber running fn(arg) on the current worker; it is queued to run after the current
 * fiber/callback yields (the caller keeps running). `arg` is passed through untouched (ownership
 * is between the caller and fn). Must be called on a worker thread. Returns NULL (errno set) if
 * no stack can be mapped, or with errno EPERM when called off-worker. */
struct fiber *fiber_spawn(void (*fn)(void *arg), void *arg);

/* The running fiber, or NULL in loop context or off-worker. */
struct fiber *fiber_self(void);

/* Let every other runnable fiber run once, then continue (also lets the loop poll I/O). */
void fiber_yield(void);

/* Suspend the running fiber until fiber_wake() (returns 0), the deadline (-ETIMEDOUT) or
 * cancellation (-ECANCELED; returned at once if already cancelled). A deadline already in the
 * past returns -ETIMEDOUT at once. Must be called in a fiber. Callers re-check their condition
 * after a 0 return (another party may have consumed what the waker produced). */
int fiber_park(int64_t deadline);

/* Make a parked fiber runnable (its fiber_park returns 0). No-op if f is not parked (running,
 * already runnable): wakes are not counted. Same worker only. `f` is borrowed. */
void fiber_wake(struct fiber *f);

/* Mark f cancelled and, if parked, wake it (its blocking call returns -ECANCELED). Idempotent.
 * Same worker only. Calling it on the running fiber itself is allowed. */
void fiber_cancel(struct fiber *f);

/* True if the running fiber is cancelled (false off-fiber). */
bool fiber_cancelled(void);

/* Sleep ms milliseconds (ms <= 0: just yield). 0, or -ECANCELED. Spurious wakes are absorbed. */
int fiber_sleep_ms(int64_t ms);

/* Worker-local id of a fiber (monotonic counter, for logs); 0 for NULL. */
uint64_t fiber_id(const struct fiber *f);

/* Optional name for debugging (borrowed: must outlive the fiber, e.g. a string literal). */
void fiber_set_name(struct fiber *f, const char *name);
const char *fiber_name(const struct fiber *f);

/* Per-fiber error slot: the human-readable "why" of the last failure (DESIGN §7), recorded where
 * the failure happens and logged once by the session top. Messages are truncated to
 * FIBER_ERR_MAX-1 bytes. Off-fiber (loop callbacks, main thread, helper threads) a thread-local
 * slot is used instead. */
#define FIBER_ERR_MAX 256
void fiber_set_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prefix the current message with context: "<fmt...>: <previous message>". If the slot is empty
 * it is the same as fiber_set_err. */
void fiber_wrap_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fiber_clear_err(void);
/* The current message ("" when none). Borrowed: valid until the next set/wrap/clear in the same
 * fiber or until the fiber ends. */
const char *fiber_err(void);

/* fiber_cond: a wait queue between fibers of ONE worker (no locking). Embed it (zero-initialised
 * or fiber_cond_init) in the object that owns the queue; it holds no resources. The object must
 * not be freed while fibers wait on it: broadcast and let them leave first. */
struct fiber_cond {
    struct fiber *head, *tail; /* FIFO of waiters */
};

static inline void fiber_cond_init(struct fiber_cond *c)
{
    c->head = c->tail = 0;
}

/* Wait until signalled (0), deadline (-ETIMEDOUT) or cancellation (-ECANCELED). FIFO order. */
int fiber_cond_wait(struct fiber_cond *c, int64_t deadline);
/* Wake the longest waiter, if any. Callable from a fiber or loop context. */
void fiber_cond_signal(struct fiber_cond *c);
/* Wake every waiter. */
void fiber_cond_broadcast(struct fiber_cond *c);
/* True if at least one fiber waits. */
bool fiber_cond_has_waiters(const struct fiber_cond *c);

#endif
