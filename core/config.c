/*
 * core/config.c - reading gpcheck.ini, the --env-file files and conf.d/
 * into the raw config model (sections of keys that remember FILE:LINE).
 * The policy keys and their defaults are core/policy.c's.
 *
 * inih does the key/value splitting; our line reader in front of it counts
 * physical lines (inih 55 as packaged by Debian does not pass line numbers
 * to the handler), sees section headers (inih says nothing about a section
 * without keys) and rejects malformed lines itself, so that every bad line
 * is reported and not only the first one inih would return.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history.h"
#include "paths.h"
#include "policy.h"
#include "value.h"

/* Longest physical line accepted: comfortably above the 8 KiB values
 * (certificates, long URLs) a probe may carry. */
#define MAX_LINE (64 * 1024)

#define DEFAULT_JOBS 32
#define MAX_JOBS 4096

static const char *const gpcheck_keys[] = {
    "env",      "plugin_path", "conf_dir",     "jobs",
    "deadline", "history",     "history_keep", "history_required",
};

int config_valid_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
            return 0;
    return 1;
}

/* Words people bring from other tools for what gpcheck names otherwise:
 * a hint only when the name on the right is one of the candidates. */
static const struct {
    const char *alias, *name;
} aliases[] = {
    {"retries", "attempts"},
    {"retry", "attempts"},
    {"max_retries", "attempts"},
    {"tries", "attempts"},
    {"depends_on", "after"},
    {"requires", "after"},
    {"env", "envs"},
    {"environments", "envs"},
    {"optional", "severity"},
    {"required", "severity"},
    {"postgresql", "postgres"},
    {"pg", "postgres"},
    {"pgsql", "postgres"},
    {"psql", "postgres"},
    {"https", "http"},
    {"hostname", "host"},
    {"username", "user"},
    {"passwd", "password"},
    {"pass", "password"},
    {"password_path", "password_file"},
};

const char *config_did_you_mean(const char *key, const char *const *cands,
                                size_t n)
{
    for (size_t a = 0; a < ARRAY_LEN(aliases); a++) {
        if (strcmp(key, aliases[a].alias) != 0)
            continue;
        for (size_t i = 0; i < n; i++)
            if (strcmp(cands[i], aliases[a].name) == 0)
                return cands[i];
    }
    /* Up to 2 edits, fewer for short keys: "ab" is not a typo of "cd". */
    size_t len = strlen(key);
    size_t limit = len / 3 < 1 ? 1 : len / 3 > 2 ? 2 : len / 3;
    const char *best = NULL;
    size_t best_d = limit + 1;

    for (size_t i = 0; i < n; i++) {
        size_t dist = str_distance(key, cands[i], limit + 1);
        if (dist < best_d) {
            best = cands[i];
            best_d = dist;
        }
    }
    return best;
}

/* ------------------------------------------------------------------------ */
/* The raw model                                                             */

/* Intern a file name; origins keep pointers into cfg->files. */
static const char *intern(config *cfg, const char *file)
{
    for (size_t i = 0; i < cfg->n_files; i++)
        if (strcmp(cfg->files[i], file) == 0)
            return cfg->files[i];
    xgrow(&cfg->files, &cfg->cap_files, cfg->n_files + 1, sizeof *cfg->files);
    return cfg->files[cfg->n_files++] = xstrdup(file);
}

static const char *section_name_at(const void *cfg, size_t pos)
{
    return ((const config *)cfg)->sections[pos].name;
}

size_t config_section_index(const config *cfg, const char *name)
{
    return strindex_find(&cfg->section_ix, name, section_name_at, cfg);
}

static cfg_section *find_section(config *cfg, const char *name)
{
    size_t i = config_section_index(cfg, name);
    return i == SIZE_MAX ? NULL : &cfg->sections[i];
}

/* The pool of the probe and group sections' strings, made on first use. */
static arena *strings(config *cfg)
{
    if (!cfg->strings)
        cfg->strings = xcalloc(1, sizeof *cfg->strings);
    return cfg->strings;
}

/* A copy of s in pool, or an owned one when pool is NULL. */
static char *pool_dup(arena *pool, const char *s)
{
    return pool ? arena_strdup(pool, s) : xstrdup(s);
}

static cfg_section *add_section(config *cfg, const char *name, origin at)
{
    xgrow(&cfg->sections, &cfg->cap_sections, cfg->n_sections + 1,
          sizeof *cfg->sections);
    cfg_section *s = &cfg->sections[cfg->n_sections++];
    memset(s, 0, sizeof *s);
    s->pool = strings(cfg);
    s->name = arena_strdup(s->pool, name);
    s->at = at;
    strindex_put(&cfg->section_ix, s->name, cfg->n_sections - 1);
    return s;
}

/* Set key in s; a key already there keeps its place and takes the new
 * value and origin (env overlays); what it had stays in the pool until the
 * section is freed (overlays are few). `value` (NULL: it could not be
 * interpolated) and `raw`, the text before interpolation (NULL: none), are
 * copied. `overlay`: a key of s may be there already (an env overlay);
 * else the caller has checked that it is not, and s is not searched. */
static cfg_entry *section_set(cfg_section *s, const char *key,
                              const char *value, const char *raw, origin at,
                              int overlay)
{
    for (size_t i = 0; overlay && i < s->n; i++) {
        if (strcmp(s->entries[i].key, key) == 0) {
            cfg_entry *e = &s->entries[i];
            if (!s->pool) {
                free(e->value);
                free(e->raw);
            }
            e->value = value ? pool_dup(s->pool, value) : NULL;
            e->raw = raw ? pool_dup(s->pool, raw) : NULL;
            e->replaced = e->at;
            e->at = at;
            return e;
        }
    }
    if (!s->pool) {
        xgrow(&s->entries, &s->cap, s->n + 1, sizeof *s->entries);
    } else if (s->n == s->cap) {
        /* In the pool too: the old array stays there (at most as much
         * again as the last); no free per section, at exit or when the
         * run drops the sections. */
        size_t cap = s->cap ? s->cap * 2 : 8;
        cfg_entry *v = arena_alloc(s->pool, cap * sizeof *v);
        if (s->n)
            memcpy(v, s->entries, s->n * sizeof *v);
        s->entries = v;
        s->cap = cap;
    }
    cfg_entry *e = &s->entries[s->n++];
    e->key = pool_dup(s->pool, key);
    e->value = value ? pool_dup(s->pool, value) : NULL;
    e->raw = raw ? pool_dup(s->pool, raw) : NULL;
    e->at = at;
    e->replaced = (origin){NULL, 0};
    e->vars = NULL;
    e->n_vars = 0;
    return e;
}

/* Its strings in a pool stay there: the pool is freed as a whole. */
static void section_free(cfg_section *s)
{
    for (size_t i = 0; i < s->n; i++) {
        if (!s->pool) {
            free(s->entries[i].key);
            free(s->entries[i].value);
            free(s->entries[i].raw);
        }
        strv_free(s->entries[i].vars, s->entries[i].n_vars);
    }
    if (!s->pool) {
        free(s->entries);
        free(s->name);
    }
    memset(s, 0, sizeof *s);
}

/* What a config that was never loaded still needs. */
static void init_defaults(config *cfg)
{
    if (cfg->env)
        return;
    cfg->env = xstrdup("default");
    cfg->jobs = DEFAULT_JOBS;
    policy_init(&cfg->defaults);
}

/* ------------------------------------------------------------------------ */
/* Variables: the environment, then --env-file                               */

static int valid_var_name(const char *s, size_t n)
{
    if (n == 0 || isdigit((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return 1;
}

/* The --env-file variable `name`: its index in cfg->vars, or -1. */
static ssize_t file_var(const config *cfg, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < cfg->n_vars; i++)
        if (strncmp(cfg->vars[i], name, n) == 0 && cfg->vars[i][n] == '=')
            return (ssize_t)i;
    return -1;
}

int config_var_source(const config *cfg, const char *name, const char **value,
                      origin *at)
{
    const char *v = getenv(name);
    ssize_t i = v ? -1 : file_var(cfg, name);

    if (value)
        *value = v ? v : i >= 0 ? strchr(cfg->vars[i], '=') + 1 : NULL;
    if (v)
        return 1;
    if (i < 0)
        return 0;
    if (at)
        *at = cfg->var_at[i];
    return 2;
}

const char *config_var(const config *cfg, const char *name)
{
    const char *v;
    config_var_source(cfg, name, &v, NULL);
    return v;
}

/* value_interpolate's lookup while reading an entry: also notes which
 * variables the entry used, for --explain. */
typedef struct var_note {
    const config *cfg;
    char **names;
    size_t n, cap;
} var_note;

static const char *note_var(void *ud, const char *name)
{
    var_note *vn = ud;
    size_t i = 0;
    while (i < vn->n && strcmp(vn->names[i], name) != 0)
        i++;
    if (i == vn->n) {
        xgrow(&vn->names, &vn->cap, vn->n + 1, sizeof *vn->names);
        vn->names[vn->n++] = xstrdup(name);
    }
    return config_var(vn->cfg, name);
}

static void set_var(config *cfg, const char *key, size_t klen,
                    const char *value, origin at)
{
    char *kv = xasprintf("%.*s=%s", (int)klen, key, value);
    for (size_t i = 0; i < cfg->n_vars; i++) {
        if (strncmp(cfg->vars[i], kv, klen + 1) == 0) {
            free(cfg->vars[i]);
            cfg->vars[i] = kv;
            cfg->var_at[i] = at;
            return;
        }
    }
    xgrow(&cfg->vars, &cfg->cap_vars, cfg->n_vars + 1, sizeof *cfg->vars);
    xgrow(&cfg->var_at, &cfg->cap_var_at, cfg->n_vars + 1, sizeof *cfg->var_at);
    cfg->var_at[cfg->n_vars] = at;
    cfg->vars[cfg->n_vars++] = kv;
}

/* After an opening '"' at s: the value up to the closing quote, with \n,
 * \" and \\ escapes. *end receives the position after the quote. */
static int env_dquoted(const char *s, strbuf *val, const char **end)
{
    for (; *s && *s != '"'; s++) {
        if (*s == '\\' && (s[1] == 'n' || s[1] == '"' || s[1] == '\\')) {
            s++;
            sb_appendn(val, *s == 'n' ? "\n" : s, 1);
        } else {
            sb_appendn(val, s, 1);
        }
    }
    if (*s != '"')
        return -1;
    *end = s + 1;
    return 0;
}

/*
 * One dotenv line: KEY=VALUE, optional "export ", values optionally quoted.
 * Returns 1 with the value in *val for a variable, 0 for a blank or comment
 * line, -1 with a reason in err.
 */
static int env_line(const char *s, const char **key, size_t *klen, strbuf *val,
                    char *err, size_t errlen)
{
    while (isblank((unsigned char)*s))
        s++;
    if (!*s || *s == '#')
        return 0;
    if (strncmp(s, "export", 6) == 0 && isblank((unsigned char)s[6]))
        for (s += 6; isblank((unsigned char)*s);)
            s++;
    *key = s;
    while (isalnum((unsigned char)*s) || *s == '_')
        s++;
    *klen = (size_t)(s - *key);
    while (isblank((unsigned char)*s))
        s++;
    if (*s != '=' || !valid_var_name(*key, *klen)) {
        snprintf(err, errlen, "expected KEY=VALUE");
        return -1;
    }
    for (s++; isblank((unsigned char)*s);)
        s++;

    const char *rest = NULL;
    if (*s == '"' || *s == '\'') {
        const char *close = *s == '\'' ? strchr(s + 1, '\'') : NULL;
        if (*s == '\'' && close) {
            sb_appendn(val, s + 1, (size_t)(close - s - 1));
            rest = close + 1;
        } else if (*s == '\'' || env_dquoted(s + 1, val, &rest) < 0) {
            snprintf(err, errlen, "unterminated %s quote",
                     *s == '"' ? "double" : "single");
            return -1;
        }
        while (isblank((unsigned char)*rest))
            rest++;
        if (*rest && *rest != '#') {
            snprintf(err, errlen, "unexpected text after the closing quote");
            return -1;
        }
        return 1;
    }
    /* Unquoted: up to a " #" comment, trailing blanks dropped. */
    const char *e = s;
    while (*e && !(*e == '#' && e > s && isblank((unsigned char)e[-1])))
        e++;
    while (e > s && isblank((unsigned char)e[-1]))
        e--;
    sb_appendn(val, s, (size_t)(e - s));
    return 1;
}

static const char *intern(config *cfg, const char *file);
/* What a non-regular file is, for messages. */
static const char *file_kind(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory, not a regular file";
    if (S_ISFIFO(m))
        return "a FIFO, not a regular file";
    if (S_ISSOCK(m))
        return "a socket, not a regular file";
    if (S_ISCHR(m) || S_ISBLK(m))
        return "a device, not a regular file";
    return "not a regular file";
}

/*
 * Open a configuration or env file for reading: only a regular file.
 * O_NONBLOCK so that a FIFO cannot block the open (fstat then refuses it
 * before any read); a directory or device is refused the same way.
 * Returns the stream, or NULL with the reason in why (static or errno's).
 */
static FILE *open_regular(const char *path, const char **why)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        int e = errno;
        *why = e == ENOENT && lstat(path, &st) == 0 && S_ISLNK(st.st_mode)
                   ? "a dangling symlink"
                   : strerror(e);
        return NULL;
    }
    if (fstat(fd, &st) < 0) {
        *why = strerror(errno);
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        *why = file_kind(st.st_mode);
        close(fd);
        return NULL;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    FILE *fp = fdopen(fd, "r");
    if (!fp) {
        *why = strerror(errno);
        close(fd);
    }
    return fp;
}

static void load_env_file(config *cfg, const char *path, diag *d)
{
    const char *why = NULL;
    FILE *fp = open_regular(path, &why);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0;

    if (!fp) {
        diag_add(d, path, 0, "cannot open env file: %s", why);
        return;
    }
    cfg->env_files = xrealloc(cfg->env_files,
                              (cfg->n_env_files + 1) * sizeof *cfg->env_files);
    cfg->env_files[cfg->n_env_files++] = intern(cfg, path);
    while ((n = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        const char *key = NULL;
        size_t klen = 0;
        strbuf val = {0};
        char err[128];
        int rc = env_line(line, &key, &klen, &val, err, sizeof err);
        if (rc < 0)
            diag_add(d, path, lineno, "%s", err);
        else if (rc > 0)
            set_var(cfg, key, klen, sb_str(&val),
                    (origin){intern(cfg, path), lineno});
        sb_free(&val);
    }
    if (ferror(fp))
        diag_add(d, path, 0, "read error: %s", strerror(errno));
    free(line);
    fclose(fp);
}

/* ------------------------------------------------------------------------ */
/* Reading one ini file                                                      */

typedef enum sec_kind {
    SEC_NONE, /* before the first header */
    SEC_SKIP, /* a bad header: its keys are not reported again */
    SEC_GPCHECK,
    SEC_DEFAULTS,
    SEC_BYPASS,
    SEC_PROBE,
    SEC_GROUP,
} sec_kind;

static const char *const special_names[] = {"gpcheck", "defaults", "bypass"};

typedef struct seen {
    const char *name; /* not owned: a section's name or key, or in
                         loadctx.scratch */
    int line;
} seen;

/* The names met so far in one file (sections) or one section (keys), for
 * "already defined at" messages: a list with an index by name. Emptied
 * for every section block and file, its storage kept for the next. */
typedef struct seen_list {
    seen *v; /* owned */
    size_t n, cap;
    strindex ix;
} seen_list;

typedef struct loadctx {
    config *cfg;
    diag *d;
    /* [gpcheck], [defaults], [bypass] of the main file */
    cfg_section special[3];

    /* the file being read */
    const char *file; /* interned */
    int is_main;
    int overlay; /* conf.d/ENV/: may reopen probes of earlier files */
    FILE *fp;
    char *buf;
    size_t buf_cap, len, pos;
    int lineno;

    arena scratch; /* owned; the section headers seen_list names */
    sec_kind kind;
    size_t sec_idx; /* SEC_PROBE: index in cfg->sections */
    seen_list secs; /* sections of this file */
    seen_list keys; /* keys of the current section block */
} loadctx;

static const char *seen_name_at(const void *l, size_t pos)
{
    return ((const seen_list *)l)->v[pos].name;
}

/* name must outlive the list's next seen_clear(). */
static void seen_add(seen_list *l, const char *name, int line)
{
    xgrow(&l->v, &l->cap, l->n + 1, sizeof *l->v);
    l->v[l->n].name = name;
    l->v[l->n].line = line;
    strindex_put(&l->ix, l->v[l->n].name, l->n);
    l->n++;
}

static const seen *seen_find(const seen_list *l, const char *name)
{
    size_t i = strindex_find(&l->ix, name, seen_name_at, l);
    return i == SIZE_MAX ? NULL : &l->v[i];
}

static void seen_clear(seen_list *l)
{
    l->n = 0;
    strindex_clear(&l->ix);
}

static void seen_free(seen_list *l)
{
    free(l->v);
    strindex_free(&l->ix);
    *l = (seen_list){0};
}

static cfg_section *cur_section(loadctx *c)
{
    if (c->kind == SEC_PROBE)
        return &c->cfg->sections[c->sec_idx];
    if (c->kind == SEC_GROUP)
        return &c->cfg->groups[c->sec_idx];
    if (c->kind >= SEC_GPCHECK && c->kind <= SEC_BYPASS)
        return &c->special[c->kind - SEC_GPCHECK];
    return NULL;
}

/* "probe 'db'" or "[gpcheck]", for messages. */
static char *section_label(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(special_names); i++)
        if (strcmp(name, special_names[i]) == 0)
            return xasprintf("[%s]", name);
    return xasprintf("probe '%s'", name);
}

static void begin_special(loadctx *c, size_t k, int line)
{
    if (!c->is_main) {
        diag_add(c->d, c->file, line, "[%s] is only allowed in the main file",
                 special_names[k]);
        c->kind = SEC_SKIP;
        return;
    }
    cfg_section *s = &c->special[k];
    if (!s->name) {
        s->name = xstrdup(special_names[k]);
        s->at = (origin){c->file, line};
    }
    c->kind = (sec_kind)(SEC_GPCHECK + k);
}

static void begin_probe(loadctx *c, const char *name, int line)
{
    cfg_section *s = find_section(c->cfg, name);

    if (s && !c->overlay) {
        diag_add(c->d, c->file, line, "probe '%s' already defined at %s:%d",
                 name, s->at.file, s->at.line);
        c->kind = SEC_SKIP;
        return;
    }
    if (!s)
        s = add_section(c->cfg, name, (origin){c->file, line});
    c->sec_idx = (size_t)(s - c->cfg->sections);
    c->kind = SEC_PROBE;
}

/* [group NAME]: like a probe, defined once outside env overlays. */
static void begin_group(loadctx *c, const char *name, int line)
{
    config *cfg = c->cfg;
    cfg_section *s = NULL;

    for (size_t i = 0; i < cfg->n_groups && !s; i++)
        if (strcmp(cfg->groups[i].name, name) == 0)
            s = &cfg->groups[i];
    if (s && !c->overlay) {
        diag_add(c->d, c->file, line, "group '%s' already defined at %s:%d",
                 name, s->at.file, s->at.line);
        c->kind = SEC_SKIP;
        return;
    }
    if (!s) {
        xgrow(&cfg->groups, &cfg->cap_groups, cfg->n_groups + 1,
              sizeof *cfg->groups);
        s = &cfg->groups[cfg->n_groups++];
        memset(s, 0, sizeof *s);
        s->pool = strings(cfg);
        s->name = arena_strdup(s->pool, name);
        s->at = (origin){c->file, line};
    }
    c->sec_idx = (size_t)(s - cfg->groups);
    c->kind = SEC_GROUP;
}

/* "group NAME" -> NAME, or NULL when the header is not a group's. */
static const char *group_name(const char *header)
{
    if (strncmp(header, "group", 5) != 0 || !isspace((unsigned char)header[5]))
        return NULL;
    header += 5;
    while (isspace((unsigned char)*header))
        header++;
    return header;
}

static void begin_section(loadctx *c, const char *name)
{
    int line = c->lineno;
    const seen *prev = seen_find(&c->secs, name);

    seen_clear(&c->keys);
    c->kind = SEC_SKIP;
    const char *gname = group_name(name);
    if (gname) {
        if (!config_valid_name(gname)) {
            diag_add(c->d, c->file, line,
                     "invalid group name '%s' (letters, digits, '_', '.' "
                     "and '-' only)",
                     gname);
        } else if (prev) {
            diag_add(c->d, c->file, line, "[%s] already defined at %s:%d", name,
                     c->file, prev->line);
        } else {
            seen_add(&c->secs, arena_strdup(&c->scratch, name), line);
            begin_group(c, gname, line);
        }
        return;
    }
    if (!config_valid_name(name)) {
        diag_add(c->d, c->file, line,
                 "invalid section name '[%s]' (letters, digits, '_', '.' "
                 "and '-' only)",
                 name);
        return;
    }
    if (prev) {
        char *label = section_label(name);
        diag_add(c->d, c->file, line, "%s already defined at %s:%d", label,
                 c->file, prev->line);
        free(label);
        return;
    }
    seen_add(&c->secs, arena_strdup(&c->scratch, name), line);
    for (size_t k = 0; k < ARRAY_LEN(special_names); k++) {
        if (strcmp(name, special_names[k]) == 0) {
            begin_special(c, k, line);
            return;
        }
    }
    begin_probe(c, name, line);
}

/* First of `chars` (at most 2, no ';') in s, or the start of an inline
 * comment (';' after a blank) -- the same scan inih makes, so we agree on
 * what a line is. strcspn jumps to the candidates. */
static const char *scan_line(const char *s, const char *chars)
{
    char stop[4] = {chars[0], chars[0] ? chars[1] : '\0', '\0', '\0'};
    stop[strlen(stop)] = ';';
    for (const char *p = s + strcspn(s, stop); *p;
         p += 1 + strcspn(p + 1, stop)) {
        if (*p != ';' || (p > s && isspace((unsigned char)p[-1])))
            return p;
    }
    return NULL;
}

static int check_header(loadctx *c, char *t)
{
    const char *close = scan_line(t + 1, "]");
    if (!close || *close != ']') {
        diag_add(c->d, c->file, c->lineno, "missing ']' in section header");
        return -1;
    }
    const char *rest = close + 1;
    while (isspace((unsigned char)*rest))
        rest++;
    if (*rest && *rest != ';' && *rest != '#') {
        diag_add(c->d, c->file, c->lineno, "unexpected text after ']'");
        return -1;
    }
    t[close - t] = '\0';
    begin_section(c, t + 1);
    return 0;
}

/* Check one physical line before inih sees it; -1: reported, and inih gets
 * a blank line instead. Only a section header is copied (its name is cut
 * out of it); the other lines are read where they stand. */
static int check_line(loadctx *c)
{
    const char *t = c->buf + c->pos; /* NUL-terminated at c->len */
    int rc = 0;

    while (isspace((unsigned char)*t))
        t++;
    if (!*t || *t == ';' || *t == '#') {
        rc = 0;
    } else if (*t == '[') {
        char *h = str_trim(xstrndup(t, c->len - (size_t)(t - c->buf)));
        if (check_header(c, h) < 0) {
            c->kind = SEC_SKIP;
            seen_clear(&c->keys);
            rc = -1;
        }
        free(h);
    } else {
        const char *sep = scan_line(t, "=:");
        if (!sep || *sep == ';') {
            diag_add(c->d, c->file, c->lineno,
                     "expected 'key = value' or '[section]'");
            rc = -1;
        } else if (sep == t) {
            diag_add(c->d, c->file, c->lineno, "missing key before '%c'", *sep);
            rc = -1;
        } else if (c->kind == SEC_NONE) {
            diag_add(c->d, c->file, c->lineno,
                     "key '%.*s' outside of any section",
                     (int)strcspn(t, " \t=:"), t);
            rc = -1;
        }
    }
    return rc;
}

static int next_line(loadctx *c)
{
    ssize_t n = getline(&c->buf, &c->buf_cap, c->fp);
    if (n < 0)
        return -1;
    c->lineno++;
    c->len = (size_t)n;
    c->pos = 0;
    /* inih would skip a BOM itself, but our own checks must too. */
    if (c->lineno == 1 && n >= 3 && memcmp(c->buf, "\xEF\xBB\xBF", 3) == 0)
        c->pos = 3;

    int bad;
    if (memchr(c->buf, '\0', c->len)) {
        diag_add(c->d, c->file, c->lineno, "NUL byte in line");
        bad = 1;
    } else if (c->len > MAX_LINE) {
        diag_add(c->d, c->file, c->lineno, "line too long (over %d bytes)",
                 MAX_LINE);
        bad = 1;
    } else {
        bad = check_line(c) < 0;
    }
    if (bad) {
        c->buf[0] = '\n';
        c->len = 1;
        c->pos = 0;
    }
    return 0;
}

/* ini_reader: hands out our physical line in pieces as large as inih
 * asks for; it grows its buffer and asks again until the '\n'. */
static char *reader(char *str, int num, void *stream)
{
    loadctx *c = stream;
    if (c->pos >= c->len && next_line(c) < 0)
        return NULL;
    size_t n = c->len - c->pos;
    if (n > (size_t)num - 1)
        n = (size_t)num - 1;
    memcpy(str, c->buf + c->pos, n);
    str[n] = '\0';
    c->pos += n;
    return str;
}

static void add_key(loadctx *c, const char *key, const char *raw)
{
    int line = c->lineno;
    const seen *dup = seen_find(&c->keys, key);
    cfg_section *s = cur_section(c);
    origin at = {c->file, line};

    if (dup) {
        diag_add(c->d, c->file, line, "duplicate key '%s' (first at %s:%d)",
                 key, c->file, dup->line);
        return;
    }
    cfg_entry *e;
    if (!strchr(raw, '$')) {
        /* Nothing to interpolate (most values): the text is the value. */
        e = section_set(s, key, raw, NULL, at, c->overlay);
        strv_free(e->vars, e->n_vars);
        e->vars = NULL;
        e->n_vars = 0;
    } else {
        char *value = NULL;
        char err[256];
        var_note vn = {.cfg = c->cfg};
        if (value_interpolate(raw, note_var, &vn, NULL, &value, err,
                              sizeof err) < 0) {
            char *label = c->kind == SEC_GROUP
                              ? xasprintf("group '%s'", s->name)
                              : section_label(s->name);
            diag_add(c->d, c->file, line, "%s: %s: %s", label, key, err);
            free(label);
        }
        e = section_set(s, key, value, raw, at, c->overlay);
        free(value);
        strv_free(e->vars, e->n_vars);
        e->vars = vn.names;
        e->n_vars = vn.n;
    }
    seen_add(&c->keys, e->key, line); /* e->key lives as long as s */
}

/* ini_handler: the section comes from our reader, not from inih (which
 * also cuts long section names). */
static int handler(void *user, const char *section, const char *name,
                   const char *value)
{
    loadctx *c = user;
    (void)section;
    if (c->kind != SEC_SKIP && c->kind != SEC_NONE)
        add_key(c, name, value);
    return 1;
}

static void ini_setup(void)
{
    ini_allow_multiline = false;
    ini_use_stack = false;
    ini_allow_realloc = true;
    ini_max_line = MAX_LINE + 16;
    ini_stop_on_first_error = false;
    ini_allow_inline_comments = true;
    ini_allow_no_value = false;
}

static int already_reported(const diag *d, size_t from, const char *file,
                            int line)
{
    for (size_t i = from; i < d->n; i++)
        if (d->items[i].file && strcmp(d->items[i].file, file) == 0 &&
            d->items[i].line == line)
            return 1;
    return 0;
}

/* Returns -1 when the file could not be opened at all. */
static int parse_file(loadctx *c, const char *path, int is_main, int overlay)
{
    size_t n0 = c->d->n;

    const char *why = NULL;
    c->fp = open_regular(path, &why);
    if (!c->fp) {
        diag_add(c->d, path, 0, "cannot open: %s", why);
        return -1;
    }
    c->file = intern(c->cfg, path);
    c->is_main = is_main;
    c->overlay = overlay;
    c->lineno = 0;
    c->len = c->pos = 0;
    c->kind = SEC_NONE;

    ini_setup();
    int rc = ini_parse_stream(reader, c, handler, c);
    if (ferror(c->fp))
        diag_add(c->d, path, 0, "read error: %s", strerror(errno));
    else if (rc == -2)
        diag_add(c->d, path, 0, "out of memory");
    else if (rc > 0 && !already_reported(c->d, n0, c->file, rc))
        diag_add(c->d, c->file, rc, "syntax error");

    seen_clear(&c->secs);
    seen_clear(&c->keys);
    free(c->buf);
    c->buf = NULL;
    c->buf_cap = 0;
    fclose(c->fp);
    c->fp = NULL;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Finding the files                                                         */

static char *path_join(const char *dir, const char *name)
{
    if (name[0] == '/' || strcmp(dir, ".") == 0)
        return xstrdup(name);
    size_t n = strlen(dir);
    return xasprintf("%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
}

/* lstat(): a dangling symlink "exists", so reading it reports it. */
static int file_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* The main file to read, or NULL; an explicit one that is missing is
 * still returned, so that reading it reports the error. */
static char *find_main(const config_opts *o)
{
    const char *env = getenv("GPCHECK_CONFIG");
    if (o->config_path)
        return xstrdup(o->config_path);
    if (env && *env)
        return xstrdup(env);
    if (file_exists("gpcheck.ini"))
        return xstrdup("gpcheck.ini");
    char *etc = xasprintf("%s/gpcheck/gpcheck.ini", paths_sysconfdir());
    if (file_exists(etc))
        return etc;
    free(etc);
    return NULL;
}

static int ini_filter(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n >= 4 && strcmp(e->d_name + n - 4, ".ini") == 0;
}

/* Byte order, not the locale's: the same files load in the same order on
 * every machine. */
static int name_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void read_dir(loadctx *c, const char *dir, int overlay)
{
    struct dirent **list = NULL;
    int n = scandir(dir, &list, ini_filter, name_cmp);

    if (n < 0) {
        diag_add(c->d, dir, 0, "cannot read directory: %s", strerror(errno));
        return;
    }
    for (int i = 0; i < n; i++) {
        /* Every *.ini entry is read: one that is not a readable regular
         * file (a dangling symlink, a directory, a FIFO) is an error
         * naming it, or the gate would pass without its probes. */
        char *path = path_join(dir, list[i]->d_name);
        parse_file(c, path, 0, overlay);
        free(path);
        free(list[i]);
    }
    free(list);
}

/* ------------------------------------------------------------------------ */
/* [gpcheck] and [defaults]                                                  */

static const cfg_entry *special_get(const cfg_section *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->entries[i].key, key) == 0 && s->entries[i].value)
            return &s->entries[i];
    return NULL;
}

static void unknown_key(diag *d, const cfg_entry *e, const char *label,
                        const char *const *cands, size_t n)
{
    const char *hint = config_did_you_mean(e->key, cands, n);
    if (hint)
        diag_add(d, e->at.file, e->at.line,
                 "unknown key '%s' in %s (did you mean '%s'?)", e->key, label,
                 hint);
    else
        diag_add(d, e->at.file, e->at.line, "unknown key '%s' in %s", e->key,
                 label);
}

static int is_gpcheck_key(const char *key)
{
    for (size_t i = 0; i < ARRAY_LEN(gpcheck_keys); i++)
        if (strcmp(key, gpcheck_keys[i]) == 0)
            return 1;
    return 0;
}

/* history, history_keep, history_required of [gpcheck]. */
static void apply_history(loadctx *c, const cfg_entry *e)
{
    config *cfg = c->cfg;
    char err[256];
    if (strcmp(e->key, "history") == 0) {
        free(cfg->history);
        cfg->history = NULL;
        if (!*e->value)
            diag_add(c->d, e->at.file, e->at.line,
                     "[gpcheck]: history: empty path (write 'default' for "
                     "the per-user file)");
        else if (e->value[0] == '/' || strcmp(e->value, "default") == 0 ||
                 !e->at.file)
            cfg->history = xstrdup(e->value);
        else {
            char *base = path_dir(e->at.file);
            cfg->history = xasprintf("%s/%s", base, e->value);
            free(base);
        }
    } else if (strcmp(e->key, "history_keep") == 0) {
        history_keep k;
        if (history_parse_keep(e->value, &k, err, sizeof err) < 0) {
            diag_add(c->d, e->at.file, e->at.line,
                     "[gpcheck]: history_keep: %s", err);
        } else {
            cfg->history_keep_ms = k.age_ms;
            cfg->history_keep_runs = k.runs;
            cfg->history_keep_set = 1;
        }
    } else if (value_boolean(e->value, &cfg->history_required, err,
                             sizeof err) < 0) {
        diag_add(c->d, e->at.file, e->at.line,
                 "[gpcheck]: history_required: %s", err);
    }
}

static void apply_gpcheck(loadctx *c)
{
    const cfg_section *s = &c->special[0];
    config *cfg = c->cfg;
    char err[256];

    for (size_t i = 0; i < s->n; i++) {
        const cfg_entry *e = &s->entries[i];
        int64_t v;
        if (!is_gpcheck_key(e->key)) {
            unknown_key(c->d, e, "[gpcheck]", gpcheck_keys,
                        ARRAY_LEN(gpcheck_keys));
            continue;
        }
        if (!e->value)
            continue;
        if (strcmp(e->key, "plugin_path") == 0) {
            strv_free(cfg->plugin_path, cfg->n_plugin_path);
            cfg->plugin_path = NULL;
            cfg->n_plugin_path = 0;
            if (value_list(e->value, &cfg->plugin_path, &cfg->n_plugin_path,
                           err, sizeof err) < 0)
                diag_add(c->d, e->at.file, e->at.line,
                         "[gpcheck]: plugin_path: %s", err);
        } else if (strcmp(e->key, "jobs") == 0) {
            if (value_integer(e->value, &v, err, sizeof err) < 0)
                diag_add(c->d, e->at.file, e->at.line, "[gpcheck]: jobs: %s",
                         err);
            else if (v < 1 || v > MAX_JOBS)
                diag_add(c->d, e->at.file, e->at.line,
                         "[gpcheck]: jobs: must be between 1 and %d", MAX_JOBS);
            else
                cfg->jobs = (unsigned)v;
        } else if (strcmp(e->key, "deadline") == 0) {
            if (value_duration(e->value, &v, err, sizeof err) < 0)
                diag_add(c->d, e->at.file, e->at.line,
                         "[gpcheck]: deadline: %s", err);
            else
                cfg->deadline_ms = v;
        } else if (strncmp(e->key, "history", 7) == 0) {
            apply_history(c, e);
        } else if (strcmp(e->key, "conf_dir") == 0 && !*e->value) {
            diag_add(c->d, e->at.file, e->at.line,
                     "[gpcheck]: conf_dir: empty path");
        }
        /* env is chosen in choose_env, conf_dir in choose_conf_dir */
    }
}

static void apply_defaults(loadctx *c)
{
    size_t n_names;
    const char *const *names = policy_set_keys(&n_names);
    const cfg_section *s = &c->special[1];
    char err[256];

    for (size_t i = 0; i < s->n; i++) {
        const cfg_entry *e = &s->entries[i];
        if (!policy_is_set_key(e->key))
            unknown_key(c->d, e, "[defaults]", names, n_names);
        else if (e->value && policy_set(&c->cfg->defaults, e->key, e->value,
                                        err, sizeof err) < 0)
            diag_add(c->d, e->at.file, e->at.line, "[defaults]: %s: %s", e->key,
                     err);
    }
    /* [bypass] is checked by core/bypass.c, which knows its keys. */
}

static int valid_env(const char *s)
{
    /* "." and ".." match the name pattern but would name other folders. */
    return config_valid_name(s) && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static void choose_env(loadctx *c, const config_opts *o)
{
    const char *genv = getenv("GPCHECK_ENV");
    const cfg_entry *e = special_get(&c->special[0], "env");
    const char *env = "default";

    free(c->cfg->env_source);
    if (o->env) {
        env = o->env;
        c->cfg->env_source = xstrdup("--env");
    } else if (genv && *genv) {
        env = genv;
        c->cfg->env_source = xstrdup("$GPCHECK_ENV");
    } else if (e) {
        env = e->value;
        c->cfg->env_source = xasprintf("%s:%d", e->at.file, e->at.line);
    } else {
        c->cfg->env_source = xstrdup("default");
    }

    if (!valid_env(env)) {
        if (o->env)
            diag_add(c->d, NULL, 0, "--env: invalid environment name '%s'",
                     env);
        else if (genv && *genv)
            diag_add(c->d, NULL, 0,
                     "$GPCHECK_ENV: invalid environment name '%s'", env);
        else
            diag_add(c->d, e->at.file, e->at.line,
                     "[gpcheck]: env: invalid environment name '%s'", env);
        env = "default";
    }
    free(c->cfg->env);
    c->cfg->env = xstrdup(env);
}

/* Why path is not a readable directory, or NULL when it is one. */
static const char *dir_problem(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return strerror(errno);
    return S_ISDIR(st.st_mode) ? NULL : "not a directory";
}

/* Sets cfg->conf_dir when there is one to read; reports an explicit one
 * that is missing. */
static void choose_conf_dir(loadctx *c, const config_opts *o)
{
    config *cfg = c->cfg;
    const cfg_entry *e = special_get(&c->special[0], "conf_dir");
    const char *why;
    char *dir;

    if (o->conf_dir) {
        dir = xstrdup(o->conf_dir);
        if ((why = dir_problem(dir)))
            diag_add(c->d, NULL, 0, "--conf-dir: cannot open '%s': %s", dir,
                     why);
    } else if (e && *e->value) {
        char *base = path_dir(cfg->main_file);
        dir = path_join(base, e->value);
        free(base);
        if ((why = dir_problem(dir)))
            diag_add(c->d, e->at.file, e->at.line,
                     "[gpcheck]: conf_dir: cannot open '%s': %s", dir, why);
    } else {
        char *base = cfg->main_file ? path_dir(cfg->main_file) : xstrdup(".");
        dir = path_join(base, "conf.d");
        free(base);
        if (dir_problem(dir)) {
            free(dir);
            return;
        }
    }
    free(cfg->conf_dir);
    cfg->conf_dir = dir;
}

/* An overlay section that matches no probe defined before the overlays
 * and does not define one itself (no `plugin =`) is a typo, not a probe
 * missing its plugin: say so, with the closest probe name, and drop it so
 * that resolving does not report it a second time. */
static void check_overlay_sections(loadctx *c, size_t first)
{
    config *cfg = c->cfg;
    const char **names = xcalloc(first + 1, sizeof *names);
    size_t kept = first;

    for (size_t i = 0; i < first; i++)
        names[i] = cfg->sections[i].name;
    for (size_t i = first; i < cfg->n_sections; i++) {
        cfg_section *s = &cfg->sections[i];
        if (special_get(s, "plugin")) {
            cfg->sections[kept++] = *s;
            continue;
        }
        const char *near = config_did_you_mean(s->name, names, first);
        diag_add(c->d, s->at.file, s->at.line,
                 "[%s] overlays no probe: none of that name is defined "
                 "outside the environment's folder%s%s%s (a probe defined "
                 "here needs 'plugin =')",
                 s->name, near ? " (did you mean '" : "", near ? near : "",
                 near ? "'?)" : "");
        section_free(s);
    }
    cfg->n_sections = kept;
    strindex_free(&cfg->section_ix); /* positions moved: index them anew */
    for (size_t i = 0; i < kept; i++)
        strindex_put(&cfg->section_ix, cfg->sections[i].name, i);
    free(names);
}

static void read_conf_dirs(loadctx *c)
{
    const char *dir = c->cfg->conf_dir;
    if (!dir || dir_problem(dir))
        return;
    read_dir(c, dir, 0);
    char *envdir = path_join(dir, c->cfg->env);
    if (!dir_problem(envdir)) {
        size_t first = c->cfg->n_sections;
        read_dir(c, envdir, 1);
        check_overlay_sections(c, first);
    }
    free(envdir);
}

/* The environments this configuration knows: "default", the folders
 * under conf.d/ and every name an `envs =` lists. Newly allocated. */
static char **known_envs(const config *cfg, size_t *n)
{
    char **v = NULL;
    size_t cap = 0;
    *n = 0;
#define ADD_ENV(name)                                                          \
    do {                                                                       \
        xgrow(&v, &cap, *n + 1, sizeof *v);                                    \
        v[(*n)++] = xstrdup(name);                                             \
    } while (0)
    ADD_ENV("default");
    DIR *dp = cfg->conf_dir ? opendir(cfg->conf_dir) : NULL;
    for (struct dirent *e; dp && (e = readdir(dp));) {
        if (e->d_name[0] == '.')
            continue;
        char *sub = path_join(cfg->conf_dir, e->d_name);
        if (!dir_problem(sub) && valid_env(e->d_name))
            ADD_ENV(e->d_name);
        free(sub);
    }
    if (dp)
        closedir(dp);
    for (size_t i = 0; i < cfg->n_sections; i++) {
        const cfg_entry *e = special_get(&cfg->sections[i], "envs");
        char **items = NULL;
        size_t k = 0;
        char err[128];
        if (!e || !e->value ||
            value_list(e->value, &items, &k, err, sizeof err) < 0)
            continue;
        for (size_t j = 0; j < k; j++)
            ADD_ENV(items[j]);
        strv_free(items, k);
    }
#undef ADD_ENV
    return v;
}

/* `-e stagin` must not run the base configuration without the staging
 * overlay and call it a pass: an environment nothing defines is an error,
 * named where it was chosen. */
static void check_env_known(loadctx *c, const config_opts *o)
{
    const config *cfg = c->cfg;
    size_t n;
    char **envs = known_envs(cfg, &n);
    int known = 0;

    for (size_t i = 0; i < n && !known; i++)
        known = strcmp(envs[i], cfg->env) == 0;
    if (!known) {
        const char *near =
            config_did_you_mean(cfg->env, (const char *const *)envs, n);
        strbuf list = {0};
        for (size_t i = 0; i < n; i++) {
            int dup = 0;
            for (size_t k = 0; k < i && !dup; k++)
                dup = strcmp(envs[k], envs[i]) == 0;
            if (!dup)
                sb_appendf(&list, "%s%s", list.len ? ", " : "", envs[i]);
        }
        const cfg_entry *e = special_get(&c->special[0], "env");
        const char *genv = getenv("GPCHECK_ENV");
        const char *file = NULL;
        int line = 0;
        const char *what = "--env";
        if (!o->env && genv && *genv) {
            what = "$GPCHECK_ENV";
        } else if (!o->env && e) {
            file = e->at.file;
            line = e->at.line;
            what = "[gpcheck]: env";
        }
        diag_add(c->d, file, line,
                 "%s: unknown environment '%s'%s%s%s: no conf.d/%s/ folder "
                 "and no probe's 'envs' names it (known: %s)",
                 what, cfg->env, near ? " (did you mean '" : "",
                 near ? near : "", near ? "'?)" : "", cfg->env, sb_str(&list));
        sb_free(&list);
    }
    strv_free(envs, n);
}

/* ------------------------------------------------------------------------ */

int config_load(config *cfg, const config_opts *o, diag *d)
{
    static const config_opts none;
    loadctx c = {.cfg = cfg, .d = d};
    size_t n0 = d->n;

    if (!o)
        o = &none;
    init_defaults(cfg);
    for (size_t i = 0; i < o->n_env_files && !o->main_only; i++)
        load_env_file(cfg, o->env_files[i], d);

    char *main_file = find_main(o);
    free(cfg->main_file);
    cfg->main_file = NULL;
    if (main_file && parse_file(&c, main_file, 1, 0) == 0)
        cfg->main_file = main_file;
    else
        free(main_file);
    apply_gpcheck(&c);
    apply_defaults(&c);
    if (o->jobs > MAX_JOBS)
        diag_add(d, NULL, 0, "--jobs: must be between 1 and %d", MAX_JOBS);
    else if (o->jobs)
        cfg->jobs = o->jobs;
    if (o->deadline_ms)
        cfg->deadline_ms = o->deadline_ms;
    choose_env(&c, o);
    if (!o->main_only) {
        choose_conf_dir(&c, o);
        read_conf_dirs(&c);
        if (strcmp(cfg->env, "default") != 0)
            check_env_known(&c, o);
    }

    section_free(&cfg->bypass);
    cfg->bypass = c.special[2];
    memset(&c.special[2], 0, sizeof c.special[2]);
    for (size_t i = 0; i < ARRAY_LEN(c.special); i++)
        section_free(&c.special[i]);
    seen_free(&c.secs);
    seen_free(&c.keys);
    arena_free(&c.scratch);
    return d->n > n0 ? -1 : 0;
}

int config_add_cli_probe(config *cfg, const char *name, const char *plugin_name,
                         char *const *kv, size_t n_kv, diag *d)
{
    size_t n0 = d->n;

    init_defaults(cfg);
    const char *file = intern(cfg, CONFIG_CLI_FILE);
    const cfg_section *prev = find_section(cfg, name);
    if (prev) {
        diag_add(d, file, 0, "probe '%s' already defined at %s:%d", name,
                 prev->at.file, prev->at.line);
        return -1;
    }
    cfg_section *s = add_section(cfg, name, (origin){file, 0});
    section_set(s, "plugin", plugin_name, NULL, (origin){file, 0}, 0);

    for (size_t i = 0; i < n_kv; i++) {
        const char *eq = strchr(kv[i], '=');
        int line = (int)i + 1;
        if (!eq) {
            diag_add(d, file, 0, "argument %d: expected KEY=VALUE", line);
            continue;
        }
        char *key = str_trim(xstrndup(kv[i], (size_t)(eq - kv[i])));
        const cfg_entry *e = special_get(s, key);
        if (!*key)
            diag_add(d, file, 0, "argument %d: expected KEY=VALUE", line);
        else if (e)
            diag_add(d, file, line, "duplicate key '%s' (first at %s:%d)", key,
                     file, e->at.line);
        else
            section_set(s, key, eq + 1, NULL, (origin){file, line}, 0);
        free(key);
    }
    return d->n > n0 ? -1 : 0;
}

void config_drop_sections(config *cfg)
{
    for (size_t i = 0; i < cfg->n_sections; i++)
        section_free(&cfg->sections[i]);
    free(cfg->sections);
    cfg->sections = NULL;
    cfg->n_sections = cfg->cap_sections = 0;
    strindex_free(&cfg->section_ix);
    for (size_t i = 0; i < cfg->n_groups; i++)
        section_free(&cfg->groups[i]);
    free(cfg->groups);
    cfg->groups = NULL;
    cfg->n_groups = cfg->cap_groups = 0;
    if (cfg->strings)
        arena_free(cfg->strings);
    free(cfg->strings);
    cfg->strings = NULL;
}

void config_free(config *cfg)
{
    free(cfg->main_file);
    free(cfg->conf_dir);
    free(cfg->env);
    free(cfg->history);
    strv_free(cfg->plugin_path, cfg->n_plugin_path);
    for (size_t i = 0; i < cfg->n_sections; i++)
        section_free(&cfg->sections[i]);
    free(cfg->sections);
    strindex_free(&cfg->section_ix);
    for (size_t i = 0; i < cfg->n_groups; i++)
        section_free(&cfg->groups[i]);
    free(cfg->groups);
    if (cfg->strings)
        arena_free(cfg->strings);
    free(cfg->strings);
    section_free(&cfg->bypass);
    free(cfg->env_source);
    strv_free(cfg->files, cfg->n_files);
    strv_free(cfg->vars, cfg->n_vars);
    free(cfg->var_at);
    free(cfg->env_files);
    memset(cfg, 0, sizeof *cfg);
}
