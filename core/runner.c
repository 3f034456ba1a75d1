/*
 * core/runner.c - the single-threaded supervisor that runs attempts in
 * forked children and turns their results into probe statuses.
 *
 * Life of an attempt: spawn() forks a child into its own process group
 * with the result pipe at fd 3; the loop reads JSON lines from the pipe as
 * they come; at the attempt's deadline the group gets SIGKILL; on SIGCHLD
 * the group is killed again (anything the child left behind), the child
 * reaped, and complete() records the attempt and applies the policy:
 * ready ends the probe, transient schedules a retry, fatal ends it at once.
 *
 * Signals: SIGINT, SIGTERM and SIGHUP arrive on the signalfd and stop the
 * run (every group killed and reaped, the report of what is known kept);
 * SIGPIPE is ignored by main(), so a closed stdout or stderr is EPIPE. If
 * the supervisor itself is SIGKILLed it can do nothing: each attempt has
 * PR_SET_PDEATHSIG(SIGKILL), and the guardian (below) kills the process
 * groups of the attempts the supervisor forked, the spawner those of its
 * own (core/spawner.h). What still escapes then: processes that left their
 * attempt's group (setsid, setpgid), which only the end-of-run sweep of
 * reparented orphans catches, and a group in the instant between fork()
 * and the guardian hearing of it.
 *
 * Plugin stderr: without -v it is /dev/null. With -v it is a second pipe
 * the loop reads beside the result pipe; each line (bounded) is masked
 * with the probe's secrets and emitted as a log line, so what a plugin, a
 * library it uses or a command it starts writes there is never shown raw.
 *
 * Descriptors: each attempt in flight holds one (its result pipe), two
 * with -v (and its stderr pipe), so the attempts in flight are capped by
 * what RLIMIT_NOFILE leaves room for, and an attempt that still meets
 * EMFILE waits for another to end.
 */
#include "runner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "due.h"
#include "gate.h"
#include "policy.h"
#include "result.h"
#include "secrets.h"
#include "spawner.h"
#include "util.h"

/*
 * The plugin is told its deadline; the core kills the attempt this long
 * after it, so a plugin that gives up right at its deadline still gets to
 * say why, and one that ignores it is cut promptly.
 */
#define KILL_GRACE_NS (100 * NS_PER_MS)
/* How long stop_all() waits for the spawner to reap what it killed. */
#define STOP_WAIT_NS (2000 * NS_PER_MS)
/* The least time an attempt is started with (see start_due). */
#define MIN_ATTEMPT_NS (5 * NS_PER_MS)

/* How early an attempt may end and still have used all of its time
 * (`span`): 2 % of it, at least 2 ms and at most 20 ms. */
#define TIME_UP_SLACK_NS(span)                                                 \
    ((span) / 50 < 2 * NS_PER_MS    ? 2 * NS_PER_MS                            \
     : (span) / 50 > 20 * NS_PER_MS ? 20 * NS_PER_MS                           \
                                    : (span) / 50)

/* A result line longer than this is garbage, not a result. */
#define MAX_RESULT_BYTES (1024 * 1024)

/* One attempt in flight. */
typedef struct slot {
    pid_t pid; /* 0: free */
    int fd;    /* result pipe, -1 once closed */
    probe_run *pr;
    size_t rec;          /* index into pr->history */
    int64_t soft_ns;     /* the deadline the plugin sees */
    int64_t deadline_ns; /* when the core kills the attempt */
    int killed;          /* we sent SIGKILL at the deadline */
    int spawned;         /* the spawner's child: it kills and reaps it */
    int starting;        /* asked of the spawner, pid to come (pid -2) */
    int reaped;          /* stop_all(): the spawner has reaped it */
    char *garbage;       /* owned; why the pipe was unreadable */
    strbuf in;           /* partial line */
    int have_result;
    attempt_res res;
    char *msg; /* owned */
    char *bug; /* owned */
    metric_val *metrics;
    size_t n_metrics;
    unsigned logs;
    unsigned secrets;     /* {"secret": S} lines taken */
    int efd;              /* stderr pipe (-v), -1: none or closed */
    strbuf err;           /* partial stderr line, at most MAX_STDERR_LINE */
    int err_cut;          /* the partial line was cut: drop to its newline */
    unsigned err_lines;   /* stderr lines shown */
    unsigned err_dropped; /* stderr lines past the bound */
} slot;

typedef struct runner {
    const runner_opts *o;
    sinks *ss;
    run_result *rr;
    slot *slots;
    unsigned n_slots, busy;
    unsigned budget; /* attempts in flight at most: jobs, capped by fds */
    unsigned cap;    /* at most budget; lowered while fds run short */
    int sfd, devnull;
    int64_t deadline_ns; /* 0: none */
    uint64_t rng;
    int stopping;      /* deadline or signal: no cascading, no new attempts */
    size_t n_done;     /* probes in PS_DONE */
    size_t n_waiting;  /* probes in PS_WAITING: only then scan dependents */
    int64_t next_tick; /* EV_TICK due; 0: no ticks */
    int64_t tick_at;   /* runner_loop.tick due; 0: only on its fd */
    pid_t self;
    secrets_env env;    /* the variables children drop (secrets.h) */
    pid_t guardian;     /* 0: none */
    int guardian_fd;    /* write end of its pipe, -1: none */
    int guardian_tried; /* guardian_start() was called */
    due_queue due;      /* the probes in PS_SCHEDULED, by next_ns */
} runner;

/* xorshift64*: jitter needs spread, not cryptography. */
static double rnd(runner *r)
{
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    uint64_t x = r->rng * UINT64_C(2685821657736338717);
    return (double)(x >> 11) / 9007199254740992.0;
}

static void emit(runner *r, event_kind kind, const probe_run *pr,
                 const attempt_rec *rec, int64_t next_ns)
{
    event ev = {.kind = kind,
                .t_ns = now_ns(),
                .run = r->rr,
                .probe = pr,
                .attempt = rec,
                .next_ns = next_ns};
    sinks_emit(r->ss, &ev);
}

/* msg with the probe's secrets masked (the one masker, see secrets.h);
 * newly allocated. */
static char *mask_secrets(const probe_def *d, const char *msg)
{
    return secrets_mask(d, msg);
}

/* ------------------------------------------------------------------------ */
/* Probe state transitions                                                   */

/* Leaving PS_WAITING (only probes with `after` were counted there). */
static void leave_waiting(runner *r, const probe_run *pr)
{
    if (pr->state == PS_WAITING && pr->def->n_after > 0)
        r->n_waiting--;
}

static size_t index_of(const runner *r, const probe_run *pr)
{
    return (size_t)(pr - r->rr->probes);
}

/* Into PS_SCHEDULED, with the next attempt at `at`. */
static void schedule(runner *r, probe_run *pr, int64_t at)
{
    pr->state = PS_SCHEDULED;
    pr->next_ns = at;
    due_set(&r->due, index_of(r, pr), at);
}

/* Out of PS_SCHEDULED (or never in it) into state. */
static void set_state(runner *r, probe_run *pr, probe_state state)
{
    due_remove(&r->due, index_of(r, pr));
    pr->state = state;
}

static void probe_start(runner *r, probe_run *pr, int64_t now)
{
    leave_waiting(r, pr);
    pr->start_ns = now;
    pr->warmup_end_ns = now + pr->def->pol.warmup_ms * NS_PER_MS;
    schedule(r, pr, now);
    emit(r, EV_PROBE_START, pr, NULL, 0);
}

static void finish(runner *r, probe_run *pr, probe_status st, const char *msg,
                   int64_t now);

/* A dependency just finished: start or skip the probes waiting on it. */
static void release_dependents(runner *r, probe_run *dep, int64_t now)
{
    size_t di = index_of(r, dep);
    for (size_t i = 0; r->n_waiting > 0 && i < r->rr->n; i++) {
        probe_run *q = &r->rr->probes[i];
        if (q->state != PS_WAITING)
            continue;
        int mentions = 0, all_ready = 1;
        for (size_t k = 0; k < q->def->n_after; k++) {
            const probe_run *d = &r->rr->probes[q->def->after[k]];
            if (q->def->after[k] == di)
                mentions = 1;
            if (d->state != PS_DONE ||
                (d->status != ST_OK && d->status != ST_WARN))
                all_ready = 0;
        }
        if (!mentions)
            continue;
        if (dep->status != ST_OK && dep->status != ST_WARN) {
            char *m = xasprintf("after '%s', which is %s", dep->def->name,
                                status_name(dep->status));
            finish(r, q, ST_SKIPPED, m, now);
            free(m);
        } else if (all_ready) {
            probe_start(r, q, now);
        }
    }
}

static void finish(runner *r, probe_run *pr, probe_status st, const char *msg,
                   int64_t now)
{
    leave_waiting(r, pr);
    r->n_done++;
    set_state(r, pr, PS_DONE);
    pr->status = st;
    free(pr->message);
    pr->message = xstrdup(msg ? msg : "");
    pr->end_ns = now;
    emit(r, EV_PROBE_END, pr, NULL, 0);
    if (!r->stopping)
        release_dependents(r, pr, now);
    if (!r->stopping && r->o->loop)
        r->o->loop->done(r->o->loop->ud, index_of(r, pr), pr);
}

/* A run with a loop: a done probe starts over, its last probing's record
 * dropped (the done hook copied what it keeps). */
static void probe_restart(runner *r, probe_run *pr, int64_t now)
{
    for (size_t k = 0; k < pr->n_history; k++) {
        free(pr->history[k].message);
        free(pr->history[k].metrics);
    }
    free(pr->history);
    free(pr->message);
    free(pr->evals);
    pr->history = NULL;
    pr->message = NULL;
    pr->evals = NULL;
    pr->n_history = pr->cap_history = pr->n_evals = 0;
    pr->counted = pr->consecutive_ok = 0;
    pr->cut_by_deadline = 0;
    pr->end_ns = 0;
    r->n_done--;
    probe_start(r, pr, now);
}

/* When a not-ready probe tries again: on the warmup cadence inside the
 * window, else after the backoff delay; 0 when its attempts are used up. */
static int64_t retry_at(runner *r, probe_run *pr, const attempt_rec *rec,
                        int64_t now)
{
    const policy *p = &pr->def->pol;
    if (now < pr->warmup_end_ns)
        return policy_next_warmup_ns(p, rec->start_ns, rec->number, now,
                                     pr->warmup_end_ns);
    if (pr->counted >= p->attempts)
        return 0;
    if (pr->counted == 0)
        return now; /* the first counted attempt follows the warmup at once */
    return now + policy_retry_delay_ms(p, pr->counted, rnd(r)) * NS_PER_MS;
}

/* "<breach>; <plugin message>" */
static char *with_breach(const probe_run *pr, th_level level,
                         const attempt_rec *rec)
{
    char *b = gate_breach_text(pr->evals, pr->n_evals, level);
    char *m = xasprintf("%s; %s", b, rec->message);
    free(b);
    return m;
}

/* The core's measurements that a condition named (ready_after ...), kept
 * with the attempt's metrics, so that every report shows them as it shows
 * the plugin's; a probe whose conditions name none gets none. */
static void keep_core_metrics(attempt_rec *rec, const th_eval *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const gp_metric *m = ev[i].cond->metric;
        int have = 0;
        if (!threshold_is_core(m) || !ev[i].reported)
            continue;
        for (size_t k = 0; k < rec->n_metrics; k++)
            have |= rec->metrics[k].decl == m;
        if (have)
            continue;
        rec->metrics =
            xrealloc(rec->metrics, (rec->n_metrics + 1) * sizeof *rec->metrics);
        rec->metrics[rec->n_metrics++] = (metric_val){m, ev[i].value};
    }
}

/* A ready (or degraded) attempt: thresholds, then success_threshold. */
static int64_t after_ready(runner *r, probe_run *pr, attempt_rec *rec,
                           int64_t now, probe_status *st, char **why)
{
    const policy *p = &pr->def->pol;
    th_level level = TH_NONE;
    if (pr->def->n_conds) {
        if (!pr->evals)
            pr->evals = xcalloc(pr->def->n_conds, sizeof *pr->evals);
        level = gate_thresholds(pr, rec, pr->evals);
        pr->n_evals = pr->def->n_conds;
        keep_core_metrics(rec, pr->evals, pr->n_evals);
        rec->breach = level;
    }
    int64_t next;
    if (level != TH_NONE && pr->def->retry_on_threshold &&
        gate_breach_retryable(pr->evals, pr->n_evals) &&
        (next = retry_at(r, pr, rec, now)) != 0) {
        /* A connector under load gets its warmup and retries. */
        pr->consecutive_ok = 0;
        return next;
    }
    if (level == TH_FAIL) {
        *st = ST_FAIL;
        *why = with_breach(pr, TH_FAIL, rec);
        return 0;
    }
    pr->consecutive_ok++;
    if (pr->consecutive_ok >= p->success_threshold) {
        *st = rec->res == RES_READY && level == TH_NONE ? ST_OK : ST_WARN;
        if (level == TH_WARN)
            *why = with_breach(pr, TH_WARN, rec);
        return 0;
    }
    if (now < pr->warmup_end_ns)
        return policy_next_warmup_ns(p, rec->start_ns, rec->number, now,
                                     pr->warmup_end_ns);
    if (pr->counted >= p->attempts) {
        *st = ST_FAIL;
        *why =
            xasprintf("ready %u time(s) in a row, %u needed; %s",
                      pr->consecutive_ok, p->success_threshold, rec->message);
        return 0;
    }
    return now + p->delay_ms * NS_PER_MS;
}

/*
 * Apply the policy to a finished attempt. Returns the time of the next
 * attempt, or 0 when the probe is finished (then *st, and *why when the
 * final message is not the attempt's own, are set for finish()).
 */
static int64_t next_step(runner *r, probe_run *pr, attempt_rec *rec,
                         int64_t now, probe_status *st, char **why)
{
    int64_t next;
    *why = NULL;
    switch (rec->res) {
    case RES_READY:
    case RES_DEGRADED: return after_ready(r, pr, rec, now, st, why);
    case RES_FATAL: *st = ST_FAIL; return 0;
    case RES_UNKNOWN:
    case RES_ERROR: *st = ST_ERROR; return 0;
    case RES_TRANSIENT:
    case RES_TIMEOUT:
        pr->consecutive_ok = 0;
        if ((next = retry_at(r, pr, rec, now)) != 0)
            return next;
        *st = rec->res == RES_TIMEOUT ? ST_TIMEOUT : ST_FAIL;
        return 0;
    }
    *st = ST_ERROR;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Attempts                                                                  */

static attempt_rec *push_attempt(probe_run *pr, int64_t now)
{
    xgrow(&pr->history, &pr->cap_history, pr->n_history + 1,
          sizeof *pr->history);
    attempt_rec *rec = &pr->history[pr->n_history++];
    memset(rec, 0, sizeof *rec);
    rec->warmup = now < pr->warmup_end_ns;
    if (rec->warmup) {
        unsigned w = 0;
        for (size_t i = 0; i + 1 < pr->n_history; i++)
            w += pr->history[i].warmup;
        rec->number = w + 1;
    } else {
        rec->number = ++pr->counted;
    }
    rec->start_ns = now;
    return rec;
}

/* ------------------------------------------------------------------------ */
/* The guardian                                                              */

/*
 * An attempt's child gets PR_SET_PDEATHSIG(SIGKILL), so it dies with a
 * SIGKILLed supervisor; what the attempt started in its process group
 * would not (the signal goes to the child alone, and the subreaper that
 * would have swept the orphans is the dead supervisor). The guardian is
 * a process forked before any attempt that holds the read end of a pipe:
 * the supervisor writes +PGID when an attempt starts and -PGID once it
 * has killed and reaped the group; EOF (the supervisor is gone, however
 * it went) makes the guardian SIGKILL every group still listed and exit.
 * Signals reach it blocked (the supervisor's mask), and it has a process
 * group of its own, so neither a Ctrl-C to the terminal's group nor a
 * SIGKILL of gpcheck's whole group (a CI job cancelled) ends it before it
 * has done its job. What still escapes a SIGKILLed
 * supervisor: processes that left the attempt's group (setsid, setpgid),
 * which only the supervisor's sweep at the end of a run catches, and a
 * group started in the instant between fork() and the +PGID message.
 */
static _Noreturn void guardian_main(int rfd, unsigned n_slots)
{
    setpgid(0, 0);
    close_range(3, (unsigned)rfd - 1, 0);
    close_range((unsigned)rfd + 1, ~0U, 0);
    pid_t *groups = calloc(n_slots ? n_slots : 1, sizeof *groups);
    if (!groups)
        _exit(1);
    int32_t msg;
    ssize_t n;
    while ((n = read(rfd, &msg, sizeof msg)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t)sizeof msg)
            break;
        pid_t want = msg > 0 ? 0 : (pid_t)-msg, put = msg > 0 ? msg : 0;
        for (unsigned i = 0; i < n_slots; i++) {
            if (groups[i] == want) {
                groups[i] = put;
                break;
            }
        }
    }
    for (unsigned i = 0; i < n_slots; i++)
        if (groups[i] > 0)
            kill(-groups[i], SIGKILL);
    _exit(0);
}

static void guardian_start(runner *r)
{
    int p[2];
    r->guardian_tried = 1;
    r->guardian_fd = -1;
    if (pipe2(p, O_CLOEXEC) < 0)
        return; /* run without: PR_SET_PDEATHSIG still covers attempts */
    pid_t pid = fork();
    if (pid == 0) {
        /* It lives as long as the run: no secret of the run's in its
         * /proc/PID/environ either. */
        secrets_scrub_environ(&r->env, NULL);
        guardian_main(p[0], r->n_slots);
    }
    close(p[0]);
    if (pid < 0) {
        close(p[1]);
        return;
    }
    r->guardian = pid;
    r->guardian_fd = p[1];
}

/* Tell the guardian about a group: +pgid when it starts, -pgid once it is
 * gone. A 4-byte write to a pipe is atomic; the guardian reads at once. */
static void guardian_tell(runner *r, int32_t msg)
{
    if (r->guardian_fd < 0)
        return;
    while (write(r->guardian_fd, &msg, sizeof msg) < 0 && errno == EINTR)
        ;
}

static void guardian_stop(runner *r)
{
    if (r->guardian_fd >= 0)
        close(r->guardian_fd);
    r->guardian_fd = -1;
    if (r->guardian > 0)
        while (waitpid(r->guardian, NULL, 0) < 0 && errno == EINTR)
            ;
    r->guardian = 0;
}

static _Noreturn void in_child(runner *r, const probe_run *pr, int wfd, int efd,
                               int64_t deadline_ms, const attempt_rec *rec)
{
    child_enter(r->self, r->devnull, wfd, efd);
    child_attempt a = {.def = pr->def,
                       .env = &r->env,
                       .deadline_ms = deadline_ms,
                       .warmup = rec->warmup,
                       .number = rec->number,
                       .all_metrics = r->o->all_metrics,
                       .fd = 3};
    child_run(&a);
}

static void slot_reset(slot *s)
{
    free(s->garbage);
    free(s->msg);
    free(s->bug);
    free(s->metrics);
    sb_free(&s->in);
    if (s->err.len)
        explicit_bzero(s->err.buf, s->err.len);
    sb_free(&s->err);
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->efd = -1;
}

/* The slot's group is killed and reaped: forget it, and tell the guardian. */
static void slot_release(runner *r, slot *s)
{
    if (s->pid > 0 && !s->spawned)
        guardian_tell(r, -(int32_t)s->pid);
    slot_reset(s);
}

static void complete(runner *r, slot *s, int wstatus, int64_t now);

/* SIGKILL the attempt's process group: through the spawner for its own
 * children, which it alone reaps, so the id is still theirs. */
static void kill_group(runner *r, const slot *s)
{
    if (s->spawned)
        spawner_kill(r->o->spawner, s->pid);
    else
        kill(-s->pid, SIGKILL);
}

/*
 * Out of descriptors or processes for the moment (EMFILE, ENFILE, EAGAIN)
 * while other attempts are in flight: one of them ending frees what this
 * one needs, so the attempt waits for it instead of failing its probe.
 * The cap on attempts in flight drops to those running and creeps back up
 * as they end (complete()). With nothing in flight, nothing would free
 * up: the attempt fails with the reason.
 */
static int wait_for_room(runner *r, int e)
{
    if (r->busy == 0 || (e != EMFILE && e != ENFILE && e != EAGAIN))
        return 0;
    r->cap = r->busy;
    return 1;
}

/* The attempt's result pipe p, and with -v its stderr pipe ep (else
 * {-1, -1}). Returns 0, or -1 with errno and nothing left open. */
static int open_pipes(const runner *r, int p[2], int ep[2])
{
    ep[0] = ep[1] = -1;
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    if (r->o->child_stderr && pipe2(ep, O_CLOEXEC) < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        ep[0] = ep[1] = -1;
        errno = e;
        return -1;
    }
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* The attempt is under way as pid, forked here or by the spawner. */
static void started(runner *r, slot *s, pid_t pid)
{
    /* Also here, so the group exists before anyone signals it (the
     * spawner does it for its own). */
    if (!s->spawned) {
        setpgid(pid, pid);
        guardian_tell(r, (int32_t)pid);
    }
    s->pid = pid;
    s->starting = 0;
    emit(r, EV_ATTEMPT_START, s->pr, &s->pr->history[s->rec], 0);
}

/* An attempt that did not start: take its record back, the probe due
 * again at once. */
static void take_back(runner *r, slot *s, int64_t now)
{
    probe_run *pr = s->pr;
    if (s->pid > 0 && !s->spawned)
        guardian_tell(r, -(int32_t)s->pid);
    if (!pr->history[s->rec].warmup)
        pr->counted--;
    pr->n_history--;
    close_fd(&s->fd);
    close_fd(&s->efd);
    slot_reset(s);
    if (pr->state == PS_RUNNING)
        schedule(r, pr, now);
}

static void spawn(runner *r, probe_run *pr, int64_t now)
{
    int p[2], ep[2], e = 0;
    const char *fail = NULL;
    if (open_pipes(r, p, ep) < 0) {
        e = errno;
        if (wait_for_room(r, e))
            return; /* still PS_SCHEDULED, due now */
        fail = "cannot create a pipe";
    }
    slot *s = NULL;
    for (unsigned i = 0; i < r->n_slots && !s; i++)
        if (r->slots[i].pid == 0)
            s = &r->slots[i];
    attempt_rec *rec = push_attempt(pr, now);
    slot_reset(s);
    s->pr = pr;
    s->rec = pr->n_history - 1;
    s->soft_ns = now + pr->def->pol.timeout_ms * NS_PER_MS;
    if (r->deadline_ns && r->deadline_ns - KILL_GRACE_NS < s->soft_ns)
        s->soft_ns = r->deadline_ns - KILL_GRACE_NS;
    if (s->soft_ns < now)
        s->soft_ns = now;
    s->deadline_ns = s->soft_ns + KILL_GRACE_NS;

    pid_t pid = -1;
    if (!fail) {
        /* Rounded up: a plugin that gives up when time_left_ms() reaches
         * 0 must not end before the soft deadline, or its timeout would
         * read as a plain failure. */
        int64_t deadline_ms = (s->soft_ns + NS_PER_MS - 1) / NS_PER_MS;
        spawner_attempt sa = {.def = pr->def,
                              .deadline_ms = deadline_ms,
                              .warmup = rec->warmup,
                              .number = rec->number,
                              .all_metrics = r->o->all_metrics,
                              .wfd = p[1],
                              .efd = ep[1],
                              .slot = (unsigned)(s - r->slots)};
        int asked = spawner_spawn(r->o->spawner, &sa) == 0;
        if (!asked && !r->guardian_tried)
            guardian_start(r); /* before the first attempt of our own */
        if (!asked) {
            pid = fork();
            if (pid == 0)
                in_child(r, pr, p[1], ep[1], deadline_ms, rec);
            e = errno;
        }
        close(p[1]);
        close_fd(&ep[1]);
        if (asked) {
            /* The spawner's event says how it went (on_started). */
            fcntl(p[0], F_SETFL, O_NONBLOCK);
            if (ep[0] >= 0)
                fcntl(ep[0], F_SETFL, O_NONBLOCK);
            s->fd = p[0];
            s->efd = ep[0];
            s->spawned = s->starting = 1;
            s->pid = -2;
            set_state(r, pr, PS_RUNNING);
            r->busy++;
            return;
        }
        if (pid < 0) {
            close(p[0]);
            close_fd(&ep[0]);
            if (wait_for_room(r, e)) {
                /* Not started after all: take the record back. */
                take_back(r, s, now);
                return;
            }
            fail = "cannot fork";
        }
    }
    set_state(r, pr, PS_RUNNING);
    if (fail) {
        emit(r, EV_ATTEMPT_START, pr, rec, 0);
        s->garbage = xasprintf("%s: %s", fail, strerror(e));
        s->pid = -1;
        r->busy++;
        complete(r, s, 0, now);
        return;
    }
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    if (ep[0] >= 0)
        fcntl(ep[0], F_SETFL, O_NONBLOCK);
    s->fd = p[0];
    s->efd = ep[0];
    r->busy++;
    started(r, s, pid);
}

/* The spawner's answer to spawn(): started as ev->pid, or not (-errno):
 * then, as for a fork of our own, it waits for room or fails. */
static void on_started(runner *r, const spawner_event *ev, int64_t now)
{
    slot *s = ev->slot < r->n_slots ? &r->slots[ev->slot] : NULL;
    if (!s || !s->starting)
        return;
    if (ev->pid > 0) {
        started(r, s, ev->pid);
        return;
    }
    int e = -ev->pid;
    s->starting = 0;
    s->pid = 0;
    r->busy--;
    if (wait_for_room(r, e)) {
        take_back(r, s, now);
        return;
    }
    close_fd(&s->fd);
    close_fd(&s->efd);
    emit(r, EV_ATTEMPT_START, s->pr, &s->pr->history[s->rec], 0);
    s->garbage = xasprintf("cannot fork: %s", strerror(e));
    s->pid = -1;
    r->busy++;
    complete(r, s, 0, now);
}

static void set_garbage(slot *s, const char *why, const char *line, size_t len)
{
    if (s->garbage)
        return;
    /* Masked before it is cut to 40 bytes: the masker masks a piece of a
     * secret at a cut, so a bounded prefix will do. */
    char *whole = xstrndup(line, len > 4096 ? 4096 : len);
    char *masked = mask_secrets(s->pr->def, whole);
    size_t mlen = strlen(masked);
    char *shown = xstrndup(masked, mlen > 40 ? 40 : mlen);
    char *clean = str_sanitize(shown);
    s->garbage = xasprintf("%s: \"%s%s\"", why, clean, mlen > 40 ? "..." : "");
    free(whole);
    free(masked);
    free(shown);
    free(clean);
    if (s->pid > 0)
        kill(-s->pid, SIGKILL);
}

/* One line from the result pipe (the parsing is core/result.c's). */
static void take_line(runner *r, slot *s, const char *line, size_t len)
{
    size_t n_metrics;
    const gp_metric *metrics = probe_metric_list(s->pr->def, &n_metrics);
    result_line rl;
    result_kind kind = result_parse_line(line, len, metrics, n_metrics, &rl);
    if (kind == RESULT_LOG) {
        if (s->logs++ <= CHILD_MAX_LOGS) {
            char *masked = mask_secrets(s->pr->def, rl.text);
            event ev = {.kind = EV_LOG,
                        .t_ns = now_ns(),
                        .run = r->rr,
                        .probe = s->pr,
                        .log_level = rl.log_level,
                        .text = masked};
            sinks_emit(r->ss, &ev);
            free(masked);
        }
    } else if (kind == RESULT_SECRET && !s->have_result &&
               s->secrets++ < CHILD_MAX_SECRETS) {
        /* ABI 1.2 secret() from check(): the probe's secrets are the
         * supervisor's to extend, for this attempt and all later output. */
        probe_add_secret((probe_def *)s->pr->def, rl.text);
    } else if (kind == RESULT_DONE && !s->have_result) {
        s->have_result = 1;
        s->res = rl.res;
        s->msg = mask_secrets(s->pr->def, rl.msg);
        s->bug = rl.bug ? mask_secrets(s->pr->def, rl.bug) : NULL;
        s->metrics = rl.metrics;
        s->n_metrics = rl.n_metrics;
        rl.metrics = NULL;
    } else {
        /* A second result is as wrong as a line that is not one. */
        set_garbage(s,
                    kind == RESULT_DONE     ? "garbage on the result pipe"
                    : kind == RESULT_SECRET ? "too many secret() texts on the "
                                              "result pipe"
                                            : rl.why,
                    line, len);
    }
    result_line_free(&rl);
}

/* The hooks fd_drain_lines() calls for a slot's result pipe. */
typedef struct slot_reader {
    runner *r; /* not owned */
    slot *s;   /* not owned */
} slot_reader;

static int slot_chunk(void *arg, size_t n)
{
    (void)n;
    return ((slot_reader *)arg)->s->garbage != NULL;
}

static int slot_line(void *arg, const char *line, size_t len)
{
    slot_reader *sr = arg;
    take_line(sr->r, sr->s, line, len);
    return sr->s->garbage != NULL;
}

/* A partial line longer than any result may be is garbage already. */
static void slot_rest(void *arg, const strbuf *in)
{
    slot *s = ((slot_reader *)arg)->s;
    if (in->len > MAX_RESULT_BYTES)
        set_garbage(s, "result line too long", in->buf, in->len);
}

/* Read what is there; returns when the pipe would block or is closed. */
static void drain(runner *r, slot *s)
{
    slot_reader sr = {r, s};
    line_sink ls = {slot_chunk, slot_line, slot_rest, &sr};
    fd_drain_lines(&s->fd, &s->in, &ls);
}

static char *describe_exit(int wstatus)
{
    if (WIFSIGNALED(wstatus)) {
        const char *abbrev = sigabbrev_np(WTERMSIG(wstatus));
        return xasprintf("killed by SIG%s%s", abbrev ? abbrev : "?",
                         WCOREDUMP(wstatus) ? " (core dumped)" : "");
    }
    return xasprintf("exited with status %d without a result",
                     WEXITSTATUS(wstatus));
}

/* ------------------------------------------------------------------------ */
/* A plugin's stderr (-v)                                                    */

/* A line of a plugin's stderr is shown up to this long, then "...", and
 * at most CHILD_MAX_LOGS lines of it per attempt, then how many more. */
#define MAX_STDERR_LINE 4096

/* What one read of a plugin's stderr takes at most before the loop goes
 * on with the rest of its work. */
#define MAX_STDERR_READ (256 * 1024)

/* Show line, from the plugin's stderr, as a log line masked with the
 * probe's secrets. */
static void err_emit(runner *r, slot *s, const char *line)
{
    char *clean = str_sanitize(line);
    char *text = xasprintf("stderr: %s", clean);
    char *masked = secrets_mask(s->pr->def, text);
    event ev = {.kind = EV_LOG,
                .t_ns = now_ns(),
                .run = r->rr,
                .probe = s->pr,
                .log_level = GP_LOG_INFO,
                .text = masked};
    sinks_emit(r->ss, &ev);
    free(masked);
    explicit_bzero(text, strlen(text));
    free(text);
    explicit_bzero(clean, strlen(clean));
    free(clean);
}

/* The partial stderr line is complete (or the stream ended): show it,
 * or past the bound count it; then start the next. */
static void err_line(runner *r, slot *s)
{
    if (s->err_lines < CHILD_MAX_LOGS) {
        s->err_lines++;
        /* A cut line ends in "...", where the masker also masks the start
         * of a secret the cut went through. */
        if (s->err_cut)
            sb_append(&s->err, "...");
        err_emit(r, s, sb_str(&s->err));
    } else {
        s->err_dropped++;
    }
    if (s->err.len)
        explicit_bzero(s->err.buf, s->err.len);
    s->err.len = 0;
    s->err_cut = 0;
}

/*
 * Read the stderr pipe without blocking, at most MAX_STDERR_READ bytes a
 * call: a plugin that floods it cannot hold the loop (deadlines, the other
 * attempts); the rest waits for the next poll. At the pipe's end, or when
 * the attempt ended (final: what is there now is all that is read, even
 * if a process that left the group still writes), show the last partial
 * line and how many lines were past the bound, and close it.
 */
static void drain_err(runner *r, slot *s, int final)
{
    char buf[16384];
    size_t total = 0;
    while (s->efd >= 0 && total < MAX_STDERR_READ) {
        ssize_t n = read(s->efd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            close_fd(&s->efd);
            break;
        }
        total += (size_t)n;
        for (const char *c = buf, *end = buf + n; c < end;) {
            const char *nl = memchr(c, '\n', (size_t)(end - c));
            size_t len = (size_t)((nl ? nl : end) - c);
            size_t room = MAX_STDERR_LINE - s->err.len;
            if (len > room) {
                s->err_cut = 1;
                len = room;
            }
            size_t at = s->err.len;
            sb_appendn(&s->err, c, len);
            /* A NUL would end the text early: a control byte, shown as
             * str_sanitize() shows the others, as a space. */
            for (char *z; (z = memchr(s->err.buf + at, '\0', s->err.len - at));
                 at = (size_t)(z - s->err.buf) + 1)
                *z = ' ';
            if (nl)
                err_line(r, s);
            c = nl ? nl + 1 : end;
        }
    }
    if (s->efd >= 0 && !final)
        return;
    close_fd(&s->efd);
    if (s->err.len || s->err_cut)
        err_line(r, s);
    if (s->err_dropped) {
        char note[64];
        snprintf(note, sizeof note, "(%u more lines)", s->err_dropped);
        err_emit(r, s, note);
        s->err_dropped = 0;
    }
}

/* The attempt's process is gone (or never was): record it, apply policy. */
static void complete(runner *r, slot *s, int wstatus, int64_t now)
{
    probe_run *pr = s->pr;
    attempt_rec *rec = &pr->history[s->rec];
    if (s->fd >= 0)
        drain(r, s);
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    drain_err(r, s, 1);
    if (!s->garbage && s->in.len > 0)
        set_garbage(s, "garbage on the result pipe", s->in.buf, s->in.len);

    rec->end_ns = now;
    char tbuf[32];
    if (s->garbage) {
        rec->res = RES_ERROR;
        rec->message = xstrdup(s->garbage);
    } else if (s->have_result && s->bug) {
        rec->res = RES_ERROR;
        rec->message = xasprintf("plugin bug: %s", s->bug);
    } else if (s->have_result) {
        rec->res = s->res;
        /* Not ready after using all of its time: that is a timeout, even
         * when the plugin (rightly) gave up by itself. "All" allows for
         * the timers of the libraries plugins use, which may fire a few
         * milliseconds early (libcurl's did, 3 ms in 1 s, under load). */
        if (rec->res == RES_TRANSIENT &&
            now >= s->soft_ns - TIME_UP_SLACK_NS(s->soft_ns - rec->start_ns))
            rec->res = RES_TIMEOUT;
        rec->message = s->msg;
        s->msg = NULL;
        rec->metrics = s->metrics;
        rec->n_metrics = s->n_metrics;
        s->metrics = NULL;
    } else if (s->killed) {
        rec->res = RES_TIMEOUT;
        fmt_duration(tbuf, sizeof tbuf,
                     (s->soft_ns - rec->start_ns) / NS_PER_MS);
        rec->message = xasprintf("attempt timed out after %s (killed)", tbuf);
    } else {
        rec->res = RES_ERROR;
        rec->message = describe_exit(wstatus);
    }
    slot_release(r, s);
    r->busy--;
    if (r->cap < r->budget)
        r->cap++;

    probe_status st = ST_ERROR;
    char *why = NULL;
    int64_t next = next_step(r, pr, rec, now, &st, &why);
    emit(r, EV_ATTEMPT_END, pr, rec, next);
    if (next)
        schedule(r, pr, next);
    else
        finish(r, pr, st, why ? why : rec->message, now);
    free(why);
}

static slot *slot_of(runner *r, pid_t pid)
{
    for (unsigned i = 0; i < r->n_slots; i++)
        if (r->slots[i].pid == pid)
            return &r->slots[i];
    return NULL;
}

/* The spawner is gone: its attempts died with it and come back to
 * reap() as orphans; those it had not started yet start again. */
static void spawner_gone(runner *r)
{
    spawner_lost(r->o->spawner);
    for (unsigned i = 0; i < r->n_slots; i++) {
        slot *s = &r->slots[i];
        if (s->starting) {
            r->busy--;
            take_back(r, s, now_ns());
        }
    }
}

/* What the spawner has said: attempts started, and reaped. */
static void spawner_events(runner *r)
{
    spawner_event ev;
    int rc;
    while ((rc = spawner_next(r->o->spawner, 0, &ev)) == 1) {
        if (ev.started) {
            on_started(r, &ev, now_ns());
            continue;
        }
        slot *s = slot_of(r, ev.pid);
        if (s && s->spawned)
            complete(r, s, ev.wstatus, now_ns());
    }
    if (rc < 0 && r->o->spawner && r->o->spawner->ev_fd >= 0)
        spawner_gone(r);
}

/*
 * A spawned attempt came back to us to be reaped: the spawner is dead, and
 * the attempt died with it (PR_SET_PDEATHSIG) unless it had ended. Its
 * result stands if it gave one, and so does a kill at its deadline; else
 * it ended by gpcheck's fault, not the probe's: it starts again.
 */
static void orphaned(runner *r, slot *s, int wstatus)
{
    drain(r, s);
    if (s->have_result || s->garbage || s->killed) {
        complete(r, s, wstatus, now_ns());
        return;
    }
    r->busy--;
    take_back(r, s, now_ns());
}

/* Reap every child that has exited, ours or reparented orphans. */
static void reap(runner *r)
{
    for (;;) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
            si.si_pid == 0)
            return;
        spawner *sp = r->o->spawner;
        if (sp && si.si_pid == sp->pid) {
            /* Gone: what it said first, then its attempts come back
             * here as orphans (killed with it), and the rest fork from
             * the supervisor. */
            spawner_events(r);
            spawner_gone(r);
            while (waitpid(si.si_pid, NULL, 0) < 0 && errno == EINTR)
                ;
            continue;
        }
        slot *s = slot_of(r, si.si_pid);
        /* Kill the group while the zombie still holds its id, so the id
         * cannot have been reused by the time we signal it. */
        if (s)
            kill(-si.si_pid, SIGKILL);
        int ws = 0;
        while (waitpid(si.si_pid, &ws, 0) < 0 && errno == EINTR)
            ;
        if (s && s->spawned)
            orphaned(r, s, ws);
        else if (s)
            complete(r, s, ws, now_ns());
    }
}

/* Kill and reap whatever is still our child: reparented orphans of
 * attempts that escaped their process group (setsid). */
static void sweep_strays(pid_t keep)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    for (int round = 0; round < 50; round++) {
        FILE *f = fopen(path, "re");
        if (!f)
            return;
        int found = 0;
        long pid;
        while (fscanf(f, "%ld", &pid) == 1) {
            if ((pid_t)pid == keep)
                continue;
            found = 1;
            kill((pid_t)pid, SIGKILL);
            while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR)
                ;
        }
        fclose(f);
        if (!found)
            return;
    }
}

/* What the deadline message quotes: the last attempt that was not a
 * timeout of one shortened by the run's deadline. Those, started in the
 * run's last moments, say "no time left", not why the probe was not
 * ready. NULL when the probe made no attempt. */
static const char *last_full_message(const runner *r, const probe_run *pr)
{
    int64_t timeout_ns = pr->def->pol.timeout_ms * NS_PER_MS;
    for (size_t i = pr->n_history; i-- > 0;) {
        const attempt_rec *a = &pr->history[i];
        int shortened = r->deadline_ns && a->start_ns + timeout_ns >
                                              r->deadline_ns - KILL_GRACE_NS;
        if (a->res != RES_TIMEOUT || !shortened)
            return a->message;
    }
    return pr->n_history ? pr->history[pr->n_history - 1].message : NULL;
}

/* Stop everything now: the run deadline passed, or a signal came. */
static void stop_all(runner *r, int signo)
{
    int64_t now = now_ns();
    r->stopping = 1;
    unsigned spawned = 0;
    for (unsigned i = 0; i < r->n_slots; i++) {
        if (r->slots[i].pid > 0)
            kill_group(r, &r->slots[i]);
        spawned += r->slots[i].spawned;
    }
    /* The spawner's: reaped when it says so (those it starts meanwhile
     * killed at once), or, when it is gone, orphans of ours now. Bounded:
     * everything was SIGKILLed. */
    int64_t until = now_ns() + STOP_WAIT_NS;
    while (spawned > 0 && now_ns() < until) {
        spawner_event ev;
        int rc = spawner_next(r->o->spawner, 100, &ev);
        if (rc < 0)
            break;
        slot *s = rc != 1 ? NULL
                  : ev.started
                      ? (ev.slot < r->n_slots ? &r->slots[ev.slot] : NULL)
                      : slot_of(r, ev.pid);
        if (!s || !s->spawned)
            continue;
        if (ev.started && s->starting && ev.pid > 0) {
            started(r, s, ev.pid);
            kill_group(r, s);
            continue;
        }
        s->starting = 0;
        s->spawned = 0;
        s->reaped = 1;
        spawned--;
    }
    for (unsigned i = 0; i < r->n_slots; i++) {
        slot *s = &r->slots[i];
        if (s->pid <= 0 && !s->starting && !s->reaped)
            continue;
        if (s->starting || (s->reaped && s->pid <= 0))
            emit(r, EV_ATTEMPT_START, s->pr, &s->pr->history[s->rec], 0);
        /* Not the spawner's (any more): ours, or an orphan now ours. */
        while (s->pid > 0 && !s->reaped && waitpid(s->pid, NULL, 0) < 0 &&
               errno == EINTR)
            ;
        probe_run *pr = s->pr;
        attempt_rec *rec = &pr->history[s->rec];
        rec->end_ns = now;
        rec->res = signo ? RES_ERROR : RES_TIMEOUT;
        rec->message =
            signo ? xasprintf("interrupted by SIG%s", sigabbrev_np(signo))
                  : xstrdup("cut by the run deadline");
        if (s->fd >= 0)
            close(s->fd);
        drain_err(r, s, 1);
        slot_release(r, s);
        r->busy--;
        emit(r, EV_ATTEMPT_END, pr, rec, 0);
    }
    char tbuf[32];
    fmt_duration(tbuf, sizeof tbuf, r->o->deadline_ms);
    for (size_t i = 0; i < r->rr->n; i++) {
        probe_run *pr = &r->rr->probes[i];
        if (pr->state == PS_DONE)
            continue;
        const char *last = last_full_message(r, pr);
        char *m;
        probe_status st;
        if (signo) {
            st = pr->state == PS_RUNNING ? ST_ERROR : ST_SKIPPED;
            m = xasprintf("interrupted by SIG%s", sigabbrev_np(signo));
        } else {
            st = ST_TIMEOUT;
            pr->cut_by_deadline = 1;
            if (pr->state == PS_WAITING)
                m = xasprintf("run deadline (%s) passed while waiting on "
                              "'after' probes",
                              tbuf);
            else if (last)
                m = xasprintf("run deadline (%s) passed; last: %s", tbuf, last);
            else
                m = xasprintf("run deadline (%s) passed", tbuf);
        }
        finish(r, pr, st, m, now);
        free(m);
    }
}

static int all_done(const runner *r)
{
    return r->n_done == r->rr->n;
}

/* Start due attempts while there is room, the earliest first (at equal
 * times the probe defined first); returns the earliest future start among
 * scheduled probes, or 0. Once the run's deadline leaves an
 * attempt less than MIN_ATTEMPT_NS before the kill grace, nothing starts:
 * such an attempt could only say "no time left", and its message would
 * hide the last real one's in the deadline report. */
static int64_t start_due(runner *r, int64_t now)
{
    if (r->deadline_ns &&
        now + MIN_ATTEMPT_NS >= r->deadline_ns - KILL_GRACE_NS)
        return r->deadline_ns; /* what comes next is the deadline */
    for (;;) {
        size_t first;
        int64_t at;
        if (!due_first(&r->due, &first, &at))
            return 0;
        if (at > now)
            return at;
        if (r->busy >= r->cap)
            return 0;
        /* An attempt that must wait for room stays queued, due now, and
         * wait_for_room() lowered the cap: the next turn returns. */
        spawn(r, &r->rr->probes[first], now);
        now = now_ns();
    }
}

static int poll_timeout(runner *r, int64_t now, int64_t next_start,
                        int64_t loop_wake)
{
    int64_t wake = r->next_tick;
    if (loop_wake && (!wake || loop_wake < wake))
        wake = loop_wake;
    if (next_start && r->busy < r->cap && (!wake || next_start < wake))
        wake = next_start;
    for (unsigned i = 0; i < r->n_slots; i++) {
        slot *s = &r->slots[i];
        int64_t at = s->pid > 0 && !s->killed ? s->deadline_ns : 0;
        if (s->spawned && spawner_usable(r->o->spawner))
            at = s->deadline_ns +
                 (s->starting || !s->killed ? 0 : KILL_GRACE_NS);
        if (at && (!wake || at < wake))
            wake = at;
    }
    if (r->deadline_ns && (!wake || r->deadline_ns < wake))
        wake = r->deadline_ns;
    if (!wake)
        return -1;
    int64_t ms = (wake - now + NS_PER_MS - 1) / NS_PER_MS;
    if (ms < 0)
        ms = 0;
    return ms > 60000 ? 60000 : (int)ms;
}

static int handle_signals(runner *r)
{
    struct signalfd_siginfo si;
    int stop = 0;
    while (read(r->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP && r->o->hup_seen) {
            *r->o->hup_seen = 1;
            if (r->o->loop)
                r->tick_at = now_ns(); /* the loop reloads */
            continue;
        }
        /* SIGHUP: a closed terminal, a cancelled CI job. */
        if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM ||
            si.ssi_signo == SIGHUP)
            stop = (int)si.ssi_signo;
    }
    reap(r);
    return stop;
}

static void loop(runner *r)
{
    /* The signalfd, the loop's fd, the spawner's events, and each slot's
     * result and stderr pipes. */
    struct pollfd *pfd = xcalloc(2 * (size_t)r->n_slots + 3, sizeof *pfd);
    slot **owner = xcalloc(2 * (size_t)r->n_slots + 3, sizeof *owner);
    for (;;) {
        int64_t now = now_ns();
        if (r->deadline_ns && now >= r->deadline_ns) {
            r->rr->deadline_hit = 1;
            stop_all(r, 0);
            break;
        }
        for (unsigned i = 0; i < r->n_slots; i++) {
            slot *s = &r->slots[i];
            if (s->pid > 0 && !s->killed && now >= s->deadline_ns) {
                s->killed = 1;
                kill_group(r, s);
            }
            /* Not started by its deadline, or not reaped a grace after
             * its kill: the spawner is stuck (stopped, say). Killed, it
             * is reaped; its attempts are then orphans of ours, those it
             * had not started start again here. */
            if (s->spawned && spawner_usable(r->o->spawner) &&
                now >= s->deadline_ns + (s->starting ? 0 : KILL_GRACE_NS))
                spawner_abandon(r->o->spawner);
        }
        const runner_loop *lp = r->o->loop;
        int64_t restart = 0;
        for (size_t i = 0; lp && i < r->rr->n; i++) {
            probe_run *pr = &r->rr->probes[i];
            int64_t at = lp->restart_at[i];
            if (pr->state != PS_DONE || !at)
                continue;
            if (at <= now) {
                lp->restart_at[i] = 0;
                probe_restart(r, pr, now);
            } else if (!restart || at < restart) {
                restart = at;
            }
        }
        if (lp && r->tick_at && now >= r->tick_at) {
            r->tick_at = lp->tick(lp->ud, now);
            if (r->tick_at < 0) {
                stop_all(r, 0);
                break;
            }
            continue; /* it may have moved restart_at */
        }
        int64_t next_start = start_due(r, now);
        if (!lp && all_done(r))
            break;
        /* A restart or the loop's tick wakes the loop whatever is busy. */
        int64_t loop_wake = restart;
        if (r->tick_at > 0 && (!loop_wake || r->tick_at < loop_wake))
            loop_wake = r->tick_at;
        if (r->next_tick && now >= r->next_tick) {
            emit(r, EV_TICK, NULL, NULL, 0);
            r->next_tick = now + r->o->tick_ms * NS_PER_MS;
        }
        if (r->busy == 0 && !next_start && !lp) {
            /* Cannot happen with an acyclic `after`; never spin on it. */
            r->stopping = 1;
            for (size_t i = 0; i < r->rr->n; i++)
                if (r->rr->probes[i].state != PS_DONE)
                    finish(r, &r->rr->probes[i], ST_SKIPPED,
                           "internal error: dependency never resolved", now);
            break;
        }
        nfds_t n = 0;
        pfd[n++] = (struct pollfd){.fd = r->sfd, .events = POLLIN};
        /* The loop's fd second, owned by no slot. */
        nfds_t loop_at = 0, events_at = 0;
        if (lp && lp->fd >= 0) {
            loop_at = n;
            pfd[n++] = (struct pollfd){.fd = lp->fd, .events = POLLIN};
        }
        const spawner *sp = r->o->spawner;
        if (sp && sp->ev_fd >= 0) {
            events_at = n;
            pfd[n++] = (struct pollfd){.fd = sp->ev_fd, .events = POLLIN};
        }
        nfds_t first_slot = n;
        for (unsigned i = 0; i < r->n_slots; i++) {
            slot *s = &r->slots[i];
            if (s->pid <= 0)
                continue;
            if (s->fd >= 0) {
                owner[n] = s;
                pfd[n++] = (struct pollfd){.fd = s->fd, .events = POLLIN};
            }
            if (s->efd >= 0) {
                owner[n] = s;
                pfd[n++] = (struct pollfd){.fd = s->efd, .events = POLLIN};
            }
        }
        int timeout = poll_timeout(r, now, next_start, loop_wake);
        int rc = poll(pfd, n, timeout);
        if (rc < 0 && errno != EINTR) {
            /* EINVAL: more descriptors than RLIMIT_NOFILE allows now (it
             * was lowered under us); ENOMEM. Never end the run on it (the
             * probes left would read as ok): watch the signalfd alone a
             * moment, and read every pipe without waiting. SIGCHLD still
             * says when each attempt ends. */
            rc = poll(pfd, 1, timeout < 0 || timeout > 10 ? 10 : timeout);
            for (unsigned i = 0; i < r->n_slots; i++) {
                if (r->slots[i].pid > 0 && r->slots[i].fd >= 0)
                    drain(r, &r->slots[i]);
                if (r->slots[i].pid > 0 && r->slots[i].efd >= 0)
                    drain_err(r, &r->slots[i], 0);
            }
            n = 1;
        }
        if (rc > 0 && loop_at && pfd[loop_at].revents)
            r->tick_at = now; /* tick at the top of the next turn */
        for (nfds_t i = first_slot; rc > 0 && i < n; i++) {
            if (!pfd[i].revents || owner[i]->pid <= 0)
                continue;
            if (pfd[i].fd == owner[i]->efd)
                drain_err(r, owner[i], 0);
            else
                drain(r, owner[i]);
        }
        /* After the pipes: an attempt's result is read before its end. */
        if (rc > 0 && events_at && pfd[events_at].revents)
            spawner_events(r);
        if (rc > 0 && pfd[0].revents) {
            int signo = handle_signals(r);
            if (signo) {
                r->rr->signo = signo;
                stop_all(r, signo);
                break;
            }
        }
    }
    free(pfd);
    free(owner);
}

/* Descriptors kept free beside the attempts' pipes: the reports written
 * at the end, /proc reads, a plugin file or two. */
#define FD_RESERVE 8

static unsigned open_fds(unsigned long limit)
{
    unsigned n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        for (struct dirent *e; (e = readdir(d)) != NULL;)
            n += e->d_name[0] != '.';
        closedir(d);
        return n > 0 ? n - 1 : 0; /* not the listing's own */
    }
    for (unsigned long fd = 0; fd < limit && fd < 65536; fd++)
        n += fcntl((int)fd, F_GETFD) >= 0;
    return n;
}

/*
 * How many attempts may be in flight by the descriptor limit: each holds
 * the read end of its result pipe and, with -v (per_attempt 2), of its
 * stderr pipe; while one is started, the write ends too (the child's
 * descriptors count against its own table). -j 200 under ulimit -n 64
 * then queues attempts instead of failing them.
 */
static unsigned fd_budget(unsigned per_attempt)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return UINT_MAX;
    long room = (long)rl.rlim_cur - (long)open_fds(rl.rlim_cur) - FD_RESERVE -
                (long)per_attempt /* the write ends while starting */;
    room /= (long)per_attempt;
    return room < 1 ? 1 : room > UINT_MAX ? UINT_MAX : (unsigned)room;
}

int runner_run(const probe_set *ps, const runner_opts *o, sinks *ss,
               run_result *out)
{
    memset(out, 0, sizeof *out);
    out->env = o->env;
    out->set = ps;
    out->bypass = o->bypass;
    out->jobs = o->jobs;
    out->deadline_ms = o->deadline_ms;
    out->n = ps->n;
    out->probes = xcalloc(ps->n + 1, sizeof *out->probes);
    for (size_t i = 0; i < ps->n; i++)
        out->probes[i].def = &ps->probes[i];

    sigset_t mask, old;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, &old);
    runner r = {.o = o, .ss = ss, .rr = out, .self = getpid()};
    due_init(&r.due, ps->n);
    r.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    r.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (r.sfd < 0 || r.devnull < 0) {
        fprintf(stderr, "gpcheck: cannot set up the supervisor: %s\n",
                strerror(errno));
        sigprocmask(SIG_SETMASK, &old, NULL);
        due_free(&r.due);
        return -1;
    }
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (getrandom(&r.rng, sizeof r.rng, 0) != (ssize_t)sizeof r.rng || !r.rng)
        r.rng = (uint64_t)now_ns() | 1;
    r.n_slots = o->jobs ? o->jobs : 1;
    if (r.n_slots > ps->n && ps->n > 0)
        r.n_slots = (unsigned)ps->n;
    r.slots = xcalloc(r.n_slots, sizeof *r.slots);
    for (unsigned i = 0; i < r.n_slots; i++)
        slot_reset(&r.slots[i]);
    secrets_env_find(&r.env, ps);
    /* The spawner guards the attempts it forks (spawner.h); the guardian
     * is for ours, started before the first of them. */
    r.guardian_fd = -1;
    if (!spawner_usable(o->spawner))
        guardian_start(&r);
    spawner_scrub(o->spawner, &r.env);
    spawner_preload(o->spawner, ps);
    r.budget = r.n_slots;
    unsigned fds = fd_budget(o->child_stderr ? 2 : 1);
    if (fds < r.budget) {
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        fprintf(stderr,
                "gpcheck: warning: %u attempts in flight at most, not %u: "
                "the descriptor limit (ulimit -n) is %lu\n",
                fds, r.budget, (unsigned long)rl.rlim_cur);
        r.budget = fds;
    }
    r.cap = r.budget;

    out->started_wall_ms = wall_ms();
    out->start_ns = now_ns();
    if (o->deadline_ms > 0)
        r.deadline_ns = out->start_ns + o->deadline_ms * NS_PER_MS;
    if (o->tick_ms > 0)
        r.next_tick = out->start_ns + o->tick_ms * NS_PER_MS;
    if (o->loop)
        r.tick_at = out->start_ns; /* once at the start */
    emit(&r, EV_RUN_START, NULL, NULL, 0);
    for (size_t i = 0; i < out->n; i++) {
        if (out->probes[i].def->n_after == 0) {
            probe_start(&r, &out->probes[i], out->start_ns);
        } else {
            r.n_waiting++;
            emit(&r, EV_PROBE_WAIT, &out->probes[i], NULL, 0);
        }
    }
    loop(&r);
    /* A gate must never pass on a probe that did not end: should the loop
     * ever stop early, what is left is an error, not the zeroed "ok". */
    r.stopping = 1;
    for (size_t i = 0; i < out->n; i++)
        if (out->probes[i].state != PS_DONE)
            finish(&r, &out->probes[i], ST_ERROR,
                   "internal error: the supervisor stopped before this probe "
                   "ended",
                   now_ns());
    guardian_stop(&r);
    sweep_strays(spawner_usable(o->spawner) ? o->spawner->pid : 0);
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    out->end_ns = now_ns();

    gate_decide(out, wall_ms(), o->user, o->host);
    emit(&r, EV_RUN_END, NULL, NULL, 0);

    for (unsigned i = 0; i < r.n_slots; i++)
        slot_reset(&r.slots[i]);
    free(r.slots);
    due_free(&r.due);
    secrets_env_free(&r.env);
    close(r.sfd);
    close(r.devnull);
    /* Drop signals that arrived for the children we already reaped. */
    struct timespec zero = {0, 0};
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    while (sigtimedwait(&chld, NULL, &zero) > 0)
        ;
    sigprocmask(SIG_SETMASK, &old, NULL);
    return 0;
}

void run_result_free(run_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        probe_run *pr = &r->probes[i];
        for (size_t k = 0; k < pr->n_history; k++) {
            free(pr->history[k].message);
            free(pr->history[k].metrics);
        }
        free(pr->history);
        free(pr->message);
        free(pr->evals);
    }
    free(r->probes);
    decision_free(&r->dec);
    memset(r, 0, sizeof *r);
}
