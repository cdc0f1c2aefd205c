/* listen_addr: turn a service address (":8080", "127.0.0.1:53", "[::1]:80", "host:80") into a
 * socket address at start-up. An empty host means every address (dual-stack "::").
 * Resolves names with a blocking getaddrinfo: main thread only. 0, or -errno with err set. */
#ifndef GOST_LISTENER_LISTEN_ADDR_H
#define GOST_LISTENER_LISTEN_ADDR_H

#include <stddef.h>

#include "core/addr.h"

int listen_addr_resolve(const char *addr, int socktype, struct gaddr *out, char *err,
                        size_t errlen);

#endif
