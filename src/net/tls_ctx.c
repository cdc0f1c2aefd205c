/* tls_ctx: server and client TLS contexts from GOST's `tls:` config objects (tls.h, §2.14). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config/schema.h"
#include "core/fiber.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "net/tls.h"
#include "net/tls_int.h"

/* ---- Go names ------------------------------------------------------------------------------ */

static const struct {
    const char *go, *ossl;
} tls_suites[] = {
    {"TLS_RSA_WITH_RC4_128_SHA", "RC4-SHA"},
    {"TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA"},
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {"TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "ECDHE-ECDSA-RC4-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_RC4_128_SHA", "ECDHE-RSA-RC4-SHA"},
    {"TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA-DES-CBC3-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
};

/* TLS 1.3 suites: Go ignores them in cipherSuites; OpenSSL lets us restrict them. */
static const char *const tls13_suites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                           "TLS_CHACHA20_POLY1305_SHA256"};

/* "VersionTLS12" (any case) -> TLS1_2_VERSION; 0 if unknown. */
static int tls_version_parse(const char *s)
{
    static const struct {
        const char *name;
        int v;
    } vs[] = {{"VersionTLS10", TLS1_VERSION},
              {"VersionTLS11", TLS1_1_VERSION},
              {"VersionTLS12", TLS1_2_VERSION},
              {"VersionTLS13", TLS1_3_VERSION}};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++)
        if (strcasecmp(s, vs[i].name) == 0)
            return vs[i].v;
    return 0;
}

/* ALPN list in wire format (length-prefixed names). 0, or -EINVAL (empty / too long name). */
static int tls_alpn_wire(char *const *names, size_t n, unsigned char *out, size_t cap, size_t *len)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(names[i]);
        if (l == 0 || l > 255 || o + 1 + l > cap)
            return -EINVAL;
        out[o++] = (unsigned char)l;
        memcpy(out + o, names[i], l);
        o += l;
    }
    *len = o;
    return 0;
}

struct tls_alpn_list {
    unsigned char wire[512];
    size_t len;
};

/* Server side: first of OUR protocols the client offers (Go's order); no overlap = fatal
 * no_application_protocol alert, as Go. */
static int tls_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                           const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    const struct tls_alpn_list *a = arg;
    for (size_t i = 0; i < a->len; i += 1 + a->wire[i]) {
        for (unsigned int j = 0; j < inlen; j += 1u + in[j]) {
            if (j + 1u + in[j] > inlen)
                break;
            if (in[j] == a->wire[i] && memcmp(in + j + 1, a->wire + i + 1, in[j]) == 0) {
                *out = a->wire + i + 1;
                *outlen = a->wire[i];
                return SSL_TLSEXT_ERR_OK;
            }
        }
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* ---- shared pieces ----------------------------------------------------------------------- */

static SSL_CTX *tls_ssl_ctx_new(bool server)
{
    SSL_CTX *s = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!s)
        return NULL;
    /* Go's defaults: TLS 1.2 .. 1.3. */
    SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(s, TLS1_3_VERSION);
    SSL_CTX_set_options(s, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(s, SSL_MODE_RELEASE_BUFFERS);
    return s;
}

static void tls_err_ssl(struct cfg_errs *errs, struct cval_pos pos, const char *fmt,
                        const char *arg)
{
    char reason[200] = "";
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    char what[300];
    snprintf(what, sizeof what, fmt, arg);
    cfg_errs_add(errs, pos, "%s%s%s", what, reason[0] ? ": " : "", reason);
}

/* A readable file, else a positioned error. */
static bool tls_file_ok(const char *path, const char *key, const struct cval *node,
                        struct cfg_errs *errs)
{
    if (access(path, R_OK) == 0)
        return true;
    cfg_errs_add(errs, cfg_pos_of(node, key), "tls %s \"%s\": %s", key, path, strerror(errno));
    return false;
}

/* Certificate chain + key from PEM files into s. */
static int tls_load_keypair(SSL_CTX *s, const char *cert, const char *key, const struct cval *node,
                            struct cfg_errs *errs)
{
    if (!cert || !*cert || !key || !*key) {
        cfg_errs_add(errs, cfg_pos_of(node, cert && *cert ? "keyFile" : "certFile"),
                     "tls: certFile and keyFile must be given together");
        return -EINVAL;
    }
    /* Check both (no short-circuit) so that both problems are reported. */
    bool cert_ok = tls_file_ok(cert, "certFile", node, errs);
    bool key_ok = tls_file_ok(key, "keyFile", node, errs);
    if (!cert_ok || !key_ok)
        return -EINVAL;
    if (SSL_CTX_use_certificate_chain_file(s, cert) != 1) {
        tls_err_ssl(errs, cfg_pos_of(node, "certFile"), "tls certFile \"%s\"", cert);
        return -EINVAL;
    }
    if (SSL_CTX_use_PrivateKey_file(s, key, SSL_FILETYPE_PEM) != 1) {
        tls_err_ssl(errs, cfg_pos_of(node, "keyFile"), "tls keyFile \"%s\"", key);
        return -EINVAL;
    }
    if (SSL_CTX_check_private_key(s) != 1) {
        tls_err_ssl(errs, cfg_pos_of(node, "keyFile"), "tls keyFile \"%s\" does not match certFile",
                    key);
        return -EINVAL;
    }
    return 0;
}

/* CA bundle for verifying peers. */
static int tls_load_ca(SSL_CTX *s, const char *ca, bool server, const struct cval *node,
                       struct cfg_errs *errs)
{
    if (!tls_file_ok(ca, "caFile", node, errs))
        return -EINVAL;
    if (SSL_CTX_load_verify_locations(s, ca, NULL) != 1) {
        tls_err_ssl(errs, cfg_pos_of(node, "caFile"), "tls caFile \"%s\"", ca);
        return -EINVAL;
    }
    if (server) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
        if (names)
            SSL_CTX_set_client_CA_list(s, names);
        SSL_CTX_set_verify(s, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    ERR_clear_error();
    return 0;
}

/* Apply minVersion/maxVersion/cipherSuites/alpn. Server side (alpn_out != NULL): the ALPN list
 * the selection callback uses is returned in *alpn_out (owned by the caller, who must keep it as
 * long as s). */
static int tls_apply_options(SSL_CTX *s, const struct cfg_tls_options *o,
                             struct tls_alpn_list **alpn_out, struct cfg_errs *errs)
{
    if (!o)
        return 0;
    int rc = 0;
    if (o->min_version && *o->min_version) {
        int v = tls_version_parse(o->min_version);
        if (!v || !SSL_CTX_set_min_proto_version(s, v)) {
            cfg_errs_add(errs, cfg_pos_of(o->node, "minVersion"),
                         "tls minVersion \"%s\": expected VersionTLS10, VersionTLS11, "
                         "VersionTLS12 or VersionTLS13",
                         o->min_version);
            rc = -EINVAL;
        }
    }
    if (o->max_version && *o->max_version) {
        int v = tls_version_parse(o->max_version);
        if (!v || !SSL_CTX_set_max_proto_version(s, v)) {
            cfg_errs_add(errs, cfg_pos_of(o->node, "maxVersion"),
                         "tls maxVersion \"%s\": expected VersionTLS10, VersionTLS11, "
                         "VersionTLS12 or VersionTLS13",
                         o->max_version);
            rc = -EINVAL;
        }
    }
    if (o->n_cipher_suites) {
        char list12[2048] = "", list13[256] = "";
        for (size_t i = 0; i < o->n_cipher_suites; i++) {
            const char *name = o->cipher_suites[i];
            const char *ossl = NULL;
            bool v13 = false;
            for (size_t j = 0; j < sizeof tls_suites / sizeof tls_suites[0] && !ossl; j++)
                if (strcasecmp(name, tls_suites[j].go) == 0)
                    ossl = tls_suites[j].ossl;
            for (size_t j = 0; j < 3 && !ossl; j++)
                if (strcasecmp(name, tls13_suites[j]) == 0) {
                    ossl = tls13_suites[j];
                    v13 = true;
                }
            if (!ossl) {
                cfg_errs_add(errs, cfg_pos_of(o->node, "cipherSuites"),
                             "tls cipherSuites: unknown cipher suite \"%s\"", name);
                rc = -EINVAL;
                continue;
            }
            char *l = v13 ? list13 : list12;
            size_t cap = v13 ? sizeof list13 : sizeof list12;
            size_t used = strlen(l);
            snprintf(l + used, cap - used, "%s%s", used ? ":" : "", ossl);
        }
        if (rc == 0 && list12[0] && SSL_CTX_set_cipher_list(s, list12) != 1) {
            tls_err_ssl(errs, cfg_pos_of(o->node, "cipherSuites"),
                        "tls cipherSuites: none of %s is supported by OpenSSL", list12);
            rc = -EINVAL;
        }
        if (rc == 0 && list13[0] && SSL_CTX_set_ciphersuites(s, list13) != 1) {
            tls_err_ssl(errs, cfg_pos_of(o->node, "cipherSuites"), "tls cipherSuites %s", list13);
            rc = -EINVAL;
        }
    }
    if (o->n_alpn) {
        struct tls_alpn_list *a = xcalloc(1, sizeof *a);
        if (tls_alpn_wire(o->alpn, o->n_alpn, a->wire, sizeof a->wire, &a->len) < 0) {
            cfg_errs_add(errs, cfg_pos_of(o->node, "alpn"),
                         "tls alpn: protocol names must be 1..255 bytes (512 in all)");
            free(a);
            return -EINVAL;
        }
        if (alpn_out) {
            SSL_CTX_set_alpn_select_cb(s, tls_alpn_select, a);
            *alpn_out = a;
        } else {
            SSL_CTX_set_alpn_protos(s, a->wire, (unsigned int)a->len);
            free(a);
        }
    }
    return rc;
}

/* ---- server ------------------------------------------------------------------------------ */

static int tls_use_generated(SSL_CTX *s, const struct cfg_tls *g, struct cfg_errs *errs)
{
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    if (tls_cert_generated(g ? g->common_name : NULL, g ? g->organization : NULL,
                           g ? g->validity : 0, &x, &k) < 0) {
        cfg_errs_add(errs, cfg_pos_of(g ? g->node : NULL, NULL), "%s", fiber_err());
        return -EINVAL;
    }
    int ok = SSL_CTX_use_certificate(s, x) == 1 && SSL_CTX_use_PrivateKey(s, k) == 1;
    X509_free(x);
    EVP_PKEY_free(k);
    if (!ok) {
        tls_err_ssl(errs, cfg_pos_of(g ? g->node : NULL, NULL), "%s", "tls default certificate");
        return -EINVAL;
    }
    return 0;
}

/* cert.pem + key.pem in the working directory, validated in a scratch context first so that a
 * bad pair leaves s untouched (GOST then falls back to a generated certificate). */
static bool tls_use_cwd_pair(SSL_CTX *s)
{
    if (access("cert.pem", F_OK) != 0 || access("key.pem", F_OK) != 0)
        return false;
    SSL_CTX *scratch = tls_ssl_ctx_new(true);
    struct cfg_errs tmp;
    cfg_errs_init(&tmp);
    bool ok = scratch && tls_load_keypair(scratch, "cert.pem", "key.pem", NULL, &tmp) == 0;
    if (!ok) {
        char msg[512] = "";
        if (tmp.n)
            cfg_err_format(&tmp.items[0], msg, sizeof msg);
        LOG(LOG_WARN, NULL,
            "cert.pem/key.pem in the working directory not usable (%s): using "
            "a generated certificate",
            msg);
    }
    cfg_errs_free(&tmp);
    SSL_CTX_free(scratch);
    return ok && tls_load_keypair(s, "cert.pem", "key.pem", NULL, NULL) == 0;
}

/* The process default certificate into s; *ca / *ca_node: the CA that goes with it. */
static int tls_use_default(SSL_CTX *s, const struct cfg *root, const char **ca,
                           const struct cval **ca_node, struct cfg_errs *errs)
{
    const struct cfg_tls *g = root ? root->tls : NULL;
    if (g) {
        *ca = g->ca_file;
        *ca_node = g->node;
        if ((g->cert_file && *g->cert_file) || (g->key_file && *g->key_file))
            return tls_load_keypair(s, g->cert_file, g->key_file, g->node, errs);
        return tls_use_generated(s, g, errs);
    }
    if (tls_use_cwd_pair(s)) {
        if (access("ca.pem", F_OK) == 0)
            *ca = "ca.pem";
        return 0;
    }
    return tls_use_generated(s, NULL, errs);
}

static bool tls_set(const char *s)
{
    return s && *s;
}

int tls_server_ctx_from_cfg(const struct cfg_tls *svc_tls, const struct cfg *root,
                            struct tls_server_ctx **out, struct cfg_errs *errs)
{
    SSL_CTX *s = tls_ssl_ctx_new(true);
    if (!s) {
        tls_err_ssl(errs, cfg_pos_of(svc_tls ? svc_tls->node : NULL, NULL), "%s", "tls");
        return -EINVAL;
    }
    const char *ca = NULL;
    const struct cval *ca_node = NULL;
    int rc;
    if (svc_tls && (tls_set(svc_tls->cert_file) || tls_set(svc_tls->key_file))) {
        rc = tls_load_keypair(s, svc_tls->cert_file, svc_tls->key_file, svc_tls->node, errs);
    } else {
        rc = tls_use_default(s, root, &ca, &ca_node, errs);
    }
    if (svc_tls && tls_set(svc_tls->ca_file)) {
        ca = svc_tls->ca_file;
        ca_node = svc_tls->node;
    }
    if (rc == 0 && tls_set(ca)) {
        /* The implicit ./ca.pem has no node: a bad one is skipped, as GOST does. */
        struct cfg_errs *e = ca_node || strcmp(ca, "ca.pem") != 0 ? errs : NULL;
        int crc = tls_load_ca(s, ca, true, ca_node, e);
        if (e)
            rc = crc;
    }
    struct tls_alpn_list *alpn = NULL;
    if (rc == 0 && svc_tls)
        rc = tls_apply_options(s, svc_tls->options, &alpn, errs);
    if (rc < 0) {
        SSL_CTX_free(s);
        free(alpn);
        return -EINVAL;
    }
    struct tls_server_ctx *c = xcalloc(1, sizeof *c);
    atomic_init(&c->refs, 1);
    c->ssl = s;
    c->alpn = alpn;
    *out = c;
    return 0;
}

struct tls_server_ctx *tls_server_ctx_ref(struct tls_server_ctx *ctx)
{
    if (ctx)
        atomic_fetch_add_explicit(&ctx->refs, 1, memory_order_relaxed);
    return ctx;
}

void tls_server_ctx_unref(struct tls_server_ctx *ctx)
{
    if (!ctx || atomic_fetch_sub_explicit(&ctx->refs, 1, memory_order_acq_rel) != 1)
        return;
    SSL_CTX_free(ctx->ssl);
    free(ctx->alpn);
    free(ctx);
}

/* ---- client ------------------------------------------------------------------------------ */

static int tls_client_build(const struct cfg_tls *tls, const char *server_name, bool secure,
                            const struct cfg_tls_options *opts, const struct cval *node,
                            struct tls_client_ctx **out, struct cfg_errs *errs)
{
    SSL_CTX *s = tls_ssl_ctx_new(false);
    if (!s) {
        tls_err_ssl(errs, cfg_pos_of(node, NULL), "%s", "tls");
        return -EINVAL;
    }
    int rc = 0;
    if (tls && (tls_set(tls->cert_file) || tls_set(tls->key_file)))
        rc = tls_load_keypair(s, tls->cert_file, tls->key_file, node, errs);
    if (tls && tls_set(tls->ca_file)) {
        /* With secure false the chain is still verified against caFile (no host name check),
         * as GOST's VerifyConnection does. */
        if (tls_load_ca(s, tls->ca_file, false, node, errs) < 0)
            rc = -EINVAL;
        SSL_CTX_set_verify(s, SSL_VERIFY_PEER, NULL);
    } else if (secure) {
        SSL_CTX_set_default_verify_paths(s);
        SSL_CTX_set_verify(s, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(s, SSL_VERIFY_NONE, NULL);
    }
    if (tls_apply_options(s, opts, NULL, errs) < 0)
        rc = -EINVAL;
    ERR_clear_error();
    if (rc < 0) {
        SSL_CTX_free(s);
        return -EINVAL;
    }
    struct tls_client_ctx *c = xcalloc(1, sizeof *c);
    atomic_init(&c->refs, 1);
    c->ssl = s;
    c->server_name = tls_set(server_name) ? xstrdup(server_name) : NULL;
    c->verify_host = secure;
    *out = c;
    return 0;
}

int tls_client_ctx_from_cfg(const struct cfg_tls *tls, struct tls_client_ctx **out,
                            struct cfg_errs *errs)
{
    return tls_client_build(tls, tls ? tls->server_name : NULL, tls && tls->secure,
                            tls ? tls->options : NULL, tls ? tls->node : NULL, out, errs);
}

int tls_client_ctx_from_node_cfg(const struct cfg_tls_node *tls, struct tls_client_ctx **out,
                                 struct cfg_errs *errs)
{
    return tls_client_build(NULL, tls ? tls->server_name : NULL, tls && tls->secure,
                            tls ? tls->options : NULL, tls ? tls->node : NULL, out, errs);
}

const char *tls_client_ctx_server_name(const struct tls_client_ctx *ctx)
{
    return ctx->server_name;
}

struct tls_client_ctx *tls_client_ctx_ref(struct tls_client_ctx *ctx)
{
    if (ctx)
        atomic_fetch_add_explicit(&ctx->refs, 1, memory_order_relaxed);
    return ctx;
}

void tls_client_ctx_unref(struct tls_client_ctx *ctx)
{
    if (!ctx || atomic_fetch_sub_explicit(&ctx->refs, 1, memory_order_acq_rel) != 1)
        return;
    SSL_CTX_free(ctx->ssl);
    free(ctx->server_name);
    free(ctx);
}
