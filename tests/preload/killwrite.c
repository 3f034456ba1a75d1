/*
 * tests/preload/killwrite.c - an LD_PRELOAD library for crash tests: the
 * process SIGKILLs itself at the Nth write or sync to a file whose path
 * contains $KILLWRITE_PATH, before that write happens. It makes "killed in
 * the middle of a transaction" an exact, repeatable point (test_history.py
 * walks N from 1 until the run ends unkilled), where a timed kill would
 * almost never land inside a millisecond-long commit.
 *
 * KILLWRITE_AT=N (1-based) and KILLWRITE_PATH=SUBSTRING; either unset: the
 * library only passes calls through.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static long seen;

/* Called before each write or sync on fd: counts those to the watched
 * file and kills the process at the chosen one. */
static void maybe_die(int fd)
{
    const char *at = getenv("KILLWRITE_AT");
    const char *sub = getenv("KILLWRITE_PATH");
    if (!at || !sub || !*sub)
        return;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return;
    path[n] = '\0';
    if (!strstr(path, sub))
        return;
    if (++seen == strtol(at, NULL, 10))
        raise(SIGKILL);
}

#define NEXT(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

ssize_t write(int fd, const void *buf, size_t n)
{
    maybe_die(fd);
    return NEXT(write)(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    maybe_die(fd);
    return NEXT(pwrite)(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    maybe_die(fd);
    return NEXT(pwrite64)(fd, buf, n, off);
}

int fsync(int fd)
{
    maybe_die(fd);
    return NEXT(fsync)(fd);
}

int fdatasync(int fd)
{
    maybe_die(fd);
    return NEXT(fdatasync)(fd);
}
