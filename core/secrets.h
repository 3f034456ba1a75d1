/*
 * core/secrets.h - what in a probe's configuration is secret, and how its
 * values and results may be shown.
 *
 * A probe's secrets are one set, probe_def.secrets: the values of its
 * GP_OPT_SECRET options, the content of its GP_OPT_FILE files, the secret
 * parts of its other values (credentials in headers, URLs and connection
 * strings, found by the rules in credentials.c), and whatever the plugin
 * declares itself. Everything shown about a probe goes through
 * secrets_mask() or secrets_show(), which mask with that set by the one
 * masker, gp_sdk_mask_text() (sdk/mask.c, where its rule is written).
 */
#ifndef GP_CORE_SECRETS_H
#define GP_CORE_SECRETS_H

#include <stddef.h>

#include "probe.h"
#include "util.h"

/* Add the secrets of p's option values to p->secrets (probe_add_secret):
 * call once every option of p is parsed and its defaults are set. */
void secrets_collect(probe_def *p);

/* text with p's secrets masked; newly allocated. */
char *secrets_mask(const probe_def *p, const char *text);

/*
 * How a value of p shows in `list`, `--explain` and reports: "***" for a
 * GP_OPT_SECRET option; otherwise text with its secret parts masked
 * (`Authorization: Bearer ***`, `https://user:***@host/?token=***`,
 * `host=db password=***`), then masked with all of p's secrets. decl is
 * the option text belongs to, NULL for a policy key. Newly allocated.
 */
char *secrets_show(const probe_def *p, const gp_option *decl, const char *text);

/*
 * The environment variables whose values hold a secret of any probe of a
 * set: found once by the supervisor before it forks (every child scanning
 * every probe's secrets made N attempts cost O(N^2)). hits are environ's
 * own strings, not owned; the list is owned.
 */
typedef struct secrets_env {
    char **hits;
    size_t n;
} secrets_env;
void secrets_env_find(secrets_env *e, const probe_set *set);
void secrets_env_free(secrets_env *e);

/*
 * In an attempt's child, before the plugin runs: take out of the process's
 * environment every variable e found (NULL: none) and every one whose value
 * holds a secret of def (NULL: none), and wipe those values where
 * /proc/PID/environ shows them, so that neither the plugin's own commands
 * (exec's) nor a reader of /proc see them. A command that needs one gets it
 * from the probe's configuration (exec's secret_env).
 */
void secrets_scrub_environ(const secrets_env *e, const probe_def *def);

/*
 * Overwrite, in place, every secret of the probes of set in argv[1] ..
 * argv[argc - 1] (`gpcheck probe http header=Authorization:...`), so that
 * /proc/PID/cmdline of gpcheck and of its attempts no longer shows them
 * once the configuration is resolved. Give only the arguments gpcheck
 * reads, not a command after "--".
 */
void secrets_scrub_argv(int argc, char **argv, const probe_set *set);

#endif
