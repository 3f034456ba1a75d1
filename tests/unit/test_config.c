/*
 * tests/unit/test_config.c - unit tests of core/config.c and
 * core/resolve.c: finding and merging config files, env overlays,
 * --env-file, validation messages, `after`, `envs` and selection.
 *
 * Every test works in its own temporary directory (the current directory
 * while it runs), so messages carry short relative paths such as
 * "conf.d/10-db.ini:3", and uses a built-in fake plugin.
 */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "paths.h"
#include "policy.h"
#include "unit.h"
#include "util.h"

/* ------------------------------------------------------------------------ */
/* The fake plugin                                                           */

static const gp_option fake_options[] = {
    {.key = "host", .type = GP_TYPE_STRING, .flags = GP_OPT_REQUIRED},
    {.key = "port",
     .type = GP_TYPE_INTEGER,
     .def = "80",
     .min = 1,
     .max = 65535},
    {.key = "mode", .type = GP_TYPE_STRING, .choices = "a|b"},
    {.key = "password", .type = GP_TYPE_STRING, .flags = GP_OPT_SECRET},
    {.key = "pin",
     .type = GP_TYPE_INTEGER,
     .flags = GP_OPT_SECRET,
     .min = 1,
     .max = 9999},
    {.key = "wait", .type = GP_TYPE_DURATION, .min = 0, .max = 60000},
    {.key = "ratio", .type = GP_TYPE_PERCENTAGE},
    {.key = "names", .type = GP_TYPE_LIST, .choices = "x|y|z"},
    {.key = "flag", .type = GP_TYPE_BOOLEAN},
    {.key = NULL},
};

static const gp_metric fake_metrics[] = {
    {.name = "connect_time", .unit = GP_UNIT_MS},
    {.name = NULL},
};

static const gp_plugin fake_desc = {
    GP_PLUGIN_HEADER,        .name = "fake",
    .version = "1",          .summary = "a fake for tests",
    .options = fake_options, .metrics = fake_metrics,
};

static const plugin fake_plugin = {
    .name = (char *)"fake",
    .desc = &fake_desc,
    .n_options = ARRAY_LEN(fake_options) - 1,
    .n_metrics = ARRAY_LEN(fake_metrics) - 1,
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

static const plugin broken_plugin = {
    .name = (char *)"broken",
    .desc = &broken_desc,
    .n_options = 1,
};

/* A plugin with a GP_OPT_FAMILY (ABI 1.3) and a GP_OPT_METRICS list for
 * the members' units, as prometheus has. */
static const gp_option family_options[] = {
    {.key = "query",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_FAMILY | GP_OPT_REQUIRED},
    {.key = "units", .type = GP_TYPE_LIST, .flags = GP_OPT_METRICS},
    {.key = NULL},
};

static const gp_metric family_metrics[] = {
    {.name = "series", .unit = GP_UNIT_COUNT},
    {.name = NULL},
};

static const gp_plugin family_desc = {
    GP_PLUGIN_HEADER,
    .name = "family",
    .options = family_options,
    .metrics = family_metrics,
};

static const plugin family_plugin = {
    .name = (char *)"family",
    .desc = &family_desc,
    .n_options = ARRAY_LEN(family_options) - 1,
    .n_metrics = ARRAY_LEN(family_metrics) - 1,
};

static const plugin *lookup(void *ud, const char *name, char *err,
                            size_t errlen)
{
    (void)ud;
    if (strcmp(name, "family") == 0)
        return &family_plugin;
    if (strcmp(name, "fake") == 0)
        return &fake_plugin;
    if (strcmp(name, "broken") == 0)
        return &broken_plugin;
    snprintf(err, errlen, "unknown plugin '%s'", name);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Fixture: a temp dir per test, and the objects under test                  */

static char root[] = "/tmp/gpcheck-test-config-XXXXXX";
static config cfg;
static diag d;
static probe_set set;

static void setup(void)
{
    char dir[sizeof root + 16];
    snprintf(dir, sizeof dir, "%s/tXXXXXX", root);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(chdir(dir), 0);
    unsetenv("GPCHECK_CONFIG");
    unsetenv("GPCHECK_ENV");
    memset(&cfg, 0, sizeof cfg);
    memset(&d, 0, sizeof d);
    memset(&set, 0, sizeof set);
}

static void teardown(void)
{
    probe_set_free(&set);
    config_free(&cfg);
    diag_free(&d);
}

static void put(const char *path, const char *text)
{
    char *dir = xstrdup(path);
    for (char *p = strchr(dir, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        mkdir(dir, 0755);
        *p = '/';
    }
    free(dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Everything in d as diag_print prints it. */
static char *diags(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    diag_print(&d, f);
    fclose(f);
    return buf;
}

/* Compares line by line: check cannot report very long strings. */
static void assert_diags(const char *expected, int line)
{
    char *got = diags();
    const char *g = got, *e = expected;
    for (int n = 1; *g || *e; n++) {
        size_t gl = strcspn(g, "\n"), el = strcspn(e, "\n");
        ck_assert_msg(gl == el && strncmp(g, e, gl) == 0,
                      "line %d: diag %d:\n got: %.*s\nwant: %.*s", line, n,
                      (int)gl, g, (int)el, e);
        g += gl + (g[gl] == '\n');
        e += el + (e[el] == '\n');
    }
    free(got);
}

#define ck_assert_diags(expected) assert_diags(expected, __LINE__)

static int load_main(void)
{
    config_opts o = {.config_path = "gpcheck.ini"};
    return config_load(&cfg, &o, &d);
}

static int resolve(const selection *sel)
{
    return config_resolve(&cfg, lookup, NULL, sel, &set, &d);
}

static const cfg_section *section(const char *name)
{
    for (size_t i = 0; i < cfg.n_sections; i++)
        if (strcmp(cfg.sections[i].name, name) == 0)
            return &cfg.sections[i];
    ck_abort_msg("no section '%s'", name);
    return NULL;
}

static const cfg_entry *entry(const char *sec, const char *key)
{
    const cfg_section *s = section(sec);
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->entries[i].key, key) == 0)
            return &s->entries[i];
    ck_abort_msg("no key '%s' in '%s'", key, sec);
    return NULL;
}

static const probe_def *probe(const char *name)
{
    for (size_t i = 0; i < set.n; i++)
        if (strcmp(set.probes[i].name, name) == 0)
            return &set.probes[i];
    ck_abort_msg("probe '%s' not selected", name);
    return NULL;
}

/* The selected probes' names, space-separated. */
static char *names(void)
{
    strbuf sb = {0};
    for (size_t i = 0; i < set.n; i++)
        sb_appendf(&sb, "%s%s", i ? " " : "", set.probes[i].name);
    return sb_take(&sb);
}

#define ck_assert_names(expected)                                              \
    do {                                                                       \
        char *got_ = names();                                                  \
        ck_assert_str_eq(got_, expected);                                      \
        free(got_);                                                            \
    } while (0)

static void assert_origin(origin at, const char *file, int line)
{
    ck_assert_ptr_nonnull(at.file);
    ck_assert_str_eq(at.file, file);
    ck_assert_int_eq(at.line, line);
    /* origins point at the config's interned names */
    int interned = 0;
    for (size_t i = 0; i < cfg.n_files; i++)
        interned |= cfg.files[i] == at.file;
    ck_assert_msg(interned, "origin %s not interned", file);
}

/* ------------------------------------------------------------------------ */
/* Files, merging, overlays                                                  */

static void write_layout(void)
{
    put("gpcheck.ini", "[defaults]\n"
                       "timeout = 2s\n"
                       "\n"
                       "[web]\n"
                       "plugin = fake\n"
                       "host = web.local\n");
    put("conf.d/10-db.ini", "; the database\n"
                            "[db]\n"
                            "plugin = fake\n"
                            "host = db.local\n"
                            "port = 5432\n"
                            "tags = data\n");
    put("conf.d/20-cache.ini", "[cache]\n"
                               "plugin = fake\n"
                               "host = cache.local\n"
                               "after = db\n");
    put("conf.d/staging/10-db.ini", "[db]\n"
                                    "port = 6543\n"
                                    "host = db.staging\n"
                                    "[extra]\n"
                                    "plugin = fake\n"
                                    "host = extra\n");
    put("conf.d/staging/20-db.ini", "# later overlay wins\n"
                                    "[db]\n"
                                    "port = 7000\n");
    put("conf.d/prod/10-db.ini", "[db]\n"
                                 "port = 1\n");
}

START_TEST(overlay_merge)
{
    write_layout();
    config_opts o = {.config_path = "gpcheck.ini", .env = "staging"};
    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    ck_assert_diags("");
    ck_assert_str_eq(cfg.main_file, "gpcheck.ini");
    ck_assert_str_eq(cfg.conf_dir, "conf.d");
    ck_assert_str_eq(cfg.env, "staging");

    ck_assert_uint_eq(cfg.n_sections, 4);
    ck_assert_str_eq(cfg.sections[0].name, "web");
    ck_assert_str_eq(cfg.sections[1].name, "db");
    ck_assert_str_eq(cfg.sections[2].name, "cache");
    ck_assert_str_eq(cfg.sections[3].name, "extra");

    /* db keeps its key order and its first header; values move */
    const cfg_section *db = section("db");
    assert_origin(db->at, "conf.d/10-db.ini", 2);
    ck_assert_uint_eq(db->n, 4);
    ck_assert_str_eq(db->entries[0].key, "plugin");
    ck_assert_str_eq(db->entries[1].key, "host");
    ck_assert_str_eq(db->entries[2].key, "port");
    ck_assert_str_eq(db->entries[3].key, "tags");
    ck_assert_str_eq(entry("db", "port")->value, "7000");
    assert_origin(entry("db", "port")->at, "conf.d/staging/20-db.ini", 3);
    ck_assert_str_eq(entry("db", "host")->value, "db.staging");
    assert_origin(entry("db", "host")->at, "conf.d/staging/10-db.ini", 3);
    assert_origin(entry("db", "plugin")->at, "conf.d/10-db.ini", 3);
    assert_origin(section("extra")->at, "conf.d/staging/10-db.ini", 4);

    ck_assert_int_eq(resolve(NULL), 0);
    ck_assert_names("web db cache extra");
    ck_assert_int_eq(probe_opt(probe("db"), "port")->i, 7000);
}
END_TEST

/* Sections keep their entries in one arena (config.strings): a section
 * that outgrows its array, in its own file and again in an overlay, keeps
 * every key in order with its value, raw text and origin, as the simple
 * array did. */
START_TEST(many_keys_grow_in_place_and_in_overlay)
{
    strbuf base = {0}, over = {0};
    sb_appendf(&base, "[big]\nplugin = fake\n");
    for (int k = 0; k < 20; k++)
        sb_appendf(&base, "k%d = v%d\n", k, k);
    sb_appendf(&over, "[big]\nk3 = over3\nk7 = ${GP_TEST_NO_SUCH_VAR:-d7}\n");
    for (int k = 20; k < 40; k++)
        sb_appendf(&over, "k%d = o%d\n", k, k);
    put("gpcheck.ini", "[gpcheck]\n");
    put("conf.d/10-big.ini", sb_str(&base));
    put("conf.d/staging/10-big.ini", sb_str(&over));
    sb_free(&base);
    sb_free(&over);

    config_opts o = {.config_path = "gpcheck.ini", .env = "staging"};
    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    ck_assert_diags("");
    const cfg_section *s = section("big");
    ck_assert_uint_eq(s->n, 41);
    ck_assert_str_eq(s->entries[0].key, "plugin");
    for (int k = 0; k < 40; k++) {
        char key[16], want[16];
        snprintf(key, sizeof key, "k%d", k);
        const cfg_entry *e = &s->entries[k + 1];
        ck_assert_str_eq(e->key, key);
        if (k == 3)
            snprintf(want, sizeof want, "over3");
        else if (k == 7)
            snprintf(want, sizeof want, "d7");
        else
            snprintf(want, sizeof want, "%c%d", k < 20 ? 'v' : 'o', k);
        ck_assert_str_eq(e->value, want);
        if (k == 7) {
            ck_assert_str_eq(e->raw, "${GP_TEST_NO_SUCH_VAR:-d7}");
            ck_assert_uint_eq(e->n_vars, 1);
            ck_assert_str_eq(e->vars[0], "GP_TEST_NO_SUCH_VAR");
        } else {
            ck_assert_ptr_null(e->raw); /* no '$': the text is the value */
            ck_assert_uint_eq(e->n_vars, 0);
        }
        if (k == 3 || k == 7) {
            assert_origin(e->at, "conf.d/staging/10-big.ini", k == 3 ? 2 : 3);
            assert_origin(e->replaced, "conf.d/10-big.ini", k + 3);
        } else if (k < 20) {
            assert_origin(e->at, "conf.d/10-big.ini", k + 3);
            ck_assert_ptr_null(e->replaced.file);
        } else {
            assert_origin(e->at, "conf.d/staging/10-big.ini", k - 16);
        }
    }
}
END_TEST

START_TEST(overlay_other_env_not_read)
{
    write_layout();
    ck_assert_int_eq(load_main(), 0);
    ck_assert_str_eq(cfg.env, "default");
    ck_assert_uint_eq(cfg.n_sections, 3);
    ck_assert_str_eq(entry("db", "port")->value, "5432");
    assert_origin(entry("db", "port")->at, "conf.d/10-db.ini", 5);
}
END_TEST

START_TEST(conf_d_lexical_order)
{
    put("gpcheck.ini", "");
    put("conf.d/b.ini", "[from_b]\nplugin = fake\nhost = h\n");
    put("conf.d/a.ini", "[from_a]\nplugin = fake\nhost = h\n");
    put("conf.d/B.ini", "[from_B]\nplugin = fake\nhost = h\n");
    put("conf.d/10.ini", "[from_10]\nplugin = fake\nhost = h\n");
    put("conf.d/c.conf", "[not_ini]\nplugin = fake\n");
    put("conf.d/dir/x.ini", "[in_dir]\nplugin = fake\n");
    ck_assert_int_eq(load_main(), 0);
    ck_assert_uint_eq(cfg.n_sections, 4);
    ck_assert_str_eq(cfg.sections[0].name, "from_10");
    ck_assert_str_eq(cfg.sections[1].name, "from_B");
    ck_assert_str_eq(cfg.sections[2].name, "from_a");
    ck_assert_str_eq(cfg.sections[3].name, "from_b");
}
END_TEST

/* A *.ini entry that is not a regular file would silently drop its
 * probes; each is an error naming it, and a FIFO must not block. */
START_TEST(conf_d_entry_not_a_file)
{
    put("gpcheck.ini", "");
    put("conf.d/a.ini", "[from_a]\nplugin = fake\nhost = h\n");
    put("conf.d/dir.ini/x.ini", "[in_dir]\nplugin = fake\n");
    ck_assert_int_eq(symlink("gone.ini", "conf.d/dangling.ini"), 0);
    ck_assert_int_eq(mkfifo("conf.d/fifo.ini", 0644), 0);
    ck_assert_int_eq(load_main(), -1);
    ck_assert_diags("conf.d/dangling.ini: cannot open: a dangling symlink\n"
                    "conf.d/dir.ini: cannot open: a directory, not a regular "
                    "file\n"
                    "conf.d/fifo.ini: cannot open: a FIFO, not a regular "
                    "file\n");
    ck_assert_uint_eq(cfg.n_sections, 1);
}
END_TEST

START_TEST(duplicates)
{
    put("gpcheck.ini", "[db]\n"
                       "plugin = fake\n"
                       "host = a\n"
                       "host = b\n");
    put("conf.d/a.ini", "\n"
                        "\n"
                        "[db]\n"
                        "host = c\n"
                        "[x]\n"
                        "plugin = fake\n"
                        "[x]\n"
                        "host = d\n");
    put("conf.d/staging/a.ini", "[db]\n"
                                "host = e\n"
                                "[db]\n"
                                "host = f\n");
    put("conf.d/staging/b.ini", "[x]\n"
                                "host = g\n");
    config_opts o = {.config_path = "gpcheck.ini", .env = "staging"};
    ck_assert_int_eq(config_load(&cfg, &o, &d), -1);
    ck_assert_diags(
        "gpcheck.ini:4: duplicate key 'host' (first at gpcheck.ini:3)\n"
        "conf.d/a.ini:3: probe 'db' already defined at gpcheck.ini:1\n"
        "conf.d/a.ini:7: probe 'x' already defined at conf.d/a.ini:5\n"
        "conf.d/staging/a.ini:3: probe 'db' already defined at "
        "conf.d/staging/a.ini:1\n");
    /* the rejected blocks did not leak in; the overlays did */
    ck_assert_str_eq(entry("db", "host")->value, "e");
    ck_assert_str_eq(entry("x", "host")->value, "g");
}
END_TEST

START_TEST(reserved_sections)
{
    put("gpcheck.ini", "[bypass]\n"
                       "probe = x\n");
    put("conf.d/a.ini", "[gpcheck]\n"
                        "jobs = 3\n"
                        "[defaults]\n"
                        "[bypass]\n");
    ck_assert_int_eq(load_main(), -1);
    /* [bypass] keys are checked by core/bypass.c; the raw section is kept */
    ck_assert_diags(
        "conf.d/a.ini:1: [gpcheck] is only allowed in the main file\n"
        "conf.d/a.ini:3: [defaults] is only allowed in the main file\n"
        "conf.d/a.ini:4: [bypass] is only allowed in the main file\n");
    ck_assert_uint_eq(cfg.jobs, 32);
    ck_assert_uint_eq(cfg.n_sections, 0);
    ck_assert_str_eq(cfg.bypass.name, "bypass");
    ck_assert_uint_eq(cfg.bypass.n, 1);
    ck_assert_str_eq(cfg.bypass.entries[0].key, "probe");
}
END_TEST

START_TEST(syntax_errors_all_reported)
{
    strbuf big = {0};
    for (int i = 0; i < 10 * 1024; i++)
        sb_append(&big, "v");
    strbuf text = {0};
    sb_append(&text, "orphan = 1\n"     /* 1 */
                     "[db]\n"           /* 2 */
                     "plugin = fake\n"  /* 3 */
                     "garbage\n"        /* 4 */
                     "= novalue\n"      /* 5 */
                     "[unclosed\n"      /* 6 */
                     "host = skipped\n" /* 7: in the bad section */
                     "[group x/y]\n"    /* 8 */
                     "[a/b]\n"          /* 9 */
                     "[ok] trailing\n"  /* 10 */
                     "[long]\n"         /* 11 */
                     "plugin = fake\n"  /* 12 */
                     "host = ");        /* 13 */
    sb_append(&text, sb_str(&big));
    sb_append(&text, "\n"
                     "password = "); /* 14 */
    for (int i = 0; i < 7; i++)
        sb_append(&text, sb_str(&big));
    sb_append(&text, "\n"
                     "  ; indented comment\n" /* 15 */
                     "port = 81 ; comment\n"  /* 16 */
                     "mode = a;b\n"           /* 17 */
                     "[db2] ; fine\n"         /* 18 */
                     "plugin: fake\n"         /* 19 */
                     "host = x\n");           /* 20 */
    put("gpcheck.ini", sb_str(&text));
    ck_assert_int_eq(load_main(), -1);
    ck_assert_diags("gpcheck.ini:1: key 'orphan' outside of any section\n"
                    "gpcheck.ini:4: expected 'key = value' or '[section]'\n"
                    "gpcheck.ini:5: missing key before '='\n"
                    "gpcheck.ini:6: missing ']' in section header\n"
                    "gpcheck.ini:8: invalid group name 'x/y' "
                    "(letters, digits, '_', '.' and '-' only)\n"
                    "gpcheck.ini:9: invalid section name '[a/b]' (letters, "
                    "digits, '_', '.' and '-' only)\n"
                    "gpcheck.ini:10: unexpected text after ']'\n"
                    "gpcheck.ini:14: line too long (over 65536 bytes)\n");
    ck_assert_str_eq(entry("long", "host")->value, sb_str(&big));
    assert_origin(entry("long", "port")->at, "gpcheck.ini", 16);
    ck_assert_str_eq(entry("long", "port")->value, "81");
    ck_assert_str_eq(entry("long", "mode")->value, "a;b");
    ck_assert_str_eq(entry("db2", "plugin")->value, "fake");
    ck_assert_uint_eq(section("db")->n, 1);
    ck_assert_uint_eq(cfg.n_sections, 3);
    sb_free(&big);
    sb_free(&text);
}
END_TEST

START_TEST(bom_and_crlf)
{
    put("gpcheck.ini", "\xEF\xBB\xBF[p]\r\n"
                       "plugin = fake\r\n"
                       "host = h\r\n"
                       "\r\n"
                       "bad line\r\n");
    ck_assert_int_eq(load_main(), -1);
    ck_assert_diags("gpcheck.ini:5: expected 'key = value' or '[section]'\n");
    ck_assert_str_eq(entry("p", "host")->value, "h");
    assert_origin(section("p")->at, "gpcheck.ini", 1);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Finding the main file and conf.d                                          */

START_TEST(main_file_discovery)
{
    put("gpcheck.ini", "[gpcheck]\njobs = 3\n");
    put("other/alt.ini", "[gpcheck]\njobs = 4\n");
    config_opts o = {0};

    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    ck_assert_str_eq(cfg.main_file, "gpcheck.ini");
    ck_assert_uint_eq(cfg.jobs, 3);
    config_free(&cfg);

    setenv("GPCHECK_CONFIG", "other/alt.ini", 1);
    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    ck_assert_str_eq(cfg.main_file, "other/alt.ini");
    ck_assert_uint_eq(cfg.jobs, 4);
    config_free(&cfg);

    o.config_path = "gpcheck.ini";
    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    ck_assert_uint_eq(cfg.jobs, 3);
    config_free(&cfg);

    o.config_path = "missing.ini";
    ck_assert_int_eq(config_load(&cfg, &o, &d), -1);
    ck_assert_ptr_null(cfg.main_file);
    ck_assert_diags("missing.ini: cannot open: No such file or directory\n");
}
END_TEST

START_TEST(no_main_file)
{
    /* Only conf.d/ in the current directory: its probes, default policy.
     * (An installed system-wide gpcheck.ini would be found instead.) */
    char etc[4096];
    snprintf(etc, sizeof etc, "%s/gpcheck/gpcheck.ini", paths_sysconfdir());
    if (access(etc, F_OK) == 0)
        return;
    put("conf.d/a.ini", "[a]\nplugin = fake\nhost = h\n");
    config_opts o = {0};
    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    ck_assert_str_eq(cfg.conf_dir, "conf.d");
    ck_assert_uint_eq(cfg.jobs, 32);
    ck_assert_int_eq(cfg.deadline_ms, 0);
    ck_assert_int_eq(cfg.defaults.timeout_ms, 5000);
    ck_assert_uint_eq(cfg.n_sections, 1);
    assert_origin(cfg.sections[0].at, "conf.d/a.ini", 1);
}
END_TEST

START_TEST(conf_dir_choices)
{
    /* conf_dir in [gpcheck] is relative to the main file's folder */
    put("etc/gpcheck.ini", "[gpcheck]\nconf_dir = probes\n");
    put("etc/probes/a.ini", "[a]\nplugin = fake\nhost = h\n");
    put("etc/conf.d/b.ini", "[b]\nplugin = fake\nhost = h\n");
    put("elsewhere/c.ini", "[c]\nplugin = fake\nhost = h\n");
    config_opts o = {.config_path = "etc/gpcheck.ini"};
    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    ck_assert_str_eq(cfg.conf_dir, "etc/probes");
    ck_assert_str_eq(cfg.sections[0].name, "a");
    config_free(&cfg);

    /* --conf-dir wins */
    o.conf_dir = "elsewhere";
    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    ck_assert_str_eq(cfg.conf_dir, "elsewhere");
    ck_assert_str_eq(cfg.sections[0].name, "c");
    config_free(&cfg);

    /* without conf_dir: conf.d beside the main file */
    put("etc/gpcheck.ini", "");
    o.conf_dir = NULL;
    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    ck_assert_str_eq(cfg.conf_dir, "etc/conf.d");
    ck_assert_str_eq(cfg.sections[0].name, "b");
    config_free(&cfg);

    /* an implicit conf.d may be missing */
    put("solo/gpcheck.ini", "");
    o.config_path = "solo/gpcheck.ini";
    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    ck_assert_ptr_null(cfg.conf_dir);
    ck_assert_uint_eq(cfg.n_sections, 0);
    config_free(&cfg);
    ck_assert_diags("");

    /* an explicit one may not */
    o.conf_dir = "nowhere";
    ck_assert_int_eq(config_load(&cfg, &o, &d), -1);
    config_free(&cfg);
    put("solo/gpcheck.ini", "[gpcheck]\n\nconf_dir = gone\n");
    o.conf_dir = NULL;
    ck_assert_int_eq(config_load(&cfg, &o, &d), -1);
    ck_assert_diags("gpcheck: --conf-dir: cannot open 'nowhere': No such file "
                    "or directory\n"
                    "solo/gpcheck.ini:3: [gpcheck]: conf_dir: cannot open "
                    "'solo/gone': No such file or directory\n");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* [gpcheck] and the command line                                            */

START_TEST(gpcheck_section)
{
    put("gpcheck.ini", "[gpcheck]\n"
                       "jobs = 7\n"
                       "deadline = 1m30s\n"
                       "plugin_path = /opt/a, /opt/b\n");
    config_opts o = {.config_path = "gpcheck.ini"};
    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    ck_assert_uint_eq(cfg.jobs, 7);
    ck_assert_int_eq(cfg.deadline_ms, 90000);
    ck_assert_uint_eq(cfg.n_plugin_path, 2);
    ck_assert_str_eq(cfg.plugin_path[0], "/opt/a");
    ck_assert_str_eq(cfg.plugin_path[1], "/opt/b");
    config_free(&cfg);

    o.jobs = 2;
    o.deadline_ms = 500;
    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    ck_assert_uint_eq(cfg.jobs, 2);
    ck_assert_int_eq(cfg.deadline_ms, 500);
}
END_TEST

START_TEST(gpcheck_section_errors)
{
    put("gpcheck.ini", "[gpcheck]\n"
                       "jobs = 0\n"
                       "deadline = soon\n"
                       "job = 3\n"
                       "plugin_path = a,,b\n"
                       "colour = red\n"
                       "[defaults]\n"
                       "tiemout = 1s\n"
                       "attempts = 0\n"
                       "tags = x\n");
    ck_assert_int_eq(load_main(), -1);
    ck_assert_diags(
        "gpcheck.ini:2: [gpcheck]: jobs: must be between 1 and 4096\n"
        "gpcheck.ini:3: [gpcheck]: deadline: invalid duration 'soon' "
        "(units: ms, s, m, h; e.g. 250ms, 45s, 1m30s)\n"
        "gpcheck.ini:4: unknown key 'job' in [gpcheck] (did you mean "
        "'jobs'?)\n"
        "gpcheck.ini:5: [gpcheck]: plugin_path: empty item in list 'a,,b'\n"
        "gpcheck.ini:6: unknown key 'colour' in [gpcheck]\n"
        "gpcheck.ini:8: unknown key 'tiemout' in [defaults] (did you mean "
        "'timeout'?)\n"
        "gpcheck.ini:9: [defaults]: attempts: must be between 1 and "
        "4294967295\n"
        "gpcheck.ini:10: unknown key 'tags' in [defaults]\n");
    ck_assert_uint_eq(cfg.jobs, 32);
    ck_assert_uint_eq(cfg.defaults.attempts, 3);
}
END_TEST

START_TEST(env_precedence)
{
    put("gpcheck.ini", "[gpcheck]\nenv = fromfile\n");
    put("conf.d/fromfile/a.ini", "[only_fromfile]\nplugin = fake\n");
    put("conf.d/cli/a.ini", "[only_cli]\nplugin = fake\n");
    config_opts o = {.config_path = "gpcheck.ini", .env = "cli"};

    setenv("GPCHECK_ENV", "fromvar", 1);
    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    ck_assert_str_eq(cfg.env, "cli");
    ck_assert_str_eq(cfg.sections[0].name, "only_cli");
    config_free(&cfg);

    o.env = NULL;
    put("conf.d/fromvar/README", ""); /* a known env with no overlay files */
    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    ck_assert_str_eq(cfg.env, "fromvar");
    ck_assert_uint_eq(cfg.n_sections, 0);
    config_free(&cfg);

    unsetenv("GPCHECK_ENV");
    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    ck_assert_str_eq(cfg.env, "fromfile");
    ck_assert_str_eq(cfg.sections[0].name, "only_fromfile");
    config_free(&cfg);

    put("gpcheck.ini", "");
    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    ck_assert_str_eq(cfg.env, "default");
    ck_assert_diags("");
}
END_TEST

START_TEST(env_name_errors)
{
    put("gpcheck.ini", "[gpcheck]\nenv = bad env\n");
    put("conf.d/../escape.ini", "");
    config_opts o = {.config_path = "gpcheck.ini", .env = "a/b"};
    ck_assert_int_eq(config_load(&cfg, &o, &d), -1);
    ck_assert_str_eq(cfg.env, "default");
    config_free(&cfg);
    o.env = "..";
    ck_assert_int_eq(config_load(&cfg, &o, &d), -1);
    config_free(&cfg);
    o.env = NULL;
    setenv("GPCHECK_ENV", "x y", 1);
    ck_assert_int_eq(config_load(&cfg, &o, &d), -1);
    config_free(&cfg);
    unsetenv("GPCHECK_ENV");
    ck_assert_int_eq(config_load(&cfg, &o, &d), -1);
    ck_assert_diags(
        "gpcheck: --env: invalid environment name 'a/b'\n"
        "gpcheck: --env: invalid environment name '..'\n"
        "gpcheck: $GPCHECK_ENV: invalid environment name 'x y'\n"
        "gpcheck.ini:2: [gpcheck]: env: invalid environment name 'bad env'\n");
}
END_TEST

/* Swapped neighbours are one typo ("hots" for "host"), as people make
 * them; unrelated short names are not. */
START_TEST(did_you_mean_transpositions)
{
    const char *const keys[] = {"host", "port", "timeout", "db"};
    ck_assert_str_eq(config_did_you_mean("hots", keys, 4), "host");
    ck_assert_str_eq(config_did_you_mean("prot", keys, 4), "port");
    ck_assert_str_eq(config_did_you_mean("tiemout", keys, 4), "timeout");
    ck_assert_str_eq(config_did_you_mean("bd", keys, 4), "db");
    ck_assert_ptr_null(config_did_you_mean("xy", keys, 4));
    ck_assert_uint_eq(str_distance("ab", "ba", 9), 1);
    ck_assert_uint_eq(str_distance("abc", "ca", 9), 3);
    ck_assert_uint_eq(str_distance("kitten", "sitting", 9), 3);
    /* aliases from other tools, only toward a candidate */
    const char *const more[] = {"attempts", "postgres", "redis"};
    ck_assert_str_eq(config_did_you_mean("retries", more, 3), "attempts");
    ck_assert_str_eq(config_did_you_mean("postgresql", more, 3), "postgres");
    ck_assert_ptr_null(config_did_you_mean("retries", keys, 4));
}
END_TEST

/* A typo in the environment must not run the base configuration without
 * its overlay and call it a pass. */
START_TEST(env_unknown)
{
    put("gpcheck.ini", "[db]\nplugin = fake\nhost = h\nenvs = prod, qa\n");
    put("conf.d/staging/a.ini", "[db]\nport = 5433\n");
    config_opts o = {.config_path = "gpcheck.ini", .env = "stagin"};
    ck_assert_int_eq(config_load(&cfg, &o, &d), -1);
    config_free(&cfg);
    o.env = "qa"; /* named only by an `envs =` */
    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    config_free(&cfg);
    o.env = NULL;
    setenv("GPCHECK_ENV", "prd", 1);
    ck_assert_int_eq(config_load(&cfg, &o, &d), -1);
    config_free(&cfg);
    unsetenv("GPCHECK_ENV");
    put("gpcheck.ini", "[gpcheck]\nenv = nowhere\n");
    ck_assert_int_eq(config_load(&cfg, &o, &d), -1);
    ck_assert_diags(
        "gpcheck: --env: unknown environment 'stagin' (did you mean "
        "'staging'?): no conf.d/stagin/ folder and no probe's 'envs' names "
        "it (known: default, staging, prod, qa)\n"
        "gpcheck: $GPCHECK_ENV: unknown environment 'prd' (did you mean "
        "'prod'?): no conf.d/prd/ folder and no probe's 'envs' names it "
        "(known: default, staging, prod, qa)\n"
        "gpcheck.ini:2: [gpcheck]: env: unknown environment 'nowhere': no "
        "conf.d/nowhere/ folder and no probe's 'envs' names it (known: "
        "default, staging)\n");
}
END_TEST

/* An overlay section that matches no probe is a typo of a probe's name. */
START_TEST(overlay_matches_no_probe)
{
    put("gpcheck.ini", "[postgres]\nplugin = fake\nhost = h\n");
    put("conf.d/staging/a.ini", "[postgre]\nport = 5433\n\n"
                                "[extra]\nplugin = fake\nhost = e\n");
    config_opts o = {.config_path = "gpcheck.ini", .env = "staging"};
    ck_assert_int_eq(config_load(&cfg, &o, &d), -1);
    ck_assert_uint_eq(cfg.n_sections, 2); /* postgres, extra */
    ck_assert_int_eq(resolve(NULL), 0);   /* reported once, not again */
    ck_assert_diags("conf.d/staging/a.ini:1: [postgre] overlays no probe: "
                    "none of that name is defined outside the environment's "
                    "folder (did you mean 'postgres'?) (a probe defined here "
                    "needs 'plugin =')\n");
}
END_TEST

/* Where each interpolated variable came from, for --explain and list. */
START_TEST(var_sources)
{
    put("t.env", "# timeouts\nDB_TIMEOUT=600\nFROM_ENV=shadowed\n");
    put("gpcheck.ini", "[db]\nplugin = fake\nhost = ${FROM_ENV}\n"
                       "timeout = ${DB_TIMEOUT}\nmode = ${NOPE:-a}\n");
    setenv("FROM_ENV", "real", 1);
    const char *files[] = {"t.env"};
    config_opts o = {
        .config_path = "gpcheck.ini", .env_files = files, .n_env_files = 1};
    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    unsetenv("FROM_ENV");
    ck_assert_uint_eq(cfg.n_env_files, 1);
    ck_assert_str_eq(cfg.env_files[0], "t.env");

    const cfg_entry *e = entry("db", "timeout");
    ck_assert_uint_eq(e->n_vars, 1);
    ck_assert_str_eq(e->vars[0], "DB_TIMEOUT");
    const char *v;
    origin at;
    ck_assert_int_eq(config_var_source(&cfg, "DB_TIMEOUT", &v, &at), 2);
    ck_assert_str_eq(v, "600");
    ck_assert_str_eq(at.file, "t.env");
    ck_assert_int_eq(at.line, 2);
    setenv("FROM_ENV", "real", 1);
    ck_assert_int_eq(config_var_source(&cfg, "FROM_ENV", &v, NULL), 1);
    ck_assert_str_eq(v, "real");
    unsetenv("FROM_ENV");
    ck_assert_str_eq(entry("db", "mode")->vars[0], "NOPE");
    ck_assert_int_eq(config_var_source(&cfg, "NOPE", &v, NULL), 0);
    ck_assert_ptr_null(v);
    ck_assert_uint_eq(entry("db", "host")->n_vars, 1);
}
END_TEST

/* A timeout or warmup longer than the run's deadline: a warning where the
 * value was set, not an error. */
START_TEST(deadline_warnings)
{
    put("gpcheck.ini", "[gpcheck]\ndeadline = 2m\n[defaults]\nwarmup = 3m\n"
                       "[db]\nplugin = fake\nhost = h\ntimeout = 10m\n"
                       "[ok]\nplugin = fake\nhost = h\nwarmup = 1m\n");
    ck_assert_int_eq(load_main(), 0);
    ck_assert_int_eq(resolve(NULL), 0);
    ck_assert_uint_eq(d.n, 0);
    ck_assert_uint_eq(set.n, 2);
    ck_assert_diags(
        "gpcheck.ini:8: warning: probe 'db': timeout 10m00s is longer than "
        "the run's deadline 2m00s: an attempt may outlast the whole run\n"
        "gpcheck.ini:5: warning: probe 'db': warmup 3m00s (from [defaults]) "
        "is longer than the run's deadline 2m00s: the run ends before the "
        "warmup does\n");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* --env-file and interpolation                                              */

START_TEST(env_files)
{
    put("one.env", "# a comment\n"
                   "\n"
                   "export A=plain\n"
                   "B=\"say \\\"hi\\\"\\nnext \\\\ done\" # comment\n"
                   "C='single $x \\n'\n"
                   "  D =  spaced value   # trailing comment\n"
                   "GPCHECK_TEST_REAL=fromfile\n"
                   "E=first\n"
                   "F=\n"
                   "G=a#b\n");
    put("two.env", "E=second\n");
    put("gpcheck.ini", "[p]\n"
                       "plugin = fake\n"
                       "host = ${A}|${B}|${C}|${D}|${E}|${F:-f}|${G}\n"
                       "mode = ${GPCHECK_TEST_REAL}\n");
    setenv("GPCHECK_TEST_REAL", "real", 1);
    const char *files[] = {"one.env", "two.env"};
    config_opts o = {
        .config_path = "gpcheck.ini", .env_files = files, .n_env_files = 2};
    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    ck_assert_diags("");
    ck_assert_str_eq(entry("p", "host")->value,
                     "plain|say \"hi\"\nnext \\ done|single $x \\n|spaced "
                     "value|second|f|a#b");
    ck_assert_str_eq(entry("p", "mode")->value, "real");
    ck_assert_uint_eq(cfg.n_vars, 8);
}
END_TEST

START_TEST(env_file_errors)
{
    put("bad.env", "OK=1\n"
                   "NOEQUALS\n"
                   "1BAD=x\n"
                   "Q=\"unterminated\n"
                   "R='also\n"
                   "S=\"x\" junk\n"
                   "export\n");
    const char *files[] = {"bad.env", "missing.env"};
    config_opts o = {
        .config_path = "none.ini", .env_files = files, .n_env_files = 2};
    ck_assert_int_eq(config_load(&cfg, &o, &d), -1);
    ck_assert_diags("bad.env:2: expected KEY=VALUE\n"
                    "bad.env:3: expected KEY=VALUE\n"
                    "bad.env:4: unterminated double quote\n"
                    "bad.env:5: unterminated single quote\n"
                    "bad.env:6: unexpected text after the closing quote\n"
                    "bad.env:7: expected KEY=VALUE\n"
                    "missing.env: cannot open env file: No such file or "
                    "directory\n"
                    "none.ini: cannot open: No such file or directory\n");
}
END_TEST

/* Found by tests/fuzz (corpus/config/regress-control-chars-in-key): keys,
 * values and variables are quoted in messages, so each message is printed
 * as one line without control characters. */
START_TEST(messages_stay_one_line)
{
    put("nl.env", "NL=\"80\\nconf.d/forged.ini:1: all fine\"\n");
    put("gpcheck.ini", "[p]\n"
                       "plugin = fake\n"
                       "host = h\n"
                       "port = ${NL}\n"
                       "\x1b]0;title\x07 = 1\n");
    const char *files[] = {"nl.env"};
    config_opts o = {
        .config_path = "gpcheck.ini", .env_files = files, .n_env_files = 1};
    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    ck_assert_int_eq(resolve(NULL), -1);
    ck_assert_diags("gpcheck.ini:4: probe 'p': port: invalid integer '80 "
                    "conf.d/forged.ini:1: all fine'\n"
                    "gpcheck.ini:5: unknown key ' ]0;title ' in probe 'p'\n");
}
END_TEST

START_TEST(interpolation_everywhere)
{
    setenv("GPCHECK_TEST_HOST", "h.example", 1);
    setenv("GPCHECK_TEST_JOBS", "5", 1);
    unsetenv("GPCHECK_TEST_UNSET");
    put("gpcheck.ini", "[gpcheck]\n"
                       "jobs = ${GPCHECK_TEST_JOBS}\n"
                       "[${NOT_A_SECTION}]\n"
                       "[p]\n"
                       "plugin = fake\n"
                       "host = ${GPCHECK_TEST_HOST}\n"
                       "mode = ${GPCHECK_TEST_UNSET:?mode needed}\n"
                       "password = $ecret\n");
    put("conf.d/staging/p.ini", "[p]\n"
                                "port = ${GPCHECK_TEST_UNSET:-8080}\n");
    config_opts o = {.config_path = "gpcheck.ini", .env = "staging"};
    ck_assert_int_eq(config_load(&cfg, &o, &d), -1);
    ck_assert_diags(
        "gpcheck.ini:3: invalid section name '[${NOT_A_SECTION}]' (letters, "
        "digits, '_', '.' and '-' only)\n"
        "gpcheck.ini:7: probe 'p': mode: GPCHECK_TEST_UNSET: mode needed\n"
        "gpcheck.ini:8: probe 'p': password: lone '$' at column 1 (write "
        "'$$' for a literal '$')\n");
    ck_assert_uint_eq(cfg.jobs, 5);
    ck_assert_str_eq(entry("p", "host")->value, "h.example");
    ck_assert_str_eq(entry("p", "port")->value, "8080");
    ck_assert_ptr_null(entry("p", "mode")->value);

    /* a value lost to interpolation is not reported again */
    size_t before = d.n;
    ck_assert_int_eq(resolve(NULL), 0);
    ck_assert_uint_eq(d.n, before);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Validation                                                                */

START_TEST(validation_messages)
{
    setenv("GPCHECK_TEST_PIN", "hunter2", 1);
    put("gpcheck.ini", "[db]\n"                      /* 1 */
                       "plugin = fake\n"             /* 2 */
                       "host = h\n"                  /* 3 */
                       "timout = 5s\n"               /* 4 */
                       "delay = 5x\n"                /* 5 */
                       "port = 70000\n"              /* 6 */
                       "mode = c\n"                  /* 7 */
                       "after = nope\n"              /* 8 */
                       "wait = 2m\n"                 /* 9 */
                       "\n"                          /* 10 */
                       "[nohost]\n"                  /* 11 */
                       "plugin = fake\n"             /* 12 */
                       "\n"                          /* 13 */
                       "[noplugin]\n"                /* 14 */
                       "host = x\n"                  /* 15 */
                       "[badplug]\n"                 /* 16 */
                       "plugin = nope\n"             /* 17 */
                       "hots = x\n"                  /* 18: not reported */
                       "[slash]\n"                   /* 19 */
                       "plugin = ../evil\n"          /* 20 */
                       "[a]\n"                       /* 21 */
                       "plugin = fake\n"             /* 22 */
                       "host = x\n"                  /* 23 */
                       "after = b\n"                 /* 24 */
                       "[b]\n"                       /* 25 */
                       "plugin = fake\n"             /* 26 */
                       "host = x\n"                  /* 27 */
                       "after = a\n"                 /* 28 */
                       "[self]\n"                    /* 29 */
                       "plugin = fake\n"             /* 30 */
                       "host = x\n"                  /* 31 */
                       "after = self\n"              /* 32 */
                       "[secret]\n"                  /* 33 */
                       "plugin = fake\n"             /* 34 */
                       "host = x\n"                  /* 35 */
                       "pin = ${GPCHECK_TEST_PIN}\n" /* 36 */
                       "[types]\n"                   /* 37 */
                       "plugin = fake\n"             /* 38 */
                       "host = x\n"                  /* 39 */
                       "flag = maybe\n"              /* 40 */
                       "ratio = 120%\n"              /* 41 */
                       "names = x, w\n"              /* 42 */
                       "tags = ok, not ok\n"         /* 43 */
                       "group = g\n"                 /* 44 */
                       "hst = x\n"                   /* 45 */
                       "zzzzzz = 1\n");              /* 46 */
    ck_assert_int_eq(load_main(), 0);
    ck_assert_int_eq(resolve(NULL), -1);
    ck_assert_diags(
        "gpcheck.ini:4: unknown key 'timout' in probe 'db' (did you mean "
        "'timeout'?)\n"
        "gpcheck.ini:5: probe 'db': delay: unknown unit 'x' in '5x' (units: "
        "ms, s, m, h; e.g. 250ms, 45s, 1m30s)\n"
        "gpcheck.ini:6: probe 'db': port: '70000' is out of range "
        "(1..65535)\n"
        "gpcheck.ini:7: probe 'db': mode: 'c' is not one of: a, b\n"
        "gpcheck.ini:9: probe 'db': wait: '2m' is out of range "
        "(0ms..60000ms)\n"
        "gpcheck.ini:11: probe 'nohost': missing required option 'host'\n"
        "gpcheck.ini:14: probe 'noplugin': missing 'plugin ='\n"
        "gpcheck.ini:17: probe 'badplug': unknown plugin 'nope'\n"
        "gpcheck.ini:20: probe 'slash': invalid plugin name '../evil' (a "
        "bare name of a-z, 0-9, '_' and '-')\n"
        "gpcheck.ini:36: probe 'secret': pin: invalid value\n"
        "gpcheck.ini:40: probe 'types': flag: invalid boolean 'maybe' (use "
        "true/false, yes/no, on/off, 1/0)\n"
        "gpcheck.ini:41: probe 'types': ratio: percentage out of range "
        "(0..100) '120%'\n"
        "gpcheck.ini:42: probe 'types': names: 'w' is not one of: x, y, z\n"
        "gpcheck.ini:43: probe 'types': tags: invalid name 'not ok'\n"
        "gpcheck.ini:45: unknown key 'hst' in probe 'types' (did you mean "
        "'host'?)\n"
        "gpcheck.ini:46: unknown key 'zzzzzz' in probe 'types'\n"
        "gpcheck.ini:44: probe 'types': group: unknown group 'g' (define "
        "it with [group g])\n"
        "gpcheck.ini:8: probe 'db': after: unknown probe 'nope'\n"
        "gpcheck.ini:24: probe 'a': cycle in after: a -> b -> a\n"
        "gpcheck.ini:32: probe 'self': cycle in after: self -> self\n");
    ck_assert_uint_eq(d.n, 20);
    ck_assert_uint_eq(set.n, 0);
    ck_assert_ptr_null(set.probes);
}
END_TEST

/* GP_OPT_FAMILY: KEY.NAME members in order, each a metric (its unit from
 * the GP_OPT_METRICS list), thresholds on them and on the core's metrics;
 * every mistake at its FILE:LINE. */
START_TEST(option_families)
{
    put("gpcheck.ini", "[prom]\n"                                  /* 1 */
                       "plugin = family\n"                         /* 2 */
                       "query.vpc_utilisation = max(a) / max(b)\n" /* 3 */
                       "query.cpu = max(c)\n"                      /* 4 */
                       "units = vpc_utilisation:%\n"               /* 5 */
                       "fail_if = vpc_utilisation >= 80%, cpu > 0.9\n"
                       "warn_if = ready_after > 30s\n"); /* 7 */
    ck_assert_int_eq(load_main(), 0);
    ck_assert_int_eq(resolve(NULL), 0);
    const probe_def *p = &set.probes[0];
    const opt_value *q = probe_opt(p, "query");
    ck_assert_uint_eq(q->n_items, 2);
    ck_assert_str_eq(q->names[0], "vpc_utilisation");
    ck_assert_str_eq(q->items[0], "max(a) / max(b)");
    ck_assert_str_eq(q->names[1], "cpu");
    ck_assert_int_eq(q->item_at[1].line, 4);
    ck_assert_uint_eq(p->n_metrics, 3);
    ck_assert_str_eq(p->metrics[1].name, "vpc_utilisation");
    ck_assert_int_eq(p->metrics[1].unit, GP_UNIT_PERCENT);
    ck_assert_int_eq(p->metrics[2].unit, GP_UNIT_NONE);
    ck_assert_uint_eq(p->n_conds, 3);
    ck_assert_double_eq(p->conds[0].value, 80);
    ck_assert(threshold_is_core(p->conds[2].metric));
}
END_TEST

START_TEST(option_family_errors)
{
    put("gpcheck.ini", "[prom]\n"              /* 1 */
                       "plugin = family\n"     /* 2 */
                       "query = up\n"          /* 3 */
                       "query.Bad = up\n"      /* 4 */
                       "querry.cpu = up\n"     /* 5 */
                       "query.duration = up\n" /* 6 */
                       "query.series = up\n"   /* 7 */
                       "query.cpu = up\n"      /* 8 */
                       "fail_if = cpu > 80%\n" /* 9 */
                       "units = attempts\n"    /* 10 */
                       "[none]\n"              /* 11 */
                       "plugin = family\n"     /* 12 */
                       "host.x = 1\n");        /* 13 */
    ck_assert_int_eq(load_main(), 0);
    ck_assert_int_eq(resolve(NULL), -1);
    ck_assert_diags(
        "gpcheck.ini:4: probe 'prom': query.Bad: invalid name 'Bad' (want "
        "[a-z][a-z0-9_]*)\n"
        "gpcheck.ini:6: probe 'prom': query.duration: 'duration' is a "
        "metric the core measures; name the member otherwise\n"
        "gpcheck.ini:7: probe 'prom': query.series: 'series' is a metric "
        "the plugin declares already\n"
        "gpcheck.ini:10: probe 'prom': units: 'attempts' is a metric the "
        "core measures; name it otherwise\n"
        "gpcheck.ini:3: probe 'prom': 'query' is a family of options: set "
        "query.NAME = VALUE, one key per NAME\n"
        "gpcheck.ini:5: unknown key 'querry.cpu' in probe 'prom' (did you "
        "mean 'query.cpu'?)\n"
        "gpcheck.ini:9: probe 'prom': fail_if: '80%' does not fit "
        "metric 'cpu' (none): use a plain number\n"
        "gpcheck.ini:13: unknown key 'host.x' in probe 'none' (plugin "
        "'family' takes KEY.NAME keys for: query)\n"
        "gpcheck.ini:11: probe 'none': missing required option "
        "'query.NAME' (one or more)\n");
}
END_TEST

START_TEST(secrets_never_echoed)
{
    put("gpcheck.ini", "[s]\n"
                       "plugin = fake\n"
                       "host = x\n"
                       "pin = 12345\n");
    put("conf.d/a.ini", "[t]\n"
                        "plugin = fake\n"
                        "host = x\n"
                        "pin = s3cr3t\n");
    ck_assert_int_eq(load_main(), 0);
    ck_assert_int_eq(resolve(NULL), -1);
    char *all = diags();
    ck_assert_ptr_null(strstr(all, "12345"));
    ck_assert_ptr_null(strstr(all, "s3cr3t"));
    free(all);
    ck_assert_diags("gpcheck.ini:4: probe 's': pin: value out of range "
                    "(1..9999)\n"
                    "conf.d/a.ini:4: probe 't': pin: invalid value\n");
}
END_TEST

START_TEST(bad_plugin_default)
{
    put("gpcheck.ini", "[one]\nplugin = broken\n"
                       "[two]\nplugin = broken\n"
                       "[three]\nplugin = broken\ncount = 3\n");
    ck_assert_int_eq(load_main(), 0);
    ck_assert_int_eq(resolve(NULL), -1);
    ck_assert_diags("gpcheck: plugin 'broken': option 'count': bad default: "
                    "invalid integer 'eighty'\n");
}
END_TEST

START_TEST(option_values)
{
    put("gpcheck.ini", "[p]\n"
                       "plugin = fake\n"
                       "host = db.local\n"
                       "mode = b\n"
                       "wait = 0.5m\n"
                       "ratio = 12.5%\n"
                       "names = x , z\n"
                       "flag = yes\n"
                       "password = $$ecret\n");
    ck_assert_int_eq(load_main(), 0);
    int rc = resolve(NULL);
    ck_assert_diags("");
    ck_assert_int_eq(rc, 0);
    const probe_def *p = probe("p");
    ck_assert_ptr_eq(p->plugin, &fake_plugin);
    ck_assert_uint_eq(p->n_opts, fake_plugin.n_options);
    for (size_t i = 0; i < p->n_opts; i++)
        ck_assert_ptr_eq(p->opts[i].decl, &fake_options[i]);

    const opt_value *v = probe_opt(p, "host");
    ck_assert(v->set && v->has);
    ck_assert_str_eq(v->text, "db.local");
    assert_origin(v->at, "gpcheck.ini", 3);

    v = probe_opt(p, "port");
    ck_assert(!v->set && v->has);
    ck_assert_str_eq(v->text, "80");
    ck_assert_int_eq(v->i, 80);
    ck_assert_ptr_null(v->at.file);
    ck_assert_int_eq(v->at.line, 0);

    ck_assert_int_eq(probe_opt(p, "wait")->i, 30000);
    ck_assert_double_eq(probe_opt(p, "ratio")->pct, 12.5);
    ck_assert_int_eq(probe_opt(p, "flag")->i, 1);
    ck_assert_str_eq(probe_opt(p, "mode")->text, "b");
    ck_assert_str_eq(probe_opt(p, "password")->text, "$ecret");
    v = probe_opt(p, "names");
    ck_assert_uint_eq(v->n_items, 2);
    ck_assert_str_eq(v->items[0], "x");
    ck_assert_str_eq(v->items[1], "z");

    v = probe_opt(p, "pin");
    ck_assert(!v->set && !v->has);
    ck_assert_ptr_null(v->text);
    ck_assert_ptr_null(probe_opt(p, "nope"));
}
END_TEST

START_TEST(policy_values)
{
    put("gpcheck.ini", "[defaults]\n"
                       "timeout = 2s\n"
                       "attempts = 5\n"
                       "backoff = fixed\n"
                       "jitter = 25%\n"
                       "severity = optional\n"
                       "[plain]\n"
                       "plugin = fake\n"
                       "host = x\n"
                       "[tuned]\n"
                       "plugin = fake\n"
                       "host = x\n"
                       "timeout = 750ms\n"
                       "warmup = 1m\n"
                       "warmup_interval = 500ms\n"
                       "delay = 2s\n"
                       "max_delay = 1m30s\n"
                       "success_threshold = 2\n"
                       "backoff = exponential\n"
                       "severity = required\n"
                       "jitter = 0%\n"
                       "tags = a, b.c\n");
    ck_assert_int_eq(load_main(), 0);
    ck_assert_int_eq(resolve(NULL), 0);

    const policy *p = &probe("plain")->pol;
    ck_assert_int_eq(p->timeout_ms, 2000);
    ck_assert_int_eq(p->warmup_ms, 0);
    ck_assert_int_eq(p->warmup_interval_ms, 0); /* auto */
    ck_assert_uint_eq(p->attempts, 5);
    ck_assert_int_eq(p->delay_ms, 1000);
    ck_assert_int_eq(p->backoff, BACKOFF_FIXED);
    ck_assert_int_eq(p->max_delay_ms, 30000);
    ck_assert_double_eq_tol(p->jitter, 0.25, 1e-12);
    ck_assert_uint_eq(p->success_threshold, 1);
    ck_assert_int_eq(p->severity, SEV_OPTIONAL);
    ck_assert_uint_eq(probe("plain")->n_tags, 0);

    const probe_def *t = probe("tuned");
    p = &t->pol;
    ck_assert_int_eq(p->timeout_ms, 750);
    ck_assert_int_eq(p->warmup_ms, 60000);
    ck_assert_int_eq(p->warmup_interval_ms, 500);
    ck_assert_uint_eq(p->attempts, 5);
    ck_assert_int_eq(p->delay_ms, 2000);
    ck_assert_int_eq(p->backoff, BACKOFF_EXPONENTIAL);
    ck_assert_int_eq(p->max_delay_ms, 90000);
    ck_assert_double_eq(p->jitter, 0.0);
    ck_assert_uint_eq(p->success_threshold, 2);
    ck_assert_int_eq(p->severity, SEV_REQUIRED);
    ck_assert_uint_eq(t->n_tags, 2);
    ck_assert_str_eq(t->tags[0], "a");
    ck_assert_str_eq(t->tags[1], "b.c");
    assert_origin(t->at, "gpcheck.ini", 10);
}
END_TEST

START_TEST(policy_builtin_defaults)
{
    policy p;
    memset(&p, 0xff, sizeof p);
    policy_init(&p);
    ck_assert_int_eq(p.timeout_ms, 5000);
    ck_assert_int_eq(p.warmup_ms, 0);
    ck_assert_int_eq(p.warmup_interval_ms, 0); /* auto */
    ck_assert_uint_eq(p.attempts, 3);
    ck_assert_int_eq(p.delay_ms, 1000);
    ck_assert_int_eq(p.backoff, BACKOFF_EXPONENTIAL);
    ck_assert_int_eq(p.max_delay_ms, 30000);
    ck_assert_double_eq_tol(p.jitter, 0.10, 1e-12);
    ck_assert_uint_eq(p.success_threshold, 1);
    ck_assert_int_eq(p.severity, SEV_REQUIRED);
}
END_TEST

START_TEST(policy_errors)
{
    put("gpcheck.ini", "[p]\n"
                       "plugin = fake\n"
                       "host = x\n"
                       "timeout = 0s\n"
                       "warmup_interval = 0\n"
                       "attempts = 0\n"
                       "success_threshold = -1\n"
                       "backoff = linear\n"
                       "severity = maybe\n"
                       "jitter = 150%\n"
                       "max_delay = forever\n");
    ck_assert_int_eq(load_main(), 0);
    ck_assert_int_eq(resolve(NULL), -1);
    ck_assert_diags(
        "gpcheck.ini:4: probe 'p': timeout: must be greater than 0\n"
        "gpcheck.ini:5: probe 'p': warmup_interval: must be greater than 0 (or "
        "auto)\n"
        "gpcheck.ini:6: probe 'p': attempts: must be between 1 and "
        "4294967295\n"
        "gpcheck.ini:7: probe 'p': success_threshold: must be between 1 and "
        "4294967295\n"
        "gpcheck.ini:8: probe 'p': backoff: invalid value 'linear' "
        "(expected fixed or exponential)\n"
        "gpcheck.ini:9: probe 'p': severity: invalid value 'maybe' "
        "(expected required or optional)\n"
        "gpcheck.ini:10: probe 'p': jitter: percentage out of range "
        "(0..100) '150%'\n"
        "gpcheck.ini:11: probe 'p': max_delay: invalid duration "
        "'forever' (units: ms, s, m, h; e.g. 250ms, 45s, 1m30s)\n");
}
END_TEST

START_TEST(policy_key_list)
{
    static const char *const yes[] = {
        "plugin",   "timeout",
        "warmup",   "warmup_interval",
        "attempts", "delay",
        "backoff",  "max_delay",
        "jitter",   "success_threshold",
        "severity", "tags",
        "after",    "envs",
        "group",    "warn_if",
        "fail_if",  "retry_on_threshold",
    };
    for (size_t i = 0; i < ARRAY_LEN(yes); i++)
        ck_assert_msg(policy_is_reserved(yes[i]), "%s", yes[i]);
    ck_assert(!policy_is_reserved("host"));
    ck_assert(!policy_is_reserved("Timeout"));
    ck_assert(!policy_is_reserved(""));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* envs, after, selection                                                    */

START_TEST(envs_filtering)
{
    put("gpcheck.ini", "[p1]\nplugin = fake\nhost = x\nenvs = prod\n"
                       "[p2]\nplugin = fake\nhost = x\nenvs = staging, prod\n"
                       "[p3]\nplugin = fake\nhost = x\n"
                       "[p4]\nplugin = fake\nhost = x\nenvs = prod\n"
                       "after = p2\n"
                       "[p5]\nplugin = fake\nhost = x\nafter = p1, p2\n");
    config_opts o = {.config_path = "gpcheck.ini", .env = "staging"};
    ck_assert_int_eq(config_load(&cfg, &o, &d), 0);
    ck_assert_int_eq(resolve(NULL), 0);
    ck_assert_names("p2 p3 p5");
    /* the edge to p1, absent in staging, is dropped */
    ck_assert_uint_eq(probe("p5")->n_after, 1);
    ck_assert_uint_eq(probe("p5")->after[0], 0);
    probe_set_free(&set);

    const char *want[] = {"p1"};
    selection sel = {.names = want, .n_names = 1};
    ck_assert_int_eq(resolve(&sel), -1);
    ck_assert_diags("gpcheck: no probe named 'p1' in environment 'staging'\n");
}
END_TEST

START_TEST(envs_excluded_still_checked)
{
    put("gpcheck.ini", "[p1]\nplugin = fake\nhost = x\nenvs = prod\n"
                       "port = many\n"
                       "[p2]\nplugin = fake\nenvs = prod, bad/env\n");
    ck_assert_int_eq(load_main(), 0);
    ck_assert_int_eq(resolve(NULL), -1);
    ck_assert_diags("gpcheck.ini:5: probe 'p1': port: invalid integer "
                    "'many'\n"
                    "gpcheck.ini:8: probe 'p2': envs: invalid name 'bad/env'\n"
                    "gpcheck.ini:6: probe 'p2': missing required option "
                    "'host'\n");
}
END_TEST

static void write_graph(void)
{
    put("gpcheck.ini", "[db]\nplugin = fake\nhost = x\ntags = data\n"
                       "[cache]\nplugin = fake\nhost = x\ntags = cache\n"
                       "after = db\n"
                       "[web]\nplugin = fake\nhost = x\ntags = front, slow\n"
                       "after = cache, db\n"
                       "[lone]\nplugin = fake\nhost = x\ntags = slow\n");
    ck_assert_int_eq(load_main(), 0);
}

START_TEST(select_all)
{
    write_graph();
    ck_assert_int_eq(resolve(NULL), 0);
    ck_assert_names("db cache web lone");
    const probe_def *web = probe("web");
    ck_assert_uint_eq(web->n_after, 2);
    ck_assert_uint_eq(web->after[0], 1);
    ck_assert_uint_eq(web->after[1], 0);
}
END_TEST

START_TEST(select_probe_pulls_deps)
{
    write_graph();
    const char *want[] = {"web"};
    selection sel = {.names = want, .n_names = 1};
    ck_assert_int_eq(resolve(&sel), 0);
    ck_assert_names("db cache web");
    ck_assert_uint_eq(probe("cache")->n_after, 1);
    ck_assert_uint_eq(probe("cache")->after[0], 0);
    ck_assert_uint_eq(probe("web")->after[0], 1);
}
END_TEST

START_TEST(select_tag)
{
    write_graph();
    const char *tags[] = {"cache", "nosuchtag"};
    selection sel = {.tags = tags, .n_tags = 2};
    ck_assert_int_eq(resolve(&sel), 0);
    ck_assert_names("db cache");
    probe_set_free(&set);

    const char *both[] = {"lone"};
    const char *tag[] = {"data"};
    selection sel2 = {.names = both, .n_names = 1, .tags = tag, .n_tags = 1};
    ck_assert_int_eq(resolve(&sel2), 0);
    ck_assert_names("db lone");
}
END_TEST

START_TEST(select_skip_tag)
{
    write_graph();
    const char *want[] = {"web"};
    const char *skip[] = {"data"};
    selection sel = {
        .names = want, .n_names = 1, .skip_tags = skip, .n_skip_tags = 1};
    ck_assert_int_eq(resolve(&sel), 0);
    ck_assert_names("cache web");
    /* the edges to the skipped db are gone */
    ck_assert_uint_eq(probe("cache")->n_after, 0);
    ck_assert_uint_eq(probe("web")->n_after, 1);
    ck_assert_uint_eq(probe("web")->after[0], 0);
    probe_set_free(&set);

    const char *slow[] = {"slow"};
    selection sel2 = {.skip_tags = slow, .n_skip_tags = 1};
    ck_assert_int_eq(resolve(&sel2), 0);
    ck_assert_names("db cache");
}
END_TEST

START_TEST(after_invalid_name)
{
    put("gpcheck.ini", "[p]\nplugin = fake\nhost = x\nafter = a b, p\n");
    ck_assert_int_eq(load_main(), 0);
    ck_assert_int_eq(resolve(NULL), -1);
    /* once, not again as an unknown probe; and no cycle through p */
    ck_assert_diags("gpcheck.ini:4: probe 'p': after: invalid name 'a b'\n");
}
END_TEST

START_TEST(select_unknown)
{
    write_graph();
    const char *want[] = {"web", "ghost", "phantom"};
    selection sel = {.names = want, .n_names = 3};
    ck_assert_int_eq(resolve(&sel), -1);
    ck_assert_uint_eq(set.n, 0);
    ck_assert_diags("gpcheck: no probe named 'ghost' in environment "
                    "'default'\n"
                    "gpcheck: no probe named 'phantom' in environment "
                    "'default'\n");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The command line probe                                                    */

START_TEST(cli_probe)
{
    char *kv[] = {"host=${NOT_EXPANDED}", "port=81", "wait= 2s"};
    ck_assert_int_eq(config_add_cli_probe(&cfg, "p", "fake", kv, 3, &d), 0);
    ck_assert_int_eq(resolve(NULL), 0);
    ck_assert_diags("");
    const probe_def *p = probe("p");
    ck_assert_str_eq(probe_opt(p, "host")->text, "${NOT_EXPANDED}");
    assert_origin(probe_opt(p, "host")->at, "command line", 1);
    ck_assert_int_eq(probe_opt(p, "port")->i, 81);
    assert_origin(probe_opt(p, "port")->at, "command line", 2);
    ck_assert_int_eq(probe_opt(p, "wait")->i, 2000);
    ck_assert_int_eq(p->pol.timeout_ms, 5000);
}
END_TEST

START_TEST(cli_probe_errors)
{
    char *kv[] = {"port=x", "novalue", " =1", "port=2", "timout=1s"};
    ck_assert_int_eq(config_add_cli_probe(&cfg, "p", "fake", kv, 5, &d), -1);
    ck_assert_int_eq(resolve(NULL), -1);
    ck_assert_diags("command line: argument 2: expected KEY=VALUE\n"
                    "command line: argument 3: expected KEY=VALUE\n"
                    "command line:4: duplicate key 'port' (first at command "
                    "line:1)\n"
                    "command line:1: probe 'p': port: invalid integer 'x'\n"
                    "command line:5: unknown key 'timout' in probe 'p' (did "
                    "you mean 'timeout'?)\n"
                    "command line: probe 'p': missing required option "
                    "'host'\n");
}
END_TEST

/* ------------------------------------------------------------------------ */

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, overlay_merge);
    tcase_add_test(tc, many_keys_grow_in_place_and_in_overlay);
    tcase_add_test(tc, overlay_other_env_not_read);
    tcase_add_test(tc, conf_d_lexical_order);
    tcase_add_test(tc, conf_d_entry_not_a_file);
    tcase_add_test(tc, duplicates);
    tcase_add_test(tc, reserved_sections);
    tcase_add_test(tc, syntax_errors_all_reported);
    tcase_add_test(tc, bom_and_crlf);
    tcase_add_test(tc, main_file_discovery);
    tcase_add_test(tc, no_main_file);
    tcase_add_test(tc, conf_dir_choices);
    suite_add_tcase(s, tc);

    tc = tcase_create("settings");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, gpcheck_section);
    tcase_add_test(tc, gpcheck_section_errors);
    tcase_add_test(tc, env_precedence);
    tcase_add_test(tc, env_name_errors);
    tcase_add_test(tc, did_you_mean_transpositions);
    tcase_add_test(tc, env_unknown);
    tcase_add_test(tc, overlay_matches_no_probe);
    tcase_add_test(tc, var_sources);
    tcase_add_test(tc, deadline_warnings);
    tcase_add_test(tc, env_files);
    tcase_add_test(tc, env_file_errors);
    tcase_add_test(tc, messages_stay_one_line);
    tcase_add_test(tc, interpolation_everywhere);
    suite_add_tcase(s, tc);

    tc = tcase_create("validation");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, validation_messages);
    tcase_add_test(tc, option_families);
    tcase_add_test(tc, option_family_errors);
    tcase_add_test(tc, secrets_never_echoed);
    tcase_add_test(tc, bad_plugin_default);
    tcase_add_test(tc, option_values);
    tcase_add_test(tc, policy_values);
    tcase_add_test(tc, policy_builtin_defaults);
    tcase_add_test(tc, policy_errors);
    tcase_add_test(tc, policy_key_list);
    suite_add_tcase(s, tc);

    tc = tcase_create("selection");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, envs_filtering);
    tcase_add_test(tc, envs_excluded_still_checked);
    tcase_add_test(tc, select_all);
    tcase_add_test(tc, select_probe_pulls_deps);
    tcase_add_test(tc, select_tag);
    tcase_add_test(tc, select_skip_tag);
    tcase_add_test(tc, select_unknown);
    tcase_add_test(tc, after_invalid_name);
    tcase_add_test(tc, cli_probe);
    tcase_add_test(tc, cli_probe_errors);
    suite_add_tcase(s, tc);
    return s;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(void)
{
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    int rc = unit_run(config_suite());
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
