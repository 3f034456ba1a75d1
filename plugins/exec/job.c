/*
 * plugins/exec/job.c - the exec probe's options decoded into one job: the
 * argv (or one shell command line), the environment the command gets
 * (gpcheck's, less every secret of the run, plus env, secret_env and our
 * own variables), list items with the configuration language's escapes.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"
#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"

extern char **environ;

/*
 * The config's lists split on every comma and cannot say "empty", so an
 * argument with a comma needs an escape: the configuration language's
 * (gp_sdk_unescape(): \xHH, \r \n \t \\; any other backslash, as in a
 * regular expression, passes unchanged). A NUL cannot be passed to a
 * command. Returns a new string, or NULL with a reason.
 */
char *exec_decode_item(const char *in, const char **why)
{
    size_t cap = strlen(in) + 1; /* decoding never lengthens */
    char *out = malloc(cap);
    long n;

    if (!out) {
        *why = "out of memory";
        return NULL;
    }
    n = gp_sdk_unescape(in, out, cap, why);
    if (n >= 0 && memchr(out, '\0', (size_t)n)) {
        *why = "\\x00 cannot be passed to a command";
        n = -1;
    }
    if (n < 0) {
        free(out);
        return NULL;
    }
    return out;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void exec_job_free(job *j)
{
    free_strv(j->argv, j->argc);
    free_strv(j->ours, j->n_ours);
    free(j->envp);
    free_strv(j->secrets, j->n_secrets);
    for (size_t i = 0; i < j->n_maps; i++)
        free(j->maps[i].label);
    free(j->maps);
}

int exec_build_argv(gp_ctx *ctx, const gp_api *api, job *j)
{
    const char *const *items;
    size_t n = api->opt_list(ctx, "command", &items);
    int shell = api->opt_boolean(ctx, "shell");
    const char *why = NULL;

    if (n == 0) {
        api->message(ctx, "option command is empty");
        return -1;
    }
    if (shell && n != 1) {
        api->message(ctx, "with shell = true, command is one shell command "
                          "line: write its commas as \\x2c");
        return -1;
    }
    j->argv = calloc(n + 3, sizeof(char *));
    if (!j->argv) {
        api->message(ctx, "out of memory");
        return -1;
    }
    j->shell = shell;
    if (shell) {
        j->argv[j->argc++] = strdup("/bin/sh");
        j->argv[j->argc++] = strdup("-c");
    }
    for (size_t i = 0; i < n; i++) {
        char *arg = exec_decode_item(items[i], &why);

        if (!arg) {
            api->message(ctx, "option command, item %zu: %s", i + 1, why);
            return -1;
        }
        j->argv[j->argc++] = arg;
    }
    for (size_t i = 0; i < j->argc; i++) {
        if (!j->argv[i]) {
            api->message(ctx, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* KEY=VALUE with a portable variable name. Returns the key's length. */
static size_t env_key_len(const char *item)
{
    size_t k = 0;

    if (!(isalpha((unsigned char)item[0]) || item[0] == '_'))
        return 0;
    while (isalnum((unsigned char)item[k]) || item[k] == '_')
        k++;
    return item[k] == '=' ? k : 0;
}

char *exec_env_item(const char *in, size_t *klen, const char **why)
{
    char *item = exec_decode_item(in, why);

    if (item && (*klen = env_key_len(item)) == 0) {
        free(item);
        *why = "not KEY=VALUE with a key of [A-Za-z_][A-Za-z0-9_]*";
        return NULL;
    }
    return item;
}

static int key_in(const char *entry, char *const *list, size_t n)
{
    const char *eq = strchr(entry, '=');
    size_t klen = eq ? (size_t)(eq - entry) : strlen(entry);

    for (size_t i = 0; i < n; i++)
        if (strncmp(list[i], entry, klen) == 0 && list[i][klen] == '=')
            return 1;
    return 0;
}

/* Decode env and secret_env into `ours` (appended); returns -1 with a
 * message. Secret values are also remembered for scrubbing. A secret
 * item is never shown, not even in an error. */
static int decode_env(gp_ctx *ctx, const gp_api *api, const char *key,
                      int secret, job *j)
{
    const char *const *items;
    size_t n = api->opt_list(ctx, key, &items);
    const char *why = NULL;

    for (size_t i = 0; i < n; i++) {
        size_t klen;
        char *item = exec_env_item(items[i], &klen, &why);

        if (!item) {
            api->message(ctx, "option %s, item %zu: %s", key, i + 1, why);
            return -1;
        }
        j->ours[j->n_ours++] = item;
        if (secret && item[klen + 1]) {
            char *value = strdup(item + klen + 1);

            if (!value) {
                api->message(ctx, "out of memory");
                return -1;
            }
            j->secrets[j->n_secrets++] = value;
        }
    }
    return 0;
}

/* Append "KEY=VALUE" to j->ours (which has room); -1 when out of memory. */
static int add_ours(job *j, const char *key, const char *value)
{
    size_t len = strlen(key) + strlen(value) + 2;
    char *s = malloc(len);

    if (!s)
        return -1;
    snprintf(s, len, "%s=%s", key, value);
    j->ours[j->n_ours++] = s;
    return 0;
}

/*
 * The command's environment: ours (env, secret_env, LC_NUMERIC=C as
 * Icinga does so that perfdata use '.' decimals, GPCHECK_TIME_LEFT_MS and
 * GPCHECK_PROBE), then the inherited entries ours do not override. Built
 * before fork(), so the child only assigns `environ` and execs.
 */
int exec_build_env(gp_ctx *ctx, const gp_api *api, job *j)
{
    size_t n_env = api->opt_list(ctx, "env", NULL);
    size_t n_sec = api->opt_list(ctx, "secret_env", NULL);
    size_t n_inherited = 0;
    const char *probe = api->probe_name(ctx);
    char left[32];

    while (environ && environ[n_inherited])
        n_inherited++;
    j->ours = calloc(n_env + n_sec + 3, sizeof(char *));
    j->secrets = calloc(n_sec + 1, sizeof(char *));
    j->envp = calloc(n_inherited + n_env + n_sec + 4, sizeof(char *));
    if (!j->ours || !j->secrets || !j->envp) {
        api->message(ctx, "out of memory");
        return -1;
    }
    if (decode_env(ctx, api, "env", 0, j) < 0 ||
        decode_env(ctx, api, "secret_env", 1, j) < 0)
        return -1;
    snprintf(left, sizeof left, "%lld", (long long)api->time_left_ms(ctx));
    if ((!key_in("LC_NUMERIC=", j->ours, j->n_ours) &&
         add_ours(j, "LC_NUMERIC", "C") < 0) ||
        add_ours(j, "GPCHECK_TIME_LEFT_MS", left) < 0 ||
        add_ours(j, "GPCHECK_PROBE", probe ? probe : "") < 0) {
        api->message(ctx, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n_inherited; i++)
        if (!key_in(environ[i], j->ours, j->n_ours))
            j->envp[j->envc++] = environ[i];
    /* A key given twice: the later item wins, as in a shell. */
    for (size_t i = 0; i < j->n_ours; i++)
        if (!key_in(j->ours[i], j->ours + i + 1, j->n_ours - i - 1))
            j->envp[j->envc++] = j->ours[i];
    return 0;
}
