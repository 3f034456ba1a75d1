/* tests/unit/test_progress.c - core/progress.c's progress_fit(), the one
 * rule that cuts a text to a width in the live view and the final table:
 * whatever the width, never more columns, and the end of a message kept. */
#include <check.h>
#include <string.h>

#include "progress.h"
#include "unit.h"

static size_t cols_of(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static char *fit(const char *s, size_t cols, int pad)
{
    strbuf sb = {0};
    progress_fit(&sb, s, cols, pad);
    return sb_take(&sb);
}

static const char *const msg = "connection refused by 127.0.0.1:18080";

START_TEST(fits_untouched)
{
    char *r = fit(msg, 80, 0);
    ck_assert_str_eq(r, msg);
    free(r);
    r = fit("db", 6, 1);
    ck_assert_str_eq(r, "db    ");
    free(r);
}
END_TEST

START_TEST(keeps_the_end_in_whole_words)
{
    char *r = fit(msg, 30, 0);
    ck_assert_str_eq(r, "...refused by 127.0.0.1:18080");
    free(r);
    r = fit(msg, 21, 0);
    ck_assert_str_eq(r, "...by 127.0.0.1:18080");
    free(r);
    r = fit(msg, 20, 0);
    ck_assert_str_eq(r, "...127.0.0.1:18080");
    free(r);
    /* room for a head: it is cut at a word too */
    r = fit("HTTP 503 from http://127.0.0.1:8080/healthz: service unavailable "
            "while the pool warms up",
            60, 0);
    ck_assert_str_eq(r, "HTTP 503 from...service unavailable while the pool "
                        "warms up");
    free(r);
}
END_TEST

START_TEST(never_wider_than_asked)
{
    const char *texts[] = {
        msg, "averyveryverylongwordwithoutanyspacesatallxxxxxxxx",
        "a b c d e f g h i j k l m n o p q r s t u v w x y z",
        "caf\xc3\xa9 r\xc3\xa9sum\xc3\xa9 na\xc3\xafve "
        "\xe2\x80\x94 d\xc3\xa9j\xc3\xa0 vu encore une fois",
        ""};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        for (size_t w = 0; w < 70; w++)
            for (int pad = 0; pad < 2; pad++) {
                char *r = fit(texts[i], w, pad);
                size_t n = cols_of(r);
                ck_assert_msg(n <= w, "'%s' in %zu: '%s' (%zu)", texts[i], w, r,
                              n);
                if (pad)
                    ck_assert_uint_eq(n, w);
                if (cols_of(texts[i]) <= w)
                    ck_assert(strncmp(r, texts[i], strlen(texts[i])) == 0);
                else if (w > 3)
                    ck_assert_ptr_nonnull(strstr(r, "..."));
                free(r);
            }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("progress");
    TCase *tc = tcase_create("progress_fit");
    tcase_add_test(tc, fits_untouched);
    tcase_add_test(tc, keeps_the_end_in_whole_words);
    tcase_add_test(tc, never_wider_than_asked);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
