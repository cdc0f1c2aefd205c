/* http1_md: the `header` metadata map of the http handler and connector (extra headers), read
 * and validated at build time. */
#ifndef GOST_PROTO_HTTP1_MD_H
#define GOST_PROTO_HTTP1_MD_H

#include <stddef.h>

#include "config/cfg_err.h"
#include "config/cval.h"
#include "proto/http1.h"

struct http1_hdrs {
    struct http1_kv *kv; /* owned, with owned strings; names canonical (Go's Header keys) */
    size_t n;
};

/* Read the first present alias of `keys` in md as a map of header name → scalar value. Names
 * must be tokens and values must not contain CR, LF or NUL; at most HTTP1_GO_MAX_HEADERS - 8
 * entries (room for the protocol's own). 0 (out->n == 0 when absent) or -EINVAL with
 * positioned errors. */
int http1_md_headers(const struct cval *md, const char *const *keys, struct http1_hdrs *out,
                     struct cfg_errs *errs);

/* The value of `name` (case-insensitive) or NULL. */
const char *http1_hdrs_get(const struct http1_hdrs *h, const char *name);

void http1_hdrs_free(struct http1_hdrs *h);

#endif
