/*
 * plugins/grpc/codec.c - the grpc probe's pure parts (see codec.h).
 * The messages are protobuf-c's (health.pb-c.c, generated at build time
 * from health.proto); the 5-byte frame around them is gRPC's own
 * (PROTOCOL-HTTP2.md: a compressed flag and a 4-byte big-endian length).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "gpcheck/sdk.h"
#include "health.pb-c.h"

long grpc_health_request(const char *service, unsigned char *out, size_t cap)
{
    Grpc__Health__V1__HealthCheckRequest req =
        GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    size_t n;

    req.service = (char *)(service ? service : "");
    if (strlen(req.service) > GRPC_MAX_SERVICE)
        return -1;
    n = grpc__health__v1__health_check_request__get_packed_size(&req);
    if (cap < 5 || n > cap - 5)
        return -1;
    out[0] = 0; /* not compressed */
    out[1] = (unsigned char)(n >> 24);
    out[2] = (unsigned char)(n >> 16);
    out[3] = (unsigned char)(n >> 8);
    out[4] = (unsigned char)n;
    grpc__health__v1__health_check_request__pack(&req, out + 5);
    return (long)(n + 5);
}

int grpc_health_reply(const unsigned char *body, size_t len, int *status,
                      const char **why)
{
    Grpc__Health__V1__HealthCheckResponse *r;
    size_t n;

    *status = GRPC_HEALTH_UNKNOWN;
    if (len == 0) {
        *why = "no message";
        return -1;
    }
    if (len < 5) {
        *why = "a message cut short";
        return -1;
    }
    if (body[0] != 0) {
        /* We send no grpc-accept-encoding, so a server may not compress;
         * a flag other than 0 or 1 is not gRPC at all. */
        *why = body[0] == 1 ? "a compressed message" : "not a gRPC message";
        return -1;
    }
    n = (size_t)body[1] << 24 | (size_t)body[2] << 16 | (size_t)body[3] << 8 |
        (size_t)body[4];
    if (n > len - 5) {
        *why = "a message cut short";
        return -1;
    }
    if (n < len - 5) {
        *why = "more than one message";
        return -1;
    }
    r = grpc__health__v1__health_check_response__unpack(NULL, n, body + 5);
    if (!r) {
        *why = "not a HealthCheckResponse";
        return -1;
    }
    *status = (int)r->status;
    grpc__health__v1__health_check_response__free_unpacked(r, NULL);
    *why = NULL;
    return 0;
}

const char *grpc_serving_name(int status)
{
    switch (status) {
    case GRPC_HEALTH_UNKNOWN: return "UNKNOWN";
    case GRPC_HEALTH_SERVING: return "SERVING";
    case GRPC_HEALTH_NOT_SERVING: return "NOT_SERVING";
    case GRPC_HEALTH_SERVICE_UNKNOWN: return "SERVICE_UNKNOWN";
    default: return NULL;
    }
}

gp_outcome grpc_serving_outcome(int status)
{
    switch (status) {
    case GRPC_HEALTH_SERVING: return GP_READY;
    case GRPC_HEALTH_SERVICE_UNKNOWN: return GP_FATAL;
    default: return GP_TRANSIENT;
    }
}

static const char *const code_names[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char *grpc_code_name(long code)
{
    if (code < 0 || code >= (long)(sizeof code_names / sizeof code_names[0]))
        return NULL;
    return code_names[code];
}

gp_outcome grpc_code_outcome(long code)
{
    switch (code) {
    case GRPC_OK: return GP_READY;
    case 3:  /* INVALID_ARGUMENT */
    case 5:  /* NOT_FOUND */
    case 6:  /* ALREADY_EXISTS */
    case 7:  /* PERMISSION_DENIED */
    case 9:  /* FAILED_PRECONDITION */
    case 11: /* OUT_OF_RANGE */
    case 12: /* UNIMPLEMENTED */
    case 13: /* INTERNAL */
    case 15: /* DATA_LOSS */
    case 16: /* UNAUTHENTICATED */ return GP_FATAL;
    default: return GP_TRANSIENT;
    }
}

long grpc_code_from_http(long http_status)
{
    switch (http_status) {
    case 400: return GRPC_INTERNAL;
    case 401: return 16; /* UNAUTHENTICATED */
    case 403: return 7;  /* PERMISSION_DENIED */
    case 404: return GRPC_UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504: return GRPC_UNAVAILABLE;
    default: return GRPC_UNKNOWN;
    }
}

long grpc_parse_code(const char *value, size_t len)
{
    long code = 0;

    if (len == 0 || len > 9)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)value[i]))
            return -1;
        code = code * 10 + (value[i] - '0');
    }
    return code;
}

static int hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

size_t grpc_message_decode(const char *in, size_t len, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        int hi, lo;

        if (in[i] == '%' && i + 2 < len && (hi = hex(in[i + 1])) >= 0 &&
            (lo = hex(in[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    out[o] = '\0';
    return o;
}

int grpc_metadata_ok(const char *item, size_t *name_len, const char **value)
{
    const char *colon = strchr(item, ':');
    size_t n;

    if (!colon || colon == item)
        return 0;
    n = (size_t)(colon - item);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)item[i];

        if (!(islower(c) || isdigit(c) || c == '-' || c == '_' || c == '.'))
            return 0;
    }
    if (strncmp(item, "grpc-", 5) == 0 ||
        (n >= 4 && strncmp(colon - 4, "-bin", 4) == 0))
        return 0;
    for (const char *v = colon + 1; *v; v++)
        if ((unsigned char)*v < 0x20 || (unsigned char)*v == 0x7f)
            return 0;
    /* Names reserved by HTTP/2 and gRPC: pseudo-headers start with ':',
     * refused above (the name would be empty); these the probe sets. */
    static const char *const taken[] = {"content-type", "te", "user-agent",
                                        "host", "content-length"};
    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++)
        if (strlen(taken[i]) == n && strncmp(item, taken[i], n) == 0)
            return 0;
    *name_len = n;
    *value = colon + 1;
    while (**value == ' ' || **value == '\t')
        (*value)++;
    return 1;
}

const char *grpc_parse_target(const char *target, char *host, size_t hostlen,
                              unsigned *port)
{
    const char *colon, *start = target, *end;
    const char *why;
    size_t n;

    if (!target || !*target)
        return "empty";
    if (strstr(target, "://"))
        return "a URL, not host:port (set plaintext for h2c)";
    if (target[0] == '[') {
        start = target + 1;
        end = strchr(start, ']');
        if (!end || end[1] != ':')
            return "an IPv6 address needs [ADDR]:PORT";
        colon = end + 1;
    } else {
        colon = strrchr(target, ':');
        if (!colon)
            return "no ':PORT' (host:port)";
        end = colon;
        if (memchr(target, ':', (size_t)(colon - target)))
            return "an IPv6 address needs [ADDR]:PORT";
    }
    n = (size_t)(end - start);
    if (n == 0)
        return "no host before ':PORT'";
    if (n >= hostlen)
        return "host too long";
    if ((why = gp_sdk_port_problem(colon + 1, port)) != NULL)
        return why;
    memcpy(host, start, n);
    host[n] = '\0';
    return gp_sdk_host_problem(host);
}
