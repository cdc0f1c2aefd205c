/* smux: session, reader fiber, keepalive fiber and frame writer (see smux.h, docs/smux.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "net/smux_int.h"

void smux_config_default(struct smux_config *cfg)
{
    cfg->version = 1;
    cfg->keepalive_ms = 10000;
    cfg->keepalive_timeout_ms = 30000;
    cfg->max_frame = 32768;
    cfg->max_recv_buf = 4u * 1024 * 1024;
    cfg->max_stream_buf = 65536;
}

static void smux_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void smux_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t smux_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static struct smux_stream **smux_bucket(struct smux_session *s, uint32_t sid)
{
    return &s->buckets[(sid * 2654435761u) >> 24];
}

static struct smux_stream *smux_find(struct smux_session *s, uint32_t sid)
{
    for (struct smux_stream *st = *smux_bucket(s, sid); st; st = st->hnext)
        if (st->sid == sid)
            return st;
    return NULL;
}

struct smux_stream *smux_stream_new(struct smux_session *s, uint32_t sid)
{
    struct smux_stream *st = xcalloc(1, sizeof *st);
    conn_init(&st->base, &smux_stream_ops, NULL);
    st->sess = s;
    st->sid = sid;
    st->peer_window = SMUX_V2_INITIAL_WINDOW;
    struct smux_stream **b = smux_bucket(s, sid);
    st->hnext = *b;
    *b = st;
    st->in_map = true;
    s->nstreams++;
    s->refs++;
    return st;
}

void smux_unlink(struct smux_session *s, struct smux_stream *st)
{
    if (!st->in_map)
        return;
    for (struct smux_stream **pp = smux_bucket(s, st->sid); *pp; pp = &(*pp)->hnext)
        if (*pp == st) {
            *pp = st->hnext;
            break;
        }
    st->in_map = false;
    s->nstreams--;
}

void smux_return_tokens(struct smux_session *s, size_t n)
{
    s->buffered -= n;
    if (s->buffered < s->cfg.max_recv_buf)
        fiber_cond_signal(&s->bucket_cond);
}

void smux_stream_push(struct smux_stream *st, struct smux_chunk *ch)
{
    ch->next = NULL;
    if (st->qtail)
        st->qtail->next = ch;
    else
        st->qhead = ch;
    st->qtail = ch;
    st->queued += ch->len;
    st->sess->buffered += ch->len;
    fiber_cond_broadcast(&st->rcond);
}

void smux_kill(struct smux_session *s)
{
    if (s->closed)
        return;
    s->closed = true;
    fiber_cond_broadcast(&s->acond);
    fiber_cond_broadcast(&s->dcond);
    fiber_cond_broadcast(&s->bucket_cond);
    fiber_cond_broadcast(&s->wlock);
    for (int i = 0; i < SMUX_NBUCKETS; i++)
        for (struct smux_stream *st = s->buckets[i]; st; st = st->hnext) {
            fiber_cond_broadcast(&st->rcond);
            fiber_cond_broadcast(&st->wcond);
        }
    struct fiber *self = fiber_self();
    if (s->reader && s->reader != self)
        fiber_cancel(s->reader);
    if (s->keeper && s->keeper != self)
        fiber_cancel(s->keeper);
}

void smux_unref(struct smux_session *s)
{
    if (--s->refs > 0)
        return;
    conn_close(s->c);
    free(s->wbuf);
    free(s->rbuf);
    free(s);
}

int smux_send_frame(struct smux_session *s, uint8_t cmd, uint32_t sid, const void *payload,
                    uint16_t len, int64_t deadline)
{
    while (!s->closed && s->wbusy) {
        int rc = fiber_cond_wait(&s->wlock, deadline);
        if (rc < 0)
            return rc;
    }
    if (s->closed)
        return -ECONNRESET;
    s->wbusy = true;
    uint8_t *p = s->wbuf;
    p[0] = (uint8_t)s->cfg.version;
    p[1] = cmd;
    smux_put_le16(p + 2, len);
    smux_put_le32(p + 4, sid);
    if (len)
        memcpy(p + SMUX_HDR_SIZE, payload, len);
    s->c->wr_deadline = deadline_in(s->cfg.keepalive_timeout_ms);
    ssize_t rc = conn_write(s->c, p, SMUX_HDR_SIZE + (size_t)len);
    s->wbusy = false;
    fiber_cond_signal(&s->wlock);
    if (rc < 0) {
        smux_kill(s);
        return (int)rc;
    }
    return 0;
}

/* Exactly n bytes from the session conn through its read buffer (dst NULL = discard). */
static int smux_rfull(struct smux_session *s, uint8_t *dst, size_t n)
{
    while (n) {
        if (s->rpos == s->rlen) {
            s->c->rd_deadline = deadline_in(s->cfg.keepalive_timeout_ms);
            ssize_t r = conn_read(s->c, s->rbuf, SMUX_RBUF_SIZE);
            if (r <= 0)
                return r == 0 ? -ECONNRESET : (int)r;
            s->rpos = 0;
            s->rlen = (size_t)r;
        }
        size_t k = s->rlen - s->rpos;
        if (k > n)
            k = n;
        if (dst) {
            memcpy(dst, s->rbuf + s->rpos, k);
            dst += k;
        }
        s->rpos += k;
        n -= k;
    }
    return 0;
}

static int smux_on_syn(struct smux_session *s, uint32_t sid)
{
    if (smux_find(s, sid))
        return 0;
    if (s->nstreams >= SMUX_MAX_STREAMS || s->naccept >= SMUX_ACCEPT_BACKLOG) {
        LOG(LOG_DEBUG, NULL, "smux: refusing stream %u: too many streams", sid);
        int rc = smux_send_frame(s, SMUX_FIN, sid, NULL, 0, DEADLINE_NONE);
        return rc == -ECANCELED ? rc : 0;
    }
    struct smux_stream *st = smux_stream_new(s, sid);
    if (s->atail)
        s->atail->anext = st;
    else
        s->ahead = st;
    s->atail = st;
    s->naccept++;
    fiber_cond_signal(&s->acond);
    return 0;
}

static int smux_on_psh(struct smux_session *s, uint32_t sid, uint16_t len)
{
    struct smux_stream *st = smux_find(s, sid);
    if (!st || len == 0)
        return smux_rfull(s, NULL, len);
    struct smux_chunk *ch = xmalloc(sizeof *ch + len);
    ch->len = len;
    ch->off = 0;
    int rc = smux_rfull(s, ch->data, len);
    if (rc < 0) {
        free(ch);
        return rc;
    }
    smux_stream_push(st, ch);
    while (!s->passive && !s->closed && s->buffered >= s->cfg.max_recv_buf) {
        rc = fiber_cond_wait(&s->bucket_cond, DEADLINE_NONE);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int smux_session_step(struct smux_session *s)
{
    if (s->closed)
        return -ECONNRESET;
    uint8_t h[SMUX_HDR_SIZE];
    int rc = smux_rfull(s, h, sizeof h);
    if (rc < 0)
        goto dead;
    uint16_t len = (uint16_t)(h[2] | h[3] << 8);
    uint32_t sid = smux_get_le32(h + 4);
    if (h[0] != s->cfg.version) {
        LOG(LOG_DEBUG, NULL, "smux: bad version %u", h[0]);
        rc = -EPROTO;
        goto dead;
    }
    switch (h[1]) {
    case SMUX_SYN:
    case SMUX_FIN:
    case SMUX_NOP:
        if (len != 0) {
            rc = -EPROTO;
            goto dead;
        }
        if (h[1] == SMUX_SYN) {
            rc = smux_on_syn(s, sid);
        } else if (h[1] == SMUX_FIN) {
            struct smux_stream *st = smux_find(s, sid);
            if (st) {
                st->remote_fin = true;
                fiber_cond_broadcast(&st->rcond);
                fiber_cond_broadcast(&st->wcond);
            }
        }
        break;
    case SMUX_PSH:
        rc = smux_on_psh(s, sid, len);
        break;
    case SMUX_UPD: {
        uint8_t u[8];
        if (len != 8 || s->cfg.version < 2) {
            rc = -EPROTO;
            goto dead;
        }
        rc = smux_rfull(s, u, sizeof u);
        struct smux_stream *st = rc == 0 ? smux_find(s, sid) : NULL;
        if (st) {
            st->peer_consumed = smux_get_le32(u);
            st->peer_window = smux_get_le32(u + 4);
            fiber_cond_broadcast(&st->wcond);
        }
        break;
    }
    default:
        LOG(LOG_DEBUG, NULL, "smux: bad command %u", h[1]);
        rc = -EPROTO;
        break;
    }
    if (rc == 0)
        return 0;
dead:
    smux_kill(s);
    return rc;
}

static void smux_reader(void *arg)
{
    struct smux_session *s = arg;
    while (smux_session_step(s) == 0)
        ;
    s->reader = NULL;
    smux_unref(s);
}

static void smux_keeper(void *arg)
{
    struct smux_session *s = arg;
    while (!s->closed && fiber_sleep_ms(s->cfg.keepalive_ms) == 0 && !s->closed)
        if (smux_send_frame(s, SMUX_NOP, 0, NULL, 0, DEADLINE_NONE) < 0)
            break;
    s->keeper = NULL;
    smux_unref(s);
}

static struct smux_session *smux_create(struct conn *c, bool client, const struct smux_config *cfg,
                                        bool passive)
{
    struct smux_session *s = xcalloc(1, sizeof *s);
    s->c = c;
    if (cfg)
        s->cfg = *cfg;
    else
        smux_config_default(&s->cfg);
    if (s->cfg.version != 2)
        s->cfg.version = 1;
    if (s->cfg.max_frame == 0 || s->cfg.max_frame > 65535)
        s->cfg.max_frame = 65535;
    if (s->cfg.max_recv_buf == 0)
        s->cfg.max_recv_buf = 4u * 1024 * 1024;
    if (s->cfg.max_stream_buf == 0)
        s->cfg.max_stream_buf = 65536;
    s->client = client;
    s->passive = passive;
    s->next_id = client ? 1 : 0;
    s->refs = 1;
    s->wbuf = xmalloc(SMUX_HDR_SIZE + 65535);
    s->rbuf = xmalloc(SMUX_RBUF_SIZE);
    return s;
}

struct smux_session *smux_session_new_passive(struct conn *c, bool client,
                                              const struct smux_config *cfg)
{
    return smux_create(c, client, cfg, true);
}

struct smux_session *smux_session_new(struct conn *c, bool client, const struct smux_config *cfg)
{
    struct smux_session *s = smux_create(c, client, cfg, false);
    s->reader = fiber_spawn(smux_reader, s);
    if (!s->reader) {
        smux_kill(s);
        return s;
    }
    fiber_set_name(s->reader, "smux-rx");
    s->refs++;
    if (s->cfg.keepalive_ms > 0) {
        s->keeper = fiber_spawn(smux_keeper, s);
        if (s->keeper) {
            fiber_set_name(s->keeper, "smux-ka");
            s->refs++;
        }
    }
    return s;
}

int smux_open(struct smux_session *s, struct conn **out)
{
    if (s->closed)
        return -ECONNRESET;
    if (s->next_id > UINT32_MAX - 2)
        return -EOVERFLOW;
    s->next_id += 2;
    struct smux_stream *st = smux_stream_new(s, s->next_id);
    int rc = smux_send_frame(s, SMUX_SYN, st->sid, NULL, 0, DEADLINE_NONE);
    if (rc < 0) {
        st->local_fin = true;
        conn_close(&st->base);
        return rc;
    }
    *out = &st->base;
    return 0;
}

int smux_accept(struct smux_session *s, struct conn **out, int64_t deadline)
{
    for (;;) {
        if (s->closed)
            return -ECONNRESET;
        struct smux_stream *st = s->ahead;
        if (st) {
            s->ahead = st->anext;
            if (!s->ahead)
                s->atail = NULL;
            st->anext = NULL;
            s->naccept--;
            *out = &st->base;
            return 0;
        }
        int rc = fiber_cond_wait(&s->acond, deadline);
        if (rc < 0)
            return rc;
    }
}

int smux_wait_closed(struct smux_session *s, int64_t deadline)
{
    while (!s->closed) {
        int rc = fiber_cond_wait(&s->dcond, deadline);
        if (rc < 0)
            return rc;
    }
    return 0;
}

bool smux_is_closed(const struct smux_session *s)
{
    return s->closed;
}

unsigned smux_num_streams(const struct smux_session *s)
{
    return s->nstreams;
}

void smux_session_abort(struct smux_session *s)
{
    smux_kill(s);
}

void smux_session_close(struct smux_session *s)
{
    if (!s)
        return;
    s->owner_gone = true;
    smux_kill(s);
    while (s->ahead) {
        struct smux_stream *st = s->ahead;
        s->ahead = st->anext;
        s->naccept--;
        conn_close(&st->base);
    }
    s->atail = NULL;
    smux_unref(s);
}
