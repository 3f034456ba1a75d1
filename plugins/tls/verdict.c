/*
 * plugins/tls/verdict.c - the tls probe's pure parts (see verdict.h):
 * verify results, days left, protocol numbers, STARTTLS replies.
 */
#include <ctype.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <string.h>
#include <strings.h>

#include "verdict.h"

tls_failure tls_classify(long verify_result)
{
    switch (verify_result) {
    case X509_V_OK: return TLS_OK;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CRL_HAS_EXPIRED: return TLS_EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CRL_NOT_YET_VALID: return TLS_NOT_YET_VALID;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return TLS_HOSTNAME;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED: return TLS_UNTRUSTED;
    default: return TLS_VERIFY;
    }
}

const char *tls_failure_reason(tls_failure f)
{
    switch (f) {
    case TLS_OK: return "verified";
    case TLS_EXPIRED: return "certificate expired";
    case TLS_NOT_YET_VALID: return "certificate not yet valid";
    case TLS_HOSTNAME: return "hostname mismatch";
    case TLS_UNTRUSTED: return "certificate not trusted";
    case TLS_VERIFY: break;
    }
    return "certificate verification failed";
}

gp_outcome tls_failure_outcome(tls_failure f)
{
    return f == TLS_OK ? GP_READY : GP_FATAL;
}

double tls_days_until(const ASN1_TIME *t, time_t now, int *ok)
{
    ASN1_TIME *from = ASN1_TIME_set(NULL, now);
    int days = 0, secs = 0;

    *ok = from && t && ASN1_TIME_diff(&days, &secs, from, t);
    ASN1_TIME_free(from);
    return *ok ? days + secs / 86400.0 : 0;
}

double tls_protocol_number(int version)
{
    switch (version) {
    case TLS1_VERSION: return 1.0;
    case TLS1_1_VERSION: return 1.1;
    case TLS1_2_VERSION: return 1.2;
    case TLS1_3_VERSION: return 1.3;
    default: return 0;
    }
}

int tls_min_version(const char *text)
{
    if (!text)
        return 0;
    if (strcmp(text, "TLSv1.2") == 0)
        return TLS1_2_VERSION;
    if (strcmp(text, "TLSv1.3") == 0)
        return TLS1_3_VERSION;
    return 0;
}

gp_outcome tls_pg_answer(unsigned char c, const char **why)
{
    switch (c) {
    case 'S': *why = NULL; return GP_READY;
    case 'N': *why = "the server refuses SSL (ssl = off)"; return GP_FATAL;
    case 'E':
        *why = "the server answered the SSLRequest with an error (a "
               "PostgreSQL older than 7.0, or not PostgreSQL)";
        return GP_FATAL;
    default: *why = "not a PostgreSQL answer to an SSLRequest"; return GP_FATAL;
    }
}

/* A line "DDD-text" or "DDD text" (CRLF or LF excluded): its code, and
 * whether it is the last line of the reply; -1 when not a reply line. */
static int smtp_line(const char *s, size_t len, int *last)
{
    if (len < 3 || !isdigit((unsigned char)s[0]) || s[0] < '2' || s[0] > '5' ||
        !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]))
        return -1;
    if (len > 3 && s[3] != '-' && s[3] != ' ')
        return -1;
    *last = len == 3 || s[3] == ' ';
    return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

int tls_smtp_reply(const char *buf, size_t len, int *bad)
{
    size_t at = 0;
    int first = -1;

    *bad = 0;
    while (at < len) {
        const char *nl = memchr(buf + at, '\n', len - at);
        size_t end, n;
        int code, last = 0;

        if (!nl)
            return -1; /* a line still arriving */
        end = (size_t)(nl - buf);
        n = end - at;
        if (n && buf[end - 1] == '\r')
            n--;
        code = smtp_line(buf + at, n, &last);
        if (code < 0 || (first >= 0 && code != first)) {
            *bad = 1;
            return -1;
        }
        first = code;
        at = end + 1;
        if (last)
            return at == len ? code : (*bad = 1, -1);
    }
    return -1;
}

int tls_smtp_offers_starttls(const char *buf, size_t len)
{
    size_t at = 0;

    while (at < len) {
        const char *nl = memchr(buf + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (buf + at)) : len - at;

        if (n && buf[at + n - 1] == '\r')
            n--;
        if (n == 12 && strncasecmp(buf + at + 4, "STARTTLS", 8) == 0)
            return 1;
        at += (nl ? (size_t)(nl - (buf + at)) + 1 : len - at);
    }
    return 0;
}
