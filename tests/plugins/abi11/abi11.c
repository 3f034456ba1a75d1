/*
 * tests/plugins/abi11/abi11.c - a plugin built against the ABI 1.1 header
 * (tests/plugins/abi11/gpcheck/plugin.h, the header as released: a
 * shorter gp_plugin without validate, a shorter gp_api), the way an old
 * outside plugin is built. gpcheck must load and run it unchanged: the
 * descriptor is read only as far as 1.1 reaches, and the function table
 * the plugin gets only grew at the end.
 */
#include "gpcheck/plugin.h"

#if GP_ABI_MINOR != 1
#error "abi11 must be built against the ABI 1.1 header"
#endif

static const gp_option abi11_options[] = {
    {.key = "greeting",
     .type = GP_TYPE_STRING,
     .def = "hello",
     .help = "what the message says"},
    {.key = "count",
     .type = GP_TYPE_INTEGER,
     .def = "3",
     .min = 0,
     .max = 100,
     .help = "reported as the metric items"},
    {.key = "token_file",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_FILE,
     .help = "a 1.1 flag, to show it still works"},
    {.key = NULL},
};

static const gp_metric abi11_metrics[] = {
    {.name = "items", .unit = GP_UNIT_COUNT, .help = "the count option"},
    {.name = NULL},
};

static gp_outcome check(gp_ctx *ctx, const gp_api *api)
{
    api->metric(ctx, "items", (double)api->opt_integer(ctx, "count"));
    api->log(ctx, GP_LOG_INFO, "api table of %zu bytes", api->size);
    api->message(ctx, "%s from an ABI %d.%d plugin (%s, attempt %u)",
                 api->opt_string(ctx, "greeting"), GP_ABI_MAJOR, GP_ABI_MINOR,
                 api->probe_name(ctx), api->attempt(ctx));
    return api->size >= sizeof(gp_api) ? GP_READY : GP_UNKNOWN;
}

static const gp_plugin abi11_plugin = {
    GP_PLUGIN_HEADER,
    .name = "abi11",
    .version = "1.1.0",
    .summary = "a plugin built against the ABI 1.1 header",
    .options = abi11_options,
    .metrics = abi11_metrics,
    .check = check,
};

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    return &abi11_plugin;
}
