/* Fuzz target for proto/socks4: the request decoder fed at once and step by step (the `need`
 * protocol) must agree; decoded requests re-encode to the same bytes (4a with DSTIP 0.0.0.x
 * is normalised to 0.0.0.1, so those bytes are compared around it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/socks4.h"

int LLVMFuzzerTestOneInput(const uint8_t *b, size_t n)
{
    struct socks4_request r;
    size_t need = 0, have = 0;
    ssize_t rs = 0;
    need = 1;
    for (;;) {
        have = need > n ? n : need;
        rs = socks4_request_decode(b, have, &r, &need);
        if (rs != 0 || have == n)
            break;
        if (need <= have || need > SOCKS4_REQUEST_MAX)
            abort();
    }
    ssize_t r2 = socks4_request_decode(b, n, &r, &need);
    if ((rs > 0) != (r2 > 0) || (rs > 0 && rs != r2))
        abort();
    if (r2 > 0) {
        uint8_t out[SOCKS4_REQUEST_MAX];
        ssize_t e = socks4_request_encode(out, sizeof out, &r);
        if (e != r2 || memcmp(out, b, 7) || memcmp(out + 8, b + 8, (size_t)e - 8))
            abort();
        char t[300];
        if (socks4_request_target(&r, t, sizeof t) < 0)
            abort();
    }
    uint8_t code;
    if (n >= SOCKS4_REPLY_LEN)
        socks4_reply_decode(b, &code);
    return 0;
}
