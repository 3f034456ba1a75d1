/*
 * plugins/dns/answer.c - the dns probe's answer formatting and matching
 * (see answer.h), on c-ares' parsers.
 */
#include "answer.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* ------------------------------------------------------------------------ */
/* A list of strings.                                                        */

int answer_list_add(answer_list *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **items = realloc(l->items, cap * sizeof *items);

        if (!items)
            return -1;
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n] = strdup(s);
    if (!l->items[l->n])
        return -1;
    l->n++;
    return 0;
}

void answer_list_free(answer_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

/* ------------------------------------------------------------------------ */
/* Record types: how to ask, and how to turn an answer into strings.        */

/* Render a printable, bounded copy of bytes that came off the wire. Not
 * gp_sdk_printable(): a TXT value is compared with `expect` as the text it
 * is, so quotes and backslashes must stay as they are. */
static void printable(const unsigned char *in, size_t len, char *out,
                      size_t outlen)
{
    size_t o = 0;

    for (size_t i = 0; i < len && o + 5 < outlen; i++) {
        unsigned char c = in[i];

        if (c >= 0x20 && c < 0x7f) {
            out[o++] = (char)c;
        } else {
            snprintf(out + o, outlen - o, "\\x%02x", c);
            o += 4;
        }
    }
    out[o] = '\0';
}

static int add_addresses(const struct hostent *h, answer_list *out)
{
    char text[INET6_ADDRSTRLEN];

    for (char **a = h->h_addr_list; a && *a; a++) {
        if (!inet_ntop(h->h_addrtype, *a, text, sizeof text))
            continue;
        if (answer_list_add(out, text))
            return ARES_ENOMEM;
    }
    return out->n ? ARES_SUCCESS : ARES_ENODATA;
}

static int parse_a(const unsigned char *abuf, int alen, answer_list *out)
{
    struct hostent *h = NULL;
    int rc = ares_parse_a_reply(abuf, alen, &h, NULL, NULL);

    if (rc == ARES_SUCCESS)
        rc = add_addresses(h, out);
    if (h)
        ares_free_hostent(h);
    return rc;
}

static int parse_aaaa(const unsigned char *abuf, int alen, answer_list *out)
{
    struct hostent *h = NULL;
    int rc = ares_parse_aaaa_reply(abuf, alen, &h, NULL, NULL);

    if (rc == ARES_SUCCESS)
        rc = add_addresses(h, out);
    if (h)
        ares_free_hostent(h);
    return rc;
}

/*
 * For a CNAME question, c-ares' address parser follows the CNAME and puts
 * its target in h_name (the question name becomes an alias); with no CNAME
 * in the answer h_name is just the question name, which is "no data".
 */
static int parse_cname(const unsigned char *abuf, int alen, answer_list *out)
{
    struct hostent *h = NULL;
    int rc = ares_parse_a_reply(abuf, alen, &h, NULL, NULL);

    if (rc == ARES_SUCCESS || rc == ARES_ENODATA) {
        if (h && h->h_name && h->h_aliases && h->h_aliases[0])
            rc = answer_list_add(out, h->h_name) ? ARES_ENOMEM : ARES_SUCCESS;
        else
            rc = ARES_ENODATA;
    }
    if (h)
        ares_free_hostent(h);
    return rc;
}

static int parse_mx(const unsigned char *abuf, int alen, answer_list *out)
{
    struct ares_mx_reply *mx = NULL;
    int rc = ares_parse_mx_reply(abuf, alen, &mx);
    char text[ANSWER_MAX];

    for (struct ares_mx_reply *r = mx; rc == ARES_SUCCESS && r; r = r->next) {
        snprintf(text, sizeof text, "%u %s", r->priority, r->host);
        if (answer_list_add(out, text))
            rc = ARES_ENOMEM;
    }
    if (mx)
        ares_free_data(mx);
    return rc == ARES_SUCCESS && out->n == 0 ? ARES_ENODATA : rc;
}

/* A TXT record may come in several character-strings; they are one value. */
static int parse_txt(const unsigned char *abuf, int alen, answer_list *out)
{
    struct ares_txt_ext *txt = NULL;
    int rc = ares_parse_txt_reply_ext(abuf, alen, &txt);
    char text[ANSWER_MAX] = "";
    size_t len = 0;
    int open = 0;

    for (struct ares_txt_ext *r = txt; rc == ARES_SUCCESS && r; r = r->next) {
        if (r->record_start && open) {
            if (answer_list_add(out, text))
                rc = ARES_ENOMEM;
            len = 0;
            text[0] = '\0';
        }
        open = 1;
        printable(r->txt, r->length, text + len, sizeof text - len);
        len = strlen(text);
    }
    if (rc == ARES_SUCCESS && open && answer_list_add(out, text))
        rc = ARES_ENOMEM;
    if (txt)
        ares_free_data(txt);
    return rc == ARES_SUCCESS && out->n == 0 ? ARES_ENODATA : rc;
}

static int parse_srv(const unsigned char *abuf, int alen, answer_list *out)
{
    struct ares_srv_reply *srv = NULL;
    int rc = ares_parse_srv_reply(abuf, alen, &srv);
    char text[ANSWER_MAX];

    for (struct ares_srv_reply *r = srv; rc == ARES_SUCCESS && r; r = r->next) {
        snprintf(text, sizeof text, "%u %u %u %s", r->priority, r->weight,
                 r->port, r->host);
        if (answer_list_add(out, text))
            rc = ARES_ENOMEM;
    }
    if (srv)
        ares_free_data(srv);
    return rc == ARES_SUCCESS && out->n == 0 ? ARES_ENODATA : rc;
}

/* c-ares returns the NS host names as the aliases of a hostent. */
static int parse_ns(const unsigned char *abuf, int alen, answer_list *out)
{
    struct hostent *h = NULL;
    int rc = ares_parse_ns_reply(abuf, alen, &h);

    for (char **a = h ? h->h_aliases : NULL; rc == ARES_SUCCESS && a && *a;
         a++) {
        if (answer_list_add(out, *a))
            rc = ARES_ENOMEM;
    }
    if (h)
        ares_free_hostent(h);
    return rc == ARES_SUCCESS && out->n == 0 ? ARES_ENODATA : rc;
}

static const answer_type answer_types[] = {
    {"A", ns_t_a, parse_a},
    {"AAAA", ns_t_aaaa, parse_aaaa},
    {"CNAME", ns_t_cname, parse_cname},
    {"MX", ns_t_mx, parse_mx},
    {"TXT", ns_t_txt, parse_txt},
    {"SRV", ns_t_srv, parse_srv},
    {"NS", ns_t_ns, parse_ns},
};

const answer_type *answer_type_find(const char *name)
{
    for (size_t i = 0; i < sizeof answer_types / sizeof answer_types[0]; i++) {
        if (strcmp(answer_types[i].name, name) == 0)
            return &answer_types[i];
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Matching expected values against answers.                                 */

/* DNS names compare case-insensitively, with or without the final dot. */
static int name_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen && a[alen - 1] == '.')
        alen--;
    if (blen && b[blen - 1] == '.')
        blen--;
    return alen == blen && strncasecmp(a, b, alen) == 0;
}

static int addr_eq(const char *expect, const char *answer)
{
    unsigned char x[sizeof(struct in6_addr)], y[sizeof(struct in6_addr)];
    int family = strchr(answer, ':') ? AF_INET6 : AF_INET;

    /* Compare parsed addresses so that ::1 matches 0:0::1. */
    if (inet_pton(family, expect, x) == 1 && inet_pton(family, answer, y) == 1)
        return memcmp(x, y, family == AF_INET ? 4 : 16) == 0;
    return strcmp(expect, answer) == 0;
}

/*
 * MX answers are "PRIO HOST", SRV answers "PRIO WEIGHT PORT HOST": an
 * expected value may be the whole answer, the host alone, or (SRV)
 * HOST:PORT.
 */
int answer_matches(const answer_type *t, const char *expect, const char *answer)
{
    size_t elen = strlen(expect);

    switch (t->type) {
    case ns_t_a:
    case ns_t_aaaa: return addr_eq(expect, answer);
    case ns_t_txt: return strcmp(expect, answer) == 0;
    case ns_t_cname:
    case ns_t_ns: return name_eq(expect, elen, answer, strlen(answer));
    default: break;
    }

    const char *host = strrchr(answer, ' ');

    host = host ? host + 1 : answer;
    if (name_eq(expect, elen, answer, strlen(answer)) ||
        name_eq(expect, elen, host, strlen(host)))
        return 1;
    if (t->type == ns_t_srv) {
        unsigned prio, weight, port;
        const char *colon = strrchr(expect, ':');

        if (colon && sscanf(answer, "%u %u %u", &prio, &weight, &port) == 3 &&
            strtoul(colon + 1, NULL, 10) == port &&
            name_eq(expect, (size_t)(colon - expect), host, strlen(host)))
            return 1;
    }
    return 0;
}
