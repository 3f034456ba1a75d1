/*
 * core/dl.c - loads libcurl, SQLite and libmicrohttpd on first use and
 * fills their sym_ tables (see dl.h for why and how to add a function).
 */
#include "dl.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* dlsym() returns a void *, stored into a function pointer by memcpy
 * (POSIX guarantees they have the same representation). */
_Static_assert(sizeof(void *) == sizeof(void (*)(void)),
               "function pointers and void * differ in size");

#define DL_DEFINE(fn) __typeof__(fn) *sym_##fn;
DL_CURL_SYMS(DL_DEFINE)
DL_SQLITE_SYMS(DL_DEFINE)
DL_MHD_SYMS(DL_DEFINE)

typedef struct dl_sym {
    const char *name;
    void *slot; /* &sym_NAME: where the address goes */
} dl_sym;

#define DL_ENTRY(fn) {#fn, &sym_##fn},
static const dl_sym curl_syms[] = {DL_CURL_SYMS(DL_ENTRY)};
static const dl_sym sqlite_syms[] = {DL_SQLITE_SYMS(DL_ENTRY)};
static const dl_sym mhd_syms[] = {DL_MHD_SYMS(DL_ENTRY)};

typedef struct dl_lib {
    const char *soname;
    const dl_sym *syms;
    size_t n_syms;
    void *handle; /* set once every symbol resolved; never dlclose()d */
} dl_lib;

#define DL_LIB(soname, syms)                                                   \
    {                                                                          \
        soname, syms, sizeof syms / sizeof *syms, NULL                         \
    }
static dl_lib curl_lib = DL_LIB(DL_CURL_SONAME, curl_syms);
static dl_lib sqlite_lib = DL_LIB(DL_SQLITE_SONAME, sqlite_syms);
static dl_lib mhd_lib = DL_LIB(DL_MHD_SONAME, mhd_syms);

/* One lock for all three: loading is rare and short. */
static pthread_mutex_t dl_mu = PTHREAD_MUTEX_INITIALIZER;

static void clear_syms(const dl_lib *lib)
{
    void *none = NULL;
    for (size_t i = 0; i < lib->n_syms; i++)
        memcpy(lib->syms[i].slot, &none, sizeof none);
}

/* dlopen + dlsym of every symbol; the caller holds dl_mu. */
static int load(dl_lib *lib, const char *feature, char *err, size_t errlen)
{
    char path[PATH_MAX];
    const char *name = lib->soname;
    const char *dir = secure_getenv(DL_TEST_DIR_ENV);
    if (dir && *dir) {
        snprintf(path, sizeof path, "%s/%s", dir, lib->soname);
        name = path;
    }
    /* RTLD_NOW: an unresolvable symbol of the library fails here, with a
     * message, rather than in the middle of a request. */
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        snprintf(err, errlen, "%s (needed by %s)", why ? why : name, feature);
        return -1;
    }
    for (size_t i = 0; i < lib->n_syms; i++) {
        dlerror();
        void *p = dlsym(h, lib->syms[i].name);
        if (!p) {
            snprintf(err, errlen,
                     "%s has no %s(): not the library gpcheck was built "
                     "for (needed by %s)",
                     name, lib->syms[i].name, feature);
            clear_syms(lib);
            dlclose(h);
            return -1;
        }
        memcpy(lib->syms[i].slot, &p, sizeof p);
    }
    lib->handle = h;
    return 0;
}

static int dl_get(dl_lib *lib, const char *feature, char *err, size_t errlen)
{
    pthread_mutex_lock(&dl_mu);
    int rc = lib->handle ? 0 : load(lib, feature, err, errlen);
    pthread_mutex_unlock(&dl_mu);
    return rc;
}

int dl_curl(const char *feature, char *err, size_t errlen)
{
    return dl_get(&curl_lib, feature, err, errlen);
}

int dl_sqlite(const char *feature, char *err, size_t errlen)
{
    return dl_get(&sqlite_lib, feature, err, errlen);
}

int dl_mhd(const char *feature, char *err, size_t errlen)
{
    return dl_get(&mhd_lib, feature, err, errlen);
}
