/* dialer tcp (the default), udp and unix: open the transport to a node address. */
#include <errno.h>
#include <string.h>

#include "chain/chain.h"
#include "core/fiber.h"
#include "service/component.h"

static int tcp_dial(struct dialer *d, const char *addr, const struct dial_opts *o,
                    struct conn **out)
{
    return route_dial_direct("tcp", addr, o->deadline, out);
}

static int udp_dial_node(struct dialer *d, const char *addr, const struct dial_opts *o,
                         struct conn **out)
{
    return route_dial_direct("udp", addr, o->deadline, out);
}

static int unix_dial(struct dialer *d, const char *addr, const struct dial_opts *o,
                     struct conn **out)
{
    return route_dial_direct("unix", addr, o->deadline, out);
}

const struct dialer_type dialer_tcp = {
    .name = "tcp",
    .size = sizeof(struct dialer),
    .dial = tcp_dial,
};

const struct dialer_type dialer_udp = {
    .name = "udp",
    .size = sizeof(struct dialer),
    .flags = DIALER_DGRAM,
    .dial = udp_dial_node,
};

const struct dialer_type dialer_unix = {
    .name = "unix",
    .size = sizeof(struct dialer),
    .dial = unix_dial,
};
