/* Scalar text extraction around libfyaml 0.7.12 bugs, and the input text check (contract in
 * yaml_text.h). */
#include "config/yaml_text.h"
#include "core/xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Copies a token's text into a new NUL-terminated buffer (*lenp = its length), or NULL for no
 * token. Works around two libfyaml 0.7.12 bugs: fy_token_get_text() caches a buffer inside the
 * token that leaks when a parse error also references the token, and fy_token_iter_read()
 * returns scrambled text for escaped scalars. Chunk iteration is correct and allocation-free. */
char *yaml_text_token(struct fy_token *t, size_t *lenp)
{
    if (!t)
        return NULL;
    struct fy_token_iter *it = fy_token_iter_create(t);
    if (!it)
        abort();
    size_t cap = 64, len = 0;
    char *buf = xmalloc(cap);
    const struct fy_iter_chunk *ic = NULL;
    int err = 0;
    while ((ic = fy_token_iter_chunk_next(it, ic, &err)) != NULL) {
        if (ic->len >= cap - len) {
            while (ic->len >= cap - len)
                cap *= 2;
            buf = xrealloc(buf, cap);
        }
        memcpy(buf + len, ic->str, ic->len);
        len += ic->len;
    }
    fy_token_iter_destroy(it);
    buf[len] = '\0';
    if (lenp)
        *lenp = len;
    return buf;
}

/* Decodes a single-quoted scalar from its source span (between the quotes): '' is a quote,
 * line breaks fold (one break = a space, n+1 breaks = n newlines) with the blanks around them
 * dropped. Used instead of libfyaml's chunk iterator, which mangles runs of ''. */
static char *yaml_text_single_quoted(const char *raw, size_t n, size_t *lenp)
{
    char *out = xmalloc(n + 1);
    size_t o = 0, i = 0;
    while (i < n) {
        char ch = raw[i];
        if (ch == '\'' && i + 1 < n && raw[i + 1] == '\'') {
            out[o++] = '\'';
            i += 2;
            continue;
        }
        if (ch != '\n' && ch != '\r') {
            out[o++] = ch;
            i++;
            continue;
        }
        while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\t'))
            o--;
        size_t breaks = 0;
        for (;;) {
            if (i < n && raw[i] == '\r')
                i++;
            if (i < n && raw[i] == '\n')
                i++;
            size_t j = i;
            while (j < n && (raw[j] == ' ' || raw[j] == '\t'))
                j++;
            i = j;
            if (j < n && (raw[j] == '\n' || raw[j] == '\r')) {
                breaks++;
                continue;
            }
            break;
        }
        if (breaks == 0) {
            out[o++] = ' ';
        } else {
            for (size_t k = 0; k < breaks && o < n; k++)
                out[o++] = '\n';
        }
    }
    out[o] = '\0';
    *lenp = o;
    return out;
}

char *yaml_text_scalar(struct fy_token *t, const char *src, size_t src_len, size_t *lenp)
{
    if (t && fy_token_scalar_style(t) == FYSS_SINGLE_QUOTED) {
        const struct fy_mark *sm = fy_token_start_mark(t), *em = fy_token_end_mark(t);
        if (sm && em && sm->input_pos <= em->input_pos && em->input_pos <= src_len)
            return yaml_text_single_quoted(src + sm->input_pos, em->input_pos - sm->input_pos,
                                           lenp);
    }
    return yaml_text_token(t, lenp);
}

bool yaml_text_check(const char *text, size_t len, const char *file, struct cfg_errs *errs)
{
    const unsigned char *s = (const unsigned char *)text;
    int line = 1, col = 1;
    size_t i = 0;
    if (len >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
        i = 3; /* UTF-8 byte order mark */
    while (i < len) {
        unsigned char c = s[i];
        uint32_t cp;
        size_t n;
        if (c < 0x80) {
            cp = c;
            n = 1;
        } else if ((c & 0xE0) == 0xC0) {
            cp = c & 0x1F;
            n = 2;
        } else if ((c & 0xF0) == 0xE0) {
            cp = c & 0x0F;
            n = 3;
        } else if ((c & 0xF8) == 0xF0) {
            cp = c & 0x07;
            n = 4;
        } else {
            n = 0;
            cp = 0;
        }
        bool ok = n > 0 && i + n <= len;
        for (size_t k = 1; ok && k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                ok = false;
            else
                cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
        if (ok && (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)))
            ok = false;
        if (!ok) {
            cfg_errs_add(errs, (struct cval_pos){file, line, col}, "invalid UTF-8 byte 0x%02X",
                         (unsigned)c);
            return false;
        }
        bool printable = cp == 0x09 || cp == 0x0A || cp == 0x0D || (cp >= 0x20 && cp <= 0x7E) ||
                         cp == 0x85 || (cp >= 0xA0 && cp <= 0xD7FF) ||
                         (cp >= 0xE000 && cp <= 0xFFFD) || cp >= 0x10000;
        if (!printable) {
            cfg_errs_add(errs, (struct cval_pos){file, line, col},
                         "control character U+%04X is not allowed", (unsigned)cp);
            return false;
        }
        if (cp == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
        i += n;
    }
    return true;
}
