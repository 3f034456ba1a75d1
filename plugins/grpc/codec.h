/*
 * plugins/grpc/codec.h - the grpc probe's pure parts: the Health Check
 * request and reply in gRPC's length-prefixed framing (the messages by
 * protobuf-c, generated from health.proto), gRPC status codes and what
 * they mean for the gate, the HTTP-to-gRPC status mapping, grpc-status
 * and grpc-message values, metadata items and targets. No I/O here: unit-tested
 * beside it (test_codec.c) and fuzzed (tests/fuzz/fuzz_grpc_reply.c).
 */
#ifndef GP_GRPC_CODEC_H
#define GP_GRPC_CODEC_H

#include <stddef.h>

#include "gpcheck/plugin.h"

/* The longest service name a request carries (the Health proto has no
 * limit; a name this long is a configuration mistake). */
#define GRPC_MAX_SERVICE 1024
/* Room for a whole request frame: the 5-byte prefix, the tag, a varint
 * length and the name. */
#define GRPC_REQUEST_MAX (5 + 1 + 2 + GRPC_MAX_SERVICE)

/* HealthCheckResponse.ServingStatus values. */
enum {
    GRPC_HEALTH_UNKNOWN = 0,
    GRPC_HEALTH_SERVING = 1,
    GRPC_HEALTH_NOT_SERVING = 2,
    GRPC_HEALTH_SERVICE_UNKNOWN = 3,
};

/* gRPC status codes (grpc/doc/statuscodes.md) this file names. */
enum {
    GRPC_OK = 0,
    GRPC_UNKNOWN = 2,
    GRPC_INTERNAL = 13,
    GRPC_UNIMPLEMENTED = 12,
    GRPC_UNAVAILABLE = 14,
};

/* A request frame for `service` ("" for the server as a whole) into out:
 * its length, or -1 when the name is longer than GRPC_MAX_SERVICE or out
 * is too small. */
long grpc_health_request(const char *service, unsigned char *out, size_t cap);

/*
 * The body of a Check response: exactly one uncompressed length-prefixed
 * message, a HealthCheckResponse. Returns 0 with *status (any enum value
 * the server sent: proto3 enums are open), or -1 with *why (static): "no
 * message", "a compressed message", "a message cut short", "more than one
 * message", "not a HealthCheckResponse".
 */
int grpc_health_reply(const unsigned char *body, size_t len, int *status,
                      const char **why);

/* "SERVING", "NOT_SERVING", ...; NULL for a value the proto does not
 * define. */
const char *grpc_serving_name(int status);

/* SERVING: GP_READY; NOT_SERVING and UNKNOWN (and values the proto does
 * not define): GP_TRANSIENT, the server says it is not ready yet;
 * SERVICE_UNKNOWN: GP_FATAL, no such service will appear by waiting. */
gp_outcome grpc_serving_outcome(int status);

/* "OK", "CANCELLED", ... "UNAUTHENTICATED"; NULL for a code above 16. */
const char *grpc_code_name(long code);

/*
 * A grpc-status other than OK -> outcome: TRANSIENT for what may clear up
 * by itself (CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED,
 * ABORTED, UNAVAILABLE, and codes above 16, which gRPC reads as UNKNOWN),
 * FATAL for what the same request gets again (INVALID_ARGUMENT, NOT_FOUND
 * - the Health service's answer for an unknown service -, ALREADY_EXISTS,
 * PERMISSION_DENIED, FAILED_PRECONDITION, OUT_OF_RANGE, UNIMPLEMENTED,
 * INTERNAL, DATA_LOSS, UNAUTHENTICATED). GRPC_OK is GP_READY.
 */
gp_outcome grpc_code_outcome(long code);

/* The gRPC status of an HTTP response without grpc-status, as gRPC's
 * doc/http-grpc-status-mapping.md maps it: 400 INTERNAL, 401
 * UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 UNIMPLEMENTED, 429 502 503
 * 504 UNAVAILABLE, anything else UNKNOWN. */
long grpc_code_from_http(long http_status);

/* A grpc-status value: its code (0-99 and more), or -1 when it is not a
 * decimal number. */
long grpc_parse_code(const char *value, size_t len);

/* grpc-message is percent-encoded (PROTOCOL-HTTP2.md): decode into out
 * (cap bytes, at least 1), always NUL-terminated; a '%' not followed by
 * two hex digits is kept. The result may hold any byte: make it
 * printable before showing it. Returns the decoded length. */
size_t grpc_message_decode(const char *in, size_t len, char *out, size_t cap);

/* Whether a metadata item is "name: value" with a name gRPC allows
 * (lower-case letters, digits, '-', '_', '.'; not starting with "grpc-"
 * or ':', reserved; not ending in "-bin", binary values unsupported;
 * not a header the probe sets itself);
 * when it is, *name_len is the name's length and *value its value. */
int grpc_metadata_ok(const char *item, size_t *name_len, const char **value);

/* target "host:port" or "[v6addr]:port": the host (without brackets)
 * into host (hostlen bytes) and the port. Returns NULL, or a static
 * reason ("no ':PORT'", "bad port", the host's problem as
 * gp_sdk_host_problem() says it). */
const char *grpc_parse_target(const char *target, char *host, size_t hostlen,
                              unsigned *port);

#endif
