/*
 * core/report_text.c - the human report on stderr: one line per probe
 * state change, then a summary table and the verdict.
 *
 * Warmup results are damped: a not-ready result in warmup is printed only
 * when its message differs from the previous one, so a 60 s warmup that
 * keeps hearing "connection refused" prints one line, not 240; how many
 * were not printed is said when the warmup ends (at the first counted
 * attempt, or when the probe ends inside its warmup).
 *
 * Heartbeat: without a live region (stderr not a terminal, a CI log), a
 * probe that printed nothing for heartbeat_ms gets a "still waiting" line
 * with its phase, time left, attempt and last error, so a log of a long
 * warmup shows it is alive.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progress.h"
#include "report.h"
#include "util.h"

typedef struct text_sink {
    sink base;
    FILE *out;  /* stderr, or owned */
    char *path; /* owned; NULL on stderr */
    int werr;   /* errno of the first failed write, 0 when none */
    int quiet, verbose;
    int64_t t0;
    size_t width;       /* probe name column */
    char **last_warmup; /* per probe: last printed warmup message */
    unsigned *repeats;  /* per probe: warmup results not printed */
    int64_t *said_ns;   /* per probe: when its last line was printed */
    size_t n;
    const run_result *rr; /* the run, between RUN_START and RUN_END */
    int64_t heartbeat_ns; /* 0: no heartbeat lines */
    progress *live;       /* owned; NULL: one plain line per state change */
    int color;
    size_t cols; /* stderr is a terminal this wide: the summary fits it
                    (the reports keep the full text); 0: no cutting */
} text_sink;

/* Keep the first reason a write failed (ENOSPC, EPIPE), for close. */
static void flush(text_sink *t)
{
    if (fflush(t->out) != 0 && !t->werr)
        t->werr = errno ? errno : EIO;
}

static void line(text_sink *t, const probe_run *pr, int64_t at, const char *fmt,
                 ...) UTIL_PRINTF(4, 5);

static void line(text_sink *t, const probe_run *pr, int64_t at, const char *fmt,
                 ...)
{
    if (t->quiet || t->live)
        return; /* the live region shows state changes itself */
    if (t->said_ns)
        t->said_ns[pr - t->rr->probes] = at;
    strbuf sb = {0};
    sb_appendf(&sb, "[%7.2fs] %-*s ", (double)(at - t->t0) / 1e9, (int)t->width,
               pr->def->name);
    va_list ap;
    va_start(ap, fmt);
    sb_vappendf(&sb, fmt, ap);
    va_end(ap);
    sb_append(&sb, "\n");
    fputs(sb_str(&sb), t->out);
    flush(t);
    sb_free(&sb);
}

static size_t probe_index(const event *ev)
{
    return (size_t)(ev->probe - ev->run->probes);
}

/* A line of text that fits the terminal when there is one. */
static void fit_line(text_sink *t, const char *text)
{
    strbuf sb = {0};
    if (t->cols)
        progress_fit(&sb, text, t->cols - 1, 0);
    else
        sb_append(&sb, text);
    fprintf(t->out, "%s\n", sb_str(&sb));
    sb_free(&sb);
}

static void on_run_start(text_sink *t, const run_result *rr, int64_t at)
{
    t->t0 = rr->start_ns;
    t->n = rr->n;
    t->last_warmup = xcalloc(rr->n + 1, sizeof *t->last_warmup);
    t->repeats = xcalloc(rr->n + 1, sizeof *t->repeats);
    t->said_ns = xcalloc(rr->n + 1, sizeof *t->said_ns);
    t->rr = rr;
    t->width = 8;
    for (size_t i = 0; i < rr->n; i++) {
        size_t w = strlen(rr->probes[i].def->name);
        if (w > t->width)
            t->width = w > 32 ? 32 : w;
    }
    for (size_t i = 0; rr->set && i < rr->set->n_groups; i++) {
        size_t w = strlen(rr->set->groups[i].name) + 6; /* "group " */
        if (w > t->width)
            t->width = w > 32 ? 32 : w;
    }
    (void)at;
    if (t->quiet)
        return;
    char dl[32] = "none";
    if (rr->deadline_ms)
        fmt_duration(dl, sizeof dl, rr->deadline_ms);
    char *head =
        xasprintf("gpcheck: env '%s', %zu probe%s, jobs %u, deadline %s",
                  rr->env, rr->n, rr->n == 1 ? "" : "s", rr->jobs, dl);
    fit_line(t, head);
    free(head);
}

/* "(N more warmup results like the last)", once, when the warmup is over:
 * before the first counted attempt's line, not after the retries. */
static void warmup_repeats(text_sink *t, const probe_run *pr, size_t i,
                           int64_t at)
{
    if (!t->repeats[i])
        return;
    line(t, pr, at, "(%u more warmup result%s like the last)", t->repeats[i],
         t->repeats[i] == 1 ? "" : "s");
    t->repeats[i] = 0;
}

static void on_attempt_end(text_sink *t, const event *ev)
{
    const probe_run *pr = ev->probe;
    const attempt_rec *a = ev->attempt;
    const policy *p = &pr->def->pol;
    size_t i = probe_index(ev);
    if (!a->warmup)
        warmup_repeats(t, pr, i, ev->t_ns);
    if (!ev->next_ns)
        return; /* the probe's end line says it */
    char wait[32];
    fmt_duration(wait, sizeof wait, (ev->next_ns - ev->t_ns) / NS_PER_MS);
    if (a->warmup) {
        if (t->last_warmup[i] && strcmp(t->last_warmup[i], a->message) == 0) {
            t->repeats[i]++;
            return;
        }
        free(t->last_warmup[i]);
        t->last_warmup[i] = xstrdup(a->message);
        char left[32];
        int64_t left_ms = (pr->warmup_end_ns - ev->t_ns) / NS_PER_MS;
        fmt_duration(left, sizeof left, left_ms);
        line(t, pr, ev->t_ns, "warmup, %s left: %s: %s (warmup attempt %u)",
             left, attempt_res_name(a->res), a->message, a->number);
        return;
    }
    line(t, pr, ev->t_ns, "attempt %u/%u: %s: %s; next in %s", a->number,
         p->attempts, attempt_res_name(a->res), a->message, wait);
}

static void on_probe_end(text_sink *t, const event *ev)
{
    const probe_run *pr = ev->probe;
    size_t i = probe_index(ev);
    char took[32];
    fmt_duration(took, sizeof took,
                 pr->start_ns ? (pr->end_ns - pr->start_ns) / NS_PER_MS : 0);
    warmup_repeats(t, pr, i, ev->t_ns);
    line(t, pr, ev->t_ns, "%-7s %s (%zu attempt%s, %s)",
         status_name(pr->status), pr->message, pr->n_history,
         pr->n_history == 1 ? "" : "s", took);
}

/* One "still waiting" line for each started probe that printed nothing
 * for heartbeat_ns: "still waiting: warmup, 48s left, attempt 12:
 * transient: connection refused by 127.0.0.1:5432". The message is the
 * attempt's, masked by the runner as in every report. */
static void heartbeat(text_sink *t, int64_t now)
{
    const run_result *rr = t->rr;
    for (size_t i = 0; t->heartbeat_ns && rr && i < rr->n; i++) {
        const probe_run *pr = &rr->probes[i];
        if (pr->state == PS_DONE || pr->state == PS_WAITING ||
            now - t->said_ns[i] < t->heartbeat_ns)
            continue;
        /* a: the latest attempt (maybe in flight); done: the latest
         * that ended, whose error is the one to show */
        const attempt_rec *a =
            pr->n_history ? &pr->history[pr->n_history - 1] : NULL;
        const attempt_rec *done = a && !a->end_ns && pr->n_history > 1
                                      ? &pr->history[pr->n_history - 2]
                                      : a;
        char left[32];
        strbuf sb = {0};
        if (now < pr->warmup_end_ns) {
            fmt_duration(left, sizeof left,
                         (pr->warmup_end_ns - now) / NS_PER_MS);
            sb_appendf(&sb, "warmup, %s left", left);
            if (a)
                sb_appendf(&sb, ", attempt %u", a->number);
        } else {
            sb_append(&sb, "retry");
            if (rr->deadline_ms) {
                int64_t end = rr->start_ns + rr->deadline_ms * NS_PER_MS;
                fmt_duration(left, sizeof left,
                             end > now ? (end - now) / NS_PER_MS : 0);
                sb_appendf(&sb, ", %s left", left);
            }
            if (a && !a->warmup)
                sb_appendf(&sb, ", attempt %u/%u", a->number,
                           pr->def->pol.attempts);
        }
        if (done && done->end_ns)
            sb_appendf(&sb, ": %s: %s", attempt_res_name(done->res),
                       done->message ? done->message : "");
        line(t, pr, now, "still waiting: %s", sb_str(&sb));
        sb_free(&sb);
    }
}

/* lead + text, on a terminal wrapped at spaces to its width with the
 * lines after the first indented under the text (a word too long for a
 * line is cut by progress_fit); elsewhere one line. */
static void wrap_line(text_sink *t, const char *lead, const char *text)
{
    size_t indent = strlen(lead);
    if (!t->cols || t->cols < indent + 20) {
        fprintf(t->out, "%s%s\n", lead, text);
        return;
    }
    size_t room = t->cols - 1 - indent;
    strbuf sb = {0};
    const char *p = text;
    for (int first = 1; *p; first = 0) {
        while (!first && *p == ' ')
            p++;
        if (!*p)
            break;
        size_t n = strlen(p);
        if (n > room) {
            /* the last space that leaves the line within room */
            n = 0;
            for (size_t k = 1; k <= room && p[k]; k++)
                if (p[k] == ' ')
                    n = k;
            if (n == 0)
                n = strcspn(p, " ");
        }
        sb_appendf(&sb, "%*s", (int)indent, first ? lead : "");
        char *part = xstrndup(p, n);
        progress_fit(&sb, part, room, 0);
        free(part);
        sb_append(&sb, "\n");
        p += n;
    }
    fputs(sb_str(&sb), t->out);
    sb_free(&sb);
}

/* One row of the summary table: on a terminal, each column fits and the
 * message is cut to what is left of the width (progress_fit keeps its
 * end), so nothing wraps mid-word; elsewhere the full text. */
static void row(text_sink *t, const char *name, const char *plug,
                const char *sev, probe_status st, const char *attempts,
                const char *took, const char *msg)
{
    strbuf sb = {0};
    if (t->cols)
        progress_fit(&sb, name, t->width, 1);
    else
        sb_appendf(&sb, "%-*s", (int)t->width, name);
    sb_appendf(&sb, " %-10s %-8s ", plug, sev);
    size_t at = sb.len; /* the status, coloured below */
    sb_appendf(&sb, "%-7s %8s %8s  ", status_name(st), attempts, took);
    size_t used = sb.len; /* columns, or more for UTF-8 names */
    /* A message that does not fit in the little room left (an 80-column
     * terminal): on a line of its own below the row, indented, cut to
     * the width only when longer than that. */
    size_t room = t->cols > used + 1 ? t->cols - 1 - used : 0;
    int below = t->cols && msg && *msg && strlen(msg) > room && room < 32;
    if (below) {
        while (sb.len > at && sb.buf[sb.len - 1] == ' ')
            sb.buf[--sb.len] = '\0';
        sb_append(&sb, "\n    ");
        progress_fit(&sb, msg, t->cols - 5, 0);
    } else if (t->cols) {
        progress_fit(&sb, msg ? msg : "", room, 0);
    } else {
        sb_append(&sb, msg ? msg : "");
    }
    const char *word = status_name(st);
    fprintf(t->out, "%.*s%s%s%s%s\n", (int)at, sb.buf,
            progress_color(st, t->color), word, t->color ? "\x1b[0m" : "",
            sb.buf + at + strlen(word));
    sb_free(&sb);
}

/* Groups are units of the verdict: one row each, with their arithmetic. */
static void group_rows(text_sink *t, const run_result *rr)
{
    for (size_t i = 0; i < rr->dec.n_units; i++) {
        const unit_result *u = &rr->dec.units[i];
        if (!u->is_group || (t->quiet && u->status == ST_OK))
            continue;
        const group_def *g = &rr->set->groups[u->index];
        strbuf members = {0};
        for (size_t k = 0; k < g->n_members; k++) {
            const probe_run *m = &rr->probes[g->members[k]];
            sb_appendf(&members, "%s%s %s", k ? ", " : "", m->def->name,
                       status_name(m->status));
        }
        char *name = xasprintf("group %s", u->name);
        char count[32];
        snprintf(count, sizeof count, "%zu/%zu", u->ok, g->n_members);
        char *what = xasprintf("need %zu ok: %s", u->need, sb_str(&members));
        row(t, name, "-", u->sev == SEV_REQUIRED ? "required" : "optional",
            u->status, count, "", what);
        free(what);
        free(name);
        sb_free(&members);
    }
}

static void summary(text_sink *t, const run_result *rr)
{
    size_t counts[ST_SKIPPED + 1] = {0};
    for (size_t i = 0; i < rr->n; i++)
        counts[rr->probes[i].status]++;
    if (!t->quiet && rr->n) {
        fprintf(t->out, "\n%-*s %-10s %-8s %-7s %8s %8s  %s\n", (int)t->width,
                "PROBE", "PLUGIN", "SEVERITY", "STATUS", "ATTEMPTS", "TIME",
                "MESSAGE");
    }
    for (size_t i = 0; i < rr->n; i++) {
        const probe_run *pr = &rr->probes[i];
        if (t->quiet && pr->status == ST_OK)
            continue;
        char took[32];
        fmt_duration(took, sizeof took,
                     pr->start_ns ? (pr->end_ns - pr->start_ns) / NS_PER_MS
                                  : 0);
        /* A group member's severity does not count on its own. */
        const char *sev = pr->def->group != PROBE_NO_GROUP        ? "(group)"
                          : pr->def->pol.severity == SEV_REQUIRED ? "required"
                                                                  : "optional";
        char n[32];
        snprintf(n, sizeof n, "%zu", pr->n_history);
        row(t, pr->def->name, pr->def->plugin->name, sev, pr->status, n, took,
            pr->message);
    }
    group_rows(t, rr);
    char took[32];
    fmt_duration(took, sizeof took, (rr->end_ns - rr->start_ns) / NS_PER_MS);
    strbuf sb = {0};
    for (int s = 0; s <= ST_SKIPPED; s++) {
        if (counts[s])
            sb_appendf(&sb, "%s%zu %s", sb.len ? ", " : "", counts[s],
                       status_name((probe_status)s));
    }
    /* The verdict word in the verdict's colour; the line is short (the
     * counts), so it is not cut. */
    fprintf(t->out, "%sverdict: %s%s%s (%s) in %s", t->quiet ? "" : "\n",
            progress_verdict_color(rr->verdict, t->color),
            verdict_name(rr->verdict), t->color ? "\x1b[0m" : "",
            sb.len ? sb_str(&sb) : "no probes", took);
    if (rr->signo)
        fprintf(t->out, " - interrupted");
    else if (rr->deadline_hit)
        fprintf(t->out, " - run deadline passed");
    fputc('\n', t->out);
    if (rr->verdict != V_PASS && rr->dec.rule)
        wrap_line(t, "rule: ", rr->dec.rule);
    flush(t);
    sb_free(&sb);
}

static void text_event(sink *s, const event *ev)
{
    text_sink *t = (text_sink *)s;
    switch (ev->kind) {
    case EV_RUN_START: on_run_start(t, ev->run, ev->t_ns); break;
    case EV_PROBE_WAIT:
        line(t, ev->probe, ev->t_ns, "waiting for its 'after' probes");
        break;
    case EV_PROBE_START:
        if (t->said_ns)
            t->said_ns[probe_index(ev)] = ev->t_ns;
        if (ev->probe->def->pol.warmup_ms > 0) {
            char w[32];
            fmt_duration(w, sizeof w, ev->probe->def->pol.warmup_ms);
            line(t, ev->probe, ev->t_ns, "started, warmup %s", w);
        }
        break;
    case EV_ATTEMPT_START: break;
    case EV_TICK: heartbeat(t, ev->t_ns); break;
    case EV_ATTEMPT_END: on_attempt_end(t, ev); break;
    case EV_LOG:
        if (t->verbose && t->live) {
            char *text =
                xasprintf("%s: log: %s", ev->probe->def->name, ev->text);
            progress_print_above(t->live, text);
            free(text);
        } else if (t->verbose) {
            line(t, ev->probe, ev->t_ns, "log: %s", ev->text);
        }
        break;
    case EV_PROBE_END: on_probe_end(t, ev); break;
    case EV_RUN_END:
        if (t->live)
            progress_finish(t->live);
        summary(t, ev->run);
        t->rr = NULL;
        return;
    }
    /* After the header line, so the region starts below it. */
    if (t->live)
        progress_event(t->live, ev);
}

char *report_text_render(const run_result *rr)
{
    char *buf = NULL;
    size_t len = 0;
    text_sink t = {.out = open_memstream(&buf, &len)};
    if (!t.out)
        return NULL;
    on_run_start(&t, rr, rr->start_ns);
    summary(&t, rr);
    int bad = ferror(t.out) || t.werr;
    fclose(t.out);
    for (size_t i = 0; i < t.n; i++)
        free(t.last_warmup[i]);
    free(t.last_warmup);
    free(t.repeats);
    free(t.said_ns);
    if (bad) {
        free(buf);
        return NULL;
    }
    return buf;
}

static sink *text_open(const char *path, const report_opts *o, char *err,
                       size_t errlen)
{
    text_sink *t = xcalloc(1, sizeof *t);
    t->base.ops = &sink_text_ops;
    t->quiet = o->quiet;
    t->verbose = o->verbose;
    t->out = stderr;
    t->heartbeat_ns = o->heartbeat_ms * NS_PER_MS;
    if (!path) {
        t->color = o->color;
        if (isatty(STDERR_FILENO))
            t->cols = progress_columns(stderr);
        if (o->progress && !o->quiet)
            t->live = progress_new(stderr, o->color);
    }
    if (path) {
        int fd = report_open_stream("text", path, err, errlen);
        if (fd < 0 || !(t->out = fdopen(fd, "w"))) {
            free(t);
            return NULL;
        }
        t->path = xstrdup(path);
    }
    return &t->base;
}

static int text_close(sink *s, char *err, size_t errlen)
{
    text_sink *t = (text_sink *)s;
    int rc = 0;
    /* On stderr, the text is the run's diagnostics, not a report asked
     * for: a closed stderr (EPIPE) must not fail the gate. To a PATH, a
     * write that failed (ENOSPC) fails the report, like any other. */
    if (t->out != stderr) {
        if (ferror(t->out) && !t->werr)
            t->werr = EIO;
        if (fclose(t->out) != 0 && !t->werr)
            t->werr = errno;
        if (t->werr) {
            snprintf(err, errlen, "-o text:%s: write failed: %s", t->path,
                     strerror(t->werr));
            rc = -1;
        }
    }
    free(t->path);
    for (size_t i = 0; i < t->n; i++)
        free(t->last_warmup[i]);
    free(t->last_warmup);
    free(t->repeats);
    free(t->said_ns);
    if (t->live)
        progress_free(t->live);
    free(t);
    return rc;
}

/* -o text:PATH when the configuration stopped the run: what stderr says. */
static char *render_diag(const diag *d, const char *env)
{
    (void)env;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem)
        return NULL;
    diag_print(d, mem);
    if (d->n)
        fprintf(mem, "gpcheck: %zu configuration error%s; nothing was probed\n",
                d->n, d->n == 1 ? "" : "s");
    else
        fputs("gpcheck: configuration valid\n", mem);
    if (fclose(mem) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

const sink_ops sink_text_ops = {
    .format = "text",
    .render_diag = render_diag,
    .open = text_open,
    .event = text_event,
    .close = text_close,
};
