/*
 * plugins/redis/hiredis_compat.h - every line of the redis probe that
 * depends on the hiredis version, in one place. Debian 12 has hiredis
 * 0.14; Ubuntu 24.04 and Debian 13 have 1.x. The probe uses only calls
 * both have (redisConnectFd, redisConnectUnixWithTimeout, redisSetTimeout,
 * redisAppendCommandArgv, redisBufferWrite/Read, redisGetReplyFromReader,
 * the reader's object functions); what differs is below.
 * tests/integration/test_hiredis1.py builds the probe against hiredis 1.x
 * (Debian 13's source) and runs it against a real Redis.
 */
#ifndef GPCHECK_REDIS_HIREDIS_COMPAT_H
#define GPCHECK_REDIS_HIREDIS_COMPAT_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#ifndef HIREDIS_MAJOR
#error "hiredis.h defines no HIREDIS_MAJOR: not hiredis 0.14 or 1.x"
#endif

#if HIREDIS_MAJOR >= 1
/* The element count redisReplyObjectFunctions.createArray receives. */
typedef size_t compat_count;
/* 1.x names an expired receive timeout REDIS_ERR_TIMEOUT when recv()
 * says ETIMEDOUT (an EAGAIN from SO_RCVTIMEO stays REDIS_ERR_IO). */
#define COMPAT_TIMED_OUT(c) ((c)->err == REDIS_ERR_TIMEOUT)
#else
typedef int compat_count;
#define COMPAT_TIMED_OUT(c) 0 /* 0.14 has no REDIS_ERR_TIMEOUT */
#endif

#endif /* GPCHECK_REDIS_HIREDIS_COMPAT_H */
