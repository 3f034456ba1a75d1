/*
 * tests/unit/test_secrets.c - core/secrets.c and core/credentials.c: which
 * parts of a configured value are credentials (headers, URLs, libpq connection
 * strings), how a value shows with only those parts masked, the probe-level
 * masking of messages, and ${VAR} escaped into a connection string, each parsed
 * back by the real libpq.
 */
#include <libpq-fe.h>
#include <string.h>

#include "credentials.h"
#include "gpcheck/sdk.h"
#include "secrets.h"
#include "unit.h"
#include "value.h"

static const gp_option opts[] = {
    {.key = "url", .type = GP_TYPE_STRING},
    {.key = "header", .type = GP_TYPE_LIST},
    {.key = "dsn", .type = GP_TYPE_STRING, .flags = GP_OPT_CONNINFO},
    {.key = "token", .type = GP_TYPE_STRING, .flags = GP_OPT_SECRET},
    {.key = "user", .type = GP_TYPE_STRING},
};
enum { O_URL, O_HEADER, O_DSN, O_TOKEN, O_USER, N_OPTS };

static probe_def probe;

static void set(int i, const char *text)
{
    opt_value *v = &probe.opts[i];
    free(v->text);
    strv_free(v->items, v->n_items);
    v->items = NULL;
    v->n_items = 0;
    v->decl = &opts[i];
    v->set = v->has = 1;
    v->text = xstrdup(text);
    if (opts[i].type == GP_TYPE_LIST) {
        char err[128];
        ck_assert_int_eq(
            value_list(text, &v->items, &v->n_items, err, sizeof err), 0);
    }
}

static void setup(void)
{
    memset(&probe, 0, sizeof probe);
    probe.n_opts = N_OPTS;
    probe.opts = xcalloc(N_OPTS, sizeof *probe.opts);
    for (int i = 0; i < N_OPTS; i++)
        probe.opts[i].decl = &opts[i];
}

static void teardown(void)
{
    probe_set s = {.probes = xcalloc(1, sizeof probe), .n = 1};
    s.probes[0] = probe;
    probe_set_free(&s);
}

static int has_secret(const char *s)
{
    for (size_t i = 0; i < probe.n_secrets; i++)
        if (strcmp(probe.secrets[i], s) == 0)
            return 1;
    return 0;
}

static void shows(int i, const char *want)
{
    char *got = secrets_show(&probe, &opts[i], probe.opts[i].text);
    ck_assert_str_eq(got, want);
    free(got);
}

START_TEST(headers_show_only_their_credentials_masked)
{
    set(O_HEADER, "Authorization: Bearer HEADERCANARY2, X-Api-Key: K3YCANARY, "
                  "Accept: text/plain, X-Auth-Token: T0KENCANARY, "
                  "Cookie: session=C00KIECANARY; theme=darkmode");
    secrets_collect(&probe);
    shows(O_HEADER, "Authorization: Bearer ***, X-Api-Key: ***, Accept: "
                    "text/plain, X-Auth-Token: ***, Cookie: session=***; "
                    "theme=***");
    ck_assert(has_secret("HEADERCANARY2"));
    ck_assert(has_secret("K3YCANARY"));
    ck_assert(has_secret("T0KENCANARY"));
    ck_assert(has_secret("C00KIECANARY"));
    ck_assert(!has_secret("text/plain"));
}
END_TEST

START_TEST(basic_credentials_are_secret_decoded_too)
{
    /* base64 of "app:hunter2-pw" */
    set(O_HEADER, "Authorization: Basic YXBwOmh1bnRlcjItcHc=");
    secrets_collect(&probe);
    shows(O_HEADER, "Authorization: Basic ***");
    ck_assert(has_secret("YXBwOmh1bnRlcjItcHc="));
    ck_assert(has_secret("app:hunter2-pw"));
    ck_assert(has_secret("hunter2-pw"));
}
END_TEST

START_TEST(urls_show_without_userinfo_password_and_query_tokens)
{
    set(O_URL, "https://user:pw%40X1234@host:8443/p?token=QUERYCANARY1&x=1&"
               "api_key=APIK3Y9&sig=S1GNATURE#frag");
    secrets_collect(&probe);
    shows(
        O_URL,
        "https://user:***@host:8443/p?token=***&x=1&api_key=***&sig=***#frag");
    ck_assert(has_secret("pw%40X1234"));
    ck_assert(has_secret("pw@X1234"));
    ck_assert(has_secret("QUERYCANARY1"));
    ck_assert(has_secret("APIK3Y9"));
    /* a URL inside a longer text: a command line */
    set(O_USER, "check_http -u https://bob:CMDPASS99@web/ -w 1");
    char *got = secrets_show(&probe, &opts[O_USER], probe.opts[O_USER].text);
    ck_assert_str_eq(got, "check_http -u https://bob:***@web/ -w 1");
    free(got);
    /* a header inside a quoted argument ends at the quote */
    set(O_URL, "curl -H 'Authorization: Bearer CURLT0KEN9' https://h/x");
    got = secrets_show(&probe, &opts[O_URL], probe.opts[O_URL].text);
    ck_assert_str_eq(got, "curl -H 'Authorization: Bearer ***' https://h/x");
    free(got);
}
END_TEST

START_TEST(userinfo_without_a_password_is_a_token)
{
    /* https://TOKEN@host/: GitHub's and GitLab's tokens, git's credential
     * form; x-access-token:TOKEN has its password masked as before */
    set(O_URL, "https://ghp_T0KENCANARY1@github.com/o/r.git");
    secrets_collect(&probe);
    shows(O_URL, "https://***@github.com/o/r.git");
    ck_assert(has_secret("ghp_T0KENCANARY1"));
    set(O_USER, "git clone https://x-access-token:ACCESSCANARY2@github.com/r "
                "https://gl%2DTOKEN3@gitlab.com/r");
    secrets_collect(&probe);
    char *got = secrets_show(&probe, &opts[O_USER], probe.opts[O_USER].text);
    ck_assert_str_eq(got, "git clone https://x-access-token:***@github.com/r "
                          "https://***@gitlab.com/r");
    free(got);
    ck_assert(has_secret("ACCESSCANARY2"));
    ck_assert(has_secret("gl-TOKEN3"));
    ck_assert(has_secret("gl%2DTOKEN3"));
    /* a login name stays a login name where the scheme says it is one */
    set(O_USER, "ssh://deploy@host/repo");
    got = secrets_show(&probe, &opts[O_USER], probe.opts[O_USER].text);
    ck_assert_str_eq(got, "ssh://deploy@host/repo");
    free(got);
    set(O_DSN, "postgresql://app@db:5432/appdb");
    secrets_collect(&probe);
    shows(O_DSN, "postgresql://app@db:5432/appdb");
    ck_assert(!has_secret("app"));
}
END_TEST

START_TEST(conninfo_shows_only_its_secret_fields_masked)
{
    set(O_DSN, "host=db port=5432 dbname=app user=app password='a b\\'cdefg' "
               "sslpassword=SSLKEYPW1");
    secrets_collect(&probe);
    shows(O_DSN, "host=db port=5432 dbname=app user=app password=*** "
                 "sslpassword=***");
    ck_assert(has_secret("a b'cdefg"));
    ck_assert(has_secret("SSLKEYPW1"));
    ck_assert(!has_secret("app"));
}
END_TEST

START_TEST(conninfo_uri_shows_only_its_secret_fields_masked)
{
    set(O_DSN, "postgresql://u:URIPASS1@h:5432/db?sslpassword=SSLPASS1&"
               "application_name=x&password=QPASS123");
    secrets_collect(&probe);
    shows(O_DSN, "postgresql://u:***@h:5432/db?sslpassword=***&"
                 "application_name=x&password=***");
    ck_assert(has_secret("URIPASS1"));
    ck_assert(has_secret("SSLPASS1"));
    ck_assert(has_secret("QPASS123"));
}
END_TEST

START_TEST(conninfo_secret_keys_are_libpqs)
{
    /* every keyword libpq marks "*" (hide value) shows masked, and the
     * others do not */
    PQconninfoOption *defs = PQconndefaults();
    ck_assert_ptr_nonnull(defs);
    for (PQconninfoOption *o = defs; o->keyword; o++) {
        char *dsn = xasprintf("%s=LIBPQVALUE1", o->keyword);
        set(O_DSN, dsn);
        char *got = secrets_show(&probe, &opts[O_DSN], dsn);
        int hidden = o->dispchar && o->dispchar[0] == '*';
        ck_assert_msg(hidden == (strstr(got, "LIBPQVALUE1") == NULL),
                      "%s: shown as '%s'", o->keyword, got);
        free(got);
        free(dsn);
    }
    PQconninfoFree(defs);
}
END_TEST

START_TEST(secret_options_show_as_stars)
{
    set(O_TOKEN, "T0PSECRET-VALUE");
    secrets_collect(&probe);
    shows(O_TOKEN, "***");
    ck_assert(has_secret("T0PSECRET-VALUE"));
}
END_TEST

START_TEST(messages_are_masked_with_every_secret_of_the_probe)
{
    set(O_TOKEN, "Xhunter2Y");
    secrets_collect(&probe);
    probe_add_secret(&probe, "hunter");
    char *m = secrets_mask(&probe, "token Xhunter2Y end");
    ck_assert_str_eq(m, "token *** end");
    free(m);
    set(O_HEADER, "Authorization: Bearer HEADERCANARY2");
    secrets_collect(&probe);
    m = secrets_mask(&probe, "{\\x22authorization\\x22: \\x22Bearer "
                             "HEADERCANARY2\\x22}");
    ck_assert_str_eq(m, "{\\x22authorization\\x22: \\x22Bearer ***\\x22}");
    free(m);
}
END_TEST

START_TEST(a_password_equal_to_the_user_name_is_withheld)
{
    /* "user=*** password=***" would say the password is the user name */
    set(O_DSN, "host=db user=application1 password=application1");
    secrets_collect(&probe);
    shows(O_DSN, GP_SDK_MASK_WITHHELD);
    char *m = secrets_mask(&probe, "connected as application1");
    ck_assert_str_eq(m, GP_SDK_MASK_WITHHELD);
    free(m);
    m = secrets_mask(&probe, "connected");
    ck_assert_str_eq(m, "connected");
    free(m);
}
END_TEST

/* ---- ${VAR} in a connection string -------------------------------------- */

static const char *vars[][2] = {
    {"INJ", "127.0.0.1 host=evil.example"},
    {"QUOTE", "a'b\\c d"},
    {"EMPTY", ""},
    {"DSN", "host=db port=5432 dbname=app"},
    {"PW", "p@ss/w d"},
};

static const char *lookup(void *ud, const char *name)
{
    (void)ud;
    for (size_t i = 0; i < ARRAY_LEN(vars); i++)
        if (strcmp(vars[i][0], name) == 0)
            return vars[i][1];
    return NULL;
}

static char *expand(const char *in, char *err, size_t errlen)
{
    static const value_escape esc = {cred_conninfo_escape, NULL};
    char *out = NULL;
    if (value_interpolate(in, lookup, NULL, &esc, &out, err, errlen) < 0)
        return NULL;
    return out;
}

/* libpq's own reading of key in dsn. */
static char *libpq_value(const char *dsn, const char *key)
{
    char *err = NULL, *val = NULL;
    PQconninfoOption *o = PQconninfoParse(dsn, &err);
    ck_assert_msg(o != NULL, "libpq refuses '%s': %s", dsn, err ? err : "");
    for (PQconninfoOption *p = o; p->keyword; p++)
        if (strcmp(p->keyword, key) == 0 && p->val)
            val = xstrdup(p->val);
    PQconninfoFree(o);
    return val;
}

START_TEST(an_interpolated_value_cannot_add_keys)
{
    char err[256];
    char *dsn = expand("host=${INJ} port=5432 dbname=app", err, sizeof err);
    ck_assert_str_eq(dsn, "host=127.0.0.1\\ host=evil.example port=5432 "
                          "dbname=app");
    char *host = libpq_value(dsn, "host");
    ck_assert_str_eq(host, "127.0.0.1 host=evil.example");
    free(host);
    free(dsn);
    /* quoted, and in the middle of a value */
    dsn = expand("password='${QUOTE}' user=u${QUOTE}", err, sizeof err);
    char *pw = libpq_value(dsn, "password"), *user = libpq_value(dsn, "user");
    ck_assert_str_eq(pw, "a'b\\c d");
    ck_assert_str_eq(user, "ua'b\\c d");
    free(pw);
    free(user);
    free(dsn);
    /* empty: libpq would read "port=1" as the host */
    dsn = expand("host=${EMPTY} port=1", err, sizeof err);
    ck_assert_str_eq(dsn, "host='' port=1");
    char *port = libpq_value(dsn, "port");
    ck_assert_str_eq(port, "1");
    free(port);
    free(dsn);
}
END_TEST

START_TEST(uri_values_are_percent_encoded)
{
    char err[256];
    char *dsn = expand("postgresql://u:${PW}@h/db", err, sizeof err);
    ck_assert_str_eq(dsn, "postgresql://u:p%40ss%2Fw%20d@h/db");
    char *pw = libpq_value(dsn, "password");
    ck_assert_str_eq(pw, "p@ss/w d");
    free(pw);
    free(dsn);
}
END_TEST

START_TEST(a_variable_where_a_key_stands_is_refused)
{
    char err[256];
    ck_assert_ptr_null(expand("host=db ${DSN}", err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "${DSN} stands where a key is expected"));
    /* the whole string from one variable is the user's own dsn */
    char *dsn = expand("${DSN}", err, sizeof err);
    ck_assert_str_eq(dsn, "host=db port=5432 dbname=app");
    free(dsn);
    /* ... but not a variable inside its default */
    dsn = expand("${UNSET:-host=${INJ}}", err, sizeof err);
    ck_assert_str_eq(dsn, "host=127.0.0.1\\ host=evil.example");
    free(dsn);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("secrets");
    TCase *tc = tcase_create("secrets");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, headers_show_only_their_credentials_masked);
    tcase_add_test(tc, basic_credentials_are_secret_decoded_too);
    tcase_add_test(tc, urls_show_without_userinfo_password_and_query_tokens);
    tcase_add_test(tc, userinfo_without_a_password_is_a_token);
    tcase_add_test(tc, conninfo_shows_only_its_secret_fields_masked);
    tcase_add_test(tc, conninfo_uri_shows_only_its_secret_fields_masked);
    tcase_add_test(tc, conninfo_secret_keys_are_libpqs);
    tcase_add_test(tc, secret_options_show_as_stars);
    tcase_add_test(tc, messages_are_masked_with_every_secret_of_the_probe);
    tcase_add_test(tc, a_password_equal_to_the_user_name_is_withheld);
    suite_add_tcase(s, tc);
    TCase *ti = tcase_create("interpolation");
    tcase_add_test(ti, an_interpolated_value_cannot_add_keys);
    tcase_add_test(ti, uri_values_are_percent_encoded);
    tcase_add_test(ti, a_variable_where_a_key_stands_is_refused);
    suite_add_tcase(s, ti);
    return unit_run(s);
}
