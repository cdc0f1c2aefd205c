/* YAML/JSON → cval tree over libfyaml's event parser (contract in yaml_load.h).
 *
 * The tree is built iteratively from parser events with an explicit stack bounded by
 * YAML_LOAD_MAX_DEPTH, so no recursion depends on the input except cval_dup()/cval_free() on
 * subtrees that are themselves bounded by the depth limit.
 */
#include "config/yaml_load.h"
#include "core/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <libfyaml.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/yaml_scalar.h"
#include "config/yaml_text.h"

#define YL_MAX_SCALAR_BYTES (64u << 20) /* total scalar bytes, alias copies included */

struct yl_frame {
    struct cval *v; /* MAP or LIST under construction (owned until attached) */
    char *anchor;   /* anchor to register when the node closes (owned) */
    bool have_key;
    bool key_merge;
    char *key;
    struct cval_pos key_pos;
    struct cval **merges; /* `<<` sources, applied at mapping end (owned) */
    size_t n_merges, cap_merges;
};

struct yl_anchor {
    char *name;
    struct cval *copy; /* private copy of the anchored node */
    int height;        /* collection levels inside the node (scalar = 0) */
};

struct yl_ctx {
    const char *file;
    const char *text; /* the source (token marks index into it) */
    size_t len;
    struct cfg_errs *errs;
    bool failed;
    struct yl_frame stack[YAML_LOAD_MAX_DEPTH + 1];
    int sp;
    struct yl_anchor *anchors;
    size_t n_anchors, cap_anchors;
    size_t n_nodes;
    size_t n_bytes;
    int docs;
    struct cval *root;
};

static struct cval_pos yl_pos(struct yl_ctx *c, const struct fy_mark *m)
{
    struct cval_pos p = {c->file, 1, 1};
    if (m) {
        p.line = m->line + 1;
        p.col = m->column + 1;
    }
    return p;
}

static void yl_fail(struct yl_ctx *c, struct cval_pos pos, const char *fmt, const char *arg)
{
    if (c->failed)
        return;
    c->failed = true;
    cfg_errs_add(c->errs, pos, fmt, arg);
}

/* Counts nodes and collection height of a subtree (bounded by the depth limit). */
static void yl_measure(const struct cval *v, size_t *nodes, size_t *bytes, int *height)
{
    *nodes += 1;
    if (v->str)
        *bytes += strlen(v->str);
    int h = 0;
    if (v->kind == CVAL_LIST) {
        for (size_t i = 0; i < v->u.list.n; i++) {
            int sub = 0;
            yl_measure(v->u.list.items[i], nodes, bytes, &sub);
            if (sub > h)
                h = sub;
        }
        h += 1;
    } else if (v->kind == CVAL_MAP) {
        for (size_t i = 0; i < v->u.map.n; i++) {
            int sub = 0;
            yl_measure(v->u.map.ents[i].val, nodes, bytes, &sub);
            if (sub > h)
                h = sub;
        }
        h += 1;
    }
    *height = h;
}

static bool yl_account(struct yl_ctx *c, size_t nodes, size_t bytes, struct cval_pos pos)
{
    c->n_nodes += nodes;
    c->n_bytes += bytes;
    if (c->n_nodes > YAML_LOAD_MAX_NODES) {
        yl_fail(c, pos, "document too large: more than %s nodes (alias expansion?)", "1048576");
        return false;
    }
    if (c->n_bytes > YL_MAX_SCALAR_BYTES) {
        yl_fail(c, pos, "document too large: more than %s of scalar text (alias expansion?)",
                "64 MiB");
        return false;
    }
    return true;
}

static void yl_register_anchor(struct yl_ctx *c, char *name, const struct cval *v)
{
    size_t nodes = 0, bytes = 0;
    int height = 0;
    yl_measure(v, &nodes, &bytes, &height);
    if (c->n_anchors == c->cap_anchors) {
        c->cap_anchors = c->cap_anchors ? c->cap_anchors * 2 : 8;
        c->anchors = xrealloc(c->anchors, c->cap_anchors * sizeof(*c->anchors));
    }
    struct yl_anchor *a = &c->anchors[c->n_anchors++];
    a->name = name;
    a->copy = cval_dup(v);
    a->height = height;
}

static const struct yl_anchor *yl_find_anchor(const struct yl_ctx *c, const char *name)
{
    for (size_t i = c->n_anchors; i > 0; i--)
        if (strcmp(c->anchors[i - 1].name, name) == 0)
            return &c->anchors[i - 1];
    return NULL;
}

static void yl_frame_add_merge(struct yl_frame *f, struct cval *src)
{
    if (f->n_merges == f->cap_merges) {
        f->cap_merges = f->cap_merges ? f->cap_merges * 2 : 2;
        f->merges = xrealloc(f->merges, f->cap_merges * sizeof(*f->merges));
    }
    f->merges[f->n_merges++] = src;
}

/* Attaches a finished value (consumed) to the open container, or makes it the root. */
static void yl_attach(struct yl_ctx *c, struct cval *v)
{
    if (c->sp == 0) {
        cval_free(c->root);
        c->root = v;
        return;
    }
    struct yl_frame *f = &c->stack[c->sp - 1];
    if (f->v->kind == CVAL_LIST) {
        cval_list_push(f->v, v);
        return;
    }
    /* mapping value */
    f->have_key = false;
    char *key = f->key;
    f->key = NULL;
    if (f->key_merge) {
        f->key_merge = false;
        if (v->kind == CVAL_MAP) {
            yl_frame_add_merge(f, v);
        } else if (v->kind == CVAL_LIST) {
            for (size_t i = 0; i < v->u.list.n; i++) {
                if (v->u.list.items[i]->kind != CVAL_MAP) {
                    yl_fail(c, v->u.list.items[i]->pos, "%s",
                            "merge key \"<<\" needs a mapping or a list of mappings");
                    break;
                }
            }
            if (!c->failed) {
                for (size_t i = 0; i < v->u.list.n; i++)
                    yl_frame_add_merge(f, v->u.list.items[i]);
                v->u.list.n = 0;
            }
            cval_free(v);
        } else {
            yl_fail(c, v->pos, "%s", "merge key \"<<\" needs a mapping or a list of mappings");
            cval_free(v);
        }
        free(key);
        return;
    }
    for (size_t i = 0; i < f->v->u.map.n; i++) {
        const struct cval_entry *e = &f->v->u.map.ents[i];
        if (strcmp(e->key, key) == 0) {
            char msg[64];
            snprintf(msg, sizeof(msg), "%d:%d", e->key_pos.line, e->key_pos.col);
            if (!c->failed) {
                c->failed = true;
                cfg_errs_add(c->errs, f->key_pos, "duplicate key \"%s\" (first defined at %s)", key,
                             msg);
            }
            free(key);
            cval_free(v);
            return;
        }
    }
    cval_map_set(f->v, key, f->key_pos, v);
    free(key);
}

static void yl_apply_merges(struct yl_frame *f)
{
    for (size_t m = 0; m < f->n_merges; m++) {
        struct cval *src = f->merges[m];
        for (size_t i = 0; i < src->u.map.n; i++) {
            struct cval_entry *e = &src->u.map.ents[i];
            if (!e->val || cval_map_get(f->v, e->key))
                continue;
            cval_map_set(f->v, e->key, e->key_pos, e->val);
            e->val = NULL;
        }
        cval_free(src);
    }
    free(f->merges);
    f->merges = NULL;
    f->n_merges = f->cap_merges = 0;
}

static void yl_frame_clear(struct yl_frame *f)
{
    cval_free(f->v);
    free(f->anchor);
    free(f->key);
    for (size_t i = 0; i < f->n_merges; i++)
        cval_free(f->merges[i]);
    free(f->merges);
    memset(f, 0, sizeof(*f));
}

static char *yl_token_dup(struct fy_token *t)
{
    return yaml_text_token(t, NULL);
}

static bool yl_in_key_slot(const struct yl_ctx *c)
{
    if (c->sp == 0)
        return false;
    const struct yl_frame *f = &c->stack[c->sp - 1];
    return f->v->kind == CVAL_MAP && !f->have_key;
}

static void yl_set_key(struct yl_ctx *c, const char *text, struct cval_pos pos, bool merge)
{
    struct yl_frame *f = &c->stack[c->sp - 1];
    f->have_key = true;
    f->key_merge = merge;
    f->key = xstrndup(text, strlen(text));
    f->key_pos = pos;
}

static void yl_on_scalar_text(struct yl_ctx *c, struct fy_event *e, const char *text, size_t len)
{
    struct fy_token *val = e->scalar.value;
    enum fy_scalar_style style = val ? fy_token_scalar_style(val) : FYSS_PLAIN;
    struct cval_pos pos = yl_pos(c, fy_event_start_mark(e));
    if ((style == FYSS_SINGLE_QUOTED || style == FYSS_DOUBLE_QUOTED) && pos.col > 1)
        pos.col--; /* point at the opening quote, like yaml.v3 */
    if (memchr(text, '\0', len)) {
        yl_fail(c, pos, "%s", "NUL character in a string is not supported");
        return;
    }
    if (!yl_account(c, 1, len, pos))
        return;

    char *tag = yl_token_dup(e->scalar.tag);
    bool str_tag = tag && strcmp(tag, "tag:yaml.org,2002:str") == 0;
    free(tag);

    if (yl_in_key_slot(c)) {
        char *k = xstrndup(text, len);
        bool merge = style == FYSS_PLAIN && !str_tag && strcmp(k, "<<") == 0;
        yl_set_key(c, k, pos, merge);
        free(k);
        char *anchor = yl_token_dup(e->scalar.anchor);
        if (anchor) {
            struct cval *kv = cval_new_str(c->stack[c->sp - 1].key, pos);
            yl_register_anchor(c, anchor, kv);
            cval_free(kv);
        }
        return;
    }

    struct cval *v = cval_new(CVAL_STR, pos);
    v->str = xstrndup(text, len);
    if (style == FYSS_PLAIN && !str_tag) {
        struct yaml_scalar r = yaml_scalar_resolve(text, len);
        v->kind = r.kind;
        if (r.kind == CVAL_BOOL)
            v->u.b = r.b;
        else if (r.kind == CVAL_INT)
            v->u.i = r.i;
        else if (r.kind == CVAL_FLOAT)
            v->u.f = r.f;
        if (r.kind == CVAL_NULL) {
            free(v->str);
            v->str = NULL;
        }
    }
    char *anchor = yl_token_dup(e->scalar.anchor);
    if (anchor)
        yl_register_anchor(c, anchor, v);
    yl_attach(c, v);
}

static void yl_on_scalar(struct yl_ctx *c, struct fy_event *e)
{
    size_t len = 0;
    char *text = yaml_text_scalar(e->scalar.value, c->text, c->len, &len);
    yl_on_scalar_text(c, e, text ? text : "", len);
    free(text);
}

static void yl_on_start(struct yl_ctx *c, struct fy_event *e, enum cval_kind kind)
{
    struct cval_pos pos = yl_pos(c, fy_event_start_mark(e));
    if (yl_in_key_slot(c)) {
        yl_fail(c, pos, "%s", "mapping keys must be scalars");
        return;
    }
    if (c->sp >= YAML_LOAD_MAX_DEPTH) {
        yl_fail(c, pos, "nesting deeper than %s levels", "64");
        return;
    }
    if (!yl_account(c, 1, 0, pos))
        return;
    struct fy_token *anchor_tok =
        kind == CVAL_MAP ? e->mapping_start.anchor : e->sequence_start.anchor;
    struct yl_frame *f = &c->stack[c->sp++];
    memset(f, 0, sizeof(*f));
    f->v = cval_new(kind, pos);
    f->anchor = yl_token_dup(anchor_tok);
}

static void yl_on_end(struct yl_ctx *c)
{
    if (c->sp == 0)
        return;
    struct yl_frame *f = &c->stack[c->sp - 1];
    if (f->v->kind == CVAL_MAP)
        yl_apply_merges(f);
    struct cval *v = f->v;
    char *anchor = f->anchor;
    f->v = NULL;
    f->anchor = NULL;
    yl_frame_clear(f);
    c->sp--;
    if (anchor)
        yl_register_anchor(c, anchor, v);
    yl_attach(c, v);
}

static void yl_on_alias(struct yl_ctx *c, struct fy_event *e)
{
    struct cval_pos pos = yl_pos(c, fy_event_start_mark(e));
    if (pos.col > 1)
        pos.col--; /* the mark is on the name; point at the '*' */
    char *name = yl_token_dup(e->alias.anchor);
    const struct yl_anchor *a = name ? yl_find_anchor(c, name) : NULL;
    if (!a) {
        yl_fail(c, pos, "unknown anchor \"%s\"", name ? name : "");
        free(name);
        return;
    }
    free(name);
    if (yl_in_key_slot(c)) {
        if (a->copy->kind == CVAL_LIST || a->copy->kind == CVAL_MAP) {
            yl_fail(c, pos, "%s", "mapping keys must be scalars");
            return;
        }
        const char *k = a->copy->str ? a->copy->str : "";
        yl_set_key(c, k, pos, false);
        return;
    }
    if (c->sp + a->height > YAML_LOAD_MAX_DEPTH) {
        yl_fail(c, pos, "nesting deeper than %s levels (through an alias)", "64");
        return;
    }
    size_t nodes = 0, bytes = 0;
    int h = 0;
    yl_measure(a->copy, &nodes, &bytes, &h);
    if (!yl_account(c, nodes, bytes, pos))
        return;
    struct cval *v = cval_dup(a->copy);
    v->pos = pos;
    yl_attach(c, v);
}

/* libfyaml diagnostics are collected (never formatted or printed) in a diag object we own; the
 * first error becomes our positioned error. Both halves matter with libfyaml 0.7.12: formatting
 * a diagnostic's source context can crash on long runs of tabs, and errors collected by the
 * parser's own diag object keep tokens alive and leak. */
static void yl_diag_out(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
    (void)diag;
    (void)user;
    (void)buf;
    (void)len;
}

static void yl_report_diag(struct yl_ctx *c, struct fy_diag *diag, struct cval_pos fallback)
{
    struct cval_pos pos = fallback;
    const char *msg = "invalid YAML";
    void *it = NULL;
    struct fy_diag_error *de;
    while ((de = fy_diag_errors_iterate(diag, &it)) != NULL) {
        if (de->type < FYET_ERROR)
            continue;
        if (de->line > 0) {
            pos.line = de->line;
            pos.col = de->column > 0 ? de->column : 1;
        }
        if (de->msg && *de->msg)
            msg = de->msg;
        break;
    }
    if (pos.line <= 0)
        pos.line = 1;
    if (pos.col <= 0)
        pos.col = 1;
    c->failed = true;
    cfg_errs_add(c->errs, pos, "%.200s", msg);
}

static void yl_ctx_clear(struct yl_ctx *c)
{
    while (c->sp > 0)
        yl_frame_clear(&c->stack[--c->sp]);
    for (size_t i = 0; i < c->n_anchors; i++) {
        free(c->anchors[i].name);
        cval_free(c->anchors[i].copy);
    }
    free(c->anchors);
    c->anchors = NULL;
    c->n_anchors = c->cap_anchors = 0;
    cval_free(c->root);
    c->root = NULL;
}

/* One parse attempt. Returns the tree or NULL; errors go to `errs` (may be a scratch list). */
static struct cval *yl_parse(const char *text, size_t len, const char *file, bool json,
                             struct cfg_errs *errs)
{
    struct yl_ctx *c = xcalloc(1, sizeof(*c));
    c->file = file;
    c->text = text;
    c->len = len;
    c->errs = errs;

    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = yl_diag_out;
    dcfg.user = NULL;
    dcfg.colorize = false;
    struct fy_diag *diag = fy_diag_create(&dcfg);
    if (diag)
        fy_diag_set_collect_errors(diag, true);
    struct fy_parse_cfg pcfg = {0};
    pcfg.flags = FYPCF_QUIET | (json ? FYPCF_JSON_FORCE : FYPCF_JSON_NONE);
    pcfg.diag = diag;
    struct fy_parser *p = diag ? fy_parser_create(&pcfg) : NULL;
    if (!p || fy_parser_set_string(p, text, len) != 0) {
        cfg_errs_add(errs, (struct cval_pos){file, 1, 1}, "cannot create the YAML parser");
        if (p)
            fy_parser_destroy(p);
        if (diag)
            fy_diag_destroy(diag);
        free(c);
        return NULL;
    }

    struct cval_pos last = {file, 1, 1};
    struct fy_event *e;
    while (!c->failed && (e = fy_parser_parse(p)) != NULL) {
        const struct fy_mark *m = fy_event_start_mark(e);
        if (m)
            last = yl_pos(c, m);
        switch (e->type) {
        case FYET_DOCUMENT_START:
            if (++c->docs > 1)
                yl_fail(c, last, "%s", "more than one YAML document in one source");
            break;
        case FYET_SCALAR:
            yl_on_scalar(c, e);
            break;
        case FYET_MAPPING_START:
            yl_on_start(c, e, CVAL_MAP);
            break;
        case FYET_SEQUENCE_START:
            yl_on_start(c, e, CVAL_LIST);
            break;
        case FYET_MAPPING_END:
        case FYET_SEQUENCE_END:
            yl_on_end(c);
            break;
        case FYET_ALIAS:
            yl_on_alias(c, e);
            break;
        default:
            break;
        }
        fy_parser_event_free(p, e);
    }
    if (!c->failed && fy_parser_get_stream_error(p))
        yl_report_diag(c, diag, last);

    struct cval *root = NULL;
    if (!c->failed) {
        root = c->root ? c->root : cval_new(CVAL_NULL, (struct cval_pos){file, 1, 1});
        c->root = NULL;
    }
    fy_parser_destroy(p);
    fy_diag_destroy(diag);
    yl_ctx_clear(c);
    free(c);
    return root;
}

static bool yl_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

struct cval *yaml_load_string(const char *text, size_t len, const char *label,
                              struct cfg_errs *errs)
{
    const char *file = cval_intern(label ? label : "<string>");
    if (len > YAML_LOAD_MAX_BYTES) {
        cfg_errs_add(errs, (struct cval_pos){file, 1, 1}, "config too large: %zu bytes (limit %u)",
                     len, YAML_LOAD_MAX_BYTES);
        return NULL;
    }
    if (!yaml_text_check(text, len, file, errs))
        return NULL;
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
        i++;
    bool looks_json = i < len && (text[i] == '{' || text[i] == '[');
    bool json_name = yl_ends_with(file, ".json");

    /* JSON is YAML flow; JSON mode is the fallback for JSON that YAML mode rejects (and the
     * first choice for *.json, whose errors then read as JSON errors). */
    bool first_json = json_name;
    struct cfg_errs first_errs;
    cfg_errs_init(&first_errs);
    struct cval *v = yl_parse(text, len, file, first_json, &first_errs);
    if (!v && (looks_json || json_name)) {
        struct cfg_errs second;
        cfg_errs_init(&second);
        v = yl_parse(text, len, file, !first_json, &second);
        cfg_errs_free(&second);
    }
    if (!v) {
        for (size_t k = 0; k < first_errs.n; k++)
            cfg_errs_add(errs, first_errs.items[k].pos, "%s", first_errs.items[k].msg);
    }
    cfg_errs_free(&first_errs);
    return v;
}

struct cval *yaml_load_file(const char *path, struct cfg_errs *errs)
{
    const char *file = cval_intern(path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cfg_errs_add(errs, (struct cval_pos){file, 0, 0}, "cannot open: %s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        cfg_errs_add(errs, (struct cval_pos){file, 0, 0}, "is a directory");
        return NULL;
    }
    size_t cap = 64 * 1024, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (len == cap) {
            if (cap > YAML_LOAD_MAX_BYTES) {
                free(buf);
                close(fd);
                cfg_errs_add(errs, (struct cval_pos){file, 0, 0},
                             "config too large (limit %u bytes)", YAML_LOAD_MAX_BYTES);
                return NULL;
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            free(buf);
            close(fd);
            cfg_errs_add(errs, (struct cval_pos){file, 0, 0}, "cannot read: %s", strerror(err));
            return NULL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    struct cval *v = yaml_load_string(buf, len, path, errs);
    free(buf);
    return v;
}
