/* Unit tests: YAML/JSON text → cval tree (config/yaml_load.c, config/yaml_scalar.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/cval.h"
#include "config/yaml_load.h"
#include "config/yaml_scalar.h"

static struct cval *load(const char *text, struct cfg_errs *errs)
{
    cfg_errs_init(errs);
    return yaml_load_string(text, strlen(text), "t.yaml", errs);
}

static char *first_err(const struct cfg_errs *errs)
{
    static char buf[512];
    assert_true(errs->n > 0);
    cfg_err_format(&errs->items[0], buf, sizeof(buf));
    return buf;
}

static void test_scalar_typing(void **state)
{
    (void)state;
    struct cfg_errs e;
    struct cval *v = load("a: 1\nb: -7\nc: 1.5\nd: true\ne: FALSE\nf: ~\ng: null\nh: yes\n"
                          "i: \"5\"\nj: '6'\nk: !!str 7\nl: 0x1F\nm: 0o17\nn: 0777\no: 1_000\n"
                          "p: 08\nq: .inf\nr: 1e3\ns: +5\nt: 2001-12-14\nu: 0b101\nv:\n",
                          &e);
    assert_non_null(v);
    assert_int_equal(v->kind, CVAL_MAP);
    struct {
        const char *key;
        enum cval_kind kind;
        int64_t i;
    } want[] = {
        {"a", CVAL_INT, 1},   {"b", CVAL_INT, -7},  {"c", CVAL_FLOAT, 0},  {"d", CVAL_BOOL, 1},
        {"e", CVAL_BOOL, 0},  {"f", CVAL_NULL, 0},  {"g", CVAL_NULL, 0},   {"h", CVAL_STR, 0},
        {"i", CVAL_STR, 0},   {"j", CVAL_STR, 0},   {"k", CVAL_STR, 0},    {"l", CVAL_INT, 31},
        {"m", CVAL_INT, 15},  {"n", CVAL_INT, 511}, {"o", CVAL_INT, 1000}, {"p", CVAL_FLOAT, 0},
        {"q", CVAL_FLOAT, 0}, {"r", CVAL_FLOAT, 0}, {"s", CVAL_INT, 5},    {"t", CVAL_STR, 0},
        {"u", CVAL_INT, 5},   {"v", CVAL_NULL, 0},
    };
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        struct cval *x = cval_map_get(v, want[k].key);
        assert_non_null(x);
        if (x->kind != want[k].kind)
            fail_msg("key %s: kind %d, want %d", want[k].key, x->kind, want[k].kind);
        if (want[k].kind == CVAL_INT)
            assert_int_equal(x->u.i, want[k].i);
        if (want[k].kind == CVAL_BOOL)
            assert_int_equal(x->u.b, want[k].i);
    }
    assert_string_equal(cval_map_get(v, "n")->str, "0777"); /* original text kept */
    assert_true(cval_map_get(v, "p")->u.f == 8.0);
    assert_true(cval_map_get(v, "r")->u.f == 1000.0);
    cval_free(v);
    cfg_errs_free(&e);
}

static void test_positions(void **state)
{
    (void)state;
    struct cfg_errs e;
    struct cval *v = load("services:\n  - name: \"a b\"\n    addr: :8080\n", &e);
    assert_non_null(v);
    assert_string_equal(v->pos.file, "t.yaml");
    struct cval *svcs = cval_map_get(v, "services");
    assert_int_equal(svcs->pos.line, 2);
    assert_int_equal(svcs->pos.col, 3);
    struct cval *s0 = svcs->u.list.items[0];
    assert_int_equal(s0->pos.line, 2);
    assert_int_equal(s0->pos.col, 5);
    assert_int_equal(s0->u.map.ents[0].key_pos.line, 2);
    assert_int_equal(s0->u.map.ents[0].key_pos.col, 5);
    struct cval *name = cval_map_get(s0, "name");
    assert_int_equal(name->pos.line, 2);
    assert_int_equal(name->pos.col, 11); /* the opening quote */
    struct cval *addr = cval_map_get(s0, "addr");
    assert_int_equal(addr->pos.line, 3);
    assert_int_equal(addr->pos.col, 11);
    assert_string_equal(addr->str, ":8080");
    cval_free(v);
    cfg_errs_free(&e);
}

static void test_json_tabs_and_modes(void **state)
{
    (void)state;
    struct cfg_errs e;
    const char *j = "{\"a\":\t1,\n\t\"b\": [\"x\",\t{\"c\": null}], \"d\": 1.5e3}";
    struct cval *v = load(j, &e);
    assert_non_null(v);
    assert_int_equal(cval_map_get(v, "a")->kind, CVAL_INT);
    assert_int_equal(cval_map_get(v, "b")->u.list.n, 2);
    assert_true(cval_map_get(v, "d")->u.f == 1500.0);
    cval_free(v);
    cfg_errs_free(&e);

    /* a .json label and compact JSON */
    cfg_errs_init(&e);
    const char *compact = "{\"services\":[{\"name\":\"s\",\"addr\":\":1\"}]}";
    v = yaml_load_string(compact, strlen(compact), "x.json", &e);
    assert_non_null(v);
    assert_int_equal(e.n, 0);
    cval_free(v);
    cfg_errs_free(&e);
}

static void test_anchors_merge(void **state)
{
    (void)state;
    struct cfg_errs e;
    struct cval *v = load("base: &b {x: 1, y: 2}\n"
                          "more: &m {z: 3}\n"
                          "c:\n  <<: *b\n  y: 9\n"
                          "d:\n  <<: [*m, *b]\n  x: 7\n"
                          "e: *b\n",
                          &e);
    assert_non_null(v);
    struct cval *c = cval_map_get(v, "c");
    assert_int_equal(cval_map_get(c, "x")->u.i, 1);
    assert_int_equal(cval_map_get(c, "y")->u.i, 9); /* explicit key wins */
    assert_null(cval_map_get(c, "<<"));
    struct cval *d = cval_map_get(v, "d");
    assert_int_equal(cval_map_get(d, "x")->u.i, 7);
    assert_int_equal(cval_map_get(d, "y")->u.i, 2);
    assert_int_equal(cval_map_get(d, "z")->u.i, 3);
    struct cval *ee = cval_map_get(v, "e");
    assert_int_equal(ee->kind, CVAL_MAP);
    assert_int_equal(ee->pos.line, 9); /* the alias position */
    assert_int_equal(ee->pos.col, 4);
    cval_free(v);
    cfg_errs_free(&e);
}

static void test_errors_positioned(void **state)
{
    (void)state;
    struct cfg_errs e;
    struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"a: 1\na: 2\n", "t.yaml:2:1: duplicate key \"a\" (first defined at 1:1)"},
        {"a: *nope\n", "t.yaml:1:4: unknown anchor \"nope\""},
        {"a: 1\n---\nb: 2\n", "t.yaml:2:1: more than one YAML document in one source"},
        {"? [a]\n: 1\n", "t.yaml:1:3: mapping keys must be scalars"},
        {"a: {<<: 5}\n", "t.yaml:1:9: merge key \"<<\" needs a mapping or a list of mappings"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cval *v = load(cases[i].text, &e);
        assert_null(v);
        assert_string_equal(first_err(&e), cases[i].want);
        cfg_errs_free(&e);
    }
    /* libfyaml diagnostics become positioned errors and are not printed */
    struct cval *v = load("a: [1\nb: 2\n", &e);
    assert_null(v);
    assert_int_equal(e.n, 1);
    assert_int_equal(e.items[0].pos.line, 3);
    assert_string_equal(e.items[0].pos.file, "t.yaml");
    assert_non_null(strstr(e.items[0].msg, "flow sequence"));
    cfg_errs_free(&e);
}

static char *nested(int depth)
{
    char *s = malloc((size_t)depth * 2 + 8);
    size_t n = 0;
    memcpy(s, "a: ", 3);
    n = 3;
    for (int i = 0; i < depth; i++)
        s[n++] = '[';
    for (int i = 0; i < depth; i++)
        s[n++] = ']';
    s[n++] = '\n';
    s[n] = '\0';
    return s;
}

static void test_depth_limit(void **state)
{
    (void)state;
    struct cfg_errs e;
    char *ok = nested(YAML_LOAD_MAX_DEPTH - 1); /* + the root map = 64 levels */
    struct cval *v = load(ok, &e);
    assert_non_null(v);
    cval_free(v);
    cfg_errs_free(&e);
    free(ok);

    char *bad = nested(YAML_LOAD_MAX_DEPTH);
    v = load(bad, &e);
    assert_null(v);
    assert_string_equal(first_err(&e), "t.yaml:1:67: nesting deeper than 64 levels");
    cfg_errs_free(&e);
    free(bad);

    /* an alias may not push a subtree past the limit either */
    v = load("a: &x [[[1]]]\nb: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[*x]"
             "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
             &e);
    assert_null(v);
    assert_non_null(strstr(first_err(&e), "through an alias"));
    cfg_errs_free(&e);
}

static void test_alias_bomb(void **state)
{
    (void)state;
    struct cfg_errs e;
    const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                       "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                       "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                       "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
    struct cval *v = load(bomb, &e);
    assert_null(v);
    assert_non_null(strstr(first_err(&e), "document too large"));
    cfg_errs_free(&e);
}

static void test_size_limit_and_files(void **state)
{
    (void)state;
    struct cfg_errs e;
    cfg_errs_init(&e);
    size_t n = YAML_LOAD_MAX_BYTES + 1;
    char *big = malloc(n);
    memset(big, '#', n);
    assert_null(yaml_load_string(big, n, "big.yaml", &e));
    assert_non_null(strstr(first_err(&e), "config too large"));
    free(big);
    cfg_errs_free(&e);

    cfg_errs_init(&e);
    assert_null(yaml_load_file("/nonexistent/gost.yaml", &e));
    assert_non_null(strstr(first_err(&e), "/nonexistent/gost.yaml: cannot open"));
    cfg_errs_free(&e);

    char path[] = "/tmp/gost-yl-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("services: []\n", f);
    fclose(f);
    cfg_errs_init(&e);
    struct cval *v = yaml_load_file(path, &e);
    assert_non_null(v);
    assert_string_equal(v->pos.file, path);
    cval_free(v);
    cfg_errs_free(&e);
    remove(path);
}

static void test_empty_and_scalar_docs(void **state)
{
    (void)state;
    struct cfg_errs e;
    struct cval *v = load("", &e);
    assert_non_null(v);
    assert_int_equal(v->kind, CVAL_NULL);
    cval_free(v);
    v = load("# only a comment\n", &e);
    assert_non_null(v);
    assert_int_equal(v->kind, CVAL_NULL);
    cval_free(v);
    cfg_errs_free(&e);
}

static void test_cval_api(void **state)
{
    (void)state;
    struct cval_pos p = {cval_intern("x"), 1, 2};
    assert_ptr_equal(cval_intern("x"), p.file);
    struct cval *m = cval_new(CVAL_MAP, p);
    cval_map_set(m, "Key", p, cval_new_int(5, p));
    cval_map_set(m, "Key", p, cval_new_str("v", p)); /* replaces */
    cval_map_set(m, "b", p, cval_new_bool(true, p));
    assert_int_equal(m->u.map.n, 2);
    assert_string_equal(cval_map_get(m, "Key")->str, "v");
    assert_null(cval_map_get(m, "key"));
    assert_non_null(cval_map_get_ci(m, "KEY"));
    struct cval *l = cval_new(CVAL_LIST, p);
    for (int i = 0; i < 10; i++)
        cval_list_push(l, cval_new_int(i, p));
    cval_map_set(m, "l", p, l);
    struct cval *d = cval_dup(m);
    assert_true(cval_map_del(m, "b"));
    assert_false(cval_map_del(m, "b"));
    assert_int_equal(d->u.map.n, 3);
    assert_int_equal(cval_map_get(d, "l")->u.list.items[9]->u.i, 9);
    assert_string_equal(cval_text(cval_map_get(d, "b")), "true");
    assert_null(cval_text(l));
    cval_free(m);
    cval_free(d);
}

static void test_scalar_text(void **state)
{
    (void)state;
    struct cfg_errs e;
    struct cval *v = load("a: \"multi\\nline\\n\"\n"
                          "b: \"tab\\there\"\n"
                          "c: \"\\U0001F600 \\u00e9\"\n"
                          "d: 'it''s'\n"
                          "e: |\n  x\n  y\n"
                          "f: >-\n  folded\n  text\n"
                          "g: plain   words\n"
                          "h: \"a\n  b\"\n",
                          &e);
    assert_non_null(v);
    assert_string_equal(cval_map_get(v, "a")->str, "multi\nline\n");
    assert_string_equal(cval_map_get(v, "b")->str, "tab\there");
    assert_string_equal(cval_map_get(v, "c")->str, "\xf0\x9f\x98\x80 \xc3\xa9");
    assert_string_equal(cval_map_get(v, "d")->str, "it's");
    assert_string_equal(cval_map_get(v, "e")->str, "x\ny\n");
    assert_string_equal(cval_map_get(v, "f")->str, "folded text");
    assert_string_equal(cval_map_get(v, "g")->str, "plain   words");
    assert_string_equal(cval_map_get(v, "h")->str, "a b");
    assert_int_equal(cval_map_get(v, "e")->kind, CVAL_STR);
    cval_free(v);
    cfg_errs_free(&e);
    /* single-quoted: '' escapes (libfyaml's own iterator gets runs of them wrong), folding */
    v = load("a: 'x'''''\nb: '''a'''\nc: 'multi\n  line\n\n  para  '\nd: ''\n"
             "e: 'a \t\n   b'\n",
             &e);
    assert_non_null(v);
    assert_string_equal(cval_map_get(v, "a")->str, "x''");
    assert_string_equal(cval_map_get(v, "b")->str, "'a'");
    assert_string_equal(cval_map_get(v, "c")->str, "multi line\npara  ");
    assert_string_equal(cval_map_get(v, "d")->str, "");
    assert_int_equal(cval_map_get(v, "d")->kind, CVAL_STR);
    assert_string_equal(cval_map_get(v, "e")->str, "a b");
    cval_free(v);
    v = load("\xef\xbb\xbfk: 'it''s'\n", &e);
    assert_non_null(v);
    assert_string_equal(cval_map_get(v, "k")->str, "it's");
    cval_free(v);
    cfg_errs_free(&e);
    /* a NUL from an escape is refused (C strings cannot hold it) */
    assert_null(load("a: \"x\\0y\"\n", &e));
    assert_non_null(strstr(first_err(&e), "NUL character"));
    cfg_errs_free(&e);
}

static void test_text_checks(void **state)
{
    (void)state;
    struct cfg_errs e;
    assert_null(load("a: b\nc: \xc9x\n", &e));
    assert_string_equal(first_err(&e), "t.yaml:2:4: invalid UTF-8 byte 0xC9");
    cfg_errs_free(&e);
    assert_null(load("a: \x01\n", &e));
    assert_string_equal(first_err(&e), "t.yaml:1:4: control character U+0001 is not allowed");
    cfg_errs_free(&e);
    cfg_errs_init(&e);
    assert_null(yaml_load_string("a: b\0", 5, "t.yaml", &e));
    assert_string_equal(first_err(&e), "t.yaml:1:5: control character U+0000 is not allowed");
    cfg_errs_free(&e);
    /* libfyaml 0.7.12 loops forever on this (invalid UTF-8 in a directive) */
    assert_null(load("%ervices\xc9\xf5- x\n", &e));
    cfg_errs_free(&e);
    struct cval *v = load("\xef\xbb\xbf"
                          "a: \"\xc3\xa9\"\n",
                          &e); /* BOM + UTF-8 */
    assert_non_null(v);
    assert_string_equal(cval_map_get(v, "a")->str, "\xc3\xa9");
    cval_free(v);
    cfg_errs_free(&e);
}

static void test_resolver_edge_cases(void **state)
{
    (void)state;
    struct yaml_scalar r = yaml_scalar_resolve("9223372036854775808", 19);
    assert_int_equal(r.kind, CVAL_FLOAT); /* uint64 range: kept as a number */
    r = yaml_scalar_resolve("-9223372036854775808", 20);
    assert_int_equal(r.kind, CVAL_INT);
    assert_true(r.i == INT64_MIN);
    r = yaml_scalar_resolve("0x", 2);
    assert_int_equal(r.kind, CVAL_STR);
    r = yaml_scalar_resolve("-", 1);
    assert_int_equal(r.kind, CVAL_STR);
    r = yaml_scalar_resolve("1.2.3.4", 7);
    assert_int_equal(r.kind, CVAL_STR);
    r = yaml_scalar_resolve(".5", 2);
    assert_int_equal(r.kind, CVAL_FLOAT);
    r = yaml_scalar_resolve("1e999", 5);
    assert_int_equal(r.kind, CVAL_STR); /* out of range: Go's ParseFloat fails */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalar_typing),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_json_tabs_and_modes),
        cmocka_unit_test(test_anchors_merge),
        cmocka_unit_test(test_errors_positioned),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_alias_bomb),
        cmocka_unit_test(test_size_limit_and_files),
        cmocka_unit_test(test_empty_and_scalar_docs),
        cmocka_unit_test(test_cval_api),
        cmocka_unit_test(test_scalar_text),
        cmocka_unit_test(test_text_checks),
        cmocka_unit_test(test_resolver_edge_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
