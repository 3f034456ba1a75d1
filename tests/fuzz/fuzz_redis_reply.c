/*
 * tests/fuzz/fuzz_redis_reply.c - any bytes as a server's reply stream, read
 * as the redis probe reads it (plugins/redis/reply.c): a hiredis reader with
 * reply_guard installed, fed in chunks, reply_guard_ok() after each feed as
 * redis.c calls it, every reply walked through the error and INFO helpers.
 * Checked: a reply handed out stays within the guard's element cap, and what
 * the reader buffers stays within its byte cap once reply_guard_ok() passed;
 * the helpers' outputs are NUL-terminated within their buffers. The run
 * script's -malloc_limit_mb makes any allocation beyond the caps (hiredis'
 * calloc of an array header's count) a failure.
 *
 * Input: byte 0 picks the caps (the probe's own, REPLY_MAX_BYTES and
 * REPLY_MAX_ELEMENTS, or small ones the fuzzer can reach), byte 1 the size
 * of each chunk fed; the rest is the stream.
 */
#include <string.h>

#include "fuzz.h"
#include "reply.h"

static const char *const info_keys[] = {
    "redis_version", "role",      "connected_clients", "maxclients",
    "used_memory",   "maxmemory", "master_host",       ""};

/* Elements in r, r included. */
static long long count(const redisReply *r)
{
    long long n = 1;
    if (r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements; i++)
            n += count(r->element[i]);
    return n;
}

static void helpers(const redisReply *r)
{
    char out[64];

    if (r->type == REDIS_REPLY_ERROR) {
        FUZZ_CHECK(r->str != NULL);
        (void)reply_error_is_transient(r->str);
        FUZZ_CHECK(reply_error_hint(r->str) != NULL);
    }
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
        for (size_t k = 0; k < sizeof(info_keys) / sizeof(info_keys[0]); k++) {
            memset(out, 'x', sizeof(out));
            if (reply_info_field(r->str, info_keys[k], out, sizeof(out)))
                FUZZ_CHECK(memchr(out, '\0', sizeof(out)) != NULL);
            FUZZ_CHECK(reply_info_number(r->str, info_keys[k]) >= -1);
        }
        memset(out, 'x', sizeof(out));
        reply_describe_role(r->str, "slave", out, sizeof(out));
        FUZZ_CHECK(memchr(out, '\0', sizeof(out)) != NULL);
    }
    if (r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements; i++)
            helpers(r->element[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t max_bytes = REPLY_MAX_BYTES;
    long long max_elements = REPLY_MAX_ELEMENTS;
    if (data[0] & 1) {
        max_bytes = 16 + data[0];
        max_elements = data[0] >> 3;
    }
    size_t chunk = data[1] ? data[1] : size;
    data += 2;
    size -= 2;

    redisReader *rd = redisReaderCreate();
    if (!rd)
        return 0;
    reply_guard g;
    reply_guard_init(&g, rd, max_bytes, max_elements);
    reply_guard_start(&g);
    for (size_t off = 0; off < size;) {
        size_t n = size - off < chunk ? size - off : chunk;
        if (redisReaderFeed(rd, (const char *)data + off, n) != REDIS_OK)
            break;
        off += n;
        if (!reply_guard_ok(&g, rd))
            break; /* redis.c: "reply too large" */
        FUZZ_CHECK(rd->len - rd->pos <= max_bytes);
        void *reply = NULL;
        int rc = REDIS_OK;
        while ((rc = redisReaderGetReply(rd, &reply)) == REDIS_OK && reply) {
            FUZZ_CHECK(!g.too_large);
            FUZZ_CHECK(count(reply) - 1 <= max_elements);
            helpers(reply);
            freeReplyObject(reply);
            reply = NULL;
            reply_guard_start(&g); /* the next command's reply */
        }
        if (rc != REDIS_OK)
            break; /* a protocol error, or a cap hit (g.too_large) */
    }
    redisReaderFree(rd);
    return 0;
}
