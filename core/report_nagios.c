/*
 * core/report_nagios.c - `-o nagios[:PATH]`: the one line a Nagios or
 * Icinga check prints, `GPCHECK OK|WARNING|CRITICAL - summary | perfdata`,
 * so an existing monitoring set-up can schedule gpcheck itself. With
 * --nagios, gpcheck's exit status follows the same mapping
 * (nagios_exit_code()).
 *
 * Perfdata follows the plugin guidelines: 'probe.metric'=value[UOM] with
 * ms, % and B as units; the probe's duration as 'probe.duration'=Ns.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "util.h"

static const char *state_name(int code)
{
    static const char *const names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};
    return names[code >= 0 && code <= 3 ? code : 3];
}

int nagios_exit_code(const run_result *rr)
{
    if (rr->signo)
        return 3;
    switch (rr->verdict) {
    case V_PASS: return 0;
    case V_DEGRADED:
    case V_BYPASSED: return 1;
    case V_FAIL: return 2;
    }
    return 3;
}

/* 'label' with a single quote doubled, as the guidelines say. */
static void perf_label(strbuf *sb, const char *probe, const char *metric)
{
    sb_append(sb, "'");
    for (const char *p = probe; *p; p++)
        sb_append(sb, *p == '\'' ? "''" : (char[]){*p, 0});
    sb_appendf(sb, ".%s'=", metric);
}

static const char *uom(gp_unit u)
{
    switch (u) {
    case GP_UNIT_MS: return "ms";
    case GP_UNIT_PERCENT: return "%";
    case GP_UNIT_BYTES: return "B";
    case GP_UNIT_COUNT:
    case GP_UNIT_NONE: return "";
    }
    return "";
}

static char *render(const run_result *rr)
{
    size_t counts[ST_SKIPPED + 1] = {0};
    for (size_t i = 0; i < rr->n; i++)
        counts[rr->probes[i].status]++;
    strbuf sum = {0};
    sb_appendf(&sum, "%s (",
               rr->dec.rule ? rr->dec.rule : verdict_name(rr->verdict));
    int first = 1;
    for (int st = ST_OK; st <= ST_SKIPPED; st++) {
        if (counts[st]) {
            sb_appendf(&sum, "%s%zu %s", first ? "" : ", ", counts[st],
                       status_name((probe_status)st));
            first = 0;
        }
    }
    /* One line, and no '|' before the perfdata: sanitise the summary. */
    char *line = str_sanitize(sb_str(&sum));
    for (char *c = line; *c; c++)
        if (*c == '|')
            *c = '/';
    strbuf sb = {0};
    sb_appendf(&sb, "GPCHECK %s - %s", state_name(nagios_exit_code(rr)), line);
    free(line);
    sb_free(&sum);
    sb_append(&sb, ") |");
    for (size_t i = 0; i < rr->n; i++) {
        const probe_run *pr = &rr->probes[i];
        sb_append(&sb, " ");
        perf_label(&sb, pr->def->name, "duration");
        sb_appendf(&sb, "%.3fs",
                   pr->start_ns ? (double)(pr->end_ns - pr->start_ns) / 1e9
                                : 0.0);
        const attempt_rec *m = probe_run_metrics(pr);
        for (size_t k = 0; m && k < m->n_metrics; k++) {
            sb_append(&sb, " ");
            perf_label(&sb, pr->def->name, m->metrics[k].decl->name);
            sb_appendf(&sb, "%.6g%s", m->metrics[k].value,
                       uom(m->metrics[k].decl->unit));
        }
    }
    sb_append(&sb, "\n");
    return sb_take(&sb);
}

/* A configuration that stopped the run: CRITICAL, as the exit status 2
 * says, with the first diagnostic. */
static char *render_diag(const diag *d, const char *env)
{
    (void)env;
    int warning;
    const diag_item *it = d->n ? diag_nth(d, 0, &warning) : NULL;
    char *first = it ? diag_item_text(it) : xstrdup("");
    for (char *c = first; *c; c++)
        if (*c == '|')
            *c = '/';
    char *text =
        d->n ? xasprintf("GPCHECK CRITICAL - %zu configuration error%s: %s\n",
                         d->n, d->n == 1 ? "" : "s", first)
             : xstrdup("GPCHECK OK - configuration valid\n");
    free(first);
    return text;
}

const sink_ops sink_nagios_ops = {
    .format = "nagios",
    .render = render,
    .render_diag = render_diag,
};
