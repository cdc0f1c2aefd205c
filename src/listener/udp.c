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
 *  - pumped (udp_pump.c): relay(session, bare connected UDP socket) offloads itself to the session
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

#include "listener/udp_int.h"

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
void udp_sock_bufs(int fd, bool snd)
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

void udp_sess_close(struct conn *c)
{
    struct udp_sess *s = (struct udp_sess *)c;
    sess_table_del(s);
    sess_queue_free(s);
    free(s);
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
        return udp_pump_offload(s, arg);
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
    .close = udp_sess_close,
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
        udp_pump_send(s, &rx->iov[i], j - i);
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
                udp_pump_end(s, -ECANCELED);
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
        udp_sess_close(&s->base);
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
