/*
 * core/child.c - runs inside the forked attempt process: implements the
 * gp_api table over the probe's already-validated options, collects the
 * message and metrics, and reports them to the parent as JSON lines. The
 * same table and protocol serve the validation child, which calls one
 * plugin's validate() for each of its probes (child_validate()).
 */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "optapi.h"
#include "secrets.h"
#include "util.h"

#define CHILD_STR_(x) #x
#define CHILD_STR(x) CHILD_STR_(x)

/* An optview first: the option getters of core/optapi.c read it. */
struct gp_ctx {
    optview ov;
    const child_attempt *a;
    strbuf message;
    double *metric_values; /* one per declared metric */
    char *metric_set;
    unsigned logs, logs_dropped;
    int validating;   /* in child_validate(): invalid() is allowed, and
                         metric(), message() and log() do nothing */
    size_t index;     /* child_validate(): the probe's index in its list */
    unsigned secrets; /* secret() calls so far */
};

/* The probe's metrics (see probe_def.metrics) and their count. */
static const gp_metric *metrics_of(const probe_def *d, size_t *n)
{
    *n = d->metrics ? d->n_metrics : d->plugin->n_metrics;
    return d->metrics ? d->metrics : d->plugin->desc->metrics;
}

static void write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                poll(&p, 1, -1);
                continue;
            }
            _exit(3); /* parent gone: nothing to report to */
        }
        s += w;
        n -= (size_t)w;
    }
}

static void send_json(gp_ctx *ctx, json_t *obj)
{
    char *line = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(obj);
    if (!line)
        _exit(4);
    size_t n = strlen(line);
    line[n] = '\n'; /* replaces the NUL; length passed explicitly */
    write_all(ctx->a->fd, line, n + 1);
    free(line);
}

static int64_t api_deadline_ms(gp_ctx *ctx)
{
    return ctx->a->deadline_ms;
}

static int64_t api_time_left_ms(gp_ctx *ctx)
{
    int64_t left = ctx->a->deadline_ms - now_ms();
    return left > 0 ? left : 0;
}

static int api_in_warmup(gp_ctx *ctx)
{
    return ctx->a->warmup;
}

static unsigned api_attempt(gp_ctx *ctx)
{
    return ctx->a->number;
}

static const char *api_probe_name(gp_ctx *ctx)
{
    return ctx->a->def->name;
}

static void api_metric(gp_ctx *ctx, const char *name, double value)
{
    size_t n;
    const gp_metric *m = metrics_of(ctx->a->def, &n);
    if (ctx->validating)
        return;
    for (size_t i = 0; name && i < n; i++) {
        if (strcmp(m[i].name, name) == 0) {
            ctx->metric_values[i] = value;
            ctx->metric_set[i] = 1;
            return;
        }
    }
    optview_bug(&ctx->ov, "plugin reported undeclared metric '%s'", name);
}

/* ABI 1.3: a threshold of the probe names the metric, or (in an attempt)
 * a report shows them all. */
static int api_metric_wanted(gp_ctx *ctx, const char *name)
{
    const probe_def *d = ctx->a->def;
    if (!name)
        return 0;
    for (size_t i = 0; i < d->n_conds; i++)
        if (strcmp(d->conds[i].metric->name, name) == 0)
            return 1;
    if (ctx->validating || !ctx->a->all_metrics)
        return 0;
    size_t n;
    const gp_metric *m = metrics_of(d, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].name, name) == 0)
            return 1;
    return 0;
}

static void api_message(gp_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    sb_free(&ctx->message);
    if (!fmt || ctx->validating)
        return;
    va_start(ap, fmt);
    sb_vappendf(&ctx->message, fmt, ap);
    va_end(ap);
}

static void api_log(gp_ctx *ctx, gp_log_level level, const char *fmt, ...)
{
    if (!fmt || ctx->validating)
        return;
    if (ctx->logs >= CHILD_MAX_LOGS) {
        ctx->logs_dropped++;
        return;
    }
    ctx->logs++;
    strbuf sb = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vappendf(&sb, fmt, ap);
    va_end(ap);
    char *text = str_sanitize(sb_str(&sb));
    sb_free(&sb);
    json_t *o =
        json_pack("{s:{s:i,s:s}}", "log", "level", (int)level, "text", text);
    free(text);
    if (o)
        send_json(ctx, o);
}

static void api_invalid(gp_ctx *ctx, const char *key, const char *fmt, ...)
{
    if (!ctx->validating) {
        optview_bug(&ctx->ov,
                    "plugin called invalid() from check() (for "
                    "option '%s')",
                    key);
        return;
    }
    strbuf sb = {0};
    va_list ap;
    va_start(ap, fmt);
    if (fmt)
        sb_vappendf(&sb, fmt, ap);
    va_end(ap);
    char *text = str_sanitize(sb_str(&sb));
    sb_free(&sb);
    send_json(ctx, json_pack("{s:{s:I,s:s?,s:s}}", "invalid", "probe",
                             (json_int_t)ctx->index, "key", key, "text", text));
    free(text);
}

/* The text goes to the supervisor as is (JSON escapes it): it is masked
 * there, so it must arrive exactly as the plugin may later print it. */
static void api_secret(gp_ctx *ctx, const char *text)
{
    if (!text || !*text)
        return;
    if (ctx->secrets++ >= CHILD_MAX_SECRETS) {
        optview_bug(&ctx->ov, "plugin declared more than %s secrets",
                    CHILD_STR(CHILD_MAX_SECRETS));
        return;
    }
    json_t *s = json_stringn(text, strlen(text));
    if (!s) {
        optview_bug(&ctx->ov, "plugin declared a secret that is not %s",
                    "UTF-8");
        return;
    }
    if (ctx->validating)
        send_json(ctx, json_pack("{s:{s:I,s:o}}", "secret", "probe",
                                 (json_int_t)ctx->index, "text", s));
    else
        send_json(ctx, json_pack("{s:o}", "secret", s));
}

void child_take_pipe(int wfd)
{
    if (wfd != 3) {
        if (dup2(wfd, 3) < 0)
            _exit(2);
    } else {
        fcntl(3, F_SETFD, 0); /* dup2() would not clear FD_CLOEXEC */
    }
    close_range(4, ~0U, 0);
}

void child_enter(pid_t parent, int devnull, int wfd, int efd)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    sigset_t none;
    sigemptyset(&none);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    sigprocmask(SIG_SETMASK, &none, NULL);
    dup2(devnull, 0);
    dup2(devnull, 1);
    /* Before fd 3 is set: efd may be 3 itself. */
    if (dup2(efd >= 0 ? efd : devnull, 2) < 0)
        _exit(2);
    child_take_pipe(wfd);
}

static const gp_api api_table = {
    OPTAPI_COMMON,
    .deadline_ms = api_deadline_ms,
    .time_left_ms = api_time_left_ms,
    .in_warmup = api_in_warmup,
    .attempt = api_attempt,
    .probe_name = api_probe_name,
    .metric = api_metric,
    .message = api_message,
    .log = api_log,
    .invalid = api_invalid,
    .secret = api_secret,
    .metric_wanted = api_metric_wanted,
};

/* The attempt's last line: {"result": ...} (child.h). */
static void send_result(gp_ctx *ctx, const char *oname, const gp_metric *metric,
                        size_t n_metrics)
{
    json_t *metrics = json_object();
    for (size_t i = 0; i < n_metrics; i++) {
        if (ctx->metric_set[i])
            json_object_set_new(metrics, metric[i].name,
                                json_real(ctx->metric_values[i]));
    }
    char *msg = str_sanitize(sb_str(&ctx->message));
    json_t *res = json_pack("{s:s,s:s,s:o}", "outcome", oname, "message", msg,
                            "metrics", metrics);
    free(msg);
    if (ctx->ov.bug.len)
        json_object_set_new(res, "bug", json_string(sb_str(&ctx->ov.bug)));
    send_json(ctx, json_pack("{s:o}", "result", res));
}

void child_warm(int fd)
{
    gp_metric metric = {.name = "warm"};
    double value = 1.5;
    char set = 1;
    child_attempt a = {.fd = fd};
    gp_ctx ctx = {.a = &a, .metric_values = &value, .metric_set = &set};
    api_log(&ctx, GP_LOG_INFO, "%s", "warm");
    api_message(&ctx, "%s", "warm");
    sb_append(&ctx.ov.bug, "warm");
    send_result(&ctx, optapi_outcome_name(GP_READY), &metric, 1);
    sb_free(&ctx.message);
    sb_free(&ctx.ov.bug);
}

_Noreturn void child_run(const child_attempt *a)
{
    const plugin *pl = a->def->plugin;
    size_t n_metrics;
    const gp_metric *metric = metrics_of(a->def, &n_metrics);
    gp_ctx ctx = {.ov = {.opts = a->def->opts, .n = a->def->n_opts}, .a = a};
    ctx.metric_values = xcalloc(n_metrics + 1, sizeof *ctx.metric_values);
    ctx.metric_set = xcalloc(n_metrics + 1, sizeof *ctx.metric_set);

    /* The environment the supervisor inherited may hold what the config
     * interpolated into a secret (of this probe or another): not for the
     * plugin's commands, nor for /proc/PID/environ. */
    secrets_scrub_environ(a->env, a->def);
    gp_outcome out = pl->desc->check(&ctx, &api_table);

    const char *oname = optapi_outcome_name(out);
    if (!oname) {
        char num[32];
        snprintf(num, sizeof num, "%d", (int)out);
        optview_bug(&ctx.ov, "plugin returned invalid outcome %s", num);
        oname = "unknown";
    }
    if (ctx.logs_dropped) {
        char line[64];
        snprintf(line, sizeof line, "%u more log lines dropped",
                 ctx.logs_dropped);
        send_json(&ctx, json_pack("{s:{s:i,s:s}}", "log", "level",
                                  (int)GP_LOG_WARNING, "text", line));
    }
    send_result(&ctx, oname, metric, n_metrics);
    _exit(0);
}

_Noreturn void child_validate(const child_validation *v)
{
    gp_validate_fn validate = v->defs[0]->plugin->desc->validate;
    for (size_t i = 0; i < v->n; i++) {
        child_attempt a = {
            .def = v->defs[i], .deadline_ms = v->deadline_ms, .fd = v->fd};
        gp_ctx ctx = {.ov = {.opts = a.def->opts, .n = a.def->n_opts},
                      .a = &a,
                      .validating = 1,
                      .index = i};
        *v->progress = (uint32_t)i;
        validate(&ctx, &api_table);
        if (ctx.ov.bug.len)
            send_json(&ctx,
                      json_pack("{s:{s:I,s:s}}", "bug", "probe", (json_int_t)i,
                                "text", sb_str(&ctx.ov.bug)));
        sb_free(&ctx.ov.bug);
        sb_free(&ctx.message);
    }
    gp_ctx end = {.a = &(child_attempt){.fd = v->fd}};
    send_json(&end, json_pack("{s:I}", "done", (json_int_t)v->n));
    _exit(0);
}
