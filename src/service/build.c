/* build: see build.h. */
#include "service/build.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/forwarder.h"
#include "config/gost_types.h"
#include "config/md.h"
#include "config/schema.h"
#include "core/sched.h"
#include "core/xmalloc.h"
#include "service/service.h"

#define DEFAULT_DIAL_TIMEOUT_MS 15000

static const struct chain *chain_find(const struct build *b, const char *name)
{
    for (size_t i = 0; i < b->n_chains; i++)
        if (strcmp(b->chains[i]->name, name) == 0)
            return b->chains[i];
    return NULL;
}

static void unsupported(struct cfg_errs *errs, const struct cval *node, const char *key,
                        const char *what)
{
    cfg_errs_add(errs, cfg_key_pos_of(node, key), "%s is not supported yet", what);
}

/* Features of the schema we parse but cannot honour yet: refusing them beats silently running
 * without a bypass or an admission list the user relies on. */
static int check_unsupported(const struct cfg_service *s, struct cfg_errs *errs)
{
    size_t before = cfg_errs_count(errs);
    const struct cval *n = s->node;
    if (s->admission || s->n_admissions)
        unsupported(errs, n, s->admission ? "admission" : "admissions", "service admission");
    if (s->bypass || s->n_bypasses)
        unsupported(errs, n, s->bypass ? "bypass" : "bypasses", "service bypass");
    if (s->resolver)
        unsupported(errs, n, "resolver", "service resolver");
    if (s->hosts)
        unsupported(errs, n, "hosts", "service hosts");
    if (s->limiter)
        unsupported(errs, n, "limiter", "service limiter");
    if (s->climiter)
        unsupported(errs, n, "climiter", "service climiter");
    if (s->rlimiter)
        unsupported(errs, n, "rlimiter", "service rlimiter");
    if (s->observer)
        unsupported(errs, n, "observer", "service observer");
    if (s->n_recorders)
        unsupported(errs, n, "recorders", "service recorders");
    if (s->n_quotas)
        unsupported(errs, n, "quotas", "service quotas");
    if (s->handler) {
        const struct cfg_handler *h = s->handler;
        if (h->chain_group)
            unsupported(errs, h->node, "chainGroup", "handler chainGroup");
        if (h->limiter)
            unsupported(errs, h->node, "limiter", "handler limiter");
        if (h->observer)
            unsupported(errs, h->node, "observer", "handler observer");
        const struct handler_type *ht = h->type ? registry_handler(h->type) : NULL;
        bool auth_ok = ht && (ht->flags & HANDLER_AUTH);
        if ((h->auth || h->auther || h->n_authers) && !auth_ok)
            unsupported(errs, h->node,
                        h->auth     ? "auth"
                        : h->auther ? "auther"
                                    : "authers",
                        "authentication on this handler");
    }
    if (s->listener) {
        const struct cfg_listener *l = s->listener;
        if (l->chain || l->chain_group)
            unsupported(errs, l->node, l->chain ? "chain" : "chainGroup", "listener chain");
        if (l->auth || l->auther || l->n_authers)
            unsupported(errs, l->node,
                        l->auth     ? "auth"
                        : l->auther ? "auther"
                                    : "authers",
                        "listener authentication");
    }
    return cfg_errs_count(errs) > before ? -EINVAL : 0;
}

static void service_free(struct service *svc);

static struct service *service_build(struct build *b, const struct cfg_service *c,
                                     struct cfg_errs *errs)
{
    static const struct cfg_listener default_listener = {.type = "tcp"};
    static const struct cfg_handler default_handler = {.type = "auto"};
    const struct cfg_listener *lc = c->listener ? c->listener : &default_listener;
    const struct cfg_handler *hc = c->handler ? c->handler : &default_handler;
    const char *lname = lc->type && *lc->type ? lc->type : "tcp";
    const char *hname = hc->type && *hc->type ? hc->type : "auto";
    const char *sname = c->name ? c->name : "";

    int bad = check_unsupported(c, errs);
    const struct listener_type *lt = registry_listener(lname);
    if (!lt) {
        registry_type_error(errs, cfg_pos_of(lc->node ? lc->node : c->node, "type"),
                            GOST_FAMILY_LISTENER, "listener", lname);
        bad = -1;
    }
    const struct handler_type *ht = registry_handler(hname);
    if (!ht) {
        registry_type_error(errs, cfg_pos_of(hc->node ? hc->node : c->node, "type"),
                            GOST_FAMILY_HANDLER, "handler", hname);
        bad = -1;
    }
    if (!c->addr || !*c->addr) {
        cfg_errs_add(errs, c->pos, "service \"%s\" has no addr", sname);
        bad = -1;
    }
    const struct chain *chain = NULL;
    bool ignore_chain = false;
    if (md_parse_bool(c->metadata, MD_KEYS("ignoreChain"), &ignore_chain, errs) == MD_INVALID)
        bad = -1;
    if (hc->chain && *hc->chain && !ignore_chain) {
        chain = chain_find(b, hc->chain);
        if (!chain) {
            cfg_errs_add(errs, cfg_pos_of(hc->node, "chain"), "chain \"%s\" not found", hc->chain);
            bad = -1;
        }
    }
    if (bad < 0)
        return NULL;

    struct service *svc = xcalloc(1, sizeof *svc);
    svc->name = xstrdup(sname);
    svc->cfg = c;
    svc->ltype = lt;
    svc->log_fields[0] = LOG_FIELD_STR("service", svc->name);
    svc->log_fields[1] = LOG_FIELD_STR("listener", lt->name);
    svc->log_fields[2] = LOG_FIELD_STR("handler", ht->name);
    svc->log_fields[3] = LOG_FIELD_STR("kind", "service");
    svc->log = (struct log_ctx){.parent = NULL, .fields = svc->log_fields, .n = 4};

    svc->router = xcalloc(1, sizeof *svc->router);
    svc->router->chain = (struct chain *)chain;
    int64_t dial_ns = 0;
    if (md_parse_duration(c->metadata, MD_KEYS("dialTimeout"), &dial_ns, errs) == MD_INVALID)
        goto fail;
    svc->router->dial_timeout_ms = dial_ns > 0 ? dial_ns / 1000000 : DEFAULT_DIAL_TIMEOUT_MS;

    if (c->forwarder) {
        svc->fwd = forwarder_build(c->forwarder, b->cfg, errs);
        if (!svc->fwd)
            goto fail;
    }

    struct handler *h = xcalloc(1, ht->size);
    h->type = ht;
    h->svc = svc;
    h->cfg = hc;
    h->root = b->cfg;
    h->router = svc->router;
    h->fwd = svc->fwd;
    h->retries = hc->retries > 0 ? (int)hc->retries : 0;
    svc->handler = h;
    if (ht->init && ht->init(h, errs) < 0)
        goto fail;

    int nw = sched_nworkers();
    svc->nlisteners = nw;
    svc->listeners = xcalloc((size_t)nw, sizeof *svc->listeners);
    svc->sessions = xcalloc((size_t)nw, sizeof *svc->sessions);
    int ninst = (lt->flags & LISTENER_PER_WORKER) ? nw : 1;
    for (int w = 0; w < ninst; w++) {
        struct listener *l = xcalloc(1, lt->size);
        l->type = lt;
        l->svc = svc;
        l->cfg = lc;
        l->root = b->cfg;
        l->addr = c->addr;
        l->svc_cfg_node = c->node;
        l->worker = w;
        svc->listeners[w] = l;
        if (lt->init && lt->init(l, errs) < 0) {
            svc->listeners[w] = NULL;
            if (lt->free)
                lt->free(l);
            free(l);
            goto fail;
        }
    }
    return svc;
fail:
    service_free(svc);
    return NULL;
}

static void service_free(struct service *svc)
{
    if (!svc)
        return;
    for (int w = 0; w < svc->nlisteners; w++) {
        struct listener *l = svc->listeners[w];
        if (!l)
            continue;
        if (l->type->free)
            l->type->free(l);
        free(l);
    }
    free(svc->listeners);
    free(svc->sessions);
    if (svc->handler) {
        if (svc->handler->type->free)
            svc->handler->type->free(svc->handler);
        free(svc->handler);
    }
    forwarder_free(svc->fwd);
    free(svc->router);
    free(svc->name);
    free(svc);
}

int build_all(const struct cfg *cfg, struct build **out, struct cfg_errs *errs)
{
    struct build *b = xcalloc(1, sizeof *b);
    b->cfg = cfg;
    size_t before = cfg_errs_count(errs);
    b->chains = xcalloc(cfg->n_chains ? cfg->n_chains : 1, sizeof *b->chains);
    for (size_t i = 0; i < cfg->n_chains; i++) {
        struct chain *ch = chain_build(cfg->chains[i], cfg, errs);
        if (ch)
            b->chains[b->n_chains++] = ch;
    }
    b->services = xcalloc(cfg->n_services ? cfg->n_services : 1, sizeof *b->services);
    for (size_t i = 0; i < cfg->n_services; i++) {
        struct service *svc = service_build(b, cfg->services[i], errs);
        if (svc)
            b->services[b->n_services++] = svc;
    }
    if (cfg_errs_count(errs) > before) {
        build_free(b);
        *out = NULL;
        return -EINVAL;
    }
    *out = b;
    return 0;
}

void build_free(struct build *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_services; i++)
        service_free(b->services[i]);
    free(b->services);
    for (size_t i = 0; i < b->n_chains; i++)
        chain_free(b->chains[i]);
    free(b->chains);
    free(b);
}
