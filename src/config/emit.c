/* -O yaml|json emitter, driven by the schema tables (contract in emit.h). Recursion follows
 * the schema and metadata trees, both depth-bounded by the loader. */
#include "config/emit.h"
#include "core/xmalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config/emit_scalar.h"
#include "config/gotext.h"
#include "config/schema_desc.h"

extern const struct cfg_type cfg_type_chain_group_entry;

enum cfg_format cfg_format_from_name(const char *name)
{
    return name && strcmp(name, "json") == 0 ? CFG_JSON : CFG_YAML;
}

/* ---- shared helpers ----------------------------------------------------------------------- */

static bool em_is_empty(const void *obj, const struct cfg_field *f)
{
    switch (f->kind) {
    case CFK_STR: {
        const char *s = *(char *const *)CFG_FIELD_CPTR(obj, f);
        return !s || !*s;
    }
    case CFK_BOOL:
        return !*(const bool *)CFG_FIELD_CPTR(obj, f);
    case CFK_INT:
    case CFK_DUR:
        return *(const int64_t *)CFG_FIELD_CPTR(obj, f) == 0;
    case CFK_U64:
        return *(const uint64_t *)CFG_FIELD_CPTR(obj, f) == 0;
    case CFK_STRS:
    case CFK_OBJS:
        return CFG_FIELD_CCOUNT(obj, f) == 0;
    case CFK_STRMAP:
    case CFK_MD: {
        const struct cval *m = *(struct cval *const *)CFG_FIELD_CPTR(obj, f);
        return !m || m->kind != CVAL_MAP || m->u.map.n == 0;
    }
    case CFK_OBJ:
        return *(void *const *)CFG_FIELD_CPTR(obj, f) == NULL;
    }
    return true;
}

static bool em_omit(const void *obj, const struct cfg_field *f)
{
    return (f->flags & CFF_OMITEMPTY) && em_is_empty(obj, f);
}

static size_t em_visible(const struct cfg_type *t, const void *obj)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n_fields; i++)
        n += !em_omit(obj, &t->fields[i]);
    return n;
}

/* A chainGroup entry that only names a chain prints as that name. */
static const char *em_as_scalar(const struct cfg_type *t, const void *obj)
{
    if (t != &cfg_type_chain_group_entry)
        return NULL;
    const struct cfg_chain_group_entry *e = obj;
    return !e->matcher && !e->probe && e->chain ? e->chain : NULL;
}

static void em_indent(FILE *out, int n)
{
    for (int i = 0; i < n; i++)
        fputc(' ', out);
}

struct em_sorted {
    const struct cval_entry **ents;
    size_t n;
};

static int em_cmp_bytes(const void *a, const void *b)
{
    const struct cval_entry *x = *(const struct cval_entry *const *)a;
    const struct cval_entry *y = *(const struct cval_entry *const *)b;
    return strcmp(x->key, y->key);
}

static int em_cmp_yaml(const void *a, const void *b)
{
    const struct cval_entry *x = *(const struct cval_entry *const *)a;
    const struct cval_entry *y = *(const struct cval_entry *const *)b;
    return emit_yaml_key_cmp(x->key, y->key);
}

static struct em_sorted em_sort(const struct cval *m, bool yaml)
{
    struct em_sorted s = {xcalloc(m->u.map.n, sizeof(*s.ents)), m->u.map.n};
    for (size_t i = 0; i < s.n; i++)
        s.ents[i] = &m->u.map.ents[i];
    qsort(s.ents, s.n, sizeof(*s.ents), yaml ? em_cmp_yaml : em_cmp_bytes);
    return s;
}

/* ---- JSON --------------------------------------------------------------------------------- */

static void ej_obj(FILE *out, const struct cfg_type *t, const void *obj, int ind);

static void ej_cval(FILE *out, const struct cval *v, int ind)
{
    char buf[512];
    switch (v->kind) {
    case CVAL_NULL:
        fputs("null", out);
        return;
    case CVAL_BOOL:
        fputs(v->u.b ? "true" : "false", out);
        return;
    case CVAL_INT:
        fprintf(out, "%" PRId64, v->u.i);
        return;
    case CVAL_FLOAT:
        fputs(gotext_format_json_float(v->u.f, buf, sizeof(buf)) ? buf : "null", out);
        return;
    case CVAL_STR:
        emit_json_string(out, v->str ? v->str : "");
        return;
    case CVAL_LIST:
        if (!v->u.list.n) {
            fputs("[]", out);
            return;
        }
        fputc('[', out);
        for (size_t i = 0; i < v->u.list.n; i++) {
            fputs(i ? ",\n" : "\n", out);
            em_indent(out, ind + 2);
            ej_cval(out, v->u.list.items[i], ind + 2);
        }
        fputc('\n', out);
        em_indent(out, ind);
        fputc(']', out);
        return;
    case CVAL_MAP: {
        if (!v->u.map.n) {
            fputs("{}", out);
            return;
        }
        struct em_sorted s = em_sort(v, false);
        fputc('{', out);
        for (size_t i = 0; i < s.n; i++) {
            fputs(i ? ",\n" : "\n", out);
            em_indent(out, ind + 2);
            emit_json_string(out, s.ents[i]->key);
            fputs(": ", out);
            ej_cval(out, s.ents[i]->val, ind + 2);
        }
        free(s.ents);
        fputc('\n', out);
        em_indent(out, ind);
        fputc('}', out);
        return;
    }
    }
}

static void ej_field(FILE *out, const struct cfg_field *f, const void *obj, int ind)
{
    switch (f->kind) {
    case CFK_STR: {
        const char *s = *(char *const *)CFG_FIELD_CPTR(obj, f);
        emit_json_string(out, s ? s : "");
        return;
    }
    case CFK_BOOL:
        fputs(*(const bool *)CFG_FIELD_CPTR(obj, f) ? "true" : "false", out);
        return;
    case CFK_INT:
    case CFK_DUR:
        fprintf(out, "%" PRId64, *(const int64_t *)CFG_FIELD_CPTR(obj, f));
        return;
    case CFK_U64:
        fprintf(out, "%" PRIu64, *(const uint64_t *)CFG_FIELD_CPTR(obj, f));
        return;
    case CFK_STRS: {
        size_t n = CFG_FIELD_CCOUNT(obj, f);
        char *const *a = *(char *const *const *)CFG_FIELD_CPTR(obj, f);
        if (!n) {
            fputs("null", out);
            return;
        }
        fputc('[', out);
        for (size_t i = 0; i < n; i++) {
            fputs(i ? ",\n" : "\n", out);
            em_indent(out, ind + 2);
            emit_json_string(out, a[i]);
        }
        fputc('\n', out);
        em_indent(out, ind);
        fputc(']', out);
        return;
    }
    case CFK_STRMAP:
    case CFK_MD: {
        const struct cval *m = *(struct cval *const *)CFG_FIELD_CPTR(obj, f);
        if (!m)
            fputs("null", out);
        else
            ej_cval(out, m, ind);
        return;
    }
    case CFK_OBJ: {
        const void *o = *(void *const *)CFG_FIELD_CPTR(obj, f);
        if (!o)
            fputs("null", out);
        else
            ej_obj(out, f->elem, o, ind);
        return;
    }
    case CFK_OBJS: {
        size_t n = CFG_FIELD_CCOUNT(obj, f);
        void *const *a = *(void *const *const *)CFG_FIELD_CPTR(obj, f);
        if (!n) {
            fputs("null", out);
            return;
        }
        fputc('[', out);
        for (size_t i = 0; i < n; i++) {
            fputs(i ? ",\n" : "\n", out);
            em_indent(out, ind + 2);
            ej_obj(out, f->elem, a[i], ind + 2);
        }
        fputc('\n', out);
        em_indent(out, ind);
        fputc(']', out);
        return;
    }
    }
}

static void ej_obj(FILE *out, const struct cfg_type *t, const void *obj, int ind)
{
    const char *scalar = em_as_scalar(t, obj);
    if (scalar) {
        emit_json_string(out, scalar);
        return;
    }
    bool any = false;
    fputc('{', out);
    for (size_t i = 0; i < t->n_fields; i++) {
        const struct cfg_field *f = &t->fields[i];
        if (em_omit(obj, f))
            continue;
        fputs(any ? ",\n" : "\n", out);
        em_indent(out, ind + 2);
        emit_json_string(out, f->json_name ? f->json_name : f->name);
        fputs(": ", out);
        ej_field(out, f, obj, ind + 2);
        any = true;
    }
    if (any) {
        fputc('\n', out);
        em_indent(out, ind);
    }
    fputc('}', out);
}

/* ---- YAML --------------------------------------------------------------------------------- */

static void ey_cval_after_key(FILE *out, const struct cval *v, int ind);
static void ey_cval_after_dash(FILE *out, const struct cval *v, int ind);

/* Writes a scalar; returns true when the text already ended its line (literal block). */
static bool ey_scalar_cval(FILE *out, const struct cval *v, int ind)
{
    char buf[512];
    switch (v->kind) {
    case CVAL_NULL:
        fputs("null", out);
        break;
    case CVAL_BOOL:
        fputs(v->u.b ? "true" : "false", out);
        break;
    case CVAL_INT:
        fprintf(out, "%" PRId64, v->u.i);
        break;
    case CVAL_FLOAT:
        gotext_format_float(v->u.f, 'g', buf, sizeof(buf));
        if (strcmp(buf, "+Inf") == 0)
            fputs(".inf", out);
        else if (strcmp(buf, "-Inf") == 0)
            fputs("-.inf", out);
        else if (strcmp(buf, "NaN") == 0)
            fputs(".nan", out);
        else
            fputs(buf, out);
        break;
    default:
        return emit_yaml_string(out, v->str ? v->str : "", ind, false);
    }
    return false;
}

/* Writes a scalar value and terminates its line. */
static void ey_scalar_line(FILE *out, const struct cval *v, int ind)
{
    if (!ey_scalar_cval(out, v, ind))
        fputc('\n', out);
}

static void ey_key(FILE *out, const char *key, int ind, bool inline_first)
{
    if (!inline_first)
        em_indent(out, ind);
    if (emit_yaml_key_is_complex(key)) {
        fputs("? ", out);
        emit_yaml_string(out, key, ind, true);
        fputc('\n', out);
        em_indent(out, ind);
        fputc(':', out);
        return;
    }
    emit_yaml_string(out, key, ind, true);
    fputc(':', out);
}

static void ey_cval_map_body(FILE *out, const struct cval *m, int ind, bool inline_first)
{
    struct em_sorted s = em_sort(m, true);
    for (size_t i = 0; i < s.n; i++) {
        ey_key(out, s.ents[i]->key, ind, inline_first && i == 0);
        ey_cval_after_key(out, s.ents[i]->val, ind);
    }
    free(s.ents);
}

static void ey_cval_list_body(FILE *out, const struct cval *l, int ind, bool inline_first)
{
    for (size_t i = 0; i < l->u.list.n; i++) {
        if (!(inline_first && i == 0))
            em_indent(out, ind);
        fputc('-', out);
        ey_cval_after_dash(out, l->u.list.items[i], ind);
    }
}

/* A value after "key:" (nested block on the next lines) or after "-" (nested block starting on
 * the dash's line); empty collections and scalars stay on the same line either way. */
static void ey_cval_after(FILE *out, const struct cval *v, int ind, bool after_dash)
{
    char sep = after_dash ? ' ' : '\n';
    if (v->kind == CVAL_MAP && v->u.map.n) {
        fputc(sep, out);
        ey_cval_map_body(out, v, ind + 2, after_dash);
    } else if (v->kind == CVAL_LIST && v->u.list.n) {
        fputc(sep, out);
        ey_cval_list_body(out, v, ind + 2, after_dash);
    } else if (v->kind == CVAL_MAP) {
        fputs(" {}\n", out);
    } else if (v->kind == CVAL_LIST) {
        fputs(" []\n", out);
    } else {
        fputc(' ', out);
        ey_scalar_line(out, v, ind);
    }
}

static void ey_cval_after_key(FILE *out, const struct cval *v, int ind)
{
    ey_cval_after(out, v, ind, false);
}

static void ey_cval_after_dash(FILE *out, const struct cval *v, int ind)
{
    ey_cval_after(out, v, ind, true);
}

static void ey_string_line(FILE *out, const char *s, int ind)
{
    struct cval tmp = {.kind = CVAL_STR, .str = (char *)s};
    ey_scalar_line(out, &tmp, ind);
}

static void ey_obj_body(FILE *out, const struct cfg_type *t, const void *obj, int ind,
                        bool inline_first);

static void ey_obj_after_dash(FILE *out, const struct cfg_type *t, const void *obj, int ind)
{
    const char *scalar = em_as_scalar(t, obj);
    if (scalar) {
        fputc(' ', out);
        ey_string_line(out, scalar, ind);
    } else if (!em_visible(t, obj)) {
        fputs(" {}\n", out);
    } else {
        fputc(' ', out);
        ey_obj_body(out, t, obj, ind + 2, true);
    }
}

static void ey_field_after_key(FILE *out, const struct cfg_field *f, const void *obj, int ind)
{
    char buf[64];
    switch (f->kind) {
    case CFK_STR: {
        const char *s = *(char *const *)CFG_FIELD_CPTR(obj, f);
        fputc(' ', out);
        ey_string_line(out, s ? s : "", ind);
        return;
    }
    case CFK_BOOL:
        fputs(*(const bool *)CFG_FIELD_CPTR(obj, f) ? " true\n" : " false\n", out);
        return;
    case CFK_INT:
        fprintf(out, " %" PRId64 "\n", *(const int64_t *)CFG_FIELD_CPTR(obj, f));
        return;
    case CFK_U64:
        fprintf(out, " %" PRIu64 "\n", *(const uint64_t *)CFG_FIELD_CPTR(obj, f));
        return;
    case CFK_DUR:
        gotext_format_duration(*(const int64_t *)CFG_FIELD_CPTR(obj, f), buf, sizeof(buf));
        fputc(' ', out);
        ey_string_line(out, buf, ind);
        return;
    case CFK_STRS: {
        size_t n = CFG_FIELD_CCOUNT(obj, f);
        char *const *a = *(char *const *const *)CFG_FIELD_CPTR(obj, f);
        if (!n) {
            fputs(" []\n", out);
            return;
        }
        fputc('\n', out);
        for (size_t i = 0; i < n; i++) {
            em_indent(out, ind + 2);
            fputs("- ", out);
            ey_string_line(out, a[i], ind + 2);
        }
        return;
    }
    case CFK_STRMAP:
    case CFK_MD: {
        const struct cval *m = *(struct cval *const *)CFG_FIELD_CPTR(obj, f);
        if (!m)
            fputs(" null\n", out);
        else
            ey_cval_after_key(out, m, ind);
        return;
    }
    case CFK_OBJ: {
        const void *o = *(void *const *)CFG_FIELD_CPTR(obj, f);
        if (!o) {
            fputs(" null\n", out);
        } else if (!em_visible(f->elem, o)) {
            fputs(" {}\n", out);
        } else {
            fputc('\n', out);
            ey_obj_body(out, f->elem, o, ind + 2, false);
        }
        return;
    }
    case CFK_OBJS: {
        size_t n = CFG_FIELD_CCOUNT(obj, f);
        void *const *a = *(void *const *const *)CFG_FIELD_CPTR(obj, f);
        if (!n) {
            fputs(" []\n", out);
            return;
        }
        fputc('\n', out);
        for (size_t i = 0; i < n; i++) {
            em_indent(out, ind + 2);
            fputc('-', out);
            ey_obj_after_dash(out, f->elem, a[i], ind + 2);
        }
        return;
    }
    }
}

static void ey_obj_body(FILE *out, const struct cfg_type *t, const void *obj, int ind,
                        bool inline_first)
{
    bool first = true;
    for (size_t i = 0; i < t->n_fields; i++) {
        const struct cfg_field *f = &t->fields[i];
        if (em_omit(obj, f))
            continue;
        ey_key(out, f->name, ind, inline_first && first);
        ey_field_after_key(out, f, obj, ind);
        first = false;
    }
}

int cfg_emit(const struct cfg *c, FILE *out, enum cfg_format fmt)
{
    if (fmt == CFG_JSON) {
        ej_obj(out, &cfg_type_root, c, 0);
        fputc('\n', out);
    } else {
        if (em_visible(&cfg_type_root, c))
            ey_obj_body(out, &cfg_type_root, c, 0, false);
        else
            fputs("{}\n", out);
    }
    if (fflush(out) != 0 || ferror(out))
        return -EIO;
    return 0;
}
