/* core/history_cli.c - `gpcheck history` and `gpcheck stats` output; see
 * history_cli.h. */
#include "history_cli.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static double num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static int print_json(json_t *doc, FILE *out)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                     JSON_REAL_PRECISION(10));
    if (!text)
        return 1;
    fprintf(out, "%s\n", text);
    free(text);
    return 0;
}

/* "12.3s" or "-" for a number that is missing (null). */
static void ms_text(const json_t *v, char *buf, size_t n)
{
    if (!json_is_number(v)) {
        snprintf(buf, n, "-");
        return;
    }
    double ms = json_number_value(v);
    if (ms < 1000.0)
        snprintf(buf, n, "%.0fms", ms);
    else
        snprintf(buf, n, "%.1fs", ms / 1000.0);
}

static void rate_text(const json_t *v, char *buf, size_t n)
{
    if (json_is_number(v))
        snprintf(buf, n, "%.1f%%", 100.0 * json_number_value(v));
    else
        snprintf(buf, n, "-");
}

static void print_run(const json_t *r, FILE *out)
{
    char dur[32], cmd[96] = "";
    ms_text(json_object_get(r, "duration_ms"), dur, sizeof dur);
    const json_t *c = json_object_get(r, "command");
    if (json_is_object(c)) {
        char cd[32];
        ms_text(json_object_get(c, "duration_ms"), cd, sizeof cd);
        snprintf(cmd, sizeof cmd, "  command exit %d in %s%s%s",
                 (int)num(c, "exit_code"), cd, *str(c, "label") ? ", " : "",
                 str(c, "label"));
    }
    fprintf(out, "#%-6lld %s  %-12s %-9s %7s%s%s\n",
            (long long)json_integer_value(json_object_get(r, "id")),
            str(r, "time"), str(r, "env"), str(r, "verdict"), dur,
            json_is_true(json_object_get(r, "bypass")) ? "  BYPASS" : "", cmd);
    size_t i;
    const json_t *p;
    json_array_foreach (json_object_get(r, "probes"), i, p) {
        char ready[32];
        ms_text(json_object_get(p, "ready_ms"), ready, sizeof ready);
        fprintf(out, "    %-20s %-8s %2d attempt%s  ready %s\n", str(p, "name"),
                str(p, "status"), (int)num(p, "attempts"),
                num(p, "attempts") == 1 ? " " : "s", ready);
    }
}

int history_cli_runs(history *h, const history_filter *f, int json, FILE *out)
{
    char err[512];
    json_t *runs = history_runs(h, f, err, sizeof err);
    if (!runs) {
        fprintf(stderr, "gpcheck: %s\n", err);
        return 1;
    }
    int rc = 0;
    if (json) {
        rc = print_json(runs, out);
    } else if (json_array_size(runs) == 0) {
        fprintf(out, "no runs in the history%s\n",
                f->env || f->probe ? " that match" : "");
    } else {
        size_t i;
        const json_t *r;
        json_array_foreach (runs, i, r)
            print_run(r, out);
    }
    json_decref(runs);
    return rc;
}

static void print_env(const json_t *e, FILE *out)
{
    char pass[16], suite[16];
    rate_text(json_object_get(e, "pass_rate"), pass, sizeof pass);
    const json_t *s = json_object_get(e, "suite");
    rate_text(json_object_get(s, "success_rate"), suite, sizeof suite);
    fprintf(out, "env %s: %d runs, gate passed %d (%s), bypassed %d\n",
            str(e, "env"), (int)num(e, "runs"), (int)num(e, "passed"), pass,
            (int)num(e, "bypassed"));
    if (num(s, "runs") > 0)
        fprintf(out,
                "  suite: %d supervised runs, %d passed (%s); failures: %d "
                "infrastructure, %d tests, %d unlabelled\n",
                (int)num(s, "runs"), (int)num(s, "passed"), suite,
                (int)num(s, "infrastructure"), (int)num(s, "tests"),
                (int)(num(s, "runs") - num(s, "passed") -
                      num(s, "infrastructure") - num(s, "tests")));
    fprintf(out, "  %-20s %6s %7s %8s %8s %8s %8s %6s\n", "probe", "runs",
            "pass", "p50", "p95", "max", "attempts", "flaky");
    size_t i;
    const json_t *p;
    json_array_foreach (json_object_get(e, "probes"), i, p) {
        const json_t *r = json_object_get(p, "ready");
        char pr[16], p50[16], p95[16], max[16];
        rate_text(json_object_get(p, "pass_rate"), pr, sizeof pr);
        ms_text(json_object_get(r, "p50_ms"), p50, sizeof p50);
        ms_text(json_object_get(r, "p95_ms"), p95, sizeof p95);
        ms_text(json_object_get(r, "max_ms"), max, sizeof max);
        fprintf(out, "  %-20s %6d %7s %8s %8s %8s %8.2f %6.2f\n",
                str(p, "name"), (int)num(p, "runs"), pr, p50, p95, max,
                num(json_object_get(p, "attempts"), "mean"),
                num(p, "flakiness"));
    }
}

/* The rate --fail-below checks for one env, and what it is called. */
static double checked_rate(const json_t *e, const char **what)
{
    const json_t *s = json_object_get(e, "suite");
    if (num(s, "runs") > 0) {
        *what = "suite success rate";
        return num(s, "success_rate");
    }
    *what = "gate pass rate";
    return num(e, "pass_rate");
}

int history_cli_stats(history *h, const history_filter *f, int json,
                      double fail_below, FILE *out)
{
    char err[512];
    json_t *doc = history_stats(h, f, err, sizeof err);
    if (!doc) {
        fprintf(stderr, "gpcheck: %s\n", err);
        return 1;
    }
    const json_t *envs = json_object_get(doc, "envs");
    int rc = 0;
    if (json) {
        rc = print_json(doc, out);
    } else if (json_array_size(envs) == 0) {
        fprintf(out, "no runs in the window\n");
    } else {
        size_t i;
        const json_t *e;
        json_array_foreach (envs, i, e) {
            if (i)
                fputc('\n', out);
            print_env(e, out);
        }
    }
    if (fail_below >= 0) {
        if (json_array_size(envs) == 0) {
            fprintf(stderr, "gpcheck: --fail-below: no runs in the window\n");
            rc = 1;
        }
        size_t i;
        const json_t *e;
        json_array_foreach (envs, i, e) {
            const char *what;
            double r = checked_rate(e, &what);
            if (r < fail_below) {
                fprintf(stderr, "gpcheck: env %s: %s %.1f%% is below %.1f%%\n",
                        str(e, "env"), what, 100.0 * r, 100.0 * fail_below);
                rc = 1;
            }
        }
    }
    json_decref(doc);
    return rc;
}
