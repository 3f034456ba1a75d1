/*
 * plugins/dns/answer.h - what the dns probe makes of an answer: c-ares'
 * parsers turn the wire bytes of each record type into printable values,
 * and an expected value is matched against them. Pure (no sockets, no
 * gp_api), so that the unit test beside it (test_answer.c) and a fuzzer
 * can drive it with bytes.
 */
#ifndef GPCHECK_DNS_ANSWER_H
#define GPCHECK_DNS_ANSWER_H

#include <stddef.h>

/* Longest single answer rendered (a TXT record may be long); longer ones
 * are cut. */
#define ANSWER_MAX 512

/* A growing list of strings; items and each item are heap copies, freed
 * by answer_list_free(). A zeroed list is empty. */
typedef struct answer_list {
    char **items;
    size_t n, cap;
} answer_list;

/* Append a copy of s: 0, or -1 when out of memory. */
int answer_list_add(answer_list *l, const char *s);
/* Free the items and empty the list. */
void answer_list_free(answer_list *l);

/* Parse an answer (abuf, alen: a DNS message as c-ares passed it) into
 * printable values appended to out. Returns an ARES_* status:
 * ARES_SUCCESS, ARES_ENODATA when the answer holds no record of the type,
 * ARES_EBADRESP and the like for bytes that are no answer, ARES_ENOMEM. */
typedef int (*answer_parse_fn)(const unsigned char *abuf, int alen,
                               answer_list *out);

/* A record type the probe asks for: "A", ns_t_a, its parser. */
typedef struct answer_type {
    const char *name;
    int type;
    answer_parse_fn parse;
} answer_type;

/* The type named `name` ("A", "AAAA", "CNAME", "MX", "TXT", "SRV", "NS"),
 * or NULL. The result is static. */
const answer_type *answer_type_find(const char *name);

/* Does `expect` match the rendered `answer` of type t? Addresses compare
 * parsed (::1 matches 0:0::1), names case-insensitively with or without
 * the final dot; an MX or SRV answer also matches its host alone, and SRV
 * HOST:PORT. 1 or 0. */
int answer_matches(const answer_type *t, const char *expect,
                   const char *answer);

#endif /* GPCHECK_DNS_ANSWER_H */
