/* dgram_pool: per-thread pool of queued datagrams (docs/udp.md).
 *
 * A `struct dgram` holds one datagram's bytes while it waits in a queue (a udp listener
 * session's read queue). Nodes for datagrams up to DGRAM_SMALL bytes — nearly all traffic — come
 * from a thread-local free list, so queueing a datagram costs a memcpy, not a malloc/free pair;
 * larger ones are exact-size allocations, freed when given back.
 *
 * Cap: a thread keeps at most DGRAM_POOL_MAX_IDLE idle small nodes (about 1 MiB); nodes given
 * back beyond that are freed. Idle nodes are freed when the thread exits (TSD destructor) or by
 * dgram_pool_drain().
 *
 * Threading: no locks; a node must be given back on the thread that took it (a listener and its
 * sessions live on one worker). Never fails (aborts on out of memory).
 */
#ifndef GOST_CORE_DGRAM_POOL_H
#define GOST_CORE_DGRAM_POOL_H

#include <stddef.h>
#include <stdint.h>

/* Payload capacity of a pooled node (node = 2 KiB with its header). */
#define DGRAM_SMALL         ((size_t)2048 - 16)
#define DGRAM_POOL_MAX_IDLE 512

struct dgram {
    struct dgram *next; /* free for the holder (queue link) */
    uint32_t len;       /* bytes in data */
    uint32_t cap;       /* capacity of data */
    unsigned char data[];
};

/* A node holding a copy of data[0..len) (len <= 65535), next = NULL. */
struct dgram *dgram_new(const void *data, size_t len);

/* Give a node back. NULL-safe. */
void dgram_free(struct dgram *d);

struct dgram_pool_stats {
    size_t in_use; /* nodes handed out and not given back (this thread, pooled and large) */
    size_t idle;   /* small nodes in this thread's free list */
};
void dgram_pool_stats(struct dgram_pool_stats *st);

/* Free every idle node of the calling thread. */
void dgram_pool_drain(void);

#endif
