/* cfg_errs: a bounded list of positioned configuration errors.
 *
 * Every config stage (YAML parsing, typed loading, metadata validation, service building) adds
 * its errors here instead of stopping at the first one, so a user sees every problem of a file
 * in one run. Each error prints as `file:line:col: message` (the position part shrinks to
 * `file: ` when the line is unknown and disappears when the file is unknown).
 *
 * Ownership: the list owns the message strings; cfg_errs_free() releases them (the struct itself
 * is caller storage, typically on the stack). Positions borrow interned file names.
 * At most CFG_ERRS_MAX errors are stored; further ones are only counted in `dropped`.
 */
#ifndef GOST_CONFIG_CFG_ERR_H
#define GOST_CONFIG_CFG_ERR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "config/cval.h"

#define CFG_ERRS_MAX 20

struct cfg_err {
    struct cval_pos pos;
    char *msg; /* owned */
};

struct cfg_errs {
    struct cfg_err items[CFG_ERRS_MAX];
    size_t n;       /* stored errors */
    size_t dropped; /* errors beyond CFG_ERRS_MAX, counted only */
};

/* Initializes an empty list (a zeroed struct is also a valid empty list). */
void cfg_errs_init(struct cfg_errs *e);

/* Adds an error at `pos` with a printf-style message. `e` may be NULL (the error is dropped). */
void cfg_errs_add(struct cfg_errs *e, struct cval_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cfg_errs_vadd(struct cfg_errs *e, struct cval_pos pos, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Total number of errors seen (stored + dropped). */
size_t cfg_errs_count(const struct cfg_errs *e);

/* Formats error i as "file:line:col: message" into buf (always NUL-terminated when len > 0).
 * Returns the length the full text needs (like snprintf). */
int cfg_err_format(const struct cfg_err *err, char *buf, size_t len);

/* Writes every stored error, one per line, then "... and N more errors" if some were dropped. */
void cfg_errs_print(const struct cfg_errs *e, FILE *out);

/* Frees the messages and resets the list to empty. */
void cfg_errs_free(struct cfg_errs *e);

#endif
