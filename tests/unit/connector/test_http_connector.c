/* Unit tests for the http connector: the CONNECT request is byte-identical to GOST's (captured
 * vectors http/connect and http/connect-auth), `header` metadata, and a full connect over a
 * socketpair (leftover bytes after the 200 head are kept; non-200 fails with the status). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "../core/rt_harness.h"
#include "config/cfg_err.h"
#include "config/cval.h"
#include "config/types.h"
#include "config/yaml_load.h"
#include "core/conn.h"
#include "core/sock.h"
#include "proto/http1.h"
#include "service/component.h"

extern const struct connector_type connector_http;
void http_connector_request(const struct connector *cn, const char *addr, bool udp,
                            struct http1_out *o);

static size_t load(const char *name, char *buf, size_t cap)
{
    const char *dir = getenv("GOST_SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/vectors/http/%s", dir ? dir : "tests/data/shared", name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

struct fixture {
    struct cfg_connector cfg;
    struct cfg_auth auth;
    struct cval *md;
    struct connector *cn;
};

static void fx_init(struct fixture *fx, const char *user, const char *pass, const char *md_yaml)
{
    memset(fx, 0, sizeof *fx);
    fx->cfg.type = "http";
    if (user) {
        fx->auth.username = (char *)user;
        fx->auth.password = (char *)pass;
        fx->cfg.auth = &fx->auth;
    }
    if (md_yaml) {
        struct cfg_errs e = {0};
        fx->md = yaml_load_string(md_yaml, strlen(md_yaml), "md.yaml", &e);
        assert_non_null(fx->md);
        fx->cfg.metadata = fx->md;
    }
    fx->cn = calloc(1, connector_http.size);
    fx->cn->type = &connector_http;
    fx->cn->cfg = &fx->cfg;
    struct cfg_errs errs = {0};
    assert_int_equal(connector_http.init(fx->cn, &errs), 0);
}

static void fx_free(struct fixture *fx)
{
    connector_http.free(fx->cn);
    free(fx->cn);
    cval_free(fx->md);
}

static void check_vector(const char *file, const char *user, const char *pass, const char *addr,
                         bool udp)
{
    char want[512];
    size_t wn = load(file, want, sizeof want);
    size_t head = http1_head_end(want, wn);
    assert_true(head > 0);
    struct fixture fx;
    fx_init(&fx, user, pass, NULL);
    char buf[1024];
    struct http1_out o;
    http1_out_init(&o, buf, sizeof buf);
    http_connector_request(fx.cn, addr, udp, &o);
    assert_true(http1_out_ok(&o));
    assert_int_equal(o.len, head);
    assert_memory_equal(buf, want, head);
    fx_free(&fx);
}

static void test_vector_connect(void **st)
{
    (void)st;
    check_vector("connect.c2s.bin", NULL, NULL, "127.0.0.1:19001", false);
}

static void test_vector_connect_auth(void **st)
{
    (void)st;
    check_vector("connect-auth.c2s.bin", "gost", "gostpass", "127.0.0.1:19001", false);
}

static void test_vector_udp(void **st)
{
    (void)st;
    check_vector("udp.c2s.bin", NULL, NULL, "127.0.0.1:19002", true);
}

static void test_header_metadata(void **st)
{
    (void)st;
    struct fixture fx;
    fx_init(&fx, NULL, NULL, "header:\n  x-custom: v1\n  user-agent: my-agent\n  Host: ignored\n");
    char buf[1024];
    struct http1_out o;
    http1_out_init(&o, buf, sizeof buf);
    http_connector_request(fx.cn, "h:80", false, &o);
    const char *want = "CONNECT h:80 HTTP/1.1\r\nHost: h:80\r\nUser-Agent: my-agent\r\n"
                       "Proxy-Connection: keep-alive\r\nX-Custom: v1\r\n\r\n";
    assert_int_equal(o.len, strlen(want));
    assert_memory_equal(buf, want, o.len);
    fx_free(&fx);
}

/* ---- end to end over a socketpair ---------------------------------------------------- */

struct e2e {
    struct fixture *fx;
    const char *answer;
    size_t answer_len;
    char got_req[512];
    size_t got_req_len;
    int rc;
    char err[256];
    char after[64];
    ssize_t after_len;
    bool peer_done;
};

static void peer_fiber(void *arg)
{
    struct e2e *t = ((struct e2e **)arg)[0];
    struct conn *b = ((struct conn **)arg)[1];
    while (!http1_head_end(t->got_req, t->got_req_len) && t->got_req_len < sizeof t->got_req) {
        ssize_t n = conn_read(b, t->got_req + t->got_req_len, sizeof t->got_req - t->got_req_len);
        if (n <= 0)
            break;
        t->got_req_len += (size_t)n;
    }
    conn_write(b, t->answer, t->answer_len);
    conn_close(b);
    t->peer_done = true;
}

static void e2e_body(void *arg)
{
    struct e2e *t = arg;
    int fds[2];
    rt_check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    struct conn *a = conn_sock_new(fds[0]);
    struct conn *b = conn_sock_new(fds[1]);
    void *pargs[2] = {t, b};
    fiber_spawn(peer_fiber, pargs);
    struct dial_opts o = {.deadline = deadline_in(5000)};
    struct conn *out = NULL;
    fiber_clear_err();
    t->rc = connector_http.connect(t->fx->cn, a, "tcp", "127.0.0.1:19001", &o, &out);
    snprintf(t->err, sizeof t->err, "%s", fiber_err());
    if (t->rc == 0) {
        out->rd_deadline = deadline_in(5000);
        size_t got = 0;
        while (got < sizeof t->after) {
            ssize_t n = conn_read(out, t->after + got, sizeof t->after - got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        t->after_len = (ssize_t)got;
        conn_close(out);
    }
    while (!t->peer_done)
        fiber_sleep_ms(5);
    rt_done();
}

static void test_connect_e2e(void **st)
{
    (void)st;
    struct fixture fx;
    fx_init(&fx, "gost", "gostpass", NULL);
    static char s2c[256];
    struct e2e t = {.fx = &fx, .answer = s2c};
    t.answer_len = load("connect-auth.s2c.bin", s2c, sizeof s2c);
    assert_int_equal(rt_run(1, e2e_body, &t), 0);
    assert_int_equal(t.rc, 0);
    char want[512];
    size_t wn = load("connect-auth.c2s.bin", want, sizeof want);
    size_t head = http1_head_end(want, wn);
    assert_int_equal(t.got_req_len, head);
    assert_memory_equal(t.got_req, want, head);
    /* "pong\n" arrived in the same segment as the 200 head: it must not be lost. */
    assert_int_equal(t.after_len, 5);
    assert_memory_equal(t.after, "pong\n", 5);
    fx_free(&fx);
}

static void test_connect_refused(void **st)
{
    (void)st;
    struct fixture fx;
    fx_init(&fx, NULL, NULL, NULL);
    const char *ans = "HTTP/1.1 407 Proxy Authentication Required\r\nConnection: close\r\n"
                      "Proxy-Authenticate: Basic realm=\"gost\"\r\n\r\n";
    struct e2e t = {.fx = &fx, .answer = ans, .answer_len = strlen(ans)};
    assert_int_equal(rt_run(1, e2e_body, &t), 0);
    assert_int_equal(t.rc, -ECONNREFUSED);
    assert_string_equal(t.err, "407 Proxy Authentication Required");

    const char *junk = "SSH-2.0-OpenSSH\r\n\r\n";
    struct e2e t2 = {.fx = &fx, .answer = junk, .answer_len = strlen(junk)};
    assert_int_equal(rt_run(1, e2e_body, &t2), 0);
    assert_int_equal(t2.rc, -EPROTO);

    struct e2e t3 = {.fx = &fx, .answer = "HTTP/1.1 200 OK\r\n", .answer_len = 17};
    assert_int_equal(rt_run(1, e2e_body, &t3), 0);
    assert_int_equal(t3.rc, -ECONNRESET);
    fx_free(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_connect), cmocka_unit_test(test_vector_connect_auth),
        cmocka_unit_test(test_vector_udp),     cmocka_unit_test(test_header_metadata),
        cmocka_unit_test(test_connect_e2e),    cmocka_unit_test(test_connect_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
