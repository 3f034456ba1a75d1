/*
 * core/resolve.c - from raw probe sections to validated probe_defs: the
 * plugin of each probe, its keys against the policy keys and the plugin's
 * option schema, typed values, the `after` graph, `envs`, and the
 * command-line selection.
 *
 * Every section is checked whether it runs or not, and every problem is
 * reported before giving up: a gate that fails on one typo per run makes
 * fixing a config a slow loop.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credentials.h"
#include "gpcheck/sdk.h"
#include "option.h"
#include "policy.h"
#include "schema.h"
#include "secrets.h"
#include "validate.h"
#include "value.h"

#define NONE ((size_t)-1)

/* A probe section being resolved. */
typedef struct rprobe {
    probe_def def;
    int avail;              /* its `envs` allow the environment */
    const cfg_entry *after; /* the `after` key, for messages */
    char **after_names;
    size_t n_after_names;
    size_t *deps; /* `after` as indices of sections */
    size_t n_deps;
    int selected;
    const cfg_entry *group; /* the `group` key, or NULL */
    size_t group_idx;       /* index into cfg->groups, or NONE */
} rprobe;

/* A [group NAME] section being resolved. */
typedef struct rgroup {
    group_def def;
    const cfg_entry *need; /* for messages */
    size_t n_avail;        /* members that run in this environment */
    size_t n_all;          /* members in any environment */
} rgroup;

typedef struct rctx {
    const config *cfg;
    diag *d;
    plugin_lookup_fn lookup;
    void *ud;
    const char *env;
    rprobe *rp; /* one per section */
    size_t n;
    rgroup *rg; /* one per group section */
    size_t n_groups;
    /* schema entries whose bad default was reported already */
    const gp_option **bad_defs;
    size_t n_bad_defs, cap_bad_defs;
} rctx;

const opt_value *probe_opt(const probe_def *p, const char *key)
{
    for (size_t i = 0; i < p->n_opts; i++)
        if (strcmp(p->opts[i].decl->key, key) == 0)
            return &p->opts[i];
    return NULL;
}

const gp_metric *probe_metric_list(const probe_def *p, size_t *n)
{
    if (p->metrics || !p->plugin) {
        *n = p->n_metrics;
        return p->metrics;
    }
    *n = p->plugin->n_metrics;
    return p->plugin->desc->metrics;
}

/* The metric `name` p may report, or NULL. */
static const gp_metric *metric_named(const probe_def *p, const char *name)
{
    size_t n;
    const gp_metric *m = probe_metric_list(p, &n);
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(m[i].name, name) == 0)
            return &m[i];
    return NULL;
}

void probe_add_secret(probe_def *p, const char *text)
{
    if (!text || !*text)
        return;
    for (size_t i = 0; i < p->n_secrets; i++)
        if (strcmp(p->secrets[i], text) == 0)
            return;
    p->secrets = xrealloc(p->secrets, (p->n_secrets + 1) * sizeof *p->secrets);
    p->secrets[p->n_secrets++] = xstrdup(text);
}

static void probe_def_free(probe_def *p)
{
    free(p->name);
    for (size_t i = 0; i < p->n_secrets; i++) {
        explicit_bzero(p->secrets[i], strlen(p->secrets[i]));
        free(p->secrets[i]);
    }
    free(p->secrets);
    for (size_t i = 0; i < p->n_opts; i++) {
        free(p->opts[i].text);
        strv_free(p->opts[i].items, p->opts[i].n_items);
        strv_free(p->opts[i].names, p->opts[i].n_items);
        free(p->opts[i].item_at);
        if (p->opts[i].file_secret) {
            explicit_bzero(p->opts[i].file_secret,
                           strlen(p->opts[i].file_secret));
            free(p->opts[i].file_secret);
        }
    }
    free(p->opts);
    strv_free(p->tags, p->n_tags);
    free(p->after);
    threshold_free(p->conds, p->n_conds);
    /* the plugin's own metrics come first; their names are the plugin's */
    size_t shared = p->metrics && p->plugin ? p->plugin->n_metrics : 0;
    for (size_t i = shared; i < p->n_metrics; i++)
        free((char *)p->metrics[i].name);
    free(p->metrics);
    memset(p, 0, sizeof *p);
}

static void group_def_free(group_def *g)
{
    free(g->name);
    free(g->members);
    memset(g, 0, sizeof *g);
}

void probe_set_free(probe_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        probe_def_free(&s->probes[i]);
    free(s->probes);
    for (size_t i = 0; i < s->n_groups; i++)
        group_def_free(&s->groups[i]);
    free(s->groups);
    memset(s, 0, sizeof *s);
}

size_t group_need(const group_def *g)
{
    size_t need = g->n_members;
    if (g->need == NEED_COUNT)
        need = (size_t)g->need_value;
    else if (g->need == NEED_PERCENT)
        need =
            (size_t)ceil(g->need_value / 100.0 * (double)g->n_members - 1e-9);
    return need > g->n_members ? g->n_members : need;
}

/* ------------------------------------------------------------------------ */
/* Option values                                                             */

static const cfg_entry *find_entry(const cfg_section *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->entries[i].key, key) == 0)
            return &s->entries[i];
    return NULL;
}

/* A plugin's own default is its bug, not the config's: reported once per
 * option, naming the plugin. */
static void bad_default(rctx *rc, const plugin *pl, const gp_option *decl,
                        const char *err)
{
    for (size_t i = 0; i < rc->n_bad_defs; i++)
        if (rc->bad_defs[i] == decl)
            return;
    xgrow(&rc->bad_defs, &rc->cap_bad_defs, rc->n_bad_defs + 1,
          sizeof *rc->bad_defs);
    rc->bad_defs[rc->n_bad_defs++] = decl;
    diag_add(rc->d, NULL, 0, "plugin '%s': option '%s': bad default: %s",
             pl->desc->name, decl->key, err);
}

/* A key the schema declares: parsed where it stands, so that messages come
 * in line order. */
/* GP_OPT_FILE: a secret file must be private; keep its content to mask
 * it in messages. Checked now, so `gpcheck validate` catches a 0644 one. */
static void read_file_secret(rctx *rc, probe_def *p, opt_value *ov,
                             const cfg_entry *e)
{
    char buf[8192], err[512];
    ssize_t n = gp_sdk_read_secret(e->value, buf, sizeof buf, err, sizeof err);
    if (n < 0) {
        diag_add(rc->d, e->at.file, e->at.line, "probe '%s': %s: %s", p->name,
                 ov->decl->key, err);
        return;
    }
    ov->file_secret = xstrndup(buf, (size_t)n);
    explicit_bzero(buf, sizeof buf);
}

static const char *resolve_var(void *ud, const char *name)
{
    const rctx *rc = ud;
    return config_var(rc->cfg, name);
}

/*
 * The text of a GP_OPT_CONNINFO value: interpolated again from what the
 * file says, each variable's value escaped as one value of the connection
 * string (cred_conninfo_escape), so that `dsn = host=${DB_HOST}` with
 * DB_HOST="x host=evil" cannot add a key. NULL after an error.
 */
static char *conninfo_text(rctx *rc, const probe_def *p, const opt_value *ov,
                           const cfg_entry *e)
{
    static const value_escape esc = {cred_conninfo_escape, NULL};
    char err[512], *text = NULL;

    if (!e->raw)
        return xstrdup(e->value);
    if (value_interpolate(e->raw, resolve_var, rc, &esc, &text, err,
                          sizeof err) < 0) {
        diag_add(rc->d, e->at.file, e->at.line, "probe '%s': %s: %s", p->name,
                 ov->decl->key, err);
        return NULL;
    }
    return text;
}

static int is_blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '\0';
}

static void set_opt(rctx *rc, probe_def *p, opt_value *ov, const cfg_entry *e)
{
    char err[512];
    const char *value = e->value;
    char *own = NULL;

    ov->set = ov->has = 1;
    ov->at = e->at;
    if (value && (ov->decl->flags & GP_OPT_CONNINFO)) {
        value = own = conninfo_text(rc, p, ov, e);
        if (!value) {
            ov->text = xstrdup("");
            return;
        }
    }
    ov->text = own ? own : xstrdup(value ? value : "");
    value = ov->text;
    if (e->value && option_parse(ov->decl, value, ov, err, sizeof err) < 0)
        diag_add(rc->d, e->at.file, e->at.line, "probe '%s': %s: %s", p->name,
                 ov->decl->key, err);
    else if (e->value && (ov->decl->flags & GP_OPT_REQUIRED) &&
             is_blank(e->value))
        diag_add(rc->d, e->at.file, e->at.line,
                 "probe '%s': %s: required option is empty (an unset "
                 "${VAR} expands to nothing; ${VAR:?why} makes it an error "
                 "of its own)",
                 p->name, ov->decl->key);
    else if (e->value && *e->value && (ov->decl->flags & GP_OPT_FILE))
        read_file_secret(rc, p, ov, e);
}

/* After every key: defaults for the options the section does not set. */
static void finish_opts(rctx *rc, const cfg_section *s, probe_def *p)
{
    char err[512];

    for (size_t k = 0; k < p->n_opts; k++) {
        opt_value *ov = &p->opts[k];
        const gp_option *decl = ov->decl;
        if (ov->set)
            continue;
        if (decl->flags & GP_OPT_FAMILY) {
            if (decl->flags & GP_OPT_REQUIRED)
                diag_add(rc->d, s->at.file, s->at.line,
                         "probe '%s': missing required option '%s.NAME' "
                         "(one or more)",
                         p->name, decl->key);
            continue;
        }
        if (decl->def) {
            ov->has = 1;
            ov->text = xstrdup(decl->def);
            if (option_parse(decl, decl->def, ov, err, sizeof err) < 0)
                bad_default(rc, p->plugin, decl, err);
        } else if (decl->flags & GP_OPT_REQUIRED) {
            diag_add(rc->d, s->at.file, s->at.line,
                     "probe '%s': missing required option '%s'", p->name,
                     decl->key);
        }
    }
    /* Every value is known now: the texts to mask wherever p shows. */
    secrets_collect(p);
}

/* ------------------------------------------------------------------------ */
/* Keys of a probe section                                                   */

static const plugin *find_plugin(rctx *rc, const char *probe,
                                 const cfg_entry *pe)
{
    char err[512] = "";
    /* `gpcheck probe ./my.so` names a file; the lookup decides. */
    int cli = pe->at.file && strcmp(pe->at.file, CONFIG_CLI_FILE) == 0;

    if (!cli && !schema_valid_plugin_name(pe->value)) {
        diag_add(rc->d, pe->at.file, pe->at.line,
                 "probe '%s': invalid plugin name '%s' (a bare name of "
                 "a-z, 0-9, '_' and '-')",
                 probe, pe->value);
        return NULL;
    }
    const plugin *p =
        rc->lookup ? rc->lookup(rc->ud, pe->value, err, sizeof err) : NULL;
    if (!p && *err)
        diag_add(rc->d, pe->at.file, pe->at.line, "probe '%s': %s", probe, err);
    else if (!p)
        diag_add(rc->d, pe->at.file, pe->at.line,
                 "probe '%s': unknown plugin '%s'", probe, pe->value);
    return p;
}

static opt_value *find_opt(probe_def *p, const char *key)
{
    return (opt_value *)probe_opt(p, key);
}

/* The decl of the GP_OPT_FAMILY option `key` (n bytes), or NULL. */
static const gp_option *family_decl(const plugin *pl, const char *key, size_t n)
{
    for (size_t i = 0; i < pl->n_options; i++) {
        const gp_option *o = &pl->desc->options[i];
        if ((o->flags & GP_OPT_FAMILY) && strlen(o->key) == n &&
            strncmp(o->key, key, n) == 0)
            return o;
    }
    return NULL;
}

/* An unknown KEY.NAME: a did-you-mean among the plugin's families, so
 * `querry.cpu` hints at `query.cpu`. */
static void family_key(rctx *rc, const probe_def *p, const cfg_entry *e,
                       const char *dot)
{
    const plugin *pl = p->plugin;
    const char **fams = xcalloc(pl->n_options + 1, sizeof *fams);
    size_t n = 0;
    for (size_t i = 0; i < pl->n_options; i++)
        if (pl->desc->options[i].flags & GP_OPT_FAMILY)
            fams[n++] = pl->desc->options[i].key;
    char *prefix = xstrndup(e->key, (size_t)(dot - e->key));
    const char *hint = config_did_you_mean(prefix, fams, n);
    if (hint)
        diag_add(rc->d, e->at.file, e->at.line,
                 "unknown key '%s' in probe '%s' (did you mean '%s%s'?)",
                 e->key, p->name, hint, dot);
    else if (n)
        diag_add(rc->d, e->at.file, e->at.line,
                 "unknown key '%s' in probe '%s' (plugin '%s' takes KEY.NAME "
                 "keys for: %s%s)",
                 e->key, p->name, pl->desc->name, fams[0],
                 n > 1 ? ", ..." : "");
    else
        diag_add(rc->d, e->at.file, e->at.line,
                 "unknown key '%s' in probe '%s'", e->key, p->name);
    free(prefix);
    free(fams);
}

static void unknown_key(rctx *rc, const probe_def *p, const cfg_entry *e)
{
    size_t n_res;
    const char *const *res = policy_reserved_keys(&n_res);
    const plugin *pl = p->plugin;
    const char **cands = xcalloc(n_res + pl->n_options, sizeof *cands);

    for (size_t i = 0; i < n_res; i++)
        cands[i] = res[i];
    for (size_t i = 0; i < pl->n_options; i++)
        cands[n_res + i] = pl->desc->options[i].key;
    const char *hint =
        config_did_you_mean(e->key, cands, n_res + pl->n_options);
    const char *dot = strchr(e->key, '.');
    if (dot) {
        family_key(rc, p, e, dot);
        free(cands);
        return;
    }
    if (hint)
        diag_add(rc->d, e->at.file, e->at.line,
                 "unknown key '%s' in probe '%s' (did you mean '%s'?)", e->key,
                 p->name, hint);
    else
        diag_add(rc->d, e->at.file, e->at.line,
                 "unknown key '%s' in probe '%s'", e->key, p->name);
    free(cands);
}

/* tags, after, envs: a list of [A-Za-z0-9_.-]+ names. */
static int name_list(rctx *rc, const probe_def *p, const cfg_entry *e,
                     char ***items, size_t *n)
{
    char err[512];

    if (value_list(e->value, items, n, err, sizeof err) < 0) {
        diag_add(rc->d, e->at.file, e->at.line, "probe '%s': %s: %s", p->name,
                 e->key, err);
        return -1;
    }
    for (size_t i = 0; i < *n; i++) {
        if (!config_valid_name((*items)[i])) {
            diag_add(rc->d, e->at.file, e->at.line,
                     "probe '%s': %s: invalid name '%s'", p->name, e->key,
                     (*items)[i]);
            /* dropped, so that `after` does not report it again */
            strv_free(*items, *n);
            *items = NULL;
            *n = 0;
            return -1;
        }
    }
    return 0;
}

static void set_envs(rctx *rc, rprobe *r, const cfg_entry *e)
{
    char **envs = NULL;
    size_t n = 0;

    if (name_list(rc, &r->def, e, &envs, &n) == 0) {
        /* An empty list restricts nothing: a probe that silently never
         * runs is worse for a gate than one that runs everywhere. */
        r->avail = n == 0;
        for (size_t i = 0; i < n; i++)
            if (strcmp(envs[i], rc->env) == 0)
                r->avail = 1;
    }
    strv_free(envs, n);
}

/* warn_if / fail_if: conditions on the probe's metrics (declared by the
 * plugin, or named by its GP_OPT_METRICS option). */
static void threshold_key(rctx *rc, rprobe *r, const cfg_entry *e)
{
    char err[512];
    if (!r->def.plugin)
        return; /* the unknown plugin is reported already */
    th_level level = strcmp(e->key, "fail_if") == 0 ? TH_FAIL : TH_WARN;
    if (threshold_parse(e->value, level, r->def.metrics, r->def.n_metrics,
                        &r->def.conds, &r->def.n_conds, err, sizeof err) < 0)
        diag_add(rc->d, e->at.file, e->at.line, "probe '%s': %s: %s",
                 r->def.name, e->key, err);
}

static void list_key(rctx *rc, rprobe *r, const cfg_entry *e)
{
    if (strcmp(e->key, "tags") == 0) {
        strv_free(r->def.tags, r->def.n_tags);
        r->def.tags = NULL;
        r->def.n_tags = 0;
        name_list(rc, &r->def, e, &r->def.tags, &r->def.n_tags);
    } else if (strcmp(e->key, "after") == 0) {
        r->after = e;
        name_list(rc, &r->def, e, &r->after_names, &r->n_after_names);
    } else if (strcmp(e->key, "envs") == 0) {
        set_envs(rc, r, e);
    } else if (strcmp(e->key, "group") == 0) {
        r->group = e;
    } else if (strcmp(e->key, "retry_on_threshold") == 0) {
        char err[256];
        int b;
        if (value_boolean(e->value, &b, err, sizeof err) < 0)
            diag_add(rc->d, e->at.file, e->at.line,
                     "probe '%s': retry_on_threshold: %s", r->def.name, err);
        else
            r->def.retry_on_threshold = b;
    } else if (strcmp(e->key, "warn_if") == 0 ||
               strcmp(e->key, "fail_if") == 0) {
        threshold_key(rc, r, e);
    } else {
        diag_add(rc->d, e->at.file, e->at.line,
                 "probe '%s': '%s' is not supported yet", r->def.name, e->key);
    }
}

/* A key the core reserved after the plugin's ABI minor, which the plugin
 * declares as an option of its own: the core's meaning wins. */
static void shadowed_key(rctx *rc, const probe_def *p, const cfg_entry *e)
{
    const gp_plugin *d = p->plugin->desc;
    diag_add(rc->d, e->at.file, e->at.line,
             "probe '%s': '%s' is a key gpcheck reserves since ABI %d.%d, "
             "but plugin '%s' (ABI %u.%u) declares it as an option; it "
             "cannot be set until the plugin renames it",
             p->name, e->key, GP_ABI_MAJOR, schema_reserved_since(e->key),
             d->name, d->abi_major, d->abi_minor);
}

static void check_entry(rctx *rc, rprobe *r, const cfg_entry *e)
{
    char err[512];
    opt_value *ov = find_opt(&r->def, e->key);
    int res;

    if (ov && policy_is_reserved(e->key)) {
        shadowed_key(rc, &r->def, e);
        return;
    }
    if (ov && (ov->decl->flags & GP_OPT_FAMILY)) {
        diag_add(rc->d, e->at.file, e->at.line,
                 "probe '%s': '%s' is a family of options: set %s.NAME = "
                 "VALUE, one key per NAME",
                 r->def.name, e->key, e->key);
        return;
    }
    if (ov) {
        if (!(ov->decl->flags & GP_OPT_METRICS))
            set_opt(rc, &r->def, ov, e); /* else set by probe_metrics() */
        return;
    }
    const char *dot = r->def.plugin ? strchr(e->key, '.') : NULL;
    if (dot && family_decl(r->def.plugin, e->key, (size_t)(dot - e->key)))
        return; /* a member, set by probe_metrics() */
    if (strcmp(e->key, "plugin") == 0)
        return; /* see resolve_section */
    if (!policy_is_reserved(e->key)) {
        /* Without the plugin its option keys are unknown: say nothing
         * rather than something wrong. */
        if (r->def.plugin)
            unknown_key(rc, &r->def, e);
        return;
    }
    if (!e->value)
        return; /* interpolation failed; reported by config_load */
    res = policy_set(&r->def.pol, e->key, e->value, err, sizeof err);
    if (res < 0)
        diag_add(rc->d, e->at.file, e->at.line, "probe '%s': %s: %s",
                 r->def.name, e->key, err);
    else if (res == 0)
        list_key(rc, r, e);
}

/* Append a configured metric; -1 when the name is taken, -2 when it is a
 * metric the core measures (GP_CORE_METRICS). */
static int add_metric(probe_def *p, char *name, gp_unit unit)
{
    if (schema_core_metric_since(name) >= 0)
        return -2;
    for (size_t i = 0; i < p->n_metrics; i++)
        if (strcmp(p->metrics[i].name, name) == 0)
            return -1;
    p->metrics = xrealloc(p->metrics, (p->n_metrics + 1) * sizeof *p->metrics);
    p->metrics[p->n_metrics++] = (gp_metric){.name = name, .unit = unit};
    return 0;
}

/* One member KEY.NAME = VALUE of family ov: a value and a metric NAME. */
static void family_member(rctx *rc, probe_def *p, opt_value *ov,
                          const cfg_entry *e, const char *name)
{
    const char *what = NULL;
    if (!schema_valid_ident(name)) {
        diag_add(rc->d, e->at.file, e->at.line,
                 "probe '%s': %s: invalid name '%s' (want [a-z][a-z0-9_]*)",
                 p->name, e->key, name);
        return;
    }
    if (!e->value)
        return; /* interpolation failed; reported by config_load */
    char *copy = xstrdup(name);
    int rc_add = add_metric(p, copy, GP_UNIT_NONE);
    if (rc_add == -2)
        what = "a metric the core measures; name the member otherwise";
    else if (rc_add < 0)
        what = "a metric the plugin declares already";
    if (what) {
        free(copy);
        diag_add(rc->d, e->at.file, e->at.line, "probe '%s': %s: '%s' is %s",
                 p->name, e->key, name, what);
        return;
    }
    size_t n = ov->n_items;
    ov->items = xrealloc(ov->items, (n + 2) * sizeof *ov->items);
    ov->names = xrealloc(ov->names, (n + 2) * sizeof *ov->names);
    ov->item_at = xrealloc(ov->item_at, (n + 1) * sizeof *ov->item_at);
    ov->items[n] = xstrdup(e->value);
    ov->names[n] = xstrdup(name);
    ov->items[n + 1] = ov->names[n + 1] = NULL;
    ov->item_at[n] = e->at;
    ov->n_items = n + 1;
    if (!ov->set) {
        ov->set = ov->has = 1;
        ov->at = e->at;
        ov->text = xstrdup("");
    }
    if ((ov->decl->flags & GP_OPT_REQUIRED) && is_blank(e->value))
        diag_add(rc->d, e->at.file, e->at.line,
                 "probe '%s': %s: empty value (an unset ${VAR} expands to "
                 "nothing)",
                 p->name, e->key);
}

/* The index of metric `name` among p->metrics[from .. to), or NONE. */
static size_t family_metric(const probe_def *p, const char *name, size_t from,
                            size_t to)
{
    for (size_t i = from; i < to; i++)
        if (strcmp(p->metrics[i].name, name) == 0)
            return i;
    return NONE;
}

/* The members of the plugin's GP_OPT_FAMILY options, in section order. */
static void probe_families(rctx *rc, const cfg_section *s, probe_def *p)
{
    for (size_t k = 0; k < s->n; k++) {
        const cfg_entry *e = &s->entries[k];
        const char *dot = strchr(e->key, '.');
        const gp_option *decl =
            dot ? family_decl(p->plugin, e->key, (size_t)(dot - e->key)) : NULL;
        if (decl)
            family_member(rc, p, find_opt(p, decl->key), e, dot + 1);
    }
}

/* The probe's metrics: the plugin's, then its GP_OPT_FAMILY members', then
 * those its GP_OPT_METRICS option names (an item naming a family member
 * gives that metric its unit). Before the other keys, so that warn_if and
 * fail_if, wherever they stand, see them all. */
static void probe_metrics(rctx *rc, const cfg_section *s, probe_def *p)
{
    const plugin *pl = p->plugin;
    char err[512];

    /* The plugin's metrics as they are (names and help stay the plugin's,
     * which outlives every probe_def): one copy per probe of each name
     * was heap that every attempt's fork copied. */
    p->metrics = xcalloc(pl->n_metrics + 1, sizeof *p->metrics);
    if (pl->n_metrics)
        memcpy(p->metrics, pl->desc->metrics,
               pl->n_metrics * sizeof *p->metrics);
    p->n_metrics = pl->n_metrics;
    probe_families(rc, s, p);
    size_t family_end = p->n_metrics;
    /* family members whose unit a GP_OPT_METRICS item set already; made
     * when the first such option is met (most plugins have none) */
    unsigned char *unit_set = NULL;
    for (size_t k = 0; k < p->n_opts; k++) {
        opt_value *ov = &p->opts[k];
        if (!(ov->decl->flags & GP_OPT_METRICS))
            continue;
        const cfg_entry *e = find_entry(s, ov->decl->key);
        if (!e || policy_is_reserved(e->key))
            continue;
        if (!unit_set)
            unit_set = xcalloc(family_end + 1, 1);
        set_opt(rc, p, ov, e);
        for (size_t i = 0; i < ov->n_items; i++) {
            char *name;
            gp_unit unit;
            int rc_add;
            size_t fam;
            if (schema_metric_item(ov->items[i], &name, &unit, err,
                                   sizeof err) < 0) {
                diag_add(rc->d, e->at.file, e->at.line, "probe '%s': %s: %s",
                         p->name, e->key, err);
            } else if ((fam = family_metric(p, name, pl->n_metrics,
                                            family_end)) != NONE &&
                       !unit_set[fam]) {
                /* `units = vpc_utilisation:%` for query.vpc_utilisation */
                p->metrics[fam].unit = unit;
                unit_set[fam] = 1;
                free(name);
            } else if ((rc_add = add_metric(p, name, unit)) < 0) {
                if (rc_add == -2)
                    diag_add(rc->d, e->at.file, e->at.line,
                             "probe '%s': %s: '%s' is a metric the core "
                             "measures; name it otherwise",
                             p->name, e->key, name);
                else if (metric_named(p, name) < p->metrics + pl->n_metrics)
                    diag_add(rc->d, e->at.file, e->at.line,
                             "probe '%s': %s: metric '%s' is one plugin "
                             "'%s' declares already",
                             p->name, e->key, name, pl->desc->name);
                else
                    diag_add(rc->d, e->at.file, e->at.line,
                             "probe '%s': %s: metric '%s' listed twice",
                             p->name, e->key, name);
                free(name);
            }
        }
    }
    free(unit_set);
}

static void resolve_section(rctx *rc, size_t i)
{
    const cfg_section *s = &rc->cfg->sections[i];
    rprobe *r = &rc->rp[i];
    const cfg_entry *pe = find_entry(s, "plugin");

    r->def.name = xstrdup(s->name);
    r->def.at = s->at;
    r->def.pol = rc->cfg->defaults;
    r->def.group = PROBE_NO_GROUP;
    r->group_idx = NONE;
    r->avail = 1;
    if (!pe)
        diag_add(rc->d, s->at.file, s->at.line,
                 "probe '%s': missing 'plugin ='", s->name);
    else if (pe->value)
        r->def.plugin = find_plugin(rc, s->name, pe);
    if (r->def.plugin) {
        const plugin *pl = r->def.plugin;
        r->def.n_opts = pl->n_options;
        r->def.opts = xcalloc(pl->n_options, sizeof *r->def.opts);
        for (size_t k = 0; k < pl->n_options; k++)
            r->def.opts[k].decl = &pl->desc->options[k];
        probe_metrics(rc, s, &r->def);
    }
    for (size_t k = 0; k < s->n; k++)
        check_entry(rc, r, &s->entries[k]);
    if (r->def.plugin)
        finish_opts(rc, s, &r->def);
}

/* ------------------------------------------------------------------------ */
/* Groups                                                                    */

static const char *const group_keys[] = {"need", "severity"};

/* need = N | all | P% */
static int parse_need(const char *v, group_def *g, char *err, size_t errlen)
{
    int64_t n;
    double pct;
    char *t = str_trim(xstrdup(v));
    int rc = 0;
    if (strcmp(t, "all") == 0) {
        g->need = NEED_ALL;
    } else if (strchr(t, '%')) {
        rc = value_percentage(t, &pct, err, errlen);
        if (rc == 0 && pct <= 0) {
            snprintf(err, errlen, "must be more than 0%%");
            rc = -1;
        }
        g->need = NEED_PERCENT;
        g->need_value = pct;
    } else if (value_integer(t, &n, err, errlen) < 0 || n < 1) {
        snprintf(err, errlen,
                 "invalid value '%s' (a number of members of at least 1, "
                 "'all', or a percentage)",
                 t);
        rc = -1;
    } else {
        g->need = NEED_COUNT;
        g->need_value = (double)n;
    }
    free(t);
    return rc;
}

static void resolve_group(rctx *rc, size_t i)
{
    const cfg_section *s = &rc->cfg->groups[i];
    rgroup *g = &rc->rg[i];
    char err[256];

    g->def.name = xstrdup(s->name);
    g->def.at = s->at;
    g->def.need = NEED_ALL;
    g->def.sev = SEV_REQUIRED;
    for (size_t k = 0; k < s->n; k++) {
        const cfg_entry *e = &s->entries[k];
        if (!e->value)
            continue; /* interpolation failed; reported by config_load */
        if (strcmp(e->key, "need") == 0) {
            g->need = e;
            if (parse_need(e->value, &g->def, err, sizeof err) < 0)
                diag_add(rc->d, e->at.file, e->at.line, "group '%s': need: %s",
                         s->name, err);
        } else if (strcmp(e->key, "severity") == 0) {
            policy p = {0};
            if (policy_set(&p, "severity", e->value, err, sizeof err) < 0)
                diag_add(rc->d, e->at.file, e->at.line,
                         "group '%s': severity: %s", s->name, err);
            g->def.sev = p.severity;
        } else {
            const char *hint =
                config_did_you_mean(e->key, group_keys, ARRAY_LEN(group_keys));
            diag_add(rc->d, e->at.file, e->at.line,
                     "unknown key '%s' in group '%s'%s%s%s", e->key, s->name,
                     hint ? " (did you mean '" : "", hint ? hint : "",
                     hint ? "'?)" : "");
        }
    }
}

/* Each probe's `group =` to a group; count members; check `need`. */
static void link_groups(rctx *rc)
{
    for (size_t i = 0; i < rc->n; i++) {
        rprobe *r = &rc->rp[i];
        if (!r->group || !r->group->value)
            continue;
        char *name = str_trim(xstrdup(r->group->value));
        for (size_t k = 0; k < rc->n_groups && r->group_idx == NONE; k++)
            if (strcmp(rc->rg[k].def.name, name) == 0)
                r->group_idx = k;
        if (r->group_idx == NONE) {
            diag_add(rc->d, r->group->at.file, r->group->at.line,
                     "probe '%s': group: unknown group '%s' (define it with "
                     "[group %s])",
                     r->def.name, name, name);
        } else {
            rc->rg[r->group_idx].n_all++;
            rc->rg[r->group_idx].n_avail += r->avail;
        }
        free(name);
    }
    for (size_t k = 0; k < rc->n_groups; k++) {
        const rgroup *g = &rc->rg[k];
        if (g->n_all == 0)
            diag_add(rc->d, g->def.at.file, g->def.at.line,
                     "group '%s' has no members (add 'group = %s' to its "
                     "probes)",
                     g->def.name, g->def.name);
        else if (g->def.need == NEED_COUNT && g->n_avail > 0 &&
                 g->def.need_value > (double)g->n_avail)
            diag_add(rc->d, g->need->at.file, g->need->at.line,
                     "group '%s': need = %.0f, but it has only %zu member%s "
                     "in environment '%s'",
                     g->def.name, g->def.need_value, g->n_avail,
                     g->n_avail == 1 ? "" : "s", rc->env);
    }
}

/* ------------------------------------------------------------------------ */
/* The `after` graph                                                         */

static size_t section_index(const rctx *rc, const char *name)
{
    size_t i = config_section_index(rc->cfg, name);
    return i < rc->n ? i : NONE;
}

static void link_after(rctx *rc)
{
    for (size_t i = 0; i < rc->n; i++) {
        rprobe *r = &rc->rp[i];
        r->deps = xcalloc(r->n_after_names, sizeof *r->deps);
        for (size_t k = 0; k < r->n_after_names; k++) {
            size_t j = section_index(rc, r->after_names[k]);
            int dup = 0;
            for (size_t m = 0; m < r->n_deps; m++)
                dup |= r->deps[m] == j;
            if (j == NONE)
                diag_add(rc->d, r->after->at.file, r->after->at.line,
                         "probe '%s': after: unknown probe '%s'", r->def.name,
                         r->after_names[k]);
            else if (!dup)
                r->deps[r->n_deps++] = j;
        }
    }
}

typedef struct dfs {
    rctx *rc;
    unsigned char *color; /* 0 new, 1 on the path, 2 done */
    size_t *path;
    size_t depth;
} dfs;

static void report_cycle(dfs *g, size_t to)
{
    size_t k = g->depth;
    while (k > 0 && g->path[k - 1] != to)
        k--;
    k = k ? k - 1 : 0;

    const rprobe *first = &g->rc->rp[g->path[k]];
    strbuf sb = {0};
    for (size_t m = k; m < g->depth; m++)
        sb_appendf(&sb, "%s -> ", g->rc->rp[g->path[m]].def.name);
    sb_append(&sb, g->rc->rp[to].def.name);
    diag_add(g->rc->d, first->after->at.file, first->after->at.line,
             "probe '%s': cycle in after: %s", first->def.name, sb_str(&sb));
    sb_free(&sb);
}

static void visit(dfs *g, size_t u)
{
    const rprobe *r = &g->rc->rp[u];

    g->color[u] = 1;
    g->path[g->depth++] = u;
    for (size_t k = 0; k < r->n_deps; k++) {
        size_t v = r->deps[k];
        if (g->color[v] == 1)
            report_cycle(g, v);
        else if (g->color[v] == 0)
            visit(g, v);
    }
    g->depth--;
    g->color[u] = 2;
}

static void find_cycles(rctx *rc)
{
    dfs g = {.rc = rc};
    g.color = xcalloc(rc->n, sizeof *g.color);
    g.path = xcalloc(rc->n, sizeof *g.path);
    for (size_t i = 0; i < rc->n; i++)
        if (g.color[i] == 0)
            visit(&g, i);
    free(g.color);
    free(g.path);
}

/* ------------------------------------------------------------------------ */
/* Selection                                                                 */

static int has_any_tag(const probe_def *p, const char *const *tags, size_t n)
{
    for (size_t i = 0; i < p->n_tags; i++)
        for (size_t k = 0; k < n; k++)
            if (strcmp(p->tags[i], tags[k]) == 0)
                return 1;
    return 0;
}

static void pull_deps(rctx *rc)
{
    size_t *stack = xcalloc(rc->n, sizeof *stack);
    size_t top = 0;

    for (size_t i = 0; i < rc->n; i++)
        if (rc->rp[i].selected)
            stack[top++] = i;
    while (top > 0) {
        const rprobe *r = &rc->rp[stack[--top]];
        for (size_t k = 0; k < r->n_deps; k++) {
            rprobe *dep = &rc->rp[r->deps[k]];
            if (dep->avail && !dep->selected) {
                dep->selected = 1;
                stack[top++] = r->deps[k];
            }
        }
    }
    free(stack);
}

static void select_probes(rctx *rc, const selection *sel)
{
    int all = sel->n_names == 0 && sel->n_tags == 0;

    for (size_t i = 0; i < rc->n; i++)
        rc->rp[i].selected = all && rc->rp[i].avail;
    for (size_t k = 0; k < sel->n_names; k++) {
        size_t j = section_index(rc, sel->names[k]);
        if (j == NONE || !rc->rp[j].avail)
            diag_add(rc->d, NULL, 0, "no probe named '%s' in environment '%s'",
                     sel->names[k], rc->env);
        else
            rc->rp[j].selected = 1;
    }
    for (size_t i = 0; sel->n_tags && i < rc->n; i++)
        if (rc->rp[i].avail &&
            has_any_tag(&rc->rp[i].def, sel->tags, sel->n_tags))
            rc->rp[i].selected = 1;
    if (!all)
        pull_deps(rc);
    for (size_t i = 0; i < rc->n; i++)
        if (has_any_tag(&rc->rp[i].def, sel->skip_tags, sel->n_skip_tags))
            rc->rp[i].selected = 0;
}

/* The groups with members in this run, members renumbered like probes. */
static void build_groups(rctx *rc, const size_t *map, probe_set *out)
{
    out->groups = xcalloc(rc->n_groups + 1, sizeof *out->groups);
    for (size_t k = 0; k < rc->n_groups; k++) {
        group_def *g = &out->groups[out->n_groups];
        size_t n = 0;
        for (size_t i = 0; i < rc->n; i++)
            n += rc->rp[i].group_idx == k && map[i] != NONE;
        if (n == 0)
            continue;
        *g = rc->rg[k].def;
        memset(&rc->rg[k].def, 0, sizeof rc->rg[k].def);
        g->members = xcalloc(n, sizeof *g->members);
        for (size_t i = 0; i < rc->n; i++) {
            if (rc->rp[i].group_idx == k && map[i] != NONE) {
                g->members[g->n_members++] = map[i];
                out->probes[map[i]].group = out->n_groups;
            }
        }
        out->n_groups++;
    }
}

/* A timeout or warmup longer than the run's deadline is legal (the
 * deadline cuts it short) but rarely meant: `timeout = ${DB_TIMEOUT}` with
 * 600 in an env file and `deadline = 2m`. Warn where the value was set. */
static void warn_deadline(rctx *rc)
{
    int64_t deadline = rc->cfg->deadline_ms;
    static const char *const keys[] = {"timeout", "warmup"};
    char dl[32], v[32];

    if (deadline <= 0)
        return;
    fmt_duration(dl, sizeof dl, deadline);
    for (size_t i = 0; i < rc->n; i++) {
        const rprobe *r = &rc->rp[i];
        if (!r->selected)
            continue;
        for (size_t k = 0; k < ARRAY_LEN(keys); k++) {
            int64_t ms = k == 0 ? r->def.pol.timeout_ms : r->def.pol.warmup_ms;
            if (ms <= deadline)
                continue;
            const cfg_entry *e = find_entry(&rc->cfg->sections[i], keys[k]);
            origin at = e ? e->at : r->def.at;
            fmt_duration(v, sizeof v, ms);
            diag_warn(rc->d, at.file, at.line,
                      "probe '%s': %s %s%s is longer than the run's deadline "
                      "%s: %s",
                      r->def.name, keys[k], v, e ? "" : " (from [defaults])",
                      dl,
                      k == 0 ? "an attempt may outlast the whole run"
                             : "the run ends before the warmup does");
        }
    }
}

/* Move the selected probes to out, renumbering `after` and dropping edges
 * to probes that do not run. */
static void build_set(rctx *rc, probe_set *out)
{
    size_t *map = xcalloc(rc->n, sizeof *map);
    size_t n = 0;

    for (size_t i = 0; i < rc->n; i++)
        map[i] = rc->rp[i].selected ? n++ : NONE;
    out->probes = xcalloc(n, sizeof *out->probes);
    out->n = n;
    for (size_t i = 0; i < rc->n; i++) {
        rprobe *r = &rc->rp[i];
        if (map[i] == NONE)
            continue;
        probe_def *p = &out->probes[map[i]];
        *p = r->def;
        memset(&r->def, 0, sizeof r->def);
        /* NULL when none: most probes have no `after` */
        p->after = r->n_deps ? xcalloc(r->n_deps, sizeof *p->after) : NULL;
        for (size_t k = 0; k < r->n_deps; k++)
            if (map[r->deps[k]] != NONE)
                p->after[p->n_after++] = map[r->deps[k]];
    }
    build_groups(rc, map, out);
    free(map);
}

/* The plugins' own checks (ABI 1.2 validate()), once the schema and types
 * hold: of every probe of this environment, selected or not. */
static void validate_sections(rctx *rc)
{
    probe_def **defs = xcalloc(rc->n + 1, sizeof *defs);
    size_t n = 0;
    for (size_t i = 0; i < rc->n; i++)
        if (rc->rp[i].avail && rc->rp[i].def.plugin)
            defs[n++] = &rc->rp[i].def;
    validate_probes(defs, n, GP_VALIDATE_TIMEOUT_MS, rc->d);
    free(defs);
}

static void rctx_free(rctx *rc)
{
    for (size_t i = 0; i < rc->n; i++) {
        probe_def_free(&rc->rp[i].def);
        strv_free(rc->rp[i].after_names, rc->rp[i].n_after_names);
        free(rc->rp[i].deps);
    }
    free(rc->rp);
    for (size_t i = 0; i < rc->n_groups; i++)
        group_def_free(&rc->rg[i].def);
    free(rc->rg);
    free(rc->bad_defs);
}

int config_resolve(const config *cfg, plugin_lookup_fn lookup, void *ud,
                   const selection *sel, probe_set *out, diag *d)
{
    static const selection all;
    rctx rc = {
        .cfg = cfg,
        .d = d,
        .lookup = lookup,
        .ud = ud,
        .env = cfg->env ? cfg->env : "default",
        .n = cfg->n_sections,
    };
    size_t n0 = d->n;

    out->probes = NULL;
    out->n = 0;
    rc.rp = xcalloc(rc.n, sizeof *rc.rp);
    rc.n_groups = cfg->n_groups;
    rc.rg = xcalloc(rc.n_groups + 1, sizeof *rc.rg);
    for (size_t i = 0; i < rc.n_groups; i++)
        resolve_group(&rc, i);
    for (size_t i = 0; i < rc.n; i++)
        resolve_section(&rc, i);
    link_groups(&rc);
    link_after(&rc);
    find_cycles(&rc);
    select_probes(&rc, sel ? sel : &all);
    if (d->n == n0)
        validate_sections(&rc);
    if (d->n == n0) {
        warn_deadline(&rc);
        build_set(&rc, out);
    }
    rctx_free(&rc);
    return d->n > n0 ? -1 : 0;
}
