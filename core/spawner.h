/*
 * core/spawner.h - the attempt spawner: a small process, forked at the
 * start of gpcheck before the configuration loads, that forks each
 * attempt on the supervisor's behalf.
 *
 * Why: fork() copies the forking process's page tables, so its cost grows
 * with what that process has mapped. The supervisor's heap grows with the
 * number of probes (their definitions, the run's bookkeeping) and it maps
 * every library of every plugin; forked from it, an attempt cost 300 us at
 * 1,000 probes and over 1 ms at 10,000 (issue 18). The spawner's image is
 * gpcheck at its start plus the plugins it is told to load: what it forks
 * does not depend on the number of probes.
 *
 * The spawner is the attempts' parent: it forks them (plain fork(), so
 * every library's atfork handlers run, e.g. OpenSSL's reseeding), kills
 * a group when asked and reaps its children, and it alone, so a pid it
 * names cannot have been reused. It never decides anything: the
 * supervisor sends it each attempt's definition by value (the probe's
 * name, option values, threshold metrics, metrics and secrets; see
 * spawner.c for the layout), and hears back the pid and, later, the wait
 * status. It is also the guardian of its attempts (the runner's guardian
 * is for those the supervisor forks): in a process group of its own, when
 * the supervisor is gone however it went (EOF) it kills every attempt's
 * group it still runs, and exits; its attempts die with it
 * (PR_SET_PDEATHSIG). What they leave behind while gpcheck runs is
 * reparented to the supervisor, a subreaper, as before.
 *
 * Without a spawner (it could not start, it died, a plugin it cannot
 * load, a definition too large for one message) the supervisor forks the
 * attempt itself, as it always did: the spawner is a speed-up, never a
 * requirement.
 */
#ifndef GP_CORE_SPAWNER_H
#define GP_CORE_SPAWNER_H

#include <stdint.h>
#include <sys/types.h>

#include "probe.h"
#include "secrets.h"

/* The supervisor's handle. Zero-initialised: no spawner. */
/*
 * Below this many probes a run forks its attempts from the supervisor
 * itself: its heap is small then (about 1 KB a probe), and the spawner
 * costs more than it saves when it loads heavy plugins a second time.
 * Measured (hyperfine, 20 and 10 runs alternated, Release, load < 1):
 * the golden path's 6 probes (libpq's and libcurl's chains) took 57-68 ms
 * through the spawner and 48-63 ms without; tcp probes 21.6 / 24.8 ms at
 * 100, 63 / 86 ms at 300, 233 / 259 ms at 1,000, 1.24 / 2.36 s at 5,000
 * (spawner / without).
 */
#define SPAWNER_MIN_PROBES 256

/* A plugin the spawner was told to load ('L'). */
typedef struct spawner_sent {
    const plugin *p;
    int ok; /* the spawner loaded it (valid once replied) */
} spawner_sent;

typedef struct spawner {
    pid_t pid;          /* 0: none (never started, stopped or lost) */
    int req_fd;         /* requests and their replies; -1: none */
    int ev_fd;          /* the spawner's events (an attempt was reaped); -1 */
    spawner_sent *sent; /* owned array; plugins sent, by id = index */
    size_t n_sent, cap_sent;
    size_t n_replied; /* sent[] whose load the spawner has answered */
} spawner;

/* Fork the spawner (call early: its image is what every attempt copies);
 * argv is gpcheck's own, which spawner_set_argv() masks later. Returns 0,
 * or -1 with errno (sp then stays empty: attempts fork from the
 * supervisor). */
int spawner_start(spawner *sp, int argc, char **argv);

/* gpcheck's arguments argv[0] .. argv[argc - 1] once secrets_scrub_argv
 * masked them: the spawner masks its own copy alike. */
void spawner_set_argv(spawner *sp, int argc, char **argv);

/* Is there a spawner to ask? */
int spawner_usable(const spawner *sp);

/* Have the spawner drop from its environment the variables e found
 * (secrets_env_find), as the attempts would. */
void spawner_scrub(spawner *sp, const secrets_env *e);

/* Have the spawner load plugin p now (once; NULL, a built-in test fake:
 * nothing), beside the supervisor's own work: the first attempt that
 * needs it waits for the answer, not for the load. */
void spawner_offer(spawner *sp, const plugin *p);

/* spawner_offer() each plugin of ps. */
void spawner_preload(spawner *sp, const probe_set *ps);

/* One attempt to start. */
typedef struct spawner_attempt {
    const probe_def *def;
    int64_t deadline_ms; /* CLOCK_MONOTONIC, rounded up */
    int warmup;
    unsigned number;
    int all_metrics;
    int wfd;       /* the result pipe's write end (sent, not closed) */
    int efd;       /* the stderr pipe's write end, or -1: /dev/null */
    unsigned slot; /* the caller's, named by the 'started' event */
} spawner_attempt;

/*
 * Ask for one attempt. Returns 0: asked, and an event (spawner_next)
 * will say whether it started (in its own process group, the spawner's
 * child) and as which pid; or -1: the spawner cannot take it (none, gone,
 * a plugin it does not have, too large a definition): fork it directly.
 */
int spawner_spawn(spawner *sp, const spawner_attempt *a);

/* SIGKILL the process group of attempt pid, if it is still the
 * spawner's (not yet reaped) child. */
void spawner_kill(spawner *sp, pid_t pid);

/* What the spawner says, in order. */
typedef struct spawner_event {
    int started;   /* 1: slot's attempt started as pid (> 0) or not
                      (-errno); 0: pid was reaped with wstatus */
    unsigned slot; /* started only */
    pid_t pid;
    int wstatus;
} spawner_event;

/* Read the next event from ev_fd, waiting up to timeout_ms (0: only what
 * is there): 1 and *ev, 0 when none came, -1 when the spawner is gone
 * (its attempts die with it and are reparented to the supervisor). */
int spawner_next(spawner *sp, int timeout_ms, spawner_event *ev);

/* The spawner misbehaves (a failed send, no reply or no attempt in
 * time): SIGKILL it (its attempts die with it); the supervisor reaps it
 * and forks attempts itself from then on. */
void spawner_abandon(spawner *sp);

/* The spawner died (the supervisor reaped it): forget it. */
void spawner_lost(spawner *sp);

/* Not needed after all, before any attempt (a small run): SIGKILL it,
 * without waiting for it; it is reaped as a stray (the runner's reap,
 * its sweep) or by init when gpcheck exits. */
void spawner_dismiss(spawner *sp);

/* End the spawner (it kills what it still runs) and reap it. */
void spawner_stop(spawner *sp);

#endif
