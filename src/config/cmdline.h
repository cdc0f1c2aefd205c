/* cmdline: the command line (-L services, -F chain hops) → a configuration tree.
 *
 * Reproduces go-gost/x config/cmd/cmd.go BuildConfigFromCmd (GOST HEAD): each -L value
 * becomes one service per listen port, all -F values become the hops of one chain
 * `chain-0`, and query options become metadata or the special objects GOST creates for them
 * (bypass-N, admission-N, resolver-N, hosts-N, limiter-N, climiter-N, rlimiter-N). The
 * result is a CVAL_MAP with exactly the shape and JSON key spellings a YAML/JSON config file
 * would parse into, so the typed loader (cfg_load_cval, config/schema.h) validates both the
 * same way. The rules, and where we deliberately differ from GOST, are in docs/cli.md.
 *
 * The tree:
 *   services:   [ {name, addr, admission?, bypass?, resolver?, hosts?, limiter?, climiter?,
 *                  rlimiter?, handler: {type, retries?, chain?, auth?, metadata?},
 *                  listener: {type, chain?, auth?, tls?, metadata?},
 *                  forwarder?: {selector?, nodes: [{name, addr}]}, metadata?} ]  (always present)
 *   chains:     [ {name: chain-0, hops: [ {name, selector?, bypass?, resolver?, hosts?,
 *                  nodes: [ {name, addr, connector: {type, auth?, metadata?},
 *                            dialer: {type, auth?, tls?, metadata?}, metadata?} ],
 *                  metadata?} ]} ]                                         (only with -F)
 *   admissions, bypasses, resolvers, hosts, limiters, climiters, rlimiters  (only when used)
 * Metadata values are the query strings as written (decoded), except `so_mark` and
 * `proxyProtocol` moved to service/hop metadata (integers, as in GOST) and `dns` (a list).
 * Metadata keys are sorted (Go's encoders sort map keys). Durations (selector failTimeout) are
 * Go duration strings ("30s"); integers (maxFails, retries) are CVAL_INT.
 *
 * Positions: every node's file is the interned label "-L[i]" / "-F[i]" (0-based index among
 * the -L resp. -F values), line 1, col the 1-based byte offset in that argument of the text it
 * comes from (col 1 for values GOST synthesizes, such as the implicit "auto" scheme).
 */
#ifndef GOST_CONFIG_CMDLINE_H
#define GOST_CONFIG_CMDLINE_H

#include <stddef.h>

#include "config/cval.h"

/* Upper bounds on what a single value may fan out into (a port range copies the options of
 * the value into every service it creates, a -F node list into every node): at most
 * CMDLINE_MAX_FANOUT bytes of copied option text ((services or nodes) × (query length + 64)
 * × 3 scopes) and CMDLINE_MAX_NODES tree nodes ((services or nodes) × (3 × options + 16)).
 * Beyond either the value is rejected (-E2BIG); GOST has no limit. */
#define CMDLINE_MAX_FANOUT (64u * 1024 * 1024)
#define CMDLINE_MAX_NODES  (2u * 1024 * 1024)

struct cmdline_opts {
    /* Prefix for generated forward-target names ("target-N"), as GOST does with
     * "go-<_GOST_ID>@" inside `--` worker processes. NULL or "" = none. Borrowed. */
    const char *target_prefix;
    /* Tree-node bound per value (0 = CMDLINE_MAX_NODES); fuzzers set it low. */
    size_t max_nodes;
};

/* Translates nL -L values and nF -F values (borrowed; NULL entries are treated as "").
 * On success returns 0 and stores a new tree in *out (caller frees with cval_free).
 * On failure returns -EINVAL (bad URL, bad port, bad ?auth=, empty -F value) or -E2BIG
 * (argument longer than URL_MAX_LEN, port range or fan-out too large), sets *out = NULL and
 * writes one message "-L[i]:1:col: what" into err (always NUL-terminated when errlen > 0).
 * Like GOST, all -F values are processed before the -L values, and blank -L values are
 * skipped. Pure: no I/O, no environment. */
int cmdline_build(const char *const *L, size_t nL, const char *const *F, size_t nF,
                  struct cval **out, char *err, size_t errlen);

/* cmdline_build with options (opts may be NULL). */
int cmdline_build_opts(const char *const *L, size_t nL, const char *const *F, size_t nF,
                       const struct cmdline_opts *opts, struct cval **out, char *err,
                       size_t errlen);

#endif
