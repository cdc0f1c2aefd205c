/* socks5: SOCKS5 wire formats (see socks5.h). */
#include "proto/socks5.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/addr.h"

static void socks5_addr_text(struct socks5_addr *a)
{
    if (a->atyp == SOCKS5_ATYP_IPV4)
        addr_format_ip4(a->ip, a->host);
    else if (a->atyp == SOCKS5_ATYP_IPV6)
        inet_ntop(AF_INET6, a->ip, a->host, sizeof a->host);
}

ssize_t socks5_addr_decode(const uint8_t *b, size_t n, struct socks5_addr *a, size_t *need)
{
    if (n < 2) {
        *need = 2;
        return 0;
    }
    size_t len;
    switch (b[0]) {
    case SOCKS5_ATYP_IPV4:
        len = 1 + 4 + 2;
        break;
    case SOCKS5_ATYP_IPV6:
        len = 1 + 16 + 2;
        break;
    case SOCKS5_ATYP_DOMAIN:
        if (b[1] == 0)
            return -EPROTO;
        len = 2 + (size_t)b[1] + 2;
        break;
    default:
        return -EAFNOSUPPORT;
    }
    if (n < len) {
        *need = len;
        return 0;
    }
    memset(a, 0, sizeof *a);
    a->atyp = b[0];
    if (a->atyp == SOCKS5_ATYP_DOMAIN) {
        size_t dl = b[1];
        if (memchr(b + 2, 0, dl))
            return -EPROTO;
        memcpy(a->host, b + 2, dl);
        a->host[dl] = '\0';
    } else {
        memcpy(a->ip, b + 1, a->atyp == SOCKS5_ATYP_IPV4 ? 4 : 16);
        socks5_addr_text(a);
    }
    a->port = (uint16_t)(b[len - 2] << 8 | b[len - 1]);
    return (ssize_t)len;
}

ssize_t socks5_addr_encode(uint8_t *b, size_t cap, const struct socks5_addr *a)
{
    size_t len;
    switch (a->atyp) {
    case SOCKS5_ATYP_IPV4:
        len = 7;
        break;
    case SOCKS5_ATYP_IPV6:
        len = 19;
        break;
    case SOCKS5_ATYP_DOMAIN: {
        size_t dl = strlen(a->host);
        if (dl == 0 || dl > 255)
            return -EINVAL;
        len = 4 + dl;
        break;
    }
    default:
        return -EINVAL;
    }
    if (cap < len)
        return -ENOSPC;
    b[0] = a->atyp;
    if (a->atyp == SOCKS5_ATYP_DOMAIN) {
        b[1] = (uint8_t)(len - 4);
        memcpy(b + 2, a->host, len - 4);
    } else {
        memcpy(b + 1, a->ip, a->atyp == SOCKS5_ATYP_IPV4 ? 4 : 16);
    }
    b[len - 2] = (uint8_t)(a->port >> 8);
    b[len - 1] = (uint8_t)a->port;
    return (ssize_t)len;
}

void socks5_addr_zero(struct socks5_addr *a)
{
    memset(a, 0, sizeof *a);
    a->atyp = SOCKS5_ATYP_IPV4;
    strcpy(a->host, "0.0.0.0");
}

static int socks5_addr_set_ip(struct socks5_addr *a, const char *host)
{
    struct in6_addr v6;
    if (inet_pton(AF_INET, host, a->ip) == 1) {
        a->atyp = SOCKS5_ATYP_IPV4;
    } else if (inet_pton(AF_INET6, host, &v6) == 1) {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(v6.s6_addr, mapped, 12) == 0) {
            a->atyp = SOCKS5_ATYP_IPV4;
            memcpy(a->ip, v6.s6_addr + 12, 4);
        } else {
            a->atyp = SOCKS5_ATYP_IPV6;
            memcpy(a->ip, v6.s6_addr, 16);
        }
    } else {
        return -1;
    }
    socks5_addr_text(a);
    return 0;
}

int socks5_addr_parse(struct socks5_addr *a, const char *hostport)
{
    char host[300];
    uint16_t port;
    if (addr_split(hostport, host, sizeof host, &port) < 0)
        return -EINVAL;
    memset(a, 0, sizeof *a);
    a->port = port;
    if (host[0] == '\0') {
        socks5_addr_zero(a);
        a->port = port;
        return 0;
    }
    if (socks5_addr_set_ip(a, host) == 0)
        return 0;
    size_t hl = strlen(host);
    if (hl > 255)
        return -EINVAL;
    a->atyp = SOCKS5_ATYP_DOMAIN;
    memcpy(a->host, host, hl + 1);
    return 0;
}

int socks5_addr_from_gaddr(struct socks5_addr *a, const struct gaddr *g)
{
    memset(a, 0, sizeof *a);
    if (g->ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&g->ss;
        a->atyp = SOCKS5_ATYP_IPV4;
        memcpy(a->ip, &in->sin_addr, 4);
        a->port = ntohs(in->sin_port);
    } else if (g->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&g->ss;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(in6->sin6_addr.s6_addr, mapped, 12) == 0) {
            a->atyp = SOCKS5_ATYP_IPV4;
            memcpy(a->ip, in6->sin6_addr.s6_addr + 12, 4);
        } else {
            a->atyp = SOCKS5_ATYP_IPV6;
            memcpy(a->ip, in6->sin6_addr.s6_addr, 16);
        }
        a->port = ntohs(in6->sin6_port);
    } else {
        return -EAFNOSUPPORT;
    }
    socks5_addr_text(a);
    return 0;
}

int socks5_addr_to_gaddr(const struct socks5_addr *a, struct gaddr *g)
{
    memset(g, 0, sizeof *g);
    if (a->atyp == SOCKS5_ATYP_IPV4) {
        struct sockaddr_in *in = (struct sockaddr_in *)&g->ss;
        in->sin_family = AF_INET;
        memcpy(&in->sin_addr, a->ip, 4);
        in->sin_port = htons(a->port);
        g->len = sizeof *in;
        return 0;
    }
    if (a->atyp == SOCKS5_ATYP_IPV6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&g->ss;
        in6->sin6_family = AF_INET6;
        memcpy(&in6->sin6_addr, a->ip, 16);
        in6->sin6_port = htons(a->port);
        g->len = sizeof *in6;
        return 0;
    }
    return -EINVAL;
}

int socks5_addr_format(const struct socks5_addr *a, char *buf, size_t len)
{
    bool colon = strchr(a->host, ':') != NULL;
    int r = snprintf(buf, len, colon ? "[%s]:%u" : "%s:%u", a->host, (unsigned)a->port);
    return r < 0 || (size_t)r >= len ? -ENOSPC : r;
}

ssize_t socks5_greeting_decode(const uint8_t *b, size_t n, uint8_t *methods, size_t *nmethods,
                               size_t *need)
{
    if (n < 2) {
        *need = 2;
        return 0;
    }
    if (b[0] != SOCKS5_VER || b[1] == 0)
        return -EPROTO;
    size_t len = 2 + (size_t)b[1];
    if (n < len) {
        *need = len;
        return 0;
    }
    memcpy(methods, b + 2, b[1]);
    *nmethods = b[1];
    return (ssize_t)len;
}

ssize_t socks5_greeting_encode(uint8_t *b, size_t cap, const uint8_t *methods, size_t n)
{
    if (n == 0 || n > 255)
        return -EINVAL;
    if (cap < 2 + n)
        return -ENOSPC;
    b[0] = SOCKS5_VER;
    b[1] = (uint8_t)n;
    memcpy(b + 2, methods, n);
    return (ssize_t)(2 + n);
}

void socks5_method_encode(uint8_t b[2], uint8_t method)
{
    b[0] = SOCKS5_VER;
    b[1] = method;
}

int socks5_method_decode(const uint8_t b[2], uint8_t *method)
{
    if (b[0] != SOCKS5_VER)
        return -EPROTO;
    *method = b[1];
    return 0;
}

static bool socks5_offered(const uint8_t *m, size_t n, uint8_t want)
{
    return memchr(m, want, n) != NULL;
}

uint8_t socks5_select_method(const uint8_t *methods, size_t n, bool auth, bool tls)
{
    if (auth) {
        if (tls && socks5_offered(methods, n, SOCKS5_METHOD_TLS_AUTH))
            return SOCKS5_METHOD_TLS_AUTH;
        if (socks5_offered(methods, n, SOCKS5_METHOD_USERPASS))
            return SOCKS5_METHOD_USERPASS;
        return SOCKS5_METHOD_NONE;
    }
    if (tls && socks5_offered(methods, n, SOCKS5_METHOD_TLS))
        return SOCKS5_METHOD_TLS;
    if (socks5_offered(methods, n, SOCKS5_METHOD_NOAUTH))
        return SOCKS5_METHOD_NOAUTH;
    if (socks5_offered(methods, n, SOCKS5_METHOD_USERPASS))
        return SOCKS5_METHOD_USERPASS;
    return SOCKS5_METHOD_NONE;
}

ssize_t socks5_userpass_decode(const uint8_t *b, size_t n, char user[256], char pass[256],
                               size_t *need)
{
    if (n < 2) {
        *need = 2;
        return 0;
    }
    if (b[0] != SOCKS5_USERPASS_VER)
        return -EPROTO;
    size_t ul = b[1];
    if (n < 2 + ul + 1) {
        *need = 2 + ul + 1;
        return 0;
    }
    size_t pl = b[2 + ul];
    size_t len = 3 + ul + pl;
    if (n < len) {
        *need = len;
        return 0;
    }
    if (memchr(b + 2, 0, ul) || memchr(b + 3 + ul, 0, pl))
        return -EPROTO;
    memcpy(user, b + 2, ul);
    user[ul] = '\0';
    memcpy(pass, b + 3 + ul, pl);
    pass[pl] = '\0';
    return (ssize_t)len;
}

ssize_t socks5_userpass_encode(uint8_t *b, size_t cap, const char *user, const char *pass)
{
    size_t ul = strlen(user), pl = strlen(pass);
    if (ul > 255 || pl > 255)
        return -EINVAL;
    size_t len = 3 + ul + pl;
    if (cap < len)
        return -ENOSPC;
    b[0] = SOCKS5_USERPASS_VER;
    b[1] = (uint8_t)ul;
    memcpy(b + 2, user, ul);
    b[2 + ul] = (uint8_t)pl;
    memcpy(b + 3 + ul, pass, pl);
    return (ssize_t)len;
}

void socks5_userpass_reply_encode(uint8_t b[2], uint8_t status)
{
    b[0] = SOCKS5_USERPASS_VER;
    b[1] = status;
}

int socks5_userpass_reply_decode(const uint8_t b[2], uint8_t *status)
{
    if (b[0] != SOCKS5_USERPASS_VER)
        return -EPROTO;
    *status = b[1];
    return 0;
}

ssize_t socks5_request_decode(const uint8_t *b, size_t n, uint8_t *code, struct socks5_addr *a,
                              size_t *need)
{
    if (n < 1) {
        *need = 5;
        return 0;
    }
    if (b[0] != SOCKS5_VER)
        return -EPROTO;
    if (n < 5) {
        *need = 5;
        return 0;
    }
    size_t an = 0;
    ssize_t r = socks5_addr_decode(b + 3, n - 3, a, &an);
    if (r < 0)
        return r;
    if (r == 0) {
        *need = 3 + an;
        return 0;
    }
    *code = b[1];
    return 3 + r;
}

ssize_t socks5_request_encode(uint8_t *b, size_t cap, uint8_t code, const struct socks5_addr *a)
{
    struct socks5_addr zero;
    if (!a) {
        socks5_addr_zero(&zero);
        a = &zero;
    }
    if (cap < 3)
        return -ENOSPC;
    b[0] = SOCKS5_VER;
    b[1] = code;
    b[2] = 0;
    ssize_t r = socks5_addr_encode(b + 3, cap - 3, a);
    return r < 0 ? r : 3 + r;
}

ssize_t socks5_udp_hdr_decode(const uint8_t *b, size_t n, struct socks5_udp_hdr *h, size_t *need)
{
    if (n < 5) {
        *need = 5;
        return 0;
    }
    size_t an = 0;
    ssize_t r = socks5_addr_decode(b + 3, n - 3, &h->addr, &an);
    if (r < 0)
        return r;
    if (r == 0) {
        *need = 3 + an;
        return 0;
    }
    h->rsv = (uint16_t)(b[0] << 8 | b[1]);
    h->frag = b[2];
    return 3 + r;
}

ssize_t socks5_udp_hdr_encode(uint8_t *b, size_t cap, const struct socks5_udp_hdr *h)
{
    if (cap < 3)
        return -ENOSPC;
    b[0] = (uint8_t)(h->rsv >> 8);
    b[1] = (uint8_t)h->rsv;
    b[2] = h->frag;
    ssize_t r = socks5_addr_encode(b + 3, cap - 3, &h->addr);
    return r < 0 ? r : 3 + r;
}

ssize_t socks5_udptun_hdr_encode(uint8_t *b, size_t cap, const struct socks5_addr *a, size_t plen)
{
    if (plen == 0 || plen > 0xFFFF)
        return -EINVAL;
    if (cap < 3)
        return -ENOSPC;
    b[0] = (uint8_t)(plen >> 8);
    b[1] = (uint8_t)plen;
    b[2] = 0xFF;
    ssize_t r = socks5_addr_encode(b + 3, cap - 3, a);
    return r < 0 ? r : 3 + r;
}

void socks5_tun_dec_init(struct socks5_tun_dec *d)
{
    d->hlen = 0;
    d->in_payload = false;
    d->remaining = 0;
}

ssize_t socks5_tun_dec_header(struct socks5_tun_dec *d, const uint8_t *in, size_t n)
{
    size_t used = 0;
    while (!d->in_payload) {
        size_t need = 0;
        ssize_t r = socks5_udp_hdr_decode(d->hdr, d->hlen, &d->h, &need);
        if (r < 0)
            return r;
        if (r > 0) {
            d->in_payload = true;
            d->remaining = d->h.rsv;
            d->hlen = 0;
            break;
        }
        if (used == n)
            break;
        size_t take = need - d->hlen;
        if (take > n - used)
            take = n - used;
        memcpy(d->hdr + d->hlen, in + used, take);
        d->hlen += take;
        used += take;
    }
    return (ssize_t)used;
}

bool socks5_tun_dec_payload(struct socks5_tun_dec *d, size_t m)
{
    if (m > d->remaining)
        m = d->remaining;
    d->remaining -= m;
    if (d->remaining == 0) {
        d->in_payload = false;
        return true;
    }
    return false;
}
