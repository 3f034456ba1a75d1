/*
 * core/history_html.c - `gpcheck stats --html FILE`: the stats as one
 * self-contained page for people: per env the pass-rate trend by day (with
 * the incident's 95 % line), and per probe its time to ready over the
 * window, each an SVG drawn here; beside each, the figures `stats -o json`
 * has. No script, no external file, no font or style from elsewhere: the
 * page shows the same offline, in a CI artifact viewer or a mail.
 *
 * The file is written as reports are (report_open_stream: created beside
 * PATH and renamed into place, never through a stranger's symlink).
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "history_cli.h"
#include "report.h"
#include "util.h"

/* Plot area inside each SVG, in px. */
#define W 640
#define H 180
#define PAD_L 56
#define PAD_B 24
#define PAD_T 10
/* Points of a series are folded to at most one per pixel column. */
#define COLUMNS (W - PAD_L - 10)

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void day_text(int64_t ms, char *buf, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d", &tm);
}

/* A number as the page prints it, the same text as in its data-value. */
static void cell(strbuf *sb, const char *cls, const json_t *v, double scale,
                 const char *unit)
{
    if (json_is_integer(v) && scale == 1)
        sb_appendf(sb, "<td class=\"%s\" data-value=\"%lld\">%lld%s</td>", cls,
                   (long long)json_integer_value(v),
                   (long long)json_integer_value(v), unit);
    else if (json_is_number(v))
        sb_appendf(sb, "<td class=\"%s\" data-value=\"%.17g\">%.1f%s</td>", cls,
                   json_number_value(v), json_number_value(v) * scale, unit);
    else
        sb_appendf(sb, "<td class=\"%s\" data-value=\"\">-</td>", cls);
}

static void svg_open(strbuf *sb, const char *cls, const char *title)
{
    sb_appendf(sb,
               "<svg class=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" "
               "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">"
               "<title>",
               cls, W, H + PAD_T + PAD_B, W, H + PAD_T + PAD_B);
    sb_append_xml(sb, title);
    sb_appendf(sb,
               "</title><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
               "class=\"frame\"/>",
               PAD_L, PAD_T, W - PAD_L - 10, H);
}

/* x and y axis labels: the window's first and last day, 0 and top. */
static void axes(strbuf *sb, int64_t t0, int64_t t1, const char *top,
                 const char *bottom)
{
    char a[16], b[16];
    day_text(t0, a, sizeof a);
    day_text(t1, b, sizeof b);
    int y = PAD_T + H + 16;
    sb_appendf(sb,
               "<text x=\"%d\" y=\"%d\">%s</text><text x=\"%d\" y=\"%d\" "
               "text-anchor=\"end\">%s</text><text x=\"%d\" y=\"%d\" "
               "text-anchor=\"end\">%s</text><text x=\"%d\" y=\"%d\" "
               "text-anchor=\"end\">%s</text>",
               PAD_L, y, a, W - 10, y, b, PAD_L - 4, PAD_T + 10, top, PAD_L - 4,
               PAD_T + H, bottom);
}

static double px_x(int64_t t, int64_t t0, int64_t t1)
{
    double span = t1 > t0 ? (double)(t1 - t0) : 1.0;
    return PAD_L + (double)(t - t0) / span * (COLUMNS - 1);
}

static double px_y(double v, double top)
{
    return PAD_T + H - (top > 0 ? v / top : 0) * H;
}

static void hline(strbuf *sb, const char *cls, double y, const char *label)
{
    sb_appendf(sb,
               "<line class=\"%s\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" "
               "y2=\"%.1f\"/><text class=\"%s\" x=\"%d\" y=\"%.1f\" "
               "text-anchor=\"end\">%s</text>",
               cls, PAD_L, W - 10, y, y, cls, W - 12, y - 3, label);
}

/* Time to ready over the window: the slowest per pixel column as a line
 * (the worst a run waited matters), p50 and p95 as dashed lines. */
static void ready_plot(strbuf *sb, history *h, const char *env,
                       const json_t *probe, int64_t t0, int64_t t1)
{
    int64_t *t = NULL;
    double *v = NULL;
    size_t n = 0;
    char err[256];
    const char *name = str(probe, "name");
    char *title = xasprintf("%s in %s: time to ready", name, env);
    svg_open(sb, "ready", title);
    free(title);
    if (history_ready_series(h, env, name, t0, &t, &v, &n, err, sizeof err) <
            0 ||
        n == 0) {
        sb_appendf(sb,
                   "<text x=\"%d\" y=\"%d\">never ready in the window</text>",
                   PAD_L + 8, PAD_T + H / 2);
        axes(sb, t0, t1, "", "0");
        sb_append(sb, "</svg>");
        free(t);
        free(v);
        return;
    }
    double top = 0;
    for (size_t i = 0; i < n; i++)
        top = v[i] > top ? v[i] : top;
    top = top > 0 ? top * 1.05 : 1;
    double col[COLUMNS] = {0};
    int have[COLUMNS] = {0};
    for (size_t i = 0; i < n; i++) {
        int c = (int)(px_x(t[i], t0, t1) - PAD_L);
        c = c < 0 ? 0 : c >= COLUMNS ? COLUMNS - 1 : c;
        if (!have[c] || v[i] > col[c])
            col[c] = v[i];
        have[c] = 1;
    }
    sb_appendf(sb, "<polyline class=\"series\" data-points=\"%zu\" points=\"",
               n);
    for (int c = 0; c < COLUMNS; c++)
        if (have[c])
            sb_appendf(sb, "%d,%.1f ", PAD_L + c, px_y(col[c], top));
    sb_append(sb, "\"/>");
    const json_t *r = json_object_get(probe, "ready");
    char label[64];
    snprintf(label, sizeof label, "p50 %.0f ms",
             json_number_value(json_object_get(r, "p50_ms")));
    hline(sb, "p50", px_y(json_number_value(json_object_get(r, "p50_ms")), top),
          label);
    snprintf(label, sizeof label, "p95 %.0f ms",
             json_number_value(json_object_get(r, "p95_ms")));
    hline(sb, "p95", px_y(json_number_value(json_object_get(r, "p95_ms")), top),
          label);
    char topl[32];
    snprintf(topl, sizeof topl, "%.0f ms", top);
    axes(sb, t0, t1, topl, "0");
    sb_append(sb, "</svg>");
    free(t);
    free(v);
}

/* The gate's pass rate per day, 0 to 100 %, with the 95 % target. */
static void pass_plot(strbuf *sb, const json_t *e, int64_t t0, int64_t t1)
{
    char *title = xasprintf("%s: gate pass rate per day", str(e, "env"));
    svg_open(sb, "passrate", title);
    free(title);
    const json_t *daily = json_object_get(e, "daily");
    sb_appendf(sb, "<polyline class=\"series\" data-points=\"%zu\" points=\"",
               json_array_size(daily));
    size_t i;
    const json_t *d;
    json_array_foreach (daily, i, d) {
        struct tm tm = {0};
        const char *day = str(d, "day");
        if (sscanf(day, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) !=
            3)
            continue;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        int64_t ms = (int64_t)timegm(&tm) * 1000 + 43200000; /* noon */
        double x = px_x(ms < t0 ? t0 : ms > t1 ? t1 : ms, t0, t1);
        sb_appendf(
            sb, "%.1f,%.1f ", x,
            px_y(json_number_value(json_object_get(d, "pass_rate")), 1.0));
    }
    sb_append(sb, "\"/>");
    hline(sb, "target", px_y(0.95, 1.0), "95%");
    axes(sb, t0, t1, "100%", "0%");
    sb_append(sb, "</svg>");
}

static const char style[] =
    "body{font:14px/1.4 sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1em}"
    "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
    "th:first-child,td:first-child{text-align:left}"
    "svg{display:block;margin:.3em 0 1em;font:11px sans-serif}"
    "svg .frame{fill:#fafafa;stroke:#bbb}"
    "svg .series{fill:none;stroke:#1f5fbf;stroke-width:1.5}"
    "svg line{stroke-dasharray:4 3;stroke-width:1}"
    "svg .p50{stroke:#2a2;fill:#2a2}svg .p95{stroke:#c80;fill:#c80}"
    "svg .target{stroke:#c22;fill:#c22}svg text{stroke:none}";

static void env_section(strbuf *sb, history *h, const json_t *e, int64_t t0,
                        int64_t t1)
{
    const json_t *s = json_object_get(e, "suite");
    sb_append(sb, "<section class=\"env\" data-env=\"");
    sb_append_xml(sb, str(e, "env"));
    sb_append(sb, "\"><h2>env ");
    sb_append_xml(sb, str(e, "env"));
    sb_append(sb, "</h2><table class=\"summary\"><tr><th>runs</th><th>gate "
                  "pass rate</th><th>bypassed</th><th>suite runs</th><th>suite "
                  "success rate</th><th>infrastructure</th><th>tests</th>"
                  "</tr><tr>");
    cell(sb, "runs", json_object_get(e, "runs"), 1, "");
    cell(sb, "pass_rate", json_object_get(e, "pass_rate"), 100, "%");
    cell(sb, "bypassed", json_object_get(e, "bypassed"), 1, "");
    cell(sb, "suite_runs", json_object_get(s, "runs"), 1, "");
    cell(sb, "success_rate", json_object_get(s, "success_rate"), 100, "%");
    cell(sb, "infrastructure", json_object_get(s, "infrastructure"), 1, "");
    cell(sb, "tests", json_object_get(s, "tests"), 1, "");
    sb_append(sb, "</tr></table>");
    pass_plot(sb, e, t0, t1);
    sb_append(sb, "<table class=\"probes\"><tr><th>probe</th><th>runs</th>"
                  "<th>pass rate</th><th>p50</th><th>p95</th><th>p99</th>"
                  "<th>max</th><th>mean attempts</th><th>flakiness</th></tr>");
    size_t i;
    const json_t *p;
    json_array_foreach (json_object_get(e, "probes"), i, p) {
        const json_t *r = json_object_get(p, "ready");
        sb_append(sb, "<tr class=\"probe\" data-probe=\"");
        sb_append_xml(sb, str(p, "name"));
        sb_append(sb, "\"><td>");
        sb_append_xml(sb, str(p, "name"));
        sb_append(sb, "</td>");
        cell(sb, "runs", json_object_get(p, "runs"), 1, "");
        cell(sb, "pass_rate", json_object_get(p, "pass_rate"), 100, "%");
        cell(sb, "p50_ms", json_object_get(r, "p50_ms"), 1, " ms");
        cell(sb, "p95_ms", json_object_get(r, "p95_ms"), 1, " ms");
        cell(sb, "p99_ms", json_object_get(r, "p99_ms"), 1, " ms");
        cell(sb, "max_ms", json_object_get(r, "max_ms"), 1, " ms");
        cell(sb, "attempts",
             json_object_get(json_object_get(p, "attempts"), "mean"), 1, "");
        cell(sb, "flakiness", json_object_get(p, "flakiness"), 1, "");
        sb_append(sb, "</tr>");
    }
    sb_append(sb, "</table>");
    json_array_foreach (json_object_get(e, "probes"), i, p) {
        sb_append(sb, "<h3>");
        sb_append_xml(sb, str(p, "name"));
        sb_append(sb, ": time to ready</h3>");
        ready_plot(sb, h, str(e, "env"), p, t0, t1);
    }
    sb_append(sb, "</section>");
}

int history_cli_html(history *h, const history_filter *f, const char *path)
{
    char err[512];
    json_t *doc = history_stats(h, f, err, sizeof err);
    if (!doc) {
        fprintf(stderr, "gpcheck: %s\n", err);
        return 1;
    }
    int64_t t1 = wall_ms(), t0 = f->since_ms;
    char a[16], b[16];
    day_text(t0, a, sizeof a);
    day_text(t1, b, sizeof b);
    strbuf sb = {0};
    sb_appendf(&sb,
               "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
               "charset=\"utf-8\"><title>gpcheck stats %s to %s</title>"
               "<style>%s</style></head><body><h1>gpcheck stats</h1><p "
               "class=\"window\">%s to %s (UTC)</p>",
               a, b, style, a, b);
    size_t i;
    const json_t *e;
    json_t *envs = json_object_get(doc, "envs");
    if (json_array_size(envs) == 0)
        sb_append(&sb, "<p>No runs in the window.</p>");
    json_array_foreach (envs, i, e)
        env_section(&sb, h, e, t0, t1);
    sb_append(&sb, "</body></html>\n");
    json_decref(doc);
    int rc = 0;
    int fd = report_open_stream("html", path, err, sizeof err);
    if (fd < 0) {
        fprintf(stderr, "gpcheck: %s\n", err);
        rc = 2;
    } else {
        const char *p = sb.buf;
        size_t left = sb.len;
        while (left > 0) {
            ssize_t w = write(fd, p, left);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            p += w;
            left -= (size_t)w;
        }
        if (close(fd) != 0 || left) {
            fprintf(stderr, "gpcheck: --html %s: cannot write: %s\n", path,
                    strerror(errno ? errno : EIO));
            rc = 1;
        }
    }
    sb_free(&sb);
    return rc;
}
