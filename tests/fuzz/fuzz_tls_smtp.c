/*
 * tests/fuzz/fuzz_tls_smtp.c - any bytes as what an SMTP server says before
 * STARTTLS, read as the tls probe reads it (plugins/tls/verdict.c): one
 * reply (tls_smtp_reply) and the STARTTLS offer in it, and the first byte
 * as PostgreSQL's answer to an SSLRequest (tls_pg_answer).
 * Checked against verdict.h: a reply's code is 200-599 and is the first
 * line's three digits; a reply is complete only when it ends with a line
 * ending, with nothing after it; "more to read" never comes with `bad`;
 * only 'S' proceeds with the handshake, every other byte is fatal with a
 * reason.
 */
#include <string.h>

#include "fuzz.h"
#include "verdict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    int bad = -1;
    int code = tls_smtp_reply(s, size, &bad);

    FUZZ_CHECK(bad == 0 || bad == 1);
    if (code >= 0) {
        FUZZ_CHECK(bad == 0);
        FUZZ_CHECK(code >= 200 && code <= 599);
        FUZZ_CHECK(code ==
                   (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
        FUZZ_CHECK(s[size - 1] == '\n');
    } else {
        FUZZ_CHECK(code == -1);
    }
    (void)tls_smtp_offers_starttls(s, size);
    if (size > 0) {
        const char *why = "unset";
        gp_outcome o = tls_pg_answer(data[0], &why);

        FUZZ_CHECK((o == GP_READY) == (data[0] == 'S'));
        FUZZ_CHECK(o == GP_READY ? why == NULL : (why != NULL && *why));
    }
    return 0;
}
