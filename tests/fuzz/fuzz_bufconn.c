/* Fuzz target: net/bufconn over an in-memory conn that hands out the stream in fuzzer-chosen
 * chunk sizes. A sequence of peek / read / consume / read_until / read_line operations must
 * always see exactly the stream's bytes, in order, and respect every size limit.
 *
 * Input: [cap] [nops] [ops...] [chunk pattern byte] [stream bytes...]
 * The mock conn never blocks, so no fiber/scheduler is needed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>

#include "core/conn.h"
#include "net/bufconn.h"

struct memconn {
    struct conn base;
    const uint8_t *data;
    size_t len, pos;
    uint8_t pattern;
    unsigned reads;
};

static ssize_t memconn_read(struct conn *c, void *buf, size_t n)
{
    struct memconn *m = (struct memconn *)c;
    if (m->pos == m->len)
        return 0;
    size_t k = 1 + (size_t)((m->pattern * (m->reads + 1u) * 7u) % 23u);
    m->reads++;
    if (k > n)
        k = n;
    if (k > m->len - m->pos)
        k = m->len - m->pos;
    memcpy(buf, m->data + m->pos, k);
    m->pos += k;
    return (ssize_t)k;
}

static ssize_t memconn_write(struct conn *c, const void *buf, size_t n)
{
    return (ssize_t)n;
}

static int memconn_shutdown(struct conn *c)
{
    return 0;
}

static void memconn_close(struct conn *c)
{
    free(c);
}

static int memconn_wait_readable(struct conn *c, int64_t deadline)
{
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

/* The stream as seen through the bufconn must match the input. */
struct state {
    const uint8_t *data;
    size_t len, off; /* bytes consumed through the bufconn */
};

static void expect(struct state *s, const void *p, size_t n)
{
    if (n > s->len - s->off || memcmp(p, s->data + s->off, n) != 0)
        abort();
    s->off += n;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
    if (size < 3)
        return 0;
    size_t cap = 1 + in[0] % 64;
    size_t nops = in[1] % 32;
    if (size < 2 + nops + 1)
        return 0;
    const uint8_t *ops = in + 2;
    uint8_t pattern = in[2 + nops];
    const uint8_t *data = in + 3 + nops;
    size_t len = size - 3 - nops;

    struct memconn *m = calloc(1, sizeof *m);
    if (!m)
        abort();
    conn_init(&m->base, &memconn_ops, NULL);
    m->data = data;
    m->len = len;
    m->pattern = pattern;
    struct conn *c = bufconn_new(&m->base, cap);
    struct state s = {.data = data, .len = len};
    char buf[300];

    for (size_t i = 0; i < nops; i++) {
        uint8_t op = ops[i];
        size_t arg = op >> 3;
        switch (op & 7) {
        case 0:
        case 1: { /* peek */
            const unsigned char *p;
            size_t want = arg % (cap + 2);
            ssize_t r = bufconn_peek(c, want, &p);
            if (want > cap) {
                if (r != -EINVAL)
                    abort();
                break;
            }
            if (r < 0 || (size_t)r > cap)
                abort();
            if ((size_t)r < want && s.off + (size_t)r != len) /* short only at EOF */
                abort();
            if (r > 0 && (size_t)r <= len - s.off && memcmp(p, data + s.off, (size_t)r) != 0)
                abort();
            if ((size_t)r != bufconn_buffered(c))
                abort();
            break;
        }
        case 2: { /* consume */
            size_t b = bufconn_buffered(c);
            size_t k = b ? arg % (b + 1) : 0;
            if (bufconn_consume(c, k) != 0)
                abort();
            s.off += k;
            if (bufconn_consume(c, bufconn_buffered(c) + 1) != -EINVAL)
                abort();
            break;
        }
        case 3:
        case 4: { /* read */
            size_t n = 1 + arg;
            ssize_t r = conn_read(c, buf, n);
            if (r < 0 || (size_t)r > n || (r == 0 && s.off != len))
                abort();
            expect(&s, buf, (size_t)r);
            break;
        }
        case 5:
        case 6: { /* read_until a 1..4 byte delimiter */
            static const char *const delims[] = {"\r\n\r\n", "\n", "ab", "\r\n"};
            const char *d = delims[arg & 3];
            size_t max = 2 + (arg >> 2) * 37 % 260;
            ssize_t r = bufconn_read_until(c, d, buf, max);
            size_t dl = strlen(d), consumed;
            if (r > 0) {
                consumed = (size_t)r;
                if (consumed > max - 1 || consumed < dl || buf[consumed] != '\0' ||
                    memcmp(buf + consumed - dl, d, dl) != 0)
                    abort();
            } else if (r == 0) {
                consumed = 0;
                if (buf[0] != '\0' || s.off != len)
                    abort();
            } else if (r == -EMSGSIZE) {
                consumed = max - 1;
                if (buf[consumed] != '\0')
                    abort();
            } else if (r == -ECONNRESET) {
                consumed = len - s.off; /* EOF: everything left was copied */
                if (consumed == 0 || consumed > max - 1 || buf[consumed] != '\0')
                    abort();
            } else {
                abort();
            }
            expect(&s, buf, consumed);
            break;
        }
        case 7: { /* wait_readable never blocks here; unwrap only when empty */
            if (conn_wait_readable(c, 0) != 0)
                abort();
            struct conn *u = bufconn_unwrap(c);
            if (u != c)
                c = bufconn_new(u, cap); /* c was freed: wrap the inner conn again */
            break;
        }
        }
    }
    /* Drain: everything left must come out in order, then EOF. */
    for (;;) {
        ssize_t r = conn_read(c, buf, sizeof buf);
        if (r < 0)
            abort();
        if (r == 0)
            break;
        expect(&s, buf, (size_t)r);
    }
    if (s.off != len)
        abort();
    conn_close(c);
    return 0;
}
