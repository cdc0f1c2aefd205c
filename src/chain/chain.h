/* chain: nodes, hops and chains built from config, and the route algorithm (DESIGN §1).
 *
 * A node = address + dialer + connector (+ selection state); a hop = a group of nodes + a
 * selector; a chain = ordered hops. Built once on the main thread (chain_build.c), then shared
 * read-only by every worker; the only mutable parts are the selectors' atomic counters and the
 * nodes' atomic fail marks.
 *
 * Route (route.c): for one request pick one node per hop, dial hop 1 with its dialer, run its
 * handshake, then ask each connector to connect to the next node's address and run the next
 * dialer's handshake over that stream; the last connector connects to the target. A failure at
 * hop i marks node i failed (selector fail filter); success clears the marks of the nodes used.
 */
#ifndef GOST_CHAIN_CHAIN_H
#define GOST_CHAIN_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "chain/selector.h"
#include "config/cfg_err.h"
#include "config/types.h"
#include "core/conn.h"
#include "service/component.h"

struct node {
    char *name;
    char *addr;
    char *network; /* restricts the node to "tcp" or "udp" requests; NULL = any */
    struct dialer *dialer;
    struct connector *connector;
    struct sel_mark mark;
};

struct hop {
    char *name;
    struct node **nodes;
    struct sel_item *items; /* parallel to nodes, for the selector */
    size_t n_nodes;
    struct selector sel;
};

struct chain {
    char *name;
    struct hop **hops;
    size_t n_hops;
};

/* Where a service's handler sends its outbound connections. */
struct router {
    struct chain *chain;     /* borrowed from the build's chain table; NULL = direct */
    int64_t dial_timeout_ms; /* per dial (default 15 s, service metadata dialTimeout) */
};

/* Selection defaults shared by hops and forwarders. */
#define NODE_DEFAULT_MAX_FAILS       1
#define NODE_DEFAULT_FAIL_TIMEOUT_MS 10000

/* Build a selector from an optional config (NULL = round robin with the defaults). */
int selector_from_cfg(struct selector *s, const struct cfg_selector *c, struct cfg_errs *errs);
/* Fill a sel_item from a node's metadata (weight, backup, maxFails, failTimeout); invalid values
 * are positioned errors (-EINVAL). */
int sel_item_from_md(struct sel_item *it, struct sel_mark *mark, const struct cval *md,
                     struct cfg_errs *errs);

/* Build a chain from config. Types not compiled in are positioned errors. NULL on error. */
struct chain *chain_build(const struct cfg_chain *c, const struct cfg *root, struct cfg_errs *errs);
void chain_free(struct chain *c);

/* Pick a node of hop h for a request (hash_key may be NULL). NULL if none is available. */
struct node *hop_pick(struct hop *h, const char *network, const char *hash_key);

/* Connect to addr over network ("tcp", "udp", "unix") through the router's chain, or directly
 * when it has none. 0 and *out (owned by the caller), or -errno with fiber_err set. */
int route_dial(const struct router *r, const char *network, const char *addr, const char *hash_key,
               struct conn **out);

/* Direct connection from this host (no chain). Same contract as route_dial. */
int route_dial_direct(const char *network, const char *addr, int64_t deadline, struct conn **out);

#endif
