/* service: one listener + one handler (+ forwarder), the accept loop and the sessions
 * (DESIGN §1, §2).
 *
 * A service is built once on the main thread (service/build.c) and then started on every worker
 * (per-worker listeners) or on worker 0 (single listeners such as udp). Each worker runs one
 * accept-loop fiber per listener instance; every accepted conn gets its own session fiber, which
 * calls the handler. A graceful stop closes the listeners and cancels the session fibers; relays
 * handed to the splice pump are closed by the relay module.
 */
#ifndef GOST_SERVICE_SERVICE_H
#define GOST_SERVICE_SERVICE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/log.h"
#include "core/sched.h"
#include "service/component.h"

struct chain;
struct router;
struct forwarder;

/* Per-worker list of live sessions, so a stop can cancel them. */
struct session_list {
    struct session *head;
};

struct service {
    char *name;
    const struct cfg_service *cfg; /* borrowed from the build's cfg */
    const struct listener_type *ltype;
    struct listener **listeners; /* one per worker (NULL where none runs) */
    int nlisteners;
    struct handler *handler;
    struct router *router;
    struct forwarder *fwd;
    struct session_list *sessions; /* [nworkers] */
    struct log_field log_fields[4];
    struct log_ctx log; /* service, listener, handler, kind */
    _Atomic uint64_t total_conns, current_conns, total_errs, in_bytes, out_bytes;
};

/* One accepted connection being served. Lives on its session fiber's stack; the handler borrows
 * it for the duration of handle(). */
struct session {
    struct service *svc;
    struct session *prev, *next; /* in svc->sessions[worker] */
    struct fiber *fiber;
    int worker;
    char sid[24];
    char remote[ADDR_STRLEN];
    char local[ADDR_STRLEN];
    int64_t start_ms;
    struct log_field log_fields[4];
    struct log_ctx log;    /* parent: svc->log; sid, remote, local, client */
    const char *client_id; /* authenticated id, or NULL */
};

/* The part of a session that outlives its fiber when the relay continues in the splice pump:
 * what the closing log line and the service counters need. Small on purpose (it is held by every
 * idle relayed connection). Created by session_tail_new, consumed by session_tail_finish. */
struct session_tail;

/* Start every built service: register stop hooks and the per-worker start-up. Call after
 * sched_init and before sched_run. */
void services_start(struct service **svcs, size_t n);

/* Session helpers for handlers. */
/* Log "<remote> >< <local>" with duration and byte counts, update counters. */
void session_log_end(struct session *s, uint64_t in_bytes, uint64_t out_bytes);
/* Snapshot what session_log_end needs, for a relay that may outlive the fiber. */
struct session_tail *session_tail_new(struct session *s);
/* relay_done_fn-compatible: logs the end line with the relay's byte counts, frees the tail. */
struct relay_stats;
void session_tail_finish(void *tail, const struct relay_stats *st);

#endif
