/*
 * plugins/amqp/reply.c - AMQP reply codes and librabbitmq statuses to
 * outcomes (see reply.h). The codes are AMQP 0-9-1's (amqp_framing.h);
 * RabbitMQ's own use of them is in its documentation: 530 NOT_ALLOWED for
 * a vhost that does not exist or that the user may not use, 403 for bad
 * credentials (sent because librabbitmq announces the
 * authentication_failure_close capability), 404 for a passive declare of
 * a missing queue, 405 for another connection's exclusive queue.
 */
#include <amqp.h>
#include <amqp_framing.h>

#include "reply.h"

gp_outcome mq_reply_outcome(unsigned code)
{
    switch (code) {
    case AMQP_REPLY_SUCCESS: return GP_READY;
    case AMQP_CONNECTION_FORCED: /* shutdown, a node restarting */
    case AMQP_RESOURCE_LOCKED:   /* held by another connection for now */
    case AMQP_RESOURCE_ERROR:    /* out of resources for now */
    case AMQP_INTERNAL_ERROR:    /* a queue process restarting */
        return GP_TRANSIENT;
    default: return GP_FATAL;
    }
}

const char *mq_reply_name(unsigned code)
{
    switch (code) {
    case AMQP_REPLY_SUCCESS: return "REPLY_SUCCESS";
    case AMQP_CONTENT_TOO_LARGE: return "CONTENT_TOO_LARGE";
    case AMQP_NO_ROUTE: return "NO_ROUTE";
    case AMQP_NO_CONSUMERS: return "NO_CONSUMERS";
    case AMQP_CONNECTION_FORCED: return "CONNECTION_FORCED";
    case AMQP_INVALID_PATH: return "INVALID_PATH";
    case AMQP_ACCESS_REFUSED: return "ACCESS_REFUSED";
    case AMQP_NOT_FOUND: return "NOT_FOUND";
    case AMQP_RESOURCE_LOCKED: return "RESOURCE_LOCKED";
    case AMQP_PRECONDITION_FAILED: return "PRECONDITION_FAILED";
    case AMQP_FRAME_ERROR: return "FRAME_ERROR";
    case AMQP_SYNTAX_ERROR: return "SYNTAX_ERROR";
    case AMQP_COMMAND_INVALID: return "COMMAND_INVALID";
    case AMQP_CHANNEL_ERROR: return "CHANNEL_ERROR";
    case AMQP_UNEXPECTED_FRAME: return "UNEXPECTED_FRAME";
    case AMQP_RESOURCE_ERROR: return "RESOURCE_ERROR";
    case AMQP_NOT_ALLOWED: return "NOT_ALLOWED";
    case AMQP_NOT_IMPLEMENTED: return "NOT_IMPLEMENTED";
    case AMQP_INTERNAL_ERROR: return "INTERNAL_ERROR";
    default: return "?";
    }
}

const char *mq_reply_hint(unsigned code)
{
    switch (code) {
    case AMQP_NOT_ALLOWED:
        return " (the vhost does not exist, or the user has no permissions "
               "on it: rabbitmqctl list_vhosts, list_user_permissions)";
    case AMQP_ACCESS_REFUSED:
        return " (check user and password; RabbitMQ's guest user may only "
               "log in from localhost)";
    default: return "";
    }
}

gp_outcome mq_status_outcome(int status)
{
    switch (status) {
    case AMQP_STATUS_OK: return GP_READY;
    case AMQP_STATUS_NO_MEMORY:
    case AMQP_STATUS_TIMER_FAILURE: return GP_UNKNOWN;
    case AMQP_STATUS_TIMEOUT:
    case AMQP_STATUS_HEARTBEAT_TIMEOUT:
    case AMQP_STATUS_CONNECTION_CLOSED:
    case AMQP_STATUS_SOCKET_ERROR:
    case AMQP_STATUS_SOCKET_CLOSED:
    case AMQP_STATUS_TCP_ERROR:
    case AMQP_STATUS_HOSTNAME_RESOLUTION_FAILED: return GP_TRANSIENT;
    default:
        /* BAD_AMQP_DATA, UNKNOWN_CLASS/METHOD, INCOMPATIBLE_AMQP_VERSION,
         * UNEXPECTED_STATE, WRONG_METHOD: not an AMQP 0-9-1 broker;
         * BROKER_UNSUPPORTED_SASL_METHOD; SSL_* (verification, handshake):
         * the same next time. */
        return GP_FATAL;
    }
}
