/*
 * tests/unit/test_mask.c - the one masker, gp_sdk_mask_text() (sdk/mask.c):
 * nested and overlapping secrets, the forms a server echoes a secret in
 * (escaped, percent-encoded, JSON, HTML, base64 at every alignment, cut
 * short), and the rule for weak secrets that masking would reveal.
 */
#include <stdio.h>
#include <string.h>

#include "gpcheck/sdk.h"
#include "unit.h"

static char out[4096];

static const char *mask(const char *text, const char *const *secrets, size_t n)
{
    return gp_sdk_mask_secrets(text, secrets, n, out, sizeof out);
}

START_TEST(nested_secret_goes_whole)
{
    /* the core's old masker printed "token X***2Y end" */
    const char *const s[] = {"hunter", "Xhunter2Y"};
    ck_assert_str_eq(mask("token Xhunter2Y end", s, 2), "token *** end");
    const char *const r[] = {"Xhunter2Y", "hunter"};
    ck_assert_str_eq(mask("token Xhunter2Y end", r, 2), "token *** end");
    ck_assert_str_eq(mask("a hunter and Xhunter2Y", s, 2), "a *** and ***");
}
END_TEST

START_TEST(overlapping_secrets_go_whole)
{
    /* longest-first alone leaves "ghij" of the second */
    const char *const s[] = {"abcdef12", "ef12ghij"};
    ck_assert_str_eq(mask("xx abcdef12ghij yy", s, 2), "xx *** yy");
}
END_TEST

START_TEST(a_mask_takes_the_whole_word)
{
    const char *const s[] = {"S3cretVal"};
    /* no fragment of the word around it: "foo***bar" would tell where */
    ck_assert_str_eq(mask("fooS3cretValbar baz", s, 1), "*** baz");
    ck_assert_str_eq(mask("user:S3cretVal@host", s, 1), "user:***@host");
    ck_assert_str_eq(mask("pw=S3cretVal&x=1", s, 1), "pw=***&x=1");
}
END_TEST

START_TEST(escaped_echoes_are_masked)
{
    const char *const s[] = {"p@ss w0rd/1"};
    ck_assert_str_eq(mask("pw=p%40ss%20w0rd%2F1 end", s, 1), "pw=*** end");
    ck_assert_str_eq(mask("pw=p%40ss%20w0rd%2f1 end", s, 1), "pw=*** end");
    ck_assert_str_eq(mask("pw=p%40ss+w0rd%2F1 end", s, 1), "pw=*** end");
    ck_assert_str_eq(mask("pw=p\\x40ss\\x20w0rd/1 end", s, 1), "pw=*** end");
    ck_assert_str_eq(mask("pw=p&#64;ss&#x20;w0rd&#47;1 end", s, 1),
                     "pw=*** end");
    const char *const j[] = {"sec\"ret\\1"};
    /* JSON, then JSON shown by gp_sdk_printable(): escaped twice */
    ck_assert_str_eq(mask("{\"x\":\"sec\\\"ret\\\\1\"}", j, 1),
                     "{\"x\":\"***\"}");
    ck_assert_str_eq(mask("{\\x22x\\x22:\\x22sec\\x5c\\x22ret\\x5c\\x5c1"
                          "\\x22}",
                          j, 1),
                     "{\\x22x\\x22:\\x22***\\x22}");
    ck_assert_str_eq(mask("got sec\\u0022ret\\u005c1 here", j, 1),
                     "got *** here");
    ck_assert_str_eq(mask("got sec&quot;ret\\1 here", j, 1), "got *** here");
    /* control characters show as spaces in the core's messages */
    const char *const c[] = {"tab\there1"};
    ck_assert_str_eq(mask("pw tab here1 end", c, 1), "pw *** end");
}
END_TEST

START_TEST(base64_at_every_alignment)
{
    /* base64 of "s3cr3t-canary" after 0, 1 and 2 other bytes, then more */
    const char *const s[] = {"s3cr3t-canary"};
    ck_assert_str_eq(mask("auth czNjcjN0LWNhbmFyeXh5eg== end", s, 1),
                     "auth *** end");
    ck_assert_str_eq(mask("auth YXMzY3IzdC1jYW5hcnl4eXo= end", s, 1),
                     "auth *** end");
    ck_assert_str_eq(mask("auth YWJzM2NyM3QtY2FuYXJ5eHl6 end", s, 1),
                     "auth *** end");
    ck_assert_str_eq(mask("auth YXMzY3IzdC1jYW5hcnlx", s, 1), "auth ***");
    /* URL-safe, after bytes whose base64 is "-_": those are not its */
    ck_assert_str_eq(mask("t=-_9zM2NyM3QtY2FuYXJ5eHl6", s, 1), "t=-_***");
    ck_assert_str_eq(mask("t=-_9hYnMzY3IzdC1jYW5hcnl4eXo=", s, 1), "t=-_***");
    /* Basic credentials */
    const char *const b[] = {"hunter2-pw"};
    ck_assert_str_eq(mask("Basic YXBwOmh1bnRlcjItcHc=", b, 1), "Basic ***");
}
END_TEST

START_TEST(a_secret_cut_short_is_masked)
{
    const char *const s[] = {"HEADERCANARY2"};
    /* gp_sdk_printable() cut the echo inside the secret */
    ck_assert_str_eq(mask("body \"Bearer HEADERCAN...", s, 1),
                     "body \"Bearer ***...");
    ck_assert_str_eq(mask("...ANARY2\" end", s, 1), "...***\" end");
    ck_assert_str_eq(mask("ends in HEADERC", s, 1), "ends in ***");
}
END_TEST

START_TEST(weak_secrets_withhold_the_text)
{
    /* masked, "127.0.0.***" or "e***pected" would tell the password */
    const char *const x[] = {"x"};
    ck_assert_str_eq(mask("unexpected reply", x, 1), "unexpected reply");
    ck_assert_str_eq(mask("password x rejected", x, 1), GP_SDK_MASK_WITHHELD);
    const char *const one[] = {"1"};
    ck_assert_str_eq(mask("connected to 127.0.0.1", one, 1),
                     GP_SDK_MASK_WITHHELD);
    ck_assert_str_eq(mask("pw=%31 seen", one, 1), GP_SDK_MASK_WITHHELD);
    /* a weak secret hidden inside a strong one's mask reveals nothing */
    const char *const nest[] = {"hunt", "Xhunt2Y"};
    ck_assert_str_eq(mask("token Xhunt2Y end", nest, 2), "token *** end");
}
END_TEST

START_TEST(a_secret_equal_to_a_known_value_withholds_the_text)
{
    /* "user=*** dbname=app" beside user = application1 in `list` would
     * tell that the password is the user name */
    const char *const s[] = {"application1"};
    const char *const known[] = {"host=db", "application1"};
    ck_assert_str_eq(gp_sdk_mask_text("connected as user=application1", s, 1,
                                      known, 2, out, sizeof out),
                     GP_SDK_MASK_WITHHELD);
    ck_assert_str_eq(gp_sdk_mask_text("connected as user=application1", s, 1,
                                      NULL, 0, out, sizeof out),
                     "connected as user=***");
    ck_assert_str_eq(
        gp_sdk_mask_text("connected", s, 1, known, 2, out, sizeof out),
        "connected");
}
END_TEST

START_TEST(output_fits_and_cuts_whole)
{
    const char *const s[] = {"z"};
    char small[4];
    /* withheld, cut to fit */
    ck_assert_str_eq(
        gp_sdk_mask_text("a z", s, 1, NULL, 0, small, sizeof small), "(wi");
    const char *const t[] = {"abcdef"};
    char buf[10];
    ck_assert_str_eq(
        gp_sdk_mask_text("1 abcdef 2 abcdef 3", t, 1, NULL, 0, buf, sizeof buf),
        "1 *** 2 ");
}
END_TEST

/* A secret holding what reads as an escape of another kind ("%41",
 * "&amp;") echoed JSON-escaped: the unescaping views decode both (found by
 * tests/fuzz/fuzz_mask.c). */
START_TEST(a_secret_with_escapes_in_it_is_masked_escaped)
{
    const char *const s[] = {"p\"a%41ss!", "x&amp;\\y-z"};
    ck_assert_str_eq(mask("{\"error\":\"bad password p\\\"a%41ss!\"}", s, 1),
                     "{\"error\":\"bad password ***\"}");
    ck_assert_str_eq(mask("got \"x&amp;\\\\y-z\" back", s + 1, 1),
                     "got \"***\" back");
}
END_TEST

/* A string longer than out was never read past the point where out was
 * full: the copy macro advanced only when it stored, so the loop spun
 * forever (found by tests/fuzz/fuzz_mask.c). */
START_TEST(mask_kv_cuts_a_long_string)
{
    static const char *const keys[] = {"password", NULL};
    char small[12];
    ck_assert_str_eq(gp_sdk_mask_kv("host=db.example password=s3cret user=u",
                                    keys, small, sizeof small),
                     "host=db.exa");
    ck_assert_str_eq(
        gp_sdk_mask_kv("password='a b' host=h", keys, small, sizeof small),
        "password=**");
    char big[64];
    ck_assert_str_eq(gp_sdk_mask_kv("host=h password = 'x\\' y\\z' port=1",
                                    keys, big, sizeof big),
                     "host=h password = *** port=1");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mask");
    TCase *tc = tcase_create("mask");
    tcase_add_test(tc, nested_secret_goes_whole);
    tcase_add_test(tc, overlapping_secrets_go_whole);
    tcase_add_test(tc, a_mask_takes_the_whole_word);
    tcase_add_test(tc, escaped_echoes_are_masked);
    tcase_add_test(tc, base64_at_every_alignment);
    tcase_add_test(tc, a_secret_cut_short_is_masked);
    tcase_add_test(tc, weak_secrets_withhold_the_text);
    tcase_add_test(tc, a_secret_equal_to_a_known_value_withholds_the_text);
    tcase_add_test(tc, output_fits_and_cuts_whole);
    tcase_add_test(tc, mask_kv_cuts_a_long_string);
    tcase_add_test(tc, a_secret_with_escapes_in_it_is_masked_escaped);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
