/* log: see log.h. Records are built in thread-local buffers (no big frames on fiber stacks; the
 * logger never yields, so one buffer per thread is enough) and written with one write(2).
 *
 * Formats follow GOST HEAD's log/slog handlers (go-gost/x logger/logger.go): JSON keys time,
 * level, msg, then the attributes in order; text is slog's logfmt (quote a value only when it
 * needs it, with Go strconv.Quote escapes). Durations are nanosecond numbers in JSON and
 * Duration.String() in text, as Go's encoders print time.Duration.
 */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

_Atomic int log_min_level = LOG_INFO;

static _Atomic int log_level_cfg = LOG_INFO; /* configured level (caller field, get) */
static _Atomic int log_format_cfg = LOG_FORMAT_JSON;
static _Atomic int log_fd = STDERR_FILENO; /* -1: output none */
static _Atomic unsigned log_generation;    /* bumped by log_configure: drops time caches */
static pthread_mutex_t log_cfg_mu = PTHREAD_MUTEX_INITIALIZER;
static int log_own_fd = -1; /* our private output fd (never closed, see log_configure); cfg_mu */

static const char *const log_level_names[] = {"trace", "debug", "info", "warn", "error", "fatal"};

/* Deepest context chain walked; farther ancestors are ignored. */
#define LOG_CTX_DEPTH_MAX 16
/* Room kept for fields after the message, so a long message does not push them all out. */
#define LOG_FIELDS_RESERVE 1024

/* ---- small helpers ------------------------------------------------------------------------- */

const char *log_level_name(enum log_level l)
{
    if ((int)l < LOG_TRACE || (int)l > LOG_FATAL)
        return "info";
    return log_level_names[l];
}

int log_level_parse(const char *name, enum log_level *out)
{
    for (int i = LOG_TRACE; i <= LOG_FATAL; i++) {
        if (strcasecmp(name, log_level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

void log_set_level(enum log_level l)
{
    if ((int)l < LOG_TRACE || (int)l > LOG_FATAL)
        return;
    pthread_mutex_lock(&log_cfg_mu);
    atomic_store(&log_level_cfg, (int)l);
    atomic_store(&log_min_level, atomic_load(&log_fd) < 0 ? LOG_FATAL : (int)l);
    pthread_mutex_unlock(&log_cfg_mu);
}

enum log_level log_get_level(void)
{
    return (enum log_level)atomic_load_explicit(&log_level_cfg, memory_order_relaxed);
}

/* Writes decimal u backwards ending at `end`; returns the start. */
static char *log_u64_rev(char *end, uint64_t u)
{
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    return end;
}

/* Go's fmtFrac: the `prec` low digits of v as a fraction with trailing zeros dropped (nothing at
 * all when they are all zero), written backwards ending at *pend; returns v / 10^prec. */
static uint64_t log_frac_rev(char **pend, uint64_t v, int prec)
{
    char *w = *pend;
    bool print = false;

    for (int i = 0; i < prec; i++) {
        unsigned digit = (unsigned)(v % 10);
        print = print || digit != 0;
        if (print)
            *--w = (char)('0' + digit);
        v /= 10;
    }
    if (print)
        *--w = '.';
    *pend = w;
    return v;
}

size_t log_fmt_duration(char *buf, size_t buflen, int64_t ns)
{
    char tmp[40];
    char *end = tmp + sizeof(tmp);
    char *w = end;
    bool neg = ns < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;

    if (u == 0) {
        w -= 2;
        memcpy(w, "0s", 2);
    } else if (u < 1000000000ull) {
        int prec;
        *--w = 's';
        if (u < 1000ull) {
            prec = 0;
            *--w = 'n';
        } else if (u < 1000000ull) {
            prec = 3;
            w -= 2;
            memcpy(w, "\xc2\xb5", 2); /* U+00B5 MICRO SIGN, as Go prints it */
        } else {
            prec = 6;
            *--w = 'm';
        }
        u = log_frac_rev(&w, u, prec);
        w = log_u64_rev(w, u);
    } else {
        *--w = 's';
        u = log_frac_rev(&w, u, 9);
        w = log_u64_rev(w, u % 60);
        u /= 60;
        if (u > 0) {
            *--w = 'm';
            w = log_u64_rev(w, u % 60);
            u /= 60;
            if (u > 0) {
                *--w = 'h';
                w = log_u64_rev(w, u);
            }
        }
    }
    if (neg)
        *--w = '-';

    size_t len = (size_t)(end - w);
    if (buflen > 0) {
        size_t n = len < buflen - 1 ? len : buflen - 1;
        memcpy(buf, w, n);
        buf[n] = '\0';
    }
    return len;
}

/* Decodes one UTF-8 sequence at s (n bytes available) like Go's utf8.DecodeRune: returns the
 * length and stores the code point, or returns 0 for an invalid/incomplete sequence. */
static size_t log_utf8_decode(const unsigned char *s, size_t n, uint32_t *r)
{
    unsigned char c = s[0];

    if (c < 0x80) {
        *r = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        if (n < 2 || (s[1] & 0xc0) != 0x80)
            return 0;
        *r = ((uint32_t)(c & 0x1f) << 6) | (s[1] & 0x3f);
        return 2;
    }
    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        uint32_t v = ((uint32_t)(c & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
        if (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))
            return 0; /* overlong or surrogate */
        *r = v;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        uint32_t v = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3f) << 12) |
                     ((uint32_t)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
        if (v < 0x10000 || v > 0x10ffff)
            return 0;
        *r = v;
        return 4;
    }
    return 0;
}

/* Approximation of Go's unicode.IsPrint for non-ASCII code points: everything is printable except
 * C1 controls, the non-ASCII spaces, format characters and private-use/non-characters that show
 * up in practice. (Go uses full Unicode tables; unassigned code points differ.) */
static bool log_rune_printable(uint32_t r)
{
    if (r < 0xa0)
        return r >= 0x20 && r < 0x7f;
    if (r == 0xa0 || r == 0xad || r == 0x61c || r == 0x1680 || r == 0x180e || r == 0xfeff)
        return false;
    if ((r >= 0x2000 && r <= 0x200f) || (r >= 0x2028 && r <= 0x202f) ||
        (r >= 0x205f && r <= 0x206f) || r == 0x3000)
        return false;
    if ((r >= 0xe000 && r <= 0xf8ff) || (r >= 0xfff9 && r <= 0xfffb) || r == 0xfffe ||
        r == 0xffff || r >= 0xf0000)
        return false;
    return true;
}

/* ---- line buffer --------------------------------------------------------------------------- */

struct log_buf {
    char *p;
    size_t len;
    size_t lim; /* appends never go past lim (<= capacity) */
    bool full;  /* an append did not fit */
};

static bool log_buf_put(struct log_buf *b, const char *s, size_t n)
{
    if (b->full || n > b->lim - b->len) {
        b->full = true;
        return false;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return true;
}

static bool log_buf_puts(struct log_buf *b, const char *s)
{
    return log_buf_put(b, s, strlen(s));
}

static bool log_buf_putc(struct log_buf *b, char c)
{
    return log_buf_put(b, &c, 1);
}

static void log_buf_u64(struct log_buf *b, uint64_t u)
{
    char tmp[24];
    char *end = tmp + sizeof(tmp);
    char *s = log_u64_rev(end, u);
    log_buf_put(b, s, (size_t)(end - s));
}

static void log_buf_i64(struct log_buf *b, int64_t i)
{
    if (i < 0) {
        log_buf_putc(b, '-');
        log_buf_u64(b, (uint64_t)0 - (uint64_t)i);
    } else {
        log_buf_u64(b, (uint64_t)i);
    }
}

static const char log_hex[] = "0123456789abcdef";

/* JSON string body of s (len bytes), escaped like Go's slog/encoding/json: \" \\ \n \r \t,
 * other controls as \u00xx, invalid UTF-8 as \ufffd, U+2028/U+2029 escaped, the rest verbatim.
 * Stops at the first piece that does not fit (never splits an escape or a character). */
static void log_json_body(struct log_buf *b, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        char esc[8];
        size_t n;

        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            /* run of safe ASCII */
            size_t j = i + 1;
            while (j < len && s[j] >= 0x20 && s[j] < 0x80 && s[j] != '"' && s[j] != '\\')
                j++;
            size_t room = b->lim - b->len;
            if (j - i > room) {
                log_buf_put(b, str + i, room);
                b->full = true;
                return;
            }
            log_buf_put(b, str + i, j - i);
            i = j;
            continue;
        }
        if (c < 0x80) {
            n = 2;
            esc[0] = '\\';
            switch (c) {
            case '"':
            case '\\':
                esc[1] = (char)c;
                break;
            case '\n':
                esc[1] = 'n';
                break;
            case '\r':
                esc[1] = 'r';
                break;
            case '\t':
                esc[1] = 't';
                break;
            default:
                memcpy(esc, "\\u00", 4);
                esc[4] = log_hex[c >> 4];
                esc[5] = log_hex[c & 0xf];
                n = 6;
            }
            if (!log_buf_put(b, esc, n))
                return;
            i++;
            continue;
        }
        uint32_t r;
        size_t sz = log_utf8_decode(s + i, len - i, &r);
        bool ok;
        if (sz == 0) {
            ok = log_buf_put(b, "\\ufffd", 6);
            sz = 1;
        } else if (r == 0x2028 || r == 0x2029) {
            ok = log_buf_put(b, r == 0x2028 ? "\\u2028" : "\\u2029", 6);
        } else {
            ok = log_buf_put(b, str + i, sz);
        }
        if (!ok)
            return;
        i += sz;
    }
}

/* A complete JSON string. With `partial`, a value that does not fit is cut and still closed
 * (b->full is cleared); otherwise b->full stays set and the caller rolls back. */
static void log_json_str(struct log_buf *b, const char *s, size_t len, bool partial)
{
    if (!log_buf_putc(b, '"'))
        return;
    size_t lim = b->lim;
    size_t keep = partial ? 4 : 1; /* room for the closing quote (and "...") */
    if (b->lim - b->len < keep) {
        b->full = true;
        return;
    }
    b->lim -= keep;
    log_json_body(b, s, len);
    b->lim = lim;
    if (b->full && partial) {
        b->full = false;
        log_buf_put(b, "...", 3);
    }
    log_buf_putc(b, '"');
}

/* slog's needsQuoting: empty, ASCII controls, space, '"', '=', DEL, invalid UTF-8, non-ASCII
 * spaces and non-printables. */
static bool log_text_needs_quote(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;

    if (len == 0)
        return true;
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c <= ' ' || c == '"' || c == '=' || c == 0x7f)
                return true;
            i++;
            continue;
        }
        uint32_t r;
        size_t sz = log_utf8_decode(s + i, len - i, &r);
        if (sz == 0 || !log_rune_printable(r))
            return true;
        i += sz;
    }
    return false;
}

/* Body of a Go strconv.Quote string: \a \b \f \n \r \t \v \\ \", other controls and invalid bytes
 * as \xNN, non-printable runes as \uNNNN / \UNNNNNNNN, printable runes verbatim. */
static void log_quote_body(struct log_buf *b, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;

    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        char esc[12];
        size_t n = 0;
        size_t sz = 1;

        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            esc[n++] = (char)c;
        } else if (c < 0x80) {
            static const char from[] = "\a\b\f\n\r\t\v\\\"";
            static const char to[] = "abfnrtv\\\"";
            const char *p = c != 0 ? strchr(from, c) : NULL;
            esc[n++] = '\\';
            if (p != NULL) {
                esc[n++] = to[p - from];
            } else {
                esc[n++] = 'x';
                esc[n++] = log_hex[c >> 4];
                esc[n++] = log_hex[c & 0xf];
            }
        } else {
            uint32_t r;
            sz = log_utf8_decode(s + i, len - i, &r);
            if (sz == 0) {
                sz = 1;
                esc[n++] = '\\';
                esc[n++] = 'x';
                esc[n++] = log_hex[c >> 4];
                esc[n++] = log_hex[c & 0xf];
            } else if (log_rune_printable(r)) {
                memcpy(esc, str + i, sz);
                n = sz;
            } else {
                int digits = r < 0x10000 ? 4 : 8;
                esc[n++] = '\\';
                esc[n++] = digits == 4 ? 'u' : 'U';
                for (int d = digits - 1; d >= 0; d--)
                    esc[n++] = log_hex[(r >> (4 * d)) & 0xf];
            }
        }
        if (!log_buf_put(b, esc, n))
            return;
        i += sz;
    }
}

/* A logfmt value: verbatim when safe, else quoted; `partial` as for log_json_str. */
static void log_text_str(struct log_buf *b, const char *s, size_t len, bool partial)
{
    if (!log_text_needs_quote(s, len)) {
        size_t room = b->lim - b->len;
        if (len <= room || !partial) {
            log_buf_put(b, s, len);
            return;
        }
        /* cut a long safe value at a character boundary; it stays safe */
        size_t n = room > 3 ? room - 3 : 0;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
        log_buf_put(b, s, n);
        log_buf_put(b, "...", 3);
        return;
    }
    if (!log_buf_putc(b, '"'))
        return;
    size_t lim = b->lim;
    size_t keep = partial ? 4 : 1;
    if (b->lim - b->len < keep) {
        b->full = true;
        return;
    }
    b->lim -= keep;
    log_quote_body(b, s, len);
    b->lim = lim;
    if (b->full && partial) {
        b->full = false;
        log_buf_put(b, "...", 3);
    }
    log_buf_putc(b, '"');
}

/* ---- time ---------------------------------------------------------------------------------- */

/* Per-thread cache of the formatted second and zone offset; the ms part is added per record. */
struct log_time_cache {
    time_t sec;
    unsigned gen;
    bool valid;
    char text[48]; /* "2006-01-02T15:04:05" */
    size_t len;
    char zone[8]; /* "Z" or "+01:00" */
    size_t zone_len;
};

static _Thread_local struct log_time_cache log_tcache;

static void log_buf_time(struct log_buf *b)
{
    struct timespec ts;
    struct log_time_cache *c = &log_tcache;
    unsigned gen = atomic_load_explicit(&log_generation, memory_order_relaxed);

    clock_gettime(CLOCK_REALTIME, &ts);
    if (!c->valid || c->sec != ts.tv_sec || c->gen != gen) {
        struct tm tm;
        localtime_r(&ts.tv_sec, &tm);
        int n =
            snprintf(c->text, sizeof(c->text), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        c->len = n > 0 ? (size_t)n : 0;
        long off = tm.tm_gmtoff / 60; /* Go's Z07:00 prints hours and minutes only */
        if (off == 0) {
            memcpy(c->zone, "Z", 2);
            c->zone_len = 1;
        } else {
            char sign = off < 0 ? '-' : '+';
            if (off < 0)
                off = -off;
            snprintf(c->zone, sizeof(c->zone), "%c%02ld:%02ld", sign, (off / 60) % 100, off % 60);
            c->zone_len = 6;
        }
        c->sec = ts.tv_sec;
        c->gen = gen;
        c->valid = true;
    }
    long ms = ts.tv_nsec / 1000000;
    char frac[4] = {'.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10)};
    log_buf_put(b, c->text, c->len);
    log_buf_put(b, frac, 4);
    log_buf_put(b, c->zone, c->zone_len);
}

/* ---- record -------------------------------------------------------------------------------- */

static _Thread_local char log_line_tls[LOG_LINE_MAX];
static _Thread_local char log_msg_tls[LOG_LINE_MAX];

/* "dir/file.c" from a __FILE__ path (GOST prints the last directory and the file name). */
static const char *log_caller_path(const char *file)
{
    const char *last = strrchr(file, '/');
    if (last == NULL)
        return file;
    const char *p = last;
    while (p > file && p[-1] != '/')
        p--;
    return p;
}

static void log_field_value(struct log_buf *b, const struct log_field *f, bool json)
{
    char tmp[40];

    switch (f->type) {
    case LOGF_STR: {
        const char *s = f->v.s != NULL ? f->v.s : "";
        if (json)
            log_json_str(b, s, strlen(s), false);
        else
            log_text_str(b, s, strlen(s), false);
        break;
    }
    case LOGF_INT:
        log_buf_i64(b, f->v.i);
        break;
    case LOGF_UINT:
        log_buf_u64(b, f->v.u);
        break;
    case LOGF_DURATION_NS:
        if (json) {
            log_buf_i64(b, f->v.i);
        } else {
            size_t n = log_fmt_duration(tmp, sizeof(tmp), f->v.i);
            log_text_str(b, tmp, n, false);
        }
        break;
    default:
        log_buf_puts(b, json ? "null" : "\"\"");
    }
}

/* Appends one key/value, all or nothing. */
static void log_buf_field(struct log_buf *b, const struct log_field *f, bool json)
{
    size_t save = b->len;
    const char *key = f->key;

    if (json) {
        log_buf_putc(b, ',');
        log_json_str(b, key, strlen(key), false);
        log_buf_putc(b, ':');
    } else {
        log_buf_putc(b, ' ');
        log_text_str(b, key, strlen(key), false);
        log_buf_putc(b, '=');
    }
    log_field_value(b, f, json);
    if (b->full) {
        b->len = save;
        b->full = false;
    }
}

/* Cuts a truncated vsnprintf result back to a UTF-8 character boundary. */
static size_t log_utf8_trim(const char *s, size_t len)
{
    size_t i = len;
    size_t back = 0;

    while (i > 0 && back < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80) {
        i--;
        back++;
    }
    if (i == 0)
        return len;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (lead >= 0xc0 && back + 1 < need)
        return i - 1; /* incomplete sequence at the end: drop it */
    return len;
}

static void log_output(const char *p, size_t len)
{
    int fd = atomic_load_explicit(&log_fd, memory_order_relaxed);

    if (fd < 0)
        return;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere to report it */
        }
        p += n;
        len -= (size_t)n;
    }
}

void log_vwrite_at(const char *file, int line, enum log_level l, const struct log_ctx *ctx,
                   const struct log_field *extra, size_t nextra, const char *fmt, va_list ap)
{
    int saved_errno = errno;
    bool json = atomic_load_explicit(&log_format_cfg, memory_order_relaxed) == LOG_FORMAT_JSON;
    bool caller =
        file != NULL && atomic_load_explicit(&log_level_cfg, memory_order_relaxed) <= LOG_DEBUG;
    struct log_buf b = {.p = log_line_tls, .len = 0, .lim = LOG_LINE_MAX - 2, .full = false};
    const struct log_field *fields[LOG_FIELDS_MAX];
    const struct log_ctx *chain[LOG_CTX_DEPTH_MAX] = {NULL};
    size_t nf = 0, depth = 0;

    if ((int)l < LOG_TRACE || (int)l > LOG_FATAL)
        l = LOG_INFO;

    /* message */
    int mlen = vsnprintf(log_msg_tls, sizeof(log_msg_tls), fmt, ap);
    size_t msg_len = 0;
    if (mlen > 0) {
        msg_len = (size_t)mlen;
        if (msg_len >= sizeof(log_msg_tls))
            msg_len = log_utf8_trim(log_msg_tls, sizeof(log_msg_tls) - 1);
    }

    /* fields: contexts parent-first, then extras; a later duplicate key wins */
    for (const struct log_ctx *c = ctx; c != NULL && depth < LOG_CTX_DEPTH_MAX; c = c->parent)
        chain[depth++] = c;
    for (size_t d = depth; d-- > 0;) {
        for (size_t i = 0; i < chain[d]->n && nf < LOG_FIELDS_MAX; i++)
            fields[nf++] = &chain[d]->fields[i];
    }
    for (size_t i = 0; i < nextra && extra != NULL && nf < LOG_FIELDS_MAX; i++)
        fields[nf++] = &extra[i];

    /* time, level, msg */
    if (json) {
        log_buf_puts(&b, "{\"time\":\"");
        log_buf_time(&b);
        log_buf_puts(&b, "\",\"level\":\"");
        log_buf_puts(&b, log_level_names[l]);
        log_buf_puts(&b, "\",\"msg\":");
    } else {
        log_buf_puts(&b, "time=");
        log_buf_time(&b);
        log_buf_puts(&b, " level=");
        log_buf_puts(&b, log_level_names[l]);
        log_buf_puts(&b, " msg=");
    }
    size_t lim = b.lim;
    if (b.lim - b.len > LOG_FIELDS_RESERVE)
        b.lim -= LOG_FIELDS_RESERVE;
    if (json)
        log_json_str(&b, log_msg_tls, msg_len, true);
    else
        log_text_str(&b, log_msg_tls, msg_len, true);
    b.lim = lim;

    for (size_t i = 0; i < nf; i++) {
        const struct log_field *f = fields[i];
        bool dup = false;
        if (f->key == NULL)
            continue;
        for (size_t j = i + 1; j < nf && !dup; j++)
            dup = fields[j]->key != NULL && strcmp(fields[j]->key, f->key) == 0;
        if (!dup)
            log_buf_field(&b, f, json);
    }
    if (caller) {
        char pos[256];
        snprintf(pos, sizeof(pos), "%s:%d", log_caller_path(file), line);
        struct log_field cf = LOG_FIELD_STR("caller", pos);
        log_buf_field(&b, &cf, json);
    }

    /* the 2 reserved bytes always fit */
    b.lim = LOG_LINE_MAX;
    b.full = false;
    if (json)
        log_buf_putc(&b, '}');
    log_buf_putc(&b, '\n');
    log_output(b.p, b.len);

    if (l == LOG_FATAL)
        _exit(1);
    errno = saved_errno;
}

void log_write_at(const char *file, int line, enum log_level l, const struct log_ctx *ctx,
                  const struct log_field *extra, size_t nextra, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite_at(file, line, l, ctx, extra, nextra, fmt, ap);
    va_end(ap);
}

void log_write(enum log_level l, const struct log_ctx *ctx, const struct log_field *extra,
               size_t nextra, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite_at(NULL, 0, l, ctx, extra, nextra, fmt, ap);
    va_end(ap);
}

void log_fatal(const struct log_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite_at(NULL, 0, LOG_FATAL, ctx, NULL, 0, fmt, ap);
    va_end(ap);
    _exit(1);
}

/* ---- configuration ------------------------------------------------------------------------- */

static void log_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void log_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* mkdir -p of the directory part of `path` (mode 0755). Returns 0 or -errno. */
static int log_mkdir_parents(const char *path)
{
    char dir[PATH_MAX];
    size_t len = strlen(path);

    if (len >= sizeof(dir))
        return -ENAMETOOLONG;
    memcpy(dir, path, len + 1);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int log_configure(const char *level, const char *format, const char *output, char *err,
                  size_t errlen)
{
    enum log_level lvl = LOG_INFO;
    enum log_format fmt = LOG_FORMAT_JSON;
    const char *env = getenv("GOST_LOGGER_LEVEL");
    int src = -1;    /* fd to copy into our output fd; -1 = output none */
    int opened = -1; /* a file we opened (closed after copying) */
    int rc;

    if (env != NULL && env[0] != '\0') {
        if (log_level_parse(env, &lvl) != 0) {
            log_errf(err, errlen,
                     "GOST_LOGGER_LEVEL: unknown log level \"%s\" (want trace, debug, info, "
                     "warn, error or fatal)",
                     env);
            return -EINVAL;
        }
    } else if (level != NULL && level[0] != '\0' && log_level_parse(level, &lvl) != 0) {
        log_errf(err, errlen,
                 "unknown log level \"%s\" (want trace, debug, info, warn, error or fatal)", level);
        return -EINVAL;
    }

    if (format == NULL || format[0] == '\0' || strcasecmp(format, "json") == 0) {
        fmt = LOG_FORMAT_JSON;
    } else if (strcasecmp(format, "text") == 0) {
        fmt = LOG_FORMAT_TEXT;
    } else {
        log_errf(err, errlen, "unknown log format \"%s\" (want json or text)", format);
        return -EINVAL;
    }

    if (output == NULL || output[0] == '\0' || strcmp(output, "stderr") == 0) {
        src = STDERR_FILENO;
    } else if (strcmp(output, "stdout") == 0) {
        src = STDOUT_FILENO;
    } else if (strcmp(output, "none") == 0 || strcmp(output, "null") == 0) {
        src = -1;
    } else {
        rc = log_mkdir_parents(output);
        if (rc != 0) {
            log_errf(err, errlen, "log output \"%s\": creating its directory: %s", output,
                     strerror(-rc));
            return rc;
        }
        opened = open(output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
        if (opened < 0) {
            rc = -errno;
            log_errf(err, errlen, "log output \"%s\": %s", output, strerror(-rc));
            return rc;
        }
        src = opened;
    }

    pthread_mutex_lock(&log_cfg_mu);
    if (src >= 0) {
        /* Writers load log_fd and write without a lock, so the fd they may hold is never closed:
         * the first output is copied to a private fd, later ones are dup3()ed over it, which
         * switches the output atomically for every thread. */
        if (log_own_fd < 0) {
            log_own_fd = fcntl(src, F_DUPFD_CLOEXEC, 3);
            rc = log_own_fd < 0 ? -errno : 0;
        } else {
            rc = dup3(src, log_own_fd, O_CLOEXEC) < 0 ? -errno : 0;
        }
        if (rc != 0) {
            pthread_mutex_unlock(&log_cfg_mu);
            if (opened >= 0)
                close(opened);
            log_errf(err, errlen, "log output \"%s\": %s", output != NULL ? output : "stderr",
                     strerror(-rc));
            return rc;
        }
        atomic_store(&log_fd, log_own_fd);
    } else {
        atomic_store(&log_fd, -1);
    }
    atomic_store(&log_format_cfg, (int)fmt);
    atomic_store(&log_level_cfg, (int)lvl);
    atomic_store(&log_min_level, src < 0 ? LOG_FATAL : (int)lvl);
    atomic_fetch_add(&log_generation, 1);
    pthread_mutex_unlock(&log_cfg_mu);

    if (opened >= 0)
        close(opened);
    return 0;
}
