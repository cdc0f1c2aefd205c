/* yaml.v3-compatible plain scalar resolution (contract in yaml_scalar.h). */
#include "config/yaml_scalar.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool ysc_is_digit_in_base(char c, int base)
{
    int d;
    if (c >= '0' && c <= '9')
        d = c - '0';
    else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
    else
        return false;
    return d < base;
}

static int ysc_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c - 'A' + 10;
}

/* Parses an unsigned magnitude in Go base-0 syntax. *ovf set on uint64 overflow. */
static bool ysc_parse_mag(const char *s, uint64_t *out, bool *ovf)
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
    } else if (s[0] == '0' && s[1] != '\0') {
        base = 8;
        s += 1;
    }
    if (!*s)
        return false;
    uint64_t v = 0;
    *ovf = false;
    for (; *s; s++) {
        if (!ysc_is_digit_in_base(*s, base))
            return false;
        uint64_t d = (uint64_t)ysc_digit(*s);
        if (v > (UINT64_MAX - d) / (uint64_t)base)
            *ovf = true;
        else
            v = v * (uint64_t)base + d;
    }
    *out = v;
    return true;
}

bool yaml_scalar_parse_int(const char *s, int64_t *out)
{
    bool neg = false, ovf = false;
    uint64_t mag;
    if (*s == '+' || *s == '-') {
        neg = *s == '-';
        s++;
    }
    if (!ysc_parse_mag(s, &mag, &ovf) || ovf)
        return false;
    if (neg) {
        if (mag > (uint64_t)INT64_MAX + 1)
            return false;
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    } else {
        if (mag > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)mag;
    }
    return true;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool ysc_is_yaml_float(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    } else {
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
        if (*s == '.') {
            s++;
            while (*s >= '0' && *s <= '9')
                s++;
        }
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

bool yaml_scalar_parse_float(const char *s, double *out)
{
    if (!ysc_is_yaml_float(s))
        return false;
    errno = 0;
    char *end = NULL;
    double d = strtod(s, &end);
    if (!end || *end)
        return false;
    /* Go's ParseFloat reports out-of-range as an error (value ±Inf). */
    if (errno == ERANGE && isinf(d))
        return false;
    *out = d;
    return true;
}

static bool ysc_eq(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

static bool ysc_eq_any(const char *s, size_t len, const char *const *lits)
{
    for (; *lits; lits++)
        if (ysc_eq(s, len, *lits))
            return true;
    return false;
}

struct yaml_scalar yaml_scalar_resolve(const char *s, size_t len)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};
    static const char *const pinfs[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
    static const char *const ninfs[] = {"-.inf", "-.Inf", "-.INF", NULL};
    struct yaml_scalar r = {.kind = CVAL_STR};

    if (ysc_eq_any(s, len, nulls)) {
        r.kind = CVAL_NULL;
        return r;
    }
    if (ysc_eq_any(s, len, trues) || ysc_eq_any(s, len, falses)) {
        r.kind = CVAL_BOOL;
        r.b = s[0] == 't' || s[0] == 'T';
        return r;
    }
    if (ysc_eq_any(s, len, nans)) {
        r.kind = CVAL_FLOAT;
        r.f = NAN;
        return r;
    }
    if (ysc_eq_any(s, len, pinfs) || ysc_eq_any(s, len, ninfs)) {
        r.kind = CVAL_FLOAT;
        r.f = s[0] == '-' ? -INFINITY : INFINITY;
        return r;
    }
    char c = s[0];
    bool digitish = (c >= '0' && c <= '9') || c == '+' || c == '-';
    if (!digitish && c != '.')
        return r;
    if (len > 512 || memchr(s, '\0', len))
        return r; /* no number is that long; keep it a string */

    char buf[520];
    size_t n = 0;
    if (c == '.') {
        memcpy(buf, s, len);
        n = len;
    } else {
        for (size_t k = 0; k < len; k++)
            if (s[k] != '_')
                buf[n++] = s[k];
    }
    buf[n] = '\0';

    if (digitish) {
        int64_t iv;
        if (yaml_scalar_parse_int(buf, &iv)) {
            r.kind = CVAL_INT;
            r.i = iv;
            return r;
        }
        uint64_t uv;
        bool ovf = false;
        if (buf[0] != '-' && buf[0] != '+' && ysc_parse_mag(buf, &uv, &ovf) && !ovf) {
            r.kind = CVAL_FLOAT; /* uint64 beyond int64: keep the value approximately */
            r.f = (double)uv;
            return r;
        }
    }
    double d;
    if (yaml_scalar_parse_float(buf, &d)) {
        r.kind = CVAL_FLOAT;
        r.f = d == 0 ? 0.0 : d; /* -0.0 would print as "-0" and read back as the integer 0 */
        return r;
    }
    return r;
}
