/* core/supervise.c - the gated command as a supervised child; see
 * supervise.h. */
#include "supervise.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* The signals a supervisor passes on; SIGCHLD is how it hears the end. */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

/* Make pgrp the terminal's foreground group. SIGTTOU is ignored for the
 * call: a background process may not otherwise change it. */
static void give_terminal(pid_t pgrp)
{
    void (*was)(int) = signal(SIGTTOU, SIG_IGN);
    (void)tcsetpgrp(STDIN_FILENO, pgrp);
    signal(SIGTTOU, was);
}

static void child(char *const *argv, const sigset_t *old, int tty)
{
    setpgid(0, 0);
    if (tty)
        give_terminal(getpid());
    signal(SIGPIPE, SIG_DFL); /* as exec gives it back, see main.c */
    sigprocmask(SIG_SETMASK, old, NULL);
    execvp(argv[0], argv);
    int e = errno;
    fprintf(stderr, "gpcheck: cannot run '%s': %s\n", argv[0], strerror(e));
    _exit(e == ENOENT ? 127 : 126);
}

int supervise_run(char *const *argv, supervise_result *out, char *err,
                  size_t errlen)
{
    memset(out, 0, sizeof *out);
    sigset_t mask, old;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    for (size_t i = 0; i < ARRAY_LEN(forwarded); i++)
        sigaddset(&mask, forwarded[i]);
    sigprocmask(SIG_BLOCK, &mask, &old);
    /* Hand CMD the terminal only when it was ours to give. */
    int tty = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
    fflush(NULL);
    int64_t t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "cannot start '%s': %s", argv[0],
                 strerror(errno));
        sigprocmask(SIG_SETMASK, &old, NULL);
        return -1;
    }
    if (pid == 0)
        child(argv, &old, tty);
    /* Also here, as shells do: the group exists before we signal it. */
    setpgid(pid, pid);
    if (tty)
        give_terminal(pid);
    int status = 0;
    for (;;) {
        siginfo_t si;
        int s = sigwaitinfo(&mask, &si);
        if (s < 0)
            continue; /* EINTR: a signal outside the mask (SIGSTOP's kin) */
        if (s != SIGCHLD) {
            /* The group; the child alone if it left its group. */
            if (kill(-pid, s) != 0)
                kill(pid, s);
            continue;
        }
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno == ECHILD)
            break; /* cannot happen: nobody else reaps it */
    }
    out->duration_ns = now_ns() - t0;
    if (tty)
        give_terminal(getpgrp());
    if (WIFSIGNALED(status)) {
        out->signo = WTERMSIG(status);
        out->exit_code = 128 + out->signo;
    } else {
        out->exit_code = WEXITSTATUS(status);
    }
    /* The SIGCHLDs of the reaped child; the four forwarded signals stay
     * blocked (see supervise.h). */
    struct timespec zero = {0, 0};
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    while (sigtimedwait(&chld, NULL, &zero) > 0)
        ;
    sigset_t keep = old;
    for (size_t i = 0; i < ARRAY_LEN(forwarded); i++)
        sigaddset(&keep, forwarded[i]);
    sigprocmask(SIG_SETMASK, &keep, NULL);
    return 0;
}
