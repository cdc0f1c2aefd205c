/* http1: a pure HTTP/1.x message-head parser and writer (no I/O), for the http handler and
 * connector (inventory §1.2, §1.4, §5.4).
 *
 * Parsing works on a COMPLETE head (request or status line, header lines, the empty line) that
 * the caller has read into a writable buffer: the parser NUL-terminates the pieces in place and
 * the result points into that buffer (borrowed: valid while the buffer is). Lines end with CRLF
 * or a bare LF (as Go's reader accepts); a bare CR, a NUL or another control byte, obsolete line
 * folding (a line starting with SP/HTAB), a header name that is not a token, a space before the
 * colon, more than HTTP1_MAX_HEADERS headers or an unsupported version is an error (-EINVAL or
 * -E2BIG for the header count). Header names keep their spelling; lookups are ASCII
 * case-insensitive; repeated headers are kept in order.
 *
 * The writer (struct http1_out) appends into a caller-provided buffer and remembers overflow,
 * so a head is built with a few calls and checked once (http1_out_ok).
 *
 * Framing (RFC 9112 §6): http1_req_body / http1_resp_body say how the body that follows a head
 * is delimited; http1_chunked is an incremental chunked-body scanner that finds the end of a
 * chunked body (trailers included) without changing the bytes, so a proxy can pass it through.
 */
#ifndef GOST_PROTO_HTTP1_H
#define GOST_PROTO_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Default limit of a head's size (request/status line + headers + empty line). */
#define HTTP1_HEAD_MAX_DEFAULT ((size_t)64 * 1024)
/* Most header lines accepted in one head. */
#define HTTP1_MAX_HEADERS 100

struct http1_header {
    char *name;  /* as sent, NUL-terminated */
    char *value; /* leading/trailing SP/HTAB trimmed, NUL-terminated */
};

struct http1_head {
    /* request line (http1_parse_request) */
    char *method;
    char *target;
    /* status line (http1_parse_response) */
    int status;
    char *reason; /* may be "" */
    /* both */
    int minor; /* HTTP/1.<minor>: 0 or 1 */
    struct http1_header hdr[HTTP1_MAX_HEADERS];
    size_t n_hdr;
};

/* Offset just past the empty line that ends the head in buf[0..len), or 0 if the head is not
 * complete yet. Accepts CRLF and bare LF line ends. */
size_t http1_head_end(const char *buf, size_t len);

/* Parse a complete request head in buf[0..len) (modified in place; bytes after the head are
 * ignored). 0, -EINVAL (malformed), -E2BIG (too many headers), -EPROTONOSUPPORT (not
 * HTTP/1.0 or HTTP/1.1). */
int http1_parse_request(char *buf, size_t len, struct http1_head *out);

/* Parse a complete response head (status line "HTTP/1.x NNN reason"). Same results. */
int http1_parse_response(char *buf, size_t len, struct http1_head *out);

/* First header named `name` (case-insensitive), or NULL. Borrowed. */
const char *http1_get(const struct http1_head *h, const char *name);

/* Number of headers named `name`. */
size_t http1_count(const struct http1_head *h, const char *name);

/* True if a comma-separated list in any header `name` contains `token` (case-insensitive),
 * e.g. http1_has_token(h, "Connection", "close"). */
bool http1_has_token(const struct http1_head *h, const char *name, const char *token);

/* True if the header `name` must not be forwarded by a proxy: Connection, Proxy-Connection,
 * Keep-Alive, Proxy-Authorization, Proxy-Authenticate, TE, Trailer, Upgrade (unless
 * `upgrading`), and every name listed in h's Connection headers (except "upgrade" when
 * upgrading). Content-Length and Transfer-Encoding are never hop-by-hop here: the forwarder
 * passes bodies through unchanged, so their framing headers must stay (even if a Connection
 * header names them). */
bool http1_is_hop_by_hop(const struct http1_head *h, const char *name, bool upgrading);

/* ---- targets ------------------------------------------------------------------------- */

/* Validate a host[:port] authority (hostname, IPv4, or [IPv6]); writes "host:port" into out
 * (default_port when none is given; brackets kept for IPv6). 0, -EINVAL, -ENAMETOOLONG. */
int http1_authority(const char *auth, uint16_t default_port, char *out, size_t outlen);

/* Split an absolute http URI "http://[userinfo@]authority[/path][?query]" (scheme
 * case-insensitive): *authority_out gets "host:port" (port 80 by default), *path_out points at
 * the origin-form part inside uri ("/" when empty: then it points at a static "/"). 0,
 * -EINVAL (malformed or not http), -EPROTONOSUPPORT (another scheme, e.g. https). */
int http1_absolute_uri(const char *uri, char *authority_out, size_t outlen, const char **path_out);

/* ---- body framing -------------------------------------------------------------------- */

enum http1_body {
    HTTP1_BODY_NONE,    /* no body */
    HTTP1_BODY_LENGTH,  /* exactly *len bytes */
    HTTP1_BODY_CHUNKED, /* chunked transfer coding (last coding is chunked) */
    HTTP1_BODY_CLOSE,   /* until the connection closes (responses only) */
};

/* Body of a request: Transfer-Encoding whose last coding is chunked → CHUNKED; Content-Length
 * (one value, or repeated identical values) → LENGTH; neither → NONE. Both present, several
 * different lengths, a bad number, or a transfer coding not ending in chunked → -EINVAL. */
int http1_req_body(const struct http1_head *h, enum http1_body *kind, uint64_t *len);

/* Body of a response to a request with method `method`: none for HEAD, 1xx, 204, 304 and a 2xx
 * answer to CONNECT; chunked if the last transfer coding is chunked (Content-Length ignored);
 * until-close for another transfer coding or when no length is given; else LENGTH. 0 or -EINVAL
 * (bad Content-Length). */
int http1_resp_body(const struct http1_head *h, const char *method, enum http1_body *kind,
                    uint64_t *len);

/* Limits of the chunked scanner. */
#define HTTP1_CHUNK_LINE_MAX 4096                /* chunk-size line with extensions */
#define HTTP1_TRAILER_MAX    ((size_t)64 * 1024) /* whole trailer section */

struct http1_chunked {
    int state;
    uint64_t left;  /* bytes of chunk data still to pass */
    size_t line;    /* bytes of the current size/trailer line seen */
    size_t trailer; /* bytes of trailer section seen */
    bool digits;    /* size line had at least one hex digit */
    bool in_ext;    /* inside chunk extensions */
    bool bws;       /* whitespace after the size: only more of it or ';' may follow */
    bool done;
};

void http1_chunked_init(struct http1_chunked *st);

/* Scan n bytes of a chunked body. Returns how many of them belong to the body (< n only when
 * the body ended inside p: st->done is then true and the rest belongs to the next message), or
 * -EINVAL (malformed) / -EMSGSIZE (a limit exceeded). */
ssize_t http1_chunked_feed(struct http1_chunked *st, const void *p, size_t n);

/* ---- writer -------------------------------------------------------------------------- */

struct http1_out {
    char *buf;
    size_t cap, len;
    bool overflow;
};

void http1_out_init(struct http1_out *o, char *buf, size_t cap);
/* Append raw bytes / a NUL-terminated string. */
void http1_out_raw(struct http1_out *o, const void *p, size_t n);
void http1_out_str(struct http1_out *o, const char *s);
/* Append "Name: value\r\n". */
void http1_out_header(struct http1_out *o, const char *name, const char *value);
/* True if everything fit. */
static inline bool http1_out_ok(const struct http1_out *o)
{
    return !o->overflow;
}

/* Canonical reason phrase of a status code as Go's net/http spells it ("Bad Request"), or NULL
 * for a code it does not know. */
const char *http1_status_text(int code);

/* Go's textproto.CanonicalMIMEHeaderKey: "x-gost-protocol" → "X-Gost-Protocol" (written into
 * out; a name with a byte that is not a token char is copied unchanged). */
void http1_canonical_key(const char *name, char *out, size_t outlen);

/* ---- Basic authentication ------------------------------------------------------------ */

/* Decode "Basic <base64(user:pass)>" (scheme case-insensitive, standard base64 with padding).
 * 0 and NUL-terminated user/pass, -EINVAL (not Basic, bad base64, no colon), -ENAMETOOLONG. */
int http1_basic_decode(const char *value, char *user, size_t ul, char *pass, size_t pl);

/* Encode "Basic " + base64(user ":" pass) into out. Length written or -ENOSPC. */
int http1_basic_encode(const char *user, const char *pass, char *out, size_t outlen);

/* ---- Go's net/http wire format -------------------------------------------------------- */

/* One header to write. Names should be canonical (http1_canonical_key) like Go's Header keys. */
struct http1_kv {
    const char *name;
    const char *value;
};

/* Most headers the Go-format writers sort. */
#define HTTP1_GO_MAX_HEADERS 64

/* The head Go's http.Response.Write produces for a response with no Request, HTTP/1.<minor>:
 * "HTTP/1.1 <code> <text>\r\n", then "Connection: close" when content_length < 0 (unless a
 * Connection header with "close" is among hdrs) or "Content-Length: N" when >= 0 (not for 1xx,
 * 204, 304), then hdrs sorted by name (stable: repeated names keep their order; Content-Length,
 * Transfer-Encoding and Trailer entries are skipped), then the empty line. text NULL = Go's
 * status text (or "status code N"). At most HTTP1_GO_MAX_HEADERS headers are written. */
void http1_go_response(struct http1_out *o, int minor, int code, const char *text,
                       int64_t content_length, const struct http1_kv *hdrs, size_t n);

/* The head Go's http.Request.Write produces for a request without body: "<method> <uri>
 * HTTP/1.1", "Host: <host>", "User-Agent: Go-http-client/1.1" (or the value of a User-Agent
 * entry of hdrs; none if that value is empty), then the other hdrs sorted by name (Host,
 * User-Agent, Content-Length, Transfer-Encoding and Trailer entries skipped), then the empty
 * line. */
void http1_go_request(struct http1_out *o, const char *method, const char *uri, const char *host,
                      const struct http1_kv *hdrs, size_t n);

/* Decode unpadded URL-safe base64 (Go's base64.RawURLEncoding). Length or -EINVAL/-ENOSPC. */
int http1_b64_rawurl_decode(const char *s, size_t n, unsigned char *out, size_t cap);

#endif
