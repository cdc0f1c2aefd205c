/* socks4: pure encoders/decoders for SOCKS4 and SOCKS4a (openssh.com socks4.protocol,
 * socks4a.protocol; GOST's go-gost/gosocks4). No I/O.
 *
 * Decoder convention (as socks5.h): > 0 complete (bytes used), 0 incomplete (*need = total bytes
 * needed at least; the NUL-terminated fields make that one more byte at a time), < 0 malformed
 * (-EPROTO: bad version or command, a field longer than 255 bytes, an empty 4a host name).
 */
#ifndef GOST_PROTO_SOCKS4_H
#define GOST_PROTO_SOCKS4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SOCKS4_VER 0x04

enum {
    SOCKS4_CMD_CONNECT = 0x01,
    SOCKS4_CMD_BIND = 0x02,
};

enum {
    SOCKS4_GRANTED = 90,
    SOCKS4_FAILED = 91,
    SOCKS4_REJECTED = 92,        /* no identd on the client (GOST: bypass) */
    SOCKS4_REJECTED_USERID = 93, /* user id does not match */
};

#define SOCKS4_FIELD_MAX   255
#define SOCKS4_REQUEST_MAX (8 + SOCKS4_FIELD_MAX + 1 + SOCKS4_FIELD_MAX + 1)
#define SOCKS4_REPLY_LEN   8

struct socks4_request {
    uint8_t cmd;
    uint16_t port;
    uint8_t ip[4];
    bool is_4a; /* ip = 0.0.0.x (x != 0): the host name follows the user id */
    char userid[256];
    char host[256]; /* 4a: the host name; else the IPv4 text */
};

ssize_t socks4_request_decode(const uint8_t *b, size_t n, struct socks4_request *r, size_t *need);
/* Encodes r (is_4a: ip 0.0.0.1 and r->host appended). Length or -ENOSPC / -EINVAL. */
ssize_t socks4_request_encode(uint8_t *b, size_t cap, const struct socks4_request *r);
/* Reply: 0x00 CODE PORT(2) IP(4); port/ip zero (GOST sends no address). */
void socks4_reply_encode(uint8_t b[SOCKS4_REPLY_LEN], uint8_t code);
/* 0 and *code, or -EPROTO (first byte not 0). */
int socks4_reply_decode(const uint8_t b[SOCKS4_REPLY_LEN], uint8_t *code);
/* "host:port" of a request's destination. Length or -ENOSPC. */
int socks4_request_target(const struct socks4_request *r, char *buf, size_t len);

#endif
