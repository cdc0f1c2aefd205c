/* Schema descriptors: one static table per config struct (config/schema_tables.c) listing each
 * field's key, kind, offset, element type and flags. The loader, the validator, cfg_free(),
 * cfg_merge() and the emitter are all driven by these tables. Internal to src/config/.
 *
 * Field order in a table is Go's struct declaration order (go-gost/x config/config.go), which is
 * the order `-O yaml|json` prints fields in.
 */
#ifndef GOST_CONFIG_SCHEMA_DESC_H
#define GOST_CONFIG_SCHEMA_DESC_H

#include <stddef.h>

#include "config/types.h"

enum cfg_fkind {
    CFK_STR,    /* char * */
    CFK_BOOL,   /* bool */
    CFK_INT,    /* int64_t */
    CFK_U64,    /* uint64_t */
    CFK_DUR,    /* int64_t nanoseconds */
    CFK_STRS,   /* char ** + size_t count */
    CFK_STRMAP, /* struct cval * (map of strings) */
    CFK_MD,     /* struct cval * (metadata map, any values) */
    CFK_OBJ,    /* struct T * */
    CFK_OBJS,   /* struct T ** + size_t count */
};

#define CFF_OMITEMPTY  0x1u /* `omitempty`: -O leaves the field out when it is zero/empty */
#define CFF_DEPRECATED 0x2u /* accepted for compatibility; a newer field replaces it */
#define CFF_HEAD       0x4u /* only in GOST's development branch */
#define CFF_READONLY   0x8u /* output-only data (service status); accepted, ignored */

struct cfg_type;

struct cfg_field {
    const char *name;      /* key (YAML spelling; input matches it case-insensitively) */
    const char *json_name; /* JSON output spelling when it differs (untagged Go fields) */
    enum cfg_fkind kind;
    unsigned flags;
    size_t off;                  /* offset of the value (or of the array pointer) */
    size_t count_off;            /* CFK_STRS/CFK_OBJS: offset of the size_t count */
    const struct cfg_type *elem; /* CFK_OBJ/CFK_OBJS */
};

struct cfg_type {
    const char *kind; /* noun used in messages: "service", "hop", "tls", ... */
    size_t size;
    const struct cfg_field *fields;
    size_t n_fields;
    /* Index of the string field a plain scalar fills when the object is written as a scalar
     * (chainGroup entries: "chain-a" == {chain: chain-a}); -1 when not allowed. */
    int scalar_field;
};

/* Common head of every config struct (all of them start with these two members). */
struct cfg_obj_hdr {
    struct cval_pos pos;
    const struct cval *node;
};

extern const struct cfg_type cfg_type_root;

/* Field lookup by key, ASCII case-insensitive; NULL if unknown. */
const struct cfg_field *cfg_type_field(const struct cfg_type *t, const char *key);

/* Accessors into an object by field descriptor. */
#define CFG_FIELD_PTR(obj, f)    ((void *)((char *)(obj) + (f)->off))
#define CFG_FIELD_CPTR(obj, f)   ((const void *)((const char *)(obj) + (f)->off))
#define CFG_FIELD_COUNT(obj, f)  (*(size_t *)((char *)(obj) + (f)->count_off))
#define CFG_FIELD_CCOUNT(obj, f) (*(const size_t *)((const char *)(obj) + (f)->count_off))

#endif
