/* url: Go net/url-compatible parsing of GOST's -L/-F values (contract in url.h).
 *
 * The behaviour follows Go's net/url (url.go: Parse, parse, getScheme, parseAuthority,
 * parseHost, validOptionalPort, validUserinfo, unescape, shouldEscape, EscapedPath,
 * ParseQuery), net.SplitHostPort/JoinHostPort, strings.TrimSpace and go-gost/x
 * config/cmd/cmd.go (Norm, cutHost, AddrPortRange use in buildServiceConfig/buildNodeConfig).
 */
#include "config/url.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"

/* ---- small helpers ------------------------------------------------------------------------- */

static void url_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void url_seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Quotes s[0..len) the way Go's %q would for printable ASCII (enough for messages); other
 * bytes are written as \xNN. Output is truncated to fit out. */
static const char *url_quote(const char *s, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    if (outlen < 8)
        return "\"\"";
    out[o++] = '"';
    for (size_t i = 0; i < len && o + 6 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c >= 0x20 && c < 0x7f) {
            out[o++] = (char)c;
        } else {
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

static bool url_is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool url_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool url_is_hex(unsigned char c)
{
    return url_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned url_unhex(unsigned char c)
{
    if (url_is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c - 'A' + 10;
}

static char *url_strndup(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* memmem-like search for a C string needle in s[0..len). Returns offset or URL_NOPOS. */
static size_t url_find(const char *s, size_t len, const char *needle)
{
    size_t nl = strlen(needle);
    if (nl > len)
        return URL_NOPOS;
    for (size_t i = 0; i + nl <= len; i++)
        if (memcmp(s + i, needle, nl) == 0)
            return i;
    return URL_NOPOS;
}

static size_t url_find_byte(const char *s, size_t len, char c)
{
    const char *p = memchr(s, c, len);
    return p ? (size_t)(p - s) : URL_NOPOS;
}

static size_t url_rfind_byte(const char *s, size_t len, char c)
{
    for (size_t i = len; i > 0; i--)
        if (s[i - 1] == c)
            return i - 1;
    return URL_NOPOS;
}

/* ---- escaping ------------------------------------------------------------------------------ */

/* Go's shouldEscape(c, mode). */
static bool url_should_escape(unsigned char c, enum url_enc mode)
{
    if (url_is_alpha(c) || url_is_digit(c))
        return false;
    if (mode == URL_ENC_HOST || mode == URL_ENC_ZONE) {
        switch (c) {
        case '!':
        case '$':
        case '&':
        case '\'':
        case '(':
        case ')':
        case '*':
        case '+':
        case ',':
        case ';':
        case '=':
        case ':':
        case '[':
        case ']':
        case '<':
        case '>':
        case '"':
            return false;
        default:
            break;
        }
    }
    switch (c) {
    case '-':
    case '_':
    case '.':
    case '~':
        return false;
    case '$':
    case '&':
    case '+':
    case ',':
    case '/':
    case ':':
    case ';':
    case '=':
    case '?':
    case '@':
        switch (mode) {
        case URL_ENC_PATH:
            return c == '?';
        case URL_ENC_PATH_SEGMENT:
            return c == '/' || c == ';' || c == ',' || c == '?';
        case URL_ENC_USERINFO:
            return c == '@' || c == '/' || c == '?' || c == ':';
        case URL_ENC_QUERY:
            return true;
        case URL_ENC_FRAGMENT:
            return false;
        default:
            break;
        }
        break;
    default:
        break;
    }
    if (mode == URL_ENC_FRAGMENT) {
        switch (c) {
        case '!':
        case '(':
        case ')':
        case '*':
            return false;
        default:
            break;
        }
    }
    return true;
}

int url_unescape(const char *s, size_t len, enum url_enc mode, char **out, size_t *outlen,
                 char *err, size_t errlen, size_t *err_at)
{
    char q[64];
    size_t n = 0;
    *out = NULL;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            n++;
            if (i + 2 >= len || !url_is_hex((unsigned char)s[i + 1]) ||
                !url_is_hex((unsigned char)s[i + 2])) {
                size_t el = len - i < 3 ? len - i : 3;
                url_seterr(err, errlen, "invalid URL escape %s", url_quote(s + i, el, q, sizeof q));
                if (err_at)
                    *err_at = i;
                return -EINVAL;
            }
            if (mode == URL_ENC_HOST && url_unhex((unsigned char)s[i + 1]) < 8 &&
                memcmp(s + i, "%25", 3) != 0) {
                url_seterr(err, errlen, "invalid URL escape %s", url_quote(s + i, 3, q, sizeof q));
                if (err_at)
                    *err_at = i;
                return -EINVAL;
            }
            if (mode == URL_ENC_ZONE) {
                unsigned v =
                    url_unhex((unsigned char)s[i + 1]) << 4 | url_unhex((unsigned char)s[i + 2]);
                if (memcmp(s + i, "%25", 3) != 0 && v != ' ' &&
                    url_should_escape((unsigned char)v, URL_ENC_HOST)) {
                    url_seterr(err, errlen, "invalid URL escape %s",
                               url_quote(s + i, 3, q, sizeof q));
                    if (err_at)
                        *err_at = i;
                    return -EINVAL;
                }
            }
            i += 3;
        } else {
            if ((mode == URL_ENC_HOST || mode == URL_ENC_ZONE) && c < 0x80 &&
                url_should_escape(c, mode)) {
                url_seterr(err, errlen, "invalid character %s in host name",
                           url_quote(s + i, 1, q, sizeof q));
                if (err_at)
                    *err_at = i;
                return -EINVAL;
            }
            i++;
        }
    }
    char *d = xmalloc(len - 2 * n + 1);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            d[o++] = (char)(url_unhex((unsigned char)s[i + 1]) << 4 |
                            url_unhex((unsigned char)s[i + 2]));
            i += 3;
        } else if (c == '+' && mode == URL_ENC_QUERY) {
            d[o++] = ' ';
            i++;
        } else {
            d[o++] = (char)c;
            i++;
        }
    }
    d[o] = '\0';
    *out = d;
    if (outlen)
        *outlen = o;
    return 0;
}

char *url_escape(const char *s, size_t len, enum url_enc mode)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t extra = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (url_should_escape(c, mode) && !(c == ' ' && mode == URL_ENC_QUERY))
            extra += 2;
    }
    char *d = xmalloc(len + extra + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' && mode == URL_ENC_QUERY) {
            d[o++] = '+';
        } else if (url_should_escape(c, mode)) {
            d[o++] = '%';
            d[o++] = hex[c >> 4];
            d[o++] = hex[c & 15];
        } else {
            d[o++] = (char)c;
        }
    }
    d[o] = '\0';
    return d;
}

/* Go's validEncoded(s, mode). */
static bool url_valid_encoded(const char *s, size_t len, enum url_enc mode)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '!':
        case '$':
        case '&':
        case '\'':
        case '(':
        case ')':
        case '*':
        case '+':
        case ',':
        case ';':
        case '=':
        case ':':
        case '@':
        case '[':
        case ']':
        case '%':
            break;
        default:
            if (url_should_escape(c, mode))
                return false;
        }
    }
    return true;
}

char *url_escaped_path(const struct url *u)
{
    const char *raw = u->raw_path ? u->raw_path : "";
    if (url_valid_encoded(raw, strlen(raw), URL_ENC_PATH))
        return xstrdup(raw);
    const char *p = u->path ? u->path : "";
    return url_escape(p, strlen(p), URL_ENC_PATH);
}

/* ---- hosts and ports ----------------------------------------------------------------------- */

/* Go's validOptionalPort. */
static bool url_valid_optional_port(const char *p, size_t len)
{
    if (len == 0)
        return true;
    if (p[0] != ':')
        return false;
    for (size_t i = 1; i < len; i++)
        if (!url_is_digit((unsigned char)p[i]))
            return false;
    return true;
}

char *url_hostname(const char *host)
{
    size_t len = strlen(host);
    size_t colon = url_rfind_byte(host, len, ':');
    if (colon != URL_NOPOS && url_valid_optional_port(host + colon, len - colon))
        len = colon;
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
        return url_strndup(host + 1, len - 2);
    return url_strndup(host, len);
}

/* True when s[0..len) is an IPv6 address (what Go >= 1.24.8/1.25.2 requires inside brackets). */
static bool url_is_ipv6(const char *s, size_t len)
{
    char buf[64];
    struct in6_addr a;
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(AF_INET6, buf, &a) == 1;
}

/* Go's parseHost. `off` is added to error offsets. */
static int url_parse_host(const char *h, size_t len, size_t off, char **out, char *err,
                          size_t errlen, size_t *err_off)
{
    char q[96];
    size_t at = 0;
    if (len > 0 && h[0] == '[') {
        size_t i = url_rfind_byte(h, len, ']');
        if (i == URL_NOPOS) {
            url_seterr(err, errlen, "missing ']' in host");
            *err_off = off;
            return -EINVAL;
        }
        if (!url_valid_optional_port(h + i + 1, len - i - 1)) {
            url_seterr(err, errlen, "invalid port %s after host",
                       url_quote(h + i + 1, len - i - 1, q, sizeof q));
            *err_off = off + i + 1;
            return -EINVAL;
        }
        size_t zone = url_find(h, i, "%25");
        size_t ip_end = zone != URL_NOPOS ? zone : i;
        if (!url_is_ipv6(h + 1, ip_end - 1)) {
            url_seterr(err, errlen, "invalid IP-literal %s in host",
                       url_quote(h, i + 1, q, sizeof q));
            *err_off = off;
            return -EINVAL;
        }
        if (zone != URL_NOPOS) {
            char *h1 = NULL, *h2 = NULL, *h3 = NULL;
            size_t l1, l2, l3;
            int rc = url_unescape(h, zone, URL_ENC_HOST, &h1, &l1, err, errlen, &at);
            if (rc == 0) {
                rc = url_unescape(h + zone, i - zone, URL_ENC_ZONE, &h2, &l2, err, errlen, &at);
                at += zone;
            }
            if (rc == 0) {
                rc = url_unescape(h + i, len - i, URL_ENC_HOST, &h3, &l3, err, errlen, &at);
                at += i;
            }
            if (rc != 0) {
                free(h1);
                free(h2);
                *err_off = off + at;
                return rc;
            }
            char *d = xmalloc(l1 + l2 + l3 + 1);
            memcpy(d, h1, l1);
            memcpy(d + l1, h2, l2);
            memcpy(d + l1 + l2, h3, l3);
            d[l1 + l2 + l3] = '\0';
            free(h1);
            free(h2);
            free(h3);
            *out = d;
            return 0;
        }
    } else {
        size_t i = url_rfind_byte(h, len, ':');
        if (i != URL_NOPOS && !url_valid_optional_port(h + i, len - i)) {
            url_seterr(err, errlen, "invalid port %s after host",
                       url_quote(h + i, len - i, q, sizeof q));
            *err_off = off + i;
            return -EINVAL;
        }
    }
    int rc = url_unescape(h, len, URL_ENC_HOST, out, NULL, err, errlen, &at);
    if (rc != 0)
        *err_off = off + at;
    return rc;
}

/* Go's validUserinfo (byte-wise: any non-ASCII rune is invalid). */
static bool url_valid_userinfo(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (url_is_alpha(c) || url_is_digit(c))
            continue;
        switch (c) {
        case '-':
        case '.':
        case '_':
        case ':':
        case '~':
        case '!':
        case '$':
        case '&':
        case '\'':
        case '(':
        case ')':
        case '*':
        case '+':
        case ',':
        case ';':
        case '=':
        case '%':
        case '@':
            continue;
        default:
            return false;
        }
    }
    return true;
}

/* Go's parseAuthority on s[0..len) located at input offset `off`. */
static int url_parse_authority(struct url *u, const char *s, size_t len, size_t off, char *err,
                               size_t errlen, size_t *err_off)
{
    size_t at = url_rfind_byte(s, len, '@');
    size_t hstart = at == URL_NOPOS ? 0 : at + 1;
    int rc = url_parse_host(s + hstart, len - hstart, off + hstart, &u->host, err, errlen, err_off);
    if (rc != 0)
        return rc;
    u->host_off = off + hstart;
    if (at == URL_NOPOS)
        return 0;
    if (!url_valid_userinfo(s, at)) {
        url_seterr(err, errlen, "net/url: invalid userinfo");
        *err_off = off;
        return -EINVAL;
    }
    size_t e = 0;
    size_t colon = url_find_byte(s, at, ':');
    u->has_user = true;
    u->user_off = off;
    if (colon == URL_NOPOS) {
        rc = url_unescape(s, at, URL_ENC_USERINFO, &u->username, NULL, err, errlen, &e);
        if (rc != 0) {
            *err_off = off + e;
            return rc;
        }
        return 0;
    }
    rc = url_unescape(s, colon, URL_ENC_USERINFO, &u->username, NULL, err, errlen, &e);
    if (rc != 0) {
        *err_off = off + e;
        return rc;
    }
    rc = url_unescape(s + colon + 1, at - colon - 1, URL_ENC_USERINFO, &u->password, NULL, err,
                      errlen, &e);
    if (rc != 0) {
        *err_off = off + colon + 1 + e;
        return rc;
    }
    return 0;
}

static void url_init(struct url *u)
{
    memset(u, 0, sizeof *u);
    u->scheme_off = u->user_off = u->host_off = URL_NOPOS;
    u->path_off = u->query_off = u->fragment_off = URL_NOPOS;
}

void url_free(struct url *u)
{
    if (!u)
        return;
    free(u->scheme);
    free(u->opaque);
    free(u->username);
    free(u->password);
    free(u->host);
    free(u->path);
    free(u->raw_path);
    free(u->raw_query);
    free(u->fragment);
    url_init(u);
}

int url_parse(const char *s, size_t len, struct url *u, char *err, size_t errlen, size_t *err_off)
{
    size_t eo = URL_NOPOS;
    int rc = 0;
    url_init(u);
    if (len > URL_MAX_LEN) {
        url_seterr(err, errlen, "URL too long (%zu bytes, at most %d)", len, URL_MAX_LEN);
        if (err_off)
            *err_off = URL_NOPOS;
        return -E2BIG;
    }
    size_t ulen = url_find_byte(s, len, '#');
    bool has_frag = ulen != URL_NOPOS;
    if (!has_frag)
        ulen = len;
    for (size_t i = 0; i < ulen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            url_seterr(err, errlen, "net/url: invalid control character in URL");
            eo = i;
            rc = -EINVAL;
            goto fail;
        }
    }

    /* getScheme */
    size_t rest = 0;
    for (size_t i = 0; i < ulen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (url_is_alpha(c))
            continue;
        if (url_is_digit(c) || c == '+' || c == '-' || c == '.') {
            if (i == 0)
                break;
            continue;
        }
        if (c == ':') {
            if (i == 0) {
                url_seterr(err, errlen, "missing protocol scheme");
                eo = 0;
                rc = -EINVAL;
                goto fail;
            }
            u->scheme = url_strndup(s, i);
            for (char *p = u->scheme; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p - 'A' + 'a');
            u->scheme_off = 0;
            rest = i + 1;
        }
        break;
    }
    if (!u->scheme)
        u->scheme = xstrdup("");

    /* query */
    const char *r = s + rest;
    size_t rlen = ulen - rest;
    size_t qcount = 0, qfirst = URL_NOPOS;
    for (size_t i = 0; i < rlen; i++) {
        if (r[i] == '?') {
            if (qfirst == URL_NOPOS)
                qfirst = i;
            qcount++;
        }
    }
    if (rlen > 0 && r[rlen - 1] == '?' && qcount == 1) {
        rlen--;
        u->raw_query = xstrdup("");
        u->query_off = rest + rlen + 1;
    } else if (qfirst != URL_NOPOS) {
        u->raw_query = url_strndup(r + qfirst + 1, rlen - qfirst - 1);
        u->query_off = rest + qfirst + 1;
        rlen = qfirst;
    } else {
        u->raw_query = xstrdup("");
    }

    if (rlen == 0 || r[0] != '/') {
        if (u->scheme[0] != '\0') {
            u->opaque = url_strndup(r, rlen);
            u->host = xstrdup("");
            u->path = xstrdup("");
            u->raw_path = xstrdup("");
            goto fragment;
        }
        size_t seg = url_find_byte(r, rlen, '/');
        if (seg == URL_NOPOS)
            seg = rlen;
        if (url_find_byte(r, seg, ':') != URL_NOPOS) {
            url_seterr(err, errlen, "first path segment in URL cannot contain colon");
            eo = rest;
            rc = -EINVAL;
            goto fail;
        }
    }
    size_t pstart = 0;
    if ((u->scheme[0] != '\0' || !(rlen >= 3 && memcmp(r, "///", 3) == 0)) && rlen >= 2 &&
        memcmp(r, "//", 2) == 0) {
        size_t alen = url_find_byte(r + 2, rlen - 2, '/');
        if (alen == URL_NOPOS)
            alen = rlen - 2;
        rc = url_parse_authority(u, r + 2, alen, rest + 2, err, errlen, &eo);
        if (rc != 0)
            goto fail;
        pstart = 2 + alen;
    }
    if (!u->host)
        u->host = xstrdup("");
    {
        size_t at = 0;
        rc =
            url_unescape(r + pstart, rlen - pstart, URL_ENC_PATH, &u->path, NULL, err, errlen, &at);
        if (rc != 0) {
            eo = rest + pstart + at;
            goto fail;
        }
        u->raw_path = url_strndup(r + pstart, rlen - pstart);
        if (rlen > pstart)
            u->path_off = rest + pstart;
    }

fragment:
    if (has_frag) {
        size_t at = 0;
        rc = url_unescape(s + ulen + 1, len - ulen - 1, URL_ENC_FRAGMENT, &u->fragment, NULL, err,
                          errlen, &at);
        if (rc != 0) {
            eo = ulen + 1 + at;
            goto fail;
        }
        u->fragment_off = ulen + 1;
    }
    return 0;

fail:
    url_free(u);
    if (err_off)
        *err_off = eo;
    return rc;
}

/* ---- query --------------------------------------------------------------------------------- */

static void url_query_push(struct url_query *q, char *key, char *value, size_t koff, size_t voff)
{
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 8;
        q->items = xrealloc(q->items, q->cap * sizeof(*q->items));
    }
    struct url_qitem *it = &q->items[q->n++];
    it->key = key;
    it->value = value;
    it->key_off = koff;
    it->value_off = voff;
}

size_t url_parse_query(const char *raw, size_t len, size_t base, struct url_query *q)
{
    size_t bad = 0;
    size_t i = 0;
    while (i < len) {
        size_t amp = url_find_byte(raw + i, len - i, '&');
        size_t plen = amp == URL_NOPOS ? len - i : amp;
        const char *p = raw + i;
        size_t poff = i;
        i += plen + (amp == URL_NOPOS ? 0 : 1);
        if (url_find_byte(p, plen, ';') != URL_NOPOS) {
            bad++;
            continue;
        }
        if (plen == 0)
            continue;
        size_t eq = url_find_byte(p, plen, '=');
        size_t klen = eq == URL_NOPOS ? plen : eq;
        char *key = NULL, *value = NULL;
        if (url_unescape(p, klen, URL_ENC_QUERY, &key, NULL, NULL, 0, NULL) != 0) {
            bad++;
            continue;
        }
        const char *v = eq == URL_NOPOS ? p + plen : p + eq + 1;
        size_t vlen = eq == URL_NOPOS ? 0 : plen - eq - 1;
        if (url_unescape(v, vlen, URL_ENC_QUERY, &value, NULL, NULL, 0, NULL) != 0) {
            free(key);
            bad++;
            continue;
        }
        url_query_push(q, key, value, base + poff, base + poff + (eq == URL_NOPOS ? 0 : eq + 1));
    }
    return bad;
}

void url_query_free(struct url_query *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n; i++) {
        free(q->items[i].key);
        free(q->items[i].value);
    }
    free(q->items);
    memset(q, 0, sizeof *q);
}

/* ---- net.SplitHostPort / JoinHostPort, strconv.Atoi ---------------------------------------- */

int url_split_host_port(const char *s, size_t len, size_t *host_off, size_t *host_len,
                        size_t *port_off, size_t *port_len)
{
    size_t i = url_rfind_byte(s, len, ':');
    size_t j = 0, k = 0;
    if (i == URL_NOPOS)
        return -EINVAL; /* missing port in address */
    if (s[0] == '[') {
        size_t end = url_find_byte(s, len, ']');
        if (end == URL_NOPOS)
            return -EINVAL; /* missing ']' in address */
        if (end + 1 == len)
            return -EINVAL; /* missing port */
        if (end + 1 != i)
            return -EINVAL; /* too many colons / missing port */
        *host_off = 1;
        *host_len = end - 1;
        j = 1;
        k = end + 1;
    } else {
        if (url_find_byte(s, i, ':') != URL_NOPOS)
            return -EINVAL; /* too many colons in address */
        *host_off = 0;
        *host_len = i;
    }
    if (url_find_byte(s + j, len - j, '[') != URL_NOPOS)
        return -EINVAL; /* unexpected '[' */
    if (url_find_byte(s + k, len - k, ']') != URL_NOPOS)
        return -EINVAL; /* unexpected ']' */
    *port_off = i + 1;
    *port_len = len - i - 1;
    return 0;
}

char *url_join_host_port(const char *host, size_t hlen, const char *port, size_t plen)
{
    bool br = url_find_byte(host, hlen, ':') != URL_NOPOS;
    char *d = xmalloc(hlen + plen + 4);
    size_t o = 0;
    if (br)
        d[o++] = '[';
    memcpy(d + o, host, hlen);
    o += hlen;
    if (br)
        d[o++] = ']';
    d[o++] = ':';
    memcpy(d + o, port, plen);
    o += plen;
    d[o] = '\0';
    return d;
}

int url_atoi(const char *s, size_t len, int64_t *v)
{
    size_t i = 0;
    bool neg = false;
    uint64_t acc = 0;
    bool overflow = false;
    *v = 0;
    if (len > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == len)
        return -EINVAL;
    for (; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!url_is_digit(c))
            return -EINVAL;
        if (!overflow) {
            if (acc > (UINT64_MAX - (c - '0')) / 10)
                overflow = true;
            else
                acc = acc * 10 + (c - '0');
        }
    }
    uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (overflow || acc > lim) {
        *v = neg ? INT64_MIN : INT64_MAX;
        return -ERANGE;
    }
    *v = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
    return 0;
}

/* ---- GOST command-line URLs ---------------------------------------------------------------- */

/* A working string with, for each byte, its offset in the original argument (URL_NOPOS for
 * synthesized bytes). map has len + 1 entries (the last one is the end position). */
struct url_wstr {
    char *s;
    size_t *map;
    size_t len;
};

static void url_wstr_free(struct url_wstr *w)
{
    free(w->s);
    free(w->map);
    memset(w, 0, sizeof *w);
}

static size_t url_wstr_at(const struct url_wstr *w, size_t i)
{
    if (i == URL_NOPOS)
        return URL_NOPOS;
    if (i > w->len)
        i = w->len;
    return w->map[i];
}

/* Builds a working string from pieces of another one (or of the argument, when src is NULL). */
struct url_piece {
    const char *lit; /* synthesized text, or NULL */
    const struct url_wstr *src;
    size_t off, len; /* range in src */
};

static void url_wstr_build(struct url_wstr *w, const struct url_piece *pcs, size_t n,
                           size_t end_pos)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += pcs[i].lit ? strlen(pcs[i].lit) : pcs[i].len;
    w->s = xmalloc(total + 1);
    w->map = xmalloc((total + 1) * sizeof(size_t));
    w->len = total;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (pcs[i].lit) {
            size_t l = strlen(pcs[i].lit);
            memcpy(w->s + o, pcs[i].lit, l);
            for (size_t j = 0; j < l; j++)
                w->map[o + j] = URL_NOPOS;
            o += l;
        } else {
            memcpy(w->s + o, pcs[i].src->s + pcs[i].off, pcs[i].len);
            for (size_t j = 0; j < pcs[i].len; j++)
                w->map[o + j] = pcs[i].src->map[pcs[i].off + j];
            o += pcs[i].len;
        }
    }
    w->s[o] = '\0';
    w->map[o] = end_pos;
}

/* Length of a Unicode White_Space character (Go's unicode.IsSpace) starting at s[i], or 0. */
static size_t url_space_at(const unsigned char *s, size_t i, size_t len)
{
    unsigned char c = s[i];
    if (c == ' ' || (c >= '\t' && c <= '\r'))
        return 1;
    if (c == 0xc2 && i + 1 < len && (s[i + 1] == 0x85 || s[i + 1] == 0xa0))
        return 2;
    if (i + 2 < len) {
        unsigned char b = s[i + 1], d = s[i + 2];
        if (c == 0xe1 && b == 0x9a && d == 0x80)
            return 3; /* U+1680 */
        if (c == 0xe2 && b == 0x80 &&
            ((d >= 0x80 && d <= 0x8a) || d == 0xa8 || d == 0xa9 || d == 0xaf))
            return 3; /* U+2000..200A, U+2028, U+2029, U+202F */
        if (c == 0xe2 && b == 0x81 && d == 0x9f)
            return 3; /* U+205F */
        if (c == 0xe3 && b == 0x80 && d == 0x80)
            return 3; /* U+3000 */
    }
    return 0;
}

/* Length of a white-space character ending at s[end-1], or 0. */
static size_t url_space_before(const unsigned char *s, size_t start, size_t end)
{
    for (size_t l = 1; l <= 3; l++) {
        if (end - start < l)
            break;
        if (url_space_at(s, end - l, end) == l)
            return l;
    }
    return 0;
}

/* Go's strings.TrimSpace: returns [*b, *e) within s[0..len). */
static void url_trim(const char *s, size_t len, size_t *b, size_t *e)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, j = len, l;
    while (i < j && (l = url_space_at(u, i, j)) > 0)
        i += l;
    while (j > i && (l = url_space_before(u, i, j)) > 0)
        j -= l;
    *b = i;
    *e = j;
}

static bool url_wstr_contains(const struct url_wstr *w, const char *needle)
{
    return url_find(w->s, w->len, needle) != URL_NOPOS;
}

static void url_items_push(struct url_item **items, size_t *n, size_t *cap, char *s, size_t off)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        *items = xrealloc(*items, *cap * sizeof(**items));
    }
    (*items)[*n].s = s;
    (*items)[*n].off = off;
    (*n)++;
}

static void url_items_free(struct url_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i].s);
    free(items);
}

/* xnet.AddrPortRange(addr).Addrs(), strict: appends the expanded addresses (or addr itself
 * when it is not host:port or contains "://"). `what` names the address in messages. */
static int url_expand_range(const char *addr, size_t alen, size_t off, struct url_item **items,
                            size_t *n, size_t *cap, size_t max_total, const char *what, char *err,
                            size_t errlen, size_t *err_off)
{
    char q[64], q2[96];
    size_t ho, hl, po, pl;
    if (url_find(addr, alen, "://") != URL_NOPOS ||
        url_split_host_port(addr, alen, &ho, &hl, &po, &pl) != 0) {
        if (*n >= max_total) {
            url_seterr(err, errlen, "too many %ss (at most %zu)", what, max_total);
            *err_off = off;
            return -E2BIG;
        }
        url_items_push(items, n, cap, url_strndup(addr, alen), off);
        return 0;
    }
    const char *port = addr + po;
    size_t dash = url_find_byte(port, pl, '-');
    int64_t lo, hi;
    if (dash == URL_NOPOS) {
        if (url_atoi(port, pl, &lo) != 0 || lo < 0 || lo > 65535) {
            url_seterr(err, errlen, "invalid port %s in %s %s", url_quote(port, pl, q, sizeof q),
                       what, url_quote(addr, alen, q2, sizeof q2));
            *err_off = off + po;
            return -EINVAL;
        }
        hi = lo;
    } else {
        if (url_find_byte(port + dash + 1, pl - dash - 1, '-') != URL_NOPOS ||
            url_atoi(port, dash, &lo) != 0 || url_atoi(port + dash + 1, pl - dash - 1, &hi) != 0) {
            url_seterr(err, errlen, "invalid port range %s in %s", url_quote(port, pl, q, sizeof q),
                       what);
            *err_off = off + po;
            return -EINVAL;
        }
        if (lo < 0 || hi > 65535) {
            url_seterr(err, errlen, "port range %s in %s goes beyond 0-65535",
                       url_quote(port, pl, q, sizeof q), what);
            *err_off = off + po;
            return -EINVAL;
        }
        if (hi < lo) {
            url_seterr(err, errlen, "port range %s in %s ends before it starts",
                       url_quote(port, pl, q, sizeof q), what);
            *err_off = off + po;
            return -EINVAL;
        }
        if (hi - lo + 1 > URL_MAX_PORTS) {
            url_seterr(err, errlen, "port range %s in %s has more than %d ports",
                       url_quote(port, pl, q, sizeof q), what, URL_MAX_PORTS);
            *err_off = off + po;
            return -E2BIG;
        }
    }
    if ((uint64_t)(hi - lo + 1) > max_total - *n) {
        url_seterr(err, errlen, "too many %ss (at most %zu)", what, max_total);
        *err_off = off + po;
        return -E2BIG;
    }
    for (int64_t p = lo; p <= hi; p++) {
        char pb[16];
        int l = snprintf(pb, sizeof pb, "%d", (int)p);
        url_items_push(items, n, cap, url_join_host_port(addr + ho, hl, pb, (size_t)l), off);
    }
    return 0;
}

void url_spec_free(struct url_spec *s)
{
    if (!s)
        return;
    url_free(&s->url);
    free(s->part[0]);
    free(s->part[1]);
    url_items_free(s->addrs, s->n_addrs);
    url_items_free(s->targets, s->n_targets);
    url_query_free(&s->query);
    memset(s, 0, sizeof *s);
}

/* GOST's Norm() on a working string: trim, implicit "auto://", url.Parse, https rewrite. The
 * url offsets are mapped to argument offsets. */
static int url_norm(const struct url_wstr *in, struct url_spec *sp, struct url_wstr *w, char *err,
                    size_t errlen, size_t *err_off)
{
    size_t b, e;
    url_trim(in->s, in->len, &b, &e);
    if (b == e) {
        url_seterr(err, errlen, "invalid cmd");
        *err_off = URL_NOPOS;
        return -EINVAL;
    }
    struct url_wstr t;
    struct url_piece pc = {NULL, in, b, e - b};
    url_wstr_build(&t, &pc, 1, url_wstr_at(in, e));
    if (t.s[0] == ':' || !url_wstr_contains(&t, "://")) {
        struct url_piece pcs[2] = {{"auto://", NULL, 0, 0}, {NULL, &t, 0, t.len}};
        url_wstr_build(w, pcs, 2, t.map[t.len]);
        sp->implicit_scheme = true;
        url_wstr_free(&t);
    } else {
        *w = t;
    }
    size_t eo = URL_NOPOS;
    int rc = url_parse(w->s, w->len, &sp->url, err, errlen, &eo);
    if (rc != 0) {
        *err_off = url_wstr_at(w, eo);
        return rc;
    }
    struct url *u = &sp->url;
    if (strcmp(u->scheme, "https") == 0) {
        free(u->scheme);
        u->scheme = xstrdup("http+tls");
    }
    u->scheme_off = u->scheme_off == URL_NOPOS ? URL_NOPOS : url_wstr_at(w, u->scheme_off);
    u->user_off = url_wstr_at(w, u->user_off);
    u->host_off = url_wstr_at(w, u->host_off);
    u->path_off = url_wstr_at(w, u->path_off);
    u->fragment_off = url_wstr_at(w, u->fragment_off);
    /* query_off stays a working-string offset until the query is parsed */
    return 0;
}

static bool url_is_path_scheme(const char *s, size_t len)
{
    return (len == 4 && memcmp(s, "unix", 4) == 0) || (len == 5 && memcmp(s, "runix", 5) == 0) ||
           (len == 6 && memcmp(s, "serial", 6) == 0);
}

static void url_split_scheme(struct url_spec *sp)
{
    const char *sc = sp->url.scheme;
    size_t len = strlen(sc);
    size_t nparts = 1;
    for (size_t i = 0; i < len; i++)
        if (sc[i] == '+')
            nparts++;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || sc[i] == '+') {
            if (url_is_path_scheme(sc + start, i - start))
                sp->path_based = true;
            start = i + 1;
        }
    }
    if (nparts == 1) {
        sp->part[0] = xstrdup(sc);
        sp->part[1] = xstrdup(sc);
    } else if (nparts == 2) {
        size_t plus = url_find_byte(sc, len, '+');
        sp->part[0] = url_strndup(sc, plus);
        sp->part[1] = xstrdup(sc + plus + 1);
    } else {
        sp->part[0] = xstrdup("");
        sp->part[1] = xstrdup("");
    }
}

int url_spec_parse(const char *arg, size_t len, enum url_role role, struct url_spec *out, char *err,
                   size_t errlen, size_t *err_off)
{
    struct url_wstr a = {0}, s = {0}, rem = {0}, w = {0};
    struct url_spec *sp = out;
    size_t eo = URL_NOPOS, cap = 0, tcap = 0;
    char *ep = NULL;
    int rc = 0;

    memset(sp, 0, sizeof *sp);
    sp->role = role;
    if (len > URL_MAX_LEN) {
        url_seterr(err, errlen, "argument too long (%zu bytes, at most %d)", len, URL_MAX_LEN);
        rc = -E2BIG;
        goto fail;
    }
    if (memchr(arg, '\0', len)) {
        url_seterr(err, errlen, "NUL byte in argument");
        eo = (size_t)((const char *)memchr(arg, '\0', len) - arg);
        rc = -EINVAL;
        goto fail;
    }
    a.s = url_strndup(arg, len);
    a.len = len;
    a.map = xmalloc((len + 1) * sizeof(size_t));
    for (size_t i = 0; i <= len; i++)
        a.map[i] = i;

    if (role == URL_ROLE_NODE) {
        rc = url_norm(&a, sp, &w, err, errlen, &eo);
        if (rc != 0)
            goto fail;
    } else {
        size_t b, e;
        url_trim(a.s, a.len, &b, &e);
        if (b == e) {
            url_wstr_free(&a);
            return 1;
        }
        struct url_piece pc = {NULL, &a, b, e - b};
        url_wstr_build(&s, &pc, 1, e);
        if (s.s[0] == ':' || !url_wstr_contains(&s, "://")) {
            struct url_wstr t = s;
            struct url_piece pcs[2] = {{"auto://", NULL, 0, 0}, {NULL, &t, 0, t.len}};
            url_wstr_build(&s, pcs, 2, t.map[t.len]);
            url_wstr_free(&t);
            sp->implicit_scheme = true;
        }
        /* cutHost: the host is cut out before url.Parse so that port ranges survive. */
        size_t n = url_find_byte(s.s, s.len, ':');
        size_t start = n + 3;
        size_t end = start;
        while (end < s.len && s.s[end] != '/' && s.s[end] != '?')
            end++;
        size_t at = url_rfind_byte(s.s + start, end - start, '@');
        if (at != URL_NOPOS)
            start += at + 1;
        struct url_piece pcs[2] = {{NULL, &s, 0, start}, {NULL, &s, end, s.len - end}};
        url_wstr_build(&rem, pcs, 2, s.map[s.len]);
        rc = url_norm(&rem, sp, &w, err, errlen, &eo);
        if (rc != 0)
            goto fail;
        free(sp->url.host);
        sp->url.host = url_strndup(s.s + start, end - start);
        sp->url.host_off = url_wstr_at(&s, start);
    }

    url_split_scheme(sp);
    sp->path_addr = sp->path_based && sp->url.host[0] == '\0';

    /* query: offsets mapped to the argument */
    if (sp->url.query_off != URL_NOPOS) {
        size_t qo = sp->url.query_off;
        url_parse_query(w.s + qo, strlen(sp->url.raw_query), qo, &sp->query);
        for (size_t i = 0; i < sp->query.n; i++) {
            sp->query.items[i].key_off = url_wstr_at(&w, sp->query.items[i].key_off);
            sp->query.items[i].value_off = url_wstr_at(&w, sp->query.items[i].value_off);
        }
        sp->url.query_off = url_wstr_at(&w, qo);
    }

    ep = url_escaped_path(&sp->url);
    size_t eplen = strlen(ep);
    bool ep_exact = strcmp(ep, sp->url.raw_path) == 0 && sp->url.path_off != URL_NOPOS;
#define EP_OFF(i) (ep_exact ? sp->url.path_off + (i) : sp->url.path_off)

    if (role == URL_ROLE_NODE) {
        const char *na = sp->path_addr ? ep : sp->url.host;
        size_t base = sp->path_addr ? sp->url.path_off : sp->url.host_off;
        bool exact = sp->path_addr ? ep_exact : true;
        size_t nl = strlen(na), st = 0;
        for (size_t i = 0; i <= nl; i++) {
            if (i == nl || na[i] == ',') {
                if (i > st)
                    url_items_push(&sp->addrs, &sp->n_addrs, &cap, url_strndup(na + st, i - st),
                                   base == URL_NOPOS ? URL_NOPOS : base + (exact ? st : 0));
                st = i + 1;
            }
        }
    } else {
        if (sp->path_addr) {
            if (eplen > 0)
                url_items_push(&sp->addrs, &sp->n_addrs, &cap, xstrdup(ep), sp->url.path_off);
            else
                url_items_push(&sp->addrs, &sp->n_addrs, &cap, xstrdup(sp->url.host),
                               sp->url.host_off);
        } else {
            rc = url_expand_range(sp->url.host, strlen(sp->url.host), sp->url.host_off, &sp->addrs,
                                  &sp->n_addrs, &cap, URL_MAX_PORTS, "listen address", err, errlen,
                                  &eo);
            if (rc != 0)
                goto fail;
            /* targets: the escaped path without leading/trailing '/', split on ',' */
            size_t tb = 0, te = eplen;
            while (tb < te && ep[tb] == '/')
                tb++;
            while (te > tb && ep[te - 1] == '/')
                te--;
            if (te > tb) {
                size_t st = tb;
                for (size_t i = tb; i <= te; i++) {
                    if (i == te || ep[i] == ',') {
                        rc = url_expand_range(ep + st, i - st, EP_OFF(st), &sp->targets,
                                              &sp->n_targets, &tcap, URL_MAX_PORTS,
                                              "forward target", err, errlen, &eo);
                        if (rc != 0)
                            goto fail;
                        st = i + 1;
                    }
                }
            }
        }
    }
#undef EP_OFF
    free(ep);
    url_wstr_free(&a);
    url_wstr_free(&s);
    url_wstr_free(&rem);
    url_wstr_free(&w);
    return 0;

fail:
    free(ep);
    url_wstr_free(&a);
    url_wstr_free(&s);
    url_wstr_free(&rem);
    url_wstr_free(&w);
    url_spec_free(sp);
    if (err_off)
        *err_off = eo;
    return rc;
}
