/*
 * core/credentials.h - which parts of a configured value are credentials
 * (HTTP headers, URL user info and query parameters, libpq connection
 * strings), and the escaping of ${VAR} into a connection string. The
 * rules are in core/credentials.c; core/secrets.c turns what they find
 * into a probe's secrets and its shown values.
 */
#ifndef GP_CORE_CREDENTIALS_H
#define GP_CORE_CREDENTIALS_H

#include <stddef.h>

#include "gpcheck/plugin.h"
#include "util.h"

/* A secret part of a text: bytes [off, off + len). */
typedef struct cred_span {
    size_t off, len;
} cred_span;

/* What the scanners found in one or more texts; zero-initialize, free
 * with cred_scan_free(). */
typedef struct cred_scan {
    cred_span *spans; /* owned; the secret parts of the text scanned */
    size_t n_spans, cap_spans;
    char **secrets; /* owned; texts to mask: the spans, as is and decoded */
    size_t n_secrets, cap_secrets;
    char **known; /* owned; public fields (user names, hosts, ...) */
    size_t n_known, cap_known;
} cred_scan;

/* Add to sc every credential in text, a value of an option declared as
 * decl (NULL: a policy key, scanned as free text). Spans are offsets into
 * text: scan one text per cred_scan when they are to be masked. */
void cred_scan_value(cred_scan *sc, const gp_option *decl, const char *text);

/* Add s (owned; taken, freed at once when empty) to sc's public fields. */
void cred_add_known(cred_scan *sc, char *s);

/* text with each of sc's spans (found in text) as "***"; sorts the spans;
 * newly allocated. */
char *cred_mask_spans(const char *text, cred_scan *sc);

/* Free what sc holds, wiping the secrets; sc itself is the caller's. */
void cred_scan_free(cred_scan *sc);

/*
 * The value_escape hook for GP_OPT_CONNINFO values (ud unused): a
 * variable's value goes into a libpq connection string as one value,
 * never as syntax. In the key=value form it is escaped as libpq's parser
 * reads it (a backslash before each blank, quote and backslash; '' for an
 * empty value standing alone); in the URI form it is percent-encoded. A
 * ${VAR} where a key stands is refused, except a value that is one ${VAR}
 * and nothing else: that is the user's whole connection string, taken as
 * written. Returns 0, or -1 with the reason in err.
 */
int cred_conninfo_escape(void *ud, strbuf *out, const char *name,
                         const char *value, int whole, char *err,
                         size_t errlen);

#endif
