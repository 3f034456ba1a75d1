/*
 * plugins/exec/run.c - the exec probe's command as a process: forked into
 * the attempt's process group with stdout and stderr on pipes, both read
 * within the time left and up to their caps, SIGKILLed at the deadline,
 * always reaped (a pidfd where the kernel has one).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"

/* ------------------------------------------------------------------------ */
/* Running the command                                                       */

static int pidfd_open_compat(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Close every descriptor from `from` up, but `keep`; async-signal-safe. */
static void close_from(int from, int keep)
{
    if (keep > from &&
        close_range((unsigned)from, (unsigned)keep - 1, 0) == 0 &&
        close_range((unsigned)keep + 1, ~0U, 0) == 0)
        return;
    long max = sysconf(_SC_OPEN_MAX);

    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = from; fd < max; fd++)
        if (fd != keep)
            close(fd);
}

/*
 * In the child, between fork and exec: only async-signal-safe calls. The
 * command stays in our process group on purpose: the runner kills the
 * group at the deadline, which takes the command and whatever it started.
 * The attempt ignores SIGPIPE (and exec keeps ignored signals ignored);
 * the command gets the default back. fd 3 is the attempt's result pipe:
 * a command must not be able to write on it, so everything above stderr
 * is closed but the exec-error pipe (close-on-exec).
 */
static _Noreturn void in_child(const job *j, int out_w, int err_w, int exec_w)
{
    int e;

    if (dup2(out_w, STDOUT_FILENO) < 0 || dup2(err_w, STDERR_FILENO) < 0) {
        e = errno;
        (void)!write(exec_w, &e, sizeof e);
        _exit(127);
    }
    signal(SIGPIPE, SIG_DFL);
    close_from(STDERR_FILENO + 1, exec_w);
    environ = j->envp;
    execvp(j->argv[0], j->argv);
    e = errno;
    (void)!write(exec_w, &e, sizeof e);
    _exit(127);
}

static int make_pipe(int p[2])
{
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    /* Only our end is non-blocking: the command sees an ordinary pipe. */
    return fcntl(p[0], F_SETFL, O_NONBLOCK);
}

int exec_start(gp_ctx *ctx, const gp_api *api, const job *j, run *r)
{
    int out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, exec_p[2] = {-1, -1};

    if (make_pipe(out_p) < 0 || make_pipe(err_p) < 0 || make_pipe(exec_p) < 0) {
        api->message(ctx, "cannot create a pipe: %s", strerror(errno));
        goto fail;
    }
    r->started_ms = gp_sdk_now_ms();
    r->pid = fork();
    if (r->pid == 0)
        in_child(j, out_p[1], err_p[1], exec_p[1]);
    if (r->pid < 0) {
        api->message(ctx, "cannot fork: %s", strerror(errno));
        goto fail;
    }
    close(out_p[1]);
    close(err_p[1]);
    close(exec_p[1]);
    r->out_fd = out_p[0];
    r->err_fd = err_p[0];
    r->exec_fd = exec_p[0];
    r->pid_fd = pidfd_open_compat(r->pid);
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        close_fd(&out_p[i]);
        close_fd(&err_p[i]);
        close_fd(&exec_p[i]);
    }
    return -1;
}

/* Read what is there; keep up to cap bytes, count the rest. Closes the fd
 * at EOF. Reads at most `budget` bytes, so a writer as fast as we are
 * cannot keep us here. */
static void drain(int *fd, char *buf, size_t cap, size_t *len, size_t *dropped,
                  size_t budget)
{
    char scratch[4096];

    while (*fd >= 0 && budget > 0) {
        char *dst = *len < cap ? buf + *len : scratch;
        size_t room = *len < cap ? cap - *len : sizeof scratch;
        ssize_t n;

        if (room > budget)
            room = budget;
        n = read(*fd, dst, room);
        if (n > 0) {
            if (dst == scratch)
                *dropped += (size_t)n;
            else
                *len += (size_t)n;
            budget -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            close_fd(fd); /* EOF, or an error we cannot do more about */
        }
    }
}

static void drain_all(run *r, size_t budget)
{
    drain(&r->out_fd, r->out, EXEC_MAX_STDOUT, &r->out_len, &r->out_dropped,
          budget);
    drain(&r->err_fd, r->err, EXEC_MAX_STDERR, &r->err_len, &r->err_dropped,
          budget);
    if (r->exec_fd >= 0) {
        int e = 0;
        ssize_t n = read(r->exec_fd, &e, sizeof e);

        if (n == (ssize_t)sizeof e)
            r->exec_errno = e;
        if (n >= 0 || (errno != EAGAIN && errno != EINTR))
            close_fd(&r->exec_fd);
    }
}

static void try_reap(run *r)
{
    int status = 0;
    pid_t got;

    do
        got = waitpid(r->pid, &status, WNOHANG);
    while (got < 0 && errno == EINTR);
    if (got == r->pid) {
        r->status = status;
        r->reaped = 1;
        r->ended_ms = gp_sdk_now_ms();
    }
}

static void kill_and_reap(run *r)
{
    int status = 0;

    kill(r->pid, SIGKILL);
    while (waitpid(r->pid, &status, 0) < 0 && errno == EINTR)
        ;
    r->status = status;
    r->reaped = 1;
    r->ended_ms = gp_sdk_now_ms();
}

/*
 * Wait for the command to exit, reading its output meanwhile. Bounded by
 * the time left: then the command gets SIGKILL. Its exit, not the end of
 * its output, ends the wait: a background child it left behind may hold
 * the pipes open for as long as it lives (the runner kills it with the
 * attempt's group).
 */
void exec_supervise(gp_ctx *ctx, const gp_api *api, run *r)
{
    while (!r->reaped) {
        struct pollfd p[4];
        int idx_pid = -1, n = 0;
        int wait = gp_sdk_poll_ms(ctx, api);

        if (wait <= 0) {
            r->timed_out = 1;
            kill_and_reap(r);
            break;
        }
        if (r->out_fd >= 0)
            p[n++] = (struct pollfd){.fd = r->out_fd, .events = POLLIN};
        if (r->err_fd >= 0)
            p[n++] = (struct pollfd){.fd = r->err_fd, .events = POLLIN};
        if (r->exec_fd >= 0)
            p[n++] = (struct pollfd){.fd = r->exec_fd, .events = POLLIN};
        if (r->pid_fd >= 0) {
            idx_pid = n;
            p[n++] = (struct pollfd){.fd = r->pid_fd, .events = POLLIN};
        } else if (wait > EXEC_POLL_SLICE_MS) {
            wait = EXEC_POLL_SLICE_MS;
        }
        if (poll(p, (nfds_t)n, wait) < 0 && errno != EINTR) {
            /* Should not happen; do not spin: fall back to slices. */
            struct timespec ts = {0, EXEC_POLL_SLICE_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
        drain_all(r, 4 * EXEC_MAX_STDOUT);
        if (idx_pid < 0 || p[idx_pid].revents)
            try_reap(r);
    }
    /* What the command wrote before it exited is in the pipes now. */
    drain_all(r, 2 * EXEC_MAX_STDOUT);
    close_fd(&r->out_fd);
    close_fd(&r->err_fd);
    close_fd(&r->exec_fd);
    close_fd(&r->pid_fd);
}
