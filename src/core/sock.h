/* sock: stream socket base transports (TCP and unix) as `struct conn`, dialing, listening,
 * accepting. Everything here must run in a fiber on a worker (fds are bound to its epoll),
 * except sock_listen_tcp/sock_listen_unix which only create sockets and work anywhere.
 */
#ifndef GOST_CORE_SOCK_H
#define GOST_CORE_SOCK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/conn.h"
#include "core/iofd.h"

/* Wrap a connected stream socket fd (takes it; closed on failure; made non-blocking if it is
 * not) as a conn named "tcp" or "unix" (by its family). Registers it with this worker's epoll.
 * NULL on failure (errno set). The conn answers CONN_CTL_FD, _LOCAL_ADDR, _REMOTE_ADDR,
 * _NODELAY. */
struct conn *conn_sock_new(int fd);

/* True if c is a conn_sock itself (not a layer above one). */
bool conn_sock_is_bare(const struct conn *c);

/* If c is a bare conn_sock: move its fd and epoll registration into dst (iofd_move: one
 * EPOLL_CTL_MOD) and free the conn — c is consumed. Else -EINVAL, or -errno if the move
 * failed; c is untouched then. For the splice relay, which drives the fds in callback mode. */
int conn_sock_take(struct conn *c, struct iofd *dst);

/* Options for sock_dial_tcp_ex; zero-initialise for defaults. */
struct sock_dial_opts {
    const struct gaddr *local; /* bind to this local address first (NULL: any) */
    const char *ifname;        /* SO_BINDTODEVICE (NULL: none) */
    uint32_t mark;             /* SO_MARK (0: none) */
};

/* Connect to `to` (non-blocking connect, wait writable until deadline, SO_ERROR), TCP_NODELAY
 * on. *out receives a new conn owned by the caller. 0, or -errno (-ETIMEDOUT, -ECANCELED,
 * -ECONNREFUSED, ...) with fiber_err set to "dial tcp <addr>: <reason>". */
int sock_dial_tcp(const struct gaddr *to, int64_t deadline, struct conn **out);
int sock_dial_tcp_ex(const struct gaddr *to, const struct sock_dial_opts *opts, int64_t deadline,
                     struct conn **out);

/* Connect to a unix stream socket ("@name" = abstract). Same contract as sock_dial_tcp. */
int sock_dial_unix(const char *path, int64_t deadline, struct conn **out);

/* Create a listening TCP socket (SO_REUSEADDR; SO_REUSEPORT if asked, so each worker can bind
 * its own; IPV6_V6ONLY off for "[::]"). backlog <= 0 means SOMAXCONN. *fd_out is a non-blocking
 * close-on-exec fd owned by the caller (hand it to sock_listener_open). 0 or -errno (fiber_err
 * set). */
int sock_listen_tcp(const struct gaddr *addr, bool reuseport, int backlog, int *fd_out);

/* Create a listening unix socket at path ("@name" = abstract); a stale socket file at path is
 * removed first. mode != 0: chmod the socket file. Returns the fd (caller owns it) or -errno. */
int sock_listen_unix(const char *path, int mode);

/* An accepting socket bound to one worker. Embed or allocate; open with sock_listener_open. */
struct sock_listener {
    struct iofd io;
    bool is_unix;
    uint8_t local_len;         /* > 0: bound to a specific IP, every accepted conn's local addr */
    struct sockaddr_in6 local; /* (see sock_listener_open) */
};

/* Take the listening fd (closed on failure) and register it. 0 or -errno. */
int sock_listener_open(struct sock_listener *l, int fd);

/* Accept one connection: *out gets a new conn_sock (TCP_NODELAY on for TCP). Parks on EAGAIN;
 * on EMFILE/ENFILE/ENOBUFS/ENOMEM it backs off (10 ms, doubling up to 1 s) and retries instead
 * of spinning. Transient per-connection errors (ECONNABORTED, EPROTO, ...) are skipped.
 * 0, -ETIMEDOUT, -ECANCELED, -EBADF (listener closed by another fiber: do not touch l then), or
 * another -errno. */
int sock_accept(struct sock_listener *l, struct conn **out, int64_t deadline);

/* Local address of the listener (e.g. to learn the port after binding port 0). 0 or -errno. */
int sock_listener_addr(struct sock_listener *l, struct gaddr *out);

/* Close the listening fd (a fiber parked in sock_accept gets -EBADF). The struct is not freed. */
void sock_listener_close(struct sock_listener *l);

#endif
