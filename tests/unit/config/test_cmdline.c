/* Unit tests for config/cmdline: -L/-F → configuration tree, checked node by node against the
 * rules of go-gost/x config/cmd/cmd.go (inventory §4 examples and more). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/cmdline.h"
#include "config/gost_types.h"
#include "config/url.h"

/* ---- tree helpers -------------------------------------------------------------------------- */

/* Node at a '/'-separated path ("services/0/handler/type"); list steps are indexes. */
static const struct cval *at(const struct cval *v, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *tok = strtok_r(buf, "/", &save); tok && v; tok = strtok_r(NULL, "/", &save)) {
        if (v->kind == CVAL_LIST) {
            char *end;
            unsigned long i = strtoul(tok, &end, 10);
            v = (*end == '\0' && i < v->u.list.n) ? v->u.list.items[i] : NULL;
        } else if (v->kind == CVAL_MAP) {
            v = cval_map_get(v, tok);
        } else {
            v = NULL;
        }
    }
    return v;
}

#define S(root, path, want)        expect_str_at(root, path, want, __LINE__)
#define I(root, path, want)        expect_int_at(root, path, want, __LINE__)
#define B(root, path, want)        expect_bool_at(root, path, want, __LINE__)
#define NONE(root, path)           expect_none_at(root, path, __LINE__)
#define N(root, path, want)        expect_len_at(root, path, want, __LINE__)
#define COL(root, path, file, col) expect_pos_at(root, path, file, col, __LINE__)

static void expect_str_at(const struct cval *r, const char *p, const char *want, int line)
{
    const struct cval *v = at(r, p);
    if (!v || v->kind != CVAL_STR || strcmp(v->str, want) != 0)
        fail_msg("line %d: %s: want \"%s\", got %s%s%s", line, p, want, v ? "\"" : "(none)",
                 v && v->str ? v->str : "", v ? "\"" : "");
}

static void expect_int_at(const struct cval *r, const char *p, int64_t want, int line)
{
    const struct cval *v = at(r, p);
    if (!v || v->kind != CVAL_INT || v->u.i != want)
        fail_msg("line %d: %s: want int %lld, got %s", line, p, (long long)want,
                 v && v->str ? v->str : "(none / not an int)");
}

static void expect_bool_at(const struct cval *r, const char *p, bool want, int line)
{
    const struct cval *v = at(r, p);
    if (!v || v->kind != CVAL_BOOL || v->u.b != want)
        fail_msg("line %d: %s: want bool %d", line, p, want);
}

static void expect_none_at(const struct cval *r, const char *p, int line)
{
    if (at(r, p))
        fail_msg("line %d: %s: expected absent", line, p);
}

static void expect_len_at(const struct cval *r, const char *p, size_t want, int line)
{
    const struct cval *v = *p ? at(r, p) : r;
    size_t n = !v                     ? (size_t)-1
               : v->kind == CVAL_LIST ? v->u.list.n
               : v->kind == CVAL_MAP  ? v->u.map.n
                                      : (size_t)-1;
    if (n != want)
        fail_msg("line %d: %s: want %zu entries, got %zd", line, p, want, (ssize_t)n);
}

static void expect_pos_at(const struct cval *r, const char *p, const char *file, int col, int line)
{
    const struct cval *v = at(r, p);
    if (!v || !v->pos.file || strcmp(v->pos.file, file) != 0 || v->pos.col != col ||
        v->pos.line != 1)
        fail_msg("line %d: %s: want %s:1:%d, got %s:%d:%d", line, p, file, col,
                 v && v->pos.file ? v->pos.file : "?", v ? v->pos.line : 0, v ? v->pos.col : 0);
}

/* Builds from NULL-terminated lists; fails the test on error. */
static struct cval *build(const char *const *L, const char *const *F)
{
    size_t nl = 0, nf = 0;
    while (L && L[nl])
        nl++;
    while (F && F[nf])
        nf++;
    struct cval *out = NULL;
    char err[512];
    int rc = cmdline_build(L, nl, F, nf, &out, err, sizeof err);
    if (rc != 0)
        fail_msg("cmdline_build failed: %d %s", rc, err);
    assert_non_null(out);
    return out;
}

#define LS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Expects an error whose message contains `msg`. */
static void expect_error(const char *const *L, const char *const *F, int rc_want, const char *msg)
{
    size_t nl = 0, nf = 0;
    while (L && L[nl])
        nl++;
    while (F && F[nf])
        nf++;
    struct cval *out = (struct cval *)1;
    char err[512] = "";
    int rc = cmdline_build(L, nl, F, nf, &out, err, sizeof err);
    if (rc != rc_want || out != NULL || !strstr(err, msg))
        fail_msg("want error %d containing \"%s\", got %d \"%s\"", rc_want, msg, rc, err);
}

/* ---- inventory §4 examples ----------------------------------------------------------------- */

static void test_ex_auto(void **state)
{
    (void)state;
    struct cval *r = build(LS(":8080"), NULL);
    N(r, "", 1);
    N(r, "services", 1);
    N(r, "services/0", 4);
    S(r, "services/0/name", "service-0");
    S(r, "services/0/addr", ":8080");
    S(r, "services/0/handler/type", "auto");
    N(r, "services/0/handler", 1);
    S(r, "services/0/listener/type", "tcp");
    N(r, "services/0/listener", 1);
    COL(r, "services/0/addr", "-L[0]", 1);
    COL(r, "services/0/handler/type", "-L[0]", 1);
    cval_free(r);
}

static void test_ex_http_auth_socks5_tls(void **state)
{
    (void)state;
    struct cval *r = build(LS("http://u:p@:8080"), LS("socks5+tls://1.2.3.4:1080"));
    S(r, "services/0/handler/type", "http");
    S(r, "services/0/handler/chain", "chain-0");
    S(r, "services/0/handler/auth/username", "u");
    S(r, "services/0/handler/auth/password", "p");
    COL(r, "services/0/handler/auth/username", "-L[0]", 8);
    S(r, "services/0/listener/type", "tcp");
    NONE(r, "services/0/listener/chain");
    N(r, "chains", 1);
    S(r, "chains/0/name", "chain-0");
    N(r, "chains/0/hops", 1);
    S(r, "chains/0/hops/0/name", "hop-0");
    N(r, "chains/0/hops/0/nodes", 1);
    S(r, "chains/0/hops/0/nodes/0/name", "node-0");
    S(r, "chains/0/hops/0/nodes/0/addr", "1.2.3.4:1080");
    COL(r, "chains/0/hops/0/nodes/0/addr", "-F[0]", 14);
    S(r, "chains/0/hops/0/nodes/0/connector/type", "socks5");
    NONE(r, "chains/0/hops/0/nodes/0/connector/auth");
    S(r, "chains/0/hops/0/nodes/0/dialer/type", "tls");
    /* GOST defaults serverName to the URL host whenever there is one */
    S(r, "chains/0/hops/0/nodes/0/dialer/tls/serverName", "1.2.3.4");
    N(r, "chains/0/hops/0/nodes/0/dialer/tls", 1);
    NONE(r, "chains/0/hops/0/metadata");
    cval_free(r);
}

static void test_ex_forward_rand(void **state)
{
    (void)state;
    struct cval *r = build(LS("tcp://:8080/192.168.1.1:80,192.168.1.2:80?strategy=rand"), NULL);
    N(r, "services", 1);
    S(r, "services/0/handler/type", "tcp");
    S(r, "services/0/listener/type", "tcp");
    S(r, "services/0/forwarder/selector/strategy", "rand");
    I(r, "services/0/forwarder/selector/maxFails", 1);
    S(r, "services/0/forwarder/selector/failTimeout", "30s");
    N(r, "services/0/forwarder/nodes", 2);
    S(r, "services/0/forwarder/nodes/0/name", "target-0");
    S(r, "services/0/forwarder/nodes/0/addr", "192.168.1.1:80");
    S(r, "services/0/forwarder/nodes/1/name", "target-1");
    S(r, "services/0/forwarder/nodes/1/addr", "192.168.1.2:80");
    COL(r, "services/0/forwarder/nodes/1/addr", "-L[0]", 28);
    NONE(r, "services/0/metadata");
    NONE(r, "services/0/handler/metadata");
    cval_free(r);
}

static void test_ex_rtcp_listener_chain(void **state)
{
    (void)state;
    struct cval *r = build(LS("rtcp://:2222/:22"), LS("socks5://srv:1080"));
    S(r, "services/0/handler/type", "rtcp");
    NONE(r, "services/0/handler/chain");
    S(r, "services/0/listener/type", "rtcp");
    S(r, "services/0/listener/chain", "chain-0");
    S(r, "services/0/forwarder/nodes/0/addr", ":22");
    S(r, "chains/0/hops/0/nodes/0/connector/type", "socks5");
    S(r, "chains/0/hops/0/nodes/0/dialer/type", "tcp");
    S(r, "chains/0/hops/0/nodes/0/dialer/tls/serverName", "srv");
    cval_free(r);

    r = build(LS("rudp://:10053/:53", "runix:///tmp/x.sock", "tcp://:1/:2"), LS("relay://h:8420"));
    S(r, "services/0/listener/chain", "chain-0");
    S(r, "services/1/listener/type", "runix");
    S(r, "services/1/listener/chain", "chain-0");
    S(r, "services/1/handler/type", "runix");
    S(r, "services/1/addr", "/tmp/x.sock");
    S(r, "services/2/handler/chain", "chain-0");
    NONE(r, "services/2/listener/chain");
    cval_free(r);
}

static void test_ex_udp_keepalive(void **state)
{
    (void)state;
    struct cval *r = build(LS("udp://:5353/8.8.8.8:53?keepalive=true&ttl=60s"), NULL);
    S(r, "services/0/handler/type", "udp");
    S(r, "services/0/listener/type", "udp");
    S(r, "services/0/forwarder/nodes/0/addr", "8.8.8.8:53");
    NONE(r, "services/0/forwarder/selector");
    const char *const scopes[] = {"services/0/metadata", "services/0/handler/metadata",
                                  "services/0/listener/metadata"};
    for (size_t i = 0; i < 3; i++) {
        char p[128];
        N(r, scopes[i], 2);
        snprintf(p, sizeof p, "%s/keepalive", scopes[i]);
        S(r, p, "true");
        snprintf(p, sizeof p, "%s/ttl", scopes[i]);
        S(r, p, "60s");
    }
    COL(r, "services/0/metadata/ttl", "-L[0]", 43);
    cval_free(r);
}

static void test_ex_ss_and_tun(void **state)
{
    (void)state;
    struct cval *r = build(
        LS("ss://chacha20-ietf-poly1305:pass@:8338", "tun://:8421?net=192.168.123.1/24"), NULL);
    S(r, "services/0/handler/type", "ss");
    S(r, "services/0/listener/type", "tcp");
    S(r, "services/0/handler/auth/username", "chacha20-ietf-poly1305");
    S(r, "services/0/handler/auth/password", "pass");
    S(r, "services/0/addr", ":8338");
    S(r, "services/1/name", "service-1");
    S(r, "services/1/handler/type", "tun");
    S(r, "services/1/listener/type", "tun");
    S(r, "services/1/addr", ":8421");
    S(r, "services/1/metadata/net", "192.168.123.1/24");
    S(r, "services/1/handler/metadata/net", "192.168.123.1/24");
    NONE(r, "services/1/forwarder");
    cval_free(r);
}

/* ---- scheme rules -------------------------------------------------------------------------- */

static void test_scheme_defaults(void **state)
{
    (void)state;
    struct cval *r = build(LS("tls://:1", "http://:2", "kcp://:3", "socks5+wss://:4", "foo://:5",
                              "socks5+foo://:6", "foo+ws://:7", "a+b+c://:8", "ssu://:9",
                              "ssu+foo://:10", "HTTP://:11", "https://:12", "relay+tls://:13"),
                           LS("tls://h:1", "wss://h:2", "socks5://h:3", "foo+bar://h:4",
                              "ssu://h:5", "ssu+foo://h:6", "https://h:7", "a+b+c://h:8", ":9"));
    static const char *const want_l[][2] = {
        {"auto", "tls"},   {"http", "tcp"}, {"auto", "kcp"},  {"socks5", "wss"}, {"auto", "tcp"},
        {"socks5", "tcp"}, {"auto", "ws"},  {"auto", "tcp"},  {"ssu", "udp"},    {"ssu", "udp"},
        {"http", "tcp"},   {"http", "tls"}, {"relay", "tls"},
    };
    for (size_t i = 0; i < sizeof want_l / sizeof want_l[0]; i++) {
        char p[64];
        snprintf(p, sizeof p, "services/%zu/handler/type", i);
        S(r, p, want_l[i][0]);
        snprintf(p, sizeof p, "services/%zu/listener/type", i);
        S(r, p, want_l[i][1]);
    }
    static const char *const want_f[][2] = {
        {"http", "tls"}, {"http", "wss"}, {"socks5", "tcp"}, {"http", "tcp"}, {"ssu", "udp"},
        {"ssu", "udp"},  {"http", "tls"}, {"http", "tcp"},   {"http", "tcp"},
    };
    for (size_t i = 0; i < sizeof want_f / sizeof want_f[0]; i++) {
        char p[96];
        snprintf(p, sizeof p, "chains/0/hops/%zu/nodes/0/connector/type", i);
        S(r, p, want_f[i][0]);
        snprintf(p, sizeof p, "chains/0/hops/%zu/nodes/0/dialer/type", i);
        S(r, p, want_f[i][1]);
    }
    /* ":9" has no hostname: no default serverName, so no tls object */
    NONE(r, "chains/0/hops/8/nodes/0/dialer/tls");
    S(r, "chains/0/hops/8/nodes/0/addr", ":9");
    cval_free(r);
}

static void test_forward_handler_rewrite(void **state)
{
    (void)state;
    struct cval *r = build(LS("tls://:443/10.0.0.1:80", "kcp://:8443/:22", "relay://:8420/:53",
                              "relay+wss://:8420/:18080", "dns://:10053/1.1.1.1,tls://1.1.1.1:853",
                              "http://:8080/1.2.3.4:80", "ss+tls://:1/h:2", "tun://:0/1.2.3.4:8421",
                              "tap://:0/h:1", "serial://COM1/COM2", "sshd://:22/h:1"),
                           NULL);
    static const char *const want[][2] = {
        {"forward", "tls"}, {"forward", "kcp"},   {"relay", "tcp"},    {"relay", "wss"},
        {"dns", "dns"},     {"tcp", "tcp"},       {"forward", "tls"},  {"tun", "tun"},
        {"tap", "tap"},     {"serial", "serial"}, {"forward", "sshd"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char p[64];
        snprintf(p, sizeof p, "services/%zu/handler/type", i);
        S(r, p, want[i][0]);
        snprintf(p, sizeof p, "services/%zu/listener/type", i);
        S(r, p, want[i][1]);
    }
    S(r, "services/2/forwarder/nodes/0/addr", ":53");
    S(r, "services/4/forwarder/nodes/0/addr", "1.1.1.1");
    S(r, "services/4/forwarder/nodes/1/addr", "tls://1.1.1.1:853");
    S(r, "services/9/addr", "COM1");
    S(r, "services/9/forwarder/nodes/0/addr", "COM2");
    cval_free(r);
}

/* ---- port ranges --------------------------------------------------------------------------- */

static void test_port_ranges(void **state)
{
    (void)state;
    /* N ports ↔ N targets: paired 1:1 */
    struct cval *r = build(LS("tcp://:8000-8002/192.168.1.1:9000-9002"), NULL);
    N(r, "services", 3);
    for (int i = 0; i < 3; i++) {
        char p[64], w[32];
        snprintf(p, sizeof p, "services/%d/name", i);
        snprintf(w, sizeof w, "service-%d", i);
        S(r, p, w);
        snprintf(p, sizeof p, "services/%d/addr", i);
        snprintf(w, sizeof w, ":%d", 8000 + i);
        S(r, p, w);
        snprintf(p, sizeof p, "services/%d/forwarder/nodes", i);
        N(r, p, 1);
        snprintf(p, sizeof p, "services/%d/forwarder/nodes/0/name", i);
        snprintf(w, sizeof w, "target-%d", i);
        S(r, p, w);
        snprintf(p, sizeof p, "services/%d/forwarder/nodes/0/addr", i);
        snprintf(w, sizeof w, "192.168.1.1:%d", 9000 + i);
        S(r, p, w);
    }
    cval_free(r);

    /* one target shared by every port */
    r = build(LS("tcp://:8000-8002/h:80", ":9000"), NULL);
    N(r, "services", 4);
    S(r, "services/2/forwarder/nodes/0/name", "target-0");
    S(r, "services/2/forwarder/nodes/0/addr", "h:80");
    S(r, "services/3/name", "service-3");
    cval_free(r);

    /* more ports than targets: the extra services keep the forward handler but no forwarder */
    r = build(LS("tcp://:8000-8003/a:1,b:2"), NULL);
    N(r, "services", 4);
    S(r, "services/1/forwarder/nodes/0/addr", "b:2");
    S(r, "services/1/forwarder/nodes/0/name", "target-1");
    NONE(r, "services/2/forwarder");
    S(r, "services/3/handler/type", "tcp");
    cval_free(r);

    /* one port, a range of targets: all of them */
    r = build(LS("tcp://:8000/a:1-3?strategy=fifo"), NULL);
    N(r, "services/0/forwarder/nodes", 3);
    S(r, "services/0/forwarder/nodes/2/addr", "a:3");
    S(r, "services/0/forwarder/selector/strategy", "fifo");
    cval_free(r);

    /* selector shared by every forwarder of a range */
    r = build(LS("udp://:53-54/1.1.1.1:53?maxFails=2"), NULL);
    I(r, "services/1/forwarder/selector/maxFails", 2);
    S(r, "services/1/forwarder/selector/strategy", "round");
    cval_free(r);

    expect_error(LS("tcp://:8003-8000/h:1"), NULL, -EINVAL, "-L[0]:1:8: port range");
    expect_error(LS(":1", "tcp://:1/h:9-1"), NULL, -EINVAL, "-L[1]:1:");
    expect_error(LS(":0-65535"), NULL, -E2BIG, "more than 65535 ports");
}

/* ---- metadata scopes ----------------------------------------------------------------------- */

static void test_service_scopes(void **state)
{
    (void)state;
    struct cval *r = build(LS(":8080?service.k=s&handler.k=h&listener.k=l&k=all&z=1&a=2"), NULL);
    S(r, "services/0/metadata/k", "s");
    S(r, "services/0/handler/metadata/k", "h");
    S(r, "services/0/listener/metadata/k", "l");
    N(r, "services/0/metadata", 3);
    S(r, "services/0/metadata/z", "1");
    /* keys are sorted like Go's encoders sort map keys */
    const struct cval *md = at(r, "services/0/metadata");
    assert_string_equal(md->u.map.ents[0].key, "a");
    assert_string_equal(md->u.map.ents[1].key, "k");
    assert_string_equal(md->u.map.ents[2].key, "z");
    COL(r, "services/0/metadata/k", "-L[0]", 17); /* the value of service.k */
    cval_free(r);

    /* repeated keys: the first value wins; hop. on -L is just an unscoped key */
    r = build(LS(":1?a=1&a=2&hop.x=y"), NULL);
    S(r, "services/0/metadata/a", "1");
    S(r, "services/0/handler/metadata/hop.x", "y");
    cval_free(r);

    /* decoded keys and values: %XX and '+' */
    r = build(LS(":1?path=%2Fws+x&na%6De=a%20b"), NULL);
    S(r, "services/0/metadata/path", "/ws x");
    S(r, "services/0/metadata/name", "a b");
    cval_free(r);
}

static void test_node_scopes(void **state)
{
    (void)state;
    struct cval *r = build(
        LS(":1"), LS("http://h:1?hop.k=H&node.k=N&connector.k=C&dialer.k=D&k=all&timeout=5s"));
    const char *hop = "chains/0/hops/0";
    char p[160];
    snprintf(p, sizeof p, "%s/metadata/k", hop);
    S(r, p, "H");
    snprintf(p, sizeof p, "%s/metadata/timeout", hop);
    S(r, p, "5s");
    snprintf(p, sizeof p, "%s/metadata", hop);
    N(r, p, 2);
    S(r, "chains/0/hops/0/nodes/0/metadata/k", "N");
    S(r, "chains/0/hops/0/nodes/0/connector/metadata/k", "C");
    S(r, "chains/0/hops/0/nodes/0/dialer/metadata/k", "D");
    S(r, "chains/0/hops/0/nodes/0/dialer/metadata/timeout", "5s");
    S(r, "chains/0/hops/0/nodes/0/connector/metadata/timeout", "5s");
    S(r, "chains/0/hops/0/nodes/0/metadata/timeout", "5s");
    cval_free(r);
}

/* ---- special keys -------------------------------------------------------------------------- */

static void test_service_special_keys(void **state)
{
    (void)state;
    struct cval *r =
        build(LS("http://:8080?bypass=~10.0.0.0/8,,*.local&admission=1.2.3.4&resolver=1.1.1.1,"
                 "tcp://8.8.8.8&prefer=ipv6&hosts=example.org:127.0.0.1,bad,example.org:::1&"
                 "limiter.in=100MB&limiter.conn.out=10MB&climiter=1000&rlimiter=0.50&retries=3&"
                 "interface=eth0&so_mark=100&proxyProtocol=2&netns=ns1&netns.out=ns2&"
                 "dns=1.1.1.1,,8.8.8.8",
                 ":9090?bypass=a&climiter=x&rlimiter=1e2&limiter.in=1MB"),
              LS("http://h:1?bypass=hopbypass&resolver=9.9.9.9&hosts=a:1.1.1.1"));
    /* -F objects are created first */
    S(r, "bypasses/0/name", "bypass-0");
    S(r, "bypasses/0/matchers/0", "hopbypass");
    S(r, "chains/0/hops/0/bypass", "bypass-0");
    S(r, "chains/0/hops/0/resolver", "resolver-0");
    S(r, "chains/0/hops/0/hosts", "hosts-0");
    NONE(r, "resolvers/0/nameservers/0/prefer");

    const char *s = "services/0";
    (void)s;
    S(r, "services/0/bypass", "bypass-1");
    B(r, "bypasses/1/whitelist", true);
    N(r, "bypasses/1/matchers", 2);
    S(r, "bypasses/1/matchers/1", "*.local");
    S(r, "services/0/admission", "admission-0");
    NONE(r, "admissions/0/whitelist");
    S(r, "admissions/0/matchers/0", "1.2.3.4");
    S(r, "services/0/resolver", "resolver-1");
    S(r, "resolvers/1/nameservers/1/addr", "tcp://8.8.8.8");
    S(r, "resolvers/1/nameservers/1/prefer", "ipv6");
    S(r, "services/0/hosts", "hosts-1");
    N(r, "hosts/1/mappings", 2);
    S(r, "hosts/1/mappings/1/hostname", "example.org");
    S(r, "hosts/1/mappings/1/ip", "::1");
    S(r, "services/0/limiter", "limiter-0");
    S(r, "limiters/0/limits/0", "$ 100MB ");
    S(r, "limiters/0/limits/1", "$$  10MB");
    S(r, "services/0/climiter", "climiter-0");
    S(r, "climiters/0/limits/0", "$ 1000");
    S(r, "services/0/rlimiter", "rlimiter-0");
    S(r, "rlimiters/0/limits/0", "$ 0.5");
    I(r, "services/0/handler/retries", 3);

    /* consumed keys leave the handler metadata only (GOST deletes them there) */
    const char *gone[] = {"bypass",           "admission",     "resolver", "hosts",    "limiter.in",
                          "limiter.conn.out", "climiter",      "rlimiter", "retries",  "interface",
                          "so_mark",          "proxyProtocol", "netns",    "netns.out"};
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++) {
        char p[96];
        snprintf(p, sizeof p, "services/0/handler/metadata/%s", gone[i]);
        NONE(r, p);
    }
    S(r, "services/0/listener/metadata/bypass", "~10.0.0.0/8,,*.local");
    S(r, "services/0/metadata/retries", "3");
    S(r, "services/0/handler/metadata/prefer", "ipv6");
    /* interface, so_mark, proxyProtocol, netns go to the service metadata only */
    S(r, "services/0/metadata/interface", "eth0");
    I(r, "services/0/metadata/so_mark", 100);
    I(r, "services/0/metadata/proxyProtocol", 2);
    S(r, "services/0/metadata/netns", "ns1");
    S(r, "services/0/metadata/netns.out", "ns2");
    NONE(r, "services/0/listener/metadata/interface");
    NONE(r, "services/0/listener/metadata/so_mark");
    /* dns becomes a list (empty entries kept) in every scope */
    N(r, "services/0/handler/metadata/dns", 3);
    S(r, "services/0/handler/metadata/dns/1", "");
    S(r, "services/0/listener/metadata/dns/2", "8.8.8.8");

    /* second -L: numbering continues; bad climiter ignored; 1e2 → 100 */
    S(r, "services/1/bypass", "bypass-2");
    NONE(r, "services/1/climiter");
    S(r, "services/1/handler/metadata/climiter", "x");
    S(r, "rlimiters/1/limits/0", "$ 100");
    S(r, "limiters/1/limits/0", "$ 1MB ");
    cval_free(r);
}

static void test_special_keys_per_port(void **state)
{
    (void)state;
    /* every service of a range gets its own objects */
    struct cval *r = build(LS("tcp://:8000-8001/h:1?bypass=x&climiter=5"), NULL);
    S(r, "services/0/bypass", "bypass-0");
    S(r, "services/1/bypass", "bypass-1");
    S(r, "services/1/climiter", "climiter-1");
    N(r, "bypasses", 2);
    cval_free(r);

    /* case-insensitive lookup; the exact spelling is preferred; only it is deleted */
    r = build(LS(":1?Bypass=up&bypass=low&RETRIES=2"), NULL);
    S(r, "bypasses/0/matchers/0", "low");
    S(r, "services/0/handler/metadata/Bypass", "up");
    I(r, "services/0/handler/retries", 2);
    S(r, "services/0/handler/metadata/RETRIES", "2");
    cval_free(r);

    /* special keys are read from the handler scope: handler.x counts, service.x does not */
    r = build(LS(":1?handler.bypass=x&service.climiter=5&handler.climiter=7"), NULL);
    S(r, "services/0/bypass", "bypass-0");
    S(r, "climiters/0/limits/0", "$ 7");
    S(r, "services/0/metadata/climiter", "5");
    NONE(r, "services/0/handler/metadata");
    NONE(r, "services/0/listener/metadata");
    cval_free(r);

    /* "~" alone: a whitelist without matchers */
    r = build(LS(":1?admission=~"), NULL);
    B(r, "admissions/0/whitelist", true);
    NONE(r, "admissions/0/matchers");
    cval_free(r);
}

static void test_hop_special_keys(void **state)
{
    (void)state;
    struct cval *r = build(LS(":1"), LS("http://h:1?interface=eth1&so_mark=7&proxyProtocol=1&"
                                        "so_mark_x=1&failTimeout=10&strategy=hash",
                                        "socks5://h2:2?max_fails=3&proxyProtocol=0"));
    S(r, "chains/0/hops/0/metadata/interface", "eth1");
    I(r, "chains/0/hops/0/metadata/so_mark", 7);
    I(r, "chains/0/hops/0/metadata/proxyProtocol", 1);
    S(r, "chains/0/hops/0/metadata/so_mark_x", "1");
    NONE(r, "chains/0/hops/0/nodes/0/metadata/interface");
    NONE(r, "chains/0/hops/0/nodes/0/metadata/so_mark");
    S(r, "chains/0/hops/0/nodes/0/metadata/so_mark_x", "1");
    S(r, "chains/0/hops/0/selector/strategy", "hash");
    I(r, "chains/0/hops/0/selector/maxFails", 1);
    S(r, "chains/0/hops/0/selector/failTimeout", "10s");
    NONE(r, "chains/0/hops/0/metadata/strategy");
    S(r, "chains/0/hops/1/name", "hop-1");
    S(r, "chains/0/hops/1/selector/strategy", "round");
    I(r, "chains/0/hops/1/selector/maxFails", 3);
    S(r, "chains/0/hops/1/selector/failTimeout", "30s");
    /* proxyProtocol=0 is not consumed */
    S(r, "chains/0/hops/1/metadata/proxyProtocol", "0");
    S(r, "chains/0/hops/1/nodes/0/dialer/metadata/proxyProtocol", "0");
    cval_free(r);
}

static void test_selector_durations(void **state)
{
    (void)state;
    struct cval *r = build(LS("tcp://:1/h:1?failTimeout=1m30s", "tcp://:2/h:1?fail_timeout=500ms",
                              "tcp://:3/h:1?failTimeout=1.5h", "tcp://:4/h:1?failTimeout=-5s",
                              "tcp://:5/h:1?failTimeout=abc", "tcp://:6/h:1?failTimeout=2us",
                              "tcp://:7/h:1?maxFails=abc", "tcp://:8/h:1?strategy="),
                           NULL);
    S(r, "services/0/forwarder/selector/failTimeout", "1m30s");
    S(r, "services/1/forwarder/selector/failTimeout", "500ms");
    S(r, "services/2/forwarder/selector/failTimeout", "1h30m0s");
    /* a negative failTimeout alone is "not set": no selector */
    NONE(r, "services/3/forwarder/selector");
    S(r, "services/3/metadata/failTimeout", "-5s");
    /* nothing usable: no selector, and the key stays in the metadata */
    NONE(r, "services/4/forwarder/selector");
    S(r, "services/4/metadata/failTimeout", "abc");
    S(r, "services/5/forwarder/selector/failTimeout", "2\xc2\xb5s");
    NONE(r, "services/6/forwarder/selector");
    NONE(r, "services/7/forwarder/selector");
    cval_free(r);

    /* a selector without a forwarder is dropped, its keys consumed anyway */
    r = build(LS(":1?strategy=rand"), NULL);
    NONE(r, "services/0/forwarder");
    NONE(r, "services/0/metadata");
    cval_free(r);
}

/* ---- -F specifics -------------------------------------------------------------------------- */

static void test_node_lists_and_chain(void **state)
{
    (void)state;
    struct cval *r =
        build(LS(":8080"), LS("http://gost:gost@192.168.1.1:8080,192.168.1.2:8080?x=1",
                              "https://192.168.1.1:8080,192.168.1.1:8081,192.168.1.2:8082",
                              "socks5+ws://192.168.0.1:1080"));
    N(r, "chains/0/hops", 3);
    N(r, "chains/0/hops/0/nodes", 2);
    S(r, "chains/0/hops/0/nodes/1/name", "node-1");
    S(r, "chains/0/hops/0/nodes/1/addr", "192.168.1.2:8080");
    S(r, "chains/0/hops/0/nodes/1/connector/auth/username", "gost");
    S(r, "chains/0/hops/0/nodes/1/metadata/x", "1");
    /* Hostname() of "a:1,b:2" is "a:1,b" — GOST's serverName default, quirk kept */
    S(r, "chains/0/hops/0/nodes/1/dialer/tls/serverName", "192.168.1.1:8080,192.168.1.2");
    N(r, "chains/0/hops/1/nodes", 3);
    S(r, "chains/0/hops/1/nodes/2/name", "node-2");
    S(r, "chains/0/hops/1/nodes/0/connector/type", "http");
    S(r, "chains/0/hops/1/nodes/0/dialer/type", "tls");
    S(r, "chains/0/hops/2/name", "hop-2");
    S(r, "chains/0/hops/2/nodes/0/dialer/type", "ws");
    S(r, "services/0/handler/chain", "chain-0");
    COL(r, "chains/0/hops/1/nodes/1/addr", "-F[1]", 26);
    cval_free(r);
}

static void test_node_tls_keys(void **state)
{
    (void)state;
    struct cval *r = build(LS(":1"), LS("tls://h:1?ca=ca.pem&secure=true&serverName=x.com",
                                        "tls://h:2?tls.secure=1&tls.serverName=y.com&keyFile=k.pem",
                                        "tls://h:3?cert=c.pem&key=k.pem&secure=false",
                                        "http://:4?keyFile=k.pem"));
    S(r, "chains/0/hops/0/nodes/0/dialer/tls/caFile", "ca.pem");
    B(r, "chains/0/hops/0/nodes/0/dialer/tls/secure", true);
    S(r, "chains/0/hops/0/nodes/0/dialer/tls/serverName", "x.com");
    NONE(r, "chains/0/hops/0/nodes/0/dialer/metadata/serverName");
    /* the hop metadata is built before the TLS keys are removed */
    S(r, "chains/0/hops/0/metadata/serverName", "x.com");
    B(r, "chains/0/hops/1/nodes/0/dialer/tls/secure", true);
    S(r, "chains/0/hops/1/nodes/0/dialer/tls/serverName", "y.com");
    S(r, "chains/0/hops/1/nodes/0/dialer/tls/keyFile", "k.pem");
    /* GOST deletes "tls.servername" but not "tls.serverName" */
    S(r, "chains/0/hops/1/nodes/0/dialer/metadata/tls.serverName", "y.com");
    NONE(r, "chains/0/hops/1/nodes/0/dialer/metadata/tls.secure");
    S(r, "chains/0/hops/2/nodes/0/dialer/tls/certFile", "c.pem");
    NONE(r, "chains/0/hops/2/nodes/0/dialer/tls/secure");
    S(r, "chains/0/hops/2/nodes/0/dialer/tls/serverName", "h");
    /* no hostname, no cert/ca/secure: keyFile alone gives no tls */
    NONE(r, "chains/0/hops/3/nodes/0/dialer/tls");
    NONE(r, "chains/0/hops/3/nodes/0/dialer/metadata/keyFile");
    cval_free(r);
}

static void test_service_tls_keys(void **state)
{
    (void)state;
    struct cval *r = build(LS("https://:443?cert=c.pem&key=k.pem&ca=ca.pem",
                              "http+tls://:444?tls.certFile=a&certFile=b", "tls://:445?key=k.pem",
                              "http://:446?certFile=x"),
                           NULL);
    S(r, "services/0/handler/type", "http");
    S(r, "services/0/listener/type", "tls");
    S(r, "services/0/listener/tls/certFile", "c.pem");
    S(r, "services/0/listener/tls/keyFile", "k.pem");
    S(r, "services/0/listener/tls/caFile", "ca.pem");
    NONE(r, "services/0/metadata");
    S(r, "services/1/listener/tls/certFile", "a");
    NONE(r, "services/2/listener/tls");
    NONE(r, "services/2/metadata");
    /* a cert on a plain listener is still copied (GOST only warns at run time) */
    S(r, "services/3/listener/tls/certFile", "x");
    cval_free(r);
}

/* ---- authentication ------------------------------------------------------------------------ */

static void test_auth_forms(void **state)
{
    (void)state;
    /* "aes-256-gcm:password": raw URL base64 and padded standard base64 */
    struct cval *r =
        build(LS("ss://YWVzLTI1Ni1nY206cGFzc3dvcmQ@:8388", "ss://YWVzLTI1Ni1nY206cGFzcw==@:8389",
                 "ss://none@:8390", "http://:8080?auth=dXNlcjpwYXNz", "http://:8081?auth=dXNlcg",
                 "http://a:b@:8082?auth=dXNlcjpwYXNz", "sshd://u:p@:2222", "ssh://u@:2223",
                 "http://%75:p%3Aq@:8083"),
              LS("ssu://YWVzLTI1Ni1nY206cGFzc3dvcmQ@h:1", "relay+ssh://u:p@h:2", "sshd://u:p@h:3",
                 "socks5://h:4?auth=dXNlcjpwYXNz", "ss://none@h:5"));
    S(r, "services/0/handler/auth/username", "aes-256-gcm");
    S(r, "services/0/handler/auth/password", "password");
    S(r, "services/1/handler/auth/username", "aes-256-gcm");
    S(r, "services/1/handler/auth/password", "pass");
    S(r, "services/2/handler/auth/username", "none");
    NONE(r, "services/2/handler/auth/password");
    S(r, "services/3/handler/auth/username", "user");
    S(r, "services/3/handler/auth/password", "pass");
    NONE(r, "services/3/handler/metadata");
    COL(r, "services/3/handler/auth/username", "-L[3]", 19);
    S(r, "services/4/handler/auth/username", "user");
    S(r, "services/5/handler/auth/username", "a");
    NONE(r, "services/5/handler/metadata/auth");
    NONE(r, "services/6/handler/auth");
    S(r, "services/6/listener/auth/username", "u");
    S(r, "services/6/listener/type", "sshd");
    S(r, "services/7/listener/auth/username", "u");
    S(r, "services/8/handler/auth/username", "u");
    S(r, "services/8/handler/auth/password", "p:q");

    S(r, "chains/0/hops/0/nodes/0/connector/type", "ssu");
    S(r, "chains/0/hops/0/nodes/0/dialer/type", "udp");
    S(r, "chains/0/hops/0/nodes/0/connector/auth/username", "aes-256-gcm");
    NONE(r, "chains/0/hops/1/nodes/0/connector/auth");
    S(r, "chains/0/hops/1/nodes/0/dialer/auth/username", "u");
    S(r, "chains/0/hops/2/nodes/0/dialer/auth/password", "p");
    S(r, "chains/0/hops/3/nodes/0/connector/auth/username", "user");
    S(r, "chains/0/hops/4/nodes/0/connector/auth/username", "none");
    cval_free(r);

    expect_error(LS("http://:8080?auth=!!!"), NULL, -EINVAL,
                 "-L[0]:1:19: invalid auth parameter: illegal base64 data at input byte 0");
    expect_error(NULL, LS("http://h:1?auth=dXNlcjpwYXNz%3D%3D"), -EINVAL,
                 "-F[0]:1:17: invalid auth parameter");
    /* with userinfo, ?auth= is not even decoded on -F */
    struct cval *r2 = build(NULL, LS("http://u:p@h:1?auth=!!!"));
    S(r2, "chains/0/hops/0/nodes/0/connector/auth/username", "u");
    cval_free(r2);
}

/* ---- path-based schemes, stdio, misc ------------------------------------------------------- */

static void test_unix_serial_forms(void **state)
{
    (void)state;
    struct cval *r = build(LS("unix:///var/run/gost.sock", "unix://gost.sock/gost2.sock",
                              "serial://COM1,9600,odd/COM2", "relay+unix:///tmp/r.sock"),
                           LS("unix:///var/run/docker.sock", "http+unix:///var/run/x.sock",
                              "unix://docker.sock/ignored", "serial://COM3"));
    S(r, "services/0/addr", "/var/run/gost.sock");
    S(r, "services/0/handler/type", "unix");
    NONE(r, "services/0/forwarder");
    S(r, "services/1/addr", "gost.sock");
    S(r, "services/1/forwarder/nodes/0/addr", "gost2.sock");
    S(r, "services/2/addr", "COM1,9600,odd");
    S(r, "services/2/handler/type", "serial");
    S(r, "services/3/addr", "/tmp/r.sock");
    S(r, "services/3/handler/type", "relay");
    S(r, "services/3/listener/type", "unix");
    S(r, "chains/0/hops/0/nodes/0/addr", "/var/run/docker.sock");
    S(r, "chains/0/hops/0/nodes/0/connector/type", "unix");
    S(r, "chains/0/hops/0/nodes/0/dialer/type", "unix");
    S(r, "chains/0/hops/1/nodes/0/addr", "/var/run/x.sock");
    S(r, "chains/0/hops/1/nodes/0/connector/type", "http");
    S(r, "chains/0/hops/2/nodes/0/addr", "docker.sock");
    S(r, "chains/0/hops/3/nodes/0/addr", "COM3");
    cval_free(r);
}

static void test_stdio_and_misc(void **state)
{
    (void)state;
    struct cval *r = build(LS("stdio://1.2.3.4:22", "  ", "", "http://:8080?ignoreChain=true",
                              "tun:///host-1?net=10.0.0.1/24"),
                           LS("http://:8000"));
    /* blank values are skipped: the next service is service-1 */
    N(r, "services", 3);
    S(r, "services/0/handler/type", "tcp");
    S(r, "services/0/listener/type", "stdio");
    S(r, "services/0/forwarder/nodes/0/name", "target-0");
    S(r, "services/0/forwarder/nodes/0/addr", "1.2.3.4:22");
    /* ignoreChain is a service option read when the service is built; the CLI still attaches
     * the chain, like GOST */
    S(r, "services/1/name", "service-1");
    S(r, "services/1/handler/chain", "chain-0");
    S(r, "services/1/metadata/ignoreChain", "true");
    /* tun:///host-1: empty listen address, target "host-1" (addr omitted when empty) */
    NONE(r, "services/2/addr");
    S(r, "services/2/forwarder/nodes/0/addr", "host-1");
    cval_free(r);

    /* target names get the worker prefix */
    const char *const L[] = {"tcp://:1/h:1,h:2"};
    struct cmdline_opts o = {.target_prefix = "go-1@"};
    struct cval *out;
    char err[256];
    assert_int_equal(cmdline_build_opts(L, 1, NULL, 0, &o, &out, err, sizeof err), 0);
    S(out, "services/0/forwarder/nodes/1/name", "go-1@target-1");
    S(out, "services/0/name", "service-0");
    cval_free(out);

    /* nothing at all: just an empty service list */
    assert_int_equal(cmdline_build(NULL, 0, NULL, 0, &out, err, sizeof err), 0);
    N(out, "", 1);
    N(out, "services", 0);
    cval_free(out);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error(NULL, LS(""), -EINVAL, "-F[0]:1: invalid cmd");
    expect_error(LS(":1"), LS("http://h:1", "  "), -EINVAL, "-F[1]:1: invalid cmd");
    expect_error(LS("http://u%zz@:1"), NULL, -EINVAL, "-L[0]:1:9: invalid URL escape \"%zz\"");
    expect_error(NULL, LS("http://h:8000-8001"), -EINVAL, "-F[0]:1:9: invalid port");
    expect_error(NULL, LS("http://[zz]:1"), -EINVAL, "invalid IP-literal");
    expect_error(LS("a_b://x"), NULL, -EINVAL, "first path segment");
    expect_error(LS(":70000"), NULL, -EINVAL, "-L[0]:1:2: invalid port \"70000\"");
    expect_error(LS("tcp://:1/h:x"), NULL, -EINVAL, "in forward target");
    /* -F errors come first, like GOST */
    expect_error(LS(":70000"), LS("http://h:x"), -EINVAL, "-F[0]");

    /* fan-out bound: 65535 services × a long query */
    char *big = malloc(2000);
    snprintf(big, 2000, "tcp://:1-65535/h:1?k=");
    memset(big + strlen(big), 'x', 1000);
    big[1999] = '\0';
    const char *const L[] = {big};
    struct cval *out;
    char err[256];
    assert_int_equal(cmdline_build(L, 1, NULL, 0, &out, err, sizeof err), -E2BIG);
    assert_null(out);
    assert_non_null(strstr(err, "too much to expand"));
    free(big);
}

static void test_gost_types(void **state)
{
    (void)state;
    static const enum gost_family fams[] = {GOST_FAMILY_LISTENER, GOST_FAMILY_HANDLER,
                                            GOST_FAMILY_DIALER, GOST_FAMILY_CONNECTOR};
    static const size_t counts[] = {42, 35, 35, 20};
    for (size_t f = 0; f < 4; f++) {
        size_t n;
        const char *const *names = gost_type_names(fams[f], &n);
        assert_int_equal(n, counts[f]);
        for (size_t i = 0; i < n; i++) {
            assert_true(gost_type_known(fams[f], names[i]));
            if (i > 0 && strcmp(names[i - 1], names[i]) >= 0)
                fail_msg("%s names not sorted at %s", gost_type_family_name(fams[f]), names[i]);
        }
    }
    assert_true(gost_type_known(GOST_FAMILY_LISTENER, "redirect"));
    assert_true(gost_type_known(GOST_FAMILY_DIALER, "h3-masque"));
    assert_true(gost_type_head_only(GOST_FAMILY_DIALER, "h3-masque"));
    assert_false(gost_type_head_only(GOST_FAMILY_DIALER, "tcp"));
    assert_false(gost_type_known(GOST_FAMILY_DIALER, "wg"));
    assert_false(gost_type_known(GOST_FAMILY_LISTENER, "https"));
    assert_false(gost_type_known(GOST_FAMILY_HANDLER, "HTTP"));
    assert_false(gost_type_known(GOST_FAMILY_CONNECTOR, NULL));
    assert_false(gost_type_known(GOST_FAMILY_CONNECTOR, "ohttp"));
    assert_true(gost_type_known(GOST_FAMILY_CONNECTOR, "tunnel"));
    assert_string_equal(gost_type_family_name(GOST_FAMILY_CONNECTOR), "connector");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ex_auto),
        cmocka_unit_test(test_ex_http_auth_socks5_tls),
        cmocka_unit_test(test_ex_forward_rand),
        cmocka_unit_test(test_ex_rtcp_listener_chain),
        cmocka_unit_test(test_ex_udp_keepalive),
        cmocka_unit_test(test_ex_ss_and_tun),
        cmocka_unit_test(test_scheme_defaults),
        cmocka_unit_test(test_forward_handler_rewrite),
        cmocka_unit_test(test_port_ranges),
        cmocka_unit_test(test_service_scopes),
        cmocka_unit_test(test_node_scopes),
        cmocka_unit_test(test_service_special_keys),
        cmocka_unit_test(test_special_keys_per_port),
        cmocka_unit_test(test_hop_special_keys),
        cmocka_unit_test(test_selector_durations),
        cmocka_unit_test(test_node_lists_and_chain),
        cmocka_unit_test(test_node_tls_keys),
        cmocka_unit_test(test_service_tls_keys),
        cmocka_unit_test(test_auth_forms),
        cmocka_unit_test(test_unix_serial_forms),
        cmocka_unit_test(test_stdio_and_misc),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_gost_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
