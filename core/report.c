/* core/report.c - the table of report formats, the sink list, and how a
 * report reaches its PATH (atomically, never through a stranger's link). */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/*
 * Where a report PATH is written (the rules are README's "Security
 * notes"): /dev/stdout, /dev/stderr and /dev/fd/N are this process's
 * descriptors, written through; a symlink as PATH's last component is
 * followed only when it
 * belongs to the running user or root; a folder is refused; an existing
 * device, FIFO or socket is written in place and never replaced; anything
 * else (a regular file, a new name) is replaced by rename() of a file
 * created with O_EXCL under an unpredictable name in the same folder.
 */
typedef struct target {
    char *path;   /* owned; PATH, or the file a symlink PATH names */
    int in_place; /* not a regular file: written through, never replaced */
    int follow;   /* in place through the user's own symlink */
    int fd;       /* >= 0: PATH names this descriptor of ours (/dev/stdout,
                     /dev/stderr, /dev/fd/N): written through it */
} target;

/* Create PATH's folders and decide where it goes, checking it can be
 * written. Returns 0 (free t with target_free()), or -1 with
 * "-o FORMAT:PATH: reason" in err. */
static int target_resolve(const char *format, const char *path, target *t,
                          char *err, size_t errlen);
static void target_free(target *t);

/*
 * Write a finished report: to stdout when path is NULL, else to the target
 * target_resolve() picks, so that a reader (a Prometheus textfile
 * collector, a CI job) never sees half a report. A newline is added when
 * text lacks one. Every write and the close are checked (a full disk,
 * ENOSPC, fails the report). Returns 0, or -1 with "-o FORMAT:PATH:
 * reason" in err.
 */
static int write_report(const char *format, const char *path, const char *text,
                        char *err, size_t errlen);

/*
 * Append text to PATH ($GITHUB_STEP_SUMMARY, a file that collects every
 * step's summary): the target rules above, then O_APPEND on the file as
 * it is (created when missing), never replaced. Returns 0, or -1 with
 * "-o FORMAT: $VAR (PATH): reason" in err.
 */
static int append_report(const char *format, const char *var, const char *path,
                         const char *text, char *err, size_t errlen);

/* The step summary file, when the format writes one and $VAR is set. */
static const char *summary_path(const sink_ops *fmt)
{
    const char *p = fmt->step_summary ? getenv("GITHUB_STEP_SUMMARY") : NULL;
    return p && *p ? p : NULL;
}

static const sink_ops *const formats[] = {
    &sink_text_ops,   &sink_json_ops,        &sink_jsonl_ops,
    &sink_junit_ops,  &sink_tap_ops,         &sink_prometheus_ops,
    &sink_nagios_ops, &sink_pushgateway_ops, &sink_github_ops,
};

/* Formats whose reports print every metric of every probe: while one of
 * them is asked for, every metric is wanted (gp_api.metric_wanted, ABI
 * 1.3). The others show only the metrics a threshold names. */
static const char *const metric_formats[] = {"json", "tap", "prometheus",
                                             "nagios"};

int report_shows_metrics(const char *spec)
{
    size_t flen = strcspn(spec, ":");
    for (size_t i = 0; i < ARRAY_LEN(metric_formats); i++)
        if (strlen(metric_formats[i]) == flen &&
            strncmp(metric_formats[i], spec, flen) == 0)
            return 1;
    return 0;
}

/* The sink of a format that renders one document when the run ends. */
typedef struct doc_sink {
    sink base;
    const sink_ops *fmt; /* the format: its render() */
    char *path;          /* owned; NULL: stdout */
    char *text;          /* owned; the document, once rendered */
    char *summary;       /* owned; the step summary, once rendered */
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
    if (summary_path(d->fmt)) {
        free(d->summary);
        d->summary = d->fmt->step_summary(ev->run, NULL);
    }
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
        rc = write_report(d->fmt->format, d->path, d->text, err, errlen);
    }
    if (rc == 0 && d->summary)
        rc = append_report(d->fmt->format, "GITHUB_STEP_SUMMARY",
                           summary_path(d->fmt), d->summary, err, errlen);
    free(d->summary);
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

static sink *doc_open(const sink_ops *fmt, const char *path, char *err,
                      size_t errlen)
{
    /* A PATH that cannot be written is a usage error before anything is
     * probed, not a lost report after the run. */
    target t;
    if (path && target_resolve(fmt->format, path, &t, err, errlen) < 0)
        return NULL;
    if (path)
        target_free(&t);
    const char *sum = summary_path(fmt);
    if (sum) {
        char why_not[512];
        if (target_resolve(fmt->format, sum, &t, why_not, sizeof why_not) < 0) {
            snprintf(err, errlen, "%s (from $GITHUB_STEP_SUMMARY)", why_not);
            return NULL;
        }
        target_free(&t);
    }
    doc_sink *d = xcalloc(1, sizeof *d);
    d->base.ops = &doc_ops;
    d->fmt = fmt;
    d->path = path ? xstrdup(path) : NULL;
    return &d->base;
}

static void unknown_format(const char *spec, size_t flen, char *err,
                           size_t errlen)
{
    strbuf known = {0}; /* from the table, so the list cannot go stale */
    for (size_t i = 0; i < ARRAY_LEN(formats); i++)
        sb_appendf(&known, "%s%s", i ? ", " : "", formats[i]->format);
    snprintf(err, errlen, "-o %.*s: unknown format (known: %s)", (int)flen,
             spec, sb_str(&known));
    sb_free(&known);
}

int report_write(const char *format, const char *path, const char *text,
                 char *err, size_t errlen)
{
    return write_report(format, path, text, err, errlen);
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
            return doc_open(formats[i], path, err, errlen);
        return formats[i]->open(path, o, err, errlen);
    }
    unknown_format(spec, flen, err, errlen);
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

int report_diagnostics(const char *const *specs, size_t n, const diag *d,
                       const char *env)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const char *colon = strchr(specs[i], ':');
        size_t flen = colon ? (size_t)(colon - specs[i]) : strlen(specs[i]);
        const char *path = colon && colon[1] ? colon + 1 : NULL;
        const sink_ops *fmt = NULL;
        for (size_t k = 0; k < ARRAY_LEN(formats); k++)
            if (strlen(formats[k]->format) == flen &&
                strncmp(formats[k]->format, specs[i], flen) == 0)
                fmt = formats[k];
        char err[512] = "";
        if (colon && !colon[1]) {
            snprintf(err, sizeof err, "-o %s: empty path", specs[i]);
            fprintf(stderr, "gpcheck: %s\n", err);
            rc = -1;
            continue;
        }
        if (!fmt) {
            unknown_format(specs[i], flen, err, sizeof err);
            fprintf(stderr, "gpcheck: %s\n", err);
            rc = -1;
            continue;
        }
        if (!fmt->render_diag || (fmt == &sink_text_ops && !path))
            continue;
        char *text = fmt->render_diag(d, env);
        int ok =
            text && write_report(fmt->format, path, text, err, sizeof err) == 0;
        if (!text)
            snprintf(err, sizeof err, "-o %s: cannot encode the report",
                     fmt->format);
        free(text);
        const char *sum = summary_path(fmt);
        if (ok && sum) {
            char *md = fmt->step_summary(NULL, d);
            ok = append_report(fmt->format, "GITHUB_STEP_SUMMARY", sum, md, err,
                               sizeof err) == 0;
            free(md);
        }
        if (!ok) {
            fprintf(stderr, "gpcheck: %s\n", err);
            rc = -1;
        }
    }
    return rc;
}

double ns_to_ms(int64_t ns)
{
    return (double)ns / 1e6;
}

/* Create the folders leading to path (mode 0755), as mkdir -p would; a
 * folder that cannot be made shows in the checks that follow. */
static void make_parents(const char *path)
{
    char *dir = xstrdup(path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        (void)mkdir(dir, 0755);
        *p = '/';
    }
    free(dir);
}

static void target_free(target *t)
{
    free(t->path);
    t->path = NULL;
}

/* The descriptor of ours that PATH names, or -1: /dev/stdout means this
 * process's standard output (a pipe, a terminal, a shell's `>> log`),
 * whatever /dev holds, and is written through the descriptor itself. */
static int named_fd(const char *path)
{
    if (strcmp(path, "/dev/stdout") == 0)
        return 1;
    if (strcmp(path, "/dev/stderr") == 0)
        return 2;
    const char *n = NULL;
    if (strncmp(path, "/dev/fd/", 8) == 0)
        n = path + 8;
    else if (strncmp(path, "/proc/self/fd/", 14) == 0)
        n = path + 14;
    if (!n || !*n || strspn(n, "0123456789") != strlen(n) || strlen(n) > 6)
        return -1;
    return (int)strtol(n, NULL, 10);
}

/*
 * The rules of README's "Security notes": a descriptor PATH names is
 * written through; PATH's last component may be a symlink only when the
 * symlink belongs to the running user or root (in a shared folder,
 * somebody else's symlink is a trap, as the kernel's protected_symlinks
 * says for sticky folders); a folder is refused; a device, FIFO or socket
 * is written in place; a regular file or a new name is replaced
 * atomically.
 */
static int target_resolve(const char *format, const char *path, target *t,
                          char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->fd = named_fd(path);
    if (t->fd >= 0) {
        if (fcntl(t->fd, F_GETFD) < 0) {
            snprintf(err, errlen, "-o %s:%s: descriptor %d is not open", format,
                     path, t->fd);
            return -1;
        }
        t->in_place = 1;
        t->path = xstrdup(path);
        return 0;
    }
    make_parents(path); /* -o junit:reports/x.xml just works */
    struct stat st;
    char *real = NULL;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        if (st.st_uid != geteuid() && st.st_uid != 0) {
            snprintf(err, errlen,
                     "-o %s:%s: refusing to follow a symlink owned by uid %u "
                     "(only the user's own or root's symlinks are followed)",
                     format, path, (unsigned)st.st_uid);
            return -1;
        }
        if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) &&
            !S_ISDIR(st.st_mode)) {
            /* A device or FIFO behind the user's own symlink. */
            t->in_place = t->follow = 1;
        } else if (!(real = realpath(path, NULL))) {
            snprintf(err, errlen, "-o %s:%s: cannot follow the symlink: %s",
                     format, path, strerror(errno));
            return -1;
        } else {
            path = real;
        }
    }
    const char *what = NULL;
    int e = 0;
    if (t->follow) {
        /* looked at above */
    } else if (lstat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            what = "is a folder";
        else if (!S_ISREG(st.st_mode))
            t->in_place = 1;
    } else if (errno != ENOENT) {
        what = "cannot be examined";
        e = errno;
    }
    char *dir = path_dir(path);
    if (!what && t->in_place && access(path, W_OK) != 0) {
        what = "cannot be written";
        e = errno;
    } else if (!what && !t->in_place && access(dir, W_OK | X_OK) != 0) {
        what = "cannot create a file in its folder";
        e = errno;
    }
    if (what) {
        snprintf(err, errlen, "-o %s:%s: %s%s%s", format, path, what,
                 e ? ": " : "", e ? strerror(e) : "");
        free(dir);
        free(real);
        return -1;
    }
    free(dir);
    t->path = real ? real : xstrdup(path);
    return 0;
}

/* Open a device or FIFO to write in place: never created, not followed
 * unless it is the user's own symlink, never blocking on a FIFO nobody
 * reads (that is an error, ENXIO); or a descriptor of ours PATH named. */
static int open_in_place(const target *t)
{
    if (t->fd >= 0)
        return fcntl(t->fd, F_DUPFD_CLOEXEC, 0);
    int fd = open(t->path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
                               (t->follow ? 0 : O_NOFOLLOW));
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
        /* Swapped for a file since we looked: not what was checked. */
        close(fd);
        errno = EEXIST;
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

/* A new, unpredictable file beside path (O_EXCL, mode 0600 at first), with
 * the mode a plain creat() would have given, so readers such as a
 * Prometheus collector running as another user can read it. */
static int open_temp(const char *path, char **tmp)
{
    char *dir = path_dir(path);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    *tmp = xasprintf("%s/.%s.XXXXXX", dir, base);
    free(dir);
    int fd = mkostemp(*tmp, O_CLOEXEC);
    if (fd < 0) {
        free(*tmp);
        *tmp = NULL;
        return -1;
    }
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    return fd;
}

/* rename(), unless path turned into something other than a regular file
 * since target_resolve() looked. */
static int replace(const char *tmp, const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        errno = EEXIST;
        return -1;
    }
    return rename(tmp, path);
}

/* strerror(), and what ENXIO means here. */
static const char *why(int e)
{
    return e == ENXIO ? "no process has the FIFO open for reading"
                      : strerror(e);
}

int report_open_stream(const char *format, const char *path, char *err,
                       size_t errlen)
{
    target t;
    if (target_resolve(format, path, &t, err, errlen) < 0)
        return -1;
    int fd;
    char *tmp = NULL;
    if (t.in_place) {
        fd = open_in_place(&t);
    } else if ((fd = open_temp(t.path, &tmp)) >= 0 &&
               replace(tmp, t.path) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        fd = -1;
        errno = e;
    }
    if (fd < 0)
        snprintf(err, errlen, "-o %s:%s: cannot open: %s", format, path,
                 why(errno));
    free(tmp);
    target_free(&t);
    return fd;
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static int write_report(const char *format, const char *path, const char *text,
                        char *err, size_t errlen)
{
    size_t n = strlen(text);
    int nl = n == 0 || text[n - 1] != '\n';
    if (!path) {
        /* SIGPIPE is ignored: a closed pipe is EPIPE here, a report error. */
        if (fputs(text, stdout) < 0 || (nl && fputc('\n', stdout) == EOF) ||
            fflush(stdout) != 0) {
            snprintf(err, errlen, "-o %s: cannot write to stdout: %s", format,
                     strerror(errno));
            return -1;
        }
        return 0;
    }
    target t;
    if (target_resolve(format, path, &t, err, errlen) < 0)
        return -1;
    char *tmp = NULL;
    int fd = t.in_place ? open_in_place(&t) : open_temp(t.path, &tmp);
    int ok = fd >= 0 && write_all(fd, text, n) == 0 &&
             (!nl || write_all(fd, "\n", 1) == 0);
    int e = errno;
    /* ENOSPC and EIO may only show at close (NFS, quotas). */
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (ok && tmp && replace(tmp, t.path) != 0) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        snprintf(err, errlen, "-o %s:%s: cannot write the report: %s", format,
                 path, why(e));
        if (tmp)
            unlink(tmp);
    }
    free(tmp);
    target_free(&t);
    return ok ? 0 : -1;
}

static int append_report(const char *format, const char *var, const char *path,
                         const char *text, char *err, size_t errlen)
{
    char why_not[512];
    target t;
    if (target_resolve(format, path, &t, why_not, sizeof why_not) < 0) {
        snprintf(err, errlen, "%s (from $%s)", why_not, var);
        return -1;
    }
    int fd;
    if (t.in_place) {
        fd = open_in_place(&t);
    } else {
        /* The resolved name (a symlink of the user's own is followed
         * above); not through a symlink swapped in since. */
        fd = open(t.path,
                  O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY |
                      O_CLOEXEC,
                  0666);
        struct stat st;
        if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
            close(fd);
            fd = -1;
            errno = EEXIST;
        }
    }
    size_t n = strlen(text);
    int ok = fd >= 0 && write_all(fd, text, n) == 0 &&
             (n == 0 || text[n - 1] == '\n' || write_all(fd, "\n", 1) == 0);
    int e = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (!ok)
        snprintf(err, errlen, "-o %s: $%s (%s): cannot append: %s", format, var,
                 path, why(e));
    target_free(&t);
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

void report_attempt(strbuf *sb, const attempt_rec *a)
{
    sb_appendf(sb, "%s %u: %s after %.1f ms: %s",
               a->warmup ? "warmup" : "attempt", a->number,
               attempt_res_name(a->res), ns_to_ms(a->end_ns - a->start_ns),
               a->message ? a->message : "");
}

void report_history(strbuf *sb, const probe_run *pr)
{
    for (size_t i = 0; i < pr->n_history; i++) {
        report_attempt(sb, &pr->history[i]);
        sb_append(sb, "\n");
    }
}
