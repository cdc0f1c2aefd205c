/* udp_int: what listener/udp.c (sessions, reader, listener ops) and listener/udp_pump.c (the
 * offloaded socket-to-socket path) share: limits, the session, batch and listener structs, and
 * the few functions each calls in the other. Internal to the udp listener.
 */
#ifndef GOST_LISTENER_UDP_INT_H
#define GOST_LISTENER_UDP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "core/addr.h"
#include "core/conn.h"
#include "core/fiber.h"
#include "core/iofd.h"
#include "core/pconn.h"
#include "core/relay.h"
#include "core/timer.h"
#include "service/component.h"

#define UDP_HASH_BITS 10
/* Datagrams per recvmmsg/sendmmsg call; also the size of the reply batch. */
#define UDP_BATCH 32
/* Receive batches the reader handles before it lets the others run. */
#define UDP_READER_ROUNDS 8
/* Replies one upstream socket may move per wakeup before it yields to the others. */
#define UDP_PUMP_BUDGET 256
/* UDP GSO (UDP_SEGMENT): consecutive datagrams to one destination, all of one size (the last may
 * be shorter), go down the stack as one: at most UDP_GSO_MAX of them, UDP_GSO_BYTES in all, each
 * at most UDP_GSO_SEG (fits an Ethernet MTU with IPv6 headers, so a real path does not refuse it).
 */
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#define UDP_GSO_MAX   32
#define UDP_GSO_BYTES 65000
#define UDP_GSO_SEG   1452
/* SO_RCVBUF/SO_SNDBUF asked for the listener and upstream sockets (only what is queued is
 * charged; see udp_sock_bufs). */
#define UDP_SOCK_BUF (4 << 20)
/* Slot size of a batch: any datagram fits, only the touched pages become resident. */
#define UDP_SLOT ((size_t)65536)

struct udp_lst;

struct udp_sess {
    struct conn base;
    struct udp_lst *l;
    struct udp_sess *hnext; /* hash chain */
    struct gaddr peer;
    struct dgram *qhead, *qtail;
    size_t qlen;
    struct fiber_cond rcond;
    int64_t last_active;
    bool in_table;
    /* Pumped (offloaded relay) only: */
    bool pumped, kicked;
    struct udp_sess *kprev, *knext; /* listener's kick list */
    struct iofd up;                 /* upstream socket, callback mode */
    struct timer timer;             /* idle check */
    int64_t idle_ms, start_ms;
    int err_pending;   /* offload failed after taking the conns: ended from the loop */
    uint64_t bytes[2]; /* [0] client -> upstream, [1] upstream -> client */
    relay_done_fn done;
    void *done_arg;
};

/* UDP_BATCH datagram slots for recvmmsg/sendmmsg. Slots are mmap'd on first use. */
struct udp_batch {
    unsigned char *buf;
    unsigned n; /* reply batch: queued datagrams */
    struct mmsghdr msg[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    struct gaddr addr[UDP_BATCH];
};

struct udp_lst {
    struct listener base;
    struct gaddr bind;
    int fd; /* bound at init, handed to pc at start */
    int lfd;
    struct pconn *pc;
    struct fiber *reader;
    bool closed;
    int64_t ttl_ms;
    size_t qmax, backlog, max_sessions, nsessions;
    size_t hmask;
    struct udp_sess **table;
    struct udp_sess **aq; /* accept ring */
    size_t aq_head, aq_len;
    struct fiber_cond acond;
    uint64_t dropped;
    struct udp_batch rx, tx;       /* received datagrams; replies of pumped sessions */
    struct mmsghdr out[UDP_BATCH]; /* tx_flush: one entry per datagram or GSO group */
    unsigned out_n[UDP_BATCH];     /* datagrams in each entry */
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } out_cm[UDP_BATCH];
    bool queued;            /* this batch queued datagrams for a session's fiber */
    bool gso;               /* UDP_SEGMENT works (cleared for good on the first refusal) */
    struct timer flush;     /* sends tx and serves the kick list on the next iteration */
    struct udp_sess *kicks; /* pumped sessions with replies left after their budget */
};

/* udp.c: ask for UDP_SOCK_BUF of receive (and, if snd, send) buffer on fd. */
void udp_sock_bufs(int fd, bool snd);
/* udp.c: free a session (out of the table, its queue freed); the conn close op. */
void udp_sess_close(struct conn *c);

/* udp_pump.c: take the relay of s and req->b (CONN_CTL_RELAY_OFFLOAD). 0 = taken. */
int udp_pump_offload(struct udp_sess *s, struct relay_offload *req);
/* udp_pump.c: send client datagrams v[0..n) of pumped session s to its upstream. */
int udp_pump_send(struct udp_sess *s, struct iovec *v, unsigned n);
/* udp_pump.c: end pumped session s (err reported to done), freeing it. */
void udp_pump_end(struct udp_sess *s, int err);

#endif
