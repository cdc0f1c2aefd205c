/* smux_stream: a smux stream as a `struct conn` (see smux.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "net/smux_int.h"

/* Wait for the lock only this long when closing (close never blocks for long). */
#define SMUX_CLOSE_FIN_MS 5000
/* v2: how long a writer waits for a window update after the peer's FIN. */
#define SMUX_FIN_WINDOW_MS 30000

static void smux_stream_consumed(struct smux_stream *st, size_t k)
{
    struct smux_session *s = st->sess;
    smux_return_tokens(s, k);
    if (s->cfg.version != 2)
        return;
    /* xtaci: window update at the first read and whenever half the window was consumed */
    st->num_read += (uint32_t)k;
    st->incr += (uint32_t)k;
    if (st->incr >= s->cfg.max_stream_buf / 2 || st->num_read == (uint32_t)k) {
        uint8_t u[8];
        uint32_t v[2] = {st->num_read, s->cfg.max_stream_buf};
        for (int i = 0; i < 8; i++)
            u[i] = (uint8_t)(v[i / 4] >> (8 * (i % 4)));
        st->incr = 0;
        smux_send_frame(s, SMUX_UPD, st->sid, u, sizeof u, DEADLINE_NONE);
    }
}

static ssize_t smux_stream_read(struct conn *c, void *buf, size_t n)
{
    struct smux_stream *st = (struct smux_stream *)c;
    if (n == 0)
        return 0;
    for (;;) {
        if (st->qhead) {
            size_t k = 0;
            uint8_t *p = buf;
            while (st->qhead && k < n) {
                struct smux_chunk *ch = st->qhead;
                size_t m = ch->len - ch->off;
                if (m > n - k)
                    m = n - k;
                memcpy(p + k, ch->data + ch->off, m);
                ch->off += (uint32_t)m;
                k += m;
                if (ch->off == ch->len) {
                    st->qhead = ch->next;
                    if (!st->qhead)
                        st->qtail = NULL;
                    free(ch);
                }
            }
            st->queued -= k;
            smux_stream_consumed(st, k);
            return (ssize_t)k;
        }
        if (st->remote_fin)
            return 0;
        if (st->sess->closed)
            return -ECONNRESET;
        int rc = fiber_cond_wait(&st->rcond, c->rd_deadline);
        if (rc < 0)
            return rc;
    }
}

static ssize_t smux_stream_write(struct conn *c, const void *buf, size_t n)
{
    struct smux_stream *st = (struct smux_stream *)c;
    struct smux_session *s = st->sess;
    const uint8_t *p = buf;
    size_t left = n;
    while (left) {
        if (st->local_fin)
            return -EPIPE;
        if (s->closed)
            return -ECONNRESET;
        size_t sz = left < s->cfg.max_frame ? left : s->cfg.max_frame;
        if (s->cfg.version == 2) {
            int32_t inflight = (int32_t)(st->num_written - st->peer_consumed);
            if (inflight < 0)
                return -EPROTO;
            int64_t win = (int64_t)st->peer_window - inflight;
            if (win <= 0) {
                /* After the peer's FIN: our own peer goes on reading (half-close), an xtaci peer
                 * (no half-close) may have dropped the stream and sends no more UPD: give up
                 * after SMUX_FIN_WINDOW_MS without one. */
                int64_t dl = c->wr_deadline, fdl = deadline_in(SMUX_FIN_WINDOW_MS);
                bool fin = st->remote_fin;
                if (fin && fdl < dl)
                    dl = fdl;
                int rc = fiber_cond_wait(&st->wcond, dl);
                if (rc == -ETIMEDOUT && fin && dl == fdl)
                    return -EPIPE;
                if (rc < 0)
                    return rc;
                continue;
            }
            if ((int64_t)sz > win)
                sz = (size_t)win;
        }
        int rc = smux_send_frame(s, SMUX_PSH, st->sid, p, (uint16_t)sz, c->wr_deadline);
        if (rc < 0)
            return rc;
        st->num_written += (uint32_t)sz;
        p += sz;
        left -= sz;
    }
    return (ssize_t)n;
}

static int smux_stream_shutdown(struct conn *c)
{
    struct smux_stream *st = (struct smux_stream *)c;
    if (st->local_fin)
        return 0;
    st->local_fin = true;
    fiber_cond_broadcast(&st->wcond);
    return smux_send_frame(st->sess, SMUX_FIN, st->sid, NULL, 0, c->wr_deadline);
}

static void smux_stream_close(struct conn *c)
{
    struct smux_stream *st = (struct smux_stream *)c;
    struct smux_session *s = st->sess;
    if (!st->local_fin && !s->closed) {
        st->local_fin = true;
        smux_send_frame(s, SMUX_FIN, st->sid, NULL, 0, deadline_in(SMUX_CLOSE_FIN_MS));
    }
    smux_unlink(s, st);
    size_t k = 0;
    while (st->qhead) {
        struct smux_chunk *ch = st->qhead;
        st->qhead = ch->next;
        k += ch->len - ch->off;
        free(ch);
    }
    if (k)
        smux_return_tokens(s, k);
    free(st);
    smux_unref(s);
}

static int smux_stream_ctl(struct conn *c, int op, void *arg)
{
    struct smux_stream *st = (struct smux_stream *)c;
    if (op == CONN_CTL_LOCAL_ADDR || op == CONN_CTL_REMOTE_ADDR)
        return conn_ctl(st->sess->c, op, arg);
    return -ENOTSUP;
}

static int smux_stream_wait_readable(struct conn *c, int64_t deadline)
{
    struct smux_stream *st = (struct smux_stream *)c;
    while (!st->qhead && !st->remote_fin && !st->sess->closed) {
        int rc = fiber_cond_wait(&st->rcond, deadline);
        if (rc < 0)
            return rc;
    }
    return 0;
}

const struct conn_ops smux_stream_ops = {
    .name = "smux",
    .read = smux_stream_read,
    .write = smux_stream_write,
    .shutdown = smux_stream_shutdown,
    .close = smux_stream_close,
    .ctl = smux_stream_ctl,
    .wait_readable = smux_stream_wait_readable,
};
