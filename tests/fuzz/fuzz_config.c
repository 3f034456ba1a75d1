/*
 * tests/fuzz/fuzz_config.c - the whole configuration path of
 * core/config.c and core/resolve.c: the main file, conf.d/ *.ini, the env
 * overlay folder conf.d/default/, an --env-file, ${VAR} interpolation,
 * then resolution against fake plugins and the [bypass] section.
 *
 * The input is cut into files at marker lines (comments in ini syntax, so
 * a seed stays a readable config):
 *
 *   #@main       what follows goes to gpcheck.ini (also before any marker)
 *   #@conf.d     ... to the next conf.d/NN.ini
 *   #@overlay    ... to the next conf.d/default/NN.ini
 *   #@env-file   ... to the file passed as --env-file
 *
 * The files live in one private temporary folder (on /dev/shm when there
 * is one), rewritten for every input; nothing is written elsewhere. The
 * process environment is replaced by a fixed one and the clock by a
 * constant, so that an input always does the same thing.
 */
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bypass.h"
#include "config.h"
#include "fuzz.h"
#include "util.h"

#define MAX_FILES 8
/* 2025-09-18T12:00:00Z */
#define NOW_MS INT64_C(1758196800000)

/* ------------------------------------------------------------------------ */
/* Fake plugins, as tests/unit/test_config.c has them (no GP_OPT_FILE: that
 * would read whatever file the input names). */

static const gp_option web_options[] = {
    {.key = "host", .type = GP_TYPE_STRING, .flags = GP_OPT_REQUIRED},
    {.key = "port",
     .type = GP_TYPE_INTEGER,
     .def = "80",
     .min = 1,
     .max = 65535},
    {.key = "mode", .type = GP_TYPE_STRING, .choices = "a|b"},
    {.key = "password", .type = GP_TYPE_STRING, .flags = GP_OPT_SECRET},
    {.key = "wait", .type = GP_TYPE_DURATION, .min = 0, .max = 60000},
    {.key = "ratio", .type = GP_TYPE_PERCENTAGE},
    {.key = "names", .type = GP_TYPE_LIST, .choices = "x|y|z"},
    {.key = "flag", .type = GP_TYPE_BOOLEAN},
    {.key = "dsn", .type = GP_TYPE_STRING},
    {.key = NULL},
};

static const gp_metric web_metrics[] = {
    {.name = "connect_time", .unit = GP_UNIT_MS},
    {.name = "pool_usage", .unit = GP_UNIT_PERCENT},
    {.name = "clients", .unit = GP_UNIT_COUNT},
    {.name = "used_memory", .unit = GP_UNIT_BYTES},
    {.name = NULL},
};

static const gp_plugin web_desc = {
    GP_PLUGIN_HEADER,       .name = "tcp",
    .version = "1",         .summary = "a fake for fuzzing",
    .options = web_options, .metrics = web_metrics,
};

/* A plugin whose own default does not parse. */
static const gp_option broken_options[] = {
    {.key = "count", .type = GP_TYPE_INTEGER, .def = "eighty"},
    {.key = NULL},
};

static const gp_plugin broken_desc = {
    GP_PLUGIN_HEADER,
    .name = "broken",
    .options = broken_options,
};

static const plugin plugins[] = {
    {.name = (char *)"tcp",
     .desc = &web_desc,
     .n_options = ARRAY_LEN(web_options) - 1,
     .n_metrics = ARRAY_LEN(web_metrics) - 1},
    {.name = (char *)"broken", .desc = &broken_desc, .n_options = 1},
};

/* Every plugin name is the fake "tcp" (so the shipped conf.d/ resolves
 * as far as its keys go), but for "broken" and the unknown "nope". */
static const plugin *lookup(void *ud, const char *name, char *err,
                            size_t errlen)
{
    (void)ud;
    if (strcmp(name, "broken") == 0)
        return &plugins[1];
    if (strcmp(name, "nope") != 0)
        return &plugins[0];
    snprintf(err, errlen, "unknown plugin '%s'", name);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The temporary folder                                                      */

static char root[PATH_MAX];

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    if (root[0])
        nftw(root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
                               access("/dev/shm", W_OK) == 0
                           ? "/dev/shm"
                           : "/tmp";
    /* The pid in the name lets tests/fuzz/run remove the folder after a
     * crash, when atexit() handlers do not run. */
    snprintf(root, sizeof root, "%s/gpcheck-fuzz-config-%ld-XXXXXX", base,
             (long)getpid());
    if (!mkdtemp(root))
        abort();
    atexit(cleanup);
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/conf.d", root);
    if (mkdir(dir, 0700) < 0)
        abort();
    snprintf(dir, sizeof dir, "%s/conf.d/default", root);
    if (mkdir(dir, 0700) < 0)
        abort();

    /* The variables interpolation may see, and nothing else. */
    clearenv();
    setenv("DB_HOST", "10.8.0.9", 1);
    setenv("DB_PORT", "5432", 1);
    setenv("EMPTY", "", 1);
    setenv("SPACED", "a b ; c", 1);
    setenv("EMERGENCY_DEVELOPMENT_MODE", "true", 1);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Cutting the input into files                                              */

typedef enum target { T_MAIN, T_CONF, T_OVERLAY, T_ENVFILE, N_TARGETS } target;

static const char *const markers[] = {"#@main", "#@conf.d", "#@overlay",
                                      "#@env-file"};

typedef struct files {
    char paths[1 + 2 * MAX_FILES + 1][PATH_MAX + 64];
    size_t n;
    int counts[N_TARGETS];
    FILE *cur;
} files;

/* Start the next file of target t; NULL once it has MAX_FILES. */
static FILE *open_next(files *fs, target t)
{
    if (fs->cur)
        fclose(fs->cur);
    fs->cur = NULL;
    int k = fs->counts[t]++;
    if ((t == T_MAIN || t == T_ENVFILE) ? k > 0 : k >= MAX_FILES)
        return NULL; /* later sections of a single file are dropped */
    char *p = fs->paths[fs->n++];
    if (t == T_MAIN)
        snprintf(p, PATH_MAX + 64, "%s/gpcheck.ini", root);
    else if (t == T_ENVFILE)
        snprintf(p, PATH_MAX + 64, "%s/vars.env", root);
    else
        snprintf(p, PATH_MAX + 64, "%s/conf.d/%s%02d.ini", root,
                 t == T_OVERLAY ? "default/" : "", k);
    fs->cur = fopen(p, "w");
    if (!fs->cur)
        abort();
    return fs->cur;
}

static int marker(const char *line, size_t len, target *t)
{
    for (size_t i = 0; i < ARRAY_LEN(markers); i++) {
        size_t n = strlen(markers[i]);
        if (len >= n && memcmp(line, markers[i], n) == 0 &&
            (len == n || line[n] == '\n' || line[n] == '\r')) {
            *t = (target)i;
            return 1;
        }
    }
    return 0;
}

static void write_files(files *fs, const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    FILE *out = open_next(fs, T_MAIN);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        target t;
        if (marker(p, len, &t))
            out = open_next(fs, t);
        else if (out && fwrite(p, 1, len, out) != len)
            abort();
        p += len;
    }
    if (fs->cur)
        fclose(fs->cur);
    fs->cur = NULL;
}

/* ------------------------------------------------------------------------ */

static void check_config(const config *cfg)
{
    FUZZ_CHECK(cfg->env && config_valid_name(cfg->env));
    FUZZ_CHECK(cfg->jobs >= 1);
    for (size_t i = 0; i < cfg->n_sections; i++) {
        const cfg_section *s = &cfg->sections[i];
        FUZZ_CHECK(config_valid_name(s->name));
        for (size_t k = 0; k < s->n; k++)
            FUZZ_CHECK(s->entries[k].at.file && s->entries[k].at.line > 0);
    }
}

/* The report is one "FILE:LINE: message" line per error, whatever the
 * files, names and variables contain: nothing in it may start a line of
 * its own or drive a terminal. */
static void check_report(const diag *d)
{
    char *buf = NULL;
    size_t len = 0, lines = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        abort();
    diag_print(d, f);
    fclose(f);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)buf[i];
        lines += ch == '\n';
        FUZZ_CHECK(ch == '\n' || (ch >= 0x20 && ch != 0x7F));
    }
    FUZZ_CHECK(lines == d->n);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    files fs = {0};
    write_files(&fs, data, size);

    char confd[PATH_MAX + 16];
    snprintf(confd, sizeof confd, "%s/conf.d", root);
    const char *env_files[1] = {NULL};
    config_opts o = {.config_path = fs.paths[0], .conf_dir = confd};
    for (size_t i = 0; i < fs.n; i++)
        if (strstr(fs.paths[i], "/vars.env"))
            env_files[0] = fs.paths[i];
    if (env_files[0]) {
        o.env_files = env_files;
        o.n_env_files = 1;
    }

    config cfg = {0};
    diag d = {0};
    int rc = config_load(&cfg, &o, &d);
    FUZZ_CHECK(rc == 0 ? d.n == 0 : d.n > 0);
    check_config(&cfg);

    probe_set set = {0};
    size_t n0 = d.n;
    rc = config_resolve(&cfg, lookup, NULL, NULL, &set, &d);
    FUZZ_CHECK(rc == 0 ? d.n == n0 : d.n > n0);
    /* What main.c runs: only a config without any error, where every
     * probe has its plugin (a probe whose `plugin =` failed to interpolate
     * has none, but config_load reported that). */
    for (size_t i = 0; d.n == 0 && i < set.n; i++)
        FUZZ_CHECK(set.probes[i].plugin != NULL);
    for (size_t i = 0; i < set.n_groups; i++)
        for (size_t k = 0; k < set.groups[i].n_members; k++)
            FUZZ_CHECK(set.groups[i].members[k] < set.n);

    /* A selection as -p / --tag / --skip-tag make it: `after`
     * dependencies pulled in, skipped probes' edges dropped. */
    static const char *const names[] = {"web", "cache"};
    static const char *const tags[] = {"golden"};
    static const char *const skip[] = {"slow"};
    selection sel = {names, 2, tags, 1, skip, 1};
    probe_set picked = {0};
    diag d2 = {0};
    config_resolve(&cfg, lookup, NULL, &sel, &picked, &d2);
    FUZZ_CHECK(picked.n <= cfg.n_sections);
    for (size_t i = 0; i < picked.n; i++)
        for (size_t k = 0; k < picked.probes[i].n_after; k++)
            FUZZ_CHECK(picked.probes[i].after[k] < picked.n);
    probe_set_free(&picked);
    diag_free(&d2);

    bypass b;
    bypass_load(&b, &cfg.bypass, NULL, NOW_MS, &d);
    check_report(&d);

    bypass_free(&b);
    probe_set_free(&set);
    config_free(&cfg);
    diag_free(&d);
    for (size_t i = 0; i < fs.n; i++)
        unlink(fs.paths[i]);
    return 0;
}
