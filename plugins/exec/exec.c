/*
 * plugins/exec/exec.c - the `exec` probe: runs a command that follows the
 * monitoring-plugins (Nagios) contract and turns its exit status, its first
 * line of output and its performance data into an outcome, a message and
 * metrics. Every check_* plugin of monitoring-plugins, and every script
 * written for Nagios, Icinga or Sensu, becomes a probe.
 *
 * One attempt reads top to bottom:
 *   1. decode the options: argv (or one shell command line), extra
 *      environment, the perfdata-to-metric mapping;
 *   2. fork; the child stays in the attempt's process group (so the
 *      runner's hard kill at the deadline takes the command and everything
 *      it started with it), gets stdout and stderr on two pipes and execs;
 *   3. read both pipes, bounded by the time left and by size, until the
 *      command exits; at the deadline SIGKILL it and say so;
 *   4. exit 0/1/2/3 -> ready / degraded / not ready / unknown; the first
 *      line before '|' is the message; perfdata become metrics.
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
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"
#include "perfdata.h"

extern char **environ;

/* What we keep of the command's stdout and stderr; the rest is read and
 * thrown away, so that a chatty command never blocks on a full pipe. */
#define EXEC_MAX_STDOUT (64 * 1024)
#define EXEC_MAX_STDERR (8 * 1024)
/* Slots per unit class, and the length of the message we keep. */
#define EXEC_SLOTS 4
#define EXEC_MAX_MESSAGE 400
/* Without pidfd_open() we look for the command's exit this often. */
#define EXEC_POLL_SLICE_MS 50
/* Lines of long output and of stderr copied to the log. */
#define EXEC_LOG_LINES 5

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

/* Each perfdata unit class (perfdata.h) owns EXEC_SLOTS consecutive
 * metrics. */

/* The EXEC_SLOTS (4) metrics of one class: base, base2, base3, base4. */
/* clang-format off */
#define SLOT_METRICS(base, u, what)                                            \
    {.name = base, .unit = u, .help = "1st perfdata item " what},              \
    {.name = base "2", .unit = u, .help = "2nd perfdata item " what},          \
    {.name = base "3", .unit = u, .help = "3rd perfdata item " what},          \
    {.name = base "4", .unit = u, .help = "4th perfdata item " what}
/* clang-format on */

/* Index 0 is run_time; slot k of class c is 1 + c * EXEC_SLOTS + k. The
 * order here must follow enum perf_class. */
static const gp_metric exec_metrics[] = {
    {.name = "run_time",
     .unit = GP_UNIT_MS,
     .help = "how long the command ran, from fork to exit"},
    SLOT_METRICS("time", GP_UNIT_MS, "in s, ms, us or ns (as ms)"),
    SLOT_METRICS("percent", GP_UNIT_PERCENT, "in %"),
    SLOT_METRICS("bytes", GP_UNIT_BYTES,
                 "in B, KB, MB, GB, TB (x1000) or KiB..TiB (x1024)"),
    SLOT_METRICS("count", GP_UNIT_COUNT, "in c (a counter)"),
    SLOT_METRICS("value", GP_UNIT_NONE, "without a unit (or an unknown one)"),
    {.name = NULL},
};

#define EXEC_N_METRICS (1 + PC_N * EXEC_SLOTS)
_Static_assert(sizeof(exec_metrics) / sizeof(exec_metrics[0]) ==
                   EXEC_N_METRICS + 1,
               "SLOT_METRICS must declare EXEC_SLOTS metrics per class");

static const char *const class_unit_name[PC_N] = {
    "a time", "a percentage", "a byte size", "a counter", "a plain number"};

/* One item of the `perfdata` option. */
typedef struct perf_map {
    char *label; /* owned */
    int slot;    /* metric index, or -1: the next free one of its class */
} perf_map;

/* What one run of the command left us. */
typedef struct run {
    pid_t pid;
    int out_fd, err_fd, exec_fd, pid_fd;
    char *out; /* EXEC_MAX_STDOUT + 1 bytes, NUL-terminated */
    size_t out_len, out_dropped;
    char err[EXEC_MAX_STDERR + 1];
    size_t err_len, err_dropped;
    int exec_errno; /* the child's execvp() failed with this */
    int status;     /* wait status, once reaped */
    int reaped;
    int timed_out;
    double started_ms, ended_ms;
} run;

/* Everything check() allocates, freed in one place. */
typedef struct job {
    char **argv; /* owned, NULL-terminated */
    size_t argc;
    int shell;   /* argv is /bin/sh -c LINE */
    char **ours; /* owned: env, secret_env and our own KEY=VALUE */
    size_t n_ours;
    char **envp; /* borrows from environ and ours, NULL-terminated */
    size_t envc;
    char **secrets; /* values of secret_env, for scrubbing output */
    size_t n_secrets;
    perf_map *maps;
    size_t n_maps;
} job;

/*
 * The config's lists split on every comma and cannot say "empty", so an
 * argument with a comma needs an escape: the configuration language's
 * (gp_sdk_unescape(): \xHH, \r \n \t \\; any other backslash, as in a
 * regular expression, passes unchanged). A NUL cannot be passed to a
 * command. Returns a new string, or NULL with a reason.
 */
static char *decode_item(const char *in, const char **why)
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

static void job_free(job *j)
{
    free_strv(j->argv, j->argc);
    free_strv(j->ours, j->n_ours);
    free(j->envp);
    free_strv(j->secrets, j->n_secrets);
    for (size_t i = 0; i < j->n_maps; i++)
        free(j->maps[i].label);
    free(j->maps);
}

/* ------------------------------------------------------------------------ */
/* Options                                                                   */

static int build_argv(gp_ctx *ctx, const gp_api *api, job *j)
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
        char *arg = decode_item(items[i], &why);

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
        char *item = decode_item(items[i], &why);
        size_t klen;

        if (!item) {
            api->message(ctx, "option %s, item %zu: %s", key, i + 1, why);
            return -1;
        }
        klen = env_key_len(item);
        if (klen == 0) {
            free(item);
            api->message(ctx,
                         "option %s, item %zu: not KEY=VALUE with a key of "
                         "[A-Za-z_][A-Za-z0-9_]*",
                         key, i + 1);
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
static int build_env(gp_ctx *ctx, const gp_api *api, job *j)
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
    snprintf(left, sizeof(left), "%lld", (long long)api->time_left_ms(ctx));
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

/* The metric index of a slot name ("time", "bytes2", ...), or -1. */
static int slot_index(const char *name)
{
    for (int i = 1; i < EXEC_N_METRICS; i++)
        if (strcmp(exec_metrics[i].name, name) == 0)
            return i;
    return -1;
}

static enum perf_class slot_class(int slot)
{
    return (enum perf_class)((slot - 1) / EXEC_SLOTS);
}

/*
 * `perfdata` items: LABEL:METRIC or LABEL. The METRIC after the last ':'
 * must be a slot name (a label with a ':' of its own needs an explicit
 * metric). Fills j->maps; returns -1 with a reason in why. validate()
 * reports the same reasons at config time.
 */
static int parse_maps(const char *const *items, size_t n, job *j, char *why,
                      size_t cap)
{
    const char *bad = NULL;

    j->maps = calloc(n + 1, sizeof(perf_map));
    if (!j->maps) {
        snprintf(why, cap, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char *label = decode_item(items[i], &bad);
        char *colon;
        int slot = -1;

        if (!label) {
            snprintf(why, cap, "item %zu: %s", i + 1, bad);
            return -1;
        }
        j->maps[j->n_maps++].label = label;
        colon = strrchr(label, ':');
        if (colon) {
            *colon = '\0';
            slot = slot_index(colon + 1);
            if (slot < 0) {
                snprintf(why, cap,
                         "'%s' is not a metric of exec (time, time2 .. "
                         "time%d, percent.., bytes.., count.., value..)",
                         colon + 1, EXEC_SLOTS);
                return -1;
            }
        }
        if (!*label) {
            snprintf(why, cap, "item %zu: empty label", i + 1);
            return -1;
        }
        j->maps[j->n_maps - 1].slot = slot;
        for (size_t k = 0; k + 1 < j->n_maps; k++) {
            if (strcmp(j->maps[k].label, label) == 0) {
                snprintf(why, cap, "label '%s' listed twice", label);
                return -1;
            }
            if (slot >= 0 && j->maps[k].slot == slot) {
                snprintf(why, cap, "metric '%s' fed by two labels",
                         exec_metrics[slot].name);
                return -1;
            }
        }
    }
    return 0;
}

static int build_maps(gp_ctx *ctx, const gp_api *api, job *j)
{
    const char *const *items;
    size_t n = api->opt_list(ctx, "perfdata", &items);
    char why[256];

    if (parse_maps(items, n, j, why, sizeof(why)) < 0) {
        api->message(ctx, "option perfdata: %s", why);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Performance data                                                          */

static int first_free(const char *used, enum perf_class cls)
{
    for (int k = 0; k < EXEC_SLOTS; k++) {
        int slot = 1 + (int)cls * EXEC_SLOTS + k;

        if (!used[slot])
            return slot;
    }
    return -1;
}

static const perf_item *find_label(const perf_output *pl, const char *label)
{
    for (size_t i = 0; i < pl->n; i++)
        if (strcmp(pl->items[i].label, label) == 0)
            return &pl->items[i];
    return NULL;
}

static void report(gp_ctx *ctx, const gp_api *api, const perf_item *it,
                   int slot)
{
    api->metric(ctx, exec_metrics[slot].name, it->value);
    api->log(ctx, GP_LOG_DEBUG, "perfdata: '%s' = %g%s -> %s = %g", it->label,
             it->raw, it->uom, exec_metrics[slot].name, it->value);
}

/*
 * Perfdata to metrics. Without a mapping, items fill the free slots of
 * their class in output order (a label seen twice counts once). With one,
 * only the listed labels are reported, in the option's order, so the
 * result does not depend on the order the command prints them in.
 * Returns -1 (with a message) when a mapping contradicts the output.
 */
static int map_metrics(gp_ctx *ctx, const gp_api *api, const job *j,
                       const perf_output *pl)
{
    char used[EXEC_N_METRICS] = {0};

    if (j->n_maps == 0) {
        for (size_t i = 0; i < pl->n; i++) {
            const perf_item *it = &pl->items[i];
            int slot;

            if (find_label(pl, it->label) != it)
                continue;
            slot = first_free(used, it->cls);
            if (slot < 0) {
                api->log(ctx, GP_LOG_DEBUG,
                         "perfdata: '%s' not reported: all %d metrics for %s "
                         "are taken (map it with the perfdata option)",
                         it->label, EXEC_SLOTS, class_unit_name[it->cls]);
                continue;
            }
            used[slot] = 1;
            report(ctx, api, it, slot);
        }
        return 0;
    }
    for (size_t m = 0; m < j->n_maps; m++)
        if (j->maps[m].slot >= 0)
            used[j->maps[m].slot] = 1;
    for (size_t m = 0; m < j->n_maps; m++) {
        const perf_item *it = find_label(pl, j->maps[m].label);
        int slot = j->maps[m].slot;

        if (!it) {
            api->log(ctx, GP_LOG_INFO,
                     "perfdata: label '%s' not in the command's output",
                     j->maps[m].label);
            continue;
        }
        if (slot >= 0 && slot_class(slot) != it->cls) {
            api->message(ctx,
                         "perfdata '%s' is %s (unit '%s') but metric '%s' "
                         "takes %s: fix the perfdata option",
                         it->label, class_unit_name[it->cls], it->uom,
                         exec_metrics[slot].name,
                         class_unit_name[slot_class(slot)]);
            return -1;
        }
        if (slot < 0)
            slot = first_free(used, it->cls);
        if (slot < 0) {
            api->log(ctx, GP_LOG_WARNING,
                     "perfdata: '%s' not reported: all %d metrics for %s "
                     "are taken",
                     it->label, EXEC_SLOTS, class_unit_name[it->cls]);
            continue;
        }
        used[slot] = 1;
        report(ctx, api, it, slot);
    }
    return 0;
}

/* The class a configured metric's unit takes; PC_N: any (unit none). */
static enum perf_class unit_class(const char *unit, int *also_value)
{
    *also_value = 0;
    if (strcmp(unit, "ms") == 0)
        return PC_TIME;
    if (strcmp(unit, "%") == 0)
        return PC_PERCENT;
    if (strcmp(unit, "bytes") == 0)
        return PC_BYTES;
    if (strcmp(unit, "count") == 0) {
        *also_value = 1; /* procs=5 carries no "c", yet counts */
        return PC_COUNT;
    }
    return PC_N;
}

/*
 * The `metrics` option (ABI 1.2 GP_OPT_METRICS): each NAME[:UNIT] the core
 * checked at config time takes the value of the first perfdata item whose
 * label maps to NAME (perf_metric_name). A metric the output lacks is not
 * reported (a threshold on it does not fire); one whose unit contradicts
 * the output is a configuration error, as for `perfdata`.
 */
static int named_metrics(gp_ctx *ctx, const gp_api *api, const perf_output *pl)
{
    const char *const *items;
    size_t n = api->opt_list(ctx, "metrics", &items);

    for (size_t i = 0; i < n; i++) {
        char nbuf[PERF_MAX_LABEL], ubuf[16] = "none", label[PERF_MAX_LABEL];
        const char *colon = strchr(items[i], ':');
        const perf_item *it = NULL;
        int also_value;

        /* NAME[:UNIT], already checked by the core (GP_OPT_METRICS) */
        snprintf(nbuf, sizeof(nbuf), "%.*s",
                 (int)(colon ? (size_t)(colon - items[i]) : strlen(items[i])),
                 items[i]);
        if (colon)
            snprintf(ubuf, sizeof(ubuf), "%s", colon + 1);
        const char *name = perf_trim(nbuf), *unit = perf_trim(ubuf);
        for (size_t k = 0; k < pl->n && !it; k++) {
            perf_metric_name(pl->items[k].label, label, sizeof(label));
            if (strcmp(label, name) == 0)
                it = &pl->items[k];
        }
        if (!it) {
            api->log(ctx, GP_LOG_INFO,
                     "metrics: no perfdata label for '%s' in the command's "
                     "output",
                     name);
            continue;
        }
        enum perf_class want = unit_class(unit, &also_value);
        if (want != PC_N && it->cls != want &&
            !(also_value && it->cls == PC_VALUE)) {
            api->message(ctx,
                         "perfdata '%s' is %s (unit '%s') but metric '%s' is "
                         "declared %s: fix the metrics option",
                         it->label, class_unit_name[it->cls], it->uom, name,
                         unit);
            return -1;
        }
        api->metric(ctx, name, it->value);
        api->log(ctx, GP_LOG_DEBUG, "perfdata: '%s' = %g%s -> %s = %g",
                 it->label, it->raw, it->uom, name, it->value);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Running the command                                                       */

static int pidfd_open_compat(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Close every descriptor from `from` up, but `keep`; async-signal-safe. */
static void close_from(int from, int keep)
{
    if (keep > from &&
        close_range((unsigned)from, (unsigned)keep - 1, 0) == 0 &&
        close_range((unsigned)keep + 1, ~0U, 0) == 0)
        return;
    long max = sysconf(_SC_OPEN_MAX);

    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = from; fd < max; fd++)
        if (fd != keep)
            close(fd);
}

/*
 * In the child, between fork and exec: only async-signal-safe calls. The
 * command stays in our process group on purpose: the runner kills the
 * group at the deadline, which takes the command and whatever it started.
 * The attempt ignores SIGPIPE (and exec keeps ignored signals ignored);
 * the command gets the default back. fd 3 is the attempt's result pipe:
 * a command must not be able to write on it, so everything above stderr
 * is closed but the exec-error pipe (close-on-exec).
 */
static _Noreturn void in_child(const job *j, int out_w, int err_w, int exec_w)
{
    int e;

    if (dup2(out_w, STDOUT_FILENO) < 0 || dup2(err_w, STDERR_FILENO) < 0) {
        e = errno;
        (void)!write(exec_w, &e, sizeof(e));
        _exit(127);
    }
    signal(SIGPIPE, SIG_DFL);
    close_from(STDERR_FILENO + 1, exec_w);
    environ = j->envp;
    execvp(j->argv[0], j->argv);
    e = errno;
    (void)!write(exec_w, &e, sizeof(e));
    _exit(127);
}

static int make_pipe(int p[2])
{
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    /* Only our end is non-blocking: the command sees an ordinary pipe. */
    return fcntl(p[0], F_SETFL, O_NONBLOCK);
}

static int start(gp_ctx *ctx, const gp_api *api, const job *j, run *r)
{
    int out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, exec_p[2] = {-1, -1};

    if (make_pipe(out_p) < 0 || make_pipe(err_p) < 0 || make_pipe(exec_p) < 0) {
        api->message(ctx, "cannot create a pipe: %s", strerror(errno));
        goto fail;
    }
    r->started_ms = gp_sdk_now_ms();
    r->pid = fork();
    if (r->pid == 0)
        in_child(j, out_p[1], err_p[1], exec_p[1]);
    if (r->pid < 0) {
        api->message(ctx, "cannot fork: %s", strerror(errno));
        goto fail;
    }
    close(out_p[1]);
    close(err_p[1]);
    close(exec_p[1]);
    r->out_fd = out_p[0];
    r->err_fd = err_p[0];
    r->exec_fd = exec_p[0];
    r->pid_fd = pidfd_open_compat(r->pid);
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        close_fd(&out_p[i]);
        close_fd(&err_p[i]);
        close_fd(&exec_p[i]);
    }
    return -1;
}

/* Read what is there; keep up to cap bytes, count the rest. Closes the fd
 * at EOF. Reads at most `budget` bytes, so a writer as fast as we are
 * cannot keep us here. */
static void drain(int *fd, char *buf, size_t cap, size_t *len, size_t *dropped,
                  size_t budget)
{
    char scratch[4096];

    while (*fd >= 0 && budget > 0) {
        char *dst = *len < cap ? buf + *len : scratch;
        size_t room = *len < cap ? cap - *len : sizeof(scratch);
        ssize_t n;

        if (room > budget)
            room = budget;
        n = read(*fd, dst, room);
        if (n > 0) {
            if (dst == scratch)
                *dropped += (size_t)n;
            else
                *len += (size_t)n;
            budget -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            close_fd(fd); /* EOF, or an error we cannot do more about */
        }
    }
}

static void drain_all(run *r, size_t budget)
{
    drain(&r->out_fd, r->out, EXEC_MAX_STDOUT, &r->out_len, &r->out_dropped,
          budget);
    drain(&r->err_fd, r->err, EXEC_MAX_STDERR, &r->err_len, &r->err_dropped,
          budget);
    if (r->exec_fd >= 0) {
        int e = 0;
        ssize_t n = read(r->exec_fd, &e, sizeof(e));

        if (n == (ssize_t)sizeof(e))
            r->exec_errno = e;
        if (n >= 0 || (errno != EAGAIN && errno != EINTR))
            close_fd(&r->exec_fd);
    }
}

static void try_reap(run *r)
{
    int status = 0;
    pid_t got;

    do
        got = waitpid(r->pid, &status, WNOHANG);
    while (got < 0 && errno == EINTR);
    if (got == r->pid) {
        r->status = status;
        r->reaped = 1;
        r->ended_ms = gp_sdk_now_ms();
    }
}

static void kill_and_reap(run *r)
{
    int status = 0;

    kill(r->pid, SIGKILL);
    while (waitpid(r->pid, &status, 0) < 0 && errno == EINTR)
        ;
    r->status = status;
    r->reaped = 1;
    r->ended_ms = gp_sdk_now_ms();
}

/*
 * Wait for the command to exit, reading its output meanwhile. Bounded by
 * the time left: then the command gets SIGKILL. Its exit, not the end of
 * its output, ends the wait: a background child it left behind may hold
 * the pipes open for as long as it lives (the runner kills it with the
 * attempt's group).
 */
static void supervise(gp_ctx *ctx, const gp_api *api, run *r)
{
    while (!r->reaped) {
        struct pollfd p[4];
        int idx_pid = -1, n = 0;
        int wait = gp_sdk_poll_ms(ctx, api);

        if (wait <= 0) {
            r->timed_out = 1;
            kill_and_reap(r);
            break;
        }
        if (r->out_fd >= 0)
            p[n++] = (struct pollfd){.fd = r->out_fd, .events = POLLIN};
        if (r->err_fd >= 0)
            p[n++] = (struct pollfd){.fd = r->err_fd, .events = POLLIN};
        if (r->exec_fd >= 0)
            p[n++] = (struct pollfd){.fd = r->exec_fd, .events = POLLIN};
        if (r->pid_fd >= 0) {
            idx_pid = n;
            p[n++] = (struct pollfd){.fd = r->pid_fd, .events = POLLIN};
        } else if (wait > EXEC_POLL_SLICE_MS) {
            wait = EXEC_POLL_SLICE_MS;
        }
        if (poll(p, (nfds_t)n, wait) < 0 && errno != EINTR) {
            /* Should not happen; do not spin: fall back to slices. */
            struct timespec ts = {0, EXEC_POLL_SLICE_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
        drain_all(r, 4 * EXEC_MAX_STDOUT);
        if (idx_pid < 0 || p[idx_pid].revents)
            try_reap(r);
    }
    /* What the command wrote before it exited is in the pipes now. */
    drain_all(r, 2 * EXEC_MAX_STDOUT);
    close_fd(&r->out_fd);
    close_fd(&r->err_fd);
    close_fd(&r->exec_fd);
    close_fd(&r->pid_fd);
}

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

        snprintf(buf, sizeof(buf), "%.*s", (int)n, line);
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
    if (!r->exec_errno &&
        (map_metrics(ctx, api, j, pl) < 0 || named_metrics(ctx, api, pl) < 0))
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

    memset(&j, 0, sizeof(j));
    memset(&r, 0, sizeof(r));
    r.out_fd = r.err_fd = r.exec_fd = r.pid_fd = -1;
    if (build_argv(ctx, api, &j) < 0 || build_env(ctx, api, &j) < 0 ||
        build_maps(ctx, api, &j) < 0)
        goto out;
    r.out = malloc(EXEC_MAX_STDOUT + 1);
    if (!r.out) {
        api->message(ctx, "out of memory");
        out = GP_UNKNOWN;
        goto out;
    }
    if (start(ctx, api, &j, &r) < 0) {
        out = GP_UNKNOWN;
        goto out;
    }
    supervise(ctx, api, &r);
    out = conclude(ctx, api, &j, &r);
out:
    free(r.out);
    job_free(&j);
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
        char *item = decode_item(items[i], &why);
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
        snprintf(file, sizeof(file), "%.*s%s%s", (int)n, p, n ? "/" : "", cmd);
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
        char *arg = decode_item(items[i], &why);
        if (!arg) {
            api->invalid(ctx, "command", "item %zu: %s", i + 1, why);
            return;
        }
        free(arg);
    }
    if (n == 0 || api->opt_boolean(ctx, "shell"))
        return; /* a shell line is the shell's to judge */
    char *cmd = decode_item(items[0], &why);
    if (!cmd)
        return;
    if (strchr(cmd, '/')) {
        const char *bad = not_runnable(cmd);
        if (bad)
            api->invalid(ctx, "command", "cannot execute %s: %s", cmd, bad);
    } else {
        const char *path = search_path(ctx, api, pathbuf, sizeof(pathbuf));
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
        char *item = decode_item(items[i], &why);
        size_t klen;

        if (!item) {
            api->invalid(ctx, key, "item %zu: %s", i + 1, why);
            continue;
        }
        klen = env_key_len(item);
        if (klen == 0)
            api->invalid(ctx, key,
                         "item %zu: not KEY=VALUE with a key of "
                         "[A-Za-z_][A-Za-z0-9_]*",
                         i + 1);
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
    memset(&j, 0, sizeof(j));
    if (parse_maps(items, n, &j, why, sizeof(why)) < 0)
        api->invalid(ctx, "perfdata", "%s", why);
    job_free(&j);
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
