/* Fuzz target for config/url and config/cmdline: the input is parsed as a Go URL, as a GOST
 * -L and -F value, translated by cmdline_build as one -L and as one -F, and — when it holds
 * several lines — as a whole command line (lines starting with 'F' are -F values, the rest -L
 * values). Checks the error contract: either a tree or NULL with a positioned message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/cmdline.h"
#include "config/url.h"

static void fuzz_check(int rc, struct cval *out, const char *err)
{
    if (rc == 0) {
        if (!out || out->kind != CVAL_MAP)
            abort();
        cval_free(out);
        return;
    }
    if (out || (strncmp(err, "-L[", 3) != 0 && strncmp(err, "-F[", 3) != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > URL_MAX_LEN + 16)
        return 0;
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';

    /* the Go URL layer on the raw bytes (NULs included) */
    struct url u;
    char err[512];
    size_t eo;
    if (url_parse(s, size, &u, err, sizeof err, &eo) == 0) {
        char *ep = url_escaped_path(&u);
        char *hn = url_hostname(u.host);
        struct url_query q = {0};
        url_parse_query(u.raw_query, strlen(u.raw_query), 0, &q);
        url_query_free(&q);
        free(ep);
        free(hn);
        url_free(&u);
    }
    struct url_spec sp;
    if (url_spec_parse(s, size, URL_ROLE_SERVICE, &sp, err, sizeof err, &eo) == 0)
        url_spec_free(&sp);
    if (url_spec_parse(s, size, URL_ROLE_NODE, &sp, err, sizeof err, &eo) == 0)
        url_spec_free(&sp);

    /* command-line arguments are C strings: cut at the first NUL */
    struct cval *out = NULL;
    const char *one[1] = {s};
    const char *svc[1] = {":8080"};
    /* a low fan-out bound keeps executions fast (the bound's logic is the same) */
    struct cmdline_opts lo = {.max_nodes = 50000};
    int rc = cmdline_build_opts(one, 1, NULL, 0, &lo, &out, err, sizeof err);
    fuzz_check(rc, out, err);
    rc = cmdline_build_opts(svc, 1, one, 1, &lo, &out, err, sizeof err);
    fuzz_check(rc, out, err);

    size_t slen = strlen(s);
    if (memchr(s, '\n', slen)) {
        const char *L[16], *F[16];
        size_t nl = 0, nf = 0;
        char *save = NULL;
        for (char *line = strtok_r(s, "\n", &save); line && nl < 16 && nf < 16;
             line = strtok_r(NULL, "\n", &save)) {
            if (line[0] == 'F')
                F[nf++] = line + 1;
            else
                L[nl++] = line;
        }
        struct cmdline_opts o = {.target_prefix = "go-1@", .max_nodes = 50000};
        rc = cmdline_build_opts(L, nl, F, nf, &o, &out, err, sizeof err);
        fuzz_check(rc, out, err);
    }
    free(s);
    return 0;
}
