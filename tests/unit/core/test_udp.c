/* Unit tests: UDP — pconn listen/recvfrom/sendto, message-preserving udp_dial conn, 1-byte and
 * 65000-byte datagrams, empty datagrams, deadlines, size limit. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "core/addr.h"
#include "core/pconn.h"
#include "rt_harness.h"

#define IO_MS 5000

static int echoed;

/* Echo every datagram back to its sender until a datagram "q". */
static void udp_echo(void *arg)
{
    struct pconn *pc = arg;
    unsigned char *buf = malloc(PCONN_MAX_DGRAM);
    pconn_set_deadline(pc, deadline_in(IO_MS), deadline_in(IO_MS));
    for (;;) {
        struct gaddr from;
        ssize_t n = pconn_recvfrom(pc, buf, PCONN_MAX_DGRAM, &from);
        if (n < 0 || (n == 1 && buf[0] == 'q'))
            break;
        if (pconn_sendto(pc, buf, (size_t)n, &from) != n)
            break;
        echoed++;
    }
    free(buf);
    pconn_close(pc);
}

static ssize_t got[3];
static int rcs[8];
static bool big_ok;

static void body_udp(void *arg)
{
    struct gaddr a, local;
    addr_parse("127.0.0.1:0", &a);
    struct pconn *pc;
    rt_check(udp_listen(&a, &pc) == 0);
    rt_check(pconn_ctl(pc, CONN_CTL_LOCAL_ADDR, &local) == 0);
    int fd = -1;
    rt_check(pconn_ctl(pc, CONN_CTL_FD, &fd) == 0 && fd >= 0);
    rt_check(pconn_ctl(pc, 4242, NULL) == -ENOTSUP);
    fiber_spawn(udp_echo, pc);

    struct conn *c;
    rt_check(udp_dial(&local, &c) == 0);
    conn_set_deadline(c, deadline_in(IO_MS), deadline_in(IO_MS));
    rcs[0] = conn_ctl(c, CONN_CTL_IS_DGRAM, NULL);
    rcs[1] = conn_fd(c); /* -1: not a stream socket */
    unsigned char *buf = malloc(PCONN_MAX_DGRAM), *rx = malloc(PCONN_MAX_DGRAM);
    for (int i = 0; i < 65000; i++)
        buf[i] = (unsigned char)(i * 7);
    rt_check(conn_write(c, "x", 1) == 1);
    rt_check(conn_write(c, buf, 65000) == 65000);
    rt_check(conn_write(c, "", 0) == 0); /* an empty datagram: echoed, skipped by read */
    rt_check(conn_write(c, "yz", 2) == 2);
    got[0] = conn_read(c, rx, PCONN_MAX_DGRAM);
    got[1] = conn_read(c, rx + 1, PCONN_MAX_DGRAM - 1);
    big_ok = got[1] == 65000 && memcmp(rx + 1, buf, 65000) == 0;
    got[2] = conn_read(c, rx, PCONN_MAX_DGRAM);
    rcs[2] = (int)conn_write(c, buf, PCONN_MAX_DGRAM + 1);
    conn_set_deadline(c, deadline_in(30), DEADLINE_NONE);
    rcs[3] = (int)conn_read(c, rx, 10);
    rcs[4] = conn_wait_readable(c, deadline_in(20));
    conn_set_deadline(c, DEADLINE_NONE, deadline_in(IO_MS));
    conn_write(c, "q", 1);
    conn_close(c);
    free(buf);
    free(rx);

    /* pconn to pconn, and a receive deadline */
    struct pconn *p1, *p2;
    rt_check(udp_listen(&a, &p1) == 0);
    rt_check(udp_listen(&a, &p2) == 0);
    struct gaddr a2, from;
    pconn_ctl(p2, CONN_CTL_LOCAL_ADDR, &a2);
    rcs[5] = (int)pconn_sendto(p1, "ping", 4, &a2);
    char b[8];
    pconn_set_deadline(p2, deadline_in(IO_MS), DEADLINE_NONE);
    rcs[6] = (int)pconn_recvfrom(p2, b, sizeof b, &from);
    pconn_set_deadline(p2, deadline_in(20), DEADLINE_NONE);
    rcs[7] = (int)pconn_recvfrom(p2, b, sizeof b, NULL);
    pconn_close(p1);
    pconn_close(p2);
    fiber_sleep_ms(10);
    rt_done();
}

static void test_udp(void **state)
{
    echoed = 0;
    assert_int_equal(rt_run(1, body_udp, NULL), 0);
    assert_false(rt_timed_out);
    assert_int_equal(rcs[0], 0);
    assert_int_equal(rcs[1], -1);
    assert_int_equal(got[0], 1);
    assert_true(big_ok);
    assert_int_equal(got[2], 2);
    assert_int_equal(rcs[2], -EMSGSIZE);
    assert_int_equal(rcs[3], -ETIMEDOUT);
    assert_int_equal(rcs[4], -ETIMEDOUT);
    assert_int_equal(rcs[5], 4);
    assert_int_equal(rcs[6], 4);
    assert_int_equal(rcs[7], -ETIMEDOUT);
    assert_int_equal(echoed, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_udp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
