/* handler http: HTTP/1.x forward proxy and CONNECT tunnel (inventory §1.2, §5.4; docs/http.md).
 *
 * One session = one client connection, read through a bufconn so that head parsing never loses
 * bytes. Requests are served in a loop:
 *   - the head is read line by line (limit `maxHeaderBytes`, default 64 KiB; deadline
 *     `readTimeout`, default 15 s, negative = none) and parsed (proto/http1.h); an oversized,
 *     malformed or unsupported head gets 400 and the connection is closed;
 *   - every request is authenticated (Basic, Proxy-Authorization) when an auther is set; a
 *     failure gets 407 `Proxy-Authenticate: Basic realm="<authBasicRealm>"`, or the probe
 *     resistance answer (`probeResist` code:/web:/host:/file:, skipped for the `knock` host);
 *   - CONNECT: dial the authority through the router, answer GOST's 200 and relay (splice when
 *     both ends are bare sockets and nothing is buffered);
 *   - absolute-URI (or origin-form with Host) requests are forwarded: the head is rewritten to
 *     origin form without hop-by-hop headers, bodies (Content-Length, chunked) pass through
 *     unchanged, the response comes back the same way (until-close bodies end the connection).
 *     The client connection is kept alive between requests (GOST closes it unless
 *     keepalive=true); the upstream connection is reused while the target stays the same.
 *     `Upgrade` requests answered with 101 become a tunnel.
 * The proxy's own answers are laid out as Go's net/http writes them (http1_go_response).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain/chain.h"
#include "config/md.h"
#include "config/schema.h"
#include "core/addr.h"
#include "core/bufpool.h"
#include "core/crc32.h"
#include "core/fiber.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/relay.h"
#include "core/xmalloc.h"
#include "modules/auth.h"
#include "net/bufconn.h"
#include "proto/http1.h"
#include "proto/http1_md.h"
#include "service/service.h"

#define HTTP_DEFAULT_READ_TIMEOUT_MS 15000
#define HTTP_BODY_IDLE_MS_DEFAULT    120000 /* no byte of a body for this long ends it */
#define HTTP_EXPECT_WAIT_MS          1000   /* wait for "100 Continue" before sending a body */
#define HTTP_OUT_EXTRA               4096   /* rewritten head may grow by this much */
#define HTTP_HEAD_FIRST              4096   /* first head buffer; grown to head_max if needed */
#define HTTP_CONN_BUF                16384  /* bufconn read buffer */
#define HTTP_PROBE_FILE_MAX          ((size_t)8 << 20)
#define HTTP_PROBE_TIMEOUT_MS        15000
#define HTTP_HEAD_MAX_LIMIT          ((size_t)1 << 20)

enum { PR_NONE, PR_CODE, PR_WEB, PR_HOST, PR_FILE };

/* http_udp.c: the UDP-TUN relay after a 200 to `X-Gost-Protocol: udp`. Consumes c, logs the
 * end of the session. */
void http_udp_relay(struct conn *c, struct session *s, int64_t idle_ms);

struct http_handler {
    struct handler base;
    struct auther *auther;
    int64_t read_timeout_ms; /* < 0: no deadline */
    int64_t idle_ms;         /* idleTimeout: tunnels (0 = none) and bodies (0 = default) */
    size_t head_max;
    bool udp;
    bool hash_host;
    const char *realm;
    const char *agent;
    struct http1_hdrs hdrs;
    int pr_type;
    const char *pr_value;
    int pr_code;
    char **knock;
    size_t n_knock;
};

/* ---- init ---------------------------------------------------------------------------- */

static int http_init(struct handler *hh, struct cfg_errs *errs)
{
    struct http_handler *h = (struct http_handler *)hh;
    const struct cval *md = hh->cfg->metadata;
    int64_t ns = 0;
    bool b = false;
    int bad = 0;

    h->read_timeout_ms = HTTP_DEFAULT_READ_TIMEOUT_MS;
    enum md_status st = md_parse_duration(md, MD_KEYS("readTimeout"), &ns, errs);
    if (st == MD_INVALID)
        bad = 1;
    else if (st == MD_OK && ns != 0)
        h->read_timeout_ms = ns < 0 ? -1 : (ns + 999999) / 1000000;
    ns = 0;
    if (md_parse_duration(md, MD_KEYS("idleTimeout"), &ns, errs) == MD_INVALID)
        bad = 1;
    h->idle_ms = ns > 0 ? ns / 1000000 : 0;

    int64_t hm = (int64_t)HTTP1_HEAD_MAX_DEFAULT;
    st = md_parse_int(md, MD_KEYS("http.maxHeaderBytes", "maxHeaderBytes"), &hm, errs);
    if (st == MD_INVALID) {
        bad = 1;
    } else if (hm < 1024 || hm > (int64_t)HTTP_HEAD_MAX_LIMIT) {
        cfg_errs_add(errs, cfg_pos_of(md, "maxHeaderBytes"),
                     "metadata \"maxHeaderBytes\": %lld out of range (1024..%zu)", (long long)hm,
                     HTTP_HEAD_MAX_LIMIT);
        bad = 1;
    }
    h->head_max = (size_t)hm;

    /* Accepted for compatibility; see docs/http.md. */
    if (md_parse_bool(md, MD_KEYS("http.keepalive", "keepalive"), &b, errs) == MD_INVALID ||
        md_parse_bool(md, MD_KEYS("http.compression", "compression"), &b, errs) == MD_INVALID)
        bad = 1;
    h->udp = false;
    if (md_parse_bool(md, MD_KEYS("udp"), &h->udp, errs) == MD_INVALID)
        bad = 1;
    const char *s = NULL;
    if (md_parse_str(md, MD_KEYS("hash"), &s, errs) == MD_INVALID)
        bad = 1;
    h->hash_host = s && strcasecmp(s, "host") == 0;
    h->realm = "gost";
    s = NULL;
    if (md_parse_str(md, MD_KEYS("authBasicRealm"), &s, errs) == MD_INVALID)
        bad = 1;
    if (s && s[0])
        h->realm = s;
    h->agent = "gost/3.0";
    s = NULL;
    if (md_parse_str(md, MD_KEYS("http.proxyAgent", "proxyAgent"), &s, errs) == MD_INVALID)
        bad = 1;
    if (s && s[0])
        h->agent = s;
    if (strpbrk(h->realm, "\r\n\"") || strpbrk(h->agent, "\r\n")) {
        cfg_errs_add(errs, cfg_pos_of(md, "authBasicRealm"),
                     "metadata: authBasicRealm/proxyAgent must not contain CR, LF or '\"'");
        bad = 1;
    }
    if (http1_md_headers(md, MD_KEYS("http.header", "header"), &h->hdrs, errs) < 0)
        bad = 1;

    s = NULL;
    if (md_parse_str(md, MD_KEYS("probeResist", "probe_resist"), &s, errs) == MD_INVALID)
        bad = 1;
    if (s && s[0]) {
        const char *colon = strchr(s, ':');
        size_t tl = colon ? (size_t)(colon - s) : 0;
        h->pr_value = colon ? colon + 1 : "";
        if (colon && tl == 4 && strncmp(s, "code", 4) == 0) {
            char *end = NULL;
            long v = strtol(h->pr_value, &end, 10);
            if (!*h->pr_value || *end || v < 100 || v > 999) {
                cfg_errs_add(errs, cfg_pos_of(md, "probeResist"),
                             "metadata \"probeResist\": invalid status code \"%s\"", h->pr_value);
                bad = 1;
            }
            h->pr_type = PR_CODE;
            h->pr_code = (int)v;
        } else if (colon && tl == 3 && strncmp(s, "web", 3) == 0 && h->pr_value[0]) {
            h->pr_type = PR_WEB;
            if (strncasecmp(h->pr_value, "https:", 6) == 0) {
                cfg_errs_add(errs, cfg_pos_of(md, "probeResist"),
                             "metadata \"probeResist\": https sites are not supported yet "
                             "(use http://)");
                bad = 1;
            }
        } else if (colon && tl == 4 && strncmp(s, "host", 4) == 0 && h->pr_value[0]) {
            h->pr_type = PR_HOST;
        } else if (colon && tl == 4 && strncmp(s, "file", 4) == 0 && h->pr_value[0]) {
            h->pr_type = PR_FILE;
        } else {
            cfg_errs_add(errs, cfg_pos_of(md, "probeResist"),
                         "metadata \"probeResist\": want code:NNN, web:host[:port][/path], "
                         "host:addr or file:path, got \"%s\"",
                         s);
            bad = 1;
        }
    }
    if (md_parse_strings(md, MD_KEYS("knock"), &h->knock, &h->n_knock, errs) == MD_INVALID)
        bad = 1;
    if (auth_build_for_handler(hh->cfg, hh->root, &h->auther, errs) < 0)
        bad = 1;
    return bad ? -EINVAL : 0;
}

static void http_free(struct handler *hh)
{
    struct http_handler *h = (struct http_handler *)hh;
    auther_free(h->auther);
    http1_hdrs_free(&h->hdrs);
    md_strings_free(h->knock);
}

/* ---- per connection / per request state ---------------------------------------------- */

struct hsess {
    struct http_handler *h;
    struct session *s;
    struct conn *c;  /* client, a bufconn */
    struct conn *up; /* upstream of forwarded requests (a bufconn), or NULL */
    char up_target[300];
    char client_ip[ADDR_STRLEN];
    char id[AUTH_ID_MAX];
    uint64_t in, out; /* client bytes read / written */
    char *ibuf;       /* head buffer, head_max + 1 */
    char *obuf;       /* output head buffer (hs_obuf), NULL until a head is rebuilt */
    size_t icap, ocap;
    bool detached; /* the conns went to a relay: nothing left to close or log */
    bool linger;   /* an error answer was sent: drain the input before closing */
};

struct hreq {
    struct http1_head head;
    char method[32];
    char target[300]; /* host:port to dial */
    char hostname[300];
    char hosthdr[300]; /* Host header to send upstream */
    const char *path;  /* origin-form target */
    bool connect, upgrade, client_keep;
    enum http1_body body;
    uint64_t body_len;
    char user[AUTH_FIELD_MAX + 1];
    struct log_field lf[3];
    struct log_ctx log;
    int64_t start_ms;
};

static int64_t body_idle_ms(const struct http_handler *h)
{
    return h->idle_ms > 0 ? h->idle_ms : HTTP_BODY_IDLE_MS_DEFAULT;
}

/* Give the head buffers back before a long relay (they are not needed any more). */
static void release_bufs(struct hsess *hs)
{
    bufpool_put(hs->ibuf, hs->icap);
    bufpool_put(hs->obuf, hs->ocap);
    hs->ibuf = hs->obuf = NULL;
}

static int cwrite(struct hsess *hs, const void *p, size_t n)
{
    hs->c->wr_deadline = deadline_in(body_idle_ms(hs->h));
    ssize_t w = conn_write(hs->c, p, n);
    if (w < 0)
        return (int)w;
    hs->out += n;
    return 0;
}

/* Write one of the proxy's own answers (Go's layout). with_md: add the `header` metadata;
 * with_agent: add Proxy-Agent (unless `header` has one). */
static int own_response(struct hsess *hs, int minor, int code, const char *text, int64_t cl,
                        const struct http1_kv *extra, size_t n_extra, bool with_md, bool with_agent)
{
    const struct http_handler *h = hs->h;
    struct http1_kv kv[HTTP1_GO_MAX_HEADERS];
    size_t n = 0;
    if (with_md)
        for (size_t i = 0; i < h->hdrs.n; i++)
            kv[n++] = h->hdrs.kv[i];
    if (with_agent && !http1_hdrs_get(&h->hdrs, "Proxy-Agent"))
        kv[n++] = (struct http1_kv){"Proxy-Agent", h->agent};
    for (size_t i = 0; i < n_extra && n < HTTP1_GO_MAX_HEADERS; i++)
        kv[n++] = extra[i];
    char buf[8192];
    struct http1_out o;
    http1_out_init(&o, buf, sizeof buf);
    http1_go_response(&o, minor, code, text, cl, kv, n);
    if (!http1_out_ok(&o))
        return -EMSGSIZE;
    if (code >= 400)
        hs->linger = true;
    return cwrite(hs, buf, o.len);
}

/* After an error answer: half-close, then read and drop what the client still sends for a
 * short while, so that closing with unread input (which makes the kernel send a RST) does not
 * destroy the answer before the client has read it. */
#define HTTP_LINGER_MS    500
#define HTTP_LINGER_BYTES ((size_t)1 << 20)

static void linger_close(struct conn *c)
{
    if (conn_shutdown(c) < 0)
        return;
    int64_t dl = deadline_in(HTTP_LINGER_MS);
    size_t total = 0;
    while (total < HTTP_LINGER_BYTES) {
        c->rd_deadline = dl;
        const unsigned char *p;
        ssize_t k = bufconn_peek(c, 1, &p);
        if (k <= 0)
            return;
        bufconn_consume(c, (size_t)k);
        total += (size_t)k;
    }
}

/* Progress of a head read, so a read that ran out of room resumes in a larger buffer. */
struct head_rd {
    size_t len;  /* bytes of the head stored so far */
    int skipped; /* empty lines skipped before the request line (RFC 9112 2.2) */
    bool cont;   /* the next read continues a line cut by a full buffer */
};

/* Read a head line by line into buf (max bytes + NUL), from where st left off. Leading empty
 * lines are skipped (a few). Returns the length, 0 at a clean EOF before any byte, or < 0
 * (-EMSGSIZE: buf is full, st says how far it got). */
static ssize_t read_head(struct conn *c, char *buf, size_t max, bool *got_bytes, struct head_rd *st)
{
    for (;;) {
        if (st->len >= max)
            return -EMSGSIZE;
        ssize_t n = bufconn_read_line(c, buf + st->len, max - st->len + 1);
        if (n == 0)
            return st->len || st->skipped ? -ECONNRESET : 0;
        if (n > 0 || n == -EMSGSIZE)
            *got_bytes = true;
        if (n == -EMSGSIZE) {
            st->len = max; /* all stored (see bufconn_read_until): a grown buffer resumes here */
            st->cont = true;
            return n;
        }
        if (n < 0)
            return n;
        bool empty = !st->cont && ((n == 1 && buf[st->len] == '\n') ||
                                   (n == 2 && buf[st->len] == '\r' && buf[st->len + 1] == '\n'));
        st->cont = false;
        if (empty && st->len == 0) {
            if (++st->skipped > 4)
                return -EINVAL;
            continue;
        }
        st->len += (size_t)n;
        if (empty)
            return (ssize_t)st->len;
    }
}

/* The output head buffer, sized for a head rewritten from the one in hs->ibuf: at least
 * hs->icap + HTTP_OUT_EXTRA bytes (hs->ocap). Taken on first use, so a CONNECT takes none. */
static char *hs_obuf(struct hsess *hs)
{
    size_t need = hs->icap + HTTP_OUT_EXTRA;
    if (!hs->obuf || hs->ocap < need) {
        bufpool_put(hs->obuf, hs->ocap);
        hs->ocap = need;
        hs->obuf = bufpool_get(need);
    }
    return hs->obuf;
}

/* Read a head into hs->ibuf. The buffer starts at HTTP_HEAD_FIRST bytes and grows to
 * head_max + 1 only for a head that does not fit: a typical head touches one small pooled
 * block instead of a 128 KiB one. */
static ssize_t hs_read_head(struct hsess *hs, struct conn *c, bool *got_bytes)
{
    struct head_rd st = {0};
    *got_bytes = false;
    for (;;) {
        size_t max = hs->icap - 1 < hs->h->head_max ? hs->icap - 1 : hs->h->head_max;
        ssize_t n = read_head(c, hs->ibuf, max, got_bytes, &st);
        if (n != -EMSGSIZE || max >= hs->h->head_max)
            return n;
        size_t cap = hs->h->head_max + 1;
        char *big = bufpool_get(cap);
        memcpy(big, hs->ibuf, st.len);
        bufpool_put(hs->ibuf, hs->icap);
        hs->ibuf = big;
        hs->icap = cap;
    }
}

/* Copy a body of the given framing from src (a bufconn) to dst. *moved counts the bytes.
 * *wr_failed tells a write error from a read error. */
static int copy_body(struct conn *src, struct conn *dst, enum http1_body kind, uint64_t len,
                     int64_t idle_ms, uint64_t *moved, bool *wr_failed)
{
    struct http1_chunked ch;
    http1_chunked_init(&ch);
    uint64_t left = len;
    *wr_failed = false;
    for (;;) {
        if (kind == HTTP1_BODY_NONE || (kind == HTTP1_BODY_LENGTH && left == 0) ||
            (kind == HTTP1_BODY_CHUNKED && ch.done))
            return 0;
        src->rd_deadline = deadline_in(idle_ms);
        const unsigned char *p;
        ssize_t k = bufconn_peek(src, 1, &p);
        if (k < 0)
            return (int)k;
        if (k == 0)
            return kind == HTTP1_BODY_CLOSE ? 0 : -ECONNRESET;
        size_t take = (size_t)k;
        if (kind == HTTP1_BODY_LENGTH && take > left)
            take = (size_t)left;
        if (kind == HTTP1_BODY_CHUNKED) {
            ssize_t u = http1_chunked_feed(&ch, p, (size_t)k);
            if (u < 0)
                return -EPROTO;
            take = (size_t)u;
        }
        dst->wr_deadline = deadline_in(idle_ms);
        ssize_t w = conn_write(dst, p, take);
        if (w < 0) {
            *wr_failed = true;
            return (int)w;
        }
        bufconn_consume(src, take);
        left -= take;
        *moved += take;
    }
}

static const char *hash_key(struct hsess *hs, const struct hreq *rq)
{
    if (hs->h->hash_host)
        return rq->target;
    return hs->s->client_id ? hs->s->client_id : hs->client_ip;
}

static void log_err(const struct log_ctx *log, const char *what, int rc)
{
    LOG(LOG_ERROR, log, "%s: %s", what, fiber_err()[0] ? fiber_err() : strerror(-rc));
}

/* ---- probe resistance ---------------------------------------------------------------- */

struct file_job {
    atomic_int refs;
    char *path;
    char *data;
    size_t len;
    int err;
};

static void file_job_put(struct file_job *j)
{
    if (atomic_fetch_sub(&j->refs, 1) == 1) {
        free(j->path);
        free(j->data);
        free(j);
    }
}

static void file_job_fn(void *arg)
{
    struct file_job *j = arg;
    int fd = open(j->path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
        (size_t)sb.st_size > HTTP_PROBE_FILE_MAX) {
        j->err = fd < 0 ? -errno : -EFBIG;
    } else {
        j->data = xmalloc((size_t)sb.st_size + 1);
        while (j->len < (size_t)sb.st_size) {
            ssize_t r = read(fd, j->data + j->len, (size_t)sb.st_size - j->len);
            if (r <= 0)
                break;
            j->len += (size_t)r;
        }
    }
    if (fd >= 0)
        close(fd);
    file_job_put(j);
}

static void probe_file(struct hsess *hs, const struct hreq *rq)
{
    struct file_job *j = xcalloc(1, sizeof *j);
    atomic_init(&j->refs, 2);
    j->path = xstrdup(hs->h->pr_value);
    int rc = pool_call_deadline(file_job_fn, j, deadline_in(HTTP_PROBE_TIMEOUT_MS));
    if (rc == 0 && j->err == 0) {
        struct http1_kv kv[] = {{"Connection", "keep-alive"}, {"Content-Type", "text/html"}};
        if (own_response(hs, 1, 200, NULL, (int64_t)j->len, kv, 2, true, false) == 0)
            cwrite(hs, j->data, j->len);
    } else {
        LOG(LOG_ERROR, &rq->log, "probe resistance: file %s: %s", hs->h->pr_value,
            strerror(rc ? -rc : -j->err));
        own_response(hs, 1, 503, NULL, -1, NULL, 0, true, false);
    }
    file_job_put(j);
}

/* host:addr — hand the request as received to addr and relay. Returns true if the conns went to
 * the relay. */
static bool probe_host(struct hsess *hs, const struct hreq *rq)
{
    struct conn *cc = NULL;
    int rc = route_dial_direct("tcp", hs->h->pr_value, deadline_in(HTTP_PROBE_TIMEOUT_MS), &cc);
    if (rc < 0) {
        log_err(&rq->log, "probe resistance: host", rc);
        own_response(hs, 1, 503, NULL, -1, NULL, 0, true, false);
        return false;
    }
    struct http1_out o;
    char *ob = hs_obuf(hs); /* sets hs->ocap: not in the same call's arguments */
    http1_out_init(&o, ob, hs->ocap);
    char line[64];
    /* As Go's Request.Write puts it: origin-form target (authority for CONNECT), Host first. */
    http1_out_str(&o, rq->head.method);
    http1_out_raw(&o, " ", 1);
    if (rq->connect)
        http1_out_str(&o, rq->head.target);
    else if (rq->path[0] != '/')
        http1_out_raw(&o, "/", 1);
    if (!rq->connect)
        http1_out_str(&o, rq->path);
    snprintf(line, sizeof line, " HTTP/1.%d\r\n", rq->head.minor);
    http1_out_str(&o, line);
    http1_out_header(&o, "Host", rq->connect ? rq->head.target : rq->hosthdr);
    for (size_t i = 0; i < rq->head.n_hdr; i++)
        if (strcasecmp(rq->head.hdr[i].name, "Host") != 0)
            http1_out_header(&o, rq->head.hdr[i].name, rq->head.hdr[i].value);
    http1_out_raw(&o, "\r\n", 2);
    cc->wr_deadline = deadline_in(HTTP_PROBE_TIMEOUT_MS);
    if (!http1_out_ok(&o) || conn_write(cc, hs->obuf, o.len) < 0) {
        conn_close(cc);
        return false;
    }
    cc->wr_deadline = DEADLINE_NONE;
    struct relay_opts ro = {.idle_timeout_ms = hs->h->idle_ms};
    struct session_tail *tail = session_tail_new(hs->s);
    hs->detached = true;
    release_bufs(hs);
    relay(hs->c, cc, &ro, session_tail_finish, tail);
    hs->c = NULL;
    return true;
}

/* web:host[:port][/path] — fetch the page (directly, one GET) and pass the answer on. */
static void probe_web(struct hsess *hs, const struct hreq *rq)
{
    const char *v = hs->h->pr_value;
    char url[1024];
    snprintf(url, sizeof url, "%s%s", strncasecmp(v, "http", 4) == 0 ? "" : "http://", v);
    char target[300];
    const char *path = "/";
    struct conn *wc = NULL;
    int rc = http1_absolute_uri(url, target, sizeof target, &path);
    if (rc == 0)
        rc = route_dial_direct("tcp", target, deadline_in(HTTP_PROBE_TIMEOUT_MS), &wc);
    if (rc < 0) {
        log_err(&rq->log, "probe resistance: web", rc);
        own_response(hs, 1, 503, NULL, -1, NULL, 0, true, false);
        return;
    }
    const char *a = strstr(url, "://") + 3;
    char host[300];
    size_t hl = strcspn(a, "/?#");
    snprintf(host, sizeof host, "%.*s", (int)hl, a);
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "GET %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Go-http-client/1.1\r\n"
                     "Connection: close\r\n\r\n",
                     path[0] == '/' ? "" : "/", path, host);
    wc->wr_deadline = deadline_in(HTTP_PROBE_TIMEOUT_MS);
    if (n < 0 || (size_t)n >= sizeof req || conn_write(wc, req, (size_t)n) < 0) {
        conn_close(wc);
        own_response(hs, 1, 503, NULL, -1, NULL, 0, true, false);
        return;
    }
    struct conn *bw = bufconn_new(wc, HTTP_CONN_BUF);
    bool wf;
    copy_body(bw, hs->c, HTTP1_BODY_CLOSE, 0, HTTP_PROBE_TIMEOUT_MS, &hs->out, &wf);
    conn_close(bw);
}

static bool knocked(const struct http_handler *h, const struct hreq *rq)
{
    for (size_t i = 0; i < h->n_knock; i++)
        if (rq->hostname[0] && strcasecmp(h->knock[i], rq->hostname) == 0)
            return true;
    return false;
}

/* 0: authenticated (or no auther). < 0: answered (407 / probe resistance); the connection is to
 * be closed (or went to a relay: hs->detached). */
static int http_authenticate(struct hsess *hs, struct hreq *rq)
{
    struct http_handler *h = hs->h;
    if (!h->auther)
        return 0;
    char pass[AUTH_FIELD_MAX + 1];
    const char *pa = http1_get(&rq->head, "Proxy-Authorization");
    if (!pa || http1_basic_decode(pa, rq->user, sizeof rq->user, pass, sizeof pass) < 0)
        rq->user[0] = pass[0] = '\0';
    if (auther_authenticate(h->auther, rq->user, pass, hs->s->remote, hs->id, sizeof hs->id)) {
        hs->s->client_id = hs->id;
        return 0;
    }
    LOG(LOG_DEBUG, &rq->log, "proxy authentication required");
    if (h->pr_type != PR_NONE && !knocked(h, rq)) {
        switch (h->pr_type) {
        case PR_CODE:
            own_response(hs, 1, h->pr_code, NULL, -1, NULL, 0, true, false);
            break;
        case PR_FILE:
            probe_file(hs, rq);
            break;
        case PR_WEB:
            probe_web(hs, rq);
            break;
        case PR_HOST:
            probe_host(hs, rq);
            break;
        }
        return -EACCES;
    }
    char realm[300];
    snprintf(realm, sizeof realm, "Basic realm=\"%s\"", h->realm);
    struct http1_kv kv[3] = {{"Proxy-Authenticate", realm}};
    size_t n = 1;
    if (http1_has_token(&rq->head, "Proxy-Connection", "keep-alive")) {
        kv[n++] = (struct http1_kv){"Connection", "close"};
        kv[n++] = (struct http1_kv){"Proxy-Connection", "close"};
    }
    own_response(hs, 1, 407, NULL, -1, kv, n, true, false);
    return -EACCES;
}

/* ---- CONNECT ------------------------------------------------------------------------- */

static void http_connect(struct hsess *hs, struct hreq *rq)
{
    struct http_handler *h = hs->h;
    struct conn *up = NULL;
    LOG(LOG_DEBUG, &rq->log, "%s >> %s", hs->s->remote, rq->target);
    int rc = route_dial(h->base.router, "tcp", rq->target, hash_key(hs, rq), &up);
    if (rc < 0) {
        log_err(&rq->log, "dial", rc);
        atomic_fetch_add(&hs->s->svc->total_errs, 1);
        own_response(hs, 1, 503, NULL, -1, NULL, 0, true, true);
        return;
    }
    if (own_response(hs, 1, 200, "Connection established", -1, NULL, 0, true, true) < 0) {
        conn_close(up);
        return;
    }
    LOG(LOG_INFO, &rq->log, "%s <-> %s", hs->s->remote, rq->target);
    hs->c->rd_deadline = hs->c->wr_deadline = DEADLINE_NONE;
    struct conn *c = bufconn_unwrap(hs->c);
    hs->c = NULL;
    hs->detached = true;
    struct relay_opts ro = {.idle_timeout_ms = h->idle_ms};
    struct session_tail *tail = session_tail_new(hs->s);
    release_bufs(hs);
    relay(c, up, &ro, session_tail_finish, tail);
}

/* ---- forwarding ---------------------------------------------------------------------- */

/* Build the upstream request head into hs->obuf. */
static size_t build_fwd_head(struct hsess *hs, const struct hreq *rq)
{
    struct http1_out o;
    char *ob = hs_obuf(hs); /* sets hs->ocap: not in the same call's arguments */
    http1_out_init(&o, ob, hs->ocap);
    char line[32];
    http1_out_str(&o, rq->head.method);
    http1_out_raw(&o, " ", 1);
    if (rq->path[0] != '/')
        http1_out_raw(&o, "/", 1);
    http1_out_str(&o, rq->path);
    snprintf(line, sizeof line, " HTTP/1.%d\r\n", rq->head.minor);
    http1_out_str(&o, line);
    http1_out_header(&o, "Host", rq->hosthdr);
    for (size_t i = 0; i < rq->head.n_hdr; i++) {
        const char *n = rq->head.hdr[i].name;
        if (strcasecmp(n, "Host") == 0 || strcasecmp(n, "Gost-Target") == 0 ||
            strcasecmp(n, "X-Gost-Target") == 0 || http1_is_hop_by_hop(&rq->head, n, rq->upgrade))
            continue;
        http1_out_header(&o, n, rq->head.hdr[i].value);
    }
    if (rq->upgrade)
        http1_out_str(&o, "Connection: Upgrade\r\n");
    else if (rq->head.minor == 0 && rq->client_keep)
        http1_out_str(&o, "Connection: keep-alive\r\n");
    http1_out_raw(&o, "\r\n", 2);
    return http1_out_ok(&o) ? o.len : 0;
}

/* Build the client response head from a parsed upstream response. */
static size_t build_resp_head(struct hsess *hs, const struct http1_head *r, bool upgrade,
                              bool chunked, bool keep, int client_minor)
{
    struct http1_out o;
    char *ob = hs_obuf(hs); /* sets hs->ocap: not in the same call's arguments */
    http1_out_init(&o, ob, hs->ocap);
    char line[32];
    snprintf(line, sizeof line, "HTTP/1.1 %03d ", r->status); /* our own version (RFC 9110 6.2) */
    http1_out_str(&o, line);
    http1_out_str(&o, r->reason);
    http1_out_raw(&o, "\r\n", 2);
    for (size_t i = 0; i < r->n_hdr; i++) {
        const char *n = r->hdr[i].name;
        if (http1_is_hop_by_hop(r, n, upgrade) || (chunked && strcasecmp(n, "Content-Length") == 0))
            continue;
        http1_out_header(&o, n, r->hdr[i].value);
    }
    if (upgrade)
        http1_out_str(&o, "Connection: Upgrade\r\n");
    else if (r->status >= 200 && !keep)
        http1_out_str(&o, "Connection: close\r\n");
    else if (r->status >= 200 && client_minor == 0)
        http1_out_str(&o, "Connection: keep-alive\r\n");
    http1_out_raw(&o, "\r\n", 2);
    return http1_out_ok(&o) ? o.len : 0;
}

enum fwd_result { FWD_KEEP, FWD_CLOSE, FWD_DETACHED };

static void drop_upstream(struct hsess *hs)
{
    conn_close(hs->up);
    hs->up = NULL;
    hs->up_target[0] = '\0';
}

/* Dial (or reuse) the upstream and send the head. 0, or < 0 (logged). */
static int fwd_send_head(struct hsess *hs, struct hreq *rq, size_t hlen, bool *reused)
{
    if (hs->up && strcmp(hs->up_target, rq->target) != 0)
        drop_upstream(hs);
    *reused = hs->up != NULL;
    if (!hs->up) {
        struct conn *u = NULL;
        int rc = route_dial(hs->h->base.router, "tcp", rq->target, hash_key(hs, rq), &u);
        if (rc < 0) {
            log_err(&rq->log, "dial", rc);
            return rc;
        }
        hs->up = bufconn_new(u, HTTP_CONN_BUF);
        snprintf(hs->up_target, sizeof hs->up_target, "%s", rq->target);
    }
    hs->up->wr_deadline = deadline_in(body_idle_ms(hs->h));
    ssize_t w = conn_write(hs->up, hs->obuf, hlen);
    if (w < 0) {
        drop_upstream(hs);
        fiber_set_err("write request: %s", strerror((int)-w));
        return (int)w;
    }
    return 0;
}

static enum fwd_result http_forward(struct hsess *hs, struct hreq *rq)
{
    struct http_handler *h = hs->h;
    int64_t idle = body_idle_ms(h);
    size_t hlen = build_fwd_head(hs, rq);
    if (!hlen) {
        own_response(hs, 1, 400, NULL, -1, NULL, 0, true, false);
        return FWD_CLOSE;
    }
    LOG(LOG_INFO, &rq->log, "%s <-> %s", hs->s->remote, rq->target);
    bool reused = false;
    bool expect = rq->body != HTTP1_BODY_NONE && rq->head.minor == 1 &&
                  http1_has_token(&rq->head, "Expect", "100-continue");
    int rc;
    struct http1_head *r = xmalloc(sizeof *r);
    enum fwd_result res = FWD_CLOSE;
    bool body_pending = rq->body != HTTP1_BODY_NONE;
    bool wf = false;
    for (int attempt = 0;; attempt++) {
        fiber_clear_err();
        rc = fwd_send_head(hs, rq, hlen, &reused);
        if (rc < 0 && reused && attempt == 0 && !body_pending)
            continue; /* a kept upstream connection went away: dial once more */
        if (rc < 0)
            goto fail503;
        if (body_pending &&
            (!expect || conn_wait_readable(hs->up, deadline_in(HTTP_EXPECT_WAIT_MS)) != 0)) {
            uint64_t moved = 0;
            rc = copy_body(hs->c, hs->up, rq->body, rq->body_len, idle, &moved, &wf);
            hs->in += moved;
            if (rc < 0) {
                LOG(LOG_ERROR, &rq->log, "request body: %s", strerror(-rc));
                if (wf)
                    goto fail503;
                goto out; /* the client failed: nothing to answer */
            }
            body_pending = false;
        }
        /* Response head(s). */
        bool got = false;
        ssize_t n;
        for (;;) {
            hs->up->rd_deadline = deadline_in(h->read_timeout_ms);
            n = hs_read_head(hs, hs->up, &got);
            if (n <= 0)
                break;
            if (http1_parse_response(hs->ibuf, (size_t)n, r) < 0) {
                fiber_set_err("malformed response head");
                n = -EPROTO;
                break;
            }
            if (r->status >= 200 || r->status == 101)
                break;
            /* Interim response: pass it on. */
            size_t ol = build_resp_head(hs, r, false, false, true, rq->head.minor);
            if (!ol || cwrite(hs, hs->obuf, ol) < 0)
                goto out;
            if (r->status == 100 && body_pending) {
                uint64_t moved = 0;
                rc = copy_body(hs->c, hs->up, rq->body, rq->body_len, idle, &moved, &wf);
                hs->in += moved;
                if (rc < 0)
                    goto out;
                body_pending = false;
            }
        }
        if (n <= 0 && !got && reused && attempt == 0 && rq->body == HTTP1_BODY_NONE) {
            drop_upstream(hs); /* stale kept connection: retry once on a new one */
            continue;
        }
        if (n <= 0) {
            rc = n == 0 ? -ECONNRESET : (int)n;
            if (!fiber_err()[0])
                fiber_set_err("read response: %s",
                              rc == -EMSGSIZE ? "head too large" : strerror(-rc));
            goto fail503;
        }
        break;
    }
    if (r->status == 101) {
        size_t ol = rq->upgrade ? build_resp_head(hs, r, true, false, true, rq->head.minor) : 0;
        if (!ol) {
            fiber_set_err("upstream switched protocols without an upgrade request");
            goto fail503;
        }
        if (cwrite(hs, hs->obuf, ol) < 0)
            goto out;
        hs->c->rd_deadline = hs->c->wr_deadline = DEADLINE_NONE;
        hs->up->rd_deadline = hs->up->wr_deadline = DEADLINE_NONE;
        struct relay_opts ro = {.idle_timeout_ms = h->idle_ms};
        struct session_tail *tail = session_tail_new(hs->s);
        hs->detached = true;
        release_bufs(hs);
        relay(bufconn_unwrap(hs->c), bufconn_unwrap(hs->up), &ro, session_tail_finish, tail);
        hs->c = hs->up = NULL;
        res = FWD_DETACHED;
        goto out;
    }
    enum http1_body kind;
    uint64_t blen;
    if (http1_resp_body(r, rq->method, &kind, &blen) < 0) {
        fiber_set_err("bad Content-Length in response");
        goto fail503;
    }
    bool up_keep = kind != HTTP1_BODY_CLOSE && !body_pending &&
                   !http1_has_token(r, "Connection", "close") &&
                   (r->minor == 1 || http1_has_token(r, "Connection", "keep-alive"));
    bool keep = rq->client_keep && kind != HTTP1_BODY_CLOSE && !body_pending;
    size_t ol = build_resp_head(hs, r, false, kind == HTTP1_BODY_CHUNKED, keep, rq->head.minor);
    if (!ol) {
        fiber_set_err("response head too large");
        goto fail503;
    }
    if (cwrite(hs, hs->obuf, ol) < 0)
        goto out;
    uint64_t moved = 0;
    rc = copy_body(hs->up, hs->c, kind, blen, idle, &moved, &wf);
    hs->out += moved;
    if (rc < 0) {
        LOG(LOG_ERROR, &rq->log, "response body: %s", strerror(-rc));
        goto out;
    }
    if (!up_keep)
        drop_upstream(hs);
    res = keep ? FWD_KEEP : FWD_CLOSE;
    if (log_enabled(LOG_INFO))
        LOGX(LOG_INFO, &rq->log,
             LOG_FIELDS(LOG_FIELD_DUR("duration", (clock_update() - rq->start_ms) * 1000000)),
             "%s >-< %s", hs->s->remote, rq->target);
    free(r);
    return res;
fail503:
    log_err(&rq->log, "forward", rc);
    atomic_fetch_add(&hs->s->svc->total_errs, 1);
    own_response(hs, rq->head.minor, 503, NULL, 0, NULL, 0, false, false);
out:
    if (res != FWD_DETACHED)
        drop_upstream(hs);
    free(r);
    return res;
}

/* ---- request dispatch ---------------------------------------------------------------- */

/* Decode a GOST v2 Gost-Target / X-Gost-Target value: base64url(crc32 BE + base64url(host)). */
static bool gost_target(const char *v, char *out, size_t outlen)
{
    unsigned char b[512], hb[512];
    int n = http1_b64_rawurl_decode(v, strlen(v), b, sizeof b);
    if (n < 4)
        return false;
    int m = http1_b64_rawurl_decode((const char *)b + 4, (size_t)n - 4, hb, sizeof hb - 1);
    if (m < 0)
        return false;
    uint32_t want = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    if (crc32_ieee(hb, (size_t)m) != want)
        return false;
    hb[m] = '\0';
    return http1_authority((const char *)hb, 80, out, outlen) == 0;
}

/* Fill target/hostname/path from the head. 0, or the status to answer (400). */
static int resolve_target(struct hreq *rq)
{
    const struct http1_head *hd = &rq->head;
    rq->connect = strcmp(hd->method, "CONNECT") == 0;
    if (rq->connect) {
        if (http1_authority(hd->target, 80, rq->target, sizeof rq->target) < 0)
            return 400;
        rq->path = "";
    } else if (hd->target[0] == '/') {
        const char *host = http1_get(hd, "Host");
        if (!host || http1_count(hd, "Host") != 1 ||
            http1_authority(host, 80, rq->target, sizeof rq->target) < 0)
            return 400;
        snprintf(rq->hosthdr, sizeof rq->hosthdr, "%s", host);
        rq->path = hd->target;
    } else {
        if (http1_absolute_uri(hd->target, rq->target, sizeof rq->target, &rq->path) < 0)
            return 400;
        const char *a = strstr(hd->target, "://") + 3;
        size_t al = strcspn(a, "/?#");
        const char *at = memchr(a, '@', al);
        while (at) { /* drop userinfo */
            al -= (size_t)(at + 1 - a);
            a = at + 1;
            at = memchr(a, '@', al);
        }
        snprintf(rq->hosthdr, sizeof rq->hosthdr, "%.*s", (int)al, a);
    }
    if (strcmp(hd->method, "PRI") == 0)
        return 400;
    const char *gt = http1_get(hd, "X-Gost-Target");
    if (!gt)
        gt = http1_get(hd, "Gost-Target");
    char dec[300];
    if (gt && gost_target(gt, dec, sizeof dec))
        snprintf(rq->target, sizeof rq->target, "%s", dec);
    /* hostname = target without port and brackets (for `knock`). */
    snprintf(rq->hostname, sizeof rq->hostname, "%s", rq->target);
    char *colon = strrchr(rq->hostname, ':');
    if (colon)
        *colon = '\0';
    if (rq->hostname[0] == '[') {
        memmove(rq->hostname, rq->hostname + 1, strlen(rq->hostname));
        char *rb = strchr(rq->hostname, ']');
        if (rb)
            *rb = '\0';
    }
    if (hd->target[0] == '/')
        rq->hostname[0] = '\0'; /* like Go's req.URL.Hostname() for origin form */
    return 0;
}

/* Serve one request whose head is in hs->ibuf[0..n). Returns true to read another one. */
static bool http_request(struct hsess *hs, size_t n)
{
    struct http_handler *h = hs->h;
    /* On the fiber's stack, not the heap: ~4.5 KiB per request that would otherwise churn the
     * allocator and stay resident as fragmentation next to long-lived relays. */
    struct hreq rq_storage;
    memset(&rq_storage, 0, sizeof rq_storage);
    struct hreq *rq = &rq_storage;
    bool keep = false;
    rq->start_ms = clock_now_ms();
    rq->log = (struct log_ctx){.parent = &hs->s->log, .fields = rq->lf, .n = 0};
    int rc = http1_parse_request(hs->ibuf, n, &rq->head);
    if (rc < 0) {
        LOG(LOG_ERROR, &hs->s->log, "bad request: %s",
            rc == -E2BIG             ? "too many header fields"
            : rc == -EPROTONOSUPPORT ? "unsupported HTTP version"
                                     : "malformed head");
        own_response(hs, 1, 400, NULL, -1, NULL, 0, true, false);
        goto done;
    }
    snprintf(rq->method, sizeof rq->method, "%s", rq->head.method);
    if (resolve_target(rq) != 0) {
        LOG(LOG_ERROR, &hs->s->log, "bad request: %s %s", rq->head.method, rq->head.target);
        own_response(hs, 1, 400, NULL, -1, NULL, 0, true, false);
        goto done;
    }
    rq->lf[0] = LOG_FIELD_STR("dst", rq->target);
    rq->lf[1] = LOG_FIELD_STR("host", rq->target);
    rq->log.n = 2;
    const char *pa = http1_get(&rq->head, "Proxy-Authorization");
    char pass[AUTH_FIELD_MAX + 1];
    if (pa && http1_basic_decode(pa, rq->user, sizeof rq->user, pass, sizeof pass) == 0 &&
        rq->user[0]) {
        rq->lf[2] = LOG_FIELD_STR("user", rq->user);
        rq->log.n = 3;
    }
    if (http_authenticate(hs, rq) < 0)
        goto done;
    const char *proto = http1_get(&rq->head, "X-Gost-Protocol");
    if (proto && strcmp(proto, "udp") == 0) {
        if (!h->udp || h->base.router->chain) {
            LOG(LOG_ERROR, &rq->log, "%s",
                !h->udp ? "http: UDP relay is disabled (udp=true enables it)"
                        : "http: UDP relay through a chain is not supported");
            own_response(hs, 1, 403, NULL, 0, NULL, 0, true, false);
            goto done;
        }
        LOG(LOG_DEBUG, &rq->log, "%s >> %s/udp", hs->s->remote, rq->target);
        if (own_response(hs, 1, 200, NULL, 0, NULL, 0, true, false) == 0) {
            hs->c->rd_deadline = hs->c->wr_deadline = DEADLINE_NONE;
            struct conn *c = bufconn_unwrap(hs->c);
            hs->c = NULL;
            hs->detached = true;
            release_bufs(hs);
            http_udp_relay(c, hs->s, h->idle_ms);
        }
        goto done;
    }
    if (strcmp(rq->target, hs->s->local) == 0) {
        LOG(LOG_ERROR, &rq->log, "bad request: the target is this proxy");
        own_response(hs, 1, 400, NULL, -1, NULL, 0, true, false);
        goto done;
    }
    if (rq->connect) {
        http_connect(hs, rq);
        goto done;
    }
    if (http1_req_body(&rq->head, &rq->body, &rq->body_len) < 0) {
        LOG(LOG_ERROR, &rq->log, "bad request: invalid body framing");
        own_response(hs, 1, 400, NULL, -1, NULL, 0, true, false);
        goto done;
    }
    const struct http1_head *hd = &rq->head;
    rq->client_keep = hd->minor == 1 ? !http1_has_token(hd, "Connection", "close") &&
                                           !http1_has_token(hd, "Proxy-Connection", "close")
                                     : http1_has_token(hd, "Connection", "keep-alive") ||
                                           http1_has_token(hd, "Proxy-Connection", "keep-alive");
    rq->upgrade =
        hd->minor == 1 && http1_get(hd, "Upgrade") && http1_has_token(hd, "Connection", "upgrade");
    keep = http_forward(hs, rq) == FWD_KEEP;
done:
    return keep;
}

static void http_handle(struct handler *hh, struct conn *c, struct session *s)
{
    struct http_handler *h = (struct http_handler *)hh;
    struct hsess hs = {.h = h, .s = s};
    uint16_t port;
    if (addr_split(s->remote, hs.client_ip, sizeof hs.client_ip, &port) < 0)
        snprintf(hs.client_ip, sizeof hs.client_ip, "%s", s->remote);
    hs.c = bufconn_new(c, HTTP_CONN_BUF);
    for (unsigned nreq = 0;; nreq++) {
        /* Wait without holding the head buffers (an idle kept-alive client costs none). */
        int64_t dl = deadline_in(h->read_timeout_ms);
        int rc = conn_wait_readable(hs.c, dl);
        if (rc < 0) {
            if (nreq == 0)
                LOG(LOG_ERROR, &s->log, "read request: %s", strerror(-rc));
            break;
        }
        hs.icap = HTTP_HEAD_FIRST;
        hs.ibuf = bufpool_get(hs.icap);
        hs.obuf = NULL; /* hs_obuf() takes it when a head is rebuilt */
        hs.ocap = 0;
        hs.c->rd_deadline = dl;
        bool got = false;
        ssize_t n = hs_read_head(&hs, hs.c, &got);
        bool keep = false;
        if (n == -EMSGSIZE || n == -EINVAL) {
            LOG(LOG_ERROR, &s->log, "bad request: %s",
                n == -EMSGSIZE ? "head too large" : "malformed head");
            own_response(&hs, 1, 400, NULL, -1, NULL, 0, true, false);
        } else if (n < 0) {
            if (nreq == 0 || got)
                LOG(LOG_ERROR, &s->log, "read request: %s", strerror((int)-n));
        } else if (n > 0) {
            hs.in += (uint64_t)n;
            keep = http_request(&hs, (size_t)n);
        }
        release_bufs(&hs);
        if (!keep || hs.detached)
            break;
    }
    if (hs.detached) {
        conn_close(hs.up);
        conn_close(hs.c);
        return;
    }
    conn_close(hs.up);
    if (hs.linger && hs.c)
        linger_close(hs.c);
    conn_close(hs.c);
    session_log_end(s, hs.in, hs.out);
}

const struct handler_type handler_http = {
    .name = "http",
    .size = sizeof(struct http_handler),
    .flags = HANDLER_AUTH,
    .init = http_init,
    .handle = http_handle,
    .free = http_free,
};
