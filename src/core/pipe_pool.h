/* pipe_pool: per-worker pool of non-blocking pipes for the splice relay (DESIGN §4).
 *
 * A relay pump needs a pipe only while bytes are in flight (socket -> pipe -> socket). It takes
 * one from the calling thread's pool when a socket becomes readable and gives it back as soon as
 * the pipe is empty again, so an idle relayed connection holds no pipe. Pipes are created with
 * pipe2(O_NONBLOCK | O_CLOEXEC) and, if configured, enlarged with F_SETPIPE_SZ (failure to
 * enlarge -- e.g. EPERM past /proc/sys/fs/pipe-user-pages-soft for an unprivileged user -- is
 * not an error: the pipe keeps the size the kernel gave it).
 *
 * Threading: every pool is private to the thread that uses it (thread-local; no locks). A pipe
 * taken on a worker must be given back on the same worker. The idle pipes of a thread are closed
 * when the thread exits (TSD destructor) or by pipe_pool_drain(). The two settings are
 * process-wide and may be changed at any time (they apply to pipes created / returned later).
 *
 * Ownership: pipe_pool_get() hands the two fds to the caller, who must give them back with
 * pipe_pool_put() (empty pipe) or pipe_pool_discard() (pipe that may hold data, or is broken).
 */
#ifndef GOST_CORE_PIPE_POOL_H
#define GOST_CORE_PIPE_POOL_H

#include <stddef.h>
#include <stdint.h>

/* Default pipe capacity requested with F_SETPIPE_SZ (see docs/relay.md for the measurement). */
#define PIPE_POOL_DEFAULT_SIZE (256 * 1024)
/* Default cap of idle pipes kept per worker; extra pipes given back are closed. */
#define PIPE_POOL_DEFAULT_MAX_IDLE 64

struct pipe_pair {
    int rd; /* read end */
    int wr; /* write end */
};

struct pipe_pool_stats {
    size_t in_use;    /* pipes handed out and not yet given back (this thread) */
    size_t idle;      /* pipes waiting in this thread's pool */
    uint64_t created; /* pipes created by this thread so far */
    uint64_t closed;  /* pipes closed by this thread so far (discarded, over the cap, drained) */
};

/* Capacity requested for new pipes in bytes; 0 keeps the kernel default (64 KiB). The kernel
 * rounds up to a power-of-two number of pages. */
void pipe_pool_set_size(size_t bytes);
size_t pipe_pool_get_size(void);

/* Idle pipes kept per thread (default PIPE_POOL_DEFAULT_MAX_IDLE). 0 disables pooling. */
void pipe_pool_set_max_idle(size_t n);

/* Take an empty pipe from this thread's pool, or create one. On success fills *out (the caller
 * owns both fds until put/discard) and returns 0; -errno on failure (EMFILE, ENFILE, ...), *out
 * is then {-1, -1}. */
int pipe_pool_get(struct pipe_pair *out);

/* Give back a pipe the caller knows to be EMPTY. Kept in the pool, or closed if the pool is
 * full. p is reset to {-1, -1}. No-op if p->rd < 0. */
void pipe_pool_put(struct pipe_pair *p);

/* Close a pipe that may still hold data (it must not be reused). p is reset to {-1, -1}. No-op
 * if p->rd < 0. */
void pipe_pool_discard(struct pipe_pair *p);

/* Counters of the calling thread. */
void pipe_pool_stats(struct pipe_pool_stats *st);

/* Close every idle pipe of the calling thread (pipes in use are not affected). */
void pipe_pool_drain(void);

#endif
