/*
 * plugins/http/match.h - the http probe's pure parts: the expect_status
 * list, request header forms, and what a response's status, body and TLS
 * error text mean. No curl handle, no gp_api: the unit test beside it
 * (test_http.c) and a fuzzer drive it with strings.
 */
#ifndef GPCHECK_HTTP_MATCH_H
#define GPCHECK_HTTP_MATCH_H

#include <stddef.h>

#include "gpcheck/plugin.h"

/* expected[code] != 0: that status (100-599) means ready. */
#define HTTP_STATUSES 600

/* One expect_status item, "200" or "2xx" (also "2XX"): marks it in
 * expected (HTTP_STATUSES entries) when that is not NULL. Returns 0, or -1
 * when it is neither a code (100-599) nor a class (1xx-5xx). */
int http_status_item(const char *s, char *expected);

/*
 * The expect_status list (n items; none: the default "2xx") into expected
 * (zeroed by the caller) and, as written, into text ("2xx, 301", cut to
 * fit textlen) for messages. Returns 0, or -1 with *bad the first item
 * that is neither a code nor a class.
 */
int http_expect_status(const char *const *items, size_t n, char *expected,
                       char *text, size_t textlen, const char **bad);

/* Whether h is "Name: value", the name an HTTP token, no line breaks. */
int http_header_ok(const char *h);

/* How many bytes of a bad header may be shown: its name part only, since
 * the value may be a credential. */
size_t http_header_shown_len(const char *h);

/* The outcome of a status outside expect_status: transient for what
 * passes by itself (5xx, 429 rate limited, 408 timeout), fatal for the
 * rest (401/403, redirects, 404, ...). */
gp_outcome http_unexpected_outcome(long status);

/* Whether the body (len bytes) holds expect; an empty or NULL expect is
 * always there. */
int http_body_has(const char *body, size_t len, const char *expect);

/* Whether a TLS error text (OpenSSL's, through curl) says the server
 * refused our client certificate or the lack of one. */
int http_client_cert_refused(const char *text);

#endif
