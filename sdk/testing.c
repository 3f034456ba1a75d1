/*
 * sdk/testing.c - the in-process probe harness of gpcheck/testing.h: a
 * gp_api over options parsed with the core's own option parser, and
 * check() (and validate()) called directly. Linked, with the core's shared
 * code (core/optapi.c, option.c, schema.c, value.c, util.c), into
 * libgpcheck-testing.a, whose only global symbols are the
 * gp_test_* functions (the build localises the rest).
 */
#include "gpcheck/testing.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optapi.h"
#include "option.h"
#include "schema.h"
#include "util.h"

struct gp_test {
    optview ov; /* first: the core's option getters read it */
    const gp_plugin *pl;
    size_t n_opts, n_metrics;
    opt_value *opts; /* one per declared option */
    int64_t timeout_ms;
    int warmup;
    unsigned attempt;
    int64_t deadline_ms; /* of the run in progress */
    strbuf message;
    /* The metrics of the run in progress: the declared ones, then those
     * a GP_OPT_METRICS option names. Owned: the arrays and the names. */
    char **metric_names;
    double *values;
    char *reported;
    char **logs;
    size_t n_logs, cap_logs;
    char **invalid; /* owned; "KEY: MESSAGE" of the last gp_test_validate */
    size_t n_invalid, cap_invalid;
    char **secrets; /* owned; what secret() declared, since gp_test_new */
    size_t n_secrets, cap_secrets;
    int validating;
    char *error;
    double took_ms;
};

/* Why the last gp_test_new() returned NULL (see gp_test_error(NULL)). */
static _Thread_local char new_error[512];

/* The context a check() gets is the harness itself. */
struct gp_ctx {
    gp_test t;
};

static void set_error(gp_test *t, const char *fmt, ...) UTIL_PRINTF(2, 3);

static void set_error(gp_test *t, const char *fmt, ...)
{
    if (t->error)
        return; /* the first problem is the one to fix */
    strbuf sb = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vappendf(&sb, fmt, ap);
    va_end(ap);
    t->error = sb_take(&sb);
}

static opt_value *find(gp_test *t, const char *key)
{
    for (size_t i = 0; key && i < t->n_opts; i++)
        if (strcmp(t->opts[i].decl->key, key) == 0)
            return &t->opts[i];
    return NULL;
}

static void clear_value(opt_value *v)
{
    free(v->text);
    strv_free(v->items, v->n_items);
    strv_free(v->names, v->n_items);
    free(v->item_at);
    const gp_option *decl = v->decl;
    memset(v, 0, sizeof *v);
    v->decl = decl;
}

static int assign(gp_test *t, opt_value *v, const char *text, int set)
{
    char err[256];
    opt_value nv = {.decl = v->decl};
    if (option_parse(v->decl, text, &nv, err, sizeof err) < 0) {
        set_error(t, "option '%s': %s", v->decl->key, err);
        return -1;
    }
    clear_value(v);
    *v = nv;
    v->text = xstrdup(text);
    v->has = 1;
    v->set = set;
    return 0;
}

gp_test *gp_test_new(const gp_plugin *pl)
{
    size_t n_opts, n_metrics;
    char why[400];
    new_error[0] = '\0';
    /* The loader's own check: a harness that accepted more would let a
     * green unit test hide a plugin gpcheck refuses to load. */
    if (schema_check_desc(pl, NULL, &n_opts, &n_metrics, why, sizeof why) < 0) {
        snprintf(new_error, sizeof new_error,
                 "gp_test_new: gpcheck (ABI %d.%d) would not load this "
                 "plugin: %s",
                 GP_ABI_MAJOR, GP_ABI_MINOR, why);
        fprintf(stderr, "%s\n", new_error);
        return NULL;
    }
    struct gp_ctx *c = xcalloc(1, sizeof *c);
    gp_test *t = &c->t;
    t->pl = pl;
    t->timeout_ms = 5000;
    t->attempt = 1;
    t->n_opts = n_opts;
    (void)n_metrics; /* counted per run, with the configured ones */
    t->opts = xcalloc(t->n_opts + 1, sizeof *t->opts);
    t->ov.opts = t->opts;
    t->ov.n = t->n_opts;
    for (size_t i = 0; i < t->n_opts; i++) {
        t->opts[i].decl = &pl->options[i];
        if (pl->options[i].def &&
            assign(t, &t->opts[i], pl->options[i].def, 0) < 0) {
            snprintf(new_error, sizeof new_error,
                     "gp_test_new: plugin '%s': bad default: %s", pl->name,
                     t->error);
            fprintf(stderr, "%s\n", new_error);
            gp_test_free(t);
            return NULL;
        }
    }
    return t;
}

/* KEY.NAME of a GP_OPT_FAMILY option: one more member, or NAME's value
 * replaced, as the configuration's later key wins. */
static int set_member(gp_test *t, const char *key, const char *value)
{
    const char *dot = strchr(key, '.');
    char *fam = xstrndup(key, (size_t)(dot - key));
    opt_value *v = find(t, fam);
    free(fam);
    if (!v || !(v->decl->flags & GP_OPT_FAMILY)) {
        set_error(t, "plugin declares no option family for '%s'", key);
        return -1;
    }
    if (!schema_valid_ident(dot + 1)) {
        set_error(t, "option '%s': invalid name '%s' (want [a-z][a-z0-9_]*)",
                  key, dot + 1);
        return -1;
    }
    for (size_t i = 0; i < v->n_items; i++) {
        if (strcmp(v->names[i], dot + 1) == 0) {
            free(v->items[i]);
            v->items[i] = xstrdup(value ? value : "");
            return 0;
        }
    }
    size_t n = v->n_items;
    v->items = xrealloc(v->items, (n + 2) * sizeof *v->items);
    v->names = xrealloc(v->names, (n + 2) * sizeof *v->names);
    v->items[n] = xstrdup(value ? value : "");
    v->names[n] = xstrdup(dot + 1);
    v->items[n + 1] = v->names[n + 1] = NULL;
    v->n_items = n + 1;
    if (!v->text)
        v->text = xstrdup("");
    v->has = v->set = 1;
    return 0;
}

int gp_test_set(gp_test *t, const char *key, const char *value)
{
    if (key && strchr(key, '.'))
        return set_member(t, key, value);
    opt_value *v = find(t, key);
    if (v && (v->decl->flags & GP_OPT_FAMILY)) {
        set_error(t, "option '%s' is a family: set %s.NAME", key, key);
        return -1;
    }
    if (!v) {
        set_error(t, "plugin declares no option '%s'", key ? key : "");
        return -1;
    }
    return assign(t, v, value, 1);
}

void gp_test_timeout_ms(gp_test *t, int64_t ms)
{
    t->timeout_ms = ms;
}

void gp_test_warmup(gp_test *t, int in_warmup)
{
    t->warmup = in_warmup;
}

void gp_test_attempt(gp_test *t, unsigned number)
{
    t->attempt = number;
}

/* ---- the gp_api a plugin sees ------------------------------------------ */

static int64_t api_deadline_ms(gp_ctx *ctx)
{
    return ctx->t.deadline_ms;
}

static int64_t api_time_left_ms(gp_ctx *ctx)
{
    int64_t left = ctx->t.deadline_ms - now_ms();
    return left > 0 ? left : 0;
}

static int api_in_warmup(gp_ctx *ctx)
{
    return ctx->t.warmup;
}

static unsigned api_attempt(gp_ctx *ctx)
{
    return ctx->t.attempt;
}

static const char *api_probe_name(gp_ctx *ctx)
{
    return ctx->t.pl->name;
}

static void api_metric(gp_ctx *ctx, const char *name, double value)
{
    gp_test *t = &ctx->t;
    if (t->validating)
        return;
    for (size_t i = 0; name && i < t->n_metrics; i++) {
        if (strcmp(t->metric_names[i], name) == 0) {
            t->values[i] = value;
            t->reported[i] = 1;
            return;
        }
    }
    optview_bug(&t->ov, "plugin reported undeclared metric '%s'", name);
}

/* ABI 1.3: the harness has no thresholds and shows every metric, like a
 * JSON report: each metric the probe may report is wanted (not in
 * validate(), where only thresholds would count). */
static int api_metric_wanted(gp_ctx *ctx, const char *name)
{
    gp_test *t = &ctx->t;
    for (size_t i = 0; name && !t->validating && i < t->n_metrics; i++)
        if (strcmp(t->metric_names[i], name) == 0)
            return 1;
    return 0;
}

static void api_invalid(gp_ctx *ctx, const char *key, const char *fmt, ...)
{
    gp_test *t = &ctx->t;
    if (!t->validating) {
        optview_bug(&t->ov,
                    "plugin called invalid() from check() (for option '%s')",
                    key);
        return;
    }
    if (!key || !find(t, key)) {
        optview_bug(&t->ov,
                    "plugin called invalid() for undeclared option "
                    "'%s'",
                    key);
        return;
    }
    strbuf sb = {0};
    sb_appendf(&sb, "%s: ", key);
    va_list ap;
    va_start(ap, fmt);
    if (fmt)
        sb_vappendf(&sb, fmt, ap);
    va_end(ap);
    xgrow(&t->invalid, &t->cap_invalid, t->n_invalid + 2, sizeof *t->invalid);
    t->invalid[t->n_invalid++] = sb_take(&sb);
    t->invalid[t->n_invalid] = NULL;
}

static void api_secret(gp_ctx *ctx, const char *text)
{
    gp_test *t = &ctx->t;
    if (!text || !*text)
        return;
    for (size_t i = 0; i < t->n_secrets; i++)
        if (strcmp(t->secrets[i], text) == 0)
            return;
    xgrow(&t->secrets, &t->cap_secrets, t->n_secrets + 2, sizeof *t->secrets);
    t->secrets[t->n_secrets++] = xstrdup(text);
    t->secrets[t->n_secrets] = NULL;
}

static void api_message(gp_ctx *ctx, const char *fmt, ...)
{
    sb_free(&ctx->t.message);
    if (!fmt || ctx->t.validating)
        return;
    va_list ap;
    va_start(ap, fmt);
    sb_vappendf(&ctx->t.message, fmt, ap);
    va_end(ap);
}

static void api_log(gp_ctx *ctx, gp_log_level level, const char *fmt, ...)
{
    gp_test *t = &ctx->t;
    (void)level;
    if (!fmt || t->validating)
        return;
    strbuf sb = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vappendf(&sb, fmt, ap);
    va_end(ap);
    xgrow(&t->logs, &t->cap_logs, t->n_logs + 2, sizeof *t->logs);
    t->logs[t->n_logs++] = sb_take(&sb);
    t->logs[t->n_logs] = NULL;
}

static const gp_api api = {
    OPTAPI_COMMON,
    .deadline_ms = api_deadline_ms,
    .time_left_ms = api_time_left_ms,
    .in_warmup = api_in_warmup,
    .attempt = api_attempt,
    .probe_name = api_probe_name,
    .metric = api_metric,
    .message = api_message,
    .log = api_log,
    .invalid = api_invalid,
    .secret = api_secret,
    .metric_wanted = api_metric_wanted,
};

/* The run's metrics: declared, then named by a GP_OPT_METRICS option,
 * refused as gpcheck refuses them at config time. */
static int build_metrics(gp_test *t)
{
    size_t declared = 0;
    while (t->pl->metrics && t->pl->metrics[declared].name)
        declared++;
    strv_free(t->metric_names, t->n_metrics);
    t->n_metrics = 0;
    t->metric_names = xcalloc(declared + 1, sizeof *t->metric_names);
    for (; t->n_metrics < declared; t->n_metrics++)
        t->metric_names[t->n_metrics] =
            xstrdup(t->pl->metrics[t->n_metrics].name);
    for (size_t i = 0; i < t->n_opts; i++) {
        const opt_value *v = &t->opts[i];
        if (!(v->decl->flags & GP_OPT_FAMILY))
            continue;
        t->metric_names =
            xrealloc(t->metric_names,
                     (t->n_metrics + v->n_items + 1) * sizeof *t->metric_names);
        for (size_t k = 0; k < v->n_items; k++)
            t->metric_names[t->n_metrics++] = xstrdup(v->names[k]);
    }
    size_t family_end = t->n_metrics;
    for (size_t i = 0; i < t->n_opts; i++) {
        const opt_value *v = &t->opts[i];
        if (!(v->decl->flags & GP_OPT_METRICS))
            continue;
        t->metric_names =
            xrealloc(t->metric_names,
                     (t->n_metrics + v->n_items + 1) * sizeof *t->metric_names);
        for (size_t k = 0; k < v->n_items; k++) {
            char err[256], *name;
            gp_unit unit;
            if (schema_metric_item(v->items[k], &name, &unit, err, sizeof err) <
                0) {
                set_error(t, "option '%s': %s", v->decl->key, err);
                return -1;
            }
            int unit_of_member = 0; /* `units = NAME:%` for a member */
            for (size_t m = declared; m < family_end; m++)
                unit_of_member |= strcmp(t->metric_names[m], name) == 0;
            if (unit_of_member) {
                free(name);
                continue;
            }
            for (size_t m = 0; m < t->n_metrics; m++) {
                if (strcmp(t->metric_names[m], name) == 0) {
                    set_error(t,
                              "option '%s': metric '%s' listed twice or "
                              "declared by the plugin",
                              v->decl->key, name);
                    free(name);
                    return -1;
                }
            }
            t->metric_names[t->n_metrics++] = name;
        }
    }
    free(t->values);
    free(t->reported);
    t->values = xcalloc(t->n_metrics + 1, sizeof *t->values);
    t->reported = xcalloc(t->n_metrics + 1, 1);
    return 0;
}

/* Reset the last run's results; check required options as gpcheck does
 * (a required option set to an empty value counts as missing). */
static int prepare(gp_test *t)
{
    sb_free(&t->message);
    strv_free(t->logs, t->n_logs);
    t->logs = NULL;
    t->n_logs = t->cap_logs = 0;
    free(t->error);
    t->error = NULL;
    sb_free(&t->ov.bug);
    for (size_t i = 0; i < t->n_opts; i++) {
        const opt_value *v = &t->opts[i];
        if ((v->decl->flags & GP_OPT_REQUIRED) &&
            (!v->set || !v->text || !v->text[strspn(v->text, " \t")])) {
            set_error(t, "missing required option '%s'", v->decl->key);
            return -1;
        }
    }
    return build_metrics(t);
}

int gp_test_validate(gp_test *t)
{
    strv_free(t->invalid, t->n_invalid);
    t->invalid = NULL;
    t->n_invalid = t->cap_invalid = 0;
    if (prepare(t) < 0)
        return -1;
    gp_validate_fn validate = schema_validate_fn(t->pl);
    if (!validate)
        return 0;
    t->deadline_ms = now_ms() + GP_VALIDATE_TIMEOUT_MS;
    t->validating = 1;
    validate((gp_ctx *)t, &api);
    t->validating = 0;
    if (t->ov.bug.len) {
        set_error(t, "%s", sb_str(&t->ov.bug));
        return -1;
    }
    return (int)t->n_invalid;
}

size_t gp_test_invalid(const gp_test *t, const char *const **lines)
{
    static const char *const none[] = {NULL};
    if (lines)
        *lines = t->invalid ? (const char *const *)t->invalid : none;
    return t->n_invalid;
}

size_t gp_test_secrets(const gp_test *t, const char *const **texts)
{
    static const char *const none[] = {NULL};
    if (texts)
        *texts = t->secrets ? (const char *const *)t->secrets : none;
    return t->n_secrets;
}

gp_outcome gp_test_run(gp_test *t)
{
    if (prepare(t) < 0)
        return GP_UNKNOWN;
    t->deadline_ms = now_ms() + t->timeout_ms;
    int64_t start = now_ns();
    gp_outcome out = t->pl->check((gp_ctx *)t, &api);
    t->took_ms = (double)(now_ns() - start) / 1e6;
    if (t->ov.bug.len) {
        set_error(t, "%s", sb_str(&t->ov.bug));
        return GP_UNKNOWN; /* the plugin misused the API */
    }
    if (!optapi_outcome_name(out)) {
        set_error(t, "plugin returned an invalid outcome %d", (int)out);
        return GP_UNKNOWN;
    }
    return out;
}

const char *gp_test_message(const gp_test *t)
{
    return t->message.buf ? t->message.buf : "";
}

int gp_test_metric(const gp_test *t, const char *name, double *value)
{
    for (size_t i = 0; i < t->n_metrics; i++) {
        if (t->reported[i] && strcmp(t->metric_names[i], name) == 0) {
            if (value)
                *value = t->values[i];
            return 1;
        }
    }
    return 0;
}

size_t gp_test_logs(const gp_test *t, const char *const **lines)
{
    static const char *const none[] = {NULL};
    if (lines)
        *lines = t->logs ? (const char *const *)t->logs : none;
    return t->n_logs;
}

const char *gp_test_error(const gp_test *t)
{
    if (!t)
        return new_error[0] ? new_error : NULL;
    return t->error;
}

double gp_test_duration_ms(const gp_test *t)
{
    return t->took_ms;
}

const char *gp_test_outcome_name(gp_outcome o)
{
    const char *name = optapi_outcome_name(o);
    return name ? name : "invalid";
}

void gp_test_free(gp_test *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_opts; i++)
        clear_value(&t->opts[i]);
    free(t->opts);
    strv_free(t->metric_names, t->n_metrics);
    strv_free(t->invalid, t->n_invalid);
    for (size_t i = 0; i < t->n_secrets; i++)
        explicit_bzero(t->secrets[i], strlen(t->secrets[i]));
    strv_free(t->secrets, t->n_secrets);
    free(t->values);
    free(t->reported);
    sb_free(&t->message);
    strv_free(t->logs, t->n_logs);
    free(t->error);
    sb_free(&t->ov.bug);
    free(t);
}
