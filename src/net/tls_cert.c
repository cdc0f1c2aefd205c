/* tls_cert: the generated default certificate (GOST v3.2.6: fresh at each start, never written
 * to disk). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/fiber.h"
#include "core/xmalloc.h"
#include "net/tls_int.h"

#define TLS_CERT_YEAR_S ((int64_t)365 * 24 * 3600)

static pthread_mutex_t tls_cert_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char *cn, *org;
    int64_t validity_ns;
    X509 *cert;
    EVP_PKEY *key;
} tls_cert_cache;

static int tls_cert_add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (!ext)
        return 0;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static int tls_cert_make(const char *cn, const char *org, int64_t validity_ns, X509 **cert_out,
                         EVP_PKEY **key_out)
{
    int64_t secs = validity_ns > 0 ? validity_ns / 1000000000 : TLS_CERT_YEAR_S;
    if (secs < 1)
        secs = 1;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    BIGNUM *serial = BN_new();
    char san[300];
    snprintf(san, sizeof san, "DNS:%s", cn);
    int ok = key && x && serial && X509_set_version(x, X509_VERSION_3) &&
             BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
             BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) &&
             X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
             X509_gmtime_adj(X509_getm_notAfter(x), (long)secs) && X509_set_pubkey(x, key);
    if (ok) {
        X509_NAME *name = X509_get_subject_name(x);
        ok = X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)org, -1,
                                        -1, 0) &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                        -1, 0) &&
             X509_set_issuer_name(x, name) &&
             tls_cert_add_ext(x, NID_key_usage, "critical,digitalSignature,keyCertSign") &&
             tls_cert_add_ext(x, NID_ext_key_usage, "clientAuth,serverAuth") &&
             tls_cert_add_ext(x, NID_basic_constraints, "critical,CA:FALSE") &&
             tls_cert_add_ext(x, NID_subject_alt_name, san) && X509_sign(x, key, EVP_sha256());
    }
    BN_free(serial);
    if (!ok) {
        tls_set_ssl_err(NULL, "generate tls certificate");
        X509_free(x);
        EVP_PKEY_free(key);
        return -ENOMEM;
    }
    *cert_out = x;
    *key_out = key;
    return 0;
}

static bool tls_cert_same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

int tls_cert_generated(const char *cn, const char *org, int64_t validity_ns, X509 **cert,
                       EVP_PKEY **key)
{
    if (!cn || !*cn)
        cn = "gost.run";
    if (!org || !*org)
        org = "GOST";
    int rc = 0;
    pthread_mutex_lock(&tls_cert_lock);
    if (!tls_cert_cache.cert || !tls_cert_same(tls_cert_cache.cn, cn) ||
        !tls_cert_same(tls_cert_cache.org, org) || tls_cert_cache.validity_ns != validity_ns) {
        X509 *x = NULL;
        EVP_PKEY *k = NULL;
        rc = tls_cert_make(cn, org, validity_ns, &x, &k);
        if (rc == 0) {
            X509_free(tls_cert_cache.cert);
            EVP_PKEY_free(tls_cert_cache.key);
            free(tls_cert_cache.cn);
            free(tls_cert_cache.org);
            tls_cert_cache.cert = x;
            tls_cert_cache.key = k;
            tls_cert_cache.cn = xstrdup(cn);
            tls_cert_cache.org = xstrdup(org);
            tls_cert_cache.validity_ns = validity_ns;
        }
    }
    if (rc == 0) {
        X509_up_ref(tls_cert_cache.cert);
        EVP_PKEY_up_ref(tls_cert_cache.key);
        *cert = tls_cert_cache.cert;
        *key = tls_cert_cache.key;
    }
    pthread_mutex_unlock(&tls_cert_lock);
    return rc;
}
