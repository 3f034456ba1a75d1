/*
 * tests/fuzz/fuzz_value.c - the typed values of the config language
 * (core/value.c): every parser on the same input, and ${VAR}
 * interpolation with a fixed set of variables, checked against what
 * value.h promises (an error always has a reason, a duration is never
 * negative, a percentage is within 0..100, list items are trimmed and
 * never empty, text without '$' interpolates to itself).
 */
#include <ctype.h>
#include <string.h>

#include "fuzz.h"
#include "util.h"
#include "value.h"

static const char *const vars[][2] = {
    {"A", "1"},         {"EMPTY", ""},   {"DB_HOST", "10.8.0.9"},
    {"SPACE", " a b "}, {"DOLLAR", "$"}, {"BRACE", "${A}"},
};

static const char *lookup(void *ud, const char *name)
{
    (void)ud;
    for (size_t i = 0; i < ARRAY_LEN(vars); i++)
        if (strcmp(vars[i][0], name) == 0)
            return vars[i][1];
    return NULL;
}

/* err must hold a NUL-terminated, non-empty reason. */
static void check_err(const char *err, size_t errlen)
{
    FUZZ_CHECK(memchr(err, '\0', errlen) != NULL);
    FUZZ_CHECK(err[0] != '\0');
}

static void durations(const char *s)
{
    char err[128], buf[32];
    int64_t ms = -1;
    if (value_duration(s, &ms, err, sizeof err) == 0) {
        FUZZ_CHECK(ms >= 0);
        fmt_duration(buf, sizeof buf, ms);
        FUZZ_CHECK(buf[0] != '\0');
    } else {
        check_err(err, sizeof err);
    }
}

static void scalars(const char *s)
{
    char err[128];
    double pct = -1;
    int b = -1;
    int64_t v;
    if (value_percentage(s, &pct, err, sizeof err) == 0)
        FUZZ_CHECK(pct >= 0.0 && pct <= 100.0);
    else
        check_err(err, sizeof err);
    if (value_boolean(s, &b, err, sizeof err) == 0)
        FUZZ_CHECK(b == 0 || b == 1);
    else
        check_err(err, sizeof err);
    if (value_integer(s, &v, err, sizeof err) < 0)
        check_err(err, sizeof err);
    /* A tiny buffer must still be NUL-terminated and not overrun. */
    char small[4];
    if (value_duration(s, &v, small, sizeof small) < 0)
        FUZZ_CHECK(memchr(small, '\0', sizeof small) != NULL);
}

static void lists(const char *s)
{
    char err[128];
    char **items = NULL;
    size_t n = 0;
    if (value_list(s, &items, &n, err, sizeof err) < 0) {
        check_err(err, sizeof err);
        return;
    }
    FUZZ_CHECK(items != NULL && items[n] == NULL);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(items[i]);
        FUZZ_CHECK(len > 0 && strchr(items[i], ',') == NULL);
        FUZZ_CHECK(!isspace((unsigned char)items[i][0]) &&
                   !isspace((unsigned char)items[i][len - 1]));
    }
    /* Joined again, the items are the same list. */
    strbuf sb = {0};
    for (size_t i = 0; i < n; i++)
        sb_appendf(&sb, "%s%s", i ? ", " : "", items[i]);
    char **again = NULL;
    size_t n2 = 0;
    FUZZ_CHECK(value_list(sb_str(&sb), &again, &n2, err, sizeof err) == 0);
    FUZZ_CHECK(n2 == n);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(strcmp(again[i], items[i]) == 0);
    strv_free(again, n2);
    sb_free(&sb);
    strv_free(items, n);
}

static void interpolation(const char *s)
{
    char err[256];
    char *out = NULL;
    if (value_interpolate(s, lookup, NULL, NULL, &out, err, sizeof err) < 0) {
        check_err(err, sizeof err);
        FUZZ_CHECK(strchr(s, '$') != NULL);
        return;
    }
    FUZZ_CHECK(out != NULL);
    if (!strchr(s, '$'))
        FUZZ_CHECK(strcmp(out, s) == 0);
    /* No lookup at all: every ${VAR} is unset. */
    char *bare = NULL;
    if (value_interpolate(s, NULL, NULL, NULL, &bare, err, sizeof err) == 0)
        free(bare);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    durations(s);
    scalars(s);
    lists(s);
    interpolation(s);
    free(s);
    return 0;
}
