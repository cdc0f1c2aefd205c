/* Scalar writers for the config emitter, reproducing Go's encoders byte for byte:
 *   - JSON strings as encoding/json writes them (HTML-safe: <, >, & as \u003c..., U+2028/9
 *     escaped, invalid UTF-8 as \ufffd, \b \f \n \r \t short escapes);
 *   - YAML strings as yaml.v3 writes them: plain when the text would read back as the same
 *     string (not a number/bool/null/timestamp/YAML 1.1 bool/base-60 float) and libyaml's
 *     analysis allows it, else single- or double-quoted, multi-line text as a literal block;
 *   - yaml.v3's "natural" map key order.
 */
#ifndef GOST_CONFIG_EMIT_SCALAR_H
#define GOST_CONFIG_EMIT_SCALAR_H

#include <stdbool.h>
#include <stdio.h>

/* Writes s as a JSON string literal. */
void emit_json_string(FILE *out, const char *s);

/* Writes s as a YAML scalar in block context. `indent` is the indentation of the enclosing
 * mapping/sequence (literal block lines are written at indent + 2). For keys (is_key) the text
 * is always single-line; keys that cannot be simple keys must use emit_yaml_key_is_complex().
 * Returns true when it wrote a literal block, which already ends its last line. */
bool emit_yaml_string(FILE *out, const char *s, int indent, bool is_key);

/* True when s cannot be written as a simple `key:` (multi-line or longer than 128 bytes). */
bool emit_yaml_key_is_complex(const char *s);

/* yaml.v3 map key ordering (digits compared as numbers). Returns <0, 0, >0. */
int emit_yaml_key_cmp(const char *a, const char *b);

#endif
