/*
 * core/paths.h - where this gpcheck's plugins and configuration live.
 *
 * A gpcheck runs from one of three places, told apart by the folder of
 * /proc/self/exe:
 *   - its configured bindir: the configured plugin and configuration
 *     folders (GP_PLUGINDIR, GP_SYSCONFDIR);
 *   - its build tree: the build's plugins, then the configured ones;
 *   - anywhere else (`cmake --install build --prefix OTHER`, a prefix
 *     moved or unpacked elsewhere): both folders relative to the
 *     executable's folder, by the paths from bindir the build computed
 *     from the GNUInstallDirs values (CMakeLists.txt, GP_BIN_TO_*).
 * An explicit --plugin-dir, $GPCHECK_PLUGIN_PATH or plugin_path comes
 * before all of these (core/loader.h).
 */
#ifndef GP_CORE_PATHS_H
#define GP_CORE_PATHS_H

/* The installed plugin folder for this executable. Static storage, valid
 * for the life of the process; never NULL. */
const char *paths_plugindir(void);
/* The folder holding gpcheck/gpcheck.ini (".../etc"). Same lifetime. */
const char *paths_sysconfdir(void);
/* The build tree's plugin folder when this executable runs from its
 * build tree, else NULL. Same lifetime. */
const char *paths_build_plugindir(void);

#endif
