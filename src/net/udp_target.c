/* udp_target: see udp_target.h. */
#include "net/udp_target.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h"

int udp_target_resolve(struct udp_target_cache *c, const struct socks5_addr *a, struct gaddr *out)
{
    if (a->atyp != SOCKS5_ATYP_DOMAIN)
        return socks5_addr_to_gaddr(a, out);
    if (c->addr.len && c->port == a->port && strcmp(c->host, a->host) == 0) {
        *out = c->addr;
        return 0;
    }
    int rc =
        addr_resolve(a->host, a->port, SOCK_DGRAM, out, deadline_in(UDP_TARGET_RESOLVE_TIMEOUT_MS));
    if (rc < 0)
        return rc;
    snprintf(c->host, sizeof c->host, "%s", a->host);
    c->port = a->port;
    c->addr = *out;
    return 0;
}
