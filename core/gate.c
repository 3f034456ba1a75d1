/* core/gate.c - thresholds, groups, bypass and the verdict; see gate.h. */
#include "gate.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* The value of one of the core's metrics (GP_CORE_METRICS) on this
 * attempt; 0 for a name the core does not measure (a bug the unit test
 * core_metrics_all_measured catches). */
static int core_value(const gp_metric *m, const probe_run *pr,
                      const attempt_rec *rec, double *v)
{
    if (strcmp(m->name, "ready_after") == 0)
        *v = (double)(rec->end_ns - pr->start_ns) / 1e6;
    else if (strcmp(m->name, "attempts") == 0)
        *v = (double)pr->n_history;
    else if (strcmp(m->name, "duration") == 0)
        *v = (double)(rec->end_ns - rec->start_ns) / 1e6;
    else
        return 0;
    return 1;
}

th_level gate_thresholds(const probe_run *pr, const attempt_rec *rec,
                         th_eval *out)
{
    const probe_def *d = pr->def;
    th_level level = TH_NONE;
    for (size_t i = 0; i < d->n_conds; i++) {
        const threshold *t = &d->conds[i];
        th_eval *ev = &out[i];
        memset(ev, 0, sizeof *ev);
        ev->cond = t;
        if (threshold_is_core(t->metric))
            ev->reported = core_value(t->metric, pr, rec, &ev->value);
        for (size_t k = 0; k < rec->n_metrics; k++) {
            if (rec->metrics[k].decl == t->metric) {
                ev->reported = 1;
                ev->value = rec->metrics[k].value;
            }
        }
        ev->fired = ev->reported && threshold_holds(t, ev->value);
        if (ev->fired && t->level > level)
            level = t->level;
    }
    return level;
}

int gate_cond_retryable(const threshold *t)
{
    const gp_metric *m = t->metric;
    /* ready_after and attempts only grow with another attempt */
    return !(threshold_is_core(m) && (strcmp(m->name, "ready_after") == 0 ||
                                      strcmp(m->name, "attempts") == 0));
}

int gate_breach_retryable(const th_eval *ev, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ev[i].fired && gate_cond_retryable(ev[i].cond))
            return 1;
    return 0;
}

char *gate_breach_text(const th_eval *ev, size_t n, th_level level)
{
    for (size_t i = 0; i < n; i++) {
        if (ev[i].fired && ev[i].cond->level == level) {
            char seen[64];
            threshold_format(ev[i].cond->metric, ev[i].value, seen,
                             sizeof seen);
            return xasprintf("%s %s: %s is %s", th_level_name(level),
                             ev[i].cond->text, ev[i].cond->metric->name, seen);
        }
    }
    return NULL;
}

static int is_up(probe_status s)
{
    return s == ST_OK || s == ST_WARN;
}

/* A group's status: ok when `need` members are ok, warn when they are at
 * least up (ok or warn), fail otherwise. */
static void group_unit(const run_result *rr, const group_def *g, unit_result *u)
{
    u->name = g->name;
    u->is_group = 1;
    u->sev = g->sev;
    u->need = group_need(g);
    for (size_t i = 0; i < g->n_members; i++) {
        probe_status s = rr->probes[g->members[i]].status;
        u->ok += s == ST_OK;
        u->up += is_up(s);
    }
    u->status = u->ok >= u->need ? ST_OK : u->up >= u->need ? ST_WARN : ST_FAIL;
}

static void build_units(run_result *rr)
{
    const probe_set *ps = rr->set;
    decision *dc = &rr->dec;
    size_t n_groups = ps ? ps->n_groups : 0;
    dc->units = xcalloc(rr->n + n_groups + 1, sizeof *dc->units);
    for (size_t i = 0; i < rr->n; i++) {
        const probe_def *d = rr->probes[i].def;
        if (d->group != PROBE_NO_GROUP && d->group < n_groups)
            continue;
        unit_result *u = &dc->units[dc->n_units++];
        u->name = d->name;
        u->index = i;
        u->sev = d->pol.severity;
        u->status = rr->probes[i].status;
    }
    for (size_t g = 0; g < n_groups; g++) {
        unit_result *u = &dc->units[dc->n_units++];
        u->index = g;
        group_unit(rr, &ps->groups[g], u);
    }
}

/* The verdict of the units (verdict_of_unit's rule), leaving out those a
 * bypass overrides when skip_overridden. */
static verdict units_verdict(const decision *dc, int skip_overridden)
{
    verdict v = V_PASS;
    for (size_t i = 0; i < dc->n_units; i++) {
        const unit_result *u = &dc->units[i];
        if (!(skip_overridden && u->overridden))
            v = verdict_worst(v, verdict_of_unit(u->sev, u->status));
    }
    return v;
}

/* A group is inside a tag-scoped bypass when all its members are. */
static int unit_in_scope(const run_result *rr, const unit_result *u)
{
    const bypass *b = rr->bypass;
    if (!u->is_group) {
        const probe_def *d = rr->probes[u->index].def;
        return bypass_in_scope(b, d->tags, d->n_tags);
    }
    const group_def *g = &rr->set->groups[u->index];
    for (size_t i = 0; i < g->n_members; i++) {
        const probe_def *d = rr->probes[g->members[i]].def;
        if (!bypass_in_scope(b, d->tags, d->n_tags))
            return 0;
    }
    return 1;
}

/* The first unit that is not ok, preferring those that fail the gate. */
static const unit_result *culprit(const decision *dc, int required_only,
                                  int skip_overridden)
{
    for (size_t i = 0; i < dc->n_units; i++) {
        const unit_result *u = &dc->units[i];
        if (u->status == ST_OK || (skip_overridden && u->overridden))
            continue;
        if (!required_only || verdict_of_unit(u->sev, u->status) == V_FAIL)
            return u;
    }
    return NULL;
}

static char *unit_label(const unit_result *u)
{
    if (u->is_group)
        return xasprintf("%s group '%s' is %s (%zu of %zu needed ok)",
                         u->sev == SEV_REQUIRED ? "required" : "optional",
                         u->name, status_name(u->status), u->ok, u->need);
    return xasprintf("%s probe '%s' is %s",
                     u->sev == SEV_REQUIRED ? "required" : "optional", u->name,
                     status_name(u->status));
}

static char *rule_for(const decision *dc, verdict v, size_t n_overridden)
{
    const unit_result *u;
    char *what, *rule;
    switch (v) {
    case V_PASS:
        return xasprintf("pass: all %zu unit%s ok", dc->n_units,
                         dc->n_units == 1 ? "" : "s");
    case V_DEGRADED:
        u = culprit(dc, 0, 1);
        what = u ? unit_label(u) : xstrdup("a unit is not ok");
        rule =
            xasprintf("degraded: %s; every required unit is ok or warn", what);
        free(what);
        return rule;
    case V_FAIL:
        u = culprit(dc, 1, 0);
        what = u ? unit_label(u) : xstrdup("a required unit failed");
        rule = xasprintf("fail: %s", what);
        free(what);
        return rule;
    case V_BYPASSED:
        return xasprintf("bypassed: would be fail; the emergency bypass "
                         "overrode %zu failing unit%s",
                         n_overridden, n_overridden == 1 ? "" : "s");
    }
    return xstrdup("?");
}

/* Append one JSON line to the audit log; 0 or -1 with dc->audit_error. */
static int write_audit(run_result *rr, int64_t now_ms, const char *user,
                       const char *host)
{
    const bypass *b = rr->bypass;
    decision *dc = &rr->dec;
    json_t *over = json_array();
    for (size_t i = 0; i < dc->n_units; i++)
        if (dc->units[i].overridden)
            json_array_append_new(over, json_string(dc->units[i].name));
    char when[64], until[64];
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    t = (time_t)(b->expires_ms / 1000);
    gmtime_r(&t, &tm);
    strftime(until, sizeof until, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *line =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:s}", "time", when, "env",
                  rr->env ? rr->env : "", "verdict", "bypassed", "reason",
                  b->reason, "expires", until, "overridden", over, "user",
                  user ? user : "", "host", host ? host : "");
    char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
    json_decref(line);
    int rc = -1;
    int fd =
        open(b->audit_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (!text) {
        dc->audit_error = xstrdup("cannot encode the audit line");
    } else if (fd < 0) {
        dc->audit_error =
            xasprintf("cannot open %s: %s", b->audit_log, strerror(errno));
    } else {
        strbuf sb = {0};
        sb_appendf(&sb, "%s\n", text);
        /* One write of one line: O_APPEND keeps concurrent runs' lines
         * whole. */
        ssize_t w = write(fd, sb.buf, sb.len);
        if (w == (ssize_t)sb.len && fsync(fd) == 0)
            rc = 0;
        else
            dc->audit_error =
                xasprintf("cannot write %s: %s", b->audit_log,
                          w < 0 ? strerror(errno) : "short write");
        sb_free(&sb);
    }
    if (fd >= 0 && close(fd) != 0 && rc == 0) {
        rc = -1;
        dc->audit_error =
            xasprintf("cannot write %s: %s", b->audit_log, strerror(errno));
    }
    free(text);
    return rc;
}

void gate_decide(run_result *rr, int64_t now_ms, const char *user,
                 const char *host)
{
    decision *dc = &rr->dec;
    const bypass *b = rr->bypass;
    build_units(rr);
    dc->without_bypass = units_verdict(dc, 0);
    verdict v = dc->without_bypass;
    size_t n_over = 0;
    if (b && b->active) {
        for (size_t i = 0; i < dc->n_units; i++) {
            unit_result *u = &dc->units[i];
            u->in_scope = unit_in_scope(rr, u);
            u->overridden =
                u->in_scope && u->sev == SEV_REQUIRED && !is_up(u->status);
            n_over += u->overridden;
        }
        if (v == V_FAIL && units_verdict(dc, 1) != V_FAIL)
            v = V_BYPASSED;
    }
    if (v == V_BYPASSED && b->audit_log &&
        write_audit(rr, now_ms, user, host) < 0) {
        v = V_FAIL;
        dc->rule = xasprintf("fail: the bypass audit line could not be "
                             "written (%s), and a bypass is never silent",
                             dc->audit_error);
    }
    if (!dc->rule)
        dc->rule = rule_for(dc, v, n_over);
    if (rr->signo) {
        char *r = xasprintf("interrupted by a signal; %s", dc->rule);
        free(dc->rule);
        dc->rule = r;
    }

    /* 124 when the deadline cut a required unit that still decides. */
    int required_cut = 0;
    for (size_t i = 0; i < dc->n_units; i++) {
        const unit_result *u = &dc->units[i];
        if (u->sev != SEV_REQUIRED || u->overridden || u->status == ST_OK)
            continue;
        if (!u->is_group) {
            required_cut |= rr->probes[u->index].cut_by_deadline;
        } else {
            const group_def *g = &rr->set->groups[u->index];
            for (size_t k = 0; k < g->n_members; k++)
                required_cut |= rr->probes[g->members[k]].cut_by_deadline;
        }
    }
    rr->verdict = v;
    rr->exit_code = verdict_exit_code(v, required_cut, rr->signo);
}

const unit_result *gate_unit_of(const run_result *rr, size_t probe)
{
    const probe_def *d = rr->probes[probe].def;
    for (size_t i = 0; i < rr->dec.n_units; i++) {
        const unit_result *u = &rr->dec.units[i];
        if (u->is_group ? d->group == u->index : u->index == probe)
            return u;
    }
    return NULL;
}

void decision_free(decision *d)
{
    free(d->units);
    free(d->rule);
    free(d->audit_error);
    memset(d, 0, sizeof *d);
}
