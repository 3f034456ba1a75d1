/*
 * core/main.c - the gpcheck command line: parses options, loads the
 * configuration and plugins, and dispatches to run / validate / list /
 * plugins / probe / version.
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
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bypass.h"
#include "config.h"
#include "explain.h"
#include "gate_client.h"
#include "gpcheck/version.h"
#include "loader.h"
#include "policy.h"
#include "report.h"
#include "runner.h"
#include "secrets.h"
#include "serve.h"
#include "util.h"
#include "value.h"

#ifndef GP_SYSCONFDIR
#define GP_SYSCONFDIR "/etc"
#endif

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
    CMD_VERSION,
    CMD_SERVE,
} command;

typedef struct cli {
    command cmd;
    const char *cmd_name;
    config_opts copts;
    strvec env_files, plugin_dirs, probes, tags, skip_tags, outputs;
    int quiet, verbose, explain, nagios, no_progress;
    int docker_exit; /* --exit-codes docker: 0 or 1 only */
    bypass_cli bypass;
    char **args; /* positional arguments (before --) */
    int n_args;
    char **exec_argv; /* after -- */
    int has_dashdash;
    const char *gate;            /* run --gate URL */
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
    {"version", CMD_VERSION, "version", "Print the version and plugin ABI."},
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
    {"config", 1, 'c', ON_CONFIG | ON(CMD_PLUGINS), "PATH",
     "main config file (default: "
     "$GPCHECK_CONFIG,\n./gpcheck.ini, " GP_SYSCONFDIR "/gpcheck/gpcheck.ini)"},
    {"conf-dir", 1, OPT_CONF_DIR, ON_CONFIG, "DIR",
     "probe definitions (default: conf.d beside the\nmain file, or ./conf.d)"},
    {"env", 1, 'e', ON_CONFIG | ON(CMD_PROBE), "ENV",
     "environment (default: $GPCHECK_ENV, env in\n[gpcheck], or 'default')"},
    {"env-file", 1, OPT_ENV_FILE, ON_CONFIG, "FILE",
     "KEY=VALUE variables for ${VAR} (repeatable)"},
    {"plugin-dir", 1, OPT_PLUGIN_DIR,
     ON_CONFIG | ON(CMD_PLUGINS) | ON(CMD_PROBE), "DIR",
     "search plugins here first (repeatable)"},
    {"probe", 1, 'p', ON_CONFIG, "NAME",
     "only this probe and its 'after' dependencies\n(repeatable)"},
    {"tag", 1, OPT_TAG, ON_CONFIG, "TAG",
     "only probes with this tag (repeatable)"},
    {"skip-tag", 1, OPT_SKIP_TAG, ON_CONFIG, "TAG",
     "not probes with this tag (repeatable)"},
    {"jobs", 1, 'j', ON(CMD_RUN) | ON(CMD_VALIDATE) | ON(CMD_SERVE), "N",
     "attempts in flight at most (default 32)"},
    {"deadline", 1, OPT_DEADLINE, ON_RUNS, "DUR",
     "the whole run lasts at most DUR (e.g. 2m)"},
    {"output", 1, 'o', ON_RUNS, "FMT[:PATH]",
     "report format, repeatable: text (stderr),\njson, jsonl, junit, tap, "
     "prometheus, nagios\n(stdout unless a PATH is given)"},
    {"nagios", 0, OPT_NAGIOS, ON_RUNS, NULL,
     "print the Nagios line and exit 0/1/2/3 as\na Nagios check "
     "(OK/WARNING/CRITICAL/UNKNOWN)"},
    {"exit-codes", 1, OPT_EXIT_CODES, ON_RUNS, "STYLE",
     "gpcheck (the statuses below) or docker: 0\nwhen the gate passes, else "
     "1 (a Docker\nHEALTHCHECK reserves 2)"},
    {"no-progress", 0, OPT_NO_PROGRESS, ON_RUNS, NULL,
     "plain lines on a terminal too"},
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
    for (const char *h = o->help; *h;) {
        size_t n = strcspn(h, "\n");
        fprintf(out, " %.*s\n", (int)n, h);
        h += n;
        if (*h == '\n' && *++h)
            fprintf(out, "  %-22s", "");
    }
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
    if (c->has_dashdash) {
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
    int max_args = c->cmd == CMD_PLUGINS ? 1
                   : c->cmd == CMD_PROBE ? INT32_MAX
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
    return -1;
}

static const plugin *lookup_plugin(void *ud, const char *name, char *err,
                                   size_t errlen)
{
    return loader_get(ud, name, err, errlen);
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
        printf("  %-18s %-10s %s\n", o->key, type_name(o->type),
               o->help ? o->help : "");
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
    if (n == 0)
        fprintf(stderr, "gpcheck: no plugins found on the search path\n");
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
static void print_policy_sources(const config *cfg, const probe_def *p)
{
    for (size_t i = 0; i < cfg->n_sections; i++) {
        const cfg_section *s = &cfg->sections[i];
        if (strcmp(s->name, p->name) != 0)
            continue;
        for (size_t k = 0; k < s->n; k++) {
            const cfg_entry *e = &s->entries[k];
            if (!e->n_vars || probe_opt(p, e->key))
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

static int open_sinks(const cli *c, sinks *ss)
{
    const char *nc = getenv("NO_COLOR");
    report_opts ro = {
        .quiet = c->quiet, .verbose = c->verbose, .progress = want_progress(c)};
    ro.color = ro.progress && !(nc && *nc);
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

static int run_probes(const cli *c, const config *cfg, const probe_set *ps,
                      const bypass *b)
{
    sinks ss = {0};
    if (open_sinks(c, &ss) < 0)
        return EXIT_USAGE;
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    const struct passwd *pw = getpwuid(geteuid());
    const char *user = pw ? pw->pw_name : getenv("USER");
    runner_opts ro = {.jobs = cfg->jobs,
                      .deadline_ms = cfg->deadline_ms,
                      .child_stderr = c->verbose,
                      .tick_ms = want_progress(c) ? 100 : 0,
                      .env = cfg->env,
                      .bypass = b,
                      .user = user,
                      .host = host};
    run_result rr;
    if (runner_run(ps, &ro, &ss, &rr) < 0) {
        sinks_close(&ss);
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
    run_result_free(&rr);
    if (write_failed && code == EXIT_PASS)
        code = EXIT_FAIL;
    if (c->cmd == CMD_RUN && c->exec_argv && code == EXIT_PASS && !signo) {
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
    if (serve_load(&x, g, &d) != 0) {
        diag_print(&d, stderr);
        serve_gen_free(g);
        free(g);
        rc = EXIT_USAGE;
    } else {
        rc = serve_main(o, g);
    }
    diag_free(&d);
    loader_free(&x.l);
    return rc;
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
    cli c = {0};
    int rc = parse_cli(&c, argc, argv);
    if (rc >= 0) {
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
        o.main_only = c.cmd == CMD_PLUGINS;
        loaded = config_load(&cfg, &o, &d) == 0;
        if (setup_loader(&l, &c, &cfg) < 0) {
            rc = EXIT_USAGE;
            goto out;
        }
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
    if (!loaded || d.n) {
        diag_print(&d, stderr);
        fprintf(stderr,
                "gpcheck: %zu configuration error%s; nothing was "
                "probed\n",
                d.n, d.n == 1 ? "" : "s");
        rc = EXIT_USAGE;
        goto out;
    }
    diag_print(&d, stderr); /* the warnings */
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
        printf("gpcheck: configuration OK: %zu probe%s for env '%s'\n", ps.n,
               ps.n == 1 ? "" : "s", cfg.env);
        rc = EXIT_PASS;
        break;
    case CMD_LIST:
        cmd_list(&cfg, &ps);
        rc = EXIT_PASS;
        break;
    case CMD_SERVE: rc = cmd_serve(&c); break;
    default: rc = run_probes(&c, &cfg, &ps, &byp); break;
    }
out:
    rc = check_stdout(rc);
    if (c.docker_exit && rc != EXIT_PASS)
        rc = EXIT_FAIL; /* a Docker HEALTHCHECK reserves 2 */
    bypass_free(&byp);
    probe_set_free(&ps);
    config_free(&cfg);
    loader_free(&l);
    diag_free(&d);
    cli_free(&c);
    return rc;
}
