/* route: pick one node per hop and build the connection through the chain (see chain.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "chain/chain.h"
#include "core/addr.h"
#include "core/clock.h"
#include "core/fiber.h"
#include "core/pconn.h"
#include "core/sock.h"
#include "core/xmalloc.h"

#define HOP_PICK_STACK 16

struct node *hop_pick(struct hop *h, const char *network, const char *hash_key)
{
    bool restricted = false;
    for (size_t i = 0; i < h->n_nodes; i++)
        if (h->nodes[i]->network)
            restricted = true;
    int64_t now = clock_now_ms();
    if (!restricted) {
        int idx = selector_pick(&h->sel, h->items, h->n_nodes, hash_key, now);
        return idx < 0 ? NULL : h->nodes[idx];
    }
    /* Only the nodes that serve this network take part. */
    struct sel_item stack_items[HOP_PICK_STACK];
    size_t stack_map[HOP_PICK_STACK];
    struct sel_item *items = stack_items;
    size_t *map = stack_map;
    if (h->n_nodes > HOP_PICK_STACK) {
        items = xmalloc(h->n_nodes * sizeof *items);
        map = xmalloc(h->n_nodes * sizeof *map);
    }
    size_t n = 0;
    for (size_t i = 0; i < h->n_nodes; i++) {
        const char *nn = h->nodes[i]->network;
        if (nn && network && strcmp(nn, network) != 0)
            continue;
        items[n] = h->items[i];
        map[n++] = i;
    }
    int idx = n ? selector_pick(&h->sel, items, n, hash_key, now) : -1;
    struct node *node = idx < 0 ? NULL : h->nodes[map[idx]];
    if (items != stack_items) {
        free(items);
        free(map);
    }
    return node;
}

int route_dial_direct(const char *network, const char *addr, int64_t deadline, struct conn **out)
{
    *out = NULL;
    if (strcmp(network, "unix") == 0)
        return sock_dial_unix(addr, deadline, out);
    bool udp = strncmp(network, "udp", 3) == 0;
    char host[256];
    uint16_t port;
    int rc = addr_split(addr, host, sizeof host, &port);
    if (rc < 0) {
        fiber_set_err("dial %s %s: invalid address", network, addr);
        return rc;
    }
    struct gaddr ga;
    rc = addr_resolve(host, port, udp ? SOCK_DGRAM : SOCK_STREAM, &ga, deadline);
    if (rc < 0) {
        fiber_wrap_err("dial %s %s", network, addr);
        return rc;
    }
    if (udp)
        return udp_dial(&ga, out);
    return sock_dial_tcp(&ga, deadline, out);
}

int route_dial(const struct router *r, const char *network, const char *addr, const char *hash_key,
               struct conn **out)
{
    *out = NULL;
    int64_t deadline = deadline_in(r->dial_timeout_ms);
    const struct chain *ch = r->chain;
    if (!ch || ch->n_hops == 0)
        return route_dial_direct(network, addr, deadline, out);

    struct node *stack_nodes[HOP_PICK_STACK];
    struct node **nodes = stack_nodes;
    if (ch->n_hops > HOP_PICK_STACK)
        nodes = xmalloc(ch->n_hops * sizeof *nodes);
    int rc = 0;
    size_t n = ch->n_hops;
    for (size_t i = 0; i < n; i++) {
        /* Inner hops carry a stream to the next node; only the last one sees the request's
         * network. */
        nodes[i] = hop_pick(ch->hops[i], i + 1 == n ? network : "tcp", hash_key);
        if (!nodes[i]) {
            fiber_set_err("chain %s: hop %s: no node available", ch->name, ch->hops[i]->name);
            rc = -EHOSTUNREACH;
            goto out;
        }
    }

    struct dial_opts o = {.deadline = deadline};
    struct conn *c = NULL;
    struct node *first = nodes[0];
    rc = first->dialer->type->dial(first->dialer, first->addr, &o, &c);
    if (rc == 0 && first->dialer->type->handshake)
        rc = first->dialer->type->handshake(first->dialer, c, &o, &c);
    if (rc < 0) {
        sel_mark_fail(&first->mark, clock_now_ms());
        fiber_wrap_err("node %s (%s)", first->name, first->addr);
        goto out;
    }
    for (size_t i = 1; i < n; i++) {
        struct node *prev = nodes[i - 1], *next = nodes[i];
        rc = prev->connector->type->connect(prev->connector, c, "tcp", next->addr, &o, &c);
        if (rc == 0 && next->dialer->type->handshake)
            rc = next->dialer->type->handshake(next->dialer, c, &o, &c);
        if (rc < 0) {
            sel_mark_fail(&next->mark, clock_now_ms());
            fiber_wrap_err("node %s (%s)", next->name, next->addr);
            goto out;
        }
    }
    struct node *last = nodes[n - 1];
    rc = last->connector->type->connect(last->connector, c, network, addr, &o, &c);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        sel_mark_ok(&nodes[i]->mark);
    *out = c;
out:
    if (nodes != stack_nodes)
        free(nodes);
    return rc;
}
