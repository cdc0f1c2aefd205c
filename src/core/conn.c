/* conn: generic helpers over struct conn. */
#include "core/conn.h"

#include <errno.h>

#include "core/addr.h"

int conn_ctl_default(struct conn *c, int op, void *arg)
{
    return c->inner ? conn_ctl(c->inner, op, arg) : -ENOTSUP;
}

ssize_t conn_read_full(struct conn *c, void *buf, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t r = conn_read(c, (char *)buf + off, n - off);
        if (r < 0)
            return r;
        if (r == 0)
            return -ECONNRESET;
        off += (size_t)r;
    }
    return (ssize_t)n;
}

int conn_fd(struct conn *c)
{
    int fd = -1;
    if (conn_ctl(c, CONN_CTL_FD, &fd) < 0)
        return -1;
    return fd;
}

static const char *conn_addr_str(struct conn *c, int op, char *buf, size_t buflen)
{
    struct gaddr a;
    if (buflen == 0)
        return buf;
    buf[0] = '\0';
    if (conn_ctl(c, op, &a) == 0 && addr_format(&a, buf, buflen) < 0)
        buf[0] = '\0';
    return buf;
}

const char *conn_remote_str(struct conn *c, char *buf, size_t buflen)
{
    return conn_addr_str(c, CONN_CTL_REMOTE_ADDR, buf, buflen);
}

const char *conn_local_str(struct conn *c, char *buf, size_t buflen)
{
    return conn_addr_str(c, CONN_CTL_LOCAL_ADDR, buf, buflen);
}
