/* forwarder: see forwarder.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chain/forwarder.h"
#include "config/schema.h"
#include "core/clock.h"
#include "core/xmalloc.h"

static int target_add(struct forwarder *f, const char *name, const char *addr, const char *network,
                      const struct cval *md, struct cfg_errs *errs)
{
    struct fwd_target *t = xcalloc(1, sizeof *t);
    t->name = xstrdup(name ? name : "");
    t->addr = xstrdup(addr);
    t->network = network && *network ? xstrdup(network) : NULL;
    f->targets[f->n] = t;
    int rc = sel_item_from_md(&f->items[f->n], &t->mark, md, errs);
    f->n++;
    return rc;
}

struct forwarder *forwarder_build(const struct cfg_forwarder *c, const struct cfg *root,
                                  struct cfg_errs *errs)
{
    const char *hop_name = c->hop ? c->hop : c->name;
    const struct cfg_hop *hop = NULL;
    if (c->n_nodes == 0 && hop_name) {
        for (size_t i = 0; root && i < root->n_hops; i++)
            if (root->hops[i]->name && strcmp(root->hops[i]->name, hop_name) == 0)
                hop = root->hops[i];
        if (!hop) {
            cfg_errs_add(errs, cfg_pos_of(c->node, c->hop ? "hop" : "name"), "hop \"%s\" not found",
                         hop_name);
            return NULL;
        }
    }
    if (c->hop_group) {
        cfg_errs_add(errs, cfg_pos_of(c->node, "hopGroup"),
                     "forwarder hopGroup is not supported yet");
        return NULL;
    }
    size_t n = hop ? hop->n_nodes : c->n_nodes;
    if (n == 0) {
        cfg_errs_add(errs, c->pos, "forwarder has no nodes");
        return NULL;
    }
    struct forwarder *f = xcalloc(1, sizeof *f);
    f->targets = xcalloc(n, sizeof *f->targets);
    f->items = xcalloc(n, sizeof *f->items);
    const struct cfg_selector *sc = c->selector ? c->selector : hop ? hop->selector : NULL;
    int bad = selector_from_cfg(&f->sel, sc, errs);
    for (size_t i = 0; i < n; i++) {
        const char *name, *addr, *network;
        const struct cval *md;
        struct cval_pos pos;
        if (hop) {
            name = hop->nodes[i]->name;
            addr = hop->nodes[i]->addr;
            network = hop->nodes[i]->network;
            md = hop->nodes[i]->metadata;
            pos = hop->nodes[i]->pos;
        } else {
            name = c->nodes[i]->name;
            addr = c->nodes[i]->addr;
            network = c->nodes[i]->network;
            md = c->nodes[i]->metadata;
            pos = c->nodes[i]->pos;
        }
        if (!addr || !*addr) {
            cfg_errs_add(errs, pos, "forward node \"%s\" has no address", name ? name : "");
            bad = -1;
            continue;
        }
        if (target_add(f, name, addr, network, md, errs) < 0)
            bad = -1;
    }
    if (bad < 0) {
        forwarder_free(f);
        return NULL;
    }
    return f;
}

void forwarder_free(struct forwarder *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->targets[i]->name);
        free(f->targets[i]->addr);
        free(f->targets[i]->network);
        free(f->targets[i]);
    }
    free(f->targets);
    free(f->items);
    free(f);
}

struct fwd_target *forwarder_pick(struct forwarder *f, const char *network, const char *hash_key)
{
    int64_t now = clock_now_ms();
    bool restricted = false;
    for (size_t i = 0; i < f->n; i++)
        if (f->targets[i]->network)
            restricted = true;
    if (!restricted) {
        int idx = selector_pick(&f->sel, f->items, f->n, hash_key, now);
        return idx < 0 ? NULL : f->targets[idx];
    }
    struct sel_item *items = xmalloc(f->n * sizeof *items);
    size_t *map = xmalloc(f->n * sizeof *map);
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++) {
        const char *tn = f->targets[i]->network;
        if (tn && network && strcmp(tn, network) != 0)
            continue;
        items[n] = f->items[i];
        map[n++] = i;
    }
    int idx = n ? selector_pick(&f->sel, items, n, hash_key, now) : -1;
    struct fwd_target *t = idx < 0 ? NULL : f->targets[map[idx]];
    free(items);
    free(map);
    return t;
}
