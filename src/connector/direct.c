/* connector direct / virtual: connect to the target from this host, discarding the placeholder
 * conn of the direct dialer. Metadata `action: reject` refuses every request. */
#include <errno.h>
#include <string.h>

#include "chain/chain.h"
#include "config/md.h"
#include "core/fiber.h"
#include "service/component.h"

struct direct_connector {
    struct connector base;
    bool reject;
};

static int direct_init(struct connector *k, struct cfg_errs *errs)
{
    struct direct_connector *d = (struct direct_connector *)k;
    const char *action = md_get_str(k->cfg ? k->cfg->metadata : NULL, MD_KEYS("action"), "");
    d->reject = strcmp(action, "reject") == 0;
    return 0;
}

static int direct_connect(struct connector *k, struct conn *in, const char *network,
                          const char *addr, const struct dial_opts *o, struct conn **out)
{
    struct direct_connector *d = (struct direct_connector *)k;
    conn_close(in);
    *out = NULL;
    if (d->reject) {
        fiber_set_err("connect %s %s: rejected by virtual node", network, addr);
        return -ECONNREFUSED;
    }
    return route_dial_direct(network, addr, o->deadline, out);
}

const struct connector_type connector_direct = {
    .name = "direct",
    .size = sizeof(struct direct_connector),
    .init = direct_init,
    .connect = direct_connect,
};

const struct connector_type connector_virtual = {
    .name = "virtual",
    .size = sizeof(struct direct_connector),
    .init = direct_init,
    .connect = direct_connect,
};
