/* smux_int: what smux.c (session, reader, writer) and smux_stream.c (stream conns) share. */
#ifndef GOST_NET_SMUX_INT_H
#define GOST_NET_SMUX_INT_H

#include "core/fiber.h"
#include "net/smux.h"

#define SMUX_NBUCKETS          256
#define SMUX_RBUF_SIZE         (64 * 1024)
#define SMUX_V2_INITIAL_WINDOW 262144u

struct smux_chunk {
    struct smux_chunk *next;
    uint32_t len, off;
    uint8_t data[];
};

struct smux_stream {
    struct conn base;
    struct smux_session *sess;
    uint32_t sid;
    struct smux_stream *hnext; /* hash bucket chain */
    struct smux_stream *anext; /* accept queue */
    struct smux_chunk *qhead, *qtail;
    size_t queued;
    bool local_fin, remote_fin, in_map;
    struct fiber_cond rcond; /* readers: data, FIN, session death */
    struct fiber_cond wcond; /* v2 writers: UPD, FIN, session death */
    /* v2 flow control */
    uint32_t num_read, incr;                          /* receive side */
    uint32_t num_written, peer_consumed, peer_window; /* send side */
};

struct smux_session {
    struct conn *c;
    struct smux_config cfg;
    bool client, closed, owner_gone, passive;
    int refs; /* owner + open streams + reader fiber + keepalive fiber */
    uint32_t next_id;
    unsigned nstreams, naccept;
    struct smux_stream *buckets[SMUX_NBUCKETS];
    struct smux_stream *ahead, *atail;
    struct fiber_cond acond;       /* accept */
    struct fiber_cond dcond;       /* smux_wait_closed */
    struct fiber_cond bucket_cond; /* reader waiting for buffered bytes to drain */
    size_t buffered;
    struct fiber *reader, *keeper;
    bool wbusy;
    struct fiber_cond wlock;
    uint8_t *wbuf; /* SMUX_HDR_SIZE + 65535 */
    uint8_t *rbuf; /* SMUX_RBUF_SIZE */
    size_t rpos, rlen;
};

/* Write one frame (takes the write lock; a write error closes the session). deadline bounds the
 * wait for the lock only. 0 or -errno. */
int smux_send_frame(struct smux_session *s, uint8_t cmd, uint32_t sid, const void *payload,
                    uint16_t len, int64_t deadline);
void smux_unref(struct smux_session *s);
void smux_kill(struct smux_session *s);
void smux_unlink(struct smux_session *s, struct smux_stream *st);
void smux_return_tokens(struct smux_session *s, size_t n);
struct smux_stream *smux_stream_new(struct smux_session *s, uint32_t sid);
void smux_stream_push(struct smux_stream *st, struct smux_chunk *ch);
extern const struct conn_ops smux_stream_ops;

#endif
