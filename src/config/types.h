/* Typed configuration structs: GOST v3's whole config schema (inventory §3.2, go-gost/x
 * config/config.go, HEAD fields included), filled from a cval tree by config/schema.c.
 *
 * Conventions (the same for every struct):
 *   - `pos`  position of the object's mapping (or of the scalar it was written as, for
 *            chainGroup entries written as plain strings);
 *   - `node` borrowed pointer to the source cval (a MAP, except for such scalar entries);
 *            cfg_pos_of(node, "key") gives the position of any field's value.
 *   - strings: `char *`, NULL when absent (a present empty string is "");
 *   - bools: `bool`, false when absent;
 *   - ints: `int64_t` (`uint64_t` for Go's uint64 status counters), 0 when absent;
 *   - durations: `int64_t` nanoseconds (a bare integer in the file is nanoseconds too);
 *   - nested objects: pointers, NULL when absent;
 *   - lists of objects: `struct cfg_x **field; size_t n_field;`
 *   - `[]string`: `char **field; size_t n_field;`
 *   - `map[string]string` and `metadata`: `struct cval *` (a CVAL_MAP), NULL when absent.
 *     Values of string maps are always CVAL_STR after loading; metadata keeps its scalar kinds.
 * Deprecated fields GOST still reads are kept as they are (the builder decides how to apply
 * them); fields marked [HEAD] exist only in GOST's development branch.
 *
 * Ownership: the root `struct cfg` owns every object, string and list below it, the source cval
 * trees (`node` and metadata pointers point into them) and cval nodes the loader had to build.
 * Free everything with cfg_free() (config/schema.h). Nothing else is ever freed individually.
 * Field names are stable: other modules are written against them.
 */
#ifndef GOST_CONFIG_TYPES_H
#define GOST_CONFIG_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/cval.h"

/* ---- logging ------------------------------------------------------------------------------ */

struct cfg_log_rotation { /* LogRotationConfig */
    struct cval_pos pos;
    const struct cval *node;
    int64_t max_size;    /* maxSize, MB */
    int64_t max_age;     /* maxAge, days */
    int64_t max_backups; /* maxBackups */
    bool local_time;     /* localTime */
    bool compress;
};

struct cfg_log { /* LogConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *output;
    char *level;
    char *format;
    struct cfg_log_rotation *rotation;
};

struct cfg_logger { /* LoggerConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    struct cfg_log *log;
};

/* ---- small shared pieces ----------------------------------------------------------------- */

struct cfg_auth { /* AuthConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *username;
    char *password;
    char *file; /* [HEAD] */
};

struct cfg_tls_options { /* TLSOptions */
    struct cval_pos pos;
    const struct cval *node;
    char *min_version;    /* minVersion */
    char *max_version;    /* maxVersion */
    char **cipher_suites; /* cipherSuites */
    size_t n_cipher_suites;
    char **alpn;
    size_t n_alpn;
};

struct cfg_tls { /* TLSConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *cert_file; /* certFile */
    char *key_file;  /* keyFile */
    char *ca_file;   /* caFile */
    bool secure;
    char *server_name; /* serverName */
    struct cfg_tls_options *options;
    int64_t validity;  /* ns; auto-generated certificate */
    char *common_name; /* commonName */
    char *organization;
    bool reject_unknown_sni; /* rejectUnknownSNI [HEAD] */
    char **server_names;     /* serverNames [HEAD] */
    size_t n_server_names;
};

struct cfg_plugin { /* PluginConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *type; /* "grpc" | "http" */
    char *addr;
    struct cfg_tls *tls;
    int64_t timeout; /* ns */
    char *token;
};

struct cfg_selector { /* SelectorConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *strategy;
    int64_t max_fails;    /* maxFails */
    int64_t fail_timeout; /* failTimeout, ns */
    int64_t max_latency;  /* maxLatency, ns [HEAD] */
};

struct cfg_file_loader { /* FileLoader */
    struct cval_pos pos;
    const struct cval *node;
    char *path;
};

struct cfg_redis_loader { /* RedisLoader */
    struct cval_pos pos;
    const struct cval *node;
    char *addr;
    int64_t db;
    char *username;
    char *password;
    char *key;
    char *type;
};

struct cfg_http_loader { /* HTTPLoader */
    struct cval_pos pos;
    const struct cval *node;
    char *url;
    int64_t timeout; /* ns */
};

struct cfg_sockopts { /* SockOptsConfig (deprecated everywhere: use metadata so_mark) */
    struct cval_pos pos;
    const struct cval *node;
    int64_t mark;
};

/* ---- top-level API / metrics / profiling ------------------------------------------------- */

struct cfg_profiling { /* ProfilingConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *addr;
};

struct cfg_api { /* APIConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *addr;
    char *path_prefix; /* pathPrefix */
    bool accesslog;
    struct cfg_auth *auth;
    char *auther;
};

struct cfg_metrics { /* MetricsConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *addr;
    char *path;
    struct cfg_auth *auth;
    char *auther;
};

/* ---- named modules ----------------------------------------------------------------------- */

struct cfg_auther { /* AutherConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    struct cfg_auth **auths;
    size_t n_auths;
    int64_t reload; /* ns */
    struct cfg_file_loader *file;
    struct cfg_redis_loader *redis;
    struct cfg_http_loader *http;
    struct cfg_plugin *plugin;
};

struct cfg_admission { /* AdmissionConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    bool reverse; /* deprecated: whitelist */
    bool whitelist;
    char **matchers;
    size_t n_matchers;
    int64_t reload; /* ns */
    struct cfg_file_loader *file;
    struct cfg_redis_loader *redis;
    struct cfg_http_loader *http;
    struct cfg_plugin *plugin;
};

struct cfg_bypass { /* BypassConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    bool reverse; /* deprecated: whitelist */
    bool whitelist;
    char *network; /* [HEAD] */
    char **matchers;
    size_t n_matchers;
    int64_t reload; /* ns */
    struct cfg_file_loader *file;
    struct cfg_redis_loader *redis;
    struct cfg_http_loader *http;
    struct cfg_plugin *plugin;
};

struct cfg_nameserver { /* NameserverConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *addr;
    char *chain;
    char *prefer;
    char *client_ip; /* clientIP */
    char *hostname;
    int64_t ttl;     /* ns */
    int64_t timeout; /* ns */
    bool async;
    char *only;
};

struct cfg_resolver { /* ResolverConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    struct cfg_nameserver **nameservers;
    size_t n_nameservers;
    struct cfg_plugin *plugin;
};

struct cfg_host_mapping { /* HostMappingConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *ip;
    char *hostname;
    char **aliases;
    size_t n_aliases;
};

struct cfg_hosts { /* HostsConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    struct cfg_host_mapping **mappings;
    size_t n_mappings;
    int64_t reload; /* ns */
    struct cfg_file_loader *file;
    struct cfg_redis_loader *redis;
    struct cfg_http_loader *http;
    struct cfg_plugin *plugin;
};

struct cfg_ingress_rule { /* IngressRuleConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *hostname;
    char *endpoint;
};

struct cfg_ingress { /* IngressConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    struct cfg_ingress_rule **rules;
    size_t n_rules;
    int64_t reload; /* ns */
    struct cfg_file_loader *file;
    struct cfg_redis_loader *redis;
    struct cfg_http_loader *http;
    struct cfg_plugin *plugin;
};

struct cfg_sd { /* SDConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    struct cfg_plugin *plugin;
};

struct cfg_router_route { /* RouterRouteConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *net; /* deprecated: dst */
    char *dst;
    char *gateway;
};

struct cfg_router { /* RouterConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    struct cfg_router_route **routes;
    size_t n_routes;
    int64_t reload; /* ns */
    struct cfg_file_loader *file;
    struct cfg_redis_loader *redis;
    struct cfg_http_loader *http;
    struct cfg_plugin *plugin;
};

struct cfg_file_recorder { /* FileRecorder */
    struct cval_pos pos;
    const struct cval *node;
    char *path;
    char *sep;
    struct cfg_log_rotation *rotation;
};

struct cfg_tcp_recorder { /* TCPRecorder */
    struct cval_pos pos;
    const struct cval *node;
    char *addr;
    int64_t timeout; /* ns */
};

struct cfg_http_recorder { /* HTTPRecorder */
    struct cval_pos pos;
    const struct cval *node;
    char *url;
    int64_t timeout;     /* ns */
    struct cval *header; /* map[string]string */
};

struct cfg_redis_recorder { /* RedisRecorder */
    struct cval_pos pos;
    const struct cval *node;
    char *addr;
    int64_t db;
    char *username;
    char *password;
    char *key;
    char *type;
};

struct cfg_recorder { /* RecorderConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    struct cfg_file_recorder *file;
    struct cfg_tcp_recorder *tcp;
    struct cfg_http_recorder *http;
    struct cfg_redis_recorder *redis;
    struct cfg_plugin *plugin;
};

struct cfg_recorder_object { /* RecorderObject (service.recorders[]) */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    char *record;
    struct cval *metadata;
};

struct cfg_rewriter { /* RewriterConfig [HEAD] */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    struct cfg_plugin *plugin;
};

struct cfg_memory_cache { /* MemoryCache [HEAD] */
    struct cval_pos pos;
    const struct cval *node;
    int64_t ttl;              /* ns */
    int64_t max_size;         /* maxSize */
    int64_t max_bytes;        /* maxBytes */
    int64_t cleanup_interval; /* cleanupInterval, ns */
    char *eviction;
};

struct cfg_redis_cache { /* RedisCache [HEAD] */
    struct cval_pos pos;
    const struct cval *node;
    char *addr;
    int64_t db;
    char *username;
    char *password;
    int64_t ttl; /* ns */
    char *key;
};

struct cfg_cache { /* CacheConfig [HEAD] */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    struct cfg_memory_cache *memory;
    struct cfg_redis_cache *redis;
};

struct cfg_limiter { /* LimiterConfig (limiters, climiters, rlimiters) */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    char **limits;
    size_t n_limits;
    int64_t reload; /* ns */
    struct cfg_file_loader *file;
    struct cfg_redis_loader *redis;
    struct cfg_http_loader *http;
    struct cfg_plugin *plugin;
};

struct cfg_observer { /* ObserverConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    struct cfg_plugin *plugin;
};

/* ---- quotas [HEAD] ----------------------------------------------------------------------- */

struct cfg_quota_redis { /* QuotaRedisConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *addr;
    int64_t db;
    char *username;
    char *password;
    char *key;
};

struct cfg_quota_store { /* QuotaStoreConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *type;
    char *file;
    struct cfg_quota_redis *redis;
};

struct cfg_quota_status { /* QuotaStatus (read-only output) */
    struct cval_pos pos;
    const struct cval *node;
    uint64_t used;
    uint64_t limit;
    int64_t starts_at;  /* startsAt */
    int64_t expires_at; /* expiresAt */
    bool active;
    bool expired;
    bool blocked;
    char *direction;
};

struct cfg_quota { /* QuotaConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    char *limit;
    char *starts_at;  /* startsAt */
    char *expires_at; /* expiresAt */
    char *direction;
    char *flush;
    struct cfg_quota_store *store;
    struct cfg_quota_status *status;
};

/* ---- node matching, probing, HTTP node options -------------------------------------------- */

struct cfg_node_filter { /* NodeFilterConfig (deprecated: matcher) */
    struct cval_pos pos;
    const struct cval *node;
    char *host;
    char *protocol;
    char *path;
};

struct cfg_node_matcher { /* NodeMatcherConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *rule;
    int64_t priority;
    int64_t body_size; /* bodySize [HEAD] */
};

struct cfg_probe { /* ProbeConfig [HEAD] */
    struct cval_pos pos;
    const struct cval *node;
    char *type;
    char *addr;
    int64_t interval;          /* ns */
    int64_t timeout;           /* ns */
    char *http_path;           /* httpPath */
    char *http_host;           /* httpHost */
    struct cval *http_headers; /* httpHeaders, map[string]string */
    int64_t expected_status;   /* expectedStatus */
    char *command;
};

struct cfg_http_url_rewrite { /* HTTPURLRewriteConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *match;
    char *replacement;
};

struct cfg_http_body_rewrite { /* HTTPBodyRewriteConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *type; /* MIME type filter */
    char *match;
    char *replacement;
    char *rewriter;         /* [HEAD] */
    int64_t max_chunk_size; /* maxChunkSize [HEAD] */
};

struct cfg_http_node { /* HTTPNodeConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *host;
    struct cval *header;                   /* deprecated: requestHeader */
    struct cval *request_header;           /* requestHeader */
    struct cval *response_header;          /* responseHeader */
    struct cfg_http_url_rewrite **rewrite; /* deprecated: rewriteURL */
    size_t n_rewrite;
    struct cfg_http_url_rewrite **rewrite_url; /* rewriteURL */
    size_t n_rewrite_url;
    struct cfg_http_body_rewrite **rewrite_body; /* rewriteBody, deprecated */
    size_t n_rewrite_body;
    struct cfg_http_body_rewrite **rewrite_request_body; /* rewriteRequestBody [HEAD] */
    size_t n_rewrite_request_body;
    struct cfg_http_body_rewrite **rewrite_response_body; /* rewriteResponseBody [HEAD] */
    size_t n_rewrite_response_body;
    char *fail_codes; /* failCodes [HEAD] */
    struct cfg_auth *auth;
};

struct cfg_tls_node { /* TLSNodeConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *server_name; /* serverName */
    bool secure;
    struct cfg_tls_options *options;
};

/* ---- chains ------------------------------------------------------------------------------ */

struct cfg_connector { /* ConnectorConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *type;
    struct cfg_auth *auth;
    struct cfg_tls *tls;
    struct cval *metadata;
};

struct cfg_dialer { /* DialerConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *type;
    struct cfg_auth *auth;
    struct cfg_tls *tls;
    struct cval *metadata;
};

struct cfg_node { /* NodeConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    char *addr;
    char *network;
    char *bypass;
    char **bypasses;
    size_t n_bypasses;
    char *resolver;
    char *hosts;
    struct cfg_connector *connector;
    struct cfg_dialer *dialer;
    char *interface;                /* deprecated: metadata.interface */
    char *netns;                    /* deprecated: metadata.netns */
    struct cfg_sockopts *sockopts;  /* deprecated: metadata.so_mark */
    struct cfg_node_filter *filter; /* deprecated: matcher */
    struct cfg_node_matcher *matcher;
    struct cfg_http_node *http;
    struct cfg_tls_node *tls;
    struct cfg_probe *probe; /* [HEAD] */
    struct cval *metadata;
};

struct cfg_hop { /* HopConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    char *interface;               /* deprecated: metadata.interface */
    struct cfg_sockopts *sockopts; /* deprecated: metadata.so_mark */
    struct cfg_selector *selector;
    char *bypass;
    char **bypasses;
    size_t n_bypasses;
    char *resolver;
    char *hosts;
    struct cfg_node **nodes;
    size_t n_nodes;
    int64_t reload; /* ns */
    struct cfg_file_loader *file;
    struct cfg_redis_loader *redis;
    struct cfg_http_loader *http;
    struct cfg_plugin *plugin;
    struct cval *metadata;
};

struct cfg_chain { /* ChainConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    struct cfg_hop **hops;
    size_t n_hops;
    struct cval *metadata;
};

/* One chainGroup.chains entry: written either as a plain string (the chain name; then only
 * `chain` is set and `node` is that string scalar) or as {chain, matcher, probe} [HEAD]. */
struct cfg_chain_group_entry { /* ChainGroupEntry */
    struct cval_pos pos;
    const struct cval *node;
    char *chain;
    struct cfg_node_matcher *matcher; /* [HEAD] */
    struct cfg_probe *probe;          /* [HEAD] */
};

struct cfg_chain_group { /* ChainGroupConfig */
    struct cval_pos pos;
    const struct cval *node;
    struct cfg_chain_group_entry **chains;
    size_t n_chains;
    struct cfg_selector *selector;
};

/* ---- services ---------------------------------------------------------------------------- */

struct cfg_listener { /* ListenerConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *type;
    char *chain;
    struct cfg_chain_group *chain_group; /* chainGroup */
    char *auther;
    char **authers;
    size_t n_authers;
    struct cfg_auth *auth;
    struct cfg_tls *tls;
    struct cval *metadata;
};

struct cfg_handler { /* HandlerConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *type;
    int64_t retries;
    char *chain;
    struct cfg_chain_group *chain_group; /* chainGroup */
    char *auther;
    char **authers;
    size_t n_authers;
    struct cfg_auth *auth;
    struct cfg_tls *tls;
    char *limiter;
    char *observer;
    struct cval *metadata;
};

struct cfg_forward_node { /* ForwardNodeConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    char *addr;
    char *network;
    char *bypass;
    char **bypasses;
    size_t n_bypasses;
    char *protocol;                 /* deprecated: matcher */
    char *host;                     /* deprecated: matcher */
    char *path;                     /* deprecated: matcher */
    struct cfg_node_filter *filter; /* deprecated: matcher */
    struct cfg_node_matcher *matcher;
    struct cfg_auth *auth; /* deprecated: http.auth */
    struct cfg_http_node *http;
    struct cfg_tls_node *tls;
    struct cfg_probe *probe; /* [HEAD] */
    struct cval *metadata;
};

struct cfg_forward_hop { /* ForwardHopConfig [HEAD] */
    struct cval_pos pos;
    const struct cval *node;
    char *hop;
    struct cfg_node_matcher *matcher;
    struct cfg_probe *probe;
};

struct cfg_forward_hop_group { /* ForwardHopGroupConfig [HEAD] */
    struct cval_pos pos;
    const struct cval *node;
    struct cfg_forward_hop **hops;
    size_t n_hops;
    struct cfg_selector *selector;
};

struct cfg_forwarder { /* ForwarderConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *name; /* deprecated: hop */
    char *hop;  /* name of a top-level hop */
    struct cfg_selector *selector;
    struct cfg_forward_node **nodes;
    size_t n_nodes;
    struct cfg_forward_hop_group *hop_group; /* hopGroup [HEAD] */
};

struct cfg_service_event { /* ServiceEvent (read-only output) */
    struct cval_pos pos;
    const struct cval *node;
    int64_t time;
    char *msg;
};

struct cfg_service_stats { /* ServiceStats (read-only output) */
    struct cval_pos pos;
    const struct cval *node;
    uint64_t total_conns;   /* totalConns */
    uint64_t current_conns; /* currentConns */
    uint64_t total_errs;    /* totalErrs */
    uint64_t input_bytes;   /* inputBytes */
    uint64_t output_bytes;  /* outputBytes */
};

struct cfg_service_quota { /* ServiceQuota [HEAD] (read-only output) */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    uint64_t used;
    uint64_t limit;
    int64_t starts_at;  /* startsAt */
    int64_t expires_at; /* expiresAt */
    bool active;
    bool expired;
    bool blocked;
    char *direction;
};

struct cfg_service_status { /* ServiceStatus: read-only output, accepted and ignored at runtime */
    struct cval_pos pos;
    const struct cval *node;
    int64_t create_time; /* createTime */
    char *state;
    struct cfg_service_event **events;
    size_t n_events;
    struct cfg_service_stats *stats;
    bool stopped_by_limit;             /* stoppedByLimit [HEAD] */
    struct cfg_service_quota **quotas; /* [HEAD] */
    size_t n_quotas;
};

struct cfg_service { /* ServiceConfig */
    struct cval_pos pos;
    const struct cval *node;
    char *name;
    char *addr;
    char *interface;               /* deprecated: metadata.interface */
    struct cfg_sockopts *sockopts; /* deprecated: metadata.so_mark */
    char *admission;
    char **admissions;
    size_t n_admissions;
    char *bypass;
    char **bypasses;
    size_t n_bypasses;
    char *resolver;
    char *hosts;
    char *limiter;
    char **quotas; /* [HEAD] */
    size_t n_quotas;
    char *climiter;
    char *rlimiter;
    char *logger;
    char **loggers;
    size_t n_loggers;
    char *observer;
    char *rewriter; /* [HEAD] */
    struct cfg_recorder_object **recorders;
    size_t n_recorders;
    char *cache; /* [HEAD] */
    struct cfg_handler *handler;
    struct cfg_listener *listener;
    struct cfg_forwarder *forwarder;
    struct cval *metadata;
    struct cfg_service_status *status; /* read-only; ignored at runtime */
};

/* ---- root -------------------------------------------------------------------------------- */

struct cfg { /* Config */
    struct cval_pos pos;
    const struct cval *node; /* the first source's root map (NULL for an empty config) */
    struct cfg_service **services;
    size_t n_services;
    struct cfg_chain **chains;
    size_t n_chains;
    struct cfg_hop **hops;
    size_t n_hops;
    struct cfg_auther **authers;
    size_t n_authers;
    struct cfg_admission **admissions;
    size_t n_admissions;
    struct cfg_bypass **bypasses;
    size_t n_bypasses;
    struct cfg_resolver **resolvers;
    size_t n_resolvers;
    struct cfg_hosts **hosts;
    size_t n_hosts;
    struct cfg_ingress **ingresses;
    size_t n_ingresses;
    struct cfg_router **routers;
    size_t n_routers;
    struct cfg_sd **sds;
    size_t n_sds;
    struct cfg_recorder **recorders;
    size_t n_recorders;
    struct cfg_rewriter **rewriters; /* [HEAD] */
    size_t n_rewriters;
    struct cfg_cache **caches; /* [HEAD] */
    size_t n_caches;
    struct cfg_limiter **limiters;
    size_t n_limiters;
    struct cfg_quota **quotas; /* [HEAD] */
    size_t n_quotas;
    struct cfg_limiter **climiters;
    size_t n_climiters;
    struct cfg_limiter **rlimiters;
    size_t n_rlimiters;
    struct cfg_observer **observers;
    size_t n_observers;
    struct cfg_logger **loggers;
    size_t n_loggers;
    struct cfg_tls *tls;
    struct cfg_log *log;
    struct cfg_profiling *profiling;
    struct cfg_api *api;
    struct cfg_metrics *metrics;

    /* Private to config/schema.c: the owned source trees and loader-built cval nodes. */
    struct cval **owned_;
    size_t n_owned_, cap_owned_;
};

#endif
