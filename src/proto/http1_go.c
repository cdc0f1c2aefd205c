/* http1_go: heads laid out the way Go's net/http writes them, byte for byte (GOST's responses
 * and its http connector's CONNECT request; see http1.h and the vectors in
 * tests/data/shared/vectors/http). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proto/http1.h"

static bool excluded(const char *name, bool request)
{
    if (strcasecmp(name, "Content-Length") == 0 || strcasecmp(name, "Transfer-Encoding") == 0 ||
        strcasecmp(name, "Trailer") == 0)
        return true;
    return request && (strcasecmp(name, "Host") == 0 || strcasecmp(name, "User-Agent") == 0);
}

/* Write hdrs sorted by name (stable insertion sort over pointers). */
static void write_sorted(struct http1_out *o, const struct http1_kv *hdrs, size_t n, bool request)
{
    const struct http1_kv *v[HTTP1_GO_MAX_HEADERS];
    size_t m = 0;
    for (size_t i = 0; i < n && m < HTTP1_GO_MAX_HEADERS; i++) {
        if (excluded(hdrs[i].name, request))
            continue;
        size_t j = m++;
        while (j > 0 && strcmp(v[j - 1]->name, hdrs[i].name) > 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = &hdrs[i];
    }
    for (size_t i = 0; i < m; i++)
        http1_out_header(o, v[i]->name, v[i]->value);
}

static bool has_close(const struct http1_kv *hdrs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(hdrs[i].name, "Connection") != 0)
            continue;
        const char *s = hdrs[i].value;
        while (*s) {
            while (*s == ',' || *s == ' ' || *s == '\t')
                s++;
            size_t k = strcspn(s, ", \t");
            if (k == 5 && strncasecmp(s, "close", 5) == 0)
                return true;
            s += k;
        }
    }
    return false;
}

void http1_go_response(struct http1_out *o, int minor, int code, const char *text,
                       int64_t content_length, const struct http1_kv *hdrs, size_t n)
{
    char line[160];
    char fallback[32];
    if (!text) {
        text = http1_status_text(code);
        if (!text) {
            snprintf(fallback, sizeof fallback, "status code %d", code);
            text = fallback;
        }
    }
    snprintf(line, sizeof line, "HTTP/1.%d %03d ", minor, code);
    http1_out_str(o, line);
    http1_out_str(o, text);
    http1_out_raw(o, "\r\n", 2);
    bool no_body = (code >= 100 && code < 200) || code == 204 || code == 304;
    if (content_length < 0) {
        if (!has_close(hdrs, n))
            http1_out_str(o, "Connection: close\r\n");
    } else if (!no_body) {
        snprintf(line, sizeof line, "Content-Length: %lld\r\n", (long long)content_length);
        http1_out_str(o, line);
    }
    write_sorted(o, hdrs, n, false);
    http1_out_raw(o, "\r\n", 2);
}

void http1_go_request(struct http1_out *o, const char *method, const char *uri, const char *host,
                      const struct http1_kv *hdrs, size_t n)
{
    http1_out_str(o, method);
    http1_out_raw(o, " ", 1);
    http1_out_str(o, uri);
    http1_out_str(o, " HTTP/1.1\r\n");
    http1_out_header(o, "Host", host);
    const char *ua = "Go-http-client/1.1";
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(hdrs[i].name, "User-Agent") == 0) {
            ua = hdrs[i].value;
            break;
        }
    if (ua[0])
        http1_out_header(o, "User-Agent", ua);
    write_sorted(o, hdrs, n, true);
    http1_out_raw(o, "\r\n", 2);
}

int http1_b64_rawurl_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    if (n % 4 == 1)
        return -EINVAL;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = s[i] ? strchr(a, s[i]) : NULL;
        if (!p)
            return -EINVAL;
        acc = (acc << 6) | (unsigned)(p - a);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -ENOSPC;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return (int)o;
}
