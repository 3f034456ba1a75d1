/*
 * plugins/tcp/expect.c - see expect.h: the tcp probe's options as bytes,
 * and the expected text in what arrived.
 */
#include "expect.h"

#include <string.h>

#include "gpcheck/sdk.h"

long tcp_decode(const char *value, char out[TCP_MAX_TEXT + 1], const char **why)
{
    out[0] = '\0';
    if (!value || !*value)
        return 0;
    return gp_sdk_unescape(value, out, TCP_MAX_TEXT + 1, why);
}

int tcp_expect_seen(const char *buf, size_t before, size_t got,
                    const char *expect, size_t len)
{
    size_t from = before >= len ? before - (len - 1) : 0;

    if (len == 0 || got < len || from >= got)
        return 0;
    return memmem(buf + from, got - from, expect, len) != NULL;
}
