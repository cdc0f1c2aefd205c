/* The schema tables: one descriptor per config struct, fields in Go declaration order.
 *
 * Source: go-gost/x config/config.go (json/yaml tags, omitempty) for the stable fields;
 * inventory §3.2 for [HEAD] fields, whose tags are not in the studied source and are assumed
 * `omitempty` like their neighbours. Untagged Go fields (HTTPURLRewriteConfig,
 * HTTPBodyRewriteConfig) print in JSON with the Go field name ("Match") and in YAML lowercased
 * ("match"), and are never omitted.
 */
#include <stddef.h>
#include <strings.h>

#include "config/schema_desc.h"

#define OMIT CFF_OMITEMPTY
#define DEPR (CFF_OMITEMPTY | CFF_DEPRECATED)
#define HEAD (CFF_OMITEMPTY | CFF_HEAD)
#define RO   CFF_READONLY

#define F_(T, key, jkey, kind, fld, cnt, elem, fl)                                                 \
    {                                                                                              \
        key, jkey, kind, fl, offsetof(T, fld), cnt, elem                                           \
    }
#define STR(T, key, fld, fl)      F_(T, key, NULL, CFK_STR, fld, 0, NULL, fl)
#define BOOL(T, key, fld, fl)     F_(T, key, NULL, CFK_BOOL, fld, 0, NULL, fl)
#define INT(T, key, fld, fl)      F_(T, key, NULL, CFK_INT, fld, 0, NULL, fl)
#define U64(T, key, fld, fl)      F_(T, key, NULL, CFK_U64, fld, 0, NULL, fl)
#define DUR(T, key, fld, fl)      F_(T, key, NULL, CFK_DUR, fld, 0, NULL, fl)
#define STRS(T, key, fld, fl)     F_(T, key, NULL, CFK_STRS, fld, offsetof(T, n_##fld), NULL, fl)
#define SMAP(T, key, fld, fl)     F_(T, key, NULL, CFK_STRMAP, fld, 0, NULL, fl)
#define MD(T, fld)                F_(T, "metadata", NULL, CFK_MD, fld, 0, NULL, OMIT)
#define OBJ(T, key, fld, ty, fl)  F_(T, key, NULL, CFK_OBJ, fld, 0, &ty, fl)
#define OBJS(T, key, fld, ty, fl) F_(T, key, NULL, CFK_OBJS, fld, offsetof(T, n_##fld), &ty, fl)
#define NFIELDS(a)                (sizeof(a) / sizeof((a)[0]))
#define TYPE(var, kindname, T, flds, sf)                                                           \
    _Static_assert(offsetof(T, pos) == offsetof(struct cfg_obj_hdr, pos) &&                        \
                       offsetof(T, node) == offsetof(struct cfg_obj_hdr, node),                    \
                   "config structs start with pos and node");                                      \
    const struct cfg_type var = {kindname, sizeof(T), flds, NFIELDS(flds), sf}

/* Forward declarations so tables can reference each other in any order. */
extern const struct cfg_type cfg_type_log_rotation, cfg_type_log, cfg_type_logger, cfg_type_auth,
    cfg_type_tls_options, cfg_type_tls, cfg_type_plugin, cfg_type_selector, cfg_type_file_loader,
    cfg_type_redis_loader, cfg_type_http_loader, cfg_type_sockopts, cfg_type_profiling,
    cfg_type_api, cfg_type_metrics, cfg_type_auther, cfg_type_admission, cfg_type_bypass,
    cfg_type_nameserver, cfg_type_resolver, cfg_type_host_mapping, cfg_type_hosts,
    cfg_type_ingress_rule, cfg_type_ingress, cfg_type_sd, cfg_type_router_route, cfg_type_router,
    cfg_type_file_recorder, cfg_type_tcp_recorder, cfg_type_http_recorder, cfg_type_redis_recorder,
    cfg_type_recorder, cfg_type_recorder_object, cfg_type_rewriter, cfg_type_memory_cache,
    cfg_type_redis_cache, cfg_type_cache, cfg_type_limiter, cfg_type_observer, cfg_type_quota_redis,
    cfg_type_quota_store, cfg_type_quota_status, cfg_type_quota, cfg_type_node_filter,
    cfg_type_node_matcher, cfg_type_probe, cfg_type_http_url_rewrite, cfg_type_http_body_rewrite,
    cfg_type_http_node, cfg_type_tls_node, cfg_type_connector, cfg_type_dialer, cfg_type_node,
    cfg_type_hop, cfg_type_chain, cfg_type_chain_group_entry, cfg_type_chain_group,
    cfg_type_listener, cfg_type_handler, cfg_type_forward_node, cfg_type_forward_hop,
    cfg_type_forward_hop_group, cfg_type_forwarder, cfg_type_service_event, cfg_type_service_stats,
    cfg_type_service_quota, cfg_type_service_status, cfg_type_service;

#define T struct cfg_log_rotation
static const struct cfg_field log_rotation_fields[] = {
    INT(T, "maxSize", max_size, OMIT),       INT(T, "maxAge", max_age, OMIT),
    INT(T, "maxBackups", max_backups, OMIT), BOOL(T, "localTime", local_time, OMIT),
    BOOL(T, "compress", compress, OMIT),
};
TYPE(cfg_type_log_rotation, "rotation", T, log_rotation_fields, -1);
#undef T

#define T struct cfg_log
static const struct cfg_field log_fields[] = {
    STR(T, "output", output, OMIT),
    STR(T, "level", level, OMIT),
    STR(T, "format", format, OMIT),
    OBJ(T, "rotation", rotation, cfg_type_log_rotation, OMIT),
};
TYPE(cfg_type_log, "log", T, log_fields, -1);
#undef T

#define T struct cfg_logger
static const struct cfg_field logger_fields[] = {
    STR(T, "name", name, 0),
    OBJ(T, "log", log, cfg_type_log, OMIT),
};
TYPE(cfg_type_logger, "logger", T, logger_fields, -1);
#undef T

#define T struct cfg_auth
static const struct cfg_field auth_fields[] = {
    STR(T, "username", username, 0),
    STR(T, "password", password, OMIT),
    STR(T, "file", file, HEAD),
};
TYPE(cfg_type_auth, "auth", T, auth_fields, -1);
#undef T

#define T struct cfg_tls_options
static const struct cfg_field tls_options_fields[] = {
    STR(T, "minVersion", min_version, OMIT),
    STR(T, "maxVersion", max_version, OMIT),
    STRS(T, "cipherSuites", cipher_suites, OMIT),
    STRS(T, "alpn", alpn, OMIT),
};
TYPE(cfg_type_tls_options, "tls options", T, tls_options_fields, -1);
#undef T

#define T struct cfg_tls
static const struct cfg_field tls_fields[] = {
    STR(T, "certFile", cert_file, OMIT),
    STR(T, "keyFile", key_file, OMIT),
    STR(T, "caFile", ca_file, OMIT),
    BOOL(T, "secure", secure, OMIT),
    STR(T, "serverName", server_name, OMIT),
    OBJ(T, "options", options, cfg_type_tls_options, OMIT),
    DUR(T, "validity", validity, OMIT),
    STR(T, "commonName", common_name, OMIT),
    STR(T, "organization", organization, OMIT),
    BOOL(T, "rejectUnknownSNI", reject_unknown_sni, HEAD),
    STRS(T, "serverNames", server_names, HEAD),
};
TYPE(cfg_type_tls, "tls", T, tls_fields, -1);
#undef T

#define T struct cfg_plugin
static const struct cfg_field plugin_fields[] = {
    STR(T, "type", type, 0),
    STR(T, "addr", addr, 0),
    OBJ(T, "tls", tls, cfg_type_tls, OMIT),
    DUR(T, "timeout", timeout, OMIT),
    STR(T, "token", token, OMIT),
};
TYPE(cfg_type_plugin, "plugin", T, plugin_fields, -1);
#undef T

#define T struct cfg_selector
static const struct cfg_field selector_fields[] = {
    STR(T, "strategy", strategy, 0),
    INT(T, "maxFails", max_fails, 0),
    DUR(T, "failTimeout", fail_timeout, 0),
    DUR(T, "maxLatency", max_latency, HEAD),
};
TYPE(cfg_type_selector, "selector", T, selector_fields, -1);
#undef T

#define T struct cfg_file_loader
static const struct cfg_field file_loader_fields[] = {
    STR(T, "path", path, 0),
};
TYPE(cfg_type_file_loader, "file", T, file_loader_fields, -1);
#undef T

#define T struct cfg_redis_loader
static const struct cfg_field redis_loader_fields[] = {
    STR(T, "addr", addr, 0),
    INT(T, "db", db, OMIT),
    STR(T, "username", username, OMIT),
    STR(T, "password", password, OMIT),
    STR(T, "key", key, OMIT),
    STR(T, "type", type, OMIT),
};
TYPE(cfg_type_redis_loader, "redis", T, redis_loader_fields, -1);
#undef T

#define T struct cfg_http_loader
static const struct cfg_field http_loader_fields[] = {
    STR(T, "url", url, 0),
    DUR(T, "timeout", timeout, OMIT),
};
TYPE(cfg_type_http_loader, "http", T, http_loader_fields, -1);
#undef T

#define T struct cfg_sockopts
static const struct cfg_field sockopts_fields[] = {
    INT(T, "mark", mark, OMIT),
};
TYPE(cfg_type_sockopts, "sockopts", T, sockopts_fields, -1);
#undef T

#define T struct cfg_profiling
static const struct cfg_field profiling_fields[] = {
    STR(T, "addr", addr, 0),
};
TYPE(cfg_type_profiling, "profiling", T, profiling_fields, -1);
#undef T

#define T struct cfg_api
static const struct cfg_field api_fields[] = {
    STR(T, "addr", addr, 0),
    STR(T, "pathPrefix", path_prefix, OMIT),
    BOOL(T, "accesslog", accesslog, OMIT),
    OBJ(T, "auth", auth, cfg_type_auth, OMIT),
    STR(T, "auther", auther, OMIT),
};
TYPE(cfg_type_api, "api", T, api_fields, -1);
#undef T

#define T struct cfg_metrics
static const struct cfg_field metrics_fields[] = {
    STR(T, "addr", addr, 0),
    STR(T, "path", path, OMIT),
    OBJ(T, "auth", auth, cfg_type_auth, OMIT),
    STR(T, "auther", auther, OMIT),
};
TYPE(cfg_type_metrics, "metrics", T, metrics_fields, -1);
#undef T

/* The loader trio shared by most named modules. */
#define LOADERS(T)                                                                                 \
    DUR(T, "reload", reload, OMIT), OBJ(T, "file", file, cfg_type_file_loader, OMIT),              \
        OBJ(T, "redis", redis, cfg_type_redis_loader, OMIT),                                       \
        OBJ(T, "http", http, cfg_type_http_loader, OMIT),                                          \
        OBJ(T, "plugin", plugin, cfg_type_plugin, OMIT)

#define T struct cfg_auther
static const struct cfg_field auther_fields[] = {
    STR(T, "name", name, 0),
    OBJS(T, "auths", auths, cfg_type_auth, OMIT),
    LOADERS(T),
};
TYPE(cfg_type_auther, "auther", T, auther_fields, -1);
#undef T

#define T struct cfg_admission
static const struct cfg_field admission_fields[] = {
    STR(T, "name", name, 0),
    BOOL(T, "reverse", reverse, DEPR),
    BOOL(T, "whitelist", whitelist, OMIT),
    STRS(T, "matchers", matchers, OMIT),
    LOADERS(T),
};
TYPE(cfg_type_admission, "admission", T, admission_fields, -1);
#undef T

#define T struct cfg_bypass
static const struct cfg_field bypass_fields[] = {
    STR(T, "name", name, 0),
    BOOL(T, "reverse", reverse, DEPR),
    BOOL(T, "whitelist", whitelist, OMIT),
    STR(T, "network", network, HEAD),
    STRS(T, "matchers", matchers, OMIT),
    LOADERS(T),
};
TYPE(cfg_type_bypass, "bypass", T, bypass_fields, -1);
#undef T

#define T struct cfg_nameserver
static const struct cfg_field nameserver_fields[] = {
    STR(T, "addr", addr, 0),
    STR(T, "chain", chain, OMIT),
    STR(T, "prefer", prefer, OMIT),
    STR(T, "clientIP", client_ip, OMIT),
    STR(T, "hostname", hostname, OMIT),
    DUR(T, "ttl", ttl, OMIT),
    DUR(T, "timeout", timeout, OMIT),
    BOOL(T, "async", async, OMIT),
    STR(T, "only", only, OMIT),
};
TYPE(cfg_type_nameserver, "nameserver", T, nameserver_fields, -1);
#undef T

#define T struct cfg_resolver
static const struct cfg_field resolver_fields[] = {
    STR(T, "name", name, 0),
    OBJS(T, "nameservers", nameservers, cfg_type_nameserver, OMIT),
    OBJ(T, "plugin", plugin, cfg_type_plugin, OMIT),
};
TYPE(cfg_type_resolver, "resolver", T, resolver_fields, -1);
#undef T

#define T struct cfg_host_mapping
static const struct cfg_field host_mapping_fields[] = {
    STR(T, "ip", ip, 0),
    STR(T, "hostname", hostname, 0),
    STRS(T, "aliases", aliases, OMIT),
};
TYPE(cfg_type_host_mapping, "mapping", T, host_mapping_fields, -1);
#undef T

#define T struct cfg_hosts
static const struct cfg_field hosts_fields[] = {
    STR(T, "name", name, 0),
    OBJS(T, "mappings", mappings, cfg_type_host_mapping, OMIT),
    LOADERS(T),
};
TYPE(cfg_type_hosts, "hosts", T, hosts_fields, -1);
#undef T

#define T struct cfg_ingress_rule
static const struct cfg_field ingress_rule_fields[] = {
    STR(T, "hostname", hostname, 0),
    STR(T, "endpoint", endpoint, 0),
};
TYPE(cfg_type_ingress_rule, "rule", T, ingress_rule_fields, -1);
#undef T

#define T struct cfg_ingress
static const struct cfg_field ingress_fields[] = {
    STR(T, "name", name, 0),
    OBJS(T, "rules", rules, cfg_type_ingress_rule, OMIT),
    LOADERS(T),
};
TYPE(cfg_type_ingress, "ingress", T, ingress_fields, -1);
#undef T

#define T struct cfg_sd
static const struct cfg_field sd_fields[] = {
    STR(T, "name", name, 0),
    OBJ(T, "plugin", plugin, cfg_type_plugin, OMIT),
};
TYPE(cfg_type_sd, "sd", T, sd_fields, -1);
#undef T

#define T struct cfg_router_route
static const struct cfg_field router_route_fields[] = {
    STR(T, "net", net, DEPR),
    STR(T, "dst", dst, OMIT),
    STR(T, "gateway", gateway, 0),
};
TYPE(cfg_type_router_route, "route", T, router_route_fields, -1);
#undef T

#define T struct cfg_router
static const struct cfg_field router_fields[] = {
    STR(T, "name", name, 0),
    OBJS(T, "routes", routes, cfg_type_router_route, OMIT),
    LOADERS(T),
};
TYPE(cfg_type_router, "router", T, router_fields, -1);
#undef T

#define T struct cfg_file_recorder
static const struct cfg_field file_recorder_fields[] = {
    STR(T, "path", path, 0),
    STR(T, "sep", sep, OMIT),
    OBJ(T, "rotation", rotation, cfg_type_log_rotation, OMIT),
};
TYPE(cfg_type_file_recorder, "file", T, file_recorder_fields, -1);
#undef T

#define T struct cfg_tcp_recorder
static const struct cfg_field tcp_recorder_fields[] = {
    STR(T, "addr", addr, 0),
    DUR(T, "timeout", timeout, 0),
};
TYPE(cfg_type_tcp_recorder, "tcp", T, tcp_recorder_fields, -1);
#undef T

#define T struct cfg_http_recorder
static const struct cfg_field http_recorder_fields[] = {
    STR(T, "url", url, 0),
    DUR(T, "timeout", timeout, OMIT),
    SMAP(T, "header", header, OMIT),
};
TYPE(cfg_type_http_recorder, "http", T, http_recorder_fields, -1);
#undef T

#define T struct cfg_redis_recorder
static const struct cfg_field redis_recorder_fields[] = {
    STR(T, "addr", addr, 0),
    INT(T, "db", db, OMIT),
    STR(T, "username", username, OMIT),
    STR(T, "password", password, OMIT),
    STR(T, "key", key, OMIT),
    STR(T, "type", type, OMIT),
};
TYPE(cfg_type_redis_recorder, "redis", T, redis_recorder_fields, -1);
#undef T

#define T struct cfg_recorder
static const struct cfg_field recorder_fields[] = {
    STR(T, "name", name, 0),
    OBJ(T, "file", file, cfg_type_file_recorder, OMIT),
    OBJ(T, "tcp", tcp, cfg_type_tcp_recorder, OMIT),
    OBJ(T, "http", http, cfg_type_http_recorder, OMIT),
    OBJ(T, "redis", redis, cfg_type_redis_recorder, OMIT),
    OBJ(T, "plugin", plugin, cfg_type_plugin, OMIT),
};
TYPE(cfg_type_recorder, "recorder", T, recorder_fields, -1);
#undef T

#define T struct cfg_recorder_object
static const struct cfg_field recorder_object_fields[] = {
    STR(T, "name", name, 0),
    STR(T, "record", record, 0),
    MD(T, metadata),
};
TYPE(cfg_type_recorder_object, "recorder", T, recorder_object_fields, -1);
#undef T

#define T struct cfg_rewriter
static const struct cfg_field rewriter_fields[] = {
    STR(T, "name", name, 0),
    OBJ(T, "plugin", plugin, cfg_type_plugin, OMIT),
};
TYPE(cfg_type_rewriter, "rewriter", T, rewriter_fields, -1);
#undef T

#define T struct cfg_memory_cache
static const struct cfg_field memory_cache_fields[] = {
    DUR(T, "ttl", ttl, OMIT),
    INT(T, "maxSize", max_size, OMIT),
    INT(T, "maxBytes", max_bytes, OMIT),
    DUR(T, "cleanupInterval", cleanup_interval, OMIT),
    STR(T, "eviction", eviction, OMIT),
};
TYPE(cfg_type_memory_cache, "memory", T, memory_cache_fields, -1);
#undef T

#define T struct cfg_redis_cache
static const struct cfg_field redis_cache_fields[] = {
    STR(T, "addr", addr, 0),
    INT(T, "db", db, OMIT),
    STR(T, "username", username, OMIT),
    STR(T, "password", password, OMIT),
    DUR(T, "ttl", ttl, OMIT),
    STR(T, "key", key, OMIT),
};
TYPE(cfg_type_redis_cache, "redis", T, redis_cache_fields, -1);
#undef T

#define T struct cfg_cache
static const struct cfg_field cache_fields[] = {
    STR(T, "name", name, 0),
    OBJ(T, "memory", memory, cfg_type_memory_cache, OMIT),
    OBJ(T, "redis", redis, cfg_type_redis_cache, OMIT),
};
TYPE(cfg_type_cache, "cache", T, cache_fields, -1);
#undef T

#define T struct cfg_limiter
static const struct cfg_field limiter_fields[] = {
    STR(T, "name", name, 0),
    STRS(T, "limits", limits, OMIT),
    LOADERS(T),
};
TYPE(cfg_type_limiter, "limiter", T, limiter_fields, -1);
#undef T

#define T struct cfg_observer
static const struct cfg_field observer_fields[] = {
    STR(T, "name", name, 0),
    OBJ(T, "plugin", plugin, cfg_type_plugin, OMIT),
};
TYPE(cfg_type_observer, "observer", T, observer_fields, -1);
#undef T

#define T struct cfg_quota_redis
static const struct cfg_field quota_redis_fields[] = {
    STR(T, "addr", addr, 0),
    INT(T, "db", db, OMIT),
    STR(T, "username", username, OMIT),
    STR(T, "password", password, OMIT),
    STR(T, "key", key, OMIT),
};
TYPE(cfg_type_quota_redis, "redis", T, quota_redis_fields, -1);
#undef T

#define T struct cfg_quota_store
static const struct cfg_field quota_store_fields[] = {
    STR(T, "type", type, OMIT),
    STR(T, "file", file, OMIT),
    OBJ(T, "redis", redis, cfg_type_quota_redis, OMIT),
};
TYPE(cfg_type_quota_store, "store", T, quota_store_fields, -1);
#undef T

#define T struct cfg_quota_status
static const struct cfg_field quota_status_fields[] = {
    U64(T, "used", used, OMIT | RO),          U64(T, "limit", limit, OMIT | RO),
    INT(T, "startsAt", starts_at, OMIT | RO), INT(T, "expiresAt", expires_at, OMIT | RO),
    BOOL(T, "active", active, OMIT | RO),     BOOL(T, "expired", expired, OMIT | RO),
    BOOL(T, "blocked", blocked, OMIT | RO),   STR(T, "direction", direction, OMIT | RO),
};
TYPE(cfg_type_quota_status, "status", T, quota_status_fields, -1);
#undef T

#define T struct cfg_quota
static const struct cfg_field quota_fields[] = {
    STR(T, "name", name, 0),
    STR(T, "limit", limit, OMIT),
    STR(T, "startsAt", starts_at, OMIT),
    STR(T, "expiresAt", expires_at, OMIT),
    STR(T, "direction", direction, OMIT),
    STR(T, "flush", flush, OMIT),
    OBJ(T, "store", store, cfg_type_quota_store, OMIT),
    OBJ(T, "status", status, cfg_type_quota_status, OMIT | RO),
};
TYPE(cfg_type_quota, "quota", T, quota_fields, -1);
#undef T

#define T struct cfg_node_filter
static const struct cfg_field node_filter_fields[] = {
    STR(T, "host", host, OMIT),
    STR(T, "protocol", protocol, OMIT),
    STR(T, "path", path, OMIT),
};
TYPE(cfg_type_node_filter, "filter", T, node_filter_fields, -1);
#undef T

#define T struct cfg_node_matcher
static const struct cfg_field node_matcher_fields[] = {
    STR(T, "rule", rule, OMIT),
    INT(T, "priority", priority, OMIT),
    INT(T, "bodySize", body_size, HEAD),
};
TYPE(cfg_type_node_matcher, "matcher", T, node_matcher_fields, -1);
#undef T

#define T struct cfg_probe
static const struct cfg_field probe_fields[] = {
    STR(T, "type", type, HEAD),
    STR(T, "addr", addr, HEAD),
    DUR(T, "interval", interval, HEAD),
    DUR(T, "timeout", timeout, HEAD),
    STR(T, "httpPath", http_path, HEAD),
    STR(T, "httpHost", http_host, HEAD),
    SMAP(T, "httpHeaders", http_headers, HEAD),
    INT(T, "expectedStatus", expected_status, HEAD),
    STR(T, "command", command, HEAD),
};
TYPE(cfg_type_probe, "probe", T, probe_fields, -1);
#undef T

#define T struct cfg_http_url_rewrite
static const struct cfg_field http_url_rewrite_fields[] = {
    F_(T, "match", "Match", CFK_STR, match, 0, NULL, 0),
    F_(T, "replacement", "Replacement", CFK_STR, replacement, 0, NULL, 0),
};
TYPE(cfg_type_http_url_rewrite, "rewrite", T, http_url_rewrite_fields, -1);
#undef T

#define T struct cfg_http_body_rewrite
static const struct cfg_field http_body_rewrite_fields[] = {
    F_(T, "type", "Type", CFK_STR, type, 0, NULL, 0),
    F_(T, "match", "Match", CFK_STR, match, 0, NULL, 0),
    F_(T, "replacement", "Replacement", CFK_STR, replacement, 0, NULL, 0),
    STR(T, "rewriter", rewriter, HEAD),
    INT(T, "maxChunkSize", max_chunk_size, HEAD),
};
TYPE(cfg_type_http_body_rewrite, "body rewrite", T, http_body_rewrite_fields, -1);
#undef T

#define T struct cfg_http_node
static const struct cfg_field http_node_fields[] = {
    STR(T, "host", host, OMIT),
    SMAP(T, "header", header, DEPR),
    SMAP(T, "requestHeader", request_header, OMIT),
    SMAP(T, "responseHeader", response_header, OMIT),
    OBJS(T, "rewrite", rewrite, cfg_type_http_url_rewrite, DEPR),
    OBJS(T, "rewriteURL", rewrite_url, cfg_type_http_url_rewrite, OMIT),
    OBJS(T, "rewriteBody", rewrite_body, cfg_type_http_body_rewrite, DEPR),
    OBJS(T, "rewriteRequestBody", rewrite_request_body, cfg_type_http_body_rewrite, HEAD),
    OBJS(T, "rewriteResponseBody", rewrite_response_body, cfg_type_http_body_rewrite, HEAD),
    STR(T, "failCodes", fail_codes, HEAD),
    OBJ(T, "auth", auth, cfg_type_auth, OMIT),
};
TYPE(cfg_type_http_node, "http", T, http_node_fields, -1);
#undef T

#define T struct cfg_tls_node
static const struct cfg_field tls_node_fields[] = {
    STR(T, "serverName", server_name, OMIT),
    BOOL(T, "secure", secure, OMIT),
    OBJ(T, "options", options, cfg_type_tls_options, OMIT),
};
TYPE(cfg_type_tls_node, "tls", T, tls_node_fields, -1);
#undef T

#define T struct cfg_connector
static const struct cfg_field connector_fields[] = {
    STR(T, "type", type, 0),
    OBJ(T, "auth", auth, cfg_type_auth, OMIT),
    OBJ(T, "tls", tls, cfg_type_tls, OMIT),
    MD(T, metadata),
};
TYPE(cfg_type_connector, "connector", T, connector_fields, -1);
#undef T

#define T struct cfg_dialer
static const struct cfg_field dialer_fields[] = {
    STR(T, "type", type, 0),
    OBJ(T, "auth", auth, cfg_type_auth, OMIT),
    OBJ(T, "tls", tls, cfg_type_tls, OMIT),
    MD(T, metadata),
};
TYPE(cfg_type_dialer, "dialer", T, dialer_fields, -1);
#undef T

#define T struct cfg_node
static const struct cfg_field node_fields[] = {
    STR(T, "name", name, 0),
    STR(T, "addr", addr, OMIT),
    STR(T, "network", network, OMIT),
    STR(T, "bypass", bypass, OMIT),
    STRS(T, "bypasses", bypasses, OMIT),
    STR(T, "resolver", resolver, OMIT),
    STR(T, "hosts", hosts, OMIT),
    OBJ(T, "connector", connector, cfg_type_connector, OMIT),
    OBJ(T, "dialer", dialer, cfg_type_dialer, OMIT),
    STR(T, "interface", interface, DEPR),
    STR(T, "netns", netns, DEPR),
    OBJ(T, "sockopts", sockopts, cfg_type_sockopts, DEPR),
    OBJ(T, "filter", filter, cfg_type_node_filter, DEPR),
    OBJ(T, "matcher", matcher, cfg_type_node_matcher, OMIT),
    OBJ(T, "http", http, cfg_type_http_node, OMIT),
    OBJ(T, "tls", tls, cfg_type_tls_node, OMIT),
    OBJ(T, "probe", probe, cfg_type_probe, HEAD),
    MD(T, metadata),
};
TYPE(cfg_type_node, "node", T, node_fields, -1);
#undef T

#define T struct cfg_hop
static const struct cfg_field hop_fields[] = {
    STR(T, "name", name, 0),
    STR(T, "interface", interface, DEPR),
    OBJ(T, "sockopts", sockopts, cfg_type_sockopts, DEPR),
    OBJ(T, "selector", selector, cfg_type_selector, OMIT),
    STR(T, "bypass", bypass, OMIT),
    STRS(T, "bypasses", bypasses, OMIT),
    STR(T, "resolver", resolver, OMIT),
    STR(T, "hosts", hosts, OMIT),
    OBJS(T, "nodes", nodes, cfg_type_node, OMIT),
    LOADERS(T),
    MD(T, metadata),
};
TYPE(cfg_type_hop, "hop", T, hop_fields, -1);
#undef T

#define T struct cfg_chain
static const struct cfg_field chain_fields[] = {
    STR(T, "name", name, 0),
    OBJS(T, "hops", hops, cfg_type_hop, 0),
    MD(T, metadata),
};
TYPE(cfg_type_chain, "chain", T, chain_fields, -1);
#undef T

#define T struct cfg_chain_group_entry
static const struct cfg_field chain_group_entry_fields[] = {
    STR(T, "chain", chain, OMIT),
    OBJ(T, "matcher", matcher, cfg_type_node_matcher, HEAD),
    OBJ(T, "probe", probe, cfg_type_probe, HEAD),
};
TYPE(cfg_type_chain_group_entry, "chain entry", T, chain_group_entry_fields, 0);
#undef T

#define T struct cfg_chain_group
static const struct cfg_field chain_group_fields[] = {
    OBJS(T, "chains", chains, cfg_type_chain_group_entry, OMIT),
    OBJ(T, "selector", selector, cfg_type_selector, OMIT),
};
TYPE(cfg_type_chain_group, "chainGroup", T, chain_group_fields, -1);
#undef T

#define T struct cfg_listener
static const struct cfg_field listener_fields[] = {
    STR(T, "type", type, 0),
    STR(T, "chain", chain, OMIT),
    OBJ(T, "chainGroup", chain_group, cfg_type_chain_group, OMIT),
    STR(T, "auther", auther, OMIT),
    STRS(T, "authers", authers, OMIT),
    OBJ(T, "auth", auth, cfg_type_auth, OMIT),
    OBJ(T, "tls", tls, cfg_type_tls, OMIT),
    MD(T, metadata),
};
TYPE(cfg_type_listener, "listener", T, listener_fields, -1);
#undef T

#define T struct cfg_handler
static const struct cfg_field handler_fields[] = {
    STR(T, "type", type, 0),
    INT(T, "retries", retries, OMIT),
    STR(T, "chain", chain, OMIT),
    OBJ(T, "chainGroup", chain_group, cfg_type_chain_group, OMIT),
    STR(T, "auther", auther, OMIT),
    STRS(T, "authers", authers, OMIT),
    OBJ(T, "auth", auth, cfg_type_auth, OMIT),
    OBJ(T, "tls", tls, cfg_type_tls, OMIT),
    STR(T, "limiter", limiter, OMIT),
    STR(T, "observer", observer, OMIT),
    MD(T, metadata),
};
TYPE(cfg_type_handler, "handler", T, handler_fields, -1);
#undef T

#define T struct cfg_forward_node
static const struct cfg_field forward_node_fields[] = {
    STR(T, "name", name, OMIT),
    STR(T, "addr", addr, OMIT),
    STR(T, "network", network, OMIT),
    STR(T, "bypass", bypass, OMIT),
    STRS(T, "bypasses", bypasses, OMIT),
    STR(T, "protocol", protocol, DEPR),
    STR(T, "host", host, DEPR),
    STR(T, "path", path, DEPR),
    OBJ(T, "filter", filter, cfg_type_node_filter, DEPR),
    OBJ(T, "matcher", matcher, cfg_type_node_matcher, OMIT),
    OBJ(T, "auth", auth, cfg_type_auth, DEPR),
    OBJ(T, "http", http, cfg_type_http_node, OMIT),
    OBJ(T, "tls", tls, cfg_type_tls_node, OMIT),
    OBJ(T, "probe", probe, cfg_type_probe, HEAD),
    MD(T, metadata),
};
TYPE(cfg_type_forward_node, "node", T, forward_node_fields, -1);
#undef T

#define T struct cfg_forward_hop
static const struct cfg_field forward_hop_fields[] = {
    STR(T, "hop", hop, HEAD),
    OBJ(T, "matcher", matcher, cfg_type_node_matcher, HEAD),
    OBJ(T, "probe", probe, cfg_type_probe, HEAD),
};
TYPE(cfg_type_forward_hop, "hop entry", T, forward_hop_fields, -1);
#undef T

#define T struct cfg_forward_hop_group
static const struct cfg_field forward_hop_group_fields[] = {
    OBJS(T, "hops", hops, cfg_type_forward_hop, HEAD),
    OBJ(T, "selector", selector, cfg_type_selector, HEAD),
};
TYPE(cfg_type_forward_hop_group, "hopGroup", T, forward_hop_group_fields, -1);
#undef T

#define T struct cfg_forwarder
static const struct cfg_field forwarder_fields[] = {
    STR(T, "name", name, DEPR),
    STR(T, "hop", hop, OMIT),
    OBJ(T, "selector", selector, cfg_type_selector, OMIT),
    OBJS(T, "nodes", nodes, cfg_type_forward_node, 0),
    OBJ(T, "hopGroup", hop_group, cfg_type_forward_hop_group, HEAD),
};
TYPE(cfg_type_forwarder, "forwarder", T, forwarder_fields, -1);
#undef T

#define T struct cfg_service_event
static const struct cfg_field service_event_fields[] = {
    INT(T, "time", time, RO),
    STR(T, "msg", msg, RO),
};
TYPE(cfg_type_service_event, "event", T, service_event_fields, -1);
#undef T

#define T struct cfg_service_stats
static const struct cfg_field service_stats_fields[] = {
    U64(T, "totalConns", total_conns, RO),   U64(T, "currentConns", current_conns, RO),
    U64(T, "totalErrs", total_errs, RO),     U64(T, "inputBytes", input_bytes, RO),
    U64(T, "outputBytes", output_bytes, RO),
};
TYPE(cfg_type_service_stats, "stats", T, service_stats_fields, -1);
#undef T

#define T struct cfg_service_quota
static const struct cfg_field service_quota_fields[] = {
    STR(T, "name", name, RO),
    U64(T, "used", used, OMIT | RO),
    U64(T, "limit", limit, OMIT | RO),
    INT(T, "startsAt", starts_at, OMIT | RO),
    INT(T, "expiresAt", expires_at, OMIT | RO),
    BOOL(T, "active", active, OMIT | RO),
    BOOL(T, "expired", expired, OMIT | RO),
    BOOL(T, "blocked", blocked, OMIT | RO),
    STR(T, "direction", direction, OMIT | RO),
};
TYPE(cfg_type_service_quota, "quota", T, service_quota_fields, -1);
#undef T

#define T struct cfg_service_status
static const struct cfg_field service_status_fields[] = {
    INT(T, "createTime", create_time, RO),
    STR(T, "state", state, RO),
    OBJS(T, "events", events, cfg_type_service_event, OMIT | RO),
    OBJ(T, "stats", stats, cfg_type_service_stats, OMIT | RO),
    BOOL(T, "stoppedByLimit", stopped_by_limit, HEAD | RO),
    OBJS(T, "quotas", quotas, cfg_type_service_quota, HEAD | RO),
};
TYPE(cfg_type_service_status, "status", T, service_status_fields, -1);
#undef T

#define T struct cfg_service
static const struct cfg_field service_fields[] = {
    STR(T, "name", name, 0),
    STR(T, "addr", addr, OMIT),
    STR(T, "interface", interface, DEPR),
    OBJ(T, "sockopts", sockopts, cfg_type_sockopts, DEPR),
    STR(T, "admission", admission, OMIT),
    STRS(T, "admissions", admissions, OMIT),
    STR(T, "bypass", bypass, OMIT),
    STRS(T, "bypasses", bypasses, OMIT),
    STR(T, "resolver", resolver, OMIT),
    STR(T, "hosts", hosts, OMIT),
    STR(T, "limiter", limiter, OMIT),
    STRS(T, "quotas", quotas, HEAD),
    STR(T, "climiter", climiter, OMIT),
    STR(T, "rlimiter", rlimiter, OMIT),
    STR(T, "logger", logger, OMIT),
    STRS(T, "loggers", loggers, OMIT),
    STR(T, "observer", observer, OMIT),
    STR(T, "rewriter", rewriter, HEAD),
    OBJS(T, "recorders", recorders, cfg_type_recorder_object, OMIT),
    STR(T, "cache", cache, HEAD),
    OBJ(T, "handler", handler, cfg_type_handler, OMIT),
    OBJ(T, "listener", listener, cfg_type_listener, OMIT),
    OBJ(T, "forwarder", forwarder, cfg_type_forwarder, OMIT),
    MD(T, metadata),
    OBJ(T, "status", status, cfg_type_service_status, OMIT | RO),
};
TYPE(cfg_type_service, "service", T, service_fields, -1);
#undef T

#define T struct cfg
static const struct cfg_field root_fields[] = {
    OBJS(T, "services", services, cfg_type_service, 0),
    OBJS(T, "chains", chains, cfg_type_chain, OMIT),
    OBJS(T, "hops", hops, cfg_type_hop, OMIT),
    OBJS(T, "authers", authers, cfg_type_auther, OMIT),
    OBJS(T, "admissions", admissions, cfg_type_admission, OMIT),
    OBJS(T, "bypasses", bypasses, cfg_type_bypass, OMIT),
    OBJS(T, "resolvers", resolvers, cfg_type_resolver, OMIT),
    OBJS(T, "hosts", hosts, cfg_type_hosts, OMIT),
    OBJS(T, "ingresses", ingresses, cfg_type_ingress, OMIT),
    OBJS(T, "routers", routers, cfg_type_router, OMIT),
    OBJS(T, "sds", sds, cfg_type_sd, OMIT),
    OBJS(T, "recorders", recorders, cfg_type_recorder, OMIT),
    OBJS(T, "rewriters", rewriters, cfg_type_rewriter, HEAD),
    OBJS(T, "caches", caches, cfg_type_cache, HEAD),
    OBJS(T, "limiters", limiters, cfg_type_limiter, OMIT),
    OBJS(T, "quotas", quotas, cfg_type_quota, HEAD),
    OBJS(T, "climiters", climiters, cfg_type_limiter, OMIT),
    OBJS(T, "rlimiters", rlimiters, cfg_type_limiter, OMIT),
    OBJS(T, "observers", observers, cfg_type_observer, OMIT),
    OBJS(T, "loggers", loggers, cfg_type_logger, OMIT),
    OBJ(T, "tls", tls, cfg_type_tls, OMIT),
    OBJ(T, "log", log, cfg_type_log, OMIT),
    OBJ(T, "profiling", profiling, cfg_type_profiling, OMIT),
    OBJ(T, "api", api, cfg_type_api, OMIT),
    OBJ(T, "metrics", metrics, cfg_type_metrics, OMIT),
};
TYPE(cfg_type_root, "config", T, root_fields, -1);
#undef T

const struct cfg_field *cfg_type_field(const struct cfg_type *t, const char *key)
{
    for (size_t i = 0; i < t->n_fields; i++)
        if (strcasecmp(t->fields[i].name, key) == 0)
            return &t->fields[i];
    return NULL;
}
