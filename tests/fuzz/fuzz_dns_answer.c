/*
 * tests/fuzz/fuzz_dns_answer.c - any bytes as the DNS message c-ares hands
 * the dns probe (plugins/dns/answer.c). Byte 0 picks the record type
 * (A, AAAA, CNAME, MX, TXT, SRV, NS), the rest is the answer. Checked
 * against answer.h: the status is SUCCESS with at least one value or an
 * error with none kept meaningful (ENODATA: none), every value is a
 * NUL-terminated string shorter than ANSWER_MAX, and every value matches
 * itself as an expected value (what a user copies from a message must pass).
 */
#include <ares.h>
#include <string.h>

#include "answer.h"
#include "fuzz.h"

static const char *const types[] = {"A",   "AAAA", "CNAME", "MX",
                                    "TXT", "SRV",  "NS"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65535)
        return 0;
    const answer_type *t =
        answer_type_find(types[data[0] % (sizeof(types) / sizeof(types[0]))]);
    FUZZ_CHECK(t != NULL);
    answer_list l = {0};
    int rc = t->parse(data + 1, (int)(size - 1), &l);
    if (rc == ARES_ENODATA)
        FUZZ_CHECK(l.n == 0);
    if (rc == ARES_SUCCESS)
        FUZZ_CHECK(l.n > 0);
    for (size_t i = 0; i < l.n; i++) {
        FUZZ_CHECK(l.items[i] != NULL);
        FUZZ_CHECK(strlen(l.items[i]) < ANSWER_MAX);
        FUZZ_CHECK(answer_matches(t, l.items[i], l.items[i]) == 1);
        /* another value, or the same one cut, as the expected one */
        (void)answer_matches(t, l.items[(i + 1) % l.n], l.items[i]);
    }
    answer_list_free(&l);
    FUZZ_CHECK(l.n == 0);
    return 0;
}
