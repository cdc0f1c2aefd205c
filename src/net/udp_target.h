/* udp_target: where a relayed datagram goes. UDP relays (SOCKS5 UDP ASSOCIATE / UDP-TUN, UDP
 * over HTTP) receive a destination per datagram in SOCKS5 address form; IPs are used as they
 * are, domain names are resolved with a one-entry cache (a client usually talks to one name).
 * The cache is caller storage, one per relay; not shared between fibers. */
#ifndef GOST_NET_UDP_TARGET_H
#define GOST_NET_UDP_TARGET_H

#include <stdint.h>

#include "core/addr.h"
#include "proto/socks5.h"

/* Time allowed for one name resolution. */
#define UDP_TARGET_RESOLVE_TIMEOUT_MS 5000

struct udp_target_cache {
    char host[256];
    uint16_t port;
    struct gaddr addr; /* len 0 = empty */
};

/* Resolve a (must be in a fiber for domain names). 0, or -errno from addr_resolve. */
int udp_target_resolve(struct udp_target_cache *c, const struct socks5_addr *a, struct gaddr *out);

#endif
