/* Unit tests: typed config loading (config/schema.c, schema_tables.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/schema.h"

static struct cfg *load_ok(const char *text)
{
    struct cfg_errs e;
    cfg_errs_init(&e);
    struct cfg *c = NULL;
    int rc = cfg_load_string(text, strlen(text), "t.yaml", &c, &e);
    if (rc != 0) {
        cfg_errs_print(&e, stderr);
        fail_msg("load failed");
    }
    assert_int_equal(e.n, 0);
    cfg_errs_free(&e);
    return c;
}

/* Loads text expecting failure; returns all errors joined by '\n' (static buffer). */
static const char *load_err(const char *text)
{
    static char out[8192];
    struct cfg_errs e;
    cfg_errs_init(&e);
    struct cfg *c = NULL;
    int rc = cfg_load_string(text, strlen(text), "t.yaml", &c, &e);
    assert_int_not_equal(rc, 0);
    assert_null(c);
    out[0] = '\0';
    for (size_t i = 0; i < e.n; i++) {
        char line[1024];
        cfg_err_format(&e.items[i], line, sizeof(line));
        if (i)
            strcat(out, "\n");
        strncat(out, line, sizeof(out) - strlen(out) - 2);
    }
    cfg_errs_free(&e);
    return out;
}

static void test_basic_service_chain(void **state)
{
    (void)state;
    struct cfg *c = load_ok("services:\n"
                            "- name: service-0\n"
                            "  addr: :8080\n"
                            "  handler:\n"
                            "    type: http\n"
                            "    chain: chain-0\n"
                            "    auth: {username: u, password: p}\n"
                            "    metadata: {keepAlive: true, ttl: 10}\n"
                            "  listener:\n"
                            "    type: tcp\n"
                            "chains:\n"
                            "- name: chain-0\n"
                            "  hops:\n"
                            "  - name: hop-0\n"
                            "    selector: {strategy: fifo, maxFails: 3, failTimeout: 30s}\n"
                            "    nodes:\n"
                            "    - name: node-0\n"
                            "      addr: 1.2.3.4:1080\n"
                            "      connector: {type: socks5}\n"
                            "      dialer: {type: tls, tls: {serverName: example.com}}\n"
                            "log: {level: debug}\n");
    assert_int_equal(c->n_services, 1);
    struct cfg_service *s = c->services[0];
    assert_string_equal(s->name, "service-0");
    assert_string_equal(s->addr, ":8080");
    assert_int_equal(s->pos.line, 2);
    assert_int_equal(s->pos.col, 3);
    assert_string_equal(s->handler->type, "http");
    assert_string_equal(s->handler->auth->username, "u");
    assert_int_equal(s->handler->metadata->kind, CVAL_MAP);
    assert_string_equal(s->listener->type, "tcp");
    assert_null(s->forwarder);
    struct cval_pos p = cfg_pos_of(s->listener->node, "type");
    assert_int_equal(p.line, 10);
    assert_int_equal(p.col, 11);
    p = cfg_key_pos_of(s->listener->node, "TYPE");
    assert_int_equal(p.col, 5);
    assert_int_equal(c->n_chains, 1);
    struct cfg_hop *h = c->chains[0]->hops[0];
    assert_string_equal(h->selector->strategy, "fifo");
    assert_int_equal(h->selector->max_fails, 3);
    assert_int_equal(h->selector->fail_timeout, 30000000000LL);
    assert_string_equal(h->nodes[0]->dialer->tls->server_name, "example.com");
    assert_string_equal(c->log->level, "debug");
    assert_null(c->api);
    cfg_free(c);
}

static void test_durations(void **state)
{
    (void)state;
    struct {
        const char *text;
        int64_t ns;
    } cases[] = {
        {"30s", 30000000000LL},
        {"1m30s", 90000000000LL},
        {"1.5h", 5400000000000LL},
        {"300ms", 300000000LL},
        {"2us", 2000LL},
        {"1ns", 1LL},
        {"2µs", 2000LL},
        {"0", 0},
        {"-1s", -1000000000LL},
        {"100", 100},
        {"1e3", 1000},
        {"\"\"", -1},
        {"5x", -1},
        {"30", 30},
        {"\"30\"", -1},
        {"1.5", -1},
        {"true", -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "hops:\n- name: h\n  reload: %s\n", cases[i].text);
        if (cases[i].ns >= 0 || cases[i].ns == -1000000000LL) {
            struct cfg *c = load_ok(text);
            if (c->hops[0]->reload != cases[i].ns)
                fail_msg("%s: got %lld", cases[i].text, (long long)c->hops[0]->reload);
            cfg_free(c);
        } else {
            const char *err = load_err(text);
            if (!strstr(err, "t.yaml:3:11: \"reload\" in hop \"h\": expected a duration"))
                fail_msg("%s: %s", cases[i].text, err);
        }
    }
}

static void test_unknown_keys_and_suggestions(void **state)
{
    (void)state;
    assert_string_equal(load_err("chains:\n- name: chain-0\n  hopps: []\n"),
                        "t.yaml:3:3: unknown key \"hopps\" in chain \"chain-0\" (did you mean "
                        "\"hops\"?)");
    assert_string_equal(load_err("servics: []\n"),
                        "t.yaml:1:1: unknown key \"servics\" at top level (did you mean "
                        "\"services\"?)");
    assert_string_equal(load_err("services:\n- {name: a}\n- {name: b}\n- handler: {tpye: x}\n"),
                        "t.yaml:4:13: unknown key \"tpye\" in services[2].handler (did you mean "
                        "\"type\"?)");
    assert_string_equal(load_err("services:\n- name: s\n  zzzzzz: 1\n"),
                        "t.yaml:3:3: unknown key \"zzzzzz\" in service \"s\"");
    /* several errors reported at once, in order */
    assert_string_equal(load_err("services:\n- name: s\n  foo: 1\n  bar: 2\nbaz: 3\n"),
                        "t.yaml:3:3: unknown key \"foo\" in service \"s\"\n"
                        "t.yaml:4:3: unknown key \"bar\" in service \"s\"\n"
                        "t.yaml:5:1: unknown key \"baz\" at top level");
}

static void test_type_errors(void **state)
{
    (void)state;
    assert_string_equal(load_err("services:\n- name: s\n  addr: {a: 1}\n"),
                        "t.yaml:3:9: \"addr\" in service \"s\": expected a string, got a "
                        "mapping");
    assert_string_equal(load_err("tls:\n  secure: yes\n"),
                        "t.yaml:2:11: \"secure\" in tls: expected a bool (true/false/1/0), got "
                        "\"yes\"");
    assert_string_equal(load_err("hops:\n- name: h\n  selector: {maxFails: abc}\n"),
                        "t.yaml:3:24: \"maxFails\" in hop \"h\".selector: expected an integer, "
                        "got \"abc\"");
    assert_string_equal(load_err("services: {name: s, handler: [1]}\n"),
                        "t.yaml:1:30: service \"s\".handler: expected a mapping, got a list");
    assert_string_equal(load_err("bypasses:\n- name: b\n  matchers: {a: 1}\n"),
                        "t.yaml:3:13: \"matchers\" in bypass \"b\": expected a list of strings, "
                        "got a mapping");
    assert_string_equal(load_err("services: 5\n"),
                        "t.yaml:1:11: \"services\" at top level: expected a list, got \"5\"");
    assert_string_equal(load_err("- a\n"),
                        "t.yaml:1:1: expected a mapping at top level, got a list");
    assert_string_equal(load_err("services:\n- ~\n"),
                        "t.yaml:2:3: empty entry in \"services\" at top level");
}

static void test_weak_typing(void **state)
{
    (void)state;
    struct cfg *c = load_ok("services:\n"
                            "  name: s\n" /* a single object lifts into a list */
                            "  addr: 8080\n"
                            "  bypasses: a,b\n"
                            "  admissions: 7\n"
                            "  loggers: \"\"\n"
                            "  handler: {type: http, retries: \"0x10\"}\n"
                            "  listener: {type: 1.5}\n"
                            "tls:\n"
                            "  secure: \"1\"\n"
                            "  commonName: true\n"
                            "  organization: false\n"
                            "log:\n"
                            "  rotation: {maxSize: \"100\", compress: 1, localTime: \"false\"}\n");
    struct cfg_service *s = c->services[0];
    assert_int_equal(c->n_services, 1);
    assert_string_equal(s->addr, "8080");
    assert_int_equal(s->n_bypasses, 2);
    assert_string_equal(s->bypasses[1], "b");
    assert_int_equal(s->n_admissions, 1);
    assert_string_equal(s->admissions[0], "7");
    assert_int_equal(s->n_loggers, 0);
    assert_int_equal(s->handler->retries, 16);
    assert_string_equal(s->listener->type, "1.5");
    assert_true(c->tls->secure);
    assert_string_equal(c->tls->common_name, "1");
    assert_string_equal(c->tls->organization, "0");
    assert_int_equal(c->log->rotation->max_size, 100);
    assert_true(c->log->rotation->compress);
    assert_false(c->log->rotation->local_time);
    cfg_free(c);
}

static void test_case_keys(void **state)
{
    (void)state;
    struct cfg *c = load_ok("HOPS:\n- NAME: h\n  Selector: {maxfails: 2, FAILTIMEOUT: 1s}\n");
    assert_string_equal(c->hops[0]->name, "h");
    assert_int_equal(c->hops[0]->selector->max_fails, 2);
    assert_int_equal(c->hops[0]->selector->fail_timeout, 1000000000LL);
    cfg_free(c);
    c = load_ok("tls: {certfile: a, KEYFILE: b, cafile: c, servername: d}\n");
    assert_string_equal(c->tls->cert_file, "a");
    assert_string_equal(c->tls->key_file, "b");
    assert_string_equal(c->tls->ca_file, "c");
    assert_string_equal(c->tls->server_name, "d");
    cfg_free(c);
    assert_string_equal(load_err("tls: {certFile: a, certfile: b}\n"),
                        "t.yaml:1:20: key \"certfile\" in tls repeats \"certFile\" (line 1:7); "
                        "keys are case-insensitive");
    assert_string_equal(load_err("services:\n- name: s\n  metadata: {Path: a, path: b}\n"),
                        "t.yaml:3:23: metadata key \"path\" in service \"s\".metadata repeats "
                        "\"Path\" (line 3:14); keys are case-insensitive");
}

static void test_deprecated_fields(void **state)
{
    (void)state;
    struct cfg *c =
        load_ok("services:\n"
                "- name: s\n"
                "  interface: eth0\n"
                "  sockopts: {mark: 7}\n"
                "  status: {createTime: 1, state: running, events: [{time: 2, msg: m}],\n"
                "           stats: {totalConns: 3}}\n"
                "  forwarder:\n"
                "    name: hop-x\n"
                "    nodes:\n"
                "    - {name: t, addr: 'a:1', protocol: http, host: h, path: /p,\n"
                "       filter: {host: h}, auth: {username: u}}\n"
                "hops:\n"
                "- name: h\n"
                "  interface: eth1\n"
                "  sockopts: {mark: 1}\n"
                "  nodes:\n"
                "  - name: n\n"
                "    interface: eth2\n"
                "    netns: ns\n"
                "    sockopts: {mark: 2}\n"
                "    filter: {protocol: http}\n"
                "    http:\n"
                "      header: {X-A: 1}\n"
                "      rewrite: [{match: a, replacement: b}]\n"
                "      rewriteBody: [{type: text/html, match: a, replacement: b}]\n"
                "routers:\n"
                "- name: r\n"
                "  routes: [{net: 10.0.0.0/8, gateway: 1.1.1.1}]\n"
                "admissions: [{name: a, reverse: true}]\n"
                "bypasses: [{name: b, reverse: true}]\n");
    struct cfg_service *s = c->services[0];
    assert_string_equal(s->interface, "eth0");
    assert_int_equal(s->sockopts->mark, 7);
    assert_int_equal(s->status->create_time, 1);
    assert_int_equal(s->status->stats->total_conns, 3);
    assert_string_equal(s->forwarder->name, "hop-x");
    struct cfg_forward_node *fn = s->forwarder->nodes[0];
    assert_string_equal(fn->protocol, "http");
    assert_string_equal(fn->host, "h");
    assert_string_equal(fn->path, "/p");
    assert_string_equal(fn->filter->host, "h");
    assert_string_equal(fn->auth->username, "u");
    struct cfg_node *n = c->hops[0]->nodes[0];
    assert_string_equal(n->netns, "ns");
    assert_int_equal(n->sockopts->mark, 2);
    assert_string_equal(n->filter->protocol, "http");
    assert_string_equal(cval_map_get(n->http->header, "X-A")->str, "1");
    assert_int_equal(cval_map_get(n->http->header, "X-A")->kind, CVAL_STR);
    assert_string_equal(n->http->rewrite[0]->replacement, "b");
    assert_string_equal(n->http->rewrite_body[0]->type, "text/html");
    assert_string_equal(c->routers[0]->routes[0]->net, "10.0.0.0/8");
    assert_true(c->admissions[0]->reverse);
    assert_true(c->bypasses[0]->reverse);
    cfg_free(c);
}

static void test_chain_group_entries(void **state)
{
    (void)state;
    struct cfg *c = load_ok("services:\n- name: s\n  handler:\n    type: http\n    chainGroup:\n"
                            "      chains:\n      - chain-a\n"
                            "      - chain: chain-b\n        matcher: {rule: Host(`x`)}\n"
                            "        probe: {type: tcp, interval: 10s}\n"
                            "      selector: {strategy: round}\n");
    struct cfg_chain_group *g = c->services[0]->handler->chain_group;
    assert_int_equal(g->n_chains, 2);
    assert_string_equal(g->chains[0]->chain, "chain-a");
    assert_null(g->chains[0]->matcher);
    assert_int_equal(g->chains[0]->node->kind, CVAL_STR);
    assert_int_equal(g->chains[0]->pos.line, 7);
    assert_string_equal(g->chains[1]->chain, "chain-b");
    assert_string_equal(g->chains[1]->matcher->rule, "Host(`x`)");
    assert_int_equal(g->chains[1]->probe->interval, 10000000000LL);
    assert_string_equal(g->selector->strategy, "round");
    cfg_free(c);
}

static void test_duplicate_names(void **state)
{
    (void)state;
    assert_string_equal(load_err("services:\n- name: a\n- name: b\n- name: a\n"
                                 "chains:\n- {name: c, hops: []}\n- {name: c, hops: []}\n"),
                        "t.yaml:4:9: duplicate service name \"a\" in \"services\" (first defined "
                        "at t.yaml:2:9)\n"
                        "t.yaml:7:10: duplicate chain name \"c\" in \"chains\" (first defined at "
                        "t.yaml:6:10)");
    /* the same name in different lists is fine; so are two unnamed objects */
    struct cfg *c = load_ok("limiters: [{name: x}]\nclimiters: [{name: x}]\nservices: [{}, {}]\n");
    cfg_free(c);
}

static void test_null_is_absent_and_empty(void **state)
{
    (void)state;
    struct cfg *c = load_ok("services:\n- name: s\n  handler:\n  addr: ~\n  metadata:\n");
    assert_null(c->services[0]->handler);
    assert_null(c->services[0]->addr);
    assert_null(c->services[0]->metadata);
    cfg_free(c);
    c = load_ok("");
    assert_int_equal(c->n_services, 0);
    cfg_free(c);
    c = load_ok("{}");
    cfg_free(c);
}

static void test_error_cap(void **state)
{
    (void)state;
    char text[4096] = "services:\n- name: s\n";
    for (int i = 0; i < 30; i++) {
        char line[64];
        snprintf(line, sizeof(line), "  bad%d: 1\n", i);
        strcat(text, line);
    }
    struct cfg_errs e;
    cfg_errs_init(&e);
    struct cfg *c = NULL;
    assert_int_not_equal(cfg_load_string(text, strlen(text), "t.yaml", &c, &e), 0);
    assert_int_equal(e.n, CFG_ERRS_MAX);
    assert_int_equal(e.dropped, 10);
    assert_int_equal(cfg_errs_count(&e), 30);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cfg_errs_print(&e, f);
    fclose(f);
    assert_non_null(strstr(buf, "... and 10 more errors\n"));
    free(buf);
    cfg_errs_free(&e);
}

static void test_merge(void **state)
{
    (void)state;
    struct cfg *a = load_ok("services: [{name: a}]\nlog: {level: info}\napi: {addr: ':1'}\n");
    struct cfg *b = load_ok("services: [{name: b}]\nlog: {level: debug}\nhops: [{name: h}]\n");
    struct cfg_errs e;
    cfg_errs_init(&e);
    assert_int_equal(cfg_merge(a, b, &e), 0);
    assert_int_equal(a->n_services, 2);
    assert_string_equal(a->services[1]->name, "b");
    assert_string_equal(a->log->level, "debug");
    assert_string_equal(a->api->addr, ":1");
    assert_int_equal(a->n_hops, 1);
    struct cfg *d = load_ok("services: [{name: a}]\n");
    assert_int_not_equal(cfg_merge(a, d, &e), 0);
    assert_int_equal(e.n, 1);
    assert_non_null(strstr(e.items[0].msg, "duplicate service name \"a\""));
    cfg_errs_free(&e);
    cfg_free(a);
}

static void test_load_cval_from_cli_shape(void **state)
{
    (void)state;
    /* the CLI builder produces trees of scalar strings; positions may be labels */
    struct cval_pos p = {cval_intern("-L[0]"), 0, 0};
    struct cval *root = cval_new(CVAL_MAP, p);
    struct cval *svcs = cval_map_set(root, "services", p, cval_new(CVAL_LIST, p));
    struct cval *s = cval_new(CVAL_MAP, p);
    cval_map_set(s, "name", p, cval_new_str("service-0", p));
    cval_map_set(s, "addr", p, cval_new_str(":8080", p));
    struct cval *h = cval_map_set(s, "handler", p, cval_new(CVAL_MAP, p));
    cval_map_set(h, "type", p, cval_new_str("http", p));
    cval_map_set(h, "retries", p, cval_new_str("3", p));
    cval_list_push(svcs, s);
    struct cfg *c = NULL;
    struct cfg_errs e;
    cfg_errs_init(&e);
    assert_int_equal(cfg_load_cval(root, &c, &e), 0);
    assert_int_equal(c->services[0]->handler->retries, 3);
    cfg_free(c);

    root = cval_new(CVAL_MAP, p);
    cval_map_set(root, "bogus", p, cval_new_str("x", p));
    assert_int_not_equal(cfg_load_cval(root, &c, &e), 0);
    char buf[256];
    cfg_err_format(&e.items[0], buf, sizeof(buf));
    assert_string_equal(buf, "-L[0]: unknown key \"bogus\" at top level");
    cfg_errs_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_service_chain),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_unknown_keys_and_suggestions),
        cmocka_unit_test(test_type_errors),
        cmocka_unit_test(test_weak_typing),
        cmocka_unit_test(test_case_keys),
        cmocka_unit_test(test_deprecated_fields),
        cmocka_unit_test(test_chain_group_entries),
        cmocka_unit_test(test_duplicate_names),
        cmocka_unit_test(test_null_is_absent_and_empty),
        cmocka_unit_test(test_error_cap),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_load_cval_from_cli_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
