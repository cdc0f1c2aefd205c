/* handler socks4 / socks4a: SOCKS4 and SOCKS4a CONNECT (both types accept both forms, as GOST).
 *
 * The request is read within readTimeout (default 15 s); bad input (version, command, a field
 * over 255 bytes) is answered with 91 (failed) and closed. With authentication configured
 * (auth/auther), the user id is checked as a user name with an EMPTY password, as GOST does: it
 * passes for auth entries whose password is empty (and for authers that accept any password for
 * that user); otherwise the reply is 93. BIND is answered with 91 (GOST does not implement it).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "chain/chain.h"
#include "config/md.h"
#include "core/fiber.h"
#include "core/log.h"
#include "core/relay.h"
#include "modules/auth.h"
#include "proto/socks4.h"
#include "service/service.h"

#define SOCKS4_DEFAULT_READ_TIMEOUT_MS 15000

struct socks4_handler {
    struct handler base;
    struct auther *auther;
    int64_t read_timeout_ms;
    bool hash_host; /* hash=host: the selector hashes the target */
};

static void socks4_end(struct session *s, struct conn *c, uint8_t code, const char *why)
{
    if (code) {
        uint8_t rep[SOCKS4_REPLY_LEN];
        socks4_reply_encode(rep, code);
        conn_write(c, rep, sizeof rep);
    }
    LOG(LOG_ERROR, &s->log, "socks4: %s", why);
    atomic_fetch_add(&s->svc->total_errs, 1);
    conn_close(c);
    session_log_end(s, 0, 0);
}

static void socks4_handle(struct handler *hb, struct conn *c, struct session *s)
{
    struct socks4_handler *h = (struct socks4_handler *)hb;
    int64_t dl = deadline_in(h->read_timeout_ms);
    conn_set_deadline(c, dl, dl);
    uint8_t b[SOCKS4_REQUEST_MAX];
    struct socks4_request req;
    size_t have = 0, need = 8;
    ssize_t r;
    char why[ADDR_STRLEN + 300];
    for (;;) {
        ssize_t n = conn_read_full(c, b + have, need - have);
        if (n < 0) {
            snprintf(why, sizeof why, "read request: %s", strerror((int)-n));
            socks4_end(s, c, 0, why);
            return;
        }
        have = need;
        r = socks4_request_decode(b, have, &req, &need);
        if (r != 0)
            break;
    }
    if (r < 0) {
        socks4_end(s, c, SOCKS4_FAILED, "malformed request");
        return;
    }
    char id[AUTH_ID_MAX] = "";
    if (h->auther && !auther_authenticate(h->auther, req.userid, "", s->remote, id, sizeof id)) {
        snprintf(why, sizeof why, "user id \"%s\" rejected", req.userid);
        socks4_end(s, c, SOCKS4_REJECTED_USERID, why);
        return;
    }
    if (id[0])
        s->client_id = id;
    if (req.cmd != SOCKS4_CMD_CONNECT) {
        socks4_end(s, c, SOCKS4_FAILED, "BIND is not supported");
        return;
    }
    char dst[ADDR_STRLEN + 260];
    socks4_request_target(&req, dst, sizeof dst);
    char client_ip[ADDR_STRLEN];
    uint16_t port;
    if (addr_split(s->remote, client_ip, sizeof client_ip, &port) < 0)
        snprintf(client_ip, sizeof client_ip, "%s", s->remote);
    LOGX(LOG_DEBUG, &s->log, LOG_FIELDS(LOG_FIELD_STR("dst", dst)), "%s >> %s", s->remote, dst);
    struct conn *up = NULL;
    fiber_clear_err();
    const char *key = h->hash_host ? dst : s->client_id ? s->client_id : client_ip;
    int rc = route_dial(hb->router, "tcp", dst, key, &up);
    if (rc < 0) {
        snprintf(why, sizeof why, "connect %s: %s", dst,
                 fiber_err()[0] ? fiber_err() : strerror(-rc));
        socks4_end(s, c, SOCKS4_FAILED, why);
        return;
    }
    uint8_t rep[SOCKS4_REPLY_LEN];
    socks4_reply_encode(rep, SOCKS4_GRANTED);
    if (conn_write(c, rep, sizeof rep) < 0) {
        conn_close(up);
        socks4_end(s, c, 0, "write reply failed");
        return;
    }
    conn_set_deadline(c, DEADLINE_NONE, DEADLINE_NONE);
    LOGX(LOG_INFO, &s->log, LOG_FIELDS(LOG_FIELD_STR("dst", dst)), "%s <-> %s", s->remote, dst);
    struct session_tail *tail = session_tail_new(s);
    relay(c, up, NULL, session_tail_finish, tail);
}

static int socks4_init(struct handler *hb, struct cfg_errs *errs)
{
    struct socks4_handler *h = (struct socks4_handler *)hb;
    int64_t rt = 0;
    const char *hash = NULL;
    if (md_parse_duration(hb->cfg->metadata, MD_KEYS("readTimeout"), &rt, errs) == MD_INVALID ||
        md_parse_str(hb->cfg->metadata, MD_KEYS("hash"), &hash, errs) == MD_INVALID)
        return -EINVAL;
    h->hash_host = hash && strcmp(hash, "host") == 0;
    h->read_timeout_ms = rt > 0 ? rt / 1000000 : SOCKS4_DEFAULT_READ_TIMEOUT_MS;
    if (auth_build_for_handler(hb->cfg, hb->root, &h->auther, errs) < 0)
        return -EINVAL;
    return 0;
}

static void socks4_free(struct handler *hb)
{
    auther_free(((struct socks4_handler *)hb)->auther);
}

const struct handler_type handler_socks4 = {
    .name = "socks4",
    .size = sizeof(struct socks4_handler),
    .flags = HANDLER_AUTH,
    .init = socks4_init,
    .handle = socks4_handle,
    .free = socks4_free,
};

const struct handler_type handler_socks4a = {
    .name = "socks4a",
    .size = sizeof(struct socks4_handler),
    .flags = HANDLER_AUTH,
    .init = socks4_init,
    .handle = socks4_handle,
    .free = socks4_free,
};
