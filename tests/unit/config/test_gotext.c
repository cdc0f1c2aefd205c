/* Unit tests: Go-compatible number/duration text (config/gotext.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "config/gotext.h"

static void test_parse_duration(void **state)
{
    (void)state;
    struct {
        const char *s;
        bool ok;
        int64_t ns;
    } cases[] = {
        {"0", true, 0},
        {"5s", true, 5000000000LL},
        {"30s", true, 30000000000LL},
        {"1478s", true, 1478000000000LL},
        {"-5s", true, -5000000000LL},
        {"+5s", true, 5000000000LL},
        {"-0", true, 0},
        {"5.6s", true, 5600000000LL},
        {"5.s", true, 5000000000LL},
        {".5s", true, 500000000LL},
        {"1.0s", true, 1000000000LL},
        {"1.004s", true, 1004000000LL},
        {"100.00100s", true, 100001000000LL},
        {"10ns", true, 10},
        {"11us", true, 11000},
        {"12µs", true, 12000},
        {"12μs", true, 12000},
        {"13ms", true, 13000000},
        {"14s", true, 14000000000LL},
        {"15m", true, 900000000000LL},
        {"16h", true, 57600000000000LL},
        {"3h30m", true, 12600000000000LL},
        {"10.5s4m", true, 250500000000LL},
        {"-2m3.4s", true, -123400000000LL},
        {"1h2m3s4ms5us6ns", true, 3723004005006LL},
        {"39h9m14.425s", true, 140954425000000LL},
        {"9223372036854775807ns", true, INT64_MAX},
        {"-9223372036854775808ns", true, INT64_MIN},
        {"", false, 0},
        {"3", false, 0},
        {"-", false, 0},
        {"s", false, 0},
        {".", false, 0},
        {"-.", false, 0},
        {".s", false, 0},
        {"+.s", false, 0},
        {"1d", false, 0},
        {"9223372036854775808ns", false, 0},
        {"3000000h", false, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ns = 0;
        bool ok = gotext_parse_duration(cases[i].s, &ns);
        if (ok != cases[i].ok || (ok && ns != cases[i].ns))
            fail_msg("%s: ok=%d ns=%lld", cases[i].s, ok, (long long)ns);
    }
}

static void test_format_duration(void **state)
{
    (void)state;
    struct {
        int64_t ns;
        const char *s;
    } cases[] = {
        {0, "0s"},
        {1, "1ns"},
        {1100, "1.1µs"},
        {2200000, "2.2ms"},
        {3300000000LL, "3.3s"},
        {4 * 60000000000LL + 5000000000LL, "4m5s"},
        {4 * 60000000000LL + 5001000000LL, "4m5.001s"},
        {5 * 3600000000000LL + 6 * 60000000000LL + 7001000000LL, "5h6m7.001s"},
        {8 * 60000000000LL + 1, "8m0.000000001s"},
        {INT64_MAX, "2562047h47m16.854775807s"},
        {INT64_MIN, "-2562047h47m16.854775808s"},
        {-1000, "-1µs"},
        {60000000000LL, "1m0s"},
        {3600000000000LL, "1h0m0s"},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gotext_format_duration(cases[i].ns, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].s);
    }
}

static void test_format_float(void **state)
{
    (void)state;
    struct {
        double f;
        char fmt;
        const char *s;
    } cases[] = {
        {1.5, 'g', "1.5"},
        {1000, 'g', "1000"},
        {1e6, 'g', "1e+06"},
        {123456, 'g', "123456"},
        {1e-5, 'g', "1e-05"},
        {0.0001, 'g', "0.0001"},
        {0, 'g', "0"},
        {-0.0, 'g', "-0"},
        {1e21, 'g', "1e+21"},
        {0.1, 'f', "0.1"},
        {1e21, 'f', "1000000000000000000000"},
        {123.456, 'f', "123.456"},
        {1e-7, 'f', "0.0000001"},
        {2.5e-10, 'e', "2.5e-10"},
        {100, 'e', "1e+02"},
        {NAN, 'g', "NaN"},
        {-INFINITY, 'g', "-Inf"},
        {0.3, 'g', "0.3"},
        {1.0 / 3, 'g', "0.3333333333333333"},
    };
    char buf[512];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gotext_format_float(cases[i].f, cases[i].fmt, buf, sizeof(buf));
        if (strcmp(buf, cases[i].s) != 0)
            fail_msg("case %zu: got %s want %s", i, buf, cases[i].s);
    }
    assert_true(gotext_format_json_float(1e-7, buf, sizeof(buf)));
    assert_string_equal(buf, "1e-7");
    assert_true(gotext_format_json_float(1e21, buf, sizeof(buf)));
    assert_string_equal(buf, "1e+21");
    assert_true(gotext_format_json_float(123.5, buf, sizeof(buf)));
    assert_string_equal(buf, "123.5");
    assert_false(gotext_format_json_float(NAN, buf, sizeof(buf)));
}

static void test_strconv(void **state)
{
    (void)state;
    bool b;
    assert_true(gotext_parse_bool("T", &b) && b);
    assert_true(gotext_parse_bool("False", &b) && !b);
    assert_false(gotext_parse_bool("yes", &b));
    assert_false(gotext_parse_bool("", &b));
    int64_t i;
    assert_true(gotext_atoi("-42", &i) && i == -42);
    assert_true(gotext_atoi("+007", &i) && i == 7);
    assert_false(gotext_atoi("0x10", &i));
    assert_false(gotext_atoi("9223372036854775808", &i));
    assert_true(gotext_atoi("-9223372036854775808", &i) && i == INT64_MIN);
    uint64_t u;
    assert_true(gotext_parse_uint("0x10", &u) && u == 16);
    assert_true(gotext_parse_uint("0b11", &u) && u == 3);
    assert_true(gotext_parse_uint("017", &u) && u == 15);
    assert_true(gotext_parse_uint("18446744073709551615", &u) && u == UINT64_MAX);
    assert_false(gotext_parse_uint("18446744073709551616", &u));
    assert_false(gotext_parse_uint("-1", &u));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_format_duration),
        cmocka_unit_test(test_format_float),
        cmocka_unit_test(test_strconv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
