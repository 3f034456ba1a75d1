/* tests/unit/test_result.c - the attempt result protocol (core/result.c):
 * the lines core/child.c writes parse back; anything else is garbage with
 * the runner's reason; text a misbehaving child writes cannot carry
 * control characters to a terminal. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optapi.h"
#include "result.h"
#include "run.h"
#include "unit.h"
#include "util.h"

static const gp_metric metrics[] = {
    {.name = "connect_time", .unit = GP_UNIT_MS},
    {.name = "clients", .unit = GP_UNIT_COUNT},
};

static result_line rl;

static void teardown(void)
{
    result_line_free(&rl);
}

static result_kind parse(const char *line)
{
    result_line_free(&rl);
    return result_parse_line(line, strlen(line), metrics, ARRAY_LEN(metrics),
                             &rl);
}

START_TEST(child_lines_parse_back)
{
    ck_assert_int_eq(parse("{\"log\":{\"level\":2,\"text\":\"dialing\"}}"),
                     RESULT_LOG);
    ck_assert_int_eq(rl.log_level, 2);
    ck_assert_str_eq(rl.text, "dialing");

    ck_assert_int_eq(
        parse("{\"result\":{\"outcome\":\"degraded\",\"message\":\"slow\","
              "\"metrics\":{\"clients\":7,\"connect_time\":0.25}}}"),
        RESULT_DONE);
    ck_assert_int_eq(rl.res, RES_DEGRADED);
    ck_assert_str_eq(rl.msg, "slow");
    ck_assert_ptr_null(rl.bug);
    ck_assert_uint_eq(rl.n_metrics, 2);
    ck_assert_ptr_eq(rl.metrics[0].decl, &metrics[1]);
    ck_assert_double_eq(rl.metrics[0].value, 7);
    ck_assert_ptr_eq(rl.metrics[1].decl, &metrics[0]);

    ck_assert_int_eq(parse("{\"result\":{\"outcome\":\"unknown\",\"message\":"
                           "\"\",\"metrics\":{},\"bug\":\"no host\"}}"),
                     RESULT_DONE);
    ck_assert_int_eq(rl.res, RES_UNKNOWN);
    ck_assert_str_eq(rl.bug, "no host");
}
END_TEST

/* Every outcome the child names (optapi_outcome_name) parses back to the
 * ending of the same value, which the reports print under the same name:
 * one table, no drift between the pipe's two ends and the reports. */
START_TEST(outcome_names_round_trip)
{
    for (int o = GP_READY; o <= GP_UNKNOWN; o++) {
        const char *name = optapi_outcome_name((gp_outcome)o);
        ck_assert_ptr_nonnull(name);
        char line[128];
        snprintf(line, sizeof line,
                 "{\"result\":{\"outcome\":\"%s\",\"message\":\"\","
                 "\"metrics\":{}}}",
                 name);
        ck_assert_int_eq(parse(line), RESULT_DONE);
        ck_assert_int_eq(rl.res, o);
        ck_assert_str_eq(attempt_res_name(rl.res), name);
    }
    ck_assert_ptr_null(optapi_outcome_name((gp_outcome)(GP_UNKNOWN + 1)));
    ck_assert_ptr_null(optapi_outcome_name((gp_outcome)-1));
    ck_assert_str_eq(attempt_res_name(RES_TIMEOUT), "timeout");
    ck_assert_str_eq(attempt_res_name(RES_ERROR), "error");
    ck_assert_int_eq(parse("{\"result\":{\"outcome\":\"timeout\","
                           "\"message\":\"\",\"metrics\":{}}}"),
                     RESULT_GARBAGE);
}
END_TEST

/* ABI 1.2 secret() from check(): kept as given, to mask what follows. */
START_TEST(secret_lines)
{
    ck_assert_int_eq(parse("{\"secret\":\"tok\\u001bEN\"}"), RESULT_SECRET);
    ck_assert_str_eq(rl.text, "tok\x1b"
                              "EN");
    ck_assert_int_eq(parse("{\"secret\":7}"), RESULT_GARBAGE);
    ck_assert_int_eq(parse("{\"secret\":\"a\",\"log\":{}}"), RESULT_GARBAGE);
}
END_TEST

START_TEST(garbage_and_malformed)
{
    static const char *const garbage[] = {
        "",
        "hello",
        "{\"log\":{\"level\":\"2\",\"text\":\"x\"}}",
        "{\"log\":{\"level\":2,\"text\":\"x\"},\"extra\":1}",
        "{\"log\":{\"level\":2,\"text\":\"x\"},\"log\":1}",
        "[\"result\"]",
    };
    for (size_t i = 0; i < ARRAY_LEN(garbage); i++) {
        ck_assert_int_eq(parse(garbage[i]), RESULT_GARBAGE);
        ck_assert_str_eq(rl.why, "garbage on the result pipe");
    }
    static const char *const malformed[] = {
        "{\"result\":{\"outcome\":\"maybe\",\"message\":\"\",\"metrics\":{}}}",
        "{\"result\":{\"outcome\":\"ready\",\"metrics\":{}}}",
        "{\"result\":{\"outcome\":\"ready\",\"message\":\"\"}}",
        "{\"result\":{\"outcome\":\"ready\",\"message\":\"\","
        "\"metrics\":{\"nope\":1}}}",
        "{\"result\":{\"outcome\":\"ready\",\"message\":\"\","
        "\"metrics\":{\"clients\":\"7\"}}}",
    };
    for (size_t i = 0; i < ARRAY_LEN(malformed); i++) {
        ck_assert_int_eq(parse(malformed[i]), RESULT_GARBAGE);
        ck_assert_str_eq(rl.why, "malformed result on the result pipe");
        ck_assert_uint_eq(rl.n_metrics, 0);
    }
}
END_TEST

/* The length is the line: the byte after it (the runner's '\n' or the
 * next line) is not read. */
START_TEST(length_bounds_the_line)
{
    const char *line = "{\"log\":{\"level\":1,\"text\":\"a\"}}";
    char *two = xasprintf("%s{\"x\":1}", line);
    result_line_free(&rl);
    ck_assert_int_eq(
        result_parse_line(two, strlen(line), metrics, ARRAY_LEN(metrics), &rl),
        RESULT_LOG);
    ck_assert_str_eq(rl.text, "a");
    free(two);
}
END_TEST

/* A plugin that writes to fd 3 itself is not sanitized by the child: the
 * supervisor must not pass its escape sequences on to a terminal. */
START_TEST(control_characters_are_blanked)
{
    ck_assert_int_eq(parse("{\"log\":{\"level\":0,\"text\":"
                           "\"\\u001b]0;owned\\u0007\\r\\nx\"}}"),
                     RESULT_LOG);
    ck_assert_str_eq(rl.text, " ]0;owned   x");
    ck_assert_int_eq(parse("{\"result\":{\"outcome\":\"ready\",\"message\":"
                           "\"\\u001b[2Jok\",\"metrics\":{},\"bug\":"
                           "\"a\\tb\"}}"),
                     RESULT_DONE);
    ck_assert_str_eq(rl.msg, " [2Jok");
    ck_assert_str_eq(rl.bug, "a b");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("result");
    TCase *tc = tcase_create("protocol");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, child_lines_parse_back);
    tcase_add_test(tc, outcome_names_round_trip);
    tcase_add_test(tc, secret_lines);
    tcase_add_test(tc, garbage_and_malformed);
    tcase_add_test(tc, length_bounds_the_line);
    tcase_add_test(tc, control_characters_are_blanked);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
