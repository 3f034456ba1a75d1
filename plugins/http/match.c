/*
 * plugins/http/match.c - see match.h: expected statuses, header forms,
 * and what a response means.
 */
#include "match.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int http_status_item(const char *s, char *expected)
{
    int ok = strlen(s) == 3 && s[0] >= '1' && s[0] <= '5';

    if (ok && tolower((unsigned char)s[1]) == 'x' &&
        tolower((unsigned char)s[2]) == 'x') {
        if (expected)
            memset(expected + (s[0] - '0') * 100, 1, 100);
        return 0;
    }
    if (ok && isdigit((unsigned char)s[1]) && isdigit((unsigned char)s[2])) {
        if (expected)
            expected[(s[0] - '0') * 100 + (s[1] - '0') * 10 + s[2] - '0'] = 1;
        return 0;
    }
    return -1;
}

int http_expect_status(const char *const *items, size_t n, char *expected,
                       char *text, size_t textlen, const char **bad)
{
    static const char *const default_status[] = {"2xx"};
    size_t o = 0;

    /* An empty list (`expect_status =`) means the default. */
    if (n == 0) {
        items = default_status;
        n = 1;
    }
    if (textlen)
        text[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (http_status_item(items[i], expected) < 0) {
            *bad = items[i];
            return -1;
        }
        int w =
            snprintf(text + o, textlen - o, "%s%s", i ? ", " : "", items[i]);
        if (w > 0 && (size_t)w < textlen - o)
            o += (size_t)w;
        else if (textlen)
            text[o] = '\0'; /* whole items only */
    }
    return 0;
}

int http_header_ok(const char *h)
{
    size_t name = strcspn(h, ":");
    int ok = name > 0 && h[name] == ':' && !strpbrk(h, "\r\n");

    for (size_t k = 0; ok && k < name; k++)
        ok = isalnum((unsigned char)h[k]) || strchr("!#$%&'*+-.^_`|~", h[k]);
    return ok;
}

size_t http_header_shown_len(const char *h)
{
    return strcspn(h, ":");
}

gp_outcome http_unexpected_outcome(long status)
{
    /* Unavailable, overloaded, a proxy without a backend yet, rate
     * limited: all of these pass. */
    if (status >= 500 || status == 429 || status == 408)
        return GP_TRANSIENT;
    return GP_FATAL;
}

int http_body_has(const char *body, size_t len, const char *expect)
{
    if (!expect || !*expect)
        return 1;
    return memmem(body, len, expect, strlen(expect)) != NULL;
}

/* With TLS 1.3 a refused client certificate arrives as an alert after the
 * handshake, so curl reports a receive error; OpenSSL's text names the
 * alert. */
int http_client_cert_refused(const char *text)
{
    static const char *const alerts[] = {
        "alert certificate required", "alert bad certificate",
        "alert unknown ca",           "alert certificate revoked",
        "alert certificate expired",  "alert certificate unknown",
    };

    for (size_t i = 0; i < sizeof alerts / sizeof alerts[0]; i++)
        if (strstr(text, alerts[i]))
            return 1;
    return 0;
}
