/*
 * core/report_json.c - `-o json[:PATH]`: one JSON document per run.
 *
 * {"gpcheck": VERSION, "env", "verdict", "exit_code", "started_at",
 *  "duration_ms", "probes": [{"name", "plugin", "severity", "status",
 *  "message", "attempts", "duration_ms", "metrics": {NAME: NUMBER},
 *  "history": [{"attempt", "phase", "outcome", "message",
 *  "duration_ms"}]}]}
 *
 * Written to stdout, or to PATH through a temporary file and rename(), so
 * a reader never sees half a report.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "util.h"

#ifndef GP_VERSION
#define GP_VERSION "0.0.0"
#endif

typedef struct json_sink {
    sink base;
    char *path; /* owned; NULL: stdout */
    json_t *doc;
} json_sink;

static json_t *iso_time(int64_t wall)
{
    time_t secs = (time_t)(wall / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char buf[64];
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, sizeof buf, "%s.%03dZ", date, (int)(wall % 1000));
    return json_string(buf);
}

static json_t *probe_json(const probe_run *pr)
{
    json_t *metrics = json_object();
    const attempt_rec *m = probe_run_metrics(pr);
    for (size_t i = 0; m && i < m->n_metrics; i++)
        json_object_set_new(metrics, m->metrics[i].decl->name,
                            json_real(m->metrics[i].value));
    json_t *hist = json_array();
    for (size_t i = 0; i < pr->n_history; i++) {
        const attempt_rec *a = &pr->history[i];
        json_array_append_new(
            hist, json_pack("{s:i,s:s,s:s,s:s,s:f}", "attempt", (int)a->number,
                            "phase", a->warmup ? "warmup" : "retry", "outcome",
                            attempt_res_name(a->res), "message",
                            a->message ? a->message : "", "duration_ms",
                            ns_to_ms(a->end_ns - a->start_ns)));
    }
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:i,s:f,s:o,s:o}", "name", pr->def->name,
        "plugin", pr->def->plugin->name, "severity",
        pr->def->pol.severity == SEV_REQUIRED ? "required" : "optional",
        "status", status_name(pr->status), "message",
        pr->message ? pr->message : "", "attempts", (int)pr->n_history,
        "duration_ms", pr->start_ns ? ns_to_ms(pr->end_ns - pr->start_ns) : 0.0,
        "metrics", metrics, "history", hist);
}

static void json_event(sink *s, const event *ev)
{
    json_sink *j = (json_sink *)s;
    if (ev->kind != EV_RUN_END)
        return;
    const run_result *rr = ev->run;
    json_t *probes = json_array();
    for (size_t i = 0; i < rr->n; i++)
        json_array_append_new(probes, probe_json(&rr->probes[i]));
    json_decref(j->doc);
    j->doc = json_pack("{s:s,s:s,s:s,s:i,s:o,s:f,s:o}", "gpcheck", GP_VERSION,
                       "env", rr->env, "verdict", verdict_name(rr->verdict),
                       "exit_code", rr->exit_code, "started_at",
                       iso_time(rr->started_wall_ms), "duration_ms",
                       ns_to_ms(rr->end_ns - rr->start_ns), "probes", probes);
}

static int write_atomic(const char *path, const char *text, char *err,
                        size_t errlen)
{
    char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "we");
    int ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0)
        ok = 0;
    if (ok && rename(tmp, path) != 0)
        ok = 0;
    if (!ok) {
        snprintf(err, errlen, "-o json:%s: cannot write the report", path);
        unlink(tmp);
    }
    free(tmp);
    return ok ? 0 : -1;
}

static int json_close(sink *s, char *err, size_t errlen)
{
    json_sink *j = (json_sink *)s;
    int rc = 0;
    if (j->doc) {
        char *text = json_dumps(j->doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!text) {
            snprintf(err, errlen, "json report: cannot encode");
            rc = -1;
        } else if (j->path) {
            rc = write_atomic(j->path, text, err, errlen);
        } else {
            puts(text);
            if (fflush(stdout) != 0) {
                snprintf(err, errlen, "json report: cannot write to stdout");
                rc = -1;
            }
        }
        free(text);
    }
    json_decref(j->doc);
    free(j->path);
    free(j);
    return rc;
}

static sink *json_open(const char *path, const report_opts *o, char *err,
                       size_t errlen)
{
    (void)o;
    (void)err;
    (void)errlen;
    json_sink *j = xcalloc(1, sizeof *j);
    j->base.ops = &sink_json_ops;
    j->path = path ? xstrdup(path) : NULL;
    return &j->base;
}

const sink_ops sink_json_ops = {
    .format = "json",
    .open = json_open,
    .event = json_event,
    .close = json_close,
};
