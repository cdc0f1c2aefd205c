/* url: GOST's command-line URLs (-L / -F values), parsed with Go net/url semantics.
 *
 * Two layers, both pure code (no I/O, no global state):
 *
 *  1. A Go-compatible URL parser (url_parse and helpers). It reproduces what GOST relies on
 *     from Go's net/url: lower-cased scheme, userinfo validation and percent-decoding, host
 *     validation ("invalid port", bracketed IPv6 literals), opaque URLs, the "#fragment" cut,
 *     control-character rejection, URL.EscapedPath(), URL.Hostname() and url.ParseQuery()
 *     ('&' separators, ';' rejected, '+' = space, percent-decoding, repeated keys kept).
 *
 *  2. The GOST layer (url_spec_parse): what go-gost/x config/cmd/cmd.go does with a -L or -F
 *     value before it builds config objects — whitespace trim, implicit "auto://", the -L host
 *     cut (so port ranges survive), `https` → `http+tls`, the scheme split into A and B of
 *     "A+B", path-based schemes (unix, runix, serial: three slashes = the path is the address),
 *     listen-port ranges (":8000-8003", one address per port), comma-separated forward targets
 *     (each possibly a port range) and comma-separated node addresses on -F.
 *
 * Limits (stricter than GOST, which has none): an argument longer than URL_MAX_LEN is
 * rejected; a port range may not be reversed, exceed port 65535 or hold more than
 * URL_MAX_PORTS ports; a port that GOST would silently turn into 0 (":http", ":70000", "h:")
 * is an error. Everything else follows GOST, quirks included (see docs/cli.md).
 *
 * Offsets: every `*_off` field is a 0-based byte offset into the caller's input (for
 * url_spec_parse: into the original argument); URL_NOPOS when the part is absent or was
 * synthesized (the implicit "auto://").
 *
 * Ownership: every struct owns its strings; release with the matching *_free(), which also
 * accepts a zeroed struct. Strings are NUL-terminated; decoded text may contain NUL bytes
 * (from %00), in which case C string functions see it truncated, as documented per field.
 */
#ifndef GOST_CONFIG_URL_H
#define GOST_CONFIG_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define URL_MAX_LEN   (64 * 1024) /* longest accepted -L/-F value, in bytes */
#define URL_MAX_PORTS 65535       /* most ports one range may expand to */
#define URL_NOPOS     ((size_t)-1)

/* ---- Go net/url ---------------------------------------------------------------------------- */

struct url {
    char *scheme;    /* lower-cased; "" when the input has none */
    char *opaque;    /* rootless remainder of "scheme:rest" (rest not starting with '/'); NULL
                        otherwise */
    bool has_user;   /* a userinfo ("...@") was present */
    char *username;  /* percent-decoded; NULL when !has_user */
    char *password;  /* percent-decoded; NULL when the userinfo had no ':' */
    char *host;      /* host[:port] as Go's URL.Host (decoded); "" when none */
    char *path;      /* percent-decoded path; "" when none */
    char *raw_path;  /* the path exactly as written (what EscapedPath starts from) */
    char *raw_query; /* text after the first '?' up to '#'; "" when none */
    char *fragment;  /* percent-decoded text after '#'; NULL when no '#' */
    size_t scheme_off, user_off, host_off, path_off, query_off, fragment_off;
};

/* Parses s[0..len) like Go's url.Parse. Returns 0, or -EINVAL with a message in err (and
 * *err_off, if not NULL, set to the offset the problem was found at; URL_NOPOS if unknown).
 * On failure all string fields are NULL (url_free is still safe). len > URL_MAX_LEN is rejected
 * with -E2BIG. */
int url_parse(const char *s, size_t len, struct url *u, char *err, size_t errlen, size_t *err_off);
void url_free(struct url *u);

/* Go URL.EscapedPath(): raw_path when it is a valid encoding, else the path re-escaped.
 * Returns a new string (caller frees). */
char *url_escaped_path(const struct url *u);

/* Go URL.Hostname() of a Host string: the port (":digits") dropped, then one pair of
 * surrounding brackets removed. Returns a new string (caller frees). */
char *url_hostname(const char *host);

enum url_enc {
    URL_ENC_PATH,
    URL_ENC_PATH_SEGMENT,
    URL_ENC_HOST,
    URL_ENC_ZONE,
    URL_ENC_USERINFO,
    URL_ENC_QUERY, /* query component: '+' decodes to a space */
    URL_ENC_FRAGMENT,
};

/* Go's unescape(s, mode): decodes %XX (and '+' in URL_ENC_QUERY). Returns 0 and a new string
 * in *out (length in *outlen if not NULL), or -EINVAL (message in err, *err_at = offset within
 * s) for a malformed escape or, in host/zone modes, a character not allowed in a host. */
int url_unescape(const char *s, size_t len, enum url_enc mode, char **out, size_t *outlen,
                 char *err, size_t errlen, size_t *err_at);

/* Go's escape(s, mode) (upper-case hex). Returns a new string. */
char *url_escape(const char *s, size_t len, enum url_enc mode);

/* One key=value pair of a query string, decoded. */
struct url_qitem {
    char *key;        /* decoded (may be ""); NUL bytes truncate it for C string functions */
    char *value;      /* decoded ("" when there was no '=') */
    size_t key_off;   /* offset of the raw key */
    size_t value_off; /* offset of the raw value (just after '='), or of the key when no '=' */
};

struct url_query {
    struct url_qitem *items; /* in input order; repeated keys are all kept */
    size_t n, cap;
};

/* Go's url.ParseQuery on raw[0..len): pairs split on '&'; a pair containing ';', or with a
 * malformed escape in its key or value, is skipped (Go records an error that URL.Query()
 * ignores); empty pairs are skipped. Offsets are relative to raw plus `base`.
 * Returns the number of skipped malformed pairs (0 = clean). */
size_t url_parse_query(const char *raw, size_t len, size_t base, struct url_query *q);
void url_query_free(struct url_query *q);

/* Go's net.SplitHostPort on s[0..len). On success returns 0 and the host (brackets removed) as
 * s[*host_off .. +*host_len) and the port as s[*port_off .. +*port_len); -EINVAL otherwise. */
int url_split_host_port(const char *s, size_t len, size_t *host_off, size_t *host_len,
                        size_t *port_off, size_t *port_len);

/* Go's net.JoinHostPort: "host:port", or "[host]:port" when host contains ':'. New string. */
char *url_join_host_port(const char *host, size_t hlen, const char *port, size_t plen);

/* Go's strconv.Atoi: optional sign, decimal digits. Returns 0 and *v; -ERANGE with *v clamped
 * to INT64_MIN/INT64_MAX on overflow; -EINVAL with *v = 0 on a syntax error. */
int url_atoi(const char *s, size_t len, int64_t *v);

/* ---- GOST command-line URLs ---------------------------------------------------------------- */

enum url_role {
    URL_ROLE_SERVICE, /* a -L value */
    URL_ROLE_NODE,    /* a -F value */
};

struct url_item {
    char *s;    /* the address text */
    size_t off; /* where it comes from in the argument */
};

struct url_spec {
    enum url_role role;
    /* The Go URL after GOST's Norm(): scheme lower-cased, "https" → "http+tls". For a service,
     * url.host is the host cut from the argument before parsing (not validated, not decoded,
     * exactly like cmd.go's cutHost), and url.host_off points at it. */
    struct url url;
    bool implicit_scheme; /* "auto://" was prepended (no "://", or a leading ':') */
    /* The scheme split on '+': a single word gives part[0] == part[1]; "A+B" gives A and B;
     * three or more words give "" for both (GOST then falls back to its defaults). */
    char *part[2];
    bool path_based; /* a scheme word is unix, runix or serial */
    bool path_addr;  /* path_based and the host is empty: the path is the address */
    /* Service: the listen addresses (one per port of a range; a host that is not host:port is
     * kept as written). Node: the node addresses (the host, or for path_addr the escaped path,
     * split on ',', empty entries dropped). */
    struct url_item *addrs;
    size_t n_addrs;
    /* Service only: forward targets from the path (Trim '/', split on ',', each port range
     * expanded; empty entries kept as ""), none when path_addr. */
    struct url_item *targets;
    size_t n_targets;
    struct url_query query; /* decoded query, offsets into the argument */
};

/* Parses one -L (URL_ROLE_SERVICE) or -F (URL_ROLE_NODE) value.
 * Returns 0 on success; 1 for a service value that is empty after trimming (GOST skips it);
 * -EINVAL (bad URL, bad port, empty -F value), -E2BIG (too long, range too large): message in
 * err, *err_off = offset in arg (URL_NOPOS if unknown). *out is zeroed unless 0 is returned. */
int url_spec_parse(const char *arg, size_t len, enum url_role role, struct url_spec *out, char *err,
                   size_t errlen, size_t *err_off);
void url_spec_free(struct url_spec *s);

#endif
