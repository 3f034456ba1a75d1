/*
 * core/report_github.c - `-o github[:PATH]`: GitHub Actions workflow
 * commands (stdout by default, where the runner reads them), so the PR
 * shows why the gate failed without opening the log:
 *
 *   ::error file=F,line=N::MESSAGE             a configuration error
 *   ::warning file=F,line=N::MESSAGE           a configuration warning
 *   ::error title=probe NAME::STATUS: MESSAGE  a probe that fails the gate
 *   ::warning title=probe NAME::STATUS: MESSAGE  degraded (warn), or not ok
 *                                            but not failing the gate
 *   ::notice title=gpcheck::verdict ...        the run's verdict
 *
 * escaped as GitHub's toolkit does (@actions/core, command.ts): in the
 * message % \r \n become %25 %0D %0A; in a property also : and , become
 * %3A and %2C. When $GITHUB_STEP_SUMMARY is set, a Markdown table of the
 * run (or of the diagnostics) is appended to it (report.c: append only,
 * under the rules of every report file). Messages are the reports'
 * (secrets masked by the runner).
 */
#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "report.h"
#include "util.h"

static void escape(strbuf *sb, const char *s, int property)
{
    for (; *s; s++) {
        switch (*s) {
        case '%': sb_append(sb, "%25"); break;
        case '\r': sb_append(sb, "%0D"); break;
        case '\n': sb_append(sb, "%0A"); break;
        case ':':
        case ',':
            if (property) {
                sb_append(sb, *s == ':' ? "%3A" : "%2C");
                break;
            }
            /* fall through */
        default:
            /* another control character would drive the log viewer */
            if ((unsigned char)*s < 0x20 || *s == 0x7f)
                sb_appendf(sb, "\\x%02x", (unsigned char)*s);
            else
                sb_appendn(sb, s, 1);
        }
    }
}

/* "::KIND title=T::MSG" or "::KIND file=F,line=N::MSG" (line omitted when
 * 0), one line. */
static void command(strbuf *sb, const char *kind, const char *file, int line,
                    const char *title, const char *msg)
{
    sb_appendf(sb, "::%s ", kind);
    if (file) {
        sb_append(sb, "file=");
        escape(sb, file, 1);
        if (line > 0)
            sb_appendf(sb, ",line=%d", line);
    } else {
        sb_append(sb, "title=");
        escape(sb, title, 1);
    }
    sb_append(sb, "::");
    escape(sb, msg, 0);
    sb_append(sb, "\n");
}

/* The probe is not ok, yet its unit does not fail the gate (optional, a
 * group that holds, bypassed): a warning, not an error. */
static int forgiven(const run_result *rr, size_t i)
{
    const unit_result *u = gate_unit_of(rr, i);
    return u && (u->status == ST_OK || u->status == ST_WARN ||
                 u->sev == SEV_OPTIONAL || u->overridden);
}

static void verdict_text(strbuf *sb, const run_result *rr)
{
    size_t counts[ST_SKIPPED + 1] = {0};
    for (size_t i = 0; i < rr->n; i++)
        counts[rr->probes[i].status]++;
    sb_appendf(sb, "verdict %s (", verdict_name(rr->verdict));
    int first = 1;
    for (int st = ST_OK; st <= ST_SKIPPED; st++)
        if (counts[st]) {
            sb_appendf(sb, "%s%zu %s", first ? "" : ", ", counts[st],
                       status_name((probe_status)st));
            first = 0;
        }
    sb_append(sb, first ? "no probes)" : ")");
}

static char *render(const run_result *rr)
{
    strbuf sb = {0};
    for (size_t i = 0; i < rr->n; i++) {
        const probe_run *pr = &rr->probes[i];
        if (pr->status == ST_OK || pr->status == ST_SKIPPED)
            continue;
        int err = pr->status != ST_WARN && !forgiven(rr, i);
        char *title = xasprintf("probe %s", pr->def->name);
        char *msg = xasprintf("%s: %s", status_name(pr->status),
                              pr->message ? pr->message : "");
        command(&sb, err ? "error" : "warning", NULL, 0, title, msg);
        free(title);
        free(msg);
    }
    strbuf v = {0};
    verdict_text(&v, rr);
    if (rr->verdict != V_PASS && rr->dec.rule)
        sb_appendf(&v, "; %s", rr->dec.rule);
    command(&sb, "notice", NULL, 0, "gpcheck", sb_str(&v));
    sb_free(&v);
    return sb_take(&sb);
}

static char *render_diag(const diag *d, const char *env)
{
    (void)env;
    strbuf sb = {0};
    int warning;
    const diag_item *it;
    for (size_t k = 0; (it = diag_nth(d, k, &warning)); k++)
        command(&sb, warning ? "warning" : "error", it->file, it->line,
                "gpcheck configuration", it->msg);
    if (d->n) {
        char *msg = xasprintf("%zu configuration error%s; nothing was probed",
                              d->n, d->n == 1 ? "" : "s");
        command(&sb, "error", NULL, 0, "gpcheck", msg);
        free(msg);
    } else {
        command(&sb, "notice", NULL, 0, "gpcheck", "configuration valid");
    }
    return sb_take(&sb);
}

/* Markdown text: one line, its markup and '|' escaped, no HTML. */
static void md_text(strbuf *sb, const char *s)
{
    char *clean = str_sanitize(s ? s : "");
    for (const char *c = clean; *c; c++) {
        if (*c == '|' || *c == '\\' || *c == '`' || *c == '*' || *c == '_')
            sb_appendf(sb, "\\%c", *c);
        else if (*c == '<')
            sb_append(sb, "&lt;");
        else if (*c == '&')
            sb_append(sb, "&amp;");
        else
            sb_appendn(sb, c, 1);
    }
    free(clean);
}

/* " TEXT |": a cell after the row's leading '|'. */
static void cell(strbuf *sb, const char *s)
{
    sb_append(sb, " ");
    md_text(sb, s);
    sb_append(sb, " |");
}

static char *step_summary(const run_result *rr, const diag *d)
{
    strbuf sb = {0};
    if (!rr) {
        sb_appendf(&sb,
                   "### gpcheck: %s\n\n| File | Line | Severity | Message "
                   "|\n|---|---|---|---|\n",
                   d->n ? "configuration errors, nothing was probed"
                        : "configuration valid");
        int warning;
        const diag_item *it;
        for (size_t k = 0; (it = diag_nth(d, k, &warning)); k++) {
            char line[16] = "";
            if (it->line > 0)
                snprintf(line, sizeof line, "%d", it->line);
            sb_append(&sb, "|");
            cell(&sb, it->file ? it->file : "(command line)");
            cell(&sb, line);
            cell(&sb, warning ? "warning" : "error");
            cell(&sb, it->msg);
            sb_append(&sb, "\n");
        }
        sb_append(&sb, "\n");
        return sb_take(&sb);
    }
    strbuf v = {0};
    verdict_text(&v, rr);
    char took[32];
    fmt_duration(took, sizeof took, (rr->end_ns - rr->start_ns) / NS_PER_MS);
    sb_append(&sb, "### gpcheck: ");
    md_text(&sb, sb_str(&v));
    sb_appendf(&sb, " in %s\n\n", took);
    if (rr->verdict != V_PASS && rr->dec.rule) {
        sb_append(&sb, "Rule: ");
        md_text(&sb, rr->dec.rule);
        sb_append(&sb, "\n\n");
    }
    sb_append(&sb, "| Probe | Plugin | Status | Attempts | Time | Message |\n"
                   "|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < rr->n; i++) {
        const probe_run *pr = &rr->probes[i];
        char n[32];
        snprintf(n, sizeof n, "%zu", pr->n_history);
        fmt_duration(took, sizeof took,
                     pr->start_ns ? (pr->end_ns - pr->start_ns) / NS_PER_MS
                                  : 0);
        sb_append(&sb, "|");
        cell(&sb, pr->def->name);
        cell(&sb, pr->def->plugin->name);
        cell(&sb, status_name(pr->status));
        cell(&sb, n);
        cell(&sb, took);
        cell(&sb, pr->message);
        sb_append(&sb, "\n");
    }
    sb_append(&sb, "\n");
    sb_free(&v);
    return sb_take(&sb);
}

const sink_ops sink_github_ops = {
    .format = "github",
    .render = render,
    .render_diag = render_diag,
    .step_summary = step_summary,
};
