/* cfg_errs: bounded positioned error list (contract in cfg_err.h). */
#include "config/cfg_err.h"
#include "core/xmalloc.h"

#include <stdlib.h>
#include <string.h>

void cfg_errs_init(struct cfg_errs *e)
{
    memset(e, 0, sizeof(*e));
}

void cfg_errs_vadd(struct cfg_errs *e, struct cval_pos pos, const char *fmt, va_list ap)
{
    if (!e)
        return;
    if (e->n >= CFG_ERRS_MAX) {
        e->dropped++;
        return;
    }
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0 || !msg) {
        fputs("gost: out of memory\n", stderr);
        abort();
    }
    e->items[e->n].pos = pos;
    e->items[e->n].msg = msg;
    e->n++;
}

void cfg_errs_add(struct cfg_errs *e, struct cval_pos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cfg_errs_vadd(e, pos, fmt, ap);
    va_end(ap);
}

size_t cfg_errs_count(const struct cfg_errs *e)
{
    return e ? e->n + e->dropped : 0;
}

int cfg_err_format(const struct cfg_err *err, char *buf, size_t len)
{
    const struct cval_pos *p = &err->pos;
    if (p->file && p->line > 0 && p->col > 0)
        return snprintf(buf, len, "%s:%d:%d: %s", p->file, p->line, p->col, err->msg);
    if (p->file && p->line > 0)
        return snprintf(buf, len, "%s:%d: %s", p->file, p->line, err->msg);
    if (p->file && *p->file)
        return snprintf(buf, len, "%s: %s", p->file, err->msg);
    return snprintf(buf, len, "%s", err->msg);
}

void cfg_errs_print(const struct cfg_errs *e, FILE *out)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++) {
        char small[512];
        int need = cfg_err_format(&e->items[i], small, sizeof(small));
        if (need < 0)
            continue;
        if ((size_t)need < sizeof(small)) {
            fprintf(out, "%s\n", small);
        } else {
            char *big = xmalloc((size_t)need + 1);
            cfg_err_format(&e->items[i], big, (size_t)need + 1);
            fprintf(out, "%s\n", big);
            free(big);
        }
    }
    if (e->dropped)
        fprintf(out, "... and %zu more error%s\n", e->dropped, e->dropped == 1 ? "" : "s");
}

void cfg_errs_free(struct cfg_errs *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++)
        free(e->items[i].msg);
    memset(e, 0, sizeof(*e));
}
