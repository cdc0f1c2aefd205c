/* socks4: SOCKS4/4a wire formats (see socks4.h). */
#include "proto/socks4.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Length of the NUL-terminated field at b[0..n): its length (without NUL), -1 if not terminated
 * yet, -2 if longer than SOCKS4_FIELD_MAX. */
static ssize_t socks4_cstr(const uint8_t *b, size_t n)
{
    size_t lim = n < SOCKS4_FIELD_MAX + 1 ? n : SOCKS4_FIELD_MAX + 1;
    const uint8_t *z = memchr(b, 0, lim);
    if (z)
        return z - b;
    return n > SOCKS4_FIELD_MAX ? -2 : -1;
}

ssize_t socks4_request_decode(const uint8_t *b, size_t n, struct socks4_request *r, size_t *need)
{
    if (n < 1) {
        *need = 8;
        return 0;
    }
    if (b[0] != SOCKS4_VER)
        return -EPROTO;
    if (n >= 2 && b[1] != SOCKS4_CMD_CONNECT && b[1] != SOCKS4_CMD_BIND)
        return -EPROTO;
    if (n < 9) {
        *need = 9;
        return 0;
    }
    ssize_t ul = socks4_cstr(b + 8, n - 8);
    if (ul == -2)
        return -EPROTO;
    if (ul < 0) {
        *need = n + 1;
        return 0;
    }
    bool is_4a = b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] != 0;
    size_t len = 8 + (size_t)ul + 1;
    ssize_t hl = 0;
    if (is_4a) {
        if (n <= len) {
            *need = len + 1;
            return 0;
        }
        hl = socks4_cstr(b + len, n - len);
        if (hl == -2 || hl == 0)
            return -EPROTO;
        if (hl < 0) {
            *need = n + 1;
            return 0;
        }
    }
    memset(r, 0, sizeof *r);
    r->cmd = b[1];
    r->port = (uint16_t)(b[2] << 8 | b[3]);
    memcpy(r->ip, b + 4, 4);
    r->is_4a = is_4a;
    memcpy(r->userid, b + 8, (size_t)ul);
    if (is_4a) {
        memcpy(r->host, b + len, (size_t)hl);
        len += (size_t)hl + 1;
    } else {
        inet_ntop(AF_INET, r->ip, r->host, sizeof r->host);
    }
    return (ssize_t)len;
}

ssize_t socks4_request_encode(uint8_t *b, size_t cap, const struct socks4_request *r)
{
    size_t ul = strlen(r->userid), hl = r->is_4a ? strlen(r->host) : 0;
    if (ul > SOCKS4_FIELD_MAX || hl > SOCKS4_FIELD_MAX || (r->is_4a && hl == 0))
        return -EINVAL;
    size_t len = 8 + ul + 1 + (r->is_4a ? hl + 1 : 0);
    if (cap < len)
        return -ENOSPC;
    b[0] = SOCKS4_VER;
    b[1] = r->cmd;
    b[2] = (uint8_t)(r->port >> 8);
    b[3] = (uint8_t)r->port;
    if (r->is_4a) {
        b[4] = b[5] = b[6] = 0;
        b[7] = 1;
    } else {
        memcpy(b + 4, r->ip, 4);
    }
    memcpy(b + 8, r->userid, ul + 1);
    if (r->is_4a)
        memcpy(b + 9 + ul, r->host, hl + 1);
    return (ssize_t)len;
}

void socks4_reply_encode(uint8_t b[SOCKS4_REPLY_LEN], uint8_t code)
{
    memset(b, 0, SOCKS4_REPLY_LEN);
    b[1] = code;
}

int socks4_reply_decode(const uint8_t b[SOCKS4_REPLY_LEN], uint8_t *code)
{
    if (b[0] != 0)
        return -EPROTO;
    *code = b[1];
    return 0;
}

int socks4_request_target(const struct socks4_request *r, char *buf, size_t len)
{
    bool colon = strchr(r->host, ':') != NULL;
    int n = snprintf(buf, len, colon ? "[%s]:%u" : "%s:%u", r->host, (unsigned)r->port);
    return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}
