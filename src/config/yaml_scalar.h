/* Plain-scalar typing with the rules of Go's yaml.v3 resolver (what GOST reads configs with).
 *
 *   null:  "" ~ null Null NULL
 *   bool:  true True TRUE false False FALSE            (YAML 1.1 yes/no/on/off stay strings)
 *   int:   Go strconv.ParseInt(s, 0, 64) after removing '_': 10, -3, +7, 0x1F, 0o17, 0b101, 0777
 *   float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? after removing '_',
 *          .inf/.Inf/.INF (signed), .nan/.NaN/.NAN; integers beyond int64 become floats
 *   anything else is a string (timestamps too: yaml.v3 keeps them as strings for `any`).
 */
#ifndef GOST_CONFIG_YAML_SCALAR_H
#define GOST_CONFIG_YAML_SCALAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/cval.h"

struct yaml_scalar {
    enum cval_kind kind; /* CVAL_NULL, CVAL_BOOL, CVAL_INT, CVAL_FLOAT or CVAL_STR */
    bool b;
    int64_t i;
    double f;
};

/* Resolves the plain scalar `s` (len bytes). Never fails (falls back to CVAL_STR). */
struct yaml_scalar yaml_scalar_resolve(const char *s, size_t len);

/* Go strconv.ParseInt(s, 0, 64) on a NUL-terminated string (no '_' stripping). */
bool yaml_scalar_parse_int(const char *s, int64_t *out);

/* Go strconv.ParseFloat(s, 64) restricted to decimal forms (what mapstructure needs). */
bool yaml_scalar_parse_float(const char *s, double *out);

#endif
