/* listener tcp (the default): one SO_REUSEPORT socket per worker, bound at init so that an
 * address in use is a start-up error. listener unix: a unix stream socket, one in all. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/md.h"
#include "config/schema.h"
#include "core/addr.h"
#include "core/fiber.h"
#include "core/sock.h"
#include "listener/listen_addr.h"
#include "listener/sock_listener.h"
#include "service/service.h"

int listen_addr_resolve(const char *addr, int socktype, struct gaddr *out, char *err, size_t errlen)
{
    char host[256];
    uint16_t port;
    if (!addr || addr_split(addr, host, sizeof host, &port) < 0) {
        snprintf(err, errlen, "invalid listen address \"%s\"", addr ? addr : "");
        return -EINVAL;
    }
    if (host[0] == '\0')
        return addr_from_numeric("::", port, out);
    if (addr_from_numeric(host, port, out) == 0)
        return 0;
    /* A host name: resolved once at start-up (main thread, blocking is fine here). */
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = socktype};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(err, errlen, "listen address \"%s\": %s", addr, gai_strerror(rc));
        return -ENOENT;
    }
    addr_from_sockaddr(out, res->ai_addr, res->ai_addrlen);
    addr_set_port(out, port);
    freeaddrinfo(res);
    return 0;
}

int sock_lst_init_tcp(struct listener *l, struct cfg_errs *errs)
{
    struct sock_lst *s = (struct sock_lst *)l;
    s->fd = -1;
    char err[256];
    struct gaddr ga;
    if (listen_addr_resolve(l->addr, SOCK_STREAM, &ga, err, sizeof err) < 0) {
        cfg_errs_add(errs, cfg_pos_of(l->svc_cfg_node, "addr"), "%s", err);
        return -EINVAL;
    }
    /* Port 0: the first worker's socket picks the port, the others join it. */
    if (addr_port(&ga) == 0 && l->worker > 0 && l->svc->listeners[0]) {
        const struct sock_lst *first = (const struct sock_lst *)l->svc->listeners[0];
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        if (first->fd >= 0 && getsockname(first->fd, (struct sockaddr *)&ss, &len) == 0) {
            struct gaddr bound;
            addr_from_sockaddr(&bound, (struct sockaddr *)&ss, len);
            addr_set_port(&ga, addr_port(&bound));
        }
    }
    int64_t backlog = 0;
    if (md_parse_int(l->cfg->metadata, MD_KEYS("backlog"), &backlog, errs) == MD_INVALID)
        return -EINVAL;
    if (backlog < 0 || backlog > 65535)
        backlog = 0;
    int rc = sock_listen_tcp(&ga, true, (int)backlog, &s->fd);
    if (rc < 0) {
        cfg_errs_add(errs, cfg_pos_of(l->svc_cfg_node, "addr"), "listen tcp %s: %s", l->addr,
                     strerror(-rc));
        return rc;
    }
    return 0;
}

static int unix_init(struct listener *l, struct cfg_errs *errs)
{
    struct sock_lst *s = (struct sock_lst *)l;
    s->fd = -1;
    const char *mode_s = NULL;
    if (md_parse_str(l->cfg->metadata, MD_KEYS("mode"), &mode_s, errs) == MD_INVALID)
        return -EINVAL;
    int mode = 0;
    if (mode_s && *mode_s) {
        char *end;
        long m = strtol(mode_s, &end, 8);
        if (*end || m < 0 || m > 07777) {
            cfg_errs_add(errs, cfg_pos_of(l->cfg->metadata, "mode"),
                         "metadata \"mode\": invalid file mode \"%s\"", mode_s);
            return -EINVAL;
        }
        mode = (int)m;
    }
    int fd = sock_listen_unix(l->addr, mode);
    if (fd < 0) {
        cfg_errs_add(errs, cfg_pos_of(l->svc_cfg_node, "addr"), "listen unix %s: %s", l->addr,
                     strerror(-fd));
        return fd;
    }
    s->fd = fd;
    return 0;
}

int sock_lst_start(struct listener *l)
{
    struct sock_lst *s = (struct sock_lst *)l;
    int fd = s->fd;
    s->fd = -1;
    int rc = sock_listener_open(&s->sl, fd);
    if (rc < 0) {
        fiber_set_err("%s", strerror(-rc));
        return rc;
    }
    s->opened = true;
    return 0;
}

int sock_lst_accept(struct listener *l, struct conn **out)
{
    struct sock_lst *s = (struct sock_lst *)l;
    if (!s->opened)
        return -ECANCELED;
    int rc = sock_accept(&s->sl, out, DEADLINE_NONE);
    if (rc == -EBADF)
        return -ECANCELED;
    return rc;
}

void sock_lst_close(struct listener *l)
{
    struct sock_lst *s = (struct sock_lst *)l;
    if (s->opened) {
        s->opened = false;
        sock_listener_close(&s->sl);
    }
}

void sock_lst_free(struct listener *l)
{
    struct sock_lst *s = (struct sock_lst *)l;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

const struct listener_type listener_tcp = {
    .name = "tcp",
    .size = sizeof(struct sock_lst),
    .flags = LISTENER_PER_WORKER,
    .init = sock_lst_init_tcp,
    .start = sock_lst_start,
    .accept = sock_lst_accept,
    .close = sock_lst_close,
    .free = sock_lst_free,
};

const struct listener_type listener_unix = {
    .name = "unix",
    .size = sizeof(struct sock_lst),
    .init = unix_init,
    .start = sock_lst_start,
    .accept = sock_lst_accept,
    .close = sock_lst_close,
    .free = sock_lst_free,
};
