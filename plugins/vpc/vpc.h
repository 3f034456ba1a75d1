/*
 * plugins/vpc/vpc.h - what the vpc probe's files share, and nothing
 * outside the plugin sees: a part's result (each mode gives one), the
 * reachability half (reach.c) and the connector half (connector.c).
 * vpc.c tells one attempt's story with these. The pure functions here
 * (target parsing, failure summaries, connector names, tokens, the
 * Connector resource and API answers judged) are unit-tested beside them
 * (test_vpc.c).
 */
#ifndef GPCHECK_VPC_H
#define GPCHECK_VPC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "gcp_http.h"
#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"

/* Response bodies we accept (a Connector is well under 4 KiB). */
#define VPC_MAX_BODY (64 * 1024)
/* Response bodies we accept (a Connector is well under 4 KiB). */
#define VPC_MAX_BODY (64 * 1024)
/* targets x samples: each is a socket open at the same time. */
#define VPC_MAX_SAMPLES 512
/* How much of an API error text goes into a message. */
#define VPC_SHOW_TEXT GCP_SHOW_TEXT

/* One part's result: the outcome and its piece of the message (the
 * shared Google API code's, plugins/common/gcp_http.h). */
typedef gcp_part vpc_part;
#define vpc_part_set gcp_part_set

/* ---- reach.c: reachability -------------------------------------------- */

/* One `targets` entry, and what its samples did. */
typedef struct vpc_target {
    const char *spec; /* as configured, for messages; borrowed option */
    char host[256];
    char port[8];
    gp_sdk_addr addrs[GP_SDK_MAX_ADDRS];
    int naddrs;
    char resolve_error[300]; /* the samples fail with this, when set */
    unsigned ok, refused, timed_out, other;
    int other_errno;
} vpc_target;

/* Parse "host:port" or "[v6addr]:port" into t (host, port, spec = the
 * string itself). A bare IPv6 address is refused rather than guessed at:
 * "::1:80" could be either. Returns NULL, or a static reason. */
const char *vpc_parse_target(const char *spec, vpc_target *t);

/* The targets whose samples did not all connect, one line: "10.0.0.5:6379
 * refused 3/3, 10.0.0.6:5432 timed out 1/3", ending in "..." when cut. */
void vpc_describe_failures(const vpc_target *t, size_t n, unsigned samples,
                           char *out, size_t outlen);

/* The reachability part: every target connected `samples` times at once,
 * its metrics reported, its verdict in res. */
void vpc_reachability(gp_ctx *ctx, const gp_api *api, vpc_part *res);

/* ---- connector.c: the Serverless VPC Access API ----------------------- */

/* Whether name is projects/P/locations/L/connectors/C, each part URL-safe
 * (it goes into the request path as it is): 1 or 0. */
int vpc_connector_name_ok(const char *name);

/* The connector's sizing fields, in this order: minInstances,
 * maxInstances, minThroughput, maxThroughput (metrics min_instances,
 * max_instances, min_throughput, max_throughput). */
#define VPC_SIZING_FIELDS 4
typedef struct vpc_sizing {
    int has[VPC_SIZING_FIELDS]; /* the field was there, as a number */
    double value[VPC_SIZING_FIELDS];
} vpc_sizing;
extern const char *const vpc_sizing_metric[VPC_SIZING_FIELDS];

/*
 * The answer to GET /v1/{connector} (HTTP status, body of len bytes) for
 * connector `name`, judged into res: 200 with a Connector by its state
 * (READY, and machineType equal to expect_mt when that is set: ready;
 * CREATING, UPDATING: transient; ERROR, DELETING: fatal; another state:
 * unknown), 200 with anything else fatal, 404 / 401 / 403 fatal, 429 and
 * 5xx transient, any other status fatal. *sz gets the sizing fields of a
 * Connector (all unset otherwise).
 */
void vpc_judge_answer(long status, const char *body, size_t len,
                      const char *name, const char *expect_mt, vpc_sizing *sz,
                      vpc_part *res);

/* The connector part: the token got, the Connector fetched and judged,
 * its metrics reported, its sizing in *sz. *token_out is the token used
 * (heap, the caller frees it with gp_sdk_free_secret()), or NULL. */
void vpc_connector_check(gp_ctx *ctx, const gp_api *api, const char *name,
                         vpc_part *res, char **token_out, vpc_sizing *sz);

/* ---- monitoring.c: utilisation from Cloud Monitoring ------------------ */

/* A ListTimeSeriesResponse of the connector's series is bounded by its
 * few metrics over 10 minutes. */
#define VPC_MAX_SERIES_BODY (256 * 1024)

/* The newest point of each of the connector's series. */
typedef struct vpc_usage {
    int has_instances, has_cpu, has_throughput;
    double instances; /* connector/instances */
    double cpu;       /* connector/cpu/utilizations' mean, 0..1 */
    double mbps;      /* sent_bytes_count + received_bytes_count, Mbit/s */
} vpc_usage;

/*
 * The answer to projects.timeSeries.list (HTTP status, body of len bytes)
 * judged into res and *u: 200 with a ListTimeSeriesResponse ready (*u has
 * what its series held, nothing for {}), 200 with anything else fatal,
 * 401 / 403 fatal (naming roles/monitoring.viewer), 429 and 5xx
 * transient, any other status fatal.
 */
void vpc_judge_series(long status, const char *body, size_t len, vpc_usage *u,
                      vpc_part *res);

/* The utilisation part: the connector's series of the last 10 minutes,
 * asked of {monitoring_url} with token, reported as instances_usage,
 * throughput_usage and cpu_utilisation against the sizing sz; no series
 * at all is transient in warmup and fatal after. */
void vpc_utilisation_check(gp_ctx *ctx, const gp_api *api, const char *name,
                           const vpc_sizing *sz, const char *token,
                           vpc_part *res);

#endif
