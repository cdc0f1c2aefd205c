/* Config → YAML/JSON text, the way GOST's `-O yaml|json` prints it (go-gost/x config.Write:
 * encoding/json with a 2-space indent, yaml.v3 with indent 2).
 *
 * Fields in Go struct order, `omitempty` as in go-gost/x config/config.go, map keys sorted like
 * Go (JSON: byte order; YAML: yaml.v3's natural order). Durations: JSON = integer nanoseconds,
 * YAML = Go duration text ("1m0s"). Metadata values keep their scalar kinds. chainGroup entries
 * that only name a chain print as plain strings (readable by stable GOST too).
 * Output read back by cfg_load_*() gives the same output again (round trip).
 */
#ifndef GOST_CONFIG_EMIT_H
#define GOST_CONFIG_EMIT_H

#include <stdio.h>

#include "config/types.h"

enum cfg_format {
    CFG_YAML,
    CFG_JSON,
};

/* GOST's rule: "json" selects JSON, anything else YAML. */
enum cfg_format cfg_format_from_name(const char *name);

/* Writes the config to `out`. Returns 0, or -EIO if writing failed. */
int cfg_emit(const struct cfg *c, FILE *out, enum cfg_format fmt);

#endif
