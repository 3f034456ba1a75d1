/* core/result.c - parsing the attempt result protocol; see result.h. */
#include "result.h"

#include <jansson.h>
#include <string.h>

#include "optapi.h"
#include "util.h"

#define WHY_GARBAGE "garbage on the result pipe"
#define WHY_MALFORMED "malformed result on the result pipe"

static int parse_outcome(const char *name, attempt_res *res)
{
    gp_outcome o;
    if (optapi_outcome_parse(name, &o) < 0)
        return -1;
    *res = (attempt_res)o; /* run.h: the first attempt_res are gp_outcome's */
    return 0;
}

static int take_metrics(result_line *out, json_t *m, const gp_metric *metrics,
                        size_t n_metrics)
{
    const char *key;
    json_t *val;
    if (!json_is_object(m))
        return -1;
    out->metrics = xcalloc(json_object_size(m) + 1, sizeof *out->metrics);
    json_object_foreach (m, key, val) {
        const gp_metric *decl = NULL;
        for (size_t i = 0; i < n_metrics && !decl; i++)
            if (strcmp(metrics[i].name, key) == 0)
                decl = &metrics[i];
        if (!decl || !json_is_number(val))
            return -1;
        out->metrics[out->n_metrics].decl = decl;
        out->metrics[out->n_metrics++].value = json_number_value(val);
    }
    return 0;
}

static result_kind take_log(result_line *out, json_t *log)
{
    const char *text = json_string_value(json_object_get(log, "text"));
    json_t *lvl = json_object_get(log, "level");
    if (!text || !json_is_integer(lvl)) {
        out->why = WHY_GARBAGE;
        return RESULT_GARBAGE;
    }
    out->log_level = (int)json_integer_value(lvl);
    /* A well-behaved child sanitizes already; a plugin writing to fd 3
     * itself must not reach the terminal with escape sequences either. */
    out->text = str_sanitize(text);
    return RESULT_LOG;
}

static result_kind take_result(result_line *out, json_t *res,
                               const gp_metric *metrics, size_t n_metrics)
{
    const char *msg = json_string_value(json_object_get(res, "message"));
    const char *bug = json_string_value(json_object_get(res, "bug"));
    if (parse_outcome(json_string_value(json_object_get(res, "outcome")),
                      &out->res) < 0 ||
        !msg ||
        take_metrics(out, json_object_get(res, "metrics"), metrics, n_metrics) <
            0) {
        out->why = WHY_MALFORMED;
        return RESULT_GARBAGE;
    }
    out->msg = str_sanitize(msg);
    out->bug = bug ? str_sanitize(bug) : NULL;
    return RESULT_DONE;
}

result_kind result_parse_line(const char *line, size_t len,
                              const gp_metric *metrics, size_t n_metrics,
                              result_line *out)
{
    json_error_t jerr;
    memset(out, 0, sizeof *out);
    out->why = WHY_GARBAGE;

    json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *log = json_object_get(j, "log");
    json_t *res = json_object_get(j, "result");
    const char *secret = json_string_value(json_object_get(j, "secret"));
    if (log && json_object_size(j) == 1) {
        out->kind = take_log(out, log);
    } else if (secret && json_object_size(j) == 1) {
        /* Unsanitized: it is masked as the plugin will print it (the
         * masker also finds its escaped forms). */
        out->text = xstrdup(secret);
        out->kind = RESULT_SECRET;
    } else if (res && json_object_size(j) == 1) {
        out->kind = take_result(out, res, metrics, n_metrics);
    }
    json_decref(j);
    return out->kind;
}

void result_line_free(result_line *r)
{
    free(r->text);
    free(r->msg);
    free(r->bug);
    free(r->metrics);
    memset(r, 0, sizeof *r);
}
