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
 * (api->time_left_ms), or by the timeout it is given: none can hold a
 * probe past its deadline.
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
#include <sys/socket.h>
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

/* ---- why a connection failed ------------------------------------------- */

typedef enum gp_sdk_connect_error {
    GP_SDK_OK = 0,
    GP_SDK_NO_SUCH_HOST,    /* the name does not exist: fatal for a probe */
    GP_SDK_RESOLVER,        /* the resolver failed; may clear up: transient */
    GP_SDK_REFUSED,         /* connection refused: transient */
    GP_SDK_TIMEOUT,         /* the time ran out: transient */
    GP_SDK_OTHER,           /* any other socket error: transient */
    GP_SDK_RESOLVE_TIMEOUT, /* resolving the name ran out of time:
                               transient */
} gp_sdk_connect_error;

/* ---- names and helper processes bounded by the deadline ---------------- */

/*
 * Run fn(fd, arg) in a helper child process, for a blocking call that
 * takes no timeout of its own (getaddrinfo, a library's cancel request):
 * what the child writes to fd (up to cap - 1 bytes) is collected into out,
 * NUL-terminated, *got bytes, until the child exits or timeout_ms passes.
 * The child is then SIGKILLed and reaped before this returns, so nothing
 * outlives the call; it also dies with the probe (PR_SET_PDEATHSIG) and
 * stays in the attempt's process group. fn runs after fork() in a copy of
 * the probe: it must not return into the probe's own state (the child
 * _exits when fn returns). Returns 0 when the child finished, 1 when the
 * time ran out, -1 when no child could be started (errno set).
 */
int gp_sdk_run_bounded(void (*fn)(int fd, void *arg), void *arg,
                       int64_t timeout_ms, char *out, size_t cap, size_t *got);

/* One address gp_sdk_resolve() found, ready for socket() and connect(). */
typedef struct gp_sdk_addr {
    struct sockaddr_storage sa; /* with the port set */
    socklen_t len;              /* of sa */
    int family;                 /* AF_INET or AF_INET6 */
    char text[64];              /* numeric: "127.0.0.1", "::1" */
} gp_sdk_addr;

/* The most addresses of one name gp_sdk_resolve() returns. */
#define GP_SDK_MAX_ADDRS 8

/*
 * Resolve host (a name, an IPv4 or IPv6 literal) to TCP addresses with
 * `port` set, in getaddrinfo()'s order, at most `max` (and at most
 * GP_SDK_MAX_ADDRS). A literal is converted at once. A name is looked up
 * with getaddrinfo() (so /etc/hosts, nsswitch.conf and resolv.conf apply
 * as for every other program on the host) in a helper process
 * (gp_sdk_run_bounded()) killed when the time is up: when max_ms > 0 after
 * max_ms, and never later than the attempt's time left.
 *
 * Returns the number of addresses (at least 1), or -1 with *why, errno and
 * a message in err:
 *   GP_SDK_NO_SUCH_HOST    ENOENT     "cannot resolve db.test: Name or
 *                                      service not known"
 *   GP_SDK_RESOLVER        EAGAIN     "cannot resolve db.test: Temporary
 *                                      failure in name resolution" (or the
 *                                      helper process could not start)
 *   GP_SDK_RESOLVE_TIMEOUT ETIMEDOUT  "resolving db.test timed out after
 *                                      1.0s"
 */
int gp_sdk_resolve(gp_ctx *ctx, const gp_api *api, const char *host,
                   unsigned port, int64_t max_ms, gp_sdk_addr *addrs,
                   size_t max, gp_sdk_connect_error *why, char *err,
                   size_t errlen);

/* ---- sockets bounded by the deadline ----------------------------------- */

/*
 * Resolve host with gp_sdk_resolve() and connect to port over TCP, trying
 * each address in turn, all bounded by the time left. Returns a connected,
 * non-blocking, close-on-exec socket, or -1 with *why set and a message
 * naming the address in err ("connection refused by 127.0.0.1:5432") or
 * the name (see gp_sdk_resolve()). `addr` (may be NULL) receives the
 * address tried last, as "127.0.0.1:5432" or "[::1]:5432". In the warmup,
 * a connect still in progress after 50 ms is joined by a fresh one every
 * 50 ms (at most 8 in flight; the first to connect wins): a SYN dropped by
 * a full accept queue is resent by the kernel only after 1 s, then 3 s.
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
 * not a regular file, that is owned by neither the running user nor root,
 * or that the group or others may read (the error names the file and its
 * owner's uid). One trailing
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

/*
 * The masker gpcheck itself uses for every message, log line and displayed
 * value. Secrets shorter than this are weak: see gp_sdk_mask_text().
 */
#define GP_SDK_MASK_MIN 6
/* What a text is replaced by when masking it would reveal a weak secret. */
#define GP_SDK_MASK_WITHHELD                                                   \
    "(withheld: a secret in it cannot be masked safely)"

/*
 * Copy text `in` to out with the n `secrets` masked (NULL and empty ones
 * skipped), by this rule:
 * - A strong secret (at least GP_SDK_MASK_MIN bytes, and not equal to one
 *   of the n_known `known` texts) is found as is and in every form a server
 *   may echo it in: unescaped (%XX, \xHH as gp_sdk_printable() writes it,
 *   \uXXXX and JSON's \" \\ \n ..., HTML's &amp; &#NN; ..., '+' for a
 *   space), with control characters as spaces, and in base64 (standard and
 *   URL-safe, at any alignment inside a longer base64 text). A secret that
 *   holds escapes itself ("a%41b") is found escaped as it decodes with the
 *   text, while that is still GP_SDK_MASK_MIN bytes or longer.
 * - Each run of text so covered is widened to the whole word it touches
 *   and shown as one "***", so that no fragment of a word that held a
 *   secret is shown ("e***pected" never appears), and a secret nested in a
 *   longer one, or overlapping it, goes whole with it.
 * - A weak secret (shorter, or equal to a known text: pass the probe's
 *   non-secret values, such as the user name) would be revealed by a mask
 *   ("127.0.0.***", "user=***"): when one stands as a whole word outside
 *   what is masked, the whole text is replaced by GP_SDK_MASK_WITHHELD.
 *   Inside a longer word it is left alone.
 * The result is at most 3 * strlen(in) + 1 bytes, or the withheld text
 * (also on running out of memory). What does not fit in out is cut before
 * a whole character or a whole "***", so no part of a secret survives a
 * cut; the input is never cut, so give it whole. Returns out.
 */
char *gp_sdk_mask_text(const char *in, const char *const *secrets, size_t n,
                       const char *const *known, size_t n_known, char *out,
                       size_t outlen);

/* gp_sdk_mask_text() with no known texts: for a secret the core cannot
 * mask because the plugin learned it itself (a token fetched at run time).
 * Returns out. */
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

/* ---- configuration text ------------------------------------------------- */

/*
 * Decode the escapes of gpcheck's configuration language, so that an ini
 * value like `PING\r\n` means the bytes a protocol wants and a list item
 * can hold a comma (`a\x2cb`): \r \n \t \\ and \xHH (two hex digits)
 * are decoded; a backslash before anything else (a regular expression's
 * `\d`, a trailing one) is kept as it is. The result may hold NUL bytes
 * (\x00): a caller that needs a C string refuses them itself.
 *
 * Writes the decoded bytes and a NUL into out (outlen bytes, at least 1).
 * Returns the decoded length (NUL excluded), or -1 with *why set to a
 * static reason: "\x needs two hex digits", "too long" (more than
 * outlen - 1 bytes).
 */
long gp_sdk_unescape(const char *in, char *out, size_t outlen,
                     const char **why);

/*
 * A bounded text builder over a caller's buffer: appends what fits and
 * drops the rest, always NUL-terminated, never overflowing. Start it with
 * gp_sdk_buf_init() (which empties out); `s` stays the caller's.
 */
typedef struct gp_sdk_buf {
    char *s;    /* the caller's buffer, NUL-terminated */
    size_t cap; /* its size */
    size_t len; /* bytes in it, NUL excluded */
} gp_sdk_buf;

/* Point b at out (cap bytes, at least 1) and empty it. */
void gp_sdk_buf_init(gp_sdk_buf *b, char *out, size_t cap);
/* Point b at out, keeping the text already in it (to append to it). */
void gp_sdk_buf_resume(gp_sdk_buf *b, char *out, size_t cap);
/* Append n bytes of s (or the part that fits). */
void gp_sdk_buf_addn(gp_sdk_buf *b, const char *s, size_t n);
/* Append the string s (or the part that fits). */
void gp_sdk_buf_add(gp_sdk_buf *b, const char *s);

/* A TCP port written in decimal, as after the ':' of "host:port": 1 to 5
 * digits, 1-65535 (leading zeros allowed: "080" is 80). Returns NULL with
 * *port set (port may be NULL), or a static reason: "bad port" (empty,
 * not digits, too long), "port out of range (1-65535)". */
const char *gp_sdk_port_problem(const char *s, unsigned *port);

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
