/*
 * plugins/dns/test_answer.c - unit test of answer.c: DNS answers as bytes
 * (built here, record by record), rendered into printable values, and
 * expected values matched against them.
 */
#include <ares.h>
#include <arpa/nameser.h>
#include <check.h>
#include <string.h>

#include "answer.h"
#include "unit.h"

/* An answer being built: header, one question, then records. */
typedef struct msg {
    unsigned char b[1024];
    size_t len;
} msg;

static void put(msg *m, const void *p, size_t n)
{
    ck_assert_uint_le(m->len + n, sizeof m->b);
    memcpy(m->b + m->len, p, n);
    m->len += n;
}

static void put16(msg *m, unsigned v)
{
    unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    put(m, b, 2);
}

/* "a.test" as labels. */
static void put_name(msg *m, const char *name)
{
    while (*name) {
        size_t n = strcspn(name, ".");
        unsigned char len = (unsigned char)n;

        put(m, &len, 1);
        put(m, name, n);
        name += n + (name[n] == '.');
    }
    put(m, "", 1);
}

/* Header (answers count given) and the question for name/type. */
static void start(msg *m, const char *name, int type, unsigned answers)
{
    m->len = 0;
    put16(m, 0x1234);
    put16(m, 0x8180); /* QR, RD, RA, NOERROR */
    put16(m, 1);
    put16(m, answers);
    put16(m, 0);
    put16(m, 0);
    put_name(m, name);
    put16(m, (unsigned)type);
    put16(m, ns_c_in);
}

/* One record for the question's name (a pointer to offset 12). */
static void record(msg *m, int type, const void *rdata, size_t len)
{
    put16(m, 0xc00c);
    put16(m, (unsigned)type);
    put16(m, ns_c_in);
    put16(m, 0);
    put16(m, 300); /* TTL */
    put16(m, (unsigned)len);
    put(m, rdata, len);
}

static int parse(const char *type, const msg *m, answer_list *out)
{
    const answer_type *t = answer_type_find(type);

    ck_assert_ptr_nonnull(t);
    return t->parse(m->b, (int)m->len, out);
}

START_TEST(a_records)
{
    msg m;
    answer_list l = {0};
    const unsigned char a1[4] = {10, 0, 0, 5}, a2[4] = {10, 0, 0, 6};

    start(&m, "api.test", ns_t_a, 2);
    record(&m, ns_t_a, a1, 4);
    record(&m, ns_t_a, a2, 4);
    ck_assert_int_eq(parse("A", &m, &l), ARES_SUCCESS);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_str_eq(l.items[0], "10.0.0.5");
    ck_assert_str_eq(l.items[1], "10.0.0.6");
    answer_list_free(&l);

    start(&m, "api.test", ns_t_a, 0);
    ck_assert_int_eq(parse("A", &m, &l), ARES_ENODATA);
    ck_assert_uint_eq(l.n, 0);
}
END_TEST

/* Character-strings of one TXT record are one value; bytes that are not
 * printable are shown as \xHH, quotes and backslashes as they are. */
START_TEST(txt_records)
{
    msg m;
    answer_list l = {0};
    const unsigned char rdata[] = {3, 'a', '"', 'b', 3, '\\', 0x01, 'c'};
    const unsigned char second[] = {2, 'o', 'k'};

    start(&m, "t.test", ns_t_txt, 2);
    record(&m, ns_t_txt, rdata, sizeof rdata);
    record(&m, ns_t_txt, second, sizeof second);
    ck_assert_int_eq(parse("TXT", &m, &l), ARES_SUCCESS);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_str_eq(l.items[0], "a\"b\\\\x01c");
    ck_assert_str_eq(l.items[1], "ok");
    answer_list_free(&l);
}
END_TEST

START_TEST(mx_records)
{
    msg m;
    answer_list l = {0};
    msg rd = {.len = 0};

    put16(&rd, 10);
    put_name(&rd, "mail.test");
    start(&m, "test", ns_t_mx, 1);
    record(&m, ns_t_mx, rd.b, rd.len);
    ck_assert_int_eq(parse("MX", &m, &l), ARES_SUCCESS);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_str_eq(l.items[0], "10 mail.test");
    answer_list_free(&l);
}
END_TEST

/* Bytes that are no DNS message: an error, nothing rendered. */
START_TEST(garbage_is_an_error)
{
    msg m;
    answer_list l = {0};
    const unsigned char a[4] = {1, 2, 3, 4};
    const char *types[] = {"A", "AAAA", "CNAME", "MX", "TXT", "SRV", "NS"};

    start(&m, "x.test", ns_t_a, 1);
    record(&m, ns_t_a, a, 4);
    m.len -= 3; /* the record's data cut short */
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        int rc = parse(types[i], &m, &l);

        ck_assert_int_ne(rc, ARES_SUCCESS);
        ck_assert_uint_eq(l.n, 0);
    }
    m.len = 5;
    ck_assert_int_ne(parse("A", &m, &l), ARES_SUCCESS);
    answer_list_free(&l);
}
END_TEST

START_TEST(matching)
{
    const answer_type *a = answer_type_find("A"),
                      *aaaa = answer_type_find("AAAA"),
                      *mx = answer_type_find("MX"),
                      *srv = answer_type_find("SRV"),
                      *ns = answer_type_find("NS");

    ck_assert_ptr_null(answer_type_find("PTR"));
    ck_assert(answer_matches(a, "10.0.0.5", "10.0.0.5"));
    ck_assert(!answer_matches(a, "10.0.0.50", "10.0.0.5"));
    ck_assert(answer_matches(aaaa, "0:0::1", "::1"));
    ck_assert(answer_matches(mx, "mail.test.", "10 MAIL.test"));
    ck_assert(answer_matches(mx, "10 mail.test", "10 mail.test"));
    ck_assert(!answer_matches(mx, "mail2.test", "10 mail.test"));
    ck_assert(answer_matches(srv, "db.test:5432", "0 5 5432 db.test"));
    ck_assert(!answer_matches(srv, "db.test:5433", "0 5 5432 db.test"));
    ck_assert(answer_matches(ns, "ns1.test", "NS1.TEST."));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dns_answer");
    TCase *tc = tcase_create("answer");

    tcase_add_test(tc, a_records);
    tcase_add_test(tc, txt_records);
    tcase_add_test(tc, mx_records);
    tcase_add_test(tc, garbage_is_an_error);
    tcase_add_test(tc, matching);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
