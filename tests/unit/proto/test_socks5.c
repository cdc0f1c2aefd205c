/* Unit tests for proto/socks5 and proto/socks4: byte-exact against the SOCKS5 vectors recorded
 * from gost 3.2.0 (tests/data/shared/vectors/socks5), plus malformed input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/socks4.h"
#include "proto/socks5.h"

static size_t load(const char *name, uint8_t *buf, size_t cap)
{
    const char *dir = getenv("GOST_SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/vectors/socks5/%s", dir ? dir : "tests/data/shared", name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* Decode one message with the need protocol, feeding exactly what it asks for. */
#define DECODE_STEPWISE(buf, total, call)                                                          \
    ({                                                                                             \
        size_t have_ = 0, need_ = 1;                                                               \
        ssize_t r_ = 0;                                                                            \
        for (int i_ = 0; i_ < 1000; i_++) {                                                        \
            have_ = need_ > (total) ? (total) : need_;                                             \
            r_ = call;                                                                             \
            if (r_ != 0)                                                                           \
                break;                                                                             \
            assert_true(need_ > have_);                                                            \
        }                                                                                          \
        r_;                                                                                        \
    })

static void test_connect_notls_auth(void **state)
{
    (void)state;
    uint8_t c2s[64], s2c[64];
    size_t cn = load("connect-notls-auth.c2s.bin", c2s, sizeof c2s);
    size_t sn = load("connect-notls-auth.s2c.bin", s2c, sizeof s2c);
    assert_int_equal(cn, 34);
    assert_int_equal(sn, 19);
    uint8_t m[255];
    size_t nm = 0;
    const uint8_t *p = c2s;
    ssize_t r = DECODE_STEPWISE(p, cn, socks5_greeting_decode(p, have_, m, &nm, &need_));
    assert_int_equal(r, 4);
    assert_int_equal(nm, 2);
    assert_int_equal(m[0], 0x00);
    assert_int_equal(m[1], 0x02);
    /* our server with an auther picks 0x02 (no TLS offered) */
    assert_int_equal(socks5_select_method(m, nm, true, true), SOCKS5_METHOD_USERPASS);
    assert_int_equal(socks5_select_method(m, nm, false, true), SOCKS5_METHOD_NOAUTH);
    /* our client encodes the same greeting */
    uint8_t out[600];
    assert_int_equal(socks5_greeting_encode(out, sizeof out, m, nm), 4);
    assert_memory_equal(out, c2s, 4);
    p += r;
    char user[256], pass[256];
    r = DECODE_STEPWISE(p, cn - 4, socks5_userpass_decode(p, have_, user, pass, &need_));
    assert_int_equal(r, 15);
    assert_string_equal(user, "gost");
    assert_string_equal(pass, "gostpass");
    assert_int_equal(socks5_userpass_encode(out, sizeof out, "gost", "gostpass"), 15);
    assert_memory_equal(out, p, 15);
    p += r;
    uint8_t cmd;
    struct socks5_addr a;
    r = DECODE_STEPWISE(p, cn - 19, socks5_request_decode(p, have_, &cmd, &a, &need_));
    assert_int_equal(r, 10);
    assert_int_equal(cmd, SOCKS5_CMD_CONNECT);
    assert_int_equal(a.atyp, SOCKS5_ATYP_IPV4);
    assert_string_equal(a.host, "127.0.0.1");
    assert_int_equal(a.port, 19001);
    char s[300];
    assert_true(socks5_addr_format(&a, s, sizeof s) > 0);
    assert_string_equal(s, "127.0.0.1:19001");
    struct socks5_addr pa;
    assert_int_equal(socks5_addr_parse(&pa, "127.0.0.1:19001"), 0);
    assert_int_equal(socks5_request_encode(out, sizeof out, SOCKS5_CMD_CONNECT, &pa), 10);
    assert_memory_equal(out, p, 10);
    assert_memory_equal(p + 10, "ping\n", 5);

    /* server side: method 0x02, user/pass ok, reply 0.0.0.0:0 */
    socks5_method_encode(out, SOCKS5_METHOD_USERPASS);
    socks5_userpass_reply_encode(out + 2, 0);
    assert_int_equal(socks5_reply_encode(out + 4, sizeof out - 4, SOCKS5_REP_SUCCEEDED, NULL), 10);
    assert_memory_equal(out, s2c, 14);
    uint8_t rep;
    size_t need = 0;
    assert_int_equal(socks5_reply_decode(s2c + 4, 10, &rep, &a, &need), 10);
    assert_int_equal(rep, 0);
}

static void test_connect_notls(void **state)
{
    (void)state;
    uint8_t c2s[64], s2c[64], out[64];
    size_t cn = load("connect-notls.c2s.bin", c2s, sizeof c2s);
    size_t sn = load("connect-notls.s2c.bin", s2c, sizeof s2c);
    assert_int_equal(cn, 18);
    assert_int_equal(sn, 17);
    const uint8_t m0[] = {SOCKS5_METHOD_NOAUTH};
    assert_int_equal(socks5_greeting_encode(out, sizeof out, m0, 1), 3);
    assert_memory_equal(out, c2s, 3);
    socks5_method_encode(out, SOCKS5_METHOD_NOAUTH);
    socks5_reply_encode(out + 2, sizeof out - 2, 0, NULL);
    assert_memory_equal(out, s2c, 12);
}

static void test_method_tls(void **state)
{
    (void)state;
    uint8_t c2s[4096], s2c[4096];
    load("method-tls.c2s.bin", c2s, sizeof c2s);
    load("method-tls.s2c.bin", s2c, sizeof s2c);
    uint8_t m[255];
    size_t nm, need;
    assert_int_equal(socks5_greeting_decode(c2s, 4, m, &nm, &need), 4);
    assert_int_equal(nm, 2);
    assert_int_equal(socks5_select_method(m, nm, false, true), SOCKS5_METHOD_TLS);
    assert_int_equal(socks5_select_method(m, nm, false, false), SOCKS5_METHOD_NOAUTH);
    assert_int_equal(socks5_select_method(m, nm, true, true), SOCKS5_METHOD_NONE);
    uint8_t sel;
    assert_int_equal(socks5_method_decode(s2c, &sel), 0);
    assert_int_equal(sel, SOCKS5_METHOD_TLS);
    assert_int_equal(c2s[4], 0x16); /* TLS handshake record follows at once */

    load("method-tls-auth.c2s.bin", c2s, sizeof c2s);
    load("method-tls-auth.s2c.bin", s2c, sizeof s2c);
    assert_int_equal(socks5_greeting_decode(c2s, 6, m, &nm, &need), 6);
    assert_int_equal(nm, 4);
    const uint8_t want[] = {0x00, 0x02, 0x80, 0x82};
    assert_memory_equal(m, want, 4);
    assert_int_equal(socks5_select_method(m, nm, true, true), SOCKS5_METHOD_TLS_AUTH);
    assert_int_equal(socks5_select_method(m, nm, true, false), SOCKS5_METHOD_USERPASS);
    assert_int_equal(socks5_method_decode(s2c, &sel), 0);
    assert_int_equal(sel, SOCKS5_METHOD_TLS_AUTH);
}

/* Feed a byte stream to the UDP-TUN decoder in chunks of `step`; collect frames. */
static int tun_frames(const uint8_t *b, size_t n, size_t step, struct socks5_udp_hdr *hs,
                      size_t *plens, const uint8_t **payloads, int max)
{
    struct socks5_tun_dec d;
    socks5_tun_dec_init(&d);
    int nf = 0;
    size_t off = 0, avail_end = 0, pstart = 0;
    while (off < n && nf < max) {
        if (avail_end <= off)
            avail_end = off + step > n ? n : off + step;
        if (!d.in_payload) {
            ssize_t k = socks5_tun_dec_header(&d, b + off, avail_end - off);
            if (k < 0)
                return (int)k;
            off += (size_t)k;
            pstart = off;
            if (!d.in_payload)
                continue;
        }
        size_t m = avail_end - off < d.remaining ? avail_end - off : d.remaining;
        size_t plen = d.h.rsv;
        struct socks5_udp_hdr h = d.h;
        off += m;
        if (socks5_tun_dec_payload(&d, m)) {
            hs[nf] = h;
            plens[nf] = plen;
            payloads[nf] = b + pstart;
            nf++;
        }
    }
    return nf;
}

static void test_udptun(void **state)
{
    (void)state;
    uint8_t c2s[64], s2c[64], out[64];
    size_t cn = load("udptun-notls.c2s.bin", c2s, sizeof c2s);
    size_t sn = load("udptun-notls.s2c.bin", s2c, sizeof s2c);
    assert_int_equal(cn, 27);
    assert_int_equal(sn, 38);
    /* client: greeting, 0xF3 request with 0.0.0.0:0 */
    const uint8_t m0[] = {0};
    socks5_greeting_encode(out, sizeof out, m0, 1);
    assert_int_equal(socks5_request_encode(out + 3, sizeof out - 3, SOCKS5_CMD_UDPTUN, NULL), 10);
    assert_memory_equal(out, c2s, 13);
    /* then one frame to 127.0.0.1:19002 */
    struct socks5_addr t;
    assert_int_equal(socks5_addr_parse(&t, "127.0.0.1:19002"), 0);
    ssize_t hl = socks5_udptun_hdr_encode(out, sizeof out, &t, 4);
    assert_int_equal(hl, 10);
    memcpy(out + hl, "ping", 4);
    assert_memory_equal(out, c2s + 13, 14);
    for (size_t step = 1; step <= 14; step++) {
        struct socks5_udp_hdr hs[2];
        size_t pl[2];
        const uint8_t *pp[2];
        assert_int_equal(tun_frames(c2s + 13, 14, step, hs, pl, pp, 2), 1);
        assert_int_equal(hs[0].rsv, 4);
        assert_int_equal(hs[0].frag, 0xFF);
        assert_string_equal(hs[0].addr.host, "127.0.0.1");
        assert_int_equal(hs[0].addr.port, 19002);
        assert_memory_equal(pp[0], "ping", 4);
    }
    /* server reply: [::]:port (random port), then the echoed frame */
    uint8_t rep;
    struct socks5_addr bnd;
    size_t need = 0;
    assert_int_equal(socks5_reply_decode(s2c + 2, sn - 2, &rep, &bnd, &need), 22);
    assert_int_equal(rep, 0);
    assert_int_equal(bnd.atyp, SOCKS5_ATYP_IPV6);
    assert_string_equal(bnd.host, "::");
    struct socks5_addr z;
    assert_int_equal(socks5_addr_parse(&z, "[::]:0"), 0);
    z.port = bnd.port;
    assert_int_equal(socks5_reply_encode(out, sizeof out, 0, &z), 22);
    assert_memory_equal(out, s2c + 2, 22);
    struct socks5_udp_hdr h;
    assert_int_equal(socks5_udp_hdr_decode(s2c + 24, sn - 24, &h, &need), 10);
    assert_int_equal(h.rsv, 4);
    assert_memory_equal(s2c + 34, "ping", 4);

    /* bind variant: request carries the port to bind */
    cn = load("udptun-bind-notls.c2s.bin", c2s, sizeof c2s);
    uint8_t cmd;
    assert_int_equal(socks5_request_decode(c2s + 3, cn - 3, &cmd, &bnd, &need), 10);
    assert_int_equal(cmd, SOCKS5_CMD_UDPTUN);
    assert_int_equal(bnd.port, 19013);
}

static void test_mbind_request(void **state)
{
    (void)state;
    uint8_t c2s[64];
    size_t cn = load("mbind-notls.c2s.bin", c2s, sizeof c2s);
    assert_true(cn > 13);
    uint8_t cmd;
    struct socks5_addr a;
    size_t need;
    assert_int_equal(socks5_request_decode(c2s + 3, cn - 3, &cmd, &a, &need), 10);
    assert_int_equal(cmd, SOCKS5_CMD_MBIND);
}

static void test_malformed(void **state)
{
    (void)state;
    uint8_t m[255];
    size_t nm, need = 0;
    const uint8_t g0[] = {5, 0};
    assert_int_equal(socks5_greeting_decode(g0, 2, m, &nm, &need), -EPROTO);
    const uint8_t g4[] = {4, 1, 0};
    assert_int_equal(socks5_greeting_decode(g4, 3, m, &nm, &need), -EPROTO);
    uint8_t cmd;
    struct socks5_addr a;
    const uint8_t badatyp[] = {5, 1, 0, 9, 1, 2, 3, 4, 0, 80};
    assert_int_equal(socks5_request_decode(badatyp, sizeof badatyp, &cmd, &a, &need),
                     -EAFNOSUPPORT);
    const uint8_t emptydom[] = {5, 1, 0, 3, 0, 0, 80};
    assert_int_equal(socks5_request_decode(emptydom, sizeof emptydom, &cmd, &a, &need), -EPROTO);
    const uint8_t nuldom[] = {5, 1, 0, 3, 3, 'a', 0, 'b', 0, 80};
    assert_int_equal(socks5_request_decode(nuldom, sizeof nuldom, &cmd, &a, &need), -EPROTO);
    const uint8_t dom[] = {5,   1,   0,   3,   11,  'e', 'x', 'a', 'm',
                           'p', 'l', 'e', '.', 'c', 'o', 'm', 1,   187};
    assert_int_equal(socks5_request_decode(dom, 10, &cmd, &a, &need), 0);
    assert_int_equal(need, sizeof dom);
    assert_int_equal(socks5_request_decode(dom, sizeof dom, &cmd, &a, &need), sizeof dom);
    assert_string_equal(a.host, "example.com");
    assert_int_equal(a.port, 443);
    char user[256], pass[256];
    const uint8_t up[] = {2, 1, 'a', 1, 'b'};
    assert_int_equal(socks5_userpass_decode(up, sizeof up, user, pass, &need), -EPROTO);
    /* IPv6 and mapped addresses */
    assert_int_equal(socks5_addr_parse(&a, "[::ffff:10.1.2.3]:53"), 0);
    assert_int_equal(a.atyp, SOCKS5_ATYP_IPV4);
    assert_string_equal(a.host, "10.1.2.3");
    assert_int_equal(socks5_addr_parse(&a, "[2001:db8::1]:53"), 0);
    assert_int_equal(a.atyp, SOCKS5_ATYP_IPV6);
    char s[300];
    socks5_addr_format(&a, s, sizeof s);
    assert_string_equal(s, "[2001:db8::1]:53");
    assert_int_equal(socks5_udptun_hdr_encode(m, sizeof m, &a, 0), -EINVAL);
    /* a malformed UDP-TUN header kills the decoder */
    struct socks5_tun_dec d;
    socks5_tun_dec_init(&d);
    const uint8_t bad[] = {0, 4, 0xff, 7, 1, 2};
    assert_true(socks5_tun_dec_header(&d, bad, sizeof bad) < 0);
}

static void test_socks4(void **state)
{
    (void)state;
    struct socks4_request r;
    size_t need = 0;
    const uint8_t v4[] = {4, 1, 0, 80, 10, 0, 0, 1, 'u', 0};
    assert_int_equal(socks4_request_decode(v4, 8, &r, &need), 0);
    assert_int_equal(need, 9);
    assert_int_equal(socks4_request_decode(v4, 9, &r, &need), 0);
    assert_int_equal(need, 10);
    assert_int_equal(socks4_request_decode(v4, 10, &r, &need), 10);
    assert_false(r.is_4a);
    assert_string_equal(r.userid, "u");
    assert_string_equal(r.host, "10.0.0.1");
    assert_int_equal(r.port, 80);
    const uint8_t v4a[] = {4, 1, 1, 187, 0, 0, 0, 1, 0, 'a', '.', 'b', 0};
    assert_int_equal(socks4_request_decode(v4a, sizeof v4a - 1, &r, &need), 0);
    assert_int_equal(socks4_request_decode(v4a, sizeof v4a, &r, &need), sizeof v4a);
    assert_true(r.is_4a);
    assert_string_equal(r.host, "a.b");
    char t[300];
    socks4_request_target(&r, t, sizeof t);
    assert_string_equal(t, "a.b:443");
    uint8_t out[SOCKS4_REQUEST_MAX];
    assert_int_equal(socks4_request_encode(out, sizeof out, &r), sizeof v4a);
    assert_memory_equal(out, v4a, sizeof v4a);
    const uint8_t bad_ver[] = {5, 1};
    assert_int_equal(socks4_request_decode(bad_ver, 2, &r, &need), -EPROTO);
    const uint8_t bad_cmd[] = {4, 3};
    assert_int_equal(socks4_request_decode(bad_cmd, 2, &r, &need), -EPROTO);
    uint8_t longid[8 + 300];
    memcpy(longid, v4, 8);
    memset(longid + 8, 'x', 300);
    assert_int_equal(socks4_request_decode(longid, sizeof longid, &r, &need), -EPROTO);
    const uint8_t empty4a[] = {4, 1, 0, 80, 0, 0, 0, 1, 0, 0};
    assert_int_equal(socks4_request_decode(empty4a, sizeof empty4a, &r, &need), -EPROTO);
    uint8_t rep[8];
    socks4_reply_encode(rep, SOCKS4_GRANTED);
    const uint8_t want[8] = {0, 90, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(rep, want, 8);
    uint8_t code;
    assert_int_equal(socks4_reply_decode(rep, &code), 0);
    assert_int_equal(code, 90);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_notls_auth),
        cmocka_unit_test(test_connect_notls),
        cmocka_unit_test(test_method_tls),
        cmocka_unit_test(test_udptun),
        cmocka_unit_test(test_mbind_request),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_socks4),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
