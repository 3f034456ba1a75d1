/* core/verdict.c - statuses to verdict to exit status. */
#include "verdict.h"

const char *status_name(probe_status s)
{
    switch (s) {
    case ST_OK: return "ok";
    case ST_WARN: return "warn";
    case ST_FAIL: return "fail";
    case ST_TIMEOUT: return "timeout";
    case ST_ERROR: return "error";
    case ST_SKIPPED: return "skipped";
    }
    return "?";
}

const char *verdict_name(verdict v)
{
    switch (v) {
    case V_PASS: return "pass";
    case V_DEGRADED: return "degraded";
    case V_FAIL: return "fail";
    case V_BYPASSED: return "bypassed";
    }
    return "?";
}

verdict verdict_of_unit(severity sev, probe_status st)
{
    if (st == ST_OK)
        return V_PASS;
    if (st == ST_WARN || sev == SEV_OPTIONAL)
        return V_DEGRADED;
    return V_FAIL;
}

verdict verdict_worst(verdict a, verdict b)
{
    /* The enum's values are in the combining order for these three. */
    return a > b ? a : b;
}

int verdict_exit_code(verdict v, int required_cut, int signo)
{
    if (signo > 0)
        return 128 + signo;
    if (v == V_FAIL)
        return required_cut ? EXIT_DEADLINE : EXIT_FAIL;
    return EXIT_PASS;
}
