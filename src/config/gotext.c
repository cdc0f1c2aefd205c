/* Go-compatible number and duration text (contract in gotext.h). */
#include "config/gotext.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- strconv ------------------------------------------------------------------------------ */

bool gotext_parse_bool(const char *s, bool *out)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(s, t[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(s, f[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

bool gotext_atoi(const char *s, int64_t *out)
{
    bool neg = false;
    if (*s == '+' || *s == '-') {
        neg = *s == '-';
        s++;
    }
    if (!*s)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        if (v > (UINT64_C(1) << 63) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > (UINT64_C(1) << 63))
            return false;
    }
    if (!neg && v > (uint64_t)INT64_MAX)
        return false;
    *out = neg ? (v == (UINT64_C(1) << 63) ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return true;
}

bool gotext_parse_uint(const char *s, uint64_t *out)
{
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    } else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
        base = 8;
        s += 2;
    } else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
        base = 2;
        s += 2;
    } else if (s[0] == '0' && s[1]) {
        base = 8;
        s += 1;
    }
    if (!*s)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        int d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            return false;
        if (d >= base || v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *out = v;
    return true;
}

/* ---- durations ---------------------------------------------------------------------------- */

static bool gotext_leading_int(const char **sp, uint64_t *x)
{
    const char *s = *sp;
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_C(1) << 63) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > (UINT64_C(1) << 63))
            return false;
    }
    *x = v;
    *sp = s;
    return true;
}

static void gotext_leading_fraction(const char **sp, uint64_t *x, double *scale)
{
    const char *s = *sp;
    uint64_t v = 0;
    double sc = 1;
    bool overflow = false;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (overflow)
            continue;
        if (v > ((UINT64_C(1) << 63) - 1) / 10) {
            overflow = true;
            continue;
        }
        uint64_t y = v * 10 + (uint64_t)(*s - '0');
        if (y > (UINT64_C(1) << 63)) {
            overflow = true;
            continue;
        }
        v = y;
        sc *= 10;
    }
    *x = v;
    *scale = sc;
    *sp = s;
}

static bool gotext_unit(const char *u, size_t n, uint64_t *unit)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        {"ns", 1},
        {"us", 1000},
        {"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
        {"\xce\xbcs", 1000}, /* U+03BC greek mu */
        {"ms", 1000000},
        {"s", 1000000000},
        {"m", UINT64_C(60000000000)},
        {"h", UINT64_C(3600000000000)},
    };
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0) {
            *unit = units[i].ns;
            return true;
        }
    }
    return false;
}

bool gotext_parse_duration(const char *s, int64_t *ns)
{
    uint64_t d = 0;
    bool neg = false;
    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    if (strcmp(s, "0") == 0) {
        *ns = 0;
        return true;
    }
    if (!*s)
        return false;
    while (*s) {
        uint64_t v = 0, f = 0, unit = 0;
        double scale = 1;
        if (!(*s == '.' || (*s >= '0' && *s <= '9')))
            return false;
        const char *before = s;
        if (!gotext_leading_int(&s, &v))
            return false;
        bool pre = s != before;
        bool post = false;
        if (*s == '.') {
            s++;
            const char *fb = s;
            gotext_leading_fraction(&s, &f, &scale);
            post = s != fb;
        }
        if (!pre && !post)
            return false;
        size_t i = 0;
        while (s[i] && s[i] != '.' && !(s[i] >= '0' && s[i] <= '9'))
            i++;
        if (i == 0 || !gotext_unit(s, i, &unit))
            return false;
        s += i;
        if (v > (UINT64_C(1) << 63) / unit)
            return false;
        v *= unit;
        if (f > 0) {
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > (UINT64_C(1) << 63))
                return false;
        }
        d += v;
        if (d > (UINT64_C(1) << 63))
            return false;
    }
    if (neg) {
        *ns = d == (UINT64_C(1) << 63) ? INT64_MIN : -(int64_t)d;
        return true;
    }
    if (d > (uint64_t)INT64_MAX)
        return false;
    *ns = (int64_t)d;
    return true;
}

/* Writes the fraction of v/10^prec (".123", trailing zeros dropped) ending at buf[w]. */
static size_t gotext_fmt_frac(char *buf, size_t w, uint64_t *v, int prec)
{
    bool print = false;
    for (int i = 0; i < prec; i++) {
        uint64_t digit = *v % 10;
        print = print || digit != 0;
        if (print)
            buf[--w] = (char)('0' + digit);
        *v /= 10;
    }
    if (print)
        buf[--w] = '.';
    return w;
}

static size_t gotext_fmt_int(char *buf, size_t w, uint64_t v)
{
    if (v == 0) {
        buf[--w] = '0';
        return w;
    }
    while (v > 0) {
        buf[--w] = (char)('0' + v % 10);
        v /= 10;
    }
    return w;
}

void gotext_format_duration(int64_t d, char *out, size_t len)
{
    char buf[32];
    size_t w = sizeof(buf);
    uint64_t u = (uint64_t)d;
    bool neg = d < 0;
    if (neg)
        u = -u;
    if (u < UINT64_C(1000000000)) {
        int prec = 0;
        buf[--w] = 's';
        if (u == 0) {
            snprintf(out, len, "0s");
            return;
        } else if (u < 1000) {
            prec = 0;
            buf[--w] = 'n';
        } else if (u < 1000000) {
            prec = 3;
            buf[--w] = '\xb5';
            buf[--w] = '\xc2';
        } else {
            prec = 6;
            buf[--w] = 'm';
        }
        w = gotext_fmt_frac(buf, w, &u, prec);
        w = gotext_fmt_int(buf, w, u);
    } else {
        buf[--w] = 's';
        w = gotext_fmt_frac(buf, w, &u, 9);
        w = gotext_fmt_int(buf, w, u % 60);
        u /= 60;
        if (u > 0) {
            buf[--w] = 'm';
            w = gotext_fmt_int(buf, w, u % 60);
            u /= 60;
            if (u > 0) {
                buf[--w] = 'h';
                w = gotext_fmt_int(buf, w, u);
            }
        }
    }
    if (neg)
        buf[--w] = '-';
    snprintf(out, len, "%.*s", (int)(sizeof(buf) - w), buf + w);
}

/* ---- floats ------------------------------------------------------------------------------- */

/* Shortest decimal digits that read back as f (f finite, > 0). dp = decimal point position:
 * value = 0.d1d2d3... * 10^dp. */
static void gotext_shortest(double f, char *digits, int *nd, int *dp)
{
    char tmp[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, f);
        if (strtod(tmp, NULL) == f || prec == 17)
            break;
    }
    /* tmp = d[.ddd]e[+-]XX */
    int n = 0;
    const char *p = tmp;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    int exp10 = atoi(p + 1);
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    *nd = n;
    *dp = exp10 + 1;
}

static void gotext_fmt_e(bool neg, const char *d, int nd, int dp, char *buf, size_t len)
{
    int exp = dp - 1;
    char mant[40];
    if (nd > 1)
        snprintf(mant, sizeof(mant), "%c.%.32s", d[0], d + 1);
    else
        snprintf(mant, sizeof(mant), "%c", d[0]);
    snprintf(buf, len, "%s%se%c%02d", neg ? "-" : "", mant, exp < 0 ? '-' : '+', abs(exp));
}

static void gotext_fmt_f(bool neg, const char *d, int nd, int dp, char *buf, size_t len)
{
    size_t o = 0;
#define PUT(ch)                                                                                    \
    do {                                                                                           \
        if (o + 1 < len)                                                                           \
            buf[o++] = (ch);                                                                       \
    } while (0)
    if (neg)
        PUT('-');
    if (dp <= 0) {
        PUT('0');
    } else {
        for (int i = 0; i < dp; i++)
            PUT(i < nd ? d[i] : '0');
    }
    if (nd > dp) {
        PUT('.');
        for (int i = dp; i < 0; i++)
            PUT('0');
        for (int i = dp > 0 ? dp : 0; i < nd; i++)
            PUT(d[i]);
    }
    if (len)
        buf[o] = '\0';
#undef PUT
}

void gotext_format_float(double f, char fmt, char *buf, size_t len)
{
    if (isnan(f)) {
        snprintf(buf, len, "NaN");
        return;
    }
    if (isinf(f)) {
        snprintf(buf, len, "%s", f > 0 ? "+Inf" : "-Inf");
        return;
    }
    bool neg = signbit(f);
    double a = fabs(f);
    char d[40];
    int nd, dp;
    if (a == 0) {
        strcpy(d, "0");
        nd = 1;
        dp = 1;
    } else {
        gotext_shortest(a, d, &nd, &dp);
    }
    if (fmt == 'e') {
        gotext_fmt_e(neg, d, nd, dp, buf, len);
    } else if (fmt == 'f') {
        gotext_fmt_f(neg, d, nd, dp, buf, len);
    } else {
        /* shortest %g: exponent form when exp < -4 or exp >= 6 (Go uses eprec = 6) */
        int exp = dp - 1;
        if (a != 0 && (exp < -4 || exp >= 6))
            gotext_fmt_e(neg, d, nd, dp, buf, len);
        else
            gotext_fmt_f(neg, d, nd, dp, buf, len);
    }
}

bool gotext_format_json_float(double f, char *buf, size_t len)
{
    if (isnan(f) || isinf(f))
        return false;
    double a = fabs(f);
    bool use_e = a != 0 && (a < 1e-6 || a >= 1e21);
    gotext_format_float(f, use_e ? 'e' : 'f', buf, len);
    if (use_e) {
        size_t n = strlen(buf);
        if (n >= 4 && buf[n - 4] == 'e' && buf[n - 3] == '-' && buf[n - 2] == '0') {
            buf[n - 2] = buf[n - 1];
            buf[n - 1] = '\0';
        }
    }
    return true;
}
