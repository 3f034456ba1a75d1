/*
 * plugins/exec/exec.c - the `exec` probe: runs a command that follows the
 * monitoring-plugins (Nagios) contract and turns its exit status, its first
 * line of output and its performance data into an outcome, a message and
 * metrics. Every check_* plugin of monitoring-plugins, and every script
 * written for Nagios, Icinga or Sensu, becomes a probe.
 *
 * One attempt reads top to bottom:
 *   1. decode the options: argv (or one shell command line), extra
 *      environment (job.c), the perfdata-to-metric mapping (metrics.c);
 *   2. fork; the child stays in the attempt's process group (so the
 *      runner's hard kill at the deadline takes the command and everything
 *      it started with it), gets stdout and stderr on two pipes and execs;
 *   3. read both pipes, bounded by the time left and by size, until the
 *      command exits; at the deadline SIGKILL it and say so (run.c);
 *   4. exit 0/1/2/3 -> ready / degraded / not ready / unknown; the first
 *      line before '|' is the message; perfdata (parsed by perfdata.c)
 *      become metrics (metrics.c).
 *
 * Metrics must be declared before anything runs, but perfdata labels are
 * only known when the command prints them. Since ABI 1.2 the `metrics`
 * option (GP_OPT_METRICS) names them per probe (`metrics = rta:ms`, then
 * `warn_if = rta > 200ms`); the core checks the names at config time. The
 * fixed slots per unit class of ABI 1.0 (time, time2 .. time4 in ms;
 * percent..; bytes..; count..; value..), filled in output order or as the
 * `perfdata` option maps labels to them, stay as deprecated aliases for a
 * release. The output format itself is parsed in perfdata.c; validate()
 * checks the command and the options before anything runs.
 *
 * The plugin keeps no state: everything belongs to one check() call.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"

static const gp_option exec_options[] = {
    {.key = "command",
     .type = GP_TYPE_LIST,
     .flags = GP_OPT_REQUIRED,
     .help = "the command and its arguments, one list item each (no shell; "
             "PATH is searched); with shell = true, one shell command line. "
             "Escapes \\xHH \\r \\n \\t \\\\ (other backslashes pass): write "
             "a comma as \\x2c"},
    {.key = "shell",
     .type = GP_TYPE_BOOLEAN,
     .def = "false",
     .help = "run command, a single item, with /bin/sh -c"},
    {.key = "env",
     .type = GP_TYPE_LIST,
     .help = "KEY=VALUE items added to the command's environment (\\xHH "
             "escapes as in command)"},
    {.key = "secret_env",
     .type = GP_TYPE_LIST,
     .flags = GP_OPT_SECRET,
     .help = "KEY=VALUE items like env whose values are secrets (e.g. "
             "PGPASSWORD=...): never printed, masked in the command's output"},
    {.key = "perfdata",
     .type = GP_TYPE_LIST,
     .help = "which perfdata labels feed which metrics: LABEL:METRIC (e.g. "
             "time:time, size:bytes) or LABEL (next free metric of its "
             "unit); unset: every item in output order"},
    {.key = "metrics",
     .type = GP_TYPE_LIST,
     .flags = GP_OPT_METRICS,
     .help = "metrics named after perfdata labels, NAME or NAME:UNIT (ms, "
             "%, count, bytes): the label lower-cased, other characters as "
             "'_' (check_ping: rta:ms, pl:%), for warn_if / fail_if"},
    {.key = "on_critical",
     .type = GP_TYPE_STRING,
     .def = "retry_in_warmup",
     .choices = "retry_in_warmup|retry|fatal",
     .help = "what exit status 2 (CRITICAL) is: retry_in_warmup (transient "
             "in warmup, fatal after), retry (always transient), fatal"},
    {.key = NULL},
};

/* ------------------------------------------------------------------------ */
/* Outcome                                                                   */

/* Replace NULs so the output is one C string; returns it. */
static char *as_text(char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[len] = '\0';
    return buf;
}

/* A copy of s with every secret_env value replaced by ***. The core masks
 * the option's literal items, not values inside them: that is ours. */
static char *scrub(const job *j, const char *s)
{
    /* A secret shorter than "***" makes the text longer: at most 3 times. */
    size_t cap = 3 * strlen(s) + 1;
    char *out = malloc(cap);

    if (out)
        gp_sdk_mask_secrets(s, (const char *const *)j->secrets, j->n_secrets,
                            out, cap);
    return out;
}

/* The first non-blank line of stderr, for messages. */
static char *first_err_line(char *err)
{
    char *line = err;

    while (line && *line) {
        char *nl = strchr(line, '\n');

        if (nl)
            *nl = '\0';
        line = perf_trim(line);
        if (*line)
            return line;
        line = nl ? nl + 1 : NULL;
    }
    *err = '\0';
    return err;
}

static void log_stderr(gp_ctx *ctx, const gp_api *api, const char *err)
{
    unsigned logged = 0;

    for (const char *line = err; *line && logged < EXEC_LOG_LINES;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        char buf[512];

        snprintf(buf, sizeof buf, "%.*s", (int)n, line);
        if (*perf_trim(buf)) {
            api->log(ctx, GP_LOG_INFO, "stderr: %s", perf_trim(buf));
            logged++;
        }
        line = nl ? nl + 1 : line + n;
    }
}

static const char *const state_name[] = {"OK", "WARNING", "CRITICAL",
                                         "UNKNOWN"};

/* The outcome of a finished command from its exit status. `text` is the
 * message the command gave, or "". */
static gp_outcome classify_exit(gp_ctx *ctx, const gp_api *api, const run *r,
                                const char *text, const char *cmd)
{
    const char *sep = *text ? ": " : "";

    if (WIFSIGNALED(r->status)) {
        const char *sig = sigabbrev_np(WTERMSIG(r->status));

        if (sig)
            api->message(ctx, "%s killed by SIG%s%s%.*s", cmd, sig, sep,
                         EXEC_MAX_MESSAGE, text);
        else
            api->message(ctx, "%s killed by signal %d%s%.*s", cmd,
                         WTERMSIG(r->status), sep, EXEC_MAX_MESSAGE, text);
        return GP_UNKNOWN;
    }
    int code = WEXITSTATUS(r->status);

    if (code >= 0 && code <= 3 && *text)
        api->message(ctx, "%.*s", EXEC_MAX_MESSAGE, text);
    else if (code >= 0 && code <= 3)
        api->message(ctx, "%s exited %d (%s) without output", cmd, code,
                     state_name[code]);
    switch (code) {
    case 0: return GP_READY;
    case 1: return GP_DEGRADED;
    case 2: {
        const char *how = api->opt_string(ctx, "on_critical");

        if (how && strcmp(how, "fatal") == 0)
            return GP_FATAL;
        if (how && strcmp(how, "retry") == 0)
            return GP_TRANSIENT;
        return api->in_warmup(ctx) ? GP_TRANSIENT : GP_FATAL;
    }
    case 3: return GP_UNKNOWN;
    case 126:
        api->message(ctx, "%s: command not executable (exit status 126)%s%.*s",
                     cmd, sep, EXEC_MAX_MESSAGE, text);
        return GP_FATAL;
    case 127:
        api->message(ctx, "%s: command not found (exit status 127)%s%.*s", cmd,
                     sep, EXEC_MAX_MESSAGE, text);
        return GP_FATAL;
    default:
        api->message(
            ctx, "%s exited %d, not a monitoring-plugins status (0-3)%s%.*s",
            cmd, code, sep, EXEC_MAX_MESSAGE, text);
        return GP_UNKNOWN;
    }
}

/*
 * Everything the command printed passes through scrub() before it is
 * parsed, so no message, log line or perfdata label can carry a
 * secret_env value.
 */
static gp_outcome conclude(gp_ctx *ctx, const gp_api *api, const job *j, run *r)
{
    const char *cmd = j->shell ? "the shell command" : j->argv[0];
    perf_output *pl = malloc(sizeof(perf_output));
    char *out_text = scrub(j, as_text(r->out, r->out_len));
    char *err_text = scrub(j, as_text(r->err, r->err_len));
    char *text;
    gp_outcome out;

    if (!pl || !out_text || !err_text ||
        perf_parse(out_text, strlen(out_text), pl) < 0) {
        api->message(ctx, "out of memory");
        out = GP_UNKNOWN;
        free(pl);
        pl = NULL;
        goto done;
    }
    api->metric(ctx, "run_time", r->ended_ms - r->started_ms);
    text = pl->text;
    for (size_t i = 0; i < pl->n_long; i++)
        api->log(ctx, GP_LOG_DEBUG, "output: %s", pl->long_text[i]);
    for (size_t i = 0; i < pl->n_notes; i++)
        api->log(ctx, GP_LOG_DEBUG, "perfdata: %s", pl->notes[i]);
    log_stderr(ctx, api, err_text);
    if (r->out_dropped || r->err_dropped)
        api->log(ctx, GP_LOG_WARNING,
                 "output cut: %zu bytes of stdout, %zu of stderr dropped",
                 r->out_dropped, r->err_dropped);
    if (pl->dropped)
        api->log(ctx, GP_LOG_WARNING,
                 "perfdata: %zu items beyond the first %d ignored", pl->dropped,
                 PERF_MAX_ITEMS);
    /* No stdout: a failing script usually said why on stderr. */
    if (!*text)
        text = first_err_line(err_text);

    if (r->exec_errno) {
        api->message(ctx, "cannot execute %s: %s", cmd,
                     strerror(r->exec_errno));
        out = GP_FATAL;
    } else if (r->timed_out) {
        api->message(ctx, "%s timed out after %.0f ms (killed)%s%.*s", cmd,
                     r->ended_ms - r->started_ms, *text ? "; it said: " : "",
                     EXEC_MAX_MESSAGE, text);
        out = GP_TRANSIENT;
    } else {
        if (WIFEXITED(r->status))
            api->log(ctx, GP_LOG_DEBUG, "%s exited %d", cmd,
                     WEXITSTATUS(r->status));
        out = classify_exit(ctx, api, r, text, cmd);
    }
    if (!r->exec_errno && (exec_map_metrics(ctx, api, j, pl) < 0 ||
                           exec_named_metrics(ctx, api, pl) < 0))
        out = GP_FATAL;
done:
    if (pl)
        perf_output_free(pl);
    free(pl);
    free(out_text);
    free(err_text);
    return out;
}

static gp_outcome check(gp_ctx *ctx, const gp_api *api)
{
    job j;
    run r;
    gp_outcome out = GP_FATAL;

    memset(&j, 0, sizeof j);
    memset(&r, 0, sizeof r);
    r.out_fd = r.err_fd = r.exec_fd = r.pid_fd = -1;
    if (exec_build_argv(ctx, api, &j) < 0 || exec_build_env(ctx, api, &j) < 0 ||
        exec_build_maps(ctx, api, &j) < 0)
        goto out;
    r.out = malloc(EXEC_MAX_STDOUT + 1);
    if (!r.out) {
        api->message(ctx, "out of memory");
        out = GP_UNKNOWN;
        goto out;
    }
    if (exec_start(ctx, api, &j, &r) < 0) {
        out = GP_UNKNOWN;
        goto out;
    }
    exec_supervise(ctx, api, &r);
    out = conclude(ctx, api, &j, &r);
out:
    free(r.out);
    exec_job_free(&j);
    return out;
}

/* ------------------------------------------------------------------------ */
/* Validation (ABI 1.2): what can be judged before anything runs            */

/* The PATH execvp() will search: env's PATH when it sets one. */
static const char *search_path(gp_ctx *ctx, const gp_api *api, char *buf,
                               size_t cap)
{
    const char *const *items;
    size_t n = api->opt_list(ctx, "env", &items);
    const char *path = getenv("PATH");
    const char *why;

    for (size_t i = 0; i < n; i++) {
        char *item = exec_decode_item(items[i], &why);
        if (item && strncmp(item, "PATH=", 5) == 0) {
            snprintf(buf, cap, "%s", item + 5);
            path = buf;
        }
        free(item);
    }
    return path ? path : "/bin:/usr/bin"; /* glibc's default */
}

/* 0 when path is a regular file we may execute, else why not. */
static const char *not_runnable(const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return strerror(errno);
    if (!S_ISREG(st.st_mode))
        return "not a regular file";
    if (access(path, X_OK) < 0)
        return "not executable";
    return NULL;
}

/* A command without a '/' as execvp() finds it. */
static int found_in_path(const char *cmd, const char *path)
{
    char file[4096];

    for (const char *p = path;;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);

        /* An empty element is the current directory, as for execvp(). */
        snprintf(file, sizeof file, "%.*s%s%s", (int)n, p, n ? "/" : "", cmd);
        if (!not_runnable(file))
            return 1;
        if (!end)
            return 0;
        p = end + 1;
    }
}

static void validate_command(gp_ctx *ctx, const gp_api *api)
{
    const char *const *items;
    size_t n = api->opt_list(ctx, "command", &items);
    const char *why = NULL;
    char pathbuf[4096];

    if (n > 1 && api->opt_boolean(ctx, "shell")) {
        api->invalid(ctx, "command",
                     "with shell = true, command is one shell command line: "
                     "write its commas as \\x2c");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char *arg = exec_decode_item(items[i], &why);
        if (!arg) {
            api->invalid(ctx, "command", "item %zu: %s", i + 1, why);
            return;
        }
        free(arg);
    }
    if (n == 0 || api->opt_boolean(ctx, "shell"))
        return; /* a shell line is the shell's to judge */
    char *cmd = exec_decode_item(items[0], &why);
    if (!cmd)
        return;
    if (strchr(cmd, '/')) {
        const char *bad = not_runnable(cmd);
        if (bad)
            api->invalid(ctx, "command", "cannot execute %s: %s", cmd, bad);
    } else {
        const char *path = search_path(ctx, api, pathbuf, sizeof pathbuf);
        if (!found_in_path(cmd, path))
            api->invalid(ctx, "command",
                         "cannot execute %s: no executable file of that name "
                         "in PATH (%s)",
                         cmd, path);
    }
    free(cmd);
}

static void validate_env(gp_ctx *ctx, const gp_api *api, const char *key,
                         int secret)
{
    const char *const *items;
    size_t n = api->opt_list(ctx, key, &items);
    const char *why = NULL;

    for (size_t i = 0; i < n; i++) {
        size_t klen;
        char *item = exec_env_item(items[i], &klen, &why);

        if (!item)
            api->invalid(ctx, key, "item %zu: %s", i + 1, why);
        else if (secret)
            api->secret(ctx, item + klen + 1); /* the core masks it too */
        free(item);
    }
}

static void validate(gp_ctx *ctx, const gp_api *api)
{
    const char *const *items;
    size_t n = api->opt_list(ctx, "perfdata", &items);
    char why[256];
    job j;

    validate_command(ctx, api);
    validate_env(ctx, api, "env", 0);
    validate_env(ctx, api, "secret_env", 1);
    memset(&j, 0, sizeof j);
    if (exec_parse_maps(items, n, &j, why, sizeof why) < 0)
        api->invalid(ctx, "perfdata", "%s", why);
    exec_job_free(&j);
}

static const gp_plugin exec_plugin = {
    GP_PLUGIN_HEADER,
    .name = "exec",
    .version = "0.1.0",
    .summary = "run a monitoring-plugins (Nagios) compatible command: exit "
               "status, message and perfdata",
    .options = exec_options,
    .metrics = exec_metrics,
    .check = check,
    .validate = validate,
};

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    return &exec_plugin;
}
