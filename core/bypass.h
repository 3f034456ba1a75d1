/*
 * core/bypass.h - the emergency bypass, with an expiry that is enforced.
 *
 * The incident gpcheck grew out of ran its tests with
 * EMERGENCY_DEVELOPMENT_MODE=true and EMERGENCY_BYPASS_EXPIRY=2025-09-18,
 * and nothing enforced the date. Here a bypass needs a reason and an
 * expiry at most max_days ahead; once expired it is not applied and says
 * so; while active it overrides only the failures in its scope, and every
 * bypassed run is announced and (optionally) written to an audit log.
 *
 * Everything that depends on the time takes `now` (ms since the epoch) as
 * an argument, so tests set the clock instead of reading it.
 */
#ifndef GP_CORE_BYPASS_H
#define GP_CORE_BYPASS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "diag.h"

typedef struct bypass {
    int configured;     /* [bypass] exists, or the command line asked */
    int enabled;        /* enabled = true, or --bypass-reason */
    int64_t expires_ms; /* the instant it ends (exclusive), ms since epoch */
    char *expires_text; /* owned; as written */
    char *reason;       /* owned */
    int scope_all;      /* scope = all (the default) */
    char **scope_tags;  /* owned; otherwise: probes with one of these tags */
    size_t n_scope_tags;
    int64_t max_days; /* 7 */
    char *audit_log;  /* owned; NULL when none */
    origin at;        /* [bypass] header; file NULL for the command line */
    int from_cli;
    int active;  /* enabled, valid and not expired at load time */
    int expired; /* enabled but past its expiry */
} bypass;

/* Command-line bypass for one run; both or neither. */
typedef struct bypass_cli {
    const char *reason;  /* --bypass-reason */
    const char *expires; /* --bypass-expires */
} bypass_cli;

/*
 * Read [bypass] (s may be NULL or nameless: none) and the command line,
 * checked against `now_ms`. Configuration errors go into d as FILE:LINE:
 * unknown keys, bad values, enabled without `expires` or `reason`, an
 * expiry more than max_days ahead. An expiry in the past is not an error:
 * the bypass is then not applied (b->expired). Returns 0 or -1.
 */
int bypass_load(bypass *b, const cfg_section *s, const bypass_cli *cli,
                int64_t now_ms, diag *d);

/*
 * Parse WHEN: "2025-09-18" (the end of that day, UTC) or a date-time with
 * a zone, "2025-09-18T17:30:00+02:00", "2025-09-18T15:30Z" (that
 * instant). Sets *end_ms to the exclusive end. Returns 0 or -1 with err.
 */
int bypass_parse_expiry(const char *when, int64_t *end_ms, char *err,
                        size_t errlen);

/* "2025-09-18 23:59:59 UTC" style text of an instant (the last second
 * before end_ms), for banners and messages. */
void bypass_format_time(int64_t end_ms, char *buf, size_t n);

/* 1 when a probe with these tags is inside the bypass's scope. */
int bypass_in_scope(const bypass *b, char *const *tags, size_t n_tags);

void bypass_free(bypass *b);

#endif
