/* cval: a generic, position-carrying value tree (the "node tree" of DESIGN §6 step 1).
 *
 * YAML/JSON text is parsed into a cval tree (config/yaml_load.c); the command line (-L/-F)
 * builds a cval tree of the same shape (config/cmdline.c). The typed loader (config/schema.c)
 * turns either into the typed structs of config/types.h, and metadata maps stay cval trees that
 * the metadata getters (config/md.c) read.
 *
 * Ownership: a tree owns all its children and strings. cval_free() frees a node and everything
 * below it. Strings are NUL-terminated and copied in (never borrowed). Map keys keep their
 * original spelling; lookups that need GOST's case-insensitivity use cval_map_get_ci().
 * Positions: `file` is a borrowed pointer to a string that outlives the tree (an interned file
 * name, or a static label such as "-L[0]"); line and col are 1-based, 0 when unknown.
 */
#ifndef GOST_CONFIG_CVAL_H
#define GOST_CONFIG_CVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cval_kind {
    CVAL_NULL,
    CVAL_BOOL,
    CVAL_INT,    /* a plain integer scalar (YAML int, JSON integer) */
    CVAL_FLOAT,  /* YAML/JSON float */
    CVAL_STR,    /* any other scalar, and every quoted scalar */
    CVAL_LIST,
    CVAL_MAP,
};

struct cval_pos {
    const char *file; /* borrowed, outlives the tree */
    int line;         /* 1-based; 0 = unknown */
    int col;          /* 1-based; 0 = unknown */
};

struct cval;

struct cval_entry {
    char *key;
    struct cval_pos key_pos;
    struct cval *val;
};

struct cval {
    enum cval_kind kind;
    struct cval_pos pos;
    /* CVAL_STR: text; for every scalar kind `str` holds the original text as written
     * (so "0660" or "1e3" can be re-read as a string). NULL for LIST/MAP/NULL. */
    char *str;
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            struct cval **items;
            size_t n, cap;
        } list;
        struct {
            struct cval_entry *ents;
            size_t n, cap;
        } map;
    } u;
};

/* Constructors: return a new node (never NULL; aborts on OOM). `s` is copied. */
struct cval *cval_new(enum cval_kind kind, struct cval_pos pos);
struct cval *cval_new_str(const char *s, struct cval_pos pos);
struct cval *cval_new_int(int64_t i, struct cval_pos pos);
struct cval *cval_new_bool(bool b, struct cval_pos pos);

/* Appends `item` to a list (consumes item). */
void cval_list_push(struct cval *list, struct cval *item);
/* Sets key in a map (consumes val). An existing key with the exact same spelling is replaced
 * (the old value freed). Insertion order is kept. Returns the stored value. */
struct cval *cval_map_set(struct cval *map, const char *key, struct cval_pos key_pos,
                          struct cval *val);
/* Exact-spelling lookup; borrowed result or NULL. */
struct cval *cval_map_get(const struct cval *map, const char *key);
/* ASCII case-insensitive lookup; borrowed result or NULL. */
struct cval *cval_map_get_ci(const struct cval *map, const char *key);
/* Removes an exact key if present (frees the value). Returns true if it was present. */
bool cval_map_del(struct cval *map, const char *key);

/* Deep copy. */
struct cval *cval_dup(const struct cval *v);
/* Frees v and its whole subtree; NULL is fine. */
void cval_free(struct cval *v);

/* Scalar text of v (the original spelling) or NULL for LIST/MAP/NULL. Borrowed. */
const char *cval_text(const struct cval *v);

/* Interns a file name / label so that cval_pos.file can point at it for the life of the
 * process. Returns a stable pointer. Thread-safe. */
const char *cval_intern(const char *name);

#endif
