/* addr: socket addresses, "host:port" strings, name resolution.
 *
 * Formats follow Go's net package (GOST prints and parses addresses that way): "1.2.3.4:80",
 * "[::1]:80", "[fe80::1%eth0]:80"; IPv4-mapped IPv6 addresses print as IPv4.
 */
#ifndef GOST_CORE_ADDR_H
#define GOST_CORE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct gaddr {
    struct sockaddr_storage ss;
    socklen_t len; /* 0 = unset */
};

/* Longest addr_format output including the NUL ("[v6%scope]:65535", or a unix path). */
#define ADDR_STRLEN 128

/* Split "host:port", "[v6]:port" or ":port" (empty host) like Go's net.SplitHostPort. host gets
 * the host without brackets, NUL-terminated. An empty port ("host:") gives port 0. Errors:
 * -EINVAL (missing port, too many colons, bad brackets, port not a number in 0..65535),
 * -ENAMETOOLONG (host does not fit hostlen). */
int addr_split(const char *hostport, char *host, size_t hostlen, uint16_t *port);

/* Join host and port the other way ("[" "]" around hosts containing ':'). Returns the length
 * written (excluding NUL), or -ENOSPC. */
int addr_join(const char *host, uint16_t port, char *buf, size_t buflen);

/* Format an address: "1.2.3.4:80", "[::1]:80", a unix socket path ("@name" for an abstract one),
 * "" for an unset address. Returns the length, or -ENOSPC / -EAFNOSUPPORT. */
int addr_format(const struct gaddr *a, char *buf, size_t buflen);

/* "a.b.c.d" for 4 bytes in network order into out (NUL-terminated); returns the length. */
size_t addr_format_ip4(const uint8_t ip[4], char out[16]);

/* Parse a numeric host (IPv4, IPv6 with optional %scope; "" = 0.0.0.0) and port into out,
 * without any lookup. 0 or -EINVAL. */
int addr_from_numeric(const char *host, uint16_t port, struct gaddr *out);

/* Parse "host:port" with a numeric host (addr_split + addr_from_numeric). 0 or -EINVAL. */
int addr_parse(const char *hostport, struct gaddr *out);

/* Resolve host (numeric or name; "" = 0.0.0.0) and port. Numeric hosts are parsed directly;
 * names go to getaddrinfo on the helper pool (pool.h), preferring the first IPv4 answer (GOST's
 * default), else the first IPv6 one. socktype: SOCK_STREAM or SOCK_DGRAM. Must be called in a
 * fiber for names. 0, -ETIMEDOUT, -ECANCELED, -ENOENT (no such host / no address), -EAGAIN
 * (temporary resolver failure), -EINVAL. Sets fiber_err on failure. */
int addr_resolve(const char *host, uint16_t port, int socktype, struct gaddr *out,
                 int64_t deadline);

/* A unix socket address from a path ("@name" = abstract namespace). 0 or -ENAMETOOLONG. */
int addr_from_unix(const char *path, struct gaddr *out);

/* Port of an AF_INET/AF_INET6 address (0 otherwise). */
uint16_t addr_port(const struct gaddr *a);
/* Set the port of an AF_INET/AF_INET6 address. */
void addr_set_port(struct gaddr *a, uint16_t port);
/* Fill from a sockaddr (copied). */
void addr_from_sockaddr(struct gaddr *a, const struct sockaddr *sa, socklen_t len);
/* Same family, address and port (unix: same path). */
bool addr_equal(const struct gaddr *a, const struct gaddr *b);

#endif
