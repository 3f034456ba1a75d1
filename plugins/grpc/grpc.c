/*
 * plugins/grpc/grpc.c - the `grpc` probe: does a gRPC server answer the
 * Health Checking Protocol's grpc.health.v1.Health/Check with SERVING,
 * for the server as a whole or for one service?
 *
 * One attempt reads top to bottom:
 *   1. read the options: target (host:port), service, the TLS files or
 *      plaintext, metadata (every value declared secret, so the core masks
 *      it wherever it might show);
 *   2. one HTTP/2 POST to /grpc.health.v1.Health/Check on a fresh
 *      connection (h2.c: nghttp2 over the SDK's bounded connect, and
 *      OpenSSL with ALPN h2 unless plaintext, server_name as SNI, for the
 *      certificate check and as :authority), every wait bounded by the
 *      time left, which also goes to the server as grpc-timeout; the
 *      request a protobuf-c HealthCheckRequest in gRPC's 5-byte frame
 *      (codec.c);
 *   3. read grpc-status and grpc-message from the headers or the
 *      trailers, then the HealthCheckResponse: SERVING ready; NOT_SERVING,
 *      UNKNOWN transient; SERVICE_UNKNOWN, NOT_FOUND (an unknown service:
 *      transient in the warmup, it may not be registered yet),
 *      UNIMPLEMENTED (no Health service) fatal; other codes as gRPC's docs
 *      say (codec.c); TLS verification failures fatal.
 *
 * The plugin keeps no state: everything belongs to one check() call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"
#include "h2.h"

/* The most metadata items (each value is a secret: at most 64 a probe). */
#define GRPC_MAX_METADATA 32
#define GRPC_PATH "/grpc.health.v1.Health/Check"

static const gp_option grpc_options[] = {
    {.key = "target",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_REQUIRED,
     .help = "host:port of the gRPC server ([ADDR]:PORT for IPv6)"},
    {.key = "service",
     .type = GP_TYPE_STRING,
     .def = "",
     .help = "service name to ask about (empty: the server as a whole)"},
    {.key = "plaintext",
     .type = GP_TYPE_BOOLEAN,
     .def = "false",
     .help = "HTTP/2 without TLS (h2c, prior knowledge)"},
    {.key = "ca_file",
     .type = GP_TYPE_STRING,
     .help = "PEM file of CA certificates to verify the server with (instead "
             "of the system's)"},
    {.key = "cert_file",
     .type = GP_TYPE_STRING,
     .help = "PEM client certificate (mTLS)"},
    {.key = "key_file",
     .type = GP_TYPE_STRING,
     .help = "PEM private key of cert_file (unencrypted), when not in it"},
    {.key = "server_name",
     .type = GP_TYPE_STRING,
     .help = "name for SNI, the certificate check and :authority (default: "
             "the target's host)"},
    {.key = "metadata",
     .type = GP_TYPE_LIST,
     .help = "request metadata, each `name: value`; values are secret "
             "(never printed)"},
    {.key = NULL},
};

static const gp_metric grpc_metrics[] = {
    {.name = "response_time",
     .unit = GP_UNIT_MS,
     .help = "the Check call, connect and handshake included"},
    {.name = "grpc_status",
     .unit = GP_UNIT_NONE,
     .help = "the call's grpc-status code (0: OK)"},
    {.name = NULL},
};

/* Request headers: the pseudo-headers, ours, and the metadata. */
#define GRPC_FIXED_HEADERS 8
#define GRPC_MAX_HEADERS (GRPC_FIXED_HEADERS + GRPC_MAX_METADATA)

/* One attempt's state; lives on check()'s stack. */
typedef struct probe {
    gp_ctx *ctx;
    const gp_api *api;
    const char *target;
    const char *service;
    char host[256];   /* the target's host, without brackets */
    unsigned port;    /* the target's port */
    const char *name; /* the request's host: server_name or host */
    char authority[300];
    char timeout[24];
    nghttp2_nv nv[GRPC_MAX_HEADERS];
    size_t nvlen;
    h2_answer ans;
} probe;

/* ------------------------------------------------------------------------ */
/* The request.                                                              */

static void add(probe *p, const char *name, size_t nlen, const char *value,
                uint8_t flags)
{
    p->nv[p->nvlen++] = (nghttp2_nv){.name = (uint8_t *)name,
                                     .namelen = nlen,
                                     .value = (uint8_t *)value,
                                     .valuelen = strlen(value),
                                     .flags = flags};
}

/* The headers; metadata checked (validate() has said why at config
 * time), each value declared secret and kept out of the HPACK table. */
static gp_outcome headers(probe *p)
{
    const gp_api *api = p->api;
    const char *const *items = NULL;
    size_t n = api->opt_list(p->ctx, "metadata", &items);
    int v6 = strchr(p->name, ':') != NULL;

    if (n > GRPC_MAX_METADATA) {
        api->message(p->ctx, "option metadata: more than %d items",
                     GRPC_MAX_METADATA);
        return GP_FATAL;
    }
    snprintf(p->authority, sizeof p->authority, "%s%s%s:%u", v6 ? "[" : "",
             p->name, v6 ? "]" : "", p->port);
    /* The server may give up when we do (TimeoutValue: at most 8 digits;
     * more than 27 hours is left as the longest). */
    int64_t left = api->time_left_ms(p->ctx);
    snprintf(p->timeout, sizeof p->timeout, "%lldm",
             (long long)(left > 99999999 ? 99999999 : left));
    add(p, ":method", 7, "POST", 0);
    add(p, ":scheme", 7,
        api->opt_boolean(p->ctx, "plaintext") ? "http" : "https", 0);
    add(p, ":path", 5, GRPC_PATH, 0);
    add(p, ":authority", 10, p->authority, 0);
    add(p, "content-type", 12, "application/grpc", 0);
    add(p, "te", 2, "trailers", 0);
    add(p, "user-agent", 10, "grpc-c gpcheck/0.1.0", 0);
    add(p, "grpc-timeout", 12, p->timeout, 0);
    for (size_t i = 0; i < n; i++) {
        size_t name_len;
        const char *value;

        if (!grpc_metadata_ok(items[i], &name_len, &value)) {
            api->message(p->ctx,
                         "option metadata: item %zu is not `name: value` "
                         "with a lower-case name gRPC allows",
                         i + 1);
            return GP_FATAL;
        }
        api->secret(p->ctx, value);
        add(p, items[i], name_len, value, NGHTTP2_NV_FLAG_NO_INDEX);
    }
    return GP_READY;
}

/* ------------------------------------------------------------------------ */
/* The answer.                                                               */

/* A grpc-status other than OK. */
static gp_outcome call_failed(probe *p, long code, const char *origin)
{
    const char *name = grpc_code_name(code);
    char shown[sizeof p->ans.grpc_message * 4 + 8];
    char what[300];

    gp_sdk_printable(p->ans.grpc_message, strlen(p->ans.grpc_message), 200,
                     shown, sizeof shown);
    if (code == 5)
        snprintf(what, sizeof what, "service '%s' unknown to the server",
                 p->service);
    else if (code == GRPC_UNIMPLEMENTED)
        snprintf(what, sizeof what,
                 "the server does not implement "
                 "grpc.health.v1.Health");
    else
        snprintf(what, sizeof what, "Check failed");
    /* A service nobody has registered yet: grpc's health servicers answer
     * NOT_FOUND until the server sets its status, which a server does once
     * that service has started. Waited for in the warmup, fatal after it
     * (a wrong service name then fails the gate). */
    int later = code == 5 && p->api->in_warmup(p->ctx);

    p->api->message(p->ctx, "%s: %s (%s %ld %s%s%s%s)%s", p->target, what,
                    origin, code, name ? name : "unknown code",
                    shown[0] ? ": \"" : "", shown, shown[0] ? "\"" : "",
                    later ? ", still in warmup" : "");
    return later ? GP_TRANSIENT : grpc_code_outcome(code);
}

static gp_outcome judge(probe *p, double ms)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    const h2_answer *a = &p->ans;
    const char *why, *name;
    int status;

    api->metric(ctx, "response_time", ms);
    if (a->grpc_status < 0 && a->status != 200) {
        /* A proxy's answer: gRPC's HTTP-to-status mapping. */
        char origin[48];
        long code = grpc_code_from_http(a->status);

        snprintf(origin, sizeof origin, "HTTP %d, no grpc-status: read as",
                 a->status);
        api->metric(ctx, "grpc_status", (double)code);
        return call_failed(p, code, origin);
    }
    if (strncmp(a->content_type, "application/grpc", 16) != 0) {
        char shown[300];

        gp_sdk_printable(a->content_type, strlen(a->content_type), 60, shown,
                         sizeof shown);
        api->message(ctx, "%s: not a gRPC answer (HTTP %d, content-type '%s')",
                     p->target, a->status, shown);
        return GP_FATAL;
    }
    if (a->grpc_status < 0) {
        /* What gRPC's own clients call INTERNAL. */
        api->message(ctx, "%s: the call ended without a grpc-status (%s)",
                     p->target, nghttp2_http2_strerror(a->reset));
        return GP_FATAL;
    }
    api->metric(ctx, "grpc_status", (double)a->grpc_status);
    if (a->grpc_status != GRPC_OK)
        return call_failed(p, a->grpc_status, "grpc-status");
    if (a->truncated ||
        grpc_health_reply(a->body, a->body_len, &status, &why) < 0) {
        api->message(ctx, "%s: the answer is not a HealthCheckResponse (%s)",
                     p->target, a->truncated ? "too long" : why);
        return GP_FATAL;
    }
    name = grpc_serving_name(status);
    /* SERVICE_UNKNOWN says the same as NOT_FOUND: not registered yet. */
    int later = status == GRPC_HEALTH_SERVICE_UNKNOWN && api->in_warmup(ctx);

    if (name)
        api->message(ctx, "%s%s%s%s: %s in %.1f ms%s", p->target,
                     p->service[0] ? " (service '" : "", p->service,
                     p->service[0] ? "')" : "", name, ms,
                     later ? ", still in warmup" : "");
    else
        api->message(ctx,
                     "%s%s%s%s: serving status %d (not in health.proto) "
                     "in %.1f ms",
                     p->target, p->service[0] ? " (service '" : "", p->service,
                     p->service[0] ? "')" : "", status, ms);
    return later ? GP_TRANSIENT : grpc_serving_outcome(status);
}

static gp_outcome check(gp_ctx *ctx, const gp_api *api)
{
    probe p = {.ctx = ctx, .api = api};
    unsigned char req[GRPC_REQUEST_MAX];
    const char *why, *sn = api->opt_string(ctx, "server_name");
    int plaintext = api->opt_boolean(ctx, "plaintext");
    h2_tls tls = {0};
    long req_len;
    gp_outcome out;

    p.target = api->opt_string(ctx, "target");
    p.service = api->opt_string(ctx, "service");
    p.service = p.service ? p.service : "";
    if ((why = grpc_parse_target(p.target, p.host, sizeof p.host, &p.port))) {
        api->message(ctx, "option target: %s", why);
        return GP_FATAL;
    }
    p.name = sn && *sn && !plaintext ? sn : p.host;
    if ((req_len = grpc_health_request(p.service, req, sizeof req)) < 0) {
        api->message(ctx, "option service: longer than %d bytes",
                     GRPC_MAX_SERVICE);
        return GP_FATAL;
    }
    if ((out = headers(&p)) != GP_READY)
        return out;
    tls.name = p.name;
    tls.ca_file =
        api->opt_isset(ctx, "ca_file") ? api->opt_string(ctx, "ca_file") : NULL;
    tls.cert_file = api->opt_isset(ctx, "cert_file")
                        ? api->opt_string(ctx, "cert_file")
                        : NULL;
    tls.key_file = api->opt_isset(ctx, "key_file")
                       ? api->opt_string(ctx, "key_file")
                       : NULL;

    double start = gp_sdk_now_ms();
    out =
        h2_request(ctx, api, p.host, p.port, p.target, plaintext ? NULL : &tls,
                   p.nv, p.nvlen, req, (size_t)req_len, &p.ans);
    return out == GP_READY ? judge(&p, gp_sdk_now_ms() - start) : out;
}

/*
 * validate() (ABI 1.2): the target's form, the service name's length, the
 * server_name's form, each metadata item (its value declared secret, so
 * it is masked wherever the probe's values show), and the TLS options
 * that plaintext makes meaningless or that need each other.
 */
static void validate(gp_ctx *ctx, const gp_api *api)
{
    const char *target = api->opt_string(ctx, "target");
    const char *service = api->opt_string(ctx, "service");
    const char *sn = api->opt_string(ctx, "server_name");
    const char *const *items = NULL;
    char host[256];
    unsigned port;
    const char *why;
    size_t n;

    if (target && (why = grpc_parse_target(target, host, sizeof host, &port)))
        api->invalid(ctx, "target", "%s", why);
    if (service && strlen(service) > GRPC_MAX_SERVICE)
        api->invalid(ctx, "service", "longer than %d bytes", GRPC_MAX_SERVICE);
    if (sn && *sn && (why = gp_sdk_host_problem(sn)))
        api->invalid(ctx, "server_name", "%s", why);
    n = api->opt_list(ctx, "metadata", &items);
    if (n > GRPC_MAX_METADATA)
        api->invalid(ctx, "metadata", "more than %d items", GRPC_MAX_METADATA);
    for (size_t i = 0; i < n && i < GRPC_MAX_METADATA; i++) {
        size_t name_len;
        const char *value;

        if (grpc_metadata_ok(items[i], &name_len, &value))
            api->secret(ctx, value);
        else
            api->invalid(ctx, "metadata",
                         "item %zu is not `name: value` with a lower-case "
                         "name of letters, digits, '-', '_', '.' (not "
                         "grpc-*, *-bin or a header curl sets)",
                         i + 1);
    }
    if (api->opt_boolean(ctx, "plaintext")) {
        static const char *const tls[] = {"ca_file", "cert_file", "key_file",
                                          "server_name"};
        for (size_t i = 0; i < sizeof tls / sizeof tls[0]; i++)
            if (api->opt_isset(ctx, tls[i]))
                api->invalid(ctx, tls[i], "needs TLS, but plaintext is on");
    }
    if (api->opt_isset(ctx, "key_file") && !api->opt_isset(ctx, "cert_file"))
        api->invalid(ctx, "key_file", "needs cert_file");
}

static const gp_plugin grpc_plugin = {
    GP_PLUGIN_HEADER,
    .name = "grpc",
    .version = "0.1.0",
    .summary = "a gRPC server answers grpc.health.v1.Health/Check with SERVING",
    .options = grpc_options,
    .metrics = grpc_metrics,
    .check = check,
    .validate = validate,
};

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    return &grpc_plugin;
}
