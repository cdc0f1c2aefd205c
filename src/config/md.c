/* Metadata getters (contract in md.h). */
#include "config/md.h"
#include "core/xmalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/gotext.h"
#include "config/yaml_scalar.h"

const struct cval *md_find(const struct cval *md, const char *const *keys, const char **key_out)
{
    if (!md || md->kind != CVAL_MAP || !keys)
        return NULL;
    for (; *keys; keys++) {
        for (size_t i = 0; i < md->u.map.n; i++) {
            const struct cval_entry *e = &md->u.map.ents[i];
            if (strcasecmp(e->key, *keys) == 0 && e->val && e->val->kind != CVAL_NULL) {
                if (key_out)
                    *key_out = e->key;
                return e->val;
            }
        }
    }
    return NULL;
}

bool md_has(const struct cval *md, const char *const *keys)
{
    return md_find(md, keys, NULL) != NULL;
}

static enum md_status md_invalid(struct cfg_errs *errs, const struct cval *v, const char *key,
                                 const char *what)
{
    const char *t = cval_text(v);
    if (t)
        cfg_errs_add(errs, v->pos, "metadata \"%s\": invalid %s \"%.80s\"", key, what, t);
    else
        cfg_errs_add(errs, v->pos, "metadata \"%s\": invalid %s (got a %s)", key, what,
                     v->kind == CVAL_MAP ? "mapping" : "list");
    return MD_INVALID;
}

static bool md_is_scalar(const struct cval *v)
{
    return v->kind == CVAL_STR || v->kind == CVAL_INT || v->kind == CVAL_FLOAT ||
           v->kind == CVAL_BOOL;
}

enum md_status md_parse_str(const struct cval *md, const char *const *keys, const char **out,
                            struct cfg_errs *errs)
{
    const char *key;
    const struct cval *v = md_find(md, keys, &key);
    if (!v)
        return MD_ABSENT;
    if (!md_is_scalar(v))
        return md_invalid(errs, v, key, "string");
    *out = v->str ? v->str : "";
    return MD_OK;
}

enum md_status md_parse_bool(const struct cval *md, const char *const *keys, bool *out,
                             struct cfg_errs *errs)
{
    const char *key;
    const struct cval *v = md_find(md, keys, &key);
    if (!v)
        return MD_ABSENT;
    switch (v->kind) {
    case CVAL_BOOL:
        *out = v->u.b;
        return MD_OK;
    case CVAL_INT:
        *out = v->u.i != 0;
        return MD_OK;
    case CVAL_STR:
        if (gotext_parse_bool(v->str, out))
            return MD_OK;
        /* fall through */
    default:
        return md_invalid(errs, v, key, "bool (true/false/1/0)");
    }
}

enum md_status md_parse_int(const struct cval *md, const char *const *keys, int64_t *out,
                            struct cfg_errs *errs)
{
    const char *key;
    const struct cval *v = md_find(md, keys, &key);
    if (!v)
        return MD_ABSENT;
    switch (v->kind) {
    case CVAL_BOOL:
        *out = v->u.b;
        return MD_OK;
    case CVAL_INT:
        *out = v->u.i;
        return MD_OK;
    case CVAL_FLOAT:
        if (v->u.f >= -9223372036854775808.0 && v->u.f < 9223372036854775808.0) {
            *out = (int64_t)v->u.f;
            return MD_OK;
        }
        return md_invalid(errs, v, key, "integer");
    case CVAL_STR:
        if (gotext_atoi(v->str, out))
            return MD_OK;
        /* fall through */
    default:
        return md_invalid(errs, v, key, "integer");
    }
}

enum md_status md_parse_float(const struct cval *md, const char *const *keys, double *out,
                              struct cfg_errs *errs)
{
    const char *key;
    const struct cval *v = md_find(md, keys, &key);
    if (!v)
        return MD_ABSENT;
    switch (v->kind) {
    case CVAL_INT:
        *out = (double)v->u.i;
        return MD_OK;
    case CVAL_FLOAT:
        *out = v->u.f;
        return MD_OK;
    case CVAL_STR: {
        int64_t i;
        if (yaml_scalar_parse_float(v->str, out))
            return MD_OK;
        if (gotext_atoi(v->str, &i)) {
            *out = (double)i;
            return MD_OK;
        }
    }
        /* fall through */
    default:
        return md_invalid(errs, v, key, "number");
    }
}

static bool md_secs_to_ns(double secs, int64_t *ns)
{
    double v = secs * 1e9;
    if (!(v > -9223372036854775808.0 && v < 9223372036854775808.0))
        return false;
    *ns = (int64_t)llround(v);
    return true;
}

enum md_status md_parse_duration(const struct cval *md, const char *const *keys, int64_t *out_ns,
                                 struct cfg_errs *errs)
{
    const char *key;
    const struct cval *v = md_find(md, keys, &key);
    if (!v)
        return MD_ABSENT;
    int64_t n;
    switch (v->kind) {
    case CVAL_INT:
        if (v->u.i <= INT64_MAX / 1000000000 && v->u.i >= INT64_MIN / 1000000000) {
            *out_ns = v->u.i * 1000000000;
            return MD_OK;
        }
        break;
    case CVAL_FLOAT:
        if (md_secs_to_ns(v->u.f, out_ns))
            return MD_OK;
        break;
    case CVAL_STR:
        if (gotext_parse_duration(v->str, out_ns))
            return MD_OK;
        if (gotext_atoi(v->str, &n) && n <= INT64_MAX / 1000000000 && n >= INT64_MIN / 1000000000) {
            *out_ns = n * 1000000000;
            return MD_OK;
        }
        break;
    default:
        break;
    }
    return md_invalid(errs, v, key, "duration");
}

enum md_status md_parse_strings(const struct cval *md, const char *const *keys, char ***out,
                                size_t *n_out, struct cfg_errs *errs)
{
    const char *key;
    const struct cval *v = md_find(md, keys, &key);
    if (!v)
        return MD_ABSENT;
    char **arr = NULL;
    size_t n = 0;
    if (v->kind == CVAL_LIST) {
        for (size_t i = 0; i < v->u.list.n; i++)
            if (!md_is_scalar(v->u.list.items[i]))
                return md_invalid(errs, v->u.list.items[i], key, "list item (want a string)");
        arr = xcalloc(v->u.list.n + 1, sizeof(char *));
        for (size_t i = 0; i < v->u.list.n; i++) {
            const char *t = v->u.list.items[i]->str ? v->u.list.items[i]->str : "";
            arr[n++] = xstrndup(t, strlen(t));
        }
    } else if (md_is_scalar(v)) {
        const char *s = v->str ? v->str : "";
        size_t parts = 1;
        for (const char *p = s; *p; p++)
            parts += *p == ',';
        arr = xcalloc(parts + 1, sizeof(char *));
        const char *p = s;
        for (;;) {
            size_t len = strcspn(p, ",");
            const char *b = p, *e = p + len;
            while (b < e && (*b == ' ' || *b == '\t'))
                b++;
            while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            if (e > b)
                arr[n++] = xstrndup(b, (size_t)(e - b));
            if (!p[len])
                break;
            p += len + 1;
        }
    } else {
        return md_invalid(errs, v, key, "list of strings");
    }
    *out = arr;
    if (n_out)
        *n_out = n;
    return MD_OK;
}

enum md_status md_parse_map(const struct cval *md, const char *const *keys, const struct cval **out,
                            bool scalars_only, struct cfg_errs *errs)
{
    const char *key;
    const struct cval *v = md_find(md, keys, &key);
    if (!v)
        return MD_ABSENT;
    if (v->kind != CVAL_MAP)
        return md_invalid(errs, v, key, "mapping");
    if (scalars_only) {
        for (size_t i = 0; i < v->u.map.n; i++) {
            const struct cval *e = v->u.map.ents[i].val;
            if (e && !md_is_scalar(e) && e->kind != CVAL_NULL) {
                cfg_errs_add(errs, e->pos, "metadata \"%s\": value of \"%s\" must be a string", key,
                             v->u.map.ents[i].key);
                return MD_INVALID;
            }
        }
    }
    *out = v;
    return MD_OK;
}

void md_strings_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

const char *md_get_str(const struct cval *md, const char *const *keys, const char *def)
{
    const char *v = def;
    return md_parse_str(md, keys, &v, NULL) == MD_OK ? v : def;
}

bool md_get_bool(const struct cval *md, const char *const *keys, bool def)
{
    bool v = def;
    return md_parse_bool(md, keys, &v, NULL) == MD_OK ? v : def;
}

int64_t md_get_int(const struct cval *md, const char *const *keys, int64_t def)
{
    int64_t v = def;
    return md_parse_int(md, keys, &v, NULL) == MD_OK ? v : def;
}

double md_get_float(const struct cval *md, const char *const *keys, double def)
{
    double v = def;
    return md_parse_float(md, keys, &v, NULL) == MD_OK ? v : def;
}

int64_t md_get_duration(const struct cval *md, const char *const *keys, int64_t def_ns)
{
    int64_t v = def_ns;
    return md_parse_duration(md, keys, &v, NULL) == MD_OK ? v : def_ns;
}

char **md_get_strings(const struct cval *md, const char *const *keys, size_t *n)
{
    char **v = NULL;
    if (md_parse_strings(md, keys, &v, n, NULL) != MD_OK) {
        if (n)
            *n = 0;
        return NULL;
    }
    return v;
}

const struct cval *md_get_map(const struct cval *md, const char *const *keys)
{
    const struct cval *v = NULL;
    return md_parse_map(md, keys, &v, false, NULL) == MD_OK ? v : NULL;
}
