/* auth: GOST authentication (inventory §2.2; docs/auth.md).
 *
 * An auther answers "may user/pass in?" and gives the authenticated client ID (the user name;
 * it feeds the hash selector, limiters, observers). It is built from config:
 *   - handler/listener `auther: name` and/or `authers: [a, b]`: the named top-level `authers:`
 *     entries; a group passes if ANY member passes. An unknown name is a positioned build error.
 *   - otherwise the handler/listener's single `auth: {username, password}` (nothing when the
 *     username is empty, as in GOST). `auth.file` is a client-side field: on a handler/listener it
 *     is a positioned error (GOST ignores it and would leave the service open).
 * A named auther's table = its inline `auths` + the users of its `file` ("user pass" per line,
 * `#` comment lines, blank lines ignored; file users override inline ones). With `reload`, the
 * file is re-read at most once per period (min 1 s, like GOST), triggered by an authentication:
 * that call reads the file on the helper pool (core/pool.h) and swaps the table; concurrent calls
 * on any thread keep using the current table. `redis`, `http`, `plugin` sources are positioned
 * "not supported yet" errors.
 *
 * GOST semantics kept: an entry with an empty password accepts any password for that user; an
 * auther whose table is empty rejects everyone. Passwords are compared in constant time (SHA-256
 * digests compared with CRYPTO_memcmp).
 *
 * Thread safety: an auther is immutable after build except for its table pointer, which is
 * swapped under a mutex with refcounted tables: auther_authenticate() may be called from any
 * worker thread concurrently. auther_free() only when no caller can use it any more.
 *
 * Example (a handler's init / handle):
 *
 *     // init (main thread, build time):
 *     struct auther *au = NULL;
 *     if (auth_build_for_handler(cfg_h, root_cfg, &au, errs) < 0)
 *         return -EINVAL;                          // positioned errors are in errs
 *     h->auther = au;                              // NULL = no authentication configured
 *
 *     // handle (in the session fiber):
 *     char id[AUTH_ID_MAX];
 *     if (h->auther && !auther_authenticate(h->auther, user, pass, remote_str, id, sizeof id)) {
 *         ...protocol's auth failure reply (407 / SOCKS5 0x01 status), close...
 *     }
 *
 *     // free:
 *     auther_free(h->auther);
 */
#ifndef GOST_MODULES_AUTH_H
#define GOST_MODULES_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/cfg_err.h"
#include "config/types.h"

/* Buffer size that always holds a client ID returned by auther_authenticate. */
#define AUTH_ID_MAX 256
/* Longest user name / password accepted from a file line or from a client (longer lines in a
 * file are skipped; longer credentials from a client never match). */
#define AUTH_FIELD_MAX 255

struct auther;

/* True if user/pass are accepted. On success the client ID (the user name, truncated to
 * idlen - 1) is written to id_out when id_out != NULL and idlen > 0; on failure id_out is set to
 * "". client_addr (peer "ip:port", may be NULL) is informational (logged at debug level).
 * user/pass NULL are treated as "". Thread-safe. When the auther has a file with `reload`, the
 * call may re-read the file: in a fiber it parks on the helper pool (bounded by 5 s; on timeout
 * the current table is used), outside a fiber it reads the file inline. */
bool auther_authenticate(const struct auther *a, const char *user, const char *pass,
                         const char *client_addr, char *id_out, size_t idlen);

/* Build the auther of a handler: `auther`/`authers` names resolved in root->authers, else the
 * handler's `auth`. *out = NULL when no authentication is configured. 0, or -EINVAL with
 * positioned errors added to errs (*out = NULL). root is borrowed (not kept). */
int auth_build_for_handler(const struct cfg_handler *h, const struct cfg *root, struct auther **out,
                           struct cfg_errs *errs);

/* Same for a listener (ssh/sshd transports authenticate at the listener). */
int auth_build_for_listener(const struct cfg_listener *l, const struct cfg *root,
                            struct auther **out, struct cfg_errs *errs);

/* The general form behind both (also for api/metrics, which have `auther` and `auth`):
 * node = the owning object's config map (for error positions, may be NULL), what = its label in
 * messages ("handler", "listener", "api"...). authers may be NULL with n_authers == 0. */
int auth_build(const char *auther, char *const *authers, size_t n_authers,
               const struct cfg_auth *auth, const struct cfg *root, const struct cval *node,
               const char *what, struct auther **out, struct cfg_errs *errs);

/* Build one named auther from its config (inline auths + file + reload). The file is read once
 * here, synchronously (an unreadable file is a positioned error). 0 or -EINVAL. */
int auth_build_named(const struct cfg_auther *cfg, struct auther **out, struct cfg_errs *errs);

/* Free an auther (and a group's members). NULL-safe. */
void auther_free(struct auther *a);

/* Client side: the credentials a connector/dialer sends. With a.file set and readable, the first
 * "user pass" line of that file (a line with only a user gives an empty password); otherwise
 * a.username/a.password. Returns 1 (credentials written, NUL-terminated), 0 (none configured:
 * a == NULL or empty username; user/pass set to ""), -ENAMETOOLONG (a buffer is too small).
 * Reads the file synchronously: call at build time, not on the data path. */
int auth_client_creds(const struct cfg_auth *a, char *user, size_t ul, char *pass, size_t pl);

/* Tests: make the auther's (and a group's members') reload logic use now_ms() instead of the
 * monotonic clock (NULL restores it); the next reload becomes due one period after now_ms().
 * auther_reload_count: file reloads done so far. Not for production code. */
void auther_set_clock(struct auther *a, int64_t (*now_ms)(void));
unsigned auther_reload_count(const struct auther *a);

#endif
