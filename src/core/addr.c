/* addr: host:port strings, formatting, numeric parsing and name resolution. */
#include "core/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "core/fiber.h"
#include "core/pool.h"
#include "core/xmalloc.h"

static int addr_parse_port(const char *p, uint16_t *port)
{
    unsigned v = 0;
    if (*p == '\0') {
        *port = 0;
        return 0;
    }
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        v = v * 10 + (unsigned)(*p - '0');
        if (v > 65535)
            return -EINVAL;
    }
    *port = (uint16_t)v;
    return 0;
}

int addr_split(const char *hostport, char *host, size_t hostlen, uint16_t *port)
{
    const char *h, *hend, *p;
    if (hostport[0] == '[') {
        const char *rb = strchr(hostport, ']');
        if (!rb || rb[1] != ':')
            return -EINVAL; /* missing ']' or missing port */
        h = hostport + 1;
        hend = rb;
        p = rb + 2;
        if (memchr(h, '[', (size_t)(hend - h)))
            return -EINVAL;
    } else {
        const char *colon = strrchr(hostport, ':');
        if (!colon)
            return -EINVAL; /* missing port */
        h = hostport;
        hend = colon;
        p = colon + 1;
        if (memchr(h, ':', (size_t)(hend - h)))
            return -EINVAL; /* too many colons: IPv6 needs brackets */
        if (memchr(h, '[', (size_t)(hend - h)) || memchr(h, ']', (size_t)(hend - h)))
            return -EINVAL;
    }
    if (strchr(p, '[') || strchr(p, ']'))
        return -EINVAL;
    int rc = addr_parse_port(p, port);
    if (rc < 0)
        return rc;
    size_t len = (size_t)(hend - h);
    if (len + 1 > hostlen)
        return -ENAMETOOLONG;
    memcpy(host, h, len);
    host[len] = '\0';
    return 0;
}

int addr_join(const char *host, uint16_t port, char *buf, size_t buflen)
{
    int n = strchr(host, ':') ? snprintf(buf, buflen, "[%s]:%u", host, (unsigned)port)
                              : snprintf(buf, buflen, "%s:%u", host, (unsigned)port);
    if (n < 0 || (size_t)n >= buflen)
        return -ENOSPC;
    return n;
}

static int addr_format_unix(const struct gaddr *a, char *buf, size_t buflen)
{
    const struct sockaddr_un *un = (const struct sockaddr_un *)&a->ss;
    size_t off = offsetof(struct sockaddr_un, sun_path);
    size_t plen = a->len > off ? a->len - off : 0;
    int n;
    if (plen == 0)
        n = snprintf(buf, buflen, "%s", "");
    else if (un->sun_path[0] == '\0')
        n = snprintf(buf, buflen, "@%.*s", (int)(plen - 1), un->sun_path + 1);
    else
        n = snprintf(buf, buflen, "%.*s", (int)strnlen(un->sun_path, plen), un->sun_path);
    if (n < 0 || (size_t)n >= buflen)
        return -ENOSPC;
    return n;
}

/* "a.b.c.d" for 4 bytes in network order, NUL-terminated; returns the length (7..15). Plain
 * digit arithmetic: glibc's inet_ntop goes through sprintf (~2,500 instructions per call), and
 * every connection formats a few addresses. */
size_t addr_format_ip4(const uint8_t ip[4], char out[16])
{
    char *p = out;
    for (int i = 0; i < 4; i++) {
        unsigned v = ip[i];
        if (v >= 100) {
            *p++ = (char)('0' + v / 100);
            v %= 100;
            *p++ = (char)('0' + v / 10);
            v %= 10;
        } else if (v >= 10) {
            *p++ = (char)('0' + v / 10);
            v %= 10;
        }
        *p++ = (char)('0' + v);
        *p++ = i < 3 ? '.' : '\0';
    }
    return (size_t)(p - out - 1);
}

/* "ip:port" for an IPv4 address; the length or -ENOSPC. */
static int addr_format_ip4_port(const uint8_t ip[4], unsigned port, char *buf, size_t buflen)
{
    char tmp[22];
    size_t n = addr_format_ip4(ip, tmp);
    char digits[5];
    int nd = 0;
    do {
        digits[nd++] = (char)('0' + port % 10);
        port /= 10;
    } while (port && nd < 5);
    tmp[n++] = ':';
    while (nd)
        tmp[n++] = digits[--nd];
    if (n >= buflen)
        return -ENOSPC;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return (int)n;
}

int addr_format(const struct gaddr *a, char *buf, size_t buflen)
{
    char ip[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    int n;
    if (buflen == 0)
        return -ENOSPC;
    if (a->len == 0) {
        buf[0] = '\0';
        return 0;
    }
    switch (a->ss.ss_family) {
    case AF_INET: {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&a->ss;
        return addr_format_ip4_port((const uint8_t *)&in->sin_addr, ntohs(in->sin_port), buf,
                                    buflen);
    }
    case AF_INET6: {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
        unsigned port = ntohs(in6->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            return addr_format_ip4_port(&in6->sin6_addr.s6_addr[12], port, buf, buflen);
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, INET6_ADDRSTRLEN);
        if (in6->sin6_scope_id) {
            char ifname[IF_NAMESIZE];
            size_t l = strlen(ip);
            if (if_indextoname(in6->sin6_scope_id, ifname))
                snprintf(ip + l, sizeof ip - l, "%%%s", ifname);
            else
                snprintf(ip + l, sizeof ip - l, "%%%u", (unsigned)in6->sin6_scope_id);
        }
        n = snprintf(buf, buflen, "[%s]:%u", ip, port);
        break;
    }
    case AF_UNIX:
        return addr_format_unix(a, buf, buflen);
    default:
        buf[0] = '\0';
        return -EAFNOSUPPORT;
    }
    if (n < 0 || (size_t)n >= buflen)
        return -ENOSPC;
    return n;
}

int addr_from_numeric(const char *host, uint16_t port, struct gaddr *out)
{
    memset(out, 0, sizeof *out);
    if (host[0] == '\0' || !strchr(host, ':')) {
        struct sockaddr_in *in = (struct sockaddr_in *)&out->ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        if (host[0] != '\0' && inet_pton(AF_INET, host, &in->sin_addr) != 1)
            return -EINVAL;
        out->len = sizeof *in;
        return 0;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->ss;
    char ip[INET6_ADDRSTRLEN];
    const char *pct = strchr(host, '%');
    size_t iplen = pct ? (size_t)(pct - host) : strlen(host);
    if (iplen >= sizeof ip)
        return -EINVAL;
    memcpy(ip, host, iplen);
    ip[iplen] = '\0';
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    if (inet_pton(AF_INET6, ip, &in6->sin6_addr) != 1)
        return -EINVAL;
    if (pct) {
        const char *zone = pct + 1;
        char *end;
        unsigned long idx = strtoul(zone, &end, 10);
        if (*zone == '\0')
            return -EINVAL;
        if (*end != '\0')
            idx = if_nametoindex(zone);
        if (idx == 0)
            return -EINVAL;
        in6->sin6_scope_id = (uint32_t)idx;
    }
    out->len = sizeof *in6;
    return 0;
}

int addr_parse(const char *hostport, struct gaddr *out)
{
    char host[256];
    uint16_t port;
    int rc = addr_split(hostport, host, sizeof host, &port);
    if (rc < 0)
        return -EINVAL;
    return addr_from_numeric(host, port, out);
}

int addr_from_unix(const char *path, struct gaddr *out)
{
    memset(out, 0, sizeof *out);
    struct sockaddr_un *un = (struct sockaddr_un *)&out->ss;
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof un->sun_path)
        return -ENAMETOOLONG;
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, len);
    if (path[0] == '@') {
        un->sun_path[0] = '\0'; /* abstract namespace: no NUL terminator counted */
        out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    } else {
        out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
    }
    return 0;
}

uint16_t addr_port(const struct gaddr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    if (a->ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    return 0;
}

void addr_set_port(struct gaddr *a, uint16_t port)
{
    if (a->ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
    else if (a->ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
}

void addr_from_sockaddr(struct gaddr *a, const struct sockaddr *sa, socklen_t len)
{
    memset(a, 0, sizeof *a);
    if (len > sizeof a->ss)
        len = sizeof a->ss;
    memcpy(&a->ss, sa, len);
    a->len = len;
}

bool addr_equal(const struct gaddr *a, const struct gaddr *b)
{
    if (a->ss.ss_family != b->ss.ss_family)
        return false;
    switch (a->ss.ss_family) {
    case AF_INET: {
        const struct sockaddr_in *x = (const void *)&a->ss, *y = (const void *)&b->ss;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *x = (const void *)&a->ss, *y = (const void *)&b->ss;
        return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    default:
        return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
    }
}

/* ---- name resolution on the helper pool ---- */

struct addr_job {
    atomic_int refs; /* caller + helper; see pool.h */
    char host[256];
    int socktype;
    int gai_rc;
    int sys_errno;
    struct gaddr out;
};

static void addr_job_put(struct addr_job *j)
{
    if (atomic_fetch_sub(&j->refs, 1) == 1)
        free(j);
}

static void addr_job_fn(void *arg)
{
    struct addr_job *j = arg;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = j->socktype;
    j->gai_rc = getaddrinfo(j->host, NULL, &hints, &res);
    j->sys_errno = errno;
    if (j->gai_rc == 0) {
        const struct addrinfo *pick = NULL;
        for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            if (ai->ai_family == AF_INET) {
                pick = ai;
                break;
            }
            if (ai->ai_family == AF_INET6 && !pick)
                pick = ai;
        }
        if (pick)
            addr_from_sockaddr(&j->out, pick->ai_addr, pick->ai_addrlen);
        else
            j->gai_rc = EAI_NONAME;
        freeaddrinfo(res);
    }
    addr_job_put(j);
}

static int addr_gai_errno(int gai_rc, int sys_errno)
{
    switch (gai_rc) {
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        return -ENOENT;
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_SYSTEM:
        return sys_errno ? -sys_errno : -EIO;
    default:
        return -EINVAL;
    }
}

int addr_resolve(const char *host, uint16_t port, int socktype, struct gaddr *out, int64_t deadline)
{
    if (addr_from_numeric(host, port, out) == 0)
        return 0;
    size_t len = strlen(host);
    if (len == 0 || len >= sizeof((struct addr_job *)0)->host || strchr(host, '%')) {
        fiber_set_err("lookup %s: invalid host name", host);
        return -EINVAL;
    }
    struct addr_job *j = xcalloc(1, sizeof *j);
    atomic_init(&j->refs, 2);
    memcpy(j->host, host, len + 1);
    j->socktype = socktype;
    int rc = pool_call_deadline(addr_job_fn, j, deadline);
    if (rc < 0) {
        /* the helper still owns its reference and frees the job when done */
        addr_job_put(j);
        fiber_set_err("lookup %s: %s", host, rc == -ETIMEDOUT ? "i/o timeout" : strerror(-rc));
        return rc;
    }
    if (j->gai_rc != 0) {
        rc = addr_gai_errno(j->gai_rc, j->sys_errno);
        fiber_set_err("lookup %s: %s", host,
                      rc == -ENOENT ? "no such host" : gai_strerror(j->gai_rc));
    } else {
        *out = j->out;
        addr_set_port(out, port);
    }
    addr_job_put(j);
    return rc;
}
