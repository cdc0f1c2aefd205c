/* Unit tests for config/url: the Go net/url-compatible parser and GOST's -L/-F URL layer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/url.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static int parse(const char *s, struct url *u, char *err, size_t errlen)
{
    size_t eo;
    return url_parse(s, strlen(s), u, err, errlen, &eo);
}

static void expect_parse_error(const char *s, const char *msg_part)
{
    struct url u;
    char err[256] = "";
    int rc = parse(s, &u, err, sizeof err);
    if (rc == 0)
        fail_msg("expected an error for %s", s);
    if (msg_part && !strstr(err, msg_part))
        fail_msg("error for %s is \"%s\", expected it to contain \"%s\"", s, err, msg_part);
    assert_null(u.scheme);
}

static int spec(const char *arg, enum url_role role, struct url_spec *sp, char *err, size_t errlen,
                size_t *eo)
{
    return url_spec_parse(arg, strlen(arg), role, sp, err, errlen, eo);
}

static void expect_addrs(const struct url_item *items, size_t n, const char *const *want,
                         size_t nwant)
{
    assert_int_equal(n, nwant);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(items[i].s, want[i]);
}

/* ---- url_parse ----------------------------------------------------------------------------- */

static void test_parse_full(void **state)
{
    (void)state;
    struct url u;
    char err[128];
    assert_int_equal(
        parse("socks5+tls://user:p%40ss@example.com:1080/a/b?x=1&y=2#frag", &u, err, sizeof err),
        0);
    assert_string_equal(u.scheme, "socks5+tls");
    assert_true(u.has_user);
    assert_string_equal(u.username, "user");
    assert_string_equal(u.password, "p@ss");
    assert_string_equal(u.host, "example.com:1080");
    assert_string_equal(u.path, "/a/b");
    assert_string_equal(u.raw_query, "x=1&y=2");
    assert_string_equal(u.fragment, "frag");
    assert_int_equal(u.scheme_off, 0);
    assert_int_equal(u.user_off, 13);
    assert_int_equal(u.host_off, 25);
    assert_int_equal(u.path_off, 41);
    assert_int_equal(u.query_off, 46);
    url_free(&u);
}

static void test_parse_scheme_lowercased(void **state)
{
    (void)state;
    struct url u;
    char err[128];
    assert_int_equal(parse("HTTP+TLS://h:1", &u, err, sizeof err), 0);
    assert_string_equal(u.scheme, "http+tls");
    url_free(&u);
}

static void test_parse_userinfo_forms(void **state)
{
    (void)state;
    struct url u;
    char err[128];
    assert_int_equal(parse("http://user@h:1", &u, err, sizeof err), 0);
    assert_string_equal(u.username, "user");
    assert_null(u.password);
    url_free(&u);

    assert_int_equal(parse("http://user:@h:1", &u, err, sizeof err), 0);
    assert_string_equal(u.username, "user");
    assert_string_equal(u.password, "");
    url_free(&u);

    /* the last '@' separates the host; '@' is allowed in the userinfo */
    assert_int_equal(parse("http://a@b:c@d@h:1", &u, err, sizeof err), 0);
    assert_string_equal(u.username, "a@b");
    assert_string_equal(u.password, "c@d");
    assert_string_equal(u.host, "h:1");
    url_free(&u);

    /* '+' is not a space in the userinfo */
    assert_int_equal(parse("http://a+b:c%20d@h:1", &u, err, sizeof err), 0);
    assert_string_equal(u.username, "a+b");
    assert_string_equal(u.password, "c d");
    url_free(&u);

    expect_parse_error("http://us er@h:1", "invalid userinfo");
    expect_parse_error("http://\xc3\xa9@h:1", "invalid userinfo");
    expect_parse_error("http://u%zz@h:1", "invalid URL escape");
}

static void test_parse_hosts(void **state)
{
    (void)state;
    struct url u;
    char err[128];
    assert_int_equal(parse("http://[::1]:8080", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "[::1]:8080");
    url_free(&u);

    assert_int_equal(parse("http://[fe80::1%25eth0]:80", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "[fe80::1%eth0]:80");
    url_free(&u);

    assert_int_equal(parse("http://:8080", &u, err, sizeof err), 0);
    assert_string_equal(u.host, ":8080");
    url_free(&u);

    /* only the part after the last ':' must be a port: comma lists pass */
    assert_int_equal(parse("http://a:1,b:2", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "a:1,b:2");
    url_free(&u);

    /* "host:" is a valid empty port */
    assert_int_equal(parse("http://h:", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "h:");
    url_free(&u);

    /* non-ASCII bytes may be percent-encoded in a host, ASCII may not */
    assert_int_equal(parse("http://%C3%A9.com:1", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "\xc3\xa9.com:1");
    url_free(&u);

    expect_parse_error("http://h:80x", "invalid port \":80x\" after host");
    expect_parse_error("http://h:8000-8003", "invalid port");
    expect_parse_error("http://[::1", "missing ']' in host");
    expect_parse_error("http://[::1]x", "invalid port");
    expect_parse_error("http://[zz]:1", "invalid IP-literal");
    expect_parse_error("http://[1.2.3.4]:1", "invalid IP-literal");
    expect_parse_error("http://a b:1", "invalid character \" \" in host name");
    expect_parse_error("http://a%41:1", "invalid URL escape \"%41\"");
}

static void test_parse_paths_and_opaque(void **state)
{
    (void)state;
    struct url u;
    char err[128];
    assert_int_equal(parse("unix:///var/run/x.sock", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "");
    assert_string_equal(u.path, "/var/run/x.sock");
    url_free(&u);

    assert_int_equal(parse("tcp://:1/a%20b!c", &u, err, sizeof err), 0);
    assert_string_equal(u.path, "/a b!c");
    char *ep = url_escaped_path(&u);
    assert_string_equal(ep, "/a%20b!c");
    free(ep);
    url_free(&u);

    /* a raw space is re-escaped; a raw '!' kept */
    assert_int_equal(parse("tcp://:1/a b!", &u, err, sizeof err), 0);
    ep = url_escaped_path(&u);
    assert_string_equal(ep, "/a%20b%21");
    free(ep);
    url_free(&u);

    assert_int_equal(parse("http:opaque:x", &u, err, sizeof err), 0);
    assert_string_equal(u.scheme, "http");
    assert_string_equal(u.opaque, "opaque:x");
    url_free(&u);

    expect_parse_error("tcp://:1/%zz", "invalid URL escape \"%zz\"");
    expect_parse_error("a_b://x", "first path segment in URL cannot contain colon");
    expect_parse_error("://x", "missing protocol scheme");
    expect_parse_error("http://h:1/\x01", "invalid control character");
    expect_parse_error("http://h:1#%zz", "invalid URL escape");
}

static void test_parse_query_cut(void **state)
{
    (void)state;
    struct url u;
    char err[128];
    /* a single trailing '?' is ForceQuery: empty query */
    assert_int_equal(parse("http://h:1?", &u, err, sizeof err), 0);
    assert_string_equal(u.raw_query, "");
    url_free(&u);
    /* the query ends at '#', starts at the first '?' */
    assert_int_equal(parse("http://h:1/p?a=1?b#c?d", &u, err, sizeof err), 0);
    assert_string_equal(u.path, "/p");
    assert_string_equal(u.raw_query, "a=1?b");
    assert_string_equal(u.fragment, "c?d");
    url_free(&u);
}

static void test_parse_too_long(void **state)
{
    (void)state;
    size_t n = URL_MAX_LEN + 1;
    char *s = malloc(n);
    memset(s, 'a', n);
    memcpy(s, "http://", 7);
    struct url u;
    char err[128];
    size_t eo;
    assert_int_equal(url_parse(s, n, &u, err, sizeof err, &eo), -E2BIG);
    free(s);
}

/* ---- query, hostname, split/join, atoi ----------------------------------------------------- */

static void test_query(void **state)
{
    (void)state;
    struct url_query q = {0};
    const char *raw = "a=1&b=x+y%21&a=2&&c&=v&d=%zz&e;f=1&k%20ey=v%2Bw";
    size_t bad = url_parse_query(raw, strlen(raw), 100, &q);
    assert_int_equal(bad, 2); /* d=%zz and e;f=1 */
    assert_int_equal(q.n, 6);
    assert_string_equal(q.items[0].key, "a");
    assert_string_equal(q.items[0].value, "1");
    assert_int_equal(q.items[0].key_off, 100);
    assert_int_equal(q.items[0].value_off, 102);
    assert_string_equal(q.items[1].key, "b");
    assert_string_equal(q.items[1].value, "x y!");
    assert_string_equal(q.items[2].key, "a");
    assert_string_equal(q.items[2].value, "2");
    assert_string_equal(q.items[3].key, "c");
    assert_string_equal(q.items[3].value, "");
    assert_string_equal(q.items[4].key, "");
    assert_string_equal(q.items[4].value, "v");
    assert_string_equal(q.items[5].key, "k ey");
    assert_string_equal(q.items[5].value, "v+w");
    url_query_free(&q);
}

static void test_hostname(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"example.com:443", "example.com"},
        {"[::1]:80", "::1"},
        {"[::1]", "::1"},
        {"h", "h"},
        {":8080", ""},
        {"h:", "h"},
        {"a:1,b:2", "a:1,b"},
        {"h:x", "h:x"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *h = url_hostname(cases[i][0]);
        assert_string_equal(h, cases[i][1]);
        free(h);
    }
}

static void test_split_join(void **state)
{
    (void)state;
    size_t ho, hl, po, pl;
    const char *s = "[::1]:80";
    assert_int_equal(url_split_host_port(s, strlen(s), &ho, &hl, &po, &pl), 0);
    assert_memory_equal(s + ho, "::1", 3);
    assert_int_equal(hl, 3);
    assert_memory_equal(s + po, "80", 2);
    s = ":8000-8003";
    assert_int_equal(url_split_host_port(s, strlen(s), &ho, &hl, &po, &pl), 0);
    assert_int_equal(hl, 0);
    assert_int_equal(pl, 9);
    static const char *const bad[] = {"h", "a:b:c", "[::1]", "[::1]x:1", "[h:1", "h]:1", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_not_equal(url_split_host_port(bad[i], strlen(bad[i]), &ho, &hl, &po, &pl), 0);

    char *j = url_join_host_port("::1", 3, "80", 2);
    assert_string_equal(j, "[::1]:80");
    free(j);
    j = url_join_host_port("", 0, "80", 2);
    assert_string_equal(j, ":80");
    free(j);
}

static void test_atoi(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(url_atoi("42", 2, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(url_atoi("+7", 2, &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(url_atoi("-0012", 5, &v), 0);
    assert_int_equal(v, -12);
    assert_int_equal(url_atoi("", 0, &v), -EINVAL);
    assert_int_equal(url_atoi("-", 1, &v), -EINVAL);
    assert_int_equal(url_atoi("1_0", 3, &v), -EINVAL);
    assert_int_equal(url_atoi(" 1", 2, &v), -EINVAL);
    assert_int_equal(url_atoi("99999999999999999999", 20, &v), -ERANGE);
    assert_true(v == INT64_MAX);
    assert_int_equal(url_atoi("-9223372036854775808", 20, &v), 0);
    assert_true(v == INT64_MIN);
}

static void test_unescape_modes(void **state)
{
    (void)state;
    char *out;
    size_t n;
    char err[64];
    assert_int_equal(url_unescape("a+b%2B", 6, URL_ENC_QUERY, &out, &n, err, sizeof err, NULL), 0);
    assert_string_equal(out, "a b+");
    free(out);
    assert_int_equal(url_unescape("a+b", 3, URL_ENC_PATH, &out, &n, err, sizeof err, NULL), 0);
    assert_string_equal(out, "a+b");
    free(out);
    assert_int_equal(url_unescape("%00x", 4, URL_ENC_PATH, &out, &n, err, sizeof err, NULL), 0);
    assert_int_equal(n, 2);
    free(out);
    size_t at = 0;
    assert_int_equal(url_unescape("ab%4", 4, URL_ENC_QUERY, &out, &n, err, sizeof err, &at),
                     -EINVAL);
    assert_int_equal(at, 2);
    char *e = url_escape("a b/?é", 7, URL_ENC_PATH);
    assert_string_equal(e, "a%20b/%3F%C3%A9");
    free(e);
}

/* ---- url_spec_parse: services (-L) --------------------------------------------------------- */

static void test_spec_service_basic(void **state)
{
    (void)state;
    struct url_spec sp;
    char err[256];
    size_t eo;
    assert_int_equal(spec("  :8080  ", URL_ROLE_SERVICE, &sp, err, sizeof err, &eo), 0);
    assert_true(sp.implicit_scheme);
    assert_string_equal(sp.url.scheme, "auto");
    assert_string_equal(sp.part[0], "auto");
    assert_string_equal(sp.part[1], "auto");
    static const char *const a[] = {":8080"};
    expect_addrs(sp.addrs, sp.n_addrs, a, 1);
    assert_int_equal(sp.addrs[0].off, 2);
    assert_int_equal(sp.n_targets, 0);
    url_spec_free(&sp);

    /* no "://" at all: auto:// is prepended */
    assert_int_equal(spec("127.0.0.1:1080", URL_ROLE_SERVICE, &sp, err, sizeof err, &eo), 0);
    assert_true(sp.implicit_scheme);
    static const char *const b[] = {"127.0.0.1:1080"};
    expect_addrs(sp.addrs, sp.n_addrs, b, 1);
    url_spec_free(&sp);

    /* blank → 1 (skipped) */
    assert_int_equal(spec(" \t ", URL_ROLE_SERVICE, &sp, err, sizeof err, &eo), 1);
    assert_int_equal(spec("\xc2\xa0\xe3\x80\x80", URL_ROLE_SERVICE, &sp, err, sizeof err, &eo), 1);
}

static void test_spec_service_https_and_parts(void **state)
{
    (void)state;
    struct url_spec sp;
    char err[256];
    size_t eo;
    assert_int_equal(spec("https://:443", URL_ROLE_SERVICE, &sp, err, sizeof err, &eo), 0);
    assert_string_equal(sp.url.scheme, "http+tls");
    assert_string_equal(sp.part[0], "http");
    assert_string_equal(sp.part[1], "tls");
    url_spec_free(&sp);

    assert_int_equal(spec("a+b+c://:1", URL_ROLE_SERVICE, &sp, err, sizeof err, &eo), 0);
    assert_string_equal(sp.part[0], "");
    assert_string_equal(sp.part[1], "");
    url_spec_free(&sp);

    assert_int_equal(spec("Socks5+WSS://:1", URL_ROLE_SERVICE, &sp, err, sizeof err, &eo), 0);
    assert_string_equal(sp.part[0], "socks5");
    assert_string_equal(sp.part[1], "wss");
    url_spec_free(&sp);
}

static void test_spec_service_ranges(void **state)
{
    (void)state;
    struct url_spec sp;
    char err[256];
    size_t eo;
    assert_int_equal(spec("tcp://:8000-8003/192.168.1.1:9000-9001,h:80", URL_ROLE_SERVICE, &sp, err,
                          sizeof err, &eo),
                     0);
    static const char *const a[] = {":8000", ":8001", ":8002", ":8003"};
    expect_addrs(sp.addrs, sp.n_addrs, a, 4);
    static const char *const t[] = {"192.168.1.1:9000", "192.168.1.1:9001", "h:80"};
    expect_addrs(sp.targets, sp.n_targets, t, 3);
    assert_int_equal(sp.targets[0].off, 17);
    assert_int_equal(sp.targets[2].off, 39);
    url_spec_free(&sp);

    /* IPv6 hosts are re-bracketed; ports normalised like strconv.Itoa */
    assert_int_equal(
        spec("tcp://[::1]:+080/[::2]:1-2", URL_ROLE_SERVICE, &sp, err, sizeof err, &eo), 0);
    static const char *const b[] = {"[::1]:80"};
    expect_addrs(sp.addrs, sp.n_addrs, b, 1);
    static const char *const bt[] = {"[::2]:1", "[::2]:2"};
    expect_addrs(sp.targets, sp.n_targets, bt, 2);
    url_spec_free(&sp);

    /* not host:port: kept as written; "://" targets too; empty targets kept */
    assert_int_equal(
        spec("dns://:53/1.1.1.1,tls://1.1.1.1:853,,x", URL_ROLE_SERVICE, &sp, err, sizeof err, &eo),
        0);
    static const char *const c[] = {"1.1.1.1", "tls://1.1.1.1:853", "", "x"};
    expect_addrs(sp.targets, sp.n_targets, c, 4);
    url_spec_free(&sp);

    /* leading/trailing slashes of the path are trimmed */
    assert_int_equal(spec("tcp://:1///h:2//", URL_ROLE_SERVICE, &sp, err, sizeof err, &eo), 0);
    static const char *const d[] = {"h:2"};
    expect_addrs(sp.targets, sp.n_targets, d, 1);
    url_spec_free(&sp);
}

static void test_spec_service_range_errors(void **state)
{
    (void)state;
    struct url_spec sp;
    char err[256];
    size_t eo;
    static const struct {
        const char *arg;
        int rc;
        size_t off;
        const char *msg;
    } cases[] = {
        {":8003-8000", -EINVAL, 1, "ends before it starts"},
        {":0-65535", -E2BIG, 1, "more than 65535 ports"},
        {":1-70000", -EINVAL, 1, "beyond 0-65535"},
        {":70000", -EINVAL, 1, "invalid port \"70000\""},
        {"tcp://:abc", -EINVAL, 7, "invalid port \"abc\""},
        {"tcp://h:", -EINVAL, 8, "invalid port \"\""},
        {"tcp://:1-2-3", -EINVAL, 7, "invalid port range"},
        {"tcp://:1/h:x", -EINVAL, 11, "in forward target"},
        {"tcp://:1/h:5-1", -EINVAL, 11, "ends before it starts"},
        {"tcp://:1/a:1-40000,b:1-40000", -E2BIG, 21, "too many forward targets"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        int rc = spec(cases[i].arg, URL_ROLE_SERVICE, &sp, err, sizeof err, &eo);
        if (rc != cases[i].rc || eo != cases[i].off || !strstr(err, cases[i].msg))
            fail_msg("%s: rc %d off %zu err \"%s\"", cases[i].arg, rc, eo, err);
    }
}

static void test_spec_service_hostcut(void **state)
{
    (void)state;
    struct url_spec sp;
    char err[256];
    size_t eo;
    /* the host is cut before parsing: user info stays, the host is not validated by url.Parse */
    assert_int_equal(
        spec("http://u:p%21@[zz]:80/x?k=v", URL_ROLE_SERVICE, &sp, err, sizeof err, &eo), 0);
    assert_string_equal(sp.url.username, "u");
    assert_string_equal(sp.url.password, "p!");
    assert_string_equal(sp.url.host, "[zz]:80");
    assert_int_equal(sp.url.host_off, 14);
    static const char *const a[] = {"zz:80"};
    expect_addrs(sp.addrs, sp.n_addrs, a, 1);
    assert_int_equal(sp.query.n, 1);
    assert_string_equal(sp.query.items[0].key, "k");
    assert_int_equal(sp.query.items[0].key_off, 24);
    assert_int_equal(sp.query.items[0].value_off, 26);
    url_spec_free(&sp);

    /* '#' does not end the host for cutHost */
    assert_int_equal(spec("tcp://:80#x", URL_ROLE_SERVICE, &sp, err, sizeof err, &eo), -EINVAL);
}

static void test_spec_service_path_based(void **state)
{
    (void)state;
    struct url_spec sp;
    char err[256];
    size_t eo;
    assert_int_equal(spec("unix:///var/run/gost.sock", URL_ROLE_SERVICE, &sp, err, sizeof err, &eo),
                     0);
    assert_true(sp.path_based);
    assert_true(sp.path_addr);
    static const char *const a[] = {"/var/run/gost.sock"};
    expect_addrs(sp.addrs, sp.n_addrs, a, 1);
    assert_int_equal(sp.n_targets, 0);
    url_spec_free(&sp);

    assert_int_equal(
        spec("unix://gost.sock/gost2.sock", URL_ROLE_SERVICE, &sp, err, sizeof err, &eo), 0);
    assert_false(sp.path_addr);
    static const char *const b[] = {"gost.sock"};
    expect_addrs(sp.addrs, sp.n_addrs, b, 1);
    static const char *const bt[] = {"gost2.sock"};
    expect_addrs(sp.targets, sp.n_targets, bt, 1);
    url_spec_free(&sp);

    /* runix://./app.sock/var/run/remote.sock: GOST's host cut stops at the first '/', so the
     * listen address is "." and the target "app.sock/var/run/remote.sock" (the docs claim
     * ./app.sock and /var/run/remote.sock; the code does not do that) */
    assert_int_equal(
        spec("runix://./app.sock/var/run/remote.sock", URL_ROLE_SERVICE, &sp, err, sizeof err, &eo),
        0);
    static const char *const c[] = {"."};
    expect_addrs(sp.addrs, sp.n_addrs, c, 1);
    static const char *const ct[] = {"app.sock/var/run/remote.sock"};
    expect_addrs(sp.targets, sp.n_targets, ct, 1);
    url_spec_free(&sp);

    /* any scheme word counts, e.g. relay+unix */
    assert_int_equal(spec("relay+serial:///dev/ttyS0", URL_ROLE_SERVICE, &sp, err, sizeof err, &eo),
                     0);
    assert_true(sp.path_addr);
    static const char *const d[] = {"/dev/ttyS0"};
    expect_addrs(sp.addrs, sp.n_addrs, d, 1);
    url_spec_free(&sp);

    /* tun is not path based: the path is a target */
    assert_int_equal(spec("tun:///host-1?net=x", URL_ROLE_SERVICE, &sp, err, sizeof err, &eo), 0);
    assert_false(sp.path_based);
    static const char *const e[] = {""};
    expect_addrs(sp.addrs, sp.n_addrs, e, 1);
    static const char *const et[] = {"host-1"};
    expect_addrs(sp.targets, sp.n_targets, et, 1);
    url_spec_free(&sp);
}

/* ---- url_spec_parse: nodes (-F) ------------------------------------------------------------ */

static void test_spec_node(void **state)
{
    (void)state;
    struct url_spec sp;
    char err[256];
    size_t eo;
    assert_int_equal(spec("http://a:1,,b:2?x=1", URL_ROLE_NODE, &sp, err, sizeof err, &eo), 0);
    static const char *const a[] = {"a:1", "b:2"};
    expect_addrs(sp.addrs, sp.n_addrs, a, 2);
    assert_int_equal(sp.addrs[0].off, 7);
    assert_int_equal(sp.addrs[1].off, 12);
    url_spec_free(&sp);

    assert_int_equal(spec("1.2.3.4:8080", URL_ROLE_NODE, &sp, err, sizeof err, &eo), 0);
    assert_true(sp.implicit_scheme);
    static const char *const b[] = {"1.2.3.4:8080"};
    expect_addrs(sp.addrs, sp.n_addrs, b, 1);
    url_spec_free(&sp);

    assert_int_equal(
        spec("http+unix:///var/run/docker.sock", URL_ROLE_NODE, &sp, err, sizeof err, &eo), 0);
    static const char *const c[] = {"/var/run/docker.sock"};
    expect_addrs(sp.addrs, sp.n_addrs, c, 1);
    url_spec_free(&sp);

    assert_int_equal(spec("unix://docker.sock/ignored", URL_ROLE_NODE, &sp, err, sizeof err, &eo),
                     0);
    static const char *const d[] = {"docker.sock"};
    expect_addrs(sp.addrs, sp.n_addrs, d, 1);
    assert_int_equal(sp.n_targets, 0);
    url_spec_free(&sp);

    /* a port range is not a valid port for url.Parse */
    assert_int_equal(spec("http://h:8000-8003", URL_ROLE_NODE, &sp, err, sizeof err, &eo), -EINVAL);
    assert_non_null(strstr(err, "invalid port"));
    assert_int_equal(eo, 8);

    assert_int_equal(spec("   ", URL_ROLE_NODE, &sp, err, sizeof err, &eo), -EINVAL);
    assert_string_equal(err, "invalid cmd");

    /* the host is required to be empty for the path to be the address */
    assert_int_equal(spec("http://", URL_ROLE_NODE, &sp, err, sizeof err, &eo), 0);
    assert_int_equal(sp.n_addrs, 0);
    url_spec_free(&sp);
}

static void test_spec_limits(void **state)
{
    (void)state;
    struct url_spec sp;
    char err[256];
    size_t eo;
    size_t n = URL_MAX_LEN + 10;
    char *s = malloc(n + 1);
    memset(s, 'a', n);
    s[n] = '\0';
    assert_int_equal(url_spec_parse(s, n, URL_ROLE_SERVICE, &sp, err, sizeof err, &eo), -E2BIG);
    assert_int_equal(url_spec_parse(s, n, URL_ROLE_NODE, &sp, err, sizeof err, &eo), -E2BIG);
    free(s);
    assert_int_equal(url_spec_parse("a\0b", 3, URL_ROLE_NODE, &sp, err, sizeof err, &eo), -EINVAL);
    assert_int_equal(eo, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_full),
        cmocka_unit_test(test_parse_scheme_lowercased),
        cmocka_unit_test(test_parse_userinfo_forms),
        cmocka_unit_test(test_parse_hosts),
        cmocka_unit_test(test_parse_paths_and_opaque),
        cmocka_unit_test(test_parse_query_cut),
        cmocka_unit_test(test_parse_too_long),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_hostname),
        cmocka_unit_test(test_split_join),
        cmocka_unit_test(test_atoi),
        cmocka_unit_test(test_unescape_modes),
        cmocka_unit_test(test_spec_service_basic),
        cmocka_unit_test(test_spec_service_https_and_parts),
        cmocka_unit_test(test_spec_service_ranges),
        cmocka_unit_test(test_spec_service_range_errors),
        cmocka_unit_test(test_spec_service_hostcut),
        cmocka_unit_test(test_spec_service_path_based),
        cmocka_unit_test(test_spec_node),
        cmocka_unit_test(test_spec_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
