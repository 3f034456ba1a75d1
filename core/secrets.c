/*
 * core/secrets.c - a probe's secret set, and everything shown about a probe
 * masked with it: secrets_collect() gathers the set (secret options and
 * files, and the credential parts core/credentials.c finds in other
 * values), secrets_mask() and secrets_show() mask messages and values with
 * it by the one masker (sdk/mask.c), and the scrub functions take the
 * secrets out of the environment and command line of gpcheck and its
 * attempts; see secrets.h.
 */
#include "secrets.h"

#include <stdlib.h>
#include <string.h>

#include "credentials.h"
#include "gpcheck/sdk.h"

/* ------------------------------------------------------------------------ */
/* A probe's secrets                                                         */

static int opt_is_secret(const opt_value *v)
{
    return (v->decl->flags & GP_OPT_SECRET) != 0;
}

void secrets_collect(probe_def *p)
{
    for (size_t i = 0; i < p->n_opts; i++) {
        const opt_value *v = &p->opts[i];
        if (v->file_secret)
            probe_add_secret(p, v->file_secret);
        if (!v->has || !v->text)
            continue;
        if (opt_is_secret(v)) {
            probe_add_secret(p, v->text);
            for (size_t k = 0; k < v->n_items; k++) {
                probe_add_secret(p, v->items[k]);
                /* NAME=VALUE items (exec's secret_env): the value alone
                 * is what a command echoes */
                const char *eq = strchr(v->items[k], '=');
                if (eq && eq > v->items[k])
                    probe_add_secret(p, eq + 1);
            }
            continue;
        }
        if (v->decl->type != GP_TYPE_STRING && v->decl->type != GP_TYPE_LIST)
            continue;
        cred_scan sc = {0};
        cred_scan_value(&sc, v->decl, v->text);
        for (size_t k = 0; v->names && k < v->n_items; k++)
            cred_scan_value(&sc, v->decl, v->items[k]); /* family members */
        for (size_t k = 0; k < sc.n_secrets; k++)
            probe_add_secret(p, sc.secrets[k]);
        cred_scan_free(&sc);
    }
}

/*
 * The texts a reader may know: p's non-secret values and the public fields
 * inside them (user names, hosts). A secret equal to one is weak (see
 * sdk/mask.c): "user=***" beside a shown user name would tell it. List items
 * are left out: a plugin may declare one a secret (a command's argument),
 * which must not make it weak.
 */
static void collect_known(const probe_def *p, cred_scan *known)
{
    for (size_t i = 0; i < p->n_opts; i++) {
        const opt_value *v = &p->opts[i];
        if (!v->has || !v->text || opt_is_secret(v))
            continue;
        cred_add_known(known, xstrdup(v->text));
        if (v->decl->type == GP_TYPE_STRING || v->decl->type == GP_TYPE_LIST)
            cred_scan_value(known, v->decl, v->text);
    }
}

char *secrets_mask(const probe_def *p, const char *text)
{
    if (!text)
        text = "";
    if (p->n_secrets == 0)
        return xstrdup(text);
    cred_scan known = {0};
    collect_known(p, &known);
    size_t cap = 3 * strlen(text) + sizeof GP_SDK_MASK_WITHHELD + 1;
    char *out = xmalloc(cap);
    gp_sdk_mask_text(text, (const char *const *)p->secrets, p->n_secrets,
                     (const char *const *)known.known, known.n_known, out, cap);
    cred_scan_free(&known);
    return out;
}

char *secrets_show(const probe_def *p, const gp_option *decl, const char *text)
{
    if (!text)
        return xstrdup("?");
    if (decl && (decl->flags & GP_OPT_SECRET))
        return xstrdup("***");
    cred_scan sc = {0};
    if (decl && (decl->type == GP_TYPE_STRING || decl->type == GP_TYPE_LIST))
        cred_scan_value(&sc, decl, text);
    char *parts = cred_mask_spans(text, &sc);
    cred_scan_free(&sc);
    char *shown = secrets_mask(p, parts);
    free(parts);
    return shown;
}

/* ------------------------------------------------------------------------ */
/* The environment of an attempt                                             */

extern char **environ;

/* 1 when value holds one of p's secrets: a strong one anywhere, a short one
 * only as the whole value ("x" is in too many values to mean anything). */
static int holds_secret(const probe_def *p, const char *value)
{
    for (size_t k = 0; k < p->n_secrets; k++) {
        const char *s = p->secrets[k];
        if (strlen(s) >= GP_SDK_MASK_MIN ? strstr(value, s) != NULL
                                         : strcmp(value, s) == 0)
            return 1;
    }
    return 0;
}

void secrets_env_find(secrets_env *e, const probe_set *set)
{
    size_t cap = 0;
    *e = (secrets_env){0};
    for (size_t i = 0; environ && environ[i]; i++) {
        char *eq = strchr(environ[i], '=');
        for (size_t k = 0; eq && set && k < set->n; k++) {
            if (holds_secret(&set->probes[k], eq + 1)) {
                xgrow(&e->hits, &cap, e->n + 1, sizeof *e->hits);
                e->hits[e->n++] = environ[i];
                break;
            }
        }
    }
}

void secrets_env_free(secrets_env *e)
{
    free(e->hits);
    *e = (secrets_env){0};
}

static int found(const secrets_env *e, const char *entry)
{
    for (size_t k = 0; e && k < e->n; k++)
        if (e->hits[k] == entry)
            return 1;
    return 0;
}

void secrets_scrub_environ(const secrets_env *e, const probe_def *def)
{
    for (size_t i = 0; environ && environ[i];) {
        char *eq = strchr(environ[i], '=');
        if (!eq ||
            (!found(e, environ[i]) && !(def && holds_secret(def, eq + 1)))) {
            i++;
            continue;
        }
        /* The string may be the one /proc/PID/environ shows: wipe it in
         * place (this child's copy only), then drop it from environ. */
        explicit_bzero(eq + 1, strlen(eq + 1));
        for (size_t k = i; environ[k]; k++)
            environ[k] = environ[k + 1];
    }
}

void secrets_scrub_argv(int argc, char **argv, const probe_set *set)
{
    for (int i = 1; i < argc; i++) {
        for (size_t n = 0; n < set->n; n++) {
            const probe_def *p = &set->probes[n];
            for (size_t k = 0; k < p->n_secrets; k++) {
                const char *s = p->secrets[k];
                size_t sl = strlen(s);
                char *hit;
                if (sl < GP_SDK_MASK_MIN) {
                    /* short: only as the value of a KEY=VALUE argument */
                    char *eq = strchr(argv[i], '=');
                    if (eq && strcmp(eq + 1, s) == 0)
                        memset(eq + 1, '*', sl);
                    continue;
                }
                while ((hit = strstr(argv[i], s)) != NULL)
                    memset(hit, '*', sl);
            }
        }
    }
}
