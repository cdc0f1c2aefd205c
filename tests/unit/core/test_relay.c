/* Unit tests for core/relay (splice pump and fiber path), core/pipe_pool and core/bufpool.
 *
 * Everything runs on one worker over real loopback TCP sockets. A relayed pair is
 *     C <-tcp-> A ==relay== B <-tcp-> S
 * where the test drives the endpoints C and S from fibers. The fiber path is forced by wrapping
 * A and B in a pass-through layer that answers CONN_CTL_FD with -ENOTSUP.
 *
 * cmocka assertions must not run on the worker thread (they longjmp), so fibers record failures
 * with CHECK() and the main thread fails the test after sched_run() returns. A watchdog thread
 * stops the scheduler if a test hangs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/bufpool.h"
#include "core/clock.h"
#include "core/conn.h"
#include "core/crc32.h"
#include "core/fiber.h"
#include "core/pipe_pool.h"
#include "core/relay.h"
#include "core/sched.h"
#include "core/sock.h"
#include "core/xmalloc.h"

/* ---- failure recording (worker side) ------------------------------------------------------ */

static int t_fails;
static char t_msg[1024];

static void t_fail(const char *file, int line, const char *expr)
{
    if (t_fails++ == 0)
        snprintf(t_msg, sizeof t_msg, "%s:%d: check failed: %s", file, line, expr);
}

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            t_fail(__FILE__, __LINE__, #cond);                                                     \
    } while (0)

/* ---- running a body on one worker, with a watchdog ---------------------------------------- */

static void (*t_body)(void);
static pthread_mutex_t wd_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cv = PTHREAD_COND_INITIALIZER;
static bool wd_done;
static volatile int wd_fired;

static void *watchdog_main(void *arg)
{
    int secs = *(int *)arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += secs;
    pthread_mutex_lock(&wd_mu);
    int rc = 0;
    while (!wd_done && rc == 0)
        rc = pthread_cond_timedwait(&wd_cv, &wd_mu, &ts);
    bool fire = !wd_done;
    pthread_mutex_unlock(&wd_mu);
    if (fire) {
        wd_fired = 1;
        sched_stop();
        sched_stop();
    }
    return NULL;
}

static void body_fiber(void *arg, int wid)
{
    (void)arg;
    (void)wid;
    t_body();
    struct relay_worker_stats st;
    relay_worker_stats(&st);
    CHECK(st.pumps == 0);
    CHECK(st.fiber_relays == 0);
    CHECK(st.pipes_in_use == 0);
    CHECK(st.bufs_in_use == 0);
    relay_shutdown_all(); /* nothing should be left; keeps LSan quiet if something was */
    pipe_pool_drain();
    bufpool_drain();
    sched_stop();
}

static void run_body(void (*fn)(void), int timeout_s)
{
    t_fails = 0;
    t_msg[0] = '\0';
    t_body = fn;
    wd_done = false;
    wd_fired = 0;
    pthread_t wd;
    assert_int_equal(pthread_create(&wd, NULL, watchdog_main, &timeout_s), 0);
    assert_int_equal(sched_init(1), 0);
    sched_on_each_worker(body_fiber, NULL);
    assert_int_equal(sched_run(), 0);
    pthread_mutex_lock(&wd_mu);
    wd_done = true;
    pthread_cond_signal(&wd_cv);
    pthread_mutex_unlock(&wd_mu);
    pthread_join(wd, NULL);
    if (wd_fired)
        fail_msg("watchdog: test did not finish in %d s (%s)", timeout_s, t_msg);
    if (t_fails)
        fail_msg("%d failed checks, first: %s", t_fails, t_msg);
}

/* ---- a pass-through layer (forces the fiber path) ----------------------------------------- */

static ssize_t pt_read(struct conn *c, void *buf, size_t n)
{
    conn_sync_deadlines(c);
    return conn_read(c->inner, buf, n);
}

static ssize_t pt_write(struct conn *c, const void *buf, size_t n)
{
    conn_sync_deadlines(c);
    return conn_write(c->inner, buf, n);
}

static int pt_shutdown(struct conn *c)
{
    return conn_shutdown(c->inner);
}

static void pt_close(struct conn *c)
{
    conn_close(c->inner);
    free(c);
}

/* transforming: hides the fd */
static int pt_ctl_hide(struct conn *c, int op, void *arg)
{
    if (op == CONN_CTL_FD)
        return -ENOTSUP;
    return conn_ctl_default(c, op, arg);
}

static int pt_wait_readable(struct conn *c, int64_t deadline)
{
    return conn_wait_readable(c->inner, deadline);
}

static const struct conn_ops pt_ops = {
    .name = "passthrough",
    .read = pt_read,
    .write = pt_write,
    .shutdown = pt_shutdown,
    .close = pt_close,
    .ctl = pt_ctl_hide,
    .wait_readable = pt_wait_readable,
};

/* non-transforming wrapper: forwards CONN_CTL_FD, but is not a conn_sock (not detachable) */
static const struct conn_ops fwd_ops = {
    .name = "forwarding",
    .read = pt_read,
    .write = pt_write,
    .shutdown = pt_shutdown,
    .close = pt_close,
    .ctl = NULL,
    .wait_readable = pt_wait_readable,
};

static struct conn *wrap(struct conn *inner, const struct conn_ops *ops)
{
    struct conn *c = xmalloc(sizeof *c);
    conn_init(c, ops, inner);
    return c;
}

/* ---- sockets ------------------------------------------------------------------------------ */

struct lsn {
    struct sock_listener l;
    struct gaddr addr;
};

static void lsn_open(struct lsn *x)
{
    struct gaddr a;
    int fd = -1;
    CHECK(addr_parse("127.0.0.1:0", &a) == 0);
    CHECK(sock_listen_tcp(&a, false, 4096, &fd) == 0);
    CHECK(sock_listener_open(&x->l, fd) == 0);
    CHECK(sock_listener_addr(&x->l, &x->addr) == 0);
}

/* A connected TCP pair (both conn_sock). */
static void tcp_pair(struct lsn *x, struct conn **dialed, struct conn **accepted)
{
    *dialed = *accepted = NULL;
    CHECK(sock_dial_tcp(&x->addr, deadline_in(5000), dialed) == 0);
    CHECK(sock_accept(&x->l, accepted, deadline_in(5000)) == 0);
}

static void set_linger0(struct conn *c)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    int fd = conn_fd(c);
    CHECK(fd >= 0);
    CHECK(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
}

/* ---- relayed pairs ------------------------------------------------------------------------ */

enum path { PATH_PUMP, PATH_FIBER };

struct rp {
    struct conn *c, *s; /* endpoints driven by the test */
    struct conn *a, *b; /* handed to relay() */
    struct relay_opts o;
    struct relay_stats st;
    int done; /* done callback count */
    int ret;  /* relay() result, -1 before it returned */
    struct fiber_cond cv;
    struct fiber *session; /* valid while the session fiber runs */
    bool session_running;
};

static void rp_done(void *arg, const struct relay_stats *st)
{
    struct rp *p = arg;
    p->st = *st;
    p->done++;
    fiber_cond_broadcast(&p->cv);
}

static void rp_session(void *arg)
{
    struct rp *p = arg;
    p->ret = relay(p->a, p->b, &p->o, rp_done, p);
    CHECK(p->ret == 0 || p->ret == 1);
    if (p->ret == 0)
        CHECK(p->done == 1); /* fiber path: done has run */
    p->session = NULL;
    p->session_running = false;
    fiber_cond_broadcast(&p->cv);
}

/* Build C-A and B-S, then relay A<->B from a session fiber. */
static void rp_setup(struct rp *p, struct lsn *x, enum path path, int64_t idle_ms)
{
    memset(p, 0, sizeof *p);
    fiber_cond_init(&p->cv);
    p->ret = -1;
    p->o.idle_timeout_ms = idle_ms;
    tcp_pair(x, &p->c, &p->a);
    tcp_pair(x, &p->b, &p->s);
    if (path == PATH_FIBER) {
        p->a = wrap(p->a, &pt_ops);
        p->b = wrap(p->b, &pt_ops);
    }
}

static void rp_start(struct rp *p)
{
    p->session_running = true;
    p->session = fiber_spawn(rp_session, p);
    CHECK(p->session != NULL);
}

/* Wait until done has run and the session fiber has returned. */
static bool rp_wait(struct rp *p, int64_t ms)
{
    int64_t dl = deadline_in(ms);
    while (p->done == 0 || p->session_running) {
        if (fiber_cond_wait(&p->cv, dl) < 0)
            break;
    }
    CHECK(p->done == 1);
    CHECK(!p->session_running);
    return p->done == 1;
}

/* ---- endpoint traffic --------------------------------------------------------------------- */

static void fill_prng(uint64_t *state, unsigned char *buf, size_t n)
{
    uint64_t x = *state;
    for (size_t i = 0; i < n; i++) {
        if ((i & 7) == 0) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        buf[i] = (unsigned char)(x >> ((i & 7) * 8));
    }
    *state = x;
}

struct xfer {
    struct conn *c;
    uint64_t total; /* writer: bytes to write */
    uint64_t seed;
    bool shut;  /* writer: half-close when done */
    uint64_t n; /* bytes written / read */
    uint32_t crc;
    int rc; /* last error (reader: 0 = EOF) */
    bool running;
    int *pending;
    struct fiber_cond *cv;
    size_t chunk; /* writer: bytes per write, yielding after each (0: 64 KiB, no yield) */
    int delay_ms; /* reader: sleep this long before the first read */
    int drain_fd; /* writer (with chunk): after each write wait until this fd's receive queue
                   * is empty, i.e. the relay has read the chunk (-1 or 0: don't wait) */
};

static void xfer_end(struct xfer *x)
{
    x->running = false;
    (*x->pending)--;
    fiber_cond_broadcast(x->cv);
}

static void writer_fiber(void *arg)
{
    struct xfer *x = arg;
    size_t bufsz = x->chunk ? x->chunk : 64 * 1024;
    unsigned char *buf = xmalloc(bufsz);
    uint64_t st = x->seed;
    while (x->n < x->total) {
        size_t k = x->total - x->n < bufsz ? (size_t)(x->total - x->n) : bufsz;
        fill_prng(&st, buf, k);
        ssize_t w = conn_write(x->c, buf, k);
        if (w < 0) {
            x->rc = (int)w;
            break;
        }
        x->crc = crc32_ieee_update(x->crc, buf, k);
        x->n += k;
        for (int i = 0; x->chunk && x->drain_fd > 0 && i < 20000; i++) {
            int q = 0; /* wait until the relay has read it: its reads stay small */
            if (ioctl(x->drain_fd, FIONREAD, &q) < 0 || q == 0)
                break;
            fiber_sleep_ms(1);
        }
    }
    if (x->shut && x->rc == 0)
        x->rc = conn_shutdown(x->c);
    free(buf);
    xfer_end(x);
}

static void reader_fiber(void *arg)
{
    struct xfer *x = arg;
    size_t bufsz = 64 * 1024;
    unsigned char *buf = xmalloc(bufsz);
    if (x->delay_ms)
        fiber_sleep_ms(x->delay_ms);
    x->c->rd_deadline = deadline_in(60000);
    for (;;) {
        ssize_t r = conn_read(x->c, buf, bufsz);
        if (r <= 0) {
            x->rc = (int)r;
            break;
        }
        x->crc = crc32_ieee_update(x->crc, buf, (size_t)r);
        x->n += (uint64_t)r;
    }
    free(buf);
    xfer_end(x);
}

static void xfer_spawn(struct xfer *x, void (*fn)(void *), int *pending, struct fiber_cond *cv)
{
    x->running = true;
    x->pending = pending;
    x->cv = cv;
    (*pending)++;
    CHECK(fiber_spawn(fn, x) != NULL);
}

static void xfer_wait(int *pending, struct fiber_cond *cv, int64_t ms)
{
    int64_t dl = deadline_in(ms);
    while (*pending > 0)
        if (fiber_cond_wait(cv, dl) < 0)
            break;
    CHECK(*pending == 0);
}

/* Read exactly n bytes (with a deadline). */
static void read_exact(struct conn *c, void *buf, size_t n)
{
    c->rd_deadline = deadline_in(10000);
    CHECK(conn_read_full(c, buf, n) == (ssize_t)n);
}

/* Read and expect EOF (0) or, if allow_err, an error. Returns the read result. */
static ssize_t read_end(struct conn *c)
{
    char b[16];
    c->rd_deadline = deadline_in(10000);
    return conn_read(c, b, sizeof b);
}

static struct relay_worker_stats wstats(void)
{
    struct relay_worker_stats st;
    relay_worker_stats(&st);
    return st;
}

/* ---- tests: bulk -------------------------------------------------------------------------- */

#define BULK ((uint64_t)64 << 20)

static enum path cur_path;

static void body_bulk(void)
{
    struct lsn x;
    lsn_open(&x);
    struct rp p;
    rp_setup(&p, &x, cur_path, 0);
    rp_start(&p);

    int pending = 0;
    struct fiber_cond cv;
    fiber_cond_init(&cv);
    struct xfer cw = {.c = p.c, .total = BULK, .seed = 0x1234567, .shut = true};
    struct xfer sw = {.c = p.s, .total = BULK, .seed = 0x7654321, .shut = true};
    struct xfer cr = {.c = p.c}, sr = {.c = p.s};
    xfer_spawn(&cw, writer_fiber, &pending, &cv);
    xfer_spawn(&sw, writer_fiber, &pending, &cv);
    xfer_spawn(&cr, reader_fiber, &pending, &cv);
    xfer_spawn(&sr, reader_fiber, &pending, &cv);
    xfer_wait(&pending, &cv, 60000);

    CHECK(cw.rc == 0 && sw.rc == 0);
    CHECK(cr.rc == 0 && sr.rc == 0); /* clean EOF on both ends */
    CHECK(sr.n == BULK && cr.n == BULK);
    CHECK(sr.crc == cw.crc);
    CHECK(cr.crc == sw.crc);

    rp_wait(&p, 10000);
    CHECK(p.ret == (cur_path == PATH_PUMP ? 1 : 0));
    CHECK(p.st.err == 0);
    CHECK(p.st.a_to_b == BULK);
    CHECK(p.st.b_to_a == BULK);
    CHECK(p.st.end_ms >= p.st.start_ms);
    conn_close(p.c);
    conn_close(p.s);
    sock_listener_close(&x.l);
}

/* Small writes against a reader that starts late: the pump copies the small reads, finds the
 * destination full (a partial send parks the rest in the direction's pipe), then the source
 * backs up, a read fills the scratch buffer and the direction switches to splice — every byte
 * in order across those transitions. */
static void body_small_slow(void)
{
    struct lsn x;
    lsn_open(&x);
    struct rp p;
    rp_setup(&p, &x, cur_path, 0);
    /* small socket buffers toward the late reader, so the pump's sends fill up soon */
    int small = 4096;
    CHECK(setsockopt(conn_fd(p.b), SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    CHECK(setsockopt(conn_fd(p.s), SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
    rp_start(&p);
    int pending = 0;
    struct fiber_cond cv;
    fiber_cond_init(&cv);
    const uint64_t total = (uint64_t)256 << 10;
    struct xfer cw = {
        .c = p.c, .total = total, .seed = 42, .shut = true, .chunk = 777, .drain_fd = conn_fd(p.a)};
    struct xfer sw = {.c = p.s,
                      .total = total / 8,
                      .seed = 43,
                      .shut = true,
                      .chunk = 1500,
                      .drain_fd = conn_fd(p.b)};
    struct xfer cr = {.c = p.c, .delay_ms = 150}, sr = {.c = p.s, .delay_ms = 1500};
    xfer_spawn(&cw, writer_fiber, &pending, &cv);
    xfer_spawn(&sw, writer_fiber, &pending, &cv);
    xfer_spawn(&cr, reader_fiber, &pending, &cv);
    xfer_spawn(&sr, reader_fiber, &pending, &cv);
    xfer_wait(&pending, &cv, 60000);
    CHECK(cw.rc == 0 && sw.rc == 0 && cr.rc == 0 && sr.rc == 0);
    CHECK(sr.n == total && sr.crc == cw.crc);
    CHECK(cr.n == total / 8 && cr.crc == sw.crc);
    rp_wait(&p, 10000);
    CHECK(p.st.err == 0 && p.st.a_to_b == total && p.st.b_to_a == total / 8);
    conn_close(p.c);
    conn_close(p.s);
    sock_listener_close(&x.l);
}

static void test_pump_small_slow(void **state)
{
    (void)state;
    cur_path = PATH_PUMP;
    run_body(body_small_slow, 90);
}

static void test_pump_bulk(void **state)
{
    (void)state;
    cur_path = PATH_PUMP;
    run_body(body_bulk, 90);
}

static void test_fiber_bulk(void **state)
{
    (void)state;
    cur_path = PATH_FIBER;
    run_body(body_bulk, 90);
}

/* ---- tests: data already waiting when the relay starts, EOF both ways --------------------- */

static void body_early(void)
{
    struct lsn x;
    lsn_open(&x);
    struct rp p;
    rp_setup(&p, &x, cur_path, 0);
    CHECK(conn_write(p.c, "hello", 5) == 5);
    CHECK(conn_shutdown(p.c) == 0);
    CHECK(conn_write(p.s, "world!", 6) == 6);
    CHECK(conn_shutdown(p.s) == 0);
    fiber_sleep_ms(20); /* let the bytes and FINs land in A's and B's receive queues */
    rp_start(&p);
    char buf[8] = {0};
    read_exact(p.s, buf, 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK(read_end(p.s) == 0);
    read_exact(p.c, buf, 6);
    CHECK(memcmp(buf, "world!", 6) == 0);
    CHECK(read_end(p.c) == 0);
    rp_wait(&p, 5000);
    CHECK(p.st.err == 0 && p.st.a_to_b == 5 && p.st.b_to_a == 6);
    conn_close(p.c);
    conn_close(p.s);
    sock_listener_close(&x.l);
}

static void test_pump_early(void **state)
{
    (void)state;
    cur_path = PATH_PUMP;
    run_body(body_early, 30);
}

static void test_fiber_early(void **state)
{
    (void)state;
    cur_path = PATH_FIBER;
    run_body(body_early, 30);
}

/* ---- tests: half-close both ways ---------------------------------------------------------- */

#define HALF ((uint64_t)1 << 20)

/* `first` shuts its write side; the other end reads EOF, then sends HALF bytes that must arrive
 * in full at `first`; then the other end closes. */
static void half_close_case(enum path path, bool client_first)
{
    struct lsn x;
    lsn_open(&x);
    struct rp p;
    rp_setup(&p, &x, path, 0);
    rp_start(&p);
    struct conn *first = client_first ? p.c : p.s;
    struct conn *other = client_first ? p.s : p.c;

    CHECK(conn_write(first, "x", 1) == 1);
    char b;
    read_exact(other, &b, 1);
    CHECK(conn_shutdown(first) == 0);
    CHECK(read_end(other) == 0); /* the half-close went through */
    fiber_sleep_ms(20);
    CHECK(p.done == 0); /* the other direction is still open */
    struct relay_worker_stats ws = wstats();
    CHECK(ws.pipes_in_use == 0);
    CHECK(ws.bufs_in_use == 0);

    int pending = 0;
    struct fiber_cond cv;
    fiber_cond_init(&cv);
    struct xfer w = {.c = other, .total = HALF, .seed = 99, .shut = false};
    struct xfer r = {.c = first};
    xfer_spawn(&r, reader_fiber, &pending, &cv);
    xfer_spawn(&w, writer_fiber, &pending, &cv);
    /* wait for the writer only, then close the other end entirely */
    int64_t dl = deadline_in(20000);
    while (w.running)
        if (fiber_cond_wait(&cv, dl) < 0)
            break;
    CHECK(w.rc == 0 && w.n == HALF);
    conn_close(other);
    xfer_wait(&pending, &cv, 20000);
    CHECK(r.rc == 0); /* EOF after all the data */
    CHECK(r.n == HALF);
    CHECK(r.crc == w.crc);
    rp_wait(&p, 5000);
    CHECK(p.st.err == 0);
    CHECK(client_first ? (p.st.a_to_b == 1 && p.st.b_to_a == HALF)
                       : (p.st.b_to_a == 1 && p.st.a_to_b == HALF));
    conn_close(first);
    sock_listener_close(&x.l);
}

static void body_half_close(void)
{
    half_close_case(cur_path, true);
    half_close_case(cur_path, false);
}

static void test_pump_half_close(void **state)
{
    (void)state;
    cur_path = PATH_PUMP;
    run_body(body_half_close, 60);
}

static void test_fiber_half_close(void **state)
{
    (void)state;
    cur_path = PATH_FIBER;
    run_body(body_half_close, 60);
}

/* ---- tests: peer reset -------------------------------------------------------------------- */

static void body_reset(void)
{
    struct lsn x;
    lsn_open(&x);
    struct rp p;
    rp_setup(&p, &x, cur_path, 0);
    rp_start(&p);
    char b;
    CHECK(conn_write(p.c, "x", 1) == 1);
    read_exact(p.s, &b, 1);
    CHECK(conn_write(p.s, "y", 1) == 1);
    read_exact(p.c, &b, 1);

    set_linger0(p.c);
    conn_close(p.c); /* RST towards A */
    ssize_t r = read_end(p.s);
    if (cur_path == PATH_PUMP)
        CHECK(r == -ECONNRESET); /* the reset is propagated to S */
    else
        CHECK(r == 0 || r == -ECONNRESET);
    rp_wait(&p, 5000);
    CHECK(p.st.err == -ECONNRESET || p.st.err == -EPIPE);
    CHECK(p.st.a_to_b == 1 && p.st.b_to_a == 1);
    conn_close(p.s);
    sock_listener_close(&x.l);
}

static void test_pump_reset(void **state)
{
    (void)state;
    cur_path = PATH_PUMP;
    run_body(body_reset, 30);
}

static void test_fiber_reset(void **state)
{
    (void)state;
    cur_path = PATH_FIBER;
    run_body(body_reset, 30);
}

/* ---- tests: idle timeout ------------------------------------------------------------------ */

#define IDLE_MS 300

static void body_idle(void)
{
    struct lsn x;
    lsn_open(&x);
    struct rp p;
    rp_setup(&p, &x, cur_path, IDLE_MS);
    rp_start(&p);
    char b;
    /* Activity every 100 ms in alternating directions keeps it alive for 800 ms. */
    for (int i = 0; i < 8; i++) {
        struct conn *from = (i & 1) ? p.s : p.c, *to = (i & 1) ? p.c : p.s;
        CHECK(conn_write(from, "z", 1) == 1);
        read_exact(to, &b, 1);
        fiber_sleep_ms(100);
        CHECK(p.done == 0);
    }
    int64_t last = clock_update();
    /* Then silence: it must end with -ETIMEDOUT about IDLE_MS later, closing both ends. */
    CHECK(read_end(p.c) == 0);
    CHECK(read_end(p.s) == 0);
    rp_wait(&p, 5000);
    CHECK(p.st.err == -ETIMEDOUT);
    CHECK(p.st.end_ms - last >= IDLE_MS - 110); /* last byte moved up to 100 ms before `last` */
    CHECK(p.st.end_ms - last <= IDLE_MS + 1000);
    CHECK(p.st.a_to_b == 4 && p.st.b_to_a == 4);
    conn_close(p.c);
    conn_close(p.s);
    sock_listener_close(&x.l);
}

static void test_pump_idle(void **state)
{
    (void)state;
    cur_path = PATH_PUMP;
    run_body(body_idle, 30);
}

static void test_fiber_idle(void **state)
{
    (void)state;
    cur_path = PATH_FIBER;
    run_body(body_idle, 30);
}

/* ---- tests: many idle pairs --------------------------------------------------------------- */

#define NPAIRS 1000

static void body_many(void)
{
    struct lsn x;
    lsn_open(&x);
    struct rp *ps = xcalloc(NPAIRS, sizeof *ps);
    for (int i = 0; i < NPAIRS; i++) {
        rp_setup(&ps[i], &x, cur_path, 0);
        rp_start(&ps[i]);
    }
    /* One byte each way through every pair: pipes/buffers are taken and must come back. */
    char b;
    for (int i = 0; i < NPAIRS; i++) {
        CHECK(conn_write(ps[i].c, "c", 1) == 1);
        CHECK(conn_write(ps[i].s, "s", 1) == 1);
    }
    for (int i = 0; i < NPAIRS; i++) {
        read_exact(ps[i].s, &b, 1);
        CHECK(b == 'c');
        read_exact(ps[i].c, &b, 1);
        CHECK(b == 's');
    }
    fiber_sleep_ms(10);
    struct relay_worker_stats ws = wstats();
    if (cur_path == PATH_PUMP) {
        CHECK(ws.pumps == NPAIRS);
        CHECK(ws.fiber_relays == 0);
    } else {
        CHECK(ws.pumps == 0);
        CHECK(ws.fiber_relays == NPAIRS);
    }
    CHECK(ws.pipes_in_use == 0); /* idle pairs hold no pipe */
    CHECK(ws.bufs_in_use == 0);  /* ... and no buffer */
    CHECK(ws.pipes_idle <= PIPE_POOL_DEFAULT_MAX_IDLE);
    for (int i = 0; i < NPAIRS; i++)
        CHECK(ps[i].done == 0);

    /* Close every endpoint: every relay ends cleanly (EOF both ways). */
    for (int i = 0; i < NPAIRS; i++) {
        conn_close(ps[i].c);
        conn_close(ps[i].s);
    }
    for (int i = 0; i < NPAIRS; i++) {
        rp_wait(&ps[i], 10000);
        CHECK(ps[i].st.a_to_b == 1 && ps[i].st.b_to_a == 1);
        CHECK(ps[i].st.err == 0 || ps[i].st.err == -ECONNRESET || ps[i].st.err == -EPIPE);
    }
    ws = wstats();
    CHECK(ws.pumps == 0 && ws.fiber_relays == 0);
    CHECK(ws.pipes_in_use == 0);
    CHECK(ws.bufs_in_use == 0);
    free(ps);
    sock_listener_close(&x.l);
}

static void test_pump_many_idle(void **state)
{
    (void)state;
    cur_path = PATH_PUMP;
    run_body(body_many, 90);
}

static void test_fiber_many_idle(void **state)
{
    (void)state;
    cur_path = PATH_FIBER;
    run_body(body_many, 90);
}

/* ---- tests: shutdown_all, cancellation ---------------------------------------------------- */

static void body_shutdown(void)
{
    struct lsn x;
    lsn_open(&x);
    struct rp pump[3], fib[3], cancelled;
    for (int i = 0; i < 3; i++) {
        rp_setup(&pump[i], &x, PATH_PUMP, 0);
        rp_start(&pump[i]);
        rp_setup(&fib[i], &x, PATH_FIBER, 0);
        rp_start(&fib[i]);
    }
    rp_setup(&cancelled, &x, PATH_FIBER, 0);
    rp_start(&cancelled);
    fiber_sleep_ms(20);
    struct relay_worker_stats ws = wstats();
    CHECK(ws.pumps == 3 && ws.fiber_relays == 4);

    /* Cancelling the calling fiber of a fiber-path relay ends it. */
    CHECK(cancelled.session != NULL);
    if (cancelled.session)
        fiber_cancel(cancelled.session);
    rp_wait(&cancelled, 5000);
    CHECK(cancelled.st.err == -ECANCELED);
    CHECK(read_end(cancelled.c) == 0);

    relay_shutdown_all();
    for (int i = 0; i < 3; i++) {
        CHECK(pump[i].done == 1); /* synchronously */
        CHECK(pump[i].st.err == -ECANCELED);
    }
    for (int i = 0; i < 3; i++) {
        rp_wait(&pump[i], 5000);
        rp_wait(&fib[i], 5000);
        CHECK(fib[i].st.err == -ECANCELED);
        CHECK(read_end(pump[i].c) == 0);
        CHECK(read_end(pump[i].s) == 0);
        CHECK(read_end(fib[i].c) == 0);
        CHECK(read_end(fib[i].s) == 0);
        conn_close(pump[i].c);
        conn_close(pump[i].s);
        conn_close(fib[i].c);
        conn_close(fib[i].s);
    }
    conn_close(cancelled.c);
    conn_close(cancelled.s);
    sock_listener_close(&x.l);
}

static void test_shutdown_all(void **state)
{
    (void)state;
    run_body(body_shutdown, 30);
}

/* ---- tests: a wrapper that forwards the fd but is not a bare socket ----------------------- */

static void body_fwd(void)
{
    struct lsn x;
    lsn_open(&x);
    for (int which = 0; which < 2; which++) {
        struct rp p;
        rp_setup(&p, &x, PATH_PUMP, 0);
        if (which == 0)
            p.a = wrap(p.a, &fwd_ops);
        else
            p.b = wrap(p.b, &fwd_ops); /* a is detached first, then given back */
        rp_start(&p);
        char buf[4];
        CHECK(conn_write(p.c, "ping", 4) == 4);
        read_exact(p.s, buf, 4);
        CHECK(memcmp(buf, "ping", 4) == 0);
        CHECK(conn_write(p.s, "pong", 4) == 4);
        read_exact(p.c, buf, 4);
        CHECK(memcmp(buf, "pong", 4) == 0);
        conn_close(p.c);
        conn_close(p.s);
        rp_wait(&p, 5000);
        CHECK(p.ret == 0); /* fiber path */
        CHECK(p.st.a_to_b == 4 && p.st.b_to_a == 4);
    }
    sock_listener_close(&x.l);
}

static void test_fwd_wrapper(void **state)
{
    (void)state;
    run_body(body_fwd, 30);
}

/* ---- tests: unix stream sockets go through the pump too ---------------------------------- */

static void body_unix(void)
{
    int p1[2], p2[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p1) == 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p2) == 0);
    struct rp p;
    memset(&p, 0, sizeof p);
    fiber_cond_init(&p.cv);
    p.ret = -1;
    p.c = conn_sock_new(p1[0]);
    p.a = conn_sock_new(p1[1]);
    p.b = conn_sock_new(p2[0]);
    p.s = conn_sock_new(p2[1]);
    CHECK(p.c && p.a && p.b && p.s);
    rp_start(&p);

    int pending = 0;
    struct fiber_cond cv;
    fiber_cond_init(&cv);
    uint64_t total = (uint64_t)8 << 20;
    struct xfer cw = {.c = p.c, .total = total, .seed = 5, .shut = true};
    struct xfer sw = {.c = p.s, .total = total, .seed = 6, .shut = true};
    struct xfer cr = {.c = p.c}, sr = {.c = p.s};
    xfer_spawn(&cw, writer_fiber, &pending, &cv);
    xfer_spawn(&sw, writer_fiber, &pending, &cv);
    xfer_spawn(&cr, reader_fiber, &pending, &cv);
    xfer_spawn(&sr, reader_fiber, &pending, &cv);
    xfer_wait(&pending, &cv, 30000);
    CHECK(cr.rc == 0 && sr.rc == 0);
    CHECK(sr.n == total && cr.n == total);
    CHECK(sr.crc == cw.crc && cr.crc == sw.crc);
    rp_wait(&p, 5000);
    CHECK(p.ret == 1);
    CHECK(p.st.err == 0 && p.st.a_to_b == total && p.st.b_to_a == total);
    conn_close(p.c);
    conn_close(p.s);
}

static void test_pump_unix(void **state)
{
    (void)state;
    run_body(body_unix, 30);
}

/* ---- pools -------------------------------------------------------------------------------- */

static void test_pipe_pool(void **state)
{
    (void)state;
    struct pipe_pool_stats st;
    pipe_pool_drain();
    pipe_pool_set_max_idle(2);
    struct pipe_pair p[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pipe_pool_get(&p[i]), 0);
        assert_true(p[i].rd >= 0 && p[i].wr >= 0);
    }
    pipe_pool_stats(&st);
    assert_int_equal(st.in_use, 3);
    assert_int_equal(st.idle, 0);
    /* the pipe is non-blocking and sized as configured (best effort: root or under limit) */
    char c = 'q';
    assert_int_equal(write(p[0].wr, &c, 1), 1);
    assert_int_equal(read(p[0].rd, &c, 1), 1);
    assert_int_equal(read(p[0].rd, &c, 1), -1);
    assert_int_equal(errno, EAGAIN);
    for (int i = 0; i < 3; i++)
        pipe_pool_put(&p[i]);
    assert_int_equal(p[0].rd, -1);
    pipe_pool_stats(&st);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.idle, 2); /* capped: the third was closed */
    struct pipe_pair q;
    assert_int_equal(pipe_pool_get(&q), 0); /* reused */
    pipe_pool_stats(&st);
    assert_int_equal(st.idle, 1);
    pipe_pool_discard(&q);
    pipe_pool_drain();
    pipe_pool_stats(&st);
    assert_int_equal(st.idle, 0);
    assert_int_equal(st.in_use, 0);
    pipe_pool_set_max_idle(PIPE_POOL_DEFAULT_MAX_IDLE);
}

static void test_bufpool(void **state)
{
    (void)state;
    struct bufpool_stats st;
    assert_int_equal(bufpool_class_size(1), 4096);
    assert_int_equal(bufpool_class_size(4097), 8192);
    assert_int_equal(bufpool_class_size(16384), 16384);
    assert_int_equal(bufpool_class_size(BUFPOOL_MAX + 1), BUFPOOL_MAX + 1);
    void *a = bufpool_get(16384), *b = bufpool_get(16384);
    memset(a, 1, 16384);
    memset(b, 2, 16384);
    bufpool_put(a, 16384);
    bufpool_stats(&st);
    assert_int_equal(st.in_use, 1);
    assert_int_equal(st.idle, 1);
    void *c = bufpool_get(10000); /* same class: the block comes back */
    assert_ptr_equal(c, a);
    bufpool_put(b, 16384);
    bufpool_put(c, 10000);
    void *big = bufpool_get(BUFPOOL_MAX * 2);
    memset(big, 3, BUFPOOL_MAX * 2);
    bufpool_put(big, BUFPOOL_MAX * 2);
    /* cap: 1 MiB per class of 256 KiB blocks = 4 */
    void *v[8];
    for (int i = 0; i < 8; i++)
        v[i] = bufpool_get(BUFPOOL_MAX);
    for (int i = 0; i < 8; i++)
        bufpool_put(v[i], BUFPOOL_MAX);
    bufpool_stats(&st);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.idle, 2 + 4);
    bufpool_drain();
    bufpool_stats(&st);
    assert_int_equal(st.idle, 0);
    assert_int_equal(st.idle_bytes, 0);
}

int main(void)
{
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipe_pool),
        cmocka_unit_test(test_bufpool),
        cmocka_unit_test(test_pump_early),
        cmocka_unit_test(test_fiber_early),
        cmocka_unit_test(test_pump_bulk),
        cmocka_unit_test(test_pump_small_slow),
        cmocka_unit_test(test_fiber_bulk),
        cmocka_unit_test(test_pump_half_close),
        cmocka_unit_test(test_fiber_half_close),
        cmocka_unit_test(test_pump_reset),
        cmocka_unit_test(test_fiber_reset),
        cmocka_unit_test(test_pump_idle),
        cmocka_unit_test(test_fiber_idle),
        cmocka_unit_test(test_pump_many_idle),
        cmocka_unit_test(test_fiber_many_idle),
        cmocka_unit_test(test_shutdown_all),
        cmocka_unit_test(test_fwd_wrapper),
        cmocka_unit_test(test_pump_unix),
    };
    /* clang-format on */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
