/*
 * core/config.h - reading gpcheck.ini and conf.d/ into probe definitions.
 *
 * Two steps, so that plugin loading sits between them:
 *
 *  1. config_load() reads the main file, the --env-file files, conf.d/ *.ini
 * files in lexical order and then conf.d/ENV/ files, expands ${VAR}
 *     interpolation, and merges sections into one raw model where every
 *     value remembers its FILE:LINE. It parses [gpcheck] and [defaults].
 *
 *  2. config_resolve() turns each probe section into a probe_def: it finds
 *     the plugin through a lookup callback, checks every key against the
 *     policy keys and the plugin's option schema, parses typed values,
 *     resolves `after` (unknown names, cycles), applies `envs`, and the
 *     selection given on the command line.
 *
 * Both report every problem into a diag list as FILE:LINE: message and
 * return -1 when there was any; 0 otherwise.
 */
#ifndef GP_CORE_CONFIG_H
#define GP_CORE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "probe.h"

/* key, value and raw live in the section's pool (cfg_section.pool), or
 * are owned by the entry when the section has none. */
typedef struct cfg_entry {
    char *key;
    char *value; /* after interpolation */
    char *raw;   /* as written, before interpolation, so that the
                    resolver can interpolate again for a structured value
                    (GP_OPT_CONNINFO); NULL when the text has no '$' (the
                    value is the text as written) */
    origin at;
    origin replaced; /* the definition an env overlay replaced; file NULL
                        when none (for --explain) */
    char **vars;     /* owned; the names its ${VAR}s looked up, in order,
                        once each (for --explain and list) */
    size_t n_vars;
} cfg_entry;

typedef struct cfg_section {
    struct arena *pool; /* not owned: where name, entries and the entries'
                           strings live (config.strings); NULL: each is
                           owned */
    char *name;         /* in pool, or owned */
    origin at;          /* header of the section's first definition */
    cfg_entry *entries; /* in pool, or owned; in first-seen key order; an
                           overlay replaces a value and its origin in
                           place */
    size_t n, cap;
} cfg_section;

/* What the command line says about configuration; NULL / 0: not given. */
typedef struct config_opts {
    const char *config_path;      /* -c */
    const char *conf_dir;         /* --conf-dir */
    const char *env;              /* -e / --env */
    const char *const *env_files; /* --env-file, in order */
    size_t n_env_files;
    unsigned jobs;       /* -j; 0: not given */
    int64_t deadline_ms; /* --deadline; 0: not given */
    int main_only;       /* read only the main file (plugins): no conf.d,
                            no env files, no environment check */
} config_opts;

typedef struct config {
    char *main_file;    /* owned; NULL when no main file was found */
    char *conf_dir;     /* owned; NULL when no conf.d was found or given */
    char *env;          /* owned; never NULL ("default") */
    char **plugin_path; /* owned; from [gpcheck] plugin_path (list) */
    size_t n_plugin_path;
    unsigned jobs;           /* 32 */
    int64_t deadline_ms;     /* 0: none */
    policy defaults;         /* built-in defaults overlaid by [defaults] */
    char *history;           /* owned; [gpcheck] history: a path (relative ones
                                are the main file's folder's), or "default" (the
                                per-user path); NULL: not set */
    int64_t history_keep_ms; /* [gpcheck] history_keep as an age; 0 */
    int64_t history_keep_runs; /* ... as a count of runs; 0 */
    int history_keep_set;      /* history_keep was given */
    int history_required;      /* a failed history write fails the run */

    struct arena *strings; /* owned; the names, entry arrays, keys and
                              values of the probe and group sections (one
                              malloc per 64 KiB, not several per key); freed
                              with them */
    cfg_section *sections; /* owned; probe sections, in definition order */
    size_t n_sections, cap_sections;
    strindex section_ix; /* owned; sections by name */
    cfg_section *groups; /* owned; [group NAME] sections (name = NAME) */
    size_t n_groups, cap_groups;
    cfg_section bypass; /* owned; [bypass] of the main file, raw; name is
                           NULL when there is none */
    char *env_source;   /* owned; where env came from: "--env",
                           "$GPCHECK_ENV", "FILE:LINE" or "default" */

    char **files; /* owned; interned file names that origins point to */
    size_t n_files, cap_files;

    /* Variables from --env-file (the process environment wins). */
    char **vars;    /* owned; "KEY=VALUE" */
    origin *var_at; /* owned; where vars[i] was set, in an env file */
    size_t n_vars, cap_vars, cap_var_at;
    const char **env_files; /* owned array of interned names: the --env-file
                               files read, in order */
    size_t n_env_files;
} config;

int config_load(config *cfg, const config_opts *o, diag *d);

/*
 * Add a probe section from the command line (`gpcheck probe PLUGIN k=v`):
 * `plugin` and each "key=value" become one section named `name`, with
 * origin file "command line" and line = the argument's position. A
 * malformed argument (no '=') is reported into d.
 */
int config_add_cli_probe(config *cfg, const char *name, const char *plugin,
                         char *const *kv, size_t n_kv, diag *d);

/* Finds a plugin by the name a probe's `plugin =` gives. */
typedef const plugin *(*plugin_lookup_fn)(void *ud, const char *name, char *err,
                                          size_t errlen);

/* Which probes to run, from the command line; empty lists select all. */
typedef struct selection {
    const char *const *names; /* -p / --probe */
    size_t n_names;
    const char *const *tags; /* --tag: a probe with any of these */
    size_t n_tags;
    const char *const *skip_tags; /* --skip-tag: not a probe with any */
    size_t n_skip_tags;
} selection;

/*
 * Resolve every probe section for cfg->env. Probes whose `envs` exclude
 * the environment are left out silently; -p names not defined at all are
 * errors. Probes that -p or --tag select pull in their `after`
 * dependencies; --skip-tag removes probes last, and `after` edges to
 * removed probes are dropped. Every section is checked, selected or not,
 * so that a broken file is never silent.
 */
int config_resolve(const config *cfg, plugin_lookup_fn lookup, void *ud,
                   const selection *sel, probe_set *out, diag *d);

void config_free(config *cfg);

/*
 * Where the variable `name` that an entry interpolated comes from: 1 from
 * the process environment, 2 from an --env-file (*at: its FILE:LINE), 0
 * set nowhere (it expanded to a default or failed). *value (may be NULL)
 * receives its value, owned by the environment or cfg, or NULL.
 */
int config_var_source(const config *cfg, const char *name, const char **value,
                      origin *at);

/* ---- shared by config.c and resolve.c ---------------------------------- */

/* Origin file name of the sections config_add_cli_probe() adds. */
#define CONFIG_CLI_FILE "command line"

/* The value ${name} interpolates to: the environment's, else the
 * --env-files'; NULL when unset. Owned by the environment or cfg. */
const char *config_var(const config *cfg, const char *name);

/* Free the raw probe and group sections, once resolved into a probe_set:
 * what a run needs lives there; origins (the interned file names), env and
 * the variables stay. Every attempt's fork copies the supervisor's page
 * tables, so memory the run no longer reads costs it on every fork. */
void config_drop_sections(config *cfg);

/* Position of the probe section `name` in cfg->sections, or SIZE_MAX. */
size_t config_section_index(const config *cfg, const char *name);

/* 1 when s matches [A-Za-z0-9_.-]+ (probe, tag and environment names). */
int config_valid_name(const char *s);

/* The candidate closest to key when it is close enough to be a likely
 * typo (a swap of neighbours is one edit), or the one a common alias from
 * other tools names ("retries" -> "attempts", "postgresql" -> "postgres");
 * else NULL. */
const char *config_did_you_mean(const char *key, const char *const *cands,
                                size_t n);

/*
 * Note: a cfg_entry whose value could not be interpolated keeps value NULL;
 * the error has already been reported by config_load, and config_resolve
 * treats the key as set without checking it again.
 */

#endif
