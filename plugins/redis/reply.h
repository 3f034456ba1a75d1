/*
 * plugins/redis/reply.h - what the redis probe makes of the bytes a server
 * sends: limits on a reply before hiredis allocates it, and the reading of
 * error replies and INFO. Pure (no sockets, no gp_api), so that the unit
 * test beside it (test_reply.c) and a fuzzer can drive it with bytes.
 */
#ifndef GPCHECK_REDIS_REPLY_H
#define GPCHECK_REDIS_REPLY_H

#include <stddef.h>

#include "hiredis_compat.h"

/* A health check reads PONG, OK and INFO (a few KiB; a server with many
 * databases and clients, some tens). More is not Redis answering us. */
#define REPLY_MAX_BYTES (4 * 1024 * 1024) /* unparsed bytes buffered */
#define REPLY_MAX_ELEMENTS 65536 /* array elements, nested ones included */

/*
 * Limits for one hiredis reader. hiredis 0.14 (Debian 12) has no
 * maxelements or maxbulklen: an array header "*2147483647" makes it
 * calloc() 16 GiB at once, and a bulk header "$2147483647" makes it buffer
 * whatever follows until 2 GiB have come. The guard wraps the reader's
 * object functions to count array elements before hiredis allocates them,
 * and reply_guard_ok() checks the buffered bytes after each read.
 */
typedef struct reply_guard {
    redisReplyObjectFunctions fns;         /* hiredis' own, wrapped */
    const redisReplyObjectFunctions *base; /* hiredis' own; not ours */
    size_t max_bytes;
    long long max_elements;
    long long elements; /* in the reply being read */
    int too_large;      /* a limit was hit: the reader's error is ours */
} reply_guard;

/* Install g on reader r (which must outlive neither: g is r's privdata and
 * holds the function table r uses). */
void reply_guard_init(reply_guard *g, redisReader *r, size_t max_bytes,
                      long long max_elements);

/* Before each command's reply: count its elements from 0. */
void reply_guard_start(reply_guard *g);

/* After feeding the reader: 1 within the limits, 0 over them (too_large
 * set; stop reading and report "reply too large"). */
int reply_guard_ok(reply_guard *g, const redisReader *r);

/* Error replies that clear up by themselves (LOADING, BUSY, MASTERDOWN,
 * TRYAGAIN, CLUSTERDOWN, too many clients): 1, else 0. */
int reply_error_is_transient(const char *err);

/* A hint where Redis' own words do not say what to do, or "". */
const char *reply_error_hint(const char *err);

/* Copy the value of "key:value" from INFO text into out (cut to fit);
 * 1 when found, 0 when not. */
int reply_info_field(const char *info, const char *key, char *out,
                     size_t outlen);

/* A non-negative integer field of INFO, or -1. */
double reply_info_number(const char *info, const char *key);

/* "master" or "replica of HOST:PORT, link up", for messages, from INFO
 * and its role field. */
void reply_describe_role(const char *info, const char *role, char *out,
                         size_t outlen);

#endif /* GPCHECK_REDIS_REPLY_H */
