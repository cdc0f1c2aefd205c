/* cval: implementation of the position-carrying value tree (contract in cval.h). */
#include "config/cval.h"
#include "core/xmalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cval *cval_new(enum cval_kind kind, struct cval_pos pos)
{
    struct cval *v = xcalloc(1, sizeof(*v));
    v->kind = kind;
    v->pos = pos;
    return v;
}

struct cval *cval_new_str(const char *s, struct cval_pos pos)
{
    struct cval *v = cval_new(CVAL_STR, pos);
    v->str = xstrdup(s ? s : "");
    return v;
}

struct cval *cval_new_int(int64_t i, struct cval_pos pos)
{
    char buf[32];
    struct cval *v = cval_new(CVAL_INT, pos);
    snprintf(buf, sizeof(buf), "%lld", (long long)i);
    v->str = xstrdup(buf);
    v->u.i = i;
    return v;
}

struct cval *cval_new_bool(bool b, struct cval_pos pos)
{
    struct cval *v = cval_new(CVAL_BOOL, pos);
    v->str = xstrdup(b ? "true" : "false");
    v->u.b = b;
    return v;
}

void cval_list_push(struct cval *list, struct cval *item)
{
    if (list->u.list.n == list->u.list.cap) {
        size_t cap = list->u.list.cap ? list->u.list.cap * 2 : 4;
        list->u.list.items = xrealloc(list->u.list.items, cap * sizeof(*list->u.list.items));
        list->u.list.cap = cap;
    }
    list->u.list.items[list->u.list.n++] = item;
}

struct cval *cval_map_set(struct cval *map, const char *key, struct cval_pos key_pos,
                          struct cval *val)
{
    for (size_t i = 0; i < map->u.map.n; i++) {
        struct cval_entry *e = &map->u.map.ents[i];
        if (strcmp(e->key, key) == 0) {
            cval_free(e->val);
            e->val = val;
            e->key_pos = key_pos;
            return val;
        }
    }
    if (map->u.map.n == map->u.map.cap) {
        size_t cap = map->u.map.cap ? map->u.map.cap * 2 : 4;
        map->u.map.ents = xrealloc(map->u.map.ents, cap * sizeof(*map->u.map.ents));
        map->u.map.cap = cap;
    }
    struct cval_entry *e = &map->u.map.ents[map->u.map.n++];
    e->key = xstrdup(key);
    e->key_pos = key_pos;
    e->val = val;
    return val;
}

struct cval *cval_map_get(const struct cval *map, const char *key)
{
    if (!map || map->kind != CVAL_MAP)
        return NULL;
    for (size_t i = 0; i < map->u.map.n; i++)
        if (strcmp(map->u.map.ents[i].key, key) == 0)
            return map->u.map.ents[i].val;
    return NULL;
}

struct cval *cval_map_get_ci(const struct cval *map, const char *key)
{
    if (!map || map->kind != CVAL_MAP)
        return NULL;
    for (size_t i = 0; i < map->u.map.n; i++)
        if (strcasecmp(map->u.map.ents[i].key, key) == 0)
            return map->u.map.ents[i].val;
    return NULL;
}

bool cval_map_del(struct cval *map, const char *key)
{
    if (!map || map->kind != CVAL_MAP)
        return false;
    for (size_t i = 0; i < map->u.map.n; i++) {
        struct cval_entry *e = &map->u.map.ents[i];
        if (strcmp(e->key, key) == 0) {
            free(e->key);
            cval_free(e->val);
            memmove(e, e + 1, (map->u.map.n - i - 1) * sizeof(*e));
            map->u.map.n--;
            return true;
        }
    }
    return false;
}

struct cval *cval_dup(const struct cval *v)
{
    if (!v)
        return NULL;
    struct cval *d = cval_new(v->kind, v->pos);
    if (v->str)
        d->str = xstrdup(v->str);
    switch (v->kind) {
    case CVAL_LIST:
        for (size_t i = 0; i < v->u.list.n; i++)
            cval_list_push(d, cval_dup(v->u.list.items[i]));
        break;
    case CVAL_MAP:
        for (size_t i = 0; i < v->u.map.n; i++) {
            const struct cval_entry *e = &v->u.map.ents[i];
            /* Not cval_map_set: keep every entry even if a caller built duplicates. */
            if (d->u.map.n == d->u.map.cap) {
                size_t cap = d->u.map.cap ? d->u.map.cap * 2 : 4;
                d->u.map.ents = xrealloc(d->u.map.ents, cap * sizeof(*d->u.map.ents));
                d->u.map.cap = cap;
            }
            struct cval_entry *de = &d->u.map.ents[d->u.map.n++];
            de->key = xstrdup(e->key);
            de->key_pos = e->key_pos;
            de->val = cval_dup(e->val);
        }
        break;
    default:
        d->u = v->u;
        break;
    }
    return d;
}

void cval_free(struct cval *v)
{
    if (!v)
        return;
    if (v->kind == CVAL_LIST) {
        for (size_t i = 0; i < v->u.list.n; i++)
            cval_free(v->u.list.items[i]);
        free(v->u.list.items);
    } else if (v->kind == CVAL_MAP) {
        for (size_t i = 0; i < v->u.map.n; i++) {
            free(v->u.map.ents[i].key);
            cval_free(v->u.map.ents[i].val);
        }
        free(v->u.map.ents);
    }
    free(v->str);
    free(v);
}

const char *cval_text(const struct cval *v)
{
    if (!v || v->kind == CVAL_LIST || v->kind == CVAL_MAP || v->kind == CVAL_NULL)
        return NULL;
    return v->str;
}

/* Interned names: a mutex-protected singly linked list. Names are few (one per config source
 * or CLI argument), so a linear search is fine; entries live for the whole process. */
struct cval_interned {
    struct cval_interned *next;
    char name[];
};

static pthread_mutex_t cval_intern_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cval_interned *cval_intern_head;

const char *cval_intern(const char *name)
{
    if (!name)
        name = "";
    pthread_mutex_lock(&cval_intern_mu);
    for (struct cval_interned *it = cval_intern_head; it; it = it->next) {
        if (strcmp(it->name, name) == 0) {
            pthread_mutex_unlock(&cval_intern_mu);
            return it->name;
        }
    }
    size_t n = strlen(name) + 1;
    struct cval_interned *it = xcalloc(1, sizeof(*it) + n);
    memcpy(it->name, name, n);
    it->next = cval_intern_head;
    cval_intern_head = it;
    pthread_mutex_unlock(&cval_intern_mu);
    return it->name;
}
