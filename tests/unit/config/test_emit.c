/* Unit tests: -O yaml|json emitter (config/emit.c, emit_scalar.c) and round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "config/emit.h"
#include "config/emit_scalar.h"
#include "config/schema.h"

static struct cfg *load_ok(const char *text, const char *label)
{
    struct cfg_errs e;
    cfg_errs_init(&e);
    struct cfg *c = NULL;
    if (cfg_load_string(text, strlen(text), label, &c, &e) != 0) {
        cfg_errs_print(&e, stderr);
        fail_msg("load failed");
    }
    cfg_errs_free(&e);
    return c;
}

/* Emits into a malloc'd string. */
static char *emit(const struct cfg *c, enum cfg_format fmt)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(cfg_emit(c, f, fmt), 0);
    fclose(f);
    return buf;
}

static char *emit_text(const char *text, enum cfg_format fmt)
{
    struct cfg *c = load_ok(text, "t.yaml");
    char *s = emit(c, fmt);
    cfg_free(c);
    return s;
}

static const char *k_cfg = "services:\n"
                           "- name: service-0\n"
                           "  addr: \":8080\"\n"
                           "  handler:\n"
                           "    type: http\n"
                           "    chain: chain-0\n"
                           "    metadata: {b: 1, a: \"x<y\", c: [1, two], d: 1.5}\n"
                           "  listener:\n"
                           "    type: tcp\n"
                           "  forwarder:\n"
                           "    selector: {strategy: rand, failTimeout: 90s}\n"
                           "    nodes: [{name: t, addr: '1.2.3.4:80'}]\n"
                           "chains:\n"
                           "- name: chain-0\n"
                           "  hops:\n"
                           "  - name: hop-0\n"
                           "    nodes:\n"
                           "    - name: node-0\n"
                           "      addr: 10.0.0.1:1080\n"
                           "      connector: {type: socks5}\n"
                           "      dialer: {type: tcp}\n";

static void test_json_exact(void **state)
{
    (void)state;
    char *s = emit_text(k_cfg, CFG_JSON);
    const char *want = "{\n"
                       "  \"services\": [\n"
                       "    {\n"
                       "      \"name\": \"service-0\",\n"
                       "      \"addr\": \":8080\",\n"
                       "      \"handler\": {\n"
                       "        \"type\": \"http\",\n"
                       "        \"chain\": \"chain-0\",\n"
                       "        \"metadata\": {\n"
                       "          \"a\": \"x\\u003cy\",\n"
                       "          \"b\": 1,\n"
                       "          \"c\": [\n"
                       "            1,\n"
                       "            \"two\"\n"
                       "          ],\n"
                       "          \"d\": 1.5\n"
                       "        }\n"
                       "      },\n"
                       "      \"listener\": {\n"
                       "        \"type\": \"tcp\"\n"
                       "      },\n"
                       "      \"forwarder\": {\n"
                       "        \"selector\": {\n"
                       "          \"strategy\": \"rand\",\n"
                       "          \"maxFails\": 0,\n"
                       "          \"failTimeout\": 90000000000\n"
                       "        },\n"
                       "        \"nodes\": [\n"
                       "          {\n"
                       "            \"name\": \"t\",\n"
                       "            \"addr\": \"1.2.3.4:80\"\n"
                       "          }\n"
                       "        ]\n"
                       "      }\n"
                       "    }\n"
                       "  ],\n"
                       "  \"chains\": [\n"
                       "    {\n"
                       "      \"name\": \"chain-0\",\n"
                       "      \"hops\": [\n"
                       "        {\n"
                       "          \"name\": \"hop-0\",\n"
                       "          \"nodes\": [\n"
                       "            {\n"
                       "              \"name\": \"node-0\",\n"
                       "              \"addr\": \"10.0.0.1:1080\",\n"
                       "              \"connector\": {\n"
                       "                \"type\": \"socks5\"\n"
                       "              },\n"
                       "              \"dialer\": {\n"
                       "                \"type\": \"tcp\"\n"
                       "              }\n"
                       "            }\n"
                       "          ]\n"
                       "        }\n"
                       "      ]\n"
                       "    }\n"
                       "  ]\n"
                       "}\n";
    assert_string_equal(s, want);
    free(s);
}

static void test_yaml_exact(void **state)
{
    (void)state;
    char *s = emit_text(k_cfg, CFG_YAML);
    const char *want = "services:\n"
                       "  - name: service-0\n"
                       "    addr: :8080\n"
                       "    handler:\n"
                       "      type: http\n"
                       "      chain: chain-0\n"
                       "      metadata:\n"
                       "        a: x<y\n"
                       "        b: 1\n"
                       "        c:\n"
                       "          - 1\n"
                       "          - two\n"
                       "        d: 1.5\n"
                       "    listener:\n"
                       "      type: tcp\n"
                       "    forwarder:\n"
                       "      selector:\n"
                       "        strategy: rand\n"
                       "        maxFails: 0\n"
                       "        failTimeout: 1m30s\n"
                       "      nodes:\n"
                       "        - name: t\n"
                       "          addr: 1.2.3.4:80\n"
                       "chains:\n"
                       "  - name: chain-0\n"
                       "    hops:\n"
                       "      - name: hop-0\n"
                       "        nodes:\n"
                       "          - name: node-0\n"
                       "            addr: 10.0.0.1:1080\n"
                       "            connector:\n"
                       "              type: socks5\n"
                       "            dialer:\n"
                       "              type: tcp\n";
    assert_string_equal(s, want);
    free(s);
}

static void test_empty_config(void **state)
{
    (void)state;
    char *s = emit_text("", CFG_JSON);
    assert_string_equal(s, "{\n  \"services\": null\n}\n");
    free(s);
    s = emit_text("", CFG_YAML);
    assert_string_equal(s, "services: []\n");
    free(s);
    /* non-omitempty fields of present objects */
    s = emit_text("chains: [{name: c}]\nhops: [{name: h, selector: {}}]\n", CFG_YAML);
    assert_string_equal(s, "services: []\nchains:\n  - name: c\n    hops: []\nhops:\n"
                           "  - name: h\n    selector:\n      strategy: \"\"\n      maxFails: 0\n"
                           "      failTimeout: 0s\n");
    free(s);
    s = emit_text("services: [{}]\n", CFG_JSON);
    assert_string_equal(s, "{\n  \"services\": [\n    {\n      \"name\": \"\"\n    }\n  ]\n}\n");
    free(s);
}

static void test_yaml_durations(void **state)
{
    (void)state;
    struct {
        const char *in;
        const char *out;
    } cases[] = {
        {"30s", "30s"},       {"60s", "1m0s"},          {"5400s", "1h30m0s"}, {"1500ms", "1.5s"},
        {"0", "0s"},          {"2us", "2µs"},           {"1ns", "1ns"},       {"-3ms", "-3ms"},
        {"100h", "100h0m0s"}, {"1h0m0.5s", "1h0m0.5s"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[128], want[128];
        snprintf(text, sizeof(text), "hops: [{name: h, selector: {failTimeout: %s}}]\n",
                 cases[i].in);
        char *s = emit_text(text, CFG_YAML);
        snprintf(want, sizeof(want), "      failTimeout: %s\n", cases[i].out);
        if (!strstr(s, want))
            fail_msg("%s: %s", cases[i].in, s);
        free(s);
    }
}

static char *yaml_str(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    emit_yaml_string(f, s, 0, false);
    fclose(f);
    return buf;
}

static void test_yaml_quoting(void **state)
{
    (void)state;
    struct {
        const char *in;
        const char *out;
    } cases[] = {
        {"plain", "plain"},
        {":8080", ":8080"},
        {"8080", "\"8080\""},
        {"true", "\"true\""},
        {"yes", "\"yes\""},
        {"off", "\"off\""},
        {"", "\"\""},
        {"~", "\"~\""},
        {"null", "\"null\""},
        {"1.5", "\"1.5\""},
        {"0x1F", "\"0x1F\""},
        {"1:20", "\"1:20\""},
        {"2001-12-14", "\"2001-12-14\""},
        {"a: b", "'a: b'"},
        {"#c", "'#c'"},
        {"a #c", "'a #c'"},
        {"- x", "'- x'"},
        {"*x", "'*x'"},
        {" lead", "' lead'"},
        {"trail ", "'trail '"},
        {"it's", "it's"},
        {"'q", "'''q'"},
        {"a\tb", "\"a\\tb\""},
        {"line1\nline2", "|-\n  line1\n  line2\n"},
        {"line1\n", "|\n  line1\n"},
        {"x\n\n", "|+\n  x\n\n"},
        {" a\nb", "|2-\n   a\n  b\n"},
        {"a \nb", "\"a \\nb\""},
        {"é", "é"},
        {"\xf0\x9f\x98\x80", "\"\\U0001F600\""},
        {"Host(`example.com`) && Path(`/a`)", "Host(`example.com`) && Path(`/a`)"},
        {"[a]", "'[a]'"},
        {"a,b", "a,b"},
        {"---", "'---'"},
        {"a\"b", "a\"b"},
        {"\"a", "'\"a'"},
        {"\x01", "\"\\x01\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = yaml_str(cases[i].in);
        if (strcmp(s, cases[i].out) != 0)
            fail_msg("case %zu: got [%s] want [%s]", i, s, cases[i].out);
        free(s);
    }
}

static void test_json_escaping(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    emit_json_string(f, "<a href=\"x\">&\\\b\f\n\r\t\x01\x7f \xe2\x80\xa8 \xff é");
    fclose(f);
    assert_string_equal(buf,
                        "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026\\\\\\b\\f\\n\\r\\t\\u0001\x7f "
                        "\\u2028 \\ufffd é\"");
    free(buf);
}

static void test_key_order(void **state)
{
    (void)state;
    assert_true(emit_yaml_key_cmp("a9", "a10") < 0);
    assert_true(emit_yaml_key_cmp("Z", "a") < 0);
    assert_true(emit_yaml_key_cmp("a", "ab") < 0);
    assert_true(emit_yaml_key_cmp("ab", "ab") == 0);
    assert_true(emit_yaml_key_cmp("a.b", "a1") < 0);
    assert_true(emit_yaml_key_cmp("x12345678901234567890123", "x2") != 0);
}

static int key_cmp_q(const void *a, const void *b)
{
    return emit_yaml_key_cmp(*(const char *const *)a, *(const char *const *)b);
}

/* The order must not depend on the input order (the -O round trip relies on it), also for
 * digit runs too long for Go's int64 arithmetic and for very long keys. */
static void test_key_order_consistent(void **state)
{
    (void)state;
    const char *keys[] = {
        "a",
        "a1",
        "a01",
        "a10",
        "a9",
        "b",
        "B",
        "1",
        "01",
        "001",
        "10",
        "-",
        "_",
        "~x",
        "é",
        "x99999999999999999999999",
        "x100000000000000000000000",
        "x9223372036854775807",
        "x9223372036854775808",
        "a0b",
        "a00b",
        "",
        "5555555555555555555555555555555555A5",
        "555555555555555555555550)0005000002487771122440747236A5",
        "Z9",
        "z9",
        "k.1",
        "k.10",
        /* one long key, split over two lines (deliberate concatenation) */
        ("kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
         "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk1"),
    };
    enum { N = sizeof(keys) / sizeof(keys[0]) };
    const char *ref[N], *perm[N];
    memcpy(ref, keys, sizeof(keys));
    qsort(ref, N, sizeof(ref[0]), key_cmp_q);
    unsigned seed = 12345;
    for (int round = 0; round < 200; round++) {
        memcpy(perm, keys, sizeof(keys));
        for (size_t i = N - 1; i > 0; i--) {
            seed = seed * 1103515245u + 12345u;
            size_t j = (seed >> 8) % (i + 1);
            const char *t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        qsort(perm, N, sizeof(perm[0]), key_cmp_q);
        for (size_t i = 0; i < N; i++)
            assert_string_equal(perm[i], ref[i]);
    }
    for (size_t i = 0; i + 1 < N; i++)
        assert_true(emit_yaml_key_cmp(ref[i], ref[i + 1]) < 0);
}

static void test_chain_group_and_untagged(void **state)
{
    (void)state;
    const char *text = "services:\n- name: s\n  handler:\n    type: http\n    chainGroup:\n"
                       "      chains: [a, {chain: b, matcher: {rule: x}}]\n"
                       "hops:\n- name: h\n  nodes:\n  - name: n\n    http:\n"
                       "      rewriteURL: [{match: /a, replacement: /b}]\n"
                       "      rewriteBody: [{match: x, replacement: y}]\n";
    char *j = emit_text(text, CFG_JSON);
    assert_non_null(strstr(j, "\"chains\": [\n            \"a\",\n            {\n"
                              "              \"chain\": \"b\",\n"));
    assert_non_null(strstr(j, "\"Match\": \"/a\",\n"));
    assert_non_null(strstr(j, "\"Type\": \"\",\n"));
    free(j);
    char *y = emit_text(text, CFG_YAML);
    assert_non_null(strstr(y, "        chains:\n          - a\n          - chain: b\n"
                              "            matcher:\n              rule: x\n"));
    assert_non_null(strstr(y, "            - match: /a\n              replacement: /b\n"));
    assert_non_null(strstr(y, "            - type: \"\"\n              match: x\n"));
    free(y);
}

/* Output → load → output must be a fixed point, in both formats and across them. */
static void assert_round_trip(const char *text)
{
    struct cfg *c = load_ok(text, "t.yaml");
    char *y1 = emit(c, CFG_YAML);
    char *j1 = emit(c, CFG_JSON);
    cfg_free(c);

    c = load_ok(y1, "out.yaml");
    char *y2 = emit(c, CFG_YAML);
    char *jy = emit(c, CFG_JSON);
    cfg_free(c);
    c = load_ok(j1, "out.json");
    char *j2 = emit(c, CFG_JSON);
    char *yj = emit(c, CFG_YAML);
    cfg_free(c);

    assert_string_equal(y1, y2);
    assert_string_equal(j1, j2);
    assert_string_equal(j1, jy);
    assert_string_equal(y1, yj);
    free(y1);
    free(y2);
    free(j1);
    free(j2);
    free(jy);
    free(yj);
}

static void test_round_trip(void **state)
{
    (void)state;
    assert_round_trip(k_cfg);
    assert_round_trip(
        "services:\n"
        "- name: \"weird: name\"\n"
        "  addr: \"8080\"\n"
        "  bypasses: [a, 'yes', '']\n"
        "  status: {createTime: 5, state: ready, stats: {inputBytes: 18446744073709551615}}\n"
        "  handler:\n"
        "    type: relay\n"
        "    retries: -1\n"
        "    metadata:\n"
        "      s: \"multi\\nline\\n\"\n"
        "      t: \"tab\\there\"\n"
        "      n: ~\n"
        "      f: 1e300\n"
        "      g: 0.000001\n"
        "      h: -0.5\n"
        "      l: [[], {}, [1, [2]], {x: {y: [z]}}]\n"
        "      \"8080\": port\n"
        "      \"\": empty key\n"
        "      u: \"\\U0001F600 \\u00e9\"\n"
        "      b: false\n"
        "  listener: {type: tcp, tls: {validity: 8760h, secure: true}}\n"
        "tls: {serverNames: [a, b], options: {alpn: [h2], cipherSuites: [x]}}\n"
        "log: {output: stderr, rotation: {maxSize: 10, compress: true}}\n"
        "api: {addr: ':18080', accesslog: true, auth: {username: u, password: \"p:w\"}}\n"
        "metrics: {addr: ':9000', path: /metrics}\n"
        "profiling: {addr: ':6060'}\n"
        "recorders: [{name: r, http: {url: 'http://x', header: {B: '2', A: '1'}}}]\n"
        "routers: [{name: r, routes: [{dst: 10.0.0.0/8, gateway: 1.1.1.1}]}]\n"
        "quotas: [{name: q, limit: 1GB, store: {type: redis, redis: {addr: 'r:1', db: 2}}}]\n"
        "caches: [{name: c, memory: {ttl: 1m, maxBytes: 1048576}}]\n");
}

static void test_emit_write_error(void **state)
{
    (void)state;
    /* JSON has no Inf/NaN: they print as null (Go's encoder would fail outright) */
    char *j = emit_text("services: [{name: s, metadata: {a: .inf, b: .nan}}]\n", CFG_JSON);
    assert_non_null(strstr(j, "\"a\": null,\n"));
    free(j);
    j = emit_text("services: [{name: s, metadata: {a: .inf, b: -.Inf, c: .NaN}}]\n", CFG_YAML);
    assert_non_null(strstr(j, "      a: .inf\n      b: -.inf\n      c: .nan\n"));
    free(j);
    struct cfg *c = load_ok(k_cfg, "t.yaml");
    FILE *f = fopen("/dev/full", "w");
    if (f) {
        setvbuf(f, NULL, _IONBF, 0);
        assert_int_equal(cfg_emit(c, f, CFG_JSON), -EIO);
        fclose(f);
    }
    cfg_free(c);
    assert_int_equal(cfg_format_from_name("json"), CFG_JSON);
    assert_int_equal(cfg_format_from_name("yaml"), CFG_YAML);
    assert_int_equal(cfg_format_from_name("x"), CFG_YAML);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_exact),
        cmocka_unit_test(test_yaml_exact),
        cmocka_unit_test(test_empty_config),
        cmocka_unit_test(test_yaml_durations),
        cmocka_unit_test(test_yaml_quoting),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_key_order),
        cmocka_unit_test(test_key_order_consistent),
        cmocka_unit_test(test_chain_group_and_untagged),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_emit_write_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
