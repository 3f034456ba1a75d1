/*
 * core/optapi.c - option getters and outcome names of gp_api; see
 * optapi.h.
 *
 * Shared code: compiled into the core and into the SDK's test harness
 * (libgpcheck-testing.a, sdk/CMakeLists.txt). It may use only libc, the
 * public headers and the other shared files (util, value, option, optapi,
 * schema);
 * never the loader, the config reader, the runner or the reports.
 */
#include "optapi.h"

#include <string.h>

void optview_bug(optview *v, const char *fmt, const char *what)
{
    if (v->bug.len == 0)
        sb_appendf(&v->bug, fmt, what ? what : "(null)");
}

static const opt_value *find(optview *v, const char *key)
{
    for (size_t i = 0; key && i < v->n; i++)
        if (strcmp(v->opts[i].decl->key, key) == 0)
            return &v->opts[i];
    optview_bug(v, "plugin asked for undeclared option '%s'", key);
    return NULL;
}

/* The value of key when declared with this type and set or defaulted. */
static const opt_value *get(gp_ctx *ctx, const char *key, gp_type type)
{
    optview *v = (optview *)ctx;
    const opt_value *o = find(v, key);
    if (o && o->decl->type != type) {
        optview_bug(v, "plugin read option '%s' with the wrong type", key);
        return NULL;
    }
    return o && o->has ? o : NULL;
}

const char *optview_string(gp_ctx *ctx, const char *key)
{
    const opt_value *o = get(ctx, key, GP_TYPE_STRING);
    return o ? o->text : NULL;
}

int64_t optview_integer(gp_ctx *ctx, const char *key)
{
    const opt_value *o = get(ctx, key, GP_TYPE_INTEGER);
    return o ? o->i : 0;
}

int optview_boolean(gp_ctx *ctx, const char *key)
{
    const opt_value *o = get(ctx, key, GP_TYPE_BOOLEAN);
    return o ? (int)o->i : 0;
}

int64_t optview_duration_ms(gp_ctx *ctx, const char *key)
{
    const opt_value *o = get(ctx, key, GP_TYPE_DURATION);
    return o ? o->i : 0;
}

double optview_percentage(gp_ctx *ctx, const char *key)
{
    const opt_value *o = get(ctx, key, GP_TYPE_PERCENTAGE);
    return o ? o->pct : 0.0;
}

size_t optview_list(gp_ctx *ctx, const char *key, const char *const **items)
{
    static const char *const none[] = {NULL};
    const opt_value *o = get(ctx, key, GP_TYPE_LIST);
    if (items)
        *items = o && o->items ? (const char *const *)o->items : none;
    return o ? o->n_items : 0;
}

size_t optview_family(gp_ctx *ctx, const char *key, const char *const **names,
                      const char *const **values)
{
    static const char *const none[] = {NULL};
    optview *v = (optview *)ctx;
    const opt_value *o = find(v, key);
    if (o && !(o->decl->flags & GP_OPT_FAMILY)) {
        optview_bug(v, "plugin read option '%s' as a family, which it is not",
                    key);
        o = NULL;
    }
    int any = o && o->n_items && o->names;
    if (names)
        *names = any ? (const char *const *)o->names : none;
    if (values)
        *values = any ? (const char *const *)o->items : none;
    return any ? o->n_items : 0;
}

int optview_isset(gp_ctx *ctx, const char *key)
{
    const opt_value *o = find((optview *)ctx, key);
    return o ? o->set : 0;
}

static const char *const outcome_names[] = {
    [GP_READY] = "ready",     [GP_TRANSIENT] = "transient",
    [GP_FATAL] = "fatal",     [GP_DEGRADED] = "degraded",
    [GP_UNKNOWN] = "unknown",
};

const char *optapi_outcome_name(gp_outcome o)
{
    /* unsigned: a negative value from a buggy plugin is out of range too */
    return (unsigned)o < ARRAY_LEN(outcome_names) ? outcome_names[o] : NULL;
}

int optapi_outcome_parse(const char *name, gp_outcome *o)
{
    for (size_t i = 0; name && i < ARRAY_LEN(outcome_names); i++) {
        if (strcmp(outcome_names[i], name) == 0) {
            *o = (gp_outcome)i;
            return 0;
        }
    }
    return -1;
}
