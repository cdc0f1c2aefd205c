/* Unit tests: metadata getters (config/md.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/md.h"
#include "config/yaml_load.h"

#define KEYS(...) ((const char *[]){__VA_ARGS__, NULL})
#define SEC       1000000000LL

static struct cval *md_load(const char *text)
{
    struct cfg_errs e;
    cfg_errs_init(&e);
    struct cval *v = yaml_load_string(text, strlen(text), "md.yaml", &e);
    assert_non_null(v);
    cfg_errs_free(&e);
    return v;
}

static void test_aliases_and_case(void **state)
{
    (void)state;
    struct cval *md = md_load("Path: /b\nws.PATH: /a\nempty:\nhost: h\n");
    assert_string_equal(md_get_str(md, KEYS("ws.path", "path"), "/ws"), "/a");
    assert_string_equal(md_get_str(md, KEYS("x", "PATH"), "/ws"), "/b");
    assert_string_equal(md_get_str(md, KEYS("nope"), "/ws"), "/ws");
    assert_string_equal(md_get_str(md, KEYS("empty"), "dflt"), "dflt"); /* null = absent */
    assert_string_equal(md_get_str(NULL, KEYS("a"), "d"), "d");
    const char *k = NULL;
    assert_non_null(md_find(md, KEYS("ws.path"), &k));
    assert_string_equal(k, "ws.PATH");
    assert_true(md_has(md, KEYS("HOST")));
    assert_false(md_has(md, KEYS("empty")));
    cval_free(md);
}

static void test_scalar_texts(void **state)
{
    (void)state;
    struct cval *md = md_load("mode: 0660\nport: 8080\nf: 1.50\nb: True\n");
    assert_string_equal(md_get_str(md, KEYS("mode"), NULL), "0660");
    assert_string_equal(md_get_str(md, KEYS("port"), NULL), "8080");
    assert_string_equal(md_get_str(md, KEYS("f"), NULL), "1.50");
    assert_string_equal(md_get_str(md, KEYS("b"), NULL), "True");
    cval_free(md);
}

static void test_bools(void **state)
{
    (void)state;
    struct cval *md =
        md_load("a: true\nb: \"1\"\nc: 0\nd: \"false\"\ne: T\nf: 7\ng: yes\nh: [1]\n");
    assert_true(md_get_bool(md, KEYS("a"), false));
    assert_true(md_get_bool(md, KEYS("b"), false));
    assert_false(md_get_bool(md, KEYS("c"), true));
    assert_false(md_get_bool(md, KEYS("d"), true));
    assert_true(md_get_bool(md, KEYS("e"), false));
    assert_true(md_get_bool(md, KEYS("f"), false));
    assert_true(md_get_bool(md, KEYS("g"), true)); /* invalid → default */
    assert_false(md_get_bool(md, KEYS("missing"), false));
    struct cfg_errs e;
    cfg_errs_init(&e);
    bool out = false;
    assert_int_equal(md_parse_bool(md, KEYS("g"), &out, &e), MD_INVALID);
    assert_int_equal(md_parse_bool(md, KEYS("h"), &out, &e), MD_INVALID);
    assert_int_equal(md_parse_bool(md, KEYS("zz"), &out, &e), MD_ABSENT);
    assert_int_equal(e.n, 2);
    char buf[256];
    cfg_err_format(&e.items[0], buf, sizeof(buf));
    assert_string_equal(buf, "md.yaml:7:4: metadata \"g\": invalid bool (true/false/1/0) \"yes\"");
    cfg_err_format(&e.items[1], buf, sizeof(buf));
    assert_string_equal(buf, "md.yaml:8:4: metadata \"h\": invalid bool (true/false/1/0) (got a "
                             "list)");
    cfg_errs_free(&e);
    cval_free(md);
}

static void test_ints_floats(void **state)
{
    (void)state;
    struct cval *md = md_load("a: 42\nb: \"-7\"\nc: 2.9\nd: true\ne: 0x10\nf: \"0x10\"\ng: x\n"
                              "h: \"2.5\"\n");
    assert_int_equal(md_get_int(md, KEYS("a"), 0), 42);
    assert_int_equal(md_get_int(md, KEYS("b"), 0), -7);
    assert_int_equal(md_get_int(md, KEYS("c"), 0), 2); /* truncated */
    assert_int_equal(md_get_int(md, KEYS("d"), 0), 1);
    assert_int_equal(md_get_int(md, KEYS("e"), 0), 16);
    assert_int_equal(md_get_int(md, KEYS("f"), 99), 99); /* Atoi: decimal strings only */
    assert_int_equal(md_get_int(md, KEYS("g"), 5), 5);
    assert_true(md_get_float(md, KEYS("c"), 0) == 2.9);
    assert_true(md_get_float(md, KEYS("a"), 0) == 42.0);
    assert_true(md_get_float(md, KEYS("h"), 0) == 2.5);
    assert_true(md_get_float(md, KEYS("g"), 1.25) == 1.25);
    cval_free(md);
}

static void test_durations(void **state)
{
    (void)state;
    struct cval *md = md_load("a: 10\nb: \"10s\"\nc: \"10\"\nd: 1m30s\ne: 1.5\nf: 5x\ng: 300ms\n"
                              "h: \"0\"\ni: -1\n");
    assert_int_equal(md_get_duration(md, KEYS("a"), 0), 10 * SEC); /* integers are seconds */
    assert_int_equal(md_get_duration(md, KEYS("b"), 0), 10 * SEC);
    assert_int_equal(md_get_duration(md, KEYS("c"), 0), 10 * SEC);
    assert_int_equal(md_get_duration(md, KEYS("d"), 0), 90 * SEC);
    assert_int_equal(md_get_duration(md, KEYS("e"), 0), 1500000000LL);
    assert_int_equal(md_get_duration(md, KEYS("g"), 0), 300000000LL);
    assert_int_equal(md_get_duration(md, KEYS("h"), 7), 0);
    assert_int_equal(md_get_duration(md, KEYS("i"), 0), -SEC);
    assert_int_equal(md_get_duration(md, KEYS("f"), 3 * SEC), 3 * SEC);
    struct cfg_errs e;
    cfg_errs_init(&e);
    int64_t ns = 0;
    assert_int_equal(md_parse_duration(md, KEYS("ttl", "f"), &ns, &e), MD_INVALID);
    char buf[256];
    cfg_err_format(&e.items[0], buf, sizeof(buf));
    assert_string_equal(buf, "md.yaml:6:4: metadata \"f\": invalid duration \"5x\"");
    cfg_errs_free(&e);
    cval_free(md);
}

static void test_strings_and_maps(void **state)
{
    (void)state;
    struct cval *md = md_load("a: [x, 2, true]\nb: \"p, q,,r \"\nc: {k: v, n: 1}\nd: {k: [1]}\n"
                              "e: [[1]]\n");
    size_t n = 0;
    char **v = md_get_strings(md, KEYS("a"), &n);
    assert_int_equal(n, 3);
    assert_string_equal(v[0], "x");
    assert_string_equal(v[1], "2");
    assert_string_equal(v[2], "true");
    assert_null(v[3]);
    md_strings_free(v);
    v = md_get_strings(md, KEYS("b"), &n);
    assert_int_equal(n, 3);
    assert_string_equal(v[0], "p");
    assert_string_equal(v[1], "q");
    assert_string_equal(v[2], "r");
    md_strings_free(v);
    assert_null(md_get_strings(md, KEYS("e"), &n));
    assert_int_equal(n, 0);
    assert_null(md_get_strings(md, KEYS("zz"), NULL));

    const struct cval *m = md_get_map(md, KEYS("C"));
    assert_non_null(m);
    assert_string_equal(md_get_str(m, KEYS("K"), NULL), "v");
    assert_int_equal(md_get_int(m, KEYS("n"), 0), 1);
    assert_null(md_get_map(md, KEYS("a")));
    struct cfg_errs e;
    cfg_errs_init(&e);
    const struct cval *out = NULL;
    assert_int_equal(md_parse_map(md, KEYS("d"), &out, true, &e), MD_INVALID);
    assert_int_equal(md_parse_map(md, KEYS("d"), &out, false, &e), MD_OK);
    assert_int_equal(e.n, 1);
    assert_non_null(strstr(e.items[0].msg, "value of \"k\" must be a string"));
    cfg_errs_free(&e);
    cval_free(md);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aliases_and_case),
        cmocka_unit_test(test_scalar_texts),
        cmocka_unit_test(test_bools),
        cmocka_unit_test(test_ints_floats),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_strings_and_maps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
