/*
 * tests/fuzz/fuzz_grpc_reply.c - any bytes as what a gRPC server sends the
 * grpc probe (plugins/grpc/codec.c): byte 0 picks the part, the rest is it.
 *   0: a Check response body: gRPC's 5-byte frame and a
 *      HealthCheckResponse (protobuf-c's unpacker underneath);
 *   1: a grpc-status value and a grpc-message value (split at the first
 *      '\n'), decoded into a small buffer;
 *   2: a metadata item and a target, as configured.
 * Checked against codec.h: a body is accepted only when its frame is
 * uncompressed and its length is exactly the rest; a refusal has a
 * reason, an acceptance none; every status maps to an outcome; a decoded
 * message is NUL-terminated within its buffer and no longer than its
 * input; a code is -1 or its digits' value; an accepted metadata item's
 * name is lower-case and its value inside the item; an accepted target's
 * host is in the target.
 */
#include <ctype.h>
#include <string.h>

#include "codec.h"
#include "fuzz.h"

static void body(const uint8_t *data, size_t size)
{
    int status = -1;
    const char *why = "unset";
    int rc = grpc_health_reply(data, size, &status, &why);

    if (rc == 0) {
        FUZZ_CHECK(why == NULL);
        FUZZ_CHECK(size >= 5 && data[0] == 0);
        FUZZ_CHECK(((size_t)data[1] << 24 | (size_t)data[2] << 16 |
                    (size_t)data[3] << 8 | data[4]) == size - 5);
        gp_outcome o = grpc_serving_outcome(status);
        FUZZ_CHECK(o == GP_READY || o == GP_TRANSIENT || o == GP_FATAL);
        FUZZ_CHECK((o == GP_READY) == (status == GRPC_HEALTH_SERVING));
    } else {
        FUZZ_CHECK(rc == -1 && why != NULL && *why);
    }
}

static void values(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nl = memchr(s, '\n', size);
    size_t n = nl ? (size_t)(nl - s) : size;
    char out[32];
    long code = grpc_parse_code(s, n);

    if (code >= 0) {
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(isdigit((unsigned char)s[i]));
        gp_outcome o = grpc_code_outcome(code);
        FUZZ_CHECK((o == GP_READY) == (code == GRPC_OK));
    } else {
        FUZZ_CHECK(code == -1);
    }
    if (nl) {
        size_t len = size - n - 1;

        memset(out, 'x', sizeof out);
        size_t got = grpc_message_decode(nl + 1, len, out, sizeof out);
        FUZZ_CHECK(got < sizeof out && got <= len);
        FUZZ_CHECK(out[got] == '\0');
    }
}

static void config(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    char *nl = strchr(s, '\n');
    const char *target = nl ? nl + 1 : "";
    size_t name_len;
    const char *value;
    char host[64];
    unsigned port = 0;

    if (nl)
        *nl = '\0';
    if (grpc_metadata_ok(s, &name_len, &value)) {
        FUZZ_CHECK(name_len > 0 && s[name_len] == ':');
        for (size_t i = 0; i < name_len; i++)
            FUZZ_CHECK(!isupper((unsigned char)s[i]));
        FUZZ_CHECK(value > s + name_len && value <= s + strlen(s));
    }
    memset(host, 'x', sizeof host);
    if (!grpc_parse_target(target, host, sizeof host, &port)) {
        FUZZ_CHECK(memchr(host, '\0', sizeof host) != NULL);
        FUZZ_CHECK(strstr(target, host) != NULL);
        FUZZ_CHECK(port >= 1 && port <= 65535);
    }
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0: body(data + 1, size - 1); break;
    case 1: values(data + 1, size - 1); break;
    default: config(data + 1, size - 1); break;
    }
    return 0;
}
