/* Unit tests: stream sockets — TCP echo with deadlines, 16 MiB transfer, timeouts, refused
 * dial, accept cancel/close, unix sockets, wait_readable, read_full, detach. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/addr.h"
#include "core/conn.h"
#include "core/sock.h"
#include "rt_harness.h"

#define IO_DEADLINE_MS 10000

struct server {
    struct sock_listener l;
    struct gaddr addr;
    void (*handle)(struct conn *c);
    int nconn;
};

/* Listen on 127.0.0.1 port 0 (or a unix path) and learn the address. */
static int server_open_tcp(struct server *s)
{
    struct gaddr a;
    int fd;
    addr_parse("127.0.0.1:0", &a);
    int rc = sock_listen_tcp(&a, false, 0, &fd);
    if (rc < 0)
        return rc;
    rc = sock_listener_open(&s->l, fd);
    if (rc < 0)
        return rc;
    return sock_listener_addr(&s->l, &s->addr);
}

static void (*cur_handle)(struct conn *);

static void server_conn_fiber(void *arg)
{
    cur_handle(arg);
}

/* Accept n connections, each handled in its own fiber by s->handle. */
static void server_fiber(void *arg)
{
    struct server *s = arg;
    cur_handle = s->handle;
    while (s->nconn > 0) {
        struct conn *c;
        int rc = sock_accept(&s->l, &c, deadline_in(IO_DEADLINE_MS));
        if (rc < 0)
            break;
        s->nconn--;
        fiber_spawn(server_conn_fiber, c);
    }
    sock_listener_close(&s->l);
}

/* ---- echo ---- */

static void echo_handle(struct conn *c)
{
    char buf[4096];
    conn_set_deadline(c, deadline_in(IO_DEADLINE_MS), deadline_in(IO_DEADLINE_MS));
    for (;;) {
        ssize_t n = conn_read(c, buf, sizeof buf);
        if (n <= 0)
            break;
        if (conn_write(c, buf, (size_t)n) != n)
            break;
    }
    conn_close(c);
}

static char echo_got[64], echo_local[ADDR_STRLEN], echo_remote[ADDR_STRLEN], srv_addr[64];
static ssize_t echo_eof;
static int echo_fd;
static const char *echo_name;

static void body_echo(void *arg)
{
    struct server s = {.handle = echo_handle, .nconn = 1};
    rt_check(server_open_tcp(&s) == 0);
    addr_format(&s.addr, srv_addr, sizeof srv_addr);
    fiber_spawn(server_fiber, &s);
    struct conn *c;
    rt_check(sock_dial_tcp(&s.addr, deadline_in(IO_DEADLINE_MS), &c) == 0);
    conn_set_deadline(c, deadline_in(IO_DEADLINE_MS), deadline_in(IO_DEADLINE_MS));
    echo_name = c->ops->name;
    echo_fd = conn_fd(c);
    conn_local_str(c, echo_local, sizeof echo_local);
    conn_remote_str(c, echo_remote, sizeof echo_remote);
    int on = 1;
    rt_check(conn_ctl(c, CONN_CTL_NODELAY, &on) == 0);
    rt_check(conn_ctl(c, 9999, NULL) == -ENOTSUP);
    rt_check(conn_write(c, "hello, fiber", 12) == 12);
    rt_check(conn_read_full(c, echo_got, 12) == 12);
    rt_check(conn_shutdown(c) == 0);
    echo_eof = conn_read(c, echo_got + 12, 10); /* server closes after our FIN */
    conn_close(c);
    fiber_sleep_ms(10);
    rt_done();
}

static void test_tcp_echo(void **state)
{
    assert_int_equal(rt_run(1, body_echo, NULL), 0);
    assert_false(rt_timed_out);
    assert_memory_equal(echo_got, "hello, fiber", 12);
    assert_int_equal(echo_eof, 0);
    assert_true(echo_fd >= 0);
    assert_string_equal(echo_name, "tcp");
    assert_string_equal(echo_remote, srv_addr);
    assert_memory_equal(echo_local, "127.0.0.1:", 10);
}

/* ---- 16 MiB ---- */

#define BIG (16u << 20)
static uint64_t big_received, big_sum_rx, big_sum_tx;
static char big_ack[8];

static void big_sink(struct conn *c)
{
    size_t sz = 65536;
    unsigned char *buf = malloc(sz);
    conn_set_deadline(c, deadline_in(IO_DEADLINE_MS), deadline_in(IO_DEADLINE_MS));
    for (;;) {
        ssize_t n = conn_read(c, buf, sz);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            big_sum_rx = big_sum_rx * 31 + buf[i];
        big_received += (uint64_t)n;
    }
    conn_write(c, "RECEIVED", 8);
    free(buf);
    conn_close(c);
}

static void body_big(void *arg)
{
    struct server s = {.handle = big_sink, .nconn = 1};
    rt_check(server_open_tcp(&s) == 0);
    fiber_spawn(server_fiber, &s);
    struct conn *c;
    rt_check(sock_dial_tcp(&s.addr, deadline_in(IO_DEADLINE_MS), &c) == 0);
    conn_set_deadline(c, deadline_in(IO_DEADLINE_MS), deadline_in(IO_DEADLINE_MS));
    size_t chunk = 1 << 20;
    unsigned char *buf = malloc(chunk);
    uint32_t x = 12345;
    for (size_t off = 0; off < BIG; off += chunk) {
        for (size_t i = 0; i < chunk; i++) {
            x = x * 1103515245 + 12345;
            buf[i] = (unsigned char)(x >> 16);
            big_sum_tx = big_sum_tx * 31 + buf[i];
        }
        if (conn_write(c, buf, chunk) != (ssize_t)chunk)
            break;
    }
    free(buf);
    conn_shutdown(c);
    conn_read_full(c, big_ack, 8);
    conn_close(c);
    rt_done();
}

static void test_tcp_16mib(void **state)
{
    big_received = big_sum_rx = big_sum_tx = 0;
    assert_int_equal(rt_run(1, body_big, NULL), 0);
    assert_false(rt_timed_out);
    assert_int_equal(big_received, BIG);
    assert_true(big_sum_rx == big_sum_tx);
    assert_memory_equal(big_ack, "RECEIVED", 8);
}

/* ---- deadlines, refusal, cancel, close ---- */

static void silent_handle(struct conn *c)
{
    char b;
    conn_set_deadline(c, deadline_in(IO_DEADLINE_MS), DEADLINE_NONE);
    conn_read(c, &b, 1); /* until the client closes */
    conn_close(c);
}

static ssize_t rd_timeout_rc;
static int64_t rd_elapsed;
static int refused_rc, accept_cancel_rc, accept_closed_rc, wait_rc[3];
static char refused_err[FIBER_ERR_MAX];
static struct fiber *acceptor;
static struct sock_listener *closing_l;

static void accept_cancelled(void *arg)
{
    struct sock_listener *l = arg;
    struct conn *c;
    acceptor = fiber_self();
    accept_cancel_rc = sock_accept(l, &c, deadline_in(IO_DEADLINE_MS));
    acceptor = NULL;
}

static void accept_closed(void *arg)
{
    struct conn *c;
    accept_closed_rc = sock_accept(closing_l, &c, deadline_in(IO_DEADLINE_MS));
}

static void body_errors(void *arg)
{
    struct server s = {.handle = silent_handle, .nconn = 1};
    rt_check(server_open_tcp(&s) == 0);
    fiber_spawn(server_fiber, &s);
    struct conn *c;
    rt_check(sock_dial_tcp(&s.addr, deadline_in(IO_DEADLINE_MS), &c) == 0);

    /* read deadline */
    char b[4];
    int64_t t0 = clock_update();
    conn_set_deadline(c, deadline_in(50), DEADLINE_NONE);
    rd_timeout_rc = conn_read(c, b, sizeof b);
    rd_elapsed = clock_update() - t0;

    /* wait_readable: nothing yet, then data */
    wait_rc[0] = conn_wait_readable(c, deadline_in(20));
    conn_close(c);

    /* refused: a port nobody listens on */
    struct server dead = {0};
    rt_check(server_open_tcp(&dead) == 0);
    sock_listener_close(&dead.l);
    refused_rc = sock_dial_tcp(&dead.addr, deadline_in(IO_DEADLINE_MS), &c);
    snprintf(refused_err, sizeof refused_err, "%s", fiber_err());

    /* cancel while parked in accept */
    struct server s2 = {0};
    rt_check(server_open_tcp(&s2) == 0);
    fiber_spawn(accept_cancelled, &s2.l);
    fiber_sleep_ms(10);
    if (acceptor)
        fiber_cancel(acceptor);
    fiber_sleep_ms(5);
    /* close the listener under a parked acceptor */
    closing_l = &s2.l;
    fiber_spawn(accept_closed, NULL);
    fiber_sleep_ms(10);
    sock_listener_close(&s2.l);
    fiber_sleep_ms(10);
    rt_done();
}

static void test_errors(void **state)
{
    assert_int_equal(rt_run(1, body_errors, NULL), 0);
    assert_false(rt_timed_out);
    assert_int_equal(rd_timeout_rc, -ETIMEDOUT);
    assert_true(rd_elapsed >= 49 && rd_elapsed < 2000);
    assert_int_equal(wait_rc[0], -ETIMEDOUT);
    assert_int_equal(refused_rc, -ECONNREFUSED);
    assert_non_null(strstr(refused_err, "dial tcp 127.0.0.1:"));
    assert_non_null(strstr(refused_err, "refused"));
    assert_int_equal(accept_cancel_rc, -ECANCELED);
    assert_int_equal(accept_closed_rc, -EBADF);
}

/* ---- wait_readable, read_full, concurrent read + write, detach ---- */

static void burst_handle(struct conn *c)
{
    conn_set_deadline(c, deadline_in(IO_DEADLINE_MS), deadline_in(IO_DEADLINE_MS));
    char buf[8];
    conn_read_full(c, buf, 1); /* wait for the go */
    conn_write(c, "abc", 3);
    conn_read_full(c, buf, 1);
    conn_write(c, "de", 2); /* then EOF */
    conn_close(c);
}

static int wr_rcs[7];
static ssize_t full_rc;
static int detach_fd;

static void body_wait(void *arg)
{
    struct server s = {.handle = burst_handle, .nconn = 1};
    rt_check(server_open_tcp(&s) == 0);
    fiber_spawn(server_fiber, &s);
    struct conn *c;
    rt_check(sock_dial_tcp(&s.addr, deadline_in(IO_DEADLINE_MS), &c) == 0);
    conn_set_deadline(c, deadline_in(IO_DEADLINE_MS), deadline_in(IO_DEADLINE_MS));
    wr_rcs[0] = conn_wait_readable(c, deadline_in(20)); /* -ETIMEDOUT */
    conn_write(c, "g", 1);
    wr_rcs[1] = conn_wait_readable(c, deadline_in(IO_DEADLINE_MS)); /* 0 */
    char buf[8];
    wr_rcs[2] = (int)conn_read(c, buf, sizeof buf); /* 3 (maybe fewer) */
    if (wr_rcs[2] < 3)
        conn_read_full(c, buf + wr_rcs[2], (size_t)(3 - wr_rcs[2]));
    wr_rcs[3] = conn_wait_readable(c, deadline_in(20)); /* drained: -ETIMEDOUT */
    conn_write(c, "g", 1);
    full_rc = conn_read_full(c, buf, 5);                /* only 2 come, then EOF */
    wr_rcs[4] = conn_wait_readable(c, deadline_in(20)); /* EOF pending: 0 */
    conn_close(c);

    /* take: the fd and its registration survive the conn in another iofd */
    struct server s2 = {.handle = silent_handle, .nconn = 1};
    rt_check(server_open_tcp(&s2) == 0);
    fiber_spawn(server_fiber, &s2);
    rt_check(sock_dial_tcp(&s2.addr, deadline_in(IO_DEADLINE_MS), &c) == 0);
    struct iofd moved;
    rt_check(conn_sock_take(c, &moved) == 0);
    detach_fd = moved.fd;
    struct gaddr peer;
    socklen_t len = sizeof peer.ss;
    wr_rcs[5] = getpeername(detach_fd, (struct sockaddr *)&peer.ss, &len);
    wr_rcs[6] = iofd_wait(&moved, IOFD_WRITE, deadline_in(IO_DEADLINE_MS)); /* 0 */
    iofd_close(&moved);
    fiber_sleep_ms(10);
    rt_done();
}

static void test_wait_readable(void **state)
{
    assert_int_equal(rt_run(1, body_wait, NULL), 0);
    assert_false(rt_timed_out);
    assert_int_equal(wr_rcs[0], -ETIMEDOUT);
    assert_int_equal(wr_rcs[1], 0);
    assert_true(wr_rcs[2] >= 1 && wr_rcs[2] <= 3);
    assert_int_equal(wr_rcs[3], -ETIMEDOUT);
    assert_int_equal(full_rc, -ECONNRESET);
    assert_int_equal(wr_rcs[4], 0);
    assert_true(detach_fd >= 0);
    assert_int_equal(wr_rcs[5], 0);
    assert_int_equal(wr_rcs[6], 0);
}

/* ---- unix ---- */

static char unix_got[8], unix_name[8];
static int unix_rc[4];
static char unix_path[64];

static void body_unix(void *arg)
{
    struct server s = {.handle = echo_handle, .nconn = 2};
    int fd = sock_listen_unix(unix_path, 0600);
    rt_check(fd >= 0);
    rt_check(sock_listener_open(&s.l, fd) == 0);
    fiber_spawn(server_fiber, &s);
    struct conn *c;
    unix_rc[0] = sock_dial_unix(unix_path, deadline_in(IO_DEADLINE_MS), &c);
    if (unix_rc[0] == 0) {
        conn_set_deadline(c, deadline_in(IO_DEADLINE_MS), deadline_in(IO_DEADLINE_MS));
        snprintf(unix_name, sizeof unix_name, "%s", c->ops->name);
        conn_write(c, "unix", 4);
        conn_read_full(c, unix_got, 4);
        conn_close(c);
    }
    /* a second listener on the live path is refused */
    unix_rc[1] = sock_listen_unix(unix_path, 0);
    /* abstract namespace */
    char abs[64];
    snprintf(abs, sizeof abs, "@gost-test-%d", (int)getpid());
    fd = sock_listen_unix(abs, 0);
    rt_check(fd >= 0);
    struct sock_listener la;
    rt_check(sock_listener_open(&la, fd) == 0);
    unix_rc[2] = sock_dial_unix(abs, deadline_in(IO_DEADLINE_MS), &c);
    if (unix_rc[2] == 0)
        conn_close(c);
    sock_listener_close(&la);
    unix_rc[3] = sock_dial_unix("/nonexistent/dir/sock", deadline_in(100), &c);
    fiber_sleep_ms(10);
    rt_done();
}

static void test_unix(void **state)
{
    snprintf(unix_path, sizeof unix_path, "/tmp/gost-test-%d.sock", (int)getpid());
    /* a stale socket file from a dead listener is replaced */
    int sfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct gaddr ua;
    addr_from_unix(unix_path, &ua);
    unlink(unix_path);
    assert_int_equal(bind(sfd, (struct sockaddr *)&ua.ss, ua.len), 0);
    close(sfd);
    assert_int_equal(rt_run(1, body_unix, NULL), 0);
    assert_false(rt_timed_out);
    struct stat st;
    assert_int_equal(stat(unix_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    unlink(unix_path);
    assert_int_equal(unix_rc[0], 0);
    assert_memory_equal(unix_got, "unix", 4);
    assert_string_equal(unix_name, "unix");
    assert_int_equal(unix_rc[1], -EADDRINUSE);
    assert_int_equal(unix_rc[2], 0);
    assert_int_equal(unix_rc[3], -ENOENT);
}

/* ---- two workers, one SO_REUSEPORT listener each ---- */

#define RP_CONNS 20
static int rp_fds[2];
static struct sock_listener rp_l[2];
static struct gaddr rp_addr;
static int rp_ok, rp_accepted[2];
static struct fiber *rp_acceptor[2];

static void rp_echo(void *arg)
{
    echo_handle(arg);
}

static void rp_accept_loop(void *arg, int wid)
{
    if (sock_listener_open(&rp_l[wid], rp_fds[wid]) < 0)
        return;
    rp_acceptor[wid] = fiber_self();
    for (;;) {
        struct conn *c;
        if (sock_accept(&rp_l[wid], &c, deadline_in(IO_DEADLINE_MS)) < 0)
            break;
        rp_accepted[wid]++;
        fiber_spawn(rp_echo, c);
    }
    rp_acceptor[wid] = NULL;
    sock_listener_close(&rp_l[wid]);
}

static void rp_stop_hook(void *arg)
{
    int wid = sched_worker_id();
    if (rp_acceptor[wid])
        fiber_cancel(rp_acceptor[wid]);
}

static void rp_client(void *arg)
{
    struct conn *c;
    char buf[4];
    if (sock_dial_tcp(&rp_addr, deadline_in(IO_DEADLINE_MS), &c) < 0)
        return;
    conn_set_deadline(c, deadline_in(IO_DEADLINE_MS), deadline_in(IO_DEADLINE_MS));
    if (conn_write(c, "ping", 4) == 4 && conn_read_full(c, buf, 4) == 4 &&
        memcmp(buf, "ping", 4) == 0)
        rp_ok++;
    conn_close(c);
}

static void body_reuseport(void *arg)
{
    for (int i = 0; i < RP_CONNS; i++)
        fiber_spawn(rp_client, NULL);
    for (int i = 0; i < 1000 && rp_ok < RP_CONNS; i++)
        fiber_sleep_ms(5);
    rt_done();
}

static void test_reuseport_two_workers(void **state)
{
    struct gaddr a;
    addr_parse("127.0.0.1:0", &a);
    assert_int_equal(sock_listen_tcp(&a, true, 0, &rp_fds[0]), 0);
    socklen_t len = sizeof rp_addr.ss;
    getsockname(rp_fds[0], (struct sockaddr *)&rp_addr.ss, &len);
    rp_addr.len = len;
    assert_int_equal(sock_listen_tcp(&rp_addr, true, 0, &rp_fds[1]), 0);
    assert_int_equal(sched_init(2), 0);
    sched_on_stop(rp_stop_hook, NULL);
    sched_on_each_worker(rp_accept_loop, NULL);
    rt_body = body_reuseport;
    sched_post(0, rt_start, NULL);
    assert_int_equal(sched_run(), 0);
    assert_false(rt_timed_out);
    assert_int_equal(rp_ok, RP_CONNS);
    assert_int_equal(rp_accepted[0] + rp_accepted[1], RP_CONNS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_echo), cmocka_unit_test(test_tcp_16mib),
        cmocka_unit_test(test_errors),   cmocka_unit_test(test_wait_readable),
        cmocka_unit_test(test_unix),     cmocka_unit_test(test_reuseport_two_workers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
