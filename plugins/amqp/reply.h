/*
 * plugins/amqp/reply.h - what the amqp probe makes of a broker's answer:
 * AMQP 0-9-1 reply codes (connection.close, channel.close) and
 * librabbitmq's status codes, each mapped to the outcome it calls for.
 * Pure (no connection, no gp_api), so that the unit test beside it
 * (test_reply.c) drives it with numbers.
 */
#ifndef GPCHECK_AMQP_REPLY_H
#define GPCHECK_AMQP_REPLY_H

#include "gpcheck/plugin.h"

/* The outcome a broker's reply code calls for: 320 CONNECTION_FORCED
 * (shutting down, a node restarting), 405 RESOURCE_LOCKED, 506
 * RESOURCE_ERROR, 541 INTERNAL_ERROR are transient; 403 ACCESS_REFUSED,
 * 404 NOT_FOUND, 530 NOT_ALLOWED (a missing vhost or no access to it),
 * 406 PRECONDITION_FAILED and protocol errors are fatal, as are codes it
 * does not know. */
gp_outcome mq_reply_outcome(unsigned code);

/* The code's name in the specification ("ACCESS_REFUSED"), or "?". */
const char *mq_reply_name(unsigned code);

/* The outcome a librabbitmq status (AMQP_STATUS_*, negative) calls for
 * when a call failed without a broker's reply: timeouts and closed or
 * failed sockets are transient (a broker starting, restarting, or
 * overloaded); a peer that does not speak AMQP 0-9-1, a SASL mechanism
 * the broker refuses and TLS verification failures are fatal; running
 * out of memory is the probe's own trouble (GP_UNKNOWN). */
gp_outcome mq_status_outcome(int status);

/* A hint for a reply code where the broker's words do not say what to
 * do, or "". */
const char *mq_reply_hint(unsigned code);

#endif /* GPCHECK_AMQP_REPLY_H */
