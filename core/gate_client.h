/*
 * core/gate_client.h - `gpcheck run --gate URL`: the verdict of a shared
 * `gpcheck serve` instead of a local probing, with the same reports and
 * exit statuses as a local run.
 */
#ifndef GP_CORE_GATE_CLIENT_H
#define GP_CORE_GATE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

/* The gate could not be reached or gave no verdict: exit 1, or probe
 * locally with --gate-fallback local. */
#define GATE_CLIENT_UNREACHABLE (-1)
/* A usage error (the URL, the token file): exit 2. */
#define GATE_CLIENT_USAGE (-2)

typedef struct gate_client_opts {
    const char *url;            /* the server's base URL; not owned */
    const char *token_file;     /* NULL: no Authorization header */
    int64_t deadline_ms;        /* the long-poll lasts this long; 0: 60s */
    const char *const *outputs; /* "FORMAT[:PATH]": json, text, prometheus,
                                   junit; not owned */
    size_t n_outputs;
    /* Write one document (path NULL: the format's default stream).
     * Returns 0, or -1 with a reason in err. */
    int (*write)(const char *format, const char *path, const char *text,
                 char *err, size_t errlen);
} gate_client_opts;

/*
 * Long-poll the gate's /v1/wait within the deadline, then write each
 * output. Returns the exit status of the verdict the gate sent (0 pass,
 * degraded or bypassed; 1 fail; 124 still pending at the deadline), 1 when
 * the gate refused the token, GATE_CLIENT_UNREACHABLE, or
 * GATE_CLIENT_USAGE; every failure is explained on stderr. *verdict_out
 * receives the verdict's name (newly allocated) when one came, else NULL.
 */
int gate_client_run(const gate_client_opts *o, char **verdict_out);

#endif
