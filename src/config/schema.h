/* Typed config loading (DESIGN §6 step 2): cval tree → struct cfg (config/types.h).
 *
 * Keys are matched case-insensitively against GOST's JSON field names (viper semantics);
 * scalars convert the way viper/mapstructure's weakly typed decoding does (a string field takes
 * any scalar, bool fields take true/false/1/0 and their strings, int fields take numeric
 * strings, `[]string` takes a single scalar or a comma-separated string, a list of objects takes
 * a single object). Unlike GOST, unknown keys, wrong value types, bad durations and duplicate
 * names are errors, each reported with its position (up to CFG_ERRS_MAX). See docs/config.md.
 */
#ifndef GOST_CONFIG_SCHEMA_H
#define GOST_CONFIG_SCHEMA_H

#include <stddef.h>

#include "config/cfg_err.h"
#include "config/cval.h"
#include "config/types.h"

/* Loads a typed config from `root` (a CVAL_MAP, or CVAL_NULL for an empty document).
 * Consumes root in every case: on success *out owns it; on failure it is freed.
 * Returns 0 and sets *out, or -EINVAL with every error found added to errs (*out = NULL). */
int cfg_load_cval(struct cval *root, struct cfg **out, struct cfg_errs *errs);

/* Reads and parses a YAML/JSON file (config/yaml_load.h), then cfg_load_cval(). */
int cfg_load_file(const char *path, struct cfg **out, struct cfg_errs *errs);

/* Parses YAML/JSON text (`label` names it in positions, e.g. "-C[1]"), then cfg_load_cval(). */
int cfg_load_string(const char *text, size_t len, const char *label, struct cfg **out,
                    struct cfg_errs *errs);

/* An empty config (every list empty, every singleton NULL). Never NULL. */
struct cfg *cfg_new(void);

/* Frees a config and everything it owns. NULL is fine. */
void cfg_free(struct cfg *c);

/* Merges src into dst and frees src (consumed in every case): lists are appended, singletons
 * (tls, log, profiling, api, metrics) present in src replace those of dst — GOST HEAD semantics
 * for several -C sources and for merging the -L/-F result last. Duplicate names across the
 * merged lists are reported as errors (errs may be NULL). Returns 0, or -EINVAL after
 * reporting duplicates (dst then still holds the complete merged config). */
int cfg_merge(struct cfg *dst, struct cfg *src, struct cfg_errs *errs);

/* Position of the value of `key` (case-insensitive) in the mapping `node`; if absent, the
 * position of `node` itself; {NULL,0,0} when node is NULL. Use it for build-time errors:
 *   cfg_pos_of(svc->listener->node, "type") */
struct cval_pos cfg_pos_of(const struct cval *node, const char *key);

/* Position of the key `key` itself in the mapping (same fallbacks as cfg_pos_of). */
struct cval_pos cfg_key_pos_of(const struct cval *node, const char *key);

#endif
