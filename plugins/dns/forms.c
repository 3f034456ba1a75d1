/*
 * plugins/dns/forms.c - see forms.h: the dns probe's option forms.
 */
#include "forms.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "gpcheck/sdk.h"

/* Join the server list for ares_set_servers_ports_csv; 0 or -1 (too long). */
int dns_join_servers(const char *const *servers, size_t n, char *out,
                     size_t outlen)
{
    size_t len = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int w =
            snprintf(out + len, outlen - len, "%s%s", i ? "," : "", servers[i]);

        if (w < 0 || (size_t)w >= outlen - len)
            return -1;
        len += (size_t)w;
    }
    return 0;
}

/*
 * One `server` item as c-ares takes it: an IPv4 address with an optional
 * :PORT, or an IPv6 address, bare or as [ADDR] with an optional :PORT.
 * Names are refused: the servers are asked by address. NULL or why not.
 */
const char *dns_server_problem(const char *item)
{
    char addr[INET6_ADDRSTRLEN + 1];
    unsigned char bin[sizeof(struct in6_addr)];
    const char *colon = strchr(item, ':');
    size_t n;

    if (item[0] == '[') {
        const char *close = strchr(item, ']');

        if (!close)
            return "no ']' after the IPv6 address";
        n = (size_t)(close - item - 1);
        if (n >= sizeof addr)
            return "not an IPv6 address";
        memcpy(addr, item + 1, n);
        addr[n] = '\0';
        if (inet_pton(AF_INET6, addr, bin) != 1)
            return "not an IPv6 address";
        if (close[1] == '\0')
            return NULL;
        return close[1] == ':' ? gp_sdk_port_problem(close + 2, NULL)
                               : "junk after ']'";
    }
    if (colon && strchr(colon + 1, ':'))
        return inet_pton(AF_INET6, item, bin) == 1
                   ? NULL
                   : "not an IPv6 address (with a port: [ADDR]:PORT)";
    n = colon ? (size_t)(colon - item) : strlen(item);
    if (n >= sizeof addr)
        return "not an IP address (a server is given by address)";
    memcpy(addr, item, n);
    addr[n] = '\0';
    if (inet_pton(AF_INET, addr, bin) != 1)
        return "not an IP address (a server is given by address)";
    return colon ? gp_sdk_port_problem(colon + 1, NULL) : NULL;
}

/* A name the DNS can carry: labels of 1-63 bytes, 253 bytes in all. */
const char *dns_name_problem(const char *name)
{
    size_t len = strlen(name);

    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0)
        return "empty name";
    if (len > 253)
        return "longer than 253 bytes";
    for (size_t i = 0, label = 0; i <= len; i++) {
        if (i == len || name[i] == '.') {
            if (label == 0)
                return "empty label (two dots, or a leading dot)";
            if (label > 63)
                return "a label longer than 63 bytes";
            label = 0;
        } else {
            label++;
        }
    }
    return NULL;
}
