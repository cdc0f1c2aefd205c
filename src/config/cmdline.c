/* cmdline: -L / -F values → configuration tree (contract in cmdline.h, rules in docs/cli.md).
 *
 * The steps and their order follow go-gost/x config/cmd/cmd.go (HEAD): BuildConfigFromCmd,
 * buildServiceConfig, buildNodeConfig, parseSelector, parseAuthFromCmd, decodeSIP002Auth, and
 * the metadata getters of go-gost/x metadata/util (GetString/GetInt/GetFloat/GetBool/
 * GetDuration over a key-lower-cased snapshot of the query map). Where GOST depends on Go's
 * random map iteration order we pick one deterministic answer (documented in docs/cli.md).
 */
#include "config/cmdline.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/gost_types.h"
#include "config/url.h"
#include "core/xmalloc.h"

/* ---- metadata maps ------------------------------------------------------------------------- */

/* A Go map[string]any as the CLI fills it: string values from the query, a few integers
 * (so_mark, proxyProtocol) and one string list (dns). Kept sorted by key (strcmp), keys
 * unique. */
enum cmd_vkind {
    CMD_V_STR,
    CMD_V_INT,
    CMD_V_LIST,
};

struct cmd_kv {
    char *key;
    enum cmd_vkind kind;
    char *s;     /* CMD_V_STR */
    int64_t i;   /* CMD_V_INT */
    char **list; /* CMD_V_LIST */
    size_t nlist;
    size_t koff; /* offsets in the argument (URL_NOPOS when unknown) */
    size_t voff;
};

struct cmd_md {
    struct cmd_kv *v;
    size_t n, cap;
};

static void cmd_kv_clear_value(struct cmd_kv *kv)
{
    free(kv->s);
    kv->s = NULL;
    for (size_t i = 0; i < kv->nlist; i++)
        free(kv->list[i]);
    free(kv->list);
    kv->list = NULL;
    kv->nlist = 0;
    kv->i = 0;
}

static void cmd_kv_copy(struct cmd_kv *d, const struct cmd_kv *s)
{
    *d = *s;
    d->key = xstrdup(s->key);
    d->s = s->s ? xstrdup(s->s) : NULL;
    d->list = NULL;
    if (s->nlist) {
        d->list = xmalloc(s->nlist * sizeof(char *));
        for (size_t i = 0; i < s->nlist; i++)
            d->list[i] = xstrdup(s->list[i]);
    }
}

static void cmd_md_free(struct cmd_md *m)
{
    for (size_t i = 0; i < m->n; i++) {
        cmd_kv_clear_value(&m->v[i]);
        free(m->v[i].key);
    }
    free(m->v);
    memset(m, 0, sizeof *m);
}

static void cmd_md_copy(struct cmd_md *d, const struct cmd_md *s)
{
    d->n = d->cap = s->n;
    d->v = s->n ? xmalloc(s->n * sizeof(*d->v)) : NULL;
    for (size_t i = 0; i < s->n; i++)
        cmd_kv_copy(&d->v[i], &s->v[i]);
}

/* Binary search; returns the index of key, or (as ~index) where it would be inserted. */
static bool cmd_md_search(const struct cmd_md *m, const char *key, size_t *pos)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, m->v[mid].key);
        if (c == 0) {
            *pos = mid;
            return true;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    *pos = lo;
    return false;
}

/* Inserts (or finds) key and clears its value; the caller fills kind and value. */
static struct cmd_kv *cmd_md_put(struct cmd_md *m, const char *key, size_t koff, size_t voff)
{
    size_t pos;
    if (cmd_md_search(m, key, &pos)) {
        struct cmd_kv *kv = &m->v[pos];
        cmd_kv_clear_value(kv);
        kv->koff = koff;
        kv->voff = voff;
        return kv;
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 8;
        m->v = xrealloc(m->v, m->cap * sizeof(*m->v));
    }
    memmove(&m->v[pos + 1], &m->v[pos], (m->n - pos) * sizeof(*m->v));
    m->n++;
    struct cmd_kv *kv = &m->v[pos];
    memset(kv, 0, sizeof *kv);
    kv->key = xstrdup(key);
    kv->koff = koff;
    kv->voff = voff;
    return kv;
}

static void cmd_md_set_str(struct cmd_md *m, const char *key, const char *s, size_t koff,
                           size_t voff)
{
    struct cmd_kv *kv = cmd_md_put(m, key, koff, voff);
    kv->kind = CMD_V_STR;
    kv->s = xstrdup(s);
}

static void cmd_md_set_int(struct cmd_md *m, const char *key, int64_t i, size_t koff, size_t voff)
{
    struct cmd_kv *kv = cmd_md_put(m, key, koff, voff);
    kv->kind = CMD_V_INT;
    kv->i = i;
}

/* Go's strings.Split(s, ","): every piece kept, empty ones included. */
static void cmd_md_set_split(struct cmd_md *m, const char *key, const char *s, size_t koff,
                             size_t voff)
{
    struct cmd_kv *kv = cmd_md_put(m, key, koff, voff);
    kv->kind = CMD_V_LIST;
    size_t n = 1;
    for (const char *p = s; *p; p++)
        if (*p == ',')
            n++;
    kv->list = xmalloc(n * sizeof(char *));
    const char *st = s;
    for (const char *p = s;; p++) {
        if (*p == ',' || *p == '\0') {
            kv->list[kv->nlist++] = xstrndup(st, (size_t)(p - st));
            if (*p == '\0')
                break;
            st = p + 1;
        }
    }
}

static bool cmd_md_del(struct cmd_md *m, const char *key)
{
    size_t pos;
    if (!cmd_md_search(m, key, &pos))
        return false;
    cmd_kv_clear_value(&m->v[pos]);
    free(m->v[pos].key);
    memmove(&m->v[pos], &m->v[pos + 1], (m->n - pos - 1) * sizeof(*m->v));
    m->n--;
    return true;
}

/* Go's mdx.NewMetadata(m).IsExists/Get: keys compared lower-cased. When several keys differ
 * only in case Go picks one at random (map order); we take the exact spelling if present,
 * else the first in sorted order. */
static const struct cmd_kv *cmd_md_find_ci(const struct cmd_md *m, const char *key)
{
    size_t pos;
    if (cmd_md_search(m, key, &pos))
        return &m->v[pos];
    for (size_t i = 0; i < m->n; i++)
        if (strcasecmp(m->v[i].key, key) == 0)
            return &m->v[i];
    return NULL;
}

static int cmd_item_cmp(const void *a, const void *b)
{
    const struct url_qitem *x = *(const struct url_qitem *const *)a;
    const struct url_qitem *y = *(const struct url_qitem *const *)b;
    int c = strcmp(x->key, y->key);
    if (c != 0)
        return c;
    return x < y ? -1 : x > y;
}

/* url.Query() then `m[k] = v[0]`: the first value of each key. */
static void cmd_md_from_query(struct cmd_md *m, const struct url_query *q)
{
    memset(m, 0, sizeof *m);
    if (q->n == 0)
        return;
    const struct url_qitem **idx = xmalloc(q->n * sizeof(*idx));
    for (size_t i = 0; i < q->n; i++)
        idx[i] = &q->items[i];
    qsort(idx, q->n, sizeof(*idx), cmd_item_cmp);
    m->v = xmalloc(q->n * sizeof(*m->v));
    m->cap = q->n;
    for (size_t i = 0; i < q->n; i++) {
        if (i > 0 && strcmp(idx[i]->key, idx[i - 1]->key) == 0)
            continue;
        struct cmd_kv *kv = &m->v[m->n++];
        memset(kv, 0, sizeof *kv);
        kv->key = xstrdup(idx[i]->key);
        kv->kind = CMD_V_STR;
        kv->s = xstrdup(idx[i]->value);
        kv->koff = idx[i]->key_off;
        kv->voff = idx[i]->value_off;
    }
    free(idx);
}

/* ---- Go value conversions ------------------------------------------------------------------ */

/* Go's strconv.ParseBool (error → false). */
static bool cmd_parse_bool(const char *s)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(s, t[i]) == 0)
            return true;
    return false;
}

/* Go's strconv.ParseFloat(s, 64) with the error ignored (v, _ = ...): 0 on a syntax error,
 * ±Inf on overflow. Underscores (allowed by Go only after a 0x prefix) are not supported. */
static double cmd_parse_float(const char *s)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (strcasecmp(p, "inf") == 0 || strcasecmp(p, "infinity") == 0)
        return s[0] == '-' ? -INFINITY : INFINITY;
    if (p == s && strcasecmp(p, "nan") == 0)
        return NAN;
    bool hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
    const char *q = hex ? p + 2 : p;
    size_t digits = 0;
    bool dot = false;
    for (; *q; q++) {
        if ((*q >= '0' && *q <= '9') ||
            (hex && ((*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F'))))
            digits++;
        else if (*q == '.' && !dot)
            dot = true;
        else
            break;
    }
    if (digits == 0)
        return 0;
    if (*q == (hex ? 'p' : 'e') || *q == (hex ? 'P' : 'E')) {
        q++;
        if (*q == '+' || *q == '-')
            q++;
        if (!(*q >= '0' && *q <= '9'))
            return 0;
        while (*q >= '0' && *q <= '9')
            q++;
    } else if (hex) {
        return 0; /* Go requires the p exponent in hex floats */
    }
    if (*q != '\0')
        return 0;
    return strtod(s, NULL);
}

/* Go's strconv.FormatFloat(f, 'f', -1, 64): shortest decimal that reads back as f. */
static void cmd_format_float(double f, char *out, size_t outlen)
{
    if (isnan(f)) {
        snprintf(out, outlen, "NaN");
        return;
    }
    if (isinf(f)) {
        snprintf(out, outlen, "%sInf", f < 0 ? "-" : "+");
        return;
    }
    char e[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, f);
        if (strtod(e, NULL) == f)
            break;
    }
    /* e = [-]D[.DDD]e[+-]XX */
    char digits[32];
    size_t nd = 0;
    const char *p = e;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    int exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    size_t o = 0;
#define CMD_PUT(c)                                                                                 \
    do {                                                                                           \
        if (o + 1 < outlen)                                                                        \
            out[o++] = (c);                                                                        \
    } while (0)
    if (neg)
        CMD_PUT('-');
    if (exp10 < 0) {
        CMD_PUT('0');
        CMD_PUT('.');
        for (int i = 0; i < -exp10 - 1; i++)
            CMD_PUT('0');
        for (size_t i = 0; i < nd; i++)
            CMD_PUT(digits[i]);
    } else {
        for (int i = 0; i <= exp10; i++)
            CMD_PUT((size_t)i < nd ? digits[i] : '0');
        if ((size_t)exp10 + 1 < nd) {
            CMD_PUT('.');
            for (size_t i = (size_t)exp10 + 1; i < nd; i++)
                CMD_PUT(digits[i]);
        }
    }
#undef CMD_PUT
    out[o] = '\0';
}

/* Go's time.ParseDuration. Returns 0 and *ns, or -EINVAL. */
static int cmd_parse_duration(const char *s, int64_t *ns)
{
    static const struct {
        const char *u;
        uint64_t mul;
    } units[] = {
        {"ns", 1ull},       {"us", 1000ull},      {"\xc2\xb5s", 1000ull}, {"\xce\xbcs", 1000ull},
        {"ms", 1000000ull}, {"s", 1000000000ull}, {"m", 60000000000ull},  {"h", 3600000000000ull},
    };
    const uint64_t lim = 1ull << 63;
    uint64_t d = 0;
    bool neg = false;
    *ns = 0;
    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    if (strcmp(s, "0") == 0)
        return 0;
    if (*s == '\0')
        return -EINVAL;
    while (*s) {
        uint64_t v = 0, f = 0;
        double scale = 1;
        if (!(*s == '.' || (*s >= '0' && *s <= '9')))
            return -EINVAL;
        const char *st = s;
        for (; *s >= '0' && *s <= '9'; s++) {
            if (v > lim / 10)
                return -EINVAL;
            v = v * 10 + (uint64_t)(*s - '0');
            if (v > lim)
                return -EINVAL;
        }
        bool pre = s != st, post = false;
        if (*s == '.') {
            s++;
            st = s;
            bool ovf = false;
            for (; *s >= '0' && *s <= '9'; s++) {
                if (ovf)
                    continue;
                if (f > (lim - 1) / 10) {
                    ovf = true;
                    continue;
                }
                uint64_t y = f * 10 + (uint64_t)(*s - '0');
                if (y > lim) {
                    ovf = true;
                    continue;
                }
                f = y;
                scale *= 10;
            }
            post = s != st;
        }
        if (!pre && !post)
            return -EINVAL;
        size_t ul = 0;
        while (s[ul] && s[ul] != '.' && !(s[ul] >= '0' && s[ul] <= '9'))
            ul++;
        if (ul == 0)
            return -EINVAL;
        uint64_t unit = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strlen(units[i].u) == ul && memcmp(units[i].u, s, ul) == 0)
                unit = units[i].mul;
        if (unit == 0)
            return -EINVAL;
        s += ul;
        if (v > lim / unit)
            return -EINVAL;
        v *= unit;
        if (f > 0) {
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > lim)
                return -EINVAL;
        }
        d += v;
        if (d > lim)
            return -EINVAL;
    }
    if (neg) {
        *ns = d == lim ? INT64_MIN : -(int64_t)d;
        return 0;
    }
    if (d > lim - 1)
        return -EINVAL;
    *ns = (int64_t)d;
    return 0;
}

/* Go's time.Duration.String(). */
static void cmd_format_duration(int64_t d, char *out, size_t outlen)
{
    char buf[40];
    size_t w = sizeof buf - 1;
    buf[w] = '\0';
    bool neg = d < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
#define CMD_FRAC(prec)                                                                             \
    do {                                                                                           \
        bool print = false;                                                                        \
        for (int i_ = 0; i_ < (prec); i_++) {                                                      \
            unsigned dg = (unsigned)(u % 10);                                                      \
            print = print || dg != 0;                                                              \
            if (print)                                                                             \
                buf[--w] = (char)('0' + dg);                                                       \
            u /= 10;                                                                               \
        }                                                                                          \
        if (print)                                                                                 \
            buf[--w] = '.';                                                                        \
    } while (0)
#define CMD_INT(v)                                                                                 \
    do {                                                                                           \
        uint64_t v_ = (v);                                                                         \
        if (v_ == 0)                                                                               \
            buf[--w] = '0';                                                                        \
        while (v_ > 0) {                                                                           \
            buf[--w] = (char)('0' + v_ % 10);                                                      \
            v_ /= 10;                                                                              \
        }                                                                                          \
    } while (0)
    if (u < 1000000000ull) {
        int prec = 0;
        buf[--w] = 's';
        if (u == 0) {
            buf[--w] = '0';
            snprintf(out, outlen, "%s", buf + w);
            return;
        } else if (u < 1000ull) {
            buf[--w] = 'n';
        } else if (u < 1000000ull) {
            prec = 3;
            buf[--w] = '\xb5';
            buf[--w] = '\xc2';
        } else {
            prec = 6;
            buf[--w] = 'm';
        }
        CMD_FRAC(prec);
        CMD_INT(u);
    } else {
        buf[--w] = 's';
        CMD_FRAC(9);
        CMD_INT(u % 60);
        u /= 60;
        if (u > 0) {
            buf[--w] = 'm';
            CMD_INT(u % 60);
            u /= 60;
            if (u > 0) {
                buf[--w] = 'h';
                CMD_INT(u);
            }
        }
    }
#undef CMD_FRAC
#undef CMD_INT
    if (neg)
        buf[--w] = '-';
    snprintf(out, outlen, "%s", buf + w);
}

/* Go's encoding/base64 (non-strict: '\r' and '\n' ignored, trailing bits not checked) with
 * StdEncoding (padded) or RawURLEncoding (unpadded). Returns 0, or -EINVAL with *bad set to
 * the offending input offset. */
static int cmd_b64_decode(const char *s, size_t len, bool rawurl, char **out, size_t *outlen,
                          size_t *bad)
{
    unsigned char *d = xmalloc(len / 4 * 3 + 4);
    size_t o = 0, si = 0;
    *out = NULL;
    while (si < len) {
        unsigned char q[4] = {0, 0, 0, 0};
        size_t dlen = 4;
        bool end = false;
        for (size_t j = 0; j < 4; j++) {
            if (si == len) {
                if (j == 0)
                    goto done;
                if (j == 1 || !rawurl) {
                    *bad = si - j;
                    goto fail;
                }
                dlen = j;
                end = true;
                break;
            }
            unsigned char c = (unsigned char)s[si++];
            int v = -1;
            if (c >= 'A' && c <= 'Z')
                v = c - 'A';
            else if (c >= 'a' && c <= 'z')
                v = c - 'a' + 26;
            else if (c >= '0' && c <= '9')
                v = c - '0' + 52;
            else if (c == (rawurl ? '-' : '+'))
                v = 62;
            else if (c == (rawurl ? '_' : '/'))
                v = 63;
            if (v >= 0) {
                q[j] = (unsigned char)v;
                continue;
            }
            if (c == '\n' || c == '\r') {
                j--;
                continue;
            }
            if (rawurl || c != '=') {
                *bad = si - 1;
                goto fail;
            }
            if (j < 2) {
                *bad = si - 1;
                goto fail;
            }
            if (j == 2) {
                while (si < len && (s[si] == '\n' || s[si] == '\r'))
                    si++;
                if (si == len) {
                    *bad = len;
                    goto fail;
                }
                if (s[si] != '=') {
                    *bad = si - 1;
                    goto fail;
                }
                si++;
            }
            while (si < len && (s[si] == '\n' || s[si] == '\r'))
                si++;
            if (si < len) {
                *bad = si;
                goto fail;
            }
            dlen = j;
            end = true;
            break;
        }
        unsigned val = (unsigned)q[0] << 18 | (unsigned)q[1] << 12 | (unsigned)q[2] << 6 | q[3];
        if (dlen >= 2)
            d[o++] = (unsigned char)(val >> 16);
        if (dlen >= 3)
            d[o++] = (unsigned char)(val >> 8);
        if (dlen == 4)
            d[o++] = (unsigned char)val;
        if (end)
            break;
    }
done:
    d[o] = '\0';
    *out = (char *)d;
    *outlen = o;
    return 0;
fail:
    free(d);
    return -EINVAL;
}

/* ---- Go metadata getters (mdutil) over a snapshot ------------------------------------------ */

/* GetString(md, keys...): the first key that exists decides. buf receives integer text. */
static const char *cmd_get_string(const struct cmd_md *m, char *buf, size_t buflen,
                                  const struct cmd_kv **found, const char *k1, const char *k2,
                                  const char *k3)
{
    const char *keys[3] = {k1, k2, k3};
    if (found)
        *found = NULL;
    for (size_t i = 0; i < 3 && keys[i]; i++) {
        const struct cmd_kv *kv = cmd_md_find_ci(m, keys[i]);
        if (!kv)
            continue;
        if (found)
            *found = kv;
        switch (kv->kind) {
        case CMD_V_STR:
            return kv->s;
        case CMD_V_INT:
            snprintf(buf, buflen, "%lld", (long long)kv->i);
            return buf;
        case CMD_V_LIST:
            return "";
        }
    }
    return "";
}

static int64_t cmd_get_int(const struct cmd_md *m, const struct cmd_kv **found, const char *k1,
                           const char *k2)
{
    const char *keys[2] = {k1, k2};
    if (found)
        *found = NULL;
    for (size_t i = 0; i < 2 && keys[i]; i++) {
        const struct cmd_kv *kv = cmd_md_find_ci(m, keys[i]);
        if (!kv)
            continue;
        if (found)
            *found = kv;
        int64_t v = 0;
        if (kv->kind == CMD_V_INT)
            v = kv->i;
        else if (kv->kind == CMD_V_STR)
            url_atoi(kv->s, strlen(kv->s), &v);
        return v;
    }
    return 0;
}

static bool cmd_get_bool(const struct cmd_md *m, const char *k1, const char *k2)
{
    const char *keys[2] = {k1, k2};
    for (size_t i = 0; i < 2; i++) {
        const struct cmd_kv *kv = cmd_md_find_ci(m, keys[i]);
        if (!kv)
            continue;
        if (kv->kind == CMD_V_INT)
            return kv->i != 0;
        if (kv->kind == CMD_V_STR)
            return cmd_parse_bool(kv->s);
        return false;
    }
    return false;
}

static int64_t cmd_get_duration(const struct cmd_md *m, const struct cmd_kv **found, const char *k1,
                                const char *k2)
{
    const char *keys[2] = {k1, k2};
    if (found)
        *found = NULL;
    for (size_t i = 0; i < 2; i++) {
        const struct cmd_kv *kv = cmd_md_find_ci(m, keys[i]);
        if (!kv)
            continue;
        if (found)
            *found = kv;
        int64_t v = 0, n = 0;
        if (kv->kind == CMD_V_INT) {
            n = kv->i; /* integers are seconds (not produced by the CLI; kept for fidelity) */
        } else if (kv->kind == CMD_V_STR) {
            if (cmd_parse_duration(kv->s, &v) != 0)
                v = 0;
            if (v == 0)
                url_atoi(kv->s, strlen(kv->s), &n);
        }
        if (v == 0)
            v = (int64_t)((uint64_t)n * 1000000000u); /* Go's Duration(n) * Second wraps */
        return v;
    }
    return 0;
}

/* ---- building context ---------------------------------------------------------------------- */

struct cmd_ctx {
    const char *file; /* interned "-L[i]" / "-F[i]" of the value being translated */
    const char *target_prefix;
    size_t max_nodes;
    struct cval *services, *chains, *admissions, *bypasses, *resolvers, *hosts, *limiters,
        *climiters, *rlimiters;
    size_t n_services;
    char *err;
    size_t errlen;
};

static struct cval_pos cmd_pos(const struct cmd_ctx *c, size_t off)
{
    struct cval_pos p = {c->file, 1, off == URL_NOPOS ? 1 : (int)(off + 1)};
    return p;
}

static int cmd_fail(struct cmd_ctx *c, int rc, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int cmd_fail(struct cmd_ctx *c, int rc, size_t off, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (off == URL_NOPOS)
            snprintf(c->err, c->errlen, "%s:1: %s", c->file, msg);
        else
            snprintf(c->err, c->errlen, "%s:1:%zu: %s", c->file, off + 1, msg);
    }
    return rc;
}

/* Appends key → val to a map without the duplicate scan of cval_map_set (keys we build are
 * unique; metadata maps can be large). Consumes val. */
static void cmd_put(struct cval *map, const char *key, struct cval *val)
{
    if (map->u.map.n == map->u.map.cap) {
        size_t cap = map->u.map.cap ? map->u.map.cap * 2 : 8;
        map->u.map.ents = xrealloc(map->u.map.ents, cap * sizeof(*map->u.map.ents));
        map->u.map.cap = cap;
    }
    struct cval_entry *e = &map->u.map.ents[map->u.map.n++];
    e->key = xstrdup(key);
    e->key_pos = val->pos;
    e->val = val;
}

static struct cval *cmd_map(const struct cmd_ctx *c, size_t off)
{
    return cval_new(CVAL_MAP, cmd_pos(c, off));
}

static struct cval *cmd_list(const struct cmd_ctx *c, size_t off)
{
    return cval_new(CVAL_LIST, cmd_pos(c, off));
}

static void cmd_put_str(const struct cmd_ctx *c, struct cval *map, const char *key, const char *s,
                        size_t off)
{
    cmd_put(map, key, cval_new_str(s, cmd_pos(c, off)));
}

static void cmd_put_int(const struct cmd_ctx *c, struct cval *map, const char *key, int64_t i,
                        size_t off)
{
    cmd_put(map, key, cval_new_int(i, cmd_pos(c, off)));
}

/* A metadata map as a cval (NULL when empty: Go's omitempty drops it). */
static struct cval *cmd_md_cval(const struct cmd_ctx *c, const struct cmd_md *m)
{
    if (m->n == 0)
        return NULL;
    struct cval *map = cmd_map(c, m->v[0].koff);
    map->u.map.ents = xmalloc(m->n * sizeof(*map->u.map.ents));
    map->u.map.cap = m->n;
    for (size_t i = 0; i < m->n; i++) {
        const struct cmd_kv *kv = &m->v[i];
        struct cval *v;
        if (kv->kind == CMD_V_STR) {
            v = cval_new_str(kv->s, cmd_pos(c, kv->voff));
        } else if (kv->kind == CMD_V_INT) {
            v = cval_new_int(kv->i, cmd_pos(c, kv->voff));
        } else {
            v = cmd_list(c, kv->voff);
            for (size_t j = 0; j < kv->nlist; j++)
                cval_list_push(v, cval_new_str(kv->list[j], cmd_pos(c, kv->voff)));
        }
        struct cval_entry *e = &map->u.map.ents[map->u.map.n++];
        e->key = xstrdup(kv->key);
        e->key_pos = cmd_pos(c, kv->koff);
        e->val = v;
    }
    return map;
}

/* ---- scope splitting ----------------------------------------------------------------------- */

static bool cmd_has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* Splits m into up to three scope maps: keys with prefix[i] go (stripped) to out[i] only,
 * keys with a prefix in skip[] are left out, all other keys go to every out[i]. A scoped key
 * wins over an unscoped key of the same name (GOST: Go map order decides). out[] must be
 * empty maps. */
static void cmd_split_scopes(const struct cmd_md *m, const char *const *prefix, size_t n,
                             const char *const *skip, size_t nskip, struct cmd_md *out)
{
    for (size_t i = 0; i < m->n; i++) {
        const struct cmd_kv *kv = &m->v[i];
        bool scoped = false, skipped = false;
        for (size_t s = 0; s < nskip; s++)
            if (cmd_has_prefix(kv->key, skip[s]))
                skipped = true;
        for (size_t p = 0; p < n && !skipped; p++)
            if (cmd_has_prefix(kv->key, prefix[p]))
                scoped = true;
        if (skipped || scoped)
            continue;
        for (size_t p = 0; p < n; p++) {
            struct cmd_kv *d = cmd_md_put(&out[p], kv->key, kv->koff, kv->voff);
            char *key = d->key;
            cmd_kv_copy(d, kv);
            free(d->key);
            d->key = key;
        }
    }
    for (size_t i = 0; i < m->n; i++) {
        const struct cmd_kv *kv = &m->v[i];
        bool skipped = false;
        for (size_t s = 0; s < nskip; s++)
            if (cmd_has_prefix(kv->key, skip[s]))
                skipped = true;
        for (size_t p = 0; p < n && !skipped; p++) {
            if (!cmd_has_prefix(kv->key, prefix[p]))
                continue;
            struct cmd_kv *d = cmd_md_put(&out[p], kv->key + strlen(prefix[p]), kv->koff, kv->voff);
            char *key = d->key;
            cmd_kv_copy(d, kv);
            free(d->key);
            d->key = key;
        }
    }
}

/* ---- pieces shared by -L and -F ------------------------------------------------------------ */

struct cmd_auth {
    bool set;
    char *username;
    char *password; /* may be NULL (= "") */
    size_t off;
};

static void cmd_auth_free(struct cmd_auth *a)
{
    free(a->username);
    free(a->password);
    memset(a, 0, sizeof *a);
}

static struct cval *cmd_auth_cval(const struct cmd_ctx *c, const struct cmd_auth *a)
{
    struct cval *m = cmd_map(c, a->off);
    cmd_put_str(c, m, "username", a->username, a->off);
    if (a->password && a->password[0])
        cmd_put_str(c, m, "password", a->password, a->off);
    return m;
}

/* "user:pass" (or "user") → auth. */
static void cmd_auth_from_pair(struct cmd_auth *a, const char *cs, size_t len, size_t off)
{
    const char *colon = memchr(cs, ':', len);
    a->set = true;
    a->off = off;
    if (!colon) {
        a->username = xstrndup(cs, len);
        a->password = NULL;
    } else {
        a->username = xstrndup(cs, (size_t)(colon - cs));
        a->password = xstrndup(colon + 1, len - (size_t)(colon - cs) - 1);
    }
}

/* userinfo → auth, with decodeSIP002Auth first for "ss*" schemes. */
static void cmd_auth_from_user(struct cmd_auth *a, const struct url_spec *sp)
{
    const struct url *u = &sp->url;
    if (!u->has_user)
        return;
    if (strncmp(u->scheme, "ss", 2) == 0 && !u->password && u->username[0]) {
        char *dec = NULL;
        size_t dl = 0, bad = 0;
        size_t ul = strlen(u->username);
        if (cmd_b64_decode(u->username, ul, true, &dec, &dl, &bad) == 0 ||
            cmd_b64_decode(u->username, ul, false, &dec, &dl, &bad) == 0) {
            if (memchr(dec, ':', dl)) {
                cmd_auth_from_pair(a, dec, dl, u->user_off);
                free(dec);
                return;
            }
            free(dec);
        }
    }
    a->set = true;
    a->off = u->user_off;
    a->username = xstrdup(u->username);
    a->password = u->password ? xstrdup(u->password) : NULL;
}

/* ?auth=base64(user[:pass]) (parseAuthFromCmd: RawURLEncoding, then StdEncoding). */
static int cmd_auth_from_param(struct cmd_ctx *c, struct cmd_auth *a, const struct cmd_kv *kv,
                               const char *sa)
{
    char *dec = NULL;
    size_t dl = 0, bad = 0;
    size_t len = strlen(sa);
    if (cmd_b64_decode(sa, len, true, &dec, &dl, &bad) != 0 &&
        cmd_b64_decode(sa, len, false, &dec, &dl, &bad) != 0)
        return cmd_fail(c, -EINVAL, kv ? kv->voff : URL_NOPOS,
                        "invalid auth parameter: illegal base64 data at input byte %zu", bad);
    cmd_auth_from_pair(a, dec, dl, kv ? kv->voff : URL_NOPOS);
    free(dec);
    return 0;
}

struct cmd_selector {
    bool set;
    char *strategy;
    int64_t max_fails;
    int64_t fail_timeout; /* ns */
    size_t off;
};

/* parseSelector: reads strategy/maxFails/failTimeout; when any is set fills the defaults
 * (round, 1, 30s) and deletes the five keys from m. */
static void cmd_parse_selector(struct cmd_md *m, struct cmd_selector *sel)
{
    struct cmd_md snap;
    char buf[32];
    const struct cmd_kv *k1, *k2, *k3;
    memset(sel, 0, sizeof *sel);
    cmd_md_copy(&snap, m);
    const char *strategy = cmd_get_string(&snap, buf, sizeof buf, &k1, "strategy", NULL, NULL);
    int64_t max_fails = cmd_get_int(&snap, &k2, "maxFails", "max_fails");
    int64_t fail_timeout = cmd_get_duration(&snap, &k3, "failTimeout", "fail_timeout");
    if (strategy[0] == '\0' && max_fails <= 0 && fail_timeout <= 0) {
        cmd_md_free(&snap);
        return;
    }
    sel->set = true;
    sel->strategy = xstrdup(strategy[0] ? strategy : "round");
    sel->max_fails = max_fails > 0 ? max_fails : 1;
    sel->fail_timeout = fail_timeout > 0 ? fail_timeout : 30000000000ll;
    sel->off = k1 ? k1->koff : k2 ? k2->koff : k3 ? k3->koff : URL_NOPOS;
    cmd_md_free(&snap);
    cmd_md_del(m, "strategy");
    cmd_md_del(m, "maxFails");
    cmd_md_del(m, "max_fails");
    cmd_md_del(m, "failTimeout");
    cmd_md_del(m, "fail_timeout");
}

static struct cval *cmd_selector_cval(const struct cmd_ctx *c, const struct cmd_selector *s)
{
    char dur[40];
    struct cval *m = cmd_map(c, s->off);
    cmd_put_str(c, m, "strategy", s->strategy, s->off);
    cmd_put_int(c, m, "maxFails", s->max_fails, s->off);
    cmd_format_duration(s->fail_timeout, dur, sizeof dur);
    cmd_put_str(c, m, "failTimeout", dur, s->off);
    return m;
}

/* The name a new object of `list` gets: "<prefix>-<len(list)>". */
static char *cmd_obj_name(const struct cval *list, const char *prefix)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s-%zu", prefix, list->u.list.n);
    return xstrdup(buf);
}

/* bypass / admission: "[~]m1,m2,..." → {name, whitelist?, matchers?}. Returns the name. */
static char *cmd_add_matcher_obj(struct cmd_ctx *c, struct cval *list, const char *prefix,
                                 const char *v, size_t off)
{
    char *name = cmd_obj_name(list, prefix);
    struct cval *o = cmd_map(c, off);
    cmd_put_str(c, o, "name", name, off);
    if (v[0] == '~') {
        cmd_put(o, "whitelist", cval_new_bool(true, cmd_pos(c, off)));
        v++;
    }
    struct cval *ms = cmd_list(c, off);
    const char *st = v;
    for (const char *p = v;; p++) {
        if (*p == ',' || *p == '\0') {
            if (p > st) {
                char *s = xstrndup(st, (size_t)(p - st));
                cval_list_push(ms, cval_new_str(s, cmd_pos(c, off)));
                free(s);
            }
            if (*p == '\0')
                break;
            st = p + 1;
        }
    }
    if (ms->u.list.n > 0)
        cmd_put(o, "matchers", ms);
    else
        cval_free(ms);
    cval_list_push(list, o);
    return name;
}

/* resolver: "ns1,ns2" → {name, nameservers: [{addr, prefer?}]}. */
static char *cmd_add_resolver(struct cmd_ctx *c, const char *v, const char *prefer, size_t off)
{
    char *name = cmd_obj_name(c->resolvers, "resolver");
    struct cval *o = cmd_map(c, off);
    cmd_put_str(c, o, "name", name, off);
    struct cval *ns = cmd_list(c, off);
    const char *st = v;
    for (const char *p = v;; p++) {
        if (*p == ',' || *p == '\0') {
            if (p > st) {
                char *s = xstrndup(st, (size_t)(p - st));
                struct cval *n = cmd_map(c, off);
                cmd_put_str(c, n, "addr", s, off);
                if (prefer && prefer[0])
                    cmd_put_str(c, n, "prefer", prefer, off);
                cval_list_push(ns, n);
                free(s);
            }
            if (*p == '\0')
                break;
            st = p + 1;
        }
    }
    if (ns->u.list.n > 0)
        cmd_put(o, "nameservers", ns);
    else
        cval_free(ns);
    cval_list_push(c->resolvers, o);
    return name;
}

/* hosts: "host:ip,..." → {name, mappings: [{ip, hostname}]} (entries without ':' skipped). */
static char *cmd_add_hosts(struct cmd_ctx *c, const char *v, size_t off)
{
    char *name = cmd_obj_name(c->hosts, "hosts");
    struct cval *o = cmd_map(c, off);
    cmd_put_str(c, o, "name", name, off);
    struct cval *ms = cmd_list(c, off);
    const char *st = v;
    for (const char *p = v;; p++) {
        if (*p == ',' || *p == '\0') {
            const char *colon = memchr(st, ':', (size_t)(p - st));
            if (colon) {
                char *h = xstrndup(st, (size_t)(colon - st));
                char *ip = xstrndup(colon + 1, (size_t)(p - colon - 1));
                struct cval *mp = cmd_map(c, off);
                cmd_put_str(c, mp, "ip", ip, off);
                cmd_put_str(c, mp, "hostname", h, off);
                cval_list_push(ms, mp);
                free(h);
                free(ip);
            }
            if (*p == '\0')
                break;
            st = p + 1;
        }
    }
    if (ms->u.list.n > 0)
        cmd_put(o, "mappings", ms);
    else
        cval_free(ms);
    cval_list_push(c->hosts, o);
    return name;
}

/* limiter lists: {name, limits: [...]}. */
static char *cmd_add_limiter(struct cmd_ctx *c, struct cval *list, const char *prefix,
                             const char *const *limits, size_t n, size_t off)
{
    char *name = cmd_obj_name(list, prefix);
    struct cval *o = cmd_map(c, off);
    cmd_put_str(c, o, "name", name, off);
    struct cval *ls = cmd_list(c, off);
    for (size_t i = 0; i < n; i++)
        cval_list_push(ls, cval_new_str(limits[i], cmd_pos(c, off)));
    cmd_put(o, "limits", ls);
    cval_list_push(list, o);
    return name;
}

static bool cmd_is(const char *s, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, set[i]) == 0)
            return true;
    return false;
}

static char *cmd_cat(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *d = xmalloc(la + lb + 1);
    memcpy(d, a, la);
    memcpy(d + la, b, lb + 1);
    return d;
}

static int cmd_parse_spec(struct cmd_ctx *c, const char *arg, enum url_role role,
                          struct url_spec *sp)
{
    char msg[400];
    size_t eo = URL_NOPOS;
    int rc = url_spec_parse(arg, strlen(arg), role, sp, msg, sizeof msg, &eo);
    if (rc < 0)
        return cmd_fail(c, rc, eo, "%s", msg);
    return rc;
}

/* Rejects values whose copies would exceed CMDLINE_MAX_FANOUT. */
static int cmd_check_fanout(struct cmd_ctx *c, size_t copies, const struct url_spec *sp,
                            const char *what)
{
    size_t q = strlen(sp->url.raw_query) + 64;
    size_t nodes = 3 * sp->query.n + 16;
    if (copies > 0 && (q > CMDLINE_MAX_FANOUT / 3 / copies || nodes > c->max_nodes / copies))
        return cmd_fail(c, -E2BIG, sp->url.query_off,
                        "%zu %ss with %zu options (%zu bytes) each is too much to expand "
                        "(split the value)",
                        copies, what, sp->query.n, q - 64);
    return 0;
}

/* ---- -F: one hop of chain-0 ---------------------------------------------------------------- */

static int cmd_build_hop(struct cmd_ctx *c, size_t idx, const char *arg, struct cval *hops)
{
    static const char *const no_skip[] = {"node.", "connector.", "dialer."};
    static const char *const hop_prefix[] = {"hop."};
    static const char *const node_prefix[] = {"node.", "connector.", "dialer."};
    struct url_spec sp;
    struct cmd_md m = {0}, s0 = {0}, s1 = {0}, hopmd = {0}, nmd[3];
    struct cmd_selector sel = {0};
    struct cmd_auth auth = {0};
    char *bypass = NULL, *resolver = NULL, *hosts = NULL;
    char buf[32];
    const struct cmd_kv *kv;
    int rc = cmd_parse_spec(c, arg, URL_ROLE_NODE, &sp);
    memset(nmd, 0, sizeof nmd);
    if (rc != 0)
        return rc;
    rc = cmd_check_fanout(c, sp.n_addrs, &sp, "node");
    if (rc != 0)
        goto out;

    cmd_md_from_query(&m, &sp.query);
    cmd_md_copy(&s0, &m);
    cmd_parse_selector(&m, &sel);

    const char *v = cmd_get_string(&s0, buf, sizeof buf, &kv, "bypass", NULL, NULL);
    if (v[0]) {
        bypass = cmd_add_matcher_obj(c, c->bypasses, "bypass", v, kv->voff);
        cmd_md_del(&m, "bypass");
    }
    v = cmd_get_string(&s0, buf, sizeof buf, &kv, "resolver", NULL, NULL);
    if (v[0]) {
        resolver = cmd_add_resolver(c, v, NULL, kv->voff);
        cmd_md_del(&m, "resolver");
    }
    v = cmd_get_string(&s0, buf, sizeof buf, &kv, "hosts", NULL, NULL);
    if (v[0]) {
        hosts = cmd_add_hosts(c, v, kv->voff);
        cmd_md_del(&m, "hosts");
    }
    v = cmd_get_string(&s0, buf, sizeof buf, &kv, "interface", NULL, NULL);
    if (v[0]) {
        cmd_md_set_str(&m, "hop.interface", v, kv->koff, kv->voff);
        cmd_md_del(&m, "interface");
    }
    int64_t iv = cmd_get_int(&s0, &kv, "so_mark", NULL);
    if (iv > 0) {
        cmd_md_set_int(&m, "hop.so_mark", iv, kv->koff, kv->voff);
        cmd_md_del(&m, "so_mark");
    }
    iv = cmd_get_int(&s0, &kv, "proxyProtocol", NULL);
    if (iv > 0) {
        cmd_md_set_int(&m, "hop.proxyProtocol", iv, kv->koff, kv->voff);
        cmd_md_del(&m, "proxyProtocol");
    }

    /* hop metadata: "hop." keys (then removed), and every unscoped key */
    cmd_split_scopes(&m, hop_prefix, 1, no_skip, 3, &hopmd);
    for (size_t i = 0; i < m.n;) {
        if (cmd_has_prefix(m.v[i].key, "hop."))
            cmd_md_del(&m, m.v[i].key);
        else
            i++;
    }

    /* buildNodeConfig */
    const char *connector = sp.part[0], *dialer = sp.part[1];
    if (!gost_type_known(GOST_FAMILY_CONNECTOR, connector))
        connector = "http";
    if (!gost_type_known(GOST_FAMILY_DIALER, dialer))
        dialer = strcmp(connector, "ssu") == 0 ? "udp" : "tcp";

    cmd_md_copy(&s1, &m);
    cmd_auth_from_user(&auth, &sp);
    const char *sa = cmd_get_string(&s1, buf, sizeof buf, &kv, "auth", NULL, NULL);
    if (sa[0] && !auth.set) {
        rc = cmd_auth_from_param(c, &auth, kv, sa);
        if (rc != 0)
            goto out;
    }
    cmd_md_del(&m, "auth");

    char b1[32], b2[32], b3[32], b4[32];
    const struct cmd_kv *kc, *kk, *ka, *ks;
    const char *cert = cmd_get_string(&s1, b1, sizeof b1, &kc, "tls.certFile", "certFile", "cert");
    const char *key = cmd_get_string(&s1, b2, sizeof b2, &kk, "tls.keyFile", "keyFile", "key");
    const char *ca = cmd_get_string(&s1, b3, sizeof b3, &ka, "tls.caFile", "caFile", "ca");
    bool secure = cmd_get_bool(&s1, "tls.secure", "secure");
    const char *sn = cmd_get_string(&s1, b4, sizeof b4, &ks, "tls.servername", "servername", NULL);
    char *sn_host = NULL;
    size_t sn_off = ks ? ks->voff : sp.url.host_off;
    if (!sn[0]) {
        sn_host = url_hostname(sp.url.host);
        sn = sn_host;
    }
    static const char *const tls_keys[] = {
        "tls.certFile", "certFile",       "cert",       "tls.keyFile", "keyFile",
        "key",          "tls.caFile",     "caFile",     "ca",          "tls.secure",
        "secure",       "tls.servername", "serverName",
    };
    struct cval *tls = NULL;
    if (secure || cert[0] || ca[0] || sn[0]) {
        size_t toff = kc ? kc->voff : sn_off;
        tls = cmd_map(c, toff);
        if (cert[0])
            cmd_put_str(c, tls, "certFile", cert, kc->voff);
        if (key[0])
            cmd_put_str(c, tls, "keyFile", key, kk->voff);
        if (ca[0])
            cmd_put_str(c, tls, "caFile", ca, ka->voff);
        if (secure)
            cmd_put(tls, "secure", cval_new_bool(true, cmd_pos(c, toff)));
        if (sn[0])
            cmd_put_str(c, tls, "serverName", sn, sn_off);
    }
    free(sn_host);
    for (size_t i = 0; i < sizeof tls_keys / sizeof tls_keys[0]; i++)
        cmd_md_del(&m, tls_keys[i]);

    cmd_split_scopes(&m, node_prefix, 3, NULL, 0, nmd);
    bool auth_on_dialer = strcmp(dialer, "ssh") == 0 || strcmp(dialer, "sshd") == 0;

    /* the hop */
    char name[64];
    snprintf(name, sizeof name, "hop-%zu", idx);
    struct cval *hop = cmd_map(c, 0);
    cmd_put_str(c, hop, "name", name, 0);
    if (sel.set)
        cmd_put(hop, "selector", cmd_selector_cval(c, &sel));
    if (bypass)
        cmd_put_str(c, hop, "bypass", bypass, 0);
    if (resolver)
        cmd_put_str(c, hop, "resolver", resolver, 0);
    if (hosts)
        cmd_put_str(c, hop, "hosts", hosts, 0);
    if (sp.n_addrs > 0) {
        struct cval *nodes = cmd_list(c, sp.addrs[0].off);
        for (size_t j = 0; j < sp.n_addrs; j++) {
            size_t aoff = sp.addrs[j].off;
            struct cval *node = cmd_map(c, aoff);
            snprintf(name, sizeof name, "node-%zu", j);
            cmd_put_str(c, node, "name", name, aoff);
            cmd_put_str(c, node, "addr", sp.addrs[j].s, aoff);
            struct cval *cn = cmd_map(c, sp.url.scheme_off);
            cmd_put_str(c, cn, "type", connector, sp.url.scheme_off);
            if (auth.set && !auth_on_dialer)
                cmd_put(cn, "auth", cmd_auth_cval(c, &auth));
            struct cval *md = cmd_md_cval(c, &nmd[1]);
            if (md)
                cmd_put(cn, "metadata", md);
            cmd_put(node, "connector", cn);
            struct cval *dl = cmd_map(c, sp.url.scheme_off);
            cmd_put_str(c, dl, "type", dialer, sp.url.scheme_off);
            if (auth.set && auth_on_dialer)
                cmd_put(dl, "auth", cmd_auth_cval(c, &auth));
            if (tls)
                cmd_put(dl, "tls", cval_dup(tls));
            md = cmd_md_cval(c, &nmd[2]);
            if (md)
                cmd_put(dl, "metadata", md);
            cmd_put(node, "dialer", dl);
            md = cmd_md_cval(c, &nmd[0]);
            if (md)
                cmd_put(node, "metadata", md);
            cval_list_push(nodes, node);
        }
        cmd_put(hop, "nodes", nodes);
    }
    struct cval *hmd = cmd_md_cval(c, &hopmd);
    if (hmd)
        cmd_put(hop, "metadata", hmd);
    cval_list_push(hops, hop);
    cval_free(tls);

out:
    free(bypass);
    free(resolver);
    free(hosts);
    free(sel.strategy);
    cmd_auth_free(&auth);
    cmd_md_free(&m);
    cmd_md_free(&s0);
    cmd_md_free(&s1);
    cmd_md_free(&hopmd);
    for (size_t i = 0; i < 3; i++)
        cmd_md_free(&nmd[i]);
    url_spec_free(&sp);
    return rc;
}

/* ---- -L: services -------------------------------------------------------------------------- */

/* The per-service objects GOST derives from the handler metadata (second loop of
 * BuildConfigFromCmd); deletes the consumed keys from h. */
struct cmd_svc_objs {
    int64_t retries;
    size_t retries_off;
    char *admission, *bypass, *resolver, *hosts, *limiter, *climiter, *rlimiter;
};

static void cmd_svc_objs_free(struct cmd_svc_objs *o)
{
    free(o->admission);
    free(o->bypass);
    free(o->resolver);
    free(o->hosts);
    free(o->limiter);
    free(o->climiter);
    free(o->rlimiter);
    memset(o, 0, sizeof *o);
}

static void cmd_svc_objs_build(struct cmd_ctx *c, struct cmd_md *h, struct cmd_svc_objs *o)
{
    struct cmd_md s;
    char buf[32], b2[32], b3[32], b4[32];
    const struct cmd_kv *kv, *k2, *k3, *k4;
    memset(o, 0, sizeof *o);
    cmd_md_copy(&s, h);

    int64_t r = cmd_get_int(&s, &kv, "retries", NULL);
    if (r > 0) {
        o->retries = r;
        o->retries_off = kv->voff;
        cmd_md_del(h, "retries");
    }
    const char *v = cmd_get_string(&s, buf, sizeof buf, &kv, "admission", NULL, NULL);
    if (v[0]) {
        o->admission = cmd_add_matcher_obj(c, c->admissions, "admission", v, kv->voff);
        cmd_md_del(h, "admission");
    }
    v = cmd_get_string(&s, buf, sizeof buf, &kv, "bypass", NULL, NULL);
    if (v[0]) {
        o->bypass = cmd_add_matcher_obj(c, c->bypasses, "bypass", v, kv->voff);
        cmd_md_del(h, "bypass");
    }
    v = cmd_get_string(&s, buf, sizeof buf, &kv, "resolver", NULL, NULL);
    if (v[0]) {
        const char *prefer = cmd_get_string(&s, b2, sizeof b2, NULL, "prefer", NULL, NULL);
        o->resolver = cmd_add_resolver(c, v, prefer, kv->voff);
        cmd_md_del(h, "resolver");
    }
    v = cmd_get_string(&s, buf, sizeof buf, &kv, "hosts", NULL, NULL);
    if (v[0]) {
        o->hosts = cmd_add_hosts(c, v, kv->voff);
        cmd_md_del(h, "hosts");
    }

    const char *in = cmd_get_string(&s, buf, sizeof buf, &kv, "limiter.in", NULL, NULL);
    const char *out = cmd_get_string(&s, b2, sizeof b2, &k2, "limiter.out", NULL, NULL);
    const char *cin = cmd_get_string(&s, b3, sizeof b3, &k3, "limiter.conn.in", NULL, NULL);
    const char *cout = cmd_get_string(&s, b4, sizeof b4, &k4, "limiter.conn.out", NULL, NULL);
    if (in[0] || cin[0] || out[0] || cout[0]) {
        const struct cmd_kv *first = kv ? kv : k2 ? k2 : k3 ? k3 : k4;
        char *limits[2];
        size_t n = 0;
        if (in[0] || out[0]) {
            limits[n] = xmalloc(strlen(in) + strlen(out) + 4);
            sprintf(limits[n++], "$ %s %s", in, out);
        }
        if (cin[0] || cout[0]) {
            limits[n] = xmalloc(strlen(cin) + strlen(cout) + 5);
            sprintf(limits[n++], "$$ %s %s", cin, cout);
        }
        o->limiter = cmd_add_limiter(c, c->limiters, "limiter", (const char *const *)limits, n,
                                     first ? first->voff : URL_NOPOS);
        for (size_t i = 0; i < n; i++)
            free(limits[i]);
        cmd_md_del(h, "limiter.in");
        cmd_md_del(h, "limiter.out");
        cmd_md_del(h, "limiter.conn.in");
        cmd_md_del(h, "limiter.conn.out");
    }

    int64_t cl = cmd_get_int(&s, &kv, "climiter", NULL);
    if (cl > 0) {
        char lim[40];
        const char *limits[1] = {lim};
        snprintf(lim, sizeof lim, "$ %lld", (long long)cl);
        o->climiter = cmd_add_limiter(c, c->climiters, "climiter", limits, 1, kv->voff);
        cmd_md_del(h, "climiter");
    }

    const struct cmd_kv *rk = cmd_md_find_ci(&s, "rlimiter");
    double rl = 0;
    if (rk && rk->kind == CMD_V_STR)
        rl = cmd_parse_float(rk->s);
    else if (rk && rk->kind == CMD_V_INT)
        rl = (double)rk->i;
    if (rl > 0) {
        char num[400], lim[420];
        const char *limits[1] = {lim};
        cmd_format_float(rl, num, sizeof num);
        snprintf(lim, sizeof lim, "$ %s", num);
        o->rlimiter = cmd_add_limiter(c, c->rlimiters, "rlimiter", limits, 1, rk->voff);
        cmd_md_del(h, "rlimiter");
    }
    cmd_md_free(&s);
}

static struct cval *cmd_target_cval(const struct cmd_ctx *c, const struct url_item *t, size_t idx)
{
    char name[48];
    snprintf(name, sizeof name, "target-%zu", idx);
    char *full = cmd_cat(c->target_prefix ? c->target_prefix : "", name);
    struct cval *n = cmd_map(c, t->off);
    cmd_put_str(c, n, "name", full, t->off);
    if (t->s[0])
        cmd_put_str(c, n, "addr", t->s, t->off);
    free(full);
    return n;
}

static int cmd_build_services(struct cmd_ctx *c, const char *arg, bool has_chain)
{
    static const char *const fwd_listeners[] = {"tcp", "udp", "rtcp", "rudp",  "tun",
                                                "tap", "dns", "unix", "runix", "serial"};
    static const char *const remote_listeners[] = {"rtcp", "rudp", "runix"};
    static const char *const scope_prefix[] = {"service.", "handler.", "listener."};
    struct url_spec sp;
    struct cmd_md m = {0}, s0 = {0}, scope[3];
    struct cmd_selector sel = {0};
    struct cmd_auth auth = {0};
    struct url_item stdio_target = {NULL, URL_NOPOS};
    struct cval *tls = NULL;
    char buf[32];
    const struct cmd_kv *kv;
    memset(scope, 0, sizeof scope);
    int rc = cmd_parse_spec(c, arg, URL_ROLE_SERVICE, &sp);
    if (rc != 0)
        return rc < 0 ? rc : 0; /* 1 = blank value, skipped like GOST */
    rc = cmd_check_fanout(c, sp.n_addrs, &sp, "service");
    if (rc != 0)
        goto out;

    const char *handler = sp.part[0], *listener = sp.part[1];
    if (!gost_type_known(GOST_FAMILY_HANDLER, handler))
        handler = "auto";
    if (!gost_type_known(GOST_FAMILY_LISTENER, listener))
        listener = strcmp(handler, "ssu") == 0 ? "udp" : "tcp";

    const struct url_item *targets = sp.targets;
    size_t n_targets = sp.n_targets;
    if (n_targets > 0 && strcmp(handler, "relay") != 0)
        handler = cmd_is(listener, fwd_listeners, sizeof fwd_listeners / sizeof fwd_listeners[0])
                      ? listener
                      : "forward";
    if (strcmp(listener, "stdio") == 0 && n_targets == 0 && sp.url.host[0]) {
        stdio_target.s = sp.url.host;
        stdio_target.off = sp.url.host_off;
        targets = &stdio_target;
        n_targets = 1;
        if (strcmp(handler, "auto") == 0)
            handler = "tcp";
    }

    cmd_auth_from_user(&auth, &sp);
    cmd_md_from_query(&m, &sp.query);
    cmd_md_copy(&s0, &m);
    const char *sa = cmd_get_string(&s0, buf, sizeof buf, &kv, "auth", NULL, NULL);
    if (sa[0] && !auth.set) {
        rc = cmd_auth_from_param(c, &auth, kv, sa);
        if (rc != 0)
            goto out;
    }
    cmd_md_del(&m, "auth");

    {
        char b1[32], b2[32], b3[32];
        const struct cmd_kv *kc, *kk, *ka;
        const char *cert =
            cmd_get_string(&s0, b1, sizeof b1, &kc, "tls.certFile", "certFile", "cert");
        const char *key = cmd_get_string(&s0, b2, sizeof b2, &kk, "tls.keyFile", "keyFile", "key");
        const char *ca = cmd_get_string(&s0, b3, sizeof b3, &ka, "tls.caFile", "caFile", "ca");
        if (cert[0]) {
            tls = cmd_map(c, kc->voff);
            cmd_put_str(c, tls, "certFile", cert, kc->voff);
            if (key[0])
                cmd_put_str(c, tls, "keyFile", key, kk->voff);
            if (ca[0])
                cmd_put_str(c, tls, "caFile", ca, ka->voff);
        }
        static const char *const tls_keys[] = {"tls.certFile", "certFile", "cert",
                                               "tls.keyFile",  "keyFile",  "key",
                                               "tls.caFile",   "caFile",   "ca"};
        for (size_t i = 0; i < sizeof tls_keys / sizeof tls_keys[0]; i++)
            cmd_md_del(&m, tls_keys[i]);
    }

    const char *v = cmd_get_string(&s0, buf, sizeof buf, &kv, "dns", NULL, NULL);
    if (v[0])
        cmd_md_set_split(&m, "dns", v, kv->koff, kv->voff);
    v = cmd_get_string(&s0, buf, sizeof buf, &kv, "interface", NULL, NULL);
    if (v[0]) {
        cmd_md_set_str(&m, "service.interface", v, kv->koff, kv->voff);
        cmd_md_del(&m, "interface");
    }
    int64_t iv = cmd_get_int(&s0, &kv, "so_mark", NULL);
    if (iv > 0) {
        cmd_md_set_int(&m, "service.so_mark", iv, kv->koff, kv->voff);
        cmd_md_del(&m, "so_mark");
    }
    iv = cmd_get_int(&s0, &kv, "proxyProtocol", NULL);
    if (iv > 0) {
        cmd_md_set_int(&m, "service.proxyProtocol", iv, kv->koff, kv->voff);
        cmd_md_del(&m, "proxyProtocol");
    }
    v = cmd_get_string(&s0, buf, sizeof buf, &kv, "netns", NULL, NULL);
    if (v[0]) {
        cmd_md_set_str(&m, "service.netns", v, kv->koff, kv->voff);
        cmd_md_del(&m, "netns");
    }
    v = cmd_get_string(&s0, buf, sizeof buf, &kv, "netns.out", NULL, NULL);
    if (v[0]) {
        cmd_md_set_str(&m, "service.netns.out", v, kv->koff, kv->voff);
        cmd_md_del(&m, "netns.out");
    }

    cmd_parse_selector(&m, &sel);
    cmd_split_scopes(&m, scope_prefix, 3, NULL, 0, scope);
    bool auth_on_listener = strcmp(listener, "ssh") == 0 || strcmp(listener, "sshd") == 0;
    bool remote = cmd_is(listener, remote_listeners, 3);
    size_t soff = sp.url.scheme_off;

    for (size_t i = 0; i < sp.n_addrs; i++) {
        struct cmd_md h;
        struct cmd_svc_objs objs;
        char name[48];
        size_t aoff = sp.addrs[i].off;
        cmd_md_copy(&h, &scope[1]);
        snprintf(name, sizeof name, "service-%zu", c->n_services++);
        cmd_svc_objs_build(c, &h, &objs);

        struct cval *svc = cmd_map(c, aoff);
        cmd_put_str(c, svc, "name", name, aoff);
        if (sp.addrs[i].s[0])
            cmd_put_str(c, svc, "addr", sp.addrs[i].s, aoff);
        if (objs.admission)
            cmd_put_str(c, svc, "admission", objs.admission, aoff);
        if (objs.bypass)
            cmd_put_str(c, svc, "bypass", objs.bypass, aoff);
        if (objs.resolver)
            cmd_put_str(c, svc, "resolver", objs.resolver, aoff);
        if (objs.hosts)
            cmd_put_str(c, svc, "hosts", objs.hosts, aoff);
        if (objs.limiter)
            cmd_put_str(c, svc, "limiter", objs.limiter, aoff);
        if (objs.climiter)
            cmd_put_str(c, svc, "climiter", objs.climiter, aoff);
        if (objs.rlimiter)
            cmd_put_str(c, svc, "rlimiter", objs.rlimiter, aoff);

        struct cval *hd = cmd_map(c, soff);
        cmd_put_str(c, hd, "type", handler, soff);
        if (objs.retries > 0)
            cmd_put_int(c, hd, "retries", objs.retries, objs.retries_off);
        if (has_chain && !remote)
            cmd_put_str(c, hd, "chain", "chain-0", soff);
        if (auth.set && !auth_on_listener)
            cmd_put(hd, "auth", cmd_auth_cval(c, &auth));
        struct cval *md = cmd_md_cval(c, &h);
        if (md)
            cmd_put(hd, "metadata", md);
        cmd_put(svc, "handler", hd);

        struct cval *ln = cmd_map(c, soff);
        cmd_put_str(c, ln, "type", listener, soff);
        if (has_chain && remote)
            cmd_put_str(c, ln, "chain", "chain-0", soff);
        if (auth.set && auth_on_listener)
            cmd_put(ln, "auth", cmd_auth_cval(c, &auth));
        if (tls)
            cmd_put(ln, "tls", cval_dup(tls));
        md = cmd_md_cval(c, &scope[2]);
        if (md)
            cmd_put(ln, "metadata", md);
        cmd_put(svc, "listener", ln);

        /* forwarder: one service takes every target; otherwise one shared target, or the
         * i-th target for the i-th port (services beyond the targets get none) */
        size_t t0 = 0, tn = 0;
        if (n_targets > 0) {
            if (sp.n_addrs == 1)
                tn = n_targets;
            else if (n_targets == 1)
                tn = 1;
            else if (i < n_targets) {
                t0 = i;
                tn = 1;
            }
        }
        if (tn > 0) {
            struct cval *fw = cmd_map(c, targets[t0].off);
            if (sel.set)
                cmd_put(fw, "selector", cmd_selector_cval(c, &sel));
            struct cval *nodes = cmd_list(c, targets[t0].off);
            for (size_t t = t0; t < t0 + tn; t++)
                cval_list_push(nodes, cmd_target_cval(c, &targets[t], t));
            cmd_put(fw, "nodes", nodes);
            cmd_put(svc, "forwarder", fw);
        }
        md = cmd_md_cval(c, &scope[0]);
        if (md)
            cmd_put(svc, "metadata", md);
        cval_list_push(c->services, svc);
        cmd_svc_objs_free(&objs);
        cmd_md_free(&h);
    }

out:
    cval_free(tls);
    free(sel.strategy);
    cmd_auth_free(&auth);
    cmd_md_free(&m);
    cmd_md_free(&s0);
    for (size_t i = 0; i < 3; i++)
        cmd_md_free(&scope[i]);
    url_spec_free(&sp);
    return rc;
}

/* ---- entry points -------------------------------------------------------------------------- */

static const char *cmd_label(const char *flag, size_t i)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%s[%zu]", flag, i);
    return cval_intern(buf);
}

int cmdline_build_opts(const char *const *L, size_t nL, const char *const *F, size_t nF,
                       const struct cmdline_opts *opts, struct cval **out, char *err, size_t errlen)
{
    struct cmd_ctx c;
    int rc = 0;
    memset(&c, 0, sizeof c);
    c.err = err;
    c.errlen = errlen;
    c.target_prefix = opts && opts->target_prefix ? opts->target_prefix : "";
    c.max_nodes = opts && opts->max_nodes ? opts->max_nodes : CMDLINE_MAX_NODES;
    if (err && errlen)
        err[0] = '\0';
    *out = NULL;

    c.file = nL > 0 ? cmd_label("-L", 0) : nF > 0 ? cmd_label("-F", 0) : cval_intern("-L");
    struct cval *root = cmd_map(&c, URL_NOPOS);
    c.services = cmd_list(&c, URL_NOPOS);
    c.chains = cmd_list(&c, URL_NOPOS);
    c.admissions = cmd_list(&c, URL_NOPOS);
    c.bypasses = cmd_list(&c, URL_NOPOS);
    c.resolvers = cmd_list(&c, URL_NOPOS);
    c.hosts = cmd_list(&c, URL_NOPOS);
    c.limiters = cmd_list(&c, URL_NOPOS);
    c.climiters = cmd_list(&c, URL_NOPOS);
    c.rlimiters = cmd_list(&c, URL_NOPOS);

    if (nF > 0) {
        c.file = cmd_label("-F", 0);
        struct cval *chain = cmd_map(&c, 0);
        cmd_put_str(&c, chain, "name", "chain-0", 0);
        struct cval *hops = cmd_list(&c, 0);
        cmd_put(chain, "hops", hops);
        cval_list_push(c.chains, chain);
        for (size_t i = 0; i < nF && rc == 0; i++) {
            c.file = cmd_label("-F", i);
            rc = cmd_build_hop(&c, i, F[i] ? F[i] : "", hops);
        }
    }
    for (size_t i = 0; i < nL && rc == 0; i++) {
        c.file = cmd_label("-L", i);
        rc = cmd_build_services(&c, L[i] ? L[i] : "", nF > 0);
    }

    struct {
        const char *key;
        struct cval **list;
    } tops[] = {
        {"services", &c.services}, {"chains", &c.chains},       {"admissions", &c.admissions},
        {"bypasses", &c.bypasses}, {"resolvers", &c.resolvers}, {"hosts", &c.hosts},
        {"limiters", &c.limiters}, {"climiters", &c.climiters}, {"rlimiters", &c.rlimiters},
    };
    for (size_t i = 0; i < sizeof tops / sizeof tops[0]; i++) {
        struct cval *l = *tops[i].list;
        if (rc == 0 && (l->u.list.n > 0 || l == c.services))
            cmd_put(root, tops[i].key, l);
        else
            cval_free(l);
    }
    if (rc != 0) {
        cval_free(root);
        return rc;
    }
    *out = root;
    return 0;
}

int cmdline_build(const char *const *L, size_t nL, const char *const *F, size_t nF,
                  struct cval **out, char *err, size_t errlen)
{
    return cmdline_build_opts(L, nL, F, nF, NULL, out, err, errlen);
}
