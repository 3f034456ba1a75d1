/*
 * plugins/dns/forms.h - the forms of the dns probe's options: `server`
 * items as c-ares takes them, `name`s the DNS can carry, and the server
 * list c-ares is given. Pure: validate() and check() use them, and the
 * unit test beside them (test_forms.c) drives them with strings.
 */
#ifndef GPCHECK_DNS_FORMS_H
#define GPCHECK_DNS_FORMS_H

#include <stddef.h>

/* One `server` item: an IPv4 address with an optional :PORT, or an IPv6
 * address, bare or as [ADDR] with an optional :PORT (names are refused:
 * the servers are asked by address). NULL, or a static reason. */
const char *dns_server_problem(const char *item);

/* A name the DNS can carry (one trailing dot allowed): labels of 1-63
 * bytes, 253 bytes in all. NULL, or a static reason. */
const char *dns_name_problem(const char *name);

/* The n servers joined with ',' for ares_set_servers_ports_csv() into out:
 * 0, or -1 when they do not fit. */
int dns_join_servers(const char *const *servers, size_t n, char *out,
                     size_t outlen);

#endif
