/*
 * core/report_text.c - the human report on stderr: one line per probe
 * state change, then a summary table and the verdict.
 *
 * Warmup results are damped: a not-ready result in warmup is printed only
 * when its message differs from the previous one, so a 60 s warmup that
 * keeps hearing "connection refused" prints one line, not 240.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    size_t n;
    progress *live; /* owned; NULL: one plain line per state change */
    int color;
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

static void on_run_start(text_sink *t, const run_result *rr, int64_t at)
{
    t->t0 = rr->start_ns;
    t->n = rr->n;
    t->last_warmup = xcalloc(rr->n + 1, sizeof *t->last_warmup);
    t->repeats = xcalloc(rr->n + 1, sizeof *t->repeats);
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
    fprintf(t->out, "gpcheck: env '%s', %zu probe%s, jobs %u, deadline %s\n",
            rr->env, rr->n, rr->n == 1 ? "" : "s", rr->jobs, dl);
}

static void on_attempt_end(text_sink *t, const event *ev)
{
    const probe_run *pr = ev->probe;
    const attempt_rec *a = ev->attempt;
    const policy *p = &pr->def->pol;
    size_t i = probe_index(ev);
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
    if (t->repeats[i])
        line(t, pr, ev->t_ns, "(%u more warmup results like the last)",
             t->repeats[i]);
    line(t, pr, ev->t_ns, "%-7s %s (%zu attempt%s, %s)",
         status_name(pr->status), pr->message, pr->n_history,
         pr->n_history == 1 ? "" : "s", took);
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
        fprintf(t->out, "%-*s %-10s %-8s %-7s %8s %8s  need %zu ok: %s\n",
                (int)t->width, name, "-",
                u->sev == SEV_REQUIRED ? "required" : "optional",
                status_name(u->status), count, "", u->need, sb_str(&members));
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
        fprintf(t->out, "%-*s %-10s %-8s %s%-7s%s %8zu %8s  %s\n",
                (int)t->width, pr->def->name, pr->def->plugin->name, sev,
                progress_color(pr->status, t->color), status_name(pr->status),
                t->color ? "\x1b[0m" : "", pr->n_history, took, pr->message);
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
    fprintf(t->out, "%sverdict: %s (%s) in %s", t->quiet ? "" : "\n",
            verdict_name(rr->verdict), sb.len ? sb_str(&sb) : "no probes",
            took);
    if (rr->signo)
        fprintf(t->out, " - interrupted");
    else if (rr->deadline_hit)
        fprintf(t->out, " - run deadline passed");
    fputc('\n', t->out);
    if (rr->verdict != V_PASS && rr->dec.rule)
        fprintf(t->out, "rule: %s\n", rr->dec.rule);
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
        if (ev->probe->def->pol.warmup_ms > 0) {
            char w[32];
            fmt_duration(w, sizeof w, ev->probe->def->pol.warmup_ms);
            line(t, ev->probe, ev->t_ns, "started, warmup %s", w);
        }
        break;
    case EV_ATTEMPT_START:
    case EV_TICK: break;
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
    free(t.last_warmup);
    free(t.repeats);
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
    if (!path && o->progress && !o->quiet) {
        t->live = progress_new(stderr, o->color);
        t->color = o->color;
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
    if (t->live)
        progress_free(t->live);
    free(t);
    return rc;
}

const sink_ops sink_text_ops = {
    .format = "text",
    .open = text_open,
    .event = text_event,
    .close = text_close,
};
