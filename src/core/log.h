/* log: the process logger. Only this module writes to stderr/stdout (DESIGN §7).
 *
 * Records have GOST's shape (see docs/logging.md): JSON (default)
 *   {"time":"2026-11-25T15:04:05.123+01:00","level":"info","msg":"...","kind":"service",...}
 * or text (logfmt, like Go's slog TextHandler that GOST uses)
 *   time=2026-11-25T15:04:05.123+01:00 level=info msg="a b" kind=service ...
 * The time is local time, RFC 3339 with milliseconds, "Z" when the offset is zero (Go's
 * "2006-01-02T15:04:05.000Z07:00").
 *
 * Fields come from a chain of contexts (struct log_ctx: service -> handler -> session), printed
 * parent first, then the per-call extra fields, then "caller" (file:line, only when the configured
 * level is debug or trace, like GOST). A key repeated further down the chain replaces the earlier
 * one (the later value is printed, at the later position).
 *
 * Cost: check the level before formatting anything. The LOG()/LOGX() macros do; a disabled
 * level costs one relaxed atomic load and a compare.
 *
 * Output: each record is built in a stack buffer (LOG_LINE_MAX bytes, the message is truncated
 * first, fields that do not fit are dropped whole, the record always stays valid JSON/logfmt) and
 * written with one write(2). Files are opened O_APPEND, so records from concurrent threads never
 * interleave in a file; on a pipe, records up to PIPE_BUF bytes are atomic.
 *
 * Threading: log_write and friends may be called from any thread at any time. log_configure and
 * log_set_level may be called at any time too (reload); a record being written concurrently goes
 * either to the old or to the new output.
 *
 * Ownership: every pointer passed in (contexts, fields, strings) is borrowed for the duration of
 * the call only; nothing is retained.
 */
#ifndef GOST_CORE_LOG_H
#define GOST_CORE_LOG_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Severity, lowest first. The names are GOST's config values. */
enum log_level {
    LOG_TRACE,
    LOG_DEBUG,
    LOG_INFO,
    LOG_WARN,
    LOG_ERROR,
    LOG_FATAL, /* logs, then exits the process with status 1 */
};

enum log_format {
    LOG_FORMAT_JSON, /* default */
    LOG_FORMAT_TEXT,
};

/* Longest record written, newline included. Longer messages are cut (at a UTF-8 boundary). */
#define LOG_LINE_MAX 8192
/* At most this many fields (contexts + extras) per record; further ones are ignored. */
#define LOG_FIELDS_MAX 48

/* Type of a field value. */
enum log_field_type {
    LOGF_STR,         /* v.s: NUL-terminated string (NULL prints as ""); JSON string */
    LOGF_INT,         /* v.i; JSON number */
    LOGF_UINT,        /* v.u; JSON number */
    LOGF_DURATION_NS, /* v.i nanoseconds; JSON: a number of ns (like Go's encoders print a
                       * time.Duration); text: Go's Duration.String(), e.g. "1.5s", "2m0.1s" */
};

/* One key/value. `key` should be a plain identifier (it is escaped anyway). */
struct log_field {
    const char *key;
    enum log_field_type type;
    union {
        const char *s;
        int64_t i;
        uint64_t u;
    } v;
};

/* A set of fields plus the context it extends (NULL for the root). Typically static or on the
 * stack of the fiber that owns it; a child must not outlive its parent. */
struct log_ctx {
    const struct log_ctx *parent;
    const struct log_field *fields;
    size_t n;
};

/* Field constructors (compound literals). */
#define LOG_FIELD_STR(k, val)  ((struct log_field){.key = (k), .type = LOGF_STR, .v.s = (val)})
#define LOG_FIELD_INT(k, val)  ((struct log_field){.key = (k), .type = LOGF_INT, .v.i = (val)})
#define LOG_FIELD_UINT(k, val) ((struct log_field){.key = (k), .type = LOGF_UINT, .v.u = (val)})
#define LOG_FIELD_DUR(k, ns)   ((struct log_field){.key = (k), .type = LOGF_DURATION_NS, .v.i = (ns)})

/* A context over a field array (not a pointer): LOG_CTX(&svc_ctx, sess_fields). */
#define LOG_CTX(parent_, arr_)                                                                     \
    ((struct log_ctx){.parent = (parent_), .fields = (arr_), .n = sizeof(arr_) / sizeof((arr_)[0])})

/* Expands to the two arguments `fields, nfields` for LOGX / log_write:
 *   LOGX(LOG_INFO, ctx, LOG_FIELDS(LOG_FIELD_DUR("duration", ns)), "%s >< %s", a, b); */
#define LOG_FIELDS(...)                                                                            \
    ((const struct log_field[]){__VA_ARGS__}),                                                     \
        (sizeof((const struct log_field[]){__VA_ARGS__}) / sizeof(struct log_field))

/* Internal: the lowest enabled level. Read through log_enabled(). */
extern _Atomic int log_min_level;

/* True when records of level `l` are written. LOG_FATAL is always enabled (it must exit). */
static inline bool log_enabled(enum log_level l)
{
    return (int)l >= atomic_load_explicit(&log_min_level, memory_order_relaxed);
}

/* Configures the logger from GOST's `log` section. NULL or "" selects the default:
 *   level  trace|debug|info|warn|error|fatal (default info; ASCII case-insensitive)
 *   format json|text (default json)
 *   output stderr (default) | stdout | none | null | a file path (parent directories are created
 *          with mode 0755, the file with 0666 & ~umask, appended to)
 * The environment variable GOST_LOGGER_LEVEL, when set and non-empty, replaces `level` (as in
 * GOST; -D/-DD are applied afterwards by the caller with log_set_level).
 * Returns 0, or a negative errno with a message in err (-EINVAL for a bad value, the open/mkdir
 * error for a file). On error nothing changes. Before the first call the logger writes JSON at
 * info level to stderr. */
int log_configure(const char *level, const char *format, const char *output, char *err,
                  size_t errlen);

/* Sets the minimum level (the -D/-DD flags, the API). */
void log_set_level(enum log_level l);

/* The configured minimum level. */
enum log_level log_get_level(void);

/* Parses a level name (case-insensitive). Returns 0, or -EINVAL for an unknown name. */
int log_level_parse(const char *name, enum log_level *out);

/* The config/JSON name of a level: "trace", ..., "fatal". */
const char *log_level_name(enum log_level l);

/* Writes Go's time.Duration.String() of `ns` into buf ("0s", "1.5µs", "2ms", "1h2m3.5s",
 * "-1s"), always NUL-terminated (truncated when buflen is too small; 32 bytes always suffice).
 * Returns the length of the full string. */
size_t log_fmt_duration(char *buf, size_t buflen, int64_t ns);

/* Writes one record: printf-style message, the fields of ctx (and its parents), then `extra`
 * (nextra fields, may be NULL/0). Does not check the level (callers check log_enabled first, or
 * use the macros). A LOG_FATAL record is written and then the process exits with status 1. */
void log_write(enum log_level l, const struct log_ctx *ctx, const struct log_field *extra,
               size_t nextra, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Same with the source position, printed as the "caller" field ("dir/file.c:line") when the
 * configured level is debug or trace. `file` may be NULL (no caller field). */
void log_write_at(const char *file, int line, enum log_level l, const struct log_ctx *ctx,
                  const struct log_field *extra, size_t nextra, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* va_list form of log_write_at. */
void log_vwrite_at(const char *file, int line, enum log_level l, const struct log_ctx *ctx,
                   const struct log_field *extra, size_t nextra, const char *fmt, va_list ap)
    __attribute__((format(printf, 7, 0)));

/* Logs at fatal level and exits with status 1 (always, whatever the output). */
_Noreturn void log_fatal(const struct log_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* LOG(LOG_INFO, &ctx, "%s <> %s", remote, local): checks the level, then formats and writes. */
#define LOG(lvl, ctx, ...)                                                                         \
    do {                                                                                           \
        if (log_enabled(lvl))                                                                      \
            log_write_at(__FILE__, __LINE__, (lvl), (ctx), NULL, 0, __VA_ARGS__);                  \
    } while (0)

/* LOGX(lvl, ctx, LOG_FIELDS(...), fmt, ...): LOG with extra per-record fields. */
#define LOGX(lvl, ctx, ...)                                                                        \
    do {                                                                                           \
        if (log_enabled(lvl))                                                                      \
            log_write_at(__FILE__, __LINE__, (lvl), (ctx), __VA_ARGS__);                           \
    } while (0)

#endif
