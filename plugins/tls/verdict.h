/*
 * plugins/tls/verdict.h - the tls probe's pure parts: what OpenSSL's
 * verify result means for the gate, certificate times as days left, the
 * protocol version as a number, and the STARTTLS replies of PostgreSQL
 * and SMTP servers. No I/O here: unit-tested beside it (test_verdict.c).
 */
#ifndef GP_TLS_VERDICT_H
#define GP_TLS_VERDICT_H

#include <openssl/asn1.h>
#include <stddef.h>
#include <time.h>

#include "gpcheck/plugin.h"

/* What a verify result (X509_V_*) is, each with a reason of its own. */
typedef enum tls_failure {
    TLS_OK = 0,
    TLS_EXPIRED,       /* a certificate's notAfter has passed */
    TLS_NOT_YET_VALID, /* a certificate's notBefore is still ahead */
    TLS_HOSTNAME,      /* the leaf does not name server_name / host */
    TLS_UNTRUSTED,     /* no path to a trusted CA (self-signed included) */
    TLS_VERIFY,        /* any other verification failure */
} tls_failure;

/* The kind of failure an X509_V_* result is. */
tls_failure tls_classify(long verify_result);

/* The short reason shown first in the message ("certificate expired",
 * "hostname mismatch", ...) for a kind. */
const char *tls_failure_reason(tls_failure f);

/* Every verification failure is fatal: asking again gets the same
 * certificate. TLS_OK is GP_READY. */
gp_outcome tls_failure_outcome(tls_failure f);

/* Days from `now` to time t (negative when t has passed), with the
 * fraction of a day; 0 with *ok 0 when t cannot be read. */
double tls_days_until(const ASN1_TIME *t, time_t now, int *ok);

/* The protocol version (SSL_version(): TLS1_2_VERSION ...) as the number
 * the metric reports: 1.0, 1.1, 1.2, 1.3; 0 for anything else. */
double tls_protocol_number(int version);

/* min_version's text ("TLSv1.2", "TLSv1.3") as an OpenSSL version, 0 for
 * none or an unknown text. */
int tls_min_version(const char *text);

/*
 * PostgreSQL's answer to an SSLRequest: one byte. 'S' is GP_READY (go on
 * with the handshake); 'N' (the server has ssl = off) and anything else
 * are GP_FATAL, with a reason in *why (static).
 */
gp_outcome tls_pg_answer(unsigned char c, const char **why);

/*
 * One complete SMTP reply (every line read, CRLF-terminated) of
 * `len` bytes in buf: its code (200-599) or -1 when buf does not yet hold
 * a complete reply (more to read) or is not a reply at all (*bad set).
 * A multi-line reply is "250-..." lines ending with "250 ...".
 */
int tls_smtp_reply(const char *buf, size_t len, int *bad);

/* Whether an EHLO reply (buf, len) offers STARTTLS (a "250-STARTTLS" or
 * "250 STARTTLS" line, any case). */
int tls_smtp_offers_starttls(const char *buf, size_t len);

#endif
