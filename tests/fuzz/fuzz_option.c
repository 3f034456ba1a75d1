/*
 * tests/fuzz/fuzz_option.c - one option value against its schema entry
 * (core/option.c): the first input byte picks a declaration (every type,
 * with and without range, choices and the secret flag), the rest is the
 * value's text. A value that parses is within the declared range and
 * choices; the error for a secret option never shows the value
 * (option.h's promise), only fixed text and the declaration's bounds.
 */
#include <string.h>

#include "fuzz.h"
#include "option.h"
#include "util.h"

static const gp_option decls[] = {
    {.key = "host", .type = GP_TYPE_STRING},
    {.key = "mode", .type = GP_TYPE_STRING, .choices = "a|bb|ccc"},
    {.key = "port", .type = GP_TYPE_INTEGER, .min = 1, .max = 65535},
    {.key = "count", .type = GP_TYPE_INTEGER},
    {.key = "flag", .type = GP_TYPE_BOOLEAN},
    {.key = "wait", .type = GP_TYPE_DURATION, .min = 0, .max = 60000},
    {.key = "any_wait", .type = GP_TYPE_DURATION},
    {.key = "ratio", .type = GP_TYPE_PERCENTAGE, .min = 10, .max = 90},
    {.key = "share", .type = GP_TYPE_PERCENTAGE},
    {.key = "types", .type = GP_TYPE_LIST, .choices = "A|AAAA|MX|TXT"},
    {.key = "items", .type = GP_TYPE_LIST},
    {.key = "password", .type = GP_TYPE_STRING, .flags = GP_OPT_SECRET},
    {.key = "pin",
     .type = GP_TYPE_INTEGER,
     .flags = GP_OPT_SECRET,
     .min = 1,
     .max = 9999},
    {.key = "token",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_SECRET,
     .choices = "x|y"},
    {.key = "keys", .type = GP_TYPE_LIST, .flags = GP_OPT_SECRET},
    {.key = "secret_wait",
     .type = GP_TYPE_DURATION,
     .flags = GP_OPT_SECRET,
     .min = 1,
     .max = 1000},
};

static int has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* What option.c may say about a secret's bad value: fixed text only. */
static int secret_safe(const char *err)
{
    return strcmp(err, "invalid value") == 0 ||
           has_prefix(err, "value out of range (") ||
           has_prefix(err, "invalid value (expected one of: ");
}

static int in_choices(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = choices;;) {
        size_t len = strcspn(p, "|");
        if (len == n && memcmp(p, v, n) == 0)
            return 1;
        if (!p[len])
            return 0;
        p += len + 1;
    }
}

static void check_ok(const gp_option *decl, const char *text,
                     const opt_value *ov)
{
    int ranged = decl->min < decl->max;
    switch (decl->type) {
    case GP_TYPE_INTEGER:
    case GP_TYPE_DURATION:
        FUZZ_CHECK(!ranged || (ov->i >= decl->min && ov->i <= decl->max));
        break;
    case GP_TYPE_PERCENTAGE:
        FUZZ_CHECK(ov->pct >= 0 && ov->pct <= 100);
        FUZZ_CHECK(!ranged || (ov->pct >= (double)decl->min &&
                               ov->pct <= (double)decl->max));
        break;
    case GP_TYPE_BOOLEAN: FUZZ_CHECK(ov->i == 0 || ov->i == 1); break;
    case GP_TYPE_STRING:
        FUZZ_CHECK(!decl->choices || in_choices(decl->choices, text));
        break;
    case GP_TYPE_LIST:
        for (size_t i = 0; i < ov->n_items; i++)
            FUZZ_CHECK(!decl->choices ||
                       in_choices(decl->choices, ov->items[i]));
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const gp_option *decl = &decls[data[0] % ARRAY_LEN(decls)];
    char *text = fuzz_cstr(data + 1, size - 1);
    opt_value ov = {.decl = decl};
    char err[512] = "";

    if (option_parse(decl, text, &ov, err, sizeof err) == 0) {
        check_ok(decl, text, &ov);
    } else {
        FUZZ_CHECK(memchr(err, '\0', sizeof err) && err[0]);
        if (decl->flags & GP_OPT_SECRET)
            FUZZ_CHECK(secret_safe(err));
    }
    strv_free(ov.items, ov.n_items);
    free(text);
    return 0;
}
