/*
 * core/report_json.c - `-o json[:PATH]`: one JSON document per run.
 *
 * {"gpcheck": VERSION, "env", "verdict", "exit_code", "started_at",
 *  "duration_ms", "probes": [{"name", "plugin", "severity", "status",
 *  "message", "attempts", "duration_ms", "metrics": {NAME: NUMBER},
 *  "history": [{"attempt", "phase", "outcome", "message",
 *  "duration_ms"[, "breach"]}][, "group": NAME][, "thresholds":
 *  [{"condition", "level", "metric", "value", "fired"}]]}],
 *  "groups": [{"name", "severity", "status", "need", "ok", "members"}],
 *  "rule": TEXT, "bypass": {"active", "expired", "reason", "expires",
 *  "scope", "overridden"}}
 *
 * When the configuration stopped the run (exit 2), or for `validate`:
 * {"gpcheck", "env", "valid", "verdict": "error" (when not valid),
 *  "exit_code", "probes": [], "diagnostics": [{"file", "line", "message",
 *  "severity"}]}: every error, then every warning.
 *
 * Written to stdout, or to PATH through a temporary file and rename(), so
 * a reader never sees half a report.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bypass.h"
#include "gpcheck/version.h"
#include "report.h"
#include "util.h"

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

static json_t *thresholds_json(const probe_run *pr)
{
    json_t *a = json_array();
    for (size_t i = 0; i < pr->n_evals; i++) {
        const th_eval *ev = &pr->evals[i];
        json_array_append_new(
            a, json_pack("{s:s,s:s,s:s,s:o,s:b}", "condition", ev->cond->text,
                         "level", ev->cond->level == TH_FAIL ? "fail" : "warn",
                         "metric", ev->cond->metric->name, "value",
                         ev->reported ? json_real(ev->value) : json_null(),
                         "fired", ev->fired));
    }
    return a;
}

json_t *report_json_probe(const run_result *rr, const probe_run *pr)
{
    json_t *metrics = json_object();
    const attempt_rec *m = probe_run_metrics(pr);
    for (size_t i = 0; m && i < m->n_metrics; i++)
        json_object_set_new(metrics, m->metrics[i].decl->name,
                            json_real(m->metrics[i].value));
    json_t *hist = json_array();
    for (size_t i = 0; i < pr->n_history; i++) {
        const attempt_rec *a = &pr->history[i];
        json_t *h = json_pack(
            "{s:i,s:s,s:s,s:s,s:f}", "attempt", (int)a->number, "phase",
            a->warmup ? "warmup" : "retry", "outcome", attempt_res_name(a->res),
            "message", a->message ? a->message : "", "duration_ms",
            ns_to_ms(a->end_ns - a->start_ns));
        if (a->breach)
            json_object_set_new(h, "breach",
                                json_string(th_level_name(a->breach)));
        json_array_append_new(hist, h);
    }
    json_t *obj = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:i,s:f,s:o,s:o}", "name", pr->def->name,
        "plugin", pr->def->plugin->name, "severity",
        pr->def->pol.severity == SEV_REQUIRED ? "required" : "optional",
        "status", status_name(pr->status), "message",
        pr->message ? pr->message : "", "attempts", (int)pr->n_history,
        "duration_ms", pr->start_ns ? ns_to_ms(pr->end_ns - pr->start_ns) : 0.0,
        "metrics", metrics, "history", hist);
    if (pr->def->group != PROBE_NO_GROUP && rr->set)
        json_object_set_new(obj, "group",
                            json_string(rr->set->groups[pr->def->group].name));
    if (pr->def->n_conds)
        json_object_set_new(obj, "thresholds", thresholds_json(pr));
    return obj;
}

static json_t *groups_json(const run_result *rr)
{
    json_t *a = json_array();
    for (size_t i = 0; i < rr->dec.n_units; i++) {
        const unit_result *u = &rr->dec.units[i];
        if (!u->is_group)
            continue;
        const group_def *g = &rr->set->groups[u->index];
        json_t *members = json_array();
        for (size_t k = 0; k < g->n_members; k++)
            json_array_append_new(
                members, json_string(rr->probes[g->members[k]].def->name));
        json_array_append_new(
            a,
            json_pack("{s:s,s:s,s:s,s:i,s:i,s:o}", "name", u->name, "severity",
                      u->sev == SEV_REQUIRED ? "required" : "optional",
                      "status", status_name(u->status), "need", (int)u->need,
                      "ok", (int)u->ok, "members", members));
    }
    return a;
}

static json_t *bypass_json(const run_result *rr)
{
    const bypass *b = rr->bypass;
    if (!b || !b->configured || !b->enabled)
        return json_pack("{s:b}", "active", 0);
    json_t *scope = json_array();
    if (b->scope_all)
        json_array_append_new(scope, json_string("all"));
    for (size_t i = 0; i < b->n_scope_tags; i++)
        json_array_append_new(scope, json_string(b->scope_tags[i]));
    json_t *over = json_array();
    for (size_t i = 0; i < rr->dec.n_units; i++)
        if (rr->dec.units[i].overridden)
            json_array_append_new(over, json_string(rr->dec.units[i].name));
    return json_pack("{s:b,s:b,s:s,s:s,s:o,s:o}", "active", b->active,
                     "expired", b->expired, "reason",
                     b->reason ? b->reason : "", "expires",
                     b->expires_text ? b->expires_text : "", "scope", scope,
                     "overridden", over);
}

static char *render(const run_result *rr)
{
    json_t *probes = json_array();
    for (size_t i = 0; i < rr->n; i++)
        json_array_append_new(probes, report_json_probe(rr, &rr->probes[i]));
    json_t *doc = json_pack(
        "{s:s,s:s,s:s,s:i,s:o,s:f,s:o}", "gpcheck", GPCHECK_VERSION, "env",
        rr->env, "verdict", verdict_name(rr->verdict), "exit_code",
        rr->exit_code, "started_at", iso_time(rr->started_wall_ms),
        "duration_ms", ns_to_ms(rr->end_ns - rr->start_ns), "probes", probes);
    json_object_set_new(doc, "groups", groups_json(rr));
    json_object_set_new(doc, "rule",
                        json_string(rr->dec.rule ? rr->dec.rule : ""));
    json_object_set_new(doc, "bypass", bypass_json(rr));
    char *text =
        doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    return text;
}

json_t *report_diag_json(const diag *d)
{
    json_t *a = json_array();
    int warning;
    const diag_item *it;
    for (size_t k = 0; (it = diag_nth(d, k, &warning)); k++)
        json_array_append_new(
            a, json_pack("{s:o,s:o,s:s,s:s}", "file",
                         it->file ? json_string(it->file) : json_null(), "line",
                         it->line > 0 ? json_integer(it->line) : json_null(),
                         "message", it->msg, "severity",
                         warning ? "warning" : "error"));
    return a;
}

static char *render_diag(const diag *d, const char *env)
{
    json_t *doc =
        json_pack("{s:s,s:o,s:b}", "gpcheck", GPCHECK_VERSION, "env",
                  env ? json_string(env) : json_null(), "valid", d->n == 0);
    if (!doc)
        return NULL;
    if (d->n)
        json_object_set_new(doc, "verdict", json_string("error"));
    json_object_set_new(doc, "exit_code", json_integer(d->n ? 2 : 0));
    json_object_set_new(doc, "probes", json_array());
    json_object_set_new(doc, "diagnostics", report_diag_json(d));
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return text;
}

const sink_ops sink_json_ops = {
    .format = "json",
    .render = render,
    .render_diag = render_diag,
};
