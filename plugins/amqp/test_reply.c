/*
 * plugins/amqp/test_reply.c - unit test of reply.c: AMQP 0-9-1 reply codes
 * and librabbitmq statuses mapped to outcomes, and their names.
 */
#include <amqp.h>
#include <amqp_framing.h>
#include <check.h>
#include <string.h>

#include "reply.h"
#include "unit.h"

START_TEST(reply_codes)
{
    static const unsigned transient[] = {
        AMQP_CONNECTION_FORCED,
        AMQP_RESOURCE_LOCKED,
        AMQP_RESOURCE_ERROR,
        AMQP_INTERNAL_ERROR,
    };
    static const unsigned fatal[] = {
        AMQP_ACCESS_REFUSED,
        AMQP_NOT_FOUND,
        AMQP_NOT_ALLOWED,
        AMQP_PRECONDITION_FAILED,
        AMQP_INVALID_PATH,
        AMQP_FRAME_ERROR,
        AMQP_SYNTAX_ERROR,
        AMQP_COMMAND_INVALID,
        AMQP_CHANNEL_ERROR,
        AMQP_UNEXPECTED_FRAME,
        AMQP_NOT_IMPLEMENTED,
        0,
        999,
    };

    ck_assert_int_eq(mq_reply_outcome(AMQP_REPLY_SUCCESS), GP_READY);
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        ck_assert_msg(mq_reply_outcome(transient[i]) == GP_TRANSIENT, "%u",
                      transient[i]);
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        ck_assert_msg(mq_reply_outcome(fatal[i]) == GP_FATAL, "%u", fatal[i]);
}
END_TEST

START_TEST(reply_names_and_hints)
{
    ck_assert_str_eq(mq_reply_name(403), "ACCESS_REFUSED");
    ck_assert_str_eq(mq_reply_name(404), "NOT_FOUND");
    ck_assert_str_eq(mq_reply_name(405), "RESOURCE_LOCKED");
    ck_assert_str_eq(mq_reply_name(530), "NOT_ALLOWED");
    ck_assert_str_eq(mq_reply_name(320), "CONNECTION_FORCED");
    ck_assert_str_eq(mq_reply_name(7), "?");
    ck_assert_ptr_nonnull(strstr(mq_reply_hint(530), "vhost"));
    ck_assert_str_eq(mq_reply_hint(404), "");
}
END_TEST

START_TEST(library_statuses)
{
    static const int transient[] = {
        AMQP_STATUS_TIMEOUT,      AMQP_STATUS_CONNECTION_CLOSED,
        AMQP_STATUS_SOCKET_ERROR, AMQP_STATUS_SOCKET_CLOSED,
        AMQP_STATUS_TCP_ERROR,    AMQP_STATUS_HEARTBEAT_TIMEOUT,
    };
    static const int fatal[] = {
        AMQP_STATUS_BAD_AMQP_DATA,
        AMQP_STATUS_INCOMPATIBLE_AMQP_VERSION,
        AMQP_STATUS_UNKNOWN_METHOD,
        AMQP_STATUS_UNEXPECTED_STATE,
        AMQP_STATUS_BROKER_UNSUPPORTED_SASL_METHOD,
        AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED,
        AMQP_STATUS_SSL_PEER_VERIFY_FAILED,
        AMQP_STATUS_SSL_CONNECTION_FAILED,
    };

    ck_assert_int_eq(mq_status_outcome(AMQP_STATUS_OK), GP_READY);
    ck_assert_int_eq(mq_status_outcome(AMQP_STATUS_NO_MEMORY), GP_UNKNOWN);
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        ck_assert_msg(mq_status_outcome(transient[i]) == GP_TRANSIENT, "%d",
                      transient[i]);
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        ck_assert_msg(mq_status_outcome(fatal[i]) == GP_FATAL, "%d", fatal[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("amqp_reply");
    TCase *tc = tcase_create("reply");

    tcase_add_test(tc, reply_codes);
    tcase_add_test(tc, reply_names_and_hints);
    tcase_add_test(tc, library_statuses);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
