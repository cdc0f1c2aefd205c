/* listener udp: UDP "pseudo-connections", one per client address (GOST's udp listener).
 *
 * One SO_REUSEPORT socket per worker, bound at init (an address in use is a start-up error); the
 * kernel hashes each client's 4-tuple to one of them, so a client always lands on the same worker.
 * Each socket is served by one reader fiber that takes datagrams in batches (recvmmsg, up to
 * UDP_BATCH per call). A datagram from a new client address creates a session conn
 * (message-preserving: each read returns one datagram, each write sends one to that client) and
 * queues it for accept(). A session ends when its user closes it or when it has been idle —
 * nothing received and nothing sent — for `ttl` (read then returns EOF).
 *
 * Two ways a session's datagrams travel (docs/udp.md):
 *  - queued: the reader copies each datagram into a pooled node (dgram_pool.h, no malloc) on the
 *    session's queue and wakes its reader; conn_read takes them one by one.
 *  - pumped: relay(session, bare connected UDP socket) offloads itself to the session
 *    (CONN_CTL_RELAY_OFFLOAD, relay.h). From then on no fiber is involved: the listener's reader
 *    sends each datagram straight from its receive batch to the session's upstream socket
 *    (sendmmsg for a run of datagrams of one client), and the upstream socket, in callback mode,
 *    reads replies with recvmmsg into the listener's reply batch, which goes out with one sendmmsg
 *    per loop iteration (or when full). The session's idle timer ends the pair after `ttl`.
 *
 * Difference from GOST (docs/udp.md): GOST closes a session after the first reply unless
 * `keepalive=true`, which breaks every protocol with more than one reply (games, VoIP,
 * WireGuard, QUIC). We always keep the session until it is idle for `ttl`, default 60 s;
 * `keepalive` is accepted and ignored.
 *
 * Bounds (per worker; `sessions` is split evenly between the workers): at most `sessions`
 * (metadata, default 65536) live sessions and `backlog` (128) sessions waiting for accept; each
 * queued session holds at most `readQueueSize` (128) datagrams; datagrams up to 64 KiB. Over a
 * bound, or when a socket buffer is full, datagrams are dropped (counted) — never unbounded
 * memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/md.h"
#include "config/schema.h"
#include "core/clock.h"
#include "core/dgram_pool.h"
#include "core/fiber.h"
#include "core/iofd.h"
#include "core/log.h"
#include "core/pconn.h"
#include "core/relay.h"
#include "core/timer.h"
#include "core/xmalloc.h"
#include "listener/listen_addr.h"
#include "listener/udp_listener.h"
#include "service/component.h"
#include "service/service.h"

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

static uint64_t udp_hash(const struct gaddr *a)
{
    const unsigned char *p = (const unsigned char *)&a->ss;
    uint64_t h = 1469598103934665603ull;
    for (socklen_t i = 0; i < a->len; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* Ask for UDP_SOCK_BUF of receive (and send) buffer: beyond net.core.rmem_max/wmem_max when the
 * process may (CAP_NET_ADMIN, as WireGuard and QUIC stacks do), else up to that cap. */
static void udp_sock_bufs(int fd, bool snd)
{
    int v = UDP_SOCK_BUF;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) < 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    if (snd && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v) < 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
}

static bool batch_init(struct udp_batch *b)
{
    if (b->buf)
        return true;
    void *m = mmap(NULL, UDP_BATCH * UDP_SLOT, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return false;
    b->buf = m;
    for (unsigned i = 0; i < UDP_BATCH; i++) {
        b->iov[i].iov_base = b->buf + i * UDP_SLOT;
        b->msg[i].msg_hdr = (struct msghdr){.msg_iov = &b->iov[i], .msg_iovlen = 1};
    }
    return true;
}

static void batch_free(struct udp_batch *b)
{
    if (b->buf)
        munmap(b->buf, UDP_BATCH * UDP_SLOT);
    b->buf = NULL;
}

static void sess_table_del(struct udp_sess *s)
{
    if (!s->in_table)
        return;
    struct udp_lst *l = s->l;
    struct udp_sess **pp = &l->table[udp_hash(&s->peer) & l->hmask];
    while (*pp && *pp != s)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = s->hnext;
    s->in_table = false;
    l->nsessions--;
}

static bool sess_idle(const struct udp_sess *s)
{
    return s->l->ttl_ms > 0 && clock_now_ms() - s->last_active >= s->l->ttl_ms;
}

static void sess_queue_free(struct udp_sess *s)
{
    while (s->qhead) {
        struct dgram *d = s->qhead;
        s->qhead = d->next;
        dgram_free(d);
    }
    s->qtail = NULL;
    s->qlen = 0;
}

/* Wait until a datagram is queued, the session is over (closed listener or idle), or dl. */
static int sess_wait(struct udp_sess *s, int64_t dl)
{
    for (;;) {
        if (s->qhead || s->l->closed || sess_idle(s))
            return 0;
        int64_t idle_dl = s->l->ttl_ms > 0 ? s->last_active + s->l->ttl_ms : DEADLINE_NONE;
        int rc = fiber_cond_wait(&s->rcond, deadline_min(dl, idle_dl));
        if (rc == -ETIMEDOUT && clock_update() < dl)
            continue; /* the idle deadline: re-check */
        if (rc < 0)
            return rc;
    }
}

static ssize_t sess_read(struct conn *c, void *buf, size_t n)
{
    struct udp_sess *s = (struct udp_sess *)c;
    int rc = sess_wait(s, c->rd_deadline);
    if (rc < 0)
        return rc;
    struct dgram *d = s->qhead;
    if (!d)
        return 0; /* idle or listener closed: EOF */
    s->qhead = d->next;
    if (!s->qhead)
        s->qtail = NULL;
    s->qlen--;
    size_t len = d->len < n ? d->len : n;
    memcpy(buf, d->data, len);
    dgram_free(d);
    return (ssize_t)len;
}

static ssize_t sess_write(struct conn *c, const void *buf, size_t n)
{
    struct udp_sess *s = (struct udp_sess *)c;
    if (s->l->closed || !s->l->pc)
        return -EPIPE;
    s->last_active = clock_now_ms();
    s->l->pc->wr_deadline = c->wr_deadline;
    ssize_t rc = pconn_sendto(s->l->pc, buf, n, &s->peer);
    if (rc == -EBUSY || rc == -EAGAIN || rc == -ENOBUFS) {
        s->l->dropped++; /* socket buffer full: drop the datagram, as the network would */
        return (ssize_t)n;
    }
    return rc < 0 ? rc : (ssize_t)n;
}

static int sess_shutdown(struct conn *c)
{
    return 0;
}

static void sess_close(struct conn *c)
{
    struct udp_sess *s = (struct udp_sess *)c;
    sess_table_del(s);
    sess_queue_free(s);
    free(s);
}

/* ---- pumped sessions ------------------------------------------------------------------------ */

static void kick_del(struct udp_sess *s)
{
    if (!s->kicked)
        return;
    if (s->kprev)
        s->kprev->knext = s->knext;
    else
        s->l->kicks = s->knext;
    if (s->knext)
        s->knext->kprev = s->kprev;
    s->kprev = s->knext = NULL;
    s->kicked = false;
}

static void flush_cb(struct timer *t);

static void flush_arm(struct udp_lst *l)
{
    if (!timer_active(&l->flush))
        timer_start(&l->flush, clock_now_ms(), flush_cb); /* after this epoll batch */
}

static void kick_add(struct udp_sess *s)
{
    if (s->kicked)
        return;
    struct udp_lst *l = s->l;
    s->kprev = NULL;
    s->knext = l->kicks;
    if (l->kicks)
        l->kicks->kprev = s;
    l->kicks = s;
    s->kicked = true;
    flush_arm(l);
}

/* End a pumped session: close the upstream socket, forget the session, then report. */
static void pump_end(struct udp_sess *s, int err)
{
    struct relay_stats st = {
        .a_to_b = s->bytes[0],
        .b_to_a = s->bytes[1],
        .start_ms = s->start_ms,
        .end_ms = clock_now_ms(),
        .err = err,
    };
    relay_done_fn done = s->done;
    void *arg = s->done_arg;
    timer_stop(&s->timer);
    kick_del(s);
    iofd_close(&s->up);
    sess_close(&s->base);
    if (done)
        done(arg, &st);
}

/* How many of v[0..n) form one GSO send: datagrams of v[0]'s size, the last one possibly
 * shorter, within the UDP_GSO_* limits. 1 = send v[0] alone. */
static unsigned gso_group(const struct iovec *v, unsigned n)
{
    size_t seg = v[0].iov_len, total = seg;
    if (seg == 0 || seg > UDP_GSO_SEG)
        return 1;
    unsigned k = 1;
    while (k < n && k < UDP_GSO_MAX && v[k].iov_len > 0 && v[k].iov_len <= seg &&
           total + v[k].iov_len <= UDP_GSO_BYTES) {
        total += v[k++].iov_len;
        if (v[k - 1].iov_len < seg)
            break; /* a shorter one ends the group */
    }
    return k;
}

static void gso_cmsg(struct msghdr *m, void *buf, size_t seg)
{
    m->msg_control = buf;
    m->msg_controllen = CMSG_SPACE(sizeof(uint16_t));
    struct cmsghdr *cm = CMSG_FIRSTHDR(m);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t v = (uint16_t)seg;
    memcpy(CMSG_DATA(cm), &v, sizeof v);
}

/* Errors by which a GSO send says "not here" (no checksum offload, segment over the path MTU,
 * kernel without UDP_SEGMENT): the datagrams then go one by one, and GSO stays off. */
static bool gso_refused(int e)
{
    return e == EIO || e == EINVAL || e == EOPNOTSUPP || e == ENOPROTOOPT || e == EMSGSIZE;
}

/* Send the reply batch from the listener socket: one sendmmsg entry per datagram, or per GSO
 * group for consecutive datagrams to one client. Datagrams that do not fit (socket buffer full)
 * are dropped, as the network would. */
static void tx_flush(struct udp_lst *l)
{
    struct udp_batch *b = &l->tx;
    unsigned done = 0;
    while (done < b->n && l->lfd >= 0) {
        unsigned ne = 0;
        for (unsigned k = done; k < b->n; ne++) {
            unsigned g = 1;
            if (l->gso) {
                unsigned same = 1;
                while (k + same < b->n && addr_equal(&b->addr[k + same], &b->addr[k]))
                    same++;
                g = gso_group(&b->iov[k], same);
            }
            struct mmsghdr *m = &l->out[ne];
            m->msg_hdr = (struct msghdr){.msg_name = &b->addr[k].ss,
                                         .msg_namelen = b->addr[k].len,
                                         .msg_iov = &b->iov[k],
                                         .msg_iovlen = g};
            if (g > 1)
                gso_cmsg(&m->msg_hdr, l->out_cm[ne].buf, b->iov[k].iov_len);
            l->out_n[ne] = g;
            k += g;
        }
        int r = sendmmsg(l->lfd, l->out, ne, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r > 0) {
            for (int q = 0; q < r; q++)
                done += l->out_n[q];
            continue;
        }
        int e = r < 0 ? errno : EIO;
        if (e == EINTR)
            continue;
        if (l->out_n[0] > 1 && gso_refused(e)) {
            l->gso = false;
            continue;
        }
        if (e == EAGAIN || e == ENOBUFS) {
            l->dropped += b->n - done;
            break;
        }
        l->dropped += l->out_n[0]; /* this destination failed (EPERM, ...): skip it */
        done += l->out_n[0];
    }
    b->n = 0;
}

/* Give `s` the contents of its queue (what came before the offload) and the replies waiting on
 * its upstream socket, up to the budget. May end the session. */
static int pump_up_send(struct udp_sess *s, struct iovec *v, unsigned n);

static void pump_rx(struct udp_sess *s)
{
    struct udp_lst *l = s->l;
    struct udp_batch *b = &l->tx;
    unsigned budget = UDP_PUMP_BUDGET;
    while (iofd_ready(&s->up, IOFD_READ)) {
        if (budget == 0) {
            kick_add(s);
            break;
        }
        if (b->n == UDP_BATCH)
            tx_flush(l);
        unsigned room = UDP_BATCH - b->n;
        if (room > budget)
            room = budget;
        for (unsigned i = b->n; i < b->n + room; i++) {
            b->iov[i].iov_len = UDP_SLOT - 1;
            b->msg[i].msg_hdr.msg_name = NULL;
            b->msg[i].msg_hdr.msg_namelen = 0;
        }
        int r = recvmmsg(s->up.fd, &b->msg[b->n], room, MSG_DONTWAIT, NULL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                iofd_clear(&s->up, IOFD_READ);
                break;
            }
            pump_end(s, -errno); /* ECONNREFUSED (nobody at the target) and the like */
            goto out;
        }
        for (unsigned i = b->n; i < b->n + (unsigned)r; i++) {
            b->addr[i] = s->peer;
            b->iov[i].iov_len = b->msg[i].msg_len;
            s->bytes[1] += b->msg[i].msg_len;
        }
        b->n += (unsigned)r;
        budget -= (unsigned)r;
        s->last_active = clock_now_ms();
        if ((unsigned)r < room) {
            iofd_clear(&s->up, IOFD_READ); /* drained: the next reply is a new edge */
            break;
        }
    }
out:
    if (b->n == UDP_BATCH)
        tx_flush(l);
    if (b->n)
        flush_arm(l);
}

static void pump_io_cb(struct iofd *io, uint32_t ev)
{
    (void)ev; /* errors come out of recvmmsg */
    pump_rx(io->data);
}

static void pump_timer_cb(struct timer *t)
{
    struct udp_sess *s = t->data;
    int64_t now = clock_now_ms();
    if (now - s->last_active >= s->idle_ms) {
        pump_end(s, -ETIMEDOUT);
        return;
    }
    timer_start(t, s->last_active + s->idle_ms, pump_timer_cb); /* re-armed lazily */
}

/* Datagrams queued before the offload go first, then whatever the upstream socket holds. */
static void pump_kick(struct udp_sess *s)
{
    kick_del(s);
    if (s->err_pending) {
        pump_end(s, s->err_pending);
        return;
    }
    while (s->qhead) {
        struct dgram *d = s->qhead;
        s->qhead = d->next;
        s->qlen--;
        struct iovec iov = {.iov_base = d->data, .iov_len = d->len};
        if (pump_up_send(s, &iov, 1) < 0) {
            dgram_free(d);
            return; /* ended: s is gone */
        }
        dgram_free(d);
    }
    s->qtail = NULL;
    pump_rx(s);
}

static void flush_cb(struct timer *t)
{
    struct udp_lst *l = t->data;
    if (l->tx.n)
        tx_flush(l);
    /* Serve the sessions kicked so far; those kicked again meanwhile wait for the next turn. */
    struct udp_sess *list = l->kicks;
    l->kicks = NULL;
    for (struct udp_sess *s = list; s; s = s->knext)
        s->kicked = false;
    while (list) {
        struct udp_sess *s = list;
        list = s->knext;
        if (list)
            list->kprev = NULL;
        s->kprev = s->knext = NULL;
        pump_kick(s);
    }
    if (l->tx.n)
        tx_flush(l);
}

/* Send v[0..n) (a run from one client) to s's upstream socket: GSO groups where the sizes allow,
 * else one send each. A full socket buffer drops them (counted); a real error (ECONNREFUSED from
 * an earlier datagram...) ends the session (then -errno: s is gone). 0 otherwise. */
static int pump_up_send(struct udp_sess *s, struct iovec *v, unsigned n)
{
    struct udp_lst *l = s->l;
    unsigned done = 0;
    while (done < n) {
        unsigned g = l->gso ? gso_group(v + done, n - done) : 1;
        ssize_t r;
        if (g == 1) {
            r = send(s->up.fd, v[done].iov_base, v[done].iov_len, MSG_DONTWAIT | MSG_NOSIGNAL);
        } else {
            union {
                char buf[CMSG_SPACE(sizeof(uint16_t))];
                struct cmsghdr align;
            } cm;
            struct msghdr m = {.msg_iov = v + done, .msg_iovlen = g};
            gso_cmsg(&m, cm.buf, v[done].iov_len);
            r = sendmsg(s->up.fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
        }
        if (r >= 0) {
            for (unsigned i = done; i < done + g; i++)
                s->bytes[0] += v[i].iov_len;
            done += g;
            continue;
        }
        int e = errno;
        if (e == EINTR)
            continue;
        if (g > 1 && gso_refused(e)) {
            l->gso = false;
            continue;
        }
        if (e == EAGAIN || e == ENOBUFS) {
            l->dropped += n - done;
            break;
        }
        pump_end(s, -e);
        return -e;
    }
    s->last_active = clock_now_ms();
    return 0;
}

static int sess_offload(struct udp_sess *s, struct relay_offload *req)
{
    struct udp_lst *l = s->l;
    if (req->a != &s->base || s->pumped || l->closed || !s->in_table || !l->tx.buf)
        return -ENOTSUP;
    int fd = udp_conn_detach(req->b);
    if (fd < 0)
        return -ENOTSUP; /* a chained or layered upstream: the fiber relay serves it */
    s->up.fd = -1;
    int rc = iofd_open(&s->up, fd);
    if (rc < 0) {
        /* The upstream conn is gone already: report through done (from the loop), as relay
         * would. */
        s->done = req->done;
        s->done_arg = req->arg;
        s->start_ms = req->start_ms;
        s->pumped = true;
        s->err_pending = rc;
        timer_init(&s->timer);
        kick_add(s);
        return 0;
    }
    s->up.data = s;
    iofd_set_cb(&s->up, pump_io_cb);
    /* Replies arrive in bursts while the worker may be busy elsewhere: give them room. */
    udp_sock_bufs(fd, false);
    s->pumped = true;
    s->done = req->done;
    s->done_arg = req->arg;
    s->start_ms = req->start_ms;
    int64_t idle = l->ttl_ms;
    int64_t ro = req->opts ? req->opts->idle_timeout_ms : 0;
    if (ro > 0 && (idle <= 0 || ro < idle))
        idle = ro;
    s->idle_ms = idle > 0 ? idle : UDP_DEFAULT_TTL_MS;
    timer_init(&s->timer);
    s->timer.data = s;
    timer_start(&s->timer, s->last_active + s->idle_ms, pump_timer_cb);
    kick_add(s); /* the queue and the first replies are served from the loop, not here */
    return 0;
}

static int sess_ctl(struct conn *c, int op, void *arg)
{
    struct udp_sess *s = (struct udp_sess *)c;
    switch (op) {
    case CONN_CTL_REMOTE_ADDR:
        *(struct gaddr *)arg = s->peer;
        return 0;
    case CONN_CTL_LOCAL_ADDR:
        *(struct gaddr *)arg = s->l->bind;
        return 0;
    case CONN_CTL_IS_DGRAM:
        return 0;
    case CONN_CTL_RELAY_OFFLOAD:
        return sess_offload(s, arg);
    default:
        return -ENOTSUP;
    }
}

static int sess_wait_readable(struct conn *c, int64_t deadline)
{
    return sess_wait((struct udp_sess *)c, deadline);
}

static const struct conn_ops sess_ops = {
    .name = "udp",
    .read = sess_read,
    .write = sess_write,
    .shutdown = sess_shutdown,
    .close = sess_close,
    .ctl = sess_ctl,
    .wait_readable = sess_wait_readable,
};

static struct udp_sess *sess_lookup(struct udp_lst *l, const struct gaddr *peer)
{
    for (struct udp_sess *s = l->table[udp_hash(peer) & l->hmask]; s; s = s->hnext)
        if (addr_equal(&s->peer, peer))
            return s;
    return NULL;
}

static struct udp_sess *sess_new(struct udp_lst *l, const struct gaddr *peer)
{
    if (l->nsessions >= l->max_sessions || l->aq_len >= l->backlog)
        return NULL;
    struct udp_sess *s = xcalloc(1, sizeof *s);
    conn_init(&s->base, &sess_ops, NULL);
    s->l = l;
    s->peer = *peer;
    s->last_active = clock_now_ms();
    s->up.fd = -1;
    fiber_cond_init(&s->rcond);
    size_t b = udp_hash(peer) & l->hmask;
    s->hnext = l->table[b];
    l->table[b] = s;
    s->in_table = true;
    l->nsessions++;
    l->aq[(l->aq_head + l->aq_len) % l->backlog] = s;
    l->aq_len++;
    fiber_cond_signal(&l->acond);
    return s;
}

/* Hand datagrams rx[i..j) (all from one client) to their session. */
static void dispatch_run(struct udp_lst *l, unsigned i, unsigned j)
{
    struct udp_batch *rx = &l->rx;
    const struct gaddr *from = &rx->addr[i];
    struct udp_sess *s = sess_lookup(l, from);
    if (s && !s->pumped && sess_idle(s) && !s->qhead) {
        /* Expired but not yet closed by its user: start a fresh session. */
        sess_table_del(s);
        fiber_cond_broadcast(&s->rcond);
        s = NULL;
    }
    if (!s)
        s = sess_new(l, from);
    if (!s) {
        l->dropped += j - i;
        return;
    }
    if (s->pumped && !s->qhead) {
        for (unsigned k = i; k < j; k++)
            rx->iov[k].iov_len = rx->msg[k].msg_len;
        pump_up_send(s, &rx->iov[i], j - i);
        return;
    }
    l->queued = true;
    for (unsigned k = i; k < j; k++) {
        if (s->qlen >= l->qmax) {
            l->dropped += j - k;
            break;
        }
        struct dgram *d = dgram_new(rx->iov[k].iov_base, rx->msg[k].msg_len);
        if (s->qtail)
            s->qtail->next = d;
        else
            s->qhead = d;
        s->qtail = d;
        s->qlen++;
    }
    s->last_active = clock_now_ms();
    fiber_cond_signal(&s->rcond);
}

static void udp_reader(void *arg)
{
    struct udp_lst *l = arg;
    struct udp_batch *rx = &l->rx;
    unsigned rounds = 0;
    while (!l->closed) {
        for (unsigned i = 0; i < UDP_BATCH; i++) {
            rx->iov[i].iov_len = UDP_SLOT - 1;
            rx->msg[i].msg_hdr.msg_name = &rx->addr[i].ss;
            rx->msg[i].msg_hdr.msg_namelen = sizeof rx->addr[i].ss;
        }
        int n = udp_pconn_recv_batch(l->pc, rx->msg, UDP_BATCH);
        if (n == -ECANCELED || l->closed)
            break;
        if (n < 0) {
            /* ICMP errors and the like are per datagram: keep serving everyone else. */
            if (fiber_sleep_ms(n == -ENOBUFS || n == -ENOMEM ? 10 : 0) < 0)
                break;
            continue;
        }
        for (int i = 0; i < n; i++)
            rx->addr[i].len = rx->msg[i].msg_hdr.msg_namelen;
        /* Runs of datagrams from one client go to their session together. */
        for (unsigned i = 0, j; i < (unsigned)n; i = j) {
            for (j = i + 1; j < (unsigned)n && addr_equal(&rx->addr[j], &rx->addr[i]); j++)
                ;
            dispatch_run(l, i, j);
        }
        /* New sessions wait for accept, or queued datagrams for their reader: let those run
         * before the next batch (a burst from new clients must not overflow the backlog or a
         * session's queue while its relay is being set up). */
        bool yield = l->aq_len > 0 || l->queued;
        l->queued = false;
        if (n == UDP_BATCH && !yield && ++rounds < UDP_READER_ROUNDS)
            continue;
        rounds = 0;
        yield |= n == UDP_BATCH; /* more waiting: let the others run */
        if (yield && fiber_sleep_ms(0) < 0)
            break;
    }
    l->reader = NULL;
    l->closed = true;
    timer_stop(&l->flush);
    l->tx.n = 0;
    /* Pumped sessions end here (relay err -ECANCELED); the others read EOF. */
    for (size_t i = 0; i <= l->hmask; i++) {
        struct udp_sess *s = l->table[i];
        while (s) {
            struct udp_sess *next = s->hnext;
            if (s->pumped)
                pump_end(s, -ECANCELED);
            else
                fiber_cond_broadcast(&s->rcond);
            s = next;
        }
    }
    l->lfd = -1;
    pconn_close(l->pc);
    l->pc = NULL;
    /* Wake everyone still waiting: accept returns -ECANCELED, sessions read EOF. */
    fiber_cond_broadcast(&l->acond);
}

int udp_listener_ttl_ms(const struct cval *md, int64_t *out, struct cfg_errs *errs)
{
    int64_t ns = 0;
    enum md_status st = md_parse_duration(md, MD_KEYS("ttl", "keepalive.ttl"), &ns, errs);
    if (st == MD_INVALID)
        return -EINVAL;
    *out = st == MD_OK && ns > 0 ? ns / 1000000 : UDP_DEFAULT_TTL_MS;
    if (*out <= 0)
        *out = 1;
    return 0;
}

static int udp_init(struct listener *base, struct cfg_errs *errs)
{
    struct udp_lst *l = (struct udp_lst *)base;
    char err[256];
    l->fd = l->lfd = -1;
    if (listen_addr_resolve(base->addr, SOCK_DGRAM, &l->bind, err, sizeof err) < 0) {
        cfg_errs_add(errs, cfg_pos_of(base->svc_cfg_node, "addr"), "%s", err);
        return -EINVAL;
    }
    const struct cval *md = base->cfg->metadata;
    int64_t q = 128, bl = 128, ms = 65536;
    int bad = udp_listener_ttl_ms(md, &l->ttl_ms, errs) < 0;
    bad |= md_parse_int(md, MD_KEYS("readQueueSize", "recvQueueSize"), &q, errs) == MD_INVALID;
    bad |= md_parse_int(md, MD_KEYS("backlog"), &bl, errs) == MD_INVALID;
    bad |= md_parse_int(md, MD_KEYS("sessions", "udp.sessions"), &ms, errs) == MD_INVALID;
    if (bad)
        return -EINVAL;
    if (q > 65536)
        q = 65536;
    if (bl > 65536)
        bl = 65536;
    if (ms > (1 << 22))
        ms = 1 << 22;
    l->qmax = q > 0 ? (size_t)q : 128;
    l->backlog = bl > 0 ? (size_t)bl : 128;
    l->max_sessions = ms > 0 ? (size_t)ms : 65536;
    /* One socket per worker: the session bound is split between them. */
    int nw = base->svc && base->svc->nlisteners > 0 ? base->svc->nlisteners : 1;
    l->max_sessions = (l->max_sessions + (size_t)nw - 1) / (size_t)nw;

    /* Port 0: the first worker's socket picks the port, the others join it. */
    struct gaddr ga = l->bind;
    if (addr_port(&ga) == 0 && base->worker > 0 && base->svc && base->svc->listeners[0]) {
        const struct udp_lst *first = (const struct udp_lst *)base->svc->listeners[0];
        ga = first->bind;
    }
    int fd = udp_bind_fd(&ga, true);
    if (fd < 0) {
        cfg_errs_add(errs, cfg_pos_of(base->svc_cfg_node, "addr"), "listen udp %s: %s", base->addr,
                     strerror(-fd));
        return fd;
    }
    l->fd = fd;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        addr_from_sockaddr(&l->bind, (struct sockaddr *)&ss, sl);
    /* Room for bursts: the default buffer holds only a few hundred small datagrams. */
    udp_sock_bufs(fd, true);

    size_t buckets = 1u << UDP_HASH_BITS;
    while (buckets < l->max_sessions && buckets < (1u << 20))
        buckets <<= 1;
    l->hmask = buckets - 1;
    l->table = xcalloc(buckets, sizeof *l->table);
    l->aq = xcalloc(l->backlog, sizeof *l->aq);
    fiber_cond_init(&l->acond);
    timer_init(&l->flush);
    l->flush.data = l;
    l->gso = getenv("GOST_UDP_NO_GSO") == NULL; /* escape hatch, and for measurements */
    return 0;
}

static int udp_start(struct listener *base)
{
    struct udp_lst *l = (struct udp_lst *)base;
    if (!batch_init(&l->rx) || !batch_init(&l->tx)) {
        fiber_set_err("cannot map the udp batches");
        return -ENOMEM;
    }
    int fd = l->fd;
    l->fd = -1;
    int rc = udp_pconn_open(fd, &l->pc);
    if (rc < 0)
        return rc;
    if (pconn_ctl(l->pc, CONN_CTL_FD, &l->lfd) < 0)
        l->lfd = -1;
    l->reader = fiber_spawn(udp_reader, l);
    if (!l->reader) {
        pconn_close(l->pc);
        l->pc = NULL;
        l->lfd = -1;
        fiber_set_err("cannot start the udp reader");
        return -ENOMEM;
    }
    fiber_set_name(l->reader, "udp-reader");
    return 0;
}

static int udp_accept(struct listener *base, struct conn **out)
{
    struct udp_lst *l = (struct udp_lst *)base;
    for (;;) {
        if (l->closed)
            return -ECANCELED;
        if (l->aq_len > 0) {
            struct udp_sess *s = l->aq[l->aq_head];
            l->aq_head = (l->aq_head + 1) % l->backlog;
            l->aq_len--;
            *out = &s->base;
            return 0;
        }
        int rc = fiber_cond_wait(&l->acond, DEADLINE_NONE);
        if (rc < 0)
            return rc;
    }
}

static void udp_close(struct listener *base)
{
    struct udp_lst *l = (struct udp_lst *)base;
    if (l->reader)
        fiber_cancel(l->reader);
    else
        l->closed = true;
    fiber_cond_broadcast(&l->acond);
}

static void udp_free(struct listener *base)
{
    struct udp_lst *l = (struct udp_lst *)base;
    /* Sessions never accepted are still ours. */
    while (l->aq_len > 0) {
        struct udp_sess *s = l->aq[l->aq_head];
        l->aq_head = (l->aq_head + 1) % l->backlog;
        l->aq_len--;
        sess_close(&s->base);
    }
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    batch_free(&l->rx);
    batch_free(&l->tx);
    free(l->table);
    free(l->aq);
}

const struct listener_type listener_udp = {
    .name = "udp",
    .size = sizeof(struct udp_lst),
    .flags = LISTENER_PER_WORKER,
    .init = udp_init,
    .start = udp_start,
    .accept = udp_accept,
    .close = udp_close,
    .free = udp_free,
};
