/*
 * tests/plugins/badabi.c - plugins the loader must refuse, built only for
 * tests. One source, one .so per flag:
 *
 *   -DBAD_MAJOR    abi_major is GP_ABI_MAJOR + 1 (an incompatible ABI);
 *   -DNEWER_MINOR  abi_minor is GP_ABI_MINOR + 1 (newer than this core);
 *   -DNO_ENTRY     no gpcheck_plugin at all, only a look-alike symbol;
 *   -DOLD_MINOR    abi_minor is 0 (an ABI 1.0 plugin), which
 *                  must still load and run;
 *   -DEXTRA_EXPORT also exports a helper (linked without the export map).
 *
 * -DBADABI_NAME='"name"' sets the descriptor's name, which must equal the
 * .so file's name for the loader to get as far as the ABI check.
 *
 * check() must never run; if a broken loader lets it, it says so.
 */
#include "gpcheck/plugin.h"

#ifndef BADABI_NAME
#define BADABI_NAME "badabi"
#endif

#if defined(BAD_MAJOR)
#define BADABI_MAJOR (GP_ABI_MAJOR + 1)
#else
#define BADABI_MAJOR GP_ABI_MAJOR
#endif

#if defined(NEWER_MINOR)
#define BADABI_MINOR (GP_ABI_MINOR + 1)
#elif defined(OLD_MINOR)
#define BADABI_MINOR 0
#else
#define BADABI_MINOR GP_ABI_MINOR
#endif

static gp_outcome check(gp_ctx *ctx, const gp_api *api)
{
#if defined(OLD_MINOR)
    api->message(ctx, "an ABI %d.%d plugin ran", BADABI_MAJOR, BADABI_MINOR);
    return GP_READY;
#else
    api->message(ctx, "%s: the loader should have refused this plugin",
                 BADABI_NAME);
    return GP_UNKNOWN;
#endif
}

#if defined(EXTRA_EXPORT)
GP_PLUGIN_EXPORT int badabi_leaked_helper(void);

GP_PLUGIN_EXPORT int badabi_leaked_helper(void)
{
    return 42;
}
#endif

static const gp_plugin badabi_plugin = {
    .abi_major = BADABI_MAJOR,
    .abi_minor = BADABI_MINOR,
    .size = (uint32_t)sizeof(gp_plugin),
    .name = BADABI_NAME,
    .version = "0.0.0",
    .summary = "test plugin with a broken ABI declaration",
    .options = NULL,
    .metrics = NULL,
    .check = check,
};

#if defined(NO_ENTRY)
/* A near miss of the entry point. Note that sdk/plugin.map makes it local;
 * link without the version script to see it exported. Either way dlsym()
 * of gpcheck_plugin must fail. */
GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin_v0(void);

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin_v0(void)
{
    return &badabi_plugin;
}
#else
GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    return &badabi_plugin;
}
#endif
