/* sock_listener: the stream-socket listener shared by listener types built on TCP (tcp, tls) and
 * unix (listener/tcp.c). A type that accepts on a TCP socket embeds `struct sock_lst` as the
 * FIRST member of its instance (so that worker 0's instance can be read as a sock_lst when
 * other workers join its port-0 binding) and calls these from its own ops.
 */
#ifndef GOST_LISTENER_SOCK_LISTENER_H
#define GOST_LISTENER_SOCK_LISTENER_H

#include <stdbool.h>

#include "core/sock.h"
#include "service/component.h"

struct sock_lst {
    struct listener base;
    int fd; /* bound listening socket until start() hands it to sl */
    bool opened;
    struct sock_listener sl;
};

/* listener ops of a TCP socket listener: init binds (metadata `backlog`), start registers the
 * socket with the worker, accept returns plain TCP conns, close stops, free releases. */
int sock_lst_init_tcp(struct listener *l, struct cfg_errs *errs);
int sock_lst_start(struct listener *l);
int sock_lst_accept(struct listener *l, struct conn **out);
void sock_lst_close(struct listener *l);
void sock_lst_free(struct listener *l);

#endif
