/* Fuzz target: net/smux. The input is the byte stream a peer sends to a session (passive mode:
 * no fibers; smux_session_step handles one frame at a time over an in-memory conn that never
 * blocks). After every frame the target accepts new streams, reads what they have queued (v2:
 * sends window updates), writes a little back where the window allows, and closes some streams.
 * The session must end (EOF or a malformed frame) without a crash, leak or unbounded buffering.
 *
 * Input: [flags: bit0 client role, bit1 version 2, bit2 close streams early] [frames...] */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/conn.h"
#include "net/smux.h"
#include "net/smux_int.h"

struct memconn {
    struct conn base;
    const uint8_t *data;
    size_t len, pos;
};

static ssize_t memconn_read(struct conn *c, void *buf, size_t n)
{
    struct memconn *m = (struct memconn *)c;
    size_t k = m->len - m->pos;
    if (k == 0)
        return 0;
    if (k > n)
        k = n;
    if (k > 61) /* small reads: frames straddle read boundaries */
        k = 61;
    memcpy(buf, m->data + m->pos, k);
    m->pos += k;
    return (ssize_t)k;
}

static ssize_t memconn_write(struct conn *c, const void *buf, size_t n)
{
    (void)c;
    (void)buf;
    return (ssize_t)n;
}

static int memconn_shutdown(struct conn *c)
{
    (void)c;
    return 0;
}

static void memconn_close(struct conn *c)
{
    free(c);
}

static int memconn_wait_readable(struct conn *c, int64_t deadline)
{
    (void)c;
    (void)deadline;
    return 0;
}

static const struct conn_ops memconn_ops = {
    .name = "mem",
    .read = memconn_read,
    .write = memconn_write,
    .shutdown = memconn_shutdown,
    .close = memconn_close,
    .wait_readable = memconn_wait_readable,
};

#define MAX_HELD 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    struct memconn *m = calloc(1, sizeof *m);
    conn_init(&m->base, &memconn_ops, NULL);
    m->data = data + 1;
    m->len = size - 1;
    struct smux_config cfg;
    smux_config_default(&cfg);
    cfg.version = (flags & 2) ? 2 : 1;
    cfg.max_stream_buf = 1024;
    struct smux_session *s = smux_session_new_passive(&m->base, flags & 1, &cfg);
    struct conn *held[MAX_HELD];
    size_t nheld = 0;
    while (smux_session_step(s) == 0) {
        while (s->ahead && nheld < MAX_HELD) {
            struct conn *c = NULL;
            if (smux_accept(s, &c, 0) != 0)
                abort();
            held[nheld++] = c;
        }
        for (size_t i = 0; i < nheld; i++) {
            struct smux_stream *st = (struct smux_stream *)held[i];
            char buf[100];
            while (st->qhead)
                if (conn_read(held[i], buf, sizeof buf) <= 0)
                    abort();
            int32_t inflight = (int32_t)(st->num_written - st->peer_consumed);
            if (cfg.version == 1 || (inflight >= 0 && (int64_t)st->peer_window - inflight >= 3))
                (void)conn_write(held[i], "ack", 3);
        }
        if ((flags & 4) && nheld) {
            conn_close(held[--nheld]);
        }
        if (s->buffered > cfg.max_recv_buf + 65535u)
            abort();
    }
    if (!smux_is_closed(s))
        abort();
    for (size_t i = 0; i < nheld; i++)
        conn_close(held[i]);
    smux_session_close(s);
    return 0;
}
