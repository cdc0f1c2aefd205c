/* Fuzz target for proto/http1: the input is parsed as a request head and as a response head
 * (when complete), then every query runs on the result (header lookups, hop-by-hop checks,
 * target forms, body framing, Basic decoding) and the bytes after the head go through the
 * chunked scanner, whole and split in two. Checks the contracts: results point inside the
 * buffer, the scanner never claims more than it was given, and split feeding agrees with
 * feeding at once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "proto/http1.h"

static void check_in(const char *p, const char *buf, size_t n)
{
    if (p && (p < buf || p > buf + n))
        abort();
}

static void queries(struct http1_head *h, const char *buf, size_t n)
{
    char out[300], u[256], pw[256];
    const char *path;
    enum http1_body k;
    uint64_t len;
    for (size_t i = 0; i < h->n_hdr; i++) {
        check_in(h->hdr[i].name, buf, n);
        check_in(h->hdr[i].value, buf, n);
        http1_is_hop_by_hop(h, h->hdr[i].name, i & 1);
        http1_basic_decode(h->hdr[i].value, u, sizeof u, pw, sizeof pw);
        http1_authority(h->hdr[i].value, 80, out, sizeof out);
    }
    http1_has_token(h, "Connection", "close");
    http1_get(h, "Host");
    if (h->target) {
        check_in(h->target, buf, n);
        if (http1_absolute_uri(h->target, out, sizeof out, &path) == 0 && !strchr(out, ':'))
            abort();
        http1_authority(h->target, 443, out, sizeof out);
        http1_req_body(h, &k, &len);
    } else {
        http1_resp_body(h, "GET", &k, &len);
        http1_resp_body(h, "HEAD", &k, &len);
    }
}

static void chunked(const uint8_t *p, size_t n)
{
    struct http1_chunked a, b;
    http1_chunked_init(&a);
    ssize_t ra = http1_chunked_feed(&a, p, n);
    if (ra > (ssize_t)n)
        abort();
    size_t half = n / 2;
    http1_chunked_init(&b);
    ssize_t r1 = http1_chunked_feed(&b, p, half);
    if (r1 < 0) {
        if (ra >= 0 && !a.done)
            abort(); /* an error in a prefix is an error of the whole */
        return;
    }
    ssize_t total = r1;
    if (!b.done) {
        ssize_t r2 = http1_chunked_feed(&b, p + half, n - half);
        if (r2 < 0) {
            if (ra >= 0)
                abort();
            return;
        }
        total += r2;
    }
    if (ra >= 0 && (total != ra || a.done != b.done))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024)
        return 0;
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    size_t end = http1_head_end(buf, size);
    struct http1_head *h = malloc(sizeof *h);
    if (end) {
        if (http1_parse_request(buf, end, h) == 0)
            queries(h, buf, end);
        memcpy(buf, data, size);
        if (http1_parse_response(buf, end, h) == 0)
            queries(h, buf, end);
    }
    chunked(data + end, size - end);
    char enc[1024];
    if (size < 300) {
        memcpy(buf, data, size);
        http1_basic_encode(buf, buf, enc, sizeof enc);
        char key[300];
        http1_canonical_key(buf, key, sizeof key);
    }
    free(h);
    free(buf);
    return 0;
}
