/* bufconn: a read-buffering conn layer; prefixconn = the same layer with preloaded bytes. */
#include "net/bufconn.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

struct bufconn {
    struct conn base;
    unsigned char *buf; /* NULL while empty (allocated on fill, released when drained) */
    size_t cap;
    size_t off; /* first buffered byte */
    size_t len; /* buffered bytes from off */
    bool eof;   /* inner reported EOF while filling */
};

static const struct conn_ops bufconn_ops;

static struct bufconn *bufconn_of(struct conn *c)
{
    assert(c && c->ops == &bufconn_ops);
    return (struct bufconn *)c;
}

static void bufconn_release_if_empty(struct bufconn *b)
{
    if (b->len == 0) {
        free(b->buf);
        b->buf = NULL;
        b->off = 0;
    }
}

static void bufconn_drop(struct bufconn *b, size_t n)
{
    b->off += n;
    b->len -= n;
    bufconn_release_if_empty(b);
}

/* One read from inner into the free space of the buffer: > 0 bytes added, 0 = EOF (recorded),
 * < 0 error. Precondition: b->len < b->cap. */
static ssize_t bufconn_fill(struct bufconn *b)
{
    if (!b->buf) {
        b->buf = xmalloc(b->cap);
        b->off = 0;
    } else if (b->off > 0 && b->off + b->len == b->cap) {
        memmove(b->buf, b->buf + b->off, b->len);
        b->off = 0;
    }
    conn_sync_deadlines(&b->base);
    size_t room = b->cap - b->off - b->len;
    ssize_t r = conn_read(b->base.inner, b->buf + b->off + b->len, room);
    if (r > 0)
        b->len += (size_t)r;
    else if (r == 0)
        b->eof = true;
    bufconn_release_if_empty(b);
    return r;
}

/* ---- conn ops ----------------------------------------------------------------------------- */

static ssize_t bufconn_read(struct conn *c, void *buf, size_t n)
{
    struct bufconn *b = (struct bufconn *)c;
    if (n == 0)
        return 0;
    if (b->len > 0) {
        size_t k = n < b->len ? n : b->len;
        memcpy(buf, b->buf + b->off, k);
        bufconn_drop(b, k);
        return (ssize_t)k;
    }
    if (b->eof)
        return 0;
    conn_sync_deadlines(c);
    return conn_read(c->inner, buf, n);
}

static ssize_t bufconn_write(struct conn *c, const void *buf, size_t n)
{
    conn_sync_deadlines(c);
    return conn_write(c->inner, buf, n);
}

static int bufconn_shutdown(struct conn *c)
{
    conn_sync_deadlines(c);
    return conn_shutdown(c->inner);
}

static void bufconn_close(struct conn *c)
{
    struct bufconn *b = (struct bufconn *)c;
    conn_close(c->inner);
    free(b->buf);
    free(b);
}

static int bufconn_ctl(struct conn *c, int op, void *arg)
{
    struct bufconn *b = (struct bufconn *)c;
    if (op == CONN_CTL_FD && (b->len > 0 || b->eof))
        return -ENOTSUP;
    return conn_ctl(c->inner, op, arg);
}

static int bufconn_wait_readable(struct conn *c, int64_t deadline)
{
    struct bufconn *b = (struct bufconn *)c;
    if (b->len > 0 || b->eof)
        return 0;
    return conn_wait_readable(c->inner, deadline);
}

static const struct conn_ops bufconn_ops = {
    .name = "buf",
    .read = bufconn_read,
    .write = bufconn_write,
    .shutdown = bufconn_shutdown,
    .close = bufconn_close,
    .ctl = bufconn_ctl,
    .wait_readable = bufconn_wait_readable,
};

/* ---- public API --------------------------------------------------------------------------- */

struct conn *bufconn_new(struct conn *inner, size_t cap)
{
    struct bufconn *b = xcalloc(1, sizeof *b);
    conn_init(&b->base, &bufconn_ops, inner);
    b->cap = cap ? cap : 1;
    return &b->base;
}

struct conn *prefixconn_new(struct conn *inner, const void *data, size_t n)
{
    struct conn *c = bufconn_new(inner, n);
    struct bufconn *b = (struct bufconn *)c;
    if (n > 0) {
        b->buf = xmalloc(n);
        memcpy(b->buf, data, n);
        b->len = n;
    }
    return c;
}

bool bufconn_is(const struct conn *c)
{
    return c && c->ops == &bufconn_ops;
}

ssize_t bufconn_peek(struct conn *c, size_t n, const unsigned char **out)
{
    struct bufconn *b = bufconn_of(c);
    *out = NULL;
    if (n > b->cap)
        return -EINVAL;
    while (b->len < n && !b->eof) {
        ssize_t r = bufconn_fill(b);
        if (r < 0)
            return r;
    }
    *out = b->buf ? b->buf + b->off : NULL;
    return (ssize_t)b->len;
}

int bufconn_consume(struct conn *c, size_t n)
{
    struct bufconn *b = bufconn_of(c);
    if (n > b->len)
        return -EINVAL;
    bufconn_drop(b, n);
    return 0;
}

size_t bufconn_buffered(const struct conn *c)
{
    assert(bufconn_is(c));
    return ((const struct bufconn *)c)->len;
}

ssize_t bufconn_read_until(struct conn *c, const char *delim, char *buf, size_t max)
{
    struct bufconn *b = bufconn_of(c);
    size_t dlen = strlen(delim);
    assert(dlen > 0 && buf && max >= 2);
    const unsigned char last = (unsigned char)delim[dlen - 1];
    size_t limit = max - 1, got = 0;
    buf[0] = '\0';
    for (;;) {
        if (b->len == 0) {
            if (b->eof)
                return got == 0 ? 0 : -ECONNRESET;
            ssize_t r = bufconn_fill(b);
            if (r < 0)
                return r;
            continue;
        }
        /* Copy up to (and including) the next byte equal to the delimiter's last byte, then
         * check whether the output now ends with the whole delimiter. */
        const unsigned char *p = b->buf + b->off;
        size_t avail = b->len < limit - got ? b->len : limit - got;
        const unsigned char *hit = memchr(p, last, avail);
        size_t k = hit ? (size_t)(hit - p) + 1 : avail;
        memcpy(buf + got, p, k);
        got += k;
        buf[got] = '\0';
        bufconn_drop(b, k);
        if (hit && got >= dlen && memcmp(buf + got - dlen, delim, dlen) == 0)
            return (ssize_t)got;
        if (got == limit)
            return -EMSGSIZE;
    }
}

ssize_t bufconn_read_line(struct conn *c, char *buf, size_t max)
{
    return bufconn_read_until(c, "\n", buf, max);
}

struct conn *bufconn_unwrap(struct conn *c)
{
    /* Stacked buffering layers (a sniffing handler that hands over to another one) all come
     * off while they are empty, so the relay sees the raw socket again. */
    while (bufconn_is(c)) {
        struct bufconn *b = bufconn_of(c);
        if (b->len > 0 || b->eof)
            return c;
        struct conn *inner = c->inner;
        conn_sync_deadlines(c);
        free(b->buf);
        free(b);
        c = inner;
    }
    return c;
}
