/*
 * core/dl.h - libcurl, SQLite and libmicrohttpd, loaded with dlopen() the
 * first time a feature needs one, instead of linked into the executable.
 *
 * Why: a plain `gpcheck run` of tcp, dns or redis probes uses none of the
 * three, yet linked they cost every run ld.so's binding of ~35 libraries
 * (libcurl's chain alone: 12 M of the supervisor's 19 M instructions on the
 * golden path) and every forked attempt the copy of their mappings (209
 * mappings fork in 283 us, 39 in 93 us). Only serve (libmicrohttpd), the
 * run history (SQLite), and --gate, `gpcheck wait`'s URL parser and
 * -o pushgateway (libcurl) load them, when asked for.
 *
 * The pattern is systemd's dlopen_* helpers: one function per library
 * loads it and resolves every function the core calls into sym_NAME, a
 * pointer typed with __typeof__ from the library's own header, so that a
 * prototype that does not match is a compile error. Call sites read like
 * the library's API with a sym_ prefix: sym_curl_easy_init(),
 * sym_sqlite3_step(), sym_MHD_start_daemon(). A function the core starts
 * calling goes into its library's list below (DL_CURL_SYMS, ...), and
 * nowhere else: the table, the pointers and the packaging's dependency
 * probe (cmake/dl_needs.c) are all made from these lists.
 *
 * The SONAMEs are pinned here: a library whose ABI (SONAME) changed is not
 * loaded by accident. The Debian package's Depends on them are computed
 * by dpkg-shlibdeps from cmake/dl_needs.c, a program that links the three
 * and calls the same functions (cmake/Packaging.cmake).
 */
#ifndef GP_CORE_DL_H
#define GP_CORE_DL_H

#include <curl/curl.h>
#include <microhttpd.h>
#include <sqlite3.h>
#include <stddef.h>

#define DL_CURL_SONAME "libcurl.so.4"
#define DL_SQLITE_SONAME "libsqlite3.so.0"
#define DL_MHD_SONAME "libmicrohttpd.so.12"

/* Test-only: when set, each library is loaded as $GPCHECK_TEST_DL_DIR/
 * SONAME instead of by its SONAME, so a test can make one missing (an
 * empty folder) or wrong (a link to another library). Read with
 * secure_getenv; it gives no power LD_LIBRARY_PATH does not. */
#define DL_TEST_DIR_ENV "GPCHECK_TEST_DL_DIR"

/* The functions the core calls, per library: X(name) each. */
#define DL_CURL_SYMS(X)                                                        \
    X(curl_easy_cleanup)                                                       \
    X(curl_easy_getinfo)                                                       \
    X(curl_easy_init)                                                          \
    X(curl_easy_perform)                                                       \
    X(curl_easy_setopt)                                                        \
    X(curl_easy_strerror)                                                      \
    X(curl_easy_unescape)                                                      \
    X(curl_free)                                                               \
    X(curl_global_init)                                                        \
    X(curl_slist_append)                                                       \
    X(curl_slist_free_all)                                                     \
    X(curl_url)                                                                \
    X(curl_url_cleanup)                                                        \
    X(curl_url_dup)                                                            \
    X(curl_url_get)                                                            \
    X(curl_url_set)                                                            \
    X(curl_url_strerror)

#define DL_SQLITE_SYMS(X)                                                      \
    X(sqlite3_bind_double)                                                     \
    X(sqlite3_bind_int)                                                        \
    X(sqlite3_bind_int64)                                                      \
    X(sqlite3_bind_null)                                                       \
    X(sqlite3_bind_text)                                                       \
    X(sqlite3_busy_timeout)                                                    \
    X(sqlite3_clear_bindings)                                                  \
    X(sqlite3_close)                                                           \
    X(sqlite3_column_double)                                                   \
    X(sqlite3_column_int)                                                      \
    X(sqlite3_column_int64)                                                    \
    X(sqlite3_column_text)                                                     \
    X(sqlite3_column_type)                                                     \
    X(sqlite3_errmsg)                                                          \
    X(sqlite3_errstr)                                                          \
    X(sqlite3_exec)                                                            \
    X(sqlite3_extended_result_codes)                                           \
    X(sqlite3_finalize)                                                        \
    X(sqlite3_last_insert_rowid)                                               \
    X(sqlite3_open_v2)                                                         \
    X(sqlite3_prepare_v2)                                                      \
    X(sqlite3_prepare_v3)                                                      \
    X(sqlite3_reset)                                                           \
    X(sqlite3_step)

#define DL_MHD_SYMS(X)                                                         \
    X(MHD_add_response_header)                                                 \
    X(MHD_create_response_from_buffer)                                         \
    X(MHD_destroy_response)                                                    \
    X(MHD_get_connection_info)                                                 \
    X(MHD_get_daemon_info)                                                     \
    X(MHD_is_feature_supported)                                                \
    X(MHD_lookup_connection_value)                                             \
    X(MHD_queue_response)                                                      \
    X(MHD_quiesce_daemon)                                                      \
    X(MHD_start_daemon)                                                        \
    X(MHD_stop_daemon)

/* extern <the function's own type> *sym_NAME; NULL until loaded. */
#define DL_DECLARE(fn) extern __typeof__(fn) *sym_##fn;
DL_CURL_SYMS(DL_DECLARE)
DL_SQLITE_SYMS(DL_DECLARE)
DL_MHD_SYMS(DL_DECLARE)

/*
 * Load libcurl (libsqlite3, libmicrohttpd) and resolve every sym_ of its
 * list, once: later calls return 0 at once. `feature` names what needs it
 * ("--gate"), for the message. Returns 0, or -1 with the reason in err:
 * "libcurl.so.4: cannot open shared object file: No such file or
 * directory (needed by --gate)", or the symbol that is missing; the sym_
 * pointers then stay NULL, and the caller reports err and exits 2 (a
 * missing library is an installation problem, like a missing plugin).
 * Safe to call from several threads; the library is never unloaded.
 */
int dl_curl(const char *feature, char *err, size_t errlen);
int dl_sqlite(const char *feature, char *err, size_t errlen);
int dl_mhd(const char *feature, char *err, size_t errlen);

#endif
