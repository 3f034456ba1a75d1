/* tests/unit/test_sdk_resolve.c - the SDK's bounded helpers for names
 * (gpcheck/sdk.h): gp_sdk_run_bounded() kills and reaps a helper that
 * overstays, gp_sdk_resolve() converts literals at once and looks names up
 * in such a helper within the time left, gp_sdk_tcp_connect() says why a
 * connection failed. Only loopback and /etc/hosts are asked: a test must
 * not send a query to the host's DNS server. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gpcheck/sdk.h"
#include "unit.h"

static int64_t left_ms = 5000;

static int64_t fake_time_left(gp_ctx *ctx)
{
    (void)ctx;
    return left_ms;
}

static void fake_log(gp_ctx *ctx, gp_log_level level, const char *fmt, ...)
{
    (void)ctx;
    (void)level;
    (void)fmt;
}

/* Outside the warmup: one SYN per connect (see gp_sdk_tcp_connect). */
static int fake_in_warmup(gp_ctx *ctx)
{
    (void)ctx;
    return 0;
}

static const gp_api api = {.size = sizeof(gp_api),
                           .time_left_ms = fake_time_left,
                           .log = fake_log,
                           .in_warmup = fake_in_warmup};

static void say_hello(int fd, void *arg)
{
    (void)arg;
    ck_assert_int_eq(write(fd, "hello", 5), 5);
}

static void overstay(int fd, void *arg)
{
    (void)fd;
    (void)arg;
    sleep(30);
}

START_TEST(run_bounded_collects_what_the_helper_writes)
{
    char out[16];
    size_t got = 99;

    ck_assert_int_eq(
        gp_sdk_run_bounded(say_hello, NULL, 5000, out, sizeof out, &got), 0);
    ck_assert_uint_eq(got, 5);
    ck_assert_str_eq(out, "hello");
    /* Cut to fit, still terminated. */
    ck_assert_int_eq(gp_sdk_run_bounded(say_hello, NULL, 5000, out, 3, &got),
                     0);
    ck_assert_str_eq(out, "he");
}
END_TEST

START_TEST(run_bounded_kills_and_reaps_a_helper_that_overstays)
{
    char out[16];
    size_t got = 99;
    double t0 = gp_sdk_now_ms();

    ck_assert_int_eq(
        gp_sdk_run_bounded(overstay, NULL, 100, out, sizeof out, &got), 1);
    ck_assert_double_lt(gp_sdk_now_ms() - t0, 1000);
    ck_assert_uint_eq(got, 0);
    ck_assert_str_eq(out, "");
    /* Reaped: no child of ours is left, not even a zombie. */
    errno = 0;
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
}
END_TEST

START_TEST(resolve_converts_literals_without_a_helper)
{
    gp_sdk_addr a[GP_SDK_MAX_ADDRS];
    gp_sdk_connect_error why = GP_SDK_OTHER;
    char err[128];

    left_ms = 0; /* no time at all: literals need none */
    ck_assert_int_eq(gp_sdk_resolve(NULL, &api, "127.0.0.1", 6379, 0, a,
                                    GP_SDK_MAX_ADDRS, &why, err, sizeof err),
                     1);
    ck_assert_int_eq(a[0].family, AF_INET);
    ck_assert_str_eq(a[0].text, "127.0.0.1");
    ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&a[0].sa)->sin_port), 6379);
    ck_assert_uint_eq(a[0].len, sizeof(struct sockaddr_in));

    ck_assert_int_eq(gp_sdk_resolve(NULL, &api, "0:0::1", 5432, 0, a, 1, &why,
                                    err, sizeof err),
                     1);
    ck_assert_int_eq(a[0].family, AF_INET6);
    ck_assert_str_eq(a[0].text, "::1");
    ck_assert_uint_eq(ntohs(((struct sockaddr_in6 *)&a[0].sa)->sin6_port),
                      5432);
    left_ms = 5000;
}
END_TEST

START_TEST(resolve_looks_names_up_in_a_helper)
{
    gp_sdk_addr a[GP_SDK_MAX_ADDRS];
    gp_sdk_connect_error why = GP_SDK_OTHER;
    char err[128];
    /* /etc/hosts has localhost: no DNS query leaves the machine. */
    int n = gp_sdk_resolve(NULL, &api, "localhost", 80, 0, a, GP_SDK_MAX_ADDRS,
                           &why, err, sizeof err);

    ck_assert_msg(n >= 1, "%s", err);
    for (int i = 0; i < n; i++)
        ck_assert_msg(strcmp(a[i].text, "127.0.0.1") == 0 ||
                          strcmp(a[i].text, "::1") == 0,
                      "localhost resolved to %s", a[i].text);
    errno = 0;
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
}
END_TEST

START_TEST(resolve_out_of_time_says_so)
{
    gp_sdk_addr a[1];
    gp_sdk_connect_error why = GP_SDK_OK;
    char err[128];

    left_ms = 0;
    errno = 0;
    ck_assert_int_eq(gp_sdk_resolve(NULL, &api, "localhost", 80, 0, a, 1, &why,
                                    err, sizeof err),
                     -1);
    ck_assert_int_eq(why, GP_SDK_RESOLVE_TIMEOUT);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_str_eq(err, "resolving localhost timed out after 0.0s");
    left_ms = 5000;
    ck_assert_int_eq(gp_sdk_resolve(NULL, &api, "localhost", 80, 0, a, 0, &why,
                                    err, sizeof err),
                     -1);
}
END_TEST

START_TEST(tcp_connect_names_the_refusing_address)
{
    gp_sdk_connect_error why = GP_SDK_OK;
    char addr[64], err[128];
    /* A port bound but not listening refuses. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;

    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&sin, &len), 0);
    ck_assert_int_eq(gp_sdk_tcp_connect(NULL, &api, "127.0.0.1",
                                        ntohs(sin.sin_port), &why, addr,
                                        sizeof addr, err, sizeof err),
                     -1);
    ck_assert_int_eq(why, GP_SDK_REFUSED);
    snprintf(addr, sizeof addr, "connection refused by 127.0.0.1:%u",
             ntohs(sin.sin_port));
    ck_assert_str_eq(err, addr);
    close(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sdk_resolve");
    TCase *tc = tcase_create("resolve");
    tcase_add_test(tc, run_bounded_collects_what_the_helper_writes);
    tcase_add_test(tc, run_bounded_kills_and_reaps_a_helper_that_overstays);
    tcase_add_test(tc, resolve_converts_literals_without_a_helper);
    tcase_add_test(tc, resolve_looks_names_up_in_a_helper);
    tcase_add_test(tc, resolve_out_of_time_says_so);
    tcase_add_test(tc, tcp_connect_names_the_refusing_address);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
