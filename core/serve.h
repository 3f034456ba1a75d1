/*
 * core/serve.h - `gpcheck serve`: a long-running gate that re-probes on a
 * schedule and answers HTTP clients (CI runners, Kubernetes, Prometheus)
 * from the latest results.
 *
 * Two sides that share nothing mutable but one mutex-guarded hand-over:
 *   - the supervisor (the calling thread) runs the probings through the
 *     same runner as `run` (isolation, deadlines, retries, thresholds,
 *     groups, bypass), then renders every document once and publishes an
 *     immutable, refcounted snapshot;
 *   - libmicrohttpd's threads answer requests from the current snapshot
 *     and never touch a probe_def, a plugin or a probing.
 * Requests that need the supervisor (a fresh check, a reload) set a flag
 * under the mutex and wake it through an eventfd.
 */
#ifndef GP_CORE_SERVE_H
#define GP_CORE_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "bypass.h"
#include "config.h"
#include "diag.h"
#include "history.h"
#include "probe.h"

/* One generation of configuration: what a (re)load produces. The
 * supervisor owns it; it is freed when a reload swaps it out. Its probes'
 * plugins come from one loader that lives as long as the server (the
 * caller's): a plugin is loaded once, and a reload never reloads code. */
typedef struct serve_gen {
    config cfg;
    probe_set ps;
    bypass byp;
} serve_gen;

typedef struct serve_opts {
    const char *const *listen;      /* "ADDR:PORT", "[V6]:PORT"; not owned */
    size_t n_listen;                /* 0: 127.0.0.1:9847 */
    const char *token_file;         /* NULL: no bearer token */
    const char *tls_cert, *tls_key; /* PEM files; NULL: plain HTTP */
    int insecure_listen;            /* a non-loopback address without a token */
    int enable_reload;              /* POST /-/reload */
    int log_json;                   /* --log-format json */
    int verbose;                    /* plugin stderr to ours, masked */
    int64_t grace_ms;               /* SIGTERM: in-flight responses get this */
    int64_t min_spacing_ms;         /* fresh checks of one probe at most this
                                       often */
    unsigned max_connections, max_per_ip, max_waits, max_waits_per_ip;
    unsigned conn_timeout_s; /* idle or slow connections are cut */
    const char *user, *host; /* for the bypass audit line */
    /* The run history (on by default for serve: the per-user file; path
     * NULL: off): one run row each time every probe has a new result. Not
     * owned; fixed for the server's life (a reload does not move it). */
    const history_cfg *history;
    /* Forks the probings' attempts (core/spawner.h); not owned, may be
     * NULL. */
    struct spawner *spawner;
    /* Load and fully validate a generation into *g (zeroed by the caller).
     * Returns 0, or -1 with every diagnostic in *d (g is then freed by
     * gen_free anyway). */
    int (*load)(void *ud, serve_gen *g, diag *d);
    void *ud;
    void (*gen_free)(serve_gen *g);
} serve_opts;

/*
 * Serve until SIGTERM or SIGINT. `first` is the generation main() already
 * loaded and validated (taken over: serve frees it). Returns the exit
 * status: 0 after a clean stop, 1 when the listeners cannot be set up, 2
 * for a usage error (a non-loopback address without a token or
 * --insecure-listen, an unreadable token file, libmicrohttpd missing).
 */
int serve_main(const serve_opts *o, serve_gen *first);

#endif
