/* Fuzz target: config text → cfg_load_string() → -O yaml and -O json, plus the round-trip
 * oracle: printing what was read, reading it back and printing again must give the same text
 * (aborts otherwise). Also runs the metadata getters over every service's metadata. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/emit.h"
#include "config/md.h"
#include "config/schema.h"

static char *fz_emit(const struct cfg *c, enum cfg_format fmt, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        abort();
    cfg_emit(c, f, fmt);
    fclose(f);
    return buf;
}

static void fz_check_round_trip(const char *text, size_t len, enum cfg_format fmt)
{
    struct cfg_errs e;
    cfg_errs_init(&e);
    struct cfg *c = NULL;
    const char *label = fmt == CFG_JSON ? "rt.json" : "rt.yaml";
    if (cfg_load_string(text, len, label, &c, &e) != 0) {
        fprintf(stderr, "round trip: output does not load back:\n%.*s\n", (int)len, text);
        cfg_errs_print(&e, stderr);
        abort();
    }
    size_t len2 = 0;
    char *again = fz_emit(c, fmt, &len2);
    if (len2 != len || memcmp(again, text, len) != 0) {
        fprintf(stderr, "round trip mismatch:\n--- first\n%.*s\n--- second\n%s\n", (int)len, text,
                again);
        abort();
    }
    free(again);
    cfg_free(c);
    cfg_errs_free(&e);
}

static void fz_md(const struct cval *md)
{
    static const char *const k1[] = {"ttl", "timeout", NULL};
    static const char *const k2[] = {"path", "ws.path", NULL};
    static const char *const k3[] = {"keepalive", NULL};
    static const char *const k4[] = {"dns", "hosts", NULL};
    struct cfg_errs e;
    cfg_errs_init(&e);
    int64_t ns;
    const char *s;
    bool b;
    char **v = NULL;
    size_t n;
    md_parse_duration(md, k1, &ns, &e);
    md_parse_str(md, k2, &s, &e);
    md_parse_bool(md, k3, &b, &e);
    md_get_int(md, k1, 0);
    md_get_float(md, k2, 0);
    if (md_parse_strings(md, k4, &v, &n, &e) == MD_OK)
        md_strings_free(v);
    md_get_map(md, k4);
    cfg_errs_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *label = size && (data[0] & 1) ? "fuzz.json" : "fuzz.yaml";
    struct cfg_errs e;
    cfg_errs_init(&e);
    struct cfg *c = NULL;
    if (cfg_load_string((const char *)data, size, label, &c, &e) == 0) {
        size_t ylen = 0, jlen = 0;
        char *y = fz_emit(c, CFG_YAML, &ylen);
        char *j = fz_emit(c, CFG_JSON, &jlen);
        for (size_t i = 0; i < c->n_services; i++) {
            fz_md(c->services[i]->metadata);
            if (c->services[i]->handler)
                fz_md(c->services[i]->handler->metadata);
        }
        cfg_free(c);
        fz_check_round_trip(y, ylen, CFG_YAML);
        fz_check_round_trip(j, jlen, CFG_JSON);
        free(y);
        free(j);
    } else {
        char buf[256];
        for (size_t i = 0; i < e.n; i++)
            cfg_err_format(&e.items[i], buf, sizeof(buf));
    }
    cfg_errs_free(&e);
    return 0;
}
