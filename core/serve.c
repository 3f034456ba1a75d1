/*
 * core/serve.c - `gpcheck serve` (see serve.h): the supervisor's schedule
 * of probings, the snapshots it publishes, and the HTTP endpoints that
 * libmicrohttpd's threads answer from them.
 *
 * Threads: the supervisor (this file's serve_main and everything it calls
 * that is not marked "request thread") is the only one that runs probes,
 * reads the configuration or touches a probe_def. The request threads see
 * only `server` fields under server.mu and the snapshot they took a
 * reference to; a snapshot is immutable once published, holds every
 * document already rendered, and is freed by whoever drops its last
 * reference.
 *
 * Probing: every probe has its own next time, interval * (1 +- jitter)
 * after its last probing started, so probes drift apart. The probes due
 * at once run together in one runner_run() (the runner's parallelism,
 * isolation and deadlines); while a probing runs the supervisor is inside
 * the runner, which is fine: requests are answered from the snapshot,
 * and wake-ups wait in the eventfd until it returns. Warmup applies to a
 * probe's first probing only (services coming up beside the gate); later
 * probings retry under the probe's attempts/delay policy.
 *
 * libmicrohttpd is loaded when serve starts (core/dl.h), not linked: its
 * functions are called as sym_MHD_*.
 */
#include "serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dl.h"
#include "gate.h"
#include "report.h"
#include "runner.h"
#include "util.h"
#include "value.h"

#define DEFAULT_LISTEN "127.0.0.1:9847"
/* Attempts of each probe kept for GET /v1/probes/NAME, over probings. */
#define RECENT_ATTEMPTS 20
/* A fresh check waits at most this long for its probing. */
#define FRESH_WAIT_MS (120 * 1000)
/* /v1/wait?timeout= at most. */
#define MAX_WAIT_MS (10 * 60 * 1000)

typedef enum doc_fmt {
    FMT_JSON = 0,
    FMT_TEXT,
    FMT_PROMETHEUS,
    FMT_JUNIT,
    N_FMT
} doc_fmt;

static const struct {
    const char *name, *ctype;
} fmts[N_FMT] = {
    [FMT_JSON] = {"json", "application/json"},
    [FMT_TEXT] = {"text", "text/plain; charset=utf-8"},
    [FMT_PROMETHEUS] = {"prometheus", "text/plain; version=0.0.4"},
    [FMT_JUNIT] = {"junit", "application/xml"},
};

/* One probe in a snapshot: what GET /v1/probes/NAME and /metrics need. */
typedef struct snap_probe {
    char *name;        /* owned */
    char *json;        /* owned; the /v1/probes/NAME document */
    int has;           /* has a result */
    int64_t result_ms; /* wall clock of the latest result */
    uint64_t probings; /* probings finished */
    int stale;
} snap_probe;

/* Immutable once published. */
typedef struct snapshot {
    unsigned refs; /* under server.mu */
    uint64_t seq;
    int pending;        /* a probe has no first result yet */
    int ready;          /* pass, degraded or bypassed, and not pending */
    char *word;         /* owned; the verdict's name, or "pending" */
    char *doc[N_FMT];   /* owned; the verdict in each format */
    snap_probe *probes; /* owned */
    size_t n;
} snapshot;

/* The supervisor's state of one probe of the current generation. */
typedef struct pslot {
    probe_run latest; /* owned fields; valid when has */
    int has;
    int64_t result_ns;  /* monotonic, of the latest result */
    int64_t result_ms;  /* wall clock */
    int64_t started_ns; /* of the latest probing, for the spacing */
    uint64_t probings;
    uint64_t recorded; /* probings when the history last kept a run */
    attempt_rec recent[RECENT_ATTEMPTS]; /* ring; messages owned */
    int64_t recent_ms[RECENT_ATTEMPTS];  /* wall clock of each end */
    size_t n_recent, recent_head;
    probe_status last_logged; /* for state-change log lines */
    int logged;
} pslot;

/* Long-polls in progress from one client address. */
typedef struct ip_waits {
    char addr[64];
    unsigned n;
} ip_waits;

/* One --listen address and its daemon. */
typedef struct listener {
    struct sockaddr_storage ss;
    struct MHD_Daemon *d;
    char *cert, *key; /* owned PEM (TLS), valid while d runs; NULL: none */
} listener;

typedef struct route_count {
    const char *route;
    unsigned code;
    atomic_ulong n;
} route_count;

/* Server-side request counters, one per (route, code) pair seen. */
static const char *const routes[] = {
    "/v1/verdict", "/readyz",  "/v1/probes", "/metrics",
    "/healthz",    "/v1/wait", "/-/reload",  "other",
};
static const unsigned codes[] = {200, 400, 401, 404, 405, 413, 429, 503};

typedef struct server {
    const serve_opts *o;
    serve_gen *gen;      /* owned; supervisor only */
    pslot *slots;        /* owned; gen->ps.n; supervisor only */
    int primed;          /* every probe of gen has a result */
    int dirty;           /* a result came since the last publish */
    int64_t next_stale;  /* when the next result goes stale; 0: none */
    probe_def *defs;     /* owned array (shallow copies): what the runner
                            runs; gen->ps.n */
    int64_t *restart_at; /* owned; runner_loop.restart_at */
    history *hist;       /* owned; NULL: no history; supervisor only */
    int hup;             /* SIGHUP came (runner_opts.hup_seen) */
    uint64_t rng;
    verdict last_verdict;
    int last_word_logged;
    char last_word[16];

    pthread_mutex_t mu;  /* guards everything below */
    pthread_cond_t cond; /* broadcast on every publish and on stopping */
    snapshot *cur;       /* one reference held here */
    uint64_t seq;
    int stopping;
    int reload_wanted;
    /* Fresh checks: per probe of the current generation, by name. */
    char **names;         /* owned; the current generation's probe names */
    uint64_t *done;       /* probings finished, per probe */
    uint64_t *want;       /* a fresh probing is wanted until done >= this */
    int64_t *fresh_ok_ns; /* no new fresh probing before this */
    size_t n_names;
    unsigned waits;     /* long-polls in progress */
    ip_waits *ip_waits; /* owned; per client address, those waiting */
    size_t n_ip_waits, cap_ip_waits;
    char *token;       /* owned; NULL: none */
    int reload_ok;     /* the last reload's outcome (1 at start) */
    int64_t reload_ms; /* when */
    int64_t start_ms;

    int efd;      /* eventfd: a request thread wakes the supervisor */
    listener *ls; /* owned; one per --listen; supervisor only */
    size_t n_ls;
    listener *retired; /* owned; replaced by a TLS reload, still serving
                          their connections */
    size_t n_retired, cap_retired;
    route_count counts[ARRAY_LEN(routes) * ARRAY_LEN(codes)];
    atomic_ulong client_errors;
} server;

static int tls_reload(server *s, char *err, size_t errlen);
static void reap_retired(server *s);

/* ------------------------------------------------------------------------ */
/* Logging: one line per state change, reload, client error.               */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static void slog(const server *s, const char *what, ...)
    __attribute__((sentinel));

/* Log `event` with key/value pairs (NULL-terminated, values already
 * masked); any thread. */
static void slog(const server *s, const char *what, ...)
{
    va_list ap;
    char when[32];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    strbuf sb = {0};
    json_t *obj = NULL;
    if (s->o->log_json) {
        char *t = xasprintf("%s.%03ldZ", when, ts.tv_nsec / 1000000);
        obj = json_pack("{s:s,s:s}", "time", t, "event", what);
        free(t);
    } else {
        sb_appendf(&sb, "%s.%03ldZ gpcheck serve: %s", when,
                   ts.tv_nsec / 1000000, what);
    }
    va_start(ap, what);
    for (const char *k; (k = va_arg(ap, const char *)) != NULL;) {
        const char *v = va_arg(ap, const char *);
        if (obj)
            json_object_set_new(obj, k, json_string(v ? v : ""));
        else if (v && strpbrk(v, " \"="))
            sb_appendf(&sb, " %s=\"%s\"", k, v);
        else
            sb_appendf(&sb, " %s=%s", k, v ? v : "");
    }
    va_end(ap);
    if (obj) {
        char *t = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (t)
            sb_append(&sb, t);
        free(t);
        json_decref(obj);
    }
    sb_append(&sb, "\n");
    pthread_mutex_lock(&log_mu);
    fputs(sb_str(&sb), stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log_mu);
    sb_free(&sb);
}

/* ------------------------------------------------------------------------ */
/* Snapshots                                                                */

static void snapshot_unref(server *s, snapshot *sn)
{
    if (!sn)
        return;
    pthread_mutex_lock(&s->mu);
    unsigned left = --sn->refs;
    pthread_mutex_unlock(&s->mu);
    if (left)
        return;
    free(sn->word);
    for (int f = 0; f < N_FMT; f++)
        free(sn->doc[f]);
    for (size_t i = 0; i < sn->n; i++) {
        free(sn->probes[i].name);
        free(sn->probes[i].json);
    }
    free(sn->probes);
    free(sn);
}

/* The current snapshot with a reference for the caller (request thread). */
static snapshot *snapshot_get(server *s)
{
    pthread_mutex_lock(&s->mu);
    snapshot *sn = s->cur;
    if (sn)
        sn->refs++;
    pthread_mutex_unlock(&s->mu);
    return sn;
}

static int64_t max_age_ns(const probe_def *d)
{
    int64_t ms = d->pol.max_age_ms ? d->pol.max_age_ms : 3 * d->pol.interval_ms;
    return ms * NS_PER_MS;
}

/* The /v1/probes/NAME document: the probe's latest result as in the JSON
 * report, when it was taken, and its recent attempts over probings. */
static char *probe_doc(const server *s, const run_result *rr, size_t i,
                       int stale)
{
    const pslot *p = &s->slots[i];
    json_t *latest =
        p->has ? report_json_probe(rr, &rr->probes[i]) : json_null();
    json_t *recent = json_array();
    for (size_t k = 0; k < p->n_recent; k++) {
        size_t at = (p->recent_head + RECENT_ATTEMPTS - p->n_recent + k) %
                    RECENT_ATTEMPTS;
        const attempt_rec *a = &p->recent[at];
        json_array_append_new(
            recent, json_pack("{s:I,s:s,s:s,s:f}", "ended_at_ms",
                              (json_int_t)p->recent_ms[at], "outcome",
                              attempt_res_name(a->res), "message",
                              a->message ? a->message : "", "duration_ms",
                              ns_to_ms(a->end_ns - a->start_ns)));
    }
    json_t *doc = json_pack(
        "{s:s,s:s,s:b,s:I,s:I,s:o,s:o}", "name", s->gen->ps.probes[i].name,
        "status", p->has ? status_name(rr->probes[i].status) : "pending",
        "stale", stale, "result_at_ms", (json_int_t)p->result_ms, "probings",
        (json_int_t)p->probings, "latest", latest, "recent", recent);
    char *t =
        doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    return t;
}

/* Add the serve fields to the JSON report: pending, stale probes. */
static char *json_with_serve(char *doc, int pending, const char *word,
                             json_t *stale)
{
    json_t *j = doc ? json_loads(doc, 0, NULL) : NULL;
    free(doc);
    if (!j) {
        json_decref(stale);
        return NULL;
    }
    if (pending) {
        json_object_set_new(j, "verdict", json_string("pending"));
        json_object_set_new(j, "exit_code", json_integer(1));
    }
    json_object_set_new(j, "serve",
                        json_pack("{s:s,s:b,s:o}", "status", word, "pending",
                                  pending, "stale", stale));
    char *t = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    return t;
}

static const sink_ops *const doc_renderers[N_FMT] = {
    [FMT_JSON] = &sink_json_ops,
    [FMT_PROMETHEUS] = &sink_prometheus_ops,
    [FMT_JUNIT] = &sink_junit_ops,
};

static void log_changes(server *s, const run_result *rr, const char *word)
{
    for (size_t i = 0; i < rr->n; i++) {
        pslot *p = &s->slots[i];
        if (!p->has)
            continue;
        probe_status st = rr->probes[i].status;
        if (p->logged && p->last_logged == st)
            continue;
        slog(s, "probe", "probe", rr->probes[i].def->name, "from",
             p->logged ? status_name(p->last_logged) : "pending", "to",
             status_name(st), "message", rr->probes[i].message, NULL);
        p->logged = 1;
        p->last_logged = st;
    }
    if (!s->last_word_logged || strcmp(s->last_word, word) != 0) {
        slog(s, "verdict", "from", s->last_word_logged ? s->last_word : "none",
             "to", word, NULL);
        snprintf(s->last_word, sizeof s->last_word, "%s", word);
        s->last_word_logged = 1;
    }
}

/*
 * Decide the verdict over every probe's latest result (stale ones count as
 * timeout), render every document, and publish the snapshot. Returns the
 * monotonic time at which the next result goes stale, or 0.
 */
/* The history keeps one run per round: once every probe has a result
 * newer than the last run kept, the verdict over those results. A round
 * of stale results is kept too (they count as timeout, as served). */
static void keep_round(server *s, const run_result *rr)
{
    size_t n = s->gen->ps.n;
    if (!s->hist || !n)
        return;
    for (size_t i = 0; i < n; i++)
        if (s->slots[i].probings <= s->slots[i].recorded)
            return;
    char err[1024];
    if (history_record(s->hist, rr, NULL, &s->o->history->keep, s->o->host, err,
                       sizeof err) < 0) {
        slog(s, "history-write-failed", "reason", err, NULL);
        return;
    }
    for (size_t i = 0; i < n; i++)
        s->slots[i].recorded = s->slots[i].probings;
}

static int64_t publish(server *s)
{
    const probe_set *ps = &s->gen->ps;
    int64_t now = now_ns();
    run_result rr = {0};
    rr.env = s->gen->cfg.env;
    rr.set = ps;
    rr.bypass = &s->gen->byp;
    rr.jobs = s->gen->cfg.jobs;
    rr.deadline_ms = s->gen->cfg.deadline_ms;
    rr.n = ps->n;
    rr.probes = xcalloc(ps->n + 1, sizeof *rr.probes);
    rr.started_wall_ms = wall_ms();
    rr.start_ns = rr.end_ns = now;
    char **msgs = xcalloc(ps->n + 1, sizeof *msgs); /* owned, for stale */
    json_t *stale = json_array();
    int pending = 0;
    int64_t next_stale = 0;
    int *is_stale = xcalloc(ps->n + 1, sizeof *is_stale);
    for (size_t i = 0; i < ps->n; i++) {
        pslot *p = &s->slots[i];
        probe_run *pr = &rr.probes[i];
        if (!p->has) {
            pending = 1;
            pr->def = &ps->probes[i];
            pr->state = PS_DONE;
            pr->status = ST_SKIPPED;
            pr->message = msgs[i] = xstrdup("pending: no result yet");
            continue;
        }
        *pr = p->latest; /* shallow: owned by the slot */
        pr->def = &ps->probes[i];
        int64_t dies = p->result_ns + max_age_ns(&ps->probes[i]);
        if (now >= dies) {
            char age[32], lim[32];
            fmt_duration(age, sizeof age, (now - p->result_ns) / NS_PER_MS);
            fmt_duration(lim, sizeof lim, max_age_ns(pr->def) / NS_PER_MS);
            pr->status = ST_TIMEOUT;
            pr->message = msgs[i] =
                xasprintf("stale: the last result is %s old (max_age %s): "
                          "%s",
                          age, lim, p->latest.message ? p->latest.message : "");
            json_array_append_new(stale, json_string(pr->def->name));
            is_stale[i] = 1;
        } else if (!next_stale || dies < next_stale) {
            next_stale = dies;
        }
    }
    /* `after`: the runner orders only a probe's first probing; later, a
     * probe whose `after` probe is not ok or warn counts as skipped, as in
     * a run (bounded passes: chains of `after` settle in n). */
    for (size_t pass = 0; pass < ps->n; pass++) {
        int changed = 0;
        for (size_t i = 0; i < ps->n; i++) {
            probe_run *pr = &rr.probes[i];
            if (pr->status == ST_SKIPPED)
                continue;
            for (size_t k = 0; k < ps->probes[i].n_after; k++) {
                const probe_run *d = &rr.probes[ps->probes[i].after[k]];
                if (d->status == ST_OK || d->status == ST_WARN)
                    continue;
                free(msgs[i]);
                pr->message = msgs[i] =
                    xasprintf("after '%s', which is %s", d->def->name,
                              status_name(d->status));
                pr->status = ST_SKIPPED;
                changed = 1;
                break;
            }
        }
        if (!changed)
            break;
    }
    gate_decide(&rr, wall_ms(), s->o->user, s->o->host);
    if (rr.dec.audit_error)
        slog(s, "bypass-audit-failed", "reason", rr.dec.audit_error, NULL);
    if (!pending)
        keep_round(s, &rr);

    snapshot *sn = xcalloc(1, sizeof *sn);
    sn->refs = 1;
    sn->pending = pending;
    sn->ready = !pending && rr.exit_code == 0;
    sn->word = xstrdup(pending ? "pending" : verdict_name(rr.verdict));
    for (int f = 0; f < N_FMT; f++) {
        if (f == FMT_TEXT) {
            sn->doc[f] = report_text_render(&rr);
            if (pending && sn->doc[f]) {
                char *t = xasprintf("%sgpcheck serve: pending: not every "
                                    "probe has a first result yet\n",
                                    sn->doc[f]);
                free(sn->doc[f]);
                sn->doc[f] = t;
            }
        } else {
            sn->doc[f] = doc_renderers[f]->render(&rr);
        }
    }
    sn->doc[FMT_JSON] = json_with_serve(sn->doc[FMT_JSON], pending, sn->word,
                                        json_incref(stale));
    sn->n = ps->n;
    sn->probes = xcalloc(ps->n + 1, sizeof *sn->probes);
    for (size_t i = 0; i < ps->n; i++) {
        sn->probes[i].name = xstrdup(ps->probes[i].name);
        sn->probes[i].json = probe_doc(s, &rr, i, is_stale[i]);
        sn->probes[i].has = s->slots[i].has;
        sn->probes[i].result_ms = s->slots[i].result_ms;
        sn->probes[i].probings = s->slots[i].probings;
        sn->probes[i].stale = is_stale[i];
    }
    log_changes(s, &rr, sn->word);
    json_decref(stale);

    pthread_mutex_lock(&s->mu);
    snapshot *old = s->cur;
    sn->seq = ++s->seq;
    s->cur = sn;
    /* Counted here, not when stored: a fresh check that sees its probing
     * done finds its result in s->cur. */
    for (size_t i = 0; i < ps->n && i < s->n_names; i++)
        s->done[i] = s->slots[i].probings;
    s->dirty = 0;
    s->next_stale = next_stale;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    snapshot_unref(s, old);

    decision_free(&rr.dec);
    free(rr.probes);
    for (size_t i = 0; i < ps->n; i++)
        free(msgs[i]);
    free(msgs);
    free(is_stale);
    return next_stale;
}

/* ------------------------------------------------------------------------ */
/* The schedule: hooks of the runner's loop (runner_loop)                   */

static double rnd(server *s)
{
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (double)((s->rng * UINT64_C(2685821657736338717)) >> 11) /
           9007199254740992.0;
}

static int64_t jittered(server *s, const policy *p)
{
    double f = 1.0 + p->jitter * (2.0 * rnd(s) - 1.0);
    return (int64_t)((double)p->interval_ms * f) * NS_PER_MS;
}

static void pslot_clear(pslot *p)
{
    for (size_t k = 0; k < p->latest.n_history; k++) {
        free(p->latest.history[k].message);
        free(p->latest.history[k].metrics);
    }
    free(p->latest.history);
    free(p->latest.message);
    free(p->latest.evals);
    memset(&p->latest, 0, sizeof p->latest);
    p->has = 0;
}

static void slots_free(server *s)
{
    for (size_t i = 0; s->slots && i < s->gen->ps.n; i++) {
        pslot_clear(&s->slots[i]);
        for (size_t k = 0; k < RECENT_ATTEMPTS; k++)
            free(s->slots[i].recent[k].message);
    }
    free(s->slots);
    free(s->defs);
    free(s->restart_at);
    s->slots = NULL;
    s->defs = NULL;
    s->restart_at = NULL;
}

/* Slots for s->gen, the runner's copies of its probes, and the request
 * threads' per-probe tables (by name). */
static void slots_setup(server *s)
{
    size_t n = s->gen->ps.n;
    s->slots = xcalloc(n + 1, sizeof *s->slots);
    s->defs = xcalloc(n + 1, sizeof *s->defs);
    s->restart_at = xcalloc(n + 1, sizeof *s->restart_at);
    for (size_t i = 0; i < n; i++) {
        /* Shallow copies the runner may read while it runs; groups are
         * decided over every latest result in publish(), and warmup is
         * dropped after the first probing (on_done). */
        s->defs[i] = s->gen->ps.probes[i];
        s->defs[i].group = PROBE_NO_GROUP;
    }
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n_names; i++)
        free(s->names[i]);
    free(s->names);
    free(s->done);
    free(s->want);
    free(s->fresh_ok_ns);
    s->n_names = n;
    s->names = xcalloc(n + 1, sizeof *s->names);
    s->done = xcalloc(n + 1, sizeof *s->done);
    s->want = xcalloc(n + 1, sizeof *s->want);
    s->fresh_ok_ns = xcalloc(n + 1, sizeof *s->fresh_ok_ns);
    for (size_t i = 0; i < n; i++)
        s->names[i] = xstrdup(s->gen->ps.probes[i].name);
    pthread_cond_broadcast(&s->cond); /* waiters re-find their probe */
    pthread_mutex_unlock(&s->mu);
}

/* Keep the attempts of a finished probing in the slot's ring. */
static void remember_attempts(pslot *p, const probe_run *pr)
{
    int64_t wall = wall_ms(), mono = now_ns();
    for (size_t k = 0; k < pr->n_history; k++) {
        attempt_rec *a = &p->recent[p->recent_head];
        free(a->message);
        *a = pr->history[k];
        a->message =
            xstrdup(pr->history[k].message ? pr->history[k].message : "");
        a->metrics = NULL;
        a->n_metrics = 0;
        p->recent_ms[p->recent_head] =
            wall - (mono - pr->history[k].end_ns) / NS_PER_MS;
        p->recent_head = (p->recent_head + 1) % RECENT_ATTEMPTS;
        if (p->n_recent < RECENT_ATTEMPTS)
            p->n_recent++;
    }
}

/* A deep copy of a finished probe_run (the runner reuses its own). */
static void copy_run(probe_run *dst, const probe_run *src)
{
    *dst = *src;
    dst->message = xstrdup(src->message ? src->message : "");
    dst->history = xcalloc(src->n_history + 1, sizeof *dst->history);
    dst->cap_history = src->n_history + 1;
    for (size_t k = 0; k < src->n_history; k++) {
        const attempt_rec *a = &src->history[k];
        attempt_rec *b = &dst->history[k];
        *b = *a;
        b->message = xstrdup(a->message ? a->message : "");
        b->metrics = xcalloc(a->n_metrics + 1, sizeof *b->metrics);
        if (a->n_metrics)
            memcpy(b->metrics, a->metrics, a->n_metrics * sizeof *b->metrics);
    }
    dst->evals = NULL;
    if (src->n_evals) {
        dst->evals = xcalloc(src->n_evals, sizeof *dst->evals);
        memcpy(dst->evals, src->evals, src->n_evals * sizeof *dst->evals);
    }
}

/* runner_loop.done: keep the result, schedule the next probing, publish. */
static void on_done(void *ud, size_t i, const probe_run *pr)
{
    server *s = ud;
    pslot *p = &s->slots[i];
    remember_attempts(p, pr);
    pslot_clear(p);
    copy_run(&p->latest, pr);
    p->latest.def = &s->gen->ps.probes[i];
    p->has = 1;
    p->result_ns = now_ns();
    p->result_ms = wall_ms();
    p->probings++;
    int64_t from = pr->start_ns ? pr->start_ns : p->result_ns;
    s->restart_at[i] = from + jittered(s, &s->defs[i].pol);
    if (s->restart_at[i] <= p->result_ns)
        s->restart_at[i] = p->result_ns + NS_PER_MS;
    p->started_ns = from;
    s->defs[i].pol.warmup_ms = 0; /* warmup: the first probing only */
    if (!s->primed) {
        int all = 1;
        for (size_t k = 0; k < s->gen->ps.n; k++)
            all &= s->slots[k].has;
        s->primed = all;
    }
    s->dirty = 1;
    /* After a reload the old snapshot stays until the new configuration
     * has a result for every probe: no 503 flap. */
    if (s->primed || !s->cur || s->cur->pending)
        publish(s);
}

/* runner_loop.tick: fresh checks, stale results, reloads. */
static int64_t on_tick(void *ud, int64_t now)
{
    server *s = ud;
    uint64_t v;
    while (read(s->efd, &v, sizeof v) == (ssize_t)sizeof v)
        ;
    pthread_mutex_lock(&s->mu);
    int stop = s->reload_wanted || s->hup;
    for (size_t i = 0; i < s->n_names; i++) {
        if (s->want[i] <= s->done[i])
            continue;
        /* A probing in flight serves the wanted one (the runner restarts
         * only a probe that is done); else probe now. The spacing is the
         * request side's (fresh_check). */
        if (s->restart_at[i] > now)
            s->restart_at[i] = now;
    }
    pthread_mutex_unlock(&s->mu);
    if (stop)
        return -1;
    if (s->n_retired)
        reap_retired(s);
    if (s->next_stale && now >= s->next_stale &&
        (s->primed || !s->cur || s->cur->pending))
        publish(s);
    int64_t next = now + 1000 * NS_PER_MS;
    if (s->next_stale && s->next_stale > now && s->next_stale < next)
        next = s->next_stale;
    return next;
}

/*
 * Probe s->gen until a signal or a reload request ends the run. Returns
 * the signal that stopped it (SIGTERM, SIGINT), or 0 for a reload (or a
 * supervisor that could not start: then after a pause).
 */
static int probe_gen(server *s)
{
    probe_set set = {.probes = s->defs, .n = s->gen->ps.n};
    runner_loop lp = {.ud = s,
                      .restart_at = s->restart_at,
                      .done = on_done,
                      .fd = s->efd,
                      .tick = on_tick};
    runner_opts ro = {.jobs = s->gen->cfg.jobs,
                      .child_stderr = s->o->verbose,
                      .env = s->gen->cfg.env,
                      .user = s->o->user,
                      .host = s->o->host,
                      .hup_seen = &s->hup,
                      .loop = &lp,
                      /* /metrics and every document show all metrics */
                      .all_metrics = 1,
                      .spawner = s->o->spawner};
    sinks ss = {0};
    run_result rr;
    if (runner_run(&set, &ro, &ss, &rr) < 0) {
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
        return 0;
    }
    int signo = rr.signo;
    run_result_free(&rr);
    return signo;
}

/* ------------------------------------------------------------------------ */
/* Reload                                                                   */

static char *read_token(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "--token-file %s: %s", path, strerror(errno));
        return NULL;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    if (n < 16) {
        snprintf(err, errlen,
                 "--token-file %s: the token must be at least 16 "
                 "characters",
                 path);
        return NULL;
    }
    return xstrdup(buf);
}

static void set_reload(server *s, int ok)
{
    pthread_mutex_lock(&s->mu);
    s->reload_ok = ok;
    s->reload_ms = wall_ms();
    pthread_mutex_unlock(&s->mu);
}

/* Re-read everything; swap only a generation that is valid as a whole. */
static void reload(server *s, const char *why)
{
    serve_gen *g = xcalloc(1, sizeof *g);
    diag d = {0};
    int ok = s->o->load(s->o->ud, g, &d) == 0 && d.n == 0;
    if (ok && g->ps.n == 0) {
        diag_add(&d, NULL, 0, "no probe selected for env '%s'", g->cfg.env);
        ok = 0;
    }
    char *token = NULL;
    char terr[512] = "";
    if (ok && s->o->token_file &&
        !(token = read_token(s->o->token_file, terr, sizeof terr))) {
        diag_add(&d, NULL, 0, "%s", terr);
        ok = 0;
    }
    /* Last: once it succeeds the new certificate is live. */
    if (ok && tls_reload(s, terr, sizeof terr) < 0) {
        diag_add(&d, NULL, 0, "%s", terr);
        ok = 0;
        free(token);
        token = NULL;
    }
    if (!ok) {
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        if (m) {
            diag_print(&d, m);
            fclose(m);
        }
        for (char *c = buf; c && *c; c++)
            if (*c == '\n')
                *c = *(c + 1) ? ';' : '\0';
        slog(s, "reload-failed", "trigger", why, "reason",
             buf ? buf : "invalid", "kept", "the previous configuration", NULL);
        free(buf);
        s->o->gen_free(g);
        free(g);
        diag_free(&d);
        set_reload(s, 0);
        return;
    }
    diag_free(&d);
    slots_free(s);
    s->o->gen_free(s->gen);
    free(s->gen);
    s->gen = g;
    s->primed = 0;
    slots_setup(s);
    pthread_mutex_lock(&s->mu);
    free(s->token);
    s->token = token;
    pthread_mutex_unlock(&s->mu);
    set_reload(s, 1);
    char n[32];
    snprintf(n, sizeof n, "%zu", g->ps.n);
    slog(s, "reloaded", "trigger", why, "probes", n, NULL);
}

/* ------------------------------------------------------------------------ */
/* Requests (request threads)                                               */

static void count(server *s, const char *route, unsigned code)
{
    for (size_t i = 0; i < ARRAY_LEN(s->counts); i++) {
        route_count *c = &s->counts[i];
        if (c->code == code && strcmp(c->route, route) == 0) {
            atomic_fetch_add(&c->n, 1);
            return;
        }
    }
}

static enum MHD_Result reply(server *s, struct MHD_Connection *c,
                             const char *route, unsigned code,
                             const char *ctype, const char *body)
{
    struct MHD_Response *r = sym_MHD_create_response_from_buffer(
        strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    sym_MHD_add_response_header(r, "Content-Type", ctype);
    sym_MHD_add_response_header(r, "Cache-Control", "no-store");
    if (code == 401)
        sym_MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    enum MHD_Result rc = sym_MHD_queue_response(c, code, r);
    sym_MHD_destroy_response(r);
    count(s, route, code);
    return rc;
}

static const char *client_addr(struct MHD_Connection *c, char *buf, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        sym_MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(buf, len, "?");
    if (!ci || !ci->client_addr)
        return buf;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET,
                  &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                  buf, (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6,
                  &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                  buf, (socklen_t)len);
    return buf;
}

/* A 4xx: answered and logged (path without its query: no token there). */
static enum MHD_Result client_error(server *s, struct MHD_Connection *c,
                                    const char *route, const char *url,
                                    unsigned code, const char *msg)
{
    char addr[64], cs[8];
    snprintf(cs, sizeof cs, "%u", code);
    char *path = str_sanitize(url);
    if (strlen(path) > 200)
        path[200] = '\0';
    slog(s, "client-error", "client", client_addr(c, addr, sizeof addr), "path",
         path, "code", cs, "reason", msg, NULL);
    free(path);
    atomic_fetch_add(&s->client_errors, 1);
    char *body = xasprintf("{\"error\": \"%s\"}\n", msg);
    enum MHD_Result rc = reply(s, c, route, code, "application/json", body);
    free(body);
    return rc;
}

/* Constant-time: the time taken says nothing about how much matched. */
static int token_ok(server *s, struct MHD_Connection *c)
{
    pthread_mutex_lock(&s->mu);
    char *want = s->token ? xstrdup(s->token) : NULL;
    pthread_mutex_unlock(&s->mu);
    if (!want)
        return 1;
    const char *h =
        sym_MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    int ok = 0;
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        const char *got = h + 7;
        size_t gl = strlen(got), wl = strlen(want);
        unsigned char diff = gl != wl;
        for (size_t i = 0; i < wl; i++)
            diff |=
                (unsigned char)want[i] ^ (unsigned char)(i < gl ? got[i] : 0);
        ok = diff == 0;
    }
    explicit_bzero(want, strlen(want));
    free(want);
    return ok;
}

/* ?format=, else Accept, else JSON; -1 for an unknown ?format=. */
static int pick_format(struct MHD_Connection *c, int dflt)
{
    const char *f =
        sym_MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
    if (f) {
        for (int i = 0; i < N_FMT; i++)
            if (strcmp(f, fmts[i].name) == 0)
                return i;
        return -1;
    }
    const char *a =
        sym_MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
    if (!a)
        return dflt;
    if (strstr(a, "application/json"))
        return FMT_JSON;
    if (strstr(a, "xml"))
        return FMT_JUNIT;
    if (strstr(a, "version=0.0.4") || strstr(a, "openmetrics"))
        return FMT_PROMETHEUS;
    if (strstr(a, "text/plain"))
        return FMT_TEXT;
    return dflt;
}

static enum MHD_Result verdict_reply(server *s, struct MHD_Connection *c,
                                     const char *route, snapshot *sn, int f)
{
    const char *doc = sn->doc[f] ? sn->doc[f] : "cannot encode\n";
    return reply(s, c, route, sn->ready ? 200 : 503, fmts[f].ctype, doc);
}

static enum MHD_Result do_wait(server *s, struct MHD_Connection *c,
                               const char *url, int f)
{
    const char *t =
        sym_MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "timeout");
    int64_t ms = 60000;
    char err[128];
    if (t && (value_duration(t, &ms, err, sizeof err) < 0 || ms < 0 ||
              ms > MAX_WAIT_MS))
        return client_error(s, c, "/v1/wait", url, 400,
                            "timeout: expected a duration up to 10m");
    char addr[64];
    client_addr(c, addr, sizeof addr);
    pthread_mutex_lock(&s->mu);
    ip_waits *w = NULL;
    for (size_t i = 0; i < s->n_ip_waits && !w; i++)
        if (strcmp(s->ip_waits[i].addr, addr) == 0)
            w = &s->ip_waits[i];
    if (s->waits >= s->o->max_waits || (w && w->n >= s->o->max_waits_per_ip)) {
        pthread_mutex_unlock(&s->mu);
        return client_error(s, c, "/v1/wait", url, 429,
                            "too many long-polls in progress");
    }
    if (!w) {
        xgrow(&s->ip_waits, &s->cap_ip_waits, s->n_ip_waits + 1,
              sizeof *s->ip_waits);
        w = &s->ip_waits[s->n_ip_waits++];
        snprintf(w->addr, sizeof w->addr, "%s", addr);
        w->n = 0;
    }
    w->n++;
    s->waits++;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    while (!s->stopping && !(s->cur && s->cur->ready)) {
        if (pthread_cond_timedwait(&s->cond, &s->mu, &until) == ETIMEDOUT)
            break;
    }
    s->waits--;
    for (size_t i = 0; i < s->n_ip_waits; i++) {
        if (strcmp(s->ip_waits[i].addr, addr) != 0)
            continue;
        if (--s->ip_waits[i].n == 0) /* the table holds only waiting IPs */
            s->ip_waits[i] = s->ip_waits[--s->n_ip_waits];
        break;
    }
    snapshot *sn = s->cur;
    if (sn)
        sn->refs++;
    pthread_mutex_unlock(&s->mu);
    enum MHD_Result rc = verdict_reply(s, c, "/v1/wait", sn, f);
    snapshot_unref(s, sn);
    return rc;
}

static ssize_t find_probe(server *s, const char *name)
{
    for (size_t i = 0; i < s->n_names; i++)
        if (strcmp(s->names[i], name) == 0)
            return (ssize_t)i;
    return -1;
}

/* Single-flight fresh check: join the probing in flight or wanted, else
 * want one; wait for it (bounded). Returns 0, or -1 for an unknown probe. */
static int fresh_check(server *s, const char *name)
{
    pthread_mutex_lock(&s->mu);
    ssize_t i = find_probe(s, name);
    if (i < 0) {
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    int64_t now = now_ns();
    uint64_t target;
    if (s->want[i] > s->done[i]) {
        target = s->want[i]; /* share the one already wanted */
    } else if (now < s->fresh_ok_ns[i]) {
        pthread_mutex_unlock(&s->mu); /* fresh enough: the last one */
        return 0;
    } else {
        target = s->want[i] = s->done[i] + 1;
        s->fresh_ok_ns[i] = now + s->o->min_spacing_ms * NS_PER_MS;
        uint64_t one = 1;
        if (write(s->efd, &one, sizeof one) < 0) {
            /* the counter is full: the supervisor is being woken anyway */
        }
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += FRESH_WAIT_MS / 1000;
    char *keep = xstrdup(name);
    for (;;) {
        i = find_probe(s, keep); /* a reload may renumber */
        if (i < 0 || s->stopping || s->done[i] >= target)
            break;
        if (pthread_cond_timedwait(&s->cond, &s->mu, &until) == ETIMEDOUT)
            break;
    }
    free(keep);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static enum MHD_Result do_probe(server *s, struct MHD_Connection *c,
                                const char *url, const char *method,
                                const char *rest)
{
    size_t nl = strcspn(rest, "/");
    char *name = xstrndup(rest, nl);
    const char *tail = rest + nl;
    int is_check = strcmp(tail, "/check") == 0;
    const char *fresh =
        sym_MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fresh");
    enum MHD_Result rc;
    if (*tail && !is_check) {
        rc = client_error(s, c, "/v1/probes", url, 404, "no such endpoint");
    } else if (is_check && strcmp(method, "POST") != 0) {
        rc = client_error(s, c, "/v1/probes", url, 405,
                          "POST /v1/probes/NAME/check");
    } else if (!is_check && strcmp(method, "GET") != 0) {
        rc = client_error(s, c, "/v1/probes", url, 405, "GET only");
    } else if ((is_check || (fresh && strcmp(fresh, "1") == 0)) &&
               fresh_check(s, name) < 0) {
        rc = client_error(s, c, "/v1/probes", url, 404, "no such probe");
    } else {
        snapshot *sn = snapshot_get(s);
        ssize_t at = -1;
        for (size_t i = 0; sn && i < sn->n; i++)
            if (strcmp(sn->probes[i].name, name) == 0)
                at = (ssize_t)i;
        if (at < 0)
            rc = client_error(s, c, "/v1/probes", url, 404, "no such probe");
        else
            rc = reply(s, c, "/v1/probes", 200, "application/json",
                       sn->probes[at].json ? sn->probes[at].json : "{}");
        snapshot_unref(s, sn);
    }
    free(name);
    return rc;
}

static enum MHD_Result do_metrics(server *s, struct MHD_Connection *c)
{
    snapshot *sn = snapshot_get(s);
    strbuf sb = {0};
    sb_append(&sb,
              sn && sn->doc[FMT_PROMETHEUS] ? sn->doc[FMT_PROMETHEUS] : "");
    int64_t now = wall_ms();
    sb_append(&sb, "# HELP gpcheck_serve_pending 1 while a probe has no "
                   "first result.\n# TYPE gpcheck_serve_pending gauge\n");
    sb_appendf(&sb, "gpcheck_serve_pending %d\n", sn ? sn->pending : 1);
    sb_append(&sb, "# HELP gpcheck_serve_result_age_seconds Time since the "
                   "probe's latest result.\n# TYPE "
                   "gpcheck_serve_result_age_seconds gauge\n");
    for (size_t i = 0; sn && i < sn->n; i++) {
        if (!sn->probes[i].has)
            continue;
        strbuf lb = {0};
        /* Names are [A-Za-z0-9_.-] (config.c); escape anyway. */
        for (const char *p = sn->probes[i].name; *p; p++)
            if (*p == '"' || *p == '\\')
                sb_appendf(&lb, "\\%c", *p);
            else
                sb_appendn(&lb, p, 1);
        sb_appendf(&sb, "gpcheck_serve_result_age_seconds{probe=\"%s\"} %.3f\n",
                   sb_str(&lb),
                   (double)(now - sn->probes[i].result_ms) / 1000.0);
        sb_free(&lb);
    }
    sb_append(&sb, "# HELP gpcheck_serve_probe_stale 1 when the probe's "
                   "latest result is older than max_age.\n# TYPE "
                   "gpcheck_serve_probe_stale gauge\n");
    for (size_t i = 0; sn && i < sn->n; i++)
        sb_appendf(&sb, "gpcheck_serve_probe_stale{probe=\"%s\"} %d\n",
                   sn->probes[i].name, sn->probes[i].stale);
    pthread_mutex_lock(&s->mu);
    int rok = s->reload_ok;
    int64_t rms = s->reload_ms, sms = s->start_ms;
    unsigned waits = s->waits;
    pthread_mutex_unlock(&s->mu);
    sb_appendf(&sb,
               "# HELP gpcheck_config_reload_success 1 when the last "
               "configuration reload succeeded.\n# TYPE "
               "gpcheck_config_reload_success gauge\n"
               "gpcheck_config_reload_success %d\n"
               "# HELP gpcheck_config_reload_timestamp_seconds When the "
               "configuration was last (re)loaded or tried.\n# TYPE "
               "gpcheck_config_reload_timestamp_seconds gauge\n"
               "gpcheck_config_reload_timestamp_seconds %.3f\n"
               "# HELP gpcheck_serve_start_timestamp_seconds When the server "
               "started.\n# TYPE gpcheck_serve_start_timestamp_seconds "
               "gauge\ngpcheck_serve_start_timestamp_seconds %.3f\n"
               "# HELP gpcheck_serve_waits Long-polls in progress.\n# TYPE "
               "gpcheck_serve_waits gauge\ngpcheck_serve_waits %u\n"
               "# HELP gpcheck_serve_requests_total Requests answered, by "
               "route and status code.\n# TYPE gpcheck_serve_requests_total "
               "counter\n",
               rok, (double)rms / 1000.0, (double)sms / 1000.0, waits);
    for (size_t i = 0; i < ARRAY_LEN(s->counts); i++) {
        unsigned long n = atomic_load(&s->counts[i].n);
        if (n)
            sb_appendf(&sb,
                       "gpcheck_serve_requests_total{route=\"%s\",code=\"%u\"}"
                       " %lu\n",
                       s->counts[i].route, s->counts[i].code, n);
    }
    snapshot_unref(s, sn);
    enum MHD_Result rc =
        reply(s, c, "/metrics", 200, fmts[FMT_PROMETHEUS].ctype, sb_str(&sb));
    sb_free(&sb);
    return rc;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
                              const char *url, const char *method,
                              const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    server *s = cls;
    static int marker;
    (void)version;
    (void)upload;
    if (!*con_cls) {
        *con_cls = &marker; /* headers in; the body (if any) next */
        return MHD_YES;
    }
    static int answered;
    if (*con_cls == &answered) {
        *upload_size = 0; /* the rest of a refused body */
        return MHD_YES;
    }
    if (*upload_size) {
        /* No endpoint takes a body: refuse it at its first bytes rather
         * than read megabytes of it. */
        *upload_size = 0;
        *con_cls = &answered;
        return client_error(s, c, "other", url, 413,
                            "no endpoint takes a request body");
    }
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (strcmp(url, "/healthz") == 0)
        return reply(s, c, "/healthz", 200, "text/plain", "ok\n");
    int is_verdict = strcmp(url, "/v1/verdict") == 0;
    int is_ready = strcmp(url, "/readyz") == 0;
    const char *route = is_verdict                             ? "/v1/verdict"
                        : is_ready                             ? "/readyz"
                        : strncmp(url, "/v1/probes/", 11) == 0 ? "/v1/probes"
                        : strcmp(url, "/metrics") == 0         ? "/metrics"
                        : strcmp(url, "/v1/wait") == 0         ? "/v1/wait"
                        : strcmp(url, "/-/reload") == 0        ? "/-/reload"
                                                               : "other";
    if (strcmp(route, "other") == 0)
        return client_error(s, c, route, url, 404, "no such endpoint");
    if (!token_ok(s, c))
        return client_error(s, c, route, url, 401,
                            "a valid bearer token is required");
    if (strcmp(route, "/v1/probes") == 0)
        return do_probe(s, c, url, method, url + 11);
    if (strcmp(route, "/-/reload") == 0) {
        if (!s->o->enable_reload)
            return client_error(s, c, route, url, 404,
                                "reload over HTTP is off (--enable-reload)");
        if (strcmp(method, "POST") != 0)
            return client_error(s, c, route, url, 405, "POST only");
        pthread_mutex_lock(&s->mu);
        s->reload_wanted = 1;
        int64_t before = s->reload_ms;
        uint64_t one = 1;
        if (write(s->efd, &one, sizeof one) < 0) {
            /* full counter: a wake-up is pending anyway */
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += 30;
        while (!s->stopping && s->reload_ms == before)
            if (pthread_cond_timedwait(&s->cond, &s->mu, &until) == ETIMEDOUT)
                break;
        int ok = s->reload_ms != before && s->reload_ok;
        pthread_mutex_unlock(&s->mu);
        return ok ? reply(s, c, route, 200, "application/json",
                          "{\"reloaded\": true}\n")
                  : client_error(s, c, route, url, 400,
                                 "the configuration is invalid; the "
                                 "previous one is kept (see the log)");
    }
    if (!get)
        return client_error(s, c, route, url, 405, "GET only");
    int f = pick_format(c, FMT_JSON);
    if (strcmp(route, "/metrics") == 0)
        return do_metrics(s, c);
    if (f < 0)
        return client_error(s, c, route, url, 400,
                            "format: expected text, json, prometheus or "
                            "junit");
    if (strcmp(route, "/v1/wait") == 0)
        return do_wait(s, c, url, f);
    snapshot *sn = snapshot_get(s);
    enum MHD_Result rc = verdict_reply(s, c, route, sn, f);
    snapshot_unref(s, sn);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Listeners                                                                */

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    const struct sockaddr_in6 *in6 = (const void *)sa;
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
        return 1;
    return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) &&
           in6->sin6_addr.s6_addr[12] == 127;
}

/* "ADDR:PORT" or "[V6]:PORT", numeric only (no name lookups at start). */
static int parse_listen(const char *spec, struct sockaddr_storage *ss,
                        char *err, size_t errlen)
{
    char host[256];
    const char *port;
    if (spec[0] == '[') {
        const char *end = strchr(spec, ']');
        if (!end || end[1] != ':' || (size_t)(end - spec) >= sizeof host)
            goto bad;
        snprintf(host, sizeof host, "%.*s", (int)(end - spec - 1), spec + 1);
        port = end + 2;
    } else {
        const char *colon = strrchr(spec, ':');
        if (!colon || (size_t)(colon - spec) >= sizeof host ||
            strchr(spec, ':') != colon)
            goto bad;
        snprintf(host, sizeof host, "%.*s", (int)(colon - spec), spec);
        port = colon + 1;
    }
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0 || !ai) {
        snprintf(err, errlen, "--listen %s: %s", spec,
                 rc ? gai_strerror(rc) : "no address");
        return -1;
    }
    memset(ss, 0, sizeof *ss);
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
bad:
    snprintf(err, errlen,
             "--listen %s: expected ADDR:PORT or [IPV6]:PORT (numeric)", spec);
    return -1;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    server *s = cls;
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    buf[strcspn(buf, "\n")] = '\0';
    slog(s, "http", "message", buf, NULL);
}

/* Read a PEM file whole (TLS); newly allocated, or NULL with err. */
static char *read_pem(const char *opt, const char *path, char *err,
                      size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "%s %s: %s", opt, path, strerror(errno));
        return NULL;
    }
    strbuf sb = {0};
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0 && sb.len < 1024 * 1024)
        sb_appendn(&sb, buf, n);
    fclose(f);
    if (!sb.len) {
        sb_free(&sb);
        snprintf(err, errlen, "%s %s: empty", opt, path);
        return NULL;
    }
    return sb_take(&sb);
}

/* A daemon for l: on its own address (fd < 0) or on the listening socket
 * a quiesced daemon handed over (a reload's new certificate: no
 * connection is refused meanwhile). NULL when MHD refuses (a bad key). */
static struct MHD_Daemon *daemon_start(server *s, const listener *l,
                                       const char *cert, const char *key,
                                       MHD_socket fd)
{
    const serve_opts *o = s->o;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (l->ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (cert)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem opts[16];
    size_t n = 0;
    if (fd != MHD_INVALID_SOCKET)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET,
                                            (intptr_t)fd, NULL};
    else
        opts[n++] =
            (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, (void *)&l->ss};
    if (cert) {
        opts[n++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cert};
        opts[n++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)key};
    }
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                        (intptr_t)o->max_connections, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                        (intptr_t)o->max_per_ip, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                        (intptr_t)o->conn_timeout_s, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                        32 * 1024, NULL};
    opts[n++] =
        (struct MHD_OptionItem){MHD_OPTION_THREAD_STACK_SIZE, 256 * 1024, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    return sym_MHD_start_daemon(flags, 0, NULL, NULL, handle, s,
                                MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
                                MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
}

/* The certificate and key files, read and tried (MHD refuses a key that
 * does not load); 0, or -1 with err. */
static int tls_load(server *s, char **cert, char **key, char *err,
                    size_t errlen)
{
    *cert = *key = NULL;
    if (!s->o->tls_cert)
        return 0;
    if (!(*cert = read_pem("--tls-cert", s->o->tls_cert, err, errlen)) ||
        !(*key = read_pem("--tls-key", s->o->tls_key, err, errlen)))
        goto bad;
    struct MHD_Daemon *t = sym_MHD_start_daemon(
        MHD_USE_NO_LISTEN_SOCKET | MHD_USE_TLS | MHD_USE_ERROR_LOG, 0, NULL,
        NULL, handle, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_HTTPS_MEM_CERT, *cert, MHD_OPTION_HTTPS_MEM_KEY, *key,
        MHD_OPTION_END);
    if (!t) {
        snprintf(err, errlen,
                 "--tls-cert %s, --tls-key %s: not a certificate and its "
                 "key (PEM)",
                 s->o->tls_cert, s->o->tls_key);
        goto bad;
    }
    sym_MHD_stop_daemon(t);
    return 0;
bad:
    free(*cert);
    free(*key);
    *cert = *key = NULL;
    return -1;
}

static void listener_log(server *s, const listener *l, const char *what)
{
    const union MHD_DaemonInfo *di =
        sym_MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_BIND_PORT);
    char addr[INET6_ADDRSTRLEN + 8] = "?", port[16];
    if (l->ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)&l->ss)->sin_addr,
                  addr, sizeof addr);
    else
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&l->ss)->sin6_addr,
                  addr, sizeof addr);
    snprintf(port, sizeof port, "%u", di ? (unsigned)di->port : 0);
    slog(s, what, "address", addr, "port", port, "tls", l->cert ? "yes" : "no",
         NULL);
}

static int start_listeners(server *s, char *err, size_t errlen)
{
    const serve_opts *o = s->o;
    size_t n = o->n_listen ? o->n_listen : 1;
    if (o->tls_cert && !sym_MHD_is_feature_supported(MHD_FEATURE_TLS)) {
        snprintf(err, errlen,
                 "--tls-cert: this libmicrohttpd was built without TLS");
        return 2;
    }
    s->ls = xcalloc(n, sizeof *s->ls);
    for (size_t i = 0; i < n; i++) {
        const char *spec = o->n_listen ? o->listen[i] : DEFAULT_LISTEN;
        listener *l = &s->ls[i];
        if (parse_listen(spec, &l->ss, err, errlen) < 0)
            return 2;
        if (!is_loopback((struct sockaddr *)&l->ss) && !o->token_file &&
            !o->insecure_listen) {
            snprintf(err, errlen,
                     "--listen %s: not a loopback address; give "
                     "--token-file, or --insecure-listen to serve it "
                     "without a token",
                     spec);
            return 2;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const char *spec = o->n_listen ? o->listen[i] : DEFAULT_LISTEN;
        listener *l = &s->ls[i];
        if (tls_load(s, &l->cert, &l->key, err, errlen) < 0)
            return 2;
        l->d = daemon_start(s, l, l->cert, l->key, MHD_INVALID_SOCKET);
        if (!l->d) {
            snprintf(err, errlen, "--listen %s: cannot listen: %s", spec,
                     strerror(errno ? errno : EADDRINUSE));
            return 1;
        }
        s->n_ls++;
        listener_log(s, l, "listening");
    }
    return 0;
}

static size_t daemon_connections(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *di =
        sym_MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return di ? di->num_connections : 0;
}

static void listener_free(listener *l)
{
    if (l->d)
        sym_MHD_stop_daemon(l->d);
    free(l->cert);
    free(l->key);
    l->d = NULL;
    l->cert = l->key = NULL;
}

/* Stop the daemons a TLS reload retired once their connections are gone
 * (stopping one earlier would wait for its long-polls). */
static void reap_retired(server *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n_retired; i++) {
        if (daemon_connections(s->retired[i].d) == 0)
            listener_free(&s->retired[i]);
        else
            s->retired[k++] = s->retired[i];
    }
    s->n_retired = k;
}

/* A reload with TLS: new daemons with the new certificate take each
 * listening socket over from the old ones, which finish their
 * connections. 0, or -1 with err (nothing changed). */
static int tls_reload(server *s, char *err, size_t errlen)
{
    if (!s->o->tls_cert)
        return 0;
    char *cert, *key;
    if (tls_load(s, &cert, &key, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < s->n_ls; i++) {
        listener *l = &s->ls[i];
        MHD_socket fd = sym_MHD_quiesce_daemon(l->d);
        struct MHD_Daemon *d =
            fd == MHD_INVALID_SOCKET ? NULL : daemon_start(s, l, cert, key, fd);
        if (!d) {
            /* Not expected after tls_load; keep serving the old one. */
            d = fd == MHD_INVALID_SOCKET
                    ? NULL
                    : daemon_start(s, l, l->cert, l->key, fd);
            if (d) {
                xgrow(&s->retired, &s->cap_retired, s->n_retired + 1,
                      sizeof *s->retired);
                s->retired[s->n_retired++] = (listener){.d = l->d};
                l->d = d;
            }
            continue;
        }
        xgrow(&s->retired, &s->cap_retired, s->n_retired + 1,
              sizeof *s->retired);
        s->retired[s->n_retired++] =
            (listener){.d = l->d, .cert = l->cert, .key = l->key};
        l->d = d;
        l->cert = xstrdup(cert);
        l->key = xstrdup(key);
        listener_log(s, l, "tls-reloaded");
    }
    explicit_bzero(key, strlen(key));
    free(cert);
    free(key);
    return 0;
}

/* SIGTERM: stop accepting, let responses in flight finish within the
 * grace period (long-polls are woken to answer now), then stop. */
static void stop_listeners(server *s)
{
    for (size_t i = 0; i < s->n_ls; i++) {
        MHD_socket fd = sym_MHD_quiesce_daemon(s->ls[i].d);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    int64_t until = now_ns() + s->o->grace_ms * NS_PER_MS;
    for (;;) {
        size_t busy = 0;
        for (size_t i = 0; i < s->n_ls; i++)
            busy += daemon_connections(s->ls[i].d);
        for (size_t i = 0; i < s->n_retired; i++)
            busy += daemon_connections(s->retired[i].d);
        if (!busy || now_ns() >= until)
            break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (size_t i = 0; i < s->n_ls; i++)
        listener_free(&s->ls[i]);
    for (size_t i = 0; i < s->n_retired; i++)
        listener_free(&s->retired[i]);
    s->n_retired = 0;
}

/* ------------------------------------------------------------------------ */
/* The supervisor                                                           */

int serve_main(const serve_opts *o, serve_gen *first)
{
    server s = {.o = o, .gen = first, .reload_ok = 1};
    s.start_ms = s.reload_ms = wall_ms();
    pthread_mutex_init(&s.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s.cond, &ca);
    pthread_condattr_destroy(&ca);
    size_t k = 0;
    for (size_t r = 0; r < ARRAY_LEN(routes); r++)
        for (size_t c = 0; c < ARRAY_LEN(codes); c++, k++) {
            s.counts[k].route = routes[r];
            s.counts[k].code = codes[c];
        }
    if (getrandom(&s.rng, sizeof s.rng, 0) != (ssize_t)sizeof s.rng || !s.rng)
        s.rng = (uint64_t)now_ns() | 1;
    int rc = 0;
    char err[512];
    if (dl_mhd("gpcheck serve", err, sizeof err) < 0) {
        fprintf(stderr, "gpcheck: %s\n", err);
        rc = 2;
        goto out_gen;
    }
    if (o->token_file &&
        !(s.token = read_token(o->token_file, err, sizeof err))) {
        fprintf(stderr, "gpcheck: %s\n", err);
        rc = 2;
        goto out_gen;
    }

    /* Blocked before the listeners start, so that their threads inherit
     * the mask: the signals reach only the runner's signalfd (and wait,
     * pending, while a reload runs between two runs). */
    sigset_t mask, old;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &mask, &old);
    s.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s.efd < 0) {
        fprintf(stderr, "gpcheck: cannot set up the supervisor: %s\n",
                strerror(errno));
        rc = 1;
        goto out_fds;
    }
    if (o->history && o->history->path) {
        s.hist = history_open(o->history->path, 1, err, sizeof err);
        if (!s.hist && o->history->required) {
            fprintf(stderr, "gpcheck: history: %s (history_required)\n", err);
            rc = 1;
            goto out_fds;
        }
        if (!s.hist)
            slog(&s, "history-unavailable", "reason", err, NULL);
    }
    slots_setup(&s);
    publish(&s); /* pending, until the first results */
    if ((rc = start_listeners(&s, err, sizeof err)) != 0) {
        fprintf(stderr, "gpcheck: %s\n", err);
        stop_listeners(&s);
        goto out_fds;
    }
    for (;;) {
        int signo = probe_gen(&s);
        if (signo) {
            char sig[16];
            snprintf(sig, sizeof sig, "SIG%s", sigabbrev_np(signo));
            slog(&s, "stopping", "signal", sig, NULL);
            break;
        }
        pthread_mutex_lock(&s.mu);
        int post = s.reload_wanted;
        s.reload_wanted = 0;
        pthread_mutex_unlock(&s.mu);
        if (s.hup) {
            s.hup = 0;
            reload(&s, "SIGHUP");
        }
        if (post)
            reload(&s, "POST /-/reload");
    }
    stop_listeners(&s);
    slog(&s, "stopped", NULL);
out_fds:
    history_close(s.hist);
    if (s.efd >= 0)
        close(s.efd);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    free(s.ls);
    free(s.retired);
    free(s.ip_waits);
    pthread_mutex_lock(&s.mu);
    snapshot *cur = s.cur;
    s.cur = NULL;
    pthread_mutex_unlock(&s.mu);
    snapshot_unref(&s, cur);
    slots_free(&s);
    for (size_t i = 0; i < s.n_names; i++)
        free(s.names[i]);
    free(s.names);
    free(s.done);
    free(s.want);
    free(s.fresh_ok_ns);
out_gen:
    free(s.token);
    o->gen_free(s.gen);
    free(s.gen);
    pthread_cond_destroy(&s.cond);
    pthread_mutex_destroy(&s.mu);
    return rc;
}
