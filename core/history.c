/*
 * core/history.c - the run history in SQLite; see history.h.
 *
 * Why SQLite: the history is written by many short-lived gpcheck
 * processes at once on one machine (parallel CI jobs) and read by
 * `stats`; SQLite gives atomic transactions, WAL concurrency and a
 * crash-safe file without a server, and it is in every distribution.
 *
 * Layout: runs (one row per run) and probe_results (one row per probe per
 * run; env and started_ms repeated from the run so that stats reads one
 * covering index in order, without a join or a sort).
 *
 * SQLite is loaded when a history is first opened (core/dl.h): a run
 * without one does not pay for it. Its functions are called as sym_sqlite3_*.
 */
#include "history.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dl.h"
#include "gate.h"
#include "report.h"
#include "util.h"
#include "value.h"
#include "verdict.h"

/* Parallel runs wait this long for one another's transactions. */
#define BUSY_TIMEOUT_MS 10000
/* A busy that the timeout does not cover (WAL recovery, a changing
 * journal mode): the whole transaction is tried again, this often. */
#define BUSY_RETRIES 5
/* CI identifiers and host names are short; cut what is not. */
#define MAX_ID 128

/*
 * The schema, one step per version: step i brings user_version i to i+1.
 * A step is never changed once released; a change is a new step at the
 * end. A database newer than this table is refused, not guessed at.
 */
static const char *const migrations[] = {
    /* 0 -> 1: runs and their probes */
    "CREATE TABLE runs ("
    " id INTEGER PRIMARY KEY,"
    " started_ms INTEGER NOT NULL," /* wall clock, ms since the epoch */
    " env TEXT NOT NULL,"
    " verdict TEXT NOT NULL,"
    " rule TEXT NOT NULL,"
    " exit_code INTEGER NOT NULL," /* the gate's own */
    " duration_ms REAL NOT NULL,"
    " bypass INTEGER NOT NULL," /* 1: an emergency bypass was active */
    " bypass_reason TEXT,"
    " host TEXT,"
    " ci_pipeline_id TEXT," /* CI_PIPELINE_ID (GitLab) */
    " ci_job_id TEXT,"      /* CI_JOB_ID (GitLab) */
    " github_run_id TEXT,"  /* GITHUB_RUN_ID */
    " github_run_attempt TEXT,"
    " cmd_exit INTEGER,"   /* NULL: no supervised command */
    " cmd_signal INTEGER," /* the signal that killed it, or NULL */
    " cmd_duration_ms REAL,"
    " cmd_label TEXT" /* 'infrastructure' / 'tests' after --recheck */
    ");"
    "CREATE INDEX runs_time ON runs(started_ms);"
    "CREATE INDEX runs_env_time ON runs(env, started_ms);"
    "CREATE TABLE probe_results ("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " probe TEXT NOT NULL,"
    " env TEXT NOT NULL,"
    " started_ms INTEGER NOT NULL,"
    " plugin TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " attempts INTEGER NOT NULL,"
    " ready_ms REAL," /* dependencies met to ready; NULL: never ready */
    " message TEXT NOT NULL,"
    " metrics TEXT NOT NULL," /* JSON object NAME: NUMBER */
    " PRIMARY KEY (run_id, probe)"
    ") WITHOUT ROWID;"
    "CREATE INDEX probe_results_series ON probe_results"
    " (env, probe, started_ms, run_id, status, attempts, ready_ms);",
};

enum {
    Q_INSERT_RUN,
    Q_INSERT_PROBE,
    Q_KEEP_AGE,
    Q_KEEP_RUNS,
    Q_COUNT,
};

static const char *const statements[Q_COUNT] = {
    [Q_INSERT_RUN] =
        "INSERT INTO runs (started_ms, env, verdict, rule, exit_code,"
        " duration_ms, bypass, bypass_reason, host, ci_pipeline_id,"
        " ci_job_id, github_run_id, github_run_attempt, cmd_exit,"
        " cmd_signal, cmd_duration_ms, cmd_label)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
        " ?14, ?15, ?16, ?17)",
    [Q_INSERT_PROBE] =
        "INSERT INTO probe_results (run_id, probe, env, started_ms, plugin,"
        " status, attempts, ready_ms, message, metrics)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [Q_KEEP_AGE] = "DELETE FROM runs WHERE started_ms < ?1",
    [Q_KEEP_RUNS] = ("DELETE FROM runs WHERE id <= (SELECT id FROM runs"
                     " ORDER BY id DESC LIMIT 1 OFFSET ?1)"),
};

struct history {
    sqlite3 *db;               /* owned */
    char *path;                /* owned */
    sqlite3_stmt *st[Q_COUNT]; /* owned; prepared on first use */
};

/* ---- paths and values ---------------------------------------------------- */

char *history_default_path(char *err, size_t errlen)
{
    const char *state = getenv("XDG_STATE_HOME");
    if (state && state[0] == '/')
        return xasprintf("%s/gpcheck/history.db", state);
    const char *home = getenv("HOME");
    if (!home || home[0] != '/') {
        const struct passwd *pw = getpwuid(geteuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home || home[0] != '/') {
        snprintf(err, errlen,
                 "no per-user history path: neither $XDG_STATE_HOME nor a "
                 "home folder is set");
        return NULL;
    }
    return xasprintf("%s/.local/state/gpcheck/history.db", home);
}

int history_parse_age(const char *s, int64_t *ms, char *err, size_t errlen)
{
    char *end;
    while (*s == ' ' || *s == '\t')
        s++;
    errno = 0;
    double n = strtod(s, &end);
    const char *u = end;
    while (*end == ' ' || *end == '\t')
        end++;
    int64_t unit = 0;
    if (end != s && errno == 0 && n > 0 && isfinite(n)) {
        if (strncmp(u, "d", 1) == 0 && u[1] == '\0')
            unit = INT64_C(24) * 3600 * 1000;
        else if (strncmp(u, "w", 1) == 0 && u[1] == '\0')
            unit = INT64_C(7) * 24 * 3600 * 1000;
    }
    if (unit) {
        if (n > 36500.0) {
            snprintf(err, errlen, "'%s' is more than a century", s);
            return -1;
        }
        *ms = (int64_t)(n * (double)unit);
        return 0;
    }
    if (value_duration(s, ms, err, errlen) < 0)
        return -1;
    if (*ms <= 0) {
        snprintf(err, errlen, "'%s' must be more than zero", s);
        return -1;
    }
    return 0;
}

int history_parse_keep(const char *s, history_keep *k, char *err, size_t errlen)
{
    memset(k, 0, sizeof *k);
    const char *w = strstr(s, "runs");
    if (w && w[4 + strspn(w + 4, " \t")] == '\0') {
        char *num = xstrndup(s, (size_t)(w - s));
        int64_t v;
        int rc = value_integer(num, &v, err, errlen);
        free(num);
        if (rc < 0 || v < 1) {
            snprintf(err, errlen, "'%s': expected a count such as 50000 runs",
                     s);
            return -1;
        }
        k->runs = v;
        return 0;
    }
    char why[128];
    if (history_parse_age(s, &k->age_ms, why, sizeof why) < 0) {
        snprintf(err, errlen,
                 "'%s': expected an age such as 90d or a count such as "
                 "50000 runs (%s)",
                 s, why);
        return -1;
    }
    return 0;
}

/* ---- opening ------------------------------------------------------------- */

/* mkdir -p of path's folders, mode 0700: the history is the user's. */
static void make_parents(const char *path)
{
    char *dir = xstrdup(path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        (void)mkdir(dir, 0700);
        *p = '/';
    }
    free(dir);
}

/* The user's folder: owned by the running user, or by root and writable
 * by nobody else. A shared folder (/tmp) would let another user replace
 * the file between our check and SQLite's open, or read it. */
static int check_folder(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        snprintf(err, errlen, "folder %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a folder", dir);
        return -1;
    }
    if (st.st_uid == geteuid())
        return 0;
    if (st.st_uid == 0 && !(st.st_mode & (S_IWGRP | S_IWOTH)))
        return 0;
    snprintf(err, errlen,
             "folder %s belongs to uid %u%s: the history file must be in a "
             "folder of the user's own",
             dir, (unsigned)st.st_uid,
             (st.st_mode & S_IWOTH) ? " and anyone may write to it" : "");
    return -1;
}

/* Decide what file to open: *real is path, or what the user's own (or
 * root's) symlink names. Creates the file 0600 when create and missing. */
static int check_file(const char *path, int create, char **real, char *err,
                      size_t errlen)
{
    struct stat st;
    *real = NULL;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        if (st.st_uid != geteuid() && st.st_uid != 0) {
            snprintf(err, errlen,
                     "%s: refusing to follow a symlink owned by uid %u", path,
                     (unsigned)st.st_uid);
            return -1;
        }
        if (!(*real = realpath(path, NULL))) {
            snprintf(err, errlen, "%s: cannot follow the symlink: %s", path,
                     strerror(errno));
            return -1;
        }
    } else {
        *real = xstrdup(path);
    }
    char *dir = path_dir(*real);
    int rc = check_folder(dir, err, errlen);
    free(dir);
    if (rc < 0)
        goto fail;
    if (lstat(*real, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            snprintf(err, errlen, "%s is not a regular file", *real);
            goto fail;
        }
        if (st.st_uid != geteuid()) {
            snprintf(err, errlen, "%s belongs to uid %u, not to this user",
                     *real, (unsigned)st.st_uid);
            goto fail;
        }
        return 0;
    }
    if (errno != ENOENT || !create) {
        snprintf(err, errlen, "%s: %s", *real,
                 errno == ENOENT ? "no history there yet" : strerror(errno));
        goto fail;
    }
    /* 0600 whatever the umask; SQLite gives its -wal and -shm files the
     * database file's mode. EEXIST: a parallel run made it first. */
    int fd =
        open(*real, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", *real, strerror(errno));
        goto fail;
    }
    if (fd >= 0) {
        fchmod(fd, 0600);
        close(fd);
    }
    return 0;
fail:
    free(*real);
    *real = NULL;
    return -1;
}

static int is_busy(int rc)
{
    return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

static int db_error(history *h, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s: %s", h->path, what,
             sym_sqlite3_errmsg(h->db));
    return -1;
}

/* Bring the schema to the version of the migrations table. */
static int migrate(history *h, char *err, size_t errlen)
{
    int rc = SQLITE_BUSY;
    for (int tries = 0; tries < BUSY_RETRIES && is_busy(rc); tries++) {
        rc = sym_sqlite3_exec(h->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            continue;
        sqlite3_stmt *st = NULL;
        int version = -1;
        if (sym_sqlite3_prepare_v2(h->db, "PRAGMA user_version", -1, &st,
                                   NULL) == SQLITE_OK &&
            sym_sqlite3_step(st) == SQLITE_ROW)
            version = sym_sqlite3_column_int(st, 0);
        sym_sqlite3_finalize(st);
        int known = (int)ARRAY_LEN(migrations);
        if (version < 0 || version > known) {
            sym_sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
            if (version < 0)
                return db_error(h, "cannot read the schema version", err,
                                errlen);
            snprintf(err, errlen,
                     "%s: schema version %d is newer than this gpcheck's %d "
                     "(written by a newer gpcheck)",
                     h->path, version, known);
            return -1;
        }
        rc = SQLITE_OK;
        for (int v = version; v < known && rc == SQLITE_OK; v++)
            rc = sym_sqlite3_exec(h->db, migrations[v], NULL, NULL, NULL);
        if (rc == SQLITE_OK && version < known) {
            char *set = xasprintf("PRAGMA user_version = %d", known);
            rc = sym_sqlite3_exec(h->db, set, NULL, NULL, NULL);
            free(set);
        }
        if (rc == SQLITE_OK)
            rc = sym_sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            snprintf(err, errlen, "%s: cannot update the schema: %s", h->path,
                     sym_sqlite3_errmsg(h->db));
            sym_sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
        }
    }
    return rc == SQLITE_OK ? 0 : -1;
}

history *history_open(const char *path, int create, char *err, size_t errlen)
{
    if (dl_sqlite("the run history", err, errlen) < 0)
        return NULL;
    if (create)
        make_parents(path);
    char *real;
    if (check_file(path, create, &real, err, errlen) < 0)
        return NULL;
    history *h = xcalloc(1, sizeof *h);
    h->path = real;
    int rc = sym_sqlite3_open_v2(
        real, &h->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot open: %s", real,
                 h->db ? sym_sqlite3_errmsg(h->db) : sym_sqlite3_errstr(rc));
        history_close(h);
        return NULL;
    }
    sym_sqlite3_busy_timeout(h->db, BUSY_TIMEOUT_MS);
    sym_sqlite3_extended_result_codes(h->db, 1);
    /* WAL: readers never block the writer, parallel writers queue on the
     * busy timeout. FULL: a committed run survives a power cut too. The
     * size limit keeps the WAL file bounded after checkpoints. */
    static const char *const setup[] = {
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = FULL",
        "PRAGMA foreign_keys = ON",
        "PRAGMA journal_size_limit = 4194304",
    };
    for (size_t i = 0; i < ARRAY_LEN(setup); i++) {
        rc = SQLITE_BUSY;
        for (int t = 0; t < BUSY_RETRIES && is_busy(rc); t++)
            rc = sym_sqlite3_exec(h->db, setup[i], NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            db_error(h, setup[i], err, errlen);
            history_close(h);
            return NULL;
        }
    }
    if (migrate(h, err, errlen) < 0) {
        history_close(h);
        return NULL;
    }
    return h;
}

void history_close(history *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < Q_COUNT; i++)
        sym_sqlite3_finalize(h->st[i]);
    sym_sqlite3_close(h->db);
    free(h->path);
    free(h);
}

/* ---- writing ------------------------------------------------------------- */

static sqlite3_stmt *stmt(history *h, int q)
{
    if (!h->st[q] && sym_sqlite3_prepare_v3(h->db, statements[q], -1,
                                            SQLITE_PREPARE_PERSISTENT,
                                            &h->st[q], NULL) != SQLITE_OK)
        return NULL;
    sym_sqlite3_reset(h->st[q]);
    sym_sqlite3_clear_bindings(h->st[q]);
    return h->st[q];
}

/* Bind a short identifier from the environment, or NULL when unset. */
static void bind_env(sqlite3_stmt *st, int i, const char *var)
{
    const char *v = getenv(var);
    if (!v || !*v) {
        sym_sqlite3_bind_null(st, i);
        return;
    }
    char *clean = str_sanitize(v);
    if (strlen(clean) > MAX_ID)
        clean[MAX_ID] = '\0';
    sym_sqlite3_bind_text(st, i, clean, -1, free);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sym_sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sym_sqlite3_bind_null(st, i);
}

static int step_done(sqlite3_stmt *st)
{
    int rc = st ? sym_sqlite3_step(st) : SQLITE_ERROR;
    if (st)
        sym_sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int insert_run(history *h, const run_result *rr, const history_cmd *cmd,
                      const char *host)
{
    sqlite3_stmt *st = stmt(h, Q_INSERT_RUN);
    if (!st)
        return SQLITE_ERROR;
    const struct bypass *b = rr->bypass;
    sym_sqlite3_bind_int64(st, 1, rr->started_wall_ms);
    bind_text(st, 2, rr->env ? rr->env : "default");
    bind_text(st, 3, verdict_name(rr->verdict));
    bind_text(st, 4, rr->dec.rule ? rr->dec.rule : "");
    sym_sqlite3_bind_int(st, 5, rr->exit_code);
    sym_sqlite3_bind_double(st, 6, ns_to_ms(rr->end_ns - rr->start_ns));
    sym_sqlite3_bind_int(st, 7, b && b->active);
    bind_text(st, 8, b && b->active ? b->reason : NULL);
    bind_text(st, 9, host && *host ? host : NULL);
    bind_env(st, 10, "CI_PIPELINE_ID");
    bind_env(st, 11, "CI_JOB_ID");
    bind_env(st, 12, "GITHUB_RUN_ID");
    bind_env(st, 13, "GITHUB_RUN_ATTEMPT");
    if (cmd && cmd->known) {
        sym_sqlite3_bind_int(st, 14, cmd->exit_code);
        if (cmd->signo)
            sym_sqlite3_bind_int(st, 15, cmd->signo);
        sym_sqlite3_bind_double(st, 16, cmd->duration_ms);
        bind_text(st, 17, cmd->label);
    }
    return step_done(st);
}

static char *metrics_json(const probe_run *pr)
{
    json_t *m = json_object();
    const attempt_rec *a = probe_run_metrics(pr);
    for (size_t i = 0; a && i < a->n_metrics; i++)
        if (isfinite(a->metrics[i].value))
            json_object_set_new(m, a->metrics[i].decl->name,
                                json_real(a->metrics[i].value));
    char *s = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(m);
    return s ? s : xstrdup("{}");
}

static int insert_probe(history *h, sqlite3_int64 run, const run_result *rr,
                        const probe_run *pr)
{
    sqlite3_stmt *st = stmt(h, Q_INSERT_PROBE);
    if (!st)
        return SQLITE_ERROR;
    sym_sqlite3_bind_int64(st, 1, run);
    bind_text(st, 2, pr->def->name);
    bind_text(st, 3, rr->env ? rr->env : "default");
    sym_sqlite3_bind_int64(st, 4, rr->started_wall_ms);
    bind_text(st, 5, pr->def->plugin ? pr->def->plugin->name : "");
    bind_text(st, 6, status_name(pr->status));
    sym_sqlite3_bind_int64(st, 7, (sqlite3_int64)pr->n_history);
    if ((pr->status == ST_OK || pr->status == ST_WARN) && pr->start_ns)
        sym_sqlite3_bind_double(st, 8, ns_to_ms(pr->end_ns - pr->start_ns));
    bind_text(st, 9, pr->message ? pr->message : "");
    sym_sqlite3_bind_text(st, 10, metrics_json(pr), -1, free);
    return step_done(st);
}

static int apply_keep(history *h, const run_result *rr,
                      const history_keep *keep)
{
    int rc = SQLITE_OK;
    if (keep && keep->age_ms > 0) {
        sqlite3_stmt *st = stmt(h, Q_KEEP_AGE);
        if (!st)
            return SQLITE_ERROR;
        sym_sqlite3_bind_int64(st, 1, rr->started_wall_ms - keep->age_ms);
        rc = step_done(st);
    }
    if (rc == SQLITE_OK && keep && keep->runs > 0) {
        sqlite3_stmt *st = stmt(h, Q_KEEP_RUNS);
        if (!st)
            return SQLITE_ERROR;
        sym_sqlite3_bind_int64(st, 1, keep->runs);
        rc = step_done(st);
    }
    return rc;
}

static int record_once(history *h, const run_result *rr, const history_cmd *cmd,
                       const history_keep *keep, const char *host)
{
    /* IMMEDIATE: take the write lock now, under the busy timeout, rather
     * than upgrading a read later (which WAL answers with a plain BUSY). */
    int rc = sym_sqlite3_exec(h->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = insert_run(h, rr, cmd, host);
    sqlite3_int64 run = sym_sqlite3_last_insert_rowid(h->db);
    for (size_t i = 0; rc == SQLITE_OK && i < rr->n; i++)
        rc = insert_probe(h, run, rr, &rr->probes[i]);
    if (rc == SQLITE_OK)
        rc = apply_keep(h, rr, keep);
    if (rc == SQLITE_OK)
        rc = sym_sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        sym_sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int history_record(history *h, const run_result *rr, const history_cmd *cmd,
                   const history_keep *keep, const char *host, char *err,
                   size_t errlen)
{
    int rc = SQLITE_BUSY;
    for (int t = 0; t < BUSY_RETRIES && is_busy(rc); t++)
        rc = record_once(h, rr, cmd, keep, host);
    if (rc != SQLITE_OK) {
        const char *msg = sym_sqlite3_errmsg(h->db);
        snprintf(err, errlen, "%s: cannot record the run: %s", h->path,
                 msg && strcmp(msg, "not an error") != 0
                     ? msg
                     : sym_sqlite3_errstr(rc));
        return -1;
    }
    return 0;
}

/* ---- reading ------------------------------------------------------------- */

static json_t *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sym_sqlite3_column_text(st, i);
    return s ? json_string((const char *)s) : json_null();
}

static json_t *col_num(sqlite3_stmt *st, int i)
{
    switch (sym_sqlite3_column_type(st, i)) {
    case SQLITE_NULL: return json_null();
    case SQLITE_INTEGER: return json_integer(sym_sqlite3_column_int64(st, i));
    default: return json_real(sym_sqlite3_column_double(st, i));
    }
}

static void iso_time(int64_t ms, char *buf, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *probe_rows(history *h, sqlite3_int64 run, const char *probe)
{
    json_t *arr = json_array();
    sqlite3_stmt *st = NULL;
    if (sym_sqlite3_prepare_v2(
            h->db,
            "SELECT probe, plugin, status, attempts, ready_ms,"
            " message, metrics FROM probe_results"
            " WHERE run_id = ?1 AND (?2 IS NULL OR probe = ?2)"
            " ORDER BY probe",
            -1, &st, NULL) != SQLITE_OK)
        return arr;
    sym_sqlite3_bind_int64(st, 1, run);
    bind_text(st, 2, probe);
    while (sym_sqlite3_step(st) == SQLITE_ROW) {
        const char *m = (const char *)sym_sqlite3_column_text(st, 6);
        json_t *metrics = m ? json_loads(m, 0, NULL) : NULL;
        json_array_append_new(
            arr,
            json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "name", col_text(st, 0),
                      "plugin", col_text(st, 1), "status", col_text(st, 2),
                      "attempts", col_num(st, 3), "ready_ms", col_num(st, 4),
                      "message", col_text(st, 5), "metrics",
                      metrics ? metrics : json_object()));
    }
    sym_sqlite3_finalize(st);
    return arr;
}

json_t *history_runs(history *h, const history_filter *f, char *err,
                     size_t errlen)
{
    sqlite3_stmt *st = NULL;
    if (sym_sqlite3_prepare_v2(
            h->db,
            "SELECT id, started_ms, env, verdict, rule, exit_code,"
            " duration_ms, bypass, bypass_reason, host, ci_pipeline_id,"
            " ci_job_id, github_run_id, github_run_attempt, cmd_exit,"
            " cmd_signal, cmd_duration_ms, cmd_label FROM runs"
            " WHERE (?1 IS NULL OR env = ?1) AND started_ms >= ?2"
            " AND (?3 IS NULL OR EXISTS (SELECT 1 FROM probe_results p"
            " WHERE p.run_id = runs.id AND p.probe = ?3))"
            " ORDER BY id DESC LIMIT ?4",
            -1, &st, NULL) != SQLITE_OK) {
        db_error(h, "cannot read the runs", err, errlen);
        return NULL;
    }
    bind_text(st, 1, f->env);
    sym_sqlite3_bind_int64(st, 2, f->since_ms);
    bind_text(st, 3, f->probe);
    sym_sqlite3_bind_int64(st, 4, f->limit ? (sqlite3_int64)f->limit : -1);
    json_t *arr = json_array();
    int rc;
    while ((rc = sym_sqlite3_step(st)) == SQLITE_ROW) {
        char when[32];
        iso_time(sym_sqlite3_column_int64(st, 1), when, sizeof when);
        json_t *ci = json_object();
        static const char *const ci_names[] = {"ci_pipeline_id", "ci_job_id",
                                               "github_run_id",
                                               "github_run_attempt"};
        for (int i = 0; i < 4; i++)
            if (sym_sqlite3_column_type(st, 10 + i) != SQLITE_NULL)
                json_object_set_new(ci, ci_names[i], col_text(st, 10 + i));
        json_t *cmd = json_null();
        if (sym_sqlite3_column_type(st, 14) != SQLITE_NULL)
            cmd = json_pack("{s:o,s:o,s:o,s:o}", "exit_code", col_num(st, 14),
                            "signal", col_num(st, 15), "duration_ms",
                            col_num(st, 16), "label", col_text(st, 17));
        sqlite3_int64 id = sym_sqlite3_column_int64(st, 0);
        json_t *row = json_pack(
            "{s:I,s:s,s:I,s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:o,s:o,s:o,s:o}", "id",
            (json_int_t)id, "time", when, "started_ms",
            (json_int_t)sym_sqlite3_column_int64(st, 1), "env", col_text(st, 2),
            "verdict", col_text(st, 3), "rule", col_text(st, 4), "exit_code",
            col_num(st, 5), "duration_ms", col_num(st, 6), "bypass",
            sym_sqlite3_column_int(st, 7), "bypass_reason", col_text(st, 8),
            "host", col_text(st, 9), "ci", ci, "command", cmd, "probes",
            probe_rows(h, id, f->probe));
        json_array_append_new(arr, row);
    }
    if (rc != SQLITE_DONE) {
        db_error(h, "cannot read the runs", err, errlen);
        json_decref(arr);
        arr = NULL;
    }
    sym_sqlite3_finalize(st);
    return arr;
}

/* ---- aggregates ---------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest rank of sorted v[0..n): the value at or below which p% lie. */
static double percentile(const double *v, size_t n, double p)
{
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    return v[rank ? rank - 1 : 0];
}

static json_t *rate(size_t part, size_t whole)
{
    return whole ? json_real((double)part / (double)whole) : json_null();
}

/* One (env, probe) series, accumulated in time order. */
typedef struct series {
    char *env, *probe; /* owned */
    size_t runs, ok, changes;
    int64_t attempts_sum, attempts_max;
    char last[16]; /* the previous run's status */
    double *ready; /* owned */
    size_t n_ready, cap_ready;
} series;

static json_t *series_json(series *s)
{
    qsort(s->ready, s->n_ready, sizeof *s->ready, cmp_double);
    json_t *ready;
    if (s->n_ready)
        ready = json_pack("{s:I,s:f,s:f,s:f,s:f}", "n", (json_int_t)s->n_ready,
                          "p50_ms", percentile(s->ready, s->n_ready, 50),
                          "p95_ms", percentile(s->ready, s->n_ready, 95),
                          "p99_ms", percentile(s->ready, s->n_ready, 99),
                          "max_ms", s->ready[s->n_ready - 1]);
    else
        ready = json_pack("{s:i,s:n,s:n,s:n,s:n}", "n", 0, "p50_ms", "p95_ms",
                          "p99_ms", "max_ms");
    return json_pack(
        "{s:s,s:I,s:I,s:o,s:o,s:{s:f,s:I},s:I,s:o}", "name", s->probe, "runs",
        (json_int_t)s->runs, "ok", (json_int_t)s->ok, "pass_rate",
        rate(s->ok, s->runs), "ready", ready, "attempts", "mean",
        s->runs ? (double)s->attempts_sum / (double)s->runs : 0.0, "max",
        (json_int_t)s->attempts_max, "status_changes", (json_int_t)s->changes,
        "flakiness",
        s->runs > 1 ? json_real((double)s->changes / (double)(s->runs - 1))
                    : json_real(0.0));
}

/* The env object of envs named env, added when missing. */
static json_t *env_obj(json_t *envs, const char *env)
{
    size_t i;
    json_t *e;
    json_array_foreach (envs, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "env")), env) == 0)
            return e;
    }
    e = json_pack("{s:s,s:i,s:i,s:n,s:i,s:{s:i,s:i,s:n,s:i,s:i},s:[]}", "env",
                  env, "runs", 0, "passed", 0, "pass_rate", "bypassed", 0,
                  "suite", "runs", 0, "passed", 0, "success_rate",
                  "infrastructure", 0, "tests", 0, "probes");
    json_array_append_new(envs, e);
    return e;
}

static int runs_aggregate(history *h, const history_filter *f, json_t *envs)
{
    sqlite3_stmt *st = NULL;
    if (sym_sqlite3_prepare_v2(
            h->db,
            "SELECT env, count(*),"
            " sum(verdict IN ('pass', 'degraded')),"
            " sum(verdict = 'bypassed'), count(cmd_exit),"
            " sum(cmd_exit = 0), sum(cmd_label = 'infrastructure'),"
            " sum(cmd_label = 'tests') FROM runs"
            " WHERE started_ms >= ?1 AND (?2 IS NULL OR env = ?2)"
            " GROUP BY env ORDER BY env",
            -1, &st, NULL) != SQLITE_OK)
        return -1;
    sym_sqlite3_bind_int64(st, 1, f->since_ms);
    bind_text(st, 2, f->env);
    int rc;
    while ((rc = sym_sqlite3_step(st)) == SQLITE_ROW) {
        json_t *e = env_obj(envs, (const char *)sym_sqlite3_column_text(st, 0));
        size_t runs = (size_t)sym_sqlite3_column_int64(st, 1);
        size_t passed = (size_t)sym_sqlite3_column_int64(st, 2);
        size_t suite = (size_t)sym_sqlite3_column_int64(st, 4);
        size_t suite_ok = (size_t)sym_sqlite3_column_int64(st, 5);
        json_object_set_new(e, "runs", json_integer((json_int_t)runs));
        json_object_set_new(e, "passed", json_integer((json_int_t)passed));
        json_object_set_new(e, "pass_rate", rate(passed, runs));
        json_object_set_new(e, "bypassed",
                            json_integer(sym_sqlite3_column_int64(st, 3)));
        json_t *s = json_object_get(e, "suite");
        json_object_set_new(s, "runs", json_integer((json_int_t)suite));
        json_object_set_new(s, "passed", json_integer((json_int_t)suite_ok));
        json_object_set_new(s, "success_rate", rate(suite_ok, suite));
        json_object_set_new(s, "infrastructure",
                            json_integer(sym_sqlite3_column_int64(st, 6)));
        json_object_set_new(s, "tests",
                            json_integer(sym_sqlite3_column_int64(st, 7)));
    }
    sym_sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Each env's runs and gate passes per UTC day, for the pass-rate trend. */
static int daily_aggregate(history *h, const history_filter *f, json_t *envs)
{
    sqlite3_stmt *st = NULL;
    if (sym_sqlite3_prepare_v2(
            h->db,
            "SELECT env, started_ms / 86400000 AS day, count(*),"
            " sum(verdict IN ('pass', 'degraded')) FROM runs"
            " WHERE started_ms >= ?1 AND (?2 IS NULL OR env = ?2)"
            " GROUP BY env, day ORDER BY env, day",
            -1, &st, NULL) != SQLITE_OK)
        return -1;
    sym_sqlite3_bind_int64(st, 1, f->since_ms);
    bind_text(st, 2, f->env);
    int rc;
    while ((rc = sym_sqlite3_step(st)) == SQLITE_ROW) {
        json_t *e = env_obj(envs, (const char *)sym_sqlite3_column_text(st, 0));
        json_t *daily = json_object_get(e, "daily");
        if (!daily) {
            daily = json_array();
            json_object_set_new(e, "daily", daily);
        }
        char day[32];
        iso_time(sym_sqlite3_column_int64(st, 1) * 86400000, day, sizeof day);
        day[10] = '\0'; /* YYYY-MM-DD */
        size_t runs = (size_t)sym_sqlite3_column_int64(st, 2);
        size_t passed = (size_t)sym_sqlite3_column_int64(st, 3);
        json_array_append_new(
            daily, json_pack("{s:s,s:I,s:I,s:o}", "day", day, "runs",
                             (json_int_t)runs, "passed", (json_int_t)passed,
                             "pass_rate", rate(passed, runs)));
    }
    sym_sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static void series_flush(series *s, json_t *envs)
{
    if (!s->env)
        return;
    json_array_append_new(json_object_get(env_obj(envs, s->env), "probes"),
                          series_json(s));
    free(s->env);
    free(s->probe);
    free(s->ready);
    memset(s, 0, sizeof *s);
}

static int probes_aggregate(history *h, const history_filter *f, json_t *envs)
{
    sqlite3_stmt *st = NULL;
    /* The series index in order: no join, no sort. */
    if (sym_sqlite3_prepare_v2(h->db,
                               "SELECT env, probe, status, attempts, ready_ms"
                               " FROM probe_results"
                               " INDEXED BY probe_results_series"
                               " WHERE started_ms >= ?1"
                               " AND (?2 IS NULL OR env = ?2)"
                               " AND (?3 IS NULL OR probe = ?3)"
                               /* run_id: runs of one millisecond in
                                  the order they were written */
                               " ORDER BY env, probe, started_ms, run_id",
                               -1, &st, NULL) != SQLITE_OK)
        return -1;
    sym_sqlite3_bind_int64(st, 1, f->since_ms);
    bind_text(st, 2, f->env);
    bind_text(st, 3, f->probe);
    series s = {0};
    int rc;
    while ((rc = sym_sqlite3_step(st)) == SQLITE_ROW) {
        const char *env = (const char *)sym_sqlite3_column_text(st, 0);
        const char *probe = (const char *)sym_sqlite3_column_text(st, 1);
        const char *status = (const char *)sym_sqlite3_column_text(st, 2);
        if (!s.env || strcmp(s.env, env) != 0 || strcmp(s.probe, probe) != 0) {
            series_flush(&s, envs);
            s.env = xstrdup(env);
            s.probe = xstrdup(probe);
        }
        if (s.runs && strcmp(s.last, status) != 0)
            s.changes++;
        snprintf(s.last, sizeof s.last, "%s", status);
        s.runs++;
        s.ok += strcmp(status, "ok") == 0 || strcmp(status, "warn") == 0;
        int64_t att = sym_sqlite3_column_int64(st, 3);
        s.attempts_sum += att;
        if (att > s.attempts_max)
            s.attempts_max = att;
        if (sym_sqlite3_column_type(st, 4) != SQLITE_NULL) {
            xgrow(&s.ready, &s.cap_ready, s.n_ready + 1, sizeof *s.ready);
            s.ready[s.n_ready++] = sym_sqlite3_column_double(st, 4);
        }
    }
    series_flush(&s, envs);
    sym_sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

json_t *history_stats(history *h, const history_filter *f, char *err,
                      size_t errlen)
{
    json_t *envs = json_array();
    /* One read transaction: both queries see the same runs. */
    sym_sqlite3_exec(h->db, "BEGIN", NULL, NULL, NULL);
    int rc = runs_aggregate(h, f, envs);
    if (rc == 0)
        rc = daily_aggregate(h, f, envs);
    if (rc == 0)
        rc = probes_aggregate(h, f, envs);
    if (rc < 0)
        db_error(h, "cannot read the history", err, errlen);
    sym_sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL);
    if (rc < 0) {
        json_decref(envs);
        return NULL;
    }
    return json_pack("{s:I,s:o}", "since_ms", (json_int_t)f->since_ms, "envs",
                     envs);
}

int history_ready_series(history *h, const char *env, const char *probe,
                         int64_t since_ms, int64_t **t_ms, double **ready_ms,
                         size_t *n, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    *t_ms = NULL;
    *ready_ms = NULL;
    *n = 0;
    if (sym_sqlite3_prepare_v2(h->db,
                               "SELECT started_ms, ready_ms FROM probe_results"
                               " INDEXED BY probe_results_series"
                               " WHERE env = ?1 AND probe = ?2"
                               " AND started_ms >= ?3 AND ready_ms IS NOT NULL"
                               " ORDER BY started_ms",
                               -1, &st, NULL) != SQLITE_OK)
        return db_error(h, "cannot read the history", err, errlen);
    bind_text(st, 1, env);
    bind_text(st, 2, probe);
    sym_sqlite3_bind_int64(st, 3, since_ms);
    size_t cap_t = 0, cap_r = 0;
    int rc;
    while ((rc = sym_sqlite3_step(st)) == SQLITE_ROW) {
        xgrow(t_ms, &cap_t, *n + 1, sizeof **t_ms);
        xgrow(ready_ms, &cap_r, *n + 1, sizeof **ready_ms);
        (*t_ms)[*n] = sym_sqlite3_column_int64(st, 0);
        (*ready_ms)[*n] = sym_sqlite3_column_double(st, 1);
        (*n)++;
    }
    sym_sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_error(h, "cannot read the history", err, errlen);
    return 0;
}
