/*
 * plugins/tcp/expect.h - the tcp probe's pure parts: its send / expect
 * options decoded into bytes, and the expected text looked for in what the
 * peer sent so far. No sockets, no gp_api: the unit test beside it
 * (test_expect.c) and a fuzzer drive it with strings.
 */
#ifndef GPCHECK_TCP_EXPECT_H
#define GPCHECK_TCP_EXPECT_H

#include <stddef.h>

/* Upper bound for `send` and `expect` after decoding. */
#define TCP_MAX_TEXT 4096

/*
 * Decode an option's value (NULL or empty: no text) with the configuration
 * language's escapes (gp_sdk_unescape()) into out, which holds
 * TCP_MAX_TEXT + 1 bytes. Returns the byte count (0 for no text), or -1
 * with a static reason in *why.
 */
long tcp_decode(const char *value, char out[TCP_MAX_TEXT + 1],
                const char **why);

/*
 * Whether expect (len bytes, len > 0) is in buf's first `got` bytes, given
 * that it was not in the first `before` bytes (what an earlier read
 * brought): only the new bytes, and the len - 1 before them, are searched,
 * so a text split across two reads is found and a long read is not
 * searched again and again. Returns 1 or 0.
 */
int tcp_expect_seen(const char *buf, size_t before, size_t got,
                    const char *expect, size_t len);

#endif
