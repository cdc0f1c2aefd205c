/* Unit tests: addr — split/join/format/parse edge cases, resolution. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "core/addr.h"
#include "rt_harness.h"

static void split_ok(const char *in, const char *host, uint16_t port)
{
    char h[64];
    uint16_t p = 1;
    assert_int_equal(addr_split(in, h, sizeof h, &p), 0);
    assert_string_equal(h, host);
    assert_int_equal(p, port);
}

static void split_err(const char *in, int err)
{
    char h[64];
    uint16_t p;
    assert_int_equal(addr_split(in, h, sizeof h, &p), err);
}

static void test_split(void **state)
{
    split_ok("1.2.3.4:80", "1.2.3.4", 80);
    split_ok("example.com:443", "example.com", 443);
    split_ok(":8080", "", 8080);
    split_ok("[::1]:53", "::1", 53);
    split_ok("[fe80::1%eth0]:65535", "fe80::1%eth0", 65535);
    split_ok("[localhost]:1", "localhost", 1);
    split_ok("host:", "host", 0);
    split_ok(":0", "", 0);
    split_err("1.2.3.4", -EINVAL); /* missing port */
    split_err("::1:80", -EINVAL);  /* too many colons */
    split_err("[::1]", -EINVAL);   /* missing port */
    split_err("[::1]80", -EINVAL);
    split_err("[::1:80", -EINVAL); /* missing ] */
    split_err("a]:80", -EINVAL);
    split_err("[a[b]:80", -EINVAL);
    split_err("h:65536", -EINVAL);
    split_err("h:http", -EINVAL);
    split_err("h:-1", -EINVAL);
    split_err("h:8]", -EINVAL);
    split_err("", -EINVAL);
    char small[4];
    uint16_t p;
    assert_int_equal(addr_split("abcd:1", small, sizeof small, &p), -ENAMETOOLONG);
    assert_int_equal(addr_split("abc:1", small, sizeof small, &p), 0);
}

static void fmt_is(const struct gaddr *a, const char *want)
{
    char buf[ADDR_STRLEN];
    int n = addr_format(a, buf, sizeof buf);
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(buf, want);
}

static void test_format_parse(void **state)
{
    struct gaddr a;
    assert_int_equal(addr_parse("1.2.3.4:80", &a), 0);
    fmt_is(&a, "1.2.3.4:80");
    assert_int_equal(addr_port(&a), 80);
    addr_set_port(&a, 8080);
    fmt_is(&a, "1.2.3.4:8080");
    assert_int_equal(addr_parse("[::1]:80", &a), 0);
    assert_int_equal(a.ss.ss_family, AF_INET6);
    fmt_is(&a, "[::1]:80");
    assert_int_equal(addr_parse(":1080", &a), 0);
    fmt_is(&a, "0.0.0.0:1080");
    assert_int_equal(addr_parse("[::ffff:10.0.0.1]:22", &a), 0);
    fmt_is(&a, "10.0.0.1:22"); /* Go prints IPv4-mapped as IPv4 */
    assert_int_equal(addr_parse("[2001:db8::a:b]:443", &a), 0);
    fmt_is(&a, "[2001:db8::a:b]:443");
    assert_int_equal(addr_parse("[fe80::1%1]:9", &a), 0);
    assert_int_equal(((struct sockaddr_in6 *)&a.ss)->sin6_scope_id, 1);
    assert_int_equal(addr_parse("example.com:80", &a), -EINVAL);
    assert_int_equal(addr_parse("1.2.3:80", &a), -EINVAL);
    assert_int_equal(addr_parse("256.1.1.1:80", &a), -EINVAL);
    assert_int_equal(addr_parse("[fe80::1%]:9", &a), -EINVAL);
    assert_int_equal(addr_parse("[fe80::1%nosuchif0]:9", &a), -EINVAL);

    struct gaddr b;
    assert_int_equal(addr_parse("1.2.3.4:80", &a), 0);
    assert_int_equal(addr_parse("1.2.3.4:80", &b), 0);
    assert_true(addr_equal(&a, &b));
    addr_set_port(&b, 81);
    assert_false(addr_equal(&a, &b));

    memset(&a, 0, sizeof a);
    fmt_is(&a, "");
    assert_int_equal(addr_from_unix("/tmp/x.sock", &a), 0);
    fmt_is(&a, "/tmp/x.sock");
    assert_int_equal(addr_from_unix("@abstract", &a), 0);
    fmt_is(&a, "@abstract");
    assert_int_equal(addr_from_unix("", &a), -ENAMETOOLONG);

    char small[8];
    assert_int_equal(addr_parse("1.2.3.4:80", &a), 0);
    assert_int_equal(addr_format(&a, small, sizeof small), -ENOSPC);
    char exact[11]; /* "1.2.3.4:80" + NUL fits exactly, one byte less does not */
    assert_int_equal(addr_format(&a, exact, sizeof exact), 10);
    assert_int_equal(addr_format(&a, exact, sizeof exact - 1), -ENOSPC);

    /* the IPv4 fast path against inet_ntop for every byte value and edge ports */
    static const unsigned ports[] = {0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 65535};
    for (unsigned v = 0; v < 256; v++) {
        uint8_t ip[4] = {(uint8_t)v, (uint8_t)(255 - v), (uint8_t)(v * 7), (uint8_t)(v / 3)};
        char want[64], ipbuf[16], got[16];
        inet_ntop(AF_INET, ip, ipbuf, sizeof ipbuf);
        assert_int_equal(addr_format_ip4(ip, got), strlen(ipbuf));
        assert_string_equal(got, ipbuf);
        struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ports[v % 11])};
        memcpy(&in.sin_addr, ip, 4);
        addr_from_sockaddr(&a, (const struct sockaddr *)&in, sizeof in);
        snprintf(want, sizeof want, "%s:%u", ipbuf, ports[v % 11]);
        fmt_is(&a, want);
    }

    char buf[64];
    assert_int_equal(addr_join("::1", 80, buf, sizeof buf), 8);
    assert_string_equal(buf, "[::1]:80");
    assert_int_equal(addr_join("h", 1, buf, sizeof buf), 3);
    assert_string_equal(buf, "h:1");
    assert_int_equal(addr_join("hostname", 1, buf, 5), -ENOSPC);
}

static int r_numeric, r_local, r_bad, r_invalid;
static char r_local_str[ADDR_STRLEN], r_err[FIBER_ERR_MAX];

static void body_resolve(void *arg)
{
    struct gaddr a;
    r_numeric = addr_resolve("127.0.0.1", 80, SOCK_STREAM, &a, deadline_in(100));
    r_local = addr_resolve("localhost", 8080, SOCK_STREAM, &a, deadline_in(5000));
    if (r_local == 0)
        addr_format(&a, r_local_str, sizeof r_local_str);
    r_bad = addr_resolve("nonexistent.invalid", 80, SOCK_STREAM, &a, deadline_in(5000));
    snprintf(r_err, sizeof r_err, "%s", fiber_err());
    r_invalid = addr_resolve("a%b", 80, SOCK_STREAM, &a, deadline_in(100));
    rt_done();
}

static void test_resolve(void **state)
{
    assert_int_equal(rt_run(1, body_resolve, NULL), 0);
    assert_int_equal(r_numeric, 0);
    assert_int_equal(r_local, 0);
    assert_string_equal(r_local_str, "127.0.0.1:8080"); /* IPv4 preferred */
    assert_true(r_bad == -ENOENT || r_bad == -EAGAIN);
    assert_non_null(strstr(r_err, "lookup nonexistent.invalid"));
    assert_int_equal(r_invalid, -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_format_parse),
        cmocka_unit_test(test_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
