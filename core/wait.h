/*
 * core/wait.h - `gpcheck wait URL...`: one probe per URL, made by the
 * plugin that serves the URL's scheme (gp_plugin.urls, ABI 1.3), with no
 * configuration file at all; and the sink that prints one line per target.
 *
 * A URL is parsed by libcurl's URL parser (curl_url()), never by hand; its
 * parts go to the options the plugin's gp_url_map names, each checked
 * against the option's schema here, so that a bad URL is an error naming
 * its argument before anything runs.
 */
#ifndef GP_CORE_WAIT_H
#define GP_CORE_WAIT_H

#include <stddef.h>

#include "config.h"
#include "diag.h"
#include "loader.h"
#include "report.h"

typedef struct wait_target {
    char *shown; /* owned; the URL as given, its password masked */
    char *probe; /* owned; the probe's name, PLUGIN-N (N: the URL's number) */
} wait_target;

/*
 * For each of urls[0 .. n-1] (URL k+1 in messages), find the plugin whose
 * URL map serves its scheme on l's search path (the first plugin, in
 * search order, that serves it), and add a probe to cfg
 * (config_add_cli_probe) with the URL's parts as its options and the
 * policy items pol[0 .. n_pol-1] ("warmup=30s") after them. Returns 0, or
 * -1 after adding to d one error per bad URL, each naming it ("URL 2
 * (postgress://db): unknown scheme 'postgress' (did you mean 'postgres'?;
 * schemes: ...)"). *out (newly allocated, n entries; wait_targets_free)
 * is set in both cases.
 */
int wait_add_probes(config *cfg, loader *l, char *const *urls, size_t n,
                    char *const *pol, size_t n_pol, wait_target **out, diag *d);

void wait_targets_free(wait_target *t, size_t n);

/*
 * The sink of `wait`: one line on stderr per target as its probe ends,
 * "ok      tcp://db:5432  connected to ... (3 attempts, 2.1s)", the URL
 * and the message masked with the probe's secrets. t (n entries, in the
 * probe set's order) must outlive the sink.
 */
sink *wait_sink_new(const wait_target *t, size_t n);

#endif
