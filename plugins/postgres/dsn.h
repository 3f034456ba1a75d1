/*
 * plugins/postgres/dsn.h - the dsn as the postgres probe shows it: libpq's
 * parse of it (PQconninfoParse()) read back, re-rendered with its secret
 * fields as ***, and libpq's parse errors with the quoted pieces (which may
 * be a password) hidden. Pure (no connection, no gp_api): the unit test
 * test_dsn.c drives it with strings.
 */
#ifndef GPCHECK_POSTGRES_DSN_H
#define GPCHECK_POSTGRES_DSN_H

#include <stddef.h>

#include <libpq-fe.h>

/* Whether libpq marks the field secret (the '*' display flag). */
int pg_dsn_is_secret(const PQconninfoOption *o);

/* The value of field `key` in a parse, or NULL when unset. */
const char *pg_dsn_value(const PQconninfoOption *opts, const char *key);

/* The dsn as key=value pairs in libpq's order, secret fields as ***,
 * values quoted as libpq reads them back: what messages show instead of
 * the string the user wrote. Cut to fit out (cap bytes). */
void pg_dsn_render(const PQconninfoOption *opts, char *out, size_t cap);

/* libpq's parse error (its first line) with every quoted piece longer than
 * one character shown as "..." ("=", ":" or "/" say what was expected and
 * are kept). Cut to fit out (cap bytes). */
void pg_dsn_redact(const char *err, char *out, size_t cap);

#endif
