/* smux_md: the smux session settings of GOST's "mux.*" metadata (see smux.h). */
#include "config/cfg_err.h"
#include "config/md.h"
#include "config/schema.h"
#include "net/smux.h"
#include "service/component.h"

static int smux_md_size(const struct cval *md, const char *const *keys, uint32_t *out, int64_t max,
                        struct cfg_errs *errs, const struct cval *node)
{
    int64_t v = 0;
    enum md_status st = md_parse_int(md, keys, &v, errs);
    if (st == MD_INVALID)
        return -1;
    if (st == MD_ABSENT || v <= 0)
        return 0;
    if (v > max) {
        cfg_errs_add(errs, cfg_pos_of(node, "metadata"), "metadata \"%s\": %lld is over %lld",
                     keys[0], (long long)v, (long long)max);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

int smux_config_from_md(const struct cval *md, const struct cval *node, struct smux_config *cfg,
                        struct cfg_errs *errs)
{
    smux_config_default(cfg);
    int64_t ver = 0, ka = 0, kt = 0;
    bool off = false;
    if (md_parse_int(md, MD_KEYS("mux.version"), &ver, errs) == MD_INVALID ||
        md_parse_bool(md, MD_KEYS("mux.keepaliveDisabled"), &off, errs) == MD_INVALID ||
        md_parse_duration(md, MD_KEYS("mux.keepaliveInterval"), &ka, errs) == MD_INVALID ||
        md_parse_duration(md, MD_KEYS("mux.keepaliveTimeout"), &kt, errs) == MD_INVALID ||
        smux_md_size(md, MD_KEYS("mux.maxFrameSize"), &cfg->max_frame, 65535, errs, node) < 0 ||
        smux_md_size(md, MD_KEYS("mux.maxReceiveBuffer"), &cfg->max_recv_buf, 1 << 30, errs, node) <
            0 ||
        smux_md_size(md, MD_KEYS("mux.maxStreamBuffer"), &cfg->max_stream_buf, 1 << 30, errs,
                     node) < 0)
        return -1;
    if (ver > 0) {
        if (ver > 2) {
            cfg_errs_add(errs, cfg_pos_of(node, "metadata"),
                         "metadata \"mux.version\": %lld (smux knows 1 and 2)", (long long)ver);
            return -1;
        }
        cfg->version = (int)ver;
    }
    if (ka > 0)
        cfg->keepalive_ms = ka / 1000000 > 0 ? ka / 1000000 : 1;
    if (kt > 0)
        cfg->keepalive_timeout_ms = kt / 1000000 > 0 ? kt / 1000000 : 1;
    if (off) {
        cfg->keepalive_ms = 0;
        cfg->keepalive_timeout_ms = 0;
    } else if (cfg->keepalive_ms > cfg->keepalive_timeout_ms) {
        cfg_errs_add(errs, cfg_pos_of(node, "metadata"),
                     "metadata \"mux.keepaliveInterval\" is longer than mux.keepaliveTimeout");
        return -1;
    }
    if (cfg->max_stream_buf > cfg->max_recv_buf) {
        cfg_errs_add(errs, cfg_pos_of(node, "metadata"),
                     "metadata \"mux.maxStreamBuffer\" is larger than mux.maxReceiveBuffer");
        return -1;
    }
    return 0;
}
