/* listener udp: UDP "pseudo-connections", one per client address (GOST's udp listener).
 *
 * One socket, served by one reader fiber on worker 0. A datagram from a new client address
 * creates a session conn (message-preserving: each read returns one datagram, each write sends
 * one to that client) and queues it for accept(). A session ends when its user closes it or when
 * it has been idle — nothing received and nothing sent — for `ttl` (read then returns EOF).
 *
 * Difference from GOST (docs/udp.md): GOST closes a session after the first reply unless
 * `keepalive=true`, which breaks every protocol with more than one reply (games, VoIP,
 * WireGuard, QUIC). We always keep the session until it is idle for `ttl`, default 60 s;
 * `keepalive` is accepted and ignored.
 *
 * Bounds: at most `sessions` (metadata, default 65536) live sessions and `backlog` (128)
 * sessions waiting for accept; each session queues at most `readQueueSize` (128) datagrams;
 * datagrams up to 64 KiB. Over a bound, datagrams are dropped (counted) — never unbounded memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/md.h"
#include "config/schema.h"
#include "core/clock.h"
#include "core/fiber.h"
#include "core/log.h"
#include "core/pconn.h"
#include "core/xmalloc.h"
#include "listener/listen_addr.h"
#include "listener/udp_listener.h"
#include "service/component.h"

#define UDP_HASH_BITS 10

struct dgram {
    struct dgram *next;
    size_t len;
    unsigned char data[];
};

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
};

struct udp_lst {
    struct listener base;
    struct gaddr bind;
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
};

static uint64_t udp_hash(const struct gaddr *a)
{
    const unsigned char *p = (const unsigned char *)&a->ss;
    uint64_t h = 1469598103934665603ull;
    for (socklen_t i = 0; i < a->len; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
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
    free(d);
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
    while (s->qhead) {
        struct dgram *d = s->qhead;
        s->qhead = d->next;
        free(d);
    }
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

static void udp_reader(void *arg)
{
    struct udp_lst *l = arg;
    unsigned char *buf = xmalloc(PCONN_MAX_DGRAM);
    while (!l->closed) {
        struct gaddr from;
        ssize_t n = pconn_recvfrom(l->pc, buf, PCONN_MAX_DGRAM, &from);
        if (n == -ECANCELED || l->closed)
            break;
        if (n < 0) {
            /* ICMP errors and the like are per datagram: keep serving everyone else. */
            if (fiber_sleep_ms(n == -ENOBUFS || n == -ENOMEM ? 10 : 0) < 0)
                break;
            continue;
        }
        struct udp_sess *s = sess_lookup(l, &from);
        if (s && sess_idle(s) && !s->qhead) {
            /* Expired but not yet closed by its user: start a fresh session. */
            sess_table_del(s);
            fiber_cond_broadcast(&s->rcond);
            s = NULL;
        }
        if (!s)
            s = sess_new(l, &from);
        if (!s || s->qlen >= l->qmax) {
            l->dropped++;
            continue;
        }
        struct dgram *d = xmalloc(sizeof *d + (size_t)n);
        d->next = NULL;
        d->len = (size_t)n;
        memcpy(d->data, buf, (size_t)n);
        if (s->qtail)
            s->qtail->next = d;
        else
            s->qhead = d;
        s->qtail = d;
        s->qlen++;
        s->last_active = clock_now_ms();
        fiber_cond_signal(&s->rcond);
    }
    free(buf);
    l->reader = NULL;
    pconn_close(l->pc);
    l->pc = NULL;
    l->closed = true;
    /* Wake everyone still waiting: accept returns -ECANCELED, sessions read EOF. */
    fiber_cond_broadcast(&l->acond);
    for (size_t i = 0; i <= l->hmask; i++)
        for (struct udp_sess *s = l->table[i]; s; s = s->hnext)
            fiber_cond_broadcast(&s->rcond);
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
    size_t buckets = 1u << UDP_HASH_BITS;
    while (buckets < l->max_sessions && buckets < (1u << 20))
        buckets <<= 1;
    l->hmask = buckets - 1;
    l->table = xcalloc(buckets, sizeof *l->table);
    l->aq = xcalloc(l->backlog, sizeof *l->aq);
    fiber_cond_init(&l->acond);
    return 0;
}

static int udp_start(struct listener *base)
{
    struct udp_lst *l = (struct udp_lst *)base;
    int rc = udp_listen(&l->bind, &l->pc);
    if (rc < 0)
        return rc;
    l->reader = fiber_spawn(udp_reader, l);
    if (!l->reader) {
        pconn_close(l->pc);
        l->pc = NULL;
        fiber_set_err("cannot start the udp reader");
        return -ENOMEM;
    }
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
    free(l->table);
    free(l->aq);
}

const struct listener_type listener_udp = {
    .name = "udp",
    .size = sizeof(struct udp_lst),
    .init = udp_init,
    .start = udp_start,
    .accept = udp_accept,
    .close = udp_close,
    .free = udp_free,
};
