/* YAML/JSON text → cval tree (DESIGN §6 step 1), with file:line:column on every node.
 *
 * Built on libfyaml's event parser. Scalars: plain scalars that read as YAML ints/floats/bools/
 * nulls in the sense of Go's yaml.v3 resolver (which GOST uses through viper) become
 * CVAL_INT/FLOAT/BOOL/NULL; quoted, block and `!!str`-tagged scalars are CVAL_STR; every scalar
 * keeps its text in `str`. Anchors, aliases and merge keys (`<<`) are resolved (explicit keys win
 * over merged ones, earlier merge sources over later ones). Duplicate keys are errors.
 * JSON is read in libfyaml's JSON mode when the text starts with `{` or `[` or the name ends
 * in ".json"; otherwise as YAML (JSON is valid YAML flow, tabs included).
 *
 * Limits: input larger than YAML_LOAD_MAX_BYTES, nesting deeper than YAML_LOAD_MAX_DEPTH, more
 * than YAML_LOAD_MAX_NODES nodes (alias bombs) and more than one document are positioned errors.
 * Parse errors are reported as `file:line:col: message` through errs; libfyaml never prints.
 */
#ifndef GOST_CONFIG_YAML_LOAD_H
#define GOST_CONFIG_YAML_LOAD_H

#include <stddef.h>

#include "config/cfg_err.h"
#include "config/cval.h"

#define YAML_LOAD_MAX_BYTES (16u << 20)
#define YAML_LOAD_MAX_DEPTH 64
#define YAML_LOAD_MAX_NODES (1u << 20)

/* Parses the file at `path` (its name, interned, is the position file). Returns a new tree
 * (caller owns; a CVAL_NULL node for an empty document) or NULL after adding errors to errs. */
struct cval *yaml_load_file(const char *path, struct cfg_errs *errs);

/* Parses `len` bytes of `text` (need not be NUL-terminated); `label` (interned) names the
 * source in positions. Same result contract as yaml_load_file(). */
struct cval *yaml_load_string(const char *text, size_t len, const char *label,
                              struct cfg_errs *errs);

#endif
