/* listener udp, pumped sessions (see udp.c's header and docs/udp.md): a session whose relay was
 * offloaded to it (CONN_CTL_RELAY_OFFLOAD) moves datagrams socket to socket with no fiber —
 * client datagrams from the listener's receive batch to the upstream socket (sendmmsg, GSO),
 * replies from the upstream socket (recvmmsg, callback mode) into the listener's reply batch,
 * sent with one sendmmsg per loop iteration. The idle timer ends the pair after `ttl`.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/dgram_pool.h"
#include "core/iofd.h"
#include "core/log.h"
#include "core/relay.h"
#include "core/timer.h"
#include "listener/udp_int.h"
#include "listener/udp_listener.h"

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
void udp_pump_end(struct udp_sess *s, int err)
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
    udp_sess_close(&s->base);
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
            udp_pump_end(s, -errno); /* ECONNREFUSED (nobody at the target) and the like */
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
        udp_pump_end(s, -ETIMEDOUT);
        return;
    }
    timer_start(t, s->last_active + s->idle_ms, pump_timer_cb); /* re-armed lazily */
}

/* Datagrams queued before the offload go first, then whatever the upstream socket holds. */
static void pump_kick(struct udp_sess *s)
{
    kick_del(s);
    if (s->err_pending) {
        udp_pump_end(s, s->err_pending);
        return;
    }
    while (s->qhead) {
        struct dgram *d = s->qhead;
        s->qhead = d->next;
        s->qlen--;
        struct iovec iov = {.iov_base = d->data, .iov_len = d->len};
        if (udp_pump_send(s, &iov, 1) < 0) {
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
int udp_pump_send(struct udp_sess *s, struct iovec *v, unsigned n)
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
        udp_pump_end(s, -e);
        return -e;
    }
    s->last_active = clock_now_ms();
    return 0;
}

int udp_pump_offload(struct udp_sess *s, struct relay_offload *req)
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
