/* gost_types: the component type names GOST v3 registers, per family.
 *
 * This is GOST's registry as the Go `gost` binary links it (go-gost/x registrations blank-
 * imported by go-gost/gost cmd/gost/register.go, HEAD names included; inventory §1.1–1.4),
 * NOT the list of types this implementation supports. The command line uses it for GOST's
 * scheme fallbacks (an unknown handler becomes `auto`, an unknown listener `tcp`, an unknown
 * connector `http`, an unknown dialer `tcp`), so that -O prints what GOST would print; the
 * builder uses it to tell "a GOST type we do not implement yet" from "no such type".
 *
 * Names are matched exactly (GOST's registry is case-sensitive; URL schemes arrive
 * lower-cased). Pure data, thread-safe.
 */
#ifndef GOST_CONFIG_GOST_TYPES_H
#define GOST_CONFIG_GOST_TYPES_H

#include <stdbool.h>
#include <stddef.h>

enum gost_family {
    GOST_FAMILY_LISTENER,
    GOST_FAMILY_HANDLER,
    GOST_FAMILY_DIALER,
    GOST_FAMILY_CONNECTOR,
};

/* True when GOST registers `name` in `family`. NULL is never known. */
bool gost_type_known(enum gost_family family, const char *name);

/* True when `name` exists in GOST HEAD only (not in stable v3.2.6). False for unknown names. */
bool gost_type_head_only(enum gost_family family, const char *name);

/* The registered names of a family, sorted; *n receives the count. Borrowed, static. */
const char *const *gost_type_names(enum gost_family family, size_t *n);

/* "listener", "handler", "dialer" or "connector". */
const char *gost_type_family_name(enum gost_family family);

#endif
