/*
 * plugins/clickhouse/answer.h - what the clickhouse probe makes of an
 * answer from ClickHouse's HTTP interface: an exception in the body (also
 * at the end of a 200 body, glued to the row it interrupted), its code's
 * class, an error status, and the single value a query returned. Pure (no
 * curl, no gp_api): the unit test beside it (test_answer.c) and a fuzzer
 * drive it with bodies.
 */
#ifndef GPCHECK_CLICKHOUSE_ANSWER_H
#define GPCHECK_CLICKHOUSE_ANSWER_H

#include <stddef.h>

#include "gpcheck/plugin.h"

/* How much server text goes into a message, and the room it needs made
 * printable (a byte may become \xHH). */
#define CH_SHOW_TEXT 300
#define CH_TEXT_BUF (CH_SHOW_TEXT * 4 + 16)

/* Trim blanks and trailing newlines of s (len bytes) in place; returns the
 * new length. */
size_t ch_trim_right(char *s, size_t len);

/* A whole finite number, without leading blanks: 0 with *out, or -1. */
int ch_parse_double(const char *s, double *out);

/*
 * Find an exception in body (len bytes, NUL-terminated) that came with
 * HTTP `status`: "Code: NNN, ... DB::Exception: ..." (18.x) or "Code: NNN.
 * DB::Exception: ..." (newer). In a 200 body only text of that shape in
 * the tail counts (a result may contain the words "DB::Exception"); with
 * an error status, any line naming DB::Exception. Copies the line, tidied
 * and printable, into text; returns the code, 0 when the line has none,
 * or -1 when there is no exception (text untouched).
 */
long ch_find_exception(const char *body, size_t len, long status, char *text,
                       size_t textlen);

/* What an exception code (ErrorCodes.cpp) says. */
typedef enum ch_exception_kind {
    CH_EXC_AUTH,      /* authentication failed (516, 192-195): fatal */
    CH_EXC_DATABASE,  /* unknown database (81): transient in warmup */
    CH_EXC_TABLE,     /* unknown table (60): transient in warmup */
    CH_EXC_SYNTAX,    /* syntax error in the query (62): fatal */
    CH_EXC_TRANSIENT, /* load, time, a lost dependency: transient */
    CH_EXC_OTHER,     /* anything else: fatal */
} ch_exception_kind;

ch_exception_kind ch_exception_kind_of(long code);

/* The outcome of an error status that carries no exception (a proxy, a
 * server shutting down, something that is not ClickHouse): 5xx transient,
 * the rest fatal. */
gp_outcome ch_status_outcome(long status);

/* A query's answer (value, *len bytes) as one value: a trailing newline
 * ends the last row and is removed (in place, *len updated). Returns 1
 * when what is left is one non-empty value (no newline, no tab), else 0. */
int ch_single_value(char *value, size_t *len);

#endif
