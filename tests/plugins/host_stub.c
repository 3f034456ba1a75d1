/*
 * tests/plugins/host_stub.c - a tiny stand-in for the gpcheck core, to run
 * one plugin check() by hand without the real runner:
 *
 *     host_stub [--timeout MS] PLUGIN.so [key=value ...]
 *
 * It loads the plugin, checks its ABI version, checks the key=value
 * arguments against the option schema (declared, required, choices,
 * integer range), then runs check() once in a forked child in its own
 * process group, like the core does, and kills the group at the timeout
 * plus a grace period. Metrics, outcome and message go to stdout.
 *
 * Exit status: the outcome (0 READY, 1 TRANSIENT, 2 FATAL, 3 DEGRADED,
 * 4 UNKNOWN), 5 when the child died, was killed or left no result, 6 on a
 * usage or load error. A developer aid, not the core: option parsing here
 * is deliberately minimal.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gpcheck/plugin.h"

#define GRACE_MS 1000
#define MAX_LIST 32

/* The host owns these for the one check() it runs. */
static const gp_plugin *g_desc;
static char **g_kv;
static int g_nkv;
static int64_t g_deadline;
static char g_message[1024] = "(no message)";
static int g_bug;

struct gp_ctx {
    int unused;
};

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const gp_option *find_option(const char *key)
{
    for (const gp_option *o = g_desc->options; o && o->key; o++)
        if (strcmp(o->key, key) == 0)
            return o;
    return NULL;
}

/* The configured text of key, or NULL; *set says whether argv set it. */
static const char *arg_value(const char *key, int *set)
{
    size_t klen = strlen(key);

    *set = 0;
    for (int i = 0; i < g_nkv; i++)
        if (strncmp(g_kv[i], key, klen) == 0 && g_kv[i][klen] == '=') {
            *set = 1;
            return g_kv[i] + klen + 1;
        }
    return NULL;
}

/* What a getter sees: the text for a declared key of the right type. */
static const char *value_for(const char *key, gp_type type)
{
    const gp_option *o = find_option(key);
    int set;

    if (!o || o->type != type) {
        fprintf(stderr, "plugin bug: option '%s' %s\n", key,
                o ? "asked with the wrong type" : "not declared");
        g_bug = 1;
        return NULL;
    }
    const char *v = arg_value(key, &set);
    return set ? v : o->def;
}

static int parse_int(const char *s, int64_t *out)
{
    char *end;

    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

/* 250ms, 45s, 2m, 1h, 1m30s; a bare number is seconds. -1 when bad. */
static int64_t parse_duration(const char *s)
{
    int64_t total = 0;

    if (!*s)
        return -1;
    while (*s) {
        char *end;
        errno = 0;
        long long n = strtoll(s, &end, 10);
        if (errno || end == s || n < 0)
            return -1;
        s = end;
        if (strncmp(s, "ms", 2) == 0) {
            total += n;
            s += 2;
        } else if (*s == 's' || *s == '\0') {
            total += n * 1000;
            s += *s ? 1 : 0;
        } else if (*s == 'm') {
            total += n * 60000;
            s++;
        } else if (*s == 'h') {
            total += n * 3600000;
            s++;
        } else {
            return -1;
        }
    }
    return total;
}

static const char *api_opt_string(gp_ctx *ctx, const char *key)
{
    (void)ctx;
    return value_for(key, GP_TYPE_STRING);
}

static int64_t api_opt_integer(gp_ctx *ctx, const char *key)
{
    const char *v = value_for(key, GP_TYPE_INTEGER);
    int64_t n = 0;

    (void)ctx;
    return v && parse_int(v, &n) == 0 ? n : 0;
}

static int api_opt_boolean(gp_ctx *ctx, const char *key)
{
    const char *v = value_for(key, GP_TYPE_BOOLEAN);

    (void)ctx;
    return v && (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
                 strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0);
}

static int64_t api_opt_duration_ms(gp_ctx *ctx, const char *key)
{
    const char *v = value_for(key, GP_TYPE_DURATION);
    int64_t ms = v ? parse_duration(v) : 0;

    (void)ctx;
    return ms < 0 ? 0 : ms;
}

static double api_opt_percentage(gp_ctx *ctx, const char *key)
{
    const char *v = value_for(key, GP_TYPE_PERCENTAGE);

    (void)ctx;
    return v ? strtod(v, NULL) : 0.0;
}

static size_t api_opt_list(gp_ctx *ctx, const char *key,
                           const char *const **items)
{
    static char buf[4096];
    static const char *list[MAX_LIST];
    const char *v = value_for(key, GP_TYPE_LIST);
    size_t n = 0;

    (void)ctx;
    if (v && *v) {
        snprintf(buf, sizeof(buf), "%s", v);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save);
             tok && n < MAX_LIST; tok = strtok_r(NULL, ",", &save)) {
            while (*tok == ' ')
                tok++;
            for (char *e = tok + strlen(tok); e > tok && e[-1] == ' '; e--)
                e[-1] = '\0';
            list[n++] = tok;
        }
    }
    if (items)
        *items = list;
    return n;
}

static int api_opt_isset(gp_ctx *ctx, const char *key)
{
    int set;

    (void)ctx;
    arg_value(key, &set);
    return set;
}

static int64_t api_deadline_ms(gp_ctx *ctx)
{
    (void)ctx;
    return g_deadline;
}

static int64_t api_time_left_ms(gp_ctx *ctx)
{
    int64_t left = g_deadline - mono_ms();

    (void)ctx;
    return left > 0 ? left : 0;
}

static int api_in_warmup(gp_ctx *ctx)
{
    (void)ctx;
    return 0;
}

static unsigned api_attempt(gp_ctx *ctx)
{
    (void)ctx;
    return 1;
}

static const char *api_probe_name(gp_ctx *ctx)
{
    (void)ctx;
    return "stub";
}

static void api_metric(gp_ctx *ctx, const char *name, double value)
{
    (void)ctx;
    for (const gp_metric *m = g_desc->metrics; m && m->name; m++)
        if (strcmp(m->name, name) == 0) {
            printf("metric: %s = %.3f\n", name, value);
            return;
        }
    fprintf(stderr, "plugin bug: metric '%s' not declared\n", name);
    g_bug = 1;
}

static void api_message(gp_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    (void)ctx;
    va_start(ap, fmt);
    vsnprintf(g_message, sizeof(g_message), fmt, ap);
    va_end(ap);
}

static void api_log(gp_ctx *ctx, gp_log_level level, const char *fmt, ...)
{
    va_list ap;

    (void)ctx;
    fprintf(stderr, "log[%d]: ", (int)level);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static const gp_api api = {
    .size = sizeof(gp_api),
    .opt_string = api_opt_string,
    .opt_integer = api_opt_integer,
    .opt_boolean = api_opt_boolean,
    .opt_duration_ms = api_opt_duration_ms,
    .opt_percentage = api_opt_percentage,
    .opt_list = api_opt_list,
    .opt_isset = api_opt_isset,
    .deadline_ms = api_deadline_ms,
    .time_left_ms = api_time_left_ms,
    .in_warmup = api_in_warmup,
    .attempt = api_attempt,
    .probe_name = api_probe_name,
    .metric = api_metric,
    .message = api_message,
    .log = api_log,
};

/* "a|b|c" contains v as a whole item. */
static int in_choices(const char *choices, const char *v)
{
    size_t vlen = strlen(v);

    for (const char *p = choices; p; p = strchr(p, '|'), p = p ? p + 1 : p) {
        const char *end = strchr(p, '|');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == vlen && strncmp(p, v, len) == 0)
            return 1;
    }
    return 0;
}

/* What the core does before any attempt, in miniature. */
static int validate(void)
{
    int bad = 0;

    for (int i = 0; i < g_nkv; i++) {
        char key[64];
        const char *eq = strchr(g_kv[i], '=');
        size_t klen = eq ? (size_t)(eq - g_kv[i]) : 0;

        if (!eq || klen >= sizeof(key)) {
            fprintf(stderr, "bad argument '%s' (want key=value)\n", g_kv[i]);
            bad = 1;
            continue;
        }
        memcpy(key, g_kv[i], klen);
        key[klen] = '\0';
        if (!find_option(key)) {
            fprintf(stderr, "unknown option '%s'\n", key);
            bad = 1;
        }
    }
    for (const gp_option *o = g_desc->options; o && o->key; o++) {
        int set;
        const char *v = arg_value(o->key, &set);
        int64_t n;

        if (!set) {
            if (o->flags & GP_OPT_REQUIRED) {
                fprintf(stderr, "option '%s' is required\n", o->key);
                bad = 1;
            }
            continue;
        }
        if (o->type == GP_TYPE_STRING && o->choices &&
            !in_choices(o->choices, v)) {
            fprintf(stderr, "option '%s': not one of %s\n", o->key, o->choices);
            bad = 1;
        }
        if (o->type == GP_TYPE_INTEGER &&
            (parse_int(v, &n) ||
             (o->min < o->max && (n < o->min || n > o->max)))) {
            fprintf(stderr, "option '%s': bad integer '%s'\n", o->key, v);
            bad = 1;
        }
        if (o->type == GP_TYPE_DURATION && parse_duration(v) < 0) {
            fprintf(stderr, "option '%s': bad duration '%s'\n", o->key, v);
            bad = 1;
        }
    }
    return bad ? -1 : 0;
}

static const char *outcome_name(int o)
{
    static const char *const names[] = {"READY", "TRANSIENT", "FATAL",
                                        "DEGRADED", "UNKNOWN"};
    return o >= 0 && o <= 4 ? names[o] : "?";
}

/* The attempt child: run check() and report through stdout and status. */
static void run_child(void)
{
    gp_ctx ctx = {0};
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

    setpgid(0, 0);
    /* The core's result pipe is fd 3; give misbehaving plugins a harmless
     * one so their writes land nowhere. */
    if (devnull >= 0 && devnull != 3)
        dup2(devnull, 3);
    gp_outcome o = g_desc->check(&ctx, &api);
    if (g_bug)
        o = GP_UNKNOWN;
    printf("outcome: %s\nmessage: %s\n", outcome_name((int)o), g_message);
    fflush(stdout);
    _exit(100 + (int)o);
}

int main(int argc, char **argv)
{
    int64_t timeout = 5000;
    int i = 1;

    if (i + 1 < argc && strcmp(argv[i], "--timeout") == 0) {
        if (parse_int(argv[i + 1], &timeout) || timeout < 0) {
            fprintf(stderr, "bad --timeout '%s'\n", argv[i + 1]);
            return 6;
        }
        i += 2;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: %s [--timeout MS] PLUGIN.so [key=value ...]\n",
                argv[0]);
        return 6;
    }

    void *h = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 6;
    }
    gp_entry_fn entry;
    /* The POSIX-sanctioned way to turn dlsym's void * into a function. */
    *(void **)&entry = dlsym(h, GP_PLUGIN_SYMBOL);
    if (!entry) {
        fprintf(stderr, "no %s in %s\n", GP_PLUGIN_SYMBOL, argv[i]);
        return 6;
    }
    g_desc = entry();
    if (!g_desc || g_desc->abi_major != GP_ABI_MAJOR ||
        g_desc->abi_minor > GP_ABI_MINOR || g_desc->size < sizeof(gp_plugin)) {
        fprintf(stderr, "unsupported plugin ABI %u.%u (size %u)\n",
                g_desc ? g_desc->abi_major : 0, g_desc ? g_desc->abi_minor : 0,
                g_desc ? g_desc->size : 0);
        return 6;
    }
    printf("plugin: %s %s (ABI %u.%u)\n", g_desc->name, g_desc->version,
           g_desc->abi_major, g_desc->abi_minor);
    g_kv = argv + i + 1;
    g_nkv = argc - i - 1;
    if (validate() < 0)
        return 6;
    fflush(stdout);

    int64_t start = mono_ms();
    g_deadline = start + timeout;
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 6;
    }
    if (pid == 0)
        run_child();
    setpgid(pid, pid); /* also here: no race with the child's own call */

    /* Bounded wait: poll every 10 ms until the hard limit, then kill. */
    int status = 0, killed = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (mono_ms() > g_deadline + GRACE_MS) {
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            killed = 1;
            break;
        }
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 10000000L};
        nanosleep(&ts, NULL);
    }
    kill(-pid, SIGKILL); /* whatever the attempt left behind in its group */
    printf("elapsed: %lld ms\n", (long long)(mono_ms() - start));

    if (killed) {
        printf("status: killed after the hard timeout\n");
        return 5;
    }
    if (WIFSIGNALED(status)) {
        printf("status: died of signal %d (%s)\n", WTERMSIG(status),
               strsignal(WTERMSIG(status)));
        return 5;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) >= 100 &&
        WEXITSTATUS(status) <= 104)
        return WEXITSTATUS(status) - 100;
    printf("status: exited %d without a result\n",
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 5;
}
