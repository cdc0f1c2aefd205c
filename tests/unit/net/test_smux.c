/* net/smux: byte-exact against the vectors (socks5/mbind-notls: v1 client role; smux/v2-relay-mtcp:
 * v2 server role with window updates), many streams with large transfers both ways (v1, v2 with
 * a small window), half-close, peer death, malformed frames, keepalive, buffer and backlog
 * limits. Sessions run over socketpairs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../core/rt_harness.h"
#include "core/conn.h"
#include "core/sock.h"
#include "net/smux.h"
#include "net/smux_int.h"

static size_t load(const char *name, uint8_t *buf, size_t cap)
{
    const char *dir = getenv("GOST_SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/vectors/%s", dir ? dir : "tests/data/shared", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void pair(struct conn **a, struct conn **b)
{
    int p[2];
    rt_check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p) == 0);
    *a = conn_sock_new(p[0]);
    *b = conn_sock_new(p[1]);
}

static int raw_read(struct conn *c, void *buf, size_t n)
{
    c->rd_deadline = deadline_in(5000);
    return (int)conn_read_full(c, buf, n);
}

static void raw_write(struct conn *c, const void *buf, size_t n)
{
    c->wr_deadline = deadline_in(5000);
    rt_check(conn_write(c, buf, n) == (ssize_t)n);
}

static void frame(uint8_t *p, int ver, int cmd, uint16_t len, uint32_t sid)
{
    p[0] = (uint8_t)ver;
    p[1] = (uint8_t)cmd;
    p[2] = (uint8_t)len;
    p[3] = (uint8_t)(len >> 8);
    for (int i = 0; i < 4; i++)
        p[4 + i] = (uint8_t)(sid >> (8 * i));
}

/* ------------------------------------------------------------------ vectors */

static uint8_t vec_a[256], vec_b[256];
static size_t vec_an, vec_bn;

/* socks5/mbind-notls after the SOCKS5 part: the server is the smux client (v1). */
static void body_vec_mbind(void *arg)
{
    (void)arg;
    struct conn *a, *raw;
    pair(&a, &raw);
    struct smux_session *s = smux_session_new(a, true, NULL);
    struct conn *st = NULL;
    rt_check(smux_open(s, &st) == 0);
    const uint8_t *s2c = vec_a + 12; /* SYN 3, PSH(reply), PSH(ping) */
    uint8_t got[64];
    rt_check(raw_read(raw, got, 8) == 8 && memcmp(got, s2c, 8) == 0);
    /* the stream's first bytes: the SOCKS5 reply as recorded (port included), then ping */
    rt_check(conn_write(st, vec_a + 0x1c, 10) == 10);
    rt_check(conn_write(st, "ping\n", 5) == 5);
    rt_check(raw_read(raw, got, 39 - 8) == 31 && memcmp(got, s2c + 8, 31) == 0);
    raw_write(raw, vec_b + 13, 13); /* PSH sid 3 'pong\n' from the gost client */
    char buf[16] = {0};
    st->rd_deadline = deadline_in(5000);
    rt_check(conn_read(st, buf, sizeof buf) == 5 && memcmp(buf, "pong\n", 5) == 0);
    conn_close(st); /* FIN */
    rt_check(raw_read(raw, got, 8) == 8);
    uint8_t fin[8];
    frame(fin, 1, SMUX_FIN, 0, 3);
    rt_check(memcmp(got, fin, 8) == 0);
    rt_check(!smux_is_closed(s));
    smux_session_close(s);
    conn_close(raw);
    rt_done();
}

static void test_vector_mbind_v1_client(void **state)
{
    (void)state;
    vec_an = load("socks5/mbind-notls.s2c.bin", vec_a, sizeof vec_a);
    vec_bn = load("socks5/mbind-notls.c2s.bin", vec_b, sizeof vec_b);
    assert_int_equal(vec_an, 51);
    assert_int_equal(vec_bn, 26);
    assert_int_equal(rt_run(1, body_vec_mbind, NULL), 0);
}

/* smux/v2-relay-mtcp: the gost server is the smux server (v2). It reads 4 bytes first, which
 * triggers the first window update (consumed 4, window 65536). */
static void body_vec_v2(void *arg)
{
    (void)arg;
    struct conn *a, *raw;
    pair(&a, &raw);
    struct smux_config cfg;
    smux_config_default(&cfg);
    cfg.version = 2;
    struct smux_session *s = smux_session_new(a, false, &cfg);
    raw_write(raw, vec_b, 0x23); /* SYN 3 + PSH(relay request + ping) */
    struct conn *st = NULL;
    rt_check(smux_accept(s, &st, deadline_in(5000)) == 0);
    uint8_t buf[64];
    st->rd_deadline = deadline_in(5000);
    rt_check(conn_read(st, buf, 4) == 4 && memcmp(buf, vec_b + 0x10, 4) == 0);
    uint8_t got[64];
    rt_check(raw_read(raw, got, 16) == 16 && memcmp(got, vec_a, 16) == 0);
    rt_check(conn_read_full(st, buf, 15) == 15 && memcmp(buf, vec_b + 0x14, 15) == 0);
    rt_check(conn_write(st, vec_a + 0x18, 9) == 9);
    rt_check(raw_read(raw, got, 17) == 17 && memcmp(got, vec_a + 0x10, 17) == 0);
    raw_write(raw, vec_b + 0x23, vec_bn - 0x23); /* UPD, NOPs, FIN */
    rt_check(conn_read(st, buf, sizeof buf) == 0);
    rt_check(!smux_is_closed(s));
    conn_close(st);
    smux_session_close(s);
    conn_close(raw);
    rt_done();
}

static void test_vector_v2_server(void **state)
{
    (void)state;
    vec_an = load("smux/v2-relay-mtcp.s2c.bin", vec_a, sizeof vec_a);
    vec_bn = load("smux/v2-relay-mtcp.c2s.bin", vec_b, sizeof vec_b);
    assert_true(vec_an >= 0x21);
    assert_int_equal(vec_bn, 0x53);
    assert_int_equal(rt_run(1, body_vec_v2, NULL), 0);
}

/* ------------------------------------------------------- many streams, echo */

#define NSTREAMS 16
#define XFER     ((size_t)1 << 20)

struct echo_env {
    struct smux_session *cs, *ss;
    int live;
    struct fiber_cond cv;
    size_t total;
};

static uint8_t pat(unsigned seed, size_t i)
{
    return (uint8_t)((i * 131u + seed * 7u + (i >> 11)) & 0xff);
}

static void echo_stream(void *arg)
{
    struct conn *st = arg;
    uint8_t buf[20000];
    for (;;) {
        ssize_t r = conn_read(st, buf, sizeof buf);
        if (r <= 0) {
            rt_check(r == 0);
            break;
        }
        rt_check(conn_write(st, buf, (size_t)r) == r);
    }
    rt_check(conn_shutdown(st) == 0);
    conn_close(st);
}

static void echo_acceptor(void *arg)
{
    struct echo_env *e = arg;
    struct conn *st;
    while (smux_accept(e->ss, &st, DEADLINE_NONE) == 0)
        rt_check(fiber_spawn(echo_stream, st) != NULL);
}

struct writer {
    struct conn *st;
    unsigned seed;
    bool done;
    struct fiber *waiter;
};

static void stream_writer(void *arg)
{
    struct writer *w = arg;
    uint8_t buf[7000];
    size_t off = 0;
    while (off < XFER) {
        size_t n = XFER - off < sizeof buf ? XFER - off : sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = pat(w->seed, off + i);
        rt_check(conn_write(w->st, buf, n) == (ssize_t)n);
        off += n;
    }
    rt_check(conn_shutdown(w->st) == 0);
    w->done = true;
    if (w->waiter)
        fiber_wake(w->waiter);
}

static void stream_client(void *arg)
{
    struct echo_env *e = arg;
    static unsigned seeds;
    struct writer w = {.seed = ++seeds};
    rt_check(smux_open(e->cs, &w.st) == 0);
    if (w.st) {
        rt_check(fiber_spawn(stream_writer, &w) != NULL);
        uint8_t buf[9000];
        size_t off = 0;
        bool ok = true;
        for (;;) {
            ssize_t r = conn_read(w.st, buf, sizeof buf);
            if (r <= 0) {
                rt_check(r == 0);
                break;
            }
            for (ssize_t i = 0; i < r; i++)
                ok = ok && buf[i] == pat(w.seed, off + (size_t)i);
            off += (size_t)r;
        }
        rt_check(ok);
        rt_check(off == XFER);
        e->total += off;
        w.waiter = fiber_self();
        while (!w.done)
            if (fiber_park(DEADLINE_NONE) == -ECANCELED)
                fiber_yield();
        conn_close(w.st);
    }
    if (--e->live == 0)
        fiber_cond_signal(&e->cv);
}

static void body_many(void *arg)
{
    const struct smux_config *cfg = arg;
    struct conn *a, *b;
    pair(&a, &b);
    struct echo_env e = {0};
    e.cs = smux_session_new(a, true, cfg);
    e.ss = smux_session_new(b, false, cfg);
    rt_check(fiber_spawn(echo_acceptor, &e) != NULL);
    e.live = NSTREAMS;
    for (int i = 0; i < NSTREAMS; i++)
        rt_check(fiber_spawn(stream_client, &e) != NULL);
    while (e.live > 0)
        if (fiber_cond_wait(&e.cv, DEADLINE_NONE) < 0)
            goto out;
    rt_check(e.total == NSTREAMS * XFER);
    /* every stream half-closed and closed: the sessions go on */
    fiber_sleep_ms(20);
    rt_check(!smux_is_closed(e.cs) && !smux_is_closed(e.ss));
    rt_check(smux_num_streams(e.cs) == 0 && smux_num_streams(e.ss) == 0);
    e.live = 1;
    rt_check(fiber_spawn(stream_client, &e) != NULL);
    while (e.live > 0)
        if (fiber_cond_wait(&e.cv, DEADLINE_NONE) < 0)
            goto out;
    rt_check(e.total == (NSTREAMS + 1) * XFER);
out:
    smux_session_close(e.cs);
    rt_check(smux_wait_closed(e.ss, deadline_in(5000)) == 0);
    fiber_sleep_ms(10); /* the acceptor leaves */
    smux_session_close(e.ss);
    rt_done();
}

static void test_many_streams_v1(void **state)
{
    (void)state;
    assert_int_equal(rt_run(1, body_many, NULL), 0);
}

static void test_many_streams_v2_small_window(void **state)
{
    (void)state;
    struct smux_config cfg;
    smux_config_default(&cfg);
    cfg.version = 2;
    cfg.max_stream_buf = 8192; /* a small window: writers wait for UPDs */
    /* above NSTREAMS x the 256 KiB initial window: with less, echoing streams can deadlock on
     * the session buffer, in xtaci as here (docs/smux.md) */
    cfg.max_recv_buf = 8u << 20;
    cfg.max_frame = 4096;
    assert_int_equal(rt_run(1, body_many, &cfg), 0);
}

/* --------------------------------------------------------------- peer death */

static void body_peer_death(void *arg)
{
    (void)arg;
    struct conn *a, *raw;
    pair(&a, &raw);
    struct smux_session *s = smux_session_new(a, true, NULL);
    struct conn *st = NULL;
    rt_check(smux_open(s, &st) == 0);
    uint8_t f[8 + 3];
    frame(f, 1, SMUX_PSH, 3, 3);
    memcpy(f + 8, "abc", 3);
    raw_write(raw, f, sizeof f);
    conn_close(raw);
    rt_check(smux_wait_closed(s, deadline_in(5000)) == 0);
    char buf[8];
    st->rd_deadline = deadline_in(5000);
    rt_check(conn_read(st, buf, sizeof buf) == 3); /* what arrived before still reads */
    rt_check(conn_read(st, buf, sizeof buf) == -ECONNRESET);
    rt_check(conn_write(st, "x", 1) == -ECONNRESET);
    struct conn *x = NULL;
    rt_check(smux_open(s, &x) == -ECONNRESET);
    rt_check(smux_accept(s, &x, deadline_in(100)) == -ECONNRESET);
    conn_close(st);
    smux_session_close(s);
    rt_done();
}

static void test_peer_death(void **state)
{
    (void)state;
    assert_int_equal(rt_run(1, body_peer_death, NULL), 0);
}

/* ----------------------------------------------------------- malformed input */

struct bad {
    const char *what;
    uint8_t bytes[16];
    size_t n;
    bool kills;
};

static const struct bad bads[] = {
    {"version 2 frame in v1", {2, 3, 0, 0, 0, 0, 0, 0}, 8, true},
    {"unknown command", {1, 9, 0, 0, 1, 0, 0, 0}, 8, true},
    {"SYN with a payload", {1, 0, 1, 0, 3, 0, 0, 0, 0}, 9, true},
    {"NOP with a payload", {1, 3, 1, 0, 0, 0, 0, 0, 0}, 9, true},
    {"UPD in v1", {1, 4, 8, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, 16, true},
    {"FIN for an unknown stream", {1, 1, 0, 0, 9, 0, 0, 0}, 8, false},
    {"PSH for an unknown stream", {1, 2, 2, 0, 9, 0, 0, 0, 'h', 'i'}, 10, false},
    {"NOP", {1, 3, 0, 0, 0, 0, 0, 0}, 8, false},
};

static void body_bad(void *arg)
{
    const struct bad *b = arg;
    struct conn *a, *raw;
    pair(&a, &raw);
    struct smux_session *s = smux_session_new(a, false, NULL);
    raw_write(raw, b->bytes, b->n);
    int rc = smux_wait_closed(s, deadline_in(b->kills ? 5000 : 200));
    if (rc != (b->kills ? 0 : -ETIMEDOUT))
        fprintf(stderr, "case: %s\n", b->what);
    rt_check(rc == (b->kills ? 0 : -ETIMEDOUT));
    smux_session_close(s);
    conn_close(raw);
    rt_done();
}

static void test_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++)
        assert_int_equal(rt_run(1, body_bad, (void *)&bads[i]), 0);
}

/* ------------------------------------------------------------------ keepalive */

static void body_keepalive(void *arg)
{
    (void)arg;
    struct conn *a, *raw;
    pair(&a, &raw);
    struct smux_config cfg;
    smux_config_default(&cfg);
    cfg.keepalive_ms = 100;
    cfg.keepalive_timeout_ms = 500;
    int64_t t0 = clock_now_ms();
    struct smux_session *s = smux_session_new(a, false, &cfg);
    uint8_t got[8], nop[8];
    frame(nop, 1, SMUX_NOP, 0, 0);
    for (int i = 0; i < 3; i++)
        rt_check(raw_read(raw, got, 8) == 8 && memcmp(got, nop, 8) == 0);
    rt_check(!smux_is_closed(s));
    rt_check(smux_wait_closed(s, deadline_in(5000)) == 0);
    int64_t dt = clock_now_ms() - t0;
    rt_check(dt >= 450 && dt < 2000);
    smux_session_close(s);
    conn_close(raw);
    rt_done();
}

static void test_keepalive(void **state)
{
    (void)state;
    assert_int_equal(rt_run(1, body_keepalive, NULL), 0);
}

/* ------------------------------------------------------------------- limits */

#define FLOOD_FRAMES 64

static void flood_writer(void *arg)
{
    struct conn *raw = arg;
    static uint8_t f[8 + 32768];
    frame(f, 1, SMUX_PSH, 32768, 3);
    memset(f + 8, 'z', 32768);
    for (int i = 0; i < FLOOD_FRAMES; i++) {
        raw->wr_deadline = deadline_in(10000);
        rt_check(conn_write(raw, f, sizeof f) == (ssize_t)sizeof f);
    }
}

static void body_bucket(void *arg)
{
    (void)arg;
    struct conn *a, *raw;
    pair(&a, &raw);
    struct smux_config cfg;
    smux_config_default(&cfg);
    cfg.max_recv_buf = 65536;
    struct smux_session *s = smux_session_new(a, false, &cfg);
    uint8_t syn[8];
    frame(syn, 1, SMUX_SYN, 0, 3);
    raw_write(raw, syn, 8);
    rt_check(fiber_spawn(flood_writer, raw) != NULL);
    fiber_sleep_ms(300);
    rt_check(s->buffered >= 65536 && s->buffered < 65536 + 32768);
    struct conn *st = NULL;
    rt_check(smux_accept(s, &st, deadline_in(1000)) == 0);
    size_t total = 0;
    char buf[16384];
    st->rd_deadline = deadline_in(10000);
    while (total < (size_t)FLOOD_FRAMES * 32768) {
        ssize_t r = conn_read(st, buf, sizeof buf);
        if (r <= 0)
            break;
        total += (size_t)r;
    }
    rt_check(total == (size_t)FLOOD_FRAMES * 32768);
    rt_check(s->buffered == 0);
    conn_close(st);
    smux_session_close(s);
    conn_close(raw);
    rt_done();
}

static void test_receive_buffer_bound(void **state)
{
    (void)state;
    assert_int_equal(rt_run(1, body_bucket, NULL), 0);
}

static void body_backlog(void *arg)
{
    (void)arg;
    struct conn *a, *raw;
    pair(&a, &raw);
    struct smux_session *s = smux_session_new(a, false, NULL);
    static uint8_t syns[8 * (SMUX_ACCEPT_BACKLOG + 1)];
    for (int i = 0; i <= SMUX_ACCEPT_BACKLOG; i++)
        frame(syns + 8 * i, 1, SMUX_SYN, 0, 3 + 2 * (uint32_t)i);
    raw_write(raw, syns, sizeof syns);
    uint8_t got[8], fin[8];
    frame(fin, 1, SMUX_FIN, 0, 3 + 2 * SMUX_ACCEPT_BACKLOG);
    rt_check(raw_read(raw, got, 8) == 8 && memcmp(got, fin, 8) == 0);
    rt_check(!smux_is_closed(s));
    rt_check(smux_num_streams(s) == SMUX_ACCEPT_BACKLOG);
    struct conn *st = NULL;
    rt_check(smux_accept(s, &st, deadline_in(1000)) == 0);
    conn_close(st);
    smux_session_close(s); /* frees the queued ones */
    conn_close(raw);
    rt_done();
}

static void test_accept_backlog(void **state)
{
    (void)state;
    assert_int_equal(rt_run(1, body_backlog, NULL), 0);
}

/* server ids: even from 2; the client's SYN ids are odd from 3 (the vectors) */
static void body_ids(void *arg)
{
    (void)arg;
    struct conn *a, *raw;
    pair(&a, &raw);
    struct smux_session *s = smux_session_new(a, false, NULL);
    struct conn *x = NULL, *y = NULL;
    rt_check(smux_open(s, &x) == 0 && smux_open(s, &y) == 0);
    uint8_t got[16], want[16];
    frame(want, 1, SMUX_SYN, 0, 2);
    frame(want + 8, 1, SMUX_SYN, 0, 4);
    rt_check(raw_read(raw, got, 16) == 16 && memcmp(got, want, 16) == 0);
    conn_close(x);
    conn_close(y);
    smux_session_close(s);
    conn_close(raw);
    rt_done();
}

static void test_server_ids(void **state)
{
    (void)state;
    assert_int_equal(rt_run(1, body_ids, NULL), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_mbind_v1_client),
        cmocka_unit_test(test_vector_v2_server),
        cmocka_unit_test(test_many_streams_v1),
        cmocka_unit_test(test_many_streams_v2_small_window),
        cmocka_unit_test(test_peer_death),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_receive_buffer_bound),
        cmocka_unit_test(test_accept_backlog),
        cmocka_unit_test(test_server_ids),
    };
    /* optional argument: run only the tests whose name contains it */
    struct CMUnitTest sel[sizeof tests / sizeof tests[0]];
    size_t n = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
        if (argc < 2 || strstr(tests[i].name, argv[1]))
            sel[n++] = tests[i];
    return _cmocka_run_group_tests("smux", sel, n, NULL, NULL);
}
