/* http1_md: `header` metadata maps (see http1_md.h). */
#include "proto/http1_md.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/md.h"
#include "core/xmalloc.h"

int http1_md_headers(const struct cval *md, const char *const *keys, struct http1_hdrs *out,
                     struct cfg_errs *errs)
{
    out->kv = NULL;
    out->n = 0;
    const struct cval *m = NULL;
    enum md_status st = md_parse_map(md, keys, &m, true, errs);
    if (st == MD_INVALID)
        return -EINVAL;
    if (st == MD_ABSENT || !m)
        return 0;
    size_t n = m->u.map.n;
    if (n > HTTP1_GO_MAX_HEADERS - 8) {
        cfg_errs_add(errs, m->pos, "metadata \"%s\": too many headers (%zu, at most %d)", keys[0],
                     n, HTTP1_GO_MAX_HEADERS - 8);
        return -EINVAL;
    }
    out->kv = xcalloc(n ? n : 1, sizeof *out->kv);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const struct cval_entry *e = &m->u.map.ents[i];
        const char *v = e->val && e->val->str ? e->val->str : "";
        bool ok = e->key[0] != '\0';
        for (const char *p = e->key; *p && ok; p++) {
            unsigned char c = (unsigned char)*p;
            ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 strchr("!#$%&'*+-.^_`|~", c);
        }
        if (!ok || strpbrk(v, "\r\n")) {
            cfg_errs_add(errs, e->key_pos, "metadata \"%s\": invalid header %s: %s", keys[0],
                         ok ? "value for" : "name", e->key);
            rc = -EINVAL;
            continue;
        }
        size_t kl = strlen(e->key) + 1;
        char *name = xmalloc(kl);
        http1_canonical_key(e->key, name, kl);
        out->kv[out->n].name = name;
        out->kv[out->n].value = xstrdup(v);
        out->n++;
    }
    if (rc < 0)
        http1_hdrs_free(out);
    return rc;
}

const char *http1_hdrs_get(const struct http1_hdrs *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->kv[i].name, name) == 0)
            return h->kv[i].value;
    return NULL;
}

void http1_hdrs_free(struct http1_hdrs *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free((char *)h->kv[i].name);
        free((char *)h->kv[i].value);
    }
    free(h->kv);
    h->kv = NULL;
    h->n = 0;
}
