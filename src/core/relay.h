/* relay: move bytes between two connections until both directions are finished (DESIGN §4).
 *
 * Two engines behind one call:
 *
 *  - splice pump (both conns are bare sockets: conn_sock_is_bare()). The fds and their epoll
 *    registrations are moved out of the conns (conn_sock_take: one EPOLL_CTL_MOD each; the conns
 *    are freed), switched to callback mode and driven by a small state machine with no fiber and no
 *    stack: socket -> pipe -> socket with splice(2). Pipes come from the worker's pipe pool
 *    (pipe_pool.h) only while bytes are in flight, so an idle pair costs its two sockets and one
 *    216-byte struct. relay() returns 1 at once; done() runs later from the worker's loop.
 *    SIGPIPE must be ignored (splice has no MSG_NOSIGNAL); sched_run() does that.
 *
 *  - fiber path (anything else: TLS, WebSocket, mux streams, ciphers). relay() runs in the
 *    calling fiber until the end and returns 0 after done() has run. Each direction runs in its
 *    own helper fiber (the conn contract has no "wait on either" and `write` writes everything,
 *    so one fiber relaying both directions could deadlock against peers that write before they
 *    read; see docs/relay.md). A helper borrows a buffer (bufpool.h) only while data moves and
 *    gives it back before it waits again. Conns must allow one fiber in read/wait_readable and
 *    another in write at the same time (Go's net.Conn rule), and must treat -ETIMEDOUT from read
 *    as retryable: the helpers read with an already-expired rd_deadline as a non-blocking probe.
 *
 * Semantics common to both:
 *  - half-close: EOF read from one side (and everything read before it delivered) shuts the
 *    other side's write half (conn_shutdown / shutdown(SHUT_WR)); the other direction goes on
 *    until it ends too. Nothing read from one side is dropped while the other can receive.
 *  - errors (ECONNRESET, EPIPE, ...) end both directions at once. The splice pump then closes
 *    both sockets with SO_LINGER {1, 0} so the surviving peer gets a RST (an aborted stream is
 *    never presented as a complete one); bytes still in flight are dropped. The fiber path closes
 *    the conns normally (layers may not have a socket to reset).
 *  - idle timeout (opts->idle_timeout_ms > 0): no byte moved in either direction for that long
 *    ends the relay with err -ETIMEDOUT (normal close).
 *  - both conns are closed when the relay ends; done(arg, stats) runs exactly once, on the
 *    worker that called relay().
 *
 * Threading: call relay() in a fiber on a worker; everything about a relay stays on that worker.
 */
#ifndef GOST_CORE_RELAY_H
#define GOST_CORE_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "core/conn.h"

/* Bytes moved per wakeup of one relay before it lets others run (fairness). */
#define RELAY_BUDGET ((size_t)1 << 20)
/* Default buffer of the fiber path. */
#define RELAY_DEFAULT_BUF_SIZE ((size_t)64 * 1024)

struct relay_opts {
    int64_t idle_timeout_ms; /* 0 = none */
    size_t buf_size;         /* fiber path buffer, 0 = RELAY_DEFAULT_BUF_SIZE */
};

struct relay_stats {
    uint64_t a_to_b, b_to_a;  /* bytes delivered in each direction */
    int64_t start_ms, end_ms; /* clock_now_ms() at relay() and at the end */
    int err;                  /* 0 (both directions reached EOF), -ETIMEDOUT (idle), -ECANCELED
                               * (relay_shutdown_all or the calling fiber cancelled), or -errno of the first real
                               * I/O error */
};

/* Called once when the relay is over. `st` is borrowed for the call. Runs in loop context for
 * the splice pump (must not block), in the calling fiber for the fiber path. */
typedef void (*relay_done_fn)(void *arg, const struct relay_stats *st);

/* Relay between a and b (both CONSUMED: closed at the end, also on failure). `o` is copied (NULL
 * = defaults); `arg` is passed to done untouched. Returns 1 when the pair went to the splice pump
 * (done runs later from the loop; the calling fiber may end), 0 when the relay ran in the calling
 * fiber (done has run). A setup failure (no memory for epoll, ...) is reported through done with
 * stats.err set, and relay() returns 0. */
int relay(struct conn *a, struct conn *b, const struct relay_opts *o, relay_done_fn done,
          void *arg);

/* Offload: a conn that can run the whole relay itself, cheaper than both engines (a udp listener
 * session whose other side is a bare connected UDP socket: datagrams go socket to socket with
 * batched syscalls and no fiber, docs/udp.md). relay() first asks
 * conn_ctl(a, CONN_CTL_RELAY_OFFLOAD, &req); a conn that answers 0 has taken a and req.b (both
 * consumed) and calls done(arg) later on this worker, never inside relay() (relay() returns 1).
 * Any other answer leaves both conns untouched. A conn answers only when req.a is itself (never
 * through a layer that forwards ctl ops to its inner conn). */
#define CONN_CTL_RELAY_OFFLOAD (CONN_CTL_USER + 20)
struct relay_offload {
    struct conn *a, *b;
    const struct relay_opts *opts;
    relay_done_fn done;
    void *arg;
    int64_t start_ms;
};

/* End every relay of the calling worker (for a graceful stop; call from a stop hook). Splice
 * pumps are closed at once (normal close) and their done callbacks run before this returns, with
 * err -ECANCELED. Fiber-path relays are cancelled: their helpers stop, and their done runs soon
 * after from their own fiber (they are no longer counted once done has run). Relays started
 * later are not affected. Must be called on a worker thread. */
void relay_shutdown_all(void);

/* Counters of the calling worker (tests, metrics). */
struct relay_worker_stats {
    size_t pumps;        /* live splice pumps */
    size_t fiber_relays; /* live fiber-path relays */
    size_t pipes_in_use; /* pipes held by pumps (0 when every pump is idle) */
    size_t pipes_idle;   /* pipes waiting in this worker's pool */
    size_t bufs_in_use;  /* bufpool blocks handed out on this worker (all users) */
};
void relay_worker_stats(struct relay_worker_stats *st);

/* Size of the per-pair state of the splice pump (one allocation), for measurements. */
size_t relay_pump_state_size(void);

#endif
