/*
 * core/report_prometheus.c - `-o prometheus[:PATH]`: the text exposition
 * format, for node_exporter's textfile collector or a Pushgateway. With a
 * PATH the file is replaced atomically (the collector must never read half
 * a file). Metrics:
 *   gpcheck_probe_up{probe,plugin}               1 when ok or warn
 *   gpcheck_probe_status{probe,plugin,status}    1 for the probe's status
 *   gpcheck_probe_duration_seconds{probe,plugin}
 *   gpcheck_probe_attempts{probe,plugin}
 *   gpcheck_probe_metric{probe,plugin,metric,unit}  every plugin metric
 *   gpcheck_verdict{verdict}                     1 for the run's verdict
 *   gpcheck_run_timestamp_seconds, gpcheck_run_duration_seconds
 * and, when the configuration stopped the run (or for `validate`), only
 *   gpcheck_config_errors, gpcheck_config_warnings
 */
#include <stdlib.h>

#include "report.h"
#include "threshold.h"
#include "util.h"

/* A label value: backslash, double quote and newline escaped. */
static void label(strbuf *sb, const char *name, const char *value)
{
    sb_appendf(sb, "%s=\"", name);
    for (; *value; value++) {
        if (*value == '\\' || *value == '"')
            sb_appendf(sb, "\\%c", *value);
        else if (*value == '\n')
            sb_append(sb, "\\n");
        else
            sb_appendn(sb, value, 1);
    }
    sb_append(sb, "\"");
}

static void probe_labels(strbuf *sb, const probe_run *pr)
{
    label(sb, "probe", pr->def->name);
    sb_append(sb, ",");
    label(sb, "plugin", pr->def->plugin->name);
}

static void header(strbuf *sb, const char *name, const char *help)
{
    sb_appendf(sb, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static char *render(const run_result *rr)
{
    strbuf sb = {0};

    header(&sb, "gpcheck_probe_up", "1 when the probe is ready (ok or warn).");
    for (size_t i = 0; i < rr->n; i++) {
        const probe_run *pr = &rr->probes[i];
        sb_append(&sb, "gpcheck_probe_up{");
        probe_labels(&sb, pr);
        sb_appendf(&sb, "} %d\n", pr->status == ST_OK || pr->status == ST_WARN);
    }
    header(&sb, "gpcheck_probe_status",
           "1 for the probe's status: ok, warn, fail, timeout, error, "
           "skipped.");
    for (size_t i = 0; i < rr->n; i++) {
        for (int st = ST_OK; st <= ST_SKIPPED; st++) {
            sb_append(&sb, "gpcheck_probe_status{");
            probe_labels(&sb, &rr->probes[i]);
            sb_append(&sb, ",");
            label(&sb, "status", status_name((probe_status)st));
            sb_appendf(&sb, "} %d\n", (int)rr->probes[i].status == st);
        }
    }
    header(&sb, "gpcheck_probe_duration_seconds",
           "Time from the probe's start to its status.");
    for (size_t i = 0; i < rr->n; i++) {
        const probe_run *pr = &rr->probes[i];
        sb_append(&sb, "gpcheck_probe_duration_seconds{");
        probe_labels(&sb, pr);
        sb_appendf(&sb, "} %.6f\n",
                   pr->start_ns ? (double)(pr->end_ns - pr->start_ns) / 1e9
                                : 0.0);
    }
    header(&sb, "gpcheck_probe_attempts", "Attempts the probe made.");
    for (size_t i = 0; i < rr->n; i++) {
        sb_append(&sb, "gpcheck_probe_attempts{");
        probe_labels(&sb, &rr->probes[i]);
        sb_appendf(&sb, "} %zu\n", rr->probes[i].n_history);
    }
    header(&sb, "gpcheck_probe_metric",
           "A metric the probe's plugin reported, in the plugin's unit.");
    for (size_t i = 0; i < rr->n; i++) {
        const attempt_rec *m = probe_run_metrics(&rr->probes[i]);
        for (size_t k = 0; m && k < m->n_metrics; k++) {
            sb_append(&sb, "gpcheck_probe_metric{");
            probe_labels(&sb, &rr->probes[i]);
            sb_append(&sb, ",");
            label(&sb, "metric", m->metrics[k].decl->name);
            sb_append(&sb, ",");
            label(&sb, "unit", unit_name(m->metrics[k].decl->unit));
            sb_appendf(&sb, "} %.17g\n", m->metrics[k].value);
        }
    }
    header(&sb, "gpcheck_verdict",
           "1 for the run's verdict: pass, degraded, fail, bypassed.");
    for (int v = V_PASS; v <= V_BYPASSED; v++) {
        sb_append(&sb, "gpcheck_verdict{");
        label(&sb, "verdict", verdict_name((verdict)v));
        sb_appendf(&sb, "} %d\n", (int)rr->verdict == v);
    }
    header(&sb, "gpcheck_run_timestamp_seconds",
           "When the run started, in seconds since the epoch.");
    sb_appendf(&sb, "gpcheck_run_timestamp_seconds %.3f\n",
               (double)rr->started_wall_ms / 1000.0);
    header(&sb, "gpcheck_run_duration_seconds", "How long the run took.");
    sb_appendf(&sb, "gpcheck_run_duration_seconds %.6f\n",
               (double)(rr->end_ns - rr->start_ns) / 1e9);
    return sb_take(&sb);
}

/* A configuration that stopped the run: the counts, so an alert on
 * gpcheck_config_errors > 0 fires instead of the metrics going stale. */
static char *render_diag(const diag *d, const char *env)
{
    (void)env;
    strbuf sb = {0};
    header(&sb, "gpcheck_config_errors",
           "Configuration errors that stopped the run (0: valid).");
    sb_appendf(&sb, "gpcheck_config_errors %zu\n", d->n);
    header(&sb, "gpcheck_config_warnings", "Configuration warnings.");
    sb_appendf(&sb, "gpcheck_config_warnings %zu\n", d->n_warns);
    return sb_take(&sb);
}

const sink_ops sink_prometheus_ops = {
    .format = "prometheus",
    .render = render,
    .render_diag = render_diag,
};
