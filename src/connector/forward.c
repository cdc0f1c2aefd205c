/* connector forward / tcp / unix: no protocol — the stream the dialer opened IS the connection
 * to the target. `forward` is used when the next hop is a port-forwarding server (e.g. its
 * `-L tcp://:8080/target`), so the requested address is ignored: the server decides. */
#include "service/component.h"

static int passthrough_connect(struct connector *c, struct conn *in, const char *network,
                               const char *addr, const struct dial_opts *o, struct conn **out)
{
    *out = in;
    return 0;
}

const struct connector_type connector_forward = {
    .name = "forward",
    .size = sizeof(struct connector),
    .connect = passthrough_connect,
};

const struct connector_type connector_tcp = {
    .name = "tcp",
    .size = sizeof(struct connector),
    .connect = passthrough_connect,
};

const struct connector_type connector_unix = {
    .name = "unix",
    .size = sizeof(struct connector),
    .connect = passthrough_connect,
};
