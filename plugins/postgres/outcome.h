/*
 * plugins/postgres/outcome.h - what the postgres probe makes of an error:
 * a SQLSTATE, the text of a server or libpq message, and libpq's
 * multi-host error message, each mapped to the outcome it calls for
 * (transient: waiting may help; fatal: it will be said again). Pure (no
 * connection, no gp_api), so that the unit test beside it
 * (test_outcome.c) and a fuzzer can drive it with strings.
 */
#ifndef GPCHECK_POSTGRES_OUTCOME_H
#define GPCHECK_POSTGRES_OUTCOME_H

#include "gpcheck/plugin.h"

/* The outcome a SQLSTATE ("28P01") calls for. */
gp_outcome pg_sqlstate_outcome(const char *state);

/* The outcome an error text without a SQLSTATE calls for: the server's
 * texts (an old server, a message relayed without one) and libpq's own.
 * Texts it does not know are transient. */
gp_outcome pg_text_outcome(const char *text);

/* One failure out of libpq's message: the head line (cleaned of severity
 * and SQLSTATE), its DETAIL, and the outcome it calls for. */
typedef struct pg_failure {
    char text[768];
    char state[6]; /* "" when the line has none */
    gp_outcome outcome;
} pg_failure;

/*
 * Pick the failure that decides the attempt from libpq's error message
 * (PQerrorMessage(), PQresultErrorMessage(), verbose), which holds one head
 * line per host tried, each followed by DETAIL / HINT / LOCATION lines or
 * libpq's tab-indented hints: the first fatal failure, else the last one.
 * An empty message gives an empty, transient failure.
 */
void pg_pick_failure(const char *msg, pg_failure *pick);

#endif
