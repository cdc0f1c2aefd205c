/* smux: xtaci/smux v1/v2 stream multiplexing over one `struct conn` (inventory §5.7,
 * docs/smux.md).
 *
 * Frame: VER(1) CMD(1) LEN(LE16) SID(LE32) then LEN bytes. CMD: SYN 0, FIN 1, PSH 2, NOP 3,
 * UPD 4 (v2 only: consumed LE32, window LE32). The client opens odd stream ids from 3, the server
 * even ids from 2 (xtaci: nextStreamID 1 / 0, += 2 before each open).
 *
 * One reader fiber per session demultiplexes frames into per-stream queues; the session's total
 * of buffered bytes is bounded by max_recv_buf (the reader stops reading the conn while it is
 * exceeded, as xtaci does). v2: per-stream flow control (window max_stream_buf, UPD after the
 * first read and after every max_stream_buf/2 consumed; the sender starts with a 256 KiB window).
 * Keepalive: a NOP every keepalive_ms; the session dies when no byte arrives for
 * keepalive_timeout_ms. A FIN (shutdown or close of one stream) never ends the session.
 *
 * Malformed input (wrong version, unknown command, bad length for SYN/FIN/NOP/UPD) closes the
 * session: every stream then reads the bytes it already has and then -ECONNRESET.
 *
 * Streams are `struct conn`s (name "smux"): read/write/shutdown (= FIN)/close/wait_readable;
 * CONN_CTL_FD answers -ENOTSUP, LOCAL/REMOTE_ADDR are the session conn's. One fiber may read
 * while another writes. Everything runs on the worker that created the session.
 */
#ifndef GOST_NET_SMUX_H
#define GOST_NET_SMUX_H

#include <stdbool.h>
#include <stdint.h>

#include "core/conn.h"

#define SMUX_HDR_SIZE 8
enum { SMUX_SYN = 0, SMUX_FIN = 1, SMUX_PSH = 2, SMUX_NOP = 3, SMUX_UPD = 4 };

/* Pending accepted streams (xtaci: 1024); a SYN beyond it is answered with a FIN. */
#define SMUX_ACCEPT_BACKLOG 1024
/* Streams open at once in one session; a SYN beyond it is answered with a FIN. */
#define SMUX_MAX_STREAMS 65536

struct smux_config {
    int version;                  /* 1 or 2 */
    int64_t keepalive_ms;         /* NOP interval (10 s); <= 0 = no NOPs */
    int64_t keepalive_timeout_ms; /* dead after this long without input (30 s); <= 0 = never */
    uint32_t max_frame;           /* largest PSH payload sent (32768, at most 65535) */
    uint32_t max_recv_buf;        /* bytes buffered per session (4 MiB) */
    uint32_t max_stream_buf;      /* v2 window advertised per stream (64 KiB) */
};

struct smux_session;

/* GOST/xtaci defaults (version 1). */
void smux_config_default(struct smux_config *cfg);

struct cval;
struct cfg_errs;
/* Defaults overridden by GOST's metadata mux.version, mux.keepaliveDisabled,
 * mux.keepaliveInterval, mux.keepaliveTimeout, mux.maxFrameSize, mux.maxReceiveBuffer,
 * mux.maxStreamBuffer (checked as xtaci's VerifyConfig does). node: for error positions.
 * 0, or -1 with the error added to errs. */
int smux_config_from_md(const struct cval *md, const struct cval *node, struct smux_config *cfg,
                        struct cfg_errs *errs);

/* Start a session over c (CONSUMED: closed when the session is freed). client: which ids this
 * end opens. cfg NULL = defaults. Must be called in a fiber on c's worker. Never fails (out of
 * memory aborts); a failed fiber spawn gives a session that is already closed. */
struct smux_session *smux_session_new(struct conn *c, bool client, const struct smux_config *cfg);

/* Open a stream (sends SYN). 0 and *out (owned by the caller), or -ECONNRESET (session closed),
 * -EOVERFLOW (stream ids exhausted), -ECANCELED. */
int smux_open(struct smux_session *s, struct conn **out);

/* Wait for a stream the peer opened. 0 and *out (owned), -ETIMEDOUT, -ECONNRESET (session
 * closed), -ECANCELED. */
int smux_accept(struct smux_session *s, struct conn **out, int64_t deadline);

/* Wait until the session is closed (peer gone, keepalive timeout, malformed input,
 * smux_session_close): 0, -ETIMEDOUT, -ECANCELED. */
int smux_wait_closed(struct smux_session *s, int64_t deadline);

/* True once the session is closed. */
bool smux_is_closed(const struct smux_session *s);

/* Streams currently open (not yet closed by their owner). */
unsigned smux_num_streams(const struct smux_session *s);

/* Close the session now (every stream fails, blocked accept/open/read/write return) but keep
 * the caller's reference: smux_session_close() must still be called. */
void smux_session_abort(struct smux_session *s);

/* Release the caller's reference: closes the session (every stream fails) and frees it once the
 * last stream is closed and its fibers have ended. s is invalid afterwards. NULL-safe. */
void smux_session_close(struct smux_session *s);

/* For tests and fuzzing: a session with no reader or keepalive fiber; smux_session_step() reads
 * and handles one frame from the conn (0, or < 0 once the session is closed). Usable off-fiber
 * with a conn that never blocks. */
struct smux_session *smux_session_new_passive(struct conn *c, bool client,
                                              const struct smux_config *cfg);
int smux_session_step(struct smux_session *s);

#endif
