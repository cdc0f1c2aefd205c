/* Go-compatible JSON/YAML scalar writers (contract in emit_scalar.h). The YAML part follows
 * yaml.v3's encoder (stringv) and its libyaml port (analyze_scalar, select_scalar_style,
 * write_*_scalar) with an unlimited line width, which is how yaml.v3 encodes. */
#include "config/emit_scalar.h"
#include "core/xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/yaml_scalar.h"

/* ---- UTF-8 helpers ------------------------------------------------------------------------ */

/* Decodes one code point; *len = bytes consumed (1 for invalid bytes, then cp = -1). */
static int32_t es_utf8(const unsigned char *s, size_t *len)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *len = 1;
        return c;
    }
    int n;
    int32_t cp, min;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
        min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
        min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        *len = 1;
        return -1;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *len = 1;
            return -1;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        *len = 1;
        return -1;
    }
    *len = (size_t)n;
    return cp;
}

/* ---- JSON --------------------------------------------------------------------------------- */

void emit_json_string(FILE *out, const char *str)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', out);
    while (*s) {
        unsigned char b = *s;
        if (b < 0x80) {
            switch (b) {
            case '"':
                fputs("\\\"", out);
                break;
            case '\\':
                fputs("\\\\", out);
                break;
            case '\b':
                fputs("\\b", out);
                break;
            case '\f':
                fputs("\\f", out);
                break;
            case '\n':
                fputs("\\n", out);
                break;
            case '\r':
                fputs("\\r", out);
                break;
            case '\t':
                fputs("\\t", out);
                break;
            default:
                if (b < 0x20 || b == '<' || b == '>' || b == '&')
                    fprintf(out, "\\u00%c%c", hex[b >> 4], hex[b & 0xF]);
                else
                    fputc(b, out);
            }
            s++;
            continue;
        }
        size_t n;
        int32_t cp = es_utf8(s, &n);
        if (cp < 0)
            fputs("\\ufffd", out);
        else if (cp == 0x2028 || cp == 0x2029)
            fprintf(out, "\\u%04x", (unsigned)cp);
        else
            fwrite(s, 1, n, out);
        s += n;
    }
    fputc('"', out);
}

/* ---- YAML analysis ------------------------------------------------------------------------ */

static bool es_is_break_cp(int32_t cp)
{
    return cp == '\r' || cp == '\n' || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

static bool es_is_printable_cp(int32_t cp)
{
    if (cp == 0x0A)
        return true;
    if (cp >= 0x20 && cp <= 0x7E)
        return true;
    if (cp >= 0xA0 && cp <= 0xD7FF)
        return true;
    if (cp >= 0xE000 && cp <= 0xFFFD && cp != 0xFEFF)
        return true;
    return false; /* includes tab, NEL, and everything beyond the BMP (as libyaml) */
}

static bool es_is_blankz_at(const unsigned char *s)
{
    if (*s == '\0' || *s == ' ' || *s == '\t')
        return true;
    size_t n;
    int32_t cp = es_utf8(s, &n);
    return es_is_break_cp(cp);
}

struct es_analysis {
    bool multiline;
    bool block_plain_allowed;
    bool single_quoted_allowed;
    bool block_allowed;
};

static struct es_analysis es_analyze(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    struct es_analysis a = {false, true, true, true};
    size_t len = strlen(str);
    if (len == 0) {
        a.block_allowed = false;
        return a;
    }
    bool block_ind = false, flow_ind = false, line_breaks = false, special = false;
    bool leading_space = false, leading_break = false, trailing_space = false;
    bool trailing_break = false, break_space = false, space_break = false;
    bool prev_space = false, prev_break = false;
    if ((len >= 3 && (memcmp(s, "---", 3) == 0 || memcmp(s, "...", 3) == 0)))
        block_ind = flow_ind = true;
    bool preceded_ws = true;
    size_t n0;
    es_utf8(s, &n0);
    bool followed_ws = es_is_blankz_at(s + n0);
    for (size_t i = 0; i < len;) {
        size_t w;
        int32_t cp = es_utf8(s + i, &w);
        unsigned char c = s[i];
        if (i == 0) {
            switch (c) {
            case '#':
            case ',':
            case '[':
            case ']':
            case '{':
            case '}':
            case '&':
            case '*':
            case '!':
            case '|':
            case '>':
            case '\'':
            case '"':
            case '%':
            case '@':
            case '`':
                flow_ind = block_ind = true;
                break;
            case '?':
            case ':':
                flow_ind = true;
                if (followed_ws)
                    block_ind = true;
                break;
            case '-':
                if (followed_ws)
                    flow_ind = block_ind = true;
                break;
            default:
                break;
            }
        } else {
            switch (c) {
            case ',':
            case '?':
            case '[':
            case ']':
            case '{':
            case '}':
                flow_ind = true;
                break;
            case ':':
                flow_ind = true;
                if (followed_ws)
                    block_ind = true;
                break;
            case '#':
                if (preceded_ws)
                    flow_ind = block_ind = true;
                break;
            default:
                break;
            }
        }
        if (cp < 0 || !es_is_printable_cp(cp))
            special = true;
        bool last = i + w >= len;
        if (c == ' ') {
            if (i == 0)
                leading_space = true;
            if (last)
                trailing_space = true;
            if (prev_break)
                break_space = true;
            prev_space = true;
            prev_break = false;
        } else if (cp >= 0 && es_is_break_cp(cp)) {
            line_breaks = true;
            if (i == 0)
                leading_break = true;
            if (last)
                trailing_break = true;
            if (prev_space)
                space_break = true;
            prev_break = true;
            prev_space = false;
        } else {
            prev_space = prev_break = false;
        }
        preceded_ws = es_is_blankz_at(s + i);
        i += w;
        if (i < len) {
            size_t w2;
            es_utf8(s + i, &w2);
            followed_ws = es_is_blankz_at(s + i + w2);
        }
    }
    a.multiline = line_breaks;
    bool flow_plain = true;
    if (leading_space || leading_break || trailing_space || trailing_break)
        flow_plain = a.block_plain_allowed = false;
    if (trailing_space)
        a.block_allowed = false;
    if (break_space)
        flow_plain = a.block_plain_allowed = a.single_quoted_allowed = false;
    if (space_break || special)
        flow_plain = a.block_plain_allowed = a.single_quoted_allowed = a.block_allowed = false;
    if (line_breaks)
        flow_plain = a.block_plain_allowed = false;
    if (flow_ind)
        flow_plain = false;
    if (block_ind)
        a.block_plain_allowed = false;
    (void)flow_plain;
    return a;
}

/* ---- yaml.v3 plain-scalar safety ---------------------------------------------------------- */

static bool es_is_old_bool(const char *s)
{
    static const char *const v[] = {"y", "Y",  "yes", "Yes", "YES", "on",  "On",  "ON", "n",
                                    "N", "no", "No",  "NO",  "off", "Off", "OFF", NULL};
    for (size_t i = 0; v[i]; i++)
        if (strcmp(s, v[i]) == 0)
            return true;
    return false;
}

/* ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$ */
static bool es_is_base60_float(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (!(*s >= '0' && *s <= '9'))
        return false;
    while ((*s >= '0' && *s <= '9') || *s == '_')
        s++;
    int groups = 0;
    while (*s == ':') {
        s++;
        if (*s >= '0' && *s <= '5' && s[1] >= '0' && s[1] <= '9')
            s += 2;
        else if (*s >= '0' && *s <= '9')
            s += 1;
        else
            return false;
        groups++;
    }
    if (!groups)
        return false;
    if (*s == '.') {
        s++;
        while ((*s >= '0' && *s <= '9') || *s == '_')
            s++;
    }
    return *s == '\0';
}

/* yaml.v3 reads "YYYY-M-D" (optionally followed by a time) as a timestamp. */
static bool es_is_timestamp(const char *s)
{
    int i = 0;
    while (s[i] >= '0' && s[i] <= '9')
        i++;
    if (i != 4 || s[i] != '-')
        return false;
    const char *p = s + 5;
    int d = 0;
    while (*p >= '0' && *p <= '9' && d < 3)
        p++, d++;
    if (d < 1 || d > 2 || *p != '-')
        return false;
    p++;
    d = 0;
    while (*p >= '0' && *p <= '9' && d < 3)
        p++, d++;
    if (d < 1 || d > 2)
        return false;
    return *p == '\0' || *p == 'T' || *p == 't' || *p == ' ';
}

static bool es_can_use_plain(const char *s)
{
    struct yaml_scalar r = yaml_scalar_resolve(s, strlen(s));
    if (r.kind != CVAL_STR)
        return false;
    return !es_is_base60_float(s) && !es_is_old_bool(s) && !es_is_timestamp(s);
}

/* ---- YAML writers ------------------------------------------------------------------------- */

static void es_write_double(FILE *out, const char *str)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', out);
    while (*s) {
        size_t n;
        int32_t cp = es_utf8(s, &n);
        if (cp < 0) {
            fprintf(out, "\\x%c%c", hex[*s >> 4], hex[*s & 0xF]);
            s += 1;
            continue;
        }
        if (!es_is_printable_cp(cp) || cp == 0xFEFF || es_is_break_cp(cp) || cp == '"' ||
            cp == '\\') {
            fputc('\\', out);
            switch (cp) {
            case 0x00:
                fputc('0', out);
                break;
            case 0x07:
                fputc('a', out);
                break;
            case 0x08:
                fputc('b', out);
                break;
            case 0x09:
                fputc('t', out);
                break;
            case 0x0A:
                fputc('n', out);
                break;
            case 0x0B:
                fputc('v', out);
                break;
            case 0x0C:
                fputc('f', out);
                break;
            case 0x0D:
                fputc('r', out);
                break;
            case 0x1B:
                fputc('e', out);
                break;
            case 0x22:
                fputc('"', out);
                break;
            case 0x5C:
                fputc('\\', out);
                break;
            case 0x85:
                fputc('N', out);
                break;
            case 0xA0:
                fputc('_', out);
                break;
            case 0x2028:
                fputc('L', out);
                break;
            case 0x2029:
                fputc('P', out);
                break;
            default:
                if (cp <= 0xFF)
                    fprintf(out, "x%c%c", hex[cp >> 4], hex[cp & 0xF]);
                else if (cp <= 0xFFFF)
                    fprintf(out, "u%04X", (unsigned)cp);
                else
                    fprintf(out, "U%08X", (unsigned)cp);
            }
        } else {
            fwrite(s, 1, n, out);
        }
        s += n;
    }
    fputc('"', out);
}

static void es_write_single(FILE *out, const char *s)
{
    fputc('\'', out);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', out);
        fputc(*s, out);
    }
    fputc('\'', out);
}

/* Literal block: header, then every line at indent + 2 (empty lines stay empty). */
static void es_write_literal(FILE *out, const char *s, int indent)
{
    size_t len = strlen(s);
    fputc('|', out);
    if (s[0] == ' ' || s[0] == '\n')
        fputc('2', out);
    if (len == 0 || s[len - 1] != '\n')
        fputc('-', out);
    else if (len == 1 || s[len - 2] == '\n')
        fputc('+', out);
    fputc('\n', out);
    const char *p = s;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n)
            fprintf(out, "%*s%.*s", indent + 2, "", (int)n, p);
        if (!nl)
            break;
        fputc('\n', out);
        p = nl + 1;
    }
    if (len && s[len - 1] != '\n')
        fputc('\n', out);
}

bool emit_yaml_key_is_complex(const char *s)
{
    return strlen(s) > 128 || strpbrk(s, "\r\n") != NULL;
}

bool emit_yaml_string(FILE *out, const char *s, int indent, bool is_key)
{
    struct es_analysis a = es_analyze(s);
    bool multiline_text = strchr(s, '\n') != NULL;
    if (multiline_text) {
        if (!is_key && a.block_allowed) {
            es_write_literal(out, s, indent);
            return true;
        }
        es_write_double(out, s);
        return false;
    }
    if (es_can_use_plain(s)) {
        if (a.block_plain_allowed && !(is_key && a.multiline)) {
            fputs(s, out);
            return false;
        }
        if (a.single_quoted_allowed) {
            es_write_single(out, s);
            return false;
        }
    }
    es_write_double(out, s);
    return false;
}

/* ---- yaml.v3 key order -------------------------------------------------------------------- */

static bool es_is_letter(int32_t cp)
{
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp >= 0xAA;
}

static bool es_is_digit(int32_t cp)
{
    return cp >= '0' && cp <= '9';
}

/* Decodes a string into code points (invalid bytes as U+FFFD). Returns the count. */
static size_t es_runes(const char *str, int32_t *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n = 0;
    while (*s && n < cap) {
        size_t w;
        int32_t cp = es_utf8(s, &w);
        out[n++] = cp < 0 ? 0xFFFD : cp;
        s += w;
    }
    return n;
}

/* Compares two runs of ASCII digits as numbers (an empty run is 0). With `prefix`, both are
 * read as if preceded by a 1, so leading zeros count. */
static int es_cmp_digits(const int32_t *a, size_t an, const int32_t *b, size_t bn, bool prefix)
{
    if (!prefix) {
        while (an && *a == '0')
            a++, an--;
        while (bn && *b == '0')
            b++, bn--;
    }
    if (an != bn)
        return an < bn ? -1 : 1;
    for (size_t k = 0; k < an; k++)
        if (a[k] != b[k])
            return a[k] < b[k] ? -1 : 1;
    return 0;
}

static int es_key_cmp_runes(const int32_t *ar, size_t al, const int32_t *br, size_t bl);

int emit_yaml_key_cmp(const char *a, const char *b)
{
    int32_t sa[128], sb[128];
    size_t na = strlen(a), nb = strlen(b);
    int32_t *ar = na < 128 ? sa : xcalloc(na + 1, sizeof(int32_t));
    int32_t *br = nb < 128 ? sb : xcalloc(nb + 1, sizeof(int32_t));
    size_t al = es_runes(a, ar, na + 1), bl = es_runes(b, br, nb + 1);
    int r = es_key_cmp_runes(ar, al, br, bl);
    if (ar != sa)
        free(ar);
    if (br != sb)
        free(br);
    return r;
}

static int es_key_cmp_runes(const int32_t *ar, size_t al, const int32_t *br, size_t bl)
{
    bool digits = false;
    for (size_t i = 0; i < al && i < bl; i++) {
        if (ar[i] == br[i]) {
            digits = es_is_digit(ar[i]);
            continue;
        }
        bool la = es_is_letter(ar[i]), lb = es_is_letter(br[i]);
        if (la && lb)
            return ar[i] < br[i] ? -1 : 1;
        if (la || lb) {
            if (digits)
                return la ? -1 : 1;
            return lb ? -1 : 1;
        }
        /* Numeric value of the digit runs starting at i. A leading '0' continues a number
         * when a non-zero digit precedes it (Go's code then starts both values at 1). Compared
         * as arbitrary-length numbers: equal to Go's int64 comparison whenever that does not
         * overflow, and a consistent order when it would. */
        bool prefix = false;
        if (ar[i] == '0' || br[i] == '0') {
            for (size_t j = i; j-- > 0 && es_is_digit(ar[j]);) {
                if (ar[j] != '0') {
                    prefix = true;
                    break;
                }
            }
        }
        size_t ai = i, bi = i;
        while (ai < al && es_is_digit(ar[ai]))
            ai++;
        while (bi < bl && es_is_digit(br[bi]))
            bi++;
        int num = es_cmp_digits(ar + i, ai - i, br + i, bi - i, prefix);
        if (num)
            return num;
        if (ai != bi)
            return ai < bi ? -1 : 1;
        return ar[i] < br[i] ? -1 : 1;
    }
    if (al == bl)
        return 0;
    return al < bl ? -1 : 1;
}
