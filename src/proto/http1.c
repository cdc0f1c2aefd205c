/* http1: HTTP/1.x head parsing, header queries and framing (see http1.h). */
#include "proto/http1.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

size_t http1_head_end(const char *buf, size_t len)
{
    if (len >= 1 && buf[0] == '\n')
        return 1;
    if (len >= 2 && buf[0] == '\r' && buf[1] == '\n')
        return 2;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* Cut the next line at *pos: NUL-terminate it (over its CR or LF) and check its bytes (no NUL,
 * no bare CR, no control byte but HTAB). 0, or -EINVAL (bad byte or no line end). */
static int next_line(char *buf, size_t len, size_t *pos, char **line)
{
    size_t start = *pos, i = start;
    while (i < len && buf[i] != '\n')
        i++;
    if (i >= len)
        return -EINVAL;
    size_t e = i;
    if (e > start && buf[e - 1] == '\r')
        e--;
    for (size_t k = start; k < e; k++) {
        unsigned char c = (unsigned char)buf[k];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return -EINVAL;
    }
    buf[e] = '\0';
    *line = buf + start;
    *pos = i + 1;
    return 0;
}

static int parse_version(const char *v, int *minor)
{
    if (strncmp(v, "HTTP/", 5) != 0)
        return -EINVAL;
    v += 5;
    if (!(v[0] >= '0' && v[0] <= '9') || v[1] != '.' || !(v[2] >= '0' && v[2] <= '9') || v[3])
        return -EINVAL;
    if (v[0] != '1' || (v[2] != '0' && v[2] != '1'))
        return -EPROTONOSUPPORT;
    *minor = v[2] - '0';
    return 0;
}

static int parse_headers(char *buf, size_t len, size_t pos, struct http1_head *out)
{
    for (;;) {
        char *line;
        if (next_line(buf, len, &pos, &line) < 0)
            return -EINVAL;
        if (!line[0])
            return 0;
        if (is_ows(line[0]))
            return -EINVAL; /* obsolete line folding */
        char *colon = line;
        while (*colon && *colon != ':') {
            if (!is_tchar((unsigned char)*colon))
                return -EINVAL;
            colon++;
        }
        if (*colon != ':' || colon == line)
            return -EINVAL;
        if (out->n_hdr >= HTTP1_MAX_HEADERS)
            return -E2BIG;
        *colon = '\0';
        char *v = colon + 1;
        while (is_ows(*v))
            v++;
        char *ve = v + strlen(v);
        while (ve > v && is_ows(ve[-1]))
            *--ve = '\0';
        out->hdr[out->n_hdr].name = line;
        out->hdr[out->n_hdr].value = v;
        out->n_hdr++;
    }
}

int http1_parse_request(char *buf, size_t len, struct http1_head *out)
{
    memset(out, 0, sizeof *out);
    size_t pos = 0;
    char *line;
    if (next_line(buf, len, &pos, &line) < 0)
        return -EINVAL;
    char *sp1 = strchr(line, ' ');
    if (!sp1 || sp1 == line)
        return -EINVAL;
    *sp1 = '\0';
    for (char *m = line; *m; m++)
        if (!is_tchar((unsigned char)*m))
            return -EINVAL;
    char *target = sp1 + 1;
    char *sp2 = strchr(target, ' ');
    if (!sp2 || sp2 == target)
        return -EINVAL;
    *sp2 = '\0';
    for (char *t = target; *t; t++)
        if ((unsigned char)*t <= 0x20 || (unsigned char)*t == 0x7f)
            return -EINVAL;
    int rc = parse_version(sp2 + 1, &out->minor);
    if (rc < 0)
        return rc;
    out->method = line;
    out->target = target;
    return parse_headers(buf, len, pos, out);
}

int http1_parse_response(char *buf, size_t len, struct http1_head *out)
{
    memset(out, 0, sizeof *out);
    size_t pos = 0;
    char *line;
    if (next_line(buf, len, &pos, &line) < 0)
        return -EINVAL;
    char *sp = strchr(line, ' ');
    if (!sp)
        return -EINVAL;
    *sp = '\0';
    int rc = parse_version(line, &out->minor);
    if (rc < 0)
        return rc;
    char *code = sp + 1;
    if (!(code[0] >= '1' && code[0] <= '9') || !(code[1] >= '0' && code[1] <= '9') ||
        !(code[2] >= '0' && code[2] <= '9') || (code[3] && code[3] != ' '))
        return -EINVAL;
    out->status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    out->reason = code[3] ? code + 4 : code + 3;
    return parse_headers(buf, len, pos, out);
}

const char *http1_get(const struct http1_head *h, const char *name)
{
    for (size_t i = 0; i < h->n_hdr; i++)
        if (strcasecmp(h->hdr[i].name, name) == 0)
            return h->hdr[i].value;
    return NULL;
}

size_t http1_count(const struct http1_head *h, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < h->n_hdr; i++)
        if (strcasecmp(h->hdr[i].name, name) == 0)
            n++;
    return n;
}

/* Call fn on each element of the comma-separated list s (trimmed, non-empty). Stops and returns
 * true when fn does. */
static bool list_each(const char *s, bool (*fn)(const char *tok, size_t n, void *arg), void *arg)
{
    while (*s) {
        while (*s == ',' || is_ows(*s))
            s++;
        const char *b = s;
        while (*s && *s != ',')
            s++;
        const char *e = s;
        while (e > b && is_ows(e[-1]))
            e--;
        if (e > b && fn(b, (size_t)(e - b), arg))
            return true;
    }
    return false;
}

static bool tok_eq(const char *tok, size_t n, void *arg)
{
    const char *want = arg;
    return strlen(want) == n && strncasecmp(tok, want, n) == 0;
}

bool http1_has_token(const struct http1_head *h, const char *name, const char *token)
{
    for (size_t i = 0; i < h->n_hdr; i++)
        if (strcasecmp(h->hdr[i].name, name) == 0 &&
            list_each(h->hdr[i].value, tok_eq, (void *)token))
            return true;
    return false;
}

bool http1_is_hop_by_hop(const struct http1_head *h, const char *name, bool upgrading)
{
    static const char *const fixed[] = {
        "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authorization", "Proxy-Authenticate",
        "TE",         "Trailer",
    };
    if (strcasecmp(name, "Content-Length") == 0 || strcasecmp(name, "Transfer-Encoding") == 0)
        return false;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcasecmp(name, fixed[i]) == 0)
            return true;
    if (strcasecmp(name, "Upgrade") == 0)
        return !upgrading;
    return http1_has_token(h, "Connection", name);
}

/* ---- targets ------------------------------------------------------------------------- */

static int parse_port(const char *p, size_t n, uint16_t *port)
{
    if (n == 0 || n > 5)
        return -EINVAL;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -EINVAL;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -EINVAL;
    *port = (uint16_t)v;
    return 0;
}

/* Validate auth[0..n) as host[:port]. */
static int authority_n(const char *a, size_t n, uint16_t def_port, char *out, size_t outlen)
{
    size_t hb, he, i; /* host begin/end (brackets included for IPv6) */
    if (n == 0)
        return -EINVAL;
    if (a[0] == '[') {
        const char *rb = memchr(a, ']', n);
        if (!rb)
            return -EINVAL;
        size_t r = (size_t)(rb - a);
        if (r < 3)
            return -EINVAL;
        bool zone = false;
        for (i = 1; i < r; i++) {
            char c = a[i];
            if (c == '%' && !zone && i > 1) {
                zone = true;
                continue;
            }
            bool ok = zone
                          ? ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '~')
                          : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                             (c >= 'A' && c <= 'F') || c == ':' || c == '.');
            if (!ok)
                return -EINVAL;
        }
        hb = 0;
        he = r + 1;
    } else {
        for (i = 0; i < n && a[i] != ':'; i++) {
            char c = a[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_'))
                return -EINVAL;
        }
        if (i == 0)
            return -EINVAL;
        hb = 0;
        he = i;
    }
    if (he - hb > 255 + 2)
        return -ENAMETOOLONG;
    uint16_t port = def_port;
    if (he < n) {
        if (a[he] != ':')
            return -EINVAL;
        if (he + 1 < n && parse_port(a + he + 1, n - he - 1, &port) < 0)
            return -EINVAL;
    }
    /* "host:port" */
    char pb[8];
    int pl = 0;
    unsigned pv = port;
    char tmp[8];
    do {
        tmp[pl++] = (char)('0' + pv % 10);
        pv /= 10;
    } while (pv);
    for (int k = 0; k < pl; k++)
        pb[k] = tmp[pl - 1 - k];
    size_t need = (he - hb) + 1 + (size_t)pl + 1;
    if (need > outlen)
        return -ENAMETOOLONG;
    memcpy(out, a + hb, he - hb);
    out[he - hb] = ':';
    memcpy(out + he - hb + 1, pb, (size_t)pl);
    out[need - 1] = '\0';
    return 0;
}

int http1_authority(const char *auth, uint16_t default_port, char *out, size_t outlen)
{
    return authority_n(auth, strlen(auth), default_port, out, outlen);
}

int http1_absolute_uri(const char *uri, char *authority_out, size_t outlen, const char **path_out)
{
    const char *sep = strstr(uri, "://");
    if (!sep || sep == uri)
        return -EINVAL;
    for (const char *p = uri; p < sep; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (p > uri && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
        if (!ok)
            return -EINVAL;
    }
    if (sep - uri != 4 || strncasecmp(uri, "http", 4) != 0)
        return -EPROTONOSUPPORT;
    const char *a = sep + 3;
    size_t n = strcspn(a, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < n; i++)
        if (a[i] == '@')
            at = a + i;
    const char *host = at ? at + 1 : a;
    size_t hn = n - (size_t)(host - a);
    int rc = authority_n(host, hn, 80, authority_out, outlen);
    if (rc < 0)
        return rc;
    *path_out = a[n] ? a + n : "/";
    return 0;
}

/* ---- framing ------------------------------------------------------------------------- */

struct te_scan {
    size_t count;
    bool last_chunked;
    bool chunked_before_last;
};

static bool te_tok(const char *tok, size_t n, void *arg)
{
    struct te_scan *t = arg;
    if (t->last_chunked)
        t->chunked_before_last = true;
    t->last_chunked = n == 7 && strncasecmp(tok, "chunked", 7) == 0;
    t->count++;
    return false;
}

static void te_scan_all(const struct http1_head *h, struct te_scan *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < h->n_hdr; i++)
        if (strcasecmp(h->hdr[i].name, "Transfer-Encoding") == 0)
            list_each(h->hdr[i].value, te_tok, t);
}

/* 1 and *len when a Content-Length is present and valid (identical repeats allowed), 0 when
 * absent, -EINVAL otherwise. */
static int content_length(const struct http1_head *h, uint64_t *len)
{
    bool seen = false;
    uint64_t v0 = 0;
    for (size_t i = 0; i < h->n_hdr; i++) {
        if (strcasecmp(h->hdr[i].name, "Content-Length") != 0)
            continue;
        const char *s = h->hdr[i].value;
        size_t n = strlen(s);
        if (n == 0 || n > 18)
            return -EINVAL;
        uint64_t v = 0;
        for (size_t k = 0; k < n; k++) {
            if (s[k] < '0' || s[k] > '9')
                return -EINVAL;
            v = v * 10 + (uint64_t)(s[k] - '0');
        }
        if (seen && v != v0)
            return -EINVAL;
        seen = true;
        v0 = v;
    }
    if (seen)
        *len = v0;
    return seen ? 1 : 0;
}

int http1_req_body(const struct http1_head *h, enum http1_body *kind, uint64_t *len)
{
    struct te_scan t;
    te_scan_all(h, &t);
    uint64_t cl = 0;
    int rc = content_length(h, &cl);
    if (rc < 0)
        return rc;
    *len = 0;
    if (http1_count(h, "Transfer-Encoding")) {
        if (rc == 1 || !t.last_chunked || t.chunked_before_last)
            return -EINVAL;
        *kind = HTTP1_BODY_CHUNKED;
        return 0;
    }
    if (rc == 1 && cl > 0) {
        *kind = HTTP1_BODY_LENGTH;
        *len = cl;
        return 0;
    }
    *kind = HTTP1_BODY_NONE;
    return 0;
}

int http1_resp_body(const struct http1_head *h, const char *method, enum http1_body *kind,
                    uint64_t *len)
{
    *len = 0;
    if ((method && strcasecmp(method, "HEAD") == 0) || (h->status >= 100 && h->status < 200) ||
        h->status == 204 || h->status == 304 ||
        (method && strcasecmp(method, "CONNECT") == 0 && h->status / 100 == 2)) {
        *kind = HTTP1_BODY_NONE;
        return 0;
    }
    if (http1_count(h, "Transfer-Encoding")) {
        struct te_scan t;
        te_scan_all(h, &t);
        *kind = t.last_chunked && !t.chunked_before_last ? HTTP1_BODY_CHUNKED : HTTP1_BODY_CLOSE;
        return 0;
    }
    uint64_t cl = 0;
    int rc = content_length(h, &cl);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        *kind = HTTP1_BODY_CLOSE;
        return 0;
    }
    *kind = cl ? HTTP1_BODY_LENGTH : HTTP1_BODY_NONE;
    *len = cl;
    return 0;
}

enum {
    CH_SIZE,    /* chunk-size [ext] */
    CH_SIZE_LF, /* after CR of the size line */
    CH_DATA,    /* chunk data */
    CH_DATA_CR, /* CRLF after the data */
    CH_DATA_LF,
    CH_TR_START, /* start of a trailer line (or the final empty line) */
    CH_TR_LINE,  /* inside a trailer line */
    CH_END_LF,   /* after the CR of the final empty line */
};

void http1_chunked_init(struct http1_chunked *st)
{
    memset(st, 0, sizeof *st);
    st->state = CH_SIZE;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* End of a size line: start the data or the trailers. */
static int size_line_done(struct http1_chunked *st)
{
    if (!st->digits)
        return -EINVAL;
    st->state = st->left ? CH_DATA : CH_TR_START;
    st->line = 0;
    st->digits = st->in_ext = st->bws = false;
    return 0;
}

ssize_t http1_chunked_feed(struct http1_chunked *st, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i = 0;
    while (i < n && !st->done) {
        unsigned char c = b[i];
        switch (st->state) {
        case CH_SIZE:
            if (++st->line > HTTP1_CHUNK_LINE_MAX)
                return -EMSGSIZE;
            if (c == '\r') {
                st->state = CH_SIZE_LF;
            } else if (c == '\n') {
                if (size_line_done(st) < 0)
                    return -EINVAL;
            } else if (st->in_ext) {
                if ((c < 0x20 && c != '\t') || c == 0x7f)
                    return -EINVAL;
            } else if (c == ';') {
                if (!st->digits)
                    return -EINVAL;
                st->in_ext = true;
            } else if (is_ows((char)c)) {
                if (!st->digits)
                    return -EINVAL;
                st->bws = true; /* BWS before ';' or the line end */
            } else if (st->bws) {
                return -EINVAL;
            } else {
                int v = hexval(c);
                if (v < 0)
                    return -EINVAL;
                if (st->left >> 56)
                    return -EMSGSIZE;
                st->left = st->left * 16 + (uint64_t)v;
                st->digits = true;
            }
            i++;
            break;
        case CH_SIZE_LF:
            if (c != '\n' || size_line_done(st) < 0)
                return -EINVAL;
            i++;
            break;
        case CH_DATA: {
            size_t take = n - i;
            if (take > st->left)
                take = (size_t)st->left;
            st->left -= take;
            i += take;
            if (!st->left)
                st->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
            if (c == '\r')
                st->state = CH_DATA_LF;
            else if (c == '\n')
                st->state = CH_SIZE;
            else
                return -EINVAL;
            i++;
            break;
        case CH_DATA_LF:
            if (c != '\n')
                return -EINVAL;
            st->state = CH_SIZE;
            i++;
            break;
        case CH_TR_START:
            if (++st->trailer > HTTP1_TRAILER_MAX)
                return -EMSGSIZE;
            if (c == '\r')
                st->state = CH_END_LF;
            else if (c == '\n')
                st->done = true;
            else if (c == 0 || is_ows((char)c))
                return -EINVAL;
            else
                st->state = CH_TR_LINE;
            i++;
            break;
        case CH_TR_LINE:
            if (++st->trailer > HTTP1_TRAILER_MAX)
                return -EMSGSIZE;
            if (c == '\n')
                st->state = CH_TR_START;
            else if (c == 0)
                return -EINVAL;
            i++;
            break;
        case CH_END_LF:
            if (c != '\n')
                return -EINVAL;
            st->done = true;
            i++;
            break;
        default:
            return -EINVAL;
        }
    }
    return (ssize_t)i;
}
