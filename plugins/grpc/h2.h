/*
 * plugins/grpc/h2.h - one HTTP/2 request over a fresh connection, h2c
 * (prior knowledge) or TLS with ALPN h2, with nghttp2 and OpenSSL; every
 * wait bounded by the attempt's time left. The transport of the grpc
 * probe (grpc.c), kept apart from what the answer means.
 */
#ifndef GP_GRPC_H2_H
#define GP_GRPC_H2_H

#include <nghttp2/nghttp2.h>
#include <stddef.h>
#include <stdint.h>

#include "gpcheck/plugin.h"

/* The most of a response body kept (a HealthCheckResponse is a few
 * bytes); more sets `truncated`. */
#define H2_MAX_BODY 4096

/* TLS settings; NULL for h2c. Strings stay the caller's. */
typedef struct h2_tls {
    const char *name;      /* SNI and the certificate check */
    const char *ca_file;   /* NULL: the system's CAs */
    const char *cert_file; /* client certificate (mTLS), or NULL */
    const char *key_file;  /* its key, when not in cert_file */
} h2_tls;

/* What came back on the stream. */
typedef struct h2_answer {
    int status;       /* :status, 0 when none came */
    long grpc_status; /* -1 until seen, in the headers or trailers */
    char grpc_message[256];
    char content_type[64];
    unsigned char body[H2_MAX_BODY];
    size_t body_len;
    int truncated;
    uint32_t reset; /* the stream's closing error code (0: NO_ERROR) */
} h2_answer;

/*
 * Connect to host:port, then send one request (the nv headers, the
 * pseudo-headers among them, and `body`) and read its answer until the
 * stream closes. `where` names the server in messages ("127.0.0.1:50051").
 * Returns GP_READY with *ans filled once the stream closed after headers
 * came; otherwise the outcome with the message set (api->message):
 * refused, reset, timed out, closed: transient; a certificate that fails
 * verification, a refused client certificate, a server that does not
 * speak HTTP/2: fatal; out of memory: unknown.
 */
gp_outcome h2_request(gp_ctx *ctx, const gp_api *api, const char *host,
                      unsigned port, const char *where, const h2_tls *tls,
                      const nghttp2_nv *nv, size_t nvlen,
                      const unsigned char *body, size_t body_len,
                      h2_answer *ans);

#endif
