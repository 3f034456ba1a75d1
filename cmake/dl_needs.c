/*
 * cmake/dl_needs.c - never run: a program that links the libraries
 * core/dl.h loads with dlopen() (libcurl, SQLite, libmicrohttpd) and
 * refers to every function of its lists, so that dpkg-shlibdeps, which
 * cannot see a dlopen(), computes the Debian package's Depends on them
 * from this program's DT_NEEDED and symbols (cmake/Packaging.cmake). Its
 * DT_NEEDED also shows that the SONAMEs pinned in dl.h are those of the
 * libraries whose headers the core is built with (test_libs.py checks).
 */
#include <stddef.h>

#include "dl.h"

#define DL_ADDR(fn) (void (*)(void)) fn,

int main(void)
{
    static void (*const used[])(void) = {
        DL_CURL_SYMS(DL_ADDR) DL_SQLITE_SYMS(DL_ADDR) DL_MHD_SYMS(DL_ADDR)};
    size_t missing = 0;
    for (size_t i = 0; i < sizeof used / sizeof *used; i++)
        missing += used[i] == NULL;
    return missing != 0;
}
