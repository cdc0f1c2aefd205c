/* registry: the compiled-in component types, one explicit table per family (DESIGN §5).
 * A type is listed here only when it works end to end; GOST types that are not here are
 * reported as "not supported yet" by the builders (config/gost_types.h knows GOST's names). */
#include <stdio.h>
#include <string.h>

#include "config/gost_types.h"
#include "service/component.h"

extern const struct listener_type listener_tcp, listener_udp, listener_unix;
extern const struct handler_type handler_tcp, handler_udp, handler_forward, handler_unix;
extern const struct dialer_type dialer_tcp, dialer_udp, dialer_unix, dialer_direct, dialer_virtual;
extern const struct connector_type connector_forward, connector_tcp, connector_unix,
    connector_direct, connector_virtual;
extern const struct handler_type handler_socks4, handler_socks4a, handler_socks5, handler_socks;
extern const struct connector_type connector_socks4, connector_socks4a, connector_socks5,
    connector_socks;
extern const struct listener_type listener_tls;
extern const struct dialer_type dialer_tls;
extern const struct handler_type handler_http, handler_auto;
extern const struct connector_type connector_http;

static const struct listener_type *const listeners[] = {
    &listener_tcp,
    &listener_udp,
    &listener_unix,
    &listener_tls,
};

static const struct handler_type *const handlers[] = {
    &handler_tcp,  &handler_udp,    &handler_forward, &handler_unix,   &handler_http,
    &handler_auto, &handler_socks4, &handler_socks4a, &handler_socks5, &handler_socks,
};

static const struct dialer_type *const dialers[] = {
    &dialer_tcp, &dialer_udp, &dialer_unix, &dialer_direct, &dialer_virtual, &dialer_tls,
};

static const struct connector_type *const connectors[] = {
    &connector_forward, &connector_tcp,   &connector_unix,   &connector_direct,
    &connector_virtual, &connector_http,  &connector_socks4, &connector_socks4a,
    &connector_socks5,  &connector_socks,
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define LOOKUP(table, name)                                                                        \
    do {                                                                                           \
        for (size_t i = 0; name && i < NELEM(table); i++)                                          \
            if (strcmp(table[i]->name, name) == 0)                                                 \
                return table[i];                                                                   \
        return NULL;                                                                               \
    } while (0)

const struct listener_type *registry_listener(const char *name)
{
    LOOKUP(listeners, name);
}

const struct handler_type *registry_handler(const char *name)
{
    LOOKUP(handlers, name);
}

const struct dialer_type *registry_dialer(const char *name)
{
    LOOKUP(dialers, name);
}

const struct connector_type *registry_connector(const char *name)
{
    LOOKUP(connectors, name);
}

#define PRINT(f, label, table)                                                                     \
    do {                                                                                           \
        fprintf(f, "%-11s", label);                                                                \
        for (size_t i = 0; i < NELEM(table); i++)                                                  \
            fprintf(f, " %s", table[i]->name);                                                     \
        fputc('\n', f);                                                                            \
    } while (0)

void registry_print(void *file)
{
    FILE *f = file;
    PRINT(f, "listeners:", listeners);
    PRINT(f, "handlers:", handlers);
    PRINT(f, "dialers:", dialers);
    PRINT(f, "connectors:", connectors);
}

void registry_type_error(struct cfg_errs *errs, struct cval_pos pos, int family,
                         const char *family_name, const char *name)
{
    if (gost_type_known((enum gost_family)family, name))
        cfg_errs_add(errs, pos, "%s type \"%s\" is not supported yet", family_name, name);
    else
        cfg_errs_add(errs, pos, "unknown %s type \"%s\"", family_name, name);
}
