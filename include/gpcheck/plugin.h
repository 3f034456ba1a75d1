/*
 * gpcheck/plugin.h - the probe plugin ABI, version 1.3.
 *
 * This header is the whole contract between gpcheck's core and a probe
 * plugin. A plugin includes this file and nothing else from gpcheck, links
 * nothing from the core, and exports exactly one symbol:
 *
 *     const gp_plugin *gpcheck_plugin(void);
 *
 * (bound to the ELF version node GPCHECK_ABI_1 by the linker version script
 * sdk/plugin.map; use GP_PLUGIN_EXPORT on its definition).
 *
 * The core calls it once after dlopen, before any fork, and checks the
 * returned descriptor's ABI version and size before touching anything else:
 *   - abi_major must equal the core's GP_ABI_MAJOR;
 *   - abi_minor must be <= the core's GP_ABI_MINOR;
 *   - size must cover every field of the descriptor at that minor.
 *
 * The plugin describes itself as data: options (typed, with defaults,
 * required and secret flags) and metrics (with units). The core validates
 * every configured value against the option schema before any probe runs,
 * so check() only ever sees well-typed values.
 *
 * validate() (optional, since ABI 1.2) judges the values the schema cannot:
 * a DSN's syntax, a URL's scheme, a path that must exist. The core calls it
 * for every probe whenever it resolves the configuration (`validate`,
 * `run`, `list`, `--explain`), after the schema and type checks passed,
 * in a forked child per plugin under a deadline (GP_VALIDATE_TIMEOUT_MS);
 * each invalid() it reports is a configuration error at the option's
 * FILE:LINE. A crash or a hang there is a configuration error naming the
 * plugin.
 *
 * check() runs in a forked child process, one per attempt, under a hard
 * deadline: the core kills the whole process group when the attempt's time
 * is up, whatever the plugin is doing. A plugin must still honour the
 * deadline itself (gp_api.time_left_ms) so that it can say *why* it is not
 * ready instead of being killed.
 *
 * The plugin reports; the core decides. check() returns an outcome and may
 * set a message and metrics; thresholds, retries, warmup and the verdict
 * belong to the core.
 *
 * ABI stability rules (see CONTRIBUTING.md):
 *   - Structs that cross the boundary carry their size first and grow only
 *     at the end; a new field is a new minor version.
 *   - gp_option and gp_metric are array elements: their layout is frozen for
 *     the whole major version.
 *   - Enum values are never renumbered; new values are added at the end in a
 *     minor version.
 *   - A new reserved probe key (GP_RESERVED_KEYS) is a new minor version.
 *   - Anything else is a new major version and a new entry symbol version.
 *
 * Minor versions of ABI 1:
 *   1.0  the descriptor up to check; gp_api up to log.
 *   1.1  GP_OPT_FILE.
 *   1.2  gp_plugin.validate; gp_api.invalid and gp_api.secret;
 *        GP_OPT_CONNINFO, GP_OPT_METRICS; GP_RESERVED_KEYS listed here.
 *   1.3  gp_plugin.urls: the URL schemes a plugin serves (gp_url_map,
 *        an array element frozen from 1.3 on), for `gpcheck wait URL`;
 *        GP_OPT_FAMILY and gp_api.opt_family; gp_api.metric_wanted;
 *        GP_CORE_METRICS; reserved keys warmup_max, interval, max_age.
 *   - Build flags of the core or of a plugin never change this ABI.
 */
#ifndef GPCHECK_PLUGIN_H
#define GPCHECK_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GP_ABI_MAJOR 1
#define GP_ABI_MINOR 3

/* Name of the one symbol a plugin exports, for dlsym(). */
#define GP_PLUGIN_SYMBOL "gpcheck_plugin"

#if defined(__GNUC__)
#define GP_PLUGIN_EXPORT __attribute__((visibility("default")))
#define GP_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define GP_PLUGIN_EXPORT
#define GP_PRINTF(fmt, args)
#endif

/* ------------------------------------------------------------------------ */
/* Outcome of one attempt, as the plugin sees it.                           */

typedef enum gp_outcome {
    /* The service is ready. */
    GP_READY = 0,
    /* Not ready, and trying again may help: connection refused, timeout,
     * "the database system is starting up", LOADING, 503. */
    GP_TRANSIENT = 1,
    /* Not ready, and trying again cannot help: bad credentials, permission
     * denied, TLS verification failure, a bad option value. Ends the probe
     * at once, in warmup too. */
    GP_FATAL = 2,
    /* Ready, but degraded: the core reports status "warn" (for example a
     * monitoring plugin that exited with WARNING). */
    GP_DEGRADED = 3,
    /* The plugin could not tell (an internal error of the probe itself).
     * The core reports status "error" and does not retry. */
    GP_UNKNOWN = 4,
} gp_outcome;

/* ------------------------------------------------------------------------ */
/* Declared option schema.                                                   */

typedef enum gp_type {
    GP_TYPE_STRING = 1,
    GP_TYPE_INTEGER = 2,    /* int64_t, decimal */
    GP_TYPE_BOOLEAN = 3,    /* true/false/yes/no/on/off/1/0 */
    GP_TYPE_DURATION = 4,   /* 250ms, 45s, 2m, 1h, 1m30s; bare number: s */
    GP_TYPE_PERCENTAGE = 5, /* 90%, 12.5% (a bare number is a percentage) */
    GP_TYPE_LIST = 6,       /* comma-separated strings, each trimmed */
} gp_type;

/* gp_option.flags */
#define GP_OPT_REQUIRED 0x1u /* the probe must set it (no default) */
#define GP_OPT_SECRET 0x2u   /* never printed; masked in messages too */
/* Since ABI 1.1, for GP_TYPE_STRING: the value names a file that holds a
 * secret (a password file, a token file). gpcheck refuses, at config time
 * with FILE:LINE, one that is not a regular file or that group or others
 * may read, and masks the file's content in every message. The plugin
 * still reads the file itself (gp_sdk_read_secret). */
#define GP_OPT_FILE 0x4u
/* Since ABI 1.2, for GP_TYPE_STRING: the value is a libpq-style connection
 * string, key=value pairs or a postgresql:// URI. gpcheck masks only its
 * secret fields where it shows the value (password=***), and quotes or
 * percent-encodes each ${VAR} interpolated into it as one value, so that
 * a variable cannot add keys. */
#define GP_OPT_CONNINFO 0x8u
/* Since ABI 1.2, for GP_TYPE_LIST: each item names a metric this probe
 * reports, in addition to the plugin's declared ones: NAME or NAME:UNIT,
 * NAME matching [a-z][a-z0-9_]* and UNIT one of ms, %, count, bytes (none
 * when left out). The core checks the items at config time (FILE:LINE),
 * lets warn_if / fail_if name them, and accepts them from metric(). At
 * most one option of a plugin carries this flag. */
#define GP_OPT_METRICS 0x10u
/* Since ABI 1.3, for GP_TYPE_STRING: a family of options. The probe
 * section sets KEY.NAME = VALUE for any number of NAMEs matching
 * [a-z][a-z0-9_]* (`query.vpc_utilisation = max(...)`), never KEY itself;
 * each NAME is also a metric of the probe (unit none, unless the plugin's
 * GP_OPT_METRICS list names it with a unit: `units = vpc_utilisation:%`).
 * The plugin reads the members with gp_api.opt_family. GP_OPT_REQUIRED
 * means at least one member; no other flag combines with it. */
#define GP_OPT_FAMILY 0x20u
/* Every flag this version knows; any other bit is refused by the loader. */
#define GP_OPT_ALL_FLAGS                                                       \
    (GP_OPT_REQUIRED | GP_OPT_SECRET | GP_OPT_FILE | GP_OPT_CONNINFO |         \
     GP_OPT_METRICS | GP_OPT_FAMILY)

/*
 * The keys the core reserves in a probe section for its own policy, with
 * the ABI minor that reserved each: X(KEY, MINOR) for every key, so that
 * one list serves the core, the SDK harness and a plugin's own tests.
 *
 * A plugin may not declare an option whose key was reserved at or before
 * its own minor: the loader refuses it. A key reserved later than the
 * plugin's minor (a 1.2 plugin declaring `interval`, reserved by a later
 * minor) still loads, so that a new gpcheck never breaks an old plugin;
 * the option is then shadowed: a probe section that sets the key gets a
 * configuration error saying so, and the option keeps its default.
 * Adding a key here is a minor-version event.
 */
#define GP_RESERVED_KEYS(X)                                                    \
    X("plugin", 0)                                                             \
    X("timeout", 0)                                                            \
    X("warmup", 0)                                                             \
    X("warmup_interval", 0)                                                    \
    X("attempts", 0)                                                           \
    X("delay", 0)                                                              \
    X("backoff", 0)                                                            \
    X("max_delay", 0)                                                          \
    X("jitter", 0)                                                             \
    X("success_threshold", 0)                                                  \
    X("severity", 0)                                                           \
    X("tags", 0)                                                               \
    X("after", 0)                                                              \
    X("envs", 0)                                                               \
    X("group", 0)                                                              \
    X("warn_if", 0)                                                            \
    X("fail_if", 0)                                                            \
    X("retry_on_threshold", 0)                                                 \
    X("warmup_max", 3)                                                         \
    X("interval", 3)                                                           \
    X("max_age", 3)

/*
 * Since ABI 1.3: the metrics the core measures itself for every probe,
 * X(NAME, UNIT, MINOR, HELP), which warn_if / fail_if of any probe may name
 * (`warn_if = ready_after > 30s`). They are evaluated with the plugin's
 * metrics on each ready (or degraded) attempt. A plugin of minor MINOR or
 * later may not declare a metric of these names (the loader refuses it);
 * an older plugin that does keeps its own metric under that name for its
 * probes. A configured metric (a GP_OPT_METRICS item, a GP_OPT_FAMILY
 * member) of such a name is a configuration error.
 */
#define GP_CORE_METRICS(X)                                                     \
    X("ready_after", GP_UNIT_MS, 3,                                            \
      "time from the probe's start (its 'after' probes ready) to this "        \
      "result")                                                                \
    X("attempts", GP_UNIT_COUNT, 3,                                            \
      "attempts made so far, warmup attempts included")                        \
    X("duration", GP_UNIT_MS, 3, "how long this attempt took")

/*
 * One option. Every string is owned by the plugin and must live as long as
 * the plugin is loaded (string literals, in practice).
 */
typedef struct gp_option {
    const char *key; /* [a-z][a-z0-9_]*, unique in the plugin */
    gp_type type;
    unsigned flags;   /* GP_OPT_* */
    const char *def;  /* default in config syntax ("6379", "2s"), or NULL */
    const char *help; /* one line, for `gpcheck plugins NAME` */
    /* For GP_TYPE_INTEGER, GP_TYPE_DURATION (in ms) and GP_TYPE_PERCENTAGE:
     * the inclusive range the core accepts, used when min < max. */
    int64_t min;
    int64_t max;
    /* For GP_TYPE_STRING and each item of GP_TYPE_LIST: the accepted values,
     * separated by '|' ("A|AAAA|MX"), compared case-sensitively; NULL for
     * any value. */
    const char *choices;
} gp_option;

typedef enum gp_unit {
    GP_UNIT_NONE = 0,
    GP_UNIT_MS = 1,      /* milliseconds */
    GP_UNIT_PERCENT = 2, /* 0..100 */
    GP_UNIT_COUNT = 3,
    GP_UNIT_BYTES = 4,
} gp_unit;

/* One metric. Strings owned by the plugin, as for gp_option. */
typedef struct gp_metric {
    const char *name; /* [a-z][a-z0-9_]*, unique in the plugin */
    gp_unit unit;
    const char *help;
} gp_metric;

/* ------------------------------------------------------------------------ */
/* What the core offers to check(): an opaque context and a function table.  */

/* Opaque per-attempt context, owned by the core; valid only during check(). */
typedef struct gp_ctx gp_ctx;

typedef enum gp_log_level {
    GP_LOG_ERROR = 0,
    GP_LOG_WARNING = 1,
    GP_LOG_INFO = 2,
    GP_LOG_DEBUG = 3,
} gp_log_level;

/*
 * The core's functions. The table is owned by the core and lives as long as
 * the process. `size` is sizeof(gp_api) as the core was built; since the
 * core refuses plugins of a newer minor than its own, every function of the
 * plugin's minor is present.
 *
 * Option getters: `key` must be declared in the plugin's schema with the
 * matching type. Asking for an undeclared key or with the wrong type is a
 * plugin bug: the getter returns the zero value and the attempt ends with
 * status "error" naming the key. An option that is neither set nor
 * defaulted yields the zero value (NULL, 0, false, an empty list); use
 * opt_isset() to tell "unset" from "set to zero".
 */
typedef struct gp_api {
    size_t size;

    /* Returned strings are owned by the core and valid until check()
     * returns. */
    const char *(*opt_string)(gp_ctx *ctx, const char *key);
    int64_t (*opt_integer)(gp_ctx *ctx, const char *key);
    int (*opt_boolean)(gp_ctx *ctx, const char *key); /* 0 or 1 */
    int64_t (*opt_duration_ms)(gp_ctx *ctx, const char *key);
    double (*opt_percentage)(gp_ctx *ctx, const char *key); /* 90% -> 90.0 */
    /* Number of items; *items (when not NULL) receives an array owned by the
     * core, valid until check() returns. */
    size_t (*opt_list)(gp_ctx *ctx, const char *key, const char *const **items);
    /* 1 when the probe's config sets the key (a default does not count). */
    int (*opt_isset)(gp_ctx *ctx, const char *key);

    /* The attempt's absolute deadline on CLOCK_MONOTONIC, in milliseconds,
     * and the milliseconds left before it (never negative). The core kills
     * the attempt shortly after the deadline. */
    int64_t (*deadline_ms)(gp_ctx *ctx);
    int64_t (*time_left_ms)(gp_ctx *ctx);

    /* 1 while the probe is in its warmup window, where not-ready results are
     * expected (a plugin may treat "no such record" as transient there and
     * as fatal after). */
    int (*in_warmup)(gp_ctx *ctx);
    /* 1-based attempt number within the current phase. */
    unsigned (*attempt)(gp_ctx *ctx);
    /* The probe's section name, owned by the core, valid during check(). */
    const char *(*probe_name)(gp_ctx *ctx);

    /* Report a declared metric. Reporting the same name again replaces the
     * value. An undeclared name is a plugin bug (status "error"). */
    void (*metric)(gp_ctx *ctx, const char *name, double value);
    /* Set the attempt's one-line result message (replaces any earlier one).
     * Secret option values are masked by the core in any case, but a plugin
     * should not put them there. */
    void (*message)(gp_ctx *ctx, const char *fmt, ...) GP_PRINTF(2, 3);
    /* Diagnostic line, shown with -v and in --explain. The core damps
     * floods: only the first lines of an attempt are kept. */
    void (*log)(gp_ctx *ctx, gp_log_level level, const char *fmt, ...)
        GP_PRINTF(3, 4);

    /* ---- since ABI 1.2 ---- */

    /* From validate() only: the value of option `key` is wrong, and why
     * (one line, without the value itself when it may hold a secret). The
     * core reports it at the option's FILE:LINE and the command exits 2.
     * Call it once per bad value; every call is reported. Called from
     * check(), it is a plugin bug (status "error"). */
    void (*invalid)(gp_ctx *ctx, const char *key, const char *fmt, ...)
        GP_PRINTF(3, 4);
    /* From validate() or check(): `text` (copied) is a secret the core
     * must mask wherever this probe's values, messages and logs are shown,
     * for the rest of the run: a password field found inside a DSN, a
     * token fetched at run time. Declare it before the message that may
     * carry it. NULL and "" are ignored. At most 64 texts per attempt, or
     * per probe in validate(); one more is a plugin bug. */
    void (*secret)(gp_ctx *ctx, const char *text);

    /* ---- since ABI 1.3 ---- */

    /* The members of GP_OPT_FAMILY option `key`, in the order the
     * configuration sets them: *names receives their NAMEs, *values their
     * values (either pointer may be NULL), arrays and strings owned by the
     * core and valid until check() returns. Returns the count (0: none
     * set). A key that is not a declared family is a plugin bug. */
    size_t (*opt_family)(gp_ctx *ctx, const char *key,
                         const char *const **names, const char *const **values);
    /* 1 when somebody will look at metric `name` of this attempt: a
     * warn_if / fail_if of the probe names it, or the run writes a report
     * that shows every metric (json, jsonl, tap, prometheus, nagios, the
     * `probe` command). 0 when nobody will: a plugin may then skip the
     * work of measuring it (an extra query, a second request). An
     * undeclared name gives 0. In validate() only the thresholds count.
     * Reporting a metric nobody wants is still allowed. */
    int (*metric_wanted)(gp_ctx *ctx, const char *name);
} gp_api;

/* ------------------------------------------------------------------------ */
/* URLs (since ABI 1.3): how `gpcheck wait URL...` makes a probe of a URL.   */

/*
 * One element of gp_plugin.urls: the schemes it serves and the options
 * the parts of such a URL set. The core parses the URL (libcurl's URL
 * parser), puts each part named here into its option (percent-decoded,
 * except the whole URL), checks each value against the option's schema,
 * and refuses a URL with a part that goes nowhere (a path, a query, a
 * password no option receives). An array element: its layout is frozen
 * for the rest of major version 1 (a new need is a new gp_plugin field).
 * The loader checks the map against the schema: each named option is
 * declared, url, host, user and path are strings (path may be an
 * integer), port an integer or a string, password a GP_OPT_SECRET string,
 * and every scheme ([a-z][a-z0-9+.-]*) appears once in the plugin.
 * Strings are owned by the plugin, as for gp_option; NULL: not mapped.
 */
typedef struct gp_url_map {
    /* "postgres|postgresql": the schemes, lower case, '|'-separated; NULL
     * ends the array. */
    const char *schemes;
    /* Receives the whole URL as given (postgres' dsn, http's url); when
     * user or password are mapped too, the URL without its user info. */
    const char *url;
    /* Receives the host (an IPv6 address without brackets). When port
     * names the same option, it receives HOST:PORT ([V6]:PORT) when the
     * URL has a port, else HOST (a DNS server). */
    const char *host;
    const char *port; /* the port, when the URL has one */
    const char *user;
    const char *password; /* must be a GP_OPT_SECRET string option */
    const char *path;     /* the path without its leading '/', when any */
    unsigned flags;       /* GP_URL_* */
} gp_url_map;

/* gp_url_map.flags: each query parameter KEY=VALUE sets option KEY
 * (dns://127.0.0.1:5353/example.com?type=A). Without it, a query is
 * refused unless the whole URL goes to an option. */
#define GP_URL_QUERY_OPTIONS 0x1u

/* ------------------------------------------------------------------------ */
/* The plugin descriptor.                                                    */

/*
 * check(): one attempt. Runs in a child process; may block, but should not
 * outlive gp_api.time_left_ms(). It must not write to stdout, call exit(),
 * leave threads running, or keep state between calls (every attempt is a
 * fresh fork of the core: nothing survives from one attempt to the next).
 */
typedef gp_outcome (*gp_check_fn)(gp_ctx *ctx, const gp_api *api);

/*
 * validate() (since ABI 1.2, optional): judge one probe's option values,
 * already typed and range-checked by the core, calling api->invalid() for
 * each bad one and api->secret() for each secret part of a value. It runs
 * in a child process that validates every probe of the plugin in turn
 * (one call per probe, in the same process), under one deadline of
 * GP_VALIDATE_TIMEOUT_MS for all of them, so it must be quick and must not
 * touch the network: parse, do not connect. The option getters,
 * probe_name, deadline_ms and time_left_ms work as in check(); metric(),
 * message() and log() do nothing there; in_warmup() is 0 and attempt() 0.
 * It must not keep state between calls or write to stdout.
 */
typedef void (*gp_validate_fn)(gp_ctx *ctx, const gp_api *api);

/* The time one plugin's validate() calls get, all probes together. */
#define GP_VALIDATE_TIMEOUT_MS 2000

/*
 * Descriptor returned by gpcheck_plugin(). Owned by the plugin: static
 * storage, valid while the plugin is loaded. Fill the first three fields
 * with GP_PLUGIN_HEADER.
 */
typedef struct gp_plugin {
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t size; /* sizeof(gp_plugin) as the plugin was built */

    const char *name;    /* must equal the file's name without ".so" */
    const char *version; /* the plugin's own version, free form */
    const char *summary; /* one line */

    /* Arrays terminated by an element whose key / name is NULL; either may
     * be NULL for none. */
    const gp_option *options;
    const gp_metric *metrics;

    gp_check_fn check;

    /* ---- since ABI 1.2 ---- */
    gp_validate_fn validate; /* may be NULL */

    /* ---- since ABI 1.3 ---- */
    /* The URL schemes this plugin serves, for `gpcheck wait`: an array
     * ended by an element whose schemes is NULL; NULL for none. */
    const gp_url_map *urls;
} gp_plugin;

#define GP_PLUGIN_HEADER                                                       \
    .abi_major = GP_ABI_MAJOR, .abi_minor = GP_ABI_MINOR,                      \
    .size = (uint32_t)sizeof(gp_plugin)

/* The entry point every plugin defines (with GP_PLUGIN_EXPORT). */
typedef const gp_plugin *(*gp_entry_fn)(void);
GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void);

#ifdef __cplusplus
}
#endif

#endif /* GPCHECK_PLUGIN_H */
