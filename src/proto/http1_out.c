/* http1_out: head writer, Go's status texts and header-key canonicalisation, Basic auth
 * (see http1.h). */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "proto/http1.h"

void http1_out_init(struct http1_out *o, char *buf, size_t cap)
{
    o->buf = buf;
    o->cap = cap;
    o->len = 0;
    o->overflow = false;
}

void http1_out_raw(struct http1_out *o, const void *p, size_t n)
{
    if (o->overflow || n > o->cap - o->len) {
        o->overflow = true;
        return;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

void http1_out_str(struct http1_out *o, const char *s)
{
    http1_out_raw(o, s, strlen(s));
}

void http1_out_header(struct http1_out *o, const char *name, const char *value)
{
    http1_out_str(o, name);
    http1_out_raw(o, ": ", 2);
    http1_out_str(o, value);
    http1_out_raw(o, "\r\n", 2);
}

const char *http1_status_text(int code)
{
    static const struct {
        int code;
        const char *text;
    } t[] = {
        {100, "Continue"},
        {101, "Switching Protocols"},
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {204, "No Content"},
        {206, "Partial Content"},
        {301, "Moved Permanently"},
        {302, "Found"},
        {304, "Not Modified"},
        {307, "Temporary Redirect"},
        {308, "Permanent Redirect"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {407, "Proxy Authentication Required"},
        {408, "Request Timeout"},
        {411, "Length Required"},
        {413, "Request Entity Too Large"},
        {414, "Request URI Too Long"},
        {418, "I'm a teapot"},
        {421, "Misdirected Request"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
        {505, "HTTP Version Not Supported"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i].code == code)
            return t[i].text;
    return NULL;
}

void http1_canonical_key(const char *name, char *out, size_t outlen)
{
    if (!outlen)
        return;
    size_t n = strlen(name);
    bool valid = n > 0;
    for (size_t i = 0; i < n && valid; i++) {
        unsigned char c = (unsigned char)name[i];
        valid = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                (c && strchr("!#$%&'*+-.^_`|~", c));
    }
    bool upper = true;
    size_t i = 0;
    for (; i < n && i + 1 < outlen; i++) {
        char c = name[i];
        if (valid) {
            if (upper && c >= 'a' && c <= 'z')
                c = (char)(c - 'a' + 'A');
            else if (!upper && c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            upper = c == '-';
        }
        out[i] = c;
    }
    out[i] = '\0';
}

/* ---- Basic auth ---------------------------------------------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

/* Strict standard base64 with padding. Returns the decoded length or -EINVAL / -ENOSPC. */
static int b64_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
    if (n % 4)
        return -EINVAL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad)
                return -EINVAL;
            v[k] = b64val(s[i + k]);
            if (v[k] < 0)
                return -EINVAL;
        }
        unsigned w =
            (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
        int bytes = 3 - pad;
        if (o + (size_t)bytes > cap)
            return -ENOSPC;
        out[o++] = (unsigned char)(w >> 16);
        if (bytes > 1)
            out[o++] = (unsigned char)(w >> 8);
        if (bytes > 2)
            out[o++] = (unsigned char)w;
    }
    return (int)o;
}

int http1_basic_decode(const char *value, char *user, size_t ul, char *pass, size_t pl)
{
    if (strncasecmp(value, "Basic ", 6) != 0)
        return -EINVAL;
    const char *s = value + 6;
    while (*s == ' ')
        s++;
    unsigned char dec[1024];
    int n = b64_decode(s, strlen(s), dec, sizeof dec);
    if (n == -ENOSPC)
        return -ENAMETOOLONG;
    if (n < 0)
        return n;
    unsigned char *colon = memchr(dec, ':', (size_t)n);
    if (!colon)
        return -EINVAL;
    size_t un = (size_t)(colon - dec), pn = (size_t)n - un - 1;
    if (memchr(dec, 0, (size_t)n))
        return -EINVAL;
    if (un + 1 > ul || pn + 1 > pl)
        return -ENAMETOOLONG;
    memcpy(user, dec, un);
    user[un] = '\0';
    memcpy(pass, colon + 1, pn);
    pass[pn] = '\0';
    return 0;
}

int http1_basic_encode(const char *user, const char *pass, char *out, size_t outlen)
{
    size_t un = strlen(user), pn = strlen(pass), n = un + 1 + pn;
    size_t need = 6 + (n + 2) / 3 * 4 + 1;
    if (need > outlen)
        return -ENOSPC;
    memcpy(out, "Basic ", 6);
    size_t o = 6;
    unsigned char tri[3];
    for (size_t i = 0; i < n; i += 3) {
        size_t k;
        for (k = 0; k < 3 && i + k < n; k++) {
            size_t j = i + k;
            tri[k] = (unsigned char)(j < un ? user[j] : j == un ? ':' : pass[j - un - 1]);
        }
        unsigned w =
            (unsigned)tri[0] << 16 | (k > 1 ? (unsigned)tri[1] << 8 : 0) | (k > 2 ? tri[2] : 0);
        out[o++] = b64[w >> 18 & 63];
        out[o++] = b64[w >> 12 & 63];
        out[o++] = k > 1 ? b64[w >> 6 & 63] : '=';
        out[o++] = k > 2 ? b64[w & 63] : '=';
    }
    out[o] = '\0';
    return (int)o;
}
