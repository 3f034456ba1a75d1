/*
 * core/paths.c - the plugin and configuration folders of the running
 * executable: configured, build tree, or relative to a relocated
 * executable (see paths.h for the rule).
 */
#include "paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef GP_PLUGINDIR
#define GP_PLUGINDIR "/usr/local/lib/gpcheck/plugins"
#endif
#ifndef GP_SYSCONFDIR
#define GP_SYSCONFDIR "/usr/local/etc"
#endif
#ifndef GP_BINDIR
#define GP_BINDIR "/usr/local/bin"
#endif
#ifndef GP_BIN_TO_PLUGINDIR
#define GP_BIN_TO_PLUGINDIR "../lib/gpcheck/plugins"
#endif
#ifndef GP_BIN_TO_SYSCONFDIR
#define GP_BIN_TO_SYSCONFDIR "../etc"
#endif

static struct {
    int done;
    char plugindir[PATH_MAX];
    char sysconfdir[PATH_MAX];
    char build_plugindir[PATH_MAX]; /* "" unless run from the build tree */
} here;

/* dir joined with rel, each leading "../" of rel taking the last component
 * off dir, so that the folders read as plainly as the configured ones. An
 * absolute rel (an absolute GNUInstallDirs value, /etc) is itself. */
static void join_up(char *out, size_t n, const char *dir, const char *rel)
{
    if (rel[0] == '/') {
        snprintf(out, n, "%s", rel);
        return;
    }
    size_t len = strlen(dir);
    while (strncmp(rel, "../", 3) == 0 || strcmp(rel, "..") == 0) {
        while (len > 1 && dir[len - 1] != '/')
            len--;
        if (len > 1)
            len--; /* the slash, unless it is the root */
        rel += rel[2] ? 3 : 2;
    }
    int root = len == 1 && dir[0] == '/';
    snprintf(out, n, "%.*s%s%s", root ? 0 : (int)len, dir,
             *rel || root ? "/" : "", rel);
}

/* Whether the folder `dir` (canonical) is `configured` (maybe not). */
static int same_dir(const char *dir, const char *configured)
{
    char real[PATH_MAX];
    return realpath(configured, real) && strcmp(real, dir) == 0;
}

static void paths_init(void)
{
    if (here.done)
        return;
    here.done = 1;
    snprintf(here.plugindir, sizeof here.plugindir, "%s", GP_PLUGINDIR);
    snprintf(here.sysconfdir, sizeof here.sysconfdir, "%s", GP_SYSCONFDIR);
    /* The kernel's name of the executable: symlinks resolved. */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? memrchr(exe, '/', (size_t)n) : NULL;
    if (!slash)
        return; /* no /proc: the configured folders */
    *slash = '\0';
    if (slash == exe)
        snprintf(exe, sizeof exe, "/");
    if (same_dir(exe, GP_BINDIR))
        return;
#ifdef GP_BUILD_DIR
    if (same_dir(exe, GP_BUILD_DIR)) {
        snprintf(here.build_plugindir, sizeof here.build_plugindir,
                 "%s/plugins", GP_BUILD_DIR);
        return;
    }
#endif
    join_up(here.plugindir, sizeof here.plugindir, exe, GP_BIN_TO_PLUGINDIR);
    join_up(here.sysconfdir, sizeof here.sysconfdir, exe, GP_BIN_TO_SYSCONFDIR);
}

const char *paths_plugindir(void)
{
    paths_init();
    return here.plugindir;
}

const char *paths_sysconfdir(void)
{
    paths_init();
    return here.sysconfdir;
}

const char *paths_build_plugindir(void)
{
    paths_init();
    return here.build_plugindir[0] ? here.build_plugindir : NULL;
}
