/*
 * tests/fuzz/fuzz_conninfo.c - variables interpolated into a libpq
 * connection string (core/value.c value_interpolate() with the conninfo
 * escape hook, core/credentials.c cred_conninfo_escape(), formerly
 * core/secrets.c secrets_conninfo_escape()), checked the way libpq itself
 * reads the result: PQconninfoParse() must find no key that the template
 * does not have. The template's keys are those of the same template with
 * every non-empty variable replaced by "x" (set, empty and unset variables
 * stay so, so ${V:-default} takes the same branch). A template that is one
 * ${...} alone is the user's whole string, taken as written: not checked.
 *
 * Input: the template, then the values of A, B and C, each ended by a NUL
 * (a missing one is unset).
 */
#include <libpq-fe.h>
#include <string.h>

#include "fuzz.h"
#include "value.h"

#include "credentials.h"
#define CONNINFO_ESCAPE cred_conninfo_escape

typedef struct {
    const char *val[3]; /* into the input copy; NULL: unset */
    int ref;            /* 1: the template's own keys ("x" for a value) */
} vars;

static const char *lookup(void *ud, const char *name)
{
    const vars *v = ud;
    if (strlen(name) != 1 || name[0] < 'A' || name[0] > 'C')
        return NULL;
    const char *s = v->val[name[0] - 'A'];
    return v->ref && s && *s ? "x" : s;
}

/* The keys libpq sets from s, or NULL when libpq refuses s. */
static PQconninfoOption *parse(const char *s)
{
    char *err = NULL;
    PQconninfoOption *o = PQconninfoParse(s, &err);
    PQfreemem(err);
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const value_escape esc = {CONNINFO_ESCAPE, NULL};
    char err[256];
    if (size > 4096)
        return 0;
    char *all = fuzz_cstr(data, size), *p = all, *end = all + size;
    const char *tmpl = p;
    vars v = {{NULL, NULL, NULL}, 0};
    p += strlen(p) + 1;
    for (int i = 0; i < 3 && p < end; i++) {
        v.val[i] = p;
        p += strlen(p) + 1;
    }

    char *got = NULL, *want = NULL;
    if (value_interpolate(tmpl, lookup, &v, &esc, &got, err, sizeof err) < 0) {
        FUZZ_CHECK(err[0] != '\0');
        free(all);
        return 0;
    }
    v.ref = 1;
    int ref_ok =
        value_interpolate(tmpl, lookup, &v, &esc, &want, err, sizeof err) == 0;
    FUZZ_CHECK(ref_ok); /* the same branches, values that escape to less */
    PQconninfoOption *g = parse(got), *w = parse(want);
    if (g && w && !value_is_one_expansion(tmpl)) {
        /* Both arrays list every option libpq knows, in the same order. */
        for (size_t i = 0; g[i].keyword; i++) {
            FUZZ_CHECK(w[i].keyword && strcmp(g[i].keyword, w[i].keyword) == 0);
            if (g[i].val && !w[i].val) {
                fprintf(stderr, "key %s added: template \"%s\" -> \"%s\"\n",
                        g[i].keyword, tmpl, got);
                FUZZ_CHECK(!"a variable's value added a key");
            }
        }
    }
    PQconninfoFree(g);
    PQconninfoFree(w);
    free(got);
    free(want);
    free(all);
    return 0;
}
