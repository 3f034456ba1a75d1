/*
 * plugins/tls/tls.c - the `tls` probe: does a TLS endpoint complete a
 * handshake with a certificate that verifies, names the server and is
 * not about to expire?
 *
 * One attempt reads top to bottom:
 *   1. connect over TCP (gp_sdk_tcp_connect: the name resolved in a helper
 *      process killed when the time is up, a non-blocking connect bounded
 *      by the time left);
 *   2. for `starttls`, ask for TLS the service's way first: PostgreSQL's
 *      SSLRequest, or SMTP's EHLO and STARTTLS (replies read by
 *      verdict.c, unit-tested beside it);
 *   3. SSL_connect on the non-blocking socket, each wait a poll() bounded
 *      by the time left, with SNI and the hostname check for server_name
 *      (or host), the CA file or the system's CAs, min_version;
 *   4. report days_left (the leaf's notAfter, negative once passed),
 *      chain_days_left (the soonest notAfter of the presented chain),
 *      handshake_time and the protocol version, then judge the verify
 *      result.
 *
 * The chain is verified but the handshake is not aborted on a failure
 * (SSL_VERIFY_NONE with a callback that records the first error), so that
 * an expired certificate still reports its (negative) days_left; every
 * verification failure is then fatal, with a reason of its own (expired,
 * not yet valid, hostname mismatch, not trusted) and OpenSSL's text.
 * Refused, reset, timed out: transient.
 *
 * The plugin keeps no state: everything belongs to one check() call.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gpcheck/plugin.h"
#include "gpcheck/sdk.h"
#include "verdict.h"

/* The most an SMTP server may say before STARTTLS (a long EHLO list). */
#define TLS_SMTP_MAX 8192

static const gp_option tls_options[] = {
    {.key = "host",
     .type = GP_TYPE_STRING,
     .def = "127.0.0.1",
     .help = "host name or address to connect to"},
    {.key = "port",
     .type = GP_TYPE_INTEGER,
     .def = "443",
     .help = "TCP port",
     .min = 1,
     .max = 65535},
    {.key = "server_name",
     .type = GP_TYPE_STRING,
     .help = "name sent as SNI and checked against the certificate "
             "(default: host)"},
    {.key = "ca_file",
     .type = GP_TYPE_STRING,
     .help = "PEM file of CA certificates to verify with (instead of the "
             "system's)"},
    {.key = "starttls",
     .type = GP_TYPE_STRING,
     .choices = "postgres|smtp",
     .help = "ask for TLS the service's way first: PostgreSQL's SSLRequest "
             "or SMTP's STARTTLS"},
    {.key = "min_version",
     .type = GP_TYPE_STRING,
     .def = "TLSv1.2",
     .choices = "TLSv1.2|TLSv1.3",
     .help = "lowest protocol version accepted"},
    {.key = NULL},
};

static const gp_metric tls_metrics[] = {
    {.name = "days_left",
     .unit = GP_UNIT_NONE,
     .help = "days until the server certificate's notAfter (negative once "
             "expired)"},
    {.name = "chain_days_left",
     .unit = GP_UNIT_NONE,
     .help = "days until the soonest notAfter in the presented chain"},
    {.name = "handshake_time",
     .unit = GP_UNIT_MS,
     .help = "the TLS handshake (after connect and STARTTLS)"},
    {.name = "protocol",
     .unit = GP_UNIT_NONE,
     .help = "the protocol version: 1.2 or 1.3"},
    {.name = NULL},
};

/* One attempt's state; lives on check()'s stack. */
typedef struct probe {
    gp_ctx *ctx;
    const gp_api *api;
    int fd;
    char addr[128];   /* "127.0.0.1:443" */
    const char *name; /* checked against the certificate: server_name or host */
    long verify_err;  /* the first verification error, X509_V_OK when none */
    int verify_depth; /* its depth in the chain (0: the leaf) */
    char verify_subject[256]; /* the subject of the certificate it is about */
} probe;

/* ------------------------------------------------------------------------ */
/* STARTTLS.                                                                 */

/* PostgreSQL: the 8-byte SSLRequest, then one byte: 'S' or 'N'. */
static gp_outcome starttls_postgres(probe *p)
{
    static const unsigned char request[8] = {0,    0,    0,    8,
                                             0x04, 0xd2, 0x16, 0x2f};
    unsigned char c;
    const char *why;
    ssize_t n;

    if (gp_sdk_send_all(p->ctx, p->api, p->fd, request, sizeof request) < 0 ||
        (n = gp_sdk_recv(p->ctx, p->api, p->fd, &c, 1)) < 0) {
        p->api->message(p->ctx, "SSLRequest to %s: %s", p->addr,
                        errno == ETIMEDOUT ? "no answer in time"
                                           : strerror(errno));
        return GP_TRANSIENT;
    }
    if (n == 0) {
        p->api->message(p->ctx, "%s closed the connection after the SSLRequest",
                        p->addr);
        return GP_TRANSIENT;
    }
    gp_outcome out = tls_pg_answer(c, &why);
    if (out != GP_READY)
        p->api->message(p->ctx, "SSLRequest to %s: %s", p->addr, why);
    return out;
}

/* Read one whole SMTP reply into buf; its code, or -1 with the message
 * set and *out the outcome. */
static int smtp_read(probe *p, const char *after, char *buf, size_t *len,
                     gp_outcome *out)
{
    int bad = 0, code;

    *len = 0;
    *out = GP_TRANSIENT;
    while ((code = tls_smtp_reply(buf, *len, &bad)) < 0 && !bad) {
        ssize_t n = *len < TLS_SMTP_MAX
                        ? gp_sdk_recv(p->ctx, p->api, p->fd, buf + *len,
                                      TLS_SMTP_MAX - *len)
                        : -2;
        if (n == -2) {
            bad = 1;
            break;
        }
        if (n <= 0) {
            p->api->message(p->ctx, "SMTP %s %s: %s", after, p->addr,
                            n == 0               ? "connection closed"
                            : errno == ETIMEDOUT ? "no reply in time"
                                                 : strerror(errno));
            return -1;
        }
        *len += (size_t)n;
    }
    if (bad) {
        char shown[200];

        gp_sdk_printable(buf, *len, 40, shown, sizeof shown);
        p->api->message(p->ctx, "SMTP %s %s: not an SMTP reply (\"%s\")", after,
                        p->addr, shown);
        *out = GP_FATAL;
        return -1;
    }
    return code;
}

/* A reply code other than the one wanted: 4xx may clear up (421: the
 * service is not available now), 5xx will not. */
static gp_outcome smtp_refused(probe *p, const char *after, int code,
                               const char *buf, size_t len)
{
    char shown[400];

    gp_sdk_printable(buf, len, 80, shown, sizeof shown);
    p->api->message(p->ctx, "SMTP %s %s: %d (\"%s\")", after, p->addr, code,
                    shown);
    return code >= 400 && code < 500 ? GP_TRANSIENT : GP_FATAL;
}

/* SMTP (RFC 3207): greeting 220, EHLO -> 250 offering STARTTLS,
 * STARTTLS -> 220, then the handshake. Nothing may follow the last reply
 * before the handshake (tls_smtp_reply() refuses bytes after it). */
static gp_outcome starttls_smtp(probe *p)
{
    static const char ehlo[] = "EHLO gpcheck.invalid\r\n";
    static const char starttls[] = "STARTTLS\r\n";
    char buf[TLS_SMTP_MAX];
    size_t len;
    gp_outcome out;
    int code;

    if ((code = smtp_read(p, "greeting from", buf, &len, &out)) < 0)
        return out;
    if (code != 220)
        return smtp_refused(p, "greeting from", code, buf, len);
    if (gp_sdk_send_all(p->ctx, p->api, p->fd, ehlo, sizeof ehlo - 1) < 0 ||
        (code = smtp_read(p, "EHLO to", buf, &len, &out)) < 0) {
        if (code >= 0)
            p->api->message(p->ctx, "SMTP EHLO to %s: %s", p->addr,
                            strerror(errno));
        return code >= 0 ? GP_TRANSIENT : out;
    }
    if (code != 250)
        return smtp_refused(p, "EHLO to", code, buf, len);
    if (!tls_smtp_offers_starttls(buf, len)) {
        p->api->message(p->ctx, "SMTP server %s does not offer STARTTLS",
                        p->addr);
        return GP_FATAL;
    }
    if (gp_sdk_send_all(p->ctx, p->api, p->fd, starttls, sizeof starttls - 1) <
            0 ||
        (code = smtp_read(p, "STARTTLS to", buf, &len, &out)) < 0) {
        if (code >= 0)
            p->api->message(p->ctx, "SMTP STARTTLS to %s: %s", p->addr,
                            strerror(errno));
        return code >= 0 ? GP_TRANSIENT : out;
    }
    if (code != 220)
        return smtp_refused(p, "STARTTLS to", code, buf, len);
    return GP_READY;
}

/* ------------------------------------------------------------------------ */
/* The handshake.                                                            */

/* Record the first verification error and keep going, so the handshake
 * completes and the certificate's dates can still be reported. */
static int verify_cb(int ok, X509_STORE_CTX *store)
{
    SSL *ssl =
        X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    probe *p = ssl ? SSL_get_app_data(ssl) : NULL;

    if (!ok && p && p->verify_err == X509_V_OK) {
        X509 *cert = X509_STORE_CTX_get_current_cert(store);

        p->verify_err = X509_STORE_CTX_get_error(store);
        p->verify_depth = X509_STORE_CTX_get_error_depth(store);
        p->verify_subject[0] = '\0';
        if (cert)
            X509_NAME_oneline(X509_get_subject_name(cert), p->verify_subject,
                              sizeof p->verify_subject);
    }
    return 1;
}

/* The CTX and SSL for one handshake, or GP_FATAL/GP_UNKNOWN with the
 * message set. */
static gp_outcome setup_ssl(probe *p, SSL_CTX **ctxp, SSL **sslp)
{
    const gp_api *api = p->api;
    const char *ca = api->opt_string(p->ctx, "ca_file");
    int min = tls_min_version(api->opt_string(p->ctx, "min_version"));
    unsigned char ip[16];
    SSL_CTX *sctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    char err[256];

    if (!sctx)
        goto nomem;
    *ctxp = sctx;
    SSL_CTX_set_min_proto_version(sctx, min ? min : TLS1_2_VERSION);
    if (ca && *ca ? !SSL_CTX_load_verify_locations(sctx, ca, NULL)
                  : !SSL_CTX_set_default_verify_paths(sctx)) {
        ERR_error_string_n(ERR_get_error(), err, sizeof err);
        api->message(p->ctx, "cannot load %s: %s",
                     ca && *ca ? "ca_file" : "the system's CA certificates",
                     err);
        return GP_FATAL;
    }
    SSL_CTX_set_verify(sctx, SSL_VERIFY_NONE, verify_cb);
    if (!(ssl = SSL_new(sctx)))
        goto nomem;
    *sslp = ssl;
    SSL_set_app_data(ssl, p);
    /* An address is checked as one (no SNI for it: RFC 6066); a name is
     * sent as SNI and checked without partial wildcards. */
    if (inet_pton(AF_INET, p->name, ip) == 1 ||
        inet_pton(AF_INET6, p->name, ip) == 1) {
        if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), p->name))
            goto nomem;
    } else {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (!SSL_set_tlsext_host_name(ssl, p->name) ||
            !SSL_set1_host(ssl, p->name))
            goto nomem;
    }
    if (!SSL_set_fd(ssl, p->fd))
        goto nomem;
    return GP_READY;
nomem:
    api->message(p->ctx, "cannot set up OpenSSL: %s",
                 ERR_error_string(ERR_get_error(), err));
    return GP_UNKNOWN;
}

/* A failed SSL_connect -> outcome, with the message. What the server
 * refuses (no common protocol version, not TLS at all) will be refused
 * again: fatal; a connection cut short is what a restarting server does:
 * transient. */
static gp_outcome handshake_failed(probe *p, SSL *ssl, int rc)
{
    int kind = SSL_get_error(ssl, rc);
    unsigned long e = ERR_peek_error();
    char err[256];

    if (kind == SSL_ERROR_SSL && e &&
        ERR_GET_REASON(e) != SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ERR_error_string_n(e, err, sizeof err);
        p->api->message(p->ctx, "TLS handshake with %s failed: %s", p->addr,
                        err);
        return GP_FATAL;
    }
    p->api->message(p->ctx,
                    "TLS handshake with %s failed: connection closed "
                    "during the handshake%s%s",
                    p->addr, kind == SSL_ERROR_SYSCALL && errno ? ": " : "",
                    kind == SSL_ERROR_SYSCALL && errno ? strerror(errno) : "");
    return GP_TRANSIENT;
}

/* SSL_connect on the non-blocking socket, each wait bounded by the time
 * left. */
static gp_outcome handshake(probe *p, SSL *ssl, double *ms)
{
    double start = gp_sdk_now_ms();

    for (;;) {
        int rc = SSL_connect(ssl), kind, w;

        if (rc == 1)
            break;
        kind = SSL_get_error(ssl, rc);
        if (kind != SSL_ERROR_WANT_READ && kind != SSL_ERROR_WANT_WRITE)
            return handshake_failed(p, ssl, rc);
        w = gp_sdk_wait(p->ctx, p->api, p->fd,
                        kind == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT);
        if (w <= 0) {
            p->api->message(p->ctx, "TLS handshake with %s %s after %.0f ms",
                            p->addr, w == 0 ? "timed out" : "failed",
                            gp_sdk_now_ms() - start);
            return GP_TRANSIENT;
        }
    }
    *ms = gp_sdk_now_ms() - start;
    return GP_READY;
}

/* ------------------------------------------------------------------------ */
/* The certificate.                                                          */

static gp_outcome judge(probe *p, SSL *ssl, double ms)
{
    gp_ctx *ctx = p->ctx;
    const gp_api *api = p->api;
    X509 *leaf = SSL_get0_peer_certificate(ssl);
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    time_t now = time(NULL);
    double days, soonest;
    int ok;

    api->metric(ctx, "handshake_time", ms);
    api->metric(ctx, "protocol", tls_protocol_number(SSL_version(ssl)));
    if (!leaf) {
        api->message(ctx, "%s presented no certificate", p->addr);
        return GP_FATAL;
    }
    days = tls_days_until(X509_get0_notAfter(leaf), now, &ok);
    if (!ok) {
        api->message(ctx, "cannot read the notAfter of %s's certificate",
                     p->addr);
        return GP_FATAL;
    }
    soonest = days;
    for (int i = 0; chain && i < sk_X509_num(chain); i++) {
        double d = tls_days_until(X509_get0_notAfter(sk_X509_value(chain, i)),
                                  now, &ok);
        if (ok && d < soonest)
            soonest = d;
    }
    api->metric(ctx, "days_left", days);
    api->metric(ctx, "chain_days_left", soonest);

    tls_failure f = tls_classify(p->verify_err);
    if (f != TLS_OK) {
        char subject[300];

        gp_sdk_printable(p->verify_subject, strlen(p->verify_subject), 120,
                         subject, sizeof subject);
        api->message(ctx,
                     "%s: %s: %s (depth %d, %s); the leaf certificate %s "
                     "%.1f days%s",
                     tls_failure_reason(f), p->addr,
                     X509_verify_cert_error_string(p->verify_err),
                     p->verify_depth, subject,
                     days < 0 ? "expired" : "expires in",
                     days < 0 ? -days : days, days < 0 ? " ago" : "");
        return tls_failure_outcome(f);
    }
    api->message(ctx,
                 "%s with %s, certificate for %s valid %.1f more days (chain "
                 "%.1f), handshake %.1f ms",
                 SSL_get_version(ssl), p->addr, p->name, days, soonest, ms);
    return GP_READY;
}

static gp_outcome check(gp_ctx *ctx, const gp_api *api)
{
    const char *host = api->opt_string(ctx, "host");
    const char *sn = api->opt_string(ctx, "server_name");
    const char *starttls = api->opt_string(ctx, "starttls");
    probe p = {.ctx = ctx, .api = api, .fd = -1, .verify_err = X509_V_OK};
    SSL_CTX *sctx = NULL;
    SSL *ssl = NULL;
    gp_sdk_connect_error why;
    char err[256];
    double ms = 0;
    gp_outcome out;

    if (!host || !*host) {
        api->message(ctx, "option host is empty");
        return GP_FATAL;
    }
    p.name = sn && *sn ? sn : host;
    p.fd = gp_sdk_tcp_connect(ctx, api, host,
                              (unsigned)api->opt_integer(ctx, "port"), &why,
                              p.addr, sizeof p.addr, err, sizeof err);
    if (p.fd < 0) {
        api->message(ctx, "%s", err);
        return why == GP_SDK_NO_SUCH_HOST && !api->in_warmup(ctx)
                   ? GP_FATAL
                   : GP_TRANSIENT;
    }
    out = GP_READY;
    if (starttls && strcmp(starttls, "postgres") == 0)
        out = starttls_postgres(&p);
    else if (starttls && strcmp(starttls, "smtp") == 0)
        out = starttls_smtp(&p);
    if (out == GP_READY && (out = setup_ssl(&p, &sctx, &ssl)) == GP_READY &&
        (out = handshake(&p, ssl, &ms)) == GP_READY)
        out = judge(&p, ssl, ms);
    if (ssl && SSL_is_init_finished(ssl))
        SSL_shutdown(ssl); /* one try: the close_notify, no waiting */
    SSL_free(ssl);
    SSL_CTX_free(sctx);
    close(p.fd);
    return out;
}

/* validate() (ABI 1.2): the forms of host and server_name. */
static void validate(gp_ctx *ctx, const gp_api *api)
{
    static const char *const names[] = {"host", "server_name"};

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = api->opt_string(ctx, names[i]);
        const char *why = v && *v ? gp_sdk_host_problem(v) : NULL;

        if (why)
            api->invalid(ctx, names[i], "%s", why);
    }
}

static const gp_plugin tls_plugin = {
    GP_PLUGIN_HEADER,
    .name = "tls",
    .version = "0.1.0",
    .summary = "a TLS endpoint's handshake and certificate: verified, for "
               "this name, days left",
    .options = tls_options,
    .metrics = tls_metrics,
    .check = check,
    .validate = validate,
};

GP_PLUGIN_EXPORT const gp_plugin *gpcheck_plugin(void)
{
    return &tls_plugin;
}
