/* tests/unit/test_sdk.c - the SDK helpers (gpcheck/sdk.h) that handle
 * secrets and text: a secret from an option or a private file, masking
 * secrets in URLs and in free text, and making server bytes fit for a
 * message. What these get wrong leaks a secret into a report. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpcheck/sdk.h"
#include "unit.h"

static char out[256];

/* ---- gp_sdk_secret: a gp_api that knows two string options -------------- */

static const char *opt_password, *opt_file;
static char tmpdir[64];

static const char *fake_opt_string(gp_ctx *ctx, const char *key)
{
    (void)ctx;
    if (strcmp(key, "password") == 0)
        return opt_password;
    if (strcmp(key, "password_file") == 0)
        return opt_file;
    return NULL;
}

static const gp_api api = {.size = sizeof(gp_api),
                           .opt_string = fake_opt_string};

static void secret_setup(void)
{
    opt_password = opt_file = NULL;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/gpcheck-test-sdk-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void secret_teardown(void)
{
    DIR *d = opendir(tmpdir);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            ck_assert_int_eq(unlinkat(dirfd(d), e->d_name, 0), 0);
    closedir(d);
    ck_assert_int_eq(rmdir(tmpdir), 0);
}

/* A file in tmpdir with `len` bytes of content and `mode`; its path. */
static const char *secret_file(const char *name, const char *content,
                               size_t len, mode_t mode)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(content, 1, len, f), len);
    fclose(f);
    ck_assert_int_eq(chmod(path, mode), 0);
    return path;
}

static int secret(size_t max, char **s, char *err, size_t errlen)
{
    return gp_sdk_secret(NULL, &api, "password", "password_file", max, s, err,
                         errlen);
}

START_TEST(secret_from_option_or_file)
{
    char *s = (char *)1, err[256];

    ck_assert_int_eq(secret(64, &s, err, sizeof err), 0);
    ck_assert_ptr_null(s);
    opt_password = ""; /* empty: unset */
    ck_assert_int_eq(secret(64, &s, err, sizeof err), 0);
    opt_password = "s3cret";
    ck_assert_int_eq(secret(64, &s, err, sizeof err), 1);
    ck_assert_str_eq(s, "s3cret");
    ck_assert_ptr_ne(s, opt_password);
    gp_sdk_free_secret(s);

    opt_password = NULL;
    opt_file = secret_file("pw", "fr0m-file\r\n", 11, 0600);
    ck_assert_int_eq(secret(64, &s, err, sizeof err), 1);
    ck_assert_str_eq(s, "fr0m-file");
    gp_sdk_free_secret(s);
    /* a plugin without the inline option */
    ck_assert_int_eq(gp_sdk_secret(NULL, &api, NULL, "password_file", 64, &s,
                                   err, sizeof err),
                     1);
    ck_assert_str_eq(s, "fr0m-file");
    gp_sdk_free_secret(s);
    gp_sdk_free_secret(NULL);
}
END_TEST

START_TEST(secret_refusals_name_the_option_not_the_secret)
{
    char *s, err[256];

    opt_password = "x";
    opt_file = secret_file("pw", "hunter2", 7, 0600);
    ck_assert_int_eq(secret(64, &s, err, sizeof err), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(err, "set password or password_file, not both");

    opt_password = NULL;
    opt_file = secret_file("loose", "hunter2", 7, 0640);
    ck_assert_int_eq(secret(64, &s, err, sizeof err), -1);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(err, "password_file "));
    ck_assert_ptr_nonnull(strstr(err, "group or others"));
    ck_assert_ptr_null(strstr(err, "hunter2"));

    opt_file = secret_file("empty", "\n", 1, 0600);
    ck_assert_int_eq(secret(64, &s, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "is empty"));

    opt_file = secret_file("long", "12345\n", 6, 0600);
    ck_assert_int_eq(secret(4, &s, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, ": longer than 4 bytes"));
    ck_assert_ptr_null(strstr(err, "12345"));
    ck_assert_int_eq(secret(5, &s, err, sizeof err), 1);
    gp_sdk_free_secret(s);

    opt_file = secret_file("nul", "ab\0cd", 5, 0600);
    ck_assert_int_eq(secret(64, &s, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "holds a NUL byte"));

    opt_file = "/nonexistent/gpcheck-pw";
    ck_assert_int_eq(secret(64, &s, err, sizeof err), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_str_eq(err, "password_file /nonexistent/gpcheck-pw: No such "
                          "file or directory");
    /* a short err buffer is cut, never overflowed */
    ck_assert_int_eq(secret(64, &s, err, 8), -1);
    ck_assert_str_eq(err, "passwor");
}
END_TEST

/* A 0600 file of another user is theirs to swap under us: refused, naming
 * the owner, never the content. Needs root to give the file away. */
START_TEST(secret_owned_by_another_user_is_refused)
{
    char *s, err[256];

    opt_file = secret_file("theirs", "hunter2", 7, 0600);
    if (geteuid() != 0 || chown(opt_file, 65534, 65534) != 0)
        return; /* not root: cannot make another user's file */
    ck_assert_int_eq(secret(64, &s, err, sizeof err), -1);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(err, "/theirs: refusing to use it: owned by "
                                      "uid 65534, not by the running user"));
    ck_assert_ptr_null(strstr(err, "hunter2"));
    /* root's own file is fine */
    ck_assert_int_eq(chown(opt_file, 0, 0), 0);
    ck_assert_int_eq(secret(64, &s, err, sizeof err), 1);
    gp_sdk_free_secret(s);
}
END_TEST

/* ---- masking and messages ----------------------------------------------- */

START_TEST(mask_url_hides_the_password)
{
    ck_assert_str_eq(
        gp_sdk_mask_url("http://app:s3cret@db:8123/x?y=1", out, sizeof out),
        "http://app:***@db:8123/x?y=1");
    ck_assert_str_eq(gp_sdk_mask_url("postgresql://u:pw@h/db", out, sizeof out),
                     "postgresql://u:***@h/db");
    /* the user info ends at the authority's last '@' */
    ck_assert_str_eq(
        gp_sdk_mask_url("http://app:p@ss@word@host/", out, sizeof out),
        "http://app:***@host/");
    /* an '@' after the authority is not user info */
    ck_assert_str_eq(gp_sdk_mask_url("http://host/a:b@c", out, sizeof out),
                     "http://host/a:b@c");
    ck_assert_str_eq(gp_sdk_mask_url("http://user@host/", out, sizeof out),
                     "http://user@host/");
    ck_assert_str_eq(gp_sdk_mask_url("http://host:80/", out, sizeof out),
                     "http://host:80/");
    ck_assert_str_eq(gp_sdk_mask_url("u:pw@host", out, sizeof out),
                     "u:***@host");
    /* cut to fit, never overflowed */
    ck_assert_str_eq(gp_sdk_mask_url("http://u:pw@host/", out, 12),
                     "http://u:**");
}
END_TEST

START_TEST(mask_secrets_replaces_every_occurrence)
{
    const char *const one[] = {"tok3nX"};
    /* adjacent occurrences are one word, hence one mask */
    ck_assert_str_eq(
        gp_sdk_mask_secrets("a tok3nX, tok3nXtok3nX.", one, 1, out, sizeof out),
        "a ***, ***.");
    ck_assert_str_eq(
        gp_sdk_mask_secrets("nothing here", one, 1, out, sizeof out),
        "nothing here");
    ck_assert_str_eq(gp_sdk_mask_secrets("", one, 1, out, sizeof out), "");
    /* NULL and empty secrets are skipped; a short one inside a word is left
     * alone, as a word of its own it withholds the text */
    const char *const odd[] = {NULL, "", "x"};
    ck_assert_str_eq(gp_sdk_mask_secrets("axbx", odd, 3, out, sizeof out),
                     "axbx");
    ck_assert_str_eq(gp_sdk_mask_secrets("a x b", odd, 3, out, sizeof out),
                     GP_SDK_MASK_WITHHELD);
    ck_assert_str_eq(gp_sdk_mask_secrets("abc", odd, 0, out, sizeof out),
                     "abc");
}
END_TEST

START_TEST(mask_secrets_masks_the_longer_of_two)
{
    /* listed short first: the long one must still go whole */
    const char *const two[] = {"passw0", "passw0rd1"};
    ck_assert_str_eq(
        gp_sdk_mask_secrets("pw=passw0rd1 p=passw0", two, 2, out, sizeof out),
        "pw=*** p=***");
}
END_TEST

START_TEST(mask_secrets_cuts_only_between_whole_pieces)
{
    const char *const one[] = {"SECRET"};
    char small[8];
    /* 7 usable bytes: "ab-", a whole "***", then "-" */
    ck_assert_str_eq(
        gp_sdk_mask_secrets("ab-SECRET-cdef", one, 1, small, sizeof small),
        "ab-***-");
    /* a mask that does not fit whole is left out, not cut */
    ck_assert_str_eq(
        gp_sdk_mask_secrets("abcde SECRET", one, 1, small, sizeof small),
        "abcde ");
    ck_assert_str_eq(gp_sdk_mask_secrets("SECRET", one, 1, small, 3), "");
    ck_assert_ptr_eq(gp_sdk_mask_secrets("x", one, 1, small, 0), small);
}
END_TEST

START_TEST(printable_escapes_and_cuts)
{
    ck_assert_str_eq(gp_sdk_printable("OK\r\n", 4, 60, out, sizeof out),
                     "OK\\x0d\\x0a");
    ck_assert_str_eq(gp_sdk_printable("say \"hi\"", 8, 60, out, sizeof out),
                     "say \\x22hi\\x22");
    ck_assert_str_eq(gp_sdk_printable("abcdef", 6, 3, out, sizeof out),
                     "abc...");
    ck_assert_str_eq(gp_sdk_printable("a\0b", 3, 60, out, sizeof out),
                     "a\\x00b");
}
END_TEST

/* ---- configuration text ------------------------------------------------- */

START_TEST(unescape_decodes_the_one_dialect)
{
    char b[16];
    const char *why = NULL;

    ck_assert_int_eq(gp_sdk_unescape("PING\\r\\n", b, sizeof(b), &why), 6);
    ck_assert_mem_eq(b, "PING\r\n", 7);
    ck_assert_int_eq(gp_sdk_unescape("a\\x2cb\\t\\\\", b, sizeof(b), &why), 5);
    ck_assert_str_eq(b, "a,b\t\\");
    /* \x00 is a byte like any other; the NUL after it ends the text. */
    ck_assert_int_eq(gp_sdk_unescape("a\\x00b", b, sizeof(b), &why), 3);
    ck_assert_mem_eq(b, "a\0b", 4);
    /* Any other backslash is kept: a regular expression passes. */
    ck_assert_int_eq(gp_sdk_unescape("^\\d+\\.x\\", b, sizeof(b), &why), 8);
    ck_assert_str_eq(b, "^\\d+\\.x\\");
    /* "\\x2c" is a backslash, then the text x2c. */
    ck_assert_int_eq(gp_sdk_unescape("\\\\x2c", b, sizeof(b), &why), 4);
    ck_assert_str_eq(b, "\\x2c");
    ck_assert_int_eq(gp_sdk_unescape("", b, sizeof(b), &why), 0);
    ck_assert_str_eq(b, "");
}
END_TEST

START_TEST(unescape_refusals)
{
    char b[4];
    const char *why = NULL;

    ck_assert_int_eq(gp_sdk_unescape("\\xg0", b, sizeof(b), &why), -1);
    ck_assert_str_eq(why, "\\x needs two hex digits");
    why = NULL;
    ck_assert_int_eq(gp_sdk_unescape("\\x4", b, sizeof(b), &why), -1);
    ck_assert_str_eq(why, "\\x needs two hex digits");
    why = NULL;
    /* Three bytes and the NUL fit, four do not. */
    ck_assert_int_eq(gp_sdk_unescape("a\\x41c", b, sizeof(b), &why), 3);
    ck_assert_int_eq(gp_sdk_unescape("abcd", b, sizeof(b), &why), -1);
    ck_assert_str_eq(why, "too long");
}
END_TEST

START_TEST(port_problem_judges_the_form)
{
    unsigned port = 0;

    ck_assert_ptr_null(gp_sdk_port_problem("5432", &port));
    ck_assert_uint_eq(port, 5432);
    ck_assert_ptr_null(gp_sdk_port_problem("00080", &port));
    ck_assert_uint_eq(port, 80);
    ck_assert_ptr_null(gp_sdk_port_problem("65535", NULL));
    ck_assert_str_eq(gp_sdk_port_problem("", &port), "bad port");
    ck_assert_str_eq(gp_sdk_port_problem("8o", &port), "bad port");
    ck_assert_str_eq(gp_sdk_port_problem("-1", &port), "bad port");
    ck_assert_str_eq(gp_sdk_port_problem("123456", &port), "bad port");
    ck_assert_str_eq(gp_sdk_port_problem("0", &port),
                     "port out of range (1-65535)");
    ck_assert_str_eq(gp_sdk_port_problem("65536", &port),
                     "port out of range (1-65535)");
}
END_TEST

START_TEST(buf_appends_what_fits)
{
    char b[8];
    gp_sdk_buf buf;

    gp_sdk_buf_init(&buf, b, sizeof(b));
    ck_assert_str_eq(b, "");
    gp_sdk_buf_add(&buf, "abc");
    gp_sdk_buf_addn(&buf, "defgh", 2);
    ck_assert_str_eq(b, "abcde");
    gp_sdk_buf_add(&buf, "fghij");
    ck_assert_str_eq(b, "abcdefg");
    ck_assert_uint_eq(buf.len, 7);
    gp_sdk_buf_add(&buf, "z"); /* full: nothing more, still terminated */
    ck_assert_str_eq(b, "abcdefg");

    snprintf(b, sizeof(b), "ab");
    gp_sdk_buf_resume(&buf, b, sizeof(b));
    gp_sdk_buf_add(&buf, "cd");
    ck_assert_str_eq(b, "abcd");
}
END_TEST

START_TEST(host_problem_judges_the_form)
{
    static const char *const good[] = {
        "127.0.0.1", "::1", "fd00::7", "db", "db-1.internal.", "_svc.x"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        ck_assert_msg(!gp_sdk_host_problem(good[i]), "%s", good[i]);
    ck_assert_ptr_nonnull(strstr(gp_sdk_host_problem("http://db/"), "URL"));
    ck_assert_ptr_nonnull(strstr(gp_sdk_host_problem("db:5432"), ":PORT"));
    ck_assert_ptr_nonnull(strstr(gp_sdk_host_problem("[::1]"), "brackets"));
    ck_assert_ptr_nonnull(gp_sdk_host_problem("a b"));
    ck_assert_ptr_nonnull(gp_sdk_host_problem("a..b"));
    ck_assert_ptr_nonnull(gp_sdk_host_problem(""));
    ck_assert_ptr_nonnull(gp_sdk_host_problem(NULL));
    char label[80];
    memset(label, 'a', 64);
    label[64] = '\0';
    ck_assert_ptr_nonnull(gp_sdk_host_problem(label));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sdk");
    TCase *sec = tcase_create("secret");
    tcase_add_checked_fixture(sec, secret_setup, secret_teardown);
    tcase_add_test(sec, secret_from_option_or_file);
    tcase_add_test(sec, secret_refusals_name_the_option_not_the_secret);
    tcase_add_test(sec, secret_owned_by_another_user_is_refused);
    suite_add_tcase(s, sec);
    TCase *tc = tcase_create("text");
    tcase_add_test(tc, mask_url_hides_the_password);
    tcase_add_test(tc, mask_secrets_replaces_every_occurrence);
    tcase_add_test(tc, mask_secrets_masks_the_longer_of_two);
    tcase_add_test(tc, mask_secrets_cuts_only_between_whole_pieces);
    tcase_add_test(tc, printable_escapes_and_cuts);
    tcase_add_test(tc, host_problem_judges_the_form);
    tcase_add_test(tc, unescape_decodes_the_one_dialect);
    tcase_add_test(tc, unescape_refusals);
    tcase_add_test(tc, buf_appends_what_fits);
    tcase_add_test(tc, port_problem_judges_the_form);
    suite_add_tcase(s, tc);
    return unit_run(s);
}
