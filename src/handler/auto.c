/* handler auto (GOST's default handler): look at the client's first byte and hand the
 * connection to the socks4 (0x04), socks5 (0x05) or http (anything else) handler, all three
 * built from this handler's own config, so metadata, auth and chain apply to each.
 *
 * The first byte is peeked without consuming it: with MSG_PEEK on a plain socket (the conn stays
 * a raw socket, so the tunnel that follows can still be spliced), else through a buffering
 * layer (net/bufconn.h) that replays it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config/md.h"
#include "config/schema.h"
#include "core/fiber.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "net/bufconn.h"
#include "service/service.h"

#define AUTO_DEFAULT_READ_TIMEOUT_MS 15000

struct auto_handler {
    struct handler base;
    struct handler *socks4, *socks5, *http;
    int64_t read_timeout_ms;
};

static struct handler *auto_sub_new(struct handler *h, const char *name, struct cfg_errs *errs)
{
    const struct handler_type *t = registry_handler(name);
    if (!t) {
        cfg_errs_add(errs, cfg_pos_of(h->cfg->node, "type"),
                     "handler auto needs the %s handler, which is not compiled in", name);
        return NULL;
    }
    struct handler *sub = xcalloc(1, t->size);
    sub->type = t;
    sub->svc = h->svc;
    sub->cfg = h->cfg;
    sub->root = h->root;
    sub->router = h->router;
    sub->fwd = h->fwd;
    sub->retries = h->retries;
    if (t->init && t->init(sub, errs) < 0) {
        free(sub);
        return NULL;
    }
    return sub;
}

static void auto_sub_free(struct handler *sub)
{
    if (!sub)
        return;
    if (sub->type->free)
        sub->type->free(sub);
    free(sub);
}

static void auto_free(struct handler *h)
{
    struct auto_handler *a = (struct auto_handler *)h;
    auto_sub_free(a->socks4);
    auto_sub_free(a->socks5);
    auto_sub_free(a->http);
    a->socks4 = a->socks5 = a->http = NULL;
}

static int auto_init(struct handler *h, struct cfg_errs *errs)
{
    struct auto_handler *a = (struct auto_handler *)h;
    int64_t rt = 0;
    enum md_status st = md_parse_duration(h->cfg->metadata, MD_KEYS("readTimeout"), &rt, errs);
    if (st == MD_INVALID)
        return -EINVAL;
    a->read_timeout_ms = st == MD_OK ? (rt > 0 ? rt / 1000000 : 0) : AUTO_DEFAULT_READ_TIMEOUT_MS;
    a->socks4 = auto_sub_new(h, "socks4", errs);
    a->socks5 = auto_sub_new(h, "socks5", errs);
    a->http = auto_sub_new(h, "http", errs);
    if (!a->socks4 || !a->socks5 || !a->http) {
        auto_free(h);
        return -EINVAL;
    }
    return 0;
}

/* The first byte the client sent, without consuming it: 0..255, or -errno (0 bytes = -EPIPE).
 * *c may be replaced by a buffering layer (consumed/replaced in place). */
static int auto_peek(struct conn **c, int64_t deadline)
{
    int fd = conn_fd(*c);
    if (fd >= 0) {
        for (;;) {
            unsigned char b;
            ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
            if (n == 1)
                return b;
            if (n == 0)
                return -EPIPE;
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                return -errno;
            int rc = conn_wait_readable(*c, deadline);
            if (rc < 0)
                return rc;
        }
    }
    if (!bufconn_is(*c))
        *c = bufconn_new(*c, 4096);
    const unsigned char *p;
    (*c)->rd_deadline = deadline;
    ssize_t n = bufconn_peek(*c, 1, &p);
    (*c)->rd_deadline = DEADLINE_NONE;
    if (n < 0)
        return (int)n;
    if (n == 0)
        return -EPIPE;
    return p[0];
}

static void auto_handle(struct handler *h, struct conn *c, struct session *s)
{
    struct auto_handler *a = (struct auto_handler *)h;
    int b = auto_peek(&c, deadline_in(a->read_timeout_ms));
    if (b < 0) {
        if (b != -EPIPE)
            LOG(LOG_DEBUG, &s->log, "auto: no request: %s", strerror(-b));
        conn_close(c);
        session_log_end(s, 0, 0);
        return;
    }
    struct handler *sub = b == 0x04 ? a->socks4 : b == 0x05 ? a->socks5 : a->http;
    sub->type->handle(sub, c, s);
}

const struct handler_type handler_auto = {
    .name = "auto",
    .size = sizeof(struct auto_handler),
    .flags = HANDLER_AUTH,
    .init = auto_init,
    .handle = auto_handle,
    .free = auto_free,
};
