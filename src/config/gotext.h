/* Go-compatible text conversions the config code needs to read and print values exactly the
 * way GOST (Go) does: time.ParseDuration, time.Duration.String, strconv.FormatFloat with the
 * shortest round-trip digits ('e', 'f', 'g'), and encoding/json's float format.
 */
#ifndef GOST_CONFIG_GOTEXT_H
#define GOST_CONFIG_GOTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False. */
bool gotext_parse_bool(const char *s, bool *out);

/* strconv.Atoi (decimal, optional sign, 64-bit range). */
bool gotext_atoi(const char *s, int64_t *out);

/* strconv.ParseUint(s, 0, 64) (Go base prefixes 0x 0o 0b and leading-0 octal). */
bool gotext_parse_uint(const char *s, uint64_t *out);

/* time.ParseDuration: "300ms", "-1.5h", "2h45m", "1µs", "0". NUL-terminated input.
 * Returns false for invalid syntax, unknown units or overflow. */
bool gotext_parse_duration(const char *s, int64_t *ns);

/* time.Duration.String(): "0s", "1.5s", "1m0s", "1h30m0s", "2µs", "-3ms". buf >= 32 bytes. */
void gotext_format_duration(int64_t ns, char *buf, size_t len);

/* strconv.FormatFloat(f, fmt, -1, 64) for fmt 'e', 'f' or 'g'. buf >= 400 bytes for 'f'.
 * NaN/±Inf print as "NaN", "+Inf", "-Inf" like Go. */
void gotext_format_float(double f, char fmt, char *buf, size_t len);

/* encoding/json's float64 text ('f', or 'e' with a trimmed exponent outside [1e-6, 1e21)).
 * Returns false for NaN/Inf, which JSON cannot represent. */
bool gotext_format_json_float(double f, char *buf, size_t len);

#endif
