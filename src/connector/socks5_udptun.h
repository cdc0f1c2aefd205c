/* socks5_udptun: GOST's UDP-TUN framing (inventory §5.3) as a message-preserving conn over a
 * stream conn: used by the socks5 connector (UDP through a SOCKS5 hop, command 0xF3) and by the
 * socks5 handler (the server side of 0xF3).
 *
 * Each datagram travels as RSV(2) = payload length | FRAG = 0xFF | ATYP ADDR PORT | payload.
 *   conn_write(c, p, n): one frame addressed to the conn's target (1..65535 bytes; n == 0 writes
 *                        nothing: an empty frame would read as RSV = 0, which GOST decodes as
 *                        "whatever is available"); returns n.
 *   conn_read(c, b, n):  the payload of the next frame (truncated to n: use 65535-byte buffers);
 *                        frames with an empty payload are skipped; 0 = the stream ended at a
 *                        frame boundary; -EPROTO for a malformed frame (the stream is dead);
 *                        -ECONNRESET for a stream cut inside a frame.
 * udptun_recv / udptun_send do the same with an explicit peer address (server side).
 * Reads keep their state across -ETIMEDOUT (the relay probes with an expired deadline).
 * ctl: CONN_CTL_IS_DGRAM answers 0, CONN_CTL_FD -ENOTSUP; the rest goes to the inner conn.
 * One reader and one writer may run at the same time (different fibers).
 */
#ifndef GOST_CONNECTOR_SOCKS5_UDPTUN_H
#define GOST_CONNECTOR_SOCKS5_UDPTUN_H

#include <stddef.h>
#include <sys/types.h>

#include "core/conn.h"
#include "proto/socks5.h"

/* Wrap `inner` (CONSUMED). `target` (copied; NULL = 0.0.0.0:0) addresses conn_write frames.
 * Never fails (OOM aborts). */
struct conn *udptun_conn_new(struct conn *inner, const struct socks5_addr *target);

/* Read one frame: payload length (possibly truncated to n), `from` = its address (may be NULL).
 * 0 = end of stream. Same errors as conn_read. c must be a udptun conn. */
ssize_t udptun_recv(struct conn *c, void *buf, size_t n, struct socks5_addr *from);

/* Write one frame with payload p[0..n) and address `to` (n == 0: nothing). n or -errno. */
ssize_t udptun_send(struct conn *c, const void *p, size_t n, const struct socks5_addr *to);

#endif
