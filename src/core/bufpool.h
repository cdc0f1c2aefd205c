/* bufpool: per-worker pools of fixed-size byte buffers (DESIGN §2, §4).
 *
 * For code that needs a buffer only while bytes move (the fiber relay borrows one per wakeup and
 * gives it back before it waits again). Sizes are rounded up to a size class: powers of two from
 * BUFPOOL_MIN (4 KiB) to BUFPOOL_MAX (256 KiB); each class is a free list of blocks of exactly
 * that size. Larger requests are plain allocations (counted, never pooled).
 *
 * Cap: a thread keeps at most max(4, bufpool_set_max_idle_bytes() / class size) idle blocks per
 * class (default 1 MiB per class); blocks given back beyond that are freed.
 *
 * Threading: pools are thread-local (no locks). A buffer must be given back on the thread that
 * took it. Idle blocks are freed when the thread exits (TSD destructor) or by bufpool_drain().
 *
 * Ownership: bufpool_get() hands a block to the caller; the caller gives it back with
 * bufpool_put() passing the SAME size it asked for. Never fails (aborts on out of memory).
 */
#ifndef GOST_CORE_BUFPOOL_H
#define GOST_CORE_BUFPOOL_H

#include <stddef.h>
#include <stdint.h>

#define BUFPOOL_MIN ((size_t)4096)
#define BUFPOOL_MAX ((size_t)256 * 1024)

struct bufpool_stats {
    size_t in_use;     /* blocks handed out and not given back (this thread, all classes) */
    size_t idle;       /* blocks in this thread's free lists */
    size_t idle_bytes; /* their total size */
};

/* The size a request of `size` bytes is served with (its class; size itself above BUFPOOL_MAX;
 * BUFPOOL_MIN for 0). */
size_t bufpool_class_size(size_t size);

/* A buffer of at least `size` bytes (bufpool_class_size(size) usable bytes). Uninitialised. */
void *bufpool_get(size_t size);

/* Give back a buffer from bufpool_get(size) (same size). NULL-safe. */
void bufpool_put(void *buf, size_t size);

/* Per-class idle cap in bytes (process-wide setting, default 1 MiB). */
void bufpool_set_max_idle_bytes(size_t bytes);

/* Counters of the calling thread. */
void bufpool_stats(struct bufpool_stats *st);

/* Free every idle block of the calling thread. */
void bufpool_drain(void);

#endif
