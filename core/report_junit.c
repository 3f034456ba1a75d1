/*
 * core/report_junit.c - `-o junit[:PATH]`: the JUnit XML that CI systems
 * (Jenkins, GitLab, GitHub Actions reporters) read, as in Jenkins'
 * junit-10.xsd: one <testsuite name="gpcheck"> per run, a <testcase> per
 * probe (classname = plugin, time = duration), <failure> for fail, timeout
 * and error, <skipped> for skipped, the attempt history in <system-out>;
 * the verdict, the rule and warnings as suite properties. A configuration
 * that stopped the run (or `validate`) is one testcase, "configuration",
 * failed with every FILE:LINE diagnostic.
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "util.h"

static void property(strbuf *sb, const char *name, const char *value)
{
    sb_append(sb, "      <property name=\"");
    sb_append_xml(sb, name);
    sb_append(sb, "\" value=\"");
    sb_append_xml(sb, value);
    sb_append(sb, "\"/>\n");
}

static void testcase(strbuf *sb, const probe_run *pr)
{
    double secs = pr->start_ns ? (double)(pr->end_ns - pr->start_ns) / 1e9 : 0;
    sb_append(sb, "    <testcase name=\"");
    sb_append_xml(sb, pr->def->name);
    sb_append(sb, "\" classname=\"");
    sb_append_xml(sb, pr->def->plugin->name);
    sb_appendf(sb, "\" time=\"%.3f\">\n", secs);
    switch (pr->status) {
    case ST_FAIL:
    case ST_TIMEOUT:
    case ST_ERROR:
        sb_appendf(sb, "      <failure type=\"%s\" message=\"",
                   status_name(pr->status));
        sb_append_xml(sb, pr->message);
        sb_append(sb, "\">");
        sb_append_xml(sb, pr->message);
        sb_append(sb, "</failure>\n");
        break;
    case ST_SKIPPED:
        sb_append(sb, "      <skipped message=\"");
        sb_append_xml(sb, pr->message);
        sb_append(sb, "\"/>\n");
        break;
    case ST_OK:
    case ST_WARN: break;
    }
    strbuf hist = {0};
    report_history(&hist, pr);
    sb_append(sb, "      <system-out>");
    sb_append_xml(sb, sb_str(&hist));
    sb_append(sb, "</system-out>\n    </testcase>\n");
    sb_free(&hist);
}

static char *render(const run_result *rr)
{
    size_t failures = 0, skipped = 0;
    for (size_t i = 0; i < rr->n; i++) {
        probe_status st = rr->probes[i].status;
        failures += st == ST_FAIL || st == ST_TIMEOUT || st == ST_ERROR;
        skipped += st == ST_SKIPPED;
    }
    char stamp[32], host[256] = "localhost";
    time_t t = (time_t)(rr->started_wall_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    gethostname(host, sizeof host - 1);
    double secs = (double)(rr->end_ns - rr->start_ns) / 1e9;

    strbuf sb = {0};
    sb_append(&sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    sb_appendf(&sb,
               "<testsuites name=\"gpcheck\" tests=\"%zu\" failures=\"%zu\" "
               "errors=\"0\" time=\"%.3f\">\n",
               rr->n, failures, secs);
    sb_appendf(&sb,
               "  <testsuite name=\"gpcheck\" tests=\"%zu\" failures=\"%zu\" "
               "errors=\"0\" skipped=\"%zu\" time=\"%.3f\" timestamp=\"%s\" "
               "hostname=\"",
               rr->n, failures, skipped, secs, stamp);
    sb_append_xml(&sb, host);
    sb_append(&sb, "\">\n    <properties>\n");
    property(&sb, "env", rr->env ? rr->env : "");
    property(&sb, "verdict", verdict_name(rr->verdict));
    property(&sb, "rule", rr->dec.rule ? rr->dec.rule : "");
    for (size_t i = 0; i < rr->n; i++) {
        if (rr->probes[i].status == ST_WARN) {
            char *name = xasprintf("warning.%s", rr->probes[i].def->name);
            property(&sb, name, rr->probes[i].message);
            free(name);
        }
    }
    sb_append(&sb, "    </properties>\n");
    for (size_t i = 0; i < rr->n; i++)
        testcase(&sb, &rr->probes[i]);
    sb_append(&sb, "  </testsuite>\n</testsuites>\n");
    return sb_take(&sb);
}

/* The configuration as one testcase: its <failure> lists every error,
 * one "FILE:LINE: message" a line; warnings go to <system-out>. */
static char *render_diag(const diag *d, const char *env)
{
    strbuf sb = {0}, errs = {0}, warns = {0};
    int warning;
    const diag_item *it;
    for (size_t k = 0; (it = diag_nth(d, k, &warning)); k++) {
        char *line = diag_item_text(it);
        sb_appendf(warning ? &warns : &errs, "%s\n", line);
        free(line);
    }
    sb_append(&sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    sb_appendf(&sb,
               "<testsuites name=\"gpcheck\" tests=\"1\" failures=\"%d\" "
               "errors=\"0\" time=\"0.000\">\n"
               "  <testsuite name=\"gpcheck\" tests=\"1\" failures=\"%d\" "
               "errors=\"0\" skipped=\"0\" time=\"0.000\">\n"
               "    <properties>\n",
               d->n > 0, d->n > 0);
    property(&sb, "env", env ? env : "");
    property(&sb, "verdict", d->n ? "error" : "valid");
    sb_append(&sb, "    </properties>\n    <testcase name=\"configuration\" "
                   "classname=\"gpcheck\" time=\"0.000\">\n");
    if (d->n) {
        char *msg = xasprintf("%zu configuration error%s; nothing was probed",
                              d->n, d->n == 1 ? "" : "s");
        sb_append(&sb, "      <failure type=\"configuration\" message=\"");
        sb_append_xml(&sb, msg);
        sb_append(&sb, "\">");
        sb_append_xml(&sb, sb_str(&errs));
        sb_append(&sb, "</failure>\n");
        free(msg);
    }
    if (warns.len) {
        sb_append(&sb, "      <system-out>");
        sb_append_xml(&sb, sb_str(&warns));
        sb_append(&sb, "</system-out>\n");
    }
    sb_append(&sb, "    </testcase>\n  </testsuite>\n</testsuites>\n");
    sb_free(&errs);
    sb_free(&warns);
    return sb_take(&sb);
}

const sink_ops sink_junit_ops = {
    .format = "junit",
    .render = render,
    .render_diag = render_diag,
};
