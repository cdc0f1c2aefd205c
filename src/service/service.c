/* service: accept loops, session fibers, graceful stop. See service.h. */
#include "service/service.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <time.h>

#include "core/clock.h"
#include "core/fiber.h"
#include "core/relay.h"
#include "core/xmalloc.h"

/* Kept by every relayed connection while it lives, so it is compact: IP addresses only (a unix
 * peer logs as ""), 80 bytes on x86_64. */
struct session_tail {
    struct service *svc;
    uint64_t sid;
    int64_t start_ms;
    struct sockaddr_in6 remote, local; /* AF_INET fits in it too; family 0 = unknown */
};

static void tail_addr_store(struct sockaddr_in6 *dst, const char *text)
{
    struct gaddr ga;
    memset(dst, 0, sizeof *dst);
    if (addr_parse(text, &ga) == 0 && ga.len <= sizeof *dst)
        memcpy(dst, &ga.ss, ga.len);
}

static void tail_addr_format(const struct sockaddr_in6 *a, char *buf, size_t len)
{
    struct gaddr ga;
    buf[0] = '\0';
    if (a->sin6_family == 0)
        return;
    addr_from_sockaddr(&ga, (const struct sockaddr *)a,
                       a->sin6_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof *a);
    addr_format(&ga, buf, len);
}

static struct service **g_svcs;
/* Session ids: unique in the process, not guessable across restarts (seeded from the clock). */
static _Atomic uint64_t g_next_sid;
static size_t g_nsvcs;

static void session_link(struct session *s)
{
    struct session_list *l = &s->svc->sessions[s->worker];
    s->prev = NULL;
    s->next = l->head;
    if (l->head)
        l->head->prev = s;
    l->head = s;
}

static void session_unlink(struct session *s)
{
    struct session_list *l = &s->svc->sessions[s->worker];
    if (s->prev)
        s->prev->next = s->next;
    else
        l->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

static void sid_format(char *buf, size_t len, uint64_t sid)
{
    snprintf(buf, len, "%016" PRIx64, sid);
}

struct session_start {
    struct service *svc;
    struct conn *c;
};

static void session_fiber(void *arg)
{
    struct session_start *st = arg;
    struct session s;
    memset(&s, 0, sizeof s);
    s.svc = st->svc;
    struct conn *c = st->c;
    free(st);

    s.fiber = fiber_self();
    s.worker = sched_worker_id();
    s.start_ms = clock_now_ms();
    uint64_t sid = atomic_fetch_add(&g_next_sid, 1);
    sid_format(s.sid, sizeof s.sid, sid);
    conn_remote_str(c, s.remote, sizeof s.remote);
    conn_local_str(c, s.local, sizeof s.local);
    s.log_fields[0] = LOG_FIELD_STR("sid", s.sid);
    s.log_fields[1] = LOG_FIELD_STR("remote", s.remote);
    s.log_fields[2] = LOG_FIELD_STR("local", s.local);
    s.log = (struct log_ctx){.parent = &s.svc->log, .fields = s.log_fields, .n = 3};

    atomic_fetch_add(&s.svc->total_conns, 1);
    atomic_fetch_add(&s.svc->current_conns, 1);
    session_link(&s);
    LOG(LOG_INFO, &s.log, "%s <> %s", s.remote, s.local);
    fiber_clear_err();
    s.svc->handler->type->handle(s.svc->handler, c, &s);
    session_unlink(&s);
}

void session_log_end(struct session *s, uint64_t in_bytes, uint64_t out_bytes)
{
    struct service *svc = s->svc;
    atomic_fetch_sub(&svc->current_conns, 1);
    atomic_fetch_add(&svc->in_bytes, in_bytes);
    atomic_fetch_add(&svc->out_bytes, out_bytes);
    if (log_enabled(LOG_INFO)) {
        int64_t ns = (clock_update() - s->start_ms) * 1000000;
        LOGX(LOG_INFO, &s->log,
             LOG_FIELDS(LOG_FIELD_DUR("duration", ns), LOG_FIELD_UINT("inputBytes", in_bytes),
                        LOG_FIELD_UINT("outputBytes", out_bytes)),
             "%s >< %s", s->remote, s->local);
    }
}

struct session_tail *session_tail_new(struct session *s)
{
    struct session_tail *t = xmalloc(sizeof *t);
    t->svc = s->svc;
    t->sid = strtoull(s->sid, NULL, 16);
    t->start_ms = s->start_ms;
    tail_addr_store(&t->remote, s->remote);
    tail_addr_store(&t->local, s->local);
    return t;
}

void session_tail_finish(void *arg, const struct relay_stats *st)
{
    struct session_tail *t = arg;
    /* Rebuild a minimal session on the stack for the log line. */
    struct session s;
    memset(&s, 0, sizeof s);
    s.svc = t->svc;
    s.start_ms = t->start_ms;
    sid_format(s.sid, sizeof s.sid, t->sid);
    tail_addr_format(&t->remote, s.remote, sizeof s.remote);
    tail_addr_format(&t->local, s.local, sizeof s.local);
    s.log_fields[0] = LOG_FIELD_STR("sid", s.sid);
    s.log_fields[1] = LOG_FIELD_STR("remote", s.remote);
    s.log_fields[2] = LOG_FIELD_STR("local", s.local);
    s.log = (struct log_ctx){.parent = &s.svc->log, .fields = s.log_fields, .n = 3};
    session_log_end(&s, st->a_to_b, st->b_to_a);
    free(t);
}

/* ---- accept loop ------------------------------------------------------------------------- */

static void accept_fiber(void *arg)
{
    struct listener *l = arg;
    struct service *svc = l->svc;
    int backoff_ms = 5;
    for (;;) {
        struct conn *c = NULL;
        int rc = l->type->accept(l, &c);
        if (rc == -ECANCELED || rc == -EBADF || sched_stopping())
            break;
        if (rc < 0) {
            atomic_fetch_add(&svc->total_errs, 1);
            LOG(LOG_ERROR, &svc->log, "accept: %s", fiber_err()[0] ? fiber_err() : strerror(-rc));
            if (fiber_sleep_ms(backoff_ms) < 0)
                break;
            backoff_ms = backoff_ms < 1000 ? backoff_ms * 2 : 1000;
            continue;
        }
        backoff_ms = 5;
        struct session_start *st = xmalloc(sizeof *st);
        st->svc = svc;
        st->c = c;
        if (!fiber_spawn(session_fiber, st)) {
            LOG(LOG_ERROR, &svc->log, "cannot start a session: %s", strerror(errno));
            conn_close(c);
            free(st);
        }
    }
}

static void service_worker_start(void *arg, int worker)
{
    (void)arg;
    for (size_t i = 0; i < g_nsvcs; i++) {
        struct service *svc = g_svcs[i];
        struct listener *l = worker < svc->nlisteners ? svc->listeners[worker] : NULL;
        if (!l)
            continue;
        if (l->type->start(l) < 0)
            log_fatal(&svc->log, "listen on %s: %s", l->addr, fiber_err());
        if (!fiber_spawn(accept_fiber, l))
            log_fatal(&svc->log, "cannot start the accept loop: %s", strerror(errno));
    }
}

static void service_worker_stop(void *arg)
{
    (void)arg;
    int worker = sched_worker_id();
    for (size_t i = 0; i < g_nsvcs; i++) {
        struct service *svc = g_svcs[i];
        struct listener *l = worker < svc->nlisteners ? svc->listeners[worker] : NULL;
        if (l)
            l->type->close(l);
        for (struct session *s = svc->sessions[worker].head; s; s = s->next)
            fiber_cancel(s->fiber);
    }
    relay_shutdown_all();
}

void services_start(struct service **svcs, size_t n)
{
    g_svcs = svcs;
    g_nsvcs = n;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    atomic_store(&g_next_sid, ((uint64_t)ts.tv_sec << 24) ^ ((uint64_t)ts.tv_nsec >> 6));
    for (size_t i = 0; i < n; i++)
        LOG(LOG_INFO, &svcs[i]->log, "listening on %s/%s",
            svcs[i]->cfg->addr ? svcs[i]->cfg->addr : "", svcs[i]->ltype->name);
    sched_on_stop(service_worker_stop, NULL);
    sched_on_each_worker(service_worker_start, NULL);
}
