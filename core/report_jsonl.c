/*
 * core/report_jsonl.c - `-o jsonl[:PATH]`: a JSON Lines event stream, one
 * object per state change, written and flushed as it happens, for tools
 * that follow a run live. Every line has "event" and "t_ms" (milliseconds
 * since the run started); probe events add "probe", attempt events
 * "attempt", "phase", "outcome", "message", "duration_ms" and, when a
 * retry is scheduled, "next_in_ms"; "probe_end" adds "status" and
 * "message"; "run_end" adds "verdict", "exit_code" and "rule". When the
 * configuration stopped the run (or for `validate`), the stream is one
 * line: {"event": "diagnostics", "t_ms": 0, "valid", "diagnostics": [...]}
 * (as in -o json).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "util.h"

typedef struct jsonl_sink {
    sink base;
    FILE *out; /* stdout, or owned */
    char *path;
    int failed; /* a write failed: reported at close */
} jsonl_sink;

static const char *const names[] = {
    [EV_RUN_START] = "run_start",     [EV_PROBE_WAIT] = "probe_wait",
    [EV_PROBE_START] = "probe_start", [EV_ATTEMPT_START] = "attempt_start",
    [EV_ATTEMPT_END] = "attempt_end", [EV_LOG] = "log",
    [EV_PROBE_END] = "probe_end",     [EV_RUN_END] = "run_end",
};

static void attempt_fields(json_t *o, const event *ev)
{
    const attempt_rec *a = ev->attempt;
    json_object_set_new(o, "attempt", json_integer(a->number));
    json_object_set_new(o, "phase",
                        json_string(a->warmup ? "warmup" : "retry"));
    if (ev->kind != EV_ATTEMPT_END)
        return;
    json_object_set_new(o, "outcome", json_string(attempt_res_name(a->res)));
    json_object_set_new(o, "message",
                        json_string(a->message ? a->message : ""));
    json_object_set_new(o, "duration_ms",
                        json_real(ns_to_ms(a->end_ns - a->start_ns)));
    if (ev->next_ns)
        json_object_set_new(o, "next_in_ms",
                            json_real(ns_to_ms(ev->next_ns - ev->t_ns)));
}

static void jsonl_event(sink *s, const event *ev)
{
    jsonl_sink *j = (jsonl_sink *)s;
    const run_result *rr = ev->run;
    if (ev->kind == EV_TICK)
        return;
    json_t *o = json_object();
    json_object_set_new(o, "event", json_string(names[ev->kind]));
    json_object_set_new(o, "t_ms",
                        json_real(ns_to_ms(ev->t_ns - rr->start_ns)));
    if (ev->probe)
        json_object_set_new(o, "probe", json_string(ev->probe->def->name));
    switch (ev->kind) {
    case EV_RUN_START:
        json_object_set_new(o, "env", json_string(rr->env ? rr->env : ""));
        json_object_set_new(o, "probes", json_integer((json_int_t)rr->n));
        break;
    case EV_ATTEMPT_START:
    case EV_ATTEMPT_END: attempt_fields(o, ev); break;
    case EV_LOG:
        json_object_set_new(o, "level", json_integer(ev->log_level));
        json_object_set_new(o, "message", json_string(ev->text));
        break;
    case EV_PROBE_END:
        json_object_set_new(o, "status",
                            json_string(status_name(ev->probe->status)));
        json_object_set_new(o, "message", json_string(ev->probe->message));
        break;
    case EV_RUN_END:
        json_object_set_new(o, "verdict",
                            json_string(verdict_name(rr->verdict)));
        json_object_set_new(o, "exit_code", json_integer(rr->exit_code));
        json_object_set_new(o, "rule",
                            json_string(rr->dec.rule ? rr->dec.rule : ""));
        break;
    case EV_PROBE_WAIT:
    case EV_PROBE_START:
    case EV_TICK: break;
    }
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!line || fprintf(j->out, "%s\n", line) < 0 || fflush(j->out) != 0)
        j->failed = errno ? errno : EIO;
    free(line);
}

static int jsonl_close(sink *s, char *err, size_t errlen)
{
    jsonl_sink *j = (jsonl_sink *)s;
    if (j->out != stdout && fclose(j->out) != 0 && !j->failed)
        j->failed = errno; /* ENOSPC, EIO: the last lines are lost */
    int rc = 0;
    if (j->failed) {
        snprintf(err, errlen, "-o jsonl%s%s: write failed: %s",
                 j->path ? ":" : "", j->path ? j->path : "",
                 strerror(j->failed));
        rc = -1;
    }
    free(j->path);
    free(j);
    return rc;
}

static sink *jsonl_open(const char *path, const report_opts *o, char *err,
                        size_t errlen)
{
    (void)o;
    FILE *f = stdout;
    if (path) {
        int fd = report_open_stream("jsonl", path, err, errlen);
        if (fd < 0)
            return NULL;
        f = fdopen(fd, "w");
    }
    jsonl_sink *j = xcalloc(1, sizeof *j);
    j->base.ops = &sink_jsonl_ops;
    j->out = f;
    j->path = path ? xstrdup(path) : NULL;
    return &j->base;
}

static char *render_diag(const diag *d, const char *env)
{
    (void)env;
    json_t *o =
        json_pack("{s:s,s:i,s:b,s:o}", "event", "diagnostics", "t_ms", 0,
                  "valid", d->n == 0, "diagnostics", report_diag_json(d));
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

const sink_ops sink_jsonl_ops = {
    .format = "jsonl",
    .open = jsonl_open,
    .event = jsonl_event,
    .render_diag = render_diag,
    .close = jsonl_close,
};
