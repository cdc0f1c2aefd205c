/* Fuzz target for proto/socks5: every decoder on the input (selected by the first byte), fed
 * both at once and step by step as the `need` protocol asks; the results must agree, `need`
 * must grow and stay within the message maximum, and decoded messages must re-encode to the
 * same bytes. The UDP-TUN stream decoder is fed in chunks of varying size and must find the
 * same frames as a one-shot parse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/socks5.h"

/* Run a need-driven decoder stepwise; abort on contract violations. */
#define STEPWISE(b, n, max, call)                                                                  \
    ({                                                                                             \
        size_t have_ = 0, need_ = 1;                                                               \
        ssize_t r_ = 0;                                                                            \
        for (;;) {                                                                                 \
            have_ = need_ > (n) ? (n) : need_;                                                     \
            r_ = call;                                                                             \
            if (r_ != 0 || have_ == (n))                                                           \
                break;                                                                             \
            if (need_ <= have_ || need_ > (max))                                                   \
                abort();                                                                           \
        }                                                                                          \
        r_;                                                                                        \
    })

static void fuzz_tun(const uint8_t *b, size_t n, size_t step)
{
    struct socks5_tun_dec d;
    socks5_tun_dec_init(&d);
    size_t off = 0, frames = 0;
    size_t ref_off = 0, ref_frames = 0;
    /* reference: one-shot parse */
    for (;;) {
        struct socks5_udp_hdr h;
        size_t need = 0;
        ssize_t r = socks5_udp_hdr_decode(b + ref_off, n - ref_off, &h, &need);
        if (r <= 0 || n - ref_off - (size_t)r < h.rsv)
            break;
        ref_off += (size_t)r + h.rsv;
        ref_frames++;
    }
    while (off < n) {
        size_t end = off + step > n ? n : off + step;
        if (!d.in_payload) {
            ssize_t k = socks5_tun_dec_header(&d, b + off, end - off);
            if (k < 0)
                break;
            off += (size_t)k;
            if (!d.in_payload)
                continue;
        }
        size_t m = end - off < d.remaining ? end - off : d.remaining;
        off += m;
        if (socks5_tun_dec_payload(&d, m))
            frames++;
        else if (off < end)
            abort();
    }
    if (frames < ref_frames)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    const uint8_t *b = data + 1;
    size_t n = size - 1;
    uint8_t out[SOCKS5_USERPASS_MAX + 16];
    switch (sel % 6) {
    case 0: {
        uint8_t m[255];
        size_t nm = 0, need = 0;
        ssize_t r =
            STEPWISE(b, n, SOCKS5_GREETING_MAX, socks5_greeting_decode(b, have_, m, &nm, &need_));
        ssize_t r2 = socks5_greeting_decode(b, n, m, &nm, &need);
        if ((r > 0) != (r2 > 0) || (r > 0 && r != r2))
            abort();
        if (r2 > 0) {
            if (socks5_greeting_encode(out, sizeof out, m, nm) != r2 || memcmp(out, b, (size_t)r2))
                abort();
            uint8_t sel_m = socks5_select_method(m, nm, sel & 0x40, sel & 0x80);
            if (sel_m != SOCKS5_METHOD_NONE && !memchr(m, sel_m, nm))
                abort();
        }
        break;
    }
    case 1: {
        char u[256], p[256];
        size_t need = 0;
        ssize_t r =
            STEPWISE(b, n, SOCKS5_USERPASS_MAX, socks5_userpass_decode(b, have_, u, p, &need_));
        ssize_t r2 = socks5_userpass_decode(b, n, u, p, &need);
        if ((r > 0) != (r2 > 0) || (r > 0 && r != r2))
            abort();
        if (r2 > 0 &&
            (socks5_userpass_encode(out, sizeof out, u, p) != r2 || memcmp(out, b, (size_t)r2)))
            abort();
        break;
    }
    case 2:
    case 3: {
        uint8_t code;
        struct socks5_addr a;
        size_t need = 0;
        ssize_t r =
            STEPWISE(b, n, SOCKS5_REQUEST_MAX, socks5_request_decode(b, have_, &code, &a, &need_));
        ssize_t r2 = socks5_request_decode(b, n, &code, &a, &need);
        if ((r > 0) != (r2 > 0) || (r > 0 && r != r2))
            abort();
        if (r2 > 0) {
            ssize_t e = socks5_request_encode(out, sizeof out, code, &a);
            /* RSV is not checked by the decoder: compare around it */
            if (e != r2 || out[0] != b[0] || out[1] != b[1] ||
                memcmp(out + 3, b + 3, (size_t)e - 3))
                abort();
            char s[300];
            if (socks5_addr_format(&a, s, sizeof s) < 0)
                abort();
            struct socks5_addr back;
            if (a.atyp != SOCKS5_ATYP_DOMAIN &&
                (socks5_addr_parse(&back, s) < 0 || back.port != a.port))
                abort();
        }
        break;
    }
    case 4: {
        struct socks5_udp_hdr h;
        size_t need = 0;
        ssize_t r = STEPWISE(b, n, SOCKS5_UDP_HDR_MAX, socks5_udp_hdr_decode(b, have_, &h, &need_));
        ssize_t r2 = socks5_udp_hdr_decode(b, n, &h, &need);
        if ((r > 0) != (r2 > 0) || (r > 0 && r != r2))
            abort();
        if (r2 > 0 &&
            (socks5_udp_hdr_encode(out, sizeof out, &h) != r2 || memcmp(out, b, (size_t)r2)))
            abort();
        break;
    }
    default:
        fuzz_tun(b, n, 1 + (sel >> 3));
        fuzz_tun(b, n, n ? n : 1);
        break;
    }
    return 0;
}
