/* core/progress.c - the live region on a terminal; see progress.h. */
#include "progress.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util.h"

/* At most ten frames a second. */
#define FRAME_NS (100 * NS_PER_MS)

#define RESET "\x1b[0m"

struct progress {
    FILE *out;
    int color;
    const run_result *rr; /* set by EV_RUN_START */
    size_t drawn;         /* lines of the region on screen */
    int64_t last_frame;
    unsigned spin;
};

const char *progress_color(probe_status st, int color)
{
    if (!color)
        return "";
    switch (st) {
    case ST_OK: return "\x1b[32m";   /* green */
    case ST_WARN: return "\x1b[33m"; /* yellow */
    case ST_FAIL:
    case ST_TIMEOUT:
    case ST_ERROR: return "\x1b[31m";   /* red */
    case ST_SKIPPED: return "\x1b[90m"; /* grey */
    }
    return "";
}

progress *progress_new(FILE *out, int color)
{
    progress *p = xcalloc(1, sizeof *p);
    p->out = out;
    p->color = color;
    return p;
}

static void terminal_size(progress *p, size_t *cols, size_t *rows)
{
    struct winsize ws;
    *cols = 80;
    *rows = 24;
    if (ioctl(fileno(p->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        *cols = ws.ws_col;
        *rows = ws.ws_row > 2 ? ws.ws_row : 24;
    }
}

/* Append at most `cols` columns of s (UTF-8: continuation bytes take no
 * column), with an ellipsis when cut. */
static void append_cut(strbuf *sb, const char *s, size_t cols)
{
    size_t used = 0;
    const char *p = s;
    while (*p && used < cols) {
        if (((unsigned char)*p & 0xC0) != 0x80)
            used++;
        p++;
    }
    while (*p && ((unsigned char)*p & 0xC0) == 0x80)
        p++;
    if (*p && cols > 3) {
        /* step back three columns for "..." */
        size_t back = 0;
        while (p > s && back < 3) {
            p--;
            if (((unsigned char)*p & 0xC0) != 0x80)
                back++;
        }
        sb_appendn(sb, s, (size_t)(p - s));
        sb_append(sb, "...");
        return;
    }
    sb_appendn(sb, s, (size_t)(p - s));
}

/* What the probe is doing now, for people. */
static char *phase_text(const progress *p, const probe_run *pr, int64_t now)
{
    const policy *pol = &pr->def->pol;
    char a[32], b[32];
    switch (pr->state) {
    case PS_WAITING: {
        strbuf sb = {0};
        sb_append(&sb, "waiting on");
        for (size_t k = 0; k < pr->def->n_after; k++) {
            const probe_run *d = &p->rr->probes[pr->def->after[k]];
            if (d->state != PS_DONE)
                sb_appendf(&sb, " %s", d->def->name);
        }
        return sb_take(&sb);
    }
    case PS_SCHEDULED:
        fmt_duration(a, sizeof a, (pr->next_ns - now) / NS_PER_MS);
        if (now < pr->warmup_end_ns) {
            fmt_duration(b, sizeof b, (pr->warmup_end_ns - now) / NS_PER_MS);
            return xasprintf("warmup, %s left", b);
        }
        return pr->n_history ? xasprintf("backing off for %s", a)
                             : xstrdup("starting");
    case PS_RUNNING: {
        const attempt_rec *r = &pr->history[pr->n_history - 1];
        if (r->warmup) {
            fmt_duration(b, sizeof b, (pr->warmup_end_ns - now) / NS_PER_MS);
            return xasprintf("warmup, %s left (try %u)", b, r->number);
        }
        return xasprintf("attempt %u of %u", r->number, pol->attempts);
    }
    case PS_DONE: break;
    }
    return xstrdup(status_name(pr->status));
}

static void render_line(progress *p, strbuf *sb, const probe_run *pr,
                        int64_t now, size_t width, size_t cols)
{
    static const char spinner[] = "|/-\\";
    strbuf line = {0};
    int64_t end = pr->state == PS_DONE ? pr->end_ns : now;
    char took[32];
    fmt_duration(took, sizeof took,
                 pr->start_ns ? (end - pr->start_ns) / NS_PER_MS : 0);
    char mark = pr->state == PS_DONE ? ' ' : spinner[p->spin % 4];
    char *phase = phase_text(p, pr, now);
    const char *last = pr->state == PS_DONE ? pr->message
                       : pr->n_history ? pr->history[pr->n_history - 1].message
                                       : "";
    sb_appendf(&line, "%c %-*s %7s  %-28s %s", mark, (int)width, pr->def->name,
               took, phase, last ? last : "");
    free(phase);
    sb_append(sb, "\r\x1b[2K");
    if (pr->state == PS_DONE && p->color) {
        /* colour the status word only: it sits after name and time */
        size_t at = 2 + width + 1 + 7 + 2;
        strbuf cut = {0};
        append_cut(&cut, sb_str(&line), cols - 1);
        if (cut.len > at) {
            sb_appendn(sb, cut.buf, at);
            const char *word = status_name(pr->status);
            sb_appendf(sb, "%s%s%s", progress_color(pr->status, 1), word,
                       RESET);
            sb_append(sb, cut.buf + at + strlen(word));
        } else {
            sb_append(sb, sb_str(&cut));
        }
        sb_free(&cut);
    } else {
        append_cut(sb, sb_str(&line), cols - 1);
    }
    sb_append(sb, "\n");
    sb_free(&line);
}

/* Which probes to show when they do not all fit: unfinished first. */
static size_t pick(const run_result *rr, size_t max, size_t *idx)
{
    size_t n = 0;
    if (rr->n <= max) {
        /* All fit: keep definition order, so lines do not jump. */
        for (size_t i = 0; i < rr->n; i++)
            idx[n++] = i;
        return n;
    }
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < rr->n && n < max; i++)
            if ((rr->probes[i].state != PS_DONE) == (pass == 0))
                idx[n++] = i;
    return n;
}

static void draw(progress *p, int64_t now)
{
    const run_result *rr = p->rr;
    if (!rr)
        return;
    size_t cols, rows;
    terminal_size(p, &cols, &rows);
    size_t width = 8;
    for (size_t i = 0; i < rr->n; i++) {
        size_t w = strlen(rr->probes[i].def->name);
        if (w > width)
            width = w > 24 ? 24 : w;
    }
    size_t max = rows - 2 < rr->n ? rows - 3 : rr->n;
    size_t *idx = xcalloc(rr->n + 1, sizeof *idx);
    size_t n = pick(rr, max, idx);

    strbuf sb = {0};
    if (p->drawn)
        sb_appendf(&sb, "\x1b[%zuA", p->drawn);
    for (size_t k = 0; k < n; k++)
        render_line(p, &sb, &rr->probes[idx[k]], now, width, cols);
    size_t lines = n;
    if (n < rr->n) {
        size_t done = 0, bad = 0;
        for (size_t i = 0; i < rr->n; i++) {
            done += rr->probes[i].state == PS_DONE;
            bad += rr->probes[i].state == PS_DONE &&
                   rr->probes[i].status != ST_OK &&
                   rr->probes[i].status != ST_WARN;
        }
        sb_appendf(&sb, "\r\x1b[2K  ... and %zu more (%zu done, %zu not ok)\n",
                   rr->n - n, done, bad);
        lines++;
    }
    /* Clear what is left of a taller previous frame. */
    for (size_t k = lines; k < p->drawn; k++)
        sb_append(&sb, "\r\x1b[2K\n");
    if (p->drawn > lines)
        sb_appendf(&sb, "\x1b[%zuA", p->drawn - lines);
    fputs(sb_str(&sb), p->out);
    fflush(p->out);
    sb_free(&sb);
    free(idx);
    p->drawn = lines;
    p->last_frame = now;
    p->spin++;
}

void progress_event(progress *p, const event *ev)
{
    if (ev->kind == EV_RUN_START) {
        /* The first frame waits for the first tick: by then the probes
         * without `after` have started. */
        p->rr = ev->run;
        p->last_frame = ev->t_ns;
        return;
    }
    /* Ticks come every 100 ms while probes run; state changes between
     * them wait for the next frame, so a burst never floods the tty. */
    int due = ev->t_ns - p->last_frame >= FRAME_NS;
    if (due && ev->kind != EV_LOG && ev->kind != EV_RUN_END)
        draw(p, ev->t_ns);
}

void progress_print_above(progress *p, const char *line)
{
    if (p->drawn)
        fprintf(p->out, "\x1b[%zuA\r\x1b[J", p->drawn);
    fprintf(p->out, "%s\n", line);
    p->drawn = 0;
    draw(p, now_ns());
}

void progress_finish(progress *p)
{
    draw(p, now_ns());
}

void progress_free(progress *p)
{
    free(p);
}
