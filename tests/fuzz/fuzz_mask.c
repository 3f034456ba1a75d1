/*
 * tests/fuzz/fuzz_mask.c - the masker (sdk/mask.c) on any text and secrets,
 * checked against what sdk.h promises for gp_sdk_mask_text():
 * - no strong secret given (GP_SDK_MASK_MIN bytes or more) is left in the
 *   output in any form the masker says it catches: as is, percent-encoded,
 *   \xHH-escaped (both hex cases), JSON-escaped, and the stable core of its
 *   base64 (standard and URL-safe) at each of the three alignments;
 * - the output is NUL-terminated within outlen, and at most
 *   3 * strlen(in) + 1 bytes unless it is the withheld text;
 * - with no secrets, a text comes back unchanged when out has room.
 * gp_sdk_mask_kv() and gp_sdk_mask_url() run on the same text (their
 * output NUL-terminated within the buffer).
 *
 * Input: byte 0: how many secrets (low 2 bits) and the form (bits 2-4) in
 * which the first secret is also put into the text, at the offset byte 1
 * names; byte 2: the size of out; then the secrets, each ended by a NUL,
 * then the text. Secrets holding '*' are not checked: "***" is the mask;
 * nor are the escaped forms of a secret when it or the text holds '%',
 * '\\', '&' or '+' (the masker decodes all kinds of escape at once).
 */
#include <string.h>

#include "fuzz.h"
#include "gpcheck/sdk.h"

static const char b64[2][65] = {
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"};

/* A growing string; aborts when out of memory (a harness, not a parser). */
typedef struct {
    char *s;
    size_t n, cap;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s)
            abort();
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void putf(buf *b, const char *fmt, unsigned v)
{
    char t[16];
    int n = snprintf(t, sizeof t, fmt, v);
    put(b, t, (size_t)n);
}

enum { F_RAW, F_PCT, F_PCT_LOWER, F_HEX, F_HEX_UPPER, F_JSON, F_B64, F_N };

/* Form f of s; for F_B64 + k (k: alignment * 2 + alphabet) the stable core,
 * or nothing when it is 4 characters or fewer (the masker ignores those). */
static void form(buf *b, const char *s, size_t sl, int f)
{
    b->n = 0;
    put(b, "", 0);
    for (size_t i = 0; f < F_B64 && i < sl; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (f) {
        case F_RAW: put(b, s + i, 1); break;
        case F_PCT: putf(b, "%%%02X", c); break;
        case F_PCT_LOWER: putf(b, "%%%02x", c); break;
        case F_HEX: putf(b, "\\x%02x", c); break;
        case F_HEX_UPPER: putf(b, "\\x%02X", c); break;
        case F_JSON:
            if (c == '"' || c == '\\')
                put(b, "\\", 1), put(b, s + i, 1);
            else if (c < 0x20)
                putf(b, "\\u%04x", c);
            else
                put(b, s + i, 1);
            break;
        }
    }
    if (f < F_B64)
        return;
    size_t a = (size_t)(f - F_B64) / 2, k = (size_t)(f - F_B64) % 2;
    size_t bytes = a + sl, groups = (bytes + 2) / 3;
    unsigned char *raw = calloc(groups * 3, 1);
    char *enc = malloc(groups * 4 + 1);
    if (!raw || !enc)
        abort();
    memcpy(raw + a, s, sl);
    for (size_t g = 0; g < groups; g++) {
        unsigned long w = ((unsigned long)raw[3 * g] << 16) |
                          ((unsigned long)raw[3 * g + 1] << 8) | raw[3 * g + 2];
        for (int c = 3; c >= 0; c--)
            enc[4 * g + 3 - (size_t)c] = b64[k][(w >> (6 * c)) & 0x3f];
    }
    /* char i holds bits [6i, 6i + 6): stable when inside s's [8a, 8(a+sl)) */
    size_t first = (8 * a + 5) / 6, last = (8 * (a + sl)) / 6;
    if (last > first + 3)
        put(b, enc + first, last - first);
    free(raw);
    free(enc);
}

#define N_FORMS (F_B64 + 6)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3 || size > 4096)
        return 0;
    size_t n = data[0] & 3, f_in = (data[0] >> 2) % (N_FORMS + 1), at = data[1],
           outlen = data[2] ? data[2] : 3 * size + 64;
    char *all = malloc(size - 3 + 1), *secrets[3] = {0};
    if (!all)
        abort();
    memcpy(all, data + 3, size - 3);
    all[size - 3] = '\0';
    char *p = all, *end = all + (size - 3);
    size_t got = 0;
    while (got < n && p < end) {
        secrets[got++] = p;
        p += strlen(p) + 1;
    }
    n = got;
    const char *text = p < end ? p : "";

    /* The text, with the first secret put in at `at` in form f_in. */
    buf in = {0}, fm = {0};
    size_t tl = strlen(text);
    if (at > tl)
        at = tl;
    put(&in, text, at);
    if (n > 0 && f_in < N_FORMS) {
        form(&fm, secrets[0], strlen(secrets[0]), (int)f_in);
        put(&in, fm.s, fm.n);
    }
    put(&in, text + at, tl - at);

    char *out = malloc(outlen);
    if (!out)
        abort();
    memset(out, 'x', outlen);
    gp_sdk_mask_text(in.s, (const char *const *)secrets, n, NULL, 0, out,
                     outlen);
    FUZZ_CHECK(memchr(out, '\0', outlen) != NULL);
    size_t ol = strlen(out);
    /* the withheld text, or as much of it as fits */
    int withheld = strncmp(out, GP_SDK_MASK_WITHHELD, ol) == 0 &&
                   (ol == strlen(GP_SDK_MASK_WITHHELD) || ol + 1 == outlen);
    FUZZ_CHECK(withheld || ol <= 3 * in.n);
    if (n == 0 && outlen > in.n)
        FUZZ_CHECK(strcmp(out, in.s) == 0);
    /* The masker decodes every kind of escape at once: an escaped echo
     * right after a '%' of the text ("%" + "AB\\\"..." reads %AB) is not
     * found (a known limit, tests/fuzz/README.md). Escaped forms are
     * checked where the text around them holds no escapes. */
    int text_escapes = strpbrk(text, "%\\&+") != NULL;
    for (size_t i = 0; i < n && !withheld; i++) {
        size_t sl = strlen(secrets[i]);
        if (sl < GP_SDK_MASK_MIN || strchr(secrets[i], '*'))
            continue;
        /* A secret that holds escapes itself is found escaped as it
         * decodes, and only while that is still strong (sdk.h): its
         * escaped forms are checked in unit tests, not here. */
        int escapes = strpbrk(secrets[i], "%\\&+") != NULL || text_escapes;
        for (int f = 0; f < N_FORMS; f++) {
            if (escapes && f > F_RAW && f < F_B64)
                continue;
            form(&fm, secrets[i], sl, f);
            if (fm.n > 0 && strstr(out, fm.s)) {
                fprintf(stderr,
                        "secret %zu in form %d left: \"%s\" in \"%s\"\n", i, f,
                        fm.s, out);
                FUZZ_CHECK(!"a secret is left in the masked text");
            }
        }
    }

    static const char *const keys[] = {"password", "sslpassword", NULL};
    memset(out, 'x', outlen);
    gp_sdk_mask_kv(in.s, keys, out, outlen);
    FUZZ_CHECK(memchr(out, '\0', outlen) != NULL);
    memset(out, 'x', outlen);
    gp_sdk_mask_url(in.s, out, outlen);
    FUZZ_CHECK(memchr(out, '\0', outlen) != NULL);

    free(out);
    free(in.s);
    free(fm.s);
    free(all);
    return 0;
}
