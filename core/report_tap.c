/*
 * core/report_tap.c - `-o tap[:PATH]`: TAP version 13, one test per
 * probe, with a YAML diagnostic block (status, plugin, severity, attempts,
 * duration, message, metrics) that `prove` and other TAP consumers read.
 * A probe that is not ok but does not fail the verdict (optional, or a
 * group member whose group holds) is marked # TODO, so the stream's
 * failures are exactly the gate's. A configuration that stopped the run
 * (or `validate`) is one test, "configuration", with its diagnostics.
 */
#include <stdlib.h>

#include "gate.h"
#include "report.h"
#include "util.h"

/* A YAML double-quoted scalar. */
static void yaml_str(strbuf *sb, const char *s)
{
    sb_append(sb, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            sb_appendf(sb, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            sb_appendf(sb, "\\x%02x", (unsigned char)*s);
        else
            sb_appendn(sb, s, 1);
    }
    sb_append(sb, "\"");
}

/* The unit this probe counts in does not fail the gate. */
static int forgiven(const run_result *rr, size_t i)
{
    const unit_result *u = gate_unit_of(rr, i);
    if (!u)
        return 0;
    return u->status == ST_OK || u->status == ST_WARN ||
           u->sev == SEV_OPTIONAL || u->overridden;
}

static char *render(const run_result *rr)
{
    strbuf sb = {0};
    sb_appendf(&sb, "TAP version 13\n1..%zu\n", rr->n);
    for (size_t i = 0; i < rr->n; i++) {
        const probe_run *pr = &rr->probes[i];
        int ok = pr->status == ST_OK || pr->status == ST_WARN;
        sb_appendf(&sb, "%s %zu - %s", ok ? "ok" : "not ok", i + 1,
                   pr->def->name);
        const char *directive = NULL;
        if (!ok && forgiven(rr, i))
            directive = pr->status == ST_SKIPPED ? "SKIP"
                                                 : "TODO does not fail the "
                                                   "gate:";
        if (directive) {
            /* '#' would start another directive. */
            char *clean = str_sanitize(pr->message);
            for (char *c = clean; *c; c++)
                if (*c == '#')
                    *c = ' ';
            sb_appendf(&sb, " # %s %s", directive, clean);
            free(clean);
        }
        sb_append(&sb, "\n  ---\n  status: ");
        sb_append(&sb, status_name(pr->status));
        sb_appendf(&sb,
                   "\n  plugin: %s\n  severity: %s\n  attempts: %zu\n"
                   "  duration_ms: %.1f\n  message: ",
                   pr->def->plugin->name,
                   pr->def->pol.severity == SEV_REQUIRED ? "required"
                                                         : "optional",
                   pr->n_history,
                   pr->start_ns ? ns_to_ms(pr->end_ns - pr->start_ns) : 0.0);
        yaml_str(&sb, pr->message);
        const attempt_rec *m = probe_run_metrics(pr);
        if (m && m->n_metrics) {
            sb_append(&sb, "\n  metrics:");
            for (size_t k = 0; k < m->n_metrics; k++)
                sb_appendf(&sb, "\n    %s: %.17g", m->metrics[k].decl->name,
                           m->metrics[k].value);
        }
        sb_append(&sb, "\n  ...\n");
    }
    sb_appendf(&sb, "# verdict: %s\n", verdict_name(rr->verdict));
    return sb_take(&sb);
}

/* The configuration as one test, with its diagnostics in the YAML block. */
static char *render_diag(const diag *d, const char *env)
{
    (void)env;
    strbuf sb = {0};
    sb_appendf(&sb, "TAP version 13\n1..1\n%s 1 - configuration\n  ---\n",
               d->n ? "not ok" : "ok");
    sb_appendf(&sb, "  errors: %zu\n  warnings: %zu\n", d->n, d->n_warns);
    if (d->n + d->n_warns)
        sb_append(&sb, "  diagnostics:\n");
    int warning;
    const diag_item *it;
    for (size_t k = 0; (it = diag_nth(d, k, &warning)); k++) {
        char *line = diag_item_text(it);
        sb_appendf(&sb, "    - %s: ", warning ? "warning" : "error");
        yaml_str(&sb, line);
        sb_append(&sb, "\n");
        free(line);
    }
    sb_appendf(&sb, "  ...\n# verdict: %s\n", d->n ? "error" : "valid");
    return sb_take(&sb);
}

const sink_ops sink_tap_ops = {
    .format = "tap",
    .render = render,
    .render_diag = render_diag,
};
