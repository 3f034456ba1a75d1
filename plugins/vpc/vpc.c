/*
 * plugins/vpc/vpc.c - the `vpc` probe: can traffic reach the private
 * endpoints behind a Serverless VPC Access connector, and is the connector
 * itself healthy and sized as intended?
 *
 * Two modes, either or both in one probe:
 *
 *   reachability  connect to every `targets` host:port `samples` times,
 *                 all at once (one poll() loop over non-blocking sockets,
 *                 bounded by the time left), and require `min_reachable`
 *                 percent of the connects to succeed. A connector under
 *                 load drops and slows connections; a single connect that
 *                 happens to get through proves little.
 *
 *   connector     GET {api_url}/v1/{connector} from the Serverless VPC
 *                 Access API (libcurl, bounded by the time left) with a
 *                 Bearer token from `token`, `token_file` or a GCE metadata
 *                 server, parse the Connector resource (jansson) and map
 *                 its state: READY is ready, CREATING and UPDATING are
 *                 transient, ERROR, DELETING and a missing connector are
 *                 fatal. Its sizing becomes metrics, so thresholds catch a
 *                 connector that drifted from the intended capacity.
 *
 * One attempt reads top to bottom (check()):
 *   1. with `connector` set, ask the API for the connector
 *      (vpc_connector_check(), connector.c): the token, the GET, the
 *      Connector's state and sizing; its fatal states end the probe at once;
 *   2. with `targets` set and time left, probe them (vpc_reachability(),
 *      reach.c);
 *   3. the part that is not ready is said first; with both modes both must
 *      be ready.
 *
 * The token is a secret in every form: `token` is masked by the core, but
 * one read from a file or fetched from the metadata server is ours to
 * keep out of messages and logs, so every text that goes out is scrubbed.
 *
 * The plugin keeps no state: everything belongs to one check() call.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"
#include "gpcheck/sdk_curl.h"
#include "vpc.h"

#define VPC_DEFAULT_API "https://vpcaccess.googleapis.com"
#define VPC_DEFAULT_MONITORING "https://monitoring.googleapis.com"

static const gp_option vpc_options[] = {
    {.key = "targets",
     .type = GP_TYPE_LIST,
     .help = "reachability: endpoints behind the connector, host:port each "
             "(IPv6 as [addr]:port)"},
    {.key = "samples",
     .type = GP_TYPE_INTEGER,
     .def = "3",
     .min = 1,
     .max = 100,
     .help = "reachability: concurrent connects per target"},
    {.key = "min_reachable",
     .type = GP_TYPE_PERCENTAGE,
     .def = "100%",
     .min = 0,
     .max = 100,
     .help = "reachability: share of all connects that must succeed"},
    {.key = "connect_timeout",
     .type = GP_TYPE_DURATION,
     .min = 1,
     .max = 3600 * 1000,
     .help = "reachability: limit for one connect (default: the time left "
             "in the attempt)"},
    {.key = "connector",
     .type = GP_TYPE_STRING,
     .help = "connector mode: projects/PROJECT/locations/REGION/connectors/"
             "NAME"},
    {.key = "api_url",
     .type = GP_TYPE_STRING,
     .def = VPC_DEFAULT_API,
     .help = "connector mode: the Serverless VPC Access API endpoint"},
    {.key = "token",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_SECRET,
     .help = "connector mode: OAuth 2 access token (Bearer)"},
    {.key = "token_file",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_FILE,
     .help = "connector mode: file holding the access token (mode 0600 or "
             "stricter)"},
    {.key = "metadata_url",
     .type = GP_TYPE_STRING,
     .help = "connector mode: GCE metadata token endpoint to get the token "
             "from (http://metadata.google.internal/computeMetadata/v1/"
             "instance/service-accounts/default/token)"},
    {.key = "expect_machine_type",
     .type = GP_TYPE_STRING,
     .help = "connector mode: the connector's machineType must be this "
             "(e.g. e2-micro)"},
    {.key = "ca_file",
     .type = GP_TYPE_STRING,
     .help = "connector mode: CA bundle to verify api_url, monitoring_url and "
             "metadata_url with (default: the system's)"},
    {.key = "utilisation",
     .type = GP_TYPE_BOOLEAN,
     .def = "false",
     .help = "connector mode: also read the connector's load from Cloud "
             "Monitoring (needs roles/monitoring.viewer)"},
    {.key = "monitoring_url",
     .type = GP_TYPE_STRING,
     .def = VPC_DEFAULT_MONITORING,
     .help = "utilisation: the Cloud Monitoring API endpoint"},
    {.key = NULL},
};

static const gp_metric vpc_metrics[] = {
    {.name = "reachable",
     .unit = GP_UNIT_PERCENT,
     .help = "share of the connects to targets that succeeded"},
    {.name = "connect_time_p50",
     .unit = GP_UNIT_MS,
     .help = "median time of the successful connects"},
    {.name = "connect_time_max",
     .unit = GP_UNIT_MS,
     .help = "slowest successful connect"},
    {.name = "targets", .unit = GP_UNIT_COUNT, .help = "targets probed"},
    {.name = "api_time",
     .unit = GP_UNIT_MS,
     .help = "time of the connector GET (token fetch excluded)"},
    {.name = "min_instances",
     .unit = GP_UNIT_COUNT,
     .help = "connector's minInstances"},
    {.name = "max_instances",
     .unit = GP_UNIT_COUNT,
     .help = "connector's maxInstances"},
    {.name = "min_throughput",
     .unit = GP_UNIT_NONE,
     .help = "connector's minThroughput, in Mbps"},
    {.name = "max_throughput",
     .unit = GP_UNIT_NONE,
     .help = "connector's maxThroughput, in Mbps"},
    {.name = "instances_usage",
     .unit = GP_UNIT_PERCENT,
     .help = "utilisation: instances running, of maxInstances"},
    {.name = "throughput_usage",
     .unit = GP_UNIT_PERCENT,
     .help = "utilisation: sent + received Mbit/s, of maxThroughput"},
    {.name = "cpu_utilisation",
     .unit = GP_UNIT_PERCENT,
     .help = "utilisation: the connector instances' mean CPU"},
    {.name = NULL},
};

/* ------------------------------------------------------------------------ */

static gp_outcome check(gp_ctx *ctx, const gp_api *api)
{
    const char *connector = api->opt_string(ctx, "connector");
    int with_conn = connector && *connector;
    int with_targets = api->opt_list(ctx, "targets", NULL) > 0;
    vpc_part conn = {GP_READY, ""}, reach = {GP_READY, ""};
    char *token = NULL;
    char msg[2200];

    if (!with_conn && !with_targets) {
        api->message(ctx, "nothing to check: set targets (reachability), "
                          "connector (connector state), or both");
        return GP_FATAL;
    }
    if (with_conn) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            api->message(ctx, "cannot initialise libcurl");
            return GP_UNKNOWN;
        }
        gp_curl_log_version(ctx, api);
        vpc_sizing sz;
        memset(&sz, 0, sizeof sz);
        vpc_connector_check(ctx, api, connector, &conn, &token, &sz);
        /* the load, as shares of the sizing just read: only of a
         * connector that is READY (a CREATING one has no load yet) */
        if (api->opt_boolean(ctx, "utilisation") && token &&
            conn.outcome == GP_READY && api->time_left_ms(ctx) > 0) {
            vpc_part util = {GP_READY, ""};
            vpc_utilisation_check(ctx, api, connector, &sz, token, &util);
            char both[2 * sizeof conn.text + 3]; /* cut by vpc_part_set */
            snprintf(both, sizeof both, "%s; %s",
                     util.outcome != GP_READY ? util.text : conn.text,
                     util.outcome != GP_READY ? conn.text : util.text);
            vpc_part_set(&conn, util.outcome, "%s", both);
        }
        curl_global_cleanup();
        /* ABI 1.2: a token fetched at run time is masked by the core. */
        if (token)
            api->secret(ctx, token);
    }
    /* A fatal connector needs no reachability numbers to be understood;
     * an API that used up the attempt leaves no time to measure them. */
    if (with_targets &&
        gcp_outcome_rank(conn.outcome) >= gcp_outcome_rank(GP_UNKNOWN))
        with_targets = 0;
    else if (with_targets && api->time_left_ms(ctx) <= 0)
        vpc_part_set(&reach, GP_TRANSIENT, "targets not tried: no time left");
    else if (with_targets)
        vpc_reachability(ctx, api, &reach);

    /* The part that is not ready comes first; both when both are set. */
    const vpc_part *first = &conn, *second = &reach;
    if (!with_conn ||
        gcp_outcome_rank(reach.outcome) > gcp_outcome_rank(conn.outcome)) {
        first = &reach;
        second = &conn;
    }
    if (with_conn && with_targets)
        snprintf(msg, sizeof msg, "%s; %s", first->text, second->text);
    else
        snprintf(msg, sizeof msg, "%s", first->text);
    gcp_scrub(msg, sizeof msg, token);
    api->message(ctx, "%s", msg);
    gp_sdk_free_secret(token);
    return gcp_outcome_rank(conn.outcome) >= gcp_outcome_rank(reach.outcome)
               ? conn.outcome
               : reach.outcome;
}

/*
 * validate() (ABI 1.2): what check() would refuse before any connect or
 * request: something to check at all, each target's host:port form, the
 * connector's resource name, the URLs, one token source, a usable token.
 */
static void validate(gp_ctx *ctx, const gp_api *api)
{
    const char *const *specs;
    size_t n = api->opt_list(ctx, "targets", &specs);
    const char *connector = api->opt_string(ctx, "connector");
    const char *token = api->opt_string(ctx, "token");
    const char *file = api->opt_string(ctx, "token_file");
    const char *meta = api->opt_string(ctx, "metadata_url");
    int with_conn = connector && *connector;

    if (!with_conn && n == 0)
        api->invalid(ctx, "targets",
                     "nothing to check: set targets (reachability), "
                     "connector (connector state), or both");
    for (size_t i = 0; i < n; i++) {
        vpc_target t;
        const char *why;

        memset(&t, 0, sizeof t);
        if ((why = vpc_parse_target(specs[i], &t)) != NULL)
            api->invalid(ctx, "targets", "'%s': %s", specs[i], why);
    }
    if (!with_conn) {
        if (api->opt_boolean(ctx, "utilisation"))
            api->invalid(ctx, "utilisation",
                         "needs connector mode: set connector (and a token "
                         "source)");
        return;
    }
    gcp_validate_url(ctx, api, "monitoring_url");
    if (!vpc_connector_name_ok(connector))
        api->invalid(ctx, "connector",
                     "'%s' is not projects/PROJECT/locations/REGION/"
                     "connectors/NAME",
                     connector);
    gcp_validate_url(ctx, api, "api_url");
    gcp_validate_url(ctx, api, "metadata_url");
    int sources = (token && *token) + (file && *file) + (meta && *meta);
    if (sources == 0)
        api->invalid(ctx, "connector",
                     "connector mode needs one of token, token_file or "
                     "metadata_url");
    else if (sources > 1)
        api->invalid(ctx, "token",
                     "set only one of token, token_file and metadata_url");
    if (token && *token && !gcp_token_ok(token))
        api->invalid(ctx, "token", "is not one printable word");
}

static const gp_plugin vpc_plugin = {
    GP_PLUGIN_HEADER,
    .name = "vpc",
    .version = "0.1.0",
    .summary = "private endpoints reachable through a VPC connector, and the "
               "connector READY (Serverless VPC Access API)",
    .options = vpc_options,
    .metrics = vpc_metrics,
    .check = check,
    .validate = validate,
};

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    return &vpc_plugin;
}
