/* sock_int: helpers shared by the socket files of core/ (internal). */
#ifndef GOST_CORE_SOCK_INT_H
#define GOST_CORE_SOCK_INT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/conn.h"
#include "core/iofd.h"

struct conn_sock {
    struct conn base;
    struct iofd io;
    /* Addresses known without asking the kernel (an accepted TCP connection: the peer from
     * accept4, the local address from a listener bound to a specific IP); len 0 = ask. */
    uint8_t peer_len, local_len;
    struct sockaddr_in6 peer, local;
};

/* Wrap a non-blocking, close-on-exec stream socket (taken; closed on failure). NULL on failure
 * with errno set. */
struct conn_sock *conn_sock_wrap(int fd, bool is_unix);

/* Park until fd is readable without consuming anything: a read after 0 will not block. */
int sock_wait_readable(struct iofd *io, int64_t deadline);

/* getsockname/getpeername into a gaddr. 0 or -errno. */
int sock_name(int fd, bool peer, struct gaddr *out);

/* Text for an error code in fiber_err messages ("i/o timeout" for -ETIMEDOUT, like Go). */
const char *sock_strerror(int neg_errno);

#endif
