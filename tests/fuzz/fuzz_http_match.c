/*
 * tests/fuzz/fuzz_http_match.c - any bytes as what the http probe judges
 * (plugins/http/match.c): byte 0 picks the part, the rest is the text.
 *   0: an expect_status list, split at ',' as the config language does;
 *   1: a request header line;
 *   2: a body and the text expected in it (before the first '\n');
 *   3: a status code outside expect_status, and a TLS error text.
 * Checked against match.h: a list is accepted exactly when each of its
 * items is, a refusal names an item that is refused alone, only statuses
 * 100-599 are marked, the list's text is NUL-terminated within its
 * buffer; the part of a header that may be shown is its name; the body
 * match is a substring search; an unexpected status is transient or fatal.
 */
#include <string.h>

#include "fuzz.h"
#include "match.h"

#define MAX_ITEMS 32

static void status_list(char *s)
{
    const char *items[MAX_ITEMS];
    size_t n = 0;
    for (char *tok = s; n < MAX_ITEMS;) {
        items[n++] = tok;
        char *comma = strchr(tok, ',');
        if (!comma)
            break;
        *comma = '\0';
        tok = comma + 1;
    }
    char expected[HTTP_STATUSES] = {0}, text[64];
    const char *bad = NULL;
    memset(text, 'x', sizeof text);
    int rc = http_expect_status(items, n, expected, text, sizeof text, &bad);
    FUZZ_CHECK(memchr(text, '\0', sizeof text) != NULL);
    int all_ok = 1;
    for (size_t i = 0; i < n; i++)
        all_ok &= http_status_item(items[i], NULL) == 0;
    FUZZ_CHECK((rc == 0) == all_ok);
    if (rc < 0)
        FUZZ_CHECK(bad && http_status_item(bad, NULL) < 0);
    for (int code = 0; code < 100; code++)
        FUZZ_CHECK(!expected[code]);
}

static void header(const char *s)
{
    size_t shown = http_header_shown_len(s);
    FUZZ_CHECK(shown <= strlen(s));
    FUZZ_CHECK(s[shown] == '\0' || s[shown] == ':');
    if (http_header_ok(s))
        FUZZ_CHECK(!strchr(s, '\n') && !strchr(s, '\r') && s[shown] == ':');
}

static void body(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t elen = nl ? (size_t)(nl - data) : size;
    char *expect = fuzz_cstr(data, elen);
    const char *b = nl ? (const char *)nl + 1 : "";
    size_t blen = nl ? size - elen - 1 : 0;
    int has = http_body_has(b, blen, expect);
    FUZZ_CHECK(has == 0 || has == 1);
    if (!*expect)
        FUZZ_CHECK(has == 1);
    else
        FUZZ_CHECK(has == (memmem(b, blen, expect, strlen(expect)) != NULL));
    free(expect);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *s = fuzz_cstr(data + 1, size - 1);
    switch (data[0] % 4) {
    case 0: status_list(s); break;
    case 1: header(s); break;
    case 2: body(data + 1, size - 1); break;
    default: {
        long status = size >= 3 ? (long)(data[1] | data[2] << 8) : 0;
        gp_outcome o = http_unexpected_outcome(status);
        FUZZ_CHECK(o == GP_TRANSIENT || o == GP_FATAL);
        (void)http_client_cert_refused(s);
    }
    }
    free(s);
    return 0;
}
