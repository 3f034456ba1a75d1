/*
 * plugins/redis/reply.c - the redis probe's reply handling (see reply.h):
 * limits on what hiredis may allocate, error replies, INFO fields.
 */
#include "reply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Limits.                                                                   */

static void *guarded_string(const redisReadTask *t, char *s, size_t len)
{
    reply_guard *g = t->privdata;

    if (len > g->max_bytes) {
        g->too_large = 1;
        return NULL;
    }
    return g->base->createString(t, s, len);
}

/* Counted before hiredis allocates room for n element pointers. */
static void *guarded_array(const redisReadTask *t, compat_count n)
{
    reply_guard *g = t->privdata;

    if (n > 0)
        g->elements += (long long)n;
    if (g->elements > g->max_elements) {
        g->too_large = 1;
        return NULL; /* hiredis reports "Out of memory"; too_large says why */
    }
    return g->base->createArray(t, n);
}

void reply_guard_init(reply_guard *g, redisReader *r, size_t max_bytes,
                      long long max_elements)
{
    memset(g, 0, sizeof *g);
    g->base = r->fn;
    g->fns = *r->fn;
    g->fns.createString = guarded_string;
    g->fns.createArray = guarded_array;
    g->max_bytes = max_bytes;
    g->max_elements = max_elements;
    r->fn = &g->fns;
    r->privdata = g;
}

void reply_guard_start(reply_guard *g)
{
    g->elements = 0;
    g->too_large = 0;
}

int reply_guard_ok(reply_guard *g, const redisReader *r)
{
    /* What the reader holds and has not made into objects yet: a bulk
     * string waits here whole before createString() sees it. */
    if (r->len > r->pos && r->len - r->pos > g->max_bytes)
        g->too_large = 1;
    return !g->too_large;
}

/* ------------------------------------------------------------------------ */
/* Error replies.                                                            */

int reply_error_is_transient(const char *err)
{
    static const char *const codes[] = {"LOADING ", "BUSY ", "MASTERDOWN ",
                                        "TRYAGAIN ", "CLUSTERDOWN "};

    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        if (strncmp(err, codes[i], strlen(codes[i])) == 0)
            return 1;
    }
    /* Sent on connect when maxclients is reached. */
    return strstr(err, "max number of clients reached") != NULL;
}

const char *reply_error_hint(const char *err)
{
    if (strncmp(err, "NOAUTH ", 7) == 0)
        return " (set password or password_file)";
    return "";
}

/* ------------------------------------------------------------------------ */
/* INFO.                                                                     */

int reply_info_field(const char *info, const char *key, char *out,
                     size_t outlen)
{
    size_t klen = strlen(key);

    if (outlen == 0)
        return 0;
    for (const char *line = info; line && *line;) {
        const char *end = strpbrk(line, "\r\n");
        size_t len = end ? (size_t)(end - line) : strlen(line);

        if (len > klen && line[klen] == ':' && strncmp(line, key, klen) == 0) {
            size_t vlen = len - klen - 1;

            if (vlen >= outlen)
                vlen = outlen - 1;
            memcpy(out, line + klen + 1, vlen);
            out[vlen] = '\0';
            return 1;
        }
        line = end ? end + strspn(end, "\r\n") : NULL;
    }
    return 0;
}

double reply_info_number(const char *info, const char *key)
{
    char text[64], *end;

    if (!reply_info_field(info, key, text, sizeof text))
        return -1;
    errno = 0;
    long long v = strtoll(text, &end, 10);

    if (errno || end == text || *end || v < 0)
        return -1;
    return (double)v;
}

void reply_describe_role(const char *info, const char *role, char *out,
                         size_t outlen)
{
    char host[64], port[16], link[16];

    if (strcmp(role, "slave") != 0) {
        snprintf(out, outlen, "%s", role);
        return;
    }
    if (reply_info_field(info, "master_host", host, sizeof host) &&
        reply_info_field(info, "master_port", port, sizeof port) &&
        reply_info_field(info, "master_link_status", link, sizeof link))
        snprintf(out, outlen, "replica of %s:%s, link %s", host, port, link);
    else
        snprintf(out, outlen, "replica");
}
