/* bufconn: a read-buffering conn layer (DESIGN §3 "prefix (replay peeked bytes)").
 *
 * Wraps any conn and adds a bounded read buffer, so a handler can look at the first bytes of a
 * stream (protocol sniffing), read a protocol head up to a delimiter with a hard size limit, and
 * then hand the conn on: every later read returns the buffered bytes first, then passes through
 * to the inner conn unbuffered. Writes, shutdown and ctl pass through.
 *
 *   bufconn_peek(c, n, &p)      wait until >= n bytes are buffered (or EOF/error), do not consume
 *   bufconn_consume(c, n)       drop n buffered bytes (after a peek)
 *   bufconn_read_until(c, ...)  read up to and including a delimiter (HTTP heads: "\r\n\r\n")
 *   bufconn_read_line(c, ...)   same with "\n"
 *   bufconn_unwrap(c)           drop the layer once the buffer is empty (keeps splice possible)
 *
 * A prefixconn is the same layer created with bytes already in its buffer: after a parser has
 * consumed bytes from a stream that must be replayed (e.g. an HTTP head read elsewhere), wrap the
 * stream with prefixconn_new(inner, head, len); every bufconn_* function works on it.
 *
 * Conn contract of the layer:
 *   read:          buffered bytes first (at most what is buffered, no extra inner read), then
 *                  straight from inner; EOF seen while filling the buffer is reported after the
 *                  buffered bytes are drained. Honours c->rd_deadline (passed to inner).
 *   wait_readable: returns 0 at once while bytes (or a pending EOF) are buffered.
 *   ctl:           CONN_CTL_FD answers -ENOTSUP while bytes remain buffered and forwards to inner
 *                  once the buffer is empty; everything else forwards to inner.
 *   close:         frees the layer and the inner conn.
 * Memory: the buffer (cap bytes) is allocated on the first fill and released as soon as it has
 * been drained, so an idle long-lived bufconn costs only the small layer struct.
 *
 * All functions below require c to be a bufconn/prefixconn (checked with an assert), must run in
 * a fiber of the worker that owns the inner conn, and honour c->rd_deadline (-ETIMEDOUT) and
 * cancellation (-ECANCELED).
 *
 * Example (sniff, then parse an HTTP head with a 16 KiB limit):
 *
 *     c = bufconn_new(c, 4096);                         // consumes c
 *     const unsigned char *p;
 *     ssize_t n = bufconn_peek(c, 1, &p);
 *     if (n <= 0) { conn_close(c); return; }
 *     if (p[0] == 0x05) { ...socks5: conn_read from c as usual... }
 *     char head[16384];
 *     n = bufconn_read_until(c, "\r\n\r\n", head, sizeof head);
 *     if (n == -EMSGSIZE) { ...431/400, close... }
 *     ...
 *     c = bufconn_unwrap(c);  // inner conn if nothing is buffered: the relay may splice it
 */
#ifndef GOST_NET_BUFCONN_H
#define GOST_NET_BUFCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/conn.h"

/* Wrap inner (consumed) with a read buffer of cap bytes (cap >= 1; bigger values are used as
 * given, there is no upper clamp: callers choose their protocol's limit). Never fails (OOM
 * aborts). */
struct conn *bufconn_new(struct conn *inner, size_t cap);

/* A bufconn whose buffer starts with a copy of data[0..n) (cap = max(n, 1)): reads return these
 * bytes first, then inner's. Consumes inner. n == 0 still wraps (so the result is always a
 * bufconn and bufconn_unwrap() gives inner back). data is borrowed (copied). */
struct conn *prefixconn_new(struct conn *inner, const void *data, size_t n);

/* True if c is a bufconn/prefixconn layer. */
bool bufconn_is(const struct conn *c);

/* Wait until at least n bytes are buffered, EOF, or an error. Consumes nothing.
 * Returns the number of buffered bytes (>= n; fewer than n only at EOF, possibly 0) with *out
 * pointing at them (valid until the next call on c), or < 0: -EINVAL if n > cap, -ETIMEDOUT,
 * -ECANCELED, or the inner read error. Bytes buffered before an error stay buffered; EOF is
 * sticky (a later peek returns the same short count again). */
ssize_t bufconn_peek(struct conn *c, size_t n, const unsigned char **out);

/* Drop n buffered bytes (n <= bufconn_buffered(c), else -EINVAL). 0 on success. */
int bufconn_consume(struct conn *c, size_t n);

/* Bytes currently buffered (readable without touching inner). */
size_t bufconn_buffered(const struct conn *c);

/* Read bytes up to and including the first occurrence of delim (non-empty, NUL-terminated) into
 * buf and NUL-terminate it. At most max - 1 bytes are stored (max >= 2); bytes after the
 * delimiter are left buffered for later reads. max may exceed the buffer cap: bytes are copied
 * out as they arrive.
 * Returns the length stored (delimiter included, NUL excluded), or:
 *   0            EOF before any byte (clean end of stream);
 *   -EMSGSIZE    the delimiter was not found within max - 1 bytes (those bytes are consumed;
 *                buf holds them, NUL-terminated: the connection should be answered and closed);
 *   -ECONNRESET  EOF after some bytes but before the delimiter (buf holds them);
 *   -ETIMEDOUT / -ECANCELED / inner errors.
 * buf must not be NULL. */
ssize_t bufconn_read_until(struct conn *c, const char *delim, char *buf, size_t max);

/* bufconn_read_until(c, "\n", buf, max). */
ssize_t bufconn_read_line(struct conn *c, char *buf, size_t max);

/* If nothing is buffered (and no EOF is pending), free the layer and return its inner conn
 * (which inherits the layer's deadlines); otherwise return c unchanged. Either way the caller
 * owns the result. Lets a handler splice the plain socket after a handshake read through a
 * bufconn. Stacked empty buffering layers come off together; a c that is not a bufconn is
 * returned as it is. */
struct conn *bufconn_unwrap(struct conn *c);

#endif
