/*
 * core/child.h - the child side of one attempt: the gp_api the plugin
 * calls, and the result protocol back to the parent.
 *
 * Protocol: the child writes JSON objects, one per line, to the result
 * pipe: zero or more {"log": {"level": N, "text": S}}, then exactly one
 * {"result": {"outcome": S, "message": S, "metrics": {NAME: NUMBER},
 * "bug": S}} ("bug" only when the plugin misused the API). Before the
 * result, {"secret": S} lines (ABI 1.2 secret()) add S to the probe's
 * secrets, so the supervisor masks it in that attempt's message and logs.
 * Anything else on the pipe is garbage and makes the attempt an error.
 *
 * The validation child (child_validate) speaks the same dialect, each
 * object naming the probe by its index in the list it was given:
 * {"invalid": {"probe": I, "key": K, "text": S}}, {"secret": {"probe": I,
 * "text": S}}, {"bug": {"probe": I, "text": S}}, and last {"done": N}.
 */
#ifndef GP_CORE_CHILD_H
#define GP_CORE_CHILD_H

#include <stdint.h>
#include <sys/types.h>

#include "probe.h"
#include "secrets.h"

typedef struct child_attempt {
    const probe_def *def;
    const secrets_env *env; /* the variables holding the run's secrets,
                               which leave the attempt's environment;
                               NULL: only def's */
    int64_t deadline_ms;    /* CLOCK_MONOTONIC */
    int warmup;
    unsigned number;
    int all_metrics; /* a report shows every metric (metric_wanted) */
    int fd;          /* result pipe */
} child_attempt;

/*
 * In the process attempts are forked from (the spawner), once: write one
 * log line and one result to fd (/dev/null) the way an attempt does, so
 * that every attempt inherits what that first use sets up (jansson's hash
 * seed, read from /dev/urandom; the library calls child_run() makes,
 * bound by ld.so) instead of doing it again, page by page.
 */
void child_warm(int fd);

/* Run the plugin's check() and write the result; never returns. */
_Noreturn void child_run(const child_attempt *a);

/* One plugin's probes, for child_validate(). */
typedef struct child_validation {
    const probe_def *const *defs; /* not owned; n > 0, all of one plugin,
                                     which has a validate() */
    size_t n;
    int64_t deadline_ms;         /* CLOCK_MONOTONIC, for time_left_ms() */
    int fd;                      /* result pipe */
    volatile uint32_t *progress; /* shared with the parent: the index of
                                    the probe being validated, so that a
                                    crash can name it */
} child_validation;

/* Call validate() for each probe in turn and write the results; never
 * returns. */
_Noreturn void child_validate(const child_validation *v);

/*
 * First thing in a freshly forked attempt, whoever forked it (the
 * supervisor or the spawner, core/spawner.h): its own process group;
 * SIGKILL when `parent` dies (and _exit(1) if it already has); default
 * signal handling, nothing blocked, SIGPIPE ignored (a write to a closed
 * socket is EPIPE for the plugin); stdin and stdout on devnull, stderr on
 * efd (-1: devnull); the result pipe wfd at fd 3 and every fd above it
 * closed (child_take_pipe).
 */
void child_enter(pid_t parent, int devnull, int wfd, int efd);

/* In a freshly forked child (the attempt's or the validation's): the
 * result pipe wfd becomes fd 3, open across exec, and every fd above it is
 * closed; _exit(2) when fd 3 cannot be had. Only async-signal-safe calls. */
void child_take_pipe(int wfd);

/* Most texts one attempt (or one probe's validate()) may declare with
 * secret(); one more is a plugin bug, as a text it expects masked would
 * not be. */
#define CHILD_MAX_SECRETS 64

/* Maximum log lines one attempt sends; later ones are counted only. */
#define CHILD_MAX_LOGS 20

#endif
