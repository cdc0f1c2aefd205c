/* chain_build: config → nodes, hops, chains (see chain.h). Main thread only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "config/gost_types.h"
#include "config/md.h"
#include "config/schema.h"
#include "core/xmalloc.h"

int selector_from_cfg(struct selector *s, const struct cfg_selector *c, struct cfg_errs *errs)
{
    char err[256];
    const char *strategy = c ? c->strategy : NULL;
    int max_fails = NODE_DEFAULT_MAX_FAILS;
    int64_t fail_timeout_ms = NODE_DEFAULT_FAIL_TIMEOUT_MS;
    if (c && c->max_fails > 0)
        max_fails = (int)c->max_fails;
    if (c && c->fail_timeout > 0)
        fail_timeout_ms = c->fail_timeout / 1000000;
    if (selector_init(s, strategy, max_fails, fail_timeout_ms, err, sizeof err) < 0) {
        cfg_errs_add(errs, cfg_pos_of(c ? c->node : NULL, "strategy"), "%s", err);
        return -EINVAL;
    }
    return 0;
}

int sel_item_from_md(struct sel_item *it, struct sel_mark *mark, const struct cval *md,
                     struct cfg_errs *errs)
{
    memset(it, 0, sizeof *it);
    it->mark = mark;
    int64_t weight = 1, max_fails = 0, fail_timeout = 0;
    bool backup = false;
    int bad = 0;
    bad |= md_parse_int(md, MD_KEYS("weight"), &weight, errs) == MD_INVALID;
    bad |= md_parse_bool(md, MD_KEYS("backup"), &backup, errs) == MD_INVALID;
    bad |= md_parse_int(md, MD_KEYS("maxFails", "max_fails"), &max_fails, errs) == MD_INVALID;
    bad |= md_parse_duration(md, MD_KEYS("failTimeout", "fail_timeout"), &fail_timeout, errs) ==
           MD_INVALID;
    it->weight = weight > 0 && weight < 1000000 ? (int)weight : 1;
    it->backup = backup;
    it->max_fails = max_fails > 0 && max_fails < 1000000 ? (int)max_fails : 0;
    it->fail_timeout_ms = fail_timeout > 0 ? fail_timeout / 1000000 : 0;
    return bad ? -EINVAL : 0;
}

static struct dialer *dialer_build(const struct cfg_dialer *c, const char *addr,
                                   const struct cfg *root, struct cfg_errs *errs)
{
    const char *name = c && c->type && *c->type ? c->type : "tcp";
    const struct dialer_type *t = registry_dialer(name);
    if (!t) {
        registry_type_error(errs, cfg_pos_of(c ? c->node : NULL, "type"), GOST_FAMILY_DIALER,
                            "dialer", name);
        return NULL;
    }
    struct dialer *d = xcalloc(1, t->size);
    d->type = t;
    d->cfg = c;
    d->node_addr = addr;
    d->root = root;
    if (t->init && t->init(d, errs) < 0) {
        free(d);
        return NULL;
    }
    return d;
}

static void dialer_free(struct dialer *d)
{
    if (!d)
        return;
    if (d->type->free)
        d->type->free(d);
    free(d);
}

static struct connector *connector_build(const struct cfg_connector *c, const struct cfg *root,
                                         struct cfg_errs *errs)
{
    const char *name = c && c->type && *c->type ? c->type : "http";
    const struct connector_type *t = registry_connector(name);
    if (!t) {
        registry_type_error(errs, cfg_pos_of(c ? c->node : NULL, "type"), GOST_FAMILY_CONNECTOR,
                            "connector", name);
        return NULL;
    }
    struct connector *k = xcalloc(1, t->size);
    k->type = t;
    k->cfg = c;
    k->root = root;
    if (t->init && t->init(k, errs) < 0) {
        free(k);
        return NULL;
    }
    return k;
}

static void connector_free(struct connector *k)
{
    if (!k)
        return;
    if (k->type->free)
        k->type->free(k);
    free(k);
}

static void node_free(struct node *n)
{
    if (!n)
        return;
    dialer_free(n->dialer);
    connector_free(n->connector);
    free(n->name);
    free(n->addr);
    free(n->network);
    free(n);
}

static struct node *node_build(const struct cfg_node *c, const struct cfg *root,
                               struct cfg_errs *errs)
{
    struct node *n = xcalloc(1, sizeof *n);
    n->name = xstrdup(c->name ? c->name : "");
    n->addr = xstrdup(c->addr ? c->addr : "");
    n->network = c->network && *c->network ? xstrdup(c->network) : NULL;
    n->connector = connector_build(c->connector, root, errs);
    n->dialer = dialer_build(c->dialer, n->addr, root, errs);
    if (!n->connector || !n->dialer) {
        node_free(n);
        return NULL;
    }
    if (!*n->addr && !(n->dialer->type->flags & DIALER_NOOP)) {
        cfg_errs_add(errs, c->pos, "node \"%s\" has no address", n->name);
        node_free(n);
        return NULL;
    }
    return n;
}

static void hop_free(struct hop *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n_nodes; i++)
        node_free(h->nodes[i]);
    free(h->nodes);
    free(h->items);
    free(h->name);
    free(h);
}

static const struct cfg_hop *hop_resolve(const struct cfg_hop *c, const struct cfg *root,
                                         struct cfg_errs *errs)
{
    if (c->n_nodes > 0 || c->plugin || c->file || c->redis || c->http)
        return c;
    if (!c->name) {
        cfg_errs_add(errs, c->pos, "hop has neither nodes nor a name");
        return NULL;
    }
    for (size_t i = 0; root && i < root->n_hops; i++)
        if (root->hops[i]->name && strcmp(root->hops[i]->name, c->name) == 0)
            return root->hops[i];
    cfg_errs_add(errs, cfg_pos_of(c->node, "name"), "hop \"%s\" not found", c->name);
    return NULL;
}

static struct hop *hop_build(const struct cfg_hop *in, const struct cfg *root,
                             struct cfg_errs *errs)
{
    const struct cfg_hop *c = hop_resolve(in, root, errs);
    if (!c)
        return NULL;
    if (c->plugin || c->file || c->redis || c->http) {
        cfg_errs_add(errs, c->pos,
                     "hop \"%s\": node sources (plugin, file, redis, http) are "
                     "not supported yet",
                     c->name ? c->name : "");
        return NULL;
    }
    if (c->n_nodes == 0) {
        cfg_errs_add(errs, c->pos, "hop \"%s\" has no nodes", c->name ? c->name : "");
        return NULL;
    }
    struct hop *h = xcalloc(1, sizeof *h);
    h->name = xstrdup(c->name ? c->name : "");
    h->nodes = xcalloc(c->n_nodes, sizeof *h->nodes);
    h->items = xcalloc(c->n_nodes, sizeof *h->items);
    int bad = selector_from_cfg(&h->sel, c->selector, errs);
    for (size_t i = 0; i < c->n_nodes; i++) {
        struct node *n = node_build(c->nodes[i], root, errs);
        if (!n) {
            bad = -1;
            continue;
        }
        h->nodes[h->n_nodes] = n;
        if (sel_item_from_md(&h->items[h->n_nodes], &n->mark, c->nodes[i]->metadata, errs) < 0)
            bad = -1;
        h->n_nodes++;
    }
    if (bad < 0) {
        hop_free(h);
        return NULL;
    }
    return h;
}

struct chain *chain_build(const struct cfg_chain *c, const struct cfg *root, struct cfg_errs *errs)
{
    struct chain *ch = xcalloc(1, sizeof *ch);
    ch->name = xstrdup(c->name ? c->name : "");
    ch->hops = xcalloc(c->n_hops ? c->n_hops : 1, sizeof *ch->hops);
    int bad = 0;
    for (size_t i = 0; i < c->n_hops; i++) {
        struct hop *h = hop_build(c->hops[i], root, errs);
        if (!h) {
            bad = 1;
            continue;
        }
        ch->hops[ch->n_hops++] = h;
    }
    if (bad) {
        chain_free(ch);
        return NULL;
    }
    return ch;
}

void chain_free(struct chain *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_hops; i++)
        hop_free(c->hops[i]);
    free(c->hops);
    free(c->name);
    free(c);
}
