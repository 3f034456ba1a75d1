/*
 * core/supervise.h - `gpcheck run --supervise -- CMD`: the gated command
 * as a child that gpcheck waits for, instead of exec, so that the history
 * learns whether the suite passed and how long it took.
 *
 * Like an init-style supervisor (dumb-init's default, tini -g): CMD runs
 * in a process group of its own, which becomes the terminal's foreground
 * group when gpcheck's was; SIGINT, SIGTERM, SIGHUP and SIGQUIT that
 * gpcheck receives are forwarded to that whole group, so `make` and the
 * test runner it starts get them as they would from a shell. Ctrl-C on
 * the terminal reaches CMD's group directly (gpcheck is no longer in the
 * foreground), so nothing gets a signal twice. CMD's exit status becomes
 * gpcheck's; killed by signal N, gpcheck exits 128+N, as a shell reports.
 */
#ifndef GP_CORE_SUPERVISE_H
#define GP_CORE_SUPERVISE_H

#include <stddef.h>
#include <stdint.h>

typedef struct supervise_result {
    int exit_code;       /* as a shell reports it: 128+N when killed by N;
                            127 / 126 when CMD could not be run */
    int signo;           /* the signal that killed CMD, or 0 */
    int64_t duration_ns; /* from fork to reaping */
} supervise_result;

/*
 * Run argv (PATH searched) as a child and wait for it, forwarding the four
 * signals. The caller sets the child's environment (GPCHECK_VERDICT)
 * before. On return SIGINT, SIGTERM, SIGHUP and SIGQUIT stay blocked, so
 * that a late one does not cut the history write short; the caller exits
 * soon after. Returns 0, or -1 with the reason in err when no child could
 * be started (fork failed).
 */
int supervise_run(char *const *argv, supervise_result *out, char *err,
                  size_t errlen);

#endif
