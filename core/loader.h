/*
 * core/loader.h - finding, checking and loading probe plugins.
 *
 * A plugin is NAME.so in one of the search directories, in this order:
 * every --plugin-dir, $GPCHECK_PLUGIN_PATH (colon-separated), plugin_path
 * of [gpcheck], the build tree's plugin folder (only when this binary runs
 * from its build tree), then the installed <libdir>/gpcheck/plugins, found
 * relative to the executable when it was moved (core/paths.h).
 *
 * Before dlopen the file is opened and the open descriptor checked: a
 * regular file owned by root or the current user, not group- or
 * world-writable, in a directory that is not group- or world-writable. The
 * same descriptor is then loaded through /proc/self/fd/N, RTLD_NOW |
 * RTLD_LOCAL, so the file checked is the file loaded. The descriptor's ABI
 * version, size and schemas are checked before the plugin is used.
 */
#ifndef GP_CORE_LOADER_H
#define GP_CORE_LOADER_H

#include <stddef.h>

#include "gpcheck/plugin.h"

typedef struct plugin {
    char *name;   /* owned */
    char *path;   /* owned; the file as found */
    void *handle; /* dlopen handle; NULL for built-in test fakes */
    int fd;       /* the checked descriptor it was loaded from, owned by the
                     loader; meaningless when handle is NULL */
    const gp_plugin *desc; /* owned by the plugin, valid while loaded */
    size_t n_options;      /* entries in desc->options before the NULL key */
    size_t n_metrics;
} plugin;

typedef struct loader {
    char **dirs; /* owned search path, in order */
    size_t n_dirs, cap_dirs;
    plugin **loaded; /* owned; each plugin loaded at most once */
    size_t n_loaded, cap_loaded;
    /* Every descriptor passed to dlopen stays open until loader_free:
     * glibc knows each object by its name /proc/self/fd/N, and a reused N
     * would make a later dlopen return an earlier plugin. */
    int *fds;
    size_t n_fds, cap_fds;
} loader;

/* Append a search directory (copied). */
void loader_add_dir(loader *l, const char *dir);
/* Append each element of a colon-separated path (empty elements ignored). */
void loader_add_path(loader *l, const char *colon_path);
/* Append the build-tree folder (when run from the build tree) and the
 * installed folder. Call after every other source. */
void loader_add_default_dirs(loader *l);

/*
 * Find and load plugin NAME (a bare name, [a-z0-9_-]+). Returns the plugin
 * (owned by the loader, valid until loader_free) or NULL with a reason in
 * err naming the file and the problem.
 */
const plugin *loader_get(loader *l, const char *name, char *err, size_t errlen);
/*
 * Load a plugin from an explicit file path (for `gpcheck probe ./my.so`),
 * under the same file-safety checks. Same return convention.
 */
const plugin *loader_get_path(loader *l, const char *path, char *err,
                              size_t errlen);
/*
 * Load the plugin file open at fd, which another gpcheck process (the
 * supervisor) found and checked as the file at path: the spawner's copy
 * of that plugin (core/spawner.h). Takes fd. Same return convention.
 */
const plugin *loader_adopt(loader *l, int fd, const char *path,
                           const char *name, char *err, size_t errlen);
/*
 * Names of every NAME.so in the search path (first occurrence wins),
 * sorted; newly allocated array of newly allocated strings.
 */
size_t loader_list(const loader *l, char ***names);

/*
 * Does plugin p need, directly or through its libraries, a shared library
 * whose soname starts with `prefix` ("libcrypto.so")? 0 for built-in test
 * fakes. Used to set up such a library once before attempts fork.
 */
int loader_depends_on(const plugin *p, const char *prefix);

/*
 * Warm the libraries these plugins depend on, in the process that forks
 * their attempts, before the first fork: the global set-up of libcurl
 * (curl_global_init) when one of them links it, else of OpenSSL
 * (OPENSSL_init_ssl, else OPENSSL_init_crypto, loading openssl.cnf and the
 * providers: ~2.7 M instructions) when one needs libssl or libcrypto. Each
 * is called through dlsym() in the plugin's own libraries, so the
 * executable links none of them. The attempts then inherit it instead of
 * each doing it on the run's critical path; the plugins' own
 * curl_global_init() only counts a reference, and a set-up that fails
 * here is redone (and reported) by the attempt. Repeats (duplicates in
 * plugins[], NULL entries, built-in fakes) are skipped. Returns what it
 * set up: LOADER_WARM_CURL, _SSL or _CRYPTO, or 0 (tcp, dns, redis).
 */
enum { LOADER_WARM_CURL = 1, LOADER_WARM_SSL = 2, LOADER_WARM_CRYPTO = 4 };
unsigned loader_warm(const plugin *const *plugins, size_t n);

/* Free everything; with unload, dlclose every plugin too. gpcheck about
 * to exit passes 0: exit runs the libraries' destructors and unmaps them
 * anyway, and unloading libcurl's chain first was 1 ms of every run
 * (munmap VMA by VMA; 5.7 % of `validate`'s samples on the golden path). */
void loader_free(loader *l, int unload);

#endif
