/*
 * plugins/grpc/h2.c - one HTTP/2 request with nghttp2 over a socket of
 * the SDK's (gp_sdk_tcp_connect) and, for TLS, OpenSSL; see h2.h.
 *
 * Why not libcurl: Debian 12's libcurl 7.88 drops an answer that arrives
 * before it has sent the request body. A gRPC server answers an unknown
 * method (UNIMPLEMENTED: no Health service) with trailers at once and
 * resets the stream (RST_STREAM NO_ERROR, which RFC 9113 8.1 lets it do);
 * curl then fails with "Stream error in the HTTP/2 framing layer" and
 * never hands over the headers - 5 calls in 8 against python3-grpcio,
 * with the curl command as well. nghttp2 (what curl uses underneath)
 * delivers every header as it comes and lets us judge the stream when it
 * closes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "codec.h"
#include "gpcheck/sdk.h"
#include "h2.h"

/* One call's state; lives on h2_request()'s stack. */
typedef struct call {
    gp_ctx *ctx;
    const gp_api *api;
    int fd;
    SSL *ssl; /* NULL for h2c */
    int32_t stream;
    int closed;        /* our stream closed */
    int eof;           /* the peer closed the connection */
    int io_errno;      /* a socket error, 0 when none */
    char tls_err[256]; /* an OpenSSL error while reading or writing */
    char h2_err[200];  /* nghttp2's complaint about what the peer sent */
    const unsigned char *body;
    size_t body_len, body_sent;
    h2_answer *ans;
} call;

/* ---- bytes in and out ---------------------------------------------------- */

static ssize_t tls_failed(call *c, int rc)
{
    int kind = SSL_get_error(c->ssl, rc);

    if (kind == SSL_ERROR_WANT_READ || kind == SSL_ERROR_WANT_WRITE)
        return NGHTTP2_ERR_WOULDBLOCK;
    if (kind == SSL_ERROR_ZERO_RETURN) {
        c->eof = 1;
        return NGHTTP2_ERR_EOF;
    }
    if (kind == SSL_ERROR_SSL && ERR_peek_error() &&
        ERR_GET_REASON(ERR_peek_error()) != SSL_R_UNEXPECTED_EOF_WHILE_READING)
        ERR_error_string_n(ERR_get_error(), c->tls_err, sizeof c->tls_err);
    else
        c->eof = 1;
    return c->eof ? NGHTTP2_ERR_EOF : NGHTTP2_ERR_CALLBACK_FAILURE;
}

static ssize_t on_send(nghttp2_session *s, const uint8_t *data, size_t len,
                       int flags, void *user)
{
    call *c = user;
    ssize_t n;

    (void)s, (void)flags;
    ERR_clear_error();
    if (c->ssl) {
        int rc = SSL_write(c->ssl, data, (int)(len > 65536 ? 65536 : len));
        return rc > 0 ? rc : tls_failed(c, rc);
    }
    n = send(c->fd, data, len, MSG_NOSIGNAL);
    if (n >= 0)
        return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return NGHTTP2_ERR_WOULDBLOCK;
    c->io_errno = errno;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
}

static ssize_t on_recv(nghttp2_session *s, uint8_t *buf, size_t len, int flags,
                       void *user)
{
    call *c = user;
    ssize_t n;

    (void)s, (void)flags;
    ERR_clear_error();
    if (c->ssl) {
        int rc = SSL_read(c->ssl, buf, (int)(len > 65536 ? 65536 : len));
        return rc > 0 ? rc : tls_failed(c, rc);
    }
    n = recv(c->fd, buf, len, 0);
    if (n > 0)
        return n;
    if (n == 0) {
        c->eof = 1;
        return NGHTTP2_ERR_EOF;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return NGHTTP2_ERR_WOULDBLOCK;
    c->io_errno = errno;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
}

/* The request body, all at once, then END_STREAM. */
static ssize_t on_body(nghttp2_session *s, int32_t stream, uint8_t *buf,
                       size_t len, uint32_t *flags, nghttp2_data_source *src,
                       void *user)
{
    call *c = user;
    size_t n = c->body_len - c->body_sent;

    (void)s, (void)stream, (void)src;
    n = n < len ? n : len;
    memcpy(buf, c->body + c->body_sent, n);
    c->body_sent += n;
    if (c->body_sent == c->body_len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* ---- what comes back ----------------------------------------------------- */

static int is(const uint8_t *name, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(name, want, len) == 0;
}

/* Headers and trailers alike: a later grpc-status (the trailers')
 * replaces an earlier one. */
static int on_header(nghttp2_session *s, const nghttp2_frame *frame,
                     const uint8_t *name, size_t namelen, const uint8_t *value,
                     size_t valuelen, uint8_t flags, void *user)
{
    call *c = user;
    h2_answer *a = c->ans;
    const char *v = (const char *)value;

    (void)s, (void)flags;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != c->stream)
        return 0;
    if (is(name, namelen, ":status"))
        a->status = (int)grpc_parse_code(v, valuelen);
    else if (is(name, namelen, "grpc-status"))
        a->grpc_status = grpc_parse_code(v, valuelen);
    else if (is(name, namelen, "grpc-message"))
        grpc_message_decode(v, valuelen, a->grpc_message,
                            sizeof a->grpc_message);
    else if (is(name, namelen, "content-type"))
        snprintf(a->content_type, sizeof a->content_type, "%.*s",
                 (int)(valuelen < 60 ? valuelen : 60), v);
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t stream,
                   const uint8_t *data, size_t len, void *user)
{
    call *c = user;
    h2_answer *a = c->ans;
    size_t room = sizeof a->body - a->body_len;

    (void)s, (void)flags;
    if (stream != c->stream)
        return 0;
    if (len > room)
        a->truncated = 1;
    memcpy(a->body + a->body_len, data, len < room ? len : room);
    a->body_len += len < room ? len : room;
    return 0;
}

static int on_close(nghttp2_session *s, int32_t stream, uint32_t error,
                    void *user)
{
    call *c = user;

    (void)s;
    if (stream == c->stream) {
        c->closed = 1;
        c->ans->reset = error;
    }
    return 0;
}

/* What the peer sent is not HTTP/2 (an HTTP/1 server's answer to the
 * preface, a broken frame): nghttp2 says so here, then ends the session. */
static int on_error(nghttp2_session *s, int code, const char *msg, size_t len,
                    void *user)
{
    call *c = user;

    (void)s, (void)code;
    if (!c->h2_err[0])
        snprintf(c->h2_err, sizeof c->h2_err, "%.*s",
                 (int)(len < 160 ? len : 160), msg);
    return 0;
}

/* ---- TLS ------------------------------------------------------------------
 */

/* A handshake that did not complete -> outcome, with the message. */
static gp_outcome handshake_failed(call *c, const char *where, int rc,
                                   const h2_tls *t)
{
    long v = SSL_get_verify_result(c->ssl);
    int kind = SSL_get_error(c->ssl, rc);
    unsigned long e = ERR_peek_error();
    char err[256];

    if (v != X509_V_OK) {
        int name = v == X509_V_ERR_HOSTNAME_MISMATCH ||
                   v == X509_V_ERR_IP_ADDRESS_MISMATCH;

        c->api->message(c->ctx, "TLS verification of %s failed: %s%s%s%s",
                        where, X509_verify_cert_error_string(v),
                        name ? " (the certificate is not for " : "",
                        name ? t->name : "", name ? ")" : "");
        return GP_FATAL;
    }
    if (kind == SSL_ERROR_SSL && e &&
        ERR_GET_REASON(e) != SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ERR_error_string_n(e, err, sizeof err);
        c->api->message(
            c->ctx, "TLS handshake with %s failed: %s%s", where, err,
            strstr(err, "alert") && !t->cert_file ? " (no cert_file is set)"
                                                  : "");
        return GP_FATAL;
    }
    c->api->message(c->ctx, "TLS handshake with %s failed: connection closed",
                    where);
    return GP_TRANSIENT;
}

static gp_outcome tls_start(call *c, SSL_CTX **ctxp, const char *where,
                            const h2_tls *t)
{
    const gp_api *api = c->api;
    unsigned char ip[16];
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    char err[256];
    SSL_CTX *x = *ctxp = SSL_CTX_new(TLS_client_method());

    if (!x)
        goto nomem;
    if (t->ca_file ? !SSL_CTX_load_verify_locations(x, t->ca_file, NULL)
                   : !SSL_CTX_set_default_verify_paths(x)) {
        ERR_error_string_n(ERR_get_error(), err, sizeof err);
        api->message(c->ctx, "cannot load %s: %s",
                     t->ca_file ? "ca_file" : "the system's CAs", err);
        return GP_FATAL;
    }
    if (!(c->ssl = SSL_new(x)))
        goto nomem;
    SSL_set_min_proto_version(c->ssl, TLS1_2_VERSION); /* gRPC's floor */
    SSL_set_alpn_protos(c->ssl, (const unsigned char *)"\x02h2", 3);
    SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
    if (t->cert_file &&
        (!SSL_use_certificate_chain_file(c->ssl, t->cert_file) ||
         !SSL_use_PrivateKey_file(c->ssl,
                                  t->key_file ? t->key_file : t->cert_file,
                                  SSL_FILETYPE_PEM) ||
         !SSL_check_private_key(c->ssl))) {
        ERR_error_string_n(ERR_get_error(), err, sizeof err);
        api->message(c->ctx, "cannot use cert_file / key_file: %s", err);
        return GP_FATAL;
    }
    if (inet_pton(AF_INET, t->name, ip) == 1 ||
        inet_pton(AF_INET6, t->name, ip) == 1) {
        if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), t->name))
            goto nomem;
    } else if (!SSL_set_tlsext_host_name(c->ssl, t->name) ||
               !SSL_set1_host(c->ssl, t->name)) {
        goto nomem;
    }
    SSL_set_fd(c->ssl, c->fd);
    for (;;) {
        int rc = SSL_connect(c->ssl), kind, w;

        if (rc == 1)
            break;
        kind = SSL_get_error(c->ssl, rc);
        if (kind != SSL_ERROR_WANT_READ && kind != SSL_ERROR_WANT_WRITE)
            return handshake_failed(c, where, rc, t);
        w = gp_sdk_wait(c->ctx, api, c->fd,
                        kind == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT);
        if (w <= 0) {
            api->message(c->ctx, "TLS handshake with %s %s", where,
                         w == 0 ? "timed out" : "failed");
            return GP_TRANSIENT;
        }
    }
    SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
    if (alpn_len != 2 || memcmp(alpn, "h2", 2) != 0) {
        api->message(c->ctx,
                     "%s does not offer HTTP/2 over TLS (ALPN %s): "
                     "not a gRPC server",
                     where, alpn_len ? "not h2" : "none");
        return GP_FATAL;
    }
    return GP_READY;
nomem:
    api->message(c->ctx, "cannot set up OpenSSL");
    return GP_UNKNOWN;
}

/* ---- the request ------------------------------------------------------ */

/* Why the exchange ended before the stream closed. */
static gp_outcome exchange_failed(call *c, const char *where, int rv,
                                  const h2_tls *t)
{
    const gp_api *api = c->api;

    if (c->tls_err[0]) {
        /* An alert after the handshake: TLS 1.3 servers refuse a client
         * certificate (or its absence) here. */
        api->message(c->ctx,
                     "%s refused the connection after the TLS "
                     "handshake: %s%s",
                     where, c->tls_err,
                     t && !t->cert_file ? " (no cert_file is set)" : "");
        return GP_FATAL;
    }
    if (c->h2_err[0]) {
        char shown[sizeof c->h2_err * 4];

        gp_sdk_printable(c->h2_err, strlen(c->h2_err), 160, shown,
                         sizeof shown);
        api->message(c->ctx, "%s does not speak HTTP/2: %s", where, shown);
        return GP_FATAL;
    }
    if (c->eof || c->io_errno || rv == NGHTTP2_ERR_EOF) {
        /* Some servers (grpcio) refuse a missing client certificate by
         * closing, without an alert: like a server going away. */
        api->message(c->ctx, "%s closed the connection before answering%s%s%s",
                     where, c->io_errno ? ": " : "",
                     c->io_errno ? strerror(c->io_errno) : "",
                     c->ssl && t && !t->cert_file
                         ? " (no cert_file is set: does it require a client "
                           "certificate?)"
                         : "");
        return GP_TRANSIENT;
    }
    if (rv == NGHTTP2_ERR_NOMEM) {
        api->message(c->ctx, "out of memory");
        return GP_UNKNOWN;
    }
    api->message(c->ctx, "%s does not speak HTTP/2 (%s): not a gRPC server",
                 where, nghttp2_strerror(rv));
    return GP_FATAL;
}

static gp_outcome exchange(call *c, nghttp2_session *s, const char *where,
                           const h2_tls *t)
{
    while (!c->closed) {
        int rv = nghttp2_session_send(s), w;

        if (rv != 0)
            return exchange_failed(c, where, rv, t);
        if (c->closed)
            break;
        if (!nghttp2_session_want_read(s) && !nghttp2_session_want_write(s))
            return exchange_failed(c, where, NGHTTP2_ERR_EOF, t);
        if (!(c->ssl && SSL_pending(c->ssl))) {
            short ev = POLLIN;

            if (nghttp2_session_want_write(s))
                ev |= POLLOUT;
            if ((w = gp_sdk_wait(c->ctx, c->api, c->fd, ev)) <= 0) {
                c->api->message(c->ctx, "no answer from %s in time", where);
                return GP_TRANSIENT;
            }
        }
        if ((rv = nghttp2_session_recv(s)) != 0)
            return exchange_failed(c, where, rv, t);
    }
    if (!c->ans->status) {
        c->api->message(c->ctx, "%s reset the stream without answering (%s)",
                        where, nghttp2_http2_strerror(c->ans->reset));
        return GP_TRANSIENT;
    }
    return GP_READY;
}

gp_outcome h2_request(gp_ctx *ctx, const gp_api *api, const char *host,
                      unsigned port, const char *where, const h2_tls *tls,
                      const nghttp2_nv *nv, size_t nvlen,
                      const unsigned char *body, size_t body_len,
                      h2_answer *ans)
{
    call c = {
        .ctx = ctx, .api = api, .body = body, .body_len = body_len, .ans = ans};
    nghttp2_session_callbacks *cbs = NULL;
    nghttp2_session *s = NULL;
    nghttp2_data_provider data = {.read_callback = on_body};
    SSL_CTX *sctx = NULL;
    gp_sdk_connect_error why;
    char err[256];
    gp_outcome out;

    memset(ans, 0, sizeof *ans);
    ans->grpc_status = -1;
    c.fd = gp_sdk_tcp_connect(ctx, api, host, port, &why, NULL, 0, err,
                              sizeof err);
    if (c.fd < 0) {
        api->message(ctx, "%s", err);
        return why == GP_SDK_NO_SUCH_HOST && !api->in_warmup(ctx)
                   ? GP_FATAL
                   : GP_TRANSIENT;
    }
    if (tls && (out = tls_start(&c, &sctx, where, tls)) != GP_READY)
        goto done;
    out = GP_UNKNOWN;
    if (nghttp2_session_callbacks_new(&cbs) != 0)
        goto nomem;
    nghttp2_session_callbacks_set_send_callback(cbs, on_send);
    nghttp2_session_callbacks_set_recv_callback(cbs, on_recv);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
    nghttp2_session_callbacks_set_error_callback2(cbs, on_error);
    if (nghttp2_session_client_new(&s, cbs, &c) != 0 ||
        nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0) != 0 ||
        (c.stream = nghttp2_submit_request(s, NULL, nv, nvlen, &data, &c)) < 0)
        goto nomem;
    out = exchange(&c, s, where, tls);
    goto done;
nomem:
    api->message(ctx, "out of memory");
done:
    nghttp2_session_del(s);
    nghttp2_session_callbacks_del(cbs);
    if (c.ssl && SSL_is_init_finished(c.ssl))
        SSL_shutdown(c.ssl); /* one try, no waiting */
    SSL_free(c.ssl);
    SSL_CTX_free(sctx);
    close(c.fd);
    return out;
}
