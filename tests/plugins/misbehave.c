/*
 * tests/plugins/misbehave.c - the `misbehave` plugin, built only for tests.
 *
 * It does, on purpose, each thing a real plugin might do wrong (or right)
 * so that the runner's handling of it can be tested: crash, hang past the
 * deadline, exit without a result, write garbage on the result pipe, leave
 * a grandchild holding the pipe open, write its secret to stderr (mode
 * stderr), or simply report each outcome; and,
 * with `validate = MODE`, the same in its ABI 1.2 validate() (crash, hang,
 * garbage, a grandchild, several invalid() reports, a declared secret).
 *
 * The "forever" modes (hang, spin, grandchild) give up after
 * MISBEHAVE_FOREVER_S so that a runner bug leaks a process for minutes,
 * not for the life of the CI machine. That is far beyond any attempt
 * timeout a test uses, so to the runner they still never finish.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "gpcheck/plugin.h"

#define MISBEHAVE_FOREVER_S 600

static const gp_option misbehave_options[] = {
    {.key = "mode",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_REQUIRED,
     .help = "what to do",
     .choices = "ok|segv|abort|hang|spin|exit|garbage|grandchild|transient|"
                "fatal|slow|degraded|unknown|flaky|escape|leak|secret|"
                "named|early|stderr|stderr_flood|stderr_spin"},
    {.key = "arg",
     .type = GP_TYPE_STRING,
     .help = "mode argument (flaky: ready once this file exists; hang, "
             "spin, grandchild, escape, slow: a file the pids are appended "
             "to)"},
    {.key = "token",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_SECRET,
     .help = "a secret; mode leak puts it in its message and log, modes "
             "stderr, stderr_flood and stderr_spin on stderr"},
    {.key = "token_file",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_FILE,
     .help = "a secret file; mode leak puts its content in its message"},
    {.key = "validate",
     .type = GP_TYPE_STRING,
     .def = "ok",
     .choices = "ok|invalid|segv|hang|garbage|grandchild|secret|bug|slow|flood",
     .help = "what validate() does: ok, invalid (three reports), segv, "
             "hang, "
             "garbage, grandchild (left behind, pid to arg), secret "
             "(declares arg as a secret), bug (an undeclared key), slow "
             "(sleeps `sleep`), flood (65 secrets)"},
    {.key = "names",
     .type = GP_TYPE_LIST,
     .flags = GP_OPT_METRICS,
     .help = "metrics this probe reports (mode named: each is 7)"},
    {.key = "sleep",
     .type = GP_TYPE_DURATION,
     .def = "1s",
     .help = "how long mode slow takes; how long before its deadline "
             "mode early gives up",
     .min = 0,
     .max = 3600 * 1000},
    {.key = NULL},
};

static const gp_metric misbehave_metrics[] = {
    {.name = "value", .unit = GP_UNIT_COUNT, .help = "always 42 in mode ok"},
    {.name = NULL},
};

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (long)(ms % 1000) * 1000000L};

    /* nanosleep leaves the remainder in ts, so EINTR retries converge. */
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Block "forever", deaf to SIGTERM: only SIGKILL (of the group) ends it. */
static void hang(void)
{
    int64_t until = mono_ms() + MISBEHAVE_FOREVER_S * 1000;

    signal(SIGTERM, SIG_IGN);
    while (mono_ms() < until)
        sleep_ms(1000);
    _exit(99);
}

/* Burn CPU "forever" without a single system call in the hot loop. */
static void spin(void)
{
    int64_t until = mono_ms() + MISBEHAVE_FOREVER_S * 1000;
    volatile unsigned long n = 0;

    signal(SIGTERM, SIG_IGN);
    while (mono_ms() < until)
        for (unsigned long i = 0; i < 100000000UL; i++)
            n++;
    _exit(99);
}

/* A real invalid memory access. The pointer itself is volatile, so the
 * compiler cannot prove it NULL and turn the store into a trap instruction
 * (SIGILL). UBSan is told to look away: the crash is the point. */
#if defined(__GNUC__)
#define NO_UBSAN __attribute__((no_sanitize("undefined")))
#else
#define NO_UBSAN
#endif
static NO_UBSAN void segv(void)
{
    int *volatile p = NULL;

    *p = 1;
    raise(SIGSEGV); /* not reached */
}

static void put_err(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void put_errs(const char *s)
{
    put_err(s, strlen(s));
}

/* What a careless plugin, a library it uses or a command it starts writes
 * on stderr: its secret as is, percent-encoded, in Basic credentials, in
 * JSON, split across two writes, where a long line is cut, after bytes
 * that are no text, in a line too long to keep, and at the end without a
 * newline; with flood, 120 lines more than the core shows. */
static void stderr_leak(const char *token, int flood)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char buf[512];
    size_t n = strlen(token), o = 0;

    snprintf(buf, sizeof(buf), "connecting with token %s\n", token);
    put_errs(buf);
    put_errs("GET /?token=");
    for (size_t i = 0; i < n; i++) {
        snprintf(buf, sizeof(buf), "%%%02X", (unsigned char)token[i]);
        put_errs(buf);
    }
    put_errs("\n");
    /* base64 of "u:TOKEN" */
    char plain[256];
    snprintf(plain, sizeof(plain), "u:%s", token);
    size_t pn = strlen(plain);
    for (size_t i = 0; i < pn && o + 5 < sizeof(buf); i += 3) {
        unsigned long v = (unsigned long)(unsigned char)plain[i] << 16;
        if (i + 1 < pn)
            v |= (unsigned long)(unsigned char)plain[i + 1] << 8;
        if (i + 2 < pn)
            v |= (unsigned char)plain[i + 2];
        buf[o++] = b64[(v >> 18) & 63];
        buf[o++] = b64[(v >> 12) & 63];
        buf[o++] = i + 1 < pn ? b64[(v >> 6) & 63] : '=';
        buf[o++] = i + 2 < pn ? b64[v & 63] : '=';
    }
    buf[o] = '\0';
    put_errs("Authorization: Basic ");
    put_errs(buf);
    put_errs("\n");
    snprintf(buf, sizeof(buf), "{\"token\": \"%s\"}\n", token);
    put_errs(buf);
    put_errs("split ");
    put_err(token, n / 2);
    sleep_ms(50); /* two reads for one line */
    put_errs(token + n / 2);
    put_errs(" end\n");
    /* The secret straddles the core's 4 KiB cut: 7 bytes of it before. */
    memset(buf, 'y', sizeof(buf));
    for (int i = 0; i < 4088 / (int)sizeof(buf); i++)
        put_err(buf, sizeof(buf));
    put_err(buf, 4088 % sizeof(buf));
    put_errs(" ");
    put_errs(token);
    put_errs("\n");
    static const char junk[] = "bin \0\xff\xfe\x1b[31m\x7f\r garbage\n";
    put_err(junk, sizeof(junk) - 1);
    /* 1 MiB, the secret at its end */
    memset(buf, 'x', sizeof(buf));
    for (int i = 0; i < 2048; i++)
        put_err(buf, sizeof(buf));
    put_errs(token);
    put_errs("\n");
    for (int i = 0; flood && i < 120; i++) {
        snprintf(buf, sizeof(buf), "flood %d token %s\n", i, token);
        put_errs(buf);
    }
    snprintf(buf, sizeof(buf), "last words %s", token);
    put_errs(buf);
}

/* Append a pid to the file `arg` names, so a test can check afterwards
 * that the process is gone. */
static void record_pid(const char *arg, pid_t pid)
{
    if (!arg || !*arg)
        return;
    FILE *f = fopen(arg, "a");
    if (f) {
        fprintf(f, "%ld\n", (long)pid);
        fclose(f);
    }
}

static gp_outcome check(gp_ctx *ctx, const gp_api *api)
{
    const char *mode = api->opt_string(ctx, "mode");
    const char *arg = api->opt_string(ctx, "arg");

    if (!mode)
        mode = "";
    if (strcmp(mode, "flaky") != 0)
        record_pid(arg, getpid());

    if (strcmp(mode, "ok") == 0) {
        api->metric(ctx, "value", 42);
        api->message(ctx, "all good");
        return GP_READY;
    }
    if (strcmp(mode, "segv") == 0)
        segv();
    if (strcmp(mode, "abort") == 0)
        abort();
    if (strcmp(mode, "hang") == 0)
        hang();
    if (strcmp(mode, "spin") == 0)
        spin();
    if (strcmp(mode, "exit") == 0)
        _exit(0); /* no result written: the runner must notice */
    if (strcmp(mode, "garbage") == 0) {
        /* Straight onto the result pipe, where the runner expects JSON
         * lines: not JSON, a NUL, bytes that are not UTF-8, no newline. */
        static const char junk[] =
            "this is not json\n{\"outcome\":\0\xff\xfe{{";
        ssize_t n = write(3, junk, sizeof(junk) - 1);
        (void)n;
        api->message(ctx, "wrote garbage to fd 3");
        return GP_READY;
    }
    if (strcmp(mode, "grandchild") == 0) {
        pid_t pid = fork();

        if (pid == 0) {
            /* Same process group and still holding fd 3: a runner that
             * waits for EOF on the pipe instead of for its child hangs. */
            sleep_ms((int64_t)MISBEHAVE_FOREVER_S * 1000);
            _exit(0);
        }
        if (pid < 0) {
            api->message(ctx, "fork failed: %s", strerror(errno));
            return GP_UNKNOWN;
        }
        record_pid(arg, pid);
        api->message(ctx, "left grandchild %ld behind", (long)pid);
        return GP_READY;
    }
    if (strcmp(mode, "escape") == 0) {
        pid_t pid = fork();

        if (pid == 0) {
            /* A new session: out of the attempt's process group, so only
             * the runner's sweep of its reparented orphans can end it. */
            setsid();
            sleep_ms((int64_t)MISBEHAVE_FOREVER_S * 1000);
            _exit(0);
        }
        if (pid < 0) {
            api->message(ctx, "fork failed: %s", strerror(errno));
            return GP_UNKNOWN;
        }
        record_pid(arg, pid);
        api->message(ctx, "left a setsid grandchild behind");
        return GP_READY;
    }
    if (strcmp(mode, "leak") == 0) {
        /* What a careless plugin does; the core must mask it. */
        const char *token = api->opt_string(ctx, "token");
        const char *file = api->opt_string(ctx, "token_file");
        char content[256] = "";
        if (file) {
            FILE *f = fopen(file, "r");
            if (f) {
                if (!fgets(content, sizeof content, f))
                    content[0] = '\0';
                content[strcspn(content, "\n")] = '\0';
                fclose(f);
            }
            token = content;
        }
        api->log(ctx, GP_LOG_INFO, "logging in with token %s", token);
        api->message(ctx, "token %s rejected", token);
        return GP_TRANSIENT;
    }
    if (strcmp(mode, "stderr_spin") == 0) {
        /* Floods stderr "forever", as fast as it can: the supervisor must
         * still keep its deadlines. */
        int64_t until = mono_ms() + MISBEHAVE_FOREVER_S * 1000;
        const char *token = api->opt_string(ctx, "token");
        char line[512];

        snprintf(line, sizeof(line), "spinning with token %s %0400d\n",
                 token ? token : "", 0);
        while (mono_ms() < until)
            put_errs(line);
        _exit(99);
    }
    if (strcmp(mode, "stderr") == 0 || strcmp(mode, "stderr_flood") == 0) {
        const char *token = api->opt_string(ctx, "token");

        stderr_leak(token ? token : "", strcmp(mode, "stderr_flood") == 0);
        api->message(ctx, "wrote to stderr");
        return GP_READY;
    }
    if (strcmp(mode, "secret") == 0) {
        /* A token learned at run time: declared, then (carelessly)
         * printed; the supervisor must mask it. */
        char token[64];
        snprintf(token, sizeof token, "rt-canary-%ld", (long)getpid());
        api->secret(ctx, token);
        api->log(ctx, GP_LOG_INFO, "fetched token %s", token);
        api->message(ctx, "using token %s", token);
        return GP_READY;
    }
    if (strcmp(mode, "named") == 0) {
        const char *const *items;
        size_t n = api->opt_list(ctx, "names", &items);
        for (size_t i = 0; i < n; i++) {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)strcspn(items[i], ":"),
                     items[i]);
            api->metric(ctx, name, 7);
        }
        api->message(ctx, "reported %zu named metrics", n);
        return GP_READY;
    }
    if (strcmp(mode, "transient") == 0) {
        api->message(ctx, "not ready yet (on purpose)");
        return GP_TRANSIENT;
    }
    if (strcmp(mode, "fatal") == 0) {
        api->message(ctx, "cannot ever work (on purpose)");
        return GP_FATAL;
    }
    if (strcmp(mode, "slow") == 0) {
        int64_t want = api->opt_duration_ms(ctx, "sleep");
        int64_t left = api->time_left_ms(ctx);

        /* Honour the deadline: give up a little before it (the runner
         * kills shortly after it) and say why. */
        if (want > left) {
            sleep_ms(left > 50 ? left - 50 : 0);
            api->message(ctx, "slow: needed %lld ms, had %lld ms",
                         (long long)want, (long long)left);
            return GP_TRANSIENT;
        }
        sleep_ms(want);
        api->message(ctx, "slept %lld ms", (long long)want);
        return GP_READY;
    }
    if (strcmp(mode, "early") == 0) {
        /* A library's timer that fires `sleep` before the deadline. */
        int64_t margin = api->opt_duration_ms(ctx, "sleep");
        int64_t left = api->time_left_ms(ctx);
        sleep_ms(left > margin ? left - margin : 0);
        api->message(ctx, "gave up %lld ms early", (long long)margin);
        return GP_TRANSIENT;
    }
    if (strcmp(mode, "degraded") == 0) {
        api->message(ctx, "working, but degraded (on purpose)");
        return GP_DEGRADED;
    }
    if (strcmp(mode, "unknown") == 0) {
        api->message(ctx, "cannot tell (on purpose)");
        return GP_UNKNOWN;
    }
    if (strcmp(mode, "flaky") == 0) {
        struct stat st;

        if (!arg || !*arg) {
            api->message(ctx, "mode flaky needs arg = FILE");
            return GP_UNKNOWN;
        }
        if (stat(arg, &st) == 0) {
            api->message(ctx, "%s exists", arg);
            return GP_READY;
        }
        api->message(ctx, "waiting for %s", arg);
        return GP_TRANSIENT;
    }
    api->message(ctx, "unknown mode '%s'", mode);
    return GP_UNKNOWN;
}

static void validate(gp_ctx *ctx, const gp_api *api)
{
    const char *how = api->opt_string(ctx, "validate");
    const char *arg = api->opt_string(ctx, "arg");

    if (!how || strcmp(how, "ok") == 0)
        return;
    if (strcmp(how, "invalid") == 0) {
        api->invalid(ctx, "mode", "misbehave refuses mode %s",
                     api->opt_string(ctx, "mode"));
        api->invalid(ctx, "validate", "and reports a second problem");
        api->invalid(ctx, "sleep",
                     "and a third, on a value that may be "
                     "a default");
    } else if (strcmp(how, "segv") == 0) {
        segv();
    } else if (strcmp(how, "hang") == 0) {
        record_pid(arg, getpid());
        hang();
    } else if (strcmp(how, "garbage") == 0) {
        static const char junk[] = "{\"invalid\": not json\n";
        ssize_t n = write(3, junk, sizeof(junk) - 1);
        (void)n;
    } else if (strcmp(how, "grandchild") == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            sleep_ms((int64_t)MISBEHAVE_FOREVER_S * 1000);
            _exit(0);
        }
        record_pid(arg, pid);
    } else if (strcmp(how, "secret") == 0) {
        api->secret(ctx, arg);
    } else if (strcmp(how, "bug") == 0) {
        api->invalid(ctx, "no_such_option", "this key is not declared");
    } else if (strcmp(how, "flood") == 0) {
        for (int i = 0; i < 65; i++) {
            char text[32];
            snprintf(text, sizeof text, "flood-%d", i);
            api->secret(ctx, text);
        }
    } else if (strcmp(how, "slow") == 0) {
        sleep_ms(api->opt_duration_ms(ctx, "sleep"));
    }
}

static const gp_plugin misbehave_plugin = {
    GP_PLUGIN_HEADER,
    .name = "misbehave",
    .version = "0.1.0",
    .summary = "test plugin that crashes, hangs or lies on demand",
    .options = misbehave_options,
    .metrics = misbehave_metrics,
    .check = check,
    .validate = validate,
};

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    return &misbehave_plugin;
}
