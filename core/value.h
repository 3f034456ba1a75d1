/*
 * core/value.h - parsing the typed values of gpcheck's config language:
 * durations, percentages, booleans, integers, lists, and ${VAR}
 * interpolation.
 *
 * Every parser takes the whole string (leading and trailing blanks
 * allowed), returns 0 on success and -1 on error, and on error writes a
 * short reason ("unknown unit 'x' in '5x'") into err (errlen bytes, always
 * NUL-terminated). Nothing here prints.
 */
#ifndef GP_CORE_VALUE_H
#define GP_CORE_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* "250ms", "45s", "2m", "1h", "1m30s", "1.5s"; a bare number is seconds.
 * Units: ms, s, m, h. Negative values are errors. Result in milliseconds. */
int value_duration(const char *s, int64_t *ms, char *err, size_t errlen);
/* "90%", "12.5%", or a bare number; 0..100 inclusive. */
int value_percentage(const char *s, double *pct, char *err, size_t errlen);
/* true/false/yes/no/on/off/1/0, case-insensitive. */
int value_boolean(const char *s, int *b, char *err, size_t errlen);
/* Decimal int64, optional sign. */
int value_integer(const char *s, int64_t *v, char *err, size_t errlen);
/*
 * Comma-separated list, items trimmed. An empty string is an empty list;
 * an empty item ("a,,b", "a,") is an error. On success *items receives a
 * newly allocated array of *n newly allocated strings (free with
 * strv_free(*items, *n)).
 */
int value_list(const char *s, char ***items, size_t *n, char *err,
               size_t errlen);

/*
 * Looks up a variable for interpolation: returns its value (owned by the
 * callee, valid until the next call) or NULL when unset.
 */
typedef const char *(*value_lookup_fn)(void *ud, const char *name);

/*
 * How an interpolated variable's value goes into a structured string (a
 * libpq connection string, ...): fn appends `value` (of variable `name`)
 * to out, escaped for where it lands; out holds the expansion so far.
 * `whole` is 1 when the input is this one ${...} and nothing else. fn
 * returns 0, or -1 with a reason in err to refuse the value. Only
 * variables' values pass through fn: the config's own text (defaults
 * included) is the author's and goes in as written.
 */
typedef struct value_escape {
    int (*fn)(void *ud, strbuf *out, const char *name, const char *value,
              int whole, char *err, size_t errlen);
    void *ud;
} value_escape;

/*
 * Expand ${VAR}, ${VAR:-default}, ${VAR:?message} and $$ in `in`. VAR is
 * [A-Za-z_][A-Za-z0-9_]*. ${VAR:-default} uses default when VAR is unset
 * or empty; ${VAR:?message} is an error when VAR is unset or empty, with
 * err "VAR: message" (or "VAR: not set" when message is empty). A '$' not
 * followed by '{' or '$' is an error, and so is an unterminated ${. The
 * default part is itself expanded. Values go in as they are, or through
 * esc when it is not NULL. On success *out receives a newly allocated
 * string.
 */
int value_interpolate(const char *in, value_lookup_fn lookup, void *ud,
                      const value_escape *esc, char **out, char *err,
                      size_t errlen);

/* 1 when `in` is one ${...} from its first byte to its last (what
 * value_escape calls `whole`), else 0. */
int value_is_one_expansion(const char *in);

#endif
