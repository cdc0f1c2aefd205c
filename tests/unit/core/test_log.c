/* Unit tests for core/log: JSON validity and escaping, text format, levels, contexts, file
 * output, truncation, fatal, concurrency. Records are written to a file in a temp dir and read
 * back; JSON lines are checked with a small strict parser below. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

/* ---- fixture: a temp dir holding the log file ---------------------------------------------- */

static char tmpdir[256];
static char logpath[512];

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/gost-test-log-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(logpath, sizeof(logpath), "%s/gost.log", tmpdir);
    unsetenv("GOST_LOGGER_LEVEL");
    char err[256];
    return log_configure("info", "json", logpath, err, sizeof(err));
}

static int teardown(void **state)
{
    (void)state;
    char err[256];
    log_configure(NULL, NULL, "stderr", err, sizeof(err));
    nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* Whole file content (caller frees). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}

static void truncate_log(void)
{
    assert_int_equal(truncate(logpath, 0), 0);
}

/* Reads the log and returns its single line (without '\n'); fails if not exactly one line. */
static char *one_line(void)
{
    size_t len;
    char *s = slurp(logpath, &len);
    assert_true(len > 0);
    assert_int_equal(s[len - 1], '\n');
    s[len - 1] = '\0';
    assert_null(strchr(s, '\n'));
    return s;
}

/* ---- a strict mini JSON parser for one flat object ----------------------------------------- */

struct jkv {
    char key[64];
    char *val; /* decoded string, or the raw literal for numbers */
    bool is_str;
};

static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    uint32_t v;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 2, v = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        need = 3, v = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        need = 4, v = c & 0x07;
    else
        return 0;
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if ((need == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
        (need == 4 && (v < 0x10000 || v > 0x10ffff)))
        return 0;
    return need;
}

static size_t put_utf8(char *o, uint32_t r)
{
    if (r < 0x80) {
        o[0] = (char)r;
        return 1;
    }
    if (r < 0x800) {
        o[0] = (char)(0xc0 | (r >> 6));
        o[1] = (char)(0x80 | (r & 0x3f));
        return 2;
    }
    if (r < 0x10000) {
        o[0] = (char)(0xe0 | (r >> 12));
        o[1] = (char)(0x80 | ((r >> 6) & 0x3f));
        o[2] = (char)(0x80 | (r & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (r >> 18));
    o[1] = (char)(0x80 | ((r >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((r >> 6) & 0x3f));
    o[3] = (char)(0x80 | (r & 0x3f));
    return 4;
}

/* Parses a JSON string at *p; returns malloc'd decoded text or NULL if invalid. */
static char *jstr(const char **pp, const char *end)
{
    const char *p = *pp;
    if (p >= end || *p != '"')
        return NULL;
    p++;
    char *out = malloc((size_t)(end - p) * 2 + 8);
    size_t o = 0;
    while (p < end && *p != '"') {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20)
            goto bad;
        if (c == '\\') {
            p++;
            if (p >= end)
                goto bad;
            switch (*p) {
            case '"':
            case '\\':
            case '/':
                out[o++] = *p++;
                break;
            case 'n':
                out[o++] = '\n', p++;
                break;
            case 'r':
                out[o++] = '\r', p++;
                break;
            case 't':
                out[o++] = '\t', p++;
                break;
            case 'b':
                out[o++] = '\b', p++;
                break;
            case 'f':
                out[o++] = '\f', p++;
                break;
            case 'u': {
                uint32_t r = 0;
                if (end - p < 5)
                    goto bad;
                for (int i = 1; i <= 4; i++) {
                    char h = p[i];
                    r <<= 4;
                    if (h >= '0' && h <= '9')
                        r |= (uint32_t)(h - '0');
                    else if (h >= 'a' && h <= 'f')
                        r |= (uint32_t)(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F')
                        r |= (uint32_t)(h - 'A' + 10);
                    else
                        goto bad;
                }
                p += 5;
                if (r >= 0xd800 && r <= 0xdfff)
                    goto bad; /* our logger never emits surrogate escapes */
                o += put_utf8(out + o, r);
                break;
            }
            default:
                goto bad;
            }
            continue;
        }
        size_t n = utf8_len((const unsigned char *)p, (size_t)(end - p));
        if (n == 0)
            goto bad;
        memcpy(out + o, p, n);
        o += n;
        p += n;
    }
    if (p >= end)
        goto bad;
    out[o] = '\0';
    *pp = p + 1;
    return out;
bad:
    free(out);
    return NULL;
}

/* Parses `{"k":v,...}` (string or integer values). Returns the number of pairs, or -1. */
static int jparse(const char *s, struct jkv *kv, int max)
{
    const char *p = s, *end = s + strlen(s);
    int n = 0;
    if (*p++ != '{')
        return -1;
    if (*p == '}')
        return p + 1 == end ? 0 : -1;
    for (;;) {
        if (n >= max)
            return -1;
        char *k = jstr(&p, end);
        if (k == NULL)
            return -1;
        snprintf(kv[n].key, sizeof(kv[n].key), "%s", k);
        free(k);
        if (p >= end || *p++ != ':')
            return -1;
        if (*p == '"') {
            kv[n].val = jstr(&p, end);
            if (kv[n].val == NULL)
                return -1;
            kv[n].is_str = true;
        } else {
            const char *q = p;
            if (*q == '-')
                q++;
            if (q >= end || *q < '0' || *q > '9')
                return -1;
            while (q < end && *q >= '0' && *q <= '9')
                q++;
            kv[n].val = strndup(p, (size_t)(q - p));
            kv[n].is_str = false;
            p = q;
        }
        n++;
        if (p >= end)
            return -1;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '}' && p + 1 == end)
            return n;
        return -1;
    }
}

static void jfree(struct jkv *kv, int n)
{
    for (int i = 0; i < n; i++)
        free(kv[i].val);
}

static const char *jget(struct jkv *kv, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0)
            return kv[i].val;
    return NULL;
}

/* "2006-01-02T15:04:05.000" followed by "Z" or "+hh:mm"/"-hh:mm". */
static bool time_ok(const char *t, const char **zone)
{
    const char *pat = "dddd-dd-ddTdd:dd:dd.ddd";
    for (size_t i = 0; pat[i] != '\0'; i++) {
        if (pat[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != pat[i])
            return false;
    }
    const char *z = t + strlen(pat);
    if (zone != NULL)
        *zone = z;
    if (strcmp(z, "Z") == 0)
        return true;
    return strlen(z) == 6 && (z[0] == '+' || z[0] == '-') && z[3] == ':';
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_json_shape(void **state)
{
    (void)state;
    struct log_field svc_f[] = {LOG_FIELD_STR("kind", "service"),
                                LOG_FIELD_STR("service", "service-0"),
                                LOG_FIELD_STR("listener", "tcp"), LOG_FIELD_STR("handler", "http")};
    struct log_ctx svc = LOG_CTX(NULL, svc_f);
    struct log_field sess_f[] = {LOG_FIELD_STR("sid", "d1k2"),
                                 LOG_FIELD_STR("remote", "127.0.0.1:5000"),
                                 LOG_FIELD_STR("local", "127.0.0.1:8080")};
    struct log_ctx sess = LOG_CTX(&svc, sess_f);

    truncate_log();
    LOGX(LOG_INFO, &sess,
         LOG_FIELDS(LOG_FIELD_DUR("duration", 1234567890), LOG_FIELD_UINT("inputBytes", 10),
                    LOG_FIELD_INT("outputBytes", -3)),
         "%s >< %s", "127.0.0.1:5000", "127.0.0.1:8080");

    char *line = one_line();
    struct jkv kv[32];
    int n = jparse(line, kv, 32);
    assert_int_equal(n, 13);
    const char *order[] = {"time",     "level",      "msg",        "kind",   "service",
                           "listener", "handler",    "sid",        "remote", "local",
                           "duration", "inputBytes", "outputBytes"};
    for (int i = 0; i < n; i++)
        assert_string_equal(kv[i].key, order[i]);
    assert_true(time_ok(kv[0].val, NULL));
    assert_string_equal(kv[1].val, "info");
    assert_string_equal(kv[2].val, "127.0.0.1:5000 >< 127.0.0.1:8080");
    assert_string_equal(jget(kv, n, "service"), "service-0");
    assert_false(kv[10].is_str); /* duration: a number of ns, like Go's JSON encoders */
    assert_string_equal(kv[10].val, "1234567890");
    assert_string_equal(kv[11].val, "10");
    assert_string_equal(kv[12].val, "-3");
    assert_null(strstr(line, "caller")); /* only at debug/trace */
    jfree(kv, n);
    free(line);
}

static void test_json_escaping(void **state)
{
    (void)state;
    truncate_log();
    /* quotes, backslash, controls, DEL, HTML chars, UTF-8 (2/3/4 bytes), invalid bytes,
     * U+2028, an overlong encoding and a lone continuation byte */
    LOGX(LOG_WARN, NULL,
         LOG_FIELDS(LOG_FIELD_STR("k\"ey", "v\\al\x1b"), LOG_FIELD_STR("nil", NULL)),
         "q\"b\\s/n\nr\rt\tc\x01\x1f del\x7f <a&b> h\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80 "
         "bad\xff\xfe ls\xe2\x80\xa8 ov\xc0\xaf cont\x80 end");
    char *line = one_line();

    /* raw form: Go/slog spellings */
    assert_non_null(strstr(line, "\\u0001"));
    assert_non_null(strstr(line, "\\u001f"));
    assert_non_null(strstr(line, "\\u001b"));
    assert_non_null(strstr(line, "\\n"));
    assert_non_null(strstr(line, "\\u2028"));
    assert_non_null(strstr(line, "<a&b>"));     /* no HTML escaping */
    assert_non_null(strstr(line, "del\x7f"));   /* DEL verbatim */
    assert_non_null(strstr(line, "h\xc3\xa9")); /* UTF-8 verbatim */
    assert_non_null(strstr(line, "bad\\ufffd\\ufffd "));
    assert_non_null(strstr(line, "ov\\ufffd\\ufffd "));

    struct jkv kv[8];
    int n = jparse(line, kv, 8);
    assert_int_equal(n, 5);
    assert_string_equal(kv[1].val, "warn");
    assert_string_equal(kv[2].val,
                        "q\"b\\s/n\nr\rt\tc\x01\x1f del\x7f <a&b> h\xc3\xa9 \xe2\x9c\x93 "
                        "\xf0\x9f\x98\x80 bad\xef\xbf\xbd\xef\xbf\xbd ls\xe2\x80\xa8 "
                        "ov\xef\xbf\xbd\xef\xbf\xbd cont\xef\xbf\xbd end");
    assert_string_equal(kv[3].key, "k\"ey");
    assert_string_equal(kv[3].val, "v\\al\x1b");
    assert_string_equal(kv[4].val, "");
    jfree(kv, n);
    free(line);
}

static void test_levels(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(log_configure("warn", "json", logpath, err, sizeof(err)), 0);
    assert_int_equal(log_get_level(), LOG_WARN);
    assert_false(log_enabled(LOG_TRACE));
    assert_false(log_enabled(LOG_INFO));
    assert_true(log_enabled(LOG_WARN));
    assert_true(log_enabled(LOG_FATAL));

    truncate_log();
    LOG(LOG_DEBUG, NULL, "no");
    LOG(LOG_INFO, NULL, "no");
    LOG(LOG_ERROR, NULL, "yes");
    char *line = one_line();
    assert_non_null(strstr(line, "\"level\":\"error\",\"msg\":\"yes\""));
    free(line);

    /* debug: the caller field appears, GOST's "dir/file:line" */
    log_set_level(LOG_TRACE);
    assert_true(log_enabled(LOG_TRACE));
    truncate_log();
    int at = __LINE__ + 1;
    LOG(LOG_TRACE, NULL, "t");
    line = one_line();
    char want[64];
    snprintf(want, sizeof(want), ",\"caller\":\"core/test_log.c:%d\"}", at);
    assert_non_null(strstr(line, want));
    assert_non_null(strstr(line, "\"level\":\"trace\""));
    free(line);

    /* log_write has no position: no caller */
    truncate_log();
    log_write(LOG_DEBUG, NULL, NULL, 0, "d");
    line = one_line();
    assert_null(strstr(line, "caller"));
    free(line);

    /* names */
    enum log_level l;
    assert_int_equal(log_level_parse("WARN", &l), 0);
    assert_int_equal(l, LOG_WARN);
    assert_int_equal(log_level_parse("warning", &l), -EINVAL);
    assert_string_equal(log_level_name(LOG_FATAL), "fatal");
    log_set_level(LOG_INFO);
}

static void test_context_chain(void **state)
{
    (void)state;
    struct log_field a_f[] = {LOG_FIELD_STR("kind", "service"), LOG_FIELD_STR("a", "1")};
    struct log_ctx a = LOG_CTX(NULL, a_f);
    struct log_field b_f[] = {LOG_FIELD_STR("kind", "handler"), LOG_FIELD_INT("b", 2)};
    struct log_ctx b = LOG_CTX(&a, b_f);
    struct log_ctx empty = {.parent = &b, .fields = NULL, .n = 0};

    truncate_log();
    LOGX(LOG_INFO, &empty, LOG_FIELDS(LOG_FIELD_STR("c", "3"), LOG_FIELD_STR("a", "x")), "m");
    char *line = one_line();
    struct jkv kv[16];
    int n = jparse(line, kv, 16);
    /* parent first, a later duplicate key wins (printed at the later position) */
    assert_int_equal(n, 7);
    assert_string_equal(kv[3].key, "kind");
    assert_string_equal(kv[3].val, "handler");
    assert_string_equal(kv[4].key, "b");
    assert_string_equal(kv[4].val, "2");
    assert_string_equal(kv[5].key, "c");
    assert_string_equal(kv[6].key, "a");
    assert_string_equal(kv[6].val, "x");
    jfree(kv, n);
    free(line);
}

static void test_text_format(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(log_configure("debug", "text", logpath, err, sizeof(err)), 0);
    struct log_field f[] = {LOG_FIELD_STR("kind", "service"), LOG_FIELD_STR("empty", ""),
                            LOG_FIELD_STR("q", "a\"b=c"),     LOG_FIELD_STR("sp", "a b"),
                            LOG_FIELD_STR("bs", "a\\b"),      LOG_FIELD_STR("ctl", "x\x01\ny"),
                            LOG_FIELD_STR("u", "h\xc3\xa9"),  LOG_FIELD_STR("nb", "a\xc2\xa0z"),
                            LOG_FIELD_STR("bad", "\xff")};
    struct log_ctx c = LOG_CTX(NULL, f);

    truncate_log();
    log_write(LOG_INFO, &c,
              LOG_FIELDS(LOG_FIELD_DUR("duration", 1500000000), LOG_FIELD_DUR("d2", 1100),
                         LOG_FIELD_UINT("inputBytes", 42)),
              "%s", "hello world");
    char *line = one_line();
    assert_true(strncmp(line, "time=", 5) == 0);
    const char *sp = strchr(line, ' ');
    assert_non_null(sp);
    char t[64];
    snprintf(t, sizeof(t), "%.*s", (int)(sp - line - 5), line + 5);
    assert_true(time_ok(t, NULL));
    assert_string_equal(sp, " level=info msg=\"hello world\" kind=service empty=\"\" "
                            "q=\"a\\\"b=c\" sp=\"a b\" bs=a\\b ctl=\"x\\x01\\ny\" u=h\xc3\xa9 "
                            "nb=\"a\\u00a0z\" bad=\"\\xff\" duration=1.5s "
                            "d2=1.1\xc2\xb5s inputBytes=42");
    free(line);

    truncate_log();
    LOG(LOG_WARN, NULL, "plain");
    line = one_line();
    sp = strchr(line, ' ');
    assert_non_null(strstr(sp, " level=warn msg=plain caller=core/test_log.c:"));
    free(line);
    assert_int_equal(log_configure("info", "json", logpath, err, sizeof(err)), 0);
}

static void test_duration_format(void **state)
{
    (void)state;
    static const struct {
        int64_t ns;
        const char *s;
    } cases[] = {
        {0, "0s"},
        {1, "1ns"},
        {1100, "1.1\xc2\xb5s"},
        {2200000, "2.2ms"},
        {3300000000LL, "3.3s"},
        {4LL * 60 * 1000000000 + 5LL * 1000000000, "4m5s"},
        {4LL * 60 * 1000000000 + 5001LL * 1000000, "4m5.001s"},
        {5LL * 3600 * 1000000000 + 6LL * 60 * 1000000000 + 7001LL * 1000000, "5h6m7.001s"},
        {8LL * 1000000 + 1, "8.000001ms"},
        {3600LL * 1000000000, "1h0m0s"},
        {INT64_MAX, "2562047h47m16.854775807s"},
        {INT64_MIN, "-2562047h47m16.854775808s"},
        {-1, "-1ns"},
        {-1500, "-1.5\xc2\xb5s"},
    };
    char buf[40];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = log_fmt_duration(buf, sizeof(buf), cases[i].ns);
        assert_string_equal(buf, cases[i].s);
        assert_int_equal(n, strlen(cases[i].s));
    }
    /* truncation keeps NUL termination and reports the full length */
    char small[4];
    assert_int_equal(log_fmt_duration(small, sizeof(small), 3300000000LL), 4);
    assert_string_equal(small, "3.3");
}

static void test_file_output(void **state)
{
    (void)state;
    char err[256];
    char path[600];
    snprintf(path, sizeof(path), "%s/a/b/c/gost.log", tmpdir);

    assert_int_equal(log_configure(NULL, NULL, path, err, sizeof(err)), 0);
    LOG(LOG_INFO, NULL, "one");
    /* reconfiguring the same file appends */
    assert_int_equal(log_configure(NULL, NULL, path, err, sizeof(err)), 0);
    LOG(LOG_INFO, NULL, "two");
    size_t len;
    char *s = slurp(path, &len);
    assert_non_null(strstr(s, "\"msg\":\"one\"}\n{"));
    assert_non_null(strstr(s, "\"msg\":\"two\"}\n"));
    free(s);

    struct stat st;
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/a/b/c", tmpdir);
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));

    /* output none: nothing is enabled except fatal */
    assert_int_equal(log_configure("trace", NULL, "none", err, sizeof(err)), 0);
    assert_false(log_enabled(LOG_ERROR));
    assert_true(log_enabled(LOG_FATAL));
    assert_int_equal(log_get_level(), LOG_TRACE);
    log_write(LOG_ERROR, NULL, NULL, 0, "dropped");
    assert_int_equal(log_configure(NULL, NULL, "null", err, sizeof(err)), 0);

    /* back to the fixture file */
    assert_int_equal(log_configure("info", "json", logpath, err, sizeof(err)), 0);
    s = slurp(path, &len);
    assert_null(strstr(s, "dropped"));
    free(s);
}

static void test_bad_config(void **state)
{
    (void)state;
    char err[256];

    assert_int_equal(log_configure("verbose", NULL, NULL, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "verbose"));
    assert_int_equal(log_configure(NULL, "xml", NULL, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "xml"));
    assert_true(log_configure(NULL, NULL, "/dev/null/x/y.log", err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "/dev/null/x/y.log"));

    /* nothing changed: still JSON info to the fixture file */
    truncate_log();
    LOG(LOG_INFO, NULL, "still");
    char *line = one_line();
    assert_true(line[0] == '{');
    free(line);

    /* GOST_LOGGER_LEVEL overrides the configured level */
    setenv("GOST_LOGGER_LEVEL", "error", 1);
    assert_int_equal(log_configure("debug", NULL, logpath, err, sizeof(err)), 0);
    assert_int_equal(log_get_level(), LOG_ERROR);
    setenv("GOST_LOGGER_LEVEL", "loud", 1);
    assert_int_equal(log_configure("debug", NULL, logpath, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "GOST_LOGGER_LEVEL"));
    unsetenv("GOST_LOGGER_LEVEL");
    assert_int_equal(log_configure("info", NULL, logpath, err, sizeof(err)), 0);
}

static void test_truncation(void **state)
{
    (void)state;
    size_t big = 3 * LOG_LINE_MAX;
    char *msg = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        msg[i] = (i % 7 == 0) ? '"' : (i % 11 == 0 ? '\x02' : 'x');
    msg[big] = '\0';
    /* a multi-byte character straddling the vsnprintf cut */
    memcpy(msg + LOG_LINE_MAX - 2, "\xe2\x9c\x93", 3);
    struct log_field f[] = {LOG_FIELD_STR("service", "svc"), LOG_FIELD_INT("n", 7)};
    struct log_ctx c = LOG_CTX(NULL, f);

    for (int fmt = 0; fmt < 2; fmt++) {
        char err[256];
        assert_int_equal(log_configure("info", fmt ? "text" : "json", logpath, err, sizeof(err)),
                         0);
        truncate_log();
        LOG(LOG_INFO, &c, "%s", msg);
        size_t len;
        char *s = slurp(logpath, &len);
        assert_true(len <= LOG_LINE_MAX);
        assert_int_equal(s[len - 1], '\n');
        s[len - 1] = '\0';
        assert_null(strchr(s, '\n'));
        if (fmt == 0) {
            struct jkv kv[8];
            int n = jparse(s, kv, 8);
            assert_int_equal(n, 5);
            assert_string_equal(jget(kv, n, "service"), "svc");
            assert_string_equal(jget(kv, n, "n"), "7");
            size_t ml = strlen(kv[2].val);
            assert_true(ml > 1000);
            assert_string_equal(kv[2].val + ml - 3, "...");
            jfree(kv, n);
        } else {
            assert_non_null(strstr(s, "...\" service=svc n=7"));
        }
        free(s);
    }
    free(msg);
    char err[256];
    assert_int_equal(log_configure("info", "json", logpath, err, sizeof(err)), 0);
}

static void test_timezone(void **state)
{
    (void)state;
    char err[256];
    const char *old = getenv("TZ");
    char *saved = old != NULL ? strdup(old) : NULL;
    const char *zone;
    struct jkv kv[8];

    setenv("TZ", "UTC", 1);
    tzset();
    assert_int_equal(log_configure(NULL, NULL, logpath, err, sizeof(err)), 0);
    truncate_log();
    LOG(LOG_INFO, NULL, "utc");
    char *line = one_line();
    int n = jparse(line, kv, 8);
    assert_int_equal(n, 3);
    assert_true(time_ok(kv[0].val, &zone));
    assert_string_equal(zone, "Z");
    jfree(kv, n);
    free(line);

    setenv("TZ", "<+0530>-5:30", 1);
    tzset();
    assert_int_equal(log_configure(NULL, NULL, logpath, err, sizeof(err)), 0);
    truncate_log();
    LOG(LOG_INFO, NULL, "ist");
    line = one_line();
    n = jparse(line, kv, 8);
    assert_true(time_ok(kv[0].val, &zone));
    assert_string_equal(zone, "+05:30");
    /* the wall clock matches: hh:mm of local time */
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char hm[8];
    snprintf(hm, sizeof(hm), "%02d:", tm.tm_hour);
    assert_memory_equal(kv[0].val + 11, hm, 3);
    jfree(kv, n);
    free(line);

    if (saved != NULL) {
        setenv("TZ", saved, 1);
        free(saved);
    } else {
        unsetenv("TZ");
    }
    tzset();
    assert_int_equal(log_configure(NULL, NULL, logpath, err, sizeof(err)), 0);
}

static void test_fatal_exits(void **state)
{
    (void)state;
    truncate_log();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        LOG(LOG_FATAL, NULL, "bye %d", 1);
        _exit(0); /* not reached */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    char *line = one_line();
    assert_non_null(strstr(line, "\"level\":\"fatal\",\"msg\":\"bye 1\""));
    free(line);

    /* log_fatal exits even with output none */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[64];
        log_configure(NULL, NULL, "none", err, sizeof(err));
        log_fatal(NULL, "quiet");
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
}

#define THREADS    4
#define PER_THREAD 2000

static void *writer(void *arg)
{
    long id = (long)arg;
    struct log_field f[] = {LOG_FIELD_INT("thread", id), LOG_FIELD_STR("pad", "0123456789abcdef")};
    struct log_ctx c = LOG_CTX(NULL, f);
    for (int i = 0; i < PER_THREAD; i++)
        LOG(LOG_INFO, &c, "record %d from %ld \"quoted\"", i, id);
    return NULL;
}

static void test_concurrent_writers(void **state)
{
    (void)state;
    pthread_t th[THREADS];

    truncate_log();
    for (long i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, writer, (void *)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);

    size_t len;
    char *s = slurp(logpath, &len);
    int lines = 0;
    int per[THREADS] = {0};
    for (char *p = s, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        *nl = '\0';
        struct jkv kv[8];
        int n = jparse(p, kv, 8);
        assert_int_equal(n, 5);
        per[atoi(jget(kv, n, "thread"))]++;
        jfree(kv, n);
        lines++;
    }
    assert_int_equal(lines, THREADS * PER_THREAD);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(per[i], PER_THREAD);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_shape),  cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_levels),      cmocka_unit_test(test_context_chain),
        cmocka_unit_test(test_text_format), cmocka_unit_test(test_duration_format),
        cmocka_unit_test(test_file_output), cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_truncation),  cmocka_unit_test(test_timezone),
        cmocka_unit_test(test_fatal_exits), cmocka_unit_test(test_concurrent_writers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
