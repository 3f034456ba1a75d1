/*
 * plugins/dns/test_forms.c - unit test of forms.c: `server` items, names
 * and the server list for c-ares, as strings.
 */
#include <check.h>
#include <string.h>

#include "forms.h"
#include "unit.h"

START_TEST(servers)
{
    static const char *const good[] = {
        "127.0.0.1", "127.0.0.1:5353", "::1",           "[::1]",
        "[::1]:53",  "fd00::53",       "10.0.0.1:65535"};
    static const struct {
        const char *item, *why;
    } bad[] = {
        {"dns.test", "not an IP address (a server is given by address)"},
        {"127.0.0.1:0", "port out of range (1-65535)"},
        {"127.0.0.1:65536", "port out of range (1-65535)"},
        {"127.0.0.1:", "bad port"},
        {"127.0.0.1:5x", "bad port"},
        {"127.0.0.1:123456", "bad port"},
        {"[::1", "no ']' after the IPv6 address"},
        {"[127.0.0.1]", "not an IPv6 address"},
        {"[::1]53", "junk after ']'"},
        {"[::1]:0", "port out of range (1-65535)"},
        {"::g", "not an IPv6 address (with a port: [ADDR]:PORT)"},
        {"", "not an IP address (a server is given by address)"},
    };

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert_msg(dns_server_problem(good[i]) == NULL, "%s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *why = dns_server_problem(bad[i].item);

        ck_assert_msg(why && strcmp(why, bad[i].why) == 0, "%s: %s",
                      bad[i].item, why ? why : "(accepted)");
    }
}
END_TEST

START_TEST(names)
{
    char long_label[80], long_name[300];

    ck_assert_ptr_null(dns_name_problem("example.test"));
    ck_assert_ptr_null(dns_name_problem("example.test."));
    ck_assert_ptr_null(dns_name_problem("_sip._tcp.example.test"));
    ck_assert_str_eq(dns_name_problem(""), "empty name");
    ck_assert_str_eq(dns_name_problem("."), "empty name");
    ck_assert_str_eq(dns_name_problem("a..b"),
                     "empty label (two dots, or a leading dot)");
    ck_assert_str_eq(dns_name_problem(".a"),
                     "empty label (two dots, or a leading dot)");
    memset(long_label, 'a', 64);
    memcpy(long_label + 64, ".test", 6);
    ck_assert_str_eq(dns_name_problem(long_label),
                     "a label longer than 63 bytes");
    ck_assert_ptr_null(dns_name_problem(long_label + 1)); /* 63 bytes */
    /* "a.a. ... .a": 255 bytes, then 253. */
    for (size_t i = 0; i < 255; i++)
        long_name[i] = i % 2 ? '.' : 'a';
    long_name[255] = '\0';
    ck_assert_str_eq(dns_name_problem(long_name), "longer than 253 bytes");
    long_name[253] = '\0';
    ck_assert_ptr_null(dns_name_problem(long_name));
}
END_TEST

START_TEST(server_list)
{
    static const char *const s[] = {"127.0.0.1:5353", "[::1]:53"};
    char out[32];

    ck_assert_int_eq(dns_join_servers(s, 2, out, sizeof out), 0);
    ck_assert_str_eq(out, "127.0.0.1:5353,[::1]:53");
    ck_assert_int_eq(dns_join_servers(s, 0, out, sizeof out), 0);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(dns_join_servers(s, 2, out, 20), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dns_forms");
    TCase *tc = tcase_create("forms");

    tcase_add_test(tc, servers);
    tcase_add_test(tc, names);
    tcase_add_test(tc, server_list);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
