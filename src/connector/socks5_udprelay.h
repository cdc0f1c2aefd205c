/* socks5_udprelay: the client side of a standard SOCKS5 UDP ASSOCIATE (connector relay=udp) as a
 * message-preserving conn: each conn_write sends one RFC 1928 datagram (RSV 0, FRAG 0, the
 * target's address) to the server's relay port from a connected UDP socket; each conn_read
 * returns the payload of one datagram from the relay (datagrams from elsewhere, fragmented or
 * malformed ones are skipped). The TCP control connection is kept open for the association's
 * lifetime and closed with the conn. ctl: CONN_CTL_IS_DGRAM answers 0, CONN_CTL_FD -ENOTSUP.
 */
#ifndef GOST_CONNECTOR_SOCKS5_UDPRELAY_H
#define GOST_CONNECTOR_SOCKS5_UDPRELAY_H

#include "core/conn.h"
#include "proto/socks5.h"

/* Connect a UDP socket to `relay` (the reply's BND; an unspecified address means the control
 * connection's peer) and wrap it. Consumes tcp (closed on failure). 0 and *out, or -errno with
 * fiber_err set. */
int udprelay_conn_new(struct conn *tcp, const struct socks5_addr *relay,
                      const struct socks5_addr *target, struct conn **out);

#endif
