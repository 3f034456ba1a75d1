/*
 * plugins/postgres/plan.c - where the postgres probe connects: the dsn's
 * hosts (or libpq's defaults) resolved within the time left and handed to
 * libpq as numeric addresses, so that libpq never blocks in the resolver;
 * the parameters libpq gets; and the failover loop that tries the hosts
 * one at a time, each within its share of the time left.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsn.h"
#include "gpcheck/sdk.h"
#include "probe.h"

/* Split a copy of a comma-separated libpq list. Returns the number of items
 * (pointers into *copy, which the caller frees), -1 on more than max. */
static int split_list(const char *s, char **copy, char **items, int max)
{
    int n = 0;
    char *rest;

    *copy = strdup(s ? s : "");
    if (!*copy)
        return -1;
    if (!s)
        return 0;
    rest = *copy;
    for (char *item; (item = strsep(&rest, ",")) != NULL;) {
        if (n == max)
            return -1;
        items[n++] = item;
    }
    return n;
}

static int add_target(pg_target *t, int *n, const char *host, const char *addr,
                      const char *port)
{
    if (*n >= PG_MAX_TARGETS || strlen(host) >= PG_HOST_LEN ||
        strlen(port) >= PG_PORT_LEN)
        return -1;
    snprintf(t[*n].host, PG_HOST_LEN, "%s", host);
    snprintf(t[*n].addr, PG_ADDR_LEN, "%s", addr);
    snprintf(t[*n].port, PG_PORT_LEN, "%s", port);
    (*n)++;
    return 0;
}

/* A socket directory, an abstract socket, or empty for libpq's default
 * socket: no address to resolve. */
static int is_socket(const char *host)
{
    return !host[0] || host[0] == '/' || host[0] == '@';
}

/*
 * Fill targets in host order with the addresses gp_sdk_resolve() finds
 * (numeric ones as they are, names in its helper process): one entry per
 * address, so that libpq still tries every address of a name as it would
 * have itself. Each name gets its share of the time left, as each host
 * gets its share of the connection time (pg_connect_hosts()), so a resolver
 * that hangs on one name cannot use up the time of the others. A name that
 * does not resolve is skipped while another host is left; with none left,
 * the attempt is fatal only when every name is known not to exist.
 */
static gp_outcome plan_targets(pg_probe *p, char **hosts, int nh, char **ports,
                               int np, pg_target *t, int *nt)
{
    char why[300] = "";
    gp_outcome fail = GP_FATAL;

    *nt = 0;
    for (int i = 0; i < nh; i++) {
        const char *port = np == 0 ? "" : np == 1 ? ports[0] : ports[i];
        gp_sdk_addr addrs[PG_MAX_ADDRS];
        gp_sdk_connect_error how;
        int n;

        if (is_socket(hosts[i])) {
            if (add_target(t, nt, hosts[i], "", port) < 0)
                return pg_say(p, GP_FATAL, "dsn: too many hosts (at most %d)",
                              PG_MAX_TARGETS);
            continue;
        }
        n = gp_sdk_resolve(p->ctx, p->api, hosts[i], 0,
                           p->api->time_left_ms(p->ctx) / (nh - i), addrs,
                           PG_MAX_ADDRS, &how, why, sizeof why);
        /* Past PG_MAX_TARGETS entries a name's further addresses are left
         * out; a name with none left in is too many. */
        for (int k = 0; k < n; k++)
            if (add_target(t, nt, hosts[i], addrs[k].text, port) < 0 && k == 0)
                return pg_say(p, GP_FATAL, "dsn: too many hosts (at most %d)",
                              PG_MAX_TARGETS);
        if (n < 0) {
            pg_note(p, GP_LOG_INFO, "%s", why);
            if (how != GP_SDK_NO_SUCH_HOST)
                fail = GP_TRANSIENT; /* the resolver failed, not the name */
        }
    }
    if (*nt == 0)
        return pg_say(p, fail, "%s (dsn %s)", why, p->shown);
    return GP_READY;
}

/* Join one field of the targets into a libpq list. */
static void join_targets(const pg_target *t, int nt, size_t field, char *out,
                         size_t cap)
{
    gp_sdk_buf b;

    gp_sdk_buf_init(&b, out, cap);
    for (int i = 0; i < nt; i++) {
        if (i)
            gp_sdk_buf_add(&b, ",");
        gp_sdk_buf_add(&b, (const char *)&t[i] + field);
    }
}

/*
 * Plan the connection: the dsn's host and port, else libpq's defaults
 * (PGHOST, PGPORT, a PGSERVICE's entry), resolved. Nothing to plan when
 * hostaddr is given (in the dsn or PGHOSTADDR: numeric, no resolver), when
 * the dsn names a service but no host (libpq reads the service file and
 * resolves its host itself, without our deadline), or when there is no
 * host at all (libpq's default unix socket).
 */
gp_outcome pg_plan_connection(pg_probe *p, const PQconninfoOption *opts,
                              pg_plan *plan)
{
    PQconninfoOption *defs = PQconndefaults();
    const char *host = pg_dsn_value(opts, "host");
    const char *port = pg_dsn_value(opts, "port");
    char *hcopy = NULL, *pcopy = NULL;
    char *hosts[PG_MAX_TARGETS], *ports[PG_MAX_TARGETS];
    int nh, np;
    gp_outcome o;

    plan->planned = 0;
    if (!defs)
        return pg_say(p, GP_UNKNOWN, "out of memory");
    if (!host && !pg_dsn_value(opts, "service"))
        host = pg_dsn_value(defs, "host");
    if (!port)
        port = pg_dsn_value(defs, "port");
    if (pg_dsn_value(opts, "hostaddr") || pg_dsn_value(defs, "hostaddr") ||
        !host || !*host) {
        PQconninfoFree(defs);
        return GP_READY;
    }
    nh = split_list(host, &hcopy, hosts, PG_MAX_TARGETS);
    np = split_list(port, &pcopy, ports, PG_MAX_TARGETS);
    if (nh < 0 || np < 0)
        o = pg_say(p, GP_FATAL, "dsn: too many hosts or ports (at most %d)",
                   PG_MAX_TARGETS);
    else if (np > 1 && np != nh)
        o = pg_say(p, GP_FATAL, "dsn: %d hosts but %d ports (dsn %s)", nh, np,
                   p->shown);
    else
        o = plan_targets(p, hosts, nh, ports, np, plan->targets, &plan->nt);
    free(hcopy);
    free(pcopy);
    PQconninfoFree(defs);
    if (o != GP_READY)
        return o;

    plan->planned = 1;
    join_targets(plan->targets, plan->nt, offsetof(pg_target, host),
                 plan->hosts, sizeof plan->hosts);
    join_targets(plan->targets, plan->nt, offsetof(pg_target, addr),
                 plan->addrs, sizeof plan->addrs);
    join_targets(plan->targets, plan->nt, offsetof(pg_target, port),
                 plan->ports, sizeof plan->ports);
    pg_note(p, GP_LOG_DEBUG, "connecting to host=%s hostaddr=%s port=%s",
            plan->hosts, plan->addrs, plan->ports);
    return GP_READY;
}

static void add_param(pg_params *pp, const char *key, const char *value)
{
    pp->keys[pp->n] = key;
    pp->values[pp->n] = value;
    pp->n++;
    pp->keys[pp->n] = pp->values[pp->n] = NULL;
}

/*
 * Every field the dsn sets, with host / hostaddr / port replaced by the
 * plan (when there is one), the password by the option or file (when
 * given), and application_name defaulting to gpcheck. The caller frees
 * pp->keys and pp->values; the strings stay owned by opts and plan.
 */
gp_outcome pg_build_params(pg_probe *p, const PQconninfoOption *opts,
                           const pg_plan *plan, const char *password,
                           pg_params *pp)
{
    size_t n_opts = 0;

    for (const PQconninfoOption *o = opts; o->keyword; o++)
        n_opts++;
    /* The dsn's fields, 5 of ours and the terminator. */
    pp->keys = calloc(n_opts + 6, sizeof *pp->keys);
    pp->values = calloc(n_opts + 6, sizeof *pp->values);
    if (!pp->keys || !pp->values)
        return pg_say(p, GP_UNKNOWN, "out of memory");
    for (const PQconninfoOption *o = opts; o->keyword; o++) {
        int placed = strcmp(o->keyword, "host") == 0 ||
                     strcmp(o->keyword, "hostaddr") == 0 ||
                     strcmp(o->keyword, "port") == 0;

        if (!o->val || (plan->planned && placed) ||
            (password && strcmp(o->keyword, "password") == 0))
            continue;
        add_param(pp, o->keyword, o->val);
    }
    if (plan->planned) {
        add_param(pp, "host", plan->hosts);
        add_param(pp, "hostaddr", plan->addrs);
        add_param(pp, "port", plan->ports);
    }
    if (password)
        add_param(pp, "password", password);
    if (!pg_dsn_value(opts, "application_name"))
        add_param(pp, "application_name", "gpcheck");
    return GP_READY;
}

/*
 * Connect to the planned hosts one at a time, each within its share of the
 * time left: libpq's rule for several hosts (connect_timeout applies to
 * each host and address in turn), which its asynchronous API leaves to the
 * caller. A host that cannot be reached, times out or is not ready yet (a
 * transient failure) hands over to the next one, so a dead first host
 * cannot hide a live second one; a reason that will not pass (a bad
 * password) ends the attempt, as libpq stops after a failed login. Without
 * a plan (hostaddr given, a service, the default socket) libpq gets its own
 * lists and the whole time.
 */
gp_outcome pg_connect_hosts(pg_probe *p, pg_plan *plan, const pg_params *pp,
                            PGconn **conn, double *took)
{
    gp_outcome o = GP_TRANSIENT;

    if (!plan->planned || plan->nt < 2)
        return pg_connect_db(p, pp->keys, pp->values, p->deadline, conn, took);
    for (int i = 0; i < plan->nt; i++) {
        const pg_target *t = &plan->targets[i];
        int64_t now = (int64_t)gp_sdk_now_ms();
        int64_t end = now + (p->deadline - now) / (plan->nt - i);

        /* pg_build_params() pointed host / hostaddr / port at these. */
        snprintf(plan->hosts, sizeof plan->hosts, "%s", t->host);
        snprintf(plan->addrs, sizeof plan->addrs, "%s", t->addr);
        snprintf(plan->ports, sizeof plan->ports, "%s", t->port);
        o = pg_connect_db(p, pp->keys, pp->values, end, conn, took);
        if (o != GP_TRANSIENT)
            return o;
        if (i + 1 < plan->nt)
            pg_note(p, GP_LOG_INFO, "host %d of %d: %s; trying the next one",
                    i + 1, plan->nt, p->said);
    }
    return o;
}

/* 150018 is 15.18; before 10 the numbers had three parts: 90624 is
 * 9.6.24. */
