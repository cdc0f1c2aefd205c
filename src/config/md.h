/* Metadata getters with GOST's rules (go-gost/x metadata/util/util.go).
 *
 * `md` is a metadata map (struct cval CVAL_MAP, e.g. handler->metadata; NULL is an empty map).
 * `keys` is a NULL-terminated alias list tried in order; key lookup is ASCII case-insensitive;
 * the first alias present decides (later aliases are not consulted even if the value is bad):
 *     md_get_str(md, (const char *[]){"ws.path", "path", NULL}, "/ws")
 *
 * Conversions (GOST's, plus floats where GOST silently ignores them):
 *   str:      any scalar, its text as written (so 0660 stays "0660"; true stays "true")
 *   bool:     true/false, integers (!= 0), strings 1 t T TRUE true True / 0 f F FALSE false False
 *   int:      integers, decimal strings, bools (1/0), floats (truncated)
 *   float:    floats, integers, numeric strings
 *   duration: integer or float = SECONDS, string = Go duration ("10s", "1m30s", "300ms") or a
 *             decimal string of seconds ("10"); result in nanoseconds
 *   strings:  a list of scalars, or a comma-separated string ("a,b" → ["a","b"], items trimmed,
 *             empty items dropped)
 *   map:      a mapping (values read with these same getters)
 * A null value counts as absent.
 *
 * md_get_*() return the default when the key is absent OR the value is invalid. The
 * md_parse_*() variants tell the two apart, for validating at build time (DESIGN §6):
 * they return MD_OK (value stored in *out), MD_ABSENT (*out untouched) or MD_INVALID (an error
 * `file:line:col: metadata "ttl": invalid duration "5x"` is added to errs, which may be NULL).
 * Returned strings and maps are borrowed from md; md_get_strings() results are owned by the
 * caller (free with md_strings_free()).
 */
#ifndef GOST_CONFIG_MD_H
#define GOST_CONFIG_MD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/cfg_err.h"
#include "config/cval.h"

enum md_status {
    MD_INVALID = -1,
    MD_ABSENT = 0,
    MD_OK = 1,
};

/* The value of the first alias present (not NULL-valued), or NULL. `*key_out` (optional) gets
 * the key as written in the map. Borrowed. */
const struct cval *md_find(const struct cval *md, const char *const *keys, const char **key_out);

/* True if any alias is present with a non-null value. */
bool md_has(const struct cval *md, const char *const *keys);

const char *md_get_str(const struct cval *md, const char *const *keys, const char *def);
bool md_get_bool(const struct cval *md, const char *const *keys, bool def);
int64_t md_get_int(const struct cval *md, const char *const *keys, int64_t def);
double md_get_float(const struct cval *md, const char *const *keys, double def);
/* Nanoseconds. */
int64_t md_get_duration(const struct cval *md, const char *const *keys, int64_t def_ns);
/* NULL-terminated array of strings (caller frees with md_strings_free()); NULL when absent or
 * invalid. *n (optional) receives the count. */
char **md_get_strings(const struct cval *md, const char *const *keys, size_t *n);
/* A CVAL_MAP or NULL. Borrowed. */
const struct cval *md_get_map(const struct cval *md, const char *const *keys);

enum md_status md_parse_str(const struct cval *md, const char *const *keys, const char **out,
                            struct cfg_errs *errs);
enum md_status md_parse_bool(const struct cval *md, const char *const *keys, bool *out,
                             struct cfg_errs *errs);
enum md_status md_parse_int(const struct cval *md, const char *const *keys, int64_t *out,
                            struct cfg_errs *errs);
enum md_status md_parse_float(const struct cval *md, const char *const *keys, double *out,
                              struct cfg_errs *errs);
enum md_status md_parse_duration(const struct cval *md, const char *const *keys, int64_t *out_ns,
                                 struct cfg_errs *errs);
enum md_status md_parse_strings(const struct cval *md, const char *const *keys, char ***out,
                                size_t *n, struct cfg_errs *errs);
/* Also checks that every value of the map is a scalar (string→string map semantics) when
 * `scalars_only` is set. */
enum md_status md_parse_map(const struct cval *md, const char *const *keys, const struct cval **out,
                            bool scalars_only, struct cfg_errs *errs);

void md_strings_free(char **v);

#endif
