/* core/report.c - the table of report formats and the sink list. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static const sink_ops *const formats[] = {
    &sink_text_ops, &sink_json_ops,       &sink_jsonl_ops,  &sink_junit_ops,
    &sink_tap_ops,  &sink_prometheus_ops, &sink_nagios_ops,
};

const char *report_formats(void)
{
    return "text, json, jsonl, junit, tap, prometheus, nagios";
}

/* The sink of a format that renders one document when the run ends. */
typedef struct doc_sink {
    sink base;
    const sink_ops *fmt; /* the format: its render() */
    char *path;          /* owned; NULL: stdout */
    char *text;          /* owned; the document, once rendered */
    int failed;          /* render() could not encode it */
} doc_sink;

static void doc_event(sink *s, const event *ev)
{
    doc_sink *d = (doc_sink *)s;
    if (ev->kind != EV_RUN_END)
        return;
    free(d->text);
    d->text = d->fmt->render(ev->run);
    d->failed = d->text == NULL;
}

static int doc_close(sink *s, char *err, size_t errlen)
{
    doc_sink *d = (doc_sink *)s;
    int rc = 0;
    if (d->failed) {
        snprintf(err, errlen, "-o %s: cannot encode the report",
                 d->fmt->format);
        rc = -1;
    } else if (d->text) {
        rc = report_write(d->fmt->format, d->path, d->text, err, errlen);
    }
    free(d->text);
    free(d->path);
    free(d);
    return rc;
}

static const sink_ops doc_ops = {
    .format = "document",
    .event = doc_event,
    .close = doc_close,
};

static sink *doc_open(const sink_ops *fmt, const char *path)
{
    doc_sink *d = xcalloc(1, sizeof *d);
    d->base.ops = &doc_ops;
    d->fmt = fmt;
    d->path = path ? xstrdup(path) : NULL;
    return &d->base;
}

sink *sink_open(const char *spec, const report_opts *o, char *err,
                size_t errlen)
{
    const char *colon = strchr(spec, ':');
    size_t flen = colon ? (size_t)(colon - spec) : strlen(spec);
    const char *path = colon ? colon + 1 : NULL;
    if (path && !*path) {
        snprintf(err, errlen, "-o %s: empty path", spec);
        return NULL;
    }
    for (size_t i = 0; i < ARRAY_LEN(formats); i++) {
        if (strlen(formats[i]->format) != flen ||
            strncmp(formats[i]->format, spec, flen) != 0)
            continue;
        if (formats[i]->render)
            return doc_open(formats[i], path);
        return formats[i]->open(path, o, err, errlen);
    }
    snprintf(err, errlen, "-o %.*s: unknown format (known: %s)", (int)flen,
             spec, report_formats());
    return NULL;
}

void sinks_add(sinks *ss, sink *s)
{
    xgrow(&ss->v, &ss->cap, ss->n + 1, sizeof *ss->v);
    ss->v[ss->n++] = s;
}

void sinks_emit(sinks *ss, const event *ev)
{
    for (size_t i = 0; i < ss->n; i++)
        ss->v[i]->ops->event(ss->v[i], ev);
}

int sinks_close(sinks *ss)
{
    int rc = 0;
    for (size_t i = 0; i < ss->n; i++) {
        char err[512] = "";
        if (ss->v[i]->ops->close(ss->v[i], err, sizeof err) < 0) {
            fprintf(stderr, "gpcheck: %s\n", err);
            rc = -1;
        }
    }
    free(ss->v);
    memset(ss, 0, sizeof *ss);
    return rc;
}

double ns_to_ms(int64_t ns)
{
    return (double)ns / 1e6;
}

int report_make_parents(const char *path)
{
    char *dir = xstrdup(path);
    int rc = 0;
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            rc = -1;
        *p = '/';
    }
    free(dir);
    return rc;
}

int report_write(const char *format, const char *path, const char *text,
                 char *err, size_t errlen)
{
    size_t n = strlen(text);
    int nl = n == 0 || text[n - 1] != '\n';
    if (!path) {
        if (fputs(text, stdout) < 0 || (nl && fputc('\n', stdout) == EOF) ||
            fflush(stdout) != 0) {
            snprintf(err, errlen, "-o %s: cannot write to stdout: %s", format,
                     strerror(errno));
            return -1;
        }
        return 0;
    }
    report_make_parents(path); /* -o junit:reports/x.xml just works */
    char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "we");
    int ok = f && fputs(text, f) >= 0 && (!nl || fputc('\n', f) != EOF);
    int e = errno;
    if (f && fclose(f) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        snprintf(err, errlen, "-o %s:%s: cannot write the report: %s", format,
                 path, strerror(e));
        unlink(tmp);
    }
    free(tmp);
    return ok ? 0 : -1;
}

void sb_append_xml(strbuf *sb, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '<': sb_append(sb, "&lt;"); break;
        case '>': sb_append(sb, "&gt;"); break;
        case '&': sb_append(sb, "&amp;"); break;
        case '"': sb_append(sb, "&quot;"); break;
        case '\'': sb_append(sb, "&apos;"); break;
        default:
            if (c >= 0x20 || c == '\n' || c == '\t')
                sb_appendn(sb, s, 1);
        }
    }
}

void report_history(strbuf *sb, const probe_run *pr)
{
    for (size_t i = 0; i < pr->n_history; i++) {
        const attempt_rec *a = &pr->history[i];
        sb_appendf(sb, "%s %u: %s after %.1f ms: %s\n",
                   a->warmup ? "warmup" : "attempt", a->number,
                   attempt_res_name(a->res), ns_to_ms(a->end_ns - a->start_ns),
                   a->message ? a->message : "");
    }
}
