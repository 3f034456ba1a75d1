/*
 * tests/fuzz/fuzz_bypass.c - the emergency bypass's expiry dates
 * (core/bypass.c): bypass_parse_expiry() on the input, the time formatted
 * back, and the input as --bypass-expires through bypass_load() against a
 * fixed clock (so a run is deterministic). An expiry that parses lies
 * within the dates bypass.h accepts (1970..9999, offsets under a day).
 */
#include <string.h>

#include "bypass.h"
#include "fuzz.h"

/* 2025-09-18T12:00:00Z, the incident's day. */
#define NOW_MS INT64_C(1758196800000)
#define DAY_MS (INT64_C(86400) * 1000)
/* 1970-01-01 minus a day of offset .. 10000-01-01 plus a day. */
#define MIN_MS (-DAY_MS)
#define MAX_MS (INT64_C(253402300800000) + DAY_MS)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    char err[256], buf[64];
    int64_t end = 0;

    if (bypass_parse_expiry(s, &end, err, sizeof err) == 0) {
        FUZZ_CHECK(end >= MIN_MS && end <= MAX_MS);
        bypass_format_time(end, buf, sizeof buf);
        FUZZ_CHECK(strstr(buf, "UTC") != NULL);
        /* A date alone is that whole day: its last second is on it. */
        const char *t = s + strspn(s, " \t\n\v\f\r");
        if (strlen(t) >= 10 && t[10 + strspn(t + 10, " \t\n\v\f\r")] == '\0')
            FUZZ_CHECK(strncmp(buf, t, 10) == 0 &&
                       strcmp(buf + 10, " 23:59:59 UTC") == 0);
    } else {
        FUZZ_CHECK(memchr(err, '\0', sizeof err) && err[0]);
    }

    bypass b;
    diag d = {0};
    bypass_cli cli = {.reason = "fuzzing", .expires = s};
    int rc = bypass_load(&b, NULL, &cli, NOW_MS, &d);
    FUZZ_CHECK(rc == 0 ? d.n == 0 : d.n > 0);
    if (rc == 0) {
        FUZZ_CHECK(b.active != b.expired);
        FUZZ_CHECK(b.expires_ms - NOW_MS <= b.max_days * DAY_MS);
    }
    bypass_free(&b);
    diag_free(&d);
    free(s);
    return 0;
}
