/*
 * core/option.c - one option value against its declaration; see option.h.
 *
 * Shared code: compiled into the core and into the SDK's test harness
 * (libgpcheck-testing.a, sdk/CMakeLists.txt). It may use only libc, the
 * public headers and the other shared files (util, value, option, optapi,
 * schema);
 * never the loader, the config reader, the runner or the reports.
 */
#include "option.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "value.h"

static int in_choices(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = choices;; p++) {
        size_t len = strcspn(p, "|");
        if (len == n && memcmp(p, v, n) == 0)
            return 1;
        p += len;
        if (!*p)
            return 0;
    }
}

/* "a|b|c" as "a, b, c", for messages. */
static char *choices_text(const char *choices)
{
    strbuf sb = {0};
    for (const char *p = choices; *p; p++)
        sb_append(&sb, *p == '|' ? ", " : (char[]){*p, '\0'});
    return sb_take(&sb);
}

static int parse_typed(const gp_option *decl, const char *text, opt_value *ov,
                       char *err, size_t errlen)
{
    int b;

    switch (decl->type) {
    case GP_TYPE_STRING: return 0;
    case GP_TYPE_INTEGER: return value_integer(text, &ov->i, err, errlen);
    case GP_TYPE_BOOLEAN:
        if (value_boolean(text, &b, err, errlen) < 0)
            return -1;
        ov->i = b;
        return 0;
    case GP_TYPE_DURATION: return value_duration(text, &ov->i, err, errlen);
    case GP_TYPE_PERCENTAGE:
        return value_percentage(text, &ov->pct, err, errlen);
    case GP_TYPE_LIST:
        return value_list(text, &ov->items, &ov->n_items, err, errlen);
    }
    snprintf(err, errlen, "unsupported option type %d", (int)decl->type);
    return -1;
}

static int check_range(const gp_option *decl, const char *text,
                       const opt_value *ov, int secret, char *err,
                       size_t errlen)
{
    const char *unit = decl->type == GP_TYPE_DURATION     ? "ms"
                       : decl->type == GP_TYPE_PERCENTAGE ? "%"
                                                          : "";
    int out;

    if (decl->min >= decl->max)
        return 0;
    if (decl->type == GP_TYPE_PERCENTAGE)
        out = ov->pct < (double)decl->min || ov->pct > (double)decl->max;
    else if (decl->type == GP_TYPE_INTEGER || decl->type == GP_TYPE_DURATION)
        out = ov->i < decl->min || ov->i > decl->max;
    else
        return 0;
    if (!out)
        return 0;
    if (secret)
        snprintf(err, errlen, "value out of range (%lld%s..%lld%s)",
                 (long long)decl->min, unit, (long long)decl->max, unit);
    else
        snprintf(err, errlen, "'%s' is out of range (%lld%s..%lld%s)", text,
                 (long long)decl->min, unit, (long long)decl->max, unit);
    return -1;
}

static int check_choices(const gp_option *decl, const char *text,
                         const opt_value *ov, int secret, char *err,
                         size_t errlen)
{
    const char *bad = NULL;

    if (!decl->choices)
        return 0;
    if (decl->type == GP_TYPE_STRING && !in_choices(decl->choices, text))
        bad = text;
    for (size_t i = 0; decl->type == GP_TYPE_LIST && i < ov->n_items; i++)
        if (!bad && !in_choices(decl->choices, ov->items[i]))
            bad = ov->items[i];
    if (!bad)
        return 0;
    char *list = choices_text(decl->choices);
    if (secret)
        snprintf(err, errlen, "invalid value (expected one of: %s)", list);
    else
        snprintf(err, errlen, "'%s' is not one of: %s", bad, list);
    free(list);
    return -1;
}

int option_parse(const gp_option *decl, const char *text, opt_value *ov,
                 char *err, size_t errlen)
{
    int secret = (decl->flags & GP_OPT_SECRET) != 0;

    if (parse_typed(decl, text, ov, err, errlen) < 0) {
        if (secret)
            snprintf(err, errlen, "invalid value");
        return -1;
    }
    if (check_range(decl, text, ov, secret, err, errlen) < 0 ||
        check_choices(decl, text, ov, secret, err, errlen) < 0)
        return -1;
    return 0;
}
