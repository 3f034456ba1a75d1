/*
 * plugins/exec/exec.h - what the exec probe's files share, and nothing
 * outside the plugin sees: the limits, one attempt's job (the options
 * decoded: job.c) and run (the command's process and output: run.c), and
 * perfdata turned into metrics (metrics.c). exec.c tells the attempt's
 * story with these; perfdata.c parses the output format.
 */
#ifndef GPCHECK_EXEC_H
#define GPCHECK_EXEC_H

#include <stddef.h>
#include <sys/types.h>

#include "gpcheck/plugin.h"
#include "perfdata.h"

/* What we keep of the command's stdout and stderr; the rest is read and
 * thrown away, so that a chatty command never blocks on a full pipe. */
#define EXEC_MAX_STDOUT (64 * 1024)
#define EXEC_MAX_STDERR (8 * 1024)
/* Slots per unit class, and the length of the message we keep. */
#define EXEC_SLOTS 4
#define EXEC_MAX_MESSAGE 400
/* Without pidfd_open() we look for the command's exit this often. */
#define EXEC_POLL_SLICE_MS 50
/* Lines of long output and of stderr copied to the log. */
#define EXEC_LOG_LINES 5

/* run_time, then EXEC_SLOTS slots per perfdata unit class (metrics.c). */
#define EXEC_N_METRICS (1 + PC_N * EXEC_SLOTS)
extern const gp_metric exec_metrics[];

/* One item of the `perfdata` option. */
typedef struct perf_map {
    char *label; /* owned */
    int slot;    /* metric index, or -1: the next free one of its class */
} perf_map;

/* What one run of the command left us. */
typedef struct run {
    pid_t pid;
    int out_fd, err_fd, exec_fd, pid_fd;
    char *out; /* EXEC_MAX_STDOUT + 1 bytes, NUL-terminated */
    size_t out_len, out_dropped;
    char err[EXEC_MAX_STDERR + 1];
    size_t err_len, err_dropped;
    int exec_errno; /* the child's execvp() failed with this */
    int status;     /* wait status, once reaped */
    int reaped;
    int timed_out;
    double started_ms, ended_ms;
} run;

/* Everything check() allocates, freed in one place. */
typedef struct job {
    char **argv; /* owned, NULL-terminated */
    size_t argc;
    int shell;   /* argv is /bin/sh -c LINE */
    char **ours; /* owned: env, secret_env and our own KEY=VALUE */
    size_t n_ours;
    char **envp; /* borrows from environ and ours, NULL-terminated */
    size_t envc;
    char **secrets; /* values of secret_env, for scrubbing output */
    size_t n_secrets;
    perf_map *maps;
    size_t n_maps;
} job;

/* ---- job.c: the options decoded --------------------------------------- */

/* One list item with the configuration language's escapes decoded
 * (gp_sdk_unescape()); a NUL is refused. Returns a heap string (the
 * caller frees it), or NULL with a static reason in *why. */
char *exec_decode_item(const char *in, const char **why);
/* Free everything a job owns (a zeroed job is fine). */
void exec_job_free(job *j);
/* `command` (and `shell`) into j->argv: 0, or -1 with the message said. */
int exec_build_argv(gp_ctx *ctx, const gp_api *api, job *j);
/* The command's environment into j->envp (and secret_env's values into
 * j->secrets): 0, or -1 with the message said. */
int exec_build_env(gp_ctx *ctx, const gp_api *api, job *j);
/* An env / secret_env item decoded (exec_decode_item()) and checked to be
 * KEY=VALUE with a portable variable name: a heap string (the caller frees
 * it) with *klen the key's length, or NULL with a static reason in *why. */
char *exec_env_item(const char *in, size_t *klen, const char **why);

/* ---- metrics.c: perfdata to metrics ---------------------------------- */

/* `perfdata` items into j->maps: 0, or -1 with a reason in why. */
int exec_parse_maps(const char *const *items, size_t n, job *j, char *why,
                    size_t cap);
/* exec_parse_maps() of the `perfdata` option: 0, or -1 with the message
 * said. */
int exec_build_maps(gp_ctx *ctx, const gp_api *api, job *j);
/* Perfdata into the slots (deprecated) and into the `metrics` option's
 * metrics: 0, or -1 (with the message said) when the configuration
 * contradicts the output. */
int exec_map_metrics(gp_ctx *ctx, const gp_api *api, const job *j,
                     const perf_output *pl);
int exec_named_metrics(gp_ctx *ctx, const gp_api *api, const perf_output *pl);

/* ---- run.c: the command's process ------------------------------------- */

/* Fork and exec the job's command into r (pipes, pidfd): 0, or -1 with the
 * message said. */
int exec_start(gp_ctx *ctx, const gp_api *api, const job *j, run *r);
/* Read both pipes until the command exits or the time is up (then SIGKILL
 * it); it is reaped and every fd closed before this returns. */
void exec_supervise(gp_ctx *ctx, const gp_api *api, run *r);

#endif
