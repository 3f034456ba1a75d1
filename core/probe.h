/*
 * core/probe.h - a probe as the runner sees it: resolved plugin, typed
 * options and policy, after config loading and validation are done.
 */
#ifndef GP_CORE_PROBE_H
#define GP_CORE_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "gpcheck/plugin.h"
#include "loader.h"
#include "threshold.h"

typedef enum backoff_kind {
    BACKOFF_FIXED = 0,
    BACKOFF_EXPONENTIAL = 1,
} backoff_kind;

typedef enum severity {
    SEV_REQUIRED = 0,
    SEV_OPTIONAL = 1,
} severity;

/* Retry and timing policy of one probe: each field is set by the key of
 * the same name; policy_init() (core/policy.c) writes the defaults, and
 * policy.h has the math. */
typedef struct policy {
    int64_t timeout_ms; /* hard limit of one attempt, > 0 */
    int64_t warmup_ms;
    int64_t warmup_interval_ms; /* > 0, or 0: auto (policy.c) */
    unsigned attempts;          /* >= 1, after warmup */
    int64_t delay_ms;
    backoff_kind backoff;
    int64_t max_delay_ms;
    double jitter;              /* jitter 10% is stored as 0.10 */
    unsigned success_threshold; /* >= 1 */
    severity severity;
    /* warmup = auto: warmup_ms is derived from the run history before the
     * run (policy_auto_warmup); until then it is warmup_max_ms. */
    int warmup_auto;
    int64_t warmup_max_ms; /* > 0; the bound of warmup = auto */
    size_t auto_samples;   /* the times to ready it was derived from */
    double auto_p99_ms;    /* their p99; valid when auto_samples > 0 */
    int64_t interval_ms;   /* gpcheck serve: re-probe this often, > 0 */
    int64_t max_age_ms;    /* serve: a result older is stale; 0: 3 x interval */
} policy;

/* Where a value came from, for messages and --explain. */
typedef struct origin {
    const char *file; /* interned by the config, lives as long as it; NULL:
                         built-in default or plugin default */
    int line;
} origin;

/* One option value of a probe, checked against the plugin's schema. */
typedef struct opt_value {
    const gp_option *decl; /* schema entry, owned by the plugin */
    int set;               /* the config sets it */
    int has;               /* set, or a default applies */
    char *text;            /* owned; the interpolated text, or the default */
    int64_t i;             /* integer, boolean (0/1), duration in ms */
    double pct;            /* percentage */
    char **items;          /* owned; list items */
    size_t n_items;
    origin at;
    char *file_secret; /* owned; GP_OPT_FILE: the file's content, read when
                          the config is resolved, for masking only */
    /* GP_OPT_FAMILY (ABI 1.3): the members KEY.NAME in config order, their
     * values in items (n_items of each); owned, every string too. */
    char **names;
    origin *item_at; /* owned; where each member is set */
} opt_value;

#define PROBE_NO_GROUP ((size_t)-1)

typedef struct probe_def {
    char *name;           /* owned */
    const plugin *plugin; /* owned by the loader */
    policy pol;
    opt_value *opts; /* owned; one per schema option, in schema order */
    size_t n_opts;
    char **tags; /* owned */
    size_t n_tags;
    size_t *after; /* owned; indices into the probe_set; NULL when none */
    size_t n_after;
    origin at;        /* the section header that first defined it */
    threshold *conds; /* owned; warn_if and fail_if conditions */
    size_t n_conds;
    int retry_on_threshold; /* a breach counts as a transient not-ready */
    size_t group;           /* index into probe_set.groups, or PROBE_NO_GROUP */
    /* Every text to mask wherever this probe's values or results are
     * shown: secret option values, secret files' content, and the secret
     * parts of other values (added with probe_add_secret()). Owned, each
     * string and the array; no duplicates, no empty strings. */
    char **secrets;
    size_t n_secrets;
    /* The metrics this probe may report: the plugin's declared ones, in
     * order, then those its GP_OPT_METRICS option names (ABI 1.2). Owned:
     * the array, and the names from index plugin->n_metrics on (copies);
     * the plugin's own metrics' names and help point into the plugin
     * (help is NULL for a configured metric). NULL (n_metrics 0) in a probe_def
     * built without config_resolve: probe_metric_list() then reads the
     * plugin's own. */
    gp_metric *metrics;
    size_t n_metrics;
} probe_def;

typedef enum need_kind {
    NEED_COUNT = 0, /* need = N */
    NEED_ALL,       /* need = all */
    NEED_PERCENT,   /* need = P% of the members */
} need_kind;

/* [group NAME]: n of m members must be ok; the group, not its members,
 * counts in the verdict. */
typedef struct group_def {
    char *name; /* owned */
    need_kind need;
    double need_value; /* N, or P for a percentage */
    severity sev;
    origin at;
    size_t *members; /* owned; indices into the probe_set */
    size_t n_members;
} group_def;

/* How many ok members the group needs, given its members in this run. */
size_t group_need(const group_def *g);

/* The probes selected for a run, in definition order, and their groups. */
typedef struct probe_set {
    probe_def *probes; /* owned */
    size_t n;
    group_def *groups; /* owned; only groups with members in this run */
    size_t n_groups;
} probe_set;

/* Look up an option value by key; NULL when the schema has no such key. */
const opt_value *probe_opt(const probe_def *p, const char *key);
void probe_set_free(probe_set *s);
/* Every metric p may report (see probe_def.metrics); *n receives the count.
 * The array is owned by p or by its plugin. */
const gp_metric *probe_metric_list(const probe_def *p, size_t *n);
/* Add a copy of text to p's secrets (nothing for NULL, "" or a text
 * already there). */
void probe_add_secret(probe_def *p, const char *text);

#endif
