/* gost_types: GOST v3's registered component names (contract in gost_types.h).
 *
 * Source: `Registry().Register("…")` calls in go-gost/x, linked into the gost binary by
 * go-gost/gost cmd/gost/register.go (HEAD, 2026-08). Not linked, hence absent: the `wg`
 * dialer. Not a type at all: `https` (the CLI rewrites it to http+tls), `obfs-http`,
 * `obfs-tls` (v2 names; v3 uses ohttp/otls).
 */
#include "config/gost_types.h"

#include <string.h>

/* Each list is sorted in strcmp order (binary search; the unit tests check the order). */

static const char *const gost_listener_names[] = {
    "dns",   "dtls",   "ftcp", "grpc", "h2",    "h2c",      "h3",   "http2", "http3",
    "icmp",  "icmp6",  "kcp",  "mtcp", "mtls",  "mws",      "mwss", "ohttp", "otls",
    "pht",   "phts",   "quic", "red",  "redir", "redirect", "redu", "rtcp",  "rudp",
    "runix", "serial", "ssh",  "sshd", "stdio", "tap",      "tcp",  "tls",   "tun",
    "tungo", "udp",    "unix", "ws",   "wss",   "wt",
};

static const char *const gost_handler_names[] = {
    "api",     "auto",   "dns",   "file",     "forward", "http",    "http2",  "http3", "masque",
    "metrics", "red",    "redir", "redirect", "redu",    "relay",   "router", "rtcp",  "rudp",
    "runix",   "serial", "sni",   "socks",    "socks4",  "socks4a", "socks5", "ss",    "sshd",
    "ssu",     "tap",    "tcp",   "tun",      "tungo",   "tunnel",  "udp",    "unix",
};

static const char *const gost_dialer_names[] = {
    "direct", "dtls", "ftcp",  "grpc", "h2",      "h2c",    "h3",  "h3-masque", "http2",
    "http3",  "icmp", "icmp6", "kcp",  "mtcp",    "mtls",   "mws", "mwss",      "ohttp",
    "ohttps", "otls", "pht",   "phts", "quic",    "serial", "ssh", "sshd",      "tcp",
    "tls",    "udp",  "unix",  "utls", "virtual", "ws",     "wss", "wt",
};

static const char *const gost_connector_names[] = {
    "direct", "forward", "http",  "http2",  "masque",  "relay",   "router",
    "serial", "sni",     "socks", "socks4", "socks4a", "socks5",  "ss",
    "sshd",   "ssu",     "tcp",   "tunnel", "unix",    "virtual",
};

/* Registered in GOST HEAD only (not in stable v3.2.6 / go-gost/x v0.8.1). */
static const char *const gost_head_listeners[] = {"runix", "stdio"};
static const char *const gost_head_handlers[] = {"masque", "runix"};
static const char *const gost_head_dialers[] = {"h3-masque", "utls"};
static const char *const gost_head_connectors[] = {"masque"};

#define GOST_TYPES_N(a) (sizeof(a) / sizeof((a)[0]))

const char *const *gost_type_names(enum gost_family family, size_t *n)
{
    switch (family) {
    case GOST_FAMILY_LISTENER:
        *n = GOST_TYPES_N(gost_listener_names);
        return gost_listener_names;
    case GOST_FAMILY_HANDLER:
        *n = GOST_TYPES_N(gost_handler_names);
        return gost_handler_names;
    case GOST_FAMILY_DIALER:
        *n = GOST_TYPES_N(gost_dialer_names);
        return gost_dialer_names;
    case GOST_FAMILY_CONNECTOR:
        *n = GOST_TYPES_N(gost_connector_names);
        return gost_connector_names;
    }
    *n = 0;
    return NULL;
}

bool gost_type_known(enum gost_family family, const char *name)
{
    size_t n;
    const char *const *t = gost_type_names(family, &n);
    if (!name || !t)
        return false;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, t[mid]);
        if (c == 0)
            return true;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return false;
}

bool gost_type_head_only(enum gost_family family, const char *name)
{
    const char *const *t = NULL;
    size_t n = 0;
    switch (family) {
    case GOST_FAMILY_LISTENER:
        t = gost_head_listeners;
        n = GOST_TYPES_N(gost_head_listeners);
        break;
    case GOST_FAMILY_HANDLER:
        t = gost_head_handlers;
        n = GOST_TYPES_N(gost_head_handlers);
        break;
    case GOST_FAMILY_DIALER:
        t = gost_head_dialers;
        n = GOST_TYPES_N(gost_head_dialers);
        break;
    case GOST_FAMILY_CONNECTOR:
        t = gost_head_connectors;
        n = GOST_TYPES_N(gost_head_connectors);
        break;
    }
    if (!name)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, t[i]) == 0)
            return true;
    return false;
}

const char *gost_type_family_name(enum gost_family family)
{
    switch (family) {
    case GOST_FAMILY_LISTENER:
        return "listener";
    case GOST_FAMILY_HANDLER:
        return "handler";
    case GOST_FAMILY_DIALER:
        return "dialer";
    case GOST_FAMILY_CONNECTOR:
        return "connector";
    }
    return "?";
}
