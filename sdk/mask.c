/*
 * sdk/mask.c - the one masker of gpcheck and its plugins (gp_sdk_mask_text,
 * gp_sdk_mask_secrets), the structured maskers for a URL and a key=value
 * string, and gp_sdk_printable(), which makes a server's bytes fit for a
 * message. Part of libgpcheck-sdk.a; the core links it for the same rule
 * (core/secrets.c).
 */
#include "gpcheck/sdk.h"
#include "sdk_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *gp_sdk_mask_url(const char *url, char *out, size_t outlen)
{
    const char *scheme = strstr(url, "://");
    const char *start = scheme ? scheme + 3 : url;
    const char *end = start + strcspn(start, "/?#"), *at = NULL;
    /* The last '@' of the authority ends the user info: with the first,
     * "user:p@ss@host" would show "ss". */
    for (const char *q = start; q < end; q++)
        if (*q == '@')
            at = q;
    const char *colon = at ? memchr(start, ':', (size_t)(at - start)) : NULL;
    if (!colon) {
        snprintf(out, outlen, "%s", url);
        return out;
    }
    snprintf(out, outlen, "%.*s:***%s", (int)(colon - url), url, at);
    return out;
}

/* ---- the masker -----------------------------------------------------------
 *
 * The one masker of gpcheck: the core masks every message, log line and
 * displayed value with it (core/secrets.c), and plugins mask what only they
 * know with it. The rule, also in the README's security notes:
 *
 * 1. A strong secret (GP_SDK_MASK_MIN bytes or longer, and not equal to a
 *    known value) is found in every form a server may echo it in: as is;
 *    unescaped (%XX, \xHH, \uXXXX, JSON's \" \\ \/ \n ..., HTML's &amp;
 *    &#NN; ..., and '+' for a space when the secret has one); with control
 *    characters turned to spaces (as the core's messages show them); and in
 *    base64, standard and URL-safe, at each of the three alignments it may
 *    have inside a longer base64 text (the characters only its own bits
 *    decide: the "stable core").
 * 2. Every match is widened to the whole word it touches (letters, digits,
 *    bytes >= 0x80, in the text as decoded where it was found; a base64
 *    match also takes the sign at each edge, whose bits are partly the
 *    secret's, and the padding), and each covered run is shown as one
 *    "***". So no fragment of a word that held a secret shows: never
 *    "e***pected", and nested or overlapping secrets go whole. Where the
 *    text was cut (its ends, "..."), a start or an end of a secret of at
 *    least 3 bytes is masked too.
 * 3. A weak secret (shorter than GP_SDK_MASK_MIN, or equal to a known
 *    value such as the user name) cannot be masked without revealing it:
 *    "127.0.0.***" tells a one-character password, "user=***" beside a
 *    shown user name tells that the password is the user name. Where a weak
 *    secret stands as a whole word (as is or unescaped) outside what rule 2
 *    masked, the whole text is replaced by GP_SDK_MASK_WITHHELD. Inside a
 *    longer word it is left alone: nothing points at it there.
 */

typedef struct mask_view {
    char *text;     /* owned; the decoded bytes */
    uint32_t *from; /* owned; byte i stands for input bytes [from[i], to[i]) */
    uint32_t *to;   /* owned */
    size_t len;
} mask_view;

/* n hex digits at s, or -1. */
static long hexn(const char *s, int n)
{
    long v = 0;
    for (int i = 0; i < n; i++) {
        int h = sdk_hexval((unsigned char)s[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t utf8_put(unsigned long cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* One escape sequence at s: the bytes it stands for in out (up to 4), and
 * its length in s; 0 when s does not start one. */
static size_t unescape_one(const char *s, int form, char *out, size_t *outn)
{
    static const struct {
        const char *name;
        char c;
    } ent[] = {{"&amp;", '&'},
               {"&lt;", '<'},
               {"&gt;", '>'},
               {"&quot;", '"'},
               {"&apos;", '\''}};
    static const char simple[] = "\"\"\\\\//''n\nr\rt\tb\bf\f";
    long v;

    if (s[0] == '%' && (v = hexn(s + 1, 2)) >= 0) {
        out[0] = (char)v;
        *outn = 1;
        return 3;
    }
    if (s[0] == '+' && form) {
        out[0] = ' ';
        *outn = 1;
        return 1;
    }
    if (s[0] == '\\' && s[1] == 'x' && (v = hexn(s + 2, 2)) >= 0) {
        out[0] = (char)v;
        *outn = 1;
        return 4;
    }
    if (s[0] == '\\' && s[1] == 'u' && (v = hexn(s + 2, 4)) >= 0) {
        long lo;
        if (v >= 0xd800 && v < 0xdc00 && s[6] == '\\' && s[7] == 'u' &&
            (lo = hexn(s + 8, 4)) >= 0xdc00 && lo < 0xe000) {
            *outn = utf8_put(0x10000 + ((unsigned long)(v - 0xd800) << 10) +
                                 (unsigned long)(lo - 0xdc00),
                             out);
            return 12;
        }
        *outn = utf8_put((unsigned long)v, out);
        return 6;
    }
    if (s[0] == '\\' && s[1]) {
        for (size_t i = 0; simple[i]; i += 2)
            if (s[1] == simple[i]) {
                out[0] = simple[i + 1];
                *outn = 1;
                return 2;
            }
    }
    if (s[0] == '&') {
        for (size_t i = 0; i < sizeof ent / sizeof ent[0]; i++) {
            size_t n = strlen(ent[i].name);
            if (strncmp(s, ent[i].name, n) == 0) {
                out[0] = ent[i].c;
                *outn = 1;
                return n;
            }
        }
        if (s[1] == '#') {
            int hex = s[2] == 'x' || s[2] == 'X';
            const char *d = s + 2 + hex;
            unsigned long cp = 0;
            size_t k = 0;
            for (; k < 7 && (hex ? sdk_hexval((unsigned char)d[k]) >= 0
                                 : (d[k] >= '0' && d[k] <= '9'));
                 k++)
                cp = cp * (hex ? 16 : 10) +
                     (unsigned long)sdk_hexval((unsigned char)d[k]);
            if (k > 0 && d[k] == ';' && cp <= 0x10ffff) {
                *outn = utf8_put(cp, out);
                return (size_t)(d + k + 1 - s);
            }
        }
    }
    return 0;
}

/* A view of the input: as is (parent NULL), or the parent view with its
 * escapes decoded (form: '+' too). -1 when out of memory. */
static int view_make(const char *in, size_t len, const mask_view *parent,
                     int form, mask_view *v)
{
    const char *t = parent ? parent->text : in;
    size_t n = parent ? parent->len : len;
    v->text = malloc(n + 1);
    v->from = malloc((n + 1) * sizeof *v->from);
    v->to = malloc((n + 1) * sizeof *v->to);
    v->len = 0;
    if (!v->text || !v->from || !v->to)
        return -1;
    for (size_t i = 0; i < n;) {
        char bytes[4];
        size_t nb = 0,
               used = parent ? unescape_one(t + i, form, bytes, &nb) : 0;
        if (!used) {
            bytes[0] = t[i];
            nb = used = 1;
        }
        /* A decoded sequence is never longer than its source. */
        for (size_t k = 0; k < nb; k++) {
            v->from[v->len] = parent ? parent->from[i] : (uint32_t)i;
            v->to[v->len] =
                parent ? parent->to[i + used - 1] : (uint32_t)(i + used);
            v->text[v->len++] = bytes[k];
        }
        i += used;
    }
    v->text[v->len] = '\0';
    return 0;
}

static void view_free(mask_view *v)
{
    free(v->text);
    free(v->from);
    free(v->to);
}

static int word_byte(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c >= 0x80;
}

/* The base64 bytes that are not word bytes (both alphabets). */
static int b64_sign(unsigned char c)
{
    return c == '+' || c == '/' || c == '-' || c == '_';
}

/* A form of a secret to look for, and how far a match widens. */
typedef struct mask_form {
    char *text; /* owned */
    size_t len;
    int b64; /* a base64 core: also takes an edge sign and the padding */
} mask_form;

typedef struct mask_forms {
    mask_form *v;
    size_t n, cap;
    int oom;
} mask_forms;

static void forms_add(mask_forms *f, const char *s, size_t len, int b64)
{
    if (f->oom || len == 0)
        return;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        mask_form *v = realloc(f->v, cap * sizeof *v);
        if (!v) {
            f->oom = 1;
            return;
        }
        f->v = v;
        f->cap = cap;
    }
    char *t = malloc(len + 1);
    if (!t) {
        f->oom = 1;
        return;
    }
    memcpy(t, s, len);
    t[len] = '\0';
    f->v[f->n++] = (mask_form){t, len, b64};
}

static void forms_free(mask_forms *f)
{
    for (size_t i = 0; i < f->n; i++) {
        explicit_bzero(f->v[i].text, f->v[i].len);
        free(f->v[i].text);
    }
    free(f->v);
}

/* The stable cores of s's base64 at alignments 0, 1 and 2, in both
 * alphabets: the characters decided by s's bits alone. */
static void forms_add_base64(mask_forms *f, const char *s, size_t sl)
{
    static const char *const alpha[2] = {
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"};
    size_t n = sl + 4;
    unsigned char *b = calloc(n, 1);
    char *enc = malloc((n / 3 + 2) * 4 + 1);
    if (!b || !enc) {
        f->oom = 1;
        free(b);
        free(enc);
        return;
    }
    for (size_t a = 0; a < 3; a++) {
        memset(b, 0, n);
        memcpy(b + a, s, sl);
        size_t bytes = a + sl, groups = (bytes + 2) / 3;
        /* char i holds bits [6i, 6i + 6) of b: stable when they all lie in
         * s's bits [8a, 8(a + sl)) */
        size_t first = (8 * a + 5) / 6, last = (8 * (a + sl)) / 6;
        for (int k = 0; k < 2; k++) {
            size_t o = 0;
            for (size_t g = 0; g < groups; g++) {
                unsigned long w = ((unsigned long)b[3 * g] << 16) |
                                  ((unsigned long)b[3 * g + 1] << 8) |
                                  b[3 * g + 2];
                for (int c = 3; c >= 0; c--)
                    enc[o++] = alpha[k][(w >> (6 * c)) & 0x3f];
            }
            if (last > first + 3)
                forms_add(f, enc + first, last - first, 1);
        }
    }
    explicit_bzero(b, n);
    free(b);
    free(enc);
}

/*
 * Cover view bytes [a, b) in the input, widened first to the whole word
 * they touch in the view (so that "\x22" before a secret shown escaped is
 * not taken for a word); a base64 match also takes the one base64 sign at
 * each edge (its bits are partly the secret's) and the padding.
 */
static void cover_view(const mask_view *v, size_t a, size_t b, int b64,
                       unsigned char *cov)
{
    const unsigned char *t = (const unsigned char *)v->text;
    if (b64 && a > 0 && b64_sign(t[a - 1]))
        a--;
    if (b64 && b < v->len && b64_sign(t[b]))
        b++;
    while (a > 0 && word_byte(t[a - 1]))
        a--;
    while (b < v->len && word_byte(t[b]))
        b++;
    while (b64 && b < v->len && t[b] == '=')
        b++;
    for (size_t i = v->from[a]; i < v->to[b - 1]; i++)
        cov[i] = 1;
}

/* Shortest piece of a secret worth masking where a text was cut. */
#define MASK_MIN_PIECE 3

/*
 * Where the text was cut (its end, its start, and each "..." that
 * gp_sdk_printable() and the like put there), a plugin may have shown
 * only the start or the end of a secret: cover the longest start of the
 * form that ends the text before a cut, and the longest end of it that
 * begins the text after one.
 */
static void cover_cut(const mask_view *v, const mask_form *fm, size_t at,
                      int before, int after, unsigned char *cov)
{
    const char *t = v->text;
    size_t k = fm->len - 1 < at ? fm->len - 1 : at;
    for (; before && k >= MASK_MIN_PIECE; k--)
        if (memcmp(t + at - k, fm->text, k) == 0) {
            cover_view(v, at - k, at, fm->b64, cov);
            break;
        }
    k = fm->len - 1 < v->len - at ? fm->len - 1 : v->len - at;
    for (; after && k >= MASK_MIN_PIECE; k--)
        if (memcmp(t + at, fm->text + fm->len - k, k) == 0) {
            cover_view(v, at, at + k, fm->b64, cov);
            break;
        }
}

static void cover_cuts(const mask_view *v, const mask_form *fm,
                       unsigned char *cov)
{
    const char *p = v->text, *end = v->text + v->len, *dots;
    cover_cut(v, fm, 0, 0, 1, cov);
    cover_cut(v, fm, v->len, 1, 0, cov);
    while (p < end && (dots = memmem(p, (size_t)(end - p), "...", 3))) {
        size_t at = (size_t)(dots - v->text);
        cover_cut(v, fm, at, 1, 0, cov);
        cover_cut(v, fm, at + 3, 0, 1, cov);
        p = dots + 3;
    }
}

/* Mark in cov every input byte a form covers in view v. */
static void cover(const mask_view *v, const mask_form *fm, unsigned char *cov)
{
    const char *p = v->text, *end = v->text + v->len, *hit;
    while (p < end &&
           (hit = memmem(p, (size_t)(end - p), fm->text, fm->len)) != NULL) {
        size_t a = (size_t)(hit - v->text);
        cover_view(v, a, a + fm->len, fm->b64, cov);
        p = hit + 1;
    }
}

/* 1 when a weak form stands as a whole word of view v somewhere that cov
 * does not already hide. */
static int weak_word(const mask_view *v, const mask_form *fm,
                     const unsigned char *cov)
{
    const unsigned char *t = (const unsigned char *)v->text;
    const char *p = v->text, *end = v->text + v->len, *hit;
    while (p < end &&
           (hit = memmem(p, (size_t)(end - p), fm->text, fm->len)) != NULL) {
        size_t a = (size_t)(hit - v->text), b = a + fm->len;
        int hidden = 1;
        for (size_t i = v->from[a]; i < v->to[b - 1]; i++)
            hidden &= cov[i] != 0;
        if (!hidden && (a == 0 || !word_byte(t[a - 1])) &&
            (b == v->len || !word_byte(t[b])))
            return 1;
        p = hit + 1;
    }
    return 0;
}

static int is_known(const char *s, const char *const *known, size_t n_known)
{
    for (size_t i = 0; i < n_known; i++)
        if (known[i] && strcmp(known[i], s) == 0)
            return 1;
    return 0;
}

/* Unescaping layers looked through: a JSON body shown by
 * gp_sdk_printable() escapes a backslash twice (\x5c\x5c). */
#define MASK_LAYERS 3

/* A secret that itself holds what reads as an escape ("p\"a%41ss", "&amp;")
 * is decoded with the text it stands in: echoed JSON-escaped (p\"a%41ss),
 * the unescaping views show p"aAss. So its own decoded forms, while still
 * strong, are forms of it too. */
static void forms_add_decoded(mask_forms *f, const char *s, size_t sl)
{
    mask_view v[1 + MASK_LAYERS] = {{0}};
    int n = 1;
    if (view_make(s, sl, NULL, 0, &v[0]) < 0)
        f->oom = 1;
    for (; n <= MASK_LAYERS && !f->oom; n++) {
        if (view_make(s, sl, &v[n - 1], 0, &v[n]) < 0) {
            f->oom = 1;
        } else if (v[n].len == v[n - 1].len &&
                   memcmp(v[n].text, v[n - 1].text, v[n].len) == 0) {
            n++;
            break; /* nothing more to decode */
        } else if (v[n].len >= GP_SDK_MASK_MIN) {
            forms_add(f, v[n].text, v[n].len, 0);
        }
    }
    for (int i = 0; i < n && i <= MASK_LAYERS; i++) {
        if (v[i].text)
            explicit_bzero(v[i].text, v[i].len);
        view_free(&v[i]);
    }
}

/* The forms of one secret (as is, control characters as spaces, its own
 * decoded forms and base64 when strong) into strong or weak. */
static void add_forms(const char *s, int weak, mask_forms *strong,
                      mask_forms *weakf)
{
    size_t sl = strlen(s);
    mask_forms *f = weak ? weakf : strong;
    forms_add(f, s, sl, 0);
    int ctl = 0;
    for (size_t i = 0; i < sl; i++)
        ctl |= (unsigned char)s[i] < 0x20 || s[i] == 0x7f;
    if (ctl) {
        char *t = malloc(sl + 1);
        if (!t) {
            f->oom = 1;
            return;
        }
        for (size_t i = 0; i < sl; i++)
            t[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? ' ' : s[i];
        forms_add(f, t, sl, 0);
        explicit_bzero(t, sl);
        free(t);
    }
    if (!weak) {
        forms_add_decoded(strong, s, sl);
        forms_add_base64(strong, s, sl);
    }
}

/* Copy in to out, each covered run as one "***"; cut before what does not
 * fit whole. */
static void put_masked(const char *in, size_t len, const unsigned char *cov,
                       char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t take = cov[i] ? 3 : 1;
        if (o + take >= outlen)
            break;
        memcpy(out + o, cov[i] ? "***" : in + i, take);
        o += take;
        if (cov[i])
            while (i < len && cov[i])
                i++;
        else
            i++;
    }
    out[o] = '\0';
}

char *gp_sdk_mask_text(const char *in, const char *const *secrets, size_t n,
                       const char *const *known, size_t n_known, char *out,
                       size_t outlen)
{
    size_t len = strlen(in);
    mask_forms strong = {0}, weak = {0};
    /* as is, then MASK_LAYERS of unescaping, then the same with '+' as a
     * space when a secret holds one */
    mask_view views[1 + 2 * MASK_LAYERS] = {{0}};
    int n_views = 0, spaces = 0, withhold = 0;
    unsigned char *cov = calloc(len + 1, 1);

    if (!outlen) {
        free(cov);
        return out;
    }
    if (len >= UINT32_MAX) {
        free(cov);
        snprintf(out, outlen, "%s", GP_SDK_MASK_WITHHELD);
        return out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!secrets[i] || !*secrets[i])
            continue;
        int w = strlen(secrets[i]) < GP_SDK_MASK_MIN ||
                is_known(secrets[i], known, n_known);
        add_forms(secrets[i], w, &strong, &weak);
        spaces |= strchr(secrets[i], ' ') != NULL;
    }
    int oom = !cov || strong.oom || weak.oom;
    if (!oom && (strong.n || weak.n)) {
        oom = view_make(in, len, NULL, 0, &views[n_views++]) < 0;
        for (int form = 0; form <= spaces && !oom; form++) {
            const mask_view *parent = &views[0];
            for (int l = 0; l < MASK_LAYERS && !oom; l++) {
                mask_view *v = &views[n_views++];
                oom = view_make(in, len, parent, form, v) < 0;
                if (!oom && v->len == parent->len &&
                    memcmp(v->text, parent->text, v->len) == 0) {
                    view_free(v); /* nothing more to decode */
                    memset(v, 0, sizeof *v);
                    n_views--;
                    break;
                }
                parent = v;
            }
        }
    }
    for (size_t k = 0; k < strong.n && !oom; k++)
        for (int m = 0; m < n_views; m++) {
            cover(&views[m], &strong.v[k], cov);
            if (!strong.v[k].b64)
                cover_cuts(&views[m], &strong.v[k], cov);
        }
    for (size_t k = 0; k < weak.n && !oom && !withhold; k++)
        for (int m = 0; m < n_views && !withhold; m++)
            withhold = weak_word(&views[m], &weak.v[k], cov);
    /* Out of memory: nothing shown is safer than something unmasked. */
    if (oom || withhold)
        snprintf(out, outlen, "%s", GP_SDK_MASK_WITHHELD);
    else
        put_masked(in, len, cov, out, outlen);
    for (int m = 0; m < 1 + 2 * MASK_LAYERS; m++)
        view_free(&views[m]);
    forms_free(&strong);
    forms_free(&weak);
    free(cov);
    return out;
}

char *gp_sdk_mask_secrets(const char *in, const char *const *secrets, size_t n,
                          char *out, size_t outlen)
{
    return gp_sdk_mask_text(in, secrets, n, NULL, 0, out, outlen);
}

static int masked_key(const char *key, size_t n, const char *const *keys)
{
    for (size_t i = 0; keys[i]; i++)
        if (strlen(keys[i]) == n && strncmp(key, keys[i], n) == 0)
            return 1;
    return 0;
}

char *gp_sdk_mask_kv(const char *s, const char *const *keys, char *out,
                     size_t outlen)
{
    size_t o = 0;
    /* c is evaluated whether or not it fits: PUT(*p++) must advance p when
     * out is full, or the loops below never end. */
#define PUT(c)                                                                 \
    do {                                                                       \
        char put_c = (c);                                                      \
        if (o + 1 < outlen)                                                    \
            out[o++] = put_c;                                                  \
    } while (0)
    const char *p = s;
    while (*p) {
        /* copy blanks, then a key up to '=' */
        while (*p == ' ' || *p == '\t')
            PUT(*p++);
        const char *key = p;
        while (*p && *p != '=' && *p != ' ' && *p != '\t')
            PUT(*p++);
        size_t klen = (size_t)(p - key);
        while (*p == ' ')
            PUT(*p++);
        if (*p != '=')
            continue;
        PUT(*p++);
        while (*p == ' ')
            PUT(*p++);
        int mask = masked_key(key, klen, keys);
        if (mask) {
            PUT('*');
            PUT('*');
            PUT('*');
        }
        if (*p == '\'') {
            /* a quoted value: up to the closing quote, \' escaped */
            if (!mask)
                PUT(*p);
            for (p++; *p && *p != '\''; p++) {
                if (*p == '\\' && p[1]) {
                    if (!mask)
                        PUT(*p);
                    p++;
                }
                if (!mask)
                    PUT(*p);
            }
            if (*p)
                p++;
            if (!mask)
                PUT('\'');
        } else {
            for (; *p && *p != ' ' && *p != '\t'; p++)
                if (!mask)
                    PUT(*p);
        }
    }
#undef PUT
    if (outlen)
        out[o < outlen ? o : outlen - 1] = '\0';
    return out;
}

char *gp_sdk_printable(const void *buf, size_t len, size_t max, char *out,
                       size_t outlen)
{
    const unsigned char *b = buf;
    size_t shown = len < max ? len : max;
    size_t o = 0;
    if (!outlen)
        return out;
    for (size_t i = 0; i < shown && o + 5 < outlen; i++) {
        if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\\' && b[i] != '"') {
            out[o++] = (char)b[i];
        } else {
            snprintf(out + o, outlen - o, "\\x%02x", b[i]);
            o += 4;
        }
    }
    if (shown < len && o + 4 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}
