/* xmalloc: allocation that never fails (DESIGN §7: out of memory aborts the process).
 *
 * Every function returns memory the caller owns and frees with free(). A zero size is treated as
 * one byte, so the result is never NULL.
 */
#ifndef GOST_CORE_XMALLOC_H
#define GOST_CORE_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
