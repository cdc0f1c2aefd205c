/* Unit tests for the socks5 connector over a socketpair against a scripted server that replays
 * gost 3.2.0's server bytes (vectors socks5/connect-notls-auth, udptun-notls): what our
 * connector sends must be byte-identical to gost's client bytes, and the data must pass. */
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
#include "service/component.h"

extern const struct connector_type connector_socks5;

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

/* After the server has received `after` client bytes, it sends s2c[from..to). */
struct step {
    size_t after, from, to;
};

struct script {
    const char *network, *addr;
    const uint8_t *s2c;
    const struct step *steps;
    size_t nsteps;
    const char *app_out; /* what the client writes after connect */
    const char *app_in;  /* what it must read back */
    uint8_t got[256];
    size_t got_len;
    int rc;
    char err[256];
    char read_back[64];
    int is_dgram;
    bool peer_done;
    struct conn *peer;
    struct connector *cn;
};

static void peer_fiber(void *arg)
{
    struct script *t = arg;
    struct conn *b = t->peer;
    b->rd_deadline = deadline_in(5000);
    for (size_t i = 0; i < t->nsteps; i++) {
        while (t->got_len < t->steps[i].after) {
            ssize_t n = conn_read(b, t->got + t->got_len, t->steps[i].after - t->got_len);
            if (n <= 0)
                goto out;
            t->got_len += (size_t)n;
        }
        conn_write(b, t->s2c + t->steps[i].from, t->steps[i].to - t->steps[i].from);
    }
out:
    conn_close(b);
    t->peer_done = true;
}

static void body(void *arg)
{
    struct script *t = arg;
    int fds[2];
    rt_check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    struct conn *a = conn_sock_new(fds[0]);
    t->peer = conn_sock_new(fds[1]);
    fiber_spawn(peer_fiber, t);
    struct dial_opts o = {.deadline = deadline_in(5000)};
    struct conn *out = NULL;
    fiber_clear_err();
    t->rc = connector_socks5.connect(t->cn, a, t->network, t->addr, &o, &out);
    snprintf(t->err, sizeof t->err, "%s", fiber_err());
    if (t->rc == 0) {
        t->is_dgram = conn_ctl(out, CONN_CTL_IS_DGRAM, NULL) == 0;
        out->rd_deadline = deadline_in(5000);
        conn_write(out, t->app_out, strlen(t->app_out));
        size_t got = 0, want = strlen(t->app_in);
        while (got < want) {
            ssize_t n = conn_read(out, t->read_back + got, sizeof t->read_back - 1 - got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        conn_close(out);
    }
    while (!t->peer_done)
        fiber_sleep_ms(5);
    rt_done();
}

static struct connector *make(struct cfg_connector *cfg, struct cfg_auth *auth, struct cval **md,
                              const char *user, const char *pass)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->type = "socks5";
    if (user) {
        memset(auth, 0, sizeof *auth);
        auth->username = (char *)user;
        auth->password = (char *)pass;
        cfg->auth = auth;
    }
    struct cfg_errs e = {0};
    *md = yaml_load_string("notls: true\n", 12, "md.yaml", &e);
    assert_non_null(*md);
    cfg->metadata = *md;
    struct connector *cn = calloc(1, connector_socks5.size);
    cn->type = &connector_socks5;
    cn->cfg = cfg;
    struct cfg_errs errs = {0};
    assert_int_equal(connector_socks5.init(cn, &errs), 0);
    return cn;
}

static void run(const char *vec, const char *user, const char *pass, const char *network,
                const char *addr, const struct step *steps, size_t nsteps, const char *out,
                const char *in, bool dgram)
{
    char f[128];
    uint8_t c2s[256], s2c[256];
    snprintf(f, sizeof f, "%s.c2s.bin", vec);
    size_t cn = load(f, c2s, sizeof c2s);
    snprintf(f, sizeof f, "%s.s2c.bin", vec);
    load(f, s2c, sizeof s2c);
    struct cfg_connector cfg;
    struct cfg_auth auth;
    struct cval *md;
    struct script t = {.network = network,
                       .addr = addr,
                       .s2c = s2c,
                       .steps = steps,
                       .nsteps = nsteps,
                       .app_out = out,
                       .app_in = in};
    t.cn = make(&cfg, &auth, &md, user, pass);
    assert_int_equal(rt_run(1, body, &t), 0);
    if (t.rc != 0)
        fprintf(stderr, "connect: %s\n", t.err);
    assert_int_equal(t.rc, 0);
    assert_int_equal(t.got_len, cn);
    assert_memory_equal(t.got, c2s, cn);
    assert_string_equal(t.read_back, in);
    assert_int_equal(t.is_dgram, dgram);
    if (connector_socks5.free)
        connector_socks5.free(t.cn);
    free(t.cn);
    cval_free(md);
}

static void test_connect_notls_auth(void **st)
{
    (void)st;
    static const struct step steps[] = {{4, 0, 2}, {19, 2, 4}, {29, 4, 14}, {34, 14, 19}};
    run("connect-notls-auth", "gost", "gostpass", "tcp", "127.0.0.1:19001", steps, 4, "ping\n",
        "pong\n", false);
}

static void test_connect_notls(void **st)
{
    (void)st;
    static const struct step steps[] = {{3, 0, 2}, {13, 2, 12}, {18, 12, 17}};
    run("connect-notls", NULL, NULL, "tcp", "127.0.0.1:19001", steps, 3, "ping\n", "pong\n", false);
}

static void test_udptun_notls(void **st)
{
    (void)st;
    static const struct step steps[] = {{3, 0, 2}, {13, 2, 24}, {27, 24, 38}};
    run("udptun-notls", NULL, NULL, "udp", "127.0.0.1:19002", steps, 3, "ping", "ping", true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_notls_auth),
        cmocka_unit_test(test_connect_notls),
        cmocka_unit_test(test_udptun_notls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
