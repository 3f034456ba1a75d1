/*
 * plugins/tcp/tcp.c - the `tcp` probe: can we open a TCP connection to
 * host:port, and (optionally) does the peer say what we expect?
 *
 * One attempt reads top to bottom:
 *   1. read and decode the options (send/expect take the configuration
 *      language's escapes, gp_sdk_unescape(): expect.c);
 *   2. connect to host:port within the time left (the SDK resolves the
 *      name in a helper process it kills when the time is up, and tries
 *      each address in turn);
 *   3. if `send` is set, send it; if `expect` is set, read until the text
 *      appears, the peer closes, 64 KiB arrive or the time is up.
 *
 * Everything that may clear up by itself (refused, timed out, reset, wrong
 * or missing banner, DNS server trouble) is GP_TRANSIENT; a name that does
 * not exist or an option that cannot be decoded is GP_FATAL, since asking
 * again gives the same answer.
 *
 * The plugin keeps no state: everything belongs to one check() call.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"

#include "expect.h"

/* How much we read while looking for `expect` (TCP_MAX_TEXT, expect.h,
 * bounds send and expect). */
#define TCP_MAX_READ (64 * 1024)
/* How much of what the peer sent goes into a message. */
#define TCP_SHOW_BYTES 60

static const gp_option tcp_options[] = {
    {.key = "host",
     .type = GP_TYPE_STRING,
     .flags = GP_OPT_REQUIRED,
     .help = "host name or address to connect to (IPv4, IPv6 or DNS name)"},
    {.key = "port",
     .type = GP_TYPE_INTEGER,
     .flags = GP_OPT_REQUIRED,
     .help = "TCP port to connect to",
     .min = 1,
     .max = 65535},
    {.key = "send",
     .type = GP_TYPE_STRING,
     .help = "bytes to send once connected; escapes \\r \\n \\t \\\\ \\xHH"},
    {.key = "expect",
     .type = GP_TYPE_STRING,
     .help = "text that must appear in the first 64 KiB the peer sends; "
             "same escapes as send"},
    {.key = NULL},
};

static const gp_metric tcp_metrics[] = {
    {.name = "connect_time",
     .unit = GP_UNIT_MS,
     .help = "time to establish the TCP connection"},
    {.name = "response_time",
     .unit = GP_UNIT_MS,
     .help = "time from connected (send included) to the expected text, "
             "when expect is set"},
    {.name = NULL},
};

/* Read until `expect` shows up, the peer closes, 64 KiB arrive or the time
 * is up. Returns 1 when found; otherwise sets *problem. */
static int read_until(gp_ctx *ctx, const gp_api *api, int fd, char *buf,
                      size_t *got, const char *expect, size_t expect_len,
                      const char **problem)
{
    while (*got < TCP_MAX_READ) {
        ssize_t n = gp_sdk_recv(ctx, api, fd, buf + *got, TCP_MAX_READ - *got);
        if (n == 0) {
            *problem = "peer closed before sending the expected text";
            return 0;
        }
        if (n < 0) {
            *problem = errno == ETIMEDOUT
                           ? "timed out waiting for the expected text"
                           : strerror(errno);
            return 0;
        }
        *got += (size_t)n;
        if (tcp_expect_seen(buf, *got - (size_t)n, *got, expect, expect_len))
            return 1;
    }
    *problem = "expected text not in the first 64 KiB";
    return 0;
}

static gp_outcome check(gp_ctx *ctx, const gp_api *api)
{
    const char *host = api->opt_string(ctx, "host");
    unsigned port = (unsigned)api->opt_integer(ctx, "port");
    const char *send_opt = api->opt_string(ctx, "send");
    const char *expect_opt = api->opt_string(ctx, "expect");
    char send_buf[TCP_MAX_TEXT + 1], expect_buf[TCP_MAX_TEXT + 1];
    long send_len = 0, expect_len = 0;
    const char *why = NULL;

    if (!host || !*host) {
        api->message(ctx, "option host is empty");
        return GP_FATAL;
    }
    /* The core has validated the schema, but the escapes are ours to
     * check; a value that cannot be decoded will not decode next time. */
    if ((send_len = tcp_decode(send_opt, send_buf, &why)) < 0) {
        api->message(ctx, "option send: %s", why);
        return GP_FATAL;
    }
    if ((expect_len = tcp_decode(expect_opt, expect_buf, &why)) < 0) {
        api->message(ctx, "option expect: %s", why);
        return GP_FATAL;
    }

    /* Connect. An unknown name is fatal (asking again gives the same
     * answer); everything else may clear up by itself. */
    char addr[128], err[256];
    gp_sdk_connect_error cerr;
    double start = gp_sdk_now_ms();
    int fd = gp_sdk_tcp_connect(ctx, api, host, port, &cerr, addr, sizeof addr,
                                err, sizeof err);
    if (fd < 0) {
        if (cerr == GP_SDK_TIMEOUT)
            api->message(ctx, "%s after %.0f ms", err, gp_sdk_now_ms() - start);
        else
            api->message(ctx, "%s", err);
        return cerr == GP_SDK_NO_SUCH_HOST ? GP_FATAL : GP_TRANSIENT;
    }
    double t_connect = gp_sdk_now_ms() - start;
    api->metric(ctx, "connect_time", t_connect);

    /* response_time runs from here: it covers the request and the reply. */
    double t_sent = gp_sdk_now_ms();
    if (send_len > 0 &&
        gp_sdk_send_all(ctx, api, fd, send_buf, (size_t)send_len) < 0) {
        int e = errno;
        close(fd);
        if (e == ETIMEDOUT)
            api->message(ctx, "send to %s timed out", addr);
        else
            api->message(ctx, "send to %s failed: %s", addr, strerror(e));
        return GP_TRANSIENT;
    }
    if (expect_len == 0) {
        close(fd);
        api->message(ctx, "connected to %s in %.1f ms", addr, t_connect);
        return GP_READY;
    }

    /* Heap, not stack: 64 KiB is too much for a stack we don't own. */
    char *buf = malloc(TCP_MAX_READ);
    size_t got = 0;
    const char *problem = NULL;
    if (!buf) {
        close(fd);
        api->message(ctx, "out of memory");
        return GP_UNKNOWN;
    }
    int found = read_until(ctx, api, fd, buf, &got, expect_buf,
                           (size_t)expect_len, &problem);
    close(fd);
    char shown[TCP_SHOW_BYTES * 4 + 8];
    gp_sdk_printable(buf, got, TCP_SHOW_BYTES, shown, sizeof shown);
    free(buf);
    if (!found) {
        /* A wrong or missing banner may be a service still starting. */
        if (got == 0)
            api->message(ctx, "%s: %s (nothing received)", addr, problem);
        else
            api->message(ctx, "%s: %s (received %zu bytes: \"%s\")", addr,
                         problem, got, shown);
        return GP_TRANSIENT;
    }
    double t_response = gp_sdk_now_ms() - t_sent;
    api->metric(ctx, "response_time", t_response);
    api->message(ctx, "connected to %s in %.1f ms, expected text after %.1f ms",
                 addr, t_connect, t_response);
    return GP_READY;
}

/* validate() (ABI 1.2): the host's form and the escapes of send and
 * expect, at config time. */
static void validate(gp_ctx *ctx, const gp_api *api)
{
    const char *host = api->opt_string(ctx, "host");
    const char *why = gp_sdk_host_problem(host);
    char buf[TCP_MAX_TEXT + 1];
    static const char *const texts[] = {"send", "expect"};

    if (why)
        api->invalid(ctx, "host", "%s", why);
    for (size_t i = 0; i < 2; i++) {
        const char *v = api->opt_string(ctx, texts[i]);
        if (tcp_decode(v, buf, &why) < 0)
            api->invalid(ctx, texts[i], "%s", why);
    }
}

/* gpcheck wait tcp://HOST:PORT */
static const gp_url_map tcp_urls[] = {
    {.schemes = "tcp", .host = "host", .port = "port"},
    {.schemes = NULL},
};

static const gp_plugin tcp_plugin = {
    GP_PLUGIN_HEADER,
    .name = "tcp",
    .version = "0.1.0",
    .summary = "TCP connect, optionally send a request and expect a reply",
    .options = tcp_options,
    .metrics = tcp_metrics,
    .check = check,
    .validate = validate,
    .urls = tcp_urls,
};

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    return &tcp_plugin;
}
