/*
 * core/loader.c - finds NAME.so on the search path, checks the file and
 * its directory before loading, loads the checked descriptor itself, and
 * validates the plugin's ABI version and declared schemas (core/schema.c);
 * and warms the libraries a set of plugins depends on (loader_warm).
 */
#include "loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "config.h"
#include "paths.h"
#include "schema.h"
#include "util.h"

void loader_add_dir(loader *l, const char *dir)
{
    for (size_t i = 0; i < l->n_dirs; i++)
        if (strcmp(l->dirs[i], dir) == 0)
            return;
    xgrow(&l->dirs, &l->cap_dirs, l->n_dirs + 1, sizeof *l->dirs);
    l->dirs[l->n_dirs++] = xstrdup(dir);
}

void loader_add_path(loader *l, const char *colon_path)
{
    const char *p = colon_path;
    while (p && *p) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n) {
            char *dir = xstrndup(p, n);
            loader_add_dir(l, dir);
            free(dir);
        }
        p = end ? end + 1 : NULL;
    }
}

void loader_add_default_dirs(loader *l)
{
    if (paths_build_plugindir())
        loader_add_dir(l, paths_build_plugindir());
    loader_add_dir(l, paths_plugindir());
}

/* Check a descriptor (ABI version, size, name, schema) and fill
 * n_options / n_metrics. Returns 0 or -1 with a reason in err. */
static int check_desc(plugin *p, const char *expect_name, char *err,
                      size_t errlen)
{
    char why[256];
    if (schema_check_desc(p->desc, expect_name, &p->n_options, &p->n_metrics,
                          why, sizeof why) < 0) {
        snprintf(err, errlen, "%s: %s", p->path, why);
        return -1;
    }
    return 0;
}

/* Number of symbols in a dynamic symbol table, from its hash section. */
static size_t symbol_count(const ElfW(Dyn) * dyn)
{
    const Elf32_Word *hash = NULL, *gnu = NULL;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        if (dyn->d_tag == DT_HASH)
            hash = (const Elf32_Word *)dyn->d_un.d_ptr;
        else if (dyn->d_tag == DT_GNU_HASH)
            gnu = (const Elf32_Word *)dyn->d_un.d_ptr;
    }
    if (hash)
        return hash[1]; /* nchain */
    if (!gnu)
        return 0;
    /* GNU hash: the highest symbol index in any bucket's chain, + 1. */
    Elf32_Word nbuckets = gnu[0], symoffset = gnu[1], bloom = gnu[2];
    const Elf32_Word *buckets =
        gnu + 4 + bloom * (sizeof(ElfW(Addr)) / sizeof(Elf32_Word));
    const Elf32_Word *chain = buckets + nbuckets;
    Elf32_Word last = 0;
    for (Elf32_Word b = 0; b < nbuckets; b++)
        if (buckets[b] > last)
            last = buckets[b];
    if (last < symoffset)
        return symoffset;
    while (!(chain[last - symoffset] & 1))
        last++;
    return last + 1;
}

/*
 * The names a plugin exports besides gpcheck_plugin (version-node symbols
 * excepted), comma-separated, or an empty string. A plugin exports one
 * symbol: anything else is a build without the export map, and a leak.
 */
static char *extra_exports(void *handle)
{
    struct link_map *lm = NULL;
    strbuf sb = {0};
    if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || !lm)
        return sb_take(&sb);
    const ElfW(Sym) *syms = NULL;
    const char *strtab = NULL;
    for (const ElfW(Dyn) *d = lm->l_ld; d->d_tag != DT_NULL; d++) {
        if (d->d_tag == DT_SYMTAB)
            syms = (const ElfW(Sym) *)d->d_un.d_ptr;
        else if (d->d_tag == DT_STRTAB)
            strtab = (const char *)d->d_un.d_ptr;
    }
    size_t n = syms && strtab ? symbol_count(lm->l_ld) : 0;
    for (size_t i = 1; i < n; i++) {
        const ElfW(Sym) *sym = &syms[i];
        int bind = ELF64_ST_BIND(sym->st_info);
        if (sym->st_shndx == SHN_UNDEF || sym->st_shndx == SHN_ABS ||
            (bind != STB_GLOBAL && bind != STB_WEAK))
            continue;
        const char *name = strtab + sym->st_name;
        if (strcmp(name, GP_PLUGIN_SYMBOL) == 0)
            continue;
        if (sb.len < 200)
            sb_appendf(&sb, "%s%s", sb.len ? ", " : "", name);
        else if (!strstr(sb_str(&sb), "..."))
            sb_append(&sb, ", ...");
    }
    return sb_take(&sb);
}

/*
 * Could anyone but root or us replace what lies under `dir` (a path with
 * no symlinks)? As OpenSSH's safe_path() and sudo do, every folder from
 * dir up to / must be owned by root or the running user and writable by
 * no group or other. One exception, for /tmp and its kind: a folder above
 * the plugin's own may be world-writable when it is sticky and owned by
 * root, since nobody else can then rename or remove what we own in it.
 * The plugin's own folder never may (anyone could drop a NAME.so there).
 * Returns 0, or -1 with the folder and the reason in err.
 */
static int check_folders(const char *path, const char *dir,
                         const char *own_name, char *err, size_t errlen)
{
    char *d = xstrdup(dir);
    int rc = 0;
    for (int own = 1;; own = 0) {
        struct stat st;
        const char *why = NULL;
        char owner[48];
        if (lstat(d, &st) < 0) {
            why = strerror(errno);
        } else if (!S_ISDIR(st.st_mode)) {
            why = "not a directory (changed while being checked?)";
        } else if (st.st_uid != 0 && st.st_uid != geteuid()) {
            snprintf(owner, sizeof owner, "owned by another user (uid %u)",
                     (unsigned)st.st_uid);
            why = owner;
        } else if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
                   (own || !(st.st_mode & S_ISVTX) || st.st_uid != 0)) {
            why = own ? "group- or world-writable"
                      : "group- or world-writable (and not a sticky "
                        "directory of root's)";
        }
        if (why) {
            snprintf(err, errlen, "%s: refusing to load: %s %s is %s", path,
                     own ? own_name : "the directory", d, why);
            rc = -1;
            break;
        }
        if (strcmp(d, "/") == 0)
            break;
        char *up = path_dir(d);
        free(d);
        d = up;
    }
    free(d);
    return rc;
}

/* Refuse a file anyone but root or us could have written or swapped: the
 * file (as opened), the folders leading to it as found, and the folders
 * leading to the real file when it was reached through a symlink. */
static int check_file(int fd, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    const char *why = NULL;
    if (!S_ISREG(st.st_mode))
        why = "not a regular file";
    else if (st.st_uid != 0 && st.st_uid != geteuid())
        why = "owned by another user";
    else if (st.st_mode & (S_IWGRP | S_IWOTH))
        why = "group- or world-writable";
    if (why) {
        snprintf(err, errlen, "%s: refusing to load: %s", path, why);
        return -1;
    }

    char *real = realpath(path, NULL);
    struct stat rst;
    if (!real || stat(real, &rst) < 0 || rst.st_dev != st.st_dev ||
        rst.st_ino != st.st_ino) {
        snprintf(err, errlen, "%s: refusing to load: %s", path,
                 real ? "it changed while being checked" : strerror(errno));
        free(real);
        return -1;
    }
    char *found = path_dir(path);
    char *found_real = realpath(found, NULL);
    char *real_dir = path_dir(real);
    int rc;
    if (!found_real) {
        snprintf(err, errlen, "%s: %s: %s", path, found, strerror(errno));
        rc = -1;
    } else {
        rc = check_folders(path, found_real, "its directory", err, errlen);
        if (rc == 0 && strcmp(found_real, real_dir) != 0)
            rc = check_folders(path, real_dir, "the directory of its target",
                               err, errlen);
    }
    free(found_real);
    free(found);
    free(real_dir);
    free(real);
    return rc;
}

static const plugin *load_fd(loader *l, int fd, const char *path,
                             const char *expect_name, char *err, size_t errlen);

static const plugin *load_file(loader *l, const char *path,
                               const char *expect_name, char *err,
                               size_t errlen)
{
    for (size_t i = 0; i < l->n_loaded; i++)
        if (strcmp(l->loaded[i]->path, path) == 0)
            return l->loaded[i];

    /* O_NONBLOCK: a FIFO named x.so must not hang the open; fstat in
     * check_file() then refuses it before anything reads it. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (check_file(fd, path, err, errlen) < 0) {
        close(fd);
        return NULL;
    }
    return load_fd(l, fd, path, expect_name, err, errlen);
}

/* Load the checked descriptor fd (kept open by the loader from now on). */
static const plugin *load_fd(loader *l, int fd, const char *path,
                             const char *expect_name, char *err, size_t errlen)
{
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
    void *h = dlopen(fdpath, RTLD_NOW | RTLD_LOCAL);
    xgrow(&l->fds, &l->cap_fds, l->n_fds + 1, sizeof *l->fds);
    l->fds[l->n_fds++] = fd;
    if (!h) {
        const char *e = dlerror();
        snprintf(err, errlen, "%s: cannot load: %s", path, e ? e : "?");
        return NULL;
    }
    dlerror();
    gp_entry_fn entry;
    *(void **)&entry = dlsym(h, GP_PLUGIN_SYMBOL);
    if (!entry) {
        snprintf(err, errlen,
                 "%s: not a gpcheck plugin: no '%s' symbol exported", path,
                 GP_PLUGIN_SYMBOL);
        dlclose(h);
        return NULL;
    }
    char *extra = extra_exports(h);
    if (*extra) {
        snprintf(err, errlen,
                 "%s: exports more than %s (%s): build it with "
                 "-fvisibility=hidden and the export map plugin.map",
                 path, GP_PLUGIN_SYMBOL, extra);
        free(extra);
        dlclose(h);
        return NULL;
    }
    free(extra);
    plugin *p = xcalloc(1, sizeof *p);
    p->path = xstrdup(path);
    p->handle = h;
    p->fd = fd;
    p->desc = entry();
    if (check_desc(p, expect_name, err, errlen) < 0) {
        dlclose(h);
        free(p->path);
        free(p);
        return NULL;
    }
    p->name = xstrdup(p->desc->name);
    xgrow(&l->loaded, &l->cap_loaded, l->n_loaded + 1, sizeof *l->loaded);
    l->loaded[l->n_loaded++] = p;
    return p;
}

const plugin *loader_get(loader *l, const char *name, char *err, size_t errlen)
{
    if (!schema_valid_plugin_name(name)) {
        snprintf(err, errlen,
                 "invalid plugin name '%s' (a bare name of [a-z0-9_-])", name);
        return NULL;
    }
    for (size_t i = 0; i < l->n_loaded; i++)
        if (strcmp(l->loaded[i]->name, name) == 0)
            return l->loaded[i];
    for (size_t i = 0; i < l->n_dirs; i++) {
        char *path = xasprintf("%s/%s.so", l->dirs[i], name);
        if (access(path, F_OK) == 0) {
            const plugin *p = load_file(l, path, name, err, errlen);
            free(path);
            return p;
        }
        free(path);
    }
    strbuf sb = {0};
    for (size_t i = 0; i < l->n_dirs; i++)
        sb_appendf(&sb, "%s%s", i ? ":" : "", l->dirs[i]);
    char **names;
    size_t n = loader_list(l, &names);
    const char *near = config_did_you_mean(name, (const char *const *)names, n);
    snprintf(err, errlen, "unknown plugin '%s'%s%s%s (no %s.so in %s)", name,
             near ? " (did you mean '" : "", near ? near : "",
             near ? "'?)" : "", name,
             l->n_dirs ? sb_str(&sb) : "an empty search path");
    strv_free(names, n);
    sb_free(&sb);
    return NULL;
}

const plugin *loader_adopt(loader *l, int fd, const char *path,
                           const char *name, char *err, size_t errlen)
{
    for (size_t i = 0; i < l->n_loaded; i++) {
        if (strcmp(l->loaded[i]->path, path) == 0) {
            close(fd);
            return l->loaded[i];
        }
    }
    return load_fd(l, fd, path, name, err, errlen);
}

const plugin *loader_get_path(loader *l, const char *path, char *err,
                              size_t errlen)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n < 4 || strcmp(base + n - 3, ".so") != 0) {
        snprintf(err, errlen, "%s: a plugin file name ends in .so", path);
        return NULL;
    }
    char *name = xstrndup(base, n - 3);
    const plugin *p = load_file(l, path, name, err, errlen);
    free(name);
    return p;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t loader_list(const loader *l, char ***names)
{
    char **v = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < l->n_dirs; i++) {
        DIR *d = opendir(l->dirs[i]);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            size_t len = strlen(e->d_name);
            if (len < 4 || strcmp(e->d_name + len - 3, ".so") != 0)
                continue;
            char *name = xstrndup(e->d_name, len - 3);
            int dup = !schema_valid_plugin_name(name);
            for (size_t k = 0; k < n && !dup; k++)
                dup = strcmp(v[k], name) == 0;
            if (dup) {
                free(name);
                continue;
            }
            xgrow(&v, &cap, n + 1, sizeof *v);
            v[n++] = name;
        }
        closedir(d);
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_str);
    *names = v;
    return n;
}

void loader_free(loader *l, int unload)
{
    for (size_t i = 0; i < l->n_loaded; i++) {
        if (unload && l->loaded[i]->handle)
            dlclose(l->loaded[i]->handle);
        free(l->loaded[i]->name);
        free(l->loaded[i]->path);
        free(l->loaded[i]);
    }
    free(l->loaded);
    for (size_t i = 0; i < l->n_fds; i++)
        close(l->fds[i]);
    free(l->fds);
    strv_free(l->dirs, l->n_dirs);
    memset(l, 0, sizeof *l);
}

/* The DT_NEEDED names of a loaded object, into v[0..cap) (pointers into
 * its string table, valid while it is loaded). Returns how many. */
static size_t needed_of(const struct link_map *lm, const char **v, size_t cap)
{
    const char *strtab = NULL;
    for (const ElfW(Dyn) *d = lm->l_ld; d->d_tag != DT_NULL; d++)
        if (d->d_tag == DT_STRTAB)
            strtab = (const char *)d->d_un.d_ptr;
    size_t n = 0;
    for (const ElfW(Dyn) *d = lm->l_ld; strtab && d->d_tag != DT_NULL; d++)
        if (d->d_tag == DT_NEEDED && n < cap)
            v[n++] = strtab + d->d_un.d_val;
    return n;
}

int loader_depends_on(const plugin *p, const char *prefix)
{
    /* Breadth first over the dependency tree, each object once; every
     * object is already loaded (RTLD_NOLOAD only finds it). */
    enum { MAX_OBJECTS = 128, MAX_NEEDED = 64 };
    struct link_map *seen[MAX_OBJECTS];
    size_t n_seen = 0, next = 0;
    if (!p->handle || dlinfo(p->handle, RTLD_DI_LINKMAP, &seen[0]) != 0)
        return 0;
    n_seen = 1;
    size_t len = strlen(prefix);
    int found = 0;
    while (next < n_seen && !found) {
        const char *need[MAX_NEEDED];
        size_t n = needed_of(seen[next++], need, MAX_NEEDED);
        for (size_t i = 0; i < n && !found; i++) {
            if (strncmp(need[i], prefix, len) == 0) {
                found = 1;
                break;
            }
            void *h = dlopen(need[i], RTLD_LAZY | RTLD_NOLOAD);
            struct link_map *lm = NULL;
            if (h && dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm) {
                size_t k = 0;
                while (k < n_seen && seen[k] != lm)
                    k++;
                if (k == n_seen && n_seen < MAX_OBJECTS)
                    seen[n_seen++] = lm;
            }
            if (h)
                dlclose(h); /* the reference RTLD_NOLOAD took */
        }
    }
    return found;
}

/* dlsym in the plugin's own dependency tree into a pointer of the
 * function's type (memcpy: POSIX gives both one representation). */
#define WARM_SYM(p, fn, var)                                                   \
    __typeof__(fn) *var = NULL;                                                \
    do {                                                                       \
        void *a_ = dlsym((p)->handle, #fn);                                    \
        memcpy(&var, &a_, sizeof a_);                                          \
    } while (0)

unsigned loader_warm(const plugin *const *plugins, size_t n)
{
    /* The first plugin that needs each library; 64 distinct plugins are
     * remembered, so a probe set of 10,000 probes walks few trees. */
    const plugin *curl = NULL, *ssl = NULL, *crypto = NULL;
    const plugin *seen[64];
    size_t n_seen = 0;
    for (size_t i = 0; i < n && !curl; i++) {
        const plugin *p = plugins[i];
        size_t k = 0;
        if (!p || !p->handle)
            continue;
        while (k < n_seen && seen[k] != p)
            k++;
        if (k < n_seen)
            continue;
        if (n_seen < sizeof seen / sizeof *seen)
            seen[n_seen++] = p;
        if (loader_depends_on(p, "libcurl"))
            curl = p; /* libcurl-gnutls too */
        else if (!ssl && loader_depends_on(p, "libssl.so"))
            ssl = p;
        else if (!ssl && !crypto && loader_depends_on(p, "libcrypto.so"))
            crypto = p;
    }
    /* libcurl's set-up includes OpenSSL's; OpenSSL's are run-once. */
    if (curl) {
        WARM_SYM(curl, curl_global_init, init);
        if (init)
            init(CURL_GLOBAL_DEFAULT);
        return init ? LOADER_WARM_CURL : 0;
    }
    if (ssl) {
        WARM_SYM(ssl, OPENSSL_init_ssl, init);
        if (init)
            init(OPENSSL_INIT_LOAD_CONFIG, NULL);
        return init ? LOADER_WARM_SSL : 0;
    }
    if (crypto) {
        WARM_SYM(crypto, OPENSSL_init_crypto, init);
        if (init)
            init(OPENSSL_INIT_LOAD_CONFIG, NULL);
        return init ? LOADER_WARM_CRYPTO : 0;
    }
    return 0;
}
