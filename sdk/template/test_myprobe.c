/*
 * test_myprobe.c - unit tests of myprobe with the in-process harness
 * (gpcheck/testing.h) under Check: no gpcheck runner, no fork of ours; a
 * tiny server on 127.0.0.1 plays the service.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gpcheck/plugin.h>
#include <gpcheck/testing.h>

/* A server answering one connection with `reply`; returns its port. */
static int serve_once(const char *reply, pid_t *pid)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(s, 1), 0);
    getsockname(s, (struct sockaddr *)&a, &len);
    *pid = fork();
    if (*pid == 0) {
        alarm(10); /* never outlive the test */
        int c = accept(s, NULL, NULL);
        char buf[128];
        if (c >= 0 && read(c, buf, sizeof buf) > 0)
            (void)!write(c, reply, strlen(reply));
        _exit(0);
    }
    close(s);
    return ntohs(a.sin_port);
}

static gp_test *probe_on(int port)
{
    gp_test *t = gp_test_new(gpcheck_plugin());
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    ck_assert_int_eq(gp_test_set(t, "host", "127.0.0.1"), 0);
    ck_assert_int_eq(gp_test_set(t, "port", p), 0);
    gp_test_timeout_ms(t, 2000);
    return t;
}

START_TEST(ready_on_pong)
{
    pid_t pid;
    gp_test *t = probe_on(serve_once("+PONG\r\n", &pid));
    ck_assert_int_eq(gp_test_run(t), GP_READY);
    ck_assert_ptr_nonnull(strstr(gp_test_message(t), "answered 'PONG'"));
    double ms;
    ck_assert(gp_test_metric(t, "response_time", &ms));
    ck_assert(ms >= 0);
    gp_test_free(t);
    waitpid(pid, NULL, 0);
}
END_TEST

START_TEST(wrong_reply_is_transient)
{
    pid_t pid;
    gp_test *t = probe_on(serve_once("-LOADING\r\n", &pid));
    ck_assert_int_eq(gp_test_run(t), GP_TRANSIENT);
    ck_assert_ptr_nonnull(strstr(gp_test_message(t), "-LOADING"));
    gp_test_free(t);
    waitpid(pid, NULL, 0);
}
END_TEST

START_TEST(refused_is_transient)
{
    /* bind a port and close it: nothing listens there */
    pid_t pid;
    int port = serve_once("", &pid);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    gp_test *t = probe_on(port);
    ck_assert_int_eq(gp_test_run(t), GP_TRANSIENT);
    ck_assert_ptr_nonnull(strstr(gp_test_message(t), "refused"));
    gp_test_free(t);
}
END_TEST

START_TEST(options_are_checked_like_gpcheck_does)
{
    gp_test *t = gp_test_new(gpcheck_plugin());
    ck_assert_int_eq(gp_test_set(t, "port", "70000"), -1); /* out of range */
    ck_assert_ptr_nonnull(strstr(gp_test_error(t), "out of range"));
    gp_test_free(t);
    t = gp_test_new(gpcheck_plugin());
    ck_assert_int_eq(gp_test_set(t, "colour", "red"), -1); /* undeclared */
    ck_assert_int_eq(gp_test_run(t), GP_UNKNOWN); /* host is required */
    ck_assert_ptr_nonnull(strstr(gp_test_error(t), "required option"));
    gp_test_free(t);
}
END_TEST

START_TEST(validate_reports_bad_values)
{
    gp_test *t = gp_test_new(gpcheck_plugin());
    const char *const *lines;
    ck_assert_int_eq(gp_test_set(t, "host", "http://db.example/"), 0);
    ck_assert_int_eq(gp_test_set(t, "port", "6379"), 0);
    ck_assert_int_eq(gp_test_set(t, "expect", ""), 0);
    ck_assert_int_eq(gp_test_validate(t), 2); /* both reported at once */
    ck_assert_uint_eq(gp_test_invalid(t, &lines), 2);
    ck_assert_ptr_nonnull(strstr(lines[0], "host: a URL"));
    ck_assert_ptr_nonnull(strstr(lines[1], "expect: is empty"));
    ck_assert_int_eq(gp_test_set(t, "host", "127.0.0.1"), 0);
    ck_assert_int_eq(gp_test_set(t, "expect", "PONG"), 0);
    ck_assert_int_eq(gp_test_validate(t), 0);
    gp_test_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("myprobe");
    TCase *tc = tcase_create("check");
    tcase_add_test(tc, ready_on_pong);
    tcase_add_test(tc, wrong_reply_is_transient);
    tcase_add_test(tc, refused_is_transient);
    tcase_add_test(tc, options_are_checked_like_gpcheck_does);
    tcase_add_test(tc, validate_reports_bad_values);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
