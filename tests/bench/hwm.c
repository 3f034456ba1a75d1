/*
 * tests/bench/hwm.c - LD_PRELOAD shim for bench.sh: when the process it
 * was loaded into exits through exit() (the gpcheck parent; attempts end
 * with _exit() and never get here), append one line to $BENCH_HWM_FILE:
 *
 *     VmHWM_kB self_cpu_ms children_cpu_ms
 *
 * VmHWM is the parent's own peak RSS, unlike /usr/bin/time's "Maximum
 * resident set size", which is the max over the parent and every reaped
 * child. self_cpu is the parent's user+sys; children_cpu that of the
 * reaped attempts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static pid_t self;

__attribute__((constructor)) static void hwm_init(void)
{
    self = getpid();
}

static double ms(struct timeval a, struct timeval b)
{
    return (a.tv_sec + b.tv_sec) * 1e3 + (a.tv_usec + b.tv_usec) / 1e3;
}

__attribute__((destructor)) static void hwm_fini(void)
{
    const char *out = getenv("BENCH_HWM_FILE");
    if (!out || getpid() != self)
        return;
    long hwm = -1;
    char line[256];
    FILE *f = fopen("/proc/self/status", "re");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            hwm = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    struct rusage me, kids;
    getrusage(RUSAGE_SELF, &me);
    getrusage(RUSAGE_CHILDREN, &kids);
    FILE *o = fopen(out, "ae");
    if (!o)
        return;
    fprintf(o, "%ld %.3f %.3f\n", hwm, ms(me.ru_utime, me.ru_stime),
            ms(kids.ru_utime, kids.ru_stime));
    fclose(o);
}
