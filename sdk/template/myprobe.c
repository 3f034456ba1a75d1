/*
 * myprobe.c - a complete gpcheck probe to copy and change: it connects to
 * host:port, sends one line and expects a reply that contains a text
 * ("PING" -> "PONG"), the way many line protocols say they are ready.
 *
 * Rename it (the file, .name below, and the CMake/Makefile target: the
 * plugin's name must equal its file name, myprobe.so), then replace
 * check() with what "ready" means for your service.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gpcheck/plugin.h>
#include <gpcheck/sdk.h>

/* Options and metrics are data: gpcheck validates the config against them
 * and `gpcheck plugins myprobe` prints them as documentation. */
static const gp_option options[] = {
    {.key = "host",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_REQUIRED,
     .help = "host name or address"},
    {.key = "port",
     .type = GP_TYPE_INTEGER,
     .flags = GP_OPT_REQUIRED,
     .min = 1,
     .max = 65535,
     .help = "TCP port"},
    {.key = "send",
     .type = GP_TYPE_STRING,
     .def = "PING",
     .help = "the line to send (a newline is added)"},
    {.key = "expect",
     .type = GP_TYPE_STRING,
     .def = "PONG",
     .help = "text the reply must contain"},
    {.key = NULL},
};

static const gp_metric metrics[] = {
    {.name = "connect_time", .unit = GP_UNIT_MS, .help = "TCP connect"},
    {.name = "response_time",
     .unit = GP_UNIT_MS,
     .help = "from sending the line to the expected reply"},
    {.name = NULL},
};

static gp_outcome check(gp_ctx *ctx, const gp_api *gp)
{
    const char *host = gp->opt_string(ctx, "host");
    unsigned port = (unsigned)gp->opt_integer(ctx, "port");
    const char *send = gp->opt_string(ctx, "send");
    const char *expect = gp->opt_string(ctx, "expect");
    char addr[128], err[256], line[512], reply[512];

    /* 1. Connect, bounded by the time left. A name that does not exist is
     * fatal (asking again gives the same answer); the rest may clear up. */
    gp_sdk_connect_error why;
    double t0 = gp_sdk_now_ms();
    int fd = gp_sdk_tcp_connect(ctx, gp, host, port, &why, addr, sizeof addr,
                                err, sizeof err);
    if (fd < 0) {
        gp->message(ctx, "%s", err);
        return why == GP_SDK_NO_SUCH_HOST ? GP_FATAL : GP_TRANSIENT;
    }
    gp->metric(ctx, "connect_time", gp_sdk_now_ms() - t0);

    /* 2. Send the line and read until the expected text shows up, the
     * peer closes, or the time runs out. */
    snprintf(line, sizeof line, "%s\n", send);
    double t1 = gp_sdk_now_ms();
    size_t got = 0;
    int found = 0;
    gp_outcome out = GP_TRANSIENT;
    if (gp_sdk_send_all(ctx, gp, fd, line, strlen(line)) < 0) {
        gp->message(ctx, "send to %s failed: %s", addr, strerror(errno));
        goto done;
    }
    const char *problem = "no reply";
    while (!found && got + 1 < sizeof reply) {
        ssize_t n =
            gp_sdk_recv(ctx, gp, fd, reply + got, sizeof reply - 1 - got);
        if (n <= 0) {
            problem = n == 0 ? "peer closed" : strerror(errno);
            break;
        }
        got += (size_t)n;
        reply[got] = '\0';
        found = strstr(reply, expect) != NULL;
    }
    if (!found) {
        /* Say what did arrive: "-LOADING" tells the reader a lot. */
        char shown[256];
        gp->message(ctx, "%s: %s; received \"%s\", not '%s'", addr, problem,
                    gp_sdk_printable(reply, got, 60, shown, sizeof shown),
                    expect);
        goto done;
    }
    /* 3. Report: the core decides what the numbers mean (warn_if, ...). */
    gp->metric(ctx, "response_time", gp_sdk_now_ms() - t1);
    gp->message(ctx, "%s answered '%s'", addr, expect);
    out = GP_READY;
done:
    close(fd);
    return out;
}

/*
 * validate() (ABI 1.2, optional): judge the values the schema cannot, so
 * `gpcheck validate` reports them at their FILE:LINE instead of the first
 * attempt failing. It runs for every probe whenever gpcheck reads the
 * config, isolated and under a deadline: parse, never connect. Report
 * every bad value (invalid() may be called several times); declare, with
 * secret(), any part of a value that must be masked.
 */
static void validate(gp_ctx *ctx, const gp_api *gp)
{
    const char *host = gp->opt_string(ctx, "host");
    const char *why = gp_sdk_host_problem(host);

    if (why)
        gp->invalid(ctx, "host", "%s", why);
    if (!*gp->opt_string(ctx, "expect"))
        gp->invalid(ctx, "expect", "is empty: every reply would match");
}

static const gp_plugin plugin = {
    GP_PLUGIN_HEADER, /* the ABI version and descriptor size */
    .name = "myprobe",
    .version = "0.1.0",
    .summary = "sends a line and expects a reply (a template to copy)",
    .options = options,
    .metrics = metrics,
    .check = check,
    .validate = validate,
};

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    return &plugin;
}
