/* Unit tests: the TLS layer over socketpairs in fibers — handshake + echo, ALPN, 4 MiB both
 * ways through the relay with close_notify half-close, probe reads, a garbage-speaking peer, a
 * stalled handshake (eager and lazy), context errors with positions. */
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
#include "config/schema.h"
#include "core/conn.h"
#include "core/relay.h"
#include "core/sock.h"
#include "net/tls.h"

#define DL() (clock_now_ms() + 10000)

static struct tls_server_ctx *g_sctx;
static struct tls_client_ctx *g_cctx;

/* Two connected conns over a unix socketpair (in a fiber on a worker). */
static void conn_pair(struct conn **a, struct conn **b)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        abort();
    *a = conn_sock_new(sv[0]);
    *b = conn_sock_new(sv[1]);
    if (!*a || !*b)
        abort();
}

/* ---- handshake both sides in two fibers ---------------------------------------------------- */

struct hs {
    struct conn *raw;
    struct conn *tls;
    int rc;
    int64_t deadline;
    bool done;
    struct fiber *waiter;
    char err[FIBER_ERR_MAX];
};

static void hs_server_fiber(void *arg)
{
    struct hs *h = arg;
    h->rc = tls_server(h->raw, g_sctx, h->deadline, &h->tls);
    snprintf(h->err, sizeof h->err, "%s", fiber_err());
    h->done = true;
    if (h->waiter)
        fiber_wake(h->waiter);
}

/* Handshake a client and a server tls conn over a fresh socketpair. */
static int tls_pair(struct conn **client, struct conn **server)
{
    struct conn *a, *b;
    conn_pair(&a, &b);
    struct hs h = {.raw = a, .deadline = DL(), .waiter = fiber_self()};
    fiber_spawn(hs_server_fiber, &h);
    int rc = tls_client(b, g_cctx, "example.test", DL(), client);
    while (!h.done)
        fiber_park(DL());
    if (rc < 0 || h.rc < 0) {
        if (rc == 0)
            conn_close(*client);
        if (h.rc == 0)
            conn_close(h.tls);
        return rc < 0 ? rc : h.rc;
    }
    *server = h.tls;
    return 0;
}

static void ctx_setup(const char *alpn)
{
    struct cfg_errs errs;
    cfg_errs_init(&errs);
    struct cfg_tls_options opts = {0};
    char *names[] = {(char *)alpn};
    struct cfg_tls scfg = {0}, ccfg = {0};
    if (alpn) {
        opts.alpn = names;
        opts.n_alpn = 1;
        scfg.options = &opts;
        ccfg.options = &opts;
    }
    assert_int_equal(tls_server_ctx_from_cfg(alpn ? &scfg : NULL, NULL, &g_sctx, &errs), 0);
    assert_int_equal(tls_client_ctx_from_cfg(alpn ? &ccfg : NULL, &g_cctx, &errs), 0);
    cfg_errs_free(&errs);
}

static void ctx_teardown(void)
{
    tls_server_ctx_unref(g_sctx);
    tls_client_ctx_unref(g_cctx);
    g_sctx = NULL;
    g_cctx = NULL;
}

/* ---- echo + ALPN + probe ---------------------------------------------------------------- */

static void echo_body(void *arg)
{
    (void)arg;
    struct conn *c, *s;
    rt_check(tls_pair(&c, &s) == 0);
    if (rt_failures) {
        rt_done();
        return;
    }
    const char *alpn = NULL;
    rt_check(conn_ctl(c, TLS_CTL_ALPN, &alpn) == 0 && strcmp(alpn, "h2") == 0);
    rt_check(conn_ctl(s, TLS_CTL_ALPN, &alpn) == 0 && strcmp(alpn, "h2") == 0);
    int fd = 0;
    rt_check(conn_ctl(c, CONN_CTL_FD, &fd) == -ENOTSUP);
    rt_check(conn_fd(s) == -1);

    /* A probe read (deadline in the past) with nothing there: -ETIMEDOUT, conn still fine. */
    s->rd_deadline = 0;
    char buf[64];
    rt_check(conn_read(s, buf, sizeof buf) == -ETIMEDOUT);
    s->rd_deadline = DL();

    c->wr_deadline = DL();
    rt_check(conn_write(c, "hello", 5) == 5);
    rt_check(conn_wait_readable(s, DL()) == 0);
    ssize_t n = conn_read(s, buf, sizeof buf);
    rt_check(n == 5 && memcmp(buf, "hello", 5) == 0);
    rt_check(conn_write(s, "world!", 6) == 6);
    c->rd_deadline = DL();
    rt_check(conn_read_full(c, buf, 6) == 6 && memcmp(buf, "world!", 6) == 0);

    /* close_notify: the server reads EOF, can still answer, then closes its side too. */
    rt_check(conn_shutdown(c) == 0);
    rt_check(conn_read(s, buf, sizeof buf) == 0);
    rt_check(conn_write(s, "bye", 3) == 3);
    rt_check(conn_shutdown(s) == 0);
    rt_check(conn_read_full(c, buf, 3) == 3 && memcmp(buf, "bye", 3) == 0);
    rt_check(conn_read(c, buf, sizeof buf) == 0);
    rt_check(conn_write(c, "x", 1) == -EPIPE);
    conn_close(c);
    conn_close(s);
    rt_done();
}

static void test_echo_alpn(void **state)
{
    (void)state;
    ctx_setup("h2");
    assert_int_equal(rt_run(1, echo_body, NULL), 0);
    assert_false(rt_timed_out);
    ctx_teardown();
}

/* ---- bulk through the relay ------------------------------------------------------------- */

#define BULK ((size_t)4 << 20)

struct bulk {
    struct conn *client;    /* tls client end */
    struct conn *plain_far; /* the plain end behind the relay */
    uint64_t sum_sent, sum_recv;
    size_t recv;
    int live;
    struct fiber *main;
    bool relay_done;
    struct relay_stats st;
};

static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 131u + (i >> 12));
}

static void bulk_writer(void *arg)
{
    struct bulk *b = arg;
    unsigned char buf[10000];
    size_t off = 0;
    b->client->wr_deadline = DL();
    while (off < BULK) {
        size_t n = BULK - off < sizeof buf ? BULK - off : sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(off + i);
        if (conn_write(b->client, buf, n) != (ssize_t)n)
            break;
        off += n;
    }
    rt_check(off == BULK);
    rt_check(conn_shutdown(b->client) == 0); /* close_notify = half-close */
    if (--b->live == 0)
        fiber_wake(b->main);
}

static void bulk_reader(void *arg)
{
    struct bulk *b = arg;
    unsigned char *buf = malloc(65536);
    b->client->rd_deadline = DL();
    for (;;) {
        ssize_t n = conn_read(b->client, buf, 65536);
        if (n <= 0) {
            rt_check(n == 0);
            break;
        }
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != pattern(b->recv + (size_t)i)) {
                rt_check(!"data corrupted");
                n = 0;
                break;
            }
        b->recv += (size_t)n;
    }
    free(buf);
    if (--b->live == 0)
        fiber_wake(b->main);
}

/* The far end echoes everything and passes the half-close back. */
static void bulk_echo(void *arg)
{
    struct bulk *b = arg;
    unsigned char *buf = malloc(32768);
    b->plain_far->rd_deadline = DL();
    b->plain_far->wr_deadline = DL();
    for (;;) {
        ssize_t n = conn_read(b->plain_far, buf, 32768);
        if (n <= 0)
            break;
        if (conn_write(b->plain_far, buf, (size_t)n) != n)
            break;
    }
    conn_shutdown(b->plain_far);
    free(buf);
    if (--b->live == 0)
        fiber_wake(b->main);
}

static void bulk_relay_done(void *arg, const struct relay_stats *st)
{
    struct bulk *b = arg;
    b->st = *st;
    b->relay_done = true;
}

struct relay_args {
    struct conn *a, *b;
    struct bulk *bk;
};

static void bulk_relay_fiber(void *arg)
{
    struct relay_args *r = arg;
    relay(r->a, r->b, NULL, bulk_relay_done, r->bk);
    if (--r->bk->live == 0)
        fiber_wake(r->bk->main);
}

static void bulk_body(void *arg)
{
    (void)arg;
    struct bulk b = {.main = fiber_self()};
    struct conn *server, *near;
    rt_check(tls_pair(&b.client, &server) == 0);
    conn_pair(&near, &b.plain_far);
    struct relay_args ra = {.a = server, .b = near, .bk = &b};
    b.live = 4;
    fiber_spawn(bulk_relay_fiber, &ra);
    fiber_spawn(bulk_echo, &b);
    fiber_spawn(bulk_reader, &b);
    fiber_spawn(bulk_writer, &b);
    while (b.live > 0)
        if (fiber_park(DL()) == -ETIMEDOUT)
            break;
    rt_check(b.live == 0);
    rt_check(b.recv == BULK);
    rt_check(b.relay_done && b.st.err == 0);
    rt_check(b.st.a_to_b == BULK && b.st.b_to_a == BULK);
    conn_close(b.client);
    conn_close(b.plain_far);
    rt_done();
}

static void test_bulk_relay(void **state)
{
    (void)state;
    ctx_setup(NULL);
    assert_int_equal(rt_run(1, bulk_body, NULL), 0);
    assert_false(rt_timed_out);
    ctx_teardown();
}

/* ---- hostile peers ------------------------------------------------------------------------ */

static void garbage_body(void *arg)
{
    (void)arg;
    struct conn *a, *b;
    conn_pair(&a, &b);
    struct hs h = {.raw = a, .deadline = DL(), .waiter = fiber_self()};
    fiber_spawn(hs_server_fiber, &h);
    const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    b->wr_deadline = DL();
    rt_check(conn_write(b, junk, sizeof junk - 1) == (ssize_t)(sizeof junk - 1));
    while (!h.done)
        fiber_park(DL());
    rt_check(h.rc == -EPROTO);
    rt_check(strstr(h.err, "tls handshake") != NULL);
    /* The peer sees at most an alert, then EOF: never a hang. */
    char buf[256];
    b->rd_deadline = DL();
    ssize_t n, total = 0;
    while ((n = conn_read(b, buf, sizeof buf)) > 0)
        total += n;
    rt_check(n == 0 || n == -ECONNRESET);
    rt_check(total < 64);
    conn_close(b);

    /* A client whose server sends garbage fails too. */
    conn_pair(&a, &b);
    a->wr_deadline = DL();
    rt_check(conn_write(a, "\x16\x03\x01\xff\xff garbage", 14) == 14);
    struct conn *c = NULL;
    rt_check(tls_client(b, g_cctx, NULL, DL(), &c) == -EPROTO && c == NULL);
    conn_close(a);
    rt_done();
}

static void test_garbage_peer(void **state)
{
    (void)state;
    ctx_setup(NULL);
    assert_int_equal(rt_run(1, garbage_body, NULL), 0);
    assert_false(rt_timed_out);
    ctx_teardown();
}

static void stall_body(void *arg)
{
    (void)arg;
    struct conn *a, *b, *out = NULL;
    /* Eager: the deadline bounds the handshake. */
    conn_pair(&a, &b);
    int64_t t0 = clock_update();
    rt_check(tls_server(a, g_sctx, t0 + 200, &out) == -ETIMEDOUT && out == NULL);
    int64_t el = clock_update() - t0;
    rt_check(el >= 150 && el < 3000);
    conn_close(b);

    /* Lazy: probe reads are retryable, then hs_deadline fails the conn for good. */
    conn_pair(&a, &b);
    struct conn *s = tls_server_lazy(a, g_sctx, clock_update() + 200);
    char buf[16];
    s->rd_deadline = 0;
    rt_check(conn_read(s, buf, sizeof buf) == -ETIMEDOUT);
    rt_check(conn_wait_readable(s, DEADLINE_NONE) == 0); /* the handshake failed: readable */
    s->rd_deadline = DEADLINE_NONE;
    rt_check(conn_read(s, buf, sizeof buf) == -ECONNABORTED);
    rt_check(conn_write(s, "x", 1) == -ECONNABORTED);
    conn_close(s);
    conn_close(b);

    /* A write that times out (peer not reading) breaks the conn: later calls fail with
     * -ECONNABORTED, never with a retryable -ETIMEDOUT. */
    struct conn *c2, *s2;
    rt_check(tls_pair(&c2, &s2) == 0);
    size_t big = (size_t)8 << 20;
    char *junk = calloc(1, big);
    c2->wr_deadline = clock_update() + 200;
    rt_check(conn_write(c2, junk, big) == -ETIMEDOUT);
    free(junk);
    c2->rd_deadline = 0;
    rt_check(conn_read(c2, buf, sizeof buf) == -ECONNABORTED);
    c2->wr_deadline = DL();
    rt_check(conn_write(c2, "x", 1) == -ECONNABORTED);
    rt_check(conn_wait_readable(c2, DL()) == 0);
    conn_close(c2);
    conn_close(s2);

    /* A client whose server never answers. */
    conn_pair(&a, &b);
    rt_check(tls_client(b, g_cctx, "x", clock_update() + 100, &out) == -ETIMEDOUT);
    conn_close(a);
    rt_done();
}

static void test_stalled_handshake(void **state)
{
    (void)state;
    ctx_setup(NULL);
    assert_int_equal(rt_run(1, stall_body, NULL), 0);
    assert_false(rt_timed_out);
    ctx_teardown();
}

/* Peer closes the TCP stream in the middle of a record: -ECONNRESET, not EOF. */
static void truncate_body(void *arg)
{
    (void)arg;
    struct conn *c, *s;
    rt_check(tls_pair(&c, &s) == 0);
    /* Forge a truncated application-data record onto the raw stream under s. */
    s->inner->wr_deadline = DL();
    rt_check(conn_write(c->inner,
                        "\x17\x03\x03\x00\x40"
                        "abc",
                        8) == 8);
    conn_shutdown(c->inner);
    char buf[64];
    s->rd_deadline = DL();
    rt_check(conn_read(s, buf, sizeof buf) == -ECONNRESET);
    conn_close(c);
    conn_close(s);
    rt_done();
}

static void test_truncated_record(void **state)
{
    (void)state;
    ctx_setup(NULL);
    assert_int_equal(rt_run(1, truncate_body, NULL), 0);
    assert_false(rt_timed_out);
    ctx_teardown();
}

/* ---- mutated input (a small in-test fuzz) ------------------------------------------------ */

/* An in-memory conn: reads hand out `data` in small chunks then EOF, writes are captured. Never
 * blocks, so the layer never parks on it. */
struct memconn {
    struct conn base;
    const unsigned char *data;
    size_t len, pos, chunk;
    unsigned char out[4096];
    size_t outlen;
};

static ssize_t memconn_read(struct conn *c, void *buf, size_t n)
{
    struct memconn *m = (struct memconn *)c;
    size_t k = m->len - m->pos < m->chunk ? m->len - m->pos : m->chunk;
    if (k > n)
        k = n;
    if (k == 0)
        return 0;
    memcpy(buf, m->data + m->pos, k);
    m->pos += k;
    return (ssize_t)k;
}

static ssize_t memconn_write(struct conn *c, const void *buf, size_t n)
{
    struct memconn *m = (struct memconn *)c;
    size_t k = sizeof m->out - m->outlen < n ? sizeof m->out - m->outlen : n;
    memcpy(m->out + m->outlen, buf, k);
    m->outlen += k;
    return (ssize_t)n;
}

static int memconn_shutdown(struct conn *c)
{
    (void)c;
    return 0;
}

static void memconn_close(struct conn *c)
{
    (void)c; /* caller storage */
}

static int memconn_wait(struct conn *c, int64_t deadline)
{
    (void)c, (void)deadline;
    return 0;
}

static const struct conn_ops memconn_ops = {
    .name = "mem",
    .read = memconn_read,
    .write = memconn_write,
    .shutdown = memconn_shutdown,
    .close = memconn_close,
    .wait_readable = memconn_wait,
};

static void memconn_init(struct memconn *m, const unsigned char *data, size_t len, size_t chunk)
{
    memset(m, 0, sizeof *m);
    conn_init(&m->base, &memconn_ops, NULL);
    m->data = data;
    m->len = len;
    m->chunk = chunk ? chunk : 1;
}

static void mutate_body(void *arg)
{
    (void)arg;
    /* A real ClientHello: run a client against a peer that says nothing. */
    static struct memconn cm;
    memconn_init(&cm, NULL, 0, 1);
    struct conn *out = NULL;
    rt_check(tls_client(&cm.base, g_cctx, "fuzz.example", DL(), &out) == -ECONNRESET);
    rt_check(cm.outlen > 100 && cm.out[0] == 0x16);
    unsigned char hello[4096];
    size_t hlen = cm.outlen;
    memcpy(hello, cm.out, hlen);

    srand(12345);
    unsigned char in[4096];
    for (int i = 0; i < 3000; i++) {
        size_t len;
        if (i % 3 == 0) { /* random bytes, sometimes behind a handshake record header */
            len = (size_t)(rand() % 600);
            for (size_t j = 0; j < len; j++)
                in[j] = (unsigned char)rand();
            if (len > 5 && i % 2)
                memcpy(in, "\x16\x03\x01", 3);
        } else { /* the ClientHello, truncated and with a few flipped bytes */
            len = (size_t)(rand() % (int)(hlen + 1));
            memcpy(in, hello, len);
            for (int f = rand() % 4; f > 0 && len; f--)
                in[rand() % (int)len] ^= (unsigned char)(1u << (rand() % 8));
        }
        static struct memconn m;
        memconn_init(&m, in, len, 1 + (size_t)(rand() % 700));
        int rc = tls_server(&m.base, g_sctx, DL(), &out);
        /* Never a success on garbage or a truncated hello (the peer never finishes); always
         * an error, never a hang (the mock conn cannot block). */
        rt_check(rc == -EPROTO || rc == -ECONNRESET);
        if (rc == 0)
            conn_close(out);
    }
    rt_done();
}

static void test_mutated_input(void **state)
{
    (void)state;
    ctx_setup(NULL);
    assert_int_equal(rt_run(1, mutate_body, NULL), 0);
    assert_false(rt_timed_out);
    ctx_teardown();
}

/* ---- contexts ---------------------------------------------------------------------------- */

static void test_ctx_errors(void **state)
{
    (void)state;
    const char *yaml = "services:\n"
                       "- name: s\n"
                       "  addr: :0\n"
                       "  handler: {type: forward}\n"
                       "  listener:\n"
                       "    type: tls\n"
                       "    tls:\n"
                       "      certFile: /nonexistent/cert.pem\n"
                       "      keyFile: /nonexistent/key.pem\n"
                       "      options:\n"
                       "        minVersion: TLS1.2\n";
    struct cfg_errs errs;
    cfg_errs_init(&errs);
    struct cfg *cfg = NULL;
    assert_int_equal(cfg_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &errs), 0);
    const struct cfg_tls *t = cfg->services[0]->listener->tls;
    struct tls_server_ctx *sctx = NULL;
    assert_int_equal(tls_server_ctx_from_cfg(t, cfg, &sctx, &errs), -EINVAL);
    assert_null(sctx);
    assert_true(errs.n >= 2);
    char msg[512];
    cfg_err_format(&errs.items[0], msg, sizeof msg);
    assert_non_null(strstr(msg, "t.yaml:8:"));
    assert_non_null(strstr(msg, "certFile"));
    cfg_err_format(&errs.items[1], msg, sizeof msg);
    assert_non_null(strstr(msg, "t.yaml:9:"));
    cfg_errs_free(&errs);

    /* Bad option values are positioned too (with a generated certificate). */
    struct cfg_tls_options o = {.min_version = "TLS1.2"};
    struct cfg_tls only_opts = {.options = &o};
    cfg_errs_init(&errs);
    assert_int_equal(tls_server_ctx_from_cfg(&only_opts, NULL, &sctx, &errs), -EINVAL);
    cfg_err_format(&errs.items[0], msg, sizeof msg);
    assert_non_null(strstr(msg, "minVersion"));
    cfg_errs_free(&errs);

    char *bad_suite[] = {"TLS_NOPE"};
    struct cfg_tls_options o2 = {.cipher_suites = bad_suite, .n_cipher_suites = 1};
    struct cfg_tls cl = {.options = &o2};
    struct tls_client_ctx *cctx = NULL;
    cfg_errs_init(&errs);
    assert_int_equal(tls_client_ctx_from_cfg(&cl, &cctx, &errs), -EINVAL);
    assert_int_equal(errs.n, 1);
    cfg_errs_free(&errs);

    /* Go names are accepted. */
    char *good[] = {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "tls_aes_128_gcm_sha256"};
    struct cfg_tls_options o3 = {.cipher_suites = good,
                                 .n_cipher_suites = 2,
                                 .min_version = "VersionTLS12",
                                 .max_version = "versiontls13"};
    struct cfg_tls ok = {.options = &o3, .server_name = "a.example"};
    cfg_errs_init(&errs);
    assert_int_equal(tls_client_ctx_from_cfg(&ok, &cctx, &errs), 0);
    assert_string_equal(tls_client_ctx_server_name(cctx), "a.example");
    tls_client_ctx_unref(cctx);
    cfg_errs_free(&errs);
    cfg_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_alpn),        cmocka_unit_test(test_bulk_relay),
        cmocka_unit_test(test_garbage_peer),     cmocka_unit_test(test_stalled_handshake),
        cmocka_unit_test(test_truncated_record), cmocka_unit_test(test_mutated_input),
        cmocka_unit_test(test_ctx_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
