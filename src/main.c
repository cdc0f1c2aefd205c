/* gost: flags → config → run (DESIGN §6).
 *
 * Flags follow GOST's (Go flag package: "-L x", "-L=x", "--L x"):
 *   -L url   add a service (repeatable)        -F url   add a hop to chain-0 (repeatable)
 *   -C src   config file, "-" for stdin, or inline JSON '{...}' (repeatable; merged in order)
 *   -O fmt   print the merged config as yaml|json and exit
 *   -D / -DD log level debug / trace           -V       print the version and the types
 *   -api addr, -metrics addr                   recognised; refused as not supported yet
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "config/cmdline.h"
#include "config/emit.h"
#include "config/schema.h"
#include "core/log.h"
#include "core/sched.h"
#include "core/xmalloc.h"
#include "service/build.h"
#include "service/component.h"
#include "service/service.h"

struct args {
    const char **L, **F, **C;
    size_t nL, nF, nC;
    const char *O, *api, *metrics;
    bool debug, trace, version, help;
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: gost [-L url]... [-F url]... [-C file|-|json]... [-O yaml|json] [-D|-DD] "
               "[-V]\n"
               "  -L  service, e.g. -L tcp://:8080/127.0.0.1:80 or -L udp://:5353/1.1.1.1:53\n"
               "  -F  chain hop, e.g. -F forward://10.0.0.2:9000\n"
               "  -C  configuration file (YAML or JSON), '-' for stdin, or inline JSON\n"
               "  -O  print the resulting configuration (yaml or json) and exit\n"
               "  -D  debug log level (-DD: trace)\n"
               "  -V  print the version and the compiled-in component types\n");
}

static void push(const char ***v, size_t *n, const char *s)
{
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = s;
}

/* Go flag semantics: one or two dashes, "-x value" or "-x=value"; parsing stops at the first
 * non-flag argument or "--". Returns 0, or -1 after printing an error. */
static int parse_args(int argc, char **argv, struct args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0 || arg[0] != '-' || arg[1] == '\0') {
            if (strcmp(arg, "--") == 0 && i + 1 < argc) {
                fprintf(stderr, "gost: '--' (several worker processes) is not supported yet\n");
                return -1;
            }
            if (strcmp(arg, "--") != 0) {
                fprintf(stderr, "gost: unexpected argument \"%s\"\n", arg);
                return -1;
            }
            break;
        }
        const char *name = arg + 1;
        if (*name == '-')
            name++;
        char key[16];
        const char *eq = strchr(name, '=');
        size_t klen = eq ? (size_t)(eq - name) : strlen(name);
        if (klen == 0 || klen >= sizeof key) {
            fprintf(stderr, "gost: bad flag syntax: %s\n", arg);
            return -1;
        }
        memcpy(key, name, klen);
        key[klen] = '\0';
        bool *bflag = NULL;
        if (strcmp(key, "D") == 0)
            bflag = &a->debug;
        else if (strcmp(key, "DD") == 0)
            bflag = &a->trace;
        else if (strcmp(key, "V") == 0)
            bflag = &a->version;
        else if (strcmp(key, "h") == 0 || strcmp(key, "help") == 0)
            bflag = &a->help;
        if (bflag) {
            *bflag = !eq || strcmp(eq + 1, "true") == 0 || strcmp(eq + 1, "1") == 0;
            continue;
        }
        const char *val = eq ? eq + 1 : NULL;
        if (!val) {
            if (i + 1 >= argc) {
                fprintf(stderr, "gost: flag needs an argument: -%s\n", key);
                return -1;
            }
            val = argv[++i];
        }
        if (strcmp(key, "L") == 0)
            push(&a->L, &a->nL, val);
        else if (strcmp(key, "F") == 0)
            push(&a->F, &a->nF, val);
        else if (strcmp(key, "C") == 0)
            push(&a->C, &a->nC, val);
        else if (strcmp(key, "O") == 0)
            a->O = val;
        else if (strcmp(key, "api") == 0)
            a->api = val;
        else if (strcmp(key, "metrics") == 0)
            a->metrics = val;
        else {
            fprintf(stderr, "gost: flag provided but not defined: -%s\n", key);
            return -1;
        }
    }
    return 0;
}

static char *read_stream(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n == cap) {
            if (cap >= (64u << 20)) {
                free(buf);
                return NULL;
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    *len = n;
    return buf;
}

static int load_source(const char *src, struct cfg **out, struct cfg_errs *errs)
{
    if (strcmp(src, "-") == 0) {
        size_t len;
        char *text = read_stream(stdin, &len);
        if (!text) {
            cfg_errs_add(errs, (struct cval_pos){cval_intern("-"), 0, 0}, "stdin too large");
            return -EINVAL;
        }
        int rc = cfg_load_string(text, len, "-", out, errs);
        free(text);
        return rc;
    }
    const char *p = src;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p == '{')
        return cfg_load_string(src, strlen(src), "-C", out, errs);
    return cfg_load_file(src, out, errs);
}

/* GOST's default search when neither -C nor -L is given. */
static const char *default_config(char *buf, size_t len)
{
    const char *home = getenv("HOME");
    const char *dirs[] = {"/etc/gost", NULL, "."};
    char homedir[512];
    if (home) {
        snprintf(homedir, sizeof homedir, "%s/.gost", home);
        dirs[1] = homedir;
    }
    const char *names[] = {"gost.yaml", "gost.yml", "gost.json"};
    for (size_t d = 0; d < 3; d++) {
        if (!dirs[d])
            continue;
        for (size_t i = 0; i < 3; i++) {
            snprintf(buf, len, "%s/%s", dirs[d], names[i]);
            if (access(buf, R_OK) == 0)
                return buf;
        }
    }
    return NULL;
}

static int build_config(const struct args *a, struct cfg **out, struct cfg_errs *errs)
{
    struct cfg *cfg = cfg_new();
    int rc = 0;
    char defpath[600];
    const char *def = NULL;
    if (a->nC == 0 && a->nL == 0 && !a->api)
        def = default_config(defpath, sizeof defpath);
    for (size_t i = 0; i < a->nC + (def ? 1 : 0); i++) {
        struct cfg *part = NULL;
        if (load_source(i < a->nC ? a->C[i] : def, &part, errs) < 0) {
            rc = -EINVAL;
            continue;
        }
        if (cfg_merge(cfg, part, errs) < 0)
            rc = -EINVAL;
    }
    if (a->nL || a->nF) {
        char err[512];
        struct cval *tree = NULL;
        if (cmdline_build(a->L, a->nL, a->F, a->nF, &tree, err, sizeof err) < 0) {
            fprintf(stderr, "gost: %s\n", err);
            cfg_free(cfg);
            return -EINVAL;
        }
        struct cfg *part = NULL;
        if (cfg_load_cval(tree, &part, errs) < 0)
            rc = -EINVAL;
        else if (cfg_merge(cfg, part, errs) < 0)
            rc = -EINVAL;
    }
    if (rc < 0) {
        cfg_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

static void print_version(void)
{
    struct utsname u;
    const char *arch = uname(&u) == 0 ? u.machine : "unknown";
    printf("gost %s (C11 %s linux/%s)\n", GOST_VERSION,
#if defined(__clang__)
           "clang " __clang_version__,
#elif defined(__GNUC__)
           "gcc " __VERSION__,
#else
           "cc",
#endif
           arch);
    registry_print(stdout);
}

static int run(struct cfg *cfg, const struct args *a)
{
    char err[512];
    const struct cfg_log *lc = cfg->log;
    if (log_configure(lc ? lc->level : NULL, lc ? lc->format : NULL, lc ? lc->output : NULL, err,
                      sizeof err) < 0) {
        /* Point at the field at fault: level and format are checked here, the rest is output. */
        enum log_level lvl;
        const char *key = "output";
        if (lc && lc->level && *lc->level && log_level_parse(lc->level, &lvl) < 0 &&
            !getenv("GOST_LOGGER_LEVEL"))
            key = "level";
        else if (lc && lc->format && *lc->format && strcmp(lc->format, "json") != 0 &&
                 strcmp(lc->format, "text") != 0)
            key = "format";
        struct cfg_errs e;
        cfg_errs_init(&e);
        cfg_errs_add(&e, cfg_pos_of(lc ? lc->node : NULL, key), "log: %s", err);
        cfg_errs_print(&e, stderr);
        cfg_errs_free(&e);
        return 1;
    }
    if (a->trace)
        log_set_level(LOG_TRACE);
    else if (a->debug)
        log_set_level(LOG_DEBUG);

    struct cfg_errs errs;
    cfg_errs_init(&errs);
    if (cfg->api)
        cfg_errs_add(&errs, cfg->api->pos, "the web API is not supported yet");
    if (cfg->metrics)
        cfg_errs_add(&errs, cfg->metrics->pos, "metrics are not supported yet");
    if (cfg->n_services == 0)
        cfg_errs_add(&errs, cfg->pos, "no services to run");
    int rc = sched_init(0);
    if (rc < 0) {
        fprintf(stderr, "gost: cannot start the workers: %s\n", strerror(-rc));
        cfg_errs_free(&errs);
        return 1;
    }
    struct build *b = NULL;
    if (cfg_errs_count(&errs) > 0 || build_all(cfg, &b, &errs) < 0) {
        cfg_errs_print(&errs, stderr);
        cfg_errs_free(&errs);
        return 1;
    }
    cfg_errs_free(&errs);
    services_start(b->services, b->n_services);
    rc = sched_run();
    build_free(b);
    if (rc < 0) {
        fprintf(stderr, "gost: %s\n", strerror(-rc));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct args a = {0};
    int status = 1;
    if (parse_args(argc, argv, &a) < 0) {
        usage(stderr);
        goto out;
    }
    if (a.help) {
        usage(stdout);
        status = 0;
        goto out;
    }
    if (a.version) {
        print_version();
        status = 0;
        goto out;
    }
    if (a.api || a.metrics) {
        fprintf(stderr, "gost: %s is not supported yet\n", a.api ? "-api" : "-metrics");
        goto out;
    }
    if (a.O && strcmp(a.O, "yaml") != 0 && strcmp(a.O, "json") != 0) {
        fprintf(stderr, "gost: -O: unknown format \"%s\" (yaml or json)\n", a.O);
        goto out;
    }
    struct cfg_errs errs;
    cfg_errs_init(&errs);
    struct cfg *cfg = NULL;
    if (build_config(&a, &cfg, &errs) < 0) {
        cfg_errs_print(&errs, stderr);
        cfg_errs_free(&errs);
        goto out;
    }
    cfg_errs_free(&errs);
    if (a.O) {
        status = cfg_emit(cfg, stdout, strcmp(a.O, "json") == 0 ? CFG_JSON : CFG_YAML) < 0;
        cfg_free(cfg);
        goto out;
    }
    if (a.nC == 0 && a.nL == 0 && cfg->n_services == 0) {
        usage(stderr);
        cfg_free(cfg);
        goto out;
    }
    status = run(cfg, &a);
    cfg_free(cfg);
out:
    free(a.L);
    free(a.F);
    free(a.C);
    return status;
}
