/* core/explain.c - the decision trace behind --explain; see explain.h. */
#include "explain.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "gpcheck/sdk.h"
#include "policy.h"
#include "report.h"
#include "secrets.h"
#include "util.h"

static const cfg_section *section_of(const config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_sections; i++)
        if (strcmp(cfg->sections[i].name, name) == 0)
            return &cfg->sections[i];
    return NULL;
}

/* How the value of key shows: an option's as secrets_show() has it (the
 * text the plugin sees, with its secret parts masked), any other key's
 * masked with the probe's secrets. Newly allocated. */
static char *shown_value(const probe_def *p, const cfg_entry *e)
{
    const opt_value *v = probe_opt(p, e->key);
    if (v && v->set && v->text)
        return secrets_show(p, v->decl, v->text);
    return e->value ? secrets_mask(p, e->value) : xstrdup("?");
}

static void print_where(FILE *out, const origin *at)
{
    if (!at->file)
        fputs("default", out);
    else if (at->line > 0)
        fprintf(out, "%s:%d", at->file, at->line);
    else
        fputs(at->file, out);
}

void explain_var_sources(FILE *out, const config *cfg, const probe_def *p,
                         const char *key, const char *indent)
{
    const cfg_section *s = section_of(cfg, p->name);
    const cfg_entry *e = NULL;
    for (size_t i = 0; s && i < s->n && !e; i++)
        if (strcmp(s->entries[i].key, key) == 0)
            e = &s->entries[i];
    for (size_t i = 0; e && i < e->n_vars; i++) {
        const char *value;
        origin at;
        int src = config_var_source(cfg, e->vars[i], &value, &at);
        fprintf(out, "%s${%s}", indent, e->vars[i]);
        if (src == 0) {
            fputs(" is not set\n", out);
            continue;
        }
        const opt_value *v = probe_opt(p, key);
        if (v && (v->decl->flags & GP_OPT_SECRET)) {
            fputs(" = ***", out);
        } else {
            char *masked = secrets_mask(p, value);
            fprintf(out, " = %s", masked);
            free(masked);
        }
        if (src == 1) {
            fputs(" from the environment\n", out);
        } else {
            fputs(" from ", out);
            print_where(out, &at);
            fputc('\n', out);
        }
    }
}

static void policy_line(FILE *out, const policy *p)
{
    char *text = policy_describe(p);
    fprintf(out, "    effective policy: %s\n", text);
    free(text);
}

static void explain_probe(FILE *out, const config *cfg, const probe_set *ps,
                          const probe_def *p)
{
    fprintf(out, "  [%s] plugin %s (%s), defined at ", p->name, p->plugin->name,
            p->plugin->path);
    print_where(out, &p->at);
    fputc('\n', out);
    const cfg_section *s = section_of(cfg, p->name);
    for (size_t i = 0; s && i < s->n; i++) {
        const cfg_entry *e = &s->entries[i];
        char *shown = shown_value(p, e);
        fprintf(out, "    %-18s = %-24s ", e->key, shown);
        free(shown);
        print_where(out, &e->at);
        if (e->replaced.file) {
            fputs(" (overlay; replaces ", out);
            print_where(out, &e->replaced);
            fputc(')', out);
        }
        fputc('\n', out);
        explain_var_sources(out, cfg, p, e->key, "      ");
    }
    for (size_t i = 0; i < p->n_opts; i++) {
        const opt_value *v = &p->opts[i];
        if (v->has && !v->set) {
            char *shown = secrets_show(p, v->decl, v->text);
            fprintf(out, "    %-18s = %-24s plugin default\n", v->decl->key,
                    shown);
            free(shown);
        }
    }
    policy_line(out, &p->pol);
    for (size_t i = 0; i < p->n_conds; i++)
        fprintf(out, "    threshold: %s %s%s\n",
                th_level_name(p->conds[i].level), p->conds[i].text,
                !p->retry_on_threshold ? ""
                : gate_cond_retryable(&p->conds[i])
                    ? " (retried while attempts last)"
                    : " (not retried: another attempt only makes it larger)");
    if (p->group != PROBE_NO_GROUP)
        fprintf(out,
                "    member of group '%s': its own severity does not "
                "count on its own\n",
                ps->groups[p->group].name);
    for (size_t i = 0; i < p->n_after; i++)
        fprintf(out, "    starts after '%s' is ready\n",
                ps->probes[p->after[i]].name);
}

static void explain_group(FILE *out, const probe_set *ps, const group_def *g)
{
    const char *need = g->need == NEED_ALL       ? "all"
                       : g->need == NEED_PERCENT ? "percent"
                                                 : "count";
    fprintf(out, "  [group %s] at ", g->name);
    print_where(out, &g->at);
    fprintf(out, ": %s; need %zu of %zu (%s",
            g->sev == SEV_REQUIRED ? "required" : "optional", group_need(g),
            g->n_members, need);
    if (g->need != NEED_ALL)
        fprintf(out, " %g%s", g->need_value,
                g->need == NEED_PERCENT ? "%" : "");
    fputs("): ", out);
    for (size_t i = 0; i < g->n_members; i++)
        fprintf(out, "%s%s", i ? ", " : "", ps->probes[g->members[i]].name);
    fputc('\n', out);
}

static void explain_bypass(FILE *out, const bypass *b, int64_t now_ms)
{
    fputs("== bypass\n", out);
    if (!b || !b->configured) {
        fputs("  none configured\n", out);
        return;
    }
    fputs("  configured ", out);
    if (b->from_cli)
        fputs("on the command line (--bypass-reason, --bypass-expires)", out);
    else
        print_where(out, &b->at);
    fputc('\n', out);
    if (!b->enabled) {
        fputs("  enabled = false: not applied\n", out);
        return;
    }
    char until[64];
    bypass_format_time(b->expires_ms, until, sizeof until);
    fprintf(out, "  reason: %s\n  expires: %s (until %s), max_days %lld\n",
            b->reason, b->expires_text, until, (long long)b->max_days);
    if (b->scope_all) {
        fputs("  scope: all probes\n", out);
    } else {
        fputs("  scope: probes tagged", out);
        for (size_t i = 0; i < b->n_scope_tags; i++)
            fprintf(out, "%s %s", i ? "," : "", b->scope_tags[i]);
        fputc('\n', out);
    }
    if (b->expired) {
        fprintf(out,
                "  decision: EXPIRED at %s: not applied; the gate "
                "decides as if there were no bypass\n",
                until);
    } else {
        char left[32];
        fmt_duration(left, sizeof left, b->expires_ms - now_ms);
        fprintf(out,
                "  decision: ACTIVE for %s more: failures in scope do "
                "not fail the verdict\n",
                left);
    }
}

void explain_config(FILE *out, const config *cfg, const probe_set *ps,
                    const bypass *b, int64_t now_ms)
{
    fputs("== configuration\n", out);
    fprintf(out, "  main file: %s\n",
            cfg->main_file ? cfg->main_file : "(none: built-in defaults)");
    fprintf(out, "  conf dir:  %s\n", cfg->conf_dir ? cfg->conf_dir : "(none)");
    const char *src = cfg->env_source ? cfg->env_source : "default";
    if (strcmp(src, "default") == 0)
        src = "nothing set it: the built-in default";
    fprintf(out, "  env:       %s (from %s)\n", cfg->env, src);
    fputs("  env files read, in order (the environment wins over them):", out);
    if (!cfg->n_env_files)
        fputs(" none", out);
    fputc('\n', out);
    for (size_t i = 0; i < cfg->n_env_files; i++)
        fprintf(out, "    %zu. %s\n", i + 1, cfg->env_files[i]);
    fputs("  files read, in order (later keys win in env overlays):\n", out);
    for (size_t i = 0, k = 0; i < cfg->n_files; i++) {
        int env_file = 0;
        for (size_t j = 0; j < cfg->n_env_files && !env_file; j++)
            env_file = cfg->env_files[j] == cfg->files[i];
        if (!env_file)
            fprintf(out, "    %zu. %s\n", ++k, cfg->files[i]);
    }
    fprintf(out, "== probes selected (%zu)\n", ps->n);
    for (size_t i = 0; i < ps->n; i++)
        explain_probe(out, cfg, ps, &ps->probes[i]);
    if (ps->n_groups) {
        fputs("== groups\n", out);
        for (size_t i = 0; i < ps->n_groups; i++)
            explain_group(out, ps, &ps->groups[i]);
    }
    explain_bypass(out, b, now_ms);
}

static void explain_attempts(FILE *out, const probe_run *pr)
{
    fprintf(out, "  %s:", pr->def->name);
    if (!pr->n_history)
        fputs(" no attempt", out);
    fputc('\n', out);
    for (size_t i = 0; i < pr->n_history; i++) {
        const attempt_rec *a = &pr->history[i];
        strbuf line = {0};
        report_attempt(&line, a);
        fprintf(out, "    %s", sb_str(&line));
        sb_free(&line);
        if (a->breach)
            fprintf(out, " [%s breached]", th_level_name(a->breach));
        fputc('\n', out);
    }
    for (size_t i = 0; i < pr->n_evals; i++) {
        const th_eval *ev = &pr->evals[i];
        char seen[64] = "not reported";
        if (ev->reported)
            threshold_format(ev->cond->metric, ev->value, seen, sizeof seen);
        fprintf(out, "    %s %s: %s is %s -> %s\n",
                th_level_name(ev->cond->level), ev->cond->text,
                ev->cond->metric->name, seen,
                ev->fired ? "FIRED" : "holds not");
    }
    fprintf(out, "    => %s: %s\n", status_name(pr->status), pr->message);
}

void explain_run(FILE *out, const run_result *rr)
{
    const decision *dc = &rr->dec;
    fputs("== attempts\n", out);
    for (size_t i = 0; i < rr->n; i++)
        explain_attempts(out, &rr->probes[i]);
    fputs("== units of the verdict\n", out);
    for (size_t i = 0; i < dc->n_units; i++) {
        const unit_result *u = &dc->units[i];
        fprintf(out, "  %s %s '%s': %s",
                u->sev == SEV_REQUIRED ? "required" : "optional",
                u->is_group ? "group" : "probe", u->name,
                status_name(u->status));
        if (u->is_group) {
            const group_def *g = &rr->set->groups[u->index];
            fprintf(out, " (%zu ok, %zu ok or warn, of %zu; need %zu:", u->ok,
                    u->up, g->n_members, u->need);
            for (size_t k = 0; k < g->n_members; k++) {
                const probe_run *m = &rr->probes[g->members[k]];
                fprintf(out, " %s=%s", m->def->name, status_name(m->status));
            }
            fputc(')', out);
        }
        if (u->overridden)
            fputs(" [overridden by the bypass]", out);
        else if (u->in_scope)
            fputs(" [in the bypass's scope]", out);
        fputc('\n', out);
    }
    if (rr->bypass && rr->bypass->active)
        fprintf(out, "  without the bypass the verdict would be %s\n",
                verdict_name(dc->without_bypass));
    if (dc->audit_error)
        fprintf(out, "  bypass audit failed: %s\n", dc->audit_error);
    fprintf(out, "== verdict\n  %s (rule: %s); exit status %d\n",
            verdict_name(rr->verdict), dc->rule ? dc->rule : "?",
            rr->exit_code);
}
