/* Unit tests: net/bufconn (peek, consume, read_until/read_line limits, EOF, deadlines, ctl FD,
 * unwrap) and prefixconn, over a unix socketpair driven from fibers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../core/rt_harness.h"
#include "core/conn.h"
#include "core/sock.h"
#include "net/bufconn.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* A connected pair: `a` is wrapped by the code under test, `b` is the test's peer. */
struct pair {
    struct conn *a, *b;
    int afd;
};

static bool pair_open(struct pair *p)
{
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
        return false;
    p->afd = fds[0];
    p->a = conn_sock_new(fds[0]);
    p->b = conn_sock_new(fds[1]);
    return p->a && p->b;
}

/* A writer fiber: sends chunks with a pause before each, then optionally half-closes. */
struct writer {
    struct conn *c;
    const char *chunks[8];
    int pause_ms;
    bool shut;
    bool done;
};

static void writer_fiber(void *arg)
{
    struct writer *w = arg;
    for (size_t i = 0; i < 8 && w->chunks[i]; i++) {
        if (w->pause_ms)
            fiber_sleep_ms(w->pause_ms);
        size_t n = strlen(w->chunks[i]);
        rt_check(conn_write(w->c, w->chunks[i], n) == (ssize_t)n);
    }
    if (w->shut)
        rt_check(conn_shutdown(w->c) == 0);
    w->done = true;
}

static void writer_wait(struct writer *w)
{
    for (int i = 0; i < 1000 && !w->done; i++)
        fiber_sleep_ms(2);
    rt_check(w->done);
}

static void send_str(struct conn *c, const char *s)
{
    rt_check(conn_write(c, s, strlen(s)) == (ssize_t)strlen(s));
}

/* Read exactly strlen(want) bytes from c and compare. */
static void expect_read(struct conn *c, const char *want)
{
    char buf[256];
    size_t n = strlen(want);
    rt_check(n < sizeof buf);
    rt_check(conn_read_full(c, buf, n) == (ssize_t)n);
    rt_check(memcmp(buf, want, n) == 0);
}

static void run(void (*body)(void *))
{
    int rc = rt_run(1, body, NULL);
    assert_false(rt_timed_out);
    assert_int_equal(rc, 0);
}

/* ---- peek / consume / read ---------------------------------------------------------------- */

static void body_peek_basic(void *arg)
{
    struct pair p = {0};
    rt_check(pair_open(&p));
    struct conn *c = bufconn_new(p.a, 64);
    rt_check(bufconn_is(c) && !bufconn_is(p.b));
    send_str(p.b, "hello world");
    const unsigned char *d;
    ssize_t n = bufconn_peek(c, 5, &d);
    rt_check(n >= 5 && memcmp(d, "hello", 5) == 0);
    /* Peeking again consumes nothing. */
    n = bufconn_peek(c, 5, &d);
    rt_check(n >= 5 && memcmp(d, "hello", 5) == 0);
    rt_check(bufconn_buffered(c) == (size_t)n);
    rt_check(bufconn_consume(c, 2) == 0);
    rt_check(bufconn_consume(c, 1000) == -EINVAL);
    /* A read returns buffered bytes only (no extra inner read). */
    char buf[64];
    ssize_t r = conn_read(c, buf, 3);
    rt_check(r == 3 && memcmp(buf, "llo", 3) == 0);
    expect_read(c, " world");
    rt_check(bufconn_buffered(c) == 0);
    /* Pass-through once drained. */
    send_str(p.b, "more");
    expect_read(c, "more");
    conn_close(c);
    conn_close(p.b);
    rt_done();
}

static void test_peek_basic(void **state)
{
    run(body_peek_basic);
}

/* peek waits for n bytes arriving in several pieces, compacting the buffer on the way. */
static void body_peek_waits(void *arg)
{
    struct pair p = {0};
    rt_check(pair_open(&p));
    struct conn *c = bufconn_new(p.a, 8);
    struct writer w = {.c = p.b, .chunks = {"ab", "cd", "efgh", "ijklmnop"}, .pause_ms = 5};
    fiber_spawn(writer_fiber, &w);
    const unsigned char *d;
    ssize_t n = bufconn_peek(c, 3, &d);
    rt_check(n >= 3 && memcmp(d, "abc", 3) == 0);
    rt_check(bufconn_consume(c, 3) == 0);
    /* 5 bytes left to fill from off 3: the buffer must compact to hold a full 8. */
    n = bufconn_peek(c, 8, &d);
    rt_check(n == 8 && memcmp(d, "defghijk", 8) == 0);
    rt_check(bufconn_peek(c, 9, &d) == -EINVAL);
    expect_read(c, "defghijklmnop");
    writer_wait(&w);
    conn_close(c);
    conn_close(p.b);
    rt_done();
}

static void test_peek_waits(void **state)
{
    run(body_peek_waits);
}

/* EOF in the middle of a peek: the short count is returned, stays sticky, then reads drain it
 * and report EOF. */
static void body_peek_eof(void *arg)
{
    struct pair p = {0};
    rt_check(pair_open(&p));
    struct conn *c = bufconn_new(p.a, 32);
    struct writer w = {.c = p.b, .chunks = {"xyz"}, .pause_ms = 5, .shut = true};
    fiber_spawn(writer_fiber, &w);
    const unsigned char *d;
    ssize_t n = bufconn_peek(c, 10, &d);
    rt_check(n == 3 && memcmp(d, "xyz", 3) == 0);
    rt_check(bufconn_peek(c, 10, &d) == 3);
    /* wait_readable and ctl FD see the pending bytes / EOF. */
    rt_check(conn_wait_readable(c, clock_now_ms()) == 0);
    rt_check(conn_fd(c) == -1);
    char buf[16];
    rt_check(conn_read(c, buf, sizeof buf) == 3);
    rt_check(conn_read(c, buf, sizeof buf) == 0);
    rt_check(conn_read(c, buf, sizeof buf) == 0);
    /* EOF pending: unwrap keeps the layer. */
    rt_check(bufconn_unwrap(c) == c);
    /* A peek on an empty stream at EOF. */
    rt_check(bufconn_peek(c, 1, &d) == 0);
    writer_wait(&w);
    conn_close(c);
    conn_close(p.b);
    rt_done();
}

static void test_peek_eof(void **state)
{
    run(body_peek_eof);
}

/* Deadlines of the layer apply to the inner reads. */
static void body_peek_deadline(void *arg)
{
    struct pair p = {0};
    rt_check(pair_open(&p));
    struct conn *c = bufconn_new(p.a, 32);
    conn_set_deadline(c, deadline_in(30), DEADLINE_NONE);
    const unsigned char *d;
    rt_check(bufconn_peek(c, 1, &d) == -ETIMEDOUT);
    char line[32];
    conn_set_deadline(c, deadline_in(30), DEADLINE_NONE);
    rt_check(bufconn_read_line(c, line, sizeof line) == -ETIMEDOUT);
    /* Nothing buffered: wait_readable goes to the inner conn and times out too. */
    rt_check(conn_wait_readable(c, deadline_in(20)) == -ETIMEDOUT);
    conn_close(c);
    conn_close(p.b);
    rt_done();
}

static void test_peek_deadline(void **state)
{
    run(body_peek_deadline);
}

/* ---- read_until / read_line ------------------------------------------------------------- */

static void body_read_until(void *arg)
{
    struct pair p = {0};
    rt_check(pair_open(&p));
    /* A small cap: the head is longer than the buffer and the delimiter spans writes. */
    struct conn *c = bufconn_new(p.a, 8);
    struct writer w = {
        .c = p.b, .chunks = {"GET / HTTP/1.1\r\nHost: x\r", "\n\r", "\nBODY"}, .pause_ms = 5};
    fiber_spawn(writer_fiber, &w);
    char head[128];
    const char *want = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    ssize_t n = bufconn_read_until(c, "\r\n\r\n", head, sizeof head);
    rt_check(n == (ssize_t)strlen(want) && strcmp(head, want) == 0);
    expect_read(c, "BODY");
    writer_wait(&w);

    /* Lines, with the rest left buffered. */
    send_str(p.b, "one\ntwo\nthr");
    char line[16];
    rt_check(bufconn_read_line(c, line, sizeof line) == 4 && strcmp(line, "one\n") == 0);
    rt_check(bufconn_read_line(c, line, sizeof line) == 4 && strcmp(line, "two\n") == 0);
    /* EOF after a partial line. */
    rt_check(conn_shutdown(p.b) == 0);
    rt_check(bufconn_read_line(c, line, sizeof line) == -ECONNRESET && strcmp(line, "thr") == 0);
    /* EOF before any byte: clean end. */
    rt_check(bufconn_read_line(c, line, sizeof line) == 0 && line[0] == '\0');
    conn_close(c);
    conn_close(p.b);
    rt_done();
}

static void test_read_until(void **state)
{
    run(body_read_until);
}

static void body_read_until_limit(void *arg)
{
    struct pair p = {0};
    rt_check(pair_open(&p));
    struct conn *c = bufconn_new(p.a, 16);
    char big[101];
    memset(big, 'A', 100);
    big[100] = '\0';
    send_str(p.b, big);
    char head[50];
    rt_check(bufconn_read_until(c, "\r\n\r\n", head, sizeof head) == -EMSGSIZE);
    rt_check(strlen(head) == 49);
    /* Exactly max - 1 bytes consumed: 51 'A' remain. */
    char rest[51];
    rt_check(conn_read_full(c, rest, 51) == 51 && rest[0] == 'A' && rest[50] == 'A');

    /* A head that fits exactly in max - 1 bytes passes; one byte less fails. */
    send_str(p.b, "abc\r\n\r\n");
    char exact[8];
    rt_check(bufconn_read_until(c, "\r\n\r\n", exact, sizeof exact) == 7);
    send_str(p.b, "abc\r\n\r\n");
    char small[7];
    rt_check(bufconn_read_until(c, "\r\n\r\n", small, sizeof small) == -EMSGSIZE);
    expect_read(c, "\n");
    /* A partial delimiter match that fails ("\r\n\rX") is not a delimiter. */
    send_str(p.b, "a\r\n\rX\r\n\r\n");
    char h2[32];
    rt_check(bufconn_read_until(c, "\r\n\r\n", h2, sizeof h2) == 9 &&
             strcmp(h2, "a\r\n\rX\r\n\r\n") == 0);
    conn_close(c);
    conn_close(p.b);
    rt_done();
}

static void test_read_until_limit(void **state)
{
    run(body_read_until_limit);
}

/* ---- ctl, wait_readable, unwrap ----------------------------------------------------------- */

static void body_ctl_unwrap(void *arg)
{
    struct pair p = {0};
    rt_check(pair_open(&p));
    struct conn *c = bufconn_new(p.a, 16);
    /* Empty buffer: FD forwards to the socket. */
    rt_check(conn_fd(c) == p.afd);
    send_str(p.b, "12345");
    const unsigned char *d;
    rt_check(bufconn_peek(c, 5, &d) == 5);
    rt_check(conn_fd(c) == -1);
    rt_check(conn_ctl(c, CONN_CTL_FD, &(int){0}) == -ENOTSUP);
    /* Buffered bytes: wait_readable returns at once even with an expired deadline. */
    rt_check(conn_wait_readable(c, clock_now_ms() - 1) == 0);
    /* Other ctls go through. */
    rt_check(conn_ctl(c, CONN_CTL_NODELAY, &(int){1}) ==
             conn_ctl(p.a, CONN_CTL_NODELAY, &(int){1}));
    /* Unwrap refuses while bytes are buffered. */
    rt_check(bufconn_unwrap(c) == c);
    expect_read(c, "12345");
    rt_check(conn_fd(c) == p.afd);
    /* Write/shutdown pass through. */
    send_str(c, "back");
    expect_read(p.b, "back");
    conn_set_deadline(c, 1234, 5678);
    struct conn *in = bufconn_unwrap(c);
    rt_check(in == p.a);
    rt_check(in->rd_deadline == 1234 && in->wr_deadline == 5678);
    conn_set_deadline(in, DEADLINE_NONE, DEADLINE_NONE);
    send_str(p.b, "z");
    expect_read(in, "z");
    conn_close(in);
    conn_close(p.b);
    rt_done();
}

static void test_ctl_unwrap(void **state)
{
    run(body_ctl_unwrap);
}

/* ---- prefixconn --------------------------------------------------------------------------- */

static void body_prefix(void *arg)
{
    struct pair p = {0};
    rt_check(pair_open(&p));
    struct conn *c = prefixconn_new(p.a, "abc", 3);
    rt_check(bufconn_is(c) && bufconn_buffered(c) == 3);
    rt_check(conn_fd(c) == -1);
    send_str(p.b, "def");
    char buf[16];
    ssize_t r = conn_read(c, buf, sizeof buf);
    rt_check(r == 3 && memcmp(buf, "abc", 3) == 0);
    expect_read(c, "def");
    rt_check(conn_fd(c) == p.afd);
    struct conn *in = bufconn_unwrap(c);
    rt_check(in == p.a);

    /* A zero-length prefix is still a bufconn and unwraps at once. */
    c = prefixconn_new(in, NULL, 0);
    rt_check(bufconn_is(c) && bufconn_buffered(c) == 0);
    /* Peek on a prefixconn, cap = max(n,1). */
    send_str(p.b, "q");
    const unsigned char *d;
    rt_check(bufconn_peek(c, 1, &d) == 1 && d[0] == 'q');
    rt_check(bufconn_peek(c, 2, &d) == -EINVAL);
    expect_read(c, "q");
    in = bufconn_unwrap(c);
    rt_check(in == p.a);

    /* The head replay use: a line read elsewhere, put back in front of the stream. */
    c = prefixconn_new(in, "GET / HTTP/1.1\r\n", 16);
    send_str(p.b, "Host: h\r\n\r\n");
    char head[64];
    rt_check(bufconn_read_until(c, "\r\n\r\n", head, sizeof head) == 27 &&
             strcmp(head, "GET / HTTP/1.1\r\nHost: h\r\n\r\n") == 0);
    conn_close(c);
    conn_close(p.b);
    rt_done();
}

static void test_prefix(void **state)
{
    run(body_prefix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peek_basic), cmocka_unit_test(test_peek_waits),
        cmocka_unit_test(test_peek_eof),   cmocka_unit_test(test_peek_deadline),
        cmocka_unit_test(test_read_until), cmocka_unit_test(test_read_until_limit),
        cmocka_unit_test(test_ctl_unwrap), cmocka_unit_test(test_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
