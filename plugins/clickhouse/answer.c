/*
 * plugins/clickhouse/answer.c - see answer.h: ClickHouse's answers
 * classified.
 */
#include "answer.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpcheck/sdk.h"

size_t ch_trim_right(char *s, size_t len)
{
    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' ||
                       s[len - 1] == ' ' || s[len - 1] == '\t'))
        s[--len] = '\0';
    return len;
}

int ch_parse_double(const char *s, double *out)
{
    char *end = NULL;

    if (!*s || strchr(" \t", *s))
        return -1;
    errno = 0;
    *out = strtod(s, &end);
    if (errno || !end || *end || !isfinite(*out))
        return -1;
    return 0;
}

/* ClickHouse's answers.                                                     */

/* How far from the end of a 200 body an exception is looked for: it comes
 * last, and a longer exception text is cut by ClickHouse itself. */
#define CH_EXCEPTION_TAIL 4096

/* The last "Code: <digit>" in the last CH_EXCEPTION_TAIL bytes of `body`
 * whose line goes on to name an Exception, or NULL. With row formats
 * ClickHouse writes the exception right after the last bytes of a row it
 * had begun, so it need not start a line ("1\n2Code: 395. DB::Exception:
 * ..."). */
static const char *exception_start(const char *body, size_t len)
{
    const char *tail =
        body + (len > CH_EXCEPTION_TAIL ? len - CH_EXCEPTION_TAIL : 0);
    const char *found = NULL;

    for (const char *c = tail; (c = strstr(c, "Code: ")) != NULL; c++) {
        size_t line = strcspn(c, "\n");

        if (c[6] >= '0' && c[6] <= '9' && memmem(c, line, "Exception", 9))
            found = c;
    }
    return found;
}

long ch_find_exception(const char *body, size_t len, long status, char *text,
                       size_t textlen)
{
    const char *line = exception_start(body, len);
    char raw[CH_SHOW_TEXT * 2];
    long code = 0;

    if (!line && status != 200 && (line = strstr(body, "DB::Exception")))
        while (line > body && line[-1] != '\n')
            line--;
    if (!line)
        return -1;
    len = strcspn(line, "\r\n");
    if (len >= sizeof raw)
        len = sizeof raw - 1;
    memcpy(raw, line, len);
    raw[len] = '\0';

    if (!strncmp(raw, "Code: ", 6))
        code = strtol(raw + 6, NULL, 10);
    /* 18.x decorates the text: "e.displayText() = DB::Exception: X, e.what()
     * = DB::Exception". Keep "Code: NNN, DB::Exception: X". */
    char *deco = strstr(raw, "e.displayText() = ");
    if (deco)
        memmove(deco, deco + 18, strlen(deco + 18) + 1);
    char *what = strstr(raw, ", e.what() = ");
    if (what)
        *what = '\0';
    len = ch_trim_right(raw, strlen(raw));
    gp_sdk_printable(raw, len, CH_SHOW_TEXT, text, textlen);
    return code;
}

/* Error codes (ErrorCodes.cpp) that describe a server under load, out of
 * time or losing a dependency: asking again later may succeed. */
static int code_is_transient(long code)
{
    switch (code) {
    case 159: /* TIMEOUT_EXCEEDED */
    case 160: /* TOO_SLOW */
    case 202: /* TOO_MANY_SIMULTANEOUS_QUERIES */
    case 203: /* NO_FREE_CONNECTION */
    case 209: /* SOCKET_TIMEOUT */
    case 210: /* NETWORK_ERROR */
    case 241: /* MEMORY_LIMIT_EXCEEDED */
    case 242: /* TABLE_IS_READ_ONLY */
    case 279: /* ALL_CONNECTION_TRIES_FAILED */
    case 394: /* QUERY_WAS_CANCELLED (e.g. the server shuts down) */
    case 999: /* KEEPER_EXCEPTION */ return 1;
    default: return 0;
    }
}

/* An exception from the query -> outcome and message. */

ch_exception_kind ch_exception_kind_of(long code)
{
    switch (code) {
    case 516: /* AUTHENTICATION_FAILED */
    case 192: /* UNKNOWN_USER */
    case 193: /* WRONG_PASSWORD */
    case 194: /* REQUIRED_PASSWORD */
    case 195: /* IP_ADDRESS_NOT_ALLOWED */ return CH_EXC_AUTH;
    case 81: /* UNKNOWN_DATABASE */ return CH_EXC_DATABASE;
    case 60: /* UNKNOWN_TABLE */ return CH_EXC_TABLE;
    case 62: /* SYNTAX_ERROR */ return CH_EXC_SYNTAX;
    default: break;
    }
    return code_is_transient(code) ? CH_EXC_TRANSIENT : CH_EXC_OTHER;
}

gp_outcome ch_status_outcome(long status)
{
    /* 503 while starting, 502/504 from a proxy */
    return status >= 500 ? GP_TRANSIENT : GP_FATAL;
}

int ch_single_value(char *value, size_t *len)
{
    if (*len > 0 && value[*len - 1] == '\n')
        value[--*len] = '\0';
    return *len > 0 && !memchr(value, '\n', *len) && !memchr(value, '\t', *len);
}
