/* Typed config loading, freeing and merging, driven by the schema tables (contract in
 * schema.h; tables in schema_tables.c). Recursion follows the schema (a fixed, small depth),
 * never the shape of the input alone.
 */
#include "config/schema.h"
#include "core/xmalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/gotext.h"
#include "config/schema_desc.h"
#include "config/yaml_load.h"

#define SL_PATH_MAX 256

struct sl_ctx {
    struct cfg *cfg; /* receives loader-built cval nodes */
    struct cfg_errs *errs;
    size_t nerr;
};

static void sl_err(struct sl_ctx *c, struct cval_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void sl_err(struct sl_ctx *c, struct cval_pos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cfg_errs_vadd(c->errs, pos, fmt, ap);
    va_end(ap);
    c->nerr++;
}

static void sl_own(struct cfg *cfg, struct cval *v)
{
    if (cfg->n_owned_ == cfg->cap_owned_) {
        cfg->cap_owned_ = cfg->cap_owned_ ? cfg->cap_owned_ * 2 : 4;
        cfg->owned_ = xrealloc(cfg->owned_, cfg->cap_owned_ * sizeof(*cfg->owned_));
    }
    cfg->owned_[cfg->n_owned_++] = v;
}

static bool sl_is_scalar(const struct cval *v)
{
    return v->kind == CVAL_BOOL || v->kind == CVAL_INT || v->kind == CVAL_FLOAT ||
           v->kind == CVAL_STR;
}

/* "a mapping", "a list", "null" or the scalar's text in quotes (truncated). */
static const char *sl_describe(const struct cval *v, char *buf, size_t len)
{
    switch (v->kind) {
    case CVAL_MAP:
        return "a mapping";
    case CVAL_LIST:
        return "a list";
    case CVAL_NULL:
        return "null";
    default:
        snprintf(buf, len, "\"%.60s%s\"", v->str ? v->str : "",
                 v->str && strlen(v->str) > 60 ? "..." : "");
        return buf;
    }
}

/* "in chain \"c\"" / "in services[0].handler" / "at top level" */
static const char *sl_where(const char *path, char *buf, size_t len)
{
    if (!*path)
        return "at top level";
    snprintf(buf, len, "in %s", path);
    return buf;
}

static void sl_type_err(struct sl_ctx *c, const struct cval *v, const char *key, const char *path,
                        const char *expected)
{
    char d[80], w[SL_PATH_MAX + 8];
    sl_err(c, v->pos, "\"%s\" %s: expected %s, got %s", key, sl_where(path, w, sizeof(w)), expected,
           sl_describe(v, d, sizeof(d)));
}

/* ---- scalar conversions (mapstructure WeaklyTypedInput semantics) ------------------------- */

/* String form of a scalar as mapstructure produces it; NULL for non-scalars. */
static char *sl_weak_string(const struct cval *v)
{
    char buf[512];
    switch (v->kind) {
    case CVAL_STR:
        return xstrdup(v->str ? v->str : "");
    case CVAL_INT:
        snprintf(buf, sizeof(buf), "%lld", (long long)v->u.i);
        return xstrdup(buf);
    case CVAL_FLOAT:
        gotext_format_float(v->u.f, 'f', buf, sizeof(buf));
        return xstrdup(buf);
    case CVAL_BOOL:
        return xstrdup(v->u.b ? "1" : "0");
    default:
        return NULL;
    }
}

static bool sl_float_is_int(double f, int64_t *out)
{
    if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0) || f != (double)(int64_t)f)
        return false;
    *out = (int64_t)f;
    return true;
}

static bool sl_conv_bool(const struct cval *v, bool *out)
{
    switch (v->kind) {
    case CVAL_BOOL:
        *out = v->u.b;
        return true;
    case CVAL_INT:
        *out = v->u.i != 0;
        return true;
    case CVAL_FLOAT:
        *out = v->u.f != 0;
        return true;
    case CVAL_STR:
        if (!v->str[0]) {
            *out = false;
            return true;
        }
        return gotext_parse_bool(v->str, out);
    default:
        return false;
    }
}

static bool sl_conv_int(const struct cval *v, int64_t *out)
{
    switch (v->kind) {
    case CVAL_INT:
        *out = v->u.i;
        return true;
    case CVAL_FLOAT:
        return sl_float_is_int(v->u.f, out);
    case CVAL_BOOL:
        *out = v->u.b;
        return true;
    case CVAL_STR: {
        if (!v->str[0]) {
            *out = 0;
            return true;
        }
        char *s = v->str;
        bool neg = *s == '-';
        uint64_t u;
        if (!gotext_parse_uint(s + (*s == '-' || *s == '+'), &u))
            return false;
        if (neg ? u > (uint64_t)INT64_MAX + 1 : u > (uint64_t)INT64_MAX)
            return false;
        *out = neg ? (int64_t)(0 - u) : (int64_t)u;
        return true;
    }
    default:
        return false;
    }
}

static bool sl_conv_u64(const struct cval *v, uint64_t *out)
{
    int64_t i;
    switch (v->kind) {
    case CVAL_STR:
        if (!v->str[0]) {
            *out = 0;
            return true;
        }
        return gotext_parse_uint(v->str, out);
    case CVAL_FLOAT:
        /* integers beyond int64 are resolved as floats; read their text exactly */
        if (v->str && gotext_parse_uint(v->str, out))
            return true;
        if (v->u.f >= 0 && v->u.f < 18446744073709551616.0 && v->u.f == (double)(uint64_t)v->u.f) {
            *out = (uint64_t)v->u.f;
            return true;
        }
        return false;
    default:
        if (!sl_conv_int(v, &i) || i < 0)
            return false;
        *out = (uint64_t)i;
        return true;
    }
}

static bool sl_conv_dur(const struct cval *v, int64_t *out)
{
    switch (v->kind) {
    case CVAL_INT:
        *out = v->u.i;
        return true;
    case CVAL_FLOAT:
        return sl_float_is_int(v->u.f, out);
    case CVAL_STR:
        return gotext_parse_duration(v->str, out);
    default:
        return false;
    }
}

/* ---- generic object loading --------------------------------------------------------------- */

static void *sl_load_obj(struct sl_ctx *c, const struct cfg_type *t, const struct cval *v,
                         const char *fallback_path);

static size_t sl_lev(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    size_t prev[41], cur[41];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            char x = a[i - 1], y = b[j - 1];
            if (x >= 'A' && x <= 'Z')
                x = (char)(x - 'A' + 'a');
            if (y >= 'A' && y <= 'Z')
                y = (char)(y - 'A' + 'a');
            size_t best = prev[j - 1] + (x != y);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            cur[j] = best;
        }
        memcpy(prev, cur, (lb + 1) * sizeof(size_t));
    }
    return prev[lb];
}

static const char *sl_suggest(const struct cfg_type *t, const char *key)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < t->n_fields; i++) {
        size_t d = sl_lev(key, t->fields[i].name);
        if (d < best_d) {
            best_d = d;
            best = t->fields[i].name;
        }
    }
    return best;
}

static void sl_child_path(char *out, size_t len, const char *path, const char *key, long idx)
{
    if (idx >= 0)
        snprintf(out, len, "%s%s%s[%ld]", path, *path ? "." : "", key, idx);
    else
        snprintf(out, len, "%s%s%s", path, *path ? "." : "", key);
}

/* Checks keys of a free-form map for case-insensitive duplicates (GOST lower-cases them). */
static void sl_check_ci_dups(struct sl_ctx *c, const struct cval *m, const char *what,
                             const char *path)
{
    char w[SL_PATH_MAX + 8];
    for (size_t i = 1; i < m->u.map.n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcasecmp(m->u.map.ents[i].key, m->u.map.ents[j].key) == 0) {
                const struct cval_entry *first = &m->u.map.ents[j];
                sl_err(c, m->u.map.ents[i].key_pos,
                       "%s key \"%s\" %s repeats \"%s\" (line %d:%d); keys are case-insensitive",
                       what, m->u.map.ents[i].key, sl_where(path, w, sizeof(w)), first->key,
                       first->key_pos.line, first->key_pos.col);
                break;
            }
        }
    }
}

/* map[string]string: a mapping (or, weakly, a list of mappings merged) with scalar values. */
static struct cval *sl_load_strmap(struct sl_ctx *c, const struct cval *v, const char *key,
                                   const char *path)
{
    size_t nsrc = 1;
    const struct cval *const *srcs = &v;
    if (v->kind == CVAL_LIST) {
        for (size_t i = 0; i < v->u.list.n; i++) {
            if (v->u.list.items[i]->kind != CVAL_MAP) {
                sl_type_err(c, v->u.list.items[i], key, path, "a mapping of strings");
                return NULL;
            }
        }
        nsrc = v->u.list.n;
        srcs = (const struct cval *const *)v->u.list.items;
    } else if (v->kind != CVAL_MAP) {
        sl_type_err(c, v, key, path, "a mapping of strings");
        return NULL;
    }
    struct cval *out = cval_new(CVAL_MAP, v->pos);
    sl_own(c->cfg, out);
    for (size_t s = 0; s < nsrc; s++) {
        const struct cval *m = srcs[s];
        for (size_t i = 0; i < m->u.map.n; i++) {
            const struct cval_entry *e = &m->u.map.ents[i];
            char *str = e->val->kind == CVAL_NULL ? xstrdup("") : sl_weak_string(e->val);
            if (!str) {
                char sub[SL_PATH_MAX];
                sl_child_path(sub, sizeof(sub), path, key, -1);
                sl_type_err(c, e->val, e->key, sub, "a string");
                continue;
            }
            struct cval *sv = cval_new_str(str, e->val->pos);
            free(str);
            if (cval_map_get(out, e->key)) {
                cval_free(sv); /* earlier list element wins, like a later duplicate in Go */
                continue;
            }
            cval_map_set(out, e->key, e->key_pos, sv);
        }
    }
    char sub[SL_PATH_MAX];
    sl_child_path(sub, sizeof(sub), path, key, -1);
    sl_check_ci_dups(c, out, "header", sub);
    return out;
}

/* metadata: a mapping (kept as is) or, weakly, a list of mappings merged into a new one. */
static struct cval *sl_load_md(struct sl_ctx *c, const struct cval *v, const char *key,
                               const char *path)
{
    char sub[SL_PATH_MAX];
    sl_child_path(sub, sizeof(sub), path, key, -1);
    if (v->kind == CVAL_MAP) {
        sl_check_ci_dups(c, v, "metadata", sub);
        return (struct cval *)v; /* borrowed from the owned source tree */
    }
    if (v->kind != CVAL_LIST) {
        sl_type_err(c, v, key, path, "a mapping");
        return NULL;
    }
    for (size_t i = 0; i < v->u.list.n; i++) {
        if (v->u.list.items[i]->kind != CVAL_MAP) {
            sl_type_err(c, v->u.list.items[i], key, path, "a mapping");
            return NULL;
        }
    }
    struct cval *out = cval_new(CVAL_MAP, v->pos);
    sl_own(c->cfg, out);
    for (size_t s = 0; s < v->u.list.n; s++) {
        const struct cval *m = v->u.list.items[s];
        for (size_t i = 0; i < m->u.map.n; i++) {
            const struct cval_entry *e = &m->u.map.ents[i];
            if (!cval_map_get(out, e->key))
                cval_map_set(out, e->key, e->key_pos, cval_dup(e->val));
        }
    }
    sl_check_ci_dups(c, out, "metadata", sub);
    return out;
}

static void sl_load_strs(struct sl_ctx *c, void *obj, const struct cfg_field *f,
                         const struct cval *v, const char *path)
{
    char ***arr = CFG_FIELD_PTR(obj, f);
    size_t *n = &CFG_FIELD_COUNT(obj, f);
    if (v->kind == CVAL_LIST) {
        *arr = xcalloc(v->u.list.n, sizeof(char *));
        for (size_t i = 0; i < v->u.list.n; i++) {
            const struct cval *it = v->u.list.items[i];
            char *s = it->kind == CVAL_NULL ? xstrdup("") : sl_weak_string(it);
            if (!s) {
                sl_type_err(c, it, f->name, path, "a list of strings");
                continue;
            }
            (*arr)[(*n)++] = s;
        }
        return;
    }
    if (v->kind == CVAL_STR) {
        /* viper's StringToSliceHookFunc(","): "" → [], "a,b" → ["a", "b"] (no trimming) */
        const char *s = v->str;
        if (!*s)
            return;
        size_t parts = 1;
        for (const char *p = s; *p; p++)
            parts += *p == ',';
        *arr = xcalloc(parts, sizeof(char *));
        const char *start = s;
        for (const char *p = s;; p++) {
            if (*p == ',' || !*p) {
                (*arr)[(*n)++] = xstrndup(start, (size_t)(p - start));
                if (!*p)
                    break;
                start = p + 1;
            }
        }
        return;
    }
    char *s = sl_weak_string(v); /* other scalars lift to a one-element list */
    if (!s) {
        sl_type_err(c, v, f->name, path, "a list of strings");
        return;
    }
    *arr = xcalloc(1, sizeof(char *));
    (*arr)[(*n)++] = s;
}

static void sl_load_objs(struct sl_ctx *c, void *obj, const struct cfg_field *f,
                         const struct cval *v, const char *path)
{
    void ***arr = CFG_FIELD_PTR(obj, f);
    size_t *n = &CFG_FIELD_COUNT(obj, f);
    char sub[SL_PATH_MAX];
    if (v->kind == CVAL_MAP) {
        /* mapstructure lifts a single object into a one-element list (empty map: no list) */
        if (v->u.map.n == 0)
            return;
        *arr = xcalloc(1, sizeof(void *));
        sl_child_path(sub, sizeof(sub), path, f->name, 0);
        void *o = sl_load_obj(c, f->elem, v, sub);
        if (o)
            (*arr)[(*n)++] = o;
        return;
    }
    if (v->kind != CVAL_LIST) {
        sl_type_err(c, v, f->name, path,
                    f->elem->scalar_field >= 0 ? "a list of names or mappings" : "a list");
        return;
    }
    *arr = xcalloc(v->u.list.n, sizeof(void *));
    for (size_t i = 0; i < v->u.list.n; i++) {
        sl_child_path(sub, sizeof(sub), path, f->name, (long)i);
        const struct cval *it = v->u.list.items[i];
        if (it->kind == CVAL_NULL) {
            char w[SL_PATH_MAX + 8];
            sl_err(c, it->pos, "empty entry in \"%s\" %s", f->name, sl_where(path, w, sizeof(w)));
            continue;
        }
        void *o = sl_load_obj(c, f->elem, it, sub);
        if (o)
            (*arr)[(*n)++] = o;
    }
}

static void sl_load_field(struct sl_ctx *c, void *obj, const struct cfg_field *f,
                          const struct cval *v, const char *path)
{
    if (v->kind == CVAL_NULL)
        return; /* null is "not set" (mapstructure leaves the zero value) */
    switch (f->kind) {
    case CFK_STR: {
        char *s = sl_weak_string(v);
        if (!s) {
            sl_type_err(c, v, f->name, path, "a string");
            return;
        }
        *(char **)CFG_FIELD_PTR(obj, f) = s;
        return;
    }
    case CFK_BOOL:
        if (!sl_conv_bool(v, (bool *)CFG_FIELD_PTR(obj, f)))
            sl_type_err(c, v, f->name, path, "a bool (true/false/1/0)");
        return;
    case CFK_INT:
        if (!sl_conv_int(v, (int64_t *)CFG_FIELD_PTR(obj, f)))
            sl_type_err(c, v, f->name, path, "an integer");
        return;
    case CFK_U64:
        if (!sl_conv_u64(v, (uint64_t *)CFG_FIELD_PTR(obj, f)))
            sl_type_err(c, v, f->name, path, "a non-negative integer");
        return;
    case CFK_DUR:
        if (!sl_conv_dur(v, (int64_t *)CFG_FIELD_PTR(obj, f)))
            sl_type_err(c, v, f->name, path,
                        "a duration such as \"30s\", \"1m30s\", \"500ms\" (a bare integer is "
                        "nanoseconds)");
        return;
    case CFK_STRS:
        sl_load_strs(c, obj, f, v, path);
        return;
    case CFK_STRMAP:
        *(struct cval **)CFG_FIELD_PTR(obj, f) = sl_load_strmap(c, v, f->name, path);
        return;
    case CFK_MD:
        *(struct cval **)CFG_FIELD_PTR(obj, f) = sl_load_md(c, v, f->name, path);
        return;
    case CFK_OBJ: {
        char sub[SL_PATH_MAX];
        sl_child_path(sub, sizeof(sub), path, f->name, -1);
        *(void **)CFG_FIELD_PTR(obj, f) = sl_load_obj(c, f->elem, v, sub);
        return;
    }
    case CFK_OBJS:
        sl_load_objs(c, obj, f, v, path);
        return;
    }
}

/* The object's display path: `kind "name"` when it has a usable name, else the fallback. */
static void sl_obj_path(const struct cfg_type *t, const struct cval *v, const char *fallback,
                        char *out, size_t len)
{
    const struct cval *name = NULL;
    if (t->n_fields && strcmp(t->fields[0].name, "name") == 0)
        name = cval_map_get_ci(v, "name");
    if (name && name->kind == CVAL_STR && name->str[0] && strlen(name->str) < 100)
        snprintf(out, len, "%s \"%s\"", t->kind, name->str);
    else
        snprintf(out, len, "%s", fallback);
}

static void sl_fill_obj(struct sl_ctx *c, const struct cfg_type *t, void *obj, const struct cval *v,
                        const char *path)
{
    struct cfg_obj_hdr *h = obj;
    h->pos = v->pos;
    h->node = v;
    char w[SL_PATH_MAX + 8];
    for (size_t i = 0; i < v->u.map.n; i++) {
        const struct cval_entry *e = &v->u.map.ents[i];
        const struct cfg_field *f = cfg_type_field(t, e->key);
        if (!f) {
            const char *s = sl_suggest(t, e->key);
            char hint[80] = "";
            if (s)
                snprintf(hint, sizeof(hint), " (did you mean \"%s\"?)", s);
            sl_err(c, e->key_pos, "unknown key \"%.100s\" %s%s", e->key,
                   sl_where(path, w, sizeof(w)), hint);
            continue;
        }
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++) {
            if (strcasecmp(v->u.map.ents[j].key, e->key) == 0) {
                const struct cval_entry *first = &v->u.map.ents[j];
                sl_err(c, e->key_pos,
                       "key \"%s\" %s repeats \"%s\" (line %d:%d); keys are case-insensitive",
                       e->key, sl_where(path, w, sizeof(w)), first->key, first->key_pos.line,
                       first->key_pos.col);
                dup = true;
            }
        }
        if (!dup)
            sl_load_field(c, obj, f, e->val, path);
    }
}

static void sl_free_obj(const struct cfg_type *t, void *obj);

static void *sl_load_obj(struct sl_ctx *c, const struct cfg_type *t, const struct cval *v,
                         const char *fallback_path)
{
    if (v->kind != CVAL_MAP) {
        if (t->scalar_field >= 0 && sl_is_scalar(v)) {
            void *obj = xcalloc(1, t->size);
            struct cfg_obj_hdr *h = obj;
            h->pos = v->pos;
            h->node = v;
            *(char **)CFG_FIELD_PTR(obj, &t->fields[t->scalar_field]) = sl_weak_string(v);
            return obj;
        }
        char d[80];
        sl_err(c, v->pos, "%s: expected a mapping, got %s",
               *fallback_path ? fallback_path : "config", sl_describe(v, d, sizeof(d)));
        return NULL;
    }
    char path[SL_PATH_MAX];
    sl_obj_path(t, v, fallback_path, path, sizeof(path));
    void *obj = xcalloc(1, t->size);
    sl_fill_obj(c, t, obj, v, path);
    return obj;
}

/* ---- freeing ------------------------------------------------------------------------------ */

static void sl_free_fields(const struct cfg_type *t, void *obj)
{
    for (size_t i = 0; i < t->n_fields; i++) {
        const struct cfg_field *f = &t->fields[i];
        switch (f->kind) {
        case CFK_STR:
            free(*(char **)CFG_FIELD_PTR(obj, f));
            break;
        case CFK_STRS: {
            char **a = *(char ***)CFG_FIELD_PTR(obj, f);
            for (size_t k = 0; k < CFG_FIELD_COUNT(obj, f); k++)
                free(a[k]);
            free(a);
            break;
        }
        case CFK_OBJ: {
            void *o = *(void **)CFG_FIELD_PTR(obj, f);
            if (o)
                sl_free_obj(f->elem, o);
            break;
        }
        case CFK_OBJS: {
            void **a = *(void ***)CFG_FIELD_PTR(obj, f);
            for (size_t k = 0; k < CFG_FIELD_COUNT(obj, f); k++)
                sl_free_obj(f->elem, a[k]);
            free(a);
            break;
        }
        default: /* scalars; maps are owned by the cfg's cval list */
            break;
        }
    }
}

static void sl_free_obj(const struct cfg_type *t, void *obj)
{
    sl_free_fields(t, obj);
    free(obj);
}

/* ---- duplicate names ---------------------------------------------------------------------- */

struct sl_named {
    const char *name;
    const struct cfg_obj_hdr *obj;
    size_t idx;
};

static int sl_named_cmp(const void *a, const void *b)
{
    const struct sl_named *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    if (r)
        return r;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void sl_check_dup_names(struct sl_ctx *c, const struct cfg *cfg)
{
    const struct cfg_type *rt = &cfg_type_root;
    for (size_t i = 0; i < rt->n_fields; i++) {
        const struct cfg_field *f = &rt->fields[i];
        if (f->kind != CFK_OBJS || strcmp(f->elem->fields[0].name, "name") != 0)
            continue;
        size_t n = CFG_FIELD_CCOUNT(cfg, f);
        void *const *arr = *(void *const *const *)CFG_FIELD_CPTR(cfg, f);
        if (n < 2)
            continue;
        struct sl_named *v = xcalloc(n, sizeof(*v));
        size_t m = 0;
        for (size_t k = 0; k < n; k++) {
            const char *name = *(char *const *)CFG_FIELD_CPTR(arr[k], &f->elem->fields[0]);
            if (name && *name)
                v[m++] = (struct sl_named){name, arr[k], k};
        }
        qsort(v, m, sizeof(*v), sl_named_cmp);
        for (size_t k = 1; k < m; k++) {
            if (strcmp(v[k].name, v[k - 1].name) != 0)
                continue;
            size_t first = k - 1;
            while (first > 0 && strcmp(v[first - 1].name, v[k].name) == 0)
                first--;
            struct cval_pos fp = cfg_pos_of(v[first].obj->node, "name");
            struct cval_pos sp = cfg_pos_of(v[k].obj->node, "name");
            sl_err(c, sp, "duplicate %s name \"%s\" in \"%s\" (first defined at %s:%d:%d)",
                   f->elem->kind, v[k].name, f->name, fp.file ? fp.file : "?", fp.line, fp.col);
        }
        free(v);
    }
}

/* ---- public API --------------------------------------------------------------------------- */

struct cfg *cfg_new(void)
{
    return xcalloc(1, sizeof(struct cfg));
}

void cfg_free(struct cfg *cfg)
{
    if (!cfg)
        return;
    sl_free_fields(&cfg_type_root, cfg);
    for (size_t i = 0; i < cfg->n_owned_; i++)
        cval_free(cfg->owned_[i]);
    free(cfg->owned_);
    free(cfg);
}

int cfg_load_cval(struct cval *root, struct cfg **out, struct cfg_errs *errs)
{
    *out = NULL;
    struct cfg *cfg = cfg_new();
    if (!root)
        root = cval_new(CVAL_NULL, (struct cval_pos){NULL, 0, 0});
    sl_own(cfg, root);
    struct sl_ctx c = {cfg, errs, 0};
    cfg->pos = root->pos;
    if (root->kind == CVAL_MAP) {
        sl_fill_obj(&c, &cfg_type_root, cfg, root, "");
        sl_check_dup_names(&c, cfg);
    } else if (root->kind != CVAL_NULL) {
        char d[80];
        sl_err(&c, root->pos, "expected a mapping at top level, got %s",
               sl_describe(root, d, sizeof(d)));
    }
    if (c.nerr) {
        cfg_free(cfg);
        return -EINVAL;
    }
    *out = cfg;
    return 0;
}

int cfg_load_file(const char *path, struct cfg **out, struct cfg_errs *errs)
{
    *out = NULL;
    struct cval *root = yaml_load_file(path, errs);
    if (!root)
        return -EINVAL;
    return cfg_load_cval(root, out, errs);
}

int cfg_load_string(const char *text, size_t len, const char *label, struct cfg **out,
                    struct cfg_errs *errs)
{
    *out = NULL;
    struct cval *root = yaml_load_string(text, len, label, errs);
    if (!root)
        return -EINVAL;
    return cfg_load_cval(root, out, errs);
}

int cfg_merge(struct cfg *dst, struct cfg *src, struct cfg_errs *errs)
{
    const struct cfg_type *rt = &cfg_type_root;
    for (size_t i = 0; i < rt->n_fields; i++) {
        const struct cfg_field *f = &rt->fields[i];
        if (f->kind == CFK_OBJS) {
            size_t sn = CFG_FIELD_COUNT(src, f);
            if (!sn)
                continue;
            void ***da = CFG_FIELD_PTR(dst, f);
            void ***sa = CFG_FIELD_PTR(src, f);
            size_t dn = CFG_FIELD_COUNT(dst, f);
            *da = xrealloc(*da, (dn + sn) * sizeof(void *));
            memcpy(*da + dn, *sa, sn * sizeof(void *));
            CFG_FIELD_COUNT(dst, f) = dn + sn;
            free(*sa);
            *sa = NULL;
            CFG_FIELD_COUNT(src, f) = 0;
        } else if (f->kind == CFK_OBJ) {
            void **d = CFG_FIELD_PTR(dst, f);
            void **s = CFG_FIELD_PTR(src, f);
            if (!*s)
                continue;
            if (*d)
                sl_free_obj(f->elem, *d);
            *d = *s;
            *s = NULL;
        }
    }
    for (size_t i = 0; i < src->n_owned_; i++)
        sl_own(dst, src->owned_[i]);
    src->n_owned_ = 0;
    if (!dst->node) {
        dst->node = src->node;
        dst->pos = src->pos;
    }
    cfg_free(src);
    struct sl_ctx c = {dst, errs, 0};
    sl_check_dup_names(&c, dst);
    return c.nerr ? -EINVAL : 0;
}

struct cval_pos cfg_pos_of(const struct cval *node, const char *key)
{
    if (!node)
        return (struct cval_pos){NULL, 0, 0};
    const struct cval *v = key ? cval_map_get_ci(node, key) : NULL;
    return v ? v->pos : node->pos;
}

struct cval_pos cfg_key_pos_of(const struct cval *node, const char *key)
{
    if (!node)
        return (struct cval_pos){NULL, 0, 0};
    if (node->kind == CVAL_MAP && key) {
        for (size_t i = 0; i < node->u.map.n; i++)
            if (strcasecmp(node->u.map.ents[i].key, key) == 0)
                return node->u.map.ents[i].key_pos;
    }
    return node->pos;
}
