/*
 * core/optapi.h - the gp_api option getters over validated option values,
 * shared by the attempt child (core/child.c) and the SDK's in-process test
 * harness (sdk/testing.c), so a probe reads its options the same way in
 * both. Each context the getters are given (gp_ctx) must begin with an
 * optview.
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

#endif
