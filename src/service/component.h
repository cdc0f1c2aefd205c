/* component: the four families of pluggable types (DESIGN §5) — listener, handler, dialer,
 * connector — and the objects a service build hands them.
 *
 * Every family has the same shape: a static `*_type` (name, instance size, ops) registered in
 * registry.c, and an instance struct that begins with the family's base struct. Instances are
 * allocated zeroed with the type's `size` by the builder (service/build.c), which sets the base
 * fields, then calls `init` with the config; `init` validates the metadata and reports every
 * problem with a position into `errs` (nothing is parsed on the data path). `free` releases what
 * init allocated (the builder frees the instance memory itself).
 *
 * Threading: listeners are per worker (each worker owns its instance); handlers, dialers and
 * connectors are built once and shared read-only by all workers — per-request state lives on the
 * session fiber's stack or in the conns it creates.
 */
#ifndef GOST_SERVICE_COMPONENT_H
#define GOST_SERVICE_COMPONENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/cfg_err.h"
#include "config/types.h"
#include "core/conn.h"

struct session;
struct service;
struct router;
struct forwarder;
struct listener;
struct handler;
struct dialer;
struct connector;

/* Alias list for the metadata getters (config/md.h): MD_KEYS("ttl", "keepalive.ttl"). */
#define MD_KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- listener --------------------------------------------------------------------------- */

enum {
    LISTENER_PER_WORKER = 1u << 0, /* one instance per worker (SO_REUSEPORT); else one in all,
                                      living on worker 0 */
};

struct listener_type {
    const char *name;
    size_t size;
    unsigned flags;
    /* Main thread, before the workers run: read cfg (listener->cfg, service addr), validate,
     * and bind the socket(s) so that "address in use" is a startup error. 0 or -errno. */
    int (*init)(struct listener *l, struct cfg_errs *errs);
    /* On the owning worker, in a fiber: register fds with this worker's loop. 0 or -errno. */
    int (*start)(struct listener *l);
    /* On the owning worker, in a fiber: next accepted conn (the caller owns it). Blocks;
     * -ECANCELED after close or on cancellation; other errors are logged by the accept loop. */
    int (*accept)(struct listener *l, struct conn **out);
    /* On the owning worker: stop accepting; a blocked accept returns -ECANCELED. */
    void (*close)(struct listener *l);
    /* Any thread, after close (or if start never ran): free what init/start allocated. */
    void (*free)(struct listener *l);
};

struct listener {
    const struct listener_type *type;
    struct service *svc;             /* borrowed */
    const struct cfg_listener *cfg;  /* borrowed (never NULL: the builder fills a default) */
    const struct cfg *root;          /* borrowed: the whole config (named objects, default tls) */
    const char *addr;                /* service address, borrowed */
    const struct cval *svc_cfg_node; /* the service's config node, for error positions */
    int worker;                      /* owning worker id */
};

/* ---- handler ---------------------------------------------------------------------------- */

enum {
    HANDLER_AUTH = 1u << 0, /* authenticates clients with handler auth/auther/authers */
};

struct handler_type {
    const char *name;
    size_t size;
    unsigned flags;
    /* Main thread: read handler->cfg metadata, validate. 0 or -errno. */
    int (*init)(struct handler *h, struct cfg_errs *errs);
    /* In the session fiber: serve one accepted conn. Consumes c. Logs what it did through the
     * session (s is borrowed and outlives the call). */
    void (*handle)(struct handler *h, struct conn *c, struct session *s);
    void (*free)(struct handler *h);
};

struct handler {
    const struct handler_type *type;
    struct service *svc;           /* borrowed */
    const struct cfg_handler *cfg; /* borrowed (never NULL) */
    const struct cfg *root;        /* borrowed: the whole config (authers, default tls...) */
    struct router *router;         /* owned by the service: chain + dial options */
    struct forwarder *fwd;         /* owned by the service; NULL without a forwarder */
    int retries;                   /* handler.retries */
};

/* ---- dialer ----------------------------------------------------------------------------- */

enum {
    DIALER_DGRAM = 1u << 0, /* the transport is datagram based (udp) */
    DIALER_NOOP = 1u << 1,  /* no transport at all (direct/virtual): the connector dials */
};

struct dial_opts {
    int64_t deadline; /* absolute, clock.h */
};

struct dialer_type {
    const char *name;
    size_t size;
    unsigned flags;
    int (*init)(struct dialer *d, struct cfg_errs *errs);
    /* Open the transport to addr (the node address). 0 and *out, or -errno + fiber_err. */
    int (*dial)(struct dialer *d, const char *addr, const struct dial_opts *o, struct conn **out);
    /* Transport handshake over c (TLS, WebSocket...). Consumes c; 0 and *out, or -errno.
     * NULL = identity. */
    int (*handshake)(struct dialer *d, struct conn *c, const struct dial_opts *o,
                     struct conn **out);
    void (*free)(struct dialer *d);
};

struct dialer {
    const struct dialer_type *type;
    const struct cfg_dialer *cfg; /* borrowed; may be NULL (defaults) */
    const struct cfg *root;       /* borrowed: the whole config */
    const char *node_addr;        /* borrowed */
};

/* ---- connector -------------------------------------------------------------------------- */

struct connector_type {
    const char *name;
    size_t size;
    int (*init)(struct connector *c, struct cfg_errs *errs);
    /* Ask the node behind `in` to connect to addr over network ("tcp", "udp", "unix").
     * Consumes in; 0 and *out, or -errno + fiber_err. */
    int (*connect)(struct connector *c, struct conn *in, const char *network, const char *addr,
                   const struct dial_opts *o, struct conn **out);
    void (*free)(struct connector *c);
};

struct connector {
    const struct connector_type *type;
    const struct cfg_connector *cfg; /* borrowed; may be NULL (defaults) */
    const struct cfg *root;          /* borrowed: the whole config */
};

/* ---- registry (registry.c) -------------------------------------------------------------- */

const struct listener_type *registry_listener(const char *name);
const struct handler_type *registry_handler(const char *name);
const struct dialer_type *registry_dialer(const char *name);
const struct connector_type *registry_connector(const char *name);

/* Report a type that is not compiled in: "<family> type "x" is not supported yet" for a GOST
 * type (config/gost_types.h), "unknown <family> type "x"" otherwise. `family` is a
 * gost_family value. */
void registry_type_error(struct cfg_errs *errs, struct cval_pos pos, int family,
                         const char *family_name, const char *name);

/* Write the compiled-in type names of every family (for -V / --help). */
void registry_print(void *file /* FILE * */);

#endif
