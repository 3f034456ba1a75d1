/* core/validate.c - plugins' validate() hooks, isolated; see validate.h. */
#include "validate.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "gpcheck/sdk.h"
#include "schema.h"
#include "util.h"

/* More than this on the pipe from one child is garbage, not results. */
#define VALIDATE_MAX_BYTES (4 * 1024 * 1024)
/* Without a pidfd, how often we look for a child's exit. */
#define VALIDATE_SLICE_MS 5

/* One plugin's validation child. */
typedef struct vjob {
    const plugin *pl;
    probe_def **defs; /* owned array; the probes not owned */
    size_t n;
    pid_t pid;  /* 0 before the fork, -1 once reaped */
    pid_t pgid; /* the child's process group, once forked */
    int group_killed;
    int fd;                      /* read end of the result pipe, or -1 */
    int pidfd;                   /* readable when the child exited, or -1 */
    int wstatus;                 /* once reaped */
    volatile uint32_t *progress; /* shared page: the probe being validated */
    strbuf in;                   /* bytes of an incomplete line */
    size_t total;                /* bytes read */
    int done;                    /* the child sent {"done": n} */
    size_t secrets;              /* {"secret": ...} lines taken */
    char *garbage;               /* owned; the first protocol violation */
    char *start_err;             /* owned; why the child could not be started */
} vjob;

/* Where an option's value stands: its line, or the probe's section. */
static origin origin_of(const probe_def *p, const char *key)
{
    const opt_value *ov = probe_opt(p, key);
    return ov && ov->set ? ov->at : p->at;
}

/* msg with the probe's secrets masked (secret options, secret files and
 * what the plugin declared), for a line that may land in a CI log. */
static char *masked(const probe_def *p, const char *msg)
{
    const char **v = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < p->n_secrets; i++) {
        xgrow(&v, &cap, n + 1, sizeof *v);
        v[n++] = p->secrets[i];
    }
    for (size_t i = 0; i < p->n_opts; i++) {
        const opt_value *o = &p->opts[i];
        xgrow(&v, &cap, n + o->n_items + 2, sizeof *v);
        if (o->file_secret)
            v[n++] = o->file_secret;
        if (!(o->decl->flags & GP_OPT_SECRET) || !o->has)
            continue;
        if (o->n_items)
            for (size_t k = 0; k < o->n_items; k++)
                v[n++] = o->items[k];
        else if (o->text)
            v[n++] = o->text;
    }
    char out[1024];
    gp_sdk_mask_secrets(msg, v, n, out, sizeof out);
    free(v);
    return xstrdup(out);
}

static void set_garbage(vjob *j, const char *why)
{
    if (!j->garbage)
        j->garbage = xstrdup(why);
    if (j->pid > 0)
        kill(-j->pid, SIGKILL);
}

/* An invalid() of probe i: reported at the option's origin. */
static void take_invalid(vjob *j, json_t *o, diag *d)
{
    json_t *ji = json_object_get(o, "probe");
    const char *key = json_string_value(json_object_get(o, "key"));
    const char *text = json_string_value(json_object_get(o, "text"));
    json_int_t i = json_integer_value(ji);
    if (!json_is_integer(ji) || i < 0 || (size_t)i >= j->n || !text) {
        set_garbage(j, "a malformed invalid() result");
        return;
    }
    const probe_def *p = j->defs[i];
    if (!key || !probe_opt(p, key)) {
        origin at = p->at;
        diag_add(d, at.file, at.line,
                 "plugin '%s' bug: validate() of probe '%s' called "
                 "invalid() for undeclared option '%s'",
                 j->pl->name, p->name, key ? key : "(null)");
        return;
    }
    origin at = origin_of(p, key);
    char *m = masked(p, text);
    diag_add(d, at.file, at.line, "probe '%s': %s: %s", p->name, key,
             *m ? m : "invalid value");
    free(m);
}

static void take_line(vjob *j, const char *line, size_t len, diag *d)
{
    json_error_t jerr;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *kind = NULL;
    json_t *body = NULL;
    if (json_is_object(o) && json_object_size(o) == 1 && !j->done) {
        void *it = json_object_iter(o);
        kind = json_object_iter_key(it);
        body = json_object_iter_value(it);
    }
    json_int_t i = json_integer_value(json_object_get(body, "probe"));
    const char *text = json_string_value(json_object_get(body, "text"));
    int in_range = json_is_integer(json_object_get(body, "probe")) && i >= 0 &&
                   (size_t)i < j->n;
    if (!kind) {
        set_garbage(j, "garbage on the result pipe");
    } else if (strcmp(kind, "invalid") == 0) {
        take_invalid(j, body, d);
    } else if (strcmp(kind, "secret") == 0 && in_range && text &&
               j->secrets++ < CHILD_MAX_SECRETS * j->n) {
        probe_add_secret(j->defs[i], text);
    } else if (strcmp(kind, "bug") == 0 && in_range && text) {
        const probe_def *p = j->defs[i];
        diag_add(d, p->at.file, p->at.line,
                 "plugin '%s' bug in validate() of probe '%s': %s", j->pl->name,
                 p->name, text);
    } else if (strcmp(kind, "done") == 0 && json_is_integer(body) &&
               (size_t)json_integer_value(body) == j->n) {
        j->done = 1;
    } else {
        set_garbage(j, "garbage on the result pipe");
    }
    json_decref(o);
}

/* The hooks fd_drain_lines() calls for a job's result pipe. */
typedef struct vjob_reader {
    vjob *j; /* not owned */
    diag *d; /* not owned */
} vjob_reader;

/* Counts every byte: past VALIDATE_MAX_BYTES the job is garbage. */
static int vjob_chunk(void *arg, size_t n)
{
    vjob *j = ((vjob_reader *)arg)->j;
    j->total += n;
    if (j->garbage)
        return 1;
    if (j->total > VALIDATE_MAX_BYTES) {
        set_garbage(j, "too much output on the result pipe");
        return 1;
    }
    return 0;
}

static int vjob_line(void *arg, const char *line, size_t len)
{
    vjob_reader *vr = arg;
    take_line(vr->j, line, len, vr->d);
    return vr->j->garbage != NULL;
}

static void drain(vjob *j, diag *d)
{
    vjob_reader vr = {j, d};
    line_sink ls = {vjob_chunk, vjob_line, NULL, &vr};
    fd_drain_lines(&j->fd, &j->in, &ls);
}

/* In the child: the same isolation an attempt gets (core/runner.c). */
static _Noreturn void in_child(vjob *j, int wfd, pid_t parent,
                               int64_t deadline_ms)
{
    int null = open("/dev/null", O_RDWR);
    if (null < 0)
        _exit(2);
    child_enter(parent, null, wfd, -1);
    child_validation v = {.defs = (const probe_def *const *)j->defs,
                          .n = j->n,
                          .deadline_ms = deadline_ms,
                          .fd = 3,
                          .progress = j->progress};
    child_validate(&v);
}

static int start(vjob *j, int64_t deadline_ms)
{
    int p[2];
    j->progress = mmap(NULL, sizeof *j->progress, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (j->progress == MAP_FAILED) {
        j->progress = NULL;
        return -1;
    }
    *j->progress = 0;
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid_t parent = getpid();
    fflush(NULL); /* nothing buffered may be written twice */
    pid_t pid = fork();
    if (pid == 0)
        in_child(j, p[1], parent, deadline_ms);
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return -1;
    }
    setpgid(pid, pid);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    j->pid = j->pgid = pid;
    j->fd = p[0];
    j->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    return 0;
}

static void try_reap(vjob *j)
{
    if (j->pid > 0 && waitpid(j->pid, &j->wstatus, WNOHANG) == j->pid) {
        j->pid = -1;
        if (j->pidfd >= 0)
            close(j->pidfd);
        j->pidfd = -1;
    }
}

/* Wait for every child until it exited and its pipe is closed, or until
 * the deadline; then kill what is left and reap it. */
static void supervise(vjob *jobs, size_t n, int64_t deadline_ms, diag *d)
{
    struct pollfd *pf = xcalloc(2 * n + 1, sizeof *pf);
    for (;;) {
        size_t np = 0;
        int slices = 0;
        for (size_t i = 0; i < n; i++) {
            vjob *j = &jobs[i];
            try_reap(j);
            /* Exited, but a grandchild holds the pipe: end the group
             * (which exists as long as that member does). */
            if (j->pid < 0 && j->fd >= 0 && !j->group_killed) {
                kill(-j->pgid, SIGKILL);
                j->group_killed = 1;
            }
            if (j->fd >= 0)
                pf[np++] = (struct pollfd){.fd = j->fd, .events = POLLIN};
            if (j->pidfd >= 0)
                pf[np++] = (struct pollfd){.fd = j->pidfd, .events = POLLIN};
            else if (j->pid > 0)
                slices = 1;
        }
        if (np == 0 && !slices)
            break;
        int64_t left = deadline_ms - now_ms();
        if (left <= 0)
            break;
        int wait =
            slices && left > VALIDATE_SLICE_MS ? VALIDATE_SLICE_MS : (int)left;
        if (poll(pf, np, wait) < 0 && errno != EINTR)
            break;
        for (size_t i = 0; i < n; i++)
            drain(&jobs[i], d);
    }
    free(pf);
}

/* What became of one child, as configuration errors. */
static void report(vjob *j, diag *d)
{
    uint32_t at = j->progress ? *j->progress : 0;
    const probe_def *p = j->defs[at < j->n ? at : 0];
    char *why = NULL;
    if (j->start_err) {
        why = xasprintf("cannot start validate(): %s", j->start_err);
    } else if (j->garbage) {
        why = xasprintf("validate() wrote %s", j->garbage);
    } else if (j->pid > 0) {
        char t[32];
        fmt_duration(t, sizeof t, GP_VALIDATE_TIMEOUT_MS);
        why = xasprintf("validate() did not finish within %s (it was "
                        "killed)",
                        t);
    } else if (WIFSIGNALED(j->wstatus)) {
        const char *abbrev = sigabbrev_np(WTERMSIG(j->wstatus));
        why = xasprintf("validate() crashed (killed by SIG%s)",
                        abbrev ? abbrev : "?");
    } else if (!j->done || WEXITSTATUS(j->wstatus) != 0) {
        why = xasprintf("validate() ended without its results (exit status "
                        "%d)",
                        WEXITSTATUS(j->wstatus));
    }
    if (why)
        diag_add(d, p->at.file, p->at.line,
                 "plugin '%s': %s while validating probe '%s'", j->pl->name,
                 why, p->name);
    free(why);
}

static void job_end(vjob *j)
{
    if (j->pid > 0) {
        kill(-j->pgid, SIGKILL);
        while (waitpid(j->pid, &j->wstatus, 0) < 0 && errno == EINTR)
            ;
        /* keep pid > 0: report() says it timed out */
    }
    if (j->fd >= 0)
        close(j->fd);
    if (j->pidfd >= 0)
        close(j->pidfd);
    j->fd = j->pidfd = -1;
}

static void job_free(vjob *j)
{
    if (j->progress)
        munmap((void *)j->progress, sizeof *j->progress);
    free(j->defs);
    free(j->garbage);
    free(j->start_err);
    sb_free(&j->in);
}

size_t validate_probes(probe_def *const *defs, size_t n, int64_t timeout_ms,
                       diag *d)
{
    size_t n0 = d->n, n_jobs = 0;
    vjob *jobs = xcalloc(n + 1, sizeof *jobs);

    /* One job per plugin with a validate(), its probes in config order. */
    for (size_t i = 0; i < n; i++) {
        const plugin *pl = defs[i]->plugin;
        if (!pl || !schema_validate_fn(pl->desc))
            continue;
        vjob *j = NULL;
        for (size_t k = 0; k < n_jobs && !j; k++)
            if (jobs[k].pl == pl)
                j = &jobs[k];
        if (!j) {
            j = &jobs[n_jobs++];
            j->pl = pl;
            j->fd = j->pidfd = -1;
            j->defs = xcalloc(n - i + 1, sizeof *j->defs);
        }
        j->defs[j->n++] = defs[i];
    }
    int64_t deadline = now_ms() + timeout_ms;
    for (size_t k = 0; k < n_jobs; k++)
        if (start(&jobs[k], deadline) < 0)
            jobs[k].start_err = xstrdup(strerror(errno));
    supervise(jobs, n_jobs, deadline, d);
    for (size_t k = 0; k < n_jobs; k++) {
        job_end(&jobs[k]);
        report(&jobs[k], d);
        job_free(&jobs[k]);
    }
    free(jobs);
    return d->n - n0;
}
