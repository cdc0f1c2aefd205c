/* dialer direct / virtual: no transport at all. dial() returns a placeholder conn that the
 * direct connector discards before dialing the target from this host (GOST's "virtual node",
 * used for multi-egress balancing). */
#include <errno.h>
#include <stdlib.h>

#include "core/xmalloc.h"
#include "service/component.h"

static ssize_t null_read(struct conn *c, void *buf, size_t n)
{
    return 0;
}

static ssize_t null_write(struct conn *c, const void *buf, size_t n)
{
    return -EPIPE;
}

static int null_shutdown(struct conn *c)
{
    return 0;
}

static void null_close(struct conn *c)
{
    free(c);
}

static int null_wait(struct conn *c, int64_t deadline)
{
    return 0;
}

static const struct conn_ops null_ops = {
    .name = "virtual",
    .read = null_read,
    .write = null_write,
    .shutdown = null_shutdown,
    .close = null_close,
    .wait_readable = null_wait,
};

static int direct_dial(struct dialer *d, const char *addr, const struct dial_opts *o,
                       struct conn **out)
{
    struct conn *c = xmalloc(sizeof *c);
    conn_init(c, &null_ops, NULL);
    *out = c;
    return 0;
}

const struct dialer_type dialer_direct = {
    .name = "direct",
    .size = sizeof(struct dialer),
    .flags = DIALER_NOOP,
    .dial = direct_dial,
};

const struct dialer_type dialer_virtual = {
    .name = "virtual",
    .size = sizeof(struct dialer),
    .flags = DIALER_NOOP,
    .dial = direct_dial,
};
