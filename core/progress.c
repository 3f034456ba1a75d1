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

const char *progress_verdict_color(verdict v, int color)
{
    if (!color)
        return "";
    switch (v) {
    case V_PASS: return "\x1b[1;32m";     /* bold green */
    case V_DEGRADED: return "\x1b[1;33m"; /* bold yellow */
    case V_FAIL: return "\x1b[1;31m";     /* bold red */
    case V_BYPASSED: return "\x1b[1;35m"; /* bold magenta: not a pass */
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

static void terminal_size(FILE *out, size_t *cols, size_t *rows)
{
    struct winsize ws;
    *cols = 80;
    *rows = 24;
    if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        *cols = ws.ws_col;
        *rows = ws.ws_row > 2 ? ws.ws_row : 24;
    }
}

size_t progress_columns(FILE *out)
{
    size_t cols, rows;
    terminal_size(out, &cols, &rows);
    return cols;
}

/* Columns of s (UTF-8: continuation bytes take none). */
static size_t columns_of(const char *s, size_t bytes)
{
    size_t n = 0;
    for (size_t i = 0; i < bytes && s[i]; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* The byte offset where column `col` of s starts (or its end). */
static size_t offset_of(const char *s, size_t col)
{
    size_t i = 0, n = 0;
    while (s[i]) {
        if (((unsigned char)s[i] & 0xC0) != 0x80 && n++ == col)
            return i;
        i++;
    }
    return i;
}

void progress_fit(strbuf *sb, const char *s, size_t cols, int pad)
{
    size_t len = strlen(s), width = columns_of(s, len);
    if (width <= cols) {
        sb_append(sb, s);
        for (size_t k = width; pad && k < cols; k++)
            sb_append(sb, " ");
        return;
    }
    if (cols <= 3) {
        sb_appendn(sb, "...", cols);
        return;
    }
    /* The tail names what failed: the longest run of whole words at the
     * end that fits, when that is at least half the room; else two thirds
     * of the room, cut mid-word. The head, what kind of text it is, gets
     * the rest when that is worth showing (4 columns or more), cut at a
     * word boundary when one is near (else only when 10 columns or
     * more). */
    size_t room = cols - 3, t = len;
    for (size_t k = len; k > 0; k--) {
        if (s[k - 1] != ' ')
            continue;
        if (columns_of(s + k, len - k) > room)
            break;
        t = k;
    }
    int whole = t < len && columns_of(s + t, len - t) >= room / 2;
    if (!whole)
        t = offset_of(s, width - room * 2 / 3);
    size_t head = room - columns_of(s + t, len - t);
    size_t h = head >= 4 ? offset_of(s, head) : 0;
    int snapped = h == 0 || s[h] == ' ';
    for (size_t k = h;
         !snapped && k > 0 && columns_of(s + k, h - k) <= head / 3; k--)
        if (s[k - 1] == ' ') {
            h = k - 1;
            snapped = 1;
        }
    if (!snapped && head < 10 && whole)
        h = 0; /* "conne...refused by" says less than "...refused by" */
    while (h > 0 && s[h - 1] == ' ')
        h--;
    sb_appendn(sb, s, h);
    sb_append(sb, "...");
    sb_append(sb, s + t);
    size_t used = columns_of(s, h) + 3 + columns_of(s + t, len - t);
    for (size_t k = used; pad && k < cols; k++)
        sb_append(sb, " ");
}

/* The latest attempt that ended, or NULL. */
static const attempt_rec *last_done(const probe_run *pr)
{
    for (size_t i = pr->n_history; i > 0; i--)
        if (pr->history[i - 1].end_ns)
            return &pr->history[i - 1];
    return NULL;
}

/* Warmup attempts start at most every warmup_interval from the start:
 * this many fit in the window; 0 when unknown (an interval of 0, the
 * adaptive cadence, or none set). */
static unsigned warmup_tries(const policy *pol)
{
    if (pol->warmup_interval_ms <= 0)
        return 0;
    int64_t n = (pol->warmup_ms + pol->warmup_interval_ms - 1) /
                pol->warmup_interval_ms;
    return n > 0 && n < 1000000 ? (unsigned)n : 0;
}

/* What the probe is doing now, for people: "warmup, 48s left, try
 * 12/120", "attempt 2/5, next in 211ms", "attempt 3/5", "waiting on db". */
static char *phase_text(const progress *p, const probe_run *pr, int64_t now)
{
    const policy *pol = &pr->def->pol;
    const attempt_rec *r =
        pr->n_history ? &pr->history[pr->n_history - 1] : NULL;
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
    case PS_RUNNING:
        if (now < pr->warmup_end_ns || (r && r->warmup && !r->end_ns)) {
            fmt_duration(b, sizeof b,
                         now < pr->warmup_end_ns
                             ? (pr->warmup_end_ns - now) / NS_PER_MS
                             : 0);
            unsigned k = r ? r->number : 0, n = warmup_tries(pol);
            if (!n)
                return xasprintf("warmup, %s left, try %u", b, k);
            return xasprintf("warmup, %s left, try %u/%u", b, k, k > n ? k : n);
        }
        if (!r || r->warmup)
            return xasprintf("attempt 1/%u, starting", pol->attempts);
        if (pr->state == PS_RUNNING)
            return xasprintf("attempt %u/%u", r->number, pol->attempts);
        fmt_duration(a, sizeof a,
                     pr->next_ns > now ? (pr->next_ns - now) / NS_PER_MS : 0);
        return xasprintf("attempt %u/%u, next in %s", r->number, pol->attempts,
                         a);
    case PS_DONE: break;
    }
    return xstrdup(status_name(pr->status));
}

/* Columns: mark, name, time, phase, message. */
#define PHASE_COLS 28
#define TIME_COLS 7

static void render_line(progress *p, strbuf *sb, const probe_run *pr,
                        int64_t now, size_t width, size_t cols)
{
    static const char spinner[] = "|/-\\";
    int64_t end = pr->state == PS_DONE ? pr->end_ns : now;
    char took[32];
    fmt_duration(took, sizeof took,
                 pr->start_ns ? (end - pr->start_ns) / NS_PER_MS : 0);
    char mark = pr->state == PS_DONE ? ' ' : spinner[p->spin % 4];
    char *phase = phase_text(p, pr, now);
    const attempt_rec *done = last_done(pr);
    const char *last = pr->state == PS_DONE ? pr->message
                       : done               ? done->message
                                            : "";
    size_t prefix = 2 + width + 1 + TIME_COLS + 2 + PHASE_COLS + 1;
    sb_append(sb, "\r\x1b[2K");
    if (cols < prefix + 8) {
        /* Too narrow for columns: the line as one text, cut. */
        char *all = xasprintf("%c %s %s %s %s", mark, pr->def->name, took,
                              phase, last ? last : "");
        progress_fit(sb, all, cols - 1, 0);
        free(all);
    } else {
        sb_appendf(sb, "%c ", mark);
        progress_fit(sb, pr->def->name, width, 1);
        sb_appendf(sb, " %*s  ", TIME_COLS, took);
        /* colour the status word of a finished probe */
        int hue = pr->state == PS_DONE && p->color;
        if (hue)
            sb_append(sb, progress_color(pr->status, 1));
        strbuf ph = {0};
        progress_fit(&ph, phase, PHASE_COLS, 1);
        if (hue) {
            /* the colour ends with the word, before the padding */
            size_t w = strlen(phase) < ph.len ? strlen(phase) : ph.len;
            sb_appendn(sb, ph.buf, w);
            sb_append(sb, RESET);
            sb_append(sb, ph.buf + w);
        } else {
            sb_append(sb, sb_str(&ph));
        }
        sb_free(&ph);
        sb_append(sb, " ");
        progress_fit(sb, last ? last : "", cols - 1 - prefix, 0);
    }
    free(phase);
    sb_append(sb, "\n");
}

/* The run's line and the header row, above the probes. */
static void render_header(progress *p, strbuf *sb, int64_t now, size_t width,
                          size_t cols)
{
    const run_result *rr = p->rr;
    char el[32], dl[32];
    fmt_duration(el, sizeof el, (now - rr->start_ns) / NS_PER_MS);
    size_t done = 0;
    for (size_t i = 0; i < rr->n; i++)
        done += rr->probes[i].state == PS_DONE;
    strbuf run = {0};
    sb_appendf(&run, "elapsed %s, ", el);
    if (rr->deadline_ms) {
        int64_t end = rr->start_ns + rr->deadline_ms * NS_PER_MS;
        fmt_duration(dl, sizeof dl, end > now ? (end - now) / NS_PER_MS : 0);
        sb_appendf(&run, "deadline %s left, ", dl);
    } else {
        sb_append(&run, "no deadline, ");
    }
    sb_appendf(&run, "%zu of %zu done", done, rr->n);
    sb_append(sb, "\r\x1b[2K");
    progress_fit(sb, sb_str(&run), cols - 1, 0);
    sb_append(sb, "\n\r\x1b[2K");
    strbuf head = {0};
    sb_append(&head, "  ");
    progress_fit(&head, "PROBE", width, 1);
    sb_appendf(&head, " %*s  ", TIME_COLS, "TIME");
    progress_fit(&head, "STATE", PHASE_COLS, 1);
    sb_append(&head, " LAST RESULT");
    progress_fit(sb, sb_str(&head), cols - 1, 0);
    sb_append(sb, "\n");
    sb_free(&run);
    sb_free(&head);
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
    terminal_size(p->out, &cols, &rows);
    /* Names up to 24 columns, 16 below 100: on 80 columns the message
     * keeps 20 or so, enough for "...by 127.0.0.1:18080". */
    size_t width = 8, cap = cols < 100 ? 16 : 24;
    for (size_t i = 0; i < rr->n; i++) {
        size_t w = strlen(rr->probes[i].def->name);
        if (w > width)
            width = w > cap ? cap : w;
    }
    /* Two lines of header, two spare, one for "... and N more". */
    size_t avail = rows > 7 ? rows - 4 : 3;
    size_t max = avail < rr->n ? avail - 1 : rr->n;
    size_t *idx = xcalloc(rr->n + 1, sizeof *idx);
    size_t n = pick(rr, max, idx);

    strbuf sb = {0};
    if (p->drawn)
        sb_appendf(&sb, "\x1b[%zuA", p->drawn);
    render_header(p, &sb, now, width, cols);
    for (size_t k = 0; k < n; k++)
        render_line(p, &sb, &rr->probes[idx[k]], now, width, cols);
    size_t lines = n + 2;
    if (n < rr->n) {
        size_t done = 0, bad = 0;
        for (size_t i = 0; i < rr->n; i++) {
            done += rr->probes[i].state == PS_DONE;
            bad += rr->probes[i].state == PS_DONE &&
                   rr->probes[i].status != ST_OK &&
                   rr->probes[i].status != ST_WARN;
        }
        char *more = xasprintf("  ... and %zu more (%zu done, %zu not ok)",
                               rr->n - n, done, bad);
        sb_append(&sb, "\r\x1b[2K");
        progress_fit(&sb, more, cols - 1, 0);
        sb_append(&sb, "\n");
        free(more);
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
