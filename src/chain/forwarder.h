/* forwarder: the fixed targets of a port-forwarding service (GOST `forwarder`), a node group
 * with a selector. Nodes come from forwarder.nodes, or from a top-level hop named by
 * forwarder.hop (deprecated spelling: forwarder.name). Built on the main thread; shared
 * read-only by the workers (selection state is atomic). */
#ifndef GOST_CHAIN_FORWARDER_H
#define GOST_CHAIN_FORWARDER_H

#include "chain/chain.h"

struct fwd_target {
    char *name;
    char *addr;
    char *network; /* NULL = any */
    struct sel_mark mark;
};

struct forwarder {
    struct fwd_target **targets;
    struct sel_item *items;
    size_t n;
    struct selector sel;
};

/* NULL with errors added when the config is unusable. */
struct forwarder *forwarder_build(const struct cfg_forwarder *c, const struct cfg *root,
                                  struct cfg_errs *errs);
void forwarder_free(struct forwarder *f);

/* Pick a target for a request over network ("tcp"/"udp"); NULL if none is available. */
struct fwd_target *forwarder_pick(struct forwarder *f, const char *network, const char *hash_key);

#endif
