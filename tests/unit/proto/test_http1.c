/* Unit tests for proto/http1: head parsing, header queries, targets, framing, chunked scanner,
 * Go-format writers, Basic auth. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/http1.h"

static int parse_req(const char *text, char *buf, struct http1_head *h)
{
    size_t n = strlen(text);
    memcpy(buf, text, n + 1);
    return http1_parse_request(buf, n, h);
}

static void test_request_forms(void **st)
{
    (void)st;
    char buf[4096];
    struct http1_head h;
    assert_int_equal(parse_req("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
                               "Proxy-Connection: keep-alive\r\n\r\n",
                               buf, &h),
                     0);
    assert_string_equal(h.method, "CONNECT");
    assert_string_equal(h.target, "example.com:443");
    assert_int_equal(h.minor, 1);
    assert_int_equal(h.n_hdr, 2);
    assert_string_equal(http1_get(&h, "proxy-connection"), "keep-alive");

    assert_int_equal(
        parse_req("GET http://a.b/x?y=1 HTTP/1.0\nHost:  a.b \nX-A: 1\nx-a: 2\n\n", buf, &h), 0);
    assert_int_equal(h.minor, 0);
    assert_string_equal(http1_get(&h, "HOST"), "a.b");
    assert_int_equal(http1_count(&h, "X-A"), 2);
    assert_string_equal(h.hdr[2].value, "2");

    assert_int_equal(parse_req("GET / HTTP/1.1\r\nHost: h\r\n\r\n", buf, &h), 0);
    assert_string_equal(h.target, "/");
}

static void test_request_malformed(void **st)
{
    (void)st;
    char buf[4096];
    struct http1_head h;
    const char *bad[] = {
        "GET  / HTTP/1.1\r\n\r\n",              /* double space */
        "GET /\r\n\r\n",                        /* no version */
        "G(T / HTTP/1.1\r\n\r\n",               /* method not a token */
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",   /* space before colon */
        "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", /* folding */
        "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",    /* bare CR */
        "GET / HTTP/1.1\r\n: v\r\n\r\n",        /* empty name */
        "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b", /* incomplete */
        "GET / HTTP/1.x\r\n\r\n",
        "GET /\x01 HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(parse_req(bad[i], buf, &h), -EINVAL);
    assert_int_equal(parse_req("GET / HTTP/2.0\r\n\r\n", buf, &h), -EPROTONOSUPPORT);
    /* NUL inside a value */
    char nul[] = "GET / HTTP/1.1\r\nA: x\0y\r\n\r\n";
    assert_int_equal(http1_parse_request(nul, sizeof nul - 1, &h), -EINVAL);
    /* header count limit */
    static char big[HTTP1_MAX_HEADERS * 8 + 64];
    size_t n = (size_t)sprintf(big, "GET / HTTP/1.1\r\n");
    for (int i = 0; i <= HTTP1_MAX_HEADERS; i++)
        n += (size_t)sprintf(big + n, "A%d: 1\r\n", i % 10);
    n += (size_t)sprintf(big + n, "\r\n");
    assert_int_equal(http1_parse_request(big, n, &h), -E2BIG);
}

static void test_response(void **st)
{
    (void)st;
    char buf[512];
    struct http1_head h;
    const char *t = "HTTP/1.1 200 Connection established\r\nConnection: close\r\n"
                    "Proxy-Agent: gost/3.0\r\n\r\nDATA";
    size_t n = strlen(t);
    memcpy(buf, t, n + 1);
    assert_int_equal(http1_head_end(buf, n), n - 4);
    assert_int_equal(http1_head_end(buf, n - 5), 0);
    assert_int_equal(http1_parse_response(buf, n, &h), 0);
    assert_int_equal(h.status, 200);
    assert_string_equal(h.reason, "Connection established");
    assert_true(http1_has_token(&h, "connection", "CLOSE"));
    strcpy(buf, "HTTP/1.0 404\r\n\r\n");
    assert_int_equal(http1_parse_response(buf, strlen(buf), &h), 0);
    assert_int_equal(h.status, 404);
    assert_string_equal(h.reason, "");
    strcpy(buf, "HTTP/1.1 20 OK\r\n\r\n");
    assert_int_equal(http1_parse_response(buf, strlen(buf), &h), -EINVAL);
}

static void test_hop_by_hop(void **st)
{
    (void)st;
    char buf[512];
    struct http1_head h;
    assert_int_equal(parse_req("GET / HTTP/1.1\r\nConnection: keep-alive, X-Foo, Content-Length\r\n"
                               "X-Foo: 1\r\nUpgrade: websocket\r\nContent-Length: 3\r\n\r\n",
                               buf, &h),
                     0);
    assert_true(http1_is_hop_by_hop(&h, "Connection", false));
    assert_true(http1_is_hop_by_hop(&h, "proxy-authorization", false));
    assert_true(http1_is_hop_by_hop(&h, "Proxy-Connection", false));
    assert_true(http1_is_hop_by_hop(&h, "keep-alive", false));
    assert_true(http1_is_hop_by_hop(&h, "TE", false));
    assert_true(http1_is_hop_by_hop(&h, "Trailer", false));
    assert_true(http1_is_hop_by_hop(&h, "x-foo", false));
    assert_true(http1_is_hop_by_hop(&h, "Upgrade", false));
    assert_false(http1_is_hop_by_hop(&h, "Upgrade", true));
    assert_false(http1_is_hop_by_hop(&h, "Content-Length", false));
    assert_false(http1_is_hop_by_hop(&h, "Transfer-Encoding", false));
    assert_false(http1_is_hop_by_hop(&h, "X-Bar", false));
}

static void test_targets(void **st)
{
    (void)st;
    char out[300];
    const char *path;
    assert_int_equal(http1_authority("example.com", 80, out, sizeof out), 0);
    assert_string_equal(out, "example.com:80");
    assert_int_equal(http1_authority("[::1]:8443", 80, out, sizeof out), 0);
    assert_string_equal(out, "[::1]:8443");
    assert_int_equal(http1_authority("1.2.3.4:", 80, out, sizeof out), 0);
    assert_string_equal(out, "1.2.3.4:80");
    assert_int_equal(http1_authority("a b:1", 80, out, sizeof out), -EINVAL);
    assert_int_equal(http1_authority("a:0", 80, out, sizeof out), -EINVAL);
    assert_int_equal(http1_authority("a:65536", 80, out, sizeof out), -EINVAL);
    assert_int_equal(http1_authority("a:1:2", 80, out, sizeof out), -EINVAL);
    assert_int_equal(http1_authority("::1", 80, out, sizeof out), -EINVAL);
    assert_int_equal(http1_authority("", 80, out, sizeof out), -EINVAL);
    assert_int_equal(http1_authority("[]:1", 80, out, sizeof out), -EINVAL);

    assert_int_equal(
        http1_absolute_uri("http://u:p@Example.com:8080/a/b?c", out, sizeof out, &path), 0);
    assert_string_equal(out, "Example.com:8080");
    assert_string_equal(path, "/a/b?c");
    assert_int_equal(http1_absolute_uri("HTTP://h", out, sizeof out, &path), 0);
    assert_string_equal(out, "h:80");
    assert_string_equal(path, "/");
    assert_int_equal(http1_absolute_uri("http://h?q", out, sizeof out, &path), 0);
    assert_string_equal(path, "?q");
    assert_int_equal(http1_absolute_uri("https://h/", out, sizeof out, &path), -EPROTONOSUPPORT);
    assert_int_equal(http1_absolute_uri("/x", out, sizeof out, &path), -EINVAL);
    assert_int_equal(http1_absolute_uri("http:///x", out, sizeof out, &path), -EINVAL);
}

static void test_framing(void **st)
{
    (void)st;
    char buf[512];
    struct http1_head h;
    enum http1_body k;
    uint64_t len;
    parse_req("POST / HTTP/1.1\r\nContent-Length: 12\r\nContent-Length: 12\r\n\r\n", buf, &h);
    assert_int_equal(http1_req_body(&h, &k, &len), 0);
    assert_int_equal(k, HTTP1_BODY_LENGTH);
    assert_int_equal(len, 12);
    parse_req("POST / HTTP/1.1\r\nContent-Length: 12\r\nContent-Length: 13\r\n\r\n", buf, &h);
    assert_int_equal(http1_req_body(&h, &k, &len), -EINVAL);
    parse_req("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", buf,
              &h);
    assert_int_equal(http1_req_body(&h, &k, &len), -EINVAL);
    parse_req("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n", buf, &h);
    assert_int_equal(http1_req_body(&h, &k, &len), 0);
    assert_int_equal(k, HTTP1_BODY_CHUNKED);
    parse_req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", buf, &h);
    assert_int_equal(http1_req_body(&h, &k, &len), -EINVAL);
    parse_req("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", buf, &h);
    assert_int_equal(http1_req_body(&h, &k, &len), -EINVAL);
    parse_req("GET / HTTP/1.1\r\n\r\n", buf, &h);
    assert_int_equal(http1_req_body(&h, &k, &len), 0);
    assert_int_equal(k, HTTP1_BODY_NONE);

    strcpy(buf, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
    http1_parse_response(buf, strlen(buf), &h);
    assert_int_equal(http1_resp_body(&h, "GET", &k, &len), 0);
    assert_int_equal(k, HTTP1_BODY_LENGTH);
    assert_int_equal(http1_resp_body(&h, "HEAD", &k, &len), 0);
    assert_int_equal(k, HTTP1_BODY_NONE);
    strcpy(buf, "HTTP/1.1 200 OK\r\n\r\n");
    http1_parse_response(buf, strlen(buf), &h);
    assert_int_equal(http1_resp_body(&h, "GET", &k, &len), 0);
    assert_int_equal(k, HTTP1_BODY_CLOSE);
    strcpy(buf, "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n");
    http1_parse_response(buf, strlen(buf), &h);
    assert_int_equal(http1_resp_body(&h, "GET", &k, &len), 0);
    assert_int_equal(k, HTTP1_BODY_NONE);
    strcpy(buf, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n");
    http1_parse_response(buf, strlen(buf), &h);
    assert_int_equal(http1_resp_body(&h, "GET", &k, &len), 0);
    assert_int_equal(k, HTTP1_BODY_CLOSE);
}

static void test_chunked(void **st)
{
    (void)st;
    const char *body = "4;ext=1\r\nWiki\r\n5 \r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n"
                       "Trailer-A: x\r\n\r\nNEXT";
    size_t n = strlen(body);
    /* all at once */
    struct http1_chunked c;
    http1_chunked_init(&c);
    assert_int_equal(http1_chunked_feed(&c, body, n), n - 4);
    assert_true(c.done);
    /* byte by byte */
    http1_chunked_init(&c);
    size_t used = 0;
    for (size_t i = 0; i < n && !c.done; i++) {
        ssize_t u = http1_chunked_feed(&c, body + i, 1);
        assert_true(u == 1);
        used += (size_t)u;
    }
    assert_true(c.done);
    assert_int_equal(used, n - 4);
    /* LF-only line ends */
    http1_chunked_init(&c);
    assert_int_equal(http1_chunked_feed(&c, "1\na\n0\n\nX", 8), 7);
    assert_true(c.done);
    const char *bad[] = {"g\r\n", "\r\n", "1\r\nab", "1 2\r\n", ";x\r\n", "0\r\n\r\x01"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        http1_chunked_init(&c);
        assert_true(http1_chunked_feed(&c, bad[i], strlen(bad[i])) < 0);
    }
    http1_chunked_init(&c);
    assert_int_equal(http1_chunked_feed(&c, "fffffffffffffffff\r\n", 19), -EMSGSIZE);
}

static void test_go_writers(void **st)
{
    (void)st;
    char buf[1024];
    struct http1_out o;
    struct http1_kv kv[] = {{"Proxy-Agent", "gost/3.0"}};
    http1_out_init(&o, buf, sizeof buf);
    http1_go_response(&o, 1, 200, "Connection established", -1, kv, 1);
    assert_true(http1_out_ok(&o));
    const char *want = "HTTP/1.1 200 Connection established\r\nConnection: close\r\n"
                       "Proxy-Agent: gost/3.0\r\n\r\n";
    assert_int_equal(o.len, strlen(want));
    assert_memory_equal(buf, want, o.len);

    http1_out_init(&o, buf, sizeof buf);
    http1_go_response(&o, 1, 200, NULL, 0, NULL, 0);
    want = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(o.len, strlen(want));
    assert_memory_equal(buf, want, o.len);

    struct http1_kv k407[] = {{"Proxy-Authenticate", "Basic realm=\"gost\""},
                              {"Connection", "close"},
                              {"Proxy-Connection", "close"},
                              {"Cache-Control", "no"}};
    http1_out_init(&o, buf, sizeof buf);
    http1_go_response(&o, 1, 407, NULL, -1, k407, 4);
    want = "HTTP/1.1 407 Proxy Authentication Required\r\nCache-Control: no\r\n"
           "Connection: close\r\nProxy-Authenticate: Basic realm=\"gost\"\r\n"
           "Proxy-Connection: close\r\n\r\n";
    assert_int_equal(o.len, strlen(want));
    assert_memory_equal(buf, want, o.len);

    http1_out_init(&o, buf, sizeof buf);
    http1_go_response(&o, 1, 599, NULL, -1, NULL, 0);
    want = "HTTP/1.1 599 status code 599\r\nConnection: close\r\n\r\n";
    assert_memory_equal(buf, want, o.len);

    struct http1_kv rq[] = {{"X-B", "2"}, {"Proxy-Connection", "keep-alive"}, {"Host", "no"}};
    http1_out_init(&o, buf, sizeof buf);
    http1_go_request(&o, "CONNECT", "h:1", "h:1", rq, 3);
    want = "CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\nUser-Agent: Go-http-client/1.1\r\n"
           "Proxy-Connection: keep-alive\r\nX-B: 2\r\n\r\n";
    assert_int_equal(o.len, strlen(want));
    assert_memory_equal(buf, want, o.len);

    http1_out_init(&o, buf, 10);
    http1_go_request(&o, "CONNECT", "h:1", "h:1", NULL, 0);
    assert_false(http1_out_ok(&o));

    char key[64];
    http1_canonical_key("x-gost-PROTOCOL", key, sizeof key);
    assert_string_equal(key, "X-Gost-Protocol");
    http1_canonical_key("bad key", key, sizeof key);
    assert_string_equal(key, "bad key");
}

static void test_basic(void **st)
{
    (void)st;
    char u[64], p[64], enc[128];
    assert_int_equal(http1_basic_encode("gost", "gostpass", enc, sizeof enc), 26);
    assert_string_equal(enc, "Basic Z29zdDpnb3N0cGFzcw==");
    assert_int_equal(http1_basic_decode(enc, u, sizeof u, p, sizeof p), 0);
    assert_string_equal(u, "gost");
    assert_string_equal(p, "gostpass");
    assert_int_equal(http1_basic_decode("basic YTpiOmM=", u, sizeof u, p, sizeof p), 0);
    assert_string_equal(u, "a");
    assert_string_equal(p, "b:c");
    assert_int_equal(http1_basic_encode("", "", enc, sizeof enc), 10);
    assert_string_equal(enc, "Basic Og==");
    assert_int_equal(http1_basic_decode("Bearer x", u, sizeof u, p, sizeof p), -EINVAL);
    assert_int_equal(http1_basic_decode("Basic YWJj", u, sizeof u, p, sizeof p), -EINVAL);
    assert_int_equal(http1_basic_decode("Basic Z29zdA=", u, sizeof u, p, sizeof p), -EINVAL);
    assert_int_equal(http1_basic_decode("Basic Z2=zdA==", u, sizeof u, p, sizeof p), -EINVAL);
    assert_int_equal(http1_basic_decode("Basic Z29zdDpnb3N0cGFzcw==", u, 3, p, sizeof p),
                     -ENAMETOOLONG);
    unsigned char out[16];
    assert_int_equal(http1_b64_rawurl_decode("aGk", 3, out, sizeof out), 2);
    assert_memory_equal(out, "hi", 2);
    assert_int_equal(http1_b64_rawurl_decode("a+", 2, out, sizeof out), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_forms), cmocka_unit_test(test_request_malformed),
        cmocka_unit_test(test_response),      cmocka_unit_test(test_hop_by_hop),
        cmocka_unit_test(test_targets),       cmocka_unit_test(test_framing),
        cmocka_unit_test(test_chunked),       cmocka_unit_test(test_go_writers),
        cmocka_unit_test(test_basic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
