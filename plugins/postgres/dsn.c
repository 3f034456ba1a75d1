/*
 * plugins/postgres/dsn.c - see dsn.h: the dsn shown without its secrets.
 */
#include "dsn.h"

#include <ctype.h>
#include <string.h>

#include "gpcheck/sdk.h"

int pg_dsn_is_secret(const PQconninfoOption *o)
{
    return o->dispchar && strchr(o->dispchar, '*') != NULL;
}

const char *pg_dsn_value(const PQconninfoOption *opts, const char *key)
{
    for (const PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, key) == 0)
            return o->val;
    return NULL;
}

/* The dsn as key=value pairs in libpq's order, secret fields as ***:
 * what messages show instead of the string the user wrote. */
void pg_dsn_render(const PQconninfoOption *opts, char *out, size_t cap)
{
    gp_sdk_buf b;

    gp_sdk_buf_init(&b, out, cap);
    for (const PQconninfoOption *o = opts; o->keyword; o++) {
        const char *v = o->val;
        int quote = 0;

        if (!v)
            continue;
        if (b.len)
            gp_sdk_buf_add(&b, " ");
        gp_sdk_buf_add(&b, o->keyword);
        gp_sdk_buf_add(&b, "=");
        if (pg_dsn_is_secret(o)) {
            gp_sdk_buf_add(&b, "***");
            continue;
        }
        quote = *v == '\0';
        for (const char *c = v; *c && !quote; c++)
            quote = isspace((unsigned char)*c) || *c == '\'' || *c == '\\';
        if (!quote) {
            gp_sdk_buf_add(&b, v);
            continue;
        }
        gp_sdk_buf_add(&b, "'");
        for (const char *c = v; *c; c++) {
            if (*c == '\'' || *c == '\\')
                gp_sdk_buf_add(&b, "\\");
            gp_sdk_buf_addn(&b, c, 1);
        }
        gp_sdk_buf_add(&b, "'");
    }
}

/*
 * libpq's parse errors quote the piece of the string they choke on, which
 * may be (part of) a password: keep the words, hide every quoted piece
 * longer than one character ("=", ":" or "/" say what was expected and are
 * kept).
 */
void pg_dsn_redact(const char *in, char *out, size_t cap)
{
    gp_sdk_buf b;

    gp_sdk_buf_init(&b, out, cap);
    while (*in && *in != '\n') {
        const char *close = *in == '"' ? strchr(in + 1, '"') : NULL;

        if (*in != '"') {
            gp_sdk_buf_addn(&b, in++, 1);
        } else if (close && close - in <= 2) {
            gp_sdk_buf_addn(&b, in, (size_t)(close - in + 1));
            in = close + 1;
        } else {
            gp_sdk_buf_add(&b, "\"...\"");
            if (!close)
                break;
            in = close + 1;
        }
    }
}
