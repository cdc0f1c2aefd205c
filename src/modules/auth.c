/* auth: authers (user tables with optional reloaded file, groups), their config builders and the
 * client-side credential lookup. Contract in auth.h, user docs in docs/auth.md. */
#include "modules/auth.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "config/schema.h"
#include "core/clock.h"
#include "core/fiber.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/xmalloc.h"

#define AUTH_FILE_MAX       (16u << 20) /* bytes read from a users file */
#define AUTH_RELOAD_MIN_MS  1000        /* GOST: reload period below 1 s counts as 1 s */
#define AUTH_RELOAD_WAIT_MS 5000        /* longest an authentication waits for a file reload */
#define AUTH_DIGEST_LEN     32

/* ---- (user, password) lists parsed from config and files ---------------------------------- */

struct auth_kv {
    char *user;
    char *pass;
};

struct auth_kvs {
    struct auth_kv *v;
    size_t n, cap;
};

static void auth_kvs_push(struct auth_kvs *l, const char *user, size_t ulen, const char *pass,
                          size_t plen)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n].user = xstrndup(user, ulen);
    l->v[l->n].pass = xstrndup(pass, plen);
    l->n++;
}

static void auth_kvs_free(struct auth_kvs *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].user);
        free(l->v[i].pass);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

static bool auth_is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' || ch == '\f';
}

/* Parse "user pass" lines (GOST: tabs count as spaces, surrounding blanks trimmed, lines starting
 * with '#' and blank lines skipped, the password is the trimmed rest after the first blank, a
 * line with only a user gives an empty password). Lines with a field longer than AUTH_FIELD_MAX
 * or a NUL byte are skipped. Stops after `max` entries (0 = no limit). */
static void auth_parse_lines(const char *text, size_t len, size_t max, struct auth_kvs *out)
{
    size_t pos = 0;
    while (pos < len && (max == 0 || out->n < max)) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - line) : len - pos;
        pos += llen + (nl ? 1 : 0);
        if (memchr(line, '\0', llen))
            continue;
        size_t b = 0, e = llen;
        while (b < e && auth_is_space(line[b]))
            b++;
        while (e > b && auth_is_space(line[e - 1]))
            e--;
        if (b == e || line[b] == '#')
            continue;
        size_t u = b;
        while (u < e && !auth_is_space(line[u]))
            u++;
        size_t p = u;
        while (p < e && auth_is_space(line[p]))
            p++;
        if (u - b > AUTH_FIELD_MAX || e - p > AUTH_FIELD_MAX)
            continue;
        auth_kvs_push(out, line + b, u - b, line + p, e - p);
    }
}

/* Read a whole (bounded) file: 0 with *text (NUL-terminated, caller frees) and *len, or -errno
 * (-EFBIG over AUTH_FILE_MAX). Plain libc: safe on helper threads. */
static int auth_read_file(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > AUTH_FILE_MAX) {
                free(buf);
                fclose(f);
                return -EFBIG;
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        size_t r = fread(buf + n, 1, cap - 1 - n, f);
        n += r;
        if (r == 0)
            break;
    }
    int err = ferror(f) ? -EIO : 0;
    fclose(f);
    if (err == 0 && n > AUTH_FILE_MAX)
        err = -EFBIG;
    if (err < 0) {
        free(buf);
        return err;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

static int auth_load_file(const char *path, size_t max, struct auth_kvs *out)
{
    char *text = NULL;
    size_t len = 0;
    int rc = auth_read_file(path, &text, &len);
    if (rc < 0)
        return rc;
    auth_parse_lines(text, len, max, out);
    free(text);
    return 0;
}

/* ---- immutable, refcounted user tables ---------------------------------------------------- */

struct auth_entry {
    char *user;
    bool any_pass; /* empty password in config: every password is accepted (GOST) */
    unsigned char digest[AUTH_DIGEST_LEN];
};

struct auth_table {
    atomic_int refs;
    size_t n;
    struct auth_entry *e; /* sorted by user, unique */
};

static void auth_digest(const char *s, size_t n, unsigned char out[AUTH_DIGEST_LEN])
{
    unsigned int olen = 0;
    if (!EVP_Digest(s, n, out, &olen, EVP_sha256(), NULL) || olen != AUTH_DIGEST_LEN)
        abort(); /* cannot happen with a working libcrypto */
}

static int auth_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct auth_entry *)a)->user, ((const struct auth_entry *)b)->user);
}

struct auth_sort_item {
    const struct auth_kv *kv;
    size_t idx;
};

static int auth_sort_cmp(const void *a, const void *b)
{
    const struct auth_sort_item *x = a, *y = b;
    int c = strcmp(x->kv->user, y->kv->user);
    if (c)
        return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Table from the entries of lists[0..nl) in order; a later entry for the same user wins (GOST:
 * file users override inline ones). Empty user names are skipped. */
static struct auth_table *auth_table_new(const struct auth_kvs *const *lists, size_t nl)
{
    size_t total = 0;
    for (size_t i = 0; i < nl; i++)
        total += lists[i]->n;
    struct auth_sort_item *items = xcalloc(total ? total : 1, sizeof *items);
    size_t k = 0;
    for (size_t i = 0; i < nl; i++)
        for (size_t j = 0; j < lists[i]->n; j++)
            if (lists[i]->v[j].user[0]) {
                items[k].kv = &lists[i]->v[j];
                items[k].idx = k;
                k++;
            }
    qsort(items, k, sizeof *items, auth_sort_cmp);

    struct auth_table *t = xcalloc(1, sizeof *t);
    atomic_init(&t->refs, 1);
    t->e = xcalloc(k ? k : 1, sizeof *t->e);
    for (size_t i = 0; i < k; i++) {
        if (i + 1 < k && strcmp(items[i].kv->user, items[i + 1].kv->user) == 0)
            continue; /* keep the last of equal users */
        struct auth_entry *e = &t->e[t->n++];
        const char *pass = items[i].kv->pass;
        e->user = xstrdup(items[i].kv->user);
        e->any_pass = pass[0] == '\0';
        auth_digest(pass, strlen(pass), e->digest);
    }
    free(items);
    return t;
}

static void auth_table_put(struct auth_table *t)
{
    if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    for (size_t i = 0; i < t->n; i++) {
        OPENSSL_cleanse(t->e[i].digest, sizeof t->e[i].digest);
        free(t->e[i].user);
    }
    free(t->e);
    free(t);
}

static bool auth_table_check(const struct auth_table *t, const char *user, const char *pass)
{
    if (t->n == 0)
        return false; /* GOST: an empty table rejects everyone */
    size_t plen = strlen(pass);
    if (strlen(user) > AUTH_FIELD_MAX || plen > AUTH_FIELD_MAX)
        return false;
    struct auth_entry key = {.user = (char *)user};
    const struct auth_entry *e = bsearch(&key, t->e, t->n, sizeof *t->e, auth_entry_cmp);
    unsigned char d[AUTH_DIGEST_LEN];
    auth_digest(pass, plen, d);
    bool ok = e && (e->any_pass || CRYPTO_memcmp(d, e->digest, sizeof d) == 0);
    OPENSSL_cleanse(d, sizeof d);
    return ok;
}

/* ---- authers ------------------------------------------------------------------------------ */

enum auther_kind { AUTHER_TABLE, AUTHER_GROUP };

struct auther {
    enum auther_kind kind;
    char *name; /* NULL for a handler's single `auth` */
    /* AUTHER_TABLE */
    pthread_mutex_t mu; /* guards `table` (pointer load + ref, swap) */
    struct auth_table *table;
    struct auth_kvs inline_kvs; /* the config's auths, merged under each reloaded file */
    char *file;                 /* users file, NULL if none */
    int64_t reload_ms;          /* 0 = never reload */
    _Atomic int64_t next_reload;
    atomic_bool reloading;
    atomic_uint reloads;
    int64_t (*now_ms)(void);
    /* AUTHER_GROUP */
    struct auther **members;
    size_t n_members;
};

static struct auther *auther_new_table(const char *name, struct auth_kvs *inline_kvs,
                                       const struct auth_kvs *file_kvs)
{
    struct auther *a = xcalloc(1, sizeof *a);
    a->kind = AUTHER_TABLE;
    a->name = name ? xstrdup(name) : NULL;
    pthread_mutex_init(&a->mu, NULL);
    a->inline_kvs = *inline_kvs;
    memset(inline_kvs, 0, sizeof *inline_kvs);
    const struct auth_kvs *lists[2] = {&a->inline_kvs, file_kvs};
    a->table = auth_table_new(lists, file_kvs ? 2 : 1);
    atomic_init(&a->next_reload, 0);
    atomic_init(&a->reloading, false);
    atomic_init(&a->reloads, 0);
    return a;
}

static struct auth_table *auther_table_get(struct auther *a)
{
    pthread_mutex_lock(&a->mu);
    struct auth_table *t = a->table;
    atomic_fetch_add(&t->refs, 1);
    pthread_mutex_unlock(&a->mu);
    return t;
}

static void auther_table_swap(struct auther *a, struct auth_table *t)
{
    pthread_mutex_lock(&a->mu);
    struct auth_table *old = a->table;
    a->table = t;
    pthread_mutex_unlock(&a->mu);
    auth_table_put(old);
}

/* A file read on a helper thread: shared by the helper and the waiting fiber (pool.h). */
struct auth_reload_job {
    atomic_int refs;
    char *path;
    int rc;
    struct auth_kvs kvs;
};

static void auth_reload_job_put(struct auth_reload_job *j)
{
    if (atomic_fetch_sub(&j->refs, 1) != 1)
        return;
    free(j->path);
    auth_kvs_free(&j->kvs);
    free(j);
}

static void auth_reload_job_fn(void *arg)
{
    struct auth_reload_job *j = arg;
    j->rc = auth_load_file(j->path, 0, &j->kvs);
    auth_reload_job_put(j);
}

static void auther_log_reload_failure(const struct auther *a, int rc)
{
    struct log_field f[] = {LOG_FIELD_STR("kind", "auther"), LOG_FIELD_STR("auther", a->name)};
    struct log_ctx ctx = LOG_CTX(NULL, f);
    LOG(LOG_WARN, &ctx, "reload %s: %s (keeping the previous users)", a->file, strerror(-rc));
}

/* Re-read the file if its period has elapsed and no other caller is doing it. */
static void auther_maybe_reload(struct auther *a)
{
    if (!a->file || a->reload_ms <= 0)
        return;
    int64_t now = a->now_ms ? a->now_ms() : clock_now_ms();
    if (now < atomic_load(&a->next_reload))
        return;
    bool expected = false;
    if (!atomic_compare_exchange_strong(&a->reloading, &expected, true))
        return;
    atomic_store(&a->next_reload, now + a->reload_ms);

    struct auth_reload_job *j = xcalloc(1, sizeof *j);
    j->path = xstrdup(a->file);
    int rc;
    if (fiber_self()) {
        atomic_init(&j->refs, 2);
        rc = pool_call_deadline(auth_reload_job_fn, j, deadline_in(AUTH_RELOAD_WAIT_MS));
        if (rc == 0)
            rc = j->rc;
    } else {
        atomic_init(&j->refs, 2);
        auth_reload_job_fn(j);
        rc = j->rc;
    }
    if (rc == 0) {
        const struct auth_kvs *lists[2] = {&a->inline_kvs, &j->kvs};
        auther_table_swap(a, auth_table_new(lists, 2));
        atomic_fetch_add(&a->reloads, 1);
    } else {
        auther_log_reload_failure(a, rc);
    }
    auth_reload_job_put(j);
    atomic_store(&a->reloading, false);
}

bool auther_authenticate(const struct auther *ca, const char *user, const char *pass,
                         const char *client_addr, char *id_out, size_t idlen)
{
    /* The auther is logically const: only its table cache and reload state change. */
    struct auther *a = (struct auther *)ca;
    if (id_out && idlen)
        id_out[0] = '\0';
    if (!a)
        return true;
    user = user ? user : "";
    pass = pass ? pass : "";
    bool ok = false;
    if (a->kind == AUTHER_GROUP) {
        for (size_t i = 0; i < a->n_members && !ok; i++)
            ok = auther_authenticate(a->members[i], user, pass, client_addr, id_out, idlen);
        return ok;
    }
    auther_maybe_reload(a);
    struct auth_table *t = auther_table_get(a);
    ok = auth_table_check(t, user, pass);
    auth_table_put(t);
    if (ok && id_out && idlen)
        snprintf(id_out, idlen, "%s", user);
    if (log_enabled(LOG_DEBUG)) {
        struct log_field f[] = {LOG_FIELD_STR("kind", "auther"), LOG_FIELD_STR("auther", a->name),
                                LOG_FIELD_STR("client", client_addr)};
        struct log_ctx ctx = LOG_CTX(NULL, f);
        LOG(LOG_DEBUG, &ctx, "authenticate user %s: %s", user, ok ? "ok" : "denied");
    }
    return ok;
}

void auther_free(struct auther *a)
{
    if (!a)
        return;
    if (a->kind == AUTHER_GROUP) {
        for (size_t i = 0; i < a->n_members; i++)
            auther_free(a->members[i]);
        free(a->members);
    } else {
        auth_table_put(a->table);
        pthread_mutex_destroy(&a->mu);
        auth_kvs_free(&a->inline_kvs);
        free(a->file);
    }
    free(a->name);
    free(a);
}

void auther_set_clock(struct auther *a, int64_t (*now_ms)(void))
{
    if (a->kind == AUTHER_GROUP) {
        for (size_t i = 0; i < a->n_members; i++)
            auther_set_clock(a->members[i], now_ms);
        return;
    }
    a->now_ms = now_ms;
    if (a->reload_ms > 0)
        atomic_store(&a->next_reload, (now_ms ? now_ms() : clock_now_ms()) + a->reload_ms);
}

unsigned auther_reload_count(const struct auther *a)
{
    if (a->kind == AUTHER_GROUP) {
        unsigned n = 0;
        for (size_t i = 0; i < a->n_members; i++)
            n += auther_reload_count(a->members[i]);
        return n;
    }
    return atomic_load(&((struct auther *)a)->reloads);
}

/* ---- builders ----------------------------------------------------------------------------- */

static const char *auth_nonempty(const char *s)
{
    return s && s[0] ? s : NULL;
}

int auth_build_named(const struct cfg_auther *cfg, struct auther **out, struct cfg_errs *errs)
{
    *out = NULL;
    const char *name = cfg->name ? cfg->name : "";
    int bad = 0;
    static const char *const unsupported[] = {"redis", "http", "plugin"};
    const void *present[] = {cfg->redis, cfg->http, cfg->plugin};
    for (size_t i = 0; i < 3; i++) {
        if (present[i]) {
            cfg_errs_add(errs, cfg_pos_of(cfg->node, unsupported[i]),
                         "auther \"%s\": %s source is not supported yet", name, unsupported[i]);
            bad = 1;
        }
    }
    if (cfg->reload < 0) {
        cfg_errs_add(errs, cfg_pos_of(cfg->node, "reload"),
                     "auther \"%s\": reload period must not be negative", name);
        bad = 1;
    }

    struct auth_kvs inl = {0}, filekv = {0};
    for (size_t i = 0; i < cfg->n_auths; i++) {
        const struct cfg_auth *au = cfg->auths[i];
        if (!au || !auth_nonempty(au->username))
            continue; /* GOST skips entries without a user name */
        const char *pass = au->password ? au->password : "";
        if (strlen(au->username) > AUTH_FIELD_MAX || strlen(pass) > AUTH_FIELD_MAX) {
            cfg_errs_add(errs, au->pos, "auther \"%s\": user name or password longer than %d", name,
                         AUTH_FIELD_MAX);
            bad = 1;
            continue;
        }
        auth_kvs_push(&inl, au->username, strlen(au->username), pass, strlen(pass));
    }
    const char *path = cfg->file ? auth_nonempty(cfg->file->path) : NULL;
    if (path) {
        int rc = auth_load_file(path, 0, &filekv);
        if (rc < 0) {
            cfg_errs_add(errs, cfg_pos_of(cfg->file->node, "path"),
                         "auther \"%s\": cannot read users file %s: %s", name, path, strerror(-rc));
            bad = 1;
        }
    }
    if (bad) {
        auth_kvs_free(&inl);
        auth_kvs_free(&filekv);
        return -EINVAL;
    }
    struct auther *a = auther_new_table(name, &inl, path ? &filekv : NULL);
    auth_kvs_free(&filekv);
    if (path && cfg->reload > 0) {
        a->file = xstrdup(path);
        int64_t ms = cfg->reload / 1000000;
        a->reload_ms = ms < AUTH_RELOAD_MIN_MS ? AUTH_RELOAD_MIN_MS : ms;
        /* The build just read the file: the first reload is due one period from now. */
        atomic_store(&a->next_reload, clock_now_ms() + a->reload_ms);
    }
    *out = a;
    return 0;
}

static const struct cfg_auther *auth_find(const struct cfg *root, const char *name)
{
    for (size_t i = 0; root && i < root->n_authers; i++)
        if (root->authers[i] && root->authers[i]->name && strcmp(root->authers[i]->name, name) == 0)
            return root->authers[i];
    return NULL;
}

/* Position of item i of the list under `key` in node (the key's position if not a list). */
static struct cval_pos auth_list_item_pos(const struct cval *node, const char *key, size_t i)
{
    const struct cval *l = node ? cval_map_get_ci(node, key) : NULL;
    if (l && l->kind == CVAL_LIST && i < l->u.list.n && l->u.list.items[i])
        return l->u.list.items[i]->pos;
    return cfg_pos_of(node, key);
}

int auth_build(const char *auther, char *const *authers, size_t n_authers,
               const struct cfg_auth *auth, const struct cfg *root, const struct cval *node,
               const char *what, struct auther **out, struct cfg_errs *errs)
{
    *out = NULL;
    size_t nnames = 0, cap = n_authers + 1;
    struct auther **members = xcalloc(cap, sizeof *members);
    int bad = 0;
    for (size_t i = 0; i < n_authers + 1; i++) {
        const char *name = i == 0 ? auther : authers[i - 1];
        if (!auth_nonempty(name))
            continue;
        struct cval_pos pos =
            i == 0 ? cfg_pos_of(node, "auther") : auth_list_item_pos(node, "authers", i - 1);
        const struct cfg_auther *ac = auth_find(root, name);
        if (!ac) {
            cfg_errs_add(errs, pos, "%s: unknown auther \"%s\"", what, name);
            bad = 1;
            continue;
        }
        struct auther *m;
        if (auth_build_named(ac, &m, errs) < 0) {
            bad = 1;
            continue;
        }
        members[nnames++] = m;
    }
    if (!bad && nnames == 0 && auth) {
        if (auth_nonempty(auth->file)) {
            cfg_errs_add(errs, cfg_pos_of(auth->node, "file"),
                         "%s: auth.file is only read by clients (connector/dialer); use a named "
                         "auther with a users file to authenticate clients here",
                         what);
            bad = 1;
        } else if (auth_nonempty(auth->username)) {
            const char *pass = auth->password ? auth->password : "";
            if (strlen(auth->username) > AUTH_FIELD_MAX || strlen(pass) > AUTH_FIELD_MAX) {
                cfg_errs_add(errs, auth->pos, "%s: user name or password longer than %d", what,
                             AUTH_FIELD_MAX);
                bad = 1;
            } else {
                struct auth_kvs kv = {0};
                auth_kvs_push(&kv, auth->username, strlen(auth->username), pass, strlen(pass));
                members[nnames++] = auther_new_table(NULL, &kv, NULL);
                auth_kvs_free(&kv);
            }
        }
    }
    if (bad) {
        for (size_t i = 0; i < nnames; i++)
            auther_free(members[i]);
        free(members);
        return -EINVAL;
    }
    if (nnames == 0) {
        free(members);
    } else if (nnames == 1) {
        *out = members[0];
        free(members);
    } else {
        struct auther *g = xcalloc(1, sizeof *g);
        g->kind = AUTHER_GROUP;
        g->members = members;
        g->n_members = nnames;
        *out = g;
    }
    return 0;
}

int auth_build_for_handler(const struct cfg_handler *h, const struct cfg *root, struct auther **out,
                           struct cfg_errs *errs)
{
    return auth_build(h->auther, h->authers, h->n_authers, h->auth, root, h->node, "handler", out,
                      errs);
}

int auth_build_for_listener(const struct cfg_listener *l, const struct cfg *root,
                            struct auther **out, struct cfg_errs *errs)
{
    return auth_build(l->auther, l->authers, l->n_authers, l->auth, root, l->node, "listener", out,
                      errs);
}

/* ---- client side -------------------------------------------------------------------------- */

static int auth_copy(char *dst, size_t dl, const char *src)
{
    size_t n = strlen(src);
    if (n >= dl)
        return -ENAMETOOLONG;
    memcpy(dst, src, n + 1);
    return 0;
}

int auth_client_creds(const struct cfg_auth *a, char *user, size_t ul, char *pass, size_t pl)
{
    if (ul)
        user[0] = '\0';
    if (pl)
        pass[0] = '\0';
    if (!a)
        return 0;
    const char *u = a->username, *p = a->password;
    struct auth_kvs kv = {0};
    if (auth_nonempty(a->file) && auth_load_file(a->file, 1, &kv) == 0 && kv.n > 0) {
        u = kv.v[0].user;
        p = kv.v[0].pass;
    }
    int rc = 0;
    if (auth_nonempty(u)) {
        rc = auth_copy(user, ul, u);
        if (rc == 0)
            rc = auth_copy(pass, pl, p ? p : "");
        if (rc == 0)
            rc = 1;
        else if (ul)
            user[0] = '\0';
        if (rc < 0 && pl)
            pass[0] = '\0';
    }
    auth_kvs_free(&kv);
    return rc;
}
