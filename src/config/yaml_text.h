/* Text helpers for the YAML loader.
 *
 * yaml_text_check(): the source must be UTF-8 made of YAML's printable characters (tab, LF, CR,
 * U+0020..U+007E, U+0085, U+00A0..U+D7FF, U+E000..U+FFFD, U+10000..), as Go's yaml.v3 demands;
 * a leading byte order mark is allowed. This also keeps invalid UTF-8 away from libfyaml 0.7.12,
 * whose scanner can loop forever on it.
 *
 * yaml_text_token()/yaml_text_scalar(): a token's text as a new NUL-terminated string (caller
 * frees). libfyaml 0.7.12's own accessors are unusable here: fy_token_get_text() caches a buffer
 * in the token that leaks when a parse error also references the token, fy_token_iter_read()
 * scrambles escaped scalars, and chunk iteration mangles runs of '' in single-quoted scalars.
 * So text is read by chunk iteration, except single-quoted scalars, which are decoded from
 * their source span (`src`, the buffer given to the parser).
 */
#ifndef GOST_CONFIG_YAML_TEXT_H
#define GOST_CONFIG_YAML_TEXT_H

#include <libfyaml.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/cfg_err.h"

/* Returns true when the text is acceptable; otherwise adds a positioned error. */
bool yaml_text_check(const char *text, size_t len, const char *file, struct cfg_errs *errs);

/* Text of any token (NULL for a NULL token); *lenp (optional) gets the length. */
char *yaml_text_token(struct fy_token *t, size_t *lenp);

/* Text of a scalar value token parsed from src[0..src_len). */
char *yaml_text_scalar(struct fy_token *t, const char *src, size_t src_len, size_t *lenp);

#endif
