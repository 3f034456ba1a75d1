/*
 * plugins/postgres/outcome.c - see outcome.h: errors to outcomes, by
 * SQLSTATE class first, then by the texts the server and libpq write.
 */
#include "outcome.h"

#include <ctype.h>
#include <string.h>

#include "gpcheck/sdk.h"

/* Classes of errors that pass by themselves: connection exceptions (08),
 * insufficient resources (53: too many connections, out of memory, disk
 * full), operator intervention (57: starting up, shutting down, in
 * recovery, terminated by an administrator, cancelled) and transaction
 * rollbacks (40: serialization failure, deadlock). Anything else the
 * server says on purpose - bad password (28P01), no such role (28000),
 * no such database (3D000), permission denied (42501), a query's own
 * error - will be said again. */
gp_outcome pg_sqlstate_outcome(const char *state)
{
    if (strcmp(state, "57P04") == 0) /* database dropped */
        return GP_FATAL;
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 ||
        strncmp(state, "57", 2) == 0 || strncmp(state, "40", 2) == 0 ||
        strcmp(state, "55P03") == 0) /* lock not available */
        return GP_TRANSIENT;
    return GP_FATAL;
}

/* Errors without a SQLSTATE: the server's texts (an old server, or a
 * message relayed without one) and libpq's own. Refused, reset, closed
 * and the like are transient by default. */
static const struct {
    const char *text;
    gp_outcome outcome;
} known_texts[] = {
    {"the database system is starting up", GP_TRANSIENT},
    {"the database system is shutting down", GP_TRANSIENT},
    {"the database system is in recovery mode", GP_TRANSIENT},
    {"the database system is not yet accepting connections", GP_TRANSIENT},
    {"the database system is not accepting connections", GP_TRANSIENT},
    {"too many clients", GP_TRANSIENT},
    {"too many connections", GP_TRANSIENT},
    {"remaining connection slots are reserved", GP_TRANSIENT},
    {"password authentication failed", GP_FATAL},
    /* PgBouncer's own refusals (it sends them as 08P01) */
    {"no such database", GP_FATAL},
    {"no such user", GP_FATAL},
    {"no pg_hba.conf entry", GP_FATAL},
    {"does not exist", GP_FATAL},
    {"permission denied", GP_FATAL},
    {"no password supplied", GP_FATAL},
    {"server does not support SSL", GP_FATAL},
    {"certificate verify failed", GP_FATAL},
    {"does not match host name", GP_FATAL},
    {"authentication method", GP_FATAL}, /* ... not supported */
};

gp_outcome pg_text_outcome(const char *text)
{
    for (size_t i = 0; i < sizeof known_texts / sizeof known_texts[0]; i++)
        if (strstr(text, known_texts[i].text))
            return known_texts[i].outcome;
    return GP_TRANSIENT;
}

/* "28P01: " at s: five digits or capitals, a colon, a space. */
static int is_sqlstate(const char *s, size_t len)
{
    if (len < 7 || s[5] != ':' || s[6] != ' ')
        return 0;
    for (int k = 0; k < 5; k++)
        if (!isdigit((unsigned char)s[k]) && !isupper((unsigned char)s[k]))
            return 0;
    return 1;
}

/* A server error inside libpq's line reads "FATAL:  28P01: message" with
 * verbose errors: keep libpq's prefix and the message, take the SQLSTATE
 * out. Without a SQLSTATE the text decides. */
static void parse_head(const char *line, size_t len, pg_failure *f)
{
    static const char *const levels[] = {"FATAL:  ", "ERROR:  ", "PANIC:  "};
    gp_sdk_buf b;
    const char *end = line + len, *lv = NULL, *rest = line;

    gp_sdk_buf_init(&b, f->text, sizeof f->text);
    f->state[0] = '\0';
    for (size_t i = 0; i < sizeof levels / sizeof levels[0] && !lv; i++) {
        lv = memmem(line, len, levels[i], strlen(levels[i]));
        rest = lv ? lv + strlen(levels[i]) : line;
    }
    if (lv && is_sqlstate(rest, (size_t)(end - rest))) {
        memcpy(f->state, rest, 5);
        f->state[5] = '\0';
        rest += 7;
    }
    if (lv)
        gp_sdk_buf_addn(&b, line, (size_t)(lv - line));
    gp_sdk_buf_addn(&b, rest, (size_t)(end - rest));
    f->outcome =
        f->state[0] ? pg_sqlstate_outcome(f->state) : pg_text_outcome(f->text);
    /* PgBouncer sends its own login refusals (a bad password, no such
     * database) as 08P01, a protocol violation, which would read as
     * transient: its text decides. */
    if (strcmp(f->state, "08P01") == 0 && pg_text_outcome(f->text) == GP_FATAL)
        f->outcome = GP_FATAL;
}

/* A head line starts a host's failure; the lines after it belong to it. */
static int is_head(const char *line, size_t len)
{
    static const char *const tails[] = {
        "DETAIL:", "HINT:", "LOCATION:", "CONTEXT:", "\t"};

    if (len == 0)
        return 0;
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++)
        if (strncmp(line, tails[i], strlen(tails[i])) == 0)
            return 0;
    return 1;
}

/*
 * Pick the failure that decides the attempt from libpq's error message,
 * which holds one head line per host tried ("connection to server at ...
 * failed: ..."), each followed by DETAIL / HINT / LOCATION lines or
 * libpq's tab-indented hints. The DETAIL goes into the text (the hints are
 * too long for one line). A reason that will not pass (a bad password)
 * wins over one that will (another host refused): the first fatal
 * failure, else the last one.
 */
void pg_pick_failure(const char *msg, pg_failure *pick)
{
    pg_failure cur;
    int have = 0;

    memset(pick, 0, sizeof *pick);
    pick->outcome = GP_TRANSIENT;
    while (*msg) {
        const char *nl = strchr(msg, '\n');
        size_t len = nl ? (size_t)(nl - msg) : strlen(msg);

        if (is_head(msg, len)) {
            if (have) {
                *pick = cur;
                if (cur.outcome == GP_FATAL)
                    return;
            }
            parse_head(msg, len, &cur);
            have = 1;
        } else if (have && strncmp(msg, "DETAIL:  ", 9) == 0) {
            gp_sdk_buf b;

            gp_sdk_buf_resume(&b, cur.text, sizeof cur.text);
            gp_sdk_buf_add(&b, " (");
            gp_sdk_buf_addn(&b, msg + 9, len - 9);
            gp_sdk_buf_add(&b, ")");
        }
        msg += nl ? len + 1 : len;
    }
    if (have)
        *pick = cur;
}
