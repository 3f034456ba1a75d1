/*
 * core/main.c - the gpcheck command line: parses options, loads the
 * configuration and plugins, and dispatches to run / validate / list /
 * plugins / probe / wait / version.
 *
 * Exit status: 0 pass or degraded, 1 fail, 2 usage or config error, 124
 * the run deadline passed before the verdict was known, 129 / 130 / 143
 * interrupted by SIGHUP / SIGINT / SIGTERM. `run -- CMD` execs CMD on pass or
 * degraded.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bypass.h"
#include "config.h"
#include "dl.h"
#include "explain.h"
#include "gate_client.h"
#include "gpcheck/version.h"
#include "history.h"
#include "history_cli.h"
#include "loader.h"
#include "paths.h"
#include "policy.h"
#include "report.h"
#include "runner.h"
#include "schema.h"
#include "secrets.h"
#include "serve.h"
#include "spawner.h"
#include "supervise.h"
#include "util.h"
#include "value.h"
#include "wait.h"

typedef struct strvec {
    const char **v;
    size_t n, cap;
} strvec;

static void strvec_push(strvec *sv, const char *s)
{
    xgrow(&sv->v, &sv->cap, sv->n + 1, sizeof *sv->v);
    sv->v[sv->n++] = s;
}

typedef enum command {
    CMD_RUN,
    CMD_VALIDATE,
    CMD_LIST,
    CMD_PLUGINS,
    CMD_PROBE,
    CMD_WAIT,
    CMD_VERSION,
    CMD_HISTORY,
    CMD_STATS,
    CMD_SERVE,
} command;

typedef struct cli {
    command cmd;
    const char *cmd_name;
    config_opts copts;
    strvec env_files, plugin_dirs, probes, tags, skip_tags, outputs;
    int quiet, verbose, explain, nagios, no_progress;
    int docker_exit;      /* --exit-codes docker: 0 or 1 only */
    int64_t heartbeat_ms; /* --heartbeat; 0: none */
    const char *color;    /* --color: auto (NULL), always or never */
    /* wait: --timeout, --warmup (-1: the whole timeout), --interval,
     * --attempts */
    int64_t wait_timeout_ms, wait_warmup_ms, wait_interval_ms;
    unsigned wait_attempts;
    bypass_cli bypass;
    char **args; /* positional arguments (before --) */
    int n_args;
    char **exec_argv; /* after -- */
    int has_dashdash;
    const char *history; /* --history PATH ("default": the per-user file) */
    int no_history;      /* --no-history */
    int supervise, recheck;
    int64_t limit;     /* history -n */
    int64_t since_ms;  /* --since, as an age; 0: not given */
    double fail_below; /* stats --fail-below, a fraction; < 0: not given */
    const char *html;  /* stats --html FILE */
    const char *gate;  /* run --gate URL */
    const char *gate_token_file; /* run --gate-token-file */
    int gate_fallback_local;     /* run --gate-fallback local */
    strvec listen;               /* serve: --listen */
    serve_opts serve;            /* serve: the other options */
} cli;

static const struct {
    const char *name;
    command cmd;
    const char *usage;
    const char *what;
} commands[] = {
    {"run", CMD_RUN, "run [OPTIONS] [-- CMD [ARGS...]]",
     "Probe every selected probe and decide the verdict; on pass or "
     "degraded,\nexec CMD with GPCHECK_VERDICT set in its environment."},
    {"validate", CMD_VALIDATE, "validate [OPTIONS]",
     "Check the configuration and plugins as `run` would, without probing."},
    {"list", CMD_LIST, "list [OPTIONS]",
     "Print the probes selected for the environment with their effective\n"
     "policy and options (secrets masked)."},
    {"plugins", CMD_PLUGINS, "plugins [OPTIONS] [NAME]",
     "List the plugins on the search path, or print one plugin's option and\n"
     "metric schema."},
    {"probe", CMD_PROBE, "probe [OPTIONS] PLUGIN [KEY=VALUE...]",
     "Run one ad-hoc probe (PLUGIN is a name, or a path to a .so) with the\n"
     "given options and policy keys, and print its outcome and metrics."},
    {"wait", CMD_WAIT, "wait [OPTIONS] URL... [-- CMD [ARGS...]]",
     "Wait until the service of every URL is ready (tcp://, postgres://,\n"
     "redis://, https://, dns://...: a probe each, by the plugin serving\n"
     "the scheme); on pass, exec CMD. Reads no configuration file."},
    {"version", CMD_VERSION, "version", "Print the version and plugin ABI."},
    {"history", CMD_HISTORY, "history [OPTIONS]",
     "Print the last runs kept in the run history (newest first)."},
    {"stats", CMD_STATS, "stats [OPTIONS]",
     "Aggregate the run history per env and probe: pass rate, time to "
     "ready,\nattempts, flakiness, the gated suite's success rate."},
    {"serve", CMD_SERVE, "serve [OPTIONS]",
     "Run as a shared gate: re-probe every probe each `interval` and answer\n"
     "HTTP clients (GET /v1/verdict, /readyz, /metrics, /v1/wait, ...) from\n"
     "the latest results. SIGHUP reloads the configuration."},
};

/* Which commands an option applies to. */
#define ON(c) (1u << (c))
#define ON_CONFIG                                                              \
    (ON(CMD_RUN) | ON(CMD_VALIDATE) | ON(CMD_LIST) | ON(CMD_SERVE))
/* validate takes every option run takes, so that swapping the word checks
 * a run's whole command line without probing. */
#define ON_RUNS (ON(CMD_RUN) | ON(CMD_PROBE) | ON(CMD_VALIDATE))

enum {
    OPT_CONF_DIR = 256,
    OPT_ENV_FILE,
    OPT_PLUGIN_DIR,
    OPT_TAG,
    OPT_SKIP_TAG,
    OPT_DEADLINE,
    OPT_EXPLAIN,
    OPT_BYPASS_REASON,
    OPT_BYPASS_EXPIRES,
    OPT_NAGIOS,
    OPT_NO_PROGRESS,
    OPT_EXIT_CODES,
    OPT_HISTORY,
    OPT_NO_HISTORY,
    OPT_SUPERVISE,
    OPT_RECHECK,
    OPT_SINCE,
    OPT_FAIL_BELOW,
    OPT_HTML,
    OPT_TIMEOUT,
    OPT_WARMUP,
    OPT_INTERVAL,
    OPT_ATTEMPTS,
    OPT_HEARTBEAT,
    OPT_COLOR,
    OPT_GATE,
    OPT_GATE_TOKEN_FILE,
    OPT_GATE_FALLBACK,
    OPT_LISTEN,
    OPT_TOKEN_FILE,
    OPT_INSECURE_LISTEN,
    OPT_ENABLE_RELOAD,
    OPT_LOG_FORMAT,
    OPT_GRACE,
    OPT_MIN_SPACING,
    OPT_MAX_CONNECTIONS,
    OPT_MAX_PER_IP,
    OPT_MAX_WAITS,
    OPT_MAX_WAITS_PER_IP,
    OPT_CONN_TIMEOUT,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
};

#define ON_HISTORY (ON(CMD_HISTORY) | ON(CMD_STATS))

/*
 * Every option, once: its getopt form, the commands it applies to, and its
 * help (lines after the first continue under it). `gpcheck CMD --help`
 * shows only CMD's options, and an option given to a command it does not
 * apply to is an error rather than silently ignored.
 */
static const struct cli_opt {
    const char *name; /* long name */
    int has_arg;
    int val;       /* the short letter, or an OPT_* */
    unsigned cmds; /* ON(...) */
    const char *arg;
    const char *help;
} cli_opts[] = {
    {"config", 1, 'c', ON_CONFIG | ON(CMD_PLUGINS) | ON_HISTORY, "PATH",
     /* %s: this executable's configuration folder (core/paths.h) */
     "main config file (default: "
     "$GPCHECK_CONFIG,\n./gpcheck.ini, %s/gpcheck/gpcheck.ini)"},
    {"conf-dir", 1, OPT_CONF_DIR, ON_CONFIG, "DIR",
     "probe definitions (default: conf.d beside the\nmain file, or ./conf.d)"},
    {"env", 1, 'e', ON_CONFIG | ON(CMD_PROBE) | ON_HISTORY, "ENV",
     "environment (default: $GPCHECK_ENV, env in\n[gpcheck], or 'default')"},
    {"env-file", 1, OPT_ENV_FILE, ON_CONFIG, "FILE",
     "KEY=VALUE variables for ${VAR} (repeatable)"},
    {"plugin-dir", 1, OPT_PLUGIN_DIR,
     ON_CONFIG | ON(CMD_PLUGINS) | ON(CMD_PROBE) | ON(CMD_WAIT), "DIR",
     "search plugins here first (repeatable)"},
    {"probe", 1, 'p', ON_CONFIG | ON_HISTORY, "NAME",
     "only this probe and its 'after' dependencies\n(repeatable)"},
    {"tag", 1, OPT_TAG, ON_CONFIG, "TAG",
     "only probes with this tag (repeatable)"},
    {"skip-tag", 1, OPT_SKIP_TAG, ON_CONFIG, "TAG",
     "not probes with this tag (repeatable)"},
    {"jobs", 1, 'j', ON(CMD_RUN) | ON(CMD_VALIDATE) | ON(CMD_SERVE), "N",
     "attempts in flight at most (default 32)"},
    {"deadline", 1, OPT_DEADLINE, ON_RUNS, "DUR",
     "the whole run lasts at most DUR (e.g. 2m)"},
    {"output", 1, 'o', ON_RUNS | ON_HISTORY, "FMT[:PATH]",
     "report format, repeatable: text (stderr),\njson, jsonl, junit, tap, "
     "prometheus, nagios, github\n(stdout unless a PATH is given), or\n"
     "pushgateway:URL (PUT to a Pushgateway);\nhistory and "
     "stats: text or json, on stdout"},
    {"history", 1, OPT_HISTORY, ON_CONFIG | ON_HISTORY, "PATH",
     "keep the run in the history file PATH\n('default': $XDG_STATE_HOME/"
     "gpcheck/history.db);\nhistory and stats read it"},
    {"no-history", 0, OPT_NO_HISTORY,
     ON(CMD_RUN) | ON(CMD_VALIDATE) | ON(CMD_SERVE), NULL,
     "keep no history, whatever [gpcheck] says\n(serve keeps one by default)"},
    {"supervise", 0, OPT_SUPERVISE, ON(CMD_RUN) | ON(CMD_VALIDATE), NULL,
     "run -- CMD as a child (signals forwarded to\nits process group) and "
     "exit with its status,\nso the history records its outcome"},
    {"recheck", 0, OPT_RECHECK, ON(CMD_RUN) | ON(CMD_VALIDATE), NULL,
     "with --supervise: when CMD fails, probe again\nand label the failure "
     "infrastructure or tests"},
    {"limit", 1, 'n', ON(CMD_HISTORY), "N", "the last N runs (default 20)"},
    {"since", 1, OPT_SINCE, ON_HISTORY, "AGE",
     "only runs of the last AGE (30d, 12h; stats\ndefault 30d)"},
    {"html", 1, OPT_HTML, ON(CMD_STATS), "FILE",
     "also write the stats as one self-contained\nHTML page with SVG plots"},
    {"fail-below", 1, OPT_FAIL_BELOW, ON(CMD_STATS), "RATE",
     "exit 1 when an env's suite success rate (or,\nwithout supervised "
     "runs, its pass rate) is\nbelow RATE (95%, 0.95)"},
    {"nagios", 0, OPT_NAGIOS, ON_RUNS, NULL,
     "print the Nagios line and exit 0/1/2/3 as\na Nagios check "
     "(OK/WARNING/CRITICAL/UNKNOWN)"},
    {"timeout", 1, OPT_TIMEOUT, ON(CMD_WAIT), "DUR",
     "wait at most DUR in all (default 60s);\nthen exit 124"},
    {"warmup", 1, OPT_WARMUP, ON(CMD_WAIT), "DUR",
     "not ready is expected for DUR (default:\nthe whole --timeout)"},
    {"interval", 1, OPT_INTERVAL, ON(CMD_WAIT), "DUR",
     "between attempts (default 1s)"},
    {"attempts", 1, OPT_ATTEMPTS, ON(CMD_WAIT), "N",
     "attempts after the warmup (default 1)"},
    {"exit-codes", 1, OPT_EXIT_CODES, ON_RUNS | ON(CMD_WAIT), "STYLE",
     "gpcheck (the statuses below) or docker: 0\nwhen the gate passes, else "
     "1 (a Docker\nHEALTHCHECK reserves 2)"},
    {"no-progress", 0, OPT_NO_PROGRESS, ON_RUNS, NULL,
     "plain lines on a terminal too"},
    {"heartbeat", 1, OPT_HEARTBEAT, ON_RUNS, "DUR",
     "without a terminal: a 'still waiting' line\nper quiet probe every DUR "
     "(default 10s;\n0: none)"},
    {"color", 1, OPT_COLOR, ON_RUNS, "WHEN",
     "auto (a terminal, unless NO_COLOR; always\nwith FORCE_COLOR), always "
     "or never"},
    {"quiet", 0, 'q', ON_RUNS, NULL, "only the verdict and what is not ok"},
    {"verbose", 0, 'v', ON_RUNS | ON(CMD_SERVE), NULL,
     "plugin log lines and plugin stderr"},
    {"gate", 1, OPT_GATE, ON(CMD_RUN) | ON(CMD_VALIDATE), "URL",
     "ask the shared gate `gpcheck serve` at URL\n(long-poll within "
     "--deadline, default 60s)\ninstead of probing here"},
    {"gate-token-file", 1, OPT_GATE_TOKEN_FILE, ON(CMD_RUN) | ON(CMD_VALIDATE),
     "FILE", "the gate's bearer token, from FILE"},
    {"gate-fallback", 1, OPT_GATE_FALLBACK, ON(CMD_RUN) | ON(CMD_VALIDATE),
     "MODE",
     "local: probe here when the gate cannot be\nreached (default: "
     "exit 1)"},
    {"listen", 1, OPT_LISTEN, ON(CMD_SERVE), "ADDR:PORT",
     "serve here (repeatable; [::1]:PORT for IPv6;\ndefault 127.0.0.1:9847)"},
    {"token-file", 1, OPT_TOKEN_FILE, ON(CMD_SERVE), "FILE",
     "require 'Authorization: Bearer TOKEN' with\nthe token in FILE (re-read "
     "on reload)"},
    {"tls-cert", 1, OPT_TLS_CERT, ON(CMD_SERVE), "FILE",
     "serve HTTPS with this PEM certificate (chain)\n(re-read on reload)"},
    {"tls-key", 1, OPT_TLS_KEY, ON(CMD_SERVE), "FILE",
     "the certificate's PEM private key"},
    {"insecure-listen", 0, OPT_INSECURE_LISTEN, ON(CMD_SERVE), NULL,
     "allow a non-loopback --listen without a token"},
    {"enable-reload", 0, OPT_ENABLE_RELOAD, ON(CMD_SERVE), NULL,
     "accept POST /-/reload"},
    {"log-format", 1, OPT_LOG_FORMAT, ON(CMD_SERVE), "FMT",
     "text (default) or json: one line per event"},
    {"grace", 1, OPT_GRACE, ON(CMD_SERVE), "DUR",
     "on SIGTERM, responses in flight get DUR\n(default 5s)"},
    {"min-spacing", 1, OPT_MIN_SPACING, ON(CMD_SERVE), "DUR",
     "fresh checks probe a probe at most this often\n(default 2s)"},
    {"max-connections", 1, OPT_MAX_CONNECTIONS, ON(CMD_SERVE), "N",
     "connections at once (default 1024)"},
    {"max-per-ip", 1, OPT_MAX_PER_IP, ON(CMD_SERVE), "N",
     "connections at once from one address\n(default 256)"},
    {"max-waits", 1, OPT_MAX_WAITS, ON(CMD_SERVE), "N",
     "long-polls (/v1/wait) at once (default 512)"},
    {"max-waits-per-ip", 1, OPT_MAX_WAITS_PER_IP, ON(CMD_SERVE), "N",
     "long-polls at once from one address\n(default 128)"},
    {"connection-timeout", 1, OPT_CONN_TIMEOUT, ON(CMD_SERVE), "DUR",
     "cut a connection idle or slow this long\n(default 10s)"},
    {"explain", 0, OPT_EXPLAIN, ON_RUNS, NULL,
     "print the decision trace (files, keys and\noverlays, policy, attempts, "
     "thresholds,\ngroups, bypass, the rule of the verdict)"},
    {"bypass-reason", 1, OPT_BYPASS_REASON, ON(CMD_RUN) | ON(CMD_VALIDATE),
     "TEXT",
     "emergency bypass for this run, with\n--bypass-expires: failures do not "
     "fail the\ngate until then; always announced"},
    {"bypass-expires", 1, OPT_BYPASS_EXPIRES, ON(CMD_RUN) | ON(CMD_VALIDATE),
     "WHEN", "when the bypass ends (at most max_days\nahead)"},
    {"help", 0, 'h', ~0u, NULL, "this help"},
    {"version", 0, 'V', ~0u, NULL, "print the version and plugin ABI"},
};

static const struct cli_opt *opt_by_val(int val)
{
    for (size_t i = 0; i < ARRAY_LEN(cli_opts); i++)
        if (cli_opts[i].val == val)
            return &cli_opts[i];
    return NULL;
}

static void print_option(FILE *out, const struct cli_opt *o)
{
    char head[64];
    if (o->val < 256)
        snprintf(head, sizeof head, "-%c, --%s%s%s", o->val, o->name,
                 o->arg ? " " : "", o->arg ? o->arg : "");
    else
        snprintf(head, sizeof head, "    --%s%s%s", o->name, o->arg ? " " : "",
                 o->arg ? o->arg : "");
    fprintf(out, "  %-22s", head);
    if (strlen(head) > 22)
        fprintf(out, "\n  %-22s", "");
    char *owned = o->val == 'c' ? xasprintf(o->help, paths_sysconfdir()) : NULL;
    for (const char *h = owned ? owned : o->help; *h;) {
        size_t n = strcspn(h, "\n");
        fprintf(out, " %.*s\n", (int)n, h);
        h += n;
        if (*h == '\n' && *++h)
            fprintf(out, "  %-22s", "");
    }
    free(owned);
}

static void usage(FILE *out, const char *cmd)
{
    size_t c = ARRAY_LEN(commands);
    for (size_t i = 0; cmd && i < ARRAY_LEN(commands); i++)
        if (strcmp(commands[i].name, cmd) == 0)
            c = i;
    if (c == ARRAY_LEN(commands)) {
        fputs("usage: gpcheck COMMAND [OPTIONS]\n\n"
              "A health-check gate: probes infrastructure in parallel under "
              "warmup and\nretry policies and decides whether a test run may "
              "start.\n\ncommands:\n",
              out);
        for (size_t i = 0; i < ARRAY_LEN(commands); i++)
            fprintf(out, "  %-44s\n", commands[i].usage);
        fputs("\n'gpcheck COMMAND --help' shows the options of COMMAND.\n",
              out);
    } else {
        fprintf(out, "usage: gpcheck %s\n\n%s\n\noptions:\n", commands[c].usage,
                commands[c].what);
        for (size_t i = 0; i < ARRAY_LEN(cli_opts); i++)
            if ((cli_opts[i].cmds & ON(commands[c].cmd)) &&
                cli_opts[i].val != 'V')
                print_option(out, &cli_opts[i]);
    }
    fputs("\nexit status: 0 pass or degraded, 1 fail, 2 usage or config "
          "error,\n124 run deadline passed, 129/130/143 interrupted "
          "(HUP/INT/TERM)\n"
          "(with --exit-codes docker: 0 pass, 1 anything else).\n",
          out);
}

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fputs("gpcheck: ", stderr);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'gpcheck %s%s--help'.\n", cmd ? cmd : "",
            cmd ? " " : "");
    return EXIT_USAGE;
}

/* The closest of names to what the user typed, for a did-you-mean. */
static const char *closest(const char *typed, const char *const *names,
                           size_t n)
{
    while (*typed == '-')
        typed++;
    char *bare = xstrndup(typed, strcspn(typed, "="));
    const char *near = config_did_you_mean(bare, names, n);
    free(bare);
    return near;
}

/* "unknown option '--verbsoe' (did you mean '--verbose'?)" */
static int unknown_option(const char *cmd, const char *arg)
{
    const char *names[ARRAY_LEN(cli_opts)];
    for (size_t i = 0; i < ARRAY_LEN(cli_opts); i++)
        names[i] = cli_opts[i].name;
    const char *near = strncmp(arg, "--", 2) == 0
                           ? closest(arg, names, ARRAY_LEN(cli_opts))
                           : NULL;
    if (!near)
        return usage_error(cmd, "unknown option '%s'", arg);
    char *fmt = xasprintf("unknown option '%%s' (did you mean '--%s'?)", near);
    int rc = usage_error(cmd, fmt, arg);
    free(fmt);
    return rc;
}

/* "95%" or "0.95" into a fraction in [0, 1]. */
static int parse_rate(const char *s, double *out)
{
    char err[128];
    double pct;
    if (strchr(s, '%'))
        return value_percentage(s, &pct, err, sizeof err) < 0
                   ? -1
                   : (*out = pct / 100.0, 0);
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v >= 0.0 && v <= 1.0))
        return -1;
    *out = v;
    return 0;
}

/* Returns -1 to go on, or an exit status. */
static int parse_cli(cli *c, int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr, NULL), EXIT_USAGE;
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 ||
        strcmp(name, "help") == 0)
        return usage(stdout, argc > 2 ? argv[2] : NULL), EXIT_PASS;
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0)
        name = "version";
    size_t i;
    const char *names[ARRAY_LEN(commands)];
    for (i = 0; i < ARRAY_LEN(commands); i++)
        names[i] = commands[i].name;
    for (i = 0; i < ARRAY_LEN(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            break;
    if (i == ARRAY_LEN(commands)) {
        const char *near = closest(name, names, ARRAY_LEN(commands));
        if (!near)
            return usage_error(NULL, "unknown command '%s'", name);
        char *fmt =
            xasprintf("unknown command '%%s' (did you mean '%s'?)", near);
        int rc = usage_error(NULL, fmt, name);
        free(fmt);
        return rc;
    }
    c->cmd = commands[i].cmd;
    c->cmd_name = commands[i].name;

    /* getopt's tables, from cli_opts. */
    struct option long_opts[ARRAY_LEN(cli_opts) + 1];
    char shorts[2 * ARRAY_LEN(cli_opts) + 2] = ":";
    size_t ns = 1;
    for (i = 0; i < ARRAY_LEN(cli_opts); i++) {
        const struct cli_opt *o = &cli_opts[i];
        long_opts[i] = (struct option){o->name, o->has_arg, NULL, o->val};
        if (o->val < 256) {
            shorts[ns++] = (char)o->val;
            if (o->has_arg)
                shorts[ns++] = ':';
        }
    }
    long_opts[i] = (struct option){NULL, 0, NULL, 0};
    shorts[ns] = '\0';

    /* argv[1] is the command: getopt sees it as argv[0]. */
    argc--;
    argv++;
    /* wait's URLs stand before "--", and getopt would move them after it,
     * among CMD's words: its command starts after the first "--" (no
     * option of wait takes "--" as a value). */
    char **wait_cmd = NULL;
    for (int k = 1; c->cmd == CMD_WAIT && !wait_cmd && k < argc; k++)
        if (strcmp(argv[k], "--") == 0) {
            wait_cmd = argv + k + 1;
            argc = k;
        }
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, shorts, long_opts, NULL)) != -1) {
        char err[256];
        int64_t v;
        const struct cli_opt *o = opt_by_val(ch);
        if (o && !(o->cmds & ON(c->cmd))) {
            char *fmt = xasprintf("--%s does not apply to '%s'%s", o->name,
                                  c->cmd_name, "%s");
            int rc = usage_error(c->cmd_name, fmt, "");
            free(fmt);
            return rc;
        }
        switch (ch) {
        case 'c': c->copts.config_path = optarg; break;
        case OPT_CONF_DIR: c->copts.conf_dir = optarg; break;
        case 'e': c->copts.env = optarg; break;
        case OPT_ENV_FILE: strvec_push(&c->env_files, optarg); break;
        case OPT_PLUGIN_DIR: strvec_push(&c->plugin_dirs, optarg); break;
        case 'p': strvec_push(&c->probes, optarg); break;
        case OPT_TAG: strvec_push(&c->tags, optarg); break;
        case OPT_SKIP_TAG: strvec_push(&c->skip_tags, optarg); break;
        case 'o': strvec_push(&c->outputs, optarg); break;
        case 'q': c->quiet = 1; break;
        case 'v': c->verbose = 1; break;
        case OPT_EXPLAIN: c->explain = 1; break;
        case OPT_NAGIOS: c->nagios = 1; break;
        case OPT_NO_PROGRESS: c->no_progress = 1; break;
        case OPT_BYPASS_REASON: c->bypass.reason = optarg; break;
        case OPT_BYPASS_EXPIRES: c->bypass.expires = optarg; break;
        case OPT_HISTORY: c->history = optarg; break;
        case OPT_NO_HISTORY: c->no_history = 1; break;
        case OPT_SUPERVISE: c->supervise = 1; break;
        case OPT_RECHECK: c->recheck = 1; break;
        case 'n':
            if (value_integer(optarg, &c->limit, err, sizeof err) < 0 ||
                c->limit < 1 || c->limit > 1000000)
                return usage_error(c->cmd_name,
                                   "--limit %s: expected a number from 1 to "
                                   "1000000",
                                   optarg);
            break;
        case OPT_SINCE:
            if (history_parse_age(optarg, &c->since_ms, err, sizeof err) < 0)
                return usage_error(c->cmd_name,
                                   "--since %s: expected an age such as 30d, "
                                   "2w or 12h",
                                   optarg);
            break;
        case OPT_HTML: c->html = optarg; break;
        case OPT_FAIL_BELOW:
            if (parse_rate(optarg, &c->fail_below) < 0)
                return usage_error(c->cmd_name,
                                   "--fail-below %s: expected a rate such as "
                                   "95% or 0.95",
                                   optarg);
            break;
        case OPT_EXIT_CODES:
            if (strcmp(optarg, "docker") != 0 && strcmp(optarg, "gpcheck") != 0)
                return usage_error(c->cmd_name,
                                   "--exit-codes %s: expected gpcheck or "
                                   "docker",
                                   optarg);
            c->docker_exit = strcmp(optarg, "docker") == 0;
            break;
        case 'h': usage(stdout, c->cmd_name); return EXIT_PASS;
        case 'V': c->cmd = CMD_VERSION; break;
        case 'j':
            if (value_integer(optarg, &v, err, sizeof err) < 0 || v < 1 ||
                v > 4096)
                return usage_error(c->cmd_name,
                                   "--jobs %s: expected a number from 1 to "
                                   "4096",
                                   optarg);
            c->copts.jobs = (unsigned)v;
            break;
        case OPT_TIMEOUT:
        case OPT_WARMUP:
        case OPT_INTERVAL:
            if (value_duration(optarg, &v, err, sizeof err) < 0 ||
                (v <= 0 && ch != OPT_WARMUP)) {
                char *fmt =
                    xasprintf("--%s %%s: expected a duration such as "
                              "500ms, 30s or 2m%s",
                              o->name, ch == OPT_WARMUP ? " (or 0)" : "");
                int rc = usage_error(c->cmd_name, fmt, optarg);
                free(fmt);
                return rc;
            }
            *(ch == OPT_TIMEOUT  ? &c->wait_timeout_ms
              : ch == OPT_WARMUP ? &c->wait_warmup_ms
                                 : &c->wait_interval_ms) = v;
            break;
        case OPT_ATTEMPTS:
            if (value_integer(optarg, &v, err, sizeof err) < 0 || v < 1 ||
                v > 1000)
                return usage_error(c->cmd_name,
                                   "--attempts %s: expected a number from 1 "
                                   "to 1000",
                                   optarg);
            c->wait_attempts = (unsigned)v;
            break;
        case OPT_HEARTBEAT:
            if (value_duration(optarg, &v, err, sizeof err) < 0)
                return usage_error(c->cmd_name, "--heartbeat: %s", err);
            c->heartbeat_ms = v;
            break;
        case OPT_COLOR:
            if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "always") != 0 &&
                strcmp(optarg, "never") != 0)
                return usage_error(c->cmd_name,
                                   "--color %s: expected auto, always or "
                                   "never",
                                   optarg);
            c->color = optarg;
            break;
        case OPT_DEADLINE:
            if (value_duration(optarg, &v, err, sizeof err) < 0 || v <= 0)
                return usage_error(c->cmd_name,
                                   "--deadline %s: expected a duration such "
                                   "as 90s or 2m",
                                   optarg);
            c->copts.deadline_ms = v;
            break;
        case OPT_GATE: c->gate = optarg; break;
        case OPT_GATE_TOKEN_FILE: c->gate_token_file = optarg; break;
        case OPT_GATE_FALLBACK:
            if (strcmp(optarg, "local") != 0 && strcmp(optarg, "none") != 0)
                return usage_error(c->cmd_name,
                                   "--gate-fallback %s: expected local or "
                                   "none",
                                   optarg);
            c->gate_fallback_local = strcmp(optarg, "local") == 0;
            break;
        case OPT_LISTEN: strvec_push(&c->listen, optarg); break;
        case OPT_TOKEN_FILE: c->serve.token_file = optarg; break;
        case OPT_INSECURE_LISTEN: c->serve.insecure_listen = 1; break;
        case OPT_TLS_CERT: c->serve.tls_cert = optarg; break;
        case OPT_TLS_KEY: c->serve.tls_key = optarg; break;
        case OPT_ENABLE_RELOAD: c->serve.enable_reload = 1; break;
        case OPT_LOG_FORMAT:
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
                return usage_error(c->cmd_name,
                                   "--log-format %s: expected text or json",
                                   optarg);
            c->serve.log_json = strcmp(optarg, "json") == 0;
            break;
        case OPT_GRACE:
        case OPT_MIN_SPACING:
        case OPT_CONN_TIMEOUT:
            if (value_duration(optarg, &v, err, sizeof err) < 0 || v < 0 ||
                v > 3600 * 1000)
                return usage_error(c->cmd_name,
                                   "%s: expected a duration up to 1h",
                                   argv[optind - 1]);
            if (ch == OPT_GRACE)
                c->serve.grace_ms = v;
            else if (ch == OPT_MIN_SPACING)
                c->serve.min_spacing_ms = v;
            else
                c->serve.conn_timeout_s = (unsigned)(v < 1000 ? 1 : v / 1000);
            break;
        case OPT_MAX_CONNECTIONS:
        case OPT_MAX_PER_IP:
        case OPT_MAX_WAITS:
        case OPT_MAX_WAITS_PER_IP:
            if (value_integer(optarg, &v, err, sizeof err) < 0 || v < 1 ||
                v > 65536)
                return usage_error(c->cmd_name,
                                   "%s: expected a number from 1 to 65536",
                                   argv[optind - 1]);
            *(ch == OPT_MAX_CONNECTIONS ? &c->serve.max_connections
              : ch == OPT_MAX_PER_IP    ? &c->serve.max_per_ip
              : ch == OPT_MAX_WAITS     ? &c->serve.max_waits
                                    : &c->serve.max_waits_per_ip) = (unsigned)v;
            break;
        case ':':
            return usage_error(c->cmd_name, "option '%s' needs a value",
                               argv[optind - 1]);
        default: return unknown_option(c->cmd_name, argv[optind - 1]);
        }
    }
    c->has_dashdash = optind > 1 && strcmp(argv[optind - 1], "--") == 0;
    if (wait_cmd) {
        c->exec_argv = wait_cmd;
        c->args = argv + optind;
        c->n_args = argc - optind;
        if (!c->exec_argv[0])
            return usage_error(c->cmd_name, "%s", "-- needs a command");
    } else if (c->has_dashdash) {
        c->exec_argv = argv + optind;
        if (c->cmd != CMD_RUN)
            return usage_error(c->cmd_name, "%s takes no command after --",
                               c->cmd_name);
        if (!c->exec_argv[0])
            return usage_error(c->cmd_name, "%s", "-- needs a command");
    } else {
        c->args = argv + optind;
        c->n_args = argc - optind;
    }
    c->copts.env_files = c->env_files.v;
    c->copts.n_env_files = c->env_files.n;
    int max_args = c->cmd == CMD_PLUGINS                       ? 1
                   : c->cmd == CMD_PROBE || c->cmd == CMD_WAIT ? INT32_MAX
                                                               : 0;
    if (c->n_args > max_args)
        return usage_error(c->cmd_name,
                           c->cmd == CMD_RUN ? "unexpected argument '%s' (put "
                                               "the command after --)"
                                             : "unexpected argument '%s'",
                           c->args[max_args]);
    if (c->nagios && c->exec_argv)
        return usage_error(c->cmd_name, "%s",
                           "--nagios reports to Nagios; it runs no command "
                           "after --");
    if (c->nagios && c->docker_exit)
        return usage_error(c->cmd_name, "%s",
                           "--nagios and --exit-codes docker each set the "
                           "exit status: choose one");
    if (c->nagios) {
        int have = 0;
        for (size_t k = 0; k < c->outputs.n; k++)
            have |= strncmp(c->outputs.v[k], "nagios", 6) == 0;
        if (!have)
            strvec_push(&c->outputs, "nagios");
    }
    if (!c->serve.tls_cert != !c->serve.tls_key)
        return usage_error(c->cmd_name, "%s",
                           "--tls-cert and --tls-key go together");
    if (c->cmd == CMD_PROBE && c->n_args < 1)
        return usage_error(c->cmd_name, "%s", "probe needs a PLUGIN");
    if (c->supervise && !c->exec_argv && c->cmd == CMD_RUN)
        return usage_error(c->cmd_name, "%s",
                           "--supervise needs a command after --");
    if (c->recheck && !c->supervise)
        return usage_error(c->cmd_name, "%s",
                           "--recheck works with --supervise (an exec'd "
                           "command's failure is never seen)");
    if (c->history && c->no_history)
        return usage_error(c->cmd_name, "%s",
                           "--history and --no-history: choose one");
    if (c->cmd == CMD_HISTORY || c->cmd == CMD_STATS) {
        for (size_t k = 0; k < c->outputs.n; k++)
            if (strcmp(c->outputs.v[k], "text") != 0 &&
                strcmp(c->outputs.v[k], "json") != 0)
                return usage_error(c->cmd_name,
                                   "-o %s: history and stats write text or "
                                   "json, on stdout",
                                   c->outputs.v[k]);
    }
    if (c->cmd == CMD_WAIT && c->n_args < 1)
        return usage_error(c->cmd_name, "%s",
                           "wait needs a URL (tcp://HOST:PORT, ...)");
    return -1;
}

/*
 * Does main() free what it built before it returns? Exiting gives the
 * memory back anyway, and freeing 5,000 probes' configuration cost
 * `validate` 7 M instructions and 1,600 page faults (after the validation
 * child's fork, each page free() writes is copied first). The sanitizer
 * build (-DGPCHECK_SANITIZE=ON) frees everything, so that LeakSanitizer
 * sees every real leak; so does -DGPCHECK_FREE_AT_EXIT=ON, for valgrind.
 */
#ifndef GP_FREE_AT_EXIT
#define GP_FREE_AT_EXIT 0
#endif

/* What forks the attempts of run and serve: started in main()
 * before the configuration loads (core/spawner.h), stopped before
 * gpcheck runs CMD or exits. Empty: attempts fork from the supervisor. */
static spawner attempt_spawner;

/* Each plugin the configuration names, loaded here and, at once, by the
 * spawner too (in parallel with the rest of the set-up). */
static const plugin *lookup_plugin(void *ud, const char *name, char *err,
                                   size_t errlen)
{
    const plugin *p = loader_get(ud, name, err, errlen);
    spawner_offer(&attempt_spawner, p);
    return p;
}

/*
 * The plugin search path. Relative folders: --plugin-dir is a command-line
 * path (the current folder's); plugin_path entries are the main file's,
 * as conf_dir is; $GPCHECK_PLUGIN_PATH must be absolute, or which code
 * runs would depend on the folder gpcheck happens to start in (the "." in
 * $PATH problem). Returns 0, or -1 after printing why.
 */
static int setup_loader(loader *l, const cli *c, const config *cfg)
{
    for (size_t i = 0; i < c->plugin_dirs.n; i++)
        loader_add_dir(l, c->plugin_dirs.v[i]);
    const char *env = getenv("GPCHECK_PLUGIN_PATH");
    for (const char *p = env; p && *p;) {
        size_t n = strcspn(p, ":");
        if (n && *p != '/') {
            fprintf(stderr,
                    "gpcheck: GPCHECK_PLUGIN_PATH: '%.*s' is not an absolute "
                    "path\n",
                    (int)n, p);
            return -1;
        }
        p += n + (p[n] == ':');
    }
    if (env)
        loader_add_path(l, env);
    for (size_t i = 0; cfg && i < cfg->n_plugin_path; i++) {
        const char *dir = cfg->plugin_path[i];
        if (dir[0] == '/' || !cfg->main_file) {
            loader_add_dir(l, dir);
            continue;
        }
        char *base = path_dir(cfg->main_file);
        char *joined = xasprintf("%s/%s", base, dir);
        loader_add_dir(l, joined);
        free(joined);
        free(base);
    }
    loader_add_default_dirs(l);
    return 0;
}

static const char *type_name(gp_type t)
{
    switch (t) {
    case GP_TYPE_STRING: return "string";
    case GP_TYPE_INTEGER: return "integer";
    case GP_TYPE_BOOLEAN: return "boolean";
    case GP_TYPE_DURATION: return "duration";
    case GP_TYPE_PERCENTAGE: return "percentage";
    case GP_TYPE_LIST: return "list";
    }
    return "?";
}

/* The URL maps (ABI 1.3), for `gpcheck wait`: "tcp://  host -> host,
 * port -> port". */
static void print_urls(const gp_plugin *d)
{
    const gp_url_map *m = schema_url_maps(d);
    if (!m || !m->schemes)
        return;
    printf("\nURLS (gpcheck wait)\n");
    for (; m->schemes; m++) {
        strbuf schemes = {0}, parts = {0};
        for (const char *s = m->schemes; *s;) {
            size_t n = strcspn(s, "|");
            sb_appendf(&schemes, "%s%.*s://", schemes.len ? " " : "", (int)n,
                       s);
            s += n + (s[n] == '|');
        }
        const char *names[] = {"URL",  "host",     "port",
                               "user", "password", "path"};
        const char *keys[] = {m->url,  m->host,     m->port,
                              m->user, m->password, m->path};
        for (size_t i = 0; i < ARRAY_LEN(keys); i++)
            if (keys[i])
                sb_appendf(&parts, "%s%s -> %s", parts.len ? ", " : "",
                           names[i], keys[i]);
        if (m->flags & GP_URL_QUERY_OPTIONS)
            sb_appendf(&parts, "%s?KEY=VALUE -> option KEY",
                       parts.len ? ", " : "");
        printf("  %-18s %s\n", sb_str(&schemes), sb_str(&parts));
        sb_free(&schemes);
        sb_free(&parts);
    }
}

static void print_schema(const plugin *p)
{
    const gp_plugin *d = p->desc;
    printf("%s %s - %s\n", d->name, d->version ? d->version : "",
           d->summary ? d->summary : "");
    printf("file: %s (ABI %u.%u)\n\nOPTIONS\n", p->path, d->abi_major,
           d->abi_minor);
    if (!p->n_options)
        printf("  (none)\n");
    for (size_t i = 0; i < p->n_options; i++) {
        const gp_option *o = &d->options[i];
        strbuf attrs = {0};
        if (o->flags & GP_OPT_REQUIRED)
            sb_append(&attrs, "required");
        if (o->def)
            sb_appendf(&attrs, "%sdefault %s", attrs.len ? ", " : "",
                       (o->flags & GP_OPT_SECRET) ? "***" : o->def);
        if (o->flags & GP_OPT_SECRET)
            sb_appendf(&attrs, "%ssecret", attrs.len ? ", " : "");
        if (o->flags & GP_OPT_CONNINFO)
            sb_appendf(&attrs, "%sconnection string: its password is secret",
                       attrs.len ? ", " : "");
        if (o->min < o->max)
            sb_appendf(&attrs, "%s%" PRId64 "..%" PRId64 "%s",
                       attrs.len ? ", " : "", o->min, o->max,
                       o->type == GP_TYPE_DURATION ? " ms" : "");
        if (o->choices)
            sb_appendf(&attrs, "%sone of %s", attrs.len ? ", " : "",
                       o->choices);
        if (o->flags & GP_OPT_FAMILY)
            sb_appendf(&attrs,
                       "%sa family: KEY.NAME = VALUE, each NAME a "
                       "metric",
                       attrs.len ? ", " : "");
        char *key = (o->flags & GP_OPT_FAMILY) ? xasprintf("%s.NAME", o->key)
                                               : xstrdup(o->key);
        printf("  %-18s %-10s %s\n", key, type_name(o->type),
               o->help ? o->help : "");
        free(key);
        if (attrs.len)
            printf("  %-18s %-10s (%s)\n", "", "", sb_str(&attrs));
        sb_free(&attrs);
    }
    printf("\nMETRICS\n");
    if (!p->n_metrics)
        printf("  (none)\n");
    for (size_t i = 0; i < p->n_metrics; i++) {
        const gp_metric *m = &d->metrics[i];
        printf("  %-18s %-10s %s\n", m->name, unit_name(m->unit),
               m->help ? m->help : "");
    }
    size_t n_core;
    const gp_metric *core = threshold_core_metrics(&n_core);
    printf("\nMEASURED BY THE CORE (every probe)\n");
    for (size_t i = 0; i < n_core; i++)
        printf("  %-18s %-10s %s\n", core[i].name, unit_name(core[i].unit),
               core[i].help);
    print_urls(d);
}

static int cmd_plugins(const cli *c, loader *l)
{
    char err[1024];
    if (c->n_args == 1) {
        const plugin *p = strchr(c->args[0], '/')
                              ? loader_get_path(l, c->args[0], err, sizeof err)
                              : loader_get(l, c->args[0], err, sizeof err);
        if (!p) {
            fprintf(stderr, "gpcheck: %s\n", err);
            return EXIT_USAGE;
        }
        print_schema(p);
        return EXIT_PASS;
    }
    char **names;
    size_t n = loader_list(l, &names);
    int rc = EXIT_PASS;
    for (size_t i = 0; i < n; i++) {
        const plugin *p = loader_get(l, names[i], err, sizeof err);
        if (p) {
            printf("%-16s %-10s %s\n", p->name,
                   p->desc->version ? p->desc->version : "",
                   p->desc->summary ? p->desc->summary : "");
        } else {
            printf("%-16s %-10s (cannot load: %s)\n", names[i], "?", err);
            rc = EXIT_FAIL;
        }
    }
    if (n == 0) {
        /* An installation problem, like a plugin a probe names that is
         * not found: a configuration error, exit 2. */
        fprintf(stderr, "gpcheck: no plugins found; searched:\n");
        for (size_t i = 0; i < l->n_dirs; i++)
            fprintf(stderr, "  %s\n", l->dirs[i]);
        rc = EXIT_USAGE;
    }
    strv_free(names, n);
    return rc;
}

static void print_origin(const origin *at)
{
    if (at->file)
        printf("  (%s:%d)", at->file, at->line);
    else
        printf("  (default)");
}

static void print_policy(const policy *p)
{
    char *text = policy_describe(p);
    printf("    policy: %s\n", text);
    free(text);
}

/* The policy keys of p's section whose value interpolates a variable:
 * `timeout = ${DB_TIMEOUT}` shows where 600 came from. */
/* 1 when key is KEY.NAME of one of p's GP_OPT_FAMILY options. */
static int family_member(const probe_def *p, const char *key)
{
    const char *dot = strchr(key, '.');
    for (size_t i = 0; dot && i < p->n_opts; i++) {
        const gp_option *o = p->opts[i].decl;
        if ((o->flags & GP_OPT_FAMILY) &&
            strlen(o->key) == (size_t)(dot - key) &&
            strncmp(o->key, key, (size_t)(dot - key)) == 0)
            return 1;
    }
    return 0;
}

static void print_policy_sources(const config *cfg, const probe_def *p)
{
    for (size_t i = 0; i < cfg->n_sections; i++) {
        const cfg_section *s = &cfg->sections[i];
        if (strcmp(s->name, p->name) != 0)
            continue;
        for (size_t k = 0; k < s->n; k++) {
            const cfg_entry *e = &s->entries[k];
            if (!e->n_vars || probe_opt(p, e->key) || family_member(p, e->key))
                continue;
            printf("    %s = %s", e->key, e->value ? e->value : "?");
            print_origin(&e->at);
            printf("\n");
            explain_var_sources(stdout, cfg, p, e->key, "      ");
        }
    }
}

static void cmd_list(const config *cfg, const probe_set *ps)
{
    printf("env '%s': %zu probe%s\n", cfg->env, ps->n, ps->n == 1 ? "" : "s");
    for (size_t i = 0; i < ps->n; i++) {
        const probe_def *p = &ps->probes[i];
        printf("\n[%s]  plugin %s", p->name, p->plugin->name);
        print_origin(&p->at);
        printf("\n");
        print_policy(&p->pol);
        if (p->n_tags) {
            printf("    tags:");
            for (size_t k = 0; k < p->n_tags; k++)
                printf("%s %s", k ? "," : "", p->tags[k]);
            printf("\n");
        }
        if (p->n_after) {
            printf("    after:");
            for (size_t k = 0; k < p->n_after; k++)
                printf("%s %s", k ? "," : "", ps->probes[p->after[k]].name);
            printf("\n");
        }
        if (p->group != PROBE_NO_GROUP)
            printf("    group: %s (need %zu of %zu)\n",
                   ps->groups[p->group].name, group_need(&ps->groups[p->group]),
                   ps->groups[p->group].n_members);
        for (size_t k = 0; k < p->n_conds; k++)
            printf("    %s %s\n", th_level_name(p->conds[k].level),
                   p->conds[k].text);
        for (size_t k = 0; k < p->n_opts; k++) {
            const opt_value *v = &p->opts[k];
            if (!v->has)
                continue;
            if (v->decl->flags & GP_OPT_FAMILY) {
                for (size_t m = 0; m < v->n_items; m++) {
                    char *shown = secrets_show(p, v->decl, v->items[m]);
                    printf("    %s.%s = %s", v->decl->key, v->names[m], shown);
                    free(shown);
                    print_origin(&v->item_at[m]);
                    printf("\n");
                    char *key = xasprintf("%s.%s", v->decl->key, v->names[m]);
                    explain_var_sources(stdout, cfg, p, key, "      ");
                    free(key);
                }
                continue;
            }
            char *shown = secrets_show(p, v->decl, v->text);
            printf("    %s = %s", v->decl->key, shown);
            free(shown);
            print_origin(&v->at);
            printf("\n");
            explain_var_sources(stdout, cfg, p, v->decl->key, "      ");
        }
        print_policy_sources(cfg, p);
    }
}

/* Details of an ad-hoc probe, on stdout. */
static void print_probe_result(const run_result *rr)
{
    const probe_run *pr = &rr->probes[0];
    printf("probe:    %s (%s)\n", pr->def->name, pr->def->plugin->path);
    printf("status:   %s\n", status_name(pr->status));
    if (pr->n_history)
        printf("outcome:  %s\n",
               attempt_res_name(pr->history[pr->n_history - 1].res));
    printf("message:  %s\n", pr->message);
    printf("attempts: %zu\n", pr->n_history);
    printf("time:     %.1f ms\n", ns_to_ms(pr->end_ns - pr->start_ns));
    const attempt_rec *m = probe_run_metrics(pr);
    printf("metrics:%s\n", m ? "" : "  (none)");
    for (size_t i = 0; m && i < m->n_metrics; i++)
        printf("  %-16s %g %s\n", m->metrics[i].decl->name, m->metrics[i].value,
               unit_name(m->metrics[i].decl->unit));
}

/* The live view needs a terminal on stderr, and people who want it. */
static int want_progress(const cli *c)
{
    for (size_t i = 0; i < c->outputs.n; i++)
        if (strcmp(c->outputs.v[i], "text") == 0)
            return 0; /* -o text: plain lines, as asked */
    return !c->quiet && !c->no_progress && isatty(STDERR_FILENO);
}

/* Colour on stderr: --color always|never, else FORCE_COLOR (set, not
 * "0"), else not with NO_COLOR (set, not empty), else on a terminal. */
static int want_color(const cli *c)
{
    if (c->color && strcmp(c->color, "auto") != 0)
        return strcmp(c->color, "always") == 0;
    const char *force = getenv("FORCE_COLOR"), *nc = getenv("NO_COLOR");
    if (force && *force && strcmp(force, "0") != 0)
        return 1;
    return !(nc && *nc) && isatty(STDERR_FILENO);
}

/* EV_TICK period: 100 ms for the live region, else often enough for the
 * heartbeat (within a second of when it is due). */
static int64_t tick_ms(const cli *c)
{
    if (want_progress(c))
        return 100;
    int64_t hb = c->heartbeat_ms;
    return hb == 0 ? 0 : hb < 1000 ? hb : 1000;
}

static int open_sinks(const cli *c, sinks *ss)
{
    report_opts ro = {.quiet = c->quiet,
                      .verbose = c->verbose,
                      .progress = want_progress(c),
                      .color = want_color(c),
                      .heartbeat_ms = c->heartbeat_ms};
    int have_text = 0;
    char err[512];
    for (size_t i = 0; i < c->outputs.n; i++)
        if (strncmp(c->outputs.v[i], "text", 4) == 0 &&
            (c->outputs.v[i][4] == '\0' || c->outputs.v[i][4] == ':'))
            have_text = 1;
    if (!have_text)
        sinks_add(ss, sink_open("text", &ro, err, sizeof err));
    for (size_t i = 0; i < c->outputs.n; i++) {
        sink *s = sink_open(c->outputs.v[i], &ro, err, sizeof err);
        if (!s) {
            fprintf(stderr, "gpcheck: %s\n", err);
            sinks_close(ss);
            return -1;
        }
        sinks_add(ss, s);
    }
    return 0;
}

/*
 * The bypass banner: on stderr, on every run while a bypass is active,
 * -q or not, naming the reason, the expiry and what was overridden.
 */
static void bypass_banner(const bypass *b, const run_result *rr)
{
    char until[64];
    bypass_format_time(b->expires_ms, until, sizeof until);
    fprintf(stderr,
            "gpcheck: *** EMERGENCY BYPASS ACTIVE until %s (expires = %s) "
            "***\ngpcheck: reason: %s\n",
            until, b->expires_text, b->reason);
    if (!rr)
        return;
    strbuf sb = {0};
    for (size_t i = 0; i < rr->dec.n_units; i++) {
        const unit_result *u = &rr->dec.units[i];
        if (u->overridden)
            sb_appendf(&sb, "%s%s%s (%s)", sb.len ? ", " : "",
                       u->is_group ? "group " : "", u->name,
                       status_name(u->status));
    }
    fprintf(stderr, "gpcheck: overridden: %s\n",
            sb.len ? sb_str(&sb) : "nothing (every unit in scope passed)");
    fprintf(stderr, "gpcheck: verdict %s (without the bypass: %s)\n",
            verdict_name(rr->verdict), verdict_name(rr->dec.without_bypass));
    sb_free(&sb);
}

/*
 * Where the history goes: --history, else [gpcheck] history; "default" is
 * the per-user file. With `load`, loads SQLite when there is one (a run
 * that will write it, serve). Returns 0 (h->path NULL: no history), or -1
 * after printing why (no home folder for "default", SQLite missing).
 */
static int history_setup(const cli *c, const config *cfg, history_cfg *h,
                         int load)
{
    memset(h, 0, sizeof *h);
    /* serve keeps one by default; run only when asked */
    const char *want = c->no_history         ? NULL
                       : c->history          ? c->history
                       : cfg->history        ? cfg->history
                       : c->cmd == CMD_SERVE ? "default"
                                             : NULL;
    h->keep.age_ms = HISTORY_KEEP_DEFAULT_MS;
    if (cfg->history_keep_set) {
        h->keep.age_ms = cfg->history_keep_ms;
        h->keep.runs = cfg->history_keep_runs;
    }
    h->required = cfg->history_required;
    if (!want)
        return 0;
    char err[512];
    const char *why = NULL; /* what failed, before err */
    if (strcmp(want, "default") != 0)
        h->path = xstrdup(want);
    else if (!(h->path = history_default_path(err, sizeof err)))
        why = "--history default: ";
    const char *asked = c->history     ? "--history"
                        : cfg->history ? "[gpcheck] history"
                                       : "serve's run history";
    if (load && h->path && dl_sqlite(asked, err, sizeof err) < 0) {
        free(h->path);
        h->path = NULL;
        why = "";
    }
    if (!h->path && !c->history && !cfg->history) {
        /* serve's own default, not asked for: go without, and say so */
        fprintf(stderr, "gpcheck: warning: no run history: %s\n", err);
        return 0;
    }
    if (!h->path) {
        fprintf(stderr, "gpcheck: %s%s\n", why, err);
        return -1;
    }
    return 0;
}

/* Keep the run; 0, or -1 after saying why on stderr. */
static int history_keep_run(const history_cfg *hc, const run_result *rr,
                            const history_cmd *cmd, const char *host)
{
    if (!hc->path)
        return 0;
    char err[1024];
    history *h = history_open(hc->path, 1, err, sizeof err);
    int rc =
        h ? history_record(h, rr, cmd, &hc->keep, host, err, sizeof err) : -1;
    history_close(h);
    if (rc < 0)
        fprintf(stderr, "gpcheck: history not written: %s%s\n", err,
                hc->required ? " (history_required = true: the run fails)"
                             : "");
    return rc;
}

/* --recheck: CMD failed; is the infrastructure still ready? Probes once
 * more with a quiet text report; returns the label. */
static const char *recheck(const probe_set *ps, const runner_opts *ro)
{
    report_opts q = {.quiet = 1};
    char err[256];
    sinks ss = {0};
    sink *s = sink_open("text", &q, err, sizeof err);
    if (s)
        sinks_add(&ss, s);
    fprintf(stderr, "gpcheck: the command failed; probing again (--recheck)\n");
    run_result rr;
    runner_opts o = *ro;
    o.tick_ms = 0;
    if (runner_run(ps, &o, &ss, &rr) < 0) {
        sinks_close(&ss);
        return "infrastructure";
    }
    sinks_close(&ss);
    const char *label =
        rr.exit_code == EXIT_PASS && !rr.signo ? "tests" : "infrastructure";
    fprintf(stderr,
            "gpcheck: recheck verdict %s: the failure is labelled "
            "'%s'\n",
            verdict_name(rr.verdict), label);
    run_result_free(&rr);
    return label;
}

/*
 * The global set-up of the libraries the run's plugins depend on (libcurl,
 * OpenSSL), done once before the first attempt forks instead of in each
 * attempt of an http, clickhouse, vpc, prometheus or postgres probe, where
 * it sits on the run's critical path (loader_warm). Runs of other plugins
 * (tcp, dns, redis) skip it.
 */
static void warm_libraries(const probe_set *ps)
{
    const plugin **v = xcalloc(ps->n ? ps->n : 1, sizeof *v);
    for (size_t i = 0; i < ps->n; i++)
        v[i] = ps->probes[i].plugin;
    loader_warm(v, ps->n);
    free(v);
}

/* only: the one sink to report to (wait's), or NULL for the -o ones. */
static int run_probes(const cli *c, const config *cfg, const probe_set *ps,
                      const bypass *b, sink *only)
{
    history_cfg hc;
    if (history_setup(c, cfg, &hc, 1) < 0)
        return EXIT_USAGE;
    sinks ss = {0};
    if (only)
        sinks_add(&ss, only);
    else if (open_sinks(c, &ss) < 0) {
        free(hc.path);
        return EXIT_USAGE;
    }
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    /* The user names a bypass in its audit line; only then is the user
     * database read (NSS: nsswitch.conf, /etc/passwd). */
    const struct passwd *pw = b->active ? getpwuid(geteuid()) : NULL;
    const char *user = pw ? pw->pw_name : getenv("USER");
    runner_opts ro = {.jobs = cfg->jobs,
                      .deadline_ms = cfg->deadline_ms,
                      .child_stderr = c->verbose,
                      .tick_ms = only ? 0 : tick_ms(c),
                      .env = cfg->env,
                      .bypass = b,
                      .user = user,
                      .host = host,
                      /* the history keeps every metric, too */
                      .all_metrics = c->cmd == CMD_PROBE || hc.path,
                      .spawner = &attempt_spawner};
    for (size_t i = 0; i < c->outputs.n; i++)
        ro.all_metrics |= report_shows_metrics(c->outputs.v[i]);
    warm_libraries(ps);
    run_result rr;
    int rrc = runner_run(ps, &ro, &ss, &rr);
    /* Its work is done (a --recheck forks from here): nothing of it may
     * outlive gpcheck or reach CMD. */
    spawner_stop(&attempt_spawner);
    if (rrc < 0) {
        sinks_close(&ss);
        free(hc.path);
        return EXIT_FAIL;
    }
    int write_failed = sinks_close(&ss) < 0;
    if (c->explain) {
        fflush(stderr);
        explain_run(stderr, &rr);
    }
    if (b->active)
        bypass_banner(b, &rr);
    if (rr.dec.audit_error)
        fprintf(stderr,
                "gpcheck: bypass audit failed: %s; failing the run "
                "rather than bypassing silently\n",
                rr.dec.audit_error);
    int code = rr.exit_code;
    if (c->cmd == CMD_PROBE)
        print_probe_result(&rr);
    verdict v = rr.verdict;
    int signo = rr.signo;
    if (c->nagios)
        code = nagios_exit_code(&rr);
    if (write_failed && code == EXIT_PASS)
        code = EXIT_FAIL;
    int gated = (c->cmd == CMD_RUN || c->cmd == CMD_WAIT) && c->exec_argv &&
                code == EXIT_PASS && !signo;
    history_cmd hcmd = {0};
    if (gated && c->supervise) {
        setenv("GPCHECK_VERDICT", verdict_name(v), 1);
        supervise_result sr;
        char err[256];
        if (supervise_run(c->exec_argv, &sr, err, sizeof err) < 0) {
            fprintf(stderr, "gpcheck: %s\n", err);
            sr.exit_code = 126;
            sr.signo = 0;
            sr.duration_ns = 0;
        }
        hcmd = (history_cmd){.known = 1,
                             .exit_code = sr.exit_code,
                             .signo = sr.signo,
                             .duration_ms = ns_to_ms(sr.duration_ns)};
        if (sr.exit_code != 0 && c->recheck)
            hcmd.label = recheck(ps, &ro);
        code = sr.exit_code;
        gated = 0; /* it ran */
    }
    /* Before exec, which never returns: the command's outcome is then
     * unknown to gpcheck (--supervise knows it). */
    if (history_keep_run(&hc, &rr, hcmd.known ? &hcmd : NULL, host) < 0 &&
        hc.required) {
        if (code == EXIT_PASS)
            code = EXIT_FAIL;
        gated = 0;
    }
    free(hc.path);
    run_result_free(&rr);
    if (gated) {
        setenv("GPCHECK_VERDICT", verdict_name(v), 1);
        fflush(NULL);
        /* An ignored signal stays ignored across exec: CMD gets the
         * default back, as if the shell had started it. */
        signal(SIGPIPE, SIG_DFL);
        execvp(c->exec_argv[0], c->exec_argv);
        int e = errno;
        fprintf(stderr, "gpcheck: cannot run '%s': %s\n", c->exec_argv[0],
                strerror(e));
        return e == ENOENT ? 127 : 126;
    }
    return code;
}

/* The window warmup = auto learns from. */
#define AUTO_WARMUP_WINDOW_MS (INT64_C(30) * 24 * 3600 * 1000)

/*
 * warmup = auto: each such probe's warmup from the p99 of its recent times
 * to ready in this env (policy_auto_warmup); warmup_max when there is no
 * history or too little. The history is only read here.
 */
static void auto_warmups(const cli *c, const config *cfg, probe_set *ps)
{
    size_t n_auto = 0;
    for (size_t i = 0; i < ps->n; i++)
        n_auto += ps->probes[i].pol.warmup_auto;
    if (!n_auto)
        return;
    history_cfg hc;
    history *h = NULL;
    char err[512];
    /* no load: history_open loads SQLite, its failure is the warning
     * below, and the run itself then reports it */
    if (history_setup(c, cfg, &hc, 0) == 0 && hc.path) {
        h = history_open(hc.path, 0, err, sizeof err);
        if (!h && access(hc.path, F_OK) == 0)
            fprintf(stderr,
                    "gpcheck: warning: warmup = auto uses warmup_max: %s\n",
                    err);
    }
    for (size_t i = 0; i < ps->n; i++) {
        probe_def *d = &ps->probes[i];
        if (!d->pol.warmup_auto)
            continue;
        size_t n = 0;
        double p99 = 0;
        history_filter f = {.env = cfg->env,
                            .probe = d->name,
                            .since_ms = wall_ms() - AUTO_WARMUP_WINDOW_MS};
        json_t *st = h ? history_stats(h, &f, err, sizeof err) : NULL;
        json_t *env = json_array_get(json_object_get(st, "envs"), 0);
        json_t *pr = json_array_get(json_object_get(env, "probes"), 0);
        json_t *ready = json_object_get(pr, "ready");
        if (ready) {
            n = (size_t)json_integer_value(json_object_get(ready, "n"));
            p99 = json_number_value(json_object_get(ready, "p99_ms"));
        }
        json_decref(st);
        policy_auto_warmup(&d->pol, n, p99);
    }
    history_close(h);
    free(hc.path);
}

/* history and stats: [gpcheck] history of the main file, --history, or
 * the per-user file. */
static int cmd_history(const cli *c, const config *cfg)
{
    char err[1024];
    char *path = NULL;
    const char *want = c->history ? c->history : cfg->history;
    if (!want || strcmp(want, "default") == 0)
        path = history_default_path(err, sizeof err);
    else
        path = xstrdup(want);
    if (!path) {
        fprintf(stderr, "gpcheck: %s\n", err);
        return EXIT_USAGE;
    }
    history *h = history_open(path, 0, err, sizeof err);
    free(path);
    if (!h) {
        fprintf(stderr, "gpcheck: %s\n", err);
        return EXIT_USAGE;
    }
    int json = 0;
    for (size_t i = 0; i < c->outputs.n; i++)
        json = strcmp(c->outputs.v[i], "json") == 0;
    history_filter f = {.env = c->copts.env,
                        .probe = c->probes.n ? c->probes.v[0] : NULL};
    int rc;
    if (c->cmd == CMD_HISTORY) {
        f.limit = c->limit ? (size_t)c->limit : 20;
        f.since_ms = c->since_ms ? wall_ms() - c->since_ms : 0;
        rc = history_cli_runs(h, &f, json, stdout);
    } else {
        f.since_ms = wall_ms() - (c->since_ms ? c->since_ms
                                              : INT64_C(30) * 24 * 3600 * 1000);
        rc = history_cli_stats(h, &f, json, c->fail_below, stdout);
        if (c->html) {
            int hrc = history_cli_html(h, &f, c->html);
            rc = hrc > rc ? hrc : rc;
        }
    }
    history_close(h);
    return rc;
}

static void cli_free(cli *c)
{
    free(c->env_files.v);
    free(c->plugin_dirs.v);
    free(c->probes.v);
    free(c->tags.v);
    free(c->skip_tags.v);
    free(c->outputs.v);
    free(c->listen.v);
}

/* What serve_load() needs across reloads: the command line, and the one
 * loader of the server's life. One loader, because the loader names each
 * plugin to dlopen() by /proc/self/fd/N: a loader freed and another made
 * would reuse N for another file while glibc still knows the old object
 * by that name. The search path is set up at the first load. */
typedef struct serve_ctx {
    const cli *c;
    loader l;
    int l_ready;
} serve_ctx;

/* -o for `run --gate`: text goes to stderr, as a local run's. */
static int gate_write(const char *format, const char *path, const char *text,
                      char *err, size_t errlen)
{
    if (strcmp(format, "text") == 0 && !path) {
        fputs(text, stderr);
        return 0;
    }
    return report_write(format, path, text, err, errlen);
}

/*
 * `run --gate URL`: the shared gate's verdict. Returns an exit status, or
 * -1 to probe locally (the gate is unreachable and --gate-fallback local).
 */
static int cmd_gate(const cli *c)
{
    strvec outs = {0};
    int have_text = 0;
    for (size_t i = 0; i < c->outputs.n; i++) {
        const char *o = c->outputs.v[i];
        size_t fl = strcspn(o, ":");
        if (!((fl == 4 && strncmp(o, "json", 4) == 0) ||
              (fl == 4 && strncmp(o, "text", 4) == 0) ||
              (fl == 5 && strncmp(o, "junit", 5) == 0) ||
              (fl == 10 && strncmp(o, "prometheus", 10) == 0))) {
            free(outs.v);
            return usage_error(c->cmd_name,
                               "-o %s: with --gate: json, text, junit or "
                               "prometheus",
                               o);
        }
        have_text |= fl == 4 && strncmp(o, "text", 4) == 0;
        strvec_push(&outs, o);
    }
    if (!have_text && !c->quiet)
        strvec_push(&outs, "text");
    gate_client_opts go = {.url = c->gate,
                           .token_file = c->gate_token_file,
                           .deadline_ms = c->copts.deadline_ms,
                           .outputs = outs.v,
                           .n_outputs = outs.n,
                           .write = gate_write};
    char *v = NULL;
    int rc = gate_client_run(&go, &v);
    free(outs.v);
    if (rc == GATE_CLIENT_UNREACHABLE && c->gate_fallback_local) {
        fprintf(stderr, "gpcheck: --gate-fallback local: probing here\n");
        return -1;
    }
    if (rc == GATE_CLIENT_UNREACHABLE)
        rc = EXIT_FAIL;
    else if (rc == GATE_CLIENT_USAGE)
        rc = EXIT_USAGE;
    if (rc == EXIT_PASS && v && c->exec_argv) {
        setenv("GPCHECK_VERDICT", v, 1);
        free(v);
        fflush(NULL);
        signal(SIGPIPE, SIG_DFL);
        execvp(c->exec_argv[0], c->exec_argv);
        int e = errno;
        fprintf(stderr, "gpcheck: cannot run '%s': %s\n", c->exec_argv[0],
                strerror(e));
        return e == ENOENT ? 127 : 126;
    }
    free(v);
    return rc;
}

/* One generation of configuration for `gpcheck serve`, loaded as `run`
 * loads it (main() below) and checked as completely; serve.c calls this
 * again on every reload. */
static int serve_load(void *ud, serve_gen *g, diag *d)
{
    serve_ctx *x = ud;
    const cli *c = x->c;
    int ok = config_load(&g->cfg, &c->copts, d) == 0;
    if (!x->l_ready) {
        if (setup_loader(&x->l, c, &g->cfg) < 0) {
            diag_add(d, NULL, 0, "the plugin search path is invalid");
            return -1;
        }
        x->l_ready = 1;
    }
    selection sel = {.names = c->probes.v,
                     .n_names = c->probes.n,
                     .tags = c->tags.v,
                     .n_tags = c->tags.n,
                     .skip_tags = c->skip_tags.v,
                     .n_skip_tags = c->skip_tags.n};
    if (config_resolve(&g->cfg, lookup_plugin, &x->l, &sel, &g->ps, d) != 0)
        ok = 0;
    if (bypass_load(&g->byp, &g->cfg.bypass, &c->bypass, wall_ms(), d) != 0)
        ok = 0;
    return ok && d->n == 0 ? 0 : -1;
}

static void serve_gen_free(serve_gen *g)
{
    if (!g)
        return;
    bypass_free(&g->byp);
    probe_set_free(&g->ps);
    config_free(&g->cfg);
}

static int cmd_serve(cli *c)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    const struct passwd *pw = getpwuid(geteuid());
    serve_opts *o = &c->serve;
    o->listen = c->listen.v;
    o->n_listen = c->listen.n;
    o->verbose = c->verbose;
    o->user = pw ? pw->pw_name : getenv("USER");
    o->host = host;
    serve_ctx x = {.c = c};
    o->load = serve_load;
    o->ud = &x;
    o->gen_free = serve_gen_free;
    o->spawner = &attempt_spawner;
    if (!o->grace_ms)
        o->grace_ms = 5000;
    if (!o->min_spacing_ms)
        o->min_spacing_ms = 2000;
    if (!o->max_connections)
        o->max_connections = 1024;
    if (!o->max_per_ip)
        o->max_per_ip = 256;
    if (!o->max_waits)
        o->max_waits = 512;
    if (!o->max_waits_per_ip)
        o->max_waits_per_ip = 128;
    if (!o->conn_timeout_s)
        o->conn_timeout_s = 10;
    serve_gen *g = xcalloc(1, sizeof *g);
    diag d = {0};
    int rc;
    history_cfg hc = {0};
    if (serve_load(&x, g, &d) != 0) {
        diag_print(&d, stderr);
        serve_gen_free(g);
        free(g);
        rc = EXIT_USAGE;
    } else if (history_setup(c, &g->cfg, &hc, 1) < 0) {
        serve_gen_free(g);
        free(g);
        rc = EXIT_USAGE;
    } else {
        o->history = &hc;
        rc = serve_main(o, g);
    }
    free(hc.path);
    diag_free(&d);
    loader_free(&x.l, 0);
    return rc;
}

/* Some -o report goes to stdout (a format other than text, no PATH). */
static int report_on_stdout(const cli *c)
{
    for (size_t i = 0; i < c->outputs.n; i++)
        if (!strchr(c->outputs.v[i], ':') &&
            strcmp(c->outputs.v[i], "text") != 0)
            return 1;
    return 0;
}

/* `gpcheck probe PLUGIN k=v...`: one probe from the command line. */
static int build_cli_probe(const cli *c, config *cfg, loader *l, diag *d)
{
    char err[1024];
    const char *arg = c->args[0];
    char *name;
    if (strchr(arg, '/')) {
        const plugin *p = loader_get_path(l, arg, err, sizeof err);
        if (!p) {
            diag_add(d, NULL, 0, "%s", err);
            return -1;
        }
        name = xstrdup(p->name);
    } else {
        name = xstrdup(arg);
    }
    memset(cfg, 0, sizeof *cfg);
    cfg->env = xstrdup(c->copts.env ? c->copts.env : "default");
    cfg->jobs = 1;
    cfg->deadline_ms = c->copts.deadline_ms;
    policy_init(&cfg->defaults);
    cfg->defaults.attempts = 1;
    int rc = config_add_cli_probe(cfg, name, name, c->args + 1,
                                  (size_t)(c->n_args - 1), d);
    free(name);
    return rc;
}

/*
 * `gpcheck wait URL... [-- CMD]`: a probe per URL and no configuration at
 * all (no main file, no conf.d, no env file), so that it runs the same in
 * any folder. --timeout is the run's deadline; each target is in warmup
 * for --warmup (the whole timeout by default), trying every --interval,
 * then makes --attempts attempts --interval apart.
 */
static int cmd_wait(const cli *c, int argc, char **argv)
{
    config cfg;
    memset(&cfg, 0, sizeof cfg);
    loader l = {0};
    diag d = {0};
    probe_set ps = {0};
    bypass byp = {0};
    wait_target *t = NULL;
    int rc = EXIT_USAGE;
    if (setup_loader(&l, c, NULL) < 0)
        goto out;
    int64_t timeout = c->wait_timeout_ms ? c->wait_timeout_ms : 60000;
    int64_t interval = c->wait_interval_ms ? c->wait_interval_ms : 1000;
    cfg.env = xstrdup("default");
    cfg.jobs = 32;
    cfg.deadline_ms = timeout;
    policy_init(&cfg.defaults);
    char pol[5][64];
    char *polv[5] = {pol[0], pol[1], pol[2], pol[3], pol[4]};
    snprintf(pol[0], sizeof pol[0], "warmup=%" PRId64 "ms",
             c->wait_warmup_ms >= 0 ? c->wait_warmup_ms : timeout);
    snprintf(pol[1], sizeof pol[1], "warmup_interval=%" PRId64 "ms", interval);
    snprintf(pol[2], sizeof pol[2], "delay=%" PRId64 "ms", interval);
    snprintf(pol[3], sizeof pol[3], "backoff=fixed");
    snprintf(pol[4], sizeof pol[4], "attempts=%u",
             c->wait_attempts ? c->wait_attempts : 1);
    int ok = wait_add_probes(&cfg, &l, c->args, (size_t)c->n_args, polv, 5, &t,
                             &d) == 0;
    selection sel = {0};
    if (ok && config_resolve(&cfg, lookup_plugin, &l, &sel, &ps, &d) != 0)
        ok = 0;
    /* A password in a URL leaves /proc/PID/cmdline before any attempt. */
    secrets_scrub_argv(c->exec_argv ? (int)(c->exec_argv - argv) - 1 : argc,
                       argv, &ps);
    if (!ok || d.n) {
        diag_print(&d, stderr);
        fprintf(stderr, "gpcheck: %zu error%s; nothing was probed\n", d.n,
                d.n == 1 ? "" : "s");
        goto out;
    }
    rc = run_probes(c, &cfg, &ps, &byp, wait_sink_new(t, (size_t)c->n_args));
out:
    wait_targets_free(t, (size_t)c->n_args);
    probe_set_free(&ps);
    config_free(&cfg);
    loader_free(&l, 0);
    diag_free(&d);
    return rc;
}

/* Make sure fds 0-2 exist, so no pipe or plugin file lands on them. */
static void ensure_std_fds(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            int n = open("/dev/null", O_RDWR);
            if (n >= 0 && n != fd) {
                dup2(n, fd);
                close(n);
            }
        }
    }
}

/* stdout could not take what was printed (EPIPE from `| head -1`,
 * ENOSPC): say so, and do not exit 0 as if the output had arrived. */
static int check_stdout(int rc)
{
    /* A run's reports have said so already, and failed it. */
    if ((fflush(stdout) == 0 && !ferror(stdout)) || rc != EXIT_PASS)
        return rc;
    int e = errno ? errno : EIO;
    fprintf(stderr, "gpcheck: cannot write to stdout: %s\n", strerror(e));
    return EXIT_FAIL;
}

int main(int argc, char **argv)
{
    ensure_std_fds();
    /* A closed stdout or stderr (`gpcheck run -- make e2e 2>&1 | head -1`)
     * must not kill the gate: writes fail with EPIPE instead, a report
     * error for reports asked for, and the gated command still runs. */
    signal(SIGPIPE, SIG_IGN);
    cli c = {.fail_below = -1.0,
             .wait_warmup_ms = -1,
             .heartbeat_ms = 10000}; /* --heartbeat's default, 10 s */
    int rc = parse_cli(&c, argc, argv);
    if (rc >= 0) {
        cli_free(&c);
        return c.docker_exit && rc != EXIT_PASS ? EXIT_FAIL : rc;
    }
    if (c.cmd == CMD_WAIT) {
        rc = check_stdout(cmd_wait(&c, argc, argv));
        cli_free(&c);
        return c.docker_exit && rc != EXIT_PASS ? EXIT_FAIL : rc;
    }
    if (c.cmd == CMD_VERSION) {
        printf("gpcheck %s (plugin ABI %d.%d)\n", GPCHECK_VERSION, GP_ABI_MAJOR,
               GP_ABI_MINOR);
        cli_free(&c);
        return check_stdout(EXIT_PASS);
    }

    if (c.cmd == CMD_RUN && c.gate) {
        rc = cmd_gate(&c);
        if (rc >= 0) {
            cli_free(&c);
            return c.docker_exit && rc != EXIT_PASS ? EXIT_FAIL : rc;
        }
    }

    /* Forked while gpcheck is small: every attempt copies its image. */
    if (c.cmd == CMD_RUN || c.cmd == CMD_SERVE)
        spawner_start(&attempt_spawner, argc, argv);
    config cfg;
    diag d = {0};
    loader l = {0};
    probe_set ps = {0};
    bypass byp = {0};
    int64_t now = wall_ms();
    memset(&cfg, 0, sizeof cfg);
    int loaded;
    if (c.cmd == CMD_PROBE) {
        if (setup_loader(&l, &c, NULL) < 0) {
            rc = EXIT_USAGE;
            goto out;
        }
        loaded = build_cli_probe(&c, &cfg, &l, &d) == 0;
    } else {
        config_opts o = c.copts;
        o.main_only =
            c.cmd == CMD_PLUGINS || c.cmd == CMD_HISTORY || c.cmd == CMD_STATS;
        loaded = config_load(&cfg, &o, &d) == 0;
        if (setup_loader(&l, &c, &cfg) < 0) {
            rc = EXIT_USAGE;
            goto out;
        }
    }
    if (c.cmd == CMD_HISTORY || c.cmd == CMD_STATS) {
        if (!loaded) {
            diag_print(&d, stderr);
            rc = EXIT_USAGE;
        } else {
            rc = cmd_history(&c, &cfg);
        }
        goto out;
    }
    if (c.cmd == CMD_PLUGINS) {
        /* Documentation works where the configuration does not: it only
         * lends its plugin_path. */
        if (!loaded) {
            fputs("gpcheck: warning: the main file has errors; 'plugins' "
                  "ignores them:\n",
                  stderr);
            diag_print(&d, stderr);
        }
        rc = cmd_plugins(&c, &l);
        goto out;
    }
    /* A run of a few probes forks them from here: the supervisor is small
     * then, and the spawner would only load every plugin a second time.
     * serve always has it: its attempts then fork from a process without
     * libmicrohttpd's threads. */
    if (c.cmd == CMD_RUN && cfg.n_sections < SPAWNER_MIN_PROBES)
        spawner_dismiss(&attempt_spawner);
    /* Resolve even after load errors, so that one run reports them all. */
    if (loaded || c.cmd != CMD_PROBE) {
        selection sel = {.names = c.probes.v,
                         .n_names = c.probes.n,
                         .tags = c.tags.v,
                         .n_tags = c.tags.n,
                         .skip_tags = c.skip_tags.v,
                         .n_skip_tags = c.skip_tags.n};
        if (config_resolve(&cfg, lookup_plugin, &l, &sel, &ps, &d) != 0)
            loaded = 0;
        if (bypass_load(&byp, &cfg.bypass, &c.bypass, now, &d) != 0)
            loaded = 0;
    }
    /* Secrets given as arguments (gpcheck probe ... password=...) leave
     * /proc/PID/cmdline before any attempt starts; "-- CMD" stays. */
    secrets_scrub_argv(c.exec_argv ? (int)(c.exec_argv - argv) - 1 : argc, argv,
                       &ps);
    spawner_set_argv(&attempt_spawner, argc, argv);
    if (!loaded || d.n) {
        diag_print(&d, stderr);
        fprintf(stderr,
                "gpcheck: %zu configuration error%s; nothing was "
                "probed\n",
                d.n, d.n == 1 ? "" : "s");
        if (!d.n) /* a reason printed outside the list: still an error */
            diag_add(&d, NULL, 0, "the configuration could not be loaded");
        /* The PR check shows why: every -o report, with the diagnostics. */
        report_diagnostics(c.outputs.v, c.outputs.n, &d, cfg.env);
        rc = EXIT_USAGE;
        goto out;
    }
    diag_print(&d, stderr); /* the warnings */
    auto_warmups(&c, &cfg, &ps);
    if (ps.n == 0 && c.cmd != CMD_LIST) {
        fprintf(stderr, "gpcheck: no probe selected for env '%s'%s\n", cfg.env,
                cfg.conf_dir ? "" : " (no conf.d found)");
        rc = EXIT_USAGE;
        goto out;
    }
    if (byp.expired) {
        char until[64];
        bypass_format_time(byp.expires_ms, until, sizeof until);
        fprintf(stderr,
                "gpcheck: warning: the emergency bypass expired on %s (at "
                "%s); it is not applied\n",
                byp.expires_text, until);
    }
    if (c.explain && c.cmd != CMD_LIST)
        explain_config(c.cmd == CMD_VALIDATE ? stdout : stderr, &cfg, &ps, &byp,
                       now);
    switch (c.cmd) {
    case CMD_VALIDATE:
        if (byp.active)
            bypass_banner(&byp, NULL);
        /* a report that cannot be written is a usage error, as in run */
        if (report_diagnostics(c.outputs.v, c.outputs.n, &d, cfg.env) < 0) {
            rc = EXIT_USAGE;
            break;
        }
        /* stdout holds a report (-o json): the line goes to stderr */
        fprintf(report_on_stdout(&c) ? stderr : stdout,
                "gpcheck: configuration OK: %zu probe%s for env '%s'\n", ps.n,
                ps.n == 1 ? "" : "s", cfg.env);
        rc = EXIT_PASS;
        break;
    case CMD_LIST:
        cmd_list(&cfg, &ps);
        rc = EXIT_PASS;
        break;
    case CMD_SERVE: rc = cmd_serve(&c); break;
    default:
        config_drop_sections(&cfg);
        malloc_trim(0); /* hand the freed pages back: forks copy less */
        rc = run_probes(&c, &cfg, &ps, &byp, NULL);
        break;
    }
out:
    spawner_stop(&attempt_spawner);
    rc = check_stdout(rc);
    if (c.docker_exit && rc != EXIT_PASS)
        rc = EXIT_FAIL; /* a Docker HEALTHCHECK reserves 2 */
    if (GP_FREE_AT_EXIT) {
        bypass_free(&byp);
        probe_set_free(&ps);
        config_free(&cfg);
        loader_free(&l, 0);
        diag_free(&d);
        cli_free(&c);
    }
    return rc;
}
