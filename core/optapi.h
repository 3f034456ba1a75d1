/*
 * core/optapi.h - what the two gp_api implementations share: the attempt
 * child (core/child.c) and the SDK's in-process test harness
 * (sdk/testing.c). The option getters over validated option values (so a
 * probe reads its options the same way in both), the members of the
 * gp_api table that both fill alike, and the names of the outcomes. Each
 * context the getters are given (gp_ctx) must begin with an optview.
 */
#ifndef GP_CORE_OPTAPI_H
#define GP_CORE_OPTAPI_H

#include "probe.h"
#include "util.h"

typedef struct optview {
    const opt_value *opts; /* not owned: one per declared option */
    size_t n;
    strbuf bug; /* the first API misuse (an undeclared key, a wrong type,
                   an undeclared metric), reported as status error */
} optview;

/* Record a misuse, once: the first one is the one to fix. */
void optview_bug(optview *v, const char *fmt, const char *what);

const char *optview_string(gp_ctx *ctx, const char *key);
int64_t optview_integer(gp_ctx *ctx, const char *key);
int optview_boolean(gp_ctx *ctx, const char *key);
int64_t optview_duration_ms(gp_ctx *ctx, const char *key);
double optview_percentage(gp_ctx *ctx, const char *key);
size_t optview_list(gp_ctx *ctx, const char *key, const char *const **items);
int optview_isset(gp_ctx *ctx, const char *key);
size_t optview_family(gp_ctx *ctx, const char *key, const char *const **names,
                      const char *const **values);

/* The members of a gp_api table that do not depend on where check() runs:
 * the size and the option getters. Each implementation opens its table
 * with OPTAPI_COMMON and adds the functions of its own context. */
#define OPTAPI_COMMON                                                          \
    .size = sizeof(gp_api), .opt_string = optview_string,                      \
    .opt_integer = optview_integer, .opt_boolean = optview_boolean,            \
    .opt_duration_ms = optview_duration_ms,                                    \
    .opt_percentage = optview_percentage, .opt_list = optview_list,            \
    .opt_isset = optview_isset, .opt_family = optview_family

/* The one name table of gp_outcome, spoken on the result pipe
 * ("ready", "transient", ...) and printed by the reports and the harness.
 * optapi_outcome_name: NULL for a value that is no gp_outcome.
 * optapi_outcome_parse: 0 and *o set, or -1 (name NULL or unknown). */
const char *optapi_outcome_name(gp_outcome o);
int optapi_outcome_parse(const char *name, gp_outcome *o);

#endif
