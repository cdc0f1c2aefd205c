/* Unit tests: modules/auth — single auth, named authers (inline, file, reload with an explicit
 * clock, in and out of fibers), groups, positioned build errors, client credentials, and
 * concurrent authentication during reloads. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../core/rt_harness.h"
#include "config/schema.h"
#include "core/log.h"
#include "modules/auth.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static char tmpdir[256];

static int setup_dir(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/gost-test-auth-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Write text to tmpdir/name (atomically, via rename) and return the path (static buffer). */
static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    char tmp[520];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0);
    return path;
}

static struct cfg *load(const char *text)
{
    struct cfg *c = NULL;
    struct cfg_errs e = {0};
    int rc = cfg_load_string(text, strlen(text), "t.yaml", &c, &e);
    if (rc != 0)
        cfg_errs_print(&e, stderr);
    cfg_errs_free(&e);
    assert_int_equal(rc, 0);
    return c;
}

/* Build the handler auther of service 0; returns 0/-EINVAL and the first error text. */
static int build_h(const struct cfg *c, struct auther **out, char *err, size_t errlen)
{
    struct cfg_errs e = {0};
    int rc = auth_build_for_handler(c->services[0]->handler, c, out, &e);
    if (err && errlen) {
        err[0] = '\0';
        if (e.n)
            cfg_err_format(&e.items[0], err, errlen);
    }
    cfg_errs_free(&e);
    return rc;
}

/* err starts with want (prints err when it does not). */
static void assert_prefix(const char *err, const char *want)
{
    if (strncmp(err, want, strlen(want)) != 0) {
        fprintf(stderr, "got: %s\nwant prefix: %s\n", err, want);
        fail();
    }
}

static bool ok(const struct auther *a, const char *u, const char *p)
{
    char id[AUTH_ID_MAX];
    bool r = auther_authenticate(a, u, p, "127.0.0.1:1", id, sizeof id);
    if (r)
        assert_string_equal(id, u);
    else
        assert_string_equal(id, "");
    return r;
}

/* ---- single auth -------------------------------------------------------------------------- */

static void test_single_auth(void **state)
{
    struct cfg *c = load("services:\n"
                         "- name: s\n"
                         "  addr: :8080\n"
                         "  handler:\n"
                         "    type: http\n"
                         "    auth: {username: user, password: 'p@ss word'}\n"
                         "  listener: {type: tcp}\n");
    struct auther *a = NULL;
    assert_int_equal(build_h(c, &a, NULL, 0), 0);
    assert_non_null(a);
    assert_true(ok(a, "user", "p@ss word"));
    assert_false(ok(a, "user", "p@ss wor"));
    assert_false(ok(a, "user", "p@ss word "));
    assert_false(ok(a, "user", ""));
    assert_false(ok(a, "User", "p@ss word"));
    assert_false(ok(a, "", ""));
    assert_false(auther_authenticate(a, NULL, NULL, NULL, NULL, 0));
    /* The id is truncated to the buffer. */
    char id[3];
    assert_true(auther_authenticate(a, "user", "p@ss word", NULL, id, sizeof id));
    assert_string_equal(id, "us");
    /* Over-long credentials from a client never match (and do not crash). */
    char longp[1000];
    memset(longp, 'x', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    assert_false(ok(a, "user", longp));
    assert_false(ok(a, longp, "p@ss word"));
    auther_free(a);
    /* NULL auther: no authentication configured, everyone passes. */
    assert_true(auther_authenticate(NULL, "x", "y", NULL, NULL, 0));
    auther_free(NULL);
    cfg_free(c);
}

static void test_no_auth(void **state)
{
    struct cfg *c = load("services:\n"
                         "- name: s\n"
                         "  addr: :8080\n"
                         "  handler: {type: http}\n"
                         "  listener: {type: tcp}\n"
                         "- name: t\n"
                         "  addr: :8081\n"
                         "  handler: {type: http, auth: {password: x}}\n"
                         "  listener: {type: tcp, auth: {username: lu, password: lp}}\n");
    struct auther *a = (struct auther *)1;
    assert_int_equal(build_h(c, &a, NULL, 0), 0);
    assert_null(a);
    struct cfg_errs e = {0};
    a = (struct auther *)1;
    /* An auth without a user name is no auth (GOST). */
    assert_int_equal(auth_build_for_handler(c->services[1]->handler, c, &a, &e), 0);
    assert_null(a);
    /* The listener form. */
    assert_int_equal(auth_build_for_listener(c->services[1]->listener, c, &a, &e), 0);
    assert_non_null(a);
    assert_true(ok(a, "lu", "lp"));
    assert_false(ok(a, "lu", "x"));
    auther_free(a);
    assert_int_equal(cfg_errs_count(&e), 0);
    cfg_free(c);
}

static void test_empty_password_any(void **state)
{
    struct cfg *c = load("services:\n"
                         "- name: s\n"
                         "  addr: :8080\n"
                         "  handler: {type: http, auth: {username: open}}\n"
                         "  listener: {type: tcp}\n");
    struct auther *a = NULL;
    assert_int_equal(build_h(c, &a, NULL, 0), 0);
    assert_true(ok(a, "open", ""));
    assert_true(ok(a, "open", "anything"));
    assert_false(ok(a, "other", ""));
    auther_free(a);
    cfg_free(c);
}

/* ---- named authers and groups ------------------------------------------------------------- */

static const char *named_cfg = "services:\n"
                               "- name: s\n"
                               "  addr: :8080\n"
                               "  handler:\n"
                               "    type: socks5\n"
                               "    auther: a1\n"
                               "    auth: {username: ignored, password: x}\n"
                               "  listener: {type: tcp}\n"
                               "- name: g\n"
                               "  addr: :8081\n"
                               "  handler:\n"
                               "    type: socks5\n"
                               "    authers: [a1, a2, empty]\n"
                               "  listener: {type: tcp}\n"
                               "authers:\n"
                               "- name: a1\n"
                               "  auths:\n"
                               "  - {username: alice, password: secret1}\n"
                               "  - {username: bob, password: secret2}\n"
                               "  - {username: bob, password: secret3}\n"
                               "  - {username: '', password: nouser}\n"
                               "- name: a2\n"
                               "  auths:\n"
                               "  - {username: carol, password: c}\n"
                               "  - {username: alice, password: other}\n"
                               "- name: empty\n";

static void test_named(void **state)
{
    struct cfg *c = load(named_cfg);
    struct auther *a = NULL;
    assert_int_equal(build_h(c, &a, NULL, 0), 0);
    assert_true(ok(a, "alice", "secret1"));
    /* Later entries for the same user win. */
    assert_false(ok(a, "bob", "secret2"));
    assert_true(ok(a, "bob", "secret3"));
    /* With an auther set, the handler's auth is ignored. */
    assert_false(ok(a, "ignored", "x"));
    assert_false(ok(a, "", "nouser"));
    assert_false(ok(a, "carol", "c"));
    auther_free(a);

    /* Group: any member passes. */
    struct cfg_errs e = {0};
    assert_int_equal(auth_build_for_handler(c->services[1]->handler, c, &a, &e), 0);
    assert_true(ok(a, "alice", "secret1"));
    assert_true(ok(a, "alice", "other"));
    assert_true(ok(a, "carol", "c"));
    assert_true(ok(a, "bob", "secret3"));
    assert_false(ok(a, "carol", "secret1"));
    assert_false(ok(a, "dave", ""));
    auther_free(a);

    /* An auther with no users rejects everyone. */
    struct auther *empty = NULL;
    assert_int_equal(auth_build_named(c->authers[2], &empty, &e), 0);
    assert_false(ok(empty, "", ""));
    assert_false(ok(empty, "alice", "secret1"));
    auther_free(empty);

    /* The general form (api/metrics). */
    char *names[] = {"a2"};
    assert_int_equal(auth_build(NULL, names, 1, NULL, c, NULL, "api", &a, &e), 0);
    assert_true(ok(a, "carol", "c"));
    auther_free(a);
    assert_int_equal(cfg_errs_count(&e), 0);
    cfg_free(c);
}

static void test_errors(void **state)
{
    struct cfg *c = load("services:\n"
                         "- name: s\n"
                         "  addr: :8080\n"
                         "  handler:\n"
                         "    type: http\n"
                         "    auther: nope\n"
                         "  listener: {type: tcp}\n"
                         "- name: t\n"
                         "  addr: :8081\n"
                         "  handler:\n"
                         "    type: http\n"
                         "    authers:\n"
                         "    - ok\n"
                         "    - missing\n"
                         "  listener: {type: tcp}\n"
                         "- name: u\n"
                         "  addr: :8082\n"
                         "  handler:\n"
                         "    type: http\n"
                         "    auther: remote\n"
                         "  listener: {type: tcp}\n"
                         "- name: v\n"
                         "  addr: :8083\n"
                         "  handler:\n"
                         "    type: http\n"
                         "    auth: {username: u, file: /etc/x}\n"
                         "  listener: {type: tcp}\n"
                         "- name: w\n"
                         "  addr: :8084\n"
                         "  handler:\n"
                         "    type: http\n"
                         "    auther: nofile\n"
                         "  listener: {type: tcp}\n"
                         "authers:\n"
                         "- name: ok\n"
                         "  auths: [{username: a, password: b}]\n"
                         "- name: remote\n"
                         "  redis: {addr: '127.0.0.1:6379', key: k}\n"
                         "  http: {url: 'http://127.0.0.1/users'}\n"
                         "  plugin: {addr: '127.0.0.1:8000'}\n"
                         "- name: nofile\n"
                         "  file: {path: /nonexistent/gost-users.txt}\n");
    struct auther *a = (struct auther *)1;
    char err[256];
    assert_int_equal(build_h(c, &a, err, sizeof err), -EINVAL);
    assert_null(a);
    assert_string_equal(err, "t.yaml:6:13: handler: unknown auther \"nope\"");

    struct cfg_errs e = {0};
    assert_int_equal(auth_build_for_handler(c->services[1]->handler, c, &a, &e), -EINVAL);
    assert_null(a);
    assert_int_equal(e.n, 1);
    cfg_err_format(&e.items[0], err, sizeof err);
    assert_string_equal(err, "t.yaml:14:7: handler: unknown auther \"missing\"");
    cfg_errs_free(&e);

    assert_int_equal(auth_build_for_handler(c->services[2]->handler, c, &a, &e), -EINVAL);
    assert_int_equal(e.n, 3);
    cfg_err_format(&e.items[0], err, sizeof err);
    assert_string_equal(err, "t.yaml:38:10: auther \"remote\": redis source is not supported yet");
    cfg_err_format(&e.items[1], err, sizeof err);
    assert_prefix(err, "t.yaml:39:9: auther \"remote\": http source");
    cfg_err_format(&e.items[2], err, sizeof err);
    assert_prefix(err, "t.yaml:40:11: auther \"remote\": plugin source");
    cfg_errs_free(&e);

    assert_int_equal(auth_build_for_handler(c->services[3]->handler, c, &a, &e), -EINVAL);
    cfg_err_format(&e.items[0], err, sizeof err);
    assert_prefix(err, "t.yaml:26:31: handler: auth.file is only read by clients");
    cfg_errs_free(&e);

    assert_int_equal(auth_build_for_handler(c->services[4]->handler, c, &a, &e), -EINVAL);
    cfg_err_format(&e.items[0], err, sizeof err);
    assert_prefix(err, "t.yaml:42:16: auther \"nofile\": cannot read users file");
    cfg_errs_free(&e);
    cfg_free(c);
}

/* ---- file source and reload --------------------------------------------------------------- */

static void test_file(void **state)
{
    const char *path = write_file("users.txt", "# users\n"
                                               "\n"
                                               "  alice   secret  \n"
                                               "bob\tpw with spaces\r\n"
                                               "   # indented comment\n"
                                               "nopass\n"
                                               "carol filepw\n"
                                               "x#y z\n"
                                               "last lastpw");
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "authers:\n"
             "- name: f\n"
             "  auths: [{username: carol, password: inline}, {username: dan, password: d}]\n"
             "  file: {path: '%s'}\n",
             path);
    struct cfg *c = load(yaml);
    struct auther *a = NULL;
    struct cfg_errs e = {0};
    assert_int_equal(auth_build_named(c->authers[0], &a, &e), 0);
    assert_true(ok(a, "alice", "secret"));
    assert_true(ok(a, "bob", "pw with spaces"));
    assert_false(ok(a, "bob", "pw"));
    assert_true(ok(a, "nopass", "whatever"));
    /* The file overrides inline users; inline-only users stay. */
    assert_true(ok(a, "carol", "filepw"));
    assert_false(ok(a, "carol", "inline"));
    assert_true(ok(a, "dan", "d"));
    assert_true(ok(a, "x#y", "z"));
    assert_true(ok(a, "last", "lastpw"));
    assert_false(ok(a, "#", "users"));
    assert_false(ok(a, "# users", ""));
    /* No reload configured: no reload happens. */
    assert_int_equal(auther_reload_count(a), 0);
    auther_free(a);
    cfg_free(c);
}

static int64_t fake_now;
static int64_t fake_clock(void)
{
    return fake_now;
}

static struct cfg *reload_cfg(const char *path, const char *period)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "authers:\n"
             "- name: r\n"
             "  auths: [{username: inl, password: i}]\n"
             "  file: {path: '%s'}\n"
             "  reload: %s\n",
             path, period);
    return load(yaml);
}

/* The reload sequence, run either in a fiber (helper pool) or on the main thread (inline). */
static struct auther *reload_a;
static void reload_sequence(void)
{
    struct auther *a = reload_a;
    fake_now = 1000;
    auther_set_clock(a, fake_clock);
    write_file("r.txt", "u1 p1\n");
    /* Still the users read at build time until the period has elapsed. */
    fake_now = 1000 + 9999;
    rt_check(auther_authenticate(a, "u0", "p0", NULL, NULL, 0));
    rt_check(!auther_authenticate(a, "u1", "p1", NULL, NULL, 0));
    rt_check(auther_reload_count(a) == 0);
    fake_now = 1000 + 10000;
    rt_check(auther_authenticate(a, "u1", "p1", NULL, NULL, 0));
    rt_check(!auther_authenticate(a, "u0", "p0", NULL, NULL, 0));
    rt_check(auther_authenticate(a, "inl", "i", NULL, NULL, 0));
    rt_check(auther_reload_count(a) == 1);
    /* At most once per period. */
    write_file("r.txt", "u2 p2\n");
    fake_now += 5000;
    rt_check(!auther_authenticate(a, "u2", "p2", NULL, NULL, 0));
    rt_check(auther_reload_count(a) == 1);
    /* A vanished file keeps the previous users. */
    char p[600];
    snprintf(p, sizeof p, "%s/r.txt", tmpdir);
    unlink(p);
    fake_now += 5000;
    rt_check(auther_authenticate(a, "u1", "p1", NULL, NULL, 0));
    rt_check(auther_reload_count(a) == 1);
    /* Back again: picked up at the next period. */
    write_file("r.txt", "u3 p3\n");
    fake_now += 10000;
    rt_check(auther_authenticate(a, "u3", "p3", NULL, NULL, 0));
    rt_check(!auther_authenticate(a, "u1", "p1", NULL, NULL, 0));
    rt_check(auther_reload_count(a) == 2);
}

static void body_reload(void *arg)
{
    reload_sequence();
    rt_done();
}

static void test_reload(void **state)
{
    for (int in_fiber = 0; in_fiber < 2; in_fiber++) {
        const char *path = write_file("r.txt", "u0 p0\n");
        struct cfg *c = reload_cfg(path, "10s");
        struct cfg_errs e = {0};
        assert_int_equal(auth_build_named(c->authers[0], &reload_a, &e), 0);
        if (in_fiber) {
            assert_int_equal(rt_run(1, body_reload, NULL), 0);
            assert_false(rt_timed_out);
        } else {
            rt_failures = 0;
            reload_sequence();
            if (rt_failures)
                fprintf(stderr, "check failed: %s\n", rt_first_failure);
            assert_int_equal(rt_failures, 0);
        }
        auther_free(reload_a);
        cfg_free(c);
    }
}

static void test_reload_min_period(void **state)
{
    const char *path = write_file("m.txt", "a b\n");
    struct cfg *c = reload_cfg(path, "10ms");
    struct cfg_errs e = {0};
    struct auther *a = NULL;
    assert_int_equal(auth_build_named(c->authers[0], &a, &e), 0);
    fake_now = 0;
    auther_set_clock(a, fake_clock);
    write_file("m.txt", "c d\n");
    fake_now = 999;
    assert_false(ok(a, "c", "d"));
    fake_now = 1000;
    assert_true(ok(a, "c", "d"));
    auther_free(a);
    cfg_free(c);
}

/* Several threads authenticate while the table is reloaded on every call. */
static atomic_int conc_fail;
static atomic_bool conc_stop;
static int64_t conc_clock(void)
{
    static _Atomic int64_t t;
    return atomic_fetch_add(&t, 1000);
}

static void *conc_thread(void *arg)
{
    struct auther *a = arg;
    for (int i = 0; i < 3000; i++) {
        char id[AUTH_ID_MAX];
        if (!auther_authenticate(a, "stable", "s", NULL, id, sizeof id) ||
            strcmp(id, "stable") != 0)
            atomic_fetch_add(&conc_fail, 1);
        if (auther_authenticate(a, "stable", "wrong", NULL, NULL, 0))
            atomic_fetch_add(&conc_fail, 1);
    }
    return NULL;
}

static void test_concurrent_reload(void **state)
{
    const char *path = write_file("c.txt", "stable s\nother o\n");
    struct cfg *c = reload_cfg(path, "1s");
    struct cfg_errs e = {0};
    struct auther *a = NULL;
    assert_int_equal(auth_build_named(c->authers[0], &a, &e), 0);
    auther_set_clock(a, conc_clock);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, conc_thread, a), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    atomic_store(&conc_stop, true);
    assert_int_equal(atomic_load(&conc_fail), 0);
    assert_true(auther_reload_count(a) > 10);
    auther_free(a);
    cfg_free(c);
}

/* ---- client credentials ------------------------------------------------------------------- */

static void test_client_creds(void **state)
{
    char u[64], p[64];
    assert_int_equal(auth_client_creds(NULL, u, sizeof u, p, sizeof p), 0);
    assert_string_equal(u, "");
    struct cfg_auth au = {.username = "user", .password = "pass"};
    assert_int_equal(auth_client_creds(&au, u, sizeof u, p, sizeof p), 1);
    assert_string_equal(u, "user");
    assert_string_equal(p, "pass");
    au.password = NULL;
    assert_int_equal(auth_client_creds(&au, u, sizeof u, p, sizeof p), 1);
    assert_string_equal(p, "");
    au.username = "";
    assert_int_equal(auth_client_creds(&au, u, sizeof u, p, sizeof p), 0);

    /* The first non-comment line of the file wins over username/password. */
    au = (struct cfg_auth){.username = "cfg", .password = "cfgpw"};
    au.file = (char *)write_file("client.txt", "# comment\n\n  fuser  fpass word \nsecond x\n");
    assert_int_equal(auth_client_creds(&au, u, sizeof u, p, sizeof p), 1);
    assert_string_equal(u, "fuser");
    assert_string_equal(p, "fpass word");
    au.file = (char *)write_file("client2.txt", "onlyuser\n");
    assert_int_equal(auth_client_creds(&au, u, sizeof u, p, sizeof p), 1);
    assert_string_equal(u, "onlyuser");
    assert_string_equal(p, "");
    /* Unreadable or empty file: fall back to username/password. */
    au.file = "/nonexistent/creds";
    assert_int_equal(auth_client_creds(&au, u, sizeof u, p, sizeof p), 1);
    assert_string_equal(u, "cfg");
    assert_string_equal(p, "cfgpw");
    au.file = (char *)write_file("client3.txt", "# nothing\n");
    assert_int_equal(auth_client_creds(&au, u, sizeof u, p, sizeof p), 1);
    assert_string_equal(u, "cfg");
    /* Buffers too small. */
    char small[3];
    assert_int_equal(auth_client_creds(&au, small, sizeof small, p, sizeof p), -ENAMETOOLONG);
    assert_string_equal(small, "");
    assert_int_equal(auth_client_creds(&au, u, sizeof u, small, sizeof small), -ENAMETOOLONG);
    assert_string_equal(u, "");
}

int main(void)
{
    log_set_level(LOG_ERROR); /* the reload tests trigger expected warnings */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_auth),
        cmocka_unit_test(test_no_auth),
        cmocka_unit_test(test_empty_password_any),
        cmocka_unit_test(test_named),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_reload_min_period),
        cmocka_unit_test(test_concurrent_reload),
        cmocka_unit_test(test_client_creds),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
