/* socks5_int: what the socks5 handler's files (socks5.c, socks5_udp.c) share. */
#ifndef GOST_HANDLER_SOCKS5_INT_H
#define GOST_HANDLER_SOCKS5_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/conn.h"
#include "core/sock.h"
#include "net/smux.h"
#include "proto/socks5.h"
#include "service/component.h"

struct session;
struct auther;
struct tls_server_ctx;

struct socks5_handler {
    struct handler base;
    struct auther *auther;      /* NULL = no authentication */
    struct tls_server_ctx *tls; /* for methods 0x80/0x82; NULL with notls */
    int64_t read_timeout_ms;    /* negotiation deadline (default 15 s) */
    bool enable_udp, enable_bind;
    uint16_t bind_min, bind_max; /* udp.bindRange (0 = any port) */
    char *public_host;           /* publicAddr host, or NULL */
    bool hash_host;              /* hash=host: the selector hashes the target, not the client */
    bool compat;                 /* comp=true: MBIND streams start without the peer reply */
    struct smux_config mux;      /* MBIND: mux.* metadata */
};

/* Write a reply (rep, bound address or NULL = 0.0.0.0:0). 0 or -errno. */
int socks5_handler_reply(struct conn *c, uint8_t rep, const struct socks5_addr *bnd);

/* UDP-TUN 0xF3 (dst: 0.0.0.0:0 = outbound association; a port = bind). Consumes c, logs the end
 * of the session. */
void socks5_handle_udptun(struct socks5_handler *h, struct conn *c, struct session *s,
                          const struct socks5_addr *dst);
/* BIND 0x02 (bind=true): one peer on a port of this host. Consumes c, logs the end. */
void socks5_handle_bind(struct socks5_handler *h, struct conn *c, struct session *s,
                        const struct socks5_addr *dst);
/* BIND and MBIND, first step: unless bind=true is off, listen on dst on this host (strict: a
 * port in use fails) and send the success reply whose BND is the control connection's local IP
 * (or publicAddr) and the bound port. 0 with ln open and *port set; on failure the session is
 * ended (reply, log line tagged `cmd`, c closed, session end logged) and -1 is returned. */
int socks5_bind_listen(struct socks5_handler *h, struct conn *c, struct session *s, const char *cmd,
                       const struct socks5_addr *dst, int backlog, struct sock_listener *ln,
                       uint16_t *port);
/* Ends a BIND/MBIND session that failed: optional reply `rep` (0 = none), one error line,
 * counters, c closed, the session's end logged. */
void socks5_bind_fail(struct socks5_handler *h, struct conn *c, struct session *s, const char *cmd,
                      uint8_t rep, const char *why, int rc);
/* MBIND 0xF2 (bind=true): a bound port served over smux on c. Consumes c, logs the end. */
void socks5_handle_mbind(struct socks5_handler *h, struct conn *c, struct session *s,
                         const struct socks5_addr *dst);
/* UDP ASSOCIATE 0x03 with a real UDP relay. Consumes c, logs the end of the session. */
void socks5_handle_udp(struct socks5_handler *h, struct conn *c, struct session *s);

#endif
