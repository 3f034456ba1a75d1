/*
 * gpcheck/sdk.h - optional helpers for probe authors: what every probe
 * that talks to a server needs and would otherwise rewrite.
 *
 * Link with the static library libgpcheck-sdk.a (pkg-config
 * gpcheck-plugin, or the CMake target gpcheck::plugin); it is position-
 * independent, hidden inside your plugin, and depends on nothing but libc
 * and gpcheck/plugin.h. The shipped probes use these helpers exactly as an
 * outside author does.
 *
 * Every helper that waits is bounded by the attempt's time left
 * (api->time_left_ms): none can hold a probe past its deadline.
 *
 * Return conventions, for every function here: 0 or a non-negative
 * result on success; -1 on failure with errno set and, where there is an
 * `err` buffer, a one-line reason in it (always NUL-terminated). Strings
 * written into caller buffers are truncated to fit, never overflowed.
 */
#ifndef GPCHECK_SDK_H
#define GPCHECK_SDK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>

#include "gpcheck/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- time left, in the forms libraries want ---------------------------- */

/* Milliseconds left as an int for poll(): 0 when none is left, capped at
 * one hour. */
int gp_sdk_poll_ms(gp_ctx *ctx, const gp_api *api);
/* The time left as a struct timeval (for SO_RCVTIMEO, hiredis, select).
 * At least 1 ms, so "no time left" never reads as "no timeout". */
struct timeval gp_sdk_timeval(gp_ctx *ctx, const gp_api *api);
/* Whole seconds left, rounded up, at least 1 (libpq's connect_timeout,
 * ClickHouse's max_execution_time). */
long gp_sdk_seconds(gp_ctx *ctx, const gp_api *api);
/* CLOCK_MONOTONIC in milliseconds, as a double (for *_time metrics). */
double gp_sdk_now_ms(void);

/* ---- sockets bounded by the deadline ----------------------------------- */

typedef enum gp_sdk_connect_error {
    GP_SDK_OK = 0,
    GP_SDK_NO_SUCH_HOST, /* the name does not exist: fatal for a probe */
    GP_SDK_RESOLVER,     /* the resolver failed; may clear up: transient */
    GP_SDK_REFUSED,      /* connection refused: transient */
    GP_SDK_TIMEOUT,      /* the time ran out: transient */
    GP_SDK_OTHER,        /* any other socket error: transient */
} gp_sdk_connect_error;

/*
 * Resolve host (a name, an IPv4 or IPv6 literal) and connect to port over
 * TCP, trying each address in turn, bounded by the time left. Returns a
 * connected, non-blocking, close-on-exec socket, or -1 with *why set and a
 * message naming the address in err ("connection refused by
 * 127.0.0.1:5432"). `addr` (may be NULL) receives the address tried last,
 * as "127.0.0.1:5432" or "[::1]:5432". Name resolution uses getaddrinfo(),
 * which cannot be interrupted; the runner's hard kill is the backstop.
 */
int gp_sdk_tcp_connect(gp_ctx *ctx, const gp_api *api, const char *host,
                       unsigned port, gp_sdk_connect_error *why, char *addr,
                       size_t addrlen, char *err, size_t errlen);

/* Wait until fd is ready for `events` (POLLIN, POLLOUT) or the time runs
 * out: 1 ready, 0 timed out, -1 error. */
int gp_sdk_wait(gp_ctx *ctx, const gp_api *api, int fd, short events);

/* Send all of buf on a non-blocking socket (MSG_NOSIGNAL), waiting as
 * needed. Returns 0, or -1 with errno (ETIMEDOUT when the time ran out). */
int gp_sdk_send_all(gp_ctx *ctx, const gp_api *api, int fd, const void *buf,
                    size_t len);

/* Receive what arrives, waiting for it: the byte count, 0 when the peer
 * closed, -1 with errno (ETIMEDOUT when the time ran out). */
ssize_t gp_sdk_recv(gp_ctx *ctx, const gp_api *api, int fd, void *buf,
                    size_t len);

/* ---- secrets ------------------------------------------------------------ */

/*
 * Read a secret (a password, a token) from a file, refusing one that is
 * not a regular file or that the group or others may read. One trailing
 * newline is removed. Returns the length, or -1 with a reason in err
 * (never the content).
 */
ssize_t gp_sdk_read_secret(const char *path, char *buf, size_t buflen,
                           char *err, size_t errlen);

/*
 * The secret a probe was configured with: the value of the string option
 * `key` (declare it GP_OPT_SECRET) or the content of the file named by the
 * string option `file_key` (declare it GP_OPT_FILE), read with
 * gp_sdk_read_secret(). Either key may be NULL when the plugin has no such
 * option; an empty value counts as unset. Refused: both options set, and a
 * file that is empty, holds a NUL byte or more than `max` bytes (one
 * trailing newline aside; `max` is at most 1 MiB).
 *
 * Returns 1 with *secret a heap copy (the caller frees it with
 * gp_sdk_free_secret()), 0 with *secret NULL when neither option is set,
 * or -1 with *secret NULL, errno set (ENOMEM: out of memory, the probe's
 * trouble rather than the configuration's) and a one-line reason in err
 * that names the option, never the secret ("set password or
 * password_file, not both", "password_file /run/pw is empty").
 */
int gp_sdk_secret(gp_ctx *ctx, const gp_api *api, const char *key,
                  const char *file_key, size_t max, char **secret, char *err,
                  size_t errlen);

/* Wipe a secret (a NUL-terminated heap string, such as gp_sdk_secret()
 * returns) and free it. NULL is fine. */
void gp_sdk_free_secret(char *secret);

/* Copy a URL with its password masked: scheme://user:secret@host ->
 * scheme://user:***@host (the user info ends at the authority's last '@',
 * so a password holding an '@' is masked whole). Returns out. */
char *gp_sdk_mask_url(const char *url, char *out, size_t outlen);

/* Copy text with every occurrence of each of the n `secrets` masked as
 * ***: for a secret the core cannot mask because the plugin learned it
 * itself (a token fetched at run time, a value inside a longer option).
 * NULL and empty secrets are skipped; where two start at the same place,
 * the longer is masked. What does not fit in out is cut before a whole
 * character or a whole "***", so no part of a secret survives a cut; the
 * input is never cut, so give it whole. Returns out. */
char *gp_sdk_mask_secrets(const char *in, const char *const *secrets, size_t n,
                          char *out, size_t outlen);

/* Copy a "k1=v1 k2=v2" string (libpq conninfo style; values may be
 * 'quoted') with the values of the given keys masked as ***. `keys` ends
 * with NULL. Returns out. */
char *gp_sdk_mask_kv(const char *s, const char *const *keys, char *out,
                     size_t outlen);

/* ---- validation (ABI 1.2 validate()) ------------------------------------- */

/* Whether `host` can name a host to connect to: an IPv4 or IPv6 literal
 * (bare, "::1", not "[::1]") or a DNS name (labels of letters, digits,
 * '-' and '_', 1-63 bytes each, 253 in all). Returns NULL when it can,
 * else a reason for a message ("a URL, not a host name" for
 * "http://h/", "no ':PORT' here: the port is an option of its own" for
 * "h:80"). Judges the form only: nothing is resolved. */
const char *gp_sdk_host_problem(const char *host);

/* ---- messages ------------------------------------------------------------ */

/* Bytes received from a server, made fit for a one-line message: printable
 * ASCII as is, anything else as \xHH, at most `max` input bytes, "..."
 * when cut. Returns out. */
char *gp_sdk_printable(const void *buf, size_t len, size_t max, char *out,
                       size_t outlen);

#ifdef __cplusplus
}
#endif

#endif /* GPCHECK_SDK_H */
