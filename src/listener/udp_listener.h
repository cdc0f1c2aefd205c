/* udp_listener: shared knobs of the udp listener (listener/udp.c) that its handler needs. */
#ifndef GOST_LISTENER_UDP_LISTENER_H
#define GOST_LISTENER_UDP_LISTENER_H

#include <stdint.h>

#include "config/cfg_err.h"
#include "config/cval.h"

/* Idle time after which a UDP session ends (GOST's `ttl`, alias `keepalive.ttl`). GOST's default
 * is 5 s with one reply per session; ours keeps sessions, so a longer idle default fits
 * games/VoIP/WireGuard (their keepalives are 10–25 s). */
#define UDP_DEFAULT_TTL_MS 60000

/* Reads the ttl from listener metadata (UDP_DEFAULT_TTL_MS if absent). 0 or -EINVAL. */
int udp_listener_ttl_ms(const struct cval *md, int64_t *out, struct cfg_errs *errs);

#endif
