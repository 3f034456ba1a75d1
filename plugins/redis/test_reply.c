/*
 * plugins/redis/test_reply.c - unit test of reply.c: bytes a server might
 * send, through a hiredis reader with the probe's limits, and the reading
 * of error replies and INFO.
 */
#include <check.h>
#include <hiredis/hiredis.h>
#include <string.h>

#include "reply.h"
#include "unit.h"

/* A reader with the guard installed; both freed by reader_free(). */
typedef struct reader {
    redisReader *r;
    reply_guard g;
} reader;

static void reader_init(reader *rd, size_t max_bytes, long long max_elements)
{
    rd->r = redisReaderCreate();
    ck_assert_ptr_nonnull(rd->r);
    reply_guard_init(&rd->g, rd->r, max_bytes, max_elements);
    reply_guard_start(&rd->g);
}

/* Feed s; 1 with *out a complete reply, 0 for more wanted, -1 an error. */
static int feed(reader *rd, const char *s, size_t len, redisReply **out)
{
    void *reply = NULL;

    *out = NULL;
    ck_assert_int_eq(redisReaderFeed(rd->r, s, len), REDIS_OK);
    if (!reply_guard_ok(&rd->g, rd->r))
        return -1;
    if (redisReaderGetReply(rd->r, &reply) != REDIS_OK)
        return -1;
    *out = reply;
    return reply ? 1 : 0;
}

START_TEST(plain_replies_pass)
{
    reader rd;
    redisReply *r;

    reader_init(&rd, REPLY_MAX_BYTES, REPLY_MAX_ELEMENTS);
    ck_assert_int_eq(feed(&rd, "+PONG\r\n", 7, &r), 1);
    ck_assert_int_eq(r->type, REDIS_REPLY_STATUS);
    ck_assert_str_eq(r->str, "PONG");
    freeReplyObject(r);
    ck_assert_int_eq(feed(&rd, "$5\r\nhel", 7, &r), 0);
    ck_assert_int_eq(feed(&rd, "lo\r\n", 4, &r), 1);
    ck_assert_str_eq(r->str, "hello");
    freeReplyObject(r);
    ck_assert_int_eq(feed(&rd, "*2\r\n:1\r\n$-1\r\n", 13, &r), 1);
    ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
    ck_assert_uint_eq(r->elements, 2);
    ck_assert_int_eq(r->element[0]->integer, 1);
    ck_assert_int_eq(r->element[1]->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    ck_assert_int_eq(rd.g.too_large, 0);
    redisReaderFree(rd.r);
}
END_TEST

/* hiredis 0.14 alone would calloc() 16 GiB here. */
START_TEST(huge_array_refused_before_allocation)
{
    reader rd;
    redisReply *r;

    reader_init(&rd, REPLY_MAX_BYTES, REPLY_MAX_ELEMENTS);
    ck_assert_int_eq(feed(&rd, "*2147483647\r\n", 13, &r), -1);
    ck_assert_int_eq(rd.g.too_large, 1);
    redisReaderFree(rd.r);
}
END_TEST

/* Nested arrays count together: many small ones are as many pointers. */
START_TEST(nested_elements_count_together)
{
    reader rd;
    redisReply *r;
    const char *ok = "*2\r\n*2\r\n:1\r\n:2\r\n*1\r\n:3\r\n";
    const char *over = "*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*3\r\n";

    reader_init(&rd, 1024, 5);
    ck_assert_int_eq(feed(&rd, ok, strlen(ok), &r), 1);
    freeReplyObject(r);
    /* The next reply counts from 0 again. */
    reply_guard_start(&rd.g);
    ck_assert_int_eq(feed(&rd, over, strlen(over), &r), -1);
    ck_assert_int_eq(rd.g.too_large, 1);
    redisReaderFree(rd.r);
}
END_TEST

/* A bulk header promising 2 GiB: the bytes after it are buffered whole
 * before hiredis looks at them, so the buffer itself is capped. */
START_TEST(huge_bulk_refused_while_buffering)
{
    reader rd;
    redisReply *r;
    char chunk[64];
    int rc = 0;

    memset(chunk, 'x', sizeof chunk);
    reader_init(&rd, 1000, REPLY_MAX_ELEMENTS);
    ck_assert_int_eq(feed(&rd, "$2147483647\r\n", 13, &r), 0);
    for (int i = 0; i < 100 && rc == 0; i++)
        rc = feed(&rd, chunk, sizeof chunk, &r);
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(rd.g.too_large, 1);
    redisReaderFree(rd.r);
}
END_TEST

START_TEST(protocol_error_is_not_too_large)
{
    reader rd;
    redisReply *r;

    reader_init(&rd, REPLY_MAX_BYTES, REPLY_MAX_ELEMENTS);
    ck_assert_int_eq(feed(&rd, "HTTP/1.1 400\r\n", 14, &r), -1);
    ck_assert_int_eq(rd.g.too_large, 0);
    ck_assert_int_eq(rd.r->err, REDIS_ERR_PROTOCOL);
    redisReaderFree(rd.r);
}
END_TEST

START_TEST(error_replies)
{
    ck_assert(reply_error_is_transient("LOADING Redis is loading"));
    ck_assert(reply_error_is_transient("BUSY Redis is busy running a script"));
    ck_assert(reply_error_is_transient("MASTERDOWN Link with MASTER is down"));
    ck_assert(reply_error_is_transient("ERR max number of clients reached"));
    ck_assert(!reply_error_is_transient("WRONGPASS invalid password"));
    ck_assert(!reply_error_is_transient("LOADINGX"));
    ck_assert_str_eq(reply_error_hint("NOAUTH Authentication required."),
                     " (set password or password_file)");
    ck_assert_str_eq(reply_error_hint("ERR wrong"), "");
}
END_TEST

static const char info[] = "# Server\r\nredis_version:7.0.15\r\n"
                           "# Replication\r\nrole:slave\r\n"
                           "master_host:10.0.0.1\r\nmaster_port:6379\r\n"
                           "master_link_status:down\r\n"
                           "connected_clients:12\r\nmaxmemory:-5\r\n";

START_TEST(info_fields)
{
    char out[16], role[64];

    ck_assert(reply_info_field(info, "redis_version", out, sizeof out));
    ck_assert_str_eq(out, "7.0.15");
    ck_assert(!reply_info_field(info, "redis", out, sizeof out));
    ck_assert(reply_info_field(info, "redis_version", out, 4));
    ck_assert_str_eq(out, "7.0");
    ck_assert_double_eq(reply_info_number(info, "connected_clients"), 12);
    ck_assert_double_eq(reply_info_number(info, "maxmemory"), -1);
    ck_assert_double_eq(reply_info_number(info, "nothing"), -1);
    reply_describe_role(info, "slave", role, sizeof role);
    ck_assert_str_eq(role, "replica of 10.0.0.1:6379, link down");
    reply_describe_role("", "slave", role, sizeof role);
    ck_assert_str_eq(role, "replica");
    reply_describe_role(info, "master", role, sizeof role);
    ck_assert_str_eq(role, "master");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("redis_reply");
    TCase *tc = tcase_create("reply");

    tcase_add_test(tc, plain_replies_pass);
    tcase_add_test(tc, huge_array_refused_before_allocation);
    tcase_add_test(tc, nested_elements_count_together);
    tcase_add_test(tc, huge_bulk_refused_while_buffering);
    tcase_add_test(tc, protocol_error_is_not_too_large);
    tcase_add_test(tc, error_replies);
    tcase_add_test(tc, info_fields);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
