/* core/report.c - the table of report formats and the sink list. */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const sink_ops *const formats[] = {&sink_text_ops, &sink_json_ops};

const char *report_formats(void)
{
    return "text, json";
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
        if (strlen(formats[i]->format) == flen &&
            strncmp(formats[i]->format, spec, flen) == 0)
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
