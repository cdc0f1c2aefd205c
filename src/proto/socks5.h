/* socks5: pure encoders/decoders for SOCKS5 (RFC 1928, RFC 1929) and GOST's extensions
 * (inventory §5.2, §5.3): methods 0x80 (TLS) and 0x82 (TLS + user/pass), commands 0xF2 (MBIND)
 * and 0xF3 (UDP-TUN), and the UDP-TUN datagram framing over a stream (RSV = payload length,
 * FRAG = 0xFF). No I/O here.
 *
 * Decoders share one convention:
 *   > 0  the message is complete: the number of bytes it takes at the start of `b`;
 *   0    incomplete: *need is set to the total number of bytes needed at least (> n), so a
 *        reader can read exactly need - n more bytes and call again (never over-reading);
 *   < 0  malformed: -EPROTO (bad version / format), -EAFNOSUPPORT (unknown address type).
 * Every message has a hard maximum (SOCKS5_*_MAX), so `need` never exceeds it.
 */
#ifndef GOST_PROTO_SOCKS5_H
#define GOST_PROTO_SOCKS5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/addr.h"

#define SOCKS5_VER          0x05
#define SOCKS5_USERPASS_VER 0x01

enum {
    SOCKS5_METHOD_NOAUTH = 0x00,
    SOCKS5_METHOD_USERPASS = 0x02,
    SOCKS5_METHOD_TLS = 0x80,      /* GOST: TLS on the raw connection, then the request */
    SOCKS5_METHOD_TLS_AUTH = 0x82, /* GOST: TLS, then RFC 1929 inside it */
    SOCKS5_METHOD_NONE = 0xFF,     /* no acceptable method */
};

enum {
    SOCKS5_CMD_CONNECT = 0x01,
    SOCKS5_CMD_BIND = 0x02,
    SOCKS5_CMD_UDP = 0x03,    /* UDP ASSOCIATE */
    SOCKS5_CMD_MBIND = 0xF2,  /* GOST: multiplexed BIND (smux) */
    SOCKS5_CMD_UDPTUN = 0xF3, /* GOST: UDP over the TCP connection */
};

enum {
    SOCKS5_ATYP_IPV4 = 0x01,
    SOCKS5_ATYP_DOMAIN = 0x03,
    SOCKS5_ATYP_IPV6 = 0x04,
};

enum {
    SOCKS5_REP_SUCCEEDED = 0x00,
    SOCKS5_REP_FAILURE = 0x01,
    SOCKS5_REP_NOT_ALLOWED = 0x02,
    SOCKS5_REP_NET_UNREACHABLE = 0x03,
    SOCKS5_REP_HOST_UNREACHABLE = 0x04,
    SOCKS5_REP_CONN_REFUSED = 0x05,
    SOCKS5_REP_TTL_EXPIRED = 0x06,
    SOCKS5_REP_CMD_UNSUPPORTED = 0x07,
    SOCKS5_REP_ADDR_UNSUPPORTED = 0x08,
};

/* Largest encoded address (ATYP, len, 255-byte domain, port) and messages. */
#define SOCKS5_ADDR_MAX     (1 + 1 + 255 + 2)
#define SOCKS5_GREETING_MAX (2 + 255)
#define SOCKS5_USERPASS_MAX (1 + 1 + 255 + 1 + 255)
#define SOCKS5_REQUEST_MAX  (3 + SOCKS5_ADDR_MAX)
#define SOCKS5_UDP_HDR_MAX  (3 + SOCKS5_ADDR_MAX)

/* A SOCKS5 address. `host` is the dotted/colon text of an IP, or the domain (never empty, no NUL
 * byte inside: such domains are rejected as malformed). */
struct socks5_addr {
    uint8_t atyp;
    uint16_t port;
    uint8_t ip[16]; /* IPv4 in ip[0..4) */
    char host[256]; /* NUL-terminated text form of the host */
};

/* ---- addresses -------------------------------------------------------------------------- */

/* Decode ATYP | ADDR | PORT. Convention above. */
ssize_t socks5_addr_decode(const uint8_t *b, size_t n, struct socks5_addr *a, size_t *need);
/* Encode into b (cap >= SOCKS5_ADDR_MAX is always enough). Length or -ENOSPC / -EINVAL. */
ssize_t socks5_addr_encode(uint8_t *b, size_t cap, const struct socks5_addr *a);
/* From "host:port" (Go syntax): an IP literal gives IPv4/IPv6 (IPv4-mapped IPv6 → IPv4, like
 * Go), anything else a domain (1..255 bytes). "" host = 0.0.0.0. 0 or -EINVAL. */
int socks5_addr_parse(struct socks5_addr *a, const char *hostport);
/* From a socket address (AF_INET/AF_INET6; IPv4-mapped → IPv4). 0 or -EAFNOSUPPORT. */
int socks5_addr_from_gaddr(struct socks5_addr *a, const struct gaddr *g);
/* IP addresses only: to a socket address. 0 or -EINVAL for a domain. */
int socks5_addr_to_gaddr(const struct socks5_addr *a, struct gaddr *g);
/* "host:port" like Go's net.JoinHostPort ("[v6]:p"). Length or -ENOSPC. */
int socks5_addr_format(const struct socks5_addr *a, char *buf, size_t len);
/* 0.0.0.0:0 (the address of replies that carry none). */
void socks5_addr_zero(struct socks5_addr *a);

/* ---- method negotiation ----------------------------------------------------------------- */

/* VER NMETHODS METHODS: methods copied to methods[0..*nmethods) (room for 255). NMETHODS = 0 is
 * malformed (as in gosocks5). */
ssize_t socks5_greeting_decode(const uint8_t *b, size_t n, uint8_t *methods, size_t *nmethods,
                               size_t *need);
/* Length written (2 + n) or -ENOSPC / -EINVAL (n == 0 or > 255). */
ssize_t socks5_greeting_encode(uint8_t *b, size_t cap, const uint8_t *methods, size_t n);
/* Method selection reply: VER METHOD (2 bytes). */
void socks5_method_encode(uint8_t b[2], uint8_t method);
/* 2 bytes: 0 and *method, or -EPROTO (bad version). */
int socks5_method_decode(const uint8_t b[2], uint8_t *method);

/* Which method a server picks from the client's offer (inventory §5.2, see docs/socks.md):
 * with authentication (`auth`): 0x82 if offered and `tls` (TLS usable and not notls), else 0x02
 * if offered, else 0xFF; without: 0x80 if offered and `tls`, else 0x00 if offered, else 0x02
 * if offered (any credentials accepted), else 0xFF. */
uint8_t socks5_select_method(const uint8_t *methods, size_t n, bool auth, bool tls);

/* ---- RFC 1929 --------------------------------------------------------------------------- */

/* VER ULEN UNAME PLEN PASSWD; user/pass NUL-terminated into 256-byte buffers. Empty fields are
 * accepted (gosocks5 does). */
ssize_t socks5_userpass_decode(const uint8_t *b, size_t n, char user[256], char pass[256],
                               size_t *need);
/* Length or -ENOSPC / -EINVAL (a field longer than 255). */
ssize_t socks5_userpass_encode(uint8_t *b, size_t cap, const char *user, const char *pass);
/* Reply VER STATUS (status 0 = success). */
void socks5_userpass_reply_encode(uint8_t b[2], uint8_t status);
int socks5_userpass_reply_decode(const uint8_t b[2], uint8_t *status);

/* ---- requests and replies --------------------------------------------------------------- */

/* VER CMD RSV ATYP ADDR PORT (reply: VER REP RSV ...; same layout). The RSV byte is not checked
 * (gosocks5 ignores it). *code = CMD or REP. */
ssize_t socks5_request_decode(const uint8_t *b, size_t n, uint8_t *code, struct socks5_addr *a,
                              size_t *need);
/* a == NULL encodes 0.0.0.0:0. Length or -ENOSPC / -EINVAL. */
ssize_t socks5_request_encode(uint8_t *b, size_t cap, uint8_t code, const struct socks5_addr *a);
#define socks5_reply_decode socks5_request_decode
#define socks5_reply_encode socks5_request_encode

/* ---- UDP header ------------------------------------------------------------------------- */

/* RSV(2) FRAG(1) ATYP ADDR PORT. Classic RFC 1928 datagrams have RSV = 0 and FRAG = 0; GOST's
 * UDP-TUN frames have RSV = payload length and FRAG = 0xFF. */
struct socks5_udp_hdr {
    uint16_t rsv;
    uint8_t frag;
    struct socks5_addr addr;
};

ssize_t socks5_udp_hdr_decode(const uint8_t *b, size_t n, struct socks5_udp_hdr *h, size_t *need);
ssize_t socks5_udp_hdr_encode(uint8_t *b, size_t cap, const struct socks5_udp_hdr *h);

/* UDP-TUN frame header for a payload of plen bytes (1..65535) to/from `a`. */
ssize_t socks5_udptun_hdr_encode(uint8_t *b, size_t cap, const struct socks5_addr *a, size_t plen);

/* Incremental UDP-TUN decoder over a byte stream (pure state machine; the caller moves bytes).
 *
 *   struct socks5_tun_dec d; socks5_tun_dec_init(&d);
 *   loop: if (!d.in_payload) { k = socks5_tun_dec_header(&d, in, n); ...consume k... }
 *         else { take m = min(avail, d.remaining) payload bytes; socks5_tun_dec_payload(&d, m); }
 *
 * A frame with RSV = 0 carries no length; on a stream its payload would be "whatever is
 * available" (gosocks5's reading), which is not framing: it is decoded as an empty datagram. */
struct socks5_tun_dec {
    uint8_t hdr[SOCKS5_UDP_HDR_MAX];
    size_t hlen;
    bool in_payload; /* header complete: h is valid, `remaining` payload bytes follow */
    size_t remaining;
    struct socks5_udp_hdr h;
};

void socks5_tun_dec_init(struct socks5_tun_dec *d);
/* Feed header bytes. Returns how many of `in` were used (the header never takes more than it
 * needs), or < 0 if the header is malformed (the stream cannot be resynchronised: close it).
 * When the header completes, d->in_payload = true and d->remaining = its RSV. */
ssize_t socks5_tun_dec_header(struct socks5_tun_dec *d, const uint8_t *in, size_t n);
/* Account m <= d->remaining payload bytes; returns true when the frame is complete (the decoder
 * is then ready for the next header). */
bool socks5_tun_dec_payload(struct socks5_tun_dec *d, size_t m);

#endif
