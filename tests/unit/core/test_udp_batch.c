/* Unit tests: the pieces of the batched UDP path (docs/udp.md) — the datagram pool (reuse,
 * large nodes, idle cap, counters), udp_pconn_recv_batch (several datagrams per call with their
 * senders, sizes 0..65000, a full batch then the rest, deadline, other pconns refused) and
 * udp_conn_detach (the fd of a bare udp_dial conn, refused for anything else). */
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

#include "core/addr.h"
#include "core/dgram_pool.h"
#include "core/pconn.h"
#include "rt_harness.h"

#define IO_MS 5000

static void test_dgram_pool(void **state)
{
    (void)state;
    dgram_pool_drain();
    struct dgram_pool_stats st;
    dgram_pool_stats(&st);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.idle, 0);

    struct dgram *a = dgram_new("hello", 5);
    assert_int_equal(a->len, 5);
    assert_int_equal(a->cap, DGRAM_SMALL);
    assert_null(a->next);
    assert_memory_equal(a->data, "hello", 5);
    struct dgram *e = dgram_new(NULL, 0);
    assert_int_equal(e->len, 0);
    dgram_pool_stats(&st);
    assert_int_equal(st.in_use, 2);

    /* A small node given back is the next one handed out: no malloc per datagram. */
    dgram_free(a);
    dgram_pool_stats(&st);
    assert_int_equal(st.in_use, 1);
    assert_int_equal(st.idle, 1);
    struct dgram *b = dgram_new("x", 1);
    assert_ptr_equal(b, a);
    dgram_free(b);
    dgram_free(e);

    /* Large datagrams: exact-size nodes, never pooled. */
    unsigned char *big = malloc(65535);
    for (int i = 0; i < 65535; i++)
        big[i] = (unsigned char)(i * 13);
    struct dgram *l = dgram_new(big, 65535);
    assert_int_equal(l->len, 65535);
    assert_int_equal(l->cap, 65535);
    assert_memory_equal(l->data, big, 65535);
    struct dgram *edge = dgram_new(big, DGRAM_SMALL);
    assert_int_equal(edge->cap, DGRAM_SMALL);
    assert_memory_equal(edge->data, big, DGRAM_SMALL);
    dgram_pool_stats(&st);
    size_t idle_before = st.idle;
    dgram_free(l);
    dgram_pool_stats(&st);
    assert_int_equal(st.idle, idle_before);
    dgram_free(edge);
    free(big);

    /* The idle cap holds. */
    struct dgram **v = calloc(DGRAM_POOL_MAX_IDLE + 10, sizeof *v);
    for (int i = 0; i < DGRAM_POOL_MAX_IDLE + 10; i++)
        v[i] = dgram_new(&i, sizeof i);
    for (int i = 0; i < DGRAM_POOL_MAX_IDLE + 10; i++) {
        assert_memory_equal(v[i]->data, &i, sizeof i);
        dgram_free(v[i]);
    }
    free(v);
    dgram_pool_stats(&st);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.idle, DGRAM_POOL_MAX_IDLE);
    dgram_pool_drain();
    dgram_pool_stats(&st);
    assert_int_equal(st.idle, 0);
    dgram_free(NULL);
}

/* ---- recv_batch and detach, on a worker ---- */

#define NB 32
static int r_first, r_second, r_third, r_timeout, r_notsup, r_detach_other;
static bool r_sizes_ok, r_addrs_ok, r_full_ok, r_detach_ok;
static unsigned char slots[NB][65536];
static struct mmsghdr msg[NB];
static struct iovec iov[NB];
static struct gaddr from[NB];

static void prep(void)
{
    for (int i = 0; i < NB; i++) {
        iov[i] = (struct iovec){.iov_base = slots[i], .iov_len = sizeof slots[i]};
        msg[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i],
                                         .msg_iovlen = 1,
                                         .msg_name = &from[i].ss,
                                         .msg_namelen = sizeof from[i].ss};
    }
}

static ssize_t fake_recvfrom(struct pconn *pc, void *buf, size_t n, struct gaddr *f)
{
    return -EIO;
}

static void fake_close(struct pconn *pc) {}

static const struct pconn_ops fake_ops = {
    .name = "fake", .recvfrom = fake_recvfrom, .close = fake_close};

static const struct conn_ops fconn_ops = {.name = "fake"};

static void body_batch(void *arg)
{
    (void)arg;
    struct gaddr a, local, s1a, s2a;
    addr_parse("127.0.0.1:0", &a);
    struct pconn *pc;
    rt_check(udp_listen(&a, &pc) == 0);
    pconn_ctl(pc, CONN_CTL_LOCAL_ADDR, &local);
    int s1 = socket(AF_INET, SOCK_DGRAM, 0), s2 = socket(AF_INET, SOCK_DGRAM, 0);
    rt_check(bind(s1, (struct sockaddr *)&a.ss, a.len) == 0);
    rt_check(bind(s2, (struct sockaddr *)&a.ss, a.len) == 0);
    s1a.len = s2a.len = sizeof s1a.ss;
    getsockname(s1, (struct sockaddr *)&s1a.ss, &s1a.len);
    getsockname(s2, (struct sockaddr *)&s2a.ss, &s2a.len);

    /* 5 datagrams from two senders, sizes 0..65000, all taken by one call. */
    static unsigned char big[65000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)(i * 5);
    const size_t sizes[5] = {1, 64, 0, 65000, 3};
    for (int i = 0; i < 5; i++)
        sendto(i % 2 ? s2 : s1, big, sizes[i], 0, (struct sockaddr *)&local.ss, local.len);
    prep();
    pconn_set_deadline(pc, deadline_in(IO_MS), DEADLINE_NONE);
    r_first = udp_pconn_recv_batch(pc, msg, NB);
    r_sizes_ok = r_first == 5;
    r_addrs_ok = r_first == 5;
    for (int i = 0; i < 5 && r_first == 5; i++) {
        from[i].len = msg[i].msg_hdr.msg_namelen;
        r_sizes_ok &= msg[i].msg_len == sizes[i] && memcmp(slots[i], big, sizes[i]) == 0;
        r_addrs_ok &= addr_equal(&from[i], i % 2 ? &s2a : &s1a);
    }

    /* 40 datagrams: a full batch, then the other 8. */
    for (int i = 0; i < 40; i++) {
        unsigned char b = (unsigned char)i;
        sendto(s1, &b, 1, 0, (struct sockaddr *)&local.ss, local.len);
    }
    prep();
    r_second = udp_pconn_recv_batch(pc, msg, NB);
    r_full_ok = r_second == NB;
    for (int i = 0; i < r_second && i < NB; i++)
        r_full_ok &= msg[i].msg_len == 1 && slots[i][0] == i;
    prep();
    r_third = udp_pconn_recv_batch(pc, msg, NB);
    for (int i = 0; i < r_third && i < NB; i++)
        r_full_ok &= msg[i].msg_len == 1 && slots[i][0] == NB + i;

    /* Nothing left: the deadline. */
    prep();
    pconn_set_deadline(pc, deadline_in(30), DEADLINE_NONE);
    r_timeout = udp_pconn_recv_batch(pc, msg, NB);

    struct pconn fake;
    pconn_init(&fake, &fake_ops, NULL);
    r_notsup = udp_pconn_recv_batch(&fake, msg, NB);

    /* detach: the fd of a udp_dial conn, connected to the target. */
    struct conn *c;
    rt_check(udp_dial(&local, &c) == 0);
    int fd = udp_conn_detach(c);
    r_detach_ok = fd >= 0;
    if (fd >= 0) {
        struct gaddr peer;
        peer.len = sizeof peer.ss;
        r_detach_ok &= getpeername(fd, (struct sockaddr *)&peer.ss, &peer.len) == 0 &&
                       addr_equal(&peer, &local);
        r_detach_ok &= send(fd, "d", 1, 0) == 1;
        prep();
        pconn_set_deadline(pc, deadline_in(IO_MS), DEADLINE_NONE);
        r_detach_ok &= udp_pconn_recv_batch(pc, msg, NB) == 1 && slots[0][0] == 'd';
        close(fd);
    }
    struct conn other;
    conn_init(&other, &fconn_ops, NULL);
    r_detach_other = udp_conn_detach(&other);
    r_detach_other = r_detach_other == -1 ? udp_conn_detach(NULL) : 0;

    close(s1);
    close(s2);
    pconn_close(pc);
    rt_done();
}

static void test_recv_batch_and_detach(void **state)
{
    (void)state;
    assert_int_equal(rt_run(1, body_batch, NULL), 0);
    assert_false(rt_timed_out);
    assert_int_equal(r_first, 5);
    assert_true(r_sizes_ok);
    assert_true(r_addrs_ok);
    assert_int_equal(r_second, NB);
    assert_int_equal(r_third, 8);
    assert_true(r_full_ok);
    assert_int_equal(r_timeout, -ETIMEDOUT);
    assert_int_equal(r_notsup, -ENOTSUP);
    assert_true(r_detach_ok);
    assert_int_equal(r_detach_other, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dgram_pool),
        cmocka_unit_test(test_recv_batch_and_detach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
